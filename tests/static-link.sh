#!/usr/bin/env bash
# static-link.sh - a program linked statically with libhakmem.a (part of `make check', a few
# seconds): its allocations are hakmem's (HAKMEM_STATS=1 reports them at its exit), and it
# can still exec, by execv and execvp, in a fork child and then itself (the exec family that
# marks the differential record is the shared library's only: a static program has no C
# library function for it to call behind its own).
# Environment: HK_TOP_BUILDDIR, HK_CC, HK_STATIC_LIBS (AM_TESTS_ENVIRONMENT).
set -uo pipefail
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
hk_scratch
archive=$bld/.libs/libhakmem.a
[ -s "$archive" ] || { fail archive "the build has no static library" "$archive"; finish; exit; }
cat >"$tmp/st.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    char *p = malloc(100);
    if (!p)
        return 2;
    strcpy(p, "x");
    free(p);
    if (argc > 1) /* the report at exit */
        return 0;
    char *args[] = {"true", NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("true", args);
        perror("static program: execvp");
        _exit(126);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 3;
    execv("/bin/true", args);
    perror("static program: execv");
    return 4;
}
C
# shellcheck disable=SC2086 # HK_STATIC_LIBS: several words
if ! ${HK_CC:-cc} -static -o "$tmp/st" "$tmp/st.c" "$archive" ${HK_STATIC_LIBS:--lpthread -lm} \
    2>"$tmp/cc.err"; then
    fail link "cc -static st.c libhakmem.a" "the link failed" "$tmp/cc.err"
    finish
    exit
fi
HAKMEM_STATS=1 run_t 30 "$tmp/st" report >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && grep -q '^hakmem stats' "$tmp/err"; then
    pass stats "a static program's allocations are hakmem's (its HAKMEM_STATS=1 report at exit)"
else fail stats "a static program's HAKMEM_STATS=1 report" "exit $rc" "$tmp/err"; fi
PATH=/usr/bin:/bin run_t 30 "$tmp/st" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ] && [ ! -s "$tmp/err" ]; then
    pass exec "a static program execs by execvp (in a fork child) and execv (itself)"
else fail exec "a static program's execvp and execv" "exit $rc" "$tmp/err"; fi
finish
