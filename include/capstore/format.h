/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * capstore on-disk format, version 1.
 *
 * This header is the one definition of the format. It is compiled into the
 * kernel module and into the offline tools (format, fsck, dump), together
 * with common/verify.c, so both sides check a store with the same code.
 * Documentation/ondisk-format.rst explains every field.
 *
 * All integers are little-endian. Every block is CAPSTORE_BLOCK_SIZE bytes.
 *
 *   block 0                      superblock (struct capstore_dsb)
 *   blocks 1 .. header_slots     checkpoint header slots (struct capstore_dhdr)
 *   blocks data_start ..         allocated copy-on-write: object table,
 *                                space map, object data, tree blocks
 *
 * Everything a checkpoint references hangs off its header in a tree of
 * block pointers; each pointer carries the CRC32C of the block it points
 * at, so one valid header authenticates the whole checkpoint (a Merkle
 * tree, as in ZFS). A block referenced by the last committed checkpoint is
 * never overwritten.
 */
#ifndef _CAPSTORE_FORMAT_H
#define _CAPSTORE_FORMAT_H

#include <linux/types.h>

#define CAPSTORE_BLOCK_SHIFT		12
#define CAPSTORE_BLOCK_SIZE		(1U << CAPSTORE_BLOCK_SHIFT)

#define CAPSTORE_FORMAT_VERSION		1

/* "CAPSTOR1" and "CSCKPT01" read as little-endian 64-bit integers. */
#define CAPSTORE_SB_MAGIC		0x31524f5453504143ULL
#define CAPSTORE_HDR_MAGIC		0x313054504b435343ULL

/* Superblock geometry limits. */
#define CAPSTORE_HEADER_START		1
#define CAPSTORE_MIN_HEADER_SLOTS	2
#define CAPSTORE_MAX_HEADER_SLOTS	16
#define CAPSTORE_DEFAULT_HEADER_SLOTS	4
/* Smallest store: superblock, headers and room for a few checkpoints. */
#define CAPSTORE_MIN_BLOCKS		64
/* Largest store: 2^40 blocks (4 PiB); keeps block numbers well inside u64. */
#define CAPSTORE_MAX_BLOCKS		(1ULL << 40)

/*
 * Trees. A tree of height 0 is a single leaf that the root points at; a tree
 * of height h has interior blocks of 256 block pointers at levels 1 .. h and
 * leaves at level 0, so it can address 256^h leaves. A zero block pointer is
 * a hole: the subtree below it reads as zeroes.
 */
#define CAPSTORE_FANOUT_SHIFT		8
#define CAPSTORE_FANOUT			(1U << CAPSTORE_FANOUT_SHIFT)
#define CAPSTORE_TREE_MAX_HEIGHT	8

/* Object ids. 0 is never a valid object; the root node is created first. */
#define CAPSTORE_OID_NONE		0ULL
#define CAPSTORE_OID_ROOT		1ULL
#define CAPSTORE_OID_FIRST		CAPSTORE_OID_ROOT

/*
 * Checkpoint sequence numbers run from 1 to CAPSTORE_SEQ_MAX: a header
 * with any other seq is invalid, and a store at CAPSTORE_SEQ_MAX (a
 * thousand checkpoints a second for 146 million years) takes no more.
 */
#define CAPSTORE_SEQ_MAX		((1ULL << 62) - 1)

/* Object table: 64-byte records, 64 to a leaf block, indexed by oid. */
#define CAPSTORE_OBJS_PER_BLOCK		(CAPSTORE_BLOCK_SIZE / 64)

/* Space map: one bit per block, 32768 blocks described by each leaf. */
#define CAPSTORE_BITS_PER_BLOCK		(CAPSTORE_BLOCK_SIZE * 8)

/* Segments: data tree of height <= 4 addresses 2^32 pages, 16 TiB. */
#define CAPSTORE_SEGMENT_MAX_HEIGHT	4
#define CAPSTORE_SEGMENT_MAX_SIZE	(1ULL << 44)

/* Nodes: one block whose first 32 slots of 32 bytes hold capabilities. */
#define CAPSTORE_DNODE_SLOTS		32

/* Object kinds, as stored in struct capstore_dobj.kind. */
#define CAPSTORE_DOBJ_FREE		0
#define CAPSTORE_DOBJ_SEGMENT		1
#define CAPSTORE_DOBJ_NODE		2
#define CAPSTORE_DOBJ_FORWARDER		3

/* Flags of struct capstore_dslot. */
#define CAPSTORE_DSLOT_FORWARDED	(1U << 0)
#define CAPSTORE_DSLOT_FLAGS_ALL	CAPSTORE_DSLOT_FORWARDED

/* Forwarders chain at most this deep (a forwarder of a forwarded ...). */
#define CAPSTORE_FORWARD_MAX_DEPTH	4

/* Feature words. Version 1 defines no features. */
#define CAPSTORE_FEATURE_COMPAT_ALL	0ULL
#define CAPSTORE_FEATURE_RO_COMPAT_ALL	0ULL
#define CAPSTORE_FEATURE_INCOMPAT_ALL	0ULL

/**
 * struct capstore_bptr - pointer to one block, with its checksum
 * @blkno: block number; 0 means a hole (the superblock is never referenced)
 * @crc: CRC32C of the whole block @blkno points at; 0 for a hole
 * @reserved: must be 0
 */
struct capstore_bptr {
	__le64 blkno;
	__le32 crc;
	__le32 reserved;
};

/**
 * struct capstore_dtree - root of a copy-on-write tree
 * @root: the level-@height block (the leaf itself when @height is 0)
 * @height: number of interior levels, 0 .. CAPSTORE_TREE_MAX_HEIGHT
 * @reserved: must be 0
 */
struct capstore_dtree {
	struct capstore_bptr root;
	__u8 height;
	__u8 reserved[7];
};

/**
 * struct capstore_dsb - the superblock, block 0, written once by format
 * @magic: CAPSTORE_SB_MAGIC
 * @crc: CRC32C of the whole block with this field taken as 0
 * @version: CAPSTORE_FORMAT_VERSION
 * @uuid: identity of this store; every header must carry the same
 * @feature_compat: features an old reader may ignore
 * @feature_ro_compat: features an old reader may only read (refused in v1)
 * @feature_incompat: features an old reader must refuse
 * @block_size: CAPSTORE_BLOCK_SIZE
 * @header_slots: number of rotating checkpoint header slots
 * @nblocks: size of the store in blocks; the device may be larger
 * @header_start: first header slot, CAPSTORE_HEADER_START
 * @data_start: first block of the copy-on-write area, header_start + slots
 * @format_time: when the store was formatted, ns since the Unix epoch
 * @label: NUL-padded user label
 * @reserved: must be 0 up to the end of the block
 */
struct capstore_dsb {
	__le64 magic;
	__le32 crc;
	__le32 version;
	__u8 uuid[16];
	__le64 feature_compat;
	__le64 feature_ro_compat;
	__le64 feature_incompat;
	__le32 block_size;
	__le32 header_slots;
	__le64 nblocks;
	__le64 header_start;
	__le64 data_start;
	__le64 format_time;
	char label[32];
	__u8 reserved[3968];
};

/**
 * struct capstore_dhdr - a checkpoint header, in slot (seq % header_slots)
 * @magic: CAPSTORE_HDR_MAGIC
 * @crc: CRC32C of the whole block with this field taken as 0
 * @version: CAPSTORE_FORMAT_VERSION
 * @seq: checkpoint sequence number, starting at 1; the newest valid
 *	header is the store's state
 * @uuid: the superblock's uuid (headers of an earlier store are foreign)
 * @time: when the checkpoint committed, ns since the Unix epoch
 * @next_oid: next object id to hand out; ids are never reused
 * @root_oid: the store's root node
 * @nobjects: number of live objects in the object table
 * @used_blocks: number of bits set in the space map
 * @otable: object table tree; leaf i holds records of oids 64i .. 64i+63
 * @spacemap: space map tree; leaf i holds the bits of blocks
 *	32768i .. 32768i+32767
 * @reserved: must be 0 up to the end of the block
 */
struct capstore_dhdr {
	__le64 magic;
	__le32 crc;
	__le32 version;
	__le64 seq;
	__u8 uuid[16];
	__le64 time;
	__le64 next_oid;
	__le64 root_oid;
	__le64 nobjects;
	__le64 used_blocks;
	struct capstore_dtree otable;
	struct capstore_dtree spacemap;
	__u8 reserved[3968];
};

/**
 * struct capstore_dobj - one object table record
 * @kind: CAPSTORE_DOBJ_*; FREE for an id never used or destroyed
 * @flags: must be 0
 * @oid: the object id, equal to the record's index
 * @gen: capability generation; capabilities of another generation are dead
 * @size: segment: size in bytes, a multiple of the block size; node and
 *	forwarder: 0
 * @data: segment: pages; node: one block of slots (height 0); forwarder:
 *	one block whose slot 0 holds the capability it forwards to
 * @reserved: must be 0
 *
 * A FREE record is all zeroes except that it may keep @oid and @gen of a
 * destroyed object.
 */
struct capstore_dobj {
	__le32 kind;
	__le32 flags;
	__le64 oid;
	__le64 gen;
	__le64 size;
	struct capstore_dtree data;
	__le64 reserved;
};

/**
 * struct capstore_dslot - a capability stored in a node slot
 * @oid: object the capability designates; 0 for an empty slot
 * @gen: generation of the object when the capability was stored
 * @rights: CAPSTORE_RIGHT_* bits of include/uapi/linux/capstore.h
 * @kind: CAPSTORE_DOBJ_* kind of the object when stored; for a forwarded
 *	capability, the kind of the object at the end of the forwarders
 * @flags: CAPSTORE_DSLOT_FORWARDED: a capability made through forwarder
 *	@oid, which designates what the forwarder forwards to and dies with
 *	the forwarder; without it, a capability to @oid itself
 * @reserved: must be 0
 *
 * A slot whose @oid is not a live object of generation @gen holds a dead
 * capability: fetching it fails, fsck counts it, neither is damage.
 */
struct capstore_dslot {
	__le64 oid;
	__le64 gen;
	__le32 rights;
	__le32 kind;
	__le32 flags;
	__le32 reserved;
};

/**
 * struct capstore_dnode - the data block of a node object
 * @slots: the capability slots
 * @reserved: must be 0
 */
struct capstore_dnode {
	struct capstore_dslot slots[CAPSTORE_DNODE_SLOTS];
	__u8 reserved[CAPSTORE_BLOCK_SIZE -
		      CAPSTORE_DNODE_SLOTS * sizeof(struct capstore_dslot)];
};

/*
 * Sizes and offsets are part of the format; both builds check them
 * (capstore_check_format_layout() in common/verify.c).
 */
#define CAPSTORE_DSB_SIZE		4096
#define CAPSTORE_DHDR_SIZE		4096
#define CAPSTORE_DOBJ_SIZE		64
#define CAPSTORE_DSLOT_SIZE		32
#define CAPSTORE_BPTR_SIZE		16
#define CAPSTORE_DTREE_SIZE		24

#endif /* _CAPSTORE_FORMAT_H */
