#!/usr/bin/env bash
# profile.sh: where one workload's time goes under hakmem (central) and each allocator, in
# counts that do not depend on the machine's noise: instructions, simulated first-level and
# last-level data-cache misses and mispredicted branches (valgrind --tool=cachegrind
# --cache-sim=yes --branch-sim=yes, the whole process), minor page faults (GNU time's %R)
# and system calls (strace -f -c), each with its ratio to the fewest among the peers (the
# best of jemalloc, mimalloc and tcmalloc for that count). Child processes count too (a
# command may be `env VAR=x prog`, or a compiler driver that runs cc1).
# Usage: bench/profile.sh LIBHAKMEM.so COMMAND ARGS...
#   e.g. bench/profile.sh .libs/libhakmem.so bench/bench_mid_large_mt 1 200000 256 42
# A peer that is not installed is reported missing. Valgrind simulates the caches it reads
# from this machine's CPU; its slowdown makes time-driven work (hakmem's delayed purge) run
# more often than it would natively.
set -euo pipefail
export LC_ALL=C
[ $# -ge 2 ] || { echo "usage: $0 LIBHAKMEM.so COMMAND ARGS..." >&2; exit 2; }
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -f "$lib" ] || { echo "profile.sh: $1 not found" >&2; exit 2; }
shift
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/peers.sh
. "$here/peers.sh"
for t in valgrind strace /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "profile.sh: $t is needed (apt-get install valgrind strace time)" >&2; exit 2; }
done
names=(hakmem-central glibc jemalloc mimalloc tcmalloc)
envs=("LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1" "" "" "" "")
sos=("" "" libjemalloc.so.2 libmimalloc.so.2 libtcmalloc_minimal.so.4)
pkgs=("" "" libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A v=()
keys=(instr d1 ll br faults syscalls)
for i in "${!names[@]}"; do
    n=${names[$i]}
    if [ -n "${sos[$i]}" ]; then
        p=$(find_lib "${sos[$i]}" "${pkgs[$i]}") || true
        if [ -z "$p" ]; then
            echo "$n: missing (${sos[$i]}; apt-get install ${pkgs[$i]})"
            continue
        fi
        envs[i]="LD_PRELOAD=$p"
    fi
    # shellcheck disable=SC2086
    env ${envs[$i]} valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes --trace-children=yes \
        --cachegrind-out-file=/dev/null "$@" >/dev/null 2>"$tmp/cg" ||
        { echo "profile.sh: $n failed under valgrind:" >&2; tail -n 5 "$tmp/cg" >&2; exit 1; }
    num() { sed -n "s/^==[0-9]*== $1 *\([0-9,]*\).*/\1/p" "$tmp/cg" | tr -d , | awk 'NF { s += $1; n++ } END { if (n) printf "%.0f\n", s }'; }
    v[$n,instr]=$(num 'I *refs:')
    v[$n,d1]=$(num 'D1 *misses:')
    v[$n,ll]=$(num 'LLd misses:')
    v[$n,br]=$(num 'Mispredicts:')
    # shellcheck disable=SC2086
    env ${envs[$i]} /usr/bin/time -f '%R' -o "$tmp/tm" "$@" >/dev/null
    v[$n,faults]=$(tail -n 1 "$tmp/tm")
    # shellcheck disable=SC2086
    env ${envs[$i]} strace -f -c -o "$tmp/st" "$@" >/dev/null
    v[$n,syscalls]=$(awk '$NF == "total" {print $4}' "$tmp/st")
    for k in "${keys[@]}"; do
        [ -n "${v[$n,$k]}" ] || { echo "profile.sh: no $k count for $n" >&2; exit 1; }
    done
done
printf '%-15s %14s %12s %10s %12s %9s %9s\n' config instructions D1-misses LL-misses mispredicts faults syscalls
for n in "${names[@]}"; do
    [ -n "${v[$n,instr]:-}" ] || continue
    printf '%-15s %14s %12s %10s %12s %9s %9s\n' "$n" "${v[$n,instr]}" "${v[$n,d1]}" "${v[$n,ll]}" \
        "${v[$n,br]}" "${v[$n,faults]}" "${v[$n,syscalls]}"
done
line="hakmem / fewest peer:"
for k in "${keys[@]}"; do
    best=
    for n in jemalloc mimalloc tcmalloc; do
        x=${v[$n,$k]:-}
        [ -n "$x" ] || continue
        if [ -z "$best" ] || [ "$x" -lt "$best" ]; then best=$x; fi
    done
    if [ -n "$best" ] && [ -n "${v[hakmem-central,$k]:-}" ]; then
        line+=$(awk -v a="${v[hakmem-central,$k]}" -v b="$best" -v k="$k" \
            'BEGIN { printf " %s %.3f", k, (b > 0 ? a / b : (a > 0 ? 99 : 1)) }')
    fi
done
echo "$line"
echo "command: $*"
