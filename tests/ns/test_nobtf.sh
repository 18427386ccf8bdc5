#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# A kernel without BTF (issue 12): the README says the programs need none
# (they read only UAPI types and packet bytes), but they carried 162 CO-RE
# relocations from vmlinux.h's preserve_access_index, and libbpf then
# refused to load them without /sys/kernel/btf/vmlinux ("No such
# process"). Built with BPF_NO_PRESERVE_ACCESS_INDEX they have none.
#
# In a mount namespace of its own, an empty tmpfs over /sys/kernel/btf
# hides the kernel's BTF; bpfix meters a quiet veth pair there, a ping's
# echoes are in its JSON records, and libbpf's log (-vv) shows no CO-RE
# relocation.
#
#   env BUILD=build sh tests/ns/test_nobtf.sh
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}

use_python3
need_root
need_cmds ip nsenter unshare ping
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
quiet_pair nb 85 8
PIN=$BPFFS/bpfix-$$-nobtf
defer "rm -rf '$PIN'"
OUT=$TEST_TMP/nobtf.out ERR=$TEST_TMP/nobtf.err

# the agent, in a mount namespace where the kernel has no BTF to offer
unshare -m sh -c '
	mount -t tmpfs none /sys/kernel/btf || exit 99
	[ -e /sys/kernel/btf/vmlinux ] && exit 98
	exec nsenter --net="$1" "$2" -i "$3" --pin-path "$4" -vv -f json --idle-timeout 1 \
		--sweep-interval 200' nobtf "$NETNS_DIR/$NS_B" "$BPFIX" "$IF_B" "$PIN" \
	>"$OUT" 2>"$ERR" &
AGENT_PID=$!
bg_track "$AGENT_PID"
AGENT_ERR=$ERR
agent_wait_metering "bpfix without kernel BTF"
ping_ok "$NS_A" 3 "$IP4_B"
sleep 2
kill -INT "$AGENT_PID"
stop "$AGENT_PID" - 15
check_eq "exit status" "$?" 0
check_eq "libbpf's CO-RE relocations" "$(grep -c 'CO-RE relocating' "$ERR")" 0
check "libbpf did not look for the kernel's BTF" sh -c "! grep -q 'Error loading vmlinux BTF' '$ERR'"
AGENT_OUT=$OUT
agent_records nobtf
check_eq "ICMP echo packets both ways" \
	"$(rec_sum "$RECS" packets protocol=1) $(rec_sum "$RECS" rev_packets protocol=1)" "3 3"
reliability "a kernel without BTF (tmpfs over /sys/kernel/btf)" \
	"loads with $(grep -c 'CO-RE relocating' "$ERR") CO-RE relocations; 3 pings: $(rec_sum "$RECS" packets protocol=1)+$(rec_sum "$RECS" rev_packets protocol=1) echo packets metered" \
	"$((6 - $(rec_sum "$RECS" packets protocol=1) - $(rec_sum "$RECS" rev_packets protocol=1)))"
test_done
