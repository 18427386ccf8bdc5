#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Delivery to stock collectors, BENCHMARKS.md section 6: how many records
# a second reach a stock nfcapd and a stock nfacctd (default socket
# buffers, nothing raised) without loss, and how long bpfix takes to exit
# with 100,000 and 1,000,000 flows to deliver. Each row is one run of
# tests/ns/test_stock_collectors.sh, which judges what each collector
# stored flow by flow against the pcap it sent:
#   - rates: 100,000 flows ending at once mid-run (idle timeout) and
#     200,000 at SIGTERM, with --export-rate R and --sweep-interval 100
#     (so that the pace is R itself, not a sweep's records spread over a
#     second);
#   - shutdown: N flows live at SIGTERM, bpfix's defaults.
# Rewrites only the lines between the delivery markers of BENCHMARKS.md;
# the text is also kept in BUILD/bench-delivery.md.
#
#   tools/bench_delivery.sh [BUILD]             (make bench)
#   BENCH_DELIVERY_RATES="50000 100000 200000 400000"
#   BENCH_DELIVERY_SHUTDOWN="100000 1000000"
set -u
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
doc=$here/BENCHMARKS.md
heading='## 6. Delivery to stock collectors'
out=$build/bench-delivery.md
RATES=${BENCH_DELIVERY_RATES:-50000 100000 200000 400000}
SHUTDOWN=${BENCH_DELIVERY_SHUTDOWN:-100000 1000000}
res=$build/delivery
# shellcheck source=tools/doc_section.sh
. "$here/tools/doc_section.sh"

die() { echo "bench_delivery: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (namespaces, BPF)"
[ -x "$build/bpfix" ] || die "$build/bpfix: not built (make)"
doc_markers "$doc" delivery "$heading" tools/bench_delivery.sh || exit 1
rm -rf "$res"
mkdir -p "$res"

# run NAME IDLE STOP ARGS: one test run, its output in $res/NAME.
run() {
	echo "bench_delivery: $1: $2 flows idle at once, $3 at SIGTERM, bpfix ${4:-(defaults)}" >&2
	IDLE_FLOWS=$2 STOP_FLOWS=$3 BPFIX_ARGS=$4 BUILD=$build \
		sh "$here/tests/ns/test_stock_collectors.sh" >"$res/$1" 2>&1
	echo "rc=$?" >>"$res/$1"
}

# stored FILE COLLECTOR: "stored of flows" from the judge line.
stored() {
	sed -n "s/.*$2 (stock): flow by flow against the pcap = flows \([0-9]*\) stored \([0-9]*\) missing \([0-9]*\).*/\2 \1 \3/p" \
		"$1" | head -n 1
}

row() {
	_f=$res/$1
	set -- $(stored "$_f" nfcapd)
	_nf="${1:-?} of ${2:-?}" _nfm=${3:-?}
	set -- $(stored "$_f" nfacctd)
	_pm="${1:-?} of ${2:-?}" _pmm=${3:-?}
	_seq=$(sed -n 's/.*Sequence Errors: \([0-9]*\).*/\1/p' "$_f" | tail -n 1)
	_ms=$(sed -n 's/.*bpfix exited after \([0-9]*\) ms.*/\1/p' "$_f")
	_ns=$(sed -n 's/.* not-sent \([0-9]*\) | .*/\1/p' "$_f")
	echo "$_nf | $_nfm | $_pm | $_pmm | ${_seq:-?} | ${_ms:-?} ms | ${_ns:-?}"
}

for r in $RATES; do
	run "rate-$r" 100000 200000 "--export-rate $r --sweep-interval 100"
done
for n in $SHUTDOWN; do
	run "shutdown-$n" 0 "$n" ""
done

{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\` (\`tools/bench_delivery.sh\`, each row one run of \`tests/ns/test_stock_collectors.sh\`), tree \`$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)\`; $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1 | awk '{print $1, $2}'), $(nproc) CPUs online, kernel $(uname -r); nfcapd $(nfcapd -V 2>&1 | sed -n 's/.*Version: //p'), nfacctd $(nfacctd -V 2>&1 | sed -n 's/.*nfacctd \([0-9.]*\).*/\1/p' | head -n 1); \`net.core.rmem_default\` $(cat /proc/sys/net/core/rmem_default) (the collectors' buffer: neither sets its own), load average $(cut -d' ' -f1 /proc/loadavg) at the end."
	echo
	echo "Both collectors listen at once, in the agent's namespace, with their stock settings: \`nfcapd -b 127.0.0.1 -p PORT -w DIR\`, nfacctd with a print plugin writing CSV every second. *Stored* is what the collector wrote, judged flow by flow against the pcap (each flow once, its packets and octets right); *missing* is what it never got. *not-sent* is what bpfix counted as not sent (queue full, refused, or still queued at the shutdown deadline), for both collectors together."
	echo
	echo "**Records per second that arrive whole** (100,000 flows ending in one sweep mid-run, then 200,000 at SIGTERM; \`--export-rate R --sweep-interval 100\`):"
	echo
	echo "| --export-rate | nfcapd stored | missing | nfacctd stored | missing | nfcapd sequence errors | exit after SIGTERM | not-sent |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
	for r in $RATES; do
		echo "| $r | $(row "rate-$r") |"
	done
	echo
	echo "**Shutdown** (N flows live at SIGTERM, bpfix's defaults: \`--export-rate 50000\`, \`--shutdown-timeout 25\`):"
	echo
	echo "| flows at SIGTERM | nfcapd stored | missing | nfacctd stored | missing | nfcapd sequence errors | exit after SIGTERM | not-sent |"
	echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
	for n in $SHUTDOWN; do
		echo "| $n | $(row "shutdown-$n") |"
	done
	echo
	echo "Raw output of each run: \`$res/\`."
} >"$out"
doc_splice "$doc" delivery "$out" tools/bench_delivery.sh
echo "bench_delivery: written to $doc (section 6) and $out" >&2
