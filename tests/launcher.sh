#!/usr/bin/env bash
# launcher.sh: tools/hakmem-run in real processes.
#  - the program runs on hakmem (its statistics print), in the mode asked for (--legacy,
#    --central), with the HAKMEM_* variables of each option, and an LD_PRELOAD already set kept;
#  - its exit status is passed through, with and without --diff; a death by signal ends
#    hakmem-run by the same signal; SIGTERM and SIGINT sent to hakmem-run reach the program;
#  - --diff prints the program's output untouched and the merged verdict of every process it
#    started (children, forks) on stderr; a divergent candidate table gives DIVERGENT; --aa;
#    a killed process gives INCOMPLETE (naming it), a static program or one that allocates
#    nothing NOTHING COMPARED, a process left running INCOMPLETE with its reports kept;
#  - --report DIR keeps the reports, the default temporary directory is removed;
#  - --stats=json;
#  - usage errors exit 125, a program not found 127, one that cannot run 126;
#  - in a build without legacy/ (--disable-legacy), the options that need the legacy path or
#    the differential mode (--legacy, --diff, --aa, --rollout, --sample, --report) are refused
#    with one line and status 125, and nothing runs; the cases about them are not run there.
set -uo pipefail
# shellcheck source=tests/checks.sh
. "$(dirname "$0")/checks.sh"
hk_scratch
export TMPDIR=$tmp/tmpdir
mkdir -p "$TMPDIR"
# hakmem-run finds hakmem-divergence next to itself, or in the sources (VPATH builds, such as
# make distcheck's), without help from PATH.
run() { timeout 120 "$bld/tools/hakmem-run" --lib "$lib" "$@"; }

# --- the program runs on hakmem, in the mode asked for ------------------------------------
workload=(awk 'BEGIN { for (i = 0; i < 20000; i++) a[i] = sprintf("%d-%d", i, i * i); print length(a) }')
if hk_legacy_built; then
    run --stats --legacy -- "${workload[@]}" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && grep -qx 20000 "$tmp/out" &&
        grep -Eq 'legacy routed [1-9][0-9]* allocations, central routed 0$' "$tmp/err"; then
        pass legacy "--legacy --stats: the program's allocations are routed by the legacy path"
    else
        fail legacy "--legacy --stats" "exit $rc" "$tmp/err"
    fi
else
    hk_left_out 1
fi
run --stats --central -- "${workload[@]}" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && grep -Eq 'legacy routed 0 allocations, central routed [1-9][0-9]*$' "$tmp/err"; then
    pass central "--central --stats: the Central Router routes the program's allocations"
else
    fail central "--central --stats" "exit $rc" "$tmp/err"
fi
other=$(ldconfig -p | awk '$1 == "libm.so.6" { print $NF; exit }')
out=$(LD_PRELOAD=$other run -- sh -c 'printf %s "$LD_PRELOAD"' 2>"$tmp/err")
if [ "$out" = "$lib $other" ]; then
    pass preload "an LD_PRELOAD already set is kept, after libhakmem.so"
else
    fail preload "LD_PRELOAD kept" "child saw '$out', expected '$lib $other'" "$tmp/err"
fi
# The HAKMEM_* variables the program sees, but the test harness's own (HK_*: none is HAKMEM_*).
env_of() {
    run "$@" -- sh -c 'env | grep "^HAKMEM_" | sort | tr "\n" " "' 2>/dev/null
}
printf '0 1024 tiny\n1025 18446744073709551615 mmap\n' >"$tmp/table.txt"
check_env() {
    local id=$1 want=$2
    shift 2
    local got
    got=$(env_of "$@")
    got=${got/HAKMEM_DIVERGENCE_REPORT=*\/hakmem.%p.json /HAKMEM_DIVERGENCE_REPORT=DIR/hakmem.%p.json }
    if [ "$got" = "$want" ]; then pass "$id" "$* sets: $want"; else
        fail "$id" "$* sets $want" "got '$got'"; fi
}
check_env env-central "HAKMEM_USE_CENTRAL_ROUTER=1 " --central
if hk_legacy_built; then
    check_env env-diff "HAKMEM_DIVERGENCE_REPORT=DIR/hakmem.%p.json HAKMEM_ROUTER_DIFF=1 " --diff
    check_env env-aa "HAKMEM_DIVERGENCE_REPORT=DIR/hakmem.%p.json HAKMEM_ROUTER_DIFF=2 " --aa
    check_env env-rollout "HAKMEM_ROUTER_ROLLOUT=50 " --rollout 50
    check_env env-sample "HAKMEM_DIVERGENCE_REPORT=DIR/hakmem.%p.json HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=10 " --diff --sample 10
else
    hk_left_out 4
    # No legacy/: every option that needs the legacy path or the differential mode is refused
    # with one line naming it, status 125, and the program never runs.
    refused() { # ID OPTIONS-NAMED OPTION...
        local id=$1 named=$2
        shift 2
        rm -f "$tmp/ran"
        run "$@" -- touch "$tmp/ran" >"$tmp/out" 2>"$tmp/err"
        local rc=$?
        local want="hakmem-run: $named: this hakmem has no legacy path and no differential mode (built without legacy/: ./configure --disable-legacy)"
        if [ "$rc" = 125 ] && [ "$(cat "$tmp/err")" = "$want" ] && [ ! -s "$tmp/out" ] && [ ! -e "$tmp/ran" ]; then
            pass "nolegacy-$id" "hakmem-run $*: refused, 125, '$want'"
        else
            fail "nolegacy-$id" "hakmem-run $*: refused with one line, 125, nothing run" \
                "exit $rc, program $([ -e "$tmp/ran" ] && echo ran || echo 'not run'); wanted: $want" "$tmp/err"
        fi
    }
    refused legacy --legacy --legacy
    refused diff --diff --diff
    refused aa --aa --aa
    refused rollout --rollout --rollout 50
    refused sample "--diff, --sample" --diff --sample 10
    refused report "--report, --aa" --stats --report="$tmp/r" --aa
    refused all "--legacy, --diff, --rollout, --sample, --report" --legacy --diff --rollout 5 --sample 2 --report "$tmp/r" --stats
    [ -e "$tmp/r" ] && fail nolegacy-report-dir "a refused --report DIR" "DIR was created"
fi
check_env env-table "HAKMEM_ROUTER_TABLE=$tmp/table.txt " --table "$tmp/table.txt"

# --- exit status ---------------------------------------------------------------------------
# the modes where hakmem-run execs PROGRAM, or waits for it (--diff: with legacy/ only)
modes=("")
if hk_legacy_built; then modes+=(--diff); else hk_left_out 2; fi # the status and the signal state with --diff
for mode in "${modes[@]}"; do
    run $mode -- sh -c 'exit 7' >/dev/null 2>&1
    rc=$?
    [ "$rc" = 7 ] && pass "status${mode}" "exit status 7 passed through ${mode:-(exec)}" ||
        fail "status${mode}" "exit status passed through ${mode:-(exec)}" "got $rc"
done
run -- sh -c 'kill -USR1 $$' >/dev/null 2>"$tmp/err"
rc=$?
# (the line in err, if any, is this shell's own job report: "User defined signal 1")
if [ "$rc" = $((128 + 10)) ] && ! grep -q '^hakmem' "$tmp/err"; then
    pass signal-exec "a program killed by SIGUSR1 (hakmem-run execs it): status 138, no hakmem line"
else
    fail signal-exec "death by signal passed through (exec)" "exit $rc (want 138)" "$tmp/err"
fi
if hk_legacy_built; then
    run --diff -- sh -c 'kill -USR1 $$' >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" = $((128 + 10)) ] && grep -Eq '^hakmem-run: verdict: INCOMPLETE: .*ended without an exit.*\((da|ba)?sh\)' "$tmp/err"; then
        pass signal "a program killed by SIGUSR1: the verdict says its record is incomplete, then hakmem-run dies by SIGUSR1"
    else
        fail signal "death by signal passed through" "exit $rc (want 138)" "$tmp/err"
    fi
else
    hk_left_out 1
fi
# The program's signal state is its own: SIGPIPE and SIGXFSZ at their default (python ignores
# them for itself: "yes | head" said "Broken pipe" and exited 1), a signal the parent ignored
# (nohup's SIGHUP, a background job's SIGINT) still ignored.
for mode in "${modes[@]}"; do
    run $mode -- yes 2>/dev/null | head -1 >/dev/null
    rc=${PIPESTATUS[0]}
    # (not through run: timeout(1) would give its child SIGHUP and SIGINT's default back)
    ign=$( (trap '' HUP INT
        "$bld/tools/hakmem-run" --lib "$lib" $mode -- awk '/^SigIgn/ { print $2 }' /proc/self/status 2>/dev/null) )
    # bits: SIGHUP 0x1, SIGINT 0x2, SIGPIPE 0x1000, SIGXFSZ 0x1000000
    if [ "$rc" = 141 ] && [ -n "$ign" ] && (( (0x$ign & 0x3) == 0x3 && (0x$ign & 0x1001000) == 0 )); then
        pass "sigstate${mode}" "${mode:-(exec)}: yes | head ends yes by SIGPIPE; ignored SIGHUP and SIGINT stay ignored"
    else
        fail "sigstate${mode}" "${mode:-(exec)}: the program's signal state" "yes: exit $rc (want 141), SigIgn ${ign:-?}"
    fi
done
# hakmem-run's own output lost (stderr closed, or a pipe its reader closed; stdout closed):
# the program's status still passes through (it was 1, python's traceback).
dm=("${modes[@]:1}") # --diff, with legacy/; else (exec) nothing
run "${dm[@]}" -- sh -c 'exit 5' >/dev/null 2>&-
rc1=$?
run "${dm[@]}" -- sh -c 'exit 5' 2>&1 >/dev/null | head -c1 >/dev/null
rc2=${PIPESTATUS[0]}
run "${dm[@]}" -- sh -c 'exit 5' >&- 2>/dev/null
rc3=$?
if [ "$rc1$rc2$rc3" = 555 ]; then
    pass closed-output "${dm[*]:-(exec)}: stderr closed, stderr a pipe closed early, stdout closed: the program's exit 5 passed through"
else
    fail closed-output "status with hakmem-run's output lost" "exits $rc1 $rc2 $rc3 (want 5 5 5)"
fi
if hk_legacy_built; then
    # Signals another process sends hakmem-run reach the program (SIGTERM, and SIGINT, which the
    # terminal would send to both: only a kill(2) is relayed).
    for sig in TERM INT; do
        marker="$tmp/$sig-reached"
        rm -f "$tmp/ready" # the last round's "ready" would send the signal before the program runs
        timeout 60 "$bld/tools/hakmem-run" --lib "$lib" --diff -- sh -c \
            "trap 'touch $marker; exit 0' $sig; echo ready; while :; do sleep 0.1; done" \
            >"$tmp/ready" 2>"$tmp/err" &
        # $! is timeout's pid; hakmem-run is its child
        for _ in $(seq 100); do [ -s "$tmp/ready" ] && break; sleep 0.1; done
        hr=$(pgrep -P $! | head -1)
        kill -"$sig" "$hr"
        wait $!
        rc=$?
        if [ -e "$marker" ] && [ "$rc" = 0 ] && grep -q 'hakmem-run: verdict: no divergence' "$tmp/err"; then
            pass "sig$sig" "SIG$sig sent to hakmem-run reaches the program; its status and the verdict follow"
        else
            fail "sig$sig" "SIG$sig relayed" "exit $rc, marker $([ -e "$marker" ] && echo set || echo missing)" "$tmp/err"
        fi
    done
else
    hk_left_out 2 # the relay: only --diff waits for PROGRAM
fi

if hk_legacy_built; then
    # --- --diff: output untouched, the verdict of every process --------------------------------
    run --diff -- sqlite3 :memory: 'select 1;' >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && [ "$(cat "$tmp/out")" = 1 ] && grep -q '^hakmem-run: verdict: no divergence' "$tmp/err"; then
        pass sqlite "--diff -- sqlite3 :memory: 'select 1;': sqlite's output, the verdict, exit 0"
    else
        fail sqlite "--diff sqlite3" "exit $rc, stdout '$(cat "$tmp/out")'" "$tmp/err"
    fi
    rep=$tmp/reports
    run --diff --report "$rep" -- sh -c '
        echo "sh $$" >>'"$tmp"'/pids
        sqlite3 :memory: "select 2;" >/dev/null
        python3 -c "
import os, sys
with open(\"'"$tmp"'/pids\", \"a\") as f: f.write(\"python %d\n\" % os.getpid())
pid = os.fork()
if pid == 0:
    with open(\"'"$tmp"'/pids\", \"a\") as f: f.write(\"fork %d\n\" % os.getpid())
    x = [bytes(100) for _ in range(1000)]
    os._exit(0)
os.waitpid(pid, 0)
"' >/dev/null 2>"$tmp/err"
    rc=$?
    python3 "$src/tools/hakmem-divergence" --json "$tmp/merged.json" "$rep" >/dev/null 2>&1
    missing=""
    for pid in $(awk '{print $2}' "$tmp/pids"); do
        python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(r['pid']==int(sys.argv[2]) for r in d['processes']) else 1)" \
            "$tmp/merged.json" "$pid" || missing="$missing $pid"
    done
    nproc=$(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['processes']))" "$tmp/merged.json" 2>/dev/null)
    if [ "$rc" = 0 ] && [ -z "$missing" ] && [ "${nproc:-0}" -ge 4 ] && grep -q 'hakmem-run: verdict: no divergence' "$tmp/err"; then
        pass children "--diff --report: every process (sh, sqlite3, python3 and its fork, which ends with _exit: $nproc) is in the verdict"
    else
        fail children "--diff: every process in the verdict" "exit $rc, $nproc reports, missing pids:${missing:-none}" "$tmp/err"
    fi
    # The same --report DIR again: its records would be merged into the new run's verdict (a
    # clean run called DIVERGENT after a divergent one), so it is refused and they are kept.
    before=$(ls "$rep" | sort | tr '\n' ' ')
    run --diff --report "$rep" -- true >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 125 ] && grep -q "^hakmem-run: --report $rep: already holds" "$tmp/err" &&
        [ "$(ls "$rep" | sort | tr '\n' ' ')" = "$before" ]; then
        pass report-reused "--report DIR holding an earlier run's records: refused (125), the records kept"
    else
        fail report-reused "--report DIR holding an earlier run's records" "exit $rc" "$tmp/err"
    fi
    # A report directory whose name holds "%p" (HAKMEM_DIVERGENCE_REPORT expands it): the
    # records land in it all the same.
    pct="$tmp/100%pct"
    run --diff --report "$pct" -- sqlite3 :memory: 'select 4;' >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^hakmem-run: verdict: no divergence' "$tmp/err" &&
        ls "$pct" | grep -q '^hakmem\.[0-9]*\.json$'; then
        pass report-percent "--report DIR with '%p' in its name: the records are in DIR, no divergence"
    else
        fail report-percent "--report DIR with '%p' in its name" "exit $rc, DIR holds: $(ls "$pct" | head -3)" "$tmp/err"
    fi
    printf '0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n32769 53248 pool ace\n53249 2097151 l25 ace\n2097152 18446744073709551615 mmap\n' >"$tmp/cand.txt"
    run --diff --table "$tmp/cand.txt" -- python3 -c 'x = [bytearray(n) for n in range(990, 1030)]' >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^hakmem-run: verdict: DIVERGENT' "$tmp/err"; then
        pass divergent "--diff with a candidate table moving Tiny's edge: DIVERGENT, the program's exit 0 kept"
    else
        fail divergent "--diff with a divergent table" "exit $rc" "$tmp/err"
    fi
    run --aa -- sqlite3 :memory: 'select 3;' >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^hakmem-run: verdict: no divergence' "$tmp/err"; then
        pass aa "--aa: the executing path against itself, no divergence"
    else
        fail aa "--aa" "exit $rc" "$tmp/err"
    fi
    # A fork child killed by a signal: its record holds its calls, the verdict says it ended.
    run --diff -- python3 -c '
import os, signal
pid = os.fork()
if pid == 0:
    x = [bytes(100) for _ in range(100)]
    os.kill(os.getpid(), signal.SIGKILL)
os.waitpid(pid, 0)' >/dev/null 2>"$tmp/err"
    rc=$?
    if [ "$rc" = 0 ] && grep -q '^hakmem-run: verdict: INCOMPLETE: .*1 process ended without an exit.*python' "$tmp/err"; then
        pass fork-killed "a fork child killed by SIGKILL: INCOMPLETE, naming it; the parent's exit 0 kept"
    else
        fail fork-killed "--diff with a killed fork child" "exit $rc" "$tmp/err"
    fi
    # Programs that compared nothing: a static program (no record at all) and one that makes no
    # allocation (its report says 0 calls): never called a pass.
    static=$(for f in /sbin/ldconfig /usr/sbin/ldconfig; do
        file -L "$f" 2>/dev/null | grep -q 'static' && { echo "$f"; break; }; done)
    if [ -n "$static" ]; then
        run --diff -- "$static" -p >/dev/null 2>"$tmp/err"
        rc=$?
        if [ "$rc" = 0 ] && grep -q '^hakmem-run: verdict: NOTHING COMPARED: no process left a record' "$tmp/err"; then
            pass static "a statically linked program ($static): NOTHING COMPARED, its exit 0 kept"
        else
            fail static "--diff with a static program" "exit $rc" "$tmp/err"
        fi
    else
        fail static "--diff with a static program" "no statically linked ldconfig on this machine"
    fi
    # false(1): no allocation at all. In a coverage build (HAKMEM_COVERAGE) libhakmem.so itself
    # allocates at exit (gcov's dump of its counters calls malloc), so there the process has
    # calls, all compared, and the verdict is "no divergence"; either way the exit 1 is kept.
    run --diff -- false >/dev/null 2>"$tmp/err"
    rc=$?
    if grep -q '^#define HAKMEM_COVERAGE 1' "$bld/config.h" 2>/dev/null; then
        want='^hakmem-run: verdict: no divergence (1 process, [1-9][0-9]* calls, [1-9][0-9]* compared)'
        what="a program that allocates nothing (false) in a coverage build: gcov's exit-time allocations compared, no divergence"
    else
        want='^hakmem-run: verdict: NOTHING COMPARED: the processes made no allocation'
        what="a program that allocates nothing (false): NOTHING COMPARED"
    fi
    if [ "$rc" = 1 ] && grep -q "$want" "$tmp/err"; then
        pass no-calls "$what, its exit 1 kept"
    else
        fail no-calls "--diff with a program that allocates nothing" "exit $rc" "$tmp/err"
    fi
else
    hk_left_out 9 # the verdicts of --diff and --aa
fi
out=$(run --stats=json -- "$bld/tests/stats_prog" 2>&1 >/dev/null | grep -c '^{"format": "hakmem-stats/1"')
[ "$out" = 1 ] && pass stats-json "--stats=json: the program's statistics as one JSON line" ||
    fail stats-json "--stats=json" "$out JSON lines"

if hk_legacy_built; then
    # A signal while the gate reads the reports (it can take seconds; a fake gate that sleeps,
    # beside a copy of hakmem-run): no traceback, the temporary reports removed, hakmem-run ends
    # by the signal.
    mkdir -p "$tmp/slow"
    cp "$bld/tools/hakmem-run" "$tmp/slow/hakmem-run"
    printf '#!/bin/sh\ntouch %s/gate-started\nexec sleep 60\n' "$tmp" >"$tmp/slow/hakmem-divergence"
    chmod +x "$tmp/slow/hakmem-divergence"
    "$tmp/slow/hakmem-run" --lib "$lib" --diff -- true >/dev/null 2>"$tmp/err" &
    hr=$!
    for _ in $(seq 300); do [ -e "$tmp/gate-started" ] && break; sleep 0.1; done
    kill -TERM "$hr"
    wait "$hr"
    rc=$?
    if [ "$rc" = 143 ] && ! grep -q Traceback "$tmp/err" && grep -q '^hakmem-run: verdict: interrupted by SIGTERM' "$tmp/err"; then
        pass gate-interrupted "SIGTERM while the gate runs: one line, no traceback, hakmem-run dies by SIGTERM"
    else
        fail gate-interrupted "SIGTERM while the gate runs" "exit $rc (want 143)" "$tmp/err"
    fi
else
    hk_left_out 1
fi

left=$(find "$TMPDIR" -mindepth 1 | head -3)
[ -z "$left" ] && pass tmp-removed "the default report directory is removed after the verdict" ||
    fail tmp-removed "temporary reports removed" "left: $left"

# --- usage errors ----------------------------------------------------------------------------
usage_case() {
    local id=$1 want=$2
    shift 2
    run "$@" >/dev/null 2>"$tmp/err"
    local rc=$?
    if [ "$rc" = "$want" ] && [ "$(wc -l <"$tmp/err")" -ge 1 ] && grep -q '^hakmem-run' "$tmp/err"; then
        pass "$id" "hakmem-run $*: exit $want with a message"
    else
        fail "$id" "hakmem-run $*: exit $want" "exit $rc" "$tmp/err"
    fi
}
usage_case unknown-option 125 --bogus -- true
if hk_legacy_built; then
    usage_case rollout-range 125 --rollout 101 -- true
    usage_case sample-alone 125 --sample 5 -- true
else
    hk_left_out 2
fi
usage_case no-program 125 --diff
usage_case bad-table 125 --table "$tmp/nonexistent" -- true
usage_case not-found 127 -- "$tmp/no-such-program"
printf 'not a program\n' >"$tmp/noexec"
usage_case not-executable 126 -- "$tmp/noexec"
printf '\x7fELF garbage\n' >"$tmp/badformat"
chmod +x "$tmp/badformat"
usage_case bad-format 126 -- "$tmp/badformat"
if hk_legacy_built; then
    usage_case not-found-diff 127 --diff -- "$tmp/no-such-program"
    usage_case bad-format-diff 126 --diff -- "$tmp/badformat"
    [ "$(wc -l <"$tmp/err")" = 1 ] && pass one-line "--diff, a program that cannot run: one line, as without --diff" ||
        fail one-line "--diff, a program that cannot run: one line" "$(wc -l <"$tmp/err") lines" "$tmp/err"
else
    hk_left_out 3
fi
# A candidate table that does not load: every process would keep the built-in table, and the
# verdict would pass a table that was never tried.
printf 'garbage\n' >"$tmp/garbage.txt"
usage_case table-invalid 125 "${dm[@]}" --table "$tmp/garbage.txt" -- true
grep -q 'not a valid routing table' "$tmp/err" && pass table-why "an invalid --table: hakmem-routes' reason given" ||
    fail table-why "an invalid --table: the reason" "" "$tmp/err"
printf '0 1024 tiny\n' >"$tmp/gap.txt"
usage_case table-gap 125 --table "$tmp/gap.txt" -- true
if hk_legacy_built; then usage_case report-alone 125 --report "$tmp/r" -- true; else hk_left_out 1; fi
usage_case stats-value 125 --stats=yes -- true
usage_case lib-missing 125 --lib "$tmp/nonexistent.so" -- true
# ld.so splits LD_PRELOAD at spaces and colons: such a library path cannot be preloaded.
mkdir -p "$tmp/with space"
cp "$lib" "$tmp/with space/libhakmem.so"
usage_case lib-space 125 --lib "$tmp/with space/libhakmem.so" -- true

if hk_legacy_built; then
    # A process still running when PROGRAM ends (a daemon): the verdict says so, and the reports
    # are kept (it still writes its record there).
    run --diff -- sh -c "python3 -c 'import os, time; x = [bytes(10)] * 3; open(\"$tmp/daemon\", \"w\").write(str(os.getpid())); time.sleep(30)' & while [ ! -s $tmp/daemon ]; do sleep 0.1; done" \
        >/dev/null 2>"$tmp/err"
    rc=$?
    kept=$(sed -n 's/.*(reports: \(.*\), kept: .*/\1/p' "$tmp/err")
    if [ "$rc" = 0 ] && grep -q '^hakmem-run: verdict: INCOMPLETE: no divergence so far, but 1 process still running' "$tmp/err" &&
        [ -n "$kept" ] && [ -d "$kept" ]; then
        pass daemon "a process still running at the end: INCOMPLETE, its reports kept in $kept"
    else
        fail daemon "--diff with a process left running" "exit $rc" "$tmp/err"
    fi
    [ -s "$tmp/daemon" ] && kill "$(cat "$tmp/daemon")" 2>/dev/null
else
    hk_left_out 1
fi
finish
