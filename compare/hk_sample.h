/* hk_sample.h: which calls the differential mode compares, with no bias a workload can hide
 * in, and the per-thread state that decides it.
 *
 * Two rules, each enough on its own to compare a call:
 *   - Random sampling, 1 in N (HAKMEM_ROUTER_DIFF_SAMPLE): every call is compared with
 *     probability 1/N, independently of every other call. Each thread draws the number of
 *     calls to skip before its next compared call from the geometric distribution of mean
 *     N - 1 (a per-thread xorshift generator, seeded from getrandom), so the fast path only
 *     counts down: no division, no shared state. No period, phase or size pattern of the
 *     workload correlates with the choice.
 *   - First call of every key: the first call of each (size interval, entry) in the process
 *     (hk_sizekey.h: intervals on which neither path's decision can change; the knobs are fixed
 *     for the process) is compared whatever N says, so a rare size or a short process is
 *     compared at least once per distinct decision pair it can make.
 * The keys seen are bits in the record (hk_record.h); the fast path learns "seen" from
 * hk_diff_fast, a byte per Tiny size per entry and executing path that holds the Tiny class
 * the executing path gives that size once its key has been compared, and 0xFF otherwise (not
 * seen, or not served by that path's Tiny fast path): one load tells both. Above Tiny,
 * hk_diff_seen_block says per KiB whether every key meeting it was compared.
 */
#ifndef HK_SAMPLE_H
#define HK_SAMPLE_H

#include "hk_record.h"
#include "hk_sizekey.h"

/* A thread: new (no call yet), owning a slot (bit 0; HK_DT_EVERY when every call is
 * compared, 1 in 1, so the sampled path tests one value), or without a slot of its own. */
enum { HK_DT_NEW = 0, HK_DT_OWNED = 1, HK_DT_SHARED = 2, HK_DT_EVERY = 3 };
HK_INLINE bool hk_dt_owned(unsigned state) { return state & 1; }

typedef struct {
    int64_t skip;      /* unsampled calls before the next sampled one; at 0, the next call
                          takes the sampled path (a new thread's first call included) */
    hk_rec_slot *slot; /* this thread's counters (owned) */
    uint64_t rng;      /* xorshift64* state */
    uint32_t state;    /* HK_DT_*: HK_DT_SHARED threads (none free, or exiting) count into slot 0
                          with atomic adds and compare every call */
    _Atomic uint64_t (*hist)[HK_REC_HBUCKETS]; /* the slot's histograms (hk_record.h) */
} hk_diff_thread;

extern HK_TLS hk_diff_thread hk_dt;
/* HAKMEM_ROUTER_DIFF_SAMPLE, read at init (1: every call is compared). */
extern uint64_t hk_diff_sample;
/* The size intervals in force. */
extern hk_sizekey hk_keys;
/* [executing path: 0 legacy, 1 central][entry][size <= 1024]: the class, or 0xFF. */
#define HK_DIFF_FAST_ROW 1040
extern uint8_t hk_diff_fast[2][2][HK_DIFF_FAST_ROW];
/* Above Tiny: [entry][block] is 1 once every key meeting the block was compared; block b holds
 * the sizes b KiB + 1 .. (b + 1) KiB, so that blocks line up with the class edges (sizes up
 * to 2 MiB; larger sizes look their key up). */
#define HK_DIFF_BLOCK 1024
#define HK_DIFF_BLOCKS 2048
extern uint8_t hk_diff_seen_block[2][HK_DIFF_BLOCKS];
HK_INLINE unsigned hk_diff_block(size_t size) { return (unsigned)((size - 1) / HK_DIFF_BLOCK); }

/* Read the sample rate; build the keys for the table in force (and whenever it changes). */
void hk_sample_init(long sample);
void hk_sample_table_changed(void);
/* Zero the keys seen (tests, the fork child). */
void hk_sample_reset(void);
/* Unsampled calls before the next sampled one: geometric with mean N - 1 (0 when N is 1). */
int64_t hk_sample_next(hk_diff_thread *t);
/* A thread's first call (or a call after it released its slot): claim a slot and seed. */
void hk_sample_thread_setup(hk_diff_thread *t);
/* The fork child: the forking thread claims a slot in the child's new record and reseeds. */
void hk_sample_atfork_child(void);

/* Has key (interval of size, entry) been compared? Mark it (first compared call). */
bool hk_key_seen(size_t size, hk_entry_t entry);
void hk_key_mark_slow(size_t size, hk_entry_t entry);

/* Seen, by the fast tables (no interval lookup): the legacy row of hk_diff_fast holds a class
 * for every Tiny size whose key was seen, hk_diff_seen_block covers the KiBs above. False
 * does not mean unseen (hk_key_seen looks the key up). */
HK_INLINE bool hk_key_seen_fast(size_t size, hk_entry_t entry)
{
    if (size <= HK_TINY_MAX)
        return __atomic_load_n(&hk_diff_fast[0][entry][size], __ATOMIC_RELAXED) != 0xFF;
    return size <= (size_t)HK_DIFF_BLOCKS * HK_DIFF_BLOCK &&
           __atomic_load_n(&hk_diff_seen_block[entry][hk_diff_block(size)], __ATOMIC_RELAXED);
}

HK_INLINE void hk_key_mark(size_t size, hk_entry_t entry)
{
    if (!hk_key_seen_fast(size, entry))
        hk_key_mark_slow(size, entry);
}

/* A compared call of an owned slot: its request size in the executing path's histogram. */
HK_INLINE void hk_dt_hist(hk_diff_thread *t, bool central, size_t size)
{
    hk_rec_bump(&t->hist[central][hk_rec_bucket(size)]);
}

/* Count one call of `size` executed by path `central` (and compared, when `compared`). */
HK_INLINE void hk_dt_count(hk_diff_thread *t, bool central, bool compared, size_t size)
{
    if (HK_LIKELY(hk_dt_owned(t->state))) {
        hk_rec_bump(&t->slot->exec[central]);
        if (compared) {
            hk_rec_bump(&t->slot->compared);
            hk_dt_hist(t, central, size);
        }
        return;
    }
    hk_rec_slot *s = &hk_rec->slots[0];
    atomic_fetch_add_explicit(&s->exec[central], 1, memory_order_relaxed);
    if (compared) {
        atomic_fetch_add_explicit(&s->compared, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&hk_rec->hist[0][central][hk_rec_bucket(size)], 1,
                                  memory_order_relaxed);
    }
}

/* ln(x) for 0 < x <= 1 without libm (a few ulp are plenty for drawing skips). */
double hk_ln(double x);

#endif
