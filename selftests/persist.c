// SPDX-License-Identifier: GPL-2.0
/*
 * persist - segment data survives detach/attach, reboots and power cuts,
 * byte for byte.
 *
 * A set of segments of different sizes is kept in the root node's slots
 * 1..N; each holds a pattern that depends on the segment, the 8-byte word
 * and a generation number, written through mmap or through pwrite. The
 * sparse segment is written in a few scattered pages only; every other
 * page must read back as zeroes. Tests are phases, picked per boot by the
 * scenario (cs_harness.h -t):
 *
 *   create            make the segments, write generation 1, checkpoint
 *   verify1           everything holds generation 1
 *   rewrite2          write generation 2 with the other method, detach,
 *                     attach again in the same boot and check it
 *   verify2           everything holds generation 2
 *   crash_write       write generation 3 and checkpoint it, then start
 *                     generation 4 without a checkpoint, print the crash
 *                     marker and keep writing until the VM is killed
 *   crash_verify      exactly generation 3 everywhere: the committed
 *                     checkpoint whole, nothing written after it
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

enum fill { FILL_MMAP, FILL_PWRITE, FILL_SPARSE };

struct seg {
	const char *name;
	uint64_t size;
	enum fill how;
};

#define MiB (1ull << 20)

static const struct seg segs[] = {
	{ "one page", 4096, FILL_MMAP },
	{ "1 MiB by pwrite", MiB, FILL_PWRITE },
	/* 769 pages: a tree of height 2 */
	{ "3 MiB + 4 KiB by mmap", 3 * MiB + 4096, FILL_MMAP },
	{ "9 MiB by pwrite, odd chunks", 9 * MiB, FILL_PWRITE },
	{ "sparse 256 MiB", 256 * MiB, FILL_SPARSE },
};
#define NSEGS (sizeof(segs) / sizeof(segs[0]))

/* Pages of the sparse segment that hold data; all others are holes. */
static const uint64_t sparse_pages[] = { 0, 1, 255, 256, 4097, 65535 };
#define NSPARSE (sizeof(sparse_pages) / sizeof(sparse_pages[0]))

static uint64_t word(unsigned int seg, uint64_t w, unsigned int gen)
{
	return cs_mix(((uint64_t)seg << 56) ^ ((uint64_t)gen << 48) ^ w);
}

static int page_has_data(const struct seg *s, uint64_t page)
{
	unsigned int i;

	if (s->how != FILL_SPARSE)
		return 1;
	for (i = 0; i < NSPARSE; i++)
		if (sparse_pages[i] == page)
			return 1;
	return 0;
}

static void fill_page(uint64_t *p, unsigned int seg, uint64_t page,
		      unsigned int gen)
{
	uint64_t w;

	for (w = 0; w < 512; w++)
		p[w] = word(seg, page * 512 + w, gen);
}

/*
 * Write generation @gen into segment @i, through a shared mapping or with
 * pwrite in chunks of an awkward size that straddle page boundaries.
 */
static int write_seg(int fd, unsigned int i, unsigned int gen, int use_mmap)
{
	static uint64_t buf[3 * 512 + 123];
	const struct seg *s = &segs[i];
	uint64_t npages = s->size / 4096, page, off, len, w;
	ssize_t n;

	if (use_mmap) {
		void *map;
		int ret;

		ret = capstore_segment_map(fd, 0, s->size,
					   PROT_READ | PROT_WRITE, &map);
		if (ret)
			return ret;
		for (page = 0; page < npages; page++)
			if (page_has_data(s, page))
				fill_page((uint64_t *)map + page * 512, i, page,
					  gen);
		return capstore_segment_unmap(map, s->size);
	}
	for (off = 0; off < s->size; off += len) {
		len = sizeof(buf);
		if (s->how == FILL_SPARSE) {
			page = off / 4096;
			len = 4096;
			if (!page_has_data(s, page))
				continue;
		}
		if (len > s->size - off)
			len = s->size - off;
		for (w = 0; w < len / 8; w++)
			buf[w] = word(i, off / 8 + w, gen);
		n = capstore_segment_pwrite(fd, buf, len, off);
		if (n < 0)
			return n;
		if ((uint64_t)n != len)
			return -EIO;
	}
	return 0;
}

/* Every byte of segment @i holds generation @gen (holes: zeroes). */
static int check_seg(struct __test_metadata *_metadata, int fd,
		     unsigned int i, unsigned int gen)
{
	const struct seg *s = &segs[i];
	uint64_t npages = s->size / 4096, page, w, bad = 0;
	struct capstore_cap_info info;
	uint64_t *p;
	void *map;

	EXPECT_EQ(0, capstore_cap_info(fd, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, info.out_kind);
	EXPECT_EQ(s->size, info.out_size);
	if (capstore_segment_map(fd, 0, s->size, PROT_READ, &map)) {
		TH_LOG("%s: cannot map", s->name);
		return -1;
	}
	p = map;
	for (page = 0; page < npages; page++) {
		for (w = 0; w < 512; w++) {
			uint64_t want = page_has_data(s, page) ?
				word(i, page * 512 + w, gen) : 0;

			if (p[page * 512 + w] == want)
				continue;
			if (bad++ < 4)
				TH_LOG("%s: page %" PRIu64 " word %" PRIu64
				       ": %#" PRIx64 ", want %#" PRIx64
				       " (generation %u)", s->name, page, w,
				       p[page * 512 + w], want, gen);
		}
	}
	capstore_segment_unmap(map, s->size);
	if (bad)
		TH_LOG("%s: %" PRIu64 " words differ", s->name, bad);
	return bad ? -1 : 0;
}

static void verify_all(struct __test_metadata *_metadata, unsigned int gen)
{
	unsigned int i;
	uint32_t id;
	int root, fd, failed = 0;

	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	for (i = 0; i < NSEGS; i++) {
		fd = capstore_node_fetch(root, i + 1, 0);
		ASSERT_LE(0, fd) TH_LOG("slot %u: %s", i + 1, strerror(-fd));
		if (check_seg(_metadata, fd, i, gen))
			failed++;
		close(fd);
	}
	close(root);
	ASSERT_EQ(0, cs_detach(id));
	ASSERT_EQ(0, failed);
}

static void write_all(struct __test_metadata *_metadata, int root,
		      unsigned int gen, int swap)
{
	unsigned int i;
	int fd;

	for (i = 0; i < NSEGS; i++) {
		int use_mmap = segs[i].how == FILL_MMAP;

		if (swap && segs[i].how != FILL_SPARSE)
			use_mmap = !use_mmap;
		fd = capstore_node_fetch(root, i + 1, 0);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, write_seg(fd, i, gen, use_mmap))
			TH_LOG("%s", segs[i].name);
		close(fd);
	}
}

TEST(create)
{
	unsigned int i;
	uint64_t seq;
	uint32_t id;
	int root, fd;

	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	for (i = 0; i < NSEGS; i++) {
		fd = capstore_node_create(root, i + 1, CAPSTORE_KIND_SEGMENT,
					  segs[i].size, 0);
		ASSERT_LE(0, fd) TH_LOG("%s: %s", segs[i].name, strerror(-fd));
		close(fd);
	}
	write_all(_metadata, root, 1, 0);
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, &seq));
	EXPECT_LT(1ull, seq);
	close(root);
	ASSERT_EQ(0, cs_detach(id));
}

TEST(verify1)
{
	verify_all(_metadata, 1);
}

TEST(rewrite2)
{
	uint32_t id;
	int root;

	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	write_all(_metadata, root, 2, 1);
	close(root);
	/* No explicit checkpoint: detach takes the final one. */
	ASSERT_EQ(0, cs_detach(id));
	verify_all(_metadata, 2);
}

TEST(verify2)
{
	verify_all(_metadata, 2);
}

TEST(crash_write)
{
	unsigned int i, round;
	uint64_t seq;
	uint32_t id;
	int root, fd;

	ASSERT_EQ(0, cs_attach(&id));
	/* Only the checkpoint asked for below may commit anything. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "dirty_limit_bytes",
				  "4503599627370496"));
	root = cs_root(id);
	ASSERT_LE(0, root);
	write_all(_metadata, root, 3, 0);
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, &seq));

	/* Generation 4 is never checkpointed: it must not survive. */
	fd = capstore_node_fetch(root, 1, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_seg(fd, 0, 4, 1));
	close(fd);
	cs_crash_point();
	for (round = 0;; round++)
		for (i = 0; i < NSEGS; i++) {
			fd = capstore_node_fetch(root, i + 1, 0);
			ASSERT_LE(0, fd);
			ASSERT_EQ(0, write_seg(fd, i, 4 + round % 2,
					       segs[i].how != FILL_PWRITE));
			close(fd);
		}
}

TEST(crash_verify)
{
	verify_all(_metadata, 3);
}

CS_HARNESS_MAIN
