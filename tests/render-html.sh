#!/usr/bin/env bash
# render-html.sh: the page hakmem-divergence --html writes from the edge fixtures renders in
# headless Chromium (Debian package `chromium`; missing → FAIL) into a non-trivial screenshot,
# written to ${HK_SCREENSHOT:-$HK_TOP_BUILDDIR/route-map.png}.
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
shot=${HK_SCREENSHOT:-$bld/route-map.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

page="$tmp/route-map.html"
run_t 60 python3 "$src/tools/hakmem-divergence" --html "$page" \
    "$src/tests/data/div-edge-1.json" "$src/tests/data/div-edge-2.json" >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ] && [ -s "$page" ]; then pass "hakmem-divergence wrote the page (exit 1: divergences)"
else fail "hakmem-divergence --html failed (exit $rc)"; sed 's/^/    | /' "$tmp/err"; finish; exit; fi

chromium=
for c in chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
done
if [ -z "$chromium" ]; then
    fail "chromium is not installed (Debian: apt-get install -y chromium)"; finish; exit
fi
pass "found $chromium"

rm -f "$shot"
mkdir -p "$(dirname "$shot")"
# Run it in its own directory so that its crash dumps and profile stay in $tmp.
(cd "$tmp" && HOME="$tmp" run_t 120 "$chromium" --headless --no-sandbox --disable-gpu \
    --disable-quic --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-dev-shm-usage --user-data-dir="$tmp/profile" \
    --window-size=1400,900 --screenshot="$shot" "file://$page") >"$tmp/chromium.log" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ -f "$shot" ]; then pass "chromium wrote $shot"
else fail "chromium failed (exit $rc), no screenshot"; tail -n 5 "$tmp/chromium.log" | sed 's/^/    | /'; finish; exit; fi

size=$(wc -c <"$shot")
if [ "$size" -gt 10240 ]; then pass "screenshot is $size bytes (> 10 KB)"
else fail "screenshot is only $size bytes"; fi

# The screenshot's size, its number of distinct colours, and which of the wanted colours
# (hex RGB) occur (tests/png_colours.py).
read -r _ _ colours rest <<<"$(run_t 30 python3 "$src/tests/png_colours.py" "$shot" 4e79a7 59a14f f28e2b b07aa1 8c8c8c d62728)"
found=" $rest "
if [ -n "$colours" ] && [ "$colours" -gt 5 ] 2>/dev/null; then pass "screenshot has $colours distinct colours (> 5)"
else fail "screenshot looks blank (distinct colours: ${colours:-PNG parse error})"; fi
# The colours of the five boxes (the bands and the legend) and the red of the divergent range.
missing=
for c in 4e79a7:tiny 59a14f:pool f28e2b:mid b07aa1:l25 8c8c8c:mmap d62728:divergent; do
    case $found in *" ${c%%:*} "*) ;; *) missing="$missing ${c#*:}" ;; esac
done
if [ -z "$missing" ]; then pass "screenshot shows the five box colours and the divergent-range red"
else fail "screenshot lacks the colour of:$missing (did the SVG render?)"; fi

finish
