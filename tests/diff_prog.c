/* diff_prog.c: workloads for tests/diff.sh, tests/evidence.sh and tests/crash.sh, run under
 * LD_PRELOAD=libhakmem.so.
 *   diff_prog sizes LO HI [REPS]   malloc+free every size LO..HI (REPS times)
 *   diff_prog signal REPORT        allocate, raise SIGUSR2, allocate once more; then the
 *                                  report must exist (written at the next allocation) and
 *                                  the process is still running: exit 0, else 1
 *   diff_prog fork LO HI           parent and child each allocate every size LO..HI
 *   diff_prog fork-exit LO HI      the child allocates every size LO..HI and ends with _exit;
 *                                  the parent allocates nothing and exits normally
 *   diff_prog exec LO HI           allocate every size LO..HI, then exec itself: sizes LO HI
 *   diff_prog exec-other HOW LO HI allocate every size LO..HI, then exec /bin/true without
 *                                  hakmem (no LD_PRELOAD in its environment) by execve, execv,
 *                                  execvp, execvpe, execl, execlp, execle, execveat or
 *                                  fexecve (HOW);
 *                                  first an exec that fails (exit 3 unless it returns ENOENT);
 *                                  HOW "fail": after that failed exec, SIGKILL itself
 *   diff_prog vfork-kill LO HI     allocate every size LO..HI; a vfork child execs /bin/true
 *                                  without hakmem; then the parent kills itself (SIGKILL)
 *   diff_prog abort LO HI          allocate every size LO..HI, then abort()
 *   diff_prog threads N LO HI      N threads each allocate every size LO..HI
 *   diff_prog period N A B COUNT   COUNT calls: size B on every N-th call, A on the others
 *   diff_prog sites SIZE A B       SIZE from site_a() A times, then from site_b() B times
 *   diff_prog idle SIZE COUNT      COUNT calls of SIZE, "ready" on stdout, then wait for
 *                                  stdin to close (an idle running process)
 *   diff_prog progress SIZE [T]    T threads (default 1) call malloc+free(SIZE) forever; after
 *                                  every 64 calls a thread writes its count so far as one
 *                                  line "THREAD COUNT" on stdout (write(2), no stdio)
 *   diff_prog own-usr2             install a SIGUSR2 handler, allocate, raise SIGUSR2: exit 0
 *                                  when the program's own handler ran
 *   diff_prog closefds FILE A B    malloc(A), close every descriptor from 3 up, open FILE
 *                                  (O_CREAT, so it gets the lowest free number), write "mine"
 *                                  into it, malloc(B), close it
 *   diff_prog usable SIZE [REPS]   malloc(SIZE) REPS times (default 1); prints the
 *                                  malloc_usable_size of each distinct answer ("usable N")
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static size_t lo, hi;
static void *volatile sink; /* keeps the compiler from eliding malloc/free pairs */

static void touch(size_t n) /* thread-safe: the pointer stays local */
{
    void *p = malloc(n);
    sink = p;
    free(p);
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

/* Two distinct call sites of malloc (never inlined, never merged). */
__attribute__((noinline)) static void site_a(size_t n)
{
    sink = malloc(n);
    __asm__ volatile("" ::: "memory");
    free(sink);
}

__attribute__((noinline)) static void site_b(size_t n)
{
    sink = malloc(n + 0);
    __asm__ volatile("nop" ::: "memory");
    free(sink);
}

static size_t progress_size;

static void put_line(unsigned long a, unsigned long b)
{
    char buf[64];
    int n = snprintf(buf, sizeof buf, "%lu %lu\n", a, b);
    if (write(1, buf, (size_t)n) != n)
        _exit(4); /* the reader went away */
}

static void *progress_main(void *arg)
{
    unsigned long id = (unsigned long)(uintptr_t)arg;
    for (unsigned long i = 1;; i++) {
        touch(progress_size);
        if (i % 64 == 0)
            put_line(id, i);
    }
    return NULL;
}

static volatile sig_atomic_t own_handler_ran;
static void own_usr2(int sig)
{
    (void)sig;
    own_handler_ran = 1;
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
    if (argc == 4 && (!strcmp(argv[1], "fork") || !strcmp(argv[1], "fork-exit"))) {
        bool quick_exit = !strcmp(argv[1], "fork-exit");
        lo = strtoul(argv[2], NULL, 10), hi = strtoul(argv[3], NULL, 10);
        if (!quick_exit)
            sizes();
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 2;
        if (pid == 0) {
            sizes();
            if (quick_exit)
                _exit(0); /* no exit handlers, no report: only the record tells */
            exit(0);      /* the child's report is written by its own exit */
        }
        if (!quick_exit)
            sizes();
        int st;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
    }
    if (argc == 4 && !strcmp(argv[1], "exec")) {
        lo = strtoul(argv[2], NULL, 10), hi = strtoul(argv[3], NULL, 10);
        sizes();
        char *args[] = {argv[0], "sizes", argv[2], argv[3], NULL};
        execv("/proc/self/exe", args);
        perror("diff_prog: execv");
        return 2;
    }
    if (argc == 5 && !strcmp(argv[1], "exec-other")) {
        const char *how = argv[2];
        lo = strtoul(argv[3], NULL, 10), hi = strtoul(argv[4], NULL, 10);
        sizes();
        if (execl("/nonexistent/hakmem-test", "x", (char *)NULL) != -1 || errno != ENOENT)
            return 3;
        sizes(); /* still recorded: the failed exec left the record running */
        if (!strcmp(how, "fail"))
            raise(SIGKILL); /* so the record must say "ended", not "exec'd" */
        char *args[] = {"true", NULL}, *env[] = {"PATH=/bin:/usr/bin", NULL};
        if (unsetenv("LD_PRELOAD") != 0 || setenv("PATH", "/bin:/usr/bin", 1) != 0)
            return 4;
        if (!strcmp(how, "execve"))
            execve("/bin/true", args, env);
        else if (!strcmp(how, "execv"))
            execv("/bin/true", args);
        else if (!strcmp(how, "execvp"))
            execvp("true", args);
        else if (!strcmp(how, "execvpe"))
            execvpe("true", args, env);
        else if (!strcmp(how, "execl"))
            execl("/bin/true", "true", (char *)NULL);
        else if (!strcmp(how, "execlp"))
            execlp("true", "true", (char *)NULL);
        else if (!strcmp(how, "execle"))
            execle("/bin/true", "true", (char *)NULL, env);
        else if (!strcmp(how, "execveat"))
            execveat(AT_FDCWD, "/bin/true", args, env, 0);
        else if (!strcmp(how, "fexecve")) {
            int fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
            if (fd >= 0)
                fexecve(fd, args, env);
        }
        perror("diff_prog: exec-other");
        return 2;
    }
    if (argc == 4 && !strcmp(argv[1], "vfork-kill")) {
        lo = strtoul(argv[2], NULL, 10), hi = strtoul(argv[3], NULL, 10);
        sizes();
        char *args[] = {"true", NULL}, *env[] = {NULL};
        pid_t pid = vfork();
        if (pid == 0) {
            execve("/bin/true", args, env);
            _exit(127);
        }
        int st;
        if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 2;
        raise(SIGKILL);
        return 3;
    }
    if (argc == 4 && !strcmp(argv[1], "abort")) {
        lo = strtoul(argv[2], NULL, 10), hi = strtoul(argv[3], NULL, 10);
        sizes();
        abort();
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
    if (argc == 6 && !strcmp(argv[1], "period")) {
        unsigned long n = strtoul(argv[2], NULL, 10), count = strtoul(argv[5], NULL, 10);
        size_t a = strtoul(argv[3], NULL, 10), b = strtoul(argv[4], NULL, 10);
        for (unsigned long i = 1; i <= count; i++)
            touch(i % n == 0 ? b : a);
        return 0;
    }
    if (argc == 5 && !strcmp(argv[1], "sites")) {
        size_t size = strtoul(argv[2], NULL, 10);
        long a = atol(argv[3]), b = atol(argv[4]);
        for (long i = 0; i < a; i++)
            site_a(size);
        for (long i = 0; i < b; i++)
            site_b(size);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "idle")) {
        size_t size = strtoul(argv[2], NULL, 10);
        long count = atol(argv[3]);
        for (long i = 0; i < count; i++)
            touch(size);
        if (write(1, "ready\n", 6) != 6)
            return 2;
        char c;
        while (read(0, &c, 1) > 0)
            ;
        return 0;
    }
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "progress")) {
        progress_size = strtoul(argv[2], NULL, 10);
        int n = argc == 4 ? atoi(argv[3]) : 1;
        pthread_t t[16];
        for (int i = 1; i < n && i < 16; i++)
            pthread_create(&t[i], NULL, progress_main, (void *)(uintptr_t)i);
        progress_main((void *)0);
        return 0;
    }
    if (argc == 2 && !strcmp(argv[1], "own-usr2")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = own_usr2;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
        touch(100);
        raise(SIGUSR2);
        touch(200);
        return own_handler_ran ? 0 : 1;
    }
    if (argc == 5 && !strcmp(argv[1], "closefds")) {
        touch(strtoul(argv[3], NULL, 10));
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || write(fd, "mine\n", 5) != 5)
            return 2;
        touch(strtoul(argv[4], NULL, 10));
        return close(fd) == 0 ? 0 : 2;
    }
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "usable")) {
        size_t size = strtoul(argv[2], NULL, 10), last = 0;
        int reps = argc == 4 ? atoi(argv[3]) : 1;
        for (int i = 0; i < reps; i++) {
            void *p = malloc(size);
            size_t u = malloc_usable_size(p);
            if (u != last)
                printf("usable %zu\n", u);
            last = u;
            free(p);
        }
        return 0;
    }
    fprintf(stderr,
            "usage: diff_prog sizes LO HI [REPS] | signal REPORT | fork LO HI | "
            "fork-exit LO HI | exec LO HI | abort LO HI | threads N LO HI | period N A B COUNT | "
            "sites SIZE A B | idle SIZE COUNT | progress SIZE [T] | own-usr2 | "
            "closefds FILE A B | usable SIZE [REPS]\n");
    return 2;
}
