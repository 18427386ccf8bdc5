#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Hot-path benchmark, BENCHMARKS.md section 1: runs BUILD/tests/bench_prog
# (bpfix vs the reference program through BPF_PROG_TEST_RUN) and rewrites
# only the lines between the hot-path markers of BENCHMARKS.md. Other
# sections belong to other benchmarks and are left exactly as they are.
# The generated text is also kept in BUILD/bench-hot-path.md.
#   tools/bench.sh [BUILD] [bench_prog options]     (make bench)
set -eu
build=${1:-build}
[ $# -gt 0 ] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
doc=$here/BENCHMARKS.md
begin='<!-- hot-path:begin (written by tools/bench.sh; edits here are lost) -->'
end='<!-- hot-path:end -->'
bench=$build/tests/bench_prog
out=$build/bench-hot-path.md

if [ ! -x "$bench" ]; then
	echo "bench: $bench: not built (make $bench)" >&2
	exit 1
fi

# A fresh BENCHMARKS.md gets every section's heading, so later benchmarks
# only have to fill in their own part.
if [ ! -e "$doc" ]; then
	cat > "$doc" <<EOF
# bpfix benchmarks

Run with \`make bench\` (as root). Each section is written by its own tool
between marker comments; text outside the markers is kept as it is.

## 1. Hot path

$begin
$end

## 2. Against peers on the wire

Not measured yet.

## 3. Sweep scalability

Not measured yet.

## 4. Export

Not measured yet.

## 5. Churn

Not measured yet.
EOF
fi

# Refuse to guess where the section is: with the markers missing or
# doubled, rewriting would eat someone else's text.
nb=$(grep -cxF "$begin" "$doc" || true)
ne=$(grep -cxF "$end" "$doc" || true)
if [ "$nb" != 1 ] || [ "$ne" != 1 ] ||
   [ "$(grep -nxF "$begin" "$doc" | cut -d: -f1)" -gt "$(grep -nxF "$end" "$doc" | cut -d: -f1)" ]; then
	echo "bench: $doc: needs exactly one '$begin' line before one '$end' line" >&2
	exit 1
fi

raw=$(mktemp)
trap 'rm -f "$raw" "$raw.doc"' EXIT
echo "bench: hot path (about a minute; progress below)" >&2
"$bench" "$@" > "$raw"

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
hz=$( (zcat /proc/config.gz 2>/dev/null || cat "/boot/config-$(uname -r)" 2>/dev/null) |
	sed -n 's/^CONFIG_HZ=//p')
clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)
rev=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make bench\`" \
		"(\`tools/bench.sh\` -> \`$bench${*:+ $*}\`), tree \`$rev\`."
	echo
	echo "- CPU: ${cpu:-unknown}, $(nproc) CPUs online"
	echo "- kernel $(uname -r), clocksource $clocksource${hz:+, HZ=$hz}"
	echo "- $(clang --version | head -n 1), libbpf $(pkg-config --modversion libbpf 2>/dev/null || echo '?')"
	echo
	cat "$raw"
} > "$out"

# Copy over the old file rather than renaming a temporary one, so its
# owner and mode stay what they were.
awk -v b="$begin" -v e="$end" -v f="$out" '
	$0 == b { print; print ""; while ((getline line < f) > 0) print line; print ""; skip = 1; next }
	$0 == e { skip = 0 }
	!skip { print }' "$doc" > "$raw.doc"
cat "$raw.doc" > "$doc"
echo "bench: hot path written to $doc (section 1) and $out" >&2
