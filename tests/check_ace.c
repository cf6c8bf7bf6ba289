/* check_ace.c: ACE rounding (core/box/hk_ace.h): the class table, every edge, and minimality of
 * the class for every size from 0 to 2 MiB (and beyond: -1). */
#include "hk_ace.h"
#include "hk_check.h"
#include "hk_l25.h"
#include "hk_pool.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

/* Written out independently of core/box/hk_ace.c. */
static const size_t expect_sizes[HK_ACE_NCLASSES] = {
    2 * KiB,  3 * KiB,   4 * KiB,   6 * KiB,   8 * KiB, 40 * KiB, 52 * KiB,
    64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB,
};

static int ref_class(size_t s)
{
    for (int c = 0; c < HK_ACE_NCLASSES; c++)
        if (expect_sizes[c] >= s)
            return c;
    return -1;
}

START_TEST(test_ace_table) {
    ck_assert_int_eq(HK_ACE_NCLASSES, 13);
    for (int c = 0; c < HK_ACE_NCLASSES; c++) {
        ck_assert_msg(hk_ace_sizes[c] == expect_sizes[c], "class %d: %u, expected %zu", c,
                      hk_ace_sizes[c], expect_sizes[c]);
        if (c)
            ck_assert_uint_gt(hk_ace_sizes[c], hk_ace_sizes[c - 1]);
        ck_assert_uint_eq(hk_ace_sizes[c] % 16, 0);
    }
    ck_assert_uint_eq(hk_ace_sizes[HK_ACE_BRIDGE_40K], 40 * KiB);
    ck_assert_uint_eq(hk_ace_sizes[HK_ACE_BRIDGE_52K], 52 * KiB);
    ck_assert_int_eq(HK_ACE_POOL_LAST + 1, HK_ACE_L25_FIRST);
    /* The engine's Pool and L25 classes are the ACE classes, owned by the right box. */
    for (int c = 0; c <= HK_ACE_POOL_LAST; c++) {
        ck_assert_uint_eq(hk_classes[HK_CLS_POOL0 + c].bsize, hk_ace_sizes[c]);
        ck_assert_int_eq(hk_classes[HK_CLS_POOL0 + c].box, HAK_BOX_POOL);
    }
    for (int c = HK_ACE_L25_FIRST; c < HK_ACE_NCLASSES; c++) {
        ck_assert_uint_eq(hk_classes[HK_CLS_L250 + c - HK_ACE_L25_FIRST].bsize, hk_ace_sizes[c]);
        ck_assert_int_eq(hk_classes[HK_CLS_L250 + c - HK_ACE_L25_FIRST].box, HAK_BOX_L25);
    }
    ck_assert_int_eq(HK_CLS_L250 + HK_ACE_NCLASSES - HK_ACE_L25_FIRST, HK_NCLASSES);
}
END_TEST

START_TEST(test_ace_edges) {
    static const struct {
        size_t size;
        int cls;
    } edges[] = {
        {0, 0},        {1, 0},
        {1024, 0},     {1025, 0},
        {2048, 0},     {2049, 1},
        {3072, 1},     {3073, 2},
        {4096, 2},     {4097, 3},
        {6144, 3},     {6145, 4},
        {8192, 4},     {8193, 5},
        {32768, 5},    {32769, 5},
        {33 * KiB, 5}, {40960, 5},
        {40961, 6},    {53248, 6},
        {53249, 7},    {65536, 7},
        {65537, 8},    {131072, 8},
        {131073, 9},   {262144, 9},
        {262145, 10},  {524288, 10},
        {524289, 11},  {1048576, 11},
        {1048577, 12}, {2 * MiB - 1, 12},
        {2 * MiB, 12}, {2 * MiB + 1, -1},
        {4 * MiB, -1}, {SIZE_MAX, -1},
    };
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
        ck_assert_msg(hk_ace_class(edges[i].size) == edges[i].cls,
                      "hk_ace_class(%zu) = %d, expected %d", edges[i].size,
                      hk_ace_class(edges[i].size), edges[i].cls);
    /* Every power of two up to 2 MiB, and its neighbours. */
    for (size_t p = 1; p <= 2 * MiB; p <<= 1)
        for (size_t s = p - 1; s <= p + 1; s++)
            ck_assert_msg(hk_ace_class(s) == ref_class(s), "hk_ace_class(%zu) = %d, want %d", s,
                          hk_ace_class(s), ref_class(s));
    /* Every class edge +-1. */
    for (int c = 0; c < HK_ACE_NCLASSES; c++)
        for (size_t s = expect_sizes[c] - 1; s <= expect_sizes[c] + 1; s++)
            ck_assert_msg(hk_ace_class(s) == ref_class(s), "hk_ace_class(%zu) = %d, want %d", s,
                          hk_ace_class(s), ref_class(s));
}
END_TEST

/* All sizes 1 .. 2 MiB: the class fits and the class below does not. */
START_TEST(test_ace_minimal_all_sizes) {
    int ref = 0;
    for (size_t s = 1; s <= 2 * MiB; s++) {
        while (expect_sizes[ref] < s)
            ref++;
        int c = hk_ace_class(s);
        if (c != ref || hk_ace_sizes[c] < s || (c > 0 && hk_ace_sizes[c - 1] >= s))
            ck_abort_msg("hk_ace_class(%zu) = %d (%u B), expected class %d", s, c,
                         c >= 0 && c < HK_ACE_NCLASSES ? hk_ace_sizes[c] : 0, ref);
    }
    for (size_t s = 2 * MiB + 1; s <= 2 * MiB + 65536; s++)
        if (hk_ace_class(s) != -1)
            ck_abort_msg("hk_ace_class(%zu) = %d, expected -1", s, hk_ace_class(s));
    for (int sh = 22; sh < 64; sh++)
        ck_assert_int_eq(hk_ace_class((size_t)1 << sh), -1);
}
END_TEST

/* hk_ace.h's worst-case waste table (waste as a share of the class size). */
START_TEST(test_ace_waste_claims) {
    static const struct {
        int cls;
        size_t first, max_waste;
        double pct;
    } rows[] = {
        {0, 1025, 1023, 50},
        {1, 2049, 1023, 33},
        {2, 3073, 1023, 25},
        {3, 4097, 2047, 33},
        {4, 6145, 2047, 25},
        {5, 32 * KiB + 1, 8 * KiB - 1, 20},
        {6, 40 * KiB + 1, 12 * KiB - 1, 23},
        {7, 52 * KiB + 1, 12 * KiB - 1, 19},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        int c = rows[r].cls;
        ck_assert_int_eq(hk_ace_class(rows[r].first), c);
        size_t w = hk_ace_sizes[c] - rows[r].first;
        ck_assert_msg(w == rows[r].max_waste, "class %d: waste %zu, claimed %zu", c, w,
                      rows[r].max_waste);
        double pct = 100.0 * (double)w / hk_ace_sizes[c];
        ck_assert_msg(pct < rows[r].pct + 1 && pct > rows[r].pct - 1,
                      "class %d: %.2f%%, claimed %.0f%%", c, pct, rows[r].pct);
    }
    /* Classes 8-12: just under half. */
    for (int c = 8; c < HK_ACE_NCLASSES; c++) {
        size_t first = hk_ace_sizes[c - 1] + 1;
        ck_assert_int_eq(hk_ace_class(first), c);
        ck_assert_uint_lt(hk_ace_sizes[c] - first, hk_ace_sizes[c] / 2);
    }
}
END_TEST

Suite *make_ace_suite(void)
{
    Suite *s = suite_create("ace");
    TCase *tc = tcase_create("classes");
    tcase_add_test(tc, test_ace_table);
    tcase_add_test(tc, test_ace_edges);
    tcase_add_test(tc, test_ace_minimal_all_sizes);
    tcase_add_test(tc, test_ace_waste_claims);
    suite_add_tcase(s, tc);
    return s;
}
