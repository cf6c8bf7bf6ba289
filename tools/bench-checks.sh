#!/usr/bin/env bash
# tools/bench-checks.sh: the benchmark tools' refusals and failure reports (CI's benchmark
# step; about 30 s): a library that is not hakmem, a build path with a space and a colon, a
# missing peer, runs that crash (natively and under callgrind), ROUNDS with a leading zero,
# TIMEOUT, a link in OUT, an interrupted run in a reused OUT (bench/table.sh must refuse it),
# bench/instr.sh with a library that is not hakmem, bench/vs.sh's refusals and a short run,
# an empty name in WORKLOADS, bench/pair.sh's refusals and failures, bench_remote's
# overflowing arguments.
# Usage: tools/bench-checks.sh [BUILD_DIR]   (default: the tree; after `make bench`)
#   HK_BENCH_SCRIPTS=DIR checks the scripts in DIR (compare.sh, table.sh, instr.sh and what
#   they source) instead of bench/; HK_BENCH_REMOTE=PROGRAM another bench_remote.
# Every check runs; each failure prints "FAIL: ..."; exit 1 if any failed.
set -uo pipefail
export LC_ALL=C
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:-$top}" && pwd)
bs=${HK_BENCH_SCRIPTS:-$top/bench}
remote=${HK_BENCH_REMOTE:-$build/bench/bench_remote}
nfail=0
fail() { echo "FAIL: $*" >&2; nfail=$((nfail + 1)); }
fx=$(mktemp -d /tmp/hk-bench-checks.XXXXXX) || { echo "bench-checks.sh: cannot create a temporary directory" >&2; exit 1; }
trap 'rm -rf "$fx"' EXIT
small=(QUICK=1 INSTR=0 FOOTPRINT=0 WORKLOADS=bench_tiny_hot)
# one line on standard error, naming the script, and exit status 2
refused() { # WHAT FILE RC PATTERN
    if [ "$3" != 2 ] || [ "$(wc -l <"$2")" != 1 ] || ! grep -q "$4" "$2"; then
        fail "$1: expected exit 2 and one line matching '$4', got exit $3: $(head -n 3 "$2" | tr '\n' ' ')"
    fi
}

echo "--- a build whose libhakmem.so is not a library: refused before any run"
mkdir -p "$fx/fake/.libs" && cp "$top/README.md" "$fx/fake/.libs/libhakmem.so" && ln -s "$build/bench" "$fx/fake/bench"
env "${small[@]}" OUT="$fx/o1" bash "$bs/compare.sh" "$fx/fake" >"$fx/out" 2>"$fx/err"
refused "compare.sh with a fake library" "$fx/err" $? "compare.sh: .*not a hakmem library"
echo "--- BASELINE that is not hakmem: refused"
env "${small[@]}" CONFIGS=hakmem-central,hakmem-base BASELINE="$top/README.md" OUT="$fx/o1" bash "$bs/compare.sh" "$build" >"$fx/out" 2>"$fx/err"
refused "compare.sh with BASELINE=README.md" "$fx/err" $? "BASELINE.*not a hakmem library"

echo "--- a build path with a space and a colon, jemalloc hidden: hakmem loads, the peer targets INCOMPLETE"
mkdir -p "$fx/a b:c" "$fx/shim"
ln -s "$build/.libs" "$fx/a b:c/.libs" && ln -s "$build/bench" "$fx/a b:c/bench"
printf '#!/bin/sh\n/sbin/ldconfig "$@" | grep -v libjemalloc\n' >"$fx/shim/ldconfig"
printf '#!/bin/sh\ncase "$*" in *jemalloc*) exit 1 ;; esac\nexec dpkg "$@"\n' >"$fx/shim/dpkg"
chmod +x "$fx/shim/ldconfig" "$fx/shim/dpkg"
PATH=$fx/shim:$PATH env "${small[@]}" ROUNDS=2 CONFIGS=hakmem-central,glibc,jemalloc,mimalloc OUT="$fx/o2" \
    bash "$bs/compare.sh" "$fx/a b:c" >"$fx/out" 2>&1
rc=$?
[ "$rc" = 0 ] || fail "compare.sh on a build path with a space and a colon: exit $rc: $(grep -m 2 FAILED "$fx/out")"
grep -q 'cannot be preloaded' "$fx/o2/runs.log" 2>/dev/null && fail "compare.sh: runs.log has loader errors (the library was not preloaded)"
[ "$(grep -c '^[0-9]*,bench_tiny_hot,hakmem-central,[0-9]' "$fx/o2/results.csv" 2>/dev/null)" = 2 ] ||
    fail "compare.sh on a build path with a space and a colon: not 2 rounds of central in results.csv"
grep -q '^bench_tiny_hot,central >= 1.00x best peer (ops/s),.*,INCOMPLETE,peers missing: jemalloc$' "$fx/o2/targets.csv" 2>/dev/null ||
    fail "compare.sh: with jemalloc missing, the best-peer target is not INCOMPLETE naming it"
bash "$bs/table.sh" "$fx/o2" >"$fx/table" 2>&1 || fail "table.sh on a complete run: $(head -n 1 "$fx/table")"
grep -q 'Missing peers: jemalloc' "$fx/table" || fail "table.sh does not say that jemalloc was missing"

echo "--- the same OUT reused by a run that is interrupted: bench/table.sh refuses it"
env "${small[@]}" ROUNDS=200 CONFIGS=hakmem-central,glibc OUT="$fx/o2" bash "$bs/compare.sh" "$build" >"$fx/out" 2>&1 &
pid=$!
for _ in $(seq 200); do
    grep -q "ROUNDS=200" "$fx/o2/machine.txt" 2>/dev/null && [ "$(wc -l <"$fx/o2/results.csv")" -gt 2 ] && break
    sleep 0.1
done
kill -TERM "$pid" 2>/dev/null
wait "$pid"
bash "$bs/table.sh" "$fx/o2" >"$fx/table" 2>"$fx/err"
refused "table.sh on an interrupted run's OUT" "$fx/err" $? "table.sh: .*did not complete"
[ -e "$fx/o2/targets.csv" ] && fail "compare.sh left the previous run's targets.csv in a reused OUT"

echo "--- hakmem crashes in one round, and always under callgrind: failed runs, no PASS, no count"
mkdir -p "$fx/crash/bench"
ln -s "$build/.libs" "$fx/crash/.libs"
cat >"$fx/crash/bench/bench_tiny_hot" <<EOF
#!/bin/sh
case \${LD_PRELOAD:-} in
*vgpreload*libhakmem* | *libhakmem*vgpreload*) exit 3 ;;
*libhakmem*) [ -e "$fx/crash/once" ] || { : >"$fx/crash/once"; kill -ABRT \$\$; } ;;
esac
exec "$build/bench/bench_tiny_hot" "\$@"
EOF
chmod +x "$fx/crash/bench/bench_tiny_hot"
env QUICK=1 FOOTPRINT=0 WORKLOADS=bench_tiny_hot ROUNDS=2 CONFIGS=hakmem-legacy,hakmem-central OUT="$fx/o3" \
    bash "$bs/compare.sh" "$fx/crash" >"$fx/out" 2>&1
rc=$?
[ "$rc" = 1 ] || fail "compare.sh with crashing runs: exit $rc, expected 1"
grep -q '^FAILED RUN: round 1 bench_tiny_hot hakmem-[a-z]*: killed by SIGABRT' "$fx/out" ||
    fail "compare.sh does not name the signal of a crashed run: $(grep -m 1 'FAILED RUN' "$fx/out")"
grep -q '^bench_tiny_hot,legacy within 2 % of central (ops/s),.*,1,.*,INCOMPLETE,only 1 of 2 rounds ran$' "$fx/o3/targets.csv" 2>/dev/null ||
    fail "compare.sh: a target with 1 of 2 rounds is not INCOMPLETE: $(grep -m 1 'legacy within' "$fx/o3/targets.csv" 2>/dev/null)"
grep -q '^FAILED RUN: callgrind hakmem-central .*: exit 3' "$fx/out" ||
    fail "compare.sh does not report a run that failed under callgrind"
grep -q "^instructions,legacy per tiny pair = central's,,,,0,.*,MISS,no data$" "$fx/o3/targets.csv" 2>/dev/null ||
    fail "compare.sh took an instruction count from a failed run: $(grep -m 1 'per tiny pair' "$fx/o3/targets.csv" 2>/dev/null)"

echo "--- ROUNDS=08 is 8 rounds"
env "${small[@]}" ROUNDS=08 CONFIGS=hakmem-central,glibc OUT="$fx/o4" bash "$bs/compare.sh" "$build" >"$fx/out" 2>&1
rc=$?
n=$(grep -c '^[0-9]*,bench_tiny_hot,glibc,[0-9]' "$fx/o4/results.csv" 2>/dev/null)
if [ "$rc" != 0 ] || [ "$n" != 8 ]; then fail "compare.sh with ROUNDS=08: exit $rc, $n glibc runs (expected 8)"; fi

echo "--- TIMEOUT=abc: refused before any run"
env "${small[@]}" TIMEOUT=abc OUT="$fx/o5" bash "$bs/compare.sh" "$build" >"$fx/out" 2>"$fx/err"
refused "compare.sh with TIMEOUT=abc" "$fx/err" $? "compare.sh: TIMEOUT"

echo "--- a link in OUT: refused, not written through"
mkdir -p "$fx/o6" && echo precious >"$fx/victim" && ln -s "$fx/victim" "$fx/o6/summary.csv"
env "${small[@]}" CONFIGS=hakmem-central,glibc OUT="$fx/o6" bash "$bs/compare.sh" "$build" >"$fx/out" 2>"$fx/err"
refused "compare.sh with a link in OUT" "$fx/err" $? "compare.sh: .*summary.csv is a link"
[ "$(cat "$fx/victim")" = precious ] || fail "compare.sh wrote through a link in OUT"

echo "--- bench/instr.sh with a library that is not hakmem: refused"
bash "$bs/instr.sh" "$top/README.md" true >"$fx/out" 2>"$fx/err"
refused "instr.sh with README.md as the library" "$fx/err" $? "instr.sh: .*not a hakmem library"

echo "--- bench/vs.sh: a library that is not hakmem refused; a command without ops/s fails; a run"
bash "$bs/vs.sh" 1 "$top/README.md" true >"$fx/out" 2>"$fx/err"
refused "vs.sh with README.md as the library" "$fx/err" $? "vs.sh: .*"
bash "$bs/vs.sh" 1 "$build/.libs/libhakmem.so" true >"$fx/out" 2>"$fx/err"
rc=$?
{ [ "$rc" = 1 ] && grep -q "vs.sh: central: no ops/s=N" "$fx/err"; } || fail "vs.sh with a command that prints no ops/s: exit $rc, $(head -n 1 "$fx/err")"
bash "$bs/vs.sh" 2 "$build/.libs/libhakmem.so" "$build/bench/bench_tiny_hot" 32 20000 >"$fx/out" 2>"$fx/err"
rc=$?
{ [ "$rc" = 0 ] && [ "$(grep -c '^round ' "$fx/out")" = 2 ] && grep -q '^median: central [0-9.]* ops/s, central/central = 1.000$' "$fx/out"; } ||
    fail "vs.sh 2 rounds of bench_tiny_hot: exit $rc, $(tr '\n' ' ' <"$fx/out" | head -c 300)"

echo "--- WORKLOADS with an empty name: refused, not every workload run"
env QUICK=1 INSTR=0 FOOTPRINT=0 WORKLOADS=,bench_tiny_hot OUT="$fx/o4" bash "$bs/compare.sh" "$build" >"$fx/out" 2>"$fx/err"
refused "compare.sh with WORKLOADS=,bench_tiny_hot" "$fx/err" $? "compare.sh: an empty workload name"

echo "--- bench/pair.sh: a file that does not preload, a failing A run, a path LD_PRELOAD splits, PAIRS 08"
bash "$bs/pair.sh" 1 "$top/README.md" "$build/.libs/libhakmem.so" "$build/bench/bench_tiny_hot" 32 20000 >"$fx/out" 2>"$fx/err"
rc=$?
{ [ "$rc" = 1 ] && grep -q "pair.sh: .*README.md could not be preloaded" "$fx/err"; } ||
    fail "pair.sh with README.md as LIB_A: exit $rc, $(head -n 1 "$fx/err")"
printf '#!/bin/sh\ncase "$LD_PRELOAD" in *README*) exit 3 ;; esac\nexec "$@"\n' >"$fx/onlyb.sh" && chmod +x "$fx/onlyb.sh"
cp "$top/README.md" "$fx/README.so"
bash "$bs/pair.sh" 1 "$fx/README.so" "$build/.libs/libhakmem.so" "$fx/onlyb.sh" "$build/bench/bench_tiny_hot" 32 20000 >"$fx/out" 2>"$fx/err"
rc=$?
{ [ "$rc" = 1 ] && grep -q "pair.sh: the run under .*README.so failed" "$fx/err"; } ||
    fail "pair.sh whose A run fails: exit $rc, $(head -n 1 "$fx/err")"
bash "$bs/pair.sh" 1 "$fx/a b:c/.libs/libhakmem.so" "$build/.libs/libhakmem.so" true >"$fx/out" 2>"$fx/err"
refused "pair.sh with a space and a colon in LIB_A" "$fx/err" $? "pair.sh: .*space or colon"
bash "$bs/pair.sh" 08 "$build/.libs/libhakmem.so" "$build/.libs/libhakmem.so" "$build/bench/bench_tiny_hot" 32 20000 >"$fx/out" 2>"$fx/err"
rc=$?
{ [ "$rc" = 0 ] && grep -q '^B/A per pair: median [0-9.]* (quartiles .*, n=8)$' "$fx/out"; } ||
    fail "pair.sh 08 pairs: exit $rc, $(tr '\n' ' ' <"$fx/err" | head -c 300)"

echo "--- bench_remote: numbers that overflow are usage errors"
for a in "2 100 16 16 99999999999999999999 50 1" "36400227916066690 100 16 16 32 50 1" "4294967295 100 16 16 32 50 1"; do
    # shellcheck disable=SC2086
    { "$remote" $a >"$fx/out" 2>"$fx/err"; } 2>/dev/null
    rc=$?
    if [ "$rc" != 2 ] || ! grep -q '^usage: bench_remote' "$fx/err"; then fail "bench_remote $a: exit $rc, expected 2 with the usage line"; fi
done

[ "$nfail" = 0 ] || { echo "bench-checks.sh: $nfail check(s) failed" >&2; exit 1; }
echo "bench-checks.sh: every check passed"
