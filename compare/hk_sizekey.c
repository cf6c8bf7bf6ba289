/* hk_sizekey.c: building the size partition (see hk_sizekey.h). */
#include "hk_sizekey.h"

#include "hk_ace.h"
#include "hk_mid.h"
#include "hk_tiny.h"

static void add(size_t *e, unsigned *n, size_t v)
{
    if (*n < 2 * HK_SIZEKEY_MAX)
        e[(*n)++] = v;
}

void hk_sizekey_build(hk_sizekey *k, const hk_table *t)
{
    size_t e[2 * HK_SIZEKEY_MAX];
    unsigned n = 0;
    add(e, &n, 0);
    add(e, &n, 1); /* malloc(0) is its own key */
    for (unsigned c = 0; c < HK_TINY_NCLASSES; c++)
        add(e, &n, (size_t)hk_tiny_sizes[c] + 1);
    for (unsigned c = 0; c < HK_ACE_NCLASSES; c++)
        add(e, &n, (size_t)hk_ace_sizes[c] + 1);
    for (unsigned c = 0; c < HK_MID_NCLASSES; c++)
        add(e, &n, (size_t)hk_mid_sizes[c] + 1);
    /* the legacy path's primary router, and the largest possible request */
    add(e, &n, HK_TINY_MAX + 1);
    add(e, &n, HK_POOL_LOW_MAX + 1);
    add(e, &n, HK_MID_MAX + 1);
    add(e, &n, HK_POOL_MAX + 1);
    add(e, &n, HK_MMAP_MIN);
    add(e, &n, HK_MAX_REQUEST + 1);
    for (int r = 0; r < t->n; r++) {
        add(e, &n, t->rules[r].lo);
        if (t->rules[r].hi < SIZE_MAX)
            add(e, &n, t->rules[r].hi + 1);
    }
    /* sort (insertion: a few hundred values, once) and drop repeats */
    for (unsigned i = 1; i < n; i++) {
        size_t v = e[i];
        unsigned j = i;
        for (; j > 0 && e[j - 1] > v; j--)
            e[j] = e[j - 1];
        e[j] = v;
    }
    k->n = 0;
    k->truncated = false;
    for (unsigned i = 0; i < n; i++) {
        if (k->n && e[i] == k->lo[k->n - 1])
            continue;
        if (k->n == HK_SIZEKEY_MAX) {
            k->truncated = true;
            break;
        }
        k->lo[k->n++] = e[i];
    }
    unsigned iv = 0;
    for (size_t s = 0; s <= HK_TINY_MAX; s++) {
        while (iv + 1 < k->n && k->lo[iv + 1] <= s)
            iv++;
        k->small[s] = (uint8_t)iv;
    }
    k->table = t;
}
