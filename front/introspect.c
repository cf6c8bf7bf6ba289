/* introspect.c: what a program asks its allocator about itself, answered by hakmem: glibc's
 * introspection calls (malloc_info, malloc_stats, mallinfo, mallinfo2, mallopt; exported
 * under their own names by malloc_wrap.c) and hakmem's own statistics calls
 * (hak_stats_print, hak_stats_print_json). Every answer comes from one statistics snapshot
 * (front/hk_stats_snap.h), taken with hakmem's locks each held only while its figures are
 * read, so that nothing of hakmem is locked while the answer is written: malloc_info's stdio
 * may allocate (through hakmem) as any other caller.
 *
 * malloc_info(3) writes XML in glibc's shape (hakmem(3) says what each element holds):
 *   <malloc version="1" allocator="hakmem" hakmem="VERSION" pid="PID">
 *   <heap nr="0" name="tiny">            one heap per small box, nr = its hak_box_t - 1
 *   <sizes>
 *     <size from="16" to="16" total="FREE BYTES" count="FREE BLOCKS" class="0"
 *           allocs="A" frees="F" live="L" live_bytes="LB" pages="P" resident="R"/>
 *   </sizes>
 *   <total type="fast" count="0" size="0"/>  hakmem has no fast bins
 *   <total type="rest" count="FREE BLOCKS" size="FREE BYTES"/>
 *   <system type="current" size="RESIDENT"/><system type="max" size="PEAK RESIDENT"/>
 *   <aspace type="total" size="RESIDENT"/><aspace type="mprotect" size="RESIDENT"/>
 *   </heap> ...
 *   then the totals, the mmap box as glibc's type="mmap", and the arena's system figures.
 * The text is formatted into the writer's own buffer (hk_json.h) and handed to fwrite;
 * the stream is flushed at the end so that a write error is seen: -1 with errno then.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hakmem.h"
#include "hk_front.h"
#include "hk_json.h"
#include "hk_pageheap.h"
#include "hk_purge.h"
#include "hk_stats_snap.h"

/* ---------------------------------------------------------------- hakmem's own */

void hak_stats_print(int fd)
{
    hk_init();
    hk_stats_report(fd);
}

int hak_stats_print_json(int fd)
{
    hk_init();
    int saved = errno;
    if (!hk_stats_json(fd))
        return -1; /* errno from write(2) */
    errno = saved;
    return 0;
}

void hak_malloc_stats(void)
{
    hk_init();
    fflush(stderr); /* what the program wrote before comes first */
    hk_stats_report(2);
}

/* ---------------------------------------------------------------- mallinfo */

static struct mallinfo2 mallinfo_of(const hk_stats_snapshot *s)
{
    struct mallinfo2 mi;
    memset(&mi, 0, sizeof mi);
    size_t live = 0, free_blocks = 0;
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        live += s->box[b].live_bytes;
    for (unsigned c = 1; c < HK_NCLASSES; c++)
        free_blocks += hk_class_free_blocks(&s->cls[c]);
    mi.arena = s->ph.committed; /* the small boxes' memory from the system */
    mi.ordblks = free_blocks;   /* free blocks in the classes' pages */
    mi.hblks = s->box[HAK_BOX_MMAP].allocs - s->box[HAK_BOX_MMAP].frees;
    mi.hblkhd = s->os.bytes_mapped_now;
    mi.uordblks = live;
    mi.fordblks = mi.arena > live ? mi.arena - live : 0;
    mi.keepcost = s->ph.free_resident; /* what malloc_trim could give back at most */
    return mi;
}

struct mallinfo2 hak_mallinfo2(void)
{
    hk_init();
    hk_stats_snapshot s;
    hk_stats_snapshot_take(&s);
    return mallinfo_of(&s);
}

static int sat(size_t v) { return v > (size_t)INT_MAX ? INT_MAX : (int)v; }

struct mallinfo hak_mallinfo(void)
{
    struct mallinfo2 m = hak_mallinfo2();
    struct mallinfo mi;
    mi.arena = sat(m.arena);
    mi.ordblks = sat(m.ordblks);
    mi.smblks = sat(m.smblks);
    mi.hblks = sat(m.hblks);
    mi.hblkhd = sat(m.hblkhd);
    mi.usmblks = sat(m.usmblks);
    mi.fsmblks = sat(m.fsmblks);
    mi.uordblks = sat(m.uordblks);
    mi.fordblks = sat(m.fordblks);
    mi.keepcost = sat(m.keepcost);
    return mi;
}

/* ---------------------------------------------------------------- mallopt */

int hak_mallopt(int param, int value)
{
    hk_init();
    switch (param) {
    case M_TRIM_THRESHOLD:
        /* glibc: free memory kept before trimming; negative: never trim. */
        hk_ph_set_dirty_floor(value < 0 ? SIZE_MAX : (size_t)value);
        return 1;
    case M_CHECK_ACTION:
        /* hakmem always prints one line and aborts: accepted when abort is asked for. */
        return (value & 2) != 0;
    case M_ARENA_MAX:
        /* one arena: every limit of one or more (and 0, glibc's "default") holds */
        return value >= 0;
    case HAK_M_PURGE_DELAY_MS:
        if (value < -1 || value > 3600000)
            return 0;
        hk_purge_set_delay(value);
        return 1;
    default:
        /* M_MXFAST, M_TOP_PAD, M_MMAP_THRESHOLD, M_MMAP_MAX, M_PERTURB, M_ARENA_TEST and
         * anything unknown: no setting of hakmem means that (the mmap threshold is part of
         * the routing both paths must agree on), so refused as glibc refuses: 0. */
        return 0;
    }
}

/* ---------------------------------------------------------------- malloc_info */

static bool file_sink(void *arg, const char *buf, size_t n)
{
    return fwrite(buf, 1, n, (FILE *)arg) == n;
}

static void xml_heap(hk_jw *w, const hk_stats_snapshot *s, hak_box_t b)
{
    uint64_t free_n = 0, free_b = 0;
    hk_jw_fmt(w, "<heap nr=\"%d\" name=\"%s\">\n<sizes>\n", (int)b - 1, hak_box_name(b));
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        const hk_class_snap *k = &s->cls[c];
        if (!k->size || k->box != b)
            continue;
        /* Every block of a class has its size: from == to (glibc's bins span sizes). */
        uint64_t fb = hk_class_free_blocks(k), live = hk_class_live(k);
        free_n += fb;
        free_b += fb * k->size;
        hk_jw_fmt(w,
                  "  <size from=\"%u\" to=\"%u\" total=\"%llu\" count=\"%llu\" class=\"%d\" "
                  "allocs=\"%llu\" frees=\"%llu\" live=\"%llu\" live_bytes=\"%llu\" "
                  "pages=\"%llu\" resident=\"%llu\"/>\n",
                  k->size, k->size, (unsigned long long)(fb * k->size), (unsigned long long)fb,
                  k->decision_class, (unsigned long long)k->allocs, (unsigned long long)k->frees,
                  (unsigned long long)live, (unsigned long long)(live * k->size),
                  (unsigned long long)k->pages, (unsigned long long)k->page_bytes);
    }
    uint64_t cur = s->ph.box_bytes[b], max = s->ph.box_peak[b];
    hk_jw_fmt(w,
              "</sizes>\n<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
              "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
              (unsigned long long)free_n, (unsigned long long)free_b);
    hk_jw_fmt(w, "<system type=\"current\" size=\"%llu\"/>\n<system type=\"max\" size=\"%llu\"/>\n",
              (unsigned long long)cur, (unsigned long long)max);
    hk_jw_fmt(w,
              "<aspace type=\"total\" size=\"%llu\"/>\n<aspace type=\"mprotect\" size=\"%llu\"/>\n"
              "</heap>\n",
              (unsigned long long)cur, (unsigned long long)cur);
}

int hak_malloc_info(int options, FILE *fp)
{
    if (options != 0 || !fp) { /* glibc: options must be 0 */
        errno = EINVAL;
        return -1;
    }
    hk_init();
    hk_stats_snapshot snap, *s = &snap;
    hk_stats_snapshot_take(s);
    int saved = errno;
    hk_jw w;
    hk_jw_start_sink(&w, file_sink, fp);
    hk_jw_fmt(&w, "<malloc version=\"1\" allocator=\"hakmem\" hakmem=\"%s\" pid=\"%d\">\n",
              PACKAGE_VERSION, (int)getpid());
    uint64_t free_n = 0, free_b = 0;
    for (int b = HAK_BOX_TINY; b <= HAK_BOX_L25; b++)
        xml_heap(&w, s, (hak_box_t)b);
    for (unsigned c = 1; c < HK_NCLASSES; c++) {
        free_n += hk_class_free_blocks(&s->cls[c]);
        free_b += hk_class_free_blocks(&s->cls[c]) * s->cls[c].size;
    }
    const hk_box_stats *mm = &s->box[HAK_BOX_MMAP];
    /* (hk_jw_fmt formats up to 512 bytes per call) */
    hk_jw_fmt(&w,
              "<total type=\"fast\" count=\"0\" size=\"0\"/>\n"
              "<total type=\"rest\" count=\"%llu\" size=\"%llu\"/>\n",
              (unsigned long long)free_n, (unsigned long long)free_b);
    hk_jw_fmt(&w, "<total type=\"mmap\" count=\"%llu\" size=\"%llu\" cached=\"%llu\"/>\n",
              (unsigned long long)(mm->allocs - mm->frees),
              (unsigned long long)s->os.bytes_mapped_now, (unsigned long long)s->os.bytes_cached);
    /* The arena is committed as it grows and never shrinks (purged memory stays committed):
     * its committed bytes are their own maximum. */
    hk_jw_fmt(&w,
              "<system type=\"current\" size=\"%llu\"/>\n<system type=\"max\" size=\"%llu\"/>\n",
              (unsigned long long)s->ph.committed, (unsigned long long)s->ph.committed);
    hk_jw_fmt(&w,
              "<aspace type=\"total\" size=\"%llu\"/>\n"
              "<aspace type=\"mprotect\" size=\"%llu\"/>\n</malloc>\n",
              (unsigned long long)s->arena_reserved, (unsigned long long)s->ph.committed);
    hk_jw_flush(&w);
    if (w.failed || fflush(fp) != 0)
        return -1; /* errno from the stream */
    errno = saved;
    return 0;
}
