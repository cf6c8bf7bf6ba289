/* hk_ace.h: ACE, size-to-class rounding for the Pool and L25 classes. A pure function and its
 * table; ACE decides no route (the legacy path's secondary router lives in legacy/).
 *
 *  class  size     serves (after routing)   worst-case waste
 *    0     2 KiB   1025 .. 2048 B            1023 B (50%)
 *    1     3 KiB   2049 .. 3072 B            1023 B (33%)
 *    2     4 KiB   3073 .. 4096 B            1023 B (25%)
 *    3     6 KiB   4097 .. 6144 B            2047 B (33%)
 *    4     8 KiB   6145 .. 8192 B            2047 B (25%)
 *    5    40 KiB   Bridge: 32 KiB+1 .. 40 KiB  8 KiB-1 (20%)
 *    6    52 KiB   Bridge: 40 KiB+1 .. 52 KiB 12 KiB-1 (23%)
 *    7    64 KiB   52 KiB+1 .. 64 KiB         12 KiB-1 (19%)
 *    8-12 128 KiB .. 2 MiB, powers of two     just under half (50%)
 * Classes 0-6 belong to the Pool box, 7-12 to the L25 box.
 */
#ifndef HK_ACE_H
#define HK_ACE_H

#include "hk_internal.h"

#define HK_ACE_NCLASSES 13
#define HK_ACE_POOL_LAST 6 /* classes 0..6: Pool; 7..12: L25 */
#define HK_ACE_BRIDGE_40K 5
#define HK_ACE_BRIDGE_52K 6

extern const uint32_t hk_ace_sizes[HK_ACE_NCLASSES];

/* Smallest ACE class whose size is >= size, or -1 when size > 2 MiB. */
int hk_ace_class(size_t size);

#endif
