// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * fuzz_image: libFuzzer harness for everything that reads a capstore image
 * in userspace: the shared verifiers of common/verify.c (the same code the
 * kernel module runs) and the whole read path of the tools, fsck and dump,
 * run in-process on the image.
 *
 * Input: an image, block 0 first. Trailing zero blocks may be left out:
 * the image is zero-padded to the size its superblock claims (at most
 * FUZZ_MAX_BLOCKS), so a seed of a 1 MiB store is a few dozen KiB.
 *
 * Each input is checked twice: as it is, and resealed (every checksum
 * recomputed by fuzz/imgmut.c), so that mutations reach the field checks
 * behind the CRC-32C of every block; the second pass is skipped when
 * resealing changes nothing. A custom mutator applies, half of the time,
 * the structure-aware mutations of imgmut.c (fields of the superblock,
 * headers, object records, node slots, block pointers, space map bits)
 * instead of libFuzzer's byte-level ones.
 *
 * Besides the sanitizers (ASan, UBSan, libFuzzer's leak check) the harness
 * checks a few properties and aborts when one fails:
 *   - fsck and dump exit 0 or 1, never 2 (a usage error: a harness bug);
 *   - a superblock capstore_sb_from_disk() accepts is reproduced bit for
 *     bit by capstore_sb_to_disk() from what it extracted (no field the
 *     verifier lets through unchecked);
 *   - a header capstore_hdr_verify() accepts reseals to itself;
 *   - an image fsck finds clean, dump shows without error.
 *
 * Build and run: make -C fuzz (see fuzz/Makefile, Documentation/testing.rst
 * "Fuzzing").
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capstore.h"
#include "capstore/verify.h"
#include "imgmut.h"

#define BS CAPSTORE_BLOCK_SIZE
/* Images are at most 1 MiB: 256 blocks, a space map of one leaf. */
#define FUZZ_MAX_BLOCKS 256

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed);

static FILE *devnull;
static int memfd = -1;
static char memfd_path[64];
static uint8_t *img;		/* FUZZ_MAX_BLOCKS blocks */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	memfd = memfd_create("capstore-fuzz", MFD_CLOEXEC);
	img = malloc((size_t)FUZZ_MAX_BLOCKS * BS);
	if (!devnull || memfd < 0 || !img) {
		perror("fuzz_image: setup");
		exit(1);
	}
	snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
	return 0;
}

/* How many blocks the image of @size input bytes has, padded. */
static uint64_t image_blocks(const uint8_t *data, size_t size)
{
	uint64_t n = (size + BS - 1) / BS, claimed;

	if (size >= __builtin_offsetof(struct capstore_dsb, nblocks) + 8) {
		const struct capstore_dsb *sb = (const void *)data;

		claimed = le64_to_cpu(sb->nblocks);
		if (claimed > n && claimed <= FUZZ_MAX_BLOCKS)
			n = claimed;
	}
	return n > FUZZ_MAX_BLOCKS ? FUZZ_MAX_BLOCKS : n;
}

/* ---- the verifiers, called directly on every block ---- */

static void check_verifiers(const uint8_t *im, uint64_t nblocks)
{
	const struct capstore_dsb *sb = (const void *)im;
	struct capstore_geom g;
	const char *why = NULL;
	uint64_t b;
	unsigned int i;
	int err;

	memset(&g, 0, sizeof(g));
	err = capstore_sb_from_disk(&g, sb, nblocks, &why);
	if (!err) {
		struct capstore_dsb *again = malloc(sizeof(*again));

		if (!again)
			abort();
		capstore_sb_to_disk(again, &g);
		if (memcmp(again, sb, sizeof(*again))) {
			fprintf(stderr, "superblock accepted but not "
				"reproduced by capstore_sb_to_disk()\n");
			abort();
		}
		free(again);
	} else {
		if (!why)
			abort();
		/* Something to check the rest against anyway. */
		memset(&g, 0, sizeof(g));
		g.nblocks = nblocks;
		g.header_start = CAPSTORE_HEADER_START;
		g.header_slots = CAPSTORE_DEFAULT_HEADER_SLOTS;
		g.data_start = CAPSTORE_HEADER_START + g.header_slots;
		g.block_size = BS;
		memcpy(g.uuid, sb->uuid, sizeof(g.uuid));
	}

	for (b = 0; b < nblocks; b++) {
		const uint8_t *p = im + b * BS;

		if (capstore_mem_is_zero(p, BS))
			continue;
		why = NULL;
		if (!capstore_hdr_verify((const void *)p, &g, &why)) {
			struct capstore_dhdr *h = malloc(sizeof(*h));

			if (!h)
				abort();
			memcpy(h, p, sizeof(*h));
			capstore_hdr_seal(h);
			if (memcmp(h, p, sizeof(*h)))
				abort();
			free(h);
		} else if (!why) {
			abort();
		}
		why = NULL;
		if (capstore_dnode_verify((const void *)p, &why) && !why)
			abort();
		for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++) {
			why = NULL;
			if (capstore_dobj_verify((const void *)(p + i * 64),
						 b * CAPSTORE_OBJS_PER_BLOCK + i,
						 &g, &why) && !why)
				abort();
		}
		for (i = 0; i < CAPSTORE_FANOUT; i++) {
			const struct capstore_bptr *bp =
				(const void *)(p + i * CAPSTORE_BPTR_SIZE);

			why = NULL;
			if (capstore_bptr_verify(bp, &g, &why) && !why)
				abort();
		}
		why = NULL;
		if (capstore_block_verify(p, (const void *)p, &why) && !why)
			abort();
	}
	(void)capstore_tree_height_for(nblocks);
	(void)capstore_spacemap_leaves(~0ULL);
	(void)capstore_otable_leaves(~0ULL);
}

/* ---- the tools, in-process, on a memfd ---- */

static int run_tool(int (*fn)(struct cs_ctx *, int, char **),
		    const char *sub, int argc, char **argv)
{
	struct cs_ctx ctx = {
		.sub = sub,
		.out = devnull,
		.err = devnull,
		.sysfs = "/sys",
	};
	int rc;

	opterr = 0;
	optind = 0;	/* glibc: start getopt over */
	rc = fn(&ctx, argc, argv);
	if (rc != CS_EXIT_OK && rc != CS_EXIT_FAIL) {
		fprintf(stderr, "capstore %s exited %d\n", sub, rc);
		abort();
	}
	return rc;
}

static void load_memfd(const uint8_t *im, uint64_t nblocks)
{
	uint64_t b;

	if (ftruncate(memfd, 0) || ftruncate(memfd, (off_t)(nblocks * BS)))
		abort();
	for (b = 0; b < nblocks; b++)
		if (!capstore_mem_is_zero(im + b * BS, BS) &&
		    pwrite(memfd, im + b * BS, BS, (off_t)(b * BS)) != BS)
			abort();
}

/*
 * fsck twice (verbose, every problem printed; strict, metadata only) would
 * double the time of a run for little: the variant is drawn from @pick.
 */
static void check_tools(const uint8_t *im, uint64_t nblocks, unsigned int pick)
{
	char fsck0[] = "fsck", v[] = "-v", e[] = "-e", zero[] = "0";
	char n[] = "-n", s[] = "-s", dump0[] = "dump", bl[] = "-b";
	char *fsck_argv[] = { fsck0, v, e, zero, memfd_path, NULL };
	char *fsck_strict_argv[] = { fsck0, n, s, memfd_path, NULL };
	char *dump_argv[] = { dump0, bl, memfd_path, NULL };
	int fsck_rc, dump_rc;

	load_memfd(im, nblocks);
	if (pick & 1)
		fsck_rc = run_tool(cmd_fsck, "fsck", 4, fsck_strict_argv);
	else
		fsck_rc = run_tool(cmd_fsck, "fsck", 5, fsck_argv);
	dump_rc = run_tool(cmd_dump, "dump", 3, dump_argv);
	if (fsck_rc == CS_EXIT_OK && dump_rc != CS_EXIT_OK) {
		fprintf(stderr, "fsck found the image clean, dump failed\n");
		abort();
	}
}

static void check(const uint8_t *im, uint64_t nblocks, unsigned int pick)
{
	check_verifiers(im, nblocks);
	check_tools(im, nblocks, pick);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t nblocks;

	if (!size)
		return 0;
	nblocks = image_blocks(data, size);
	memset(img, 0, nblocks * BS);
	memcpy(img, data, size < nblocks * BS ? size : nblocks * BS);
	check(img, nblocks, (unsigned int)size);
	if (imgmut_reseal(img, nblocks))
		check(img, nblocks, (unsigned int)size + 1);
	return 0;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
			       unsigned int seed)
{
	uint64_t nblocks, rng = seed, last;
	uint8_t *buf;
	size_t len;

	if (size < BS || max_size < BS || (seed & 1))
		return LLVMFuzzerMutate(data, size, max_size);
	nblocks = image_blocks(data, size);
	buf = calloc(nblocks, BS);
	if (!buf)
		return LLVMFuzzerMutate(data, size, max_size);
	memcpy(buf, data, size < nblocks * BS ? size : nblocks * BS);
	imgmut_mutate(buf, nblocks, &rng, 3, NULL, 0);
	/* Trailing zero blocks are implied. */
	for (last = nblocks; last > 1; last--)
		if (!capstore_mem_is_zero(buf + (last - 1) * BS, BS))
			break;
	len = (size_t)last * BS;
	if (len > max_size)
		len = max_size;
	memcpy(data, buf, len);
	free(buf);
	return len;
}
