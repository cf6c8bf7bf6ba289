/* check_tiny.c: the Tiny box (core/box/hk_tiny.h): classes, edges, waste, round trips, alignment,
 * malloc(0). The block engine under it (thread caches, thread exit, pages): check_engine.c. */
#include <stdlib.h>
#include <string.h>

#include "hk_check.h"
#include "hk_tiny.h"

/* Written out independently of core/box/hk_tiny.c: 16..128 step 16, then four per doubling. */
static const size_t expect_sizes[HK_TINY_NCLASSES] = {16,  32,  48,  64,  80,  96,  112,
                                                      128, 160, 192, 224, 256, 320, 384,
                                                      448, 512, 640, 768, 896, 1024};

/* The smallest expected class whose size is >= s (reference for hk_tiny_class). */
static int ref_class(size_t s)
{
    for (int c = 0; c < HK_TINY_NCLASSES; c++)
        if (expect_sizes[c] >= s)
            return c;
    return -1;
}

START_TEST(test_tiny_class_sizes) {
    ck_assert_int_eq(HK_TINY_NCLASSES, 20);
    for (int c = 0; c < HK_TINY_NCLASSES; c++) {
        ck_assert_msg(hk_tiny_sizes[c] == expect_sizes[c], "class %d: size %u, expected %zu", c,
                      hk_tiny_sizes[c], expect_sizes[c]);
        ck_assert_msg(hk_tiny_sizes[c] % 16 == 0, "class %d size %u not a multiple of 16", c,
                      hk_tiny_sizes[c]);
        if (c > 0)
            ck_assert_msg(hk_tiny_sizes[c] > hk_tiny_sizes[c - 1], "class %d not increasing", c);
        /* The engine knows the class with the same size and owner. */
        ck_assert_uint_eq(hk_classes[HK_CLS_TINY0 + c].bsize, hk_tiny_sizes[c]);
        ck_assert_int_eq(hk_classes[HK_CLS_TINY0 + c].box, HAK_BOX_TINY);
    }
    ck_assert_uint_eq(hk_tiny_sizes[HK_TINY_NCLASSES - 1], HK_TINY_MAX);
    /* Four classes per doubling above 128: each group of four ends at a power of two. */
    for (int c = 8; c < HK_TINY_NCLASSES; c += 4) {
        unsigned top = hk_tiny_sizes[c + 3];
        ck_assert_msg((top & (top - 1)) == 0, "group at class %d ends at %u", c, top);
        for (int k = 0; k < 4; k++)
            ck_assert_uint_eq(hk_tiny_sizes[c + k], top / 2 + (size_t)(k + 1) * (top / 8));
    }
}
END_TEST

/* Every class edge +-1 (and 0, 1), against values written out by hand. */
START_TEST(test_tiny_class_edges) {
    static const struct {
        size_t size;
        int cls;
    } edges[] = {
        {0, 0},    {1, 0},     {15, 0},    {16, 0},   {17, 1},   {31, 1},   {32, 1},   {33, 2},
        {47, 2},   {48, 2},    {49, 3},    {64, 3},   {65, 4},   {80, 4},   {81, 5},   {96, 5},
        {97, 6},   {112, 6},   {113, 7},   {127, 7},  {128, 7},  {129, 8},  {159, 8},  {160, 8},
        {161, 9},  {192, 9},   {193, 10},  {224, 10}, {225, 11}, {255, 11}, {256, 11}, {257, 12},
        {319, 12}, {320, 12},  {321, 13},  {384, 13}, {385, 14}, {448, 14}, {449, 15}, {511, 15},
        {512, 15}, {513, 16},  {639, 16},  {640, 16}, {641, 17}, {768, 17}, {769, 18}, {896, 18},
        {897, 19}, {1023, 19}, {1024, 19},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        ck_assert_msg(hk_tiny_class(edges[i].size) == edges[i].cls,
                      "hk_tiny_class(%zu) = %d, expected %d", edges[i].size,
                      hk_tiny_class(edges[i].size), edges[i].cls);
    /* And every edge of the class table itself: s-1, s, s+1 for each class size s. */
    for (int c = 0; c < HK_TINY_NCLASSES; c++) {
        size_t s = expect_sizes[c];
        for (size_t t = s - 1; t <= s + 1 && t <= HK_TINY_MAX; t++)
            ck_assert_msg(hk_tiny_class(t) == ref_class(t), "hk_tiny_class(%zu) = %d, want %d", t,
                          hk_tiny_class(t), ref_class(t));
    }
}
END_TEST

/* Every size 0..1024: the class fits and is the smallest that fits. */
START_TEST(test_tiny_class_minimal) {
    for (size_t s = 0; s <= HK_TINY_MAX; s++) {
        int c = hk_tiny_class(s);
        ck_assert_msg(c >= 0 && c < HK_TINY_NCLASSES, "hk_tiny_class(%zu) = %d", s, c);
        ck_assert_msg(hk_tiny_sizes[c] >= s, "size %zu in class %d (%u B)", s, c, hk_tiny_sizes[c]);
        ck_assert_msg(c == 0 || hk_tiny_sizes[c - 1] < s, "size %zu: class %d not minimal", s, c);
    }
}
END_TEST

/* hk_tiny.h's waste table, recomputed: per tier the largest waste in bytes, the request that
 * wastes most (as a share of the block) and that share. */
START_TEST(test_tiny_waste_claims) {
    static const struct {
        int first, last;
        size_t max_waste, worst_request;
        double pct, precision; /* claimed share of the block, and the claim's precision */
    } tiers[] = {
        {0, 7, 15, 1, 94.0, 1.0},
        {8, 11, 31, 129, 19.4, 0.1},
        {12, 15, 63, 257, 19.6, 0.1},
        {16, 19, 127, 513, 19.8, 0.1},
    };
    for (size_t t = 0; t < sizeof tiers / sizeof tiers[0]; t++) {
        size_t lo = tiers[t].first ? hk_tiny_sizes[tiers[t].first - 1] + 1 : 1;
        size_t hi = hk_tiny_sizes[tiers[t].last];
        size_t max_waste = 0, worst = 0;
        double worst_share = -1;
        for (size_t s = lo; s <= hi; s++) {
            size_t b = hk_tiny_sizes[hk_tiny_class(s)];
            size_t w = b - s;
            double share = 100.0 * (double)w / (double)b;
            if (w > max_waste)
                max_waste = w;
            if (share > worst_share) {
                worst_share = share;
                worst = s;
            }
        }
        ck_assert_msg(max_waste == tiers[t].max_waste, "tier %zu: max waste %zu, claimed %zu", t,
                      max_waste, tiers[t].max_waste);
        ck_assert_msg(worst == tiers[t].worst_request, "tier %zu: worst request %zu, claimed %zu",
                      t, worst, tiers[t].worst_request);
        ck_assert_msg(worst_share <= tiers[t].pct + tiers[t].precision &&
                          worst_share >= tiers[t].pct - tiers[t].precision,
                      "tier %zu: worst waste %.3f%%, claimed %.1f%%", t, worst_share, tiers[t].pct);
    }
    /* "from 17 B on at most 47%" (of the block) and "from 113 B on at most 15/113 = 13%". */
    for (size_t s = 17; s <= 128; s++) {
        size_t b = hk_tiny_sizes[hk_tiny_class(s)];
        ck_assert_msg(100.0 * (double)(b - s) / (double)b <= 47.0, "size %zu wastes %zu of %zu", s,
                      b - s, b);
        if (s >= 113)
            ck_assert_msg(100.0 * (double)(b - s) / (double)s <= 13.3, "size %zu wastes %zu", s,
                          b - s);
    }
}
END_TEST

/* The sizes the round-trip tests use: 0, 1 and every class edge +-1. */
static size_t edge_sizes(size_t *out)
{
    size_t n = 0;
    out[n++] = 0;
    out[n++] = 1;
    for (int c = 0; c < HK_TINY_NCLASSES; c++) {
        size_t s = expect_sizes[c];
        out[n++] = s - 1;
        out[n++] = s;
        if (s + 1 <= HK_TINY_MAX)
            out[n++] = s + 1;
    }
    return n;
}

#define RT_PER_SIZE 40

/* Allocate RT_PER_SIZE blocks of each edge size (through both entries), all live at once,
 * every byte stamped; then verify and free. Overlapping blocks would break the stamps. */
START_TEST(test_tiny_roundtrip) {
    hk_check_set_mode(_i);
    size_t sizes[3 * HK_TINY_NCLASSES + 2];
    size_t ns = edge_sizes(sizes);
    size_t total = ns * RT_PER_SIZE;
    void **ptrs = calloc(total, sizeof *ptrs);
    size_t *lens = calloc(total, sizeof *lens);
    ck_assert_ptr_nonnull(ptrs);
    for (size_t k = 0; k < total; k++) {
        size_t s = sizes[k % ns];
        void *p = (k & 1) ? hak_malloc(s) : hak_alloc_at(s, (hak_callsite_t)k);
        ck_assert_msg(p != NULL, "[%s] alloc(%zu) failed", hk_check_mode_names[_i], s);
        ck_assert_msg(((uintptr_t)p & 15) == 0, "alloc(%zu) = %p not 16-byte aligned", s, p);
        ck_assert_msg(hak_box_of(p) == HAK_BOX_TINY, "alloc(%zu): box %s", s,
                      hak_box_name(hak_box_of(p)));
        size_t u = hak_malloc_usable_size(p);
        ck_assert_msg(u == hk_tiny_sizes[hk_tiny_class(s)], "usable(%zu) = %zu", s, u);
        size_t len = s ? s : 16; /* malloc(0) still owns a 16-byte block */
        hk_check_stamp(p, len, (uintptr_t)k + 1, 0);
        ptrs[k] = p;
        lens[k] = len;
    }
    for (size_t k = 0; k < total; k++) {
        size_t bad = hk_check_verify(ptrs[k], lens[k], (uintptr_t)k + 1, 0);
        ck_assert_msg(bad == HK_CHECK_INTACT, "block %zu (%zu B) corrupted at byte %zu", k, lens[k],
                      bad);
    }
    for (size_t k = 0; k < total; k++) {
        hak_free(ptrs[k]);
        ck_assert_msg(hak_box_of(ptrs[k]) == HAK_BOX_NONE, "freed block %p still live", ptrs[k]);
    }
    free(ptrs);
    free(lens);
}
END_TEST

/* Every size 0..1024 once: 16-byte aligned, tiny, usable >= size, freed fine. */
START_TEST(test_tiny_alignment_all_sizes) {
    hk_check_set_mode(_i);
    for (size_t s = 0; s <= HK_TINY_MAX; s++) {
        void *p = hak_malloc(s);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(((uintptr_t)p % 16) == 0, "malloc(%zu) = %p", s, p);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
        ck_assert_uint_ge(hak_malloc_usable_size(p), s);
        if (s)
            memset(p, 0x5a, s);
        hak_free(p);
    }
}
END_TEST

#define NZERO 2000

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

START_TEST(test_tiny_malloc0_unique) {
    hk_check_set_mode(_i);
    uintptr_t *v = calloc(NZERO, sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (size_t i = 0; i < NZERO; i++) {
        void *p = (i & 1) ? hak_malloc(0) : hak_alloc_at(0, 0);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
        ck_assert_uint_ge(hak_malloc_usable_size(p), 16);
        memset(p, (int)(i & 0xff), 16);
        v[i] = (uintptr_t)p;
    }
    for (size_t i = 0; i < NZERO; i++) {
        const uint8_t *b = (const uint8_t *)v[i];
        for (int k = 0; k < 16; k++)
            ck_assert_msg(b[k] == (uint8_t)(i & 0xff), "malloc(0) block %zu overwritten", i);
    }
    qsort(v, NZERO, sizeof *v, cmp_ptr);
    for (size_t i = 1; i < NZERO; i++)
        ck_assert_msg(v[i - 1] + 16 <= v[i], "malloc(0) blocks %p and %p overlap", (void *)v[i - 1],
                      (void *)v[i]);
    for (size_t i = 0; i < NZERO; i++)
        hak_free((void *)v[i]);
    free(v);
}
END_TEST

Suite *make_tiny_suite(void)
{
    Suite *s = suite_create("tiny");
    TCase *tc = tcase_create("classes");
    tcase_add_test(tc, test_tiny_class_sizes);
    tcase_add_test(tc, test_tiny_class_edges);
    tcase_add_test(tc, test_tiny_class_minimal);
    tcase_add_test(tc, test_tiny_waste_claims);
    suite_add_tcase(s, tc);

    tc = tcase_create("alloc");
    tcase_add_loop_test(tc, test_tiny_roundtrip, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_tiny_alignment_all_sizes, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_tiny_malloc0_unique, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    return s;
}
