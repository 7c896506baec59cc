// SPDX-License-Identifier: GPL-2.0
/*
 * capstore: a persistent single-level store of capabilities.
 *
 * Module entry points, the control device /dev/capstore and the plumbing
 * shared by every ioctl (include/uapi/linux/capstore.h, "General ioctl
 * format").
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/uaccess.h>

#include "internal.h"

/**
 * cs_copy_cmd_in - copy an ioctl structure from userspace
 * @dst: the kernel copy, @ksize bytes, starting with the __u32 size
 * @ksize: the size this module knows
 * @min_size: the size of the first version of the structure
 * @uarg: the user pointer
 *
 * Return: 0; -EFAULT; -EINVAL if the size is below @min_size; -E2BIG if it
 * is above a page, or above @ksize with a non-zero tail.
 */
int cs_copy_cmd_in(void *dst, size_t ksize, size_t min_size,
		   const void __user *uarg)
{
	u32 usize;
	int err;

	if (get_user(usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (usize < min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	err = copy_struct_from_user(dst, ksize, uarg, usize);
	/*
	 * The copy read the size field again, and userspace may have
	 * changed it meanwhile: keep the one that was checked, which
	 * cs_copy_cmd_out() trusts.
	 */
	*(u32 *)dst = usize;
	return err;
}

/**
 * cs_copy_cmd_out - copy an ioctl structure back to userspace
 * @uarg: the user pointer
 * @src: the kernel copy, from cs_copy_cmd_in(): its size field is the
 *	size the caller passed and cs_copy_cmd_in() checked, not a later
 *	read of it
 * @ksize: the size this module knows
 *
 * Copies no more than the caller passed in.
 *
 * Return: 0 or -EFAULT.
 */
int cs_copy_cmd_out(void __user *uarg, const void *src, size_t ksize)
{
	size_t usize = *(const u32 *)src;

	if (copy_to_user(uarg, src, min(usize, ksize)))
		return -EFAULT;
	return 0;
}

static int cs_ctl_attach(void __user *uarg)
{
	struct capstore_attach cmd;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags)
		return -EINVAL;
	err = cs_store_attach(cmd.bdev_fd, &cmd.out_store_id);
	if (err)
		return err;
	/* Attached either way; a caller that cannot read the id can look. */
	return cs_copy_cmd_out(uarg, &cmd, sizeof(cmd));
}

static int cs_ctl_detach(void __user *uarg)
{
	struct capstore_detach cmd;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags || cmd.__reserved)
		return -EINVAL;
	return cs_store_detach(cmd.store_id);
}

static int cs_ctl_root(void __user *uarg)
{
	struct capstore_root cmd;
	struct file *file;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cs_fd_flags_bad(cmd.flags))
		return -EINVAL;
	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0)
		return fd;
	err = cs_store_root(cmd.store_id, &file);
	if (err) {
		put_unused_fd(fd);
		return err;
	}
	cmd.out_fd = fd;
	return cs_cap_install(file, fd, uarg, &cmd, sizeof(cmd));
}

static int cs_ctl_checkpoint(void __user *uarg)
{
	struct capstore_checkpoint cmd;
	struct cs_store *s;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags || cmd.__reserved)
		return -EINVAL;
	s = cs_store_get(cmd.store_id);
	if (IS_ERR(s))
		return PTR_ERR(s);
	err = cs_sync(s, &cmd.out_seq);
	cs_store_put(s);
	if (err)
		return err;
	return cs_copy_cmd_out(uarg, &cmd, sizeof(cmd));
}

static long cs_ctl_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	int (*fn)(void __user *uarg);

	switch (cmd) {
	case CAPSTORE_ATTACH:
		fn = cs_ctl_attach;
		break;
	case CAPSTORE_DETACH:
		fn = cs_ctl_detach;
		break;
	case CAPSTORE_ROOT:
		fn = cs_ctl_root;
		break;
	case CAPSTORE_CHECKPOINT:
		fn = cs_ctl_checkpoint;
		break;
	default:
		return -ENOTTY;
	}
	/* Every control command is for the administrator. */
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return fn(uarg);
}

static const struct file_operations cs_ctl_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= cs_ctl_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice cs_ctl_dev = {
	.minor		= MISC_DYNAMIC_MINOR,
	.name		= "capstore",
	.fops		= &cs_ctl_fops,
	.mode		= 0600,
};

static int __init cs_init(void)
{
	int err;

	err = cs_inode_init_cache();
	if (err)
		return err;
	err = cs_sysfs_init();
	if (err)
		goto out_cache;
	err = misc_register(&cs_ctl_dev);
	if (err)
		goto out_sysfs;
	return 0;

out_sysfs:
	cs_sysfs_exit();
out_cache:
	cs_inode_destroy_cache();
	return err;
}

static void __exit cs_exit(void)
{
	misc_deregister(&cs_ctl_dev);
	cs_store_exit();
	cs_sysfs_exit();
	cs_inode_destroy_cache();
}

module_init(cs_init);
module_exit(cs_exit);

MODULE_DESCRIPTION("capstore: a persistent single-level store of capabilities");
MODULE_LICENSE("GPL");
