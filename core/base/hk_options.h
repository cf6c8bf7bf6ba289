/* hk_options.h: the one table of every HAKMEM_* environment variable.
 *
 * Each row: id, variable name, default, minimum, maximum, one line of help. The table is read
 * once at init (hk_options_init, from the init path, never from inside a malloc fast path);
 * afterwards hk_opt(ID) is a plain array load. A value that does not parse or is out of range
 * gets one warning naming the variable, and the default stays. The hakmem-options tool
 * (tools/hakmem-options.c) prints it: the README's table and hakmem(3)'s ENVIRONMENT section
 * are generated from it.
 */
#ifndef HK_OPTIONS_H
#define HK_OPTIONS_H

#include "hk_internal.h"

/* X(id, kind, sec, name, default, min, max, help): kind NUM (an integer in min..max), STR (a
 * path, kept as given; default/min/max unused) or WORD (one of the words that start the help,
 * separated by '|' up to the ':'; stored as its index min..max, default the index); sec
 * SECURE (honoured everywhere) or INSECURE (ignored, with one line saying so, in a
 * secure-execution process: setuid, setgid or file capabilities, getauxval(AT_SECURE)):
 * every option that names a file, weakens a check or prints addresses is INSECURE, so that a
 * user cannot make a privileged program write, read or reveal what it should not. */
#define HK_OPTION_TABLE(X)                                                                         \
    X(VERBOSE, NUM, INSECURE, "HAKMEM_VERBOSE", 0, 0, 1,                                           \
      "1: print init details (prewarm lines) and one line per Central Router decision")            \
    X(STATS, WORD, SECURE, "HAKMEM_STATS", 0, 0, 2,                                                \
      "0|1|json: at exit, 1 prints per-box, per-class and per-path statistics on stderr, json "    \
      "the same as one JSON object (format hakmem-stats/1)")                                       \
    X(ACE_ENABLED, NUM, SECURE, "HAKMEM_ACE_ENABLED", 1, 0, 1,                                     \
      "0 sends the ACE ranges (1-8 KiB, 32 KiB-2 MiB) to the mmap box")                            \
    X(WRAP_L2, NUM, SECURE, "HAKMEM_WRAP_L2", 1, 0, 1,                                             \
      "0 sends malloc-wrapper requests in the Pool/L25 ranges to the mmap box")                    \
    X(POOL_PREWARM_PAGES, NUM, SECURE, "HAKMEM_POOL_PREWARM_PAGES", 4, 0, 64,                      \
      "pages pre-allocated at init for each Pool Bridge class (40 KiB, 52 KiB)")                   \
    X(ARENA_GB, NUM, SECURE, "HAKMEM_ARENA_GB", 64, 1, 4096,                                       \
      "address space (GiB) reserved for the small boxes; halved until the reservation succeeds")   \
    X(PURGE_DELAY_MS, NUM, SECURE, "HAKMEM_PURGE_DELAY_MS", 100, -1, 3600000,                      \
      "free memory goes back to the OS after this many ms free (0: at once, -1: never; the "       \
      "mmap box keeps freed regions up to its peak)")                                              \
    X(USE_CENTRAL_ROUTER, NUM, SECURE, "HAKMEM_USE_CENTRAL_ROUTER", -1, -1, 1,                     \
      "1: the Central Router routes, 0: the legacy path; -1 (unset): the build's default")         \
    X(ROUTER_TABLE, STR, INSECURE, "HAKMEM_ROUTER_TABLE", 0, 0, 0,                                 \
      "file with a routing table (hakmem-routes format) replacing the built-in one at init")       \
    X(ROUTER_DIFF, NUM, SECURE, "HAKMEM_ROUTER_DIFF", 0, 0, 2,                                     \
      "1: differential mode (both decisions per call, divergences recorded); 2: A/A (legacy vs "   \
      "legacy)")                                                                                   \
    X(ROUTER_DIFF_SAMPLE, NUM, SECURE, "HAKMEM_ROUTER_DIFF_SAMPLE", 1, 1, 1000000000,              \
      "compare 1 call in N (per thread) in differential mode")                                     \
    X(DIVERGENCE_REPORT, STR, INSECURE, "HAKMEM_DIVERGENCE_REPORT", 0, 0, 0,                       \
      "JSON divergence report written at exit and after SIGUSR2 (%p: the pid, %%: a %)")           \
    X(DIVERGENCE_LOG, STR, INSECURE, "HAKMEM_DIVERGENCE_LOG", 0, 0, 0,                             \
      "JSON Lines log: one line per distinct divergence when first seen (%p: the pid, %%: a %)")   \
    X(ROUTER_ROLLBACK, NUM, SECURE, "HAKMEM_ROUTER_ROLLBACK", 0, 0, 1000000000,                    \
      "N >= 1: after N divergences while the Central Router executes, latch back to legacy")       \
    X(ROUTER_ROLLOUT, NUM, SECURE, "HAKMEM_ROUTER_ROLLOUT", -1, -1, 100,                           \
      "PCT: that share of keys (sticky, by hash) executes on the Central Router; -1: unset")       \
    X(ROUTER_ROLLOUT_BY, WORD, SECURE, "HAKMEM_ROUTER_ROLLOUT_BY", 0, 0, 2,                        \
      "site|class|process: the rollout's key: call site (module + offset), size class, or the "    \
      "whole process (program and host)")                                                          \
    X(ROUTER_ROLLOUT_SALT, NUM, SECURE, "HAKMEM_ROUTER_ROLLOUT_SALT", 0, 0, 2147483647,            \
      "mixed into the rollout's hash: another salt picks another set of keys")                     \
    X(FAULT, STR, INSECURE, "HAKMEM_FAULT", 0, 0, 0,                                               \
      "fault-injection builds only: PRIM:N[:persist],... makes the Nth call of PRIM fail")

typedef enum {
#define HK_OPT_ENUM(id, kind, sec, name, def, lo, hi, help) HK_OPT_##id,
    HK_OPTION_TABLE(HK_OPT_ENUM)
#undef HK_OPT_ENUM
        HK_OPT_COUNT
} hk_opt_id;

typedef enum { HK_OPT_KIND_NUM, HK_OPT_KIND_STR, HK_OPT_KIND_WORD } hk_opt_kind;
enum { HK_OPTSEC_SECURE = 1, HK_OPTSEC_INSECURE = 0 };

typedef struct {
    const char *name;
    hk_opt_kind kind;
    bool secure; /* honoured in a secure-execution process */
    long def, lo, hi;
    const char *help;
} hk_option_desc;

extern long hk_opt_values[HK_OPT_COUNT];
extern const char *hk_opt_strings[HK_OPT_COUNT];
extern const hk_option_desc hk_option_descs[HK_OPT_COUNT];

/* Read every variable from the environment (once; later calls re-read, for tests), in
 * secure-execution mode when getauxval(AT_SECURE) says so. */
void hk_options_init(void);
/* The same with the mode given (tests: the ignoring logic without a setuid program). */
void hk_options_load(bool secure);
/* Parse one value as the table would; returns false (and leaves *out) when invalid. */
bool hk_option_parse(hk_opt_id id, const char *text, long *out);
/* The index-th word of a WORD option into buf ("" when out of range). */
const char *hk_option_word(hk_opt_id id, long index, char *buf, size_t cap);
/* Override a value (tests). */
void hk_option_set(hk_opt_id id, long value);
/* Called after the routing knobs (HAKMEM_ACE_ENABLED, HAKMEM_WRAP_L2) may have changed: by
 * hk_option_set and hk_options_load. The front door's, registered at init: its class tables
 * repeat decisions made with the knobs in force. */
extern void (*hk_knobs_changed_hook)(void);

HK_INLINE long hk_opt(hk_opt_id id) { return hk_opt_values[id]; }
/* A STR option's value (a copy in static storage), or NULL when unset. */
HK_INLINE const char *hk_opt_str(hk_opt_id id) { return hk_opt_strings[id]; }

#endif
