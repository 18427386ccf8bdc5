#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Agent benchmarks, BENCHMARKS.md sections 3 (sweep scalability), 4 (export)
# and 5 (churn): runs BUILD/tests/bench_sweep, bench_export and bench_churn
# and rewrites only the lines between each section's markers. A section
# without markers gets them under its heading, in place of its "Not
# measured yet." line; markers missing on one side, doubled or out of order
# make the script refuse rather than guess. Everything else in the file,
# hand-written findings included, is left exactly as it is. The generated
# text is also kept in BUILD/bench-<section>.md.
#   tools/bench_agent.sh [BUILD] [sweep] [export] [churn]     (make bench: all)
# Environment:
#   BENCH_QUICK=1         sweep without the 4M case, churn with 3 s holds
#   BENCH_MAX_MEM_MIB=N   memory budget of a sweep case (default: half of
#                         MemAvailable; a case over it is skipped and says so)
#   BENCH_SWEEP_S=S       time budget of the sweep section (default 240 s): a
#                         case that would end past it is skipped and says so
#   BENCH_LOAD_WAIT=S     wait up to S seconds (default 30) for the 1-minute
#                         load average to drop below the CPU count first
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
sections=${*:-sweep export churn}
here=$(cd "$(dirname "$0")/.." && pwd)
doc=$here/BENCHMARKS.md
ncpu=$(nproc)
last_cpu=$((ncpu - 1))
pin=/sys/fs/bpf/bpfix-bench-$$
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -rf "$pin"' EXIT
trap 'exit 130' INT TERM

die() { echo "bench_agent: $*" >&2; exit 1; }

[ -e "$doc" ] || die "$doc: missing (tools/bench.sh creates it)"
[ "$(id -u)" = 0 ] || die "needs root (BPF maps and programs)"
mount | grep -q ' /sys/fs/bpf ' || mount -t bpf bpf /sys/fs/bpf

heading_of() {
	case $1 in
	sweep) echo "## 3. Sweep scalability" ;;
	export) echo "## 4. Export" ;;
	churn) echo "## 5. Churn" ;;
	*) die "unknown section '$1' (sweep, export, churn)" ;;
	esac
}
# shellcheck source=tools/doc_section.sh
. "$here/tools/doc_section.sh"
check_markers() { doc_markers "$doc" "$1" "$(heading_of "$1")" tools/bench_agent.sh || exit 1; }
# Replace what is between the markers of section $1 with file $2.
splice() { doc_splice "$doc" "$1" "$2" tools/bench_agent.sh; }

load1() { cut -d' ' -f1 /proc/loadavg; }

# Other work on the box skews every figure: wait a little for it to calm
# down, and say in the output what the load was either way.
wait_quiet() {
	waited=0
	limit=${BENCH_LOAD_WAIT:-30}
	while [ "$waited" -lt "$limit" ] &&
	      awk -v l="$(load1)" -v n="$ncpu" 'BEGIN { exit !(l >= n) }'; do
		[ "$waited" = 0 ] && echo "bench_agent: load average $(load1) on $ncpu CPUs; waiting up to ${limit} s" >&2
		sleep 5
		waited=$((waited + 5))
	done
}

machine() {
	cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
	rev=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\`" \
		"(\`tools/bench_agent.sh $build $1\` -> \`$2\`), tree \`$rev\`;" \
		"${cpu:-unknown CPU}, $ncpu CPUs online, kernel $(uname -r)," \
		"$(gcc --version | head -n 1), libbpf $(pkg-config --modversion libbpf 2>/dev/null || echo '?')."
}

run_section() {
	s=$1
	check_markers "$s"
	case $s in
	sweep)
		if [ "${BENCH_QUICK:-0}" = 1 ]; then n=10k,100k,1M; else n=10k,100k,1M,4M; fi
		cmd="$build/tests/bench_sweep -r 3 -P 1 -c $last_cpu -n $n -k 100k -C 131072,1048576,4194304 -T ${BENCH_SWEEP_S:-240}"
		[ -n "${BENCH_MAX_MEM_MIB:-}" ] && cmd="$cmd -m $BENCH_MAX_MEM_MIB"
		what="sweep scalability (at most ${BENCH_SWEEP_S:-240} s and the time to free the tables)"
		;;
	export)
		cmd="$build/tests/bench_export -c $last_cpu -r 5 -t 200 -n 20000"
		what="export (about half a minute)"
		;;
	churn)
		if [ "${BENCH_QUICK:-0}" = 1 ]; then d=3; else d=4; fi
		cmd="$build/tests/bench_churn -a 0 -g $last_cpu -d $d 65536:1000 65536:100"
		what="churn (about 3 minutes)"
		;;
	esac
	bin=${cmd%% *}
	[ -x "$bin" ] || die "$bin: not built (make $bin)"
	[ "$ncpu" -ge 2 ] || [ "$s" != churn ] || die "churn needs two CPUs (agent and generator)"
	wait_quiet
	l0=$(load1)
	echo "bench_agent: $what" >&2
	# shellcheck disable=SC2086
	if [ "$s" = export ]; then $cmd > "$tmp/raw"; else $cmd -p "$pin" > "$tmp/raw"; fi
	l1=$(load1)
	out=$build/bench-$s.md
	{
		machine "$s" "$cmd"
		echo
		echo "Load average (1 min) $l0 before, $l1 after: other work on this machine" \
			"slows wall time more than CPU time."
		echo
		method_$s
		echo
		cat "$tmp/raw"
	} > "$out"
	splice "$s" "$out"
	echo "bench_agent: $s written to $doc and $out" >&2
}

method_sweep() {
	cat <<'EOF'
**Method** (`tests/bench_sweep.c`). The agent's own code throughout:
`agent_start()` loads the skeleton with `--flows` = capacity (both kernel
tables and the agent's table), pins under a private path, attaches nothing
and exports IPFIX to `file:/dev/null`. The table the current epoch names is
filled from userspace with `bpf_map_update_batch()` (per-CPU values: one
64-byte `struct flow_counters` per possible CPU), N flows = N/2
conversations in both directions (the agent pairs each into one biflow
entry), 3/4 IPv4, 1/4 IPv6, TCP and UDP, each direction's counters in one
CPU's slot. After a warm-up sweep (memory touched as in a running agent),
`agent_sweep()` itself is timed (flip, batch lookup-and-delete, per-CPU
merge, `flowtab_add()`, stats, `flowtab_expire()`, output tick) in wall
time and process CPU time (user + system from `getrusage`), three sweeps,
median. The same sweep is then taken apart with the agent's public
functions, and `meter_drain()` run once with a callback that does nothing,
for the kernel's share. Every drain must return exactly N flows and the
agent's table must hold N/2 conversations, or the run fails. One process
pinned to one CPU. The capacity cases run first, then the flows in
increasing order; a case that would end past the time budget (`-T`,
judged by the per-flow pace so far) or need more than half the available
memory is skipped, and the table says so. Memory: the kernel's own count
for each flow table (`memlock` in the map's fdinfo, what `bpftool map show`
prints), and the growth of `Percpu` in `/proc/meminfo` across
`agent_start()`. The agent's table is its journal (`user/journal.h`, an
mmapable BPF array, so that a killed agent's successor finds it), and the
drain prefetches the table's bucket and entry 16 flows ahead
(`flowtab_prefetch()`; `bench_sweep -A` measures without it).

**Why 1M flows take more than 0.3 s here.** The kernel's share alone (the
*kernel only* column: `BPF_MAP_LOOKUP_AND_DELETE_BATCH` on the LRU per-CPU
hash, copying every possible CPU's value out) costs 450-850 ns per flow on
this VM, whatever the batch size, and plain `PERCPU_HASH` or a lookup
without delete measured no better: each flow is a bucket, an element and a
per-CPU value per possible CPU, all cache misses in tables of hundreds of
MB. That is 0.45-0.85 s for 1M flows before the agent does anything, and
the kernel runs one batch call at a time. The agent's share (merge, table
insert, journal) is 200-400 ns per flow with the prefetch. On these 2 CPUs
even a drain thread and a fold thread in parallel would leave the sweep at
the kernel's share, above the goal.
EOF
}

method_export() {
	cat <<'EOF'
**Method** (`tests/bench_export.c`). The encoder of `user/ipfix.h` into a
memory buffer: `ipfix_msg_add_flow()` per record, and when a record does
not fit, `ipfix_msg_finish()` + `ipfix_msg_reset()` as the exporter does;
nothing is sent. 1024 distinct records per kind (TCP, UDP, ICMP; some
VLAN-tagged), and the mix of the four kinds in turn. Also the whole IPFIX
output (`output_ipfix_open("file:/dev/null")` and its `record()` callback:
encoder, message flushes, stdio writes), and the stdout output's
`flow_format_text()` / `flow_format_json()` into a buffer. One CPU;
calibrated runs of about 200 ms, median of 5. Instructions per record: the
program re-runs itself under `valgrind --tool=callgrind
--collect-atstart=no` with `CALLGRIND_TOGGLE_COLLECT` around the loop only,
and divides the Ir total by the records; callgrind's function list tells
whether an allocator ran inside the loop.
EOF
}

method_churn() {
	cat <<'EOF'
**Method** (`tests/bench_churn.c`). The real programs and the real agent:
`agent_start()` (no interface attached, IPFIX to `file:/dev/null`) and the
loop of `user/main.c` (sleep to the next sweep, `agent_sweep()`, the next
sweep one interval later, or a quarter of it when the agent sets `hurry`)
on one CPU; on the other, a generator thread runs `bpfix_xdp` through
`BPF_PROG_TEST_RUN`, one 60-byte IPv4/UDP frame per new flow (source
address and port counting up), paced to a target rate that ramps up over
five sweep intervals and then holds for a few seconds. After the run two
more sweeps drain both tables; the kernel's count of flows created
(`table_flows_*`) is compared with what the agent drained, the difference
being the LRU's evictions (the agent's own lost-flow count). Rates go up by
1.5x from 20k/s to the first loss (or to what the generator reaches), then
bisect three times.
EOF
}

for s in $sections; do
	run_section "$s"
done
