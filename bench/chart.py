#!/usr/bin/env python3
"""chart.py: SVG grouped bar chart of bench/compare.sh's summary.csv (python3 stdlib only).

One group per workload, one bar per config: median ops/s as a ratio to glibc on a log2 axis
(1.0 = glibc, bars grow up when faster, down when slower), with a legend and axis labels.
A config without a result (missing peer, failed runs) gets no bar and an "n/a" mark.

Usage: chart.py SUMMARY.csv OUT.svg [SUBTITLE]
"""
import csv
import math
import sys
from xml.sax.saxutils import escape

COLORS = {
    "hakmem-legacy": "#9ecae1",
    "hakmem-central": "#08519c",
    "hakmem-diff1": "#3182bd",
    "hakmem-diffS": "#6baed6",
    "glibc": "#737373",
    "jemalloc": "#e6550d",
    "mimalloc": "#31a354",
    "tcmalloc": "#756bb1",
}


def main():
    if len(sys.argv) not in (3, 4):
        sys.stderr.write("usage: chart.py SUMMARY.csv OUT.svg [SUBTITLE]\n")
        return 2
    subtitle = sys.argv[3] if len(sys.argv) == 4 else ""
    rows = list(csv.DictReader(open(sys.argv[1], newline="")))
    workloads, configs, ratio = [], [], {}
    for r in rows:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])
        if r["config"] not in configs:
            configs.append(r["config"])
        try:
            v = float(r["ratio_vs_glibc"])
            if v > 0:
                ratio[(r["workload"], r["config"])] = v
        except (ValueError, KeyError):
            pass
    if not workloads:
        sys.stderr.write("chart.py: no rows in %s\n" % sys.argv[1])
        return 1

    vals = list(ratio.values()) or [1.0]
    lo = min(-1, math.floor(math.log2(min(vals))))
    hi = max(1, math.ceil(math.log2(max(vals))))
    bar_w, gap = 12, 28
    group_w = bar_w * len(configs) + gap
    left, right, top, plot_h = 80, 180, 60, 360
    width = left + group_w * len(workloads) + right
    height = top + plot_h + 110

    def y(v):  # log2 ratio -> pixel
        return top + (hi - math.log2(v)) / (hi - lo) * plot_h

    s = []
    s.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
             'font-family="sans-serif" font-size="12">' % (width, height))
    s.append('<rect width="100%" height="100%" fill="white"/>')
    s.append('<text x="%d" y="22" font-size="16" font-weight="bold">hakmem vs peers: median ops/s '
             'relative to glibc</text>' % left)
    if subtitle:
        s.append('<text x="%d" y="40" fill="#555">%s</text>' % (left, escape(subtitle)))
    # y axis: grid lines at powers of two
    for e in range(lo, hi + 1):
        v = 2.0 ** e
        yy = y(v)
        s.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="%s" stroke-width="%s"/>'
                 % (left, yy, left + group_w * len(workloads), yy,
                    "#000" if e == 0 else "#ddd", "1.5" if e == 0 else "1"))
        label = ("%g" % v) + "x"
        s.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (left - 6, yy + 4, label))
    s.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#000"/>' % (left, top, left, top + plot_h))
    s.append('<text transform="translate(20,%d) rotate(-90)" text-anchor="middle">'
             'ops/s ratio vs glibc (log scale; 1x = glibc)</text>' % (top + plot_h // 2))
    base = y(1.0)
    for gi, w in enumerate(workloads):
        x0 = left + gi * group_w + gap // 2
        for ci, c in enumerate(configs):
            x = x0 + ci * bar_w
            v = ratio.get((w, c))
            color = COLORS.get(c, "#999")
            if v is None:
                s.append('<text x="%.1f" y="%.1f" font-size="8" text-anchor="middle" fill="#999" '
                         'transform="rotate(-90 %.1f %.1f)">n/a</text>'
                         % (x + bar_w / 2, base - 4, x + bar_w / 2, base - 4))
                continue
            yy = y(v)
            y1, h = (yy, base - yy) if yy < base else (base, yy - base)
            s.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s">'
                     '<title>%s, %s: %.2fx glibc</title></rect>'
                     % (x, y1, bar_w - 2, max(h, 0.5), color, escape(w), escape(c), v))
        name = w[len("bench_"):] if w.startswith("bench_") else w
        s.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>'
                 % (x0 + bar_w * len(configs) / 2, top + plot_h + 20, escape(name)))
    s.append('<text x="%d" y="%d" text-anchor="middle">workload</text>'
             % (left + group_w * len(workloads) // 2, top + plot_h + 45))
    # legend
    lx = left + group_w * len(workloads) + 20
    s.append('<text x="%d" y="%d" font-weight="bold">config</text>' % (lx, top))
    for ci, c in enumerate(configs):
        ly = top + 14 + ci * 20
        s.append('<rect x="%d" y="%d" width="12" height="12" fill="%s"/>' % (lx, ly, COLORS.get(c, "#999")))
        s.append('<text x="%d" y="%d">%s</text>' % (lx + 18, ly + 10, escape(c)))
    s.append("</svg>")
    with open(sys.argv[2], "w") as f:
        f.write("\n".join(s) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
