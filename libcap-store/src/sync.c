// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Durability through a capability: take a checkpoint now, or wait until
 * one holds every earlier write.
 */
#include "libcapstore.h"
#include "syscall.h"

int capstore_cap_checkpoint(int fd, unsigned int flags, uint64_t *seq)
{
	struct capstore_checkpoint arg = {
		.size = sizeof(arg),
		.flags = flags,
	};
	int ret;

	ret = capstore_ioctl(fd, CAPSTORE_CHECKPOINT, &arg);
	if (ret < 0)
		return ret;
	if (seq)
		*seq = arg.out_seq;
	return 0;
}

int capstore_cap_sync(int fd)
{
	return sys_fsync(fd);
}

static int section_cmd(int fd, unsigned long cmd, unsigned int flags)
{
	struct capstore_section arg = {
		.size = sizeof(arg),
		.flags = flags,
	};

	return capstore_ioctl(fd, cmd, &arg);
}

int capstore_section_begin(int fd, unsigned int flags)
{
	return section_cmd(fd, CAPSTORE_SECTION_BEGIN, flags);
}

int capstore_section_end(int fd, unsigned int flags)
{
	return section_cmd(fd, CAPSTORE_SECTION_END, flags);
}
