// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore fsck: check a store offline.
 *
 * 1. the superblock;
 * 2. every header slot (valid, empty, or invalid and why);
 * 3. the newest valid header (or the one asked for), then everything that
 *    hangs off it: the object table (every record), every live object's
 *    data tree (segment pages, node slots), the space map;
 * 4. the space map against the set of blocks actually reachable from the
 *    header, bit by bit, and the header's counts.
 *
 * Every pointer and block goes through common/verify.c first. Walks are
 * bounded by the tree heights and never enter a block twice (a block
 * referenced twice is reported and not followed again), so any amount of
 * garbage ends in a finite report.
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

#include <linux/capstore.h>

#define FSCK_DEFAULT_MAX_REPORT	100

struct fsck_obj {
	__u64 oid;
	__u64 gen;
	__u64 size;
	__u32 kind;
	bool damaged;		/* record failed its verifier */
	struct capstore_dtree data;
};

struct leaf_range {
	__u64 first;
	__u64 count;
};

/* What the current walk is over, for messages. */
enum walk_what {
	W_OTABLE,
	W_SPACEMAP,
	W_SEGMENT,
	W_NODE,
	W_FORWARDER,
	W_SALVAGE,
};

struct fsck {
	const struct cs_ctx *ctx;
	struct cs_image img;

	/* options */
	bool verbose;
	bool no_data;
	bool strict;
	__u64 want_seq;
	unsigned long max_report;

	/* outcome */
	unsigned long nproblems;
	unsigned long nwarnings;
	int fatal;

	/* the checkpoint being checked */
	const struct capstore_dhdr *hdr;
	__u64 next_oid;
	struct cs_bitmap reach;		/* blocks reachable from hdr */
	struct fsck_obj *objs;		/* live objects, by oid */
	size_t nobjs, objs_cap;

	/* the current walk */
	enum walk_what what;
	__u64 what_oid;

	/* space map comparison */
	struct cs_bitmap smap_seen;	/* leaves compared */
	struct cs_bitmap smap_visit;	/* blocks entered by the compare walk */
	struct leaf_range *smap_bad;	/* leaves that could not be read */
	size_t nsmap_bad, smap_bad_cap;
	__u64 smap_set;

	/* statistics */
	__u64 nsegments, nnodes, nforwarders;
	__u64 meta_blocks, data_blocks;
	__u64 nslots, ndead;

	/* blocks checked of the checkpoint's, on a terminal */
	struct cs_progress progress;
};

static void problem(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void problem(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->nproblems++;
	if (f->max_report && f->nproblems > f->max_report)
		return;
	cs_progress_clear(&f->progress);
	fprintf(f->ctx->err, "capstore %s: ", f->ctx->sub);
	va_start(ap, fmt);
	vfprintf(f->ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', f->ctx->err);
}

static void warning(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void warning(struct fsck *f, const char *fmt, ...)
{
	va_list ap;

	f->nwarnings++;
	cs_progress_clear(&f->progress);
	fprintf(f->ctx->err, "capstore %s: warning: ", f->ctx->sub);
	va_start(ap, fmt);
	vfprintf(f->ctx->err, fmt, ap);
	va_end(ap);
	fputc('\n', f->ctx->err);
}

/* "segment 5 page 3", "space map level-1 block for leaves 0..255" */
static void describe(const struct fsck *f, char *buf, size_t len,
		     unsigned int level, __u64 first)
{
	char tree[48];
	const char *unit = "leaf", *units = "leaves";
	__u64 span = cs_level_span(level);
	__u64 last = first + span - 1 < first ? ~0ULL : first + span - 1;

	switch (f->what) {
	case W_OTABLE:
		snprintf(tree, sizeof(tree), "object table");
		break;
	case W_SPACEMAP:
		snprintf(tree, sizeof(tree), "space map");
		break;
	case W_SEGMENT:
		snprintf(tree, sizeof(tree), "segment %" PRIu64,
			 (uint64_t)f->what_oid);
		unit = "page";
		units = "pages";
		break;
	case W_NODE:
		snprintf(buf, len, "node %" PRIu64 " slots block",
			 (uint64_t)f->what_oid);
		return;
	case W_FORWARDER:
		snprintf(buf, len, "forwarder %" PRIu64 " block",
			 (uint64_t)f->what_oid);
		return;
	case W_SALVAGE:
		snprintf(tree, sizeof(tree), "object %" PRIu64,
			 (uint64_t)f->what_oid);
		break;
	}
	if (!level)
		snprintf(buf, len, "%s %s %" PRIu64, tree, unit,
			 (uint64_t)first);
	else
		snprintf(buf, len, "%s level-%u block for %s %" PRIu64
			 "..%" PRIu64, tree, level, units, (uint64_t)first,
			 (uint64_t)last);
}

static const struct fsck_obj *find_obj(const struct fsck *f, __u64 oid)
{
	size_t lo = 0, hi = f->nobjs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->objs[mid].oid == oid)
			return &f->objs[mid];
		if (f->objs[mid].oid < oid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static int add_obj(struct fsck *f, const struct capstore_dobj *o, __u64 oid,
		   bool damaged)
{
	struct fsck_obj *p;

	if (f->nobjs == f->objs_cap) {
		size_t cap = f->objs_cap ? f->objs_cap * 2 : 64;

		p = realloc(f->objs, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->objs = p;
		f->objs_cap = cap;
	}
	p = &f->objs[f->nobjs++];
	p->oid = oid;
	p->gen = le64_to_cpu(o->gen);
	p->size = le64_to_cpu(o->size);
	p->kind = le32_to_cpu(o->kind);
	p->damaged = damaged;
	p->data = o->data;
	return 0;
}

/* ---- callbacks shared by the marking walks ---- */

static int mark_block(void *arg, __u64 blkno, unsigned int level,
		      __u64 first_leaf)
{
	struct fsck *f = arg;
	char where[96];
	int ret;

	ret = cs_bitmap_set(&f->reach, blkno);
	if (ret < 0)
		return ret;
	if (ret) {
		if (f->what != W_SALVAGE) {
			describe(f, where, sizeof(where), level, first_leaf);
			problem(f, "block %" PRIu64 " referenced twice (again "
				"as %s)", (uint64_t)blkno, where);
		}
		return 1;
	}
	if (f->what == W_SEGMENT && !level)
		f->data_blocks++;
	else
		f->meta_blocks++;
	cs_progress_update(&f->progress, f->meta_blocks + f->data_blocks);
	return 0;
}

static int report_bad(void *arg, __u64 blkno, unsigned int level,
		      __u64 first_leaf, int err, const char *why)
{
	struct fsck *f = arg;
	char where[96];

	(void)err;
	if (f->what == W_SALVAGE)
		return 0;
	describe(f, where, sizeof(where), level, first_leaf);
	problem(f, "corrupt %s: block %" PRIu64 ": %s", where,
		(uint64_t)blkno, why);
	return 0;
}

/* ---- object table ---- */

static int otable_leaf(void *arg, __u64 index, __u64 blkno, const void *data)
{
	const struct capstore_dobj *recs = data;
	struct fsck *f = arg;
	const char *why = NULL;
	unsigned int i;
	int err;

	(void)blkno;
	for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++) {
		const struct capstore_dobj *o = &recs[i];
		__u64 oid = index * CAPSTORE_OBJS_PER_BLOCK + i;
		bool zero = capstore_mem_is_zero(o, sizeof(*o));

		if (oid >= f->next_oid || oid == CAPSTORE_OID_NONE) {
			if (!zero)
				problem(f, "corrupt object record: oid %" PRIu64
					": %s is not all zero", (uint64_t)oid,
					oid ? "record at or beyond next_oid"
					    : "record of object id 0");
			continue;
		}
		err = capstore_dobj_verify(o, oid, &f->img.geom, &why);
		if (err) {
			problem(f, "corrupt object record: oid %" PRIu64 ": %s",
				(uint64_t)oid, why);
			/*
			 * Still account for the blocks it seems to own, so
			 * one bad record does not also read as a thousand
			 * leaked blocks.
			 */
			if (le32_to_cpu(o->kind) != CAPSTORE_DOBJ_FREE &&
			    !capstore_dtree_verify(&o->data, &f->img.geom,
						   CAPSTORE_SEGMENT_MAX_HEIGHT,
						   &why)) {
				err = add_obj(f, o, oid, true);
				if (err)
					return err;
			}
			continue;
		}
		if (le32_to_cpu(o->kind) == CAPSTORE_DOBJ_FREE)
			continue;
		err = add_obj(f, o, oid, false);
		if (err)
			return err;
	}
	return 0;
}

static int check_otable(struct fsck *f)
{
	static const struct cs_walk_ops ops = {
		.block = mark_block,
		.leaf = otable_leaf,
		.bad = report_bad,
	};
	const struct capstore_dhdr *h = f->hdr;
	const struct fsck_obj *root;
	__u64 root_oid = le64_to_cpu(h->root_oid);
	__u64 nlive;
	int err;

	f->what = W_OTABLE;
	err = cs_tree_walk(&f->img, &h->otable.root, h->otable.height,
			   capstore_otable_leaves(f->next_oid),
			   CS_WALK_READ_LEAVES, &ops, f);
	if (err)
		return err;

	/* Damaged records were already reported; count them as live. */
	nlive = f->nobjs;
	if (nlive != le64_to_cpu(h->nobjects))
		problem(f, "header nobjects %" PRIu64 " but the object table "
			"holds %" PRIu64 " live objects",
			(uint64_t)le64_to_cpu(h->nobjects), (uint64_t)nlive);
	root = find_obj(f, root_oid);
	if (!root || (!root->damaged && root->kind != CAPSTORE_DOBJ_NODE))
		problem(f, "root object %" PRIu64 " is not a live node",
			(uint64_t)root_oid);
	return 0;
}

/* ---- objects ---- */

static int segment_leaf(void *arg, __u64 index, __u64 blkno, const void *data)
{
	(void)arg;
	(void)index;
	(void)blkno;
	(void)data;
	return 0;
}

static void check_slot(struct fsck *f, __u64 node, unsigned int i,
		       const struct capstore_dslot *s)
{
	const struct fsck_obj *o;
	const char *why = NULL;
	char kind[16];
	__u64 oid, gen;

	if (capstore_dslot_verify(s, &why)) {
		problem(f, "corrupt node %" PRIu64 " slot %u: %s",
			(uint64_t)node, i, why);
		return;
	}
	oid = le64_to_cpu(s->oid);
	if (!oid)
		return;
	f->nslots++;
	gen = le64_to_cpu(s->gen);
	if (oid >= f->next_oid) {
		problem(f, "corrupt node %" PRIu64 " slot %u: object id %" PRIu64
			" at or beyond next_oid %" PRIu64, (uint64_t)node, i,
			(uint64_t)oid, (uint64_t)f->next_oid);
		return;
	}
	o = find_obj(f, oid);
	/* A forwarded capability is alive while its forwarder is. */
	if (o && !o->damaged && o->gen == gen &&
	    o->kind == (le32_to_cpu(s->flags) & CAPSTORE_DSLOT_FORWARDED ?
			CAPSTORE_DOBJ_FORWARDER : le32_to_cpu(s->kind)))
		return;
	f->ndead++;
	if (!f->verbose)
		return;
	cs_progress_clear(&f->progress);
	fprintf(f->ctx->out, "node %" PRIu64 " slot %u: dead capability to %s",
		(uint64_t)node, i,
		cs_kind_name(le32_to_cpu(s->kind), kind, sizeof(kind)));
	if (le32_to_cpu(s->flags) & CAPSTORE_DSLOT_FORWARDED)
		fprintf(f->ctx->out, " through forwarder");
	fprintf(f->ctx->out, " %" PRIu64 " gen %" PRIu64, (uint64_t)oid,
		(uint64_t)gen);
	if (!o || o->damaged)
		fprintf(f->ctx->out, " (no such object)\n");
	else
		fprintf(f->ctx->out, " (object is gen %" PRIu64 ")\n",
			(uint64_t)o->gen);
}

static int node_leaf(void *arg, __u64 index, __u64 blkno, const void *data)
{
	const struct capstore_dnode *n = data;
	struct fsck *f = arg;
	unsigned int i;

	(void)index;
	(void)blkno;
	for (i = 0; i < CAPSTORE_DNODE_SLOTS; i++)
		check_slot(f, f->what_oid, i, &n->slots[i]);
	if (f->what == W_FORWARDER &&
	    (!n->slots[0].oid ||
	     !capstore_mem_is_zero(&n->slots[1], sizeof(n->slots) -
				   sizeof(n->slots[0]))))
		problem(f, "corrupt forwarder %" PRIu64 ": it must hold exactly "
			"one capability, in slot 0", (uint64_t)f->what_oid);
	if (!capstore_mem_is_zero(n->reserved, sizeof(n->reserved)))
		problem(f, "corrupt node %" PRIu64 ": node reserved bytes not "
			"zero", (uint64_t)f->what_oid);
	return 0;
}

static int check_objects(struct fsck *f)
{
	static const struct cs_walk_ops seg_ops = {
		.block = mark_block,
		.leaf = segment_leaf,
		.bad = report_bad,
	};
	static const struct cs_walk_ops node_ops = {
		.block = mark_block,
		.leaf = node_leaf,
		.bad = report_bad,
	};
	static const struct cs_walk_ops salvage_ops = {
		.block = mark_block,
	};
	size_t i;
	int err;

	for (i = 0; i < f->nobjs; i++) {
		const struct fsck_obj *o = &f->objs[i];

		f->what_oid = o->oid;
		if (o->damaged) {
			f->what = W_SALVAGE;
			err = cs_tree_walk(&f->img, &o->data.root,
					   o->data.height,
					   capstore_tree_capacity(o->data.height),
					   0, &salvage_ops, f);
		} else if (o->kind == CAPSTORE_DOBJ_SEGMENT) {
			f->what = W_SEGMENT;
			f->nsegments++;
			err = cs_tree_walk(&f->img, &o->data.root,
					   o->data.height,
					   o->size >> CAPSTORE_BLOCK_SHIFT,
					   f->no_data ? 0 : CS_WALK_READ_LEAVES,
					   &seg_ops, f);
		} else {
			if (o->kind == CAPSTORE_DOBJ_FORWARDER) {
				f->what = W_FORWARDER;
				f->nforwarders++;
			} else {
				f->what = W_NODE;
				f->nnodes++;
			}
			err = cs_tree_walk(&f->img, &o->data.root, 0, 1,
					   CS_WALK_READ_LEAVES, &node_ops, f);
		}
		if (err)
			return err;
	}
	return 0;
}

/* ---- space map ---- */

static int smap_visit_block(void *arg, __u64 blkno, unsigned int level,
			    __u64 first_leaf)
{
	struct fsck *f = arg;
	int ret;

	(void)level;
	(void)first_leaf;
	ret = cs_bitmap_set(&f->smap_visit, blkno);
	return ret;	/* 1: seen already, skip; <0: error */
}

static int smap_note_bad(void *arg, __u64 blkno, unsigned int level,
			 __u64 first_leaf, int err, const char *why)
{
	struct fsck *f = arg;
	struct leaf_range *r;
	__u64 span = cs_level_span(level);

	(void)blkno;
	(void)err;
	(void)why;
	if (f->nsmap_bad == f->smap_bad_cap) {
		size_t cap = f->smap_bad_cap ? f->smap_bad_cap * 2 : 16;

		r = realloc(f->smap_bad, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		f->smap_bad = r;
		f->smap_bad_cap = cap;
	}
	r = &f->smap_bad[f->nsmap_bad++];
	r->first = first_leaf;
	r->count = first_leaf + span < first_leaf ? ~0ULL - first_leaf : span;
	return 0;
}

static bool smap_leaf_bad(const struct fsck *f, __u64 leaf)
{
	size_t i;

	for (i = 0; i < f->nsmap_bad; i++)
		if (leaf >= f->smap_bad[i].first &&
		    leaf - f->smap_bad[i].first < f->smap_bad[i].count)
			return true;
	return false;
}

static void smap_diff_bit(struct fsck *f, __u64 blk, bool want, bool have)
{
	if (want && !have)
		problem(f, "block %" PRIu64 " used but marked free",
			(uint64_t)blk);
	else
		problem(f, "block %" PRIu64 " marked used but unreferenced "
			"(leaked)", (uint64_t)blk);
}

static int smap_leaf(void *arg, __u64 index, __u64 blkno, const void *data)
{
	static const __u8 zero[CAPSTORE_BLOCK_SIZE];
	struct fsck *f = arg;
	const __u8 *have = data;
	const __u8 *want = cs_bitmap_chunk(&f->reach, index);
	__u64 base = index * CAPSTORE_BITS_PER_BLOCK;
	__u64 beyond = 0, first_beyond = 0;
	unsigned int w, b;
	int err;

	(void)blkno;
	err = cs_bitmap_set(&f->smap_seen, index);
	if (err < 0)
		return err;
	if (!want)
		want = zero;
	f->smap_set += cs_popcount(have, CAPSTORE_BLOCK_SIZE);
	for (w = 0; w < CAPSTORE_BLOCK_SIZE; w += 8) {
		if (!memcmp(have + w, want + w, 8))
			continue;
		for (b = 0; b < 64; b++) {
			__u64 blk = base + (__u64)w * 8 + b;
			bool h = (have[w + b / 8] >> (b % 8)) & 1;
			bool x = (want[w + b / 8] >> (b % 8)) & 1;

			if (h == x)
				continue;
			if (blk < f->img.geom.nblocks) {
				smap_diff_bit(f, blk, x, h);
				continue;
			}
			if (!beyond++)
				first_beyond = blk;
		}
	}
	/* Bits past the end of the store: one problem, not thousands. */
	if (beyond)
		problem(f, "space map leaf %" PRIu64 " marks %" PRIu64 " blocks "
			"beyond the end of the store used (the first is %" PRIu64
			")", (uint64_t)index, (uint64_t)beyond,
			(uint64_t)first_beyond);
	return 0;
}

static int check_spacemap(struct fsck *f)
{
	static const struct cs_walk_ops mark_ops = {
		.block = mark_block,
		.bad = report_bad,
	};
	static const struct cs_walk_ops cmp_ops = {
		.block = smap_visit_block,
		.leaf = smap_leaf,
		.bad = smap_note_bad,
	};
	const struct capstore_dhdr *h = f->hdr;
	__u64 nleaves = capstore_spacemap_leaves(f->img.geom.nblocks);
	__u64 chunk = 0, used = le64_to_cpu(h->used_blocks);
	int err;

	/* Pass 1: the space map's own blocks are reachable too. */
	f->what = W_SPACEMAP;
	err = cs_tree_walk(&f->img, &h->spacemap.root, h->spacemap.height,
			   nleaves, CS_WALK_READ_LEAVES, &mark_ops, f);
	if (err)
		return err;

	/* Pass 2: now that the reachable set is complete, compare. */
	err = cs_bitmap_init(&f->smap_seen, nleaves);
	if (!err)
		err = cs_bitmap_init(&f->smap_visit, f->img.geom.nblocks);
	if (err)
		return err;
	err = cs_tree_walk(&f->img, &h->spacemap.root, h->spacemap.height,
			   nleaves, CS_WALK_READ_LEAVES, &cmp_ops, f);
	if (err)
		return err;

	/* Reachable blocks in leaves that are holes: used but marked free. */
	while (!cs_bitmap_next_chunk(&f->reach, &chunk)) {
		const __u8 *want = cs_bitmap_chunk(&f->reach, chunk);
		__u64 b;

		if (!cs_bitmap_test(&f->smap_seen, chunk) &&
		    !smap_leaf_bad(f, chunk)) {
			for (b = 0; b < CAPSTORE_BITS_PER_BLOCK; b++)
				if ((want[b / 8] >> (b % 8)) & 1)
					smap_diff_bit(f, chunk *
						      CAPSTORE_BITS_PER_BLOCK + b,
						      true, false);
		}
		chunk++;
	}

	if (f->nsmap_bad)
		warning(f, "space map partly unreadable: used_blocks not "
			"checked");
	else if (f->smap_set != used)
		problem(f, "header used_blocks %" PRIu64 " but the space map "
			"marks %" PRIu64 " blocks used", (uint64_t)used,
			(uint64_t)f->smap_set);
	return 0;
}

/* ---- header slots ---- */

static void print_slot(struct fsck *f, const struct cs_slot *s)
{
	char when[CS_TIME_STR_LEN];

	fprintf(f->ctx->out, "slot %u (block %" PRIu64 "): ", s->index,
		(uint64_t)s->blkno);
	switch (s->state) {
	case CS_SLOT_EMPTY:
		fprintf(f->ctx->out, "empty\n");
		break;
	case CS_SLOT_VALID:
		cs_format_time(le64_to_cpu(s->hdr.time), when, sizeof(when));
		fprintf(f->ctx->out, "valid, seq %" PRIu64 ", %s\n",
			(uint64_t)s->seq, when);
		break;
	case CS_SLOT_INVALID:
		fprintf(f->ctx->out, "invalid: %s\n", s->why);
		break;
	}
}

/*
 * A slot that fails its checksum or magic may be a commit that a crash
 * tore: recovery ignores it and uses the newest valid header, so it is
 * not damage as long as one exists. A slot whose checksum is right but
 * whose contents are wrong was written wrong: that is damage.
 */
static void judge_slot(struct fsck *f, const struct cs_slot *s, bool any_valid)
{
	if (s->state != CS_SLOT_INVALID)
		return;
	if (any_valid && !f->strict &&
	    (s->err == -EBADMSG || s->err == -EINVAL))
		warning(f, "header slot %u: %s: ignored (an interrupted "
			"commit?)", s->index, s->why);
	else
		problem(f, "corrupt header slot %u: %s", s->index, s->why);
}

/* ---- the whole check ---- */

static void print_summary(struct fsck *f, unsigned int slot)
{
	const struct capstore_geom *g = &f->img.geom;
	const struct capstore_dhdr *h = f->hdr;
	char when[CS_TIME_STR_LEN];
	__u64 used = le64_to_cpu(h->used_blocks);

	cs_format_time(le64_to_cpu(h->time), when, sizeof(when));
	fprintf(f->ctx->out, "checkpoint %" PRIu64 " (slot %u), committed %s\n",
		(uint64_t)le64_to_cpu(h->seq), slot, when);
	fprintf(f->ctx->out, "  objects     %zu live (%" PRIu64 " segments, %"
		PRIu64 " nodes, %" PRIu64 " forwarders), next oid %" PRIu64
		", root %" PRIu64 "\n",
		f->nobjs, (uint64_t)f->nsegments, (uint64_t)f->nnodes,
		(uint64_t)f->nforwarders,
		(uint64_t)f->next_oid,
		(uint64_t)le64_to_cpu(h->root_oid));
	fprintf(f->ctx->out, "  node slots  %" PRIu64 " in use, %" PRIu64
		" dead\n", (uint64_t)f->nslots, (uint64_t)f->ndead);
	fprintf(f->ctx->out, "  blocks      %" PRIu64 " used, %" PRIu64
		" free, %" PRIu64 " total\n", (uint64_t)used,
		(uint64_t)(used <= g->nblocks ? g->nblocks - used : 0),
		(uint64_t)g->nblocks);
	fprintf(f->ctx->out, "  reachable   %" PRIu64 " superblock and "
		"headers, %" PRIu64 " metadata, %" PRIu64 " segment data\n",
		(uint64_t)g->data_start, (uint64_t)f->meta_blocks,
		(uint64_t)f->data_blocks);
}

static int check_checkpoint(struct fsck *f, const struct cs_slot *slot)
{
	__u64 used = le64_to_cpu(slot->hdr.used_blocks);
	const struct capstore_geom *g = &f->img.geom;
	char what[CS_PROGRESS_WHAT_LEN];
	__u64 b;
	int err;

	f->hdr = &slot->hdr;
	f->next_oid = le64_to_cpu(slot->hdr.next_oid);
	/* The blocks the walks enter: all used ones but the first few. */
	if (used > g->nblocks)
		used = g->nblocks;
	snprintf(what, sizeof(what), "checking checkpoint %" PRIu64,
		 (uint64_t)slot->seq);
	cs_progress_start(&f->progress, f->ctx, true, 0,
			  used > g->data_start ? used - g->data_start : 0,
			  what);
	err = cs_bitmap_init(&f->reach, f->img.geom.nblocks);
	if (err)
		return err;
	for (b = 0; b < f->img.geom.data_start; b++) {
		err = cs_bitmap_set(&f->reach, b);
		if (err < 0)
			return err;
	}
	err = check_otable(f);
	if (!err)
		err = check_objects(f);
	if (!err)
		err = check_spacemap(f);
	cs_progress_end(&f->progress);
	return err;
}

static int run_fsck(struct fsck *f, const char *path)
{
	struct cs_slot *slots = NULL;
	const char *why = NULL;
	char uuid[CS_UUID_STR_LEN];
	unsigned int i;
	int err, pick;

	/* O_EXCL: a block device the module has attached is busy. */
	err = cs_image_open(&f->img, path, CS_IMAGE_EXCL);
	if (err) {
		if (err == -EINVAL)
			cs_msg(f->ctx, "%s is not a regular file or block "
			       "device", path);
		else if (err == -EBUSY)
			cs_msg(f->ctx, "%s is in use (an attached store? "
			       "detach it first)", path);
		else
			cs_msg_err(f->ctx, err, "opening %s", path);
		return CS_EXIT_FAIL;
	}
	err = cs_image_load_sb(&f->img, NULL, &why);
	if (err) {
		problem(f, "corrupt superblock: %s", why);
		goto out;
	}
	cs_format_uuid(f->img.geom.uuid, uuid);
	fprintf(f->ctx->out, "superblock: uuid %s, %" PRIu64 " blocks, %u "
		"header slots\n", uuid, (uint64_t)f->img.geom.nblocks,
		f->img.geom.header_slots);
	if (f->img.geom.feature_compat)
		fprintf(f->ctx->out, "superblock: compatible features 0x%"
			PRIx64 " not known to this version (ignored)\n",
			(uint64_t)f->img.geom.feature_compat);

	slots = calloc(CAPSTORE_MAX_HEADER_SLOTS, sizeof(*slots));
	if (!slots) {
		f->fatal = -ENOMEM;
		goto out;
	}
	pick = cs_image_read_slots(&f->img, slots);
	for (i = 0; i < f->img.geom.header_slots; i++) {
		print_slot(f, &slots[i]);
		judge_slot(f, &slots[i], pick >= 0);
	}
	if (pick < 0) {
		problem(f, "no valid checkpoint header");
		goto out;
	}
	if (f->want_seq) {
		int want = cs_pick_slot(&f->img, slots, f->want_seq);

		if (want < 0) {
			problem(f, "no valid header with seq %" PRIu64,
				(uint64_t)f->want_seq);
			goto out;
		}
		if (want != pick)
			fprintf(f->ctx->out, "note: checkpoint %" PRIu64 " is "
				"not the newest; newer checkpoints may have "
				"reused blocks it references\n",
				(uint64_t)f->want_seq);
		pick = want;
	}
	fprintf(f->ctx->out, "checking checkpoint %" PRIu64 " (slot %d)\n",
		(uint64_t)slots[pick].seq, pick);
	err = check_checkpoint(f, &slots[pick]);
	if (err) {
		f->fatal = err;
		goto out;
	}
	if (f->verbose)
		print_summary(f, (unsigned int)pick);
out:
	if (f->fatal) {
		cs_msg_err(f->ctx, f->fatal, "checking %s stopped", path);
	} else if (f->nproblems) {
		if (f->max_report && f->nproblems > f->max_report)
			cs_msg(f->ctx, "%lu more problems not shown",
			       f->nproblems - f->max_report);
		fprintf(f->ctx->out, "%s: %lu problem%s found\n", path,
			f->nproblems, f->nproblems == 1 ? "" : "s");
	} else if (f->hdr) {
		fprintf(f->ctx->out, "%s: clean, checkpoint %" PRIu64 ", %zu "
			"objects, %" PRIu64 "/%" PRIu64 " blocks\n", path,
			(uint64_t)le64_to_cpu(f->hdr->seq), f->nobjs,
			(uint64_t)le64_to_cpu(f->hdr->used_blocks),
			(uint64_t)f->img.geom.nblocks);
	}
	cs_bitmap_free(&f->reach);
	cs_bitmap_free(&f->smap_seen);
	cs_bitmap_free(&f->smap_visit);
	free(f->smap_bad);
	free(f->objs);
	free(slots);
	cs_image_close(&f->img);
	return (f->nproblems || f->fatal) ? CS_EXIT_FAIL : CS_EXIT_OK;
}

static void fsck_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore fsck [options] DEVICE|FILE\n"
		"\n"
		"Check a capstore store offline: superblock, header slots, and\n"
		"everything the newest valid checkpoint references.\n"
		"Exit status: 0 clean, 1 damage found (or the check failed),\n"
		"2 usage error.\n"
		"\n"
		"Options:\n"
		"  -H, --header SEQ      check checkpoint SEQ instead of the newest\n"
		"  -n, --no-data         do not read segment pages (metadata only)\n"
		"  -s, --strict          count torn header slots as damage too\n"
		"  -e, --max-errors N    print at most N problems (default %u,\n"
		"                        0: all); all are counted\n"
		"  -v, --verbose         print a summary and every dead slot\n"
		"  -h, --help            show this help\n",
		FSCK_DEFAULT_MAX_REPORT);
}

int cmd_fsck(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "header", required_argument, NULL, 'H' },
		{ "no-data", no_argument, NULL, 'n' },
		{ "strict", no_argument, NULL, 's' },
		{ "max-errors", required_argument, NULL, 'e' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct fsck f;
	__u64 v;
	int c;

	memset(&f, 0, sizeof(f));
	f.ctx = ctx;
	f.img.fd = -1;
	f.max_report = FSCK_DEFAULT_MAX_REPORT;
	while ((c = getopt_long(argc, argv, ":H:nse:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'H':
			if (cs_parse_u64(optarg, &f.want_seq) || !f.want_seq)
				return cs_usage_error(ctx, "bad sequence "
						      "number '%s'", optarg);
			break;
		case 'n':
			f.no_data = true;
			break;
		case 's':
			f.strict = true;
			break;
		case 'e':
			if (cs_parse_u64(optarg, &v) || v > 1000000000)
				return cs_usage_error(ctx, "bad count '%s'",
						      optarg);
			f.max_report = (unsigned long)v;
			break;
		case 'v':
			f.verbose = true;
			break;
		case 'h':
			fsck_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind != argc - 1)
		return cs_usage_error(ctx, optind >= argc ?
				      "missing DEVICE or FILE" :
				      "too many arguments");
	return run_fsck(&f, argv[optind]);
}
