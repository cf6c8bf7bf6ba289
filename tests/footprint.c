/* footprint: how much memory does the allocator keep while a program's size mix changes?
 * A plain program (run under LD_PRELOAD by tests/footprint.sh and bench/compare.sh), one
 * process, three phases, no malloc_trim:
 *   A  a burst of SCALE MiB (default 1024) of blocks of 1 KiB - 512 KiB (log-uniform), every
 *      byte written, all freed in random order; VmRSS 1 s and 3 s later (the program idles:
 *      no allocator call in between; "1 s" is WAIT_MS, default 1000);
 *   B  SCALE*2048 blocks (2 M at the default scale) of 16 - 1024 B (uniform), every byte
 *      written, 95 % of them freed in random order; VmRSS after the frees (the rest stay live
 *      until the end);
 *   C  SCALE*400/1024 MiB of 64 B blocks, all freed, then as many bytes of 3000 B blocks;
 *      the peak of the phase;
 *   D  everything freed; the program then idles for 1 s (WAIT_MS) but for one malloc/free of
 *      4 MiB and of 64 B every 100 ms (a tenth of it: a program that keeps running lightly):
 *      VmRSS at the end.
 * Peaks are VmHWM, reset at the start of each phase through /proc/self/clear_refs ("5");
 * the whole run's peak is the largest of the phases' peaks. Bookkeeping arrays come from
 * mmap (the same bytes for every allocator) and the C blocks are chained through themselves.
 * arena_kb is mallinfo2().arena at the end of C (hakmem: the arena's committed bytes).
 * Output: one "footprint: key=value ..." line (KiB; see the printf at the end); the checks
 * are in tests/footprint.sh and bench/compare.sh.
 * Usage: footprint [SCALE_MIB [WAIT_MS]]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static long status_kb(const char *key)
{
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strstr(buf, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}
static long rss(void) { return status_kb("VmRSS:"); }
static long hwm(void) { return status_kb("VmHWM:"); }
static int hwm_reset_ok = 1;
static void hwm_reset(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0 || write(fd, "5", 1) != 1)
        hwm_reset_ok = 0;
    if (fd >= 0)
        close(fd);
}

static void *map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("footprint: mmap");
        exit(3);
    }
    return p;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "footprint: malloc(%zu) failed\n", n);
        exit(3);
    }
    return p;
}

static void shuffle(void **v, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(next() % i);
        void *t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

int main(int argc, char **argv)
{
    long scale = argc > 1 ? strtol(argv[1], NULL, 10) : 1024;
    long wait = argc > 2 ? strtol(argv[2], NULL, 10) : 1000;
    if (scale < 16 || scale > 65536 || wait < 10 || wait > 60000) {
        fprintf(stderr, "usage: footprint [SCALE_MIB (16..65536, default 1024) [WAIT_MS "
                        "(10..60000, default 1000)]]\n");
        return 2;
    }
    free(xmalloc(64)); /* the allocator is initialised before the baseline */
    long start = rss(), peak_all = 0;

    /* A: the burst */
    hwm_reset();
    size_t burst = (size_t)scale << 20, total = 0, na = 0, cap = burst / 1024 + 16;
    void **a = map(cap * sizeof *a);
    while (total < burst && na < cap) {
        /* log-uniform 1 KiB .. 512 KiB: 2^(10 + 9u) */
        double u = (double)(next() >> 11) / 9007199254740992.0;
        size_t sz = (size_t)(1024.0 * exp2(9.0 * u));
        if (sz > burst - total)
            sz = burst - total < 1024 ? 1024 : burst - total;
        a[na] = xmalloc(sz);
        memset(a[na++], 0x5a, sz);
        total += sz;
    }
    long a_peak = rss();
    shuffle(a, na);
    for (size_t i = 0; i < na; i++)
        free(a[i]);
    long a_now = rss();
    sleep_ms(wait);
    long a_1s = rss();
    sleep_ms(2 * wait);
    long a_3s = rss();
    long a_hwm = hwm();
    peak_all = a_hwm;
    munmap(a, cap * sizeof *a);

    /* B: many small blocks, 95 % freed at random */
    hwm_reset();
    size_t nb = (size_t)scale * 2048;
    void **b = map(nb * sizeof *b);
    for (size_t i = 0; i < nb; i++) {
        size_t sz = 16 + (size_t)(next() % 1009);
        b[i] = xmalloc(sz);
        memset(b[i], 0x33, sz);
    }
    long b_full = rss();
    shuffle(b, nb);
    size_t keep = nb / 20;
    for (size_t i = keep; i < nb; i++)
        free(b[i]);
    long b_after = rss();
    long b_hwm = hwm();
    if (b_hwm > peak_all)
        peak_all = b_hwm;

    /* C: 64 B blocks, freed, then 3000 B blocks (the survivors of B stay live) */
    hwm_reset();
    size_t cbytes = (size_t)scale * 400 / 1024 << 20;
    void *head = NULL;
    for (size_t n = 0; n < cbytes / 64; n++) {
        void **p = xmalloc(64);
        memset(p, 0x44, 64);
        *p = head;
        head = p;
    }
    long c_small = rss();
    while (head) {
        void *nx = *(void **)head;
        free(head);
        head = nx;
    }
    for (size_t n = 0; n < cbytes / 3000; n++) {
        void **p = xmalloc(3000);
        memset(p, 0x55, 3000);
        *p = head;
        head = p;
    }
    long c_big = rss();
    long c_hwm = hwm();
    long arena = (long)(mallinfo2().arena >> 10);
    if (c_hwm > peak_all)
        peak_all = c_hwm;
    while (head) {
        void *nx = *(void **)head;
        free(head);
        head = nx;
    }
    for (size_t i = 0; i < keep; i++)
        free(b[i]);
    munmap(b, nb * sizeof *b);
    long end = rss();

    /* D: everything is free; light activity for 1 s */
    for (int i = 0; i < 10; i++) {
        sleep_ms(wait / 10);
        free(xmalloc((size_t)4 << 20));
        free(xmalloc(64));
    }
    long d_1s = rss();

    printf("footprint: scale_mib=%ld wait_ms=%ld start_kb=%ld a_burst_kb=%zu a_peak_kb=%ld "
           "a_freed_kb=%ld "
           "a_1s_kb=%ld a_3s_kb=%ld b_full_kb=%ld b_after_kb=%ld b_peak_kb=%ld c_small_kb=%ld "
           "c_big_kb=%ld c_peak_kb=%ld peak_kb=%ld end_kb=%ld d_1s_kb=%ld arena_kb=%ld "
           "hwm_reset=%d\n",
           scale, wait, start, total >> 10, a_peak, a_now, a_1s, a_3s, b_full, b_after, b_hwm,
           c_small, c_big, c_hwm, peak_all, end, d_1s, arena, hwm_reset_ok);
    return 0;
}
