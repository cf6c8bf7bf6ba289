# checks.sh: the PASS/FAIL bookkeeping shared by the bash test scripts (sourced, not run).
#   scrub_hakmem_env [KEEP...]   unset every HAKMEM_* variable but KEEP (the harness's own
#                                variables are HK_*: hakmem warns about HAKMEM_* names it does
#                                not know)
#   pass ID WHAT                 one "PASS: ID: WHAT" line (pass WHAT: "PASS: WHAT")
#   fail ID WHAT WHY [FILE]      one "FAIL: ID: WHAT: WHY" line, then FILE's distinct lines
#                                (the first 8 and the last 7 of a longer one); fail WHAT:
#                                "FAIL: WHAT"; fail ID WHAT (or an empty WHY): "FAIL: ID: WHAT"
#                                FILE -: the lines are read from stdin (fail ID WHAT "" - <<<"$out")
#   run_t SECONDS CMD...         CMD (a program, not a function) under timeout: killed
#                                (SIGTERM, SIGKILL 10 s later) after SECONDS, its exit status
#                                kept (124 after a timeout, with a "# ... timed out" line on
#                                stderr); environment assignments before run_t reach CMD
#                                (and timeout: put LD_PRELOAD after `run_t N env`)
#   kill_t PID                   SIGKILL a `timeout ... CMD &` started in the background
#                                (PID = $!) and CMD with it: timeout leads its own process
#                                group
#   finish                       "N passed, M failed"; returns 1 when any failed
#   hk_scratch [KEEP...]         the usual start: scrub_hakmem_env KEEP..., no LD_PRELOAD, and
#                                tmp, a fresh directory removed at exit
#   hk_legacy_built              true when the build has legacy/ and compare/ (the legacy
#                                path, the differential mode and its tools): HK_CONFIG_LEGACY
#                                (else config.h's), 1 unless ./configure --disable-legacy
#   hk_left_out N                N cases of the legacy path or the differential mode not run
#                                (not applicable in this build); finish says how many, in one
#                                "# ..." line (scripts with their own summary: hk_left_out_note)
# HK_XFAIL="ID ..." marks known failures: they print XFAIL, and an XPASS is a failure.
# Where things are, unless the script set them first: bld (the build directory), src (the
# source tree), lib (libhakmem.so), from the test environment (HK_TOP_BUILDDIR, HK_TOP_SRCDIR,
# HK_LIB).
: "${bld:=${HK_TOP_BUILDDIR:-$PWD}}"
: "${src:=${HK_TOP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}}"
: "${lib:=${HK_LIB:-$bld/.libs/libhakmem.so}}"
npass=0 nfail=0 nxfail=0 nleftout=0
xfail_ids=" ${HK_XFAIL:-} "

scrub_hakmem_env() {
    local v k keep
    for v in $(env | sed -n 's/^\(HAKMEM_[A-Z0-9_]*\)=.*/\1/p'); do
        keep=0
        for k in "$@"; do [[ $v == $k ]] && keep=1; done
        [ "$keep" = 1 ] || unset "$v"
    done
}

hk_scratch() {
    scrub_hakmem_env "$@"
    unset LD_PRELOAD
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
}

pass() {
    local line=$1
    [ $# -ge 2 ] && line+=": $2"
    if [[ $xfail_ids == *" $1 "* ]]; then
        echo "FAIL: $line: XPASS (listed in HK_XFAIL but passed: remove it)"
        nfail=$((nfail + 1))
    else
        echo "PASS: $line"
        npass=$((npass + 1))
    fi
}

fail() {
    local line=$1
    [ $# -ge 2 ] && line+=": $2"
    [ -n "${3:-}" ] && line+=": $3"
    if [[ $xfail_ids == *" $1 "* ]]; then
        echo "XFAIL: $line"
        nxfail=$((nxfail + 1))
    else
        echo "FAIL: $line"
        nfail=$((nfail + 1))
    fi
    if [ "${4:-}" = - ] || { [ -n "${4:-}" ] && [ -s "$4" ]; }; then
        awk '!seen[$0]++' "$4" | awk '{l[NR] = $0} END {for (i = 1; i <= NR; i++)
            if (NR <= 15 || i <= 8 || i > NR - 7) print "#   " l[i]; else if (i == 9) print "#   ..."}'
    fi
}

run_t() {
    local secs=$1 rc
    shift
    timeout -k 10 "$secs" "$@"
    rc=$?
    [ "$rc" = 124 ] && echo "# timed out after ${secs}s: $*" >&2
    return "$rc"
}

kill_t() { kill -9 -- "-$1" 2>/dev/null; }

hk_legacy_built() {
    if [ -z "${HK_CONFIG_LEGACY:-}" ]; then # run by hand: the build's config.h says
        HK_CONFIG_LEGACY=1
        grep -q '^#define HAKMEM_CONFIG_LEGACY 0' "$bld/config.h" 2>/dev/null && HK_CONFIG_LEGACY=0
    fi
    [ "$HK_CONFIG_LEGACY" = 1 ]
}

hk_left_out() { nleftout=$((nleftout + $1)); }

hk_left_out_note() {
    [ "$nleftout" -gt 0 ] &&
        echo "# $nleftout cases left out: this build has no legacy/ (--disable-legacy): no legacy path, no differential mode"
    return 0
}

finish() {
    [ "$nxfail" -gt 0 ] && echo "# $nxfail expected failures (HK_XFAIL)"
    hk_left_out_note
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}
