#!/usr/bin/env bash
# descriptors.sh - hakmem never writes into a descriptor the program may have reused (part of
# `make check', a few seconds).
#
# A daemon-like program (tests/hostile daemon MODE DATA) allocates, closes descriptors 3..63,
# opens a data file (it gets the lowest free number, where hakmem may have kept a descriptor)
# and writes one line into it; then hakmem has something to say:
#   stats    HAKMEM_STATS=1: the report at exit
#   report   HAKMEM_DIVERGENCE_REPORT unwritable: the warning at exit
#   warn     a divergence while the Central Router executes with HAKMEM_ROUTER_ROLLBACK=1 and an
#            unopenable HAKMEM_DIVERGENCE_LOG: two warnings while the program runs
#   log      HAKMEM_DIVERGENCE_LOG opened before the program closed it: a second divergence
#   abort    a double free: the fail-closed line, then SIGABRT
# (report, warn and log need the differential mode: not run in a build without legacy/.)
# Each time the data file must hold exactly the program's line, and hakmem's lines must be on
# stderr (or, for the log, in the log file). Then: a program that closes stderr itself before
# exit (as coreutils do) still gets its HAKMEM_STATS=1 report on the original stderr (hakmem's
# kept duplicate, checked to be the same open file before every write); one that closed that
# duplicate too loses the report (nothing left is stderr) and its data file stays untouched;
# a stderr pipe whose reader is gone costs the lines, never a SIGPIPE.
# Environment: HK_LIB, HK_TOP_BUILDDIR (AM_TESTS_ENVIRONMENT).
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
export LC_ALL=C
unset LD_PRELOAD
prog="$bld/tests/hostile"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-fds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
ulimit -c 0 2>/dev/null || true
scrub_hakmem_env

# A table under which 300000-400000 and 600000-700000 diverge (mmap instead of l25).
"$bld/tools/hakmem-routes" | sed 's/^53249 2097151 l25 ace$/53249 299999 l25 ace\n300000 400000 mmap\n400001 599999 l25 ace\n600000 700000 mmap\n700001 2097151 l25 ace/' >table.txt
grep -q '^600000 700000 mmap$' table.txt || { echo "FAIL: setup: could not write the test table"; exit 1; }

# daemon ID MODE WANT-RC STDERR-ERE [VAR=value...]
daemon() {
    local id=$1 mode=$2 want=$3 ere=$4
    shift 4
    rm -f data.txt
    local rc=0
    { ( exec timeout -k 5 30 env LD_PRELOAD="$lib" "$@" "$prog" daemon "$mode" "$tmp/data.txt" ) >out 2>err </dev/null || rc=$?; } 2>/dev/null
    local content
    content=$(cat data.txt 2>/dev/null)
    if [ "$rc" -ne "$want" ]; then
        fail "fd:$id" "daemon ($mode)" "exit $rc, want $want" err
    elif [ "$content" != "daemon data" ]; then
        fail "fd:$id" "daemon ($mode): the data file is untouched" "$(grep '^data fd' out); data file now: $(head -c 300 data.txt | tr '\n' '|')"
    elif [ "$ere" != - ] && ! grep -qE "$ere" err; then
        fail "fd:$id" "daemon ($mode): hakmem's lines are on stderr" "no line matching /$ere/ on stderr" err
    else
        local said=""
        [ "$ere" != - ] && said=", stderr: '$(grep -E "$ere" err | head -n 1 | cut -c1-70)'"
        pass "fd:$id" "daemon ($mode), $(grep '^data fd' out): data file untouched$said"
    fi
}
daemon stats stats 0 '^hakmem stats \(pid' HAKMEM_STATS=1
if hk_legacy_built; then
    daemon report report 0 '^hakmem: warning: HAKMEM_DIVERGENCE_REPORT=' \
        HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/no/such/dir/r.json"
    daemon warn warn 0 '^hakmem: warning: rollback: ' HAKMEM_STATS=1 HAKMEM_ROUTER_DIFF=1 \
        HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_ROUTER_ROLLBACK=1 HAKMEM_ROUTER_TABLE="$tmp/table.txt" \
        HAKMEM_DIVERGENCE_LOG="$tmp/no/such/dir/log.jsonl"
    if grep -q '^hakmem: warning: HAKMEM_DIVERGENCE_LOG=' err; then
        pass fd:warn-log "daemon (warn): the divergence log's warning is on stderr"
    else
        fail fd:warn-log "daemon (warn): the divergence log's warning is on stderr" "missing" err
    fi
    rm -f log.jsonl
    daemon log log 0 - HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/table.txt" \
        HAKMEM_DIVERGENCE_LOG="$tmp/log.jsonl"
    n=$(grep -c '"divergence"' log.jsonl 2>/dev/null)
    if [ "${n:-0}" = 2 ] && grep -q '"size_min": 650000' log.jsonl; then
        pass fd:log-lines "daemon (log): both divergences are in the log file (the second one after the program closed its descriptor)"
    else
        fail fd:log-lines "daemon (log): both divergences in the log file" "${n:-0} lines" log.jsonl
    fi
else
    hk_left_out 5 # the differential mode's report, warnings and log
fi
daemon abort abort 134 '^hakmem: free\(\): double free of 0x[0-9a-f]+ ' HAKMEM_STATS=1

# The daemon closes hakmem's duplicate of stderr too, then stderr itself: nothing can be
# trusted any more, and the report is lost rather than written into the data file.
rc=0
timeout -k 5 30 env LD_PRELOAD="$lib" HAKMEM_STATS=1 "$prog" daemon close2 "$tmp/data.txt" >out 2>err </dev/null || rc=$?
if [ "$rc" = 0 ] && [ "$(cat data.txt)" = "daemon data" ] && ! grep -q 'hakmem' err; then
    pass fd:closed-all "daemon closed 3..63 and stderr: the data file untouched (the report is lost: no descriptor left is stderr)"
else
    fail fd:closed-all "daemon closed 3..63 and stderr: the data file untouched" "exit $rc, data '$(head -c 100 data.txt)'" err
fi
# A program that closes only stderr before exit (as coreutils do): the report still reaches
# the original stderr through hakmem's duplicate.
rc=0
timeout -k 5 30 env LD_PRELOAD="$lib" HAKMEM_STATS=1 "$prog" close-stderr >out 2>err </dev/null || rc=$?
if [ "$rc" = 0 ] && grep -q '^hakmem stats (pid' err; then
    pass fd:closed-stderr "program closed stderr before exit: HAKMEM_STATS=1 report still on the original stderr"
else
    fail fd:closed-stderr "program closed stderr before exit: report on the original stderr" "exit $rc" err
fi
# stderr a pipe whose reader is gone (`2>&1 | head -1' after head exits): hakmem's report
# must not kill the program with SIGPIPE.
mkfifo epipe
exec 7<>epipe 8>epipe 7<&- # a write end whose every reader is closed: EPIPE
rc=0
HAKMEM_STATS=1 LD_PRELOAD="$lib" timeout -k 5 30 "$prog" ok >/dev/null 2>&8 || rc=$?
exec 8>&-
if [ "$rc" = 0 ]; then
    pass fd:epipe "stderr a pipe nobody reads: the exit-time report costs hakmem's lines, not the program's exit status"
else
    fail fd:epipe "stderr a pipe nobody reads: exit status unchanged" "exit $rc (141: killed by SIGPIPE)"
fi
# ... and the same with sort, which closes stderr in its atexit handler.
if command -v sort >/dev/null; then
    rc=0
    printf 'b\na\n' | timeout -k 5 30 env LD_PRELOAD="$lib" HAKMEM_STATS=1 sort >out 2>err || rc=$?
    if [ "$rc" = 0 ] && [ "$(tr '\n' ' ' <out)" = "a b " ] && grep -q '^hakmem stats (pid' err; then
        pass fd:sort "sort (closes stderr at exit) under HAKMEM_STATS=1: report on stderr"
    else
        fail fd:sort "sort under HAKMEM_STATS=1: report on stderr" "exit $rc" err
    fi
fi
finish
