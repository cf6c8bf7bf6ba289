#!/usr/bin/env bash
# valgrind.sh: `make check-valgrind': memcheck over the unit tests and real processes, in the
# build directory (a build without sanitizers; CFLAGS='-O1 -g' gives readable reports).
#   tests/check_hakmem   one process per Check test case (CK_RUN_SUITE/CK_RUN_CASE), forked
#                        children traced; the cases are the program's own (a native run's
#                        Check XML log names every suite and case)
#   tests/check_decisions, tests/check_faults
#   tests/routes_env     linked with libhakmem (hakmem is its malloc), every knob
#   tests/diff_prog      under LD_PRELOAD=libhakmem.so in each routing mode
# Every process logs to vglogs/<name>.<pid>.log; any memcheck error fails the run.
# HK_VG_TRACK_ORIGINS=1 adds --track-origins=yes (about twice as slow); HK_JOBS (default 2)
# test cases run at once.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
cd "$bld"
jobs=${HK_JOBS:-2}
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
step() { printf '\n=== valgrind: %s\n' "$*"; }
legacy=${HK_CONFIG_LEGACY:-1}

vglogs=$bld/vglogs
rm -rf "$vglogs" vg-out
mkdir -p "$vglogs" vg-out
vg_supp=
[ -f "$src/tests/valgrind.supp" ] && vg_supp=$src/tests/valgrind.supp
vg() {
    local name=$1
    shift
    valgrind -q --tool=memcheck --error-exitcode=1 --leak-check=no \
        ${HK_VG_TRACK_ORIGINS:+--track-origins=yes} \
        ${vg_supp:+--suppressions="$vg_supp"} \
        --log-file="$vglogs/$name.%p.log" "$@"
}
# hakmem reserves HAKMEM_ARENA_GB GiB of address space (default 64, halved until the
# reservation succeeds); 4 GiB keeps it well inside what valgrind's address-space manager
# handles, without eight failed reservations per process first.
export HAKMEM_ARENA_GB=4
export CK_FORK=yes
export -f vg
export vglogs vg_supp

step "tests/check_hakmem, one process per test case, CK_FORK=yes (forked tests traced)"
# The cases, "suite case" per line, from a native run's XML log.
timeout 600 env CK_XML_LOG_FILE_NAME=vg-out/cases.xml ./tests/check_hakmem >vg-out/native.out 2>&1 ||
    { cat vg-out/native.out; die "tests/check_hakmem fails without valgrind"; }
# compare/rollout is left out: test_rollout_sticky_monotonic makes 6 million ck_assert calls
# (10 s natively, 166 MB of Check messages), which Check's parent process cannot read back
# under valgrind in any reasonable time; that case is hash arithmetic only.
cases=$(python3 - vg-out/cases.xml <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"c": "http://check.sourceforge.net/ns"}
seen = []
for s in ET.parse(sys.argv[1]).getroot().findall("c:suite", ns):
    title = s.find("c:title", ns).text
    for t in s.findall("c:test", ns):
        k = (title, t.find("c:description", ns).text)
        if k not in seen:
            seen.append(k)
for s, c in seen:
    if (s, c) != ("compare", "rollout"):
        print(s + "\t" + c)  # case names may hold spaces
PY
)
[ -n "$cases" ] || die "no Check test cases in tests/check_hakmem's XML log"
total=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\),.*/\1/p' vg-out/native.out)
t0=$SECONDS
if ! printf '%s\n' "$cases" | xargs -P "$jobs" -d '\n' -n 1 bash -c '
    IFS=$(printf "\t") read -r s c <<<"$0"
    n=$(printf "%s-%s" "$s" "$c" | tr -c "A-Za-z0-9_.\n-" _)
    CK_RUN_SUITE=$s CK_RUN_CASE=$c timeout 1800 bash -c "vg check_hakmem-$n ./tests/check_hakmem" \
        >"vg-out/$n.out" 2>&1 && grep -q "^100%: Checks: [1-9]" "vg-out/$n.out" ||
        { echo "FAIL: $s/$c under valgrind:"; cat "vg-out/$n.out"; exit 255; }'; then
    die "tests/check_hakmem failed under valgrind"
fi
ran=$(cat vg-out/*-*.out | sed -n 's/^100%: Checks: \([0-9]*\),.*/\1/p' | awk '{n += $1} END {print n + 0}')
echo "$ran of $total Check tests ran under valgrind ($(printf '%s\n' "$cases" | wc -l) cases, $((SECONDS - t0))s)"

progs=(check_faults)
[ "$legacy" = 1 ] && progs=(check_decisions check_faults)
for p in "${progs[@]}"; do
    step "tests/$p"
    timeout 1800 bash -c "vg $p ./tests/$p" >"vg-out/$p.out" 2>&1 ||
        { cat "vg-out/$p.out"; die "$p failed under valgrind"; }
    tail -n 1 "vg-out/$p.out"
done

step "tests/routes_env (linked with libhakmem: hakmem is its malloc)"
for ace in 0 1; do
    for wrap in 0 1; do
        HAKMEM_ACE_ENABLED=$ace HAKMEM_WRAP_L2=$wrap timeout 600 bash -c "vg routes_env-$ace$wrap ./tests/routes_env" ||
            die "routes_env ACE=$ace WRAP_L2=$wrap failed under valgrind"
    done
done
if [ "$legacy" = 1 ]; then
    HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 timeout 600 bash -c "vg routes_env-central-diff ./tests/routes_env" ||
        die "routes_env (central, differential) failed under valgrind"
fi

step "tests/diff_prog under LD_PRELOAD=libhakmem.so"
# memcheck redirects only libc's malloc: libhakmem.so's exported malloc family serves the
# program, and memcheck checks hakmem's own code (uninitialised values, accesses outside its
# mappings, bad syscall arguments); it knows nothing of hakmem's blocks.
envs=(HAKMEM_USE_CENTRAL_ROUTER=1)
[ "$legacy" = 1 ] && envs=(HAKMEM_USE_CENTRAL_ROUTER=0 HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1)
for env in "${envs[@]}"; do
    (
        export "${env?}" LD_PRELOAD="$lib"
        for r in "0 1100" "8150 8250" "32700 32800" "53200 53300" "2097100 2097160"; do
            timeout 600 bash -c "vg diff_prog-${env##*_}-${r%% *} ./tests/diff_prog sizes $r" ||
                die "diff_prog sizes $r ($env) failed under valgrind"
        done
        timeout 600 bash -c "vg diff_prog-threads-${env##*_} ./tests/diff_prog threads 4 0 3000" ||
            die "diff_prog threads ($env) failed under valgrind"
        timeout 600 bash -c "vg diff_prog-fork-${env##*_} ./tests/diff_prog fork 1000 1100" ||
            die "diff_prog fork ($env) failed under valgrind"
        echo "diff_prog ($env): sizes, threads, fork: ok"
    )
done

# Errors in a forked test do fail that test (its exit status), but read every log too.
bad=$(grep -lE 'ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|Conditional jump|Syscall param' \
    "$vglogs"/*.log || true)
if [ -n "$bad" ]; then
    for f in $bad; do echo "----- $f -----"; cat "$f"; done
    die "valgrind reported errors (above)"
fi
echo "valgrind: $(find "$vglogs" -name '*.log' | wc -l) processes checked, no errors"
