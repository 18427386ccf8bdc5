#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The container image: build/bpfix (make) and the shared libraries it
# loads, copied from this machine, on an empty base (buildah from scratch):
# nothing pulled, nothing else inside but the directories bpfix expects and
# an nsswitch.conf for glibc's resolver. Not the static binary: that one
# has no --metrics (user/metrics_none.c), and the DaemonSet's probes ask
# /healthz and /readyz. A static binary given here is copied alone.
#
#   tools/deploy/image.sh [BPFIX [NAME]]
#
# NAME defaults to localhost/bpfix; tagged with bpfix --version's number
# and latest. Prints the image id. Run it as tests/deploy/test_podman.sh
# and README ("Running as a service") do.
set -eu
bin=${1:-build/bpfix}
name=${2:-localhost/bpfix}
[ -x "$bin" ] || { echo "image: $bin missing (make)" >&2; exit 1; }
version=$("$bin" --version | awk '{ print $2; exit }')
[ -n "$version" ] || { echo "image: $bin --version printed no version" >&2; exit 1; }

stage=$(mktemp -d)
ctr=
cleanup() {
	rm -rf "$stage"
	[ -z "$ctr" ] || buildah rm "$ctr" >/dev/null
}
trap cleanup EXIT INT TERM

install -D -s -m 0755 "$bin" "$stage/usr/bin/bpfix"	# no debug info in the image
# The libraries and the loader at the paths the binary asks for them
# (ldd prints "name => path (addr)" and "/lib64/ld-linux... (addr)").
ldd "$bin" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' |
while read -r lib; do
	install -D -m 0755 "$lib" "$stage$lib"
	# a library found through a symlink keeps the name it was asked by
	real=$(readlink -f "$lib")
	[ "$real" = "$lib" ] || install -D -m 0755 "$real" "$stage$real"
done
# Mount points (bpffs, the lock files' hostPath) and /tmp for nothing in
# particular but convention.
mkdir -p "$stage/sys/fs/bpf" "$stage/run/bpfix" "$stage/proc" "$stage/tmp" "$stage/etc"
chmod 1777 "$stage/tmp"
printf 'hosts: files dns\n' > "$stage/etc/nsswitch.conf"

ctr=$(buildah from scratch)
buildah copy --quiet "$ctr" "$stage" / >/dev/null
buildah config \
	--entrypoint '["/usr/bin/bpfix"]' --cmd '' \
	--stop-signal SIGTERM \
	--port 9402/tcp \
	--label org.opencontainers.image.title=bpfix \
	--label org.opencontainers.image.description="eBPF network flow meter, IPFIX exporter" \
	--label org.opencontainers.image.version="$version" \
	--label org.opencontainers.image.licenses="GPL-2.0-only OR BSD-2-Clause" \
	"$ctr"
id=$(buildah commit --quiet --rm "$ctr" "$name:$version")
ctr=
buildah tag "$name:$version" "$name:latest"
echo "$id"
