/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cs_revoke.h - the workers of the tests that cut capabilities while they
 * are in use: caps_revoke.c (destroy and revoke of an object) and
 * forward.c (destroy and revoke of a forwarder). Include it after
 * cs_harness.h.
 *
 * A worker accesses a segment in a loop, in passes over its pages, through
 * a mapping (touch_loop()) or with pread/pwrite (syscall_loop()). The test
 * sets sh->revoked the moment the cut returns; each access reads the flag
 * before it starts, so an access that saw the flag and still succeeded
 * started after the call returned: a violation, whatever the timing.
 * Mapped accesses that fault with SIGBUS are caught with sigsetjmp/
 * siglongjmp (catch_faults()) and counted.
 */
#ifndef CS_REVOKE_H
#define CS_REVOKE_H

#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "cs_test.h"

#define WORDS		512	/* 64-bit words per page */
#define CS_RV_WORKERS	4	/* workers at most */

struct worker {
	atomic_ulong passes, passes_after;
	atomic_ulong ok_before, fail_before, ok_after, fail_after;
	atomic_ulong violations, other;
	atomic_long first_violation;	/* page, or -1 */
	atomic_int last_errno;
	atomic_int ready;
};

/* In memory shared with the workers, threads and processes alike. */
struct shared {
	atomic_int revoked;
	atomic_int stop;
	struct worker w[CS_RV_WORKERS];
};

/* What word @word of page @page holds before the workers start. */
static inline uint64_t pattern(uint64_t page, uint64_t word)
{
	return cs_mix(page * WORDS + word);
}

/* --------------------------------------------------- fault catching */

static __thread sigjmp_buf tl_jb;
static __thread volatile sig_atomic_t tl_armed;

static inline void on_fault(int sig)
{
	if (tl_armed) {
		tl_armed = 0;
		siglongjmp(tl_jb, sig);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static inline void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };

	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}

static inline void violation(struct worker *w, long page)
{
	long none = -1;

	atomic_fetch_add(&w->violations, 1);
	atomic_compare_exchange_strong(&w->first_violation, &none, page);
}

/*
 * Touch every page of @map until told to stop: a load, or a store of
 * @tag | n into word @word. Zap the page tables after each pass while
 * the flag is not set (looked at after the pass, not before it: the pass
 * the cut fell into leaves its page table entries); from the flag on, any
 * access that goes through is a violation.
 */
static inline void touch_loop(struct shared *sh, struct worker *w,
			      volatile uint64_t *map, long npages, int write,
			      unsigned int word, uint64_t tag)
{
	volatile uint64_t n = 0;
	volatile long i;
	int sig;

	atomic_store(&w->ready, 1);
	while (!atomic_load(&sh->stop)) {
		int f0 = atomic_load(&sh->revoked);

		for (i = 0; i < npages; i++) {
			int f = atomic_load(&sh->revoked);
			volatile uint64_t *a = map + i * WORDS + word;

			tl_armed = 1;
			sig = sigsetjmp(tl_jb, 0);
			if (!sig) {
				if (write)
					*a = tag | ++n;
				else
					(void)*a;
				tl_armed = 0;
				if (f)
					violation(w, i);
				else
					atomic_fetch_add(&w->ok_before, 1);
			} else if (sig == SIGBUS) {
				atomic_fetch_add(f ? &w->fail_after :
						 &w->fail_before, 1);
			} else {
				atomic_fetch_add(&w->other, 1);
				atomic_store(&w->last_errno, -sig);
			}
		}
		/*
		 * Once the flag is up, never: whatever page table entry the
		 * cut left behind must stay for the next pass to find.
		 */
		if (!atomic_load(&sh->revoked))
			madvise((void *)map, npages * 4096, MADV_DONTNEED);
		atomic_fetch_add(&w->passes, 1);
		if (f0)
			atomic_fetch_add(&w->passes_after, 1);
	}
}

/*
 * pread every page of @npages through @fd (word @word), or pwrite the
 * whole segment in one call: pattern() with word @word of every page
 * @tag | n. A long write, so that one that waited for the object's lock
 * while the cut held it is still going on when the test looks.
 */
static inline void syscall_loop(struct shared *sh, struct worker *w, int fd,
				long npages, int write, unsigned int word,
				uint64_t tag)
{
	size_t size = npages * 4096;
	uint64_t v, n = 0, *big = NULL;
	ssize_t ret;
	long i, k, per = write ? 1 : npages;

	if (write) {
		big = malloc(size);
		if (!big)
			abort();
		for (k = 0; k < npages * WORDS; k++)
			big[k] = pattern(k / WORDS, k % WORDS);
	}
	atomic_store(&w->ready, 1);
	while (!atomic_load(&sh->stop)) {
		int f0 = atomic_load(&sh->revoked);

		for (i = 0; i < per; i++) {
			int f = atomic_load(&sh->revoked);

			if (write) {
				n++;
				for (k = 0; k < npages; k++)
					big[k * WORDS + word] = tag | n;
				ret = pwrite(fd, big, size, 0);
			} else {
				ret = pread(fd, &v, 8, i * 4096 + word * 8);
			}
			if (ret == (ssize_t)(write ? size : 8)) {
				if (f)
					violation(w, i);
				else
					atomic_fetch_add(&w->ok_before, 1);
			} else if (ret < 0 && errno == EKEYREVOKED) {
				atomic_fetch_add(f ? &w->fail_after :
						 &w->fail_before, 1);
			} else {
				atomic_fetch_add(&w->other, 1);
				atomic_store(&w->last_errno,
					     ret < 0 ? errno : 0);
			}
		}
		atomic_fetch_add(&w->passes, 1);
		if (f0)
			atomic_fetch_add(&w->passes_after, 1);
	}
	free(big);
}

/* ------------------------------------------------------------ helpers */

static inline int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;	/* the directory's own fd */
}

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait until each of the first @nworkers workers has made @n passes
 * (after the flag if @after).
 */
static inline int wait_passes(struct shared *sh, int nworkers,
			      unsigned long n, int after)
{
	const char *scale = getenv("CS_TEST_TIMEOUT_SCALE");
	uint64_t end = now_ms() + 30000 * (scale && atoi(scale) > 0 ?
					   atoi(scale) : 1);
	int i, done;

	for (;;) {
		done = 1;
		for (i = 0; i < nworkers; i++) {
			unsigned long p = after ?
				atomic_load(&sh->w[i].passes_after) :
				atomic_load(&sh->w[i].passes);

			if (p < n)
				done = 0;
		}
		if (done)
			return 0;
		if (now_ms() > end)
			return -ETIMEDOUT;
		usleep(1000);
	}
}

static inline long long store_get(const char *attr)
{
	return cs_store_get(cs_test_dev(), attr);
}

/* The store's counters a round must leave as it found them. */
struct leak_mark {
	long long open_caps;
	long long objects;
	long long free_blocks;
};

static inline void leak_mark(struct leak_mark *m)
{
	m->free_blocks = store_get("free_blocks");
	m->objects = store_get("objects");
	m->open_caps = store_get("open_caps");
}

/*
 * Nothing leaked since leak_mark(): references, objects, and after two
 * checkpoints (the second frees what the first unpinned) reserved and
 * used space.
 */
static inline void check_no_leak(struct __test_metadata *_metadata, int root,
				 int round, const struct leak_mark *m)
{
	EXPECT_EQ(m->open_caps, store_get("open_caps"));
	EXPECT_EQ(m->objects, store_get("objects"));
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));
	EXPECT_EQ(0, store_get("dirty_bytes"))
		TH_LOG("round %d: space still reserved for dirty pages after a checkpoint", round);
	EXPECT_EQ(m->free_blocks, store_get("free_blocks"))
		TH_LOG("round %d: free blocks not back to where they were", round);
}

/* Every call on a dead segment capability answers EKEYREVOKED. */
static inline void check_dead(struct __test_metadata *_metadata, int fd,
			      const char *what)
{
	struct capstore_cap_info info;
	uint64_t v;
	void *p;

	EXPECT_EQ(-EKEYREVOKED, capstore_cap_info(fd, &info)) TH_LOG("%s", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_restrict(fd, CAPSTORE_RIGHT_READ, 0))
		TH_LOG("%s", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_checkpoint(fd, 0, NULL)) TH_LOG("%s", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_destroy(fd, 0)) TH_LOG("%s", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_revoke(fd, 0)) TH_LOG("%s", what);
	EXPECT_EQ(-EKEYREVOKED, capstore_section_begin(fd, 0)) TH_LOG("%s", what);
	EXPECT_EQ(-1, fsync(fd)) TH_LOG("%s", what);
	EXPECT_EQ(EKEYREVOKED, errno) TH_LOG("%s: fsync", what);
	EXPECT_EQ(-1, pread(fd, &v, 8, 0)) TH_LOG("%s", what);
	EXPECT_EQ(EKEYREVOKED, errno) TH_LOG("%s: pread", what);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p) TH_LOG("%s: mmap", what);
	EXPECT_EQ(EKEYREVOKED, errno) TH_LOG("%s: mmap", what);
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

#endif /* CS_REVOKE_H */
