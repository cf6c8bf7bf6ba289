#!/usr/bin/env python3
"""layers.py: hakmem's layering rule, checked (README "Layout").

    layers.py SRC [BLD]

The layers, lowest first: include/ (the public headers), core/base, core/engine, core/box,
core/router, legacy/, compare/, front/. A file may include headers of its own layer or of
lower ones only ("x.h" resolved as the build's -I list does, over these folders), and an
object of the library may call or read only what its own layer or lower ones define (the
undefined symbols of each object in BLD, from nm, against the objects that define them).
Every violation is one line; exit status 1 when there is any, 2 on a usage or setup fault.
"""
import os
import re
import subprocess
import sys

LAYERS = ["include", "core/base", "core/engine", "core/box", "core/router", "legacy",
          "compare", "front"]
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    d = os.path.dirname(rel)
    return LAYERS.index(d) if d in LAYERS else None


def sources(src):
    for i, d in enumerate(LAYERS):
        p = os.path.join(src, d)
        if not os.path.isdir(p):
            continue
        for name in sorted(os.listdir(p)):
            if name.endswith((".c", ".h")):
                yield i, os.path.join(d, name)


def check_includes(src):
    bad = []
    headers = {}
    for i, rel in sources(src):
        if rel.endswith(".h"):
            name = os.path.basename(rel)
            if name in headers:
                bad.append(f"{rel}: the header name is also {headers[name][1]} (ambiguous on the -I path)")
            headers.setdefault(name, (i, rel))
    for i, rel in sources(src):
        with open(os.path.join(src, rel), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                h = headers.get(os.path.basename(m.group(1)))
                if h and h[0] > i:
                    bad.append(f"{rel}:{n}: includes {h[1]}, of a higher layer "
                               f"({LAYERS[h[0]]} above {LAYERS[i]})")
    return bad


def nm(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBRVGSW":
            defined.add(f[2])
        elif len(f) == 2 and f[0] == "U":
            undefined.add(f[1])
    return defined, undefined


def check_symbols(src, bld, prefix):
    objs = []
    for i, d in enumerate(LAYERS):
        p = os.path.join(bld, d, ".libs")
        if not os.path.isdir(p):
            continue
        for name in sorted(os.listdir(p)):
            rel = os.path.join(d, name[len(prefix):-2] + ".c")
            # (an object whose source is gone is a stale product of an older layout)
            if name.startswith(prefix) and name.endswith(".o") and os.path.isfile(os.path.join(src, rel)):
                objs.append((i, rel, os.path.join(p, name)))
    if not objs:
        return None
    owner = {}
    table = []
    for i, rel, obj in objs:
        defined, undefined = nm(obj)
        table.append((i, rel, undefined))
        for s in defined:
            owner[s] = (i, rel)
    bad = []
    for i, rel, undefined in table:
        for s in sorted(undefined):
            o = owner.get(s)
            if o and o[0] > i:
                bad.append(f"{rel}: uses {s}, defined by {o[1]} ({LAYERS[o[0]]} above {LAYERS[i]})")
    return bad


def main(argv):
    if len(argv) not in (2, 3, 4):
        print("usage: layers.py SRC [BLD [OBJECT-PREFIX]]", file=sys.stderr)
        return 2
    src = argv[1]
    bad = check_includes(src)
    nobj = 0
    if len(argv) >= 3:
        prefix = argv[3] if len(argv) == 4 else "libhakmem_core_la-"
        sym = check_symbols(src, argv[2], prefix)
        if sym is None:
            print(f"layers.py: no {prefix}*.o objects under {argv[2]} (build first)", file=sys.stderr)
            return 2
        bad += sym
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
