// SPDX-License-Identifier: GPL-2.0
/*
 * checkpoint_stress - writers keep writing while checkpoints run back to
 * back, and every checkpoint that can be recovered is a consistent one.
 *
 * Three writer threads and a checkpointer thread, one process:
 *
 *   A  through a mapping, inside application sections: op g stamps every
 *      word of the 8 pages of record g % 8 with generation g (word 0 of
 *      each page is g, the others a hash of (g, page, word)). Sections
 *      keep checkpoints out of an op (section_timeout_ms is set far above
 *      what an op takes, and SECTION_END returning ETIMEDOUT fails the
 *      run), so every record of a checkpoint holds one whole generation,
 *      and all of them the last ops of A up to one generation G.
 *   B  through a mapping, no sections: op g writes the 8192 words of the
 *      16 pages of record g % 4, in order, each word naming its generation
 *      and its place. A checkpoint may cut an op anywhere, even inside a
 *      page, but only as a prefix: the records of a recovered state are
 *      the last complete ops of B up to some op M, and record M % 4 holds
 *      a prefix of op M's words followed by the op before it on that
 *      record (or zeroes).
 *   C  with pwrite, no sections: op g writes the 8 pages of record g % 4
 *      with two pwrite calls of 4 pages. The same prefix property, in
 *      whole pages (a pwrite page is copied whole under the folio lock).
 *
 * The checkpointer calls CAPSTORE_CHECKPOINT in a loop. Around each call it
 * reads every writer's count of completed ops (L before, U after) and, once
 * the call returned, writes {seq, L, U} to a journal on another disk with
 * O_DIRECT | O_DSYNC (4 KiB entries with a checksum in a ring), which a
 * power cut does not undo once written.
 *
 * What a recovered store must be, for the last journal entry e written
 * before the cut: the writers' states as above; seq >= e.seq; each
 * writer's completed ops >= e.L (the checkpoint of e, or a later one,
 * holds everything done before e's call); if seq == e.seq, each writer's
 * completed ops <= e.U + 1 (its snapshot came before the call returned;
 * the one op more is an op done but not yet counted).
 *
 * Phases (cs_harness.h -t), store on $CS_TEST_DEV, journal on
 * $CKS_JOURNAL:
 *
 *   create     create the three segments, verify the empty state
 *   run        the workload for CKS_CHECKPOINTS checkpoints (default 30),
 *              stop the writers, check the counters and that the writers
 *              went on while checkpoints ran, detach, attach again and
 *              check the exact final state
 *   verify     verify the recovered state against the journal
 *   checker    the checker rejects states no instant can produce (a
 *              section split, a lost op, a hole or a stray word in an
 *              op, an op without the one before, a torn pwrite page, a
 *              missing page) and bounds a returned checkpoint violates,
 *              and accepts an op cut inside a page or after some pages
 *   cut        clear the journal, run the workload from the recovered
 *              state, print the crash marker after 5 checkpoints and go on
 *              until the power cut
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define PAGE		4096
#define WPP		(PAGE / 8)	/* words per page */

#define SLOT_A		1
#define SLOT_B		2
#define SLOT_C		3

#define A_RECS		8
#define A_PAGES		8	/* per record */
#define B_RECS		4
#define B_PAGES		16
#define C_RECS		4
#define C_PAGES		8

#define A_SIZE		((uint64_t)A_RECS * A_PAGES * PAGE)
#define B_SIZE		((uint64_t)B_RECS * B_PAGES * PAGE)
#define C_SIZE		((uint64_t)C_RECS * C_PAGES * PAGE)
#define B_WORDS		(B_PAGES * WPP)	/* per record */

#define B_TAG		0xb000000000000000ull
#define B_GEN_MAX	((1ull << 44) - 1)

enum { WA, WB, WC, NW };
static const char wname[NW] = { 'A', 'B', 'C' };

/* --- patterns ---------------------------------------------------------- */

static uint64_t a_word(uint64_t g, uint64_t page, unsigned int w)
{
	return w ? cs_mix(0xa5a5ull << 48 ^ g << 20 ^ page << 9 ^ w) : g;
}

static uint64_t c_word(uint64_t g, uint64_t page, unsigned int w)
{
	return w ? cs_mix(0xc3c3ull << 48 ^ g << 20 ^ page << 9 ^ w) : g;
}

static uint64_t b_word(uint64_t g, unsigned int idx)
{
	return B_TAG | g << 16 | idx;
}

/* Generation of a whole page of A or C (pattern @fn); 0 zeroes, -1 bad. */
static long long page_gen(const uint64_t *p, uint64_t page,
			  uint64_t (*fn)(uint64_t, uint64_t, unsigned int))
{
	uint64_t g = p[0];
	unsigned int w;

	for (w = 0; w < WPP; w++)
		if (p[w] != (g ? fn(g, page, w) : 0))
			return -1;
	return g;
}

/* The last op <= @upto of a writer with @recs records that wrote @rec. */
static uint64_t last_op(uint64_t upto, unsigned int recs, unsigned int rec)
{
	uint64_t back;

	if (!upto)
		return 0;
	back = (upto % recs + recs - rec) % recs;
	return back < upto ? upto - back : 0;
}

/* --- the journal ------------------------------------------------------- */

#define J_MAGIC		0x4a524e4c43505354ull	/* "JRNLCPST" */
#define J_SLOTS		256

struct jent {
	uint64_t magic;
	uint64_t idx;
	uint64_t seq;
	uint64_t lo[NW];
	uint64_t hi[NW];
	uint64_t sum;
};

static uint64_t jsum(const struct jent *e)
{
	const uint64_t *w = (const uint64_t *)e;
	uint64_t s = 0;
	size_t i;

	for (i = 0; i < offsetof(struct jent, sum) / 8; i++)
		s = cs_mix(s ^ w[i]);
	return s;
}

static const char *journal_dev(void)
{
	const char *p = getenv("CKS_JOURNAL");

	return p && *p ? p : "/dev/vdb";
}

static int journal_open(void)
{
	return open(journal_dev(), O_RDWR | O_DIRECT | O_DSYNC | O_CLOEXEC);
}

/* The newest valid entry; 0 if there is none, -errno on failure. */
static int journal_last(struct jent *last)
{
	void *buf;
	int fd, i, found = 0;

	fd = journal_open();
	if (fd < 0)
		return -errno;
	if (posix_memalign(&buf, PAGE, PAGE)) {
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < J_SLOTS; i++) {
		struct jent *e = buf;

		if (pread(fd, buf, PAGE, (off_t)i * PAGE) != PAGE)
			break;
		if (e->magic != J_MAGIC || e->sum != jsum(e))
			continue;
		if (!found || e->idx > last->idx)
			*last = *e;
		found = 1;
	}
	free(buf);
	close(fd);
	return i == J_SLOTS ? found : -EIO;
}

static int journal_clear(void)
{
	void *buf;
	int fd, i, ret = 0;

	fd = journal_open();
	if (fd < 0)
		return -errno;
	if (posix_memalign(&buf, PAGE, PAGE)) {
		close(fd);
		return -ENOMEM;
	}
	memset(buf, 0, PAGE);
	for (i = 0; i < J_SLOTS && !ret; i++)
		if (pwrite(fd, buf, PAGE, (off_t)i * PAGE) != PAGE)
			ret = -EIO;
	free(buf);
	close(fd);
	return ret;
}

/* --- the recovered state ----------------------------------------------- */

struct state {
	uint64_t done[NW];	/* completed ops */
	int partial[NW];	/* op done + 1 is visible in part */
	uint64_t seq;
	unsigned int errors;
};

#define BAD(st, ...) do {						\
		if ((st)->errors++ < 12)				\
			fprintf(stderr, "# " __VA_ARGS__);		\
	} while (0)

static void check_a(struct state *st, const uint64_t *map)
{
	long long g[A_RECS];
	uint64_t top = 0;
	unsigned int r, p;

	for (r = 0; r < A_RECS; r++) {
		g[r] = -2;
		for (p = 0; p < A_PAGES; p++) {
			uint64_t page = r * A_PAGES + p;
			long long pg = page_gen(map + page * WPP, page, a_word);

			if (pg < 0)
				BAD(st, "A record %u page %u: not one generation\n",
				    r, p);
			else if (g[r] == -2)
				g[r] = pg;
			else if (pg != g[r])
				BAD(st, "A record %u: page %u has generation %lld, page 0 %lld: a section split by a checkpoint\n",
				    r, p, pg, g[r]);
		}
		if (g[r] > 0 && (uint64_t)g[r] % A_RECS != r)
			BAD(st, "A record %u: generation %lld belongs to record %llu\n",
			    r, g[r], (unsigned long long)(g[r] % A_RECS));
		if (g[r] > 0 && (uint64_t)g[r] > top)
			top = g[r];
	}
	/* Every record holds its last op up to the newest one. */
	for (r = 0; r < A_RECS; r++)
		if (g[r] >= 0 && (uint64_t)g[r] != last_op(top, A_RECS, r))
			BAD(st, "A record %u: generation %lld, want %" PRIu64 " (newest op %" PRIu64 ")\n",
			    r, g[r], last_op(top, A_RECS, r), top);
	st->done[WA] = top;
	st->partial[WA] = 0;
}

/*
 * Record @r of B: words of generation @gn (a prefix of @k words), then of
 * the op before it on that record. Returns @gn, 0 if the record is zero,
 * -1 if it is neither; *@k receives the length of the prefix.
 */
static long long b_record(struct state *st, const uint64_t *rec,
			  unsigned int r, unsigned int *k)
{
	uint64_t gn, go;
	unsigned int i;

	*k = 0;
	if (!rec[0])
		gn = 0;
	else if ((rec[0] & ~(B_GEN_MAX << 16)) != B_TAG)
		goto bad;
	else
		gn = (rec[0] >> 16) & B_GEN_MAX;
	if (gn && gn % B_RECS != r)
		goto bad;
	go = gn > B_RECS ? gn - B_RECS : 0;
	for (i = 0; i < B_WORDS && gn && rec[i] == b_word(gn, i); i++)
		;
	*k = i;
	for (; i < B_WORDS; i++)
		if (rec[i] != (go ? b_word(go, i) : 0))
			goto bad;
	return gn;
bad:
	BAD(st, "B record %u: not a prefix of one op over the op before (word 0 %#" PRIx64 ")\n",
	    r, rec[0]);
	return -1;
}

static void check_b(struct state *st, const uint64_t *map)
{
	unsigned int r, k[B_RECS];
	long long g[B_RECS];
	uint64_t top = 0;

	for (r = 0; r < B_RECS; r++) {
		g[r] = b_record(st, map + (uint64_t)r * B_WORDS, r, &k[r]);
		if (g[r] > 0 && (uint64_t)g[r] > top)
			top = g[r];
	}
	st->done[WB] = top;
	st->partial[WB] = 0;
	if (!top)
		return;
	/* op top may be cut; every other record holds its last op, whole */
	if (k[top % B_RECS] < B_WORDS) {
		st->done[WB] = top - 1;
		st->partial[WB] = 1;
	}
	for (r = 0; r < B_RECS; r++) {
		if (g[r] < 0 || r == top % B_RECS)
			continue;
		if ((uint64_t)g[r] != last_op(top, B_RECS, r) ||
		    (g[r] && k[r] != B_WORDS))
			BAD(st, "B record %u: op %lld (%u words), want op %" PRIu64 " whole (newest op %" PRIu64 ")\n",
			    r, g[r], k[r], last_op(top, B_RECS, r), top);
	}
}

static void check_c(struct state *st, const uint64_t *map)
{
	unsigned int r, p, k[C_RECS];
	long long g[C_RECS];
	uint64_t top = 0;

	for (r = 0; r < C_RECS; r++) {
		long long pg[C_PAGES], gn, go;

		for (p = 0; p < C_PAGES; p++) {
			uint64_t page = r * C_PAGES + p;

			pg[p] = page_gen(map + page * WPP, page, c_word);
			if (pg[p] < 0)
				BAD(st, "C record %u page %u: torn\n", r, p);
		}
		gn = pg[0];
		go = gn > C_RECS ? gn - C_RECS : 0;
		for (p = 0; p < C_PAGES && gn > 0 && pg[p] == gn; p++)
			;
		k[r] = p;
		for (; p < C_PAGES; p++)
			if (pg[p] != go)
				break;
		g[r] = gn;
		if (p < C_PAGES || (gn > 0 && gn % C_RECS != r)) {
			BAD(st, "C record %u: not a prefix of one op over the op before (pages %lld %lld ...)\n",
			    r, pg[0], pg[1]);
			g[r] = -1;
		}
		if (g[r] > 0 && (uint64_t)g[r] > top)
			top = g[r];
	}
	st->done[WC] = top;
	st->partial[WC] = 0;
	if (!top)
		return;
	if (k[top % C_RECS] < C_PAGES) {
		st->done[WC] = top - 1;
		st->partial[WC] = 1;
	}
	for (r = 0; r < C_RECS; r++) {
		if (g[r] < 0 || r == top % C_RECS)
			continue;
		if ((uint64_t)g[r] != last_op(top, C_RECS, r) ||
		    (g[r] && k[r] != C_PAGES))
			BAD(st, "C record %u: op %lld (%u pages), want op %" PRIu64 " whole (newest op %" PRIu64 ")\n",
			    r, g[r], k[r], last_op(top, C_RECS, r), top);
	}
}

struct segs {
	int fd[NW];
	uint64_t *map[NW];
};

static const uint64_t seg_size[NW] = { A_SIZE, B_SIZE, C_SIZE };

static int segs_open(struct segs *sg, int root)
{
	int i, ret;

	for (i = 0; i < NW; i++) {
		sg->fd[i] = capstore_node_fetch(root, SLOT_A + i,
						CAPSTORE_FD_CLOEXEC);
		if (sg->fd[i] < 0)
			return sg->fd[i];
		ret = capstore_segment_map(sg->fd[i], 0, seg_size[i],
					   PROT_READ | PROT_WRITE,
					   (void **)&sg->map[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static void segs_close(struct segs *sg)
{
	int i;

	for (i = 0; i < NW; i++) {
		if (sg->map[i])
			capstore_segment_unmap(sg->map[i], seg_size[i]);
		if (sg->fd[i] > 0)
			close(sg->fd[i]);
	}
}

static void state_read(struct state *st, const struct segs *sg)
{
	memset(st, 0, sizeof(*st));
	check_a(st, sg->map[WA]);
	check_b(st, sg->map[WB]);
	check_c(st, sg->map[WC]);
	st->seq = cs_store_get(cs_test_dev(), "seq");
}

/* How many ways @st contradicts journal entry @e (0: none). */
static unsigned int journal_violations(const struct state *st,
				       const struct jent *e)
{
	unsigned int bad = 0;
	int i;

	/* A checkpoint that returned is durable... */
	if (e->seq > st->seq) {
		fprintf(stderr, "# seq %" PRIu64 " recovered, checkpoint %" PRIu64 " had returned\n",
			st->seq, e->seq);
		bad++;
	}
	for (i = 0; i < NW; i++) {
		/* ...with everything done before it was asked for... */
		if (e->lo[i] > st->done[i]) {
			fprintf(stderr, "# writer %c: %" PRIu64 " ops recovered, %" PRIu64 " were done before checkpoint %" PRIu64 " was asked for\n",
				wname[i], st->done[i], e->lo[i], e->seq);
			bad++;
		}
		/* ...and, if it is the one recovered, nothing after it. */
		if (e->seq == st->seq && st->done[i] > e->hi[i] + 1) {
			fprintf(stderr, "# writer %c: %" PRIu64 " ops recovered, only %" PRIu64 " were done when checkpoint %" PRIu64 " returned\n",
				wname[i], st->done[i], e->hi[i], e->seq);
			bad++;
		}
	}
	return bad;
}

/* The recovered state against the journal's last entry. */
static void state_check_journal(struct __test_metadata *_metadata,
				const struct state *st)
{
	struct jent e = { 0 };
	int ret;

	ret = journal_last(&e);
	ASSERT_LE(0, ret) TH_LOG("journal: %s", strerror(-ret));
	TH_LOG("recovered seq %" PRIu64 ": A %" PRIu64 ", B %" PRIu64 "%s, C %" PRIu64 "%s",
	       st->seq, st->done[WA], st->done[WB],
	       st->partial[WB] ? " + part" : "", st->done[WC],
	       st->partial[WC] ? " + part" : "");
	if (!ret) {
		TH_LOG("journal empty");
		return;
	}
	TH_LOG("journal entry %" PRIu64 ": seq %" PRIu64 ", before A %" PRIu64 " B %" PRIu64 " C %" PRIu64 ", after A %" PRIu64 " B %" PRIu64 " C %" PRIu64,
	       e.idx, e.seq, e.lo[WA], e.lo[WB], e.lo[WC], e.hi[WA], e.hi[WB],
	       e.hi[WC]);
	EXPECT_EQ(0u, journal_violations(st, &e));
}

/* --- the workload ------------------------------------------------------ */

struct work {
	struct segs sg;
	int root;
	int sec_fd;
	atomic_int stop;
	_Atomic uint64_t done[NW];
	atomic_int failed;
	char why[160];
	/* checkpointer */
	int jfd;
	void *jbuf;
	uint64_t jidx;
	_Atomic uint64_t cps;	/* checkpoints that returned */
	uint64_t last_seq;
	uint64_t overlap[NW];	/* ops done while checkpoints ran */
	uint64_t marker_after;	/* print the crash marker after this many */
};

static void work_fail(struct work *wk, const char *fmt, int err)
{
	if (!atomic_exchange(&wk->failed, 1))
		snprintf(wk->why, sizeof(wk->why), fmt, strerror(-err));
	atomic_store(&wk->stop, 1);
}

static void *writer_a(void *p)
{
	struct work *wk = p;
	uint64_t g = atomic_load(&wk->done[WA]), *map = wk->sg.map[WA];
	int ret;

	while (!atomic_load(&wk->stop)) {
		uint64_t r = ++g % A_RECS, page;
		unsigned int w;

		ret = capstore_section_begin(wk->sec_fd, 0);
		if (ret) {
			work_fail(wk, "A: section begin: %s", ret);
			break;
		}
		for (page = r * A_PAGES; page < (r + 1) * A_PAGES; page++)
			for (w = 0; w < WPP; w++)
				map[page * WPP + w] = a_word(g, page, w);
		ret = capstore_section_end(wk->sec_fd, 0);
		if (ret) {
			/* ETIMEDOUT: a checkpoint may hold half of op g */
			work_fail(wk, "A: section end: %s", ret);
			break;
		}
		atomic_store(&wk->done[WA], g);
	}
	return NULL;
}

static void *writer_b(void *p)
{
	struct work *wk = p;
	uint64_t g = atomic_load(&wk->done[WB]), *map = wk->sg.map[WB];

	while (!atomic_load(&wk->stop)) {
		uint64_t *rec = map + (++g % B_RECS) * B_WORDS;
		unsigned int i;

		for (i = 0; i < B_WORDS; i++)
			rec[i] = b_word(g, i);
		atomic_store(&wk->done[WB], g);
	}
	return NULL;
}

static void *writer_c(void *p)
{
	struct work *wk = p;
	uint64_t g = atomic_load(&wk->done[WC]);
	uint64_t *buf = malloc(C_PAGES * PAGE);
	size_t half = C_PAGES / 2 * PAGE;

	if (!buf) {
		work_fail(wk, "C: %s", -ENOMEM);
		return NULL;
	}
	while (!atomic_load(&wk->stop)) {
		uint64_t r = ++g % C_RECS, p, off = r * C_PAGES * PAGE;
		unsigned int w;
		ssize_t n;

		for (p = 0; p < C_PAGES; p++)
			for (w = 0; w < WPP; w++)
				buf[p * WPP + w] = c_word(g, r * C_PAGES + p, w);
		n = capstore_segment_pwrite(wk->sg.fd[WC], buf, half, off);
		if (n == (ssize_t)half)
			n = capstore_segment_pwrite(wk->sg.fd[WC],
						    (char *)buf + half, half,
						    off + half);
		if (n != (ssize_t)half) {
			work_fail(wk, "C: pwrite: %s", n < 0 ? n : -EIO);
			break;
		}
		atomic_store(&wk->done[WC], g);
	}
	free(buf);
	return NULL;
}

static void *checkpointer(void *p)
{
	struct work *wk = p;
	struct jent *e = wk->jbuf;

	while (!atomic_load(&wk->stop)) {
		uint64_t lo[NW], hi[NW], seq;
		int i, ret;

		for (i = 0; i < NW; i++)
			lo[i] = atomic_load(&wk->done[i]);
		ret = capstore_cap_checkpoint(wk->root, 0, &seq);
		for (i = 0; i < NW; i++)
			hi[i] = atomic_load(&wk->done[i]);
		if (ret) {
			work_fail(wk, "checkpoint: %s", ret);
			break;
		}
		if (seq < wk->last_seq) {
			work_fail(wk, "checkpoint: seq went back%s", 0);
			break;
		}
		memset(e, 0, PAGE);
		e->magic = J_MAGIC;
		e->idx = ++wk->jidx;
		e->seq = seq;
		for (i = 0; i < NW; i++) {
			e->lo[i] = lo[i];
			e->hi[i] = hi[i];
			wk->overlap[i] += hi[i] - lo[i];
		}
		e->sum = jsum(e);
		if (pwrite(wk->jfd, e, PAGE,
			   (off_t)(e->idx % J_SLOTS) * PAGE) != PAGE) {
			work_fail(wk, "journal: %s", -errno);
			break;
		}
		wk->last_seq = seq;
		if (++wk->cps == wk->marker_after)
			cs_crash_point();
	}
	return NULL;
}

/* Run the workload from @st until @cps checkpoints returned (0: for ever). */
static void workload(struct __test_metadata *_metadata, struct work *wk,
		     const struct state *st, uint64_t cps, uint64_t marker)
{
	void *(*fn[NW + 1])(void *) = { writer_a, writer_b, writer_c,
					checkpointer };
	pthread_t th[NW + 1];
	int i;

	for (i = 0; i < NW; i++)
		atomic_store(&wk->done[i], st->done[i]);
	wk->marker_after = marker;
	wk->jfd = journal_open();
	ASSERT_LE(0, wk->jfd) TH_LOG("journal: %s", strerror(errno));
	ASSERT_EQ(0, posix_memalign(&wk->jbuf, PAGE, PAGE));
	wk->sec_fd = capstore_cap_restrict(wk->sg.fd[WA], CAPSTORE_RIGHT_READ,
					   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, wk->sec_fd);
	for (i = 0; i <= NW; i++)
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fn[i], wk));
	while (!atomic_load(&wk->stop) && (!cps || wk->cps < cps))
		usleep(20000);
	atomic_store(&wk->stop, 1);
	for (i = 0; i <= NW; i++)
		pthread_join(th[i], NULL);
	close(wk->sec_fd);
	close(wk->jfd);
	free(wk->jbuf);
	EXPECT_EQ(0, atomic_load(&wk->failed)) TH_LOG("%s", wk->why);
}

/* --- phases ------------------------------------------------------------ */

FIXTURE(stress) {
	uint32_t id;
	int root;
	struct segs sg;
};

FIXTURE_SETUP(stress)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
}

FIXTURE_TEARDOWN(stress)
{
	segs_close(&self->sg);
	if (self->root >= 0)
		close(self->root);
	EXPECT_EQ(0, cs_detach(self->id));
}

static void expect_clean(struct __test_metadata *_metadata,
			 const struct state *st)
{
	EXPECT_EQ(0u, st->errors) TH_LOG("the recovered state is not one a checkpoint can hold");
}

TEST_F(stress, create)
{
	struct state st;
	int i, fd;

	for (i = 0; i < NW; i++) {
		fd = capstore_node_create(self->root, SLOT_A + i,
					  CAPSTORE_KIND_SEGMENT, seg_size[i],
					  CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, fd);
		close(fd);
	}
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	ASSERT_EQ(0, segs_open(&self->sg, self->root));
	state_read(&st, &self->sg);
	expect_clean(_metadata, &st);
	for (i = 0; i < NW; i++)
		EXPECT_EQ(0ull, st.done[i]);
	ASSERT_EQ(0, journal_clear());
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

TEST_F_TIMEOUT(stress, run, 300)
{
	long long c0, stall, maxstall, cpns, maxcp;
	struct work *wk = calloc(1, sizeof(*wk));
	uint64_t n = env_u64("CKS_CHECKPOINTS", 30);
	struct state st, end;
	int i;

	ASSERT_NE(NULL, wk);
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "section_timeout_ms",
				  "600000"));
	ASSERT_EQ(0, segs_open(&self->sg, self->root));
	state_read(&st, &self->sg);
	expect_clean(_metadata, &st);
	c0 = cs_store_get(cs_test_dev(), "checkpoints");

	wk->sg = self->sg;
	wk->root = self->root;
	workload(_metadata, wk, &st, n, 0);
	ASSERT_LE(n, wk->cps);

	/* Every checkpoint that returned committed (nothing else ran). */
	EXPECT_LE(c0 + (long long)n, cs_store_get(cs_test_dev(), "checkpoints"));
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "failed_checkpoints"));
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "sections_broken"));
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "shutdown"));
	/* The figures move and the stall is part of the checkpoint. */
	stall = cs_store_get(cs_test_dev(), "last_stall_ns");
	maxstall = cs_store_get(cs_test_dev(), "max_stall_ns");
	cpns = cs_store_get(cs_test_dev(), "last_checkpoint_ns");
	maxcp = cs_store_get(cs_test_dev(), "max_checkpoint_ns");
	EXPECT_LT(0, stall);
	EXPECT_LE(stall, maxstall);
	EXPECT_LE(stall, cpns);
	EXPECT_LE(maxstall, maxcp);
	/* The writers went on while checkpoints ran. */
	for (i = 0; i < NW; i++) {
		TH_LOG("writer %c: %" PRIu64 " ops, %" PRIu64 " of them while a checkpoint ran",
		       wname[i], atomic_load(&wk->done[i]) - st.done[i],
		       wk->overlap[i]);
		EXPECT_LT(0ull, wk->overlap[i]) TH_LOG("writer %c", wname[i]);
	}
	TH_LOG("%" PRIu64 " checkpoints up to seq %" PRIu64 "; stall last %lld ns, max %lld ns; checkpoint last %lld ns, max %lld ns",
	       wk->cps, wk->last_seq, stall, maxstall, cpns, maxcp);

	/* Writers stopped: detach's checkpoint holds exactly where they are. */
	for (i = 0; i < NW; i++)
		st.done[i] = atomic_load(&wk->done[i]);
	segs_close(&self->sg);
	memset(&self->sg, 0, sizeof(self->sg));
	close(self->root);
	self->root = -EBADF;
	ASSERT_EQ(0, cs_detach(self->id));
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	ASSERT_EQ(0, segs_open(&self->sg, self->root));
	state_read(&end, &self->sg);
	expect_clean(_metadata, &end);
	for (i = 0; i < NW; i++) {
		EXPECT_EQ(st.done[i], end.done[i]) TH_LOG("writer %c", wname[i]);
		EXPECT_EQ(0, end.partial[i]) TH_LOG("writer %c", wname[i]);
	}
	free(wk);
}

TEST_F(stress, verify)
{
	struct state st;

	ASSERT_EQ(0, segs_open(&self->sg, self->root));
	state_read(&st, &self->sg);
	expect_clean(_metadata, &st);
	state_check_journal(_metadata, &st);
}

TEST_F(stress, cut)
{
	struct work *wk = calloc(1, sizeof(*wk));
	struct state st;

	ASSERT_NE(NULL, wk);
	ASSERT_EQ(0, segs_open(&self->sg, self->root));
	/* (verify, run before in the same boot, checked it against the journal) */
	state_read(&st, &self->sg);
	ASSERT_EQ(0u, st.errors);
	ASSERT_EQ(0, journal_clear());
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "section_timeout_ms",
				  "600000"));
	wk->sg = self->sg;
	wk->root = self->root;
	/* until the power cut */
	workload(_metadata, wk, &st, 0, 5);
	free(wk);
}

/*
 * The checker itself, on a settled store: states no instant can produce
 * must be rejected, two that an instant can produce accepted. Every
 * change is made through the mappings and undone; nothing is committed.
 */
struct mutation {
	const char *what;
	int writer;
	int accept;
	void (*fn)(uint64_t *map, const struct state *st);
};

/* A: one page of the newest op's record from the op before (split section) */
static void mut_a_split(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WA], page = (g % A_RECS) * A_PAGES + 3;
	unsigned int w;

	for (w = 0; w < WPP; w++)
		map[page * WPP + w] = g > A_RECS ? a_word(g - A_RECS, page, w) : 0;
}

/* A: a record holds an older op than the newest op implies (lost op) */
static void mut_a_lost(uint64_t *map, const struct state *st)
{
	uint64_t r = (st->done[WA] + 1) % A_RECS, g = last_op(st->done[WA], A_RECS, r);
	uint64_t page;
	unsigned int w;

	for (page = r * A_PAGES; page < (r + 1) * A_PAGES; page++)
		for (w = 0; w < WPP; w++)
			map[page * WPP + w] = g > A_RECS ?
				a_word(g - A_RECS, page, w) : 0;
}

/* B: a word of the newest op missing in the middle (a hole, not a prefix) */
static void mut_b_hole(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WB];

	map[(g % B_RECS) * B_WORDS + 700] = g > B_RECS ? b_word(g - B_RECS, 700) : 0;
}

/* B: a word from nowhere (its place wrong) */
static void mut_b_place(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WB];

	map[(g % B_RECS) * B_WORDS + 5] = b_word(g, 6);
}

/* B: the next op begun in another record than its own */
static void mut_b_order(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WB] + 2;
	unsigned int i;

	/* op g + 2 visible, op g + 1 not at all */
	for (i = 0; i < 10; i++)
		map[(g % B_RECS) * B_WORDS + i] = b_word(g, i);
}

/* B: the next op cut in the middle of a page: an instant can do that */
static void mut_b_cut(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WB] + 1;
	unsigned int i;

	for (i = 0; i < 1000; i++)
		map[(g % B_RECS) * B_WORDS + i] = b_word(g, i);
}

/* C: a torn page */
static void mut_c_torn(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WC] + 1, page = (g % C_RECS) * C_PAGES;
	unsigned int w;

	for (w = 0; w < WPP / 2; w++)
		map[page * WPP + w] = c_word(g, page, w);
}

/* C: a later page of an op without an earlier one */
static void mut_c_skip(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WC] + 1, page = (g % C_RECS) * C_PAGES;
	unsigned int w, p;

	for (p = 0; p < C_PAGES; p++) {
		if (p == 2)
			continue;
		for (w = 0; w < WPP; w++)
			map[(page + p) * WPP + w] = c_word(g, page + p, w);
	}
}

/* C: the next op's first three pages: an instant can do that */
static void mut_c_cut(uint64_t *map, const struct state *st)
{
	uint64_t g = st->done[WC] + 1, page = (g % C_RECS) * C_PAGES;
	unsigned int w, p;

	for (p = 0; p < 3; p++)
		for (w = 0; w < WPP; w++)
			map[(page + p) * WPP + w] = c_word(g, page + p, w);
}

static const struct mutation mutations[] = {
	{ "A: a section split", WA, 0, mut_a_split },
	{ "A: a lost op", WA, 0, mut_a_lost },
	{ "B: a hole in an op", WB, 0, mut_b_hole },
	{ "B: a word in the wrong place", WB, 0, mut_b_place },
	{ "B: an op without the one before", WB, 0, mut_b_order },
	{ "B: the next op cut inside a page", WB, 1, mut_b_cut },
	{ "C: a torn page", WC, 0, mut_c_torn },
	{ "C: a page of an op missing", WC, 0, mut_c_skip },
	{ "C: the next op's first pages", WC, 1, mut_c_cut },
};

TEST_F(stress, checker)
{
	struct state st, now;
	unsigned int i;
	void *saved;

	ASSERT_EQ(0, segs_open(&self->sg, self->root));
	state_read(&st, &self->sg);
	ASSERT_EQ(0u, st.errors);
	/* (it needs a settled store where every writer has done a few ops) */
	for (i = 0; i < NW; i++) {
		ASSERT_LT(16ull, st.done[i]);
		ASSERT_EQ(0, st.partial[i]);
	}

	for (i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		const struct mutation *m = &mutations[i];
		uint64_t *map = self->sg.map[m->writer];

		saved = malloc(seg_size[m->writer]);
		ASSERT_NE(NULL, saved);
		memcpy(saved, map, seg_size[m->writer]);
		m->fn(map, &st);
		fprintf(stderr, "# checker: %s (%s)\n", m->what,
			m->accept ? "possible" : "impossible");
		state_read(&now, &self->sg);
		if (m->accept) {
			EXPECT_EQ(0u, now.errors) TH_LOG("%s: rejected", m->what);
		} else {
			EXPECT_LT(0u, now.errors) TH_LOG("%s: accepted", m->what);
		}
		memcpy(map, saved, seg_size[m->writer]);
		free(saved);
	}

	/* The journal bounds. */
	{
		struct jent e = { .seq = st.seq };

		for (i = 0; i < NW; i++) {
			e.lo[i] = st.done[i];
			e.hi[i] = st.done[i];
		}
		EXPECT_EQ(0u, journal_violations(&st, &e));
		e.seq = st.seq + 1;
		EXPECT_EQ(1u, journal_violations(&st, &e)) TH_LOG("a returned checkpoint lost");
		e.seq = st.seq;
		e.lo[WB]++;
		EXPECT_EQ(1u, journal_violations(&st, &e)) TH_LOG("an op done before the call lost");
		e.lo[WB]--;
		e.hi[WC] -= 2;
		EXPECT_EQ(1u, journal_violations(&st, &e)) TH_LOG("ops after the return kept");
		e.seq = st.seq - 1;
		EXPECT_EQ(0u, journal_violations(&st, &e)) TH_LOG("a later checkpoint is allowed more");
	}

	/* All undone: clean again. */
	state_read(&now, &self->sg);
	EXPECT_EQ(0u, now.errors);
	for (i = 0; i < NW; i++)
		EXPECT_EQ(st.done[i], now.done[i]);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
}

CS_HARNESS_MAIN
