// SPDX-License-Identifier: GPL-2.0
/*
 * stall - no holder of a capability can stall the store by making the
 * kernel wait for its own memory (Documentation/checkpoints.rst, "User
 * memory and the store's locks").
 *
 * A page registered with userfaultfd faults for as long as the test
 * likes: the test resolves it only after everything else it started has
 * finished, or after a bound. So a kernel path that touches such a page
 * while holding a store-wide lock shows up as an operation that does not
 * finish before the page is resolved; no assertion depends on how fast
 * the machine is (the bound is only how long to wait for an operation
 * that should not wait at all).
 *
 *   write_source     pwrite() from a held page to segment A; while it is
 *                    held: a checkpoint, a pwrite to segment B, a pwrite
 *                    to another page of A through another capability, and
 *                    a REVOKE of A all finish. Then the held page is
 *                    resolved and the first write ends (EKEYREVOKED: A was
 *                    revoked before it copied anything)
 *   write_source_partial  the same with a write of two pages whose second
 *                    source page is held: the first page is written, the
 *                    checkpoint finishes meanwhile, and the write returns
 *                    all of it once resolved
 *   read_dest        pread() from A into a held page; meanwhile a
 *                    checkpoint, a pwrite to the same page of A and a
 *                    REVOKE of A finish
 *   ioctl_arg        a FETCH whose argument structure is a held page;
 *                    meanwhile a checkpoint, a pwrite and a STORE into
 *                    the same node finish
 *   section_reenter  a thread holds a section and a checkpoint waits for
 *                    it; the thread begins a nested section on the same
 *                    capability and a second one on another capability:
 *                    neither waits for the waiting snapshot, so the
 *                    thread ends all three and no section is cut (END
 *                    returns 0, sections_broken unchanged); a section
 *                    begun meanwhile by another thread still waits for
 *                    the snapshot, which waited for the outer section
 *   readahead_context  no checksum of a page read ahead is computed in
 *                    interrupt context: with the function tracer on
 *                    capstore_crc(), a cold read of 256 pages traces it
 *                    only in task context (irq-info flags '.', not 'h',
 *                    's' or 'H'); skipped without the function tracer
 *
 * The store is on $CS_TEST_DEV. Skipped if userfaultfd is not available.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define PAGE		4096
#define SEG_PAGES	16
#define SLOT_A		1
#define SLOT_B		2
#define SLOT_FREE	3

/* How long an operation that should not wait may take. */
static int bound_ms(void)
{
	const char *s = getenv("CS_TEST_TIMEOUT_SCALE");
	int scale = s ? atoi(s) : 1;

	return 5000 * (scale > 1 ? 4 : 1);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* --- an operation in a thread of its own -------------------------------- */

enum op_kind { OP_PWRITE, OP_PREAD, OP_CHECKPOINT, OP_REVOKE, OP_IOCTL,
	       OP_STORE, OP_SECTION };

struct op {
	const char *name;
	enum op_kind kind;
	int fd;
	void *buf;
	size_t len;
	off_t off;
	unsigned long cmd;	/* OP_IOCTL */
	int arg;		/* OP_STORE: the capability to store */
	pthread_t thread;
	long ret;		/* the result, -errno on failure */
	atomic_int done;
};

static void *op_thread(void *p)
{
	struct op *op = p;
	long ret;

	switch (op->kind) {
	case OP_PWRITE:
		ret = pwrite(op->fd, op->buf, op->len, op->off);
		ret = ret < 0 ? -errno : ret;
		break;
	case OP_PREAD:
		ret = pread(op->fd, op->buf, op->len, op->off);
		ret = ret < 0 ? -errno : ret;
		break;
	case OP_CHECKPOINT:
		ret = capstore_cap_checkpoint(op->fd, 0, NULL);
		break;
	case OP_REVOKE:
		ret = capstore_cap_revoke(op->fd, CAPSTORE_FD_CLOEXEC);
		break;
	case OP_IOCTL:
		ret = ioctl(op->fd, op->cmd, op->buf);
		ret = ret < 0 ? -errno : ret;
		break;
	case OP_STORE:
		ret = capstore_node_store(op->fd, SLOT_FREE, op->arg, 0);
		break;
	case OP_SECTION:
		ret = capstore_section_begin(op->fd, 0);
		break;
	default:
		ret = -EINVAL;
	}
	op->ret = ret;
	atomic_store(&op->done, 1);
	return NULL;
}

static int op_start(struct op *op)
{
	atomic_store(&op->done, 0);
	op->ret = -EINPROGRESS;
	return -pthread_create(&op->thread, NULL, op_thread, op);
}

/* Wait until every op is done or @ms passed; how many are done. */
static int ops_wait(struct op *ops, int n, int ms)
{
	long long end = now_ms() + ms;
	int i, done;

	for (;;) {
		for (i = done = 0; i < n; i++)
			done += atomic_load(&ops[i].done);
		if (done == n || now_ms() >= end)
			return done;
		usleep(10000);
	}
}

/* --- a page that faults until the test says so -------------------------- */

struct held {
	int uffd;
	char *page;
};

static int held_init(struct held *h)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {};

	h->page = MAP_FAILED;
	h->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (h->uffd < 0)
		return -errno;
	if (ioctl(h->uffd, UFFDIO_API, &api))
		return -errno;
	h->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (h->page == MAP_FAILED)
		return -errno;
	reg.range.start = (uintptr_t)h->page;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	if (ioctl(h->uffd, UFFDIO_REGISTER, &reg))
		return -errno;
	return 0;
}

/* Wait (at most @ms) until something faults on the held page. */
static int held_wait_fault(struct held *h, int ms)
{
	struct pollfd pfd = { .fd = h->uffd, .events = POLLIN };
	struct uffd_msg msg;

	if (poll(&pfd, 1, ms) != 1)
		return -ETIMEDOUT;
	if (read(h->uffd, &msg, sizeof(msg)) != sizeof(msg))
		return -errno;
	return msg.event == UFFD_EVENT_PAGEFAULT ? 0 : -EPROTO;
}

/* Let the fault go on: the page appears, filled with @fill. */
static int held_release(struct held *h, int fill)
{
	static char src[PAGE] __attribute__((aligned(PAGE)));
	struct uffdio_copy copy = {
		.dst = (uintptr_t)h->page,
		.src = (uintptr_t)src,
		.len = PAGE,
	};

	memset(src, fill, PAGE);
	if (ioctl(h->uffd, UFFDIO_COPY, &copy) && errno != EEXIST)
		return -errno;
	return 0;
}

static void held_fini(struct held *h)
{
	if (h->page != MAP_FAILED)
		munmap(h->page, PAGE);
	if (h->uffd >= 0)
		close(h->uffd);
}

/* --- the fixture -------------------------------------------------------- */

FIXTURE(st) {
	uint32_t id;
	int root;
	int a, b;
	struct held h;
	bool skip;
};

FIXTURE_SETUP(st)
{
	int err;

	self->root = self->a = self->b = -EBADF;
	self->h.uffd = -1;
	self->h.page = MAP_FAILED;
	err = held_init(&self->h);
	if (err) {
		self->skip = true;
		SKIP(return, "userfaultfd: %s", strerror(-err));
	}
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, SLOT_A, 0);
	capstore_node_clear(self->root, SLOT_B, 0);
	capstore_node_clear(self->root, SLOT_FREE, 0);
	self->a = capstore_node_create(self->root, SLOT_A,
				       CAPSTORE_KIND_SEGMENT,
				       SEG_PAGES * PAGE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->a);
	self->b = capstore_node_create(self->root, SLOT_B,
				       CAPSTORE_KIND_SEGMENT,
				       SEG_PAGES * PAGE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->b);
	/* Something for every checkpoint below to write. */
	ASSERT_EQ(0, capstore_cap_checkpoint(self->root, 0, NULL));
}

FIXTURE_TEARDOWN(st)
{
	held_fini(&self->h);
	if (self->skip)
		return;
	if (self->a >= 0)
		close(self->a);
	if (self->b >= 0)
		close(self->b);
	if (self->root >= 0)
		close(self->root);
	EXPECT_EQ(0, cs_detach(self->id));
}

/*
 * Start @ops while @held is blocked in the kernel on the held page, and
 * expect every one to finish before the page is resolved; then resolve it
 * and wait for everything.
 */
static void run_while_held(struct __test_metadata *_metadata,
			   struct held *h, struct op *held_op,
			   struct op *ops, int n)
{
	int i, done;

	ASSERT_EQ(0, op_start(held_op));
	ASSERT_EQ(0, held_wait_fault(h, bound_ms()))
		TH_LOG("%s never touched the held page", held_op->name);
	for (i = 0; i < n; i++)
		ASSERT_EQ(0, op_start(&ops[i]));
	done = ops_wait(ops, n, bound_ms());
	for (i = 0; i < n; i++) {
		EXPECT_TRUE(atomic_load(&ops[i].done))
			TH_LOG("%s waited for the held page of %s (%d ms)",
			       ops[i].name, held_op->name, bound_ms());
	}
	EXPECT_FALSE(atomic_load(&held_op->done))
		TH_LOG("%s finished without its page", held_op->name);
	EXPECT_EQ(n, done);
	ASSERT_EQ(0, held_release(h, 0x5a));
	pthread_join(held_op->thread, NULL);
	for (i = 0; i < n; i++)
		pthread_join(ops[i].thread, NULL);
}

TEST_F(st, write_source)
{
	static char buf[PAGE];
	int a2 = dup(self->a);
	struct op w = { .name = "pwrite from the held page", .kind = OP_PWRITE,
			.fd = self->a, .buf = self->h.page, .len = PAGE };
	struct op ops[] = {
		{ .name = "CHECKPOINT", .kind = OP_CHECKPOINT, .fd = self->root },
		{ .name = "pwrite to segment B", .kind = OP_PWRITE, .fd = self->b,
		  .buf = buf, .len = PAGE },
		{ .name = "pwrite to another page of A", .kind = OP_PWRITE,
		  .fd = a2, .buf = buf, .len = PAGE, .off = 4 * PAGE },
	};
	struct op rev = { .name = "REVOKE of A", .kind = OP_REVOKE,
			  .fd = self->a };
	int fresh;

	ASSERT_LE(0, a2);
	memset(buf, 0x11, sizeof(buf));
	run_while_held(_metadata, &self->h, &w, ops, 3);
	EXPECT_EQ(0, ops[0].ret);
	EXPECT_EQ(PAGE, ops[1].ret);
	EXPECT_EQ(PAGE, ops[2].ret);
	EXPECT_EQ(PAGE, w.ret);

	/* Again, and now the owner revokes the writer's capability. */
	held_fini(&self->h);
	ASSERT_EQ(0, held_init(&self->h));
	w.buf = self->h.page;
	w.fd = a2;
	run_while_held(_metadata, &self->h, &w, &rev, 1);
	fresh = rev.ret;
	ASSERT_LE(0, fresh) TH_LOG("revoke: %s", strerror(-fresh));
	/* It copied nothing before the revoke, so nothing after it. */
	EXPECT_EQ(-EKEYREVOKED, w.ret);
	close(fresh);
	close(a2);
}

TEST_F(st, write_source_partial)
{
	static char buf[PAGE];
	char *src = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct uffdio_register reg = {};
	struct op w = { .name = "pwrite of two pages", .kind = OP_PWRITE,
			.fd = self->a, .buf = src, .len = 2 * PAGE };
	struct op ops[] = {
		{ .name = "CHECKPOINT", .kind = OP_CHECKPOINT, .fd = self->root },
		{ .name = "pwrite to segment B", .kind = OP_PWRITE, .fd = self->b,
		  .buf = buf, .len = PAGE },
	};
	int i;

	ASSERT_NE(MAP_FAILED, src);
	memset(src, 0x22, PAGE);
	/* The second page of the source is the held one. */
	munmap(self->h.page, PAGE);
	self->h.page = mmap(src + PAGE, PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	ASSERT_EQ(src + PAGE, self->h.page);
	reg.range.start = (uintptr_t)self->h.page;
	reg.range.len = PAGE;
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
	ASSERT_EQ(0, ioctl(self->h.uffd, UFFDIO_REGISTER, &reg));

	run_while_held(_metadata, &self->h, &w, ops, 2);
	EXPECT_EQ(0, ops[0].ret);
	EXPECT_EQ(PAGE, ops[1].ret);
	EXPECT_EQ(2 * PAGE, w.ret);
	memset(buf, 0, sizeof(buf));
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(PAGE, pread(self->a, buf, PAGE, i * PAGE));
		EXPECT_EQ(i ? 0x5a : 0x22, buf[0]);
		EXPECT_EQ(i ? 0x5a : 0x22, buf[PAGE - 1]);
	}
	munmap(src, PAGE);	/* the held page is held_fini()'s */
}

TEST_F(st, read_dest)
{
	static char buf[PAGE];
	int a2 = dup(self->a);
	struct op r = { .name = "pread into the held page", .kind = OP_PREAD,
			.fd = self->a, .buf = self->h.page, .len = PAGE };
	struct op ops[] = {
		{ .name = "CHECKPOINT", .kind = OP_CHECKPOINT, .fd = self->root },
		{ .name = "pwrite to the page being read", .kind = OP_PWRITE,
		  .fd = a2, .buf = buf, .len = PAGE },
		{ .name = "REVOKE of A", .kind = OP_REVOKE, .fd = self->a },
	};

	ASSERT_LE(0, a2);
	memset(buf, 0x33, sizeof(buf));
	ASSERT_EQ(PAGE, pwrite(self->a, buf, PAGE, 0));
	memset(buf, 0x44, sizeof(buf));
	run_while_held(_metadata, &self->h, &r, ops, 3);
	EXPECT_EQ(0, ops[0].ret);
	ASSERT_LE(0, ops[2].ret);
	close(ops[2].ret);
	close(a2);
}

TEST_F(st, ioctl_arg)
{
	static char buf[PAGE];
	int a2 = dup(self->a);
	/* The argument is read from the held page: its first word, size. */
	struct op f = { .name = "FETCH with its argument on the held page",
			.kind = OP_IOCTL, .fd = self->root,
			.buf = self->h.page, .cmd = CAPSTORE_FETCH };
	struct op ops[] = {
		{ .name = "CHECKPOINT", .kind = OP_CHECKPOINT, .fd = self->root },
		{ .name = "pwrite", .kind = OP_PWRITE, .fd = a2, .buf = buf,
		  .len = PAGE },
		{ .name = "STORE into the same node", .kind = OP_STORE,
		  .fd = self->root, .arg = a2 },
	};

	ASSERT_LE(0, a2);
	memset(buf, 0x55, sizeof(buf));
	run_while_held(_metadata, &self->h, &f, ops, 3);
	EXPECT_EQ(0, ops[0].ret);
	EXPECT_EQ(PAGE, ops[1].ret);
	EXPECT_EQ(0, ops[2].ret);
	/* The page came in as 0x5a bytes: a size above a page. */
	EXPECT_EQ(-E2BIG, f.ret);
	close(a2);
}

TEST_F(st, section_reenter)
{
	static char buf[PAGE];
	const char *dev = cs_test_dev();
	int sec = dup(self->a), sec2 = dup(self->b), sec3 = dup(self->root);
	struct op cp = { .name = "CHECKPOINT", .kind = OP_CHECKPOINT,
			 .fd = self->root };
	struct op other = { .name = "section of another thread",
			    .kind = OP_SECTION, .fd = sec3 };
	long long broken0 = cs_store_get(dev, "sections_broken");
	long long seq0 = cs_store_get(dev, "seq");
	char timeout[16];

	ASSERT_LE(0, sec);
	ASSERT_LE(0, sec2);
	ASSERT_LE(0, sec3);
	snprintf(timeout, sizeof(timeout), "%d", bound_ms());
	ASSERT_EQ(0, cs_store_set(dev, "section_timeout_ms", timeout));
	ASSERT_EQ(0, capstore_section_begin(sec, 0));
	ASSERT_EQ(PAGE, pwrite(self->a, buf, PAGE, 0));
	ASSERT_EQ(0, op_start(&cp));
	usleep(300000);
	ASSERT_EQ(0, op_start(&other));
	usleep(300000);
	EXPECT_FALSE(atomic_load(&cp.done)) TH_LOG("checkpoint did not wait");
	EXPECT_FALSE(atomic_load(&other.done))
		TH_LOG("another thread's section did not wait");

	/* The holder goes on: nested, and on another capability. */
	EXPECT_EQ(0, capstore_section_begin(sec, 0));
	EXPECT_EQ(0, capstore_section_begin(sec2, 0));
	EXPECT_EQ(seq0, cs_store_get(dev, "seq"))
		TH_LOG("the holder's sections waited for the checkpoint");
	ASSERT_EQ(PAGE, pwrite(self->b, buf, PAGE, 0));
	EXPECT_EQ(0, capstore_section_end(sec2, 0));
	EXPECT_EQ(0, capstore_section_end(sec, 0));
	EXPECT_FALSE(atomic_load(&cp.done))
		TH_LOG("checkpoint did not wait for the outer section");
	EXPECT_EQ(0, capstore_section_end(sec, 0));
	EXPECT_EQ(broken0, cs_store_get(dev, "sections_broken"));

	pthread_join(cp.thread, NULL);
	pthread_join(other.thread, NULL);
	EXPECT_EQ(0, cp.ret);
	EXPECT_EQ(0, other.ret);
	EXPECT_EQ(0, capstore_section_end(sec3, 0));
	EXPECT_EQ(0, cs_store_get(dev, "sections_open"));
	EXPECT_EQ(0, cs_store_set(dev, "section_timeout_ms", "2000"));
	close(sec);
	close(sec2);
	close(sec3);
}

/* --- the function tracer ---------------------------------------------- */

#define TRACEFS		"/sys/kernel/tracing"

static int tfs_write(const char *file, const char *val)
{
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

#define RA_PAGES	256

TEST_F(st, readahead_context)
{
	static char buf[RA_PAGES * PAGE];
	int seg, i, traced = 0, in_irq = 0;
	bool mounted = false;
	char line[512], first_irq[512] = "";
	FILE *f;

	/* A segment on disk, not in memory: write, detach, attach. */
	capstore_node_clear(self->root, SLOT_FREE, 0);
	seg = capstore_node_create(self->root, SLOT_FREE,
				   CAPSTORE_KIND_SEGMENT, sizeof(buf),
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	for (i = 0; i < RA_PAGES; i++)
		memset(buf + i * PAGE, i + 1, PAGE);
	ASSERT_EQ((ssize_t)sizeof(buf), pwrite(seg, buf, sizeof(buf), 0));
	close(seg);
	close(self->a);
	close(self->b);
	close(self->root);
	self->a = self->b = self->root = -EBADF;
	ASSERT_EQ(0, cs_detach(self->id));
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	seg = capstore_node_fetch(self->root, SLOT_FREE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);

	if (access(TRACEFS "/trace", F_OK)) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL)) {
			close(seg);
			SKIP(return, "no tracefs");
		}
		mounted = true;
	}
	tfs_write("tracing_on", "0");
	if (tfs_write("current_tracer", "nop") ||
	    tfs_write("set_ftrace_filter", "capstore_crc") ||
	    tfs_write("current_tracer", "function")) {
		tfs_write("set_ftrace_filter", "");
		if (mounted)
			umount(TRACEFS);
		close(seg);
		SKIP(return, "no function tracer for capstore_crc");
	}
	tfs_write("trace", "");
	tfs_write("tracing_on", "1");
	memset(buf, 0, sizeof(buf));
	EXPECT_EQ((ssize_t)sizeof(buf), pread(seg, buf, sizeof(buf), 0));
	tfs_write("tracing_on", "0");
	for (i = 0; i < RA_PAGES; i++)
		EXPECT_EQ((char)(i + 1), buf[i * PAGE + PAGE - 1]);

	f = fopen(TRACEFS "/trace", "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ']');

		/* "task-PID [CPU] FLAGS TIME: capstore_crc <-caller" */
		if (line[0] == '#' || !p || !strstr(line, "capstore_crc"))
			continue;
		traced++;
		while (*++p == ' ')
			;
		/* FLAGS: irqs-off, need-resched, hardirq/softirq, ... */
		if (strlen(p) > 3 && (p[2] == 'h' || p[2] == 's' ||
				      p[2] == 'H')) {
			if (!in_irq++)
				snprintf(first_irq, sizeof(first_irq), "%s",
					 line);
		}
	}
	fclose(f);
	tfs_write("current_tracer", "nop");
	tfs_write("set_ftrace_filter", "");
	tfs_write("trace", "");
	if (mounted)
		umount(TRACEFS);
	close(seg);
	EXPECT_LT(RA_PAGES / 2, traced)
		TH_LOG("capstore_crc traced %d times for %d pages read",
		       traced, RA_PAGES);
	EXPECT_EQ(0, in_irq)
		TH_LOG("%d of %d checksums in interrupt context, e.g. %s",
		       in_irq, traced, first_irq);
}

CS_HARNESS_MAIN
