/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The few things common/verify.c needs from its environment, provided the
 * kernel's way in the module and the libc way in the tools.
 */
#ifndef _CAPSTORE_FORMAT_ENV_H
#define _CAPSTORE_FORMAT_ENV_H

#ifdef __KERNEL__

#include <linux/kernel.h>
#include <linux/string.h>
#include <linux/errno.h>
#include <linux/crc32c.h>

/* Raw CRC32C update (no pre- or post-inversion), like crc32c(). */
static inline __u32 capstore_crc32c_update(__u32 crc, const void *p,
					   size_t len)
{
	return crc32c(crc, p, len);
}

#else /* userspace */

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <endian.h>

#ifndef EUCLEAN
#define EUCLEAN 117
#endif

#define le16_to_cpu(x)	le16toh(x)
#define le32_to_cpu(x)	le32toh(x)
#define le64_to_cpu(x)	le64toh(x)
#define cpu_to_le16(x)	htole16(x)
#define cpu_to_le32(x)	htole32(x)
#define cpu_to_le64(x)	htole64(x)

/* Raw CRC32C update, implemented in common/crc32c.c for userspace. */
__u32 capstore_crc32c_update(__u32 crc, const void *p, size_t len);

#endif /* __KERNEL__ */

#endif /* _CAPSTORE_FORMAT_ENV_H */
