#!/usr/bin/env bash
# routecheck.sh: tools/hakmem-routecheck, the offline legacy-vs-Central-Router equivalence check.
#  - the built-in table decides exactly as the legacy path (exit 0, "0 divergent"), A/A too;
#  - injected faults (candidate tables made from `hakmem-routes` output) are found exactly:
#    Tiny ending at 1000 -> 1001-1024 tiny->pool (ACE on) / tiny->mmap (ACE off), nothing else;
#    L25 taking 2 MiB -> 2097152-2097152 mmap->l25, nothing else;
#  - --allow: allowed ranges are marked and do not fail the run; unused entries are stale;
#  - usage errors exit 2.
set -euo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
check="$bld/tools/hakmem-routecheck"
routes="$bld/tools/hakmem-routes"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run ARGS...: sets $out (stdout), $err (stderr), $code (exit status).
run() {
    code=0
    run_t 120 "$check" "$@" >"$tmp/out" 2>"$tmp/err" || code=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}
# The divergent-range lines of $out, without the class annotation.
ranges() { grep -E '^[0-9]+-[0-9]+ ' <<<"$out" | sed -E 's/  class [^ ]+//' || true; }
summary() { tail -n 1 <<<"$out"; }

# expected_lines LO-HI LEGACY ACE_BOX [SUFFIX]: one line per knob/entry combination, in the
# tool's order; the central box is ACE_BOX where the ACE row applies, mmap where the knobs
# send it to mmap (ace_enabled=0, or wrap_l2=0 with the malloc entry).
expected_lines() {
    local ace wrap entry box
    for ace in 1 0; do
        for wrap in 1 0; do
            for entry in malloc hak_alloc_at; do
                if [ "$ace" = 1 ] && { [ "$wrap" = 1 ] || [ "$entry" = hak_alloc_at ]; }; then
                    box=$3
                else
                    box=mmap
                fi
                [ "$box" = "$2" ] && continue # no divergence here
                echo "$1 $2→$box  (ace_enabled=$ace wrap_l2=$wrap entry=$entry)${4:-}"
            done
        done
    done
}

# --- the built-in table -------------------------------------------------------
run
if [ "$code" = 0 ] && grep -q ', 0 divergent ranges$' <<<"$(summary)" && [ -z "$(ranges)" ]; then
    pass "built-in table: no divergence ($(summary))"
else
    fail "built-in table: exit $code: $out $err"
fi
if grep -qE ' 8 knob/entry combinations, [0-9]+ decisions compared' <<<"$(summary)"; then
    n=$(summary | sed -E 's/.* ([0-9]+) decisions compared.*/\1/')
    # 0..4 MiB inclusive is 4194305 sizes, for each of the 8 combinations, plus the probes.
    if [ "$n" -gt $((8 * 4194305)) ]; then
        pass "every size 0..4 MiB and the probes above it are compared ($n decisions)"
    else
        fail "too few decisions compared: $n"
    fi
else
    fail "summary line: $(summary)"
fi

run --aa
if [ "$code" = 0 ] && grep -q 'A/A: .*, 0 divergent ranges$' <<<"$(summary)"; then
    pass "--aa: legacy/legacy and central/central agree"
else
    fail "--aa: exit $code: $out $err"
fi

# --- injected fault: Tiny ends at 1000 ------------------------------------------
run_t 30 "$routes" >"$tmp/builtin.tbl"
sed -e 's/^0 1024 tiny$/0 1000 tiny/' -e 's/^1025 8192 pool ace$/1001 8192 pool ace/' \
    "$tmp/builtin.tbl" >"$tmp/tiny1000.tbl"
if grep -qx '0 1000 tiny' "$tmp/tiny1000.tbl" && grep -qx '1001 8192 pool ace' "$tmp/tiny1000.tbl" &&
    run_t 30 "$routes" --table "$tmp/tiny1000.tbl" >/dev/null 2>&1; then
    pass "candidate table with Tiny ending at 1000 made from hakmem-routes output"
else
    fail "could not make the Tiny-1000 candidate from: $(cat "$tmp/builtin.tbl")"
fi

run --table "$tmp/tiny1000.tbl"
want=$(expected_lines 1001-1024 tiny pool)
if [ "$code" = 1 ] && [ "$(ranges)" = "$want" ] &&
    grep -q ', 8 divergent ranges$' <<<"$(summary)" && [ "$(wc -l <<<"$out")" = 9 ]; then
    pass "Tiny ends at 1000: exactly 1001-1024 tiny→pool (ACE) / tiny→mmap, exit 1"
else
    fail "Tiny ends at 1000: exit $code, got:"$'\n'"$out"$'\n'"wanted:"$'\n'"$want"
fi
if [ "$(grep -c '^1001-1024 tiny→pool  (ace_enabled=1 ' <<<"$out")" = 3 ] &&
    [ "$(grep -c '^1001-1024 tiny→mmap  (' <<<"$out")" = 5 ] &&
    grep -q '^1001-1024 tiny→mmap  (ace_enabled=1 wrap_l2=0 entry=malloc)' <<<"$out"; then
    pass "Tiny ends at 1000: tiny→pool where ACE applies, tiny→mmap elsewhere"
else
    fail "Tiny ends at 1000: per-combination boxes: $out"
fi

printf '# accepted: Tiny ends at 1000\n1001 1024 tiny pool\n1001 1024 tiny mmap   # ACE off\n' \
    >"$tmp/allow"
run --table "$tmp/tiny1000.tbl" --allow "$tmp/allow"
want=$(expected_lines 1001-1024 tiny pool '  (allowed)')
if [ "$code" = 0 ] && [ "$(ranges)" = "$want" ] &&
    grep -q ', 8 divergent ranges (8 allowed, 0 stale allow entries)$' <<<"$(summary)" &&
    ! grep -q '^stale' <<<"$out"; then
    pass "--allow covering 1001-1024: all 8 ranges reported (allowed), exit 0"
else
    fail "--allow covering 1001-1024: exit $code: $out $err"
fi

printf '1001 1024 tiny pool\n1001 1024 tiny mmap\n\n# not a divergence:\n5000 6000 mid pool\n' \
    >"$tmp/allow-stale"
run --table "$tmp/tiny1000.tbl" --allow "$tmp/allow-stale"
if [ "$code" = 0 ] && [ "$(grep -c '^stale' <<<"$out")" = 1 ] &&
    grep -qx 'stale allow entry: 5000 6000 mid pool (line 5)' <<<"$out" &&
    grep -q '(8 allowed, 1 stale allow entry)$' <<<"$(summary)"; then
    pass "an allow entry matching no divergence is reported stale (and does not fail)"
else
    fail "stale allow entry: exit $code: $out $err"
fi

run --allow "$tmp/allow-stale"
if [ "$code" = 0 ] && [ "$(grep -c '^stale allow entry: ' <<<"$out")" = 3 ] &&
    grep -q '0 divergent ranges (0 allowed, 3 stale allow entries)$' <<<"$(summary)"; then
    pass "built-in table with an allow file: every entry stale, exit 0"
else
    fail "built-in table with an allow file: exit $code: $out $err"
fi

printf '1001 1023 tiny pool\n1001 1024 tiny mmap\n' >"$tmp/allow-short"
run --table "$tmp/tiny1000.tbl" --allow "$tmp/allow-short"
if [ "$code" = 1 ] && [ "$(grep -c '(allowed)$' <<<"$out")" = 5 ] &&
    grep -qx 'stale allow entry: 1001 1023 tiny pool (line 1)' <<<"$out"; then
    pass "an allow entry must cover the whole range (1001-1023 does not allow 1001-1024)"
else
    fail "partial allow entry: exit $code: $out $err"
fi

printf '1001 1024 pool tiny\n1001 1024 tiny mmap\n' >"$tmp/allow-swapped"
run --table "$tmp/tiny1000.tbl" --allow "$tmp/allow-swapped"
if [ "$code" = 1 ] && [ "$(grep -c '(allowed)$' <<<"$out")" = 5 ]; then
    pass "an allow entry must match both boxes (pool tiny does not allow tiny→pool)"
else
    fail "swapped allow entry: exit $code: $out $err"
fi

# --- injected fault: the 2 MiB edge moves ---------------------------------------
sed -e 's/^53249 2097151 l25 ace$/53249 2097152 l25 ace/' \
    -e 's/^2097152 \([0-9]* mmap\)$/2097153 \1/' "$tmp/builtin.tbl" >"$tmp/l25.tbl"
if grep -qx '53249 2097152 l25 ace' "$tmp/l25.tbl" && grep -q '^2097153 [0-9]* mmap$' "$tmp/l25.tbl"; then
    pass "candidate table with L25 ending at 2097152 made from hakmem-routes output"
else
    fail "could not make the L25 candidate from: $(cat "$tmp/builtin.tbl")"
fi
run --table "$tmp/l25.tbl"
want=$(expected_lines 2097152-2097152 mmap l25)
if [ "$code" = 1 ] && [ "$(ranges)" = "$want" ] && [ "$(wc -l <<<"$want")" = 3 ] &&
    grep -q ', 3 divergent ranges$' <<<"$(summary)" && [ "$(wc -l <<<"$out")" = 4 ]; then
    pass "2 MiB edge moved: exactly 2097152-2097152 mmap→l25 (where ACE applies), exit 1"
else
    fail "2 MiB edge moved: exit $code, got:"$'\n'"$out"$'\n'"wanted:"$'\n'"$want"
fi

# --- usage errors -----------------------------------------------------------------
usage_error() { # $1: description, rest: arguments; $expect_err: a regex stderr must match
    run "${@:2}"
    if [ "$code" = 2 ] && grep -qE -e "${expect_err:-.}" <<<"$err" && [ -z "$out" ]; then
        pass "usage error, exit 2: $1"
    else
        fail "usage error ($1): exit $code, stdout: $out, stderr: $err"
    fi
}
expect_err="unknown option '--bogus'" usage_error "unknown option" --bogus
expect_err="unexpected argument" usage_error "stray argument" extra
expect_err="--table needs a FILE" usage_error "--table without FILE" --table
expect_err="--allow needs a FILE" usage_error "--allow without FILE" --allow
expect_err="^hakmem-routecheck: $tmp/missing: " usage_error "unreadable table" --table "$tmp/missing"
expect_err="^hakmem-routecheck: $tmp/missing: " usage_error "unreadable allow file" --allow "$tmp/missing"

printf '0 1024 tiny\n1025 8192 pool ace\n9000 18446744073709551615 mmap\n' >"$tmp/gap.tbl"
run --table "$tmp/gap.tbl"
if [ "$code" = 2 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" = 1 ] &&
    grep -qE "^hakmem-routecheck: $tmp/gap.tbl: line 3: gap" <<<"$err"; then
    pass "invalid table: one line 'hakmem-routecheck: FILE: line N: fault', exit 2"
else
    fail "invalid table: exit $code: $out $err"
fi

for bad in '1001 1024 tiny' '1001 1024 tiny pool extra' '1001 x tiny pool' '1024 1001 tiny pool' \
    '1001 1024 tiny heap'; do
    printf '# header\n%s\n' "$bad" >"$tmp/bad-allow"
    run --allow "$tmp/bad-allow"
    if [ "$code" = 2 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" = 1 ] &&
        grep -qE "^hakmem-routecheck: $tmp/bad-allow: line 2: " <<<"$err"; then
        pass "invalid allow line '$bad': one line naming line 2, exit 2"
    else
        fail "invalid allow line '$bad': exit $code: $out $err"
    fi
done

run --help
if [ "$code" = 0 ] && grep -q '^usage: hakmem-routecheck' <<<"$out"; then
    pass "--help prints the usage, exit 0"
else
    fail "--help: exit $code: $out $err"
fi

# Progress goes to stderr only for a terminal or --progress (a run under a second prints none).
run
if [ -z "$err" ]; then pass "no progress output on a non-terminal stderr"; else fail "stderr: $err"; fi

finish
