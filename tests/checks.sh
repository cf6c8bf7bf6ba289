# checks.sh: the PASS/FAIL bookkeeping shared by the bash test scripts (sourced, not run).
#   scrub_hakmem_env [KEEP...]   unset every HAKMEM_* variable but KEEP (the harness's own
#                                variables are HK_*: hakmem warns about HAKMEM_* names it does
#                                not know)
#   pass ID WHAT                 one "PASS: ID: WHAT" line
#   fail ID WHAT WHY [FILE]      one "FAIL: ID: WHAT: WHY" line, then the first lines of FILE
#   finish                       "N passed, M failed"; returns 1 when any failed
#   hk_scratch [KEEP...]         the usual start: scrub_hakmem_env KEEP..., no LD_PRELOAD, and
#                                tmp, a fresh directory removed at exit
# HK_XFAIL="ID ..." marks known failures: they print XFAIL, and an XPASS is a failure.
# Where things are, unless the script set them first: bld (the build directory), src (the
# source tree), lib (libhakmem.so), from the test environment (HK_TOP_BUILDDIR, HK_TOP_SRCDIR,
# HK_LIB).
: "${bld:=${HK_TOP_BUILDDIR:-$PWD}}"
: "${src:=${HK_TOP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}}"
: "${lib:=${HK_LIB:-$bld/.libs/libhakmem.so}}"
npass=0 nfail=0 nxfail=0
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
    if [[ $xfail_ids == *" $1 "* ]]; then
        echo "FAIL: $1: $2: XPASS (listed in HK_XFAIL but passed: remove it)"
        nfail=$((nfail + 1))
    else
        echo "PASS: $1: $2"
        npass=$((npass + 1))
    fi
}

fail() {
    if [[ $xfail_ids == *" $1 "* ]]; then
        echo "XFAIL: $1: $2: $3"
        nxfail=$((nxfail + 1))
    else
        echo "FAIL: $1: $2: $3"
        nfail=$((nfail + 1))
    fi
    if [ -n "${4:-}" ] && [ -s "$4" ]; then awk '!seen[$0]++' "$4" | head -n 10 | sed 's/^/#   /'; fi
}

finish() {
    [ "$nxfail" -gt 0 ] && echo "# $nxfail expected failures (HK_XFAIL)"
    echo "$npass passed, $nfail failed"
    [ "$nfail" -eq 0 ]
}
