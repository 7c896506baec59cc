// SPDX-License-Identifier: GPL-2.0
/*
 * uring_cmd - capability commands and segment I/O through io_uring.
 *
 * A batch of 256 capability commands in one submission (create, fetch,
 * restrict, info), each completing with what the ioctl returns; reads and
 * writes of a segment with registered files and fixed buffers; fsync
 * through the ring; non-blocking writes (RWF_NOWAIT) that succeed on
 * cached pages and answer EAGAIN when they would need I/O; non-blocking
 * reads likewise: a cached page is read without I/O (even with the device
 * failing every request), a page not in memory answers EAGAIN, and
 * io_uring reads of both complete with the data.
 *
 * Needs a formatted store on $CS_TEST_DEV; nowait_reads_cold puts it
 * behind a device-mapper device (dm-linear, swapped for dm-error).
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

#include "cs_dm.h"
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

/* Read @len bytes at @off through the ring; the completion's result. */
static int ring_read(struct io_uring *ring, int fd, void *buf, unsigned int len,
		     uint64_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_read(sqe, fd, buf, len, off);
	sqe->user_data = 1;
	ret = io_uring_submit_and_wait(ring, 1);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

static void fill_page(char *buf, unsigned int page)
{
	unsigned int i;

	for (i = 0; i < 4096; i++)
		buf[i] = (char)cs_mix(page * 4096 + i);
}

TEST_F(ring, nowait_reads)
{
	char want[4096], buf[4096];
	struct iovec iov;
	int seg, wo;

	seg = capstore_node_create(self->node, 3, CAPSTORE_KIND_SEGMENT,
				   1 << 20, 0);
	ASSERT_LE(0, seg);
	fill_page(want, 0);
	ASSERT_EQ(4096, pwrite(seg, want, 4096, 0));
	/* A cached (dirty) page: read at once, the right bytes. */
	memset(buf, 0, sizeof(buf));
	iov.iov_base = buf;
	iov.iov_len = 2000;
	EXPECT_EQ(2000, preadv2(seg, &iov, 1, 100, RWF_NOWAIT));
	EXPECT_EQ(0, memcmp(buf, want + 100, 2000));
	/* Clean after a checkpoint, still cached: the same. */
	ASSERT_EQ(0, capstore_cap_checkpoint(seg, 0, NULL));
	memset(buf, 0, sizeof(buf));
	iov.iov_len = 4096;
	EXPECT_EQ(4096, preadv2(seg, &iov, 1, 0, RWF_NOWAIT));
	EXPECT_EQ(0, memcmp(buf, want, 4096));
	/* Through the ring. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4096, ring_read(&self->ring, seg, buf, 4096, 0));
	EXPECT_EQ(0, memcmp(buf, want, 4096));
	/* Rights hold on the non-blocking path too. */
	wo = capstore_cap_restrict(seg, CAPSTORE_RIGHT_WRITE, 0);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-1, preadv2(wo, &iov, 1, 0, RWF_NOWAIT));
	EXPECT_EQ(EBADF, errno);
	EXPECT_EQ(-EBADF, ring_read(&self->ring, wo, buf, 4096, 0));
	close(wo);
	close(seg);
	capstore_node_clear(self->node, 3, 0);
}

/*
 * A page that is not in memory. Without help this is racy: a NOWAIT read
 * of a missing page starts readahead and answers EAGAIN only if that I/O
 * has not completed by the time it looks at the page again (and a page
 * that is a hole is zero-filled by readahead without any I/O, so it
 * succeeds). So the store sits on a dm-linear device that is swapped for
 * dm-error around the read: readahead's I/O fails, the page cannot become
 * uptodate, and the read must answer EAGAIN, every time. Pages already
 * cached must still read, as no I/O is needed for them.
 *
 * Pages 0, 40 and 41 of a segment are written and checkpointed, the store
 * detached and attached again (nothing cached). POSIX_FADV_RANDOM keeps
 * readahead to the pages asked for, so reading page 0 caches only it
 * (and the segment's tree).
 */
#define DM_NAME		"cs-uring-nowait"
#define COLD_SLOT	7

static int cold_open(const char *path, uint32_t *id, int *root)
{
	int ret = cs_attach_path(path, id);

	if (ret)
		return ret;
	/* No scheduled checkpoint while the device fails every request. */
	ret = cs_store_set(path, "interval_ms", "0");
	if (ret)
		return ret;
	*root = cs_root(*id);
	return *root < 0 ? *root : 0;
}

FIXTURE(cold) {
	struct cs_dm_target linear;
	struct io_uring ring;
	char path[64];
	uint32_t id;
	int made;	/* the dm device exists */
	int attached;	/* the store is attached on it, as id */
	int root;
	int seg;
};

FIXTURE_SETUP(cold)
{
	int64_t sectors;

	self->made = self->attached = 0;
	self->root = self->seg = -1;
	memset(&self->ring, 0, sizeof(self->ring));
	self->ring.ring_fd = -1;
	if (!cs_dm_has_target("linear") || !cs_dm_has_target("error"))
		SKIP(return, "no dm-linear or dm-error");
	cs_detach_stale();
	cs_dm_remove(DM_NAME);
	sectors = cs_dev_sectors(cs_test_dev());
	ASSERT_LT(0, sectors);
	self->linear = (struct cs_dm_target){
		.len = (uint64_t)sectors,
		.type = "linear",
	};
	snprintf(self->linear.params, sizeof(self->linear.params), "%s 0",
		 cs_test_dev());
	ASSERT_EQ(0, cs_dm_create(DM_NAME, (uint64_t)sectors, "linear",
				  self->linear.params, self->path,
				  sizeof(self->path)));
	self->made = 1;
	ASSERT_EQ(0, io_uring_queue_init(8, &self->ring, 0));
}

/* Whatever happened: the device works, the store is detached, dm gone. */
FIXTURE_TEARDOWN(cold)
{
	if (self->ring.ring_fd >= 0)
		io_uring_queue_exit(&self->ring);
	if (!self->made)
		return;
	cs_dm_reload(DM_NAME, &self->linear, 1);
	if (self->seg >= 0)
		close(self->seg);
	if (self->root >= 0) {
		capstore_node_clear(self->root, COLD_SLOT, 0);
		close(self->root);
	}
	if (self->attached)
		EXPECT_EQ(0, cs_detach(self->id));
	EXPECT_EQ(0, cs_dm_remove(DM_NAME));
}

TEST_F(cold, nowait_reads_cold)
{
	struct cs_dm_target error = { .len = self->linear.len,
				      .type = "error" };
	static const unsigned int pages[3] = { 0, 40, 41 };
	struct iovec iov;
	char want[3][4096], buf[4096];
	int i;

	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	/* Three pages on disk. */
	ASSERT_EQ(0, cold_open(self->path, &self->id, &self->root));
	self->attached = 1;
	capstore_node_clear(self->root, COLD_SLOT, 0);
	self->seg = capstore_node_create(self->root, COLD_SLOT,
					 CAPSTORE_KIND_SEGMENT, 64 * 4096,
					 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->seg);
	for (i = 0; i < 3; i++) {
		fill_page(want[i], pages[i]);
		ASSERT_EQ(4096, pwrite(self->seg, want[i], 4096,
				       (off_t)pages[i] * 4096));
	}
	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, NULL));
	close(self->seg);
	close(self->root);
	self->seg = self->root = -1;
	ASSERT_EQ(0, cs_detach(self->id));
	self->attached = 0;

	/* Attached again: nothing of the segment is in memory. */
	ASSERT_EQ(0, cold_open(self->path, &self->id, &self->root));
	self->attached = 1;
	self->seg = capstore_node_fetch(self->root, COLD_SLOT,
					CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->seg);
	ASSERT_EQ(0, posix_fadvise(self->seg, 0, 0, POSIX_FADV_RANDOM));
	ASSERT_EQ(4096, pread(self->seg, buf, 4096, 0));
	EXPECT_EQ(0, memcmp(buf, want[0], 4096));

	/* Every request of the device fails from here. */
	ASSERT_EQ(0, cs_dm_reload(DM_NAME, &error, 1));
	/* Page 0 is cached: read without I/O. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4096, preadv2(self->seg, &iov, 1, 0, RWF_NOWAIT));
	EXPECT_EQ(0, memcmp(buf, want[0], 4096));
	/*
	 * Page 40 is not: it would need I/O, EAGAIN; and again, the failed
	 * readahead of the first try did not make it uptodate.
	 */
	EXPECT_EQ(-1, preadv2(self->seg, &iov, 1, 40 * 4096, RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, preadv2(self->seg, &iov, 1, 40 * 4096 + 512,
			      RWF_NOWAIT));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, cs_dm_reload(DM_NAME, &self->linear, 1));

	/* The device works again: the failed readahead left nothing bad. */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4096, pread(self->seg, buf, 4096, 40 * 4096));
	EXPECT_EQ(0, memcmp(buf, want[1], 4096));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4096, preadv2(self->seg, &iov, 1, 40 * 4096, RWF_NOWAIT));
	EXPECT_EQ(0, memcmp(buf, want[1], 4096));
	/* io_uring: a cached page, and a cold one (it waits in a worker). */
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4096, ring_read(&self->ring, self->seg, buf, 4096,
				  40 * 4096));
	EXPECT_EQ(0, memcmp(buf, want[1], 4096));
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ(4096, ring_read(&self->ring, self->seg, buf, 4096,
				  41 * 4096));
	EXPECT_EQ(0, memcmp(buf, want[2], 4096));
}

CS_HARNESS_MAIN
