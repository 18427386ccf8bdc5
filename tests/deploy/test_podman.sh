#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The container image (tools/deploy/image.sh: build/bpfix and its shared
# libraries on scratch) under rootful podman with runc, in a network namespace this test
# made (a veth pair to a second one), the host's bpffs bind-mounted:
#   1. --privileged: meters, ping's packets are in its JSON records,
#      podman stop ends it with status 0 and nothing left attached or pinned;
#   2. only the README's capabilities (--cap-drop all --cap-add CAP_BPF,
#      CAP_NET_ADMIN, CAP_PERFMON) with seccomp unconfined: the same, and
#      the agent keeps CAP_BPF and CAP_NET_ADMIN;
#   3. those capabilities under podman's default seccomp profile (bpf()
#      only with CAP_SYS_ADMIN): exit 1 and one line that names seccomp,
#      not missing capabilities.
# The image's size is printed and held under MAX_IMAGE_KB.
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

MAX_IMAGE_KB=${MAX_IMAGE_KB:-24576}	# libc, libbpf, libmicrohttpd and gnutls: 19 MB
need_root
need_cmds podman buildah runc ping nsenter
need_bpffs
use_python3
need_file "$BUILD/bpfix" "run make"

IMAGE=localhost/bpfix-test-$$
"$DEPLOY/image.sh" "$BUILD/bpfix" "$IMAGE" > "$TEST_TMP/image.id" ||
	fail "tools/deploy/image.sh failed"
defer "podman rmi -f '$IMAGE:latest' '$IMAGE:$("$BUILD/bpfix" --version | awk '{ print $2 }')'"
size=$(podman image inspect "$IMAGE:latest" --format '{{.Size}}')
info "image $IMAGE: $size bytes"
check "image at most $MAX_IMAGE_KB KiB ($size bytes)" test "$size" -le $((MAX_IMAGE_KB * 1024))
check_eq "image entrypoint" "$(podman image inspect "$IMAGE:latest" --format '{{.Config.Entrypoint}}')" \
	"[/usr/bin/bpfix]"

NS_C=bpfix-$$-pm-c NS_N=bpfix-$$-pm-n IF_C=pm$$c IF_N=pm$$n
netns_create "$NS_C"
netns_create "$NS_N"
veth_pair "$NS_N" "$IF_N" "$NS_C" "$IF_C" 87 1
IP4_N=10.87.1.1 IP4_C=10.87.1.2
LOCKS=$TEST_TMP/run-bpfix
mkdir -p "$LOCKS"

# pod_run NAME PODMAN-OPTIONS... -- BPFIX-ARGS...: the image in the
# background (podman run -d), in NS_C, bpffs and a lock directory mounted,
# with the limits a stock podman.conf would give (explicit, so the host's
# own limits do not leak in). Its pins: $BPFFS/bpfix-PID-NAME.
pod_run() {
	_pr_name=$1
	shift
	_pr_opts=
	while [ $# -gt 0 ] && [ "$1" != -- ]; do _pr_opts="$_pr_opts $1"; shift; done
	shift
	PIN=$BPFFS/bpfix-$$-$_pr_name
	defer "rm -rf '$PIN'"
	defer "podman rm -f -t 0 '$_pr_name-$$'"
	# shellcheck disable=SC2086 # options split on purpose
	podman run -d --name "$_pr_name-$$" --runtime runc \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--network "ns:$NETNS_DIR/$NS_C" \
		-v "$BPFFS:/sys/fs/bpf" -v "$LOCKS:/run/bpfix" $_pr_opts \
		"$IMAGE:latest" -i "$IF_C" --pin-path "/sys/fs/bpf/bpfix-$$-$_pr_name" "$@" \
		> /dev/null || fail "podman run $_pr_name failed"
}

# pod_wait_metering NAME: until its log says it meters (15 s).
pod_wait_metering() {
	for _pw in $(seq 150); do
		podman logs "$1-$$" 2>&1 | grep -q '^bpfix: metering' && return 0
		[ "$(podman inspect "$1-$$" --format '{{.State.Running}}')" = true ] || break
		sleep 0.1
	done
	podman logs "$1-$$" >&2
	fail "$1: bpfix did not start metering"
}

# pod_meters NAME: ping through the veth, podman stop, then the checks
# every run passes: exit 0, quick, ping's packets in its JSON records,
# nothing left on IF_C or under its pins.
pod_meters() {
	nsx "$NS_N" ping -c 3 -i 0.2 -q "$IP4_C" > /dev/null || fail "$1: ping failed"
	sleep 2	# an idle timeout and a sweep
	_pm_t0=$(now_ms)
	podman stop -t 30 "$1-$$" > /dev/null
	info "$1: podman stop took $(($(now_ms) - _pm_t0)) ms"
	check_eq "$1: exit code after podman stop" \
		"$(podman inspect "$1-$$" --format '{{.State.ExitCode}}')" 0
	podman logs "$1-$$" > "$TEST_TMP/$1.out" 2> "$TEST_TMP/$1.err"
	AGENT_OUT=$TEST_TMP/$1.out
	agent_records "$1"
	check_eq "$1: ICMP packets in its records (3 pings, both ways)" \
		$(($(rec_sum "$RECS" packets proto=ICMP src="$IP4_N") + \
		   $(rec_sum "$RECS" rev_packets proto=ICMP src="$IP4_N"))) 6
	check_eq "$1: lines that are not JSON records" "$(rec_count "$RECS" invalid=1)" 0
	check_eq "$1: no filter or TCX link of bpfix's left on $IF_C" "$(bpfix_tc "$NS_C" "$IF_C")" 0
	check "$1: no pins left" test ! -e "$PIN"
}

# ---- 1. --privileged -------------------------------------------------------
pod_run priv --privileged -- -f json --idle-timeout 1 -v
pod_wait_metering priv
pod_meters priv

# ---- 2. the README's capabilities, seccomp unconfined -------------------------
pod_run caps --cap-drop all --cap-add CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON \
	--security-opt seccomp=unconfined -- -f json --idle-timeout 1 -v
pod_wait_metering caps
sleep 0.3	# privileges are dropped right after attaching
pid=$(podman inspect caps-$$ --format '{{.State.Pid}}')
check_eq "caps: effective capabilities after attach (CAP_BPF, CAP_NET_ADMIN)" \
	"$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")" 0000008000001000
pod_meters caps

# ---- 3. the same under podman's default seccomp profile ----------------------
pod_run seccomp --cap-drop all --cap-add CAP_BPF,CAP_NET_ADMIN,CAP_PERFMON -- -f json
podman wait "seccomp-$$" > /dev/null
podman logs "seccomp-$$" > /dev/null 2> "$TEST_TMP/seccomp.err"
check_eq "default seccomp: exit code" "$(podman inspect "seccomp-$$" --format '{{.State.ExitCode}}')" 1
check_eq "default seccomp: one error line" "$(wc -l < "$TEST_TMP/seccomp.err")" 1
check "default seccomp: the line names seccomp" grep -q "bpf() denied by a seccomp filter" \
	"$TEST_TMP/seccomp.err"
check "default seccomp: and not missing capabilities" \
	sh -c "! grep -q 'missing privileges' '$TEST_TMP/seccomp.err'"
info "error line: $(cat "$TEST_TMP/seccomp.err")"
check "default seccomp: nothing pinned" test ! -e "$PIN"
test_done
