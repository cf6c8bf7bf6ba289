#!/usr/bin/env bash
# diff.sh: the differential mode, in real processes under LD_PRELOAD: reports are valid JSON
# with the right counts, an injected table fault is caught online with its exact range, A/A
# gives nothing and never changes the executing path, sampling is random (a periodic
# workload cannot hide), rollback, SIGUSR2, fork (each process its own record), threads, the
# log, per-site counts, and an unwritable path.
set -euo pipefail
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
stress="$bld/tests/stress_mt"
# jq-like checks with python3: q FILE EXPR (EXPR sees the report as r); true -> exit 0
q() { run_t 30 python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }
run() { run_t 120 env LD_PRELOAD="$lib" "$@"; }
V2='r["format"] == "hakmem-divergence-report/2" and r["calls"] == r["executed"]["legacy"] + r["executed"]["central"]'

# The candidate: Tiny ends at 1000 instead of 1024.
candidate_table "$tmp/edge.txt"

# 1. Multi-threaded workload, built-in table: compared > 0, divergent = 0, valid JSON.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/mt.%p.json" "$stress" 2 20000 8 4194304 3 >/dev/null &&
    f=$(ls "$tmp"/mt.*.json) && q "$f" "$V2"' and r["compared"] > 0 and r["compared"] == r["calls"] and r["divergent"] == 0 and r["divergences"] == [] and r["dropped"] == 0 and r["keys"]["seen"] > 10'; then
    pass "2-thread stress in differential mode: valid report, every call compared, 0 divergences"
else fail "2-thread stress in differential mode: $(cat "$tmp"/mt.*.json 2>/dev/null | head -c 600)"; fi

# 2. A/A with the faulty candidate loaded: a path against itself gives nothing...
if run HAKMEM_ROUTER_DIFF=2 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/aa.json" "$prog" sizes 900 1100 &&
    q "$tmp/aa.json" 'r["mode"]["aa"] and r["compared"] >= 201 and r["divergent"] == 0'; then
    pass "A/A: 0 divergences"
else fail "A/A: $(cat "$tmp/aa.json" 2>/dev/null | head -c 600)"; fi
# ... and never changes the path that executes: central executing gives 1010 bytes a Pool
# block (2 KiB usable) under the candidate, with or without A/A.
want=$(run HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" "$prog" usable 1010 3)
got=$(run HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=2 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/aac.json" "$prog" usable 1010 3)
if [ "$want" = "usable 2048" ] && [ "$got" = "$want" ] &&
    q "$tmp/aac.json" 'r["executing"] == "central" and r["executed"]["central"] == r["calls"] and r["divergent"] == 0'; then
    pass "A/A with the Central Router executing still executes it (1010 -> usable 2048, report: central)"
else fail "A/A with central executing: without A/A '$want', with A/A '$got'; $(head -c 400 "$tmp/aac.json" 2>/dev/null)"; fi

# 3. Injected fault, online: exactly 1001..1024 tiny->pool, 24 sizes x 3.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/edge.json" "$prog" sizes 900 1100 3 &&
    q "$tmp/edge.json" "$V2"' and all(d["legacy"] == "tiny" and d["central"] == "pool" and d["interval"] == [1001, 1024] for d in r["divergences"]) and min(d["size_min"] for d in r["divergences"]) == 1001 and max(d["size_max"] for d in r["divergences"]) == 1024 and sum(d["count"] for d in r["divergences"]) == r["divergent"] == 72 and r["mode"]["table"].endswith("edge.txt")'; then
    pass "injected edge fault caught online: 1001-1024 tiny->pool, 72 calls"
else fail "injected edge fault: $(cat "$tmp/edge.json" 2>/dev/null | head -c 900)"; fi
if out=$(run_t 60 "$tool" "$tmp/edge.json" 2>&1); [ $? -ne 0 ] && grep -q '1001-1024' <<<"$out"; then
    pass "hakmem-divergence flags the online report (exit 1, 1001-1024)"
else fail "hakmem-divergence on the online report: $out"; fi

# 4. Sampling is random per call: a workload whose every 10th call diverges, sampled 1 in 10,
#    is caught at about 1 in 10 of its divergent calls -- a fixed "every 10th call" clock
#    sees either none of them or all of them.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=10 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/per.json" "$prog" period 10 100 1010 200000 &&
    q "$tmp/per.json" "$V2"' and r["mode"]["sample"] == 10 and 1000 <= r["divergent"] <= 3000 and 15000 <= r["compared"] <= 25000'; then
    pass "period-10 workload under 1-in-10 sampling: $(run_t 30 python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%d of 20000 divergent calls and %d of %d calls compared" % (r["divergent"], r["compared"], r["calls"]))' "$tmp/per.json")"
else fail "period-10 workload under 1-in-10 sampling: $(head -c 700 "$tmp/per.json" 2>/dev/null)"; fi
# ... and the first call of every size key is compared whatever N is: a rare size in a short
#     process is never missed.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=1000000000 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/rare.json" "$prog" period 1000 100 1010 1000 &&
    q "$tmp/rare.json" 'r["divergent"] == 1 and r["divergences"][0]["count"] == 1 and [1001, 1024, "malloc"] in r["keys"]["seen_list"] and r["keys"]["seen"] >= 2'; then
    pass "1 in 10^9: the one call of the divergent size is compared (first call of its key)"
else fail "first call of a key at 1 in 10^9: $(head -c 700 "$tmp/rare.json" 2>/dev/null)"; fi

# 5. Rollback: central executing, 3 divergences -> latched once, said once, in the report.
err=$(run HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_ROLLBACK=3 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/rb.json" "$prog" sizes 900 1100 3 2>&1 >/dev/null)
if [ "$(grep -c 'hakmem: warning: rollback:' <<<"$err")" = 1 ] &&
    q "$tmp/rb.json" 'r["rollback"] is not None and r["rollback"]["after"] == 3 and r["rollback"]["divergence"]["legacy"] == "tiny" and r["executing"] == "legacy" and r["divergent"] == 72 and r["divergent_executed"]["central"] == 3 and r["executed"]["central"] > 0 and r["executed"]["legacy"] > 0'; then
    pass "rollback latches once after 3 divergences on central-executed calls (stderr once, report)"
else fail "rollback: stderr: $err; report: $(cat "$tmp/rb.json" 2>/dev/null | head -c 600)"; fi

# 6. SIGUSR2 still refreshes the JSON report of a running process (records need no signal).
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/sig.json" "$prog" signal "$tmp/sig.json" >/dev/null &&
    q "$tmp/sig.json" 'r["compared"] > 0 and r["state"] == "exited"'; then
    pass "SIGUSR2: report written while running"
else fail "SIGUSR2 report"; fi
# ... and never takes the program's own handler.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/own.json" "$prog" own-usr2; then
    pass "a program's own SIGUSR2 handler runs"
else fail "a program's own SIGUSR2 handler did not run"; fi

# 7. fork: parent and child each write a report (%p) and a record of their own calls; the
#    child's says who its parent was.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/fk.%p.json" "$prog" fork 990 1030 &&
    [ "$(ls "$tmp"/fk.*.json | wc -l)" = 2 ] && [ "$(ls "$tmp"/fk.*.hkrec | wc -l)" = 2 ] &&
    run_t 30 python3 - "$tmp"/fk.*.json <<'PY'
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a["pid"] != b["pid"]
for r in (a, b):
    assert r["divergent"] == sum(d["count"] for d in r["divergences"])
    assert min(d["size_min"] for d in r["divergences"]) == 1001
# The child (fewer calls) reports only its own 24 divergent sizes; the parent both passes.
child, parent = sorted((a, b), key=lambda r: r["calls"])
assert child["divergent"] == 24, child["divergent"]
assert parent["divergent"] == 48, parent["divergent"]
assert child["parent_instance"] == parent["instance"], (child["parent_instance"], parent["instance"])
assert parent["parent_instance"] is None
assert child["record"] != parent["record"] and str(child["pid"]) in child["record"]
PY
then pass "fork: two reports and two records, the child's counts are its own"
else fail "fork reports: $(cat "$tmp"/fk.*.json 2>/dev/null | head -c 900)"; fi

# 8. Many threads: counts add up across threads.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/th.json" "$prog" threads 8 900 1100 &&
    q "$tmp/th.json" 'r["divergent"] == 8 * 24 and sum(d["count"] for d in r["divergences"]) == 192 and r["compared"] >= 8 * 201'; then
    pass "8 threads: 192 divergences counted, none lost"
else fail "threads: $(cat "$tmp/th.json" 2>/dev/null | head -c 600)"; fi

# 9. The divergence log: one valid JSON line per distinct divergence.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_LOG="$tmp/log.jsonl" HAKMEM_DIVERGENCE_REPORT="$tmp/lg.json" "$prog" sizes 900 1100 3 &&
    run_t 30 python3 - "$tmp/log.jsonl" "$tmp/lg.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = json.load(open(sys.argv[2]))
assert len(lines) == len(r["divergences"]) == 1, (len(lines), len(r["divergences"]))
assert all(l["format"] == "hakmem-divergence-log/2" and l["divergence"]["legacy"] == "tiny" and l["instance"] == r["instance"] for l in lines)
PY
then pass "divergence log: one JSON line per distinct divergence"
else fail "divergence log: $(head -c 600 "$tmp/log.jsonl" 2>/dev/null)"; fi

# 10. Rollout: executing per call site, reported as such, calls counted per executing path.
if run HAKMEM_ROUTER_ROLLOUT=50 HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/ro.json" "$prog" sizes 1 2000 &&
    q "$tmp/ro.json" "$V2"' and r["executing"] == "rollout" and r["mode"]["rollout_pct"] == 50 and r["mode"]["rollout_by"] == "site" and r["divergent"] == 0'; then
    pass "rollout 50%: reported as rollout, 0 divergences"
else fail "rollout: $(cat "$tmp/ro.json" 2>/dev/null | head -c 600)"; fi

# 11. Per-site counts are exact: 1 call from site_a, 1000 from site_b.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/st.json" "$prog" sites 1010 1 1000 &&
    run_t 30 python3 - "$tmp/st.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d, = r["divergences"]
counts = sorted(s["count"] for s in d["sites"])
assert counts == [1, 1000] and d["count"] == 1001 and d["other_sites"] == 0, d
mods = {m["module"]: m for m in r["modules"]}
for s in d["sites"]:
    assert mods[s["module"]]["path"].endswith("diff_prog") and mods[s["module"]]["build_id"], s
PY
then
    out=$(run_t 60 "$tool" "$tmp/st.json" 2>&1 || true)
    if grep -q 'site_b+0x[0-9a-f]* (.*diff_prog+0x[0-9a-f]*) ×1000, site_a+0x[0-9a-f]* (.*diff_prog+0x[0-9a-f]*) ×1$' <<<"$out"; then
        pass "per-site counts are exact (site_b x1000, site_a x1; module + offset + build-id; static functions named offline)"
    else fail "per-site counts in hakmem-divergence: $out"; fi
else fail "per-site counts: $(head -c 900 "$tmp/st.json" 2>/dev/null)"; fi

# 12. An unwritable report path: one warning, the program's result unchanged.
want=$(sort <<<"$(printf '3\n1\n2\n')")
got=$(printf '3\n1\n2\n' | run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT=/proc/hakmem-no/such.json sort 2>"$tmp/unw.err")
if [ "$got" = "$want" ] && [ "$(grep -c 'hakmem: warning: HAKMEM_DIVERGENCE_REPORT=' "$tmp/unw.err")" = 1 ] && [ "$(grep -c '' "$tmp/unw.err")" = 1 ]; then
    pass "unwritable report path: one warning, output unchanged"
else fail "unwritable report path: got '$got', stderr: $(cat "$tmp/unw.err")"; fi

finish
