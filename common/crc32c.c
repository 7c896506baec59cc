// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * CRC-32C (Castagnoli) for the userspace tools; the kernel module uses the
 * kernel's crc32c() instead. Uses the SSE4.2 crc32 instruction when the CPU
 * has it and a slicing-by-8 table otherwise. Raw update: no inversions, so
 * it composes like the kernel's crc32c().
 */
#include "capstore/format_env.h"

#include <pthread.h>

#define CRC32C_POLY_REFLECTED 0x82f63b78U

static __u32 crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
	__u32 i, j, crc;

	for (i = 0; i < 256; i++) {
		crc = i;
		for (j = 0; j < 8; j++)
			crc = (crc >> 1) ^ (CRC32C_POLY_REFLECTED & -(crc & 1));
		crc_table[0][i] = crc;
	}
	for (i = 0; i < 256; i++)
		for (j = 1; j < 8; j++)
			crc_table[j][i] = (crc_table[j - 1][i] >> 8) ^
					  crc_table[0][crc_table[j - 1][i] & 0xff];
}

static __u32 crc32c_sw(__u32 crc, const unsigned char *p, size_t len)
{
	pthread_once(&crc_table_once, crc_table_init);
	while (len && ((uintptr_t)p & 7)) {
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
		len--;
	}
	while (len >= 8) {
		__u64 v;

		memcpy(&v, p, 8);
		v = le64toh(v) ^ crc;
		crc = crc_table[7][v & 0xff] ^
		      crc_table[6][(v >> 8) & 0xff] ^
		      crc_table[5][(v >> 16) & 0xff] ^
		      crc_table[4][(v >> 24) & 0xff] ^
		      crc_table[3][(v >> 32) & 0xff] ^
		      crc_table[2][(v >> 40) & 0xff] ^
		      crc_table[1][(v >> 48) & 0xff] ^
		      crc_table[0][v >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static __u32 crc32c_hw(__u32 crc, const unsigned char *p, size_t len)
{
	__u64 c = crc;

	while (len >= 8) {
		__u64 v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	crc = (__u32)c;
	while (len--)
		crc = __builtin_ia32_crc32qi(crc, *p++);
	return crc;
}
#endif

__u32 capstore_crc32c_update(__u32 crc, const void *p, size_t len)
{
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return crc32c_hw(crc, p, len);
#endif
	return crc32c_sw(crc, p, len);
}
