#!/usr/bin/env bash
# tools/demo.sh -- the main job (README's first command): build hakmem if needed, then run
# real workloads on it under LD_PRELOAD in differential mode (both routing decisions on every
# allocation, divergences recorded): one of our benchmarks (2 threads), sqlite3 and python3
# (PYTHONMALLOC=malloc). Prints hakmem's statistics for each; then shows that a process killed
# mid-run (SIGKILL) loses nothing: its record file is read while it runs and after the kill;
# then the merged divergence summary and gate of all the other processes, and where the HTML
# route map is.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

bash "$top/tools/deps.sh"

if [ ! -f "$top/.libs/libhakmem.so" ] || [ ! -x "$top/tests/stress_mt" ]; then
    [ -x ./configure ] || autoreconf -fi
    [ -f Makefile ] || ./configure
    make -j"${HK_JOBS:-2}"
    make -j"${HK_JOBS:-2}" tests/stress_mt bench
fi
lib="$top/.libs/libhakmem.so"
out=${HK_DEMO_OUT:-$top/demo-out}
rm -rf "$out"
mkdir -p "$out"
export HAKMEM_ROUTER_DIFF=1 HAKMEM_STATS=1 HAKMEM_DIVERGENCE_REPORT="$out/report.%p.json"

echo "=== benchmark: tests/stress_mt, 2 threads, 8 B .. 4 MiB, stamped and checked"
LD_PRELOAD="$lib" "$top/tests/stress_mt" 2 50000 8 4194304 7

echo
echo "=== benchmark: bench_random_mixed, 16 .. 1040 B"
LD_PRELOAD="$lib" "$top/bench/bench_random_mixed" 2000000 1000 7

echo
echo "=== sqlite3 :memory: under hakmem"
LD_PRELOAD="$lib" sqlite3 :memory: "
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t(k, s) SELECT (i * 7919) % 100003, printf('row-%d-%s', i, hex(randomblob(8 + i % 24))) FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(s)) FROM t;
SELECT k % 10 AS b, count(*), max(length(s)) FROM t GROUP BY b ORDER BY b;
DELETE FROM t WHERE id % 3 = 0;
SELECT count(*) FROM t;
"

echo
# Debian's interpreter when there is one (a version manager's shim would start processes of
# its own), with PYTHONMALLOC=malloc so every object goes through hakmem.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
echo "=== $py (PYTHONMALLOC=malloc) under hakmem"
PYTHONMALLOC=malloc LD_PRELOAD="$lib" "$py" - <<'PY'
import json, random
random.seed(42)
d = {}
for i in range(200000):
    d["key%d" % i] = [i, str(i) * (i % 17), {"x": i % 13}]
blob = json.dumps(d)
back = json.loads(blob)
words = sorted(("w%06d" % random.randrange(10**6)) * (1 + i % 5) for i in range(100000))
del d
print("python: dict", len(back), "json bytes", len(blob), "words", len(words))
PY

echo
echo "=== a process killed mid-run: bench_random_mixed, read live, then SIGKILL"
mkdir -p "$out/killed"
HAKMEM_STATS=0 HAKMEM_DIVERGENCE_REPORT="$out/killed/report.%p.json" LD_PRELOAD="$lib" \
    "$top/bench/bench_random_mixed" 2000000000 1000 7 >/dev/null &
victim=$!
sleep 2
echo "--- hakmem-divergence --live (no signal sent; the process keeps running):"
"$top/tools/hakmem-divergence" --live "$out/killed" | head -n 2 || true
kill -KILL "$victim"
wait "$victim" 2>/dev/null || true
echo "--- after kill -9: the record has every call up to the kill; the gate calls it incomplete:"
"$top/tools/hakmem-divergence" "$out/killed" || true

unset HAKMEM_ROUTER_DIFF HAKMEM_STATS HAKMEM_DIVERGENCE_REPORT
echo
echo "=== divergence summary and gate: every other process above (legacy path vs Central Router)"
status=0
"$top/tools/hakmem-divergence" --html "$out/divergence.html" --json "$out/divergence.json" "$out" || status=$?
echo
echo "HTML route map and table: $out/divergence.html"
echo "reports: $out/report.*.json; records: $out/report.*.hkrec; merged: $out/divergence.json"
echo "the killed process: $out/killed/"
exit "$status"
