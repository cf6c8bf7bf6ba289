#!/usr/bin/env bash
# decide-cost.sh: instructions per routing decision, legacy path vs Central Router, counted
# with valgrind --tool=callgrind (repeatable on a noisy machine). Run from a build directory
# after `make bench`. Prints, per path, the instructions executed inside the public decision
# function per call (callgrind's inclusive count), and the difference to the bare loop.
set -euo pipefail
bin=${1:-bench/decide_cost}
n=1000000
# Run the real binary, not libtool's wrapper script (which valgrind would count too).
run=()
[ -x ./libtool ] && run=(./libtool --mode=execute)
# $1: mode, $2: callgrind output file -> total instructions
count() {
    "${run[@]}" valgrind --tool=callgrind --callgrind-out-file="$2" "$bin" "$1" "$n" 2>&1 >/dev/null |
        sed -n 's/.*I *refs: *//p' | tr -d , | tail -1
}
# Inclusive instructions of function $2 in callgrind output $1 (the largest line naming it:
# callgrind_annotate splits a function's lines by source file, the inclusive total is the
# biggest).
inclusive() {
    callgrind_annotate --inclusive=yes "$1" 2>/dev/null |
        awk -v f=":$2" 'index($0, f) { gsub(",", "", $1); if ($1 + 0 > m) m = $1 + 0 } END { print m + 0 }'
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
base=$(count none "$tmp/none.out")
for mode in legacy router; do
    total=$(count "$mode" "$tmp/$mode.out")
    fn=hak_${mode}_decide
    inside=$(inclusive "$tmp/$mode.out" "$fn")
    echo "$mode: $(( inside / n )) instructions per decision inside $fn() (inclusive)," \
        "$(( (total - base) / n )) with the call, the PLT jump and the loop's use of the result" \
        "($n decisions)"
done
