// SPDX-License-Identifier: GPL-2.0
/*
 * commit_races - a committed checkpoint is never lost, whatever runs
 * while it commits (Documentation/checkpoints.rst, "Races with
 * checkpoints").
 *
 * The store is on $CS_TEST_DEV (commit_races.sh: 128 MiB).
 *
 *   revoke_vs_commit
 *        Rounds for CR_SECONDS (default 15; at most CR_ROUNDS, 1024).
 *        Each round makes a node of CR_OBJS one-page segments (default
 *        4) and writes each with its own pattern (even ones with pwrite,
 *        odd ones through a mapping); then CR_THREADS threads (default 4)
 *        revoke them, each its share round-robin, over and over, while
 *        the test runs two explicit checkpoints and the interval runs
 *        them every 10 ms; the fresh capabilities go back into the
 *        node's slots. A round's segments are never written again, so a
 *        record whose data root a revoke put back to the one before the
 *        checkpoint stays wrong to the end. Then: no checkpoint failed,
 *        the store is not shut down; detach, attach, and every page of
 *        every segment reads back exactly (fsck on the host after).
 *
 *   double_free_commits_nothing
 *        On a store the test formats on $CS_TEST_DEV: a one-page segment
 *        is written and committed; detached, the image is changed so that
 *        the space map says its data block is free (leaf and header
 *        resealed). Attached again, the segment is destroyed and a
 *        checkpoint asked for: freeing the block a second time shuts the
 *        store down, and that checkpoint must fail with EIO and commit
 *        nothing (seq unchanged); after detach and attach the store is at
 *        the same seq and the segment is still there.
 *
 *   create_destroy_full
 *        On a 16 MiB store the test formats on $CS_TEST_DEV, with
 *        scheduled checkpoints off: a segment fills the store with pwrite
 *        until ENOSPC, a checkpoint commits it, a 16-page segment
 *        destroyed and a checkpoint give a little room back. Then
 *        CR_CYCLES (8000) times, with no checkpoint in between: create a
 *        one-page segment into a root slot, destroy it, clear the slot
 *        (creates may fail with ENOSPC, nothing else may). Every id is
 *        new, so the object table grows by a leaf per 64 creates. The
 *        checkpoint after must commit, the store must not be shut down;
 *        once the filling segment is destroyed and committed, creates
 *        succeed again; detach and attach, fsck on the host.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stddef.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

/* The tools' CRC and verifiers: to reseal what a test changes. */
#include "../common/crc32c.c"
#include "../common/verify.c"

#define PAGE		4096
#define WPP		(PAGE / 8)
#define MAX_OBJS	CAPSTORE_NODE_SLOTS

static long long get(const char *attr)
{
	return cs_store_get(cs_test_dev(), attr);
}

static unsigned long env_ul(const char *name, unsigned long def,
			    unsigned long max)
{
	const char *v = getenv(name);
	unsigned long n = v && *v ? strtoul(v, NULL, 0) : def;

	return n && n <= max ? n : def;
}

static void fill(uint64_t *p, unsigned int round, unsigned int obj)
{
	unsigned int w;

	for (w = 0; w < WPP; w++)
		p[w] = cs_mix((uint64_t)round << 40 ^ (uint64_t)obj << 32 ^ w);
}

FIXTURE(cr) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(cr)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
}

FIXTURE_TEARDOWN(cr)
{
	if (self->root >= 0)
		close(self->root);
	EXPECT_EQ(0, cs_detach(self->id));
}

/* --- revoke vs commit --------------------------------------------------- */

#define MAX_THREADS	4

struct revoker {
	int *fds;		/* objects first, first + step, ... */
	unsigned int first;
	unsigned int step;
	unsigned int nobjs;
	atomic_int *stop;
	unsigned long revokes;
	int err;
};

static void *revoke_loop(void *p)
{
	struct revoker *r = p;
	unsigned int i;

	while (!atomic_load(r->stop)) {
		for (i = r->first; i < r->nobjs; i += r->step) {
			int fresh = capstore_cap_revoke(r->fds[i],
							CAPSTORE_FD_CLOEXEC);

			if (fresh < 0) {
				r->err = fresh;
				return NULL;
			}
			close(r->fds[i]);
			r->fds[i] = fresh;
			r->revokes++;
		}
	}
	return NULL;
}

/* The node of round @round: slot round % 32 of the node in root slot round / 32. */
static int round_node(struct __test_metadata *_metadata, int root,
		      unsigned int round, int create)
{
	int top, node;

	if (create && round % MAX_OBJS == 0) {
		top = capstore_node_create(root, round / MAX_OBJS,
					   CAPSTORE_KIND_NODE, 0,
					   CAPSTORE_FD_CLOEXEC);
		EXPECT_LE(0, top);
	} else {
		top = capstore_node_fetch(root, round / MAX_OBJS,
					  CAPSTORE_FD_CLOEXEC);
		EXPECT_LE(0, top) TH_LOG("round %u: top node: %s", round,
					 strerror(-top));
	}
	if (top < 0)
		return top;
	if (create)
		node = capstore_node_create(top, round % MAX_OBJS,
					    CAPSTORE_KIND_NODE, 0,
					    CAPSTORE_FD_CLOEXEC);
	else
		node = capstore_node_fetch(top, round % MAX_OBJS,
					   CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, node) TH_LOG("round %u: node: %s", round,
				  strerror(-node));
	close(top);
	return node;
}

TEST_F_TIMEOUT(cr, revoke_vs_commit, 600)
{
	unsigned int max_rounds = env_ul("CR_ROUNDS", 32 * MAX_OBJS,
					 32 * MAX_OBJS);
	time_t end = time(NULL) + env_ul("CR_SECONDS", 15, 86400);
	unsigned int nobjs = env_ul("CR_OBJS", 4, MAX_OBJS);
	unsigned int nthr = env_ul("CR_THREADS", 4, MAX_THREADS);
	static uint64_t buf[WPP], want[WPP];
	unsigned long revokes = 0, cps = 0, bad = 0;
	unsigned int rounds, round, i;

	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "10"));
	for (round = 0; round < max_rounds && time(NULL) < end; round++) {
		struct revoker r[MAX_THREADS];
		pthread_t t[MAX_THREADS];
		atomic_int stop = 0;
		int fds[MAX_OBJS];
		unsigned int j;
		int node, k;

		node = round_node(_metadata, self->root, round, 1);
		ASSERT_LE(0, node);
		for (i = 0; i < nobjs; i++) {
			fds[i] = capstore_node_create(node, i,
							CAPSTORE_KIND_SEGMENT,
							PAGE,
							CAPSTORE_FD_CLOEXEC);
			ASSERT_LE(0, fds[i]);
		}
		for (i = 0; i < nobjs; i++) {
			fill(buf, round, i);
			if (i % 2 == 0) {
				ASSERT_EQ(PAGE, capstore_segment_pwrite(fds[i],
									buf,
									PAGE,
									0));
			} else {
				void *map;

				ASSERT_EQ(0, capstore_segment_map(fds[i], 0,
								  PAGE,
								  PROT_READ |
								  PROT_WRITE,
								  &map));
				memcpy(map, buf, PAGE);
				capstore_segment_unmap(map, PAGE);
			}
		}
		for (j = 0; j < nthr; j++) {
			r[j] = (struct revoker){ .fds = fds, .first = j,
						 .step = nthr, .nobjs = nobjs,
						 .stop = &stop };
			ASSERT_EQ(0, pthread_create(&t[j], NULL, revoke_loop,
						    &r[j]));
		}
		for (k = 0; k < 2; k++) {
			EXPECT_EQ(0, capstore_cap_checkpoint(self->root, 0,
							     NULL));
			cps++;
		}
		atomic_store(&stop, 1);
		for (j = 0; j < nthr; j++) {
			pthread_join(t[j], NULL);
			EXPECT_EQ(0, r[j].err) TH_LOG("round %u: revoke: %s",
						      round,
						      strerror(-r[j].err));
			revokes += r[j].revokes;
		}
		for (i = 0; i < nobjs; i++) {
			EXPECT_EQ(0, capstore_node_store(node, i, fds[i], 0));
			close(fds[i]);
		}
		close(node);
		if (!_metadata->passed)
			break;
	}
	rounds = round;
	TH_LOG("%u rounds, %lu revokes, %lu explicit checkpoints, %lld in all",
	       round, revokes, cps, get("checkpoints"));
	EXPECT_EQ(0, get("failed_checkpoints"));
	EXPECT_EQ(0, get("shutdown"));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(0, get("shutdown"));

	ASSERT_EQ(0, cs_reattach(&self->id, &self->root));
	for (round = 0; round < rounds; round++) {
		int node = round_node(_metadata, self->root, round, 0);

		ASSERT_LE(0, node);
		for (i = 0; i < nobjs; i++) {
			int fd = capstore_node_fetch(node, i,
						     CAPSTORE_FD_CLOEXEC);
			ssize_t n;

			EXPECT_LE(0, fd) TH_LOG("round %u obj %u: fetch: %s",
						round, i, strerror(-fd));
			if (fd < 0) {
				bad++;
				continue;
			}
			fill(want, round, i);
			n = capstore_segment_pread(fd, buf, PAGE, 0);
			if (n != PAGE || memcmp(buf, want, PAGE)) {
				if (bad < 8)
					TH_LOG("round %u obj %u: %s", round, i,
					       n != PAGE ? strerror((int)-n) :
					       "not what was written");
				bad++;
			}
			close(fd);
		}
		close(node);
	}
	EXPECT_EQ(0ul, bad) TH_LOG("%lu of %u pages lost", bad,
				   rounds * nobjs);
	EXPECT_EQ(0, get("shutdown"));
}

/* --- a shut-down store commits nothing --------------------------------- */

#define BS CAPSTORE_BLOCK_SIZE

static void *blk_alloc(void)
{
	void *p = NULL;

	return posix_memalign(&p, BS, BS) ? NULL : p;
}

static int blk_io(int wr, uint64_t blkno, void *buf)
{
	int fd = open(cs_test_dev(), (wr ? O_WRONLY : O_RDONLY) | O_DIRECT);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = wr ? pwrite(fd, buf, BS, blkno * BS) :
		 pread(fd, buf, BS, blkno * BS);
	if (wr && n == BS && fsync(fd))
		n = -1;
	close(fd);
	return n == BS ? 0 : -EIO;
}

static int header_ok(const struct capstore_dhdr *h)
{
	return le64toh(h->magic) == CAPSTORE_HDR_MAGIC &&
	       le32toh(h->crc) == capstore_crc_block_excl(h,
					offsetof(struct capstore_dhdr, crc));
}

TEST(double_free_commits_nothing)
{
	struct capstore_dsb *sb = blk_alloc();
	struct capstore_dhdr *h = blk_alloc(), *best = blk_alloc();
	void *leaf = blk_alloc();
	struct capstore_dobj *rec = leaf;
	uint64_t *page = blk_alloc(), hblk = 0, b = 0, seq;
	uint32_t id;
	unsigned int slot, i;
	uint8_t *bits;
	int root, seg;

	ASSERT_TRUE(sb && h && best && leaf && page);
	cs_detach_stale();
	ASSERT_EQ(0, system("capstore format --force $CS_TEST_DEV >/dev/null"));

	/* A committed one-page segment in root slot 0. */
	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_create(root, 0, CAPSTORE_KIND_SEGMENT, BS,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	fill(page, 7, 7);
	ASSERT_EQ(BS, capstore_segment_pwrite(seg, page, BS, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));
	close(seg);
	close(root);
	ASSERT_EQ(0, cs_detach(id));

	/* The newest header, the segment's block, and the space map. */
	ASSERT_EQ(0, blk_io(0, 0, sb));
	memset(best, 0, BS);
	for (slot = 0; slot < le32toh(sb->header_slots); slot++) {
		uint64_t blkno = le64toh(sb->header_start) + slot;

		ASSERT_EQ(0, blk_io(0, blkno, h));
		if (header_ok(h) && le64toh(h->seq) > le64toh(best->seq)) {
			memcpy(best, h, BS);
			hblk = blkno;
		}
	}
	ASSERT_NE((uint64_t)0, hblk);
	ASSERT_EQ(0, best->otable.height);
	ASSERT_EQ(0, best->spacemap.height);
	ASSERT_EQ(0, blk_io(0, le64toh(best->otable.root.blkno), leaf));
	for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++)
		if (le32toh(rec[i].kind) == CAPSTORE_DOBJ_SEGMENT)
			break;
	ASSERT_GT((unsigned int)CAPSTORE_OBJS_PER_BLOCK, i);
	ASSERT_EQ(0, rec[i].data.height);
	b = le64toh(rec[i].data.root.blkno);
	ASSERT_NE((uint64_t)0, b);
	ASSERT_EQ(0, blk_io(0, le64toh(best->spacemap.root.blkno), leaf));
	bits = leaf;
	ASSERT_TRUE((bits[b / 8] >> (b % 8)) & 1);
	bits[b / 8] &= ~(1u << (b % 8));
	ASSERT_EQ(0, blk_io(1, le64toh(best->spacemap.root.blkno), leaf));
	best->spacemap.root.crc = htole32(capstore_crc(leaf, BS));
	best->used_blocks = htole64(le64toh(best->used_blocks) - 1);
	best->crc = htole32(capstore_crc_block_excl(best,
			offsetof(struct capstore_dhdr, crc)));
	ASSERT_EQ(0, blk_io(1, hblk, best));
	TH_LOG("block %" PRIu64 " of the segment marked free at seq %" PRIu64,
	       b, (uint64_t)le64toh(best->seq));

	/* Destroy it: the checkpoint frees the block a second time. */
	ASSERT_EQ(0, cs_attach(&id));
	seq = get("seq");
	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_fetch(root, 0, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	ASSERT_EQ(0, capstore_cap_destroy(seg, 0));
	close(seg);
	EXPECT_EQ(-EIO, capstore_cap_checkpoint(root, 0, NULL));
	EXPECT_EQ(1, get("shutdown"));
	EXPECT_EQ(seq, (uint64_t)get("seq"))
		TH_LOG("a shut-down store committed a checkpoint");
	EXPECT_TRUE(cs_kmsg_contains("freeing a free block"));
	close(root);
	ASSERT_EQ(0, cs_detach(id));

	/* The recovery point is the checkpoint before: the segment is there. */
	ASSERT_EQ(0, cs_attach(&id));
	EXPECT_EQ(seq, (uint64_t)get("seq"));
	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_fetch(root, 0, CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, seg);
	if (seg >= 0) {
		uint64_t *want = blk_alloc();

		ASSERT_NE(NULL, want);
		fill(want, 7, 7);
		EXPECT_EQ(BS, capstore_segment_pread(seg, page, BS, 0));
		EXPECT_EQ(0, memcmp(page, want, BS));
		free(want);
		close(seg);
	}
	close(root);
	EXPECT_EQ(0, cs_detach(id));
	free(sb);
	free(h);
	free(best);
	free(leaf);
	free(page);
}

/* --- creates and destroys on a full store ------------------------------- */

TEST_F_TIMEOUT(cr, create_destroy_full, 300)
{
	unsigned long cycles = env_ul("CR_CYCLES", 8000, 1000000), i;
	unsigned long made = 0, nospc = 0;
	static uint64_t big[16 * WPP];
	uint64_t off = 0;
	int f, m, c, ret;
	ssize_t n;

	/* The fixture attached the store on the disk: format it afresh. */
	close(self->root);
	ASSERT_EQ(0, cs_detach(self->id));
	ASSERT_EQ(0, system("capstore format --force $CS_TEST_DEV >/dev/null"));
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));

	f = capstore_node_create(self->root, 1, CAPSTORE_KIND_SEGMENT,
				 16 * PAGE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, f);
	ASSERT_EQ(16 * PAGE, capstore_segment_pwrite(f, big, 16 * PAGE, 0));
	m = capstore_node_create(self->root, 2, CAPSTORE_KIND_SEGMENT,
				 64ull << 20, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, m);
	for (;;) {
		n = capstore_segment_pwrite(m, big, sizeof(big), off);
		if (n <= 0)
			break;
		off += n;
	}
	EXPECT_EQ(-ENOSPC, n);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	ASSERT_EQ(0, capstore_cap_destroy(f, 0));
	close(f);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	TH_LOG("filled %" PRIu64 " pages; %lld blocks free", off / PAGE,
	       get("free_blocks"));

	for (i = 0; i < cycles; i++) {
		c = capstore_node_create(self->root, 3, CAPSTORE_KIND_SEGMENT,
					 PAGE, CAPSTORE_FD_CLOEXEC);
		if (c >= 0) {
			made++;
			EXPECT_EQ(0, capstore_cap_destroy(c, 0));
			close(c);
		} else if (c == -ENOSPC) {
			nospc++;
		} else {
			EXPECT_EQ(-ENOSPC, c) TH_LOG("create %lu", i);
			break;
		}
		ret = capstore_node_clear(self->root, 3, 0);
		if (ret && ret != -ENOSPC && ret != -ENOENT) {
			EXPECT_EQ(0, ret) TH_LOG("clear %lu", i);
			break;
		}
		if (i % 256 == 255 && get("shutdown")) {
			TH_LOG("shut down after %lu cycles", i);
			break;
		}
	}
	TH_LOG("%lu cycles: %lu made and destroyed, %lu ENOSPC", i, made,
	       nospc);
	EXPECT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(0, get("shutdown"));
	EXPECT_EQ(0, get("failed_checkpoints"));
	/* Ids are never reused: room for creates comes from data. */
	EXPECT_EQ(0, capstore_cap_destroy(m, 0));
	close(m);
	EXPECT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	c = capstore_node_create(self->root, 3, CAPSTORE_KIND_SEGMENT, PAGE,
				 CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, c);
	if (c >= 0)
		close(c);
	EXPECT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(0, get("shutdown"));
	ASSERT_EQ(0, cs_reattach(&self->id, &self->root));
}

CS_HARNESS_MAIN
