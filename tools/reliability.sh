#!/usr/bin/env bash
# tools/reliability.sh -- hakmem's reliability tooling: sanitizers, valgrind, fuzzing, coverage.
#
#   bash tools/reliability.sh [asan|tsan|valgrind|fuzz|faults|coverage|all]...   (default: all)
#
#   asan      ASan+UBSan build of the unit tests; tests/check_hakmem, tests/check_decisions,
#             tests/check_faults, and the quick fault sweep (tests/faultsim: every failure path
#             under ASan)
#   tsan      TSan build of the unit tests; tests/check_hakmem, check_decisions, check_faults
#   valgrind  memcheck on the unit tests (forked children traced), routes_env and diff_prog
#   fuzz      two libFuzzer targets (tests/fuzz_alloc.c, tests/fuzz_table.c), bounded runs
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
    local fl='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all'
    run_configure CC="$san_cc" CFLAGS="$fl" LDFLAGS='-fsanitize=address,undefined'
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
    run_configure CC="$san_cc" CFLAGS='-O1 -g -fsanitize=thread -fno-omit-frame-pointer' \
        LDFLAGS='-fsanitize=thread'
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

# valgrind memcheck; every process (forked children too) logs to $vglogs/<name>.<pid>.log.
# HK_VG_TRACK_ORIGINS=1 adds --track-origins=yes (about twice as slow).
vg() {
    local name=$1
    shift
    valgrind -q --tool=memcheck --error-exitcode=1 --leak-check=no \
        ${HK_VG_TRACK_ORIGINS:+--track-origins=yes} \
        ${vg_supp:+--suppressions="$vg_supp"} \
        --log-file="$vglogs/$name.%p.log" "$@"
}

# The Check test cases of tests/check_hakmem, "suite case" per line, from the sources.
check_cases() {
    local f s
    for f in tests/check_*.c; do
        grep -q 'int main *(' "$f" && continue # its own program (check_decisions.c)
        s=$(sed -n 's/.*suite_create("\([^"]*\)").*/\1/p' "$f" | head -n 1)
        [ -n "$s" ] || continue
        sed -n 's/.*tcase_create("\([^"]*\)").*/\1/p' "$f" | sed "s/^/$s /"
    done
}

do_valgrind() {
    step "valgrind: build"
    local d
    d=$(step_dir valgrind)
    cd "$d"
    run_configure CFLAGS='-O1 -g'
    # Two make runs, not one: automake's `all` recurses into a sub-make, which would race the
    # top-level make building the same libhakmem_core.la for the test programs.
    { make -j"$jobs" all && make -j"$jobs" tests/check_hakmem tests/check_decisions tests/check_faults \
        tests/routes_env tests/diff_prog; } >make.log 2>&1 || {
        tail -n 60 make.log >&2
        die "valgrind build failed"
    }
    vglogs=$d/vglogs
    rm -rf "$vglogs"
    mkdir -p "$vglogs" vg-out
    vg_supp=
    [ -f "$top/tests/valgrind.supp" ] && vg_supp=$top/tests/valgrind.supp
    # hakmem reserves HAKMEM_ARENA_GB GiB of address space (default 64, halved until the
    # reservation succeeds); 4 GiB keeps it well inside what valgrind's address-space
    # manager handles, without eight failed reservations per process first.
    export HAKMEM_ARENA_GB=4
    export CK_FORK=yes
    export -f vg
    export vglogs vg_supp
    step "valgrind: tests/check_hakmem, one process per test case, CK_FORK=yes (forked tests traced)"
    # compare/rollout is left out: test_rollout_sticky_monotonic makes 6 million ck_assert
    # calls (10 s natively, 166 MB of Check messages), which Check's parent process cannot
    # read back under valgrind in any reasonable time; that case is hash arithmetic only.
    local cases
    cases=$(check_cases | grep -v '^compare rollout$')
    [ -n "$cases" ] || die "no Check test cases found in tests/check_*.c"
    local t0=$SECONDS
    if ! printf '%s\n' "$cases" | xargs -P "$jobs" -L 1 bash -c '
        CK_RUN_SUITE=$0 CK_RUN_CASE=$1 vg "check_hakmem-$0-$1" ./tests/check_hakmem \
            >"vg-out/$0-$1.out" 2>&1 && grep -q "^100%: Checks: [1-9]" "vg-out/$0-$1.out" ||
            { echo "FAIL: $0/$1 under valgrind:"; cat "vg-out/$0-$1.out"; exit 255; }'; then
        die "tests/check_hakmem failed under valgrind"
    fi
    local ran total
    ran=$(cat vg-out/*.out | sed -n 's/^100%: Checks: \([0-9]*\),.*/\1/p' | awk '{n += $1} END {print n + 0}')
    total=$(./tests/check_hakmem 2>/dev/null | sed -n 's/^[0-9]*%: Checks: \([0-9]*\),.*/\1/p')
    echo "$ran of $total Check tests ran under valgrind ($(printf '%s\n' "$cases" | wc -l) cases, $((SECONDS - t0))s)"
    step "valgrind: tests/check_decisions"
    vg check_decisions ./tests/check_decisions >vg-out/check_decisions.out 2>&1 ||
        { cat vg-out/check_decisions.out; die "check_decisions failed under valgrind"; }
    tail -n 1 vg-out/check_decisions.out
    step "valgrind: tests/check_faults (each OS failure path)"
    vg check_faults ./tests/check_faults >vg-out/check_faults.out 2>&1 ||
        { cat vg-out/check_faults.out; die "check_faults failed under valgrind"; }
    tail -n 1 vg-out/check_faults.out
    step "valgrind: tests/routes_env (linked with libhakmem: hakmem is its malloc)"
    local ace wrap
    for ace in 0 1; do
        for wrap in 0 1; do
            HAKMEM_ACE_ENABLED=$ace HAKMEM_WRAP_L2=$wrap vg "routes_env-$ace$wrap" \
                ./tests/routes_env || die "routes_env ACE=$ace WRAP_L2=$wrap failed under valgrind"
        done
    done
    HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 vg routes_env-central-diff \
        ./tests/routes_env || die "routes_env (central, differential) failed under valgrind"
    step "valgrind: tests/diff_prog under LD_PRELOAD=libhakmem.so"
    # memcheck redirects only libc's malloc: libhakmem.so's exported malloc family serves
    # the program, and memcheck checks hakmem's own code (uninitialised values, accesses
    # outside its mappings, bad syscall arguments); it knows nothing of hakmem's blocks.
    local lib=$d/.libs/libhakmem.so env r
    for env in HAKMEM_USE_CENTRAL_ROUTER=0 HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1; do
        (
            export "${env?}" LD_PRELOAD="$lib"
            for r in "0 1100" "8150 8250" "32700 32800" "53200 53300" "2097100 2097160"; do
                # shellcheck disable=SC2086
                vg "diff_prog-${env##*_}-${r%% *}" ./tests/diff_prog sizes $r ||
                    die "diff_prog sizes $r ($env) failed under valgrind"
            done
            vg "diff_prog-threads-${env##*_}" ./tests/diff_prog threads 4 0 3000 ||
                die "diff_prog threads ($env) failed under valgrind"
            vg "diff_prog-fork-${env##*_}" ./tests/diff_prog fork 1000 1100 ||
                die "diff_prog fork ($env) failed under valgrind"
            echo "diff_prog ($env): sizes, threads, fork: ok"
        )
    done
    unset HAKMEM_ARENA_GB CK_FORK
    # Errors in a forked test do fail that test (its exit status), but read every log too.
    local bad
    bad=$(grep -lE 'ERROR SUMMARY: [1-9]|Invalid (read|write|free)|uninitialised|Conditional jump|Syscall param' \
        "$vglogs"/*.log || true)
    if [ -n "$bad" ]; then
        local f
        for f in $bad; do echo "----- $f -----"; cat "$f"; done
        die "valgrind reported errors (above)"
    fi
    echo "valgrind: $(find "$vglogs" -name '*.log' | wc -l) processes checked, no errors"
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
    step "fuzz: build the libFuzzer targets"
    local d cc
    d=$(step_dir fuzz)
    cc=$(fuzz_cc)
    cd "$d"
    # config.h as configure writes it (nothing else of the autotools build is used).
    run_configure CC="$cc"
    # The core without the malloc wrappers, instrumented for coverage (fuzzer-no-link), with
    # hakmem's internal consistency checks on (HK_ASSERT_LEVEL=3); each target links it.
    local common=(-std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all
        -DHK_ASSERT_LEVEL=3 -pthread -Iinclude -Icore/base -Icore/engine -Icore/box -Icore/router -Ilegacy -Icompare -Ifront -I.)
    local f o objs=() n=0
    mkdir -p fuzz-obj fuzz-bin
    : >fuzz-build.log
    for f in core/*/*.c legacy/*.c compare/*.c front/*.c; do
        [ "$f" = front/malloc_wrap.c ] && continue
        o=fuzz-obj/$(printf '%s' "${f%.c}" | tr / _).o
        objs+=("$o")
        "$cc" "${common[@]}" -fsanitize=fuzzer-no-link,address,undefined -c "$f" -o "$o" \
            >>fuzz-build.log 2>&1 &
        n=$((n + 1))
        if [ "$n" -ge "$jobs" ]; then wait -n || { cat fuzz-build.log >&2; die "fuzz: compiling the core failed"; }; n=$((n - 1)); fi
    done
    while [ "$n" -gt 0 ]; do
        wait -n || { cat fuzz-build.log >&2; die "fuzz: compiling the core failed"; }
        n=$((n - 1))
    done
    local t
    for t in alloc table; do
        "$cc" "${common[@]}" -fsanitize=fuzzer,address,undefined "tests/fuzz_$t.c" "${objs[@]}" \
            -o "fuzz-bin/fuzz_$t" >>fuzz-build.log 2>&1 ||
            { cat fuzz-build.log >&2; die "fuzz: building fuzz_$t failed"; }
    done
    # Seed corpora: generated by the targets themselves (HK_FUZZ_WRITE_SEEDS: the built-in
    # table as hakmem-routes prints it and variants; allocation programs for every
    # configuration), plus tests/fuzz-corpus/<target>/ when the tree has one.
    for t in alloc table; do
        mkdir -p "corpus/$t" "artifacts/$t"
        HK_FUZZ_WRITE_SEEDS=corpus/$t "./fuzz-bin/fuzz_$t" >/dev/null 2>&1 ||
            die "fuzz_$t: writing the seed corpus failed"
        if [ -d "tests/fuzz-corpus/$t" ]; then cp tests/fuzz-corpus/"$t"/* "corpus/$t/" 2>/dev/null || true; fi
    done
    export ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:allocator_may_return_null=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    for t in table alloc; do
        step "fuzz: fuzz_$t, ${fuzz_seconds}s (seed corpus: $(ls "corpus/$t" | wc -l) files)"
        # hakmem's one-line warnings (differential-mode rollbacks) would flood the log.
        if ! "./fuzz-bin/fuzz_$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 \
            -timeout=30 -rss_limit_mb=4096 -max_len=4096 -artifact_prefix="artifacts/$t/" \
            "corpus/$t" >"fuzz_$t.log" 2>&1; then
            grep -v '^hakmem: warning: rollback' "fuzz_$t.log" | tail -n 60
            ls -l "artifacts/$t"
            die "fuzz_$t failed (reproduce: $d/fuzz-bin/fuzz_$t $d/artifacts/$t/<crash-file>)"
        fi
        grep -E '^(Done [0-9]+ runs|stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb))' \
            "fuzz_$t.log" || true
        echo "corpus now $(ls "corpus/$t" | wc -l) files"
    done
    unset ASAN_OPTIONS UBSAN_OPTIONS
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
