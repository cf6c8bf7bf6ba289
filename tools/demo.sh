#!/usr/bin/env bash
# tools/demo.sh -- the main job (README's first command): build hakmem if needed, then run
# real workloads on it with the launcher (hakmem-run --diff --stats: LD_PRELOAD, both routing
# decisions on every allocation, divergences recorded, statistics at exit, the verdict of
# every process each workload started): a 2-thread stress and a benchmark, sqlite3 and
# python3 (PYTHONMALLOC=malloc); then shows that a process killed mid-run (SIGKILL) loses
# nothing: its record file is read while it runs and after the kill; then the merged
# divergence summary and gate of all the other processes, and where the HTML route map is.
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
# Every workload runs through the launcher: LD_PRELOAD=libhakmem.so, differential mode,
# statistics at exit, and when it ends the verdict of every process it started.
run() { # NAME PROGRAM ARGS...
    local name=$1
    shift
    echo "=== hakmem-run --diff --stats --report demo-out/$name -- ${*#"$top"/}"
    "$top/tools/hakmem-run" --lib "$lib" --diff --stats --report "$out/$name" -- "$@"
    echo
}

run stress "$top/tests/stress_mt" 2 50000 8 4194304 7
run random-mixed "$top/bench/bench_random_mixed" 2000000 1000 7
run sqlite sqlite3 :memory: "
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t(k, s) SELECT (i * 7919) % 100003, printf('row-%d-%s', i, hex(randomblob(8 + i % 24))) FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(s)) FROM t;
SELECT k % 10 AS b, count(*), max(length(s)) FROM t GROUP BY b ORDER BY b;
DELETE FROM t WHERE id % 3 = 0;
SELECT count(*) FROM t;
"
# Debian's interpreter when there is one (a version manager's shim would start processes of
# its own), with PYTHONMALLOC=malloc so every object goes through hakmem.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
PYTHONMALLOC=malloc run python "$py" - <<'PY'
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

echo "=== a process killed mid-run: bench_random_mixed, read live, then SIGKILL"
"$top/tools/hakmem-run" --lib "$lib" --diff --report "$out/killed" -- \
    "$top/bench/bench_random_mixed" 2000000000 1000 7 >/dev/null &
launcher=$!
sleep 2
echo "--- hakmem-divergence --live (no signal sent; the process keeps running):"
"$top/tools/hakmem-divergence" --live "$out/killed" | head -n 2 || true
echo "--- kill -9 of the benchmark: the record has every call up to the kill; the verdict says so:"
victim=$(pgrep -P "$launcher" | head -1)
kill -KILL "$victim"
wait "$launcher" 2>/dev/null || true

echo
echo "=== divergence summary and gate: every process of the workloads above (legacy path vs Central Router)"
status=0
"$top/tools/hakmem-divergence" --html "$out/divergence.html" --json "$out/divergence.json" \
    "$out/stress" "$out/random-mixed" "$out/sqlite" "$out/python" || status=$?
echo
echo "HTML route map and table: $out/divergence.html"
echo "reports and records: $out/<workload>/hakmem.*.json and *.hkrec; merged: $out/divergence.json"
echo "the killed process: $out/killed/"
exit "$status"
