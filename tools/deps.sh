#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install the Debian/Ubuntu packages bpfix needs to build, run and test.
#   tools/deps.sh          install what is missing (needs root)
#   tools/deps.sh --check  exit 1 if anything is missing, install nothing
#   tools/deps.sh --list   print the package names
#   tools/deps.sh --deploy [--check|--list]   the same for make test-deploy
#                          (systemd-nspawn, mmdebstrap, podman, buildah, the
#                          arm64 cross toolchain and libraries, node and npm)
set -eu

# libmicrohttpd-dev: the --metrics HTTP server (user/metrics.c).
BUILD="clang llvm make gcc libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config iproute2 \
libmicrohttpd-dev"
# libclang-rt-dev: libFuzzer and the sanitizer runtimes for tests/fuzz/
# (clang only recommends it, and recommends are not installed here).
# prometheus: promtool and a real server scraping --metrics (test_metrics);
# curl fetches the endpoints; tmux runs bpfix top in a terminal (test_liveview);
# strace delays a system call to open a race's window (test_pin_race);
# xdp-tools' xdp-loader puts another owner's program on an XDP hook the
# way libxdp users do (test_coexist).
# postgresql: the database behind nfacctd's pgsql plugin (test_fleet_db
# runs a cluster of its own with initdb and pg_ctl; psql queries it).
TEST="libcmocka-dev python3 python3-scapy iperf3 hping3 tcpreplay tshark nfdump tmux \
libfixbuf-tools pmacct softflowd ethtool iputils-ping procps libclang-rt-dev \
prometheus curl strace xdp-tools postgresql"
BENCH="valgrind netsniff-ng"
PKGS="$BUILD $TEST $BENCH"
# make test-deploy (tests/deploy/): a few hundred MB, so only on request.
# catatonit: podman kube play builds its pause image from it (only a
# recommends of podman, and recommends are not installed here).
# arm64 packages need the architecture added (done below when installing).
DEPLOY="systemd-container mmdebstrap podman buildah runc conmon uidmap catatonit fuse-overlayfs \
containernetworking-plugins libfixbuf-tools nfdump iproute2 iputils-ping python3-yaml \
qemu-user-static crossbuild-essential-arm64 libbpf-dev:arm64 libelf-dev:arm64 zlib1g-dev:arm64"
if [ "${1:-}" = --deploy ]; then
	shift
	PKGS="$BUILD $DEPLOY"
	# node and npm (the DaemonSet's schema check): Debian's, unless some
	# other node is installed already.
	command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
fi

missing() {
	for p in $PKGS; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q "install ok installed" ||
			echo "$p"
	done
}

case "${1:-}" in
--list)	echo "$PKGS" | tr ' ' '\n'; exit 0 ;;
--check) [ -z "$(missing)" ]; exit $? ;;
esac

todo=$(missing)
[ -z "$todo" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: $todo; run as root (or: sudo $0)" >&2
	exit 1
fi
echo "deps: installing $(echo $todo)" >&2
export DEBIAN_FRONTEND=noninteractive
case $todo in
*:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64 ;;
esac
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $todo >/dev/null
