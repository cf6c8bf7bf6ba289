# harness.sh: the common start of the differential-mode test scripts (sourced, not run):
# checks.sh (pass, fail, finish, run_t, where things are), a scratch directory removed at
# exit, and the candidate routing table those tests use.
#   prog tool tmp                   tests/diff_prog, tools/hakmem-divergence, a fresh mktemp -d
#   on_exit CMD                     run CMD (before the scratch directory goes) at exit
#   candidate_table FILE [SED...]   the built-in table with Tiny ending at 1000 instead of
#                                   1024 (so 1001..1024 diverge: tiny -> pool), and any
#                                   further sed expressions, into FILE (hakmem-routes
#                                   under run_t)
# shellcheck source=checks.sh
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
prog="$bld/tests/diff_prog"
tool="$src/tools/hakmem-divergence"
tmp=$(mktemp -d)
harness_on_exit=:
on_exit() { harness_on_exit="$harness_on_exit; $1"; }
trap 'eval "$harness_on_exit"; rm -rf "$tmp"' EXIT
candidate_table() {
    local out=$1 e=(-e 's/^0 1024 tiny$/0 1000 tiny/' -e 's/^1025 8192 pool ace$/1001 8192 pool ace/')
    shift
    for x in "$@"; do e+=(-e "$x"); done
    run_t 30 "$bld/tools/hakmem-routes" | sed "${e[@]}" >"$out"
    grep -q '^0 1000 tiny$' "$out" || { echo "FAIL: could not build the candidate table"; exit 1; }
}
