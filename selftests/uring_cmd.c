// SPDX-License-Identifier: GPL-2.0
/*
 * uring_cmd - capability commands and segment I/O through io_uring.
 *
 * A batch of 256 capability commands in one submission (create, fetch,
 * restrict, info), each completing with what the ioctl returns; reads and
 * writes of a segment with registered files and fixed buffers; fsync
 * through the ring; non-blocking writes (RWF_NOWAIT) that succeed on
 * cached pages and answer EAGAIN when they would need I/O.
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>
#include <liburing.h>

#include "cs_harness.h"
#include "cs_test.h"

#define BATCH 256

static void prep_cmd(struct io_uring_sqe *sqe, int fd, unsigned int op,
		     void *arg, uint64_t user_data)
{
	struct capstore_uring_cmd *c = (void *)sqe->cmd;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = op;
	c->arg = (uintptr_t)arg;
	c->__reserved = 0;
	sqe->user_data = user_data;
}

FIXTURE(ring) {
	struct io_uring ring;
	uint32_t id;
	int root;
	int node;	/* root slot 0: a node of 32 slots */
};

FIXTURE_SETUP(ring)
{
	self->root = self->node = -1;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, 0, 0);
	self->node = capstore_node_create(self->root, 0, CAPSTORE_KIND_NODE, 0,
					  0);
	ASSERT_LE(0, self->node);
	ASSERT_EQ(0, io_uring_queue_init(BATCH * 2, &self->ring, 0));
}

FIXTURE_TEARDOWN(ring)
{
	io_uring_queue_exit(&self->ring);
	if (self->node >= 0)
		close(self->node);
	if (self->root >= 0) {
		capstore_node_clear(self->root, 0, 0);
		close(self->root);
	}
	EXPECT_EQ(0, cs_detach(self->id));
}

/* Submit everything queued and reap @n completions into res[user_data]. */
static int reap(struct io_uring *ring, unsigned int n, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned int i;
	int ret;

	ret = io_uring_submit_and_wait(ring, n);
	if (ret < 0)
		return ret;
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret)
			return ret;
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

TEST_F(ring, batch_of_commands)
{
	static struct capstore_create create[BATCH];
	static struct capstore_fetch fetch[BATCH];
	static struct capstore_restrict rs[BATCH];
	static struct capstore_cap_info info[BATCH];
	static int res[BATCH];
	unsigned int i, slots = CAPSTORE_NODE_SLOTS;

	/* 32 creates into the node's slots, in one submission. */
	for (i = 0; i < slots; i++) {
		create[i] = (struct capstore_create){
			.size = sizeof(create[i]),
			.flags = CAPSTORE_FD_CLOEXEC,
			.kind = CAPSTORE_KIND_SEGMENT,
			.slot = i,
			.seg_size = 4096 * (i + 1),
		};
		prep_cmd(io_uring_get_sqe(&self->ring), self->node,
			 CAPSTORE_CREATE, &create[i], i);
	}
	ASSERT_EQ(0, reap(&self->ring, slots, res));
	for (i = 0; i < slots; i++) {
		ASSERT_LE(0, res[i]) TH_LOG("create %u: %s", i,
					    strerror(-res[i]));
		EXPECT_EQ(create[i].out_fd, res[i]);
		close(res[i]);
	}

	/* 256 fetches (8 of each slot), then 256 restricts and infos. */
	for (i = 0; i < BATCH; i++) {
		fetch[i] = (struct capstore_fetch){
			.size = sizeof(fetch[i]),
			.flags = CAPSTORE_FD_CLOEXEC,
			.slot = i % slots,
		};
		prep_cmd(io_uring_get_sqe(&self->ring), self->node,
			 CAPSTORE_FETCH, &fetch[i], i);
	}
	ASSERT_EQ(0, reap(&self->ring, BATCH, res));
	for (i = 0; i < BATCH; i++) {
		ASSERT_LE(0, res[i]) TH_LOG("fetch %u: %s", i,
					    strerror(-res[i]));
		EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, fetch[i].out_kind);
		rs[i] = (struct capstore_restrict){
			.size = sizeof(rs[i]),
			.rights = CAPSTORE_RIGHT_READ,
		};
		prep_cmd(io_uring_get_sqe(&self->ring), fetch[i].out_fd,
			 CAPSTORE_RESTRICT, &rs[i], i);
	}
	ASSERT_EQ(0, reap(&self->ring, BATCH, res));
	for (i = 0; i < BATCH; i++) {
		ASSERT_LE(0, res[i]);
		info[i] = (struct capstore_cap_info){ .size = sizeof(info[i]) };
		prep_cmd(io_uring_get_sqe(&self->ring), rs[i].out_fd,
			 CAPSTORE_CAP_INFO, &info[i], i);
	}
	ASSERT_EQ(0, reap(&self->ring, BATCH, res));
	for (i = 0; i < BATCH; i++) {
		EXPECT_EQ(0, res[i]);
		EXPECT_EQ((uint32_t)CAPSTORE_RIGHT_READ, info[i].out_rights);
		EXPECT_EQ(4096ull * (i % slots + 1), info[i].out_size);
		close(rs[i].out_fd);
		close(fetch[i].out_fd);
	}
}

TEST_F(ring, command_errors)
{
	struct capstore_fetch fetch = { .size = sizeof(fetch), .slot = 99 };
	struct capstore_cap_info info = { .size = 4 };
	struct io_uring_sqe *sqe;
	int res[4];

	prep_cmd(io_uring_get_sqe(&self->ring), self->node, CAPSTORE_FETCH,
		 &fetch, 0);
	prep_cmd(io_uring_get_sqe(&self->ring), self->node, CAPSTORE_CAP_INFO,
		 &info, 1);
	prep_cmd(io_uring_get_sqe(&self->ring), self->node,
		 _IO(CAPSTORE_TYPE, 0x7f), &info, 2);
	sqe = io_uring_get_sqe(&self->ring);
	prep_cmd(sqe, self->node, CAPSTORE_CAP_INFO, &info, 3);
	((struct capstore_uring_cmd *)sqe->cmd)->__reserved = 1;
	ASSERT_EQ(0, reap(&self->ring, 4, res));
	EXPECT_EQ(-EINVAL, res[0]);
	EXPECT_EQ(-EINVAL, res[1]);
	EXPECT_EQ(-ENOTTY, res[2]);
	EXPECT_EQ(-EINVAL, res[3]);
}

TEST_F(ring, io_fixed_files_and_buffers)
{
	char (*wbuf)[8192], (*rbuf)[8192];
	struct iovec iov[6];
	struct io_uring_sqe *sqe;
	int seg, res[8], i;

	/* Fixed buffers must be anonymous memory, page-aligned here. */
	wbuf = mmap(NULL, 6 * 8192, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)wbuf);
	rbuf = wbuf + 3;
	seg = capstore_node_create(self->node, 1, CAPSTORE_KIND_SEGMENT,
				   1 << 20, 0);
	ASSERT_LE(0, seg);
	ASSERT_EQ(0, io_uring_register_files(&self->ring, &seg, 1));
	for (i = 0; i < 3; i++) {
		memset(wbuf[i], 'a' + i, sizeof(wbuf[i]));
		iov[i].iov_base = wbuf[i];
		iov[i].iov_len = sizeof(wbuf[i]);
		iov[3 + i].iov_base = rbuf[i];
		iov[3 + i].iov_len = sizeof(rbuf[i]);
	}
	ASSERT_EQ(0, io_uring_register_buffers(&self->ring, iov, 6));
	for (i = 0; i < 3; i++) {
		sqe = io_uring_get_sqe(&self->ring);
		io_uring_prep_write_fixed(sqe, 0, wbuf[i], sizeof(wbuf[i]),
					  i * 65536, i);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
		sqe->user_data = i;
	}
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_fsync(sqe, 0, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	sqe->user_data = 3;
	for (i = 0; i < 3; i++) {
		sqe = io_uring_get_sqe(&self->ring);
		io_uring_prep_read_fixed(sqe, 0, rbuf[i], sizeof(rbuf[i]),
					 i * 65536, 3 + i);
		sqe->flags |= IOSQE_FIXED_FILE;
		if (i < 2)
			sqe->flags |= IOSQE_IO_LINK;
		sqe->user_data = 4 + i;
	}
	ASSERT_EQ(0, reap(&self->ring, 7, res));
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(8192, res[i]);
		EXPECT_EQ(8192, res[4 + i]);
		EXPECT_EQ(0, memcmp(wbuf[i], rbuf[i], sizeof(rbuf[i])));
	}
	EXPECT_EQ(0, res[3]);
	/* Through the plain ring too, mixing with pwrite. */
	ASSERT_EQ(4, capstore_segment_pwrite(seg, "mixd", 4, 65536));
	sqe = io_uring_get_sqe(&self->ring);
	io_uring_prep_read(sqe, seg, rbuf[0], 4, 65536);
	sqe->user_data = 0;
	ASSERT_EQ(0, reap(&self->ring, 1, res));
	EXPECT_EQ(4, res[0]);
	EXPECT_EQ(0, memcmp(rbuf[0], "mixd", 4));
	io_uring_unregister_buffers(&self->ring);
	io_uring_unregister_files(&self->ring);
	munmap(wbuf, 6 * 8192);
	close(seg);
	capstore_node_clear(self->node, 1, 0);
}

TEST_F(ring, nowait_writes)
{
	struct iovec iov;
	char buf[4096];
	int seg, ro;

	seg = capstore_node_create(self->node, 2, CAPSTORE_KIND_SEGMENT,
				   1 << 20, 0);
	ASSERT_LE(0, seg);
	memset(buf, 'z', sizeof(buf));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	/* A page not in memory yet would need a read: EAGAIN. */
	EXPECT_EQ(-1, pwritev2(seg, &iov, 1, 8192 + 100, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	/* Once cached, the write goes through without blocking. */
	ASSERT_EQ(4096, pwrite(seg, buf, 4096, 0));
	iov.iov_len = 2000;
	EXPECT_EQ(2000, pwritev2(seg, &iov, 1, 1000, RWF_NOWAIT));
	EXPECT_EQ(4096, pread(seg, buf, 4096, 0));
	/* Rights hold on the non-blocking path too. */
	ro = capstore_cap_restrict(seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-1, pwritev2(ro, &iov, 1, 0, RWF_NOWAIT));
	EXPECT_EQ(EBADF, errno);
	close(ro);
	close(seg);
	capstore_node_clear(self->node, 2, 0);
}

CS_HARNESS_MAIN
