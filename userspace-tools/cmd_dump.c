// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore dump: print a store's metadata for people: the superblock,
 * every header slot, then every live object of one checkpoint with its
 * tree and, for nodes, its slots. Damage is reported on stderr and the
 * dump goes on where it can; like fsck, it never enters a block twice.
 */
#include "capstore.h"
#include "bitmap.h"
#include "image.h"
#include "progress.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capstore.h>

struct run {
	__u64 index;
	__u64 blkno;
	__u64 len;
};

struct dump {
	const struct cs_ctx *ctx;
	struct cs_image img;
	bool list_blocks;
	__u64 want_seq;
	unsigned long errors;

	const struct capstore_dhdr *hdr;
	__u64 next_oid;
	struct cs_bitmap seen;		/* blocks listed */
	struct cs_bitmap otable_seen;	/* object table blocks re-read */

	/* the tree being listed */
	const char *tree;	/* for messages */
	__u64 nblocks, nleaves;
	__u64 *interior;
	size_t ninterior, interior_cap;
	struct run *runs;
	size_t nruns, runs_cap;

	/* blocks listed of the checkpoint's, when the dump goes to a file */
	__u64 nseen;
	struct cs_progress progress;
};

static void dump_error(struct dump *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void dump_error(struct dump *d, const char *fmt, ...)
{
	va_list ap;

	d->errors++;
	cs_progress_clear(&d->progress);
	fprintf(d->ctx->err, "capstore %s: ", d->ctx->sub);
	va_start(ap, fmt);
	vfprintf(d->ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', d->ctx->err);
}

static void print_dtree(struct dump *d, const char *name,
			const struct capstore_dtree *t)
{
	if (!t->root.blkno && !t->root.crc)
		fprintf(d->ctx->out, "    %-9s height %u, hole\n", name,
			t->height);
	else
		fprintf(d->ctx->out, "    %-9s height %u, root block %" PRIu64
			" crc 0x%08x\n", name, t->height,
			(uint64_t)le64_to_cpu(t->root.blkno),
			le32_to_cpu(t->root.crc));
}

static void dump_superblock(struct dump *d, const struct capstore_dsb *sb,
			    int err, const char *why)
{
	char uuid[CS_UUID_STR_LEN], when[CS_TIME_STR_LEN];
	char bytes[CS_BYTES_STR_LEN], label[sizeof(sb->label) + 1];
	__u64 magic = le64_to_cpu(sb->magic);
	FILE *o = d->ctx->out;

	cs_format_uuid(sb->uuid, uuid);
	cs_format_time(le64_to_cpu(sb->format_time), when, sizeof(when));
	cs_format_bytes(le64_to_cpu(sb->nblocks) << CAPSTORE_BLOCK_SHIFT,
			bytes, sizeof(bytes));
	memcpy(label, sb->label, sizeof(sb->label));
	label[sizeof(sb->label)] = '\0';

	fprintf(o, "superblock (block 0): %s%s\n", err ? "invalid: " : "valid",
		err ? why : "");
	fprintf(o, "    magic          0x%016" PRIx64 "%s\n", (uint64_t)magic,
		magic == CAPSTORE_SB_MAGIC ? " (CAPSTOR1)" : "");
	fprintf(o, "    crc            0x%08x\n", le32_to_cpu(sb->crc));
	fprintf(o, "    version        %u\n", le32_to_cpu(sb->version));
	fprintf(o, "    uuid           %s\n", uuid);
	fprintf(o, "    label          \"%s\"\n", label);
	fprintf(o, "    features       compat 0x%" PRIx64 ", ro_compat 0x%"
		PRIx64 ", incompat 0x%" PRIx64 "\n",
		(uint64_t)le64_to_cpu(sb->feature_compat),
		(uint64_t)le64_to_cpu(sb->feature_ro_compat),
		(uint64_t)le64_to_cpu(sb->feature_incompat));
	fprintf(o, "    block_size     %u\n", le32_to_cpu(sb->block_size));
	fprintf(o, "    nblocks        %" PRIu64 " (%s)\n",
		(uint64_t)le64_to_cpu(sb->nblocks), bytes);
	fprintf(o, "    header_slots   %u\n", le32_to_cpu(sb->header_slots));
	fprintf(o, "    header_start   %" PRIu64 "\n",
		(uint64_t)le64_to_cpu(sb->header_start));
	fprintf(o, "    data_start     %" PRIu64 "\n",
		(uint64_t)le64_to_cpu(sb->data_start));
	fprintf(o, "    format_time    %s\n", when);
	fprintf(o, "    device         %" PRIu64 " blocks%s\n",
		(uint64_t)d->img.dev_blocks, d->img.blkdev ? " (block device)"
							   : "");
}

static void dump_slot(struct dump *d, const struct cs_slot *s, bool newest)
{
	const struct capstore_dhdr *h = &s->hdr;
	char when[CS_TIME_STR_LEN];
	FILE *o = d->ctx->out;

	fprintf(o, "slot %u (block %" PRIu64 "): ", s->index,
		(uint64_t)s->blkno);
	if (s->state == CS_SLOT_EMPTY) {
		fprintf(o, "empty\n");
		return;
	}
	if (s->state == CS_SLOT_INVALID) {
		fprintf(o, "invalid: %s\n", s->why);
		if (le64_to_cpu(h->magic) != CAPSTORE_HDR_MAGIC)
			return;
		/* Show what it claims anyway: it helps find out why. */
		fprintf(o, "    (claims seq %" PRIu64 ")\n",
			(uint64_t)le64_to_cpu(h->seq));
		return;
	}
	cs_format_time(le64_to_cpu(h->time), when, sizeof(when));
	fprintf(o, "seq %" PRIu64 ", %s%s\n", (uint64_t)s->seq, when,
		newest ? " (newest)" : "");
	fprintf(o, "    crc 0x%08x, next_oid %" PRIu64 ", root_oid %" PRIu64
		", nobjects %" PRIu64 ", used_blocks %" PRIu64 "\n",
		le32_to_cpu(h->crc), (uint64_t)le64_to_cpu(h->next_oid),
		(uint64_t)le64_to_cpu(h->root_oid),
		(uint64_t)le64_to_cpu(h->nobjects),
		(uint64_t)le64_to_cpu(h->used_blocks));
	print_dtree(d, "otable", &h->otable);
	print_dtree(d, "spacemap", &h->spacemap);
}

/* ---- tree listing ---- */

static int grow(void **p, size_t *cap, size_t n, size_t size)
{
	void *q;
	size_t c;

	if (n < *cap)
		return 0;
	c = *cap ? *cap * 2 : 32;
	q = realloc(*p, c * size);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = c;
	return 0;
}

static int list_block(void *arg, __u64 blkno, unsigned int level,
		      __u64 first_leaf)
{
	struct dump *d = arg;
	struct run *r;
	int ret;

	ret = cs_bitmap_set(&d->seen, blkno);
	if (ret < 0)
		return ret;
	if (ret) {
		dump_error(d, "%s: block %" PRIu64 " (level %u, from leaf %"
			   PRIu64 ") was already seen elsewhere; not followed",
			   d->tree, (uint64_t)blkno, level,
			   (uint64_t)first_leaf);
		return 1;
	}
	cs_progress_update(&d->progress, ++d->nseen);
	d->nblocks++;
	if (level) {
		if (grow((void **)&d->interior, &d->interior_cap,
			 d->ninterior, sizeof(*d->interior)))
			return -ENOMEM;
		d->interior[d->ninterior++] = blkno;
		return 0;
	}
	d->nleaves++;
	if (d->nruns) {
		r = &d->runs[d->nruns - 1];
		if (r->index + r->len == first_leaf &&
		    r->blkno + r->len == blkno) {
			r->len++;
			return 0;
		}
	}
	if (grow((void **)&d->runs, &d->runs_cap, d->nruns, sizeof(*d->runs)))
		return -ENOMEM;
	d->runs[d->nruns++] = (struct run){ first_leaf, blkno, 1 };
	return 0;
}

static int list_bad(void *arg, __u64 blkno, unsigned int level,
		    __u64 first_leaf, int err, const char *why)
{
	struct dump *d = arg;

	(void)err;
	dump_error(d, "corrupt %s: level-%u block %" PRIu64 " (from leaf %"
		   PRIu64 "): %s", d->tree, level, (uint64_t)blkno,
		   (uint64_t)first_leaf, why);
	return 0;
}

static void print_blocks(struct dump *d, const char *unit)
{
	FILE *o = d->ctx->out;
	size_t i;

	if (d->ninterior) {
		fprintf(o, "      interior:");
		for (i = 0; i < d->ninterior; i++)
			fprintf(o, " %" PRIu64, (uint64_t)d->interior[i]);
		fputc('\n', o);
	}
	if (!d->nruns)
		return;
	fprintf(o, "      %s:", unit);
	for (i = 0; i < d->nruns; i++) {
		const struct run *r = &d->runs[i];

		if (r->len == 1)
			fprintf(o, " %" PRIu64 "@%" PRIu64, (uint64_t)r->index,
				(uint64_t)r->blkno);
		else
			fprintf(o, " %" PRIu64 "-%" PRIu64 "@%" PRIu64 "-%"
				PRIu64, (uint64_t)r->index,
				(uint64_t)(r->index + r->len - 1),
				(uint64_t)r->blkno,
				(uint64_t)(r->blkno + r->len - 1));
	}
	fputc('\n', o);
}

/*
 * Walk a tree to count (and with --blocks list) its blocks. The leaf
 * callback, if any, sees verified leaf contents.
 */
static int list_tree(struct dump *d, const char *tree,
		     const struct capstore_bptr *root, unsigned int height,
		     __u64 nleaves, unsigned int flags,
		     int (*leaf)(void *, __u64, __u64, const void *))
{
	const struct cs_walk_ops ops = {
		.block = list_block,
		.leaf = leaf,
		.bad = list_bad,
	};

	d->tree = tree;
	d->nblocks = d->nleaves = 0;
	d->ninterior = d->nruns = 0;
	return cs_tree_walk(&d->img, root, height, nleaves, flags, &ops, d);
}

/* ---- objects ---- */

/* Read the record of @oid from the checkpoint; -ENOENT if it is a hole. */
static int lookup_obj(struct dump *d, __u64 oid, struct capstore_dobj *rec)
{
	const struct capstore_dhdr *h = d->hdr;
	struct capstore_bptr leaf;
	const char *why = NULL;
	__u8 *buf;
	int err;

	err = cs_tree_lookup(&d->img, &h->otable.root, h->otable.height,
			     oid / CAPSTORE_OBJS_PER_BLOCK, &leaf, &why);
	if (err)
		return err;
	buf = malloc(CAPSTORE_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	err = cs_image_read_bptr(&d->img, &leaf, buf, &why);
	if (!err)
		memcpy(rec, buf + (oid % CAPSTORE_OBJS_PER_BLOCK) * sizeof(*rec),
		       sizeof(*rec));
	free(buf);
	return err;
}

static void dump_slots(struct dump *d, __u64 node,
		       const struct capstore_dnode *n)
{
	char rights[CS_RIGHTS_STR_LEN], kbuf[16];
	const char *why = NULL;
	FILE *o = d->ctx->out;
	unsigned int i;

	for (i = 0; i < CAPSTORE_DNODE_SLOTS; i++) {
		const struct capstore_dslot *s = &n->slots[i];
		struct capstore_dobj rec;
		__u64 oid = le64_to_cpu(s->oid), gen = le64_to_cpu(s->gen);
		__u32 kind = le32_to_cpu(s->kind);
		bool fwd = le32_to_cpu(s->flags) & CAPSTORE_DSLOT_FORWARDED;
		const char *state = "";
		int err;

		if (capstore_mem_is_zero(s, sizeof(*s)))
			continue;
		cs_format_rights(le32_to_cpu(s->rights), rights);
		err = capstore_dslot_verify(s, &why);
		if (err) {
			dump_error(d, "corrupt node %" PRIu64 " slot %u: %s",
				   (uint64_t)node, i, why);
			state = " CORRUPT";
		} else if (oid >= d->next_oid) {
			dump_error(d, "corrupt node %" PRIu64 " slot %u: object "
				   "id beyond next_oid", (uint64_t)node, i);
			state = " CORRUPT";
		} else {
			err = lookup_obj(d, oid, &rec);
			if ((err && err != -ENOENT) ||
			    (!err && capstore_dobj_verify(&rec, oid,
							  &d->img.geom,
							  &why)))
				state = " (target unreadable)";
			else if (err == -ENOENT ||
				 le32_to_cpu(rec.kind) !=
				 (fwd ? CAPSTORE_DOBJ_FORWARDER : kind) ||
				 le64_to_cpu(rec.gen) != gen)
				state = " dead";
		}
		fprintf(o, "    slot %2u: oid %" PRIu64 " gen %" PRIu64 " %s%s %s%s\n",
			i, (uint64_t)oid, (uint64_t)gen,
			cs_kind_name(kind, kbuf, sizeof(kbuf)),
			fwd ? " via forwarder" : "", rights, state);
	}
	if (!capstore_mem_is_zero(n->reserved, sizeof(n->reserved)))
		dump_error(d, "corrupt node %" PRIu64 ": node reserved bytes "
			   "not zero", (uint64_t)node);
}

static int dump_node(struct dump *d, __u64 oid, const struct capstore_dobj *r)
{
	const struct capstore_bptr *b = &r->data.root;
	const char *why = NULL;
	__u8 *buf;
	int err;

	if (!b->blkno && !b->crc) {
		fprintf(d->ctx->out, "    data hole (every slot empty)\n");
		return 0;
	}
	fprintf(d->ctx->out, "    data block %" PRIu64 " crc 0x%08x\n",
		(uint64_t)le64_to_cpu(b->blkno), le32_to_cpu(b->crc));
	err = cs_bitmap_set(&d->seen, le64_to_cpu(b->blkno));
	if (err < 0)
		return err;
	if (err) {
		dump_error(d, "node %" PRIu64 ": block %" PRIu64 " was already "
			   "seen elsewhere; not followed", (uint64_t)oid,
			   (uint64_t)le64_to_cpu(b->blkno));
		return 0;
	}
	cs_progress_update(&d->progress, ++d->nseen);
	buf = malloc(CAPSTORE_BLOCK_SIZE);
	if (!buf)
		return -ENOMEM;
	err = cs_image_read_bptr(&d->img, b, buf, &why);
	if (err) {
		dump_error(d, "corrupt node %" PRIu64 " slots block: %s",
			   (uint64_t)oid, why);
		err = 0;
	} else {
		dump_slots(d, oid, (const struct capstore_dnode *)buf);
	}
	free(buf);
	return err;
}

static int dump_segment(struct dump *d, __u64 oid,
			const struct capstore_dobj *r)
{
	__u64 pages = le64_to_cpu(r->size) >> CAPSTORE_BLOCK_SHIFT;
	char tree[48];
	int err;

	snprintf(tree, sizeof(tree), "segment %" PRIu64, (uint64_t)oid);
	err = list_tree(d, tree, &r->data.root, r->data.height, pages, 0, NULL);
	if (err)
		return err;
	if (!r->data.root.blkno && !r->data.root.crc)
		fprintf(d->ctx->out, "    data height %u, hole (all zero)\n",
			r->data.height);
	else
		fprintf(d->ctx->out, "    data height %u, root block %" PRIu64
			" crc 0x%08x, %" PRIu64 " blocks (%" PRIu64
			" pages)\n", r->data.height,
			(uint64_t)le64_to_cpu(r->data.root.blkno),
			le32_to_cpu(r->data.root.crc), (uint64_t)d->nblocks,
			(uint64_t)d->nleaves);
	if (d->list_blocks)
		print_blocks(d, "pages");
	return 0;
}

static int otable_leaf(void *arg, __u64 index, __u64 blkno, const void *data)
{
	const struct capstore_dobj *recs = data;
	struct dump *d = arg;
	FILE *o = d->ctx->out;
	const char *why = NULL;
	char kbuf[16], bytes[CS_BYTES_STR_LEN];
	unsigned int i;
	int err;

	(void)blkno;
	for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++) {
		const struct capstore_dobj *r = &recs[i];
		__u64 oid = index * CAPSTORE_OBJS_PER_BLOCK + i;
		__u32 kind = le32_to_cpu(r->kind);
		__u64 size = le64_to_cpu(r->size);

		if (kind == CAPSTORE_DOBJ_FREE &&
		    !capstore_dobj_verify(r, oid, &d->img.geom, &why) &&
		    oid && oid < d->next_oid)
			continue;
		if (capstore_mem_is_zero(r, sizeof(*r)))
			continue;
		cs_format_bytes(size, bytes, sizeof(bytes));
		fprintf(o, "oid %" PRIu64 ": %s gen %" PRIu64, (uint64_t)oid,
			cs_kind_name(kind, kbuf, sizeof(kbuf)),
			(uint64_t)le64_to_cpu(r->gen));
		if (kind == CAPSTORE_DOBJ_SEGMENT)
			fprintf(o, " size %" PRIu64 " (%s, %" PRIu64 " pages)",
				(uint64_t)size, bytes,
				(uint64_t)(size >> CAPSTORE_BLOCK_SHIFT));
		if (oid == le64_to_cpu(d->hdr->root_oid))
			fprintf(o, " [root]");
		fputc('\n', o);
		if (!oid || oid >= d->next_oid) {
			dump_error(d, "corrupt object record: oid %" PRIu64
				   ": record at or beyond next_oid or of id 0 "
				   "is not all zero", (uint64_t)oid);
			continue;
		}
		err = capstore_dobj_verify(r, oid, &d->img.geom, &why);
		if (err) {
			dump_error(d, "corrupt object record: oid %" PRIu64
				   ": %s", (uint64_t)oid, why);
			continue;
		}
		if (kind == CAPSTORE_DOBJ_NODE || kind == CAPSTORE_DOBJ_FORWARDER)
			err = dump_node(d, oid, r);
		else
			err = dump_segment(d, oid, r);
		if (err)
			return err;
	}
	return 0;
}

/* The second walk of the object table: enter each block once, quietly. */
static int otable_block_once(void *arg, __u64 blkno, unsigned int level,
			     __u64 first_leaf)
{
	struct dump *d = arg;

	(void)level;
	(void)first_leaf;
	return cs_bitmap_set(&d->otable_seen, blkno);
}

static int dump_trees(struct dump *d, const struct cs_slot *s)
{
	const struct capstore_dhdr *h = &s->hdr;
	const struct cs_walk_ops ops = {
		.block = otable_block_once,
		.leaf = otable_leaf,
	};
	__u64 nleaves;
	int err;

	d->hdr = h;
	d->next_oid = le64_to_cpu(h->next_oid);
	err = cs_bitmap_init(&d->seen, d->img.geom.nblocks);
	if (!err)
		err = cs_bitmap_init(&d->otable_seen, d->img.geom.nblocks);
	if (err)
		return err;

	fprintf(d->ctx->out, "\ncheckpoint %" PRIu64 " (slot %u)\n",
		(uint64_t)s->seq, s->index);
	nleaves = capstore_otable_leaves(d->next_oid);
	err = list_tree(d, "object table", &h->otable.root, h->otable.height,
			nleaves, CS_WALK_READ_LEAVES, NULL);
	if (err)
		return err;
	fprintf(d->ctx->out, "object table: height %u, %" PRIu64 " leaves "
		"(%" PRIu64 " present), %" PRIu64 " blocks\n",
		h->otable.height, (uint64_t)nleaves, (uint64_t)d->nleaves,
		(uint64_t)d->nblocks);
	if (d->list_blocks)
		print_blocks(d, "leaves");

	nleaves = capstore_spacemap_leaves(d->img.geom.nblocks);
	err = list_tree(d, "space map", &h->spacemap.root, h->spacemap.height,
			nleaves, CS_WALK_READ_LEAVES, NULL);
	if (err)
		return err;
	fprintf(d->ctx->out, "space map: height %u, %" PRIu64 " leaves (%"
		PRIu64 " present), %" PRIu64 " blocks\n", h->spacemap.height,
		(uint64_t)nleaves, (uint64_t)d->nleaves, (uint64_t)d->nblocks);
	if (d->list_blocks)
		print_blocks(d, "leaves");

	/*
	 * The object table again, now reading its leaves; problems in it
	 * were reported by the first walk.
	 */
	fprintf(d->ctx->out, "\n");
	d->tree = "object table";
	return cs_tree_walk(&d->img, &h->otable.root, h->otable.height,
			    capstore_otable_leaves(d->next_oid),
			    CS_WALK_READ_LEAVES, &ops, d);
}

/*
 * A progress line while the dump goes to a file or a pipe (when it goes to
 * the terminal, the dump itself shows how far it got).
 */
static void start_progress(struct dump *d, const struct cs_slot *s)
{
	const struct capstore_geom *g = &d->img.geom;
	__u64 used = le64_to_cpu(s->hdr.used_blocks);
	char what[CS_PROGRESS_WHAT_LEN];

	if (used > g->nblocks)
		used = g->nblocks;
	snprintf(what, sizeof(what), "dumping checkpoint %" PRIu64,
		 (uint64_t)s->seq);
	cs_progress_start(&d->progress, d->ctx,
			  !isatty(fileno(d->ctx->out)), 0,
			  used > g->data_start ? used - g->data_start : 0,
			  what);
}

static int dump_checkpoint(struct dump *d, const struct cs_slot *s)
{
	int err;

	start_progress(d, s);
	err = dump_trees(d, s);
	cs_progress_end(&d->progress);
	return err;
}

static int run_dump(struct dump *d, const char *path)
{
	struct capstore_dsb *sb = NULL;
	struct cs_slot *slots = NULL;
	const char *why = NULL;
	int err, newest, pick;
	unsigned int i;
	int ret = CS_EXIT_FAIL;

	err = cs_image_open(&d->img, path, 0);
	if (err) {
		if (err == -EINVAL)
			cs_msg(d->ctx, "%s is not a regular file or block "
			       "device", path);
		else
			cs_msg_err(d->ctx, err, "opening %s", path);
		return CS_EXIT_FAIL;
	}
	sb = calloc(1, sizeof(*sb));
	slots = calloc(CAPSTORE_MAX_HEADER_SLOTS, sizeof(*slots));
	if (!sb || !slots) {
		err = -ENOMEM;
		goto out_err;
	}
	err = cs_image_load_sb(&d->img, sb, &why);
	if (err == -ERANGE || err == -EIO || err == -ENOMEM) {
		cs_msg(d->ctx, "%s: %s", path, why);
		goto out;
	}
	dump_superblock(d, sb, err, why);
	if (err) {
		dump_error(d, "corrupt superblock: %s", why);
		goto out;
	}

	fputc('\n', d->ctx->out);
	newest = cs_image_read_slots(&d->img, slots);
	for (i = 0; i < d->img.geom.header_slots; i++)
		dump_slot(d, &slots[i], (int)i == newest);
	pick = newest < 0 ? newest : cs_pick_slot(&d->img, slots, d->want_seq);
	if (pick < 0) {
		if (d->want_seq)
			cs_msg(d->ctx, "no valid header with seq %" PRIu64,
			       (uint64_t)d->want_seq);
		else
			cs_msg(d->ctx, "no valid checkpoint header");
		goto out;
	}
	err = dump_checkpoint(d, &slots[pick]);
	if (err)
		goto out_err;
	ret = d->errors ? CS_EXIT_FAIL : CS_EXIT_OK;
	goto out;

out_err:
	cs_msg_err(d->ctx, err, "dumping %s", path);
out:
	cs_bitmap_free(&d->seen);
	cs_bitmap_free(&d->otable_seen);
	free(d->interior);
	free(d->runs);
	free(slots);
	free(sb);
	cs_image_close(&d->img);
	return ret;
}

static void dump_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore dump [options] DEVICE|FILE\n"
		"\n"
		"Print a store's superblock, header slots, and the objects of its\n"
		"newest checkpoint (tree roots, node slots with rights: r read,\n"
		"w write, m map, g grant, d destroy, W weak).\n"
		"\n"
		"Options:\n"
		"  -H, --header SEQ   dump checkpoint SEQ instead of the newest\n"
		"  -b, --blocks       list the blocks of every tree\n"
		"  -h, --help         show this help\n");
}

int cmd_dump(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "header", required_argument, NULL, 'H' },
		{ "blocks", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct dump d;
	int c;

	memset(&d, 0, sizeof(d));
	d.ctx = ctx;
	d.img.fd = -1;
	while ((c = getopt_long(argc, argv, ":H:bh", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (cs_parse_u64(optarg, &d.want_seq) || !d.want_seq)
				return cs_usage_error(ctx, "bad sequence "
						      "number '%s'", optarg);
			break;
		case 'b':
			d.list_blocks = true;
			break;
		case 'h':
			dump_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind != argc - 1)
		return cs_usage_error(ctx, optind >= argc ?
				      "missing DEVICE or FILE" :
				      "too many arguments");
	return run_dump(&d, argv[optind]);
}
