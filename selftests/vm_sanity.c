// SPDX-License-Identifier: GPL-2.0
/*
 * vm_sanity - proves the test VM itself, before any capstore code runs:
 * the virtio-blk disk is there, data fsynced in one boot is read back in the
 * next (also across a hard power-off), and io_uring works in a static
 * binary.
 *
 * The disk is $VM_SANITY_DISK (default /dev/vda); if $VM_SANITY_SIZE is set
 * the disk must have exactly that many bytes. Layout on the disk:
 *
 *   [0, 4 MiB)      region A: pattern written and fsynced
 *   [4 MiB, 8 MiB)  region B: pattern rewritten with O_DIRECT (so it reaches
 *                   the disk image) but never flushed, until the VM is
 *                   killed (crash_write); after the crash each sector holds
 *                   either nothing (zeroes) or a whole B sector
 *
 * Tests are picked per boot with -t (see cs_harness.h):
 *   boot 1: -t block_device -t pattern_write -t uring_nop
 *   boot 2: -t block_device -t pattern_verify
 *   crash:  -t crash_write  (prints CAPSTORE-CRASH-POINT, never returns)
 *   after:  -t crash_verify
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>
#include <liburing.h>

#include "cs_harness.h"

#define SECTOR		512
#define WORDS		(SECTOR / 8)
#define REGION		(4u << 20)
#define REGION_A	0ull
#define REGION_B	((unsigned long long)REGION)
#define MAGIC_A		0x4353414e4954594bull	/* arbitrary, never zero */
#define MAGIC_B		0x4353414e49545942ull
#define CRASH_MARKER	"CAPSTORE-CRASH-POINT"

static const char *disk_path(void)
{
	const char *p = getenv("VM_SANITY_DISK");

	return p && *p ? p : "/dev/vda";
}

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Sector @s of a region: magic, sector number, generation, then noise. */
static void fill_sector(uint64_t *w, uint64_t magic, uint64_t s, uint64_t gen)
{
	int i;

	w[0] = magic;
	w[1] = s;
	w[2] = gen;
	for (i = 3; i < WORDS; i++)
		w[i] = mix(magic ^ (s << 20) ^ (gen << 40) ^ (uint64_t)i);
}

/* 1: a whole sector of @magic (any generation), 0: all zero, -1: other. */
static int check_sector(const uint64_t *w, uint64_t magic, uint64_t s,
			uint64_t *gen)
{
	uint64_t want[WORDS];
	int i;

	if (w[0] == magic && w[1] == s) {
		fill_sector(want, magic, s, w[2]);
		if (!memcmp(w, want, SECTOR)) {
			*gen = w[2];
			return 1;
		}
		return -1;
	}
	for (i = 0; i < WORDS; i++)
		if (w[i])
			return -1;
	return 0;
}

static int write_region(int fd, unsigned long long off, uint64_t magic,
			uint64_t gen)
{
	/* aligned for O_DIRECT */
	static uint64_t buf[(64 << 10) / 8] __attribute__((aligned(4096)));
	unsigned long long done, s;
	size_t k;

	for (done = 0; done < REGION; done += sizeof(buf)) {
		for (k = 0; k < sizeof(buf) / SECTOR; k++) {
			s = (off + done) / SECTOR + k;
			fill_sector(buf + k * WORDS, magic, s, gen);
		}
		if (pwrite(fd, buf, sizeof(buf), off + done) != sizeof(buf))
			return -1;
	}
	return 0;
}

/*
 * Count sectors of a region: @full whole sectors of @magic, @empty zero
 * sectors; returns the first bad sector or -1 if none.
 */
static long long scan_region(int fd, unsigned long long off, uint64_t magic,
			     unsigned long *full, unsigned long *empty)
{
	static uint64_t buf[(64 << 10) / 8];
	unsigned long long done, s;
	uint64_t gen;
	size_t k;
	int r;

	*full = *empty = 0;
	for (done = 0; done < REGION; done += sizeof(buf)) {
		if (pread(fd, buf, sizeof(buf), off + done) != sizeof(buf))
			return (off + done) / SECTOR;
		for (k = 0; k < sizeof(buf) / SECTOR; k++) {
			s = (off + done) / SECTOR + k;
			r = check_sector(buf + k * WORDS, magic, s, &gen);
			if (r < 0)
				return s;
			if (r)
				(*full)++;
			else
				(*empty)++;
		}
	}
	return -1;
}

TEST(block_device)
{
	const char *want = getenv("VM_SANITY_SIZE");
	struct stat st;
	uint64_t bytes;
	int fd;

	ASSERT_EQ(0, stat(disk_path(), &st)) {
		TH_LOG("%s: %m", disk_path());
	}
	ASSERT_TRUE(S_ISBLK(st.st_mode));
	fd = open(disk_path(), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, BLKGETSIZE64, &bytes));
	close(fd);
	TH_LOG("%s: %" PRIu64 " bytes", disk_path(), bytes);
	if (want && *want)
		ASSERT_EQ(strtoull(want, NULL, 0), bytes);
	ASSERT_LE(2ull * REGION, bytes);
}

TEST(pattern_write)
{
	int fd = open(disk_path(), O_RDWR | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, write_region(fd, REGION_A, MAGIC_A, 1));
	ASSERT_EQ(0, fsync(fd));
	close(fd);
}

TEST(pattern_verify)
{
	unsigned long full, empty;
	int fd = open(disk_path(), O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, scan_region(fd, REGION_A, MAGIC_A, &full, &empty));
	ASSERT_EQ(REGION / SECTOR, full);
	close(fd);
}

TEST(uring_nop)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;

	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	sqe = io_uring_get_sqe(&ring);
	ASSERT_NE(NULL, sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0xc0ffee);
	ASSERT_EQ(1, io_uring_submit(&ring));
	ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
	EXPECT_EQ(0, cqe->res);
	EXPECT_EQ(0xc0ffeeull, cqe->user_data);
	io_uring_cqe_seen(&ring, cqe);
	io_uring_queue_exit(&ring);
}

/* Never returns while the host does its job: the VM is killed under it. */
TEST(crash_write)
{
	time_t end;
	uint64_t gen;
	int fd = open(disk_path(), O_RDWR | O_CLOEXEC);
	int dfd = open(disk_path(), O_RDWR | O_CLOEXEC | O_DIRECT);

	ASSERT_LE(0, fd);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, write_region(fd, REGION_A, MAGIC_A, 1));
	ASSERT_EQ(0, fsync(fd));
	printf("# " CRASH_MARKER "\n");
	fflush(stdout);
	end = time(NULL) + 25;
	for (gen = 1; time(NULL) < end; gen++)
		ASSERT_EQ(0, write_region(dfd, REGION_B, MAGIC_B, gen));
	TH_LOG("still running 25 s after " CRASH_MARKER ": nobody killed the VM");
	ASSERT_TRUE(0);
}

TEST(crash_verify)
{
	unsigned long full, empty;
	int fd = open(disk_path(), O_RDONLY | O_CLOEXEC);

	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, scan_region(fd, REGION_A, MAGIC_A, &full, &empty));
	ASSERT_EQ(REGION / SECTOR, full);
	ASSERT_EQ(-1, scan_region(fd, REGION_B, MAGIC_B, &full, &empty)) {
		TH_LOG("region B holds a sector that is neither empty nor whole");
	}
	TH_LOG("region B after the crash: %lu sectors written, %lu empty",
	       full, empty);
	close(fd);
}

CS_HARNESS_MAIN
