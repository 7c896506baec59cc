// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl_errors - every ioctl refuses bad input with the errno the UAPI
 * table documents: ENOTTY for unknown commands, EFAULT for bad pointers,
 * EINVAL/E2BIG for bad sizes, flags and fields, and the command-specific
 * errors (ENOENT, EEXIST, EBADF, EPERM, EBUSY, ENOTBLK).
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

/* ioctl() as -errno. */
static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

FIXTURE(store) {
	uint32_t id;
	int ctl;
	int root;
	int seg;
};

FIXTURE_SETUP(store)
{
	self->ctl = self->root = self->seg = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	self->root = capstore_root_open(self->ctl, self->id, 0);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, 0, 0);
	self->seg = capstore_node_create(self->root, 0, CAPSTORE_KIND_SEGMENT,
					 65536, 0);
	ASSERT_LE(0, self->seg);
}

FIXTURE_TEARDOWN(store)
{
	if (self->seg >= 0)
		close(self->seg);
	if (self->root >= 0) {
		capstore_node_clear(self->root, 0, 0);
		close(self->root);
	}
	if (self->ctl >= 0) {
		EXPECT_EQ(0, capstore_store_detach(self->ctl, self->id, 0));
		close(self->ctl);
	}
}

/*
 * The size rules of every command, iommufd's TEST_LENGTH: too small is
 * EINVAL, over a page E2BIG, a larger structure with a non-zero tail
 * E2BIG, and with a zero tail it acts like the exact size.
 */
static void check_lengths(struct __test_metadata *_metadata, int fd,
			  unsigned long req, const void *good, size_t size,
			  int good_ret)
{
	static uint8_t buf[8192];
	uint32_t *sz = (uint32_t *)buf;

	memset(buf, 0, sizeof(buf));
	memcpy(buf, good, size);
	*sz = 0;
	EXPECT_EQ(-EINVAL, xioctl(fd, req, buf));
	*sz = size - 1;
	EXPECT_EQ(-EINVAL, xioctl(fd, req, buf));
	*sz = 4097;
	EXPECT_EQ(-E2BIG, xioctl(fd, req, buf));
	*sz = size + 8;
	buf[size + 5] = 1;
	EXPECT_EQ(-E2BIG, xioctl(fd, req, buf));
	buf[size + 5] = 0;
	EXPECT_EQ(good_ret, xioctl(fd, req, buf));
	/* Bad pointers. */
	EXPECT_EQ(-EFAULT, xioctl(fd, req, NULL));
	EXPECT_EQ(-EFAULT, xioctl(fd, req, (void *)16));
	EXPECT_EQ(-EFAULT, xioctl(fd, req, (void *)-4096L));
}

TEST_F(store, unknown_commands)
{
	uint32_t arg[16] = { sizeof(arg) };

	EXPECT_EQ(-ENOTTY, xioctl(self->ctl, _IO(CAPSTORE_TYPE, 0x7f), arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->ctl, _IO(CAPSTORE_TYPE, 0xff), arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->ctl, _IO('x', 0x80), arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->ctl, CAPSTORE_FETCH, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->ctl, CAPSTORE_CAP_INFO, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->seg, CAPSTORE_ATTACH, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->seg, CAPSTORE_ROOT, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->root, _IO(CAPSTORE_TYPE, 0xbf), arg));
	/* Node commands on a segment. */
	EXPECT_EQ(-ENOTTY, xioctl(self->seg, CAPSTORE_FETCH, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->seg, CAPSTORE_CREATE, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->seg, CAPSTORE_STORE, arg));
	EXPECT_EQ(-ENOTTY, xioctl(self->seg, CAPSTORE_CLEAR, arg));
}

TEST_F(store, control_lengths)
{
	struct capstore_root root = { .size = sizeof(root), .store_id = self->id };
	struct capstore_checkpoint cp = { .size = sizeof(cp), .store_id = self->id };
	struct capstore_detach det = { .size = sizeof(det), .store_id = 999 };
	struct capstore_attach att = { .size = sizeof(att), .bdev_fd = -1 };
	int first = cs_next_fd();

	check_lengths(_metadata, self->ctl, CAPSTORE_ROOT, &root, sizeof(root),
		      0);
	check_lengths(_metadata, self->ctl, CAPSTORE_CHECKPOINT, &cp,
		      sizeof(cp), 0);
	check_lengths(_metadata, self->ctl, CAPSTORE_DETACH, &det, sizeof(det),
		      -ENOENT);
	check_lengths(_metadata, self->ctl, CAPSTORE_ATTACH, &att, sizeof(att),
		      -EBADF);
	cs_close_from(first);	/* the root capabilities made */
}

TEST_F(store, control_fields)
{
	struct capstore_root root = { .size = sizeof(root), .store_id = self->id };
	struct capstore_checkpoint cp = { .size = sizeof(cp), .store_id = self->id };
	struct capstore_detach det = { .size = sizeof(det), .store_id = self->id };
	struct capstore_attach att = { .size = sizeof(att) };
	int fd;

	root.flags = 4;
	EXPECT_EQ(-EINVAL, xioctl(self->ctl, CAPSTORE_ROOT, &root));
	root.flags = 0;
	root.store_id = 999;
	EXPECT_EQ(-ENOENT, xioctl(self->ctl, CAPSTORE_ROOT, &root));
	root.store_id = ~0u;
	EXPECT_EQ(-ENOENT, xioctl(self->ctl, CAPSTORE_ROOT, &root));

	cp.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->ctl, CAPSTORE_CHECKPOINT, &cp));
	cp.flags = 0;
	cp.__reserved = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->ctl, CAPSTORE_CHECKPOINT, &cp));
	cp.__reserved = 0;
	cp.store_id = 12345;
	EXPECT_EQ(-ENOENT, xioctl(self->ctl, CAPSTORE_CHECKPOINT, &cp));

	det.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->ctl, CAPSTORE_DETACH, &det));
	det.flags = 0;
	det.__reserved = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->ctl, CAPSTORE_DETACH, &det));
	det.__reserved = 0;
	/* Capabilities are open: busy. */
	EXPECT_EQ(-EBUSY, xioctl(self->ctl, CAPSTORE_DETACH, &det));

	att.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->ctl, CAPSTORE_ATTACH, &att));
	att.flags = 0;
	att.bdev_fd = -1;
	EXPECT_EQ(-EBADF, xioctl(self->ctl, CAPSTORE_ATTACH, &att));
	att.bdev_fd = 9999;
	EXPECT_EQ(-EBADF, xioctl(self->ctl, CAPSTORE_ATTACH, &att));
	att.bdev_fd = self->seg;
	EXPECT_EQ(-ENOTBLK, xioctl(self->ctl, CAPSTORE_ATTACH, &att));
	fd = open(cs_test_dev(), O_RDONLY);
	ASSERT_LE(0, fd);
	att.bdev_fd = fd;
	EXPECT_EQ(-EBADF, xioctl(self->ctl, CAPSTORE_ATTACH, &att));
	close(fd);
	fd = open(cs_test_dev(), O_RDWR);
	ASSERT_LE(0, fd);
	att.bdev_fd = fd;
	EXPECT_EQ(-EBUSY, xioctl(self->ctl, CAPSTORE_ATTACH, &att));
	close(fd);
}

TEST_F(store, cap_lengths)
{
	struct capstore_cap_info info = { .size = sizeof(info) };
	struct capstore_restrict rs = {
		.size = sizeof(rs), .rights = CAPSTORE_RIGHT_READ,
	};
	struct capstore_fetch fe = { .size = sizeof(fe), .slot = 31 };
	struct capstore_store st = { .size = sizeof(st), .slot = 31, .fd = -1 };
	struct capstore_clear cl = { .size = sizeof(cl), .slot = 31 };
	struct capstore_create cr = {
		.size = sizeof(cr), .kind = CAPSTORE_KIND_NODE, .slot = 0,
	};
	struct capstore_checkpoint cp = { .size = sizeof(cp) };
	int first = cs_next_fd();

	check_lengths(_metadata, self->seg, CAPSTORE_CAP_INFO, &info,
		      sizeof(info), 0);
	check_lengths(_metadata, self->seg, CAPSTORE_CHECKPOINT, &cp,
		      sizeof(cp), 0);
	check_lengths(_metadata, self->root, CAPSTORE_FETCH, &fe, sizeof(fe),
		      -ENOENT);
	check_lengths(_metadata, self->root, CAPSTORE_STORE, &st, sizeof(st),
		      -EBADF);
	check_lengths(_metadata, self->root, CAPSTORE_CLEAR, &cl, sizeof(cl),
		      0);
	/* Slot 0 holds the fixture's segment. */
	check_lengths(_metadata, self->root, CAPSTORE_CREATE, &cr, sizeof(cr),
		      -EEXIST);
	/* Successful restricts made fds; they are closed with the test. */
	check_lengths(_metadata, self->seg, CAPSTORE_RESTRICT, &rs, sizeof(rs),
		      0);
	cs_close_from(first);
}

TEST_F(store, info)
{
	struct capstore_cap_info info;

	ASSERT_EQ(0, capstore_cap_info(self->seg, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, info.out_kind);
	EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info.out_rights);
	EXPECT_EQ(65536ull, info.out_size);
	EXPECT_EQ(self->id, info.out_store_id);
	EXPECT_LT(1ull, info.out_oid);
	ASSERT_EQ(0, capstore_cap_info(self->root, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_NODE, info.out_kind);
	EXPECT_EQ(1ull, info.out_oid);
	EXPECT_EQ((uint64_t)CAPSTORE_NODE_SLOTS, info.out_size);

	info.size = sizeof(info);
	info.flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->seg, CAPSTORE_CAP_INFO, &info));
	info.flags = 0;
	info.out_flags = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->seg, CAPSTORE_CAP_INFO, &info));
}

TEST_F(store, restrict_rights)
{
	struct capstore_cap_info info;
	int ro, weak;

	EXPECT_EQ(-EINVAL, capstore_cap_restrict(self->seg, 1u << 20, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_restrict(self->seg, 1u << 5, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ,
						 4));
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ |
				   CAPSTORE_RIGHT_MAP, 0);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, capstore_cap_info(ro, &info));
	EXPECT_EQ((uint32_t)(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP),
		  info.out_rights);
	/* No way back up. */
	EXPECT_EQ(-EPERM, capstore_cap_restrict(ro, CAPSTORE_RIGHT_READ |
						CAPSTORE_RIGHT_WRITE, 0));
	EXPECT_EQ(-EPERM, capstore_cap_restrict(ro, CAPSTORE_RIGHTS_ALL, 0));
	weak = capstore_cap_restrict(ro, CAPSTORE_RIGHT_READ |
				     CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	EXPECT_EQ(-EPERM, capstore_cap_restrict(weak, CAPSTORE_RIGHT_READ, 0));
	EXPECT_EQ(0, capstore_cap_info(weak, &info));
	EXPECT_EQ((uint32_t)(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_WEAK),
		  info.out_rights);
	close(weak);
	close(ro);
}

TEST_F(store, create_fields)
{
	struct capstore_create cr = { .size = sizeof(cr),
				      .kind = CAPSTORE_KIND_SEGMENT,
				      .slot = 5, .seg_size = 4096 };

	capstore_node_clear(self->root, 5, 0);
	cr.slot = CAPSTORE_NODE_SLOTS;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.slot = ~0u;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.slot = 5;
	cr.kind = 0;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.kind = 3;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.kind = CAPSTORE_KIND_SEGMENT;
	cr.seg_size = 4095;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.seg_size = (1ull << 44) + 4096;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.seg_size = ~0ull & ~4095ull;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.kind = CAPSTORE_KIND_NODE;
	cr.seg_size = 4096;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.seg_size = 0;
	cr.flags = 4;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.flags = 0;
	cr.__reserved = 1;
	EXPECT_EQ(-EINVAL, xioctl(self->root, CAPSTORE_CREATE, &cr));
	cr.__reserved = 0;
	/* Slot 0 is taken. */
	cr.slot = 0;
	EXPECT_EQ(-EEXIST, xioctl(self->root, CAPSTORE_CREATE, &cr));
	/* Nothing was created by any of that. */
	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->root, 5, 0));
	/* The largest segment is fine: it is sparse. */
	cr.slot = 5;
	cr.kind = CAPSTORE_KIND_SEGMENT;
	cr.seg_size = 1ull << 44;
	ASSERT_EQ(0, xioctl(self->root, CAPSTORE_CREATE, &cr));
	close(cr.out_fd);
	EXPECT_EQ(0, capstore_node_clear(self->root, 5, 0));
}

TEST_F(store, slot_fields)
{
	int pipefd[2];
	int fd;

	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->root, 31, 0));
	EXPECT_EQ(-EINVAL, capstore_node_fetch(self->root, 32, 0));
	EXPECT_EQ(-EINVAL, capstore_node_fetch(self->root, ~0u, 0));
	EXPECT_EQ(-EINVAL, capstore_node_fetch(self->root, 0, 4));
	EXPECT_EQ(-EINVAL, capstore_node_store(self->root, 32, self->seg, 0));
	EXPECT_EQ(-EINVAL, capstore_node_store(self->root, 1, self->seg, 1));
	EXPECT_EQ(-EINVAL, capstore_node_clear(self->root, 32, 0));
	EXPECT_EQ(-EINVAL, capstore_node_clear(self->root, 1, 8));

	/* Only capabilities can be stored. */
	EXPECT_EQ(-EBADF, capstore_node_store(self->root, 1, -1, 0));
	EXPECT_EQ(-EBADF, capstore_node_store(self->root, 1, 9999, 0));
	EXPECT_EQ(-EBADF, capstore_node_store(self->root, 1, self->ctl, 0));
	ASSERT_EQ(0, pipe(pipefd));
	EXPECT_EQ(-EBADF, capstore_node_store(self->root, 1, pipefd[0], 0));
	close(pipefd[0]);
	EXPECT_EQ(-EBADF, capstore_node_store(self->root, 1, pipefd[0], 0));
	close(pipefd[1]);

	/* A stored capability comes back with the same object and rights. */
	fd = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, capstore_node_store(self->root, 1, fd, 0));
	close(fd);
	{
		unsigned int kind, rights;
		struct capstore_cap_info a, b;

		fd = capstore_node_fetch_info(self->root, 1, 0, &kind, &rights);
		ASSERT_LE(0, fd);
		EXPECT_EQ((unsigned int)CAPSTORE_KIND_SEGMENT, kind);
		EXPECT_EQ((unsigned int)CAPSTORE_RIGHT_READ, rights);
		ASSERT_EQ(0, capstore_cap_info(fd, &a));
		ASSERT_EQ(0, capstore_cap_info(self->seg, &b));
		EXPECT_EQ(a.out_oid, b.out_oid);
		close(fd);
	}
	EXPECT_EQ(0, capstore_node_clear(self->root, 1, 0));
	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->root, 1, 0));
}

TEST_F(store, node_rights)
{
	int ro, nogrant, weak, fd;
	struct capstore_cap_info info;

	/* Without WRITE or GRANT nothing can be stored, created or cleared. */
	ro = capstore_cap_restrict(self->root, CAPSTORE_RIGHT_READ |
				   CAPSTORE_RIGHT_GRANT, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, capstore_node_store(ro, 1, self->seg, 0));
	EXPECT_EQ(-EPERM, capstore_node_clear(ro, 0, 0));
	EXPECT_EQ(-EPERM, capstore_node_create(ro, 1, CAPSTORE_KIND_NODE, 0, 0));
	fd = capstore_node_fetch(ro, 0, 0);
	EXPECT_LE(0, fd);
	close(fd);

	nogrant = capstore_cap_restrict(self->root, CAPSTORE_RIGHT_READ |
					CAPSTORE_RIGHT_WRITE, 0);
	ASSERT_LE(0, nogrant);
	EXPECT_EQ(-EPERM, capstore_node_fetch(nogrant, 0, 0));
	EXPECT_EQ(-EPERM, capstore_node_store(nogrant, 1, self->seg, 0));

	/* Weak: no stores; what comes out is weak and read-only. */
	weak = capstore_cap_restrict(self->root, CAPSTORE_RIGHTS_ALL |
				     CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	EXPECT_EQ(-EPERM, capstore_node_store(weak, 1, self->seg, 0));
	EXPECT_EQ(-EPERM, capstore_node_clear(weak, 0, 0));
	fd = capstore_node_fetch(weak, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, capstore_cap_info(fd, &info));
	EXPECT_TRUE(!!(info.out_rights & CAPSTORE_RIGHT_WEAK));
	EXPECT_FALSE(!!(info.out_rights & CAPSTORE_RIGHT_WRITE));
	EXPECT_EQ(-EBADF, capstore_segment_pwrite(fd, "x", 1, 0));
	close(fd);
	close(weak);
	close(nogrant);
	close(ro);
}

TEST_F(store, segment_io)
{
	char buf[8] = "";
	void *p;
	int ro;

	/* Writes stay inside the segment. */
	EXPECT_EQ(-EFBIG, capstore_segment_pwrite(self->seg, "x", 1, 65536));
	EXPECT_EQ(4, capstore_segment_pwrite(self->seg, "abcdefgh", 8, 65532));
	EXPECT_EQ(0, capstore_segment_pread(self->seg, buf, 8, 65536));
	/* Segments map shared only. */
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, self->seg, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EINVAL, errno);
	/* Nodes do not map at all. */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->root, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(ENODEV, errno);

	/* A read-only capability cannot write by any path. */
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ |
				   CAPSTORE_RIGHT_MAP, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, capstore_segment_pwrite(ro, "x", 1, 0));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EACCES, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, 4096, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, 4096);
	close(ro);

	/* Without MAP, no mapping. */
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ro, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	close(ro);
}

/* Capabilities cannot be reopened through /proc to get a new file. */
TEST_F(store, no_reopen)
{
	char path[64];
	void *p;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", self->seg);
	fd = open(path, O_RDONLY);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENXIO, errno);
	fd = open(path, O_RDWR);
	EXPECT_EQ(-1, fd);

	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->seg, 0);
	ASSERT_NE(MAP_FAILED, p);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
		 (unsigned long)p, (unsigned long)p + 4096);
	fd = open(path, O_RDWR);
	EXPECT_EQ(-1, fd);
	EXPECT_EQ(ENXIO, errno);
	munmap(p, 4096);
}

CS_HARNESS_MAIN
