// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write trees of block pointers.
 *
 * Segment data, node slots, the object table and the space map are all
 * trees of the same shape (include/capstore/format.h): interior blocks of
 * 256 checksummed pointers above leaves addressed by index. The interior
 * blocks a tree touches are loaded into memory on first use and stay
 * there; changes mark the path from the leaf up to the top dirty.
 *
 * A checkpoint writes a tree in two phases so that the space map can be
 * written last: cs_tree_assign() gives every dirty block a new location
 * (freeing the old one), cs_tree_write() then writes them bottom-up, each
 * parent receiving its children's checksums. Neither phase overwrites a
 * block in place.
 *
 * The caller serializes all calls on one tree.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/slab.h>
#include <linux/gfp.h>

#include "internal.h"

static unsigned int cs_slot(u64 index, unsigned int level)
{
	return (index >> (CAPSTORE_FANOUT_SHIFT * (level - 1))) &
	       (CAPSTORE_FANOUT - 1);
}

static void cs_tnode_free(struct cs_tnode *n)
{
	unsigned int i;

	if (!n)
		return;
	if (n->child) {
		for (i = 0; i < CAPSTORE_FANOUT; i++)
			cs_tnode_free(n->child[i]);
		kfree(n->child);
	}
	free_page((unsigned long)n->ent);
	kfree(n);
}

static struct cs_tnode *cs_tnode_alloc(unsigned int level)
{
	struct cs_tnode *n;

	n = kzalloc(sizeof(*n), GFP_NOFS);
	if (!n)
		return NULL;
	n->ent = (void *)get_zeroed_page(GFP_NOFS);
	if (!n->ent)
		goto fail;
	if (level >= 2) {
		n->child = kcalloc(CAPSTORE_FANOUT, sizeof(*n->child),
				   GFP_NOFS);
		if (!n->child)
			goto fail;
	}
	n->level = level;
	return n;
fail:
	cs_tnode_free(n);
	return NULL;
}

/* Load the interior block @b points at; a hole gives an empty block. */
static struct cs_tnode *cs_tnode_load(struct cs_store *s,
				      const struct capstore_bptr *b,
				      unsigned int level)
{
	struct cs_tnode *n = cs_tnode_alloc(level);
	const char *why;
	unsigned int i;
	int err;

	if (!n)
		return ERR_PTR(-ENOMEM);
	if (!b->blkno)
		return n;
	err = cs_read_verified(s, b, n->ent, "tree block");
	if (err)
		goto fail;
	for (i = 0; i < CAPSTORE_FANOUT; i++) {
		err = capstore_bptr_verify(&n->ent[i], &s->geom, &why);
		if (err) {
			cs_err_ratelimited(s, "corrupt tree block: block %llu, entry %u, %s",
					   le64_to_cpu(b->blkno), i, why);
			goto fail;
		}
	}
	n->blkno = le64_to_cpu(b->blkno);
	return n;
fail:
	cs_tnode_free(n);
	return ERR_PTR(err);
}

static int cs_tree_top(struct cs_store *s, struct cs_tree *t,
		       struct cs_tnode **out)
{
	struct cs_tnode *n = t->top;

	if (!n) {
		n = cs_tnode_load(s, &t->root, t->height);
		if (IS_ERR(n))
			return PTR_ERR(n);
		t->top = n;
	}
	*out = n;
	return 0;
}

static int cs_tnode_child(struct cs_store *s, struct cs_tnode *n,
			  unsigned int i, struct cs_tnode **out)
{
	struct cs_tnode *c = n->child[i];

	if (!c) {
		c = cs_tnode_load(s, &n->ent[i], n->level - 1);
		if (IS_ERR(c))
			return PTR_ERR(c);
		n->child[i] = c;
	}
	*out = c;
	return 0;
}

/**
 * cs_tree_init - set up a tree from its on-disk root
 * @t: the tree
 * @dt: the root, already verified, or NULL for an empty tree
 * @max_height: the tree never grows above it
 */
void cs_tree_init(struct cs_tree *t, const struct capstore_dtree *dt,
		  unsigned int max_height)
{
	memset(t, 0, sizeof(*t));
	if (dt) {
		t->root = dt->root;
		t->height = dt->height;
	}
	t->max_height = max_height;
}

/**
 * cs_tree_to_disk - the on-disk root of a tree written by cs_tree_write()
 * @t: the tree, not dirty
 * @dt: receives the root
 */
void cs_tree_to_disk(const struct cs_tree *t, struct capstore_dtree *dt)
{
	WARN_ON_ONCE(t->dirty);
	memset(dt, 0, sizeof(*dt));
	dt->root = t->root;
	dt->height = t->height;
}

/**
 * cs_tree_get - look up a leaf pointer
 * @s: the store
 * @t: the tree
 * @index: leaf index
 * @out: the pointer; zero (a hole) for leaves never written
 *
 * Return: 0, -ENOMEM, or the error of reading an interior block.
 */
int cs_tree_get(struct cs_store *s, struct cs_tree *t, u64 index,
		struct capstore_bptr *out)
{
	struct cs_tnode *n;
	unsigned int level;
	int err;

	memset(out, 0, sizeof(*out));
	if (index >= capstore_tree_capacity(t->height))
		return 0;
	if (!t->height) {
		*out = t->root;
		return 0;
	}
	err = cs_tree_top(s, t, &n);
	for (level = t->height; !err; level--) {
		unsigned int i = cs_slot(index, level);

		if (level == 1) {
			*out = n->ent[i];
			break;
		}
		err = cs_tnode_child(s, n, i, &n);
	}
	return err;
}

ALLOW_ERROR_INJECTION(cs_tree_get, ERRNO);

/* Add a level on top so that the tree addresses more leaves. */
static int cs_tree_grow(struct cs_tree *t)
{
	struct cs_tnode *n;

	if (t->height >= t->max_height)
		return -EFBIG;
	n = cs_tnode_alloc(t->height + 1);
	if (!n)
		return -ENOMEM;
	n->ent[0] = t->root;
	if (n->child)
		n->child[0] = t->top;
	n->dirty = true;
	t->top = n;
	t->height++;
	memset(&t->root, 0, sizeof(t->root));
	t->dirty = true;
	return 0;
}

/**
 * cs_tree_set - change a leaf pointer
 * @s: the store
 * @t: the tree
 * @index: leaf index
 * @val: the new pointer (zero for a hole)
 * @old: receives the pointer it replaces; the caller frees its block
 *
 * Grows the tree as needed and marks the path dirty.
 *
 * Return: 0, -ENOMEM, -EFBIG past the tree's maximum height, or the error
 * of reading an interior block.
 */
int cs_tree_set(struct cs_store *s, struct cs_tree *t, u64 index,
		const struct capstore_bptr *val, struct capstore_bptr *old)
{
	struct cs_tnode *n;
	unsigned int level;
	int err;

	while (index >= capstore_tree_capacity(t->height)) {
		err = cs_tree_grow(t);
		if (err)
			return err;
	}
	t->dirty = true;
	if (!t->height) {
		*old = t->root;
		t->root = *val;
		return 0;
	}
	err = cs_tree_top(s, t, &n);
	for (level = t->height; !err; level--) {
		unsigned int i = cs_slot(index, level);

		n->dirty = true;
		if (level == 1) {
			*old = n->ent[i];
			n->ent[i] = *val;
			break;
		}
		err = cs_tnode_child(s, n, i, &n);
	}
	return err;
}

ALLOW_ERROR_INJECTION(cs_tree_set, ERRNO);

static int cs_tnode_assign(struct cs_store *s, struct cs_tnode *n,
			   bool *allocated)
{
	unsigned int i;
	u64 blkno;
	int err;

	if (!n->dirty)
		return 0;
	for (i = 0; n->child && i < CAPSTORE_FANOUT; i++) {
		if (n->child[i]) {
			err = cs_tnode_assign(s, n->child[i], allocated);
			if (err)
				return err;
		}
	}
	if (n->assigned)
		return 0;
	err = cs_space_alloc(s, CS_ALLOC_META, &blkno);
	if (err)
		return err;
	if (n->blkno)
		cs_space_free(s, n->blkno);
	n->blkno = blkno;
	n->assigned = true;
	if (allocated)
		*allocated = true;
	return 0;
}

/**
 * cs_tree_assign - give each dirty interior block a new location
 * @s: the store
 * @t: the tree
 * @allocated: set to true if any block was allocated (may be NULL)
 *
 * Return: 0 or -ENOSPC.
 */
int cs_tree_assign(struct cs_store *s, struct cs_tree *t, bool *allocated)
{
	if (!t->height || !t->top)
		return 0;
	return cs_tnode_assign(s, t->top, allocated);
}

static void cs_tnode_write(struct cs_wbatch *wb, struct cs_tnode *n,
			   struct capstore_bptr *ref)
{
	unsigned int i;
	u32 crc;

	if (!n->dirty)
		return;
	for (i = 0; n->child && i < CAPSTORE_FANOUT; i++)
		if (n->child[i])
			cs_tnode_write(wb, n->child[i], &n->ent[i]);
	WARN_ON_ONCE(!n->assigned);
	cs_write_copy(wb, n->blkno, n->ent, &crc);
	ref->blkno = cpu_to_le64(n->blkno);
	ref->crc = cpu_to_le32(crc);
	ref->reserved = 0;
	n->dirty = false;
	n->assigned = false;
}

/**
 * cs_tree_write - write the blocks cs_tree_assign() placed
 * @s: the store
 * @t: the tree
 * @wb: the batch to queue the writes on
 *
 * Afterwards @t->root points at the new top block.
 *
 * Return: 0.
 */
int cs_tree_write(struct cs_store *s, struct cs_tree *t,
		  struct cs_wbatch *wb)
{
	if (t->height && t->top)
		cs_tnode_write(wb, t->top, &t->root);
	t->dirty = false;
	return 0;
}

/**
 * cs_tree_flush - cs_tree_assign() then cs_tree_write()
 * @s: the store
 * @t: the tree
 * @wb: the batch
 *
 * Return: 0 or -ENOSPC.
 */
int cs_tree_flush(struct cs_store *s, struct cs_tree *t,
		  struct cs_wbatch *wb)
{
	int err = cs_tree_assign(s, t, NULL);

	if (err)
		return err;
	return cs_tree_write(s, t, wb);
}

static int cs_tree_free_sub(struct cs_store *s, const struct capstore_bptr *b,
			    struct cs_tnode *n, unsigned int level)
{
	struct cs_tnode *tmp = NULL;
	unsigned int i;
	int err = 0;

	if (!level) {
		if (b->blkno)
			cs_space_free(s, le64_to_cpu(b->blkno));
		return 0;
	}
	if (!n) {
		if (!b->blkno)
			return 0;
		tmp = cs_tnode_load(s, b, level);
		if (IS_ERR(tmp))
			return PTR_ERR(tmp);
		n = tmp;
	}
	for (i = 0; i < CAPSTORE_FANOUT && !err; i++)
		err = cs_tree_free_sub(s, &n->ent[i],
				       n->child ? n->child[i] : NULL,
				       level - 1);
	if (!err && n->blkno)
		cs_space_free(s, n->blkno);
	cs_tnode_free(tmp);
	return err;
}

/**
 * cs_tree_free_all - free every block of a tree, leaves included
 * @s: the store
 * @t: the tree; empty afterwards
 *
 * Return: 0, or the error of reading an interior block (blocks below it
 * stay allocated, which fsck reports as leaked, never as corrupt).
 */
int cs_tree_free_all(struct cs_store *s, struct cs_tree *t)
{
	int err;

	if (!t->height)
		err = cs_tree_free_sub(s, &t->root, NULL, 0);
	else
		err = cs_tree_free_sub(s, &t->root, t->top, t->height);
	cs_tree_release(t);
	memset(&t->root, 0, sizeof(t->root));
	t->height = 0;
	t->dirty = true;
	return err;
}

/**
 * cs_tree_release - free a tree's memory
 * @t: the tree
 */
void cs_tree_release(struct cs_tree *t)
{
	cs_tnode_free(t->top);
	t->top = NULL;
}
