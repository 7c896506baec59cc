/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel-version differences, kept in one place.
 *
 * Supported: Linux 6.1 LTS (Debian 12). Each wrapper below names the
 * release that changed the interface it hides; add later releases here and
 * nowhere else.
 */
#ifndef _CAPSTORE_COMPAT_H
#define _CAPSTORE_COMPAT_H

#include <linux/blkdev.h>
#include <linux/io_uring.h>

/*
 * Opening a block device exclusively. 6.5 added a holder_ops argument and
 * turned fmode_t into blk_mode_t; 6.8 replaced the call with
 * bdev_open_by_dev() and 6.9 with bdev_file_open_by_dev().
 */
static inline struct block_device *cs_bdev_open(dev_t dev, void *holder)
{
	return blkdev_get_by_dev(dev, FMODE_READ | FMODE_WRITE | FMODE_EXCL,
				 holder);
}

static inline void cs_bdev_close(struct block_device *bdev)
{
	blkdev_put(bdev, FMODE_READ | FMODE_WRITE | FMODE_EXCL);
}

/*
 * Completing an io_uring command with a result. 6.3 added issue_flags;
 * Debian's 6.1.y has the backport, vanilla 6.1.0 takes (cmd, ret, res2).
 */
static inline void cs_uring_cmd_done(struct io_uring_cmd *cmd, ssize_t ret,
				     unsigned int issue_flags)
{
	io_uring_cmd_done(cmd, ret, 0, issue_flags);
}

#endif /* _CAPSTORE_COMPAT_H */
