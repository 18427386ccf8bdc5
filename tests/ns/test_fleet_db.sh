#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# A fleet into a database: NODES agents, one per network namespace (each
# standing for a node), export IPFIX to one stock nfacctd (pmacct) whose
# pgsql plugin writes the flows into PostgreSQL; the per-flow sums SQL
# reads back equal what the test sent, flow by flow and node by node.
#
#   node i: bpfix-PID-fdb-nI, data veth fdbdI (10.77.I.1, fd00:77:I::1),
#           management veth fdbmI (10.78.I.1) to the collector namespace;
#           its agent meters only the data veth (so its own export is not
#           in the data) and exports over the management veth.
#   collector: bpfix-PID-fdb-c, the far ends of every veth, a UDP echo
#           server per flow, and nfacctd on 0.0.0.0:PM_PORT.
#   PostgreSQL: a cluster of its own made here with initdb (as the
#           postgres user: it refuses root) in $TEST_TMP, on a private
#           socket directory and port, no TCP listener; stopped and
#           removed at exit, on failure too.
#
# Each node sends its own traffic: UDP exchanges of different counts and
# sizes over IPv4 and IPv6 (each datagram echoed back), pings, and BULK
# one-datagram flows (each its own source port) into a sink; those
# (UDP and ICMP from the data addresses) are what is compared, not the
# kernel's own neighbor discovery, which the agents meter too. The
# agents run with --uniflow: nfacctd keeps no reverse (RFC 5103) element
# of a biflow (docs/reference.md, What each collector keeps), so a
# direction of its own is what a database behind pmacct can sum.
#
# The ground truth is computed here from what was sent: per direction of
# each flow its packets and IP octets (payload + 28 or 48), and the node
# (exporter address, pmacct's peer_src_ip) it belongs to. The SQL is a
# GROUP BY over nfacctd's table; it must equal the truth exactly: no flow
# missing, none extra, no count off. nfacctd runs with its stock buffers
# (no -B, no pipe or buffer sizes, rmem untouched); only sql_refresh_time
# is shortened (its default is 60 s) so the test takes a minute, not three.
#
#   env BUILD=build sh tests/ns/test_fleet_db.sh
#   NODES=3                  agents (at most 9)
#   BULK=2000                one-datagram flows per node besides
#   BPFIX=/path/to/bpfix     the binary under test
#   BPFIX_TEST_KEEP=1        leave namespaces and the cluster up (lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
NODES=${NODES:-3}
PM_PORT=2100
REFRESH=3		# s: nfacctd's sql_refresh_time for the test
BULK=${BULK:-2000}	# one-datagram flows each node sends besides
SINK_PORT=6000

use_python3
need_root
need_cmds ip nsenter python3 nfacctd psql runuser ping
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
	skip "PostgreSQL server not installed (tools/deps.sh: postgresql)"
id postgres >/dev/null 2>&1 || skip "no postgres user (tools/deps.sh: postgresql)"
nfacctd -V 2>&1 | grep -q -e '--enable-pgsql' || fail "nfacctd built without its pgsql plugin"
case $NODES in
[1-9]) ;;
*) fail "NODES=$NODES: 1 to 9" ;;
esac
ipfix_test_setup

# ---- PostgreSQL: a private cluster ---------------------------------------

PG=$TEST_TMP/pg
PGPORT=$((20000 + $$ % 20000))
chmod 711 "$TEST_TMP"		# the postgres user goes through to $PG
mkdir -p "$PG" && chown postgres: "$PG" || fail "cannot make $PG"
runuser -u postgres -- "$PGBIN/initdb" -D "$PG/data" -A trust -U postgres --no-sync \
	>"$PG/initdb.log" 2>&1 || { cat "$PG/initdb.log" >&2; fail "initdb failed"; }
defer "runuser -u postgres -- '$PGBIN/pg_ctl' -D '$PG/data' -m immediate -w stop"
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PG/data" -l "$PG/server.log" -w -t 60 \
	-o "-k $PG -p $PGPORT -c listen_addresses='' -c fsync=off" start >/dev/null 2>&1 ||
	{ cat "$PG/server.log" >&2; fail "PostgreSQL did not start"; }
info "PostgreSQL $("$PGBIN/postgres" -V | sed 's/.* //') on $PG/.s.PGSQL.$PGPORT"

sql() {
	_sq_db=$1
	shift
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG" -p "$PGPORT" -U postgres -d "$_sq_db" -At -F ' ' "$@"
}
sql postgres -c "CREATE USER pmacct" -c "CREATE DATABASE pmacct OWNER pmacct" ||
	fail "cannot create pmacct's database"
# A table of just the primitives nfacctd aggregates on
# (sql_optimize_clauses), columns named as pmacct's README.pgsql maps them.
sql pmacct -c "SET ROLE pmacct" -c "CREATE TABLE flows (
	peer_ip_src inet NOT NULL DEFAULT '0.0.0.0',
	ip_src inet NOT NULL DEFAULT '0.0.0.0',
	ip_dst inet NOT NULL DEFAULT '0.0.0.0',
	port_src INT NOT NULL DEFAULT 0,
	port_dst INT NOT NULL DEFAULT 0,
	ip_proto SMALLINT NOT NULL DEFAULT 0,
	packets BIGINT NOT NULL,
	bytes BIGINT NOT NULL,
	stamp_inserted timestamp without time zone NOT NULL DEFAULT '0001-01-01 00:00:00',
	stamp_updated timestamp without time zone,
	PRIMARY KEY (peer_ip_src, ip_src, ip_dst, port_src, port_dst, ip_proto, stamp_inserted))" ||
	fail "cannot create the flows table"

# ---- the fleet's network ---------------------------------------------------

NS_C=bpfix-$$-fdb-c
netns_create "$NS_C"
i=1
while [ "$i" -le "$NODES" ]; do
	netns_create "bpfix-$$-fdb-n$i"
	veth_pair "bpfix-$$-fdb-n$i" "fdbd$i" "$NS_C" "fdbD$i" 77 "$i"
	veth_pair "bpfix-$$-fdb-n$i" "fdbm$i" "$NS_C" "fdbM$i" 78 "$i"
	i=$((i + 1))
done

cat >"$TMP/nfacctd.conf" <<EOF
daemonize: false
nfacctd_port: $PM_PORT
plugins: pgsql[db]
aggregate[db]: peer_src_ip, src_host, dst_host, src_port, dst_port, proto
sql_host[db]: $PG
sql_port[db]: $PGPORT
sql_db[db]: pmacct
sql_user[db]: pmacct
sql_table[db]: flows
sql_optimize_clauses[db]: true
sql_refresh_time[db]: $REFRESH
EOF
bg "$NS_C" nfacctd -f "$TMP/nfacctd.conf" >"$TMP/nfacctd.log" 2>&1
NFACCTD_PID=$!
# nfacctd ignores SIGTERM (lib.sh's cleanup signal)
defer "kill -KILL $NFACCTD_PID 2>/dev/null"
wait_for "$TMP/nfacctd.log" "waiting for NetFlow" "nfacctd" "$NFACCTD_PID"

# ---- the agents and their traffic ------------------------------------------

# The bursts' sink: bound, never read.
bg "$NS_C" python3 -c "import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('0.0.0.0', $SINK_PORT))
open('$TEST_TMP/sink.ready', 'w').close()
time.sleep(3600)"
wait_file "$TEST_TMP/sink.ready" "UDP sink" "$!"

AGENTS=""
i=1
while [ "$i" -le "$NODES" ]; do
	PIN_TAG=fdb$i agent_start "fdb$i" "bpfix-$$-fdb-n$i" "fdbd$i" --uniflow \
		-c "udp://10.78.$i.2:$PM_PORT"
	AGENTS="$AGENTS $i:$AGENT_PID:$AGENT_ERR"
	i=$((i + 1))
done
info "$NODES agents metering, exporting to nfacctd"

TRUTH=$TEST_TMP/truth
: >"$TRUTH"
# truth NODE SRC SPORT DST DPORT PROTO PACKETS OCTETS: one direction of a
# flow as the database must hold it ("peer src dst sport dport proto
# packets bytes", psql's order below).
truth() {
	echo "10.78.$1.1 $2 $4 $3 $5 $6 $7 $8" >>"$TRUTH"
}

# udp_flow NODE VERSION SPORT DPORT SIZE...: datagrams of each SIZE from
# the node to the collector side's echo server and back.
udp_flow() {
	_uf_n=$1 _uf_v=$2 _uf_sp=$3 _uf_dp=$4
	shift 4
	if [ "$_uf_v" = 6 ]; then
		_uf_src=fd00:77:$_uf_n::1 _uf_dst=fd00:77:$_uf_n::2 _uf_hdr=48
	else
		_uf_src=10.77.$_uf_n.1 _uf_dst=10.77.$_uf_n.2 _uf_hdr=28
	fi
	udp_exchange "bpfix-$$-fdb-n$_uf_n" "$NS_C" "$_uf_dst" "$_uf_dp" "$_uf_sp" "$@"
	_uf_oct=0
	for _uf_s in "$@"; do
		_uf_oct=$((_uf_oct + _uf_s + _uf_hdr))
	done
	truth "$_uf_n" "$_uf_src" "$_uf_sp" "$_uf_dst" "$_uf_dp" 17 $# "$_uf_oct"
	truth "$_uf_n" "$_uf_dst" "$_uf_dp" "$_uf_src" "$_uf_sp" 17 $# "$_uf_oct"
}

i=1
while [ "$i" -le "$NODES" ]; do
	# each node its own counts and sizes, so no two nodes' sums agree
	udp_flow "$i" 4 $((41000 + i)) 5001 $((100 * i)) $((200 + i)) 1000
	udp_flow "$i" 4 $((42000 + i)) 5002 $(seq -s ' ' $((10 + i)) $((10 + 3 * i)))
	udp_flow "$i" 6 $((43000 + i)) 5003 $((300 + i)) 1200
	_pings=$((2 + i))
	ping_ok "bpfix-$$-fdb-n$i" "$_pings" -s $((56 + i)) "10.77.$i.2"
	# nfacctd keeps no ICMP type and code: ports 0 (docs/reference.md)
	truth "$i" "10.77.$i.1" 0 "10.77.$i.2" 0 1 "$_pings" $((_pings * (56 + i + 28)))
	truth "$i" "10.77.$i.2" 0 "10.77.$i.1" 0 1 "$_pings" $((_pings * (56 + i + 28)))
	# and a burst of one-datagram flows, into a socket that never reads
	# (what it drops was metered all the same, and no ICMP comes back)
	nsx_timeout 120 "bpfix-$$-fdb-n$i" python3 "$(dirname "$0")/ipfix_interop.py" udp-flows \
		"10.77.$i.2" "$SINK_PORT" 20000 "$BULK" $((20 + i)) 0 ||
		fail "node $i: could not send $BULK flows"
	seq 20000 $((20000 + BULK - 1)) |
		awk -v n="$i" -v b=$((48 + i)) -v p="$SINK_PORT" \
			'{ print "10.78." n ".1 10.77." n ".1 10.77." n ".2", $1, p, 17, 1, b }' >>"$TRUTH"
	i=$((i + 1))
done
info "sent: $(grep -c . "$TRUTH") flow directions, $(awk '{ n += $7 } END { print n }' "$TRUTH")" \
	"packets from $NODES nodes in $(elapsed)"

# SIGINT: every flow ends as a forced record and is exported before exit.
for a in $AGENTS; do
	AGENT_PID=$(echo "$a" | cut -d: -f2)
	AGENT_ERR=$(echo "$a" | cut -d: -f3)
	agent_stop
	check_eq "node ${a%%:*}: records not sent, flows lost (-v exit line)" \
		"$(sed -n 's/^bpfix exit: .* not-sent \([0-9]*\) | .*lost flows \([0-9]*\) .*/\1 \2/p' \
			"$AGENT_ERR")" "0 0"
done

# ---- what the database holds -------------------------------------------------

sort -o "$TRUTH" "$TRUTH"
WANT_ROWS=$(grep -c . "$TRUTH")
WANT_PACKETS=$(awk '{ n += $7 } END { print n }' "$TRUTH")
# The test's flows: UDP and ICMP from the nodes' data addresses (the kernel's
# own IPv6 neighbor discovery on the data veths is metered too, as it
# should be, but how often it speaks is the kernel's business).
MINE="ip_proto IN (1, 17) AND (ip_src << '10.77.0.0/16' OR ip_src << 'fd00:77::/32')"
QUERY="SELECT host(peer_ip_src), host(ip_src), host(ip_dst), port_src, port_dst, ip_proto,
	sum(packets), sum(bytes) FROM flows WHERE $MINE GROUP BY 1, 2, 3, 4, 5, 6"
# nfacctd writes every sql_refresh_time: wait until every packet is in
# (or four refreshes more), then compare.
_t=$(now_ms)
for _w in $(seq $((REFRESH * 4 * 10 + 50))); do
	_got=$(sql pmacct -c "SELECT coalesce(sum(packets), 0) FROM flows WHERE $MINE")
	[ "$_got" -ge "$WANT_PACKETS" ] && break
	sleep 0.1
done
sleep "$REFRESH"	# a refresh more: anything extra would show
info "the database holds $_got of $WANT_PACKETS packets after $(( ($(now_ms) - _t) / 1000 )) s"
sql pmacct -c "$QUERY" | sort >"$TEST_TMP/db"
check_eq "flow directions in the database" "$(grep -c . "$TEST_TMP/db")" "$WANT_ROWS"
check "per flow, per node: SQL sums of packets and bytes equal what was sent" \
	cmp -s "$TRUTH" "$TEST_TMP/db" ||
	diff "$TRUTH" "$TEST_TMP/db" | sed -n 's/^</    sent:   /p; s/^>/    stored: /p'
# The fleet view: one GROUP BY per node, against the truth's.
sql pmacct -c "SELECT host(peer_ip_src), count(*), sum(packets), sum(bytes) FROM flows
	WHERE $MINE GROUP BY 1" |
	sort >"$TEST_TMP/db.nodes"
awk '{ n[$1]++; p[$1] += $7; b[$1] += $8 } END { for (k in n) print k, n[k], p[k], b[k] }' \
	"$TRUTH" | sort >"$TEST_TMP/truth.nodes"
check "per node: flows, packets and bytes" cmp -s "$TEST_TMP/truth.nodes" "$TEST_TMP/db.nodes"
sed 's/^/  node /' "$TEST_TMP/db.nodes"

stop "$NFACCTD_PID" INT 10
check_eq "nfacctd warnings and errors" \
	"$(grep -c -e 'WARN' -e 'ERROR' "$TMP/nfacctd.log")" 0 ||
	grep -e 'WARN' -e 'ERROR' "$TMP/nfacctd.log" | tail -n 8 | sed 's/^/    /'
reliability "fleet into PostgreSQL: $NODES agents, one nfacctd (stock buffers), SQL sums" \
	"$WANT_ROWS flow directions, $WANT_PACKETS packets" \
	"$(( WANT_ROWS - $(grep -c -x -F -f "$TEST_TMP/db" "$TRUTH") ))"
test_done
