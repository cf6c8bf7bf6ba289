#!/usr/bin/env bash
# modes.sh: one benchmark command under glibc and hakmem's routing modes, side by side in
# interleaved rounds (every mode once per round), medians, and ratios against the Central
# Router mode. The command must print "ops/s=N".
# Usage: bench/modes.sh ROUNDS LIBHAKMEM.so COMMAND ARGS...
set -euo pipefail
rounds=$1 lib=$2
shift 2
names=(glibc legacy central diff-1 diff-100)
envs=("" "HAKMEM_USE_CENTRAL_ROUTER=0" "HAKMEM_USE_CENTRAL_ROUTER=1"
    "HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1"
    "HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=100")
declare -A res
for ((r = 1; r <= rounds; r++)); do
    line="round $r:"
    for i in "${!names[@]}"; do
        if [ "$i" = 0 ]; then
            v=$("$@" | sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p')
        else
            # shellcheck disable=SC2086
            v=$(env LD_PRELOAD="$lib" ${envs[$i]} "$@" | sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p')
        fi
        res[$i]="${res[$i]:-} $v"
        line="$line ${names[$i]}=$v"
    done
    echo "$line"
done
median() { printf '%s\n' $1 | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
c=$(median "${res[2]}")
for i in "${!names[@]}"; do
    m=$(median "${res[$i]}")
    printf '%-9s median %12.0f ops/s   %5.2fx central   (time ratio vs central %.2f)\n' "${names[$i]}" "$m" \
        "$(awk -v a="$m" -v b="$c" 'BEGIN {print a/b}')" "$(awk -v a="$m" -v b="$c" 'BEGIN {print b/a}')"
done
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1); command: $*"
