// SPDX-License-Identifier: GPL-2.0
/*
 * Free space: the allocator and the space map.
 *
 * Two bitmaps cover the store. @used holds the blocks of the state being
 * built, and is what the next checkpoint writes as its space map;
 * @committed holds the blocks of the last committed checkpoint. A block is
 * free only when it is clear in both, so nothing the recovery point needs
 * is ever overwritten; a block freed since the last commit stays "pinned"
 * until the next one. A block allocated and freed again between two
 * commits is reusable at once.
 *
 * The space map is itself a tree whose leaves are 4096-byte slices of
 * @used. Writing it allocates blocks, which changes it, so a checkpoint
 * assigns locations until nothing new is dirtied, then writes it last.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/bitmap.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>

#include "internal.h"

#define CS_WORDS_PER_LEAF	(CAPSTORE_BITS_PER_BLOCK / BITS_PER_LONG)

static void cs_leaf_to_disk(const unsigned long *src, __le64 *dst)
{
	unsigned int i;

	BUILD_BUG_ON(BITS_PER_LONG != 64);
	for (i = 0; i < CS_WORDS_PER_LEAF; i++)
		dst[i] = cpu_to_le64(src[i]);
}

static void cs_leaf_from_disk(const __le64 *src, unsigned long *dst)
{
	unsigned int i;

	for (i = 0; i < CS_WORDS_PER_LEAF; i++)
		dst[i] = le64_to_cpu(src[i]);
}

/*
 * A bitmap of @nleaves leaves, zeroed. A store of 2^40 blocks (the
 * format's largest) needs 128 GiB per bitmap: past kvmalloc()'s INT_MAX
 * limit (which warns) it is vmalloc()ed, and an allocation the machine
 * cannot make fails without warning and without waking the OOM killer.
 */
static unsigned long *cs_bitmap_alloc(u64 nleaves)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_RETRY_MAYFAIL | __GFP_NOWARN;
	u64 bytes = nleaves * CS_WORDS_PER_LEAF * sizeof(unsigned long);

	if (bytes <= INT_MAX)
		return kvzalloc(bytes, gfp);
	return __vmalloc(bytes, gfp | __GFP_ZERO);
}

/*
 * The bitmap helpers count bits in an unsigned int: a store of 2^32
 * blocks or more (16 TiB) is counted and copied a leaf at a time.
 */
static u64 cs_bitmap_weight(const unsigned long *map, u64 nleaves)
{
	u64 i, weight = 0;

	for (i = 0; i < nleaves; i++) {
		weight += bitmap_weight(map + i * CS_WORDS_PER_LEAF,
					CAPSTORE_BITS_PER_BLOCK);
		if (!(i & 1023))
			cond_resched();
	}
	return weight;
}

void cs_space_destroy(struct cs_space *sp)
{
	kvfree(sp->used);
	kvfree(sp->committed);
	bitmap_free(sp->leaf_dirty);
	bitmap_free(sp->leaf_assigned);
	cs_tree_release(&sp->tree);
	sp->used = NULL;
	sp->committed = NULL;
	sp->leaf_dirty = NULL;
	sp->leaf_assigned = NULL;
}

/**
 * cs_space_load - read the space map of the recovered checkpoint
 * @s: the store
 * @h: its header, verified
 *
 * Return: 0, -ENOMEM, -EIO, -EBADMSG, or -EUCLEAN if the map does not fit
 * the store or disagrees with the header.
 */
int cs_space_load(struct cs_store *s, const struct capstore_dhdr *h)
{
	struct cs_space *sp = &s->space;
	u64 nblocks = s->geom.nblocks;
	u64 i, tail, weight;
	void *buf;
	int err;

	sp->nblocks = nblocks;
	sp->nleaves = capstore_spacemap_leaves(nblocks);
	cs_tree_init(&sp->tree, &h->spacemap, h->spacemap.height);
	sp->used = cs_bitmap_alloc(sp->nleaves);
	sp->committed = cs_bitmap_alloc(sp->nleaves);
	sp->leaf_dirty = bitmap_zalloc(sp->nleaves, GFP_KERNEL);
	sp->leaf_assigned = bitmap_zalloc(sp->nleaves, GFP_KERNEL);
	buf = (void *)__get_free_page(GFP_KERNEL);
	err = -ENOMEM;
	if (!sp->used || !sp->committed || !sp->leaf_dirty ||
	    !sp->leaf_assigned || !buf) {
		cs_err(s, "cannot attach: the space map of %llu blocks needs %llu MiB of memory",
		       nblocks, (2 * sp->nleaves * CAPSTORE_BLOCK_SIZE) >> 20);
		goto out;
	}

	for (i = 0; i < sp->nleaves; i++) {
		struct capstore_bptr b;

		err = cs_tree_get(s, &sp->tree, i, &b);
		if (err)
			goto out;
		if (!b.blkno)
			continue;
		err = cs_read_verified(s, &b, buf, "space map leaf");
		if (err)
			goto out;
		cs_leaf_from_disk(buf, sp->used + i * CS_WORDS_PER_LEAF);
	}

	err = -EUCLEAN;
	tail = sp->nleaves * CAPSTORE_BITS_PER_BLOCK;
	if (find_next_bit(sp->used, tail, nblocks) < tail) {
		cs_err(s, "corrupt space map: blocks past the end marked used");
		goto out;
	}
	if (find_first_zero_bit(sp->used, s->geom.data_start) <
	    s->geom.data_start) {
		cs_err(s, "corrupt space map: superblock or headers marked free");
		goto out;
	}
	/* Bits past the end are clear: count whole leaves. */
	weight = cs_bitmap_weight(sp->used, sp->nleaves);
	if (weight != le64_to_cpu(h->used_blocks)) {
		cs_err(s, "corrupt space map: %llu blocks used, header says %llu",
		       weight, le64_to_cpu(h->used_blocks));
		goto out;
	}
	memcpy(sp->committed, sp->used,
	       sp->nleaves * CS_WORDS_PER_LEAF * sizeof(unsigned long));
	sp->nr_used = weight;
	sp->nr_pinned = 0;
	sp->nr_tree[0] = 0;
	sp->nr_tree[1] = 0;
	sp->cursor = s->geom.data_start;
	/*
	 * Enough for a checkpoint to rewrite the whole space map and the
	 * object table's tree when data writes have taken everything else;
	 * the blocks of data trees are promised with the pages under them
	 * (cs_space_reserve_tree()), and the last share is a margin for
	 * them.
	 */
	sp->reserve = 64 + 2 * sp->nleaves + nblocks / 256;
	/*
	 * Data, every block of it for a page holding a reservation, may use
	 * the margin, never the rest, which is the space map's and the
	 * object table's.
	 */
	sp->data_floor = 64 + 2 * sp->nleaves;
	err = 0;
out:
	free_page((unsigned long)buf);
	if (err)
		cs_space_destroy(sp);
	return err;
}

/* First block at or after @start, before @end, free in both bitmaps. */
static u64 cs_space_find(struct cs_space *sp, u64 start, u64 end)
{
	u64 w = start / BITS_PER_LONG;
	unsigned long x;

	if (start >= end)
		return end;
	x = ~(sp->used[w] | sp->committed[w]) &
	    BITMAP_FIRST_WORD_MASK(start);
	for (;;) {
		if (x) {
			u64 b = w * BITS_PER_LONG + __ffs(x);

			return b < end ? b : end;
		}
		if (++w * BITS_PER_LONG >= end)
			return end;
		x = ~(sp->used[w] | sp->committed[w]);
	}
}

/**
 * cs_space_alloc - allocate a block
 * @s: the store
 * @kind: data allocations, which use up reservations, leave checkpoint
 *	metadata the reserve but for its share for trees
 * @blkno: the block
 *
 * Return: 0 or -ENOSPC.
 */
int cs_space_alloc(struct cs_store *s, enum cs_alloc_kind kind, u64 *blkno)
{
	struct cs_space *sp = &s->space;
	u64 avail, b;
	int err = -ENOSPC;

	spin_lock(&sp->lock);
	avail = sp->nblocks - sp->nr_used - sp->nr_pinned;
	if (!avail || (kind == CS_ALLOC_DATA && avail <= sp->data_floor))
		goto out;
	/* Data uses up the reservation its page took when it was dirtied. */
	if (kind == CS_ALLOC_DATA && sp->nr_reserved)
		sp->nr_reserved--;
	b = cs_space_find(sp, sp->cursor, sp->nblocks);
	if (b >= sp->nblocks)
		b = cs_space_find(sp, s->geom.data_start, sp->nblocks);
	if (WARN_ON_ONCE(b >= sp->nblocks))
		goto out;
	__set_bit(b, sp->used);
	__set_bit(b / CAPSTORE_BITS_PER_BLOCK, sp->leaf_dirty);
	sp->nr_used++;
	sp->cursor = b + 1;
	*blkno = b;
	err = 0;
out:
	spin_unlock(&sp->lock);
	return err;
}

ALLOW_ERROR_INJECTION(cs_space_alloc, ERRNO);

/**
 * cs_space_free - free a block
 * @s: the store
 * @blkno: the block; reusable at once unless the last committed checkpoint
 *	references it
 */
void cs_space_free(struct cs_store *s, u64 blkno)
{
	struct cs_space *sp = &s->space;

	spin_lock(&sp->lock);
	if (blkno < s->geom.data_start || blkno >= sp->nblocks ||
	    !__test_and_clear_bit(blkno, sp->used)) {
		spin_unlock(&sp->lock);
		cs_store_shutdown(s, -EUCLEAN, "freeing a free block");
		return;
	}
	__set_bit(blkno / CAPSTORE_BITS_PER_BLOCK, sp->leaf_dirty);
	sp->nr_used--;
	if (test_bit(blkno, sp->committed))
		sp->nr_pinned++;
	spin_unlock(&sp->lock);
}

/**
 * cs_space_unalloc - give back a data block that was not written
 * @s: the store
 * @blkno: from cs_space_alloc(CS_ALLOC_DATA); its page still needs one
 */
void cs_space_unalloc(struct cs_store *s, u64 blkno)
{
	cs_space_free(s, blkno);
	spin_lock(&s->space.lock);
	s->space.nr_reserved++;
	spin_unlock(&s->space.lock);
}

/*
 * Blocks a new promise may still take: those neither used, pinned nor
 * promised, less the reserve. Metadata may have taken blocks promised
 * already: no underflow. Under @sp->lock.
 */
static u64 cs_space_promisable(struct cs_space *sp)
{
	u64 taken = sp->nr_used + sp->nr_pinned + sp->nr_reserved +
		    sp->nr_tree[0] + sp->nr_tree[1] + sp->nr_meta;

	if (taken >= sp->nblocks || sp->nblocks - taken <= sp->reserve)
		return 0;
	return sp->nblocks - taken - sp->reserve;
}

/**
 * cs_space_reserve - promise a block to a page about to be dirtied
 * @s: the store
 *
 * Every dirty page, and every copy of a page taken for a checkpoint, holds
 * one reservation until its block is allocated, so that writeback and
 * checkpoints always find the blocks they need: a write that could not be
 * backed fails here, with -ENOSPC, instead of later.
 *
 * Return: 0 or -ENOSPC.
 */
int cs_space_reserve(struct cs_store *s)
{
	struct cs_space *sp = &s->space;
	int err = 0;

	spin_lock(&sp->lock);
	if (cs_space_promisable(sp) < 1)
		err = -ENOSPC;
	else
		sp->nr_reserved++;
	spin_unlock(&sp->lock);
	return err;
}

ALLOW_ERROR_INJECTION(cs_space_reserve, ERRNO);

/**
 * cs_space_reserve_tree - promise blocks to data-tree blocks
 * @s: the store
 * @epoch: the epoch of the pages whose paths they are on
 * @n: how many
 *
 * The checkpoint that writes a page writes every interior block on the
 * page's path in its object's data tree at a new place. The reservation
 * of the page covers its own block; these cover the tree blocks, each
 * paid once per epoch (cs_tree_charge() in segment.c), so that a store
 * filled by sparse writes, as many new tree blocks as pages, commits.
 * cs_space_tree_done() drops them once the epoch's checkpoint ends.
 *
 * Return: 0 or -ENOSPC.
 */
int cs_space_reserve_tree(struct cs_store *s, u64 epoch, unsigned int n)
{
	struct cs_space *sp = &s->space;
	int err = 0;

	spin_lock(&sp->lock);
	if (cs_space_promisable(sp) < n)
		err = -ENOSPC;
	else
		sp->nr_tree[epoch & 1] += n;
	spin_unlock(&sp->lock);
	return err;
}

ALLOW_ERROR_INJECTION(cs_space_reserve_tree, ERRNO);

/**
 * cs_space_tree_done - the checkpoint of @epoch ended
 * @s: the store
 * @epoch: its epoch; the current one is @epoch + 1
 * @committed: it committed, and with it every tree block its promises
 *	were for; else its pages are written by the next checkpoint, and
 *	the promises go to the current epoch
 */
void cs_space_tree_done(struct cs_store *s, u64 epoch, bool committed)
{
	struct cs_space *sp = &s->space;

	spin_lock(&sp->lock);
	if (!committed)
		sp->nr_tree[(epoch + 1) & 1] += sp->nr_tree[epoch & 1];
	sp->nr_tree[epoch & 1] = 0;
	spin_unlock(&sp->lock);
}

/**
 * cs_space_meta_init - promise the blocks of the object table at attach
 * @s: the store
 * @n: how many blocks the table has (leaves and interior blocks)
 *
 * A checkpoint writes each object table block it changed at a new place
 * while the old one stays pinned until it commits; every block of the
 * table may change in one epoch (a destroy or revoke in each leaf). So
 * the table holds a promise of one block per block it has, taken at
 * attach without a check (the store already holds the table) and grown
 * with the table (cs_space_reserve_meta()).
 */
void cs_space_meta_init(struct cs_store *s, u64 n)
{
	spin_lock(&s->space.lock);
	s->space.nr_meta = n;
	spin_unlock(&s->space.lock);
}

/**
 * cs_space_reserve_meta - promise blocks to a growing object table
 * @s: the store
 * @epoch: the current epoch
 * @n: how many blocks the table grows by
 *
 * The checkpoint of @epoch writes the @n new blocks: promised until it
 * ends, as data-tree blocks are (cs_space_tree_done()). Each later
 * checkpoint may rewrite them: @n more promised for good
 * (cs_space_meta_init()). Without this an object table grown by creates
 * took its blocks out of the reserve kept for the space map, until a
 * checkpoint failed for lack of metadata space and shut the store down.
 *
 * Return: 0 or -ENOSPC.
 */
int cs_space_reserve_meta(struct cs_store *s, u64 epoch, unsigned int n)
{
	struct cs_space *sp = &s->space;
	int err = 0;

	spin_lock(&sp->lock);
	if (cs_space_promisable(sp) < 2 * (u64)n) {
		err = -ENOSPC;
	} else {
		sp->nr_tree[epoch & 1] += n;
		sp->nr_meta += n;
	}
	spin_unlock(&sp->lock);
	return err;
}

ALLOW_ERROR_INJECTION(cs_space_reserve_meta, ERRNO);

/**
 * cs_space_unreserve - drop reservations of pages that will not be written
 * @s: the store
 * @n: how many
 */
void cs_space_unreserve(struct cs_store *s, u64 n)
{
	struct cs_space *sp = &s->space;

	spin_lock(&sp->lock);
	sp->nr_reserved -= min(n, sp->nr_reserved);
	spin_unlock(&sp->lock);
}

/**
 * cs_space_free_blocks - blocks free for new data
 * @s: the store
 *
 * Return: the count, not counting blocks reserved for dirty pages or
 * pinned until the next checkpoint commits.
 */
u64 cs_space_free_blocks(struct cs_store *s)
{
	struct cs_space *sp = &s->space;
	u64 n, used;

	spin_lock(&sp->lock);
	used = sp->nr_used + sp->nr_pinned + sp->nr_reserved +
	       sp->nr_tree[0] + sp->nr_tree[1] + sp->nr_meta;
	n = used < sp->nblocks ? sp->nblocks - used : 0;
	spin_unlock(&sp->lock);
	return n;
}

/**
 * cs_space_reserved - blocks reserved for dirty pages
 * @s: the store
 *
 * Return: the count.
 */
u64 cs_space_reserved(struct cs_store *s)
{
	return READ_ONCE(s->space.nr_reserved);
}

/* Give each dirty leaf not yet placed by this checkpoint a new block. */
static int cs_space_assign_leaves(struct cs_store *s, bool *allocated)
{
	struct cs_space *sp = &s->space;
	unsigned long i;
	int err;

	for_each_set_bit(i, sp->leaf_dirty, sp->nleaves) {
		struct capstore_bptr b = {}, old;
		u64 blkno;

		if (test_bit(i, sp->leaf_assigned))
			continue;
		err = cs_space_alloc(s, CS_ALLOC_META, &blkno);
		if (err)
			return err;
		b.blkno = cpu_to_le64(blkno);
		err = cs_tree_set(s, &sp->tree, i, &b, &old);
		if (err) {
			cs_space_free(s, blkno);
			return err;
		}
		if (old.blkno)
			cs_space_free(s, le64_to_cpu(old.blkno));
		__set_bit(i, sp->leaf_assigned);
		*allocated = true;
	}
	return 0;
}

/**
 * cs_space_flush - write the space map, last thing before the header
 * @s: the store
 * @wb: the checkpoint's batch
 * @h: receives the space map root and the used block count
 *
 * Return: 0, -ENOSPC or -ENOMEM.
 */
int cs_space_flush(struct cs_store *s, struct cs_wbatch *wb,
		   struct capstore_dhdr *h)
{
	struct cs_space *sp = &s->space;
	bool allocated;
	unsigned long i;
	void *buf;
	int err;

	do {
		allocated = false;
		err = cs_space_assign_leaves(s, &allocated);
		if (!err)
			err = cs_tree_assign(s, &sp->tree, &allocated);
		if (err)
			return err;
	} while (allocated);

	buf = (void *)__get_free_page(GFP_NOFS);
	if (!buf)
		return -ENOMEM;
	for_each_set_bit(i, sp->leaf_assigned, sp->nleaves) {
		struct capstore_bptr b, old;
		u32 crc;

		err = cs_tree_get(s, &sp->tree, i, &b);
		if (err)
			break;
		cs_leaf_to_disk(sp->used + i * CS_WORDS_PER_LEAF, buf);
		cs_write_copy(wb, le64_to_cpu(b.blkno), buf, &crc);
		b.crc = cpu_to_le32(crc);
		err = cs_tree_set(s, &sp->tree, i, &b, &old);
		if (err)
			break;
	}
	free_page((unsigned long)buf);
	if (err)
		return err;
	cs_tree_write(s, &sp->tree, wb);
	cs_tree_to_disk(&sp->tree, &h->spacemap);
	h->used_blocks = cpu_to_le64(sp->nr_used);
	return 0;
}

/**
 * cs_space_commit - the checkpoint whose space map was just written is
 *	committed: its blocks become the ones to protect, the blocks it
 *	dropped become free
 * @s: the store
 */
void cs_space_commit(struct cs_store *s)
{
	struct cs_space *sp = &s->space;
	unsigned long i;

	spin_lock(&sp->lock);
	for_each_set_bit(i, sp->leaf_assigned, sp->nleaves) {
		bitmap_copy(sp->committed + i * CS_WORDS_PER_LEAF,
			    sp->used + i * CS_WORDS_PER_LEAF,
			    CAPSTORE_BITS_PER_BLOCK);
		__clear_bit(i, sp->leaf_dirty);
	}
	bitmap_zero(sp->leaf_assigned, sp->nleaves);
	sp->nr_pinned = 0;
	spin_unlock(&sp->lock);
}
