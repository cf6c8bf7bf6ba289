/* hk_site.h: call sites as (module, offset into it), the key that stays the same across
 * restarts, ASLR and hosts, and the sticky rollout hashes built on it.
 *
 * A site (a return address) is resolved on first sight by walking the loaded objects
 * (dl_iterate_phdr, which neither allocates nor logs): the module that maps it, the offset
 * from the module's load bias (the address the ELF file itself uses, what addr2line takes),
 * and the module's GNU build-id read from its PT_NOTE segment in memory. The answer is cached
 * in a fixed static table (a miss costs a walk; a full table only costs walks). Modules are
 * numbered in the order they are first seen (up to HK_SITE_MODULES); each one's path and
 * build-id are published to the record storage so that reports name them.
 *
 * A site's rollout hash is a fixed hash of (the module's build-id, or its file name when it
 * has none; the offset; the salt): the same site gets the same bucket in every run of the
 * same binary, on any host. Code outside every module (JIT) falls back to its address.
 */
#ifndef HK_SITE_H
#define HK_SITE_H

#include "hk_internal.h"

#define HK_SITE_MODULES 255
#define HK_SITE_OFFSET_BITS 48

/* (module number + 1) << 48 | offset; module number 0 ("none") holds the raw address. */
typedef uint64_t hk_sitekey;

typedef struct {
    char path[480];
    unsigned char build_id[20];
    unsigned build_id_len; /* 0: none */
    uint64_t ident;        /* hash of the build-id, else of the file name */
    uintptr_t bias;        /* load address bias (runtime - link-time address) */
} hk_site_module;

/* Read the main program's identity (at init, before any site is resolved). */
void hk_site_init(void);
/* The key of a call site (slow path: a cache probe, a walk of the loaded objects on a miss). */
hk_sitekey hk_site_key(hak_callsite_t site);
HK_INLINE unsigned hk_sitekey_module(hk_sitekey k) { return (unsigned)(k >> HK_SITE_OFFSET_BITS); }
HK_INLINE uint64_t hk_sitekey_offset(hk_sitekey k)
{
    return k & (((uint64_t)1 << HK_SITE_OFFSET_BITS) - 1);
}
/* Module n (1-based, as in a site key), or NULL. */
const hk_site_module *hk_site_module_get(unsigned n);
unsigned hk_site_module_count(void);

/* Stable hashes for the rollout (0..2^64-1; the bucket is hash % 100). */
uint64_t hk_site_hash(hk_sitekey k, uint64_t salt);
uint64_t hk_site_hash_size(size_t lo, uint64_t salt);
/* The process: the main program's identity (build-id, else file name) and the host name. */
uint64_t hk_site_hash_process(uint64_t salt);
/* The main program: path (from /proc/self/exe) and build-id. */
const hk_site_module *hk_site_program(void);

/* The fork child: release the module lock (the forking thread may not have held it). */
void hk_site_atfork_child(void);
/* Called with each newly numbered module (n: 1-based), to publish it (set by the record). */
extern void (*hk_site_on_module)(unsigned n, const hk_site_module *m);
/* The 64-bit finaliser used by every hash here (splitmix64's). */
HK_INLINE uint64_t hk_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    x ^= x >> 31;
    return x;
}

#endif
