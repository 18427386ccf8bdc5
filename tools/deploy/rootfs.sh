#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# A minimal Debian bookworm root file system for booting the systemd unit in
# systemd-nspawn (tests/deploy/test_systemd.sh): variant minbase, with
# systemd, iproute2 and the shared libraries build/bpfix links against
# (their packages found with dpkg -S, so a new library needs no edit here).
#
#   tools/deploy/rootfs.sh BPFIX OUTDIR
#
# The mirror is the one this machine's apt uses (sources.list, or a .list or
# deb822 .sources file in sources.list.d): whatever host or proxy that is.
# OUTDIR is rebuilt only when the package list changes (OUTDIR.pkgs holds
# it), so reruns take no network and no time; tests boot copies of it.
set -eu
bpfix=$1 out=$2
suite=bookworm

# mirror: the first URI of a "main" Debian source for $suite (not -security,
# not -updates), one-line or deb822 format.
mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '$1 == "deb" {
			i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == s) { print $i; exit } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		# One stanza per paragraph: URIs and Suites lines.
		awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" } {
			uri = ""; ok = 0; deb = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^Types:.*(^|[ \t])deb([ \t]|$)/) deb = 1
				if ($i ~ /^URIs:/) { split($i, u, /[ \t]+/); uri = u[2] }
				if ($i ~ /^Suites:/) { n = split($i, w, /[ \t]+/); for (j = 2; j <= n; j++) if (w[j] == s) ok = 1 }
			}
			if (deb && ok && uri != "") { print uri; exit } }' "$f"
	done
}
url=$(mirror | head -n 1)
[ -n "$url" ] || { echo "rootfs: no Debian $suite source in /etc/apt" >&2; exit 1; }

# The packages of the libraries bpfix loads (libc6 is in minbase anyway).
libs=$(ldd "$bpfix" | awk '$3 ~ /^\// { print $3 }' | while read -r lib; do
	dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib"
done | cut -d: -f1 | sort -u | tr '\n' ' ')
pkgs=$(echo "systemd systemd-sysv iproute2 $libs" | tr ' ' '\n' | grep . | sort -u | tr '\n' ',')
pkgs=${pkgs%,}

if [ -d "$out" ] && [ "$(cat "$out.pkgs" 2>/dev/null)" = "$suite $url $pkgs" ]; then
	exit 0
fi
echo "rootfs: mmdebstrap $suite from $url with $pkgs" >&2
mkdir -p "$(dirname "$out")"
rm -rf "$out" "$out.tmp" "$out.pkgs"
# shellcheck disable=SC2016 # the hooks expand $1 (the root) themselves
mmdebstrap --quiet --variant=minbase --include="$pkgs" \
	--customize-hook='echo bpfix-test > "$1/etc/hostname"' \
	--customize-hook='rm -f "$1/etc/machine-id"; touch "$1/etc/machine-id"' \
	"$suite" "$out.tmp" "$url"
mv "$out.tmp" "$out"
echo "$suite $url $pkgs" > "$out.pkgs"
