#!/usr/bin/env bash
# secure.sh - a real setuid-root (and setgid-root, and file-capability) program run by an
# unprivileged user ignores every HAKMEM_* variable that names a file, would weaken a check or
# would print addresses (part of `make check').
#
# tests/secure_prog.c is compiled against a copy of libhakmem.so with an absolute rpath, in a
# fresh directory on a filesystem that honours the setuid bit, made setuid root, and run as
# `nobody' (setpriv) with a routing table, a divergence report and log in a directory only
# root may write, HAKMEM_VERBOSE=1 and every other such variable set (the list is the
# options table's `secure' column, core/base/hk_options.h). The process must really be in
# secure-execution mode (it prints getauxval(AT_SECURE) = 1 and euid 0), and then:
#   - stderr holds exactly one hakmem line, naming every ignored variable;
#   - the routing table did not apply (100 bytes still Tiny), no report or log file exists;
# then the same program run by root (not secure) honours them all (the control: the checks
# above can fail). A build without legacy/ (--disable-legacy) has no divergence report or log:
# there HAKMEM_ROUTER_DIFF is not set (it would only warn that it does nothing), and the
# control sees the report and log variables read (each warns that this build has no use for
# it) instead of written. Needs root (to make a setuid-root file and to switch users): otherwise
# SKIP (exit 77), with the reason.
# Environment: HK_LIB, HK_TOP_SRCDIR, HK_TOP_BUILDDIR, HK_CC (the compiler).
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
export LC_ALL=C
unset LD_PRELOAD
bld=${HK_TOP_BUILDDIR:-$PWD}
src=${HK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
lib=${HK_LIB:-$bld/.libs/libhakmem.so}
read -ra cc <<<"${HK_CC:-cc}" # may carry flags: "gcc -std=gnu11"
scrub_hakmem_env

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root: a setuid-root test program cannot be made"
# setpriv is installed by tools/deps.sh (util-linux), and Debian always has nobody: missing,
# they fail the test rather than skip it.
command -v setpriv >/dev/null || { echo "FAIL: setup: no setpriv (util-linux: bash tools/deps.sh)"; exit 1; }
nobody=$(id -u nobody 2>/dev/null) || { echo "FAIL: setup: no user nobody"; exit 1; }
nogroup=$(id -g nobody)
real_lib=$(readlink -f "$lib")
[ -f "$real_lib" ] || { echo "FAIL: setup: $lib not found (build first)"; exit 1; }

# The variables the options table marks as ignored in secure-execution mode.
mapfile -t insecure < <(sed -n 's/.*X([A-Z0-9_]*, [A-Z]*, INSECURE, "\(HAKMEM_[A-Z0-9_]*\)".*/\1/p' "$src/core/base/hk_options.h")
[ "${#insecure[@]}" -ge 4 ] || { echo "FAIL: setup: only ${#insecure[@]} INSECURE options in hk_options.h"; exit 1; }

# A directory on a filesystem that honours setuid, reachable by nobody.
d=
for base in "${TMPDIR:-/tmp}" /var/tmp "$bld"; do
    c=$(mktemp -d "$base/hakmem-secure.XXXXXX" 2>/dev/null) || continue
    chmod 755 "$c"
    cp "$real_lib" "$c/libhakmem.so.0" && chmod 644 "$c/libhakmem.so.0"
    if ! "${cc[@]}" -O1 -o "$c/prog" "$src/tests/secure_prog.c" "$c/libhakmem.so.0" \
        -Wl,-rpath,"$c" 2>"$c/cc.err"; then
        cat "$c/cc.err"
        rm -rf "$c"
        echo "FAIL: setup: cannot compile tests/secure_prog.c with ${cc[*]}"
        exit 1
    fi
    chown root:root "$c/prog" && chmod 4755 "$c/prog"
    if setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups -- "$c/prog" 2>/dev/null |
        grep -q '^at_secure=1 .* euid=0 '; then
        d=$c
        break
    fi
    echo "# $base: a setuid program run by nobody is not in secure-execution mode there (nosuid mount, or unreachable by nobody)"
    rm -rf "$c"
done
[ -n "$d" ] || skip "no directory where a setuid-root program runs as nobody in secure-execution mode (tried ${TMPDIR:-/tmp}, /var/tmp, $bld)"
trap 'rm -rf "$d"' EXIT
mkdir "$d/rootonly" && chmod 755 "$d/rootonly" # only root may create files here
printf '0 18446744073709551615 mmap\n' >"$d/table.txt"
chmod 644 "$d/table.txt"

# The attacker's environment: every INSECURE variable set to something with an effect.
envs=()
for v in "${insecure[@]}"; do
    case $v in
        HAKMEM_ROUTER_TABLE) envs+=("$v=$d/table.txt") ;;
        HAKMEM_DIVERGENCE_REPORT) envs+=("$v=$d/rootonly/report.%p.json") ;;
        HAKMEM_DIVERGENCE_LOG) envs+=("$v=$d/rootonly/log.jsonl") ;;
        HAKMEM_VERBOSE) envs+=("$v=1") ;;
        HAKMEM_FAULT) envs+=("$v=mmap:1:persist") ;;
        *) envs+=("$v=$d/rootonly/$v") ;;
    esac
done
common=(HAKMEM_USE_CENTRAL_ROUTER=1 HAKMEM_STATS=1)
hk_legacy_built && common+=(HAKMEM_ROUTER_DIFF=1) # the report and log need the differential mode

# run AS MODE: AS=nobody|root
run() {
    rc=0
    if [ "$1" = nobody ]; then
        { ( exec timeout -k 5 30 env -i PATH=/usr/bin:/bin "${common[@]}" "${envs[@]}" \
            setpriv --reuid="$nobody" --regid="$nogroup" --clear-groups -- "$d/prog" ) \
            >"$d/o" 2>"$d/e" </dev/null || rc=$?; } 2>/dev/null
    else
        { ( exec timeout -k 5 30 env -i PATH=/usr/bin:/bin "${common[@]}" "${envs[@]}" "$d/prog" ) \
            >"$d/o" 2>"$d/e" </dev/null || rc=$?; } 2>/dev/null
    fi
}

modes=(setuid setgid)
command -v setcap >/dev/null && modes+=(capabilities)
for mode in "${modes[@]}"; do
    case $mode in
        setgid) chmod 2755 "$d/prog" ;;
        capabilities) # a harmless file capability: AT_SECURE without any id change
            chmod 755 "$d/prog"
            setcap cap_net_bind_service=ep "$d/prog" || { fail "secure:$mode" "setcap on the test program" "setcap failed"; continue; } ;;
    esac
    rm -f "$d"/rootonly/*
    run nobody
    hk_lines=$(grep -c '^hakmem\|^\[Router\]\|^\[Pool\]' "$d/e")
    line=$(grep '^hakmem: ' "$d/e" | head -n 1)
    missing=""
    for v in "${insecure[@]}"; do [[ $line == *" $v"* || $line == *"$v,"* ]] || missing+=" $v"; done
    if ! grep -qE '^at_secure=1 ' "$d/o"; then
        fail "secure:$mode" "$mode program run by nobody" "not in secure-execution mode: $(head -n 1 "$d/o")" "$d/e"
    elif [ "$rc" -ne 0 ]; then
        fail "secure:$mode" "$mode program run by nobody" "exit $rc" "$d/e"
    elif ! grep -q '^hakmem: warning: secure-execution process' "$d/e" || [ -n "$missing" ]; then
        fail "secure:$mode" "$mode: one line naming every ignored variable" "missing:${missing:- the line}" "$d/e"
    elif [ "$(grep -c '^hakmem: warning' "$d/e")" -ne 1 ] || grep -q '^\[Router\]\|^\[Pool\]' "$d/e"; then
        fail "secure:$mode" "$mode: exactly one hakmem line (HAKMEM_VERBOSE ignored)" "$hk_lines lines" "$d/e"
    elif ! grep -q '^hakmem stats (pid' "$d/e"; then
        fail "secure:$mode" "$mode: HAKMEM_STATS=1 (harmless) still honoured" "no stats report" "$d/e"
    elif ! grep -q '^box(100)=tiny box(100000)=l25$' "$d/o"; then
        fail "secure:$mode" "$mode: HAKMEM_ROUTER_TABLE ignored" "$(sed -n 2p "$d/o")"
    elif [ -n "$(ls -A "$d/rootonly")" ]; then
        fail "secure:$mode" "$mode: no report or log written" "$(ls -l "$d/rootonly")"
    else
        pass "secure:$mode" "$mode program run by nobody ($(head -n 1 "$d/o")): '$(cut -c1-150 <<<"$line")', table ignored, no file written"
    fi
done

# A fault in a secure-execution process: the line names it, but shows no address (a user must
# not learn a privileged program's layout from it).
rc=0
{ ( exec timeout -k 5 30 env -i PATH=/usr/bin:/bin setpriv --reuid="$nobody" --regid="$nogroup" \
    --clear-groups -- "$d/prog" double-free ) >"$d/o" 2>"$d/e" </dev/null || rc=$?; } 2>/dev/null
if [ "$rc" = 134 ] && grep -q '^hakmem: free(): double free of (address hidden) (tiny block of 64 bytes); aborting' "$d/e" &&
    ! grep -q '0x[0-9a-f]' "$d/e"; then
    pass secure:fault-line "a fault in the capabilities/setgid program: '$(head -c 110 "$d/e")'"
else
    fail secure:fault-line "a fault in a secure-execution process shows no address" "exit $rc" "$d/e"
fi

# The control: root runs it (uid == euid: not secure) and every variable takes effect.
command -v setcap >/dev/null && setcap -r "$d/prog" 2>/dev/null
chmod 755 "$d/prog"
rm -f "$d"/rootonly/*
run root
if hk_legacy_built; then
    written() { ls "$d"/rootonly/report.*.json >/dev/null 2>&1 && [ -s "$d/rootonly/log.jsonl" ]; }
    what="table, report, log and verbose all honoured"
else
    nomig="is set but has no effect: this build has no legacy path and no differential mode (--disable-legacy)"
    written() {
        grep -qxF "hakmem: warning: HAKMEM_DIVERGENCE_REPORT $nomig" "$d/e" &&
            grep -qxF "hakmem: warning: HAKMEM_DIVERGENCE_LOG $nomig" "$d/e" && [ -z "$(ls -A "$d/rootonly")" ]
    }
    what="table and verbose honoured, the report and log variables read (no legacy/: one warning each, no file)"
fi
if grep -q '^at_secure=0 ' "$d/o" && [ "$rc" = 0 ] && ! grep -q '^hakmem: warning: secure' "$d/e" &&
    grep -q '^box(100)=mmap box(100000)=mmap$' "$d/o" && written && grep -q '^\[Router\]' "$d/e"; then
    pass secure:control "the same program run by root (not secure): $what"
else
    fail secure:control "the same program run by root honours the variables" "exit $rc; $(tr '\n' ' ' <"$d/o"); files: $(ls "$d/rootonly" | tr '\n' ' ')" "$d/e"
fi
finish
