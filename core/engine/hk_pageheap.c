/* hk_pageheap.c: the arena's page heap, a binary buddy allocator over 8 KiB units, with the
 * delayed purge of free runs (see hk_pageheap.h).
 *
 *   hk_ph_alloc(order, cls)
 *     -> the smallest free run of at least that order (resident runs first), split in
 *        halves, keeping the half with more resident units;
 *     -> segment_commit()      none left: the next 4 MiB segment of the arena.
 *   hk_ph_free(page, order)
 *     -> (class map cleared: a stale pointer into the page is refused)
 *     -> run_merge()           coalesce with free buddies, then on the dirty list (newest);
 *     -> purge_runs()          over the dirty budget (or delay 0): the oldest big runs go
 *                              at once, then the oldest small ones.
 *   hk_ph_purge(now, all)      the delayed purge (hk_purge.h): the runs free long enough.
 *
 * A run being purged is taken out of the lists (tagged BUSY, so no buddy merges into it)
 * while the lock is dropped for madvise, then put back clean (or still dirty if madvise
 * failed, and the purge stops until the next deadline). One purge at a time (purge_lock,
 * taken before heap_lock): a fork waits for it, since a child forked while runs are BUSY
 * would never get them back. A free that asks for a purge while another runs does not wait:
 * it leaves a note (purge_asked), and the thread that holds the lock purges again when done.
 */
#define _GNU_SOURCE
#include "hk_pageheap.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "hk_log.h"
#include "hk_purge.h"
#include "hk_sys.h"

uintptr_t hk_arena_base;
size_t hk_arena_size;
uintptr_t hk_arena_grans;
uint8_t *hk_pagecls;
_Atomic uint8_t *hk_state;
uintptr_t hk_state_bias;
hk_page *hk_pages;

/* Unit tags: a run's first unit says FREE, USED or BUSY (being purged) and the order. */
enum { UT_FREE = 0x40, UT_USED = 0x80, UT_BUSY = 0xC0, UT_KIND = 0xC0, UT_ORDER = 0x3F };
#define PURGE_BATCH 32
#define DIRTY_MIN ((size_t)32 << 20) /* free resident bytes always allowed */
#define DIRTY_SHIFT 3                /* ... or 1/8 of the bytes in pages */
#define DIRTY_CAP_MAX ((size_t)1 << 30)
#define REFAULT_MS 1000 /* pages taken again this soon after their purge went too soon */
#define NEVER_PURGED UINT32_MAX
#define STATE_PER_UNIT (HK_UNIT >> HK_GRAN_SHIFT)

typedef uint64_t __attribute__((may_alias)) hk_word;

static uint8_t *unit_tag, *last_cls;
static uint64_t *dirty_bits;
static uint8_t cls_box[256];
static size_t meta_reserved;

static pthread_mutex_t heap_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t purge_lock = PTHREAD_MUTEX_INITIALIZER; /* held around purge_runs */
static atomic_bool purge_asked;    /* a free's purge, left to purge_lock's holder */
static unsigned meta_head, meta_n; /* the deferred metadata's ring (purge_runs) */
static hk_lockstat heap_ls;        /* its takings by page allocations and frees */
static size_t arena_used;          /* committed prefix of the arena (under heap_lock) */
static uint32_t order_head[HK_MAX_ORDER + 1];
/* The dirty lists, oldest first: [0] runs under DIRTY_BIG_ORDER, [1] the others. */
static uint32_t dirty_head[2] = {HK_NIL, HK_NIL}, dirty_tail[2] = {HK_NIL, HK_NIL};
static size_t used_units, free_units, dirty_units;
/* The dirty budget learnt: DIRTY_MIN, raised by the purged bytes taken again soon after the
 * budget purged them (a program that frees and allocates again in waves), and brought back
 * down a quarter of the way every REFAULT_MS without such bytes. */
static size_t dirty_cap = DIRTY_MIN;
/* The floor the learnt budget comes back down to: DIRTY_MIN, or mallopt(M_TRIM_THRESHOLD). */
static size_t dirty_min = DIRTY_MIN;
static uint32_t last_refault, last_cap_decay;
static uint32_t backoff; /* after a failed purge, no purge at a free before this time */
static uint64_t st_refault;
static uint64_t st_purged, st_purge_calls, st_purge_fail, st_alloc, st_freed, st_shrunk, st_grown,
    st_moved, st_moved_box, st_units_moved;
static uint64_t box_units[8], box_pages[8], box_purged_units[8], box_peak_units[8];
/* Per class (statistics): the units and pages it holds now. */
static uint64_t cls_units[HK_PH_CLASSES], cls_pages[HK_PH_CLASSES];
/* Metadata pages touched and not purged: state-map pages (one per 64 KiB of arena) and
 * descriptor pages (one per 1 MiB), as bitmaps with counts. */
static uint64_t *state_live, *desc_live;
static size_t state_live_n, desc_live_n;
static atomic_int inject_failures;
static void (*pressure_hook)(void);
static atomic_flag in_pressure = ATOMIC_FLAG_INIT;

/* ---------------------------------------------------------------- init */

static void *reserve(size_t bytes, int prot)
{
    void *p = hk_sys_mmap(bytes, prot, MAP_NORESERVE);
    if (p != MAP_FAILED)
        meta_reserved += bytes;
    return p == MAP_FAILED ? NULL : p;
}

/* The byte-per-unit maps and bitmaps of `units` units, in one mapping. */
static size_t pc_bytes(size_t units)
{
    return units * 3 + units / 8 + units / 64 + 2 * (units / 512) + 64;
}

bool hk_ph_init(size_t arena_bytes)
{
    for (unsigned k = 0; k <= HK_MAX_ORDER; k++)
        order_head[k] = HK_NIL;
    arena_bytes &= ~(HK_SEG_SIZE - 1);
    for (; arena_bytes >= ((size_t)1 << 30); arena_bytes /= 2) {
        void *r = hk_sys_mmap(arena_bytes + HK_SEG_SIZE, PROT_NONE, MAP_NORESERVE);
        if (r == MAP_FAILED)
            continue;
        uintptr_t base = hk_align_up((uintptr_t)r, HK_SEG_SIZE);
        /* Give back the unaligned head and tail of the reservation. */
        if (base > (uintptr_t)r)
            hk_sys_release(r, base - (uintptr_t)r);
        uintptr_t tail = base + arena_bytes, rend = (uintptr_t)r + arena_bytes + HK_SEG_SIZE;
        if (rend > tail)
            hk_sys_release((void *)tail, rend - tail);
        size_t units = arena_bytes >> HK_UNIT_SHIFT;
        meta_reserved = 0;
        /* The state map and the descriptors are committed with their segment (strict
         * overcommit charges only what is used); the byte-per-unit maps are small. */
        void *st = reserve(arena_bytes >> HK_GRAN_SHIFT, PROT_NONE);
        void *pd = reserve(units * sizeof(hk_page), PROT_NONE);
        void *pc = reserve(pc_bytes(units), PROT_READ | PROT_WRITE);
        if (!st || !pd || !pc) {
            if (st)
                hk_sys_release(st, arena_bytes >> HK_GRAN_SHIFT);
            if (pd)
                hk_sys_release(pd, units * sizeof(hk_page));
            if (pc)
                hk_sys_release(pc, pc_bytes(units));
            hk_sys_release((void *)base, arena_bytes);
            continue;
        }
        hk_state = st;
        hk_state_bias = (uintptr_t)st - (base >> HK_GRAN_SHIFT);
        hk_pages = pd;
        hk_pagecls = pc;
        unit_tag = hk_pagecls + units;
        last_cls = unit_tag + units;
        dirty_bits = (uint64_t *)hk_align_up((uintptr_t)(last_cls + units), 8);
        state_live = dirty_bits + units / 64;
        desc_live = state_live + units / 8 / 64 + 1;
        hk_arena_base = base;
        hk_arena_size = arena_bytes; /* last: from here on pointers are recognised */
        return true;
    }
    hk_warn("could not reserve address space for the small boxes; every allocation will use "
            "the mmap box");
    return false;
}

size_t hk_ph_reserved_bytes(void) { return hk_arena_size ? hk_arena_size + meta_reserved : 0; }

bool hk_ph_owns_meta(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    size_t units = hk_arena_size >> HK_UNIT_SHIFT;
    return hk_arena_size && (a - (uintptr_t)hk_state < (hk_arena_size >> HK_GRAN_SHIFT) ||
                             a - (uintptr_t)hk_pages < units * sizeof(hk_page) ||
                             a - (uintptr_t)hk_pagecls < pc_bytes(units));
}

void hk_ph_set_class_box(unsigned cls, unsigned box) { cls_box[cls & 255] = (uint8_t)box; }

void hk_ph_inject_failures(int n) { atomic_store(&inject_failures, n); }

void hk_ph_set_pressure_hook(void (*fn)(void)) { pressure_hook = fn; }

/* ---------------------------------------------------------------- bitmaps */

static inline bool bit_get(const uint64_t *m, size_t i) { return (m[i >> 6] >> (i & 63)) & 1; }
static inline void bit_set(uint64_t *m, size_t i) { m[i >> 6] |= (uint64_t)1 << (i & 63); }
static inline void bit_clr(uint64_t *m, size_t i) { m[i >> 6] &= ~((uint64_t)1 << (i & 63)); }

/* Dirty units in [u, u + n): n is a power of two and u a multiple of n (a buddy run). */
static uint32_t dirty_count(uint32_t u, uint32_t n)
{
    if (n < 64) {
        uint64_t w = dirty_bits[u >> 6] >> (u & 63);
        return (uint32_t)__builtin_popcountll(w & (((uint64_t)1 << n) - 1));
    }
    uint32_t c = 0;
    for (uint32_t i = 0; i < n / 64; i++)
        c += (uint32_t)__builtin_popcountll(dirty_bits[(u >> 6) + i]);
    return c;
}

static void dirty_fill(uint32_t u, uint32_t n, bool on)
{
    if (n < 64) {
        uint64_t m = (((uint64_t)1 << n) - 1) << (u & 63);
        if (on)
            dirty_bits[u >> 6] |= m;
        else
            dirty_bits[u >> 6] &= ~m;
        return;
    }
    memset(&dirty_bits[u >> 6], on ? 0xff : 0, n / 8);
}

/* ---------------------------------------------------------------- lists */

static inline hk_page *D(uint32_t u) { return &hk_pages[u]; }

static void order_push(uint32_t u, unsigned k, bool front)
{
    hk_page *p = D(u);
    uint32_t h = order_head[k];
    if (h == HK_NIL) {
        p->next = p->prev = u; /* circular: head's prev is the tail */
        order_head[k] = u;
        return;
    }
    uint32_t t = D(h)->prev;
    p->next = h;
    p->prev = t;
    D(t)->next = u;
    D(h)->prev = u;
    if (front)
        order_head[k] = u;
}

static void order_remove(uint32_t u, unsigned k)
{
    hk_page *p = D(u);
    if (p->next == u) {
        order_head[k] = HK_NIL;
        return;
    }
    D(p->prev)->next = p->next;
    D(p->next)->prev = p->prev;
    if (order_head[k] == u)
        order_head[k] = p->next;
}

/* The dirty list of a run of order k. A pressure purge takes the big runs first: a madvise
 * of at most 33 pages flushes the TLB page by page (x86's tlb_single_page_flush_ceiling), and
 * on a VM every flush of a page is an exit: 13 us a page on the AMD machine for runs of 8 to
 * 128 KiB, against 0.8 us from 256 KiB up (96 MiB madvised in chunks of each size). */
#define DIRTY_BIG_ORDER 5 /* 32 units: 256 KiB */
static inline unsigned dirty_list(unsigned k) { return k >= DIRTY_BIG_ORDER; }

/* Into the dirty list of its order, at its place by `freed` (looking back at most 64 runs
 * from the newest; beyond that, approximately). */
static void dirty_insert(uint32_t u, unsigned k)
{
    hk_page *p = D(u);
    unsigned l = dirty_list(k);
    uint32_t after = dirty_tail[l];
    for (int i = 0; i < 64 && after != HK_NIL && (int32_t)(D(after)->f.freed - p->f.freed) > 0; i++)
        after = D(after)->f.dprev;
    p->f.dprev = after;
    p->f.dnext = after == HK_NIL ? dirty_head[l] : D(after)->f.dnext;
    if (after == HK_NIL)
        dirty_head[l] = u;
    else
        D(after)->f.dnext = u;
    if (p->f.dnext == HK_NIL)
        dirty_tail[l] = u;
    else
        D(p->f.dnext)->f.dprev = u;
}

static void dirty_remove(uint32_t u, unsigned k)
{
    hk_page *p = D(u);
    unsigned l = dirty_list(k);
    if (p->f.dprev == HK_NIL)
        dirty_head[l] = p->f.dnext;
    else
        D(p->f.dprev)->f.dnext = p->f.dnext;
    if (p->f.dnext == HK_NIL)
        dirty_tail[l] = p->f.dprev;
    else
        D(p->f.dnext)->f.dprev = p->f.dprev;
}

/* The oldest dirty run of either list (HK_NIL: none). */
static uint32_t dirty_oldest(void)
{
    uint32_t s = dirty_head[0], b = dirty_head[1];
    if (s == HK_NIL || b == HK_NIL)
        return s == HK_NIL ? b : s;
    return (int32_t)(D(b)->f.freed - D(s)->f.freed) < 0 ? b : s;
}

static void mark_desc_live(uint32_t u)
{
    size_t g = u / (HK_PAGE_SIZE / sizeof(hk_page));
    if (!bit_get(desc_live, g)) {
        bit_set(desc_live, g);
        desc_live_n++;
    }
}

/* A free run [u, 2^k units) with `nd` dirty units, freed at `freed` and a part of it purged
 * last at `purged`, into the lists. */
static void run_insert(uint32_t u, unsigned k, uint32_t nd, uint32_t freed, uint32_t purged)
{
    hk_page *p = D(u);
    mark_desc_live(u);
    p->order = (uint8_t)k;
    p->cls = 0;
    p->f.ndirty = nd;
    p->f.freed = freed;
    p->purged = purged;
    unit_tag[u] = (uint8_t)(UT_FREE | k);
    order_push(u, k, nd > 0); /* resident runs are taken first */
    if (nd)
        dirty_insert(u, k);
    free_units += (size_t)1 << k;
    dirty_units += nd;
}

static void run_remove(uint32_t u)
{
    hk_page *p = D(u);
    unsigned k = unit_tag[u] & UT_ORDER;
    order_remove(u, k);
    if (p->f.ndirty)
        dirty_remove(u, k);
    free_units -= (size_t)1 << k;
    dirty_units -= p->f.ndirty;
}

/* Insert the free run [u, 2^k) after coalescing it with its free buddies; returns the first
 * unit of the run inserted. */
static uint32_t run_merge(uint32_t u, unsigned k, uint32_t nd, uint32_t freed, uint32_t purged)
{
    while (k < HK_MAX_ORDER) {
        uint32_t b = u ^ ((uint32_t)1 << k);
        if (unit_tag[b] != (UT_FREE | k))
            break;
        hk_page *bp = D(b);
        uint32_t bnd = bp->f.ndirty, bfreed = bp->f.freed, bpurged = bp->purged;
        run_remove(b);
        /* `freed`: when the newest resident part was freed; `purged`: the newest purge of a
         * part (a clean part's `freed` is no purge: hostile review 21 saw never-purged halves
         * of a split counted as refaulted). */
        if (bnd)
            freed = (nd == 0 || (int32_t)(bfreed - freed) > 0) ? bfreed : freed;
        if (bpurged != NEVER_PURGED && (purged == NEVER_PURGED || (int32_t)(bpurged - purged) > 0))
            purged = bpurged;
        nd += bnd;
        unit_tag[u > b ? u : b] = 0;
        u = u < b ? u : b;
        k++;
    }
    run_insert(u, k, nd, freed, purged);
    return u;
}

/* One step of a split of the free run [*u, 2^(j+1) units) holding *nd dirty units: keep the
 * half with more resident units (*u and *nd become it); returns the other half's first unit,
 * *ond its dirty units. */
static uint32_t split_step(uint32_t *u, unsigned j, uint32_t *nd, uint32_t *ond)
{
    uint32_t half = (uint32_t)1 << j, lo = *nd ? dirty_count(*u, half) : 0, hi = *nd - lo;
    uint32_t other = *u + half;
    if (hi > lo) {
        other = *u;
        *u += half;
        *ond = lo;
        *nd = hi;
    } else {
        *ond = hi;
        *nd = lo;
    }
    return other;
}

/* ---------------------------------------------------------------- segments */

static uint32_t segment_commit(void)
{
    if (arena_used + HK_SEG_SIZE > hk_arena_size)
        return HK_NIL;
    uintptr_t s = hk_arena_base + arena_used;
    uint8_t *st = (uint8_t *)hk_state + (arena_used >> HK_GRAN_SHIFT);
    size_t units = HK_SEG_SIZE >> HK_UNIT_SHIFT;
    uint8_t *pd = (uint8_t *)hk_pages + (arena_used >> HK_UNIT_SHIFT) * sizeof(hk_page);
    if (hk_sys_mprotect((void *)s, HK_SEG_SIZE, PROT_READ | PROT_WRITE) != 0)
        return HK_NIL;
    if (hk_sys_mprotect(st, HK_SEG_SIZE >> HK_GRAN_SHIFT, PROT_READ | PROT_WRITE) != 0 ||
        hk_sys_mprotect(pd, units * sizeof(hk_page), PROT_READ | PROT_WRITE) != 0) {
        /* Leave the segment reserved; the prefix stays as it was. */
        hk_sys_mprotect((void *)s, HK_SEG_SIZE, PROT_NONE);
        hk_sys_mprotect(st, HK_SEG_SIZE >> HK_GRAN_SHIFT, PROT_NONE);
        return HK_NIL;
    }
    uint32_t u = (uint32_t)(arena_used >> HK_UNIT_SHIFT);
    arena_used += HK_SEG_SIZE;
    __atomic_store_n(&hk_arena_grans, arena_used >> HK_GRAN_SHIFT, __ATOMIC_RELEASE);
    return u;
}

/* ---------------------------------------------------------------- alloc and free */

static void note_state_live(uint32_t u, uint32_t n)
{
    for (uint32_t g = u >> 3; g <= (u + n - 1) >> 3; g++)
        if (!bit_get(state_live, g)) {
            bit_set(state_live, g);
            state_live_n++;
        }
}

/* Debug builds: a run entering or leaving a class. Level 2: its class-map entries are all
 * `cls` (0: a free run). Level 3: its state bytes are all zero (reset by the block engine
 * before it gives a page back; zero in a free run). */
static void run_check(uint32_t u, uint32_t n, unsigned cls)
{
    for (uint32_t i = 0; i < n; i++)
        hk_assert_internal(hk_pagecls[u + i] == cls);
    if (HK_ASSERT_LEVEL >= 3) {
        const uint8_t *st = (const uint8_t *)hk_state + (size_t)u * STATE_PER_UNIT;
        for (size_t g = 0; g < (size_t)n * STATE_PER_UNIT; g++)
            hk_assert_expensive(st[g] == 0);
    }
}

/* Page accounting (heap_lock held): a page of n units of class cls enters (+1) or leaves
 * (-1) the class. */
static void account(unsigned cls, uint32_t n, int dir)
{
    unsigned box = cls_box[cls];
    if (dir > 0) {
        box_units[box] += n;
        box_pages[box]++;
        if (box_units[box] > box_peak_units[box])
            box_peak_units[box] = box_units[box];
        cls_units[cls % HK_PH_CLASSES] += n;
        cls_pages[cls % HK_PH_CLASSES]++;
        used_units += n;
    } else {
        box_units[box] -= n;
        box_pages[box]--;
        cls_units[cls % HK_PH_CLASSES] -= n;
        cls_pages[cls % HK_PH_CLASSES]--;
        used_units -= n;
    }
}

uintptr_t hk_ph_alloc(unsigned order, unsigned cls, bool *resident)
{
    return hk_ph_alloc_room(order, cls, resident, false);
}

uintptr_t hk_ph_alloc_room(unsigned order, unsigned cls, bool *resident, bool room)
{
    int inj = atomic_load_explicit(&inject_failures, memory_order_relaxed);
    while (HK_UNLIKELY(inj > 0)) {
        if (atomic_compare_exchange_weak(&inject_failures, &inj, inj - 1))
            return 0;
    }
    hk_assert(order <= HK_MAX_ORDER);
    hk_lock_counted(&heap_lock, &heap_ls);
    unsigned j = order + room;
    while (j <= HK_MAX_ORDER && order_head[j] == HK_NIL)
        j++;
    if (j > HK_MAX_ORDER && room) { /* no larger run: any will do */
        j = order;
        while (j <= HK_MAX_ORDER && order_head[j] == HK_NIL)
            j++;
    }
    if (j > HK_MAX_ORDER) {
        uint32_t s = segment_commit();
        if (s == HK_NIL) {
            pthread_mutex_unlock(&heap_lock);
            return 0;
        }
        run_insert(s, HK_MAX_ORDER, 0, NEVER_PURGED, NEVER_PURGED);
        j = HK_MAX_ORDER;
    }
    /* The smallest run holds no resident byte: a larger one whose split ends on a wholly
     * resident piece is split instead, so free resident memory is used before purged memory
     * faults in again (and stays below the dirty budget without purges). A split that would
     * end on a piece with purged pages is not taken (hostile review 21: a run with its
     * resident pages scattered was cut for a piece that faulted in anyway). At most
     * HK_MAX_ORDER heads, each followed down its split: no list walk. */
    uint32_t n = (uint32_t)1 << order;
    if (D(order_head[j])->f.ndirty == 0) {
        for (unsigned k = j + 1; k <= HK_MAX_ORDER; k++) {
            uint32_t v = order_head[k], vnd = v == HK_NIL ? 0 : D(v)->f.ndirty, ond;
            for (unsigned i = k; i > order && vnd >= n; i--)
                split_step(&v, i - 1, &vnd, &ond);
            if (vnd == n) {
                j = k;
                break;
            }
        }
    }
    uint32_t u = order_head[j];
    hk_page *p = D(u);
    uint32_t nd = p->f.ndirty, freed = p->f.freed, purged = p->purged;
    run_remove(u);
    while (j > order) { /* split: keep the half with more resident units */
        j--;
        uint32_t ond, o = split_step(&u, j, &nd, &ond);
        run_insert(o, j, ond, freed, purged);
    }
    if (nd < n && purged != NEVER_PURGED && hk_purge_delay >= 0) {
        /* The piece's pages that are not resident, from a run purged less than REFAULT_MS
         * ago, wanted again: the budget learns the wave. (Counted whether the whole run was
         * purged or a part: a split run's purged part is wanted as much; a run no part of
         * which was ever purged counts nothing.) */
        uint32_t now = hk_purge_now();
        if ((uint32_t)(now - purged) < REFAULT_MS) {
            size_t b = (size_t)(n - nd) << HK_UNIT_SHIFT;
            size_t top = dirty_min > DIRTY_CAP_MAX ? dirty_min : DIRTY_CAP_MAX;
            dirty_cap = top - dirty_cap > b ? dirty_cap + b : top; /* no overflow at SIZE_MAX */
            last_refault = now;
            st_refault += b;
        }
    }
    *resident = nd == n;
    unit_tag[u] = (uint8_t)(UT_USED | order);
    st_alloc++;
    account(cls, n, +1);
    unsigned box = cls_box[cls];
    /* Statistics: a page whose memory another class (or box) used last, as its first unit
     * says. */
    unsigned lc = last_cls[u];
    if (lc && lc != cls) {
        st_moved++;
        st_units_moved += n;
        st_moved_box += cls_box[lc] != box;
    }
    memset(last_cls + u, (int)cls, n);
    note_state_live(u, n);
    mark_desc_live(u);
    if (HK_ASSERT_LEVEL >= 2)
        run_check(u, n, 0);
    memset(hk_pagecls + u, (int)cls, n);
    pthread_mutex_unlock(&heap_lock);
    return hk_arena_base + ((uintptr_t)u << HK_UNIT_SHIFT);
}

void hk_ph_state_reset(uintptr_t page, size_t bytes)
{
    hk_word *w = (hk_word *)((uint8_t *)hk_state + ((page - hk_arena_base) >> HK_GRAN_SHIFT));
    size_t n = bytes >> HK_GRAN_SHIFT >> 3;
    for (size_t i = 0; i < n; i++)
        if (w[i])
            w[i] = 0;
}

static void purge_runs(uint32_t now, bool all, size_t keep_dirty, bool *failed);

static size_t dirty_budget(void)
{
    size_t b = (used_units << HK_UNIT_SHIFT) >> DIRTY_SHIFT;
    return b > dirty_cap ? b : dirty_cap;
}

/* The run [u, 2^k units), out of any class (its class map cleared), to the free lists, freed
 * at `now` (heap_lock held). */
static void run_free(uint32_t u, unsigned k, uint32_t now)
{
    uint32_t n = (uint32_t)1 << k;
    dirty_fill(u, n, true);
    run_merge(u, k, n, now, NEVER_PURGED);
}

/* After a free (heap_lock held): over the dirty budget, and no backoff in the way. */
static bool over_budget(uint32_t now)
{
    return hk_purge_delay >= 0 && (dirty_units << HK_UNIT_SHIFT) > dirty_budget() &&
           (backoff == 0 || hk_purge_due(backoff, now));
}

/* The purge a free asks for (no lock held; the free went over the budget, or the delay is
 * 0): at delay 0 every dirty run, else the oldest down to half the budget, and those due.
 * With another purge under way the free does not wait: it asks (purge_asked), and the holder
 * of purge_lock, once it has let the lock go, sees the question and purges again (here, or
 * purge_answer), so nothing a free asked for is left dirty. Returns false when this thread
 * did not purge. */
static bool purge_for_free(uint32_t now, bool *failed)
{
    bool ran = false;
    *failed = false;
    atomic_store(&purge_asked, true);
    atomic_thread_fence(memory_order_seq_cst);
    while (atomic_load(&purge_asked) && pthread_mutex_trylock(&purge_lock) == 0) {
        atomic_store(&purge_asked, false);
        /* What the free asked for: down to half the budget, over it now or not (a purge
         * that checked the budget again here purged less, and the pressure hook, which runs
         * when a free crosses the budget, ran less often: `tests/footprint 1024 1000`
         * measured 55.8 against 41.2 MiB at a_1s_kb). */
        pthread_mutex_lock(&heap_lock);
        bool all = hk_purge_delay == 0;
        size_t keep = all ? 0 : dirty_budget() / 2;
        pthread_mutex_unlock(&heap_lock);
        bool f = false;
        purge_runs(now, all, keep, &f);
        if (meta_n) /* metadata deferred: the clock releases it */
            hk_purge_schedule(hk_purge_deadline(now));
        pthread_mutex_unlock(&purge_lock);
        atomic_thread_fence(memory_order_seq_cst); /* then read the question again */
        *failed |= f;
        ran = true;
    }
    return ran;
}

/* After purge_lock was let go by a purge that is not a free's (or a fork): a free asked
 * meanwhile. A madvise that failed is retried by the purge clock after a delay. */
static void purge_answer(uint32_t now)
{
    atomic_thread_fence(memory_order_seq_cst);
    bool failed;
    if (atomic_load(&purge_asked) && purge_for_free(now, &failed) && failed)
        hk_purge_schedule(hk_purge_deadline(now));
}

/* After a free (no lock held): purge what is due. */
static void after_free(uint32_t now, bool over)
{
    if (hk_purge_delay == 0 || over) {
        /* Delay 0: everything now; over budget: the caches' free memory joins the heap's
         * (the hook frees pages, so it calls back here: the flag keeps it from nesting),
         * then the oldest runs go, down to half the budget. */
        if (over && pressure_hook && !atomic_flag_test_and_set(&in_pressure)) {
            pressure_hook();
            atomic_flag_clear(&in_pressure);
        }
        bool failed;
        if (!purge_for_free(now, &failed))
            return; /* the purge under way does it */
        /* Still over after failures: no purge at a free for a while (it would fail on
         * every free). */
        pthread_mutex_lock(&heap_lock);
        backoff = failed && (dirty_units << HK_UNIT_SHIFT) > dirty_budget() ? now + REFAULT_MS : 0;
        pthread_mutex_unlock(&heap_lock);
        if (failed)
            hk_purge_schedule(hk_purge_deadline(now));
    } else {
        hk_purge_schedule(hk_purge_deadline(now));
    }
}

void hk_ph_free(uintptr_t page, unsigned order)
{
    uint32_t u = hk_ph_unit(page), n = (uint32_t)1 << order;
    if (HK_ASSERT_LEVEL >= 2) {
        hk_assert_internal(hk_pagecls[u] != 0);
        run_check(u, n, hk_pagecls[u]);
    }
    /* Refused from here on: free() finds class 0. */
    memset(hk_pagecls + u, 0, n);
    uint32_t now = hk_purge_now();
    hk_lock_counted(&heap_lock, &heap_ls);
    hk_assert(unit_tag[u] == (UT_USED | order));
    account(last_cls[u], n, -1);
    st_freed++;
    run_free(u, order, now);
    bool over = over_budget(now);
    pthread_mutex_unlock(&heap_lock);
    after_free(now, over);
}

void hk_ph_shrink(uintptr_t page, unsigned order, unsigned to_order, unsigned to_cls)
{
    uint32_t u = hk_ph_unit(page), n = (uint32_t)1 << order, keep = (uint32_t)1 << to_order;
    hk_assert(to_order < order && to_cls != 0);
    if (HK_ASSERT_LEVEL >= 2) /* one class over the whole page (its block's state is set) */
        for (uint32_t i = 0; i < n; i++)
            hk_assert_internal(hk_pagecls[u + i] == hk_pagecls[u] && hk_pagecls[u] != 0);
    /* The tail is refused from here on; the head is the new class's. */
    memset(hk_pagecls + u + keep, 0, n - keep);
    if (HK_ASSERT_LEVEL >= 2)
        run_check(u + keep, n - keep, 0);
    memset(hk_pagecls + u, (int)to_cls, keep);
    uint32_t now = hk_purge_now();
    hk_lock_counted(&heap_lock, &heap_ls);
    hk_assert(unit_tag[u] == (UT_USED | order));
    account(last_cls[u], n, -1);
    account(to_cls, keep, +1);
    memset(last_cls + u, (int)to_cls, keep);
    unit_tag[u] = (uint8_t)(UT_USED | to_order);
    st_shrunk++;
    /* The tail, a free run per order from to_order up (none coalesces with the head, in use). */
    for (unsigned k = to_order; k < order; k++)
        run_free(u + ((uint32_t)1 << k), k, now);
    bool over = over_budget(now);
    pthread_mutex_unlock(&heap_lock);
    after_free(now, over);
}

bool hk_ph_grow(uintptr_t page, unsigned order, unsigned to_order, unsigned to_cls)
{
    uint32_t u = hk_ph_unit(page), n = (uint32_t)1 << order, all = (uint32_t)1 << to_order;
    hk_assert(to_order > order && to_order <= HK_MAX_ORDER && to_cls != 0);
    if (u & (all - 1))
        return false; /* not the first of the larger run's buddies */
    hk_lock_counted(&heap_lock, &heap_ls);
    hk_assert(unit_tag[u] == (UT_USED | order));
    for (unsigned k = order; k < to_order; k++)
        if (unit_tag[u + ((uint32_t)1 << k)] != (UT_FREE | k)) {
            pthread_mutex_unlock(&heap_lock);
            return false;
        }
    for (unsigned k = order; k < to_order; k++) {
        uint32_t b = u + ((uint32_t)1 << k);
        run_remove(b);
        unit_tag[b] = 0;
    }
    account(last_cls[u], n, -1);
    account(to_cls, all, +1);
    memset(last_cls + u, (int)to_cls, all);
    unit_tag[u] = (uint8_t)(UT_USED | to_order);
    note_state_live(u, all);
    mark_desc_live(u);
    st_grown++;
    if (HK_ASSERT_LEVEL >= 2)
        run_check(u + n, all - n, 0);
    memset(hk_pagecls + u, (int)to_cls, all);
    pthread_mutex_unlock(&heap_lock);
    return true;
}

/* ---------------------------------------------------------------- purge */

/* What release_run managed to give back (bookkeeping is done under the lock). */
enum { REL_DATA = 1, REL_STATE = 2, REL_DESC = 4 };

/* Release the metadata of the free run [u, 2^k units): its state-map pages (a whole page
 * from 8 units up), and its descriptor pages after the first (the run's own descriptor lives
 * there). Best effort: a failure leaves them resident; they are zero either way. */
static unsigned release_meta(uint32_t u, unsigned k)
{
    size_t n = (size_t)1 << k, per = HK_PAGE_SIZE / sizeof(hk_page);
    unsigned r = 0;
    if (n * STATE_PER_UNIT >= HK_PAGE_SIZE &&
        hk_sys_madvise((uint8_t *)hk_state + (size_t)u * STATE_PER_UNIT, n * STATE_PER_UNIT,
                       MADV_DONTNEED) == 0)
        r |= REL_STATE;
    if (n > per &&
        hk_sys_madvise(&hk_pages[u + per], (n - per) * sizeof(hk_page), MADV_DONTNEED) == 0)
        r |= REL_DESC;
    return r;
}

/* Whether the metadata of [u, 2^k units) that release_meta would release is resident. */
static bool meta_resident(uint32_t u, unsigned k)
{
    size_t per = HK_PAGE_SIZE / sizeof(hk_page), n = (size_t)1 << k;
    for (size_t g = u >> 3; n >= 8 && g < (u + n) >> 3; g++)
        if (bit_get(state_live, g))
            return true;
    for (size_t g = (u + per) / per; n > per && g < (u + n) / per; g++)
        if (bit_get(desc_live, g))
            return true;
    return false;
}

/* Metadata deferred. A pressure purge (a free over the dirty budget, runs not yet due)
 * releases a run's arena pages only, unless the run is a whole segment: its state map is
 * 1/16 of it, 64 pages for a segment (one TLB flush), at most 32 for a smaller run (a flush
 * per page, 13 us each on the AMD machine: see DIRTY_BIG_ORDER). The run goes on this ring
 * with the time, and its metadata is released by the purge clock a delay later, or by
 * malloc_trim (hk_ph_purge), if the run is still free then: what `bench_mid_large_mt 4` frees
 * at its end costs its pages only. A full ring: released at once. A program that makes no
 * further call (no clock) keeps what the ring holds: at most 256 runs' state maps, 1/16 of
 * them (hostile review 26: without the ring it was 1/16 of every purged run, for good).
 * Under purge_lock. */
#define META_RING 256
static struct {
    uint32_t u, t;
    uint8_t k;
} meta_ring[META_RING];

/* Release the arena pages of the run [u, 2^k units), and its metadata when `meta` or when it
 * is a whole segment; the run is BUSY (out of the lists) and the lock is not held. */
static unsigned release_run(uint32_t u, unsigned k, bool meta)
{
    size_t n = (size_t)1 << k;
    uintptr_t a = hk_arena_base + ((uintptr_t)u << HK_UNIT_SHIFT);
    if (hk_sys_madvise((void *)a, n << HK_UNIT_SHIFT, MADV_DONTNEED) != 0)
        return 0;
    return REL_DATA | (meta || k == HK_MAX_ORDER ? release_meta(u, k) : 0);
}

/* Bookkeeping of released metadata (heap lock held). */
static void meta_released(uint32_t u, uint32_t n, unsigned r)
{
    size_t per = HK_PAGE_SIZE / sizeof(hk_page);
    if (r & REL_STATE)
        for (size_t g = u >> 3; g < (u + n) >> 3; g++)
            if (bit_get(state_live, g)) {
                bit_clr(state_live, g);
                state_live_n--;
            }
    if (r & REL_DESC)
        for (size_t g = (u + per) / per; g < (u + n) / per; g++)
            if (bit_get(desc_live, g)) {
                bit_clr(desc_live, g);
                desc_live_n--;
            }
}

/* Bookkeeping of a released run (heap lock held). */
static void released(uint32_t u, uint32_t n, unsigned r)
{
    meta_released(u, n, r);
    for (uint32_t j = 0; j < n; j++)
        if (bit_get(dirty_bits, u + j))
            box_purged_units[cls_box[last_cls[u + j]]]++;
    dirty_fill(u, n, false);
}

/* Purge dirty runs, oldest first: those due at `now`, every one when `all`, and any while
 * the dirty bytes exceed keep_dirty (SIZE_MAX: only the due ones). *failed when a madvise
 * failed. A run whose madvise failed stays resident, accounted as such and usable, and is
 * retried after a delay (it goes back to the dirty list as freed now); after PURGE_MAX_FAIL
 * failures in one call the purge stops. The caller holds purge_lock. */
#define PURGE_MAX_FAIL 4
static void purge_runs(uint32_t now, bool all, size_t keep_dirty, bool *failed)
{
    uint32_t batch[PURGE_BATCH], nd[PURGE_BATCH], was_purged[PURGE_BATCH];
    uint32_t seg[PURGE_BATCH], seg_freed[PURGE_BATCH], seg_purged[PURGE_BATCH];
    unsigned rel[PURGE_BATCH];
    bool meta[PURGE_BATCH];
    int nfail = 0, nseg = 0;
    uint32_t v;
    *failed = false;
    pthread_mutex_lock(&heap_lock);
    while (nfail < PURGE_MAX_FAIL) {
        int n = 0;
        while (n < PURGE_BATCH && (v = dirty_oldest()) != HK_NIL) {
            hk_page *p = D(v);
            meta[n] = true;
            if (!all && !hk_purge_due(hk_purge_deadline(p->f.freed), now)) {
                if ((dirty_units << HK_UNIT_SHIFT) <= keep_dirty)
                    break;
                meta[n] = meta_n + (unsigned)n >= META_RING; /* deferred: the ring */
                /* Over keep_dirty: the oldest big run first (one flush), small ones when
                 * no big one is left. */
                if (dirty_head[1] != HK_NIL)
                    p = D(v = dirty_head[1]);
            }
            if (!hk_purge_due(p->f.freed, now) && nfail)
                break; /* only runs that failed in this call are left */
            nd[n] = p->f.ndirty;
            was_purged[n] = p->purged;
            run_remove(v);
            unit_tag[v] = (uint8_t)(UT_BUSY | (unit_tag[v] & UT_ORDER));
            batch[n++] = v;
        }
        if (n == 0)
            break;
        pthread_mutex_unlock(&heap_lock);
        for (int i = 0; i < n; i++)
            rel[i] = release_run(batch[i], unit_tag[batch[i]] & UT_ORDER, meta[i]);
        pthread_mutex_lock(&heap_lock);
        for (int i = 0; i < n; i++) {
            uint32_t u = batch[i];
            unsigned k = unit_tag[u] & UT_ORDER;
            uint32_t units = (uint32_t)1 << k;
            unit_tag[u] = 0;
            st_purge_calls++;
            if (rel[i]) {
                released(u, units, rel[i]);
                if (!meta[i] && k >= 3 && k < HK_MAX_ORDER && meta_n < META_RING) {
                    unsigned at = (meta_head + meta_n++) % META_RING;
                    meta_ring[at].u = u;
                    meta_ring[at].k = (uint8_t)k;
                    meta_ring[at].t = now;
                }
                st_purged += (uint64_t)nd[i] << HK_UNIT_SHIFT;
                uint32_t h = run_merge(u, k, 0, now, now);
                /* A whole segment free and clean now, its metadata still resident (its last
                 * part was freed while this one was BUSY: a free that completes a segment
                 * otherwise makes it dirty, and its purge releases the metadata): released
                 * below. */
                if (unit_tag[h] == (UT_FREE | HK_MAX_ORDER) && D(h)->f.ndirty == 0 &&
                    meta_resident(h, HK_MAX_ORDER)) {
                    seg_purged[nseg] = D(h)->purged;
                    seg_freed[nseg] = D(h)->f.freed;
                    run_remove(h);
                    unit_tag[h] = (uint8_t)(UT_BUSY | HK_MAX_ORDER);
                    seg[nseg++] = h;
                }
            } else {
                st_purge_fail++;
                nfail++;
                *failed = true;
                /* the newest: retried after a delay */
                run_merge(u, k, nd[i], now + 1, was_purged[i]);
            }
        }
        if (nseg) {
            pthread_mutex_unlock(&heap_lock);
            for (int i = 0; i < nseg; i++)
                rel[i] = release_meta(seg[i], HK_MAX_ORDER);
            pthread_mutex_lock(&heap_lock);
            for (int i = 0; i < nseg; i++) {
                unit_tag[seg[i]] = 0;
                released(seg[i], (uint32_t)1 << HK_MAX_ORDER, rel[i]);
                run_insert(seg[i], HK_MAX_ORDER, 0, seg_freed[i], seg_purged[i]);
            }
            nseg = 0;
        }
    }
    pthread_mutex_unlock(&heap_lock);
}

/* The deferred metadata due at `now` (all when `all`): of each run on the ring still inside
 * a free run, released (that run BUSY meanwhile). Returns the next one's deadline. The
 * caller holds purge_lock. */
static uint32_t meta_ring_purge(uint32_t now, bool all)
{
    pthread_mutex_lock(&heap_lock);
    while (meta_n) {
        uint32_t u = meta_ring[meta_head].u, t = meta_ring[meta_head].t;
        unsigned k = meta_ring[meta_head].k, j = k;
        if (!all && !hk_purge_due(hk_purge_deadline(t), now))
            break;
        meta_head = (meta_head + 1) % META_RING;
        meta_n--;
        uint32_t h = u;
        for (; j <= HK_MAX_ORDER; j++) { /* the free run holding it, if any */
            h = u & ~(((uint32_t)1 << j) - 1);
            if (unit_tag[h] == (UT_FREE | j) || (unit_tag[h] & UT_KIND) == UT_USED)
                break;
        }
        if (j > HK_MAX_ORDER || unit_tag[h] != (UT_FREE | j) || !meta_resident(u, k))
            continue; /* in use again, or released meanwhile */
        hk_page *p = D(h);
        uint32_t nd = p->f.ndirty, freed = p->f.freed, purged = p->purged;
        run_remove(h);
        unit_tag[h] = (uint8_t)(UT_BUSY | j);
        pthread_mutex_unlock(&heap_lock);
        unsigned r = release_meta(u, k);
        pthread_mutex_lock(&heap_lock);
        unit_tag[h] = 0;
        meta_released(u, (uint32_t)1 << k, r);
        run_merge(h, j, nd, freed, purged); /* with a buddy freed meanwhile (review 27) */
    }
    uint32_t next = meta_n ? hk_purge_deadline(meta_ring[meta_head].t) : HK_PURGE_NEVER;
    pthread_mutex_unlock(&heap_lock);
    return next;
}

uint32_t hk_ph_purge(uint32_t now, bool all)
{
    if (hk_arena_size == 0 || (hk_purge_delay < 0 && !all))
        return HK_PURGE_NEVER;
    bool failed;
    pthread_mutex_lock(&purge_lock);
    purge_runs(now, all, SIZE_MAX, &failed);
    uint32_t meta_next = meta_ring_purge(now, all);
    pthread_mutex_unlock(&purge_lock);
    purge_answer(now);
    pthread_mutex_lock(&heap_lock);
    if (dirty_cap > dirty_min && (uint32_t)(now - last_refault) >= REFAULT_MS &&
        (uint32_t)(now - last_cap_decay) >= REFAULT_MS) {
        dirty_cap -= (dirty_cap - dirty_min + 3) / 4;
        last_cap_decay = now;
    }
    uint32_t oldest = dirty_oldest();
    uint32_t next = oldest == HK_NIL ? HK_PURGE_NEVER : hk_purge_deadline(D(oldest)->f.freed);
    pthread_mutex_unlock(&heap_lock);
    if (failed && next != HK_PURGE_NEVER && hk_purge_due(next, now))
        next = hk_purge_deadline(now); /* retry after a delay, not in a loop */
    if (meta_next != HK_PURGE_NEVER && (next == HK_PURGE_NEVER || (int32_t)(meta_next - next) < 0))
        next = meta_next;
    return next;
}

void hk_ph_set_dirty_floor(size_t bytes)
{
    pthread_mutex_lock(&heap_lock);
    dirty_min = bytes;
    dirty_cap = bytes;
    pthread_mutex_unlock(&heap_lock);
}

/* ---------------------------------------------------------------- stats and fork */

void hk_ph_lock_counts(hk_lockcount *out)
{
    *out = (hk_lockcount){0, 0};
    hk_lockcount_add(out, &heap_ls);
}

void hk_ph_get_stats(hk_ph_stats *o)
{
    memset(o, 0, sizeof *o);
    pthread_mutex_lock(&heap_lock);
    o->committed = arena_used;
    o->in_pages = used_units << HK_UNIT_SHIFT;
    o->free_resident = dirty_units << HK_UNIT_SHIFT;
    o->free_purged = (free_units - dirty_units) << HK_UNIT_SHIFT;
    o->purged_bytes = st_purged;
    o->purge_calls = st_purge_calls;
    o->purge_failures = st_purge_fail;
    o->dirty_budget = dirty_budget();
    o->refaulted = st_refault;
    o->pages_alloc = st_alloc;
    o->pages_freed = st_freed;
    o->pages_shrunk = st_shrunk;
    o->pages_grown = st_grown;
    o->pages_moved = st_moved;
    o->pages_moved_box = st_moved_box;
    o->bytes_moved = st_units_moved << HK_UNIT_SHIFT;
    o->meta_reserved = meta_reserved;
    size_t units = arena_used >> HK_UNIT_SHIFT;
    o->meta_resident = state_live_n * HK_PAGE_SIZE + desc_live_n * HK_PAGE_SIZE +
                       hk_align_up(units * 3 + units / 8, HK_PAGE_SIZE);
    for (int b = 0; b < 8; b++) {
        o->box_pages[b] = box_pages[b];
        o->box_bytes[b] = box_units[b] << HK_UNIT_SHIFT;
        o->box_purged[b] = box_purged_units[b] << HK_UNIT_SHIFT;
        o->box_peak[b] = box_peak_units[b] << HK_UNIT_SHIFT;
    }
    for (int c = 0; c < HK_PH_CLASSES; c++) {
        o->class_pages[c] = cls_pages[c];
        o->class_bytes[c] = cls_units[c] << HK_UNIT_SHIFT;
    }
    pthread_mutex_unlock(&heap_lock);
}

/* Fork: after the purge under way (its runs are in no list), then the heap. */
void hk_ph_atfork_prepare(void)
{
    pthread_mutex_lock(&purge_lock);
    pthread_mutex_lock(&heap_lock);
}
void hk_ph_atfork_parent(void)
{
    pthread_mutex_unlock(&heap_lock);
    pthread_mutex_unlock(&purge_lock);
}
void hk_ph_atfork_done(void) { purge_answer(hk_purge_now()); }
void hk_ph_atfork_child(void)
{
    /* A thread of the parent may have been between two locks of the pressure hook. */
    atomic_flag_clear(&in_pressure);
    hk_ph_atfork_parent();
}
