#!/usr/bin/env bash
# profile.sh: where one workload's time goes under hakmem (central) and each allocator, in
# counts that do not depend on the machine's noise: instructions, simulated first-level and
# last-level data-cache misses and mispredicted branches (valgrind --tool=cachegrind
# --cache-sim=yes --branch-sim=yes), minor page faults (GNU time's %R) and system calls
# (strace -f -c), each with its ratio to the fewest among the peers (the best of jemalloc,
# mimalloc and tcmalloc for that count).
# Usage: bench/profile.sh LIBHAKMEM.so COMMAND ARGS...
#   e.g. bench/profile.sh .libs/libhakmem.so bench/bench_mid_large_mt 1 200000 256 42
# The command runs 3 times per allocator with the same standard input (read once; /dev/null
# when it is a terminal) and the allocator's LD_PRELOAD alone (any LD_PRELOAD of the caller's
# is dropped). Programs it execs count (`env VAR=x prog`, a compiler driver's cc1); children
# it forks without exec do not under valgrind (their counts would repeat the parent's).
# A peer that is not installed or does not load is reported missing. Valgrind simulates the
# caches it reads from this machine's CPU; its slowdown makes time-driven work (hakmem's
# delayed purge) run more often than it would natively.
# Exit status: 0; 1 when a run fails (its status and the end of its output are shown);
# 2 usage, a tool missing, or a library that is not hakmem.
set -euo pipefail
export LC_ALL=C
[ $# -ge 2 ] || { echo "usage: $0 LIBHAKMEM.so COMMAND ARGS..." >&2; exit 2; }
[ -f "$1" ] || { echo "profile.sh: $1: no such file" >&2; exit 2; }
lib=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/peers.sh
. "$here/peers.sh"
for t in valgrind strace /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "profile.sh: $t is needed (apt-get install valgrind strace time)" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# hakmem prints its statistics at exit under HAKMEM_STATS=1: a library that does not is not
# hakmem (or did not load)
if ! env -u LD_PRELOAD LD_PRELOAD="$lib" HAKMEM_STATS=1 true 2>"$tmp/probe" ||
    ! grep -q '^hakmem stats' "$tmp/probe"; then
    why=$(grep -v '^ ' "$tmp/probe" | head -n 1) || true
    echo "profile.sh: $lib is not a hakmem library that loads: ${why:-no \"hakmem stats\" at exit under HAKMEM_STATS=1}" >&2
    exit 2
fi
if [ -t 0 ]; then in=/dev/null; else in=$tmp/stdin && cat >"$in"; fi

names=(hakmem-central glibc jemalloc mimalloc tcmalloc)
envs=("LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1" "" "" "" "")
sos=("" "" libjemalloc.so.2 libmimalloc.so.2 libtcmalloc_minimal.so.4)
pkgs=("" "" libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4)
keys=(instr d1 ll br faults syscalls)
declare -A v=()
run() { # NAME TOOL... : the command under the config's environment and TOOL, checked
    local n=$1 rc=0
    shift
    # shellcheck disable=SC2086
    env -u LD_PRELOAD ${envs[$i]} "$@" <"$in" >"$tmp/out" 2>"$tmp/err" || rc=$?
    if [ "$rc" != 0 ]; then
        echo "profile.sh: $n: the command failed (exit $rc) under $1; the end of its output:" >&2
        tail -n 5 "$tmp/out" "$tmp/err" >&2
        exit 1
    fi
}
for i in "${!names[@]}"; do
    n=${names[$i]}
    if [ -n "${sos[$i]}" ]; then
        if ! p=$(peer_lib "${sos[$i]}" "${pkgs[$i]}"); then
            echo "$n: missing ($p)"
            continue
        fi
        envs[i]="LD_PRELOAD=$p"
    fi
    rm -f "$tmp"/cg.*
    run "$n" valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes --trace-children=yes \
        --child-silent-after-fork=yes --cachegrind-out-file=/dev/null --log-file="$tmp/cg.%p" "$@"
    num() { # the sum over the processes valgrind followed (a log each)
        cat "$tmp"/cg.* | sed -n "s/^==[0-9]*== $1 *\([0-9,]*\).*/\1/p" | tr -d , |
            awk 'NF { s += $1; n++ } END { if (n) printf "%.0f\n", s }'
    }
    v[$n,instr]=$(num 'I *refs:')
    v[$n,d1]=$(num 'D1 *misses:')
    v[$n,ll]=$(num 'LLd misses:')
    v[$n,br]=$(num 'Mispredicts:')
    run "$n" /usr/bin/time -f '%R' -o "$tmp/tm" "$@"
    v[$n,faults]=$(tail -n 1 "$tmp/tm")
    run "$n" strace -f -c -o "$tmp/st" "$@"
    v[$n,syscalls]=$(awk '$NF == "total" {print $4}' "$tmp/st")
    for k in "${keys[@]}"; do
        [[ "${v[$n,$k]:-}" =~ ^[0-9]+$ ]] || { echo "profile.sh: no $k count for $n" >&2; exit 1; }
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
    [ -n "$best" ] || { line+=" no peer to compare with"; break; }
    line+=$(awk -v a="${v[hakmem-central,$k]}" -v b="$best" -v k="$k" \
        'BEGIN { if (b > 0) printf " %s %.3f", k, a / b; else printf " %s %s", k, (a > 0 ? "inf" : "1.000") }')
done
echo "$line"
printf 'command:'
printf ' %q' "$@"
printf '\n'
