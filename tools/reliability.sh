#!/usr/bin/env bash
# tools/reliability.sh -- hakmem's reliability tooling: sanitizers, valgrind, fuzzing, coverage.
#
#   bash tools/reliability.sh [asan|tsan|valgrind|fuzz|faults|coverage|all]...   (default: all)
#
#   asan      --enable-sanitizers=address,undefined build; tests/check_hakmem, tests/check_decisions,
#             tests/check_faults, and the quick fault sweep (tests/faultsim: every failure path
#             under ASan)
#   tsan      --enable-sanitizers=thread build; tests/check_hakmem, check_decisions, check_faults
#   valgrind  `make check-valgrind' (tests/valgrind.sh): memcheck on the unit tests (forked
#             children traced), routes_env and diff_prog
#   fuzz      CC=clang --enable-fuzz build, `make fuzz' (tests/fuzz.sh): two libFuzzer targets
#             (tests/fuzz_alloc.c, tests/fuzz_table.c), bounded runs
#   faults    --enable-fault-injection build: the full fault sweep (tests/faultsim --full:
#             every OS primitive failed at its Nth call for every N, once and from then on,
#             threads and fork; the differential mode's records read back after each) and
#             real programs on the fault-injection libhakmem.so
#             (tests/faults-preload.sh: sort, sqlite3, tests/hostile ok)
#   coverage  --enable-code-coverage build, `make check' (must pass) then the lcov report:
#             line and branch coverage of core/ + legacy/ + compare/ + front/; fails below
#             COVERAGE_MIN percent of lines
#
# Every step copies the source tree (git ls-files, or a tar of the tree without build
# products) into its own directory under HK_REL_DIR, runs autoreconf there when `configure'
# is missing, and builds in place (configure refuses a VPATH build from a configured source
# tree, and AX_CODE_COVERAGE's lcov setup drops every file under /tmp: HK_REL_DIR must not be
# under /tmp).
#
# Environment:
#   HK_REL_DIR      where the step directories go      (default /var/tmp/hakmem-rel)
#   HK_JOBS         make -j                            (default 2)
#   FUZZ_SECONDS    libFuzzer -max_total_time per target (default 60)
#   COVERAGE_MIN    minimum line coverage, percent     (default 90)
#   HK_CC_FUZZ      clang for the fuzz targets          (default clang, else clang-14)
#   HK_CC_SAN       compiler of the asan/tsan steps     (default gcc)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
rel=${HK_REL_DIR:-/var/tmp/hakmem-rel}
jobs=${HK_JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-60}
coverage_min=${COVERAGE_MIN:-90}
san_cc=${HK_CC_SAN:-gcc}

step() { printf '\n=== reliability: %s\n' "$*"; }
die() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

what=("$@")
[ "${#what[@]}" -gt 0 ] || what=(all)
todo=()
for w in "${what[@]}"; do
    case "$w" in
        all) todo+=(asan tsan valgrind fuzz faults coverage) ;;
        asan | tsan | valgrind | fuzz | faults | coverage) todo+=("$w") ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "usage: $0 [asan|tsan|valgrind|fuzz|faults|coverage|all]..." >&2; exit 2 ;;
    esac
done

case "$rel" in
    /tmp | /tmp/*) die "HK_REL_DIR=$rel is under /tmp (lcov's coverage setup drops every file there)" ;;
    /*) ;;
    *) rel=$PWD/$rel ;;
esac
mkdir -p "$rel"
rel=$(cd "$rel" && pwd -P)
case "$rel" in /tmp | /tmp/*) die "HK_REL_DIR resolves to $rel, under /tmp" ;; esac
# One run at a time per HK_REL_DIR (the steps share $rel/src).
exec 9>"$rel/.lock"
flock -n 9 || die "another tools/reliability.sh run is using $rel (set HK_REL_DIR)"

# ---------------------------------------------------------------- source copies

# The pristine source, autoreconf'ed once per run: $rel/src.
prepare_src() {
    local s=$rel/src
    rm -rf "$s"
    mkdir -p "$s"
    if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        # Tracked files plus new, not ignored ones (a change not yet committed is tested too).
        (cd "$top" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
            tar --null -T - -cf -) | tar -C "$s" -xf -
    else
        # No git (a tarball): the whole tree without build products and our own outputs.
        (cd "$top" && tar -cf - --exclude=.git --exclude='*.o' --exclude='*.lo' \
            --exclude='*.la' --exclude='*.a' --exclude='*.so' --exclude=.libs --exclude=.deps \
            --exclude=build-central --exclude=demo-out --exclude='hakmem-*.tar.gz' .) |
            tar -C "$s" -xf -
        if [ -f "$s/Makefile" ]; then
            (cd "$s" && make distclean >/dev/null 2>&1) || true
        fi
    fi
    if [ ! -x "$s/configure" ] || [ ! -f "$s/aminclude_static.am" ]; then
        (cd "$s" && autoreconf -fi) >"$rel/autoreconf.log" 2>&1 || {
            cat "$rel/autoreconf.log" >&2
            die "autoreconf -fi failed"
        }
    fi
}

# A fresh copy of the prepared source for step $1; prints its directory.
step_dir() {
    local d=$rel/$1
    rm -rf "$d"
    cp -a "$rel/src" "$d"
    printf '%s\n' "$d"
}

# configure in the current directory; on failure show config.log's tail.
run_configure() {
    if ! ./configure -q "$@" >configure.out 2>&1; then
        cat configure.out >&2
        tail -n 40 config.log >&2 || true
        die "configure $* failed"
    fi
}

show_logs() {
    local f
    for f in tests/test-suite.log test-suite.log; do
        [ -f "$f" ] && { echo "----- $f -----"; cat "$f"; }
    done
    return 0
}

# Check's timeouts scaled for slow instrumented runs.
export CK_TIMEOUT_MULTIPLIER=${CK_TIMEOUT_MULTIPLIER:-10}

# ---------------------------------------------------------------- asan

do_asan() {
    step "asan: ASan+UBSan build of the unit tests ($san_cc)"
    local d
    d=$(step_dir asan)
    cd "$d"
    run_configure CC="$san_cc" CFLAGS='-O1 -g' --enable-sanitizers=address,undefined --enable-debug=2
    make -j"$jobs" tests/check_hakmem tests/check_decisions tests/check_faults tests/faultsim \
        >make.log 2>&1 || {
        tail -n 60 make.log >&2
        die "asan build failed"
    }
    # detect_leaks=0: hakmem's memory comes from mmap, invisible to LeakSanitizer; what it
    # would report are the Check framework's own allocations in forked children.
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=86:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=87
    local t
    for t in tests/check_hakmem tests/check_decisions tests/check_faults tests/faultsim; do
        step "asan: $t"
        HK_TOP_SRCDIR=$d "./$t" >"$t.asan.log" 2>&1 || {
            cat "$t.asan.log"
            die "$t failed under ASan+UBSan"
        }
        if grep -E 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|Undefined)' "$t.asan.log"; then
            cat "$t.asan.log"
            die "$t: sanitizer report (see above)"
        fi
        tail -n 1 "$t.asan.log"
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS
}

# ---------------------------------------------------------------- tsan

do_tsan() {
    step "tsan: TSan build of the unit tests ($san_cc)"
    local d
    d=$(step_dir tsan)
    cd "$d"
    run_configure CC="$san_cc" CFLAGS='-O1 -g' --enable-sanitizers=thread --enable-debug=2
    make -j"$jobs" tests/check_hakmem tests/check_decisions tests/check_faults >make.log 2>&1 || {
        tail -n 60 make.log >&2
        die "tsan build failed"
    }
    # detect_deadlocks=0: TSan's lock-order detector holds at most 64 locks per thread, and
    # hakmem's fork handler (hk_slab_atfork_prepare) takes every lock (> 400) before each
    # fork Check makes: the detector would abort with a CHECK failure.
    # halt_on_error=0: every report of the run in the log, then the step fails.
    # tests/tsan.supp, when present, may only hold the documented benign statistics reads
    # (hk_slab_class_counts / hk_slab_thread_counter reading other threads' counters).
    local supp=
    [ -f "$top/tests/tsan.supp" ] && supp=":suppressions=$top/tests/tsan.supp"
    export TSAN_OPTIONS="halt_on_error=0:exitcode=66:detect_deadlocks=0:second_deadlock_stack=1$supp"
    local t rc
    for t in tests/check_hakmem tests/check_decisions tests/check_faults; do
        step "tsan: $t"
        rc=0
        "./$t" >"$t.tsan.log" 2>&1 || rc=$?
        if grep -q 'WARNING: ThreadSanitizer' "$t.tsan.log"; then
            # The first report in full, then one line per distinct report.
            awk '/^==================$/ { if (n++ == 2) exit } n' "$t.tsan.log"
            echo "distinct reports (count, first frame):"
            grep '^SUMMARY: ThreadSanitizer' "$t.tsan.log" | sort | uniq -c | sort -rn
            die "$t: ThreadSanitizer reports (full log: $d/$t.tsan.log)"
        fi
        if [ "$rc" != 0 ]; then
            cat "$t.tsan.log"
            die "$t failed under TSan (exit $rc)"
        fi
        tail -n 1 "$t.tsan.log"
    done
    unset TSAN_OPTIONS
}

# ---------------------------------------------------------------- valgrind

do_valgrind() {
    step "valgrind: build"
    local d
    d=$(step_dir valgrind)
    cd "$d"
    run_configure CFLAGS='-O1 -g'
    # Two make runs, not one: automake's `all` recurses into a sub-make, which would race the
    # top-level make building the same libhakmem_core.la for the test programs.
    make -j"$jobs" all >make.log 2>&1 || { tail -n 60 make.log >&2; die "valgrind build failed"; }
    HK_JOBS=$jobs make -j"$jobs" check-valgrind || die "make check-valgrind failed"
}

# ---------------------------------------------------------------- fuzz

fuzz_cc() {
    if [ -n "${HK_CC_FUZZ:-}" ]; then
        printf '%s\n' "$HK_CC_FUZZ"
        return
    fi
    local c
    for c in clang clang-14 clang-15 clang-16; do
        command -v "$c" >/dev/null 2>&1 && { printf '%s\n' "$c"; return; }
    done
    die "no clang found (libFuzzer needs clang and libclang-rt-<ver>-dev)"
}

do_fuzz() {
    step "fuzz: build the libFuzzer targets (configure CC=clang --enable-fuzz)"
    local d cc
    d=$(step_dir fuzz)
    cc=$(fuzz_cc)
    cd "$d"
    run_configure CC="$cc" --enable-fuzz
    { make -j"$jobs" all && make -j"$jobs" tests/fuzz_alloc tests/fuzz_table; } >make.log 2>&1 || {
        tail -n 60 make.log >&2
        die "fuzz build failed"
    }
    make fuzz FUZZ_SECONDS="$fuzz_seconds" || die "make fuzz failed"
}

# ---------------------------------------------------------------- faults

do_faults() {
    step "faults: --enable-fault-injection build"
    local d
    d=$(step_dir faults)
    cd "$d"
    run_configure --enable-fault-injection
    grep -q '^#define HAKMEM_CONFIG_FAULT_INJECTION 1$' config.h ||
        die "config.h does not define HAKMEM_CONFIG_FAULT_INJECTION 1"
    { make -j"$jobs" all && make -j"$jobs" tests/faultsim tests/hostile; } >make.log 2>&1 || {
        tail -n 60 make.log >&2
        die "fault-injection build failed"
    }
    step "faults: tests/faultsim --full (every primitive, every N, once and from then on)"
    local t0=$SECONDS
    HK_TOP_SRCDIR=$d ./tests/faultsim --full >faultsim.log 2>&1 ||
        { cat faultsim.log; die "tests/faultsim --full failed"; }
    grep -E '^(PASS|FAIL)|runs,' faultsim.log
    echo "($((SECONDS - t0))s)"
    step "faults: real programs on the fault-injection libhakmem.so (tests/faults-preload.sh)"
    t0=$SECONDS
    HK_LIB=$d/.libs/libhakmem.so HK_TOP_BUILDDIR=$d bash tests/faults-preload.sh \
        >faults-preload.log 2>&1 || { cat faults-preload.log; die "tests/faults-preload.sh failed"; }
    cat faults-preload.log
    echo "($((SECONDS - t0))s)"
}

# ---------------------------------------------------------------- coverage

do_coverage() {
    step "coverage: --enable-code-coverage build, make check (must pass), lcov capture"
    local d
    d=$(step_dir coverage)
    cd "$d"
    run_configure --enable-code-coverage CFLAGS='-O0 -g'
    make -j"$jobs" >make.log 2>&1 || { tail -n 60 make.log >&2; die "coverage build failed"; }
    # Not `make check-code-coverage': it runs the tests with `make -k check' and ignores their
    # failures. The tests must pass in a coverage build too.
    if ! make -j"$jobs" check >check.log 2>&1; then
        tail -n 40 check.log
        show_logs
        die "make check failed in the coverage build"
    fi
    if [ -s gcov-errors.log ]; then
        # libgcov could not merge some counter files (the counts of those objects are then
        # partial); the tests' own stderr is unaffected (GCOV_ERROR_FILE, Makefile.am).
        echo "note: libgcov reported $(wc -l <gcov-errors.log) errors while the tests ran:"
        sort gcov-errors.log | uniq -c | sort -rn | head -n 5
    fi
    make code-coverage-capture >capture.log 2>&1 || { tail -n 40 capture.log; die "lcov capture failed"; }
    local info=$d/hakmem-coverage.info
    [ -s "$info" ] || die "no $info"
    echo "HTML report: $d/coverage/index.html"
    step "coverage: line and branch coverage of core/ legacy/ compare/ front/ (COVERAGE_MIN=$coverage_min% of lines)"
    # Per-file LF/LH, BRF/BRH (and never-run functions) from the tracefile; summed per
    # directory.
    awk -v top="$d/" -v min="$coverage_min" '
        function topdir(f) { sub("/.*$", "", f); return f }
        /^SF:/ { f = substr($0, 4); sub("^" top, "", f); next }
        /^LF:/ { lf[f] += substr($0, 4); next }
        /^LH:/ { lh[f] += substr($0, 4); next }
        /^BRF:/ { bf[f] += substr($0, 5); next }
        /^BRH:/ { bh[f] += substr($0, 5); next }
        /^FNDA:0,/ { unfn[f] = unfn[f] " " substr($0, 8); next }
        END {
            for (f in lf) {
                t = topdir(f)
                if (t != "core" && t != "legacy" && t != "compare" && t != "front") continue
                LF[t] += lf[f]; LH[t] += lh[f]; tf += lf[f]; th += lh[f]
                BF[t] += bf[f]; BH[t] += bh[f]; tbf += bf[f]; tbh += bh[f]
                if (lf[f] > lh[f] || bf[f] > bh[f])
                    printf "  %6.1f%% lines (%4d of %4d), %6.1f%% branches (%4d of %4d)  %s%s\n",
                        100 * lh[f] / lf[f], lh[f], lf[f], bf[f] ? 100 * bh[f] / bf[f] : 100, bh[f], bf[f],
                        f, (f in unfn) ? "  (never called:" unfn[f] ")" : "" | "sort -k9"
            }
            close("sort -k9")
            if (tf == 0) { print "no lines of core/ legacy/ compare/ front/ in the tracefile"; exit 2 }
            print "  (files not listed: 100% of lines and branches)"
            for (t in LF)
                printf "  %-8s %6.2f%% of lines (%d of %d), %6.2f%% of branches (%d of %d)\n", t "/",
                    100 * LH[t] / LF[t], LH[t], LF[t], BF[t] ? 100 * BH[t] / BF[t] : 100, BH[t], BF[t]
            pct = 100 * th / tf
            printf "  %-8s %6.2f%% of lines (%d of %d), %6.2f%% of branches (%d of %d)\n", "total",
                pct, th, tf, tbf ? 100 * tbh / tbf : 100, tbh, tbf
            if (pct + 1e-9 < min) { printf "FAIL: line coverage %.2f%% is below COVERAGE_MIN=%s%%\n", pct, min; exit 1 }
            printf "line coverage %.2f%% >= COVERAGE_MIN=%s%%; branch coverage %.2f%%\n", pct, min,
                tbf ? 100 * tbh / tbf : 100
        }' "$info"
}

# ---------------------------------------------------------------- main

step "source: a copy in $rel/src (autoreconf -fi when configure is missing)"
prepare_src
declare -A took result
failed=0
for w in "${todo[@]}"; do
    t0=$SECONDS
    # Every requested step runs; the script fails at the end if any step failed.
    # (not `if ( ... )': errexit would be off inside the step)
    set +e
    (
        set -e
        "do_$w"
    )
    rc=$?
    set -e
    if [ "$rc" = 0 ]; then result[$w]=ok; else result[$w]=FAILED; failed=1; fi
    took[$w]=$((SECONDS - t0))
done
if [ "$failed" = 0 ]; then step "all passed"; else step "FAILED"; fi
for w in "${todo[@]}"; do printf '  %-9s %-6s %4ds\n' "$w" "${result[$w]}" "${took[$w]}"; done
exit "$failed"
