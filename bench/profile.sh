#!/usr/bin/env bash
# profile.sh: where one workload's time goes under hakmem (central) and each allocator, in
# counts that do not depend on the machine's noise: instructions, simulated first-level and
# last-level data-cache misses and mispredicted branches (valgrind --tool=cachegrind
# --cache-sim=yes --branch-sim=yes), minor page faults (GNU time's %R) and system calls
# (strace -f -c), each with its ratio to the fewest among the peers (the best of jemalloc,
# mimalloc and tcmalloc for that count).
# Usage: bench/profile.sh LIBHAKMEM.so COMMAND ARGS...
#   e.g. bench/profile.sh .libs/libhakmem.so bench/bench_mid_large_mt 1 200000 256 42
# The command runs 3 times per allocator, each time with the same standard input: a file or
# a pipe is read to its end first (so a pipe that never closes blocks the script: give such a
# command </dev/null), a terminal or a closed descriptor is replaced by /dev/null. Each
# allocator runs alone: the caller's LD_PRELOAD and allocator variables (HAKMEM_*, MALLOC_*,
# MIMALLOC_*, TCMALLOC_*, GLIBC_TUNABLES) are dropped.
# The programs the command execs count (`env VAR=x prog`, a shell's commands, a compiler
# driver's cc1). A child forked without exec does not count in valgrind's columns (its counts
# would repeat its parent's); faults and system calls include it. The script says when the
# command made such children.
# A peer that is not installed or does not load is reported missing. Valgrind simulates the
# caches it reads from this machine's CPU; its slowdown makes time-driven work (hakmem's
# delayed purge) run more often than it would natively.
# Exit status: 0; 1 when a run fails (its status and the end of its output are shown);
# 2 usage, a tool missing, or a library that is not hakmem.
set -euo pipefail
export LC_ALL=C
[ $# -ge 2 ] || { echo "usage: $0 LIBHAKMEM.so COMMAND ARGS..." >&2; exit 2; }
[ -f "$1" ] || { echo "profile.sh: $1: not a file" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/peers.sh
. "$here/peers.sh"
for t in valgrind strace /usr/bin/time; do
    command -v "$t" >/dev/null || { echo "profile.sh: $t is needed (apt-get install valgrind strace time)" >&2; exit 2; }
done
# LD_PRELOAD splits on spaces and colons: the library is reached through a link whose path
# has neither
tmp=$(mktemp -d /tmp/hk-profile.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
given=$1
lib=$(preload_link "$tmp" "$1" libhakmem.so) || { echo "profile.sh: $lib" >&2; exit 2; }
shift
clear_alloc_env
# hakmem prints its statistics at exit under HAKMEM_STATS=1: a library that does not is not
# hakmem (or did not load)
if ! why=$(hakmem_probe "$lib"); then
    echo "profile.sh: $given is not a hakmem library that loads: $why" >&2
    exit 2
fi
if [ -t 0 ] || [ ! -e /dev/stdin ]; then # a terminal, or closed
    in=/dev/null
else
    in=$tmp/stdin
    cat >"$in"
fi

names=(hakmem-central glibc jemalloc mimalloc tcmalloc)
envs=("LD_PRELOAD=$lib HAKMEM_USE_CENTRAL_ROUTER=1" "" "" "" "")
sos=("" "" libjemalloc.so.2 libmimalloc.so.2 libtcmalloc_minimal.so.4)
pkgs=("" "" libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4)
keys=(instr d1 ll br faults syscalls)
declare -A v=()
notes=()
run() { # NAME TOOL... : the command under the config's environment and TOOL, checked
    local n=$1 rc=0 why
    shift
    # (braced: the shell's own notice of a child killed by a signal is not the report's)
    # shellcheck disable=SC2086
    { env ${envs[$i]} "$@" <"$in" >"$tmp/out" 2>"$tmp/err"; } 2>/dev/null || rc=$?
    [ "$rc" = 0 ] && return 0
    why=$(exit_why "$rc")
    echo "profile.sh: $n: the command failed ($why) under $1; the end of its output:" >&2
    { echo "--- standard output"; tail -n 5 "$tmp/out"; echo "--- standard error"; tail -n 5 "$tmp/err"; } >&2
    if [ "$1" = valgrind ]; then # valgrind's own reason (an instruction it cannot run, ...)
        why=$(cat "$tmp"/cg.* 2>/dev/null | awk '/I +refs:/ { exit }
            !/^==[0-9]+== *$/ && !/^==[0-9]+== (Cachegrind,|Copyright|Using Valgrind|Command:|Parent PID:)/ &&
            !/^--[0-9]+-- warning: (L3 cache found|specified LL cache|simulated LL cache)/' | tail -n 8) || true
        [ -z "$why" ] || printf -- '--- valgrind\n%s\n' "$why" >&2
    fi
    exit 1
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
    # the summary, and the calls that make processes (children forked without exec)
    run "$n" strace -f -C -qq -e trace=all -e signal=none -o "$tmp/st" "$@"
    v[$n,syscalls]=$(awk '$NF == "total" {print $4}' "$tmp/st")
    forked=$(awk '
        function made(thread) { if (!thread && $NF ~ /^[0-9]+$/ && $NF > 0) kid[$NF] = 1 }
        $2 ~ /^(fork|vfork|clone|clone3)\(/ {
            thread = $0 ~ /CLONE_THREAD/
            if ($0 ~ /<unfinished \.\.\.>$/) pend[$1] = thread; else made(thread)
            next
        }
        $2 == "<..." && $3 ~ /^(fork|vfork|clone|clone3)$/ { made(pend[$1] || $0 ~ /CLONE_THREAD/); next }
        ($2 ~ /^execve\(/ || ($2 == "<..." && $3 == "execve")) && $NF == "0" { ex[$1] = 1 }
        END { n = 0; for (k in kid) if (!(k in ex)) n++; print n }' "$tmp/st")
    [ "$forked" = 0 ] || notes+=("$n: $forked child process(es) forked without exec: not in the instructions, misses and mispredicts")
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
for x in "${notes[@]+"${notes[@]}"}"; do echo "note: $x"; done
printf 'command:'
printf ' %q' "$@"
printf '\n'
