/* check_engine.c: the block engine (core/engine/: hk_slab.h, hk_pageheap.h, hk_purge.h,
 * hk_ptr.h) under every box that carves blocks from it.
 * Threads: a block freed by another thread, the thread caches given back at thread exit (the
 * arena stays put, every allocation counted), allocations and frees made while a thread exits
 * after its cache retired, the pages a thread held returned at its exit, a double free caught.
 * Pages: pages leave their class when their last block comes back and serve another class or
 * box; a pointer into a page that left is refused; refills take the fullest page first; free
 * runs are purged after HAKMEM_PURGE_DELAY_MS (0: at once, -1: never), and over the dirty
 * budget at once; the mmap box's cache obeys the same delay; malloc_trim returns everything
 * free; the budget learns a program's waves; a thread's cache is bounded in bytes; realloc
 * resizes a block that is a page of its own in place, and the heap rebuilds its runs.
 * Each test runs in its own forked process (a fresh heap). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hk_check.h"
#include "hk_mmap.h"
#include "hk_purge.h"
#include "hk_slab_internal.h"
#include "hk_stats.h"
#include "hk_table.h"
#include "hk_tiny.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* Resident pages of [p, p + n) (mincore). */
static size_t resident(const void *p, size_t n)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE), np = (n + pg - 1) / pg, r = 0;
    unsigned char *v = malloc(np);
    ck_assert_ptr_nonnull(v);
    ck_assert_int_eq(mincore((void *)((uintptr_t)p & ~(pg - 1)), n, v), 0);
    for (size_t i = 0; i < np; i++)
        r += v[i] & 1;
    free(v);
    return r * pg;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static unsigned cls_of(const void *p)
{
    return hk_pagecls[((uintptr_t)p - hk_arena_base) >> HK_UNIT_SHIFT];
}

/* Every block of a Tiny page freed: the page leaves its class (class map cleared) and, after
 * malloc_trim, its memory serves a Pool class; the statistics count it as moved across
 * boxes. */
START_TEST(test_pages_move_between_boxes) {
    hk_check_set_mode(_i);
    enum { N = 2048 }; /* 2048 x 64 B = 16 pages of 8 KiB */
    static void *p[N];
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(p[i] = hak_malloc(64));
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        lo = (uintptr_t)p[i] < lo ? (uintptr_t)p[i] : lo;
        hi = (uintptr_t)p[i] > hi ? (uintptr_t)p[i] : hi;
    }
    unsigned c64 = cls_of(p[0]);
    ck_assert_uint_eq(hk_classes[c64].box, HAK_BOX_TINY);
    for (int i = 0; i < N; i++)
        hak_free(p[i]);
    hak_malloc_trim(0); /* the thread's cache and the transfer caches back to the pages */
    for (int i = 0; i < N; i++)
        ck_assert_msg(cls_of(p[i]) == 0, "block %d's page still in class %u", i, cls_of(p[i]));
    hk_ph_stats s0, s1;
    hk_ph_get_stats(&s0);
    ck_assert_uint_eq(s0.box_pages[HAK_BOX_TINY], 0);
    /* 8 KiB Pool blocks (64 KiB pages) until one lands where the Tiny pages were: the page
     * heap hands out every free run before it commits a new segment. */
    static void *q[4096];
    int n = 0, hit = -1;
    while (hit < 0 && n < 4096 && hk_slab_committed_bytes() == s0.committed) {
        q[n] = hak_malloc(8 * KiB);
        ck_assert_ptr_nonnull(q[n]);
        ck_assert_int_eq(hak_box_of(q[n]), HAK_BOX_POOL);
        if ((uintptr_t)q[n] + 8 * KiB > lo && (uintptr_t)q[n] <= hi)
            hit = n;
        n++;
    }
    ck_assert_msg(hit >= 0, "%d pool blocks, none where the tiny pages were (%#lx-%#lx)", n,
                  (unsigned long)lo, (unsigned long)hi);
    hk_ph_get_stats(&s1);
    ck_assert_uint_gt(s1.pages_moved_box, s0.pages_moved_box);
    ck_assert_uint_ge(s1.bytes_moved, 64 * KiB);
    for (int i = 0; i < n; i++)
        hak_free(q[i]);
}
END_TEST

/* A pointer into a page that left its class is refused, whatever it was before. */
START_TEST(test_stale_pointer_refused) {
    void *p[128];
    for (int i = 0; i < 128; i++)
        p[i] = hak_malloc(64);
    void *a = hak_memalign(64, 200); /* an aligned interior pointer: its own state byte */
    ck_assert_ptr_nonnull(a);
    for (int i = 0; i < 128; i++)
        hak_free(p[i]);
    hak_free(a);
    hak_malloc_trim(0);
    ck_assert_uint_eq(cls_of(p[5]), 0);
    ck_assert_int_eq(hak_box_of(p[5]), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of(a), HAK_BOX_NONE);
    hk_check_quiet_stderr();
    hak_free(p[5]); /* aborts: invalid pointer */
}
END_TEST

/* The page's state bytes are reset when it leaves: in the same memory, carved by another
 * class, the old block starts and the old aligned mark are not block starts any more. */
START_TEST(test_state_reset_on_release) {
    enum { N = 512 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = hak_malloc(48); /* 48 B blocks: starts every 48 bytes */
    void *a = hak_memalign(256, 100);
    for (int i = 0; i < N; i++)
        hak_free(p[i]);
    hak_free(a);
    hak_malloc_trim(0);
    /* 1024 B blocks until the old memory is carved again (before the arena grows). */
    size_t committed = hk_slab_committed_bytes();
    enum { M = 8192 };
    static void *q[M];
    int m = 0;
    while (m < M && cls_of(p[0]) == 0 && cls_of(p[N - 1]) == 0 &&
           hk_slab_committed_bytes() == committed)
        q[m++] = hak_malloc(1000);
    for (int k = 0; k < 64 && m < M; k++) /* the rest of the reusing refill */
        q[m++] = hak_malloc(1000);
    int checked = 0;
    for (int i = 0; i < N; i++) {
        if (cls_of(p[i]) == 0 || ((uintptr_t)p[i] & 1023) == 0)
            continue; /* not reused, or a new block starts there too */
        ck_assert_msg(hak_box_of(p[i]) == HAK_BOX_NONE, "old start %p taken for a block", p[i]);
        checked++;
    }
    ck_assert_msg(checked > 0, "the 48 B pages' memory was not reused (%d blocks)", m);
    if (cls_of(a) && ((uintptr_t)a & 1023))
        ck_assert_int_eq(hak_box_of(a), HAK_BOX_NONE);
    for (int i = 0; i < m; i++)
        hak_free(q[i]);
}
END_TEST

/* Pages are coloured: in every class with more than one block per page, a page starts its
 * first block at a multiple of 64 bytes below 4 KiB, pages take different colours where the
 * class has any, and the colours' memory is bounded. Checked for every colour the class
 * has (not only those of the pages a run happens to get): the last block ends inside the
 * page; a page under 128 KiB touches no more 4 KiB pages than uncoloured, a larger one at
 * most one more (hostile review 17: +6 % RSS for full pages of 6 KiB blocks before); and
 * every class whose last OS page leaves 64 bytes or more of slack (free colours), or whose
 * pages are 128 KiB or more with slack, is coloured. */
START_TEST(test_pages_coloured) {
    unsigned classes = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_info *ci = &hk_classes[c];
        size_t psize = (size_t)1 << ci->page_shift, span = (size_t)ci->cap * ci->bsize,
               slack = psize - span;
        if (ci->cap < 2) {
            ck_assert_uint_eq(ci->colors, 1);
            continue;
        }
        size_t pages0 = (span + 4095) / 4096;
        for (size_t k = 0; k < ci->colors; k++) {
            size_t col = k * 64; /* colour k (hk_page_first) */
            ck_assert_msg(col < 4096 && col + span <= psize,
                          "class %u (%u bytes, %zu KiB pages): colour %zu of %u", c, ci->bsize,
                          psize / KiB, col, ci->colors);
            size_t pages = (col + span + 4095) / 4096 - col / 4096;
            ck_assert_msg(pages <= pages0 + (psize >= 128 * KiB),
                          "class %u (%u bytes, %zu KiB pages): colour %zu touches %zu OS pages, "
                          "%zu uncoloured",
                          c, ci->bsize, psize / KiB, col, pages, pages0);
        }
        bool want = slack % 4096 >= 64 || (psize >= 128 * KiB && slack >= 64);
        ck_assert_msg(!want || ci->colors > 1, "class %u (%u bytes, %zu of slack): no colours", c,
                      ci->bsize, slack);
        if (ci->colors < 2)
            continue;
        /* Placed pages: at a colour, and not all at the same one. */
        enum { MAXB = 4096 };
        static void *b[MAXB];
        unsigned n = 4u * ci->cap < MAXB ? 4u * ci->cap : MAXB;
        size_t first = SIZE_MAX;
        bool differ = false;
        for (unsigned i = 0; i < n; i++) {
            ck_assert_ptr_nonnull(b[i] = hk_slab_alloc(c));
            size_t off = ((uintptr_t)b[i] & (psize - 1)) % ci->bsize; /* the page's colour */
            ck_assert_uint_eq(off % 64, 0);
            ck_assert_uint_lt(off / 64, ci->colors);
            if (first == SIZE_MAX)
                first = off;
            differ |= off != first;
        }
        ck_assert_msg(differ, "class %u (%u bytes, %u colours): %u pages, all at + %zu", c,
                      ci->bsize, ci->colors, n / ci->cap, first);
        for (unsigned i = 0; i < n; i++)
            hk_slab_free(b[i]);
        classes++;
    }
    ck_assert_uint_ge(classes, 8); /* Pool and Mid classes among them */
}
END_TEST

/* A coloured page of blocks of 256 bytes or more resets the state bytes of its own block
 * starts when it leaves its class (not those of an uncoloured page): once another class
 * carves the memory, without malloc_trim (which purges the map), no old start keeps a
 * state. */
START_TEST(test_state_reset_coloured) {
    enum { N = 3000 };
    static void *p[N];
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(p[i] = hak_malloc(10000)); /* 10 KiB blocks, 128 KiB pages */
    unsigned c10 = cls_of(p[0]);
    const hk_class_info *ci = &hk_classes[c10];
    ck_assert_uint_gt(ci->colors, 1);
    for (int i = 0; i < N; i++)
        hak_free(p[i]);
    /* What came back to the page heap: pages no class holds. */
    int released = 0;
    for (int i = 0; i < N; i++)
        released += cls_of(p[i]) == 0;
    ck_assert_msg(released > 0, "no 10 KiB page went back without trim");
    size_t committed = hk_slab_committed_bytes();
    enum { M = 60000 };
    static void *q[M];
    int m = 0, reused = 0;
    while (m < M && hk_slab_committed_bytes() == committed && reused < 200) {
        q[m++] = hak_malloc(700);
        reused = 0;
        for (int i = 0; i < N && reused < 200; i += 7)
            reused += cls_of(p[i]) != 0 && cls_of(p[i]) != c10;
    }
    int checked = 0;
    for (int i = 0; i < N; i++) {
        unsigned now = cls_of(p[i]);
        if (now == 0 || now == c10)
            continue;
        hk_ptr_info info;
        if (hk_ptr_check(p[i], &info) != HK_PTR_INVALID && info.block == (uintptr_t)p[i])
            continue; /* a new block starts there too */
        unsigned st = atomic_load_explicit(&hk_state[((uintptr_t)p[i] - hk_arena_base) >> 4],
                                           memory_order_relaxed);
        ck_assert_msg(st == HK_ST_UNUSED, "old 10 KiB start %p kept state 0x%02x in class %u", p[i],
                      st, now);
        checked++;
    }
    ck_assert_msg(checked > 0, "the 10 KiB pages' memory was not carved again (%d blocks)", m);
    for (int i = 0; i < m; i++)
        hak_free(q[i]);
}
END_TEST

/* Refills take the fullest page first, so that the emptiest drain. */
START_TEST(test_fullest_page_first) {
    enum { N = 16 };
    void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = hak_malloc(1000); /* 1024 B blocks: 8 per 8 KiB page, two pages */
    uintptr_t pa = (uintptr_t)p[0] & ~(uintptr_t)8191, pb = 0;
    for (int i = 0; i < N; i++)
        if (((uintptr_t)p[i] & ~(uintptr_t)8191) != pa)
            pb = (uintptr_t)p[i] & ~(uintptr_t)8191;
    ck_assert_uint_ne(pb, 0);
    /* Page A keeps 2 blocks, page B keeps 6. */
    int kept_a = 0, kept_b = 0;
    for (int i = 0; i < N; i++) {
        uintptr_t pg = (uintptr_t)p[i] & ~(uintptr_t)8191;
        if (pg == pa ? kept_a++ < 2 : kept_b++ < 6)
            continue;
        hak_free(p[i]);
        p[i] = NULL;
    }
    hak_malloc_trim(0); /* every free block back to its page */
    void *q = hak_malloc(1000);
    ck_assert_msg(((uintptr_t)q & ~(uintptr_t)8191) == pb, "block from %#lx, fuller page is %#lx",
                  (unsigned long)((uintptr_t)q & ~(uintptr_t)8191), (unsigned long)pb);
}
END_TEST

/* The page heap's delay: -1 keeps a freed run resident, 0 purges it at once, N purges it at
 * the first tick after N ms. */
static void *page_touched(unsigned order)
{
    bool res;
    uintptr_t a = hk_ph_alloc(order, HK_CLS_L250, &res);
    ck_assert_uint_ne(a, 0);
    memset((void *)a, 0x5a, (size_t)1 << (order + HK_UNIT_SHIFT));
    return (void *)a;
}

START_TEST(test_purge_delay_never) {
    hk_purge_delay = -1;
    void *a = page_touched(6);
    hk_ph_free((uintptr_t)a, 6);
    ck_assert_uint_eq(resident(a, 512 * KiB), 512 * KiB);
    sleep_ms(30);
    hk_purge_tick();
    ck_assert_uint_eq(resident(a, 512 * KiB), 512 * KiB);
}
END_TEST

START_TEST(test_purge_delay_zero) {
    hk_purge_delay = 0;
    void *a = page_touched(6);
    hk_ph_free((uintptr_t)a, 6);
    ck_assert_uint_eq(resident(a, 512 * KiB), 0);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.free_resident, 0);
    ck_assert_uint_ge(s.purged_bytes, 512 * KiB);
}
END_TEST

/* Delay 0 with threads freeing at once: a free does not wait for another thread's purge (it
 * asks, and that thread purges again), yet nothing is left dirty once they are done. */
#define PZ_THREADS 4
static void *pz_thread(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < 400; i++) {
        unsigned order = 1 + (seed = seed * 1103515245u + 12345u) % 5;
        bool res;
        uintptr_t a = hk_ph_alloc(order, HK_CLS_L250, &res);
        if (!a)
            return (void *)1;
        memset((void *)a, 0x5a, (size_t)1 << (order + HK_UNIT_SHIFT));
        hk_ph_free(a, order);
    }
    return NULL;
}

START_TEST(test_purge_delay_zero_threads) {
    hk_purge_delay = 0;
    pthread_t t[PZ_THREADS];
    for (uintptr_t i = 0; i < PZ_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, pz_thread, (void *)(i + 1)), 0);
    for (int i = 0; i < PZ_THREADS; i++) {
        void *r;
        ck_assert_int_eq(pthread_join(t[i], &r), 0);
        ck_assert_ptr_null(r);
    }
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.free_resident, 0);
    ck_assert_uint_eq(s.committed, s.in_pages + s.free_resident + s.free_purged);
}
END_TEST

/* A free that crosses the dirty budget while the purge clock's purge holds the purge lock
 * does not wait for it: it asks, and the clock's purge, once done with its due runs, purges
 * down to half the budget for it (purge_answer). A thread stands for the clock: it purges
 * 128 MiB of due runs (left dirty under a raised budget), the main thread meanwhile frees
 * 48 MiB of fresh ones, none due, over the 32 MiB budget. */
static atomic_int pa_go;
static void *pa_clock(void *arg)
{
    (void)arg;
    atomic_store(&pa_go, 1);
    hk_ph_purge(hk_purge_now(), false);
    return NULL;
}

START_TEST(test_purge_asked_during_clock) {
    hk_purge_delay = 200;
    enum { DUE = 256, FRESH = 96 }; /* runs of 512 KiB: 128 MiB due, then 48 MiB */
    void *a[DUE + FRESH];
    for (int i = 0; i < DUE + FRESH; i++)
        a[i] = page_touched(6);
    hk_ph_set_dirty_floor(256 * MiB);
    for (int i = 0; i < DUE; i++) /* under that budget: dirty, due after 200 ms */
        hk_ph_free((uintptr_t)a[i], 6);
    sleep_ms(250);
    hk_ph_set_dirty_floor(32 * MiB);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, pa_clock, NULL), 0);
    while (!atomic_load(&pa_go))
        ;
    for (int i = DUE; i < DUE + FRESH; i++)
        hk_ph_free((uintptr_t)a[i], 6);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_msg(s.free_resident <= s.dirty_budget, "%zu bytes dirty over a budget of %zu",
                  (size_t)s.free_resident, (size_t)s.dirty_budget);
}
END_TEST

START_TEST(test_purge_delay_elapsed) {
    /* 1 s: "too early" must hold on a loaded machine under valgrind too. */
    hk_purge_delay = 1000;
    void *a = page_touched(6);
    hk_ph_free((uintptr_t)a, 6);
    hk_purge_tick(); /* too early */
    ck_assert_uint_eq(resident(a, 512 * KiB), 512 * KiB);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_ge(s.free_resident, 512 * KiB);
    sleep_ms(1100);
    hk_purge_tick();
    ck_assert_uint_eq(resident(a, 512 * KiB), 0);
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.free_resident, 0);
}
END_TEST

/* A request finds only purged runs of its size, and a bigger free run is resident: the bigger
 * one is split, so the block needs no page faults and the resident run does not stay idle
 * until purged (the 64 KiB-1 MiB mix refaulted 70 MB a second the other way). */
START_TEST(test_resident_runs_first) {
    hk_purge_delay = 3600000;
    enum { N = 16 };
    void *s[N];
    for (int i = 0; i < N; i++)
        s[i] = page_touched(6); /* 16 x 512 KiB */
    void *b = page_touched(7);  /* 1 MiB */
    for (int i = 0; i < N; i += 2)
        hk_ph_free((uintptr_t)s[i], 6); /* every other one: they cannot all merge */
    hk_ph_purge(hk_purge_now(), true);
    hk_ph_free((uintptr_t)b, 7);
    bool res = false;
    uintptr_t p = hk_ph_alloc(6, HK_CLS_L250, &res);
    ck_assert_uint_ne(p, 0);
    ck_assert_msg(res && p >= (uintptr_t)b && p < (uintptr_t)b + MiB,
                  "512 KiB run at %#lx (resident %d), the resident 1 MiB run at %p",
                  (unsigned long)p, res, b);
    ck_assert_uint_eq(resident((void *)p, 512 * KiB), 512 * KiB);
}
END_TEST

/* Takes runs of `order` until one comes from a fresh segment (every free unit taken before,
 * none left free elsewhere): returns that run, the fresh segment's first. */
static uintptr_t drain_to_fresh_segment(unsigned order)
{
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    size_t committed = s.committed;
    bool res;
    uintptr_t a;
    do {
        a = hk_ph_alloc(order, HK_CLS_L250, &res);
        ck_assert_uint_ne(a, 0);
        hk_ph_get_stats(&s);
    } while (s.committed == committed);
    ck_assert_uint_eq((a - hk_arena_base) & (HK_SEG_SIZE - 1), 0);
    return a;
}

/* A run freed into a segment never purged: the clean halves of its later splits were never
 * purged, so taking them is no refault (hostile review 21: they inherited the freed part's
 * time as if it were a purge's, and raised the dirty budget with nothing purged). */
START_TEST(test_split_clean_no_refault) {
    hk_purge_delay = 3600000;
    hk_ph_stats s0, s1;
    uintptr_t a = drain_to_fresh_segment(0);
    hk_ph_get_stats(&s0);
    hk_ph_free(a, 0); /* the segment: one dirty unit, the rest never purged */
    bool res;
    for (int i = 0; i < 8; i++)
        ck_assert_uint_ne(hk_ph_alloc(1, HK_CLS_L250, &res), 0);
    hk_ph_get_stats(&s1);
    ck_assert_uint_eq(s1.purged_bytes, s0.purged_bytes);
    ck_assert_msg(s1.refaulted == s0.refaulted, "%llu bytes refaulted, none purged",
                  (unsigned long long)(s1.refaulted - s0.refaulted));
    ck_assert_uint_eq(s1.dirty_budget, s0.dirty_budget);
}
END_TEST

/* A piece taken from a run purged in part less than a second ago teaches the budget its
 * purged pages (before, only a run purged whole did). */
START_TEST(test_partly_purged_piece_learns) {
    hk_purge_delay = 3600000;
    uintptr_t a = drain_to_fresh_segment(6), b = (uintptr_t)page_touched(6);
    ck_assert_uint_eq(b, a + 512 * KiB);
    memset((void *)a, 0x5a, 512 * KiB);
    hk_ph_free(a, 6);
    hk_ph_purge(hk_purge_now(), true); /* a purged; the segment's rest never touched */
    hk_ph_free(b, 6);                  /* the segment free: b resident, a purged */
    hk_ph_stats s0, s1;
    hk_ph_get_stats(&s0);
    bool res = true;
    ck_assert_uint_eq(hk_ph_alloc(7, HK_CLS_L250, &res), a); /* a and b */
    ck_assert(!res);
    hk_ph_get_stats(&s1);
    ck_assert_uint_eq(s1.refaulted - s0.refaulted, 512 * KiB);
}
END_TEST

/* A larger run is split for a request only when the piece it ends on is wholly resident: a
 * 4 MiB run whose resident 64 KiB pieces are scattered (one per 512 KiB) stays whole for
 * the 4 MiB request after a 512 KiB one, which takes the purged 512 KiB run (hostile review
 * 21: the split gave a piece that faulted in anyway and a new segment for the 4 MiB). */
START_TEST(test_split_ends_resident) {
    hk_purge_delay = 3600000;
    enum { PIECES = 64 }; /* 64 KiB pieces of a 4 MiB segment */
    uintptr_t seg = drain_to_fresh_segment(3), piece[PIECES];
    piece[0] = seg;
    for (int i = 1; i < PIECES; i++) {
        piece[i] = (uintptr_t)page_touched(3);
        ck_assert_uint_eq(piece[i], seg + (uintptr_t)i * 64 * KiB);
    }
    memset((void *)seg, 0x5a, 64 * KiB);
    uintptr_t P = (uintptr_t)page_touched(6), Pb = (uintptr_t)page_touched(6);
    ck_assert_uint_eq((P - hk_arena_base) ^ (Pb - hk_arena_base), 512 * KiB); /* buddies */
    for (int i = 0; i < PIECES; i++)
        if (i % 8)
            hk_ph_free(piece[i], 3);
    hk_ph_free(P, 6);
    hk_ph_purge(hk_purge_now(), true); /* P and 7/8 of the segment purged */
    for (int i = 0; i < PIECES; i += 8)
        hk_ph_free(piece[i], 3); /* the segment free: 8 resident pieces, scattered */
    bool res;
    uintptr_t x = hk_ph_alloc(6, HK_CLS_L250, &res);
    ck_assert_msg(x == P, "512 KiB at %#lx, the purged run at %#lx, the segment at %#lx",
                  (unsigned long)x, (unsigned long)P, (unsigned long)seg);
    ck_assert(!res);
    uintptr_t y = hk_ph_alloc(HK_MAX_ORDER, HK_CLS_L250, &res);
    ck_assert_msg(y == seg, "4 MiB at %#lx, the free segment at %#lx", (unsigned long)y,
                  (unsigned long)seg);
}
END_TEST

/* The bytes of blocks in the calling thread's cache. */
static size_t tcache_bytes(void)
{
    size_t bytes = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        bytes += (size_t)hk_slab_bin_count(c) * hk_classes[c].bsize;
    return bytes;
}

/* A thread cache's idle bins go back a delay after its last collection under the delay as
 * it is now: a mallopt lowering it from an hour takes effect at once (hostile review 21:
 * the next collection stayed scheduled an hour away). */
START_TEST(test_tcache_gc_follows_delay) {
    hk_purge_set_delay(3600000);
    void *p[64];
    for (int i = 0; i < 64; i++)
        p[i] = hak_malloc(48);
    for (int i = 0; i < 64; i++)
        hak_free(p[i]);
    ck_assert_uint_gt(tcache_bytes(), 0);
    sleep_ms(15);
    hk_purge_tick();
    hk_purge_set_delay(20);
    for (int round = 0; round < 2; round++) { /* active bins survive one collection */
        sleep_ms(30);
        hk_purge_tick();
    }
    size_t bytes = tcache_bytes();
    ck_assert_msg(bytes == 0, "%zu bytes still in the idle bins", bytes);
}
END_TEST

/* Over the dirty budget (32 MiB here) the oldest free runs go at once, whatever the delay. */
START_TEST(test_purge_budget) {
    hk_purge_delay = 3600000;
    enum { N = 24 };
    void *a[N];
    for (int i = 0; i < N; i++)
        a[i] = page_touched(HK_MAX_ORDER); /* 24 x 4 MiB */
    for (int i = 0; i < N; i++)
        hk_ph_free((uintptr_t)a[i], HK_MAX_ORDER);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_msg(s.free_resident <= 32 * MiB, "%zu bytes free and resident", s.free_resident);
    ck_assert_uint_ge(s.purged_bytes, (N * 4 - 32) * MiB);
    ck_assert_uint_eq(resident(a[0], 4 * MiB), 0); /* the oldest went first */
}
END_TEST

/* Over the budget the big free runs go first, whatever their age: a madvise of at most 33
 * pages flushes the TLB page by page, 13 us a page on the AMD VM. 32 KiB runs (their buddies
 * kept, so they stay small) freed first, then 24 MiB of 512 KiB runs: over the 32 MiB budget,
 * the purge takes the big runs and leaves every small one resident. */
START_TEST(test_purge_budget_big_first) {
    hk_purge_delay = 3600000;
    hk_ph_set_dirty_floor(32 * MiB);
    enum { NS = 1024, NB = 48 };
    static void *sm[NS], *big[NB];
    static bool freed[NS];
    for (int i = 0; i < NS; i++)
        sm[i] = page_touched(2);
    for (int i = 0; i < NB; i++)
        big[i] = page_touched(6);
    size_t small_bytes = 0;
    for (int i = 0; i + 1 < NS; i++)
        if ((((uintptr_t)sm[i] - hk_arena_base) & 32 * KiB) == 0 &&
            (uintptr_t)sm[i + 1] == (uintptr_t)sm[i] + 32 * KiB) {
            hk_ph_free((uintptr_t)sm[i], 2); /* its buddy, sm[i + 1], stays in use */
            freed[i] = true;
            small_bytes += 32 * KiB;
        }
    ck_assert_msg(small_bytes >= 12 * MiB, "only %zu bytes of small runs freed", small_bytes);
    hk_ph_stats s0, s;
    hk_ph_get_stats(&s0);
    for (int i = 0; i < NB; i++)
        hk_ph_free((uintptr_t)big[i], 6);
    hk_ph_get_stats(&s);
    ck_assert_uint_ge(s.purged_bytes - s0.purged_bytes, 4 * MiB);
    ck_assert_msg(s.free_resident <= s.dirty_budget, "%zu bytes dirty over a budget of %zu",
                  (size_t)s.free_resident, (size_t)s.dirty_budget);
    for (int i = 0; i < NS; i++)
        if (freed[i])
            ck_assert_msg(resident(sm[i], 32 * KiB) == 32 * KiB,
                          "small run %p purged while big ones were dirty", sm[i]);
}
END_TEST

/* A segment freed in parts, each purged at once (delay 0), has given its whole state map
 * back when its last part makes it free whole. */
START_TEST(test_segment_meta_released) {
    hk_purge_delay = 0;
    enum { N = 1 << (HK_MAX_ORDER - 6) }; /* 512 KiB runs: a segment */
    void *r[N];
    uintptr_t seg = 0;
    for (int tries = 0; tries < 64 && !seg; tries++) {
        uintptr_t first = (uintptr_t)page_touched(6);
        if ((first - hk_arena_base) & (HK_SEG_SIZE - 1))
            continue; /* not a segment's first run: try the next */
        r[0] = (void *)first;
        int i = 1;
        for (; i < N; i++) {
            r[i] = page_touched(6);
            if ((uintptr_t)r[i] != first + (uintptr_t)i * 512 * KiB)
                break;
        }
        if (i == N)
            seg = first;
    }
    ck_assert_msg(seg != 0, "no whole segment of 512 KiB runs");
    size_t st = (seg - hk_arena_base) >> HK_GRAN_SHIFT, st_len = HK_SEG_SIZE >> HK_GRAN_SHIFT;
    for (size_t o = 0; o < st_len; o += 4096) /* state pages resident (a class would write) */
        atomic_store(&hk_state[st + o], 0);
    ck_assert_uint_eq(resident((const void *)&hk_state[st], st_len), st_len);
    for (int i = 0; i < N - 1; i++)
        hk_ph_free((uintptr_t)r[i], 6);
    ck_assert_msg(resident(r[0], 512 * KiB) == 0, "a part not purged at delay 0");
    hk_ph_free((uintptr_t)r[N - 1], 6);
    ck_assert_uint_eq(resident((const void *)&hk_state[st], st_len), 0);
}
END_TEST

/* A pressure purge releases a run's pages and defers its metadata (a TLB flush per page
 * under 34 pages); the purge clock releases it a delay later if the run is still free
 * (hostile review 26: in a heap keeping a block in every segment it stayed for good, even
 * through malloc_trim). 512 KiB runs, every 8th kept, the rest freed over the budget. */
START_TEST(test_meta_deferred_released) {
    hk_purge_delay = 3600000;
    hk_ph_set_dirty_floor(32 * MiB);
    enum { N = 128 };
    static void *r[N];
    for (int i = 0; i < N; i++) {
        r[i] = page_touched(6);
        size_t st = ((uintptr_t)r[i] - hk_arena_base) >> HK_GRAN_SHIFT;
        for (size_t o = 0; o < (512 * KiB >> HK_GRAN_SHIFT); o += 4096)
            atomic_store(&hk_state[st + o], 0); /* its state pages resident */
    }
    for (int i = 0; i < N; i++)
        if (i % 8)
            hk_ph_free((uintptr_t)r[i], 6);
    int purged = 0, deferred = 0;
    for (int i = 0; i < N; i++)
        if (i % 8 && resident(r[i], 512 * KiB) == 0) {
            purged++;
            size_t st = ((uintptr_t)r[i] - hk_arena_base) >> HK_GRAN_SHIFT;
            deferred += resident((const void *)&hk_state[st], 512 * KiB >> HK_GRAN_SHIFT) > 0;
        }
    ck_assert_int_gt(purged, 0);
    ck_assert_int_eq(deferred, purged);
    hk_purge_set_delay(20); /* the ring's entries are due 20 ms after their purge */
    sleep_ms(30);
    hk_purge_tick();
    for (int i = 0; i < N; i++)
        if (i % 8) {
            size_t st = ((uintptr_t)r[i] - hk_arena_base) >> HK_GRAN_SHIFT;
            ck_assert_msg(resident((const void *)&hk_state[st], 512 * KiB >> HK_GRAN_SHIFT) == 0,
                          "run %d: state map still resident", i);
        }
}
END_TEST

/* A wave (free, then allocate again at once) raises the budget by what was purged too
 * soon, so the next wave stays resident. */
START_TEST(test_purge_budget_learns) {
    hk_purge_delay = 3600000;
    enum { N = 24 };
    void *a[N];
    for (int wave = 0; wave < 2; wave++) {
        for (int i = 0; i < N; i++)
            a[i] = page_touched(HK_MAX_ORDER);
        for (int i = 0; i < N; i++)
            hk_ph_free((uintptr_t)a[i], HK_MAX_ORDER);
    }
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_ge(s.refaulted, 32 * MiB); /* the first wave's purged runs, taken again */
    ck_assert_uint_gt(s.dirty_budget, 64 * MiB);
    ck_assert_msg(s.free_resident > 32 * MiB, "second wave: %zu bytes resident", s.free_resident);
    ck_assert_uint_le(s.free_resident, s.dirty_budget);
}
END_TEST

/* The mmap box's cache: 0 caches nothing, N unmaps a cached region after N ms. */
START_TEST(test_mmap_cache_delay) {
    hk_os_stats s;
    hk_purge_delay = 0;
    hk_os_free(hk_os_alloc(3 * MiB, 16));
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.bytes_cached, 0);
    hk_purge_delay = 1000; /* "not yet" must hold on a loaded machine under valgrind */
    hk_os_free(hk_os_alloc(3 * MiB, 16));
    hk_os_get_stats(&s);
    ck_assert_uint_gt(s.bytes_cached, 0);
    uint64_t purged = s.bytes_purged;
    sleep_ms(1100);
    hk_purge_tick();
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.bytes_cached, 0);
    ck_assert_uint_ge(s.bytes_purged, purged + 3 * MiB);
}
END_TEST

/* A region cached while the purge is off keeps the time it was cached: a mallopt turning the
 * purge on makes it due a delay after that, not a delay after the process started (hostile
 * review 22: stamped 0, it went at once, or, in a process older than 24.8 days, only after
 * weeks). */
START_TEST(test_mmap_cache_stamped_when_off) {
    hk_os_stats s;
    hk_purge_set_delay(-1);
    sleep_ms(1000); /* the process is at least 1 s old */
    hk_os_free(hk_os_alloc(3 * MiB, 16));
    hk_os_get_stats(&s);
    ck_assert_uint_gt(s.bytes_cached, 0);
    long age = (long)hk_purge_now();
    hk_purge_set_delay(age + 200); /* a delay after the start: 200 ms from now */
    sleep_ms(400);
    hk_purge_tick();
    hk_os_get_stats(&s);
    ck_assert_msg(s.bytes_cached > 0, "cached at %ld ms, gone 400 ms later at a delay of %ld ms",
                  age, age + 200);
}
END_TEST

/* malloc_trim returns everything free, small classes included. */
START_TEST(test_trim_returns_small_blocks) {
    hk_check_set_mode(_i);
    hk_purge_delay = -1; /* nothing goes back but through malloc_trim */
    enum { N = 20000 };
    static void *p[N];
    for (int i = 0; i < N; i++) {
        p[i] = hak_malloc(16 + (size_t)(i % 64) * 16);
        memset(p[i], 1, 16);
    }
    for (int i = 0; i < N; i++)
        hak_free(p[i]);
    ck_assert_int_eq(hak_malloc_trim(0), 1);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.free_resident, 0);
    ck_assert_uint_eq(s.box_pages[HAK_BOX_TINY], 0);
    ck_assert_uint_eq(s.in_pages, 0);
}
END_TEST

/* A thread's cache is bounded in bytes: bins of every class filled (about 9 MiB), then
 * enough slow paths for the budget check: at most HK_TC_BYTES stay cached. */
START_TEST(test_tcache_byte_budget) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {100,   1000,   3000,   8000,   12000,  30000,  40000,
                                   70000, 100000, 200000, 400000, 800000, 1500000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        void *p[128];
        int n = (int)(sizes[k] < 8192 ? 128 : 4194304 / sizes[k] + 1);
        n = n > 128 ? 128 : n;
        for (int i = 0; i < n; i++)
            p[i] = hak_malloc(sizes[k]);
        for (int i = 0; i < n; i++)
            hak_free(p[i]);
    }
    for (int i = 0; i < 20000; i++) /* tiny refills and flushes: slow paths */
        hak_free(hak_malloc(16 + (size_t)(i % 8) * 16));
    static void *q[20000];
    for (int i = 0; i < 20000; i++)
        q[i] = hak_malloc(48);
    for (int i = 0; i < 20000; i++)
        hak_free(q[i]);
    size_t bytes = tcache_bytes();
    ck_assert_msg(bytes <= HK_TC_BYTES + 256 * KiB, "thread cache holds %zu bytes", bytes);
}
END_TEST

/* A bin's bound grows only where the thread churns through its class (refill, flush, refill):
 * not for a burst (all allocations, then all frees, twice over), which keeps the bound it
 * began with; a random walk over a working set four times the bin grows it, up to tc_cap. */
typedef struct {
    unsigned cls;
    uint64_t after_burst;
    unsigned lim_burst, lim_churn;
} bin_growth;

static void *bin_growth_thread(void *arg)
{
    bin_growth *g = arg;
    const hk_class_info *ci = &hk_classes[g->cls];
    size_t size = ci->bsize - 100;
    enum { W = 512 };
    static void *p[W];
    unsigned n = 3u * ci->tc_cap < W ? 3u * ci->tc_cap : W;
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < n; i++)
            p[i] = hak_malloc(size);
        for (unsigned i = 0; i < n; i++)
            hak_free(p[i]);
    }
    g->after_burst = hk_slab_bin_count(g->cls);
    g->lim_burst = hk_tc.lim[g->cls];
    memset(p, 0, sizeof p);
    uint64_t x = 42;
    unsigned w = 4u * ci->tc_cap < W ? 4u * ci->tc_cap : W;
    for (int i = 0; i < 200000; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        unsigned k = (unsigned)(x >> 33) % w;
        if (p[k]) {
            hak_free(p[k]);
            p[k] = NULL;
        } else {
            p[k] = hak_malloc(size);
        }
    }
    g->lim_churn = hk_tc.lim[g->cls];
    for (unsigned k = 0; k < w; k++)
        hak_free(p[k]);
    return NULL;
}

START_TEST(test_tcache_bin_grows_with_churn) {
    hk_check_set_mode(_i);
    /* A Mid class of 32 blocks. (The size through a volatile: inlined as a constant into the
     * table's Tiny branch, which a table never takes for it, it made gcc warn of an index
     * past the Tiny lookup.) */
    volatile size_t mid = 10000;
    hk_decision d = hk_front_decide(mid, HK_ENTRY_WRAP);
    bin_growth g = {.cls = hk_box_engine_class(d.box, d.cls)};
    const hk_class_info *ci = &hk_classes[g.cls];
    ck_assert_uint_gt(ci->tc_cap, ci->tc_max);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, bin_growth_thread, &g), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_msg(g.lim_burst == 0 && g.after_burst <= ci->tc_max,
                  "class %u: after two bursts the bin's bound is %u (0: tc_max %u), it holds %llu",
                  g.cls, g.lim_burst, ci->tc_max, (unsigned long long)g.after_burst);
    ck_assert_msg(g.lim_churn > ci->tc_max && g.lim_churn <= ci->tc_cap,
                  "class %u: after churn the bin's bound is %u (tc_max %u, tc_cap %u)", g.cls,
                  g.lim_churn, ci->tc_max, ci->tc_cap);
}
END_TEST

/* A thread's cache goes back at its exit, and with it the pages it held. */
static void *churn(void *arg)
{
    (void)arg;
    void *p[1000];
    for (int i = 0; i < 1000; i++)
        p[i] = hak_malloc(100 + (size_t)i);
    for (int i = 0; i < 1000; i++)
        hak_free(p[i]);
    return NULL;
}

START_TEST(test_thread_exit_gives_pages_back) {
    hk_purge_delay = -1;
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, churn, NULL), 0);
    pthread_join(t, NULL);
    hak_malloc_trim(0);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.box_pages[HAK_BOX_TINY], 0);
}
END_TEST

/* ---------------------------------------------------------------- internal checks */

/* The debug builds' consistency checks run (HK_ASSERT_LEVEL, hk_internal.h; ./configure
 * --enable-debug[=2|3]). Each case corrupts one internal invariant in a child process, then
 * takes the path that checks it. From the case's level up the child must abort with the one
 * line "hakmem: internal check failed: <where>: ..."; below it the checks are compiled out,
 * so the corruption must go unnoticed and the child exit 0 (the test runs in every build). */
enum { CORRUPT_STATE, CORRUPT_LINK, CORRUPT_TABLE, CORRUPT_BIN_COUNT, NCORRUPT };
static const struct {
    int level; /* the lowest HK_ASSERT_LEVEL that detects it */
    const char *want;
} corruptions[NCORRUPT] = {
    [CORRUPT_STATE] = {2, "hakmem: internal check failed: thread cache pop: block "},
    [CORRUPT_LINK] = {2, "hakmem: internal check failed: thread cache bin link: block "},
    [CORRUPT_TABLE] = {2, "hakmem: internal check failed: the Central Router decided pool class 0 "
                          "for size 1500 "},
    [CORRUPT_BIN_COUNT] = {3, "hakmem: internal check failed: thread cache bin: a chain of "},
};

/* In the child: corrupt, then take the checked path; 0 when nothing noticed. */
static int corrupt_and_run(int what)
{
    const unsigned cls = HK_CLS_TINY0 + 3; /* 64-byte blocks */
    switch (what) {
    case CORRUPT_STATE: { /* a free block in the bin marked live */
        void *p = hk_slab_alloc(cls);
        hk_slab_free(p);
        atomic_store(hk_slab_state_of(p), (uint8_t)cls);
        return hk_slab_alloc(cls) == p ? 0 : 3;
    }
    case CORRUPT_LINK: { /* a bin's link to a block of another class */
        void *q = hk_slab_alloc(cls), *p = hk_slab_alloc(cls);
        void *other = hk_slab_alloc(HK_CLS_TINY0 + 5);
        hk_slab_free(q);
        hk_slab_free(p);
        *(void **)p = other;
        return hk_slab_alloc(cls) == p ? 0 : 3;
    }
    case CORRUPT_TABLE: { /* a table whose second rule no longer starts where the first ends */
        hk_table t = hk_table_builtin;
        t.rules[1].lo = 2000;
        hk_knobs k = {true, true};
        volatile size_t size = 1500; /* not a constant: gcc would warn of the Tiny branch */
        hk_decision d = hk_table_decide(&t, size, HK_ENTRY_API, k);
        return d.box == HAK_BOX_POOL ? 0 : 3;
    }
    default: { /* a bin that counts one block more than its list holds */
        void *p = hk_slab_alloc(cls);
        hk_tc.in[cls]++;
        return hk_slab_free_checked(p) ? 0 : 3; /* re-arms the bin: level 3 walks it */
    }
    }
}

static int corrupt_child(int i, void *unused)
{
    (void)unused;
    return corrupt_and_run(i);
}

START_TEST(test_internal_checks_run) {
    char buf[512];
    int status = hk_check_child(corrupt_child, _i, NULL, buf, sizeof buf);
    size_t n = strlen(buf);
    const char *want = corruptions[_i].want;
    if (HK_ASSERT_LEVEL >= corruptions[_i].level) {
        ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                      "case %d at level %d: not aborted (status %#x, stderr \"%s\")", _i,
                      HK_ASSERT_LEVEL, status, buf);
        ck_assert_msg(strncmp(buf, want, strlen(want)) == 0 && strchr(buf, '\n') == buf + n - 1,
                      "case %d: got \"%s\", want one line starting \"%s\"", _i, buf, want);
    } else {
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 0,
                      "case %d at level %d: status %#x, stderr \"%s\" (the check is above this "
                      "level: nothing may notice)",
                      _i, HK_ASSERT_LEVEL, status, buf);
    }
}
END_TEST

/* ---------------------------------------------------------------- cross-thread free */

#define XN 3000

typedef struct {
    void **ptrs; /* XN blocks allocated by A, freed by B */
    size_t *sizes;
    void **again; /* XN blocks B allocates after the frees */
    size_t *again_sz;
    pthread_barrier_t *bar;
    int errors;
} xthread_arg;

static size_t xsize(size_t i) { return (i * 37) % (HK_TINY_MAX + 1); }

static void alloc_round(void **out, size_t *sz, uintptr_t tagbase)
{
    for (size_t i = 0; i < XN; i++) {
        size_t s = xsize(i * 7 + tagbase);
        void *p = hak_malloc(s);
        out[i] = p;
        sz[i] = s;
        if (p)
            hk_check_stamp(p, s, tagbase + i, 0);
    }
}

static void *thread_b(void *arg)
{
    xthread_arg *a = arg;
    for (size_t i = 0; i < XN; i++) {
        if (hak_box_of(a->ptrs[i]) != HAK_BOX_TINY ||
            hk_check_verify(a->ptrs[i], a->sizes[i], 1000000 + i, 0) != HK_CHECK_INTACT)
            a->errors++;
        hak_free(a->ptrs[i]); /* cross-thread free: into B's cache */
    }
    pthread_barrier_wait(a->bar);
    alloc_round(a->again, a->again_sz, 3000000); /* concurrently with A */
    return NULL;
}

typedef struct {
    uintptr_t p;
    size_t n;
} span;

static int cmp_span(const void *a, const void *b)
{
    uintptr_t x = ((const span *)a)->p, y = ((const span *)b)->p;
    return x < y ? -1 : x > y;
}

START_TEST(test_cross_thread_free) {
    hk_check_set_mode(_i);
    void **ptrs = calloc(XN, sizeof(void *)), **again_a = calloc(XN, sizeof(void *));
    void **again_b = calloc(XN, sizeof(void *));
    size_t *sz = calloc(XN, sizeof(size_t)), *sz_a = calloc(XN, sizeof(size_t));
    size_t *sz_b = calloc(XN, sizeof(size_t));
    span *all = calloc(2 * XN, sizeof(span));
    ck_assert(ptrs && again_a && again_b && sz && sz_a && sz_b && all);
    for (size_t i = 0; i < XN; i++) {
        sz[i] = xsize(i);
        ptrs[i] = hak_malloc(sz[i]);
        ck_assert_ptr_nonnull(ptrs[i]);
        hk_check_stamp(ptrs[i], sz[i], 1000000 + i, 0);
    }
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    xthread_arg a = {ptrs, sz, again_b, sz_b, &bar, 0};
    pthread_t tb;
    ck_assert_int_eq(pthread_create(&tb, NULL, thread_b, &a), 0);
    pthread_barrier_wait(&bar);
    alloc_round(again_a, sz_a, 2000000);
    pthread_join(tb, NULL); /* B exits: its cache (A's old blocks) goes back */
    pthread_barrier_destroy(&bar);
    ck_assert_msg(a.errors == 0, "thread B saw %d corrupted or non-tiny blocks", a.errors);

    for (size_t i = 0; i < XN; i++) {
        ck_assert_msg(again_a[i] && again_b[i], "allocation %zu after cross-thread free failed", i);
        ck_assert_int_eq(hak_box_of(again_a[i]), HAK_BOX_TINY);
        ck_assert_int_eq(hak_box_of(again_b[i]), HAK_BOX_TINY);
        ck_assert_msg(hk_check_verify(again_a[i], sz_a[i], 2000000 + i, 0) == HK_CHECK_INTACT,
                      "A's block %zu corrupted", i);
        ck_assert_msg(hk_check_verify(again_b[i], sz_b[i], 3000000 + i, 0) == HK_CHECK_INTACT,
                      "B's block %zu corrupted", i);
        all[i] = (span){(uintptr_t)again_a[i], hak_malloc_usable_size(again_a[i])};
        all[XN + i] = (span){(uintptr_t)again_b[i], hak_malloc_usable_size(again_b[i])};
    }
    qsort(all, 2 * XN, sizeof(span), cmp_span);
    for (size_t i = 1; i < 2 * XN; i++)
        ck_assert_msg(all[i - 1].p + all[i - 1].n <= all[i].p, "blocks %p (+%zu) and %p overlap",
                      (void *)all[i - 1].p, all[i - 1].n, (void *)all[i].p);
    /* A frees B's blocks too: the other direction. */
    for (size_t i = 0; i < XN; i++) {
        hak_free(again_a[i]);
        hak_free(again_b[i]);
    }
    free(ptrs), free(again_a), free(again_b), free(sz), free(sz_a), free(sz_b), free(all);
}
END_TEST

/* A program that writes into blocks it freed (bytes 8-15 of 16-byte blocks: `free(node);
 * node->field = x`) changes nothing hakmem relies on there: the transfer caches keep their
 * batches outside the blocks. (Kept in that word, a batch's link made malloc(16) return a
 * pointer inside a live 40 KiB block, or lose the batches below it: the hostile review of
 * the batches.) Blocks handed out again overlap nothing, and every page comes back. */
#define FW_N 3000
START_TEST(test_freed_word_writes_harmless) {
    hk_check_set_mode(_i);
    static const uintptr_t junk[] = {0, 1, 7, 0x7fff12345670, UINTPTR_MAX};
    void *big[8], **p = calloc(FW_N, sizeof *p);
    span *all = calloc(FW_N + 8, sizeof *all);
    ck_assert(p && all);
    for (int k = 0; k < 8; k++)
        ck_assert_ptr_nonnull(big[k] = hak_malloc(40 * KiB));
    for (size_t j = 0; j < sizeof junk / sizeof junk[0]; j++) {
        for (size_t i = 0; i < FW_N; i++)
            ck_assert_ptr_nonnull(p[i] = hak_malloc(16));
        for (size_t i = 0; i < FW_N; i++)
            hak_free(p[i]);
        for (size_t i = 0; i < FW_N; i++)
            ((volatile uintptr_t *)p[i])[1] = junk[j]; /* after the free: the program's bug */
        for (size_t i = 0; i < FW_N; i++) {
            p[i] = hak_malloc(16);
            ck_assert_int_eq(hak_box_of(p[i]), HAK_BOX_TINY);
            all[i] = (span){(uintptr_t)p[i], 16};
        }
        for (int k = 0; k < 8; k++)
            all[FW_N + k] = (span){(uintptr_t)big[k], 40 * KiB};
        qsort(all, FW_N + 8, sizeof(span), cmp_span);
        for (size_t i = 1; i < FW_N + 8; i++)
            ck_assert_msg(all[i - 1].p + all[i - 1].n <= all[i].p,
                          "junk %#zx: blocks %p (+%zu) and %p overlap", (size_t)junk[j],
                          (void *)all[i - 1].p, all[i - 1].n, (void *)all[i].p);
        for (size_t i = 0; i < FW_N; i++)
            hak_free(p[i]);
    }
    for (int k = 0; k < 8; k++)
        hak_free(big[k]);
    hak_malloc_trim(0);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.box_pages[HAK_BOX_TINY], 0);
    free(p), free(all);
}
END_TEST

/* ---------------------------------------------------------------- transfer caches */

/* The transfer caches, driven directly (hk_slab_xfer_put, hk_slab_refill) on a class whose
 * batches have several blocks (8 KiB), with blocks its pages handed out. No decay runs but the
 * tests' own (a purge delay of an hour). */
static unsigned xfer_class(void)
{
    hk_purge_delay = 3600L * 1000;
    void *p = hak_malloc(8 * KiB);
    ck_assert_ptr_nonnull(p);
    unsigned cls = cls_of(p);
    hak_free(p);
    ck_assert_uint_ge(hk_classes[cls].batch, 4);
    ck_assert_uint_ge(hk_classes[cls].xfer_max, 4 * hk_classes[cls].batch);
    return cls;
}

/* Shard s of class cls, looked at under its lock: every batch as long as its slot says (its
 * chain walked to its NULL end), at most a batch, and every batch but the top one a whole
 * batch; their lengths add up to its count. The top batch's length goes to *top (0: none). */
static uint32_t xfer_shape(unsigned cls, unsigned s, uint32_t *top)
{
    hk_xfer *x = &hk_slab_xfer[cls][s];
    uint32_t batch = hk_classes[cls].batch, total = 0, bad = UINT32_MAX, badlen = 0;
    pthread_mutex_lock(&x->lock);
    uint32_t nb = x->nb, cap = x->slot_cap, count = x->count;
    *top = 0;
    for (uint32_t i = 0; i < nb && nb <= cap; i++) {
        uint64_t v = *hk_xb_slot(x, i);
        uint32_t n = hk_xb_len(v), k = 0;
        for (void *b = hk_xb_head(v); b && k <= n; b = *(void **)b)
            k++;
        if (k != n || n == 0 || n > batch || (i + 1 < nb && n != batch)) {
            bad = i, badlen = k;
            break;
        }
        total += n;
        *top = n;
    }
    pthread_mutex_unlock(&x->lock);
    ck_assert_uint_le(nb, cap);
    ck_assert_msg(bad == UINT32_MAX,
                  "batch %u of %u: slot says %u blocks, chain has %u (a batch is %u, and every "
                  "batch below the top must be whole)",
                  bad, nb, hk_xb_len(*hk_xb_slot(x, bad)), badlen, batch);
    ck_assert_uint_eq(total, count);
    return total;
}

/* Blocks of the class held by the test, free (from its pages, or taken back). */
typedef struct {
    void **b;
    uint32_t n;
} xpool;

/* The first n blocks of the pool, chained, into shard s: they must land there (room was
 * checked), in the shape xfer_shape checks. */
static void xpool_put(xpool *p, unsigned cls, unsigned s, uint32_t n)
{
    uint32_t top, before = xfer_shape(cls, s, &top);
    ck_assert_uint_le(before + n, hk_classes[cls].xfer_max);
    ck_assert_uint_le(n, p->n);
    void **b = p->b + p->n - n;
    for (uint32_t i = 0; i + 1 < n; i++)
        *(void **)b[i] = b[i + 1];
    *(void **)b[n - 1] = (void *)0x1; /* the put must end the chain */
    hk_slab_xfer_put(cls, s, b[0], b[n - 1], n);
    p->n -= n;
    ck_assert_uint_eq(xfer_shape(cls, s, &top), before + n);
}

/* A refill of want blocks from shard s (not empty): its top batch, or the first want blocks of
 * it; into the pool. Returns how many. */
static uint32_t xpool_take(xpool *p, unsigned cls, unsigned s, uint32_t want)
{
    uint32_t top, got, before = xfer_shape(cls, s, &top);
    ck_assert_uint_gt(before, 0);
    void *b = hk_slab_refill(cls, s, want, &got);
    ck_assert_uint_eq(got, want < top ? want : top);
    for (uint32_t k = 0; k < got; k++, b = *(void **)b) {
        ck_assert_ptr_nonnull(b);
        p->b[p->n++] = b;
    }
    ck_assert_ptr_null(b); /* the chain ends where its length says */
    ck_assert_uint_eq(xfer_shape(cls, s, &top), before - got);
    return got;
}

/* A pool of n blocks from the class's pages (its transfer caches are empty). */
static void xpool_fill(xpool *p, unsigned cls, uint32_t n)
{
    p->b = calloc(n, sizeof(void *));
    p->n = 0;
    ck_assert_ptr_nonnull(p->b);
    while (p->n < n) {
        uint32_t got;
        void *b = hk_slab_refill(cls, 0, n - p->n, &got);
        ck_assert_ptr_nonnull(b);
        for (uint32_t k = 0; k < got; k++, b = *(void **)b)
            p->b[p->n++] = b;
    }
}

/* Single blocks between whole batches (threads without a cache free one block at a time)
 * leave no short batch below the top: refills take whole batches, and the slots never run out
 * (a put with room always lands in its shard). Then random puts and takes of 1 .. batch
 * blocks, the shape checked after each. */
START_TEST(test_xfer_batches_stay_whole) {
    unsigned cls = xfer_class(), s = 1;
    uint32_t batch = hk_classes[cls].batch, max = hk_classes[cls].xfer_max, top;
    xpool p;
    xpool_fill(&p, cls, max);
    while (xfer_shape(cls, s, &top) + batch + 1 <= max) {
        xpool_put(&p, cls, s, batch);
        xpool_put(&p, cls, s, 1);
    }
    uint32_t first = xpool_take(&p, cls, s, batch);
    ck_assert_uint_ge(first, 1);
    while (xfer_shape(cls, s, &top) > 0)
        ck_assert_uint_eq(xpool_take(&p, cls, s, batch), batch);
    uint32_t r = 12345;
    for (int step = 0; step < 4000; step++) {
        r = r * 1103515245u + 12345u;
        uint32_t held = xfer_shape(cls, s, &top), n = 1 + (r >> 8) % batch;
        if (((r >> 20) & 1) && p.n >= n && held + n <= max)
            xpool_put(&p, cls, s, n);
        else if (held > 0)
            xpool_take(&p, cls, s, n);
    }
    free(p.b);
}
END_TEST

/* The ring wraps: whole batches fill a shard, a decay gives back its cold bottom ones, and
 * the batches put after them take the freed slots at the ring's start; refills return them
 * last in, first out, each whole. */
START_TEST(test_xfer_ring_wraps) {
    unsigned cls = xfer_class(), s = 2;
    uint32_t batch = hk_classes[cls].batch, max = hk_classes[cls].xfer_max, top;
    uint32_t nfull = max / batch;
    hk_xfer *x = &hk_slab_xfer[cls][s];
    xpool p;
    xpool_fill(&p, cls, max);
    for (uint32_t i = 0; i < nfull; i++)
        xpool_put(&p, cls, s, batch);
    hk_slab_purge(hk_purge_now(), false); /* nothing taken since the start: its low mark is 0 */
    ck_assert_uint_eq(xfer_shape(cls, s, &top), nfull * batch);
    for (int i = 0; i < 2; i++)
        ck_assert_uint_eq(xpool_take(&p, cls, s, batch), batch);
    hk_slab_purge(hk_purge_now(), false); /* the rest was never needed: back to the pages */
    ck_assert_uint_eq(xfer_shape(cls, s, &top), 0);
    ck_assert_uint_eq(x->slot_lo, nfull - 2);
    void *head[64];
    ck_assert_uint_le(nfull, 64);
    free(p.b);
    xpool_fill(&p, cls, max); /* the pool again, from the pages */
    for (uint32_t i = 0; i < nfull; i++) {
        head[i] = p.b[p.n - batch];
        xpool_put(&p, cls, s, batch);
    }
    ck_assert_uint_gt(x->slot_lo + x->nb, x->slot_cap); /* wrapped */
    for (uint32_t i = nfull; i-- > 0;) {
        ck_assert_ptr_eq(hk_xb_head(*hk_xb_slot(x, x->nb - 1)), head[i]);
        ck_assert_uint_eq(xpool_take(&p, cls, s, batch), batch);
    }
    free(p.b);
}
END_TEST

/* A thread's bin going back at once (hk_slab_flush_bin), onto a shard whose top batch is a
 * single block, goes in whole batches (the first fills that one up) and a short one on top:
 * the shard's shape holds, and it holds every block the bin held. */
START_TEST(test_flush_bin_whole_batches) {
    unsigned cls = xfer_class(), s = hk_tc.shard;
    uint32_t lim = hk_slab_bin_lim(cls), top;
    void **b = calloc(lim, sizeof *b);
    ck_assert_ptr_nonnull(b);
    for (uint32_t i = 0; i < lim; i++)
        ck_assert_ptr_nonnull(b[i] = hak_malloc(8 * KiB));
    for (uint32_t i = 0; i < lim; i++)
        hak_free(b[i]);
    xpool p; /* a single block on top of the shard first: the flush must fill it up */
    xpool_fill(&p, cls, 1);
    xpool_put(&p, cls, s, 1);
    uint32_t before = xfer_shape(cls, s, &top);
    ck_assert_uint_eq(top, 1);
    uint64_t n = hk_slab_bin_count(cls);
    ck_assert_uint_gt(n, hk_classes[cls].batch); /* more than one batch goes */
    hk_slab_flush_bin(cls, 0);
    ck_assert_uint_eq(hk_slab_bin_count(cls), 0);
    ck_assert_uint_eq(xfer_shape(cls, s, &top), before + n);
    free(b), free(p.b);
}
END_TEST

/* A fork while another thread's decays and purges run (malloc_trim in a loop): the child,
 * which frees nothing more, trims and must hold no page of any class, and every unit of the
 * heap must be in a list again, purged. (A batch the decay was giving back when the child was
 * forked, in no list then, pinned its pages in the child for good: 1-2 % of forks before the
 * decay's lock; runs a purge had taken off the lists for madvise stayed BUSY in the child:
 * 285 of 300 forks before the purge's lock. The hostile reviews' reproducers.) Up to 5 s of
 * forks. */
#define FD_N 1000
static atomic_int fd_stop;

static void *fd_trimmer(void *arg)
{
    (void)arg;
    while (!atomic_load(&fd_stop))
        hak_malloc_trim(0);
    return NULL;
}

START_TEST(test_fork_during_decay) {
    void **b = calloc(FD_N, sizeof *b);
    ck_assert_ptr_nonnull(b);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, fd_trimmer, NULL), 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int it = 0, bad = 0, forks = 0;
    for (; it < 300; it++) {
        for (int i = 0; i < FD_N; i++)
            ck_assert_ptr_nonnull(b[i] = hak_malloc(8 * KiB));
        for (int i = 0; i < FD_N; i++)
            hak_free(b[i]);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            hak_malloc_trim(0);
            hk_ph_stats st;
            hk_ph_get_stats(&st);
            uint64_t pages = 0;
            for (int c = 0; c < HK_PH_CLASSES; c++)
                pages += st.class_pages[c];
            if (pages)
                _exit(1);
            /* every committed unit in a page or on a free list, and none left dirty */
            if (st.committed != st.in_pages + st.free_resident + st.free_purged)
                _exit(2);
            _exit(st.free_resident ? 3 : 0);
        }
        forks++;
        int ws;
        ck_assert_int_eq(waitpid(pid, &ws, 0), pid);
        bad += !WIFEXITED(ws) || WEXITSTATUS(ws) != 0;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (it >= 5 && t1.tv_sec - t0.tv_sec >= 5)
            break;
    }
    atomic_store(&fd_stop, 1);
    pthread_join(t, NULL);
    ck_assert_msg(bad == 0,
                  "%d of %d children forked during decays kept pages or runs after malloc_trim",
                  bad, forks);
    free(b);
}
END_TEST

/* Decays at once (the delayed purge's in one thread, malloc_trim's in another) while threads
 * fill and drain the transfer caches: each decay drops a shard's lock around every batch it
 * gives back. Nothing is lost or handed out twice: the blocks come back intact, and at the
 * end every page does. (The debug builds check each shard's counts and low-water mark at
 * every step.) */
#define XD_ROUNDS 150
#define XD_N 200
static atomic_int xd_stop, xd_bad;

static void *xd_churn(void *arg)
{
    size_t sz = (size_t)(uintptr_t)arg;
    void *b[XD_N];
    for (int r = 0; r < XD_ROUNDS; r++) {
        for (int i = 0; i < XD_N; i++) {
            if (!(b[i] = hak_malloc(sz))) {
                atomic_fetch_add(&xd_bad, 1);
                return NULL;
            }
            memset(b[i], r & 0xff, sz);
        }
        for (int i = 0; i < XD_N; i++) {
            const unsigned char *c = b[i];
            if (c[0] != (r & 0xff) || c[sz - 1] != (r & 0xff))
                atomic_fetch_add(&xd_bad, 1);
            hak_free(b[i]);
        }
    }
    return NULL;
}

static void *xd_decay(void *arg)
{
    while (!atomic_load(&xd_stop)) {
        if (arg)
            hak_malloc_trim(0);
        else
            hk_slab_purge(hk_purge_now(), false);
    }
    return NULL;
}

START_TEST(test_concurrent_decays) {
    hk_purge_delay = 0;
    pthread_t churn[3], dec[2];
    static const size_t sz[3] = {48, 8 * KiB, 48};
    for (int i = 0; i < 2; i++)
        ck_assert_int_eq(pthread_create(&dec[i], NULL, xd_decay, i ? (void *)1 : NULL), 0);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(pthread_create(&churn[i], NULL, xd_churn, (void *)(uintptr_t)sz[i]), 0);
    for (int i = 0; i < 3; i++)
        pthread_join(churn[i], NULL);
    atomic_store(&xd_stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(dec[i], NULL);
    ck_assert_int_eq(atomic_load(&xd_bad), 0);
    hak_malloc_trim(0);
    hk_ph_stats st;
    hk_ph_get_stats(&st);
    ck_assert_uint_eq(st.box_pages[HAK_BOX_TINY], 0);
    void *p = hak_malloc(8 * KiB);
    hak_box_t box = hak_box_of(p);
    hak_free(p);
    hak_malloc_trim(0);
    hk_ph_get_stats(&st);
    ck_assert_uint_eq(st.box_pages[box], 0);
}
END_TEST

/* ---------------------------------------------------------------- thread exit */

#define EX_ROUNDS 25
#define EX_THREADS 4
#define EX_PER_CLASS 150

static void *short_lived(void *arg)
{
    int *bad = arg;
    void *blocks[HK_TINY_NCLASSES][EX_PER_CLASS];
    for (int c = 0; c < HK_TINY_NCLASSES; c++)
        for (int k = 0; k < EX_PER_CLASS; k++) {
            void *p = hak_malloc(hk_tiny_sizes[c]);
            if (!p || hak_box_of(p) != HAK_BOX_TINY) {
                (*bad)++;
                blocks[c][k] = NULL;
                continue;
            }
            memset(p, c, hk_tiny_sizes[c]);
            blocks[c][k] = p;
        }
    for (int c = 0; c < HK_TINY_NCLASSES; c++)
        for (int k = 0; k < EX_PER_CLASS; k++)
            if (blocks[c][k])
                hak_free(blocks[c][k]);
    return NULL; /* the thread's cache now holds up to tc_max blocks per class */
}

static void run_round(int *bad)
{
    pthread_t t[EX_THREADS];
    for (int i = 0; i < EX_THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, short_lived, &bad[i]), 0);
    for (int i = 0; i < EX_THREADS; i++)
        pthread_join(t[i], NULL);
}

START_TEST(test_thread_exit_returns_caches) {
    hk_check_set_mode(_i);
    int bad[EX_THREADS] = {0};
    uint64_t a0[HK_TINY_NCLASSES], f0[HK_TINY_NCLASSES];
    for (int c = 0; c < HK_TINY_NCLASSES; c++)
        hk_slab_class_counts(HK_CLS_TINY0 + c, &a0[c], &f0[c]);
    hk_box_stats s0[HAK_BOX_COUNT], s1[HAK_BOX_COUNT];
    hk_stats_collect(s0);

    run_round(bad); /* warm-up: the pages the steady state needs */
    size_t committed1 = hk_slab_committed_bytes();
    for (int r = 1; r < EX_ROUNDS; r++)
        run_round(bad);
    size_t committed = hk_slab_committed_bytes();
    for (int i = 0; i < EX_THREADS; i++)
        ck_assert_msg(bad[i] == 0, "thread %d: %d failed or non-tiny allocations", i, bad[i]);

    /* Blocks cached by exited threads are reused: the arena stays put. Without the return,
     * each exited thread strands up to 128 blocks per class (~800 KiB), ~80 MiB in all. */
    ck_assert_msg(committed <= committed1 + 2 * HK_SEG_SIZE,
                  "arena grew from %zu to %zu bytes over %d rounds of short-lived threads",
                  committed1, committed, EX_ROUNDS - 1);

    /* And every allocation and free of the exited threads is counted. */
    uint64_t expect = (uint64_t)EX_ROUNDS * EX_THREADS * EX_PER_CLASS;
    for (int c = 0; c < HK_TINY_NCLASSES; c++) {
        uint64_t a, f;
        hk_slab_class_counts(HK_CLS_TINY0 + c, &a, &f);
        ck_assert_msg(a - a0[c] == expect && f - f0[c] == expect,
                      "class %d: +%llu allocs, +%llu frees, expected +%llu each", c,
                      (unsigned long long)(a - a0[c]), (unsigned long long)(f - f0[c]),
                      (unsigned long long)expect);
    }
    hk_stats_collect(s1);
    ck_assert_uint_eq(s1[HAK_BOX_TINY].allocs - s0[HAK_BOX_TINY].allocs, expect * HK_TINY_NCLASSES);
    ck_assert_uint_eq(s1[HAK_BOX_TINY].live_bytes, s0[HAK_BOX_TINY].live_bytes);
    ck_assert_uint_eq(s1[HAK_BOX_TINY].fallbacks, s0[HAK_BOX_TINY].fallbacks);
}
END_TEST

/* ---------------------------------------------------------------- exiting threads */

/* Allocations and frees made while a thread exits, after hakmem's own key destructor has
 * retired its cache (pthread key destructors run in key order, and hakmem's key was created
 * at init, before this one): they bypass the cache and must still be correct and counted. */
static pthread_key_t late_key;

typedef struct {
    void *early;      /* allocated by the thread while alive, freed by its late destructor */
    void *late_block; /* allocated by the late destructor, freed by the test */
    unsigned state;   /* the thread's cache state seen by the late destructor */
    int bad;
} late_arg;

enum { LATE_N = 50 };

static void late_destructor(void *v)
{
    late_arg *a = v;
    a->state = hk_tc.state;
    void *p[LATE_N];
    for (int i = 0; i < LATE_N; i++) {
        p[i] = hak_malloc(100 + (size_t)i);
        if (!p[i] || hak_box_of(p[i]) != HAK_BOX_TINY) {
            a->bad++;
            continue;
        }
        hk_check_stamp(p[i], 100 + (size_t)i, (uintptr_t)i, 0);
    }
    for (int i = 0; i < LATE_N; i++)
        if (p[i]) {
            if (hk_check_verify(p[i], 100 + (size_t)i, (uintptr_t)i, 0) != HK_CHECK_INTACT)
                a->bad++;
            hak_free(p[i]);
            if (hak_box_of(p[i]) != HAK_BOX_NONE)
                a->bad++;
        }
    hak_free(a->early);
    a->late_block = hak_malloc(64);
    if (!a->late_block)
        a->bad++;
}

static void *late_thread(void *v)
{
    late_arg *a = v;
    a->early = hak_malloc(200); /* sets the cache up */
    pthread_setspecific(late_key, a);
    return NULL;
}

/* Every allocation is routed by one path and counted as such (the statistics' "routed"),
 * whatever the thread did: one that only ever allocated from the mmap box (it never set up a
 * cache), and one that allocated after its cache was retired (as in a destructor that runs
 * after hakmem's), both counted once they exited. */
enum { ROUTED_N = 40 };
static void *routed_mmap_only(void *arg)
{
    (void)arg;
    for (int i = 0; i < ROUTED_N; i++)
        hak_free(hak_malloc(3 * MiB));
    return NULL;
}

static void *routed_after_retire(void *arg)
{
    (void)arg;
    hak_free(hak_malloc(100));
    hk_slab_thread_exit(); /* what hakmem's thread-exit destructor does */
    for (int i = 0; i < ROUTED_N; i++) {
        hak_free(hak_malloc(100));
        hak_free(hak_malloc(20000));
        hak_free(hak_malloc(3 * MiB));
    }
    return NULL;
}

static uint64_t routed_total(void)
{
    return hk_slab_thread_counter(HK_TCTR_SERVED_LEGACY) +
           hk_slab_thread_counter(HK_TCTR_SERVED_CENTRAL);
}

START_TEST(test_routed_counts_survive_thread_exit) {
    hk_check_set_mode(_i);
    uint64_t r0 = routed_total();
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, routed_mmap_only, NULL), 0);
    pthread_join(t, NULL);
    uint64_t r1 = routed_total();
    ck_assert_uint_eq(r1 - r0, ROUTED_N);
    ck_assert_int_eq(pthread_create(&t, NULL, routed_after_retire, NULL), 0);
    pthread_join(t, NULL);
    ck_assert_uint_eq(routed_total() - r1, 1 + 3 * ROUTED_N);
}
END_TEST

START_TEST(test_alloc_free_during_thread_exit) {
    hk_check_set_mode(_i);
    ck_assert_int_eq(pthread_key_create(&late_key, late_destructor), 0);
    hk_box_stats s0[HAK_BOX_COUNT], s1[HAK_BOX_COUNT];
    hk_stats_collect(s0);
    late_arg a = {0};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, late_thread, &a), 0);
    pthread_join(t, NULL);
    ck_assert_msg(a.state == 2, "late destructor ran with cache state %u (expected retired)",
                  a.state);
    ck_assert_int_eq(a.bad, 0);
    ck_assert_int_eq(hak_box_of(a.early), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of(a.late_block), HAK_BOX_TINY);
    hak_free(a.late_block);
    hk_stats_collect(s1);
    ck_assert_uint_eq(s1[HAK_BOX_TINY].allocs - s0[HAK_BOX_TINY].allocs, LATE_N + 2);
    ck_assert_uint_eq(s1[HAK_BOX_TINY].frees - s0[HAK_BOX_TINY].frees, LATE_N + 2);
    ck_assert_uint_eq(s1[HAK_BOX_TINY].live_bytes, s0[HAK_BOX_TINY].live_bytes);
    /* The blocks freed without a cache went back to the central lists: still usable. */
    for (int i = 0; i < 2 * LATE_N; i++) {
        void *p = hak_malloc(100 + (size_t)(i % LATE_N));
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
        hak_free(p);
    }
    pthread_key_delete(late_key);
}
END_TEST

/* realloc of a block that is a page of its own (L25's): shrunk in place, the rest of its
 * page back to the heap; grown in place into its free buddies, or else moved to a fresh page
 * cut from a larger run, which the next growth extends; every such block goes straight back
 * to the heap when freed; content kept, the statistics balanced. */
static void pattern(unsigned char *p, size_t n, unsigned key)
{
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (unsigned char)(i / 4096 * 31 + key);
    p[n - 1] = (unsigned char)key;
}

static void pattern_check(const unsigned char *p, size_t n, size_t keep, unsigned key)
{
    for (size_t i = 0; i < keep; i += 4096)
        ck_assert_msg(p[i] == (unsigned char)(i / 4096 * 31 + key), "byte %zu lost", i);
    if (keep == n)
        ck_assert_uint_eq(p[n - 1], (unsigned char)key);
}

static int64_t l25_live(void)
{
    int64_t live = 0;
    for (unsigned c = HK_CLS_L250; c < HK_CLS_L250 + HK_L25_NCLASSES; c++) {
        uint64_t a, f;
        hk_slab_class_counts(c, &a, &f);
        live += (int64_t)(a - f);
    }
    return live;
}

START_TEST(test_realloc_resizes_in_place) {
    hk_check_set_mode(_i);
    hk_ph_stats s0, s1;
    int64_t live0 = l25_live();
    hk_ph_get_stats(&s0);
    size_t n = MiB - 100;
    unsigned char *p = hak_malloc(n);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_L25);
    ck_assert_uint_eq(hak_malloc_usable_size(p), MiB);
    pattern(p, n, 7);
    /* 1 MiB -> 200 KiB: the 256 KiB class, two orders down, in place */
    unsigned char *q = hak_realloc(p, 200 * KiB);
    ck_assert_ptr_eq(q, p);
    ck_assert_uint_eq(hak_malloc_usable_size(q), 256 * KiB);
    ck_assert_int_eq(hak_box_of(q), HAK_BOX_L25);
    pattern_check(q, n, 200 * KiB, 7);
    hk_ph_get_stats(&s1);
    ck_assert_uint_eq(s1.pages_shrunk, s0.pages_shrunk + 1);
    ck_assert_uint_eq(s1.box_bytes[HAK_BOX_L25], s0.box_bytes[HAK_BOX_L25] + 256 * KiB);
    /* the tail is free in the heap: a pointer into it is refused, not a live block */
    hk_ptr_info info;
    ck_assert_int_eq(hk_slab_classify(q + 512 * KiB, &info), HK_PTR_INVALID);
    ck_assert_int_eq(hk_slab_classify(q, &info), HK_PTR_LIVE);
    ck_assert_uint_eq(info.bsize, 256 * KiB);
    /* and back up to 900 KiB: the buddies above are free, so in place again */
    pattern(q, 200 * KiB, 9);
    unsigned char *r = hak_realloc(q, 900 * KiB);
    ck_assert_ptr_eq(r, p);
    ck_assert_uint_eq(hak_malloc_usable_size(r), MiB);
    pattern_check(r, 200 * KiB, 200 * KiB, 9);
    pattern(r, 900 * KiB, 11);
    hk_ph_get_stats(&s1);
    ck_assert_uint_eq(s1.pages_grown, s0.pages_grown + 1);
    ck_assert_uint_eq(s1.box_bytes[HAK_BOX_L25], s0.box_bytes[HAK_BOX_L25] + MiB);
    /* freed: it waits in the quarantine (a second free is a double free), not in a cache;
     * malloc_trim empties it, and the page is back in the heap */
    hak_free(r);
    ck_assert_int_eq(hk_slab_classify(r, &info), HK_PTR_FREED);
    hak_malloc_trim(0);
    hk_ph_get_stats(&s1);
    ck_assert_uint_eq(s1.box_bytes[HAK_BOX_L25], s0.box_bytes[HAK_BOX_L25]);
    ck_assert_int_eq(hk_slab_classify(r, &info), HK_PTR_INVALID);

    /* from the Pool box's Bridge class into L25 (a block of the class as any malloc's), then
     * up: in place, or a fresh page with room, which the next growth extends in place */
    unsigned char *b = hak_malloc(50 * KiB);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(hak_box_of(b), HAK_BOX_POOL);
    pattern(b, 50 * KiB, 3);
    hk_ph_get_stats(&s0);
    unsigned char *c = hak_realloc(b, 100 * KiB);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(hak_box_of(c), HAK_BOX_L25);
    pattern_check(c, 50 * KiB, 50 * KiB, 3);
    pattern(c, 100 * KiB, 5);
    unsigned char *e = hak_realloc(c, 200 * KiB);
    pattern_check(e, 100 * KiB, 100 * KiB, 5);
    pattern(e, 200 * KiB, 6);
    unsigned char *g = hak_realloc(e, 400 * KiB);
    ck_assert_msg(g == e || c == e, "neither the growth to 200 KiB nor the next was in place");
    pattern_check(g, 200 * KiB, 200 * KiB, 6);
    e = g;
    hk_ph_get_stats(&s1);
    ck_assert_uint_ge(s1.pages_grown, s0.pages_grown + 1);
    /* shrunk below L25: moved (a Mid block is not a page of its own) */
    pattern(e, 200 * KiB, 13);
    unsigned char *m = hak_realloc(e, 20 * KiB);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(hak_box_of(m), HAK_BOX_MID);
    pattern_check(m, 200 * KiB, 20 * KiB, 13);
    hak_free(m);
    ck_assert_msg(l25_live() == live0, "L25's classes count %lld live blocks, %lld before",
                  (long long)l25_live(), (long long)live0);
}
END_TEST

/* The pattern of bench_realloc: buffers grown by doubling to 1 MiB, then halved back, rounds
 * over. Shrunk blocks, cached by their new classes, once kept the heap from rebuilding its
 * 1 MiB runs: the arena grew by a run per buffer and round (16 -> 122 MiB in 80 rounds); now
 * 16-24 MiB (the quarantine of freed resized blocks holds a few runs). */
START_TEST(test_realloc_rounds_keep_the_arena) {
    hk_check_set_mode(_i);
    size_t committed0 = hk_slab_committed_bytes();
    uint64_t rng = 42;
    for (int round = 0; round < 60; round++) {
        unsigned char *p[4];
        size_t n[4];
        for (int b = 0; b < 4; b++) {
            n[b] = 16;
            ck_assert_ptr_nonnull(p[b] = hak_malloc(16));
            p[b][0] = (unsigned char)(b + round);
        }
        for (int up = 1; up >= 0; up--)
            for (int moving = 4; moving;) {
                moving = 0;
                for (int b = 0; b < 4; b++) {
                    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
                    size_t m;
                    if (up ? n[b] >= MiB : n[b] <= 16)
                        continue;
                    m = up ? n[b] * 2 + (rng >> 58) : n[b] / 2 > 32 ? n[b] / 2 - (rng >> 60) : 16;
                    m = m > MiB ? MiB : m;
                    ck_assert_ptr_nonnull(p[b] = hak_realloc(p[b], m));
                    ck_assert_uint_eq(p[b][0], (unsigned char)(b + round));
                    n[b] = m;
                    moving++;
                }
            }
        for (int b = 0; b < 4; b++)
            hak_free(p[b]);
    }
    ck_assert_msg(hk_slab_committed_bytes() <= committed0 + 32 * MiB,
                  "the arena grew from %zu to %zu bytes", committed0, hk_slab_committed_bytes());
}
END_TEST

/* A realloc nested in another of the same thread (a signal handler's, landing inside the
 * interrupted realloc) gives the interrupted one's request back as it found it: the block still
 * to be resized, or the block already placed, which the interrupted realloc then returns
 * without copying it onto itself or freeing it. And a plain malloc of the same size from
 * another site (a handler's) never takes the request: only the call that made it can. */
#define OUTER_SITE ((hak_callsite_t)0x5a5a50)
START_TEST(test_nested_realloc_keeps_the_outer_request) {
    hk_check_set_mode(_i);
    unsigned char *outer = hak_malloc(MiB - 100);
    unsigned char *inner = hak_malloc(MiB - 100);
    ck_assert_ptr_nonnull(outer);
    ck_assert_ptr_nonnull(inner);
    for (int placed = 0; placed < 2; placed++) {
        /* the interrupted realloc: before its executor ran, or after it placed the block */
        hk_tc.realloc_old = placed ? NULL : outer;
        hk_tc.pending_site = OUTER_SITE;
        hk_tc.pending_size = 300 * KiB;
        hk_tc.realloc_placed = placed ? outer : NULL;
        pattern(inner, 100 * KiB, 4);
        unsigned char *q = hak_realloc(inner, placed ? MiB - 100 : 100 * KiB);
        ck_assert_ptr_eq(q, inner); /* resized in place itself */
        pattern_check(q, 0, 100 * KiB, 4);
        ck_assert_ptr_eq(hk_tc.realloc_old, (placed ? NULL : outer));
        ck_assert_uint_eq(hk_tc.pending_size, 300 * KiB);
        ck_assert_uint_eq(hk_tc.pending_site, OUTER_SITE);
        ck_assert_ptr_eq(hk_tc.realloc_placed, (placed ? outer : NULL));
    }
    /* the handler's malloc of the interrupted realloc's size: a block of its own */
    hk_tc.realloc_old = outer;
    hk_tc.realloc_placed = NULL;
    unsigned char *h = hak_malloc(300 * KiB);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_ne(h, outer);
    ck_assert_ptr_eq(hk_tc.realloc_old, outer);
    ck_assert_uint_eq(hk_tc.pending_size, 300 * KiB);
    ck_assert_ptr_null(hk_tc.realloc_placed);
    hak_free(h);
    /* ... and of an interrupted memalign's: no alignment taken */
    hk_tc.realloc_old = NULL;
    hk_tc.memalign_align = 4 * MiB;
    hk_tc.pending_size = 4 * MiB + 100;
    h = hak_malloc(4 * MiB + 100);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(hk_tc.memalign_align, 4 * MiB);
    ck_assert_uint_ge(hak_malloc_usable_size(h), 4 * MiB + 100);
    hak_free(h);
    hk_tc.pending_size = 0;
    hk_tc.memalign_align = 0;
    hk_tc.pending_site = 0;
    hak_free(inner);
    hak_free(outer);
}
END_TEST

/* A memalign the mmap box serves maps its size, aligned, not the size plus the alignment (the
 * room to align it inside another box's block). */
START_TEST(test_memalign_maps_its_size) {
    static const size_t cases[][2] = {{2 * MiB, 4 * MiB}, {64 * MiB, 4 * MiB}, {32 * MiB, MiB + 1}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t align = cases[i][0], size = cases[i][1];
        void *p = NULL;
        ck_assert_int_eq(hak_posix_memalign(&p, align, size), 0);
        ck_assert_uint_eq((uintptr_t)p & (align - 1), 0);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
        size_t u = hak_malloc_usable_size(p);
        ck_assert_msg(u >= size && u < size + 64 * KiB, "memalign(%zu, %zu): %zu usable", align,
                      size, u);
        memset(p, 0x7e, size);
        hak_free(p);
    }
}
END_TEST

/* A block resized in place and freed twice, allocations of another class in between (given
 * back at once, its page was theirs, often at its very address): fail-closed abort. */
START_TEST(test_resized_double_free_dies) {
    void *p = hak_malloc(MiB);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_eq(hak_realloc(p, 300 * KiB), p);
    hak_free(p);
    for (int i = 0; i < 64; i++)
        ck_assert_ptr_ne(hak_malloc(10 * KiB), p);
    hk_ptr_info info;
    ck_assert_int_eq(hk_slab_classify(p, &info), HK_PTR_FREED);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

/* Double free of a tiny block: fail-closed abort. */
START_TEST(test_double_free_dies) {
    void *p = hak_malloc(48);
    ck_assert_ptr_nonnull(p);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

Suite *make_engine_suite(void)
{
    Suite *s = suite_create("engine");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_cross_thread_free, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_thread_exit_returns_caches, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_alloc_free_during_thread_exit, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_test(tc, test_thread_exit_gives_pages_back);
    tcase_add_loop_test(tc, test_freed_word_writes_harmless, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_routed_counts_survive_thread_exit, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_test_raise_signal(tc, test_double_free_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_resized_double_free_dies, SIGABRT);
    suite_add_tcase(s, tc);

    tc = tcase_create("transfer caches");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, test_xfer_batches_stay_whole);
    tcase_add_test(tc, test_xfer_ring_wraps);
    tcase_add_test(tc, test_flush_bin_whole_batches);
    tcase_add_test(tc, test_concurrent_decays);
    tcase_add_test(tc, test_fork_during_decay);
    suite_add_tcase(s, tc);

    tc = tcase_create("pages");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_pages_move_between_boxes, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_test_raise_signal(tc, test_stale_pointer_refused, SIGABRT);
    tcase_add_test(tc, test_state_reset_on_release);
    tcase_add_test(tc, test_fullest_page_first);
    tcase_add_test(tc, test_pages_coloured);
    tcase_add_test(tc, test_state_reset_coloured);
    tcase_add_test(tc, test_purge_delay_never);
    tcase_add_test(tc, test_purge_delay_zero);
    tcase_add_test(tc, test_purge_delay_zero_threads);
    tcase_add_test(tc, test_purge_asked_during_clock);
    tcase_add_test(tc, test_purge_delay_elapsed);
    tcase_add_test(tc, test_purge_budget);
    tcase_add_test(tc, test_purge_budget_big_first);
    tcase_add_test(tc, test_segment_meta_released);
    tcase_add_test(tc, test_meta_deferred_released);
    tcase_add_test(tc, test_resident_runs_first);
    tcase_add_test(tc, test_split_clean_no_refault);
    tcase_add_test(tc, test_partly_purged_piece_learns);
    tcase_add_test(tc, test_split_ends_resident);
    tcase_add_test(tc, test_tcache_gc_follows_delay);
    tcase_add_test(tc, test_purge_budget_learns);
    tcase_add_test(tc, test_mmap_cache_delay);
    tcase_add_test(tc, test_mmap_cache_stamped_when_off);
    tcase_add_loop_test(tc, test_trim_returns_small_blocks, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_tcache_byte_budget, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_tcache_bin_grows_with_churn, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_realloc_resizes_in_place, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_nested_realloc_keeps_the_outer_request, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_test(tc, test_memalign_maps_its_size);
    tcase_add_loop_test(tc, test_realloc_rounds_keep_the_arena, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);
    tc = tcase_create("internal checks");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_internal_checks_run, 0, NCORRUPT);
    suite_add_tcase(s, tc);
    return s;
}
