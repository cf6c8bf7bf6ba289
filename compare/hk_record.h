/* hk_record.h: the differential mode's record storage -- every process's divergence state in
 * one fixed-size block that outlives the process.
 *
 * With HAKMEM_DIVERGENCE_REPORT=PATH set, the block is a file next to the report,
 *     <PATH with %p expanded>.<pid>.<start time>.<generation>.hkrec
 * created at the process's first counted call, before it counts anything (made under a
 * temporary name with O_CREAT|O_EXCL|O_NOFOLLOW, its blocks reserved with fallocate so a
 * full disk can never fault a page later, filled, renamed into place without replacing
 * anything) and mapped MAP_SHARED: every counter and record is
 * updated in place, in the page cache, so _exit, abort, SIGKILL, a crash or the OOM killer
 * lose nothing the process counted, and a running process can be read from outside at any
 * moment without signalling it (tools/hakmem-divergence). Without a report path, or when the
 * file cannot be made (one warning), the same block lives in static memory and only the
 * report at exit sees it.
 *
 * Writers: per-thread counters live in slots, one per thread (claimed on the thread's first
 * differential call, released at thread exit with their counts kept, so a later thread adds
 * to them and no folding is ever needed); the owner updates its slot with plain relaxed
 * stores (no read-modify-write on the fast path), readers sum the slots. Slot 0 is shared by
 * threads that found no free slot and by exiting threads, with atomic adds. Everything else
 * (divergences, keys seen, the rollback latch) is written on slow paths with atomics. Every
 * 8-byte field is aligned, so a reader's 8-byte load never sees half an update.
 *
 * Life: state RUNNING from init; EXITED once the exit-time report is written; QUICK_EXIT
 * when the process ended by _exit (no exit handlers, so no report: the record has every
 * call); EXECED when the process called exec (marked just before it, and RUNNING again if the
 * exec failed), or when the next image (also running hakmem with the same report path) found
 * it still RUNNING. A forked child maps a new file of its own over the inherited
 * mapping (same address, so every pointer into the block stays valid) before it can count
 * anything (its file at its first counted call: a child that only execs leaves none). The
 * format is fixed by the static assertions in hk_record.c and described in
 * compare/README.md (tools/hakmem-divergence reads it).
 */
#ifndef HK_RECORD_H
#define HK_RECORD_H

#include <stdatomic.h>

#include "hk_route.h"
#include "hk_sizekey.h"

#define HK_REC_MAGIC "hakmem-record\0\0" /* 16 bytes with the terminating NUL */
#define HK_REC_VERSION 2                 /* 2: the route map and the size histograms */
#define HK_REC_SLOTS 256
#define HK_REC_DIVS 256
#define HK_REC_SITES 8
#define HK_REC_MODULES 64
#define HK_REC_HEADER 8192
/* Request-size buckets of the histograms: [0] sizes 0..16, [k] sizes 2^(k+3)+1 .. 2^(k+4)
 * (k = 1 .. 22, up to 64 MiB), [23] above 64 MiB. */
#define HK_REC_HBUCKETS 24

enum { HK_REC_RUNNING = 1, HK_REC_EXITED = 2, HK_REC_EXECED = 3, HK_REC_QUICK_EXIT = 4 };
enum { HK_REC_EXEC_LEGACY = 0, HK_REC_EXEC_CENTRAL = 1, HK_REC_EXEC_ROLLOUT = 2 };
enum { HK_REPORT_NONE = 0, HK_REPORT_WRITTEN = 1, HK_REPORT_FAILED = 2 };

/* One thread's counters (one cache line). */
/* Bytes of the header's table name (the routing table in force, NUL-terminated). */
#define HK_REC_TABLE_NAME 2048

typedef struct {
    _Atomic uint64_t exec[2];  /* calls through the differential path: [0] legacy executed,
                                  [1] the Central Router executed */
    _Atomic uint64_t compared; /* calls whose two decisions were compared */
    _Atomic uint64_t owner;    /* 0 free, 1 owned by a live thread */
    uint64_t pad[4];
} hk_rec_slot;

typedef struct {
    _Atomic uint64_t site;  /* hk_sitekey; 0: empty */
    _Atomic uint64_t count; /* divergent calls from this site */
} hk_rec_site;

/* One distinct divergence: key = 1 | legacy box << 1 | legacy class << 8 | central box << 16
 * | central class << 24 | entry << 32 | size interval << 40 (classes as uint8, -1 = 255). */
typedef struct {
    _Atomic uint64_t key; /* 0: free */
    _Atomic uint64_t count;
    _Atomic uint64_t size_min1, size_max1; /* size + 1; 0: unset */
    _Atomic uint64_t other_sites;          /* calls from sites past the first HK_REC_SITES */
    _Atomic uint64_t exec_central;         /* of count: calls the Central Router executed */
    uint64_t pad[2];
    hk_rec_site sites[HK_REC_SITES]; /* the first distinct sites, each with its own count */
} hk_rec_div;

typedef struct {
    _Atomic uint32_t state; /* 1: published */
    uint32_t build_id_len;
    unsigned char build_id[20];
    uint32_t pad;
    char path[480];
} hk_rec_module;

typedef struct {
    char magic[16];
    uint32_t version, header_size, file_size, pad0;
    uint32_t slot_off, slot_n, slot_size, pad1;
    uint32_t div_off, div_n, div_size, div_sites;
    uint32_t mod_off, mod_n, mod_size, pad2;
    uint32_t key_off, key_max, key_n, key_truncated;
    /* identity */
    int64_t pid;
    uint64_t start_time; /* clock ticks after boot (/proc/self/stat field 22) */
    char boot_id[40];    /* /proc/sys/kernel/random/boot_id */
    uint64_t instance, parent_instance;
    _Atomic uint32_t state;
    uint32_t generation; /* exec generation of this pid */
    /* mode and knobs */
    int32_t diff, aa, rollout_pct, rollout_by;
    uint64_t sample, salt;
    int32_t use_central, central_default, ace_enabled, wrap_l2;
    _Atomic int32_t executing; /* HK_REC_EXEC_*; legacy after a rollback latch */
    int32_t pad3;
    int64_t rollback_after;
    /* counters of the slow paths */
    _Atomic uint64_t divergent, divergent_exec[2], dropped, keys_seen, shared_slot_threads;
    /* the rollback latch */
    _Atomic uint32_t rollback_latched;
    uint32_t pad4;
    uint64_t rollback_at_compared, rollback_key, rollback_size, rollback_site;
    /* keys seen: bit i of seen[entry] is set once interval i was compared */
    _Atomic uint64_t seen[2][HK_SIZEKEY_MAX / 64];
    _Atomic uint32_t report_state; /* HK_REPORT_* */
    uint32_t program_build_id_len;
    unsigned char program_build_id[20];
    uint32_t pad5;
    char program[2048];
    char table[HK_REC_TABLE_NAME];
    /* version 2 */
    uint32_t route_off, route_entries, hist_off, hist_buckets;
    char pad6[72];
    /* The route map: route[entry][interval] = {legacy box, legacy class, central box, central
     * class} (classes as uint8, -1 = 255) of the interval's sizes, for the table and knobs in
     * force (written with the keys). */
    uint8_t route[2][HK_SIZEKEY_MAX][4];
} hk_rec_header;

typedef struct {
    union {
        hk_rec_header h;
        char header_bytes[HK_REC_HEADER];
    };
    hk_rec_slot slots[HK_REC_SLOTS];
    uint64_t key_lo[HK_SIZEKEY_MAX]; /* lower bound of each size interval */
    hk_rec_module modules[HK_REC_MODULES];
    hk_rec_div divs[HK_REC_DIVS];
    /* Per slot (the slot's owner adds, as to its slot): the compared calls by request-size
     * bucket, [0] executed by legacy, [1] by the Central Router. */
    _Atomic uint64_t hist[HK_REC_SLOTS][2][HK_REC_HBUCKETS];
} hk_rec_block;

/* The block in use (a file mapping, or static memory); never NULL after hk_record_init. */
extern hk_rec_block *hk_rec;

/* Set up the storage for this process, in static memory; with report_tmpl (the
 * HAKMEM_DIVERGENCE_REPORT value) a file is due. */
void hk_record_init(const char *report_tmpl);
/* The first counted call of the process (a thread's setup): create the file and move the
 * block into it (warns once on failure and stays in memory). Idempotent. */
void hk_record_materialize(void);
/* Fill the header's mode fields (from compare's init). */
void hk_record_set_mode(int diff, bool aa, long sample, int rollout_pct, int rollout_by,
                        uint64_t salt, long use_central, bool central_default, int executing,
                        long rollback_after, hk_knobs k, const char *table);
/* The size intervals in force and each path's decision on each of them (written to the
 * block for readers: the route map). */
void hk_record_set_keys(const hk_sizekey *k, const uint8_t route[2][HK_SIZEKEY_MAX][4]);
/* Zero every counter and record (tests; the identity and mode stay). */
void hk_record_reset(void);
/* The fork child: a new block of its own (a new file at the same address), before anything
 * can be counted; the forking thread's slot stays its own. */
void hk_record_atfork_child(void);
/* Normal exit: state EXITED with the report's outcome. */
void hk_record_exit(int report_state);
/* _exit: state QUICK_EXIT, unless the block is not this process's (a vfork child shares its
 * parent's memory). */
void hk_record_quick_exit(void);
/* exec: state EXECED just before the exec (true when it was RUNNING and this process's), so
 * that an image replaced by a program without hakmem (static, setuid, LD_PRELOAD dropped) is
 * not taken for a crash; hk_record_exec_failed() makes it RUNNING again if exec returns. */
bool hk_record_exec_begin(void);
void hk_record_exec_failed(void);

/* The errno of the warning hk_record_init gave (0: none): the exit-time report does not warn
 * again for the same fault. */
int hk_record_init_errno(void);
/* Is the block a file? Its path (valid when so). */
bool hk_record_is_file(void);
const char *hk_record_path(void);

/* Claim a slot for the calling thread (slot 0, shared, if none is free). */
hk_rec_slot *hk_record_claim_slot(void);
void hk_record_release_slot(hk_rec_slot *s);

/* Totals over every slot. */
typedef struct {
    uint64_t exec[2], compared;
} hk_rec_counts;
hk_rec_counts hk_record_counts(void);

/* The owner's increment of its own slot counter: no atomic read-modify-write (no lock
 * prefix), but one aligned 8-byte store that readers never see half-done. On x86-64 that is a
 * single "add $1, mem"; elsewhere a relaxed load and store. */
HK_INLINE void hk_rec_bump(_Atomic uint64_t *c)
{
#if defined(__x86_64__)
    __asm__("addq $1, %0" : "+m"(*(volatile uint64_t *)c));
#else
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
#endif
}

/* The histogram bucket of a request size (HK_REC_HBUCKETS): ceil(log2(size)) - 4, 0 up to
 * 16 bytes, the last above 64 MiB. Sizes up to 1 KiB (most calls) look it up. */
extern uint8_t hk_rec_bucket_small[HK_TINY_MAX + 1];
HK_INLINE unsigned hk_rec_bucket_big(size_t size)
{
    size_t x = size ? size - 1 : 0;
    unsigned b = 60u - (unsigned)__builtin_clzll((unsigned long long)(x | 15));
    return b < HK_REC_HBUCKETS - 1 ? b : HK_REC_HBUCKETS - 1;
}
HK_INLINE unsigned hk_rec_bucket(size_t size)
{
    return size <= HK_TINY_MAX ? hk_rec_bucket_small[size] : hk_rec_bucket_big(size);
}

/* A compared call of the slot's owner: executed by path `central` and compared (one slot
 * load, two adds). */
HK_INLINE void hk_rec_bump_compared(hk_rec_slot *s, bool central)
{
#if defined(__x86_64__)
    __asm__("addq $1, %0\n\taddq $1, %1"
            : "+m"(*(volatile uint64_t *)&s->exec[central]),
              "+m"(*(volatile uint64_t *)&s->compared));
#else
    hk_rec_bump(&s->exec[central]);
    hk_rec_bump(&s->compared);
#endif
}

#endif
