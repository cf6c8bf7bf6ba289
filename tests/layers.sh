#!/usr/bin/env bash
# layers.sh: the layering rule (README "Layout"), checked by tests/layers.py: no file includes
# a header of a higher layer, and no object of the library uses a symbol that a higher layer
# defines. First the checker itself must catch a planted upward include and a planted upward
# call; then the real tree (sources in $src, the library's objects in $bld).
set -u
. "$(dirname "${BASH_SOURCE[0]}")/checks.sh"
hk_scratch
py=$src/tests/layers.py
read -ra cc <<<"${HK_CC:-cc}" # e.g. "gcc -std=gnu11"

# A fake tree: core/base/low.c includes front/up.h and calls up(), which front/up.c defines.
mkdir -p "$tmp/t/core/base/.libs" "$tmp/t/front/.libs" "$tmp/t/include"
printf '/* any spelling */ #include<up.h>\nint low(void) { return up(); }\n' >"$tmp/t/core/base/low.c"
printf 'int up(void);\n' >"$tmp/t/front/up.h"
printf '#include "up.h"\nint up(void) { return 1; }\n' >"$tmp/t/front/up.c"
if ! timeout 60 "${cc[@]}" -c -I"$tmp/t/front" "$tmp/t/core/base/low.c" -o "$tmp/t/core/base/.libs/libhakmem_core_la-low.o" ||
   ! timeout 60 "${cc[@]}" -c -I"$tmp/t/front" "$tmp/t/front/up.c" -o "$tmp/t/front/.libs/libhakmem_core_la-up.o"; then
    fail planted "the fake tree" "${cc[*]} could not compile it"
else
    # what the compiler recorded (a dependency file, as automake's depcomp writes it)
    mkdir -p "$tmp/t/core/base/.deps"
    printf 'core/base/low.lo: core/base/low.c \\\n front/up.h\n\nfront/up.h:\n' \
        >"$tmp/t/core/base/.deps/libhakmem_core_la-low.Plo"
    rc=0
    timeout 60 python3 "$py" "$tmp/t" "$tmp/t" >"$tmp/planted.out" 2>&1 || rc=$?
    if [ "$rc" = 1 ] && grep -q '^core/base/low.c:1: includes front/up.h, of a higher layer' "$tmp/planted.out" &&
       grep -q '^core/base/low.c: uses up, defined by front/up.c' "$tmp/planted.out" &&
       grep -q '^core/base/low.c: compiled with front/up.h, of a higher layer' "$tmp/planted.out"; then
        pass planted "an upward include (<up.h> after a comment), its dependency file and an upward call are all reported (exit 1)"
    else
        fail planted "an upward include and an upward call are both reported" "exit $rc" "$tmp/planted.out"
    fi
    # The same tree without the upward edges passes.
    rm "$tmp/t/core/base/low.c" "$tmp/t/core/base/.libs/libhakmem_core_la-low.o" \
        "$tmp/t/core/base/.deps/libhakmem_core_la-low.Plo"
    rc=0
    timeout 60 python3 "$py" "$tmp/t" "$tmp/t" >"$tmp/clean.out" 2>"$tmp/clean.err" || rc=$?
    if [ "$rc" = 0 ] && [ ! -s "$tmp/clean.out" ]; then
        pass clean "a tree without upward edges passes"
    else
        fail clean "a tree without upward edges passes" "exit $rc" "$tmp/clean.out"
    fi
fi

rc=0
timeout 120 python3 "$py" "$src" "$bld" >"$tmp/real.out" 2>&1 || rc=$?
if [ "$rc" = 0 ]; then
    pass tree "no include and no symbol of the library goes up a layer ($(ls "$bld"/{core/*,legacy,compare,front}/.libs/libhakmem_core_la-*.o 2>/dev/null | wc -l) objects)"
else
    fail tree "no include and no symbol of the library goes up a layer" "exit $rc" "$tmp/real.out"
fi
finish
