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
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

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

static void reattach(struct __test_metadata *_metadata, FIXTURE_DATA(cr) *self)
{
	close(self->root);
	self->root = -EBADF;
	ASSERT_EQ(0, cs_detach(self->id));
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
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

	reattach(_metadata, self);
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

CS_HARNESS_MAIN
