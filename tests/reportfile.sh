#!/usr/bin/env bash
# reportfile.sh: reports, records and logs are written without surprising anyone.
#   - a FIFO at the report path is written into (with a reader) or refused with one warning
#     (without one), never replaced; a symbolic link is refused and left alone (its target
#     too); a device like /dev/full gives one warning and stays a device; a directory is
#     refused;
#   - temp files: in the report's directory, unpredictable names, O_CREAT|O_EXCL|O_NOFOLLOW;
#   - a path that would not fit PATH_MAX once %p is expanded is refused with one warning;
#   - a program whose path is not UTF-8 gets a valid UTF-8 report the merger reads;
#   - a program that closes every descriptor and reuses the numbers never gets hakmem's
#     log lines in its own files.
set -uo pipefail
# shellcheck source=harness.sh
. "$(dirname "$0")/harness.sh"
nlines() { grep -c '' "$1"; }
# hk REPORT ARGS...: diff_prog ARGS under hakmem with the report at REPORT; stderr in $tmp/e
hk() {
    local r=$1; shift
    run_t 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" \
        HAKMEM_DIVERGENCE_REPORT="$r" "$prog" "$@" >"$tmp/o" 2>"$tmp/e"
}
# the candidate, and Mid from 8000 (so 8000..8192 diverge too: pool -> mid)
candidate_table "$tmp/edge.txt" 's/^1001 8192 pool ace$/1001 7999 pool ace/' 's/^8193 32768 mid$/8000 32768 mid/'
grep -q '^8000 32768 mid$' "$tmp/edge.txt" || { echo "FAIL: candidate table"; exit 1; }

# FIFO with a reader: the report streams into it; the FIFO stays a FIFO.
mkfifo "$tmp/fifo"
# The reader has the FIFO open before the program exits (open without blocking), and reads
# until the writer closes it.
run_t 60 python3 - "$tmp/fifo" "$tmp/fifo.read" "$tmp/fifo.ready" <<'PY' &
import os, select, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
open(sys.argv[3], "w").close()
data, deadline = b"", time.time() + 30
while time.time() < deadline:
    select.select([fd], [], [], 0.1)
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        continue
    if chunk:
        data += chunk
    elif data:
        break
    else:
        time.sleep(0.01)
open(sys.argv[2], "wb").write(data)
PY
reader=$!
for _ in $(seq 1 3000); do [ -e "$tmp/fifo.ready" ] && break; sleep 0.01; done
hk "$tmp/fifo" sizes 1000 1010
wait "$reader"
if [ -p "$tmp/fifo" ] && run_t 30 python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["divergent"] == 10' "$tmp/fifo.read" && [ ! -s "$tmp/e" ] &&
    [ -z "$(ls "$tmp" | grep -v -e '^fifo' -e '^edge.txt$' -e '^[oe]$')" ]; then
    pass "FIFO with a reader: the report is written into it, the FIFO stays, no file beside it"
else fail "FIFO with a reader: $(ls -la "$tmp" | head); $(cat "$tmp/e")"; fi
# FIFO without a reader: one warning, no blocking, not replaced.
hk "$tmp/fifo" sizes 1000 1010
if [ -p "$tmp/fifo" ] && [ "$(nlines "$tmp/e")" = 1 ] && grep -q 'HAKMEM_DIVERGENCE_REPORT=.*FIFO with no reader' "$tmp/e"; then
    pass "FIFO without a reader: '$(cat "$tmp/e")'"
else fail "FIFO without a reader: $(cat "$tmp/e")"; fi

# A symbolic link: refused, the link and its target untouched.
echo 'precious' >"$tmp/target"
ln -s "$tmp/target" "$tmp/link.json"
hk "$tmp/link.json" sizes 1000 1010
if [ -L "$tmp/link.json" ] && [ "$(cat "$tmp/target")" = precious ] && [ "$(nlines "$tmp/e")" = 1 ] &&
    grep -q 'symbolic link' "$tmp/e"; then
    pass "symbolic link at the report path: refused, link and target untouched: '$(cat "$tmp/e")'"
else fail "symbolic link: $(ls -la "$tmp/link.json"); target '$(cat "$tmp/target")'; $(cat "$tmp/e")"; fi

# Character devices: written into, never replaced. As root, private device nodes in $tmp
# (a regression would replace the real /dev/full or /dev/null for the whole machine); as
# another user the real ones (which that user could not replace anyway).
if [ "$(id -u)" = 0 ] && mknod -m 666 "$tmp/full" c 1 7 2>/dev/null && mknod -m 666 "$tmp/null" c 1 3 2>/dev/null; then
    full="$tmp/full" null="$tmp/null"
else
    full=/dev/full null=/dev/null
fi
hk "$full" sizes 1000 1010
if [ -c "$full" ] && [ "$(nlines "$tmp/e")" = 1 ] && grep -q "HAKMEM_DIVERGENCE_REPORT=$full: .*ENOSPC" "$tmp/e"; then
    pass "a character device like /dev/full ($full): one warning, still a device: '$(cat "$tmp/e")'"
else fail "$full: $(ls -la "$full"); $(cat "$tmp/e")"; fi
hk "$null" sizes 1000 1010
if [ -c "$null" ] && [ ! -s "$tmp/e" ]; then pass "a character device like /dev/null ($null): written into, no warning"
else fail "$null: $(ls -la "$null"); $(cat "$tmp/e")"; fi
# The log on a full device: said once, then no more lines; the program goes on.
run_t 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" \
    HAKMEM_DIVERGENCE_LOG="$full" "$prog" sizes 1000 1010 2 >"$tmp/o" 2>"$tmp/e"
if [ $? = 0 ] && [ -c "$full" ] && [ "$(nlines "$tmp/e")" = 1 ] && grep -q "HAKMEM_DIVERGENCE_LOG=$full: writing failed (ENOSPC" "$tmp/e"; then
    pass "the divergence log on a full device: one warning: '$(cat "$tmp/e")'"
else fail "log on $full: $(cat "$tmp/e")"; fi
# A directory: refused, once.
mkdir "$tmp/adir"
hk "$tmp/adir" sizes 1000 1010
if [ -d "$tmp/adir" ] && [ "$(nlines "$tmp/e")" = 1 ] && grep -q 'is a directory' "$tmp/e"; then
    pass "a directory: refused: '$(cat "$tmp/e")'"
else fail "a directory: $(cat "$tmp/e")"; fi

# Temp files: beside the report, random names, O_CREAT|O_EXCL|O_NOFOLLOW; the report is in place.
mkdir "$tmp/rep"
if command -v strace >/dev/null; then
    for i in 1 2; do
        run_t 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_DIVERGENCE_REPORT="$tmp/rep/r.json" \
            strace -f -qq -e trace=openat -o "$tmp/strace.$i" "$prog" sizes 1000 1010 2>"$tmp/e"
    done
    t1=$(grep -o "\"$tmp/rep/[^\"]*\.tmp\", [A-Z_|]*" "$tmp/strace.1")
    t2=$(grep -o "\"$tmp/rep/[^\"]*\.tmp\", [A-Z_|]*" "$tmp/strace.2")
    if [[ $t1 == "\"$tmp/rep/.r.json."*".tmp\", "*O_CREAT*O_EXCL*O_NOFOLLOW* || $t1 == "\"$tmp/rep/.r.json."*".tmp\", "*O_EXCL*O_NOFOLLOW* ]] &&
        [ "${t1%%\"*,}" != "" ] && [ "$t1" != "$t2" ] && [ -f "$tmp/rep/r.json" ] && [ -z "$(ls -A "$tmp/rep" | grep '\.tmp$')" ]; then
        pass "temp files: $t1 then $t2"
    else fail "temp files: '$t1' / '$t2'; $(ls -A "$tmp/rep")"; fi
else fail "strace is not installed (apt-get install strace)"; fi

# A path too long once %p is expanded (the option itself fits its 4095 bytes): refused, once.
# As many %p as the option holds, so that any pid of 3 digits or more (every pid but the first
# hundred after boot) makes it longer than 4096 bytes.
long="$tmp/$(printf '%%p%.0s' $(seq 1 $(((4095 - ${#tmp} - 1) / 2))))"
hk "$long" sizes 1000 1010
if [ "$(nlines "$tmp/e")" = 1 ] && grep -q 'too long' "$tmp/e" && [ -z "$(ls "$tmp" | grep -E '^[0-9]{5}')" ]; then
    pass "a report path too long after %p: one warning, nothing written: '$(cut -c1-60 "$tmp/e")...$(grep -o 'too long.*' "$tmp/e")'"
else fail "long path: $(cut -c1-300 "$tmp/e")"; fi

# A program path that is not UTF-8: the report is valid UTF-8 JSON, the merger reads it.
odd=$(printf "$tmp/prog-\xff\xfe-bin")
cp "$prog" "$odd"
mkdir "$tmp/utf"
run_t 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" \
    HAKMEM_DIVERGENCE_REPORT="$tmp/utf/r.%p.json" "$odd" sites 1010 1 5 2>"$tmp/e"
f=$(ls "$tmp/utf"/*.json)
if run_t 30 python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$f" &&
    run_t 30 python3 -c 'import json,os,sys; r=json.load(open(sys.argv[1])); assert os.fsencode(r["program"]).endswith(b"prog-\xff\xfe-bin"), r["program"]' "$f" &&
    run_t 60 python3 "$tool" "$tmp/utf" >"$tmp/u.out" 2>"$tmp/u.err"; [ $? = 1 ] && grep -q 'prog-\\xff\\xfe-bin' "$tmp/u.out" && [ ! -s "$tmp/u.err" ]; then
    pass "a program path that is not UTF-8: valid UTF-8 JSON (bytes kept as \\udcXX), merged, shown as \\xff\\xfe"
else fail "non-UTF-8 program path: $(head -c 300 "$f"); $(cat "$tmp/u.err")"; fi

# A program that closes every descriptor and reuses the numbers: hakmem's log never lands in
# the program's file; it reopens its own log.
run_t 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" \
    HAKMEM_DIVERGENCE_LOG="$tmp/log.jsonl" "$prog" closefds "$tmp/mine" 1010 8100 2>"$tmp/e"
if [ "$(cat "$tmp/mine")" = mine ] && [ "$(grep -c '' "$tmp/log.jsonl")" = 2 ] && [ ! -s "$tmp/e" ]; then
    pass "closed and reused descriptors: the program's file holds only its own line, the log both divergences"
else fail "closed descriptors: mine='$(head -c 300 "$tmp/mine")', log $(grep -c '' "$tmp/log.jsonl" 2>/dev/null) lines; $(cat "$tmp/e")"; fi
# The log at a symbolic link: refused, once.
ln -s "$tmp/target" "$tmp/loglink"
run_t 120 env LD_PRELOAD="$lib" HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE="$tmp/edge.txt" \
    HAKMEM_DIVERGENCE_LOG="$tmp/loglink" "$prog" sizes 1000 1010 2>"$tmp/e"
if [ "$(cat "$tmp/target")" = precious ] && [ "$(nlines "$tmp/e")" = 1 ] && grep -q 'HAKMEM_DIVERGENCE_LOG=.*symbolic link' "$tmp/e"; then
    pass "log path at a symbolic link: refused, target untouched"
else fail "log symlink: $(cat "$tmp/e")"; fi

finish
