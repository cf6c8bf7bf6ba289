#!/usr/bin/env bash
# evidence.sh: nothing is lost whatever ends a process, and tools/hakmem-divergence says what
# it found. In real processes under LD_PRELOAD, with the candidate table whose Tiny rule ends
# at 1000 (so 1001..1024 diverge):
#   - a child that ends with _exit, a process killed by SIGKILL and an idle running process
#     (read without any signal) all show their divergences, and their states;
#   - an exec'd image's record is marked and not taken for a crash;
#   - a record whose pid now belongs to another process is "ended";
#   - a stripped program with its debug file found by build-id gets its sites named;
#   - the gate: incomplete records, running processes and processes that compared nothing
#     fail unless accepted; the merged JSON's verdict equals the exit status.
set -uo pipefail
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
on_exit '[ -n "${idle_t:-}" ] && kill_t "$idle_t"'
# gate NAME ARGS...: the tool's stdout in $tmp/NAME.out, stderr in $tmp/NAME.err, status $rc
gate() {
    local n=$1; shift
    run_t 60 python3 "$tool" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err"
    rc=$?
}
show() { sed 's/^/    | /' "$tmp/$1.out" "$tmp/$1.err" | head -30; }
# j FILE EXPR: EXPR over the merged JSON m
j() { run_t 30 python3 -c "import json,sys; m=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }

candidate_table "$tmp/edge.txt"
export HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_ROUTER_DIFF=1

# 1. A child that ends with _exit: no exit handlers, no report; its record has everything,
#    and says the end was deliberate (complete: the gate fails only on the divergence).
mkdir "$tmp/ex"
run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/ex/r.%p.json" "$prog" fork-exit 900 1100
gate ex --json "$tmp/ex.json" "$tmp/ex"
if [ "$rc" = 1 ] && j "$tmp/ex.json" '[p["state"] for p in m["processes"] if p["divergent"]] == ["_exit"] and m["totals"]["divergent"] == 24 and m["verdict"] == "fail" and m["exit_status"] == 1 and m["reasons"] == ["1 distinct divergence (24 calls)"]' &&
    grep -q '^tiny→pool .* 24 ' "$tmp/ex.out" && [ "$(ls "$tmp"/ex/*.json | wc -l)" = 1 ]; then
    pass "a child's _exit: its 24 divergences are read from its record (no report), marked _exit, complete"
else fail "a child's _exit"; show ex; fi
# ... while an abort (a signal) is an ended record: incomplete unless accepted.
mkdir "$tmp/ab"
{ ( run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/ab/r.%p.json" "$prog" abort 1000 1010 ) 2>/dev/null; } 2>/dev/null
gate ab --json "$tmp/ab.json" "$tmp/ab"
if [ "$rc" = 1 ] && j "$tmp/ab.json" 'm["processes"][0]["state"] == "ended" and m["totals"]["divergent"] == 10 and any("ended without an exit" in x for x in m["reasons"])'; then
    pass "abort: ended, its 10 divergences read, incomplete"
else fail "abort"; show ab; fi
gate ab2 --accept-incomplete --json "$tmp/ab2.json" "$tmp/ab"
if [ "$rc" = 1 ] && j "$tmp/ab2.json" 'not any("ended" in x for x in m["reasons"])'; then
    pass "--accept-incomplete accepts the ended record (the divergence still fails)"
else fail "--accept-incomplete"; show ab2; fi

# 2. SIGKILL in the middle of a run.
mkdir "$tmp/kill"
timeout -s KILL 120 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/kill/r.%p.json" "$prog" progress 1010 >"$tmp/kill.progress" &
kpid=$!
for _ in $(seq 1 200); do [ -s "$tmp/kill.progress" ] && break; sleep 0.01; done
sleep 0.2
kill_t "$kpid"; wait "$kpid" 2>/dev/null
done_calls=$(awk 'NF == 2 && $2 + 0 > m {m = $2 + 0} END {print m}' "$tmp/kill.progress")
gate kill --json "$tmp/kill.json" "$tmp/kill"
if [ "$rc" = 1 ] && [ -n "$done_calls" ] && j "$tmp/kill.json" "m['processes'][0]['state'] == 'ended' and $done_calls <= m['totals']['divergent'] <= $done_calls + 65 and not list((__import__('pathlib').Path('$tmp/kill')).glob('*.json'))"; then
    pass "SIGKILL: the record holds every divergent call the program reported ($done_calls <= $(run_t 30 python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["divergent"])' "$tmp/kill.json") <= $done_calls + 65), no report written, marked ended"
else fail "SIGKILL (progress $done_calls)"; show kill; fi

# 3. An idle running process, read without a signal (its record is mapped by it).
mkdir "$tmp/idle"
mkfifo "$tmp/idle.in"
# (idle_t: its timeout, idle_pid: the program)
timeout -s KILL 300 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/idle/r.%p.json" "$prog" idle 1010 5000 <"$tmp/idle.in" >"$tmp/idle.out" &
idle_t=$!
exec 7>"$tmp/idle.in"
for _ in $(seq 1 500); do grep -q ready "$tmp/idle.out" 2>/dev/null && break; sleep 0.01; done
idle_pid=$(pgrep -P "$idle_t")
sig_before=$(grep -E '^SigCgt' /proc/$idle_pid/status 2>/dev/null)
gate idle --json "$tmp/idle.json" "$tmp/idle"
if [ "$rc" = 1 ] && j "$tmp/idle.json" 'm["processes"][0]["state"] == "running" and m["totals"]["divergent"] == 5000 and any("running" in x for x in m["reasons"])' && kill -0 "$idle_pid"; then
    pass "an idle running process: 5000 divergences read live, no signal sent; running fails the gate"
else fail "idle running process"; show idle; fi
gate idle2 --live --json "$tmp/idle2.json" "$tmp/idle"
if [ "$rc" = 1 ] && j "$tmp/idle2.json" 'not any("running" in x for x in m["reasons"]) and m["reasons"]'; then
    pass "--live accepts the running process (the divergence still fails)"
else fail "--live"; show idle2; fi
# --watch: shown again until the process ends (it ends when its stdin closes).
run_t 120 python3 "$tool" --watch 0.2 "$tmp/idle" >"$tmp/watch.out" 2>&1 7>&- &
watcher=$!
# Until it has shown the running process twice (30 s at most: a loaded machine is slow).
for _ in $(seq 300); do
    [ "$(grep -c '^hakmem-divergence: ' "$tmp/watch.out")" -ge 2 ] && break
    sleep 0.1
done
exec 7>&-
wait "$idle_t"
idle_t=
wait "$watcher"
wrc=$?
if [ "$(grep -c '^hakmem-divergence: ' "$tmp/watch.out")" -ge 2 ] && grep -q 'again in 0.2 s' "$tmp/watch.out" &&
    tail -n 20 "$tmp/watch.out" | grep -q '(1 exited)' && [ "$wrc" = 1 ]; then
    pass "--watch: shown $(grep -c '^hakmem-divergence: ' "$tmp/watch.out") times while it ran, stops once it exited (exit 1: the divergence)"
else fail "--watch (exit $wrc)"; tail -n 15 "$tmp/watch.out"; fi
gate idle3 --json "$tmp/idle3.json" "$tmp/idle"
if j "$tmp/idle3.json" 'm["processes"][0]["state"] == "exited" and m["totals"]["divergent"] == 5000 and len(m["processes"][0]["files"]) == 2'; then
    pass "after its normal exit: one process, record and report together, exited"
else fail "idle process after exit"; show idle3; fi

# 3b. A process killed by SIGKILL whose parent has not reaped it yet (a zombie): ended, not
#     running and not taken for an exec (its maps are gone, its record never marked).
mkdir "$tmp/zombie"
run_t 120 python3 - "$lib" "$prog" "$tmp/zombie" "$tool" >"$tmp/zombie.out" 2>"$tmp/zombie.err" <<'PY'
import json, os, signal, subprocess, sys, time
lib, prog, d, tool = sys.argv[1:5]
env = dict(os.environ, LD_PRELOAD=lib, HAKMEM_DIVERGENCE_REPORT=d + "/r.%p.json")
c = subprocess.Popen([prog, "idle", "1010", "50"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
c.stdout.readline()  # "ready"
os.kill(c.pid, signal.SIGKILL)
for _ in range(500):  # dead, not reaped (Popen reaps only in wait/poll)
    with open(f"/proc/{c.pid}/stat", "rb") as f:
        if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
            break
    time.sleep(0.01)
r = subprocess.run([sys.executable, tool, "--json", d + "/m.json", d], capture_output=True)
c.wait()
m = json.load(open(d + "/m.json"))
print(r.returncode, [p["state"] for p in m["processes"]])
sys.exit(0 if r.returncode == 1 and [p["state"] for p in m["processes"]] == ["ended"] else 1)
PY
if [ $? = 0 ]; then pass "a killed process not yet reaped (zombie): ended, the gate fails ($(cat "$tmp/zombie.out"))"
else fail "zombie"; show zombie; fi

# 4. exec: the first image's record is marked by the second image (same pid and start time).
mkdir "$tmp/exec"
run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/exec/r.%p.json" "$prog" exec 900 1100
gate exec --json "$tmp/exec.json" "$tmp/exec"
if j "$tmp/exec.json" 'sorted(p["state"] for p in m["processes"]) == ["exec\x27d", "exited"] and len({p["pid"] for p in m["processes"]}) == 1 and m["totals"]["divergent"] == 48 and not any("ended" in x for x in m["reasons"])'; then
    pass "exec: two images of one pid, the first exec'd (not taken for a crash), the second exited"
else fail "exec"; show exec; fi

# ... and exec into a program that does not load hakmem: every exec function marks the record
#     before the exec (not taken for a crash once the program is gone); a failed exec (of a
#     path that does not exist: not even marked) leaves it running (its calls after it still
#     counted).
for how in execve execv execvp execvpe execl execlp execle execveat fexecve; do
    mkdir "$tmp/exo-$how"
    run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/exo-$how/r.%p.json" "$prog" exec-other "$how" 900 1100
    erc=$?
    gate "exo-$how" --json "$tmp/exo-$how.json" "$tmp/exo-$how"
    if [ "$erc" = 0 ] && [ "$rc" = 1 ] && j "$tmp/exo-$how.json" '[p["state"] for p in m["processes"]] == ["exec\x27d"] and m["totals"]["divergent"] == 48 and not any("ended" in x for x in m["reasons"])'; then
        pass "exec by $how into a program without hakmem: exec'd, not ended; a failed exec before it left the record running (48 divergences)"
    else fail "exec by $how into a program without hakmem (exit $erc)"; show "exo-$how"; fi
done
# A failed exec: the record running again (the process, killed after it, is ended).
mkdir "$tmp/exo-fail"
{ ( run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/exo-fail/r.%p.json" "$prog" exec-other fail 1000 1010 ) 2>/dev/null; } 2>/dev/null
gate exo-fail --json "$tmp/exo-fail.json" "$tmp/exo-fail"
if [ "$rc" = 1 ] && j "$tmp/exo-fail.json" '[p["state"] for p in m["processes"]] == ["ended"] and m["totals"]["divergent"] == 20'; then
    pass "a failed exec leaves the record running (the process, killed after it, is ended)"
else fail "a failed exec"; show exo-fail; fi
# A vfork child's exec does not mark its parent's record (they share memory): the parent,
# killed after it, is ended.
mkdir "$tmp/vfork"
{ ( run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/vfork/r.%p.json" "$prog" vfork-kill 1000 1010 ) 2>/dev/null; } 2>/dev/null
gate vfork --json "$tmp/vfork.json" "$tmp/vfork"
if [ "$rc" = 1 ] && j "$tmp/vfork.json" '[p["state"] for p in m["processes"]] == ["ended"] and m["totals"]["divergent"] == 10'; then
    pass "a vfork child's exec leaves the parent's record alone (the parent, killed, is ended)"
else fail "vfork child's exec"; show vfork; fi

# 5. A record whose pid now belongs to another process (pid reuse): ended.
mkdir "$tmp/reuse"
rec=$(ls "$tmp/kill"/*.hkrec | head -1)
run_t 30 python3 - "$rec" "$tmp/reuse/r.hkrec" $$ <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<q", b, 96, int(sys.argv[3]))  # the pid of this test's shell, alive
open(sys.argv[2], "wb").write(b)
PY
gate reuse --json "$tmp/reuse.json" "$tmp/reuse"
if j "$tmp/reuse.json" "m['processes'][0]['state'] == 'ended' and 'another process' in m['processes'][0]['state_note']"; then
    pass "a record whose pid was reused by a live process: ended (start time differs)"
else fail "pid reuse"; show reuse; fi

# 6. A stripped program, its debug file found by build-id: sites named offline.
if command -v objcopy >/dev/null && command -v nm >/dev/null; then
    mkdir -p "$tmp/strip" "$tmp/dbg"
    cp "$prog" "$tmp/strip/prog"
    bid=$(run_t 30 python3 - "$tmp/strip/prog" <<'PY'
import subprocess, sys, re
out = subprocess.run(["readelf", "-n", sys.argv[1]], capture_output=True, text=True).stdout
print(re.search(r"Build ID: ([0-9a-f]+)", out).group(1))
PY
)
    mkdir -p "$tmp/dbg/.build-id/${bid:0:2}"
    objcopy --only-keep-debug "$tmp/strip/prog" "$tmp/dbg/.build-id/${bid:0:2}/${bid:2}.debug"
    strip --strip-all "$tmp/strip/prog"
    run_t 60 env LD_PRELOAD="$lib" HAKMEM_DIVERGENCE_REPORT="$tmp/strip/r.%p.json" "$tmp/strip/prog" sites 1010 1 1000
    gate strip0 "$tmp/strip"
    gate strip --debug-dir "$tmp/dbg" "$tmp/strip"
    if ! nm "$tmp/strip/prog" >/dev/null 2>&1 || [ -z "$(nm "$tmp/strip/prog" 2>/dev/null)" ]; then stripped=1; else stripped=0; fi
    if [ "$stripped" = 1 ] && ! grep -q 'site_b' "$tmp/strip0.out" &&
        grep -q 'site_b+0x[0-9a-f]* (.*/strip/prog+0x[0-9a-f]*) ×1000, site_a+0x[0-9a-f]* (.*/strip/prog+0x[0-9a-f]*) ×1' "$tmp/strip.out"; then
        pass "a stripped program: static functions site_a, site_b named from its debug file (by build-id)"
    else fail "stripped program with a separate debug file (stripped=$stripped)"; show strip0; show strip; fi
else fail "objcopy/nm (binutils) missing"; fi

# 7. The gate: a process that made calls but compared none fails; verdict == exit status;
#    a closed stdout is not an error.
mkdir "$tmp/empty"
run_t 30 python3 - "$tmp/empty/r.json" <<'PY'
import json, sys
json.dump({"format": "hakmem-divergence-report/1", "pid": 4242, "calls": 5000, "compared": 0,
           "divergent": 0, "dropped": 0, "divergences": []}, open(sys.argv[1], "w"))
PY
gate empty --json "$tmp/empty.json" "$tmp/empty"
if [ "$rc" = 1 ] && j "$tmp/empty.json" 'm["verdict"] == "fail" and m["exit_status"] == 1 and any("compared none" in x for x in m["reasons"])'; then
    pass "0 compared fails the gate (exit 1, verdict fail)"
else fail "0 compared"; show empty; fi
gate empty2 --accept-empty --json "$tmp/empty2.json" "$tmp/empty"
if [ "$rc" = 0 ] && j "$tmp/empty2.json" 'm["verdict"] == "pass" and m["exit_status"] == 0'; then
    pass "--accept-empty: exit 0, verdict pass"
else fail "--accept-empty"; show empty2; fi
# A process given a routing table it cannot load (here a directory) runs the built-in one:
# its record says so, and the gate fails it (it compared another table) unless accepted.
mkdir "$tmp/notable"
run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_TABLE="$tmp" HAKMEM_DIVERGENCE_REPORT="$tmp/notable/r.%p.json" "$prog" sizes 1 100 2>"$tmp/notable-prog.err"
gate notable --json "$tmp/notable.json" "$tmp/notable"
if [ "$rc" = 1 ] && grep -q "keeping the built-in table" "$tmp/notable-prog.err" &&
    j "$tmp/notable.json" 'any("could not load the routing table" in x and "--accept-builtin" in x for x in m["reasons"]) and all(p["mode"]["table"].startswith("builtin: HAKMEM_ROUTER_TABLE=") and "not a regular file" in p["mode"]["table"] for p in m["processes"])' &&
    grep -q "compared the built-in table: HAKMEM_ROUTER_TABLE=" "$tmp/notable.out"; then
    pass "a routing table not loaded: the record says why, the gate fails the process (exit 1)"
else fail "routing table not loaded (exit $rc)"; cat "$tmp/notable-prog.err"; show notable; fi
gate notable2 --accept-builtin "$tmp/notable"
if [ "$rc" = 0 ]; then pass "--accept-builtin: exit 0"
else fail "--accept-builtin (exit $rc)"; show notable2; fi
# Its path in bytes that are not UTF-8, with a newline: shown escaped, every output written.
mkdir "$tmp/odd"
odd="$tmp/odd/t$(printf '\377')
x.tbl"
run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_TABLE="$odd" HAKMEM_DIVERGENCE_REPORT="$tmp/odd/r.%p.json" "$prog" sizes 1 100 2>/dev/null
gate odd --accept-builtin --html "$tmp/odd.html" --json "$tmp/odd.json" "$tmp/odd"
if [ "$rc" = 0 ] && [ -s "$tmp/odd.html" ] && j "$tmp/odd.json" 'm["verdict"] == "pass"' &&
    grep -q 'compared the built-in table: HAKMEM_ROUTER_TABLE=.*t\\xff\\x0ax.tbl not loaded' "$tmp/odd.out"; then
    pass "a table path with a non-UTF-8 byte and a newline: escaped, text, HTML and JSON written"
else fail "odd table path (exit $rc)"; show odd; fi
# A table file named "builtin" is recorded as ./builtin, never as the built-in table.
mkdir "$tmp/named"
printf '0 1024 tiny\n1025 18446744073709551615 mmap\n' >"$tmp/named/builtin"
(cd "$tmp/named" && run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_TABLE=builtin HAKMEM_DIVERGENCE_REPORT="$tmp/named/r.%p.json" "$prog" sizes 1 100 2>/dev/null)
gate named --json "$tmp/named.json" "$tmp/named"
if j "$tmp/named.json" 'len(m["processes"]) == 1 and all(p["mode"]["table"] == "./builtin" for p in m["processes"]) and not any("could not load" in x for x in m["reasons"])'; then
    pass "a table file named builtin: recorded as ./builtin"
else fail "table file named builtin"; show named; fi
unset HAKMEM_ROUTER_DIFF
mkdir "$tmp/nodiff"
run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_ROLLOUT=50 HAKMEM_DIVERGENCE_REPORT="$tmp/nodiff/r.%p.json" "$prog" sizes 1 100 2>"$tmp/nodiff-prog.err"
gate nodiff "$tmp/nodiff"
if [ "$rc" = 2 ] && grep -q "HAKMEM_DIVERGENCE_REPORT is set but has no effect" "$tmp/nodiff-prog.err"; then
    pass "a rollout without HAKMEM_ROUTER_DIFF: warned, no report, the gate finds nothing (exit 2)"
else fail "rollout without diff (exit $rc)"; cat "$tmp/nodiff-prog.err"; show nodiff; fi
export HAKMEM_ROUTER_DIFF=1
rc=0
run_t 60 python3 "$tool" "$tmp/ex" 2>"$tmp/pipe.err" | head -n 1 >/dev/null || true
run_t 60 python3 "$tool" --json "$tmp/pipe.json" "$tmp/ex" 2>"$tmp/pipe.err" | head -n 1 >/dev/null
st=${PIPESTATUS[0]}
if [ "$st" = 1 ] && [ ! -s "$tmp/pipe.err" ] && j "$tmp/pipe.json" 'm["exit_status"] == 1'; then
    pass "| head: no error, the verdict (exit 1) and --json still produced"
else fail "| head: exit $st"; cat "$tmp/pipe.err"; fi

finish
