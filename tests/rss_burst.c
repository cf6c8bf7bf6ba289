/* rss_burst: is memory given back to the OS after a burst? Plain program (run under
 * LD_PRELOAD=libhakmem.so by tests/rss-burst.sh). One case per process:
 *   large  1 GiB of 4 MiB blocks (the mmap box), every page touched, all freed;
 *   l25    1 GiB of 256 KiB - 1 MiB blocks (the L25 box), every page touched, all freed,
 *          then malloc_trim(0).
 * RSS (VmRSS from /proc/self/status) is read before the burst (after one malloc/free, so the
 * allocator's own start-up memory is in the baseline), at the peak and after the frees; the
 * case passes if after - before <= 10 % of the burst (0.1 GiB). The peak must show the burst
 * (peak - before >= 90 % of it), or the measurement means nothing.
 *   idle   4 blocks of 16 MiB - 8 KiB (the mmap box's largest cached regions), touched, all
 *          freed, then 1.2 s of fast-path work only (64-byte malloc/free): what the mmap box's
 *          cache keeps from a program that goes idle is at most its idle bound, 32 MiB (README,
 *          "Memory"), and nothing after malloc_trim(0) (2 MiB of slack each).
 * Prints "PASS: rss-burst NAME: ..." or "FAIL: rss-burst NAME: ..." and exits 0 or 1
 * (2: usage, 3: allocation failed).
 * Usage: rss_burst large|l25|idle
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GIB (1024.0 * 1024 * 1024)
#define BURST ((size_t)1 << 30)

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) {
            kb = strtol(line + 6, NULL, 10);
            break;
        }
    fclose(f);
    return kb;
}

static int idle_case(void)
{
    enum { N = 4 };
    const size_t sz = ((size_t)16 << 20) - 8192;
    const long bound_kb = 32 << 10, slack_kb = 2 << 10;
    unsigned char *p[N];
    free(malloc(64));
    long before = rss_kb();
    for (int i = 0; i < N; i++) {
        if (!(p[i] = malloc(sz))) {
            printf("FAIL: rss-burst idle: malloc(%zu) failed\n", sz);
            return 3;
        }
        memset(p[i], i + 1, sz);
    }
    long peak = rss_kb();
    for (int i = 0; i < N; i++)
        free(p[i]);
    for (int t = 0; t < 12; t++) { /* 1.2 s: far past the default purge delay (100 ms) */
        usleep(100 * 1000);
        for (int i = 0; i < 1000; i++) {
            volatile unsigned char *q = malloc(64);
            if (!q)
                return 3;
            q[0] = 1;
            free((void *)q);
        }
    }
    long idle = rss_kb();
    malloc_trim(0);
    long trimmed = rss_kb();
    char what[256];
    snprintf(what, sizeof what,
             "4 x %zu B; VmRSS before %ld KiB, peak +%ld, after 1.2 s of fast-path work +%ld "
             "(bound %ld + %ld), after malloc_trim(0) +%ld (bound %ld)",
             sz, before, peak - before, idle - before, bound_kb, slack_kb, trimmed - before,
             slack_kb);
    if (peak - before < (long)(0.9 * N * (double)sz / 1024)) {
        printf("FAIL: rss-burst idle: the blocks did not show in VmRSS: %s\n", what);
        return 1;
    }
    if (idle - before > bound_kb + slack_kb || trimmed - before > slack_kb) {
        printf("FAIL: rss-burst idle: kept more than its bound: %s\n", what);
        return 1;
    }
    printf("PASS: rss-burst idle: %s\n", what);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "idle") == 0)
        return idle_case();
    if (argc != 2 || (strcmp(argv[1], "large") && strcmp(argv[1], "l25"))) {
        fprintf(stderr, "usage: rss_burst large|l25|idle\n");
        return 2;
    }
    int l25 = strcmp(argv[1], "l25") == 0;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    enum { MAXB = 8192 };
    static unsigned char *blk[MAXB];
    static size_t len[MAXB];
    uint64_t rng = 0x9E3779B97F4A7C15ull;

    free(malloc(64)); /* the allocator is initialised before the baseline */
    long before = rss_kb();
    size_t total = 0;
    int n = 0;
    while (total < BURST && n < MAXB) {
        size_t sz;
        if (l25) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            sz = ((size_t)256 << 10) + (size_t)(rng % ((768u << 10) + 1)); /* 256 KiB .. 1 MiB */
        } else {
            sz = (size_t)4 << 20;
        }
        if (sz > BURST - total)
            sz = BURST - total < 4096 ? 4096 : BURST - total;
        unsigned char *p = malloc(sz);
        if (!p) {
            printf("FAIL: rss-burst %s: malloc(%zu) failed after %zu bytes\n", argv[1], sz, total);
            return 3;
        }
        for (size_t i = 0; i < sz; i += page)
            p[i] = (unsigned char)(i / page + (size_t)n);
        p[sz - 1] = (unsigned char)n;
        blk[n] = p;
        len[n++] = sz;
        total += sz;
    }
    long peak = rss_kb();
    for (int i = 0; i < n; i++) {
        if (blk[i][0] != (unsigned char)i || blk[i][len[i] - 1] != (unsigned char)i) {
            printf("FAIL: rss-burst %s: block %d corrupted\n", argv[1], i);
            return 1;
        }
        free(blk[i]);
    }
    int trimmed = -1;
    if (l25)
        trimmed = malloc_trim(0);
    long after = rss_kb();
    if (before < 0 || peak < 0 || after < 0) {
        printf("FAIL: rss-burst %s: cannot read VmRSS from /proc/self/status\n", argv[1]);
        return 1;
    }
    double burst_kb = (double)total / 1024, limit_kb = 0.10 * burst_kb;
    long grown = peak - before, kept = after - before;
    char what[320];
    snprintf(what, sizeof what,
             "%d blocks, %.2f GiB burst%s; VmRSS before %ld KiB, peak %ld KiB (+%ld), after free%s "
             "%ld KiB "
             "(+%ld KiB = %.1f %% of the burst; limit 10 %% = %.0f KiB)",
             n, (double)total / GIB, l25 ? " of 256 KiB-1 MiB blocks" : " of 4 MiB blocks", before,
             peak, grown, l25 ? (trimmed ? " + malloc_trim(0)=1" : " + malloc_trim(0)=0") : "",
             after, kept, 100.0 * (double)kept / burst_kb, limit_kb);
    if ((double)grown < 0.9 * burst_kb) {
        printf("FAIL: rss-burst %s: the burst did not show in VmRSS: %s\n", argv[1], what);
        return 1;
    }
    if ((double)kept > limit_kb) {
        printf("FAIL: rss-burst %s: memory not returned: %s\n", argv[1], what);
        return 1;
    }
    printf("PASS: rss-burst %s: %s\n", argv[1], what);
    return 0;
}
