// SPDX-License-Identifier: GPL-2.0
/*
 * forward - selective revocation through revocable forwarders.
 *
 * A capability delegated through a forwarder acts on the same object with
 * the rights given; destroying or revoking the forwarder kills every
 * capability made through it (open, stored, passed to another process,
 * mapped) and nothing else. Chains of forwarders, the depth limit, rights
 * rules, and persistence across a power cut (phases persist_write,
 * persist_verify, persist_dead, picked by the scenario).
 * Fixtures "cut" and "cut_storm" cut a delegation while it is in use
 * (see "Cutting a delegation while it is in use" below).
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"
#include "cs_revoke.h"

#define R	CAPSTORE_RIGHT_READ
#define W	CAPSTORE_RIGHT_WRITE
#define M	CAPSTORE_RIGHT_MAP
#define G	CAPSTORE_RIGHT_GRANT
#define D	CAPSTORE_RIGHT_DESTROY

FIXTURE(fwd) {
	uint32_t id;
	int root;
	int seg;	/* slot 0 */
};

FIXTURE_SETUP(fwd)
{
	unsigned int i;

	self->root = self->seg = -1;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++)
		capstore_node_clear(self->root, i, 0);
	self->seg = capstore_node_create(self->root, 0, CAPSTORE_KIND_SEGMENT,
					 16384, 0);
	ASSERT_LE(0, self->seg);
	ASSERT_EQ(5, capstore_segment_pwrite(self->seg, "hello", 5, 0));
}

FIXTURE_TEARDOWN(fwd)
{
	if (self->seg >= 0)
		close(self->seg);
	if (self->root >= 0)
		close(self->root);
	EXPECT_EQ(0, cs_detach(self->id));
}

static int cap_rights(int fd)
{
	struct capstore_cap_info info;
	int err = capstore_cap_info(fd, &info);

	return err < 0 ? err : (int)info.out_rights;
}

TEST_F(fwd, acts_on_the_target)
{
	struct capstore_cap_info a, b;
	char buf[8] = "";
	void *p;
	int f;

	f = capstore_cap_forward(self->seg, self->root, 1, R | M, 0);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_cap_info(f, &a));
	ASSERT_EQ(0, capstore_cap_info(self->seg, &b));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, a.out_kind);
	EXPECT_EQ((uint32_t)(R | M), a.out_rights);
	EXPECT_EQ((uint32_t)CAPSTORE_CAP_FORWARDED, a.out_flags);
	EXPECT_EQ(0u, b.out_flags);
	EXPECT_EQ(b.out_oid, a.out_oid);
	EXPECT_EQ(5, capstore_segment_pread(f, buf, 5, 0));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	EXPECT_EQ(-EBADF, capstore_segment_pwrite(f, "x", 1, 0));
	ASSERT_EQ(0, capstore_segment_map(f, 0, 4096, PROT_READ, &p));
	EXPECT_EQ(0, memcmp(p, "hello", 5));
	/* Writes through the original show through the forwarder. */
	ASSERT_EQ(5, capstore_segment_pwrite(self->seg, "HELLO", 5, 0));
	EXPECT_EQ(0, memcmp(p, "HELLO", 5));
	munmap(p, 4096);
	/* The control capability sits in slot 1. */
	{
		unsigned int kind, rights;
		int ctl = capstore_node_fetch_info(self->root, 1, 0, &kind,
						   &rights);

		ASSERT_LE(0, ctl);
		EXPECT_EQ((unsigned int)CAPSTORE_KIND_FORWARDER, kind);
		EXPECT_EQ((unsigned int)CAPSTORE_RIGHTS_ALL, rights);
		/* A forwarder is not a node. */
		EXPECT_EQ(-ENOTTY, capstore_cap_forward(f, ctl, 0, R, 0));
		close(ctl);
	}
	close(f);
}

TEST_F(fwd, rights_rules)
{
	int ro, weak, f;

	EXPECT_EQ(-EPERM, capstore_cap_forward(self->seg, self->root, 1,
					       R | D, 0));
	ro = capstore_cap_restrict(self->seg, R | M, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, capstore_cap_forward(ro, self->root, 1, R | W, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_forward(ro, self->root, 32, R, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_forward(ro, self->root, 1, 1u << 20, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_forward(ro, self->root, 1, R, 4));
	EXPECT_EQ(-EEXIST, capstore_cap_forward(ro, self->root, 0, R, 0));
	EXPECT_EQ(-ENOTTY, capstore_cap_forward(ro, self->seg, 1, R, 0));
	EXPECT_EQ(-EBADF, capstore_cap_forward(ro, -1, 1, R, 0));
	/* Nothing was left behind by the failures. */
	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->root, 1, 0));

	weak = capstore_cap_restrict(ro, R | CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	EXPECT_EQ(-EPERM, capstore_cap_forward(weak, self->root, 1, R, 0));
	f = capstore_cap_forward(weak, self->root, 1,
				 R | CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, f);
	EXPECT_EQ((int)(R | CAPSTORE_RIGHT_WEAK), cap_rights(f));
	/* A forwarded capability never destroys nor revokes its target. */
	EXPECT_EQ(-EPERM, capstore_cap_destroy(f, 0));
	EXPECT_EQ(-EPERM, capstore_cap_revoke(f, 0));
	/* Restricting it keeps it forwarded, and rights never grow. */
	EXPECT_EQ(-EPERM, capstore_cap_restrict(f, R | M |
						CAPSTORE_RIGHT_WEAK, 0));
	close(f);
	close(weak);
	close(ro);
}

static sigjmp_buf fault_jmp;

static void on_sigbus(int sig)
{
	siglongjmp(fault_jmp, 1);
}

/* Does reading @p fault? */
static int faults(const volatile char *p)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;
	int faulted = 0;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(fault_jmp, 1))
		faulted = 1;
	else
		(void)*p;
	sigaction(SIGBUS, &old, NULL);
	return faulted;
}

static void send_fd(int sock, int fd)
{
	char data = 'f', cbuf[CMSG_SPACE(sizeof(int))] = "";
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		abort();
}

static int recv_fd(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * The delegate, in another process, maps the forwarded capability; the
 * delegator destroys the forwarder: the delegate's mapping faults, its fd
 * and the copy stored in a slot are dead; the delegator's own capability
 * and the object's data are untouched.
 */
TEST_F(fwd, destroy_revokes_the_delegation)
{
	int sv[2], f, ctl, status;
	char go, buf[8] = "";
	pid_t pid;

	f = capstore_cap_forward(self->seg, self->root, 1, R | M, 0);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_node_store(self->root, 2, f, 0));
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		char c;
		void *p;
		int fd;

		close(sv[0]);
		fd = recv_fd(sv[1]);
		if (fd < 0 || capstore_segment_map(fd, 0, 4096, PROT_READ, &p))
			_exit(10);
		if (faults(p) || memcmp(p, "hello", 5))
			_exit(11);
		if (write(sv[1], "m", 1) != 1 || read(sv[1], &c, 1) != 1)
			_exit(12);
		/* The forwarder is gone now. */
		if (!faults(p))
			_exit(13);
		if (capstore_segment_pread(fd, &c, 1, 0) != -EKEYREVOKED)
			_exit(14);
		if (capstore_segment_map(fd, 0, 4096, PROT_READ, &p) !=
		    -EKEYREVOKED)
			_exit(15);
		_exit(0);
	}
	close(sv[1]);
	send_fd(sv[0], f);
	ASSERT_EQ(1, read(sv[0], &go, 1));

	ctl = capstore_node_fetch(self->root, 1, 0);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, capstore_cap_destroy(ctl, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_info(ctl, &(struct capstore_cap_info){}));
	close(ctl);
	ASSERT_EQ(1, write(sv[0], "g", 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	close(sv[0]);

	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(f, buf, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->root, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->root, 2, 0));
	close(f);
	/* The delegator keeps everything. */
	EXPECT_EQ(5, capstore_segment_pread(self->seg, buf, 5, 0));
	EXPECT_EQ(0, memcmp(buf, "hello", 5));
	f = capstore_node_fetch(self->root, 0, 0);
	EXPECT_LE(0, f);
	close(f);
}

TEST_F(fwd, revoke_the_forwarder)
{
	int f, ctl, fresh, g;
	char c;

	f = capstore_cap_forward(self->seg, self->root, 1, R, 0);
	ASSERT_LE(0, f);
	ctl = capstore_node_fetch(self->root, 1, 0);
	ASSERT_LE(0, ctl);
	fresh = capstore_cap_revoke(ctl, 0);
	ASSERT_LE(0, fresh);
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(f, &c, 1, 0));
	/* The old control capability in the slot is dead; the fresh one
	 * controls a forwarder that forwards nothing usable any more: the
	 * delegation is over either way.
	 */
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->root, 1, 0));
	EXPECT_EQ(0, capstore_cap_destroy(fresh, 0));
	g = capstore_node_fetch(self->root, 0, 0);
	EXPECT_LE(0, g);
	close(g);
	close(fresh);
	close(ctl);
	close(f);
}

/* Chains: A forwards the segment, B forwards what A gave. */
TEST_F(fwd, chains)
{
	int a, b, c, ctl_a, ctl_b, fds[5], i;
	char ch;

	a = capstore_cap_forward(self->seg, self->root, 1, R | M, 0);
	ASSERT_LE(0, a);
	b = capstore_cap_forward(a, self->root, 2, R, 0);
	ASSERT_LE(0, b);
	EXPECT_EQ(1, capstore_segment_pread(b, &ch, 1, 0));
	ASSERT_EQ(0, capstore_node_store(self->root, 3, b, 0));
	c = capstore_node_fetch(self->root, 3, 0);
	ASSERT_LE(0, c);
	EXPECT_EQ(1, capstore_segment_pread(c, &ch, 1, 0));

	/* Killing the inner forwarder (B) leaves A's delegation. */
	ctl_b = capstore_node_fetch(self->root, 2, 0);
	ASSERT_LE(0, ctl_b);
	ASSERT_EQ(0, capstore_cap_destroy(ctl_b, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(b, &ch, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(c, &ch, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->root, 3, 0));
	EXPECT_EQ(1, capstore_segment_pread(a, &ch, 1, 0));
	close(b);
	close(c);
	close(ctl_b);

	/* Killing the outer one kills everything below it. */
	ASSERT_EQ(0, capstore_node_clear(self->root, 2, 0));
	b = capstore_cap_forward(a, self->root, 2, R, 0);
	ASSERT_LE(0, b);
	ctl_a = capstore_node_fetch(self->root, 1, 0);
	ASSERT_LE(0, ctl_a);
	ASSERT_EQ(0, capstore_cap_destroy(ctl_a, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(a, &ch, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(b, &ch, 1, 0));
	close(ctl_a);
	close(a);
	close(b);

	/* Four deep at most. */
	fds[0] = self->seg;
	for (i = 1; i < 5; i++) {
		fds[i] = capstore_cap_forward(fds[i - 1], self->root, 10 + i,
					      R, 0);
		ASSERT_LE(0, fds[i]) TH_LOG("depth %d", i);
	}
	EXPECT_EQ(-ELOOP, capstore_cap_forward(fds[4], self->root, 20, R, 0));
	EXPECT_EQ(1, capstore_segment_pread(fds[4], &ch, 1, 0));
	for (i = 1; i < 5; i++)
		close(fds[i]);
}

/* A forwarded node: what is fetched through it is the node's own. */
TEST_F(fwd, forwarded_node)
{
	int node, f, got, ctl;
	char ch;

	node = capstore_node_create(self->root, 5, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, node);
	ASSERT_EQ(0, capstore_node_store(node, 0, self->seg, 0));
	f = capstore_cap_forward(node, self->root, 6, R | G, 0);
	ASSERT_LE(0, f);
	EXPECT_EQ(-EPERM, capstore_node_store(f, 1, self->seg, 0));
	got = capstore_node_fetch(f, 0, 0);
	ASSERT_LE(0, got);
	ctl = capstore_node_fetch(self->root, 6, 0);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, capstore_cap_destroy(ctl, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(f, 0, 0));
	EXPECT_EQ(1, capstore_segment_pread(got, &ch, 1, 0));
	close(got);
	close(ctl);
	close(f);
	close(node);
}

/* ---------------------------- cutting a delegation while it is in use */

/*
 * caps_revoke.c's test, for a delegation: each round makes a segment,
 * delegates it through a forwarder (control capability in CUT_CTL_SLOT),
 * stores the delegation in CUT_COPY_SLOT, and starts four workers:
 *
 *   T1  a thread that maps the segment through a restriction of the
 *       delegation and touches every page in a loop (loads, or stores in
 *       the "writers" variants), zapping its page tables after each pass;
 *   T2  a thread that preads every page (or pwrites the whole segment)
 *       through the delegation stored in the slot and fetched back;
 *   P   a child process that received a restriction of the delegation
 *       over a unix socket (SCM_RIGHTS), maps it and touches every page
 *       in a loop, like T1;
 *   D   a thread that stores into every page through a mapping made with
 *       the direct capability (not delegated), zapping its page tables
 *       after each pass, before and after the cut.
 *
 * Once every worker is going, the test destroys the forwarder, or revokes
 * it, through the control capability, and sets the flag the moment the
 * call returns (cs_revoke.h). From then on:
 *
 *   - every access T1, T2 or P starts after it saw the flag fails: SIGBUS
 *     for mapped pages (T1 and P stop zapping, so a page table entry left
 *     behind by the cut would let the next access through and be
 *     counted), EKEYREVOKED for the calls;
 *   - every access of D succeeds, before and after: the cut unmapped the
 *     object, D's mapping faults its pages back in;
 *   - the object read through the direct capability right after the call
 *     and again when the workers have stopped is the same, D's words
 *     aside: no write through the delegation landed after the call
 *     returned. D's words hold what its last pass stored, the words
 *     nobody writes their first pattern (all of them but D's for the
 *     readers), and the direct capability still writes, by pwrite and
 *     through a new mapping;
 *   - the delegation is dead everywhere: every open capability made
 *     through the forwarder (EKEYREVOKED on every call, including
 *     forwarding it again), the child's copy in the child, the stored
 *     delegation and the old control capability (slots and fd); the
 *     direct capability and its slot live;
 *   - once everything is closed and the segment (and the revoked
 *     forwarder, through its fresh control capability) destroyed:
 *     open_caps, objects, dirty_bytes and free_blocks are back to where
 *     they were (after a checkpoint), the process has the fds it started
 *     with, and the store detaches.
 *
 * Variants: destroy or revoke the forwarder, with readers or writers.
 */
#define CUT_PAGES	64
#define CUT_SIZE	(CUT_PAGES * 4096)
#define CUT_ROUNDS	2
#define CUT_SEG_SLOT	23	/* the segment, direct */
#define CUT_CTL_SLOT	24	/* the forwarder's control capability */
#define CUT_COPY_SLOT	25	/* the delegation, stored */
#define CUT_SPARE_SLOT	26	/* forwarding a dead delegation, refused */

/* The word of each page a worker touches. */
enum { WORD_T1 = 1, WORD_T2 = 2, WORD_P = 3, WORD_D = 4 };
#define TAG_D	(4ull << 56)

enum { T1, T2, P, DT, NWORKERS };
static const char *const wname[NWORKERS] = {
	"delegated mapping thread", "delegated syscall thread",
	"delegated mapping process", "direct mapping thread",
};


/*
 * D: store @tag | pass into word @word of every page of @map, zapping the
 * page tables after each pass, until told to stop. Every access must
 * succeed; a fault is a violation. The last pass is always complete, so
 * the words hold @tag | (passes - 1) once it stopped.
 */
static void direct_loop(struct shared *sh, struct worker *w,
			volatile uint64_t *map, long npages,
			unsigned int word, uint64_t tag)
{
	volatile long i;
	int sig;

	atomic_store(&w->ready, 1);
	while (!atomic_load(&sh->stop)) {
		int f0 = atomic_load(&sh->revoked);
		uint64_t n = atomic_load(&w->passes);

		for (i = 0; i < npages; i++) {
			int f = atomic_load(&sh->revoked);

			tl_armed = 1;
			sig = sigsetjmp(tl_jb, 0);
			if (!sig) {
				map[i * WORDS + word] = tag | n;
				tl_armed = 0;
				atomic_fetch_add(f ? &w->ok_after :
						 &w->ok_before, 1);
			} else {
				violation(w, i);
				atomic_store(&w->last_errno, -sig);
			}
		}
		madvise((void *)map, npages * 4096, MADV_DONTNEED);
		atomic_fetch_add(&w->passes, 1);
		if (f0)
			atomic_fetch_add(&w->passes_after, 1);
	}
}

struct cut_targ {
	struct shared *sh;
	int fd;
	int who;	/* T1, T2 or DT */
	int write;
	long npages;
};

static void *cut_thread(void *p)
{
	struct cut_targ *t = p;
	struct worker *w = &t->sh->w[t->who];
	size_t size = t->npages * 4096;
	void *map;

	if (t->who == T2) {
		syscall_loop(t->sh, w, t->fd, t->npages, t->write, WORD_T2,
			     2ull << 56);
		return NULL;
	}
	map = mmap(NULL, size, PROT_READ | (t->write ? PROT_WRITE : 0),
		   MAP_SHARED, t->fd, 0);
	if (map == MAP_FAILED) {
		atomic_store(&w->last_errno, errno);
		atomic_fetch_add(&w->other, 1);
		atomic_store(&w->ready, 1);
		return NULL;
	}
	if (t->who == DT)
		direct_loop(t->sh, w, map, t->npages, WORD_D, TAG_D);
	else
		touch_loop(t->sh, w, map, t->npages, t->write, WORD_T1,
			   1ull << 56);
	munmap(map, size);
	return NULL;
}

/*
 * P: receive the delegation on @sock, map it, touch it until told to
 * stop; then its capability must be dead here too. Exits non-zero on
 * anything unexpected.
 */
static void __attribute__((noreturn))
cut_child(struct shared *sh, int sock, int wr)
{
	struct capstore_cap_info info;
	volatile uint64_t *map;
	uint64_t v;
	void *p;
	int fd;

	/* A test that failed half-way does not leave it running. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (fd = 3; fd < 1024; fd++)
		if (fd != sock)
			close(fd);
	fd = recv_fd(sock);
	close(sock);
	if (fd < 0 || capstore_cap_info(fd, &info) ||
	    info.out_flags != CAPSTORE_CAP_FORWARDED)
		_exit(2);
	map = mmap(NULL, CUT_SIZE, PROT_READ | (wr ? PROT_WRITE : 0),
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		atomic_store(&sh->w[P].last_errno, errno);
		atomic_fetch_add(&sh->w[P].other, 1);
		atomic_store(&sh->w[P].ready, 1);
		_exit(3);
	}
	touch_loop(sh, &sh->w[P], map, CUT_PAGES, wr, WORD_P, 3ull << 56);
	munmap((void *)map, CUT_SIZE);
	if (pread(fd, &v, 8, 0) != -1 || errno != EKEYREVOKED)
		_exit(4);
	if (capstore_segment_map(fd, 0, 4096, PROT_READ, &p) != -EKEYREVOKED)
		_exit(5);
	if (capstore_cap_info(fd, &info) != -EKEYREVOKED)
		_exit(6);
	close(fd);
	_exit(0);
}

FIXTURE(cut) {
	uint32_t id;
	int root;
	int fds0;
};

FIXTURE_VARIANT(cut) {
	int destroy;	/* destroy the forwarder, else revoke it */
	int write;	/* the workers write, else read */
};

FIXTURE_VARIANT_ADD(cut, destroy_readers) { .destroy = 1, .write = 0 };
FIXTURE_VARIANT_ADD(cut, destroy_writers) { .destroy = 1, .write = 1 };
FIXTURE_VARIANT_ADD(cut, revoke_readers) { .destroy = 0, .write = 0 };
FIXTURE_VARIANT_ADD(cut, revoke_writers) { .destroy = 0, .write = 1 };

static void cut_clear_slots(int root)
{
	capstore_node_clear(root, CUT_SEG_SLOT, 0);
	capstore_node_clear(root, CUT_CTL_SLOT, 0);
	capstore_node_clear(root, CUT_COPY_SLOT, 0);
	capstore_node_clear(root, CUT_SPARE_SLOT, 0);
}

FIXTURE_SETUP(cut)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	/* No scheduled checkpoint in the middle of the measurements. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "0"));
	/* The root node's page gets its block now, not in the first round. */
	cut_clear_slots(self->root);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	self->fds0 = count_fds();
	catch_faults();
}

FIXTURE_TEARDOWN(cut)
{
	if (self->root >= 0) {
		cut_clear_slots(self->root);
		close(self->root);
	}
	EXPECT_EQ(self->fds0 - 1, count_fds());
	EXPECT_EQ(0, store_get("open_caps"));
	/* No reference left behind: the store detaches. */
	EXPECT_EQ(0, cs_detach(self->id));
}

static int forwarded(int fd)
{
	struct capstore_cap_info info;

	if (capstore_cap_info(fd, &info))
		return -1;
	return info.out_flags == CAPSTORE_CAP_FORWARDED;
}

static void cut_round(struct __test_metadata *_metadata,
		      const FIXTURE_VARIANT(cut) *variant, int root, int round)
{
	unsigned int fr = variant->write ? R | W | M : R | M;
	int wr = variant->write, seg, f, ctl, nctl = -1, a, b, c, d, fd;
	int sv[2], st, i, k;
	struct leak_mark mark;
	struct capstore_cap_info info;
	struct cut_targ ta[NWORKERS];
	pthread_t th[NWORKERS];
	uint64_t *buf, *snap, *got, v, last_d;
	volatile uint64_t *map;
	struct shared *sh;
	pid_t pid;

	/* Before: a committed, quiet store. */
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));
	leak_mark(&mark);

	seg = capstore_node_create(root, CUT_SEG_SLOT, CAPSTORE_KIND_SEGMENT,
				   CUT_SIZE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	buf = malloc(CUT_SIZE);
	snap = malloc(CUT_SIZE);
	got = malloc(CUT_SIZE);
	ASSERT_TRUE(buf && snap && got);
	for (i = 0; i < CUT_PAGES * WORDS; i++)
		buf[i] = pattern(i / WORDS, i % WORDS);
	ASSERT_EQ(CUT_SIZE, capstore_segment_pwrite(seg, buf, CUT_SIZE, 0));

	/* The delegation, stored, and the capabilities the workers use. */
	f = capstore_cap_forward(seg, root, CUT_CTL_SLOT, fr,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_node_store(root, CUT_COPY_SLOT, f, 0));
	a = capstore_cap_restrict(f, fr, CAPSTORE_FD_CLOEXEC);
	b = capstore_node_fetch(root, CUT_COPY_SLOT, CAPSTORE_FD_CLOEXEC);
	c = capstore_cap_restrict(f, fr, CAPSTORE_FD_CLOEXEC);
	d = capstore_cap_restrict(seg, R | W | M, CAPSTORE_FD_CLOEXEC);
	ctl = capstore_node_fetch(root, CUT_CTL_SLOT, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, c);
	ASSERT_LE(0, d);
	ASSERT_LE(0, ctl);
	EXPECT_EQ(1, forwarded(a));
	EXPECT_EQ(1, forwarded(b));
	EXPECT_EQ(1, forwarded(c));
	EXPECT_EQ(0, forwarded(d));
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, NULL));

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);
	for (i = 0; i < NWORKERS; i++)
		atomic_store(&sh->w[i].first_violation, -1);

	/* P: another process, given the delegation over a socket. */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		cut_child(sh, sv[1], wr);
	close(sv[1]);
	send_fd(sv[0], c);
	close(sv[0]);
	close(c);

	ta[T1] = (struct cut_targ){ sh, a, T1, wr, CUT_PAGES };
	ta[T2] = (struct cut_targ){ sh, b, T2, wr, CUT_PAGES };
	ta[DT] = (struct cut_targ){ sh, d, DT, 1, CUT_PAGES };
	for (i = 0; i < NWORKERS; i++)
		if (i != P)
			ASSERT_EQ(0, pthread_create(&th[i], NULL, cut_thread,
						    &ta[i]));

	EXPECT_EQ(0, wait_passes(sh, NWORKERS, 2, 0))
		TH_LOG("round %d: workers did not start", round);
	usleep(cs_mix(round) % 4000);

	if (variant->destroy) {
		EXPECT_EQ(0, capstore_cap_destroy(ctl, 0));
	} else {
		nctl = capstore_cap_revoke(ctl, CAPSTORE_FD_CLOEXEC);
		EXPECT_LE(0, nctl);
	}
	atomic_store(&sh->revoked, 1);
	/* What the object holds the moment the call returned. */
	ASSERT_EQ(CUT_SIZE, pread(seg, snap, CUT_SIZE, 0));
	EXPECT_EQ(0, wait_passes(sh, NWORKERS, 3, 1))
		TH_LOG("round %d: workers stuck after the cut", round);
	atomic_store(&sh->stop, 1);
	for (i = 0; i < NWORKERS; i++)
		if (i != P)
			pthread_join(th[i], NULL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
		TH_LOG("round %d: process P: status %#x", round, st);

	for (i = 0; i < NWORKERS; i++) {
		struct worker *w = &sh->w[i];

		ksft_print_msg("round %d %s: %lu passes (%lu after), %lu ok before, %lu failed before, %lu ok after, %lu failed after, %lu violations, %lu other\n",
			       round, wname[i], atomic_load(&w->passes),
			       atomic_load(&w->passes_after),
			       atomic_load(&w->ok_before),
			       atomic_load(&w->fail_before),
			       atomic_load(&w->ok_after),
			       atomic_load(&w->fail_after),
			       atomic_load(&w->violations),
			       atomic_load(&w->other));
		EXPECT_EQ(0ul, atomic_load(&w->violations))
			TH_LOG("round %d: %s: %s (first at page %ld)", round,
			       wname[i], i == DT ?
			       "an access through the direct capability failed" :
			       "an access through the delegation succeeded after the cut returned",
			       atomic_load(&w->first_violation));
		EXPECT_EQ(0ul, atomic_load(&w->other))
			TH_LOG("round %d: %s: unexpected outcome %d", round,
			       wname[i], atomic_load(&w->last_errno));
		EXPECT_LT(0ul, atomic_load(&w->ok_before))
			TH_LOG("round %d: %s never got going", round, wname[i]);
		if (i == DT) {
			EXPECT_LE(3ul * CUT_PAGES, atomic_load(&w->ok_after))
				TH_LOG("round %d: %s: too few accesses after",
				       round, wname[i]);
			continue;
		}
		EXPECT_LE(3ul * (i == T2 && wr ? 1 : CUT_PAGES),
			  atomic_load(&w->fail_after))
			TH_LOG("round %d: %s: too few failures after", round,
			       wname[i]);
	}

	/* The delegation is dead everywhere: open, stored, controlled. */
	check_dead(_metadata, f, "the delegation");
	check_dead(_metadata, a, "mapping thread's capability");
	check_dead(_metadata, b, "syscall thread's capability");
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_forward(f, root, CUT_SPARE_SLOT,
						     R, 0));
	EXPECT_EQ(-ENOENT, capstore_node_fetch(root, CUT_SPARE_SLOT, 0));
	if (wr) {
		v = 0;
		EXPECT_EQ(-1, pwrite(b, &v, 8, 0));
		EXPECT_EQ(EKEYREVOKED, errno);
	}
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, CUT_COPY_SLOT, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, CUT_CTL_SLOT, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_info(ctl, &info));
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_destroy(ctl, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_revoke(ctl, 0));
	if (nctl >= 0) {
		ASSERT_EQ(0, capstore_cap_info(nctl, &info));
		EXPECT_EQ((uint32_t)CAPSTORE_KIND_FORWARDER, info.out_kind);
		EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info.out_rights);
	}

	/* The direct capability, open and stored, lives. */
	ASSERT_EQ(0, capstore_cap_info(seg, &info));
	EXPECT_EQ(0u, info.out_flags);
	fd = capstore_node_fetch(root, CUT_SEG_SLOT, CAPSTORE_FD_CLOEXEC);
	EXPECT_LE(0, fd);
	if (fd >= 0)
		close(fd);

	/*
	 * The data: nothing written through the delegation landed after the
	 * cut returned; D's last pass is there; the rest is as written first
	 * (the pwrites of T2 write the same pattern).
	 */
	ASSERT_EQ(CUT_SIZE, capstore_segment_pread(seg, got, CUT_SIZE, 0));
	last_d = TAG_D | (atomic_load(&sh->w[DT].passes) - 1);
	for (i = 0, k = 0; i < CUT_PAGES * WORDS && k < 3; i++) {
		int word = i % WORDS;
		int written = wr && word >= WORD_T1 && word <= WORD_P;
		uint64_t want = word == WORD_D ? last_d :
				written ? snap[i] : buf[i];

		if (word != WORD_D && got[i] != snap[i]) {
			EXPECT_EQ(snap[i], got[i])
				TH_LOG("round %d: page %d word %d: a write through the delegation landed after the cut returned",
				       round, i / WORDS, word);
			k++;
		} else if (got[i] != want) {
			EXPECT_EQ(want, got[i])
				TH_LOG("round %d: page %d word %d: data written through the direct capability changed",
				       round, i / WORDS, word);
			k++;
		}
	}
	/* It still writes, by pwrite and through a new mapping. */
	v = 0x5eed0000ull | round;
	ASSERT_EQ(8, capstore_segment_pwrite(seg, &v, 8, 5 * 8));
	map = mmap(NULL, CUT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, seg, 0);
	ASSERT_NE(MAP_FAILED, map);
	EXPECT_EQ(v, map[5]);
	map[(CUT_PAGES - 1) * WORDS + 6] = ~v;
	munmap((void *)map, CUT_SIZE);
	ASSERT_EQ(8, capstore_segment_pread(seg, &v, 8,
					    ((CUT_PAGES - 1) * WORDS + 6) * 8));
	EXPECT_EQ(~(0x5eed0000ull | round), v);

	/* Everything goes: the forwarder, the segment, every fd and slot. */
	if (nctl >= 0) {
		EXPECT_EQ(0, capstore_cap_destroy(nctl, 0));
		close(nctl);
	}
	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	close(ctl);
	close(a);
	close(b);
	close(d);
	close(f);
	close(seg);
	free(buf);
	free(snap);
	free(got);
	munmap(sh, sizeof(*sh));
	EXPECT_EQ(0, capstore_node_clear(root, CUT_SEG_SLOT, 0));
	EXPECT_EQ(0, capstore_node_clear(root, CUT_CTL_SLOT, 0));
	EXPECT_EQ(0, capstore_node_clear(root, CUT_COPY_SLOT, 0));

	check_no_leak(_metadata, root, round, &mark);
}

TEST_F_TIMEOUT(cut, while_in_use, 300)
{
	int round;

	for (round = 0; round < CUT_ROUNDS; round++)
		cut_round(_metadata, variant, self->root, round);
}

/*
 * Page faults racing the cut, many times over (caps_revoke.c's storm, for
 * a forwarder): two threads fault the pages of a small mapping made
 * through a fresh delegation in a loop (zapping their page tables after
 * every pass) while the test destroys or revokes the forwarder (in turns)
 * at a random moment, then keep touching the pages without zapping: a
 * fault that passed its check before the cut must not leave a page table
 * entry behind. A third thread stores through a mapping of the direct
 * capability all along, and never faults.
 */
#define STORM_PAGES	16
#define STORM_ROUNDS	100

FIXTURE(cut_storm) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(cut_storm)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	cut_clear_slots(self->root);
	catch_faults();
}

FIXTURE_TEARDOWN(cut_storm)
{
	if (self->root >= 0) {
		cut_clear_slots(self->root);
		close(self->root);
	}
	EXPECT_EQ(0, store_get("open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

struct storm_targ {
	struct shared *sh;
	volatile uint64_t *map;
	int who;	/* 0, 1: delegated; 2: direct */
};

static void *storm_thread(void *p)
{
	struct storm_targ *t = p;

	if (t->who == 2)
		direct_loop(t->sh, &t->sh->w[2], t->map, STORM_PAGES, 1,
			    TAG_D);
	else
		touch_loop(t->sh, &t->sh->w[t->who], t->map, STORM_PAGES, 0,
			   0, 0);
	return NULL;
}

TEST_F_TIMEOUT(cut_storm, faults_racing_cut, 300)
{
	unsigned long violations = 0, after = 0, before = 0, direct = 0;
	size_t size = STORM_PAGES * 4096;
	struct storm_targ st[3];
	struct shared *sh;
	void *dmap, *zero;
	pthread_t th[3];
	int seg, round, i;

	seg = capstore_node_create(self->root, CUT_SEG_SLOT,
				   CAPSTORE_KIND_SEGMENT, size,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	zero = calloc(1, size);
	ASSERT_NE(NULL, zero);
	ASSERT_EQ((ssize_t)size, capstore_segment_pwrite(seg, zero, size, 0));
	free(zero);
	dmap = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, seg, 0);
	ASSERT_NE(MAP_FAILED, dmap);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh);

	for (round = 0; round < STORM_ROUNDS; round++) {
		int f, ctl, nctl = -1;
		void *map;

		f = capstore_cap_forward(seg, self->root, CUT_CTL_SLOT, R | M,
					 CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, f);
		ctl = capstore_node_fetch(self->root, CUT_CTL_SLOT,
					  CAPSTORE_FD_CLOEXEC);
		ASSERT_LE(0, ctl);
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, f, 0);
		ASSERT_NE(MAP_FAILED, map);
		close(f);
		memset(sh, 0, sizeof(*sh));
		for (i = 0; i < 3; i++) {
			atomic_store(&sh->w[i].first_violation, -1);
			st[i] = (struct storm_targ){ sh, i == 2 ? dmap : map,
						     i };
			ASSERT_EQ(0, pthread_create(&th[i], NULL, storm_thread,
						    &st[i]));
		}
		ASSERT_EQ(0, wait_passes(sh, 3, 1, 0));
		usleep(cs_mix(round) % 3000);
		if (round & 1) {
			ASSERT_EQ(0, capstore_cap_destroy(ctl, 0));
		} else {
			nctl = capstore_cap_revoke(ctl, CAPSTORE_FD_CLOEXEC);
			ASSERT_LE(0, nctl);
		}
		atomic_store(&sh->revoked, 1);
		ASSERT_EQ(0, wait_passes(sh, 3, 2, 1));
		atomic_store(&sh->stop, 1);
		for (i = 0; i < 3; i++) {
			struct worker *w = &sh->w[i];

			pthread_join(th[i], NULL);
			violations += atomic_load(&w->violations);
			EXPECT_EQ(0ul, atomic_load(&w->violations))
				TH_LOG("round %d thread %d: %s (page %ld)",
				       round, i, i == 2 ?
				       "the direct mapping faulted" :
				       "a page stayed mapped after the cut returned",
				       atomic_load(&w->first_violation));
			EXPECT_EQ(0ul, atomic_load(&w->other));
			if (i == 2) {
				direct += atomic_load(&w->ok_after);
				continue;
			}
			after += atomic_load(&w->fail_after);
			before += atomic_load(&w->ok_before);
		}
		munmap(map, size);
		close(ctl);
		if (nctl >= 0) {
			EXPECT_EQ(0, capstore_cap_destroy(nctl, 0));
			close(nctl);
		}
		ASSERT_EQ(0, capstore_node_clear(self->root, CUT_CTL_SLOT, 0));
	}
	ksft_print_msg("%d rounds: %lu delegated accesses before, %lu faults after, %lu direct accesses after, %lu violations\n",
		       STORM_ROUNDS, before, after, direct, violations);
	munmap(dmap, size);
	munmap(sh, sizeof(*sh));
	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	close(seg);
	EXPECT_EQ(0, capstore_node_clear(self->root, CUT_SEG_SLOT, 0));
}

/*
 * Across a power cut: slot 1 control, slot 2 a stored forwarded
 * capability, slot 3 a forwarder whose control capability is destroyed
 * after the reboot.
 */
TEST(persist_write)
{
	uint32_t id;
	int root, seg, f, g;
	uint64_t seq;

	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	seg = capstore_node_create(root, 0, CAPSTORE_KIND_SEGMENT, 4096, 0);
	ASSERT_LE(0, seg);
	ASSERT_EQ(7, capstore_segment_pwrite(seg, "persist", 7, 0));
	f = capstore_cap_forward(seg, root, 1, R | M, 0);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_node_store(root, 2, f, 0));
	g = capstore_cap_forward(f, root, 3, R, 0);
	ASSERT_LE(0, g);
	ASSERT_EQ(0, capstore_node_store(root, 4, g, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(root, 0, &seq));
	close(g);
	close(f);
	close(seg);
	close(root);
	cs_crash_point();
	pause();
}

TEST(persist_verify)
{
	struct capstore_cap_info info;
	char buf[8] = "";
	uint32_t id;
	int root, f, g;

	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	f = capstore_node_fetch(root, 2, 0);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_cap_info(f, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_CAP_FORWARDED, info.out_flags);
	EXPECT_EQ((uint32_t)(R | M), info.out_rights);
	EXPECT_EQ(7, capstore_segment_pread(f, buf, 7, 0));
	EXPECT_EQ(0, memcmp(buf, "persist", 7));
	g = capstore_node_fetch(root, 4, 0);
	ASSERT_LE(0, g);
	EXPECT_EQ(1, capstore_segment_pread(g, buf, 1, 0));
	close(g);
	close(f);
	/* Now take the outer delegation back and commit that. */
	f = capstore_node_fetch(root, 1, 0);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_cap_destroy(f, 0));
	close(f);
	ASSERT_EQ(0, capstore_cap_sync(root));
	close(root);
	ASSERT_EQ(0, cs_detach(id));
}

TEST(persist_dead)
{
	uint32_t id;
	char c;
	int root, seg;

	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, 2, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(root, 4, 0));
	seg = capstore_node_fetch(root, 0, 0);
	ASSERT_LE(0, seg);
	EXPECT_EQ(1, capstore_segment_pread(seg, &c, 1, 0));
	close(seg);
	close(root);
	ASSERT_EQ(0, cs_detach(id));
}

CS_HARNESS_MAIN
