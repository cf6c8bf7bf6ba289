#!/usr/bin/env bash
# readme-options.sh: the README's option table must list every row of the option table in
# core/base/hk_options.h (name, default, range, and whether a setuid program honours it), and
# nothing else.
#   NUM rows:  | `NAME` | default | lo–hi | ... | honoured or ignored |
#   STR rows:  | `NAME` | unset | path | ...       (HAKMEM_FAULT: spec, not path)
#   WORD rows: | `NAME` | default word | word, word, ... |   (the words start the help text,
#              separated by '|' up to the first ':')
#   the last column: "ignored" for the table's INSECURE rows (a secure-execution process
#   ignores them), "honoured" for its SECURE rows
set -euo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
table="$src/core/base/hk_options.h"
readme="$src/README.md"
# One line per row: NAME<TAB>the README cells it must have
wants=$(run_t 60 python3 - "$table" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", "\n")
rows = re.findall(r'X\((\w+),\s*(\w+),\s*(\w+),\s*"(HAKMEM_\w+)",\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)', text)
for _, kind, sec, name, d, lo, hi, help_ in rows:
    help_ = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', help_))
    if kind == "STR":
        cells = "unset | spec" if name == "HAKMEM_FAULT" else "unset | path"
    elif kind == "WORD":
        words = help_.split(":", 1)[0].split("|")
        cells = "%s | %s" % (words[int(d)], ", ".join(words[int(lo):int(hi) + 1]))
    else:
        cells = "%s | %s–%s" % (d, lo, hi)
    print("%s\t%s\t%s" % (name, cells, "ignored" if sec == "INSECURE" else "honoured"))
PY
)
[ -n "$wants" ] || { fail options-parsed "no option rows parsed from $table"; finish; exit; }
names=()
while IFS=$'\t' read -r name cells setuid; do
    names+=("$name")
    want="| \`$name\` | $cells |"
    if grep -F "$want" "$readme" | grep -q "| $setuid |\$"; then
        pass "$name" "README lists it ($cells; $setuid in setuid programs)"
    else
        fail "$name" "README does not list it as: $want ... | $setuid |"
    fi
done <<<"$wants"
[ "${#names[@]}" -ge 14 ] || fail options-parsed "only ${#names[@]} option rows parsed"
for listed in $(grep -o '^| `HAKMEM_[A-Z_0-9]*`' "$readme" | tr -d '|` '); do
    found=0
    for n in "${names[@]}"; do [ "$n" = "$listed" ] && found=1; done
    if [ "$found" = 1 ]; then pass "$listed" "README row is in the option table"; else
        fail "$listed" "README lists it, but it is not in the option table"; fi
done
finish
