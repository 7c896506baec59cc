// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore format: write a new, empty store (superblock, zeroed header
 * slots, checkpoint 1 holding only the root node) to a block device or an
 * image file. Writes only the few blocks it needs, so sparse image files
 * stay sparse; with --zero it first writes zeroes over every block of the
 * store (a progress line on a terminal).
 */
#include "capstore.h"
#include "image.h"
#include "progress.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

struct format_opts {
	unsigned int slots;
	__u64 size;		/* bytes, 0 if not given */
	__u64 blocks;		/* blocks, 0 if not given */
	const char *label;
	bool have_uuid;
	__u8 uuid[16];
	bool force;
	bool zero;
	const char *path;
};

#define ZERO_CHUNK	(1U << 20)	/* bytes per write */
#define ZERO_SYNC	(64ULL << 20)	/* flushed every so many bytes */

/* Blocks format writes, besides the superblock and header slots. */
struct format_layout {
	__u64 otable_blk;
	__u64 smap_leaf_blk;
	unsigned int smap_height;
	__u64 smap_interior_blk[CAPSTORE_TREE_MAX_HEIGHT + 1]; /* by level */
	__u64 used;
};

static void format_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore format [options] DEVICE|FILE\n"
		"\n"
		"Create a new, empty capstore store. A FILE that does not exist is\n"
		"created (sparse) when --size or --blocks is given.\n"
		"\n"
		"Options:\n"
		"  -s, --size BYTES     size of the store (K, M, G, T, P suffixes);\n"
		"                       default: the whole device or file\n"
		"  -b, --blocks N       size of the store in 4096-byte blocks\n"
		"  -S, --slots N        checkpoint header slots, %u..%u (default %u)\n"
		"  -L, --label LABEL    label, up to 32 bytes\n"
		"  -U, --uuid UUID      uuid instead of a random one\n"
		"  -f, --force          overwrite an existing capstore store\n"
		"  -z, --zero           write zeroes over every block of the store\n"
		"                       first (slow; the file is no longer sparse)\n"
		"  -h, --help           show this help\n",
		CAPSTORE_MIN_HEADER_SLOTS, CAPSTORE_MAX_HEADER_SLOTS,
		CAPSTORE_DEFAULT_HEADER_SLOTS);
}

static int parse_format_args(struct cs_ctx *ctx, int argc, char **argv,
			     struct format_opts *o)
{
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "slots", required_argument, NULL, 'S' },
		{ "label", required_argument, NULL, 'L' },
		{ "uuid", required_argument, NULL, 'U' },
		{ "force", no_argument, NULL, 'f' },
		{ "zero", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	__u64 v;
	int c;

	o->slots = CAPSTORE_DEFAULT_HEADER_SLOTS;
	while ((c = getopt_long(argc, argv, ":s:b:S:L:U:fzh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			if (cs_parse_size(optarg, &o->size) || !o->size)
				return cs_usage_error(ctx, "bad size '%s'",
						      optarg);
			break;
		case 'b':
			if (cs_parse_u64(optarg, &o->blocks) || !o->blocks)
				return cs_usage_error(ctx,
						      "bad block count '%s'",
						      optarg);
			break;
		case 'S':
			if (cs_parse_u64(optarg, &v) ||
			    v < CAPSTORE_MIN_HEADER_SLOTS ||
			    v > CAPSTORE_MAX_HEADER_SLOTS)
				return cs_usage_error(ctx,
					"header slots must be %u..%u, not '%s'",
					CAPSTORE_MIN_HEADER_SLOTS,
					CAPSTORE_MAX_HEADER_SLOTS, optarg);
			o->slots = (unsigned int)v;
			break;
		case 'L':
			if (strlen(optarg) > sizeof(((struct capstore_dsb *)0)->label))
				return cs_usage_error(ctx,
					"label longer than 32 bytes");
			o->label = optarg;
			break;
		case 'U':
			if (cs_parse_uuid(optarg, o->uuid) ||
			    capstore_mem_is_zero(o->uuid, sizeof(o->uuid)))
				return cs_usage_error(ctx, "bad uuid '%s'",
						      optarg);
			o->have_uuid = true;
			break;
		case 'f':
			o->force = true;
			break;
		case 'z':
			o->zero = true;
			break;
		case 'h':
			format_usage(ctx->out);
			return -1;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (o->size && o->blocks)
		return cs_usage_error(ctx, "give --size or --blocks, not both");
	if (optind != argc - 1)
		return cs_usage_error(ctx, optind >= argc ?
				      "missing DEVICE or FILE" :
				      "too many arguments");
	o->path = argv[optind];
	return 0;
}

/*
 * Make sure a missing image file exists, sized as asked. Returns 0,
 * -ENOENT if it is missing and no size was given, or another -errno.
 */
static int create_image(const struct format_opts *o, __u64 bytes,
			bool *created)
{
	struct stat st;
	int fd;

	*created = false;
	if (!stat(o->path, &st))
		return 0;
	if (errno != ENOENT)
		return -errno;
	if (!bytes)
		return -ENOENT;
	fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	*created = true;
	if (ftruncate(fd, (off_t)bytes)) {
		int err = -errno;

		close(fd);
		unlink(o->path);
		*created = false;
		return err;
	}
	return close(fd) ? -errno : 0;
}

static void set_bit(__u8 *map, __u64 bit)
{
	map[bit / 8] |= (__u8)(1U << (bit % 8));
}

static void plan_layout(const struct capstore_geom *g,
			struct format_layout *l)
{
	__u64 next = g->data_start;
	unsigned int lvl;

	memset(l, 0, sizeof(*l));
	l->smap_height = capstore_tree_height_for(
				capstore_spacemap_leaves(g->nblocks));
	l->otable_blk = next++;
	l->smap_leaf_blk = next++;
	for (lvl = 1; lvl <= l->smap_height; lvl++)
		l->smap_interior_blk[lvl] = next++;
	l->used = next;	/* blocks 0 .. next - 1, all in space map leaf 0 */
}

/* Write the checkpoint's tree blocks; fill @h's otable and spacemap. */
static int write_trees(const struct cs_image *img, const struct format_layout *l,
		       struct capstore_dhdr *h, __u8 *blk)
{
	struct capstore_dobj *objs = (struct capstore_dobj *)blk;
	struct capstore_bptr child;
	unsigned int lvl;
	__u64 b;
	int err;

	/* Object table: one leaf; oid 1 is the root node, gen 1, no slots. */
	memset(blk, 0, CAPSTORE_BLOCK_SIZE);
	objs[CAPSTORE_OID_ROOT].kind = cpu_to_le32(CAPSTORE_DOBJ_NODE);
	objs[CAPSTORE_OID_ROOT].oid = cpu_to_le64(CAPSTORE_OID_ROOT);
	objs[CAPSTORE_OID_ROOT].gen = cpu_to_le64(1);
	err = cs_image_write(img, l->otable_blk, blk);
	if (err)
		return err;
	capstore_bptr_set(&h->otable.root, l->otable_blk, blk);
	h->otable.height = 0;

	/* Space map leaf 0: every block up to the last one format used. */
	memset(blk, 0, CAPSTORE_BLOCK_SIZE);
	for (b = 0; b < l->used; b++)
		set_bit(blk, b);
	err = cs_image_write(img, l->smap_leaf_blk, blk);
	if (err)
		return err;
	capstore_bptr_set(&child, l->smap_leaf_blk, blk);

	/* Interior blocks on the path to leaf 0; other leaves are holes. */
	for (lvl = 1; lvl <= l->smap_height; lvl++) {
		memset(blk, 0, CAPSTORE_BLOCK_SIZE);
		memcpy(blk, &child, sizeof(child));
		err = cs_image_write(img, l->smap_interior_blk[lvl], blk);
		if (err)
			return err;
		capstore_bptr_set(&child, l->smap_interior_blk[lvl], blk);
	}
	h->spacemap.root = child;
	h->spacemap.height = (__u8)l->smap_height;
	return 0;
}

static int write_store(const struct cs_ctx *ctx, const struct cs_image *img,
		       const struct capstore_geom *g,
		       const struct format_layout *l)
{
	struct capstore_dhdr *h = NULL;
	unsigned int i;
	__u8 *blk;
	int err;

	blk = calloc(1, CAPSTORE_BLOCK_SIZE);
	h = calloc(1, sizeof(*h));
	if (!blk || !h) {
		err = -ENOMEM;
		goto out;
	}
	/* Old headers must not survive: they could name blocks of another store. */
	for (i = 0; i < g->header_slots; i++) {
		err = cs_image_write(img, g->header_start + i, blk);
		if (err)
			goto out_io;
	}
	err = write_trees(img, l, h, blk);
	if (err)
		goto out_io;
	capstore_sb_to_disk((struct capstore_dsb *)blk, g);
	err = cs_image_write(img, 0, blk);
	if (err)
		goto out_io;
	err = cs_image_sync(img);
	if (err)
		goto out_io;

	/* Commit: checkpoint 1 in slot 1 % header_slots. */
	h->seq = cpu_to_le64(1);
	memcpy(h->uuid, g->uuid, sizeof(h->uuid));
	h->time = cpu_to_le64(cs_now_ns());
	h->next_oid = cpu_to_le64(CAPSTORE_OID_ROOT + 1);
	h->root_oid = cpu_to_le64(CAPSTORE_OID_ROOT);
	h->nobjects = cpu_to_le64(1);
	h->used_blocks = cpu_to_le64(l->used);
	capstore_hdr_seal(h);
	err = cs_image_write(img, g->header_start + 1 % g->header_slots, h);
	if (err)
		goto out_io;
	err = cs_image_sync(img);
	if (err)
		goto out_io;
	goto out;

out_io:
	cs_msg_err(ctx, err, "writing %s", img->path);
out:
	free(h);
	free(blk);
	return err;
}

/*
 * Write zeroes over blocks 0 .. @nblocks - 1, really: no discard, no
 * hole punching, which may leave the old data readable or the space
 * unallocated. Flushed as it goes, so that the progress line tells what
 * reached the device.
 */
static int zero_store(const struct cs_ctx *ctx, const struct cs_image *img,
		      __u64 nblocks)
{
	__u64 total = nblocks << CAPSTORE_BLOCK_SHIFT, off = 0, synced = 0;
	char what[CS_PROGRESS_WHAT_LEN];
	struct cs_progress pr;
	size_t len;
	ssize_t n;
	void *buf;
	int err = 0;

	buf = calloc(1, ZERO_CHUNK);
	if (!buf) {
		cs_msg_err(ctx, -ENOMEM, "zeroing %s", img->path);
		return -ENOMEM;
	}
	snprintf(what, sizeof(what), "zeroing %s", img->path);
	cs_progress_start(&pr, ctx, true, CS_PROGRESS_BYTES, total, what);
	while (off < total) {
		len = total - off < ZERO_CHUNK ? (size_t)(total - off)
					       : ZERO_CHUNK;
		n = pwrite(img->fd, buf, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (!n) {
			err = -EIO;
			break;
		}
		off += (__u64)n;
		if (off - synced >= ZERO_SYNC) {
			err = cs_image_sync(img);
			if (err)
				break;
			synced = off;
		}
		cs_progress_update(&pr, off);
	}
	if (!err)
		err = cs_image_sync(img);
	cs_progress_end(&pr);
	if (err)
		cs_msg_err(ctx, err, "zeroing %s (%" PRIu64 " of %" PRIu64
			   " bytes done)", img->path, (uint64_t)off,
			   (uint64_t)total);
	free(buf);
	return err;
}

static int get_uuid(__u8 uuid[16])
{
	size_t done = 0;
	ssize_t n;

	while (done < 16) {
		n = getrandom(uuid + done, 16 - done, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		done += (size_t)n;
	}
	uuid[6] = (uuid[6] & 0x0f) | 0x40;	/* version 4, random */
	uuid[8] = (uuid[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	return 0;
}

/* Refuse to overwrite a store unless forced. */
static int check_existing(const struct cs_ctx *ctx, const struct cs_image *img,
			  bool force)
{
	struct capstore_dsb *dsb;
	struct capstore_geom g;
	const char *why = NULL;
	char uuid[CS_UUID_STR_LEN];
	int ret = 0, err;

	if (img->dev_blocks < 1)
		return 0;
	dsb = malloc(sizeof(*dsb));
	if (!dsb)
		return -ENOMEM;
	err = cs_image_read(img, 0, dsb);
	if (err) {
		cs_msg_err(ctx, err, "reading %s", img->path);
		ret = err;
		goto out;
	}
	if (le64_to_cpu(dsb->magic) != CAPSTORE_SB_MAGIC)
		goto out;
	err = capstore_sb_from_disk(&g, dsb, ~0ULL, &why);
	if (!err)
		cs_format_uuid(g.uuid, uuid);
	if (force) {
		if (!err)
			cs_msg(ctx, "overwriting the store %s on %s", uuid,
			       img->path);
		goto out;
	}
	if (!err)
		cs_msg(ctx, "%s already holds a capstore store (uuid %s%s%s%s); "
		       "use --force to overwrite it", img->path, uuid,
		       g.label[0] ? ", label '" : "", g.label,
		       g.label[0] ? "'" : "");
	else
		cs_msg(ctx, "%s holds a damaged capstore superblock (%s); "
		       "use --force to overwrite it", img->path, why);
	ret = -EEXIST;
out:
	free(dsb);
	return ret;
}

static void print_summary(const struct cs_ctx *ctx, const char *path,
			  const struct capstore_geom *g,
			  const struct format_layout *l, bool zeroed)
{
	char uuid[CS_UUID_STR_LEN], bytes[CS_BYTES_STR_LEN];

	cs_format_uuid(g->uuid, uuid);
	cs_format_bytes(g->nblocks << CAPSTORE_BLOCK_SHIFT, bytes,
			sizeof(bytes));
	fprintf(ctx->out, "formatted %s\n", path);
	fprintf(ctx->out, "  uuid          %s\n", uuid);
	if (g->label[0])
		fprintf(ctx->out, "  label         %s\n", g->label);
	fprintf(ctx->out, "  size          %s (%" PRIu64 " bytes)\n", bytes,
		(uint64_t)(g->nblocks << CAPSTORE_BLOCK_SHIFT));
	fprintf(ctx->out, "  blocks        %" PRIu64 " of %u bytes\n",
		(uint64_t)g->nblocks, CAPSTORE_BLOCK_SIZE);
	fprintf(ctx->out, "  header slots  %u (blocks %" PRIu64 "-%" PRIu64 ")\n",
		g->header_slots, (uint64_t)g->header_start,
		(uint64_t)(g->data_start - 1));
	fprintf(ctx->out, "  space map     %" PRIu64 " leaves, height %u\n",
		(uint64_t)capstore_spacemap_leaves(g->nblocks), l->smap_height);
	fprintf(ctx->out, "  checkpoint    seq 1, root node oid %llu, "
		"%" PRIu64 " blocks used\n", CAPSTORE_OID_ROOT,
		(uint64_t)l->used);
	if (zeroed)
		fprintf(ctx->out, "  zeroed        every block, %" PRIu64
			" bytes\n", (uint64_t)(g->nblocks << CAPSTORE_BLOCK_SHIFT));
}

int cmd_format(struct cs_ctx *ctx, int argc, char **argv)
{
	struct format_opts o = { 0 };
	struct format_layout l;
	struct capstore_geom g;
	struct cs_image img;
	__u64 want, nblocks;
	bool created = false;
	int ret, err;

	ret = parse_format_args(ctx, argc, argv, &o);
	if (ret)
		return ret < 0 ? CS_EXIT_OK : ret;
	if (o.blocks > CAPSTORE_MAX_BLOCKS) {
		cs_msg(ctx, "%" PRIu64 " blocks is more than the largest store, "
		       "%llu blocks", (uint64_t)o.blocks, CAPSTORE_MAX_BLOCKS);
		return CS_EXIT_FAIL;
	}
	want = o.blocks ? o.blocks << CAPSTORE_BLOCK_SHIFT : o.size;

	err = create_image(&o, want, &created);
	if (err == -ENOENT) {
		cs_msg(ctx, "%s does not exist (give --size to create an "
		       "image file)", o.path);
		return CS_EXIT_FAIL;
	}
	if (err) {
		cs_msg_err(ctx, err, "creating %s", o.path);
		return CS_EXIT_FAIL;
	}
	err = cs_image_open(&img, o.path, CS_IMAGE_WRITE | CS_IMAGE_EXCL);
	if (err) {
		if (err == -EINVAL)
			cs_msg(ctx, "%s is not a regular file or block device",
			       o.path);
		else
			cs_msg_err(ctx, err, "opening %s", o.path);
		ret = CS_EXIT_FAIL;
		goto out_unlink;
	}
	ret = CS_EXIT_FAIL;
	if (!created && check_existing(ctx, &img, o.force))
		goto out_close;

	if (want > img.dev_bytes) {
		if (img.blkdev) {
			cs_msg(ctx, "%s is smaller than the size asked for",
			       o.path);
			goto out_close;
		}
		if (ftruncate(img.fd, (off_t)want)) {
			cs_msg_err(ctx, errno, "growing %s", o.path);
			goto out_close;
		}
		img.dev_bytes = want;
		img.dev_blocks = want >> CAPSTORE_BLOCK_SHIFT;
	}
	nblocks = (want ? want : img.dev_bytes) >> CAPSTORE_BLOCK_SHIFT;
	if (nblocks > CAPSTORE_MAX_BLOCKS) {
		cs_msg(ctx, "using the first %llu blocks (the largest store)",
		       CAPSTORE_MAX_BLOCKS);
		nblocks = CAPSTORE_MAX_BLOCKS;
	}
	if (nblocks < CAPSTORE_MIN_BLOCKS) {
		cs_msg(ctx, "%s is too small: %" PRIu64 " blocks, a store "
		       "needs at least %u (%u KiB)", o.path, (uint64_t)nblocks,
		       CAPSTORE_MIN_BLOCKS,
		       CAPSTORE_MIN_BLOCKS * CAPSTORE_BLOCK_SIZE / 1024);
		goto out_close;
	}

	memset(&g, 0, sizeof(g));
	g.nblocks = nblocks;
	g.header_start = CAPSTORE_HEADER_START;
	g.header_slots = o.slots;
	g.data_start = CAPSTORE_HEADER_START + o.slots;
	g.block_size = CAPSTORE_BLOCK_SIZE;
	g.format_time = cs_now_ns();
	if (o.label)
		memcpy(g.label, o.label, strlen(o.label));
	if (o.have_uuid) {
		memcpy(g.uuid, o.uuid, sizeof(g.uuid));
	} else {
		err = get_uuid(g.uuid);
		if (err) {
			cs_msg_err(ctx, err, "getting a random uuid");
			goto out_close;
		}
	}
	plan_layout(&g, &l);
	if (o.zero && zero_store(ctx, &img, g.nblocks))
		goto out_close;
	if (write_store(ctx, &img, &g, &l))
		goto out_close;
	err = cs_image_close(&img);
	if (err) {
		cs_msg_err(ctx, err, "closing %s", o.path);
		goto out_unlink;
	}
	print_summary(ctx, o.path, &g, &l, o.zero);
	return CS_EXIT_OK;

out_close:
	cs_image_close(&img);
out_unlink:
	if (created)
		unlink(o.path);
	return ret;
}
