// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Segment capabilities: map them, read and write them whole, ask their
 * size.
 */
#include <limits.h>

#include "libcapstore.h"
#include "syscall.h"

int capstore_segment_map(int fd, uint64_t offset, size_t length, int prot,
			 void **addrp)
{
	return sys_mmap(length, prot, MAP_SHARED, fd, offset, addrp);
}

int capstore_segment_unmap(void *addr, size_t length)
{
	return sys_munmap(addr, length);
}

ssize_t capstore_segment_pread(int fd, void *buf, size_t count,
			       uint64_t offset)
{
	size_t done = 0;
	ssize_t ret;

	if (count > SSIZE_MAX)
		return -EINVAL;
	while (done < count) {
		ret = sys_pread(fd, (char *)buf + done, count - done,
				offset + done);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return done ? (ssize_t)done : ret;
		if (ret == 0)
			break;		/* end of the segment */
		done += ret;
	}
	return done;
}

ssize_t capstore_segment_pwrite(int fd, const void *buf, size_t count,
				uint64_t offset)
{
	size_t done = 0;
	ssize_t ret;

	if (count > SSIZE_MAX)
		return -EINVAL;
	while (done < count) {
		ret = sys_pwrite(fd, (const char *)buf + done, count - done,
				 offset + done);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			return done ? (ssize_t)done : ret;
		if (ret == 0)
			break;		/* end of the segment */
		done += ret;
	}
	return done;
}

int capstore_segment_size(int fd, uint64_t *size)
{
	struct capstore_cap_info info;
	int ret;

	ret = capstore_cap_info(fd, &info);
	if (ret < 0)
		return ret;
	if (info.out_kind != CAPSTORE_KIND_SEGMENT)
		return -ENOTTY;
	*size = info.out_size;
	return 0;
}
