#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tools/deploy/bpfix.service, booted for real: a minimal Debian bookworm
# (tools/deploy/rootfs.sh, cached in BUILD/deploy) with build/bpfix, the
# unit and an environment file, in systemd-nspawn with the capabilities the
# README names. The container's network namespace is one this test made,
# joined by a veth pair to another; the unit meters its end and writes IPFIX
# to /var/lib/bpfix/flows.ipfix. Checks:
#   - systemd-analyze verify passes and systemd-analyze security scores it
#     at most MAX_EXPOSURE (printed);
#   - the service starts at boot and attaches, with CAP_BPF and
#     CAP_NET_ADMIN left and no_new_privs;
#   - SIGKILLed, it is restarted (Restart=on-failure) and meters again;
#   - ping through the veth is exported: ipfixDump decodes the ICMP biflow
#     with every packet sent;
#   - systemctl stop ends it with status 0, well inside TimeoutStopSec;
#   - the protections the unit says it cannot have do break it (so the
#     comment stays true), and a usage error is not restarted.
# Functions called through defer and check look unreachable to shellcheck.
# shellcheck disable=SC2317
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

MAX_EXPOSURE=${MAX_EXPOSURE:-3.0}
need_root
need_cmds systemd-nspawn systemd-analyze mmdebstrap ipfixDump ping nsenter
BPFIX=${BPFIX:-$BUILD/bpfix}
need_file "$BPFIX" "run make"

"$DEPLOY/rootfs.sh" "$BPFIX" "$BUILD/deploy/bookworm" || fail "no bookworm rootfs"
ROOT=$TEST_TMP/root
cp -a "$BUILD/deploy/bookworm" "$ROOT" || fail "cannot copy the rootfs"

# The container side of the link is the namespace nspawn joins; the other
# end is where ping comes from.
NS_C=bpfix-$$-sd-c NS_N=bpfix-$$-sd-n IF_C=sd$$c IF_N=sd$$n
netns_create "$NS_C"
netns_create "$NS_N"
veth_pair "$NS_N" "$IF_N" "$NS_C" "$IF_C" 88 1
IP4_N=10.88.1.1 IP4_C=10.88.1.2

# Installed as the unit's header says.
install -D -m 0755 "$BPFIX" "$ROOT/usr/local/bin/bpfix"
install -D -m 0644 "$DEPLOY/bpfix.service" "$ROOT/etc/systemd/system/bpfix.service"
sed "s|^BPFIX_ARGS=.*|BPFIX_ARGS=-i $IF_C -c file:/var/lib/bpfix/flows.ipfix --idle-timeout 1 -v|" \
	"$DEPLOY/bpfix.env" > "$ROOT/etc/default/bpfix"
grep -q "^BPFIX_ARGS=-i $IF_C " "$ROOT/etc/default/bpfix" || fail "bpfix.env has no BPFIX_ARGS= line"
mkdir -p "$ROOT/etc/systemd/system/multi-user.target.wants"
ln -s /etc/systemd/system/bpfix.service "$ROOT/etc/systemd/system/multi-user.target.wants/"
# systemd mounts bpffs at boot on a host, not in a container (and refuses
# a mount unit for it, an "API file system"): here a oneshot stands in for
# it, a bpffs of the container's own, so its pins never meet the host's.
cat > "$ROOT/etc/systemd/system/bpffs.service" <<'EOF'
[Unit]
DefaultDependencies=no
Before=sysinit.target bpfix.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/mount -t bpf -o mode=0700 bpf /sys/fs/bpf
[Install]
WantedBy=sysinit.target
EOF
mkdir -p "$ROOT/etc/systemd/system/sysinit.target.wants"
ln -s /etc/systemd/system/bpffs.service "$ROOT/etc/systemd/system/sysinit.target.wants/"

# ---- offline: verify and security -----------------------------------------
check "systemd-analyze verify" systemd-analyze verify --man=no --root="$ROOT" bpfix.service
systemd-analyze security --offline=yes --root="$ROOT" --no-pager bpfix.service \
	> "$TEST_TMP/security" 2>&1
score=$(sed -n 's/.*Overall exposure level for bpfix.service: \([0-9.]*\) .*/\1/p' "$TEST_TMP/security")
info "systemd-analyze security: exposure ${score:-?} ($(sed -n 's/.*: [0-9.]* \([A-Z]*\) .*/\1/p' "$TEST_TMP/security"))"
check "exposure ${score:-?} at most $MAX_EXPOSURE" \
	awk -v s="${score:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s + 0 <= m + 0) }'

# ---- boot ----------------------------------------------------------------
# PID 1 of this machine is not systemd: no registration, no scope of our own.
systemd-nspawn --boot --keep-unit --register=no --directory="$ROOT" --machine="bpfix$$" \
	--system-call-filter=bpf --capability=CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON,CAP_SYS_ADMIN \
	--network-namespace-path="$NETNS_DIR/$NS_C" --console=read-only \
	> "$TEST_TMP/console" 2>&1 < /dev/null &
NSPAWN_PID=$!
# Cleanup: an orderly shutdown (nspawn's SIGTERM), then the container's
# init killed, which takes its whole PID namespace along.
defer "nspawn_stop $NSPAWN_PID"
nspawn_stop() {
	kill -TERM "$1"
	for _ns in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.2; done
	[ -n "${LEADER:-}" ] && kill -KILL "$LEADER"
	kill -KILL "$1"
}
LEADER=
for _ in $(seq 100); do
	LEADER=$(pgrep -P "$NSPAWN_PID" | head -n 1)
	[ -n "$LEADER" ] && break
	kill -0 "$NSPAWN_PID" 2>/dev/null || { cat "$TEST_TMP/console" >&2; fail "systemd-nspawn exited"; }
	sleep 0.1
done
[ -n "$LEADER" ] || fail "no container init after 10 s"
ctl() { nsenter --target="$LEADER" --all "$@"; }
state=
for _ in $(seq 120); do
	state=$(ctl systemctl is-system-running 2>/dev/null)
	case $state in running | degraded) break ;; esac
	sleep 0.5
done
check_eq "container booted (systemctl is-system-running)" "$state" running ||
	ctl systemctl --failed --no-pager

# unit_prop PROP: one property of bpfix.service.
unit_prop() { ctl systemctl show --property="$1" --value bpfix.service; }
# wait_metering: until the unit is active, its main process has said
# "bpfix: metering" and bpfix's filter is on IF_C (up to 15 s); returns 1
# otherwise.
wait_metering() {
	for _wm in $(seq 75); do
		_wm_pid=$(unit_prop MainPID)
		[ "$(unit_prop ActiveState)" = active ] && [ "$_wm_pid" != 0 ] &&
			ctl journalctl --no-pager -o cat "_PID=$_wm_pid" | grep -q '^bpfix: metering' &&
			[ "$(bpfix_tc "$NS_C" "$IF_C")" = 2 ] && return 0
		sleep 0.2
	done
	return 1
}
check "bpfix.service active and attached after boot" wait_metering ||
	ctl journalctl -u bpfix --no-pager | tail -n 20
pid=$(unit_prop MainPID)	# in the container's PID namespace
ctl cat "/proc/$pid/status" > "$TEST_TMP/status"
check_eq "effective capabilities of the running agent (CAP_BPF, CAP_NET_ADMIN)" \
	"$(sed -n 's/^CapEff:[[:space:]]*//p' "$TEST_TMP/status")" 0000008000001000
check_eq "no_new_privs" "$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "$TEST_TMP/status")" 1

# ---- Restart=on-failure ------------------------------------------------------
# Known: the first restart after a SIGKILL fails ("tc ingress filter ...
# belongs to program ''"): with only these capabilities the agent cannot
# open the crashed agent's program by id (BPF_PROG_GET_FD_BY_ID needs
# CAP_SYS_ADMIN) to see that it is bpfix's; that failed agent then removes
# the qdisc, and the next restart meters. So at most two restarts here.
ctl systemctl kill --signal=KILL bpfix.service
sleep 0.5
check "restarted after SIGKILL, metering" wait_metering
restarts=$(unit_prop NRestarts)
info "restarts after one SIGKILL: $restarts"
check "restarted once or twice (NRestarts $restarts)" test "$restarts" -ge 1 -a "$restarts" -le 2
check "a new main process" test "$(unit_prop MainPID)" != "$pid"

# ---- traffic, stop, decode -------------------------------------------------
nsx "$NS_N" ping -c 5 -i 0.2 -q "$IP4_C" > /dev/null || fail "ping through the metered veth failed"
sleep 2.5	# one idle timeout and a sweep
t0=$(now_ms)
ctl systemctl stop bpfix.service
t=$(($(now_ms) - t0))
info "systemctl stop took $t ms"
check_eq "Result after systemctl stop" "$(unit_prop Result)" success
check_eq "exit status after systemctl stop" "$(unit_prop ExecMainStatus)" 0
check "stopped within 5 s (TimeoutStopSec=$(unit_prop TimeoutStopUSec))" test "$t" -lt 5000
check_eq "bpfix's TCX links or filters removed at stop" "$(bpfix_tc "$NS_C" "$IF_C")" 0
check_eq "ICMP packets in the exported IPFIX (ipfixDump, both ways)" \
	"$(ipfix_icmp_packets "$ROOT/var/lib/bpfix/flows.ipfix" "$IP4_N" "$IP4_C")" 10 ||
	{ ctl journalctl -u bpfix --no-pager | tail -n 8; grep -c 'data record' "$ROOT/var/lib/bpfix/flows.ipfix.dump"; }

# ---- what the unit cannot have ------------------------------------------------
# try_setting SETTING: the unit with SETTING added; sets TRIED to "meters"
# or "breaks" (not active and attached within 5 s) and prints bpfix's last
# line when it breaks. (Not run in $(...): a signal to the test then
# waits for it.)
try_setting() {
	mkdir -p "$ROOT/etc/systemd/system/bpfix.service.d"
	printf '[Service]\n%s\n' "$1" > "$ROOT/etc/systemd/system/bpfix.service.d/try.conf"
	ctl systemctl daemon-reload
	ctl systemctl reset-failed bpfix.service 2>/dev/null
	ctl systemctl start bpfix.service 2>/dev/null
	_ts=breaks
	for _t in $(seq 25); do
		[ "$(unit_prop ActiveState)" = active ] &&
			[ "$(bpfix_tc "$NS_C" "$IF_C")" = 2 ] && { _ts=meters; break; }
		sleep 0.2
	done
	[ "$_ts" = breaks ] &&
		info "with $1: $(ctl journalctl -u bpfix.service -n 30 -o cat --no-pager |
			grep '^bpfix:' | tail -n 1)"
	ctl systemctl stop bpfix.service
	rm -f "$ROOT/etc/systemd/system/bpfix.service.d/try.conf"
	ctl systemctl daemon-reload
	TRIED=$_ts
}
for s in PrivateNetwork=yes PrivateUsers=yes ProtectKernelTunables=yes; do
	check "the unit's comment says $s breaks it" grep -q "^#   $s " "$DEPLOY/bpfix.service"
	try_setting "$s" > "$TEST_TMP/try.err"
	cat "$TEST_TMP/try.err"
	check_eq "with $s" "$TRIED" breaks
	case $s in
	PrivateUsers=*) check "  ... and bpfix names the user namespace" \
		grep -q "in a user namespace (rootless container, PrivateUsers=)" "$TEST_TMP/try.err" ;;
	esac
done

# A usage error (exit 2) is not retried.
printf '[Service]\nExecStart=\nExecStart=/usr/local/bin/bpfix --no-such-flag\n' > "$TEST_TMP/try"
mkdir -p "$ROOT/etc/systemd/system/bpfix.service.d"
cp "$TEST_TMP/try" "$ROOT/etc/systemd/system/bpfix.service.d/usage.conf"
ctl systemctl daemon-reload
ctl systemctl reset-failed bpfix.service 2>/dev/null
n0=$(unit_prop NRestarts)
ctl systemctl start bpfix.service 2>/dev/null
sleep 3	# RestartSec=2s: a restart would have happened
check_eq "usage error: exit status" "$(unit_prop ExecMainStatus)" 2
check_eq "usage error: not restarted" "$(unit_prop NRestarts)" "$n0"
test_done
