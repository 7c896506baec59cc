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
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pagevec.h>

#include "internal.h"

/* Lock an object against writes and faults; recheck the capability. */
static int cs_object_lock(struct file *file)
{
	struct inode *inode = file_inode(file);
	struct cs_store *s = CS_S(inode->i_sb);
	int err;

	percpu_down_read(&s->wr_sys);
	inode_lock(inode);
	down_write(&CS_I(inode)->revoke_sem);
	err = cs_cap_check(file, CAPSTORE_RIGHT_DESTROY);
	if (err) {
		up_write(&CS_I(inode)->revoke_sem);
		inode_unlock(inode);
		percpu_up_read(&s->wr_sys);
	}
	return err;
}

static void cs_object_unlock(struct file *file)
{
	struct inode *inode = file_inode(file);

	up_write(&CS_I(inode)->revoke_sem);
	inode_unlock(inode);
	percpu_up_read(&CS_S(inode->i_sb)->wr_sys);
}

/*
 * Drop a dead object's pages. Dirty pages a checkpoint has not claimed
 * give back their reserved blocks; the ones it claimed it still writes.
 */
static void cs_object_drop_pages(struct cs_inode *ci)
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
	int err;

	if (inode->i_ino == s->root_oid)
		return cs_cap_check(file, 0) ?: -EPERM;
	err = cs_object_lock(file);
	if (err)
		return err;
	err = cs_otable_put(s, inode->i_ino, &rec);
	if (err)
		goto out;
	ci->dead_epoch = READ_ONCE(s->epoch);
	cs_inode_kill(ci);
	unmap_mapping_range(inode->i_mapping, 0, 0, 1);
	cs_object_drop_pages(ci);

	spin_lock(&s->dirty_lock);
	ihold(inode);
	list_add_tail(&ci->zombie_link, &s->zombies);
	spin_unlock(&s->dirty_lock);
out:
	cs_object_unlock(file);
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
	struct capstore_dobj rec;
	struct file *fresh;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags & ~CAPSTORE_FD_CLOEXEC || cmd.__reserved)
		return -EINVAL;
	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0)
		return fd;
	err = cs_object_lock(file);
	if (err)
		goto out_fd;
	err = cs_otable_get(s, inode->i_ino, &rec);
	if (!err) {
		rec.gen = cpu_to_le64(ci->gen + 1);
		err = cs_otable_put(s, inode->i_ino, &rec);
	}
	if (!err) {
		WRITE_ONCE(ci->gen, ci->gen + 1);
		unmap_mapping_range(inode->i_mapping, 0, 0, 1);
		fresh = cs_cap_file(ci, rights, ci->gen);
		if (IS_ERR(fresh))
			err = PTR_ERR(fresh);
	}
	cs_object_unlock(file);
	if (err)
		goto out_fd;
	cmd.out_fd = fd;
	return cs_cap_install(fresh, fd, uarg, &cmd, sizeof(cmd));

out_fd:
	put_unused_fd(fd);
	return err;
}
