#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# tools/deploy/daemonset.yaml, offline:
#   1. against the Kubernetes schema (npm kubernetes-models, validate() of
#      each object) and bpfix's own rules for it (tests/deploy/k8s.cjs:
#      probes on /healthz and /readyz at the metrics port 9402, exactly
#      the three capabilities, not privileged, grace period above the
#      shutdown timeout, hostPaths, resources, args from the ConfigMap); a
#      copy made privileged, with a string for hostNetwork, must fail;
#   2. its pod template run by podman kube play with the image of
#      tools/deploy/image.sh: in the host's network namespace (hostNetwork)
#      it meters a veth this test made (the other end in a namespace of
#      its own) and exports to nfcapd on 127.0.0.1; nfdump reads ping's
#      packets back; the pod stops with status 0 and leaves nothing.
# For podman 4.3 the Pod is adapted, each change for a reason:
#   - $(VAR) in args expanded from the ConfigMap here (the kubelet does it;
#     kube play 4.3 passes "$(BPFIX_INTERFACE)" as it is);
#   - seccomp also as the pod annotation (kube play 4.3 ignores
#     securityContext.seccompProfile, and bpf() is refused under its
#     default profile: bpfix then says so);
#   - ports, probes and --metrics removed: kube play refuses port mappings
#     with hostNetwork, and the pod then needs no port of the host's; the
#     probes are checked by the schema step, the endpoint they ask by
#     tests/ns/test_metrics.sh;
#   - the ConfigMap's interface and collector, the pin path and the lock
#     directory are the test's own; -v and --idle-timeout 1 added;
#   - limits and runtime from a containers.conf of the test's (runc,
#     nofile and nproc 1024: the host's hard limits are lower than
#     podman's defaults).
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

KUBERNETES_MODELS=4.5.1 YAML_JS=2.9.1
need_root
need_cmds node npm podman runc nfcapd nfdump ping
need_bpffs
PYTHON3=/usr/bin/python3
"$PYTHON3" -c 'import yaml' 2>/dev/null || fail "$PYTHON3 has no yaml module (python3-yaml)"
need_file "$BUILD/bpfix" "run make"
K8S=$(dirname "$0")/k8s.cjs
MANIFEST=$DEPLOY/daemonset.yaml

# ---- 1. schema --------------------------------------------------------------
NODE_DIR=$BUILD/deploy/node
installed() {
	node -e 'const p = require(process.argv[1] + "/node_modules/" + process.argv[2] + "/package.json");
		process.exit(p.version === process.argv[3] ? 0 : 1)' "$(cd "$NODE_DIR" 2>/dev/null && pwd)" "$1" "$2" 2>/dev/null
}
if ! installed kubernetes-models "$KUBERNETES_MODELS" || ! installed yaml "$YAML_JS"; then
	mkdir -p "$NODE_DIR"
	npm install --prefix "$NODE_DIR" --no-audit --no-fund --silent \
		"kubernetes-models@$KUBERNETES_MODELS" "yaml@$YAML_JS" ||
		fail "npm install kubernetes-models yaml failed"
fi
node "$K8S" "$NODE_DIR" validate "$MANIFEST" > "$TEST_TMP/validate" 2>&1
rc=$?
cat "$TEST_TMP/validate"
check_eq "daemonset.yaml: schema and bpfix's rules (k8s.cjs exit status)" "$rc" 0
sed -e 's/privileged: false/privileged: true/' -e 's/hostNetwork: true/hostNetwork: "yes"/' \
	"$MANIFEST" > "$TEST_TMP/bad.yaml"
node "$K8S" "$NODE_DIR" validate "$TEST_TMP/bad.yaml" > "$TEST_TMP/bad" 2>&1
check_eq "a privileged copy with hostNetwork \"yes\" fails (exit status)" "$?" 1
check "  ... the schema names hostNetwork" grep -q 'FAIL DaemonSet bpfix: Kubernetes schema:.*hostNetwork must be boolean' "$TEST_TMP/bad"
check "  ... and bpfix's rule names privileged" grep -q 'FAIL not privileged' "$TEST_TMP/bad"

# ---- 2. podman kube play ----------------------------------------------------------
IMAGE=localhost/bpfix-test-$$
"$DEPLOY/image.sh" "$BUILD/bpfix" "$IMAGE" > /dev/null || fail "tools/deploy/image.sh failed"
defer "podman rmi -f '$IMAGE:latest' '$IMAGE:$("$BUILD/bpfix" --version | awk '{ print $2 }')'"

# The metered veth: one end in the host's namespace (the pod's, by
# hostNetwork), the other in a namespace of the test's, where ping starts.
NS_N=bpfix-$$-kp-n IF_H=kp$$h IF_N=kp$$n IP4_H=10.86.1.1 IP4_N=10.86.1.2
netns_create "$NS_N"
ip link add "$IF_H" type veth peer name "$IF_N" netns "$NS_N" || fail "cannot create veth $IF_H"
defer "ip link del '$IF_H'"
if ! { ip addr add "$IP4_H/24" dev "$IF_H" && ip link set "$IF_H" up &&
	ip -n "$NS_N" addr add "$IP4_N/24" dev "$IF_N" && ip -n "$NS_N" link set "$IF_N" up; }; then
	fail "cannot configure veth $IF_H/$IF_N"
fi

NF_PORT=$((30000 + $$ % 20000))
mkdir -p "$TEST_TMP/nfcapd"
nfcapd -b 127.0.0.1 -p "$NF_PORT" -w "$TEST_TMP/nfcapd" > "$TEST_TMP/nfcapd.log" 2>&1 &
NF_PID=$!
bg_track "$NF_PID"

POD=bpfix-test-$$
PIN=$BPFFS/bpfix-$$-kube
defer "rm -rf '$PIN'"
mkdir -p "$TEST_TMP/run-bpfix"
node "$K8S" "$NODE_DIR" pod "$MANIFEST" "$POD" > "$TEST_TMP/pod.yaml" || fail "k8s.cjs pod failed"
"$PYTHON3" - "$TEST_TMP/pod.yaml" "$TEST_TMP/play.yaml" "$IMAGE:latest" "$IF_H" \
	"udp://127.0.0.1:$NF_PORT" "$PIN" "$TEST_TMP/run-bpfix" <<'EOF' || fail "cannot adapt the pod"
import re, sys, yaml
src, dst, image, iface, collector, pin, locks = sys.argv[1:]
cm, pod = list(yaml.safe_load_all(open(src)))
cm["data"].update(BPFIX_INTERFACE=iface, BPFIX_COLLECTOR=collector)
pod["metadata"].setdefault("annotations", {})["seccomp.security.alpha.kubernetes.io/pod"] = \
    pod["spec"]["containers"][0]["securityContext"]["seccompProfile"]["type"].lower()
c = pod["spec"]["containers"][0]
c["image"] = image
args = [re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: str(cm["data"][m.group(1)]), a)
        for a in c["args"]]
i = args.index("--metrics")
del args[i:i + 2]
c["args"] = args + ["--pin-path", pin, "-v", "--idle-timeout", "1"]
for k in ("ports", "livenessProbe", "readinessProbe"):
    del c[k]
for v in pod["spec"]["volumes"]:
    if v["name"] == "locks":
        v["hostPath"]["path"] = locks
yaml.safe_dump_all([cm, pod], open(dst, "w"))
EOF
printf '[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]\n[engine]\nruntime = "runc"\n' \
	> "$TEST_TMP/containers.conf"
export CONTAINERS_CONF="$TEST_TMP/containers.conf"
defer "CONTAINERS_CONF='$CONTAINERS_CONF' podman pod rm -f -t 0 '$POD'"
podman kube play "$TEST_TMP/play.yaml" > "$TEST_TMP/play.out" 2>&1 ||
	{ cat "$TEST_TMP/play.out" >&2; fail "podman kube play failed"; }
CTR=$POD-bpfix
for _ in $(seq 150); do
	podman logs "$CTR" 2>&1 | grep -q '^bpfix: metering' && break
	sleep 0.1
done
podman logs "$CTR" > /dev/null 2> "$TEST_TMP/agent.err"
check "the pod's bpfix meters $IF_H" grep -q "^bpfix: metering $IF_H" "$TEST_TMP/agent.err" ||
	{ cat "$TEST_TMP/agent.err" >&2; fail "the pod did not start metering"; }
sleep 0.3	# privileges are dropped right after attaching
pid=$(podman inspect "$CTR" --format '{{.State.Pid}}')
check_eq "effective capabilities after attach (CAP_BPF, CAP_NET_ADMIN)" \
	"$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$pid/status")" 0000008000001000
check_eq "no_new_privs (allowPrivilegeEscalation: false)" \
	"$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "/proc/$pid/status")" 1

nsx "$NS_N" ping -c 3 -i 0.2 -q "$IP4_H" > /dev/null || fail "ping through $IF_H failed"
sleep 2	# an idle timeout and a sweep
t0=$(now_ms)
podman pod stop -t 30 "$POD" > /dev/null
info "podman pod stop took $(($(now_ms) - t0)) ms"
check_eq "exit code after podman pod stop" "$(podman inspect "$CTR" --format '{{.State.ExitCode}}')" 0
check_eq "no filter or TCX link left on $IF_H" \
	"$(tc filter show dev "$IF_H" ingress | grep -c bpfix) $("$TCX_TOOL" show "$IF_H" ingress)" "0 "
check "no pins left" test ! -e "$PIN"
stop "$NF_PID" TERM 10	# nfcapd writes its file at exit
nfdump -R "$TEST_TMP/nfcapd" -q -o raw "proto icmp and src ip $IP4_N" > "$TEST_TMP/nfdump" 2>&1
check_eq "ICMP packets nfcapd received (3 pings, both ways; nfdump)" \
	"$(awk '$1 == "in" && $2 == "packets" { n += $4 } $1 == "out" && $2 == "packets" { n += $4 }
		END { print n + 0 }' "$TEST_TMP/nfdump")" 6
test_done
