// SPDX-License-Identifier: GPL-2.0
/*
 * attach_errors - a damaged, foreign or truncated store is refused with a
 * clear error, never a crash.
 *
 * Each test formats the scratch device $CS_TEST_DEV with the capstore tool,
 * damages one thing, and attaches. Damage inside a checksummed structure
 * is either left as a checksum error or resealed (checksums recomputed) so
 * that the field checks behind the checksum are reached too. The host
 * fails the run on any kernel splat.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/loop.h>

#include "cs_harness.h"
#include "cs_test.h"

/* The verifiers and CRC of the tools: to reseal what a test changes. */
#include "../common/crc32c.c"
#include "../common/verify.c"

#define BS CAPSTORE_BLOCK_SIZE

static void fmt(struct __test_metadata *_metadata, const char *opts)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "capstore format --force %s %s >/dev/null",
		 opts, cs_test_dev());
	ASSERT_EQ(0, system(cmd));
}

static void rd(struct __test_metadata *_metadata, uint64_t blkno, void *buf)
{
	int fd = open(cs_test_dev(), O_RDONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(BS, pread(fd, buf, BS, blkno * BS));
	close(fd);
}

static void wr(struct __test_metadata *_metadata, uint64_t blkno,
	       const void *buf)
{
	int fd = open(cs_test_dev(), O_WRONLY);

	ASSERT_LE(0, fd);
	ASSERT_EQ(BS, pwrite(fd, buf, BS, blkno * BS));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
}

static void seal_sb(struct capstore_dsb *sb)
{
	sb->crc = htole32(capstore_crc_block_excl(sb,
			offsetof(struct capstore_dsb, crc)));
}

static void seal_hdr(struct capstore_dhdr *h)
{
	h->crc = htole32(capstore_crc_block_excl(h,
			offsetof(struct capstore_dhdr, crc)));
}

/* Attach must fail with @err; a success is detached again. */
static void expect_attach(struct __test_metadata *_metadata, int err)
{
	uint32_t id;
	int ret = cs_attach(&id);

	if (!ret)
		cs_detach(id);
	ASSERT_EQ(err, ret) TH_LOG("attach gave %s, want %s",
				   strerror(-ret), strerror(-err));
}

/* A freshly formatted store: the newest header is seq 1 in slot 1. */
#define HDR_BLOCK 2

FIXTURE(sb) {
	struct capstore_dsb sb;
};

FIXTURE_SETUP(sb)
{
	fmt(_metadata, "");
	rd(_metadata, 0, &self->sb);
}

FIXTURE_TEARDOWN(sb)
{
}

#define SB_CASE(name, err, resealed, stmt)			\
	TEST_F(sb, name)					\
	{							\
		struct capstore_dsb *sb = &self->sb;		\
		stmt;						\
		if (resealed)					\
			seal_sb(sb);				\
		wr(_metadata, 0, sb);				\
		expect_attach(_metadata, -(err));		\
	}

SB_CASE(intact, 0, 0, (void)sb)
SB_CASE(magic, EINVAL, 1, sb->magic ^= htole64(1))
SB_CASE(zeroed, EINVAL, 0, memset(sb, 0, BS))
SB_CASE(all_ones, EINVAL, 0, memset(sb, 0xff, BS))
SB_CASE(bit_flip_label, EBADMSG, 0, sb->label[3] ^= 0x10)
SB_CASE(bit_flip_nblocks, EBADMSG, 0, sb->nblocks ^= htole64(1ull << 33))
SB_CASE(crc_zero, EBADMSG, 0, sb->crc = 0)
SB_CASE(version_2, EOPNOTSUPP, 1, sb->version = htole32(2))
SB_CASE(version_0, EOPNOTSUPP, 1, sb->version = 0)
SB_CASE(incompat, EOPNOTSUPP, 1, sb->feature_incompat = htole64(1ull << 40))
SB_CASE(ro_compat, EOPNOTSUPP, 1, sb->feature_ro_compat = htole64(1))
SB_CASE(unknown_compat_ignored, 0, 1, sb->feature_compat = htole64(1ull << 7))
SB_CASE(block_size_512, EUCLEAN, 1, sb->block_size = htole32(512))
SB_CASE(block_size_ones, EUCLEAN, 1, sb->block_size = ~0u)
SB_CASE(slots_0, EUCLEAN, 1, sb->header_slots = 0)
SB_CASE(slots_1, EUCLEAN, 1, sb->header_slots = htole32(1))
SB_CASE(slots_17, EUCLEAN, 1, sb->header_slots = htole32(17))
SB_CASE(slots_ones, EUCLEAN, 1, sb->header_slots = ~0u)
SB_CASE(slots_3, EUCLEAN, 1, sb->header_slots = htole32(3))
SB_CASE(header_start_0, EUCLEAN, 1, sb->header_start = 0)
SB_CASE(header_start_2, EUCLEAN, 1, sb->header_start = htole64(2))
SB_CASE(data_start_off_by_one, EUCLEAN, 1,
	sb->data_start = htole64(le64toh(sb->data_start) + 1))
SB_CASE(data_start_0, EUCLEAN, 1, sb->data_start = 0)
SB_CASE(nblocks_0, EUCLEAN, 1, sb->nblocks = 0)
SB_CASE(nblocks_63, EUCLEAN, 1, sb->nblocks = htole64(63))
SB_CASE(nblocks_past_device, EUCLEAN, 1,
	sb->nblocks = htole64(le64toh(sb->nblocks) + 1))
SB_CASE(nblocks_huge, EUCLEAN, 1, sb->nblocks = htole64(1ull << 41))
SB_CASE(nblocks_ones, EUCLEAN, 1, sb->nblocks = ~0ull)
SB_CASE(uuid_null, EUCLEAN, 1, memset(sb->uuid, 0, sizeof(sb->uuid)))
SB_CASE(reserved, EUCLEAN, 1, sb->reserved[100] = 1)
SB_CASE(label_not_padded, EUCLEAN, 1, sb->label[0] = 0; sb->label[9] = 'x')

/* The kernel log says why. */
TEST_F(sb, reason_logged)
{
	self->sb.header_slots = htole32(99);
	seal_sb(&self->sb);
	wr(_metadata, 0, &self->sb);
	expect_attach(_metadata, -EUCLEAN);
	EXPECT_TRUE(cs_kmsg_contains("superblock: header slot count out of range"));
}

/* A device shorter than the store says, seen through a loop device. */
TEST(truncated_device)
{
	struct loop_info64 info = { .lo_sizelimit = 32 << 20 };
	char loopdev[32];
	int ctl, nr, loop, back;
	uint32_t id;

	fmt(_metadata, "");
	ctl = open("/dev/loop-control", O_RDWR);
	if (ctl < 0)
		SKIP(return, "no loop devices");
	nr = ioctl(ctl, LOOP_CTL_GET_FREE);
	ASSERT_LE(0, nr);
	close(ctl);
	snprintf(loopdev, sizeof(loopdev), "/dev/loop%d", nr);
	loop = open(loopdev, O_RDWR);
	ASSERT_LE(0, loop);
	back = open(cs_test_dev(), O_RDWR);
	ASSERT_LE(0, back);
	ASSERT_EQ(0, ioctl(loop, LOOP_SET_FD, back));
	ASSERT_EQ(0, ioctl(loop, LOOP_SET_STATUS64, &info));
	close(back);

	EXPECT_EQ(-EUCLEAN, cs_attach_path(loopdev, &id));
	EXPECT_TRUE(cs_kmsg_contains("store larger than the device"));
	ASSERT_EQ(0, ioctl(loop, LOOP_CLR_FD, 0));
	close(loop);
}

FIXTURE(hdr) {
	struct capstore_dhdr h;
};

FIXTURE_SETUP(hdr)
{
	fmt(_metadata, "");
	rd(_metadata, HDR_BLOCK, &self->h);
	ASSERT_EQ(1ull, le64toh(self->h.seq));
}

FIXTURE_TEARDOWN(hdr)
{
}

/* The only header is damaged: nothing to recover, EUCLEAN. */
#define HDR_CASE(name, resealed, stmt)				\
	TEST_F(hdr, name)					\
	{							\
		struct capstore_dhdr *h = &self->h;		\
		stmt;						\
		if (resealed)					\
			seal_hdr(h);				\
		wr(_metadata, HDR_BLOCK, h);			\
		expect_attach(_metadata, -EUCLEAN);		\
	}

HDR_CASE(crc, 0, h->crc ^= htole32(4))
HDR_CASE(bit_flip, 0, h->next_oid ^= htole64(1ull << 20))
HDR_CASE(magic, 1, h->magic = htole64(CAPSTORE_SB_MAGIC))
HDR_CASE(uuid, 1, h->uuid[5] ^= 1)
HDR_CASE(seq_0, 1, h->seq = 0)
HDR_CASE(wrong_slot, 1, h->seq = htole64(2))
/* In its slot (a power of two divides 2^62), past CAPSTORE_SEQ_MAX. */
HDR_CASE(seq_past_max, 1, h->seq = htole64(CAPSTORE_SEQ_MAX + 2))
HDR_CASE(next_oid_0, 1, h->next_oid = 0)
HDR_CASE(next_oid_1, 1, h->next_oid = htole64(1))
HDR_CASE(next_oid_huge, 1, h->next_oid = htole64(1ull << 62))
HDR_CASE(root_oid_0, 1, h->root_oid = 0)
HDR_CASE(root_oid_past, 1, h->root_oid = h->next_oid)
HDR_CASE(nobjects_0, 1, h->nobjects = 0)
HDR_CASE(used_blocks_0, 1, h->used_blocks = 0)
HDR_CASE(used_blocks_past, 1, h->used_blocks = htole64(1ull << 40))
HDR_CASE(otable_height, 1, h->otable.height = 9)
HDR_CASE(otable_hole, 1, memset(&h->otable.root, 0, sizeof(h->otable.root)))
HDR_CASE(otable_at_sb, 1, h->otable.root.blkno = 0; h->otable.root.crc = 1)
HDR_CASE(otable_at_header, 1, h->otable.root.blkno = htole64(1))
HDR_CASE(otable_past_end, 1, h->otable.root.blkno = htole64(1ull << 30))
HDR_CASE(otable_reserved, 1, h->otable.root.reserved = htole32(1))
HDR_CASE(otable_tree_reserved, 1, h->otable.reserved[0] = 1)
HDR_CASE(spacemap_height, 1, h->spacemap.height = 1)
HDR_CASE(spacemap_hole, 1,
	 memset(&h->spacemap.root, 0, sizeof(h->spacemap.root)))
HDR_CASE(reserved, 1, h->reserved[3000] = 0x80)

/*
 * A store near the last sequence number (only a crafted header gets one)
 * commits up to CAPSTORE_SEQ_MAX and then shuts down rather than write a
 * header with seq 0; it detaches, and the next attach recovers the last.
 */
TEST_F(hdr, seq_max)
{
	struct capstore_dsb sb;
	uint64_t slots, seq, out;
	char page[4096];
	int root, seg;
	uint32_t id;

	rd(_metadata, 0, &sb);
	slots = le32toh(sb.header_slots);
	/* The highest seq below SEQ_MAX - 1 that lives in this slot. */
	seq = CAPSTORE_SEQ_MAX - 2;
	seq -= (seq - (HDR_BLOCK - 1)) % slots;
	self->h.seq = htole64(seq);
	seal_hdr(&self->h);
	wr(_metadata, HDR_BLOCK, &self->h);

	ASSERT_EQ(0, cs_attach(&id));
	EXPECT_EQ((long long)seq, cs_store_get(cs_test_dev(), "seq"));
	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_create(root, 1, CAPSTORE_KIND_SEGMENT,
				   sizeof(page), CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	memset(page, 0, sizeof(page));
	while (seq < CAPSTORE_SEQ_MAX) {
		page[0]++;
		ASSERT_EQ((ssize_t)sizeof(page),
			  capstore_segment_pwrite(seg, page, sizeof(page), 0));
		ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, &out));
		EXPECT_EQ(++seq, out);
	}
	page[0]++;
	ASSERT_EQ((ssize_t)sizeof(page),
		  capstore_segment_pwrite(seg, page, sizeof(page), 0));
	EXPECT_EQ(-EIO, capstore_cap_checkpoint(root, 0, &out));
	EXPECT_EQ(1, cs_store_get(cs_test_dev(), "shutdown"));
	EXPECT_TRUE(cs_kmsg_contains("checkpoint sequence numbers exhausted"));
	close(seg);
	close(root);
	ASSERT_EQ(0, cs_detach(id));

	ASSERT_EQ(0, cs_attach(&id));
	EXPECT_EQ((long long)CAPSTORE_SEQ_MAX,
		  cs_store_get(cs_test_dev(), "seq"));
	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_fetch(root, 1, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	ASSERT_EQ((ssize_t)sizeof(page),
		  capstore_segment_pread(seg, page, sizeof(page), 0));
	/* The last committed write; the one after it was never committed. */
	EXPECT_EQ((char)(CAPSTORE_SEQ_MAX - le64toh(self->h.seq)), page[0]);
	close(seg);
	close(root);
	EXPECT_EQ(0, cs_detach(id));
}

/* A sound header of a newer format version is not skipped: refused. */
TEST_F(hdr, newer_version)
{
	self->h.version = htole32(9);
	seal_hdr(&self->h);
	wr(_metadata, HDR_BLOCK, &self->h);
	expect_attach(_metadata, -EOPNOTSUPP);
}

/* Checksummed blocks below the header: EBADMSG, or EUCLEAN if resealed. */
static void damage_leaf(struct __test_metadata *_metadata,
			struct capstore_dhdr *h, struct capstore_bptr *ref,
			void (*damage)(void *leaf), int reseal)
{
	static uint8_t leaf[BS];
	uint64_t blkno = le64toh(ref->blkno);

	rd(_metadata, blkno, leaf);
	damage(leaf);
	wr(_metadata, blkno, leaf);
	if (reseal) {
		ref->crc = htole32(capstore_crc(leaf, BS));
		seal_hdr(h);
		wr(_metadata, HDR_BLOCK, h);
	}
}

static void flip_first_byte(void *leaf)
{
	((uint8_t *)leaf)[0] ^= 1;
}

static void root_record_segment(void *leaf)
{
	((struct capstore_dobj *)leaf)[1].kind = htole32(CAPSTORE_DOBJ_SEGMENT);
}

static void root_record_kind_7(void *leaf)
{
	((struct capstore_dobj *)leaf)[1].kind = htole32(7);
}

static void record_of_unused_id(void *leaf)
{
	((struct capstore_dobj *)leaf)[40].kind = htole32(CAPSTORE_DOBJ_NODE);
}

static void clear_bit_0(void *leaf)
{
	((uint8_t *)leaf)[0] &= ~1;
}

static void bit_past_end(void *leaf)
{
	((uint8_t *)leaf)[BS - 1] |= 0x80;
}

static void extra_bit(void *leaf)
{
	((uint8_t *)leaf)[1000] |= 0x01;
}

TEST_F(hdr, otable_leaf_checksum)
{
	damage_leaf(_metadata, &self->h, &self->h.otable.root,
		    flip_first_byte, 0);
	expect_attach(_metadata, -EBADMSG);
}

TEST_F(hdr, root_not_a_node)
{
	damage_leaf(_metadata, &self->h, &self->h.otable.root,
		    root_record_segment, 1);
	expect_attach(_metadata, -EUCLEAN);
}

TEST_F(hdr, record_unknown_kind)
{
	damage_leaf(_metadata, &self->h, &self->h.otable.root,
		    root_record_kind_7, 1);
	expect_attach(_metadata, -EUCLEAN);
}

TEST_F(hdr, record_past_next_oid)
{
	damage_leaf(_metadata, &self->h, &self->h.otable.root,
		    record_of_unused_id, 1);
	expect_attach(_metadata, -EUCLEAN);
}

TEST_F(hdr, spacemap_leaf_checksum)
{
	damage_leaf(_metadata, &self->h, &self->h.spacemap.root,
		    flip_first_byte, 0);
	expect_attach(_metadata, -EBADMSG);
}

TEST_F(hdr, spacemap_superblock_free)
{
	damage_leaf(_metadata, &self->h, &self->h.spacemap.root,
		    clear_bit_0, 1);
	expect_attach(_metadata, -EUCLEAN);
}

TEST_F(hdr, spacemap_past_end)
{
	/* The scratch disk is 64 MiB: bits from 16384 on must be clear. */
	damage_leaf(_metadata, &self->h, &self->h.spacemap.root,
		    bit_past_end, 1);
	expect_attach(_metadata, -EUCLEAN);
}

TEST_F(hdr, spacemap_count)
{
	damage_leaf(_metadata, &self->h, &self->h.spacemap.root, extra_bit, 1);
	expect_attach(_metadata, -EUCLEAN);
}

/*
 * With several checkpoints on disk, a damaged newest header is skipped and
 * the one before it recovered.
 */
TEST(fallback_to_older_header)
{
	struct capstore_dhdr h;
	uint32_t id;
	int root, fd;
	uint64_t seq;
	char path[64], buf[32] = "";

	fmt(_metadata, "");
	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	fd = capstore_node_create(root, 0, CAPSTORE_KIND_SEGMENT, 4096, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, capstore_cap_checkpoint(fd, 0, &seq));
	ASSERT_EQ(2ull, seq);
	ASSERT_EQ(5, capstore_segment_pwrite(fd, "later", 5, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(fd, 0, &seq));
	ASSERT_EQ(3ull, seq);
	close(fd);
	close(root);
	ASSERT_EQ(0, cs_detach(id));

	/* seq 3 is in slot 3 (block 4); make it unreadable as a header */
	rd(_metadata, 4, &h);
	ASSERT_EQ(3ull, le64toh(h.seq));
	h.used_blocks ^= htole64(1);
	wr(_metadata, 4, &h);

	ASSERT_EQ(0, cs_attach(&id));
	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/seq",
		 strrchr(cs_test_dev(), '/') + 1);
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_LT(0, read(fd, buf, sizeof(buf) - 1));
	close(fd);
	EXPECT_EQ(2, atoi(buf));
	root = cs_root(id);
	ASSERT_LE(0, root);
	fd = capstore_node_fetch(root, 0, 0);
	ASSERT_LE(0, fd);
	memset(buf, 0, sizeof(buf));
	ASSERT_EQ(5, capstore_segment_pread(fd, buf, 5, 0));
	EXPECT_EQ(0, memcmp(buf, "\0\0\0\0\0", 5));
	close(fd);
	close(root);
	ASSERT_EQ(0, cs_detach(id));
}

/*
 * Random damage to the metadata blocks: every attach either fails with one
 * of the documented errors or succeeds; nothing else may happen.
 */
TEST(random_damage)
{
	static uint8_t block[BS];
	unsigned int round, seed = 1;
	const char *s = getenv("CS_SEED");
	uint32_t id;

	if (s)
		seed = strtoul(s, NULL, 0);
	srandom(seed);
	TH_LOG("seed %u", seed);
	for (round = 0; round < 60; round++) {
		unsigned int flips, i;
		uint64_t blkno;
		int ret;

		if (round % 4 == 0)
			fmt(_metadata, "");
		blkno = random() % 8;
		rd(_metadata, blkno, block);
		flips = 1 + random() % 8;
		for (i = 0; i < flips; i++) {
			unsigned int bit = random() % (BS * 8);

			block[bit / 8] ^= 1 << (bit % 8);
		}
		wr(_metadata, blkno, block);
		ret = cs_attach(&id);
		if (!ret) {
			ASSERT_EQ(0, cs_detach(id));
			continue;
		}
		ASSERT_TRUE(ret == -EINVAL || ret == -EBADMSG ||
			    ret == -EUCLEAN || ret == -EOPNOTSUPP)
			TH_LOG("round %u: block %" PRIu64 ": %s", round, blkno,
			       strerror(-ret));
	}
}

CS_HARNESS_MAIN
