// SPDX-License-Identifier: GPL-2.0
/*
 * Capabilities as file descriptors.
 *
 * A capability is a file opened by the module on an object's inode; its
 * private data holds the rights and the object generation it was made
 * for. Files of one object share the inode and so its pages, whatever
 * their rights. The open mode follows the rights (a capability without
 * WRITE is opened read-only), so the VFS itself refuses writable shared
 * mappings and mprotect() upgrades of read-only capabilities. Nothing but
 * the module creates these files: reopening one through /proc is refused.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/error-injection.h>
#include <linux/file.h>
#include <linux/io_uring.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "internal.h"

/**
 * cs_cap_file_via - make a capability file
 * @ci: the object; the file takes its own inode reference
 * @rights: CAPSTORE_RIGHT_* bits
 * @gen: the generation the capability designates
 * @via: the forwarders it is made through, outermost first; the file
 *	takes its own references
 * @nvia: how many, 0 for a direct capability
 *
 * Return: the file, or an ERR_PTR.
 */
struct file *cs_cap_file_via(struct cs_inode *ci, u32 rights, u64 gen,
			     const struct cs_via *via, unsigned int nvia)
{
	struct cs_store *s = cs_inode_store(ci);
	const struct file_operations *fops;
	struct cs_cap *cap;
	struct file *file;
	unsigned int i;
	char name[32];
	int flags;

	if (ci->kind == CAPSTORE_DOBJ_SEGMENT) {
		fops = &cs_segment_fops;
		if ((rights & CAPSTORE_RIGHT_WRITE) &&
		    (rights & CAPSTORE_RIGHT_READ))
			flags = O_RDWR;
		else if (rights & CAPSTORE_RIGHT_WRITE)
			flags = O_WRONLY;
		else
			flags = O_RDONLY;
		/* What open(2) forces on 64-bit: else writes stop at 2 GiB. */
		flags |= O_LARGEFILE;
	} else {
		fops = &cs_node_fops;
		flags = O_RDONLY;
	}
	/* Before taking references: a failure must give them back. */
	if (!try_module_get(THIS_MODULE))
		return ERR_PTR(-ENOENT);
	cap = kmalloc(sizeof(*cap), GFP_KERNEL);
	if (!cap) {
		module_put(THIS_MODULE);
		return ERR_PTR(-ENOMEM);
	}
	cap->rights = rights;
	cap->gen = gen;
	cap->sections = 0;
	cap->section_epoch = 0;
	cap->nvia = nvia;
	for (i = 0; i < nvia; i++) {
		cap->via[i] = via[i];
		ihold(&via[i].fwd->vfs_inode);
	}
	snprintf(name, sizeof(name), "%s %lu", cs_kind_name(ci->kind),
		 ci->vfs_inode.i_ino);

	ihold(&ci->vfs_inode);
	file = alloc_file_pseudo(&ci->vfs_inode, s->mnt, name, flags, fops);
	if (IS_ERR(file)) {
		iput(&ci->vfs_inode);
		module_put(THIS_MODULE);
		cs_via_put(cap->via, cap->nvia);
		kfree(cap);
		return file;
	}
	/* Segments do I/O without blocking for cached pages (io_uring). */
	if (ci->kind == CAPSTORE_DOBJ_SEGMENT) {
		file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE |
				FMODE_NOWAIT | FMODE_BUF_RASYNC |
				FMODE_BUF_WASYNC;
		/*
		 * alloc_file_pseudo() leaves the readahead state zeroed, which
		 * reads one page per I/O, read(2) and faults alike; a file
		 * opened by open(2) gets the bdi's window (do_dentry_open()).
		 */
		file_ra_state_init(&file->f_ra, file->f_mapping);
	}
	file->private_data = cap;
	atomic_inc(&s->nr_caps);
	return file;
}

ALLOW_ERROR_INJECTION(cs_cap_file_via, ERRNO);

/**
 * cs_cap_file - make a direct capability file
 * @ci: the object; the file takes its own inode reference
 * @rights: CAPSTORE_RIGHT_* bits
 * @gen: the generation the capability designates
 *
 * Return: the file, or an ERR_PTR.
 */
struct file *cs_cap_file(struct cs_inode *ci, u32 rights, u64 gen)
{
	return cs_cap_file_via(ci, rights, gen, NULL, 0);
}

/**
 * cs_cap_slot - how a capability is stored in a node slot
 * @file: a live capability
 * @slot: receives the slot
 *
 * A capability made through forwarders is stored as the use of the
 * outermost one, so that it dies with it.
 */
void cs_cap_slot(struct file *file, struct capstore_dslot *slot)
{
	struct cs_inode *ci = CS_I(file_inode(file));
	struct cs_cap *cap = cs_file_cap(file);

	memset(slot, 0, sizeof(*slot));
	slot->rights = cpu_to_le32(cap->rights);
	slot->kind = cpu_to_le32(ci->kind);
	if (cap->nvia) {
		slot->oid = cpu_to_le64(cap->via[0].fwd->vfs_inode.i_ino);
		slot->gen = cpu_to_le64(cap->via[0].gen);
		slot->flags = cpu_to_le32(CAPSTORE_DSLOT_FORWARDED);
	} else {
		slot->oid = cpu_to_le64(ci->vfs_inode.i_ino);
		slot->gen = cpu_to_le64(cap->gen);
	}
}

int cs_cap_release(struct inode *inode, struct file *file)
{
	struct cs_store *s = CS_S(inode->i_sb);
	struct cs_cap *cap = cs_file_cap(file);

	cs_section_release(file);
	cs_via_put(cap->via, cap->nvia);
	kfree(cap);
	atomic_dec(&s->nr_caps);
	return 0;
}

/**
 * cs_cap_check - may this capability be used for something needing @need?
 * @file: a capability file
 * @need: CAPSTORE_RIGHT_* bits required
 *
 * Return: 0, -EKEYREVOKED for a dead capability, -EIO if the store is shut
 * down, -EPERM if a right is missing.
 */
int cs_cap_check(struct file *file, u32 need)
{
	struct cs_cap *cap = cs_file_cap(file);
	struct inode *inode = file_inode(file);
	unsigned int i;

	if (READ_ONCE(CS_I(inode)->gen) != cap->gen ||
	    READ_ONCE(CS_I(inode)->dead))
		return -EKEYREVOKED;
	for (i = 0; i < cap->nvia; i++)
		if (READ_ONCE(cap->via[i].fwd->gen) != cap->via[i].gen ||
		    READ_ONCE(cap->via[i].fwd->dead))
			return -EKEYREVOKED;
	if (cs_store_is_shutdown(CS_S(inode->i_sb)))
		return -EIO;
	if ((cap->rights & need) != need)
		return -EPERM;
	return 0;
}

/**
 * cs_cap_fget - the capability an fd argument names
 * @fd: the fd
 * @s: the store it must belong to, or NULL for any
 *
 * Return: the file with a reference, ERR_PTR(-EBADF) if @fd is not an open
 * capability, ERR_PTR(-EXDEV) if it belongs to another store.
 */
struct file *cs_cap_fget(int fd, struct cs_store *s)
{
	struct file *file = fget(fd);

	if (!file)
		return ERR_PTR(-EBADF);
	if (file->f_op != &cs_segment_fops && file->f_op != &cs_node_fops) {
		fput(file);
		return ERR_PTR(-EBADF);
	}
	if (s && CS_S(file_inode(file)->i_sb) != s) {
		fput(file);
		return ERR_PTR(-EXDEV);
	}
	return file;
}

/**
 * cs_fd_flags_bad - are these not CAPSTORE_FD_* flags of a new fd?
 * @flags: the flags field of a command that makes an fd
 *
 * Return: true for unknown bits, or CAPSTORE_FD_CLOEXEC together with
 * CAPSTORE_FD_KEEP_EXEC.
 */
bool cs_fd_flags_bad(u32 flags)
{
	const u32 both = CAPSTORE_FD_CLOEXEC | CAPSTORE_FD_KEEP_EXEC;

	return (flags & ~both) || (flags & both) == both;
}

/**
 * cs_fd_reserve - reserve an fd for a new capability
 * @flags: CAPSTORE_FD_* flags, already validated
 *
 * Every fd the module makes is close-on-exec unless the caller asks to
 * keep it (CAPSTORE_FD_KEEP_EXEC); CAPSTORE_FD_CLOEXEC is the default.
 *
 * Return: the fd or a negative errno.
 */
int cs_fd_reserve(u32 flags)
{
	return get_unused_fd_flags(flags & CAPSTORE_FD_KEEP_EXEC ? 0 : O_CLOEXEC);
}

/**
 * cs_cap_install - hand a new capability to userspace
 * @file: the capability
 * @fd: reserved with cs_fd_reserve()
 * @uarg: the command structure to copy back
 * @cmd: its kernel copy, with the out fields set
 * @size: its size
 *
 * On failure the file is released and the fd unreserved.
 *
 * Return: the fd, or -EFAULT.
 */
int cs_cap_install(struct file *file, int fd, void __user *uarg,
		   const void *cmd, size_t size)
{
	int err = cs_copy_cmd_out(uarg, cmd, size);

	if (err) {
		fput(file);
		put_unused_fd(fd);
		return err;
	}
	fd_install(fd, file);
	return fd;
}

static int cs_cap_info(struct file *file, void __user *uarg)
{
	struct cs_inode *ci = CS_I(file_inode(file));
	struct capstore_cap_info cmd;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags || cmd.out_flags)
		return -EINVAL;
	err = cs_cap_check(file, 0);
	if (err)
		return err;
	cmd.out_flags = cs_file_cap(file)->nvia ? CAPSTORE_CAP_FORWARDED : 0;
	cmd.out_kind = ci->kind;
	cmd.out_rights = cs_file_cap(file)->rights;
	cmd.out_oid = ci->vfs_inode.i_ino;
	if (ci->kind == CAPSTORE_DOBJ_SEGMENT)
		cmd.out_size = i_size_read(&ci->vfs_inode);
	else if (ci->kind == CAPSTORE_DOBJ_NODE)
		cmd.out_size = CAPSTORE_NODE_SLOTS;
	else
		cmd.out_size = 0;
	cmd.out_store_id = cs_inode_store(ci)->id;
	return cs_copy_cmd_out(uarg, &cmd, sizeof(cmd));
}

static int cs_cap_restrict(struct file *file, void __user *uarg)
{
	struct cs_inode *ci = CS_I(file_inode(file));
	struct cs_cap *cap = cs_file_cap(file);
	struct capstore_restrict cmd;
	struct file *new;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cs_fd_flags_bad(cmd.flags) ||
	    cmd.rights & ~CAPSTORE_RIGHTS_MASK)
		return -EINVAL;
	err = cs_cap_check(file, 0);
	if (err)
		return err;
	/* Rights only shrink; weakness, being a restriction, only grows. */
	if (cmd.rights & CAPSTORE_RIGHTS_ALL & ~cap->rights)
		return -EPERM;
	if ((cap->rights & CAPSTORE_RIGHT_WEAK) &&
	    !(cmd.rights & CAPSTORE_RIGHT_WEAK))
		return -EPERM;

	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0)
		return fd;
	new = cs_cap_file_via(ci, cmd.rights, cap->gen, cap->via, cap->nvia);
	if (IS_ERR(new)) {
		put_unused_fd(fd);
		return PTR_ERR(new);
	}
	cmd.out_fd = fd;
	return cs_cap_install(new, fd, uarg, &cmd, sizeof(cmd));
}

static int cs_cap_checkpoint(struct file *file, void __user *uarg)
{
	struct capstore_checkpoint cmd;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags || cmd.__reserved)
		return -EINVAL;
	err = cs_cap_check(file, 0);
	if (err)
		return err;
	err = cs_sync(CS_S(file_inode(file)->i_sb), &cmd.out_seq);
	if (err)
		return err;
	return cs_copy_cmd_out(uarg, &cmd, sizeof(cmd));
}

/**
 * cs_cap_fsync - durability: returns once a committed checkpoint holds
 *	every change made before the call
 * @file: a capability
 * @start: ignored: a checkpoint covers the whole store
 * @end: likewise
 * @datasync: likewise
 *
 * Return: 0 or a negative errno.
 */
int cs_cap_fsync(struct file *file, loff_t start, loff_t end, int datasync)
{
	int err = cs_cap_check(file, 0);

	if (err)
		return err;
	return cs_sync(CS_S(file_inode(file)->i_sb), NULL);
}

/* The commands without output take a structure of flags only. */
static int cs_cap_simple(struct file *file, void __user *uarg,
			 int (*fn)(struct file *file))
{
	struct capstore_destroy cmd;	/* same layout as capstore_section */
	int err;

	BUILD_BUG_ON(sizeof(struct capstore_destroy) !=
		     sizeof(struct capstore_section));
	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags)
		return -EINVAL;
	return fn(file);
}

/* Commands that never wait for I/O or for a checkpoint's snapshot. */
static bool cs_cmd_nowait(unsigned int cmd)
{
	return cmd == CAPSTORE_CAP_INFO || cmd == CAPSTORE_RESTRICT ||
	       cmd == CAPSTORE_SECTION_END;
}

/**
 * cs_cap_uring_cmd - a capability command through io_uring
 * @ioucmd: the command: cmd_op is the ioctl number, the command area a
 *	struct capstore_uring_cmd
 * @issue_flags: IO_URING_F_*
 *
 * Commands that may wait are pushed to io_uring's workers from the
 * non-blocking submission path (-EAGAIN); the others complete inline.
 * The completion's result is what the ioctl returns.
 *
 * Return: 0 or -errno to complete now, -EIOCBQUEUED once completed with a
 * new fd, -EAGAIN to be issued again from a worker.
 */
int cs_cap_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags)
{
	const struct capstore_uring_cmd *c = ioucmd->cmd;
	u64 arg = READ_ONCE(c->arg);
	long ret;

	if (READ_ONCE(c->__reserved))
		return -EINVAL;
	if ((issue_flags & IO_URING_F_NONBLOCK) &&
	    !cs_cmd_nowait(ioucmd->cmd_op))
		return -EAGAIN;
	ret = cs_cap_ioctl(ioucmd->file, ioucmd->cmd_op, arg);
	/* io_uring takes a positive return for neither success nor error. */
	if (ret > 0) {
		cs_uring_cmd_done(ioucmd, ret, issue_flags);
		return -EIOCBQUEUED;
	}
	return ret;
}

long cs_cap_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CAPSTORE_CAP_INFO:
		return cs_cap_info(file, uarg);
	case CAPSTORE_RESTRICT:
		return cs_cap_restrict(file, uarg);
	case CAPSTORE_CHECKPOINT:
		return cs_cap_checkpoint(file, uarg);
	case CAPSTORE_DESTROY:
		return cs_cap_simple(file, uarg, cs_object_destroy);
	case CAPSTORE_REVOKE:
		return cs_object_revoke(file, uarg);
	case CAPSTORE_SECTION_BEGIN:
		return cs_cap_simple(file, uarg, cs_section_begin);
	case CAPSTORE_SECTION_END:
		return cs_cap_simple(file, uarg, cs_section_end);
	case CAPSTORE_FORWARD:
		return cs_forward(file, uarg);
	}
	return cs_node_ioctl(file, cmd, uarg);
}
