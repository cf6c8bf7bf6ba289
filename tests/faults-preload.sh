#!/usr/bin/env bash
# faults-preload.sh - real programs on a fault-injection libhakmem.so (./configure
# --enable-fault-injection; run by tools/reliability.sh's `faults' step), every OS primitive
# failed at its Nth call for every N until a run injects nothing, once and from then on
# (HAKMEM_FAULT=PRIM:N[:persist]), hakmem's init before main included.
#
# Programs known to handle malloc returning NULL: sort (coreutils: "memory exhausted",
# exit 2), sqlite3 ("out of memory", exit 1) and tests/hostile ok (exit 1 on a failed
# realloc). Each run must end with the program's normal output and status, or with its
# out-of-memory failure; never a signal, a hang, or a hakmem line other than the injection
# report (and the warning that no arena could be reserved, when every mmap fails from the
# first). Summary line per program, primitive and mode.
# Environment: HK_LIB (a fault-injection build's libhakmem.so), HK_TOP_BUILDDIR;
# FAULTS_MAX (default 3000): the largest N tried.
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
export LC_ALL=C
unset LD_PRELOAD
max=${FAULTS_MAX:-3000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-faults.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ulimit -c 0 2>/dev/null || true
scrub_hakmem_env

# Is this a fault-injection build?
out=$(HAKMEM_FAULT=mmap:1000000 LD_PRELOAD="$lib" /bin/true 2>&1)
case $out in
    *"fault injection (HAKMEM_FAULT="*) ;;
    *) echo "FAIL: setup: $lib is not a fault-injection build (./configure --enable-fault-injection): '$out'"; exit 1 ;;
esac

awk 'BEGIN { srand(7); for (i = 0; i < 30000; i++) printf "%08d %s\n", int(rand() * 1e8), substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26, 1 + i % 20) }' >sort.in
cat >sql.in <<'EOF'
CREATE TABLE t(a INTEGER, b TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000)
INSERT INTO t SELECT x, printf('%08d-%s', x * 7919 % 100003, hex(zeroblob(x % 40))) FROM c;
CREATE INDEX tb ON t(b);
SELECT count(*), sum(a), min(b), max(b) FROM t;
SELECT a FROM t ORDER BY b LIMIT 3;
EOF

# prog NAME OOM-ERE CMD...: the reference run (under hakmem, no fault), then the sweep.
# Output lines starting "boxes:" (tests/hostile ok: which box served each size) are left out
# of the comparison: a box that could not get memory legitimately hands a size to the mmap box.
sweep() {
    local name=$1 oom=$2
    shift 2
    LD_PRELOAD="$lib" "$@" 2>"$name.referr" </dev/null | grep -v '^boxes:' >"$name.ref" ||
        { fail "$name" "reference run" "exit $?" "$name.referr"; return; }
    local prim mode n runs inj rc bad oomruns
    for prim in mmap munmap mremap madvise mprotect; do
        for mode in "" ":persist"; do
            bad=0 runs=0 oomruns=0
            for ((n = 1; n <= max; n++)); do
                rc=0
                { ( exec timeout -k 5 60 env LD_PRELOAD="$lib" HAKMEM_FAULT="$prim:$n$mode" "$@" ) \
                    >o 2>e </dev/null || rc=$?; } 2>/dev/null
                runs=$((runs + 1))
                inj=$(sed -n 's/.* \([0-9][0-9]*\) injected.*/\1/p' e | head -n 1)
                # hakmem's lines: the report, and the no-arena warning (mmap failing at init)
                local others
                others=$(grep '^hakmem' e | grep -v 'fault injection (HAKMEM_FAULT=' |
                    grep -cv 'could not reserve address space')
                if [ "$rc" -ge 124 ]; then
                    fail "$name:$prim$mode" "HAKMEM_FAULT=$prim:$n$mode $*" "exit $rc (signal or timeout)" e
                    bad=$((bad + 1))
                elif [ "$others" -gt 0 ]; then
                    fail "$name:$prim$mode" "HAKMEM_FAULT=$prim:$n$mode $*" "other hakmem lines" e
                    bad=$((bad + 1))
                elif [ "$rc" = 0 ] && ! grep -v '^boxes:' o | cmp -s - "$name.ref"; then
                    fail "$name:$prim$mode" "HAKMEM_FAULT=$prim:$n$mode $*" "exit 0 with different output" e
                    bad=$((bad + 1))
                elif [ "$rc" != 0 ] && ! grep -qiE "$oom" e o; then
                    fail "$name:$prim$mode" "HAKMEM_FAULT=$prim:$n$mode $*" "exit $rc without an out-of-memory message" e
                    bad=$((bad + 1))
                elif [ "$rc" != 0 ]; then
                    oomruns=$((oomruns + 1))
                fi
                [ "$bad" -ge 3 ] && break
                [ "${inj:-0}" = 0 ] && break
            done
            if [ "$bad" = 0 ]; then
                pass "$name:$prim${mode:-:once}" "N = 1..$runs: every run correct or a clean out-of-memory failure ($oomruns)"
            fi
        done
    done
}
sweep sort 'memory exhausted' sort -S 4M sort.in
command -v sqlite3 >/dev/null && sweep sqlite3 'out of memory' sqlite3 :memory: ".read sql.in"
sweep hostile 'realloc failed' "$bld/tests/hostile" ok
finish
