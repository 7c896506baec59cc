// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Offline access to a capstore store: see image.h.
 */
#include "image.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

int cs_image_open(struct cs_image *img, const char *path, unsigned int flags)
{
	int oflags = O_CLOEXEC | ((flags & CS_IMAGE_WRITE) ? O_RDWR : O_RDONLY);
	struct stat st;
	__u64 bytes;
	int fd;

	memset(img, 0, sizeof(*img));
	img->fd = -1;
	img->path = path;
	img->flags = flags;
	if (stat(path, &st))
		return -errno;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -EINVAL;
	if (S_ISBLK(st.st_mode) && (flags & CS_IMAGE_EXCL))
		oflags |= O_EXCL;
	fd = open(path, oflags);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		goto err_errno;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &bytes))
			goto err_errno;
		img->blkdev = true;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (__u64)st.st_size;
	} else {
		close(fd);
		return -EINVAL;
	}
	img->fd = fd;
	img->dev_bytes = bytes;
	img->dev_blocks = bytes >> CAPSTORE_BLOCK_SHIFT;
	return 0;

err_errno:
	{
		int err = -errno;

		close(fd);
		return err;
	}
}

int cs_image_close(struct cs_image *img)
{
	int err = 0;

	if (img->fd >= 0 && close(img->fd))
		err = -errno;
	img->fd = -1;
	return err;
}

static int xfer(const struct cs_image *img, __u64 blkno, void *buf,
		bool write)
{
	size_t done = 0;
	off_t off;
	ssize_t n;

	if (blkno >= img->dev_blocks)
		return -ERANGE;
	off = (off_t)(blkno << CAPSTORE_BLOCK_SHIFT);
	while (done < CAPSTORE_BLOCK_SIZE) {
		if (write)
			n = pwrite(img->fd, (const char *)buf + done,
				   CAPSTORE_BLOCK_SIZE - done,
				   off + (off_t)done);
		else
			n = pread(img->fd, (char *)buf + done,
				  CAPSTORE_BLOCK_SIZE - done,
				  off + (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		done += (size_t)n;
	}
	return 0;
}

int cs_image_read(const struct cs_image *img, __u64 blkno, void *buf)
{
	return xfer(img, blkno, buf, false);
}

int cs_image_write(const struct cs_image *img, __u64 blkno, const void *buf)
{
	return xfer(img, blkno, (void *)buf, true);
}

int cs_image_sync(const struct cs_image *img)
{
	if ((img->blkdev ? fdatasync(img->fd) : fsync(img->fd)))
		return -errno;
	return 0;
}

static const char *io_why(int err)
{
	return err == -ERANGE ? "beyond the end of the device" : "read error";
}

int cs_image_load_sb(struct cs_image *img, struct capstore_dsb *raw,
		     const char **why)
{
	struct capstore_dsb *dsb;
	int err;

	img->have_geom = false;
	dsb = malloc(sizeof(*dsb));
	if (!dsb) {
		*why = "out of memory";
		return -ENOMEM;
	}
	err = cs_image_read(img, 0, dsb);
	if (err) {
		*why = err == -ERANGE ? "image smaller than one block"
				      : "read error";
		goto out;
	}
	if (raw)
		memcpy(raw, dsb, sizeof(*dsb));
	err = capstore_sb_from_disk(&img->geom, dsb, img->dev_blocks, why);
	if (!err)
		img->have_geom = true;
out:
	free(dsb);
	return err;
}

int cs_hdr_verify_slot(const struct capstore_dhdr *h,
		       const struct capstore_geom *g, unsigned int slot,
		       const char **why)
{
	int err = capstore_hdr_verify(h, g, why);

	if (err)
		return err;
	if (le64_to_cpu(h->seq) % g->header_slots != slot) {
		*why = "header in the wrong slot";
		return -EUCLEAN;
	}
	return 0;
}

int cs_image_read_slot(const struct cs_image *img, unsigned int index,
		       struct cs_slot *slot)
{
	const char *why = NULL;
	int err;

	if (!img->have_geom || index >= img->geom.header_slots)
		return -EINVAL;
	memset(slot, 0, sizeof(*slot));
	slot->index = index;
	slot->blkno = img->geom.header_start + index;
	err = cs_image_read(img, slot->blkno, &slot->hdr);
	if (err) {
		memset(&slot->hdr, 0, sizeof(slot->hdr));
		slot->state = CS_SLOT_INVALID;
		slot->err = err;
		slot->why = io_why(err);
		return 0;
	}
	if (capstore_mem_is_zero(&slot->hdr, sizeof(slot->hdr))) {
		slot->state = CS_SLOT_EMPTY;
		return 0;
	}
	err = cs_hdr_verify_slot(&slot->hdr, &img->geom, index, &why);
	if (err) {
		slot->state = CS_SLOT_INVALID;
		slot->err = err;
		slot->why = why;
		return 0;
	}
	slot->state = CS_SLOT_VALID;
	slot->seq = le64_to_cpu(slot->hdr.seq);
	return 0;
}

int cs_image_read_slots(const struct cs_image *img, struct cs_slot *slots)
{
	unsigned int i;
	int err;

	if (!img->have_geom)
		return -EINVAL;
	for (i = 0; i < img->geom.header_slots; i++) {
		err = cs_image_read_slot(img, i, &slots[i]);
		if (err)
			return err;
	}
	return cs_pick_slot(img, slots, 0);
}

int cs_pick_slot(const struct cs_image *img, const struct cs_slot *slots,
		 __u64 seq)
{
	int best = -ENOENT;
	unsigned int i;

	for (i = 0; i < img->geom.header_slots; i++) {
		if (slots[i].state != CS_SLOT_VALID)
			continue;
		if (seq) {
			if (slots[i].seq == seq)
				return (int)i;
			continue;
		}
		if (best < 0 || slots[i].seq > slots[best].seq)
			best = (int)i;
	}
	return best;
}

int cs_image_read_bptr(const struct cs_image *img,
		       const struct capstore_bptr *b, void *buf,
		       const char **why)
{
	int err;

	err = capstore_bptr_verify(b, &img->geom, why);
	if (err)
		return err;
	if (!b->blkno) {
		memset(buf, 0, CAPSTORE_BLOCK_SIZE);
		return -ENOENT;
	}
	err = cs_image_read(img, le64_to_cpu(b->blkno), buf);
	if (err) {
		*why = io_why(err);
		return err;
	}
	return capstore_block_verify(buf, b, why);
}

struct walk_state {
	const struct cs_image *img;
	const struct cs_walk_ops *ops;
	void *arg;
	unsigned int flags;
	__u64 nleaves;
	__u8 *bufs;	/* one block per level */
};

static int walk_bad(struct walk_state *ws, __u64 blkno, unsigned int level,
		    __u64 first_leaf, int err, const char *why)
{
	if (!ws->ops->bad)
		return 0;
	return ws->ops->bad(ws->arg, blkno, level, first_leaf, err, why);
}

static int walk(struct walk_state *ws, const struct capstore_bptr *b,
		unsigned int level, __u64 first_leaf)
{
	__u64 blkno = le64_to_cpu(b->blkno);
	const struct capstore_bptr *child;
	__u64 span, rem, limit, i;
	const char *why = NULL;
	__u8 *buf;
	int err;

	if (!blkno && !b->crc && !b->reserved)
		return 0;	/* a hole */
	if (first_leaf >= ws->nleaves)
		return walk_bad(ws, blkno, level, first_leaf, -EUCLEAN,
				"pointer beyond the last leaf");
	err = capstore_bptr_verify(b, &ws->img->geom, &why);
	if (err)
		return walk_bad(ws, blkno, level, first_leaf, err, why);
	if (ws->ops->block) {
		err = ws->ops->block(ws->arg, blkno, level, first_leaf);
		if (err < 0)
			return err;
		if (err > 0)
			return 0;
	}
	if (!level && !(ws->flags & CS_WALK_READ_LEAVES))
		return ws->ops->leaf ? ws->ops->leaf(ws->arg, first_leaf,
						     blkno, NULL) : 0;

	buf = ws->bufs + (size_t)level * CAPSTORE_BLOCK_SIZE;
	err = cs_image_read(ws->img, blkno, buf);
	if (err)
		return walk_bad(ws, blkno, level, first_leaf, err,
				io_why(err));
	err = capstore_block_verify(buf, b, &why);
	if (err)
		return walk_bad(ws, blkno, level, first_leaf, err, why);
	if (!level)
		return ws->ops->leaf ? ws->ops->leaf(ws->arg, first_leaf,
						     blkno, buf) : 0;

	/*
	 * Children at index >= limit start at or beyond nleaves; computed
	 * this way so that first_leaf + i * span cannot overflow.
	 */
	span = cs_level_span(level - 1);
	rem = ws->nleaves - first_leaf;
	limit = rem / span + (rem % span != 0);
	child = (const struct capstore_bptr *)buf;
	for (i = 0; i < CAPSTORE_FANOUT; i++) {
		__u64 child_first = i < limit ? first_leaf + i * span
					      : ws->nleaves;

		err = walk(ws, &child[i], level - 1, child_first);
		if (err)
			return err;
	}
	return 0;
}

int cs_tree_walk(const struct cs_image *img, const struct capstore_bptr *root,
		 unsigned int height, __u64 nleaves, unsigned int flags,
		 const struct cs_walk_ops *ops, void *arg)
{
	struct walk_state ws = {
		.img = img,
		.ops = ops,
		.arg = arg,
		.flags = flags,
		.nleaves = nleaves,
	};
	int err;

	if (height > CAPSTORE_TREE_MAX_HEIGHT || !img->have_geom)
		return -EINVAL;
	ws.bufs = malloc((size_t)(height + 1) * CAPSTORE_BLOCK_SIZE);
	if (!ws.bufs)
		return -ENOMEM;
	err = walk(&ws, root, height, 0);
	free(ws.bufs);
	return err;
}

int cs_tree_lookup(const struct cs_image *img,
		   const struct capstore_bptr *root, unsigned int height,
		   __u64 index, struct capstore_bptr *out, const char **why)
{
	struct capstore_bptr cur = *root;
	__u64 span;
	__u8 *buf;
	int err = 0;

	if (height > CAPSTORE_TREE_MAX_HEIGHT || !img->have_geom)
		return -EINVAL;
	if (index >= capstore_tree_capacity(height) &&
	    capstore_tree_capacity(height) != ~0ULL)
		return -ERANGE;
	buf = malloc(CAPSTORE_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	for (; height; height--) {
		err = cs_image_read_bptr(img, &cur, buf, why);
		if (err == -ENOENT) {
			memset(&cur, 0, sizeof(cur));
			err = 0;
			break;
		}
		if (err)
			break;
		span = cs_level_span(height - 1);
		cur = ((const struct capstore_bptr *)buf)[(index / span) %
							  CAPSTORE_FANOUT];
		index %= span;
	}
	if (!err)
		err = capstore_bptr_verify(&cur, &img->geom, why);
	if (!err)
		*out = cur;
	free(buf);
	return err;
}
