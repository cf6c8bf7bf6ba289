#!/usr/bin/env bash
# table.sh: the README's benchmark table, as Markdown, from a bench/compare.sh output
# directory (summary.csv and machine.txt; instructions.csv and footprint.md when the run made
# them), so that the numbers in the README are the runner's, never typed. Ratios are medians against glibc (ops/s: higher is faster; RSS: lower is leaner).
# Only a directory whose run completed (compare.sh writes OUT/complete last, and removes it
# and every other file of its own when it starts): an interrupted or running one is refused.
# A config that ran and failed every round shows FAILED, a missing peer "missing", a config
# that did not run "-".
# Usage: bench/table.sh [OUT_DIR]   (default: bench-out)
set -euo pipefail
out=${1:-bench-out}
if [ -f "$out/machine.txt" ] && [ ! -f "$out/complete" ]; then
    echo "table.sh: $out: its bench/compare.sh run did not complete (no $out/complete: interrupted, or still running); run it again" >&2
    exit 2
fi
if [ ! -f "$out/summary.csv" ] || [ ! -f "$out/complete" ]; then
    echo "table.sh: no $out/summary.csv or $out/complete (run bench/compare.sh first)" >&2
    exit 2
fi
date=$(sed -n 's/^date: *//p' "$out/machine.txt")
cmd=$(sed -n 's/^command: *//p' "$out/machine.txt")
host=$(sed -n 's/^host: *//p' "$out/machine.txt")
load=$(sed -n 's/^load average[^:]*: *//p' "$out/machine.txt")
echo "From \`$cmd\` on $date ($host; load average $load)."
failed=$(sed -n 's/^failed runs: *//p' "$out/complete")
[ "${failed:-0}" = 0 ] || echo "**$failed run(s) failed** (see \`runs.log\`): their configs' cells are FAILED or come from fewer rounds."
lack=$(sed -n 's/^missing peers: *//p' "$out/complete")
[ "${lack:-none}" = none ] || echo "**Missing peers: $lack** (not installed or not loadable): the targets against the peers are INCOMPLETE."
echo "Ratios of medians against glibc; the last two columns: the Central Router against the"
echo "fastest of jemalloc/mimalloc/tcmalloc, and its peak RSS against glibc's."
echo
echo "| workload | legacy | central | diff-1 | diff-100 | jemalloc | mimalloc | tcmalloc | central / best peer | central RSS |"
echo "|---|---|---|---|---|---|---|---|---|---|"
# workload,config,median_ops_s,ratio_vs_glibc,ratio_vs_best_peer,best_peer,median_peak_rss_kb,rss_ratio_vs_glibc,...
awk -F, -v wl="$(grep '^workload:' "$out/machine.txt" | sed 's/^workload: *//' | tr '\n' '|')" '
# an empty cell: FAILED (ran, no round succeeded), missing (a peer not installed), or - (not run)
function cell(k, x) {
    if (!(k in ok)) return "-"
    if (x != "") return sprintf("%.2f", x)
    return (runs[k] == 0) ? "missing" : (ok[k] == 0 ? "FAILED" : "-")
}
NR > 1 { g[$1 "," $2] = $4; p[$1 "," $2] = $5; r[$1 "," $2] = $8; ok[$1 "," $2] = $9; runs[$1 "," $2] = $10; seen[$1] = 1 }
END {
    n = split(wl, names, "|")
    for (i = 1; i <= n; i++) {
        if (names[i] == "") continue
        split(names[i], w, " ")
        k = w[1]
        sub(/:$/, "", k) # "label: program args"
        if (!(k in seen) || done[k]++) continue
        printf "| %s |", names[i]
        split("hakmem-legacy hakmem-central hakmem-diff1 hakmem-diffS jemalloc mimalloc tcmalloc", c, " ")
        for (j = 1; j <= 7; j++) printf " %s |", cell(k "," c[j], g[k "," c[j]])
        printf " %s | %s |\n", cell(k ",hakmem-central", p[k ",hakmem-central"]), cell(k ",hakmem-central", r[k ",hakmem-central"])
    }
}' "$out/summary.csv"
# The footprint table (bench/compare.sh's footprint.md), when the run made one.
if [ -s "$out/footprint.md" ]; then
    fp=$(sed -n 's/^== footprint \([a-z-]*\): env .* \(\/[^ ]*footprint\) \([0-9]*\) \([0-9]*\) -> exit 0$/\3 \4/p' "$out/runs.log" 2>/dev/null | head -n 1)
    echo
    echo "Footprint, from the same run (\`tests/footprint ${fp:-?}\` once per allocator: MiB of VmRSS; A-C as in the issue, D: everything freed, then light activity):"
    echo
    cat "$out/footprint.md"
fi
# The instruction counts (callgrind), when the run made them: per tiny pair, and per workload
# the whole program under each config as a ratio to central's.
if [ -s "$out/instructions.csv" ]; then
    echo
    echo "Instructions (callgrind, from the same run: exact on a shared machine). Per tiny malloc+free pair, inside malloc and free:"
    echo
    awk -F, '$1 == "tiny_pair" && $4 != "" { printf "%s%s %s", (n++ ? ", " : ""), $3, $4 } END { if (n) print "" }' "$out/instructions.csv"
    echo
    echo "Whole programs at the QUICK sizes: central's count, and every other config's as a ratio to it:"
    echo
    echo "| workload | central (M) | legacy | diff-1 | diff-100 | glibc | jemalloc | mimalloc | tcmalloc |"
    echo "|---|---|---|---|---|---|---|---|---|"
    awk -F, '$1 == "workload" { v[$2 "," $3] = $4; if (!($2 in seen)) { seen[$2] = 1; order[n++] = $2 } }
    END {
        split("hakmem-legacy hakmem-diff1 hakmem-diffS glibc jemalloc mimalloc tcmalloc", c, " ")
        for (i = 0; i < n; i++) {
            w = order[i]; base = v[w ",hakmem-central"]
            if (base == "") continue
            printf "| %s | %.2f |", w, base / 1e6
            for (j = 1; j <= 7; j++) {
                x = v[w "," c[j]]
                if (x == "") printf " - |"; else printf " %.3f |", x / base
            }
            printf "\n"
        }
    }' "$out/instructions.csv"
fi
# The issue's targets (targets.csv: per round, central's ops/s over the best peer's and over
# glibc's in the same round; the median of the rounds and their range), and, exact, central's
# instructions against the peer that executes the fewest (whole program, QUICK sizes).
if [ -s "$out/targets.csv" ]; then
    echo
    echo "Targets (\`targets.csv\`): per round, central's ops/s over the best peer's and over glibc's in the same round (the median of the rounds, their range); and central's instructions over the fewest peer's:"
    echo
    echo "| workload | best peer | central / best peer | verdict | central / glibc | verdict | instructions / fewest peer's | verdict |"
    echo "|---|---|---|---|---|---|---|---|"
    awk -F, 'FNR == 1 { f++; next }
    f == 1 && $2 == "hakmem-central" { peer[$1] = $6 }
    f == 2 {
        if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 }
        cell = ($3 == "") ? "n/a" : sprintf("%.2f (%.2f-%.2f)", $3, $4, $5)
        if ($2 == "central >= 1.00x best peer (ops/s)") { bp[$1] = cell; bv[$1] = $8 }
        else if ($2 == "central > 1.00x glibc (ops/s)") { gl[$1] = cell; gv[$1] = $8 }
        else if (index($2, "central instructions <= fewest peer") == 1) {
            fp = $2; sub(/.*\(/, "", fp); sub(/;.*/, "", fp)
            ins[$1] = ($3 == "") ? sprintf("n/a (%s)", fp) : sprintf("%.3f (%s)", $3, fp); iv[$1] = $8
        }
    }
    END {
        for (i = 0; i < n; i++) {
            w = order[i]
            if (!(w in bp)) continue
            printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", w, peer[w], bp[w], bv[w],
                (w in gl) ? gl[w] : "-", (w in gv) ? gv[w] : "-", (w in ins) ? ins[w] : "-", (w in iv) ? iv[w] : "-"
        }
    }' "$out/summary.csv" "$out/targets.csv"
fi
