/* hk_sys.h: the OS primitives hakmem's memory comes from, in one place.
 *
 * Every mmap, munmap, mremap, madvise and mprotect of hakmem goes through these wrappers (the
 * block engine's arena and the mmap box alike), so that the failure of any of them can be
 * handled, counted and, in test builds, injected. They never allocate and never log.
 */
#ifndef HK_SYS_H
#define HK_SYS_H

#include <sys/mman.h>

#include "hk_internal.h"

/* A private anonymous mapping (MAP_FAILED and errno on failure). */
void *hk_sys_mmap(size_t len, int prot, int flags);
int hk_sys_munmap(void *p, size_t len);
/* mremap(2) with MREMAP_MAYMOVE (MAP_FAILED and errno on failure). */
void *hk_sys_mremap(void *p, size_t old_len, size_t new_len);
int hk_sys_madvise(void *p, size_t len, int advice);
int hk_sys_mprotect(void *p, size_t len, int prot);

#endif
