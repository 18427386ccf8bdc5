# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# shellcheck shell=sh
# Sourced by the benchmark scripts: each owns the lines of BENCHMARKS.md
# between its section's markers and leaves every other line alone.
#
#   doc_markers DOC NAME HEADING WRITER   make sure DOC has exactly one
#       "<!-- NAME:begin (written by WRITER; edits here are lost) -->" line
#       before one "<!-- NAME:end -->" line: a section without them gets
#       them under HEADING, in place of its first "Not measured yet." line;
#       markers missing on one side, doubled or out of order make it refuse
#       (return 1, one line on stderr) rather than guess.
#   doc_splice DOC NAME FILE WRITER       replace what is between the
#       markers with FILE. The old file is copied over rather than renamed,
#       so its owner and mode stay what they were.

doc_begin() { echo "<!-- $1:begin (written by $2; edits here are lost) -->"; }
doc_end() { echo "<!-- $1:end -->"; }

doc_markers() {
	_dm_b=$(doc_begin "$2" "$4") _dm_e=$(doc_end "$2")
	_dm_nb=$(grep -cxF "$_dm_b" "$1" || true)
	_dm_ne=$(grep -cxF "$_dm_e" "$1" || true)
	if [ "$_dm_nb" = 0 ] && [ "$_dm_ne" = 0 ]; then
		if [ "$(grep -cxF "$3" "$1" || true)" != 1 ]; then
			echo "$1: no markers for $2 and not exactly one '$3' heading" >&2
			return 1
		fi
		awk -v h="$3" -v b="$_dm_b" -v e="$_dm_e" '
			function put() { print b; print e; done = 1 }
			$0 == h { print; insec = 1; next }
			insec && /^## / { if (!done) { put(); print "" } insec = 0 }
			insec && !done && $0 == "Not measured yet." { put(); next }
			{ print }
			END { if (insec && !done) { print ""; put() } }' "$1" >"$1.tmp.$$" &&
			cat "$1.tmp.$$" >"$1"
		rm -f "$1.tmp.$$"
		return 0
	fi
	if [ "$_dm_nb" != 1 ] || [ "$_dm_ne" != 1 ] ||
	   [ "$(grep -nxF "$_dm_b" "$1" | cut -d: -f1)" -gt "$(grep -nxF "$_dm_e" "$1" | cut -d: -f1)" ]; then
		echo "$1: needs exactly one '$_dm_b' line before one '$_dm_e' line" >&2
		return 1
	fi
}

doc_splice() {
	awk -v b="$(doc_begin "$2" "$4")" -v e="$(doc_end "$2")" -v f="$3" '
		$0 == b { print; print ""; while ((getline line < f) > 0) print line; print ""; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$1" >"$1.tmp.$$" && cat "$1.tmp.$$" >"$1"
	_ds=$?
	rm -f "$1.tmp.$$"
	return $_ds
}
