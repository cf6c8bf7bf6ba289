/*
 * secure_prog.c - the setuid-root program of tests/secure.sh. tests/secure.sh compiles it
 * against libhakmem.so (an absolute rpath: the loader ignores LD_LIBRARY_PATH and $ORIGIN in
 * secure-execution mode), makes it setuid root and runs it as an unprivileged user.
 *
 * It prints whether the process runs in secure-execution mode (getauxval(AT_SECURE)), its
 * real and effective ids, and which box serves a 100-byte and a 100000-byte malloc (a routing
 * table from the environment would change them); then it allocates a little of everything.
 * Differential-mode reports and logs, if hakmem honoured their paths, would be written at exit
 * with the effective id of root. `secure_prog double-free' frees a block twice (the fault line
 * of a secure-execution process shows no address).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

/* hakmem.h's queries, declared here so that the program compiles without hakmem's headers */
int hak_box_of(const void *p);
const char *hak_box_name(int box);

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "double-free")) { /* the fault line: no address in it */
        char *volatile p = malloc(64);
        free(p);
        free(p);
        return 3;
    }
    char *a = malloc(100), *b = malloc(100000);
    printf("at_secure=%lu uid=%d euid=%d gid=%d egid=%d\n", getauxval(AT_SECURE), (int)getuid(),
           (int)geteuid(), (int)getgid(), (int)getegid());
    printf("box(100)=%s box(100000)=%s\n", hak_box_name(hak_box_of(a)),
           hak_box_name(hak_box_of(b)));
    free(a);
    free(b);
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)i * 131));
    return 0;
}
