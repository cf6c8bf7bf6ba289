/* bench_util.h: shared helpers of the hakmem benchmark programs (header-only, static inline).
 *
 * - bu_rng_*: xorshift64 generator, seeded from the command line, one state per thread.
 * - bu_stamp / bu_check: every block gets a 64-bit tag derived from (tag, size) written into
 *   its first and last 8 bytes (or every byte of a block shorter than 16 B) and one byte in
 *   every 4 KiB page in between (the stride also touches every page of a big block, as a real
 *   program would). bu_check verifies all of them before the block is freed; a mismatch is a
 *   corrupted block.
 * - bu_now: CLOCK_MONOTONIC seconds; bu_started: the clock of a multi-threaded run, started by
 *   the first thread past the start barrier (the main thread may be descheduled there, and a
 *   run timed from its wake-up would be too short).
 * - bu_die: one line on stderr, exit 1 (corrupted block, failed allocation, thread error).
 */
#ifndef HAKMEM_BENCH_UTIL_H
#define HAKMEM_BENCH_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BU_STRIDE 4096u

static inline uint64_t bu_rng_seed(uint64_t seed, uint64_t stream)
{
    uint64_t s = (seed + 1) * 0x9E3779B97F4A7C15ull ^ (stream + 1) * 0xD1B54A32D192ED03ull;
    return s ? s : 88172645463325252ull;
}

static inline uint64_t bu_rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

/* uniform in [lo, hi] */
static inline size_t bu_rng_range(uint64_t *s, size_t lo, size_t hi)
{
    return lo + (size_t)(bu_rng_next(s) % (uint64_t)(hi - lo + 1));
}

static inline uint64_t bu_tag(uint64_t tag, size_t n)
{
    uint64_t t = (tag ^ ((uint64_t)n << 20)) * 0xFF51AFD7ED558CCDull;
    return t ^ (t >> 29);
}

static inline void bu_stamp(void *blk, size_t n, uint64_t tag)
{
    unsigned char *p = blk;
    uint64_t t = bu_tag(tag, n);
    if (n < 16) {
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)(t >> (8 * (i & 7))) ^ (unsigned char)i;
        return;
    }
    memcpy(p, &t, 8);
    memcpy(p + n - 8, &t, 8);
    for (size_t i = BU_STRIDE; i < n - 8; i += BU_STRIDE)
        p[i] = (unsigned char)(t ^ (i >> 12));
}

/* 1 if intact, 0 if corrupted */
static inline int bu_check(const void *blk, size_t n, uint64_t tag)
{
    const unsigned char *p = blk;
    uint64_t t = bu_tag(tag, n), a, b;
    if (n < 16) {
        for (size_t i = 0; i < n; i++)
            if (p[i] != ((unsigned char)(t >> (8 * (i & 7))) ^ (unsigned char)i))
                return 0;
        return 1;
    }
    memcpy(&a, p, 8);
    memcpy(&b, p + n - 8, 8);
    if (a != t || b != t)
        return 0;
    for (size_t i = BU_STRIDE; i < n - 8; i += BU_STRIDE)
        if (p[i] != (unsigned char)(t ^ (i >> 12)))
            return 0;
    return 1;
}

static inline double bu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Each thread calls this right after the start barrier; *t0 (0 before) ends up the earliest
 * time, in seconds. */
static inline void bu_started(_Atomic double *t0)
{
    double now = bu_now(), old = atomic_load(t0);
    while ((old == 0 || now < old) && !atomic_compare_exchange_weak(t0, &old, now))
        ;
}

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static inline void
bu_die(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* integer argument >= min, or exit 2 with the usage line (also when it does not fit in a
 * long long: strtoll's ERANGE) */
static inline long long bu_arg(const char *s, const char *usage, long long min)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || v < min) {
        fprintf(stderr, "bad argument '%s'\nusage: %s\n", s, usage);
        exit(2);
    }
    return v;
}

#endif
