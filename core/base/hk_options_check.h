/* hk_options_check.h: settings that would silently do nothing get one warning each.
 *
 * At init (after hk_options_init), without malloc:
 *   - every HAKMEM_* variable in the environment that is not in the option table
 *     (hk_options.h) gets one warning naming the closest known variable (edit distance), so
 *     HAKMEM_ROUTER_DIF=1 is caught;
 *   - every variable that is set but has no effect in the mode in force gets one warning
 *     saying why (the rules: hk_options_check.c, one row each). A variable whose value was
 *     already refused by hk_options_init is not warned about twice.
 */
#ifndef HK_OPTIONS_CHECK_H
#define HK_OPTIONS_CHECK_H

#include "hk_options.h"

/* central_default: the build's default path (--enable-central-router). */
void hk_options_check(bool central_default);
/* The known variable closest to name (tests). */
const char *hk_options_closest(const char *name, size_t len);

#endif
