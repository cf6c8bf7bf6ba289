/* hk_report.c: rendering and writing the JSON report (see hk_report.h). */
#define _GNU_SOURCE
#include "hk_report.h"

#include <dlfcn.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "hk_compare.h"
#include "hk_fileio.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_record.h"
#include "hk_router_inline.h"
#include "hk_sample.h"

static char report_tmpl[HK_PATH_MAX];
static bool enabled;
bool hk_report_exiting;

void hk_report_init(const char *tmpl)
{
    enabled = false;
    if (tmpl && *tmpl && strlen(tmpl) < sizeof report_tmpl) {
        memcpy(report_tmpl, tmpl, strlen(tmpl) + 1);
        enabled = true;
    }
}

bool hk_report_enabled(void) { return enabled; }

static const char *entry_name(unsigned e) { return e == HK_ENTRY_API ? "hak_alloc_at" : "malloc"; }
static const char *exec_name(int e)
{
    return e == HK_REC_EXEC_ROLLOUT ? "rollout" : e == HK_REC_EXEC_CENTRAL ? "central" : "legacy";
}

static void decisions(hk_jw *w, uint64_t key)
{
    hk_jw_lit(w, "\"legacy\": ");
    hk_jw_str(w, hak_box_name((hak_box_t)(key >> 1 & 0x7f)));
    hk_jw_fmt(w, ", \"legacy_class\": %d, \"central\": ", (int)(int8_t)(key >> 8 & 0xff));
    hk_jw_str(w, hak_box_name((hak_box_t)(key >> 16 & 0xff)));
    unsigned iv = (unsigned)(key >> 40 & 0xff);
    hk_jw_fmt(w, ", \"central_class\": %d, \"entry\": \"%s\", \"interval\": [%llu, %llu]",
              (int)(int8_t)(key >> 24 & 0xff), entry_name((unsigned)(key >> 32 & 1)),
              (unsigned long long)(iv < hk_keys.n ? hk_keys.lo[iv] : 0),
              (unsigned long long)(iv < hk_keys.n ? hk_sizekey_hi(&hk_keys, iv) : 0));
}

/* A site: its module number, offset, count, and (resolve) its symbol from dladdr. */
static void site_obj(hk_jw *w, uint64_t tagged, uint64_t count, bool resolve, bool first)
{
    hk_sitekey sk = tagged & ~HK_REPORT_SITE_TAG;
    unsigned mod = hk_sitekey_module(sk);
    uint64_t off = hk_sitekey_offset(sk);
    const hk_site_module *m = hk_site_module_get(mod);
    if (first)
        hk_jw_lit(w, "\"site\": ");
    else
        hk_jw_fmt(w, "{\"module\": %u, \"offset\": ", mod);
    hk_jw_fmt(w, "\"0x%llx\", ", (unsigned long long)off);
    if (!first)
        hk_jw_fmt(w, "\"count\": %llu, ", (unsigned long long)count);
    hk_jw_lit(w, "\"symbol\": ");
    Dl_info info;
    char sym[512];
    uintptr_t addr = (uintptr_t)(m ? m->bias + off : off);
    if (resolve && (m || mod == 0) && dladdr((void *)addr, &info) && info.dli_sname) {
        hk_fmt(sym, sizeof sym, "%s+0x%lx", info.dli_sname,
               (unsigned long)(addr - (uintptr_t)info.dli_saddr));
        hk_jw_str(w, sym);
    } else {
        hk_jw_lit(w, "null");
    }
    hk_jw_lit(w, ", \"object\": ");
    hk_jw_str(w, m ? m->path : NULL);
    if (!first)
        hk_jw_lit(w, "}");
}

static void divergence(hk_jw *w, const hk_rec_div *r, bool resolve)
{
    uint64_t key = atomic_load(&r->key);
    uint64_t mn = atomic_load(&r->size_min1), mx = atomic_load(&r->size_max1);
    hk_jw_lit(w, "{");
    decisions(w, key);
    hk_jw_fmt(w,
              ", \"size_min\": %llu, \"size_max\": %llu, \"count\": %llu, "
              "\"executed_central\": %llu, \"sites\": [",
              (unsigned long long)(mn ? mn - 1 : 0), (unsigned long long)(mx ? mx - 1 : 0),
              (unsigned long long)atomic_load(&r->count),
              (unsigned long long)atomic_load(&r->exec_central));
    uint64_t first = 0;
    for (unsigned i = 0; i < HK_REC_SITES; i++) {
        uint64_t s = atomic_load(&r->sites[i].site);
        if (!s)
            continue;
        if (first)
            hk_jw_lit(w, ", ");
        else
            first = s;
        site_obj(w, s, atomic_load(&r->sites[i].count), resolve, false);
    }
    hk_jw_fmt(w, "], \"other_sites\": %llu, ", (unsigned long long)atomic_load(&r->other_sites));
    if (first) {
        site_obj(w, first, 0, resolve, true);
    } else {
        hk_jw_lit(w, "\"site\": null, \"symbol\": null, \"object\": null");
    }
    hk_jw_lit(w, "}");
}

void hk_report_divergence_first(hk_jw *w, uint64_t key, size_t size, hk_sitekey sk)
{
    hk_jw_lit(w, "{");
    decisions(w, key);
    hk_jw_fmt(w, ", \"size_min\": %zu, \"size_max\": %zu, \"count\": 1, \"sites\": [", size, size);
    site_obj(w, sk | HK_REPORT_SITE_TAG, 1, false, false);
    hk_jw_lit(w, "], \"other_sites\": 0, ");
    site_obj(w, sk | HK_REPORT_SITE_TAG, 1, false, true);
    hk_jw_lit(w, "}");
}

/* One path's map for one entry: [lo, hi, box, class] per run of intervals with one
 * decision. */
static void route_rows(hk_jw *w, const hk_rec_header *h, unsigned e, unsigned path)
{
    hk_jw_lit(w, "[");
    for (unsigned i = 0; i < hk_keys.n;) {
        const uint8_t *d = h->route[e][i] + 2 * path;
        unsigned j = i + 1;
        while (j < hk_keys.n && h->route[e][j][2 * path] == d[0] &&
               h->route[e][j][2 * path + 1] == d[1])
            j++;
        hk_jw_fmt(w, "%s[%llu, %llu, \"%s\", %d]", i ? ", " : "", (unsigned long long)hk_keys.lo[i],
                  (unsigned long long)hk_sizekey_hi(&hk_keys, j - 1), hak_box_name((hak_box_t)d[0]),
                  (int)(int8_t)d[1]);
        i = j;
    }
    hk_jw_lit(w, "]");
}

/* The route map (each path's own decisions, from the table and knobs in force) and the
 * compared calls' request sizes by executing path. */
static void route_and_histogram(hk_jw *w, const hk_rec_header *h)
{
    hk_jw_lit(w, "  \"route_map\": {");
    for (unsigned e = 0; e < 2; e++) {
        hk_jw_fmt(w, "%s\"%s\": {\"legacy\": ", e ? ",\n                " : "", entry_name(e));
        route_rows(w, h, e, 0);
        hk_jw_lit(w, ",\n      \"central\": ");
        route_rows(w, h, e, 1);
        hk_jw_lit(w, "}");
    }
    hk_jw_lit(w, "},\n  \"histogram\": {\"counts\": \"compared calls\", \"buckets\": [");
    for (unsigned k = 0; k < HK_REC_HBUCKETS; k++) {
        unsigned long long lo = k ? (1ull << (k + 3)) + 1 : 0;
        unsigned long long hi = k + 1 < HK_REC_HBUCKETS ? 1ull << (k + 4)
                                                        : (unsigned long long)SIZE_MAX;
        hk_jw_fmt(w, "%s[%llu, %llu]", k ? ", " : "", lo, hi);
    }
    for (unsigned path = 0; path < 2; path++) {
        hk_jw_fmt(w, "],\n    \"%s\": [", path ? "central" : "legacy");
        for (unsigned k = 0; k < HK_REC_HBUCKETS; k++) {
            uint64_t n = 0;
            for (unsigned i = 0; i < HK_REC_SLOTS; i++)
                n += atomic_load_explicit(&hk_rec->hist[i][path][k], memory_order_relaxed);
            hk_jw_fmt(w, "%s%llu", k ? ", " : "", (unsigned long long)n);
        }
    }
    hk_jw_lit(w, "]},\n");
}

/* The Central Router's table in force, rule by rule: [lo, hi, box, ace]. */
static void routing_table(hk_jw *w, const hk_table *t)
{
    hk_jw_lit(w, "  \"routing_table\": [");
    for (int i = 0; i < t->n; i++)
        hk_jw_fmt(w, "%s[%llu, %llu, \"%s\", %s]", i ? ", " : "",
                  (unsigned long long)t->rules[i].lo, (unsigned long long)t->rules[i].hi,
                  hak_box_name(t->rules[i].box), t->rules[i].ace ? "true" : "false");
    hk_jw_lit(w, "],\n");
}

static void hex64(hk_jw *w, uint64_t v)
{
    hk_jw_fmt(w, "\"%08lx%08lx\"", (unsigned long)(v >> 32), (unsigned long)(v & 0xffffffffu));
}

bool hk_divergence_report_fd(int fd)
{
    static hk_jw w; /* static: the writer's buffer stays off the (possibly small) stack */
    hk_jw_start(&w, fd);
    const hk_rec_header *h = &hk_rec->h;
    hk_divergence_totals t = hk_divergence_totals_get();
    char word[32];
    hk_jw_fmt(&w,
              "{\n  \"format\": \"hakmem-divergence-report/2\",\n  \"pid\": %lld,\n"
              "  \"instance\": ",
              (long long)h->pid);
    hex64(&w, h->instance);
    hk_jw_lit(&w, ",\n  \"parent_instance\": ");
    if (h->parent_instance)
        hex64(&w, h->parent_instance);
    else
        hk_jw_lit(&w, "null");
    hk_jw_fmt(&w, ",\n  \"start_time\": %llu,\n  \"boot_id\": ", (unsigned long long)h->start_time);
    hk_jw_strn(&w, h->boot_id, strnlen(h->boot_id, sizeof h->boot_id));
    hk_jw_lit(&w, ",\n  \"state\": ");
    hk_jw_str(&w,
              hk_report_exiting || atomic_load(&h->state) == HK_REC_EXITED ? "exited" : "running");
    hk_jw_lit(&w, ",\n  \"record\": ");
    hk_jw_str(&w, hk_record_path());
    hk_jw_lit(&w, ",\n  \"program\": ");
    hk_jw_str(&w, h->program[0] ? h->program : NULL);
    hk_jw_lit(&w, ",\n  \"program_build_id\": ");
    hk_jw_hex(&w, h->program_build_id, h->program_build_id_len);
    hk_jw_lit(&w, ",\n  \"executing\": ");
    hk_jw_str(&w, exec_name(atomic_load(&h->executing)));
    hk_jw_fmt(&w,
              ",\n  \"mode\": {\"diff\": %s, \"sample\": %llu, \"aa\": %s, \"rollout_pct\": %d, "
              "\"rollout_by\": \"%s\", \"rollout_salt\": %llu, \"use_central_router\": %d, "
              "\"central_default\": %s, \"rollback_after\": %lld, \"table\": ",
              h->diff ? "true" : "false", (unsigned long long)h->sample, h->aa ? "true" : "false",
              h->rollout_pct,
              hk_option_word(HK_OPT_ROUTER_ROLLOUT_BY, h->rollout_by, word, sizeof word),
              (unsigned long long)h->salt, h->use_central, h->central_default ? "true" : "false",
              (long long)h->rollback_after);
    hk_jw_str(&w, h->table);
    hk_jw_fmt(&w, "},\n  \"knobs\": {\"ace_enabled\": %s, \"wrap_l2\": %s},\n",
              h->ace_enabled ? "true" : "false", h->wrap_l2 ? "true" : "false");
    routing_table(&w, hk_router_table);
    hk_jw_fmt(&w,
              "  \"calls\": %llu,\n  \"executed\": {\"legacy\": %llu, \"central\": %llu},\n"
              "  \"compared\": %llu,\n  \"divergent\": %llu,\n"
              "  \"divergent_executed\": {\"legacy\": %llu, \"central\": %llu},\n"
              "  \"dropped\": %llu,\n",
              (unsigned long long)t.calls, (unsigned long long)t.exec[0],
              (unsigned long long)t.exec[1], (unsigned long long)t.compared,
              (unsigned long long)t.divergent, (unsigned long long)t.divergent_exec[0],
              (unsigned long long)t.divergent_exec[1], (unsigned long long)t.dropped);
    hk_jw_fmt(&w,
              "  \"keys\": {\"intervals\": %u, \"seen\": %llu, \"truncated\": %s, \"seen_list\": [",
              hk_keys.n, (unsigned long long)t.keys_seen, hk_keys.truncated ? "true" : "false");
    bool first = true;
    for (unsigned e = 0; e < 2; e++)
        for (unsigned iv = 0; iv < hk_keys.n; iv++)
            if (atomic_load(&h->seen[e][iv / 64]) >> (iv % 64) & 1) {
                hk_jw_fmt(&w, "%s[%llu, %llu, \"%s\"]", first ? "" : ", ",
                          (unsigned long long)hk_keys.lo[iv],
                          (unsigned long long)hk_sizekey_hi(&hk_keys, iv), entry_name(e));
                first = false;
            }
    hk_jw_lit(&w, "]},\n");
    route_and_histogram(&w, h);
    hk_jw_lit(&w, "  \"rollback\": ");
    if (atomic_load(&h->rollback_latched)) {
        hk_jw_fmt(&w, "{\"after\": %lld, \"at_compared\": %llu, \"divergence\": {",
                  (long long)h->rollback_after, (unsigned long long)h->rollback_at_compared);
        decisions(&w, h->rollback_key);
        hk_jw_fmt(&w, ", \"size_min\": %llu, \"size_max\": %llu, \"count\": 1, ",
                  (unsigned long long)h->rollback_size, (unsigned long long)h->rollback_size);
        site_obj(&w, h->rollback_site, 1, true, true);
        hk_jw_lit(&w, "}}");
    } else {
        hk_jw_lit(&w, "null");
    }
    hk_jw_lit(&w, ",\n  \"rollback_inherited\": ");
    hk_jw_bool(&w, hk_divergence_rollback_inherited());
    hk_jw_lit(&w, ",\n  \"modules\": [");
    for (unsigned n = 1; n <= hk_site_module_count(); n++) {
        const hk_site_module *m = hk_site_module_get(n);
        hk_jw_fmt(&w, "%s\n    {\"module\": %u, \"path\": ", n == 1 ? "" : ",", n);
        hk_jw_str(&w, m->path);
        hk_jw_lit(&w, ", \"build_id\": ");
        hk_jw_hex(&w, m->build_id, m->build_id_len);
        hk_jw_lit(&w, "}");
    }
    hk_jw_lit(&w,
              hk_site_module_count() ? "\n  ],\n  \"divergences\": [" : "],\n  \"divergences\": [");
    first = true;
    for (int i = 0; i < HK_REC_DIVS; i++) {
        if (!atomic_load(&hk_rec->divs[i].key))
            continue;
        hk_jw_lit(&w, first ? "\n    " : ",\n    ");
        divergence(&w, &hk_rec->divs[i], true);
        first = false;
    }
    hk_jw_lit(&w, first ? "]\n}\n" : "\n  ]\n}\n");
    hk_jw_flush(&w);
    return !w.failed;
}

static bool write_fn(int fd, void *arg)
{
    (void)arg;
    return hk_divergence_report_fd(fd);
}

bool hk_divergence_write_report(void)
{
    if (!enabled)
        return false;
    char path[HK_PATH_MAX], eb[32];
    const char *why = "the path is too long";
    int err = ENAMETOOLONG;
    bool ok = hk_path_expand(report_tmpl, (int)getpid(), path, sizeof path) &&
              hk_file_write(path, write_fn, NULL, &why, &err);
    char ab[200];
    if (!ok && !(err && err == hk_record_init_errno()))
        hk_warn("HAKMEM_DIVERGENCE_REPORT=%s: %s%s%s%s; no report",
                hk_path_abbrev(report_tmpl, ab, sizeof ab), why, err ? " (" : "",
                err ? hk_errname(err, eb, sizeof eb) : "", err ? ")" : "");
    return ok;
}
