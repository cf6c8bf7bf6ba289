/* diff_prog.c: workloads for tests/diff.sh, run under LD_PRELOAD=libhakmem.so.
 *   diff_prog sizes LO HI [REPS]   malloc+free every size LO..HI (REPS times)
 *   diff_prog signal REPORT        allocate, raise SIGUSR2, allocate once more; then the
 *                                  report must exist (written at the next allocation) and
 *                                  the process is still running: exit 0, else 1
 *   diff_prog fork LO HI           parent and child each allocate every size LO..HI
 *   diff_prog threads N LO HI      N threads each allocate every size LO..HI
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t lo, hi;
static void *volatile sink; /* keeps the compiler from eliding malloc/free pairs */

static void touch(size_t n)
{
    sink = malloc(n);
    free(sink);
}

static void sizes(void)
{
    for (size_t n = lo; n <= hi; n++) {
        char *p = malloc(n);
        if (!p)
            exit(3);
        memset(p, 0x3c, n);
        free(p);
    }
}

static void *thread_main(void *arg)
{
    (void)arg;
    sizes();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc >= 4 && !strcmp(argv[1], "sizes")) {
        lo = strtoul(argv[2], NULL, 10), hi = strtoul(argv[3], NULL, 10);
        int reps = argc > 4 ? atoi(argv[4]) : 1;
        for (int r = 0; r < reps; r++)
            sizes();
        return 0;
    }
    if (argc == 3 && !strcmp(argv[1], "signal")) {
        touch(100);
        unlink(argv[2]);
        raise(SIGUSR2);
        touch(200); /* the report is written here */
        struct stat st;
        if (stat(argv[2], &st) != 0 || st.st_size == 0) {
            fprintf(stderr, "diff_prog: no report at %s after SIGUSR2\n", argv[2]);
            return 1;
        }
        printf("report written while running (%lld bytes)\n", (long long)st.st_size);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "fork")) {
        lo = strtoul(argv[2], NULL, 10), hi = strtoul(argv[3], NULL, 10);
        sizes();
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 2;
        sizes();
        if (pid == 0)
            exit(0); /* the child's report is written by its own exit */
        int st;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    if (argc == 5 && !strcmp(argv[1], "threads")) {
        int n = atoi(argv[2]);
        lo = strtoul(argv[3], NULL, 10), hi = strtoul(argv[4], NULL, 10);
        pthread_t t[64];
        for (int i = 0; i < n && i < 64; i++)
            pthread_create(&t[i], NULL, thread_main, NULL);
        for (int i = 0; i < n && i < 64; i++)
            pthread_join(t[i], NULL);
        return 0;
    }
    fprintf(stderr, "usage: diff_prog sizes LO HI [REPS] | signal REPORT | fork LO HI | threads N LO HI\n");
    return 2;
}
