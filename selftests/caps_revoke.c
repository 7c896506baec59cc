// SPDX-License-Identifier: GPL-2.0
/*
 * caps_revoke - destroy and revoke while the object is in use: once the
 * call returns, no access through an old capability succeeds, by any path,
 * in any process; nothing crashes and nothing leaks.
 *
 * Each round makes a segment, stores a capability to it in a slot, and
 * starts three workers on it, each with its own restricted capability:
 *
 *   T1  a thread of the test that maps the segment and touches every page
 *       in a loop (loads, or stores in the "write" variants), zapping its
 *       page table entries (MADV_DONTNEED) after each pass so that every
 *       pass faults the pages in again;
 *   T2  a thread that preads (or pwrites) every page in a loop;
 *   P   a child process that maps the segment with the capability it
 *       inherited and touches every page in a loop, like T1.
 *
 * Once every worker has made a few passes the test destroys, or revokes,
 * the object through its own capability and, as soon as the call returns,
 * sets a flag in memory shared with the workers. From then on:
 *
 *   - every access a worker starts after it saw the flag must fail: loads
 *     and stores fault with SIGBUS (caught with sigsetjmp/siglongjmp and
 *     counted), syscalls answer EKEYREVOKED; T1 and P stop zapping their
 *     page tables, so a page table entry that survived the call would let
 *     the next access through and be counted;
 *   - after a revoke, the test reads the whole object through its fresh
 *     capability the moment the call returns, and again when the workers
 *     have stopped: the two must be equal, or a write through an old
 *     capability landed after the call returned (T2's writes are whole-
 *     object pwrites, long enough to be caught in the act);
 *   - the old capabilities (fds and slots) answer EKEYREVOKED on every
 *     call; the fresh one works and sees the data.
 *
 * When the workers stop, every fd is closed and every mapping removed:
 * open_caps, the object count, the dirty space and the free space return
 * to what they were before the round (after a checkpoint), the process has
 * the fds it started with, and the store detaches at the end.
 *
 * Variants: destroy or revoke, with readers or writers. Needs a formatted
 * store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"
#include "cs_revoke.h"

#define R	CAPSTORE_RIGHT_READ
#define W	CAPSTORE_RIGHT_WRITE
#define M	CAPSTORE_RIGHT_MAP

#define NPAGES		128
#define SEG_SIZE	(NPAGES * 4096)
#define ROUNDS		4
#define SEG_SLOT	23	/* root slot created into */
#define COPY_SLOT	24	/* root slot holding a stored copy */

/* Words of each page the workers write (T2 and P), T1 is word 1. */
enum { WORD_T1 = 1, WORD_T2 = 2, WORD_P = 3 };

enum { T1, T2, P, NWORKERS };
static const char *const wname[NWORKERS] = { "mapping thread",
					     "syscall thread",
					     "mapping process" };

struct targ {
	struct shared *sh;
	int fd;
	int write;
	int mapping;
};

static void *thread_main(void *p)
{
	struct targ *t = p;

	if (t->mapping) {
		void *map = mmap(NULL, SEG_SIZE,
				 PROT_READ | (t->write ? PROT_WRITE : 0),
				 MAP_SHARED, t->fd, 0);

		if (map == MAP_FAILED) {
			atomic_store(&t->sh->w[T1].last_errno, errno);
			atomic_fetch_add(&t->sh->w[T1].other, 1);
			atomic_store(&t->sh->w[T1].ready, 1);
			return NULL;
		}
		touch_loop(t->sh, &t->sh->w[T1], map, NPAGES, t->write,
			   WORD_T1, 1ull << 56);
		munmap(map, SEG_SIZE);
	} else {
		syscall_loop(t->sh, &t->sh->w[T2], t->fd, NPAGES, t->write,
			     WORD_T2, 2ull << 56);
	}
	return NULL;
}

/* ------------------------------------------------------------ helpers */


/* ------------------------------------------------------------- fixture */

FIXTURE(revoke) {
	uint32_t id;
	int root;
	int fds0;
};

FIXTURE_VARIANT(revoke) {
	int destroy;	/* destroy, else revoke */
	int write;	/* the workers write, else read */
};

FIXTURE_VARIANT_ADD(revoke, destroy_readers) { .destroy = 1, .write = 0 };
FIXTURE_VARIANT_ADD(revoke, destroy_writers) { .destroy = 1, .write = 1 };
FIXTURE_VARIANT_ADD(revoke, revoke_readers) { .destroy = 0, .write = 0 };
FIXTURE_VARIANT_ADD(revoke, revoke_writers) { .destroy = 0, .write = 1 };

FIXTURE_SETUP(revoke)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	/* No scheduled checkpoint in the middle of the measurements. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
	/* The root node's page gets its block now, not in the first round. */
	capstore_node_clear(self->root, SEG_SLOT, 0);
	capstore_node_clear(self->root, COPY_SLOT, 0);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	self->fds0 = count_fds();
	catch_faults();
}

FIXTURE_TEARDOWN(revoke)
{
	if (self->root >= 0) {
		capstore_node_clear(self->root, SEG_SLOT, 0);
		capstore_node_clear(self->root, COPY_SLOT, 0);
		close(self->root);
	}
	EXPECT_EQ(self->fds0 - 1, count_fds());
	EXPECT_EQ(0, store_get("open_caps"));
	/* No reference left behind: the store detaches. */
	EXPECT_EQ(0, cs_detach(self->id));
}

static void round_run(struct __test_metadata *_metadata,
		      const FIXTURE_VARIANT(revoke) *variant, int root,
		      int round)
{
	int wr = variant->write, seg, copy, a, b, c, nfd = -1, st, i;
	struct leak_mark mark;
	pthread_t t1, t2;
	struct targ ta1, ta2;
	struct shared *sh;
	uint64_t v, *buf, *snap = NULL;
	ssize_t ret;
	pid_t pid;

	/* Before: a committed, quiet store. */
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));
	leak_mark(&mark);

	capstore_node_clear(root, SEG_SLOT, 0);
	seg = capstore_node_create(root, SEG_SLOT, CAPSTORE_KIND_SEGMENT,
				   SEG_SIZE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	buf = malloc(SEG_SIZE);
	ASSERT_NE(NULL, buf);
	for (i = 0; i < NPAGES * WORDS; i++)
		buf[i] = pattern(i / WORDS, i % WORDS);
	ASSERT_EQ(SEG_SIZE, capstore_segment_pwrite(seg, buf, SEG_SIZE, 0));
	copy = capstore_cap_restrict(seg, R | M, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, copy);
	ASSERT_EQ(0, capstore_node_store(root, COPY_SLOT, copy, 0));
	a = capstore_cap_restrict(seg, wr ? R | W | M : R | M,
				  CAPSTORE_FD_CLOEXEC);
	b = capstore_cap_restrict(seg, wr ? R | W : R, CAPSTORE_FD_CLOEXEC);
	c = capstore_cap_restrict(seg, wr ? R | W | M : R | M, 0);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	for (i = 0; i < NWORKERS; i++)
		atomic_store(&sh->w[i].first_violation, -1);

	/* P: another process, with the capability it inherited. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		volatile uint64_t *map;
		int fd;

		for (fd = 3; fd < 1024; fd++)
			if (fd != c)
				close(fd);
		map = mmap(NULL, SEG_SIZE, PROT_READ | (wr ? PROT_WRITE : 0),
			   MAP_SHARED, c, 0);
		close(c);
		if (map == MAP_FAILED) {
			atomic_store(&sh->w[P].last_errno, errno);
			atomic_fetch_add(&sh->w[P].other, 1);
			atomic_store(&sh->w[P].ready, 1);
			_exit(1);
		}
		touch_loop(sh, &sh->w[P], map, NPAGES, wr, WORD_P,
			   3ull << 56);
		munmap((void *)map, SEG_SIZE);
		_exit(0);
	}
	close(c);
	ta1 = (struct targ){ .sh = sh, .fd = a, .write = wr, .mapping = 1 };
	ta2 = (struct targ){ .sh = sh, .fd = b, .write = wr, .mapping = 0 };
	ASSERT_EQ(0, pthread_create(&t1, NULL, thread_main, &ta1));
	ASSERT_EQ(0, pthread_create(&t2, NULL, thread_main, &ta2));

	EXPECT_EQ(0, wait_passes(sh, NWORKERS, 2, 0)) TH_LOG("round %d: workers did not start", round);
	usleep(cs_mix(round) % 4000);

	snap = malloc(SEG_SIZE);
	ASSERT_NE(NULL, snap);
	memset(snap, 0, SEG_SIZE);
	if (variant->destroy) {
		EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	} else {
		nfd = capstore_cap_revoke(seg, CAPSTORE_FD_CLOEXEC);
		EXPECT_LE(0, nfd);
	}
	atomic_store(&sh->revoked, 1);
	if (nfd >= 0)	/* what the object holds the moment the call returned */
		ASSERT_EQ(SEG_SIZE, pread(nfd, snap, SEG_SIZE, 0));
	EXPECT_EQ(0, wait_passes(sh, NWORKERS, 3, 1)) TH_LOG("round %d: workers stuck after the call", round);
	atomic_store(&sh->stop, 1);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st)) TH_LOG("process P: status %#x", st);

	for (i = 0; i < NWORKERS; i++) {
		struct worker *w = &sh->w[i];

		ksft_print_msg("round %d %s: %lu passes (%lu after), %lu ok before, %lu failed before, %lu failed after, %lu violations, %lu other\n",
			       round, wname[i], atomic_load(&w->passes),
			       atomic_load(&w->passes_after),
			       atomic_load(&w->ok_before),
			       atomic_load(&w->fail_before),
			       atomic_load(&w->fail_after),
			       atomic_load(&w->violations),
			       atomic_load(&w->other));
		EXPECT_EQ(0ul, atomic_load(&w->violations))
			TH_LOG("round %d: %s: an access after the call returned succeeded (first at page %ld)",
			       round, wname[i], atomic_load(&w->first_violation));
		EXPECT_EQ(0ul, atomic_load(&w->other))
			TH_LOG("round %d: %s: unexpected outcome %d", round,
			       wname[i], atomic_load(&w->last_errno));
		EXPECT_LT(0ul, atomic_load(&w->ok_before))
			TH_LOG("round %d: %s never got going", round, wname[i]);
		EXPECT_LE(3ul * (i == T2 && wr ? 1 : NPAGES),
			  atomic_load(&w->fail_after))
			TH_LOG("round %d: %s: too few failures after", round,
			       wname[i]);
	}

	/* Old capabilities, open or stored, are dead. */
	check_dead(_metadata, seg, "the caller's fd");
	check_dead(_metadata, a, "mapping capability");
	check_dead(_metadata, b, "syscall capability");
	check_dead(_metadata, copy, "restricted copy");
	if (wr) {
		v = 0;
		EXPECT_EQ(-1, pwrite(b, &v, 8, 0));
		EXPECT_EQ(EKEYREVOKED, errno);
	}
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, SEG_SLOT, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, COPY_SLOT, 0));

	if (nfd >= 0) {
		struct capstore_cap_info info;
		uint64_t *got = malloc(SEG_SIZE);
		void *map;

		ASSERT_NE(NULL, got);
		ASSERT_EQ(0, capstore_cap_info(nfd, &info));
		EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info.out_rights);
		ASSERT_EQ(SEG_SIZE, capstore_segment_pread(nfd, got, SEG_SIZE, 0));
		/*
		 * Nothing changed since the call returned: no write through an
		 * old capability landed after it. Readers changed nothing at all.
		 */
		for (i = 0; i < NPAGES * WORDS; i++) {
			if (got[i] != snap[i]) {
				EXPECT_EQ(snap[i], got[i])
					TH_LOG("round %d: page %d word %d: a write through a revoked capability landed after revoke returned",
					       round, i / WORDS, i % WORDS);
				break;
			}
		}
		if (!wr)
			EXPECT_EQ(0, memcmp(buf, got, SEG_SIZE))
				TH_LOG("round %d: data changed", round);
		map = mmap(NULL, SEG_SIZE, PROT_READ, MAP_SHARED, nfd, 0);
		ASSERT_NE(MAP_FAILED, map);
		EXPECT_EQ(0, memcmp(map, got, SEG_SIZE));
		munmap(map, SEG_SIZE);
		free(got);
		/* A slot stored now works; the old ones stay dead. */
		EXPECT_EQ(0, capstore_node_store(root, COPY_SLOT, nfd, 0));
		ret = capstore_node_fetch(root, COPY_SLOT, CAPSTORE_FD_CLOEXEC);
		EXPECT_LE(0, ret);
		if (ret >= 0)
			close(ret);
		EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, SEG_SLOT, 0));
		EXPECT_EQ(0, capstore_cap_destroy(nfd, 0));
		close(nfd);
	}
	close(a);
	close(b);
	close(copy);
	close(seg);
	free(buf);
	free(snap);
	munmap(sh, sizeof(*sh));
	EXPECT_EQ(0, capstore_node_clear(root, SEG_SLOT, 0));
	EXPECT_EQ(0, capstore_node_clear(root, COPY_SLOT, 0));

	check_no_leak(_metadata, root, round, &mark);
}

TEST_F_TIMEOUT(revoke, while_in_use, 300)
{
	int round;

	for (round = 0; round < ROUNDS; round++)
		round_run(_metadata, variant, self->root, round);
}

/*
 * Page faults racing revoke, many times over: two threads fault the pages
 * of a small mapping in a loop (zapping their page tables after every
 * pass) while the test revokes the capability behind it at a random
 * moment, then keep touching the pages without zapping. A fault that
 * passed the capability check before the revoke must not leave a page
 * table entry behind that a later access could use.
 */
#define STORM_PAGES	16
#define STORM_ROUNDS	300

struct sthread {
	struct shared *sh;
	struct worker *w;
	volatile uint64_t *map;
};

static void *storm_main(void *p)
{
	struct sthread *t = p;

	touch_loop(t->sh, t->w, t->map, STORM_PAGES, 0, 0, 0);
	return NULL;
}

FIXTURE(storm) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(storm)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	catch_faults();
}

FIXTURE_TEARDOWN(storm)
{
	if (self->root >= 0) {
		capstore_node_clear(self->root, SEG_SLOT, 0);
		close(self->root);
	}
	EXPECT_EQ(0, store_get("open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

TEST_F_TIMEOUT(storm, faults_racing_revoke, 300)
{
	unsigned long violations = 0, after = 0, before = 0;
	struct sthread st[2];
	struct shared *sh;
	pthread_t th[2];
	int cur, round, i, m;

	capstore_node_clear(self->root, SEG_SLOT, 0);
	cur = capstore_node_create(self->root, SEG_SLOT, CAPSTORE_KIND_SEGMENT,
				   STORM_PAGES * 4096, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, cur);
	ASSERT_EQ(STORM_PAGES * 4096,
		  capstore_segment_pwrite(cur, calloc(1, STORM_PAGES * 4096),
					  STORM_PAGES * 4096, 0));
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);

	for (round = 0; round < STORM_ROUNDS; round++) {
		void *map;
		int nfd;

		m = capstore_cap_restrict(cur, R | M, CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, m);
		map = mmap(NULL, STORM_PAGES * 4096, PROT_READ, MAP_SHARED, m, 0);
		ASSERT_NE(MAP_FAILED, map);
		close(m);
		memset(sh, 0, sizeof(*sh));
		for (i = 0; i < 2; i++) {
			atomic_store(&sh->w[i].first_violation, -1);
			st[i] = (struct sthread){ sh, &sh->w[i], map };
			ASSERT_EQ(0, pthread_create(&th[i], NULL, storm_main,
						    &st[i]));
		}
		while (atomic_load(&sh->w[0].passes) < 1 ||
		       atomic_load(&sh->w[1].passes) < 1)
			usleep(100);
		usleep(cs_mix(round) % 3000);
		nfd = capstore_cap_revoke(cur, CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, nfd);
		atomic_store(&sh->revoked, 1);
		while (atomic_load(&sh->w[0].passes_after) < 2 ||
		       atomic_load(&sh->w[1].passes_after) < 2)
			usleep(100);
		atomic_store(&sh->stop, 1);
		for (i = 0; i < 2; i++) {
			pthread_join(th[i], NULL);
			violations += atomic_load(&sh->w[i].violations);
			after += atomic_load(&sh->w[i].fail_after);
			before += atomic_load(&sh->w[i].ok_before);
			EXPECT_EQ(0ul, atomic_load(&sh->w[i].violations))
				TH_LOG("round %d thread %d: a page stayed mapped after revoke returned (page %ld)",
				       round, i,
				       atomic_load(&sh->w[i].first_violation));
			EXPECT_EQ(0ul, atomic_load(&sh->w[i].other));
		}
		munmap(map, STORM_PAGES * 4096);
		close(cur);
		cur = nfd;
	}
	ksft_print_msg("%d rounds: %lu accesses before, %lu faults after, %lu violations\n",
		       STORM_ROUNDS, before, after, violations);
	EXPECT_EQ(0, capstore_cap_destroy(cur, 0));
	close(cur);
	munmap(sh, sizeof(*sh));
	EXPECT_EQ(0, capstore_node_clear(self->root, SEG_SLOT, 0));
}

CS_HARNESS_MAIN
