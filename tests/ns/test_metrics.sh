#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# shellcheck disable=SC2016 # python programs in single quotes
# --metrics (README, "Metrics and health"): the agent's HTTP endpoint, in a
# namespace pair of its own (quiet_pair: only what the test sends crosses
# the metered link), bpfix on B's end, the endpoint on 127.0.0.1 in B.
#
#  command line: a bad --metrics is a usage error (exit 2, one line); an
#    address of another host, or a port in use, a run-time error (exit 1,
#    one line naming the address and the cause), and nothing is attached;
#  the main run (-f json, sweeps every 200 ms, idle timeout 1 s):
#    /healthz and /readyz 200, / 200, an unknown path 404, POST 405;
#    after 20 pings (40 packets both ways on B's veth): bpfix_packets_total,
#    the interface's packets and bytes in its records, records sent to
#    stdout equal what was sent and what the records hold; promtool check
#    metrics passes on the exposition;
#    a real Prometheus (Debian's) scrapes it every second; once the traffic
#    is over, its bpfix_packets_total equals the last /metrics fetch, which
#    equals the -v exit line's count after SIGTERM, and it holds several
#    scrapes;
#    hostile clients: 200 connections opened at once from 127.0.0.2, each
#    sending half a request and stalling, while 20 more pings go through:
#    the server cuts every one off within its idle timeout (5 s) and a few
#    seconds, 127.0.0.1 still gets /metrics meanwhile (a per-address
#    limit), sweeps keep their pace (at least 60% of the sweeps due, none
#    over 250 ms), and the pings reach the records;
#  the lifecycle run (--metrics :PORT, every address; sweeps every 3 s; a
#    UDP collector paced to 100 records/s, --shutdown-timeout 3): /readyz
#    503 before the first sweep, 200 after; after SIGTERM with 1000 flows
#    to deliver, /readyz 503 and /healthz 200 while the agent delivers;
#    after exit, nothing listens;
#  the stalled reader: stdout into a pipe nobody reads; the agent's loop
#    never blocks on it (test_outputs.sh), so /healthz stays 200 and the
#    sweeps go on (the last-sweep time moves), /metrics answers, and it
#    counts as sent only what the pipe took.
#
#   env BUILD=build sh tests/ns/test_metrics.sh
#   BPFIX=/path/to/bpfix   the binary under test (default $BUILD/bpfix)
#   BPFIX_TEST_KEEP=1      leave namespaces and pins up (see lib.sh)
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
PORT=9402 PROM_PORT=9090 UDP_PORT=4739
PINGS=20 PING_SIZE=56
CONN_IDLE_S=5		# user/metrics.c, METRICS_CONN_IDLE_S

use_python3
need_root
need_cmds ip tc nsenter python3 ping curl promtool prometheus timeout
need_bpffs
need_file "$BPFIX" "run make $BPFIX"

quiet_pair mt 78 1
URL=http://127.0.0.1:$PORT

# http NS URL [FILE] [CURL ARGS...]: the HTTP status of a GET (at most 3 s),
# "000" when nothing answers; the body goes to FILE.
http() {
	_h_ns=$1 _h_url=$2 _h_out=${3:-/dev/null}
	shift 2
	[ $# -gt 0 ] && shift
	nsx "$_h_ns" curl -s -o "$_h_out" -w '%{http_code}' --max-time 3 "$@" "$_h_url"
}

# sample FILE SERIES: the value of SERIES (name{labels}) in an exposition,
# "none" when it has no such line.
sample() {
	awk -v s="$2" '$1 == s { v = $2 } END { print (v == "" ? "none" : v) }' "$1"
}

# scrape SERIES: SERIES from a fresh /metrics.
scrape() {
	http "$NS_B" "$URL/metrics" "$TEST_TMP/scrape" >/dev/null
	sample "$TEST_TMP/scrape" "$1"
}

# until_eq SECONDS WANT COMMAND...: run COMMAND every 0.2 s until it prints
# WANT, at most SECONDS; GOT is its last output. Returns 1 on timeout.
until_eq() {
	_ut_end=$(($(date +%s) + $1)) _ut_want=$2
	shift 2
	while :; do
		GOT=$("$@")
		[ "$GOT" = "$_ut_want" ] && return 0
		[ "$(date +%s)" -ge "$_ut_end" ] && return 1
		sleep 0.2
	done
}

# prom_query QUERY: the value of the one series Prometheus answers, "none"
# for no series, "many:N" for N.
prom_query() {
	nsx "$NS_B" curl -s --max-time 3 -G --data-urlencode "query=$1" \
		"http://127.0.0.1:$PROM_PORT/api/v1/query" | python3 -c '
import json, sys
try:
    r = json.load(sys.stdin)["data"]["result"]
except (ValueError, KeyError):
    print("invalid")
    sys.exit()
print(r[0]["value"][1] if len(r) == 1 else "many:%d" % len(r) if r else "none")'
}

# bpfix_once TAG ARGS...: bpfix -i IF_B ARGS in NS_B, expected to exit at
# once; RC, and its stderr in ERR.
bpfix_once() {
	ERR=$TEST_TMP/$1.err
	_bo_pin=$BPFFS/bpfix-$$-$1
	shift
	defer "rm -rf '$_bo_pin'"
	nsx_timeout 20 "$NS_B" "$BPFIX" -i "$IF_B" --pin-path "$_bo_pin" "$@" \
		>/dev/null 2>"$ERR"
	RC=$?
}

# ---- command line ------------------------------------------------------------------
for bad in 127.0.0.1 127.0.0.1:0 127.0.0.1:65536 :0 localhost:9402 '[::1]' 1.2.3.4.5:80; do
	bpfix_once usage --metrics "$bad"
	check_eq "--metrics '$bad': exit status" "$RC" 2
	check_eq "--metrics '$bad': one line naming the option" \
		"$(wc -l <"$ERR"):$(grep -c '^bpfix: --metrics ' "$ERR")" "1:1"
done
info "usage line: $(cat "$ERR")"
bpfix_once notlocal --metrics "$IP4_A:$PORT"
check_eq "--metrics on another host's address: exit status" "$RC" 1
check_eq "... one line, the address and the cause" \
	"$(cat "$ERR")" "bpfix: --metrics $IP4_A:$PORT: cannot listen: Cannot assign requested address (not an address of this host)"
check_eq "... nothing attached" "$(attached "$NS_B" "$IF_B")" "clsact 0, tcx 0, xdp 0"

# ---- the main run ------------------------------------------------------------------
agent_start main "$NS_B" "$IF_B" -f json --idle-timeout 1 --sweep-interval 200 --flows 4096 \
	--metrics "127.0.0.1:$PORT"

bpfix_once inuse --metrics "127.0.0.1:$PORT"
check_eq "a second agent on the port in use: exit status" "$RC" 1
check_eq "... one line, the address and the cause" \
	"$(cat "$ERR")" "bpfix: --metrics 127.0.0.1:$PORT: cannot listen: Address already in use"

check_eq "/healthz" "$(http "$NS_B" "$URL/healthz")" 200
until_eq 5 200 http "$NS_B" "$URL/readyz"
check_eq "/readyz after the first sweep" "$GOT" 200
check_eq "/" "$(http "$NS_B" "$URL/")" 200
check_eq "/nothing-here" "$(http "$NS_B" "$URL/nothing-here")" 404
check_eq "POST /metrics" "$(http "$NS_B" "$URL/metrics" /dev/null -X POST -d x=1)" 405
check_eq "/metrics Content-Type" \
	"$(nsx "$NS_B" curl -s -o /dev/null -w '%{content_type}' --max-time 3 "$URL/metrics")" \
	"text/plain; version=0.0.4; charset=utf-8"

# A real Prometheus, scraping every second.
cat >"$TEST_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: bpfix
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
check "promtool check config" promtool check config "$TEST_TMP/prometheus.yml" >/dev/null
bg "$NS_B" prometheus --config.file="$TEST_TMP/prometheus.yml" \
	--storage.tsdb.path="$TEST_TMP/tsdb" --web.listen-address="127.0.0.1:$PROM_PORT" \
	>"$TEST_TMP/prometheus.log" 2>&1
PROM_PID=$!
until_eq 30 200 http "$NS_B" "http://127.0.0.1:$PROM_PORT/-/ready" ||
	{ tail -n 20 "$TEST_TMP/prometheus.log" >&2; fail "prometheus did not start"; }
until_eq 15 1 prom_query 'up{job="bpfix"}' ||
	{ tail -n 20 "$TEST_TMP/prometheus.log" >&2; fail "prometheus: target not up ($GOT)"; }
info "prometheus scrapes the agent (up = 1)"

ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" "$IP4_B"
SENT=$((2 * PINGS)) SENT_BYTES=$((2 * PINGS * (PING_SIZE + 28)))
until_eq 10 "$SENT" scrape "bpfix_interface_packets_total{interface=\"$IF_B\",ifindex=\"$(ifindex_of "$NS_B" "$IF_B")\"}"
check_eq "packets in $IF_B's records (the pings expired: idle 1 s)" "$GOT" "$SENT"
check_eq "/metrics" "$(http "$NS_B" "$URL/metrics" "$TEST_TMP/metrics")" 200
M=$TEST_TMP/metrics
IFL="interface=\"$IF_B\",ifindex=\"$(ifindex_of "$NS_B" "$IF_B")\""
check_eq "bpfix_packets_total" "$(sample "$M" bpfix_packets_total)" "$SENT"
check_eq "bpfix_bytes_total" "$(sample "$M" bpfix_bytes_total)" "$SENT_BYTES"
check_eq "bpfix_interface_bytes_total" "$(sample "$M" "bpfix_interface_bytes_total{$IFL}")" \
	"$SENT_BYTES"
check_eq "records sent to stdout = records" \
	"$(sample "$M" 'bpfix_collector_records_sent_total{collector="stdout"}')" \
	"$(sample "$M" bpfix_records_total)"
check_eq "lost packets (LRU)" "$(sample "$M" 'bpfix_lost_packets_total{reason="lru_eviction"}')" 0
check_eq "malformed ipv4_ihl" "$(sample "$M" 'bpfix_malformed_packets_total{reason="ipv4_ihl"}')" 0
check_eq "agent table capacity" "$(sample "$M" bpfix_agent_table_capacity_flows)" 4096
check "sweep histogram counts sweeps" \
	test "$(sample "$M" bpfix_sweep_duration_seconds_count)" -gt 0
agent_records main1
check_eq "packets in the JSON records = bpfix_interface_packets_total" \
	"$(($(rec_sum "$RECS" packets) + $(rec_sum "$RECS" rev_packets)))" "$SENT"
promtool check metrics <"$M" >"$TEST_TMP/promtool.out" 2>&1
check_eq "promtool check metrics: exit status" "$?" 0
check_eq "promtool check metrics: findings" "$(wc -l <"$TEST_TMP/promtool.out")" 0 ||
	sed 's/^/    /' "$TEST_TMP/promtool.out"
info "promtool check metrics: $(wc -l <"$M") lines, $(grep -c '^# TYPE' "$M") families," \
	"findings: $(cat "$TEST_TMP/promtool.out")"

# ---- hostile clients, while traffic flows ------------------------------------------
hostile_py='
import select, socket, sys, time
dst, port, srcs, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(","), int(sys.argv[4]), sys.argv[5]
socks = {}
poll = select.poll()
for i in range(n):		# all at once: non-blocking connects
    s = socket.socket()
    s.bind((srcs[i % len(srcs)], 0))
    s.setblocking(False)
    s.connect_ex((dst, port))
    socks[s.fileno()] = s
    poll.register(s, select.POLLOUT)
conn, end = {}, time.time() + 5
while len(conn) < len(socks) and time.time() < end:
    for fd, ev in poll.poll(500):
        poll.unregister(fd)
        if not socks[fd].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            conn[fd] = socks[fd]
t0 = time.time()
for s in conn.values():		# half a request, then nothing
    try:
        s.send(b"GET /metrics HTTP/1.1\r\nHost: bpfix\r\nX-Stalled: ")
    except OSError:
        pass
open(ready, "w").close()
poll = select.poll()
for fd in conn:
    poll.register(fd, select.POLLIN)
live, last = set(conn), 0.0
while live and time.time() < t0 + 20:
    for fd, ev in poll.poll(500):
        try:
            data = conn[fd].recv(65536)
        except OSError:
            data = b""
        if not data:		# the server closed it
            last = time.time() - t0
            live.discard(fd)
            poll.unregister(fd)
print("connected=%d open=%d last_cut=%.0f s" % (len(conn), len(live), last))
'
SWEEPS0=$(scrape bpfix_sweep_duration_seconds_count)
SLOW0=$(($(sample "$TEST_TMP/scrape" bpfix_sweep_duration_seconds_count) -
	$(sample "$TEST_TMP/scrape" 'bpfix_sweep_duration_seconds_bucket{le="0.25"}')))
T_H0=$(now_ms)
rm -f "$TEST_TMP/hostile.ready"
nsx "$NS_B" python3 -c "$hostile_py" 127.0.0.1 "$PORT" 127.0.0.2 200 \
	"$TEST_TMP/hostile.ready" >"$TEST_TMP/hostile.out" &
HOSTILE_PID=$!
bg_track "$HOSTILE_PID"
until_eq 30 yes sh -c "[ -e '$TEST_TMP/hostile.ready' ] && echo yes" ||
	fail "the hostile client did not connect"
info "200 stalled connections from 127.0.0.2 held"
t=$(now_ms)
check_eq "/metrics from 127.0.0.1 meanwhile" "$(http "$NS_B" "$URL/metrics" "$TEST_TMP/during")" 200
info "... answered in $(($(now_ms) - t)) ms"
check_eq "/healthz meanwhile" "$(http "$NS_B" "$URL/healthz")" 200
ping_ok "$NS_A" "$PINGS" -s "$PING_SIZE" "$IP4_B"
wait "$HOSTILE_PID"
bg_untrack "$HOSTILE_PID"
H_MS=$(($(now_ms) - T_H0))
info "hostile client: $(cat "$TEST_TMP/hostile.out"), over $H_MS ms"
check "200 connections made at once" grep -q '^connected=200 ' "$TEST_TMP/hostile.out"
check_eq "stalled connections the server has not cut off" \
	"$(sed -n 's/.* open=\([0-9]*\) .*/\1/p' "$TEST_TMP/hostile.out")" 0
check "... all within the idle timeout ($CONN_IDLE_S s) and 3 s" \
	test "$(sed -n 's/.*last_cut=\([0-9]*\).*/\1/p' "$TEST_TMP/hostile.out")" -le $((CONN_IDLE_S + 3))
until_eq 10 $((2 * SENT)) scrape "bpfix_interface_packets_total{$IFL}"
check_eq "packets in the records, the pings sent during the attack too" "$GOT" $((2 * SENT))
SWEEPS=$(($(sample "$TEST_TMP/scrape" bpfix_sweep_duration_seconds_count) - SWEEPS0))
SLOW=$(($(sample "$TEST_TMP/scrape" bpfix_sweep_duration_seconds_count) -
	$(sample "$TEST_TMP/scrape" 'bpfix_sweep_duration_seconds_bucket{le="0.25"}') - SLOW0))
check "sweeps during the attack: $SWEEPS in $H_MS ms (every 200 ms: at least 60% of them)" \
	test "$SWEEPS" -ge $((H_MS * 6 / 2000))
check_eq "sweeps during the attack that took over 250 ms" "$SLOW" 0
LAST_V=$(grep '^bpfix running: ' "$AGENT_ERR" | tail -n 1)
info "last -v line: $LAST_V"
check "-v: the last sweep took under 250 ms" test "$(printf '%s\n' "$LAST_V" |
	sed -n 's/.* last \([0-9]*\)\.[0-9] ms max .*/\1/p')" -lt 250

# ---- Prometheus saw what the agent counted ------------------------------------------
# Traffic is over: the last fetch is what every later scrape returns.
FINAL=$(scrape bpfix_packets_total)
check_eq "bpfix_packets_total after both rounds" "$FINAL" $((2 * SENT))
sleep 2.5	# two more scrapes
check_eq "Prometheus: bpfix_packets_total = the last /metrics fetch" \
	"$(prom_query bpfix_packets_total)" "$FINAL"
check_eq "Prometheus: bpfix_interface_packets_total{interface=\"$IF_B\"}" \
	"$(prom_query "bpfix_interface_packets_total{interface=\"$IF_B\"}")" $((2 * SENT))
check_eq "Prometheus: bpfix_lost_packets_total summed over reasons" \
	"$(prom_query 'sum(bpfix_lost_packets_total)')" 0
N_SCRAPES=$(prom_query 'count_over_time(bpfix_packets_total[5m])')
check "Prometheus holds several scrapes ($N_SCRAPES)" test "${N_SCRAPES%%[!0-9]*}" -ge 5
check "Prometheus: the sweep histogram ($(prom_query 'bpfix_sweep_duration_seconds_count') sweeps)" \
	test "$(prom_query 'bpfix_sweep_duration_seconds_count')" -gt "$SWEEPS0"
stop "$PROM_PID" TERM 15

# Stopping with clients holding every connection the server takes (32, 8
# from each of 4 addresses): the HTTP thread must end at once, not at
# their idle timeout (it polls no listening socket while it is full).
rm -f "$TEST_TMP/hold.ready"
nsx "$NS_B" python3 -c "$hostile_py" 127.0.0.1 "$PORT" 127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6 32 \
	"$TEST_TMP/hold.ready" >"$TEST_TMP/hold.out" &
HOLD8_PID=$!
bg_track "$HOLD8_PID"
until_eq 30 yes sh -c "[ -e '$TEST_TMP/hold.ready' ] && echo yes" ||
	fail "the holding client did not connect"
kill -TERM "$AGENT_PID"
until_eq 15 yes sh -c "grep -q '^bpfix exit: ' '$AGENT_ERR' && echo yes"
t=$(now_ms)
while proc_alive "$AGENT_PID" && [ $(($(now_ms) - t)) -lt 10000 ]; do
	sleep 0.05
done
EXIT_MS=$(($(now_ms) - t))
check "exit within 2 s of the -v exit line, 32 stalled connections held ($EXIT_MS ms)" \
	test "$EXIT_MS" -lt 2000
proc_alive "$AGENT_PID" && kill -KILL "$AGENT_PID"
wait "$AGENT_PID"
check_eq "bpfix exit status after SIGTERM" "$?" 0
bg_untrack "$AGENT_PID"
check_eq "stderr lines besides -v's" \
	"$(stderr_other "$AGENT_ERR")" 0
nothing_left "$NS_B" "$IF_B" "$AGENT_PIN"
wait "$HOLD8_PID"
bg_untrack "$HOLD8_PID"
check_eq "-v exit line: packets = the last /metrics fetch" "$(exit_counter seen)" "$FINAL"
check_eq "/readyz after exit (nothing listens)" "$(http "$NS_B" "$URL/readyz")" 000

# ---- lifecycle: not ready before the first sweep, not ready while stopping ----------
nsx "$NS_B" python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
time.sleep(60)' "$UDP_PORT" &
SINK_PID=$!
bg_track "$SINK_PID"
agent_start life "$NS_B" "$IF_B" --idle-timeout 5 --sweep-interval 3000 \
	-c "udp://127.0.0.1:$UDP_PORT" --export-rate 100 --shutdown-timeout 3 --metrics ":$PORT"
check_eq "/readyz before the first sweep (every address)" "$(http "$NS_B" "$URL/readyz")" 503
check_eq "/healthz before the first sweep" "$(http "$NS_B" "$URL/healthz")" 200
until_eq 8 200 http "$NS_B" "$URL/readyz"
check_eq "/readyz after the first sweep" "$GOT" 200
SINK_PORT=9 flows 1000 20000 10	# 1000 records at 100/s: longer than --shutdown-timeout
sleep 0.5
kill -TERM "$AGENT_PID"
until_eq 3 503 http "$NS_B" "$URL/readyz"
check_eq "/readyz while stopping" "$GOT" 503
check "... the agent still delivering then" proc_alive "$AGENT_PID"
check_eq "/healthz while stopping" "$(http "$NS_B" "$URL/healthz")" 200
stop "$AGENT_PID" - 15
check_eq "exit status after SIGTERM" "$?" 0
check_eq "/readyz after exit" "$(http "$NS_B" "$URL/readyz")" 000
stop "$SINK_PID" TERM 5

# ---- a stalled reader: the loop goes on, /healthz says so ------------------------
rm -f "$TEST_TMP/stall.out"
mkfifo "$TEST_TMP/stall.out" || fail "mkfifo failed"
# shellcheck disable=SC2217 # the point: hold the pipe open, never read it
sleep 120 <"$TEST_TMP/stall.out" &
HOLD_PID=$!
bg_track "$HOLD_PID"
agent_start stall "$NS_B" "$IF_B" -f json --idle-timeout 1 --sweep-interval 200 \
	--metrics "127.0.0.1:$PORT"
until_eq 5 200 http "$NS_B" "$URL/readyz"
SINK_PORT=9 flows 1000 30000 10	# 1000 JSON lines: more than a pipe holds
sleep 3				# idle timeout 1 s: all 1000 made and handed to stdout
last_sweep() {
	nsx "$NS_B" curl -s "$URL/metrics" | sed -n 's/^bpfix_last_sweep_timestamp_seconds //p'
}
_ls0=$(last_sweep)
sleep 1
_ls1=$(last_sweep)
check "sweeps go on while stdout's reader is stalled ($_ls0 -> $_ls1)" \
	awk -v a="${_ls0:-0}" -v b="${_ls1:-0}" 'BEGIN { exit !(b > a) }'
check_eq "/healthz while stdout's reader is stalled" "$(http "$NS_B" "$URL/healthz")" 200
_sent=$(nsx "$NS_B" curl -s "$URL/metrics" |
	sed -n 's/^bpfix_collector_records_sent_total{collector="stdout"} //p')
check "records written to the stalled pipe: what it holds, not all 1000 (${_sent:-none})" \
	[ "${_sent:-1000}" -lt 1000 ]
cat "$TEST_TMP/stall.out" >/dev/null &
DRAIN_PID=$!
bg_track "$DRAIN_PID"
agent_stop -TERM
stop "$HOLD_PID" TERM 5
stop "$DRAIN_PID" - 5
test_done
