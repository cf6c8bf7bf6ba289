#!/usr/bin/env bash
# route-map.sh: the HTML route map of hakmem-divergence --html with 1, 20 and 200 divergences,
# rendered by headless Chromium (Debian package `chromium`; missing → FAIL).
#  - 1: real processes running a candidate table that moves Tiny's edge (1024 → 1000: the
#    workload hits it) and Pool's Bridge edge (53248 → 49152: nothing hits it), one of them
#    with the Central Router executing; the histograms the C side wrote hold every compared
#    call in the bucket of its size; 20 and 200:
#    tests/routemap_fixtures.py over that real report's maps (three processes, two candidate
#    tables, N distinct divergences spread over the size axis, moved edges no call hit);
#  - the DOM (chromium --dump-dom) has a band per path and per distinct map, the bands near
#    the top (no tower of callouts), every divergence in exactly one callout and at most a
#    few rows of them, the edge nothing hit marked as such, the Bridge labelled, a histogram
#    per executing path whose total is the compared calls, a row per divergence and per-site
#    counts in the tables;
#  - each screenshot (${HK_TOP_BUILDDIR}/route-map-N.png, kept) is a PNG of some size with
#    the five box colours and the divergence red in the first 1400x1000 pixels.
set -uo pipefail
# shellcheck source=tests/checks.sh
. "$(dirname "$0")/checks.sh"
hk_scratch
div=("python3" "$src/tools/hakmem-divergence")

chromium=
for c in chromium chromium-browser; do
    command -v "$c" >/dev/null 2>&1 && { chromium=$(command -v "$c"); break; }
done
[ -n "$chromium" ] || { fail chromium "chromium is installed" "not found (Debian: apt-get install -y chromium)"; finish; exit; }
chrome() { # chrome OUTPUT-OPTION URL
    (cd "$tmp" && HOME="$tmp" timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
        --disable-quic --no-first-run --disable-background-networking --disable-component-update \
        --disable-sync --disable-dev-shm-usage --user-data-dir="$tmp/profile" --hide-scrollbars \
        --window-size=1400,1000 "$@") 2>>"$tmp/chromium.log"
}

# --- the pages -------------------------------------------------------------------------------
printf '0 1000 tiny\n1001 8192 pool ace\n8193 32768 mid\n32769 49152 pool ace\n49153 2097151 l25 ace\n2097152 18446744073709551615 mmap\n' >"$tmp/cand.txt"
mkdir -p "$tmp/r1"
for run in "0 900 1100 3" "0 20000 30000 1" "1 100 300 2"; do
    # shellcheck disable=SC2086
    set -- $run  # the last process runs with the Central Router executing
    timeout 60 env HAKMEM_USE_CENTRAL_ROUTER="$1" HAKMEM_ROUTER_TABLE="$tmp/cand.txt" \
        HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/r1/hakmem.%p.json" LD_PRELOAD="$lib" \
        "$bld/tests/diff_prog" sizes "$2" "$3" "$4" >/dev/null 2>>"$tmp/run.err"
done
base=$(ls "$tmp"/r1/*.json 2>/dev/null | head -1)
if [ -z "$base" ]; then fail setup "real processes wrote reports" "none" "$tmp/run.err"; finish; exit; fi
# The histograms the C side wrote: every compared call in its size bucket.
python3 - "$tmp"/r1/*.json >"$tmp/hist-check" 2>&1 <<'PY'
import json, sys
reps = [json.load(open(f)) for f in sys.argv[1:]]
bad = []
edges = reps[0]["histogram"]["buckets"]
want = {(513, 1024): 3 * (1024 - 900 + 1), (1025, 2048): 3 * (1100 - 1025 + 1), (16385, 32768): 30000 - 20000 + 1}
got = {tuple(b): sum(r["histogram"]["legacy"][i] for r in reps) for i, b in enumerate(edges)}
cen = {tuple(b): sum(r["histogram"]["central"][i] for r in reps) for i, b in enumerate(edges)}
if cen.get((65, 128), 0) < 2 * 28 or cen.get((129, 256), 0) < 2 * 128 or cen.get((257, 512), 0) < 2 * 44:
    bad.append(f"central executed: {cen}")
for b, n in want.items():
    if got.get(b, 0) < n:
        bad.append(f"bucket {b}: {got.get(b)} compared calls, the workload made {n}")
tot = sum(sum(r["histogram"]["legacy"]) + sum(r["histogram"]["central"]) for r in reps)
if tot != sum(r["compared"] for r in reps):
    bad.append(f"histograms hold {tot} calls, {sum(r['compared'] for r in reps)} compared")
print("; ".join(bad) or f"{tot} compared calls in their buckets ({', '.join(f'{b[0]}-{b[1]}: {got[b]}' for b in want)})")
sys.exit(1 if bad else 0)
PY
if [ $? = 0 ]; then pass histogram "the reports' histograms: $(cat "$tmp/hist-check")"
else fail histogram "the reports' histograms" "$(cat "$tmp/hist-check")"; fi
for n in 20 200; do
    python3 "$src/tests/routemap_fixtures.py" "$base" "$tmp/r$n" "$n" || fail "fixtures-$n" "fixtures" "generator failed"
done

for n in 1 20 200; do
    page=$tmp/map-$n.html
    "${div[@]}" --html "$page" --json "$tmp/merged-$n.json" "$tmp/r$n" >"$tmp/out-$n" 2>&1
    rc=$?
    if [ "$rc" = 1 ] && [ -s "$page" ]; then
        pass "page-$n" "hakmem-divergence --html: the page for $n divergence(s) (exit 1: divergent)"
    else
        fail "page-$n" "hakmem-divergence --html ($n)" "exit $rc" "$tmp/out-$n"
        continue
    fi
    chrome --dump-dom "file://$page" >"$tmp/dom-$n.html"
    shot=$bld/route-map-$n.png
    rm -f "$shot"
    chrome --screenshot="$shot" "file://$page" >/dev/null
    # The DOM: parsed with Python's html.parser.
    python3 - "$tmp/dom-$n.html" "$tmp/merged-$n.json" "$n" >"$tmp/dom-check-$n" 2>&1 <<'PY'
import json, sys
from html.parser import HTMLParser
dom, merged, n = open(sys.argv[1]).read(), json.load(open(sys.argv[2])), int(sys.argv[3])

class P(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.els, self.text = [], [], {}
    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "a": dict(attrs), "parents": [e["tag"] + "." + e["a"].get("class", "") + "#" + e["a"].get("id", "") for e in self.stack], "text": ""}
        self.els.append(el)
        if tag not in ("br", "meta", "img", "input"):  # void elements never close
            self.stack.append(el)
    def handle_endtag(self, tag):
        while self.stack:
            e = self.stack.pop()
            if e["tag"] == tag:
                break
    def handle_data(self, d):
        for e in self.stack:
            e["text"] += d
p = P()
p.feed(dom)
els = p.els
bad = []
def want(c, what):
    if not c:
        bad.append(what)
svg = [e for e in els if e["tag"] == "svg" and e["a"].get("id") == "route-map"]
want(len(svg) == 1, "one svg#route-map")
svg = svg[0] if svg else {"a": {}}
bands = [e for e in els if e["tag"] == "g" and e["a"].get("class") == "band"]
paths = [b["a"].get("data-path") for b in bands]
want(n == 1 and paths == ["legacy", "central"] or n > 1 and paths == ["legacy", "central", "central"],
     f"bands {paths}")
want(int(svg["a"].get("data-bands-top", 9999)) <= 100, f"bands start {svg['a'].get('data-bands-top')} px down")
callouts = [e for e in els if e["tag"] == "g" and e["a"].get("class") == "callout"]
ndiv = sum(int(c["a"]["data-divergences"]) for c in callouts)
want(ndiv == n == len(merged["divergences"]), f"callouts hold {ndiv} divergences, {n} expected")
want(len(callouts) == int(svg["a"].get("data-groups", -1)) and len(callouts) <= 40, f"{len(callouts)} callouts")
rows = {e["a"]["y"] for e in els if e["tag"] == "rect" and any(x.startswith("g.callout") for x in e["parents"])}
want(len(rows) <= 3, f"callouts in {len(rows)} rows")
unhit = [e for e in els if e["tag"] == "g" and e["a"].get("class") == "differs unhit"]
hit = [e for e in els if e["tag"] == "g" and e["a"].get("class") == "differs hit"]
want(unhit, "a moved edge no compared call hit is marked")
want(len(hit) >= n // 2, f"{len(hit)} ranges where the maps differ with divergences")
if n == 1:
    want(any("49153–53248 B" in e["text"] and "no compared call hit it" in e["text"] for e in unhit),
         "the Bridge edge 49153–53248 B, moved and never hit, is marked")
    want(any("1001–1024 B" in e["text"] for e in hit), "the Tiny edge 1001–1024 B is marked hit")
want(any(e["tag"] == "g" and e["a"].get("class") == "bridge-label" and "Bridge" in e["text"] for e in els),
     "the Bridge band is labelled")
hists = {e["a"].get("data-path"): int(e["a"].get("data-total", -1)) for e in els
         if e["tag"] == "g" and e["a"].get("class") == "histogram"}
compared = merged["totals"]["compared"]
want(set(hists) == {"legacy", "central"}, f"histograms {sorted(hists)}")
want(sum(hists.values()) == compared, f"histograms hold {sum(hists.values())} calls, {compared} compared")
want(n > 1 or hists.get("central", 0) >= 402, "the Central Router's executed calls in its histogram")
bars = [e for e in els if e["tag"] == "rect" and e["a"].get("class") == "bar"]
want(bars, "histogram bars")
rows = [e for e in els if e["tag"] == "tr" and any("#divergences" in x for x in e["parents"])]
want(len(rows) == n + 1, f"{len(rows) - 1} rows in the divergences table")
site_rows = [e for e in els if e["tag"] == "tr" and any("#sites" in x for x in e["parents"])]
want(len(site_rows) >= 2 and "×" in "".join(r["text"] for r in rows), "per-site counts in the tables")
print("; ".join(bad) if bad else
      f"{len(bands)} bands at {svg['a']['data-bands-top']} px, {len(callouts)} callouts holding "
      f"{ndiv} divergences, {len(unhit)} edge(s) not hit, histograms {hists}")
sys.exit(1 if bad else 0)
PY
    if [ $? = 0 ]; then pass "dom-$n" "the DOM of the $n-divergence page: $(cat "$tmp/dom-check-$n")"
    else fail "dom-$n" "the DOM of the $n-divergence page" "$(cat "$tmp/dom-check-$n")"; fi

    # The screenshot: a PNG with the bands' five box colours and the red, in the first screen.
    if [ ! -s "$shot" ]; then
        fail "shot-$n" "chromium took a screenshot" "none" "$tmp/chromium.log"
        continue
    fi
    out=$(python3 "$src/tests/png_colours.py" "$shot" 4e79a7 59a14f f28e2b b07aa1 8c8c8c d62728)
    read -r w h ncol found <<<"$out"
    size=$(wc -c <"$shot")
    missing=
    for c in 4e79a7:tiny 59a14f:pool f28e2b:mid b07aa1:l25 8c8c8c:mmap d62728:red; do
        case " $found " in *" ${c%%:*} "*) ;; *) missing="$missing ${c#*:}" ;; esac
    done
    if [ "${w:-0}" = 1400 ] && [ "$size" -gt 20000 ] && [ "${ncol:-0}" -gt 20 ] && [ -z "$missing" ]; then
        pass "shot-$n" "screenshot route-map-$n.png: ${w}x$h, $size bytes, $ncol colours, the five boxes and the red in the first screen"
    else
        fail "shot-$n" "screenshot route-map-$n.png" "${w:-?}x${h:-?}, $size bytes, ${ncol:-?} colours, missing:${missing:- none}"
    fi
done
finish
