// SPDX-License-Identifier: GPL-2.0
/*
 * caps_fuzz - an unprivileged process throws random arguments at every
 * ioctl of every file descriptor it holds, and never gets more than it
 * was given.
 *
 * The parent (root) builds, under the root node:
 *
 *   root slot 21: node F   slot 0: segment S
 *                          slot 1: node N2   slot 0: segment S3
 *                          slot 2: S restricted to READ|MAP
 *                          slot 3: F itself (a cycle)
 *   root slot 22: segment X, never handed over
 *
 * and hands a child, which drops to uid 65534, over a unix socket: S
 * restricted to READ|MAP, F restricted to READ|WRITE|GRANT|WEAK, the
 * control device opened by root (mode 0666 for the test, so the child may
 * open its own too), and a pipe. It also tells it every object id,
 * including the root node's and X's: ids are not authority.
 *
 * The child then makes a few thousand calls (seeded by $CS_SEED, logged)
 * with a random target (the fds above, capabilities it derived, closed or
 * made-up fds), a random command (every capstore command, unknown numbers,
 * other ioctl encodings), random sizes, flags, slots, fds, rights, store
 * ids and object ids, sometimes bad or read-only pointers; plus random
 * mmap/mprotect/pwrite calls on what it holds. After every call it looks
 * at its whole fd table and checks:
 *
 *   - nothing on the control device succeeds (EPERM or ENOTTY, always);
 *   - only commands that cannot add authority succeed (info, restrict,
 *     fetch, checkpoint, sections); never store, clear, create, destroy,
 *     revoke, attach, detach, root;
 *   - every new fd is a capability of this store to an object it could
 *     reach (S, F, N2, S3: never the root node, never X), with rights
 *     within what it was given: nothing writable, nothing destroyable,
 *     everything from F weak;
 *   - no mapping is writable, no write succeeds.
 *
 * The parent checks that nothing changed: the root node's and F's slots,
 * the data of S and X, the object count, and that every capability the
 * child held is closed again (open_caps).
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define NOBODY	65534
#define R	CAPSTORE_RIGHT_READ
#define W	CAPSTORE_RIGHT_WRITE
#define M	CAPSTORE_RIGHT_MAP
#define G	CAPSTORE_RIGHT_GRANT
#define D	CAPSTORE_RIGHT_DESTROY
#define K	CAPSTORE_RIGHT_WEAK
#define ALL	CAPSTORE_RIGHTS_ALL

#define F_SLOT	21
#define X_SLOT	22
#define SEG_SIZE	(4 * 4096)
#define ITERATIONS	4000
#define MAXFD		256
#define POOL		24

/* What the parent tells the child (after the fds). */
struct given {
	uint32_t store_id;
	uint64_t oid_root, oid_f, oid_n2, oid_s, oid_s3, oid_x;
	uint64_t seed;
};

/* What the child found. */
struct tally {
	unsigned long calls, ok, new_fds, maps, violations;
	unsigned long by_cmd_ok[16];
};

/* Close every fd but stdio and @keep: the child holds only what it is given. */
static void close_all_but(int keep)
{
	int fd;

	for (fd = 3; fd < 1024; fd++)
		if (fd != keep)
			close(fd);
}

static void drop_privileges(struct __test_metadata *_metadata)
{
	_metadata->passed = 1;
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setresgid(NOBODY, NOBODY, NOBODY));
	ASSERT_EQ(0, setresuid(NOBODY, NOBODY, NOBODY));
	ASSERT_NE(0u, geteuid());
	ASSERT_EQ(0, prctl(PR_SET_DUMPABLE, 1, 0, 0, 0));
}

static int send_fds(int sock, const int *fds, int n, const void *data,
		    size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = (void *)data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *cmsg;

	memset(cbuf, 0, sizeof(cbuf));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * n);
	return sendmsg(sock, &msg, 0) == (ssize_t)len ? 0 : -1;
}

static int recv_fds(int sock, int *fds, int n, void *data, size_t len)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;

	if (recvmsg(sock, &msg, MSG_WAITALL) != (ssize_t)len)
		return -1;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS ||
	    cmsg->cmsg_len != CMSG_LEN(sizeof(int) * n))
		return -1;
	memcpy(fds, CMSG_DATA(cmsg), sizeof(int) * n);
	return 0;
}

/* ------------------------------------------------------------ the child */

static uint64_t rng;

static uint64_t rnd(void)
{
	rng = cs_mix(rng);
	return rng;
}

static uint32_t rnd_below(uint32_t n)
{
	return (uint32_t)(rnd() % n);
}

static const unsigned long cmds[] = {
	CAPSTORE_ATTACH, CAPSTORE_DETACH, CAPSTORE_ROOT, CAPSTORE_CHECKPOINT,
	CAPSTORE_CAP_INFO, CAPSTORE_RESTRICT, CAPSTORE_CREATE, CAPSTORE_FETCH,
	CAPSTORE_STORE, CAPSTORE_CLEAR, CAPSTORE_DESTROY, CAPSTORE_REVOKE,
	CAPSTORE_SECTION_BEGIN, CAPSTORE_SECTION_END,
};
#define NCMDS ((int)(sizeof(cmds) / sizeof(cmds[0])))

static const size_t cmd_size[] = {
	sizeof(struct capstore_attach), sizeof(struct capstore_detach),
	sizeof(struct capstore_root), sizeof(struct capstore_checkpoint),
	sizeof(struct capstore_cap_info), sizeof(struct capstore_restrict),
	sizeof(struct capstore_create), sizeof(struct capstore_fetch),
	sizeof(struct capstore_store), sizeof(struct capstore_clear),
	sizeof(struct capstore_destroy), sizeof(struct capstore_revoke),
	sizeof(struct capstore_section), sizeof(struct capstore_section),
};

/* May this command ever succeed for the child? */
static int may_succeed(unsigned long cmd)
{
	return cmd == CAPSTORE_CAP_INFO || cmd == CAPSTORE_RESTRICT ||
	       cmd == CAPSTORE_FETCH || cmd == CAPSTORE_CHECKPOINT ||
	       cmd == CAPSTORE_SECTION_BEGIN || cmd == CAPSTORE_SECTION_END;
}

struct child {
	struct __test_metadata *md;
	struct given g;
	struct tally t;
	int ctl, seg_ro, weak, pipe_r;
	int known[MAXFD];	/* 1: open and accounted for */
	int pool[POOL];		/* capabilities it made */
	unsigned int rights[MAXFD];	/* of each capability in the pool */
	int npool;
	uint8_t *buf;		/* 2 pages, the second one unmapped */
	uint8_t *ro_page;	/* a read-only page */
};

#define VIOLATION(c, fmt, ...) do {					\
	struct __test_metadata *_metadata = (c)->md;			\
	(c)->t.violations++;						\
	EXPECT_TRUE(0) TH_LOG("iteration %lu: " fmt, (c)->t.calls,	\
			      ##__VA_ARGS__);				\
} while (0)

/* The most a capability to @oid may carry; 0 if none may exist. */
static int rights_ok(const struct child *c, uint64_t oid, unsigned int r)
{
	unsigned int max = R | M | G | K;

	if (oid == c->g.oid_f)		/* given READ|WRITE|GRANT|WEAK */
		return !(r & ~(max | W)) && (r & K);
	if (r & (W | D))
		return 0;
	if (oid == c->g.oid_s)		/* READ|MAP given; more only weak */
		return !(r & ~max) && (!(r & G) || (r & K));
	if (oid == c->g.oid_n2 || oid == c->g.oid_s3)
		return !(r & ~max) && (r & K);	/* only through weak F */
	return 0;
}

static int fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* Every fd that appeared since the last look must be a lawful capability. */
static void look(struct child *c)
{
	struct capstore_cap_info info;
	int fd, limit = 64;

	for (fd = 0; fd < MAXFD; fd++)
		if (c->known[fd] && fd + 32 > limit)
			limit = fd + 32;
	if (limit > MAXFD)
		limit = MAXFD;
	for (fd = 0; fd < limit; fd++) {
		if (c->known[fd] || !fd_open(fd))
			continue;
		c->t.new_fds++;
		c->known[fd] = 1;
		memset(&info, 0, sizeof(info));
		if (capstore_cap_info(fd, &info)) {
			VIOLATION(c, "fd %d appeared and is not a live capability",
				  fd);
			close(fd);
			c->known[fd] = 0;
			continue;
		}
		if (info.out_store_id != c->g.store_id ||
		    !rights_ok(c, info.out_oid, info.out_rights))
			VIOLATION(c, "fd %d: object %" PRIu64 " rights %#x, more than was given (root %" PRIu64 ", secret %" PRIu64 ")",
				  fd, (uint64_t)info.out_oid, info.out_rights,
				  c->g.oid_root, c->g.oid_x);
		if (c->npool < POOL) {
			c->pool[c->npool++] = fd;
			c->rights[fd] = info.out_rights;
		} else {
			close(fd);
			c->known[fd] = 0;
		}
	}
}

static void pool_drop(struct child *c, int i)
{
	close(c->pool[i]);
	c->known[c->pool[i]] = 0;
	c->pool[i] = c->pool[--c->npool];
}

/*
 * A target fd for a call; @any: also made-up numbers (for ioctls only:
 * writes must not reach the test's stdout or socket).
 */
static int pick_fd_from(struct child *c, int any)
{
	switch (rnd_below(10)) {
	case 0:
		return c->ctl;
	case 1:
	case 2:
		return c->seg_ro;
	case 3:
	case 4:
		return c->weak;
	case 5:
		return c->pipe_r;
	case 6:
		if (any)
			return (int)rnd_below(MAXFD + 8) - 4;
		/* fall through */
	default:
		return c->npool ? c->pool[rnd_below(c->npool)] : c->weak;
	}
}

static int pick_fd(struct child *c)
{
	return pick_fd_from(c, 1);
}

/* A random 32-bit field: small numbers, fds, ids, edges, noise. */
static uint32_t field32(struct child *c)
{
	switch (rnd_below(12)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
	case 3:
		return rnd_below(40);			/* slots, kinds, ids */
	case 4:
		return (uint32_t)pick_fd(c);
	case 5:
		return rnd_below(1u << 10);		/* rights, flags */
	case 6:
		return ~0u;
	case 7:
		return 1u << rnd_below(32);
	case 8:
		return (uint32_t)c->g.oid_root;
	case 9:
		return (uint32_t)c->g.oid_x;
	case 10:
		return c->g.store_id + rnd_below(3) - 1;
	default:
		return (uint32_t)rnd();
	}
}

/*
 * A well-formed structure for @cmd with random values where they matter,
 * so that calls get past the size and flag checks to the rights checks.
 */
static void plausible(struct child *c, int fd, unsigned long cmd,
		      uint32_t *w)
{
	uint32_t slot = rnd_below(2) ? rnd_below(4) : rnd_below(34);
	uint32_t fl = rnd_below(8) ? rnd_below(2) : field32(c);

	memset(w, 0, 64);
	w[1] = fl;
	switch (cmd) {
	case CAPSTORE_ATTACH:
		w[1] = 0;
		w[2] = (uint32_t)pick_fd(c);
		break;
	case CAPSTORE_DETACH:
	case CAPSTORE_CHECKPOINT:
		w[1] = 0;
		/* fall through */
	case CAPSTORE_ROOT:
		w[2] = rnd_below(2) ? c->g.store_id : rnd_below(8);
		break;
	case CAPSTORE_RESTRICT:
		w[2] = (uint32_t)rnd() & (ALL | K);
		if (rnd_below(2) && fd >= 0 && fd < MAXFD)	/* a subset */
			w[2] &= fd == c->seg_ro ? R | M :
				fd == c->weak ? R | W | G | K : c->rights[fd];
		break;
	case CAPSTORE_CREATE:
		w[2] = 1 + rnd_below(2);
		w[3] = slot;
		if (w[2] == CAPSTORE_KIND_SEGMENT)
			w[4] = 4096 * rnd_below(4);
		break;
	case CAPSTORE_FETCH:
		w[2] = slot;
		break;
	case CAPSTORE_STORE:
		w[1] = 0;
		w[2] = slot;
		w[3] = (uint32_t)pick_fd(c);
		break;
	case CAPSTORE_CLEAR:
		w[1] = 0;
		w[2] = slot;
		break;
	case CAPSTORE_CAP_INFO:
	case CAPSTORE_DESTROY:
	case CAPSTORE_SECTION_BEGIN:
	case CAPSTORE_SECTION_END:
		w[1] = 0;
		break;
	}
}

static void fuzz_ioctl(struct child *c)
{
	int fd = pick_fd(c), ci = -1, ret, e;
	unsigned long cmd;
	uint32_t *w = (uint32_t *)c->buf;
	size_t size, i;
	void *arg;

	switch (rnd_below(12)) {
	case 0:		/* an unknown number of ours */
		cmd = _IO(CAPSTORE_TYPE, rnd_below(256));
		break;
	case 1:		/* ours, with direction and size bits */
		ci = (int)rnd_below(NCMDS);
		cmd = _IOC(rnd_below(4), CAPSTORE_TYPE,
			   _IOC_NR(cmds[ci]), rnd_below(64));
		break;
	default:
		ci = (int)rnd_below(NCMDS);
		cmd = cmds[ci];
		break;
	}
	for (i = 0; i < 4096 / 4; i++)
		w[i] = i < 16 ? field32(c) : 0;
	if (ci >= 0 && rnd_below(2))
		plausible(c, fd, cmds[ci], w);
	size = ci >= 0 ? cmd_size[ci] : 16;
	switch (rnd_below(8)) {
	case 0:
		size = rnd_below(64);
		break;
	case 1:
		size = size + 8 * rnd_below(4);
		if (rnd_below(2))
			c->buf[size - 1] = (uint8_t)rnd();	/* dirty tail */
		break;
	case 2:
		size = 4096 + rnd_below(8);
		break;
	case 3:
		size = field32(c);
		break;
	}
	w[0] = (uint32_t)size;
	switch (rnd_below(24)) {
	case 0:
		arg = NULL;
		break;
	case 1:
		arg = c->ro_page;	/* readable, copy-out fails */
		break;
	case 2:		/* the structure runs into an unmapped page */
		arg = c->buf + 4096 - rnd_below(48);
		break;
	case 3:
		arg = (void *)(uintptr_t)rnd();
		break;
	default:
		arg = c->buf;
	}

	c->t.calls++;
	ret = ioctl(fd, cmd, arg);
	e = errno;
	if (fd == c->ctl && (ret >= 0 || (e != EPERM && e != ENOTTY)))
		VIOLATION(c, "control device command %#lx gave %d (errno %d)",
			  cmd, ret, ret < 0 ? e : 0);
	if (ret >= 0) {
		c->t.ok++;
		if (ci >= 0)
			c->t.by_cmd_ok[ci]++;
		if (!may_succeed(cmd))
			VIOLATION(c, "command %#lx succeeded on fd %d", cmd, fd);
	}
	look(c);
}

/* mmap, mprotect and writes on what it holds: nothing is writable. */
static void fuzz_memory(struct child *c)
{
	static const int flags[] = { MAP_SHARED, MAP_PRIVATE,
				     MAP_SHARED_VALIDATE, MAP_SHARED | MAP_POPULATE };
	int fd = pick_fd_from(c, 0), prot = (int)rnd_below(8);
	size_t len = 4096 * (1 + rnd_below(5));
	off_t off = 4096 * (off_t)rnd_below(5);
	void *p;
	char b = 'x';

	c->t.calls++;
	switch (rnd_below(3)) {
	case 0:
		if (pwrite(fd, &b, 1, off) >= 0)
			VIOLATION(c, "pwrite on fd %d succeeded", fd);
		if (write(fd, &b, 1) >= 0 && fd != c->pipe_r)
			VIOLATION(c, "write on fd %d succeeded", fd);
		return;
	default:
		break;
	}
	p = mmap(NULL, len, prot, flags[rnd_below(4)], fd, off);
	if (p == MAP_FAILED)
		return;
	c->t.maps++;
	if (prot & PROT_WRITE)
		VIOLATION(c, "mmap of fd %d with prot %#x succeeded", fd, prot);
	if (!mprotect(p, len, PROT_READ | PROT_WRITE))
		VIOLATION(c, "mprotect to write a mapping of fd %d succeeded",
			  fd);
	if (!mprotect(p, len, PROT_READ | PROT_EXEC))
		VIOLATION(c, "mprotect to exec a mapping of fd %d succeeded",
			  fd);
	munmap(p, len);
}

static void fuzz_child(struct __test_metadata *_metadata, int sock)
{
	struct child *c = calloc(1, sizeof(*c));
	int fds[4], fd, i;

	ASSERT_NE(NULL, c);
	c->md = _metadata;
	drop_privileges(_metadata);
	ASSERT_EQ(0, recv_fds(sock, fds, 4, &c->g, sizeof(c->g)));
	c->ctl = fds[0];
	c->seg_ro = fds[1];
	c->weak = fds[2];
	c->pipe_r = fds[3];
	rng = c->g.seed;

	c->buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c->buf);
	ASSERT_EQ(0, munmap(c->buf + 4096, 4096));
	c->ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	ASSERT_NE(MAP_FAILED, c->ro_page);

	/* Its own try at the front door first. */
	fd = capstore_control_open(0);
	ASSERT_LE(0, fd);
	for (i = 0; i < 64; i++)
		EXPECT_EQ(-EPERM, capstore_root_open(fd, (uint32_t)i, 0));
	EXPECT_EQ(-EPERM, capstore_root_open(fd, c->g.store_id, 0));
	EXPECT_EQ(-EPERM, capstore_root_open(c->ctl, c->g.store_id, 0));
	close(fd);

	for (fd = 0; fd < MAXFD; fd++)
		c->known[fd] = fd_open(fd);
	for (i = 0; i < ITERATIONS; i++) {
		if (rnd_below(8) == 0)
			fuzz_memory(c);
		else
			fuzz_ioctl(c);
		/* Keep the pool moving: close some of what it made. */
		if (c->npool && rnd_below(16) == 0)
			pool_drop(c, (int)rnd_below(c->npool));
	}
	while (c->npool)
		pool_drop(c, 0);
	ASSERT_EQ((ssize_t)sizeof(c->t), write(sock, &c->t, sizeof(c->t)));
	_exit(_metadata->passed ? 0 : 1);
}

/* ----------------------------------------------------------- the parent */

/* A summary of a node's slots: object id (or -errno) per slot. */
static void slots_of(int node, long *out)
{
	struct capstore_cap_info info;
	unsigned int i;
	int fd;

	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		fd = capstore_node_fetch(node, i, CAPSTORE_FD_CLOEXEC);
		if (fd < 0) {
			out[i] = fd;
			continue;
		}
		out[i] = capstore_cap_info(fd, &info) ? -1 :
			 (long)(info.out_oid << 8 | info.out_rights);
		close(fd);
	}
}

static uint64_t hash_of(int seg, size_t size)
{
	static uint8_t b[SEG_SIZE];
	uint64_t h = 0;
	size_t i;

	if (capstore_segment_pread(seg, b, size, 0) != (ssize_t)size)
		return 0;
	for (i = 0; i < size; i++)
		h = cs_mix(h ^ b[i]);
	return h;
}

static uint64_t oid_of(int fd)
{
	struct capstore_cap_info info;

	return capstore_cap_info(fd, &info) ? 0 : info.out_oid;
}

FIXTURE(fuzz) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(fuzz)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
}

FIXTURE_TEARDOWN(fuzz)
{
	if (self->root >= 0)
		close(self->root);
	chmod(CAPSTORE_CONTROL_DEVICE, 0600);
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

TEST_F_TIMEOUT(fuzz, unprivileged_ioctls, 240)
{
	long root_before[CAPSTORE_NODE_SLOTS], root_after[CAPSTORE_NODE_SLOTS];
	long f_before[CAPSTORE_NODE_SLOTS], f_after[CAPSTORE_NODE_SLOTS];
	int f, n2, s, s3, x, ro, weak, ctl, pfd[2], sv[2], fds[4], st, i;
	static uint8_t pat[SEG_SIZE];
	uint64_t hs, hx, h3;
	long long objects, open0;
	struct given g = { 0 };
	struct tally t = { 0 };
	const char *seed = getenv("CS_SEED");
	pid_t pid;

	capstore_node_clear(self->root, F_SLOT, 0);
	capstore_node_clear(self->root, X_SLOT, 0);
	f = capstore_node_create(self->root, F_SLOT, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, f);
	s = capstore_node_create(f, 0, CAPSTORE_KIND_SEGMENT, SEG_SIZE,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, s);
	n2 = capstore_node_create(f, 1, CAPSTORE_KIND_NODE, 0,
				  CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, n2);
	s3 = capstore_node_create(n2, 0, CAPSTORE_KIND_SEGMENT, 4096,
				  CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, s3);
	ro = capstore_cap_restrict(s, R | M, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, capstore_node_store(f, 2, ro, 0));
	ASSERT_EQ(0, capstore_node_store(f, 3, f, 0));
	x = capstore_node_create(self->root, X_SLOT, CAPSTORE_KIND_SEGMENT,
				 SEG_SIZE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, x);
	for (i = 0; i < SEG_SIZE; i++)
		pat[i] = (uint8_t)(i * 31 + 7);
	ASSERT_EQ(SEG_SIZE, capstore_segment_pwrite(s, pat, SEG_SIZE, 0));
	ASSERT_EQ(SEG_SIZE, capstore_segment_pwrite(x, pat, SEG_SIZE, 0));
	ASSERT_EQ(4096, capstore_segment_pwrite(s3, pat, 4096, 0));
	weak = capstore_cap_restrict(f, R | W | G | K, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, weak);
	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, pipe2(pfd, O_CLOEXEC));
	/* Short sections: the child may open some and checkpoint. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "section_timeout_ms", "5"));
	ASSERT_EQ(0, chmod(CAPSTORE_CONTROL_DEVICE, 0666));

	g.store_id = self->id;
	g.oid_root = oid_of(self->root);
	g.oid_f = oid_of(f);
	g.oid_n2 = oid_of(n2);
	g.oid_s = oid_of(s);
	g.oid_s3 = oid_of(s3);
	g.oid_x = oid_of(x);
	g.seed = seed && *seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
	ksft_print_msg("seed %" PRIu64 " (CS_SEED), root %" PRIu64 ", F %" PRIu64 ", S %" PRIu64 ", X %" PRIu64 "\n",
		       g.seed, g.oid_root, g.oid_f, g.oid_s, g.oid_x);
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
	slots_of(self->root, root_before);
	slots_of(f, f_before);
	hs = hash_of(s, SEG_SIZE);
	hx = hash_of(x, SEG_SIZE);
	h3 = hash_of(s3, 4096);
	objects = cs_store_get(cs_test_dev(), "objects");
	open0 = cs_store_get(cs_test_dev(), "open_caps");

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close_all_but(sv[1]);
		fuzz_child(_metadata, sv[1]);
		_exit(1);
	}
	close(sv[1]);
	fds[0] = ctl;
	fds[1] = ro;
	fds[2] = weak;
	fds[3] = pfd[0];
	ASSERT_EQ(0, send_fds(sv[0], fds, 4, &g, sizeof(g)));
	EXPECT_EQ((ssize_t)sizeof(t), read(sv[0], &t, sizeof(t)));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
		TH_LOG("child status %#x", st);
	close(sv[0]);
	ksft_print_msg("%lu calls, %lu succeeded, %lu new fds, %lu mappings, %lu violations\n",
		       t.calls, t.ok, t.new_fds, t.maps, t.violations);
	ksft_print_msg("succeeded: info %lu, restrict %lu, fetch %lu, checkpoint %lu, section %lu/%lu\n",
		       t.by_cmd_ok[4], t.by_cmd_ok[5], t.by_cmd_ok[7],
		       t.by_cmd_ok[3], t.by_cmd_ok[12], t.by_cmd_ok[13]);
	EXPECT_EQ(0ul, t.violations);
	/* The fuzzing reached the interesting paths. */
	EXPECT_LT(1000ul, t.calls);
	EXPECT_LT(0ul, t.by_cmd_ok[5]);
	EXPECT_LT(0ul, t.by_cmd_ok[7]);
	EXPECT_LT(0ul, t.new_fds);

	/* Nothing changed. */
	slots_of(self->root, root_after);
	slots_of(f, f_after);
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		EXPECT_EQ(root_before[i], root_after[i]) TH_LOG("root slot %d", i);
		EXPECT_EQ(f_before[i], f_after[i]) TH_LOG("F slot %d", i);
	}
	EXPECT_EQ(hs, hash_of(s, SEG_SIZE));
	EXPECT_EQ(hx, hash_of(x, SEG_SIZE));
	EXPECT_EQ(h3, hash_of(s3, 4096));
	EXPECT_EQ(objects, cs_store_get(cs_test_dev(), "objects"));
	EXPECT_EQ(open0, cs_store_get(cs_test_dev(), "open_caps"));

	/*
	 * Sections belong to the open file: the ones the child left open on
	 * the files it shared with the parent end when the parent closes them.
	 */
	close(pfd[0]);
	close(pfd[1]);
	close(ctl);
	close(weak);
	close(ro);
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "sections_open"));
	EXPECT_EQ(0, capstore_cap_destroy(s3, 0));
	EXPECT_EQ(0, capstore_cap_destroy(n2, 0));
	EXPECT_EQ(0, capstore_cap_destroy(s, 0));
	EXPECT_EQ(0, capstore_cap_destroy(x, 0));
	EXPECT_EQ(0, capstore_cap_destroy(f, 0));
	close(s3);
	close(n2);
	close(s);
	close(x);
	close(f);
	EXPECT_EQ(0, capstore_node_clear(self->root, F_SLOT, 0));
	EXPECT_EQ(0, capstore_node_clear(self->root, X_SLOT, 0));
	EXPECT_EQ(0, cs_store_set(cs_test_dev(), "section_timeout_ms", "2000"));
}

CS_HARNESS_MAIN
