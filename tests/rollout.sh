#!/usr/bin/env bash
# rollout.sh: the staged rollout is sticky across restarts (and so across hosts: nothing of
# the process's addresses goes into a key) and monotonic in the percentage, in every mode.
#   by site (tests/site_prog, a PIE with 64 call sites, run under ASLR): three runs at 50 %
#     give every site the same path, though the program loads at another address each
#     time; raising PCT only adds sites; another salt picks another set, as sticky;
#   by class: each size interval keeps its path across runs; raising PCT only adds classes;
#   by process: every call of a run takes one path, the same in every run; over 30 salts
#     both paths occur.
# Which path executed a site shows in its block: under the candidate table 1010 bytes get a
# Pool block (2 KiB usable) from the Central Router and a Tiny one (1 KiB) from legacy.
set -uo pipefail
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
diffp=$prog
prog="$bld/tests/site_prog"
candidate_table "$tmp/edge.txt"
# sites PCT [VAR=value...]: one line per site ("site K usable N"); the load address in $tmp/base
sites() {
    local pct=$1; shift
    run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_TABLE="$tmp/edge.txt" HAKMEM_ROUTER_ROLLOUT="$pct" "$@" "$prog" 1010 >"$tmp/out" 2>"$tmp/err"
    sed -n 's/^base //p' "$tmp/out" >>"$tmp/bases"
    grep '^site ' "$tmp/out"
}
central_set() { grep -c 'usable 2048$' <<<"$1"; }

if readelf -h "$prog" 2>/dev/null | grep -q 'DYN'; then pass "tests/site_prog is a position-independent executable"
else fail "tests/site_prog is not a PIE"; fi
aslr=$(cat /proc/sys/kernel/randomize_va_space 2>/dev/null || echo 0)

# By site, three runs at 50 %.
: >"$tmp/bases"
r1=$(sites 50) r2=$(sites 50) r3=$(sites 50)
nb=$(sort -u "$tmp/bases" | wc -l)
n1=$(central_set "$r1")
if [ "$aslr" = 0 ] || [ "$nb" -lt 2 ]; then
    fail "ASLR is off (randomize_va_space=$aslr, $nb distinct load addresses in 3 runs): the test needs a PIE that moves"
elif [ "$r1" = "$r2" ] && [ "$r2" = "$r3" ] && [ "$n1" -ge 10 ] && [ "$n1" -le 54 ]; then
    pass "by site at 50 %: 3 runs of a PIE at $nb different addresses, the same path for each of the 64 sites ($n1 central)"
else
    fail "by site at 50 %: runs differ ($(diff <(echo "$r1") <(echo "$r2") | grep -c '^>') sites moved between runs 1 and 2, $(diff <(echo "$r1") <(echo "$r3") | grep -c '^>') between 1 and 3; $n1 central)"
fi

# Raising PCT never moves a site back; 0 % and 100 % are all-legacy and all-central.
prev="" mono=1 counts=""
for pct in 0 10 25 50 75 90 100; do
    r=$(sites "$pct")
    counts+=" $pct%:$(central_set "$r")"
    if [ -n "$prev" ]; then
        # every site central before is central now
        back=$(paste <(echo "$prev") <(echo "$r") | awk '$4 == 2048 && $8 != 2048' | wc -l)
        [ "$back" = 0 ] || mono=0
    fi
    prev=$r
done
if [ "$mono" = 1 ] && [[ $counts == " 0%:0 "* ]] && [[ $counts == *" 100%:64" ]]; then
    pass "by site, raising PCT only adds sites:$counts"
else fail "by site, monotonic in PCT:$counts"; fi

# Another salt: another set, as sticky.
s1=$(sites 50 HAKMEM_ROUTER_ROLLOUT_SALT=7) s2=$(sites 50 HAKMEM_ROUTER_ROLLOUT_SALT=7)
if [ "$s1" = "$s2" ] && [ "$s1" != "$r1" ]; then pass "salt 7: another set of sites ($(central_set "$s1") central), the same in two runs"
else fail "salt 7: $( [ "$s1" = "$s2" ] && echo sticky || echo NOT sticky), $( [ "$s1" != "$r1" ] && echo different || echo the same as salt 0)"; fi

# By class: per size, the path (from the report's counts) across two runs and four PCTs.
class_path() { # SIZE PCT RUN -> legacy|central
    run_t 60 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_ROLLOUT="$2" HAKMEM_ROUTER_ROLLOUT_BY=class \
        HAKMEM_DIVERGENCE_REPORT="$tmp/c.$1.$2.$3.json" "$diffp" period 1 1 "$1" 200 2>/dev/null
    run_t 30 python3 - "$tmp/c.$1.$2.$3.json" "$1" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
# only the program's own 200 calls of the size are of its key
print("central" if r["executed"]["central"] >= 200 else "legacy")
PY
}
sizes="24 100 300 700 1500 3000 5000 7000 9000 15000 30000 45000 60000 100000 300000 1000000"
bad="" table=""
for s in $sizes; do
    line=""
    for pct in 0 25 50 75 100; do
        a=$(class_path "$s" "$pct" 1)
        [ "$pct" = 50 ] && { b=$(class_path "$s" 50 2); [ "$a" = "$b" ] || bad+=" [$s: run 1 $a, run 2 $b]"; }
        line+=" ${a:0:1}"
    done
    table+=" $s:$(tr -d ' ' <<<"$line")"
    [[ $line == " l"*" c" ]] || bad+=" [$s: not l at 0 % and c at 100 %:$line]"
    [[ $line == *"c l"* ]] && bad+=" [$s moved back:$line]"
done
if [ -z "$bad" ]; then pass "by class: sticky across runs, monotonic in PCT (size:path at 0/25/50/75/100 %):$table"
else fail "by class:$bad"; fi

# By process: one path for every site of a run, the same each run; over salts both occur.
seen_paths=""
bad=""
for salt in $(seq 0 29); do # 30 salts: both paths unless a 1-in-10^9 fluke
    p1=$(sites 50 HAKMEM_ROUTER_ROLLOUT_BY=process HAKMEM_ROUTER_ROLLOUT_SALT=$salt | awk '{print $4}' | sort -u)
    p2=$(sites 50 HAKMEM_ROUTER_ROLLOUT_BY=process HAKMEM_ROUTER_ROLLOUT_SALT=$salt | awk '{print $4}' | sort -u)
    [ "$(wc -l <<<"$p1")" = 1 ] && [ "$p1" = "$p2" ] || bad+=" [salt $salt: '$(echo $p1)' then '$(echo $p2)']"
    seen_paths+=" $p1"
done
if [ -z "$bad" ] && [[ $seen_paths == *1024* ]] && [[ $seen_paths == *2048* ]]; then
    pass "by process: one path per run, the same in two runs, both paths over 30 salts"
else fail "by process:$bad (paths over salts:$seen_paths)"; fi

finish
