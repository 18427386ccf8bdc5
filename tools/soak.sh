#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The long reliability runs (make soak): every namespace suite
# tests/ns/test_*.sh with SOAK=1 (a suite with a long variant runs it, the
# others run as in make test), then every executable tools/soak.d/*.sh,
# given BUILD (where other long runs hook in). Each line a suite prints as
# "reliability: CASE | HELD | LOST" (tests/ns/lib.sh's reliability) becomes
# one row of the table in RELIABILITY.md, between the soak markers, with
# the command that reproduces it and its suite's verdict; text outside the
# markers is kept as it is. The whole log is kept in BUILD/soak.log, the
# generated section in BUILD/soak.md.
#   tools/soak.sh [BUILD] [PATTERN...]     (make soak; as root)
# With PATTERNs only the suites whose name holds one of them run, and in
# RELIABILITY.md only their rows are replaced (the others stay as the last
# run measured them), with a line saying which suites were re-measured
# when; the section for them alone goes to BUILD/soak.md.
# Exit status 1 if a suite failed or a row lost records silently.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
pattern=$*
here=$(cd "$(dirname "$0")/.." && pwd)
doc=$here/RELIABILITY.md
begin='<!-- soak:begin (written by tools/soak.sh; edits here are lost) -->'
end='<!-- soak:end -->'
log=$build/soak.log
out=$build/soak.md

if [ ! -x "$build/bpfix" ]; then
	echo "soak: $build/bpfix: not built (make)" >&2
	exit 1
fi

if [ ! -e "$doc" ] && [ -z "$pattern" ]; then
	cat > "$doc" <<EOF
# bpfix reliability

Run with \`make soak\` (as root). The table is written by \`tools/soak.sh\`
between marker comments; text outside the markers is kept as it is.

$begin
$end
EOF
fi

# Refuse to guess where the section is: with the markers missing or
# doubled, rewriting would eat someone else's text.
if :; then
	nb=$(grep -cxF "$begin" "$doc" || true)
	ne=$(grep -cxF "$end" "$doc" || true)
	if [ "$nb" != 1 ] || [ "$ne" != 1 ] ||
	   [ "$(grep -nxF "$begin" "$doc" | cut -d: -f1)" -gt "$(grep -nxF "$end" "$doc" | cut -d: -f1)" ]; then
		echo "soak: $doc: needs exactly one '$begin' line before one '$end' line" >&2
		exit 1
	fi
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mount | grep -q ' /sys/fs/bpf ' || mount -t bpf bpf /sys/fs/bpf
: > "$log"
: > "$tmp/rows"		# suite<TAB>command<TAB>verdict<TAB>reliability line
: > "$tmp/verdicts"
t0=$(date +%s)

# run NAME COMMAND SHOWN...: run one suite, its output to the terminal and
# the log; its rows and verdict to the lists. SHOWN is how RELIABILITY.md
# tells a reader to run it alone.
run() {
	name=$1 shown=$2
	shift 2
	if [ -n "$pattern" ]; then
		_m=0
		for _p in $pattern; do
			case $name in *"$_p"*) _m=1 ;; esac
		done
		[ "$_m" = 1 ] || return 0
	fi
	echo "=== $name" | tee -a "$log"
	{ "$@" 2>&1; echo $? > "$tmp/rc"; } | tee "$tmp/out"
	cat "$tmp/out" >> "$log"
	rc=$(cat "$tmp/rc")
	case $rc in
	0) verdict=pass ;;
	77) verdict="skipped: $(sed -n 's/^[^:]*: SKIP: //p' "$tmp/out" | head -n 1)" ;;
	*) verdict="FAIL (exit $rc)" ;;
	esac
	echo "--- $name: $verdict" | tee -a "$log"
	printf '%s: %s\n' "$name" "$verdict" >> "$tmp/verdicts"
	grep '^reliability: ' "$tmp/out" | while IFS= read -r line; do
		printf '%s\t%s\t%s\t%s\n' "$name" "$shown" "$verdict" "$line"
	done >> "$tmp/rows"
}

for t in "$here"/tests/ns/test_*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	run "$name" "SOAK=1 tests/run.sh build $name" env SOAK=1 BUILD="$build" sh "$t"
done
for t in "$here"/tools/soak.d/*.sh; do
	[ -x "$t" ] || continue
	name=soak.d/$(basename "$t" .sh)
	run "$name" "tools/$name.sh build" env SOAK=1 BUILD="$build" "$t" "$build"
done
took=$(( ($(date +%s) - t0 + 30) / 60 ))

# A row: case | held | lost silently | command | suite verdict. The case
# is before the first " | ", the loss after the last, the rest is what was
# held (which may hold " | " itself); a "|" in a cell is escaped.
awk -F '\t' '
	function cell(s) { gsub(/\|/, "\\|", s); return s }
	{
		line = substr($4, length("reliability: ") + 1)
		i = index(line, " | ")
		what = substr(line, 1, i - 1)
		rest = substr(line, i + 3)
		j = 0
		for (k = 1; k <= length(rest) - 2; k++)
			if (substr(rest, k, 3) == " | ")
				j = k
		held = j ? substr(rest, 1, j - 1) : rest
		lost = j ? substr(rest, j + 3) : "?"
		printf "| %s | %s | %s | `%s` | %s |\n", cell(what), cell(held), cell(lost), $2, cell($3)
	}' "$tmp/rows" > "$tmp/table"

npass=$(grep -c ': pass$' "$tmp/verdicts" || true)
nskip=$(grep -c ': skipped' "$tmp/verdicts" || true)
nfail=$(grep -c ': FAIL' "$tmp/verdicts" || true)
# A row whose loss is not 0 ("0", or "0 " and a unit: "0 crashes") fails
# the soak even if its suite let it pass.
nloss=$(awk -F '\t' '{ n = split($4, f, " \\| "); if (f[n] !~ /^0( |$)/) bad++ }
	END { print bad + 0 }' "$tmp/rows")

cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
rev=$(git -C "$here" describe --always --dirty 2>/dev/null || echo unknown)
{
	echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`make soak\` (\`tools/soak.sh $build\`," \
		"$took min), tree \`$rev\`; ${cpu:-unknown CPU}, $(nproc) CPUs online, kernel $(uname -r)."
	echo
	echo "| Case | Held: load, faults, inputs (measured) | Lost silently | Reproduce | Suite |"
	echo "|---|---|---|---|---|"
	if [ -s "$tmp/table" ]; then
		cat "$tmp/table"
	else
		echo "| (no suite printed a reliability row) | | | | |"
	fi
	echo
	others=$(sed -n 's/^\([^:]*\): \(skipped.*\|FAIL.*\)$/\1 \2/p' "$tmp/verdicts" |
		paste -sd ';' - | sed 's/;/; /g')
	echo "Suites: $npass passed, $nfail failed, $nskip skipped${others:+ ($others)}."
} > "$out"

if [ -z "$pattern" ]; then
	# Copy over the old file rather than renaming a temporary one, so its
	# owner and mode stay what they were.
	awk -v b="$begin" -v e="$end" -v f="$out" '
		$0 == b { print; print ""; while ((getline line < f) > 0) print line; print ""; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$doc" > "$tmp/doc"
	cat "$tmp/doc" > "$doc"
	echo "soak: table written to $doc and $out; log in $log" >&2
else
	# Only the rows of the suites that ran: each replaced where it was
	# (its Reproduce cell names its suite), new ones after the table,
	# and one line per partial run saying what it re-measured.
	ran=$(cut -d: -f1 "$tmp/verdicts" | paste -sd ' ' -)
	note="Re-measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`tools/soak.sh $build $pattern\` ($took min), tree \`$rev\`: the rows of $ran ($npass passed, $nfail failed, $nskip skipped)."
	awk -v b="$begin" -v e="$end" -v ran="$ran" -v rows="$tmp/table" -v note="$note" '
		function ours(line,   n, i, s) {
			n = split(ran, s, " ")
			for (i = 1; i <= n; i++)
				if (index(line, " " s[i] "`"))
					return 1
			return 0
		}
		function flush() {
			if (done) return
			while ((getline r < rows) > 0) print r
			done = 1
		}
		$0 == b { inside = 1; print; last = $0; next }
		$0 == e { flush(); if (last != "") print ""; print note; print ""; inside = 0; print; next }
		inside && /^\| / && !/^\| Case / { if (!ours($0)) print; intable = 1; next }
		inside && /^\|---/ { print; next }
		inside && intable { flush(); intable = 0 }
		inside && /^Re-measured .* the rows of / {
			# an earlier partial run of exactly these suites: superseded
			if (index($0, "the rows of " ran " (")) next
		}
		inside && $0 == "" && last == "" { next }
		{ print; last = $0 }' "$doc" > "$tmp/doc"
	cat "$tmp/doc" > "$doc"
	echo "soak: suites matching '$pattern' only: their rows replaced in $doc, section in $out; log in $log" >&2
fi
echo "soak: $npass passed, $nfail failed, $nskip skipped; $nloss row(s) lost records silently" >&2
[ "$nfail" = 0 ] && [ "$nloss" = 0 ]
