#!/usr/bin/env bash
# man.sh: the manual pages.
#  - every page the build generates (man/*.[13]) renders with `groff -man -ww` without a single
#    warning or error;
#  - hakmem(3) documents every variable of the option table (hakmem-options --names), with
#    its default and range as the table has them;
#  - each tool's page documents every long option its --help lists, and nothing it lacks;
#  - `make install` puts the pages under $(mandir) (checked by tools/test.sh's distcheck);
#  - the migration's tools and pages (hakmem-routecheck, hakmem-divergence) are built and
#    installed exactly when the build has legacy/: the Makefile's install lists say so, and a
#    build without legacy/ (--disable-legacy) generates neither page.
set -uo pipefail
bld=${HK_TOP_BUILDDIR:-$PWD}
src=${HK_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=tests/checks.sh
. "$src/tests/checks.sh"
scrub_hakmem_env
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pages=(hakmem.3 hakmem-run.1 hakmem-options.1 hakmem-routes.1)
migration_tools=(hakmem-routecheck hakmem-divergence)
if hk_legacy_built; then
    pages+=(hakmem-routecheck.1 hakmem-divergence.1)
else
    hk_left_out 4 # the two migration pages rendered, the two tools' options documented
fi
for p in "${pages[@]}"; do
    f=$bld/man/$p
    if [ ! -s "$f" ]; then
        fail "render-$p" "$p is generated" "missing: $f"
        continue
    fi
    if timeout 60 groff -man -ww -z -Tutf8 "$f" >"$tmp/out" 2>"$tmp/err" && [ ! -s "$tmp/err" ]; then
        pass "render-$p" "groff -man -ww renders $p without a warning"
    else
        fail "render-$p" "groff -man -ww renders $p without a warning" "groff said:" "$tmp/err"
    fi
done

# hakmem(3): every option, with default and range, in its ENVIRONMENT section.
man3=$bld/man/hakmem.3
timeout 60 groff -man -Tutf8 -P-cbou "$man3" 2>/dev/null | sed -n '/^ENVIRONMENT/,/^DIAGNOSTICS/p' >"$tmp/env.txt"
tr -s ' \n' ' ' <"$tmp/env.txt" | sed 's/‐ //g; s/- //g' >"$tmp/env.flat"
n=0
while IFS= read -r line; do
    name=$(awk '{print $1}' <<<"$line")
    def=$(awk '{print $3}' <<<"$line")
    range=$(awk '{print $5}' <<<"$line")
    n=$((n + 1))
    if [ "$range" = path ]; then want="$name A path; unset by default."
    elif [[ $range == *..* ]]; then want="$name An integer from ${range%%..*} to ${range##*..}; default $def."
    else want="$name One of ${range//,/, }; default $def."; fi
    if grep -qF -- "$want" "$tmp/env.flat"; then
        pass "option-$name" "hakmem(3) documents $name (default $def, range $range)"
    else
        fail "option-$name" "hakmem(3) documents $name" "\"$want\" not in its ENVIRONMENT section"
    fi
done < <("$bld/tools/hakmem-options")
[ "$n" -gt 10 ] && pass options-parsed "hakmem-options lists $n variables" ||
    fail options-parsed "hakmem-options lists the option table" "only $n rows"
# ... and nothing else: every HAKMEM_* variable the page names as an entry is in the table.
for listed in $(grep -A1 '^\.TP' "$man3" | sed -n 's/^\.B \(HAKMEM_[A-Z0-9_]*\)$/\1/p'); do
    if "$bld/tools/hakmem-options" --names | grep -qx "$listed"; then :; else
        fail "stale-$listed" "hakmem(3) lists only known variables" "$listed is not in the option table"
    fi
done

# Each tool's page and its --help name the same long options.
tool_help() {
    case "$1" in
        hakmem-run) "$bld/tools/hakmem-run" --help ;;
        hakmem-divergence) python3 "$src/tools/hakmem-divergence" --help ;;
        *) "$bld/tools/$1" --help 2>&1 ;;
    esac
}
tools=(hakmem-run hakmem-options hakmem-routes)
hk_legacy_built && tools+=("${migration_tools[@]}")
for t in "${tools[@]}"; do
    page=$bld/man/$t.1
    opts=$(tool_help "$t" | grep -o -- '--[a-z][a-z-]*' | sort -u)
    inpage=$(sed 's/\\-/-/g' "$page" | grep -o -- '--[a-z][a-z-]*' | sort -u)
    missing=$(comm -23 <(echo "$opts") <(echo "$inpage") | tr '\n' ' ')
    extra=$(comm -13 <(echo "$opts") <(echo "$inpage") | tr '\n' ' ')
    if [ -z "$opts" ]; then
        fail "tool-$t" "$t --help lists its options" "no option found in --help"
    elif [ -z "$missing$extra" ]; then
        pass "tool-$t" "$t(1) documents exactly the options of $t --help ($(echo $opts))"
    else
        fail "tool-$t" "$t(1) documents exactly the options of $t --help" \
            "missing from the page: ${missing:-none}; not in --help: ${extra:-none}"
    fi
done

# What `make install` installs, from the Makefile itself: the migration's tools, pages,
# header and HTML module exactly when the build has legacy/.
inst=$(printf 'hk-print-install:\n\t@echo $(bin_PROGRAMS) $(bin_SCRIPTS) $(man_MANS) $(include_HEADERS) $(dist_pkgdata_DATA)\n' |
    MAKEFLAGS= MAKELEVEL= timeout 60 make -s -C "$bld" -f Makefile -f - hk-print-install 2>"$tmp/err")
inst=" $(tr -s ' \n' ' ' <<<"$inst") "
want_mig=(tools/hakmem-routecheck tools/hakmem-divergence man/hakmem-routecheck.1 man/hakmem-divergence.1
    legacy/hakmem_migration.h tools/hakmem_routemap.py)
have="" lack=""
for f in "${want_mig[@]}"; do
    if [[ $inst == *" $f "* || $inst == *" $f$(sed -n 's/^EXEEXT = //p' "$bld/Makefile") "* ]]; then have+=" $f"; else lack+=" $f"; fi
done
if [[ $inst != *" man/hakmem-run.1 "* || $inst != *" tools/hakmem-run "* ]]; then
    fail install-lists "make install's lists (bin, man, include, pkgdata)" "no hakmem-run or hakmem-run.1 in: $inst" "$tmp/err"
elif hk_legacy_built && [ -z "$lack" ]; then
    pass install-lists "make install installs the migration's tools, pages, header and HTML module (${#want_mig[@]} files)"
elif ! hk_legacy_built && [ -z "$have" ]; then
    pass install-lists "no legacy/: make install installs none of${lack} (it does install hakmem-run and its page)"
elif hk_legacy_built; then
    fail install-lists "make install installs the migration's files" "missing:$lack"
else
    fail install-lists "no legacy/: make install installs no migration file" "installed anyway:$have"
fi
if ! hk_legacy_built; then
    made=""
    for p in hakmem-routecheck.1 hakmem-divergence.1; do [ -e "$bld/man/$p" ] && made+=" man/$p"; done
    if [ -z "$made" ]; then
        pass migration-pages "no legacy/: hakmem-routecheck(1) and hakmem-divergence(1) are not generated"
    else
        fail migration-pages "no legacy/: the migration pages are not generated" "generated:$made"
    fi
fi
finish
