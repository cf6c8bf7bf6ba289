/* hk_stats_json.c: the statistics as one JSON object (HAKMEM_STATS=json at exit,
 * hak_stats_print_json), format "hakmem-stats/1", fixed in the README's "Statistics as
 * data". One snapshot (hk_stats_snap.h), written on one line through the malloc-free JSON
 * writer (hk_json.h), so that it can be picked out of a stderr shared with the program:
 * the line starts with {"format": "hakmem-stats/1".
 */
#include <unistd.h>

#include "hk_json.h"
#include "hk_stats_snap.h"

/* "name": value, with the separator before every member but the first of an object. */
typedef struct {
    hk_jw *w;
    bool first;
} obj;

static void key(obj *o, const char *name)
{
    hk_jw_lit(o->w, o->first ? "\"" : ", \"");
    o->first = false;
    hk_jw_lit(o->w, name);
    hk_jw_lit(o->w, "\": ");
}
static void num(obj *o, const char *name, uint64_t v)
{
    key(o, name);
    hk_jw_fmt(o->w, "%llu", (unsigned long long)v);
}
static void boolean(obj *o, const char *name, bool v)
{
    key(o, name);
    hk_jw_bool(o->w, v);
}
static obj open_obj(hk_jw *w, obj *parent, const char *name)
{
    if (parent)
        key(parent, name);
    hk_jw_lit(w, "{");
    return (obj){w, true};
}
static void close_obj(obj *o) { hk_jw_lit(o->w, "}"); }

static void small_box(obj *boxes, const hk_stats_snapshot *s, hak_box_t b)
{
    obj o = open_obj(boxes->w, boxes, hak_box_name(b));
    const hk_box_stats *bs = &s->box[b];
    num(&o, "allocs", bs->allocs);
    num(&o, "frees", bs->frees);
    num(&o, "live", bs->allocs > bs->frees ? bs->allocs - bs->frees : 0);
    num(&o, "live_bytes", bs->live_bytes);
    num(&o, "allocated_bytes", bs->bytes);
    num(&o, "resident_bytes", s->ph.box_bytes[b]);
    num(&o, "peak_resident_bytes", s->ph.box_peak[b]);
    num(&o, "pages", s->ph.box_pages[b]);
    num(&o, "transfer_cached_bytes", s->xfer_cached[b]);
    num(&o, "purged_bytes", s->ph.box_purged[b]);
    num(&o, "fallbacks", bs->fallbacks);
    key(&o, "classes");
    hk_jw_lit(o.w, "[");
    bool first = true;
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_snap *k = &s->cls[c];
        if (!k->size || k->box != b)
            continue;
        if (!first)
            hk_jw_lit(o.w, ", ");
        first = false;
        obj co = open_obj(o.w, NULL, NULL);
        num(&co, "class", (uint64_t)k->decision_class);
        num(&co, "size", k->size);
        num(&co, "allocs", k->allocs);
        num(&co, "frees", k->frees);
        num(&co, "live", hk_class_live(k));
        num(&co, "live_bytes", hk_class_live(k) * k->size);
        num(&co, "free_blocks", hk_class_free_blocks(k));
        num(&co, "pages", k->pages);
        num(&co, "resident_bytes", k->page_bytes);
        close_obj(&co);
    }
    hk_jw_lit(o.w, "]");
    close_obj(&o);
}

bool hk_stats_json(int fd)
{
    hk_stats_snapshot snap, *s = &snap;
    hk_stats_snapshot_take(s);
    hk_jw w;
    hk_jw_start(&w, fd);
    obj top = open_obj(&w, NULL, NULL);
    key(&top, "format");
    hk_jw_str(&w, "hakmem-stats/1");
    key(&top, "hakmem");
    hk_jw_str(&w, PACKAGE_VERSION);
    num(&top, "pid", (uint64_t)getpid());
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe);
    key(&top, "program");
    if (n > 0 && (size_t)n < sizeof exe)
        hk_jw_strn(&w, exe, (size_t)n);
    else
        hk_jw_lit(&w, "null");

    obj set = open_obj(&w, &top, "settings");
    key(&set, "purge_delay_ms");
    hk_jw_fmt(&w, "%ld", s->purge_delay_ms);
    num(&set, "arena_reserved_bytes", s->arena_reserved);
    close_obj(&set);

    obj paths = open_obj(&w, &top, "paths");
    obj leg = open_obj(&w, &paths, "legacy");
    num(&leg, "routed", s->tctr[HK_TCTR_SERVED_LEGACY]);
    close_obj(&leg);
    obj cen = open_obj(&w, &paths, "central");
    num(&cen, "routed", s->tctr[HK_TCTR_SERVED_CENTRAL]);
    close_obj(&cen);
    close_obj(&paths);

    obj r = open_obj(&w, &top, "router");
    boolean(&r, "tiny_ready", s->router.tiny_ready);
    boolean(&r, "pool_ready", s->router.pool_ready);
    boolean(&r, "mid_ready", s->router.mid_ready);
    boolean(&r, "l25_ready", s->router.l25_ready);
    boolean(&r, "ace_ready", s->router.ace_ready);
    boolean(&r, "mmap_ready", s->router.mmap_ready);
    num(&r, "total_routes", s->router.total_routes);
    num(&r, "route_failures", s->router.route_failures);
    num(&r, "fallback_count", s->router.fallback_count);
    close_obj(&r);

    obj boxes = open_obj(&w, &top, "boxes");
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        small_box(&boxes, s, (hak_box_t)b);
    obj mm = open_obj(&w, &boxes, "mmap");
    const hk_box_stats *ms = &s->box[HAK_BOX_MMAP];
    num(&mm, "allocs", ms->allocs);
    num(&mm, "frees", ms->frees);
    num(&mm, "live", ms->allocs > ms->frees ? ms->allocs - ms->frees : 0);
    num(&mm, "live_bytes", s->os.bytes_mapped_now);
    num(&mm, "allocated_bytes", s->os.bytes_total);
    num(&mm, "resident_bytes", s->os.bytes_mapped_now + s->os.bytes_cached);
    num(&mm, "cached_bytes", s->os.bytes_cached);
    num(&mm, "cache_budget_bytes", s->os.cache_budget);
    num(&mm, "purged_bytes", s->os.bytes_purged);
    num(&mm, "reused", s->os.reused);
    close_obj(&mm);
    close_obj(&boxes);

    const hk_ph_stats *ph = &s->ph;
    obj p = open_obj(&w, &top, "page_heap");
    num(&p, "committed_bytes", ph->committed);
    num(&p, "in_pages_bytes", ph->in_pages);
    num(&p, "free_resident_bytes", ph->free_resident);
    num(&p, "free_purged_bytes", ph->free_purged);
    num(&p, "free_resident_bound", ph->dirty_budget);
    num(&p, "purged_bytes", ph->purged_bytes);
    num(&p, "purge_calls", ph->purge_calls);
    num(&p, "purge_failures", ph->purge_failures);
    num(&p, "refaulted_bytes", ph->refaulted);
    num(&p, "pages_taken", ph->pages_alloc);
    num(&p, "pages_given_back", ph->pages_freed);
    num(&p, "pages_shrunk", ph->pages_shrunk);
    num(&p, "pages_grown", ph->pages_grown);
    num(&p, "pages_moved", ph->pages_moved);
    num(&p, "pages_moved_across_boxes", ph->pages_moved_box);
    num(&p, "bytes_moved", ph->bytes_moved);
    close_obj(&p);

    obj locks = open_obj(&w, &top, "locks");
    const struct {
        const char *name;
        const hk_lockcount *c;
    } lk[] = {{"transfer_caches", &s->lock_xfer},
              {"class_page_lists", &s->lock_class},
              {"page_heap", &s->lock_heap}};
    for (unsigned i = 0; i < sizeof lk / sizeof lk[0]; i++) {
        obj l = open_obj(&w, &locks, lk[i].name);
        num(&l, "taken", lk[i].c->acquired);
        num(&l, "waited", lk[i].c->waited);
        close_obj(&l);
    }
    close_obj(&locks);

    obj meta = open_obj(&w, &top, "metadata");
    num(&meta, "resident_bytes", ph->meta_resident);
    num(&meta, "reserved_bytes", ph->meta_reserved);
    close_obj(&meta);

    num(&top, "enomem", s->ctr[HK_CTR_ENOMEM]);
    close_obj(&top);
    hk_jw_lit(&w, "\n");
    hk_jw_flush(&w);
    return !w.failed;
}
