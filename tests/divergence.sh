#!/usr/bin/env bash
# divergence.sh: tools/hakmem-divergence on the fixtures in tests/data (div-*.json): merging,
# the allow list, exit statuses, unreadable reports, directories, --json and --html.
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
tool="$src/tools/hakmem-divergence"
data="$src/tests/data"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() { # check DESCRIPTION COMMAND...: PASS when the command succeeds
    local d=$1; shift
    if "$@"; then pass "$d"; else fail "$d"; fi
}
# run NAME ARGS...: runs the tool, stdout in $tmp/NAME.out, stderr in $tmp/NAME.err, status in $rc
run() {
    local n=$1; shift
    run_t 60 python3 "$tool" "$@" >"$tmp/$n.out" 2>"$tmp/$n.err"
    rc=$?
}
show() { sed 's/^/    | /' "$tmp/$1.out" "$tmp/$1.err"; }

# Clean reports: status 0, "0 divergences".
run clean "$data/div-clean-1.json" "$data/div-clean-2.json"
check "clean reports exit 0 (got $rc)" test "$rc" = 0
if grep -q '^0 divergences' "$tmp/clean.out"; then pass "clean reports say \"0 divergences\""
else fail "clean reports do not say \"0 divergences\""; show clean; fi
check "clean reports: totals name 2 processes" grep -q '2 processes' "$tmp/clean.out"
check "clean reports: nothing on stderr" test ! -s "$tmp/clean.err"

# Edge reports: one merged row, summed count 17 + 5, sizes 1001-1024, 2 processes; status 1.
run edge "$data/div-edge-1.json" "$data/div-edge-2.json"
check "edge reports exit 1 (got $rc)" test "$rc" = 1
rows=$(grep -c '^tiny→pool ' "$tmp/edge.out")
check "edge reports merge into one row (got $rows)" test "$rows" = 1
row=$(grep '^tiny→pool ' "$tmp/edge.out" | head -1)
read -r _ classes count sizes procs _ <<<"$row"
if [ "$classes" = "19→0" ] && [ "$count" = 22 ] && [ "$sizes" = 1001-1024 ] && [ "$procs" = 2 ]; then
    pass "merged row: classes 19→0, count 22, sizes 1001-1024, 2 processes"
else fail "merged row is wrong: $row"; show edge; fi
check "merged row: the symbol site comes first" grep -q 'main+0x23 (/usr/bin/prog) ×17, 0x7f3a9c0012ab ×5' "$tmp/edge.out"
check "edge totals: 22 divergent" grep -q '22 divergent' "$tmp/edge.out"

# The allow list.
printf '# accepted: the Central Router moves 1001-1024 to Pool\n1001 1024 tiny pool\n' >"$tmp/allow"
run allow --allow "$tmp/allow" "$data/div-edge-1.json" "$data/div-edge-2.json"
check "allowed edge divergence exits 0 (got $rc)" test "$rc" = 0
check "the row says allowed" grep -q '^tiny→pool .* allowed ' "$tmp/allow.out"
printf '1001 1010 tiny pool\n1 1024 tiny mid\n' >"$tmp/allow-narrow"
run narrow --allow "$tmp/allow-narrow" "$data/div-edge-1.json" "$data/div-edge-2.json"
check "divergence outside the allow list exits 1 (got $rc)" test "$rc" = 1
check "the row says NOT ALLOWED" grep -q 'NOT ALLOWED' "$tmp/narrow.out"
printf '1001 1024 tiny pool\n\n1024 1001 tiny pool # reversed\n' >"$tmp/allow-bad"
run allowbad --allow "$tmp/allow-bad" "$data/div-edge-1.json"
check "bad allow line exits 2 (got $rc)" test "$rc" = 2
check "bad allow line is named: FILE: line 3" grep -qF "$tmp/allow-bad: line 3: " "$tmp/allowbad.err"
printf '1 2 tiny heap\n' >"$tmp/allow-box"
run allowbox --allow "$tmp/allow-box" "$data/div-edge-1.json"
check "unknown box in the allow list exits 2 (got $rc)" test "$rc" = 2

# A stale allow entry (it matched nothing) is reported, like hakmem-routecheck's.
printf '1001 1024 tiny pool\n5000 6000 pool mid # no longer diverges\n' >"$tmp/allow-stale"
run stale --allow "$tmp/allow-stale" --json "$tmp/stale.json" "$data/div-edge-1.json"
check "stale allow entry: exit 0 (got $rc)" test "$rc" = 0
check "stale allow entry is named with its line" grep -q "stale allow entry: $tmp/allow-stale: line 2: 5000 6000 pool mid matched no divergence" "$tmp/stale.out"
check "stale allow entry in the merged JSON" run_t 30 python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["stale_allow"] == [{"line": 2, "lo": 5000, "hi": 6000, "legacy": "pool", "central": "mid"}], m["stale_allow"]' "$tmp/stale.json"

# The merged JSON's verdict is the exit status, in every outcome.
for case in "0:--allow $tmp/allow $data/div-edge-1.json" "1:$data/div-edge-1.json" "2:$data/div-bad.json $data/div-clean-1.json"; do
    want=${case%%:*}
    # shellcheck disable=SC2086
    run verdict --json "$tmp/v.json" ${case#*:}
    if [ "$rc" = "$want" ] && run_t 30 python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); assert m["exit_status"] == int(sys.argv[2]) and m["verdict"] == ["pass", "fail", "error"][int(sys.argv[2])]' "$tmp/v.json" "$rc"; then
        pass "verdict equals the exit status ($rc)"
    else fail "verdict for exit $want: got exit $rc"; show verdict; fi
done

# Unreadable report: a warning naming the file, status 2, the others still merged.
run bad "$data/div-bad.json" "$data/div-edge-1.json"
check "bad report exits 2 (got $rc)" test "$rc" = 2
check "bad report: one warning naming the file" \
    test "$(grep -c "^hakmem-divergence: $data/div-bad.json: " "$tmp/bad.err")" = 1
check "bad report: the good report is still merged" grep -q '^tiny→pool ' "$tmp/bad.out"
echo '{"format": "something-else/1", "pid": 1}' >"$tmp/other.json"
run other "$tmp/other.json"
check "report of another format exits 2 (got $rc)" test "$rc" = 2
check "another format is named in the warning" grep -q 'other.json: .*format' "$tmp/other.err"
printf 'hakmem-record\0\0\0garbage' >"$tmp/bad.hkrec"
run badrec "$tmp/bad.hkrec"
check "a truncated record exits 2 (got $rc)" test "$rc" = 2
check "a truncated record is named" grep -q 'bad.hkrec: too short for a record' "$tmp/badrec.err"
run none
check "no PATH is a usage error: exit 2 (got $rc)" test "$rc" = 2

# A directory argument: all its *.json.
mkdir "$tmp/dir"
cp "$data/div-edge-1.json" "$data/div-edge-2.json" "$tmp/dir/"
echo 'not a report' >"$tmp/dir/notes.txt"
run dir "$tmp/dir"
check "directory argument exits 1 (got $rc)" test "$rc" = 1
check "directory argument: both reports merged" grep -q '^tiny→pool .* 22  1001-1024  *2 ' "$tmp/dir.out"

# Rollback: named with its pid.
run rb "$data/div-rollback.json"
check "rollback is reported with its pid" grep -q 'ROLLBACK: pid 6301' "$tmp/rb.out"

# --json
run json --json "$tmp/m.json" "$data/div-edge-1.json" "$data/div-edge-2.json" "$data/div-clean-1.json"
check "--json run exits 1 (got $rc)" test "$rc" = 1
if run_t 30 python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))
t = m["totals"]
assert (t["processes"], t["calls"], t["compared"], t["divergent"], t["dropped"]) == (3, 330000, 330000, 22, 0), t
d, = m["divergences"]
assert (d["legacy"], d["central"], d["count"], d["size_min"], d["size_max"], d["processes"]) == ("tiny", "pool", 22, 1001, 1024, 2), d
assert d["top_sites"][0] == {"site": "main+0x23 (/usr/bin/prog)", "count": 17}, d
' "$tmp/m.json"; then pass "--json output parses and has the merged totals"
else fail "--json output is wrong"; fi

# --html
run html --html "$tmp/r.html" "$data/div-edge-1.json" "$data/div-edge-2.json" "$data/div-rollback.json"
check "--html writes the page" test -s "$tmp/r.html"
if grep -Eiq '(src|href)[[:space:]]*=[[:space:]]*["'"'"']?(https?:)?//' "$tmp/r.html" \
    || grep -Eiq '<script[^>]*src|<link[^>]*href|@import|url\((["'"'"'])?(https?:)?//' "$tmp/r.html"; then
    fail "--html page loads external resources"
else pass "--html page is self-contained"; fi
check "--html page has an inline <svg>" grep -q '<svg' "$tmp/r.html"
missing=
for b in tiny pool mid l25 mmap; do
    grep -q ">$b</text>" "$tmp/r.html" || missing="$missing $b"
done
check "--html legend names every box${missing:+ (missing:$missing)}" test -z "$missing"
check "--html labels the divergent range 1001–1024" grep -q '1001–1024 B: tiny→pool' "$tmp/r.html"
check "--html escapes the reports' strings" grep -q 'grow&lt;int&gt;+0x10 (/usr/bin/&lt;prog&gt;&amp;co)' "$tmp/r.html"
check "--html has no unescaped report string" test "$(grep -c '<prog>' "$tmp/r.html")" = 0

# A format-1 report (no route map, no routing table): only the divergent ranges are drawn.
check "format 1: the page says the reports carry no route map" grep -q 'carry no route map (an older hakmem)' "$tmp/r.html"
check "format 1: no table claimed" grep -q 'No report carries its routing table' "$tmp/r.html"

# The route map and the routing table a format-2 report carries (the shapes the C side
# writes: both entries, [lo, hi, box, class] rows; rules [lo, hi, box, ace]).
run_t 30 python3 - "$data/div-edge-1.json" "$tmp/rm.json" "$tmp/rt-bad.json" "$tmp/rm-shape.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
r["format"] = "hakmem-divergence-report/2"
m = {"legacy": [[0, 1024, "tiny", 0], [1025, 18446744073709551615, "mmap", -1]],
     "central": [[0, 1000, "tiny", 0], [1001, 18446744073709551615, "mmap", -1]]}
r["route_map"] = {"malloc": m, "hak_alloc_at": m}
r["routing_table"] = [[0, 1000, "tiny", False], [1001, 99999, "pool", True],
                      [100000, 18446744073709551615, "mmap", False]]
json.dump(r, open(sys.argv[2], "w"))
bad = dict(r, routing_table=[[0, 1000, "tiny", False], [1002, 18446744073709551615, "mmap", False]])
json.dump(bad, open(sys.argv[3], "w"))
shape = dict(r, route_map={"legacy": [[0, 18446744073709551615, "mmap"]],
                           "central": [[0, 18446744073709551615, "mmap"]]})
json.dump(shape, open(sys.argv[4], "w"))
EOF
run rm --html "$tmp/rm.html" "$tmp/rm.json"
check "route_map report renders (exit 1, got $rc)" test "$rc" = 1
check "route_map is drawn" grep -q 'own table as the processes recorded it' "$tmp/rm.html"
check "route_map: no l25 segment drawn" test "$(grep -c '→ l25</title>' "$tmp/rm.html")" = 0
check "routing_table: the page lists the report's rules" grep -q '<td class="n">1001</td><td class="n">99999</td>' "$tmp/rm.html"
check "routing_table: the text names the table in force" grep -q 'routing table in force (1 process: built-in table): 0-1000 tiny, 1001-99999 pool ace, 100000-18446744073709551615 mmap' "$tmp/rm.out"
check "no copy of the built-in table in the Python tools" test "$(cat "$src/tools/hakmem-divergence" "$src/tools/hakmem_routemap.py" | grep -c '2097151\|53249')" = 0
run rtbad "$tmp/rt-bad.json"
check "a routing_table with a gap is refused (exit 2, got $rc)" test "$rc" = 2
check "a routing_table with a gap is named" grep -q 'routing_table\[1\]' "$tmp/rtbad.err"
run rmshape "$tmp/rm-shape.json"
check "a route_map in a shape the C side never writes is refused (exit 2, got $rc)" test "$rc" = 2

# A real process's report carries the Central Router's table in force, rule for rule as
# hakmem-routes prints it (here a candidate table file).
if [ -x "$bld/tests/diff_prog" ] && [ -x "$bld/tools/hakmem-routes" ] && [ -f "$lib" ]; then
    printf '0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n32769 49152 pool ace\n49153 2097152 l25 ace\n2097153 18446744073709551615 mmap\n' >"$tmp/cand.txt"
    mkdir -p "$tmp/real"
    run_t 60 env HAKMEM_ROUTER_TABLE="$tmp/cand.txt" HAKMEM_ROUTER_DIFF=1 \
        HAKMEM_DIVERGENCE_REPORT="$tmp/real/r.%p.json" LD_PRELOAD="$lib" \
        "$bld/tests/diff_prog" sizes 900 1100 1 >/dev/null 2>"$tmp/real.err"
    run_t 30 "$bld/tools/hakmem-routes" --table "$tmp/cand.txt" | grep -v '^#' >"$tmp/cand.rules"
    run_t 30 python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
for lo, hi, box, ace in r["routing_table"]:
    print(lo, hi, box + (" ace" if ace else ""))' "$tmp"/real/r.*.json >"$tmp/real.rules" 2>>"$tmp/real.err"
    check "a real report's routing_table is the table in force (as hakmem-routes prints it)" \
        cmp -s "$tmp/cand.rules" "$tmp/real.rules"
    run real "$tmp"/real/r.*.json
    check "the text names the real process's table" grep -q 'routing table in force (1 process: cand.txt): 0-1000 tiny, 1001-8192 pool ace' "$tmp/real.out"
else
    fail "a real report's routing_table: $bld/tests/diff_prog, hakmem-routes or $lib missing (make check builds them)"
fi

finish
