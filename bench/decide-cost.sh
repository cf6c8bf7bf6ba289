#!/usr/bin/env bash
# decide-cost.sh: instructions per routing decision, legacy path vs Central Router, counted
# with valgrind --tool=callgrind (repeatable on a noisy machine). Run from a build directory
# after `make bench`. Prints instructions per decision above the bare loop, per path.
set -euo pipefail
bin=${1:-bench/decide_cost}
n=1000000
# Run the real binary, not libtool's wrapper script (which valgrind would count too).
run=()
[ -x ./libtool ] && run=(./libtool --mode=execute)
count() { # $1: mode -> total instructions
    "${run[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$n" 2>&1 >/dev/null |
        sed -n 's/.*I *refs: *//p' | tr -d , | tail -1
}
base=$(count none)
for mode in legacy router; do
    total=$(count "$mode")
    echo "$mode: $(( (total - base) / n )) instructions per decision (call included; $n decisions)"
done
