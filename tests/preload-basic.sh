#!/bin/bash
# preload-basic.sh - quick LD_PRELOAD smoke test for libhakmem (part of `make check`).
#
# Environment (normally set by automake's AM_TESTS_ENVIRONMENT):
#   HK_LIB           absolute path of the .so to preload.  Set but empty:
#                        baseline run without LD_PRELOAD (to validate this
#                        script against the system allocator).  Unset: looked
#                        up in the build tree; not found is a FAIL.
#   HK_TOP_BUILDDIR  top build dir (default: current dir); the stress
#                        binary is $HK_TOP_BUILDDIR/tests/stress_mt
#   HK_TOP_SRCDIR    top source dir (default: dirname of this script/..)
#
# Prints one "PASS: name" / "FAIL: name: why" line per check (diagnostics
# follow a FAIL as lines starting with "#"), then "N passed, M failed".
# Exit status 1 if any check failed.  Writes only into a mktemp -d dir.
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
start_dir=$(pwd)
: "${HK_TOP_SRCDIR:=$(cd "$script_dir/.." && pwd)}"
if [ -z "${HK_TOP_BUILDDIR:-}" ]; then
    if [ ! -e "$start_dir/tests/stress_mt" ] && [ -e "$start_dir/stress_mt" ]; then
        HK_TOP_BUILDDIR=$(cd "$start_dir/.." && pwd)   # run from builddir/tests
    else
        HK_TOP_BUILDDIR=$start_dir
    fi
fi
case "$HK_TOP_BUILDDIR" in /*) ;; *) HK_TOP_BUILDDIR="$start_dir/$HK_TOP_BUILDDIR" ;; esac
export HK_TOP_SRCDIR HK_TOP_BUILDDIR

lib_from_env=1
if [ -z "${HK_LIB+set}" ]; then
    lib_from_env=0
    HK_LIB=
    for cand in "$HK_TOP_BUILDDIR/.libs/libhakmem.so" "$HK_TOP_BUILDDIR/libhakmem.so" \
                "$HK_TOP_BUILDDIR/src/.libs/libhakmem.so" "$HK_TOP_BUILDDIR/src/libhakmem.so"; do
        if [ -f "$cand" ]; then HK_LIB=$cand; break; fi
    done
fi
if [ -n "$HK_LIB" ]; then
    case "$HK_LIB" in /*) ;; *) HK_LIB="$start_dir/$HK_LIB" ;; esac
fi

# Nothing inherited may leak into the baseline runs.
unset LD_PRELOAD
export LC_ALL=C

STRESS="$HK_TOP_BUILDDIR/tests/stress_mt"
TMO=120   # per-command timeout (s): a deadlock is a FAIL, not a hang

tmp=$(mktemp -d "${TMPDIR:-/tmp}/hakmem-basic.XXXXXX")
# HK_KEEP_TMP=1 keeps the work dir (outputs, diffs) for debugging
cleanup() {
    if [ "${HK_KEEP_TMP:-0}" = 1 ]; then echo "# kept work dir $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cd "$tmp"

# pass, fail (ID WHAT "" FILE: FILE's lines follow the FAIL line), finish
# shellcheck source=checks.sh
. "$script_dir/checks.sh"

# have NAME PROG...: FAIL check NAME if a required program is missing
have() {
    local name=$1 p; shift
    for p in "$@"; do
        if ! command -v "$p" >/dev/null 2>&1; then
            fail "$name" "required program '$p' not found in PATH"
            return 1
        fi
    done
}

# run_base OUT ERR CMD... / run_pre OUT ERR CMD...: run with a timeout, stdout
# to OUT, stderr to ERR; sets $rc (never aborts the script).
run_base() {
    local out=$1 err=$2; shift 2
    rc=0
    { timeout -k 10 "$TMO" env "$@" >"$out" 2>"$err" </dev/null || rc=$?; } 2>>"$err"
}
run_pre() {
    local out=$1 err=$2; shift 2
    rc=0
    if [ -n "$HK_LIB" ]; then
        { timeout -k 10 "$TMO" env LD_PRELOAD="$HK_LIB" "$@" >"$out" 2>"$err" </dev/null || rc=$?; } 2>>"$err"
    else
        { timeout -k 10 "$TMO" env "$@" >"$out" 2>"$err" </dev/null || rc=$?; } 2>>"$err"
    fi
}
# why_rc RC: human-readable reason for a non-zero exit status
why_rc() {
    case $1 in
        124|137) echo "timed out after ${TMO}s (exit $1)" ;;
        *) if [ "$1" -gt 128 ]; then echo "killed by signal $(( $1 - 128 )) ($(kill -l $(( $1 - 128 )) 2>/dev/null || echo '?'))"; else echo "exit status $1"; fi ;;
    esac
}
# preload_error ERR: the dynamic loader refused the library?
preload_error() { grep -q -e 'cannot be preloaded' -e 'ERROR: ld.so' "$1"; }

echo "# preload-basic: HK_LIB=${HK_LIB:-<empty: baseline run without LD_PRELOAD>}"
echo "# builddir=$HK_TOP_BUILDDIR srcdir=$HK_TOP_SRCDIR"

# ---------------------------------------------------------------- preloaded?
if [ -z "$HK_LIB" ]; then
    if [ "$lib_from_env" = 0 ]; then
        fail "library preloaded" "HK_LIB unset and no libhakmem.so found under $HK_TOP_BUILDDIR"
    else
        echo "# NOTE: HK_LIB is empty: all 'preloaded' runs use the system allocator"
    fi
elif [ ! -f "$HK_LIB" ]; then
    fail "library preloaded" "HK_LIB=$HK_LIB does not exist"
else
    real=$(readlink -f "$HK_LIB")
    run_pre maps.out maps.err cat /proc/self/maps
    n=$(grep -cF -- "$real" maps.out || true)
    if [ "$rc" -ne 0 ]; then
        fail "library preloaded" "cat /proc/self/maps under preload: $(why_rc "$rc")" "" maps.err
    elif preload_error maps.err; then
        fail "library preloaded" "dynamic loader refused it: $(head -n 1 maps.err)"
    elif [ "$n" -lt 1 ]; then
        fail "library preloaded" "$real not mapped in a preloaded process"
    else
        pass "library preloaded ($(basename "$real") mapped $n times)"
    fi
fi

# ------------------------------------------------------------- (a) stress_mt
name="stress_mt 2 threads x 100000 ops, 8..4194304 bytes"
if [ ! -x "$STRESS" ]; then
    fail "$name" "$STRESS not found or not executable (build it first)"
else
    run_pre stress.out stress.err "$STRESS" 2 100000 8 4194304 1
    if [ "$rc" -ne 0 ]; then
        cat stress.out >>stress.err
        fail "$name" "$(why_rc "$rc")" "" stress.err
    elif preload_error stress.err; then
        fail "$name" "dynamic loader refused the library" "" stress.err
    elif ! grep -q '^stress_mt: threads=2 ops=200000 corruptions=0 ' stress.out; then
        fail "$name" "unexpected output" "" stress.out
    else
        pass "$name"
    fi
fi

# ------------------------------------------------------------------ (b) sort
# compare_runs NAME BASE_OUT PRE_OUT BASE_RC PRE_RC PRE_ERR
compare_runs() {
    local name=$1 bo=$2 po=$3 brc=$4 prc=$5 perr=$6
    if [ "$prc" -ne 0 ] && [ "$prc" -ne "$brc" ]; then
        fail "$name" "preloaded run: $(why_rc "$prc") (baseline exit $brc)" "" "$perr"
    elif [ "$prc" -ne "$brc" ]; then
        fail "$name" "exit status $prc with preload, $brc without" "" "$perr"
    elif [ "$brc" -ne 0 ]; then
        fail "$name" "baseline run (no preload) failed: $(why_rc "$brc")"
    elif preload_error "$perr"; then
        fail "$name" "dynamic loader refused the library" "" "$perr"
    else
        local hb hp
        hb=$(sha256sum <"$bo" | cut -d' ' -f1)
        hp=$(sha256sum <"$po" | cut -d' ' -f1)
        if [ "$hb" != "$hp" ]; then
            fail "$name" "output differs from baseline (sha256 $hp vs $hb)"
        elif [ ! -s "$bo" ]; then
            fail "$name" "empty output"
        else
            pass "$name"
        fi
    fi
}

if have "sort 200k lines" sort awk sha256sum; then
    awk 'BEGIN { srand(4242); for (i = 0; i < 200000; i++)
                 printf "%08x %d %s-%d\n", int(rand() * 4294967295), int(rand() * 100000),
                        substr("abcdefghijklmnopqrstuvwxyz", 1 + i % 26, 1 + i % 17), i }' >sort.in
    run_base sort1.base sort1.berr sort sort.in;                         b=$rc
    run_pre  sort1.pre  sort1.perr sort sort.in;                         p=$rc
    compare_runs "sort 200k lines" sort1.base sort1.pre "$b" "$p" sort1.perr
    mkdir -p sorttmp
    run_base sort2.base sort2.berr sort --parallel=2 -S 1M -T sorttmp -k2,2n -k3,3r sort.in; b=$rc
    run_pre  sort2.pre  sort2.perr sort --parallel=2 -S 1M -T sorttmp -k2,2n -k3,3r sort.in; p=$rc
    compare_runs "sort 200k lines, 2 threads, external merge" sort2.base sort2.pre "$b" "$p" sort2.perr
fi

# --------------------------------------------------------------- (c) python3
if have "python3 dict/list/json churn" python3 sha256sum; then
    cat >churn.py <<'EOF'
import hashlib, json, random
random.seed(12345)
h = hashlib.sha256()
keep = []
for rnd in range(12):
    d = {}
    for i in range(15000):
        k = "k%d_%d" % (rnd, random.randrange(200000))
        d[k] = [random.random(), str(i) * (i % 9), {"x": i, "y": [i] * (i % 6)}, b"z" * (i % 300)]
    for k in list(d)[::3]:
        del d[k]
    s = json.dumps({k: v[:3] for k, v in d.items()}, sort_keys=True)
    back = json.loads(s)
    assert len(back) == len(d)
    lst = sorted(d)
    st = set(lst[::2]) ^ set(lst[::3])
    h.update(s.encode())
    h.update("|".join(sorted(st)).encode())
    keep.append(bytearray(s.encode()[: 1 << (rnd + 8)]))
    if len(keep) > 4:
        keep.pop(0)
    del d, back, lst, st
print(len(keep), sum(map(len, keep)), h.hexdigest())
EOF
    run_base py.base py.berr PYTHONMALLOC=malloc PYTHONHASHSEED=0 python3 churn.py; b=$rc
    run_pre  py.pre  py.perr PYTHONMALLOC=malloc PYTHONHASHSEED=0 python3 churn.py; p=$rc
    compare_runs "python3 dict/list/json churn (PYTHONMALLOC=malloc)" py.base py.pre "$b" "$p" py.perr
fi

# --------------------------------------------------------- (d) tiny programs
# tiny NAME EXPECTED_STDOUT_OR_EMPTY CMD...: must exit 0 (and print EXPECTED)
tiny() {
    local name=$1 want=$2; shift 2
    run_pre tiny.out tiny.err "$@"
    if [ "$rc" -ne 0 ]; then
        fail "$name" "$(why_rc "$rc")" "" tiny.err
    elif preload_error tiny.err; then
        fail "$name" "dynamic loader refused the library" "" tiny.err
    elif [ -n "$want" ] && [ "$(cat tiny.out)" != "$want" ]; then
        fail "$name" "unexpected output '$(head -c 200 tiny.out)' (want '$want')"
    else
        pass "$name"
    fi
}
tiny "/bin/true" "" /bin/true
tiny "ls -la /usr/lib" "" ls -la /usr/lib
tiny "sh -c 'echo hi'" "hi" sh -c 'echo hi'
tiny "bash -c (arrays, subshells, pipes)" "3 hi 5050" \
    bash -c 'a=(x y z); s=0; for i in $(seq 1 100); do s=$((s+i)); done; echo "${#a[@]} $(echo hi | cat) $s"'
tiny "cat | wc -l" "2" sh -c 'printf "a\nb\n" | cat | wc -l'
tiny "env | grep -c ." "" sh -c 'env | grep -c . >/dev/null'
tiny "date -d @0 -u" "Thu Jan  1 00:00:00 UTC 1970" date -d @0 -u

finish
exit 0
