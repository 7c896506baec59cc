// SPDX-License-Identifier: GPL-2.0
/*
 * stress - many processes and threads use one store at once, and the
 * store is checked against a model of what they did.
 *
 * The parent builds the store (on a dm-linear device over $CS_TEST_DEV
 * when device-mapper is there, so that the disk can be made to drop its
 * writes at the end) and forks --procs processes, each running:
 *
 *   writers (--writers each)  own a record of REC_PAGES pages of the data
 *       segment D; op v writes the value v into every word of the record,
 *       through a mapping or with pwrite, page by page. Now and then an
 *       fsync or a CAPSTORE_CHECKPOINT; when it returns, the writer logs
 *       (seq, v) in its page of the ledger segment L, in the store, and v
 *       in shared memory as durable.
 *   a capability thread  restricts capabilities to D (sometimes weak,
 *       sometimes through a forwarder it later destroys) and passes them
 *       to the next process over a unix socket (SCM_RIGHTS); receives the
 *       previous process's, checks their rights, maps them read-only,
 *       checks what the records hold, stores them in its slots of node X,
 *       fetches them back, clears some.
 *   a revoker  creates a segment in its slot of node S, has a second
 *       thread write and fault through a mapping of it, revokes it (the
 *       old capability must be dead), destroys it through the fresh one
 *       and waits for the second thread's SIGBUS.
 *   in the first process, a checkpointer (checkpoints at random
 *       intervals, sections) and the store's own schedule (interval_ms 50).
 *
 * The parent, meanwhile, tries to detach (EBUSY while capabilities are
 * open) and every --cycle seconds stops everyone: the workers close every
 * capability while the parent keeps calling detach, which must succeed
 * as soon as the last one is closed; then fsck, attach again, and the
 * store must be exactly the model (every record holds its writer's last
 * value, every ledger what its writer logged, every slot of X what its
 * owner stored, no object more or less), and everyone goes on.
 *
 * At the end the disk drops every write (dm-flakey drop_writes) while
 * everyone still runs, as a power cut that loses the device's cache
 * would; after detach, the plain disk must be one committed checkpoint:
 * each record holds a value v, not older than the last fsync that
 * returned before the drop, not newer than the writer's last op, and the
 * pages of a record hold v then v - 1 (an op cut by the snapshot: page by
 * page for pwrite, word by word through a mapping), never a newer word
 * after an older one; each ledger is a prefix of what the writer logged,
 * at least the entries an fsync had made durable before the drop, none of
 * its values above the record's; the checkpoint is at least the newest
 * one a CAPSTORE_CHECKPOINT had returned before the drop. (What was
 * durable is read just before the drop: writers go on syncing after it.)
 *
 *   stress [--secs N] [--procs N] [--writers N] [--cycle SECS] [--seed N]
 *   stress --detach-race N     only the race of detach with the last close
 *
 * CS_STRESS_SECS overrides the default of --secs (30). The debug kernel
 * runs it under lockdep, KASAN and kmemleak (make check-debug).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_test.h"
#include "cs_dm.h"

#define PAGE		4096
#define REC_PAGES	4
#define MAXP		8
#define MAXW		32
#define XSLOTS		4		/* slots of node X per process */
#define LEDGER_MAX	((PAGE - 16) / 16)

enum { SL_D, SL_L, SL_X, SL_S };	/* root slots */

enum phase { PH_RUN, PH_PARK, PH_STOP };

struct wstate {
	_Atomic uint64_t written;	/* last op completed */
	_Atomic uint64_t started;	/* op in progress (written + 1) */
	_Atomic uint64_t durable;	/* covered by an fsync that returned */
	_Atomic uint64_t durable_nledger; /* ledger entries it covered */
	_Atomic uint64_t nledger;	/* entries logged in the store */
	uint64_t ledger_v[LEDGER_MAX];
	uint64_t ledger_seq[LEDGER_MAX];
};

struct xslot {
	uint64_t oid;
	uint32_t rights;
	uint32_t kind;		/* 0: empty */
};

/* Shared by every process (MAP_SHARED | MAP_ANONYMOUS). */
struct shm {
	_Atomic int phase;
	_Atomic int parked;
	_Atomic int ready;		/* threads with their capabilities open */
	_Atomic int failed;
	_Atomic uint32_t store_id;
	_Atomic uint64_t gen;		/* bumped at every resume */
	_Atomic uint64_t seq_max;	/* newest explicit checkpoint returned */
	struct wstate w[MAXW];
	/*
	 * Read just before the disk starts dropping writes: what had been
	 * made durable by then, which the plain disk must hold. (Writers go
	 * on syncing after the cut, so their live values are too new.)
	 */
	uint64_t cut_durable[MAXW], cut_nledger[MAXW], cut_seq;
	struct xslot x[MAXP][XSLOTS];
	_Atomic uint64_t n_write, n_fsync, n_cp, n_pass, n_recv, n_store,
		n_restrict, n_fwd, n_revoke, n_destroy, n_sigbus, n_detach_busy,
		n_sections, n_weak;
	char why[512];
};

static struct shm *shm;
static unsigned int nprocs = 3, nwriters = 2, cycle_secs = 12;
static unsigned int secs = 30;
static uint64_t seed;
static const char *dev;
static char base_dev[64], dm_dev[64];
static bool on_dm;
static int64_t dev_sectors;

static int nw(void)
{
	return (int)(nprocs * nwriters);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
	va_list ap;
	int first = !atomic_exchange(&shm->failed, 1);

	va_start(ap, fmt);
	if (first)
		vsnprintf(shm->why, sizeof(shm->why), fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	fprintf(stderr, "# FAIL [%d]: ", getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("# ");
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	va_end(ap);
}

static _Thread_local uint64_t rnd_state;

static uint64_t rnd(void)
{
	return cs_mix(rnd_state++);
}

static void rnd_init(uint64_t x)
{
	rnd_state = cs_mix(seed ^ (x * 0x9e3779b97f4a7c15ull));
}

static void sleep_ms(unsigned int ms)
{
	usleep(ms * 1000);
}

/* The value of every word of writer @w's record after op @v. */
static uint64_t word_of(unsigned int w, uint64_t v)
{
	return ((uint64_t)w << 48) | v;
}

/* A checkpoint returned @seq: keep the newest. */
static void seq_returned(uint64_t seq)
{
	uint64_t cur = atomic_load(&shm->seq_max);

	while (seq > cur &&
	       !atomic_compare_exchange_weak(&shm->seq_max, &cur, seq))
		;
}

/* ------------------------------------------------------------------ */
/* SIGBUS, per thread.                                                 */

static _Thread_local sigjmp_buf bus_jmp;
static _Thread_local volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	(void)sig;
	if (bus_armed) {
		bus_armed = 0;
		siglongjmp(bus_jmp, 1);
	}
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
}

/* ------------------------------------------------------------------ */
/* Capabilities of a worker thread, reopened after each pause.         */

struct caps {
	int root, d, l, x, s;
	uint64_t gen;
};

static void caps_close(struct caps *c)
{
	int *fds[] = { &c->root, &c->d, &c->l, &c->x, &c->s };
	unsigned int i;

	for (i = 0; i < 5; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

static int caps_open(struct caps *c)
{
	c->gen = atomic_load(&shm->gen);
	c->root = cs_root(atomic_load(&shm->store_id));
	if (c->root < 0) {
		fprintf(stderr, "# root of store %u: %s\n",
			atomic_load(&shm->store_id), strerror(-c->root));
		return c->root;
	}
	c->d = capstore_node_fetch(c->root, SL_D, CAPSTORE_FD_CLOEXEC);
	c->l = capstore_node_fetch(c->root, SL_L, CAPSTORE_FD_CLOEXEC);
	c->x = capstore_node_fetch(c->root, SL_X, CAPSTORE_FD_CLOEXEC);
	c->s = capstore_node_fetch(c->root, SL_S, CAPSTORE_FD_CLOEXEC);
	if (c->d < 0 || c->l < 0 || c->x < 0 || c->s < 0) {
		fprintf(stderr, "# fetch D %d, L %d, X %d, S %d\n", c->d, c->l,
			c->x, c->s);
		return c->d < 0 ? c->d : c->l < 0 ? c->l : c->x < 0 ? c->x :
		       c->s;
	}
	return 0;
}

/*
 * At a pause: close everything, count in, wait for the next run (then
 * reopen: true) or the end (false).
 */
static bool park(struct caps *c, void (*drop)(void *), void *arg)
{
	int ret;

	if (drop)
		drop(arg);
	caps_close(c);
	atomic_fetch_add(&shm->parked, 1);
	while (atomic_load(&shm->phase) == PH_PARK) {
		/* capabilities still in flight to us are dropped too */
		if (drop)
			drop(arg);
		sleep_ms(2);
	}
	if (atomic_load(&shm->phase) == PH_STOP || atomic_load(&shm->failed))
		return false;
	ret = caps_open(c);
	if (ret) {
		fail("reopen after a pause: %s", strerror(-ret));
		return false;
	}
	atomic_fetch_add(&shm->ready, 1);
	return true;
}

/* ------------------------------------------------------------------ */
/* Writers.                                                            */

struct writer {
	unsigned int w;
	struct caps c;
	uint8_t *map;
	size_t maplen;
};

static void writer_unmap(void *arg)
{
	struct writer *wr = arg;

	if (wr->map)
		munmap(wr->map, wr->maplen);
	wr->map = NULL;
}

static int writer_op(struct writer *wr, uint64_t v)
{
	struct wstate *ws = &shm->w[wr->w];
	off_t off = (off_t)wr->w * REC_PAGES * PAGE;
	uint64_t buf[PAGE / 8], x = word_of(wr->w, v);
	unsigned int p, i;

	atomic_store(&ws->started, v);
	if (rnd() % 2) {
		if (!wr->map) {
			void *m;
			int ret;

			wr->maplen = (size_t)nw() * REC_PAGES * PAGE;
			ret = capstore_segment_map(wr->c.d, 0, wr->maplen,
						   PROT_READ | PROT_WRITE, &m);
			if (ret) {
				fail("writer %u: map: %s", wr->w, strerror(-ret));
				return -1;
			}
			wr->map = m;
		}
		for (p = 0; p < REC_PAGES; p++) {
			volatile uint64_t *q = (volatile uint64_t *)
				(wr->map + off + (size_t)p * PAGE);

			for (i = 0; i < PAGE / 8; i++)
				q[i] = x;
		}
	} else {
		for (i = 0; i < PAGE / 8; i++)
			buf[i] = x;
		for (p = 0; p < REC_PAGES; p++) {
			ssize_t n = pwrite(wr->c.d, buf, PAGE,
					   off + (off_t)p * PAGE);

			if (n != PAGE) {
				fail("writer %u: pwrite: %zd (%s)", wr->w, n,
				     strerror(errno));
				return -1;
			}
		}
	}
	atomic_store(&ws->written, v);
	atomic_fetch_add(&shm->n_write, 1);
	return 0;
}

/* Make v durable, then log it in the store's ledger and in shm. */
static int writer_sync(struct writer *wr, uint64_t v)
{
	struct wstate *ws = &shm->w[wr->w];
	uint64_t seq = 0, n = atomic_load(&ws->nledger), ent[2];
	off_t base = (off_t)wr->w * PAGE;
	int ret;

	if (rnd() % 2) {
		ret = fsync(wr->c.d) ? -errno : 0;
		atomic_fetch_add(&shm->n_fsync, 1);
	} else {
		ret = capstore_cap_checkpoint(wr->c.l, 0, &seq);
		atomic_fetch_add(&shm->n_cp, 1);
	}
	if (ret) {
		fail("writer %u: fsync or checkpoint: %s", wr->w,
		     strerror(-ret));
		return -1;
	}
	if (seq)
		seq_returned(seq);
	/* ledger entries 0..n-1 were written before the call: durable too */
	atomic_store(&ws->durable_nledger, n);
	atomic_store(&ws->durable, v);
	if (n >= LEDGER_MAX)
		return 0;
	/* the entry, then the count that covers it */
	ent[0] = seq;
	ent[1] = v;
	if (pwrite(wr->c.l, ent, sizeof(ent), base + 16 + (off_t)n * 16) !=
	    sizeof(ent)) {
		fail("writer %u: ledger: %s", wr->w, strerror(errno));
		return -1;
	}
	ws->ledger_seq[n] = seq;
	ws->ledger_v[n] = v;
	n++;
	if (pwrite(wr->c.l, &n, 8, base) != 8) {
		fail("writer %u: ledger count: %s", wr->w, strerror(errno));
		return -1;
	}
	atomic_store(&ws->nledger, n);
	return 0;
}

static void *writer_main(void *arg)
{
	struct writer *wr = arg;
	struct wstate *ws = &shm->w[wr->w];
	int cerr;

	rnd_init(0x1000 + wr->w);
	cerr = caps_open(&wr->c);
	if (cerr) {
		fail("writer %u: open: %s", wr->w, strerror(-cerr));
		return NULL;
	}
	atomic_fetch_add(&shm->ready, 1);
	for (;;) {
		uint64_t v = atomic_load(&ws->written) + 1;

		if (atomic_load(&shm->failed))
			break;
		if (atomic_load(&shm->phase) != PH_RUN) {
			if (!park(&wr->c, writer_unmap, wr))
				break;
			continue;
		}
		if (writer_op(wr, v))
			break;
		if (!(rnd() % 6) && writer_sync(wr, v))
			break;
		if (!(rnd() % 4))
			sched_yield();
	}
	writer_unmap(wr);
	caps_close(&wr->c);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Capabilities passed between processes.                              */

struct capmsg {
	uint64_t oid;
	uint32_t rights;
	uint32_t forwarded;
};

static int send_cap(int sock, int fd, const struct capmsg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { (void *)m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	memset(cbuf, 0, sizeof(cbuf));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_DONTWAIT) == sizeof(*m) ? 0 : -errno;
}

/* A capability from the socket, or -EAGAIN. */
static int recv_cap(int sock, struct capmsg *m)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int fd = -1;

	if (n < 0)
		return -errno;
	cm = CMSG_FIRSTHDR(&mh);
	if (n != sizeof(*m) || !cm || cm->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* Drain a socket: capabilities in flight die with the pause. */
static void drain(int sock)
{
	struct capmsg m;
	int fd;

	while ((fd = recv_cap(sock, &m)) >= 0 || fd == -EPROTO)
		if (fd >= 0)
			close(fd);
}

/* What a reader may see in a record: its writer's words, not too new. */
static int check_record_page(const uint64_t *p, unsigned int w)
{
	static _Thread_local uint64_t copy[PAGE / 8];
	uint64_t hi;
	unsigned int i;

	/* the words first: the writer announces an op before its stores */
	memcpy(copy, p, PAGE);
	hi = atomic_load(&shm->w[w].started);
	for (i = 0; i < PAGE / 8; i++) {
		uint64_t v = copy[i] & ((1ull << 48) - 1);

		if (copy[i] && ((copy[i] >> 48) != w || v > hi)) {
			fail("record %u word %u: %#" PRIx64 " (writer at %" PRIu64 ")",
			     w, i, copy[i], hi);
			return -1;
		}
	}
	return 0;
}

struct capthr {
	unsigned int proc;
	int tx, rx;
	struct caps c;
	int held[8];		/* received capabilities still open */
	int fwd_slot_used;
};

static void capthr_drop(void *arg)
{
	struct capthr *ct = arg;
	unsigned int i;

	for (i = 0; i < 8; i++) {
		if (ct->held[i] >= 0)
			close(ct->held[i]);
		ct->held[i] = -1;
	}
	drain(ct->rx);
}

/* Use a received capability: rights, a read-only map, a slot of X. */
static int use_received(struct capthr *ct, int fd, const struct capmsg *m)
{
	struct capstore_cap_info info;
	struct xslot *xs;
	unsigned int slot, w;
	uint64_t *map;
	void *addr;
	int ret;

	ret = capstore_cap_info(fd, &info);
	if (ret == -EKEYREVOKED && m->forwarded)
		return 0;	/* its forwarder was destroyed meanwhile */
	if (ret) {
		fail("received capability: info: %s", strerror(-ret));
		return -1;
	}
	if (info.out_rights != m->rights || info.out_oid != m->oid ||
	    !!(info.out_flags & CAPSTORE_CAP_FORWARDED) != !!m->forwarded) {
		fail("received capability: rights %#x oid %" PRIu64 " flags %#x, sent %#x %" PRIu64 " %u",
		     info.out_rights, (uint64_t)info.out_oid, info.out_flags,
		     m->rights,
		     m->oid, m->forwarded);
		return -1;
	}
	atomic_fetch_add(&shm->n_recv, 1);
	/* read-only: a writable map is refused */
	addr = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (addr != MAP_FAILED) {
		fail("a read-only capability mapped writable");
		return -1;
	}
	w = (unsigned int)(rnd() % (uint64_t)nw());
	ret = capstore_segment_map(fd, (uint64_t)w * REC_PAGES * PAGE, PAGE,
				   PROT_READ, &addr);
	if (ret == -EKEYREVOKED && m->forwarded)
		return 0;
	if (ret) {
		fail("received capability: map: %s", strerror(-ret));
		return -1;
	}
	map = addr;
	if (sigsetjmp(bus_jmp, 1)) {
		/* only a dead forwarder explains it */
		munmap(addr, PAGE);
		if (m->forwarded)
			return 0;
		fail("SIGBUS reading through a received capability");
		return -1;
	}
	bus_armed = 1;
	ret = check_record_page(map, w);
	bus_armed = 0;
	munmap(addr, PAGE);
	if (ret)
		return -1;
	/* into a slot of X, back out, compared */
	/* the last slot of each process is for its forwarders */
	slot = (unsigned int)(rnd() % (XSLOTS - 1));
	xs = &shm->x[ct->proc][slot];
	ret = capstore_node_store(ct->c.x, ct->proc * XSLOTS + slot, fd, 0);
	if (ret == -EKEYREVOKED && m->forwarded)
		return 0;
	if (ret) {
		fail("store in X: %s", strerror(-ret));
		return -1;
	}
	atomic_fetch_add(&shm->n_store, 1);
	if (m->forwarded) {
		/* the slot dies with the forwarder: keep it out of the model */
		ret = capstore_node_clear(ct->c.x, ct->proc * XSLOTS + slot, 0);
		if (ret) {
			fail("clear X: %s", strerror(-ret));
			return -1;
		}
		memset(xs, 0, sizeof(*xs));
		return 0;
	}
	xs->oid = m->oid;
	xs->rights = m->rights;
	xs->kind = CAPSTORE_KIND_SEGMENT;
	ret = capstore_node_fetch(ct->c.x, ct->proc * XSLOTS + slot,
				  CAPSTORE_FD_CLOEXEC);
	if (ret < 0) {
		fail("fetch from X: %s", strerror(-ret));
		return -1;
	}
	if (capstore_cap_info(ret, &info) || info.out_oid != m->oid ||
	    info.out_rights != m->rights) {
		fail("fetched from X: not what was stored");
		close(ret);
		return -1;
	}
	close(ret);
	if (!(rnd() % 3)) {
		ret = capstore_node_clear(ct->c.x, ct->proc * XSLOTS + slot, 0);
		if (ret) {
			fail("clear X: %s", strerror(-ret));
			return -1;
		}
		memset(xs, 0, sizeof(*xs));
	}
	return 0;
}

static void *capthr_main(void *arg)
{
	struct capthr *ct = arg;
	struct capstore_cap_info info;
	unsigned int i;
	int cerr;

	rnd_init(0x2000 + ct->proc);
	for (i = 0; i < 8; i++)
		ct->held[i] = -1;
	cerr = caps_open(&ct->c);
	if (cerr) {
		fail("capability thread: open: %s", strerror(-cerr));
		return NULL;
	}
	atomic_fetch_add(&shm->ready, 1);
	while (!atomic_load(&shm->failed)) {
		struct capmsg m = { 0 };
		int fd, ret, fwdslot = 0;
		uint32_t rights;

		if (atomic_load(&shm->phase) != PH_RUN) {
			if (!park(&ct->c, capthr_drop, ct))
				break;
			continue;
		}
		/* pass one on */
		rights = CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP;
		if (rnd() % 2)
			rights |= CAPSTORE_RIGHT_GRANT;
		if (!(rnd() % 4)) {
			rights |= CAPSTORE_RIGHT_WEAK;
			atomic_fetch_add(&shm->n_weak, 1);
		}
		if (!(rnd() % 4)) {
			/* through a forwarder in this process's last X slot */
			fwdslot = (int)(ct->proc * XSLOTS + XSLOTS - 1);
			capstore_node_clear(ct->c.x, (unsigned int)fwdslot, 0);
			memset(&shm->x[ct->proc][XSLOTS - 1], 0,
			       sizeof(struct xslot));
			fd = capstore_cap_forward(ct->c.d, ct->c.x,
						  (unsigned int)fwdslot,
						  rights, CAPSTORE_FD_CLOEXEC);
			m.forwarded = 1;
			atomic_fetch_add(&shm->n_fwd, 1);
		} else {
			fd = capstore_cap_restrict(ct->c.d, rights,
						   CAPSTORE_FD_CLOEXEC);
			atomic_fetch_add(&shm->n_restrict, 1);
		}
		if (fd < 0) {
			fail("restrict/forward: %s", strerror(-fd));
			break;
		}
		capstore_cap_info(fd, &info);
		m.oid = info.out_oid;
		m.rights = rights;
		ret = send_cap(ct->tx, fd, &m);
		close(fd);
		if (!ret)
			atomic_fetch_add(&shm->n_pass, 1);
		if (fwdslot) {
			/*
			 * Kill the delegation while the peer may hold it:
			 * destroy the forwarder, or revoke it first and
			 * destroy it through the fresh capability.
			 */
			int ctl = capstore_node_fetch(ct->c.x,
						      (unsigned int)fwdslot,
						      CAPSTORE_FD_CLOEXEC);

			if (ctl < 0) {
				fail("fetch the forwarder: %s", strerror(-ctl));
				break;
			}
			if (rnd() % 2) {
				int fresh = capstore_cap_revoke(ctl,
							CAPSTORE_FD_CLOEXEC);

				close(ctl);
				if (fresh < 0) {
					fail("revoke the forwarder: %s",
					     strerror(-fresh));
					break;
				}
				atomic_fetch_add(&shm->n_revoke, 1);
				ctl = fresh;
			}
			sleep_ms((unsigned int)(rnd() % 3));
			ret = capstore_cap_destroy(ctl, 0);
			close(ctl);
			if (ret) {
				fail("destroy the forwarder: %s",
				     strerror(-ret));
				break;
			}
			atomic_fetch_add(&shm->n_destroy, 1);
			ret = capstore_node_clear(ct->c.x,
						  (unsigned int)fwdslot, 0);
			if (ret) {
				fail("clear the forwarder's slot: %s",
				     strerror(-ret));
				break;
			}
		}
		/* take what the previous process sent */
		while ((fd = recv_cap(ct->rx, &m)) >= 0) {
			if (use_received(ct, fd, &m)) {
				close(fd);
				goto out;
			}
			/* keep a few open for a while */
			i = (unsigned int)(rnd() % 8);
			if (ct->held[i] >= 0)
				close(ct->held[i]);
			ct->held[i] = fd;
		}
		sleep_ms((unsigned int)(rnd() % 5));
	}
out:
	capthr_drop(ct);
	caps_close(&ct->c);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Revoking and destroying under faults.                               */

struct revoker {
	unsigned int proc;
	struct caps c;
	uint8_t *_Atomic map;
	_Atomic int stop;
	_Atomic uint64_t toucher_bus, toucher_ok;
};

static void *toucher_main(void *arg)
{
	struct revoker *rv = arg;
	volatile uint8_t *p;
	volatile unsigned int i = 0;

	rnd_init(0x4000 + rv->proc);
	while (!atomic_load(&rv->stop)) {
		p = atomic_load(&rv->map);
		if (!p) {
			usleep(100);
			continue;
		}
		if (sigsetjmp(bus_jmp, 1)) {
			atomic_fetch_add(&rv->toucher_bus, 1);
			atomic_store(&rv->map, NULL);
			continue;
		}
		bus_armed = 1;
		p[(i++ * 64) % (2 * PAGE)] += 1;
		bus_armed = 0;
		atomic_fetch_add(&rv->toucher_ok, 1);
	}
	return NULL;
}

static void *revoker_main(void *arg)
{
	struct revoker *rv = arg;
	unsigned int slot = rv->proc;
	pthread_t toucher;
	int cerr;

	rnd_init(0x3000 + rv->proc);
	cerr = caps_open(&rv->c);
	if (cerr) {
		fail("revoker: open: %s", strerror(-cerr));
		return NULL;
	}
	atomic_fetch_add(&shm->ready, 1);
	if (pthread_create(&toucher, NULL, toucher_main, rv)) {
		fail("revoker: thread");
		return NULL;
	}
	while (!atomic_load(&shm->failed)) {
		struct capstore_cap_info info;
		int fd, fresh, ret;
		uint64_t t0;
		void *m;

		if (atomic_load(&shm->phase) != PH_RUN) {
			if (!park(&rv->c, NULL, NULL))
				break;
			continue;
		}
		fd = capstore_node_create(rv->c.s, slot, CAPSTORE_KIND_SEGMENT,
					  2 * PAGE, CAPSTORE_FD_CLOEXEC);
		if (fd < 0) {
			fail("revoker: create: %s", strerror(-fd));
			break;
		}
		ret = capstore_segment_map(fd, 0, 2 * PAGE,
					   PROT_READ | PROT_WRITE, &m);
		if (ret) {
			fail("revoker: map: %s", strerror(-ret));
			close(fd);
			break;
		}
		atomic_store(&rv->map, m);
		sleep_ms((unsigned int)(rnd() % 4));
		fresh = capstore_cap_revoke(fd, CAPSTORE_FD_CLOEXEC);
		if (fresh < 0) {
			fail("revoker: revoke: %s", strerror(-fresh));
			close(fd);
			break;
		}
		atomic_fetch_add(&shm->n_revoke, 1);
		/* the old capability is dead, its mappings fault */
		ret = capstore_cap_info(fd, &info);
		if (ret != -EKEYREVOKED) {
			fail("revoked capability still works: %s",
			     strerror(-ret));
			break;
		}
		close(fd);
		sleep_ms((unsigned int)(rnd() % 3));
		ret = capstore_cap_destroy(fresh, 0);
		close(fresh);
		if (ret) {
			fail("revoker: destroy: %s", strerror(-ret));
			break;
		}
		atomic_fetch_add(&shm->n_destroy, 1);
		/*
		 * The toucher goes on writing to the mapping until a fault
		 * gets SIGBUS: wait for that.
		 */
		t0 = now_ns();
		while (atomic_load(&rv->map) && !atomic_load(&shm->failed)) {
			if (now_ns() - t0 > 60ull * 1000000000ull) {
				fail("revoker: a mapping of a destroyed segment still works 60 s later (no SIGBUS)");
				break;
			}
			sched_yield();
		}
		if (atomic_load(&rv->map))
			break;	/* failed: unmapped once the toucher is gone */
		munmap(m, 2 * PAGE);
		ret = capstore_node_clear(rv->c.s, slot, 0);
		if (ret) {
			fail("revoker: clear: %s", strerror(-ret));
			break;
		}
	}
	atomic_store(&rv->stop, 1);
	pthread_join(toucher, NULL);
	if (atomic_load(&rv->map))
		munmap(atomic_load(&rv->map), 2 * PAGE);
	atomic_fetch_add(&shm->n_sigbus, atomic_load(&rv->toucher_bus));
	caps_close(&rv->c);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The checkpointer.                                                   */

static void *checkpointer_main(void *arg)
{
	struct caps c = { -1, -1, -1, -1, -1, 0 };
	uint64_t seq;
	int cerr;

	(void)arg;
	rnd_init(0x5000);
	cerr = caps_open(&c);
	if (cerr) {
		fail("checkpointer: open: %s", strerror(-cerr));
		return NULL;
	}
	atomic_fetch_add(&shm->ready, 1);
	while (!atomic_load(&shm->failed)) {
		int ret;

		if (atomic_load(&shm->phase) != PH_RUN) {
			if (!park(&c, NULL, NULL))
				break;
			continue;
		}
		sleep_ms((unsigned int)(rnd() % 60));
		if (rnd() % 3) {
			ret = capstore_cap_checkpoint(c.root, 0, &seq);
			if (ret) {
				fail("checkpoint: %s", strerror(-ret));
				break;
			}
			seq_returned(seq);
			atomic_fetch_add(&shm->n_cp, 1);
		} else {
			ret = capstore_section_begin(c.d, 0);
			if (!ret) {
				sleep_ms((unsigned int)(rnd() % 5));
				ret = capstore_section_end(c.d, 0);
				if (ret == -ETIMEDOUT)
					ret = 0;
			}
			if (ret) {
				fail("section: %s", strerror(-ret));
				break;
			}
			atomic_fetch_add(&shm->n_sections, 1);
		}
	}
	caps_close(&c);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* A worker process.                                                   */

static void proc_main(unsigned int p, int tx, int rx)
{
	pthread_t t[MAXW + 3];
	struct writer wr[MAXW];
	struct capthr ct = { .proc = p, .tx = tx, .rx = rx };
	struct revoker rv = { .proc = p };
	struct sigaction sa = { .sa_handler = on_sigbus };
	unsigned int i, n = 0;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	ct.c = (struct caps){ -1, -1, -1, -1, -1, 0 };
	rv.c = ct.c;
	for (i = 0; i < nwriters; i++) {
		wr[i] = (struct writer){ .w = p * nwriters + i };
		wr[i].c = ct.c;
		pthread_create(&t[n++], NULL, writer_main, &wr[i]);
	}
	pthread_create(&t[n++], NULL, capthr_main, &ct);
	pthread_create(&t[n++], NULL, revoker_main, &rv);
	if (!p)
		pthread_create(&t[n++], NULL, checkpointer_main, NULL);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* The parent: setup, pauses, checks.                                  */

static unsigned int nthreads(void)
{
	return nprocs * (nwriters + 2) + 1;
}

/* Until every thread has its capabilities open (detach says EBUSY). */
static int wait_ready(void)
{
	uint64_t t0 = now_ns();

	while (atomic_load(&shm->ready) < (int)nthreads()) {
		if (atomic_load(&shm->failed))
			return -1;
		if (now_ns() - t0 > 120ull * 1000000000ull) {
			fail("only %d of %u threads started in 120 s",
			     atomic_load(&shm->ready), nthreads());
			return -1;
		}
		sleep_ms(5);
	}
	return 0;
}

static int attach(uint32_t *id)
{
	int ret = cs_attach_path(dev, id);

	if (ret)
		return ret;
	cs_store_set(dev, "interval_ms", "50");
	return 0;
}

static int setup(uint32_t *id)
{
	char cmd[160];
	int root, fd, ret;
	unsigned int i;

	snprintf(cmd, sizeof(cmd), "capstore format --force %s >/dev/null 2>&1",
		 dev);
	if (system(cmd)) {
		fail("%s failed", cmd);
		return -1;
	}
	ret = attach(id);
	if (ret) {
		fail("attach: %s", strerror(-ret));
		return -1;
	}
	root = cs_root(*id);
	if (root < 0) {
		fail("setup: root: %s", strerror(-root));
		return -1;
	}
	for (i = 0; i < 4; i++) {
		static const unsigned int kinds[] = {
			CAPSTORE_KIND_SEGMENT, CAPSTORE_KIND_SEGMENT,
			CAPSTORE_KIND_NODE, CAPSTORE_KIND_NODE,
		};
		uint64_t size = i == SL_D ? (uint64_t)nw() * REC_PAGES * PAGE :
				i == SL_L ? (uint64_t)nw() * PAGE : 0;

		fd = capstore_node_create(root, i, kinds[i], size,
					  CAPSTORE_FD_CLOEXEC);
		if (fd < 0) {
			fail("setup: create in slot %u: %s", i, strerror(-fd));
			close(root);
			return -1;
		}
		close(fd);
	}
	ret = capstore_cap_checkpoint(root, 0, NULL);
	close(root);
	if (ret) {
		fail("setup: checkpoint: %s", strerror(-ret));
		return -1;
	}
	return 0;
}

/* Everyone closes its capabilities while detach is tried over and over. */
static int pause_and_detach(uint32_t id, unsigned int *tries)
{
	uint64_t t0 = now_ns();
	int ctl = capstore_control_open(0), ret;

	if (ctl < 0) {
		fail("control device: %s", strerror(-ctl));
		return -1;
	}
	atomic_store(&shm->parked, 0);
	atomic_store(&shm->phase, PH_PARK);
	*tries = 0;
	for (;;) {
		ret = capstore_store_detach(ctl, id, 0);
		(*tries)++;
		if (ret != -EBUSY)
			break;
		atomic_fetch_add(&shm->n_detach_busy, 1);
		if (now_ns() - t0 > 120ull * 1000000000ull) {
			fail("detach: still busy after 120 s (%d of %u threads parked)",
			     atomic_load(&shm->parked), nthreads());
			break;
		}
		if (atomic_load(&shm->failed))
			break;
		sched_yield();
	}
	close(ctl);
	if (ret && !atomic_load(&shm->failed))
		fail("detach: %s", strerror(-ret));
	return ret ? -1 : 0;
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
	ssize_t n = pread(fd, buf, len, off);

	return n == (ssize_t)len ? 0 : -1;
}

/*
 * The store against the model. @cut: after the disk dropped its writes,
 * the state is some committed checkpoint, not the last state, but no
 * older than what was durable before the cut (shm->cut_*).
 */
static int verify(uint32_t id, bool cut)
{
	static uint64_t rec[REC_PAGES * PAGE / 8], led[PAGE / 8];
	int root, d, l, x, ret = -1;
	unsigned int w, p, i;
	long long objs;

	root = cs_root(id);
	if (root < 0) {
		fail("verify: root: %s", strerror(-root));
		return -1;
	}
	d = capstore_node_fetch(root, SL_D, CAPSTORE_FD_CLOEXEC);
	l = capstore_node_fetch(root, SL_L, CAPSTORE_FD_CLOEXEC);
	x = capstore_node_fetch(root, SL_X, CAPSTORE_FD_CLOEXEC);
	if (d < 0 || l < 0 || x < 0) {
		fail("verify: fetch: %d %d %d", d, l, x);
		goto out;
	}
	for (w = 0; w < (unsigned int)nw(); w++) {
		struct wstate *ws = &shm->w[w];
		uint64_t v0, hi, lo, last = atomic_load(&ws->written);
		uint64_t n;

		if (read_all(d, rec, sizeof(rec),
			     (off_t)w * REC_PAGES * PAGE) ||
		    read_all(l, led, PAGE, (off_t)w * PAGE)) {
			fail("verify: read: %s", strerror(errno));
			goto out;
		}
		/*
		 * The record: every word v, or after a cut a prefix of words
		 * v and the rest v - 1 (the op the snapshot cut through:
		 * page by page for pwrite, word by word through the map).
		 */
		hi = lo = rec[0] & ((1ull << 48) - 1);
		for (i = 0; i < REC_PAGES * PAGE / 8; i++) {
			uint64_t v = rec[i] & ((1ull << 48) - 1);

			if ((rec[i] && rec[i] != word_of(w, v)) ||
			    v > lo || v + 1 < hi || (!cut && v != hi)) {
				fail("record %u word %u: %#" PRIx64 " after %#" PRIx64 " (first word %#" PRIx64 ")",
				     w, i, rec[i], word_of(w, lo), rec[0]);
				goto out;
			}
			lo = v;
		}
		v0 = hi;
		if (!cut && v0 != last) {
			fail("record %u holds %" PRIu64 ", last written %" PRIu64,
			     w, v0, last);
			goto out;
		}
		if (cut) {
			if (v0 > atomic_load(&ws->started)) {
				fail("record %u holds %" PRIu64 ", never written (last %" PRIu64 ")",
				     w, v0, atomic_load(&ws->started));
				goto out;
			}
			if (lo < shm->cut_durable[w]) {
				fail("record %u holds %" PRIu64 ", but %" PRIu64 " was made durable before the cut",
				     w, lo, shm->cut_durable[w]);
				goto out;
			}
		}
		/*
		 * The ledger: what the writer logged; after a cut a prefix,
		 * at least the entries an fsync made durable before it.
		 */
		n = led[0];
		if (n > atomic_load(&ws->nledger) || (!cut &&
		    n != atomic_load(&ws->nledger)) ||
		    (cut && n < shm->cut_nledger[w])) {
			fail("ledger %u: %" PRIu64 " entries, the writer logged %" PRIu64 " (%" PRIu64 " durable before the cut)",
			     w, n, atomic_load(&ws->nledger),
			     cut ? shm->cut_nledger[w] : 0);
			goto out;
		}
		for (i = 0; i < n && i < LEDGER_MAX; i++) {
			if (led[2 + 2 * i] != ws->ledger_seq[i] ||
			    led[3 + 2 * i] != ws->ledger_v[i]) {
				fail("ledger %u entry %u: (%" PRIu64 ", %" PRIu64 "), logged (%" PRIu64 ", %" PRIu64 ")",
				     w, i, led[2 + 2 * i], led[3 + 2 * i],
				     ws->ledger_seq[i], ws->ledger_v[i]);
				goto out;
			}
			if (led[3 + 2 * i] > lo) {
				fail("ledger %u entry %u: value %" PRIu64 " durable, record holds %" PRIu64,
				     w, i, led[3 + 2 * i], lo);
				goto out;
			}
		}
	}
	if (cut) {
		long long seq = cs_store_get(dev, "seq");

		if (seq < (long long)shm->cut_seq) {
			fail("recovered checkpoint %lld, but checkpoint %" PRIu64 " had returned before the cut",
			     seq, shm->cut_seq);
			goto out;
		}
		note("after the cut: checkpoint %lld (%" PRIu64 " had returned before it)",
		     seq, shm->cut_seq);
	} else {
		for (p = 0; p < nprocs; p++) {
			for (i = 0; i < XSLOTS; i++) {
				struct xslot *xs = &shm->x[p][i];
				struct capstore_cap_info info;
				int fd = capstore_node_fetch(x, p * XSLOTS + i,
							     CAPSTORE_FD_CLOEXEC);

				if (!xs->kind && fd == -ENOENT)
					continue;
				if (fd < 0 || capstore_cap_info(fd, &info) ||
				    info.out_oid != xs->oid ||
				    info.out_rights != xs->rights) {
					fail("X slot %u: not what process %u stored (%d)",
					     p * XSLOTS + i, p, fd);
					if (fd >= 0)
						close(fd);
					goto out;
				}
				close(fd);
			}
		}
		/* the root, D, L, X, S: everything else was destroyed */
		objs = cs_store_get(dev, "objects");
		if (objs != 5) {
			fail("%lld objects, expected 5 (a created object leaked or one too many went)",
			     objs);
			goto out;
		}
	}
	ret = 0;
out:
	if (d >= 0)
		close(d);
	if (l >= 0)
		close(l);
	if (x >= 0)
		close(x);
	close(root);
	return ret;
}

/* fsck: its verdict, or everything it said if it failed. */
static int fsck_dev(const char *path)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd),
		 "out=$(capstore fsck %s 2>&1); rc=$?; "
		 "if [ $rc = 0 ]; then out=$(echo \"$out\" | tail -n 1); fi; "
		 "echo \"$out\" | sed 's/^/# /' >&2; exit $rc",
		 path);
	if (system(cmd)) {
		fail("capstore fsck %s failed", path);
		return -1;
	}
	return 0;
}

static int dm_setup(void)
{
	char params[128];
	int ret;

	snprintf(base_dev, sizeof(base_dev), "%s", dev);
	if (access(CS_DM_CONTROL, F_OK))
		return 0;
	dev_sectors = cs_dev_sectors(base_dev);
	cs_dm_remove("cs-stress");
	snprintf(params, sizeof(params), "%s 0", base_dev);
	ret = cs_dm_create("cs-stress", (uint64_t)dev_sectors, "linear",
			   params, dm_dev, sizeof(dm_dev));
	if (ret) {
		note("no dm-linear (%s): no cut at the end", strerror(-ret));
		return 0;
	}
	on_dm = true;
	dev = dm_dev;
	return 0;
}

static int dm_drop_writes(void)
{
	struct cs_dm_target t = {
		.start = 0, .len = (uint64_t)dev_sectors, .type = "flakey",
	};
	int ret;

	snprintf(t.params, sizeof(t.params), "%s 0 0 1 1 drop_writes",
		 base_dev);
	ret = cs_dm_reload("cs-stress", &t, 1);
	if (ret)
		fail("dm-flakey drop_writes: %s", strerror(-ret));
	return ret;
}

/*
 * --detach-race N: N times, threads close their capabilities at the same
 * moment as detach is called over and over; attach again at once. The
 * last close's final fput may still be tearing the store's super_block
 * down when detach sees no capability open (its ->release has run): detach
 * must wait for it (KASAN reported the store used after it was freed, or
 * the device stayed busy, before it did).
 */
struct racer {
	pthread_t t;
	uint32_t id;
	_Atomic int *go;
	_Atomic int *opened;
	int ret;
};

static void *racer_main(void *arg)
{
	struct racer *r = arg;
	int root = cs_root(r->id), d = -1;

	if (root >= 0)
		d = capstore_node_fetch(root, SL_D, CAPSTORE_FD_CLOEXEC);
	r->ret = root < 0 ? root : d < 0 ? d : 0;
	atomic_fetch_add(r->opened, 1);
	while (!atomic_load(r->go))
		;
	if (d >= 0)
		close(d);
	if (root >= 0)
		close(root);
	return NULL;
}

static int detach_race(unsigned int iters)
{
	enum { NRACERS = 4 };
	struct racer r[NRACERS];
	unsigned int i, j, busy = 0;
	_Atomic int go, opened;
	uint32_t id;
	int ctl, ret;

	if (setup(&id))
		return -1;
	ctl = capstore_control_open(0);
	if (ctl < 0) {
		fail("control device: %s", strerror(-ctl));
		return -1;
	}
	for (i = 0; i < iters && !atomic_load(&shm->failed); i++) {
		atomic_store(&go, 0);
		atomic_store(&opened, 0);
		for (j = 0; j < NRACERS; j++) {
			r[j] = (struct racer){ .id = id, .go = &go,
					       .opened = &opened };
			pthread_create(&r[j].t, NULL, racer_main, &r[j]);
		}
		while (atomic_load(&opened) < NRACERS)
			sched_yield();
		atomic_store(&go, 1);
		while ((ret = capstore_store_detach(ctl, id, 0)) == -EBUSY)
			busy++;
		for (j = 0; j < NRACERS; j++) {
			pthread_join(r[j].t, NULL);
			if (r[j].ret)
				fail("race %u: open: %s", i, strerror(-r[j].ret));
		}
		if (ret) {
			fail("race %u: detach: %s", i, strerror(-ret));
			break;
		}
		/* the device is free the moment detach returns */
		ret = cs_attach_path(dev, &id);
		if (ret) {
			fail("race %u: attach right after detach: %s", i,
			     strerror(-ret));
			break;
		}
	}
	close(ctl);
	note("detach race: %u rounds, detach said EBUSY %u times", i, busy);
	if (!atomic_load(&shm->failed))
		cs_detach(id);
	return atomic_load(&shm->failed) ? -1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: stress [--secs N] [--procs N] [--writers N] [--cycle SECS] [--seed N]\n"
		"       stress --detach-race N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "secs", 1, NULL, 's' }, { "procs", 1, NULL, 'p' },
		{ "writers", 1, NULL, 'w' }, { "cycle", 1, NULL, 'c' },
		{ "seed", 1, NULL, 'S' }, { "detach-race", 1, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	int socks[MAXP][2], pids[MAXP] = { 0 }, c, status;
	unsigned int p, cycles = 0, tries, total_tries = 0, race = 0;
	uint64_t t_end;
	uint32_t id;
	const char *env = getenv("CS_STRESS_SECS");

	if (env && *env)
		secs = (unsigned int)strtoul(env, NULL, 10);
	seed = (uint64_t)time(NULL);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': secs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'p': nprocs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'w': nwriters = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'c': cycle_secs = (unsigned int)strtoul(optarg, NULL, 0); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'r': race = (unsigned int)strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (nprocs < 2 || nprocs > MAXP || !nwriters ||
	    nprocs * nwriters > MAXW || !cycle_secs)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n1..1\n");
	if (!race)
		note("stress: %u s, %u processes x (%u writers, a capability thread, a revoker), seed %" PRIu64,
		     secs, nprocs, nwriters, seed);
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		return 1;
	dev = cs_test_dev();
	cs_detach_stale();
	if (race) {
		if (detach_race(race)) {
			printf("not ok 1 detach-race # %s\n", shm->why);
			return 1;
		}
		printf("ok 1 detach-race\n");
		return 0;
	}
	dm_setup();
	if (setup(&id))
		goto report;
	atomic_store(&shm->store_id, id);
	for (p = 0; p < nprocs; p++)
		if (socketpair(AF_UNIX, SOCK_DGRAM, 0, socks[p]))
			return 1;
	for (p = 0; p < nprocs; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			fail("fork: %s", strerror(errno));
			goto stop;
		}
		if (!pids[p]) {
			/* send to the next process, receive from the previous */
			proc_main(p, socks[(p + 1) % nprocs][0], socks[p][1]);
		}
	}
	if (wait_ready())
		goto stop;
	t_end = now_ns() + (uint64_t)secs * 1000000000ull;
	while (!atomic_load(&shm->failed)) {
		uint64_t next = now_ns() + (uint64_t)cycle_secs * 1000000000ull;
		bool last = next >= t_end;
		int ctl = capstore_control_open(0);

		if (last)
			next = t_end;
		/* run; detach now and then, which must say EBUSY */
		while (now_ns() < next && !atomic_load(&shm->failed)) {
			int ret = capstore_store_detach(ctl, id, 0);

			if (ret != -EBUSY) {
				fail("detach while in use: %s",
				     ret ? strerror(-ret) : "succeeded");
				break;
			}
			atomic_fetch_add(&shm->n_detach_busy, 1);
			sleep_ms(200 + (unsigned int)(cs_mix(now_ns()) % 300));
		}
		close(ctl);
		if (atomic_load(&shm->failed))
			break;
		if (last && on_dm) {
			/*
			 * The power goes: the disk keeps nothing from now on.
			 * What was durable before must survive it.
			 */
			for (p = 0; p < (unsigned int)nw(); p++) {
				shm->cut_durable[p] =
					atomic_load(&shm->w[p].durable);
				shm->cut_nledger[p] =
					atomic_load(&shm->w[p].durable_nledger);
			}
			shm->cut_seq = atomic_load(&shm->seq_max);
			if (dm_drop_writes())
				break;
			sleep_ms(1500);
		}
		if (pause_and_detach(id, &tries))
			break;
		total_tries += tries;
		cycles++;
		if (last) {
			atomic_store(&shm->phase, PH_STOP);
			break;
		}
		if (fsck_dev(dev))
			break;
		if (attach(&id)) {
			fail("attach after a pause");
			break;
		}
		atomic_store(&shm->store_id, id);
		if (verify(id, false))
			break;
		note("cycle %u: detached after %u tries, verified", cycles,
		     tries);
		atomic_fetch_add(&shm->gen, 1);
		atomic_store(&shm->ready, 0);
		atomic_store(&shm->phase, PH_RUN);
		if (wait_ready())
			break;
	}
stop:
	atomic_store(&shm->phase, PH_STOP);
	for (p = 0; p < nprocs; p++) {
		if (pids[p] <= 0)
			continue;
		waitpid(pids[p], &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail("process %u died (status %#x)", p, status);
	}
	if (atomic_load(&shm->failed))
		goto report;
	if (cs_store_id_of(dev) >= 0) {
		fail("still attached at the end");
		goto report;
	}
	if (on_dm) {
		int ret = cs_dm_remove("cs-stress");

		if (ret) {
			fail("dm remove: %s", strerror(-ret));
			goto report;
		}
		dev = base_dev;
	}
	if (fsck_dev(dev))
		goto report;
	{
		int ret = attach(&id);

		if (ret) {
			fail("final attach: %s", strerror(-ret));
			goto report;
		}
	}
	if (!verify(id, on_dm))
		note("final: %s", on_dm ?
		     "the plain disk after the cut is one committed checkpoint of the model" :
		     "the store is the model");
	cs_detach(id);
report:
	note("%u cycles (detach tried %u times while closing), %" PRIu64 " writes, %" PRIu64 " fsync, %" PRIu64 " checkpoints",
	     cycles, total_tries, atomic_load(&shm->n_write),
	     atomic_load(&shm->n_fsync), atomic_load(&shm->n_cp));
	note("%" PRIu64 " capabilities passed (%" PRIu64 " received, %" PRIu64 " weak), %" PRIu64 " restricted, %" PRIu64 " forwarded, %" PRIu64 " stored",
	     atomic_load(&shm->n_pass), atomic_load(&shm->n_recv),
	     atomic_load(&shm->n_weak), atomic_load(&shm->n_restrict),
	     atomic_load(&shm->n_fwd), atomic_load(&shm->n_store));
	note("%" PRIu64 " revoked, %" PRIu64 " destroyed, %" PRIu64 " SIGBUS on revoked maps, %" PRIu64 " sections, %" PRIu64 " detach EBUSY",
	     atomic_load(&shm->n_revoke), atomic_load(&shm->n_destroy),
	     atomic_load(&shm->n_sigbus), atomic_load(&shm->n_sections),
	     atomic_load(&shm->n_detach_busy));
	if (atomic_load(&shm->failed)) {
		printf("not ok 1 stress # %s\n", shm->why);
		for (p = 0; p < nprocs; p++)
			if (pids[p] > 0)
				kill(pids[p], SIGKILL);
		if (on_dm)
			cs_dm_remove("cs-stress");
		return 1;
	}
	printf("ok 1 stress\n");
	return 0;
}
