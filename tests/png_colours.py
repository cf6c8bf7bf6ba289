"""png_colours.py: what a screenshot shows, for the HTML route map's tests (render-html.sh,
route-map.sh), with Python's standard library only (zlib and PNG's row filters).

    python3 png_colours.py FILE.png RRGGBB...

prints "WIDTH HEIGHT DISTINCT FOUND..." where DISTINCT counts the colours of a sample (every
other row, every other pixel) and FOUND lists those of the given colours that occur in it.
Exits 1 (with a message) when FILE is not an 8-bit, non-interlaced RGB or RGBA PNG."""
import struct
import sys
import zlib


def decode_rows(data):
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if typ == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif typ == b"IDAT":
            idat.append(body)
        pos += 12 + n
    if not ihdr:
        raise ValueError("no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    lo7 = int.from_bytes(b"\x7f" * stride, "big")
    hi1 = int.from_bytes(b"\x80" * stride, "big")
    prev = bytes(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        cur = raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        if f == 0:
            line = cur
        elif f == 2:  # Up: a bytewise add, no carries between bytes
            a, b = int.from_bytes(cur, "big"), int.from_bytes(prev, "big")
            line = (((a & lo7) + (b & lo7)) ^ ((a ^ b) & hi1)).to_bytes(stride, "big")
        else:
            line = bytearray(cur)
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                if f == 1:
                    line[i] = (line[i] + a) & 255
                elif f == 3:
                    line[i] = (line[i] + ((a + b) >> 1)) & 255
                else:  # 4: Paeth
                    c = prev[i - bpp] if i >= bpp else 0
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            line = bytes(line)
        rows.append(line)
        prev = line
    return w, h, bpp, rows


def main(argv):
    try:
        with open(argv[1], "rb") as f:
            w, h, bpp, rows = decode_rows(f.read())
    except (OSError, ValueError, zlib.error, struct.error) as e:
        print(f"png_colours.py: {argv[1]}: {e}", file=sys.stderr)
        return 1
    colours = set()
    for line in rows[::2]:
        for x in range(0, w * bpp, 2 * bpp):
            colours.add(line[x:x + 3])
    wanted = set(argv[2:])
    print(w, h, len(colours), " ".join(sorted(c.hex() for c in colours if c.hex() in wanted)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
