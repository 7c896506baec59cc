// SPDX-License-Identifier: GPL-2.0
/*
 * Checkpoints: the whole store, atomically, with writers held only for a
 * snapshot.
 *
 * Changes belong to epochs; a checkpoint's snapshot ends one. With writers
 * held (store->wr_sys, store->wr_fault), the snapshot moves every object
 * of the dirty list to the checkpoint, write-protects each of their dirty
 * pages and claims it (PG_checked, a reference in ci->claims), freezes the
 * object table leaves the checkpoint will write, and starts the next
 * epoch. Writers then go on: a write to a claimed page first copies it for
 * the checkpoint (cs_folio_prepare_write()), under the folio lock, never
 * waiting for I/O. Early writeback is held off (store->wb_sem) until the
 * checkpoint commits, so that meanwhile only the checkpoint changes trees
 * and the space map.
 *
 * The checkpoint then writes every claimed page and every copy to new
 * blocks, each object's tree bottom-up, frees the blocks of objects
 * destroyed before the snapshot, writes the frozen object table leaves
 * and, last, the space map. Nothing the previous checkpoint references is
 * overwritten. Once every write has completed, the header goes to the next
 * slot with a cache flush before it and FUA on it: that single write
 * commits. A crash at any point before it leaves the previous checkpoint
 * the newest valid header.
 *
 * Checkpoints run in the context of whoever needs one (fsync, the ioctl,
 * detach, the store's checkpoint thread for the interval and the dirty
 * limit), one at a time under cp_mutex. Durability requests coalesce:
 * a caller waits for the mutex and finds its epoch already committed by
 * the checkpoint that ran meanwhile (group commit).
 *
 * Failing to write data (no space, no memory) fails the checkpoint and
 * changes nothing else: claimed pages stay dirty for the next one. A
 * failure once metadata is being written, or any I/O error, shuts the
 * store down; the last committed checkpoint stays the recovery point. So
 * does damage found while the checkpoint runs (a block freed twice): a
 * store shut down by then does not write the header.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/freezer.h>
#include <linux/gfp.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/ktime.h>
#include <linux/mempool.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>
#include <linux/rmap.h>

#include "internal.h"

#define CREATE_TRACE_POINTS
#include "capstore_trace.h"

/**
 * struct cs_cp - a checkpoint in progress
 * @s: the store
 * @objs: objects with changes in the snapshot (cs_inode.cp_link)
 * @zombies: objects destroyed before the snapshot (cs_inode.zombie_link)
 * @epoch: the epoch the snapshot ended
 * @seq: the sequence number the checkpoint commits as
 * @pages: pages claimed by the snapshot
 * @wb: the checkpoint's writes
 * @h: the header being built
 */
struct cs_cp {
	struct cs_store *s;
	struct list_head objs;
	struct list_head zombies;
	u64 epoch;
	u64 seq;
	u64 pages;
	struct cs_wbatch wb;
	struct capstore_dhdr *h;
};

/* --- sections ---------------------------------------------------------- */

/* Wait, bounded, until no application section is open. */
static void cs_sections_quiesce(struct cs_store *s)
{
	unsigned long timeout;
	unsigned int open;

	spin_lock(&s->section_lock);
	s->snapshot_waiting = true;
	spin_unlock(&s->section_lock);

	timeout = msecs_to_jiffies(READ_ONCE(s->tune.section_timeout_ms));
	if (wait_event_timeout(s->section_wq, !READ_ONCE(s->sections_open),
			       timeout))
		return;
	spin_lock(&s->section_lock);
	open = s->sections_open;
	spin_unlock(&s->section_lock);
	if (open) {
		s->stats.sections_broken += open;
		cs_warn(s, "checkpoint goes ahead with %u application section(s) still open",
			open);
	}
}

static void cs_sections_resume(struct cs_store *s)
{
	spin_lock(&s->section_lock);
	s->snapshot_waiting = false;
	spin_unlock(&s->section_lock);
	wake_up_all(&s->section_wq);
}

/*
 * The caller already holds a section: nested on @cap, or begun by this
 * thread on any capability of the store. Under store->section_lock.
 */
static bool cs_section_held(struct cs_store *s, struct cs_cap *cap)
{
	struct cs_cap *c;

	if (cap->sections)
		return true;
	list_for_each_entry(c, &s->section_caps, section_link)
		if (c->section_task == current)
			return true;
	return false;
}

/**
 * cs_section_begin - open an application section on a capability
 * @file: any live capability of the store
 *
 * Waits while a checkpoint is about to take its snapshot, unless the
 * caller already holds a section (nested on @file, or begun by the same
 * thread on another capability): the snapshot waits for that one, so
 * waiting here would only make sure it is cut.
 *
 * Return: 0, -EKEYREVOKED, -EIO, or -EINTR.
 */
int cs_section_begin(struct file *file)
{
	struct cs_store *s = CS_S(file_inode(file)->i_sb);
	struct cs_cap *cap = cs_file_cap(file);
	int err = cs_cap_check(file, 0);

	if (err)
		return err;
	spin_lock(&s->section_lock);
	while (s->snapshot_waiting && !cs_section_held(s, cap)) {
		spin_unlock(&s->section_lock);
		if (wait_event_killable(s->section_wq,
					!READ_ONCE(s->snapshot_waiting)))
			return -EINTR;
		spin_lock(&s->section_lock);
	}
	if (!cap->sections++) {
		cap->section_epoch = READ_ONCE(s->epoch);
		cap->section_task = current;
		list_add(&cap->section_link, &s->section_caps);
	}
	s->sections_open++;
	spin_unlock(&s->section_lock);
	return 0;
}

/**
 * cs_section_end - close the innermost section opened on a capability
 * @file: the capability it was opened on
 *
 * Return: 0; -EINVAL if none is open; -ETIMEDOUT if, for the outermost
 * section, a checkpoint took its snapshot while it was open.
 */
int cs_section_end(struct file *file)
{
	struct cs_store *s = CS_S(file_inode(file)->i_sb);
	struct cs_cap *cap = cs_file_cap(file);
	int err = 0;

	spin_lock(&s->section_lock);
	if (!cap->sections) {
		err = -EINVAL;
	} else {
		s->sections_open--;
		if (!--cap->sections) {
			list_del(&cap->section_link);
			if (cap->section_epoch != READ_ONCE(s->epoch))
				err = -ETIMEDOUT;
		}
	}
	spin_unlock(&s->section_lock);
	if (!err || err == -ETIMEDOUT)
		wake_up_all(&s->section_wq);
	return err;
}

/**
 * cs_section_release - end the sections of a capability being closed
 * @file: the capability
 */
void cs_section_release(struct file *file)
{
	struct cs_store *s = CS_S(file_inode(file)->i_sb);
	struct cs_cap *cap = cs_file_cap(file);

	if (!cap->sections)
		return;
	spin_lock(&s->section_lock);
	s->sections_open -= cap->sections;
	cap->sections = 0;
	list_del(&cap->section_link);
	spin_unlock(&s->section_lock);
	wake_up_all(&s->section_wq);
}

/* --- the snapshot ------------------------------------------------------ */

/* Pages a snapshot write-protects in one walk: @first..@last, or none. */
struct cs_wp_window {
	pgoff_t first;
	pgoff_t last;
	unsigned long *bitmap;
};

static void cs_wp_window_flush(struct address_space *mapping,
			       struct cs_wp_window *w)
{
	if (w->first <= w->last)
		cs_wp_clean_range(mapping, w->first, w->last - w->first + 1,
				  w->bitmap);
	w->first = ULONG_MAX;
	w->last = 0;
}

/*
 * Claim and write-protect every dirty page of an object. Page by page,
 * write-protecting is a TLB shootdown per page, which waits for an IPI to
 * every CPU running a process that maps the object, all while writers are
 * held. So the claimed pages of a mapped object are write-protected and
 * their page-table entries cleaned in windows of up to CS_WP_RANGE_MAX
 * pages, one page-table walk and one ranged flush per window and mapping
 * (cs_wp_clean_range()). The entries must be clean too: else writing
 * each page later (folio_clear_dirty_for_io()) would shoot down its TLB
 * entry, an IPI per page while the writer runs. A store through an entry
 * still writable until its window is done is part of the snapshot:
 * writers are held until the end.
 */
static int cs_claim_pages(struct cs_cp *cp, struct cs_inode *ci)
{
	struct address_space *mapping = ci->vfs_inode.i_mapping;
	struct cs_wp_window w = { .first = ULONG_MAX };
	bool ranged = CS_HAVE_WP_RANGE && mapping_mapped(mapping);
	struct folio_batch fbatch;
	pgoff_t index = 0;
	unsigned int i, n;
	int err = 0;

	if (ranged) {
		w.bitmap = kmalloc(CS_WP_RANGE_MAX / BITS_PER_BYTE, GFP_NOFS);
		if (!w.bitmap)
			return -ENOMEM;
	}
	folio_batch_init(&fbatch);
	while (!err && (n = filemap_get_folios_tag(mapping, &index, (pgoff_t)-1,
						   PAGECACHE_TAG_DIRTY,
						   &fbatch))) {
		for (i = 0; i < n && !err; i++) {
			struct folio *folio = fbatch.folios[i];

			if (ranged && w.first <= w.last &&
			    folio->index - w.first >= CS_WP_RANGE_MAX)
				cs_wp_window_flush(mapping, &w);
			folio_lock(folio);
			if (folio->mapping == mapping &&
			    folio_test_dirty(folio) &&
			    !folio_test_checked(folio)) {
				err = xa_err(xa_store(&ci->claims, folio->index,
						      folio, GFP_NOFS));
				if (!err) {
					folio_get(folio);
					if (ranged) {
						w.first = min(w.first,
							      folio->index);
						w.last = folio->index;
					} else {
						folio_mkclean(folio);
					}
					folio_set_checked(folio);
					cp->pages++;
				}
			}
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
	}
	if (ranged) {
		cs_wp_window_flush(mapping, &w);
		kfree(w.bitmap);
	}
	return err;
}

/* Give back the claims a failed checkpoint did not write: pages stay dirty. */
static void cs_unclaim_pages(struct cs_store *s, struct cs_inode *ci)
{
	unsigned long index;
	struct folio *folio;
	struct page *page;

	xa_for_each(&ci->claims, index, folio) {
		folio = xa_erase(&ci->claims, index);
		if (!folio)
			continue;
		folio_lock(folio);
		folio_clear_checked(folio);
		folio_unlock(folio);
		folio_put(folio);
	}
	xa_for_each(&ci->copies, index, page) {
		page = xa_erase(&ci->copies, index);
		if (!page)
			continue;
		mempool_free(page, s->bounce_pool);
		cs_space_unreserve(s, 1);
	}
}

/* Put the objects of a failed checkpoint back on the dirty list. */
static void cs_requeue_objects(struct cs_cp *cp)
{
	struct cs_store *s = cp->s;
	struct cs_inode *ci, *tmp;

	list_for_each_entry_safe(ci, tmp, &cp->objs, cp_link) {
		list_del_init(&ci->cp_link);
		spin_lock(&s->dirty_lock);
		if (!ci->on_dirty_list) {
			list_add_tail(&ci->dirty_link, &s->dirty_list);
			ci->on_dirty_list = true;
			ci = NULL;	/* the reference moves to the list */
		}
		spin_unlock(&s->dirty_lock);
		if (ci)
			iput(&ci->vfs_inode);
	}
	spin_lock(&s->dirty_lock);
	list_splice_init(&cp->zombies, &s->zombies);
	spin_unlock(&s->dirty_lock);
}

/*
 * Take the snapshot: the one moment writers are held. Returns with @cp
 * holding the objects, their claimed pages and the frozen object table.
 */
static int cs_snapshot(struct cs_cp *cp, u64 *stall)
{
	struct cs_store *s = cp->s;
	struct cs_inode *ci, *tmp;
	u64 start;
	int err = 0;

	cs_sections_quiesce(s);
	/*
	 * The stall starts when syscall writers start to wait: taking
	 * wr_fault begins with an RCU grace period (rcu_sync_enter()).
	 */
	start = ktime_get_ns();
	percpu_down_write(&s->wr_sys);
	percpu_down_write(&s->wr_fault);

	spin_lock(&s->dirty_lock);
	list_for_each_entry_safe(ci, tmp, &s->dirty_list, dirty_link) {
		list_del_init(&ci->dirty_link);
		ci->on_dirty_list = false;
		list_add_tail(&ci->cp_link, &cp->objs);
	}
	list_splice_init(&s->zombies, &cp->zombies);
	spin_unlock(&s->dirty_lock);

	list_for_each_entry(ci, &cp->objs, cp_link) {
		if (ci->dead)
			continue;
		err = cs_claim_pages(cp, ci);
		if (err)
			break;
	}
	if (!err)
		err = cs_otable_freeze(s, &cp->objs);
	if (err) {
		list_for_each_entry(ci, &cp->objs, cp_link)
			cs_unclaim_pages(s, ci);
		cs_requeue_objects(cp);
	} else {
		cp->epoch = s->epoch;
		/* Pairs with cs_sync(): a later reader sees the new epoch. */
		smp_store_release(&s->epoch, s->epoch + 1);
	}
	*stall = ktime_get_ns() - start;
	percpu_up_write(&s->wr_fault);
	percpu_up_write(&s->wr_sys);
	cs_sections_resume(s);
	return err;
}

/* --- writing ----------------------------------------------------------- */

/* Point leaf @index of @ci's tree at @blkno, freeing the block it had. */
static int cs_cp_place(struct cs_store *s, struct cs_inode *ci, pgoff_t index,
		       u64 blkno, __le32 crc)
{
	struct capstore_bptr b = { .blkno = cpu_to_le64(blkno), .crc = crc };
	struct capstore_bptr old;
	int err;

	mutex_lock(&ci->tree_lock);
	err = cs_tree_set(s, &ci->data, index, &b, &old);
	mutex_unlock(&ci->tree_lock);
	if (!err && old.blkno)
		cs_space_free(s, le64_to_cpu(old.blkno));
	return err;
}

/* Write a claimed page nobody changed since the snapshot. Folio locked. */
static int cs_cp_write_folio(struct cs_cp *cp, struct cs_inode *ci,
			     struct folio *folio)
{
	struct cs_store *s = cp->s;
	bool cached = folio->mapping == ci->vfs_inode.i_mapping;
	struct page *bounce;
	__le32 crc;
	u64 blkno;
	int err;

	err = cs_space_alloc(s, CS_ALLOC_DATA, &blkno);
	if (err)
		return err;
	/* The object may have been destroyed since: write it all the same. */
	if (cached)
		folio_clear_dirty_for_io(folio);
	bounce = cs_bounce_copy(&cp->wb, folio, &crc);
	err = cs_cp_place(s, ci, folio->index, blkno, crc);
	if (err) {
		cs_bounce_free(s, bounce);
		cs_space_unalloc(s, blkno);
		if (cached)
			folio_mark_dirty(folio);
		return err;
	}
	folio_clear_checked(folio);
	if (cached)
		folio_start_writeback(folio);
	return cs_wbatch_add(&cp->wb, blkno, bounce, cached ? folio : NULL);
}

/* The data of one object: claimed pages, then copies writers made. */
static int cs_cp_write_data(struct cs_cp *cp, struct cs_inode *ci)
{
	struct cs_store *s = cp->s;
	unsigned long index;
	struct folio *folio;
	struct page *page;
	int err = 0;

	xa_for_each(&ci->claims, index, folio) {
		/* Whoever erases the entry owns the claim's reference. */
		folio = xa_erase(&ci->claims, index);
		if (!folio)
			continue;
		folio_lock(folio);
		if (folio_test_checked(folio))
			err = cs_cp_write_folio(cp, ci, folio);
		if (err)
			folio_clear_checked(folio);
		folio_unlock(folio);
		folio_put(folio);
		if (err)
			return err;
	}
	xa_for_each(&ci->copies, index, page) {
		__le32 crc;
		u64 blkno;

		page = xa_load(&ci->copies, index);
		err = cs_space_alloc(s, CS_ALLOC_DATA, &blkno);
		if (err)
			return err;
		crc = cpu_to_le32(capstore_crc(page_address(page),
					       CAPSTORE_BLOCK_SIZE));
		err = cs_cp_place(s, ci, index, blkno, crc);
		if (err) {
			cs_space_unalloc(s, blkno);
			return err;
		}
		xa_erase(&ci->copies, index);
		cs_wbatch_add(&cp->wb, blkno, page, NULL);
	}
	return 0;
}

/* Write an object's tree and give its new root to its record. */
static int cs_cp_write_tree(struct cs_cp *cp, struct cs_inode *ci)
{
	struct capstore_dtree data;
	int err;

	mutex_lock(&ci->tree_lock);
	err = cs_tree_flush(cp->s, &ci->data, &cp->wb);
	if (!err)
		cs_tree_to_disk(&ci->data, &data);
	mutex_unlock(&ci->tree_lock);
	if (!err)
		cs_otable_set_data(cp->s, ci->vfs_inode.i_ino, &data);
	return err;
}

/* Objects destroyed in this checkpoint's epoch are not part of it. */
static bool cs_cp_skips(struct cs_cp *cp, struct cs_inode *ci)
{
	return READ_ONCE(ci->dead) && READ_ONCE(ci->dead_epoch) <= cp->epoch;
}

/* Trees, zombies, the object table, the space map; then the header. */
static int cs_cp_commit(struct cs_cp *cp)
{
	struct cs_store *s = cp->s;
	struct capstore_dhdr *h = cp->h;
	struct cs_inode *ci;
	int err = 0;

	list_for_each_entry(ci, &cp->objs, cp_link) {
		if (cs_cp_skips(cp, ci))
			continue;
		err = cs_cp_write_tree(cp, ci);
		if (err)
			break;
	}
	list_for_each_entry(ci, &cp->zombies, zombie_link) {
		if (err)
			break;
		mutex_lock(&ci->tree_lock);
		err = cs_tree_free_all(s, &ci->data);
		mutex_unlock(&ci->tree_lock);
	}
	if (!err)
		err = cs_otable_flush(s, &cp->wb, h);
	if (!err)
		err = cs_space_flush(s, &cp->wb, h);
	/* Wait even after an error: the batch owns pages in flight. */
	err = cs_wbatch_wait(&cp->wb) ?: err;
	if (err)
		return err;
	/*
	 * Damage found on the way (a block freed twice, cs_space_free()) shut
	 * the store down without failing a step: what was built from it must
	 * not become the recovery point. A shut-down store commits nothing.
	 */
	if (cs_store_is_shutdown(s))
		return -EIO;

	h->seq = cpu_to_le64(cp->seq);
	memcpy(h->uuid, s->geom.uuid, sizeof(h->uuid));
	h->time = cpu_to_le64(ktime_get_real_ns());
	h->root_oid = cpu_to_le64(s->root_oid);
	capstore_hdr_seal(h);
	trace_capstore_checkpoint_header(s, cp->seq);
	return cs_write_header(s, s->geom.header_start +
			       cp->seq % s->geom.header_slots, h);
}

static void cs_cp_release(struct cs_cp *cp)
{
	struct cs_inode *ci, *tmp;

	list_for_each_entry_safe(ci, tmp, &cp->objs, cp_link) {
		list_del_init(&ci->cp_link);
		iput(&ci->vfs_inode);
	}
	list_for_each_entry_safe(ci, tmp, &cp->zombies, zombie_link) {
		list_del_init(&ci->zombie_link);
		iput(&ci->vfs_inode);
	}
}

static bool cs_store_dirty(struct cs_store *s)
{
	bool dirty;

	spin_lock(&s->dirty_lock);
	dirty = !list_empty(&s->dirty_list) || !list_empty(&s->zombies);
	spin_unlock(&s->dirty_lock);
	return dirty || READ_ONCE(s->otable.dirty);
}

/* One checkpoint, under cp_mutex. */
static int cs_checkpoint_run(struct cs_store *s)
{
	struct cs_cp cp = { .s = s };
	u64 start = ktime_get_ns(), stall, took;
	struct cs_inode *ci;
	int err;

	lockdep_assert_held(&s->cp_mutex);
	INIT_LIST_HEAD(&cp.objs);
	INIT_LIST_HEAD(&cp.zombies);
	/* Only a crafted header gets here: its successor would be invalid. */
	if (s->seq >= CAPSTORE_SEQ_MAX) {
		cs_store_shutdown(s, -EOVERFLOW,
				  "checkpoint sequence numbers exhausted");
		return -EIO;
	}
	cp.seq = s->seq + 1;
	cp.h = (void *)get_zeroed_page(GFP_KERNEL);
	if (!cp.h)
		return -ENOMEM;
	cs_wbatch_init(&cp.wb, s);

	/* Early writeback finishes and stays off until the commit. */
	down_write(&s->wb_sem);
	trace_capstore_checkpoint_begin(s, cp.seq);
	err = cs_snapshot(&cp, &stall);
	if (err)
		goto out;
	trace_capstore_checkpoint_snapshot(s, cp.seq, cp.pages, stall);

	list_for_each_entry(ci, &cp.objs, cp_link) {
		if (cs_cp_skips(&cp, ci))
			continue;
		err = cs_cp_write_data(&cp, ci);
		if (err)
			break;
	}
	if (err) {
		/* Nothing is committed; what was written is referenced only
		 * by in-memory trees, which the next checkpoint commits.
		 */
		if (cs_wbatch_wait(&cp.wb))
			cs_store_shutdown(s, -EIO, "writing checkpoint data");
		list_for_each_entry(ci, &cp.objs, cp_link)
			cs_unclaim_pages(s, ci);
		cs_otable_thaw(s, false);
		cs_requeue_objects(&cp);
		cs_space_tree_done(s, cp.epoch, false);
		goto out;
	}

	err = cs_cp_commit(&cp);
	if (err) {
		cs_store_shutdown(s, err, "checkpoint failed");
		goto out_release;
	}
	cs_space_commit(s);
	cs_space_tree_done(s, cp.epoch, true);
	cs_otable_thaw(s, true);
	WRITE_ONCE(s->seq, cp.seq);
	WRITE_ONCE(s->durable_epoch, cp.epoch);

	took = ktime_get_ns() - start;
	s->stats.checkpoints++;
	s->stats.last_duration_ns = took;
	s->stats.max_duration_ns = max(s->stats.max_duration_ns, took);
	s->stats.last_stall_ns = stall;
	s->stats.max_stall_ns = max(s->stats.max_stall_ns, stall);
	s->stats.last_pages = cp.pages;
	trace_capstore_checkpoint_commit(s, cp.seq, cp.pages, took);
out_release:
	up_write(&s->wb_sem);
	cs_cp_release(&cp);
	free_page((unsigned long)cp.h);
	return err;
out:
	up_write(&s->wb_sem);
	free_page((unsigned long)cp.h);
	return err;
}

/*
 * Make every change of epochs up to @target durable, running checkpoints
 * as needed. Callers queue on cp_mutex, so concurrent requests share one.
 */
static int cs_checkpoint_to(struct cs_store *s, u64 target, u64 *seq)
{
	int err = 0;

	mutex_lock(&s->cp_mutex);
	while (READ_ONCE(s->durable_epoch) < target) {
		if (s->detached) {
			err = -ENODEV;
			break;
		}
		if (cs_store_is_shutdown(s)) {
			err = -EIO;
			break;
		}
		/* Nothing waits to be written: the caller's writes are in. */
		if (!cs_store_dirty(s))
			break;
		err = cs_checkpoint_run(s);
		if (err) {
			s->stats.failed++;
			trace_capstore_checkpoint_fail(s, s->seq + 1, err);
			break;
		}
	}
	if (!err && seq)
		*seq = s->seq;
	s->last_cp = jiffies;
	mutex_unlock(&s->cp_mutex);
	return err;
}

/**
 * cs_sync - make every change made before the call durable
 * @s: the store
 * @seq: if not NULL, receives the sequence number of a committed
 *	checkpoint that holds every such change
 *
 * Runs a checkpoint unless one that started after the call already
 * committed everything (group commit).
 *
 * Return: 0, -ENOSPC if the data did not fit (nothing changed), -ENOMEM,
 * -EIO if the store is or has just been shut down, -ENODEV once detached.
 */
int cs_sync(struct cs_store *s, u64 *seq)
{
	/* Pairs with the release in cs_snapshot(). */
	return cs_checkpoint_to(s, smp_load_acquire(&s->epoch), seq);
}

/**
 * cs_checkpoint_kick - ask the checkpoint thread for a checkpoint soon
 * @s: the store
 */
void cs_checkpoint_kick(struct cs_store *s)
{
	if (!READ_ONCE(s->cp_kicked)) {
		WRITE_ONCE(s->cp_kicked, true);
		wake_up(&s->cp_wait);
	}
}

/*
 * How long until the interval makes a checkpoint due: 0 once it is,
 * MAX_SCHEDULE_TIMEOUT with the interval off.
 */
static long cs_interval_left(struct cs_store *s, unsigned int ms)
{
	unsigned long due;

	if (!ms)
		return MAX_SCHEDULE_TIMEOUT;
	due = READ_ONCE(s->last_cp) + msecs_to_jiffies(ms);
	return time_after(due, jiffies) ? due - jiffies : 0;
}

/*
 * The interval and the dirty limit: checkpoints nobody asked for.
 *
 * Freezable: while the system suspends or hibernates, the thread sleeps
 * in the freezer between checkpoints (never in the middle of one), so no
 * scheduled checkpoint writes to a device being suspended or into the
 * image of a hibernating system. A checkpoint that fell due meanwhile
 * runs after the thaw.
 */
static int cs_checkpoint_thread(void *data)
{
	struct cs_store *s = data;

	set_freezable();
	while (!kthread_should_stop()) {
		unsigned int ms = READ_ONCE(s->tune.interval_ms);

		/* A new interval_ms (sysfs wakes us) counts at once. */
		wait_event_freezable_timeout(s->cp_wait,
					     READ_ONCE(s->cp_kicked) ||
					     READ_ONCE(s->tune.interval_ms) != ms ||
					     kthread_should_stop(),
					     cs_interval_left(s, ms));
		if (kthread_should_stop())
			break;
		if (!xchg(&s->cp_kicked, false) &&
		    cs_interval_left(s, READ_ONCE(s->tune.interval_ms)))
			continue;
		cs_sync(s, NULL);
	}
	return 0;
}

/**
 * cs_checkpoint_start - start the store's checkpoint thread
 * @s: the store
 *
 * Return: 0 or a negative errno.
 */
int cs_checkpoint_start(struct cs_store *s)
{
	struct task_struct *t;

	s->last_cp = jiffies;
	t = kthread_run(cs_checkpoint_thread, s, "capstore-cp/%u", s->id);
	if (IS_ERR(t))
		return PTR_ERR(t);
	s->cp_thread = t;
	return 0;
}

void cs_checkpoint_stop(struct cs_store *s)
{
	if (s->cp_thread) {
		kthread_stop(s->cp_thread);
		s->cp_thread = NULL;
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
	struct cs_cp cp = { .s = s };
	struct cs_inode *ci, *tmp;

	INIT_LIST_HEAD(&cp.objs);
	INIT_LIST_HEAD(&cp.zombies);
	spin_lock(&s->dirty_lock);
	list_for_each_entry_safe(ci, tmp, &s->dirty_list, dirty_link) {
		list_del_init(&ci->dirty_link);
		ci->on_dirty_list = false;
		list_add_tail(&ci->cp_link, &cp.objs);
	}
	list_splice_init(&s->zombies, &cp.zombies);
	spin_unlock(&s->dirty_lock);
	cs_cp_release(&cp);
}
