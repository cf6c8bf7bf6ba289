#!/usr/bin/env bash
# hostile.sh - bad input against libhakmem under LD_PRELOAD (part of `make check', ~10 s).
# Every case runs in its own process (tests/hostile CASE, or a workload with a hostile
# environment) and checks the documented outcome and stderr:
#   - bad pointers (stack, global, interior, misaligned, foreign mmap, glibc's own malloc),
#     double frees in every box and across threads, realloc / malloc_usable_size of bad
#     pointers: SIGABRT and exactly one stderr line "hakmem: <call>: <fault> ...";
#   - sizes near SIZE_MAX, calloc/reallocarray overflow, invalid alignments: the same results
#     as glibc's (the same case run without LD_PRELOAD), where the README documents glibc's
#     semantics; lines marked [doc]/[npow2] are checked against the README instead;
#   - every numeric HAKMEM_* variable (read from core/base/hk_options.h) with garbage values:
#     exactly one warning naming it, the default kept, output unchanged;
#   - HAKMEM_DIVERGENCE_REPORT unwritable, or on a full disk (ulimit -f, SIGXFSZ ignored):
#     one warning, output and exit status unchanged, no truncated report;
#   - HAKMEM_ROUTER_TABLE with a few dozen malformed files: one warning each, built-in kept;
#     a FIFO, /dev/stdin (a pipe), a device: refused at once with one warning (no hang, the
#     program's input untouched); /dev/stdin redirected from a regular file: read through its
#     own open file, the program's input untouched;
#   - in a build without legacy/ (--disable-legacy), which has no differential mode: garbage
#     in the migration variables, a report path, a log that is a FIFO nobody reads leave the
#     program working, with one warning per variable and no file written (the cases about the
#     differential mode's reports are not run there);
#   - the mmap box at the kernel's limit of mappings (vm.max_map_count): munmap fails with
#     ENOMEM, nothing leaks once the limit is gone (malloc_trim).
# Environment: HK_LIB, HK_TOP_BUILDDIR, HK_TOP_SRCDIR (AM_TESTS_ENVIRONMENT);
# HK_XFAIL="id ..." turns the failures of those check ids into XFAIL (known bugs; an
# XPASS counts as a failure). One "PASS: id: what" / "FAIL: id: what: why" line per check, then
# "N passed, M failed"; exit 1 if any failed.
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
export LC_ALL=C
unset LD_PRELOAD
script_dir=$(cd "$(dirname "$0")" && pwd)
bld=${HK_TOP_BUILDDIR:-$PWD}
src=${HK_TOP_SRCDIR:-$(cd "$script_dir/.." && pwd)}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
prog="$bld/tests/hostile"
central_default=${HK_CONFIG_CENTRAL_ROUTER:-0}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-hostile.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ulimit -c 0 2>/dev/null || true # the aborts are expected: no core files
# Nothing of ours may leak into the runs.
scrub_hakmem_env


for f in "$prog" "$lib"; do
    if [ ! -e "$f" ]; then echo "FAIL: setup: $f not found (build first)"; echo "0 passed, 1 failed"; exit 1; fi
done

# A coverage build's programs write their counters (.gcda) at exit; when that fails (the
# full-disk case below: ulimit -f), libgcov says so on stderr. Those lines are gcov's, not
# hakmem's: strip_gcov FILE removes them before stderr is judged.
strip_gcov() { sed -i '/^libgcov profiling error:/d; /^profiling:.*\.gcda/d' "$1"; }
# hk CMDARGS...: run under preload with extra VAR=value words first; out/err/rc in
# $tmp/o, $tmp/e, $rc.
hk() {
    rc=0
    { ( exec timeout -k 5 "${tmo:-30}" env LD_PRELOAD="$lib" "$@" ) >"$tmp/o" 2>"$tmp/e" </dev/null || rc=$?; } 2>/dev/null
    strip_gcov "$tmp/e"
}
nlines() { grep -c '' "$1"; }

# ------------------------------------------------------------- reference outputs
hk "$prog" ok
if [ "$rc" -ne 0 ] || [ -s "$tmp/e" ] || ! grep -q '^boxes: 0=tiny ' "$tmp/o"; then
    fail setup "reference run of 'hostile ok' under hakmem" "exit $rc" "$tmp/e"
    echo "$npass passed, $((nfail)) failed"; exit 1
fi
cp "$tmp/o" "$tmp/ref.ok"
hk HAKMEM_USE_CENTRAL_ROUTER=1 "$prog" ok
cp "$tmp/o" "$tmp/ref.ok.central"
paths="legacy and central"
hk_legacy_built || paths="the default and HAKMEM_USE_CENTRAL_ROUTER=1 (no legacy/: both central)"
if cmp -s "$tmp/ref.ok" "$tmp/ref.ok.central"; then pass setup "$paths give the same reference output"
else fail setup "$paths: reference outputs differ" "see diff" "$tmp/ref.ok.central"; fi

# -------------------------------------------------------- fail-closed bad pointers
# abort_case HOSTILE-CASE ERE: SIGABRT, exactly one stderr line, "^hakmem: " + ERE
abort_case() {
    local c=$1 re=$2
    hk "$prog" "$c"
    local n; n=$(nlines "$tmp/e")
    if [ "$rc" -ne 134 ]; then
        fail "abort:$c" "$c aborts" "exit status $rc, not 134 (SIGABRT); stdout: $(head -c 200 "$tmp/o")" "$tmp/e"
    elif [ "$n" -ne 1 ]; then
        fail "abort:$c" "$c aborts with one stderr line" "$n stderr lines" "$tmp/e"
    elif ! grep -qE "^hakmem: $re" "$tmp/e"; then
        fail "abort:$c" "$c names hakmem and the fault" "line does not match /^hakmem: $re/: $(cat "$tmp/e")"
    else
        pass "abort:$c" "$c -> SIGABRT, '$(cut -c1-110 "$tmp/e")'"
    fi
}
P='0x[0-9a-f]+'
abort_case free-stack            "free\(\): foreign pointer $P \(not hakmem's memory"
abort_case free-global           "free\(\): foreign pointer $P \(not hakmem's memory"
abort_case free-interior         "free\(\): invalid pointer $P \(inside a tiny block of 112 bytes at $P"
abort_case free-interior-mmap    "free\(\): invalid pointer $P \(inside an mmap block"
abort_case free-misaligned       "free\(\): invalid pointer $P \(inside a tiny block of 112 bytes at $P"
abort_case free-misaligned-mmap  "free\(\): invalid pointer $P \(inside an mmap block"
abort_case free-foreign-mmap     "free\(\): foreign pointer $P \(not hakmem's memory"
abort_case free-foreign-glibc    "free\(\): foreign pointer $P \(not hakmem's memory"
abort_case double-free-tiny      "free\(\): double free of $P \(tiny block of 64 bytes\)"
abort_case double-free-pool      "free\(\): double free of $P \(pool block of 4096 bytes\)"
abort_case double-free-bridge    "free\(\): double free of $P \(pool block of 40960 bytes\)"
abort_case double-free-mid       "free\(\): double free of $P \(mid block of 20480 bytes\)"
abort_case double-free-l25       "free\(\): double free of $P \(l25 block of 131072 bytes\)"
abort_case double-free-mmap      "free\(\): double free of $P \(mmap block"
abort_case double-free-aligned   "free\(\): double free of $P \(aligned pointer into a pool block of 6144 bytes\)"
abort_case double-free-thread    "free\(\): double free of $P \(tiny block of 48 bytes\)"
abort_case double-free-thread2   "free\(\): double free of $P \(mid block of 20480 bytes\)"
abort_case aligned-padding       "free\(\): invalid pointer $P \(padding before the aligned pointer $P in a tiny block of 112 bytes"
abort_case realloc-stack         "realloc\(\): foreign pointer $P"
abort_case realloc-interior      "realloc\(\): invalid pointer $P \(inside a tiny block"
abort_case realloc-freed         "realloc\(\): use after free of $P \(tiny block of 112 bytes, freed\)"
abort_case usable-stack          "malloc_usable_size\(\): foreign pointer $P"
abort_case usable-interior       "malloc_usable_size\(\): invalid pointer $P \(inside a tiny block"
abort_case usable-freed          "malloc_usable_size\(\): use after free of $P \(tiny block of 112 bytes, freed\)"
abort_case realloc-freed-mmap    "realloc\(\): use after free of $P \(mmap block"
abort_case usable-freed-mmap     "malloc_usable_size\(\): use after free of $P \(mmap block"

# -------------------------------------------- results that must match glibc's
glibc_ver=$("$prog" glibc-version 2>/dev/null || echo 0.0)
ver_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n 1)" = "$2" ]; }
# same_as_glibc ID CASE FILTER-ERE WHAT
same_as_glibc() {
    local id=$1 c=$2 pat=$3 what=$4
    local brc=0
    ( exec timeout -k 5 30 "$prog" "$c" ) >"$tmp/g.$c" 2>"$tmp/ge.$c" </dev/null || brc=$?
    hk "$prog" "$c"
    cp "$tmp/o" "$tmp/h.$c"
    grep -E "$pat" "$tmp/g.$c" | grep -vE '\[(doc|npow2)\]' >"$tmp/g.$id" || true
    grep -E "$pat" "$tmp/h.$c" | grep -vE '\[(doc|npow2)\]' >"$tmp/h.$id" || true
    if [ "$brc" -ne 0 ]; then
        fail "$id" "$what" "the glibc run of '$c' failed (exit $brc)" "$tmp/ge.$c"
    elif [ "$rc" -ne 0 ] || [ -s "$tmp/e" ]; then
        fail "$id" "$what" "under hakmem: exit $rc (no abort and no stderr expected)" "$tmp/e"
    elif [ ! -s "$tmp/g.$id" ]; then
        fail "$id" "$what" "no lines to compare"
    elif ! cmp -s "$tmp/g.$id" "$tmp/h.$id"; then
        diff "$tmp/g.$id" "$tmp/h.$id" | grep '^[<>]' | sed 's/^</glibc: /; s/^>/hakmem:/' >"$tmp/d.$id"
        fail "$id" "$what" "$(grep -c '^glibc' "$tmp/d.$id") of $(nlines "$tmp/g.$id") results differ from glibc's" "$tmp/d.$id"
    else
        pass "$id" "$what: $(nlines "$tmp/h.$id") results identical to glibc $glibc_ver's"
    fi
}
same_as_glibc enomem:malloc enomem '^(malloc|valloc|pvalloc|free|\[doc\])' "malloc/valloc/pvalloc near SIZE_MAX -> NULL + ENOMEM, no abort"
same_as_glibc enomem:calloc enomem '^calloc' "calloc near SIZE_MAX and calloc overflow -> NULL + ENOMEM"
same_as_glibc enomem:realloc enomem '^(realloc|reallocarray)' "realloc/reallocarray near SIZE_MAX and overflow -> NULL + ENOMEM, old block intact"
if grep -qxF '[doc] pvalloc(0) -> usable >= 4096: yes' "$tmp/h.enomem"; then pass enomem:pvalloc0 "pvalloc(0) gives one page (README)"
else fail enomem:pvalloc0 "pvalloc(0) gives one page (README)" "$(grep pvalloc "$tmp/h.enomem")"; fi
same_as_glibc align:posix_memalign align '^posix_memalign' "posix_memalign: EINVAL for bad alignments, *p untouched, ENOMEM for huge ones"
same_as_glibc align:aligned_alloc align '^aligned_alloc' "aligned_alloc with power-of-two alignments"
same_as_glibc align:memalign align '^memalign' "memalign: non-powers of two rounded up, EINVAL / ENOMEM as glibc"
# aligned_alloc with a non-power of two: README says NULL + EINVAL (glibc >= 2.38 agrees).
bad=$(grep -F '[npow2]' "$tmp/h.align" | grep -vc 'NULL errno=EINVAL$')
tot=$(grep -cF '[npow2]' "$tmp/h.align")
if [ "$tot" -gt 0 ] && [ "$bad" -eq 0 ]; then
    note=""; ver_ge "$glibc_ver" 2.38 || note=" (glibc $glibc_ver still rounds these up: README semantics checked)"
    pass align:aligned_alloc_npow2 "aligned_alloc with a non-power-of-two alignment -> NULL + EINVAL, $tot calls$note"
else
    grep -F '[npow2]' "$tmp/h.align" | grep -v 'NULL errno=EINVAL$' >"$tmp/d.np"
    fail align:aligned_alloc_npow2 "aligned_alloc with a non-power-of-two alignment -> NULL + EINVAL" "$bad of $tot differ" "$tmp/d.np"
fi

# ----------------------------------------------- numeric HAKMEM_* with garbage
hdr="$src/core/base/hk_options.h"
mapfile -t numvars < <(sed -n 's/.*X([A-Z0-9_]*, NUM, [A-Z]*, "\(HAKMEM_[A-Z0-9_]*\)".*/\1/p' "$hdr")
if [ "${#numvars[@]}" -lt 10 ]; then
    fail env:list "numeric HAKMEM_* variables from $hdr" "found only ${#numvars[@]}"
fi
for var in "${numvars[@]}"; do
    bad=""
    for val in x -5 99999999999999999999 ""; do
        hk "$var=$val" "$prog" ok
        if [ "$rc" -ne 0 ]; then bad+=" [$val: exit $rc]"
        elif ! cmp -s "$tmp/o" "$tmp/ref.ok"; then bad+=" [$val: output changed]"
        elif [ "$(nlines "$tmp/e")" -ne 1 ]; then bad+=" [$val: $(nlines "$tmp/e") stderr lines]"
        elif ! grep -qE "^hakmem: warning: $var=\"$val\" .*default" "$tmp/e"; then bad+=" [$val: warning '$(cat "$tmp/e")']"
        fi
    done
    if [ -z "$bad" ]; then pass "env:$var" "$var=x|-5|99999999999999999999|'' -> one warning each, output unchanged"
    else fail "env:$var" "$var with garbage" "$bad"; fi
done
# ... and the default really is kept (where it shows):
q() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$1" 2>/dev/null; }
warn1() { [ "$(grep -c "^hakmem: warning: $1=" "$tmp/e")" = 1 ]; }
hk HAKMEM_VERBOSE=1 HAKMEM_POOL_PREWARM_PAGES=x "$prog" ok
if [ "$rc" = 0 ] && warn1 HAKMEM_POOL_PREWARM_PAGES && [ "$(grep -c 'Pre-allocated 4 pages for Bridge class' "$tmp/e")" = 2 ]; then
    pass env:default:POOL_PREWARM_PAGES "garbage HAKMEM_POOL_PREWARM_PAGES keeps 4 pages"
else fail env:default:POOL_PREWARM_PAGES "garbage HAKMEM_POOL_PREWARM_PAGES keeps 4 pages" "exit $rc" "$tmp/e"; fi
hk HAKMEM_STATS=1 HAKMEM_USE_CENTRAL_ROUTER=x "$prog" ok
if [ "$central_default" = 1 ]; then want='legacy routed 0 allocations,'; else want=', central routed 0$'; fi
if [ "$rc" = 0 ] && warn1 HAKMEM_USE_CENTRAL_ROUTER && grep -qE "^  paths: .*$want" "$tmp/e"; then
    pass env:default:USE_CENTRAL_ROUTER "garbage HAKMEM_USE_CENTRAL_ROUTER keeps the build's path"
else fail env:default:USE_CENTRAL_ROUTER "garbage HAKMEM_USE_CENTRAL_ROUTER keeps the build's path" "exit $rc" "$tmp/e"; fi
rm -f "$tmp/r.json"
hk HAKMEM_ROUTER_DIFF=x HAKMEM_DIVERGENCE_REPORT="$tmp/r.json" "$prog" ok
if [ "$rc" = 0 ] && warn1 HAKMEM_ROUTER_DIFF && [ ! -e "$tmp/r.json" ]; then
    pass env:default:ROUTER_DIFF "garbage HAKMEM_ROUTER_DIFF keeps differential mode off"
else fail env:default:ROUTER_DIFF "garbage HAKMEM_ROUTER_DIFF keeps differential mode off" "exit $rc, report $( [ -e "$tmp/r.json" ] && echo written || echo absent)" "$tmp/e"; fi
# nomig VAR...: the warnings of a build without legacy/ for these variables, in order
nomig() {
    local v
    for v; do echo "hakmem: warning: $v is set but has no effect: this build has no legacy path and no differential mode (--disable-legacy)"; done
}
for pair in "ROUTER_DIFF_SAMPLE:r['mode']['sample'] == 1" "ROUTER_ROLLBACK:r['mode']['rollback_after'] == 0" \
            "ROUTER_ROLLOUT:r['mode']['rollout_pct'] == -1 and r['executing'] != 'rollout'"; do
    v=${pair%%:*} expr=${pair#*:}
    rm -f "$tmp/r.json"
    hk HAKMEM_ROUTER_DIFF=1 "HAKMEM_$v=x" HAKMEM_DIVERGENCE_REPORT="$tmp/r.json" "$prog" ok
    if ! hk_legacy_built; then
        # no differential mode: the garbage is refused, the other two warn that they do
        # nothing here, the program runs as ever, no report is written
        if [ "$rc" = 0 ] && warn1 "HAKMEM_$v" && cmp -s "$tmp/o" "$tmp/ref.ok" && [ ! -e "$tmp/r.json" ] &&
            [ "$(grep -v "^hakmem: warning: HAKMEM_$v=" "$tmp/e")" = "$(nomig HAKMEM_ROUTER_DIFF HAKMEM_DIVERGENCE_REPORT)" ]; then
            pass "env:default:$v" "garbage HAKMEM_$v without legacy/: its warning and one per other migration variable, output unchanged, no report"
        else fail "env:default:$v" "garbage HAKMEM_$v without legacy/" "exit $rc, report $( [ -e "$tmp/r.json" ] && echo written || echo absent)" "$tmp/e"; fi
    elif [ "$rc" = 0 ] && warn1 "HAKMEM_$v" && cmp -s "$tmp/o" "$tmp/ref.ok" && q "$tmp/r.json" "$expr"; then
        pass "env:default:$v" "garbage HAKMEM_$v keeps the default (report: $expr)"
    else fail "env:default:$v" "garbage HAKMEM_$v keeps the default" "exit $rc; report: $(head -c 300 "$tmp/r.json" 2>/dev/null)" "$tmp/e"; fi
done

# ------------------------------------------- HAKMEM_DIVERGENCE_REPORT cannot be written
: >"$tmp/plainfile"
mkdir -p "$tmp/adir"
printf '0 18446744073709551615 mmap\n' >"$tmp/allmmap.txt"
if hk_legacy_built; then
    # report_case ID WHAT PATH: one warning naming the variable, output and status unchanged
    report_case() {
        local id=$1 what=$2 path=$3
        hk HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$path" "$prog" ok
        if [ "$rc" -ne 0 ]; then fail "$id" "$what" "exit $rc" "$tmp/e"
        elif ! cmp -s "$tmp/o" "$tmp/ref.ok"; then fail "$id" "$what" "output changed" "$tmp/o"
        elif [ "$(nlines "$tmp/e")" -ne 1 ] || ! grep -q '^hakmem: warning: HAKMEM_DIVERGENCE_REPORT=' "$tmp/e"; then
            fail "$id" "$what" "want one warning naming HAKMEM_DIVERGENCE_REPORT, got $(nlines "$tmp/e") lines" "$tmp/e"
        else pass "$id" "$what -> '$(cut -c1-100 "$tmp/e")'"; fi
    }
    report_case report:nodir "report in a directory that does not exist" "$tmp/no/such/dir/r.json"
    report_case report:notdir "report path under a regular file (ENOTDIR)" "$tmp/plainfile/r.json"
    report_case report:isdir "report path is a directory (rename fails)" "$tmp/adir"
    report_case report:proc "report under /proc (read-only)" "/proc/hakmem-no-such/r.json"

    # Full disk: a report that must exceed 1 KiB (every size diverges against an all-mmap
    # table), written with the file size limit at 1 KiB and SIGXFSZ ignored.
    bigenv=(HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/allmmap.txt")
    ( exec timeout -k 5 30 env LD_PRELOAD="$lib" "${bigenv[@]}" HAKMEM_DIVERGENCE_REPORT="$tmp/big.json" "$prog" sizes ) \
        >"$tmp/big.o" 2>"$tmp/big.e" </dev/null
    brc=$?
    sz=$(stat -c %s "$tmp/big.json" 2>/dev/null || echo 0)
    if [ "$brc" = 0 ] && [ "$sz" -gt 4096 ] && q "$tmp/big.json" 'r["divergent"] > 0'; then
        pass report:big "the full-disk workload's report is $sz bytes (> 1 KiB limit)"
    else fail report:big "the full-disk workload's report exceeds 1 KiB" "exit $brc, $sz bytes" "$tmp/big.e"; fi
    mkdir -p "$tmp/full"
    printf 'previous report\n' >"$tmp/full/r.json"
    rc=0
    # stderr through a pipe: the file-size limit must not cut its lines (a coverage build's gcov
    # line, cut, would no longer be recognised as gcov's). A coverage build's counter files
    # go to a scratch directory (GCOV_PREFIX): under the limit, libgcov would leave the
    # build's own .gcda files cut at 1 KiB, and every later process would fail to merge them.
    { ( ulimit -f 1; trap '' XFSZ; exec timeout -k 5 30 env GCOV_PREFIX="$tmp/gcov" LD_PRELOAD="$lib" "${bigenv[@]}" \
          HAKMEM_DIVERGENCE_REPORT="$tmp/full/r.json" "$prog" sizes ) 2>&1 >"$tmp/o" </dev/null | cat >"$tmp/e"
      rc=${PIPESTATUS[0]}; } 2>/dev/null
    strip_gcov "$tmp/e"
    left=$(find "$tmp/full" -name '*.tmp.*' | wc -l)
    if [ "$rc" -ne 0 ]; then fail report:fulldisk "report on a full disk" "exit $rc (want 0)" "$tmp/e"
    elif ! cmp -s "$tmp/o" "$tmp/big.o"; then fail report:fulldisk "report on a full disk" "output changed" "$tmp/o"
    elif [ "$(grep -c '' "$tmp/e")" -ne 1 ] || ! grep -q '^hakmem: warning: HAKMEM_DIVERGENCE_REPORT=' "$tmp/e"; then
        fail report:fulldisk "report on a full disk: one warning, no truncated report" \
            "$(grep -c '' "$tmp/e") warning lines; $tmp/full/r.json is now $(stat -c %s "$tmp/full/r.json" 2>/dev/null || echo 0) bytes: '$(head -c 60 "$tmp/full/r.json" | tr '\n' ' ')...'" "$tmp/e"
    elif [ "$(cat "$tmp/full/r.json")" != "previous report" ] || [ "$left" -ne 0 ]; then
        fail report:fulldisk "report on a full disk leaves the previous report" "report replaced or $left temp files left"
    else pass report:fulldisk "report on a full disk (ulimit -f 1) -> '$(cut -c1-100 "$tmp/e")', previous report kept"; fi
else
    hk_left_out 6
    # No differential mode: a report path (even one that cannot be written) is never used;
    # one warning per migration variable, the program as ever, the table still in force.
    hk HAKMEM_ROUTER_TABLE="$tmp/allmmap.txt" "$prog" ok
    cp "$tmp/o" "$tmp/big.ref.allmmap"
    for case in "scratch:$tmp/r.json" "nodir:$tmp/no/such/dir/r.json" "proc:/proc/hakmem-no-such/r.json"; do
        id=report:nolegacy-${case%%:*} path=${case#*:}
        rm -f "$tmp/r.json"
        hk HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/allmmap.txt" HAKMEM_DIVERGENCE_REPORT="$path" "$prog" ok
        if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/big.ref.allmmap" && grep -q '^boxes: 0=mmap 1024=mmap ' "$tmp/o" &&
            [ "$(cat "$tmp/e")" = "$(nomig HAKMEM_ROUTER_DIFF HAKMEM_DIVERGENCE_REPORT)" ] && [ ! -e "$tmp/r.json" ]; then
            pass "$id" "HAKMEM_DIVERGENCE_REPORT=$path without legacy/: one warning per migration variable, no file, the table in force"
        else fail "$id" "HAKMEM_DIVERGENCE_REPORT=$path without legacy/" "exit $rc, report $( [ -e "$tmp/r.json" ] && echo written || echo absent)" "$tmp/e"; fi
    done
fi

# ------------------------------------------------- HAKMEM_ROUTER_TABLE malformed
mkdir -p "$tmp/tables"
"$bld/tools/hakmem-routes" >"$tmp/builtin.txt" 2>/dev/null
python3 - "$tmp/tables" "$tmp/builtin.txt" <<'PY'
import os, random, sys
d, builtin = sys.argv[1], open(sys.argv[2], "rb").read()
rules = [l for l in builtin.split(b"\n") if l and not l.startswith(b"#")]
M = b"18446744073709551615"
def w(name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
body = b"\n".join(rules) + b"\n"
w("empty", b"")
w("comments-only", b"# nothing\n# here\n\n")
w("blank-lines", b"\n\n   \n\t\n")
rnd = random.Random(20240601)
for i in range(8):
    w("random-bytes-%d" % i, bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 3000))))
for i in range(4):
    w("random-tokens-%d" % i, b"\n".join(b" ".join(rnd.choice([b"0", b"1024", b"tiny", b"pool", b"ace", b"mmap", b"-1", b"#", M, b"x"])
                                                  for _ in range(rnd.randrange(1, 6))) for _ in range(rnd.randrange(1, 8))) + b"\n")
for cut in (len(body) - 3, len(body) - len(M) - 1, len(body) // 2, 5, len(body) - len(rules[-1]) - 1):
    w("truncated-at-%d" % cut, body[:cut])
w("missing-last-row", b"\n".join(rules[:-1]) + b"\n")
w("missing-first-row", b"\n".join(rules[1:]) + b"\n")
w("huge-number", body.replace(M, b"99999999999999999999999"))
w("sizemax-plus-1", body.replace(M, b"18446744073709551616"))
w("negative", b"-1 1024 tiny\n" + b"\n".join(rules[1:]) + b"\n")
w("hex", body.replace(b"0 1024 tiny", b"0x0 0x400 tiny"))
w("plus-sign", body.replace(b"0 1024 tiny", b"+0 1024 tiny"))
w("unknown-box", body.replace(b"tiny", b"small"))
w("uppercase-box", body.replace(b"tiny", b"TINY"))
w("ace-on-tiny", body.replace(b"0 1024 tiny", b"0 1024 tiny ace"))
w("extra-field", body.replace(b"pool ace", b"pool ace extra", 1))
w("two-fields", body.replace(b"8193 32768 mid", b"8193 32768"))
w("lo-above-hi", body.replace(b"8193 32768 mid", b"32768 8193 mid"))
w("gap", body.replace(b"8193 32768 mid", b"9000 32768 mid"))
w("overlap", body.replace(b"8193 32768 mid", b"8000 32768 mid"))
w("unsorted", b"\n".join([rules[1], rules[0]] + rules[2:]) + b"\n")
w("tiny-too-big", b"0 4096 tiny\n4097 8192 pool ace\n" + b"\n".join(rules[2:]) + b"\n")
w("row-after-sizemax", body + b"5 6 tiny\n")
w("too-many-rules", b"".join(b"%d %d mmap\n" % (i, i) for i in range(100)) + b"100 " + M + b" mmap\n")
w("too-large", b"#" * 70000 + b"\n" + body)
w("nul-bytes", body.replace(b"1024", b"10\x0024", 1))
w("hash-in-number", body.replace(b"0 1024 tiny", b"0 10#24 tiny"))
w("long-line", b"1" * 60000)
w("utf8-junk", body.replace(b"tiny", "tíny".encode()))
PY
n_tables=$(ls "$tmp/tables" | wc -l)
tbad=0 tgood=0
for t in "$tmp/tables"/*; do
    name=${t##*/}
    hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="$t" "$prog" ok
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/ref.ok.central" && [ "$(nlines "$tmp/e")" -eq 1 ] &&
        grep -qE '^hakmem: warning: HAKMEM_ROUTER_TABLE=.*keeping the built-in table$' "$tmp/e"; then
        tgood=$((tgood + 1))
    else
        tbad=$((tbad + 1))
        fail "table:$name" "malformed table '$name': one warning, built-in table kept" \
            "exit $rc, $(nlines "$tmp/e") stderr lines, output $(cmp -s "$tmp/o" "$tmp/ref.ok.central" && echo same || echo CHANGED)" "$tmp/e"
    fi
done
[ "$tbad" -eq 0 ] && pass table:malformed "$tgood malformed tables -> one warning each, built-in table kept, output unchanged"
# the path itself: a directory, a missing file, a path longer than the option storage
for case in "dir:$tmp/adir" "missing:$tmp/no-such-table.txt"; do
    hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="${case#*:}" "$prog" ok
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/ref.ok.central" && [ "$(nlines "$tmp/e")" -eq 1 ] &&
        grep -qE '^hakmem: warning: HAKMEM_ROUTER_TABLE=.*keeping the built-in table$' "$tmp/e"; then
        pass "table:path-${case%%:*}" "HAKMEM_ROUTER_TABLE is a ${case%%:*} path -> '$(cut -c1-100 "$tmp/e")'"
    else fail "table:path-${case%%:*}" "HAKMEM_ROUTER_TABLE is a ${case%%:*} path" "exit $rc" "$tmp/e"; fi
done
long=$(printf '/x%.0s' $(seq 1 2100))
hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="$long" "$prog" ok
if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/ref.ok.central" && [ "$(nlines "$tmp/e")" -eq 1 ] &&
    grep -q '^hakmem: warning: HAKMEM_ROUTER_TABLE' "$tmp/e"; then
    pass table:path-long "HAKMEM_ROUTER_TABLE of 4200 bytes -> one warning"
else fail table:path-long "HAKMEM_ROUTER_TABLE of 4200 bytes" "exit $rc" "$tmp/e"; fi
# positive controls: the built-in table as a file loads silently; a different valid table
# is honoured (so the checks above would see a table that was wrongly accepted)
hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="$tmp/builtin.txt" "$prog" ok
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/e" ] && cmp -s "$tmp/o" "$tmp/ref.ok.central"; then
    pass table:control-builtin "the built-in table as a file: accepted silently"
else fail table:control-builtin "the built-in table as a file" "exit $rc" "$tmp/e"; fi
sed 's/^0 1024 tiny$/0 1000 tiny/; s/^1025 8192 pool ace$/1001 8192 pool ace/' "$tmp/builtin.txt" >"$tmp/edge.txt"
hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" "$prog" ok
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/e" ] && grep -q ' 1024=pool ' "$tmp/o"; then
    pass table:control-valid "a valid different table is honoured (1024 -> pool)"
else fail table:control-valid "a valid different table is honoured" "exit $rc: $(cat "$tmp/o")" "$tmp/e"; fi

# ------------------------------------------ HAKMEM_ROUTER_TABLE: only regular files are read
mkfifo "$tmp/fifo"
ln -s "$tmp/fifo" "$tmp/fifo-link"
ln -s "$tmp/builtin.txt" "$tmp/table-link"
for case in "fifo:$tmp/fifo" "fifo-symlink:$tmp/fifo-link" "device:/dev/zero" "tty-or-null:/dev/null"; do
    tmo=10 hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="${case#*:}" "$prog" ok
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/ref.ok.central" && [ "$(nlines "$tmp/e")" -eq 1 ] &&
        grep -qE '^hakmem: warning: HAKMEM_ROUTER_TABLE=.*: not a regular file.*; keeping the built-in table$' "$tmp/e"; then
        pass "table:${case%%:*}" "HAKMEM_ROUTER_TABLE=${case#*:} -> at once, '$(cut -c1-100 "$tmp/e")'"
    else fail "table:${case%%:*}" "HAKMEM_ROUTER_TABLE=${case#*:} refused at once with one warning" "exit $rc$( [ "$rc" = 124 ] && echo ': hung until the timeout')" "$tmp/e"; fi
done
hk HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_TABLE="$tmp/table-link" "$prog" ok
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/e" ]; then pass table:symlink "a symlink to a regular table file is read"
else fail table:symlink "a symlink to a regular table file is read" "exit $rc" "$tmp/e"; fi
printf 'the program input\nline 2\n' >"$tmp/input.txt"
rc=0
{ ( exec timeout -k 5 10 env LD_PRELOAD="$lib" HAKMEM_ROUTER_TABLE=/dev/stdin "$prog" stdin-cat ) \
    < <(cat "$tmp/input.txt") >"$tmp/o" 2>"$tmp/e" || rc=$?; } 2>/dev/null
if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/input.txt" && [ "$(nlines "$tmp/e")" -eq 1 ] &&
    grep -qE '^hakmem: warning: HAKMEM_ROUTER_TABLE=/dev/stdin: not a regular file' "$tmp/e"; then
    pass table:stdin-pipe "HAKMEM_ROUTER_TABLE=/dev/stdin (a pipe): refused, the program reads all its input"
else fail table:stdin-pipe "HAKMEM_ROUTER_TABLE=/dev/stdin (a pipe): refused, input untouched" "exit $rc, output: $(head -c 100 "$tmp/o" | tr '\n' '|')" "$tmp/e"; fi
rc=0
{ ( exec timeout -k 5 10 env LD_PRELOAD="$lib" HAKMEM_ROUTER_TABLE=/dev/stdin "$prog" stdin-cat ) \
    <"$tmp/builtin.txt" >"$tmp/o" 2>"$tmp/e" || rc=$?; } 2>/dev/null
if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/builtin.txt" && [ ! -s "$tmp/e" ]; then
    pass table:stdin-file "HAKMEM_ROUTER_TABLE=/dev/stdin redirected from a table file: loaded through its own open file, the program still reads all its input"
else fail table:stdin-file "HAKMEM_ROUTER_TABLE=/dev/stdin from a regular file: the program's input untouched" "exit $rc" "$tmp/e"; fi

if hk_legacy_built; then
    # HAKMEM_DIVERGENCE_LOG a FIFO nobody reads: the first divergence must not hang.
    tmo=10 hk HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/allmmap.txt" HAKMEM_DIVERGENCE_LOG="$tmp/fifo" "$prog" ok
    if [ "$rc" -eq 0 ] && [ "$(nlines "$tmp/e")" -eq 1 ] && grep -q '^hakmem: warning: HAKMEM_DIVERGENCE_LOG=' "$tmp/e"; then
        pass log:fifo "HAKMEM_DIVERGENCE_LOG a FIFO nobody reads -> '$(cut -c1-100 "$tmp/e")'"
    else fail log:fifo "HAKMEM_DIVERGENCE_LOG a FIFO nobody reads: no hang, one warning" "exit $rc$( [ "$rc" = 124 ] && echo ': hung until the timeout')" "$tmp/e"; fi
else
    hk_left_out 1
    # No differential mode: the FIFO is never opened (no hang), one warning per variable.
    tmo=10 hk HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/allmmap.txt" HAKMEM_DIVERGENCE_LOG="$tmp/fifo" "$prog" ok
    if [ "$rc" -eq 0 ] && cmp -s "$tmp/o" "$tmp/big.ref.allmmap" && [ "$(cat "$tmp/e")" = "$(nomig HAKMEM_ROUTER_DIFF HAKMEM_DIVERGENCE_LOG)" ]; then
        pass log:fifo-nolegacy "HAKMEM_DIVERGENCE_LOG a FIFO nobody reads, without legacy/: no hang, one warning per migration variable, the table still in force"
    else fail log:fifo-nolegacy "HAKMEM_DIVERGENCE_LOG a FIFO nobody reads, without legacy/: no hang, warnings only" "exit $rc$( [ "$rc" = 124 ] && echo ': hung until the timeout')" "$tmp/e"; fi
fi

# ------------------------------------- munmap failing at the kernel's limit of mappings
rc=0
{ ( exec timeout -k 5 60 env LD_PRELOAD="$lib" HAKMEM_ACE_ENABLED=0 "$prog" munmap-enomem ) \
    >"$tmp/o" 2>"$tmp/e" </dev/null || rc=$?; } 2>/dev/null
held=$(sed -n 's/.* \([0-9]*\) bytes still mapped for freed blocks at the limit.*/\1/p' "$tmp/o")
if [ "$rc" -eq 0 ] && [ ! -s "$tmp/e" ] && [ "${held:-0}" -gt 0 ]; then
    pass mapcount:munmap-enomem "munmap refused at vm.max_map_count: $(cat "$tmp/o")"
elif [ "$rc" -eq 0 ] && [ "${held:-0}" -eq 0 ]; then
    fail mapcount:munmap-enomem "munmap refused at vm.max_map_count" "the limit was never hit (the test proves nothing): $(cat "$tmp/o")" "$tmp/e"
else fail mapcount:munmap-enomem "mappings of blocks freed at vm.max_map_count are not leaked" "exit $rc: $(cat "$tmp/o")" "$tmp/e"; fi

finish
