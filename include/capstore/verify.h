/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Verifiers and converters for the on-disk format, shared by the kernel
 * module and the offline tools (common/verify.c).
 *
 * Every structure read from disk goes through one of these before anything
 * else looks at it, so the rest of the code may trust what it holds (the
 * btrfs tree-checker idea). Each returns 0 or a negative errno:
 *
 *   -EINVAL      not a capstore structure at all (wrong magic)
 *   -EBADMSG     checksum mismatch
 *   -EOPNOTSUPP  a version or feature this code does not know
 *   -EUCLEAN     a field out of range or inconsistent
 *
 * and, on failure, points *@why at a short static description suitable for
 * "corrupt <what>: <why>" messages.
 */
#ifndef _CAPSTORE_VERIFY_H
#define _CAPSTORE_VERIFY_H

#include "format.h"
#include "format_env.h"

/**
 * struct capstore_geom - the superblock, converted and validated
 * @nblocks: size of the store in blocks
 * @data_start: first copy-on-write block
 * @header_start: first header slot
 * @header_slots: number of header slots
 * @block_size: bytes in a block
 * @uuid: the store's identity
 * @feature_compat: compat feature bits (unknown ones are ignored)
 * @format_time: ns since the Unix epoch
 * @label: NUL-terminated label
 */
struct capstore_geom {
	__u64 nblocks;
	__u64 data_start;
	__u64 header_start;
	__u32 header_slots;
	__u32 block_size;
	__u8 uuid[16];
	__u64 feature_compat;
	__u64 format_time;
	char label[33];
};

/* Standard CRC-32C (Castagnoli, reflected, inverted) of @len bytes. */
__u32 capstore_crc(const void *buf, size_t len);

/* CRC-32C of one block with the 32-bit field at @crc_off taken as zero. */
__u32 capstore_crc_block_excl(const void *block, size_t crc_off);

/* Leaves a tree of @height can address: 256^height, saturating. */
__u64 capstore_tree_capacity(unsigned int height);

/* Smallest height whose tree addresses @nleaves leaves (0 for one). */
unsigned int capstore_tree_height_for(__u64 nleaves);

/* Leaves of the space map and of the object table. */
__u64 capstore_spacemap_leaves(__u64 nblocks);
__u64 capstore_otable_leaves(__u64 next_oid);

int capstore_sb_from_disk(struct capstore_geom *g,
			  const struct capstore_dsb *dsb, __u64 dev_blocks,
			  const char **why);
void capstore_sb_to_disk(struct capstore_dsb *dsb,
			 const struct capstore_geom *g);

int capstore_hdr_verify(const struct capstore_dhdr *h,
			const struct capstore_geom *g, const char **why);
void capstore_hdr_seal(struct capstore_dhdr *h);

int capstore_bptr_verify(const struct capstore_bptr *b,
			 const struct capstore_geom *g, const char **why);
int capstore_dtree_verify(const struct capstore_dtree *t,
			  const struct capstore_geom *g,
			  unsigned int max_height, const char **why);
int capstore_block_verify(const void *block, const struct capstore_bptr *b,
			  const char **why);
void capstore_bptr_set(struct capstore_bptr *b, __u64 blkno,
		       const void *block);

int capstore_dobj_verify(const struct capstore_dobj *o, __u64 oid,
			 const struct capstore_geom *g, const char **why);
int capstore_dslot_verify(const struct capstore_dslot *s, const char **why);
int capstore_dnode_verify(const struct capstore_dnode *n, const char **why);

/* Is the whole of [@p, @p + @len) zero? */
int capstore_mem_is_zero(const void *p, size_t len);

#endif /* _CAPSTORE_VERIFY_H */
