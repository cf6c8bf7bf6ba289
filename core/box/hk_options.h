/* hk_options.h: the one table of every HAKMEM_* environment variable.
 *
 * Each row: id, variable name, default, minimum, maximum, one line of help. The table is read
 * once at init (hk_options_init, from the init path, never from inside a malloc fast path);
 * afterwards hk_opt(ID) is a plain array load. A value that does not parse or is out of range
 * gets one warning naming the variable, and the default stays. `hakmem-options`-style listings
 * and the README's table come from hk_options_describe().
 */
#ifndef HK_OPTIONS_H
#define HK_OPTIONS_H

#include "hk_internal.h"

#define HK_OPTION_TABLE(X)                                                                        \
    X(VERBOSE, "HAKMEM_VERBOSE", 0, 0, 1, "1: print init details (prewarm lines) on stderr")      \
    X(STATS, "HAKMEM_STATS", 0, 0, 1, "1: print per-box statistics on stderr at exit")            \
    X(ACE_ENABLED, "HAKMEM_ACE_ENABLED", 1, 0, 1,                                                 \
      "legacy path: 0 sends the ACE ranges (1-8 KiB, 32 KiB-2 MiB) to the mmap box")              \
    X(WRAP_L2, "HAKMEM_WRAP_L2", 1, 0, 1,                                                         \
      "legacy path: 0 sends malloc-wrapper requests in the Pool/L25 ranges to the mmap box")      \
    X(POOL_PREWARM_PAGES, "HAKMEM_POOL_PREWARM_PAGES", 4, 0, 64,                                  \
      "pages pre-allocated at init for each Pool Bridge class (40 KiB, 52 KiB)")                  \
    X(ARENA_GB, "HAKMEM_ARENA_GB", 64, 1, 4096,                                                   \
      "address space (GiB) reserved for the small boxes; halved until the reservation succeeds")

typedef enum {
#define HK_OPT_ENUM(id, name, def, lo, hi, help) HK_OPT_##id,
    HK_OPTION_TABLE(HK_OPT_ENUM)
#undef HK_OPT_ENUM
        HK_OPT_COUNT
} hk_opt_id;

typedef struct {
    const char *name;
    long def, lo, hi;
    const char *help;
} hk_option_desc;

extern long hk_opt_values[HK_OPT_COUNT];
extern const hk_option_desc hk_option_descs[HK_OPT_COUNT];

/* Read every variable from the environment (once; later calls re-read, for tests). */
void hk_options_init(void);
/* Parse one value as the table would; returns false (and leaves *out) when invalid. */
bool hk_option_parse(hk_opt_id id, const char *text, long *out);
/* Override a value (tests). */
void hk_option_set(hk_opt_id id, long value);

HK_INLINE long hk_opt(hk_opt_id id) { return hk_opt_values[id]; }

#endif
