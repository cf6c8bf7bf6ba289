/* hk_sys.c: the OS primitives (see hk_sys.h). */
#define _GNU_SOURCE
#include "hk_sys.h"

void *hk_sys_mmap(size_t len, int prot, int flags)
{
    return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

int hk_sys_munmap(void *p, size_t len) { return munmap(p, len); }

void *hk_sys_mremap(void *p, size_t old_len, size_t new_len)
{
    return mremap(p, old_len, new_len, MREMAP_MAYMOVE);
}

int hk_sys_madvise(void *p, size_t len, int advice) { return madvise(p, len, advice); }

int hk_sys_mprotect(void *p, size_t len, int prot) { return mprotect(p, len, prot); }
