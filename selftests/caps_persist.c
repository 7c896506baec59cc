// SPDX-License-Identifier: GPL-2.0
/*
 * caps_persist - stored capabilities survive checkpoints, hard power-offs
 * and reboots exactly: rights, the weak attribute, nesting, cycles, dead
 * slots, and revocations.
 *
 * Root slot 25 holds node P:
 *
 *   P[0]  A, a segment, every right        P[1]  A, READ|MAP
 *   P[2]  A, READ|WRITE                     P[3]  A, READ|MAP|WEAK
 *   P[4]  B, a node, every right: B[0] C (a segment, every right),
 *         B[1] C READ, B[2] B itself READ|GRANT|WEAK
 *   P[5]  B, READ|GRANT|WEAK                P[6]  B, READ|WRITE|GRANT
 *   P[7]  P itself, READ|GRANT
 *   P[8]  Z, destroyed                      P[9]  Z, READ (stored before)
 *   P[10] E, revoked (created before)      P[11] E, READ|MAP (stored before)
 *   P[12] E after the revoke, every right
 *   P[13] N, a node holding F, destroyed    P[14] F, READ (another path)
 *   P[15] X, destroyed; P[16] Y; X[0] = Y and Y[0] = X (a cycle)
 *   P[18] C after a revoke in the second boot
 *
 * Phases, one per boot (cs_harness.h -t):
 *
 *   build_then_crash     build it, checkpoint, make changes that are not
 *                        checkpointed (a store into P[17], a clear of
 *                        P[1], a write to A), print the crash marker and
 *                        wait for the power cut
 *   verify_committed     everything as committed, fetched and used: rights
 *                        and weakness exactly, dead slots EKEYREVOKED, the
 *                        uncommitted changes gone
 *   revoke_then_crash    (same boot) revoke C, store the fresh capability
 *                        in P[18], checkpoint, crash again
 *   verify_after_revoke  the same, with B[0] and B[1] dead and P[18] live
 *
 * The scenario then lists P with "capstore ls" in the guest (dead slots
 * show as "dead") and runs fsck on the host (clean; dead slots counted).
 * Needs a formatted store on $CS_TEST_DEV.
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

#define P_SLOT	25
#define A_SIZE	8192

static const char alpha[] = "alpha: a segment with several capabilities";
static const char gamma_[] = "gamma: a segment inside a nested node";
static const char epsilon[] = "epsilon: revoked, data kept";
static const char phi[] = "phi: held by a destroyed node";

static void fill_a(uint8_t *buf)
{
	size_t i;

	for (i = 0; i < A_SIZE; i++)
		buf[i] = (uint8_t)cs_mix(i);
	memcpy(buf, alpha, sizeof(alpha));
}

static int must(struct __test_metadata *_metadata, int fd, const char *what)
{
	EXPECT_LE(0, fd) TH_LOG("%s: %d", what, fd);
	return fd;
}

static int create(struct __test_metadata *_metadata, int node,
		  unsigned int slot, unsigned int kind, uint64_t size)
{
	capstore_node_clear(node, slot, 0);
	return must(_metadata, capstore_node_create(node, slot, kind, size,
						    CAPSTORE_FD_CLOEXEC),
		    "create");
}

static void store_restricted(struct __test_metadata *_metadata, int node,
			     unsigned int slot, int fd, unsigned int rights)
{
	int r = capstore_cap_restrict(fd, rights, CAPSTORE_FD_CLOEXEC);

	ASSERT_LE(0, r);
	ASSERT_EQ(0, capstore_node_store(node, slot, r, 0));
	close(r);
}

FIXTURE(persist) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(persist)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	/* Only explicit checkpoints: what the crash loses is known. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
}

FIXTURE_TEARDOWN(persist)
{
	if (self->root >= 0)
		close(self->root);
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

TEST_F(persist, build_then_crash)
{
	int p, a, b, c, z, e, e2, n, f, x, y;
	static uint8_t buf[A_SIZE];

	p = create(_metadata, self->root, P_SLOT, CAPSTORE_KIND_NODE, 0);
	ASSERT_LE(0, p);
	a = create(_metadata, p, 0, CAPSTORE_KIND_SEGMENT, A_SIZE);
	ASSERT_LE(0, a);
	fill_a(buf);
	ASSERT_EQ(A_SIZE, capstore_segment_pwrite(a, buf, A_SIZE, 0));
	store_restricted(_metadata, p, 1, a, R | M);
	store_restricted(_metadata, p, 2, a, R | W);
	store_restricted(_metadata, p, 3, a, R | M | K);

	b = create(_metadata, p, 4, CAPSTORE_KIND_NODE, 0);
	ASSERT_LE(0, b);
	c = create(_metadata, b, 0, CAPSTORE_KIND_SEGMENT, 4096);
	ASSERT_LE(0, c);
	ASSERT_EQ((ssize_t)sizeof(gamma_),
		  capstore_segment_pwrite(c, gamma_, sizeof(gamma_), 0));
	store_restricted(_metadata, b, 1, c, R);
	store_restricted(_metadata, b, 2, b, R | G | K);
	store_restricted(_metadata, p, 5, b, R | G | K);
	store_restricted(_metadata, p, 6, b, R | W | G);
	store_restricted(_metadata, p, 7, p, R | G);

	z = create(_metadata, p, 8, CAPSTORE_KIND_SEGMENT, 4096);
	ASSERT_LE(0, z);
	store_restricted(_metadata, p, 9, z, R);
	ASSERT_EQ(0, capstore_cap_destroy(z, 0));

	e = create(_metadata, p, 10, CAPSTORE_KIND_SEGMENT, 4096);
	ASSERT_LE(0, e);
	ASSERT_EQ((ssize_t)sizeof(epsilon),
		  capstore_segment_pwrite(e, epsilon, sizeof(epsilon), 0));
	store_restricted(_metadata, p, 11, e, R | M);
	e2 = capstore_cap_revoke(e, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, e2);
	ASSERT_EQ(0, capstore_node_store(p, 12, e2, 0));

	n = create(_metadata, p, 13, CAPSTORE_KIND_NODE, 0);
	ASSERT_LE(0, n);
	f = create(_metadata, n, 0, CAPSTORE_KIND_SEGMENT, 4096);
	ASSERT_LE(0, f);
	ASSERT_EQ((ssize_t)sizeof(phi),
		  capstore_segment_pwrite(f, phi, sizeof(phi), 0));
	store_restricted(_metadata, p, 14, f, R);
	ASSERT_EQ(0, capstore_cap_destroy(n, 0));

	x = create(_metadata, p, 15, CAPSTORE_KIND_NODE, 0);
	y = create(_metadata, p, 16, CAPSTORE_KIND_NODE, 0);
	ASSERT_LE(0, x);
	ASSERT_LE(0, y);
	ASSERT_EQ(0, capstore_node_store(x, 0, y, 0));
	ASSERT_EQ(0, capstore_node_store(y, 0, x, 0));
	ASSERT_EQ(0, capstore_cap_destroy(x, 0));
	capstore_node_clear(p, 17, 0);
	capstore_node_clear(p, 18, 0);

	ASSERT_EQ(0, capstore_cap_checkpoint(p, 0, NULL));

	/* Not checkpointed: the power cut takes these away. */
	ASSERT_EQ(0, capstore_node_store(p, 17, a, 0));
	ASSERT_EQ(0, capstore_node_clear(p, 1, 0));
	ASSERT_EQ(4, capstore_segment_pwrite(a, "JUNK", 4, 0));
	ksft_print_msg("committed; now the uncommitted changes and the power cut\n");
	cs_crash_point();
	for (;;)
		pause();
}

/* Fetch P[@slot]; check kind, rights and object; the fd or -errno. */
static int fetch_check(struct __test_metadata *_metadata, int node,
		       unsigned int slot, unsigned int kind,
		       unsigned int rights, uint64_t oid, const char *what)
{
	struct capstore_cap_info info;
	unsigned int k = 0, r = 0;
	int fd;

	fd = capstore_node_fetch_info(node, slot, CAPSTORE_FD_CLOEXEC, &k, &r);
	EXPECT_LE(0, fd) TH_LOG("%s (slot %u): %d", what, slot, fd);
	if (fd < 0)
		return fd;
	EXPECT_EQ(kind, k) TH_LOG("%s: kind", what);
	EXPECT_EQ(rights, r) TH_LOG("%s: rights %#x, want %#x", what, r,
				    rights);
	EXPECT_EQ(0, capstore_cap_info(fd, &info));
	EXPECT_EQ(rights, info.out_rights) TH_LOG("%s: info rights", what);
	if (oid)
		EXPECT_EQ(oid, (uint64_t)info.out_oid) TH_LOG("%s: object", what);
	return fd;
}

static uint64_t oid_of(int fd)
{
	struct capstore_cap_info info;

	return capstore_cap_info(fd, &info) ? 0 : info.out_oid;
}

/* Everything the setup committed, plus the second boot's revoke if done. */
static void verify(struct __test_metadata *_metadata, int root,
		   int c_revoked)
{
	static uint8_t want[A_SIZE], got[A_SIZE];
	int p, a, fd, b, bw, c, e2, f, y, p7;
	uint64_t a_oid, b_oid;
	char buf[64];
	void *map;

	p = fetch_check(_metadata, root, P_SLOT, CAPSTORE_KIND_NODE, ALL, 0,
			"P");
	ASSERT_LE(0, p);

	/* A, with every right: the committed data, not the junk. */
	a = fetch_check(_metadata, p, 0, CAPSTORE_KIND_SEGMENT, ALL, 0, "A");
	ASSERT_LE(0, a);
	a_oid = oid_of(a);
	fill_a(want);
	ASSERT_EQ(A_SIZE, capstore_segment_pread(a, got, A_SIZE, 0));
	EXPECT_EQ(0, memcmp(want, got, A_SIZE)) TH_LOG("A's data");

	/* A, READ|MAP: maps read-only, cannot write. (Its clear was lost.) */
	fd = fetch_check(_metadata, p, 1, CAPSTORE_KIND_SEGMENT, R | M, a_oid,
			 "A read-map");
	if (fd >= 0) {
		map = mmap(NULL, A_SIZE, PROT_READ, MAP_SHARED, fd, 0);
		EXPECT_NE(MAP_FAILED, map);
		if (map != MAP_FAILED) {
			EXPECT_EQ(0, memcmp(map, want, A_SIZE));
			EXPECT_EQ(-1, mprotect(map, A_SIZE,
					       PROT_READ | PROT_WRITE));
			munmap(map, A_SIZE);
		}
		EXPECT_EQ(MAP_FAILED, mmap(NULL, A_SIZE, PROT_READ | PROT_WRITE,
					   MAP_SHARED, fd, 0));
		EXPECT_EQ(-EBADF, capstore_segment_pwrite(fd, "x", 1, 0));
		close(fd);
	}
	/* A, READ|WRITE: writes, does not map. */
	fd = fetch_check(_metadata, p, 2, CAPSTORE_KIND_SEGMENT, R | W, a_oid,
			 "A read-write");
	if (fd >= 0) {
		EXPECT_EQ(8, capstore_segment_pwrite(fd, want + 100, 8, 100));
		EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED,
					   fd, 0));
		EXPECT_EQ(EPERM, errno);
		close(fd);
	}
	/* A, weak: still weak. */
	fd = fetch_check(_metadata, p, 3, CAPSTORE_KIND_SEGMENT, R | M | K,
			 a_oid, "A weak");
	if (fd >= 0) {
		EXPECT_EQ(-EPERM, capstore_cap_restrict(fd, R | M, 0));
		map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		EXPECT_NE(MAP_FAILED, map);
		if (map != MAP_FAILED) {
			EXPECT_EQ(0, memcmp(map, alpha, sizeof(alpha)));
			munmap(map, 4096);
		}
		close(fd);
	}

	/* B and what it holds. */
	b = fetch_check(_metadata, p, 4, CAPSTORE_KIND_NODE, ALL, 0, "B");
	ASSERT_LE(0, b);
	b_oid = oid_of(b);
	if (!c_revoked) {
		c = fetch_check(_metadata, b, 0, CAPSTORE_KIND_SEGMENT, ALL, 0,
				"C");
		if (c >= 0) {
			EXPECT_EQ((ssize_t)sizeof(gamma_),
				  capstore_segment_pread(c, buf, sizeof(gamma_), 0));
			EXPECT_EQ(0, memcmp(buf, gamma_, sizeof(gamma_)));
			close(c);
		}
		fd = fetch_check(_metadata, b, 1, CAPSTORE_KIND_SEGMENT, R, 0,
				 "C read-only");
		if (fd >= 0)
			close(fd);
	} else {
		EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b, 0, 0))
			TH_LOG("C, stored before its revoke");
		EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b, 1, 0))
			TH_LOG("C read-only, stored before its revoke");
		c = fetch_check(_metadata, p, 18, CAPSTORE_KIND_SEGMENT, ALL, 0,
				"C, stored after its revoke");
		if (c >= 0) {
			EXPECT_EQ((ssize_t)sizeof(gamma_),
				  capstore_segment_pread(c, buf, sizeof(gamma_), 0));
			EXPECT_EQ(0, memcmp(buf, gamma_, sizeof(gamma_)));
			close(c);
		}
	}
	fd = fetch_check(_metadata, b, 2, CAPSTORE_KIND_NODE, R | G | K, b_oid,
			 "B's weak copy of itself");
	if (fd >= 0)
		close(fd);

	/* The weak node B: everything through it comes out weak, read-only. */
	bw = fetch_check(_metadata, p, 5, CAPSTORE_KIND_NODE, R | G | K, b_oid,
			 "B weak");
	if (bw >= 0) {
		EXPECT_EQ(-EPERM, capstore_node_store(bw, 3, bw, 0));
		EXPECT_EQ(-EPERM, capstore_node_clear(bw, 2, 0));
		EXPECT_EQ(-EPERM, capstore_cap_restrict(bw, R | G, 0));
		if (!c_revoked) {
			fd = fetch_check(_metadata, bw, 0, CAPSTORE_KIND_SEGMENT,
					 R | M | G | K, 0, "C through weak B");
			if (fd >= 0) {
				EXPECT_EQ(-EBADF,
					  capstore_segment_pwrite(fd, "x", 1, 0));
				EXPECT_EQ(-EPERM, capstore_cap_destroy(fd, 0));
				close(fd);
			}
		} else {
			EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(bw, 0, 0));
		}
		/* Weakness carries on through a node fetched from it. */
		fd = fetch_check(_metadata, bw, 2, CAPSTORE_KIND_NODE,
				 R | G | K, b_oid, "B through weak B");
		if (fd >= 0) {
			EXPECT_EQ(-EPERM, capstore_node_store(fd, 3, fd, 0));
			close(fd);
		}
		close(bw);
	}
	fd = fetch_check(_metadata, p, 6, CAPSTORE_KIND_NODE, R | W | G, b_oid,
			 "B read-write-grant");
	if (fd >= 0) {
		EXPECT_EQ(0, capstore_node_store(fd, 3, fd, 0));
		EXPECT_EQ(0, capstore_node_clear(fd, 3, 0));
		EXPECT_EQ(-EPERM, capstore_cap_destroy(fd, 0));
		close(fd);
	}
	close(b);

	/* P through its own read-grant copy: not weak, so A keeps its rights. */
	p7 = fetch_check(_metadata, p, 7, CAPSTORE_KIND_NODE, R | G, oid_of(p),
			 "P read-grant");
	if (p7 >= 0) {
		fd = fetch_check(_metadata, p7, 0, CAPSTORE_KIND_SEGMENT, ALL,
				 a_oid, "A through P read-grant");
		if (fd >= 0)
			close(fd);
		EXPECT_EQ(-EPERM, capstore_node_store(p7, 17, a, 0));
		close(p7);
	}

	/* Dead slots stay dead. */
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(p, 8, 0)) TH_LOG("destroyed Z");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(p, 9, 0)) TH_LOG("copy of destroyed Z");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(p, 10, 0)) TH_LOG("E before its revoke");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(p, 11, 0)) TH_LOG("copy of E before its revoke");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(p, 13, 0)) TH_LOG("destroyed node N");
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(p, 15, 0)) TH_LOG("destroyed node X");

	/* Live ones work. */
	e2 = fetch_check(_metadata, p, 12, CAPSTORE_KIND_SEGMENT, ALL, 0,
			 "E after its revoke");
	if (e2 >= 0) {
		EXPECT_EQ((ssize_t)sizeof(epsilon),
			  capstore_segment_pread(e2, buf, sizeof(epsilon), 0));
		EXPECT_EQ(0, memcmp(buf, epsilon, sizeof(epsilon)));
		close(e2);
	}
	f = fetch_check(_metadata, p, 14, CAPSTORE_KIND_SEGMENT, R, 0,
			"F, held by the destroyed N");
	if (f >= 0) {
		EXPECT_EQ((ssize_t)sizeof(phi),
			  capstore_segment_pread(f, buf, sizeof(phi), 0));
		EXPECT_EQ(0, memcmp(buf, phi, sizeof(phi)));
		close(f);
	}
	y = fetch_check(_metadata, p, 16, CAPSTORE_KIND_NODE, ALL, 0, "Y");
	if (y >= 0) {
		EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(y, 0, 0))
			TH_LOG("Y's slot to the destroyed X");
		close(y);
	}

	/* The uncommitted store is gone. */
	EXPECT_EQ(-ENOENT, capstore_node_fetch(p, 17, 0));
	if (!c_revoked)
		EXPECT_EQ(-ENOENT, capstore_node_fetch(p, 18, 0));
	close(a);
	close(p);
}

TEST_F(persist, verify_committed)
{
	verify(_metadata, self->root, 0);
}

TEST_F(persist, revoke_then_crash)
{
	int p, b, c, c2;

	p = capstore_node_fetch(self->root, P_SLOT, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, p);
	b = capstore_node_fetch(p, 4, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, b);
	c = capstore_node_fetch(b, 0, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, c);
	c2 = capstore_cap_revoke(c, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, c2);
	ASSERT_EQ(0, capstore_node_store(p, 18, c2, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(b, 0, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(p, 0, NULL));
	/* Not checkpointed. */
	ASSERT_EQ(0, capstore_node_store(p, 17, c2, 0));
	ksft_print_msg("revoked C and committed; power cut\n");
	cs_crash_point();
	for (;;)
		pause();
}

TEST_F(persist, verify_after_revoke)
{
	verify(_metadata, self->root, 1);
}

CS_HARNESS_MAIN
