/* hk_stats_report.c: collecting hakmem's statistics into one snapshot, and the text report (see
 * hk_stats.h, hk_stats_snap.h; the JSON rendering is hk_stats_json.c). */
#include "hk_stats.h"

#include <string.h>
#include <unistd.h>

#include "hk_log.h"
#include "hk_purge.h"
#include "hk_slab.h"
#include "hk_stats_snap.h"
#include "hk_sys.h"
#include "hk_l25.h"
#include "hk_mmap.h"

/* The class as decisions name it: the box's own index; L25's continue ACE's numbering after
 * Pool's (7..12). */
static int decision_class(unsigned c, unsigned box)
{
    switch (box) {
    case HAK_BOX_TINY: return (int)(c - HK_CLS_TINY0);
    case HAK_BOX_POOL: return (int)(c - HK_CLS_POOL0);
    case HAK_BOX_MID: return (int)(c - HK_CLS_MID0);
    case HAK_BOX_L25: return (int)(c - HK_CLS_L250) + HK_ACE_L25_FIRST;
    default: return -1;
    }
}

void hk_stats_snapshot_take(hk_stats_snapshot *s)
{
    memset(s, 0, sizeof *s);
    hk_ph_get_stats(&s->ph);
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_info *ci = &hk_classes[c];
        if (!ci->bsize)
            continue;
        hk_class_snap *k = &s->cls[c];
        k->size = ci->bsize;
        k->box = ci->box;
        k->decision_class = (int8_t)decision_class(c, ci->box);
        k->per_page = ci->cap;
        hk_slab_class_counts(c, &k->allocs, &k->frees);
        k->pages = s->ph.class_pages[c];
        k->page_bytes = s->ph.class_bytes[c];
        hk_box_stats *b = &s->box[ci->box];
        b->allocs += k->allocs;
        b->frees += k->frees;
        b->bytes += k->allocs * ci->bsize;
        b->live_bytes += hk_class_live(k) * ci->bsize;
    }
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        s->box[b].fallbacks = hk_counter(
            (hk_counter_id)(HK_CTR_FALLBACK_TINY + (b - HAK_BOX_TINY)));
    hk_os_get_stats(&s->os);
    s->box[HAK_BOX_MMAP].allocs = s->os.allocs;
    s->box[HAK_BOX_MMAP].frees = s->os.frees;
    s->box[HAK_BOX_MMAP].bytes = s->os.bytes_total;
    s->box[HAK_BOX_MMAP].live_bytes = s->os.bytes_mapped_now;
    hk_slab_cached_bytes(s->xfer_cached);
    s->router = hak_router_health_check();
    for (int i = 0; i < HK_TCTR_COUNT; i++)
        s->tctr[i] = hk_slab_thread_counter((hk_thread_counter_id)i);
    for (int i = 0; i < HK_CTR_COUNT; i++)
        s->ctr[i] = hk_counter((hk_counter_id)i);
    s->arena_reserved = hk_arena_size;
    s->purge_delay_ms = hk_purge_delay;
    hk_slab_lock_counts(&s->lock_xfer, &s->lock_class);
    hk_ph_lock_counts(&s->lock_heap);
}

void hk_stats_collect(hk_box_stats out[HAK_BOX_COUNT])
{
    hk_stats_snapshot s;
    hk_stats_snapshot_take(&s);
    memcpy(out, s.box, sizeof s.box);
}

void hk_stats_report(int fd)
{
    hk_stats_snapshot snap, *sn = &snap;
    hk_stats_snapshot_take(sn);
    const hk_box_stats *s = sn->box;
    hk_dprintf(fd, "hakmem stats (pid %d)\n", (int)getpid());
    hk_dprintf(fd, "  paths: legacy routed %llu allocations, central routed %llu\n",
               (unsigned long long)sn->tctr[HK_TCTR_SERVED_LEGACY],
               (unsigned long long)sn->tctr[HK_TCTR_SERVED_CENTRAL]);
    const RouterHealth *h = &sn->router;
    hk_dprintf(fd,
               "  router health: tiny %d pool %d mid %d l25 %d ace %d mmap %d; total_routes %llu "
               "route_failures %llu fallback_count %llu\n",
               h->tiny_ready, h->pool_ready, h->mid_ready, h->l25_ready, h->ace_ready,
               h->mmap_ready, (unsigned long long)h->total_routes,
               (unsigned long long)h->route_failures, (unsigned long long)h->fallback_count);
    hk_dprintf(fd, "  %-5s %14s %14s %16s %16s %10s\n", "box", "allocs", "frees", "bytes",
               "live_bytes", "fallbacks");
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++)
        hk_dprintf(fd, "  %-5s %14llu %14llu %16llu %16llu %10llu\n", hak_box_name((hak_box_t)b),
                   (unsigned long long)s[b].allocs, (unsigned long long)s[b].frees,
                   (unsigned long long)s[b].bytes, (unsigned long long)s[b].live_bytes,
                   (unsigned long long)s[b].fallbacks);
    /* Per class: only the classes that were used. */
    hk_dprintf(fd, "  classes: %-5s %5s %8s %14s %14s %14s %8s %14s\n", "box", "class", "size",
               "allocs", "frees", "live", "pages", "page_bytes");
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_snap *k = &sn->cls[c];
        if (k->size && (k->allocs || k->pages))
            hk_dprintf(fd, "  classes: %-5s %5d %8u %14llu %14llu %14llu %8llu %14llu\n",
                       hak_box_name((hak_box_t)k->box), k->decision_class, k->size,
                       (unsigned long long)k->allocs, (unsigned long long)k->frees,
                       (unsigned long long)hk_class_live(k), (unsigned long long)k->pages,
                       (unsigned long long)k->page_bytes);
    }
    const hk_ph_stats *ph = &sn->ph;
    /* Memory: where the small boxes' bytes are, and what went back to the OS. */
    hk_dprintf(fd, "  memory (bytes): %-5s %6s %14s %14s %14s\n", "box", "pages", "in_pages",
               "xfer_cached", "purged_total");
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        hk_dprintf(fd, "  memory (bytes): %-5s %6llu %14llu %14llu %14llu\n",
                   hak_box_name((hak_box_t)b), (unsigned long long)ph->box_pages[b],
                   (unsigned long long)ph->box_bytes[b], (unsigned long long)sn->xfer_cached[b],
                   (unsigned long long)ph->box_purged[b]);
    hk_dprintf(fd,
               "  page heap: committed %zu, in pages %zu, free resident %zu (bound %zu), free "
               "purged %zu; purged %llu bytes in %llu calls (%llu failed), %llu taken again "
               "within 1 s; pages taken %llu, given back %llu, shrunk in place %llu, grown in "
               "place %llu, "
               "moved between "
               "classes %llu (%llu bytes; %llu across boxes)\n",
               ph->committed, ph->in_pages, ph->free_resident, ph->dirty_budget, ph->free_purged,
               (unsigned long long)ph->purged_bytes, (unsigned long long)ph->purge_calls,
               (unsigned long long)ph->purge_failures, (unsigned long long)ph->refaulted,
               (unsigned long long)ph->pages_alloc, (unsigned long long)ph->pages_freed,
               (unsigned long long)ph->pages_shrunk, (unsigned long long)ph->pages_grown,
               (unsigned long long)ph->pages_moved, (unsigned long long)ph->bytes_moved,
               (unsigned long long)ph->pages_moved_box);
    hk_dprintf(fd,
               "  locks (taken / waited for): transfer caches %llu / %llu, class page lists "
               "%llu / %llu, page heap %llu / %llu\n",
               (unsigned long long)sn->lock_xfer.acquired, (unsigned long long)sn->lock_xfer.waited,
               (unsigned long long)sn->lock_class.acquired,
               (unsigned long long)sn->lock_class.waited,
               (unsigned long long)sn->lock_heap.acquired,
               (unsigned long long)sn->lock_heap.waited);
    hk_dprintf(fd,
               "  metadata (state map, descriptors, class maps): %zu bytes resident, %zu "
               "reserved\n",
               ph->meta_resident, ph->meta_reserved);
    const hk_os_stats *os = &sn->os;
    hk_dprintf(fd,
               "  mmap box: %llu bytes mapped now, %llu cached (budget learnt %llu), %llu "
               "unmapped from the cache (delay or trim), %llu regions reused; ENOMEM %llu\n",
               (unsigned long long)os->bytes_mapped_now, (unsigned long long)os->bytes_cached,
               (unsigned long long)os->cache_budget, (unsigned long long)os->bytes_purged,
               (unsigned long long)os->reused, (unsigned long long)sn->ctr[HK_CTR_ENOMEM]);
    /* What the OS refused, when it refused anything. */
    char line[512];
    size_t n = 0;
    for (int i = 0; i < HK_SYS_COUNT; i++)
        if (hk_sys_failures((hk_sys_prim)i))
            n += hk_fmt(line + n, sizeof line - n, " %s %llu", hk_sys_name((hk_sys_prim)i),
                        (unsigned long long)hk_sys_failures((hk_sys_prim)i));
    if (n || os->bytes_kept || hk_sys_release_pending() || hk_log_lost())
        hk_dprintf(fd,
                   "  OS calls failed:%s; %llu bytes kept after a failed munmap, %zu pending; "
                   "%llu lines lost (no trustworthy stderr)\n",
                   n ? line : " none", (unsigned long long)os->bytes_kept, hk_sys_release_pending(),
                   (unsigned long long)hk_log_lost());
}
