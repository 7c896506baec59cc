// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * imgmut: structure-aware mutation and resealing of an in-memory capstore
 * image; see imgmut.h.
 */
#include "imgmut.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capstore/verify.h"

#define BS CAPSTORE_BLOCK_SIZE

/* What a block reachable from a header slot holds. */
enum imgmut_role {
	IM_SB,
	IM_HDR,
	IM_OT_INT,	/* object table interior block */
	IM_OT_LEAF,	/* object table leaf: 64 records */
	IM_SM_INT,
	IM_SM_LEAF,	/* space map leaf: bits */
	IM_SEG_INT,
	IM_SEG_LEAF,	/* a page of segment data */
	IM_NODE,	/* a node's slots */
	IM_FWD,		/* a forwarder's slot */
	IM_ROLES
};

static const char *const role_name[IM_ROLES] = {
	"superblock", "header", "otable interior", "otable leaf",
	"spacemap interior", "spacemap leaf", "segment interior",
	"segment page", "node", "forwarder",
};

struct im {
	uint8_t *img;
	uint64_t nblocks;
	uint64_t data_start;
	unsigned int slots;
	uint8_t *visited;	/* one bit per block */
	uint64_t *blk;		/* targets: block numbers and roles */
	uint8_t *role;
	size_t n;
	uint64_t *rng;
	unsigned int changed;
	char *desc;
	size_t desclen;
};

uint64_t imgmut_rand(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct im *m, uint64_t n)
{
	return n ? imgmut_rand(m->rng) % n : 0;
}

static uint8_t *block(struct im *m, uint64_t blk)
{
	return m->img + blk * BS;
}

static uint64_t get_le(const uint8_t *p, unsigned int width)
{
	uint64_t v = 0;
	unsigned int i;

	for (i = 0; i < width; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static void put_le(uint8_t *p, unsigned int width, uint64_t v)
{
	unsigned int i;

	for (i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* The geometry the superblock claims, made safe to use on garbage. */
static bool im_init(struct im *m, uint8_t *img, uint64_t nblocks)
{
	const struct capstore_dsb *sb = (const void *)img;
	uint32_t slots;

	memset(m, 0, sizeof(*m));
	m->img = img;
	m->nblocks = nblocks;
	slots = le32_to_cpu(sb->header_slots);
	if (slots < CAPSTORE_MIN_HEADER_SLOTS ||
	    slots > CAPSTORE_MAX_HEADER_SLOTS)
		slots = CAPSTORE_DEFAULT_HEADER_SLOTS;
	m->slots = slots;
	m->data_start = CAPSTORE_HEADER_START + slots;
	if (m->data_start >= nblocks)
		m->slots = nblocks > 1 ? (unsigned int)nblocks - 1 : 0;
	m->visited = calloc((size_t)(nblocks + 7) / 8, 1);
	m->blk = calloc((size_t)nblocks + 1, sizeof(*m->blk));
	m->role = calloc((size_t)nblocks + 1, 1);
	return m->visited && m->blk && m->role;
}

static void im_free(struct im *m)
{
	free(m->visited);
	free(m->blk);
	free(m->role);
}

static void clear_visited(struct im *m)
{
	memset(m->visited, 0, (size_t)(m->nblocks + 7) / 8);
}

/* Mark @blk visited; true if it was already. */
static bool visit(struct im *m, uint64_t blk)
{
	uint8_t bit = (uint8_t)(1U << (blk % 8));
	bool was = m->visited[blk / 8] & bit;

	m->visited[blk / 8] |= bit;
	return was;
}

static bool in_data(const struct im *m, const struct capstore_bptr *b)
{
	uint64_t blk = le64_to_cpu(b->blkno);

	return blk >= m->data_start && blk < m->nblocks;
}

static enum imgmut_role obj_leaf_role(const struct capstore_dobj *o)
{
	switch (le32_to_cpu(o->kind)) {
	case CAPSTORE_DOBJ_SEGMENT:
		return IM_SEG_LEAF;
	case CAPSTORE_DOBJ_FORWARDER:
		return IM_FWD;
	default:
		return IM_NODE;
	}
}

static bool hdr_present(const struct im *m, unsigned int i)
{
	const struct capstore_dhdr *h;

	if (CAPSTORE_HEADER_START + i >= m->nblocks)
		return false;
	h = (const void *)(m->img + (CAPSTORE_HEADER_START + i) * BS);
	return le64_to_cpu(h->magic) == CAPSTORE_HDR_MAGIC;
}

/* ---------------- resealing ---------------- */

static void reseal_tree(struct im *m, struct capstore_bptr *b,
			unsigned int level, enum imgmut_role leaf)
{
	uint64_t blk = le64_to_cpu(b->blkno);
	uint8_t *p;
	uint32_t crc;
	unsigned int i;

	if (!in_data(m, b) || level > CAPSTORE_TREE_MAX_HEIGHT)
		return;
	p = block(m, blk);
	if (!visit(m, blk)) {
		if (level) {
			struct capstore_bptr *c = (void *)p;

			for (i = 0; i < CAPSTORE_FANOUT; i++)
				reseal_tree(m, &c[i], level - 1, leaf);
		} else if (leaf == IM_OT_LEAF) {
			struct capstore_dobj *o = (void *)p;

			for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++)
				if (o[i].data.root.blkno)
					reseal_tree(m, &o[i].data.root,
						    o[i].data.height,
						    obj_leaf_role(&o[i]));
		}
	}
	crc = capstore_crc(p, BS);
	if (le32_to_cpu(b->crc) != crc) {
		b->crc = cpu_to_le32(crc);
		m->changed++;
	}
}

static void reseal(struct im *m)
{
	struct capstore_dsb *sb = (void *)m->img;
	unsigned int i;
	uint32_t crc;

	clear_visited(m);
	for (i = 0; i < m->slots; i++) {
		struct capstore_dhdr *h;

		if (!hdr_present(m, i))
			continue;
		h = (void *)block(m, CAPSTORE_HEADER_START + i);
		reseal_tree(m, &h->otable.root, h->otable.height, IM_OT_LEAF);
		reseal_tree(m, &h->spacemap.root, h->spacemap.height,
			    IM_SM_LEAF);
		crc = capstore_crc_block_excl(h,
				__builtin_offsetof(struct capstore_dhdr, crc));
		if (le32_to_cpu(h->crc) != crc) {
			h->crc = cpu_to_le32(crc);
			m->changed++;
		}
	}
	crc = capstore_crc_block_excl(sb,
			__builtin_offsetof(struct capstore_dsb, crc));
	if (le32_to_cpu(sb->crc) != crc) {
		sb->crc = cpu_to_le32(crc);
		m->changed++;
	}
}

unsigned int imgmut_reseal(uint8_t *img, uint64_t nblocks)
{
	struct im m;

	if (!nblocks)
		return 0;
	if (!im_init(&m, img, nblocks)) {
		im_free(&m);
		return 0;
	}
	reseal(&m);
	im_free(&m);
	return m.changed;
}

/* ---------------- targets ---------------- */

static void add_target(struct im *m, uint64_t blk, enum imgmut_role role)
{
	if (m->n > m->nblocks)
		return;
	m->blk[m->n] = blk;
	m->role[m->n] = (uint8_t)role;
	m->n++;
}

static void collect_tree(struct im *m, const struct capstore_bptr *b,
			 unsigned int level, enum imgmut_role interior,
			 enum imgmut_role leaf)
{
	uint64_t blk = le64_to_cpu(b->blkno);
	const uint8_t *p;
	unsigned int i;

	if (!in_data(m, b) || level > CAPSTORE_TREE_MAX_HEIGHT ||
	    visit(m, blk))
		return;
	add_target(m, blk, level ? interior : leaf);
	p = block(m, blk);
	if (level) {
		const struct capstore_bptr *c = (const void *)p;

		for (i = 0; i < CAPSTORE_FANOUT; i++)
			collect_tree(m, &c[i], level - 1, interior, leaf);
	} else if (leaf == IM_OT_LEAF) {
		const struct capstore_dobj *o = (const void *)p;

		for (i = 0; i < CAPSTORE_OBJS_PER_BLOCK; i++)
			if (o[i].data.root.blkno)
				collect_tree(m, &o[i].data.root,
					     o[i].data.height, IM_SEG_INT,
					     obj_leaf_role(&o[i]));
	}
}

static void collect(struct im *m)
{
	unsigned int i;

	clear_visited(m);
	m->n = 0;
	add_target(m, 0, IM_SB);
	for (i = 0; i < m->slots; i++) {
		const struct capstore_dhdr *h;

		if (CAPSTORE_HEADER_START + i >= m->nblocks)
			break;
		add_target(m, CAPSTORE_HEADER_START + i, IM_HDR);
		if (!hdr_present(m, i))
			continue;
		h = (const void *)block(m, CAPSTORE_HEADER_START + i);
		collect_tree(m, &h->otable.root, h->otable.height, IM_OT_INT,
			     IM_OT_LEAF);
		collect_tree(m, &h->spacemap.root, h->spacemap.height,
			     IM_SM_INT, IM_SM_LEAF);
	}
}

/* ---------------- mutations ---------------- */

struct field {
	unsigned short off;
	unsigned char width;
	const char *name;
};

#define F(type, member, w) { __builtin_offsetof(type, member), w, #member }

static const struct field sb_fields[] = {
	F(struct capstore_dsb, magic, 8),
	F(struct capstore_dsb, crc, 4),
	F(struct capstore_dsb, version, 4),
	F(struct capstore_dsb, uuid, 8),
	F(struct capstore_dsb, feature_compat, 8),
	F(struct capstore_dsb, feature_ro_compat, 8),
	F(struct capstore_dsb, feature_incompat, 8),
	F(struct capstore_dsb, block_size, 4),
	F(struct capstore_dsb, header_slots, 4),
	F(struct capstore_dsb, nblocks, 8),
	F(struct capstore_dsb, header_start, 8),
	F(struct capstore_dsb, data_start, 8),
	F(struct capstore_dsb, format_time, 8),
	F(struct capstore_dsb, label, 8),
	F(struct capstore_dsb, label[24], 8),
	F(struct capstore_dsb, reserved, 8),
	F(struct capstore_dsb, reserved[3960], 8),
};

static const struct field hdr_fields[] = {
	F(struct capstore_dhdr, magic, 8),
	F(struct capstore_dhdr, crc, 4),
	F(struct capstore_dhdr, version, 4),
	F(struct capstore_dhdr, seq, 8),
	F(struct capstore_dhdr, uuid, 8),
	F(struct capstore_dhdr, time, 8),
	F(struct capstore_dhdr, next_oid, 8),
	F(struct capstore_dhdr, root_oid, 8),
	F(struct capstore_dhdr, nobjects, 8),
	F(struct capstore_dhdr, used_blocks, 8),
	F(struct capstore_dhdr, otable.root.blkno, 8),
	F(struct capstore_dhdr, otable.root.crc, 4),
	F(struct capstore_dhdr, otable.root.reserved, 4),
	F(struct capstore_dhdr, otable.height, 1),
	F(struct capstore_dhdr, otable.reserved, 1),
	F(struct capstore_dhdr, spacemap.root.blkno, 8),
	F(struct capstore_dhdr, spacemap.root.crc, 4),
	F(struct capstore_dhdr, spacemap.root.reserved, 4),
	F(struct capstore_dhdr, spacemap.height, 1),
	F(struct capstore_dhdr, spacemap.reserved[6], 1),
	F(struct capstore_dhdr, reserved, 8),
	F(struct capstore_dhdr, reserved[3960], 8),
};

static const struct field obj_fields[] = {
	F(struct capstore_dobj, kind, 4),
	F(struct capstore_dobj, flags, 4),
	F(struct capstore_dobj, oid, 8),
	F(struct capstore_dobj, gen, 8),
	F(struct capstore_dobj, size, 8),
	F(struct capstore_dobj, data.root.blkno, 8),
	F(struct capstore_dobj, data.root.crc, 4),
	F(struct capstore_dobj, data.root.reserved, 4),
	F(struct capstore_dobj, data.height, 1),
	F(struct capstore_dobj, data.reserved, 1),
	F(struct capstore_dobj, reserved, 8),
};

static const struct field slot_fields[] = {
	F(struct capstore_dslot, oid, 8),
	F(struct capstore_dslot, gen, 8),
	F(struct capstore_dslot, rights, 4),
	F(struct capstore_dslot, kind, 4),
	F(struct capstore_dslot, flags, 4),
	F(struct capstore_dslot, reserved, 4),
};

static const struct field bptr_fields[] = {
	F(struct capstore_bptr, blkno, 8),
	F(struct capstore_bptr, crc, 4),
	F(struct capstore_bptr, reserved, 4),
};

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

static void note(struct im *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void note(struct im *m, const char *fmt, ...)
{
	size_t len;
	va_list ap;

	if (!m->desc || !m->desclen)
		return;
	len = strlen(m->desc);
	if (len + 1 >= m->desclen)
		return;
	va_start(ap, fmt);
	vsnprintf(m->desc + len, m->desclen - len, fmt, ap);
	va_end(ap);
}

/* A value worth trying in a field of @width bytes that holds @old. */
static uint64_t interesting(struct im *m, uint64_t old, unsigned int width,
			    const char **how)
{
	uint64_t v;

	switch (rnd(m, 18)) {
	case 0:
		*how = "0";
		v = 0;
		break;
	case 1:
		*how = "all ones";
		v = ~0ULL;
		break;
	case 2:
		*how = "+1";
		v = old + 1;
		break;
	case 3:
		*how = "-1";
		v = old - 1;
		break;
	case 4:
		*how = "bit flip";
		v = old ^ (1ULL << rnd(m, width * 8));
		break;
	case 5:
		*how = "random";
		v = imgmut_rand(m->rng);
		break;
	case 6:
		*how = "nblocks";
		v = m->nblocks;
		break;
	case 7:
		*how = "nblocks - 1";
		v = m->nblocks - 1;
		break;
	case 8:
		*how = "past the end";
		v = m->nblocks + 1 + rnd(m, 1000);
		break;
	case 9:
		*how = "a header slot";
		v = CAPSTORE_HEADER_START + rnd(m, m->slots ? m->slots : 1);
		break;
	case 10:
		*how = "data_start - 1";
		v = m->data_start - 1;
		break;
	case 11:
	case 12:
		*how = "another structure";
		v = m->n ? m->blk[rnd(m, m->n)] : rnd(m, m->nblocks);
		break;
	case 13:
		*how = "2^62";
		v = 1ULL << 62;
		break;
	case 14:
		*how = "2^40";
		v = 1ULL << 40;
		break;
	case 15:
		*how = "small";
		v = rnd(m, 17);
		break;
	case 16:
		*how = "sign bit";
		v = 1ULL << (width * 8 - 1);
		break;
	default:
		*how = "fanout";
		v = rnd(m, 2) ? 256 : 255;
		break;
	}
	return v;
}

static void set_field(struct im *m, uint8_t *base, const struct field *f,
		      const char *what)
{
	const char *how = "";
	uint64_t old = get_le(base + f->off, f->width);
	uint64_t v = interesting(m, old, f->width, &how);

	put_le(base + f->off, f->width, v);
	note(m, " %s.%s=%s", what, f->name, how);
}

/* Index of a non-zero @size-byte entry of @p, preferred 3 times in 4. */
static unsigned int pick_entry(struct im *m, const uint8_t *p, size_t size,
			       unsigned int n)
{
	unsigned int i, start = (unsigned int)rnd(m, n);

	if (rnd(m, 4))
		for (i = 0; i < n; i++) {
			unsigned int k = (start + i) % n;

			if (!capstore_mem_is_zero(p + k * size, size))
				return k;
		}
	return start;
}

static void mutate_field(struct im *m, uint64_t blk, enum imgmut_role role)
{
	uint8_t *p = block(m, blk);
	unsigned int k;
	uint64_t bit;

	switch (role) {
	case IM_SB:
		set_field(m, p, &sb_fields[rnd(m, NFIELDS(sb_fields))], "sb");
		break;
	case IM_HDR:
		set_field(m, p, &hdr_fields[rnd(m, NFIELDS(hdr_fields))],
			  "hdr");
		break;
	case IM_OT_LEAF:
		k = pick_entry(m, p, CAPSTORE_DOBJ_SIZE,
			       CAPSTORE_OBJS_PER_BLOCK);
		set_field(m, p + k * CAPSTORE_DOBJ_SIZE,
			  &obj_fields[rnd(m, NFIELDS(obj_fields))], "obj");
		break;
	case IM_NODE:
	case IM_FWD:
		k = pick_entry(m, p, CAPSTORE_DSLOT_SIZE,
			       CAPSTORE_DNODE_SLOTS);
		set_field(m, p + k * CAPSTORE_DSLOT_SIZE,
			  &slot_fields[rnd(m, NFIELDS(slot_fields))], "slot");
		break;
	case IM_OT_INT:
	case IM_SM_INT:
	case IM_SEG_INT:
		k = pick_entry(m, p, CAPSTORE_BPTR_SIZE, CAPSTORE_FANOUT);
		set_field(m, p + k * CAPSTORE_BPTR_SIZE,
			  &bptr_fields[rnd(m, NFIELDS(bptr_fields))], "bptr");
		break;
	case IM_SM_LEAF:
		/* A bit of the store, or one past its end. */
		bit = rnd(m, 8) ? rnd(m, m->nblocks) :
			m->nblocks + rnd(m, CAPSTORE_BITS_PER_BLOCK);
		bit %= CAPSTORE_BITS_PER_BLOCK;
		p[bit / 8] ^= (uint8_t)(1U << (bit % 8));
		note(m, " spacemap bit %llu flipped", (unsigned long long)bit);
		break;
	case IM_SEG_LEAF:
	default:
		k = (unsigned int)rnd(m, BS / 8);
		put_le(p + k * 8, 8, imgmut_rand(m->rng));
		note(m, " data word %u", k);
		break;
	}
}

static void mutate_one(struct im *m)
{
	size_t t = m->n ? (size_t)rnd(m, m->n) : 0;
	uint64_t blk = m->n ? m->blk[t] : rnd(m, m->nblocks);
	enum imgmut_role role = m->n ? (enum imgmut_role)m->role[t] : IM_SEG_LEAF;
	uint8_t *p = block(m, blk);
	unsigned int i, n;
	uint64_t off, other;

	note(m, " [%s %llu]", role_name[role], (unsigned long long)blk);
	switch (rnd(m, 16)) {
	case 0:		/* flip a few bits */
		n = 1 + (unsigned int)rnd(m, 4);
		for (i = 0; i < n; i++) {
			off = rnd(m, BS * 8);
			p[off / 8] ^= (uint8_t)(1U << (off % 8));
		}
		note(m, " %u bit flips", n);
		break;
	case 1:		/* a run of random bytes */
		n = 1 + (unsigned int)rnd(m, 64);
		off = rnd(m, BS - n);
		for (i = 0; i < n; i++)
			p[off + i] = (uint8_t)imgmut_rand(m->rng);
		note(m, " %u random bytes at %llu", n,
		     (unsigned long long)off);
		break;
	case 2:		/* zeroed */
		memset(p, 0, BS);
		note(m, " zeroed");
		break;
	case 3:		/* garbage */
		for (i = 0; i < BS; i += 8)
			put_le(p + i, 8, imgmut_rand(m->rng));
		note(m, " garbage");
		break;
	case 4:		/* another structure copied over it */
		other = m->n ? m->blk[rnd(m, m->n)] : rnd(m, m->nblocks);
		if (other != blk)
			memcpy(p, block(m, other), BS);
		note(m, " copy of block %llu", (unsigned long long)other);
		break;
	default:	/* one field */
		mutate_field(m, blk, role);
		break;
	}
}

void imgmut_mutate(uint8_t *img, uint64_t nblocks, uint64_t *rng,
		   unsigned int max_muts, char *desc, size_t desclen)
{
	unsigned int i, n;
	struct im m;

	if (desc && desclen)
		desc[0] = '\0';
	if (!nblocks)
		return;
	if (!im_init(&m, img, nblocks)) {
		im_free(&m);
		return;
	}
	m.rng = rng;
	m.desc = desc;
	m.desclen = desclen;
	n = 1 + (unsigned int)rnd(&m, max_muts ? max_muts : 1);
	for (i = 0; i < n; i++) {
		collect(&m);
		mutate_one(&m);
	}
	if (rnd(&m, 3)) {
		reseal(&m);
		note(&m, " resealed");
	} else {
		note(&m, " not resealed");
	}
	im_free(&m);
}
