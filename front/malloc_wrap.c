/* malloc_wrap.c: the malloc family exported by libhakmem.so, so that
 * LD_PRELOAD=libhakmem.so replaces the process's allocator. Each symbol passes its caller's
 * return address as the call site. Only the shared library has this file; the unit tests
 * link the core without it and keep glibc's malloc for Check itself.
 *
 * glibc's introspection calls (malloc_info, malloc_stats, mallinfo, mallopt) are answered
 * by hakmem (front/introspect.c), so that a program asking its allocator gets hakmem's figures,
 * not those of glibc's unused heap.
 *
 * Also _exit and _Exit: a process that ends by _exit (shells' children do) runs no exit
 * handler, so the differential record is told here that the end was deliberate before
 * exit_group(2) ends the process, as glibc's _exit does (glibc's own exit() calls its
 * internal _exit, not this one).
 */
#define _GNU_SOURCE
#include <stdlib.h>

#include "hk_front.h"

#define HK_EXPORT __attribute__((visibility("default")))

HK_EXPORT void *malloc(size_t size) { return hk_front_malloc(size, HK_CALLER); }
HK_EXPORT void free(void *p) { hk_front_free(p); }
HK_EXPORT void *calloc(size_t n, size_t size) { return hk_calloc_at(n, size, HK_CALLER); }
HK_EXPORT void *realloc(void *p, size_t size) { return hk_realloc_at(p, size, HK_CALLER); }
HK_EXPORT void *reallocarray(void *p, size_t n, size_t size)
{
    return hk_reallocarray_at(p, n, size, HK_CALLER);
}
HK_EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    return hk_posix_memalign_at(out, align, size, HK_CALLER);
}
HK_EXPORT void *aligned_alloc(size_t align, size_t size)
{
    return hk_aligned_alloc_at(align, size, HK_CALLER);
}
HK_EXPORT void *memalign(size_t align, size_t size)
{
    return hk_memalign_at(align, size, HK_CALLER);
}
HK_EXPORT void *valloc(size_t size) { return hk_valloc_at(size, HK_CALLER); }
HK_EXPORT void *pvalloc(size_t size) { return hk_pvalloc_at(size, HK_CALLER); }
HK_EXPORT size_t malloc_usable_size(void *p) { return hak_malloc_usable_size(p); }
HK_EXPORT void free_sized(void *p, size_t size) { hak_free_sized(p, size); }
HK_EXPORT void free_aligned_sized(void *p, size_t align, size_t size)
{
    hak_free_aligned_sized(p, align, size);
}
HK_EXPORT int malloc_trim(size_t pad) { return hak_malloc_trim(pad); }
HK_EXPORT void _exit(int status) { hk_quick_exit(status); }
HK_EXPORT void _Exit(int status) { hk_quick_exit(status); }
HK_EXPORT struct mallinfo2 mallinfo2(void) { return hak_mallinfo2(); }
HK_EXPORT struct mallinfo mallinfo(void) { return hak_mallinfo(); }
HK_EXPORT int malloc_info(int options, FILE *fp) { return hak_malloc_info(options, fp); }
HK_EXPORT void malloc_stats(void) { hak_malloc_stats(); }
HK_EXPORT int mallopt(int param, int value) { return hak_mallopt(param, value); }
