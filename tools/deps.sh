#!/usr/bin/env bash
# tools/deps.sh -- install the Debian packages hakmem's build, tests and demo
# need.  The ONE place the package list lives (used by .ci/run, tools/test.sh
# and tools/demo.sh).  Idempotent and quiet: does nothing when every package
# is already installed; only runs apt-get when root (otherwise it just names
# what is missing on stderr and carries on).
set -euo pipefail

HK_DEB_PACKAGES=(
    # build
    autoconf automake libtool autoconf-archive pkg-config check lcov
    gcc libc6-dev make
    # tests (tests/preload-real.sh), demo, tooling; binutils: hakmem-divergence names sites
    # offline (nm) and tests/evidence.sh strips a program (objcopy, strip, readelf);
    # strace: tests/reportfile.sh watches how reports are opened
    python3 sqlite3 git perl coreutils mawk valgrind clang binutils strace
    # tests/secure.sh: setpriv (run as nobody), setcap (a file-capability program)
    util-linux libcap2-bin
    # tests/render-html.sh, tests/route-map.sh: the HTML route map rendered in headless Chromium
    chromium
    # tests/man.sh and tools/test.sh's install check: the manual pages rendered (groff, man -l);
    # tests/launcher.sh: file(1) finds a statically linked program
    groff-base man-db file
    # tools/test.sh: the C files are formatted as .clang-format says
    clang-format
    # tools/reliability.sh: libFuzzer and clang's sanitizer runtimes (clang only recommends them)
    libclang-rt-dev
    # make bench-compare: the peers, and GNU time for peak RSS
    libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4 time
)

missing_of() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
            printf '%s\n' "$p"
    done
}

apt_updated=0
install_pkgs() {
    [ "$#" -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "deps.sh: not root (or no apt-get); missing packages: $*" >&2
        return 0
    fi
    echo "deps.sh: installing $*"
    local log rc=0
    log=$(mktemp)
    {
        if [ "$apt_updated" = 0 ]; then apt-get update -qq; fi &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    } >"$log" 2>&1 || rc=$?
    apt_updated=1
    if [ "$rc" -ne 0 ]; then
        cat "$log" >&2
        rm -f "$log"
        echo "deps.sh: apt-get failed (exit $rc)" >&2
        return "$rc"
    fi
    rm -f "$log"
}

mapfile -t missing < <(missing_of "${HK_DEB_PACKAGES[@]}")
install_pkgs ${missing[@]+"${missing[@]}"}

# Python's own regression tests (used by tests/preload-real.sh): the package
# name carries the python3 version, e.g. libpython3.11-testsuite on Debian 12.
if command -v python3 >/dev/null 2>&1; then
    pyver=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    mapfile -t missing < <(missing_of "libpython${pyver}-testsuite")
    install_pkgs ${missing[@]+"${missing[@]}"}
fi
exit 0
