#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Outputs that stall or fail (issue 12): a write never stops metering or a
# signal, what cannot be written is counted as not sent, a reader that goes
# away ends the agent, a persistent error is one line and exit status 1,
# and an IPFIX file stays decodable through a full disk.
#
# bpfix meters a quiet veth pair in JSON mode (or IPFIX to file:) while
# lib.sh's `flows` sends one-datagram UDP flows across it:
#   1. `bpfix | head -3`: the agent ends by itself once head has gone,
#      saying why, exit 0;
#   2. stdout into a FIFO whose reader (cat) is stopped: sweeps go on, the
#      lines that do not fit are counted as not sent, SIGTERM ends it in
#      time, and what cat finally prints is exactly what the agent says it
#      sent;
#   3. stdout to /dev/full, and -c file:/dev/full: one error line each,
#      every record counted as not sent, exit 1;
#   4. -c file:FIFO nobody reads: an error at start, at once (it used to
#      block for ever), exit 1; with a stopped reader: as 2;
#   5. -c file: on a 256 KiB tmpfs that fills up, then gets room again:
#      ipfixDump decodes the whole file without a complaint, and it holds
#      exactly the records the agent counted as sent;
#   6. stdout into a stopped reader, SIGKILL, restart with -c file: on the
#      same pins: what stdout never sent is said as stdout's (an output
#      the new agent does not have), not reported by the file: output,
#      and what the reader got plus that is every flow.
#
#   env BUILD=build sh tests/ns/test_outputs.sh
# shellcheck source=tests/ns/lib.sh
. "$(dirname "$0")/lib.sh"

BPFIX=${BPFIX:-$BUILD/bpfix}
SINK_PORT=9
ARGS="-m tc --idle-timeout 1 --active-timeout 2 --sweep-interval 100"

use_python3
need_root
need_cmds ip nsenter python3 ipfixDump mkfifo timeout curl
need_bpffs
need_file "$BPFIX" "run make $BPFIX"
ipfix_test_setup
quiet_pair op 82 5
NSB=$NETNS_DIR/$NS_B

# run_bpfix TAG ARGS...: bpfix -v on IF_B in NS_B in the background, stdout
# as set up by the caller (OUT), stderr to TAG.err; AGENT_PID, AGENT_ERR,
# AGENT_PIN as agent_start sets them.
run_bpfix() {
	_rb_tag=$1
	shift
	AGENT_PIN=$BPFFS/bpfix-$$-$_rb_tag
	AGENT_ERR=$TEST_TMP/$_rb_tag.err
	defer "rm -rf '$AGENT_PIN'"
	# shellcheck disable=SC2086 # ARGS is words
	nsenter --net="$NSB" "$BPFIX" -i "$IF_B" --pin-path "$AGENT_PIN" -v $ARGS "$@" \
		>"$OUT" 2>"$AGENT_ERR" &
	AGENT_PID=$!
	bg_track "$AGENT_PID"
	agent_wait_metering "bpfix $*"
}

# wait_exit SECONDS: wait for AGENT_PID to exit by itself; sets RC (or
# fails after SECONDS).
wait_exit() {
	_we_i=0
	while proc_alive "$AGENT_PID"; do
		_we_i=$((_we_i + 1))
		if [ "$_we_i" -ge $(($1 * 10)) ]; then
			kill -KILL "$AGENT_PID"
			fail "bpfix did not exit within $1 s"
		fi
		sleep 0.1
	done
	wait "$AGENT_PID"
	RC=$?
	bg_untrack "$AGENT_PID"
}

# flow_records DUMP: data records of the flow templates (256-261) in
# ipfixDump's text.
flow_records() {
	awk '/^--- data record/ { d = 1; next }
	     d && match($0, /tid: *[0-9]+/) {
		t = substr($0, RSTART, RLENGTH); sub(/tid: */, "", t)
		if (t + 0 < 262) n++
		d = 0 }
	     END { print n + 0 }' "$1"
}

# ---- 1. bpfix | head -3 --------------------------------------------------
info "1. bpfix -f json | head -3"
mkfifo "$TEST_TMP/head.fifo"
head -n 3 <"$TEST_TMP/head.fifo" >"$TEST_TMP/head.out" &
HEAD_PID=$!
bg_track "$HEAD_PID"
OUT=$TEST_TMP/head.fifo
run_bpfix head -f json
flows 200 20000 10
wait_exit 15
check_eq "bpfix | head -3: exit status once head has gone" "$RC" 0
check_eq "head printed" "$(grep -c '^{' "$TEST_TMP/head.out")" 3
check "bpfix says its reader left and why it stops" \
	grep -q -e 'stdout: closed by its reader' "$AGENT_ERR"
check "... and that no output is left" grep -q 'no output left' "$AGENT_ERR"

# ---- 2. a stopped reader -------------------------------------------------
# stalled_reader TAG ARGS...: a FIFO read by a cat that is stopped at once;
# the agent (ARGS) writes into it while 3000 flows cross the link.
stalled() {
	_sr_tag=$1
	shift
	rm -f "$TEST_TMP/$_sr_tag.fifo"
	mkfifo "$TEST_TMP/$_sr_tag.fifo"
	cat <"$TEST_TMP/$_sr_tag.fifo" >"$TEST_TMP/$_sr_tag.got" &
	CAT_PID=$!
	bg_track "$CAT_PID"
	# cat opens the FIFO once bpfix does: stop it after it has
	sleep 0.2
	case $* in
	*file:*) OUT=/dev/null ;;
	*) OUT=$TEST_TMP/$_sr_tag.fifo ;;
	esac
	run_bpfix "$_sr_tag" "$@"
	_t0=$(now_ms)
	kill -STOP "$CAT_PID"
	flows 3000 21000 200
	sleep 3
	_t=$(now_ms)
	kill -TERM "$AGENT_PID"
	wait_exit 40
	_ms=$(($(now_ms) - _t))
	check_eq "$_sr_tag: exit status after SIGTERM, reader stopped" "$RC" 0
	check "$_sr_tag: SIGTERM honoured within --shutdown-timeout ($_ms ms)" [ "$_ms" -le 30000 ]
	kill -CONT "$CAT_PID"
	stop "$CAT_PID" - 10
	grep '^bpfix exit: ' "$AGENT_ERR" | sed 's/^/  /'
	# a sweep every 100 ms while the reader was stopped: half of them at
	# least (a blocked write used to stop them all)
	_want=$(( (_t - _t0) / 100 / 2 ))
	check "$_sr_tag: sweeps went on while the reader was stopped" \
		[ "$(exit_counter sweeps)" -ge "$_want" ]
}

info "2. stdout into a FIFO whose reader is stopped"
stalled pipe -f json --shutdown-timeout 2
check "pipe: records were counted as not sent" [ "$(exit_counter not_sent)" -gt 0 ]
check_eq "pipe: lines the reader got = records the agent says it sent" \
	"$(grep -c '^{' "$TEST_TMP/pipe.got")" "$(exit_counter exported)"
check_eq "pipe: sent + not sent = records" \
	"$(($(exit_counter exported) + $(exit_counter not_sent)))" "$(exit_counter records)"
reliability "stdout reader stopped (SIGSTOP) under 3000 flows" \
	"$(exit_counter records) records: $(exit_counter exported) read, $(exit_counter not_sent) counted not sent; SIGTERM honoured" \
	"$(($(exit_counter records) - $(exit_counter exported) - $(exit_counter not_sent)))"

# ---- 3. /dev/full ----------------------------------------------------------
info "3. /dev/full as stdout and as file:"
OUT=/dev/full
run_bpfix full -f json
flows 50 22000 10
sleep 1.5
kill -TERM "$AGENT_PID"
wait_exit 15
check_eq "stdout /dev/full: exit status" "$RC" 1
check_eq "stdout /dev/full: error lines" \
	"$(grep -c 'stdout: No space left on device: records are counted as not sent' "$AGENT_ERR")" 1
check "stdout /dev/full: nothing counted as sent" [ "$(exit_counter exported)" = 0 ]
check_eq "stdout /dev/full: all counted as not sent" "$(exit_counter not_sent)" \
	"$(exit_counter records)"

OUT=/dev/null
run_bpfix fullfile -c file:/dev/full
flows 50 22100 10
sleep 1.5
kill -TERM "$AGENT_PID"
wait_exit 15
check_eq "file:/dev/full: exit status" "$RC" 1
check_eq "file:/dev/full: error lines" \
	"$(grep -c 'file:/dev/full: No space left on device: records are counted as not sent' "$AGENT_ERR")" 1
check_eq "file:/dev/full: all counted as not sent" "$(exit_counter not_sent)" \
	"$(exit_counter records)"

# ---- 4. file: on a FIFO ---------------------------------------------------
info "4. -c file:FIFO"
mkfifo "$TEST_TMP/noreader.fifo"
_t=$(now_ms)
nsenter --net="$NSB" timeout 10 "$BPFIX" -i "$IF_B" --pin-path "$BPFFS/bpfix-$$-nr" \
	-c "file:$TEST_TMP/noreader.fifo" >/dev/null 2>"$TEST_TMP/nr.err"
RC=$?
check_eq "file:FIFO nobody reads: exit status, at once ($(($(now_ms) - _t)) ms)" "$RC" 1
check_eq "file:FIFO nobody reads: the error" "$(cat "$TEST_TMP/nr.err")" \
	"bpfix: file:$TEST_TMP/noreader.fifo: a FIFO nobody reads: start its reader first"
stalled ffifo -c "file:$TEST_TMP/ffifo.fifo" --shutdown-timeout 2
check "file:FIFO: records were counted as not sent" [ "$(exit_counter not_sent)" -gt 0 ]
ipfixDump --in "$TEST_TMP/ffifo.got" >"$TEST_TMP/ffifo.dump" 2>"$TEST_TMP/ffifo.dumperr"
check_eq "file:FIFO: ipfixDump decodes what the reader got: complaints" \
	"$(grep -c . "$TEST_TMP/ffifo.dumperr")" 0
check_eq "file:FIFO: flow records in it = records the agent says it sent" \
	"$(flow_records "$TEST_TMP/ffifo.dump")" "$(exit_counter exported)"

# ---- 5. a full disk ---------------------------------------------------------
info "5. -c file: on a tmpfs that fills up"
mkdir -p "$TEST_TMP/small"
mount -t tmpfs -o size=256k tmpfs "$TEST_TMP/small" || fail "cannot mount a tmpfs"
defer "umount '$TEST_TMP/small'"
OUT=/dev/null
run_bpfix disk -c "file:$TEST_TMP/small/flows.ipfix"
# the file takes some records, then the disk is full: a filler takes the rest
dd if=/dev/zero of="$TEST_TMP/small/filler" bs=4k count=40 2>/dev/null
flows 400 23000 100
sleep 1.5
dd if=/dev/zero of="$TEST_TMP/small/filler2" bs=4k 2>/dev/null
flows 600 23500 100
sleep 1.5
rm -f "$TEST_TMP/small/filler" "$TEST_TMP/small/filler2"
flows 300 24200 100
sleep 1.5
kill -TERM "$AGENT_PID"
wait_exit 15
check_eq "full disk: exit status (writes worked again)" "$RC" 0
check "full disk: the error was said" grep -q 'No space left on device' "$AGENT_ERR"
check "full disk: and that writes work again" grep -q 'writes work again' "$AGENT_ERR"
check "full disk: some records were not sent" [ "$(exit_counter not_sent)" -gt 0 ]
ipfixDump --in "$TEST_TMP/small/flows.ipfix" >"$TEST_TMP/disk.dump" 2>"$TEST_TMP/disk.dumperr"
check_eq "full disk: ipfixDump's complaints about the file" \
	"$(grep -c . "$TEST_TMP/disk.dumperr")" 0
sed 's/^/    /' "$TEST_TMP/disk.dumperr" | head -n 5
check_eq "full disk: flow records in the file = records the agent says it sent" \
	"$(flow_records "$TEST_TMP/disk.dump")" "$(exit_counter exported)"
reliability "file: on a 256 KiB tmpfs that fills up and frees" \
	"$(exit_counter records) records: $(flow_records "$TEST_TMP/disk.dump") decodable in the file, $(exit_counter not_sent) counted not sent" \
	"$(($(exit_counter records) - $(flow_records "$TEST_TMP/disk.dump") - $(exit_counter not_sent)))"

# ---- 6. SIGKILL, then other outputs ------------------------------------------
info "6. stdout stuck at a SIGKILL; the next agent has -c file: only"
rm -f "$TEST_TMP/kill.fifo"
mkfifo "$TEST_TMP/kill.fifo"
cat <"$TEST_TMP/kill.fifo" >"$TEST_TMP/kill.got" &
CAT_PID=$!
bg_track "$CAT_PID"
sleep 0.2
OUT=$TEST_TMP/kill.fifo
run_bpfix kill -f json --metrics 127.0.0.1:9402
kill -STOP "$CAT_PID"
flows 600 25000 300
sleep 2.5	# every flow idle (1 s) and handed to stdout, most of it queued
HANDED=$(nsx "$NS_B" curl -s http://127.0.0.1:9402/metrics |
	awk '$1 == "bpfix_records_total" { print $2 }')
kill -KILL "$AGENT_PID"
wait "$AGENT_PID" 2>/dev/null
bg_untrack "$AGENT_PID"
kill -CONT "$CAT_PID"
stop "$CAT_PID" - 10
OUT=/dev/null
run_bpfix kill -c "file:$TEST_TMP/after.ipfix"
kill -TERM "$AGENT_PID"
wait_exit 15
check_eq "after SIGKILL: exit status" "$RC" 0
sed -n '/earlier agent/s/^/  /p' "$AGENT_ERR"
ORPHAN=$(sed -n "s/^bpfix: stdout (an earlier agent's output, not one of this agent's): \([0-9]*\) records.*/\1/p" "$AGENT_ERR")
check "after SIGKILL: stdout's loss is said as stdout's" [ "${ORPHAN:-0}" -gt 0 ]
check "after SIGKILL: ... and not reported by the file: output" \
	sh -c "! grep -q '^bpfix: file:.*an earlier agent handed it were never sent' '$AGENT_ERR'"
check "after SIGKILL: stdout was handed every flow ($HANDED records)" \
	[ "${HANDED:-0}" -ge 600 ]
check_eq "after SIGKILL: lines the reader got + stdout's loss = records it was handed" \
	"$(($(grep -c '^{' "$TEST_TMP/kill.got") + ${ORPHAN:-0}))" "${HANDED:-?}"
check_eq "after SIGKILL: the file: output counts nothing as not sent" \
	"$(exit_counter not_sent)" 0
reliability "SIGKILL with stdout's reader stopped, restart with -c file: only" \
	"$(grep -c '^{' "$TEST_TMP/kill.got") read, ${ORPHAN:-0} said as stdout's (not the file's)" \
	"$((${HANDED:-0} - $(grep -c '^{' "$TEST_TMP/kill.got") - ${ORPHAN:-0}))"

test_done
