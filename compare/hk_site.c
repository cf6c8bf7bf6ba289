/* hk_site.c: call sites as (module, offset), and the sticky rollout hashes (see hk_site.h).
 *
 *   hk_site_key(site)
 *     -> cache probe (fixed table, lock-free)            hit: the key
 *     -> known modules' address ranges                   found: key, cached
 *     -> dl_iterate_phdr: the object mapping the site    new module numbered, published
 *        (walked without holding our lock: the loader may call malloc under its own)
 */
#define _GNU_SOURCE
#include "hk_site.h"

#include <elf.h>
#include <link.h>
#include <stdatomic.h>
#include <string.h>

#include "hk_sys.h"

#define CACHE_SLOTS 4096
#define CACHE_PROBES 8
#define VALID ((uint64_t)1 << 63)

typedef struct {
    _Atomic uintptr_t addr;
    _Atomic uint64_t val; /* VALID | key */
} cache_slot;

typedef struct {
    hk_site_module m;
    uintptr_t lo, hi; /* the span of its PT_LOAD segments */
} module_rec;

static cache_slot cache[CACHE_SLOTS];
static module_rec modules[HK_SITE_MODULES];
static _Atomic unsigned nmodules;
static atomic_flag modules_lock = ATOMIC_FLAG_INIT;
static hk_site_module program;
static bool program_read;
void (*hk_site_on_module)(unsigned n, const hk_site_module *m);

static uint64_t fnv(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    return h;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static void set_ident(hk_site_module *m)
{
    m->ident = m->build_id_len ? hk_mix64(fnv(m->build_id, m->build_id_len))
                               : hk_mix64(fnv(base_name(m->path), strlen(base_name(m->path))) ^ 1);
}

/* The GNU build-id from the object's PT_NOTE segments, as mapped in memory. */
static void read_build_id(const struct dl_phdr_info *info, hk_site_module *m)
{
    m->build_id_len = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        size_t left = ph->p_memsz;
        while (left >= sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name = (nh->n_namesz + 3) & ~(size_t)3, desc = (nh->n_descsz + 3) & ~(size_t)3;
            size_t all = sizeof *nh + name + desc;
            if (all > left)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 &&
                memcmp(p + sizeof *nh, "GNU", 4) == 0 && nh->n_descsz > 0) {
                size_t n = nh->n_descsz < sizeof m->build_id ? nh->n_descsz : sizeof m->build_id;
                memcpy(m->build_id, p + sizeof *nh + name, n);
                m->build_id_len = (unsigned)n;
                return;
            }
            p += all;
            left -= all;
        }
    }
}

static void read_program_path(void)
{
    if (program_read)
        return;
    ssize_t n = hk_sys_readlink("/proc/self/exe", program.path, sizeof program.path - 1);
    program.path[n > 0 ? n : 0] = '\0';
    program_read = true;
}

typedef struct {
    uintptr_t addr;
    bool found, main_only;
    module_rec r;
} walk_arg;

static int walk(struct dl_phdr_info *info, size_t size, void *varg)
{
    (void)size;
    walk_arg *a = varg;
    bool is_main = info->dlpi_name == NULL || info->dlpi_name[0] == '\0';
    if (a->main_only && !is_main)
        return 0;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    bool inside = false;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        lo = s < lo ? s : lo;
        hi = e > hi ? e : hi;
        inside |= a->addr >= s && a->addr < e;
    }
    if (!inside && !a->main_only)
        return 0;
    module_rec *r = &a->r;
    memset(r, 0, sizeof *r);
    r->lo = lo;
    r->hi = hi;
    r->m.bias = info->dlpi_addr;
    if (is_main) {
        read_program_path();
        memcpy(r->m.path, program.path, sizeof r->m.path);
    } else {
        size_t n = strnlen(info->dlpi_name, sizeof r->m.path - 1);
        memcpy(r->m.path, info->dlpi_name, n);
    }
    read_build_id(info, &r->m);
    set_ident(&r->m);
    a->found = true;
    return 1;
}

void hk_site_init(void) { read_program_path(); }

const hk_site_module *hk_site_program(void)
{
    static bool done;
    if (!done) {
        walk_arg a = {.main_only = true};
        dl_iterate_phdr(walk, &a);
        if (a.found)
            program = a.r.m;
        else
            read_program_path();
        set_ident(&program);
        done = true;
    }
    return &program;
}

unsigned hk_site_module_count(void)
{
    return atomic_load_explicit(&nmodules, memory_order_acquire);
}

const hk_site_module *hk_site_module_get(unsigned n)
{
    return n >= 1 && n <= hk_site_module_count() ? &modules[n - 1].m : NULL;
}

static unsigned module_of(uintptr_t addr)
{
    unsigned n = hk_site_module_count();
    for (unsigned i = 0; i < n; i++)
        if (addr >= modules[i].lo && addr < modules[i].hi)
            return i + 1;
    return 0;
}

static hk_sitekey make_key(unsigned mod, uintptr_t site)
{
    uint64_t off = mod ? (uint64_t)(site - modules[mod - 1].m.bias) : (uint64_t)site;
    return (uint64_t)mod << HK_SITE_OFFSET_BITS |
           (off & (((uint64_t)1 << HK_SITE_OFFSET_BITS) - 1));
}

static hk_sitekey resolve(uintptr_t site)
{
    unsigned mod = module_of(site);
    if (mod)
        return make_key(mod, site);
    walk_arg a = {.addr = site};
    dl_iterate_phdr(walk, &a);
    if (!a.found)
        return make_key(0, site);
    while (atomic_flag_test_and_set_explicit(&modules_lock, memory_order_acquire))
        ;
    mod = module_of(site); /* another thread may have added it meanwhile */
    unsigned n = atomic_load_explicit(&nmodules, memory_order_relaxed);
    if (!mod && n < HK_SITE_MODULES) {
        modules[n] = a.r;
        atomic_store_explicit(&nmodules, n + 1, memory_order_release);
        mod = n + 1;
        if (hk_site_on_module)
            hk_site_on_module(mod, &modules[n].m);
    }
    atomic_flag_clear_explicit(&modules_lock, memory_order_release);
    return mod ? make_key(mod, site) : make_key(0, site);
}

hk_sitekey hk_site_key(hak_callsite_t site)
{
    uint64_t h = hk_mix64((uint64_t)site);
    for (unsigned i = 0; i < CACHE_PROBES; i++) {
        cache_slot *c = &cache[(h + i) & (CACHE_SLOTS - 1)];
        uintptr_t a = atomic_load_explicit(&c->addr, memory_order_acquire);
        if (a == site) {
            uint64_t v = atomic_load_explicit(&c->val, memory_order_acquire);
            if (v & VALID)
                return v & ~VALID;
            return resolve(site); /* being filled in by another thread */
        }
        if (a == 0) {
            uintptr_t zero = 0;
            if (atomic_compare_exchange_strong(&c->addr, &zero, site)) {
                hk_sitekey k = resolve(site);
                atomic_store_explicit(&c->val, VALID | k, memory_order_release);
                return k;
            }
            if (zero == site)
                return resolve(site);
        }
    }
    return resolve(site);
}

void hk_site_atfork_child(void) { atomic_flag_clear(&modules_lock); }

uint64_t hk_site_hash(hk_sitekey k, uint64_t salt)
{
    unsigned mod = hk_sitekey_module(k);
    uint64_t ident = mod && mod <= hk_site_module_count() ? modules[mod - 1].m.ident : 0;
    return hk_mix64(ident ^ hk_mix64(hk_sitekey_offset(k) + salt * 0x9E3779B97F4A7C15ULL));
}

uint64_t hk_site_hash_size(size_t lo, uint64_t salt)
{
    return hk_mix64(hk_mix64((uint64_t)lo ^ 0x5a17e5a17e5a17e5ULL) + salt * 0x9E3779B97F4A7C15ULL);
}

uint64_t hk_site_hash_process(uint64_t salt)
{
    char host[256];
    if (hk_sys_hostname(host, sizeof host) != 0)
        host[0] = '\0';
    const hk_site_module *p = hk_site_program();
    return hk_mix64(p->ident ^ hk_mix64(fnv(host, strlen(host))) ^
                    hk_mix64(salt * 0x9E3779B97F4A7C15ULL + 7));
}
