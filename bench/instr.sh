#!/usr/bin/env bash
# instr.sh: instructions executed by one benchmark command under glibc and hakmem's routing
# modes, counted by valgrind --tool=callgrind (exact and repeatable on a noisy machine), with
# each mode's ratio to the Central Router's count.
# Usage: bench/instr.sh LIBHAKMEM.so COMMAND ARGS...
#   e.g. bench/instr.sh .libs/libhakmem.so bench/bench_tiny_hot 32 1000000
# BASELINE=SO adds a row "base": another build's library in central mode (before/after).
# MODES="glibc central base" keeps only these rows (default: all).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 LIBHAKMEM.so COMMAND ARGS..." >&2; exit 2; }
lib=$1
shift
names=(glibc legacy central diff-1 diff-100)
envs=("" "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=0" "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1"
    "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1"
    "LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=100")
if [ -n "${BASELINE:-}" ]; then
    names+=(base)
    envs+=("LD_PRELOAD=$BASELINE HAKMEM_USE_CENTRAL_ROUTER=1")
fi
declare -a count
for i in "${!names[@]}"; do
    if [ -n "${MODES:-}" ] && [[ " $MODES " != *" ${names[$i]} "* ]] && [ "${names[$i]}" != central ]; then
        count[$i]=
        continue
    fi
    # shellcheck disable=SC2086
    count[$i]=$(env ${envs[$i]} valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
        sed -n 's/.*I *refs: *//p' | tr -d , | tail -1)
    [ -n "${count[$i]}" ] || { echo "instr.sh: no count for ${names[$i]}" >&2; exit 1; }
done
for i in "${!names[@]}"; do
    [ -n "${count[$i]}" ] || continue
    awk -v n="${names[$i]}" -v c="${count[$i]}" -v ref="${count[2]}" \
        'BEGIN { printf "%-9s %13d instructions  %.3fx central\n", n, c, c / ref }'
done
echo "command: $*"
