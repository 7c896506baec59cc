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
#include <linux/mm.h>

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

/*
 * Write-protecting and cleaning every mapping of a file's page range in a
 * page-table walk, one TLB flush per VMA: wp_shared_mapping_range() and
 * clean_record_shared_mapping_range(), since 5.7, when the kernel has
 * CONFIG_MAPPING_DIRTY_HELPERS (Debian's has; the debug kernel has not).
 * Without them cs_wp_clean_range() does nothing and callers use
 * folio_mkclean() page by page. @bitmap: CS_WP_RANGE_MAX bits, scratch.
 */
#define CS_HAVE_WP_RANGE IS_ENABLED(CONFIG_MAPPING_DIRTY_HELPERS)
#define CS_WP_RANGE_MAX		((pgoff_t)PAGE_SIZE * BITS_PER_BYTE)

static inline void cs_wp_clean_range(struct address_space *mapping,
				     pgoff_t first, pgoff_t nr,
				     unsigned long *bitmap)
{
#if IS_ENABLED(CONFIG_MAPPING_DIRTY_HELPERS)
	pgoff_t start = nr, end = 0;

	if (WARN_ON_ONCE(nr > CS_WP_RANGE_MAX))
		return;
	wp_shared_mapping_range(mapping, first, nr);
	clean_record_shared_mapping_range(mapping, first, nr, first, bitmap,
					  &start, &end);
#endif
}

#endif /* _CAPSTORE_COMPAT_H */
