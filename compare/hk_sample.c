/* hk_sample.c: sampling, keys seen and the threads' slots (see hk_sample.h). */
#define _GNU_SOURCE
#include "hk_sample.h"

#include <pthread.h>
#include <string.h>

#include "hk_legacy.h"
#include "hk_fileio.h"
#include "hk_router_inline.h"
#include "hk_site.h"
#include "hk_tiny.h"

HK_TLS hk_diff_thread hk_dt;
uint64_t hk_diff_sample = 1;
hk_sizekey hk_keys;
uint8_t hk_diff_fast[2][2][HK_DIFF_FAST_ROW];
uint8_t hk_diff_seen_block[2][HK_DIFF_BLOCKS];
static double scale; /* 1 / ln(1 - 1/N) */
static pthread_key_t exit_key;
static bool exit_key_ok;

double hk_ln(double x)
{
    uint64_t b;
    memcpy(&b, &x, sizeof b);
    int e = (int)((b >> 52) & 0x7ff) - 1023;
    b = (b & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    double m;
    memcpy(&m, &b, sizeof m); /* x = m * 2^e, 1 <= m < 2 */
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double s = (m - 1) / (m + 1), s2 = s * s; /* |s| < 0.172: the series converges fast */
    double t = s2 / 15, r;
    r = s2 * (1.0 / 13 + t);
    r = s2 * (1.0 / 11 + r);
    r = s2 * (1.0 / 9 + r);
    r = s2 * (1.0 / 7 + r);
    r = s2 * (1.0 / 5 + r);
    r = s2 * (1.0 / 3 + r);
    return e * 0.6931471805599453 + 2 * s * (1 + r);
}

int64_t hk_sample_next(hk_diff_thread *t)
{
    if (hk_diff_sample <= 1)
        return 0;
    uint64_t x = t->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    t->rng = x;
    double u = (double)((x * 0x2545F4914F6CDD1DULL >> 11) + 1) * 0x1p-53; /* (0, 1] */
    double g = hk_ln(u) * scale; /* failures before the first success, p = 1/N */
    return g < 0x1p40 ? (int64_t)g : (int64_t)1 << 40;
}

/* ---------------------------------------------------------------- keys */

static bool seen_bit(unsigned iv, unsigned entry)
{
    return atomic_load_explicit(&hk_rec->h.seen[entry][iv / 64], memory_order_relaxed) >>
               (iv % 64) &
           1;
}

/* Interval iv of entry was compared: its Tiny sizes get their class, and every KiB it meets
 * whose keys are now all seen gets its bit. */
static void fast_fill(unsigned iv, unsigned entry)
{
    size_t lo = hk_keys.lo[iv], hi = hk_sizekey_hi(&hk_keys, iv);
    for (size_t s = lo; s <= hi && s <= HK_TINY_MAX; s++) {
        uint8_t c = (uint8_t)hk_tiny_class(s);
        __atomic_store_n(&hk_diff_fast[0][entry][s], c, __ATOMIC_RELAXED);
        __atomic_store_n(&hk_diff_fast[1][entry][s], s < hk_router_tiny_limit ? c : 0xFF,
                         __ATOMIC_RELAXED);
    }
    if (hi <= HK_TINY_MAX)
        return;
    size_t from = lo > HK_TINY_MAX ? lo : HK_TINY_MAX + 1;
    for (size_t b = hk_diff_block(from); b < HK_DIFF_BLOCKS && b <= hk_diff_block(hi); b++) {
        unsigned first = hk_sizekey_of(&hk_keys, b * HK_DIFF_BLOCK + 1);
        unsigned last = hk_sizekey_of(&hk_keys, b * HK_DIFF_BLOCK + HK_DIFF_BLOCK);
        bool all = true;
        for (unsigned k = first; k <= last && all; k++)
            all = seen_bit(k, entry);
        if (all)
            __atomic_store_n(&hk_diff_seen_block[entry][b], 1, __ATOMIC_RELAXED);
    }
}

static void fast_rebuild(void)
{
    memset(hk_diff_fast, 0xFF, sizeof hk_diff_fast);
    memset(hk_diff_seen_block, 0, sizeof hk_diff_seen_block);
    for (unsigned e = 0; e < 2; e++)
        for (unsigned iv = 0; iv < hk_keys.n; iv++)
            if (seen_bit(iv, e))
                fast_fill(iv, e);
}

bool hk_key_seen(size_t size, hk_entry_t entry)
{
    return hk_key_seen_fast(size, entry) || seen_bit(hk_sizekey_of(&hk_keys, size), entry);
}

void hk_key_mark_slow(size_t size, hk_entry_t entry)
{
    unsigned iv = hk_sizekey_of(&hk_keys, size);
    uint64_t bit = (uint64_t)1 << (iv % 64);
    _Atomic uint64_t *w = &hk_rec->h.seen[entry][iv / 64];
    if (atomic_load_explicit(w, memory_order_relaxed) & bit)
        return;
    if (!(atomic_fetch_or_explicit(w, bit, memory_order_relaxed) & bit)) {
        atomic_fetch_add_explicit(&hk_rec->h.keys_seen, 1, memory_order_relaxed);
        fast_fill(iv, entry);
    }
}

/* The route map the record carries: each path's decision on each interval (one size stands
 * for its interval: neither decision changes inside one), for both entries. */
static void route_map(uint8_t route[2][HK_SIZEKEY_MAX][4])
{
    hk_knobs k = hk_knobs_get();
    memset(route, 0, 2 * HK_SIZEKEY_MAX * 4);
    for (unsigned e = 0; e < 2; e++)
        for (unsigned i = 0; i < hk_keys.n; i++) {
            hk_decision l = hk_legacy_decide(hk_keys.lo[i], (hk_entry_t)e, k);
            hk_decision c = hk_table_decide(hk_router_table, hk_keys.lo[i], (hk_entry_t)e, k);
            route[e][i][0] = (uint8_t)l.box;
            route[e][i][1] = (uint8_t)(int8_t)l.cls;
            route[e][i][2] = (uint8_t)c.box;
            route[e][i][3] = (uint8_t)(int8_t)c.cls;
        }
}

void hk_sample_table_changed(void)
{
    if (hk_keys.table != hk_router_table) {
        static uint8_t route[2][HK_SIZEKEY_MAX][4]; /* init and table changes run alone */
        hk_sizekey_build(&hk_keys, hk_router_table);
        route_map(route);
        hk_record_set_keys(&hk_keys, route);
        hk_sample_reset(); /* interval numbers changed: what was seen is unknown */
        return;
    }
    fast_rebuild(); /* the router's Tiny bound may have changed (verbose) */
}

void hk_sample_reset(void)
{
    for (unsigned e = 0; e < 2; e++)
        for (unsigned i = 0; i < HK_SIZEKEY_MAX / 64; i++)
            atomic_store(&hk_rec->h.seen[e][i], 0);
    atomic_store(&hk_rec->h.keys_seen, 0);
    fast_rebuild();
}

/* ---------------------------------------------------------------- threads */

static void thread_exit(void *arg)
{
    (void)arg;
    hk_diff_thread *t = &hk_dt;
    if (hk_dt_owned(t->state))
        hk_record_release_slot(t->slot);
    /* Calls from later destructors of this thread count into the shared slot. */
    t->slot = &hk_rec->slots[0];
    t->state = HK_DT_SHARED;
    t->skip = 0;
}

void hk_sample_thread_setup(hk_diff_thread *t)
{
    if (t->state != HK_DT_NEW)
        return;
    hk_record_materialize();
    hk_rec_slot *s = hk_record_claim_slot();
    t->rng = hk_random64() | 1;
    t->slot = s;
    t->hist = hk_rec->hist[s - hk_rec->slots];
    t->state = s == &hk_rec->slots[0] ? HK_DT_SHARED
               : hk_diff_sample == 1  ? HK_DT_EVERY
                                      : HK_DT_OWNED;
    t->skip = hk_dt_owned(t->state) ? hk_sample_next(t) : 0;
    /* Last: pthread_setspecific may allocate (keys past the first 32), and that allocation
     * must find this thread set up. */
    if (exit_key_ok && hk_dt_owned(t->state))
        pthread_setspecific(exit_key, t);
}

void hk_sample_atfork_child(void)
{
    hk_diff_thread *t = &hk_dt;
    if (t->state == HK_DT_NEW)
        return;
    /* The slot was in the parent's record: the next call claims one in the child's. */
    t->state = HK_DT_NEW;
    t->skip = 0;
    t->slot = NULL;
    t->hist = NULL;
}

void hk_sample_init(long sample)
{
    hk_diff_sample = sample > 1 ? (uint64_t)sample : 1;
    scale = hk_diff_sample > 1 ? 1.0 / hk_ln(1.0 - 1.0 / (double)hk_diff_sample) : 0;
    if (!exit_key_ok)
        exit_key_ok = pthread_key_create(&exit_key, thread_exit) == 0;
    hk_keys.table = NULL;
    hk_sample_table_changed();
    /* The calling thread under the new rate (tests change it; other threads keep theirs). */
    hk_dt.skip = 0;
    if (hk_dt_owned(hk_dt.state))
        hk_dt.state = hk_diff_sample == 1 ? HK_DT_EVERY : HK_DT_OWNED;
}
