/* hk_ace.c: ACE rounding (see hk_ace.h). */
#include "hk_ace.h"

const uint32_t hk_ace_sizes[HK_ACE_NCLASSES] = {
    2048, 3072, 4096, 6144, 8192, 40960, 53248, 65536, 131072, 262144, 524288, 1048576, 2097152,
};

int hk_ace_class(size_t size)
{
    static const int8_t low[8] = {0, 0, 1, 2, 3, 3, 4, 4}; /* by (size-1) / 1 KiB */
    if (size <= 8192)
        return size == 0 ? 0 : low[(size - 1) >> 10];
    if (size <= 40960)
        return 5;
    if (size <= 53248)
        return 6;
    if (size <= 65536)
        return 7;
    if (size > 2097152)
        return -1;
    /* 64 KiB < size <= 2 MiB: the next power of two; 2^17 is class 8. */
    int bits = 64 - __builtin_clzll((unsigned long long)(size - 1));
    return 8 + (bits - 17);
}
