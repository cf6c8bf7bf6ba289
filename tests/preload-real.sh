#!/bin/bash
# preload-real.sh - run real programs with and without LD_PRELOAD=$HK_LIB
# and compare their results (run by `make check-real`, a few minutes).
#
# Environment (normally set by automake's AM_TESTS_ENVIRONMENT):
#   HK_LIB           absolute path of the .so to preload.  Set but empty:
#                        baseline run without LD_PRELOAD (to validate this
#                        script against the system allocator).  Unset: looked
#                        up in the build tree; not found is a FAIL.
#   HK_TOP_BUILDDIR  top build dir (default: current dir)
#   HK_TOP_SRCDIR    top source dir (default: dirname of this script/..)
#   HK_REAL_ENV      optional extra "VAR=value ..." assignments applied
#                        (as `env $HK_REAL_ENV`) to the preloaded runs only.
#                        With HAKMEM_ROUTER_DIFF=1 among them (differential mode),
#                        every preloaded run also gets
#                        HAKMEM_DIVERGENCE_REPORT=<tmp>/div/<check>.%p.json, and one
#                        extra check at the end requires that every program wrote
#                        reports (valid JSON), that each program's processes compared
#                        > 0 calls in total, and that there are 0 divergences and 0
#                        dropped records over all reports (needs python3).
#
# Every check runs a program twice (baseline without preload, then with
# LD_PRELOAD) and requires the same exit status (0) and identical stdout
# (for python's regrtest: identical summary lines).  One "PASS: name" /
# "FAIL: name: why" line per check, then "N passed, M failed"; exit 1 if
# any check failed.  Missing programs are FAILs.  Writes only into a
# mktemp -d directory.
#
# Debian packages needed: python3 libpython3.11-testsuite sqlite3 git perl
# gcc libc6-dev coreutils gawk|mawk
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
start_dir=$(pwd)
: "${HK_TOP_SRCDIR:=$(cd "$script_dir/.." && pwd)}"
: "${HK_TOP_BUILDDIR:=$start_dir}"
case "$HK_TOP_BUILDDIR" in /*) ;; *) HK_TOP_BUILDDIR="$start_dir/$HK_TOP_BUILDDIR" ;; esac
export HK_TOP_SRCDIR HK_TOP_BUILDDIR

lib_from_env=1
if [ -z "${HK_LIB+set}" ]; then
    lib_from_env=0
    HK_LIB=
    for cand in "$HK_TOP_BUILDDIR/.libs/libhakmem.so" "$HK_TOP_BUILDDIR/libhakmem.so" \
                "$HK_TOP_BUILDDIR/src/.libs/libhakmem.so" "$HK_TOP_BUILDDIR/src/libhakmem.so"; do
        if [ -f "$cand" ]; then HK_LIB=$cand; break; fi
    done
fi
if [ -n "$HK_LIB" ]; then
    case "$HK_LIB" in /*) ;; *) HK_LIB="$start_dir/$HK_LIB" ;; esac
fi
# extra assignments for the preloaded runs (word-split like `env $HK_REAL_ENV`)
read -r -a real_env <<<"${HK_REAL_ENV:-}" || true
diff_mode=0
for a in ${real_env[@]+"${real_env[@]}"}; do
    case "$a" in
        HAKMEM_ROUTER_DIFF=1) diff_mode=1 ;;
        [A-Za-z_]*=*) ;;
        *) echo "preload-real: HK_REAL_ENV: '$a' is not a VAR=value assignment" >&2; exit 2 ;;
    esac
done

# Nothing inherited may leak into the baseline runs.
unset LD_PRELOAD
export LC_ALL=C TZ=UTC

TMO=600   # per-command timeout (s): a deadlock is a FAIL, not a hang

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-real.XXXXXX")
# HK_KEEP_TMP=1 keeps the work dir (outputs, diffs) for debugging
cleanup() {
    if [ "${HK_KEEP_TMP:-0}" = 1 ]; then echo "# kept work dir $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$tmp"
export TMPDIR="$tmp"   # programs' own temp files also stay in here

# pass, fail (ID WHAT "" FILE: FILE's lines follow the FAIL line), finish
# shellcheck source=checks.sh
. "$script_dir/checks.sh"

# have NAME PROG...: FAIL check NAME if a required program is missing
have() {
    local name=$1 p; shift
    for p in "$@"; do
        if ! command -v "$p" >/dev/null 2>&1; then
            fail "$name" "required program '$p' not found in PATH"
            return 1
        fi
    done
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fs", b - a }'; }

# run MODE TAG CMD...: run CMD in a fresh work dir $tmp/TAG.MODE (MODE is
# base or pre), stdout to $tmp/TAG.MODE.out, stderr to $tmp/TAG.MODE.err,
# exit status in $rc, wall time in $dt.  Never aborts the script.
# differential mode: the programs whose preloaded runs must have written reports
div_dir="$tmp/div"
div_tags=()
run() {
    local mode=$1 tag=$2; shift 2
    local wd="$tmp/$tag.$mode" out="$tmp/$tag.$mode.out" err="$tmp/$tag.$mode.err" t0
    local extra=()
    rm -rf "$wd"; mkdir -p "$wd"
    if [ "$mode" = pre ] && [ "$diff_mode" = 1 ]; then
        mkdir -p "$div_dir"
        extra=(HAKMEM_DIVERGENCE_REPORT="$div_dir/$tag.%p.json")
        div_tags+=("$tag")
    fi
    t0=$(now)
    rc=0
    if [ "$mode" = pre ] && [ -n "$HK_LIB" ]; then
        { (cd "$wd" && exec timeout -k 10 "$TMO" env LD_PRELOAD="$HK_LIB" \
              ${real_env[@]+"${real_env[@]}"} ${extra[@]+"${extra[@]}"} "$@") >"$out" 2>"$err" </dev/null || rc=$?; } 2>>"$err"
    elif [ "$mode" = pre ]; then
        { (cd "$wd" && exec timeout -k 10 "$TMO" env ${real_env[@]+"${real_env[@]}"} ${extra[@]+"${extra[@]}"} "$@") \
              >"$out" 2>"$err" </dev/null || rc=$?; } 2>>"$err"
    else
        { (cd "$wd" && exec timeout -k 10 "$TMO" env "$@") >"$out" 2>"$err" </dev/null || rc=$?; } 2>>"$err"
    fi
    dt=$(elapsed "$t0" "$(now)")
}
why_rc() {
    case $1 in
        124|137) echo "timed out after ${TMO}s (exit $1)" ;;
        *) if [ "$1" -gt 128 ]; then echo "killed by signal $(( $1 - 128 )) ($(kill -l $(( $1 - 128 )) 2>/dev/null || echo '?'))"; else echo "exit status $1"; fi ;;
    esac
}
preload_error() { grep -q -e 'cannot be preloaded' -e 'ERROR: ld.so' "$1"; }

# compare NAME TAG [FILTER]: run CMD... (given after --) with and without
# preload; same exit status (must be 0) and identical stdout (optionally
# passed through FILTER, a command reading stdin) required.
compare() {
    local name=$1 tag=$2 filter=${3:-cat} brc prc bdt pdt
    shift 3
    run base "$tag" "$@"; brc=$rc; bdt=$dt
    run pre  "$tag" "$@"; prc=$rc; pdt=$dt
    local bo="$tmp/$tag.base.out" po="$tmp/$tag.pre.out" pe="$tmp/$tag.pre.err"
    $filter <"$bo" >"$bo.cmp" || true
    $filter <"$po" >"$po.cmp" || true
    if [ "$brc" -ne 0 ]; then
        fail "$name" "baseline run (without preload) failed: $(why_rc "$brc"); cannot compare" "" "$tmp/$tag.base.err"
    elif [ "$prc" -ne 0 ]; then
        cat "$po" >>"$pe"
        fail "$name" "preloaded run: $(why_rc "$prc") (baseline exit 0)" "" "$pe"
    elif preload_error "$pe"; then
        fail "$name" "dynamic loader refused the library" "" "$pe"
    elif [ ! -s "$bo.cmp" ]; then
        fail "$name" "baseline produced no (filtered) output" "" "$tmp/$tag.base.err"
    elif ! cmp -s "$bo.cmp" "$po.cmp"; then
        diff "$bo.cmp" "$po.cmp" >"$tmp/$tag.diff" || true
        fail "$name" "stdout differs between preloaded and baseline run (< baseline, > preloaded)" "" "$tmp/$tag.diff"
    else
        pass "$name (baseline $bdt, preloaded $pdt)"
    fi
}

echo "# preload-real: HK_LIB=${HK_LIB:-<empty: baseline run without LD_PRELOAD>}"
echo "# HK_REAL_ENV=${HK_REAL_ENV:-} builddir=$HK_TOP_BUILDDIR srcdir=$HK_TOP_SRCDIR"
t_start=$(now)

# ---------------------------------------------------------------- preloaded?
if [ -z "$HK_LIB" ]; then
    if [ "$lib_from_env" = 0 ]; then
        fail "library preloaded" "HK_LIB unset and no libhakmem.so found under $HK_TOP_BUILDDIR"
    else
        echo "# NOTE: HK_LIB is empty: all 'preloaded' runs use the system allocator"
    fi
elif [ ! -f "$HK_LIB" ]; then
    fail "library preloaded" "HK_LIB=$HK_LIB does not exist"
else
    lib_real=$(readlink -f "$HK_LIB")
    run pre maps cat /proc/self/maps
    n=$(grep -cF -- "$lib_real" "$tmp/maps.pre.out" || true)
    if [ "$rc" -ne 0 ]; then
        fail "library preloaded" "cat /proc/self/maps under preload: $(why_rc "$rc")" "" "$tmp/maps.pre.err"
    elif preload_error "$tmp/maps.pre.err"; then
        fail "library preloaded" "dynamic loader refused it: $(head -n 1 "$tmp/maps.pre.err")"
    elif [ "$n" -lt 1 ]; then
        fail "library preloaded" "$lib_real not mapped in a preloaded process"
    else
        pass "library preloaded ($(basename "$lib_real") mapped $n times)"
    fi
fi

# ----------------------------------------------------- python3 regression tests
pytests="test_dict test_list test_json test_set test_bytes"
name="python3 -m test $pytests (PYTHONMALLOC=malloc)"
if have "$name" python3; then
    mods=$(echo "test.libregrtest $pytests" | sed 's/ \(test_\)/ test.\1/g; s/ /,/g')
    if ! python3 -c "import $mods" >"$tmp/pyimport.err" 2>&1; then
        pyver=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo X.Y)
        fail "$name" "python3's 'test' package is missing or incomplete (Debian: apt-get install libpython$pyver-testsuite)" "" "$tmp/pyimport.err"
    else
        # keep only the summary: timings and load averages differ between runs
        py_summary() { grep -E '^(== Tests result|All [0-9]+ tests? OK|Total tests|Total test files|Result:|[0-9]+ tests? (failed|skipped|altered))'; }
        # shellcheck disable=SC2086
        compare "$name" pytest py_summary PYTHONMALLOC=malloc PYTHONHASHSEED=0 python3 -m test $pytests
    fi
fi

# ------------------------------------------------------------------- sqlite3
name="sqlite3 300k-row recursive-CTE insert + 50k INSERTs + queries"
if have "$name" sqlite3 awk; then
    {
        cat <<'EOF'
PRAGMA journal_mode=WAL;
PRAGMA cache_size=-2000;
CREATE TABLE t(id INTEGER PRIMARY KEY, k INTEGER, s TEXT, b BLOB);
BEGIN;
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000)
INSERT INTO t SELECT x, (x * 7919) % 10007, printf('row-%d-%s', x, hex(x * x)), zeroblob(x % 200) FROM c;
COMMIT;
CREATE TABLE u(id INTEGER PRIMARY KEY, name TEXT, v REAL);
BEGIN;
EOF
        awk 'BEGIN { for (i = 1; i <= 50000; i++)
                     printf "INSERT INTO u(name, v) VALUES (%c%s-%d%c, %d.25);\n", 39,
                            substr("alphabetagammadeltaepsilon", 1 + i % 20, 1 + i % 7), i, 39, i % 977 }'
        cat <<'EOF'
COMMIT;
CREATE INDEX t_k ON t(k, s);
CREATE INDEX u_name ON u(name);
SELECT count(*), sum(k), max(length(s)), min(s), max(s), sum(length(b)) FROM t;
SELECT k, count(*), sum(id) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 5;
SELECT count(*), sum(a.id + b.id) FROM t a JOIN t b ON a.id = b.k WHERE a.k < 500;
SELECT count(*), sum(v), min(name), max(name), count(DISTINCT name) FROM u;
SELECT u.name, count(*) FROM u JOIN t ON t.k = u.id % 10007 WHERE u.id % 1000 = 7 GROUP BY u.name ORDER BY 2 DESC, 1 LIMIT 5;
UPDATE t SET s = s || '/' || s WHERE id % 3 = 0;
DELETE FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(s)) FROM t;
SELECT sum(length(x)) FROM (SELECT group_concat(s, ',') AS x FROM t GROUP BY k % 97);
SELECT s FROM t ORDER BY substr(s, 5) DESC, id LIMIT 3;
WITH RECURSIVE fib(n, a, b) AS (SELECT 1, 0, 1 UNION ALL SELECT n + 1, b, (a + b) % 1000000007 FROM fib WHERE n < 200000)
SELECT max(n), sum(a) % 1000000007 FROM fib;
WITH RECURSIVE cnt(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM cnt WHERE x < 99999)
SELECT count(*), sum(length(h)) FROM (SELECT x, printf('%x-%s', x * 2654435761 % 4294967296, hex(randomblob(0))) AS h FROM cnt ORDER BY h);
SELECT count(DISTINCT s), count(DISTINCT k) FROM t;
VACUUM;
PRAGMA integrity_check;
SELECT count(*) FROM t;
EOF
    } >"$tmp/sqlite.sql"
    compare "$name" sqlite cat sh -c "sqlite3 test.db <'$tmp/sqlite.sql'"
fi

# ----------------------------------------------------------------------- git
name="git init/add/commit/gc/fsck of 400 generated files"
if have "$name" git awk sha256sum sort; then
    cat >"$tmp/git.sh" <<'EOF'
set -euo pipefail
export HOME="$PWD/home" GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
export GIT_AUTHOR_NAME="Hak Mem" GIT_AUTHOR_EMAIL="hakmem@example.org"
export GIT_COMMITTER_NAME="Hak Mem" GIT_COMMITTER_EMAIL="hakmem@example.org"
mkdir -p home repo
cd repo
git init -q -b main .
git config gc.auto 0
git config core.autocrlf false
gen() {  # gen ROUND: (re)write a share of the files
    awk -v r="$1" 'BEGIN {
        srand(1000 + r)
        for (d = 0; d < 10; d++) {
            system("mkdir -p dir" d)
            for (f = 0; f < 40; f++) {
                if (r > 0 && (d * 40 + f) % 7 != r % 7) continue
                fn = "dir" d "/file" f ".txt"
                n = 20 + int(rand() * 200)
                for (l = 0; l < n; l++)
                    printf "round %d file %d/%d line %d %08x %s\n", r, d, f, l, int(rand() * 2147483647),
                        substr("the quick brown fox jumps over the lazy dog", 1 + l % 9) > fn
                close(fn)
            }
        }
    }'
}
commit() {  # commit N MSG
    export GIT_AUTHOR_DATE="2020-01-0$1T12:00:00Z" GIT_COMMITTER_DATE="2020-01-0$1T12:00:00Z"
    git add -A
    git commit -q -m "$2"
}
gen 0; commit 1 "initial import"
for r in 1 2 3 4 5; do
    gen "$r"
    git mv "dir$r/file$r.txt" "dir$r/renamed$r.txt"
    git rm -q "dir$((r + 1))/file$((r + 2)).txt"
    commit $((r + 1)) "round $r"
    if [ "$r" = 3 ]; then git tag -a v1 -m "tag v1"; fi
done
git checkout -q -b side HEAD~2
gen 6; commit 7 "side branch"
git checkout -q main
GIT_AUTHOR_DATE="2020-01-08T12:00:00Z" GIT_COMMITTER_DATE="2020-01-08T12:00:00Z" \
    git merge -q -s ort -X ours --no-edit -m "merge side" side
git gc -q --aggressive --prune=now
rc=0; git fsck --full --strict >fsck.out 2>&1 || rc=$?
echo "fsck exit=$rc"; cat fsck.out; rm -f fsck.out
git log --all --format='%H %T %P %s'
git rev-list --all --objects | sort | sha256sum
git ls-tree -r HEAD | sha256sum
git archive --format=tar v1 | sha256sum
git log -p --stat main | sha256sum
git diff --stat v1 main | tail -n 1
git blame -s dir3/file10.txt | sha256sum
git status --porcelain
EOF
    compare "$name" git cat bash "$tmp/git.sh"
fi

# ---------------------------------------------------------------------- perl
name="perl hash/array/string churn"
if have "$name" perl; then
    cat >"$tmp/churn.pl" <<'EOF'
use strict;
use warnings;
my %h;
my $total = 0;
for my $round (1 .. 10) {
    for my $i (1 .. 60000) {
        my $k = "k" . (($i * 2654435761 + $round * 7) % 1000003);
        $h{$k} .= sprintf("v%d-%x,", $i, $i * $round);
    }
    my @keys = sort keys %h;
    for my $j (0 .. $#keys) {
        next if $j % 3;
        delete $h{$keys[$j]} if length($h{$keys[$j]}) % 4 == 0;
    }
    my @arr = map { [ $_, length($h{$_} // ''), split(/,/, $h{$_} // '') ] } @keys[0 .. ($#keys < 20000 ? $#keys : 20000)];
    $total += scalar(@$_) for @arr;
    my $big = join(";", map { $_->[0] } @arr);
    $total += length($big);
    (my $copy = $big) =~ s/k(\d+)/K$1K/g;
    $total += ($copy =~ tr/K//);
    my %inv = reverse %h;
    $total += scalar(keys %inv);
}
my $blob = join("", map { "$_=$h{$_}\n" } sort keys %h);
printf "keys=%d total=%d len=%d sum32=%u\n", scalar(keys %h), $total, length($blob), unpack("%32C*", $blob);
EOF
    compare "$name" perl cat env PERL_HASH_SEED=0 PERL_PERTURB_KEYS=0 perl "$tmp/churn.pl"
fi

# ----------------------------------------------------------------------- gcc
name="gcc -O2 compile (asm identical) + run of a generated C program"
if have "$name" gcc awk sha256sum; then
    awk 'BEGIN {
        print "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>"
        print "struct node { struct node *next; unsigned long v; char name[24]; };"
        print "static int cmp(const void *a, const void *b) { unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b; return x < y ? -1 : x > y; }"
        for (i = 0; i < 300; i++) {
            printf "static unsigned long f%d(unsigned long x) {\n", i
            printf "    unsigned long a[%d]; for (int i = 0; i < %d; i++) a[i] = x * %d + i * %d;\n", 8 + i % 24, 8 + i % 24, i + 3, i % 13 + 1
            printf "    switch (x %% %d) {\n", 3 + i % 7
            for (c = 0; c < 3 + i % 7; c++) printf "    case %d: x ^= a[%d] << %d; break;\n", c, c % (8 + i % 24), c % 17
            printf "    }\n    return x * 2654435761u + (x >> %d)%s;\n}\n", 1 + i % 31, i ? " + f" (i - 1) "(x >> 3)" : ""
        }
        print "int main(void) {"
        print "    unsigned long sum = 0, n = 200000; struct node *head = NULL;"
        print "    unsigned long *arr = malloc(n * sizeof *arr); if (!arr) return 1;"
        print "    for (unsigned long i = 0; i < n; i++) {"
        print "        arr[i] = f299(i) ^ (i * 11400714819323198485u);"
        print "        if (i % 4 == 0) { struct node *nd = malloc(sizeof *nd); if (!nd) return 1; nd->v = arr[i]; snprintf(nd->name, sizeof nd->name, \"n%lu\", i); nd->next = head; head = nd; }"
        print "    }"
        print "    qsort(arr, n, sizeof *arr, cmp);"
        print "    for (unsigned long i = 0; i < n; i += 997) sum += arr[i] >> 7;"
        print "    size_t len = 0; char *s = NULL;"
        print "    while (head) { struct node *nx = head->next; size_t l = strlen(head->name); char *t = realloc(s, len + l + 1); if (!t) return 1; s = t; memcpy(s + len, head->name, l + 1); len += l; sum += head->v % 1000; free(head); head = nx; }"
        print "    printf(\"sum=%lu len=%zu first=%.20s\\n\", sum, len, s);"
        print "    free(s); free(arr); return 0;"
        print "}"
    }' >"$tmp/prog.c"
    cat >"$tmp/gcc.sh" <<EOF
set -euo pipefail
cp '$tmp/prog.c' prog.c
gcc -std=gnu11 -O2 -Wall -S -o prog.s prog.c
sha256sum prog.s
gcc -std=gnu11 -O2 -g -Wall -o prog prog.c
echo "compile ok"
./prog
EOF
    compare "$name" gcc cat bash "$tmp/gcc.sh"
fi

# ---------------------------------------------------------------------- sort
name="sort 2M lines (default, -u, numeric key, external merge)"
if have "$name" sort awk sha256sum; then
    awk 'BEGIN { srand(777); for (i = 0; i < 2000000; i++)
                 printf "%08x %d %s-%d\n", int(rand() * 4294967295), int(rand() * 1000000),
                        substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26, 1 + i % 23), i % 50000 }' >"$tmp/sort.in"
    cat >"$tmp/sort.sh" <<EOF
set -euo pipefail
mkdir -p st
sort '$tmp/sort.in' | sha256sum
sort -u -k3,3 '$tmp/sort.in' | sha256sum
sort --parallel=2 -S 8M -T st -k2,2n -k1,1r '$tmp/sort.in' | sha256sum
sort -k3,3 -k2,2nr '$tmp/sort.in' | awk 'NR <= 3'
EOF
    compare "$name" sort cat bash "$tmp/sort.sh"
fi

# --------------------------------------------- differential mode: the reports
if [ "$diff_mode" = 1 ]; then
    name="differential mode: every program wrote divergence reports, compared > 0, 0 divergences"
    if [ -z "$HK_LIB" ]; then
        echo "# NOTE: HK_LIB is empty: no divergence reports to check"
    elif have "$name" python3; then
        if out=$(python3 - "$div_dir" ${div_tags[@]+"${div_tags[@]}"} 2>&1 <<'PY'
import glob, json, os, sys
d, tags = sys.argv[1], sorted(set(sys.argv[2:]))
bad, lines, tot = [], [], {"reports": 0, "compared": 0, "divergent": 0, "dropped": 0}
for tag in tags:
    files = sorted(glob.glob(os.path.join(d, glob.escape(tag) + ".*.json")))
    if not files:
        bad.append("%s: no report written" % tag)
        continue
    compared = 0
    for f in files:
        try:
            r = json.load(open(f))
        except Exception as e:
            bad.append("%s: invalid JSON (%s)" % (os.path.basename(f), e))
            continue
        if r.get("format") != "hakmem-divergence-report/2":
            bad.append("%s: format %r" % (os.path.basename(f), r.get("format")))
        compared += r.get("compared", 0)
        tot["reports"] += 1
        tot["compared"] += r.get("compared", 0)
        tot["divergent"] += r.get("divergent", 0)
        tot["dropped"] += r.get("dropped", 0)
        for dv in r.get("divergences", []):
            bad.append("%s (%s): %s %s-%s: %s class %s -> %s class %s, %s calls" % (
                tag, r.get("program"), dv.get("entry"), dv.get("size_min"), dv.get("size_max"),
                dv.get("legacy"), dv.get("legacy_class"), dv.get("central"),
                dv.get("central_class"), dv.get("count")))
    if compared <= 0:
        bad.append("%s: %d reports, but compared 0 calls" % (tag, len(files)))
    lines.append("%s %d" % (tag, len(files)))
if not tags:
    bad.append("no preloaded runs")
if tot["divergent"] or tot["dropped"]:
    bad.insert(0, "%d divergences, %d dropped records in total" % (tot["divergent"], tot["dropped"]))
summary = "%d reports (%s), compared %d, divergent %d, dropped %d" % (
    tot["reports"], ", ".join(lines), tot["compared"], tot["divergent"], tot["dropped"])
if bad:
    print(summary)
    print("\n".join(bad[:20]))
    sys.exit(1)
print(summary)
PY
        ); then
            pass "$name ($out)"
        else
            printf '%s\n' "$out" >"$tmp/div.check"
            fail "$name" "$(head -n 1 "$tmp/div.check")" "" "$tmp/div.check"
        fi
        # The gate over every report and record: every process exited, ended by _exit (the
        # shells' children) or exec'd, each compared something, nothing diverged.
        name="differential mode: hakmem-divergence passes over every report and record"
        if out=$(python3 "$HK_TOP_SRCDIR/tools/hakmem-divergence" --json "$tmp/div.merged.json" "$div_dir" 2>&1) &&
            states=$(python3 -c 'import json,sys,collections; m=json.load(open(sys.argv[1])); print(", ".join("%d %s" % (n, s) for s, n in sorted(collections.Counter(p["state"] for p in m["processes"]).items())))' "$tmp/div.merged.json"); then
            pass "$name ($states)"
        else
            printf '%s\n' "$out" >"$tmp/div.gate"
            fail "$name" "$(grep -m1 -A3 '^verdict' "$tmp/div.gate" | tr '\n' ' ')" "" "$tmp/div.gate"
        fi
    fi
fi

echo "# total time $(elapsed "$t_start" "$(now)")"
finish
exit 0
