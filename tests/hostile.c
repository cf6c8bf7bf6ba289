/*
 * hostile.c - one bad input per run, for tests/hostile.sh (which runs each case in its own
 * process under LD_PRELOAD=$HK_LIB and checks the outcome and stderr).
 *
 * Usage: hostile CASE
 *   Fail-closed cases (hakmem must print one line and abort; the program must never get past
 *   the bad call, else it prints "hostile: survived CASE" and exits 3):
 *     free-stack free-global free-interior free-interior-mmap free-misaligned
 *     free-misaligned-mmap free-foreign-mmap free-foreign-glibc
 *     double-free-tiny double-free-pool double-free-bridge double-free-mid double-free-l25
 *     double-free-mmap double-free-aligned double-free-thread double-free-thread2
 *     realloc-stack realloc-interior realloc-freed usable-stack usable-interior usable-freed
 *   Outcome cases (print one line per call, exit 0; hostile.sh compares hakmem's lines with
 *   glibc's by running the same case without LD_PRELOAD):
 *     enomem    malloc/calloc/realloc/reallocarray/valloc/pvalloc near SIZE_MAX, overflows
 *     align     posix_memalign/aligned_alloc/memalign with valid and invalid alignments
 *   Workloads:
 *     ok        a small deterministic workload; prints what it computed and, under hakmem,
 *               the box of one size per table row (hak_box_of)
 *     sizes     allocate and free every power of two +-1 up to 8 MiB, twice each
 *     fork-commit [SECONDS]  3 threads allocate fresh 2 MiB-class blocks (every second one
 *               commits a new arena segment) while the main thread forks and reaps children
 *               for SECONDS (default 3); must finish (a lock-order inversion would hang)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char global_buf[256] __attribute__((aligned(64)));
static void *volatile sink;
/* Called through volatile pointers, so the compiler can neither elide nor warn about the bad
 * calls on purpose below. */
static void *(*volatile do_malloc)(size_t) = malloc;
static void (*volatile do_free)(void *) = free;
static void *(*volatile do_realloc)(void *, size_t) = realloc;
static size_t (*volatile do_usable)(void *) = malloc_usable_size;
static void *(*volatile do_memalign)(size_t, size_t) = memalign;

static void survived(const char *c)
{
    printf("hostile: survived %s\n", c);
    fflush(stdout);
    exit(3);
}

static const char *errname(int e)
{
    return e == 0 ? "0" : e == ENOMEM ? "ENOMEM" : e == EINVAL ? "EINVAL" : "other";
}

static void *thread_free(void *p)
{
    free(p);
    return NULL;
}

/* ---------------------------------------------------------------- outcome cases */

static void show(const char *call, void *p, int err, size_t align)
{
    if (p) {
        size_t a = align < 16 ? 16 : align;
        if (a & (a - 1)) { /* a non-power of two: glibc's memalign rounds it up */
            size_t r = 1;
            while (r < a)
                r <<= 1;
            a = r;
        }
        printf("%s -> ptr aligned=%s\n", call, ((uintptr_t)p % a) ? "NO" : "yes");
        free(p);
    } else {
        printf("%s -> NULL errno=%s\n", call, errname(err));
    }
}

static void case_enomem(void)
{
    const size_t big[] = {SIZE_MAX, SIZE_MAX - 1, SIZE_MAX - 4096, SIZE_MAX / 2 + 1, SIZE_MAX / 2,
                          (size_t)1 << 62, (size_t)1 << 48, PTRDIFF_MAX, (size_t)PTRDIFF_MAX + 1};
    char call[128];
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        errno = 0;
        void *p = malloc(big[i]);
        snprintf(call, sizeof call, "malloc(%#zx)", big[i]);
        show(call, p, errno, 0);
        errno = 0;
        p = calloc(1, big[i]);
        snprintf(call, sizeof call, "calloc(1, %#zx)", big[i]);
        show(call, p, errno, 0);
        errno = 0;
        p = valloc(big[i]);
        snprintf(call, sizeof call, "valloc(%#zx)", big[i]);
        show(call, p, errno, 0);
        errno = 0;
        p = pvalloc(big[i]);
        snprintf(call, sizeof call, "pvalloc(%#zx)", big[i]);
        show(call, p, errno, 0);
        char *q = malloc(32);
        memcpy(q, "intact after a failed realloc.", 31);
        errno = 0;
        p = realloc(q, big[i]);
        int e = errno;
        snprintf(call, sizeof call, "realloc(p, %#zx)", big[i]);
        if (!p)
            printf("%s -> NULL errno=%s old block %s\n", call, errname(e),
                   memcmp(q, "intact after a failed realloc.", 31) ? "CHANGED" : "intact");
        else
            printf("%s -> ptr\n", call);
        free(p ? p : q);
    }
    /* calloc / reallocarray overflow */
    const size_t ov[][2] = {{SIZE_MAX, 2}, {2, SIZE_MAX}, {(size_t)1 << 32, (size_t)1 << 32},
                            {SIZE_MAX / 3 + 1, 3}, {65537, SIZE_MAX / 65536}};
    for (size_t i = 0; i < sizeof ov / sizeof ov[0]; i++) {
        errno = 0;
        void *p = calloc(ov[i][0], ov[i][1]);
        snprintf(call, sizeof call, "calloc(%#zx, %#zx)", ov[i][0], ov[i][1]);
        show(call, p, errno, 0);
        char *q = malloc(16);
        errno = 0;
        p = reallocarray(q, ov[i][0], ov[i][1]);
        snprintf(call, sizeof call, "reallocarray(p, %#zx, %#zx)", ov[i][0], ov[i][1]);
        printf("%s -> %s errno=%s\n", call, p ? "ptr" : "NULL", errname(errno));
        free(p ? p : q);
    }
    /* the edges that must work */
    errno = 0;
    void *p = malloc(0);
    printf("malloc(0) -> %s\n", p ? "unique ptr" : "NULL");
    void *p2 = malloc(0);
    printf("malloc(0) twice -> %s\n", p && p2 && p != p2 ? "distinct" : "SAME");
    free(p);
    free(p2);
    p = calloc(0, 0);
    printf("calloc(0, 0) -> %s\n", p ? "ptr" : "NULL");
    free(p);
    p = malloc(10);
    errno = 0;
    void *r = realloc(p, 0);
    printf("realloc(p, 0) -> %s\n", r ? "ptr" : "NULL (freed)");
    free(r);
    p = pvalloc(0);
    /* [doc]: README ("pvalloc(0) gives one page"); glibc 2.36 gives a minimum chunk */
    printf("[doc] pvalloc(0) -> usable >= 4096: %s\n", p && malloc_usable_size(p) >= 4096 ? "yes" : "no");
    free(p);
    free(NULL);
    printf("free(NULL) -> ok\n");
    printf("malloc_usable_size(NULL) -> %zu\n", malloc_usable_size(NULL));
}

static void case_align(void)
{
    const size_t al[] = {0,  1,   2,    3,    4,    8,     16,   24,     32,   48,
                         64, 100, 4096, 4097, 65536, (size_t)1 << 20, (size_t)1 << 62,
                         ((size_t)1 << 62) + 1, (size_t)1 << 63, ((size_t)1 << 63) + 1,
                         SIZE_MAX, SIZE_MAX / 2};
    const size_t sz[] = {0, 1, 100, 5000, (size_t)3 << 20, SIZE_MAX - 100};
    char call[128];
    for (size_t i = 0; i < sizeof al / sizeof al[0]; i++) {
        for (size_t j = 0; j < sizeof sz / sizeof sz[0]; j++) {
            size_t a = al[i], s = sz[j];
            void *sentinel = (void *)0x1234, *p = sentinel;
            errno = 0;
            int rc = posix_memalign(&p, a, s);
            int e = errno;
            snprintf(call, sizeof call, "posix_memalign(%#zx, %#zx)", a, s);
            if (rc == 0) {
                printf("%s = 0 ptr aligned=%s\n", call, ((uintptr_t)p % (a ? a : 1)) ? "NO" : "yes");
                free(p);
            } else {
                printf("%s = %s, *p %s, errno %s\n", call, errname(rc),
                       p == sentinel ? "untouched" : "CHANGED", e == 0 ? "unchanged" : errname(e));
            }
            errno = 0;
            p = aligned_alloc(a, s);
            /* [npow2]: glibc < 2.38 rounds such an alignment up; hakmem (README) and
             * glibc >= 2.38 return NULL + EINVAL; hostile.sh checks these against the README */
            snprintf(call, sizeof call, "aligned_alloc(%#zx, %#zx)%s", a, s,
                     a && !(a & (a - 1)) ? "" : " [npow2]");
            show(call, p, errno, a);
            errno = 0;
            p = memalign(a, s);
            snprintf(call, sizeof call, "memalign(%#zx, %#zx)", a, s);
            show(call, p, errno, a);
        }
    }
}

/* ---------------------------------------------------------------- workloads */

static void case_ok(void)
{
    /* A little of everything, with a checksum of what was stored. */
    unsigned long sum = 0;
    char *keep[64] = {0};
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 64; i++) {
            size_t n = (size_t)((round * 131 + i * 977) % 70000) + 1;
            if (i % 16 == 0)
                n *= 40; /* some in the mmap box */
            char *p = realloc(keep[i], n);
            if (!p) {
                printf("hostile ok: realloc failed\n");
                exit(1);
            }
            p[0] = (char)(round + i);
            p[n - 1] = (char)i;
            sum += (unsigned char)p[0] + (unsigned char)p[n - 1] + n % 97;
            keep[i] = p;
        }
    }
    for (int i = 0; i < 64; i++)
        free(keep[i]);
    char *s = strdup("hostile workload");
    printf("hostile ok: sum=%lu text=%s\n", sum, s);
    free(s);
    do {
        int (*box_of)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT, "hak_box_of");
        const char *(*box_name)(int) = (const char *(*)(int))dlsym(RTLD_DEFAULT, "hak_box_name");
        if (!box_of || !box_name)
            break;
        const size_t sizes[] = {0, 1024, 1025, 8192, 8193, 32768, 32769, 53248, 53249, 2097151,
                                2097152};
        printf("boxes:");
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            void *p = malloc(sizes[i]);
            printf(" %zu=%s", sizes[i], box_name(box_of(p)));
            free(p);
        }
        printf("\n");
    } while (0);
}

static void case_sizes(void)
{
    for (int rep = 0; rep < 2; rep++)
        for (int e = 0; e <= 23; e++)
            for (int d = -1; d <= 1; d++) {
                size_t n = ((size_t)1 << e) + (size_t)(ptrdiff_t)d;
                char *p = malloc(n);
                if (p && n) {
                    p[0] = 1;
                    p[n - 1] = 2;
                }
                free(p);
                p = calloc(1, n);
                free(p);
            }
    printf("hostile sizes: ok\n");
}

static atomic_int fc_stop;
static atomic_long fc_allocs;
static void *fc_grab(void *a)
{
    (void)a;
    while (!atomic_load(&fc_stop)) {
        void *p = malloc(((size_t)2 << 20) - 4096); /* L25 2 MiB class: never freed */
        if (!p)
            break;
        atomic_fetch_add(&fc_allocs, 1);
        sink = p;
    }
    return NULL;
}

static void case_fork_commit(double secs)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, fc_grab, NULL);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    long forks = 0;
    do {
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        if (pid < 0)
            break;
        waitpid(pid, NULL, 0);
        forks++;
        clock_gettime(CLOCK_MONOTONIC, &b);
    } while ((b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < secs);
    atomic_store(&fc_stop, 1);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("hostile fork-commit: %ld forks while %ld blocks were allocated: no deadlock\n", forks,
           atomic_load(&fc_allocs));
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: hostile CASE (see tests/hostile.c)\n");
        return 2;
    }
    const char *c = argv[1];
    char stack_buf[64] __attribute__((aligned(16)));
    
    if (!strcmp(c, "glibc-version")) {
        printf("%s\n", gnu_get_libc_version());
        return 0;
    }
    if (!strcmp(c, "ok")) {
        case_ok();
        return 0;
    }
    if (!strcmp(c, "sizes")) {
        case_sizes();
        return 0;
    }
    if (!strcmp(c, "enomem")) {
        case_enomem();
        return 0;
    }
    if (!strcmp(c, "align")) {
        case_align();
        return 0;
    }
    if (!strcmp(c, "fork-commit")) {
        case_fork_commit(argc > 2 ? atof(argv[2]) : 3.0);
        return 0;
    }

    /* fail-closed cases: flush now, so that nothing is lost to the abort */
    fflush(stdout);
    if (!strcmp(c, "free-stack")) {
        do_free(stack_buf);
    } else if (!strcmp(c, "free-global")) {
        do_free(global_buf);
    } else if (!strcmp(c, "free-interior")) {
        char *p = do_malloc(100);
        do_free(p + 16);
    } else if (!strcmp(c, "free-interior-mmap")) {
        char *p = do_malloc((size_t)3 << 20);
        do_free(p + 4096);
    } else if (!strcmp(c, "free-misaligned")) {
        char *p = do_malloc(100);
        do_free(p + 1);
    } else if (!strcmp(c, "free-misaligned-mmap")) {
        char *p = do_malloc((size_t)3 << 20);
        do_free(p + 1);
    } else if (!strcmp(c, "free-foreign-mmap")) {
        char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return 4;
        do_free(m + 4096);
    } else if (!strcmp(c, "free-foreign-glibc")) {
        /* Under LD_PRELOAD, RTLD_NEXT after the main program is glibc's own malloc. */
        void *(*libc_malloc)(size_t) = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        if (!libc_malloc || libc_malloc == do_malloc) {
            /* RTLD_NEXT from the executable finds the preloaded library first: ask libc. */
            void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
            libc_malloc = h ? (void *(*)(size_t))dlsym(h, "malloc") : NULL;
        }
        if (!libc_malloc || libc_malloc == do_malloc)
            return 4;
        void *p = libc_malloc(100);
        do_free(p);
    } else if (!strncmp(c, "double-free-", 12)) {
        const char *box = c + 12;
        size_t n = !strcmp(box, "tiny")     ? 64
                   : !strcmp(box, "pool")   ? 4000
                   : !strcmp(box, "bridge") ? 40960
                   : !strcmp(box, "mid")    ? 20000
                   : !strcmp(box, "l25")    ? 100000
                   : !strcmp(box, "mmap")   ? (size_t)3 << 20
                                            : 64;
        if (!strcmp(box, "aligned")) {
            /* a memalign pointer inside its block (not the block's start): 4 KiB-aligned in a
             * 6 KiB Pool block, found by its usable size */
            void *p = NULL;
            for (int i = 0; i < 16 && !p; i++) {
                void *q = do_memalign(4096, 100);
                if ((uintptr_t)q % 4096)
                    return 4;
                if (do_usable(q) < 6144)
                    p = q; /* the others stay allocated */
            }
            if (!p)
                return 4;
            do_free(p);
            do_free(p);
        } else if (!strcmp(box, "thread")) {
            /* freed on another thread, then again here */
            void *p = do_malloc(48);
            pthread_t t;
            pthread_create(&t, NULL, thread_free, p);
            pthread_join(t, NULL);
            do_free(p);
        } else if (!strcmp(box, "thread2")) {
            /* freed here, then again on another thread */
            void *p = do_malloc(20000);
            do_free(p);
            pthread_t t;
            pthread_create(&t, NULL, thread_free, p);
            pthread_join(t, NULL);
        } else {
            void *p = do_malloc(n);
            do_free(p);
            do_free(p);
        }
    } else if (!strcmp(c, "realloc-stack")) {
        sink = do_realloc(stack_buf, 200);
    } else if (!strcmp(c, "realloc-interior")) {
        char *p = do_malloc(100);
        sink = do_realloc(p + 16, 200);
    } else if (!strcmp(c, "realloc-freed")) {
        char *p = do_malloc(100);
        do_free(p);
        sink = do_realloc(p, 200);
    } else if (!strcmp(c, "usable-stack")) {
        printf("%zu\n", do_usable(stack_buf));
    } else if (!strcmp(c, "usable-interior")) {
        char *p = do_malloc(100);
        printf("%zu\n", do_usable(p + 16));
    } else if (!strcmp(c, "usable-freed")) {
        char *p = do_malloc(100);
        do_free(p);
        printf("%zu\n", do_usable(p));
    } else {
        fprintf(stderr, "hostile: unknown case %s\n", c);
        return 2;
    }
    survived(c);
    return 3;
}
