// SPDX-License-Identifier: GPL-2.0
/*
 * caps_fetch - CAPSTORE_FETCH racing CAPSTORE_REVOKE: revocation wins.
 *
 * fetch_vs_revoke.target
 *     A slot holds a capability to a segment, generation g. Each round a
 *     child process fetches it while the parent revokes the segment. The
 *     child's fd table is full up to its end and the child has a second
 *     thread, so the fetch must grow the table, which waits for an RCU
 *     grace period (expand_fdtable()): a wide window in the middle of the
 *     fetch. Whatever the timing, what the slot holds is a generation-g
 *     capability, so once the revoke has returned any fd the fetch gave
 *     must be dead (EKEYREVOKED). A module that checks the slot's
 *     generation, then reserves the fd, then makes the file from a fresh
 *     read of the object's generation hands out a live capability of the
 *     new generation.
 *
 * fetch_vs_revoke.node
 *     A slot X of a node holds segment A. A thread fetches X in a loop
 *     through a node capability C; the main thread revokes the node
 *     through C and at once stores segment B into X through the fresh
 *     capability. C is dead from the revoke on, so no fetch through it
 *     may ever return B: B was stored after C died. A thread on the
 *     fetcher's CPU wakes every couple of milliseconds and spins, which
 *     preempts the fetcher at random points (the scenario boots with
 *     preempt=full) while the revoke and the store go on on the other
 *     CPU. A module that checks the node capability before, and not in
 *     the same step as, reading the slot lets B through.
 *
 * CAPS_FETCH_ROUNDS multiplies the rounds (default 1); the debug lane
 * (CS_DEBUG_LANE) runs a quarter of them. Needs a formatted store on
 * $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define ALL	(CAPSTORE_RIGHTS_ALL)
#define SEG_SLOT	20
#define NODE_SLOT	21
#define B_SLOT		22
#define X		3	/* the slot of the node that is fetched */

/* Rounds: @n times CAPS_FETCH_ROUNDS, a quarter of that in the debug lane. */
static int rounds(int n)
{
	const char *s = getenv("CAPS_FETCH_ROUNDS");
	int k = s ? atoi(s) : 1;

	n *= k > 0 ? k : 1;
	if (getenv("CS_DEBUG_LANE"))
		n = n / 4 ? n / 4 : 1;
	return n;
}

static long long store_get(const char *attr)
{
	return cs_store_get(cs_test_dev(), attr);
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);	/* best effort */
}

static uint64_t oid_of(int fd)
{
	struct capstore_cap_info info;

	if (capstore_cap_info(fd, &info))
		return 0;
	return info.out_oid;
}

static void spin_us(unsigned int us)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((b.tv_sec - a.tv_sec) * 1000000L +
		 (b.tv_nsec - a.tv_nsec) / 1000 < (long)us);
}

FIXTURE(fetch_vs_revoke) {
	uint32_t id;
	int root;
	int first_fd;
};

FIXTURE_SETUP(fetch_vs_revoke)
{
	self->root = -EBADF;
	self->first_fd = cs_next_fd();
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	/* No timed checkpoint in the middle of the rounds. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
}

FIXTURE_TEARDOWN(fetch_vs_revoke)
{
	if (self->root >= 0) {
		capstore_node_clear(self->root, SEG_SLOT, 0);
		capstore_node_clear(self->root, NODE_SLOT, 0);
		capstore_node_clear(self->root, B_SLOT, 0);
		close(self->root);
	}
	cs_close_from(self->first_fd);
	EXPECT_EQ(0, store_get("open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

struct tshared {
	atomic_int ready;	/* child: about to fetch */
	atomic_int revoked;	/* parent: the revoke returned */
	atomic_int fetched;	/* child: the fetch gave an fd */
	atomic_int live;	/* child: and it worked after the revoke */
	atomic_int err;		/* child: the fetch's error */
};

static void *sleeper(void *p)
{
	(void)p;
	for (;;)
		pause();
	return NULL;
}

/* The child of a round: fetch SEG_SLOT through @root with a full table. */
static void __attribute__((noreturn)) fetch_child(struct tshared *sh,
						  int root)
{
	pthread_t th;
	int fd;

	pin(0);
	/* Fill the fd table to its end: the fetch's fd must grow it. */
	do {
		fd = dup(0);
	} while (fd >= 0 && fd < 63);
	/* A second thread: growing a shared table waits for RCU. */
	if (pthread_create(&th, NULL, sleeper, NULL))
		_exit(2);
	atomic_store(&sh->ready, 1);
	fd = capstore_node_fetch(root, SEG_SLOT, 0);
	if (fd >= 0)
		atomic_store(&sh->fetched, 1);
	else
		atomic_store(&sh->err, -fd);
	while (!atomic_load(&sh->revoked))
		usleep(100);
	if (fd >= 0 && oid_of(fd))
		atomic_store(&sh->live, 1);
	_exit(0);
}

/*
 * A fetch that began before a revoke of what the slot holds returns a
 * capability that is dead once the revoke has returned, or fails.
 */
TEST_F_TIMEOUT(fetch_vs_revoke, target, 300)
{
	int nrounds = rounds(200), r, seg, nseg, status;
	unsigned int fetched = 0, refused = 0, live = 0;
	struct tshared *sh;
	pid_t pid;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	pin(1);
	for (r = 0; r < nrounds; r++) {
		seg = capstore_node_create(self->root, SEG_SLOT,
					   CAPSTORE_KIND_SEGMENT, 4096,
					   CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, seg);
		memset(sh, 0, sizeof(*sh));
		pid = fork();
		ASSERT_LE(0, pid);
		if (!pid)
			fetch_child(sh, self->root);
		while (!atomic_load(&sh->ready))
			;
		spin_us(cs_mix(r) % 3000);
		nseg = capstore_cap_revoke(seg, CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, nseg);
		atomic_store(&sh->revoked, 1);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		if (atomic_load(&sh->fetched))
			fetched++;
		else if (atomic_load(&sh->err) == EKEYREVOKED)
			refused++;
		else
			EXPECT_EQ(EKEYREVOKED, atomic_load(&sh->err));
		if (atomic_load(&sh->live) && ++live <= 3) {
			TH_LOG("round %d: a capability fetched from a slot of the old generation works after the revoke returned",
			       r);
		}
		ASSERT_EQ(0, capstore_cap_destroy(nseg, 0));
		close(nseg);
		close(seg);
		ASSERT_EQ(0, capstore_node_clear(self->root, SEG_SLOT, 0));
	}
	TH_LOG("%d rounds: %u fetches returned an fd, %u refused, %u live after the revoke",
	       nrounds, fetched, refused, live);
	EXPECT_EQ(0u, live);
	munmap(sh, sizeof(*sh));
}

struct nshared {
	atomic_int fd;		/* the node capability to fetch through */
	atomic_int inuse;	/* the fetcher holds that fd number */
	atomic_int stop;
	atomic_ulong attempts, got_a, got_b, refused, other;
	uint64_t oid_a, oid_b;
};

static void *node_fetcher(void *p)
{
	struct nshared *sh = p;

	pin(0);
	while (!atomic_load(&sh->stop)) {
		int node, fd;
		uint64_t oid;

		atomic_store(&sh->inuse, 1);
		node = atomic_load(&sh->fd);
		if (node < 0) {
			atomic_store(&sh->inuse, 0);
			continue;
		}
		fd = capstore_node_fetch(node, X, 0);
		atomic_store(&sh->inuse, 0);
		atomic_fetch_add(&sh->attempts, 1);
		if (fd < 0) {
			if (fd == -EKEYREVOKED)
				atomic_fetch_add(&sh->refused, 1);
			else
				atomic_fetch_add(&sh->other, 1);
			continue;
		}
		oid = oid_of(fd);
		if (oid == sh->oid_b)
			atomic_fetch_add(&sh->got_b, 1);
		else if (oid == sh->oid_a)
			atomic_fetch_add(&sh->got_a, 1);
		else
			atomic_fetch_add(&sh->other, 1);
		close(fd);
	}
	return NULL;
}

/* On the fetcher's CPU: wake up often and run a little, preempting it. */
static void *preempter(void *p)
{
	struct nshared *sh = p;

	pin(0);
	while (!atomic_load(&sh->stop)) {
		usleep(1000);
		spin_us(500);
	}
	return NULL;
}

/*
 * A fetch through a node capability never sees a slot stored after that
 * capability was revoked.
 */
TEST_F_TIMEOUT(fetch_vs_revoke, node, 300)
{
	int nrounds = rounds(400), r, cur, next, a, b;
	struct nshared *sh;
	pthread_t th[2];
	unsigned long n;

	sh = calloc(1, sizeof(*sh));
	ASSERT_NE(NULL, sh);
	atomic_store(&sh->fd, -1);
	cur = capstore_node_create(self->root, NODE_SLOT, CAPSTORE_KIND_NODE,
				   0, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, cur);
	a = capstore_node_create(cur, X, CAPSTORE_KIND_SEGMENT, 4096,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, a);
	b = capstore_node_create(self->root, B_SLOT, CAPSTORE_KIND_SEGMENT,
				 4096, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, b);
	sh->oid_a = oid_of(a);
	sh->oid_b = oid_of(b);
	ASSERT_NE(0ull, (unsigned long long)sh->oid_a);
	ASSERT_NE(0ull, (unsigned long long)sh->oid_b);

	pin(1);
	ASSERT_EQ(0, pthread_create(&th[0], NULL, node_fetcher, sh));
	ASSERT_EQ(0, pthread_create(&th[1], NULL, preempter, sh));
	for (r = 0; r < nrounds; r++) {
		ASSERT_EQ(0, capstore_node_store(cur, X, a, 0));
		n = atomic_load(&sh->attempts);
		atomic_store(&sh->fd, cur);
		/* Let the fetcher get going through this capability. */
		while (atomic_load(&sh->attempts) < n + 1)
			;
		spin_us(cs_mix(r) % 1000);
		next = capstore_cap_revoke(cur, CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, next);
		ASSERT_EQ(0, capstore_node_store(next, X, b, 0));
		spin_us(500);
		atomic_store(&sh->fd, -1);
		while (atomic_load(&sh->inuse))
			;
		close(cur);
		cur = next;
		if (atomic_load(&sh->got_b))
			break;
	}
	atomic_store(&sh->stop, 1);
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	TH_LOG("%d rounds: %lu fetches, %lu gave A, %lu refused, %lu gave B (stored after the revoke), %lu other",
	       r, atomic_load(&sh->attempts), atomic_load(&sh->got_a),
	       atomic_load(&sh->refused), atomic_load(&sh->got_b),
	       atomic_load(&sh->other));
	EXPECT_EQ(0ul, atomic_load(&sh->got_b));
	EXPECT_EQ(0ul, atomic_load(&sh->other));
	EXPECT_LT(0ul, atomic_load(&sh->got_a));
	ASSERT_EQ(0, capstore_cap_destroy(a, 0));
	ASSERT_EQ(0, capstore_cap_destroy(b, 0));
	ASSERT_EQ(0, capstore_cap_destroy(cur, 0));
	close(a);
	close(b);
	close(cur);
	free(sh);
}

CS_HARNESS_MAIN
