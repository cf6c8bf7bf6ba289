#!/usr/bin/env bash
# statemap-model.sh: what a denser state map would cost the fast paths. Compiles
# bench/statemap_model.c as the library is compiled and counts the instructions of each
# function's hit path (from its entry to its first return), after checking that the model of
# today's map executes as many as the library's own malloc and free (else the model no longer
# describes the library, and the script fails).
# Usage: bench/statemap-model.sh BUILDDIR   (a built tree: its .libs/libhakmem.so is compared
# with, its config.h, compiler and CFLAGS are used)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 BUILDDIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
lib=$build/.libs/libhakmem.so
if ! [ -r "$lib" ] || ! [ -r "$build/config.h" ] || ! [ -r "$build/Makefile" ]; then
    echo "statemap-model.sh: $1 is not a built tree (no .libs/libhakmem.so, config.h or Makefile)" >&2
    exit 2
fi
mk() { sed -n "s/^$1 = //p" "$build/Makefile" | head -1; }
src=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/hk-statemap.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
inc=()
for d in include core/base core/engine core/box core/router legacy compare front; do inc+=(-I"$src/$d"); done
# shellcheck disable=SC2046 # the tree's compiler and flags, split as make splits them
$(mk CC) -DHAVE_CONFIG_H -I"$build" "${inc[@]}" $(mk CPPFLAGS) $(mk CFLAGS) $(mk CODE_COVERAGE_CFLAGS) \
    -fPIC -fvisibility=hidden -pthread -c "$src/bench/statemap_model.c" -o "$tmp/model.o"
# Instructions from a function's entry to its first ret (its hit path: the misses jump away);
# awk reads to the end (no SIGPIPE for objdump under pipefail).
hit() {
    objdump -d --no-show-raw-insn "$1" | awk -v f="<$2>:" '
        done { next }
        $2 == f { on = 1; next }
        on && /^$/ { done = 1 }
        on && /\t/ { n++; if ($0 ~ /\tret/) { print n; done = 1 } }'
}
declare -A n
for f in malloc_granule free_granule malloc_block free_block; do
    n[$f]=$(hit "$tmp/model.o" "$f")
done
lm=$(hit "$lib" malloc)
lf=$(hit "$lib" free)
if [ -z "$lm" ] || [ -z "$lf" ]; then
    echo "statemap-model.sh: no malloc or free in $lib" >&2
    exit 1
fi
if [ "${n[malloc_granule]}" != "$lm" ] || [ "${n[free_granule]}" != "$lf" ]; then
    echo "statemap-model.sh: the model (malloc ${n[malloc_granule]}, free ${n[free_granule]}) does not match $lib (malloc $lm, free $lf): the fast paths changed, update bench/statemap_model.c" >&2
    exit 1
fi
printf '%-28s %6s %6s %6s\n' "hit path (instructions)" malloc free pair
printf '%-28s %6d %6d %6d\n' "library (granule map)" "$lm" "$lf" $((lm + lf))
printf '%-28s %6d %6d %6d\n' "model: byte per granule" "${n[malloc_granule]}" "${n[free_granule]}" \
    $((n[malloc_granule] + n[free_granule]))
printf '%-28s %6d %6d %6d\n' "model: byte per block" "${n[malloc_block]}" "${n[free_block]}" \
    $((n[malloc_block] + n[free_block]))
