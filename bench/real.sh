#!/usr/bin/env bash
# real.sh: one run of a real program for bench/compare.sh: python3 (PYTHONMALLOC=malloc, an
# allocation-heavy script), sqlite3 (inserts, an index, a vacuum), gcc -O2 on a generated C file,
# sort on a generated file. Only the program runs under the allocator (ENV: its LD_PRELOAD and
# HAKMEM_* settings); this script, the input generation and the output check do not.
#
# Usage: bench/real.sh NAME WORKDIR SIZE [ENV...]
#   NAME     python3 | sqlite3 | gcc | sort
#   WORKDIR  a directory of this script's own (inputs are made there once, outputs each run)
#   SIZE     full (about 0.5-2 s under glibc on 2 cores) or quick (a fifth of it, smoke runs)
# Prints "real NAME seconds=S ops/s=1/S output=SHA256" (ops/s: runs per second, so that the
# runner's "higher is faster" ratios hold); exits non-zero when the program fails. The runner
# checks that the output's digest equals glibc's.
# REAL_CALLGRIND=1: the program (and its children: gcc's cc1) runs under valgrind's callgrind,
# and the line ends with " instructions=N", their sum (the runner's exact counts).
set -euo pipefail
export LC_ALL=C
[ $# -ge 3 ] || { echo "usage: $0 NAME WORKDIR SIZE [ENV...]" >&2; exit 2; }
name=$1 dir=$2
case $3 in full) scale=5 ;; quick) scale=1 ;; *) echo "real.sh: SIZE must be full or quick" >&2; exit 2 ;; esac
shift 3
mkdir -p "$dir"
cd "$dir"

# --- inputs, made once per WORKDIR and SIZE (deterministic) ---------------------------------
prep() { # NAME: the input files, made atomically
    local tag=.prep-$1-$scale
    [ -f "$tag" ] && return 0
    rm -f .prep-"$1"-* # another SIZE's inputs
    case $1 in
    python3)
        cat >bench.py <<'PY'
# Allocation-heavy Python: dicts, lists, tuples, strings and small ints built, walked,
# sorted, serialized, parsed and dropped, every object through malloc (PYTHONMALLOC=malloc).
import json, sys
n = int(sys.argv[1])
d = {}
for i in range(n):
    k = "k%07d" % (i * 7919 % n)
    d[k] = [i, str(i) * 3, (i, i + 1, float(i)), {"a": i, "b": [i] * (i % 7)}]
total = 0
for k, v in d.items():
    total += len(v[1]) + len(v[3]["b"])
keys = sorted(d, key=lambda k: (len(d[k][1]), k))
text = json.dumps([d[k] for k in keys[: n // 4]])
back = json.loads(text)
words = {}
for rec in back:
    for w in str(rec).split():
        words[w] = words.get(w, 0) + 1
del d, back
chunks = []
for i in range(n // 2):
    chunks.append(("x" * (i % 50)) + str(i))
    if len(chunks) > 1000:
        chunks = [c.upper() for c in chunks[500:]]
print(total, len(keys), len(text), len(words), sum(map(len, chunks)))
PY
        ;;
    sqlite3)
        cat >bench.sql <<SQL
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
CREATE TABLE t(id INTEGER PRIMARY KEY, a INTEGER, b TEXT, c REAL);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $((30000 * scale)))
INSERT INTO t(a, b, c) SELECT (i * 7919) % 100003, printf('row-%08d-%s', i, hex(i * 2654435761 % 4294967296)), i * 0.5 FROM n;
CREATE INDEX t_a ON t(a);
CREATE INDEX t_b ON t(b);
SELECT count(*), sum(a), min(b), max(b) FROM t;
SELECT a % 97 AS g, count(*), sum(c) FROM t GROUP BY g ORDER BY g LIMIT 5;
UPDATE t SET b = b || '-x' WHERE a % 3 = 0;
DELETE FROM t WHERE a % 2 = 0;
VACUUM;
SELECT count(*), sum(length(b)) FROM t;
SELECT b FROM t WHERE a BETWEEN 5000 AND 5100 ORDER BY b LIMIT 3;
SQL
        ;;
    gcc)
        awk -v n=$((5 * scale)) 'BEGIN {
            print "#include <stddef.h>"
            print "struct s { int a; long b; double c; char d[16]; };"
            for (i = 0; i < n; i++) {
                printf "static int tab%d[64] = {", i
                for (j = 0; j < 64; j++) printf "%d%s", (i * 131 + j * 17) % 1009, j < 63 ? "," : ""
                print "};"
                printf "long f%d(struct s *p, size_t m, long x) {\n", i
                print "    long acc = x;"
                printf "    for (size_t k = 0; k < m; k++) {\n"
                printf "        switch ((p[k].a + %d) & 7) {\n", i
                for (c = 0; c < 8; c++)
                    printf "        case %d: acc += tab%d[(k * %d + %d) & 63] * p[k].b; break;\n", c, i, c + 3, c * 5
                print "        }"
                printf "        if (p[k].c > %d.5) acc ^= (long)(p[k].c * %d);\n", i % 13, i % 7 + 1
                printf "        for (int q = 0; q < 16; q++) acc += p[k].d[q] * (q + %d);\n", i % 5
                print "    }"
                printf "    return acc %s f%d(p, m / 2, acc - 1);\n", (i ? "+" : "-"), (i ? i - 1 : 0)
                print "}"
            }
        }' >gen.c
        ;;
    sort)
        awk -v n=$((80000 * scale)) 'BEGIN {
            x = 12345
            for (i = 0; i < n; i++) {
                x = (x * 1103515245 + 12345) % 2147483648
                y = (x * 69069 + 1) % 2147483648
                printf "%08x %s %d line-%d\n", x, substr("abcdefghijklmnopqrstuvwxyz", x % 26 + 1, y % 20 + 1), y % 1000, i
            }
        }' >input.txt
        ;;
    *) echo "real.sh: unknown program '$1' (python3, sqlite3, gcc, sort)" >&2; exit 2 ;;
    esac
    : >"$tag"
}
prep "$name"

# The real python3 binary (a pyenv shim is a shell script: it would be timed and preloaded too).
py=
if [ "$name" = python3 ]; then
    py=$(python3 -c 'import sys; print(sys.executable)')
fi

vg=()
if [ "${REAL_CALLGRIND:-0}" = 1 ]; then
    rm -f cg.*.log
    vg=(valgrind --tool=callgrind --callgrind-out-file=/dev/null --trace-children=yes
        --log-file="$PWD/cg.%p.log")
fi
run() {
    case $name in
    python3) env "$@" PYTHONMALLOC=malloc PYTHONHASHSEED=0 "${vg[@]}" "$py" bench.py $((8000 * scale)) >out.txt ;;
    sqlite3) rm -f bench.db && env "$@" "${vg[@]}" sqlite3 bench.db <bench.sql >out.txt ;;
    gcc) env "$@" "${vg[@]}" gcc -O2 -c gen.c -o out.txt ;;
    sort) env "$@" "${vg[@]}" sort input.txt >out.txt ;;
    esac
}

t0=$EPOCHREALTIME
run "$@"
t1=$EPOCHREALTIME
digest=$(sha256sum <out.txt | cut -c1-16)
instr=
if [ ${#vg[@]} -gt 0 ]; then
    instr=" instructions=$(cat cg.*.log | sed -n 's/.*I *refs: *//p' | tr -d , | awk '{ n += $1 } END { print n + 0 }')"
fi
awk -v a="$t0" -v b="$t1" -v n="$name" -v d="$digest" -v i="$instr" \
    'BEGIN {s = b - a; if (s <= 0) s = 1e-6; printf "real %s seconds=%.4f ops/s=%.4f output=%s%s\n", n, s, 1 / s, d, i}'
