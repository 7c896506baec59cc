/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Offline access to a capstore store on an image file or a block device:
 * block I/O, the superblock, the header slots, checksummed block pointers
 * and a bounded walk over the copy-on-write trees.
 *
 * Everything here returns 0 (or a documented non-negative value) or a
 * negative errno, prints nothing and keeps no global state, so fsck, dump,
 * format, the test helpers and fuzzers can all share it. Every structure
 * read from the device goes through the verifiers of common/verify.c
 * before it is used; on a verifier failure *why points at a static reason.
 */
#ifndef CAPSTORE_TOOLS_IMAGE_H
#define CAPSTORE_TOOLS_IMAGE_H

#include <stdbool.h>
#include <linux/types.h>

#include "capstore/verify.h"

/* cs_image_open() flags */
#define CS_IMAGE_WRITE		(1U << 0)	/* open read-write */
#define CS_IMAGE_EXCL		(1U << 1)	/* block device: O_EXCL */

/**
 * struct cs_image - an open store
 * @fd: the file descriptor
 * @path: the name it was opened by (not copied)
 * @flags: CS_IMAGE_* flags it was opened with
 * @blkdev: it is a block device (size from BLKGETSIZE64)
 * @dev_bytes: size of the file or device in bytes
 * @dev_blocks: whole blocks in it
 * @have_geom: @geom holds a verified superblock (cs_image_load_sb())
 * @geom: the superblock, converted by capstore_sb_from_disk()
 */
struct cs_image {
	int fd;
	const char *path;
	unsigned int flags;
	bool blkdev;
	__u64 dev_bytes;
	__u64 dev_blocks;
	bool have_geom;
	struct capstore_geom geom;
};

/*
 * Open @path, a regular file or a block device (anything else: -EINVAL).
 * On failure *@img is left closed (fd -1) and safe to cs_image_close().
 */
int cs_image_open(struct cs_image *img, const char *path, unsigned int flags);

/* Close; returns -errno if the close failed (a late write error). */
int cs_image_close(struct cs_image *img);

/*
 * Read or write block @blkno (CAPSTORE_BLOCK_SIZE bytes). -ERANGE beyond
 * the end of the file or device, -EIO on a short transfer.
 */
int cs_image_read(const struct cs_image *img, __u64 blkno, void *buf);
int cs_image_write(const struct cs_image *img, __u64 blkno, const void *buf);

/* fsync() (fdatasync for block devices). */
int cs_image_sync(const struct cs_image *img);

/*
 * Read block 0 into @raw (may be NULL) and verify it: on success fill
 * img->geom and set img->have_geom. -EINVAL: not a capstore store;
 * -EBADMSG, -EUCLEAN, -EOPNOTSUPP: see verify.h; -ERANGE/-EIO: the image
 * is shorter than a block or cannot be read (*why set in every case).
 */
int cs_image_load_sb(struct cs_image *img, struct capstore_dsb *raw,
		     const char **why);

/* What a header slot holds. */
enum cs_slot_state {
	CS_SLOT_EMPTY,		/* all zeroes: never written */
	CS_SLOT_VALID,		/* a valid header of this store */
	CS_SLOT_INVALID,	/* anything else; see err and why */
};

/**
 * struct cs_slot - one header slot, as read
 * @index: slot number, 0 .. header_slots - 1
 * @blkno: its block, header_start + index
 * @state: see enum cs_slot_state
 * @err: for CS_SLOT_INVALID, the -errno of the check that failed
 *	(-EINVAL bad magic, -EBADMSG checksum, -EUCLEAN bad field or wrong
 *	slot, -EOPNOTSUPP version, -EIO/-ERANGE unreadable)
 * @why: for CS_SLOT_INVALID, the reason
 * @seq: for CS_SLOT_VALID, the sequence number
 * @hdr: the raw block
 */
struct cs_slot {
	unsigned int index;
	__u64 blkno;
	enum cs_slot_state state;
	int err;
	const char *why;
	__u64 seq;
	struct capstore_dhdr hdr;
};

/*
 * A header is valid in slot @slot when capstore_hdr_verify() accepts it and
 * its seq % header_slots == @slot.
 */
int cs_hdr_verify_slot(const struct capstore_dhdr *h,
		       const struct capstore_geom *g, unsigned int slot,
		       const char **why);

/* Read and classify slot @index (needs have_geom). 0 or -EINVAL. */
int cs_image_read_slot(const struct cs_image *img, unsigned int index,
		       struct cs_slot *slot);

/*
 * Read all geom.header_slots slots into @slots (an array of at least
 * CAPSTORE_MAX_HEADER_SLOTS). Returns the index of the valid slot with the
 * highest seq, which is the store's state, or -ENOENT if none is valid.
 */
int cs_image_read_slots(const struct cs_image *img, struct cs_slot *slots);

/*
 * The slot holding the valid header with sequence number @seq, or the
 * newest valid one if @seq is 0; -ENOENT if there is none.
 */
int cs_pick_slot(const struct cs_image *img, const struct cs_slot *slots,
		 __u64 seq);

/*
 * Verify block pointer @b, read the block it points at into @buf and check
 * its checksum. -EUCLEAN bad pointer, -EBADMSG checksum, -ERANGE/-EIO read
 * error; *why says which. A hole gives -ENOENT and zeroes @buf.
 */
int cs_image_read_bptr(const struct cs_image *img,
		       const struct capstore_bptr *b, void *buf,
		       const char **why);

/**
 * struct cs_walk_ops - callbacks of cs_tree_walk(); any may be NULL
 * @block: called for every non-hole pointer that passed
 *	capstore_bptr_verify(), before the block is read: @level is the
 *	level of the block (0 = leaf), @first_leaf the first leaf index it
 *	covers. Return 0 to go on, 1 to skip this block and what hangs off
 *	it (fsck: already seen), or a negative errno to stop the walk.
 * @leaf: called for every non-hole leaf at index @index < nleaves. With
 *	CS_WALK_READ_LEAVES, @data is the leaf's verified contents; without,
 *	@data is NULL and the leaf was not read.
 * @bad: called for every problem: a pointer that fails
 *	capstore_bptr_verify(), a non-hole pointer to leaves at or beyond
 *	nleaves, a block that cannot be read or whose checksum does not
 *	match. @blkno is the pointer's target (maybe garbage). Nothing below
 *	a bad pointer is visited. Return 0 to go on or a negative errno to
 *	stop.
 */
struct cs_walk_ops {
	int (*block)(void *arg, __u64 blkno, unsigned int level,
		     __u64 first_leaf);
	int (*leaf)(void *arg, __u64 index, __u64 blkno, const void *data);
	int (*bad)(void *arg, __u64 blkno, unsigned int level,
		   __u64 first_leaf, int err, const char *why);
};

/* cs_tree_walk() flags */
#define CS_WALK_READ_LEAVES	(1U << 0)	/* read and verify leaves */

/*
 * Walk the tree whose root pointer is @root and whose interior height is
 * @height (<= CAPSTORE_TREE_MAX_HEIGHT, else -EINVAL), in leaf order.
 * Leaves at index >= @nleaves must be holes. Recursion is bounded by
 * @height and only non-hole pointers are followed, so the walk reads at
 * most as many blocks as it is given distinct non-hole pointers; a
 * @block callback that returns 1 for blocks already seen bounds it by the
 * size of the store even when garbage makes blocks share subtrees.
 * Returns 0 when the walk finished (problems go to @bad), the negative
 * errno a callback returned, or -ENOMEM.
 */
int cs_tree_walk(const struct cs_image *img, const struct capstore_bptr *root,
		 unsigned int height, __u64 nleaves, unsigned int flags,
		 const struct cs_walk_ops *ops, void *arg);

/*
 * Find the pointer to leaf @index: *@out is that pointer (zero for a hole).
 * Interior blocks are verified on the way; -EUCLEAN/-EBADMSG/-EIO with
 * *why set if one is bad, -ERANGE if @index is beyond the tree.
 */
int cs_tree_lookup(const struct cs_image *img,
		   const struct capstore_bptr *root, unsigned int height,
		   __u64 index, struct capstore_bptr *out, const char **why);

/* Leaves covered by one pointer at @level (256^level, saturating). */
static inline __u64 cs_level_span(unsigned int level)
{
	return capstore_tree_capacity(level);
}

#endif /* CAPSTORE_TOOLS_IMAGE_H */
