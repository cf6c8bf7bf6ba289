# shellcheck shell=bash
# peers.sh: where the peer allocators' libraries are, whether they load, and the environment
# that would change what any allocator does (sourced by bench/compare.sh and bench/profile.sh).

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
