// SPDX-License-Identifier: GPL-2.0
/*
 * The object table: one 64-byte record per object id, 64 to a leaf,
 * leaves in a copy-on-write tree. Leaves are read on first use, verified
 * record by record, and stay in memory; changed leaves are written by the
 * next checkpoint.
 *
 * A checkpoint's snapshot freezes the leaves it will write. A change to a
 * frozen leaf before the checkpoint wrote it first copies the leaf, so the
 * checkpoint writes the records as they were at the snapshot.
 *
 * A checkpoint gives the records of its objects their new data roots
 * (cs_otable_set_data()) while writers run, so no caller may read a whole
 * record, change it and write it back in two locked sections: single
 * fields change under the lock (cs_otable_set_gen() for revoke). The
 * callers of cs_otable_get() and cs_otable_put() outside this file, and
 * why they are safe:
 *
 *  - cs_iget() (super.c) only reads, for an inode not in memory yet; a
 *    checkpoint sets data roots only for objects it holds in memory.
 *  - cs_object_destroy() (object.c) writes a free record built from
 *    nothing; cs_otable_set_data() leaves free records alone.
 *  - the error paths of node create (node.c) and forward (forward.c) write
 *    a free record, built from nothing, over the one cs_otable_new() just
 *    made.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/slab.h>
#include <linux/gfp.h>

#include "internal.h"

/**
 * struct cs_oleaf - a leaf of the object table in memory
 * @rec: its 64 records (one page), as they are now
 * @frozen: the records at the snapshot of the checkpoint in progress, if
 *	@rec changed since; else NULL
 * @dirty: changed since the last checkpoint's snapshot
 * @in_cp: the checkpoint in progress writes this leaf
 */
struct cs_oleaf {
	struct capstore_dobj *rec;
	struct capstore_dobj *frozen;
	bool dirty;
	bool in_cp;
};

static void cs_oleaf_free(struct cs_oleaf *leaf)
{
	if (!leaf)
		return;
	free_page((unsigned long)leaf->frozen);
	free_page((unsigned long)leaf->rec);
	kfree(leaf);
}

/* About to change @leaf: keep what a checkpoint in progress must write. */
static int cs_oleaf_modify(struct cs_otable *ot, struct cs_oleaf *leaf)
{
	if (leaf->in_cp && !leaf->frozen) {
		leaf->frozen = (void *)__get_free_page(GFP_NOFS);
		if (!leaf->frozen)
			return -ENOMEM;
		memcpy(leaf->frozen, leaf->rec, CAPSTORE_BLOCK_SIZE);
	}
	leaf->dirty = true;
	ot->dirty = true;
	return 0;
}

static int cs_oleaf_verify(struct cs_store *s, u64 index,
			   struct cs_oleaf *leaf)
{
	struct cs_otable *ot = &s->otable;
	const char *why;
	unsigned int i;
	int err;

	for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++) {
		u64 oid = index * CAPSTORE_OBJS_PER_BLOCK + i;
		const struct capstore_dobj *o = &leaf->rec[i];

		err = capstore_dobj_verify(o, oid, &s->geom, &why);
		if (!err && (oid >= ot->next_oid || !oid) &&
		    !capstore_mem_is_zero(o, sizeof(*o))) {
			why = "record of an id never handed out";
			err = -EUCLEAN;
		}
		if (err) {
			cs_err_ratelimited(s, "corrupt object table: object %llu, %s", oid,
					   why);
			return err;
		}
	}
	return 0;
}

/* The leaf holding @index's records, read from disk if needed. */
static struct cs_oleaf *cs_oleaf_get(struct cs_store *s, u64 index)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	struct capstore_bptr b;
	int err;

	lockdep_assert_held(&ot->lock);
	leaf = xa_load(&ot->leaves, index);
	if (leaf)
		return leaf;
	leaf = kzalloc(sizeof(*leaf), GFP_NOFS);
	if (!leaf)
		return ERR_PTR(-ENOMEM);
	leaf->rec = (void *)get_zeroed_page(GFP_NOFS);
	err = -ENOMEM;
	if (!leaf->rec)
		goto fail;
	err = cs_tree_get(s, &ot->tree, index, &b);
	if (err)
		goto fail;
	if (b.blkno) {
		err = cs_read_verified(s, &b, leaf->rec, "object table leaf");
		if (err)
			goto fail;
		err = cs_oleaf_verify(s, index, leaf);
		if (err)
			goto fail;
	}
	err = xa_err(xa_store(&ot->leaves, index, leaf, GFP_NOFS));
	if (err)
		goto fail;
	return leaf;
fail:
	cs_oleaf_free(leaf);
	return ERR_PTR(err);
}

/* Blocks of an object table tree of @nleaves leaves, interior ones too. */
static u64 cs_otable_blocks(u64 nleaves)
{
	u64 total = nleaves, level = nleaves;

	while (level > 1) {
		level = DIV_ROUND_UP(level, CAPSTORE_FANOUT);
		total += level;
	}
	return total;
}

/**
 * cs_otable_load - set up the object table of the recovered checkpoint
 * @s: the store
 * @h: its header, verified
 *
 * Reads the root node's record to make sure it is there.
 *
 * Return: 0 or a negative errno.
 */
int cs_otable_load(struct cs_store *s, const struct capstore_dhdr *h)
{
	struct cs_otable *ot = &s->otable;
	struct capstore_dobj root;
	u64 nleaves;
	int err;

	cs_tree_init(&ot->tree, &h->otable, CAPSTORE_TREE_MAX_HEIGHT);
	ot->next_oid = le64_to_cpu(h->next_oid);
	ot->nobjects = le64_to_cpu(h->nobjects);

	/* The table may be rewritten whole: see cs_space_meta_init(). */
	nleaves = DIV_ROUND_UP(ot->next_oid, CAPSTORE_OBJS_PER_BLOCK);
	cs_space_meta_init(s, cs_otable_blocks(nleaves));
	err = cs_otable_get(s, s->root_oid, &root);
	if (!err && le32_to_cpu(root.kind) != CAPSTORE_DOBJ_NODE) {
		cs_err(s, "corrupt object table: root object %llu is not a node",
		       s->root_oid);
		err = -EUCLEAN;
	}
	if (err)
		cs_otable_destroy(s);
	return err;
}

/* Locks and the leaf cache, so that cs_otable_destroy() is always safe. */
void cs_otable_init(struct cs_store *s)
{
	mutex_init(&s->otable.lock);
	xa_init(&s->otable.leaves);
}

void cs_otable_destroy(struct cs_store *s)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	unsigned long index;

	xa_for_each(&ot->leaves, index, leaf)
		cs_oleaf_free(leaf);
	xa_destroy(&ot->leaves);
	cs_tree_release(&ot->tree);
}

/**
 * cs_otable_get - read an object's record
 * @s: the store
 * @oid: the object id
 * @out: the record, verified; kind FREE for an id with no live object
 *
 * Return: 0, -ENOENT for an id never handed out, or an I/O or corruption
 * error.
 */
int cs_otable_get(struct cs_store *s, u64 oid, struct capstore_dobj *out)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	int err = -ENOENT;

	mutex_lock(&ot->lock);
	if (oid == CAPSTORE_OID_NONE || oid >= ot->next_oid)
		goto out;
	leaf = cs_oleaf_get(s, oid / CAPSTORE_OBJS_PER_BLOCK);
	err = PTR_ERR_OR_ZERO(leaf);
	if (!err)
		*out = leaf->rec[oid % CAPSTORE_OBJS_PER_BLOCK];
out:
	mutex_unlock(&ot->lock);
	return err;
}

/**
 * cs_otable_put - replace an object's record
 * @s: the store
 * @oid: an id already handed out
 * @o: the new record
 *
 * Only for a record built from nothing (a free record, at destroy or to
 * undo a create), never for one read with cs_otable_get() and changed: a
 * checkpoint may give the record a new data root (cs_otable_set_data())
 * between the two, and writing back the old record would put the root back
 * to blocks that checkpoint freed. Change single fields under the table's
 * lock instead (cs_otable_set_gen()).
 *
 * Return: 0 or a negative errno.
 */
int cs_otable_put(struct cs_store *s, u64 oid, const struct capstore_dobj *o)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	u32 was, now = le32_to_cpu(o->kind);
	int err = -ENOENT;

	mutex_lock(&ot->lock);
	if (WARN_ON_ONCE(!oid || oid >= ot->next_oid))
		goto out;
	leaf = cs_oleaf_get(s, oid / CAPSTORE_OBJS_PER_BLOCK);
	err = PTR_ERR_OR_ZERO(leaf);
	if (err)
		goto out;
	err = cs_oleaf_modify(ot, leaf);
	if (err)
		goto out;
	was = le32_to_cpu(leaf->rec[oid % CAPSTORE_OBJS_PER_BLOCK].kind);
	if (was == CAPSTORE_DOBJ_FREE && now != CAPSTORE_DOBJ_FREE)
		ot->nobjects++;
	else if (was != CAPSTORE_DOBJ_FREE && now == CAPSTORE_DOBJ_FREE)
		ot->nobjects--;
	leaf->rec[oid % CAPSTORE_OBJS_PER_BLOCK] = *o;
out:
	mutex_unlock(&ot->lock);
	return err;
}

/**
 * cs_otable_set_gen - give a live object's record a new generation
 * @s: the store
 * @oid: an id already handed out
 * @gen: the generation
 *
 * Changes that field alone, under the table's lock, so that it never
 * undoes a data root a checkpoint gave the record meanwhile.
 *
 * Return: 0, -ENOENT if the record is free, or a negative errno.
 */
int cs_otable_set_gen(struct cs_store *s, u64 oid, u64 gen)
{
	struct cs_otable *ot = &s->otable;
	unsigned int i = oid % CAPSTORE_OBJS_PER_BLOCK;
	struct cs_oleaf *leaf;
	int err = -ENOENT;

	mutex_lock(&ot->lock);
	if (WARN_ON_ONCE(!oid || oid >= ot->next_oid))
		goto out;
	leaf = cs_oleaf_get(s, oid / CAPSTORE_OBJS_PER_BLOCK);
	err = PTR_ERR_OR_ZERO(leaf);
	if (err)
		goto out;
	err = -ENOENT;
	if (leaf->rec[i].kind == cpu_to_le32(CAPSTORE_DOBJ_FREE))
		goto out;
	err = cs_oleaf_modify(ot, leaf);
	if (!err)
		leaf->rec[i].gen = cpu_to_le64(gen);
out:
	mutex_unlock(&ot->lock);
	return err;
}

/**
 * cs_otable_new - create an object record with a new id
 * @s: the store
 * @kind: CAPSTORE_DOBJ_SEGMENT or CAPSTORE_DOBJ_NODE
 * @size: segment size in bytes, 0 for a node
 * @oid: the new id
 *
 * Return: 0 or a negative errno.
 */
int cs_otable_new(struct cs_store *s, u32 kind, u64 size, u64 *oid)
{
	struct cs_otable *ot = &s->otable;
	struct capstore_dobj *o;
	struct cs_oleaf *leaf;
	u64 id;
	int err;

	mutex_lock(&ot->lock);
	id = ot->next_oid;
	leaf = cs_oleaf_get(s, id / CAPSTORE_OBJS_PER_BLOCK);
	err = PTR_ERR_OR_ZERO(leaf);
	if (err)
		goto out;
	/*
	 * The first id of a leaf grows the table: the blocks it gains are
	 * paid for now, or the create fails (ENOSPC), never the checkpoint.
	 * Callers hold wr_sys, so the epoch stays. (Should the leaf then fail
	 * to change, ENOMEM, the promise stays: a few blocks too many.)
	 */
	if (id % CAPSTORE_OBJS_PER_BLOCK == 0) {
		u64 n = id / CAPSTORE_OBJS_PER_BLOCK;

		err = cs_space_reserve_meta(s, READ_ONCE(s->epoch),
					    cs_otable_blocks(n + 1) -
					    cs_otable_blocks(n));
		if (err)
			goto out;
	}
	err = cs_oleaf_modify(ot, leaf);
	if (err)
		goto out;
	o = &leaf->rec[id % CAPSTORE_OBJS_PER_BLOCK];
	memset(o, 0, sizeof(*o));
	o->kind = cpu_to_le32(kind);
	o->oid = cpu_to_le64(id);
	o->gen = cpu_to_le64(1);
	o->size = cpu_to_le64(size);
	o->data.height = kind == CAPSTORE_DOBJ_SEGMENT ?
		capstore_tree_height_for(size >> CAPSTORE_BLOCK_SHIFT) : 0;
	ot->next_oid = id + 1;
	ot->nobjects++;
	*oid = id;
out:
	mutex_unlock(&ot->lock);
	return err;
}

ALLOW_ERROR_INJECTION(cs_otable_new, ERRNO);

/**
 * cs_otable_freeze - the snapshot: fix what the checkpoint will write
 * @s: the store
 * @objs: the objects of the checkpoint (cs_inode.cp_link), whose records
 *	get new data roots
 *
 * Called with writers held.
 *
 * Return: 0 or a negative errno.
 */
int cs_otable_freeze(struct cs_store *s, struct list_head *objs)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	struct cs_inode *ci;
	unsigned long index;
	int err = 0;

	mutex_lock(&ot->lock);
	list_for_each_entry(ci, objs, cp_link) {
		leaf = cs_oleaf_get(s, ci->vfs_inode.i_ino /
				       CAPSTORE_OBJS_PER_BLOCK);
		if (IS_ERR(leaf)) {
			err = PTR_ERR(leaf);
			goto out;
		}
	}
	xa_for_each(&ot->leaves, index, leaf) {
		WARN_ON_ONCE(leaf->in_cp || leaf->frozen);
		leaf->in_cp = leaf->dirty;
		leaf->dirty = false;
	}
	list_for_each_entry(ci, objs, cp_link) {
		leaf = xa_load(&ot->leaves, ci->vfs_inode.i_ino /
				       CAPSTORE_OBJS_PER_BLOCK);
		leaf->in_cp = true;
	}
	ot->cp_next_oid = ot->next_oid;
	ot->cp_nobjects = ot->nobjects;
	ot->dirty = false;
out:
	mutex_unlock(&ot->lock);
	return err;
}

/**
 * cs_otable_set_data - give an object's record the root of its data tree
 * @s: the store
 * @oid: the object, one of the checkpoint's
 * @data: the root the checkpoint just wrote
 *
 * Both the records the checkpoint writes and the current ones get it: the
 * tree is the same for both, only the checkpoint changes it.
 */
void cs_otable_set_data(struct cs_store *s, u64 oid,
			const struct capstore_dtree *data)
{
	struct cs_otable *ot = &s->otable;
	unsigned int i = oid % CAPSTORE_OBJS_PER_BLOCK;
	struct cs_oleaf *leaf;

	mutex_lock(&ot->lock);
	leaf = xa_load(&ot->leaves, oid / CAPSTORE_OBJS_PER_BLOCK);
	if (!WARN_ON_ONCE(!leaf || !leaf->in_cp)) {
		if (leaf->rec[i].kind != cpu_to_le32(CAPSTORE_DOBJ_FREE))
			leaf->rec[i].data = *data;
		if (leaf->frozen &&
		    leaf->frozen[i].kind != cpu_to_le32(CAPSTORE_DOBJ_FREE))
			leaf->frozen[i].data = *data;
	}
	mutex_unlock(&ot->lock);
}

/**
 * cs_otable_flush - write the frozen leaves and the tree
 * @s: the store
 * @wb: the checkpoint's batch
 * @h: receives the table's root and counts as of the snapshot
 *
 * Return: 0 or a negative errno.
 */
int cs_otable_flush(struct cs_store *s, struct cs_wbatch *wb,
		    struct capstore_dhdr *h)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	unsigned long index;
	int err = 0;

	mutex_lock(&ot->lock);
	xa_for_each(&ot->leaves, index, leaf) {
		struct capstore_bptr b = {}, old;
		u64 blkno;
		u32 crc;

		if (!leaf->in_cp)
			continue;
		err = cs_space_alloc(s, CS_ALLOC_META, &blkno);
		if (err)
			break;
		cs_write_copy(wb, blkno, leaf->frozen ?: leaf->rec, &crc);
		b.blkno = cpu_to_le64(blkno);
		b.crc = cpu_to_le32(crc);
		err = cs_tree_set(s, &ot->tree, index, &b, &old);
		if (err) {
			cs_space_free(s, blkno);
			break;
		}
		if (old.blkno)
			cs_space_free(s, le64_to_cpu(old.blkno));
	}
	if (!err)
		err = cs_tree_flush(s, &ot->tree, wb);
	if (!err) {
		cs_tree_to_disk(&ot->tree, &h->otable);
		h->next_oid = cpu_to_le64(ot->cp_next_oid);
		h->nobjects = cpu_to_le64(ot->cp_nobjects);
	}
	mutex_unlock(&ot->lock);
	return err;
}

/**
 * cs_otable_thaw - the checkpoint is over
 * @s: the store
 * @committed: it committed; if not, its leaves must be written again
 */
void cs_otable_thaw(struct cs_store *s, bool committed)
{
	struct cs_otable *ot = &s->otable;
	struct cs_oleaf *leaf;
	unsigned long index;

	mutex_lock(&ot->lock);
	xa_for_each(&ot->leaves, index, leaf) {
		if (!leaf->in_cp)
			continue;
		free_page((unsigned long)leaf->frozen);
		leaf->frozen = NULL;
		leaf->in_cp = false;
		if (!committed) {
			leaf->dirty = true;
			ot->dirty = true;
		}
	}
	mutex_unlock(&ot->lock);
}
