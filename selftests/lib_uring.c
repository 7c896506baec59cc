// SPDX-License-Identifier: GPL-2.0
/*
 * lib_uring - the io_uring API of libcap-store (<libcapstore-uring.h>):
 *
 * - every capstore_prep_*() command helper on a real store: the
 *   completion's res is what the ioctl returns, the outputs arrive in the
 *   command's structure, errors arrive as -errno in res;
 * - a batch of 512 capability commands in one submission (256 creates,
 *   then 256 fetches, 256 restricts and 256 infos, 768 in one);
 * - registered files (IOSQE_FIXED_FILE) with the command helpers, and
 *   fixed buffers with reads and writes;
 * - reads, writes and durability waits through the ring mixed with
 *   stores to a mapping of the same segment, on cold and cached pages;
 *   sections through the ring; many syncs in one submission sharing
 *   checkpoints (group commit);
 * - durable_write / durable_verify: writes through the ring and the
 *   mapping, a sync through the ring, a hard power-off as soon as it
 *   completes, and everything there after the reboot.
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

#include <libcapstore-uring.h>

#include "cs_harness.h"
#include "cs_test.h"

#define RING		1024
#define BATCH		256
#define SLOT		11		/* the root slot of the test's node */
#define DURABLE_SLOT	12		/* kept across the reboot */
#define SEG_PAGES	256
#define SEG_SIZE	(SEG_PAGES * 4096)

FIXTURE(ring) {
	struct io_uring ring;
	uint32_t id;
	int ctl;
	int root;
	int node;	/* root slot SLOT: a node */
	int seg;	/* its slot 0: a segment of SEG_SIZE */
	int first_fd;
	int ring_ok;
};

FIXTURE_SETUP(ring)
{
	self->ctl = self->root = self->node = self->seg = -EBADF;
	self->ring_ok = 0;
	self->first_fd = cs_next_fd();
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, SLOT, 0);
	self->node = capstore_node_create(self->root, SLOT, CAPSTORE_KIND_NODE,
					  0, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->node);
	self->seg = capstore_node_create(self->node, 0, CAPSTORE_KIND_SEGMENT,
					 SEG_SIZE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->seg);
	ASSERT_EQ(0, io_uring_queue_init(RING, &self->ring, 0));
	self->ring_ok = 1;
}

FIXTURE_TEARDOWN(ring)
{
	if (self->ring_ok)
		io_uring_queue_exit(&self->ring);
	if (self->root >= 0)
		capstore_node_clear(self->root, SLOT, 0);
	cs_close_from(self->first_fd);
	EXPECT_EQ(0, cs_detach(self->id));
}

/* A fresh entry, its user_data set to @tag. */
static struct io_uring_sqe *sqe_get(struct io_uring *ring, uint64_t tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (sqe)
		io_uring_sqe_set_data64(sqe, tag);
	return sqe;
}

/*
 * Submit what is queued, in one io_uring_enter, and reap @n completions
 * into res[user_data]. Returns how many entries the submission took, or
 * -errno.
 */
static int run(struct io_uring *ring, unsigned int n, int *res)
{
	struct io_uring_cqe *cqe;
	unsigned int i;
	int submitted, ret;

	submitted = io_uring_submit_and_wait(ring, n);
	if (submitted < 0)
		return submitted;
	for (i = 0; i < n; i++) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret)
			return ret;
		res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return submitted;
}

/* Run one prepared entry and return its res. */
static int run1(struct io_uring *ring)
{
	int res = -12345, ret = run(ring, 1, &res);

	return ret < 0 ? ret : res;
}

TEST_F(ring, every_command)
{
	struct capstore_cap_info info;
	struct capstore_restrict rs;
	struct capstore_create cr;
	struct capstore_fetch fe;
	struct capstore_store st;
	struct capstore_clear cl;
	struct capstore_destroy de;
	struct capstore_revoke rv;
	struct capstore_forward fw;
	struct capstore_checkpoint cp;
	struct capstore_section se;
	struct io_uring *r = &self->ring;
	int fd, seg2, fresh, fwd, ctrl;
	uint64_t seq0;
	char buf[4];

	capstore_prep_info(sqe_get(r, 0), self->seg, &info);
	ASSERT_EQ(0, run1(r));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, info.out_kind);
	EXPECT_EQ((uint64_t)SEG_SIZE, info.out_size);
	EXPECT_EQ(self->id, info.out_store_id);

	capstore_prep_create(sqe_get(r, 0), self->node, &cr, 1,
			     CAPSTORE_KIND_SEGMENT, 8192, CAPSTORE_FD_CLOEXEC);
	seg2 = run1(r);
	ASSERT_LE(0, seg2);
	EXPECT_EQ(seg2, cr.out_fd);
	EXPECT_EQ(FD_CLOEXEC, fcntl(seg2, F_GETFD) & FD_CLOEXEC);
	ASSERT_EQ(0, capstore_segment_size(seg2, &seq0));
	EXPECT_EQ(8192ull, seq0);

	capstore_prep_restrict(sqe_get(r, 0), seg2, &rs, CAPSTORE_RIGHT_READ, 0);
	fd = run1(r);
	ASSERT_LE(0, fd);
	EXPECT_EQ(fd, rs.out_fd);
	ASSERT_EQ(0, capstore_cap_info(fd, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_RIGHT_READ, info.out_rights);

	capstore_prep_store(sqe_get(r, 0), self->node, &st, 2, fd, 0);
	EXPECT_EQ(0, run1(r));
	close(fd);
	capstore_prep_fetch(sqe_get(r, 0), self->node, &fe, 2, 0);
	fd = run1(r);
	ASSERT_LE(0, fd);
	EXPECT_EQ(fd, fe.out_fd);
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, fe.out_kind);
	EXPECT_EQ((uint32_t)CAPSTORE_RIGHT_READ, fe.out_rights);
	close(fd);
	capstore_prep_clear(sqe_get(r, 0), self->node, &cl, 2, 0);
	EXPECT_EQ(0, run1(r));
	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->node, 2, 0));

	/* revoke: a fresh capability, the old ones dead */
	ASSERT_EQ(4, capstore_segment_pwrite(seg2, "rvkd", 4, 0));
	capstore_prep_revoke(sqe_get(r, 0), seg2, &rv, 0);
	fresh = run1(r);
	ASSERT_LE(0, fresh);
	EXPECT_EQ(fresh, rv.out_fd);
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(seg2, buf, 4, 0));
	EXPECT_EQ(4, capstore_segment_pread(fresh, buf, 4, 0));
	EXPECT_EQ(0, memcmp(buf, "rvkd", 4));

	/* forward, then destroy the forwarder through the ring */
	capstore_prep_forward(sqe_get(r, 0), fresh, &fw, self->node, 3,
			      CAPSTORE_RIGHT_READ, 0);
	fwd = run1(r);
	ASSERT_LE(0, fwd);
	EXPECT_EQ(fwd, fw.out_fd);
	EXPECT_EQ(4, capstore_segment_pread(fwd, buf, 4, 0));
	ctrl = capstore_node_fetch(self->node, 3, 0);
	ASSERT_LE(0, ctrl);
	capstore_prep_destroy(sqe_get(r, 0), ctrl, &de, 0);
	EXPECT_EQ(0, run1(r));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(fwd, buf, 4, 0));
	EXPECT_EQ(4, capstore_segment_pread(fresh, buf, 4, 0));

	/* checkpoint: its sequence number comes back in the structure */
	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, &seq0));
	ASSERT_EQ(4, capstore_segment_pwrite(self->seg, "ckpt", 4, 0));
	capstore_prep_checkpoint(sqe_get(r, 0), self->node, &cp, 0);
	EXPECT_EQ(0, run1(r));
	EXPECT_LT(seq0, cp.out_seq);

	/* sections */
	capstore_prep_section_begin(sqe_get(r, 0), self->seg, &se, 0);
	EXPECT_EQ(0, run1(r));
	capstore_prep_section_end(sqe_get(r, 0), self->seg, &se, 0);
	EXPECT_EQ(0, run1(r));
	capstore_prep_section_end(sqe_get(r, 0), self->seg, &se, 0);
	EXPECT_EQ(-EINVAL, run1(r));

	/* destroy through the ring */
	capstore_prep_destroy(sqe_get(r, 0), fresh, &de, 0);
	EXPECT_EQ(0, run1(r));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->node, 1, 0));
	close(ctrl);
	close(fwd);
	close(fresh);
	close(seg2);
}

TEST_F(ring, command_errors)
{
	struct capstore_cap_info info[2];
	struct capstore_restrict rs;
	struct capstore_create cr[2];
	struct capstore_fetch fe[2];
	struct capstore_store st;
	struct capstore_clear cl;
	struct capstore_destroy de[2];
	struct capstore_checkpoint cp;
	struct io_uring *r = &self->ring;
	int res[16], p[2], ro, closed;

	ASSERT_EQ(0, pipe(p));
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	closed = dup(ro);
	close(closed);

	/* each entry points at its own structure until it completes */
	capstore_prep_fetch(sqe_get(r, 0), self->node, &fe[0], 9, 0);
	capstore_prep_fetch(sqe_get(r, 1), self->node, &fe[1],
			    CAPSTORE_NODE_SLOTS, 0);
	capstore_prep_create(sqe_get(r, 2), self->node, &cr[0], 0,
			     CAPSTORE_KIND_NODE, 0, 0);
	capstore_prep_create(sqe_get(r, 3), self->node, &cr[1], 5,
			     CAPSTORE_KIND_NODE, 0, 4);
	capstore_prep_restrict(sqe_get(r, 4), ro, &rs, CAPSTORE_RIGHTS_ALL, 0);
	capstore_prep_destroy(sqe_get(r, 5), ro, &de[0], 0);
	capstore_prep_store(sqe_get(r, 6), self->node, &st, 5, p[0], 0);
	capstore_prep_clear(sqe_get(r, 7), self->seg, &cl, 0, 0);
	capstore_prep_info(sqe_get(r, 8), p[0], &info[0]);
	capstore_prep_info(sqe_get(r, 9), closed, &info[1]);
	capstore_prep_checkpoint(sqe_get(r, 10), self->seg, &cp, 1);
	capstore_prep_destroy(sqe_get(r, 11), self->root, &de[1], 0);
	ASSERT_EQ(12, run(r, 12, res));
	EXPECT_EQ(-ENOENT, res[0]);
	EXPECT_EQ(-EINVAL, res[1]);
	EXPECT_EQ(-EEXIST, res[2]);
	EXPECT_EQ(-EINVAL, res[3]);
	EXPECT_EQ(-EPERM, res[4]);
	EXPECT_EQ(-EPERM, res[5]);
	EXPECT_EQ(-EBADF, res[6]);
	EXPECT_EQ(-ENOTTY, res[7]);
	EXPECT_EQ(-EOPNOTSUPP, res[8]);
	EXPECT_EQ(-EBADF, res[9]);
	EXPECT_EQ(-EINVAL, res[10]);
	EXPECT_EQ(-EPERM, res[11]);
	close(ro);
	close(p[0]);
	close(p[1]);
}

/*
 * 256 creates in one submission (eight nodes of 32 slots), then 256
 * fetches, 256 restricts and 256 infos in another: 768 entries, one
 * io_uring_enter.
 */
TEST_F(ring, batch_of_768_commands)
{
	static struct capstore_create cr[BATCH];
	static struct capstore_fetch fe[BATCH];
	static struct capstore_restrict rs[BATCH];
	static struct capstore_cap_info info[BATCH];
	static int res[3 * BATCH], cres[BATCH];
	struct io_uring *r = &self->ring;
	int nodes[BATCH / CAPSTORE_NODE_SLOTS];
	unsigned int i, n, s;

	for (n = 0; n < BATCH / CAPSTORE_NODE_SLOTS; n++) {
		nodes[n] = capstore_node_create(self->node, 4 + n,
						CAPSTORE_KIND_NODE, 0,
						CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, nodes[n]);
	}
	for (i = 0; i < BATCH; i++) {
		n = i / CAPSTORE_NODE_SLOTS;
		s = i % CAPSTORE_NODE_SLOTS;
		capstore_prep_create(sqe_get(r, i), nodes[n], &cr[i], s,
				     CAPSTORE_KIND_SEGMENT, 4096 * (i % 7 + 1),
				     CAPSTORE_FD_CLOEXEC);
	}
	ASSERT_EQ(BATCH, run(r, BATCH, cres));
	for (i = 0; i < BATCH; i++) {
		ASSERT_LE(0, cres[i]) TH_LOG("create %u: %s", i,
					     strerror(-cres[i]));
		EXPECT_EQ(cr[i].out_fd, cres[i]);
		close(cres[i]);
	}

	/*
	 * 768 in one submission: the fetches of every slot, and restricts
	 * and infos of the nodes (a command cannot use the fd another
	 * command of the same submission makes).
	 */
	for (i = 0; i < BATCH; i++) {
		n = i / CAPSTORE_NODE_SLOTS;
		s = i % CAPSTORE_NODE_SLOTS;
		capstore_prep_fetch(sqe_get(r, i), nodes[n], &fe[i], s,
				    CAPSTORE_FD_CLOEXEC);
		capstore_prep_restrict(sqe_get(r, BATCH + i), nodes[n], &rs[i],
				       CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_GRANT,
				       CAPSTORE_FD_CLOEXEC);
		capstore_prep_info(sqe_get(r, 2 * BATCH + i), nodes[n],
				   &info[i]);
	}
	ASSERT_EQ(3 * BATCH, run(r, 3 * BATCH, res));
	for (i = 0; i < BATCH; i++) {
		ASSERT_LE(0, res[i]) TH_LOG("fetch %u: %s", i, strerror(-res[i]));
		EXPECT_EQ(fe[i].out_fd, res[i]);
		EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, fe[i].out_kind);
		ASSERT_LE(0, res[BATCH + i]);
		EXPECT_EQ(rs[i].out_fd, res[BATCH + i]);
		EXPECT_EQ(0, res[2 * BATCH + i]);
		EXPECT_EQ((uint32_t)CAPSTORE_KIND_NODE, info[i].out_kind);
	}
	/* and a last batch checks what the fetches and restricts gave */
	for (i = 0; i < BATCH; i++)
		capstore_prep_info(sqe_get(r, i), fe[i].out_fd, &info[i]);
	ASSERT_EQ(BATCH, run(r, BATCH, res));
	for (i = 0; i < BATCH; i++) {
		EXPECT_EQ(0, res[i]);
		EXPECT_EQ(4096ull * (i % 7 + 1), info[i].out_size);
		EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info[i].out_rights);
		close(fe[i].out_fd);
		capstore_prep_info(sqe_get(r, i), rs[i].out_fd, &info[i]);
	}
	ASSERT_EQ(BATCH, run(r, BATCH, res));
	for (i = 0; i < BATCH; i++) {
		EXPECT_EQ(0, res[i]);
		EXPECT_EQ((uint32_t)(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_GRANT),
			  info[i].out_rights);
		close(rs[i].out_fd);
	}
	for (n = 0; n < BATCH / CAPSTORE_NODE_SLOTS; n++)
		close(nodes[n]);
}

/* The command helpers and I/O on registered files, with fixed buffers. */
TEST_F(ring, registered_files_and_buffers)
{
	struct capstore_fetch fe;
	struct capstore_cap_info info;
	struct capstore_store st;
	struct capstore_section se;
	struct io_uring *r = &self->ring;
	struct io_uring_sqe *sqe;
	struct iovec iov[2];
	int files[2] = { self->node, self->seg }, res[8], ro, i;
	char *bufs;

	ASSERT_EQ(0, io_uring_register_files(r, files, 2));
	bufs = mmap(NULL, 2 * 16384, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)bufs);
	iov[0].iov_base = bufs;
	iov[0].iov_len = 16384;
	iov[1].iov_base = bufs + 16384;
	iov[1].iov_len = 16384;
	ASSERT_EQ(0, io_uring_register_buffers(r, iov, 2));

	/* commands: on index 0 (the node) and 1 (the segment) */
	sqe = sqe_get(r, 0);
	capstore_prep_fetch(sqe, 0, &fe, 0, CAPSTORE_FD_CLOEXEC);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe = sqe_get(r, 1);
	capstore_prep_info(sqe, 1, &info);
	sqe->flags |= IOSQE_FIXED_FILE;
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	sqe = sqe_get(r, 2);
	/* the capability to store is an ordinary fd, the node a fixed one */
	capstore_prep_store(sqe, 0, &st, 1, ro, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	sqe = sqe_get(r, 3);
	capstore_prep_section_begin(sqe, 1, &se, 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	ASSERT_EQ(4, run(r, 4, res));
	ASSERT_LE(0, res[0]);
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, fe.out_kind);
	close(res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ((uint64_t)SEG_SIZE, info.out_size);
	EXPECT_EQ(0, res[2]);
	EXPECT_EQ(0, res[3]);
	/* the section belongs to the registered file, the same file */
	EXPECT_EQ(0, capstore_section_end(self->seg, 0));
	close(ro);

	/* fixed buffers, on a fixed file: write, sync, read back */
	memset(bufs, 'F', 16384);
	sqe = sqe_get(r, 0);
	io_uring_prep_write_fixed(sqe, 1, bufs, 16384, 8192, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	sqe = sqe_get(r, 1);
	capstore_prep_sync(sqe, 1, 0);
	sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK;
	sqe = sqe_get(r, 2);
	io_uring_prep_read_fixed(sqe, 1, bufs + 16384, 16384, 8192, 1);
	sqe->flags |= IOSQE_FIXED_FILE;
	ASSERT_EQ(3, run(r, 3, res));
	EXPECT_EQ(16384, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(16384, res[2]);
	EXPECT_EQ(0, memcmp(bufs, bufs + 16384, 16384));
	/* and the plain prep helpers on a fixed file */
	for (i = 0; i < 4; i++) {
		sqe = sqe_get(r, i);
		capstore_prep_read(sqe, 1, bufs + 16384 + i * 4096, 4096,
				   8192 + i * 4096);
		sqe->flags |= IOSQE_FIXED_FILE;
	}
	memset(bufs + 16384, 0, 16384);
	ASSERT_EQ(4, run(r, 4, res));
	for (i = 0; i < 4; i++)
		EXPECT_EQ(4096, res[i]);
	EXPECT_EQ(0, memcmp(bufs, bufs + 16384, 16384));

	io_uring_unregister_buffers(r);
	io_uring_unregister_files(r);
	munmap(bufs, 2 * 16384);
}

/*
 * Ring reads and writes and stores to a mapping, on the same pages: each
 * sees the other. Cold pages (never written: the write needs a worker)
 * and cached ones. Completions carry the byte counts.
 */
TEST_F(ring, io_mixed_with_mapping)
{
	static char wbuf[SEG_PAGES][512], rbuf[SEG_PAGES][512];
	struct io_uring *r = &self->ring;
	static int res[2 * SEG_PAGES];
	unsigned int i, off;
	char *map;

	ASSERT_EQ(0, capstore_segment_map(self->seg, 0, SEG_SIZE,
					  PROT_READ | PROT_WRITE,
					  (void **)&map));
	/* even pages through the mapping first, odd ones through the ring */
	for (i = 0; i < SEG_PAGES; i += 2)
		snprintf(map + i * 4096 + 100, 64, "map page %u", i);
	for (i = 1; i < SEG_PAGES; i += 2) {
		memset(wbuf[i], 0, sizeof(wbuf[i]));
		snprintf(wbuf[i], sizeof(wbuf[i]), "ring page %u", i);
		capstore_prep_write(sqe_get(r, i), self->seg, wbuf[i],
				    sizeof(wbuf[i]), i * 4096 + 100);
	}
	ASSERT_LE(0, run(r, SEG_PAGES / 2, res));
	for (i = 1; i < SEG_PAGES; i += 2)
		EXPECT_EQ((int)sizeof(wbuf[i]), res[i]);
	/* the mapping sees the ring's writes, the ring the mapping's */
	for (i = 0; i < SEG_PAGES; i++) {
		char want[64];

		snprintf(want, sizeof(want), "%s page %u", i & 1 ? "ring" : "map",
			 i);
		EXPECT_EQ(0, strcmp(map + i * 4096 + 100, want));
		capstore_prep_read(sqe_get(r, i), self->seg, rbuf[i],
				   sizeof(rbuf[i]), i * 4096 + 100);
	}
	ASSERT_LE(0, run(r, SEG_PAGES, res));
	for (i = 0; i < SEG_PAGES; i++) {
		EXPECT_EQ((int)sizeof(rbuf[i]), res[i]);
		EXPECT_EQ(0, memcmp(rbuf[i], map + i * 4096 + 100,
				    sizeof(rbuf[i])));
	}

	/* interleaved on cached pages: store, ring write, ring read */
	for (i = 0; i < SEG_PAGES; i++) {
		off = i * 4096 + 2048;
		map[off] = 'M';
		memset(wbuf[i], 'W' + (i & 1), 16);
		capstore_prep_write(sqe_get(r, i), self->seg, wbuf[i], 16,
				    off + 1);
	}
	ASSERT_LE(0, run(r, SEG_PAGES, res));
	for (i = 0; i < SEG_PAGES; i++) {
		off = i * 4096 + 2048;
		EXPECT_EQ(16, res[i]);
		EXPECT_EQ('M', map[off]);
		EXPECT_EQ((char)('W' + (i & 1)), map[off + 16]);
		capstore_prep_read(sqe_get(r, i), self->seg, rbuf[i], 17, off);
	}
	ASSERT_LE(0, run(r, SEG_PAGES, res));
	for (i = 0; i < SEG_PAGES; i++) {
		EXPECT_EQ(17, res[i]);
		EXPECT_EQ(0, memcmp(rbuf[i], map + i * 4096 + 2048, 17));
	}

	/* the ends of the segment */
	capstore_prep_read(sqe_get(r, 0), self->seg, rbuf[0], 512,
			   SEG_SIZE - 100);
	capstore_prep_read(sqe_get(r, 1), self->seg, rbuf[1], 512, SEG_SIZE);
	capstore_prep_write(sqe_get(r, 2), self->seg, wbuf[0], 512,
			    SEG_SIZE - 100);
	capstore_prep_write(sqe_get(r, 3), self->seg, wbuf[0], 512, SEG_SIZE);
	ASSERT_LE(0, run(r, 4, res));
	EXPECT_EQ(100, res[0]);
	EXPECT_EQ(0, res[1]);
	EXPECT_EQ(100, res[2]);
	EXPECT_EQ(-EFBIG, res[3]);
	EXPECT_EQ(0, capstore_segment_unmap(map, SEG_SIZE));
}

/* Writes linked to a sync, inside a section opened and closed by links. */
TEST_F(ring, section_and_sync_linked)
{
	struct capstore_section begin, end;
	struct io_uring *r = &self->ring;
	struct io_uring_sqe *sqe;
	uint64_t seq0, seq1;
	char data[8][64];
	int res[16], i;

	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, &seq0));
	sqe = sqe_get(r, 0);
	capstore_prep_section_begin(sqe, self->seg, &begin, 0);
	sqe->flags |= IOSQE_IO_LINK;
	for (i = 0; i < 8; i++) {
		snprintf(data[i], sizeof(data[i]), "linked %d", i);
		sqe = sqe_get(r, 1 + i);
		capstore_prep_write(sqe, self->seg, data[i], sizeof(data[i]),
				    i * 65536);
		sqe->flags |= IOSQE_IO_LINK;
	}
	sqe = sqe_get(r, 9);
	capstore_prep_section_end(sqe, self->seg, &end, 0);
	sqe->flags |= IOSQE_IO_LINK;
	capstore_prep_sync(sqe_get(r, 10), self->seg, IORING_FSYNC_DATASYNC);
	ASSERT_EQ(11, run(r, 11, res));
	EXPECT_EQ(0, res[0]);
	for (i = 0; i < 8; i++)
		EXPECT_EQ(64, res[1 + i]);
	EXPECT_EQ(0, res[9]);
	EXPECT_EQ(0, res[10]);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, &seq1));
	EXPECT_LT(seq0, seq1);	/* the sync took one */
}

/* 32 syncs in one submission complete, sharing checkpoints. */
TEST_F(ring, many_syncs_share_checkpoints)
{
	struct io_uring *r = &self->ring;
	long long before, after;
	char data[32][32];
	int res[64], i;

	before = cs_store_get(cs_test_dev(), "checkpoints");
	ASSERT_LE(0, before);
	for (i = 0; i < 32; i++) {
		snprintf(data[i], sizeof(data[i]), "sync %d", i);
		capstore_prep_write(sqe_get(r, 2 * i), self->seg, data[i],
				    sizeof(data[i]), i * 4096);
		capstore_prep_sync(sqe_get(r, 2 * i + 1), self->seg, 0);
	}
	ASSERT_EQ(64, run(r, 64, res));
	for (i = 0; i < 32; i++) {
		EXPECT_EQ(32, res[2 * i]);
		EXPECT_EQ(0, res[2 * i + 1]);
	}
	after = cs_store_get(cs_test_dev(), "checkpoints");
	TH_LOG("32 syncs took %lld checkpoints", after - before);
	EXPECT_LE(1, after - before);
	EXPECT_GT(32, after - before);
}

/*
 * Boot 1: writes through the ring and stores to the mapping, a sync
 * through the ring, then the power goes off as soon as it completed.
 */
TEST_F(ring, durable_write)
{
	static char wbuf[64][4096];
	struct io_uring *r = &self->ring;
	struct io_uring_sqe *sqe;
	int seg, res[128], i;
	char *map;

	capstore_node_clear(self->root, DURABLE_SLOT, 0);
	seg = capstore_node_create(self->root, DURABLE_SLOT,
				   CAPSTORE_KIND_SEGMENT, 128 * 4096, 0);
	ASSERT_LE(0, seg);
	ASSERT_EQ(0, capstore_segment_map(seg, 0, 128 * 4096,
					  PROT_READ | PROT_WRITE,
					  (void **)&map));
	for (i = 0; i < 64; i++) {
		memset(wbuf[i], 0, sizeof(wbuf[i]));
		snprintf(wbuf[i], sizeof(wbuf[i]), "durable ring %d %016llx", i,
			 (unsigned long long)cs_mix(i));
		sqe = sqe_get(r, i);
		capstore_prep_write(sqe, seg, wbuf[i], sizeof(wbuf[i]),
				    (uint64_t)i * 2 * 4096);
		sqe->flags |= IOSQE_IO_LINK;
		snprintf(map + (i * 2 + 1) * 4096, 64, "durable map %d %016llx",
			 i, (unsigned long long)cs_mix(1000 + i));
	}
	capstore_prep_sync(sqe_get(r, 64), seg, 0);
	ASSERT_EQ(65, run(r, 65, res));
	for (i = 0; i < 64; i++)
		ASSERT_EQ(4096, res[i]);
	ASSERT_EQ(0, res[64]);
	/* more after the sync: may or may not survive, must not corrupt */
	for (i = 0; i < 64; i++)
		map[(i * 2 + 1) * 4096 + 2000] = 'x';
	cs_crash_point();
	sleep(60);
}

TEST_F(ring, durable_verify)
{
	char want[64], buf[4096];
	int seg, i;

	seg = capstore_node_fetch(self->root, DURABLE_SLOT, 0);
	ASSERT_LE(0, seg);
	for (i = 0; i < 64; i++) {
		ASSERT_EQ(4096, capstore_segment_pread(seg, buf, 4096,
						       (uint64_t)i * 2 * 4096));
		snprintf(want, sizeof(want), "durable ring %d %016llx", i,
			 (unsigned long long)cs_mix(i));
		EXPECT_EQ(0, strcmp(buf, want)) TH_LOG("page %d: '%.40s'",
						      i * 2, buf);
		ASSERT_EQ(4096, capstore_segment_pread(seg, buf, 4096,
						       (uint64_t)(i * 2 + 1) *
						       4096));
		snprintf(want, sizeof(want), "durable map %d %016llx", i,
			 (unsigned long long)cs_mix(1000 + i));
		EXPECT_EQ(0, strcmp(buf, want)) TH_LOG("page %d: '%.40s'",
						      i * 2 + 1, buf);
		EXPECT_TRUE(buf[2000] == 'x' || buf[2000] == 0);
	}
	close(seg);
	EXPECT_EQ(0, capstore_node_clear(self->root, DURABLE_SLOT, 0));
}

CS_HARNESS_MAIN
