// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * Node capabilities: create objects into slots, fetch, store and clear
 * the capabilities the slots hold.
 */
#include "libcapstore.h"
#include "syscall.h"

int capstore_node_create(int node_fd, unsigned int slot, unsigned int kind,
			 uint64_t seg_size, unsigned int flags)
{
	struct capstore_create arg = {
		.size = sizeof(arg),
		.flags = flags,
		.kind = kind,
		.slot = slot,
		.seg_size = seg_size,
	};
	int ret;

	ret = capstore_ioctl(node_fd, CAPSTORE_CREATE, &arg);
	if (ret < 0)
		return ret;
	return arg.out_fd;
}

int capstore_node_fetch_info(int node_fd, unsigned int slot,
			     unsigned int flags, unsigned int *kind,
			     unsigned int *rights)
{
	struct capstore_fetch arg = {
		.size = sizeof(arg),
		.flags = flags,
		.slot = slot,
	};
	int ret;

	ret = capstore_ioctl(node_fd, CAPSTORE_FETCH, &arg);
	if (ret < 0)
		return ret;
	if (kind)
		*kind = arg.out_kind;
	if (rights)
		*rights = arg.out_rights;
	return arg.out_fd;
}

int capstore_node_fetch(int node_fd, unsigned int slot, unsigned int flags)
{
	return capstore_node_fetch_info(node_fd, slot, flags, NULL, NULL);
}

int capstore_node_store(int node_fd, unsigned int slot, int cap_fd,
			unsigned int flags)
{
	struct capstore_store arg = {
		.size = sizeof(arg),
		.flags = flags,
		.slot = slot,
		.fd = cap_fd,
	};

	return capstore_ioctl(node_fd, CAPSTORE_STORE, &arg);
}

int capstore_node_clear(int node_fd, unsigned int slot, unsigned int flags)
{
	struct capstore_clear arg = {
		.size = sizeof(arg),
		.flags = flags,
		.slot = slot,
	};

	return capstore_ioctl(node_fd, CAPSTORE_CLEAR, &arg);
}
