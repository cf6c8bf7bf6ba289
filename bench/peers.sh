# shellcheck shell=bash
# peers.sh: where the peer allocators' libraries are (sourced by bench/compare.sh and
# bench/profile.sh).
find_lib() { # SONAME PACKAGE -> path on stdout, or nothing
    local p
    p=$(ldconfig -p 2>/dev/null | awk -v s="$1" '$1 == s && /x86-64|x86_64|64bit/ {print $NF; exit}')
    [ -z "$p" ] && p=$(ldconfig -p 2>/dev/null | awk -v s="$1" '$1 == s {print $NF; exit}')
    [ -z "$p" ] && p=$(dpkg -L "$2" 2>/dev/null | grep -F "/$1" | head -n 1)
    [ -n "$p" ] && [ -f "$p" ] && echo "$p"
}
