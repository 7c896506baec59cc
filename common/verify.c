// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * On-disk format verifiers, built into both the kernel module (through
 * kmod/format_verify.c) and the offline tools. Keep it free of anything
 * but the helpers of format_env.h.
 */
#include "capstore/verify.h"
#include <linux/capstore.h>

_Static_assert(sizeof(struct capstore_bptr) == CAPSTORE_BPTR_SIZE, "bptr");
_Static_assert(sizeof(struct capstore_dtree) == CAPSTORE_DTREE_SIZE, "dtree");
_Static_assert(sizeof(struct capstore_dsb) == CAPSTORE_DSB_SIZE, "dsb");
_Static_assert(sizeof(struct capstore_dhdr) == CAPSTORE_DHDR_SIZE, "dhdr");
_Static_assert(sizeof(struct capstore_dobj) == CAPSTORE_DOBJ_SIZE, "dobj");
_Static_assert(sizeof(struct capstore_dslot) == CAPSTORE_DSLOT_SIZE, "dslot");
_Static_assert(sizeof(struct capstore_dnode) == CAPSTORE_BLOCK_SIZE, "dnode");
_Static_assert(CAPSTORE_OBJS_PER_BLOCK * CAPSTORE_DOBJ_SIZE ==
	       CAPSTORE_BLOCK_SIZE, "otable leaf");
_Static_assert(CAPSTORE_FANOUT * CAPSTORE_BPTR_SIZE == CAPSTORE_BLOCK_SIZE,
	       "tree fanout");
_Static_assert(__builtin_offsetof(struct capstore_dsb, crc) == 8, "sb crc");
_Static_assert(__builtin_offsetof(struct capstore_dhdr, crc) == 8, "hdr crc");
_Static_assert(__builtin_offsetof(struct capstore_dhdr, otable) == 80,
	       "hdr otable");
_Static_assert(CAPSTORE_DNODE_SLOTS == CAPSTORE_NODE_SLOTS, "node slots");
_Static_assert(CAPSTORE_DOBJ_SEGMENT == CAPSTORE_KIND_SEGMENT, "kind");
_Static_assert(CAPSTORE_DOBJ_NODE == CAPSTORE_KIND_NODE, "kind");
_Static_assert(CAPSTORE_DOBJ_FORWARDER == CAPSTORE_KIND_FORWARDER, "kind");

__u32 capstore_crc(const void *buf, size_t len)
{
	return ~capstore_crc32c_update(~0U, buf, len);
}

__u32 capstore_crc_block_excl(const void *block, size_t crc_off)
{
	static const __u8 zero[4];
	const __u8 *p = block;
	__u32 crc;

	crc = capstore_crc32c_update(~0U, p, crc_off);
	crc = capstore_crc32c_update(crc, zero, sizeof(zero));
	crc = capstore_crc32c_update(crc, p + crc_off + 4,
				     CAPSTORE_BLOCK_SIZE - crc_off - 4);
	return ~crc;
}

int capstore_mem_is_zero(const void *p, size_t len)
{
	const __u8 *b = p;
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i])
			return 0;
	return 1;
}

__u64 capstore_tree_capacity(unsigned int height)
{
	if (height >= 64 / CAPSTORE_FANOUT_SHIFT)
		return ~0ULL;
	return 1ULL << (height * CAPSTORE_FANOUT_SHIFT);
}

unsigned int capstore_tree_height_for(__u64 nleaves)
{
	unsigned int h = 0;

	while (capstore_tree_capacity(h) < nleaves)
		h++;
	return h;
}

__u64 capstore_spacemap_leaves(__u64 nblocks)
{
	return (nblocks + CAPSTORE_BITS_PER_BLOCK - 1) /
	       CAPSTORE_BITS_PER_BLOCK;
}

__u64 capstore_otable_leaves(__u64 next_oid)
{
	return (next_oid + CAPSTORE_OBJS_PER_BLOCK - 1) /
	       CAPSTORE_OBJS_PER_BLOCK;
}

#define FAIL(err, reason)		\
	do {				\
		*why = (reason);	\
		return -(err);		\
	} while (0)

int capstore_sb_from_disk(struct capstore_geom *g,
			  const struct capstore_dsb *dsb, __u64 dev_blocks,
			  const char **why)
{
	__u64 incompat, ro_compat, nblocks, data_start;
	size_t len;
	__u32 slots;

	if (le64_to_cpu(dsb->magic) != CAPSTORE_SB_MAGIC)
		FAIL(EINVAL, "bad magic: not a capstore store");
	if (le32_to_cpu(dsb->crc) !=
	    capstore_crc_block_excl(dsb, __builtin_offsetof(struct capstore_dsb,
							    crc)))
		FAIL(EBADMSG, "superblock checksum mismatch");
	if (le32_to_cpu(dsb->version) != CAPSTORE_FORMAT_VERSION)
		FAIL(EOPNOTSUPP, "unsupported format version");
	incompat = le64_to_cpu(dsb->feature_incompat);
	ro_compat = le64_to_cpu(dsb->feature_ro_compat);
	if (incompat & ~CAPSTORE_FEATURE_INCOMPAT_ALL)
		FAIL(EOPNOTSUPP, "unknown incompatible features");
	if (ro_compat & ~CAPSTORE_FEATURE_RO_COMPAT_ALL)
		FAIL(EOPNOTSUPP, "unknown read-only-compatible features");
	if (le32_to_cpu(dsb->block_size) != CAPSTORE_BLOCK_SIZE)
		FAIL(EUCLEAN, "block size is not 4096");
	slots = le32_to_cpu(dsb->header_slots);
	if (slots < CAPSTORE_MIN_HEADER_SLOTS ||
	    slots > CAPSTORE_MAX_HEADER_SLOTS)
		FAIL(EUCLEAN, "header slot count out of range");
	if (le64_to_cpu(dsb->header_start) != CAPSTORE_HEADER_START)
		FAIL(EUCLEAN, "header slots not at block 1");
	data_start = le64_to_cpu(dsb->data_start);
	if (data_start != CAPSTORE_HEADER_START + slots)
		FAIL(EUCLEAN, "data area does not follow the header slots");
	nblocks = le64_to_cpu(dsb->nblocks);
	if (nblocks < CAPSTORE_MIN_BLOCKS || nblocks > CAPSTORE_MAX_BLOCKS)
		FAIL(EUCLEAN, "store size out of range");
	if (nblocks > dev_blocks)
		FAIL(EUCLEAN, "store larger than the device (truncated?)");
	if (capstore_mem_is_zero(dsb->uuid, sizeof(dsb->uuid)))
		FAIL(EUCLEAN, "null uuid");
	if (!capstore_mem_is_zero(dsb->reserved, sizeof(dsb->reserved)))
		FAIL(EUCLEAN, "reserved bytes not zero");
	len = strnlen(dsb->label, sizeof(dsb->label));
	if (!capstore_mem_is_zero(dsb->label + len, sizeof(dsb->label) - len))
		FAIL(EUCLEAN, "label not NUL-padded");

	g->nblocks = nblocks;
	g->data_start = data_start;
	g->header_start = CAPSTORE_HEADER_START;
	g->header_slots = slots;
	g->block_size = CAPSTORE_BLOCK_SIZE;
	memcpy(g->uuid, dsb->uuid, sizeof(g->uuid));
	g->feature_compat = le64_to_cpu(dsb->feature_compat);
	g->format_time = le64_to_cpu(dsb->format_time);
	memcpy(g->label, dsb->label, sizeof(dsb->label));
	g->label[sizeof(dsb->label)] = '\0';
	return 0;
}

void capstore_sb_to_disk(struct capstore_dsb *dsb,
			 const struct capstore_geom *g)
{
	size_t len = strlen(g->label);

	memset(dsb, 0, sizeof(*dsb));
	dsb->magic = cpu_to_le64(CAPSTORE_SB_MAGIC);
	dsb->version = cpu_to_le32(CAPSTORE_FORMAT_VERSION);
	memcpy(dsb->uuid, g->uuid, sizeof(dsb->uuid));
	dsb->feature_compat = cpu_to_le64(g->feature_compat);
	dsb->block_size = cpu_to_le32(CAPSTORE_BLOCK_SIZE);
	dsb->header_slots = cpu_to_le32(g->header_slots);
	dsb->nblocks = cpu_to_le64(g->nblocks);
	dsb->header_start = cpu_to_le64(g->header_start);
	dsb->data_start = cpu_to_le64(g->data_start);
	dsb->format_time = cpu_to_le64(g->format_time);
	memcpy(dsb->label, g->label,
	       len < sizeof(dsb->label) ? len : sizeof(dsb->label));
	dsb->crc = cpu_to_le32(capstore_crc_block_excl(dsb,
			__builtin_offsetof(struct capstore_dsb, crc)));
}

int capstore_bptr_verify(const struct capstore_bptr *b,
			 const struct capstore_geom *g, const char **why)
{
	__u64 blkno = le64_to_cpu(b->blkno);

	if (b->reserved)
		FAIL(EUCLEAN, "block pointer reserved field not zero");
	if (!blkno) {
		if (b->crc)
			FAIL(EUCLEAN, "hole with a checksum");
		return 0;
	}
	if (blkno < g->data_start || blkno >= g->nblocks)
		FAIL(EUCLEAN, "block pointer outside the data area");
	return 0;
}

int capstore_dtree_verify(const struct capstore_dtree *t,
			  const struct capstore_geom *g,
			  unsigned int max_height, const char **why)
{
	if (t->height > max_height)
		FAIL(EUCLEAN, "tree too high");
	if (!capstore_mem_is_zero(t->reserved, sizeof(t->reserved)))
		FAIL(EUCLEAN, "tree reserved bytes not zero");
	return capstore_bptr_verify(&t->root, g, why);
}

int capstore_block_verify(const void *block, const struct capstore_bptr *b,
			  const char **why)
{
	if (capstore_crc(block, CAPSTORE_BLOCK_SIZE) != le32_to_cpu(b->crc))
		FAIL(EBADMSG, "block checksum mismatch");
	return 0;
}

void capstore_bptr_set(struct capstore_bptr *b, __u64 blkno,
		       const void *block)
{
	b->blkno = cpu_to_le64(blkno);
	b->crc = cpu_to_le32(blkno ? capstore_crc(block, CAPSTORE_BLOCK_SIZE)
				   : 0);
	b->reserved = 0;
}

int capstore_hdr_verify(const struct capstore_dhdr *h,
			const struct capstore_geom *g, const char **why)
{
	__u64 next_oid, root_oid, nobjects, used;
	int err;

	if (le64_to_cpu(h->magic) != CAPSTORE_HDR_MAGIC)
		FAIL(EINVAL, "bad header magic");
	if (le32_to_cpu(h->crc) !=
	    capstore_crc_block_excl(h, __builtin_offsetof(struct capstore_dhdr,
							  crc)))
		FAIL(EBADMSG, "header checksum mismatch");
	if (le32_to_cpu(h->version) != CAPSTORE_FORMAT_VERSION)
		FAIL(EOPNOTSUPP, "unsupported header version");
	if (memcmp(h->uuid, g->uuid, sizeof(h->uuid)))
		FAIL(EUCLEAN, "header belongs to another store");
	if (!le64_to_cpu(h->seq))
		FAIL(EUCLEAN, "header sequence number 0");
	if (le64_to_cpu(h->seq) > CAPSTORE_SEQ_MAX)
		FAIL(EUCLEAN, "header sequence number out of range");
	next_oid = le64_to_cpu(h->next_oid);
	root_oid = le64_to_cpu(h->root_oid);
	nobjects = le64_to_cpu(h->nobjects);
	used = le64_to_cpu(h->used_blocks);
	if (next_oid <= CAPSTORE_OID_ROOT || next_oid >= (1ULL << 62))
		FAIL(EUCLEAN, "next object id out of range");
	if (root_oid < CAPSTORE_OID_FIRST || root_oid >= next_oid)
		FAIL(EUCLEAN, "root object id out of range");
	if (!nobjects || nobjects >= next_oid)
		FAIL(EUCLEAN, "object count out of range");
	if (used < g->data_start || used > g->nblocks)
		FAIL(EUCLEAN, "used block count out of range");
	err = capstore_dtree_verify(&h->otable, g, CAPSTORE_TREE_MAX_HEIGHT,
				    why);
	if (err)
		return err;
	if (capstore_tree_capacity(h->otable.height) <
	    capstore_otable_leaves(next_oid))
		FAIL(EUCLEAN, "object table tree too low for next_oid");
	err = capstore_dtree_verify(&h->spacemap, g, CAPSTORE_TREE_MAX_HEIGHT,
				    why);
	if (err)
		return err;
	if (h->spacemap.height !=
	    capstore_tree_height_for(capstore_spacemap_leaves(g->nblocks)))
		FAIL(EUCLEAN, "space map tree height does not fit the store");
	if (!le64_to_cpu(h->otable.root.blkno) ||
	    !le64_to_cpu(h->spacemap.root.blkno))
		FAIL(EUCLEAN, "object table or space map missing");
	if (!capstore_mem_is_zero(h->reserved, sizeof(h->reserved)))
		FAIL(EUCLEAN, "header reserved bytes not zero");
	return 0;
}

void capstore_hdr_seal(struct capstore_dhdr *h)
{
	h->magic = cpu_to_le64(CAPSTORE_HDR_MAGIC);
	h->version = cpu_to_le32(CAPSTORE_FORMAT_VERSION);
	h->crc = cpu_to_le32(capstore_crc_block_excl(h,
			__builtin_offsetof(struct capstore_dhdr, crc)));
}

int capstore_dobj_verify(const struct capstore_dobj *o, __u64 oid,
			 const struct capstore_geom *g, const char **why)
{
	__u32 kind = le32_to_cpu(o->kind);
	__u64 size = le64_to_cpu(o->size);
	int err;

	if (o->flags || o->reserved)
		FAIL(EUCLEAN, "object flags or reserved field not zero");
	if (kind == CAPSTORE_DOBJ_FREE) {
		__u64 rec_oid = le64_to_cpu(o->oid);

		if (rec_oid && rec_oid != oid)
			FAIL(EUCLEAN, "free record of another object id");
		if (size || o->data.height ||
		    !capstore_mem_is_zero(&o->data, sizeof(o->data)))
			FAIL(EUCLEAN, "free record with data");
		return 0;
	}
	if (le64_to_cpu(o->oid) != oid)
		FAIL(EUCLEAN, "record object id does not match its place");
	if (!le64_to_cpu(o->gen))
		FAIL(EUCLEAN, "live object with generation 0");
	switch (kind) {
	case CAPSTORE_DOBJ_SEGMENT:
		if (size > CAPSTORE_SEGMENT_MAX_SIZE ||
		    size & (CAPSTORE_BLOCK_SIZE - 1))
			FAIL(EUCLEAN, "segment size out of range");
		err = capstore_dtree_verify(&o->data, g,
					    CAPSTORE_SEGMENT_MAX_HEIGHT, why);
		if (err)
			return err;
		if (size && capstore_tree_capacity(o->data.height) <
			    size >> CAPSTORE_BLOCK_SHIFT)
			FAIL(EUCLEAN, "segment tree too low for its size");
		return 0;
	case CAPSTORE_DOBJ_NODE:
	case CAPSTORE_DOBJ_FORWARDER:
		if (size)
			FAIL(EUCLEAN, "node or forwarder with a size");
		return capstore_dtree_verify(&o->data, g, 0, why);
	default:
		FAIL(EUCLEAN, "unknown object kind");
	}
}

int capstore_dslot_verify(const struct capstore_dslot *s, const char **why)
{
	__u32 kind = le32_to_cpu(s->kind);
	__u32 flags = le32_to_cpu(s->flags);

	if (s->reserved)
		FAIL(EUCLEAN, "slot reserved field not zero");
	if (!s->oid) {
		if (!capstore_mem_is_zero(s, sizeof(*s)))
			FAIL(EUCLEAN, "empty slot not zero");
		return 0;
	}
	if (le32_to_cpu(s->rights) & ~CAPSTORE_RIGHTS_MASK)
		FAIL(EUCLEAN, "slot with unknown rights");
	if (flags & ~CAPSTORE_DSLOT_FLAGS_ALL)
		FAIL(EUCLEAN, "slot with unknown flags");
	if (kind != CAPSTORE_DOBJ_SEGMENT && kind != CAPSTORE_DOBJ_NODE &&
	    (kind != CAPSTORE_DOBJ_FORWARDER ||
	     (flags & CAPSTORE_DSLOT_FORWARDED)))
		FAIL(EUCLEAN, "slot with unknown object kind");
	if (!s->gen)
		FAIL(EUCLEAN, "slot with generation 0");
	return 0;
}

int capstore_dnode_verify(const struct capstore_dnode *n, const char **why)
{
	unsigned int i;
	int err;

	for (i = 0; i < CAPSTORE_DNODE_SLOTS; i++) {
		err = capstore_dslot_verify(&n->slots[i], why);
		if (err)
			return err;
	}
	if (!capstore_mem_is_zero(n->reserved, sizeof(n->reserved)))
		FAIL(EUCLEAN, "node reserved bytes not zero");
	return 0;
}
