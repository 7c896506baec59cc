// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Calls that work on a capability of any kind.
 */
#include <string.h>

#include "libcapstore.h"
#include "syscall.h"

int capstore_cap_info(int fd, struct capstore_cap_info *info)
{
	struct capstore_cap_info arg = {
		.size = sizeof(arg),
	};
	int ret;

	ret = capstore_ioctl(fd, CAPSTORE_CAP_INFO, &arg);
	if (ret < 0)
		return ret;
	memcpy(info, &arg, sizeof(arg));
	return 0;
}

int capstore_cap_restrict(int fd, unsigned int rights, unsigned int flags)
{
	struct capstore_restrict arg = {
		.size = sizeof(arg),
		.flags = flags,
		.rights = rights,
	};
	int ret;

	ret = capstore_ioctl(fd, CAPSTORE_RESTRICT, &arg);
	if (ret < 0)
		return ret;
	return arg.out_fd;
}

int capstore_cap_close(int fd)
{
	return sys_close(fd);
}

int capstore_cap_destroy(int fd, unsigned int flags)
{
	struct capstore_destroy arg = {
		.size = sizeof(arg),
		.flags = flags,
	};

	return capstore_ioctl(fd, CAPSTORE_DESTROY, &arg);
}

int capstore_cap_revoke(int fd, unsigned int flags)
{
	struct capstore_revoke arg = {
		.size = sizeof(arg),
		.flags = flags,
	};
	int ret;

	ret = capstore_ioctl(fd, CAPSTORE_REVOKE, &arg);
	if (ret < 0)
		return ret;
	return arg.out_fd;
}

int capstore_cap_forward(int fd, int node_fd, unsigned int slot,
			 unsigned int rights, unsigned int flags)
{
	struct capstore_forward arg = {
		.size = sizeof(arg),
		.flags = flags,
		.node_fd = node_fd,
		.slot = slot,
		.rights = rights,
	};
	int ret;

	ret = capstore_ioctl(fd, CAPSTORE_FORWARD, &arg);
	if (ret < 0)
		return ret;
	return arg.out_fd;
}
