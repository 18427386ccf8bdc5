#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# An agent in a time namespace (issue 12): the kernel stamps packets with
# the host's CLOCK_MONOTONIC, the agent reads a clock shifted by its
# namespace's offset. With the offset taken out (user/clock.c), a ping of
# 5 echoes over 4 s is one record, dated now; before, it was dated a day
# off and split into one idle record a sweep (offset +1 day), or never
# idled out (offset -1 min).
#
# For each offset, bpfix runs under `unshare --time --monotonic=OFFSET
# --fork` on a quiet veth pair, -f json, idle timeout 2 s; A pings B.
#
#   env BUILD=build sh tests/ns/test_timens.sh
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}

use_python3
need_root
need_cmds ip nsenter unshare python3 ping
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
[ -e /proc/self/timens_offsets ] || skip "the kernel has no time namespaces (5.6+)"
quiet_pair tn 83 6

for off in 86400 -60; do
	info "bpfix in a time namespace, CLOCK_MONOTONIC offset $off s"
	AGENT_PIN=$BPFFS/bpfix-$$-tn$off
	AGENT_ERR=$TEST_TMP/tn$off.err AGENT_OUT=$TEST_TMP/tn$off.out
	defer "rm -rf '$AGENT_PIN'"
	nsenter --net="$NETNS_DIR/$NS_B" unshare --time --monotonic="$off" --fork -- \
		"$BPFIX" -i "$IF_B" --pin-path "$AGENT_PIN" -v -f json --idle-timeout 2 \
		--sweep-interval 200 >"$AGENT_OUT" 2>"$AGENT_ERR" &
	_un=$!
	bg_track "$_un"
	# signals go to bpfix itself, unshare's child
	for _i in $(seq 50); do
		AGENT_PID=$(pgrep -P "$_un" | head -n 1)
		[ -n "$AGENT_PID" ] && break
		sleep 0.1
	done
	[ -n "$AGENT_PID" ] || fail "no bpfix under unshare"
	agent_wait_metering "bpfix in a time namespace ($off s)"
	_t0=$(now_ms)
	ping_ok "$NS_A" 5 -i 1 "$IP4_B"
	_t1=$(now_ms)
	sleep 3.5			# idle timeout 2 s and a sweep
	kill -INT "$AGENT_PID"
	stop "$_un" - 15
	check_eq "offset $off: exit status" "$?" 0
	agent_records "tn$off"
	check_eq "offset $off: ICMP records of the 4 s ping" "$(rec_count "$RECS" protocol=1)" 1
	check_eq "offset $off: it holds both directions' echoes" \
		"$(rec_sum "$RECS" packets protocol=1) $(rec_sum "$RECS" rev_packets protocol=1)" "5 5"
	check_eq "offset $off: it ended idle" "$(rec_get "$RECS" end_reason protocol=1)" idle
	_start=$(rec_get "$RECS" start_ms protocol=1)
	_end=$(rec_get "$RECS" end_ms protocol=1)
	check "offset $off: dated within the ping ($_t0..$_t1 ms; record $_start..$_end)" \
		[ "${_start:-0}" -ge $((_t0 - 1000)) ] && [ "${_end:-0}" -le $((_t1 + 1000)) ]
	_n=$(rec_count "$RECS" protocol=1)
	reliability "agent in a time namespace, CLOCK_MONOTONIC offset $off s" \
		"a 4 s ping of 5 echoes: $_n record(s), $(rec_sum "$RECS" packets protocol=1)+$(rec_sum "$RECS" rev_packets protocol=1) packets, ended $(rec_get "$RECS" end_reason protocol=1), dated within the ping" \
		"$((10 - $(rec_sum "$RECS" packets protocol=1) - $(rec_sum "$RECS" rev_packets protocol=1)))"
done
test_done
