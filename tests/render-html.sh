#!/usr/bin/env bash
# render-html.sh: the page hakmem-divergence --html writes from the edge fixtures renders in
# headless Chromium (Debian package `chromium`; missing → FAIL) into a non-trivial screenshot,
# written to ${HK_SCREENSHOT:-$HK_TOP_BUILDDIR/route-map.png}.
set -uo pipefail
src=${HK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
build=${HK_TOP_BUILDDIR:-$PWD}
shot=${HK_SCREENSHOT:-$build/route-map.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "PASS: $1"; pass=$((pass + 1)); }
no() { echo "FAIL: $1"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit; }

page="$tmp/route-map.html"
python3 "$src/tools/hakmem-divergence" --html "$page" \
    "$src/tests/data/div-edge-1.json" "$src/tests/data/div-edge-2.json" >/dev/null 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ] && [ -s "$page" ]; then ok "hakmem-divergence wrote the page (exit 1: divergences)"
else no "hakmem-divergence --html failed (exit $rc)"; sed 's/^/    | /' "$tmp/err"; finish; fi

chromium=
for c in chromium chromium-browser; do
    if command -v "$c" >/dev/null 2>&1; then chromium=$(command -v "$c"); break; fi
done
if [ -z "$chromium" ]; then
    no "chromium is not installed (Debian: apt-get install -y chromium)"; finish
fi
ok "found $chromium"

rm -f "$shot"
mkdir -p "$(dirname "$shot")"
# Run it in its own directory so that its crash dumps and profile stay in $tmp.
(cd "$tmp" && HOME="$tmp" timeout 120 "$chromium" --headless --no-sandbox --disable-gpu \
    --disable-quic --no-first-run --disable-background-networking --disable-component-update \
    --disable-sync --disable-dev-shm-usage --user-data-dir="$tmp/profile" \
    --window-size=1400,900 --screenshot="$shot" "file://$page") >"$tmp/chromium.log" 2>&1
rc=$?
if [ "$rc" = 0 ] && [ -f "$shot" ]; then ok "chromium wrote $shot"
else no "chromium failed (exit $rc), no screenshot"; tail -n 5 "$tmp/chromium.log" | sed 's/^/    | /'; finish; fi

size=$(wc -c <"$shot")
if [ "$size" -gt 10240 ]; then ok "screenshot is $size bytes (> 10 KB)"
else no "screenshot is only $size bytes"; fi

# Decode the PNG (stdlib only: zlib and the PNG row filters); print the number of distinct
# colours, then those of the wanted colours (hex RGB) that occur.
out=$(python3 - "$shot" 4e79a7 59a14f f28e2b b07aa1 8c8c8c d62728 <<'EOF'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, [], None
while pos < len(data):
    n, typ = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if typ == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif typ == b"IDAT":
        idat.append(body)
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert depth == 8 and ctype in (2, 6) and interlace == 0, ihdr
bpp = 3 if ctype == 2 else 4
raw = zlib.decompress(b"".join(idat))
stride = w * bpp
lo7 = int.from_bytes(b"\x7f" * stride, "big")
hi1 = int.from_bytes(b"\x80" * stride, "big")
prev = bytes(stride)
colours = set()
for y in range(h):
    f = raw[y * (stride + 1)]
    cur = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
    if f == 2:  # Up: bytewise add without carries between bytes
        a, b = int.from_bytes(cur, "big"), int.from_bytes(prev, "big")
        line = (((a & lo7) + (b & lo7)) ^ ((a ^ b) & hi1)).to_bytes(stride, "big")
    elif f == 0:
        line = cur
    else:
        line = bytearray(cur)
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
                continue
            b = prev[i]
            if f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
                continue
            c = prev[i - bpp] if i >= bpp else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        line = bytes(line)
    for x in range(0, stride if y % 2 == 0 else 0, 2 * bpp):
        colours.add(line[x:x + 3])
    prev = line
print(len(colours), " ".join(sorted(c.hex() for c in colours if c.hex() in sys.argv[2:])))
EOF
)
colours=${out%% *}
found=" ${out#* } "
if [ -n "$colours" ] && [ "$colours" -gt 5 ] 2>/dev/null; then ok "screenshot has $colours distinct colours (> 5)"
else no "screenshot looks blank (distinct colours: ${colours:-PNG parse error})"; fi
# The colours of the five boxes (the bands and the legend) and the red of the divergent range.
missing=
for c in 4e79a7:tiny 59a14f:pool f28e2b:mid b07aa1:l25 8c8c8c:mmap d62728:divergent; do
    case $found in *" ${c%%:*} "*) ;; *) missing="$missing ${c#*:}" ;; esac
done
if [ -z "$missing" ]; then ok "screenshot shows the five box colours and the divergent-range red"
else no "screenshot lacks the colour of:$missing (did the SVG render?)"; fi

finish
