// SPDX-License-Identifier: GPL-2.0
/*
 * Block I/O of a store: synchronous block reads, and batches of writes.
 *
 * Every block is written from a private bounce copy taken when the write
 * is queued, so the page cache page (or metadata buffer) stays writable
 * while the I/O is in flight and the checksum always matches what reaches
 * the disk. Bounce pages come from a per-store mempool; a writer that
 * would wait for one first submits what it has queued, so every page it
 * waits for is on its way back.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/mempool.h>
#include <linux/pagemap.h>

#include "internal.h"

static sector_t cs_sector(u64 blkno)
{
	return blkno << (CAPSTORE_BLOCK_SHIFT - SECTOR_SHIFT);
}

/**
 * cs_read_block - read one block synchronously
 * @s: the store
 * @blkno: block number, inside the store
 * @buf: a block-sized buffer in the kernel's direct map
 *
 * Return: 0 or -EIO.
 */
int cs_read_block(struct cs_store *s, u64 blkno, void *buf)
{
	struct bio *bio;
	int err;

	if (WARN_ON_ONCE(blkno >= s->geom.nblocks))
		return -EUCLEAN;
	bio = bio_alloc(s->bdev, 1, REQ_OP_READ | REQ_META | REQ_SYNC,
			GFP_NOFS);
	bio->bi_iter.bi_sector = cs_sector(blkno);
	__bio_add_page(bio, virt_to_page(buf), CAPSTORE_BLOCK_SIZE,
		       offset_in_page(buf));
	err = submit_bio_wait(bio);
	bio_put(bio);
	return err;
}

ALLOW_ERROR_INJECTION(cs_read_block, ERRNO);

/**
 * cs_read_verified - read the block a block pointer designates
 * @s: the store
 * @b: the pointer, already range-checked; must not be a hole
 * @buf: a block-sized buffer
 * @what: what the block holds, for the log
 *
 * Return: 0, -EIO, or -EBADMSG when the checksum does not match.
 */
int cs_read_verified(struct cs_store *s, const struct capstore_bptr *b,
		     void *buf, const char *what)
{
	u64 blkno = le64_to_cpu(b->blkno);
	const char *why;
	int err;

	err = cs_read_block(s, blkno, buf);
	if (err) {
		cs_err_ratelimited(s, "I/O error %d reading %s at block %llu", err, what,
				   blkno);
		return err;
	}
	err = capstore_block_verify(buf, b, &why);
	if (err)
		cs_err_ratelimited(s, "corrupt %s: block %llu, %s", what, blkno, why);
	return err;
}

void cs_wbatch_init(struct cs_wbatch *wb, struct cs_store *s)
{
	wb->s = s;
	wb->bio = NULL;
	wb->next = 0;
	atomic_set(&wb->pending, 1);
	wb->err = 0;
	init_completion(&wb->done);
}

static void cs_wbatch_end_io(struct bio *bio)
{
	struct cs_wbatch *wb = bio->bi_private;
	struct cs_store *s = wb->s;
	int err = blk_status_to_errno(bio->bi_status);
	struct bvec_iter_all iter;
	struct bio_vec *bv;

	bio_for_each_segment_all(bv, bio, iter) {
		struct page *page = bv->bv_page;
		struct folio *folio = (struct folio *)page_private(page);

		if (folio) {
			if (err)
				mapping_set_error(folio->mapping, err);
			folio_end_writeback(folio);
		}
		set_page_private(page, 0);
		mempool_free(page, s->bounce_pool);
	}
	if (err)
		cmpxchg(&wb->err, 0, err);
	bio_put(bio);
	if (atomic_dec_and_test(&wb->pending))
		complete(&wb->done);
}

static void cs_wbatch_submit(struct cs_wbatch *wb)
{
	struct bio *bio = wb->bio;

	if (!bio)
		return;
	wb->bio = NULL;
	atomic64_add(bio->bi_iter.bi_size >> CAPSTORE_BLOCK_SHIFT,
		     &wb->s->stats.blocks_written);
	atomic_inc(&wb->pending);
	submit_bio(bio);
}

/**
 * cs_bounce_alloc - get a page to copy a block into before writing it
 * @wb: the batch the page will be queued on
 *
 * Never fails: if the pool is empty, submits @wb's queued writes and waits
 * for pages to come back from writes in flight.
 */
static struct page *cs_bounce_alloc(struct cs_wbatch *wb)
{
	struct page *page;

	page = mempool_alloc(wb->s->bounce_pool, GFP_NOWAIT | __GFP_NOWARN);
	if (page)
		return page;
	cs_wbatch_submit(wb);
	return mempool_alloc(wb->s->bounce_pool, GFP_NOFS);
}

/**
 * cs_wbatch_add - queue a bounce page for writing to a block
 * @wb: the batch
 * @blkno: destination block
 * @bounce: the page, from cs_bounce_alloc(); the batch frees it
 * @folio: a page cache folio under writeback that the write completes, or
 *	NULL
 *
 * Return: 0 (the write itself reports through cs_wbatch_wait()).
 */
int cs_wbatch_add(struct cs_wbatch *wb, u64 blkno, struct page *bounce,
		  struct folio *folio)
{
	set_page_private(bounce, (unsigned long)folio);
	if (wb->bio && blkno == wb->next &&
	    bio_add_page(wb->bio, bounce, CAPSTORE_BLOCK_SIZE, 0))
		goto added;
	cs_wbatch_submit(wb);
	wb->bio = bio_alloc(wb->s->bdev, BIO_MAX_VECS,
			    REQ_OP_WRITE | REQ_SYNC, GFP_NOFS);
	wb->bio->bi_iter.bi_sector = cs_sector(blkno);
	wb->bio->bi_private = wb;
	wb->bio->bi_end_io = cs_wbatch_end_io;
	__bio_add_page(wb->bio, bounce, CAPSTORE_BLOCK_SIZE, 0);
added:
	wb->next = blkno + 1;
	return 0;
}

/**
 * cs_wbatch_wait - submit what is queued and wait for every write
 * @wb: the batch
 *
 * Return: 0 or the first error of any write of the batch.
 */
int cs_wbatch_wait(struct cs_wbatch *wb)
{
	cs_wbatch_submit(wb);
	if (!atomic_dec_and_test(&wb->pending))
		wait_for_completion(&wb->done);
	/* Ready for reuse. */
	atomic_set(&wb->pending, 1);
	reinit_completion(&wb->done);
	return READ_ONCE(wb->err);
}

/**
 * cs_write_copy - queue a copy of a metadata block for writing
 * @wb: the batch
 * @blkno: destination block
 * @src: CAPSTORE_BLOCK_SIZE bytes to write
 * @crc: returns the checksum of what will be written
 *
 * Return: 0.
 */
int cs_write_copy(struct cs_wbatch *wb, u64 blkno, const void *src,
		  u32 *crc)
{
	struct page *bounce = cs_bounce_alloc(wb);
	void *dst = page_address(bounce);

	memcpy(dst, src, CAPSTORE_BLOCK_SIZE);
	*crc = capstore_crc(dst, CAPSTORE_BLOCK_SIZE);
	return cs_wbatch_add(wb, blkno, bounce, NULL);
}

/**
 * cs_bounce_copy - copy a page cache folio for writing
 * @wb: the batch the copy will be queued on with cs_wbatch_add()
 * @folio: locked; its content is what the block will hold
 * @crc: returns the checksum of the copy
 *
 * Return: the bounce page; never fails.
 */
struct page *cs_bounce_copy(struct cs_wbatch *wb, struct folio *folio,
			    __le32 *crc)
{
	struct page *bounce = cs_bounce_alloc(wb);
	void *dst = page_address(bounce);
	void *src = kmap_local_folio(folio, 0);

	memcpy(dst, src, CAPSTORE_BLOCK_SIZE);
	kunmap_local(src);
	*crc = cpu_to_le32(capstore_crc(dst, CAPSTORE_BLOCK_SIZE));
	return bounce;
}

/**
 * cs_bounce_free - give back a bounce page that was not queued
 * @s: the store
 * @bounce: the page
 */
void cs_bounce_free(struct cs_store *s, struct page *bounce)
{
	mempool_free(bounce, s->bounce_pool);
}

/**
 * cs_write_header - write a checkpoint header and make it durable
 * @s: the store
 * @blkno: its header slot
 * @buf: the sealed header
 *
 * The cache flush before the write makes every write completed before the
 * call durable first; FUA makes the header itself durable on return.
 *
 * Return: 0 or -EIO.
 */
int cs_write_header(struct cs_store *s, u64 blkno, const void *buf)
{
	struct bio *bio;
	int err;

	bio = bio_alloc(s->bdev, 1, REQ_OP_WRITE | REQ_SYNC | REQ_META |
			REQ_PREFLUSH | REQ_FUA, GFP_NOFS);
	bio->bi_iter.bi_sector = cs_sector(blkno);
	__bio_add_page(bio, virt_to_page(buf), CAPSTORE_BLOCK_SIZE,
		       offset_in_page(buf));
	err = submit_bio_wait(bio);
	bio_put(bio);
	return err;
}

ALLOW_ERROR_INJECTION(cs_write_header, ERRNO);
