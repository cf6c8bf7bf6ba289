#!/usr/bin/env bash
# check-stress.sh - `make check-stress': tests/stress under LD_PRELOAD=$HK_LIB in the
# three routing modes (legacy, Central Router, differential), plus fork while the arena
# grows, plus munmap refused at vm.max_map_count in the issue's scenario (tests/hostile
# munmap-limit). ~1-2 minutes with the defaults.
#   legacy        HAKMEM_USE_CENTRAL_ROUTER=0
#   central       HAKMEM_USE_CENTRAL_ROUTER=1
#   differential  HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT=<tmp>/div.%p.json: every
#                 process (the parent and its fork children) writes a report; all must be
#                 valid JSON with divergent 0 and dropped 0, the parent's compared > 0
# Each stress run must exit 0 and print
#   stress: threads=T ops=N corruptions=0 leaks=0 ... forks=2 fork_failures=0 boxes=...
# with every box (tiny, pool, mid, l25, mmap) used; peak RSS is checked by the program itself.
# Environment: HK_LIB, HK_TOP_BUILDDIR (AM_TESTS_ENVIRONMENT);
#   HK_STRESS_THREADS (4), HK_STRESS_OPS (200000 per thread), HK_STRESS_CROSS (25),
#   HK_STRESS_TIMEOUT (300 s per run), HK_STRESS_CRASH_ROUNDS (40 rounds of tests/crash.sh
#   with 2 threads); HK_XFAIL="id ..." as in tests/hostile.sh.
# One "PASS: id: ..." / "FAIL: id: ...: why" line per check, then "N passed, M failed".
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
export LC_ALL=C
unset LD_PRELOAD
script_dir=$(cd "$(dirname "$0")" && pwd)
bld=${HK_TOP_BUILDDIR:-$PWD}
src=${HK_TOP_SRCDIR:-$(cd "$script_dir/.." && pwd)}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
stress="$bld/tests/stress"
hostile="$bld/tests/hostile"
threads=${HK_STRESS_THREADS:-4}
ops=${HK_STRESS_OPS:-200000}
cross=${HK_STRESS_CROSS:-25}
tmo=${HK_STRESS_TIMEOUT:-300}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-stress.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
scrub_hakmem_env

why() { # why RC [TIMEOUT]
    case $1 in
        124|137) echo "timed out after ${2:-$tmo}s (deadlock?)" ;;
        *) if [ "$1" -gt 128 ]; then echo "killed by signal $(( $1 - 128 ))"; else echo "exit status $1"; fi ;;
    esac
}
for f in "$stress" "$hostile" "$lib"; do
    if [ ! -e "$f" ]; then echo "FAIL: setup: $f not found (build first: make check-stress builds it)"; echo "0 passed, 1 failed"; exit 1; fi
done
echo "# check-stress: $threads threads x $ops ops, cross-thread frees $cross %, HK_LIB=$lib"

# run_stress ID WHAT SEED VAR=value...
run_stress() {
    local id=$1 what=$2 seed=$3 rc=0 t0 t1
    shift 3
    t0=$(date +%s.%N)
    { ( exec timeout -k 10 "$tmo" env LD_PRELOAD="$lib" "$@" "$stress" "$threads" "$ops" "$seed" "$cross" ) \
        >"$tmp/$id.out" 2>"$tmp/$id.err" </dev/null || rc=$?; } 2>/dev/null
    t1=$(date +%s.%N)
    local dt; dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1fs", b - a }')
    local line; line=$(grep '^stress: ' "$tmp/$id.out" | tail -n 1)
    local total=$((threads * ops))
    if [ "$rc" -ne 0 ]; then
        fail "$id" "$what" "$(why "$rc") after $dt${line:+; $line}" "$tmp/$id.err"
    elif ! grep -qE "^stress: threads=$threads ops=$total corruptions=0 leaks=0 " <<<"$line"; then
        fail "$id" "$what" "unexpected result: ${line:-no stress: line}" "$tmp/$id.err"
    elif ! grep -q ' forks=2 fork_failures=0 ' <<<"$line"; then
        fail "$id" "$what" "fork children: $line" "$tmp/$id.err"
    elif grep -qE 'boxes=.*(tiny|pool|mid|l25|mmap):0[, ]' <<<"$line"; then
        fail "$id" "$what" "a box was never used: $line"
    elif [ -s "$tmp/$id.err" ] && grep -qv '^$' "$tmp/$id.err"; then
        fail "$id" "$what" "unexpected stderr" "$tmp/$id.err"
    else
        local fig; fig=$(sed -E 's/.*(corruptions=[0-9]+ leaks=[0-9]+).*(cross_thread_frees=[0-9]+).*(worker_threads=[0-9]+ adopted=[0-9]+).*(forks=[0-9]+).*(peak_rss=[0-9]+KiB).*(rss_bound=[0-9]+KiB).*/\1 \2 \3 \4 \5 \6/' <<<"$line")
        pass "$id" "$what: $threads x $ops ops, $fig, $dt"
    fi
    echo "# $line"
}

run_stress legacy "legacy path (HAKMEM_USE_CENTRAL_ROUTER=0)" 1 HAKMEM_USE_CENTRAL_ROUTER=0
run_stress central "Central Router (HAKMEM_USE_CENTRAL_ROUTER=1)" 2 HAKMEM_USE_CENTRAL_ROUTER=1
mkdir -p "$tmp/div"
run_stress differential "differential mode (HAKMEM_ROUTER_DIFF=1)" 3 HAKMEM_ROUTER_DIFF=1 \
    HAKMEM_DIVERGENCE_REPORT="$tmp/div/div.%p.json"
# The reports: the parent's and one per fork child (the children exit through exit()).
if out=$(python3 - "$tmp/div" <<'PY' 2>&1
import glob, json, sys
files = sorted(glob.glob(sys.argv[1] + "/div.*.json"))
if len(files) < 3:
    sys.exit("%d reports, want 3 (the parent and 2 fork children)" % len(files))
tot = {"calls": 0, "compared": 0, "divergent": 0, "dropped": 0}
for f in files:
    r = json.load(open(f))
    if r.get("format") != "hakmem-divergence-report/2":
        sys.exit("%s: format %r" % (f, r.get("format")))
    if r["compared"] <= 0:
        sys.exit("%s: compared %d" % (f, r["compared"]))
    if r["divergent"] or r["dropped"] or r["divergences"] or r["rollback"] is not None:
        sys.exit("%s: divergent %d dropped %d: %s" % (f, r["divergent"], r["dropped"], json.dumps(r["divergences"])[:400]))
    for k in tot:
        tot[k] += r[k]
print("%d reports, calls %d, compared %d, divergent %d, dropped %d" % (len(files), tot["calls"], tot["compared"], tot["divergent"], tot["dropped"]))
PY
); then
    pass differential-report "divergence reports: $out"
else
    fail differential-report "divergence reports with 0 divergences" "$out"
fi

# ... and hakmem-divergence reads every process's record with its report: all exited.
if out=$(python3 "$src/tools/hakmem-divergence" --json "$tmp/div.merged.json" "$tmp/div" 2>&1) &&
    python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["verdict"] == "pass" and all(p["state"] == "exited" and "record" in p["sources"] for p in m["processes"]), m["processes"]' "$tmp/div.merged.json"; then
    pass differential-gate "hakmem-divergence: $(head -n 1 <<<"$out" | cut -c1-200)"
else
    fail differential-gate "hakmem-divergence over the stress run's reports and records" "$out"
fi

# Crash consistency, long: a recording process (2 threads) read live and SIGKILLed at random
# moments, many times (tests/crash.sh; make check runs 5 rounds of 1 thread).
rc=0
HK_CRASH_ROUNDS=${HK_STRESS_CRASH_ROUNDS:-40} HK_CRASH_THREADS=2 HK_LIB="$lib" \
    bash "$script_dir/crash.sh" >"$tmp/crash.out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
    pass crash "$(grep '^PASS' "$tmp/crash.out" | sed 's/^PASS: //')"
else
    fail crash "crash consistency of the records under SIGKILL" "exit $rc" "$tmp/crash.out"
fi

# fork() while other threads commit fresh arena segments must not deadlock.
rc=0
t0=$(date +%s)
{ ( exec timeout -k 5 30 env LD_PRELOAD="$lib" "$hostile" fork-commit 3 ) >"$tmp/fc.out" 2>"$tmp/fc.err" </dev/null || rc=$?; } 2>/dev/null
if [ "$rc" -eq 0 ] && grep -q 'no deadlock' "$tmp/fc.out"; then
    pass fork-commit "$(cat "$tmp/fc.out" | sed 's/^hostile fork-commit: //')"
else
    fail fork-commit "fork while 3 threads commit fresh arena segments" "$(why "$rc" 30)" "$tmp/fc.err"
fi

# munmap refused by the kernel (vm.max_map_count) in the issue's own scenario: nothing leaked.
rc=0
{ ( exec timeout -k 5 120 env LD_PRELOAD="$lib" HAKMEM_ACE_ENABLED=0 HAKMEM_STATS=1 "$hostile" munmap-limit ) \
    >"$tmp/ml.out" 2>"$tmp/ml.err" </dev/null || rc=$?; } 2>/dev/null
refused=$(sed -n 's/.*OS calls failed:.* munmap \([0-9]*\).*/\1/p' "$tmp/ml.err")
if [ "$rc" -eq 0 ] && [ "${refused:-0}" -gt 0 ]; then
    pass munmap-limit "$(sed 's/^munmap-limit: //' "$tmp/ml.out"); the kernel refused $refused munmaps"
elif [ "$rc" -eq 0 ]; then
    fail munmap-limit "munmap at vm.max_map_count" "the kernel refused nothing: the scenario did not reach the limit" "$tmp/ml.out"
else
    fail munmap-limit "munmap at vm.max_map_count: nothing leaked" "$(why "$rc" 120): $(cat "$tmp/ml.out")" "$tmp/ml.err"
fi

finish
