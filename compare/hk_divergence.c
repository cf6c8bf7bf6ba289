/* hk_divergence.c: divergence records, rollback latch, JSON report and log
 * (formats: compare/README.md).
 *
 * Records live in a fixed table of HK_DIV_SLOTS slots in static storage, keyed by
 * (legacy box+class, central box+class, entry, size bucket) and claimed with a CAS on the
 * key; counts, sizes and the first site are updated with atomics. A full table counts the
 * record as dropped. The report is written with open/write/rename from a static buffer, at
 * exit and, after SIGUSR2, at the process's next allocation (dladdr is not safe inside a
 * signal handler).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "hk_compare.h"
#include "hk_front.h"
#include "hk_init.h"
#include "hk_log.h"
#include "hk_options.h"
#include "hk_slab.h"

#define HK_DIV_SLOTS 256
#define HK_DIV_PROBES 16

typedef struct {
    _Atomic uint64_t key; /* 0: free */
    _Atomic uint64_t count;
    _Atomic uint64_t size_min1, size_max1; /* size + 1 (0: unset) */
    _Atomic uintptr_t site;
    hk_decision legacy, central;
    hk_entry_t entry;
} hk_div_rec;

static hk_div_rec recs[HK_DIV_SLOTS];
static _Atomic uint64_t divergent, dropped;
volatile int hk_report_requested;
bool hk_rollback_latched;
static _Atomic int rollback_once;
static hk_div_rec rollback_rec; /* a copy of the divergence that latched the rollback */
static uint64_t rollback_at_compared;
/* Counters at the last fork: a child reports only its own calls. */
static uint64_t base_calls, base_compared;
static char report_path[4096], log_path[4096];
/* The divergence log, kept open between lines; checked before each write to be still the
 * file hakmem opened (the program may close the descriptor and reuse its number). */
static hk_kept_fd log_kept = {-1, 0, 0, 0, 0};
static pid_t log_pid;

static unsigned size_bucket(size_t size)
{
    return size ? 63u - (unsigned)__builtin_clzll((unsigned long long)size) : 0u;
}

static uint64_t rec_key(hk_decision l, hk_decision c, hk_entry_t e, size_t size)
{
    return 1u | ((uint64_t)l.box << 1) | ((uint64_t)(uint8_t)l.cls << 8) |
           ((uint64_t)c.box << 16) | ((uint64_t)(uint8_t)c.cls << 24) | ((uint64_t)e << 32) |
           ((uint64_t)size_bucket(size) << 40);
}

static void atomic_min_u64(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while ((cur == 0 || v < cur) &&
           !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                  memory_order_relaxed))
        ;
}

static void atomic_max_u64(_Atomic uint64_t *a, uint64_t v)
{
    uint64_t cur = atomic_load_explicit(a, memory_order_relaxed);
    while (v > cur && !atomic_compare_exchange_weak_explicit(a, &cur, v, memory_order_relaxed,
                                                             memory_order_relaxed))
        ;
}

/* "%p" in a path becomes the pid. */
static void expand_path(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *s = in; *s && n + 24 < cap; s++) {
        if (s[0] == '%' && s[1] == 'p') {
            n += hk_fmt(out + n, cap - n, "%d", (int)getpid());
            s++;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = '\0';
}

static void on_sigusr2(int sig)
{
    (void)sig;
    hk_report_requested = 1;
    /* The inline differential path does not look at the flag: send the next allocation
     * through hk_compare_alloc, which writes the report and restores the mode. */
    if (hk_front_mode == HK_FRONT_DIFF_LEGACY || hk_front_mode == HK_FRONT_DIFF_CENTRAL)
        hk_front_mode = HK_FRONT_COMPARE;
}

void hk_divergence_init(void)
{
    const char *r = hk_opt_str(HK_OPT_DIVERGENCE_REPORT);
    const char *l = hk_opt_str(HK_OPT_DIVERGENCE_LOG);
    report_path[0] = log_path[0] = '\0';
    if (r && *r) {
        strncpy(report_path, r, sizeof report_path - 1);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_sigusr2;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGUSR2, &sa, NULL);
    }
    if (l && *l)
        strncpy(log_path, l, sizeof log_path - 1);
}

/* ---------------------------------------------------------------- JSON writer */

typedef struct {
    int fd;
    size_t len;
    bool failed;
    char buf[8192];
} jw;

static void jw_flush(jw *w)
{
    if (w->len && hk_write_all(w->fd, w->buf, w->len) != 0)
        w->failed = true;
    w->len = 0;
}

static void jw_raw(jw *w, const char *s, size_t n)
{
    while (n) {
        if (w->len == sizeof w->buf)
            jw_flush(w);
        size_t k = sizeof w->buf - w->len < n ? sizeof w->buf - w->len : n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void jw_fmt(jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jw_fmt(jw *w, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = hk_vfmt(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    jw_raw(w, tmp, n);
}

static void jw_str(jw *w, const char *s)
{
    if (!s) {
        jw_raw(w, "null", 4);
        return;
    }
    jw_raw(w, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jw_raw(w, e, 2);
        } else if (c < 0x20) {
            char e[8];
            size_t n = hk_fmt(e, sizeof e, "\\u00%c%c", "0123456789abcdef"[c >> 4],
                              "0123456789abcdef"[c & 15]);
            jw_raw(w, e, n);
        } else {
            jw_raw(w, (const char *)&c, 1);
        }
    }
    jw_raw(w, "\"", 1);
}

static const char *entry_name(hk_entry_t e) { return e == HK_ENTRY_API ? "hak_alloc_at" : "malloc"; }

/* One divergence object. resolve: look the site up with dladdr (never in the malloc path). */
static void jw_divergence(jw *w, const hk_div_rec *r, uint64_t count, bool resolve)
{
    uint64_t mn = atomic_load(&r->size_min1), mx = atomic_load(&r->size_max1);
    uintptr_t site = atomic_load(&r->site);
    jw_raw(w, "{\"legacy\": ", 11);
    jw_str(w, hak_box_name(r->legacy.box));
    jw_fmt(w, ", \"legacy_class\": %d, \"central\": ", r->legacy.cls);
    jw_str(w, hak_box_name(r->central.box));
    jw_fmt(w, ", \"central_class\": %d, \"size_min\": %llu, \"size_max\": %llu, \"count\": %llu, "
              "\"entry\": ",
           r->central.cls, (unsigned long long)(mn ? mn - 1 : 0),
           (unsigned long long)(mx ? mx - 1 : 0), (unsigned long long)count);
    jw_str(w, entry_name(r->entry));
    jw_fmt(w, ", \"site\": \"0x%lx\", \"symbol\": ", (unsigned long)site);
    Dl_info info;
    char sym[512];
    if (resolve && site && dladdr((void *)site, &info)) {
        if (info.dli_sname)
            hk_fmt(sym, sizeof sym, "%s+0x%lx", info.dli_sname,
                   (unsigned long)(site - (uintptr_t)info.dli_saddr));
        jw_str(w, info.dli_sname ? sym : NULL);
        jw_raw(w, ", \"object\": ", 12);
        jw_str(w, info.dli_fname);
    } else {
        jw_raw(w, "null, \"object\": null", 20);
    }
    jw_raw(w, "}", 1);
}

/* ---------------------------------------------------------------- recording */

static void log_line(const hk_div_rec *r)
{
    if (!log_path[0])
        return;
    bool same = hk_fd_same(&log_kept);
    if (!same || log_pid != getpid()) {
        char path[4096];
        expand_path(log_path, path, sizeof path);
        if (same) /* ours (a forked child reopens its own %p path) */
            close(log_kept.fd);
        /* else the program closed it, and the number may be one of its own files now */
        /* O_NONBLOCK: a FIFO nobody reads must not hang this allocation (ENXIO instead);
         * a full pipe loses a line rather than stall the program inside malloc. */
        int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
                      0644);
        log_pid = getpid();
        if (fd < 0 || !hk_fd_keep(&log_kept, fd)) {
            hk_warn("HAKMEM_DIVERGENCE_LOG=%s: cannot open (errno %d); no divergence log", path,
                    errno);
            log_path[0] = '\0';
            return;
        }
    }
    jw w;
    w.fd = log_kept.fd;
    w.len = 0;
    w.failed = false;
    jw_fmt(&w, "{\"format\": \"hakmem-divergence-log/1\", \"pid\": %d, \"divergence\": ",
           (int)getpid());
    jw_divergence(&w, r, 1, false);
    jw_raw(&w, "}\n", 2);
    jw_flush(&w); /* one write: appends stay whole lines */
}

void hk_divergence_record(hk_decision l, hk_decision c, size_t size, hak_callsite_t site,
                          hk_entry_t entry, bool central_executing)
{
    uint64_t total = atomic_fetch_add_explicit(&divergent, 1, memory_order_relaxed) + 1;
    uint64_t key = rec_key(l, c, entry, size);
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;
    hk_div_rec *rec = NULL;
    bool fresh = false;
    for (unsigned i = 0; i < HK_DIV_PROBES; i++) {
        hk_div_rec *r = &recs[((h >> 56 ^ h) + i) % HK_DIV_SLOTS];
        uint64_t k = atomic_load_explicit(&r->key, memory_order_acquire);
        if (k == key) {
            rec = r;
            break;
        }
        if (k == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&r->key, &zero, key)) {
                r->legacy = l;
                r->central = c;
                r->entry = entry;
                rec = r;
                fresh = true;
                break;
            }
            if (zero == key) {
                rec = r;
                break;
            }
        }
    }
    if (!rec) {
        atomic_fetch_add_explicit(&dropped, 1, memory_order_relaxed);
    } else {
        uint64_t s1 = size < UINT64_MAX ? (uint64_t)size + 1 : UINT64_MAX;
        atomic_min_u64(&rec->size_min1, s1);
        atomic_max_u64(&rec->size_max1, s1);
        uintptr_t none = 0;
        atomic_compare_exchange_strong(&rec->site, &none, site);
        atomic_fetch_add_explicit(&rec->count, 1, memory_order_relaxed);
        if (fresh)
            log_line(rec);
    }
    long after = hk_opt(HK_OPT_ROUTER_ROLLBACK);
    if (after > 0 && central_executing && total >= (uint64_t)after &&
        atomic_exchange(&rollback_once, 1) == 0) {
        if (rec)
            rollback_rec = *rec;
        else
            rollback_rec = (hk_div_rec){.legacy = l, .central = c, .entry = entry};
        rollback_rec.count = 1;
        rollback_rec.size_min1 = rollback_rec.size_max1 = (uint64_t)size + 1;
        rollback_rec.site = site;
        rollback_at_compared = hk_slab_thread_counter(HK_TCTR_DIFF_COMPARED) - base_compared;
        hk_rollback_latched = true;
        hk_front_update_mode(); /* the inline differential path executes legacy from now */
        hk_warn("rollback: %llu divergences seen while the Central Router executes (latest: "
                "size %zu, legacy %s class %d, central %s class %d, site %p); the legacy path "
                "executes every later allocation",
                (unsigned long long)total, size, hak_box_name(l.box), l.cls,
                hak_box_name(c.box), c.cls, (void *)site);
    }
}

/* ---------------------------------------------------------------- totals and report */

hk_divergence_totals hk_divergence_totals_get(void)
{
    hk_divergence_totals t;
    t.calls = hk_slab_thread_counter(HK_TCTR_DIFF_CALLS) - base_calls;
    t.compared = hk_slab_thread_counter(HK_TCTR_DIFF_COMPARED) - base_compared;
    t.divergent = atomic_load(&divergent);
    t.dropped = atomic_load(&dropped);
    t.distinct = 0;
    for (int i = 0; i < HK_DIV_SLOTS; i++)
        t.distinct += atomic_load(&recs[i].key) != 0;
    t.rolled_back = hk_rollback_latched;
    return t;
}

bool hk_divergence_report_fd(int fd)
{
    static jw w; /* static: the writer's buffer stays off the (possibly small) stack */
    w.fd = fd;
    w.len = 0;
    w.failed = false;
    hk_divergence_totals t = hk_divergence_totals_get();
    char exe[1024];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    long pct = hk_opt(HK_OPT_ROUTER_ROLLOUT);
    const char *executing = hk_rollback_latched ? "legacy"
                            : pct >= 0          ? "rollout"
                            : hk_central_active ? "central"
                                                : "legacy";
    const char *table = hk_opt_str(HK_OPT_ROUTER_TABLE);
    hk_knobs k = hk_knobs_get();
    jw_fmt(&w, "{\n  \"format\": \"hakmem-divergence-report/1\",\n  \"pid\": %d,\n  \"program\": ",
           (int)getpid());
    jw_str(&w, n > 0 ? exe : NULL);
    jw_raw(&w, ",\n  \"executing\": ", 17);
    jw_str(&w, executing);
    jw_fmt(&w, ",\n  \"mode\": {\"diff\": %s, \"sample\": %ld, \"aa\": %s, \"rollout_pct\": %ld, "
               "\"use_central_router\": %ld, \"central_default\": %s, \"rollback_after\": %ld, "
               "\"table\": ",
           hk_opt(HK_OPT_ROUTER_DIFF) ? "true" : "false", hk_opt(HK_OPT_ROUTER_DIFF_SAMPLE),
           hk_opt(HK_OPT_ROUTER_DIFF) == 2 ? "true" : "false", pct,
           hk_opt(HK_OPT_USE_CENTRAL_ROUTER), config_central_router ? "true" : "false",
           hk_opt(HK_OPT_ROUTER_ROLLBACK));
    jw_str(&w, hk_router_table == &hk_table_builtin || !table ? "builtin" : table);
    jw_fmt(&w, "},\n  \"knobs\": {\"ace_enabled\": %s, \"wrap_l2\": %s},\n",
           k.ace_enabled ? "true" : "false", k.wrap_l2 ? "true" : "false");
    jw_fmt(&w, "  \"calls\": %llu,\n  \"compared\": %llu,\n  \"divergent\": %llu,\n"
               "  \"dropped\": %llu,\n  \"rollback\": ",
           (unsigned long long)t.calls, (unsigned long long)t.compared,
           (unsigned long long)t.divergent, (unsigned long long)t.dropped);
    if (t.rolled_back) {
        jw_fmt(&w, "{\"after\": %ld, \"at_compared\": %llu, \"divergence\": ",
               hk_opt(HK_OPT_ROUTER_ROLLBACK), (unsigned long long)rollback_at_compared);
        jw_divergence(&w, &rollback_rec, 1, true);
        jw_raw(&w, "}", 1);
    } else {
        jw_raw(&w, "null", 4);
    }
    jw_raw(&w, ",\n  \"divergences\": [", 20);
    bool first = true;
    for (int i = 0; i < HK_DIV_SLOTS; i++) {
        if (!atomic_load(&recs[i].key))
            continue;
        jw_raw(&w, first ? "\n    " : ",\n    ", first ? 5 : 6);
        jw_divergence(&w, &recs[i], atomic_load(&recs[i].count), true);
        first = false;
    }
    jw_raw(&w, first ? "]\n}\n" : "\n  ]\n}\n", first ? 4 : 7);
    jw_flush(&w);
    return !w.failed;
}

bool hk_divergence_write_report(void)
{
    if (!report_path[0])
        return false;
    char path[4096], tmp[4200];
    expand_path(report_path, path, sizeof path);
    hk_fmt(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        hk_warn("HAKMEM_DIVERGENCE_REPORT=%s: cannot write %s (errno %d); no report",
                report_path, tmp, errno);
        return false;
    }
    /* Written whole, or not at all: a full disk leaves the previous report in place. */
    bool ok = hk_divergence_report_fd(fd);
    ok = (fsync(fd) == 0 || errno == EINVAL) && ok;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        hk_warn("HAKMEM_DIVERGENCE_REPORT=%s: writing %s failed (errno %d); no report",
                report_path, path, errno);
        unlink(tmp);
        return false;
    }
    return true;
}

void hk_divergence_reset(void)
{
    for (int i = 0; i < HK_DIV_SLOTS; i++) {
        atomic_store(&recs[i].key, 0);
        atomic_store(&recs[i].count, 0);
        atomic_store(&recs[i].size_min1, 0);
        atomic_store(&recs[i].size_max1, 0);
        atomic_store(&recs[i].site, 0);
    }
    atomic_store(&divergent, 0);
    atomic_store(&dropped, 0);
    atomic_store(&rollback_once, 0);
    hk_rollback_latched = false;
    hk_front_update_mode();
    base_calls = hk_slab_thread_counter(HK_TCTR_DIFF_CALLS);
    base_compared = hk_slab_thread_counter(HK_TCTR_DIFF_COMPARED);
}

void hk_divergence_atfork_child(void)
{
    /* The child reports only what it does itself; the parent's records stay the parent's.
     * A rollback latched in the parent stays latched. */
    bool latched = hk_rollback_latched;
    int once = atomic_load(&rollback_once);
    hk_divergence_reset();
    hk_rollback_latched = latched;
    hk_front_update_mode();
    atomic_store(&rollback_once, once);
    if (hk_fd_same(&log_kept))
        close(log_kept.fd);
    log_kept.fd = -1;
}
