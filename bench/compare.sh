#!/usr/bin/env bash
# compare.sh: every benchmark workload under hakmem's routing modes and the peer allocators,
# in interleaved rounds, with medians, ratios, the migration targets (PASS/MISS), CSV files
# and an SVG chart. (`make bench-compare` runs it on the build tree.)
#
# Usage: bench/compare.sh BUILD_DIR
#   BUILD_DIR holds .libs/libhakmem.so and the bench/ programs (`make bench`).
# Environment:
#   ROUNDS=N        rounds (default 5; at least 1). Each round runs every config of every
#                   workload once; the config order rotates by one from round to round.
#   QUICK=1         smoke run: 1 round (unless ROUNDS is set), tiny sizes (about two minutes
#                   of CPU with INSTR=0 on a 2-core machine: mostly the real programs).
#   WORKLOADS=a,b   only these workloads (names as in the table, e.g. bench_larson).
#   OUT=DIR         output directory (default: ./bench-out).
#   STRICT=1        exit 1 when a target is MISS or INCOMPLETE too (default: only failed runs
#                   fail).
#   TIMEOUT=S       per-run timeout in seconds (default 300; 60 with QUICK=1), every run
#                   (glibc's reference runs of the real programs and callgrind's too).
#   CONFIGS=a,b     only these configs (names below; default: all).
#   BASELINE=SO     another build's libhakmem.so as config hakmem-base (central mode), for
#                   before/after comparisons in one interleaved run: adds the targets
#                   "central >= 0.97x base (ops/s)" and "central peak RSS <= base's".
#   INSTR=0         skip the instruction counts (callgrind: instructions per tiny malloc+free
#                   pair against the peers, and the differential mode's cost per workload;
#                   with QUICK=1 only bench_tiny_hot and bench_mid_large_mt's).
#   FOOTPRINT=0     skip the footprint table (tests/footprint under every allocator once;
#                   FOOTPRINT_SCALE=MiB, default 1024, 32 with QUICK=1; its waits: 1 s, 0.1 s
#                   with QUICK=1).
# Configs:
#   hakmem-legacy   LD_PRELOAD=libhakmem.so HAKMEM_USE_CENTRAL_ROUTER=0
#   hakmem-central  LD_PRELOAD=libhakmem.so HAKMEM_USE_CENTRAL_ROUTER=1
#   hakmem-diff1    central + HAKMEM_ROUTER_DIFF=1
#   hakmem-diffS    central + HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=100
#   glibc           no preload
#   jemalloc, mimalloc, tcmalloc   LD_PRELOAD of libjemalloc.so.2, libmimalloc.so.2,
#                   libtcmalloc_minimal.so.4 (found with ldconfig -p, then dpkg -L); a peer
#                   that is not installed is reported as missing, never silently dropped.
#   hakmem-base     LD_PRELOAD=$BASELINE HAKMEM_USE_CENTRAL_ROUTER=1 (only with BASELINE)
# Workloads: the bench/ programs in the shapes listed under "workloads" below (threads as _tN),
# and real programs (bench/real.sh: python3, sqlite3, gcc -O2, sort; their wall time as runs
# per second, their output checked identical to glibc's, or the run fails).
# Every program prints "ops/s=N" and exits non-zero on a corrupted block or a failed
# allocation; peak RSS is GNU time's %M (KiB; or os.wait4's ru_maxrss through python3 when
# /usr/bin/time is missing).
# Output (OUT): results.csv (round,workload,config,ops_s,rss_kb; one row per run, ops_s empty
# for a failed run), summary.csv (medians and ratios), targets.csv (every target with its
# verdict), machine.txt, runs.log (each run's command, exit status and output), chart.svg,
# footprint.csv (config,measurement,KiB) and footprint.md (the README's footprint table),
# instructions.csv (tiny_pair,config,instructions per pair; workload,name,config,instructions),
# complete (written last).
# A run fails when it exits non-zero, is killed by a signal, times out, prints no ops/s, when
# the dynamic loader says it could not preload a library (it would have measured another
# allocator), or when a real program's output differs from glibc's; under callgrind as well
# (no count from it). hakmem's library and BASELINE must load and be hakmem (HAKMEM_STATS=1
# prints "hakmem stats"); they are reached through links in the temporary directory, so a
# build path with spaces or colons works.
# Verdicts: PASS, MISS (missed, or no data), INCOMPLETE (fewer rounds or counts than needed
# because runs failed, or a peer or valgrind missing: the note in targets.csv says which).
# OUT: the files above are removed at start (a link or a non-regular file in their place stops
# the run), and OUT/complete is written at the end; bench/table.sh refuses an OUT without it.
# Exit status: 0; 1 if any run failed (or, with STRICT=1, a target was not PASS); 2 usage, an
# unusable OUT, TMPDIR or library.
set -uo pipefail
export LC_ALL=C

if [ "$#" -ne 1 ] || [ ! -d "$1" ]; then
    echo "usage: bench/compare.sh BUILD_DIR   (env: ROUNDS=5 QUICK=0 WORKLOADS= OUT=bench-out STRICT=0)" >&2
    exit 2
fi
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
quick=${QUICK:-0}
# a positive decimal integer (leading zeros are decimal, not octal), or exit 2 naming NAME
posint() { # NAME VALUE -> the number on stdout
    case $2 in '' | *[!0-9]*) echo "compare.sh: $1=$2: must be a positive integer" >&2; return 2 ;; esac
    if [ "${#2}" -gt 9 ] || [ $((10#$2)) = 0 ]; then
        echo "compare.sh: $1=$2: must be a positive integer below 10^9" >&2
        return 2
    fi
    echo $((10#$2))
}
if [ "$quick" = 1 ]; then rounds=${ROUNDS:-1}; else rounds=${ROUNDS:-5}; fi
rounds=$(posint ROUNDS "$rounds") || exit 2
if [ "$quick" = 1 ]; then tmo=${TIMEOUT:-60}; else tmo=${TIMEOUT:-300}; fi
# seconds as timeout(1) takes them (a decimal number above 0)
if ! [[ $tmo =~ ^[0-9]+(\.[0-9]+)?$ ]] || ! awk -v t="$tmo" 'BEGIN {exit !(t > 0)}'; then
    echo "compare.sh: TIMEOUT=$tmo: must be a number of seconds above 0" >&2
    exit 2
fi
[ -z "${FOOTPRINT_SCALE:-}" ] || FOOTPRINT_SCALE=$(posint FOOTPRINT_SCALE "$FOOTPRINT_SCALE") || exit 2
out=${OUT:-bench-out}
strict=${STRICT:-0}
cmdline="$(printf '%q ' "$0" "$@")(ROUNDS=$rounds QUICK=$quick${WORKLOADS:+ WORKLOADS=$WORKLOADS}${CONFIGS:+ CONFIGS=$CONFIGS}${BASELINE:+ BASELINE=$BASELINE}${FOOTPRINT:+ FOOTPRINT=$FOOTPRINT}${INSTR:+ INSTR=$INSTR}${TIMEOUT:+ TIMEOUT=$TIMEOUT}${OUT:+ OUT=$OUT}${STRICT:+ STRICT=$STRICT})"

# Nothing inherited may change a config: each config sets exactly its own variables.
# shellcheck source=bench/peers.sh
. "$here/peers.sh"
clear_alloc_env

hakmem_file=$build/.libs/libhakmem.so
if [ ! -f "$hakmem_file" ]; then
    echo "compare.sh: $hakmem_file not found (build first: make && make bench)" >&2
    exit 2
fi

# --- the output directory: every file this run writes is removed first (a file of an earlier
# run must not pass for this one's), none is a link or anything but a regular file (it would
# be written through), and "complete" is written last (bench/table.sh requires it) ----------
if ! mkdir -p -- "$out" 2>/dev/null || ! out=$(cd "$out" && pwd); then
    echo "compare.sh: OUT=$out: cannot create the directory" >&2
    exit 2
fi
owned=(complete machine.txt results.csv runs.log summary.csv targets.csv chart.svg footprint.csv footprint.md instructions.csv)
for f in "${owned[@]}"; do
    if [ -L "$out/$f" ] || { [ -e "$out/$f" ] && [ ! -f "$out/$f" ]; }; then
        echo "compare.sh: $out/$f is a link or not a regular file: not replaced (remove it, or choose another OUT)" >&2
        exit 2
    fi
done
if [ ! -w "$out" ] || ! rm -f -- "${owned[@]/#/$out/}" 2>/dev/null || ! : 2>/dev/null >"$out/runs.log"; then
    echo "compare.sh: OUT=$out is not writable" >&2
    exit 2
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-compare.XXXXXX" 2>/dev/null) || {
    echo "compare.sh: cannot create a temporary directory in ${TMPDIR:-/tmp} (TMPDIR)" >&2
    exit 2
}
trap 'rm -rf "$tmp"' EXIT
# LD_PRELOAD splits on spaces and colons: the library is reached through a link in $tmp; it
# must load and be hakmem (a library the loader skips would leave glibc measured as hakmem)
hakmem=$(preload_link "$tmp" "$hakmem_file" libhakmem.so) || { echo "compare.sh: $hakmem" >&2; exit 2; }
why=$(hakmem_probe "$hakmem") || { echo "compare.sh: $hakmem_file is not a hakmem library that loads: $why" >&2; exit 2; }

# --- workloads: label, program, arguments (normal run ~0.3-1 s under glibc on 2 cores; QUICK:
# tiny) ------------------------------------------------------------------------------------------
# A label is the program's name for its first shape, else the program's shape (threads as _tN).
# Programs named real:NAME are real programs run by bench/real.sh (ops/s = runs per second, so
# higher is faster; their output must equal glibc's).
PROFILE_80_15_4_1="80:16-1024,15:1025-32768,4:32769-1048576,1:2097152-4194304"
wl_table() { # QUICK -> lines "label|program|arguments"
    local q=$1 s=1
    [ "$q" = 1 ] && s=0
    # name                  program              normal arguments              quick arguments
    while read -r label prog normal quick; do
        [ -z "$label" ] && continue
        if [ "$s" = 1 ]; then printf '%s|%s|%s\n' "$label" "$prog" "${normal//_/ }"; else printf '%s|%s|%s\n' "$label" "$prog" "${quick//_/ }"; fi
    done <<EOT
bench_mid_large_mt     bench_mid_large_mt  2_600000_256_42            2_20000_256_42
bench_mid_large_mt_t1  bench_mid_large_mt  1_1000000_256_42           1_20000_256_42
bench_mid_large_mt_t4  bench_mid_large_mt  4_300000_2048_42           4_10000_2048_42
bench_random_mixed     bench_random_mixed  15000000_256_42            200000_256_42
bench_tiny_hot         bench_tiny_hot      32_30000000                32_500000
bench_larson           bench_larson        2_3000000_16_1024_1000_42  2_50000_16_1024_1000_42
bench_prodcons         bench_prodcons      2_1000000_50_42            2_20000_50_42
bench_realloc          bench_realloc       80_1048576_42              3_1048576_42
bench_mixed            bench_mixed         2_400000_42                2_10000_42
sizes_1k_32k_t2        bench_mixed         2_1000000_42_256_1:1024-32768   2_20000_42_256_1:1024-32768
mixed_80_15_4_1_t2     bench_mixed         2_150000_42_256_$PROFILE_80_15_4_1   2_4000_42_256_$PROFILE_80_15_4_1
remote_tiny_50_t2      bench_remote        2_2000000_256_16_1024_50_42      2_40000_256_16_1024_50_42
remote_90_t1           bench_remote        1_3000000_256_16_1024_90_42      1_40000_256_16_1024_90_42
remote_90_t2           bench_remote        2_1500000_256_16_1024_90_42      2_20000_256_16_1024_90_42
remote_90_t4           bench_remote        4_750000_256_16_1024_90_42       4_10000_256_16_1024_90_42
remote_90_t8           bench_remote        8_375000_256_16_1024_90_42       8_5000_256_16_1024_90_42
remote_90_t16          bench_remote        16_187500_256_16_1024_90_42      16_2500_256_16_1024_90_42
remote_90_t32          bench_remote        32_93750_256_16_1024_90_42       32_1250_256_16_1024_90_42
real_python3           real:python3        full                       quick
real_sqlite3           real:sqlite3        full                       quick
real_gcc               real:gcc            full                       quick
real_sort              real:sort           full                       quick
EOT
}
wl_names=() wl_progs=() wl_args=()
while IFS='|' read -r l p a; do
    wl_names+=("$l") wl_progs+=("$p") wl_args+=("$a")
done < <(wl_table "$quick")
if [ -n "${WORKLOADS:-}" ]; then
    sel_n=() sel_p=() sel_a=()
    IFS=, read -r -a want <<<"$WORKLOADS"
    declare -A wl_seen=()
    for w in "${want[@]}"; do
        [ -n "$w" ] || { echo "compare.sh: an empty workload name in WORKLOADS='$WORKLOADS'" >&2; exit 2; }
        [ -z "${wl_seen[$w]:-}" ] || continue # named twice: run once
        wl_seen[$w]=1
        found=0
        for i in "${!wl_names[@]}"; do
            if [ "${wl_names[$i]}" = "$w" ]; then
                sel_n+=("$w") sel_p+=("${wl_progs[$i]}") sel_a+=("${wl_args[$i]}") found=1
            fi
        done
        [ "$found" = 1 ] || { echo "compare.sh: unknown workload '$w' (known: ${wl_names[*]})" >&2; exit 2; }
    done
    wl_names=("${sel_n[@]}") wl_progs=("${sel_p[@]}") wl_args=("${sel_a[@]}")
fi
for i in "${!wl_names[@]}"; do
    p=${wl_progs[$i]}
    case $p in
    real:*)
        n=${p#real:}
        case $n in python3) c=python3 ;; *) c=$n ;; esac
        command -v "$c" >/dev/null 2>&1 || { echo "compare.sh: ${wl_names[$i]}: $c not found (tools/deps.sh installs it)" >&2; exit 2; }
        ;;
    *)
        if [ ! -x "$build/bench/$p" ]; then
            echo "compare.sh: $build/bench/$p not found (build it: make bench)" >&2
            exit 2
        fi
        ;;
    esac
done
# The command line of workload INDEX under a config's environment ENV (words), in array cmd.
wl_cmd() { # INDEX ENV...
    local i=$1
    shift
    local p=${wl_progs[$i]}
    case $p in
    real:*) cmd=(bash "$here/real.sh" "${p#real:}" "$realdir" ${wl_args[$i]} "$@") ;;
    *) cmd=(env "$@" "$build/bench/$p" ${wl_args[$i]}) ;;
    esac
}
wl_show() { # INDEX -> how the README names the workload
    local i=$1 p=${wl_progs[$i]}
    case $p in
    real:*) printf '%s' "${wl_names[$i]}" ;;
    *) if [ "${wl_names[$i]}" = "$p" ]; then printf '%s %s' "$p" "${wl_args[$i]}"; else printf '%s: %s %s' "${wl_names[$i]}" "$p" "${wl_args[$i]}"; fi ;;
    esac
}

# --- configs ---------------------------------------------------------------------------------
cfg_names=(hakmem-legacy hakmem-central hakmem-diff1 hakmem-diffS glibc jemalloc mimalloc tcmalloc)
cfg_env=("LD_PRELOAD=$hakmem HAKMEM_USE_CENTRAL_ROUTER=0"
    "LD_PRELOAD=$hakmem HAKMEM_USE_CENTRAL_ROUTER=1"
    "LD_PRELOAD=$hakmem HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1"
    "LD_PRELOAD=$hakmem HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=100"
    "" "" "" "")
declare -A missing=()
peer_so=([5]=libjemalloc.so.2 [6]=libmimalloc.so.2 [7]=libtcmalloc_minimal.so.4)
peer_pkg=([5]=libjemalloc2 [6]=libmimalloc2.0 [7]=libtcmalloc-minimal4)
for i in 5 6 7; do
    if p=$(peer_lib "${peer_so[$i]}" "${peer_pkg[$i]}"); then
        cfg_env[i]="LD_PRELOAD=$p"
    else
        missing[${cfg_names[$i]}]=$p
    fi
done
active=()
if [ -n "${BASELINE:-}" ]; then
    if [ ! -f "$BASELINE" ]; then
        echo "compare.sh: BASELINE=$BASELINE not found" >&2
        exit 2
    fi
    base=$(preload_link "$tmp" "$BASELINE" libbase.so) || { echo "compare.sh: $base" >&2; exit 2; }
    why=$(hakmem_probe "$base") || { echo "compare.sh: BASELINE=$BASELINE is not a hakmem library that loads: $why" >&2; exit 2; }
    base_file=$(cd "$(dirname "$BASELINE")" && pwd)/$(basename "$BASELINE")
    cfg_names+=(hakmem-base)
    cfg_env+=("LD_PRELOAD=$base HAKMEM_USE_CENTRAL_ROUTER=1")
fi
declare -A selected=()
if [ -n "${CONFIGS:-}" ]; then
    IFS=, read -r -a want_cfg <<<"$CONFIGS"
    for c in "${want_cfg[@]}"; do
        found=0
        for n in "${cfg_names[@]}"; do [ "$n" = "$c" ] && found=1; done
        [ "$found" = 1 ] || { echo "compare.sh: unknown config '$c' (known: ${cfg_names[*]})" >&2; exit 2; }
        selected[$c]=1
    done
else
    for n in "${cfg_names[@]}"; do selected[$n]=1; done
fi
for i in "${!cfg_names[@]}"; do
    [ -z "${missing[${cfg_names[$i]}]:-}" ] && [ -n "${selected[${cfg_names[$i]}]:-}" ] && active+=("$i")
done
is_active() { local i; for i in "${active[@]}"; do [ "${cfg_names[$i]}" = "$1" ] && return 0; done; return 1; }
# the peers that were asked for but are not installed or do not load: the targets against the
# best (or leanest, fewest) peer are INCOMPLETE then, never a verdict against fewer peers
lackpeers=""
for c in jemalloc mimalloc tcmalloc; do
    [ -n "${selected[$c]:-}" ] && [ -n "${missing[$c]:-}" ] && lackpeers+="${lackpeers:+ }$c"
done
apeers="" # the peers that run
for c in jemalloc mimalloc tcmalloc; do is_active $c && apeers+="${apeers:+ }$c"; done
# a config's environment as the reader should see it: the libraries' own paths, not the links
show_env() {
    local e=${1//$tmp\/libhakmem.so/$hakmem_file}
    [ -z "${base_file:-}" ] || e=${e//$tmp\/libbase.so/$base_file}
    printf '%s' "$e"
}

# --- peak RSS: GNU time, or python3's os.wait4 -----------------------------------------------
if [ -x /usr/bin/time ] && /usr/bin/time -f %M -o /dev/null true 2>/dev/null; then
    rss_tool="GNU time -f %M"
    measure() { # RSSFILE CMD... (stdout/stderr of CMD pass through)
        local f=$1; shift
        /usr/bin/time -f %M -o "$f" "$@"
    }
elif command -v python3 >/dev/null 2>&1; then
    rss_tool="python3 os.wait4 ru_maxrss"
    measure() {
        local f=$1; shift
        python3 -c 'import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, st, ru = os.wait4(pid, 0)
open(sys.argv[1], "w").write("%d\n" % ru.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(st) & 255)' "$f" "$@"
    }
else
    rss_tool="none (no /usr/bin/time and no python3: RSS not recorded)"
    measure() { local f=$1; shift; : >"$f"; "$@"; }
fi

# --- machine ---------------------------------------------------------------------------------
cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)
{
    echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "host:    nproc=$(nproc), CPU: ${cpu:-unknown} ($(uname -m)), kernel $(uname -sr)"
    echo "libc:    $(ldd --version 2>/dev/null | head -n 1)"
    echo "command: $cmdline"
    echo "build:   $build (libhakmem: $hakmem_file)"
    echo "rounds:  $rounds (interleaved: every config once per round, order rotated each round), medians"
    echo "rss:     peak RSS by $rss_tool"
    for i in "${!cfg_names[@]}"; do
        n=${cfg_names[$i]}
        [ -n "${selected[$n]:-}" ] || continue # not asked for (CONFIGS)
        if [ -n "${missing[$n]:-}" ]; then
            printf 'config:  %-15s MISSING: %s\n' "$n" "${missing[$n]}"
        else
            printf 'config:  %-15s %s\n' "$n" "$(show_env "${cfg_env[$i]:-(system allocator, no preload)}")"
        fi
    done
    for i in "${!wl_names[@]}"; do printf 'workload: %s\n' "$(wl_show "$i")"; done
} >"$out/machine.txt"
cat "$out/machine.txt"
echo

# --- the runs --------------------------------------------------------------------------------
echo "round,workload,config,ops_s,rss_kb" >"$out/results.csv"
# errtail FILE: ": " and the first two lines of a failed run's standard error (not valgrind's
# own), or nothing
errtail() {
    local t
    t=$(grep -v -e '^==[0-9]*==' -e '^Command ' "$1" 2>/dev/null | head -n 2 | tr '\n' ' ')
    [ -z "$t" ] || printf ': %s' "$t"
}
# The real programs: their inputs, and glibc's output, which every other config must give.
realdir=$tmp/real
declare -A real_ref=()
nfailed=0
for wi in "${!wl_names[@]}"; do
    case ${wl_progs[$wi]} in real:*) ;; *) continue ;; esac
    w=${wl_names[$wi]}
    wl_cmd "$wi"
    rc=0
    { timeout -k 5 "$tmo" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null; } 2>/dev/null || rc=$?
    if [ "$rc" = 0 ]; then
        real_ref[$w]=$(sed -n 's/.* output=\([0-9a-f]*\).*/\1/p' "$tmp/out")
        echo "reference output of $w under glibc: ${real_ref[$w]}"
    else
        nfailed=$((nfailed + 1))
        echo "FAILED RUN: $w under glibc (its reference output): $(exit_why "$rc" "$tmo")$(errtail "$tmp/err")"
    fi
done
trap 'exit 130' INT TERM
cpu_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9; exit}' /proc/stat 2>/dev/null; }
read -r tick0 steal0 < <(cpu_ticks) || true
load0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
declare -A ops=() rss=()
nact=${#active[@]}
for ((r = 1; r <= rounds; r++)); do
    printf 'round %d/%d:' "$r" "$rounds"
    for wi in "${!wl_names[@]}"; do
        w=${wl_names[$wi]}
        for ((j = 0; j < nact; j++)); do
            ci=${active[$(((j + r - 1) % nact))]}
            c=${cfg_names[$ci]}
            # shellcheck disable=SC2086
            wl_cmd "$wi" ${cfg_env[$ci]}
            measure "$tmp/rss" timeout -k 5 "$tmo" "${cmd[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
            rc=$?
            v=$(sed -n 's/.*ops\/s=\([0-9][0-9.]*\).*/\1/p' "$tmp/out" | head -n 1)
            m=$(grep -E '^[0-9]+$' "$tmp/rss" 2>/dev/null | tail -n 1)
            why=$(exit_why "$rc" "$tmo")
            {
                echo "== round $r $w $c: $(show_env "${cmd[*]}") -> $why"
                cat "$tmp/out" "$tmp/err"
            } >>"$out/runs.log"
            # the loader skipped a preloaded library: the run measured another allocator
            if [ "$rc" = 0 ] && preload_failed "$tmp/err"; then
                why="a library was not preloaded"
                grep -h 'ld\.so: ' "$tmp/err" | head -n 1 >"$tmp/why" && mv "$tmp/why" "$tmp/err"
                echo "== $why" >>"$out/runs.log"
                rc=98
            fi
            # a real program's output must be glibc's
            d=$(sed -n 's/.* output=\([0-9a-f]*\).*/\1/p' "$tmp/out" | head -n 1)
            if [ "$rc" = 0 ] && [ -n "$d" ] && [ "$d" != "${real_ref[$w]:-}" ]; then
                why="output $d differs from glibc's ${real_ref[$w]:-(none)}"
                : >"$tmp/err"
                echo "== output differs from glibc's (${real_ref[$w]:-none})" >>"$out/runs.log"
                rc=99
            fi
            [ "$rc" = 0 ] && [ -z "$v" ] && why="no ops/s in its output"
            if [ "$rc" != 0 ] || [ -z "$v" ]; then
                nfailed=$((nfailed + 1))
                echo
                echo "FAILED RUN: round $r $w $c: $why$(errtail "$tmp/err")"
                v=""
            else
                ops["$w|$c"]+="$v "
                [ -n "$m" ] && rss["$w|$c"]+="$m "
            fi
            echo "$r,$w,$c,$v,$m" >>"$out/results.csv"
        done
        printf ' %s' "${w#bench_}"
    done
    echo
done
echo

read -r tick1 steal1 < <(cpu_ticks) || true
steal=$(awk -v a="${tick0:-}" -v b="${tick1:-}" -v x="${steal0:-}" -v y="${steal1:-}" \
    'BEGIN {if (a == "" || b == "" || b - a <= 0) print "unknown"; else printf "%.1f %% of CPU time\n", 100 * (y - x) / (b - a)}')
load1=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
echo "cpu steal: $steal" >>"$out/machine.txt"
echo "load average (1/5/15 min): before the runs ${load0:-unknown}, after ${load1:-unknown}" >>"$out/machine.txt"

# --- medians, ratios, table ------------------------------------------------------------------
# (ops/s below 1000 keep four decimals: the real programs' runs per second)
median() { [ -n "$1" ] && printf '%s\n' $1 | sort -g | awk '{v[NR]=$1} END {m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf (m < 1000 ? "%.4f" : "%.0f"), m}'; }
# spread VALUES: (max - min) / median over the rounds, in %
spread() { [ -n "$1" ] && printf '%s\n' $1 | sort -g | awk '{v[NR]=$1} END {m = (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; if (m > 0) printf "%.0f%%", 100 * (v[NR] - v[1]) / m}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "" || b == "" || b + 0 == 0) print ""; else printf "%.4f", a/b}'; }
fmt() { [ -n "$1" ] && printf '%.2fx' "$1" || printf 'n/a'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "" && a + 0 >= b + 0)}'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN {exit !(a != "" && a + 0 <= b + 0)}'; }

echo "workload,config,median_ops_s,ratio_vs_glibc,ratio_vs_best_peer,best_peer,median_peak_rss_kb,rss_ratio_vs_glibc,runs_ok,runs" >"$out/summary.csv"
echo "workload,target,median_paired_ratio,min,max,rounds,threshold,verdict,note" >"$out/targets.csv"
declare -A med=() mrss=()
npass=0 nmiss=0 ninc=0
# paired COL NUM DEN: per round, the ratio NUM/DEN of column COL (4: ops_s, 5: rss_kb) of
# results.csv for workload $w, where DEN "peer" is the round's best of jemalloc/mimalloc/
# tcmalloc (highest ops/s) and "leanpeer" the round's lowest value of COL among them (a
# round where one of the peers that run failed has no best peer: it is left out);
# prints "median min max n" over the rounds (nothing if n = 0).
# Pairing within a round cancels the machine's drift between rounds.
paired() {
    awk -F, -v w="$w" -v col="$1" -v a="$2" -v b="$3" -v peers="$apeers" '
        NR > 1 && $2 == w && $4 != "" { v[$1 "," $3] = $col; o[$1 "," $3] = $4; R[$1] = 1 }
        END {
            n = 0
            np = split(peers, P, " ")
            for (r in R) {
                x = v[r "," a]; y = ""
                if (b == "peer" || b == "leanpeer") {
                    best = ""
                    for (i = 1; i <= np; i++) {
                        if (o[r "," P[i]] == "" || v[r "," P[i]] == "") { best = ""; break }
                        if (b == "peer" && (best == "" || o[r "," P[i]] + 0 > o[r "," best] + 0)) best = P[i]
                        if (b == "leanpeer" && (best == "" || v[r "," P[i]] + 0 < v[r "," best] + 0)) best = P[i]
                    }
                    if (best != "") y = v[r "," best]
                } else y = v[r "," b]
                if (x != "" && y != "" && y + 0 > 0) q[++n] = x / y
            }
            if (n == 0) exit
            for (i = 2; i <= n; i++) { t = q[i]; for (j = i - 1; j >= 1 && q[j] > t; j--) q[j + 1] = q[j]; q[j + 1] = t }
            m = (n % 2) ? q[(n + 1) / 2] : (q[n / 2] + q[n / 2 + 1]) / 2
            printf "%.4f %.4f %.4f %d\n", m, q[1], q[n], n
        }' "$out/results.csv"
}
# verdict WORKLOAD TARGET OP THRESHOLD [THRESHOLD2] < "median min max n" from paired()
# OP: ge (median >= T), le (median <= T), in (T <= median <= T2).
# $need: the number of rounds (or counts) the target needs; fewer (failed runs) make it
# INCOMPLETE, and so does a non-empty $lack (what is missing: a peer, valgrind, a peer's
# count). Otherwise no data at all (the runs failed) is a MISS.
verdict() {
    local w=$1 t=$2 op=$3 th=$4 th2=${5:-} m lo hi n ok v note="" shown
    read -r m lo hi n || true
    if [ -n "${lack:-}" ]; then
        v=INCOMPLETE note=" $lack"
    elif [ -z "${m:-}" ]; then
        v=MISS note=" no data"
    elif [ "$n" -lt "$need" ]; then
        v=INCOMPLETE note=" only $n of $need rounds ran"
    else
        case $op in
            ge) lo2=$th hi2=1e300 ;;
            le) lo2=-1e300 hi2=$th ;;
            in) lo2=$th hi2=$th2 ;;
        esac
        ge "$m" "$lo2" && le "$m" "$hi2" && ok=1 || ok=0
        # the per-round range crosses the target's edge: the verdict is within this machine's noise
        if { [ "$ok" = 1 ] && ! { ge "$lo" "$lo2" && le "$hi" "$hi2"; }; } ||
            { [ "$ok" = 0 ] && ge "$hi" "$lo2" && le "$lo" "$hi2"; }; then
            note=" (within noise: the rounds' range crosses the target)"
        fi
        [ "$ok" = 1 ] && v=PASS || v=MISS
    fi
    case $v in PASS) npass=$((npass + 1)) ;; MISS) nmiss=$((nmiss + 1)) ;; *) ninc=$((ninc + 1)) ;; esac
    case $op in ge) shown=">= $th" ;; le) shown="<= $th" ;; in) shown="$th..$th2" ;; esac
    if [ -n "${m:-}" ]; then
        printf '  %-4s %-47s %6.3f  [rounds: %.3f..%.3f, n=%d] (target %s)%s\n' "$v" "$t" "$m" "$lo" "$hi" "$n" "$shown" "$note"
    else
        printf '  %-4s %-47s    n/a  (target %s)%s\n' "$v" "$t" "$shown" "$note"
    fi
    echo "$w,$t,${m:-},${lo:-},${hi:-},${n:-0},$shown,$v,${note# }" >>"$out/targets.csv"
}
# one VALUE: a single exact count as paired()'s line (nothing for no value)
one() { [ -z "$1" ] || echo "$1 $1 $1 1"; }
lack="" need=$rounds
printf 'Medians of %d round(s); ratios are ops/s ratios (higher is faster) except RSS (peak KiB, lower is leaner).\n' "$rounds"
printf '"best peer" = fastest of jemalloc/mimalloc/tcmalloc on that workload; spread = (max - min) / median of ops/s over the rounds.\n'
printf 'CPU steal during the runs: %s; load average before %s, after %s (other load on a %s-core machine skews every number)\n\n' \
    "$steal" "${load0:-unknown}" "${load1:-unknown}" "$(nproc)"

for w in "${wl_names[@]}"; do
    for c in "${cfg_names[@]}"; do
        med[$c]=$(median "${ops["$w|$c"]:-}")
        mrss[$c]=$(median "${rss["$w|$c"]:-}")
    done
    best="" bestn=""
    for c in jemalloc mimalloc tcmalloc; do
        if [ -n "${med[$c]}" ] && { [ -z "$best" ] || awk -v a="${med[$c]}" -v b="$best" 'BEGIN {exit !(a > b)}'; }; then
            best=${med[$c]} bestn=$c
        fi
    done
    i=0
    for wi in "${!wl_names[@]}"; do [ "${wl_names[$wi]}" = "$w" ] && i=$wi; done
    echo "== $(wl_show "$i")"
    printf '  %-15s %12s %7s %9s %11s %11s %11s %5s\n' config "ops/s" spread "x glibc" "x best peer" "peak RSS KB" "RSS x glibc" runs
    for c in "${cfg_names[@]}"; do
        [ -n "${selected[$c]:-}" ] || continue
        if [ -n "${missing[$c]:-}" ]; then
            printf '  %-15s %14s   (%s)\n' "$c" MISSING "${missing[$c]}"
            echo "$w,$c,,,,,,,0,0" >>"$out/summary.csv"
            continue
        fi
        n_ok=$(printf '%s\n' ${ops["$w|$c"]:-} | grep -c .)
        rg=$(div "${med[$c]}" "${med[glibc]}") rb=$(div "${med[$c]}" "$best") rr=$(div "${mrss[$c]}" "${mrss[glibc]}")
        sp=$(spread "${ops["$w|$c"]:-}")
        printf '  %-15s %12s %7s %9s %11s %11s %11s %2s/%-2s\n' "$c" "${med[$c]:-FAILED}" "${sp:-n/a}" "$(fmt "$rg")" \
            "$(fmt "$rb")" "${mrss[$c]:-n/a}" "$(fmt "$rr")" "$n_ok" "$rounds"
        echo "$w,$c,${med[$c]},$rg,$rb,$bestn,${mrss[$c]},$rr,$n_ok,$rounds" >>"$out/summary.csv"
    done
    echo "  targets (median over rounds of the ratio within each round; best peer per round):"
    # only the targets whose configs ran (CONFIGS may leave some out); a peer asked for but
    # missing leaves its targets INCOMPLETE
    peers=0
    [ -n "$apeers$lackpeers" ] && peers=1
    need=$rounds lack=""
    if is_active hakmem-central && is_active glibc; then
        verdict "$w" "central > 1.00x glibc (ops/s)" ge 1.0001 < <(paired 4 hakmem-central glibc)
    fi
    th=1.00 # issue 13: at or above the best of jemalloc, mimalloc and tcmalloc everywhere
    if is_active hakmem-central && [ "$peers" = 1 ]; then
        lack=${lackpeers:+peers missing: $lackpeers}
        verdict "$w" "central >= ${th}x best peer (ops/s)" ge $th < <(paired 4 hakmem-central peer)
        lack=""
    fi
    if is_active hakmem-central && is_active hakmem-legacy; then
        verdict "$w" "legacy within 2 % of central (ops/s)" in 0.98 1.02 < <(paired 4 hakmem-legacy hakmem-central)
    fi
    if is_active hakmem-central && is_active hakmem-diffS; then
        verdict "$w" "diff-sampled (1 in 100) time <= 1.03x central's" le 1.03 < <(paired 4 hakmem-central hakmem-diffS)
    fi
    if is_active hakmem-central && is_active hakmem-diff1; then
        verdict "$w" "diff-1 time <= 1.10x central's" le 1.10 < <(paired 4 hakmem-central hakmem-diff1)
    fi
    if is_active hakmem-central && is_active glibc; then
        verdict "$w" "central peak RSS <= 1.5x glibc" le 1.50 < <(paired 5 hakmem-central glibc)
    fi
    if is_active hakmem-central && [ "$peers" = 1 ]; then
        lack=${lackpeers:+peers missing: $lackpeers}
        verdict "$w" "central peak RSS <= leanest peer's" le 1.00 < <(paired 5 hakmem-central leanpeer)
        lack=""
    fi
    if is_active hakmem-central && is_active hakmem-base; then
        verdict "$w" "central >= 0.97x base (ops/s)" ge 0.97 < <(paired 4 hakmem-central hakmem-base)
        verdict "$w" "central peak RSS <= base's" le 1.00 < <(paired 5 hakmem-central hakmem-base)
    fi
    echo
done
# --- instructions (callgrind): the tiny pair against the peers, the differential mode's cost --
# Exact and repeatable where the wall-clock ratios are not. Per tiny malloc+free pair: only the
# instructions inside malloc and free (callgrind --toggle-collect), the difference between
# bench_tiny_hot at 2N and at N pairs (one-time costs cancel). The differential mode: whole-
# program counts of each single-threaded or lock-step workload (QUICK-size arguments) under
# diff-1 and diff-100 against central; legacy must equal central. The ring workloads
# (prodcons, remote) are left out: their threads spin while they wait, which callgrind counts.
if [ "${INSTR:-1}" != 0 ]; then
    vg_lack=""
    command -v valgrind >/dev/null 2>&1 || vg_lack="valgrind not found (apt-get install valgrind)"
    # cg WHAT [toggle] ENV... -- CMD ARGS...: the instructions in $cgn; a run that fails (exit
    # status, signal, timeout, a library not preloaded, no count) is a failed run: status 1
    cg() {
        local what=$1 tog=() e=() rc=0 why
        shift
        cgn=
        [ -z "$vg_lack" ] || return 1
        if [ "$1" = toggle ]; then tog=(--toggle-collect=malloc --toggle-collect=free); shift; fi
        while [ "$1" != -- ]; do e+=("$1"); shift; done
        shift
        # (braced: the shell's own notice of a child killed by a signal is not the report's)
        { timeout -k 5 "$tmo" env "${e[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "${tog[@]}" "$@" \
            >/dev/null 2>"$tmp/cgerr" </dev/null; } 2>/dev/null || rc=$?
        why=$(exit_why "$rc" "$tmo")
        if [ "$rc" = 0 ] && preload_failed "$tmp/cgerr"; then rc=98 why="a library was not preloaded"; fi
        cgn=$(sed -n 's/.*I *refs: *//p' "$tmp/cgerr" | tr -d , | tail -n 1)
        [ "$rc" = 0 ] && [ -z "$cgn" ] && rc=97 why="no instruction count"
        { echo "== callgrind $what: $(show_env "env ${e[*]} valgrind ${tog[*]} $*") -> $why"; cat "$tmp/cgerr"; } >>"$out/runs.log"
        [ "$rc" = 0 ] && return 0
        cgn=
        nfailed=$((nfailed + 1))
        echo "FAILED RUN: callgrind $what: $why$(errtail "$tmp/cgerr")"
        return 1
    }
    echo "== instructions (valgrind --tool=callgrind)${vg_lack:+: $vg_lack: every instruction target is INCOMPLETE}"
    echo "kind,name,config,instructions" >"$out/instructions.csv"
    # the peers an instruction target compares with, and what it lacks (a peer, valgrind, a count)
    peer_lack() { # COUNTS-ARRAY-NAME
        local -n cnt=$1
        local c l=$vg_lack
        [ -z "$l" ] && [ -n "$lackpeers" ] && l="peers missing: $lackpeers"
        for c in $apeers; do [ -n "$l" ] || [ -n "${cnt[$c]:-}" ] || l="no count for $c"; done
        printf '%s' "$l"
    }
    pairs=200000
    [ "$quick" = 1 ] && pairs=50000
    need=1
    if [ -x "$build/bench/bench_tiny_hot" ]; then
        echo "  per tiny malloc+free pair (inside malloc and free; bench_tiny_hot 32 at $((2 * pairs)) minus at $pairs pairs):"
        declare -A ipp=()
        for c in glibc jemalloc mimalloc tcmalloc hakmem-legacy hakmem-central hakmem-diff1 hakmem-diffS; do
            is_active $c || continue
            for i in "${!cfg_names[@]}"; do [ "${cfg_names[$i]}" = "$c" ] && ci=$i; done
            a="" b=""
            # shellcheck disable=SC2086
            cg "$c bench_tiny_hot 32 $pairs" toggle ${cfg_env[$ci]} -- "$build/bench/bench_tiny_hot" 32 "$pairs" && a=$cgn
            # shellcheck disable=SC2086
            [ -n "$a" ] && cg "$c bench_tiny_hot 32 $((2 * pairs))" toggle ${cfg_env[$ci]} -- "$build/bench/bench_tiny_hot" 32 $((2 * pairs)) && b=$cgn
            ipp[$c]=$(awk -v a="$a" -v b="$b" -v n="$pairs" 'BEGIN {if (a == "" || b == "") print ""; else printf "%.2f", (b - a) / n}')
            [ -n "$vg_lack" ] || printf '    %-15s %8s instructions\n' "$c" "${ipp[$c]:-n/a}"
            echo "tiny_pair,bench_tiny_hot,$c,${ipp[$c]:-}" >>"$out/instructions.csv"
        done
        fewest="" fewestn=""
        for c in jemalloc mimalloc tcmalloc; do
            [ -n "${ipp[$c]:-}" ] || continue
            if [ -z "$fewest" ] || awk -v a="${ipp[$c]}" -v b="$fewest" 'BEGIN {exit !(a < b)}'; then fewest=${ipp[$c]} fewestn=$c; fi
        done
        w=instructions
        if is_active hakmem-central && [ -n "$apeers$lackpeers" ]; then
            lack=$(peer_lack ipp)
            verdict instructions "central per tiny pair <= fewest peer's (${fewestn:-none})" le 1.00 < <(one "$(div "${ipp[hakmem-central]:-}" "$fewest")")
        fi
        if is_active hakmem-central && is_active hakmem-legacy; then
            lack=$vg_lack
            verdict instructions "legacy per tiny pair = central's" in 1.00 1.00 < <(one "$(div "${ipp[hakmem-legacy]:-}" "${ipp[hakmem-central]:-}")")
        fi
        lack=""
    fi
    if is_active hakmem-central; then
        echo "  whole program, QUICK-size arguments: the differential mode's cost, and central against the peers:"
        for wi in "${!wl_names[@]}"; do
            p=${wl_progs[$wi]}
            case $p in bench_prodcons | bench_remote) continue ;; esac
            # the QUICK arguments of this workload
            qa=$(wl_table 1 | awk -F'|' -v l="${wl_names[$wi]}" '$1 == l {print $3}')
            [ "$quick" = 1 ] && case ${wl_names[$wi]} in bench_tiny_hot | bench_mid_large_mt) ;; *) continue ;; esac
            declare -A icnt=() rdig=()
            line=""
            for c in hakmem-central hakmem-legacy hakmem-diff1 hakmem-diffS glibc jemalloc mimalloc tcmalloc; do
                is_active $c || continue
                for i in "${!cfg_names[@]}"; do [ "${cfg_names[$i]}" = "$c" ] && ci=$i; done
                icnt[$c]=""
                case $p in
                real:*) # under callgrind at the quick size (real.sh); its output must be glibc's
                    [ -z "$vg_lack" ] || continue
                    rc=0
                    # shellcheck disable=SC2086
                    { REAL_CALLGRIND=1 timeout -k 5 "$tmo" bash "$here/real.sh" "${p#real:}" "$realdir-cg" quick ${cfg_env[$ci]} >"$tmp/out" 2>"$tmp/err" </dev/null; } 2>/dev/null || rc=$?
                    { echo "== callgrind ${wl_names[$wi]} $c: real.sh ${p#real:} quick -> $(exit_why "$rc" "$tmo")"; cat "$tmp/out" "$tmp/err"; } >>"$out/runs.log"
                    if [ "$rc" != 0 ] || preload_failed "$tmp/err"; then
                        nfailed=$((nfailed + 1))
                        echo "FAILED RUN: callgrind ${wl_names[$wi]} $c: $(if [ "$rc" = 0 ]; then echo "a library was not preloaded"; else exit_why "$rc" "$tmo"; fi)$(errtail "$tmp/err")"
                    else
                        icnt[$c]=$(sed -n 's/.* instructions=\([0-9]*\).*/\1/p' "$tmp/out")
                        rdig[$c]=$(sed -n 's/.* output=\([0-9a-f]*\).*/\1/p' "$tmp/out")
                    fi
                    ;;
                *)
                    # shellcheck disable=SC2086
                    cg "${wl_names[$wi]} $c" ${cfg_env[$ci]} -- "$build/bench/$p" $qa && icnt[$c]=$cgn
                    ;;
                esac
                line+=" ${c#hakmem-}=${icnt[$c]:-FAILED}"
            done
            case $p in
            real:*) # a count whose program gave another output than glibc's does not count
                for c in "${!rdig[@]}"; do
                    if [ -z "${rdig[$c]}" ] || [ "${rdig[$c]}" != "${rdig[glibc]:-}" ]; then
                        icnt[$c]=
                        nfailed=$((nfailed + 1))
                        line+=" (${c#hakmem-}: no count: output ${rdig[$c]:-none}, glibc's ${rdig[glibc]:-none})"
                    fi
                done
                qa=quick
                ;;
            esac
            [ -n "$vg_lack" ] && line=" no counts: $vg_lack"
            echo "    ${wl_names[$wi]} ($p $qa):$line"
            for c in hakmem-central hakmem-legacy hakmem-diff1 hakmem-diffS glibc jemalloc mimalloc tcmalloc; do
                [ -n "${icnt[$c]:-}" ] && echo "workload,${wl_names[$wi]},$c,${icnt[$c]}" >>"$out/instructions.csv"
            done
            w=${wl_names[$wi]}
            lack=$vg_lack
            for k in "hakmem-legacy:in:1.00:1.00:legacy instructions = central's (+-0.5 %)" \
                "hakmem-diff1:le:1.10::diff-1 instructions <= 1.10x central's" \
                "hakmem-diffS:le:1.03::diff-100 instructions <= 1.03x central's"; do
                IFS=: read -r c op t1 t2 what <<<"$k"
                is_active "$c" || continue
                r=$(div "${icnt[$c]:-}" "${icnt[hakmem-central]:-}")
                if [ "$op" = in ]; then
                    verdict "$w" "$what" in 0.995 1.005 < <(one "$r")
                else
                    verdict "$w" "$what" "$op" "$t1" < <(one "$r")
                fi
            done
            # Exact where the wall-clock ratios of a shared machine are not: central's whole
            # program against the peer that executes the fewest instructions.
            fewest="" fewestn=""
            for c in jemalloc mimalloc tcmalloc; do
                [ -n "${icnt[$c]:-}" ] || continue
                if [ -z "$fewest" ] || [ "${icnt[$c]}" -lt "$fewest" ]; then fewest=${icnt[$c]} fewestn=$c; fi
            done
            if [ -n "$apeers$lackpeers" ]; then
                lack=$(peer_lack icnt)
                verdict "$w" "central instructions <= fewest peer's (${fewestn:-none}; whole program)" le 1.00 < <(one "$(div "${icnt[hakmem-central]:-}" "$fewest")")
            fi
            lack=""
        done
    fi
    echo
fi
# --- footprint: tests/footprint under every allocator, once each ----------------------------
# Three phases in one process, no malloc_trim (see tests/footprint.c): A frees a burst and
# idles, B frees 95 % of 2 M small blocks at random, C frees 64 B blocks and allocates 3000 B
# ones. RSS is deterministic enough on a shared machine for one run per allocator.
if [ "${FOOTPRINT:-1}" != 0 ]; then
    fp_prog=$build/tests/footprint
    if [ "$quick" = 1 ]; then fp_scale=${FOOTPRINT_SCALE:-32} fp_wait=100; else fp_scale=${FOOTPRINT_SCALE:-1024} fp_wait=1000; fi
    declare -A fp=()
    fp_cfgs=()
    echo "config,measurement,kib" >"$out/footprint.csv"
    if [ ! -x "$fp_prog" ]; then
        echo "footprint: $fp_prog not found (make check or make bench builds it)"
        nfailed=$((nfailed + 1))
    else
        echo "== footprint: $fp_prog $fp_scale $fp_wait (one run per allocator; MiB)"
        for c in glibc jemalloc mimalloc tcmalloc hakmem-central hakmem-legacy hakmem-base; do
            is_active $c || continue
            for i in "${!cfg_names[@]}"; do [ "${cfg_names[$i]}" = "$c" ] && ci=$i; done
            # shellcheck disable=SC2086
            timeout -k 5 "$tmo" env ${cfg_env[$ci]} "$fp_prog" "$fp_scale" "$fp_wait" >"$tmp/fp" 2>&1 </dev/null
            rc=$?
            { echo "== footprint $c: env ${cfg_env[$ci]} $fp_prog $fp_scale $fp_wait -> exit $rc"; cat "$tmp/fp"; } >>"$out/runs.log"
            line=$(grep '^footprint: ' "$tmp/fp" | tail -n 1)
            if [ "$rc" != 0 ] || [ -z "$line" ]; then
                echo "FAILED RUN: footprint $c: exit $rc: $(head -n 2 "$tmp/fp" | tr '\n' ' ')"
                nfailed=$((nfailed + 1))
                continue
            fi
            fp_cfgs+=("$c")
            for kv in ${line#footprint: }; do
                fp["$c|${kv%%=*}"]=${kv#*=}
                echo "$c,${kv%%=*},${kv#*=}" >>"$out/footprint.csv"
            done
            fp["$c|a_1s_above"]=$((fp["$c|a_1s_kb"] - fp["$c|start_kb"]))
            fp["$c|a_3s_above"]=$((fp["$c|a_3s_kb"] - fp["$c|start_kb"]))
        done
        fp_rows=("a_1s_above|A: ${fp_scale} MiB of 1 KiB-512 KiB blocks freed, then idle: RSS above the start $((fp_wait / 1000)).$((fp_wait % 1000 / 100)) s later"
            "a_3s_above|A: the same, $((3 * fp_wait / 1000)).$((3 * fp_wait % 1000 / 100)) s later"
            "b_after_kb|B: then $((fp_scale * 2048)) blocks of 16-1024 B, 95 % freed at random: RSS"
            "b_peak_kb|B: peak"
            "c_peak_kb|C: then $((fp_scale * 400 / 1024)) MiB of 64 B freed, then as much of 3000 B: peak"
            "peak_kb|whole run: peak"
            "d_1s_kb|D: everything freed, then $((fp_wait / 1000)).$((fp_wait % 1000 / 100)) s of light activity: RSS")
        {
            printf '| phase (MiB) |'
            for c in "${fp_cfgs[@]}"; do printf ' %s |' "$c"; done
            printf '\n|---|'
            for c in "${fp_cfgs[@]}"; do printf -- '---|'; done
            printf '\n'
            for r in "${fp_rows[@]}"; do
                printf '| %s |' "${r#*|}"
                for c in "${fp_cfgs[@]}"; do awk -v k="${fp["$c|${r%%|*}"]}" 'BEGIN {printf " %.0f |", k / 1024}'; done
                printf '\n'
            done
        } >"$out/footprint.md"
        sed 's/^/  /' "$out/footprint.md"
        if [ "$fp_scale" -lt 1024 ] || [ "$fp_wait" != 1000 ]; then
            echo "  (no verdicts: the footprint targets are set at the issue's scale, FOOTPRINT_SCALE=1024 and 1 s waits;"
            echo "   below it the fixed budgets - 32 MiB of free pages, 16 MiB of kept empty pages - dominate)"
        elif is_active glibc && [ -n "${fp[glibc|peak_kb]:-}" ]; then
            need=1 lack=""
            for c in hakmem-central hakmem-legacy; do
                [ -n "${fp[$c|peak_kb]:-}" ] || continue
                echo "  targets ($c against glibc in this run):"
                w=footprint
                r=$(div "${fp[$c|a_1s_above]}" "${fp[$c|a_burst_kb]}")
                verdict footprint "$c A: RSS above start 1 s after <= 10 % of burst" le 0.10 <<<"$r $r $r 1"
                for k in b_after_kb:1.20:"B: RSS" b_peak_kb:1.20:"B: peak" c_peak_kb:1.20:"C: peak" peak_kb:1.25:"whole run: peak"; do
                    IFS=: read -r key th what <<<"$k"
                    r=$(div "${fp[$c|$key]}" "${fp[glibc|$key]}")
                    verdict footprint "$c $what <= ${th}x glibc" le "$th" <<<"$r $r $r 1"
                done
            done
        fi
        echo
    fi
fi

echo "targets: $npass PASS, $nmiss MISS, $ninc INCOMPLETE; failed runs: $nfailed"
for c in $lackpeers; do echo "missing peer: $c: ${missing[$c]}"; done

# --- chart -----------------------------------------------------------------------------------
if command -v python3 >/dev/null 2>&1; then
    if python3 "$here/chart.py" "$out/summary.csv" "$out/chart.svg" "$(nproc) cores, ${cpu:-unknown CPU}, $(uname -r), $rounds round(s), $(date -u +%Y-%m-%d)"; then
        echo "chart: $out/chart.svg"
    else
        echo "chart: FAILED to write $out/chart.svg"
    fi
else
    echo "chart: python3 not found, $out/chart.svg not written"
fi
# the run is over: bench/table.sh reads only an OUT that has this marker
{
    echo "complete: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "targets: $npass PASS, $nmiss MISS, $ninc INCOMPLETE"
    echo "failed runs: $nfailed"
    echo "missing peers: ${lackpeers:-none}"
} >"$out/complete"
written=""
for f in results.csv summary.csv targets.csv machine.txt runs.log instructions.csv footprint.csv footprint.md complete; do
    [ -f "$out/$f" ] && written+="${written:+, }$out/$f"
done
echo "results: $written"
echo "machine: $(nproc) cores, ${cpu:-unknown CPU}, kernel $(uname -r), $(date -u '+%Y-%m-%d %H:%M UTC'); command: $cmdline"

[ "$nfailed" = 0 ] || exit 1
[ "$strict" = 1 ] && [ "$((nmiss + ninc))" -gt 0 ] && exit 1
exit 0
