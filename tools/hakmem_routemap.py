"""hakmem_routemap: the HTML page of `hakmem-divergence --html` (installed beside it).

The route map draws each routing path's own table as the processes recorded it (the
"route_map" of a report or a version-2 record: each path's decision on every size interval,
for the table and knobs in force), one band per distinct map, so that an edge a candidate
table moved is visible whether or not the workload ever reached it. Where the maps differ
the bands are outlined: red and hatched where divergences were recorded, dashed where no
compared call hit. Divergences are grouped into a bounded number of callouts (close ones
share one), the Bridge classes of Pool are labelled, and under the bands a histogram per
executing path shows where the compared calls' request sizes went. Reports without a route
map (format 1, an older hakmem) show only the divergent ranges (the rest of the axis is
drawn as unknown), and the page says so. The Central Router's routing table in force (the
"routing_table" of a report: its rules) is listed per distinct table; nothing here holds a
copy of any table.

Everything here is display: the data comes from hakmem-divergence (merged divergences,
processes, call sites, the gate's verdict), and the page is one self-contained file (no
script, no external resource).
"""

import html
import math
import os

SIZE_MAX = 2**64 - 1
BOXES = ("tiny", "pool", "mid", "l25", "mmap")

BOX_COLOURS = {
    "tiny": "#4e79a7",
    "pool": "#59a14f",
    "mid": "#f28e2b",
    "l25": "#b07aa1",
    "mmap": "#8c8c8c",
}
UNKNOWN_COLOUR = "#d0d0d0"
DIV_RED = "#d62728"
UNHIT = "#e8a33d"  # an edge the maps move that no compared call hit
HIST_COLOURS = {"legacy": "#5d6d7e", "central": "#1f77b4"}

LOG_END = 26  # 64 MiB
EXT_UNITS = 2.5  # width of the "above 64 MiB" part of the axis, in powers of two
MAX_ZOOMS = 6
MAX_CALLOUT_ROWS = 3
MAX_SITES = 50
MAX_PROCS = 500
MAX_TABLES = 8


# --- text helpers (shared with hakmem-divergence) ----------------------------------------------


def disp(s):
    """A string from a report or record for display: bytes that were not UTF-8 (kept as
    surrogate escapes) are shown as \\xNN."""
    if s is None:
        return None
    return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def disp_line(s):
    """disp(s) for one line of text: control characters (a newline in a path) shown as \\xNN."""
    d = disp(s)
    if d is None:
        return None
    return "".join(c if c.isprintable() else "\\x%02x" % ord(c) for c in d)


def site_label(s):
    sym, obj = disp(s.get("symbol")), disp(s.get("object"))
    if s.get("offset") is not None and s.get("module"):
        where = f"{obj or 'module %d' % s['module']}+0x{s['offset']:x}"
        return f"{sym} ({where})" if sym else where
    site = s.get("address")
    if sym:
        return f"{sym} ({obj})" if obj else sym
    if site:
        return f"{site} ({obj})" if obj else site
    return "(unknown site)"


def div_text(d):
    sites = d.get("sites") or []
    where = site_label(sites[0]) if sites else "(unknown site)"
    return (f"{d['legacy']}→{d['central']} (classes {d['legacy_class']}→{d['central_class']}), "
            f"sizes {d['size_min']}-{d['size_max']}, count {d['count']}, at {where}")


def row_text(r):
    """One merged divergence (hakmem-divergence's rows: top_sites with their counts)."""
    top = r.get("top_sites") or []
    where = f", top site {top[0]['site']} ×{top[0]['count']}" if top else ""
    return (f"{fmt_range(r['size_min'], r['size_max'])}: {r['legacy']}→{r['central']} (classes "
            f"{r['legacy_class']}→{r['central_class']}), {r['count']} calls{where}")


def fmt_size(n):
    if n >= SIZE_MAX:
        return "SIZE_MAX"
    for unit, v in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= v and n % v == 0:
            return f"{n // v} {unit}"
    return f"{n} B"


def fmt_range(lo, hi):
    if lo == hi:
        return f"{lo} B"
    return f"{lo}–{'SIZE_MAX' if hi >= SIZE_MAX else hi} B"


def fmt_count(n):
    for unit, v in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= v:
            return f"{n / v:.3g}{unit}"
    return str(n)


# --- the maps ------------------------------------------------------------------------------


def coalesce(segs, by_class=True):
    out = []
    for lo, hi, box, cls in sorted(segs, key=lambda s: s[0]):
        if out and out[-1][2] == box and (not by_class or out[-1][3] == cls) and out[-1][1] + 1 == lo:
            out[-1][1] = hi
        else:
            out.append([lo, hi, box, cls])
    return out


def paint(segs, lo, hi, box, cls):
    out = []
    for s_lo, s_hi, s_box, s_cls in segs:
        if s_hi < lo or s_lo > hi:
            out.append([s_lo, s_hi, s_box, s_cls])
            continue
        if s_lo < lo:
            out.append([s_lo, lo - 1, s_box, s_cls])
        if s_hi > hi:
            out.append([hi + 1, s_hi, s_box, s_cls])
    out.append([lo, hi, box, cls])
    return coalesce(out)


def normal_rows(rows):
    """A map's rows [lo, hi, box, class], runs of one decision joined."""
    return coalesce([list(r) for r in rows])


def table_name(p):
    t = str((p.get("mode") or {}).get("table") or "builtin")
    if t.startswith("builtin: "):  # the table asked for was not loaded: say so
        return "built-in table (" + disp_line(t[len("builtin: "):]) + ")"
    return "built-in table" if t == "builtin" else os.path.basename(disp_line(t))


def collect_bands(procs, merged):
    """The bands to draw: one per distinct map of each path (processes sharing a map share a
    band), from the maps the processes carry; else (reports without a map) an unknown axis
    painted where the divergences happened. Returns (bands, source, notes)."""
    notes = []
    legacy, central = {}, {}
    for p in procs:
        rm = p.get("route_map")
        if not rm:
            continue
        m = rm["malloc"]
        for path, store in (("legacy", legacy), ("central", central)):
            key = tuple(tuple(r) for r in normal_rows(m[path]))
            b = store.setdefault(key, {"rows": [list(r) for r in key], "procs": 0, "tables": {},
                                        "knobs": set()})
            b["procs"] += 1
            k = p.get("knobs") or {}
            b["knobs"].add((bool(k.get("ace_enabled", True)), bool(k.get("wrap_l2", True))))
            if path == "central":
                t = table_name(p)
                b["tables"][t] = b["tables"].get(t, 0) + 1
    without = sum(1 for p in procs if not p.get("route_map"))
    bands = []
    if legacy and central:
        if without:
            notes.append(f"{without} process{'es' if without != 1 else ''} carried no route map "
                         f"(an older hakmem): the bands show the maps of the others")
        for path, store in (("legacy", legacy), ("central", central)):
            many = len(store) > 1
            for i, b in enumerate(sorted(store.values(), key=lambda b: -b["procs"])):
                label = path
                detail = f"{b['procs']} process{'es' if b['procs'] != 1 else ''}"
                if path == "central":
                    tables = sorted(b["tables"], key=lambda t: -b["tables"][t])
                    detail += ", " + " + ".join(tables)
                if many:
                    label = f"{path} {chr(ord('A') + i) if i < 26 else i + 1}"
                knob = sorted(b["knobs"])[0] if b["knobs"] else (True, True)
                if knob != (True, True):
                    detail += f", ACE {'on' if knob[0] else 'off'}, WRAP_L2 {int(knob[1])}"
                bands.append({"path": path, "label": label, "detail": detail, "rows": b["rows"]})
        return bands, "route_map", notes
    leg = [[0, SIZE_MAX, "unknown", None]]
    cen = [[0, SIZE_MAX, "unknown", None]]
    for r in sorted(merged, key=lambda r: r["count"]):
        leg = paint(leg, r["size_min"], r["size_max"], r["legacy"], r["legacy_class"])
        cen = paint(cen, r["size_min"], r["size_max"], r["central"], r["central_class"])
    tables = " + ".join(sorted({table_name(p) for p in procs}))
    bands = [{"path": "legacy", "label": "legacy", "detail": "divergent ranges only", "rows": leg},
             {"path": "central", "label": "central", "detail": f"{tables}, divergent ranges only",
              "rows": cen}]
    return bands, "divergences", notes


def routing_tables(procs):
    """The distinct routing tables in force (the reports' "routing_table"), each with the
    processes that ran it and their table names, most processes first; and how many
    processes carried none (records alone, older reports)."""
    tables = {}
    without = 0
    for p in procs:
        t = p.get("routing_table")
        if not t:
            without += 1
            continue
        e = tables.setdefault(tuple(tuple(r) for r in t), {"rules": t, "procs": 0, "names": set()})
        e["procs"] += 1
        e["names"].add(table_name(p))
    return sorted(tables.values(), key=lambda e: -e["procs"]), without


def differing_ranges(bands, merged):
    """Where the first legacy band and any central band disagree (box or class): each range
    with the divergences recorded inside it (calls), so that an edge no call hit shows too."""
    legacy = next((b for b in bands if b["path"] == "legacy"), None)
    out = []
    if not legacy:
        return out
    for cb in (b for b in bands if b["path"] == "central"):
        edges = sorted({r[0] for r in legacy["rows"]} | {r[0] for r in cb["rows"]})
        for i, lo in enumerate(edges):
            hi = edges[i + 1] - 1 if i + 1 < len(edges) else SIZE_MAX
            a, b = decision_at(legacy["rows"], lo), decision_at(cb["rows"], lo)
            if a != b:
                if out and out[-1]["band"] == cb["label"] and out[-1]["hi"] + 1 == lo and \
                        (out[-1]["legacy"], out[-1]["central"]) == (a, b):
                    out[-1]["hi"] = hi
                else:
                    out.append({"lo": lo, "hi": hi, "legacy": a, "central": b, "band": cb["label"]})
    for d in out:
        hits = [r for r in merged if r["size_max"] >= d["lo"] and r["size_min"] <= d["hi"]]
        d["calls"] = sum(r["count"] for r in hits)
        d["divergences"] = len(hits)
    return out


def decision_at(rows, size):
    lo_i, hi_i = 0, len(rows)
    while hi_i - lo_i > 1:  # the last row with lo <= size
        m = (lo_i + hi_i) // 2
        if rows[m][0] <= size:
            lo_i = m
        else:
            hi_i = m
    r = rows[lo_i] if rows else None
    return (r[2], r[3]) if r and r[0] <= size <= r[1] else (None, None)


def merged_histogram(procs):
    """The compared calls' request sizes per executing path, summed over the processes that
    carry a histogram; None when none does."""
    edges, sums, n = None, None, 0
    for p in procs:
        h = p.get("histogram")
        if not h or not isinstance(h.get("buckets"), list):
            continue
        if edges is None:
            edges = [list(b) for b in h["buckets"]]
            sums = {"legacy": [0] * len(edges), "central": [0] * len(edges)}
        if len(h["buckets"]) != len(edges):
            continue
        n += 1
        for path in ("legacy", "central"):
            for i, c in enumerate(h.get(path) or []):
                if isinstance(c, int) and i < len(edges):
                    sums[path][i] += c
    if edges is None:
        return None
    return {"buckets": edges, "legacy": sums["legacy"], "central": sums["central"], "processes": n}


# --- the SVG -------------------------------------------------------------------------------


def xunit(size):
    """Position on the axis in units of one power of two (0 = 1 B, 26 = 64 MiB)."""
    if size <= 1:
        return 0.0
    lg = math.log2(size)
    if lg <= LOG_END:
        return lg
    return LOG_END + (lg - LOG_END) / (64 - LOG_END) * EXT_UNITS


class Axis:
    def __init__(self, W, left=170, right=30):
        self.left, self.right, self.W = left, right, W
        self.width = W - left - right
        self.scale = self.width / (LOG_END + EXT_UNITS)

    def x(self, units):
        return self.left + units * self.scale

    def span(self, lo, hi):
        """x of the first size and just past the last one."""
        return self.x(xunit(max(lo, 1))), self.x(xunit(hi + 1 if hi < SIZE_MAX else SIZE_MAX))


def group_divergences(merged, unhit, ax, max_rows=MAX_CALLOUT_ROWS):
    """Divergences (and ranges where the maps differ that no compared call hit) close on the
    axis share one callout; groups are merged until their labels fit in max_rows rows.
    Returns the groups, each with x0, x1, rows (divergences), unhit (ranges), label, row."""
    items = []
    for r in merged:
        x0, x1 = ax.span(r["size_min"], r["size_max"])
        items.append({"x0": x0, "x1": max(x1, x0 + 1), "rows": [r], "unhit": []})
    for d in unhit:
        x0, x1 = ax.span(d["lo"], d["hi"])
        items.append({"x0": x0, "x1": max(x1, x0 + 1), "rows": [], "unhit": [d]})
    items.sort(key=lambda it: (it["x0"], it["x1"]))
    groups = []
    span = 2 * ax.scale  # a group covers two powers of two at most, before fitting
    for it in items:  # neighbours within 24 px are one place on the map
        if groups and it["x0"] - groups[-1]["x1"] < 24 and it["x1"] - groups[-1]["x0"] <= span:
            g = groups[-1]
            g["x1"] = max(g["x1"], it["x1"])
            g["rows"] += it["rows"]
            g["unhit"] += it["unhit"]
        else:
            groups.append(dict(it))

    def label(g):
        rows, un = g["rows"], g["unhit"]
        calls = sum(r["count"] for r in rows)
        if len(rows) == 1 and not un:
            r = rows[0]
            return (f"{fmt_range(r['size_min'], r['size_max'])}: {r['legacy']}→{r['central']} "
                    f"×{fmt_count(calls)}")
        if not rows and len(un) == 1:
            d = un[0]
            return f"{fmt_range(d['lo'], d['hi'])}: {d['legacy'][0]}→{d['central'][0]}, not hit"
        parts = []
        if rows:
            parts.append(f"{len(rows)} div. ×{fmt_count(calls)}")
        if un:
            parts.append(f"{len(un)} not hit" if rows else f"{len(un)} edges not hit")
        return " +".join(parts)

    def place(groups):
        rows_used = [[] for _ in range(max_rows)]
        for g in groups:
            g["label"] = label(g)
            g["tw"] = len(g["label"]) * 7.0 + 14
            mid = (g["x0"] + g["x1"]) / 2
            g["cx"] = min(max(mid, ax.left + g["tw"] / 2), ax.W - 4 - g["tw"] / 2)
            a, b = g["cx"] - g["tw"] / 2, g["cx"] + g["tw"] / 2
            for ri, spans in enumerate(rows_used):
                if all(b + 6 < s0 or a - 6 > s1 for s0, s1 in spans):
                    spans.append((a, b))
                    g["row"] = ri
                    break
            else:
                return False
        return True

    while not place(groups):
        # merge the two neighbours closest on the axis, and try again
        gaps = [(groups[i + 1]["x0"] - groups[i]["x1"], i) for i in range(len(groups) - 1)]
        _, i = min(gaps)
        a, b = groups[i], groups.pop(i + 1)
        a["x1"] = max(a["x1"], b["x1"])
        a["rows"] += b["rows"]
        a["unhit"] += b["unhit"]
    return groups


def svg_route_map(bands, differ, merged, hist, W=1260):
    e = html.escape
    ax = Axis(W)
    groups = group_divergences(merged, [d for d in differ if not d["divergences"]], ax)
    nrows = max((g["row"] for g in groups), default=-1) + 1
    row_h = 22
    top = 12 + nrows * row_h + (16 if nrows else 0)
    nb = len(bands)
    band_h = 40 if nb <= 3 else max(18, 120 // nb)
    gap = 8
    y_band = [top + i * (band_h + gap) for i in range(nb)]
    y_bands_end = top + nb * (band_h + gap) - gap
    bridge = bridge_span(bands)
    y_bridge = y_bands_end + 9  # under the strip of ticks
    y_axis = y_bands_end + (36 if bridge else 16)
    hist_h, hist_gap = 46, 10
    have_hist = hist is not None and (any(hist["legacy"]) or any(hist["central"]))
    hist_paths = ["legacy", "central"] if have_hist else []
    y_hist0 = y_axis + 100
    y_legend = y_hist0 + (len(hist_paths) * (hist_h + hist_gap) + 22 if hist_paths else 0)
    H = y_legend + 30

    p = [f'<svg xmlns="http://www.w3.org/2000/svg" id="route-map" width="{W}" height="{H}" '
         f'viewBox="0 0 {W} {H}" role="img" data-bands-top="{top}" data-groups="{len(groups)}" '
         f'aria-label="route map: each path\'s table by request size" font-family="system-ui, '
         f'-apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif">']
    p.append(f'<defs><pattern id="hatch" width="7" height="7" patternUnits="userSpaceOnUse" '
             f'patternTransform="rotate(45)"><rect width="7" height="7" fill="#ffffff" '
             f'fill-opacity="0.35"/><line x1="0" y1="0" x2="0" y2="7" stroke="{DIV_RED}" '
             f'stroke-width="4"/></pattern></defs>')
    for k in range(0, LOG_END + 1):  # power-of-two grid behind the bands
        x = ax.x(k)
        p.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{y_axis}" '
                 f'stroke="#e4e4e4" stroke-width="1"/>')

    for b, y in zip(bands, y_band):
        p.append(f'<g class="band" data-path="{e(b["path"])}" data-label="{e(b["label"])}">')
        p.append(f'<text x="{ax.left - 10}" y="{y + band_h / 2 - (2 if band_h >= 30 else -4):.1f}" '
                 f'text-anchor="end" font-size="14" font-weight="600" fill="#222">'
                 f'{e(b["label"])}</text>')
        if band_h >= 30:
            p.append(f'<text x="{ax.left - 10}" y="{y + band_h / 2 + 13:.1f}" text-anchor="end" '
                     f'font-size="10.5" fill="#666">{e(clip(b["detail"], 26))}'
                     f'<title>{e(b["detail"])}</title></text>')
        for lo, hi, box, cls in coalesce(b["rows"], by_class=False):
            x0, x1 = ax.span(lo, hi)
            col = BOX_COLOURS.get(box, UNKNOWN_COLOUR)
            p.append(f'<rect class="seg" data-box="{e(box)}" x="{x0:.2f}" y="{y}" '
                     f'width="{max(x1 - x0, 0.6):.2f}" height="{band_h}" fill="{col}"><title>'
                     f'{e(b["label"])}: {e(fmt_range(lo, hi) if hi < SIZE_MAX else f"{lo} B and up")}'
                     f' → {e(box)}</title></rect>')
            if x1 - x0 >= len(box) * 8 + 8 and band_h >= 18:
                p.append(f'<text x="{(x0 + x1) / 2:.1f}" y="{y + band_h / 2 + 5:.1f}" '
                         f'text-anchor="middle" font-size="13" font-weight="600" '
                         f'fill="#fff">{e(box)}</text>')
        # class edges inside a box: thin marks at the top of the band
        for lo, hi, box, cls in b["rows"][1:]:
            x = ax.x(xunit(max(lo, 1)))
            p.append(f'<line class="class-edge" x1="{x:.1f}" y1="{y}" x2="{x:.1f}" '
                     f'y2="{y + band_h * 0.3:.1f}" stroke="#fff" stroke-opacity="0.7"/>')
        p.append(f'<rect x="{ax.left}" y="{y}" width="{ax.width}" height="{band_h}" '
                 f'fill="none" stroke="#555" stroke-width="1"/></g>')

    xb = ax.x(LOG_END)  # the break before the compressed sizes
    p.append(f'<line x1="{xb:.1f}" y1="{top - 6}" x2="{xb:.1f}" y2="{y_bands_end + 6}" '
             f'stroke="#fff" stroke-width="3" stroke-dasharray="5 3"/>')

    # Ranges where a central band differs from the legacy one, on that band: outlined (red
    # where divergences were recorded, dashed amber where no compared call hit them) when wide
    # enough, and always a tick on the strip under the band, so that hundreds stay readable.
    band_y = {b["label"]: y for b, y in zip(bands, y_band)}
    for d in differ:
        y = band_y.get(d["band"])
        if y is None:
            continue
        x0, x1 = ax.span(d["lo"], d["hi"])
        hit = d["divergences"] > 0
        col = DIV_RED if hit else UNHIT
        what = (f'{fmt_range(d["lo"], d["hi"])}: legacy {d["legacy"][0]} '
                f'(class {d["legacy"][1]}), {d["band"]} {d["central"][0]} (class {d["central"][1]})'
                + (f', {d["calls"]} divergent calls' if hit else ', no compared call hit it'))
        p.append(f'<g class="differs {"hit" if hit else "unhit"}" data-band="{e(d["band"])}">'
                 f'<title>{e(what)}</title>')
        if x1 - x0 >= 5:
            look = (f'fill="{"url(#hatch)" if x1 - x0 >= 12 else "none"}" stroke="{col}"' if hit
                    else f'fill="none" stroke="{col}" stroke-dasharray="4 3"')
            p.append(f'<rect x="{x0:.2f}" y="{y - 1}" width="{x1 - x0:.2f}" '
                     f'height="{band_h + 2}" {look} stroke-width="2"/>')
        p.append(f'<rect class="tick" x="{x0:.2f}" y="{y + band_h + 1}" '
                 f'width="{max(x1 - x0, 1.5):.2f}" height="5" fill="{col}"/></g>')
    # Divergences outside every differing range (from processes whose maps are not drawn, or
    # reports without maps): ticks under the last band, and a hatch where wide enough.
    for r in merged:
        if any(d["lo"] <= r["size_min"] and r["size_max"] <= d["hi"] for d in differ):
            continue
        x0, x1 = ax.span(r["size_min"], r["size_max"])
        p.append(f'<g class="divergence"><title>{e(row_text(r))}</title>')
        if x1 - x0 >= 5:
            p.append(f'<rect x="{x0:.2f}" y="{top - 3}" width="{x1 - x0:.2f}" '
                     f'height="{y_bands_end - top + 6}" fill="{"url(#hatch)" if x1 - x0 >= 12 else "none"}" '
                     f'stroke="{DIV_RED}" stroke-width="2"/>')
        p.append(f'<rect class="tick" x="{x0:.2f}" y="{y_bands_end + 1}" '
                 f'width="{max(x1 - x0, 1.5):.2f}" height="5" fill="{DIV_RED}"/></g>')

    # One callout per group: red when it holds divergences, amber when only moved edges.
    for g in groups:
        ly = 12 + g["row"] * row_h + 10
        cx = g["cx"]
        col, tcol = (DIV_RED, "#b01c1c") if g["rows"] else (UNHIT, "#8a5a00")
        lines = [row_text(r) for r in g["rows"][:40]]
        if len(g["rows"]) > 40:
            lines.append(f"… and {len(g['rows']) - 40} more (the table below lists every one)")
        lines += [f"{fmt_range(d['lo'], d['hi'])}: legacy {d['legacy'][0]}, {d['band']} "
                  f"{d['central'][0]}: the maps differ, no compared call hit it"
                  for d in g["unhit"][:20]]
        titles = "\n".join(lines)
        p.append(f'<g class="callout" data-divergences="{len(g["rows"])}" '
                 f'data-unhit="{len(g["unhit"])}">')
        p.append(f'<path d="M{g["x0"]:.1f},{top - 5} L{g["x0"]:.1f},{top - 9} '
                 f'L{g["x1"]:.1f},{top - 9} L{g["x1"]:.1f},{top - 5}" fill="none" '
                 f'stroke="{col}" stroke-width="1.2"/>')
        mid = (g["x0"] + g["x1"]) / 2
        p.append(f'<path d="M{mid:.1f},{top - 9} L{mid:.1f},{ly + 8} L{cx:.1f},{ly + 8}" '
                 f'fill="none" stroke="{col}" stroke-width="1.2"/>')
        p.append(f'<rect x="{cx - g["tw"] / 2:.1f}" y="{ly - 10}" width="{g["tw"]:.1f}" '
                 f'height="18" rx="4" fill="#fff" stroke="{col}" stroke-width="1.2">'
                 f'<title>{e(titles)}</title></rect>')
        p.append(f'<text x="{cx:.1f}" y="{ly + 3.5:.1f}" text-anchor="middle" font-size="12" '
                 f'font-weight="600" fill="{tcol}" textLength="{g["tw"] - 14:.1f}" '
                 f'lengthAdjust="spacingAndGlyphs">{e(g["label"])}<title>{e(titles)}</title></text>')
        p.append("</g>")

    if bridge:  # the Bridge classes of Pool, labelled under the bands
        x0, x1 = ax.span(*bridge)
        p.append(f'<g class="bridge-label"><path d="M{x0:.1f},{y_bridge} L{x0:.1f},{y_bridge + 5} '
                 f'L{x1:.1f},{y_bridge + 5} L{x1:.1f},{y_bridge}" fill="none" stroke="#2f6b2a" '
                 f'stroke-width="1.2"/><text x="{(x0 + x1) / 2:.1f}" y="{y_bridge + 17}" '
                 f'text-anchor="middle" font-size="11.5" font-weight="600" fill="#2f6b2a">'
                 f'Bridge (pool 40/52 KiB)<title>Pool\'s Bridge classes: '
                 f'{e(fmt_range(*bridge))}</title></text></g>')

    # The size axis.
    p.append(f'<line x1="{ax.left}" y1="{y_axis}" x2="{ax.left + ax.width}" y2="{y_axis}" '
             f'stroke="#333" stroke-width="1.2"/>')
    for k in range(0, LOG_END + 1):
        x = ax.x(k)
        p.append(f'<line x1="{x:.1f}" y1="{y_axis}" x2="{x:.1f}" y2="{y_axis + 4}" stroke="#777"/>')
    ticks = [(0, "1 B"), (4, "16 B"), (8, "256 B"), (10, "1 KiB"), (13, "8 KiB"),
             (15, "32 KiB"), (16, "64 KiB"), (20, "1 MiB"), (21, "2 MiB"), (26, "64 MiB"),
             (LOG_END + EXT_UNITS / 2, "≥ 64 MiB")]
    last_end = [-1e9, -1e9]
    for k, lab in ticks:
        x = ax.x(k)
        tw = len(lab) * 7.2
        row = 0 if x - tw / 2 > last_end[0] + 6 else 1
        last_end[row] = x + tw / 2
        ty = y_axis + 24 + row * 17
        if k <= LOG_END:
            p.append(f'<line x1="{x:.1f}" y1="{y_axis}" x2="{x:.1f}" y2="{ty - 12}" '
                     f'stroke="#333" stroke-width="1.4"/>')
        p.append(f'<text x="{x:.1f}" y="{ty}" text-anchor="middle" font-size="12" '
                 f'fill="{"#222" if k <= LOG_END else "#555"}">{e(lab)}</text>')
    p.append(f'<text x="{ax.left + ax.width / 2:.1f}" y="{y_axis + 62}" text-anchor="middle" '
             f'font-size="12" fill="#555" font-style="italic">request size (log scale; sizes '
             f'above 64 MiB compressed)</text>')

    # Where the traffic went: the compared calls by request size, per executing path.
    if hist_paths:
        p.append(f'<text x="{ax.left}" y="{y_hist0 - 8}" font-size="12.5" font-weight="600" '
                 f'fill="#333">compared calls by request size, per executing path '
                 f'(bar height: log scale)</text>')
        top_count = max(1, max(max(hist[pth]) for pth in hist_paths))
        for i, pth in enumerate(hist_paths):
            y = y_hist0 + i * (hist_h + hist_gap)
            total = sum(hist[pth])
            p.append(f'<g class="histogram" data-path="{pth}" data-total="{total}">')
            p.append(f'<text x="{ax.left - 10}" y="{y + hist_h / 2}" text-anchor="end" '
                     f'font-size="13" font-weight="600" fill="#222">{pth} executed</text>')
            p.append(f'<text x="{ax.left - 10}" y="{y + hist_h / 2 + 14}" text-anchor="end" '
                     f'font-size="10.5" fill="#666">{fmt_count(total)} calls</text>')
            p.append(f'<line x1="{ax.left}" y1="{y + hist_h}" x2="{ax.left + ax.width}" '
                     f'y2="{y + hist_h}" stroke="#999"/>')
            for (lo, hi), c in zip(hist["buckets"], hist[pth]):
                if not c:
                    continue
                x0, x1 = ax.span(lo, hi)
                h = max(2.0, hist_h * math.log1p(c) / math.log1p(top_count))
                p.append(f'<rect class="bar" x="{x0 + 0.5:.2f}" y="{y + hist_h - h:.2f}" '
                         f'width="{max(x1 - x0 - 1, 1):.2f}" height="{h:.2f}" '
                         f'fill="{HIST_COLOURS[pth]}"><title>{pth} executed, '
                         f'{e(fmt_range(lo, hi))}: {c} compared calls</title></rect>')
            p.append("</g>")

    lx = ax.left  # the legend
    for box in BOXES:
        p.append(f'<rect x="{lx}" y="{y_legend}" width="16" height="16" rx="2" '
                 f'fill="{BOX_COLOURS[box]}"/>')
        p.append(f'<text x="{lx + 22}" y="{y_legend + 13}" font-size="13" fill="#222">'
                 f'{e(box)}</text>')
        lx += 22 + len(box) * 8 + 22
    p.append(f'<rect x="{lx}" y="{y_legend}" width="16" height="16" fill="url(#hatch)" '
             f'stroke="{DIV_RED}" stroke-width="1.5"/>')
    p.append(f'<text x="{lx + 22}" y="{y_legend + 13}" font-size="13" fill="#222">the maps '
             f'differ, divergences recorded</text>')
    lx += 22 + 300
    p.append(f'<rect x="{lx}" y="{y_legend}" width="16" height="16" fill="none" '
             f'stroke="{UNHIT}" stroke-width="2" stroke-dasharray="4 3"/>')
    p.append(f'<text x="{lx + 22}" y="{y_legend + 13}" font-size="13" fill="#222">the maps '
             f'differ, no compared call hit it</text>')
    p.append("</svg>")
    return "\n".join(p)


def clip(s, n):
    return s if len(s) <= n else s[:n - 1] + "…"


def bridge_span(bands):
    """Pool's range above Mid (its Bridge classes), from the first legacy band's map."""
    legacy = next((b for b in bands if b["path"] == "legacy"), bands[0] if bands else None)
    if not legacy:
        return None
    rows = coalesce(legacy["rows"], by_class=False)
    # the first Pool span that follows a Mid span (no size of the table typed here)
    spans = [(lo, hi) for (_, _, prev, _), (lo, hi, box, _) in zip(rows, rows[1:])
             if box == "pool" and prev == "mid"]
    return spans[0] if spans else None


def svg_zoom(bands, r, W=606):
    """A close-up of one divergent range on a linear axis, with the boundaries around it."""
    e = html.escape
    legacy = next((b for b in bands if b["path"] == "legacy"), bands[0])["rows"]
    central = next((b for b in bands if b["path"] == "central"), bands[-1])["rows"]
    lo, hi = r["size_min"], r["size_max"]
    pad = max((hi - lo + 1) // 2, 24)
    a, b = max(0, lo - pad), min(SIZE_MAX, hi + pad)
    left, right = 70, 20
    aw = W - left - right

    def X(v):
        return left + (v - a) / (b + 1 - a) * aw

    band_h, y_leg = 30, 30
    y_cen = y_leg + band_h + 8
    y_axis = y_cen + band_h + 6
    H = y_axis + 44
    p = [f'<svg xmlns="http://www.w3.org/2000/svg" class="zoom" width="{W}" height="{H}" '
         f'viewBox="0 0 {W} {H}" role="img" aria-label="close-up of sizes {lo} to {hi}" '
         f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica, Arial, sans-serif">']
    title = (f"{fmt_range(lo, hi)}: legacy {r['legacy']} (class {r['legacy_class']}), "
             f"central {r['central']} (class {r['central_class']}), ×{r['count']}")
    fit = f' textLength="{aw}" lengthAdjust="spacingAndGlyphs"' if len(title) * 7.8 > aw else ""
    p.append(f'<text x="{left}" y="16" font-size="13" font-weight="600" fill="#b01c1c"{fit}>'
             f'{e(title)}</text>')
    bounds = {a, lo, hi + 1, b + 1}
    for segs, y, name in ((legacy, y_leg, "legacy"), (central, y_cen, "central")):
        p.append(f'<text x="{left - 8}" y="{y + band_h / 2 + 4.5:.1f}" text-anchor="end" '
                 f'font-size="13" font-weight="600" fill="#222">{name}</text>')
        for s_lo, s_hi, box, _ in coalesce(segs, by_class=False):
            if s_hi < a or s_lo > b:
                continue
            c0, c1 = max(s_lo, a), min(s_hi, b) + 1
            if s_lo > a:
                bounds.add(s_lo)
            x0, x1 = X(c0), X(c1)
            p.append(f'<rect x="{x0:.2f}" y="{y}" width="{max(x1 - x0, 0.6):.2f}" '
                     f'height="{band_h}" fill="{BOX_COLOURS.get(box, UNKNOWN_COLOUR)}"/>')
            cuts = sorted({c0, c1} | {v for v in (lo, hi + 1) if c0 < v < c1})
            for q0, q1 in zip(cuts, cuts[1:]):
                xq0, xq1 = X(q0), X(q1)
                if xq1 - xq0 >= len(box) * 7.5 + 8:
                    p.append(f'<text x="{(xq0 + xq1) / 2:.1f}" y="{y + band_h / 2 + 4.5:.1f}" '
                             f'text-anchor="middle" font-size="12.5" font-weight="600" '
                             f'fill="#fff">{e(box)}</text>')
    x0, x1 = X(lo), X(hi + 1)
    p.append(f'<rect x="{x0:.2f}" y="{y_leg - 3}" width="{x1 - x0:.2f}" '
             f'height="{y_cen + band_h - y_leg + 6}" fill="none" stroke="{DIV_RED}" '
             f'stroke-width="2.5"/>')
    p.append(f'<line x1="{left}" y1="{y_axis}" x2="{left + aw}" y2="{y_axis}" stroke="#333"/>')
    placed = []
    order = [lo, hi + 1] + sorted(bounds - {lo, hi + 1})
    for v in order:
        if v > b + 1:
            continue
        last = v - 1 if v in (hi + 1, b + 1) else v
        lab = "SIZE_MAX" if last >= SIZE_MAX else str(last)
        x = X(v)
        tw = len(lab) * 7 + 6
        if any(abs(x - px) < (tw + pw) / 2 + 4 for px, pw in placed):
            continue
        placed.append((x, tw))
        strong = v in (lo, hi + 1)
        weight = ' font-weight="600"' if strong else ""
        colour = "#b01c1c" if strong else "#333"
        p.append(f'<line x1="{x:.1f}" y1="{y_axis}" x2="{x:.1f}" y2="{y_axis + 6}" stroke="#333"/>')
        anchor = "start" if v == a else "end" if v == b + 1 else "middle"
        p.append(f'<text x="{x:.1f}" y="{y_axis + 19}" text-anchor="{anchor}" font-size="12" '
                 f'fill="{colour}"{weight}>{e(lab)}</text>')
    p.append(f'<text x="{left + aw / 2:.1f}" y="{y_axis + 37}" text-anchor="middle" '
             f'font-size="11.5" fill="#666" font-style="italic">bytes (linear scale)</text>')
    p.append("</svg>")
    return "\n".join(p)


# --- the page ------------------------------------------------------------------------------


CSS = """
:root { color-scheme: light; }
body { margin: 0; background: #f4f5f7; color: #1d1f23;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
main { max-width: 1300px; margin: 0 auto; padding: 22px 20px 40px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 26px 0 10px; }
.sub { color: #5b6270; margin: 0 0 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; }
.card { background: #fff; border: 1px solid #dde0e5; border-radius: 8px; padding: 8px 16px;
  min-width: 110px; }
.card .v { font-size: 22px; font-weight: 700; font-variant-numeric: tabular-nums; }
.card .k { color: #5b6270; font-size: 13px; }
.card.bad { border-color: #d62728; background: #fff3f3; }
.card.bad .v { color: #b01c1c; }
.card.good .v { color: #2a7d2a; }
.alert { margin: 14px 0 0; padding: 10px 14px; border-radius: 8px; border: 2px solid #d62728;
  background: #fff0f0; color: #7a1010; font-weight: 600; }
.alerts { max-height: 220px; overflow-y: auto; }
.ok { margin: 14px 0 0; padding: 10px 14px; border-radius: 8px; border: 2px solid #2a7d2a;
  background: #f0fbf0; color: #1d5a1d; font-weight: 600; }
.panel { background: #fff; border: 1px solid #dde0e5; border-radius: 8px; padding: 12px;
  overflow-x: auto; }
.note { color: #5b6270; font-size: 13px; margin: 8px 2px 0; }
.scroll { max-height: 640px; overflow: auto; }
table { border-collapse: collapse; width: 100%; background: #fff; font-size: 14px; }
th, td { border-bottom: 1px solid #e3e5e9; padding: 7px 10px; text-align: left; vertical-align: top; }
th { background: #eceef2; font-weight: 600; white-space: nowrap; position: sticky; top: 0; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.sites { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12.5px; }
.box { display: inline-block; padding: 1px 7px; border-radius: 4px; color: #fff; font-weight: 600; }
.yes { color: #2a7d2a; font-weight: 600; }
.no { color: #b01c1c; font-weight: 700; }
.zooms { display: flex; flex-wrap: wrap; gap: 12px; }
.zoom { padding: 8px 10px; }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; }
"""


def box_chip(box):
    col = BOX_COLOURS.get(box, UNKNOWN_COLOUR)
    return f'<span class="box" style="background:{col}">{html.escape(box)}</span>'


def render_page(totals, merged, sites, rollbacks, procs, unreadable, allow_path, knobs, notes,
                reasons, status):
    """The whole page: cards and the gate's reasons, the route map and its close-ups, the
    divergences with per-site counts, the call sites, the processes."""
    def e(s):
        return html.escape(disp(s) if isinstance(s, str) else str(s))

    bands, source, map_notes = collect_bands(procs, merged)
    differ = differing_ranges(bands, merged) if source == "route_map" else []
    hist = merged_histogram(procs)
    t = totals
    n_not = sum(1 for r in merged if r["allowed"] is False)
    h = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
         '<meta name="viewport" content="width=device-width, initial-scale=1">',
         "<title>hakmem divergence report</title>", f"<style>{CSS}</style></head><body><main>",
         "<h1>hakmem divergence report</h1>"]
    progs = sorted({disp(str(p.get("program"))) for p in procs if p.get("program")})
    prog_txt = ", ".join(progs[:4]) + (f" and {len(progs) - 4} more" if len(progs) > 4 else "")
    h.append(f'<p class="sub">legacy path against the Central Router, merged from '
             f'{t["processes"]} process{"es" if t["processes"] != 1 else ""}'
             + (f" of <code>{e(prog_txt)}</code>" if prog_txt else "") + "</p>")

    def card(k, v, cls=""):
        h.append(f'<div class="card {cls}"><div class="v">{e(str(v))}</div>'
                 f'<div class="k">{e(k)}</div></div>')

    h.append('<div class="cards">')
    card("verdict", "PASS" if status == 0 else "FAIL" if status == 1 else "ERROR",
         "good" if status == 0 else "bad")
    card("processes", t["processes"])
    card("calls", t["calls"])
    card("compared", t["compared"], "bad" if not t["compared"] else "")
    card("divergent", t["divergent"], "bad" if t["divergent"] else "good")
    card("distinct divergences", len(merged), "bad" if merged else "good")
    card("dropped", t["dropped"], "bad" if t["dropped"] else "")
    card("rollbacks", len(rollbacks), "bad" if rollbacks else "")
    incomplete = sum(1 for p in procs if p["state"] in ("ended", "running"))
    card("incomplete or running", incomplete, "bad" if incomplete else "")
    if allow_path is not None:
        card("not allowed", n_not, "bad" if n_not else "good")
    h.append("</div>")
    h.append('<div class="alerts">')
    for r in reasons:
        h.append(f'<div class="alert">{e(r)}</div>')
    for rb in rollbacks[:10]:
        d = rb["divergence"]
        h.append(f'<div class="alert">⟲ Rollback: pid {e(str(rb["pid"]))} '
                 f'(<code>{e(str(rb["file"]))}</code>) latched back to the legacy path after '
                 f'{e(str(rb["after"]))} divergences, at compared call '
                 f'{e(str(rb["at_compared"]))}; cause: {e(div_text(d)) if d else "unknown"}</div>')
    if len(rollbacks) > 10:
        h.append(f'<div class="alert">… and {len(rollbacks) - 10} more rollbacks</div>')
    if unreadable:
        h.append(f'<div class="alert">{len(unreadable)} input'
                 f'{"s" if len(unreadable) != 1 else ""} could not be read and '
                 f'{"were" if len(unreadable) != 1 else "was"} skipped: '
                 + "; ".join(f"<code>{e(p)}</code>: {e(w)}" for p, w in unreadable[:20])
                 + (f"; and {len(unreadable) - 20} more" if len(unreadable) > 20 else "")
                 + "</div>")
    h.append("</div>")
    if not merged and not t["divergent"]:
        h.append('<div class="ok">0 divergences: the legacy path and the Central Router agreed '
                 'on every compared call.</div>')

    h.append("<h2>Route map</h2>")
    h.append('<div class="panel">')
    h.append(svg_route_map(bands, differ, merged, hist))
    h.append("</div>")
    if source == "route_map":
        n_unhit = sum(1 for d in differ if not d["divergences"])
        src = ("Bands: each path's own table as the processes recorded it (the table and knobs "
               "in force, malloc-family requests; processes with the same map share a band). "
               f"The maps differ in {len(differ)} range{'s' if len(differ) != 1 else ''}"
               + (f", {n_unhit} of which no compared call hit" if n_unhit else "") + ".")
    else:
        src = ("Bands: these reports carry no route map (an older hakmem), so the bands show "
               "only the divergent ranges, each with the box each path chose there; the rest "
               "of the axis is unknown.")
    if hist is not None:
        src += (f" Histograms: the compared calls of {hist['processes']} process"
                f"{'es' if hist['processes'] != 1 else ''} (1 in N sampled at random, plus the "
                f"first call of every size key: the proportions are the traffic's).")
    h.append(f'<p class="note">{e(src)}</p>')
    for n in map_notes + list(notes):
        h.append(f'<p class="note">Note: {e(n)}</p>')
    if merged:
        h.append("<h2>Divergent ranges, close up</h2>")
        h.append('<div class="zooms">')
        for r in sorted(merged, key=lambda r: -r["count"])[:MAX_ZOOMS]:
            h.append('<div class="panel zoom">' + svg_zoom(bands, r) + "</div>")
        h.append("</div>")
        if len(merged) > MAX_ZOOMS:
            h.append(f'<p class="note">The {MAX_ZOOMS} most frequent of {len(merged)} '
                     f'divergences are shown close up.</p>')

    h.append("<h2>Divergences</h2>")
    if not merged:
        h.append("<p>0 divergences recorded.</p>")
    else:
        h.append('<div class="scroll"><table id="divergences"><thead><tr><th>legacy → central'
                 '</th><th>classes</th><th>count</th><th>sizes (B)</th><th>processes</th>'
                 '<th>entry</th><th>top sites (calls each)</th>'
                 + ("<th>allow list</th>" if allow_path is not None else "")
                 + "</tr></thead><tbody>")
        for r in merged:
            cells = "<br>".join(f"{e(s['site'])} <b>×{s['count']}</b>" for s in r["top_sites"])
            if r["sites"] > len(r["top_sites"]):
                cells += f"<br>+{r['sites'] - len(r['top_sites'])} more sites"
            if r.get("other_sites"):
                cells += f"<br>+{r['other_sites']} calls from further sites"
            h.append(
                f"<tr><td>{box_chip(r['legacy'])} → {box_chip(r['central'])}</td>"
                f"<td class=\"n\">{r['legacy_class']} → {r['central_class']}</td>"
                f"<td class=\"n\">{r['count']}</td>"
                f"<td class=\"n\">{e(fmt_range(r['size_min'], r['size_max']))}</td>"
                f"<td class=\"n\">{r['processes']}</td>"
                f"<td>{e(', '.join(r['entries']))}</td>"
                f"<td class=\"sites\">{cells}</td>"
                + ((f"<td class=\"yes\">allowed</td>" if r["allowed"]
                    else "<td class=\"no\">NOT ALLOWED</td>") if allow_path is not None else "")
                + "</tr>")
        h.append("</tbody></table></div>")
    if allow_path is not None:
        h.append(f'<p class="note">Allow list: <code>{e(allow_path)}</code></p>')

    if sites:
        h.append("<h2>Call sites</h2>")
        h.append('<div class="scroll"><table id="sites"><thead><tr><th>call site</th>'
                 '<th>divergent calls</th><th>distinct divergences</th><th>processes</th>'
                 '</tr></thead><tbody>')
        for s in sites[:MAX_SITES]:
            h.append(f"<tr><td class=\"sites\">{e(s['site'])}</td>"
                     f"<td class=\"n\">{s['count']}</td><td class=\"n\">{s['divergences']}</td>"
                     f"<td class=\"n\">{s['processes']}</td></tr>")
        h.append("</tbody></table></div>")
        if len(sites) > MAX_SITES:
            h.append(f'<p class="note">The {MAX_SITES} sites with the most divergent calls of '
                     f'{len(sites)} (the merged JSON lists every one).</p>')

    tables, without = routing_tables(procs)
    h.append("<h2>Routing table in force</h2>")
    if not tables:
        h.append("<p>No report carries its routing table (records alone, or an older "
                 "hakmem).</p>")
    for i, t in enumerate(tables[:MAX_TABLES]):
        who = (f"{t['procs']} process{'es' if t['procs'] != 1 else ''}: "
               + ", ".join(sorted(t["names"])))
        h.append(f'<p class="note">Table {i + 1} ({e(who)}), the Central Router\'s rules:</p>')
        h.append(f'<div class="scroll"><table class="routing-table" id="routing-table-{i + 1}">'
                 '<thead><tr><th>from (B)</th><th>to (B)</th><th>box</th><th>ACE</th></tr>'
                 '</thead><tbody>')
        for lo, hi, box, ace in t["rules"]:
            h.append(f'<tr><td class="n">{lo}</td><td class="n">{hi}</td><td>{box_chip(box)}'
                     f'</td><td>{"ace" if ace else ""}</td></tr>')
        h.append("</tbody></table></div>")
    if len(tables) > MAX_TABLES:
        h.append(f'<p class="note">… and {len(tables) - MAX_TABLES} more tables</p>')
    if tables and without:
        h.append(f'<p class="note">{without} process{"es" if without != 1 else ""} carried no '
                 f'routing table (records alone, or an older hakmem).</p>')

    h.append("<h2>Processes</h2>")
    h.append('<div class="scroll"><table id="processes"><thead><tr><th>file</th><th>pid</th>'
             '<th>program</th><th>state</th><th>executing</th><th>calls</th>'
             '<th>legacy / central executed</th><th>compared</th><th>size keys seen</th>'
             '<th>divergent</th><th>dropped</th></tr></thead><tbody>')
    for p in procs[:MAX_PROCS]:
        ex = p.get("executed") or {}
        keys = p.get("keys") or {}
        h.append(f"<tr><td><code title=\"{e(p['file'])}\">{e(os.path.basename(p['file']))}</code></td>"
                 f"<td class=\"n\">{p['pid']}</td>"
                 f"<td><code>{e(str(p.get('program') or ''))}</code></td>"
                 f"<td>{e(p['state'])}</td>"
                 f"<td>{e(str(p.get('executing') or ''))}</td>"
                 f"<td class=\"n\">{e(str(p.get('calls', 0)))}</td>"
                 f"<td class=\"n\">{e(str(ex.get('legacy', '?')))} / {e(str(ex.get('central', '?')))}</td>"
                 f"<td class=\"n\">{e(str(p.get('compared', 0)))}</td>"
                 f"<td class=\"n\">{e(str(keys.get('seen', '?')))} of {e(str(keys.get('intervals', '?')))}</td>"
                 f"<td class=\"n\">{e(str(p.get('divergent', 0)))}</td>"
                 f"<td class=\"n\">{e(str(p.get('dropped', 0)))}</td></tr>")
    h.append("</tbody></table></div>")
    if len(procs) > MAX_PROCS:
        h.append(f'<p class="note">The first {MAX_PROCS} of {len(procs)} processes (the merged '
                 f'JSON lists every one).</p>')
    h.append('<p class="note">Written by hakmem-divergence (formats of the reports and records: '
             'compare/README.md).</p>')
    h.append("</main></body></html>")
    return "\n".join(h) + "\n"
