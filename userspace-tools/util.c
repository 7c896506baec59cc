// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Parsing and formatting helpers of the capstore command.
 */
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capstore/format.h"
#include <linux/capstore.h>

int cs_parse_u64(const char *s, __u64 *out)
{
	const char *digits;
	unsigned long long v;
	char *end;
	int hex;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	/* Base 10 unless 0x: a leading 0 is not octal. */
	hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	digits = hex ? s + 2 : s;
	if (!isxdigit((unsigned char)*digits))
		return -EINVAL;
	errno = 0;
	v = strtoull(digits, &end, hex ? 16 : 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int cs_parse_size(const char *s, __u64 *out)
{
	static const char units[] = "KMGTPE";
	unsigned long long v;
	unsigned int shift = 0;
	const char *u;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno)
		return -EINVAL;
	if (*end) {
		u = strchr(units, toupper((unsigned char)*end));
		if (!u)
			return -EINVAL;
		shift = 10 * (unsigned int)(u - units + 1);
		end++;
		/* Accept K, KB, KiB (all binary). */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end)
			return -EINVAL;
	}
	if (shift && v > (~0ULL >> shift))
		return -ERANGE;
	*out = v << shift;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int cs_parse_uuid(const char *s, __u8 uuid[16])
{
	unsigned int i, n = 0;
	int hi, lo;

	if (strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36; ) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = hexval((unsigned char)s[i]);
		lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		uuid[n++] = (__u8)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

void cs_format_uuid(const __u8 uuid[16], char out[CS_UUID_STR_LEN])
{
	snprintf(out, CS_UUID_STR_LEN,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5],
		 uuid[6], uuid[7], uuid[8], uuid[9], uuid[10], uuid[11],
		 uuid[12], uuid[13], uuid[14], uuid[15]);
}

void cs_format_time(__u64 ns, char *buf, size_t len)
{
	time_t secs = (time_t)(ns / 1000000000ULL);
	struct tm tm;
	char date[32];

	if (!gmtime_r(&secs, &tm) ||
	    !strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm)) {
		snprintf(buf, len, "@%" PRIu64 "ns", (uint64_t)ns);
		return;
	}
	snprintf(buf, len, "%s.%09" PRIu64 " UTC", date,
		 (uint64_t)(ns % 1000000000ULL));
}

void cs_format_bytes(__u64 bytes, char *buf, size_t len)
{
	static const char *const units[] = {
		"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
	};
	unsigned int u = 0;
	double v = (double)bytes;

	while (v >= 1024.0 && u < sizeof(units) / sizeof(units[0]) - 1) {
		v /= 1024.0;
		u++;
	}
	if (!u)
		snprintf(buf, len, "%" PRIu64 " B", (uint64_t)bytes);
	else
		snprintf(buf, len, "%.2f %s", v, units[u]);
}

const char *cs_kind_name(__u32 kind, char *buf, size_t len)
{
	switch (kind) {
	case CAPSTORE_DOBJ_FREE:
		return "free";
	case CAPSTORE_DOBJ_SEGMENT:
		return "segment";
	case CAPSTORE_DOBJ_NODE:
		return "node";
	case CAPSTORE_DOBJ_FORWARDER:
		return "forwarder";
	}
	snprintf(buf, len, "kind %u", kind);
	return buf;
}

void cs_format_rights(__u32 rights, char out[CS_RIGHTS_STR_LEN])
{
	static const struct {
		__u32 bit;
		char c;
	} map[] = {
		{ CAPSTORE_RIGHT_READ, 'r' },
		{ CAPSTORE_RIGHT_WRITE, 'w' },
		{ CAPSTORE_RIGHT_MAP, 'm' },
		{ CAPSTORE_RIGHT_GRANT, 'g' },
		{ CAPSTORE_RIGHT_DESTROY, 'd' },
	};
	unsigned int i, n = 0;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		out[n++] = (rights & map[i].bit) ? map[i].c : '-';
	if (rights & CAPSTORE_RIGHT_WEAK)
		out[n++] = 'W';
	if (rights & ~CAPSTORE_RIGHTS_MASK)
		out[n++] = '?';
	out[n] = '\0';
}

__u64 cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}
