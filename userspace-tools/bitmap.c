// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Sparse block bitmap, see bitmap.h.
 */
#include "bitmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MID_SHIFT	12
#define MID_SIZE	(1U << MID_SHIFT)
#define MID_MASK	(MID_SIZE - 1)

int cs_bitmap_init(struct cs_bitmap *bm, __u64 nbits)
{
	memset(bm, 0, sizeof(*bm));
	if (nbits > CAPSTORE_MAX_BLOCKS)
		return -ERANGE;
	bm->nbits = nbits;
	bm->nchunks = (nbits + CS_BITMAP_CHUNK_BITS - 1) / CS_BITMAP_CHUNK_BITS;
	bm->ndir = (bm->nchunks + MID_SIZE - 1) >> MID_SHIFT;
	if (!bm->ndir)
		return 0;
	bm->dir = calloc(bm->ndir, sizeof(*bm->dir));
	return bm->dir ? 0 : -ENOMEM;
}

void cs_bitmap_free(struct cs_bitmap *bm)
{
	__u64 d, m;

	for (d = 0; d < bm->ndir; d++) {
		if (!bm->dir[d])
			continue;
		for (m = 0; m < MID_SIZE; m++)
			free(bm->dir[d][m]);
		free(bm->dir[d]);
	}
	free(bm->dir);
	memset(bm, 0, sizeof(*bm));
}

const __u8 *cs_bitmap_chunk(const struct cs_bitmap *bm, __u64 chunk)
{
	__u8 **mid;

	if (chunk >= bm->nchunks)
		return NULL;
	mid = bm->dir[chunk >> MID_SHIFT];
	return mid ? mid[chunk & MID_MASK] : NULL;
}

int cs_bitmap_test(const struct cs_bitmap *bm, __u64 bit)
{
	const __u8 *c;
	__u64 off;

	if (bit >= bm->nbits)
		return 0;
	c = cs_bitmap_chunk(bm, bit / CS_BITMAP_CHUNK_BITS);
	if (!c)
		return 0;
	off = bit % CS_BITMAP_CHUNK_BITS;
	return (c[off / 8] >> (off % 8)) & 1;
}

int cs_bitmap_set(struct cs_bitmap *bm, __u64 bit)
{
	__u64 chunk, off;
	__u8 **mid, *c;
	__u8 mask;

	if (bit >= bm->nbits)
		return -ERANGE;
	chunk = bit / CS_BITMAP_CHUNK_BITS;
	mid = bm->dir[chunk >> MID_SHIFT];
	if (!mid) {
		mid = calloc(MID_SIZE, sizeof(*mid));
		if (!mid)
			return -ENOMEM;
		bm->dir[chunk >> MID_SHIFT] = mid;
	}
	c = mid[chunk & MID_MASK];
	if (!c) {
		c = calloc(1, CS_BITMAP_CHUNK_BYTES);
		if (!c)
			return -ENOMEM;
		mid[chunk & MID_MASK] = c;
	}
	off = bit % CS_BITMAP_CHUNK_BITS;
	mask = (__u8)(1U << (off % 8));
	if (c[off / 8] & mask)
		return 1;
	c[off / 8] |= mask;
	bm->nset++;
	return 0;
}

int cs_bitmap_next_chunk(const struct cs_bitmap *bm, __u64 *chunk)
{
	__u64 c = *chunk;

	while (c < bm->nchunks) {
		__u8 **mid = bm->dir[c >> MID_SHIFT];

		if (!mid) {
			c = ((c >> MID_SHIFT) + 1) << MID_SHIFT;
			continue;
		}
		if (mid[c & MID_MASK]) {
			*chunk = c;
			return 0;
		}
		c++;
	}
	return -ENOENT;
}

__u64 cs_popcount(const void *p, __u64 len)
{
	const __u8 *b = p;
	__u64 n = 0, i;

	for (i = 0; i + 8 <= len; i += 8) {
		__u64 w;

		memcpy(&w, b + i, 8);
		n += (__u64)__builtin_popcountll(w);
	}
	for (; i < len; i++)
		n += (__u64)__builtin_popcount(b[i]);
	return n;
}
