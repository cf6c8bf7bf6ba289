#!/usr/bin/env bash
# locks.sh: the block engine's shared locks under the remote-free thread sweep (README's
# "Scaling"): per thread count, how often each kind of lock was taken and waited for
# (HAKMEM_STATS=json's "locks"), per 1000 frees by another thread.
# Usage: bench/locks.sh BUILD_DIR [THREADS...]   (default threads: 1 2 4 8 16 32)
#   ITER=N total iterations over all threads (default 3000000); REMOTE=% (default 90);
#   MODE=central|legacy (default central).
set -euo pipefail
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 BUILD_DIR [THREADS...]" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
threads=("$@")
[ ${#threads[@]} -gt 0 ] || threads=(1 2 4 8 16 32)
iter=${ITER:-3000000} remote=${REMOTE:-90}
central=1
[ "${MODE:-central}" = legacy ] && central=0
printf '%-4s %10s | %-25s | %-25s | %-25s\n' T "remote" "transfer caches" "class page lists" "page heap"
printf '%-4s %10s | %-25s | %-25s | %-25s\n' "" "frees" "taken (/1k) waited" "taken (/1k) waited" "taken (/1k) waited"
for t in "${threads[@]}"; do
    out=$(HAKMEM_STATS=json HAKMEM_USE_CENTRAL_ROUTER=$central LD_PRELOAD="$build/.libs/libhakmem.so" \
        "$build/bench/bench_remote" "$t" $((iter / t)) 256 16 1024 "$remote" 42 2>&1)
    rem=$(sed -n 's/.* remote=\([0-9]*\).*/\1/p' <<<"$out")
    grep '^{"format": "hakmem-stats/1"' <<<"$out" | python3 -c '
import json, sys
t, rem = sys.argv[1], int(sys.argv[2])
L = json.loads(sys.stdin.readline())["locks"]
cells = []
for k in ("transfer_caches", "class_page_lists", "page_heap"):
    l = L[k]
    cells.append("%9d (%6.2f) %7d" % (l["taken"], 1000.0 * l["taken"] / max(rem, 1), l["waited"]))
print("%-4s %10d | %s" % (t, rem, " | ".join(cells)))' "$t" "$rem"
done
echo "command: bench/locks.sh $build ${threads[*]} (ITER=$iter REMOTE=$remote MODE=${MODE:-central}; bench_remote T ITER/T 256 16 1024 $remote 42)"
