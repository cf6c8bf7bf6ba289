/*
 * faultsim.c - every OS failure survived (SQLite's faultsim loop, STYLE.md item 17).
 *
 * Linked with libhakmem_faults.la (the core built with HK_FAULT_INJECTION=1). For every OS
 * primitive of hk_sys.h's table, and for N = 1, 2, 3 ... until a run injects nothing, the
 * driver runs the workload in a fresh process (fork + exec, so that hakmem's init is under the
 * fault too) with HAKMEM_FAULT=PRIM:N (the Nth call fails once) or PRIM:N:persist (every call
 * from the Nth on fails). Each run must:
 *   - see every public call either succeed or fail cleanly: NULL with errno ENOMEM (ENOMEM from
 *     posix_memalign), a failed realloc leaving its block intact; every block's contents
 *     intact (stamped and verified) and aligned as asked;
 *   - not crash and not hang (an alarm; the driver's own timeout);
 *   - leak no mapping: after freeing everything and malloc_trim, hakmem's live counters are 0
 *     (each small box's allocations equal its frees; the mmap box maps nothing live), and
 *     /proc/self/maps changed by exactly what hakmem believes it maps (hk_sys_mapped_bytes),
 *     which is its reservation plus what it keeps for reuse (cache, regions munmap refused);
 *   - once the fault stops (disarmed), run the same workload again with no failure at all,
 *     and after malloc_trim hold nothing but its reservation: everything kept is unmapped.
 *
 * The records workload (the differential mode with a record file, a report and a log, and
 * 2 x 50 calls that diverge) is swept too: after each run, what it left on disk is checked
 * (a record file and a report, or hakmem's one warning for each one missing; log lines whole;
 * no temporary file left), and at the end of the sweep tools/hakmem-divergence reads every
 * run's record and report back: none unreadable, every process with exactly its 100
 * divergences (none lost, none invented). A persisting fault persists to the exit, so the
 * exit-time report is written under it too.
 *
 * Usage: faultsim [--quick | --full] [--prim NAME] [--mode once|persist|both] [--max N] [-j J]
 *        faultsim --run quick|full|records   one run, in this process (HAKMEM_FAULT from the
 *                                      environment); what the driver executes
 *   --quick (make check): both modes; the memory primitives on the single-threaded
 *           workload, the file primitives on the records workload;
 *   --full (tools/reliability.sh): the memory primitives on the bigger workload with a second
 *           thread and a fork, and every primitive on the records workload.
 * The records check runs tools/hakmem-divergence from $HK_TOP_SRCDIR (python3).
 * Each (primitive, mode) sweep runs in a process of its own, J at a time (default $HK_JOBS,
 * else 2). Output: one line per primitive and mode; a failure prints the child's output and
 * the command that reproduces it. Exit 0 when every run passed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hakmem.h"
#include "hk_maps.h"
#include "hk_compare.h"
#include "hk_record.h"
#include "hk_slab.h"
#include "hk_sys.h"
#include "hk_mmap.h"

/* ---------------------------------------------------------------- output (no malloc) */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1)
        n = (int)sizeof buf - 1;
    ssize_t w = write(1, buf, (size_t)n);
    (void)w;
}

static atomic_int failures;
#define EXPECT(cond, ...)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char m_[512];                                                                          \
            snprintf(m_, sizeof m_, __VA_ARGS__);                                                  \
            say("FAIL: %s:%d: %s\n", __FILE__, __LINE__, m_);                                      \
            atomic_fetch_add(&failures, 1);                                                        \
        }                                                                                          \
    } while (0)

/* ---------------------------------------------------------------- the workload */

typedef struct {
    unsigned char *p;
    size_t n, align;
    uint32_t tag;
} blk;

static inline unsigned char pat(uint32_t tag, size_t i)
{
    uint64_t x = (uint64_t)tag * 0x9E3779B97F4A7C15ULL + i * 0xBF58476D1CE4E5B9ULL;
    return (unsigned char)(x >> 56 ^ x >> 29);
}

/* the first and last 64 bytes and one every MiB (few pages touched: a run stays fast) */
static void stamp(blk *b)
{
    for (size_t i = 0; i < b->n; i = (i < 64 || i + 64 >= b->n) ? i + 1 : (i | 0xfffff) + 1)
        b->p[i] = pat(b->tag, i);
}

static bool intact(const blk *b, size_t n)
{
    for (size_t i = 0; i < n; i = (i < 64 || i + 64 >= b->n) ? i + 1 : (i | 0xfffff) + 1)
        if (b->p[i] != pat(b->tag, i))
            return false;
    return true;
}

typedef struct {
    bool strict;         /* no failure allowed (the fault has stopped) */
    unsigned long nulls; /* clean failures seen */
} run_ctx;

/* A fresh block of n bytes (align 0: malloc/calloc), or NULL after checking the failure. */
static bool got(run_ctx *c, blk *b, void *p, size_t n, size_t align, int err, const char *call)
{
    if (!p) {
        EXPECT(err == ENOMEM, "%s(%zu, align %zu) -> NULL with errno %d, not ENOMEM", call, n,
               align, err);
        EXPECT(!c->strict, "%s(%zu, align %zu) failed with no fault armed", call, n, align);
        c->nulls++;
        return false;
    }
    static __thread uint32_t tags;
    EXPECT(((uintptr_t)p & ((align ? align : 16) - 1)) == 0, "%s: %p not aligned to %zu", call, p,
           align ? align : 16);
    EXPECT(hak_malloc_usable_size(p) >= n, "%s(%zu): usable %zu", call, n,
           hak_malloc_usable_size(p));
    b->p = p;
    b->n = n;
    b->align = align;
    b->tag = ++tags + (uint32_t)(uintptr_t)&tags;
    stamp(b);
    return true;
}

static void drop(blk *b)
{
    if (!b->p)
        return;
    EXPECT(intact(b, b->n), "block %p (%zu bytes) corrupted", (void *)b->p, b->n);
    hak_free(b->p);
    b->p = NULL;
}

/* realloc b to n: success keeps the prefix, failure keeps the block. */
static void regrow(run_ctx *c, blk *b, size_t n)
{
    if (!b->p)
        return;
    errno = 0;
    void *q = hak_realloc(b->p, n);
    int err = errno;
    if (!q) {
        EXPECT(err == ENOMEM, "realloc(%zu) -> NULL errno %d", n, err);
        EXPECT(!c->strict, "realloc(%zu) failed with no fault armed", n);
        EXPECT(intact(b, b->n), "a failed realloc changed its block");
        c->nulls++;
        return;
    }
    blk old = *b;
    old.p = q;
    size_t keep = n < b->n ? n : b->n;
    EXPECT(intact(&old, keep), "realloc(%zu -> %zu) lost the contents", b->n, n);
    b->p = q;
    b->n = n;
    b->align = 0;
    stamp(b);
}

#define KiB ((size_t)1024)
#define MiB ((size_t)1024 * 1024)

static void workload(run_ctx *c, bool full)
{
    enum { NB = 160 };
    blk live[NB];
    memset(live, 0, sizeof live);
    static const size_t sizes[] = {0,       1,       16,      100,     1024,    1025,
                                   2048,    5000,    8192,    8193,    20000,   32768,
                                   32769,   40960,   50000,   53249,   100000,  500000,
                                   2097151, 2 * MiB, 3 * MiB, 5 * MiB, 17 * MiB};
    /* the quick workload leaves out the biggest blocks (page faults are most of a run) */
    const size_t ns = sizeof sizes / sizeof sizes[0] - (full ? 0 : 2);
    unsigned k = 0;
    int rounds = full ? 3 : 1;
    for (int r = 0; r < rounds; r++) {
        /* malloc and calloc of every box, some kept */
        for (size_t i = 0; i < ns && k < NB; i++) {
            errno = 0;
            bool zero = (i + r) % 3 == 0 && (full || sizes[i] < MiB);
            void *p = zero ? hak_calloc(1, sizes[i]) : hak_malloc(sizes[i]);
            if (p && zero)
                for (size_t j = 0; j < sizes[i]; j += MiB)
                    EXPECT(((unsigned char *)p)[j] == 0, "calloc(%zu) not zeroed at %zu", sizes[i],
                           j);
            if (got(c, &live[k], p, sizes[i], 0, errno, "malloc"))
                k++;
        }
        /* aligned allocations, up to 4 MiB alignment (the mmap box trims its mappings) */
        for (size_t al = 32; al <= 4 * MiB && k < NB; al *= (al < 8192 ? 2 : 16)) {
            size_t n = al < 8192 ? 100 + al : 3 * MiB;
            errno = 0;
            void *p = hak_memalign(al, n);
            if (got(c, &live[k], p, n, al, errno, "memalign"))
                k++;
            void *q = NULL;
            int e = hak_posix_memalign(&q, al, 64);
            if (got(c, &live[k], e ? NULL : q, 64, al, e, "posix_memalign"))
                k++;
        }
        errno = 0;
        void *v = hak_valloc(5000);
        if (k < NB && got(c, &live[k], v, 5000, 4096, errno, "valloc"))
            k++;
        errno = 0;
        v = hak_aligned_alloc(4 * MiB, MiB);
        if (k < NB && got(c, &live[k], v, MiB, 4 * MiB, errno, "aligned_alloc"))
            k++;
        /* realloc across boxes, and mmap blocks grown and shrunk in place (mremap) */
        for (unsigned i = 0; i < k; i += 3)
            if (full || live[i].n < 64 * KiB)
                regrow(c, &live[i], live[i].n * 2 + 1 + (full ? 3 * MiB : MiB) * (i % 2));
        for (unsigned i = 1; i < k; i += 4)
            regrow(c, &live[i], live[i].n / 3 + 1);
        /* the mmap box's cache: more regions than its slots, some beyond its bounds */
        for (int i = 0; i < (full ? 40 : 20); i++) {
            blk t = {0};
            errno = 0;
            size_t n = (size_t)(2 + i % (full ? 7 : 3)) * MiB +
                       (i % 2 ? (full ? 17 : 15) * MiB : 0);
            void *p = hak_malloc(n);
            if (got(c, &t, p, n, 0, errno, "malloc(mmap)"))
                drop(&t);
        }
        /* free half, trim (madvise of free blocks, the cache unmapped), continue */
        for (unsigned i = 0; i < k; i += 2)
            drop(&live[i]);
        hak_malloc_trim(0);
    }
    for (unsigned i = 0; i < NB; i++)
        drop(&live[i]);
}

static void *thread_main(void *arg)
{
    run_ctx *c = arg;
    workload(c, false);
    return NULL;
}

/* Everything freed: hakmem's own counters say nothing is live. */
static void check_nothing_live(const char *when)
{
    for (unsigned cls = 1; cls < HK_NCLASSES; cls++) {
        uint64_t a, f;
        hk_slab_class_counts(cls, &a, &f);
        EXPECT(a == f, "%s: class %u: %llu allocations, %llu frees", when, cls,
               (unsigned long long)a, (unsigned long long)f);
    }
    hk_os_stats os;
    hk_os_get_stats(&os);
    EXPECT(os.allocs == os.frees && os.bytes_mapped_now == 0,
           "%s: mmap box: %llu allocations, %llu frees, %llu bytes live", when,
           (unsigned long long)os.allocs, (unsigned long long)os.frees,
           (unsigned long long)os.bytes_mapped_now);
}

/* Every byte mapped since main is one hakmem accounts for. */
static void check_maps(size_t maps0, size_t sys0, const char *when)
{
    size_t maps = hk_maps_total(NULL), sys = hk_sys_mapped_bytes();
    EXPECT(maps - maps0 == sys - sys0,
           "%s: /proc/self/maps changed by %zd bytes, hakmem's accounting by %zd", when,
           (ssize_t)(maps - maps0), (ssize_t)(sys - sys0));
    hk_os_stats os;
    hk_os_get_stats(&os);
    size_t rec = hk_record_is_file() ? sizeof(hk_rec_block) : 0; /* the record file */
    size_t known = hk_ph_reserved_bytes() + os.bytes_mapped_now + os.bytes_cached + os.bytes_kept +
                   hk_sys_release_pending() + rec;
    EXPECT(sys == known,
           "%s: hakmem maps %zu bytes but accounts for %zu (reserved %zu, mmap live %llu, "
           "cached %llu, kept %llu, pending %zu, record %zu)",
           when, sys, known, hk_ph_reserved_bytes(), (unsigned long long)os.bytes_mapped_now,
           (unsigned long long)os.bytes_cached, (unsigned long long)os.bytes_kept,
           hk_sys_release_pending(), rec);
}

/* The records workload's divergent calls: the table the driver writes sends 350000-350015
 * to the mmap box where the legacy path says L25 (no other call of the workload falls
 * there), and every call is compared (HAKMEM_ROUTER_DIFF=1, sample 1): each of these calls is
 * one divergence, in each of the two phases. */
#define DIVERGENT_CALLS 50
static void divergent_calls(void)
{
    for (int i = 0; i < DIVERGENT_CALLS; i++)
        hak_free(hak_malloc(350000));
}

enum { WL_QUICK, WL_FULL, WL_RECORDS };
static const char *const wl_names[] = {"quick", "full", "records"};

static int run_one(int kind)
{
    bool full = kind == WL_FULL;
    /* glibc's own allocations of this process (stdio, a thread's stack and arena) happen
     * here, before the baseline, so that they do not count as hakmem's. */
    pthread_t t;
    run_ctx tc = {false, 0};
    if (full) {
        pthread_create(&t, NULL, thread_main, &tc);
        pthread_join(t, NULL);
    }
    alarm(60);
    hak_free(hak_malloc(1)); /* init, if the constructor did not */
    size_t maps0 = hk_maps_total(NULL), sys0 = hk_sys_mapped_bytes();
    run_ctx c = {false, 0};
    /* 1. under the fault */
    if (full)
        pthread_create(&t, NULL, thread_main, &tc);
    workload(&c, full);
    if (kind == WL_RECORDS) {
        divergent_calls();
        hk_divergence_write_report(); /* a report now, under the fault (as after SIGUSR2) */
    }
    if (full) {
        pthread_join(t, NULL);
        pid_t pid = fork();
        if (pid == 0) {
            run_ctx cc = {false, 0};
            workload(&cc, false);
            _exit(atomic_load(&failures) ? 1 : 0);
        }
        int st = 0;
        EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0,
               "forked child under the fault: status %#x", st);
    }
    hak_malloc_trim(0);
    check_nothing_live("under the fault");
    check_maps(maps0, sys0, "under the fault");
    uint64_t injected = 0, calls = 0;
    for (int p = 0; p < HK_SYS_COUNT; p++) {
        injected += hk_fault_injected((hk_sys_prim)p);
        calls += hk_fault_calls((hk_sys_prim)p);
    }
    /* 2. the fault stops: the same workload must succeed entirely */
    hk_fault_disarm_all();
    run_ctx s = {true, 0};
    workload(&s, full);
    if (kind == WL_RECORDS)
        divergent_calls();
    hak_malloc_trim(0);
    check_nothing_live("after the fault");
    check_maps(maps0, sys0, "after the fault");
    hk_os_stats os;
    hk_os_get_stats(&os);
    EXPECT(os.bytes_kept == 0 && os.bytes_cached == 0 && hk_sys_release_pending() == 0,
           "after the fault and malloc_trim: %llu bytes kept, %llu cached, %zu pending",
           (unsigned long long)os.bytes_kept, (unsigned long long)os.bytes_cached,
           hk_sys_release_pending());
    size_t rec = hk_record_is_file() ? sizeof(hk_rec_block) : 0;
    EXPECT(hk_sys_mapped_bytes() == hk_ph_reserved_bytes() + rec,
           "after the fault and malloc_trim: hakmem maps %zu bytes, its reservation is %zu "
           "(and its record file %zu)",
           hk_sys_mapped_bytes(), hk_ph_reserved_bytes(), rec);
    int f = atomic_load(&failures);
    say("injected %llu calls %llu nulls %lu failures %d\n", (unsigned long long)injected,
        (unsigned long long)calls, c.nulls + tc.nulls, f);
    /* A fault that persists persists to the end: the exit-time report and the record's last
     * words are written under it too (the driver then checks what is left on disk). */
    const char *spec = getenv("HAKMEM_FAULT");
    if (kind == WL_RECORDS && spec && strstr(spec, ":persist")) {
        hk_sys_prim prim = hk_sys_by_name(spec, strcspn(spec, ":"));
        if (prim != HK_SYS_COUNT)
            hk_fault_arm(prim, 1, true);
    }
    return f ? 1 : 0;
}

/* ---------------------------------------------------------------- the driver */

static const char *self;

/* Run one child; returns 0 pass, 1 fail; *injected gets its count (0: the sweep is done).
 * The records workload writes its record, report and log into rundir (table: the sweep's). */
static int child(const char *spec, int kind, const char *rundir, const char *table,
                 unsigned long long *injected, char *out, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return 1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        setenv("HAKMEM_FAULT", spec, 1);
        if (kind == WL_RECORDS) {
            char path[4096];
            setenv("HAKMEM_ROUTER_DIFF", "1", 1);
            setenv("HAKMEM_ROUTER_TABLE", table, 1);
            snprintf(path, sizeof path, "%s/r.%%p.json", rundir);
            setenv("HAKMEM_DIVERGENCE_REPORT", path, 1);
            snprintf(path, sizeof path, "%s/log.jsonl", rundir);
            setenv("HAKMEM_DIVERGENCE_LOG", path, 1);
        }
        execl(self, self, "--run", wl_names[kind], (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    /* the child's own alarm ends a hang; this bound is the driver's backstop */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while ((r = read(fds[0], out + len, cap - 1 - len)) > 0 && len < cap - 1)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (t1.tv_sec - t0.tv_sec > 120) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            break;
        }
        usleep(1000);
    }
    const char *inj = strstr(out, "injected ");
    *injected = inj ? strtoull(inj + 9, NULL, 10) : 0;
    if (WIFSIGNALED(st)) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "[killed by signal %d%s]\n", WTERMSIG(st),
                 WTERMSIG(st) == SIGALRM ? ": a hang" : "");
        return 1;
    }
    return !(WIFEXITED(st) && WEXITSTATUS(st) == 0 && inj);
}

/* The records a run left in rundir, checked against what the run says: a record file and a
 * report, or hakmem's warning for each one missing; the log's lines whole; no temporary file
 * left unless unlink itself was the failing call. Returns 0, or 1 with the reason in why. */
static int check_rundir(const char *rundir, const char *out, hk_sys_prim prim, int *has_data,
                        char *why, size_t cap)
{
    int nrec = 0, nrep = 0, ntmp = 0;
    DIR *d = opendir(rundir);
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        if (l > 6 && !strcmp(e->d_name + l - 6, ".hkrec"))
            nrec++;
        else if (e->d_name[0] == 'r' && l > 5 && !strcmp(e->d_name + l - 5, ".json"))
            nrep++;
        else if (strstr(e->d_name, ".tmp"))
            ntmp++;
    }
    if (d)
        closedir(d);
    *has_data = nrec + nrep > 0;
    if (nrec > 1 || nrep > 1) {
        snprintf(why, cap, "%d record files and %d reports for one process", nrec, nrep);
        return 1;
    }
    /* A missing record file or report is said: the record's warning names the fault, and
     * the report's, unless it is the same fault (hakmem says a fault once). When write(2)
     * itself is what fails, the warnings cannot be written either (stderr is a write). */
    bool mute = prim == HK_SYS_WRITE;
    if (!nrec && !mute && !strstr(out, "no record file")) {
        snprintf(why, cap, "no record file, and no warning saying so");
        return 1;
    }
    if (!nrep && !mute && !strstr(out, "; no report") && !strstr(out, "no record file")) {
        snprintf(why, cap, "no report, and no warning saying so");
        return 1;
    }
    if (ntmp && prim != HK_SYS_UNLINK) {
        snprintf(why, cap, "%d temporary files left behind", ntmp);
        return 1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/log.jsonl", rundir);
    FILE *f = fopen(path, "r");
    char line[4096];
    int nl = 0;
    while (f && fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        nl++;
        if (line[0] != '{' || l < 3 || strcmp(line + l - 2, "}\n")) {
            snprintf(why, cap, "divergence log line %d is not whole: %.80s", nl, line);
            fclose(f);
            return 1;
        }
    }
    if (f)
        fclose(f);
    if (nl > 1) {
        snprintf(why, cap, "%d divergence log lines for one distinct divergence", nl);
        return 1;
    }
    return 0;
}

/* Every record and report the sweep left, read by tools/hakmem-divergence: none unreadable,
 * and each process with exactly the divergences it made (none lost, none invented); a
 * process whose routing table could not be read (an open, fstat or read refused) runs the
 * built-in table, makes none, and its record says so (hakmem-divergence fails it). */
static int check_records(const char *base, int nprocs, char *why, size_t cap)
{
    const char *src = getenv("HK_TOP_SRCDIR");
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "python3 '%s/tools/hakmem-divergence' --no-symbols --json '%s/merged.json' '%s'/run-* "
             ">'%s/merged.out' 2>&1; python3 -c '\n"
             "import json, sys\n"
             "m = json.load(open(sys.argv[1]))\n"
             "fell = lambda p: str((p.get(\"mode\") or {}).get(\"table\") or "
             "\"\").startswith(\"builtin: \")\n"
             "bad = [p for p in m[\"processes\"] if p[\"divergent\"] != (0 if fell(p) else "
             "int(sys.argv[3])) or p[\"dropped\"]]\n"
             "if m[\"exit_status\"] == 2 or m[\"unreadable\"] or bad or len(m[\"processes\"]) != "
             "int(sys.argv[2]):\n"
             "    print(\"exit_status\", m[\"exit_status\"], \"unreadable\", m[\"unreadable\"], "
             "len(m[\"processes\"]),\n"
             "          \"processes (want\", sys.argv[2], \") with the wrong count:\",\n"
             "          [(p[\"pid\"], p[\"divergent\"], p[\"dropped\"], p[\"sources\"]) for p in "
             "bad][:5])\n"
             "    sys.exit(1)\n"
             "' '%s/merged.json' %d %d >'%s/check.out' 2>&1",
             src ? src : ".", base, base, base, base, nprocs, 2 * DIVERGENT_CALLS, base);
    if (system(cmd) == 0)
        return 0;
    snprintf(cmd, sizeof cmd, "%s/check.out", base);
    FILE *f = fopen(cmd, "r");
    size_t n = f ? fread(why, 1, cap - 1, f) : 0;
    why[n] = '\0';
    if (f)
        fclose(f);
    return 1;
}

/* One sweep: prim in one mode on one workload, N = 1, 2, ... until a run injects nothing.
 * Writes its report with one write at the end (sweeps run side by side); returns the
 * failures. */
static unsigned long sweep(hk_sys_prim prim, bool persist, int kind, unsigned long max)
{
    static char out[1 << 16], rep[1 << 17], why[2048];
    size_t len = 0;
    const char *name = hk_sys_name(prim);
    unsigned long n, runs = 0, fails = 0;
    unsigned long long injected = 1;
    char base[4096] = "", table[4200] = "", rundir[4300] = "";
    int nprocs = 0;
    if (kind == WL_RECORDS) {
        const char *t = getenv("TMPDIR");
        snprintf(base, sizeof base, "%s/hakmem-faultsim.XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(base)) {
            printf("FAIL: %s: mkdtemp %s failed\n", name, base);
            return 1;
        }
        snprintf(table, sizeof table, "%s/table.txt", base);
        FILE *f = fopen(table, "w");
        if (!f)
            return 1;
        fputs("0 1024 tiny\n1025 8192 pool ace\n8193 32768 mid\n32769 53248 pool ace\n"
              "53249 349999 l25 ace\n350000 350015 mmap\n350016 2097151 l25 ace\n"
              "2097152 18446744073709551615 mmap\n",
              f);
        fclose(f);
    }
    for (n = 1; n <= max && injected; n++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s:%lu%s", name, n, persist ? ":persist" : "");
        if (kind == WL_RECORDS) {
            snprintf(rundir, sizeof rundir, "%s/run-%lu", base, n);
            mkdir(rundir, 0755);
        }
        int rc = child(spec, kind, rundir, table, &injected, out, sizeof out);
        int has = 0;
        why[0] = '\0';
        if (!rc && kind == WL_RECORDS && check_rundir(rundir, out, prim, &has, why, sizeof why))
            rc = 1;
        nprocs += has;
        runs++;
        if (rc) {
            fails++;
            char env[9000] = "";
            if (kind == WL_RECORDS)
                snprintf(env, sizeof env,
                         "HAKMEM_ROUTER_DIFF=1 HAKMEM_ROUTER_TABLE=%s "
                         "HAKMEM_DIVERGENCE_REPORT=%s/r.%%p.json "
                         "HAKMEM_DIVERGENCE_LOG=%s/log.jsonl ",
                         table, rundir, rundir);
            len += (size_t)snprintf(rep + len, sizeof rep - len,
                                    "FAIL: HAKMEM_FAULT=%s (%s workload)%s%s:\n%s# reproduce: "
                                    "HAKMEM_FAULT=%s %s%s --run %s\n",
                                    spec, wl_names[kind], why[0] ? ": " : "", why, out, spec, env,
                                    self, wl_names[kind]);
            if (len > sizeof rep - 1)
                len = sizeof rep - 1;
            if (fails == 3) {
                len += (size_t)snprintf(rep + len, sizeof rep - len,
                                        "# (3 failures: the rest of this sweep is skipped)\n");
                break;
            }
            if (!injected)
                injected = 1; /* a crash before reporting: keep sweeping */
        }
    }
    const char *what = "";
    if (kind == WL_RECORDS && !fails) {
        if (check_records(base, nprocs, why, sizeof why)) {
            fails++;
            len += (size_t)snprintf(rep + len, sizeof rep - len,
                                    "FAIL: %s %s (records): hakmem-divergence over %s: %s\n", name,
                                    persist ? "persist" : "once", base, why);
        } else {
            what = ", every record read back whole with every divergence";
            char cmd[4200];
            snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
            if (system(cmd) != 0)
                what = ", every record read back whole with every divergence (not removed)";
        }
    }
    if (len < sizeof rep - 300)
        len += (size_t)snprintf(rep + len, sizeof rep - len,
                                "%s: %s %s (%s): N = 1..%lu (%lu runs%s%s): %lu failed\n",
                                fails ? "FAIL" : "PASS", name, persist ? "persist" : "once",
                                wl_names[kind], runs, runs,
                                injected ? "" : ", the last injected nothing", what, fails);
    ssize_t w = write(1, rep, len);
    (void)w;
    return fails;
}

int main(int argc, char **argv)
{
    self = argv[0];
    if (argc >= 3 && !strcmp(argv[1], "--run"))
        return run_one(!strcmp(argv[2], "full")      ? WL_FULL
                       : !strcmp(argv[2], "records") ? WL_RECORDS
                                                     : WL_QUICK);
    bool full = false;
    const char *only = NULL, *mode = "both";
    unsigned long max = 5000;
    const char *j = getenv("HK_JOBS");
    int jobs = j && atoi(j) > 0 ? atoi(j) : 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--full"))
            full = true;
        else if (!strcmp(argv[i], "--quick"))
            full = false;
        else if (!strcmp(argv[i], "--prim") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "-j") && i + 1 < argc)
            jobs = atoi(argv[++i]) > 0 ? atoi(argv[i]) : 1;
        else {
            fprintf(stderr,
                    "usage: %s [--quick|--full] [--prim NAME] [--mode once|persist|both] "
                    "[--max N] [-j JOBS] | --run quick|full|records\n",
                    argv[0]);
            return 2;
        }
    }
    if (!config_fault_injection) {
        printf("FAIL: faultsim is linked with a core built without fault injection\n");
        return 1;
    }
    fflush(stdout);
    /* Sweeps: the memory primitives on the allocation workload (quick or full); every
     * primitive on the records workload (the differential mode's record file, report and
     * log) -- --quick: the file primitives only (the memory ones have their sweep above).
     * Each (primitive, mode, workload) in a process of its own, `jobs' at a time. */
    int running = 0, bad = 0, nsweeps = 0;
    for (int p = 0; p < HK_SYS_COUNT; p++) {
        if (only && strcmp(only, hk_sys_name((hk_sys_prim)p)))
            continue;
        bool memory = p <= HK_SYS_MPROTECT;
        for (int kind = WL_QUICK; kind <= WL_RECORDS; kind++) {
            if (kind != WL_RECORDS && (!memory || kind != (full ? WL_FULL : WL_QUICK)))
                continue;
            if (kind == WL_RECORDS && memory && !full)
                continue;
            for (int persist = 0; persist < 2; persist++) {
                if (strcmp(mode, "both") && strcmp(mode, persist ? "persist" : "once"))
                    continue;
                if (running == jobs) {
                    int st;
                    if (wait(&st) > 0)
                        bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
                    running--;
                }
                pid_t pid = fork();
                if (pid == 0)
                    _exit(sweep((hk_sys_prim)p, persist, kind, max) ? 1 : 0);
                if (pid < 0) {
                    bad++;
                    continue;
                }
                running++;
                nsweeps++;
            }
        }
    }
    for (int st; running > 0; running--)
        if (wait(&st) > 0)
            bad += !(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    printf("%d sweeps (%s, %d at a time): %d failed\n", nsweeps, full ? "full" : "quick", jobs,
           bad);
    return bad ? 1 : 0;
}
