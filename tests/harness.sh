# harness.sh: the common start of the differential-mode test scripts (sourced, not run):
# where things are, a scratch directory removed at exit, PASS/FAIL counting, and the
# candidate routing table those tests use.
#   bld src lib prog tool tmp       build dir, source dir, libhakmem.so, tests/diff_prog,
#                                   tools/hakmem-divergence, a fresh mktemp -d
#   ok WHAT / ko WHAT               one "PASS: WHAT" / "FAIL: WHAT" line
#   finish                          "N passed, M failed"; exit 1 when any failed
#   on_exit CMD                     run CMD (before the scratch directory goes) at exit
#   candidate_table FILE [SED...]   the built-in table with Tiny ending at 1000 instead of
#                                   1024 (so 1001..1024 diverge: tiny -> pool), and any
#                                   further sed expressions, into FILE
bld=${HK_TOP_BUILDDIR:-$PWD}
src=${HK_TOP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
prog="$bld/tests/diff_prog"
tool="$src/tools/hakmem-divergence"
tmp=$(mktemp -d)
harness_on_exit=:
on_exit() { harness_on_exit="$harness_on_exit; $1"; }
trap 'eval "$harness_on_exit"; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}
candidate_table() {
    local out=$1 e=(-e 's/^0 1024 tiny$/0 1000 tiny/' -e 's/^1025 8192 pool ace$/1001 8192 pool ace/')
    shift
    for x in "$@"; do e+=(-e "$x"); done
    "$bld/tools/hakmem-routes" | sed "${e[@]}" >"$out"
    grep -q '^0 1000 tiny$' "$out" || { echo "FAIL: could not build the candidate table"; exit 1; }
}
