/* check_pages.c: the block engine's pages and the delayed purge (core/engine/hk_pageheap.h,
 * hk_slab.h, hk_purge.h): pages leave their class when their last block comes back and serve
 * another class or box; a pointer into a page that left is refused; refills take the fullest
 * page first; free runs are purged after HAKMEM_PURGE_DELAY_MS (0: at once, -1: never), and
 * over the dirty budget at once; the mmap box's cache obeys the same delay; malloc_trim
 * returns everything free; the budget learns a program's waves. Each test runs in its own
 * forked process (a fresh heap). */
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
#include "hk_purge.h"
#include "hk_mmap.h"
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

START_TEST(test_purge_delay_elapsed) {
    hk_purge_delay = 40;
    void *a = page_touched(6);
    hk_ph_free((uintptr_t)a, 6);
    hk_purge_tick(); /* too early */
    ck_assert_uint_eq(resident(a, 512 * KiB), 512 * KiB);
    hk_ph_stats s;
    hk_ph_get_stats(&s);
    ck_assert_uint_ge(s.free_resident, 512 * KiB);
    sleep_ms(100);
    hk_purge_tick();
    ck_assert_uint_eq(resident(a, 512 * KiB), 0);
    hk_ph_get_stats(&s);
    ck_assert_uint_eq(s.free_resident, 0);
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
    hk_purge_delay = 40;
    hk_os_free(hk_os_alloc(3 * MiB, 16));
    hk_os_get_stats(&s);
    ck_assert_uint_gt(s.bytes_cached, 0);
    uint64_t purged = s.bytes_purged;
    sleep_ms(100);
    hk_purge_tick();
    hk_os_get_stats(&s);
    ck_assert_uint_eq(s.bytes_cached, 0);
    ck_assert_uint_ge(s.bytes_purged, purged + 3 * MiB);
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
    size_t bytes = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        bytes += (size_t)hk_slab_bin_count(c) * hk_classes[c].bsize;
    ck_assert_msg(bytes <= HK_TC_BYTES + 256 * KiB, "thread cache holds %zu bytes", bytes);
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

START_TEST(test_internal_checks_run) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        _exit(corrupt_and_run(_i));
    }
    close(fds[1]);
    char buf[512];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof buf - 1 && (r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
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

Suite *make_pages_suite(void)
{
    Suite *s = suite_create("pages");
    TCase *tc = tcase_create("pages");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_pages_move_between_boxes, HK_CHECK_MODE_FIRST, HK_CHECK_NMODES);
    tcase_add_test_raise_signal(tc, test_stale_pointer_refused, SIGABRT);
    tcase_add_test(tc, test_state_reset_on_release);
    tcase_add_test(tc, test_fullest_page_first);
    tcase_add_test(tc, test_purge_delay_never);
    tcase_add_test(tc, test_purge_delay_zero);
    tcase_add_test(tc, test_purge_delay_elapsed);
    tcase_add_test(tc, test_purge_budget);
    tcase_add_test(tc, test_purge_budget_learns);
    tcase_add_test(tc, test_mmap_cache_delay);
    tcase_add_loop_test(tc, test_trim_returns_small_blocks, HK_CHECK_MODE_FIRST, HK_CHECK_NMODES);
    tcase_add_loop_test(tc, test_tcache_byte_budget, HK_CHECK_MODE_FIRST, HK_CHECK_NMODES);
    tcase_add_test(tc, test_thread_exit_gives_pages_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("internal checks");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_internal_checks_run, 0, NCORRUPT);
    suite_add_tcase(s, tc);
    return s;
}
