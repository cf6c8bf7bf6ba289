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
# Any spelling: "x.h" or <x.h>, spaces or none, after a comment.
INCLUDE_RE = re.compile(r'#\s*include\s*["<]([^">]+)[">]')
COMMENT_RE = re.compile(r'/\*.*?\*/')


def layer_of(rel):
    """The layer of a path relative to the source tree (subfolders belong to their layer)."""
    best = None
    for i, d in enumerate(LAYERS):
        if rel == d or rel.startswith(d + "/"):
            if best is None or len(d) > len(LAYERS[best]):
                best = i
    return best


def sources(src):
    """Every file of every layer, subfolders included (.c, .h, .inc and the like)."""
    for i, d in enumerate(LAYERS):
        top = os.path.join(src, d)
        for root, dirs, files in os.walk(top):
            rel_root = os.path.relpath(root, src)
            # a deeper layer folder (core/engine under core/...) is its own layer
            dirs[:] = sorted(x for x in dirs if layer_of(os.path.join(rel_root, x)) == i
                             and not x.startswith("."))
            for name in sorted(files):
                if name.endswith((".c", ".h", ".inc", ".def")):
                    yield i, os.path.join(rel_root, name)


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
                m = INCLUDE_RE.search(COMMENT_RE.sub(" ", line))
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
        elif len(f) == 2 and f[0] in "Uwv":  # weak references are uses too
            undefined.add(f[1])
    return defined, undefined


def objects(src, bld, prefix):
    """(layer, source, object) of every object in BLD whose name starts with prefix."""
    out = []
    for i, d in enumerate(LAYERS):
        p = os.path.join(bld, d, ".libs")
        if not os.path.isdir(p):
            continue
        for name in sorted(os.listdir(p)):
            rel = os.path.join(d, name[len(prefix):-2] + ".c")
            # (an object whose source is gone is a stale product of an older layout)
            if name.startswith(prefix) and name.endswith(".o") and os.path.isfile(os.path.join(src, rel)):
                out.append((i, rel, os.path.join(p, name)))
    return out


def check_symbols(src, bld, prefix):
    objs = objects(src, bld, prefix)
    if not objs:
        return None
    owner = {}
    table = []
    # The shared library's own objects (the exported malloc family) define symbols too.
    for i, rel, obj in objs + objects(src, bld, "libhakmem_la-"):
        defined, undefined = nm(obj)
        if (i, rel, obj) in objs:
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


def check_deps(src, bld, prefix):
    """The headers each object was really compiled with (the compiler's dependency files,
    .deps/*.Plo): whatever the spelling or the macro, an included file of a higher layer is
    reported. None when the build has no dependency files (--disable-dependency-tracking)."""
    srcr = os.path.realpath(src)
    bad = []
    seen = 0
    for i, d in enumerate(LAYERS):
        p = os.path.join(bld, d, ".deps")
        if not os.path.isdir(p):
            continue
        for name in sorted(os.listdir(p)):
            if not (name.startswith(prefix) and name.endswith(".Plo")):
                continue
            rel = os.path.join(d, name[len(prefix):-4] + ".c")
            if not os.path.isfile(os.path.join(src, rel)):
                continue
            with open(os.path.join(p, name), encoding="utf-8") as f:
                text = f.read().replace("\\\n", " ")
            if ":" not in text:
                continue  # "# dummy": no dependency tracking
            seen += 1
            # target: prerequisites... (then one "header:" rule per header, skipped)
            paths = set(t for t in text.split(":", 1)[1].split() if not t.endswith(":"))
            for path in sorted(paths):
                full = os.path.realpath(path if os.path.isabs(path) else os.path.join(bld, path))
                if not full.startswith(srcr + "/"):
                    continue
                hrel = os.path.relpath(full, srcr)
                h = layer_of(hrel)
                if h is not None and h > i:
                    bad.append(f"{rel}: compiled with {hrel}, of a higher layer "
                               f"({LAYERS[h]} above {LAYERS[i]})")
    return bad if seen else None


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
        deps = check_deps(src, argv[2], prefix)
        if deps is None:
            print("layers.py: no dependency files (dependency tracking off): includes checked "
                  "from the sources only", file=sys.stderr)
        else:
            bad += deps
    for b in bad:
        print(b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
