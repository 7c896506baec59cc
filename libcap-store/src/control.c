// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The control device: open it, attach and detach stores, checkpoint them
 * by id, and hand out their root nodes.
 */
#include "libcapstore.h"
#include "syscall.h"

int capstore_control_open(unsigned int flags)
{
	const unsigned int both = CAPSTORE_FD_CLOEXEC | CAPSTORE_FD_KEEP_EXEC;
	int oflags = O_RDWR;

	/* Close-on-exec unless asked otherwise, like the module's fds. */
	if ((flags & ~both) || (flags & both) == both)
		return -EINVAL;
	if (!(flags & CAPSTORE_FD_KEEP_EXEC))
		oflags |= O_CLOEXEC;
	return sys_open(CAPSTORE_CONTROL_DEVICE, oflags);
}

int capstore_store_attach(int control_fd, int bdev_fd, unsigned int flags,
			  uint32_t *store_id)
{
	struct capstore_attach arg = {
		.size = sizeof(arg),
		.flags = flags,
		.bdev_fd = bdev_fd,
	};
	int ret;

	ret = capstore_ioctl(control_fd, CAPSTORE_ATTACH, &arg);
	if (ret < 0)
		return ret;
	*store_id = arg.out_store_id;
	return 0;
}

int capstore_store_detach(int control_fd, uint32_t store_id,
			  unsigned int flags)
{
	struct capstore_detach arg = {
		.size = sizeof(arg),
		.flags = flags,
		.store_id = store_id,
	};

	return capstore_ioctl(control_fd, CAPSTORE_DETACH, &arg);
}

int capstore_store_checkpoint(int control_fd, uint32_t store_id,
			      unsigned int flags, uint64_t *seq)
{
	struct capstore_checkpoint arg = {
		.size = sizeof(arg),
		.flags = flags,
		.store_id = store_id,
	};
	int ret;

	ret = capstore_ioctl(control_fd, CAPSTORE_CHECKPOINT, &arg);
	if (ret < 0)
		return ret;
	if (seq)
		*seq = arg.out_seq;
	return 0;
}

int capstore_root_open(int control_fd, uint32_t store_id, unsigned int flags)
{
	struct capstore_root arg = {
		.size = sizeof(arg),
		.flags = flags,
		.store_id = store_id,
	};
	int ret;

	ret = capstore_ioctl(control_fd, CAPSTORE_ROOT, &arg);
	if (ret < 0)
		return ret;
	return arg.out_fd;
}
