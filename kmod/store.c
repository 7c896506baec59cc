// SPDX-License-Identifier: GPL-2.0
/*
 * Attaching and detaching stores.
 *
 * Attach opens the block device exclusively, validates the superblock,
 * recovers the newest valid checkpoint header, loads the space map and the
 * object table, and creates the store's internal filesystem. Detach takes
 * a final checkpoint and lets go.
 *
 * A store is reference counted through its kobject: the table of attached
 * stores holds one reference and callers of cs_store_get() a temporary
 * one. Detach drops the table's only once the store's super_block is gone,
 * which may be after the last capability file's ->release (see
 * cs_kill_sb()). The last reference closes the device.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/capability.h>
#include <linux/file.h>
#include <linux/mempool.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "internal.h"

static DEFINE_MUTEX(cs_stores_lock);
static DEFINE_XARRAY_ALLOC(cs_stores);

/* Bounce pages kept in reserve per store: two full bios. */
#define CS_BOUNCE_POOL_PAGES	(2 * BIO_MAX_VECS)

/**
 * cs_store_free - release everything a store holds; called by the
 *	kobject's release when the last reference goes
 * @s: the store
 */
void cs_store_free(struct cs_store *s)
{
	cs_otable_destroy(s);
	cs_space_destroy(&s->space);
	mempool_destroy(s->bounce_pool);
	percpu_free_rwsem(&s->wr_fault);
	percpu_free_rwsem(&s->wr_sys);
	if (s->bdev)
		cs_bdev_close(s->bdev);
	kfree(s);
}

/**
 * cs_store_shutdown - stop a store after a failure it cannot undo
 * @s: the store
 * @err: the error
 * @what: what failed
 *
 * Later changes and checkpoints fail with -EIO; the last committed
 * checkpoint stays the recovery point. Detach and attach again to resume
 * from it. Safe in atomic context.
 */
void cs_store_shutdown(struct cs_store *s, int err, const char *what)
{
	if (test_and_set_bit(CS_STORE_SHUTDOWN, &s->flags))
		return;
	cs_err(s, "%s (error %d): store shut down, checkpoint %llu is the recovery point",
	       what, err, READ_ONCE(s->seq));
}

/* Read every header slot and pick the newest valid one. */
static int cs_recover_header(struct cs_store *s, struct capstore_dhdr *best,
			     void *buf)
{
	unsigned int slot, nvalid = 0, nnewer = 0;
	u64 best_seq = 0;
	const char *why;
	int err;

	for (slot = 0; slot < s->geom.header_slots; slot++) {
		const struct capstore_dhdr *h = buf;
		u64 blkno = s->geom.header_start + slot;

		/*
		 * A slot that cannot be read may hold the newest checkpoint:
		 * recovering an older one would silently lose what it
		 * committed. Refuse; the next attach tries again.
		 */
		err = cs_read_block(s, blkno, buf);
		if (err) {
			cs_err(s, "cannot attach: I/O error %d reading header slot %u",
			       err, slot);
			return err;
		}
		if (capstore_mem_is_zero(buf, CAPSTORE_BLOCK_SIZE))
			continue;
		err = capstore_hdr_verify(h, &s->geom, &why);
		if (!err && le64_to_cpu(h->seq) % s->geom.header_slots != slot) {
			why = "header in the wrong slot";
			err = -EUCLEAN;
		}
		/*
		 * A sound header of a format version this module does not know
		 * was written by a newer module: recovering an older checkpoint
		 * instead would silently roll back what it committed.
		 */
		if (err == -EOPNOTSUPP)
			nnewer++;
		if (err) {
			cs_warn(s, "header slot %u ignored: %s", slot, why);
			continue;
		}
		nvalid++;
		if (le64_to_cpu(h->seq) > best_seq) {
			best_seq = le64_to_cpu(h->seq);
			memcpy(best, h, sizeof(*best));
		}
	}
	if (nnewer) {
		cs_err(s, "cannot attach: a checkpoint of an unsupported format version");
		return -EOPNOTSUPP;
	}
	if (!nvalid) {
		cs_err(s, "cannot attach: no valid checkpoint header");
		return -EUCLEAN;
	}
	return 0;
}

static int cs_store_load(struct cs_store *s)
{
	struct capstore_dhdr *h;
	u64 dev_blocks;
	const char *why;
	void *buf;
	int err;

	if (bdev_logical_block_size(s->bdev) > CAPSTORE_BLOCK_SIZE) {
		cs_err(s, "cannot attach: logical block size above %u",
		       CAPSTORE_BLOCK_SIZE);
		return -EINVAL;
	}
	dev_blocks = bdev_nr_bytes(s->bdev) >> CAPSTORE_BLOCK_SHIFT;
	if (!dev_blocks) {
		cs_err(s, "cannot attach: device smaller than a block");
		return -EINVAL;
	}
	buf = (void *)__get_free_page(GFP_KERNEL);
	h = (void *)__get_free_page(GFP_KERNEL);
	err = -ENOMEM;
	if (!buf || !h)
		goto out;

	/* Reads are bounded by the device until the superblock says more. */
	s->geom.nblocks = dev_blocks;
	err = cs_read_block(s, 0, buf);
	if (err) {
		cs_err(s, "cannot attach: I/O error %d reading the superblock",
		       err);
		goto out;
	}
	err = capstore_sb_from_disk(&s->geom, buf, dev_blocks, &why);
	if (err) {
		cs_err(s, "cannot attach: superblock: %s", why);
		goto out;
	}
	err = cs_recover_header(s, h, buf);
	if (err)
		goto out;
	s->seq = le64_to_cpu(h->seq);
	s->root_oid = le64_to_cpu(h->root_oid);
	s->epoch = 1;
	s->durable_epoch = 0;

	err = cs_space_load(s, h);
	if (err)
		goto out;
	err = cs_otable_load(s, h);
	if (err) {
		cs_space_destroy(&s->space);
		goto out;
	}
	/* Start a checkpoint early once a quarter of the free space is dirty. */
	s->tune.dirty_limit = cs_space_free_blocks(s) / 4;
out:
	free_page((unsigned long)buf);
	free_page((unsigned long)h);
	return err;
}

/**
 * cs_store_attach - attach the store on a block device
 * @bdev_fd: an fd open for reading and writing on the device
 * @id: receives the store id
 *
 * Return: 0 or a negative errno; see struct capstore_attach.
 */
int cs_store_attach(int bdev_fd, u32 *id)
{
	struct cs_store *s;
	struct fd f;
	dev_t dev;
	int err;

	f = fdget(bdev_fd);
	if (!f.file)
		return -EBADF;
	if (!S_ISBLK(file_inode(f.file)->i_mode)) {
		fdput(f);
		return -ENOTBLK;
	}
	if ((f.file->f_mode & (FMODE_READ | FMODE_WRITE)) !=
	    (FMODE_READ | FMODE_WRITE)) {
		fdput(f);
		return -EBADF;
	}
	dev = file_inode(f.file)->i_rdev;
	fdput(f);

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	cs_sysfs_init_store(s);
	cs_otable_init(s);
	spin_lock_init(&s->space.lock);
	mutex_init(&s->cp_mutex);
	init_waitqueue_head(&s->cp_wait);
	init_rwsem(&s->wb_sem);
	spin_lock_init(&s->dirty_lock);
	INIT_LIST_HEAD(&s->dirty_list);
	INIT_LIST_HEAD(&s->zombies);
	spin_lock_init(&s->section_lock);
	INIT_LIST_HEAD(&s->section_caps);
	init_waitqueue_head(&s->section_wq);
	init_completion(&s->sb_dead);
	s->tune.interval_ms = CS_INTERVAL_MS_DEFAULT;
	s->tune.section_timeout_ms = CS_SECTION_TIMEOUT_MS_DEFAULT;
	atomic_set(&s->nr_caps, 0);
	atomic64_set(&s->stats.blocks_written, 0);
	snprintf(s->name, sizeof(s->name), "dev %u:%u", MAJOR(dev),
		 MINOR(dev));
	err = percpu_init_rwsem(&s->wr_sys);
	if (err)
		goto out_free;
	err = percpu_init_rwsem(&s->wr_fault);
	if (err) {
		percpu_free_rwsem(&s->wr_sys);
		goto out_free;
	}
	s->bounce_pool = mempool_create_page_pool(CS_BOUNCE_POOL_PAGES, 0);
	if (!s->bounce_pool) {
		err = -ENOMEM;
		goto out_put;
	}
	s->bdev = cs_bdev_open(dev, s);
	if (IS_ERR(s->bdev)) {
		err = PTR_ERR(s->bdev);
		s->bdev = NULL;
		if (err == -EBUSY)
			pr_err("%s: cannot attach: device busy (attached already, mounted or open exclusively)\n",
			       s->name);
		goto out_put;
	}
	snprintf(s->name, sizeof(s->name), "%pg", s->bdev);

	err = cs_store_load(s);
	if (err)
		goto out_put;

	mutex_lock(&cs_stores_lock);
	err = xa_alloc(&cs_stores, &s->id, NULL, xa_limit_31b, GFP_KERNEL);
	if (err)
		goto out_unlock;
	err = cs_fs_mount(s);
	if (err)
		goto out_erase;
	err = cs_sysfs_add(s);
	if (err)
		goto out_unmount;
	err = cs_checkpoint_start(s);
	if (err)
		goto out_sysfs;
	xa_store(&cs_stores, s->id, s, GFP_KERNEL);
	mutex_unlock(&cs_stores_lock);

	cs_info(s, "attached as store %u: checkpoint %llu, %llu objects, %llu of %llu blocks free",
		s->id, s->seq, s->otable.nobjects, cs_space_free_blocks(s),
		s->geom.nblocks);
	*id = s->id;
	return 0;

out_sysfs:
	cs_sysfs_del(s);
out_unmount:
	cs_fs_unmount(s);
out_erase:
	xa_erase(&cs_stores, s->id);
out_unlock:
	mutex_unlock(&cs_stores_lock);
out_put:
	/* The release undoes what was done, the device included. */
	cs_store_put(s);
	return err;
out_free:
	kfree(s);
	return err;
}

/**
 * cs_store_get - look up an attached store
 * @id: its id
 *
 * Return: the store with a reference, or ERR_PTR(-ENOENT).
 */
struct cs_store *cs_store_get(u32 id)
{
	struct cs_store *s;

	mutex_lock(&cs_stores_lock);
	s = xa_load(&cs_stores, id);
	if (s && !test_bit(CS_STORE_DETACHING, &s->flags))
		kobject_get(&s->kobj);
	else
		s = ERR_PTR(-ENOENT);
	mutex_unlock(&cs_stores_lock);
	return s;
}

void cs_store_put(struct cs_store *s)
{
	kobject_put(&s->kobj);
}

/**
 * cs_store_root - a capability to a store's root node
 * @id: the store
 * @filep: receives the capability file
 *
 * Return: 0 or a negative errno.
 */
int cs_store_root(u32 id, struct file **filep)
{
	struct cs_inode *ci;
	struct cs_store *s;
	struct file *file;
	int err = 0;

	/* Under the lock, so that detach sees the new capability. */
	mutex_lock(&cs_stores_lock);
	s = xa_load(&cs_stores, id);
	if (!s || test_bit(CS_STORE_DETACHING, &s->flags)) {
		err = -ENOENT;
		goto out;
	}
	ci = cs_iget(s, s->root_oid);
	if (IS_ERR(ci)) {
		err = PTR_ERR(ci);
		goto out;
	}
	file = cs_cap_file(ci, CAPSTORE_RIGHTS_ALL, ci->gen);
	iput(&ci->vfs_inode);
	if (IS_ERR(file))
		err = PTR_ERR(file);
	else
		*filep = file;
out:
	mutex_unlock(&cs_stores_lock);
	return err;
}

/**
 * cs_store_detach - take a final checkpoint and detach a store
 * @id: the store
 *
 * Return: 0; -ENOENT if no such store; -EBUSY while capabilities of the
 * store are open; -ENOSPC if the final checkpoint does not fit (the store
 * stays attached). A store that was shut down is detached without a final
 * checkpoint: its last committed checkpoint is what the next attach finds.
 */
int cs_store_detach(u32 id)
{
	struct cs_store *s;
	int err;

	mutex_lock(&cs_stores_lock);
	s = xa_load(&cs_stores, id);
	if (!s || test_bit(CS_STORE_DETACHING, &s->flags)) {
		mutex_unlock(&cs_stores_lock);
		return -ENOENT;
	}
	if (atomic_read(&s->nr_caps)) {
		mutex_unlock(&cs_stores_lock);
		return -EBUSY;
	}
	/* No capability left and none can be made: nothing changes now. */
	set_bit(CS_STORE_DETACHING, &s->flags);
	mutex_unlock(&cs_stores_lock);

	err = cs_sync(s, NULL);
	if (err == -ENOSPC || err == -ENOMEM) {
		clear_bit(CS_STORE_DETACHING, &s->flags);
		return err;
	}
	cs_checkpoint_stop(s);
	if (err) {
		cs_warn(s, "detaching without a final checkpoint (error %d)",
			err);
		cs_checkpoint_discard(s);
	}

	mutex_lock(&s->cp_mutex);
	s->detached = true;
	mutex_unlock(&s->cp_mutex);

	mutex_lock(&cs_stores_lock);
	xa_erase(&cs_stores, id);
	mutex_unlock(&cs_stores_lock);
	cs_sysfs_del(s);
	cs_info(s, "detached store %u at checkpoint %llu", id, s->seq);
	cs_fs_unmount(s);
	/* A capability closed just now may still hold the mount. */
	cs_fs_wait_dead(s);
	cs_store_put(s);
	return 0;
}

void cs_store_exit(void)
{
	WARN_ON(!xa_empty(&cs_stores));
	xa_destroy(&cs_stores);
}
