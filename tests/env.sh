#!/usr/bin/env bash
# env.sh: hakmem as configured from the environment, in real processes.
#  - routing of every size range through both entries, for every knob combination
#    (tests/routes_env, linked with libhakmem);
#  - HAKMEM_VERBOSE=1 prints the two Pool prewarm lines with the real count;
#  - a garbage HAKMEM_* value gives one warning naming the variable, and the default stays;
#  - an unknown HAKMEM_* variable gives one warning naming the closest known one, and a
#    setting that has no effect in the mode in force gives one warning saying why;
#  - in a build without legacy/ (--disable-legacy), each migration variable gives exactly the
#    one warning saying this build has none of it, and HAKMEM_USE_CENTRAL_ROUTER=1 none.
set -euo pipefail
bld=${HK_TOP_BUILDDIR:-$PWD}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
routes="$bld/tests/routes_env"
ok() { pass env "$1"; }
ko() { fail env "$1" "failed"; }

for ace in 1 0; do
    for wrap in 1 0; do
        if out=$(HAKMEM_ACE_ENABLED=$ace HAKMEM_WRAP_L2=$wrap "$routes" 2>&1); then
            ok "routing with ACE_ENABLED=$ace WRAP_L2=$wrap (${out##*: })"
        else
            ko "routing with ACE_ENABLED=$ace WRAP_L2=$wrap: $out"
        fi
    done
done

check_prewarm() { # $1: HAKMEM_POOL_PREWARM_PAGES value or "", $2: expected count
    local err
    if [ -n "$1" ]; then
        err=$(HAKMEM_VERBOSE=1 HAKMEM_POOL_PREWARM_PAGES=$1 LD_PRELOAD=$lib /bin/true 2>&1)
    else
        err=$(HAKMEM_VERBOSE=1 LD_PRELOAD=$lib /bin/true 2>&1)
    fi
    if grep -qxF "[Pool] Pre-allocated $2 pages for Bridge class 5 (40 KB)" <<<"$err" &&
        grep -qxF "[Pool] Pre-allocated $2 pages for Bridge class 6 (52 KB)" <<<"$err"; then
        ok "HAKMEM_VERBOSE=1 prewarm lines say $2 pages (PREWARM_PAGES=${1:-default})"
    else
        ko "prewarm lines for PREWARM_PAGES=${1:-default}, expected $2: got: $err"
    fi
}
check_prewarm "" 4
check_prewarm 2 2
check_prewarm 0 0

quiet=$(LD_PRELOAD=$lib /bin/true 2>&1)
if [ -z "$quiet" ]; then ok "silent by default"; else ko "output without HAKMEM_VERBOSE: $quiet"; fi

err=$(HAKMEM_VERBOSE=1 HAKMEM_POOL_PREWARM_PAGES=lots LD_PRELOAD=$lib /bin/true 2>&1)
if [ "$(grep -c 'hakmem: warning: HAKMEM_POOL_PREWARM_PAGES="lots"' <<<"$err")" = 1 ] &&
    grep -qF "Pre-allocated 4 pages for Bridge class 5" <<<"$err"; then
    ok "garbage HAKMEM_POOL_PREWARM_PAGES: one warning, default kept"
else
    ko "garbage HAKMEM_POOL_PREWARM_PAGES: $err"
fi

err=$(HAKMEM_STATS=1 LD_PRELOAD=$lib ls / 2>&1 >/dev/null)
if grep -q '^hakmem stats' <<<"$err" && grep -qE '^  tiny +[1-9]' <<<"$err"; then
    ok "HAKMEM_STATS=1 prints per-box statistics"
else
    ko "HAKMEM_STATS=1 report: $err"
fi

# Unknown variables: one warning each, naming the closest known variable.
err=$(HAKMEM_ROUTER_DIF=1 HAKMEM_DIVERGENCE_REPROT=/tmp/x.json HAKMEM_ZZZ=1 LD_PRELOAD=$lib /bin/true 2>&1)
if [ "$(grep -c '' <<<"$err")" = 3 ] &&
    grep -qx 'hakmem: warning: HAKMEM_ROUTER_DIF is not a hakmem variable (did you mean HAKMEM_ROUTER_DIFF?); ignored' <<<"$err" &&
    grep -qx 'hakmem: warning: HAKMEM_DIVERGENCE_REPROT is not a hakmem variable (did you mean HAKMEM_DIVERGENCE_REPORT?); ignored' <<<"$err" &&
    grep -q '^hakmem: warning: HAKMEM_ZZZ is not a hakmem variable (did you mean HAKMEM_' <<<"$err"; then
    ok "unknown HAKMEM_* variables: one warning each, naming the closest"
else
    ko "unknown HAKMEM_* variables: $err"
fi

# Settings without effect in the mode in force: one warning each, nothing else.
ineffective() { # EXPECTED-VARIABLE VAR=value...
    local want=$1; shift
    local err
    err=$(env "$@" LD_PRELOAD=$lib /bin/true 2>&1)
    if [ "$(grep -c '' <<<"$err")" = 1 ] && grep -q "^hakmem: warning: $want is set but has no effect: " <<<"$err"; then
        ok "$* -> '$(cut -c1-150 <<<"$err")'"
    else
        ko "$*: want one warning about $want, got: $err"
    fi
}
ineffective HAKMEM_WRAP_L2 HAKMEM_ACE_ENABLED=0 HAKMEM_WRAP_L2=0
if hk_legacy_built; then
ineffective HAKMEM_ROUTER_DIFF_SAMPLE HAKMEM_ROUTER_DIFF_SAMPLE=100
ineffective HAKMEM_DIVERGENCE_REPORT HAKMEM_DIVERGENCE_REPORT=/tmp/hakmem-no-report.json
ineffective HAKMEM_DIVERGENCE_LOG HAKMEM_DIVERGENCE_LOG=/tmp/hakmem-no-log.jsonl
ineffective HAKMEM_ROUTER_ROLLBACK HAKMEM_ROUTER_ROLLBACK=1
ineffective HAKMEM_ROUTER_ROLLBACK HAKMEM_ROUTER_DIFF=1 HAKMEM_USE_CENTRAL_ROUTER=0 HAKMEM_ROUTER_ROLLBACK=1
ineffective HAKMEM_ROUTER_ROLLBACK HAKMEM_ROUTER_DIFF=2 HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_ROLLBACK=1
ineffective HAKMEM_ROUTER_ROLLOUT_BY HAKMEM_ROUTER_ROLLOUT_BY=class
ineffective HAKMEM_ROUTER_ROLLOUT_SALT HAKMEM_ROUTER_ROLLOUT_SALT=3
ineffective HAKMEM_USE_CENTRAL_ROUTER HAKMEM_ROUTER_ROLLOUT=10 HAKMEM_USE_CENTRAL_ROUTER=1
# ... and none when every setting acts.
# (the report in a scratch directory: never a device, which a broken build could replace)
scratch=$(mktemp -d)
err=$(HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=10 HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_ROLLBACK=5 \
    HAKMEM_DIVERGENCE_REPORT="$scratch/r.%p.json" LD_PRELOAD=$lib /bin/true 2>&1)
rm -rf "$scratch"
if [ -z "$err" ]; then ok "a consistent differential setup: no warning"
else ko "a consistent differential setup warned: $err"; fi
err=$(HAKMEM_ROUTER_ROLLOUT_BY=sight HAKMEM_ROUTER_ROLLOUT=5 LD_PRELOAD=$lib /bin/true 2>&1)
if [ "$(grep -c '' <<<"$err")" = 1 ] && grep -q 'HAKMEM_ROUTER_ROLLOUT_BY="sight" is not one of site, class, process; using the default site' <<<"$err"; then
    ok "a bad HAKMEM_ROUTER_ROLLOUT_BY: one warning listing the words"
else ko "bad HAKMEM_ROUTER_ROLLOUT_BY: $err"; fi
else
    hk_left_out 11 # the nine settings above, the consistent setup, the bad ROLLOUT_BY

# No legacy/ (--disable-legacy): every migration variable, set alone, gives exactly the one
# warning that this build has none of it, and the program runs on.
no_migration="this build has no legacy path and no differential mode (--disable-legacy)"
only_central="this build has only the Central Router (--disable-legacy): it routes every call"
nolegacy() { # ID EXPECTED-LINES VAR=value... (EXPECTED-LINES: one per line, "" for none)
    local id=$1 want=$2 err rc=0
    shift 2
    err=$(timeout 30 env "$@" LD_PRELOAD="$lib" /bin/true 2>&1) || rc=$?
    local n
    n=$(grep -c . <<<"$err" || true)
    if [ "$rc" = 0 ] && [ "$err" = "$want" ]; then
        if [ "$n" -gt 1 ]; then pass "nolegacy:$id" "$* -> $n warnings, one each, nothing else"
        else pass "nolegacy:$id" "$* -> ${err:-no warning}"; fi
    else
        fail "nolegacy:$id" "$*" "exit $rc; got: $(tr '\n' '|' <<<"${err:-nothing}"); wanted: $(tr '\n' '|' <<<"${want:-nothing}")"
    fi
}
mig=(HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_DIFF_SAMPLE=100 HAKMEM_DIVERGENCE_REPORT=/tmp/hakmem-no-report.json
    HAKMEM_DIVERGENCE_LOG=/tmp/hakmem-no-log.jsonl HAKMEM_ROUTER_ROLLBACK=1 HAKMEM_ROUTER_ROLLOUT=10
    HAKMEM_ROUTER_ROLLOUT_BY=class HAKMEM_ROUTER_ROLLOUT_SALT=3)
all_lines=""
for a in "${mig[@]}"; do
    line="hakmem: warning: ${a%%=*} is set but has no effect: $no_migration"
    nolegacy "${a%%=*}" "$line" "$a"
    all_lines+="${all_lines:+$'\n'}$line"
done
nolegacy HAKMEM_ROUTER_DIFF=2 "hakmem: warning: HAKMEM_ROUTER_DIFF is set but has no effect: $no_migration" \
    HAKMEM_ROUTER_DIFF=2
nolegacy HAKMEM_USE_CENTRAL_ROUTER=0 "hakmem: warning: HAKMEM_USE_CENTRAL_ROUTER is set but has no effect: $only_central" \
    HAKMEM_USE_CENTRAL_ROUTER=0
nolegacy HAKMEM_USE_CENTRAL_ROUTER=1 "" HAKMEM_USE_CENTRAL_ROUTER=1
# what the build does anyway (the defaults: no differential mode, no rollout, no report)
nolegacy defaults "" HAKMEM_ROUTER_DIFF=0 HAKMEM_ROUTER_ROLLOUT=-1 HAKMEM_DIVERGENCE_REPORT= \
    HAKMEM_ROUTER_ROLLBACK=0
# all at once: one line each, in the option table's order, nothing else
nolegacy all "hakmem: warning: HAKMEM_USE_CENTRAL_ROUTER is set but has no effect: $only_central"$'\n'"$all_lines" \
    "${mig[@]}" HAKMEM_USE_CENTRAL_ROUTER=0
# HAKMEM_USE_CENTRAL_ROUTER=1 says what this build does anyway, rollout or not: no warning of
# its own (the rollout rule applies only with legacy/).
nolegacy rollout+central "hakmem: warning: HAKMEM_ROUTER_ROLLOUT is set but has no effect: $no_migration" \
    HAKMEM_ROUTER_ROLLOUT=10 HAKMEM_USE_CENTRAL_ROUTER=1
# a garbage value is still refused as such (one warning naming the value), never read
nolegacy bad-rollout-by 'hakmem: warning: HAKMEM_ROUTER_ROLLOUT_BY="sight" is not one of site, class, process; using the default site' \
    HAKMEM_ROUTER_ROLLOUT_BY=sight
fi

finish
