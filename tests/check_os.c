/* check_os.c: the mmap box (core/box/hk_mmap.h), directly and through hak_alloc_at (>= 2 MiB):
 * zero fill, alignment, ownership, usable size, resize, statistics, fail-closed frees. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include "hk_check.h"
#include "hk_mmap.h"
#include "hk_purge.h"
#include "hk_sys.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static int a_global[64];

static int all_zero_sampled(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i += 997)
        if (p[i])
            return 0;
    return n == 0 || p[n - 1] == 0;
}

START_TEST(test_os_alloc_direct) {
    static const size_t sizes[] = {1, 16, 4095, 4096, 4097, 2 * MiB, 2 * MiB + 1, 64 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        hk_os_stats st0, st1;
        hk_os_get_stats(&st0);
        unsigned char *p = hk_os_alloc(s, 16);
        ck_assert_msg(p != NULL, "hk_os_alloc(%zu) failed", s);
        ck_assert_msg(((uintptr_t)p & 4095) == 0, "hk_os_alloc(%zu) = %p not page aligned", s,
                      (void *)p);
        ck_assert(hk_os_owns(p));
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
        ck_assert_uint_ge(hk_os_usable(p), s);
        ck_assert_uint_eq(hk_os_usable(p), hak_malloc_usable_size(p));
        ck_assert_msg(all_zero_sampled(p, hk_os_usable(p)), "hk_os_alloc(%zu) not zeroed", s);
        hk_check_stamp(p, s, s, 4096);
        ck_assert(hk_check_verify(p, s, s, 4096) == HK_CHECK_INTACT);
        hk_os_get_stats(&st1);
        ck_assert_uint_eq(st1.allocs, st0.allocs + 1);
        ck_assert_uint_ge(st1.bytes_mapped_now - st0.bytes_mapped_now, s);
        ck_assert(hk_os_free(p));
        ck_assert(!hk_os_owns(p));
        ck_assert_uint_eq(hk_os_usable(p), 0);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
        ck_assert(!hk_os_free(p)); /* not twice */
        hk_os_get_stats(&st1);
        ck_assert_uint_eq(st1.frees, st0.frees + 1);
        ck_assert_uint_eq(st1.bytes_mapped_now, st0.bytes_mapped_now);
    }
}
END_TEST

/* A freed region serves a bigger request from the cache: grown by mremap, its old content
 * zeroed for hk_os_alloc, counted as reused, and no mapping left behind. */
START_TEST(test_os_cache_grows_smaller_region) {
    hk_os_trim();
    hk_os_stats st0, st1;
    hk_os_get_stats(&st0);
    unsigned char *p = hk_os_alloc(3 * MiB, 16);
    ck_assert(p != NULL);
    memset(p, 0xA5, 3 * MiB);
    ck_assert(hk_os_free(p));
    hk_os_get_stats(&st1);
    ck_assert_uint_gt(st1.bytes_cached, st0.bytes_cached); /* kept for reuse */
    unsigned char *q = hk_os_alloc(5 * MiB, 16);
    ck_assert(q != NULL);
    ck_assert_uint_ge(hk_os_usable(q), 5 * MiB);
    ck_assert_msg(all_zero_sampled(q, hk_os_usable(q)), "grown cached region not zeroed");
    hk_check_stamp(q, 5 * MiB, 5, 4096);
    ck_assert(hk_check_verify(q, 5 * MiB, 5, 4096) == HK_CHECK_INTACT);
    hk_os_get_stats(&st1);
    ck_assert_uint_eq(st1.reused, st0.reused + 1);
    ck_assert_uint_eq(st1.bytes_cached, st0.bytes_cached); /* taken out of the cache */
    ck_assert(hk_os_free(q));
    hk_os_get_stats(&st1);
    ck_assert_uint_eq(st1.bytes_mapped_now, st0.bytes_mapped_now);
    hk_os_trim();
}
END_TEST

/* A program that allocates and frees multi-MiB blocks in waves bigger than the cache's
 * budget: the regions the cache let go were mapped again at the next wave (each a page fault
 * per page touched, and the munmap's TLB flush). Mapped fresh so soon after, they raise the
 * budget, and from the wave after, every region comes from the cache. A second without such
 * a map lowers the budget again. */
#define LW_N 24
START_TEST(test_os_cache_learns_waves) {
    int delay = hk_purge_delay;
    hk_purge_delay = 3600000; /* no region is unmapped for its age during the test */
    hk_os_trim();
    hk_os_stats st0, st1;
    unsigned char *b[LW_N];
    uint64_t reused[3];
    for (int w = 0; w < 3; w++) {
        hk_os_get_stats(&st0);
        for (int i = 0; i < LW_N; i++) {
            ck_assert_ptr_nonnull(b[i] = hk_os_alloc_dirty(3 * MiB, 16));
            b[i][0] = b[i][3 * MiB - 1] = (unsigned char)w;
        }
        for (int i = 0; i < LW_N; i++)
            ck_assert(hk_os_free(b[i]));
        hk_os_get_stats(&st1);
        reused[w] = st1.reused - st0.reused;
    }
    ck_assert_uint_lt(reused[1], LW_N);            /* the first budget let regions go... */
    ck_assert_uint_gt(st1.cache_budget, 32 * MiB); /* ...mapped again: it grew... */
    ck_assert_uint_eq(reused[2], LW_N);            /* ...and the third wave maps nothing */
    ck_assert_uint_ge(st1.bytes_cached, LW_N * 3 * MiB);
    /* Seconds later with no fresh map: the budget goes back down (and the regions cached
     * that long are unmapped). */
    hk_purge_delay = 1000;
    uint32_t now = hk_purge_now();
    uint64_t learnt = st1.cache_budget;
    hk_os_purge(now + 2000, false);
    hk_os_purge(now + 4000, false);
    hk_os_get_stats(&st1);
    ck_assert_uint_lt(st1.cache_budget, learnt);
    ck_assert_uint_ge(st1.cache_budget, 32 * MiB);
    ck_assert_uint_eq(st1.bytes_cached, 0);
    hk_os_trim();
    hk_purge_delay = delay;
}
END_TEST

/* A working set of large blocks that only grows, right after the cache let a few regions go:
 * each fresh map counts only against the bytes let go, so the budget grows by those, not by
 * the whole working set, and once it is freed the cache keeps its usual bound. malloc_trim
 * resets the budget. (The hostile review: one region let go, then 64 fresh 15 MiB maps in a
 * second, and an idle program kept 962 MiB.) */
START_TEST(test_os_cache_learns_only_what_it_let_go) {
    int delay = hk_purge_delay;
    hk_purge_delay = 3600000;
    hk_os_trim();
    enum { FEW = 12, MANY = 40 };
    unsigned char *b[MANY];
    for (int i = 0; i < FEW; i++)
        ck_assert_ptr_nonnull(b[i] = hk_os_alloc_dirty(3 * MiB, 16));
    for (int i = 0; i < FEW; i++)
        ck_assert(hk_os_free(b[i]));
    hk_os_stats st;
    hk_os_get_stats(&st);
    ck_assert_uint_lt(st.bytes_cached, FEW * 3 * MiB); /* some were let go */
    for (int i = 0; i < MANY; i++) {
        ck_assert_ptr_nonnull(b[i] = hk_os_alloc_dirty(3 * MiB, 16));
        b[i][0] = 1;
    }
    hk_os_get_stats(&st);
    ck_assert_uint_le(st.cache_budget, 32 * MiB + FEW * (3 * MiB + 4 * KiB));
    for (int i = 0; i < MANY; i++)
        ck_assert(hk_os_free(b[i]));
    hk_os_get_stats(&st);
    ck_assert_uint_le(st.bytes_cached, 64 * MiB); /* the live bytes' bound, not 120 MiB */
    hk_os_trim();
    hk_os_get_stats(&st);
    ck_assert_uint_eq(st.cache_budget, 32 * MiB);
    ck_assert_uint_eq(st.bytes_cached, 0);
    hk_purge_delay = delay;
}
END_TEST

/* Bytes of [p, p + n) resident (mincore; p page-aligned). */
static size_t resident(const void *p, size_t n)
{
    size_t np = (n + 4095) / 4096, r = 0;
    unsigned char *v = malloc(np);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(mincore((void *)p, n, v), 0);
    for (size_t i = 0; i < np; i++)
        r += v[i] & 1;
    free(v);
    return r * 4096;
}

/* A region the cache may keep is mapped at its class (the power of two at or above the
 * request and its header page), so a later request of the same octave takes it as it is:
 * no mremap, nothing mapped (a moved region's pages cost a page-table resync each on first
 * touch). Among regions that fit, the one whose largest request served is nearest above the
 * new one (resident, the fewest pages past it), else the largest served; the newest among
 * equals. */
START_TEST(test_os_cache_class_fit) {
    int delay = hk_purge_delay;
    hk_purge_delay = 3600000; /* nothing due while the test runs */
    hk_os_trim();
    size_t m0 = hk_sys_mapped_bytes();
    unsigned char *a = hk_os_alloc(2 * MiB + 512 * KiB, 16);
    unsigned char *b = hk_os_alloc(3 * MiB, 16);
    unsigned char *e = hk_os_alloc(3 * MiB, 16);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(e);
    ck_assert_uint_eq(hk_os_usable(a), 4 * MiB - 4 * KiB); /* its class, less the header */
    ck_assert_uint_eq(hk_os_usable(b), 4 * MiB - 4 * KiB);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + 12 * MiB);
    memset(a, 0x11, 2 * MiB + 512 * KiB);
    memset(b, 0x22, 3 * MiB);
    memset(e, 0x33, 3 * MiB);
    ck_assert(hk_os_free(b));
    ck_assert(hk_os_free(e)); /* served as much as b, and newer */
    ck_assert(hk_os_free(a)); /* the newest, but it served less than b and e */
    hk_os_stats st0, st1;
    hk_os_get_stats(&st0);
    unsigned char *c = hk_os_alloc(2 * MiB + 768 * KiB, 16); /* resident in b and e */
    ck_assert_ptr_eq(c, e);
    ck_assert_msg(all_zero_sampled(c, 2 * MiB + 768 * KiB), "a reused region not zeroed");
    unsigned char *d = hk_os_alloc(2 * MiB + 8 * KiB, 16); /* a: the nearest above */
    ck_assert_ptr_eq(d, a);
    unsigned char *f = hk_os_alloc(4 * MiB - 8 * KiB, 16); /* more than any served: b */
    ck_assert_ptr_eq(f, b);
    hk_os_get_stats(&st1);
    ck_assert_uint_eq(st1.reused, st0.reused + 3);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0 + 12 * MiB); /* nothing mapped or grown */
    ck_assert(hk_os_free(c));
    ck_assert(hk_os_free(d));
    ck_assert(hk_os_free(f));
    /* A region resident past twice the request gives the pages past it back, and keeps its
     * mapping (hostile review 24: 7.9 MiB written, then 2.1 MiB served from it kept 8 MiB
     * resident; review 25: cut at the class, 4 MiB stayed resident, and the next 7.9 MiB
     * block grew it back with mremap). */
    hk_os_trim();
    unsigned char *g = hk_os_alloc(8 * MiB - 256 * KiB, 16);
    ck_assert_ptr_nonnull(g);
    ck_assert_uint_eq(hk_os_usable(g), 8 * MiB - 4 * KiB);
    memset(g, 0x44, 8 * MiB - 256 * KiB);
    ck_assert(hk_os_free(g));
    size_t m1 = hk_sys_mapped_bytes();
    unsigned char *h = hk_os_alloc(2 * MiB + 128 * KiB, 16);
    ck_assert_ptr_eq(h, g);
    ck_assert_uint_eq(hk_os_usable(h), 8 * MiB - 4 * KiB);
    ck_assert_uint_eq(resident(h + 2 * MiB + 128 * KiB, 6 * MiB - 384 * KiB), 0);
    ck_assert(all_zero_sampled(h, 2 * MiB + 128 * KiB));
    ck_assert(hk_os_free(h));
    unsigned char *k = hk_os_alloc(8 * MiB - 256 * KiB, 16);
    ck_assert_ptr_eq(k, g);
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m1);
    ck_assert(hk_os_free(k));
    /* A block alternating 3 and 5 MiB: one region, no system call (review 25: 0.10x). */
    hk_os_trim();
    unsigned char *x = hk_os_alloc(5 * MiB, 16);
    memset(x, 0x55, 5 * MiB);
    ck_assert(hk_os_free(x));
    m1 = hk_sys_mapped_bytes();
    for (int i = 0; i < 4; i++) {
        unsigned char *y = hk_os_alloc(i & 1 ? 5 * MiB : 3 * MiB, 16);
        ck_assert_ptr_eq(y, x);
        ck_assert_uint_eq(hk_sys_mapped_bytes(), m1);
        memset(y, 0x66, i & 1 ? 5 * MiB : 3 * MiB);
        ck_assert(hk_os_free(y));
    }
    hk_os_trim();
    ck_assert_uint_eq(hk_sys_mapped_bytes(), m0);
    hk_purge_delay = delay;
}
END_TEST

/* Under RLIMIT_AS the class's slack would count against the limit (hostile review 24: half as
 * many 8.1 MiB blocks fitted under `ulimit -v`): a region is then mapped at its own size,
 * however much room is left. */
START_TEST(test_os_no_slack_under_rlimit_as) {
    hk_os_trim();
    FILE *f = fopen("/proc/self/status", "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    unsigned long long vm_kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %llu kB", &vm_kb) == 1)
            break;
    fclose(f);
    ck_assert_uint_gt(vm_kb, 0);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)vm_kb * 1024 + 256 * MiB; /* room for the class, and more */
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    unsigned char *p = hk_os_alloc(9 * MiB, 16);
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(hk_os_usable(p), 9 * MiB);
    ck_assert_uint_lt(hk_os_usable(p), 10 * MiB);
    memset(p, 0x33, 9 * MiB);
    ck_assert(hk_os_free(p));
    hk_os_trim();
    /* A cached region grown for a bigger request: to the request, not its class (review 25:
     * 12 MiB after 9 MiB had 16 MiB usable under `ulimit -v`). */
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &lim), 0);
    p = hk_os_alloc(3 * MiB, 16);
    ck_assert_ptr_nonnull(p);
    ck_assert(hk_os_free(p));
    p = hk_os_alloc(5 * MiB, 16);
    size_t u = p ? hk_os_usable(p) : 0;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &old), 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(u, 5 * MiB);
    ck_assert_uint_lt(u, 5 * MiB + 8 * KiB);
    ck_assert(hk_os_free(p));
    hk_os_trim();
}
END_TEST

/* HAKMEM_PURGE_DELAY_MS=-1: no purge, and nothing that learns a budget (the purge clock
 * does). The cache keeps up to the most bytes the box had live: a wave of regions larger
 * than the default's budget (64 MiB at most) comes back whole from the cache (with that
 * budget, 2-4 MiB blocks went back to mmap 1500 more times than at the default delay, 0.34x
 * its speed); and no more than that peak, so a program alternating sizes does not grow
 * (the hostile review: keeping every region made 3 and 20 MiB blocks in turn grow by 20 MiB
 * a round). malloc_trim empties the cache and resets the peak. */
#define NV_N 40 /* 120 MiB of 3 MiB regions: over the default's budget */
START_TEST(test_os_cache_never_keeps_peak) {
    int delay = hk_purge_delay;
    hk_purge_delay = -1;
    hk_os_trim();
    hk_os_stats st0, st;
    unsigned char *b[NV_N];
    for (int w = 0; w < 2; w++) {
        hk_os_get_stats(&st0);
        for (int i = 0; i < NV_N; i++) {
            ck_assert_ptr_nonnull(b[i] = hk_os_alloc(3 * MiB, 16));
            ck_assert_msg(all_zero_sampled(b[i], 3 * MiB), "a reused region not zeroed");
            memset(b[i], 0x5A, 3 * MiB);
        }
        for (int i = 0; i < NV_N; i++)
            ck_assert(hk_os_free(b[i]));
        hk_os_get_stats(&st);
        ck_assert_uint_eq(st.bytes_purged, st0.bytes_purged); /* nothing unmapped */
        /* all kept, each mapped at its class (3 MiB and the header page: 4 MiB) */
        ck_assert_uint_eq(st.bytes_cached, (size_t)NV_N * 4 * MiB);
        if (w == 1)
            ck_assert_uint_eq(st.reused - st0.reused, NV_N); /* the second wave maps nothing */
    }
    /* Sizes in turn, one block live at a time: what stays mapped is bounded by the peak. */
    for (int r = 0; r < 50; r++) {
        unsigned char *p = hk_os_alloc_dirty(r % 2 ? 20 * MiB : 3 * MiB, 16);
        ck_assert_ptr_nonnull(p);
        p[0] = 1;
        ck_assert(hk_os_free(p));
    }
    hk_os_get_stats(&st);
    ck_assert_uint_le(st.bytes_cached, (size_t)NV_N * (3 * MiB + 4 * KiB));
    ck_assert_uint_eq(st.bytes_mapped_now, st0.bytes_mapped_now);
    /* Aligned blocks, which the cache never serves: a second wave maps fresh, and the first
     * wave's regions make room (hostile review 20: twice the peak stayed mapped). */
    hk_os_trim();
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < NV_N / 2; i++)
            ck_assert_ptr_nonnull(b[i] = hk_os_alloc_dirty(4 * MiB, 64 * KiB));
        hk_os_get_stats(&st);
        ck_assert_msg(st.bytes_cached <= 32 * MiB + 5 * MiB,
                      "wave %d: %zu bytes cached beside %zu live", w, (size_t)st.bytes_cached,
                      (size_t)st.bytes_mapped_now);
        for (int i = 0; i < NV_N / 2; i++)
            ck_assert(hk_os_free(b[i]));
    }
    /* malloc_trim: everything goes, and the peak with it. */
    hk_os_trim();
    hk_os_get_stats(&st);
    ck_assert_uint_eq(st.bytes_cached, 0);
    for (int i = 0; i < NV_N; i++)
        ck_assert(hk_os_free(hk_os_alloc_dirty(3 * MiB, 16)));
    hk_os_get_stats(&st);
    ck_assert_uint_le(st.bytes_cached, 64 * MiB); /* one region live at a time: a small peak */
    hk_os_trim();
    hk_purge_delay = delay;
}
END_TEST

START_TEST(test_os_aligned) {
    for (size_t align = 8 * KiB; align <= 4 * MiB; align <<= 1) {
        static const size_t sizes[] = {1, 4096, 100 * KiB, 3 * MiB};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            unsigned char *p = hk_os_alloc(sizes[i], align);
            ck_assert_ptr_nonnull(p);
            ck_assert_msg(((uintptr_t)p & (align - 1)) == 0, "hk_os_alloc(%zu, %zu) = %p", sizes[i],
                          align, (void *)p);
            ck_assert_uint_ge(hk_os_usable(p), sizes[i]);
            memset(p, 0xa5, sizes[i]);
            ck_assert(hk_os_free(p));
        }
    }
}
END_TEST

START_TEST(test_os_free_unknown) {
    int local = 0;
    void *heap = malloc(64); /* glibc's */
    ck_assert(!hk_os_free(&local));
    ck_assert(!hk_os_free(a_global));
    ck_assert(!hk_os_free(heap));
    ck_assert(!hk_os_free(NULL));
    ck_assert(!hk_os_owns(&local));
    ck_assert_uint_eq(hk_os_usable(heap), 0);
    ck_assert_ptr_null(hk_os_resize(heap, 8 * MiB));
    free(heap);
    /* Interior pointers of a live region are not its pointer. */
    char *p = hk_os_alloc(3 * MiB, 16);
    ck_assert_ptr_nonnull(p);
    ck_assert(!hk_os_free(p + 4096));
    ck_assert(!hk_os_free(p - 4096)); /* the header page */
    ck_assert(!hk_os_owns(p + 16));
    ck_assert(hk_os_owns(p)); /* still live after the refused frees */
    ck_assert(hk_os_free(p));
}
END_TEST

START_TEST(test_os_resize) {
    size_t n = 4 * MiB;
    unsigned char *p = hk_os_alloc(n, 16);
    ck_assert_ptr_nonnull(p);
    hk_check_stamp(p, n, 42, 4096);
    /* Fits and is not much too big: in place (4 MiB and its header page: an 8 MiB class;
     * 3 MiB is under half of it, so the region shrinks, in place). */
    ck_assert_ptr_eq(hk_os_resize(p, n - 100), p);
    ck_assert_ptr_eq(hk_os_resize(p, 3 * MiB), p);
    ck_assert_uint_lt(hk_os_usable(p), 4 * MiB);
    size_t kept = 3 * MiB; /* what the resize keeps of the stamped n */
    /* Growth: content kept. */
    unsigned char *q = hk_os_resize(p, 64 * MiB);
    ck_assert_ptr_nonnull(q);
    ck_assert(hk_os_owns(q));
    ck_assert_uint_ge(hk_os_usable(q), 64 * MiB);
    if (q != p)
        ck_assert(!hk_os_owns(p));
    ck_assert(hk_check_verify_prefix(q, kept, n, 42, 4096) == HK_CHECK_INTACT);
    ck_assert_msg(all_zero_sampled(q + n + 8192, 60 * MiB - 8192), "grown part not zero");
    q[64 * MiB - 1] = 1;
    /* Shrink far: content prefix kept. */
    unsigned char *r = hk_os_resize(q, 2 * MiB);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_ge(hk_os_usable(r), 2 * MiB);
    ck_assert_uint_lt(hk_os_usable(r), 4 * MiB);
    ck_assert(hk_check_verify_prefix(r, 2 * MiB, n, 42, 4096) == HK_CHECK_INTACT);
    ck_assert(hk_os_free(r));
    ck_assert(!hk_os_owns(r));
    /* Far below its class, a block gives the excess back: 15 MiB (a 16 MiB class) to 5 MiB. */
    unsigned char *b = hk_os_alloc(15 * MiB, 16);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(hk_os_usable(b), 16 * MiB - 4 * KiB);
    ck_assert_ptr_eq(hk_os_resize(b, 5 * MiB), b);
    ck_assert_uint_ge(hk_os_usable(b), 5 * MiB);
    ck_assert_uint_lt(hk_os_usable(b), 8 * MiB);
    ck_assert(hk_os_free(b));
}
END_TEST

/* A block grown a step at a time moves once an octave: growth maps the power of two at or
 * above the request, a quarter more above the cache's largest region (16 MiB), when the slack
 * is free; without it (RLIMIT_AS, strict overcommit), the request's own size. 2 to 16 MiB by
 * 64 KiB steps: 3 new mappings (4 to 8, 8 to 16, 16 to 20 MiB), not one a step. */
START_TEST(test_os_resize_grows_by_octave) {
    struct rlimit lim;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &lim), 0);
    FILE *f = fopen("/proc/sys/vm/overcommit_memory", "r");
    int oc = f ? fgetc(f) : '2';
    if (f)
        fclose(f);
    bool slack = lim.rlim_cur == RLIM_INFINITY && oc != '2';
    size_t n = 2 * MiB;
    unsigned char *p = hk_os_alloc(n, 16);
    ck_assert_ptr_nonnull(p);
    hk_check_stamp(p, n, 7, 4096);
    size_t usable = hk_os_usable(p), changes = 0, steps = 0;
    while (n < 16 * MiB) {
        n += 64 * KiB;
        p = hk_os_resize(p, n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_ge(hk_os_usable(p), n);
        p[n - 1] = 1;
        changes += hk_os_usable(p) != usable;
        usable = hk_os_usable(p);
        steps++;
    }
    ck_assert(hk_check_verify_prefix(p, 2 * MiB, 2 * MiB, 7, 4096) == HK_CHECK_INTACT);
    if (slack) {
        ck_assert_msg(changes == 3, "%zu new mappings in %zu steps", changes, steps);
        ck_assert_uint_eq(usable,
                          hk_align_up(16 * MiB + 4 * KiB + (16 * MiB + 4 * KiB) / 4, 4 * KiB) -
                              4 * KiB);
    } else {
        ck_assert_uint_eq(changes, steps);
    }
    ck_assert(hk_os_free(p));
}
END_TEST

START_TEST(test_os_via_alloc_at) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {2 * MiB, 2 * MiB + 1, 3 * MiB + 12345, 64 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        hk_os_stats st0, st1;
        hk_os_get_stats(&st0);
        void *p = (i & 1) ? hak_malloc(s) : hak_alloc_at(s, 3);
        ck_assert_msg(p != NULL, "[%s] alloc(%zu)", hk_check_mode_names[_i], s);
        ck_assert_msg(hak_box_of(p) == HAK_BOX_MMAP, "alloc(%zu): box %s", s,
                      hak_box_name(hak_box_of(p)));
        ck_assert(hk_os_owns(p));
        ck_assert_uint_eq((uintptr_t)p & 4095, 0);
        ck_assert_uint_ge(hak_malloc_usable_size(p), s);
        hk_check_stamp(p, s, s, 4096);
        ck_assert(hk_check_verify(p, s, s, 4096) == HK_CHECK_INTACT);
        hk_os_get_stats(&st1);
        ck_assert_uint_eq(st1.allocs, st0.allocs + 1);
        hak_free(p);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
        hk_os_get_stats(&st1);
        ck_assert_uint_eq(st1.frees, st0.frees + 1);
        ck_assert_uint_eq(st1.bytes_mapped_now, st0.bytes_mapped_now);
    }
}
END_TEST

START_TEST(test_os_realloc_grow_4m) {
    hk_check_set_mode(_i);
    size_t n = 4 * MiB;
    unsigned char *p = hak_alloc_at(n, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    hk_check_stamp(p, n, 99, 1024);
    unsigned char *q = hak_realloc(p, 16 * MiB);
    ck_assert_ptr_nonnull(q);
    ck_assert_int_eq(hak_box_of(q), HAK_BOX_MMAP);
    ck_assert_uint_ge(hak_malloc_usable_size(q), 16 * MiB);
    ck_assert_msg(hk_check_verify(q, n, 99, 1024) == HK_CHECK_INTACT, "content lost on growth");
    memset(q + n, 0x11, 12 * MiB);
    unsigned char *r = hak_realloc(q, 80 * MiB);
    ck_assert_ptr_nonnull(r);
    ck_assert(hk_check_verify(r, n, 99, 1024) == HK_CHECK_INTACT);
    ck_assert_uint_eq(r[16 * MiB - 1], 0x11);
    hak_free(r);
    ck_assert_int_eq(hak_box_of(r), HAK_BOX_NONE);
}
END_TEST

START_TEST(test_os_double_free_dies) {
    void *p = hak_alloc_at(2 * MiB, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

START_TEST(test_os_interior_free_dies) {
    char *p = hak_alloc_at(8 * MiB, 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    hk_check_quiet_stderr();
    hak_free(p + 4096);
}
END_TEST

Suite *make_os_suite(void)
{
    Suite *s = suite_create("os");
    TCase *tc = tcase_create("direct");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_os_alloc_direct);
    tcase_add_test(tc, test_os_aligned);
    tcase_add_test(tc, test_os_free_unknown);
    tcase_add_test(tc, test_os_resize);
    tcase_add_test(tc, test_os_resize_grows_by_octave);
    tcase_add_test(tc, test_os_cache_grows_smaller_region);
    tcase_add_test(tc, test_os_cache_learns_waves);
    tcase_add_test(tc, test_os_cache_learns_only_what_it_let_go);
    tcase_add_test(tc, test_os_cache_never_keeps_peak);
    tcase_add_test(tc, test_os_cache_class_fit);
    tcase_add_test(tc, test_os_no_slack_under_rlimit_as);
    suite_add_tcase(s, tc);
    tc = tcase_create("api");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_os_via_alloc_at, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_os_realloc_grow_4m, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_test_raise_signal(tc, test_os_double_free_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_os_interior_free_dies, SIGABRT);
    suite_add_tcase(s, tc);
    return s;
}
