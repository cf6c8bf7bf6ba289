#!/usr/bin/env bash
# vs.sh: one benchmark command under hakmem (central), the peers (jemalloc, mimalloc,
# tcmalloc) and, given BASELINE=lib, another hakmem build, in interleaved rounds (each round
# runs every allocator once, in that order), then each one's median ops/s and its ratio to
# central's. For a quick side-by-side of one workload; bench/compare.sh is the full runner.
# The command must print "ops/s=N". Each run starts without the caller's allocator variables
# (bench/peers.sh: clear_alloc_env); a peer that is missing or does not load is skipped.
# Usage: bench/vs.sh ROUNDS LIBHAKMEM.so COMMAND ARGS...
#   e.g. BASELINE=/tmp/old.so bench/vs.sh 15 .libs/libhakmem.so bench/bench_mixed 2 150000 42
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/peers.sh
. "$here/peers.sh"
[ $# -ge 3 ] || { echo "usage: $0 ROUNDS LIBHAKMEM.so COMMAND ARGS..." >&2; exit 2; }
rounds=$1 lib=$2
shift 2
case $rounds in '' | *[!0-9]* | 0) echo "vs.sh: ROUNDS must be a positive number" >&2; exit 2 ;; esac
base=${BASELINE:-}
clear_alloc_env
why=$(hakmem_probe "$lib") || { echo "vs.sh: $lib: $why" >&2; exit 2; }
names=(central) envs=("LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1")
if [ -n "$base" ]; then
    why=$(hakmem_probe "$base") || { echo "vs.sh: BASELINE $base: $why" >&2; exit 2; }
    names+=(base) envs+=("LD_PRELOAD=$base HAKMEM_USE_CENTRAL_ROUTER=1")
fi
for peer in "jemalloc libjemalloc.so.2 libjemalloc2" "mimalloc libmimalloc.so.2 libmimalloc2.0" \
    "tcmalloc libtcmalloc_minimal.so.4 libtcmalloc-minimal4"; do
    read -r name soname pkg <<<"$peer"
    if p=$(peer_lib "$soname" "$pkg"); then
        names+=("$name") envs+=("LD_PRELOAD=$p")
    else
        echo "vs.sh: $name skipped: $p" >&2
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for ((r = 1; r <= rounds; r++)); do
    line="round $r:"
    for i in "${!names[@]}"; do
        # shellcheck disable=SC2086 # each config is words VAR=value
        if ! env ${envs[$i]} "$@" >"$tmp/out" 2>"$tmp/err"; then
            echo "vs.sh: ${names[$i]}: the command failed: $(head -n 1 "$tmp/err")" >&2
            exit 1
        fi
        v=$(sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p' "$tmp/out" | tail -n 1)
        [ -n "$v" ] || { echo "vs.sh: ${names[$i]}: no ops/s=N in the command's output" >&2; exit 1; }
        echo "$v" >>"$tmp/${names[$i]}"
        line+=" ${names[$i]} $v"
    done
    echo "$line"
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {printf "%.10g\n", (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
c=$(median "$tmp/central")
for n in "${names[@]}"; do
    m=$(median "$tmp/$n")
    echo "median: $n $m ops/s, central/$n = $(awk -v a="$c" -v b="$m" 'BEGIN {printf "%.3f", a/b}')"
done
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
