/* hk_stats.c: collecting and printing hakmem's statistics (see hk_stats.h). */
#include "hk_stats.h"

#include <string.h>
#include <unistd.h>

#include "hk_log.h"
#include "hk_slab.h"
#include "os.h"

_Atomic uint64_t hk_counters[HK_CTR_COUNT];

void hk_stats_collect(hk_box_stats out[HAK_BOX_COUNT])
{
    memset(out, 0, sizeof(hk_box_stats) * HAK_BOX_COUNT);
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_info *ci = &hk_classes[c];
        if (!ci->bsize)
            continue;
        uint64_t a, f;
        hk_slab_class_counts(c, &a, &f);
        hk_box_stats *s = &out[ci->box];
        s->allocs += a;
        s->frees += f;
        s->bytes += a * ci->bsize;
        s->live_bytes += (a > f ? a - f : 0) * ci->bsize;
    }
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        out[b].fallbacks = hk_counter((hk_counter_id)(HK_CTR_FALLBACK_TINY + (b - HAK_BOX_TINY)));
    hk_os_stats os;
    hk_os_get_stats(&os);
    out[HAK_BOX_MMAP].allocs = os.allocs;
    out[HAK_BOX_MMAP].frees = os.frees;
    out[HAK_BOX_MMAP].bytes = os.bytes_total;
    out[HAK_BOX_MMAP].live_bytes = os.bytes_mapped_now;
}

void hk_stats_report(int fd)
{
    hk_box_stats s[HAK_BOX_COUNT];
    hk_stats_collect(s);
    hk_dprintf(fd, "hakmem stats (pid %d)\n", (int)getpid());
    hk_dprintf(fd, "  paths: legacy routed %llu allocations, central routed %llu\n",
               (unsigned long long)hk_slab_thread_counter(HK_TCTR_SERVED_LEGACY),
               (unsigned long long)hk_slab_thread_counter(HK_TCTR_SERVED_CENTRAL));
    RouterHealth h = hak_router_health_check();
    hk_dprintf(fd,
               "  router health: tiny %d pool %d mid %d l25 %d ace %d mmap %d; total_routes %llu "
               "route_failures %llu fallback_count %llu\n",
               h.tiny_ready, h.pool_ready, h.mid_ready, h.l25_ready, h.ace_ready, h.mmap_ready,
               (unsigned long long)h.total_routes, (unsigned long long)h.route_failures,
               (unsigned long long)h.fallback_count);
    hk_dprintf(fd, "  %-5s %14s %14s %16s %16s %10s\n", "box", "allocs", "frees", "bytes",
               "live_bytes", "fallbacks");
    for (int b = HAK_BOX_TINY; b < HAK_BOX_COUNT; b++)
        hk_dprintf(fd, "  %-5s %14llu %14llu %16llu %16llu %10llu\n", hak_box_name((hak_box_t)b),
                   (unsigned long long)s[b].allocs, (unsigned long long)s[b].frees,
                   (unsigned long long)s[b].bytes, (unsigned long long)s[b].live_bytes,
                   (unsigned long long)s[b].fallbacks);
    hk_os_stats os;
    hk_os_get_stats(&os);
    hk_ph_stats ph;
    hk_ph_get_stats(&ph);
    uint64_t cached[HAK_BOX_COUNT];
    hk_slab_cached_bytes(cached);
    /* Memory: where the small boxes' bytes are, and what went back to the OS. */
    hk_dprintf(fd, "  memory (bytes): %-5s %6s %14s %14s %14s\n", "box", "pages", "in_pages",
               "xfer_cached", "purged_total");
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        hk_dprintf(fd, "  memory (bytes): %-5s %6llu %14llu %14llu %14llu\n",
                   hak_box_name((hak_box_t)b), (unsigned long long)ph.box_pages[b],
                   (unsigned long long)ph.box_bytes[b], (unsigned long long)cached[b],
                   (unsigned long long)ph.box_purged[b]);
    hk_dprintf(fd,
               "  page heap: committed %zu, in pages %zu, free resident %zu (bound %zu), free "
               "purged %zu; purged %llu bytes in %llu calls (%llu failed), %llu taken again "
               "within 1 s; pages taken %llu, given back %llu, moved between classes %llu "
               "(%llu bytes; %llu across boxes)\n",
               ph.committed, ph.in_pages, ph.free_resident, ph.dirty_budget, ph.free_purged,
               (unsigned long long)ph.purged_bytes, (unsigned long long)ph.purge_calls,
               (unsigned long long)ph.purge_failures, (unsigned long long)ph.refaulted,
               (unsigned long long)ph.pages_alloc,
               (unsigned long long)ph.pages_freed, (unsigned long long)ph.pages_moved,
               (unsigned long long)ph.bytes_moved, (unsigned long long)ph.pages_moved_box);
    hk_dprintf(fd,
               "  metadata (state map, descriptors, class maps): %zu bytes resident, %zu "
               "reserved\n",
               ph.meta_resident, ph.meta_reserved);
    hk_dprintf(fd,
               "  mmap box: %llu bytes mapped now, %llu cached, %llu unmapped from the cache "
               "(delay or trim), %llu regions reused; ENOMEM %llu\n",
               (unsigned long long)os.bytes_mapped_now, (unsigned long long)os.bytes_cached,
               (unsigned long long)os.bytes_purged, (unsigned long long)os.reused,
               (unsigned long long)hk_counter(HK_CTR_ENOMEM));
}
