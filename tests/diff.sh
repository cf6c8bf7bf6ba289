#!/usr/bin/env bash
# diff.sh: the differential mode, in real processes under LD_PRELOAD: reports are valid JSON
# with the right counts, an injected table fault is caught online with its exact range, A/A
# gives nothing, sampling, rollback, SIGUSR2, fork, threads, the log, and an unwritable path.
set -euo pipefail
bld=${HK_TOP_BUILDDIR:-$PWD}
src=${HK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
prog="$bld/tests/diff_prog"
stress="$bld/tests/stress_mt"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
ko() { echo "FAIL: $1"; fail=$((fail + 1)); }
# jq-like checks with python3: q FILE EXPR (EXPR sees the report as r); true -> exit 0
q() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1"; }
run() { env LD_PRELOAD="$lib" "$@"; }

# The candidate: Tiny ends at 1000 instead of 1024.
"$bld/tools/hakmem-routes" | sed 's/^0 1024 tiny$/0 1000 tiny/; s/^1025 8192 pool ace$/1001 8192 pool ace/' >"$tmp/edge.txt"
grep -q '^1001 8192 pool ace$' "$tmp/edge.txt" || { echo "FAIL: could not build the candidate table"; exit 1; }

# 1. Multi-threaded workload, built-in table: compared > 0, divergent = 0, valid JSON.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/mt.%p.json" "$stress" 2 20000 8 4194304 3 >/dev/null &&
    f=$(ls "$tmp"/mt.*.json) && q "$f" 'r["compared"] > 0 and r["compared"] == r["calls"] and r["divergent"] == 0 and r["divergences"] == [] and r["dropped"] == 0 and r["format"] == "hakmem-divergence-report/1"'; then
    ok "2-thread stress in differential mode: valid report, compared > 0, 0 divergences"
else ko "2-thread stress in differential mode: $(cat "$tmp"/mt.*.json 2>/dev/null | head -c 600)"; fi

# 2. A/A with the faulty candidate loaded: legacy against legacy gives nothing.
if run HAKMEM_ROUTER_DIFF=2 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/aa.json" "$prog" sizes 900 1100 &&
    q "$tmp/aa.json" 'r["mode"]["aa"] and r["compared"] >= 201 and r["divergent"] == 0'; then
    ok "A/A: 0 divergences"
else ko "A/A: $(cat "$tmp/aa.json" 2>/dev/null | head -c 600)"; fi

# 3. Injected fault, online: exactly 1001..1024 tiny->pool, 24 calls, both entries' records.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/edge.json" "$prog" sizes 900 1100 &&
    q "$tmp/edge.json" 'all(d["legacy"] == "tiny" and d["central"] == "pool" for d in r["divergences"]) and min(d["size_min"] for d in r["divergences"]) == 1001 and max(d["size_max"] for d in r["divergences"]) == 1024 and sum(d["count"] for d in r["divergences"]) == r["divergent"] and r["divergent"] >= 24 and r["mode"]["table"].endswith("edge.txt")'; then
    ok "injected edge fault caught online: 1001-1024 tiny->pool"
else ko "injected edge fault: $(cat "$tmp/edge.json" 2>/dev/null | head -c 900)"; fi
if out=$("$src/tools/hakmem-divergence" "$tmp/edge.json" 2>&1); [ $? -ne 0 ] && grep -q '1001-1024' <<<"$out"; then
    ok "hakmem-divergence flags the online report (exit 1, 1001-1024)"
else ko "hakmem-divergence on the online report: $out"; fi

# 4. Sampling: 1 in 10 on one thread.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=10 HAKMEM_DIVERGENCE_REPORT="$tmp/s.json" "$prog" sizes 1 5000 2 &&
    q "$tmp/s.json" 'r["calls"] >= 10000 and r["compared"] == r["calls"] // 10 and r["mode"]["sample"] == 10'; then
    ok "sampling 1 in 10: compared == calls / 10"
else ko "sampling: $(cat "$tmp/s.json" 2>/dev/null | head -c 600)"; fi

# 5. Rollback: central executing, 3 divergences -> latched once, said once, in the report.
err=$(run HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_ROLLBACK=3 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/rb.json" "$prog" sizes 900 1100 3 2>&1 >/dev/null)
if [ "$(grep -c 'hakmem: warning: rollback:' <<<"$err")" = 1 ] &&
    q "$tmp/rb.json" 'r["rollback"] is not None and r["rollback"]["after"] == 3 and r["rollback"]["divergence"]["legacy"] == "tiny" and r["executing"] == "legacy" and r["divergent"] == 72'; then
    ok "rollback latches once after 3 divergences (stderr once, report)"
else ko "rollback: stderr: $err; report: $(cat "$tmp/rb.json" 2>/dev/null | head -c 600)"; fi

# 6. SIGUSR2 writes the report without exiting.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/sig.json" "$prog" signal "$tmp/sig.json" >/dev/null &&
    q "$tmp/sig.json" 'r["compared"] > 0'; then
    ok "SIGUSR2: report written while running"
else ko "SIGUSR2 report"; fi

# 7. fork: parent and child each write a valid report of their own calls.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/fk.%p.json" "$prog" fork 990 1030 &&
    [ "$(ls "$tmp"/fk.*.json | wc -l)" = 2 ] &&
    python3 - "$tmp"/fk.*.json <<'PY'
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
PY
then ok "fork: two valid reports, the child's counts are its own"
else ko "fork reports: $(cat "$tmp"/fk.*.json 2>/dev/null | head -c 900)"; fi

# 8. Many threads: counts add up across threads.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_REPORT="$tmp/th.json" "$prog" threads 8 900 1100 &&
    q "$tmp/th.json" 'r["divergent"] == 8 * 24 and sum(d["count"] for d in r["divergences"]) == 192 and r["compared"] >= 8 * 201'; then
    ok "8 threads: 192 divergences counted, none lost"
else ko "threads: $(cat "$tmp/th.json" 2>/dev/null | head -c 600)"; fi

# 9. The divergence log: one valid JSON line per distinct divergence.
if run HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_DIVERGENCE_LOG="$tmp/log.jsonl" HAKMEM_DIVERGENCE_REPORT="$tmp/lg.json" "$prog" sizes 900 1100 3 &&
    python3 - "$tmp/log.jsonl" "$tmp/lg.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
r = json.load(open(sys.argv[2]))
assert len(lines) == len(r["divergences"]) == 2, (len(lines), len(r["divergences"]))
assert all(l["format"] == "hakmem-divergence-log/1" and l["divergence"]["legacy"] == "tiny" for l in lines)
PY
then ok "divergence log: one JSON line per distinct divergence"
else ko "divergence log: $(head -c 600 "$tmp/log.jsonl" 2>/dev/null)"; fi

# 10. Rollout: executing per call site, reported as such.
if run HAKMEM_ROUTER_ROLLOUT=50 HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/ro.json" "$prog" sizes 1 2000 &&
    q "$tmp/ro.json" 'r["executing"] == "rollout" and r["mode"]["rollout_pct"] == 50 and r["divergent"] == 0'; then
    ok "rollout 50%: reported as rollout, 0 divergences"
else ko "rollout: $(cat "$tmp/ro.json" 2>/dev/null | head -c 600)"; fi

# 11. An unwritable report path: one warning, the program's result unchanged.
want=$(sort <<<"$(printf '3\n1\n2\n')")
got=$(printf '3\n1\n2\n' | env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT=/proc/hakmem-no/such.json sort 2>"$tmp/unw.err")
if [ "$got" = "$want" ] && [ "$(grep -c 'hakmem: warning: HAKMEM_DIVERGENCE_REPORT=' "$tmp/unw.err")" = 1 ]; then
    ok "unwritable report path: one warning, output unchanged"
else ko "unwritable report path: got '$got', stderr: $(cat "$tmp/unw.err")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
