// SPDX-License-Identifier: GPL-2.0
/*
 * checkpoint_space - checkpoints and space: a segment four times the
 * size of the VM's memory, and a store filled to the last block
 * (Documentation/checkpoints.rst, "Space: reservations and ENOSPC").
 *
 * The store is on $CS_TEST_DEV. Phases (cs_harness.h -t), one scenario
 * each:
 *
 * checkpoint_big.sh (a 256 MiB VM):
 *
 *   big_write     a segment of CKSP_BIG_MIB MiB (default 1024), at least
 *                 four times MemTotal, written in 1 MiB chunks, every
 *                 16th through a mapping and the others with pwrite, each
 *                 page with its own pattern; fsync; crash marker
 *   big_verify    after the power cut, every page reads back (pread, and
 *                 every 16th MiB through a mapping)
 *
 * checkpoint_space.sh (a 32 MiB store):
 *
 *   fill_mmap     K (16 pages) is written and committed; then segment M,
 *                 as large as the store, is written page by page through
 *                 a mapping until a write fault gets SIGBUS (caught with
 *                 sigsetjmp), well after most of the free space was used;
 *                 the next page faults again, pwrite to another segment
 *                 fails with ENOSPC; fsync commits what was written, the
 *                 store is not shut down and no checkpoint failed; the
 *                 number of pages is logged ("# filled mmap pages=N") and
 *                 the crash marker printed
 *   fill_verify   after the power cut: K whole, exactly the first N pages
 *                 of M (CKSP_MMAP_PAGES from the host), the rest of M and
 *                 all of P zero
 *   reuse         destroying M gives nothing back before a checkpoint,
 *                 and after one free_blocks rises by at least its pages;
 *                 P is then filled with pwrite until ENOSPC (a short
 *                 write, then ENOSPC), about as many pages as M had; a
 *                 write fault on P past them gets SIGBUS; fsync; detach
 *                 and attach: K and P exactly; destroying P and a
 *                 checkpoint give the space back again and new writes
 *                 succeed
 *   sparse_fill   a 16 TiB segment written past 2 GiB (pwrite, mmap),
 *                 committed and read back after attach; then a page per
 *                 MiB until ENOSPC, before more is promised than the store
 *                 has (each page pays for the tree block above it too);
 *                 fsync commits them all, the store is not shut down, and
 *                 after detach and attach every page reads back; destroy
 *                 and a checkpoint give the space back
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
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
#define MiB		((uint64_t)1 << 20)

#define SLOT_K		1
#define SLOT_M		2
#define SLOT_P		3
#define SLOT_N		4
#define SLOT_BIG	5
#define SLOT_S		6

#define K_PAGES		16

/*
 * The power cut, asked for only if everything so far passed: the cut ends
 * the test before it can report, so a failure must end it first (the boot
 * then ends without the marker, which fails it too).
 */
#define CRASH_POINT()							\
	do {								\
		ASSERT_TRUE(_metadata->passed)				\
			TH_LOG("failed before the power cut");		\
		cs_crash_point();					\
	} while (0)

static long long get(const char *attr)
{
	return cs_store_get(cs_test_dev(), attr);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

FIXTURE(sp) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(sp)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
}

FIXTURE_TEARDOWN(sp)
{
	if (self->root >= 0)
		close(self->root);
	EXPECT_EQ(0, cs_detach(self->id));
}

/* --- filling the store ------------------------------------------------- */

static void fill_page(uint64_t *p, unsigned int slot, uint64_t page)
{
	unsigned int w;

	for (w = 0; w < WPP; w++)
		p[w] = cs_mix((uint64_t)slot << 56 ^ page << 9 ^ w);
}

static sigjmp_buf fault_jb;

static void on_sigbus(int sig)
{
	siglongjmp(fault_jb, sig);
}

/*
 * Store into page @page of the mapping @map: 0 if it took, SIGBUS if the
 * write fault could not be backed (nothing of the page changed then).
 */
static int poke_page(uint64_t *map, unsigned int slot, uint64_t page)
{
	static uint64_t buf[WPP];
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	volatile int sig;

	fill_page(buf, slot, page);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, &old);
	sig = sigsetjmp(fault_jb, 1);
	if (!sig)
		memcpy(map + page * WPP, buf, PAGE);
	sigaction(SIGBUS, &old, NULL);
	return sig;
}

/* pwrite pages from @first in chunks until ENOSPC; pages written. */
static uint64_t pwrite_fill(struct __test_metadata *_metadata, int fd,
			    unsigned int slot, uint64_t first, uint64_t max)
{
	static uint64_t buf[16 * WPP];
	uint64_t page = first, i;
	ssize_t n;
	int shorts = 0;

	while (page < max) {
		uint64_t len = max - page < 16 ? max - page : 16;

		for (i = 0; i < len; i++)
			fill_page(buf + i * WPP, slot, page + i);
		n = capstore_segment_pwrite(fd, buf, len * PAGE, page * PAGE);
		if (n < 0) {
			EXPECT_EQ(-ENOSPC, n) TH_LOG("pwrite at page %" PRIu64,
						     page);
			break;
		}
		/* a write cut short by the full store stops at a page */
		EXPECT_EQ(0, n % PAGE);
		EXPECT_LT(0, n);
		if (n <= 0)
			break;
		if ((uint64_t)n < len * PAGE)
			shorts++;
		page += n / PAGE;
	}
	EXPECT_GE(1, shorts) TH_LOG("more than one short write");
	return page - first;
}

/* Pages [0, n) of @fd hold the pattern of @slot, the rest zeroes. */
static void check_prefix(struct __test_metadata *_metadata, int fd,
			 unsigned int slot, uint64_t n)
{
	static uint64_t buf[16 * WPP], want[WPP];
	uint64_t size, page, i, bad = 0;

	ASSERT_EQ(0, capstore_segment_size(fd, &size));
	for (page = 0; page < size / PAGE; page += 16) {
		ASSERT_EQ((ssize_t)sizeof(buf),
			  capstore_segment_pread(fd, buf, sizeof(buf),
						 page * PAGE));
		for (i = 0; i < 16; i++) {
			if (page + i < n)
				fill_page(want, slot, page + i);
			else
				memset(want, 0, PAGE);
			if (memcmp(buf + i * WPP, want, PAGE) && bad++ < 4)
				TH_LOG("slot %u page %" PRIu64 ": %s", slot,
				       page + i, page + i < n ?
				       "not what was written" : "not zero");
		}
	}
	EXPECT_EQ(0ull, bad) TH_LOG("slot %u: %" PRIu64 " bad pages, %" PRIu64 " written",
				    slot, bad, n);
}

static int seg_create(int root, unsigned int slot, uint64_t size)
{
	return capstore_node_create(root, slot, CAPSTORE_KIND_SEGMENT, size,
				    CAPSTORE_FD_CLOEXEC);
}

/*
 * The store is full at page *@n of @fd, mapped at @map: commit what was
 * written. A commit (and the one the ENOSPC asked for) may give back a
 * few blocks, promised to tree blocks it did not need or holding the tree
 * blocks it replaced, so write on through @map until a write fault right
 * after a commit gets SIGBUS, which must come within a few pages.
 */
static void settle_full(struct __test_metadata *_metadata, int fd,
			uint64_t *map, unsigned int slot, uint64_t *n)
{
	uint64_t extra = 0;
	int round, sig = 0;

	for (round = 0; round < 16; round++) {
		EXPECT_EQ(0, fsync(fd)) TH_LOG("fsync: %s", strerror(errno));
		sig = poke_page(map, slot, *n);
		if (sig)
			break;
		while (!sig && ++extra < 1000)
			sig = poke_page(map, slot, ++*n);
	}
	TH_LOG("slot %u: %" PRIu64 " more pages after commits", slot, extra);
	EXPECT_EQ(SIGBUS, sig);
	EXPECT_GE(16ull, extra);
}

TEST_F(sp, fill_mmap)
{
	uint64_t size, pages, n, page;
	long long free0, reserve;
	uint64_t *map;
	int k, m, p, sig;

	/* K: committed before anything else happens */
	k = seg_create(self->root, SLOT_K, K_PAGES * PAGE);
	ASSERT_LE(0, k);
	ASSERT_EQ((uint64_t)K_PAGES, pwrite_fill(_metadata, k, SLOT_K, 0, K_PAGES));
	/* M and P: each as large as the whole store */
	size = get("blocks") * PAGE;
	pages = size / PAGE;
	m = seg_create(self->root, SLOT_M, size);
	ASSERT_LE(0, m);
	p = seg_create(self->root, SLOT_P, size);
	ASSERT_LE(0, p);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	free0 = get("free_blocks");
	/* checkpoints.rst: 64 + 2 per space-map leaf + 1/256 of the store */
	reserve = 64 + 2 + get("blocks") / 256;

	ASSERT_EQ(0, capstore_segment_map(m, 0, size, PROT_READ | PROT_WRITE,
					  (void **)&map));
	for (n = 0; n < pages; n++) {
		sig = poke_page(map, SLOT_M, n);
		if (sig)
			break;
	}
	TH_LOG("%llu blocks free at the start, %" PRIu64 " pages written through the mapping, then %s",
	       free0, n, sig ? "SIGBUS" : "the end of the segment");
	ASSERT_EQ(SIGBUS, sig) TH_LOG("no SIGBUS in a segment as large as the store");
	/* Most of the space went to data: all but the reserve and the tree. */
	EXPECT_LE((uint64_t)(free0 - reserve - free0 / 200 - 8), n);

	/* What was written commits: the reserve is there for that. */
	settle_full(_metadata, m, map, SLOT_M, &n);
	EXPECT_EQ(0, get("shutdown"));
	EXPECT_EQ(0, get("failed_checkpoints"));
	EXPECT_EQ(0, get("dirty_bytes"));
	/* At most a page and its two tree blocks short of the reserve. */
	EXPECT_GE(reserve + 2, get("free_blocks"));
	/* It stays full: the next pages fault as well. */
	EXPECT_EQ(SIGBUS, poke_page(map, SLOT_M, n));
	EXPECT_EQ(SIGBUS, poke_page(map, SLOT_M, n + 1));
	/* pwrite says ENOSPC (nothing written) */
	EXPECT_EQ(0ull, pwrite_fill(_metadata, p, SLOT_P, 0, 16));
	/* ...the pages before the fault can still be read and are intact */
	for (page = 0; page < n; page += 997) {
		uint64_t want[WPP];

		fill_page(want, SLOT_M, page);
		EXPECT_EQ(0, memcmp(map + page * WPP, want, PAGE));
	}
	capstore_segment_unmap(map, size);

	printf("# filled mmap pages=%" PRIu64 " seq=%lld free=%lld\n", n,
	       get("seq"), get("free_blocks"));
	CRASH_POINT();
	for (;;)
		pause();
}

static int fetch(int root, unsigned int slot)
{
	return capstore_node_fetch(root, slot, CAPSTORE_FD_CLOEXEC);
}

TEST_F(sp, fill_verify)
{
	uint64_t n = env_u64("CKSP_MMAP_PAGES", 0);
	int fd;

	ASSERT_LT(0ull, n) TH_LOG("CKSP_MMAP_PAGES not set");
	fd = fetch(self->root, SLOT_K);
	ASSERT_LE(0, fd);
	check_prefix(_metadata, fd, SLOT_K, K_PAGES);
	close(fd);
	fd = fetch(self->root, SLOT_M);
	ASSERT_LE(0, fd);
	check_prefix(_metadata, fd, SLOT_M, n);
	close(fd);
	fd = fetch(self->root, SLOT_P);
	ASSERT_LE(0, fd);
	check_prefix(_metadata, fd, SLOT_P, 0);
	close(fd);
	/* full as it was committed: short of a page and its tree blocks */
	EXPECT_GE(64 + 2 + get("blocks") / 256 + 2, get("free_blocks"));
}

TEST_F(sp, reuse)
{
	uint64_t nm = env_u64("CKSP_MMAP_PAGES", 0), np, size;
	long long f0, f1, f2, objects;
	uint64_t *map;
	int m, p, fd;

	ASSERT_LT(0ull, nm) TH_LOG("CKSP_MMAP_PAGES not set");
	f0 = get("free_blocks");
	objects = get("objects");

	/* Destroyed: its space comes back with the next checkpoint. */
	m = fetch(self->root, SLOT_M);
	ASSERT_LE(0, m);
	ASSERT_EQ(0, capstore_cap_destroy(m, 0));
	close(m);
	EXPECT_GE(f0 + 4, get("free_blocks")) TH_LOG("freed before a checkpoint");
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	f1 = get("free_blocks");
	TH_LOG("free blocks: %lld full, %lld after destroying M (%" PRIu64 " pages) and a checkpoint",
	       f0, f1, nm);
	EXPECT_LE(f0 + (long long)nm, f1);
	EXPECT_EQ(objects - 1, get("objects"));

	/* New writes succeed, until the store is full again. */
	p = fetch(self->root, SLOT_P);
	ASSERT_LE(0, p);
	ASSERT_EQ(0, capstore_segment_size(p, &size));
	np = pwrite_fill(_metadata, p, SLOT_P, 0, size / PAGE);
	TH_LOG("%" PRIu64 " pages written with pwrite until ENOSPC", np);
	EXPECT_LE(nm - 16, np);
	EXPECT_GT(size / PAGE, np);
	ASSERT_EQ(0, capstore_segment_map(p, 0, size, PROT_READ | PROT_WRITE,
					  (void **)&map));
	settle_full(_metadata, p, map, SLOT_P, &np);
	EXPECT_EQ(SIGBUS, poke_page(map, SLOT_P, np));
	capstore_segment_unmap(map, size);
	EXPECT_EQ(0, get("shutdown"));
	EXPECT_EQ(0, get("failed_checkpoints"));
	close(p);

	/* All there after detach and attach. */
	ASSERT_EQ(0, cs_reattach(&self->id, &self->root));
	fd = fetch(self->root, SLOT_K);
	ASSERT_LE(0, fd);
	check_prefix(_metadata, fd, SLOT_K, K_PAGES);
	close(fd);
	p = fetch(self->root, SLOT_P);
	ASSERT_LE(0, p);
	check_prefix(_metadata, p, SLOT_P, np);

	/* And once more: destroy, checkpoint, space back, writes succeed. */
	f1 = get("free_blocks");
	ASSERT_EQ(0, capstore_cap_destroy(p, 0));
	close(p);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	f2 = get("free_blocks");
	EXPECT_LE(f1 + (long long)np, f2);
	fd = seg_create(self->root, SLOT_N, 4 * MiB);
	ASSERT_LE(0, fd);
	EXPECT_EQ(4 * MiB / PAGE, pwrite_fill(_metadata, fd, SLOT_N, 0,
					      4 * MiB / PAGE));
	EXPECT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, cs_reattach(&self->id, &self->root));
	fd = fetch(self->root, SLOT_N);
	ASSERT_LE(0, fd);
	check_prefix(_metadata, fd, SLOT_N, 4 * MiB / PAGE);
	close(fd);
	EXPECT_EQ(0, get("failed_checkpoints"));
}

/*
 * Far offsets and a sparse fill. A 16 TiB segment is written past 2 GiB
 * with pwrite and through a mapping, committed, and read back after
 * attach. Then, with no checkpoint asked for (interval 0, no dirty limit),
 * one page per MiB until ENOSPC: each page needs a tree block of its own
 * besides its block, which its checkpoint allocates. The writes must stop
 * with ENOSPC before the store has promised more blocks than it has, and
 * what they promised must commit: the fsync after them succeeds (it once
 * failed for lack of space while writing the tree blocks, which shut the
 * store down), and every page reads back after detach and attach.
 */
#define SPARSE_SIZE	(1ull << 44)

static const uint64_t far_pages[] = {
	(2ull << 30) / PAGE, (2ull << 30) / PAGE + 1, (1ull << 40) / PAGE,
	SPARSE_SIZE / PAGE - 1,
};
#define NFAR	(sizeof(far_pages) / sizeof(far_pages[0]))
#define FAR_MAPPED	((8ull << 40) / PAGE)

static void check_far(struct __test_metadata *_metadata, int fd)
{
	uint64_t buf[WPP], want[WPP];
	unsigned int i;
	void *map;

	for (i = 0; i < NFAR; i++) {
		memset(buf, 0, sizeof(buf));
		fill_page(want, SLOT_S, far_pages[i]);
		EXPECT_EQ(PAGE, capstore_segment_pread(fd, buf, PAGE,
						       far_pages[i] * PAGE));
		EXPECT_EQ(0, memcmp(buf, want, PAGE)) TH_LOG("page %" PRIu64,
							      far_pages[i]);
	}
	ASSERT_EQ(0, capstore_segment_map(fd, FAR_MAPPED * PAGE, PAGE,
					  PROT_READ, &map));
	fill_page(want, SLOT_S, FAR_MAPPED);
	EXPECT_EQ(0, memcmp(map, want, PAGE));
	capstore_segment_unmap(map, PAGE);
}

TEST_F(sp, sparse_fill)
{
	long long free0, blocks = get("blocks");
	uint64_t buf[WPP], n;
	unsigned int i;
	void *map;
	ssize_t ret;
	int fd;

	fd = seg_create(self->root, SLOT_S, SPARSE_SIZE);
	ASSERT_LE(0, fd);
	for (i = 0; i < NFAR; i++) {
		fill_page(buf, SLOT_S, far_pages[i]);
		ret = capstore_segment_pwrite(fd, buf, PAGE,
					      far_pages[i] * PAGE);
		EXPECT_EQ(PAGE, ret) TH_LOG("pwrite at page %" PRIu64 ": %s",
					    far_pages[i], strerror(-ret));
	}
	ASSERT_EQ(0, capstore_segment_map(fd, FAR_MAPPED * PAGE, PAGE,
					  PROT_READ | PROT_WRITE, &map));
	fill_page(map, SLOT_S, FAR_MAPPED);
	capstore_segment_unmap(map, PAGE);
	ASSERT_EQ(0, fsync(fd));
	close(fd);
	ASSERT_EQ(0, cs_reattach(&self->id, &self->root));
	fd = fetch(self->root, SLOT_S);
	ASSERT_LE(0, fd);
	check_far(_metadata, fd);

	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "dirty_limit_bytes",
				  "4503599627370496"));
	free0 = get("free_blocks");
	for (n = 0;; n++) {
		uint64_t page = (3ull << 30) / PAGE + n * (MiB / PAGE);

		fill_page(buf, SLOT_S, page);
		ret = capstore_segment_pwrite(fd, buf, PAGE, page * PAGE);
		if (ret != PAGE)
			break;
		/* never more promised than the store has */
		if (n % 256 == 0)
			ASSERT_GE(blocks * PAGE, get("dirty_bytes"))
				TH_LOG("after %" PRIu64 " pages", n);
	}
	TH_LOG("%" PRIu64 " pages one MiB apart, %lld blocks free before, then %s",
	       n, free0, strerror(-ret));
	EXPECT_EQ(-ENOSPC, ret);
	/* Two blocks a page (its own, a tree leaf) and a little more. */
	EXPECT_GE((uint64_t)free0 / 2, n);
	EXPECT_LE((uint64_t)free0 / 3, n);
	EXPECT_GE(blocks * PAGE, get("dirty_bytes"));
	EXPECT_EQ(0, get("shutdown"));
	check_far(_metadata, fd);

	/* What was promised commits. */
	EXPECT_EQ(0, fsync(fd)) TH_LOG("fsync after the sparse fill: %s",
				       strerror(errno));
	EXPECT_EQ(0, get("shutdown")) TH_LOG("shut down by a sparse fill");
	EXPECT_EQ(0, get("failed_checkpoints"));
	EXPECT_EQ(0, get("dirty_bytes"));
	close(fd);
	if (get("shutdown"))
		return;
	ASSERT_EQ(0, cs_reattach(&self->id, &self->root));
	fd = fetch(self->root, SLOT_S);
	ASSERT_LE(0, fd);
	check_far(_metadata, fd);
	for (i = 0; i < n; i++) {
		uint64_t want[WPP], page = (3ull << 30) / PAGE + i * (MiB / PAGE);

		fill_page(want, SLOT_S, page);
		ASSERT_EQ(PAGE, capstore_segment_pread(fd, buf, PAGE,
						       page * PAGE));
		ASSERT_EQ(0, memcmp(buf, want, PAGE))
			TH_LOG("sparse page %u of %" PRIu64, i, n);
	}

	ASSERT_EQ(0, capstore_cap_destroy(fd, 0));
	close(fd);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	EXPECT_EQ(0, get("dirty_bytes"));
	EXPECT_LE(free0, get("free_blocks"));
	EXPECT_EQ(0, get("shutdown"));
	EXPECT_EQ(0, get("failed_checkpoints"));
}

/* --- a segment larger than memory -------------------------------------- */

static uint64_t big_word(uint64_t page, unsigned int w)
{
	return ((page << 9 | w) + 1) * 0x9e3779b97f4a7c15ull ^ 0x5bd1e995ull;
}

static void big_fill(uint64_t *p, uint64_t first_page, uint64_t pages)
{
	uint64_t i;
	unsigned int w;

	for (i = 0; i < pages; i++)
		for (w = 0; w < WPP; w++)
			p[i * WPP + w] = big_word(first_page + i, w);
}

/* Pages that differ from the pattern; the first few logged. */
static uint64_t big_check(struct __test_metadata *_metadata,
			  const uint64_t *p, uint64_t first_page,
			  uint64_t pages, uint64_t *logged)
{
	uint64_t i, bad = 0;
	unsigned int w;

	for (i = 0; i < pages; i++) {
		for (w = 0; w < WPP; w++)
			if (p[i * WPP + w] != big_word(first_page + i, w))
				break;
		if (w == WPP)
			continue;
		bad++;
		if ((*logged)++ < 8)
			TH_LOG("page %" PRIu64 " word %u: %#" PRIx64 ", want %#" PRIx64,
			       first_page + i, w, p[i * WPP + w],
			       big_word(first_page + i, w));
	}
	return bad;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t mem_total(void)
{
	char line[128];
	uint64_t kb = 0;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %" SCNu64 " kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

#define BIG_CHUNK	MiB
#define BIG_MAP_EVERY	16

TEST_F_TIMEOUT(sp, big_write, 900)
{
	uint64_t size = env_u64("CKSP_BIG_MIB", 1024) * MiB, off, mem;
	uint64_t *buf = malloc(BIG_CHUNK);
	double t_io = 0, t_map = 0, t_fill = 0, t;
	long long c0;
	void *map;
	int fd;

	ASSERT_NE(NULL, buf);
	mem = mem_total();
	TH_LOG("segment %" PRIu64 " MiB, MemTotal %" PRIu64 " MiB", size / MiB,
	       mem / MiB);
	ASSERT_LE(4 * mem, size) TH_LOG("the segment must be at least four times the memory");
	fd = seg_create(self->root, SLOT_BIG, size);
	ASSERT_LE(0, fd);
	c0 = get("checkpoints");
	for (off = 0; off < size; off += BIG_CHUNK) {
		t = now_s();
		if (off / BIG_CHUNK % BIG_MAP_EVERY == BIG_MAP_EVERY - 1) {
			ASSERT_EQ(0, capstore_segment_map(fd, off, BIG_CHUNK,
							  PROT_READ | PROT_WRITE,
							  &map));
			big_fill(map, off / PAGE, BIG_CHUNK / PAGE);
			ASSERT_EQ(0, capstore_segment_unmap(map, BIG_CHUNK));
			t_map += now_s() - t;
			continue;
		}
		big_fill(buf, off / PAGE, BIG_CHUNK / PAGE);
		t_fill += now_s() - t;
		t = now_s();
		ASSERT_EQ((ssize_t)BIG_CHUNK,
			  capstore_segment_pwrite(fd, buf, BIG_CHUNK, off))
			TH_LOG("at %" PRIu64 " MiB", off / MiB);
		t_io += now_s() - t;
	}
	t = now_s();
	ASSERT_EQ(0, fsync(fd));
	TH_LOG("%.1f s making the pattern, %.1f s in pwrite, %.1f s in mappings, %.1f s in fsync",
	       t_fill, t_io, t_map, now_s() - t);
	TH_LOG("written and committed at seq %lld; %lld checkpoints during the write, %lld blocks free",
	       get("seq"), get("checkpoints") - c0, get("free_blocks"));
	EXPECT_EQ(0, get("failed_checkpoints"));
	EXPECT_EQ(0, get("shutdown"));
	EXPECT_EQ(0, get("dirty_bytes"));
	EXPECT_LE((long long)(size / PAGE), get("blocks") - get("free_blocks"));
	free(buf);
	CRASH_POINT();
	for (;;)
		pause();
}

TEST_F_TIMEOUT(sp, big_verify, 900)
{
	uint64_t size, off, bad = 0, logged = 0;
	uint64_t *buf = malloc(BIG_CHUNK);
	double t_io = 0, t_map = 0, t_check = 0, t;
	void *map;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = fetch(self->root, SLOT_BIG);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, capstore_segment_size(fd, &size));
	ASSERT_EQ(env_u64("CKSP_BIG_MIB", 1024) * MiB, size);
	ASSERT_LE(4 * mem_total(), size);
	for (off = 0; off < size; off += BIG_CHUNK) {
		t = now_s();
		if (off / BIG_CHUNK % BIG_MAP_EVERY == BIG_MAP_EVERY / 2) {
			ASSERT_EQ(0, capstore_segment_map(fd, off, BIG_CHUNK,
							  PROT_READ, &map));
			bad += big_check(_metadata, map, off / PAGE,
					 BIG_CHUNK / PAGE, &logged);
			ASSERT_EQ(0, capstore_segment_unmap(map, BIG_CHUNK));
			t_map += now_s() - t;
			continue;
		}
		ASSERT_EQ((ssize_t)BIG_CHUNK,
			  capstore_segment_pread(fd, buf, BIG_CHUNK, off))
			TH_LOG("at %" PRIu64 " MiB", off / MiB);
		t_io += now_s() - t;
		t = now_s();
		bad += big_check(_metadata, buf, off / PAGE, BIG_CHUNK / PAGE,
				 &logged);
		t_check += now_s() - t;
	}
	TH_LOG("%.1f s in pread, %.1f s checking, %.1f s in mappings",
	       t_io, t_check, t_map);
	EXPECT_EQ(0ull, bad) TH_LOG("%" PRIu64 " of %" PRIu64 " pages differ",
				    bad, size / PAGE);
	free(buf);
	close(fd);
}

CS_HARNESS_MAIN
