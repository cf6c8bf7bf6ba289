#!/usr/bin/env bash
# instr.sh: instructions executed by one benchmark command under glibc and hakmem's routing
# modes, counted by valgrind --tool=callgrind (exact and repeatable on a noisy machine), with
# each mode's ratio to the Central Router's count. Whole programs, hakmem's modes only: the
# count per tiny malloc+free pair against the peers is bench/compare.sh's.
# Usage: bench/instr.sh LIBHAKMEM.so COMMAND ARGS...
#   e.g. bench/instr.sh .libs/libhakmem.so bench/bench_tiny_hot 32 1000000
# BASELINE=SO adds a row "base": another build's library in central mode (before/after).
# MODES="glibc central base" keeps only these rows (default: all).
# The libraries must load and be hakmem (HAKMEM_STATS=1 prints "hakmem stats"); they are
# reached through links, so their paths may hold spaces or colons. The caller's LD_PRELOAD and
# allocator variables are dropped.
# Exit status: 0; 1 when the command fails under a mode (exit status, signal, a library not
# preloaded, no count: the mode, the reason and the end of its output are shown); 2 usage,
# valgrind missing, or a library that is not hakmem.
set -euo pipefail
export LC_ALL=C
[ $# -ge 2 ] || { echo "usage: $0 LIBHAKMEM.so COMMAND ARGS..." >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/peers.sh
. "$here/peers.sh"
command -v valgrind >/dev/null || { echo "instr.sh: valgrind is needed (apt-get install valgrind)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/hk-instr.XXXXXX) || { echo "instr.sh: cannot create a temporary directory in /tmp" >&2; exit 2; }
trap 'rm -rf "$tmp"' EXIT
clear_alloc_env
# linked (LD_PRELOAD splits on spaces and colons) and probed: a library the loader skips, or
# that is not hakmem, would have glibc's (or that allocator's) count shown as hakmem's
hklib() { # FILE NAME -> the link on stdout, or exit 2
    local l why
    l=$(preload_link "$tmp" "$1" "$2") || { echo "instr.sh: $l" >&2; exit 2; }
    why=$(hakmem_probe "$l") || { echo "instr.sh: $1 is not a hakmem library that loads: $why" >&2; exit 2; }
    echo "$l"
}
lib=$(hklib "$1" libhakmem.so)
shift
names=(glibc legacy central diff-1 diff-100)
envs=("" "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=0" "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1"
    "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1"
    "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=100")
if [ -n "${BASELINE:-}" ]; then
    base=$(hklib "$BASELINE" libbase.so)
    names+=(base)
    envs+=("LD_PRELOAD=$base HAKMEM_USE_CENTRAL_ROUTER=1")
fi
declare -a count
for i in "${!names[@]}"; do
    if [ -n "${MODES:-}" ] && [[ " $MODES " != *" ${names[$i]} "* ]] && [ "${names[$i]}" != central ]; then
        count[i]=
        continue
    fi
    rc=0
    # (braced: the shell's own notice of a child killed by a signal is not the report's)
    # shellcheck disable=SC2086
    { env ${envs[$i]} valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" >"$tmp/out" 2>"$tmp/err"; } 2>/dev/null || rc=$?
    why=$(exit_why "$rc")
    if [ "$rc" = 0 ] && preload_failed "$tmp/err"; then rc=1 why="a library was not preloaded"; fi
    count[i]=$(sed -n 's/.*I *refs: *//p' "$tmp/err" | tr -d , | tail -n 1)
    [ "$rc" = 0 ] && [ -z "${count[i]}" ] && rc=1 why="no instruction count"
    if [ "$rc" != 0 ]; then
        echo "instr.sh: ${names[$i]}: the command failed under valgrind ($why); the end of its output:" >&2
        { echo "--- standard output"; tail -n 5 "$tmp/out"; echo "--- standard error"; grep -v '^==[0-9]*==' "$tmp/err" | tail -n 5; } >&2
        exit 1
    fi
done
for i in "${!names[@]}"; do
    [ -n "${count[i]}" ] || continue
    awk -v n="${names[$i]}" -v c="${count[i]}" -v ref="${count[2]}" \
        'BEGIN { printf "%-9s %13d instructions  %.3fx central\n", n, c, c / ref }'
done
echo "command: $*"
