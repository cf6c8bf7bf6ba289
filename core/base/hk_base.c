/* hk_base.c: the base layer's process-wide data: the "initialised" flag (hk_init.h; set by the
 * front door once init is done, read by every layer), the rare-event counters (hk_stats.h),
 * and the boxes' names (the public hak_box_t, hakmem.h).
 */
#include "hk_init.h"
#include "hk_stats.h"

atomic_bool hk_initialized;
_Atomic uint64_t hk_counters[HK_CTR_COUNT];

const char *hak_box_name(hak_box_t box)
{
    static const char *const names[HAK_BOX_COUNT] = {"none", "tiny", "pool", "mid", "l25", "mmap"};
    return (unsigned)box < HAK_BOX_COUNT ? names[box] : "none";
}
