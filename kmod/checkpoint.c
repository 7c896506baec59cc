// SPDX-License-Identifier: GPL-2.0
/*
 * Checkpoints: the whole store, atomically.
 *
 * Writers are held (store->wr_sys, store->wr_fault) while every object on
 * the dirty list has its dirty pages written to new blocks and its tree
 * written bottom-up; then the object table and, last, the space map are
 * written the same way. Nothing the previous checkpoint references is
 * overwritten. Once every write has completed, the header is written to
 * the next slot with a cache flush before it and FUA on it: that single
 * write commits the checkpoint. A crash at any point before it leaves the
 * previous checkpoint as the newest valid header.
 *
 * If anything fails once metadata is being written, the store is shut
 * down: it refuses further changes and the last committed checkpoint
 * stays the recovery point. Running out of space while writing data fails
 * the checkpoint with -ENOSPC and changes nothing else.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/ktime.h>
#include <linux/pagemap.h>

#include "internal.h"

/* Write an object's tree and put its new root in its record. */
static int cs_checkpoint_object(struct cs_store *s, struct cs_inode *ci,
				struct cs_wbatch *wb)
{
	struct capstore_dobj rec = {};
	int err;

	mutex_lock(&ci->tree_lock);
	err = cs_tree_flush(s, &ci->data, wb);
	if (!err) {
		rec.kind = cpu_to_le32(ci->kind);
		rec.oid = cpu_to_le64(ci->vfs_inode.i_ino);
		rec.gen = cpu_to_le64(ci->gen);
		if (ci->kind == CAPSTORE_DOBJ_SEGMENT)
			rec.size = cpu_to_le64(i_size_read(&ci->vfs_inode));
		cs_tree_to_disk(&ci->data, &rec.data);
	}
	mutex_unlock(&ci->tree_lock);
	if (err)
		return err;
	return cs_otable_put(s, ci->vfs_inode.i_ino, &rec);
}

static void cs_dirty_list_release(struct cs_store *s, struct list_head *list)
{
	struct cs_inode *ci, *tmp;

	list_for_each_entry_safe(ci, tmp, list, dirty_link) {
		spin_lock(&s->dirty_lock);
		list_del_init(&ci->dirty_link);
		ci->on_dirty_list = false;
		spin_unlock(&s->dirty_lock);
		iput(&ci->vfs_inode);
	}
}

/**
 * cs_checkpoint_discard - drop the changes no checkpoint will write
 * @s: a store that is shut down and being detached
 *
 * Releases the objects on the dirty list; their dirty pages are thrown
 * away when they are evicted.
 */
void cs_checkpoint_discard(struct cs_store *s)
{
	LIST_HEAD(list);

	spin_lock(&s->dirty_lock);
	list_splice_init(&s->dirty_list, &list);
	spin_unlock(&s->dirty_lock);
	cs_dirty_list_release(s, &list);
}

/* Everything after the data: trees, object table, space map, header. */
static int cs_checkpoint_commit(struct cs_store *s, struct list_head *list,
				struct capstore_dhdr *h)
{
	struct cs_wbatch wb;
	struct cs_inode *ci;
	u64 seq = s->seq + 1;
	int err = 0;

	cs_wbatch_init(&wb, s);
	list_for_each_entry(ci, list, dirty_link) {
		err = cs_checkpoint_object(s, ci, &wb);
		if (err)
			break;
	}
	if (!err)
		err = cs_otable_flush(s, &wb, h);
	if (!err)
		err = cs_space_flush(s, &wb, h);
	/* Wait even after an error: the batch owns pages in flight. */
	err = cs_wbatch_wait(&wb) ?: err;
	if (err)
		return err;

	h->seq = cpu_to_le64(seq);
	memcpy(h->uuid, s->geom.uuid, sizeof(h->uuid));
	h->time = cpu_to_le64(ktime_get_real_ns());
	h->root_oid = cpu_to_le64(s->root_oid);
	capstore_hdr_seal(h);
	err = cs_write_header(s, s->geom.header_start +
			      seq % s->geom.header_slots, h);
	if (err)
		return err;
	cs_space_commit(s);
	s->seq = seq;
	return 0;
}

/**
 * cs_checkpoint - take a checkpoint of the whole store and commit it
 * @s: the store
 * @seq: if not NULL, receives the sequence number of the committed
 *	checkpoint that holds every change made before the call
 *
 * Return: 0, -ENOSPC if the data does not fit (nothing changed), -EIO if
 * the store is or has just been shut down, -ENODEV once it is detached.
 */
int cs_checkpoint(struct cs_store *s, u64 *seq)
{
	struct capstore_dhdr *h;
	struct cs_inode *ci;
	LIST_HEAD(list);
	u64 start;
	int err = 0;

	h = (void *)get_zeroed_page(GFP_KERNEL);
	if (!h)
		return -ENOMEM;
	mutex_lock(&s->cp_mutex);
	if (s->detached) {
		err = -ENODEV;
		goto out_unlock;
	}
	if (cs_store_is_shutdown(s)) {
		err = -EIO;
		goto out_unlock;
	}
	start = ktime_get_ns();
	percpu_down_write(&s->wr_sys);
	percpu_down_write(&s->wr_fault);

	spin_lock(&s->dirty_lock);
	list_splice_init(&s->dirty_list, &list);
	spin_unlock(&s->dirty_lock);
	if (list_empty(&list) && !s->otable.dirty)
		goto out_writers;

	list_for_each_entry(ci, &list, dirty_link) {
		err = cs_writeback_inode(ci);
		if (err)
			break;
	}
	if (err == -ENOSPC) {
		/* Pages not written stay dirty; try again later. */
		spin_lock(&s->dirty_lock);
		list_splice(&list, &s->dirty_list);
		spin_unlock(&s->dirty_lock);
		goto out_writers;
	}
	if (!err)
		err = cs_checkpoint_commit(s, &list, h);
	if (err)
		cs_store_shutdown(s, err, "checkpoint failed");
	if (!err) {
		u64 took = ktime_get_ns() - start;

		s->stats.checkpoints++;
		s->stats.last_duration_ns = took;
		s->stats.last_stall_ns = took;
		s->stats.max_stall_ns = max(s->stats.max_stall_ns, took);
	}
out_writers:
	percpu_up_write(&s->wr_fault);
	percpu_up_write(&s->wr_sys);
	cs_dirty_list_release(s, &list);
	if (!err && seq)
		*seq = s->seq;
out_unlock:
	mutex_unlock(&s->cp_mutex);
	free_page((unsigned long)h);
	return err;
}
