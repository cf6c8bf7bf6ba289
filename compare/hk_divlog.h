/* hk_divlog.h: the divergence log (hk_divlog.c). */
#ifndef HK_DIVLOG_H
#define HK_DIVLOG_H

#include "hk_sizekey.h"
#include "hk_site.h"

/* The log's path template (%p: the pid), from init; NULL or "": no log. */
void hk_divlog_init(const char *tmpl);
/* One line for a divergence first seen (its record's key, the size and site of the call). */
void hk_divlog_line(uint64_t key, size_t size, hk_sitekey sk);
/* After fork: the child opens its own file on its first line. */
void hk_divlog_atfork_child(void);

#endif
