/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Small helpers of the capstore command: parsing and formatting of sizes,
 * uuids, times, kinds and rights. No printing, no global state; parsers
 * return 0 or -EINVAL / -ERANGE.
 */
#ifndef CAPSTORE_TOOLS_UTIL_H
#define CAPSTORE_TOOLS_UTIL_H

#include <stddef.h>
#include <linux/types.h>

#define CS_UUID_STR_LEN		37	/* 36 characters and the NUL */
#define CS_TIME_STR_LEN		40
#define CS_BYTES_STR_LEN	24
#define CS_RIGHTS_STR_LEN	8

/* Decimal or 0x-prefixed hexadecimal, whole string, no sign. */
int cs_parse_u64(const char *s, __u64 *out);

/* A byte count with an optional binary suffix: K, M, G, T, P (KiB ...). */
int cs_parse_size(const char *s, __u64 *out);

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", any case. */
int cs_parse_uuid(const char *s, __u8 uuid[16]);
void cs_format_uuid(const __u8 uuid[16], char out[CS_UUID_STR_LEN]);

/* ns since the epoch as "YYYY-MM-DD hh:mm:ss.nnnnnnnnn UTC". */
void cs_format_time(__u64 ns, char *buf, size_t len);

/* "1.50 GiB" */
void cs_format_bytes(__u64 bytes, char *buf, size_t len);

/* "segment", "node", "free" or "kind N" (into @buf when unknown). */
const char *cs_kind_name(__u32 kind, char *buf, size_t len);

/* Rights as "rwmgd" with '-' for each missing right, then 'W' if weak. */
void cs_format_rights(__u32 rights, char out[CS_RIGHTS_STR_LEN]);

/* Now, in ns since the epoch. */
__u64 cs_now_ns(void);

#endif /* CAPSTORE_TOOLS_UTIL_H */
