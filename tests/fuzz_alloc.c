/* fuzz_alloc.c: libFuzzer target for hakmem's allocation API.
 *
 * The input is a program: its first byte picks the routing configuration (legacy path,
 * Central Router with the built-in table or one of a few alternative tables, differential
 * mode, A/A mode, staged rollout; the ACE_ENABLED and WRAP_L2 knobs), every further byte
 * group is one operation on an array of NSLOTS slots:
 *   allocate (hak_malloc, hak_alloc_at, hak_calloc, hak_memalign, hak_posix_memalign,
 *   hak_aligned_alloc, hak_valloc, hak_pvalloc, hak_realloc(NULL, n), hak_reallocarray(NULL,..))
 *   with sizes spanning every box (0 .. 1 KiB Tiny, Pool, Mid, the Bridge classes, L25, the
 *   mmap box up to 6 MiB, and every boundary), realloc / reallocarray, free (hak_free,
 *   hak_free_sized, hak_free_aligned_sized, hak_realloc(p, 0)), usable size (and writing the
 *   whole usable tail), a free or an allocation in another thread, the documented error
 *   returns (overflow, bad alignment, > 64 TiB), trim and mallinfo2, a path flip.
 * Every block's contents are stamped at allocation and verified before each realloc (the
 * kept prefix after it) and free, so a block handed out twice, an overlap or a usable size
 * that reaches into a neighbour shows up as a corrupted stamp. Checked too: 16-byte (and the
 * requested) alignment, calloc zeroing, hak_box_of against the path's decision (or the mmap
 * fallback), errno on every failure. Invalid pointers are never passed (hakmem aborts on
 * those by design).
 *
 * Built by tools/reliability.sh (fuzz step) with clang -fsanitize=fuzzer,address,undefined
 * against the core sources. HK_FUZZ_WRITE_SEEDS=DIR writes a small seed corpus and exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "hk_compare.h"
#include "hakmem_migration.h"
#include "hk_front.h"
#include "hk_init.h"
#include "hk_options.h"
#include "hk_table.h"

#define HK_CHECK_INTACT ((size_t)-1)

#define NSLOTS 32
#define FULL_STAMP_MAX ((size_t)64 << 10) /* blocks up to this are stamped entirely */
#define STRIDE 4096                       /* larger ones: ends plus 8 bytes per 4 KiB */
#define MAX_OPS 256

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "fuzz_alloc: " __VA_ARGS__);                                               \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

typedef struct {
    uint8_t *p;
    size_t size;   /* requested bytes (all stamped) */
    uintptr_t tag; /* stamp tag */
    size_t align;  /* requested alignment (16: none) */
} slot_t;

static slot_t slots[NSLOTS];
static uintptr_t next_tag = 1;
static bool expect_boxes; /* the configuration has a known decision (no diff/rollout) */

/* ---------------------------------------------------------------- input reader */

typedef struct {
    const uint8_t *d;
    size_t n, i;
} reader;

static uint8_t rd8(reader *r) { return r->i < r->n ? r->d[r->i++] : 0; }
static uint32_t rd24(reader *r)
{
    uint32_t v = rd8(r);
    v |= (uint32_t)rd8(r) << 8;
    return v | (uint32_t)rd8(r) << 16;
}

static const size_t boundaries[] = {
    0,     1,     15,    16,    17,    127,    128,     129,     1023,    1024,    1025,    2048,
    4096,  8191,  8192,  8193,  10240, 16384,  32767,   32768,   32769,   40960,   40961,   53247,
    53248, 53249, 65535, 65536, 65537, 131072, 1048576, 2097151, 2097152, 2097153, 4194304, 4194305,
};

/* A size in one of the boxes' ranges (every box, tiny to 6 MiB). */
static size_t rd_size(reader *r)
{
    uint8_t k = rd8(r);
    uint32_t v = rd24(r);
    switch (k % 9) {
    case 0: return v % 1025;                         /* Tiny */
    case 1: return 1025 + v % (8192 - 1024);         /* Pool (ACE low classes) */
    case 2: return 8193 + v % (32768 - 8192);        /* Mid */
    case 3: return 32769 + v % (53248 - 32768);      /* Pool Bridge classes */
    case 4: return 53249 + v % (2097151 - 53248);    /* L25 */
    case 5: return 2097152 + (size_t)v % (4u << 20); /* mmap box, 2 .. 6 MiB */
    case 6: return boundaries[v % (sizeof boundaries / sizeof *boundaries)];
    case 7: return v % 257;     /* small */
    default: return v % 100000; /* anything below 100 KB */
    }
}

/* ---------------------------------------------------------------- stamps
 *
 * The stamp is hk_check.h's pattern idea, word at a time, and compiled without the fuzzer's
 * coverage instrumentation: stamping megabytes is the harness's work, not a branch to
 * explore. Blocks up to FULL_STAMP_MAX are stamped entirely; larger ones in the first and
 * last 4 KiB and one word every STRIDE bytes. */
#if defined(__clang__)
#define HK_NO_COVERAGE __attribute__((no_sanitize("coverage"), noinline))
#else
#define HK_NO_COVERAGE __attribute__((noinline))
#endif

static inline uint64_t pat64(uintptr_t tag, size_t i)
{
    uint64_t x = (uint64_t)tag * 0x9E3779B97F4A7C15ULL ^ (uint64_t)i * 0xBF58476D1CE4E5B9ULL;
    return x ^ x >> 31;
}

/* The word after word i among the stamped words of a block of n bytes (nw words): every
 * word, or the first and last 512 words and one every STRIDE bytes between them. */
static inline size_t next_word(size_t i, size_t n, size_t nw)
{
    if (n <= FULL_STAMP_MAX || i < 512 || i + 512 >= nw)
        return i + 1;
    return i + STRIDE / 8 < nw - 512 ? i + STRIDE / 8 : nw - 512;
}

HK_NO_COVERAGE static void stamp_bytes(uint8_t *p, size_t n, uintptr_t tag)
{
    size_t nw = n / 8;
    for (size_t i = 0; i < nw; i = next_word(i, n, nw)) {
        uint64_t v = pat64(tag, i);
        memcpy(p + 8 * i, &v, 8);
    }
    for (size_t i = n & ~(size_t)7; i < n; i++) /* the tail bytes */
        p[i] = (uint8_t)(pat64(tag, i) >> 56);
}

/* Offset of the first byte in [0, keep) that differs from a stamp of n bytes, or
 * HK_CHECK_INTACT. */
HK_NO_COVERAGE static size_t verify_bytes(const uint8_t *p, size_t keep, size_t n, uintptr_t tag)
{
    size_t nw = n / 8;
    for (size_t i = 0; i < nw && 8 * i + 8 <= keep; i = next_word(i, n, nw)) {
        uint64_t v = pat64(tag, i), w;
        memcpy(&w, p + 8 * i, 8);
        if (v != w)
            return 8 * i + (size_t)__builtin_ctzll(v ^ w) / 8;
    }
    for (size_t i = n & ~(size_t)7; i < n && i < keep; i++)
        if (p[i] != (uint8_t)(pat64(tag, i) >> 56))
            return i;
    return HK_CHECK_INTACT;
}

static void stamp(slot_t *s)
{
    s->tag = next_tag++;
    stamp_bytes(s->p, s->size, s->tag);
}

static void verify(const slot_t *s, const char *when)
{
    size_t bad = verify_bytes(s->p, s->size, s->size, s->tag);
    if (bad != HK_CHECK_INTACT)
        FAIL("%s: block %p of %zu bytes (%s box) corrupted at offset %zu", when, (void *)s->p,
             s->size, hak_box_name(hak_box_of(s->p)), bad);
}

HK_NO_COVERAGE static void check_zero(const uint8_t *p, size_t n)
{
    if (n <= FULL_STAMP_MAX) {
        for (size_t i = 0; i < n; i++)
            if (p[i])
                FAIL("calloc(%zu): byte %zu is %#x", n, i, p[i]);
        return;
    }
    for (size_t i = 0; i < n; i += (i < 4096 || i + 4096 >= n) ? 1 : 509)
        if (p[i])
            FAIL("calloc(%zu): byte %zu is %#x", n, i, p[i]);
}

/* ---------------------------------------------------------------- checks on a new block */

static hk_entry_t last_entry;

static void check_new(void *p, size_t size, size_t align, const char *how)
{
    if (((uintptr_t)p & (HK_MIN_ALIGN - 1)) != 0)
        FAIL("%s(%zu): %p is not 16-byte aligned", how, size, p);
    if (align > HK_MIN_ALIGN && ((uintptr_t)p & (align - 1)) != 0)
        FAIL("%s(%zu, align %zu): %p is misaligned", how, size, align, p);
    hak_box_t b = hak_box_of(p);
    if (b == HAK_BOX_NONE)
        FAIL("%s(%zu): hak_box_of(%p) is none for a live block", how, size, p);
    size_t u = hak_malloc_usable_size(p);
    if (u < size)
        FAIL("%s(%zu): usable size %zu (%s box)", how, size, u, hak_box_name(b));
    if (expect_boxes && align <= HK_MIN_ALIGN) {
        hak_knobs_t k = hak_knobs();
        hak_decision_t d = hk_central_active ? hak_router_decide(size, last_entry, k)
                                             : hak_legacy_decide(size, last_entry, k);
        if (b != d.box && b != HAK_BOX_MMAP) /* mmap: the documented fallback */
            FAIL("%s(%zu): served by %s, the %s path decided %s", how, size, hak_box_name(b),
                 hk_central_active ? "central" : "legacy", hak_box_name(d.box));
    }
}

static void put(slot_t *s, void *p, size_t size, size_t align, const char *how)
{
    check_new(p, size, align, how);
    s->p = p;
    s->size = size;
    s->align = align;
    stamp(s);
}

static void release(slot_t *s, int how)
{
    verify(s, "free");
    switch (how & 3) {
    case 0: hak_free(s->p); break;
    case 1: hak_free_sized(s->p, s->size); break;
    case 2: hak_free_aligned_sized(s->p, s->align, s->size); break;
    default:
        errno = 0;
        if (hak_realloc(s->p, 0) != NULL) /* glibc: frees, returns NULL */
            FAIL("realloc(p, 0) did not return NULL");
        break;
    }
    s->p = NULL;
}

/* ---------------------------------------------------------------- operations */

static void op_alloc(reader *r, slot_t *s)
{
    if (s->p)
        release(s, rd8(r));
    uint8_t how = rd8(r);
    size_t size = rd_size(r);
    size_t align = (size_t)1 << (4 + rd8(r) % 17); /* 16 B .. 1 MiB */
    void *p = NULL;
    const char *name = "?";
    errno = 0;
    last_entry = HK_ENTRY_WRAP;
    switch (how % 11) {
    case 0:
        name = "hak_malloc";
        p = hak_malloc(size);
        align = 16;
        break;
    case 1:
        name = "hak_alloc_at";
        last_entry = HK_ENTRY_API;
        p = hak_alloc_at(size, (hak_callsite_t)rd24(r) * 4096u + 0x400000u);
        align = 16;
        break;
    case 2: {
        name = "hak_calloc";
        size_t n = 1 + rd8(r) % 8, each = size / n;
        size = n * each;
        p = hak_calloc(n, each);
        if (p)
            check_zero(p, size);
        align = 16;
        break;
    }
    case 3:
        name = "hak_memalign";
        p = hak_memalign(align, size);
        break;
    case 4: {
        name = "hak_posix_memalign";
        void *out = (void *)1;
        int rc = hak_posix_memalign(&out, align, size);
        if (rc != 0)
            FAIL("posix_memalign(%zu, %zu) = %d", align, size, rc);
        p = out;
        break;
    }
    case 5:
        name = "hak_aligned_alloc";
        p = hak_aligned_alloc(align, size);
        break;
    case 6:
        name = "hak_valloc";
        p = hak_valloc(size);
        align = 4096;
        break;
    case 7: {
        name = "hak_pvalloc";
        p = hak_pvalloc(size);
        size = size ? (size + 4095) & ~(size_t)4095 : 4096; /* pvalloc's usable promise */
        align = 4096;
        break;
    }
    case 8:
        name = "hak_realloc(NULL)";
        p = hak_realloc(NULL, size);
        align = 16;
        break;
    case 9: {
        name = "hak_reallocarray(NULL)";
        size_t n = 1 + rd8(r) % 4;
        size = size / n * n;
        p = hak_reallocarray(NULL, n, size / n);
        align = 16;
        break;
    }
    default: {
        /* memalign with an alignment that is not a power of two: rounded up. */
        name = "hak_memalign(non-pow2)";
        size_t a = align + 1 + rd8(r) % (align - 1);
        p = hak_memalign(a, size);
        align = align * 2;
        break;
    }
    }
    if (!p)
        FAIL("%s(%zu, align %zu) returned NULL (errno %d)", name, size, align, errno);
    put(s, p, size, align, name);
}

static void op_realloc(reader *r, slot_t *s)
{
    if (!s->p)
        return;
    verify(s, "realloc (before)");
    uint8_t how = rd8(r);
    size_t size = rd_size(r);
    if (size == 0)
        size = 1; /* realloc(p, 0) is a free: op_free covers it */
    size_t keep = s->size < size ? s->size : size;
    void *q;
    errno = 0;
    if (how & 1) {
        size_t n = 1 + (how >> 1) % 4;
        size = size / n * n;
        if (size == 0)
            size = n;
        keep = s->size < size ? s->size : size;
        q = hak_reallocarray(s->p, n, size / n);
    } else {
        q = hak_realloc(s->p, size);
    }
    if (!q)
        FAIL("realloc(%p, %zu) returned NULL (errno %d)", (void *)s->p, size, errno);
    size_t bad = verify_bytes(q, keep, s->size, s->tag);
    if (bad != HK_CHECK_INTACT)
        FAIL("realloc(%zu -> %zu): byte %zu of the kept prefix lost (%s box)", s->size, size, bad,
             hak_box_name(hak_box_of(q)));
    last_entry = HK_ENTRY_WRAP;
    s->p = q;
    s->size = size;
    s->align = 16;
    if (((uintptr_t)q & 15) != 0 || hak_box_of(q) == HAK_BOX_NONE ||
        hak_malloc_usable_size(q) < size)
        FAIL("realloc(%zu): bad block %p (box %s, usable %zu)", size, q,
             hak_box_name(hak_box_of(q)), hak_malloc_usable_size(q));
    stamp(s);
}

/* The usable size, and every usable byte writable without touching another block. */
static void op_usable(slot_t *s)
{
    if (!s->p)
        return;
    size_t u = hak_malloc_usable_size(s->p);
    if (u < s->size)
        FAIL("usable size %zu < %zu", u, s->size);
    size_t tail = u - s->size;
    /* Generous: a class block (up to 2 MiB: a table may send any size to the L25 box), an
     * aligned block's slack, or a reused mmap region: the mmap box's cache hands out a region
     * with its whole mapping (up to its largest region, 16 MiB: a table may send any size
     * there), its pages past twice the request given back. */
    size_t cap = hak_box_of(s->p) == HAK_BOX_MMAP ? (size_t)16 << 20 : (size_t)2 << 20;
    if (u > 2 * (s->size + s->align + 8192) && u > cap + 2 * s->align)
        FAIL("usable size %zu for a block of %zu bytes (align %zu)", u, s->size, s->align);
    memset(s->p + s->size, 0xee, tail); /* the tail is the caller's (malloc_usable_size(3)) */
    verify(s, "usable tail write");
}

typedef struct {
    void *p;
    size_t size;
} thread_job;

static void *thread_free(void *arg)
{
    hak_free(((thread_job *)arg)->p);
    return NULL;
}

static void *thread_alloc(void *arg)
{
    thread_job *j = arg;
    j->p = hak_malloc(j->size);
    /* Some churn in this thread's cache before it exits (its cache is flushed at exit). */
    for (int i = 0; i < 8; i++)
        hak_free(hak_malloc(j->size / (i + 1)));
    return NULL;
}

static void op_thread(reader *r, slot_t *s)
{
    pthread_t th;
    thread_job j = {NULL, 0};
    if (s->p && (rd8(r) & 1)) {
        verify(s, "remote free");
        j.p = s->p;
        s->p = NULL;
        if (pthread_create(&th, NULL, thread_free, &j) != 0)
            FAIL("pthread_create");
        pthread_join(th, NULL);
        return;
    }
    if (s->p)
        release(s, 0);
    j.size = rd_size(r);
    if (pthread_create(&th, NULL, thread_alloc, &j) != 0)
        FAIL("pthread_create");
    pthread_join(th, NULL);
    if (!j.p)
        FAIL("hak_malloc(%zu) in a thread returned NULL", j.size);
    bool saved = expect_boxes;
    expect_boxes = false; /* the thread's routing is the same, but keep the check simple */
    put(s, j.p, j.size, 16, "thread hak_malloc");
    expect_boxes = saved;
}

/* The documented failures: NULL/error code, errno, the block untouched. */
static void op_errors(reader *r, slot_t *s)
{
    uint8_t how = rd8(r);
    void *p;
    size_t huge = ((size_t)1 << 46) + 1 + rd24(r);
    switch (how % 6) {
    case 0:
        errno = 0;
        if ((p = hak_calloc(SIZE_MAX / 2 + 1 + rd8(r), 2)) != NULL || errno != ENOMEM)
            FAIL("calloc overflow: %p errno %d", p, errno);
        break;
    case 1:
        errno = 0;
        if ((p = hak_malloc(huge)) != NULL || errno != ENOMEM)
            FAIL("malloc(%zu): %p errno %d", huge, p, errno);
        break;
    case 2: {
        void *out = (void *)0x1234;
        size_t a = rd8(r) % 2 ? 24 + 8 * (rd8(r) % 8) : rd8(r) % 8;
        if (a == 8 || a == 16 || a == 32 || a == 64)
            a = 3;
        if (hak_posix_memalign(&out, a, 100) != EINVAL || out != (void *)0x1234)
            FAIL("posix_memalign(align %zu): not EINVAL, or *out changed", a);
        break;
    }
    case 3:
        errno = 0;
        if ((p = hak_aligned_alloc(48, 100)) != NULL || errno != EINVAL)
            FAIL("aligned_alloc(48): %p errno %d", p, errno);
        break;
    case 4:
        if (!s->p)
            break;
        errno = 0;
        if ((p = hak_realloc(s->p, huge)) != NULL || errno != ENOMEM)
            FAIL("realloc(p, %zu): %p errno %d", huge, p, errno);
        verify(s, "failed realloc");
        break;
    default:
        if (!s->p)
            break;
        errno = 0;
        if ((p = hak_reallocarray(s->p, SIZE_MAX / 4, 8)) != NULL || errno != ENOMEM)
            FAIL("reallocarray overflow: %p errno %d", p, errno);
        verify(s, "failed reallocarray");
        break;
    }
}

/* ---------------------------------------------------------------- configurations */

/* Alternative routing tables (valid ones: every box given sizes it has classes for). */
static const char *const alt_tables[] = {
    "0 32768 mid\n32769 18446744073709551615 mmap\n",
    "0 53248 pool ace\n53249 2097152 l25 ace\n2097153 18446744073709551615 mmap\n",
    "0 2097152 l25\n2097153 18446744073709551615 mmap\n",
    ("0 16 tiny\n17 8192 pool\n8193 32768 mid\n32769 53248 pool\n53249 65536 l25\n"
     "65537 18446744073709551615 mmap\n"),
    "0 18446744073709551615 mmap\n",
};
#define NALT (sizeof alt_tables / sizeof *alt_tables)
static hk_table alt[NALT];

static void configure(uint8_t c)
{
    hk_option_set(HK_OPT_ACE_ENABLED, (c & 1) ? 0 : 1);
    hk_option_set(HK_OPT_WRAP_L2, (c & 2) ? 0 : 1);
    hk_option_set(HK_OPT_ROUTER_DIFF, 0);
    hk_option_set(HK_OPT_ROUTER_DIFF_SAMPLE, 1);
    hk_option_set(HK_OPT_ROUTER_ROLLOUT, -1);
    hk_option_set(HK_OPT_ROUTER_ROLLBACK, 0);
    hk_router_use_table(NULL);
    expect_boxes = true;
    unsigned mode = (c >> 2) % 12;
    switch (mode) {
    case 0: hk_set_central(false); break;
    case 1: hk_set_central(true); break;
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
        hk_set_central(true);
        hk_router_use_table(&alt[mode - 2]);
        break;
    case 7: /* differential mode, the legacy path executing */
        hk_set_central(false);
        hk_option_set(HK_OPT_ROUTER_DIFF, 1);
        break;
    case 8: /* differential mode, central executing, with an odd table and a rollback */
        hk_set_central(true);
        hk_router_use_table(&alt[(c >> 6) % NALT]);
        hk_option_set(HK_OPT_ROUTER_DIFF, 1);
        hk_option_set(HK_OPT_ROUTER_DIFF_SAMPLE, 1 + (c >> 6));
        hk_option_set(HK_OPT_ROUTER_ROLLBACK, 1 + (c >> 6));
        break;
    case 9: /* A/A */
        hk_set_central(false);
        hk_option_set(HK_OPT_ROUTER_DIFF, 2);
        break;
    default: /* staged rollout */
        hk_set_central(false);
        hk_option_set(HK_OPT_ROUTER_ROLLOUT, (c >> 6) * 33);
        break;
    }
    hk_set_compare(hk_compare_init());
    if (hk_compare_active) {
        expect_boxes = false;
        hk_divergence_reset();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size, 0};
    configure(rd8(&r));
    for (int n = 0; n < MAX_OPS && r.i < r.n; n++) {
        uint8_t op = rd8(&r);
        slot_t *s = &slots[rd8(&r) % NSLOTS];
        switch (op % 16) {
        case 0:
        case 1:
        case 2:
        case 3:
        case 14:
        case 15: op_alloc(&r, s); break;
        case 4:
        case 5: op_realloc(&r, s); break;
        case 6:
        case 7:
            if (s->p)
                release(s, rd8(&r));
            break;
        case 8: op_usable(s); break;
        case 9: op_thread(&r, s); break;
        case 10:
        case 11: op_errors(&r, s); break;
        case 12: {
            uint8_t k = rd8(&r);
            if (k & 1)
                (void)hak_malloc_trim(0);
            else {
                struct mallinfo2 mi = hak_mallinfo2();
                (void)mi;
            }
            break;
        }
        default: /* flip the routing path with blocks live (frees never depend on it) */
            hk_set_central(!hk_central_active);
            if (hk_router_table != &hk_table_builtin && !hk_central_active)
                hk_router_use_table(NULL);
            break;
        }
    }
    /* Every block must still carry its stamp; then give everything back. */
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].p)
            verify(&slots[i], "end of input");
    for (int i = 0; i < NSLOTS; i++)
        if (slots[i].p)
            release(&slots[i], i);
    return 0;
}

/* ---------------------------------------------------------------- init and seeds */

static void write_seed(const char *dir, const char *name, const uint8_t *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hk_init();
    for (size_t i = 0; i < NALT; i++) {
        char err[256];
        if (!hk_table_parse(alt_tables[i], strlen(alt_tables[i]), &alt[i], err, sizeof err))
            FAIL("alternative table %zu: %s", i, err);
    }
    const char *dir = getenv("HK_FUZZ_WRITE_SEEDS");
    if (!dir || !*dir)
        return 0;
    /* For every configuration: allocate in every size range with every function, realloc
     * across boxes, usable size, a remote free, errors, then free. */
    for (unsigned cfg = 0; cfg < 48; cfg += 1) {
        uint8_t b[4096];
        size_t n = 0;
        b[n++] = (uint8_t)(cfg << 2 | (cfg % 4));
        for (unsigned i = 0; i < 24; i++) {
            /* op_alloc: op, slot, (free-how), how, size kind + 3 bytes, align */
            b[n++] = 0;
            b[n++] = (uint8_t)i;
            b[n++] = (uint8_t)(i + cfg); /* how */
            b[n++] = (uint8_t)(i % 9);   /* size kind */
            b[n++] = (uint8_t)(i * 37);
            b[n++] = (uint8_t)(i * 11 + cfg);
            b[n++] = (uint8_t)(i / 3);
            b[n++] = (uint8_t)(i % 17); /* align */
            b[n++] = 3;                 /* extra byte some variants read */
        }
        for (unsigned i = 0; i < 24; i += 3) {
            b[n++] = 4; /* realloc */
            b[n++] = (uint8_t)i;
            b[n++] = (uint8_t)i;
            b[n++] = (uint8_t)((i + 4) % 9);
            b[n++] = 0x55;
            b[n++] = 0x12;
            b[n++] = 0x01;
            b[n++] = 8; /* usable */
            b[n++] = (uint8_t)(i + 1);
            b[n++] = 9; /* thread */
            b[n++] = (uint8_t)(i + 2);
            b[n++] = (uint8_t)i;
            b[n++] = 10; /* errors */
            b[n++] = (uint8_t)(i + 1);
            b[n++] = (uint8_t)i;
            b[n++] = 0;
            b[n++] = 0;
            b[n++] = 0;
            b[n++] = 0;
        }
        b[n++] = 12;
        b[n++] = 0;
        b[n++] = 1;
        b[n++] = 13; /* path flip */
        b[n++] = 0;
        for (unsigned i = 0; i < 24; i += 2) {
            b[n++] = 6;
            b[n++] = (uint8_t)i;
            b[n++] = (uint8_t)i;
        }
        char name[32];
        snprintf(name, sizeof name, "seed-%02u", cfg);
        write_seed(dir, name, b, n);
    }
    exit(0);
}
