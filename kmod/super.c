// SPDX-License-Identifier: GPL-2.0
/*
 * Objects as inodes.
 *
 * Each attached store gets its own instance of a small internal
 * filesystem, never visible in any mount namespace (the idea of
 * mm/secretmem.c). Every object is an inode of that super_block whose
 * number is the object id, so its pages are in the page cache and the
 * kernel does faults, readahead, dirty tracking and reclaim; the store's
 * own backing_dev_info lets the flusher write dirty pages early under
 * memory pressure.
 *
 * An object with changes not yet checkpointed sits on the store's dirty
 * list and holds an inode reference there, so it cannot be evicted before
 * the checkpoint that writes it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/backing-dev.h>
#include <linux/fs_context.h>
#include <linux/mount.h>
#include <linux/pagemap.h>
#include <linux/slab.h>
#include <linux/workqueue.h>

#include "internal.h"

static struct kmem_cache *cs_inode_cachep;

static struct inode *cs_alloc_inode(struct super_block *sb)
{
	struct cs_inode *ci;

	ci = alloc_inode_sb(sb, cs_inode_cachep, GFP_KERNEL);
	if (!ci)
		return NULL;
	ci->kind = CAPSTORE_DOBJ_FREE;
	ci->gen = 0;
	mutex_init(&ci->tree_lock);
	cs_tree_init(&ci->data, NULL, 0);
	init_rwsem(&ci->revoke_sem);
	ci->dead = false;
	ci->dead_epoch = 0;
	INIT_LIST_HEAD(&ci->dirty_link);
	ci->on_dirty_list = false;
	INIT_LIST_HEAD(&ci->cp_link);
	INIT_LIST_HEAD(&ci->zombie_link);
	xa_init(&ci->claims);
	xa_init(&ci->copies);
	xa_init(&ci->tree_charged);
	return &ci->vfs_inode;
}

static void cs_free_inode(struct inode *inode)
{
	kmem_cache_free(cs_inode_cachep, CS_I(inode));
}

static void cs_evict_inode(struct inode *inode)
{
	struct cs_inode *ci = CS_I(inode);

	truncate_inode_pages_final(&inode->i_data);
	clear_inode(inode);
	WARN_ON_ONCE(ci->on_dirty_list || !list_empty(&ci->cp_link) ||
		     !list_empty(&ci->zombie_link));
	WARN_ON_ONCE(!xa_empty(&ci->claims) || !xa_empty(&ci->copies));
	xa_destroy(&ci->tree_charged);
	cs_tree_release(&ci->data);
}

/* sync(2) and syncfs(2) reach every super_block: they checkpoint. */
static int cs_sync_fs(struct super_block *sb, int wait)
{
	int err;

	if (!wait)
		return 0;
	err = cs_sync(CS_S(sb), NULL);
	return err == -ENODEV ? 0 : err;
}

static const struct super_operations cs_sops = {
	.alloc_inode	= cs_alloc_inode,
	.free_inode	= cs_free_inode,
	.evict_inode	= cs_evict_inode,
	.sync_fs	= cs_sync_fs,
};

/* How a capability shows in /proc/PID/fd: "capstore:[segment 42]". */
static char *cs_dname(struct dentry *dentry, char *buffer, int buflen)
{
	char name[64];
	int len;

	len = snprintf(name, sizeof(name), "capstore:[%s]",
		       dentry->d_name.name) + 1;
	if (len > sizeof(name) || len > buflen)
		return ERR_PTR(-ENAMETOOLONG);
	return memcpy(buffer + buflen - len, name, len);
}

static const struct dentry_operations cs_dops = {
	.d_dname	= cs_dname,
};

static int cs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct cs_store *s = sb->s_fs_info;
	struct inode *root;
	int err;

	sb->s_magic = CAPSTORE_FS_MAGIC;
	sb->s_op = &cs_sops;
	sb->s_d_op = &cs_dops;
	sb->s_maxbytes = CAPSTORE_SEGMENT_MAX_SIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_time_gran = 1;
	sb->s_flags |= SB_NOUSER;
	sb->s_iflags |= SB_I_NOEXEC | SB_I_NODEV;

	err = super_setup_bdi_name(sb, "capstore-%u", s->id);
	if (err)
		return err;

	root = new_inode(sb);
	if (!root)
		return -ENOMEM;
	root->i_ino = CAPSTORE_OID_NONE;
	root->i_mode = S_IFDIR | 0500;
	root->i_op = &simple_dir_inode_operations;
	root->i_fop = &simple_dir_operations;
	set_nlink(root, 2);
	sb->s_root = d_make_root(root);
	return sb->s_root ? 0 : -ENOMEM;
}

static int cs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, cs_fill_super);
}

static const struct fs_context_operations cs_context_ops = {
	.get_tree	= cs_get_tree,
};

/*
 * kern_mount() takes no argument for the new instance, so cs_fs_mount()
 * passes the store here, one mount at a time. A kern_mount()ed instance
 * is internal: dropping a reference to it (every close of a capability)
 * takes the per-CPU fast path of mntput(), not the global mount_lock
 * that a mount outside every namespace needs.
 */
static DEFINE_MUTEX(cs_mount_mutex);
static struct cs_store *cs_mounting;

static int cs_init_fs_context(struct fs_context *fc)
{
	lockdep_assert_held(&cs_mount_mutex);
	if (WARN_ON_ONCE(!cs_mounting))
		return -EINVAL;
	fc->s_fs_info = cs_mounting;
	fc->ops = &cs_context_ops;
	return 0;
}

/*
 * The super_block goes when its mount's last reference does: at
 * kern_unmount(), or later, in the final fput of a capability file that
 * detach saw closed (its ->release had run) but that had not dropped the
 * mount yet. Detach waits for this, so that the store outlives its
 * super_block (whose teardown syncs it and evicts its inodes).
 */
static void cs_kill_sb(struct super_block *sb)
{
	struct cs_store *s = CS_S(sb);

	kill_anon_super(sb);
	if (s) {
		/* Every page is evicted: what is left of readahead's checks. */
		if (s->read_wq)
			destroy_workqueue(s->read_wq);
		s->read_wq = NULL;
		complete(&s->sb_dead);
	}
}

/* Not registered: nothing outside the module can mount it. */
static struct file_system_type cs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "capstore",
	.init_fs_context	= cs_init_fs_context,
	.kill_sb		= cs_kill_sb,
};

/**
 * cs_fs_mount - create the store's internal filesystem instance
 * @s: the store; becomes the super_block's s_fs_info
 *
 * Return: 0 or a negative errno.
 */
int cs_fs_mount(struct cs_store *s)
{
	struct vfsmount *mnt;

	s->read_wq = alloc_workqueue("capstore-read-%u",
				     WQ_MEM_RECLAIM | WQ_UNBOUND, 0, s->id);
	if (!s->read_wq)
		return -ENOMEM;
	mutex_lock(&cs_mount_mutex);
	cs_mounting = s;
	mnt = kern_mount(&cs_fs_type);
	cs_mounting = NULL;
	mutex_unlock(&cs_mount_mutex);
	if (IS_ERR(mnt)) {
		/* Unless the failed super_block's teardown did already. */
		if (s->read_wq)
			destroy_workqueue(s->read_wq);
		s->read_wq = NULL;
		return PTR_ERR(mnt);
	}
	s->mnt = mnt;
	return 0;
}

/**
 * cs_fs_unmount - drop the store's internal mount
 * @s: the store
 *
 * The super_block may outlive the call, for as long as a capability file
 * is still in its final fput: cs_fs_wait_dead() waits for it.
 */
void cs_fs_unmount(struct cs_store *s)
{
	kern_unmount(s->mnt);
	s->mnt = NULL;
}

/**
 * cs_fs_wait_dead - wait until the store's super_block is gone
 * @s: the store, unmounted
 */
void cs_fs_wait_dead(struct cs_store *s)
{
	wait_for_completion(&s->sb_dead);
}

/*
 * Objects have no attributes to change: a segment's size is fixed when it
 * is created (ftruncate fails with EPERM, like a sealed memfd), modes and
 * owners do not exist since capabilities are the only authority.
 */
static int cs_setattr(struct user_namespace *mnt_userns,
		      struct dentry *dentry, struct iattr *attr)
{
	return -EPERM;
}

static const struct inode_operations cs_object_iops = {
	.setattr	= cs_setattr,
};

/* Capabilities are made only by the module: reopening one is refused. */
static int cs_reopen(struct inode *inode, struct file *file)
{
	return -ENXIO;
}

static const struct file_operations cs_reopen_fops = {
	.open		= cs_reopen,
};

/**
 * cs_iget - the in-memory object for an object id
 * @s: the store
 * @oid: the id
 *
 * Return: the object with a reference, ERR_PTR(-ENOENT) if no live object
 * has that id, or another error.
 */
struct cs_inode *cs_iget(struct cs_store *s, u64 oid)
{
	struct capstore_dobj rec;
	struct inode *inode;
	struct cs_inode *ci;
	int err;

	inode = iget_locked(s->mnt->mnt_sb, oid);
	if (!inode)
		return ERR_PTR(-ENOMEM);
	ci = CS_I(inode);
	if (!(inode->i_state & I_NEW)) {
		if (READ_ONCE(ci->dead)) {
			iput(inode);
			return ERR_PTR(-ENOENT);
		}
		return ci;
	}

	err = cs_otable_get(s, oid, &rec);
	if (err)
		goto fail;
	ci->kind = le32_to_cpu(rec.kind);
	ci->gen = le64_to_cpu(rec.gen);
	switch (ci->kind) {
	case CAPSTORE_DOBJ_SEGMENT:
		cs_tree_init(&ci->data, &rec.data, CAPSTORE_SEGMENT_MAX_HEIGHT);
		i_size_write(inode, le64_to_cpu(rec.size));
		break;
	case CAPSTORE_DOBJ_NODE:
	case CAPSTORE_DOBJ_FORWARDER:
		cs_tree_init(&ci->data, &rec.data, 0);
		i_size_write(inode, CAPSTORE_BLOCK_SIZE);
		break;
	default:
		err = -ENOENT;
		goto fail;
	}
	inode->i_mode = S_IFREG;
	inode->i_op = &cs_object_iops;
	inode->i_fop = &cs_reopen_fops;
	inode->i_mapping->a_ops = &cs_aops;
	set_nlink(inode, 1);
	unlock_new_inode(inode);
	return ci;
fail:
	iget_failed(inode);
	return ERR_PTR(err);
}

ALLOW_ERROR_INJECTION(cs_iget, ERRNO);

/**
 * cs_inode_kill - an object is gone: no lookup finds its inode any more
 * @ci: the object
 */
void cs_inode_kill(struct cs_inode *ci)
{
	WRITE_ONCE(ci->dead, true);
	remove_inode_hash(&ci->vfs_inode);
}

/**
 * cs_inode_mark_dirty - put an object on the list of the next checkpoint
 * @ci: the object
 *
 * Called from ->dirty_folio, possibly under a page table lock.
 */
void cs_inode_mark_dirty(struct cs_inode *ci)
{
	struct cs_store *s = cs_inode_store(ci);

	spin_lock(&s->dirty_lock);
	if (!ci->on_dirty_list && igrab(&ci->vfs_inode)) {
		list_add_tail(&ci->dirty_link, &s->dirty_list);
		ci->on_dirty_list = true;
	}
	spin_unlock(&s->dirty_lock);
}

static void cs_inode_init_once(void *obj)
{
	struct cs_inode *ci = obj;

	inode_init_once(&ci->vfs_inode);
}

int cs_inode_init_cache(void)
{
	cs_inode_cachep = kmem_cache_create("capstore_inode",
					    sizeof(struct cs_inode), 0,
					    SLAB_RECLAIM_ACCOUNT | SLAB_ACCOUNT,
					    cs_inode_init_once);
	return cs_inode_cachep ? 0 : -ENOMEM;
}

void cs_inode_destroy_cache(void)
{
	/* Inodes are freed after an RCU grace period. */
	rcu_barrier();
	kmem_cache_destroy(cs_inode_cachep);
}
