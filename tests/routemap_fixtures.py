"""routemap_fixtures.py: divergence reports with N distinct divergences for the route-map
test (tests/route-map.sh), built on a real report's maps.

    python3 routemap_fixtures.py BASE.json OUTDIR N

BASE.json is a format-2 report a real process wrote (its route map: the built-in table's
legacy map with every class). Three processes' reports are written to OUTDIR: two ran
candidate table A, one candidate table B; A moves N + 3 small ranges spread over the size
axis (log-uniformly, 24 B to 48 MiB) to another box, and N of them diverged (each a distinct
pair of decisions, with one to three call sites and their counts); the last 3 no compared
call hit. B moves every other range of A and one of its own. Each process carries a
histogram of its compared calls and its routing table (rules_of its central map).
Deterministic: the same N gives the same files.
"""
import json
import os
import sys

BOXES = ("tiny", "pool", "mid", "l25", "mmap")
SIZE_MAX = 2**64 - 1


def decision_at(rows, size):
    for lo, hi, box, cls in rows:
        if lo <= size <= hi:
            return box, cls
    raise ValueError(size)


def paint(rows, lo, hi, box, cls):
    out = []
    for r in rows:
        if r[1] < lo or r[0] > hi:
            out.append(list(r))
            continue
        if r[0] < lo:
            out.append([r[0], lo - 1, r[2], r[3]])
        if r[1] > hi:
            out.append([hi + 1, r[1], r[2], r[3]])
    out.append([lo, hi, box, cls])
    return sorted(out)


def rules_of(rows):
    """A routing table ([lo, hi, box, ace] rules) whose decisions are the map's boxes: runs of
    one box joined, ace on pool and l25 rules (as the built-in table has it)."""
    rules = []
    for lo, hi, box, _ in sorted(rows):
        if rules and rules[-1][2] == box and rules[-1][1] + 1 == lo:
            rules[-1][1] = hi
        else:
            rules.append([lo, hi, box, box in ("pool", "l25")])
    return rules


def main(base_path, outdir, n):
    base = json.load(open(base_path))
    legacy = [list(r) for r in base["route_map"]["malloc"]["legacy"]]
    total = n + 3
    ranges = []
    for i in range(total):
        s = int(24 * (48 * 2**20 / 24) ** (i / max(total - 1, 1)))
        w = max(1, s // 64)
        lbox, lcls = decision_at(legacy, s)
        lbox2, _ = decision_at(legacy, s + w)
        if lbox2 != lbox:
            w = 1  # stay inside one legacy decision
        cbox = BOXES[(BOXES.index(lbox) + 1 + i % 4) % 5]
        ranges.append((s, s + w - 1, lbox, lcls, cbox, i))
    cand_a = legacy
    for lo, hi, _, _, cbox, i in ranges:
        cand_a = paint(cand_a, lo, hi, cbox, i)
    cand_b = legacy
    for lo, hi, _, _, cbox, i in ranges[::2]:
        cand_b = paint(cand_b, lo, hi, cbox, i)
    cand_b = paint(cand_b, 3000, 3071, "mid", 99)
    os.makedirs(outdir, exist_ok=True)
    procs = [("a1", cand_a, "/etc/hakmem/candidate-a.txt", ranges[:n][0::2]),
             ("a2", cand_a, "/etc/hakmem/candidate-a.txt", ranges[:n][1::2]),
             ("b1", cand_b, "/etc/hakmem/candidate-b.txt", [])]
    buckets = base["histogram"]["buckets"]
    for k, (name, cmap, table, divs) in enumerate(procs):
        divergences = []
        for lo, hi, lbox, lcls, cbox, i in divs:
            count = 1 + (i * 37) % 500
            sites = []
            left = count
            for j in range(1 + i % 3):
                c = left if j == i % 3 else max(1, left // 2)
                left -= c
                sites.append({"module": 1, "offset": hex(0x1000 + 0x40 * (i % 17) + j * 8),
                              "count": c, "symbol": f"worker_{i % 17}+0x{j * 8:x}",
                              "object": "/usr/bin/server"})
            divergences.append({"legacy": lbox, "legacy_class": lcls, "central": cbox,
                                "central_class": i, "entry": "malloc", "interval": [lo, hi],
                                "size_min": lo, "size_max": hi, "count": count,
                                "executed_central": 0, "sites": sites, "other_sites": 0})
        hist = [(k + 1) * ((b * 7919) % 100000) if b < 20 else 0 for b in range(len(buckets))]
        calls = sum(hist)
        dv = sum(d["count"] for d in divergences)
        rep = {"format": "hakmem-divergence-report/2", "pid": 40000 + k,
               "instance": f"{0xfeed0000 + k:016x}", "parent_instance": None,
               "start_time": 1000 + k, "boot_id": "fixture", "state": "exited", "record": None,
               "program": "/usr/bin/server", "program_build_id": None, "executing": "legacy",
               "mode": {"diff": True, "sample": 1, "aa": False, "rollout_pct": -1,
                        "rollout_by": "site", "rollout_salt": 0, "use_central_router": -1,
                        "central_default": False, "rollback_after": 0, "table": table},
               "knobs": {"ace_enabled": True, "wrap_l2": True}, "calls": calls,
               "executed": {"legacy": calls, "central": 0}, "compared": calls,
               "divergent": dv, "divergent_executed": {"legacy": dv, "central": 0},
               "dropped": 0, "keys": {"intervals": 46, "seen": 40, "truncated": False,
                                      "seen_list": []},
               "routing_table": rules_of(cmap),
               "route_map": {"malloc": {"legacy": legacy, "central": cmap},
                             "hak_alloc_at": {"legacy": legacy, "central": cmap}},
               "histogram": {"counts": "compared calls", "buckets": buckets, "legacy": hist,
                             "central": [0] * len(buckets)},
               "rollback": None, "rollback_inherited": False,
               "modules": [{"module": 1, "path": "/usr/bin/server", "build_id": None}],
               "divergences": divergences}
        with open(os.path.join(outdir, f"hakmem.{name}.json"), "w") as f:
            json.dump(rep, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
