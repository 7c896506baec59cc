/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * imgmut: structure-aware mutation of a capstore image held in memory, and
 * resealing (recomputing every checksum) so that damage gets past the
 * CRC-32C checks to the field checks behind them.
 *
 * Shared by the libFuzzer harness (fuzz/fuzz_image.c: its custom mutator)
 * and the in-kernel image fuzzer (selftests/image_fuzz.c, in the VM). It
 * needs only common/verify.c and common/crc32c.c, and is itself safe on
 * any garbage: every walk is bounded by the tree heights and enters a
 * block at most once.
 *
 * An image is @nblocks blocks of CAPSTORE_BLOCK_SIZE bytes at @img; block
 * numbers at or beyond @nblocks are never touched.
 */
#ifndef CAPSTORE_IMGMUT_H
#define CAPSTORE_IMGMUT_H

#include <stddef.h>
#include <stdint.h>

/* splitmix64: the whole state is one integer, so a seed replays a run. */
uint64_t imgmut_rand(uint64_t *state);

/*
 * Recompute every checksum from the leaves up: the superblock's, then for
 * every header slot that carries the header magic, every tree reachable
 * from it (object table, the data of every object record in it, space
 * map) and the header's own. Returns the number of blocks it changed.
 */
unsigned int imgmut_reseal(uint8_t *img, uint64_t nblocks);

/*
 * Apply one to @max_muts mutations drawn from @rng: bit flips, random
 * bytes, zeroed or garbage blocks, a block copied over another, and above
 * all single fields of the superblock, a header, an object record, a node
 * slot, a block pointer or a space map bit set to 0, all ones, off by one,
 * past the end of the store, at the superblock or headers, or at another
 * structure of the image. Then, two times in three, reseal. A short
 * description of what was done goes to @desc (may be NULL).
 */
void imgmut_mutate(uint8_t *img, uint64_t nblocks, uint64_t *rng,
		   unsigned int max_muts, char *desc, size_t desclen);

#endif /* CAPSTORE_IMGMUT_H */
