#!/usr/bin/env bash
# delay.sh: the benchmark workloads under several HAKMEM_PURGE_DELAY_MS values (Central
# Router), in interleaved rounds (every workload under every delay once per round), with the
# median ops/s, its ratio to the first delay's, the median peak RSS and page faults per
# (workload, delay). How the default purge delay was chosen (README, "Memory").
# Usage: bench/delay.sh BUILD_DIR   (BUILD_DIR holds .libs/libhakmem.so and bench/: make bench)
# Environment: ROUNDS=N (default 7), DELAYS="10 100 1000" (ms; -1 never, 0 at once).
set -uo pipefail
export LC_ALL=C
[ "$#" -eq 1 ] && [ -d "$1" ] || { echo "usage: bench/delay.sh BUILD_DIR  (env: ROUNDS=7 DELAYS=\"10 100 1000\")" >&2; exit 2; }
build=$(cd "$1" && pwd)
lib=$build/.libs/libhakmem.so
rounds=${ROUNDS:-7}
read -r -a delays <<<"${DELAYS:-10 100 1000}"
[ -f "$lib" ] || { echo "delay.sh: $lib not found (make)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "delay.sh: needs GNU time (/usr/bin/time)" >&2; exit 2; }
unset LD_PRELOAD
while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(HAKMEM_[A-Za-z0-9_]*\)=.*/\1/p')
ws=("bench_mid_large_mt 2 600000 256 42" "bench_mid_large_mt 4 300000 2048 42"
    "bench_larson 2 3000000 16 1024 1000 42"
    "bench_prodcons 2 1000000 50 42" "bench_realloc 80 1048576 42" "bench_mixed 2 400000 42")
for w in "${ws[@]}"; do
    [ -x "$build/bench/${w%% *}" ] || { echo "delay.sh: $build/bench/${w%% *} not found (make bench)" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-delay.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
: >"$tmp/runs.csv"
for ((r = 1; r <= rounds; r++)); do
    for w in "${ws[@]}"; do
        for d in "${delays[@]}"; do
            # shellcheck disable=SC2086
            out=$( { /usr/bin/time -f "rss=%M faults=%R" env LD_PRELOAD="$lib" HAKMEM_USE_CENTRAL_ROUTER=1 \
                HAKMEM_PURGE_DELAY_MS="$d" "$build/bench/"$w; } 2>&1) || { echo "delay.sh: $w (delay $d) failed" >&2; exit 1; }
            ops=$(sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p' <<<"$out" | head -n 1)
            rss=$(sed -n 's/^rss=\([0-9]*\) .*/\1/p' <<<"$out" | tail -n 1)
            flt=$(sed -n 's/.* faults=\([0-9]*\)$/\1/p' <<<"$out" | tail -n 1)
            echo "${w// /_},$d,$ops,$rss,$flt" >>"$tmp/runs.csv"
        done
    done
done
printf '%-38s %8s %14s %9s %12s %10s\n' workload delay_ms "ops/s" "x first" "peak RSS KB" faults
awk -F, -v order="${delays[*]}" '
    function med(s,   a, n, i, j, t) { n = split(s, a, " "); for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > t + 0; j--) a[j + 1] = a[j]; a[j + 1] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    { k = $1 "|" $2; o[k] = o[k] " " $3; r[k] = r[k] " " $4; f[k] = f[k] " " $5; if (!($1 in seen)) { seen[$1] = 1; wl[++nw] = $1 } }
    END { nd = split(order, D, " ")
        for (i = 1; i <= nw; i++) { base = med(o[wl[i] "|" D[1]])
            for (j = 1; j <= nd; j++) { k = wl[i] "|" D[j]
                printf "%-38s %8s %14.0f %9.3f %12.0f %10.0f\n", wl[i], D[j], med(o[k]), med(o[k]) / base, med(r[k]), med(f[k]) } } }' "$tmp/runs.csv"
echo "medians of $rounds interleaved round(s); $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
