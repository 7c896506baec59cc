// SPDX-License-Identifier: GPL-2.0
/*
 * Object data in the page cache: reading pages from their blocks,
 * writing dirty pages to new blocks, and the file operations of segment
 * capabilities (read, write, mmap).
 *
 * A page is written to a block that the last committed checkpoint does
 * not reference, from a bounce copy, and the data tree is pointed at the
 * new block; the next checkpoint commits the tree. Checkpoints write the
 * pages of their snapshot; the kernel's flusher writes pages early, under
 * memory pressure or dirty limits, so a working set larger than memory
 * works.
 *
 * Every path of the module that dirties a page goes through
 * cs_folio_prepare_write() first: it reserves the block the page will
 * need and the tree blocks above it, and copies a page a checkpoint
 * claimed before letting the write change it. (Direct I/O into a mapping
 * dirties its pinned pages again when it completes, through
 * ->dirty_folio only: see "Known gap" in Documentation/checkpoints.rst.)
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/highmem.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pipe_fs_i.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/splice.h>
#include <linux/uio.h>
#include <linux/workqueue.h>
#include <linux/writeback.h>

#include "internal.h"

static int cs_lookup(struct cs_inode *ci, pgoff_t index,
		     struct capstore_bptr *b)
{
	int err;

	mutex_lock(&ci->tree_lock);
	err = cs_tree_get(cs_inode_store(ci), &ci->data, index, b);
	mutex_unlock(&ci->tree_lock);
	return err;
}

static bool cs_folio_crc_ok(struct cs_store *s, struct folio *folio,
			    __le32 want, u64 blkno)
{
	void *kaddr = kmap_local_folio(folio, 0);
	u32 crc = capstore_crc(kaddr, CAPSTORE_BLOCK_SIZE);

	kunmap_local(kaddr);
	if (crc == le32_to_cpu(want))
		return true;
	pr_err_ratelimited("%s: corrupt data: object %lu page %lu, block %llu checksum mismatch\n",
			   s->name, folio->mapping->host->i_ino, folio->index,
			   blkno);
	return false;
}

/* Fill a locked folio from its block; it stays locked. */
static int cs_fill_folio(struct cs_inode *ci, struct folio *folio)
{
	struct cs_store *s = cs_inode_store(ci);
	struct capstore_bptr b;
	struct bio *bio;
	int err;

	err = cs_lookup(ci, folio->index, &b);
	if (err)
		return err;
	if (!b.blkno) {
		folio_zero_range(folio, 0, folio_size(folio));
		folio_mark_uptodate(folio);
		return 0;
	}
	bio = bio_alloc(s->bdev, 1, REQ_OP_READ, GFP_NOFS);
	bio->bi_iter.bi_sector = le64_to_cpu(b.blkno) <<
				 (CAPSTORE_BLOCK_SHIFT - SECTOR_SHIFT);
	__bio_add_page(bio, &folio->page, CAPSTORE_BLOCK_SIZE, 0);
	err = submit_bio_wait(bio);
	bio_put(bio);
	if (err) {
		cs_err_ratelimited(s, "I/O error %d reading object %lu page %lu", err,
				   ci->vfs_inode.i_ino, folio->index);
		return -EIO;
	}
	if (!cs_folio_crc_ok(s, folio, b.crc, le64_to_cpu(b.blkno)))
		return -EIO;
	folio_mark_uptodate(folio);
	return 0;
}

static int cs_read_folio(struct file *file, struct folio *folio)
{
	int err = cs_fill_folio(CS_I(folio->mapping->host), folio);

	folio_unlock(folio);
	return err;
}

/**
 * struct cs_rctx - a readahead bio: the checksum each page must have
 * @s: the store
 * @bio: the bio, once it completed
 * @work: checks its pages, on the store's read_wq
 * @start: the first block the bio reads
 * @crc: per page of the bio, in order
 */
struct cs_rctx {
	struct cs_store *s;
	struct bio *bio;
	struct work_struct work;
	u64 start;
	__le32 crc[BIO_MAX_VECS];
};

/*
 * The pages of a completed readahead bio are checked in task context, on
 * the store's read_wq: a bio holds up to 1 MiB, too much to checksum in
 * the interrupt that completes it. The pages stay locked (and not
 * uptodate) until checked, so a reader waits for this, and the
 * super_block, whose teardown waits for locked pages and then drains the
 * workqueue, outlives it.
 */
static void cs_readahead_verify(struct work_struct *work)
{
	struct cs_rctx *ctx = container_of(work, struct cs_rctx, work);
	struct bio *bio = ctx->bio;
	struct bvec_iter_all iter;
	struct bio_vec *bv;
	unsigned int n = 0;

	bio_for_each_segment_all(bv, bio, iter) {
		struct folio *folio = page_folio(bv->bv_page);

		if (!bio->bi_status &&
		    cs_folio_crc_ok(ctx->s, folio, ctx->crc[n], ctx->start + n))
			folio_mark_uptodate(folio);
		n++;
		folio_unlock(folio);
		cond_resched();
	}
	kfree(ctx);
	bio_put(bio);
}

static void cs_readahead_end_io(struct bio *bio)
{
	struct cs_rctx *ctx = bio->bi_private;

	ctx->bio = bio;
	INIT_WORK(&ctx->work, cs_readahead_verify);
	queue_work(ctx->s->read_wq, &ctx->work);
}

static void cs_readahead_submit(struct bio *bio)
{
	if (bio)
		submit_bio(bio);
}

/*
 * Read a window of pages: one bio per run of consecutive blocks. Pages
 * left out (lookup errors, no memory) stay not uptodate; ->read_folio
 * tries them again and reports the error.
 */
static void cs_readahead(struct readahead_control *rac)
{
	struct cs_inode *ci = CS_I(rac->mapping->host);
	struct cs_store *s = cs_inode_store(ci);
	struct cs_rctx *ctx = NULL;
	struct bio *bio = NULL;
	struct folio *folio;
	unsigned int n = 0;
	u64 next = 0;

	while ((folio = readahead_folio(rac))) {
		struct capstore_bptr b;
		u64 blkno;

		if (cs_lookup(ci, folio->index, &b)) {
			folio_unlock(folio);
			continue;
		}
		if (!b.blkno) {
			folio_zero_range(folio, 0, folio_size(folio));
			folio_mark_uptodate(folio);
			folio_unlock(folio);
			continue;
		}
		blkno = le64_to_cpu(b.blkno);
		if (bio && blkno == next && n < BIO_MAX_VECS &&
		    bio_add_page(bio, &folio->page, CAPSTORE_BLOCK_SIZE, 0))
			goto added;
		cs_readahead_submit(bio);
		bio = NULL;
		ctx = kmalloc(sizeof(*ctx), GFP_NOFS | __GFP_NOWARN);
		if (!ctx) {
			folio_unlock(folio);
			continue;
		}
		ctx->s = s;
		ctx->start = blkno;
		n = 0;
		bio = bio_alloc(s->bdev, BIO_MAX_VECS, REQ_OP_READ | REQ_RAHEAD,
				GFP_NOFS);
		bio->bi_iter.bi_sector = blkno <<
					 (CAPSTORE_BLOCK_SHIFT - SECTOR_SHIFT);
		bio->bi_private = ctx;
		bio->bi_end_io = cs_readahead_end_io;
		__bio_add_page(bio, &folio->page, CAPSTORE_BLOCK_SIZE, 0);
added:
		ctx->crc[n++] = b.crc;
		next = blkno + 1;
	}
	cs_readahead_submit(bio);
}

/**
 * struct cs_wpctx - state of one ->writepages call
 * @ci: the object
 * @wb: the writes it queued
 */
struct cs_wpctx {
	struct cs_inode *ci;
	struct cs_wbatch *wb;
};

static int cs_writepage(struct page *page, struct writeback_control *wbc,
			void *data)
{
	struct folio *folio = page_folio(page);
	struct cs_wpctx *ctx = data;
	struct cs_inode *ci = ctx->ci;
	struct cs_store *s = cs_inode_store(ci);
	struct capstore_bptr b = {}, old;
	struct page *bounce;
	u64 blkno;
	int err;

	/*
	 * A store that is shut down will write nothing more: drop the page's
	 * changes rather than keep it dirty for ever. What is on disk is the
	 * last committed checkpoint, which is what the next attach finds.
	 */
	if (cs_store_is_shutdown(s)) {
		folio_unlock(folio);
		return -EIO;
	}
	err = cs_space_alloc(s, CS_ALLOC_DATA, &blkno);
	if (err)
		goto redirty;

	bounce = cs_bounce_copy(ctx->wb, folio, &b.crc);
	b.blkno = cpu_to_le64(blkno);
	mutex_lock(&ci->tree_lock);
	err = cs_tree_set(s, &ci->data, folio->index, &b, &old);
	mutex_unlock(&ci->tree_lock);
	if (err) {
		cs_bounce_free(s, bounce);
		cs_space_unalloc(s, blkno);
		goto redirty;
	}
	if (old.blkno)
		cs_space_free(s, le64_to_cpu(old.blkno));
	folio_start_writeback(folio);
	cs_wbatch_add(ctx->wb, blkno, bounce, folio);
	folio_unlock(folio);
	return 0;

redirty:
	folio_redirty_for_writepage(wbc, folio);
	folio_unlock(folio);
	return err;
}

static int cs_writepages(struct address_space *mapping,
			 struct writeback_control *wbc)
{
	struct cs_inode *ci = CS_I(mapping->host);
	struct cs_store *s = cs_inode_store(ci);
	struct cs_wbatch wb;
	struct cs_wpctx ctx = { .ci = ci, .wb = &wb };
	struct blk_plug plug;
	int err, io_err;

	/*
	 * A checkpoint between its snapshot and its commit must be the only
	 * one to change trees and the space map: background writeback waits
	 * for the next round, integrity writeback (sync) for the commit.
	 */
	if (wbc->sync_mode == WB_SYNC_NONE) {
		if (!down_read_trylock(&s->wb_sem))
			return 0;
	} else {
		down_read(&s->wb_sem);
	}
	cs_wbatch_init(&wb, s);
	blk_start_plug(&plug);
	err = write_cache_pages(mapping, wbc, cs_writepage, &ctx);
	blk_finish_plug(&plug);
	io_err = cs_wbatch_wait(&wb);
	up_read(&s->wb_sem);
	if (io_err)
		cs_store_shutdown(s, io_err, "writing object data");
	return err ?: io_err;
}

/*
 * A page of @ci became dirty for the next checkpoint. Past the dirty
 * limit, ask for a checkpoint, and only now that the object is on the
 * dirty list: kicked earlier, the checkpoint thread could find nothing
 * to write and go back to sleep while the page is being dirtied.
 */
static void cs_object_dirtied(struct cs_inode *ci)
{
	struct cs_store *s = cs_inode_store(ci);

	cs_inode_mark_dirty(ci);
	if (cs_space_reserved(s) > READ_ONCE(s->tune.dirty_limit))
		cs_checkpoint_kick(s);
}

/*
 * A checkpoint claimed this page at its snapshot and has not written it
 * yet: give the checkpoint a copy, so the write can go on at once.
 */
static int cs_folio_cow(struct cs_inode *ci, struct folio *folio)
{
	struct cs_store *s = cs_inode_store(ci);
	struct page *copy;
	void *src;
	int err;

	/* The live page, dirty again, needs a block of its own. */
	err = cs_space_reserve(s);
	if (err)
		return err;
	copy = alloc_page(GFP_NOFS | __GFP_NOWARN);
	if (!copy)
		copy = mempool_alloc(s->bounce_pool, GFP_NOFS);
	src = kmap_local_folio(folio, 0);
	memcpy(page_address(copy), src, CAPSTORE_BLOCK_SIZE);
	kunmap_local(src);
	err = xa_err(xa_store(&ci->copies, folio->index, copy, GFP_NOFS));
	if (err) {
		mempool_free(copy, s->bounce_pool);
		cs_space_unreserve(s, 1);
		return err;
	}
	folio_clear_checked(folio);
	/* Unless the checkpoint took the claim already, its reference is ours. */
	if (xa_erase(&ci->claims, folio->index))
		folio_put(folio);
	/* The folio stays dirty, now for the next epoch. */
	cs_object_dirtied(ci);
	return 0;
}

/* Where cs_tree_charge() records that a tree block was paid for. */
static unsigned long cs_tree_charge_key(pgoff_t index, unsigned int level)
{
	return (index >> (CAPSTORE_FANOUT_SHIFT * level)) << 3 | (level - 1);
}

/*
 * The page at @index becomes dirty in the current epoch: pay for the
 * interior blocks on its path in the data tree that no other page of this
 * epoch paid for (cs_space_reserve_tree()). Callers hold wr_sys or
 * wr_fault, so the epoch does not change under us. Two writers on pages
 * under one tree block may both pay for it: the extra promise lasts until
 * the epoch's checkpoint ends.
 */
static int cs_tree_charge(struct cs_inode *ci, pgoff_t index)
{
	struct cs_store *s = cs_inode_store(ci);
	u64 epoch = READ_ONCE(s->epoch);
	void *paid = xa_mk_value(epoch & (ULONG_MAX >> 1));
	unsigned int height = READ_ONCE(ci->data.height);
	unsigned int level, n = 0;
	int err;

	BUILD_BUG_ON(CAPSTORE_TREE_MAX_HEIGHT > 8);
	for (level = 1; level <= height; level++)
		if (xa_load(&ci->tree_charged,
			    cs_tree_charge_key(index, level)) != paid)
			n++;
	if (!n)
		return 0;
	err = cs_space_reserve_tree(s, epoch, n);
	if (err)
		return err;
	for (level = 1; level <= height && !err; level++)
		err = xa_err(xa_store(&ci->tree_charged,
				      cs_tree_charge_key(index, level), paid,
				      GFP_NOFS));
	/* Paid but not all recorded: a later write pays again. */
	return err;
}

/**
 * cs_folio_prepare_write - get a page ready to be changed
 * @ci: its object
 * @folio: the page, locked
 * @reserved: set if a block was reserved for a page that was clean; if
 *	the caller ends up not dirtying it, cs_folio_unreserve() gives the
 *	block back
 *
 * Return: 0, -ENOSPC if the store cannot back the page, -ENOMEM.
 */
int cs_folio_prepare_write(struct cs_inode *ci, struct folio *folio,
			   bool *reserved)
{
	struct cs_store *s = cs_inode_store(ci);
	int err;

	*reserved = false;
	if (!folio_test_checked(folio) && folio_test_dirty(folio))
		return 0;
	/* Clean, or dirty in the epoch of the checkpoint that claimed it. */
	err = cs_tree_charge(ci, folio->index);
	if (!err && folio_test_checked(folio)) {
		err = cs_folio_cow(ci, folio);
	} else if (!err) {
		err = cs_space_reserve(s);
		*reserved = !err;
	}
	if (err == -ENOSPC)
		cs_checkpoint_kick(s);	/* a commit unpins freed blocks */
	return err;
}

/**
 * cs_folio_unreserve - a page prepared for writing stayed clean
 * @ci: its object
 * @reserved: what cs_folio_prepare_write() said
 */
void cs_folio_unreserve(struct cs_inode *ci, bool reserved)
{
	if (reserved)
		cs_space_unreserve(cs_inode_store(ci), 1);
}

static bool cs_dirty_folio(struct address_space *mapping, struct folio *folio)
{
	bool newly_dirty = filemap_dirty_folio(mapping, folio);

	if (newly_dirty)
		cs_object_dirtied(CS_I(mapping->host));
	return newly_dirty;
}

static int cs_write_begin(struct file *file, struct address_space *mapping,
			  loff_t pos, unsigned int len, struct page **pagep,
			  void **fsdata)
{
	struct folio *folio;
	bool reserved;
	int err;

	folio = __filemap_get_folio(mapping, pos >> PAGE_SHIFT,
				    FGP_LOCK | FGP_WRITE | FGP_CREAT |
				    FGP_STABLE, mapping_gfp_mask(mapping));
	if (!folio)
		return -ENOMEM;
	if (!folio_test_uptodate(folio) && len != PAGE_SIZE)
		err = cs_fill_folio(CS_I(mapping->host), folio);
	else
		err = 0;
	if (!err)
		err = cs_folio_prepare_write(CS_I(mapping->host), folio,
					     &reserved);
	if (err) {
		folio_unlock(folio);
		folio_put(folio);
		return err;
	}
	*fsdata = reserved ? (void *)1 : NULL;
	*pagep = &folio->page;
	return 0;
}

static int cs_write_end(struct file *file, struct address_space *mapping,
			loff_t pos, unsigned int len, unsigned int copied,
			struct page *page, void *fsdata)
{
	struct folio *folio = page_folio(page);

	if (!folio_test_uptodate(folio)) {
		/* A whole-page write that came up short: let it retry. */
		if (copied < len) {
			copied = 0;
			goto out;
		}
		folio_mark_uptodate(folio);
	}
	if (copied)
		folio_mark_dirty(folio);
out:
	if (!copied)
		cs_folio_unreserve(CS_I(mapping->host), !!fsdata);
	folio_unlock(folio);
	folio_put(folio);
	return copied;
}

const struct address_space_operations cs_aops = {
	.read_folio	= cs_read_folio,
	.readahead	= cs_readahead,
	.writepages	= cs_writepages,
	.dirty_folio	= cs_dirty_folio,
	.write_begin	= cs_write_begin,
	.write_end	= cs_write_end,
	.migrate_folio	= filemap_migrate_folio,
};

/*
 * Faults hold the object's revoke_sem shared, so destroy and revoke, which
 * take it exclusive before they unmap, see no fault map a page through a
 * capability that is dying.
 */
static vm_fault_t cs_fault(struct vm_fault *vmf)
{
	struct cs_inode *ci = CS_I(file_inode(vmf->vma->vm_file));
	vm_fault_t ret = VM_FAULT_SIGBUS;

	down_read(&ci->revoke_sem);
	if (!cs_cap_check(vmf->vma->vm_file, 0))
		ret = filemap_fault(vmf);
	up_read(&ci->revoke_sem);
	return ret;
}

static vm_fault_t cs_map_pages(struct vm_fault *vmf, pgoff_t start,
			       pgoff_t end)
{
	struct cs_inode *ci = CS_I(file_inode(vmf->vma->vm_file));
	vm_fault_t ret = 0;

	/* Busy: let ->fault wait for it and check again. */
	if (!down_read_trylock(&ci->revoke_sem))
		return 0;
	if (!cs_cap_check(vmf->vma->vm_file, 0))
		ret = filemap_map_pages(vmf, start, end);
	up_read(&ci->revoke_sem);
	return ret;
}

/*
 * The first write to a page through a mapping since it was last written
 * out. Writers are held here while a checkpoint takes its snapshot.
 */
static vm_fault_t cs_page_mkwrite(struct vm_fault *vmf)
{
	struct file *file = vmf->vma->vm_file;
	struct inode *inode = file_inode(file);
	struct cs_inode *ci = CS_I(inode);
	struct cs_store *s = CS_S(inode->i_sb);
	struct folio *folio = page_folio(vmf->page);
	vm_fault_t ret = VM_FAULT_LOCKED;
	bool reserved;
	int err;

	percpu_down_read(&s->wr_fault);
	down_read(&ci->revoke_sem);
	if (cs_cap_check(file, CAPSTORE_RIGHT_WRITE)) {
		ret = VM_FAULT_SIGBUS;
		goto out;
	}
	folio_lock(folio);
	if (folio->mapping != inode->i_mapping ||
	    folio_pos(folio) >= i_size_read(inode)) {
		folio_unlock(folio);
		ret = VM_FAULT_NOPAGE;
		goto out;
	}
	err = cs_folio_prepare_write(ci, folio, &reserved);
	if (err) {
		folio_unlock(folio);
		/* No space behind the page: the write cannot be kept. */
		ret = err == -ENOMEM ? VM_FAULT_OOM : VM_FAULT_SIGBUS;
		goto out;
	}
	folio_mark_dirty(folio);
	folio_wait_stable(folio);
out:
	up_read(&ci->revoke_sem);
	percpu_up_read(&s->wr_fault);
	return ret;
}

static const struct vm_operations_struct cs_vm_ops = {
	.fault		= cs_fault,
	.map_pages	= cs_map_pages,
	.page_mkwrite	= cs_page_mkwrite,
};

static int cs_segment_mmap(struct file *file, struct vm_area_struct *vma)
{
	int err = cs_cap_check(file, CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP);

	if (err)
		return err;
	/* Segments are shared memory; a private copy would not persist. */
	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	file_accessed(file);
	vma->vm_ops = &cs_vm_ops;
	return 0;
}

static ssize_t cs_segment_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	int err = cs_cap_check(iocb->ki_filp, CAPSTORE_RIGHT_READ);

	if (err)
		return err;
	return generic_file_read_iter(iocb, to);
}

/*
 * splice(2) and sendfile(2) from a segment copy its bytes into pages of
 * their own. generic_file_splice_read() would put the page-cache pages
 * themselves into the pipe: whoever reads the pipe later, after the
 * capability was revoked or the object destroyed, would see what the
 * owner wrote since. Called with the pipe locked.
 */
static ssize_t cs_segment_splice_read(struct file *in, loff_t *ppos,
				      struct pipe_inode_info *pipe,
				      size_t len, unsigned int flags)
{
	ssize_t total = 0, n = 0;

	while (len && !pipe_full(pipe->head, pipe->tail, pipe->max_usage)) {
		struct pipe_buffer buf = { .ops = &nosteal_pipe_buf_ops };
		size_t chunk = min_t(size_t, len, PAGE_SIZE);
		struct bio_vec bv = { .bv_len = chunk };
		struct iov_iter to;
		struct kiocb kiocb;

		bv.bv_page = alloc_page(GFP_USER);
		if (!bv.bv_page) {
			n = -ENOMEM;
			break;
		}
		iov_iter_bvec(&to, ITER_DEST, &bv, 1, chunk);
		init_sync_kiocb(&kiocb, in);
		kiocb.ki_pos = *ppos;
		n = call_read_iter(in, &kiocb, &to);
		if (n <= 0) {
			__free_page(bv.bv_page);
			break;
		}
		*ppos = kiocb.ki_pos;
		buf.page = bv.bv_page;
		buf.len = n;
		/* Frees the page if the pipe takes no more. */
		n = add_to_pipe(pipe, &buf);
		if (n < 0)
			break;
		total += n;
		len -= n;
		if (n < chunk)
			break;
	}
	return total ?: n;
}

/*
 * The non-blocking write (IOCB_NOWAIT: io_uring's inline path, RWF_NOWAIT):
 * copies into pages that are cached and uptodate, and stops short, or with
 * -EAGAIN if nothing was written, at the first one that would need I/O, a
 * lock, memory or a fault on the source.
 */
static ssize_t cs_write_nowait(struct kiocb *iocb, struct iov_iter *from)
{
	struct address_space *mapping = iocb->ki_filp->f_mapping;
	struct cs_inode *ci = CS_I(mapping->host);
	loff_t pos = iocb->ki_pos;
	ssize_t written = 0;

	while (iov_iter_count(from)) {
		size_t offset = offset_in_page(pos);
		size_t bytes = min_t(size_t, PAGE_SIZE - offset,
				     iov_iter_count(from));
		struct folio *folio;
		bool reserved;
		size_t copied;
		int err;

		/* Past the dirty limits, let the blocking retry throttle. */
		if (balance_dirty_pages_ratelimited_flags(mapping, BDP_ASYNC))
			break;
		folio = __filemap_get_folio(mapping, pos >> PAGE_SHIFT,
					    FGP_LOCK | FGP_NOWAIT, 0);
		if (!folio)
			break;
		err = folio_test_uptodate(folio) ?
		      cs_folio_prepare_write(ci, folio, &reserved) : -EAGAIN;
		if (err) {
			folio_unlock(folio);
			folio_put(folio);
			if (!written && err == -ENOSPC)
				return err;
			break;
		}
		copied = copy_page_from_iter_atomic(&folio->page, offset, bytes,
						    from);
		if (copied)
			folio_mark_dirty(folio);
		else
			cs_folio_unreserve(ci, reserved);
		folio_unlock(folio);
		folio_put(folio);
		pos += copied;
		written += copied;
		if (copied < bytes)
			break;
	}
	return written ?: -EAGAIN;
}

/*
 * generic_perform_write() without its throttling and without faulting the
 * source in: the caller holds wr_sys and the inode lock, store-wide and
 * object-wide locks under which no user memory may be waited for (a page
 * of the caller's own FUSE file or a userfaultfd page can take as long as
 * the caller likes, and a checkpoint, every other writer and revoke would
 * wait as long). The copy is atomic (page faults disabled); at the first
 * source page that is not there it stops short, and the caller drops
 * everything, faults the source in and comes back. Nor may a writer be
 * throttled here: a checkpoint holds early writeback off while it waits
 * for wr_sys, so the writeback that would let the writer go could not
 * run. The caller throttles between rounds, with nothing held.
 */
static ssize_t cs_perform_write(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct address_space *mapping = file->f_mapping;
	loff_t pos = iocb->ki_pos;
	ssize_t written = 0;
	long status = 0;

	while (iov_iter_count(from)) {
		size_t offset = offset_in_page(pos);
		size_t bytes = min_t(size_t, PAGE_SIZE - offset,
				     iov_iter_count(from));
		struct page *page;
		void *fsdata;
		size_t copied;

again:
		if (fatal_signal_pending(current)) {
			status = -EINTR;
			break;
		}
		status = cs_write_begin(file, mapping, pos, bytes, &page,
					&fsdata);
		if (unlikely(status < 0))
			break;
		if (mapping_writably_mapped(mapping))
			flush_dcache_page(page);
		pagefault_disable();
		copied = copy_page_from_iter_atomic(page, offset, bytes, from);
		pagefault_enable();
		flush_dcache_page(page);
		status = cs_write_end(file, mapping, pos, bytes, copied, page,
				      fsdata);
		if (unlikely(status != copied))
			iov_iter_revert(from, copied - status);
		cond_resched();
		if (unlikely(!status)) {
			/* The source is not there: fault it in, unlocked. */
			if (!copied)
				break;
			/* A short copy that write_end refused: retry less. */
			bytes = copied;
			goto again;
		}
		pos += status;
		written += status;
	}
	return written ?: status;
}

/*
 * One round of a write, with writers' side of the snapshot and the inode
 * held: at most CS_WRITE_ROUND bytes, so a round dirties a bounded number
 * of pages before the caller throttles. A checkpoint's snapshot comes
 * before or after a round, never inside it.
 *
 * The source is faulted in first, with nothing held; under the locks it
 * is only copied with page faults disabled, and a round ends early (0 if
 * it copied nothing) at a source page that went away or was never there.
 * The caller comes back for the rest. -EFAULT only if not one byte of the
 * source can be faulted in.
 */
#define CS_WRITE_ROUND	SZ_1M

static ssize_t cs_write_round(struct kiocb *iocb, struct iov_iter *from)
{
	struct file *file = iocb->ki_filp;
	struct inode *inode = file_inode(file);
	struct cs_store *s = CS_S(inode->i_sb);
	bool nowait = iocb->ki_flags & IOCB_NOWAIT;
	size_t rest = 0;
	ssize_t ret;

	if (!nowait) {
		size_t want = min_t(size_t, iov_iter_count(from),
				    CS_WRITE_ROUND);

		if (want && fault_in_iov_iter_readable(from, want) == want)
			return -EFAULT;
	}
	if (nowait) {
		if (!percpu_down_read_trylock(&s->wr_sys))
			return -EAGAIN;
		if (!inode_trylock(inode)) {
			percpu_up_read(&s->wr_sys);
			return -EAGAIN;
		}
	} else {
		percpu_down_read(&s->wr_sys);
		inode_lock(inode);
	}
	/* Destroy and revoke hold the inode lock: look again under it. */
	ret = cs_cap_check(file, CAPSTORE_RIGHT_WRITE);
	if (ret)
		goto out;
	ret = generic_write_checks(iocb, from);
	if (ret <= 0)
		goto out;
	if (iocb->ki_pos >= i_size_read(inode)) {
		ret = -EFBIG;
		goto out;
	}
	iov_iter_truncate(from, i_size_read(inode) - iocb->ki_pos);
	if (nowait) {
		ret = cs_write_nowait(iocb, from);
	} else {
		if (iov_iter_count(from) > CS_WRITE_ROUND) {
			rest = iov_iter_count(from) - CS_WRITE_ROUND;
			iov_iter_truncate(from, CS_WRITE_ROUND);
		}
		ret = cs_perform_write(iocb, from);
		iov_iter_reexpand(from, iov_iter_count(from) + rest);
	}
	if (ret > 0)
		iocb->ki_pos += ret;
out:
	inode_unlock(inode);
	percpu_up_read(&s->wr_sys);
	return ret;
}

/*
 * Writes stay inside the segment: a segment's size is set when it is
 * created, so a write that starts at or past the end fails with EFBIG and
 * one that crosses it is cut short. A write of more than CS_WRITE_ROUND
 * bytes goes in rounds, throttled by the dirty limits in between, so a
 * checkpoint may commit some rounds of it and not the rest, as it may
 * commit some pages of a write through a mapping (a program that needs
 * more brackets its update with an application section).
 */
static ssize_t cs_segment_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct address_space *mapping = iocb->ki_filp->f_mapping;
	ssize_t ret, written = 0;

	ret = cs_cap_check(iocb->ki_filp, CAPSTORE_RIGHT_WRITE);
	if (ret)
		return ret;
	if (iocb->ki_flags & IOCB_NOWAIT) {
		written = cs_write_round(iocb, from);
	} else {
		do {
			ret = cs_write_round(iocb, from);
			if (ret < 0)
				break;
			written += ret;
			if (ret)
				balance_dirty_pages_ratelimited(mapping);
		} while (iov_iter_count(from));
		written = written ?: ret;
	}
	if (written > 0)
		written = generic_write_sync(iocb, written);
	return written;
}

const struct file_operations cs_segment_fops = {
	.owner		= THIS_MODULE,
	.llseek		= generic_file_llseek,
	.read_iter	= cs_segment_read_iter,
	.write_iter	= cs_segment_write_iter,
	.mmap		= cs_segment_mmap,
	.fsync		= cs_cap_fsync,
	.splice_read	= cs_segment_splice_read,
	.unlocked_ioctl	= cs_cap_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.uring_cmd	= cs_cap_uring_cmd,
	.release	= cs_cap_release,
};
