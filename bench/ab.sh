#!/usr/bin/env bash
# ab.sh: side-by-side ratio of hakmem against glibc on one benchmark command, measured in
# interleaved rounds (glibc, hakmem, glibc, hakmem, ...) on this machine; prints each round,
# the medians and hakmem/glibc. The command must print "ops/s=N".
# Usage: bench/ab.sh ROUNDS LIBHAKMEM.so [VAR=value ...] -- COMMAND ARGS...
set -euo pipefail
rounds=$1 lib=$2
shift 2
envs=()
while [ "$#" -gt 0 ] && [ "$1" != -- ]; do envs+=("$1"); shift; done
shift
ops() { "$@" | sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p'; }
g=() h=()
for ((r = 1; r <= rounds; r++)); do
    a=$(ops "$@")
    b=$(ops env LD_PRELOAD="$lib" ${envs[@]+"${envs[@]}"} "$@")
    g+=("$a") h+=("$b")
    echo "round $r: glibc $a ops/s, hakmem $b ops/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
mg=$(median "${g[@]}") mh=$(median "${h[@]}")
echo "median: glibc $mg ops/s, hakmem $mh ops/s, hakmem/glibc = $(awk -v a="$mh" -v b="$mg" 'BEGIN {printf "%.2f", a/b}')"
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
