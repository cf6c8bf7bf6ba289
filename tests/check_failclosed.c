/* check_failclosed.c: "fail-closed" means every pointer hakmem did not return is refused, at
 * every offset. Proven two ways:
 *   - without aborting, through the classification free/realloc/malloc_usable_size use
 *     (hk_ptr_check) and the fast free path's own test (hk_slab_fast_ok): for blocks of
 *     every class of every box (live and freed), every byte offset of blocks up to 64 KiB and,
 *     in bigger ones, every byte of the first page and of the last granule and every granule
 *     start; for aligned blocks at every alignment from 32 bytes to 1 MiB (the padding before
 *     the aligned pointer, the pointer, the rest), while live, once freed, and once the block
 *     is reused (no mark left behind); for mmap-box blocks (header page, interior);
 *   - by death: the real free(), realloc() and malloc_usable_size() on a sample of those
 *     pointers in child processes abort with the one line naming the fault.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hk_check.h"
#include "hk_mmap.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static const char *kind_name(hk_ptr_kind k)
{
    static const char *const n[] = {"LIVE", "FREED", "INVALID", "FOREIGN"};
    return (unsigned)k < 4 ? n[k] : "?";
}

/* The offsets probed in a block of n bytes: every byte up to 64 KiB; beyond, every byte of
 * the first page and of the last granule, and every granule start. Calls f(off) for each. */
#define FOR_PROBES(n, off, body)                                                                   \
    do {                                                                                           \
        size_t n_ = (n);                                                                           \
        for (size_t off = 0; off < n_;) {                                                          \
            body;                                                                                  \
            if (n_ <= 64 * KiB || off < 4096 || off + 16 >= n_)                                    \
                off++;                                                                             \
            else                                                                                   \
                off = (off | 15) + 1;                                                              \
        }                                                                                          \
    } while (0)

static unsigned long nprobes;

/* Probe every offset of the block at b (bsize bytes), of which only b + live_off (if
 * live_off < bsize) may be LIVE, and only b + freed_off FREED; everything else INVALID. */
static void probe_block(uintptr_t b, size_t bsize, size_t live_off, size_t freed_off,
                        const char *what)
{
    FOR_PROBES(bsize, off, {
        const void *p = (const void *)(b + off);
        hk_ptr_info info;
        hk_ptr_kind k = hk_ptr_check(p, &info);
        hk_ptr_kind want = off == live_off    ? HK_PTR_LIVE
                           : off == freed_off ? HK_PTR_FREED
                                              : HK_PTR_INVALID;
        nprobes++;
        if (k != want)
            ck_abort_msg("%s: block %p (%zu bytes) + %zu: %s, want %s", what, (void *)b, bsize, off,
                         kind_name(k), kind_name(want));
        if (hk_slab_owns(p)) {
            bool fast = hk_slab_fast_ok((uintptr_t)p - hk_arena_base);
            if (fast != (want == HK_PTR_LIVE && off == 0))
                ck_abort_msg("%s: block %p + %zu: the fast free path would %s it", what, (void *)b,
                             off, fast ? "accept" : "refuse");
        }
        if (k == HK_PTR_INVALID && info.block != b)
            ck_abort_msg("%s: block %p + %zu: the fault names block %p", what, (void *)b, off,
                         (void *)info.block);
    });
}

/* ---------------------------------------------------------------- every class */

START_TEST(test_every_offset_every_class) {
    nprobes = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_info *ci = &hk_classes[c];
        ck_assert_uint_gt(ci->bsize, 0);
        char what[64];
        snprintf(what, sizeof what, "%s class %u (%u bytes)", hak_box_name((hak_box_t)ci->box), c,
                 ci->bsize);
        void *a = hk_slab_alloc(c), *b = hk_slab_alloc(c);
        ck_assert_msg(a && b, "%s: no block", what);
        hk_slab_free(b);
        probe_block((uintptr_t)a, ci->bsize, 0, SIZE_MAX, what);
        probe_block((uintptr_t)b, ci->bsize, SIZE_MAX, 0, what);
        /* the byte before a block, and the memory just past the last carved block */
        hk_ptr_info info;
        ck_assert_int_ne(hk_ptr_check((char *)a - 1, &info), HK_PTR_LIVE);
        hk_slab_free(a);
    }
    fprintf(stderr, "classes: %lu probes\n", nprobes);
    ck_assert_uint_gt(nprobes, 1000000);
}
END_TEST

/* Pages past the carved ones, and the arena beyond what is committed. */
START_TEST(test_uncarved_arena) {
    hk_ptr_info info;
    uintptr_t far = hk_arena_base + hk_arena_size - 4096;
    ck_assert_int_eq(hk_ptr_check((void *)far, &info), HK_PTR_INVALID);
    ck_assert_int_eq(info.why, HK_WHY_UNCARVED);
    /* the first granule beyond a fresh page's first blocks: carved on demand, not yet */
    void *p = hk_slab_alloc(HK_CLS_L250 + 5); /* 2 MiB: a fresh 4 MiB page holds two */
    ck_assert(p != NULL);
    ck_assert_int_eq(hk_ptr_check(p, &info), HK_PTR_LIVE);
    hk_slab_free(p);
}
END_TEST

/* A page's bytes outside its blocks: before its first block (its colour, hk_page_first)
 * and past its last, for every class whose pages have slack, at every byte offset. */
START_TEST(test_page_slack_refused) {
    nprobes = 0;
    unsigned coloured = 0;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_info *ci = &hk_classes[c];
        size_t psize = (size_t)1 << ci->page_shift, slack = psize - (size_t)ci->cap * ci->bsize;
        if (ci->cap < 2 || slack < 64)
            continue;
        /* Four pages' blocks, so that every page is carved whole and one starts past 0. */
        enum { MAXB = 4096 };
        static void *b[MAXB];
        unsigned n = 4u * ci->cap < MAXB ? 4u * ci->cap : MAXB;
        for (unsigned i = 0; i < n; i++)
            ck_assert_ptr_nonnull(b[i] = hk_slab_alloc(c));
        for (unsigned i = 0; i < n; i++) {
            uintptr_t page = (uintptr_t)b[i] & ~(psize - 1), first = UINTPTR_MAX;
            unsigned inpage = 0;
            for (unsigned j = 0; j < n; j++)
                if (((uintptr_t)b[j] & ~(psize - 1)) == page) {
                    inpage++;
                    first = (uintptr_t)b[j] < first ? (uintptr_t)b[j] : first;
                }
            if (inpage != ci->cap || (uintptr_t)b[i] != first)
                continue; /* a page not carved whole, or not its first block */
            ck_assert_uint_le(first - page, slack);
            coloured += first != page;
            uintptr_t end = first + (size_t)ci->cap * ci->bsize;
            for (uintptr_t a = page == first ? end : page; a < page + psize;
                 a = a + 1 == first ? end : a + 1) {
                hk_ptr_info info;
                nprobes++;
                if (hk_ptr_check((void *)a, &info) != HK_PTR_INVALID)
                    ck_abort_msg("class %u (%u bytes): page %p + %zu (first block at + %zu) not "
                                 "refused",
                                 c, ci->bsize, (void *)page, (size_t)(a - page),
                                 (size_t)(first - page));
                ck_assert(!hk_slab_fast_ok(a - hk_arena_base));
            }
        }
        for (unsigned i = 0; i < n; i++)
            hk_slab_free(b[i]);
    }
    fprintf(stderr, "page slack: %lu probes, %u pages coloured\n", nprobes, coloured);
    ck_assert_uint_gt(coloured, 0);
    ck_assert_uint_gt(nprobes, 10000);
}
END_TEST

/* ---------------------------------------------------------------- aligned blocks */

/* One aligned allocation through the front door at alignment al and size sz: probe its
 * block live, freed, and reused by a plain allocation. */
static void check_aligned(size_t al, size_t sz, unsigned *padded)
{
    char what[96];
    /* a block of the same class kept live, so that successive calls use successive blocks
     * (each at another distance from the alignment) */
    static void *spacers[512];
    static unsigned nspacers;
    if (!padded) {
        while (nspacers)
            hak_free(spacers[--nspacers]);
        return;
    }
    if (nspacers < 512)
        spacers[nspacers++] = hak_malloc(sz + al);
    void *q = hak_memalign(al, sz);
    ck_assert_msg(q != NULL && ((uintptr_t)q & (al - 1)) == 0, "memalign(%zu, %zu)", al, sz);
    hk_ptr_info info;
    ck_assert_int_eq(hk_ptr_check(q, &info), HK_PTR_LIVE);
    snprintf(what, sizeof what, "memalign(%zu, %zu) = %p in %s", al, sz, q, hak_box_name(info.box));
    if (!hk_slab_owns(q)) { /* the mmap box: probed in test_mmap_offsets */
        hak_free(q);
        return;
    }
    uintptr_t b = info.block;
    size_t bsize = info.bsize, qoff = (uintptr_t)q - b;
    if (qoff) {
        (*padded)++;
        ck_assert_int_eq(hak_box_of((void *)b), HAK_BOX_NONE);
        ck_assert_int_eq(hk_ptr_check((void *)b, &info), HK_PTR_INVALID);
        ck_assert_int_eq(info.why, HK_WHY_PADDING);
        ck_assert_ptr_eq((void *)info.aligned, q);
    }
    ck_assert_uint_eq(hak_malloc_usable_size(q), bsize - qoff);
    probe_block(b, bsize, qoff, SIZE_MAX, what);
    hak_free(q);
    probe_block(b, bsize, SIZE_MAX, qoff, what);
    if (qoff) {
        ck_assert_int_eq(hk_ptr_check(q, &info), HK_PTR_FREED);
        ck_assert_int_eq(info.why, HK_WHY_ALIGNED);
    }
    /* Reuse: the block comes back from the thread cache at its start; q is interior now. */
    unsigned cls = hk_pagecls[(b - hk_arena_base) >> HK_UNIT_SHIFT];
    void *r = hk_slab_alloc(cls);
    ck_assert_ptr_eq(r, (void *)b);
    probe_block(b, bsize, 0, SIZE_MAX, what);
    hk_slab_free(r);
}

START_TEST(test_every_offset_aligned) {
    nprobes = 0;
    unsigned padded = 0;
    /* sizes in each small box, alignments 32 .. 1 MiB: the padding varies with where each
     * block falls, so each pair is tried several times */
    static const size_t sizes[] = {1, 70, 100, 1000, 3000, 9000, 20000, 40000, 70000, 300000};
    for (size_t al = 32; al <= MiB; al *= 2)
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
            for (int rep = 0; rep < (al <= 4096 ? 3 : 1); rep++)
                check_aligned(al, sizes[i], &padded);
    check_aligned(0, 0, NULL); /* free the spacers */
    fprintf(stderr, "aligned: %u padded, %lu probes\n", padded, nprobes);
    ck_assert_uint_gt(padded, 50); /* the padding was really probed */
}
END_TEST

/* The reproduction: q = memalign(32, 70) 16 bytes into its block. */
START_TEST(test_aligned_block_start_refused) {
    void *keep[64];
    int nk = 0;
    char *q = NULL;
    while (!q && nk < 64) {
        char *p = hak_memalign(32, 70);
        if (hak_malloc_usable_size(p) == 96)
            q = p;
        else
            keep[nk++] = p;
    }
    ck_assert(q != NULL);
    hk_ptr_info info;
    ck_assert_int_eq(hk_ptr_check(q - 16, &info), HK_PTR_INVALID);
    ck_assert_int_eq(info.why, HK_WHY_PADDING);
    hak_free(q);
    ck_assert_int_eq(hk_ptr_check(q, &info), HK_PTR_FREED);
    /* the block reused at its start: q is an interior pointer, and nothing says otherwise */
    char *m = hak_malloc(100);
    ck_assert_ptr_eq(m, q - 16);
    ck_assert_int_eq(hk_ptr_check(q, &info), HK_PTR_INVALID);
    ck_assert_int_eq(info.why, HK_WHY_INTERIOR);
    ck_assert_int_eq(hak_box_of(q), HAK_BOX_NONE);
    hak_free(m);
    while (nk)
        hak_free(keep[--nk]);
}
END_TEST

/* ---------------------------------------------------------------- the mmap box */

static void probe_mmap(void *p, const char *what)
{
    hk_ptr_info info;
    ck_assert_int_eq(hk_ptr_check(p, &info), HK_PTR_LIVE);
    size_t usable = info.bsize;
    uintptr_t u = (uintptr_t)p;
    /* the header page: every byte of its first and last granule, every granule start */
    for (size_t off = 1; off <= 4096; off = off < 16 || off >= 4080 ? off + 1 : off + 16) {
        hk_ptr_kind k = hk_ptr_check((void *)(u - off), &info);
        if (k != HK_PTR_INVALID || info.why != HK_WHY_HEADER)
            ck_abort_msg("%s: %p - %zu (header page): %s", what, p, off, kind_name(k));
    }
    /* the user area: every byte of the first page and of the last granule, every granule
     * start of the first and last 64 KiB, every page start in between */
    for (size_t off = 1; off < usable;) {
        hk_ptr_kind k = hk_ptr_check((void *)(u + off), &info);
        if (k != HK_PTR_INVALID || info.why != HK_WHY_INTERIOR || info.block != u)
            ck_abort_msg("%s: %p + %zu: %s", what, p, off, kind_name(k));
        nprobes++;
        if (off < 4096 || off + 16 >= usable)
            off++;
        else if (off < 64 * KiB || off + 64 * KiB >= usable)
            off = (off | 15) + 1;
        else
            off = (off | 4095) + 1;
    }
}

START_TEST(test_mmap_offsets) {
    hk_ptr_info info;
    hk_os_trim();
    static const size_t sizes[] = {2 * MiB, 3 * MiB + 1, 5 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *p = hak_malloc(sizes[i]);
        ck_assert(p && !hk_slab_owns(p));
        probe_mmap(p, "mmap block");
        size_t usable = hak_malloc_usable_size(p);
        /* just past the end of the live region: not that block's */
        hk_ptr_kind past = hk_ptr_check((char *)p + usable, &info);
        ck_assert(past != HK_PTR_LIVE || info.block != (uintptr_t)p);
        hak_free(p);
        /* freed: its region cached (a double free is named) or unmapped (recent) */
        ck_assert_int_eq(hk_ptr_check(p, &info), HK_PTR_FREED);
        hk_os_stats st;
        hk_os_get_stats(&st);
        if (st.bytes_cached) { /* inside a region kept for reuse: invalid, never live */
            ck_assert_int_ne(hk_ptr_check((char *)p + 4096, &info), HK_PTR_LIVE);
        }
    }
    /* a cached region's interior and header */
    hk_os_trim();
    char *c = hak_malloc(3 * MiB);
    hak_free(c);
    ck_assert_int_eq(hk_ptr_check(c, &info), HK_PTR_FREED);
    ck_assert_int_eq(info.why, HK_WHY_CACHED);
    ck_assert_int_eq(hk_ptr_check(c + 8192, &info), HK_PTR_INVALID);
    ck_assert_int_eq(info.why, HK_WHY_CACHED);
    ck_assert_int_eq(hk_ptr_check(c - 4096, &info), HK_PTR_INVALID);
    hk_os_trim();
    ck_assert_int_eq(hk_ptr_check(c, &info), HK_PTR_FREED); /* unmapped: among the recent */
    ck_assert_int_eq(info.why, HK_WHY_RECENT);
    ck_assert_int_eq(hk_ptr_check(c + 8192, &info), HK_PTR_FOREIGN);
    static const size_t aligns[] = {8192, 64 * KiB, MiB, 4 * MiB};
    for (size_t i = 0; i < sizeof aligns / sizeof aligns[0]; i++) {
        void *p = hk_os_alloc(3 * MiB, aligns[i]);
        ck_assert(p && ((uintptr_t)p & (aligns[i] - 1)) == 0);
        probe_mmap(p, "aligned mmap block");
        ck_assert(hk_os_free(p));
        ck_assert_int_eq(hk_ptr_check(p, &info), HK_PTR_FREED);
    }
    hk_os_trim();
    /* hakmem's own metadata: invalid, not foreign */
    ck_assert_int_eq(hk_ptr_check((void *)hk_state, &info), HK_PTR_INVALID);
    ck_assert_int_eq(info.why, HK_WHY_METADATA);
    ck_assert_int_eq(hk_ptr_check(hk_pagecls + 100, &info), HK_PTR_INVALID);
    ck_assert_int_eq(info.why, HK_WHY_METADATA);
    /* not hakmem's at all */
    static int global;
    int local;
    ck_assert_int_eq(hk_ptr_check(&global, &info), HK_PTR_FOREIGN);
    ck_assert_int_eq(hk_ptr_check(&local, &info), HK_PTR_FOREIGN);
    void *g = malloc(100); /* glibc's: this suite links the core without the wrappers */
    ck_assert_int_eq(hk_ptr_check(g, &info), HK_PTR_FOREIGN);
    free(g);
}
END_TEST

/* ---------------------------------------------------------------- death: the real calls */

/* Run op on p in a child; it must die of SIGABRT with one stderr line that starts with
 * "hakmem: <call>: <fault>". */
enum { OP_FREE, OP_REALLOC, OP_USABLE, OP_REALLOC0 };
static int death_child(int op, void *p)
{
    if (op == OP_FREE)
        hak_free(p);
    else if (op == OP_REALLOC)
        (void)hak_realloc(p, 10);
    else if (op == OP_REALLOC0)
        (void)hak_realloc(p, 0);
    else
        (void)hak_malloc_usable_size(p);
    return 0;
}

static void expect_death(int op, void *p, const char *fault, const char *what)
{
    static const char *const calls[] = {"free()", "realloc()", "malloc_usable_size()", "realloc()"};
    char buf[512];
    int status = hk_check_child(death_child, op, p, buf, sizeof buf);
    size_t n = strlen(buf);
    char want[128];
    snprintf(want, sizeof want, "hakmem: %s: %s ", calls[op], fault);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "%s(%s %p): not aborted (status %#x)", calls[op], what, p, status);
    ck_assert_msg(strncmp(buf, want, strlen(want)) == 0 && strchr(buf, '\n') == buf + n - 1,
                  "%s(%s): got \"%s\", want one line starting \"%s\"", calls[op], what, buf, want);
}

START_TEST(test_death_every_box) {
    static const size_t sizes[] = {16,    100,   1024,  2000,  8192,    9000,
                                   32768, 40000, 50000, 70000, 1 * MiB, 3 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = hak_malloc(sizes[i]);
        size_t n = hak_malloc_usable_size(p);
        const size_t offs[] = {1, 8, 15, 16, 17, n / 2, n - 16, n - 1};
        for (size_t j = 0; j < sizeof offs / sizeof offs[0]; j++)
            for (int op = OP_FREE; op <= OP_USABLE && offs[j] > 0 && offs[j] < n; op++)
                expect_death(op, p + offs[j], "invalid pointer", "interior");
        hak_free(p);
        expect_death(OP_FREE, p, "double free of", "freed");
        expect_death(OP_REALLOC, p, "use after free of", "freed");
        expect_death(OP_USABLE, p, "use after free of", "freed");
    }
    /* aligned: padding, freed aligned pointer */
    for (size_t al = 32; al <= 64 * KiB; al *= 4) {
        char *q = hak_memalign(al, 100);
        hk_ptr_info info;
        hk_ptr_check(q, &info);
        if ((uintptr_t)q != info.block && hk_slab_owns(q)) {
            for (int op = OP_FREE; op <= OP_USABLE; op++)
                expect_death(op, (void *)info.block, "invalid pointer", "padding");
        }
        hak_free(q);
        expect_death(OP_FREE, q, "double free of", "freed aligned");
        expect_death(OP_USABLE, q, "use after free of", "freed aligned");
    }
    static int global;
    for (int op = OP_FREE; op <= OP_USABLE; op++)
        expect_death(op, &global, "foreign pointer", "global");
    expect_death(OP_REALLOC0, &global, "foreign pointer", "global, realloc(p, 0)");
    /* every other kind of place, each named */
    expect_death(OP_FREE, (void *)(hk_arena_base + hk_arena_size - 4096), "invalid pointer",
                 "uncarved arena");
    char *m = hak_malloc(3 * MiB);
    expect_death(OP_FREE, m - 100, "invalid pointer", "mmap header page");
    hak_free(m); /* cached */
    expect_death(OP_FREE, m + 8192, "invalid pointer", "inside a cached region");
    expect_death(OP_USABLE, m, "use after free of", "a cached mmap block");
    hk_os_trim(); /* unmapped */
    expect_death(OP_FREE, m, "double free of", "an unmapped mmap block");
    expect_death(OP_FREE, hk_pagecls + 1, "invalid pointer", "the class map");
    /* the aligned pointer's block reused at its start, then the old aligned pointer freed */
    for (size_t al = 64; al <= 4096; al *= 4) {
        char *q = hak_memalign(al, 200);
        hk_ptr_info info;
        hk_ptr_check(q, &info);
        if (!hk_slab_owns(q) || (uintptr_t)q == info.block) {
            hak_free(q);
            continue;
        }
        hak_free(q);
        unsigned cls = hk_pagecls[(info.block - hk_arena_base) >> HK_UNIT_SHIFT];
        void *r = hk_slab_alloc(cls);
        ck_assert_ptr_eq(r, (void *)info.block);
        expect_death(OP_FREE, q, "invalid pointer", "a stale aligned pointer");
        hk_slab_free(r);
    }
    expect_death(OP_FREE, (void *)hk_state, "invalid pointer", "the state map");
}
END_TEST

Suite *make_failclosed_suite(void)
{
    Suite *s = suite_create("failclosed");
    TCase *tc = tcase_create("offsets");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_every_offset_every_class);
    tcase_add_test(tc, test_uncarved_arena);
    tcase_add_test(tc, test_page_slack_refused);
    tcase_add_test(tc, test_every_offset_aligned);
    tcase_add_test(tc, test_aligned_block_start_refused);
    tcase_add_test(tc, test_mmap_offsets);
    suite_add_tcase(s, tc);
    tc = tcase_create("death");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_death_every_box);
    suite_add_tcase(s, tc);
    return s;
}
