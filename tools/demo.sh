#!/usr/bin/env bash
# tools/demo.sh -- build hakmem (if needed) and run real programs under it
# with HAKMEM_STATS=1, so its statistics are printed at exit.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

bash "$top/tools/deps.sh"

if [ ! -f "$top/.libs/libhakmem.so" ]; then
    [ -x ./configure ] || autoreconf -fi
    [ -f Makefile ] || ./configure
    make -j"${HK_JOBS:-2}"
fi
lib="$top/.libs/libhakmem.so"

echo "=== sqlite3 :memory: under hakmem ($lib)"
HAKMEM_STATS=1 LD_PRELOAD="$lib" sqlite3 :memory: "
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000)
INSERT INTO t(k, s) SELECT (i * 7919) % 100003, printf('row-%d-%s', i, hex(randomblob(8 + i % 24))) FROM n;
CREATE INDEX t_k ON t(k);
SELECT count(*), sum(length(s)) FROM t;
SELECT k % 10 AS b, count(*), max(length(s)) FROM t GROUP BY b ORDER BY b;
SELECT count(*) FROM t a JOIN t b ON a.k = b.id WHERE a.id % 1000 = 0;
DELETE FROM t WHERE id % 3 = 0;
SELECT count(*) FROM t;
"

echo
# Debian's interpreter when there is one (a version manager's shim would print the stats of
# every process it starts), with PYTHONMALLOC=malloc so every object goes through hakmem.
py=/usr/bin/python3
[ -x "$py" ] || py=$(command -v python3)
echo "=== $py (PYTHONMALLOC=malloc) under hakmem"
HAKMEM_STATS=1 PYTHONMALLOC=malloc LD_PRELOAD="$lib" "$py" - <<'PY'
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
