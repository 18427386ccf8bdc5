#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Install the Debian/Ubuntu packages bpfix needs to build, run and test.
#   tools/deps.sh          install what is missing (needs root)
#   tools/deps.sh --check  exit 1 if anything is missing, install nothing
#   tools/deps.sh --list   print the package names
set -eu

BUILD="clang llvm make gcc libbpf-dev libelf-dev zlib1g-dev bpftool pkg-config iproute2"
# libclang-rt-dev: libFuzzer and the sanitizer runtimes for tests/fuzz/
# (clang only recommends it, and recommends are not installed here).
TEST="libcmocka-dev python3 python3-scapy iperf3 hping3 tcpreplay tshark nfdump tmux \
libfixbuf-tools pmacct softflowd ethtool iputils-ping procps libclang-rt-dev"
BENCH="valgrind netsniff-ng"
PKGS="$BUILD $TEST $BENCH"

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
# tshark asks whether non-root users may capture; the default (no) is fine.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $todo >/dev/null
