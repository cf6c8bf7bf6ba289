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
 *     realloc-freed-mmap usable-freed-mmap
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
 *     aligned-padding  q = memalign(32, 70) 16 bytes past its block's start, then free(q - 16)
 *               (a pointer hakmem never returned): must abort; today's bug would hand the
 *               block out twice ("two live blocks at one address", exit 3 with the story)
 *     daemon MODE DATA  a daemon-like program: allocates, closes descriptors 3..63, opens the
 *               file DATA (the lowest free number: where hakmem may have kept a descriptor),
 *               writes one line into it, then by MODE: stats / report (nothing more: the
 *               exit-time report or warning), warn (a divergence that latches a rollback and
 *               fails to open the divergence log: warnings), log (a second distinct divergence
 *               for HAKMEM_DIVERGENCE_LOG), abort (a double free), close2 (closes stderr too,
 *               as coreutils do at exit); prints "data fd N hakmem-had-it=yes|no"
 *     stdin-cat  one allocation, then copy stdin to stdout (a table option must not eat it)
 *     close-stderr  allocates, closes stderr and exits (as coreutils do at exit)
 *     munmap-enomem  the mmap box at the kernel's limit of mappings per process
 *               (vm.max_map_count): fills the process's map count with mappings of its own
 *               until only a few are left, frees mmap-box blocks whose munmap must split a
 *               mapping (ENOMEM at the limit), releases its filler, frees the rest and calls
 *               malloc_trim: the bytes mapped must come back to what they were (nothing
 *               leaked), and it prints how many bytes stayed mapped at the limit
 *     munmap-limit  the scenario (160 000 mmap-box blocks, every second one freed
 *               past the default vm.max_map_count; `make check-stress', ~10 s)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hk_maps.h"

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
    const size_t big[] = {SIZE_MAX,         SIZE_MAX - 1, SIZE_MAX - 4096,
                          SIZE_MAX / 2 + 1, SIZE_MAX / 2, (size_t)1 << 62,
                          (size_t)1 << 48,  PTRDIFF_MAX,  (size_t)PTRDIFF_MAX + 1};
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
    const size_t ov[][2] = {{SIZE_MAX, 2},
                            {2, SIZE_MAX},
                            {(size_t)1 << 32, (size_t)1 << 32},
                            {SIZE_MAX / 3 + 1, 3},
                            {65537, SIZE_MAX / 65536}};
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
    printf("[doc] pvalloc(0) -> usable >= 4096: %s\n",
           p && malloc_usable_size(p) >= 4096 ? "yes" : "no");
    free(p);
    free(NULL);
    printf("free(NULL) -> ok\n");
    printf("malloc_usable_size(NULL) -> %zu\n", malloc_usable_size(NULL));
}

static void case_align(void)
{
    const size_t al[] = {0,
                         1,
                         2,
                         3,
                         4,
                         8,
                         16,
                         24,
                         32,
                         48,
                         64,
                         100,
                         4096,
                         4097,
                         65536,
                         (size_t)1 << 20,
                         (size_t)1 << 62,
                         ((size_t)1 << 62) + 1,
                         (size_t)1 << 63,
                         ((size_t)1 << 63) + 1,
                         SIZE_MAX,
                         SIZE_MAX / 2};
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
                printf("%s = 0 ptr aligned=%s\n", call,
                       ((uintptr_t)p % (a ? a : 1)) ? "NO" : "yes");
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
    /* C23's sized frees, where the library has them (hakmem exports both) */
    void (*fsz)(void *, size_t) = (void (*)(void *, size_t))dlsym(RTLD_DEFAULT, "free_sized");
    void (*fasz)(void *, size_t, size_t) =
        (void (*)(void *, size_t, size_t))dlsym(RTLD_DEFAULT, "free_aligned_sized");
    if (fsz)
        fsz(malloc(100), 100);
    if (fasz)
        fasz(aligned_alloc(64, 128), 64, 128);
    char *s = strdup("hostile workload");
    printf("hostile ok: sum=%lu text=%s\n", sum, s);
    free(s);
    do {
        int (*box_of)(const void *) = (int (*)(const void *))dlsym(RTLD_DEFAULT, "hak_box_of");
        const char *(*box_name)(int) = (const char *(*)(int))dlsym(RTLD_DEFAULT, "hak_box_name");
        if (!box_of || !box_name)
            break;
        const size_t sizes[] = {0,     1024,  1025,  8192,    8193,   32768,
                                32769, 53248, 53249, 2097151, 2097152};
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

/* ---------------------------------------------------------------- issue 10 cases */

static void case_aligned_padding(void)
{
    /* memalign(32, 70) takes a 112-byte Tiny block (70 + 32); the aligned pointer is 16 bytes
     * past the block's start when its usable size is 112 - 16. */
    void *keep[64];
    int nk = 0;
    char *q = NULL;
    for (int i = 0; i < 64 && !q; i++) {
        char *p = do_memalign(32, 70);
        if (do_usable(p) == 96)
            q = p;
        else
            keep[nk++] = p;
    }
    if (!q) {
        printf("hostile aligned-padding: no aligned pointer 16 bytes into its block\n");
        exit(4);
    }
    fflush(stdout);
    do_free(q - 16); /* never returned by hakmem: must abort here */
    char *m = do_malloc(100);
    do_free(q);
    char *m2 = do_malloc(100);
    printf("hostile: survived aligned-padding: free(q-16) accepted; malloc(100) = q-16 %s; "
           "free(q) accepted; malloc(100) again %s\n",
           m == q - 16 ? "yes" : "no", m2 == m ? "the same address: two live blocks" : "differs");
    fflush(stdout);
    (void)keep;
    exit(3);
}

static bool fd_open(int fd) { return fcntl(fd, F_GETFD) != -1; }

static void case_daemon(const char *mode, const char *data)
{
    /* the divergent sizes: the test's table sends 300000-400000 and 600000-700000 to mmap */
    sink = do_malloc(100);
    if (!strcmp(mode, "log"))
        do_free(do_malloc(350000)); /* the first divergence: the log file opens */
    bool had[64] = {false};
    for (int fd = 3; fd < 64; fd++) {
        had[fd] = fd_open(fd);
        close(fd);
    }
    int d = open(data, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (d < 0 || d >= 64) {
        printf("hostile daemon: cannot open %s\n", data);
        exit(4);
    }
    static const char line[] = "daemon data\n";
    if (write(d, line, sizeof line - 1) != (ssize_t)sizeof line - 1)
        exit(4);
    printf("data fd %d hakmem-had-it=%s\n", d, had[d] ? "yes" : "no");
    fflush(stdout);
    if (!strcmp(mode, "warn")) {
        do_free(do_malloc(350000));
    } else if (!strcmp(mode, "log")) {
        do_free(do_malloc(650000));
    } else if (!strcmp(mode, "abort")) {
        char *p = do_malloc(64);
        do_free(p);
        do_free(p);
        survived("daemon abort");
    } else if (!strcmp(mode, "close2")) {
        close(2);
    } else if (strcmp(mode, "stats") && strcmp(mode, "report")) {
        printf("hostile daemon: unknown mode %s\n", mode);
        exit(2);
    }
    for (int i = 0; i < 100; i++)
        do_free(do_malloc((size_t)i * 997));
}

static void case_stdin_cat(void)
{
    sink = do_malloc(100);
    char buf[4096];
    ssize_t n;
    while ((n = read(0, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
}

static void case_munmap_enomem(void)
{
    long max = 65530;
    FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
    if (f) {
        if (fscanf(f, "%ld", &max) != 1)
            max = 65530;
        fclose(f);
    }
    enum { NBLK = 400 };
    static char *blk[NBLK];
    static char *filler[1 << 20];
    for (int i = 0; i < 200; i++) /* warm up: init, thread cache, stdio */
        do_free(do_malloc((size_t)i * 50));
    malloc_trim(0);
    size_t b0, b2;
    long n0, n1;
    b0 = hk_maps_total(&n0);
    /* 4 KiB blocks in the mmap box (HAKMEM_ACE_ENABLED=0): 8 KiB regions mapped one after the
     * other, which the kernel merges into one mapping */
    for (int i = 0; i < NBLK; i++) {
        blk[i] = do_malloc(4096);
        if (!blk[i]) {
            printf("hostile munmap-enomem: malloc failed before the limit\n");
            exit(4);
        }
        blk[i][0] = 1;
    }
    /* Fill the map count up to the limit minus 2 with 1-page mappings whose protections
     * alternate (so they never merge). */
    hk_maps_total(&n1);
    long nf = 0;
    for (long want = max - n1 - 2; nf < want && nf < (long)(sizeof filler / sizeof filler[0]);
         nf++) {
        filler[nf] = mmap(NULL, 4096, (nf & 1) ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        if (filler[nf] == MAP_FAILED)
            break;
    }
    /* Every second block: its munmap splits the merged mapping (one more mapping). */
    for (int i = 0; i < NBLK; i += 2)
        do_free(blk[i]);
    malloc_trim(0);
    size_t bl;
    long nl;
    bl = hk_maps_total(&nl);
    size_t at_limit = bl - (size_t)nf * 4096 - b0;
    for (long i = 0; i < nf; i++)
        munmap(filler[i], 4096);
    for (int i = 1; i < NBLK; i += 2)
        do_free(blk[i]);
    malloc_trim(0);
    long n2;
    b2 = hk_maps_total(&n2);
    printf("munmap-enomem: %ld fillers, %ld mappings at the limit (max %ld); %zu bytes still "
           "mapped for freed blocks at the limit; after the limit: %zd bytes more than before\n",
           nf, nl, max, at_limit, (ssize_t)(b2 - b0));
    fflush(stdout);
    exit(b2 == b0 ? 0 : 1);
}

/* The issue's own scenario at the kernel's default limit: 160 000 blocks of 2000 bytes in
 * the mmap box (HAKMEM_ACE_ENABLED=0: one 8 KiB region each, merged by the kernel into a few
 * mappings), every second one freed (each munmap splits a mapping: past vm.max_map_count the
 * kernel refuses), then the rest, then malloc_trim: nothing may stay mapped. */
static void case_munmap_limit(void)
{
    enum { N = 160000 };
    static char *p[N];
    do_free(do_malloc(1));
    malloc_trim(0);
    long n0, n1, n2;
    size_t b0 = hk_maps_total(&n0);
    for (int i = 0; i < N; i++) {
        if (!(p[i] = do_malloc(2000))) {
            printf("hostile munmap-limit: malloc failed at %d\n", i);
            exit(4);
        }
        p[i][0] = 1;
    }
    for (int i = 0; i < N; i += 2)
        do_free(p[i]);
    hk_maps_total(&n1);
    for (int i = 1; i < N; i += 2)
        do_free(p[i]);
    malloc_trim(0);
    size_t b2 = hk_maps_total(&n2);
    printf("munmap-limit: %d blocks, half freed: %ld mappings; all freed and trimmed: %ld "
           "mappings, %+zd KiB mapped against before\n",
           N, n1, n2, ((ssize_t)b2 - (ssize_t)b0) / 1024);
    fflush(stdout);
    exit(b2 == b0 ? 0 : 1);
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
    if (!strcmp(c, "aligned-padding"))
        case_aligned_padding();
    if (!strcmp(c, "daemon") && argc > 3) {
        case_daemon(argv[2], argv[3]);
        return 0;
    }
    if (!strcmp(c, "close-stderr")) {
        for (int i = 0; i < 100; i++)
            do_free(do_malloc((size_t)i * 997));
        close(2); /* as coreutils' close_stdout does in atexit */
        return 0;
    }
    if (!strcmp(c, "stdin-cat")) {
        case_stdin_cat();
        return 0;
    }
    if (!strcmp(c, "munmap-enomem"))
        case_munmap_enomem();
    if (!strcmp(c, "munmap-limit"))
        case_munmap_limit();
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
    } else if (!strcmp(c, "realloc-freed-mmap")) {
        char *p = do_malloc((size_t)3 << 20);
        do_free(p);
        sink = do_realloc(p, 200);
    } else if (!strcmp(c, "usable-freed-mmap")) {
        char *p = do_malloc((size_t)3 << 20);
        do_free(p);
        printf("%zu\n", do_usable(p));
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
