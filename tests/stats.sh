#!/usr/bin/env bash
# stats.sh: hakmem's statistics as data, read with real parsers from real processes.
#  - tests/stats_prog runs a workload of known counts per class (main thread, and a second
#    thread whose cache is read while it lives) under LD_PRELOAD with HAKMEM_STATS=json; it
#    writes hak_stats_print_json before the workload, malloc_info after it, then mallinfo;
#  - the exit-time JSON (Python's json) and malloc_info's XML (xml.etree) must show, per
#    class, exactly the workload's allocations, frees and live bytes (deltas from the JSON
#    taken before), no other class moving; resident >= live everywhere; the mmap box's regions
#    and bytes; the routed calls of the path in force; mallinfo and mallinfo2 equal to the
#    XML's figures; in the legacy, central and differential modes (in a build without legacy/:
#    central, and central again with HAKMEM_USE_CENTRAL_ROUTER=0, which has no effect there);
#  - a 3 GiB region: mallinfo saturates at INT_MAX where mallinfo2 does not;
#  - HAKMEM_STATS values that are not 0, 1 or json: one warning naming the variable, no stats;
#  - the JSON is one line, and HAKMEM_STATS=json in a program that forks gives one per process.
set -uo pipefail
# shellcheck source=tests/checks.sh
. "$(dirname "$0")/checks.sh"
hk_scratch
prog=$bld/tests/stats_prog

# SIZE:N:F items (t: in the second thread): every box, sizes on and between class edges,
# a class fully freed, a thread's blocks kept live.
items=(16:1000:300 100:500:500 1024:64:0 1025:7:2 4096:40:10 40960:9:3 53248:2:0
    16384:20:5 8193:3:3 131072:6:2 1048577:3:1 2097152:2:1 4194304:3:1
    t:48:700:100 t:8192:30:0 t:65536:4:4 t:200:50:25)

check_run() { # MODE ENV...
    local mode=$1
    shift
    local d=$tmp/$mode
    mkdir -p "$d"
    timeout 120 env "$@" HAKMEM_STATS=json LD_PRELOAD="$lib" "$prog" "$d" "${items[@]}" \
        >"$d/out" 2>"$d/err"
    local rc=$?
    if [ "$rc" != 0 ]; then
        fail "$mode-run" "stats_prog ran ($mode)" "exit $rc" "$d/err"
        return
    fi
    python3 - "$d" "$mode" "${items[@]}" >"$d/check" 2>&1 <<'PY'
import json, sys, xml.etree.ElementTree as ET
d, mode, items = sys.argv[1], sys.argv[2], sys.argv[3:]
bad = []
def want(cond, what):
    if not cond:
        bad.append(what)

before = json.load(open(f"{d}/before.json"))
err = open(f"{d}/err").read().split("\n")
lines = [l for l in err if l.startswith('{"format": "hakmem-stats/1"')]
want(len(lines) == 1, f"one exit-time JSON line on stderr, got {len(lines)}")
after = json.loads(lines[-1])
out = open(f"{d}/out").read()
end = out.index("</malloc>") + len("</malloc>")
root = ET.fromstring(out[:end])
mi = {}
for l in out[end:].split("\n"):
    if l.startswith("mallinfo"):
        name, *fields = l.split()
        mi[name] = {k: int(v) for k, v in (f.split("=") for f in fields)}

# The box and class each request size goes to (the built-in table, malloc entry, README).
def box_of(size):
    if size <= 1024: return "tiny"
    if size <= 8192: return "pool"
    if size <= 32768: return "mid"
    if size <= 53248: return "pool"
    if size < 2097152: return "l25"
    return "mmap"
classes = {b: after["boxes"][b]["classes"] for b in ("tiny", "pool", "mid", "l25")}
def class_of(box, size):
    lo = 32769 if box == "pool" and size > 8192 else 0
    return min((c for c in classes[box] if c["size"] >= max(size, 1) and c["size"] >= lo),
               key=lambda c: c["size"])["class"]

exp = {}   # (box, class) -> [allocs, frees]
mm = [0, 0, 0]  # allocs, frees, live bytes
routed = 0
for it in items:
    size, n, f = (int(x) for x in it.split(":")[-3:])
    routed += n
    box = box_of(size)
    if box == "mmap":
        mm[0] += n; mm[1] += f
        m = ((size + 4095) // 4096) * 4096 + 4096  # whole pages + header page
        if m <= 16 << 20:  # a region the cache may keep: mapped at its class, a power of two
            m = 1 << (m - 1).bit_length()
        mm[2] += (n - f) * m
        continue
    k = (box, class_of(box, size))
    e = exp.setdefault(k, [0, 0])
    e[0] += n; e[1] += f

def by_class(doc):
    return {(b, c["class"]): c for b in classes for c in doc["boxes"][b]["classes"]}
B, A = by_class(before), by_class(after)
X = {}
for heap in root.findall("heap"):
    for s in heap.find("sizes").findall("size"):
        X[(heap.get("name"), int(s.get("class")))] = {k: int(v) for k, v in s.attrib.items()}

for k in A:
    n, f = exp.get(k, [0, 0])
    size = A[k]["size"]
    for src, doc in (("exit JSON", A[k]), ("malloc_info", X.get(k))):
        if doc is None:
            bad.append(f"{k}: missing from {src}"); continue
        da, df = doc["allocs"] - B[k]["allocs"], doc["frees"] - B[k]["frees"]
        want(da == n and df == f, f"{src} {k} size {size}: allocs +{da} frees +{df}, workload {n}/{f}")
        live = doc["live_bytes"] - B[k]["live_bytes"]
        want(live == (n - f) * size, f"{src} {k}: live bytes +{live}, workload {(n - f) * size}")
        res = doc.get("resident_bytes", doc.get("resident"))
        want(res >= doc["live_bytes"], f"{src} {k}: resident {res} < live {doc['live_bytes']}")
        want(res % 8192 == 0, f"{src} {k}: resident {res} is not whole pages")
    want(A[k]["live"] == A[k]["allocs"] - A[k]["frees"], f"{k}: live != allocs - frees")
    want(A[k]["free_blocks"] == X[k]["count"], f"{k}: free blocks JSON {A[k]['free_blocks']} XML {X[k]['count']}")

for b in classes:
    ab, bb = after["boxes"][b], before["boxes"][b]
    live = sum((exp.get((b, c["class"]), [0, 0])[0] - exp.get((b, c["class"]), [0, 0])[1]) * c["size"] for c in classes[b])
    want(ab["live_bytes"] - bb["live_bytes"] == live, f"box {b}: live bytes +{ab['live_bytes'] - bb['live_bytes']}, workload {live}")
    want(ab["resident_bytes"] >= ab["live_bytes"], f"box {b}: resident < live")
    want(ab["resident_bytes"] == sum(c["resident_bytes"] for c in ab["classes"]), f"box {b}: resident != sum of its classes")
    heap = [h for h in root.findall("heap") if h.get("name") == b][0]
    rest = heap.find("total[@type='rest']")
    want(int(rest.get("size")) == sum(int(s.get("total")) for s in heap.find("sizes")), f"heap {b}: rest != sum of sizes")
    cur = int(heap.find("system[@type='current']").get("size"))
    want(cur == ab["resident_bytes"], f"heap {b}: system current {cur} != JSON resident {ab['resident_bytes']}")
    want(int(heap.find("system[@type='max']").get("size")) >= cur, f"heap {b}: max < current")

m, mb = after["boxes"]["mmap"], before["boxes"]["mmap"]
want(m["allocs"] - mb["allocs"] == mm[0] and m["frees"] - mb["frees"] == mm[1],
     f"mmap box: allocs +{m['allocs'] - mb['allocs']} frees +{m['frees'] - mb['frees']}, workload {mm[0]}/{mm[1]}")
want(m["live_bytes"] - mb["live_bytes"] == mm[2], f"mmap box: live bytes +{m['live_bytes'] - mb['live_bytes']}, workload {mm[2]}")
xm = root.find("total[@type='mmap']")
want(int(xm.get("count")) == m["live"] and int(xm.get("size")) == m["live_bytes"], "malloc_info's mmap total != the exit JSON's")

path = "central" if mode.startswith("central") else "legacy"
other = "legacy" if path == "central" else "central"
dr = after["paths"][path]["routed"] - before["paths"][path]["routed"]
want(dr == routed, f"paths.{path}.routed +{dr}, workload {routed}")
want(after["paths"][other]["routed"] == before["paths"][other]["routed"], f"paths.{other} moved")
want(after["router"]["route_failures"] == 0 and after["enomem"] == 0, "failures or ENOMEM")

small_live = sum(after["boxes"][b]["live_bytes"] for b in classes)
for name in ("mallinfo", "mallinfo2"):
    v = mi.get(name, {})
    want(v.get("uordblks") == small_live, f"{name}.uordblks {v.get('uordblks')} != small boxes' live {small_live}")
    want(v.get("hblks") == m["live"] and v.get("hblkhd") == m["live_bytes"], f"{name}: mmap figures")
    want(v.get("arena") == after["page_heap"]["committed_bytes"], f"{name}.arena != committed")
    want(v.get("ordblks") == sum(c["free_blocks"] for b in classes for c in after["boxes"][b]["classes"]), f"{name}.ordblks != free blocks")
# Lock counts (README's "Scaling"): the page heap's lock is taken by every page taken or given
# back, a class's page list by each of its page takings; a wait is a taking.
L = after["locks"]
ph = after["page_heap"]
want(L["page_heap"]["taken"] >= ph["pages_taken"] + ph["pages_given_back"] > 0, f"locks.page_heap {L['page_heap']} against pages {ph['pages_taken']}+{ph['pages_given_back']}")
want(L["class_page_lists"]["taken"] >= ph["pages_taken"], f"locks.class_page_lists {L['class_page_lists']}")
want(all(0 <= l["waited"] <= l["taken"] for l in L.values()) and len(L) == 3, f"locks {L}")
want(root.tag == "malloc" and root.get("version") == "1" and root.get("allocator") == "hakmem", "malloc_info root")
want([h.get("name") for h in root.findall("heap")] == ["tiny", "pool", "mid", "l25"], "malloc_info heaps")
print("\n".join(bad) if bad else f"{len(A)} classes, {len(items)} workload items: all match")
sys.exit(1 if bad else 0)
PY
    if [ $? = 0 ]; then
        pass "$mode" "JSON and XML match the workload exactly per class ($(cat "$d/check"); $mode)"
    else
        fail "$mode" "JSON and XML match the workload ($mode)" "mismatches:" "$d/check"
    fi
}
check_run central HAKMEM_USE_CENTRAL_ROUTER=1
if hk_legacy_built; then
    check_run legacy HAKMEM_USE_CENTRAL_ROUTER=0
    check_run diff HAKMEM_ROUTER_DIFF=1 HAKMEM_USE_CENTRAL_ROUTER=0
else
    hk_left_out 2 # the legacy and differential modes
    check_run central-use0 HAKMEM_USE_CENTRAL_ROUTER=0 # the Central Router routes all the same
fi

# mallinfo saturates.
d=$tmp/sat
mkdir -p "$d"
timeout 60 env LD_PRELOAD="$lib" "$prog" "$d" 3221225472:1:0 >"$d/out" 2>"$d/err"
if grep -q '^mallinfo arena=.* hblkhd=2147483647 ' "$d/out" &&
    grep -Eq '^mallinfo2 .* hblkhd=3221[0-9]{6} ' "$d/out"; then
    pass saturate "a 3 GiB region: mallinfo.hblkhd saturates at INT_MAX, mallinfo2's does not"
else
    fail saturate "mallinfo saturates" "$(grep ^mallinfo "$d/out" | tr '\n' ' ')" "$d/err"
fi

# Bad values: one warning naming the variable, nothing printed at exit.
for v in 2 JSON yes "json " -1; do
    out=$(timeout 30 env HAKMEM_STATS="$v" LD_PRELOAD="$lib" true 2>&1)
    n=$(printf '%s\n' "$out" | grep -c 'hakmem: warning: HAKMEM_STATS=')
    if [ "$n" = 1 ] && printf '%s' "$out" | grep -q 'is not one of 0, 1, json' &&
        ! printf '%s' "$out" | grep -q 'hakmem stats\|hakmem-stats'; then
        pass "bad-value-${v// /_}" "HAKMEM_STATS='$v': one warning naming it, no statistics"
    else
        fail "bad-value-${v// /_}" "HAKMEM_STATS='$v' warned once" "$n warnings: $out"
    fi
done

# A program that forks: one JSON line per process, each parsable, each with its own pid.
timeout 60 env HAKMEM_STATS=json LD_PRELOAD="$lib" python3 -c '
import os
pid = os.fork()
if pid == 0:
    x = [bytes(100) for _ in range(1000)]
    raise SystemExit(0)
os.waitpid(pid, 0)' >/dev/null 2>"$tmp/fork.err"
n=$(python3 - "$tmp/fork.err" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{"format": "hakmem-stats/1"')]
# (python3 may be a wrapper script: only the interpreter's processes count)
print(len({d["pid"] for d in docs if "python" in d["program"].rsplit("/", 1)[-1]}))
PY
)
if [ "$n" = 2 ]; then
    pass fork "a process that forks: one JSON line for each process, each with its own pid"
else
    fail fork "one JSON line per process that exits" "$n distinct pids" "$tmp/fork.err"
fi
finish
