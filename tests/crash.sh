#!/usr/bin/env bash
# crash.sh: crash consistency of the record storage. A recording process (tests/diff_prog
# progress: T threads call malloc+free of a divergent size forever, and report every 64
# calls of each thread on a pipe) is read live at random moments and then SIGKILLed at a
# random moment, ROUNDS times. Every divergent call is compared (1 in 1), so the truth is
# known from the pipe: with c0 the calls reported before a read and c1 those after it,
#   - a live snapshot lies in [c0, c1 + 65 T] (never above the truth, never missing a call
#     the program had finished), never goes below the previous snapshot, and is consistent
#     (divergent <= compared <= calls);
#   - after the kill the record holds [c, c + 65 T] with c the last count reported, and
#     hakmem-divergence reads it whole (state ended, nothing unreadable).
# Environment: HK_CRASH_ROUNDS (default 5: `make check`; check-stress runs 100 with 2
# threads), HK_CRASH_THREADS (1).
set -uo pipefail
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
rounds=${HK_CRASH_ROUNDS:-5}
threads=${HK_CRASH_THREADS:-1}
kpid=
on_exit '[ -n "$kpid" ] && kill_t "$kpid"'
candidate_table "$tmp/edge.txt"
# done_calls FILE: the calls the program reported finished, summed over its threads (the
# largest count of each thread: the last line may be caught half written, and a cut number
# is always smaller)
done_calls() { awk 'NF == 2 && $2 + 0 > c[$1] + 0 {c[$1] = $2} END {s = 0; for (t in c) s += c[t]; print s}' "$1"; }
# divergent DIR [--live]: the divergent calls in the records of DIR, as hakmem-divergence reads them
divergent() {
    run_t 60 python3 "$tool" --json "$tmp/m.json" "$@" >/dev/null 2>"$tmp/tool.err"
    # (a snapshot is consistent too: divergent <= compared <= calls, else "inconsistent")
    run_t 30 python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); t=m["totals"]; print(t["divergent"], len(m["unreadable"]), ",".join(p["state"] for p in m["processes"]) + ("" if t["divergent"] <= t["compared"] <= t["calls"] else "-inconsistent"))' "$tmp/m.json"
}

slack=$((65 * threads))
bad=""
for r in $(seq 1 "$rounds"); do
    d="$tmp/r$r"
    mkdir "$d"
    : >"$d/progress"
    # (under timeout, in its own process group: kill_t)
    timeout -s KILL 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" \
        HAKMEM_DIVERGENCE_REPORT="$d/r.%p.json" "$prog" progress 1010 "$threads" >"$d/progress" &
    kpid=$!
    for _ in $(seq 1 500); do [ -s "$d/progress" ] && break; sleep 0.01; done
    prev=0
    for s in 1 2 3; do
        sleep "0.0$((RANDOM % 9 + 1))"
        c0=$(done_calls "$d/progress")
        read -r v nbad states < <(divergent --live "$d")
        c1=$(done_calls "$d/progress")
        if [ "$nbad" != 0 ] || [ "$states" != running ] || [ "$v" -lt "$c0" ] || [ "$v" -gt $((c1 + slack)) ] || [ "$v" -lt "$prev" ]; then
            bad+=" [round $r snapshot $s: $v divergent read live, reported $c0..$c1, previous $prev, state $states, unreadable $nbad: $(head -c 200 "$tmp/tool.err")]"
        fi
        prev=$v
    done
    sleep "0.0$((RANDOM % 9 + 1))"
    kill_t "$kpid"
    wait "$kpid" 2>/dev/null
    kpid=
    c=$(done_calls "$d/progress")
    read -r v nbad states < <(divergent "$d")
    if [ "$nbad" != 0 ] || [ "$states" != ended ] || [ "$v" -lt "$c" ] || [ "$v" -gt $((c + slack)) ] || [ "$v" -lt "$prev" ]; then
        bad+=" [round $r after SIGKILL: $v divergent in the record, $c reported, previous snapshot $prev, state $states, unreadable $nbad]"
    fi
    echo "# round $r: killed after $c reported calls; the record holds $v"
    rm -rf "$d"
done
if [ -z "$bad" ]; then
    pass "$rounds rounds x $threads thread(s): every live snapshot and every record after SIGKILL within [reported, reported + $slack], never going back"
else fail "crash consistency:$bad"; fi

finish
