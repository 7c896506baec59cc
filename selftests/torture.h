/* SPDX-License-Identifier: GPL-2.0 */
/*
 * torture.h - the data model of the crash-consistency torture (torture.c):
 * where the workload keeps what, what every word it writes holds, and the
 * journal it keeps outside the store. Documentation/testing.rst, section
 * "Crash-consistency torture", explains why this lets a verifier accept
 * exactly the states a checkpoint at one instant can produce.
 */
#ifndef TORTURE_H
#define TORTURE_H

#include <stdint.h>

#include "cs_test.h"

#define T_MAGIC		0x3152545254534354ull	/* "TCSTRTR1" */
#define T_HDR_MAGIC	0x3152444854534354ull	/* "TCSTHDR1" */
#define T_PAGE_TAG	0x5041474554534300ull
#define T_POOL_TAG	0x4c4f4f5054534300ull
#define T_OBJ_TAG	0x4a424f0054534300ull
#define T_JMAGIC	0x314c4e524a534354ull	/* "TCSJRNL1" */
#define T_VERSION	1

#define T_PAGE		4096u
#define T_WORDS		(T_PAGE / 8)
#define T_MAXW		32	/* writers, data and capability ones */

/* conf.flags */
#define T_F_DESTROY	(1u << 0)	/* the module has CAPSTORE_DESTROY */

/*
 * Root node slots: 0 the control segment, 1..nseg the data segments,
 * then a node per capability writer, then a pool node per capability
 * writer.
 *
 * The control segment: page 0 holds struct t_conf and, at T_TICKET_OFF,
 * the global ticket counter; page 1 + i the header of writer i.
 */
#define T_TICKET_OFF	2048

struct t_conf {
	uint64_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t ndata;		/* data writers: 0 .. ndata-1 */
	uint32_t ncap;		/* capability writers: ndata .. ndata+ncap-1 */
	uint32_t nrec;		/* records per data writer */
	uint32_t mpages;	/* pages per record */
	uint32_t chunk;		/* pages per chunk (contiguous, one segment) */
	uint32_t nseg;		/* data segments */
	uint32_t nproc;		/* processes the writers are spread over */
	uint32_t full_rights;	/* rights of a capability CREATE stores */
	uint64_t seg_pages;	/* size of each data segment, pages */
	uint64_t base_objects;	/* objects made by setup */
};

/*
 * One per writer. Op n of writer i, in program order: draw ticket t from
 * the counter; cur = n; ticket = t; obs[v] = done of writer v (each v);
 * the op's own writes; done = n. Every field is one aligned 8-byte store
 * through a shared mapping.
 */
struct t_hdr {
	uint64_t magic;
	uint64_t cur;
	uint64_t ticket;
	uint64_t done;
	uint64_t obs[T_MAXW];
};

/*
 * Each capability writer has a pool node (root slot 1 + nseg + ncap + j)
 * whose T_POOL slots hold segments made by setup, never changed, and a
 * node of its own (root slot 1 + nseg + j): store ops on T1 0..11 and
 * T2 12..23, create ops on P 24..27 (full capability) and Q 28..31 (a
 * restricted copy).
 */
#define T_POOL		32
#define T_NSTORE	12
#define T_SLOT_T1	0
#define T_SLOT_T2	12
#define T_SLOT_P	24
#define T_SLOT_Q	28

#define T_R_ALL		(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_WRITE | \
			 CAPSTORE_RIGHT_MAP | CAPSTORE_RIGHT_GRANT | \
			 CAPSTORE_RIGHT_DESTROY)
static const uint32_t t_store_rights[5] = {
	CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP,
	CAPSTORE_RIGHT_READ,
	CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_WRITE | CAPSTORE_RIGHT_MAP,
	T_R_ALL,
	CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_DESTROY,
};
#define T_Q_SEG_RIGHTS	(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP)
#define T_Q_NODE_RIGHTS	(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_GRANT | \
			 CAPSTORE_RIGHT_WEAK)

enum t_capop { T_OP_STORE, T_OP_CREATE };

static inline enum t_capop t_capop_kind(uint32_t flags, uint64_t n)
{
	return (flags & T_F_DESTROY) && n % 3 == 2 ? T_OP_CREATE : T_OP_STORE;
}

/*
 * Store op n: T1 + slot gets pool segment t1_pool with t1_rights, then
 * T2 + slot is cleared or gets t2_pool with t2_rights. Drawn at random
 * per op, so that consecutive ops on a slot (almost always) differ.
 */
static inline uint64_t t_sop(uint64_t n, unsigned int k)
{
	return cs_mix(n * 0x2545f4914f6cdd1dull + k);
}

static inline unsigned int t_store_slot(uint64_t n)	{ return n % T_NSTORE; }
static inline unsigned int t_t1_pool(uint64_t n)	{ return t_sop(n, 1) % T_POOL; }
static inline uint32_t t_t1_rights(uint64_t n)	{ return t_store_rights[t_sop(n, 2) % 5]; }
static inline int t_t2_clear(uint64_t n)		{ return t_sop(n, 3) % 6 == 0; }
static inline unsigned int t_t2_pool(uint64_t n)	{ return t_sop(n, 4) % T_POOL; }
static inline uint32_t t_t2_rights(uint64_t n)	{ return t_store_rights[t_sop(n, 5) % 5]; }
static inline unsigned int t_create_pair(uint64_t n)	{ return (n / 3) % 4; }
static inline int t_create_is_seg(uint64_t n)		{ return n % 2; }
static inline uint64_t t_create_pages(uint64_t n)	{ return 1 + n % 3; }
static inline unsigned int t_create_pool(uint64_t n)	{ return n % T_POOL; }

/* Data writers: i % 3 == 0 maps, 1 uses pwrite, 2 picks per op. */
enum t_wtype { T_W_MMAP, T_W_PWRITE, T_W_MIXED };

static inline enum t_wtype t_wtype(uint32_t i)
{
	return (enum t_wtype)(i % 3);
}

/* Record written by op n of writer i. */
static inline uint32_t t_rec_of(const struct t_conf *c, uint32_t i,
				uint64_t n)
{
	return (uint32_t)(cs_mix(((uint64_t)(i + 1) << 48) ^ n) % c->nrec);
}

/* Does op n of writer i write through the mapping (else pwrite)? */
static inline int t_op_mmap(uint32_t i, uint64_t n)
{
	switch (t_wtype(i)) {
	case T_W_MMAP:
		return 1;
	case T_W_PWRITE:
		return 0;
	default:
		return (cs_mix(n ^ ((uint64_t)i << 50) ^ 0x5bd1e995) >> 7) & 1;
	}
}

/* Segment and page of page p of record r of writer i. */
static inline uint32_t t_page_seg(const struct t_conf *c, uint32_t i,
				  uint32_t r, uint32_t p)
{
	return (i + r + p / c->chunk) % c->nseg;
}

static inline uint64_t t_page_index(const struct t_conf *c, uint32_t i,
				    uint32_t r, uint32_t p)
{
	return ((uint64_t)i * c->nrec + r) * c->mpages + p;
}

/*
 * Word j of page p of record r, as op n of writer i writes it (n 0: the
 * page was never written, all zero). Word 0 is n, word 1 a tag naming the
 * place, the rest depend on everything.
 */
static inline uint64_t t_page_base(uint32_t i, uint32_t r, uint32_t p,
				   uint64_t n)
{
	return cs_mix(cs_mix(((uint64_t)i << 48) ^ ((uint64_t)r << 24) ^ p) ^
		      (n * 0x9e3779b97f4a7c15ull));
}

static inline uint64_t t_page_word(uint64_t base, uint32_t i, uint32_t r,
				   uint32_t p, uint64_t n, unsigned int j)
{
	if (!n)
		return 0;
	if (j == 0)
		return n;
	if (j == 1)
		return T_PAGE_TAG ^ ((uint64_t)i << 40) ^ ((uint64_t)r << 20) ^ p;
	return base ^ ((uint64_t)j * 0xc2b2ae3d27d4eb4full);
}

/* Page 0 of pool segment j of writer i, and of the segment op n made. */
static inline uint64_t t_obj_word(uint64_t tag, uint32_t i, uint64_t n,
				  uint64_t oid, unsigned int j)
{
	switch (j) {
	case 0:
		return tag;
	case 1:
		return i;
	case 2:
		return n;
	case 3:
		return oid;
	default:
		return cs_mix(tag ^ ((uint64_t)i << 32) ^ n) ^ (j * 0x2545f4914f6cdd1dull);
	}
}

/*
 * The journal, outside the store (a raw disk the power cut does not
 * lose, or a file): block 0 a T_J_BOOT entry, then entries in blocks
 * 1, 2, ...; entries of an earlier run carry another nonce.
 */
enum t_jkind {
	T_J_BOOT = 1,	/* seq: recovered seq at start; L: done, U: cur;
			   x: digest of the whole recovered state */
	T_J_CP,		/* checkpoint seq; L: done before the call, U: after */
	T_J_FSYNC,	/* writer w's done x was durable when fsync returned */
	T_J_SETUP,	/* seq: the checkpoint that committed the setup */
};

#define T_JF_QUIESCED	(1u << 0)	/* T_J_CP with writers stopped */
#define T_JF_PRESETUP	(1u << 1)	/* T_J_BOOT before setup */

struct t_jent {
	uint64_t magic;
	uint64_t nonce;
	uint64_t idx;
	uint32_t kind;
	uint32_t flags;
	uint64_t seq;
	uint64_t x;
	uint32_t w;
	uint32_t nw;
	uint64_t L[T_MAXW];
	uint64_t U[T_MAXW];
	uint32_t crc;
	uint32_t pad;
};

#endif /* TORTURE_H */
