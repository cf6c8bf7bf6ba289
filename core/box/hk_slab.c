/* hk_slab.c: the slow paths of the block engine (see hk_slab.h for the layout).
 *
 * Call tree of an allocation that misses the thread cache:
 *   hk_slab_alloc_slow(cls)
 *     -> tcache_setup()             first use in this thread (registers the exit destructor)
 *     -> refill(cls)                own shard, then the other shards (trylock), then
 *          -> page_acquire(box)      a fresh page from the box's current segment,
 *               -> segment_commit()  a fresh 4 MiB segment of the arena,
 *          -> carve()                blocks cut from the shard's page on demand, each marked
 *                                    FREE, linked in address order.
 *   NULL means the box cannot serve: the router falls back to the mmap box.
 */
#include "hk_slab.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "hk_init.h"
#include "hk_log.h"
#include "hk_ptr.h"
#include "hk_sys.h"

HK_TLS hk_tcache hk_tc;
uintptr_t hk_arena_base;
size_t hk_arena_size;
_Atomic uint8_t *hk_state;
uintptr_t hk_state_bias;
uint8_t *hk_pagecls;
hk_class_info hk_classes[HK_NCLASSES];

typedef struct {
    pthread_mutex_t lock;
    void *head;
    uint32_t count;
    /* The shard's page being carved: blocks are cut from it only when asked for, so that a
     * page's memory is touched (and resident) only as far as it is used. */
    uintptr_t bump, bump_end;
} HK_ALIGNED_CL hk_shard;

typedef struct {
    pthread_mutex_t lock;
    uintptr_t cur, end; /* bump range inside the box's current segment */
} HK_ALIGNED_CL hk_boxheap;

static hk_shard central[HK_NCLASSES][HK_NSHARDS];
static hk_boxheap boxheaps[HAK_BOX_COUNT];
static pthread_mutex_t arena_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t arena_used; /* committed prefix of the arena, in bytes (under arena_lock) */
static atomic_int inject_failures;

/* Thread caches alive now (for statistics and fork), and the counts of exited threads. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static hk_tcache *registry;
static _Atomic uint64_t retired_nalloc[HK_NCLASSES], retired_nfree[HK_NCLASSES];
static _Atomic uint64_t retired_tctr[HK_TCTR_COUNT];
static atomic_uint shard_counter;
static pthread_key_t exit_key;

static void tcache_destructor(void *arg);

/* ---------------------------------------------------------------- arena and pages */

bool hk_slab_init(size_t arena_bytes)
{
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_init(&central[c][s].lock, NULL);
    for (unsigned b = 0; b < HAK_BOX_COUNT; b++)
        pthread_mutex_init(&boxheaps[b].lock, NULL);
    if (pthread_key_create(&exit_key, tcache_destructor) != 0)
        hk_warn("pthread_key_create failed: thread caches are not returned at thread exit");

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
        void *st = hk_sys_mmap(arena_bytes >> HK_GRAN_SHIFT, PROT_NONE, MAP_NORESERVE);
        void *pc = hk_sys_mmap(arena_bytes >> HK_PCLS_SHIFT, PROT_READ | PROT_WRITE, MAP_NORESERVE);
        if (st == MAP_FAILED || pc == MAP_FAILED) {
            if (st != MAP_FAILED)
                hk_sys_release(st, arena_bytes >> HK_GRAN_SHIFT);
            if (pc != MAP_FAILED)
                hk_sys_release(pc, arena_bytes >> HK_PCLS_SHIFT);
            hk_sys_release((void *)base, arena_bytes);
            continue;
        }
        hk_state = st;
        hk_state_bias = (uintptr_t)st - (base >> HK_GRAN_SHIFT);
        hk_pagecls = pc;
        hk_arena_base = base;
        hk_arena_size = arena_bytes; /* last: from here on pointers are recognised */
        return true;
    }
    hk_warn("could not reserve address space for the small boxes; every allocation will use "
            "the mmap box");
    return false;
}

void hk_slab_define_class(unsigned cls, hak_box_t box, uint32_t bsize, unsigned page_shift)
{
    hk_assert(cls > 0 && cls < HK_NCLASSES && bsize >= HK_MIN_ALIGN && bsize % 16 == 0);
    hk_assert(((size_t)1 << page_shift) >= bsize && page_shift <= HK_SEG_SHIFT);
    hk_class_info *ci = &hk_classes[cls];
    ci->bsize = bsize;
    ci->box = (uint8_t)box;
    ci->page_shift = (uint8_t)page_shift;
    /* Cache up to 256 KiB per class per thread, between 1 and 128 blocks. */
    uint32_t m = (uint32_t)((256u * 1024u) / bsize);
    ci->tc_max = (uint16_t)(m < 1 ? 1 : m > 128 ? 128 : m);
    ci->batch = (uint16_t)(ci->tc_max / 2 ? ci->tc_max / 2 : 1);
}

void hk_slab_inject_page_failures(int n) { atomic_store(&inject_failures, n); }

/* Commit the next 4 MiB segment of the arena. Returns its address or 0. */
static uintptr_t segment_commit(void)
{
    uintptr_t seg = 0;
    pthread_mutex_lock(&arena_lock);
    if (arena_used + HK_SEG_SIZE <= hk_arena_size) {
        uintptr_t s = hk_arena_base + arena_used;
        uint8_t *st = (uint8_t *)hk_state + (arena_used >> HK_GRAN_SHIFT);
        if (hk_sys_mprotect((void *)s, HK_SEG_SIZE, PROT_READ | PROT_WRITE) == 0 &&
            hk_sys_mprotect(st, HK_SEG_SIZE >> HK_GRAN_SHIFT, PROT_READ | PROT_WRITE) == 0) {
            arena_used += HK_SEG_SIZE;
            seg = s;
        }
    }
    pthread_mutex_unlock(&arena_lock);
    return seg;
}

static uintptr_t page_acquire(hak_box_t box, size_t psize)
{
    int inj = atomic_load_explicit(&inject_failures, memory_order_relaxed);
    while (HK_UNLIKELY(inj > 0)) {
        if (atomic_compare_exchange_weak(&inject_failures, &inj, inj - 1))
            return 0;
    }
    hk_boxheap *h = &boxheaps[box];
    uintptr_t page = 0;
    pthread_mutex_lock(&h->lock);
    if (h->cur + psize > h->end) {
        uintptr_t seg = segment_commit();
        if (seg) {
            h->cur = seg;
            h->end = seg + HK_SEG_SIZE;
        }
    }
    if (h->cur + psize <= h->end) {
        page = h->cur;
        h->cur += psize;
    }
    pthread_mutex_unlock(&h->lock);
    return page;
}

/* Cut up to want blocks of class cls from [*bump, end): each marked FREE and linked in
 * address order. Returns the first (NULL when the range is empty); *tail and *n describe the
 * chain. The caller holds the lock of the shard that owns the range. */
static void *carve(unsigned cls, uintptr_t *bump, uintptr_t end, uint32_t want, void **tail,
                   uint32_t *n)
{
    const size_t bsize = hk_classes[cls].bsize;
    uintptr_t b = *bump;
    uint32_t k = 0;
    void *head = NULL, *prev = NULL;
    for (; k < want && b + bsize <= end; k++, b += bsize) {
        atomic_store_explicit(&hk_state[(b - hk_arena_base) >> HK_GRAN_SHIFT], HK_ST_FREE,
                              memory_order_relaxed);
        *(void **)b = NULL;
        if (prev)
            *(void **)prev = (void *)b;
        else
            head = (void *)b;
        prev = (void *)b;
    }
    *bump = b;
    *tail = prev;
    *n = k;
    return head;
}

bool hk_slab_refill_page(unsigned cls, unsigned shard)
{
    const hk_class_info *ci = &hk_classes[cls];
    if (ci->bsize == 0 || hk_arena_size == 0)
        return false;
    size_t psize = (size_t)1 << ci->page_shift;
    uintptr_t page = page_acquire((hak_box_t)ci->box, psize);
    if (!page)
        return false;
    uintptr_t off = page - hk_arena_base;
    for (size_t u = 0; u < psize >> HK_PCLS_SHIFT; u++)
        hk_pagecls[(off >> HK_PCLS_SHIFT) + u] = (uint8_t)cls;
    hk_shard *s = &central[cls][shard % HK_NSHARDS];
    pthread_mutex_lock(&s->lock);
    if (s->bump + ci->bsize > s->bump_end) {
        s->bump = page; /* the shard carves this page on demand */
        s->bump_end = page + psize;
    } else {
        /* The shard still carves another page (a race, or prewarm beyond one page per
         * shard): cut this one up at once. */
        uintptr_t b = page;
        void *tail;
        uint32_t n;
        void *head = carve(cls, &b, page + psize, UINT32_MAX, &tail, &n);
        *(void **)tail = s->head;
        s->head = head;
        s->count += n;
    }
    pthread_mutex_unlock(&s->lock);
    return true;
}

/* ---------------------------------------------------------------- central shards */

/* Take up to want blocks from shard s (caller holds its lock). */
static void *shard_take(hk_shard *s, uint32_t want, uint32_t *got)
{
    void *head = s->head, *p = head;
    uint32_t n = 0;
    if (!head) {
        *got = 0;
        return NULL;
    }
    while (n + 1 < want && *(void **)p) {
        p = *(void **)p;
        n++;
    }
    n++;
    s->head = *(void **)p;
    *(void **)p = NULL;
    s->count -= n;
    *got = n;
    return head;
}

static void shard_put(unsigned cls, unsigned shard, void *head, void *tail, uint32_t n)
{
    hk_shard *s = &central[cls][shard];
    pthread_mutex_lock(&s->lock);
    *(void **)tail = s->head;
    s->head = head;
    s->count += n;
    pthread_mutex_unlock(&s->lock);
}

/* A chain of up to want FREE blocks of class cls, or NULL when the box cannot serve. */
/* Free blocks first, then blocks cut from the shard's page (caller holds s->lock). */
static void *shard_take_or_carve(unsigned cls, hk_shard *s, uint32_t want, uint32_t *got)
{
    void *head = shard_take(s, want, got);
    if (head)
        return head;
    void *tail;
    return carve(cls, &s->bump, s->bump_end, want, &tail, got);
}

static void *refill(unsigned cls, unsigned shard, uint32_t want, uint32_t *got)
{
    void *head;
    hk_shard *own = &central[cls][shard];
    pthread_mutex_lock(&own->lock);
    head = shard_take_or_carve(cls, own, want, got);
    pthread_mutex_unlock(&own->lock);
    if (head)
        return head;
    /* Free blocks in the other shards (blocks freed by other threads land there) before a new
     * page (this point is reached once per page carved, not per refill): first without
     * waiting (a busy shard is skipped), then waiting for each, so that a shard that is busy at the wrong moment never makes the heap grow
     * (a producer/consumer pair would otherwise carve pages while its frees pile up). */
    for (int wait = 0; wait < 2; wait++) {
        for (unsigned i = 1; i < HK_NSHARDS; i++) {
            hk_shard *o = &central[cls][(shard + i) % HK_NSHARDS];
            if (wait)
                pthread_mutex_lock(&o->lock);
            else if (pthread_mutex_trylock(&o->lock) != 0)
                continue; /* busy: try the next one */
            head = shard_take(o, want, got);
            pthread_mutex_unlock(&o->lock);
            if (head)
                return head;
        }
    }
    if (!hk_slab_refill_page(cls, shard))
        return NULL;
    pthread_mutex_lock(&own->lock);
    head = shard_take_or_carve(cls, own, want, got);
    pthread_mutex_unlock(&own->lock);
    return head;
}

/* ---------------------------------------------------------------- thread caches */

static bool tcache_setup(void)
{
    if (hk_tc.state == 1)
        return true;
    if (hk_tc.state == 2)
        return false; /* exiting thread: no caching */
    hk_init();
    if (!hk_ready())
        return false; /* called from inside init: caller falls back */
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        hk_tc.bins[c].max = hk_classes[c].tc_max;
    hk_tc.shard = atomic_fetch_add(&shard_counter, 1) % HK_NSHARDS;
    pthread_mutex_lock(&registry_lock);
    hk_tc.prev = NULL;
    hk_tc.next = registry;
    if (registry)
        registry->prev = &hk_tc;
    registry = &hk_tc;
    pthread_mutex_unlock(&registry_lock);
    hk_tc.state = 1;
    pthread_setspecific(exit_key, &hk_tc);
    return true;
}

/* Move all but `keep` blocks of bin cls back to the central shard. */
static void flush_bin(unsigned cls, uint32_t keep)
{
    hk_bin *b = &hk_tc.bins[cls];
    if (b->count <= keep)
        return;
    uint32_t n = b->count - keep;
    void *head = b->head, *tail = head;
    for (uint32_t i = 1; i < n; i++)
        tail = *(void **)tail;
    b->head = *(void **)tail;
    b->count = keep;
    shard_put(cls, hk_tc.shard, head, tail, n);
}

static void tcache_retire(void)
{
    if (hk_tc.state != 1)
        return;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        flush_bin(c, 0);
        hk_tc.bins[c].max = 0;
    }
    pthread_mutex_lock(&registry_lock);
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        atomic_fetch_add_explicit(&retired_nalloc[c], hk_tc.bins[c].nalloc, memory_order_relaxed);
        atomic_fetch_add_explicit(&retired_nfree[c], hk_tc.bins[c].nfree, memory_order_relaxed);
        hk_tc.bins[c].nalloc = hk_tc.bins[c].nfree = 0;
    }
    for (unsigned i = 0; i < HK_TCTR_COUNT; i++) {
        atomic_fetch_add_explicit(&retired_tctr[i], hk_tc.tctr[i], memory_order_relaxed);
        hk_tc.tctr[i] = 0;
    }
    if (hk_tc.prev)
        hk_tc.prev->next = hk_tc.next;
    else
        registry = hk_tc.next;
    if (hk_tc.next)
        hk_tc.next->prev = hk_tc.prev;
    pthread_mutex_unlock(&registry_lock);
    hk_tc.state = 2;
}

static void tcache_destructor(void *arg)
{
    (void)arg;
    tcache_retire();
}

void hk_slab_thread_exit(void) { tcache_retire(); }

void *hk_slab_alloc_slow(unsigned cls)
{
    hk_bin *b = &hk_tc.bins[cls];
    uint32_t got;
    if (HK_UNLIKELY(!tcache_setup())) {
        /* No cache (exiting thread): one block straight from the central lists. */
        if (!hk_ready())
            return NULL;
        void *p = refill(cls, 0, 1, &got);
        if (!p)
            return NULL;
        atomic_fetch_add_explicit(&retired_nalloc[cls], 1, memory_order_relaxed);
        atomic_store_explicit(&hk_state[((uintptr_t)p - hk_arena_base) >> HK_GRAN_SHIFT],
                              HK_ST_ALLOC, memory_order_relaxed);
        return p;
    }
    if (b->head)
        return hk_slab_alloc(cls); /* setup only: the bin already has blocks */
    void *head = refill(cls, hk_tc.shard, hk_classes[cls].batch, &got);
    if (!head)
        return NULL;
    b->head = head;
    b->count = got;
    return hk_slab_alloc(cls);
}

/* ---------------------------------------------------------------- free */

/* The block of class cls that contains arena offset off: its offset, or UINTPTR_MAX when off
 * lies in the tail of its page that holds no whole block. */
static uintptr_t block_of(uintptr_t off, unsigned cls)
{
    const hk_class_info *ci = &hk_classes[cls];
    uintptr_t page = off & ~(((uintptr_t)1 << ci->page_shift) - 1);
    uintptr_t blk = page + ((off - page) / ci->bsize) * ci->bsize;
    return blk + ci->bsize <= page + ((uintptr_t)1 << ci->page_shift) ? blk : UINTPTR_MAX;
}

static unsigned state_at(uintptr_t off)
{
    return atomic_load_explicit(&hk_state[off >> HK_GRAN_SHIFT], memory_order_relaxed);
}

hk_ptr_kind hk_slab_classify(const void *p, hk_ptr_info *info)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_PCLS_SHIFT];
    *info = (hk_ptr_info){HK_PTR_INVALID, HK_WHY_UNCARVED, HAK_BOX_NONE, 0, 0, 0, false};
    uintptr_t blk = cls ? block_of(off, cls) : UINTPTR_MAX;
    if (blk == UINTPTR_MAX)
        return HK_PTR_INVALID; /* no class here, or the tail of a page */
    unsigned bst = state_at(blk);
    info->box = (hak_box_t)hk_classes[cls].box;
    info->block = hk_arena_base + blk;
    info->bsize = hk_classes[cls].bsize;
    info->block_free = bst == HK_ST_FREE || bst >= HK_ST_FREE_ALIGNED;
    if (bst == HK_ST_UNUSED) { /* in a page, beyond what its shard has carved so far */
        info->block = 0;
        info->bsize = 0;
        return HK_PTR_INVALID;
    }
    info->why = HK_WHY_INTERIOR;
    if (off != blk && (off & (HK_MIN_ALIGN - 1)) == 0 && state_at(off) == HK_ST_ALIGNED) {
        /* A live aligned pointer (its block's start says so, or the map is corrupt). */
        info->why = HK_WHY_ALIGNED;
        info->aligned = (uintptr_t)p;
        return info->kind = bst == HK_ST_ALIGNED_BLOCK ? HK_PTR_LIVE : HK_PTR_INVALID;
    }
    uintptr_t aligned = 0;
    if (bst >= HK_ST_FREE_ALIGNED)
        aligned = hk_align_up(info->block, (size_t)1 << (bst - HK_ST_FREE_ALIGNED));
    else if (bst == HK_ST_ALIGNED_BLOCK) /* find the live aligned pointer (fault path only) */
        for (uintptr_t g = blk + HK_MIN_ALIGN; g < blk + info->bsize && !aligned; g += HK_MIN_ALIGN)
            if (state_at(g) == HK_ST_ALIGNED)
                aligned = hk_arena_base + g;
    info->aligned = aligned;
    if (off == blk) {
        if (bst == HK_ST_ALLOC || bst == HK_ST_FREE)
            info->why = HK_WHY_NONE;
        else
            info->why = HK_WHY_PADDING; /* an aligned block's start: never handed out */
        return info->kind = bst == HK_ST_ALLOC  ? HK_PTR_LIVE
                            : bst == HK_ST_FREE ? HK_PTR_FREED
                                                : HK_PTR_INVALID;
    }
    if ((uintptr_t)p == aligned && bst >= HK_ST_FREE_ALIGNED) {
        info->why = HK_WHY_ALIGNED;
        return info->kind = HK_PTR_FREED;
    }
    if (aligned && (uintptr_t)p < aligned)
        info->why = HK_WHY_PADDING;
    return HK_PTR_INVALID;
}

/* Put block blk of class cls (handed out and now free) back, its start marked st: into the
 * thread's cache, or straight to a central shard from a thread without one (exiting). */
static void block_release(void *blk, unsigned cls, unsigned st)
{
    _Atomic uint8_t *sb = &hk_state[((uintptr_t)blk - hk_arena_base) >> HK_GRAN_SHIFT];
    if (!tcache_setup()) {
        atomic_store_explicit(sb, (uint8_t)st, memory_order_relaxed);
        atomic_fetch_add_explicit(&retired_nfree[cls], 1, memory_order_relaxed);
        *(void **)blk = NULL;
        shard_put(cls, 0, blk, blk, 1);
        return;
    }
    hk_bin *b = &hk_tc.bins[cls];
    if (b->count >= b->max)
        flush_bin(cls, b->max - hk_classes[cls].batch);
    atomic_store_explicit(sb, (uint8_t)st, memory_order_relaxed);
    *(void **)blk = b->head;
    b->head = blk;
    b->count++;
    b->nfree++;
}

bool hk_slab_free_checked(void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_PCLS_SHIFT];
    /* ALLOC is only ever at a live block's start (hk_slab.h): no division needed. */
    if (cls && (off & (HK_MIN_ALIGN - 1)) == 0 && state_at(off) == HK_ST_ALLOC) {
        block_release(p, cls, HK_ST_FREE);
        return true;
    }
    hk_ptr_info info;
    if (hk_slab_classify(p, &info) != HK_PTR_LIVE)
        return false;
    /* An aligned pointer: clear its mark, and remember at the block's start which pointer
     * was handed out (a second free of it is then named a double free). */
    atomic_store_explicit(&hk_state[off >> HK_GRAN_SHIFT], HK_ST_UNUSED, memory_order_relaxed);
    block_release((void *)info.block, cls,
                  HK_ST_FREE_ALIGNED + (unsigned)__builtin_ctzll((unsigned long long)p));
    return true;
}

void hk_slab_free_slow(void *p)
{
    if (HK_LIKELY(hk_slab_free_checked(p)))
        return;
    hk_ptr_info info;
    hk_slab_classify(p, &info);
    hk_ptr_fault("free()", p, &info);
}

/* ---------------------------------------------------------------- queries */

hak_box_t hk_slab_box_of(const void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_PCLS_SHIFT];
    if (cls == 0 || (off & (HK_MIN_ALIGN - 1)))
        return HAK_BOX_NONE;
    unsigned st = state_at(off);
    return (st == HK_ST_ALLOC || st == HK_ST_ALIGNED) ? (hak_box_t)hk_classes[cls].box
                                                     : HAK_BOX_NONE;
}

size_t hk_slab_usable(const void *p)
{
    uintptr_t off = (uintptr_t)p - hk_arena_base;
    unsigned cls = hk_pagecls[off >> HK_PCLS_SHIFT];
    if (cls && hk_slab_fast_ok(off)) /* a live block's start: no division */
        return hk_classes[cls].bsize;
    hk_ptr_info info;
    if (hk_slab_classify(p, &info) != HK_PTR_LIVE)
        return 0;
    return info.block + info.bsize - (uintptr_t)p;
}

void hk_slab_mark_aligned(void *block, void *q)
{
    if (q == block)
        return;
    atomic_store_explicit(&hk_state[((uintptr_t)q - hk_arena_base) >> HK_GRAN_SHIFT],
                          HK_ST_ALIGNED, memory_order_relaxed);
    atomic_store_explicit(&hk_state[((uintptr_t)block - hk_arena_base) >> HK_GRAN_SHIFT],
                          HK_ST_ALIGNED_BLOCK, memory_order_relaxed);
}

void hk_slab_class_counts(unsigned cls, uint64_t *nalloc, uint64_t *nfree)
{
    uint64_t a = atomic_load(&retired_nalloc[cls]), f = atomic_load(&retired_nfree[cls]);
    pthread_mutex_lock(&registry_lock);
    for (hk_tcache *t = registry; t; t = t->next) {
        a += t->bins[cls].nalloc;
        f += t->bins[cls].nfree;
    }
    pthread_mutex_unlock(&registry_lock);
    *nalloc = a;
    *nfree = f;
}

uint64_t hk_slab_thread_counter(hk_thread_counter_id id)
{
    uint64_t n = atomic_load(&retired_tctr[id]);
    pthread_mutex_lock(&registry_lock);
    for (hk_tcache *t = registry; t; t = t->next)
        if (t != &hk_tc)
            n += t->tctr[id];
    pthread_mutex_unlock(&registry_lock);
    /* The calling thread's own counts, registered or not (a thread counts before its first
     * refill registers it). */
    return n + hk_tc.tctr[id];
}

bool hk_slab_owns_meta(const void *p)
{
    uintptr_t a = (uintptr_t)p;
    return hk_arena_size && (a - (uintptr_t)hk_state < (hk_arena_size >> HK_GRAN_SHIFT) ||
                             a - (uintptr_t)hk_pagecls < (hk_arena_size >> HK_PCLS_SHIFT));
}

size_t hk_slab_reserved_bytes(void)
{
    return hk_arena_size ? hk_arena_size + (hk_arena_size >> HK_GRAN_SHIFT) +
                               (hk_arena_size >> HK_PCLS_SHIFT)
                         : 0;
}

size_t hk_slab_committed_bytes(void)
{
    pthread_mutex_lock(&arena_lock);
    size_t n = arena_used;
    pthread_mutex_unlock(&arena_lock);
    return n;
}

/* ---------------------------------------------------------------- fork and trim */

/* Lock order, everywhere: registry_lock; a box heap's lock, then arena_lock
 * (page_acquire -> segment_commit); a shard's lock alone. */
void hk_slab_atfork_prepare(void)
{
    pthread_mutex_lock(&registry_lock);
    for (unsigned b = 0; b < HAK_BOX_COUNT; b++)
        pthread_mutex_lock(&boxheaps[b].lock);
    pthread_mutex_lock(&arena_lock);
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_lock(&central[c][s].lock);
}

void hk_slab_atfork_parent(void)
{
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_unlock(&central[c][s].lock);
    pthread_mutex_unlock(&arena_lock);
    for (unsigned b = 0; b < HAK_BOX_COUNT; b++)
        pthread_mutex_unlock(&boxheaps[b].lock);
    pthread_mutex_unlock(&registry_lock);
}

void hk_slab_atfork_child(void)
{
    /* Only the forking thread survives: its cache stays registered, the others' blocks are
     * unreachable in the child (as in every thread-caching allocator). */
    /* The child's only thread took every lock in prepare: it releases them (re-initialising a
     * locked mutex is undefined). */
    for (unsigned c = 0; c < HK_NCLASSES; c++)
        for (unsigned s = 0; s < HK_NSHARDS; s++)
            pthread_mutex_unlock(&central[c][s].lock);
    pthread_mutex_unlock(&arena_lock);
    for (unsigned b = 0; b < HAK_BOX_COUNT; b++)
        pthread_mutex_unlock(&boxheaps[b].lock);
    for (hk_tcache *t = registry; t; t = t->next) {
        if (t == &hk_tc)
            continue;
        for (unsigned c = 1; c < HK_NCLASSES; c++) {
            retired_nalloc[c] += t->bins[c].nalloc;
            retired_nfree[c] += t->bins[c].nfree; /* its cached blocks are stranded, not live */
        }
        for (unsigned i = 0; i < HK_TCTR_COUNT; i++)
            retired_tctr[i] += t->tctr[i];
    }
    registry = NULL;
    if (hk_tc.state == 1) {
        hk_tc.prev = hk_tc.next = NULL;
        registry = &hk_tc;
    }
    pthread_mutex_unlock(&registry_lock);
}

size_t hk_slab_trim(void)
{
    /* Return the calling thread's cache, then give the pages inside every free block of a
     * page or more back to the OS (the first page keeps the free-list link). */
    if (hk_tc.state == 1)
        for (unsigned c = 1; c < HK_NCLASSES; c++)
            flush_bin(c, 0);
    size_t released = 0;
    const size_t pg = 4096;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        if (hk_classes[c].bsize < 2 * pg)
            continue;
        for (unsigned s = 0; s < HK_NSHARDS; s++) {
            hk_shard *sh = &central[c][s];
            pthread_mutex_lock(&sh->lock);
            for (void *p = sh->head; p; p = *(void **)p) {
                uintptr_t lo = hk_align_up((uintptr_t)p + sizeof(void *), pg);
                uintptr_t hi = ((uintptr_t)p + hk_classes[c].bsize) & ~(pg - 1);
                if (hi > lo && hk_sys_madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0)
                    released += hi - lo;
            }
            pthread_mutex_unlock(&sh->lock);
        }
    }
    return released;
}
