/* check_api.c: the public hak_* API (include/hakmem.h) with glibc's malloc-family semantics:
 * calloc, realloc across boxes, reallocarray, the memalign family, usable size, box names,
 * fail-closed frees, malloc_trim, mallinfo2, statistics, glibc's introspection calls
 * (malloc_info, mallinfo, mallopt). The HAKMEM_* options: check_options.c. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hk_check.h"
#include "hk_purge.h"
#include "hk_stats.h"
#include "hk_stats_snap.h"

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static int a_global[32];

/* One size in each box (default knobs), and the box it lands in through the wrapper entry. */
static hak_box_t wrap_box(size_t s)
{
    return hk_front_decide(s, HK_ENTRY_WRAP).box; /* the path in force (both agree: check_router) */
}

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

/* ---------------------------------------------------------------- calloc */

START_TEST(test_calloc_zeroes_reused_blocks) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {1,      16,          100,     1024,   1500,  4096,
                                   8192,   9000,        32768,   40000,  53248, 70000,
                                   600000, 2 * MiB - 1, 2 * MiB, 3 * MiB};
    int reused = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t s = sizes[i];
        for (int round = 0; round < 3; round++) {
            unsigned char *p = hak_malloc(s);
            ck_assert_ptr_nonnull(p);
            memset(p, 0xab, hak_malloc_usable_size(p));
            hak_free(p);
            /* n * size == s in three different shapes */
            unsigned char *q = round == 0   ? hak_calloc(1, s)
                               : round == 1 ? hak_calloc(s, 1)
                                            : (s % 4 ? hak_calloc(1, s) : hak_calloc(4, s / 4));
            ck_assert_ptr_nonnull(q);
            reused += q == p;
            ck_assert_msg(hak_box_of(q) == wrap_box(s), "calloc(%zu): box %s", s,
                          hak_box_name(hak_box_of(q)));
            ck_assert_msg(is_zero(q, s), "[%s] calloc(%zu) (block %s) not zeroed",
                          hk_check_mode_names[_i], s, q == p ? "reused" : "fresh");
            hak_free(q);
        }
    }
    /* The test is only meaningful if dirty blocks really came back. */
    ck_assert_int_gt(reused, 10);
}
END_TEST

START_TEST(test_calloc_overflow) {
    hk_check_set_mode(_i);
    static const size_t bad[][2] = {
        {SIZE_MAX, 2},           {2, SIZE_MAX},
        {SIZE_MAX / 2 + 1, 2},   {(size_t)1 << 33, (size_t)1 << 33},
        {HK_MAX_REQUEST + 1, 1}, {(size_t)1 << 40, (size_t)1 << 10},
        {SIZE_MAX, SIZE_MAX},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        errno = 0;
        ck_assert_ptr_null(hak_calloc(bad[i][0], bad[i][1]));
        ck_assert_msg(errno == ENOMEM, "calloc(%zu, %zu): errno %d", bad[i][0], bad[i][1], errno);
    }
    /* Zero elements or zero size: a unique freeable pointer, like malloc(0). */
    void *a = hak_calloc(0, 10), *b = hak_calloc(10, 0), *c = hak_calloc(0, SIZE_MAX);
    ck_assert(a && b && c && a != b && b != c && a != c);
    hak_free(a), hak_free(b), hak_free(c);
}
END_TEST

/* ---------------------------------------------------------------- realloc */

START_TEST(test_realloc_null_and_zero) {
    hk_check_set_mode(_i);
    void *p = hak_realloc(NULL, 100); /* malloc */
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
    ck_assert_uint_ge(hak_malloc_usable_size(p), 100);
    void *z = hak_realloc(NULL, 0); /* malloc(0) */
    ck_assert_ptr_nonnull(z);
    ck_assert_ptr_ne(z, p);
    hak_free(z);
    /* size 0: frees and returns NULL (glibc) -- in every box. */
    static const size_t sizes[] = {100, 3000, 20000, 100000, 3 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *q = hak_malloc(sizes[i]);
        ck_assert_int_ne(hak_box_of(q), HAK_BOX_NONE);
        ck_assert_ptr_null(hak_realloc(q, 0));
        ck_assert_msg(hak_box_of(q) == HAK_BOX_NONE, "realloc(%zu B block, 0) did not free it",
                      sizes[i]);
    }
    ck_assert_ptr_null(hak_realloc(p, 0));
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
}
END_TEST

/* tiny -> pool -> mid -> l25 -> mmap -> bigger mmap and back down, contents preserved. */
START_TEST(test_realloc_across_boxes) {
    hk_check_set_mode(_i);
    static const size_t chain[] = {10,      100,     1000,    3000,    8192,    20000,
                                   32768,   40000,   100000,  1 * MiB, 3 * MiB, 9 * MiB,
                                   5 * MiB, 2 * MiB, 1 * MiB, 60000,   45000,   30000,
                                   9000,    5000,    1025,    1024,    200,     1};
    size_t n = sizeof chain / sizeof chain[0];
    size_t cur = chain[0];
    unsigned char *p = hak_malloc(cur);
    ck_assert_ptr_nonnull(p);
    hk_check_stamp(p, cur, 1, 0);
    int boxes_seen = 0;
    for (size_t i = 1; i < n; i++) {
        size_t s = chain[i];
        unsigned char *q = hak_realloc(p, s);
        ck_assert_msg(q != NULL, "realloc(%zu -> %zu) failed", cur, s);
        size_t keep = cur < s ? cur : s;
        size_t bad = hk_check_verify_prefix(q, keep, cur, i, cur > 65536 ? 4096 : 0);
        ck_assert_msg(bad == HK_CHECK_INTACT, "[%s] realloc(%zu -> %zu): byte %zu lost",
                      hk_check_mode_names[_i], cur, s, bad);
        /* A block that still fits (and is not wastefully big) may be kept in place;
         * a moved one lands where a fresh malloc(s) would. */
        if (q != p)
            ck_assert_msg(hak_box_of(q) == wrap_box(s), "realloc(%zu -> %zu): box %s, expected %s",
                          cur, s, hak_box_name(hak_box_of(q)), hak_box_name(wrap_box(s)));
        else
            ck_assert_int_ne(hak_box_of(q), HAK_BOX_NONE);
        ck_assert_uint_ge(hak_malloc_usable_size(q), s);
        if (q != p)
            ck_assert_msg(hak_box_of(p) == HAK_BOX_NONE, "old block %p still live", (void *)p);
        boxes_seen |= 1 << hak_box_of(q);
        hk_check_stamp(q, s, i + 1, s > 65536 ? 4096 : 0);
        p = q;
        cur = s;
    }
    ck_assert_int_eq(boxes_seen, (1 << HAK_BOX_TINY) | (1 << HAK_BOX_POOL) | (1 << HAK_BOX_MID) |
                                     (1 << HAK_BOX_L25) | (1 << HAK_BOX_MMAP));
    hak_free(p);
}
END_TEST

START_TEST(test_realloc_enomem_keeps_block) {
    hk_check_set_mode(_i);
    static const size_t start[] = {100, 5000, 20000, 100000, 3 * MiB};
    for (size_t i = 0; i < sizeof start / sizeof start[0]; i++) {
        unsigned char *p = hak_malloc(start[i]);
        hk_check_stamp(p, start[i], 5, 0);
        errno = 0;
        ck_assert_ptr_null(hak_realloc(p, HK_MAX_REQUEST + 1));
        ck_assert_int_eq(errno, ENOMEM);
        errno = 0;
        ck_assert_ptr_null(hak_realloc(p, SIZE_MAX));
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_int_ne(hak_box_of(p), HAK_BOX_NONE);
        ck_assert(hk_check_verify(p, start[i], 5, 0) == HK_CHECK_INTACT);
        hak_free(p);
    }
}
END_TEST

START_TEST(test_reallocarray) {
    hk_check_set_mode(_i);
    unsigned char *p = hak_reallocarray(NULL, 10, 10); /* malloc(100) */
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge(hak_malloc_usable_size(p), 100);
    hk_check_stamp(p, 100, 3, 0);
    errno = 0;
    ck_assert_ptr_null(hak_reallocarray(p, SIZE_MAX / 2, 3));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(hak_reallocarray(p, (size_t)1 << 32, (size_t)1 << 32));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY); /* still live */
    ck_assert(hk_check_verify(p, 100, 3, 0) == HK_CHECK_INTACT);
    unsigned char *q = hak_reallocarray(p, 1000, 50); /* 50000: pool bridge */
    ck_assert_ptr_nonnull(q);
    ck_assert(hk_check_verify(q, 100, 3, 0) == HK_CHECK_INTACT);
    ck_assert_uint_ge(hak_malloc_usable_size(q), 50000);
    ck_assert_ptr_null(hak_reallocarray(q, 0, 8)); /* size 0: freed */
    ck_assert_int_eq(hak_box_of(q), HAK_BOX_NONE);
}
END_TEST

/* ---------------------------------------------------------------- memalign family */

START_TEST(test_posix_memalign_bad_alignment) {
    hk_check_set_mode(_i);
    static const size_t bad[] = {0,  1,  2,   3,    4,       5,        12,
                                 24, 48, 100, 4097, 3 * MiB, SIZE_MAX, ((size_t)1 << 40) + 16};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *sentinel = (void *)(uintptr_t)0x5a5a5a5a;
        void *out = sentinel;
        int rc = hak_posix_memalign(&out, bad[i], 64);
        ck_assert_msg(rc == EINVAL, "posix_memalign(align %zu) = %d, expected EINVAL", bad[i], rc);
        ck_assert_msg(out == sentinel, "posix_memalign(align %zu) wrote *out", bad[i]);
    }
}
END_TEST

#define NALIGN 18 /* 8 .. 1 MiB */

START_TEST(test_posix_memalign_good) {
    hk_check_set_mode(_i);
    static const size_t sizes[] = {0, 1, 24, 100, 1000, 3000, 9000, 40000, 100000, 600000};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    void *p[NALIGN][NS];
    for (int a = 0; a < NALIGN; a++) {
        size_t align = (size_t)8 << a;
        for (int k = 0; k < NS; k++) {
            size_t s = sizes[k];
            void *out = NULL;
            int rc = hak_posix_memalign(&out, align, s);
            ck_assert_msg(rc == 0 && out != NULL, "posix_memalign(%zu, %zu) = %d", align, s, rc);
            ck_assert_msg(((uintptr_t)out & (align - 1)) == 0, "posix_memalign(%zu, %zu) = %p",
                          align, s, out);
            ck_assert_msg(hak_box_of(out) != HAK_BOX_NONE, "posix_memalign(%zu, %zu): box none",
                          align, s);
            ck_assert_msg(hak_malloc_usable_size(out) >= s, "usable %zu < %zu",
                          hak_malloc_usable_size(out), s);
            hk_check_stamp(out, s, (uintptr_t)(a * 100 + k), s > 65536 ? 1000 : 0);
            p[a][k] = out;
        }
    }
    for (int a = 0; a < NALIGN; a++)
        for (int k = 0; k < NS; k++) {
            size_t s = sizes[k];
            size_t bad = hk_check_verify(p[a][k], s, (uintptr_t)(a * 100 + k),
                                         s > 65536 ? 1000 : 0);
            ck_assert_msg(bad == HK_CHECK_INTACT, "align %zu size %zu: corrupt at %zu",
                          (size_t)8 << a, s, bad);
            hak_free(p[a][k]);
            ck_assert_int_eq(hak_box_of(p[a][k]), HAK_BOX_NONE);
        }
    /* The blocks behind the aligned pointers were really returned: the same requests are
     * served again without corruption. */
    for (int a = 0; a < NALIGN; a++) {
        void *out;
        ck_assert_int_eq(hak_posix_memalign(&out, (size_t)8 << a, 100), 0);
        hk_check_stamp(out, 100, 9, 0);
        ck_assert(hk_check_verify(out, 100, 9, 0) == HK_CHECK_INTACT);
        hak_free(out);
    }
}
END_TEST

/* Big alignments through the mmap box (2 MiB and 4 MiB). */
START_TEST(test_posix_memalign_huge) {
    hk_check_set_mode(_i);
    for (size_t align = 2 * MiB; align <= 8 * MiB; align <<= 1) {
        void *out = NULL;
        ck_assert_int_eq(hak_posix_memalign(&out, align, 100), 0);
        ck_assert_uint_eq((uintptr_t)out & (align - 1), 0);
        ck_assert_int_eq(hak_box_of(out), HAK_BOX_MMAP);
        memset(out, 1, 100);
        hak_free(out);
        ck_assert_int_eq(hak_box_of(out), HAK_BOX_NONE);
    }
}
END_TEST

/* realloc and usable size on pointers handed out by memalign (interior of a block). */
START_TEST(test_memalign_realloc) {
    hk_check_set_mode(_i);
    for (size_t align = 32; align <= 64 * KiB; align <<= 1) {
        unsigned char *p = hak_memalign(align, 40);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p & (align - 1), 0);
        size_t u = hak_malloc_usable_size(p);
        ck_assert_uint_ge(u, 40);
        hk_check_stamp(p, u, align, 0); /* every usable byte is ours */
        ck_assert(hk_check_verify(p, u, align, 0) == HK_CHECK_INTACT);
        unsigned char *q = hak_realloc(p, 5000);
        ck_assert_ptr_nonnull(q);
        ck_assert(hk_check_verify(q, 40, align, 0) == HK_CHECK_INTACT);
        if (q != p)
            ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
        hak_free(q);
    }
}
END_TEST

START_TEST(test_aligned_alloc) {
    hk_check_set_mode(_i);
    errno = 0;
    ck_assert_ptr_null(hak_aligned_alloc(3, 10));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(hak_aligned_alloc(24, 48));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(hak_aligned_alloc(0, 10));
    ck_assert_int_eq(errno, EINVAL);
    for (size_t align = 1; align <= 1 * MiB; align <<= 1) {
        void *p = hak_aligned_alloc(align, 3 * align);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p & (align - 1), 0);
        ck_assert_uint_eq((uintptr_t)p & 15, 0);
        ck_assert_uint_ge(hak_malloc_usable_size(p), 3 * align);
        memset(p, 0x33, 3 * align);
        hak_free(p);
    }
}
END_TEST

START_TEST(test_memalign_non_pow2) {
    hk_check_set_mode(_i);
    static const size_t cases[][2] = {
        /* alignment asked, power of two it rounds up to */
        {24, 32},     {48, 64},     {100, 128},      {1000, 1024},
        {3000, 4096}, {5000, 8192}, {65537, 131072}, {(1 << 20) + 1, 2 << 20},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *p = hak_memalign(cases[i][0], 100);
        ck_assert_ptr_nonnull(p);
        ck_assert_msg(((uintptr_t)p & (cases[i][1] - 1)) == 0,
                      "memalign(%zu) = %p, not %zu-aligned", cases[i][0], p, cases[i][1]);
        ck_assert_int_ne(hak_box_of(p), HAK_BOX_NONE);
        ck_assert_uint_ge(hak_malloc_usable_size(p), 100);
        memset(p, 7, 100);
        hak_free(p);
    }
    /* Alignments up to 16 are plain malloc. */
    for (size_t a = 0; a <= 16; a++) {
        void *p = hak_memalign(a, 10);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p & 15, 0);
        hak_free(p);
    }
    errno = 0;
    ck_assert_ptr_null(hak_memalign(((size_t)1 << 63) + 1, 1));
    ck_assert(errno == EINVAL || errno == ENOMEM);
    errno = 0;
    ck_assert_ptr_null(hak_memalign(64, SIZE_MAX - 100));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(test_valloc_pvalloc) {
    hk_check_set_mode(_i);
    const size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    static const size_t sizes[] = {1, 100, 4096, 5000, 100000, 3 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        void *v = hak_valloc(sizes[i]);
        ck_assert_ptr_nonnull(v);
        ck_assert_msg(((uintptr_t)v & (pg - 1)) == 0, "valloc(%zu) = %p", sizes[i], v);
        ck_assert_uint_ge(hak_malloc_usable_size(v), sizes[i]);
        memset(v, 1, sizes[i]);
        void *w = hak_pvalloc(sizes[i]);
        ck_assert_ptr_nonnull(w);
        ck_assert_uint_eq((uintptr_t)w & (pg - 1), 0);
        size_t rounded = (sizes[i] + pg - 1) / pg * pg;
        ck_assert_msg(hak_malloc_usable_size(w) >= rounded, "pvalloc(%zu): usable %zu < %zu",
                      sizes[i], hak_malloc_usable_size(w), rounded);
        memset(w, 2, rounded);
        hak_free(v);
        hak_free(w);
    }
    void *z = hak_pvalloc(0); /* one page */
    ck_assert_ptr_nonnull(z);
    ck_assert_uint_eq((uintptr_t)z & (pg - 1), 0);
    ck_assert_uint_ge(hak_malloc_usable_size(z), pg);
    memset(z, 3, pg);
    hak_free(z);
    void *z2 = hak_valloc(0);
    ck_assert_ptr_nonnull(z2);
    ck_assert_uint_eq((uintptr_t)z2 & (pg - 1), 0);
    hak_free(z2);
    errno = 0;
    ck_assert_ptr_null(hak_pvalloc(SIZE_MAX));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(hak_valloc(SIZE_MAX - 4096));
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

/* ---------------------------------------------------------------- queries */

START_TEST(test_usable_size) {
    hk_check_set_mode(_i);
    ck_assert_uint_eq(hak_malloc_usable_size(NULL), 0);
    enum { N = 400 };
    void *p[N];
    size_t u[N];
    size_t s = 0;
    int n = 0;
    /* 0, 7, 14 .. 1393, then 5% steps up to 8 MiB */
    for (int i = 0; i < N && s <= 8 * MiB; i++, n++) {
        p[i] = hak_malloc(s);
        ck_assert_ptr_nonnull(p[i]);
        u[i] = hak_malloc_usable_size(p[i]);
        ck_assert_msg(u[i] >= s, "usable(malloc(%zu)) = %zu", s, u[i]);
        /* Every usable byte may be written without touching another block. */
        hk_check_stamp(p[i], u[i], (uintptr_t)i, u[i] > 65536 ? 32768 : 0);
        s = i < 200 ? s + 7 : s + s / 20 + 1;
    }
    ck_assert_int_gt(n, 250);
    for (int i = 0; i < n; i++) {
        ck_assert_msg(hk_check_verify(p[i], u[i], (uintptr_t)i, u[i] > 65536 ? 32768 : 0) ==
                          HK_CHECK_INTACT,
                      "block %d (usable %zu) overwritten", i, u[i]);
        hak_free_sized(p[i], 0); /* the size is ignored */
        ck_assert_int_eq(hak_box_of(p[i]), HAK_BOX_NONE);
    }
}
END_TEST

START_TEST(test_box_names) {
    static const char *const want[HAK_BOX_COUNT] = {"none", "tiny", "pool", "mid", "l25", "mmap"};
    for (int b = 0; b < HAK_BOX_COUNT; b++) {
        const char *n = hak_box_name((hak_box_t)b);
        ck_assert_ptr_nonnull(n);
        ck_assert_str_eq(n, want[b]);
        for (int c = 0; c < b; c++)
            ck_assert_str_ne(n, hak_box_name((hak_box_t)c));
    }
    ck_assert_str_eq(hak_box_name(HAK_BOX_COUNT), "none");
    ck_assert_str_eq(hak_box_name((hak_box_t)99), "none");
    ck_assert_str_eq(hak_box_name((hak_box_t)-1), "none");
}
END_TEST

START_TEST(test_box_of_foreign) {
    hk_check_set_mode(_i);
    int local = 0;
    void *heap = malloc(100); /* glibc's malloc */
    ck_assert_int_eq(hak_box_of(NULL), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of(&local), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of(a_global), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of(heap), HAK_BOX_NONE);
    ck_assert_int_eq(hak_box_of((void *)(uintptr_t)&test_box_names), HAK_BOX_NONE);
    free(heap);
    /* Inside the arena but never carved (its last granule). */
    if (hk_arena_size)
        ck_assert_int_eq(hak_box_of((void *)(hk_arena_base + hk_arena_size - 16)), HAK_BOX_NONE);
    /* Interior, misaligned and freed pointers of real blocks. */
    static const size_t sizes[] = {64, 3000, 20000, 100000, 3 * MiB};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *p = hak_malloc(sizes[i]);
        ck_assert_int_eq(hak_box_of(p), wrap_box(sizes[i]));
        ck_assert_int_eq(hak_box_of(p + 1), HAK_BOX_NONE);
        ck_assert_int_eq(hak_box_of(p + 16), HAK_BOX_NONE);
        ck_assert_int_eq(hak_box_of(p + sizes[i] - 16), HAK_BOX_NONE);
        hak_free(p);
        ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
    }
}
END_TEST

START_TEST(test_free_null_and_sized) {
    hk_check_set_mode(_i);
    hak_free(NULL);
    hak_free_sized(NULL, 10);
    hak_free_aligned_sized(NULL, 64, 10);
    void *p = hak_aligned_alloc(256, 1000);
    ck_assert_int_ne(hak_box_of(p), HAK_BOX_NONE);
    hak_free_aligned_sized(p, 256, 1000);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
    void *q = hak_malloc(70000);
    hak_free_sized(q, 70000);
    ck_assert_int_eq(hak_box_of(q), HAK_BOX_NONE);
}
END_TEST

/* ---------------------------------------------------------------- fail-closed frees */

START_TEST(test_free_stack_dies) {
    int local[8] = {0};
    hk_check_quiet_stderr();
    hak_free(local);
}
END_TEST

START_TEST(test_free_global_dies) {
    hk_check_quiet_stderr();
    hak_free(a_global);
}
END_TEST

START_TEST(test_free_glibc_pointer_dies) {
    void *p = malloc(64);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

START_TEST(test_free_misaligned_dies) {
    char *p = hak_malloc(64);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
    hk_check_quiet_stderr();
    hak_free(p + 1);
}
END_TEST

START_TEST(test_free_interior_dies) {
    char *p = hak_malloc(64);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_TINY);
    hk_check_quiet_stderr();
    hak_free(p + 16);
}
END_TEST

START_TEST(test_free_uncarved_arena_dies) {
    ck_assert_uint_gt(hk_arena_size, 0);
    hk_check_quiet_stderr();
    hak_free((void *)(hk_arena_base + hk_arena_size - 64 * KiB));
}
END_TEST

START_TEST(test_double_free_tiny_dies) {
    void *p = hak_malloc(64);
    hak_free(p);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

/* A double free in a full thread cache (the second free takes the slow path). */
START_TEST(test_double_free_after_many_dies) {
    enum { N = 300 };
    void *p[N];
    for (int i = 0; i < N; i++)
        p[i] = hak_malloc(32);
    for (int i = 0; i < N; i++)
        hak_free(p[i]);
    hk_check_quiet_stderr();
    hak_free(p[N / 2]);
}
END_TEST

static void *free_in_thread(void *p)
{
    hak_free(p);
    return NULL;
}

START_TEST(test_double_free_other_thread_dies) {
    void *p = hak_malloc(64);
    hak_free(p);
    hk_check_quiet_stderr();
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, free_in_thread, p), 0);
    pthread_join(t, NULL);
}
END_TEST

START_TEST(test_double_free_other_thread_first_dies) {
    void *p = hak_malloc(200);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, free_in_thread, p), 0);
    pthread_join(t, NULL);
    hk_check_quiet_stderr();
    hak_free(p);
}
END_TEST

START_TEST(test_realloc_invalid_dies) {
    int local[8] = {0};
    hk_check_quiet_stderr();
    (void)hak_realloc(local, 100);
}
END_TEST

START_TEST(test_realloc_freed_dies) {
    void *p = hak_malloc(3000);
    hak_free(p);
    hk_check_quiet_stderr();
    (void)hak_realloc(p, 5000);
}
END_TEST

START_TEST(test_usable_size_invalid_dies) {
    int local[8] = {0};
    hk_check_quiet_stderr();
    (void)hak_malloc_usable_size(local);
}
END_TEST

/* ---------------------------------------------------------------- trim, mallinfo2, stats */

START_TEST(test_malloc_trim) {
    hk_check_set_mode(_i);
    enum { N = 24 };
    static const size_t sizes[] = {600 * KiB, 40 * KiB, 20 * KiB, 200 * KiB};
    void *p[4][N];
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < N; i++) {
            p[s][i] = hak_malloc(sizes[s]);
            ck_assert_ptr_nonnull(p[s][i]);
            memset(p[s][i], 0xee, sizes[s]);
        }
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < N; i++)
            hak_free(p[s][i]);
    ck_assert_int_eq(hak_malloc_trim(0), 1); /* large free blocks: memory was released */
    ck_assert_int_ge(hak_malloc_trim(1 * MiB), 0);
    /* The trimmed blocks are still on their free lists, intact and reusable. */
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < N; i++) {
            p[s][i] = hak_malloc(sizes[s]);
            ck_assert_ptr_nonnull(p[s][i]);
            ck_assert_int_eq(hak_box_of(p[s][i]), wrap_box(sizes[s]));
            hk_check_stamp(p[s][i], sizes[s], (uintptr_t)(s * N + i), 512);
        }
    for (int s = 0; s < 4; s++)
        for (int i = 0; i < N; i++) {
            ck_assert(hk_check_verify(p[s][i], sizes[s], (uintptr_t)(s * N + i), 512) ==
                      HK_CHECK_INTACT);
            hak_free(p[s][i]);
        }
    ck_assert_int_ge(hak_malloc_trim(0), 0);
}
END_TEST

START_TEST(test_mallinfo2) {
    hk_check_set_mode(_i);
    struct mallinfo2 m0 = hak_mallinfo2();
    ck_assert_uint_le(m0.uordblks, m0.arena);
    ck_assert_uint_eq(m0.fordblks, m0.arena - m0.uordblks);
    void *big[3];
    for (int i = 0; i < 3; i++)
        big[i] = hak_malloc(3 * MiB);
    enum { N = 100 };
    void *small[N];
    for (int i = 0; i < N; i++)
        small[i] = hak_malloc(1000); /* class 1024 */
    struct mallinfo2 m1 = hak_mallinfo2();
    ck_assert_uint_eq(m1.hblks, m0.hblks + 3);
    ck_assert_uint_ge(m1.hblkhd, m0.hblkhd + 9 * MiB);
    ck_assert_uint_eq(m1.uordblks, m0.uordblks + N * 1024);
    ck_assert_uint_le(m1.uordblks, m1.arena);
    ck_assert_uint_eq(m1.fordblks, m1.arena - m1.uordblks);
    hak_free(big[0]);
    struct mallinfo2 m2 = hak_mallinfo2();
    ck_assert_uint_eq(m2.hblks, m0.hblks + 2);
    ck_assert_uint_lt(m2.hblkhd, m1.hblkhd);
    for (int i = 1; i < 3; i++)
        hak_free(big[i]);
    for (int i = 0; i < N; i++)
        hak_free(small[i]);
    struct mallinfo2 m3 = hak_mallinfo2();
    ck_assert_uint_eq(m3.hblks, m0.hblks);
    ck_assert_uint_eq(m3.hblkhd, m0.hblkhd);
    ck_assert_uint_eq(m3.uordblks, m0.uordblks);
}
END_TEST

START_TEST(test_stats_print) {
    hk_check_set_mode(_i);
    void *p = hak_malloc(100), *q = hak_malloc(3 * MiB);
    char path[] = "/tmp/hk_check_statsXXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    hak_stats_print(fd);
    char buf[4096] = {0};
    ck_assert_int_gt(pread(fd, buf, sizeof buf - 1, 0), 0);
    close(fd);
    ck_assert_msg(strstr(buf, "hakmem stats") != NULL, "report: %s", buf);
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++)
        ck_assert_msg(strstr(buf, hak_box_name((hak_box_t)b)) != NULL, "no %s line",
                      hak_box_name((hak_box_t)b));
    hak_free(p);
    hak_free(q);
}
END_TEST

/* ---------------------------------------------------------------- introspection */

/* hak_stats_print_json: one line, the format first, every box; a bad descriptor is -1 with
 * EBADF (the numbers themselves are checked against a workload by tests/stats.sh). */
START_TEST(test_stats_print_json) {
    void *p = hak_malloc(100);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(hak_stats_print_json(fds[1]), 0);
    close(fds[1]);
    static char buf[1 << 16];
    size_t n = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
        n += (size_t)r;
    close(fds[0]);
    buf[n] = '\0';
    ck_assert_msg(strncmp(buf, "{\"format\": \"hakmem-stats/1\"", 27) == 0, "starts: %.60s", buf);
    ck_assert_msg(n > 2 && buf[n - 1] == '\n' && buf[n - 2] == '}', "one object, one line");
    ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++) {
        char key[32];
        snprintf(key, sizeof key, "\"%s\": {", hak_box_name((hak_box_t)b));
        ck_assert_msg(strstr(buf, key) != NULL, "no %s", key);
    }
    errno = 0;
    ck_assert_int_eq(hak_stats_print_json(-1), -1);
    ck_assert_int_eq(errno, EBADF);
    hak_free(p);
}
END_TEST

/* malloc_info: options must be 0, fp not NULL (EINVAL); a write error (a full device, a
 * stream whose descriptor was closed under it) is -1 with the stream's errno. */
START_TEST(test_malloc_info_errors) {
    errno = 0;
    ck_assert_int_eq(hak_malloc_info(1, stdout), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(hak_malloc_info(0, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    FILE *full = fopen("/dev/full", "w");
    if (full) {
        errno = 0;
        ck_assert_int_eq(hak_malloc_info(0, full), -1);
        ck_assert_int_eq(errno, ENOSPC);
        fclose(full);
    }
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    FILE *f = fdopen(fds[1], "w");
    ck_assert_ptr_nonnull(f);
    close(fds[1]); /* the stream's descriptor is gone */
    errno = 0;
    ck_assert_int_eq(hak_malloc_info(0, f), -1);
    ck_assert_int_eq(errno, EBADF);
    fclose(f);
    close(fds[0]);
    /* A good stream gets the whole document. */
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    ck_assert_int_eq(hak_malloc_info(0, m), 0);
    fclose(m);
    ck_assert_msg(strncmp(text, "<malloc version=\"1\" allocator=\"hakmem\"", 38) == 0, "%.60s",
                  text);
    ck_assert_ptr_nonnull(strstr(text, "<heap nr=\"3\" name=\"l25\">"));
    ck_assert_msg(len > 9 && strcmp(text + len - 10, "</malloc>\n") == 0, "ends: %s",
                  text + (len > 40 ? len - 40 : 0));
    free(text);
}
END_TEST

/* mallopt: what has a meaning in hakmem is taken (1), everything else refused (0). */
START_TEST(test_mallopt) {
    long delay0 = hk_purge_delay;
    ck_assert_int_eq(hak_mallopt(M_MXFAST, 64), 0);
    ck_assert_int_eq(hak_mallopt(M_TOP_PAD, 4096), 0);
    ck_assert_int_eq(hak_mallopt(M_MMAP_THRESHOLD, 128 * 1024), 0);
    ck_assert_int_eq(hak_mallopt(M_MMAP_MAX, 0), 0);
    ck_assert_int_eq(hak_mallopt(M_PERTURB, 0xaa), 0);
    ck_assert_int_eq(hak_mallopt(M_ARENA_TEST, 8), 0);
    ck_assert_int_eq(hak_mallopt(12345, 1), 0);
    ck_assert_int_eq(hak_mallopt(M_ARENA_MAX, 1), 1);
    ck_assert_int_eq(hak_mallopt(M_ARENA_MAX, 0), 1);
    ck_assert_int_eq(hak_mallopt(M_ARENA_MAX, -1), 0);
    ck_assert_int_eq(hak_mallopt(M_CHECK_ACTION, 3), 1);
    ck_assert_int_eq(hak_mallopt(M_CHECK_ACTION, 2), 1);
    ck_assert_int_eq(hak_mallopt(M_CHECK_ACTION, 1), 0); /* print but go on: hakmem aborts */
    ck_assert_int_eq(hak_mallopt(M_CHECK_ACTION, 0), 0);
    ck_assert_int_eq(hak_mallopt(HAK_M_PURGE_DELAY_MS, -2), 0);
    ck_assert_int_eq(hak_mallopt(HAK_M_PURGE_DELAY_MS, 3600001), 0);
    ck_assert_int_eq(hk_purge_delay, delay0);
    ck_assert_int_eq(hak_mallopt(HAK_M_PURGE_DELAY_MS, 250), 1);
    ck_assert_int_eq(hk_purge_delay, 250);
    hk_stats_snapshot s;
    ck_assert_int_eq(hak_mallopt(M_TRIM_THRESHOLD, 3 << 20), 1);
    hk_stats_snapshot_take(&s);
    ck_assert_uint_eq(s.purge_delay_ms, 250);
    ck_assert_uint_ge(s.ph.dirty_budget, (size_t)3 << 20);
    ck_assert_uint_lt(s.ph.dirty_budget, (size_t)32 << 20);
    ck_assert_int_eq(hak_mallopt(M_TRIM_THRESHOLD, -1), 1);
    hk_stats_snapshot_take(&s);
    ck_assert_uint_eq(s.ph.dirty_budget, SIZE_MAX);
    /* delay 0 from now on: what is free goes back at once */
    void *p[64];
    for (int i = 0; i < 64; i++)
        p[i] = hak_malloc(512 * KiB);
    for (int i = 0; i < 64; i++)
        hak_free(p[i]);
    hk_stats_snapshot_take(&s);
    uint64_t purged0 = s.ph.purged_bytes;
    ck_assert_int_eq(hak_mallopt(HAK_M_PURGE_DELAY_MS, 0), 1);
    hak_malloc_trim(0); /* the thread's cache and the transfer caches back to the heap */
    hk_stats_snapshot_take(&s);
    ck_assert_uint_gt(s.ph.purged_bytes, purged0);
    ck_assert_uint_eq(s.ph.free_resident, 0);
    ck_assert_int_eq(hak_mallopt(M_TRIM_THRESHOLD, 32 << 20), 1); /* the defaults again */
    ck_assert_int_eq(hak_mallopt(HAK_M_PURGE_DELAY_MS, (int)delay0), 1);
}
END_TEST

/* mallinfo's int fields saturate where mallinfo2's size_t fields do not. */
START_TEST(test_mallinfo_saturates) {
    void *big = hak_malloc((size_t)3 << 30); /* mapped, never touched but its header page */
    ck_assert_ptr_nonnull(big);
    struct mallinfo2 m2 = hak_mallinfo2();
    struct mallinfo m = hak_mallinfo();
    ck_assert_uint_ge(m2.hblkhd, (size_t)3 << 30);
    ck_assert_int_eq(m.hblkhd, INT_MAX);
    ck_assert_int_eq(m.hblks, (int)m2.hblks);
    ck_assert_int_eq(m.uordblks, (int)m2.uordblks);
    hak_free(big);
    m = hak_mallinfo();
    m2 = hak_mallinfo2();
    ck_assert_int_eq(m.hblkhd, (int)m2.hblkhd);
    ck_assert_uint_lt(m2.hblkhd, (size_t)3 << 30);
}
END_TEST

/* ---------------------------------------------------------------- fork */

typedef struct {
    pthread_barrier_t *bar;
    void *blocks[10];
} holder_arg;

static void *holder(void *v)
{
    holder_arg *h = v;
    for (int i = 0; i < 10; i++)
        h->blocks[i] = hak_malloc(1000); /* class 1024: the refill leaves the rest cached */
    pthread_barrier_wait(h->bar);        /* allocated */
    pthread_barrier_wait(h->bar);        /* the test forked */
    for (int i = 0; i < 10; i++)
        hak_free(h->blocks[i]);
    return NULL;
}

/* fork() while another thread holds a cache: in the child only the forking thread lives on.
 * The statistics must not change across fork (no allocation or free happened), and the
 * allocator keeps working in the child, including frees of the vanished thread's blocks. */
START_TEST(test_fork_with_thread_cache) {
    hk_check_set_mode(_i);
    const unsigned cls = HK_CLS_TINY0 + 19; /* 1024 B */
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, 2);
    holder_arg h = {&bar, {0}};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, holder, &h), 0);
    pthread_barrier_wait(&bar);
    void *mine[100];
    for (int i = 0; i < 100; i++)
        mine[i] = hak_malloc(1000);
    uint64_t a0, f0;
    hk_slab_class_counts(cls, &a0, &f0);
    struct mallinfo2 m0 = hak_mallinfo2();
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int rc = 0;
        uint64_t a1, f1;
        hk_slab_class_counts(cls, &a1, &f1);
        if (a1 != a0)
            rc |= 1;
        if (f1 != f0)
            rc |= 2;
        if (hak_mallinfo2().uordblks != m0.uordblks)
            rc |= 4;
        for (int i = 0; i < 1000; i++) {
            void *p = hak_malloc((size_t)(i % 1025));
            if (!p || hak_box_of(p) != HAK_BOX_TINY)
                rc |= 8;
            hak_free(p);
        }
        for (int i = 0; i < 10; i++)
            hak_free(h.blocks[i]);
        for (int i = 0; i < 100; i++)
            hak_free(mine[i]);
        _exit(rc);
    }
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    pthread_barrier_wait(&bar);
    pthread_join(t, NULL);
    pthread_barrier_destroy(&bar);
    for (int i = 0; i < 100; i++)
        hak_free(mine[i]);
    ck_assert_msg(WIFEXITED(status), "child died (status 0x%x)", (unsigned)status);
    int rc = WEXITSTATUS(status);
    ck_assert_msg(!(rc & 1), "child: allocation count of the 1024 B class changed across fork");
    ck_assert_msg(!(rc & 2),
                  "child: free count of the 1024 B class changed across fork (no free happened): "
                  "the vanished thread's cached blocks were counted as frees");
    ck_assert_msg(!(rc & 4), "child: mallinfo2().uordblks changed across fork");
    ck_assert_msg(!(rc & 8), "child: allocations failed or left the Tiny box");
}
END_TEST

/* A memalign whose block falls back to the mmap box (no pages) is still aligned. */
START_TEST(test_memalign_fallback_aligned) {
    hk_check_set_mode(_i);
    hk_slab_inject_page_failures(1000000);
    void *p = hak_memalign(64 * KiB, 100); /* 64 KiB + 100: L25, which has no page yet */
    void *out = NULL;
    int rc = hak_posix_memalign(&out, 16 * KiB, 5000); /* Mid, no page yet either */
    hk_slab_inject_page_failures(0);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p & (64 * KiB - 1), 0);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_MMAP);
    ck_assert_int_eq(rc, 0);
    ck_assert_uint_eq((uintptr_t)out & (16 * KiB - 1), 0);
    ck_assert_int_eq(hak_box_of(out), HAK_BOX_MMAP);
    ck_assert_uint_ge(hak_malloc_usable_size(p), 100);
    memset(p, 1, 100);
    memset(out, 2, 5000);
    hak_free(p);
    hak_free(out);
    ck_assert_int_eq(hak_box_of(p), HAK_BOX_NONE);
}
END_TEST

Suite *make_api_suite(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("calloc-realloc");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_calloc_zeroes_reused_blocks, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_calloc_overflow, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_realloc_null_and_zero, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_realloc_across_boxes, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_realloc_enomem_keeps_block, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_reallocarray, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    tc = tcase_create("memalign");
    tcase_set_timeout(tc, 20);
    tcase_add_loop_test(tc, test_posix_memalign_bad_alignment, HK_CHECK_MODE_FIRST,
                        HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_posix_memalign_good, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_posix_memalign_huge, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_memalign_realloc, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_aligned_alloc, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_memalign_non_pow2, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_valloc_pvalloc, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    tc = tcase_create("queries");
    tcase_add_loop_test(tc, test_usable_size, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_test(tc, test_box_names);
    tcase_add_loop_test(tc, test_box_of_foreign, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_free_null_and_sized, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_malloc_trim, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_mallinfo2, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_stats_print, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_fork_with_thread_cache, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    tcase_add_loop_test(tc, test_memalign_fallback_aligned, HK_CHECK_MODE_FIRST, HK_CHECK_MODE_END);
    suite_add_tcase(s, tc);

    tc = tcase_create("introspection");
    tcase_add_test(tc, test_stats_print_json);
    tcase_add_test(tc, test_malloc_info_errors);
    tcase_add_test(tc, test_mallopt);
    tcase_add_test(tc, test_mallinfo_saturates);
    suite_add_tcase(s, tc);

    tc = tcase_create("fail-closed");
    tcase_add_test_raise_signal(tc, test_free_stack_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_free_global_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_free_glibc_pointer_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_free_misaligned_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_free_interior_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_free_uncarved_arena_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_double_free_tiny_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_double_free_after_many_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_double_free_other_thread_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_double_free_other_thread_first_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_realloc_invalid_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_realloc_freed_dies, SIGABRT);
    tcase_add_test_raise_signal(tc, test_usable_size_invalid_dies, SIGABRT);
    suite_add_tcase(s, tc);

    return s;
}
