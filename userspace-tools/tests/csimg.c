// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * csimg: test helper for the capstore offline tools. Not installed.
 *
 *   csimg populate IMG        commit checkpoint 2 on a freshly formatted
 *                             store: segments of tree height 0, 1 and 2,
 *                             nodes with live, weak and dead slots, a
 *                             destroyed object, an object table of height 1.
 *                             Copy-on-write: checkpoint 1 stays valid.
 *   csimg corrupt IMG KIND    damage the newest checkpoint in one precise
 *                             way, recomputing every checksum above the
 *                             damage so that only the intended problem
 *                             remains; prints the block concerned, if any.
 *   csimg fuzz IMG SEED       1-3 random mutations of random metadata
 *                             blocks, then (mostly) reseal the checksums so
 *                             the damage gets past them.
 *   csimg get IMG FIELD       print a value: nblocks, seq, data_start
 *
 * Uses image.c and common/verify.c like the tool it tests; it is itself
 * hostile-input-safe (bounded, visits each block once) since it runs on
 * fuzzed images.
 */
#include "image.h"
#include "bitmap.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/capstore.h>

#define BS CAPSTORE_BLOCK_SIZE

struct tool {
	struct cs_image img;
	struct capstore_geom g;
	struct cs_slot slots[CAPSTORE_MAX_HEADER_SLOTS];
	int newest;
	struct capstore_dhdr hdr;	/* newest header, in memory */
	unsigned int hslot;
	/* allocation (populate) */
	__u8 *oldmap, *newmap;
	/* resealing */
	struct cs_bitmap visited;
	__u64 rng;
};

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2),
						      noreturn));

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "csimg: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(3);
}

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n, s);

	if (!p)
		die("out of memory");
	return p;
}

static void rd(struct tool *t, __u64 blk, void *buf)
{
	int err = cs_image_read(&t->img, blk, buf);

	if (err)
		die("read block %" PRIu64 ": %s", (uint64_t)blk,
		    strerror(-err));
}

static void wr(struct tool *t, __u64 blk, const void *buf)
{
	int err = cs_image_write(&t->img, blk, buf);

	if (err)
		die("write block %" PRIu64 ": %s", (uint64_t)blk,
		    strerror(-err));
}

static void open_tool(struct tool *t, const char *path, bool need_header)
{
	const char *why = NULL;
	int err;

	memset(t, 0, sizeof(*t));
	err = cs_image_open(&t->img, path, CS_IMAGE_WRITE);
	if (err)
		die("open %s: %s", path, strerror(-err));
	err = cs_image_load_sb(&t->img, NULL, &why);
	if (err)
		die("%s: superblock: %s", path, why);
	t->g = t->img.geom;
	t->newest = cs_image_read_slots(&t->img, t->slots);
	if (t->newest < 0) {
		if (need_header)
			die("%s: no valid header", path);
		return;
	}
	t->hdr = t->slots[t->newest].hdr;
	t->hslot = (unsigned int)t->newest;
}

static void close_tool(struct tool *t)
{
	cs_bitmap_free(&t->visited);
	free(t->oldmap);
	free(t->newmap);
	if (cs_image_close(&t->img))
		die("close failed");
}

static bool bptr_in_range(const struct tool *t, const struct capstore_bptr *b)
{
	__u64 blk = le64_to_cpu(b->blkno);

	return blk >= t->g.data_start && blk < t->g.nblocks;
}

/* ---------------- resealing ---------------- */

typedef void (*leaf_hook)(struct tool *t, __u8 *leaf);

/*
 * Recompute the checksums of the tree below @b (in place) and then @b's.
 * Each interior block is rewritten at most once; garbage pointers are
 * left alone.
 */
static void reseal_tree(struct tool *t, struct capstore_bptr *b,
			unsigned int level, leaf_hook hook)
{
	__u64 blk = le64_to_cpu(b->blkno);
	__u8 *buf;
	int first;

	if (!bptr_in_range(t, b) || level > CAPSTORE_TREE_MAX_HEIGHT)
		return;
	buf = xcalloc(1, BS);
	rd(t, blk, buf);
	first = cs_bitmap_set(&t->visited, blk);
	if (first < 0)
		die("bitmap");
	if (!first) {
		if (level) {
			struct capstore_bptr *c = (struct capstore_bptr *)buf;
			unsigned int i;

			for (i = 0; i < CAPSTORE_FANOUT; i++)
				reseal_tree(t, &c[i], level - 1, hook);
			wr(t, blk, buf);
		} else if (hook) {
			hook(t, buf);
			wr(t, blk, buf);
		}
	}
	b->crc = cpu_to_le32(capstore_crc(buf, BS));
	free(buf);
}

static void reseal_otable_leaf(struct tool *t, __u8 *leaf)
{
	struct capstore_dobj *o = (struct capstore_dobj *)leaf;
	unsigned int i;

	for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++)
		if (o[i].data.root.blkno)
			reseal_tree(t, &o[i].data.root, o[i].data.height, NULL);
}

/* Reseal every tree of the header in slot @slot, then the header. */
static void reseal_header(struct tool *t, unsigned int slot)
{
	struct capstore_dhdr *h = xcalloc(1, sizeof(*h));

	cs_bitmap_free(&t->visited);
	if (cs_bitmap_init(&t->visited, t->g.nblocks))
		die("bitmap");
	rd(t, t->g.header_start + slot, h);
	reseal_tree(t, &h->otable.root, h->otable.height, reseal_otable_leaf);
	reseal_tree(t, &h->spacemap.root, h->spacemap.height, NULL);
	capstore_hdr_seal(h);
	wr(t, t->g.header_start + slot, h);
	free(h);
}

static void write_header(struct tool *t)
{
	wr(t, t->g.header_start + t->hslot, &t->hdr);
}

static void reseal_sb(struct tool *t)
{
	struct capstore_dsb *sb = xcalloc(1, sizeof(*sb));

	rd(t, 0, sb);
	sb->crc = cpu_to_le32(capstore_crc_block_excl(sb,
			__builtin_offsetof(struct capstore_dsb, crc)));
	wr(t, 0, sb);
	free(sb);
}

/* ---------------- lookups ---------------- */

/* Block number of leaf @index of a tree (0 for a hole). */
static __u64 leaf_blk(struct tool *t, const struct capstore_dtree *tr,
		      __u64 index)
{
	struct capstore_bptr b;
	const char *why = NULL;

	if (cs_tree_lookup(&t->img, &tr->root, tr->height, index, &b, &why))
		die("lookup leaf %" PRIu64 ": %s", (uint64_t)index, why);
	return le64_to_cpu(b.blkno);
}

/* Read the object record of @oid into @leaf; returns its block. */
static __u64 obj_leaf(struct tool *t, __u64 oid, __u8 *leaf,
		      struct capstore_dobj **rec)
{
	__u64 blk = leaf_blk(t, &t->hdr.otable, oid / CAPSTORE_OBJS_PER_BLOCK);

	if (!blk)
		die("object %" PRIu64 " is in a hole", (uint64_t)oid);
	rd(t, blk, leaf);
	*rec = (struct capstore_dobj *)leaf + oid % CAPSTORE_OBJS_PER_BLOCK;
	return blk;
}

/* ---------------- space map (flat, for populate and corrupt) -------- */

static int load_map_leaf(void *arg, __u64 index, __u64 blkno, const void *data)
{
	struct tool *t = arg;
	__u64 off = index * BS, len = (t->g.nblocks + 7) / 8;

	(void)blkno;
	if (off < len)
		memcpy(t->oldmap + off, data, len - off < BS ? len - off : BS);
	return 0;
}

static void load_map(struct tool *t)
{
	static const struct cs_walk_ops ops = { .leaf = load_map_leaf };

	t->oldmap = xcalloc(1, (t->g.nblocks + 7) / 8 + BS);
	if (cs_tree_walk(&t->img, &t->hdr.spacemap.root, t->hdr.spacemap.height,
			 capstore_spacemap_leaves(t->g.nblocks),
			 CS_WALK_READ_LEAVES, &ops, t))
		die("space map walk failed");
}

static bool test_bit(const __u8 *m, __u64 b)
{
	return (m[b / 8] >> (b % 8)) & 1;
}

static void set_bit(__u8 *m, __u64 b)
{
	m[b / 8] |= (__u8)(1U << (b % 8));
}

static void clear_bit(__u8 *m, __u64 b)
{
	m[b / 8] &= (__u8)~(1U << (b % 8));
}

/* Flip one space map bit of the newest checkpoint, in place. */
static void flip_map_bit(struct tool *t, __u64 blk, bool set)
{
	__u64 leafno = blk / CAPSTORE_BITS_PER_BLOCK;
	__u64 lb = leaf_blk(t, &t->hdr.spacemap, leafno);
	__u8 *buf = xcalloc(1, BS);
	__u64 bit = blk % CAPSTORE_BITS_PER_BLOCK;

	if (!lb)
		die("space map leaf %" PRIu64 " is a hole", (uint64_t)leafno);
	rd(t, lb, buf);
	if (set)
		set_bit(buf, bit);
	else
		clear_bit(buf, bit);
	wr(t, lb, buf);
	free(buf);
}

/* ---------------- populate ---------------- */

struct leafp {
	__u64 index;
	struct capstore_bptr b;
};

static __u64 alloc_blk(struct tool *t)
{
	__u64 b;

	for (b = t->g.data_start; b < t->g.nblocks &&
	     b < CAPSTORE_BITS_PER_BLOCK; b++) {
		if (!test_bit(t->oldmap, b) && !test_bit(t->newmap, b)) {
			set_bit(t->newmap, b);
			return b;
		}
	}
	die("populate: no free block in space map leaf 0");
}

static void write_new(struct tool *t, const void *buf, struct capstore_bptr *out)
{
	__u64 b = alloc_blk(t);

	wr(t, b, buf);
	capstore_bptr_set(out, b, buf);
}

/* Build the levels above sorted leaves @lv[0..n) under a level-@level block. */
static void build(struct tool *t, unsigned int level, __u64 first,
		  const struct leafp *lv, size_t n, struct capstore_bptr *out)
{
	struct capstore_bptr *c;
	__u64 span;
	size_t i = 0, j;
	unsigned int k;

	memset(out, 0, sizeof(*out));
	if (!n)
		return;
	if (!level) {
		*out = lv[0].b;
		return;
	}
	span = capstore_tree_capacity(level - 1);
	c = xcalloc(1, BS);
	for (k = 0; k < CAPSTORE_FANOUT && i < n; k++) {
		__u64 lo = first + k * span;

		for (j = i; j < n && lv[j].index < lo + span; j++)
			;
		build(t, level - 1, lo, lv + i, j - i, &c[k]);
		i = j;
	}
	write_new(t, c, out);
	free(c);
}

static void make_segment(struct tool *t, struct capstore_dobj *o, __u64 oid,
			 __u64 gen, __u64 pages, const __u64 *written,
			 size_t nwritten)
{
	struct leafp *lv = xcalloc(nwritten + 1, sizeof(*lv));
	__u8 *page = xcalloc(1, BS);
	size_t i;

	for (i = 0; i < nwritten; i++) {
		memset(page, (int)(oid * 16 + written[i]), BS);
		memcpy(page, &written[i], sizeof(written[i]));
		lv[i].index = written[i];
		write_new(t, page, &lv[i].b);
	}
	o->kind = cpu_to_le32(CAPSTORE_DOBJ_SEGMENT);
	o->oid = cpu_to_le64(oid);
	o->gen = cpu_to_le64(gen);
	o->size = cpu_to_le64(pages * BS);
	o->data.height = (__u8)capstore_tree_height_for(pages);
	build(t, o->data.height, 0, lv, nwritten, &o->data.root);
	free(page);
	free(lv);
}

static void set_slot(struct capstore_dnode *n, unsigned int i, __u64 oid,
		     __u64 gen, __u32 rights, __u32 kind)
{
	n->slots[i].oid = cpu_to_le64(oid);
	n->slots[i].gen = cpu_to_le64(gen);
	n->slots[i].rights = cpu_to_le32(rights);
	n->slots[i].kind = cpu_to_le32(kind);
}

static void make_node(struct tool *t, struct capstore_dobj *o, __u64 oid,
		      __u64 gen, const struct capstore_dnode *n)
{
	o->kind = cpu_to_le32(CAPSTORE_DOBJ_NODE);
	o->oid = cpu_to_le64(oid);
	o->gen = cpu_to_le64(gen);
	if (n)
		write_new(t, n, &o->data.root);
}

#define R_ALL CAPSTORE_RIGHTS_ALL
#define R_R CAPSTORE_RIGHT_READ
#define R_W CAPSTORE_RIGHT_WRITE
#define R_M CAPSTORE_RIGHT_MAP
#define R_G CAPSTORE_RIGHT_GRANT
#define R_D CAPSTORE_RIGHT_DESTROY
#define R_WEAK CAPSTORE_RIGHT_WEAK
#define SEG CAPSTORE_DOBJ_SEGMENT
#define NODE CAPSTORE_DOBJ_NODE

static void cmd_populate(const char *path)
{
	static const __u64 seg2_pages[] = { 0, 1, 2, 5 };
	static const __u64 seg3_pages[] = { 0, 299 };
	static const __u64 seg5_pages[] = { 0 };
	struct capstore_dobj *leaf0, *leaf2;
	struct capstore_dnode *root, *n4;
	struct leafp otl[2], sml[1];
	struct capstore_dhdr *h;
	struct tool t;
	unsigned int lvl, sheight;
	__u64 b, used, seq;
	__u64 smap_blocks[CAPSTORE_TREE_MAX_HEIGHT + 1];
	__u8 *buf;

	open_tool(&t, path, true);
	if (le64_to_cpu(t.hdr.next_oid) != 2)
		die("populate wants a freshly formatted store");
	load_map(&t);
	t.newmap = xcalloc(1, (t.g.nblocks + 7) / 8 + BS);
	leaf0 = xcalloc(1, BS);
	leaf2 = xcalloc(1, BS);
	root = xcalloc(1, BS);
	n4 = xcalloc(1, BS);

	make_segment(&t, &leaf0[2], 2, 1, 16, seg2_pages, 4);
	make_segment(&t, &leaf0[3], 3, 3, 300, seg3_pages, 2);
	make_segment(&t, &leaf0[5], 5, 1, 1, seg5_pages, 1);
	make_segment(&t, &leaf0[7], 7, 1, 0, NULL, 0);
	/* 6: destroyed, its id and last generation kept */
	leaf0[6].oid = cpu_to_le64(6);
	leaf0[6].gen = cpu_to_le64(4);

	set_slot(n4, 0, 3, 3, R_R | R_M | R_WEAK, SEG);
	set_slot(n4, 7, 2, 99, R_R | R_W, SEG);		/* dead: old gen */
	set_slot(n4, 8, 6, 4, R_R, SEG);		/* dead: destroyed */
	set_slot(n4, 31, 1, 1, R_R | R_W | R_G | R_D, NODE);
	make_node(&t, &leaf0[4], 4, 2, n4);
	make_node(&t, &leaf2[130 % 64], 130, 1, NULL);

	set_slot(root, 0, 2, 1, R_ALL, SEG);
	set_slot(root, 1, 4, 2, R_R | R_W | R_G, NODE);
	set_slot(root, 2, 5, 1, R_R | R_M, SEG);
	set_slot(root, 3, 130, 1, R_R | R_G | R_WEAK, NODE);
	make_node(&t, &leaf0[1], 1, 1, root);

	h = &t.hdr;
	otl[0].index = 0;
	write_new(&t, leaf0, &otl[0].b);
	otl[1].index = 2;
	write_new(&t, leaf2, &otl[1].b);
	memset(&h->otable, 0, sizeof(h->otable));
	h->otable.height = 1;
	build(&t, 1, 0, otl, 2, &h->otable.root);

	/* Space map: leaf 0 and the interior blocks above it. */
	sheight = capstore_tree_height_for(capstore_spacemap_leaves(t.g.nblocks));
	for (lvl = 0; lvl <= sheight; lvl++)
		smap_blocks[lvl] = alloc_blk(&t);
	for (b = 0; b < t.g.data_start; b++)
		set_bit(t.newmap, b);
	buf = xcalloc(1, BS);
	memcpy(buf, t.newmap, BS < (t.g.nblocks + 7) / 8 ? BS
						       : (t.g.nblocks + 7) / 8);
	used = cs_popcount(t.newmap, (t.g.nblocks + 7) / 8);
	wr(&t, smap_blocks[0], buf);
	capstore_bptr_set(&sml[0].b, smap_blocks[0], buf);
	for (lvl = 1; lvl <= sheight; lvl++) {
		memset(buf, 0, BS);
		memcpy(buf, &sml[0].b, sizeof(sml[0].b));
		wr(&t, smap_blocks[lvl], buf);
		capstore_bptr_set(&sml[0].b, smap_blocks[lvl], buf);
	}
	h->spacemap.root = sml[0].b;
	h->spacemap.height = (__u8)sheight;

	seq = le64_to_cpu(h->seq) + 1;
	h->seq = cpu_to_le64(seq);
	h->time = cpu_to_le64(le64_to_cpu(h->time) + 1000000000ULL);
	h->next_oid = cpu_to_le64(200);
	h->nobjects = cpu_to_le64(7);
	h->used_blocks = cpu_to_le64(used);
	capstore_hdr_seal(h);
	if (cs_image_sync(&t.img))
		die("sync");
	t.hslot = (unsigned int)(seq % t.g.header_slots);
	write_header(&t);
	printf("checkpoint %" PRIu64 ": 7 objects, %" PRIu64 " blocks used\n",
	       (uint64_t)seq, (uint64_t)used);
	free(buf);
	free(leaf0);
	free(leaf2);
	free(root);
	free(n4);
	close_tool(&t);
}

/* ---------------- corrupt ---------------- */

/* Child @i of the level-1 root of object @oid's data tree. */
static void edit_seg_child(struct tool *t, __u64 oid, unsigned int i,
			   const struct capstore_bptr *nb, bool copy_from_0)
{
	__u8 *leaf = xcalloc(1, BS), *blk = xcalloc(1, BS);
	struct capstore_dobj *o;
	struct capstore_bptr *c;
	__u64 rb;

	obj_leaf(t, oid, leaf, &o);
	if (o->data.height < 1)
		die("object %" PRIu64 " has no interior block", (uint64_t)oid);
	rb = le64_to_cpu(o->data.root.blkno);
	rd(t, rb, blk);
	c = (struct capstore_bptr *)blk;
	c[i] = copy_from_0 ? c[0] : *nb;
	wr(t, rb, blk);
	free(leaf);
	free(blk);
}

static void edit_root_slot(struct tool *t, unsigned int i, __u64 oid_delta,
			   __u32 rights_or, bool set_oid, __u64 oid)
{
	__u8 *leaf = xcalloc(1, BS), *blk = xcalloc(1, BS);
	struct capstore_dobj *o;
	struct capstore_dnode *n;
	__u64 nb;

	obj_leaf(t, le64_to_cpu(t->hdr.root_oid), leaf, &o);
	nb = le64_to_cpu(o->data.root.blkno);
	if (!nb)
		die("the root node has no slots (populate first)");
	rd(t, nb, blk);
	n = (struct capstore_dnode *)blk;
	if (set_oid)
		n->slots[i].oid = cpu_to_le64(oid);
	n->slots[i].oid = cpu_to_le64(le64_to_cpu(n->slots[i].oid) + oid_delta);
	n->slots[i].rights |= cpu_to_le32(rights_or);
	wr(t, nb, blk);
	free(leaf);
	free(blk);
}

static void cmd_corrupt(const char *path, const char *kind)
{
	__u8 *buf = xcalloc(1, BS);
	struct capstore_dobj *o;
	struct tool t;
	__u64 blk, b;
	bool reseal = true;

	open_tool(&t, path, strcmp(kind, "sb-bitflip") && strcmp(kind, "sb-magic"));
	if (!strcmp(kind, "sb-bitflip")) {
		rd(&t, 0, buf);
		buf[66] ^= 0x04;	/* a bit of nblocks */
		wr(&t, 0, buf);
		reseal = false;
	} else if (!strcmp(kind, "sb-magic")) {
		rd(&t, 0, buf);
		buf[0] ^= 0x20;
		wr(&t, 0, buf);
		reseal_sb(&t);
		reseal = false;
	} else if (!strcmp(kind, "hdr-crc")) {
		rd(&t, t.g.header_start + t.hslot, buf);
		buf[200] ^= 0x01;
		wr(&t, t.g.header_start + t.hslot, buf);
		reseal = false;
	} else if (!strcmp(kind, "hdr-dup")) {
		/* a second, identical checkpoint: seq + 1 in its own slot */
		t.hdr.seq = cpu_to_le64(le64_to_cpu(t.hdr.seq) + 1);
		t.hslot = (unsigned int)(le64_to_cpu(t.hdr.seq) %
					 t.g.header_slots);
		capstore_hdr_seal(&t.hdr);
		write_header(&t);
		reseal = false;
	} else if (!strcmp(kind, "hdr-wrong-slot")) {
		t.hslot = (t.hslot + 1) % t.g.header_slots;
		write_header(&t);
		reseal = false;
	} else if (!strcmp(kind, "smap-clear")) {
		blk = le64_to_cpu(t.hdr.otable.root.blkno);
		flip_map_bit(&t, blk, false);
		t.hdr.used_blocks = cpu_to_le64(le64_to_cpu(t.hdr.used_blocks) - 1);
		write_header(&t);
		printf("%" PRIu64 "\n", (uint64_t)blk);
	} else if (!strcmp(kind, "smap-leak")) {
		load_map(&t);
		for (b = t.g.data_start; b < t.g.nblocks; b++)
			if (!test_bit(t.oldmap, b))
				break;
		if (b == t.g.nblocks)
			die("no free block");
		flip_map_bit(&t, b, true);
		t.hdr.used_blocks = cpu_to_le64(le64_to_cpu(t.hdr.used_blocks) + 1);
		write_header(&t);
		printf("%" PRIu64 "\n", (uint64_t)b);
	} else if (!strcmp(kind, "otable-kind")) {
		blk = obj_leaf(&t, le64_to_cpu(t.hdr.root_oid), buf, &o);
		o->kind = cpu_to_le32(7);
		wr(&t, blk, buf);
	} else if (!strcmp(kind, "record-beyond")) {
		__u64 oid = le64_to_cpu(t.hdr.next_oid);

		blk = obj_leaf(&t, oid, buf, &o);
		o->kind = cpu_to_le32(CAPSTORE_DOBJ_NODE);
		o->oid = cpu_to_le64(oid);
		o->gen = cpu_to_le64(1);
		wr(&t, blk, buf);
		printf("%" PRIu64 "\n", (uint64_t)oid);
	} else if (!strcmp(kind, "slot-rights")) {
		edit_root_slot(&t, 0, 0, 0x40, false, 0);
	} else if (!strcmp(kind, "slot-beyond")) {
		edit_root_slot(&t, 0, 0, 0, true,
			       le64_to_cpu(t.hdr.next_oid) + 5);
	} else if (!strcmp(kind, "bptr-past-end")) {
		struct capstore_bptr nb = {
			.blkno = cpu_to_le64(t.g.nblocks + 10),
			.crc = cpu_to_le32(0x12345678),
		};

		edit_seg_child(&t, 2, 0, &nb, false);
		printf("%" PRIu64 "\n", (uint64_t)(t.g.nblocks + 10));
	} else if (!strcmp(kind, "double-ref")) {
		edit_seg_child(&t, 2, 1, NULL, true);
	} else if (!strcmp(kind, "page-flip")) {
		__u8 *leaf = xcalloc(1, BS);
		struct capstore_dtree tr;

		obj_leaf(&t, 2, leaf, &o);
		tr = o->data;
		blk = leaf_blk(&t, &tr, 0);
		if (!blk)
			die("segment 2 has no page 0 (populate first)");
		rd(&t, blk, buf);
		buf[1000] ^= 0x10;
		wr(&t, blk, buf);
		free(leaf);
		reseal = false;
		printf("%" PRIu64 "\n", (uint64_t)blk);
	} else if (!strcmp(kind, "nobjects")) {
		t.hdr.nobjects = cpu_to_le64(le64_to_cpu(t.hdr.nobjects) + 1);
		write_header(&t);
	} else if (!strcmp(kind, "used-blocks")) {
		t.hdr.used_blocks = cpu_to_le64(le64_to_cpu(t.hdr.used_blocks) + 1);
		write_header(&t);
	} else {
		die("unknown corruption '%s'", kind);
	}
	if (reseal)
		reseal_header(&t, t.hslot);
	free(buf);
	close_tool(&t);
}

/* ---------------- fuzz ---------------- */

static __u64 rnd(struct tool *t)
{
	/* splitmix64 */
	__u64 z = (t->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct targets {
	__u64 *blk;
	size_t n, cap;
};

static void add_target(struct targets *ts, __u64 blk)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 64;
		ts->blk = realloc(ts->blk, ts->cap * sizeof(*ts->blk));
		if (!ts->blk)
			die("out of memory");
	}
	ts->blk[ts->n++] = blk;
}

struct collect {
	struct tool *t;
	struct targets *ts;
	struct cs_bitmap seen;
	bool seg;
};

static int collect_block(void *arg, __u64 blkno, unsigned int level,
			 __u64 first_leaf)
{
	struct collect *c = arg;
	int r = cs_bitmap_set(&c->seen, blkno);

	(void)first_leaf;
	if (r)
		return r < 0 ? r : 1;
	if (!c->seg || level)	/* not segment pages: they are data */
		add_target(c->ts, blkno);
	return 0;
}

static int collect_otable_leaf(void *arg, __u64 index, __u64 blkno,
			       const void *data)
{
	static const struct cs_walk_ops ops = { .block = collect_block };
	const struct capstore_dobj *o = data;
	struct collect *c = arg;
	unsigned int i;

	(void)index;
	(void)blkno;
	for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++) {
		if (!o[i].data.root.blkno || o[i].data.height >
		    CAPSTORE_SEGMENT_MAX_HEIGHT)
			continue;
		c->seg = le32_to_cpu(o[i].kind) == CAPSTORE_DOBJ_SEGMENT;
		cs_tree_walk(&c->t->img, &o[i].data.root, o[i].data.height,
			     capstore_tree_capacity(o[i].data.height), 0, &ops,
			     c);
	}
	c->seg = false;
	return 0;
}

static void collect_targets(struct tool *t, struct targets *ts)
{
	static const struct cs_walk_ops ot_ops = {
		.block = collect_block,
		.leaf = collect_otable_leaf,
	};
	static const struct cs_walk_ops sm_ops = { .block = collect_block };
	struct collect c = { .t = t, .ts = ts };
	unsigned int i;

	if (cs_bitmap_init(&c.seen, t->g.nblocks))
		die("bitmap");
	add_target(ts, 0);
	for (i = 0; i < t->g.header_slots; i++)
		if (t->slots[i].state == CS_SLOT_VALID)
			add_target(ts, t->g.header_start + i);
	cs_tree_walk(&t->img, &t->hdr.otable.root, t->hdr.otable.height,
		     capstore_otable_leaves(le64_to_cpu(t->hdr.next_oid)),
		     CS_WALK_READ_LEAVES, &ot_ops, &c);
	cs_tree_walk(&t->img, &t->hdr.spacemap.root, t->hdr.spacemap.height,
		     capstore_spacemap_leaves(t->g.nblocks), 0, &sm_ops, &c);
	cs_bitmap_free(&c.seen);
}

static void mutate(struct tool *t, const struct targets *ts, __u64 blk,
		   __u8 *buf)
{
	const __u64 vals[] = {
		0, 1, 2, ~0ULL, 0x8000000000000000ULL, 1ULL << 62,
		1ULL << 32, t->g.nblocks, t->g.nblocks - 1, t->g.nblocks + 1,
		t->g.data_start, t->g.data_start - 1, 255, 256, 64,
	};
	unsigned int kind = (unsigned int)(rnd(t) % 7), i, n;
	__u64 off, v, other;
	__u8 *ob;

	switch (kind) {
	case 0:		/* flip a few bits */
		n = 1 + (unsigned int)(rnd(t) % 4);
		for (i = 0; i < n; i++) {
			off = rnd(t) % (BS * 8);
			buf[off / 8] ^= (__u8)(1U << (off % 8));
		}
		break;
	case 1:		/* random bytes */
		n = 1 + (unsigned int)(rnd(t) % 64);
		off = rnd(t) % (BS - n);
		for (i = 0; i < n; i++)
			buf[off + i] = (__u8)rnd(t);
		break;
	case 2:		/* an interesting 64-bit value, mostly early */
	case 3:
		off = (rnd(t) % (kind == 2 ? 16 : BS / 8)) * 8;
		v = vals[rnd(t) % (sizeof(vals) / sizeof(vals[0]))];
		memcpy(buf + off, &v, 8);
		break;
	case 4:		/* zero the block */
		memset(buf, 0, BS);
		break;
	case 5:		/* garbage block */
		for (i = 0; i < BS; i += 8) {
			v = rnd(t);
			memcpy(buf + i, &v, 8);
		}
		break;
	case 6:		/* point a pointer-aligned field at another block */
		other = ts->blk[rnd(t) % ts->n];
		ob = xcalloc(1, BS);
		rd(t, other, ob);
		off = (rnd(t) % (BS / 16)) * 16;
		v = other;
		memcpy(buf + off, &v, 8);
		{
			__u32 crc = capstore_crc(ob, BS), z = 0;

			memcpy(buf + off + 8, &crc, 4);
			memcpy(buf + off + 12, &z, 4);
		}
		free(ob);
		break;
	}
	printf("block %" PRIu64 ": mutation %u\n", (uint64_t)blk, kind);
}

static void cmd_fuzz(const char *path, __u64 seed)
{
	struct targets ts = { 0 };
	__u8 *buf = xcalloc(1, BS);
	struct tool t;
	unsigned int i, n;
	bool reseal, hit_sb = false;
	int hit_slot = -1;

	open_tool(&t, path, true);
	t.rng = seed * 0x2545f4914f6cdd1dULL + 1;
	collect_targets(&t, &ts);
	n = 1 + (unsigned int)(rnd(&t) % 3);
	reseal = rnd(&t) % 3 != 0;
	for (i = 0; i < n; i++) {
		__u64 blk = ts.blk[rnd(&t) % ts.n];

		rd(&t, blk, buf);
		mutate(&t, &ts, blk, buf);
		wr(&t, blk, buf);
		if (!blk)
			hit_sb = true;
		else if (blk < t.g.data_start)
			hit_slot = (int)(blk - t.g.header_start);
	}
	if (reseal) {
		/* Trees and the newest header (restoring its magic). */
		reseal_header(&t, t.hslot);
		if (hit_slot >= 0 && (unsigned int)hit_slot != t.hslot) {
			rd(&t, t.g.header_start + (unsigned int)hit_slot, buf);
			capstore_hdr_seal((struct capstore_dhdr *)buf);
			wr(&t, t.g.header_start + (unsigned int)hit_slot, buf);
		}
		if (hit_sb)
			reseal_sb(&t);
	}
	printf("seed %" PRIu64 ": %u mutations, %s\n", (uint64_t)seed, n,
	       reseal ? "resealed" : "not resealed");
	free(ts.blk);
	free(buf);
	close_tool(&t);
}

/* ---------------- main ---------------- */

static void cmd_get(const char *path, const char *what)
{
	struct tool t;

	open_tool(&t, path, false);
	if (!strcmp(what, "nblocks"))
		printf("%" PRIu64 "\n", (uint64_t)t.g.nblocks);
	else if (!strcmp(what, "data_start"))
		printf("%" PRIu64 "\n", (uint64_t)t.g.data_start);
	else if (!strcmp(what, "seq"))
		printf("%" PRIu64 "\n", t.newest < 0 ? 0 :
		       (uint64_t)le64_to_cpu(t.hdr.seq));
	else
		die("unknown field '%s'", what);
	close_tool(&t);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "populate"))
		cmd_populate(argv[2]);
	else if (argc == 4 && !strcmp(argv[1], "corrupt"))
		cmd_corrupt(argv[2], argv[3]);
	else if (argc == 4 && !strcmp(argv[1], "fuzz"))
		cmd_fuzz(argv[2], strtoull(argv[3], NULL, 0));
	else if (argc == 4 && !strcmp(argv[1], "get"))
		cmd_get(argv[2], argv[3]);
	else
		die("usage: csimg populate|corrupt|fuzz|get IMG [ARG]");
	return 0;
}
