/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A sparse bitmap over block numbers (up to CAPSTORE_MAX_BLOCKS bits), in
 * chunks laid out exactly like a space map leaf: chunk i holds bits
 * 32768i .. 32768i+32767, bit b in byte b/8 at bit b%8. Chunks are
 * allocated on first use, so memory follows what is set, not the size of
 * the store: fsck can walk a 4 PiB store whose metadata is hostile without
 * allocating a bitmap for all of it.
 */
#ifndef CAPSTORE_TOOLS_BITMAP_H
#define CAPSTORE_TOOLS_BITMAP_H

#include <linux/types.h>

#include "capstore/format.h"

#define CS_BITMAP_CHUNK_BITS	CAPSTORE_BITS_PER_BLOCK
#define CS_BITMAP_CHUNK_BYTES	CAPSTORE_BLOCK_SIZE

struct cs_bitmap {
	__u64 nbits;
	__u64 nchunks;
	__u64 ndir;
	__u8 ***dir;	/* dir[c >> 12][c & 4095] -> chunk c, or NULL */
	__u64 nset;	/* bits set, kept up to date */
};

int cs_bitmap_init(struct cs_bitmap *bm, __u64 nbits);
void cs_bitmap_free(struct cs_bitmap *bm);

/* 1 if @bit is set, 0 if not (or out of range). */
int cs_bitmap_test(const struct cs_bitmap *bm, __u64 bit);

/* Set @bit: returns its previous value (0 or 1), -ERANGE or -ENOMEM. */
int cs_bitmap_set(struct cs_bitmap *bm, __u64 bit);

/* Chunk @chunk's bytes, or NULL if no bit in it was ever set. */
const __u8 *cs_bitmap_chunk(const struct cs_bitmap *bm, __u64 chunk);

/*
 * First allocated chunk at or after *@chunk: stores it in *@chunk and
 * returns 0, or returns -ENOENT.
 */
int cs_bitmap_next_chunk(const struct cs_bitmap *bm, __u64 *chunk);

/* Number of bits set in @len bytes at @p. */
__u64 cs_popcount(const void *p, __u64 len);

#endif /* CAPSTORE_TOOLS_BITMAP_H */
