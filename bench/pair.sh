#!/usr/bin/env bash
# pair.sh: two allocator libraries (any two: hakmem builds or peers) on one benchmark command,
# in interleaved pairs (A B, A B, ...), for noisy machines where only side-by-side ratios mean
# anything: prints the median ops/s and CPU seconds (user + system) of each, and the median and
# quartiles of the per-pair ratio B/A. The command must print "ops/s=N"; a prefix such as
# `taskset -c 0` goes before it (the library is preloaded into it and what it runs).
# Usage: bench/pair.sh PAIRS LIB_A LIB_B COMMAND ARGS...
#   e.g. bench/pair.sh 21 /lib/x86_64-linux-gnu/libmimalloc.so.2 .libs/libhakmem.so \
#            bench/bench_mixed 2 40000 42 256 1:65536-1048576
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: $0 PAIRS LIB_A LIB_B COMMAND ARGS..." >&2; exit 2; }
pairs=$1 liba=$2 libb=$3
shift 3
case $pairs in '' | *[!0-9]*) echo "pair.sh: PAIRS must be a positive number" >&2; exit 2 ;; esac
pairs=$((10#$pairs)) # 08 is eight
[ "$pairs" -gt 0 ] || { echo "pair.sh: PAIRS must be a positive number" >&2; exit 2; }
for l in "$liba" "$libb"; do
    [ -f "$l" ] || { echo "pair.sh: $l: no such library" >&2; exit 2; }
    case $l in *[[:space:]:]*) # LD_PRELOAD splits there: another library would be measured
        echo "pair.sh: $l: a space or colon in the path (LD_PRELOAD would split it); link it elsewhere" >&2
        exit 2 ;;
    esac
done
command -v /usr/bin/time >/dev/null || { echo "pair.sh: needs /usr/bin/time (GNU time)" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
run() { # lib: "ops cpu" of one run, or fail
    local out ops cpu
    out=$( { /usr/bin/time -f 'pair-cpu=%U %S' env LD_PRELOAD="$1" "${@:2}"; } 2>&1) ||
        { echo "pair.sh: the run under $1 failed:" >&2; echo "$out" >&2; exit 1; }
    case $out in *"cannot be preloaded"*) # the loader ran it without the library
        echo "pair.sh: $1 could not be preloaded:" >&2; echo "$out" >&2; exit 1 ;;
    esac
    ops=$(printf '%s\n' "$out" | sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p' | tail -1)
    cpu=$(printf '%s\n' "$out" | sed -n 's/^pair-cpu=\([0-9.]*\) \([0-9.]*\)$/\1 \2/p' | awk '{print $1 + $2}')
    [ -n "$ops" ] || { echo "pair.sh: no ops/s under $1" >&2; exit 1; }
    echo "$ops ${cpu:-0}"
}
for ((r = 1; r <= pairs; r++)); do
    a=$(run "$liba" "$@") # apart: a failed substitution in a shared assignment goes unseen
    b=$(run "$libb" "$@")
    echo "$a" >>"$tmp/a" && echo "$b" >>"$tmp/b"
    echo "pair $r: A ${a% *} ops/s, B ${b% *} ops/s"
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
for x in a b; do
    lib=$liba && [ $x = b ] && lib=$libb
    echo "median: ${x^^} ($lib) $(cut -d' ' -f1 "$tmp/$x" | median) ops/s, $(cut -d' ' -f2 "$tmp/$x" | median) s of CPU"
done
paste -d' ' "$tmp/a" "$tmp/b" | awk '{print $3 / $1}' | sort -n |
    awk '{v[NR]=$1} END {printf "B/A per pair: median %.3f (quartiles %.3f-%.3f, n=%d)\n", v[int((NR+1)/2)], v[int(NR/4)+1], v[int(3*NR/4)+(NR<4)], NR}'
echo "machine: $(nproc) cores, $(uname -m), $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
