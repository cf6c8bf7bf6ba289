#!/bin/bash
# rss-burst.sh - is memory returned to the OS after a 1 GiB burst? (part of `make check`)
#
# Runs $HK_TOP_BUILDDIR/tests/rss_burst under LD_PRELOAD=$HK_LIB, one process per case:
#   large  1 GiB of 4 MiB blocks (mmap box), all freed
#   l25    1 GiB of 256 KiB-1 MiB blocks (L25 box), all freed, then malloc_trim(0)
#   idle   64 MiB of 16 MiB blocks freed, then only fast paths: the mmap cache's idle bound
# large and l25 pass if VmRSS after the frees is at most 10 % of the burst (0.1 GiB) above
# VmRSS before it; idle if it is at most 32 MiB (nothing after malloc_trim; 2 MiB of slack).
#
# Environment (normally set by automake's AM_TESTS_ENVIRONMENT):
#   HK_LIB           absolute path of the .so to preload.  Set but empty: baseline run
#                        without LD_PRELOAD (validates the test against the system allocator).
#                        Unset: looked up in the build tree; not found is a FAIL.
#   HK_TOP_BUILDDIR  top build dir (default: the current directory)
#
# Prints one "PASS: ..." / "FAIL: ..." line per case, then "N passed, M failed"; exit 1 if any
# case failed.
set -uo pipefail

start_dir=$(pwd)
: "${HK_TOP_BUILDDIR:=$start_dir}"
case "$HK_TOP_BUILDDIR" in /*) ;; *) HK_TOP_BUILDDIR="$start_dir/$HK_TOP_BUILDDIR" ;; esac
lib_from_env=1
if [ -z "${HK_LIB+set}" ]; then
    lib_from_env=0
    HK_LIB=
    for cand in "$HK_TOP_BUILDDIR/.libs/libhakmem.so" "$HK_TOP_BUILDDIR/libhakmem.so"; do
        if [ -f "$cand" ]; then HK_LIB=$cand; break; fi
    done
fi
unset LD_PRELOAD
export LC_ALL=C
PROG="$HK_TOP_BUILDDIR/tests/rss_burst"
TMO=120

# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"

echo "# rss-burst: HK_LIB=${HK_LIB:-<empty: baseline run without LD_PRELOAD>}"
preload=()
if [ -z "$HK_LIB" ]; then
    if [ "$lib_from_env" = 0 ]; then
        fail "rss-burst" "HK_LIB unset and no libhakmem.so found under $HK_TOP_BUILDDIR"
    else
        echo "# NOTE: HK_LIB is empty: the system allocator is measured"
    fi
elif [ ! -f "$HK_LIB" ]; then
    fail "rss-burst" "HK_LIB=$HK_LIB does not exist"
    HK_LIB=
else
    preload=(LD_PRELOAD="$HK_LIB")
fi

if [ ! -x "$PROG" ]; then
    fail "rss-burst" "$PROG not found or not executable (build it first: make check builds it)"
elif [ "$nfail" = 0 ]; then
    for c in large l25 idle; do
        out=$(run_t "$TMO" env "${preload[@]}" "$PROG" "$c" 2>&1 </dev/null)
        rc=$?
        line=$(printf '%s\n' "$out" | grep -E '^(PASS|FAIL): ' | tail -n 1)
        if [ "$rc" = 0 ] && [ "${line#PASS: }" != "$line" ]; then
            pass "${line#PASS: }"
        elif [ -n "$line" ] && [ "${line#FAIL: }" != "$line" ]; then
            fail "${line#FAIL: }" "exit status $rc"
        else
            fail "rss-burst $c" "exit status $rc, no verdict; output: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
        fi
        if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
            printf '%s\n' "$out" | grep -vE '^(PASS|FAIL): ' | tail -n 5 | sed 's/^/#   /'
        fi
    done
fi

finish
