/* hk_record.c: the record storage (see hk_record.h).
 *
 *   hk_record_init(report template)      identity: pid, start time, boot id, random instance;
 *                                        the block in static memory
 *   hk_record_materialize()              the process's first counted call:
 *     -> a temporary file beside the report (O_CREAT|O_EXCL|O_NOFOLLOW), blocks reserved,
 *        mapped MAP_SHARED, filled from the static block, then renamed (never over anything)
 *        to <report>.<pid>.<start>.<gen>.hkrec: a name already there for this pid and start
 *        time is this process's previous image (before an exec), marked EXECED, and the next
 *        generation is tried
 *     -> any failure: one warning, static memory
 *   fork child                           the parent's mapping unmapped, a new identity,
 *                                        empty counts in static memory, a file again at the
 *                                        child's first counted call
 */
#define _GNU_SOURCE
#include "hk_record.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "hk_fileio.h"
#include "hk_log.h"
#include "hk_site.h"
#include "hk_sys.h"

/* The format tools/hakmem-divergence reads (compare/README.md): offsets may never move
 * without a new version. */
_Static_assert(sizeof(hk_rec_slot) == 64, "slot size");
_Static_assert(sizeof(hk_rec_div) == 192, "divergence record size");
_Static_assert(sizeof(hk_rec_module) == 512, "module size");
_Static_assert(sizeof(hk_rec_header) <= HK_REC_HEADER, "header fits");
_Static_assert(offsetof(hk_rec_header, pid) == 96, "header layout");
_Static_assert(offsetof(hk_rec_header, instance) == 152, "header layout");
_Static_assert(offsetof(hk_rec_header, state) == 168, "header layout");
_Static_assert(offsetof(hk_rec_header, diff) == 176, "header layout");
_Static_assert(offsetof(hk_rec_header, sample) == 192, "header layout");
_Static_assert(offsetof(hk_rec_header, executing) == 224, "header layout");
_Static_assert(offsetof(hk_rec_header, rollback_after) == 232, "header layout");
_Static_assert(offsetof(hk_rec_header, divergent) == 240, "header layout");
_Static_assert(offsetof(hk_rec_header, rollback_latched) == 288, "header layout");
_Static_assert(offsetof(hk_rec_header, seen) == 328, "header layout");
_Static_assert(offsetof(hk_rec_header, report_state) == 392, "header layout");
_Static_assert(offsetof(hk_rec_header, program) == 424, "header layout");
_Static_assert(offsetof(hk_rec_header, table) == 2472, "header layout");
_Static_assert(offsetof(hk_rec_header, route_off) == 4520, "header layout");
_Static_assert(offsetof(hk_rec_header, route) == 4608, "header layout");
_Static_assert(offsetof(hk_rec_block, slots) == HK_REC_HEADER &&
                   offsetof(hk_rec_block, key_lo) == 24576 &&
                   offsetof(hk_rec_block, modules) == 26624 &&
                   offsetof(hk_rec_block, divs) == 59392 &&
                   offsetof(hk_rec_block, hist) == 108544 && sizeof(hk_rec_block) == 206848,
               "block layout");

uint8_t hk_rec_bucket_small[HK_TINY_MAX + 1];

static hk_rec_block rec_static;
hk_rec_block *hk_rec = &rec_static;
static bool is_file;
/* The process's threads inside an exec call now: the record says EXECED while any is. */
static _Atomic int exec_inflight;

/* The state `from` becomes `to`, unless it is another by now (another thread ended the
 * process: EXITED, QUICK_EXIT). */
static void state_move(hk_rec_block *b, uint32_t from, uint32_t to)
{
    atomic_compare_exchange_strong(&b->h.state, &from, to);
}

static char rec_path[HK_PATH_MAX];
static char report_tmpl[HK_PATH_MAX];
static bool have_tmpl;
static _Atomic unsigned slot_hint;
static int init_errno; /* the errno of the warning at init, if any */

int hk_record_init_errno(void) { return init_errno; }

bool hk_record_is_file(void) { return is_file; }
const char *hk_record_path(void) { return is_file ? rec_path : NULL; }

/* ---------------------------------------------------------------- identity */

static ssize_t read_file(const char *path, char *buf, size_t cap)
{
    int fd = hk_sys_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    size_t n = 0;
    while (n + 1 < cap) {
        ssize_t r = hk_sys_read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    hk_sys_close(fd);
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Field 22 of /proc/self/stat: the start time in clock ticks after boot (with the pid, it
 * tells this process from a later one that reuses the pid). */
static uint64_t start_time(void)
{
    char buf[1024];
    if (read_file("/proc/self/stat", buf, sizeof buf) <= 0)
        return 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    if (!p)
        return 0;
    p++;
    for (int field = 2; field < 22 && *p; p++) /* after ')', each space starts a field */
        if (*p == ' ')
            field++;
    uint64_t v = 0;
    for (; *p >= '0' && *p <= '9'; p++)
        v = v * 10 + (uint64_t)(*p - '0');
    return v;
}

static void identity(hk_rec_header *h)
{
    h->pid = getpid();
    h->start_time = start_time();
    char buf[64];
    memset(h->boot_id, 0, sizeof h->boot_id);
    if (read_file("/proc/sys/kernel/random/boot_id", buf, sizeof buf) > 0) {
        size_t n = strcspn(buf, "\n");
        memcpy(h->boot_id, buf, n < sizeof h->boot_id - 1 ? n : sizeof h->boot_id - 1);
    }
    h->instance = hk_random64() | 1;
}

static void layout(hk_rec_header *h)
{
    memcpy(h->magic, HK_REC_MAGIC, sizeof h->magic);
    h->version = HK_REC_VERSION;
    h->header_size = HK_REC_HEADER;
    h->file_size = sizeof(hk_rec_block);
    h->slot_off = offsetof(hk_rec_block, slots);
    h->slot_n = HK_REC_SLOTS;
    h->slot_size = sizeof(hk_rec_slot);
    h->div_off = offsetof(hk_rec_block, divs);
    h->div_n = HK_REC_DIVS;
    h->div_size = sizeof(hk_rec_div);
    h->div_sites = HK_REC_SITES;
    h->mod_off = offsetof(hk_rec_block, modules);
    h->mod_n = HK_REC_MODULES;
    h->mod_size = sizeof(hk_rec_module);
    h->key_off = offsetof(hk_rec_block, key_lo);
    h->key_max = HK_SIZEKEY_MAX;
    h->route_off = offsetof(hk_rec_header, route);
    h->route_entries = 2;
    h->hist_off = offsetof(hk_rec_block, hist);
    h->hist_buckets = HK_REC_HBUCKETS;
}

static void publish_module(unsigned n, const hk_site_module *m)
{
    if (n < 1 || n > HK_REC_MODULES)
        return;
    hk_rec_module *r = &hk_rec->modules[n - 1];
    memcpy(r->path, m->path, sizeof r->path - 1);
    r->path[sizeof r->path - 1] = '\0';
    memcpy(r->build_id, m->build_id, sizeof r->build_id);
    r->build_id_len = m->build_id_len;
    atomic_store_explicit(&r->state, 1, memory_order_release);
}

static void program_identity(hk_rec_header *h)
{
    ssize_t n = hk_sys_readlink("/proc/self/exe", h->program, sizeof h->program - 1);
    h->program[n > 0 ? n : 0] = '\0';
}

/* ---------------------------------------------------------------- the file */

/* A file left by this very process before an exec replaced its image: mark it EXECED. */
static void mark_execed(const char *name, const hk_rec_header *me)
{
    static hk_rec_header old; /* init and the fork child run alone */
    int fd = hk_sys_open(name, O_RDWR | O_NOFOLLOW | O_CLOEXEC, 0);
    if (fd < 0)
        return;
    ssize_t n = hk_sys_read(fd, &old, sizeof old);
    if (n == (ssize_t)sizeof old && memcmp(old.magic, HK_REC_MAGIC, sizeof old.magic) == 0 &&
        old.pid == me->pid && old.start_time == me->start_time &&
        memcmp(old.boot_id, me->boot_id, sizeof old.boot_id) == 0 && old.state == HK_REC_RUNNING) {
        uint32_t st = HK_REC_EXECED;
        hk_sys_pwrite(fd, &st, sizeof st, offsetof(hk_rec_header, state));
    }
    hk_sys_close(fd);
}

/* Reserve the file's blocks, so that no later store into the mapping can fault (SIGBUS) on a
 * full disk. Filesystems without fallocate get zeros written. */
static bool reserve(int fd, size_t len)
{
    if (hk_sys_fallocate(fd, (off_t)len) == 0)
        return true;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
        return false;
    static const char zeros[4096];
    for (size_t off = 0; off < len; off += sizeof zeros)
        if (hk_sys_pwrite(fd, zeros, sizeof zeros, (off_t)off) != (ssize_t)sizeof zeros)
            return false;
    return true;
}

static void warn_storage(const char *what, const char *path, int err)
{
    char eb[32], ab[200], ab2[200];
    init_errno = err;
    hk_warn("HAKMEM_DIVERGENCE_REPORT=%s: %s%s%s (%s); no record file: divergences stay in "
            "memory until the report at exit, and a process killed before it leaves nothing",
            hk_path_abbrev(report_tmpl, ab, sizeof ab), what, path ? " " : "",
            path ? hk_path_abbrev(path, ab2, sizeof ab2) : "", hk_errname(err, eb, sizeof eb));
}

/* Create this process's file, fill it from the static block, and map it; on success hk_rec
 * points at it. The file is made under a temporary name and renamed into place (never over
 * anything) once whole, so a reader never finds a record half made. */
static bool open_file(hk_rec_header *id)
{
    char report[HK_PATH_MAX], tmp[HK_PATH_MAX];
    if (!hk_path_expand(report_tmpl, (int)id->pid, report, sizeof report)) {
        warn_storage("the path is too long", NULL, ENAMETOOLONG);
        return false;
    }
    struct stat st;
    if (hk_sys_lstat(report, &st) == 0 && !S_ISREG(st.st_mode))
        return false; /* a FIFO or device is written into at exit; no files beside it */
    /* The temporary name: .<report's name>.<random>.hkrec.tmp beside the report. */
    const char *slash = strrchr(report, '/');
    size_t dl = slash ? (size_t)(slash - report) + 1 : 0;
    uint64_t r = hk_random64();
    char tail[48];
    size_t tl = hk_fmt(tail, sizeof tail, ".%lx%lx.hkrec.tmp", (unsigned long)(r >> 32),
                       (unsigned long)(r & 0xffffffffu));
    size_t rl = strlen(report);
    if (rl + 1 + tl >= sizeof tmp) {
        warn_storage("the path is too long", NULL, ENAMETOOLONG);
        return false;
    }
    memcpy(tmp, report, dl); /* the directory, "." and the name */
    tmp[dl] = '.';
    memcpy(tmp + dl + 1, report + dl, rl - dl);
    memcpy(tmp + rl + 1, tail, tl + 1);
    int fd = hk_sys_open(tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) {
        warn_storage("cannot create the record file", tmp, errno);
        return false;
    }
    void *m = MAP_FAILED;
    int err = 0;
    if (hk_sys_ftruncate(fd, sizeof(hk_rec_block)) != 0 || !reserve(fd, sizeof(hk_rec_block)))
        err = errno;
    else if ((m = hk_sys_mmap_file(NULL, sizeof(hk_rec_block), fd)) == MAP_FAILED)
        err = errno;
    hk_sys_close(fd);
    if (m == MAP_FAILED) {
        warn_storage("cannot set up the record file", tmp, err);
        hk_sys_unlink(tmp);
        return false;
    }
    hk_rec_block *f = m;
    /* the header, the keys and the modules; slots and records are still empty */
    memcpy(f, &rec_static, offsetof(hk_rec_block, slots));
    memcpy(f->key_lo, rec_static.key_lo, sizeof f->key_lo);
    memcpy(f->modules, rec_static.modules, sizeof f->modules);
    for (unsigned i = 0; i < HK_REC_DIVS; i++)
        if (atomic_load(&rec_static.divs[i].key))
            memcpy(&f->divs[i], &rec_static.divs[i], sizeof f->divs[i]);
    for (unsigned i = 0; i < HK_REC_SLOTS; i++)
        if (atomic_load(&rec_static.slots[i].owner) | atomic_load(&rec_static.slots[i].exec[0]) |
            atomic_load(&rec_static.slots[i].exec[1])) {
            memcpy(&f->slots[i], &rec_static.slots[i], sizeof f->slots[i]);
            memcpy(&f->hist[i], &rec_static.hist[i], sizeof f->hist[i]);
        }
    /* The name: the first generation free for this pid and start time; one already there
     * is this process's previous image (before an exec), marked as such. */
    for (unsigned gen = 0; gen < 64; gen++) {
        char tail[80];
        size_t tl = hk_fmt(tail, sizeof tail, ".%lld.%llu.%u.hkrec", (long long)id->pid,
                           (unsigned long long)id->start_time, gen);
        size_t rl = strlen(report);
        if (rl + tl >= sizeof rec_path) {
            err = ENAMETOOLONG;
            break;
        }
        memcpy(rec_path, report, rl);
        memcpy(rec_path + rl, tail, tl + 1);
        f->h.generation = id->generation = gen;
        if (hk_sys_rename_noreplace(tmp, rec_path) == 0) {
            atomic_store_explicit(&f->h.state, HK_REC_RUNNING, memory_order_release);
            hk_rec = f;
            is_file = true;
            /* An exec that another thread began meanwhile marked the static block. */
            if (atomic_load(&exec_inflight) > 0)
                state_move(f, HK_REC_RUNNING, HK_REC_EXECED);
            return true;
        }
        err = errno;
        if (err != EEXIST)
            break;
        mark_execed(rec_path, id);
    }
    warn_storage("cannot name the record file", rec_path, err);
    hk_sys_munmap(f, sizeof(hk_rec_block));
    hk_sys_unlink(tmp);
    return false;
}

/* ---------------------------------------------------------------- life */

static bool pending;        /* a file is due at the first counted call */
static hk_rec_header ident; /* this process's identity, read at init or fork */
static atomic_flag materialize_lock = ATOMIC_FLAG_INIT;

void hk_record_init(const char *tmpl)
{
    if (is_file || pending) { /* re-init (tests): start over in the same storage */
        hk_record_reset();
        return;
    }
    for (size_t i = 0; i <= HK_TINY_MAX; i++)
        hk_rec_bucket_small[i] = (uint8_t)hk_rec_bucket_big(i);
    have_tmpl = tmpl && *tmpl;
    if (have_tmpl) {
        size_t n = strlen(tmpl);
        if (n >= sizeof report_tmpl)
            n = sizeof report_tmpl - 1;
        memcpy(report_tmpl, tmpl, n);
        report_tmpl[n] = '\0';
    }
    memset(&ident, 0, sizeof ident);
    identity(&ident);
    hk_rec = &rec_static;
    pending = have_tmpl;
    hk_rec_header *h = &hk_rec->h;
    h->pid = ident.pid;
    h->start_time = ident.start_time;
    memcpy(h->boot_id, ident.boot_id, sizeof h->boot_id);
    h->instance = ident.instance;
    layout(h);
    program_identity(h);
    const hk_site_module *prog = hk_site_program();
    memcpy(h->program_build_id, prog->build_id, sizeof h->program_build_id);
    h->program_build_id_len = prog->build_id_len;
    hk_site_on_module = publish_module;
    for (unsigned n = 1; n <= hk_site_module_count(); n++)
        publish_module(n, hk_site_module_get(n));
    atomic_store_explicit(&h->state, HK_REC_RUNNING, memory_order_release);
}

/* The process's first counted call: move the block into its file. Until then nothing was
 * counted, so a process (or a fork child on its way to exec) that never allocates leaves
 * no file. */
void hk_record_materialize(void)
{
    if (!pending)
        return;
    while (atomic_flag_test_and_set_explicit(&materialize_lock, memory_order_acquire))
        ;
    if (pending) {
        pending = false;
        open_file(&ident);
    }
    atomic_flag_clear_explicit(&materialize_lock, memory_order_release);
}

void hk_record_set_mode(int diff, bool aa, long sample, int rollout_pct, int rollout_by,
                        uint64_t salt, long use_central, bool central_default, int executing,
                        long rollback_after, hk_knobs k, const char *table)
{
    hk_rec_header *h = &hk_rec->h;
    h->diff = diff;
    h->aa = aa;
    h->sample = (uint64_t)sample;
    h->rollout_pct = rollout_pct;
    h->rollout_by = rollout_by;
    h->salt = salt;
    h->use_central = (int32_t)use_central;
    h->central_default = central_default;
    h->ace_enabled = k.ace_enabled;
    h->wrap_l2 = k.wrap_l2;
    atomic_store(&h->executing, executing);
    h->rollback_after = rollback_after;
    size_t n = table ? strlen(table) : 0;
    if (n >= sizeof h->table)
        n = sizeof h->table - 1;
    memcpy(h->table, table ? table : "", n);
    h->table[n] = '\0';
}

void hk_record_set_keys(const hk_sizekey *k, const uint8_t route[2][HK_SIZEKEY_MAX][4])
{
    for (unsigned i = 0; i < k->n; i++)
        hk_rec->key_lo[i] = k->lo[i];
    memcpy(hk_rec->h.route, route, sizeof hk_rec->h.route);
    hk_rec->h.key_n = k->n;
    hk_rec->h.key_truncated = k->truncated;
}

static void zero_counts(hk_rec_block *b)
{
    hk_rec_header *h = &b->h;
    for (unsigned i = 0; i < HK_REC_SLOTS; i++) {
        hk_rec_slot *s = &b->slots[i];
        if (atomic_load(&s->exec[0]) | atomic_load(&s->exec[1]) | atomic_load(&s->compared)) {
            atomic_store(&s->exec[0], 0);
            atomic_store(&s->exec[1], 0);
            atomic_store(&s->compared, 0);
            for (unsigned e = 0; e < 2; e++)
                for (unsigned k = 0; k < HK_REC_HBUCKETS; k++)
                    atomic_store(&b->hist[i][e][k], 0);
        }
    }
    for (unsigned i = 0; i < HK_REC_DIVS; i++)
        if (atomic_load(&b->divs[i].key))
            memset(&b->divs[i], 0, sizeof b->divs[i]);
    atomic_store(&h->divergent, 0);
    atomic_store(&h->divergent_exec[0], 0);
    atomic_store(&h->divergent_exec[1], 0);
    atomic_store(&h->dropped, 0);
    atomic_store(&h->keys_seen, 0);
    atomic_store(&h->rollback_latched, 0);
    h->rollback_at_compared = h->rollback_key = h->rollback_size = h->rollback_site = 0;
    for (unsigned e = 0; e < 2; e++)
        for (unsigned i = 0; i < HK_SIZEKEY_MAX / 64; i++)
            atomic_store(&h->seen[e][i], 0);
}

void hk_record_reset(void) { zero_counts(hk_rec); }

void hk_record_atfork_child(void)
{
    hk_rec_block *old = hk_rec;
    bool was_file = is_file;
    if (old != &rec_static) /* the header, keys and modules: the child's too */
        memcpy(&rec_static, old, offsetof(hk_rec_block, slots));
    if (old != &rec_static) {
        memcpy(rec_static.key_lo, old->key_lo, sizeof rec_static.key_lo);
        memcpy(rec_static.modules, old->modules, sizeof rec_static.modules);
    }
    hk_rec = &rec_static;
    is_file = false;
    if (was_file) /* the child never writes into its parent's record again */
        hk_sys_munmap(old, sizeof(hk_rec_block));
    zero_counts(&rec_static);
    for (unsigned i = 0; i < HK_REC_SLOTS; i++) /* the child's threads claim slots anew */
        atomic_store(&rec_static.slots[i].owner, 0);
    atomic_flag_clear(&materialize_lock);
    atomic_store(&exec_inflight, 0); /* the forking thread was not in an exec */
    hk_rec_header *h = &rec_static.h;
    uint64_t parent = h->instance;
    memset(&ident, 0, sizeof ident);
    identity(&ident);
    h->pid = ident.pid;
    h->start_time = ident.start_time;
    memcpy(h->boot_id, ident.boot_id, sizeof h->boot_id);
    h->instance = ident.instance;
    h->parent_instance = parent;
    h->generation = 0;
    h->report_state = HK_REPORT_NONE;
    atomic_store(&h->state, HK_REC_RUNNING);
    pending = have_tmpl && (was_file || pending);
}

void hk_record_exit(int report_state)
{
    atomic_store(&hk_rec->h.report_state, (uint32_t)report_state);
    atomic_store_explicit(&hk_rec->h.state, HK_REC_EXITED, memory_order_release);
}

void hk_record_quick_exit(void)
{
    if (hk_rec->h.pid == getpid() && atomic_load(&hk_rec->h.state) == HK_REC_RUNNING)
        atomic_store_explicit(&hk_rec->h.state, HK_REC_QUICK_EXIT, memory_order_release);
}

bool hk_record_exec_begin(void)
{
    if (hk_rec->h.pid != getpid())
        return false;
    atomic_fetch_add(&exec_inflight, 1); /* first: see the file's publication below */
    state_move(hk_rec, HK_REC_RUNNING, HK_REC_EXECED);
    return true;
}

void hk_record_exec_failed(void)
{
    if (atomic_fetch_sub(&exec_inflight, 1) != 1)
        return; /* another thread's exec is still in flight */
    state_move(hk_rec, HK_REC_EXECED, HK_REC_RUNNING);
    if (atomic_load(&exec_inflight) > 0) /* one began meanwhile, and saw EXECED */
        state_move(hk_rec, HK_REC_RUNNING, HK_REC_EXECED);
}

/* ---------------------------------------------------------------- slots */

hk_rec_slot *hk_record_claim_slot(void)
{
    unsigned start = atomic_fetch_add_explicit(&slot_hint, 1, memory_order_relaxed);
    for (unsigned k = 0; k < HK_REC_SLOTS - 1; k++) {
        hk_rec_slot *s = &hk_rec->slots[1 + (start + k) % (HK_REC_SLOTS - 1)];
        uint64_t free_ = 0;
        if (atomic_load_explicit(&s->owner, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(&s->owner, &free_, 1, memory_order_acquire,
                                                    memory_order_relaxed))
            return s;
    }
    atomic_fetch_add_explicit(&hk_rec->h.shared_slot_threads, 1, memory_order_relaxed);
    return &hk_rec->slots[0];
}

void hk_record_release_slot(hk_rec_slot *s)
{
    if (s && s != &hk_rec->slots[0])
        atomic_store_explicit(&s->owner, 0, memory_order_release);
}

hk_rec_counts hk_record_counts(void)
{
    hk_rec_counts c = {{0, 0}, 0};
    for (unsigned i = 0; i < HK_REC_SLOTS; i++) {
        const hk_rec_slot *s = &hk_rec->slots[i];
        c.exec[0] += atomic_load_explicit(&s->exec[0], memory_order_relaxed);
        c.exec[1] += atomic_load_explicit(&s->exec[1], memory_order_relaxed);
        c.compared += atomic_load_explicit(&s->compared, memory_order_relaxed);
    }
    return c;
}
