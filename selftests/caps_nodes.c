// SPDX-License-Identifier: GPL-2.0
/*
 * caps_nodes - node slots under attack and under destruction.
 *
 *   store_refused     storing without GRANT, without WRITE, through a weak
 *                     capability, into an out-of-range slot, a non-
 *                     capability, a dead capability or another store's
 *                     capability fails with the documented errno, and no
 *                     slot of the node changes
 *   destroy_holder    destroying a node that holds capabilities: what it
 *                     held is untouched, still reachable through other
 *                     paths, and capabilities fetched from it before still
 *                     work; the node's own capabilities answer
 *                     EKEYREVOKED on every call, and so does every slot
 *                     that held it
 *   cycles            A -> B -> A (and A -> A): destroy A, B's slot to A
 *                     is dead, nothing hangs; revoke B, its old slots die;
 *                     a ring of nodes torn down one by one; nothing leaks
 *   space             a destroyed object's blocks are free once the next
 *                     checkpoint commits, not before
 *   root              the root node cannot be destroyed; revoking it kills
 *                     old root capabilities, the control device hands out
 *                     the new generation, before and after a reattach
 *
 * Leaks are measured through sysfs: open_caps, objects, dirty_bytes and
 * free_blocks return to their value before the test, after a checkpoint.
 * Needs a formatted store on $CS_TEST_DEV and, for the EXDEV case, a
 * second one on $CS_TEST_DEV2.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define R	CAPSTORE_RIGHT_READ
#define W	CAPSTORE_RIGHT_WRITE
#define M	CAPSTORE_RIGHT_MAP
#define G	CAPSTORE_RIGHT_GRANT
#define D	CAPSTORE_RIGHT_DESTROY
#define K	CAPSTORE_RIGHT_WEAK
#define ALL	CAPSTORE_RIGHTS_ALL

#define WORK_SLOT	26

static long long store_get(const char *attr)
{
	return cs_store_get(cs_test_dev(), attr);
}

/* What a slot holds: oid << 16 | rights, or -errno. */
static long slot_state(int node, unsigned int slot)
{
	struct capstore_cap_info info;
	int fd = capstore_node_fetch(node, slot, CAPSTORE_FD_CLOEXEC), ret;

	if (fd < 0)
		return fd;
	ret = capstore_cap_info(fd, &info);
	close(fd);
	return ret < 0 ? ret : (long)(info.out_oid << 16 | info.out_rights);
}

static void snapshot(int node, long *out)
{
	unsigned int i;

	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++)
		out[i] = slot_state(node, i);
}

static uint64_t oid_of(int fd)
{
	struct capstore_cap_info info;

	return capstore_cap_info(fd, &info) ? 0 : info.out_oid;
}

/* Every call on a dead node capability answers EKEYREVOKED. */
static void check_dead_node(struct __test_metadata *_metadata, int fd,
			    int some_cap, const char *what)
{
	struct capstore_cap_info info;

	EXPECT_EQ(-EKEYREVOKED, capstore_cap_info(fd, &info)) TH_LOG("%s: info", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(fd, 0, 0)) TH_LOG("%s: fetch", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_node_store(fd, 5, some_cap, 0)) TH_LOG("%s: store", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_node_clear(fd, 0, 0)) TH_LOG("%s: clear", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_node_create(fd, 9, CAPSTORE_KIND_NODE, 0, 0)) TH_LOG("%s: create", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_restrict(fd, R, 0)) TH_LOG("%s: restrict", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_checkpoint(fd, 0, NULL)) TH_LOG("%s: checkpoint", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_destroy(fd, 0)) TH_LOG("%s: destroy", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_revoke(fd, 0)) TH_LOG("%s: revoke", what);
	EXPECT_EQ(-1, fsync(fd)) TH_LOG("%s: fsync", what);
	EXPECT_EQ(EKEYREVOKED, errno) TH_LOG("%s: fsync", what);
}

FIXTURE(nodes) {
	uint32_t id;
	int root;
	int work;
	long long open0, objects0, free0;
};

FIXTURE_SETUP(nodes)
{
	self->root = self->work = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
	capstore_node_clear(self->root, WORK_SLOT, 0);
	self->work = capstore_node_create(self->root, WORK_SLOT,
					  CAPSTORE_KIND_NODE, 0,
					  CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->work);
	/* Give the work node its block now: it is not a leak later. */
	ASSERT_EQ(0, capstore_node_clear(self->work, 0, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	self->open0 = store_get("open_caps");
	self->objects0 = store_get("objects");
	self->free0 = store_get("free_blocks");
}

FIXTURE_TEARDOWN(nodes)
{
	if (self->work >= 0) {
		EXPECT_EQ(0, capstore_cap_destroy(self->work, 0));
		close(self->work);
	}
	if (self->root >= 0) {
		capstore_node_clear(self->root, WORK_SLOT, 0);
		close(self->root);
	}
	EXPECT_EQ(0, store_get("open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

/* Back to where the test started: references, objects, space. */
static void check_no_leak(struct __test_metadata *_metadata,
			  FIXTURE_DATA(nodes) *self)
{
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(self->open0, store_get("open_caps"));
	EXPECT_EQ(self->objects0, store_get("objects"));
	EXPECT_EQ(0, store_get("dirty_bytes"));
	EXPECT_EQ(self->free0, store_get("free_blocks"));
}

TEST_F(nodes, store_refused)
{
	long before[CAPSTORE_NODE_SLOTS], after[CAPSTORE_NODE_SLOTS];
	int n, seg, nogrant, nowrite, weak, dead, pfd[2], i, other, oroot;
	const char *dev2 = getenv("CS_TEST_DEV2");
	uint32_t id2;

	n = capstore_node_create(self->work, 0, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, n);
	seg = capstore_node_create(n, 3, CAPSTORE_KIND_SEGMENT, 4096,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	for (i = 4; i < 8; i++) {
		int r = capstore_cap_restrict(seg, R, CAPSTORE_FD_CLOEXEC);

		ASSERT_LE(0, r);
		ASSERT_EQ(0, capstore_node_store(n, i, r, 0));
		close(r);
	}
	dead = capstore_node_create(n, 8, CAPSTORE_KIND_SEGMENT, 4096,
				    CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, dead);
	ASSERT_EQ(0, capstore_cap_destroy(dead, 0));
	snapshot(n, before);

	nogrant = capstore_cap_restrict(n, R | W | M | D, CAPSTORE_FD_CLOEXEC);
	nowrite = capstore_cap_restrict(n, R | G | M | D, CAPSTORE_FD_CLOEXEC);
	weak = capstore_cap_restrict(n, ALL | K, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, nogrant);
	ASSERT_LE(0, nowrite);
	ASSERT_LE(0, weak);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));

	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		/* Into occupied and empty slots alike. */
		EXPECT_EQ(-EPERM, capstore_node_store(nogrant, i, seg, 0))
			TH_LOG("without GRANT, slot %d", i);
		EXPECT_EQ(-EPERM, capstore_node_store(nowrite, i, seg, 0))
			TH_LOG("without WRITE, slot %d", i);
		EXPECT_EQ(-EPERM, capstore_node_store(weak, i, seg, 0))
			TH_LOG("through a weak capability, slot %d", i);
		EXPECT_EQ(-EPERM, capstore_node_clear(nogrant, i, 0));
		EXPECT_EQ(-EPERM, capstore_node_clear(nowrite, i, 0));
		EXPECT_EQ(-EPERM, capstore_node_clear(weak, i, 0));
		EXPECT_EQ(-EPERM, capstore_node_create(nogrant, i,
						       CAPSTORE_KIND_NODE, 0, 0));
		EXPECT_EQ(-EPERM, capstore_node_create(weak, i,
						       CAPSTORE_KIND_NODE, 0, 0));
		EXPECT_EQ(-EBADF, capstore_node_store(n, i, pfd[0], 0))
			TH_LOG("a pipe, slot %d", i);
		EXPECT_EQ(-EBADF, capstore_node_store(n, i, 1000, 0))
			TH_LOG("a closed fd, slot %d", i);
		EXPECT_EQ(-EKEYREVOKED, capstore_node_store(n, i, dead, 0))
			TH_LOG("a dead capability, slot %d", i);
	}
	/* Out of range, through a capability that could store. */
	{
		static const unsigned int bad[] = {
			CAPSTORE_NODE_SLOTS, CAPSTORE_NODE_SLOTS + 1, 255, 256,
			1u << 16, 1u << 31, ~0u, ~0u - 31,
		};

		for (i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++) {
			EXPECT_EQ(-EINVAL, capstore_node_store(n, bad[i], seg, 0))
				TH_LOG("slot %u", bad[i]);
			EXPECT_EQ(-EINVAL, capstore_node_clear(n, bad[i], 0));
			EXPECT_EQ(-EINVAL, capstore_node_fetch(n, bad[i], 0));
			EXPECT_EQ(-EINVAL, capstore_node_create(n, bad[i],
								CAPSTORE_KIND_NODE,
								0, 0));
			/* Range is checked before rights. */
			EXPECT_EQ(-EINVAL, capstore_node_store(weak, bad[i], seg, 0));
		}
	}
	/* Another store's capability. */
	if (dev2 && *dev2) {
		ASSERT_EQ(0, cs_attach_path(dev2, &id2));
		oroot = cs_root(id2);
		ASSERT_LE(0, oroot);
		capstore_node_clear(oroot, 0, 0);
		other = capstore_node_create(oroot, 0, CAPSTORE_KIND_SEGMENT,
					     4096, CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, other);
		for (i = 0; i < CAPSTORE_NODE_SLOTS; i++)
			EXPECT_EQ(-EXDEV, capstore_node_store(n, i, other, 0));
		EXPECT_EQ(-EXDEV, capstore_node_store(n, 0, oroot, 0));
		EXPECT_EQ(-EXDEV, capstore_node_store(oroot, 1, seg, 0));
		EXPECT_EQ(-ENOENT, capstore_node_fetch(oroot, 1, 0));
		EXPECT_EQ(0, capstore_cap_destroy(other, 0));
		close(other);
		EXPECT_EQ(0, capstore_node_clear(oroot, 0, 0));
		close(oroot);
		EXPECT_EQ(0, cs_detach(id2));
	} else {
		ksft_print_msg("no CS_TEST_DEV2: EXDEV not tried\n");
	}

	snapshot(n, after);
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++)
		EXPECT_EQ(before[i], after[i]) TH_LOG("slot %d changed", i);
	EXPECT_EQ(-EKEYREVOKED, after[8]);
	EXPECT_EQ(-ENOENT, after[0]);

	close(pfd[0]);
	close(pfd[1]);
	close(nogrant);
	close(nowrite);
	close(weak);
	close(dead);
	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	EXPECT_EQ(0, capstore_cap_destroy(n, 0));
	close(seg);
	close(n);
	EXPECT_EQ(0, capstore_node_clear(self->work, 0, 0));
	check_no_leak(_metadata, self);
}

TEST_F(nodes, destroy_holder)
{
	int n, s, m, t, early_s, early_m, again, ro;
	char buf[8] = "";
	uint64_t s_oid;

	n = capstore_node_create(self->work, 0, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, n);
	s = capstore_node_create(n, 0, CAPSTORE_KIND_SEGMENT, 8192,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, s);
	s_oid = oid_of(s);
	ASSERT_EQ(6, capstore_segment_pwrite(s, "before", 6, 0));
	m = capstore_node_create(n, 1, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, m);
	t = capstore_node_create(m, 0, CAPSTORE_KIND_SEGMENT, 4096,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, t);
	ASSERT_EQ(0, capstore_node_store(n, 2, n, 0));		/* itself */
	ro = capstore_cap_restrict(s, R | M, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, capstore_node_store(self->work, 1, ro, 0));	/* another path */
	ASSERT_EQ(0, capstore_node_store(self->work, 2, n, 0));	/* a copy of n */
	close(ro);
	/* Fetched before the destroy. */
	early_s = capstore_node_fetch(n, 0, CAPSTORE_FD_CLOEXEC);
	early_m = capstore_node_fetch(n, 1, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, early_s);
	ASSERT_LE(0, early_m);
	close(s);
	close(m);

	ASSERT_EQ(0, capstore_cap_destroy(n, 0));
	/* A dead capability still open keeps the store busy. */
	EXPECT_EQ(-EBUSY, cs_detach(self->id));

	/* The node is dead, every capability to it, open or stored. */
	check_dead_node(_metadata, n, early_s, "destroyed node");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 0, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 2, 0));
	/* What it held is untouched and still works. */
	EXPECT_EQ(6, capstore_segment_pread(early_s, buf, 6, 0));
	EXPECT_EQ(0, memcmp(buf, "before", 6));
	EXPECT_EQ(5, capstore_segment_pwrite(early_s, "after", 5, 0));
	again = capstore_node_fetch(early_m, 0, CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, again);
	if (again >= 0) {
		EXPECT_EQ(oid_of(t), oid_of(again));
		close(again);
	}
	EXPECT_EQ(0, capstore_node_store(early_m, 1, early_s, 0));
	again = capstore_node_fetch(self->work, 1, CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, again);
	if (again >= 0) {
		EXPECT_EQ(s_oid, oid_of(again));
		EXPECT_EQ(5, capstore_segment_pread(again, buf, 5, 0));
		EXPECT_EQ(0, memcmp(buf, "after", 5));
		close(again);
	}
	/* ... across a checkpoint too. */
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 0, 0));
	EXPECT_EQ(5, capstore_segment_pread(early_s, buf, 5, 0));

	EXPECT_EQ(0, capstore_cap_destroy(t, 0));
	EXPECT_EQ(0, capstore_cap_destroy(early_m, 0));
	EXPECT_EQ(0, capstore_cap_destroy(early_s, 0));
	close(t);
	close(early_m);
	close(early_s);
	close(n);
	for (int i = 0; i < 3; i++)
		EXPECT_EQ(0, capstore_node_clear(self->work, i, 0));
	check_no_leak(_metadata, self);
}

#define RING 8

TEST_F(nodes, cycles)
{
	int a, b, bw, b2, ring[RING], i, fd;

	a = capstore_node_create(self->work, 0, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	b = capstore_node_create(self->work, 1, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_EQ(0, capstore_node_store(a, 0, b, 0));
	ASSERT_EQ(0, capstore_node_store(b, 0, a, 0));
	ASSERT_EQ(0, capstore_node_store(a, 1, a, 0));
	bw = capstore_cap_restrict(b, R | G | K, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, bw);
	ASSERT_EQ(0, capstore_node_store(b, 1, bw, 0));
	/* Walk the cycle a few times around. */
	fd = dup(a);
	for (i = 0; i < 20; i++) {
		int next = capstore_node_fetch(fd, 0, CAPSTORE_FD_CLOEXEC);

		ASSERT_LE(0, next);
		close(fd);
		fd = next;
	}
	close(fd);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));

	ASSERT_EQ(0, capstore_cap_destroy(a, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b, 0, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 0, 0));
	check_dead_node(_metadata, a, b, "destroyed A");
	fd = capstore_node_fetch(b, 1, CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, fd);	/* B's weak copy of itself still works */
	if (fd >= 0)
		close(fd);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b, 0, 0));

	/* Revoke B: what it stored of itself dies with the old generation. */
	b2 = capstore_cap_revoke(b, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, b2);
	check_dead_node(_metadata, b, b2, "revoked B");
	check_dead_node(_metadata, bw, b2, "weak copy of revoked B");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b2, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b2, 0, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 1, 0));
	EXPECT_EQ(0, capstore_node_store(b2, 2, b2, 0));
	fd = capstore_node_fetch(b2, 2, CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);
	EXPECT_EQ(0, capstore_cap_destroy(b2, 0));
	close(a);
	close(b);
	close(bw);
	close(b2);

	/* A ring: each node holds the next; tear it down one by one. */
	for (i = 0; i < RING; i++) {
		ring[i] = capstore_node_create(self->work, 2 + i,
					       CAPSTORE_KIND_NODE, 0,
					       CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, ring[i]);
	}
	for (i = 0; i < RING; i++)
		ASSERT_EQ(0, capstore_node_store(ring[i], 0,
						 ring[(i + 1) % RING], 0));
	ASSERT_EQ(0, capstore_cap_destroy(ring[0], 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(ring[RING - 1], 0, 0));
	fd = capstore_node_fetch(ring[1], 0, CAPSTORE_FD_CLOEXEC);
	EXPECT_EQ(oid_of(ring[2]), oid_of(fd));
	if (fd >= 0)
		close(fd);
	for (i = 1; i < RING; i++) {
		ASSERT_EQ(0, capstore_cap_destroy(ring[i], 0));
		if (i < RING - 1)
			EXPECT_EQ(-EKEYREVOKED,
				  capstore_node_fetch(ring[RING - 1], 0, 0));
	}
	for (i = 0; i < RING; i++) {
		EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 2 + i, 0));
		close(ring[i]);
	}
	for (i = 0; i < 2 + RING; i++)
		EXPECT_EQ(0, capstore_node_clear(self->work, i, 0));
	check_no_leak(_metadata, self);
}

/* Space comes back with the checkpoint after the destroy. */
TEST_F(nodes, space)
{
	static char page[4096];
	long long free1, free2;
	int seg, i;

	seg = capstore_node_create(self->work, 0, CAPSTORE_KIND_SEGMENT,
				   256 * 4096, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	memset(page, 0xa5, sizeof(page));
	for (i = 0; i < 256; i++)
		ASSERT_EQ(4096, capstore_segment_pwrite(seg, page, 4096,
							 i * 4096));
	ASSERT_EQ(0, capstore_cap_checkpoint(seg, 0, NULL));
	free1 = store_get("free_blocks");
	EXPECT_GE(self->free0 - 256, free1);
	ASSERT_EQ(0, capstore_cap_destroy(seg, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_checkpoint(seg, 0, NULL));
	free2 = store_get("free_blocks");
	EXPECT_EQ(free1, free2) TH_LOG("space freed before the checkpoint");
	EXPECT_EQ(self->objects0, store_get("objects"));
	close(seg);
	EXPECT_EQ(0, capstore_node_clear(self->work, 0, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(self->free0, store_get("free_blocks"))
		TH_LOG("space not freed by the checkpoint after the destroy");
	check_no_leak(_metadata, self);
}

TEST_F(nodes, root)
{
	int root2, fresh, ro, fd;
	char buf[4];

	/* Never destroyed, whatever the capability. */
	EXPECT_EQ(-EPERM, capstore_cap_destroy(self->root, 0));
	ro = capstore_cap_restrict(self->root, R | G, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, capstore_cap_destroy(ro, 0));
	EXPECT_EQ(-EPERM, capstore_cap_revoke(ro, 0));
	close(ro);
	EXPECT_EQ(0, capstore_node_store(self->work, 0, self->root, 0));
	fd = capstore_node_create(self->root, 27, CAPSTORE_KIND_SEGMENT,
				  4096, CAPSTORE_FD_CLOEXEC);
	if (fd == -EEXIST) {
		capstore_node_clear(self->root, 27, 0);
		fd = capstore_node_create(self->root, 27,
					  CAPSTORE_KIND_SEGMENT, 4096,
					  CAPSTORE_FD_CLOEXEC);
	}
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, capstore_segment_pwrite(fd, "abc", 3, 0));

	/* Revoked: old root capabilities die, the slots stay. */
	fresh = capstore_cap_revoke(self->root, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, fresh);
	check_dead_node(_metadata, self->root, fresh, "revoked root");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 0, 0));
	EXPECT_EQ(oid_of(self->work), (uint64_t)slot_state(fresh, WORK_SLOT) >> 16);
	root2 = cs_root(self->id);
	ASSERT_LE(0, root2);
	EXPECT_EQ(1ull, oid_of(root2));
	EXPECT_EQ((long)oid_of(fd) << 16 | ALL, slot_state(root2, 27));
	close(self->root);
	self->root = root2;
	EXPECT_EQ(0, capstore_node_clear(self->work, 0, 0));

	/* ... and the new generation is what the next attach finds. */
	close(fresh);
	close(fd);
	close(self->work);
	self->work = -EBADF;
	close(self->root);
	self->root = -EBADF;
	ASSERT_EQ(0, cs_detach(self->id));
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	fd = capstore_node_fetch(self->root, 27, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(3, capstore_segment_pread(fd, buf, 3, 0));
	EXPECT_EQ(0, memcmp(buf, "abc", 3));
	EXPECT_EQ(0, capstore_cap_destroy(fd, 0));
	close(fd);
	EXPECT_EQ(0, capstore_node_clear(self->root, 27, 0));
	self->work = capstore_node_fetch(self->root, WORK_SLOT,
					 CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, self->work);
}

CS_HARNESS_MAIN
