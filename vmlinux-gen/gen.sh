#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Write vmlinux.h for the BPF programs to $1.
#
# From the running kernel's BTF when it has one; otherwise the copy kept in
# this folder (generated from a 6.18 kernel). The programs use only UAPI types
# (xdp_md, __sk_buff, protocol headers), whose layout every kernel keeps, so
# either header builds the same objects; the kept copy lets hosts without
# BTF (build containers, chroots) build.
set -eu
out=$1
here=$(dirname "$0")
btf=${VMLINUX_BTF:-/sys/kernel/btf/vmlinux}
if [ -r "$btf" ] && command -v bpftool >/dev/null 2>&1; then
	bpftool btf dump file "$btf" format c > "$out.tmp"
	mv "$out.tmp" "$out"
elif [ -r "$here/vmlinux.h" ]; then
	echo "vmlinux-gen: no $btf, using the kept $here/vmlinux.h" >&2
	cp "$here/vmlinux.h" "$out"
else
	echo "vmlinux-gen: neither $btf nor $here/vmlinux.h: cannot build the BPF programs" >&2
	exit 1
fi
