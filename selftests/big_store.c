// SPDX-License-Identifier: GPL-2.0
/*
 * big_store - a store of 2^32 blocks (16 TiB) or more attaches and works.
 *
 * The kernel's bitmap helpers count bits in an unsigned int: a space map
 * of 2^32 bits counted with bitmap_weight() or copied with bitmap_copy()
 * over the whole store counts and copies nothing. The scenario formats a
 * sparse file of exactly 16 TiB on tmpfs; this program, given its loop
 * device in $CS_TEST_DEV, attaches it, checks the block counts sysfs
 * shows, writes and checkpoints a segment, detaches, attaches again and
 * reads the segment back.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define SEG_SIZE	(4u << 20)

static void fill(uint64_t *buf, size_t words, uint64_t seed)
{
	size_t i;

	for (i = 0; i < words; i++)
		buf[i] = cs_mix(seed + i);
}

FIXTURE(big) {
	int unused;
};

FIXTURE_SETUP(big)
{
	cs_detach_stale();
}

FIXTURE_TEARDOWN(big)
{
}

/* Each attach allocates and scans 1 GiB of space map: minutes on TCG. */
TEST_F_TIMEOUT(big, use, 600)
{
	size_t words = SEG_SIZE / sizeof(uint64_t);
	uint64_t *want = malloc(SEG_SIZE), *got = malloc(SEG_SIZE);
	long long blocks, free_blocks;
	uint32_t id;
	int root, seg, round;

	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, got);
	fill(want, words, 0x16);

	ASSERT_EQ(0, cs_attach(&id));
	blocks = cs_store_get(cs_test_dev(), "blocks");
	free_blocks = cs_store_get(cs_test_dev(), "free_blocks");
	TH_LOG("blocks %lld, free %lld", blocks, free_blocks);
	ASSERT_LE(1LL << 32, blocks);
	/* Only the formatted store's few blocks are used. */
	ASSERT_LT(blocks - 100, free_blocks);
	ASSERT_GT(blocks, free_blocks);

	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_create(root, 0, CAPSTORE_KIND_SEGMENT, SEG_SIZE,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	ASSERT_EQ((ssize_t)SEG_SIZE, pwrite(seg, want, SEG_SIZE, 0));
	ASSERT_EQ(0, fsync(seg));
	/* The data and its tree are allocated now. */
	EXPECT_GT(free_blocks - (long long)(SEG_SIZE / 4096),
		  cs_store_get(cs_test_dev(), "free_blocks"));
	capstore_cap_close(seg);

	/*
	 * Twice: read back after a reattach, then overwrite (copy-on-write
	 * of committed blocks) for the next round to read.
	 */
	for (round = 0; round < 2; round++) {
		ASSERT_EQ(0, cs_reattach(&id, &root));
		seg = capstore_node_fetch(root, 0, CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, seg);
		ASSERT_EQ((ssize_t)SEG_SIZE, pread(seg, got, SEG_SIZE, 0));
		EXPECT_EQ(0, memcmp(want, got, SEG_SIZE));
		fill(want, words, 0x17 + round);
		ASSERT_EQ((ssize_t)SEG_SIZE, pwrite(seg, want, SEG_SIZE, 0));
		ASSERT_EQ(0, fsync(seg));
		capstore_cap_close(seg);
	}
	capstore_cap_close(root);
	ASSERT_EQ(0, cs_detach(id));
	free(want);
	free(got);
}

CS_HARNESS_MAIN
