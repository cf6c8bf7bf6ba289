#!/usr/bin/env bash
# footprint.sh - pages move between classes and memory goes back to the OS (part of `make check`)
#
# Runs $HK_TOP_BUILDDIR/tests/footprint (three phases whose size mix changes, no
# malloc_trim; see tests/footprint.c) under LD_PRELOAD=$HK_LIB with HAKMEM_STATS=1:
#   default  1 GiB scale, the default purge delay:
#     idle    1 s after freeing the 1 GiB burst of 1 KiB-512 KiB blocks, with no allocator call
#             since, VmRSS above the start <= 10 % of the burst;
#     reuse   the arena's committed bytes after C (A's burst in L25/Mid/Pool pages, B's 2 M
#             Tiny blocks, C's 64 B then 3000 B blocks) <= 1.6x the burst (A and B alone
#             would need 2x without pages moving between classes), and the statistics count
#             pages moved across boxes, at least half the burst's bytes;
#     return  everything freed, then 1 s of light activity: VmRSS above the start <= 2 % of
#             the burst;
#   never    256 MiB scale, HAKMEM_PURGE_DELAY_MS=-1: nothing purged (3 s after the burst
#            >= 90 % of it still resident): the option is obeyed;
#   now      256 MiB scale, HAKMEM_PURGE_DELAY_MS=0: free runs are purged at once (the page
#            heap holds no resident free byte at exit) and the return check holds.
# The glibc and peer comparisons (RSS ratios) are bench/compare.sh's footprint table.
# Environment: HK_LIB, HK_TOP_BUILDDIR (AM_TESTS_ENVIRONMENT).
# One "PASS: id: ..." / "FAIL: id: ...: why" line per check, then "N passed, M failed".
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
export LC_ALL=C
unset LD_PRELOAD
scrub_hakmem_env
bld=${HK_TOP_BUILDDIR:-$PWD}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
prog=$bld/tests/footprint
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-footprint.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
for f in "$prog" "$lib"; do
    if [ ! -e "$f" ]; then echo "FAIL: setup: $f not found (make check builds it)"; echo "0 passed, 1 failed"; exit 1; fi
done

# run ID SCALE VAR=value...: sets v[key] from the footprint line, and stats (the report)
declare -A v
run() {
    local id=$1 scale=$2 rc=0
    shift 2
    v=()
    timeout -k 10 300 env LD_PRELOAD="$lib" HAKMEM_STATS=1 "$@" "$prog" "$scale" \
        >"$tmp/$id.out" 2>"$tmp/$id.err" </dev/null || rc=$?
    local line; line=$(grep '^footprint: ' "$tmp/$id.out" | tail -n 1)
    if [ "$rc" != 0 ] || [ -z "$line" ]; then
        fail "$id" "footprint $scale $*" "exit status $rc, no result line" "$tmp/$id.err"
        return 1
    fi
    local kv
    for kv in ${line#footprint: }; do v[${kv%%=*}]=${kv#*=}; done
    echo "# $id: $line"
    grep -E 'page heap:|metadata' "$tmp/$id.err" | sed 's/^/#   /'
    return 0
}
# check ID WHAT AWK-CONDITION DETAIL
check() {
    if awk "BEGIN {exit !($3)}"; then pass "$1" "$2 ($4)"; else fail "$1" "$2" "$4"; fi
}

if run default 1024; then
    burst=${v[a_burst_kb]} start=${v[start_kb]}
    above=$((v[a_1s_kb] - start))
    check idle "1 s after freeing a 1 GiB burst, idle: RSS above the start <= 10 % of it" \
        "$above <= 0.10 * $burst" "$((above / 1024)) MiB above the start, burst $((burst / 1024)) MiB"
    check reuse "pages reused across classes: arena committed after the three phases <= 1.6x the burst" \
        "${v[arena_kb]} <= 1.6 * $burst" "committed $((v[arena_kb] / 1024)) MiB, burst $((burst / 1024)) MiB"
    moved=$(sed -n 's/.*moved between classes [0-9]* (\([0-9]*\) bytes; \([0-9]*\) across boxes).*/\1 \2/p' "$tmp/default.err" | tail -n 1)
    read -r mbytes mbox <<<"${moved:-0 0}"
    check reuse-stats "HAKMEM_STATS counts pages moved between classes and across boxes" \
        "$mbox > 0 && $mbytes >= 0.5 * $burst * 1024" "$((mbytes >> 20)) MiB moved, $mbox pages across boxes"
    above=$((v[d_1s_kb] - start))
    check return "everything freed, 1 s of light activity: RSS above the start <= 2 % of the burst" \
        "$above <= 0.02 * $burst" "$((above / 1024)) MiB above the start"
fi

if run never 256 HAKMEM_PURGE_DELAY_MS=-1; then
    above=$((v[a_3s_kb] - v[start_kb]))
    check never "HAKMEM_PURGE_DELAY_MS=-1: nothing purged (3 s after the burst >= 90 % resident)" \
        "$above >= 0.9 * ${v[a_burst_kb]}" "$((above / 1024)) MiB above the start"
fi

if run now 256 HAKMEM_PURGE_DELAY_MS=0; then
    resident=$(sed -n 's/.*free resident \([0-9]*\)[ ,].*/\1/p' "$tmp/now.err" | tail -n 1)
    check now "HAKMEM_PURGE_DELAY_MS=0: no resident free run in the page heap at exit" \
        "${resident:-1} == 0" "free resident ${resident:-?} bytes"
    above=$((v[d_1s_kb] - v[start_kb]))
    check now-return "HAKMEM_PURGE_DELAY_MS=0: everything freed: RSS above the start <= 2 % of the burst" \
        "$above <= 0.02 * ${v[a_burst_kb]}" "$((above / 1024)) MiB above the start"
fi
finish
