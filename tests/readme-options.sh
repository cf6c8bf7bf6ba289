#!/usr/bin/env bash
# readme-options.sh: the README's option table must list every row of the option table in
# core/box/hk_options.h (name, default, range, and whether a setuid program honours it), and
# nothing else.
set -euo pipefail
src=${HAKMEM_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
table="$src/core/box/hk_options.h"
readme="$src/README.md"
pass=0 fail=0
rows=$(tr -d '\n' <"$table" | sed 's/\\//g' | grep -o 'X([A-Z_0-9]*, *[A-Z]*, *[A-Z]*, *"HAKMEM_[A-Z_0-9]*", *-\?[0-9]*, *-\?[0-9]*, *-\?[0-9]*' || true)
[ -n "$rows" ] || { echo "FAIL: no option rows parsed from $table"; echo "0 passed, 1 failed"; exit 1; }
names=()
while IFS=, read -r _ kind sec name def lo hi; do
    name=$(echo "$name" | tr -d ' "'); def=$(echo "$def" | tr -d ' ')
    lo=$(echo "$lo" | tr -d ' '); hi=$(echo "$hi" | tr -d ' '); kind=$(echo "$kind" | tr -d ' ')
    sec=$(echo "$sec" | tr -d ' ')
    names+=("$name")
    if [ "$kind" = STR ]; then def=unset; lo=path; hi=; fi
    want="| \`$name\` | $def | $lo–$hi |"
    [ "$kind" = STR ] && want="| \`$name\` | unset | "
    # the last column: what a secure-execution (setuid) process does with it
    setuid=honoured
    [ "$sec" = INSECURE ] && setuid=ignored
    if grep -F "$want" "$readme" | grep -q "| $setuid |\$"; then
        echo "PASS: README lists $name (default $def, range $lo–$hi, $setuid in setuid programs)"; pass=$((pass + 1))
    else
        echo "FAIL: README does not list $name with default $def, range $lo–$hi and '$setuid' in its setuid column"; fail=$((fail + 1))
    fi
done <<<"$(echo "$rows" | sed 's/^X(//')"
for listed in $(grep -o '^| `HAKMEM_[A-Z_0-9]*`' "$readme" | tr -d '|` '); do
    found=0
    for n in "${names[@]}"; do [ "$n" = "$listed" ] && found=1; done
    if [ "$found" = 1 ]; then pass=$((pass + 1)); else
        echo "FAIL: README lists $listed, which is not in the option table"; fail=$((fail + 1)); fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
