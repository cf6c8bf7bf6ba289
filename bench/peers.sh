# shellcheck shell=bash
# peers.sh: where the peer allocators' libraries are, whether they load, and the environment
# that would change what any allocator does, and how a run preloads a library and failed
# (sourced by bench/compare.sh, bench/profile.sh and bench/instr.sh).

# Nothing inherited may change a config: LD_PRELOAD, GLIBC_TUNABLES and every HAKMEM_*,
# MALLOC_* (glibc's, jemalloc's MALLOC_CONF), MIMALLOC_* and TCMALLOC_* variable are removed;
# each config then sets exactly its own.
clear_alloc_env() {
    local v
    unset LD_PRELOAD GLIBC_TUNABLES
    while read -r v; do unset "$v"; done < <(env | sed -n 's/^\(\(HAKMEM\|MALLOC\|MIMALLOC\|TCMALLOC\)_[A-Za-z0-9_]*\)=.*/\1/p')
}

find_lib() { # SONAME PACKAGE -> path on stdout, or nothing
    local p
    p=$(ldconfig -p 2>/dev/null | awk -v s="$1" '$1 == s && /x86-64|x86_64|64bit/ {print $NF; exit}')
    [ -z "$p" ] && p=$(ldconfig -p 2>/dev/null | awk -v s="$1" '$1 == s {print $NF; exit}')
    [ -z "$p" ] && p=$(dpkg -L "$2" 2>/dev/null | grep -F "/$1" | head -n 1)
    [ -n "$p" ] && [ -f "$p" ] && echo "$p"
}

# peer_lib SONAME PACKAGE: the library's path (status 0) or why it cannot be used (status 1),
# on stdout. A library the dynamic loader refuses to preload (it says so and goes on without
# it) is not that peer.
peer_lib() {
    local p err
    p=$(find_lib "$1" "$2")
    if [ -z "$p" ]; then
        echo "$1 not found (ldconfig -p, dpkg -L $2); apt-get install $2"
        return 1
    fi
    if err=$(env LD_PRELOAD="$p" true 2>&1) && [ -z "$err" ]; then
        echo "$p"
        return 0
    fi
    echo "$p cannot be preloaded: $(printf '%s' "$err" | head -n 1)"
    return 1
}

# preload_link DIR FILE NAME: a link DIR/NAME to FILE (made absolute), on stdout. LD_PRELOAD
# splits its value on spaces and colons: the link's path must have neither, so a library whose
# own path has them is still reached (status 1 and the reason on stdout otherwise).
preload_link() {
    local d=$1 f=$2 abs
    case $d in *[\ :]*)
        echo "$d has a space or a colon, which LD_PRELOAD cannot hold (set TMPDIR to a plain directory)"
        return 1
        ;;
    esac
    [ -f "$f" ] || { echo "$f: not a file"; return 1; }
    abs=$(cd "$(dirname "$f")" && pwd) || { echo "$f: its directory cannot be entered"; return 1; }
    abs=$abs/$(basename "$f")
    ln -s "$abs" "$d/$3" || { echo "cannot make the link $d/$3"; return 1; }
    echo "$d/$3"
}

# hakmem_probe LIB: status 0 if LIB loads and is hakmem (it prints "hakmem stats" at exit under
# HAKMEM_STATS=1); else status 1 and the reason (the loader's message) on stdout.
hakmem_probe() {
    local err
    [ -f "$1" ] || { echo "$1: not a file"; return 1; }
    if err=$(env LD_PRELOAD="$1" HAKMEM_STATS=1 true 2>&1 >/dev/null) &&
        printf '%s\n' "$err" | grep -q '^hakmem stats' && ! printf '%s\n' "$err" | grep -q 'ld\.so: '; then
        return 0
    fi
    err=$(printf '%s\n' "$err" | grep -v '^ ' | head -n 1)
    echo "${err:-no \"hakmem stats\" at exit under HAKMEM_STATS=1: not hakmem}"
    return 1
}

# preload_failed FILE: status 0 when the dynamic loader said in FILE (a run's standard error)
# that it could not preload a library (it then goes on without it: the run measured another
# allocator).
preload_failed() { grep -q "ld\.so: object .* cannot be preloaded" "$1" 2>/dev/null; }

# exit_why STATUS [TIMEOUT]: a run's exit status in words ("exit 1", "killed by SIGABRT",
# "timed out after TIMEOUT=S s": status 124 of timeout(1)).
exit_why() {
    local rc=$1 s
    if [ -n "${2:-}" ] && [ "$rc" = 124 ]; then
        echo "timed out after TIMEOUT=$2 s"
    elif [ "$rc" -gt 128 ] && s=$(kill -l $((rc - 128)) 2>/dev/null); then
        echo "killed by SIG$s"
    else
        echo "exit $rc"
    fi
}
