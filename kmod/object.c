// SPDX-License-Identifier: GPL-2.0
/*
 * The end of capabilities: destroying an object, and revoking every
 * capability to it by moving it to a new generation.
 *
 * Both take the object's inode lock (excluding write(2)) and its
 * revoke_sem exclusive (excluding faults), change the generation or mark
 * the object dead, then unmap every mapping of the object. A capability
 * checks its generation, and the fault path checks it under revoke_sem,
 * so once either call returns no access through an old capability
 * succeeds: syscalls answer EKEYREVOKED and mapped pages fault with
 * SIGBUS. Stored capabilities die the same way: fetching compares the
 * slot's generation with the object's.
 *
 * A destroyed object's record is freed at once; its blocks stay until the
 * checkpoint that commits the free record, which frees them (the object
 * waits on store->zombies).
 *
 * The capabilities made through a forwarder are files on the object it
 * forwards to: destroying or revoking a forwarder locks and unmaps that
 * object too (forward.c).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>

#include "internal.h"

/**
 * struct cs_kill - the objects destroy or revoke locks
 * @obj: the object
 * @target: for a forwarder, the object its capabilities act on, if in
 *	memory (with a reference); else NULL
 */
struct cs_kill {
	struct cs_inode *obj;
	struct cs_inode *target;
};

static void cs_object_unlock(struct file *file, struct cs_kill *k);

/*
 * Lock an object against writes and faults, and for a forwarder the
 * object it forwards to (a lower id: see forward.c); recheck the
 * capability.
 */
static int cs_object_lock(struct file *file, struct cs_kill *k)
{
	struct inode *inode = file_inode(file);
	struct cs_store *s = CS_S(inode->i_sb);
	int err;

	k->obj = CS_I(inode);
	k->target = NULL;
	if (k->obj->kind == CAPSTORE_DOBJ_FORWARDER)
		k->target = cs_forward_target(k->obj);
	percpu_down_read(&s->wr_sys);
	inode_lock(inode);
	down_write(&k->obj->revoke_sem);
	if (k->target) {
		inode_lock_nested(&k->target->vfs_inode, I_MUTEX_CHILD);
		down_write_nested(&k->target->revoke_sem, SINGLE_DEPTH_NESTING);
	}
	err = cs_cap_check(file, CAPSTORE_RIGHT_DESTROY);
	if (err)
		cs_object_unlock(file, k);
	return err;
}

static void cs_object_unlock(struct file *file, struct cs_kill *k)
{
	struct inode *inode = file_inode(file);

	if (k->target) {
		up_write(&k->target->revoke_sem);
		inode_unlock(&k->target->vfs_inode);
		iput(&k->target->vfs_inode);
		k->target = NULL;
	}
	up_write(&k->obj->revoke_sem);
	inode_unlock(inode);
	percpu_up_read(&CS_S(inode->i_sb)->wr_sys);
}

/*
 * Unmap every page of an object. A fault that checked its capability
 * before the generation changed may still be about to map the page it
 * found: it holds the page locked until it has, so wait for each page's
 * lock first, as truncation does.
 */
static void cs_unmap_all(struct address_space *mapping)
{
	struct folio_batch fbatch;
	pgoff_t index = 0;
	unsigned int i, n;

	folio_batch_init(&fbatch);
	while ((n = filemap_get_folios(mapping, &index, (pgoff_t)-1,
				       &fbatch))) {
		for (i = 0; i < n; i++) {
			folio_lock(fbatch.folios[i]);
			folio_unlock(fbatch.folios[i]);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	unmap_mapping_range(mapping, 0, 0, 1);
}

/* After the generation changed: nothing stays mapped through old ones. */
static void cs_object_unmap(struct cs_kill *k)
{
	cs_unmap_all(k->obj->vfs_inode.i_mapping);
	if (k->target)
		cs_unmap_all(k->target->vfs_inode.i_mapping);
}

/**
 * cs_object_drop_pages - drop a dead object's pages
 * @ci: the object, killed (cs_inode_kill())
 *
 * Dirty pages a checkpoint has not claimed give back their reserved
 * blocks; the ones it claimed it still writes.
 */
void cs_object_drop_pages(struct cs_inode *ci)
{
	struct address_space *mapping = ci->vfs_inode.i_mapping;
	struct cs_store *s = cs_inode_store(ci);
	struct folio_batch fbatch;
	pgoff_t index = 0;
	unsigned int i, n;
	u64 dropped = 0;

	folio_batch_init(&fbatch);
	while ((n = filemap_get_folios_tag(mapping, &index, (pgoff_t)-1,
					   PAGECACHE_TAG_DIRTY, &fbatch))) {
		for (i = 0; i < n; i++) {
			struct folio *folio = fbatch.folios[i];

			folio_lock(folio);
			folio_wait_writeback(folio);
			/* Cleaned under its lock: writeback cannot take it. */
			if (folio->mapping == mapping &&
			    !folio_test_checked(folio) &&
			    folio_clear_dirty_for_io(folio))
				dropped++;
			folio_unlock(folio);
		}
		folio_batch_release(&fbatch);
		cond_resched();
	}
	cs_space_unreserve(s, dropped);
	truncate_inode_pages(mapping, 0);
}

/**
 * cs_object_destroy - destroy the object a capability designates
 * @file: the capability; needs DESTROY
 *
 * Return: 0, -EPERM for the root node or a missing right, -EKEYREVOKED,
 * -EIO, -ENOMEM.
 */
int cs_object_destroy(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct cs_inode *ci = CS_I(inode);
	struct cs_store *s = CS_S(inode->i_sb);
	struct capstore_dobj rec = {
		.oid = cpu_to_le64(inode->i_ino),
		.gen = cpu_to_le64(ci->gen),
	};
	struct cs_kill k;
	int err;

	if (inode->i_ino == s->root_oid)
		return cs_cap_check(file, 0) ?: -EPERM;
	err = cs_object_lock(file, &k);
	if (err)
		return err;
	/*
	 * A whole free record, read from nothing: whatever data root a
	 * checkpoint gave the live one is dropped with it, and its blocks
	 * are freed by the checkpoint that commits this record.
	 */
	err = cs_otable_put(s, inode->i_ino, &rec);
	if (err)
		goto out;
	ci->dead_epoch = READ_ONCE(s->epoch);
	cs_inode_kill(ci);
	cs_object_unmap(&k);
	cs_object_drop_pages(ci);

	spin_lock(&s->dirty_lock);
	ihold(inode);
	list_add_tail(&ci->zombie_link, &s->zombies);
	spin_unlock(&s->dirty_lock);
out:
	cs_object_unlock(file, &k);
	return err;
}

/**
 * cs_object_revoke - kill every capability to an object, keep its data
 * @file: the capability; needs DESTROY
 * @uarg: struct capstore_revoke
 *
 * Return: 0 with a fresh capability in out_fd, or a negative errno.
 */
int cs_object_revoke(struct file *file, void __user *uarg)
{
	struct inode *inode = file_inode(file);
	struct cs_inode *ci = CS_I(inode);
	struct cs_store *s = CS_S(inode->i_sb);
	u32 rights = cs_file_cap(file)->rights;
	struct capstore_revoke cmd;
	struct file *fresh;
	struct cs_kill k;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cs_fd_flags_bad(cmd.flags) || cmd.__reserved)
		return -EINVAL;
	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0)
		return fd;
	/*
	 * The answer before the revoke: a caller whose structure cannot be
	 * written gets EFAULT with nothing revoked, rather than a revoke
	 * whose fresh capability is then closed, leaving it none at all.
	 * (Never under the store's locks, either.)
	 */
	cmd.out_fd = fd;
	err = cs_copy_cmd_out(uarg, &cmd, sizeof(cmd));
	if (err)
		goto out_fd;
	err = cs_object_lock(file, &k);
	if (err)
		goto out_fd;
	/*
	 * The fresh capability first, for the next generation: once the
	 * generation moved, the call must not fail, or the caller would be
	 * left with no capability to the object at all.
	 */
	fresh = cs_cap_file(ci, rights, ci->gen + 1);
	if (IS_ERR(fresh)) {
		err = PTR_ERR(fresh);
		cs_object_unlock(file, &k);
		goto out_fd;
	}
	/*
	 * The generation alone, under the table's lock: a checkpoint may be
	 * giving the record a new data root right now.
	 */
	err = cs_otable_set_gen(s, inode->i_ino, ci->gen + 1);
	if (!err) {
		WRITE_ONCE(ci->gen, ci->gen + 1);
		cs_object_unmap(&k);
	}
	cs_object_unlock(file, &k);
	if (err) {
		fput(fresh);
		goto out_fd;
	}
	fd_install(fd, fresh);
	return fd;

out_fd:
	put_unused_fd(fd);
	return err;
}
