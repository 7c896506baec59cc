// SPDX-License-Identifier: GPL-2.0
/*
 * fault_inject - every error path of the store, driven by the kernel's
 * fault injection, and the disk failing under the store.
 *
 * Memory and helpers (the debug kernel: CONFIG_FAULT_INJECTION_DEBUG_FS).
 * Each operation of the store (attach, root, every capability ioctl, mmap
 * faults, read, write, checkpoint, fsync, detach) runs again and again
 * with the n-th fault site it reaches failing: an allocation (failslab,
 * fail_page_alloc) or a call of one ALLOW_ERROR_INJECTION helper
 * (fail_function) on its path. The step is set per thread with
 * /proc/thread-self/fail-nth, so only the test's own thread is hit, and
 * the other fault types are turned off so that they do not count (see
 * fi_setup()). A run without a fault counts the sites first; then sites
 * 1..FI_DENSE, FI_SAMPLE more at random and the last fail in turn
 * (plan_steps()), or with FI_FULL=1 every site, n = 1, 2, 3 ... until a
 * run completes without reaching the n-th. After each step the test
 * checks, with injection off:
 *
 *   - the operation succeeded or failed with an error it may return
 *     (ENOMEM, the helper's error, SIGBUS for a mapping ...);
 *   - a failed operation changed nothing: slots, segment bytes, the
 *     number of objects, open capabilities and fds are as before;
 *   - no reservation leaked: after a checkpoint nothing is dirty, so
 *     sysfs dirty_bytes is 0;
 *   - the store works: the next operations and a checkpoint succeed;
 *   - a checkpoint that failed either left the store running (and the
 *     next one commits everything) or shut it down with the documented
 *     message; then detach, fsck and attach again give back exactly the
 *     last committed checkpoint.
 *
 * After every operation a fault reached the store is detached, checked
 * with "capstore fsck" and attached again, and must hold exactly what was
 * committed. kmemleak runs after the boot (the debug lane).
 *
 * Disk (dm-flakey, dm's error target, dm-dust, fail_make_request): a
 * checkpoint hit by a write error fails, says so and shuts the store
 * down; the previous checkpoint stays the recovery point on the plain
 * device; a read of a bad block fails (EIO, SIGBUS) and never returns
 * other data; an unreadable header slot fails attach.
 * Documentation/testing.rst, "Fault injection and concurrency stress".
 *
 * Environment: CS_TEST_DEV (the store's disk, formatted by the tests
 * themselves), FI_FULL (1: every fault site), FI_DENSE (4), FI_SAMPLE (3),
 * CS_SEED (the sample's seed), FI_OPS (comma-separated operations to run;
 * default all, for a helper the ones that reach it), FI_MAX_STEPS (per
 * operation, default 5000), FI_CYCLE_EVERY (detach, fsck and attach after
 * every N-th failed checkpoint that left the store running, default 16),
 * FI_VERBOSE (the fault attributes' verbose level, default 0).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"
#include "cs_dm.h"

#define PAGE		4096
#define S0_PAGES	16
#define S0_SIZE		(S0_PAGES * PAGE)
#define S2_SIZE		(2 * PAGE)
#define NSLOTS		CAPSTORE_NODE_SLOTS
#define DBGFS		"/sys/kernel/debug"

/* Root slots of the test store. */
enum {
	SL_S0,		/* segment S0, every right */
	SL_N1,		/* node N1; its slot 0 holds S0 read-only */
	SL_S2,		/* segment S2, revoked and destroyed by the tests */
	SL_FWD,		/* control capability of a forwarder to S0 */
	SL_FWDCAP,	/* S0 through that forwarder, read-only */
	SL_SCR,		/* create, store, clear, forward go here */
	SL_DIRTY,	/* toggled to dirty a node before checkpoints */
	SL_DIRTY_OBJ,	/* a node created and destroyed likewise */
};

#define RIGHTS_RO	(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP)

/* ------------------------------------------------------------------ */
/* Messages: TAP comments; a failed check returns -1 up the stack.    */

static const char *cur_what = "";

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "# ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define BAD(...) do {							\
		msg("%s: %s:%d: ", cur_what, __func__, __LINE__);	\
		msg(__VA_ARGS__);					\
		return -1;						\
	} while (0)

#define CHECK(cond, ...) do { if (!(cond)) BAD(__VA_ARGS__); } while (0)
#define TRY(expr) do { if ((expr) < 0) return -1; } while (0)

static const char *errname(int err)
{
	static char buf[32];

	switch (err) {
	case 0: return "success";
	case -ENOMEM: return "ENOMEM";
	case -EIO: return "EIO";
	case -ENOSPC: return "ENOSPC";
	case -EFAULT: return "SIGBUS";
	case -ENOENT: return "ENOENT";
	case -EKEYREVOKED: return "EKEYREVOKED";
	case -EAGAIN: return "EAGAIN";
	case -EINTR: return "EINTR";
	case -EBUSY: return "EBUSY";
	case -EEXIST: return "EEXIST";
	case -EBADMSG: return "EBADMSG";
	case -EUCLEAN: return "EUCLEAN";
	}
	snprintf(buf, sizeof(buf), "errno %d", -err);
	return buf;
}

/* ------------------------------------------------------------------ */
/* Files.                                                              */

static int put_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int put_fmt(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int put_fmt(const char *path, const char *fmt, ...)
{
	char buf[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return put_str(path, buf);
}

/*
 * No early writeback while a test runs: the flusher first looks at a
 * store a writeback interval (5 s) after its first dirty page and then
 * writes everything, from its own thread. A write error it meets shuts
 * the store down before the checkpoint a test is waiting for, and the
 * pages it cleans change what each step's checkpoint does. An hour, then
 * the old value back (0 would mean at once).
 */
#define WRITEBACK_KNOB "/proc/sys/vm/dirty_writeback_centisecs"
static char wb_saved[32];

static void wb_hold(void)
{
	int fd = open(WRITEBACK_KNOB, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0) {
		n = read(fd, wb_saved, sizeof(wb_saved) - 1);
		close(fd);
	}
	wb_saved[n > 0 ? n : 0] = '\0';
	put_str(WRITEBACK_KNOB, "360000");
}

static void wb_restore(void)
{
	if (wb_saved[0])
		put_str(WRITEBACK_KNOB, wb_saved);
}

/* Run a shell command; its output becomes comments if it fails. */
static int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_cmd(const char *fmt, ...)
{
	char cmd[512], line[512];
	FILE *p, *out;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out = tmpfile();
	if (!out)
		return -1;
	fflush(stdout);
	fflush(stderr);
	{
		char full[600];

		snprintf(full, sizeof(full), "%s 2>&1", cmd);
		p = popen(full, "r");
	}
	if (!p) {
		fclose(out);
		return -1;
	}
	while (fgets(line, sizeof(line), p))
		fputs(line, out);
	rc = pclose(p);
	if (rc) {
		msg("$ %s: exit status %d", cmd,
		    WIFEXITED(rc) ? WEXITSTATUS(rc) : -1);
		rewind(out);
		while (fgets(line, sizeof(line), out)) {
			line[strcspn(line, "\n")] = '\0';
			msg("  %s", line);
		}
	}
	fclose(out);
	return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* The kernel log since a mark.                                        */

static int kmsg_fd = -1;
static char kmsg_seen[64][512];
static unsigned int kmsg_nseen;

static void kmsg_mark(void)
{
	kmsg_nseen = 0;
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

/* Does a record since the mark contain @needle? Copies it to @out. */
static bool kmsg_find(const char *needle, char *out, size_t outlen)
{
	char rec[1024];
	unsigned int i;
	ssize_t n;

	if (kmsg_fd < 0)
		return false;
	/* records already read since the mark stay searchable */
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		snprintf(kmsg_seen[kmsg_nseen % 64], sizeof(kmsg_seen[0]),
			 "%.500s", rec);
		kmsg_nseen++;
	}
	for (i = 0; i < 64 && i < kmsg_nseen; i++) {
		const char *r = kmsg_seen[(kmsg_nseen - 1 - i) % 64];
		const char *text = strchr(r, ';');

		if (strstr(r, needle)) {
			if (out)
				snprintf(out, outlen, "%s", text ? text + 1 : r);
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------------ */
/* Fault injection knobs.                                              */

enum fi_kind { FI_NONE, FI_SLAB, FI_PAGE, FI_FUNC, FI_BIO };

struct fi_mode {
	enum fi_kind kind;
	const char *name;	/* for messages */
	const char *func;	/* FI_FUNC */
	int retval;		/* FI_FUNC */
	const char *ops;	/* FI_FUNC: the operations that reach it */
	const char *disk;	/* FI_BIO: the disk's sysfs name */
};

static int nth_fd = -1;

static bool fi_available(void)
{
	return !access(DBGFS "/failslab/probability", W_OK) &&
	       !access(DBGFS "/fail_page_alloc/probability", W_OK) &&
	       !access(DBGFS "/fail_function/inject", W_OK) &&
	       !access("/proc/thread-self/fail-nth", W_OK);
}

#define FI_SKIP_REASON "no fault injection in this kernel (/sys/kernel/debug/failslab, fail_page_alloc, fail_function, /proc/*/fail-nth): the debug lane runs it, make check-debug"

static const char *const fi_attrs[] = {
	"failslab", "fail_page_alloc", "fail_function", "fail_make_request",
};

static char fi_bio_disk[32];

/*
 * Only the kind under test may reach should_fail(): fail-nth counts every
 * call, whichever attribute. failslab is kept out by its cache filter (no
 * cache is marked for it), fail_page_alloc by a minimum order above any
 * allocation, fail_function by an empty list, fail_make_request by the
 * disks' make-it-fail. Probability 0 everywhere: nothing but fail-nth ever
 * fails, in no other task.
 */
static int fi_setup(const struct fi_mode *m)
{
	const char *verbose = getenv("FI_VERBOSE");
	char path[160];
	unsigned int i;

	for (i = 0; i < sizeof(fi_attrs) / sizeof(fi_attrs[0]); i++) {
		snprintf(path, sizeof(path), DBGFS "/%s/probability",
			 fi_attrs[i]);
		if (access(path, F_OK))
			continue;
		put_str(path, "0");
		snprintf(path, sizeof(path), DBGFS "/%s/task-filter",
			 fi_attrs[i]);
		put_str(path, "Y");
		snprintf(path, sizeof(path), DBGFS "/%s/verbose", fi_attrs[i]);
		put_str(path, verbose && *verbose ? verbose : "0");
		snprintf(path, sizeof(path), DBGFS "/%s/times", fi_attrs[i]);
		put_str(path, "-1");
		snprintf(path, sizeof(path), DBGFS "/%s/interval",
			 fi_attrs[i]);
		put_str(path, "1");
		snprintf(path, sizeof(path), DBGFS "/%s/space", fi_attrs[i]);
		put_str(path, "0");
	}
	put_str("/proc/self/make-it-fail", "1");

	put_str(DBGFS "/failslab/ignore-gfp-wait", "N");
	put_str(DBGFS "/failslab/cache-filter",
		m->kind == FI_SLAB ? "N" : "Y");
	put_str(DBGFS "/fail_page_alloc/ignore-gfp-wait", "N");
	put_str(DBGFS "/fail_page_alloc/ignore-gfp-highmem", "N");
	put_str(DBGFS "/fail_page_alloc/min-order",
		m->kind == FI_PAGE ? "0" : "100");
	put_str(DBGFS "/fail_function/inject", "");
	if (fi_bio_disk[0]) {
		snprintf(path, sizeof(path), "/sys/block/%s/make-it-fail",
			 fi_bio_disk);
		put_str(path, "0");
		fi_bio_disk[0] = '\0';
	}
	if (m->kind == FI_FUNC) {
		if (put_str(DBGFS "/fail_function/inject", m->func))
			BAD("cannot inject into %s: not an injectable function of this kernel",
			    m->func);
		snprintf(path, sizeof(path), DBGFS "/fail_function/%s/retval",
			 m->func);
		if (put_fmt(path, "%#llx",
			    (unsigned long long)(long long)m->retval))
			BAD("cannot set %s", path);
	}
	if (m->kind == FI_BIO) {
		snprintf(fi_bio_disk, sizeof(fi_bio_disk), "%s", m->disk);
		snprintf(path, sizeof(path), "/sys/block/%s/make-it-fail",
			 m->disk);
		if (put_str(path, "1"))
			BAD("cannot set %s", path);
	}
	if (nth_fd < 0)
		nth_fd = open("/proc/thread-self/fail-nth", O_RDWR | O_CLOEXEC);
	CHECK(nth_fd >= 0, "/proc/thread-self/fail-nth: %s", strerror(errno));
	return 0;
}

static void fi_off(void)
{
	static const struct fi_mode none = { .kind = FI_NONE };

	fi_setup(&none);
	put_str(DBGFS "/failslab/cache-filter", "N");
	put_str(DBGFS "/fail_page_alloc/min-order", "1");
}

/* The @n-th fault site this thread reaches from now on fails. */
static void fi_arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		msg("fail-nth: %s", strerror(errno));
}

/*
 * Stop; returns whether the fault was injected. *@left: what was left of
 * the count (n minus the fault sites passed), 0 once injected.
 */
static bool fi_disarm(unsigned long *left)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (pwrite(nth_fd, "0", 1, 0) != 1)
		msg("fail-nth: %s", strerror(errno));
	*left = n > 0 ? strtoul(buf, NULL, 10) : 0;
	return n > 0 && *left == 0;
}

/* ------------------------------------------------------------------ */
/* SIGBUS from a mapping: a probe returns -EFAULT instead of dying.   */

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

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

static void bus_init(void)
{
	struct sigaction sa = { .sa_handler = on_sigbus };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/*
 * Copy @len bytes page by page; *@done counts pages copied whole. A
 * SIGBUS stops it: -EFAULT.
 */
static int bus_copy(void *dst, const void *src, size_t len,
		    volatile size_t *done)
{
	*done = 0;
	if (sigsetjmp(bus_jmp, 1))
		return -EFAULT;
	bus_armed = 1;
	while (*done * PAGE < len) {
		memcpy((char *)dst + *done * PAGE,
		       (const char *)src + *done * PAGE, PAGE);
		*done = *done + 1;
	}
	bus_armed = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The store and its model.                                            */

struct slotm {
	uint64_t oid;
	uint32_t kind;		/* 0: empty */
	uint32_t rights;
	bool dead;		/* revoked or destroyed: fetch says EKEYREVOKED */
};

struct model {
	uint8_t s0[S0_SIZE];
	uint8_t s2[S2_SIZE];
	struct slotm root[NSLOTS];
	struct slotm n1[NSLOTS];
	long long objects;
	uint64_t seq;
};

static struct {
	const char *dev;
	uint32_t id;
	bool attached;
	int root, s0, n1, s2;
	struct model cur;	/* what the store holds now */
	struct model com;	/* the last committed checkpoint */
	uint64_t rnd;
	unsigned long cycles, shutdowns, cps;
} F = { .root = -1, .s0 = -1, .n1 = -1, .s2 = -1 };

static uint64_t rnd(void)
{
	return cs_mix(F.rnd++);
}

static void fill_rnd(uint8_t *p, size_t len)
{
	uint64_t v;
	size_t i;

	for (i = 0; i < len; i += 8) {
		v = rnd();
		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static long long sysfs_get(const char *attr)
{
	return cs_store_get(F.dev, attr);
}

static int sysfs_set(const char *attr, const char *val)
{
	return cs_store_set(F.dev, attr, val);
}

static bool store_shut(void)
{
	return F.attached && sysfs_get("shutdown") == 1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void fx_close(void)
{
	close_fd(&F.root);
	close_fd(&F.s0);
	close_fd(&F.n1);
	close_fd(&F.s2);
}

static int fx_ncaps(void)
{
	return (F.root >= 0) + (F.s0 >= 0) + (F.n1 >= 0) + (F.s2 >= 0);
}

/* Settings reset at every attach: nothing checkpoints on its own. */
static int fx_tune(void)
{
	CHECK(!sysfs_set("interval_ms", "0"), "interval_ms");
	CHECK(!sysfs_set("dirty_limit_bytes", "1099511627776"),
	      "dirty_limit_bytes");
	return 0;
}

static int fx_open(void)
{
	F.root = cs_root(F.id);
	CHECK(F.root >= 0, "root: %s", errname(F.root));
	if (!F.cur.root[SL_S0].kind)
		return 0;	/* being built */
	F.s0 = capstore_node_fetch(F.root, SL_S0, CAPSTORE_FD_CLOEXEC);
	CHECK(F.s0 >= 0, "fetch S0: %s", errname(F.s0));
	F.n1 = capstore_node_fetch(F.root, SL_N1, CAPSTORE_FD_CLOEXEC);
	CHECK(F.n1 >= 0, "fetch N1: %s", errname(F.n1));
	F.s2 = -1;
	if (F.cur.root[SL_S2].kind && !F.cur.root[SL_S2].dead) {
		F.s2 = capstore_node_fetch(F.root, SL_S2,
					   CAPSTORE_FD_CLOEXEC);
		CHECK(F.s2 >= 0, "fetch S2: %s", errname(F.s2));
	}
	return 0;
}

static int fx_attach(void)
{
	int ret = cs_attach_path(F.dev, &F.id);

	CHECK(!ret, "attach %s: %s", F.dev, errname(ret));
	F.attached = true;
	TRY(fx_tune());
	return fx_open();
}

/* The slot as the store has it: kind 0 if empty, dead if revoked. */
static int slot_get(int node, unsigned int slot, struct slotm *out)
{
	struct capstore_cap_info info;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = capstore_node_fetch(node, slot, CAPSTORE_FD_CLOEXEC);
	if (fd == -ENOENT)
		return 0;
	if (fd == -EKEYREVOKED) {
		out->dead = true;
		return 0;
	}
	if (fd < 0)
		return fd;
	ret = capstore_cap_info(fd, &info);
	close(fd);
	if (ret)
		return ret;
	out->oid = info.out_oid;
	out->kind = info.out_kind;
	out->rights = info.out_rights;
	return 0;
}

static int slots_verify(int node, const struct slotm *want, const char *name)
{
	struct slotm got;
	unsigned int i;
	int ret;

	for (i = 0; i < NSLOTS; i++) {
		ret = slot_get(node, i, &got);
		CHECK(!ret, "%s slot %u: fetch: %s", name, i, errname(ret));
		if (want[i].dead) {
			CHECK(got.dead, "%s slot %u: a dead capability expected, found %s",
			      name, i, got.kind ? "a live one" : "nothing");
			continue;
		}
		CHECK(!got.dead, "%s slot %u: dead, expected %s", name, i,
		      want[i].kind ? "a live capability" : "empty");
		CHECK(got.kind == want[i].kind && got.oid == want[i].oid &&
		      (!got.kind || got.rights == want[i].rights),
		      "%s slot %u: kind %u oid %" PRIu64 " rights %#x, expected kind %u oid %" PRIu64 " rights %#x",
		      name, i, got.kind, got.oid, got.rights, want[i].kind,
		      want[i].oid, want[i].rights);
	}
	return 0;
}

static int bytes_verify(int fd, const uint8_t *want, size_t len,
			const char *name)
{
	static uint8_t buf[S0_SIZE];
	ssize_t n = pread(fd, buf, len, 0);
	size_t i;

	CHECK(n == (ssize_t)len, "%s: read %zd of %zu bytes: %s", name, n,
	      len, strerror(errno));
	for (i = 0; i < len && buf[i] == want[i]; i++)
		;
	CHECK(i == len, "%s: byte %zu (page %zu) is %#x, expected %#x",
	      name, i, i / PAGE, buf[i], want[i]);
	return 0;
}

/* The store, through capabilities, is exactly @m. */
static int fx_verify(const struct model *m)
{
	long long n;

	TRY(slots_verify(F.root, m->root, "root"));
	if (F.n1 >= 0)
		TRY(slots_verify(F.n1, m->n1, "N1"));
	TRY(bytes_verify(F.s0, m->s0, S0_SIZE, "S0"));
	if (F.s2 >= 0)
		TRY(bytes_verify(F.s2, m->s2, S2_SIZE, "S2"));
	n = sysfs_get("objects");
	CHECK(n == m->objects, "%lld objects, expected %lld", n, m->objects);
	n = sysfs_get("open_caps");
	CHECK(n == fx_ncaps(), "%lld capabilities open, expected %d", n,
	      fx_ncaps());
	return 0;
}

/* A checkpoint with faults off: must commit everything. */
static int fx_checkpoint(void)
{
	uint64_t seq = 0;
	long long dirty;
	int ret = capstore_cap_checkpoint(F.root, 0, &seq);

	CHECK(!ret, "checkpoint: %s", errname(ret));
	CHECK(seq >= F.com.seq, "checkpoint seq %" PRIu64 " after %" PRIu64,
	      seq, F.com.seq);
	F.com = F.cur;
	F.com.seq = F.cur.seq = seq;
	dirty = sysfs_get("dirty_bytes");
	CHECK(dirty == 0, "dirty_bytes %lld after a checkpoint: a reservation leaked",
	      dirty);
	F.cps++;
	return 0;
}

static int fsck(void)
{
	return run_cmd("capstore fsck %s", F.dev);
}

/*
 * Detach (a final checkpoint unless the store is shut down), fsck,
 * attach again: the store must be exactly the last committed checkpoint.
 */
static int fx_cycle(void)
{
	bool shut = store_shut();
	char line[256];
	int ret;

	fx_close();
	kmsg_mark();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	if (shut) {
		CHECK(kmsg_find("detaching without a final checkpoint", line,
				sizeof(line)),
		      "detaching a shut down store: no \"detaching without a final checkpoint\" in the kernel log");
		F.cur = F.com;
	} else {
		F.com = F.cur;
	}
	TRY(fsck());
	TRY(fx_attach());
	F.cycles++;
	if (fx_verify(&F.com))
		BAD("after detach, fsck and attach: not the last committed checkpoint");
	F.cur = F.com;
	F.cur.seq = F.com.seq = (uint64_t)sysfs_get("seq");
	return 0;
}

/* Recover from a shutdown: the log named the recovery point. */
static int fx_recover(void)
{
	char want[96], line[256];

	snprintf(want, sizeof(want), "checkpoint %" PRIu64 " is the recovery point",
		 F.com.seq);
	CHECK(kmsg_find("store shut down", line, sizeof(line)),
	      "shut down without \"store shut down\" in the kernel log");
	CHECK(strstr(line, want), "kernel log: \"%s\", expected \"... %s\"",
	      line, want);
	/* changes are refused now */
	if (F.s0 >= 0) {
		char b = 1;
		ssize_t n = pwrite(F.s0, &b, 1, 0);

		CHECK(n < 0 && errno == EIO, "write to a shut down store: %zd (%s)",
		      n, strerror(errno));
	} else {
		int fd = capstore_node_fetch(F.root, SL_S0,
					     CAPSTORE_FD_CLOEXEC);

		CHECK(fd == -EIO, "fetch from a shut down store: %s",
		      errname(fd));
	}
	F.shutdowns++;
	return fx_cycle();
}

static void slot_set(struct slotm *s, uint64_t oid, uint32_t kind,
		     uint32_t rights)
{
	s->oid = oid;
	s->kind = kind;
	s->rights = rights;
	s->dead = false;
}

static int cap_oid(int fd, uint64_t *oid, uint32_t *kind)
{
	struct capstore_cap_info info;
	int ret = capstore_cap_info(fd, &info);

	if (ret)
		return ret;
	*oid = info.out_oid;
	if (kind)
		*kind = info.out_kind;
	return 0;
}

static int seg_write(int fd, uint8_t *model, size_t off, size_t len)
{
	uint8_t buf[4 * PAGE];
	ssize_t n;

	fill_rnd(buf, len);
	n = pwrite(fd, buf, len, off);
	CHECK(n == (ssize_t)len, "pwrite %zu at %zu: %zd (%s)", len, off, n,
	      strerror(errno));
	memcpy(model + off, buf, len);
	return 0;
}

/* S2: a fresh segment in root slot SL_S2, written. */
static int fx_make_s2(void)
{
	uint64_t oid = 0;
	uint32_t kind = 0;
	int fd, ret;

	if (F.cur.root[SL_S2].kind || F.cur.root[SL_S2].dead) {
		ret = capstore_node_clear(F.root, SL_S2, 0);
		CHECK(!ret, "clear S2 slot: %s", errname(ret));
		memset(&F.cur.root[SL_S2], 0, sizeof(F.cur.root[SL_S2]));
	}
	close_fd(&F.s2);
	fd = capstore_node_create(F.root, SL_S2, CAPSTORE_KIND_SEGMENT,
				  S2_SIZE, CAPSTORE_FD_CLOEXEC);
	CHECK(fd >= 0, "create S2: %s", errname(fd));
	F.s2 = fd;
	TRY(cap_oid(fd, &oid, &kind));
	slot_set(&F.cur.root[SL_S2], oid, kind, CAPSTORE_RIGHTS_ALL);
	F.cur.objects++;
	return seg_write(fd, F.cur.s2, 0, S2_SIZE);
}

/*
 * Format the test disk and build the store every test starts from,
 * committed; @cycle: and check it from the disk (detach, fsck, attach).
 */
static int fx_init(bool cycle)
{
	uint64_t oid = 0;
	uint32_t kind = 0;
	int fd, ro, ret;

	F.dev = cs_test_dev();
	F.rnd = 0x5eed0000ull + (uint64_t)getpid();
	cs_detach_stale();
	TRY(run_cmd("capstore format --force %s >/dev/null", F.dev));
	memset(&F.cur, 0, sizeof(F.cur));
	F.cur.objects = 1;
	TRY(fx_attach());

	fd = capstore_node_create(F.root, SL_S0, CAPSTORE_KIND_SEGMENT,
				  S0_SIZE, CAPSTORE_FD_CLOEXEC);
	CHECK(fd >= 0, "create S0: %s", errname(fd));
	F.s0 = fd;
	TRY(cap_oid(fd, &oid, &kind));
	slot_set(&F.cur.root[SL_S0], oid, kind, CAPSTORE_RIGHTS_ALL);
	F.cur.objects++;
	TRY(seg_write(F.s0, F.cur.s0, 0, 4 * PAGE));
	TRY(seg_write(F.s0, F.cur.s0, 4 * PAGE, 4 * PAGE));
	TRY(seg_write(F.s0, F.cur.s0, 8 * PAGE, 4 * PAGE));
	TRY(seg_write(F.s0, F.cur.s0, 12 * PAGE, 4 * PAGE));

	fd = capstore_node_create(F.root, SL_N1, CAPSTORE_KIND_NODE, 0,
				  CAPSTORE_FD_CLOEXEC);
	CHECK(fd >= 0, "create N1: %s", errname(fd));
	F.n1 = fd;
	TRY(cap_oid(fd, &oid, &kind));
	slot_set(&F.cur.root[SL_N1], oid, kind, CAPSTORE_RIGHTS_ALL);
	F.cur.objects++;
	ro = capstore_cap_restrict(F.s0, RIGHTS_RO, CAPSTORE_FD_CLOEXEC);
	CHECK(ro >= 0, "restrict: %s", errname(ro));
	ret = capstore_node_store(F.n1, 0, ro, 0);
	close(ro);
	CHECK(!ret, "store in N1: %s", errname(ret));
	F.cur.n1[0] = F.cur.root[SL_S0];
	F.cur.n1[0].rights = RIGHTS_RO;

	TRY(fx_make_s2());

	fd = capstore_cap_forward(F.s0, F.root, SL_FWD, RIGHTS_RO,
				  CAPSTORE_FD_CLOEXEC);
	CHECK(fd >= 0, "forward: %s", errname(fd));
	ret = capstore_node_store(F.root, SL_FWDCAP, fd, 0);
	close(fd);
	CHECK(!ret, "store the forwarded capability: %s", errname(ret));
	TRY(slot_get(F.root, SL_FWD, &F.cur.root[SL_FWD]));
	F.cur.objects++;
	F.cur.root[SL_FWDCAP] = F.cur.root[SL_S0];
	F.cur.root[SL_FWDCAP].rights = RIGHTS_RO;

	TRY(fx_checkpoint());
	TRY(fx_verify(&F.cur));
	return cycle ? fx_cycle() : 0;
}

static void fx_fini(void)
{
	fi_off();
	fx_close();
	if (F.attached)
		cs_detach(F.id);
	F.attached = false;
}

/*
 * Make the next checkpoint do everything: data pages, a node page, an
 * object table record, a created object and a destroyed one.
 */
static int fx_dirty(void)
{
	size_t off = (rnd() % (S0_SIZE - 3 * PAGE)) & ~(size_t)7;
	struct slotm *d = &F.cur.root[SL_DIRTY];
	struct slotm *o = &F.cur.root[SL_DIRTY_OBJ];
	int fd, ret;

	TRY(seg_write(F.s0, F.cur.s0, off, 2 * PAGE + 123));
	if (getenv("FI_VERBOSE"))
		msg("dirty: S0 bytes %zu..%zu", off, off + 2 * PAGE + 123);
	if (F.s2 >= 0)
		TRY(seg_write(F.s2, F.cur.s2, 100, 200));
	if (d->kind) {
		ret = capstore_node_clear(F.root, SL_DIRTY, 0);
		CHECK(!ret, "clear: %s", errname(ret));
		memset(d, 0, sizeof(*d));
	} else {
		ret = capstore_node_store(F.root, SL_DIRTY, F.s0, 0);
		CHECK(!ret, "store: %s", errname(ret));
		*d = F.cur.root[SL_S0];
	}
	if (o->kind) {
		fd = capstore_node_fetch(F.root, SL_DIRTY_OBJ,
					 CAPSTORE_FD_CLOEXEC);
		CHECK(fd >= 0, "fetch: %s", errname(fd));
		ret = capstore_cap_destroy(fd, 0);
		close(fd);
		CHECK(!ret, "destroy: %s", errname(ret));
		ret = capstore_node_clear(F.root, SL_DIRTY_OBJ, 0);
		CHECK(!ret, "clear: %s", errname(ret));
		memset(o, 0, sizeof(*o));
		F.cur.objects--;
	} else {
		uint64_t oid = 0;
		uint32_t kind = 0;

		fd = capstore_node_create(F.root, SL_DIRTY_OBJ,
					  CAPSTORE_KIND_NODE, 0,
					  CAPSTORE_FD_CLOEXEC);
		CHECK(fd >= 0, "create: %s", errname(fd));
		ret = cap_oid(fd, &oid, &kind);
		close(fd);
		CHECK(!ret, "info: %s", errname(ret));
		slot_set(o, oid, kind, CAPSTORE_RIGHTS_ALL);
		F.cur.objects++;
	}
	return 0;
}

/*
 * Nothing in memory: detach (a final checkpoint) and attach again, so
 * that the next use of an object reads its record, its tree and its
 * pages. (drop_caches only may keep a recently used inode.)
 */
static int fx_reattach(void)
{
	int ret;

	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	F.com = F.cur;
	TRY(fx_attach());
	F.com.seq = F.cur.seq = (uint64_t)sysfs_get("seq");
	return 0;
}

/* S0 cold: its next use reads the tree and the pages again. */
static int fx_cold_s0(void)
{
	return fx_reattach();
}

/* ------------------------------------------------------------------ */
/* The operations. run() is armed; check() sees its result disarmed.  */

struct op {
	const char *name;
	int (*prep)(void);
	int (*run)(void);
	int (*check)(int ret);
	unsigned int flags;
};

#define OP_MAY_SHUTDOWN	(1U << 0)	/* a checkpoint: may shut down */
#define OP_MAY_SIGBUS	(1U << 1)	/* a mapping: -EFAULT is SIGBUS */
#define OP_MAY_EIO	(1U << 2)	/* does I/O: EIO is an answer */

static int op_fd = -1;		/* the fd an operation made */
static int op_ctl = -1;		/* the control device, opened by prep */
static int base_fds;		/* the lowest free fd before the op */
static long long base_caps;	/* open_caps before */
static long long base_failed;	/* failed_checkpoints before */

/* After a failed op: no fd, capability or object made. */
static int nothing_new(void)
{
	long long n;
	int fd = cs_next_fd();

	CHECK(fd == base_fds, "an fd leaked: next fd %d, was %d", fd, base_fds);
	n = sysfs_get("open_caps");
	CHECK(n == base_caps, "open_caps %lld, was %lld", n, base_caps);
	n = sysfs_get("objects");
	CHECK(n == F.cur.objects, "objects %lld, expected %lld", n,
	      F.cur.objects);
	return 0;
}

static int slot_is(int node, unsigned int slot, const struct slotm *want,
		   const char *name)
{
	struct slotm got;
	int ret = slot_get(node, slot, &got);

	CHECK(!ret, "%s slot %u: %s", name, slot, errname(ret));
	if (want->dead && got.dead)
		return 0;	/* a dead capability tells nothing more */
	CHECK(got.dead == want->dead && got.kind == want->kind &&
	      got.oid == want->oid && (!got.kind || got.rights == want->rights),
	      "%s slot %u: kind %u oid %" PRIu64 " rights %#x dead %d, expected kind %u oid %" PRIu64 " rights %#x dead %d",
	      name, slot, got.kind, got.oid, got.rights, got.dead,
	      want->kind, want->oid, want->rights, want->dead);
	return 0;
}

/* attach */
static int prep_attach(void)
{
	if (F.attached) {
		fx_close();
		TRY(cs_detach(F.id));
		F.attached = false;
		F.com = F.cur;
	}
	return 0;
}

static int run_attach(void)
{
	return cs_attach_path(F.dev, &F.id);
}

static int check_attach(int ret)
{
	int id = cs_store_id_of(F.dev);

	if (ret) {
		CHECK(id < 0, "attach failed (%s) but store %d is attached",
		      errname(ret), id);
		return 0;
	}
	CHECK(id == (int)F.id, "attached as %u, sysfs says %d", F.id, id);
	F.attached = true;
	TRY(fx_tune());
	TRY(fx_open());
	if (fx_verify(&F.com))
		BAD("attached, but not the last committed checkpoint");
	return 0;
}

/* root */
static int run_root(void)
{
	op_fd = cs_root(F.id);
	return op_fd < 0 ? op_fd : 0;
}

static int check_newfd(int ret)
{
	if (ret)
		return nothing_new();
	CHECK(!capstore_cap_info(op_fd, &(struct capstore_cap_info){ 0 }),
	      "the new capability does not work");
	close_fd(&op_fd);
	return 0;
}

/* create */
static int prep_scr_empty(void)
{
	struct slotm *s = &F.cur.root[SL_SCR];
	int fd, ret;

	if (s->kind && s->oid != F.cur.root[SL_S0].oid) {
		/* made by create or forward: destroy it */
		fd = capstore_node_fetch(F.root, SL_SCR, CAPSTORE_FD_CLOEXEC);
		CHECK(fd >= 0, "fetch: %s", errname(fd));
		ret = capstore_cap_destroy(fd, 0);
		close(fd);
		CHECK(!ret, "destroy: %s", errname(ret));
		F.cur.objects--;
	}
	if (s->kind || s->dead) {
		ret = capstore_node_clear(F.root, SL_SCR, 0);
		CHECK(!ret, "clear: %s", errname(ret));
		memset(s, 0, sizeof(*s));
	}
	return 0;
}

static int create_kind;

static int run_create(void)
{
	op_fd = capstore_node_create(F.root, SL_SCR, create_kind,
				     create_kind == CAPSTORE_KIND_SEGMENT ?
				     3 * PAGE : 0, CAPSTORE_FD_CLOEXEC);
	return op_fd < 0 ? op_fd : 0;
}

static int check_create(int ret)
{
	uint64_t oid = 0;
	uint32_t kind = 0;

	if (ret) {
		TRY(slot_is(F.root, SL_SCR, &F.cur.root[SL_SCR], "root"));
		return nothing_new();
	}
	TRY(cap_oid(op_fd, &oid, &kind));
	close_fd(&op_fd);
	slot_set(&F.cur.root[SL_SCR], oid, kind, CAPSTORE_RIGHTS_ALL);
	F.cur.objects++;
	return slot_is(F.root, SL_SCR, &F.cur.root[SL_SCR], "root");
}

static int run_create_seg(void)
{
	create_kind = CAPSTORE_KIND_SEGMENT;
	return run_create();
}

static int run_create_node(void)
{
	create_kind = CAPSTORE_KIND_NODE;
	return run_create();
}

/* fetch */
static unsigned int fetch_slot;

static int run_fetch(void)
{
	op_fd = capstore_node_fetch(F.root, fetch_slot, CAPSTORE_FD_CLOEXEC);
	return op_fd < 0 ? op_fd : 0;
}

static int run_fetch_s0(void)
{
	fetch_slot = SL_S0;
	return run_fetch();
}

static int run_fetch_fwd(void)
{
	fetch_slot = SL_FWDCAP;
	return run_fetch();
}

static int prep_fetch_cold(void)
{
	/* the forwarder is read again (its record, its page) */
	TRY(fx_reattach());
	close_fd(&F.s0);
	return 0;
}

static int check_fetch_cold(int ret)
{
	TRY(check_newfd(ret));
	F.s0 = capstore_node_fetch(F.root, SL_S0, CAPSTORE_FD_CLOEXEC);
	CHECK(F.s0 >= 0, "fetch S0: %s", errname(F.s0));
	return 0;
}

/* store, clear */
static int run_store(void)
{
	return capstore_node_store(F.root, SL_SCR, F.s0, 0);
}

static int check_store(int ret)
{
	if (!ret)
		F.cur.root[SL_SCR] = F.cur.root[SL_S0];
	TRY(slot_is(F.root, SL_SCR, &F.cur.root[SL_SCR], "root"));
	return nothing_new();
}

static int prep_scr_s0(void)
{
	int ret;

	TRY(prep_scr_empty());
	ret = capstore_node_store(F.root, SL_SCR, F.s0, 0);
	CHECK(!ret, "store: %s", errname(ret));
	F.cur.root[SL_SCR] = F.cur.root[SL_S0];
	/* the root's page clean: the clear reserves a block for it */
	return fx_checkpoint();
}

/*
 * The scratch slot empty and the root's page clean, so that changing a
 * slot reserves a block for it: a failure after the operation dirtied
 * another page (a new forwarder's) must give that page's block back.
 */
static int prep_scr_clean(void)
{
	TRY(prep_scr_empty());
	return fx_checkpoint();
}

static int run_clear(void)
{
	return capstore_node_clear(F.root, SL_SCR, 0);
}

static int check_clear(int ret)
{
	if (!ret)
		memset(&F.cur.root[SL_SCR], 0, sizeof(F.cur.root[SL_SCR]));
	TRY(slot_is(F.root, SL_SCR, &F.cur.root[SL_SCR], "root"));
	return nothing_new();
}

/* restrict */
static int run_restrict(void)
{
	op_fd = capstore_cap_restrict(F.s0, RIGHTS_RO, CAPSTORE_FD_CLOEXEC);
	return op_fd < 0 ? op_fd : 0;
}

static int check_restrict(int ret)
{
	struct capstore_cap_info info;

	if (ret)
		return nothing_new();
	ret = capstore_cap_info(op_fd, &info);
	close_fd(&op_fd);
	CHECK(!ret && info.out_rights == RIGHTS_RO,
	      "restricted capability: %s, rights %#x", errname(ret),
	      info.out_rights);
	return 0;
}

/* revoke, destroy: S2 */
static int prep_s2(void)
{
	if (F.s2 < 0)
		return fx_make_s2();
	return 0;
}

static int run_revoke(void)
{
	op_fd = capstore_cap_revoke(F.s2, CAPSTORE_FD_CLOEXEC);
	return op_fd < 0 ? op_fd : 0;
}

static int s2_alive(void)
{
	struct capstore_cap_info info;
	int ret = capstore_cap_info(F.s2, &info);

	CHECK(!ret, "S2 capability after a failed revoke or destroy: %s",
	      errname(ret));
	TRY(slot_is(F.root, SL_S2, &F.cur.root[SL_S2], "root"));
	return bytes_verify(F.s2, F.cur.s2, S2_SIZE, "S2");
}

static int check_revoke(int ret)
{
	struct capstore_cap_info info;
	int err;

	if (ret) {
		TRY(s2_alive());
		return nothing_new();
	}
	err = capstore_cap_info(F.s2, &info);
	CHECK(err == -EKEYREVOKED, "old S2 capability after revoke: %s",
	      errname(err));
	F.cur.root[SL_S2].dead = true;
	TRY(slot_is(F.root, SL_S2, &F.cur.root[SL_S2], "root"));
	close_fd(&F.s2);
	F.s2 = op_fd;
	op_fd = -1;
	TRY(bytes_verify(F.s2, F.cur.s2, S2_SIZE, "S2 after revoke"));
	/* the fresh capability goes back in the slot */
	err = capstore_node_clear(F.root, SL_S2, 0);
	CHECK(!err, "clear: %s", errname(err));
	err = capstore_node_store(F.root, SL_S2, F.s2, 0);
	CHECK(!err, "store: %s", errname(err));
	F.cur.root[SL_S2].dead = false;
	return slot_is(F.root, SL_S2, &F.cur.root[SL_S2], "root");
}

static int run_destroy(void)
{
	return capstore_cap_destroy(F.s2, 0);
}

static int check_destroy(int ret)
{
	struct capstore_cap_info info;
	int err;

	if (ret) {
		TRY(s2_alive());
		return nothing_new();
	}
	err = capstore_cap_info(F.s2, &info);
	CHECK(err == -EKEYREVOKED, "S2 capability after destroy: %s",
	      errname(err));
	close_fd(&F.s2);
	F.cur.objects--;
	F.cur.root[SL_S2].dead = true;
	F.cur.root[SL_S2].kind = 0;
	F.cur.root[SL_S2].oid = 0;
	TRY(slot_is(F.root, SL_S2, &F.cur.root[SL_S2], "root"));
	err = (int)sysfs_get("objects");
	CHECK(err == F.cur.objects, "objects %d, expected %lld", err,
	      F.cur.objects);
	return 0;
}

/* forward */
static int run_forward(void)
{
	op_fd = capstore_cap_forward(F.s0, F.root, SL_SCR, RIGHTS_RO,
				     CAPSTORE_FD_CLOEXEC);
	return op_fd < 0 ? op_fd : 0;
}

static int check_forward(int ret)
{
	struct capstore_cap_info info;
	struct slotm got;

	if (ret) {
		TRY(slot_is(F.root, SL_SCR, &F.cur.root[SL_SCR], "root"));
		return nothing_new();
	}
	ret = capstore_cap_info(op_fd, &info);
	close_fd(&op_fd);
	CHECK(!ret && (info.out_flags & CAPSTORE_CAP_FORWARDED) &&
	      info.out_oid == F.cur.root[SL_S0].oid,
	      "forwarded capability: %s", errname(ret));
	TRY(slot_get(F.root, SL_SCR, &got));
	CHECK(got.kind && !got.dead, "no forwarder in the slot");
	F.cur.root[SL_SCR] = got;
	F.cur.objects++;
	return nothing_new() ? -1 : 0;
}

/* sections, info */
static int run_section(void)
{
	int ret = capstore_section_begin(F.s0, 0);

	if (ret)
		return ret;
	return capstore_section_end(F.s0, 0);
}

static int check_section(int ret)
{
	long long open = sysfs_get("sections_open");

	(void)ret;
	CHECK(open == 0, "%lld sections open", open);
	return nothing_new();
}

static int run_info(void)
{
	struct capstore_cap_info info;

	return capstore_cap_info(F.s0, &info);
}

static int check_nothing(int ret)
{
	(void)ret;
	return nothing_new();
}

/* mappings */
static uint8_t io_buf[S0_SIZE];
static volatile size_t io_done;
static size_t io_off, io_len;

/*
 * The mapping an operation made; unmapped by its check, with injection
 * off (munmap itself allocates and could fail, leaving the capability
 * mapped).
 */
static void *io_map;

static int io_unmap(void)
{
	int ret = 0;

	if (io_map && munmap(io_map, S0_SIZE))
		ret = -errno;
	io_map = NULL;
	CHECK(!ret, "munmap: %s", errname(ret));
	return 0;
}

static int run_mmap_read(void)
{
	void *map;
	int ret;

	io_done = 0;
	ret = capstore_segment_map(F.s0, 0, S0_SIZE, PROT_READ, &map);
	if (ret)
		return ret;
	io_map = map;
	return bus_copy(io_buf, map, S0_SIZE, &io_done);
}

/* Whatever a read returned is the model's data: never stale or foreign. */
static int check_read(int ret)
{
	size_t n = io_done * PAGE, i;

	(void)ret;
	TRY(io_unmap());
	for (i = 0; i < n && io_buf[i] == F.cur.s0[i]; i++)
		;
	CHECK(i == n, "read returned wrong data at byte %zu (page %zu)", i,
	      i / PAGE);
	return nothing_new();
}

static int prep_write(void)
{
	io_off = (rnd() % (S0_PAGES - 4)) * PAGE;
	io_len = 4 * PAGE;
	fill_rnd(io_buf, io_len);
	return 0;
}

static int prep_write_cold(void)
{
	TRY(fx_cold_s0());
	return prep_write();
}

static int run_mmap_write(void)
{
	void *map;
	int ret;

	io_done = 0;
	ret = capstore_segment_map(F.s0, 0, S0_SIZE, PROT_READ | PROT_WRITE,
				   &map);
	if (ret)
		return ret;
	io_map = map;
	return bus_copy((char *)map + io_off, io_buf, io_len, &io_done);
}

/* The pages written whole are new, the rest as they were. */
static int check_write(int ret)
{
	(void)ret;
	TRY(io_unmap());
	memcpy(F.cur.s0 + io_off, io_buf, io_done * PAGE);
	TRY(bytes_verify(F.s0, F.cur.s0, S0_SIZE, "S0"));
	return nothing_new();
}

static int prep_read_cold(void)
{
	memset(io_buf, 0, sizeof(io_buf));
	return fx_cold_s0();
}

static int run_pread(void)
{
	ssize_t n = pread(F.s0, io_buf, S0_SIZE, 0);

	if (n < 0) {
		io_done = 0;
		return -errno;
	}
	io_done = (size_t)n / PAGE;
	return 0;
}

static int run_pwrite(void)
{
	/* unaligned at both ends: the edge pages are read first */
	ssize_t n = pwrite(F.s0, io_buf, io_len - 300, io_off + 100);

	io_done = 0;
	if (n < 0)
		return -errno;
	io_done = (size_t)n;
	return 0;
}

static int check_pwrite(int ret)
{
	(void)ret;
	memcpy(F.cur.s0 + io_off + 100, io_buf, io_done);
	TRY(bytes_verify(F.s0, F.cur.s0, S0_SIZE, "S0"));
	return nothing_new();
}

/* checkpoint, fsync */
static int prep_cp(void)
{
	base_failed = sysfs_get("failed_checkpoints");
	return fx_dirty();
}

static uint64_t op_seq;

static int run_checkpoint(void)
{
	return capstore_cap_checkpoint(F.root, 0, &op_seq);
}

static int run_fsync(void)
{
	return fsync(F.s0) ? -errno : 0;
}

static int check_cp(int ret)
{
	long long failed = sysfs_get("failed_checkpoints");
	long long seq = sysfs_get("seq");

	if (!ret) {
		CHECK(seq == (long long)F.com.seq + 1,
		      "checkpoint returned, seq %lld after %" PRIu64, seq,
		      F.com.seq);
		F.com = F.cur;
		F.com.seq = F.cur.seq = (uint64_t)seq;
		CHECK(sysfs_get("dirty_bytes") == 0,
		      "dirty_bytes %lld after a checkpoint: a reservation leaked",
		      sysfs_get("dirty_bytes"));
		return fx_verify(&F.cur);
	}
	CHECK(failed == base_failed + 1,
	      "checkpoint failed (%s); failed_checkpoints %lld, was %lld",
	      errname(ret), failed, base_failed);
	CHECK(seq == (long long)F.com.seq, "failed checkpoint, seq %lld, was %" PRIu64,
	      seq, F.com.seq);
	if (store_shut())
		return 0;	/* the caller recovers */
	/* Nothing lost: everything is still there and the next one commits. */
	TRY(fx_verify(&F.cur));
	return fx_checkpoint();
}

/* detach */
static int prep_detach(void)
{
	TRY(fx_dirty());
	fx_close();
	op_ctl = capstore_control_open(0);
	CHECK(op_ctl >= 0, "control device: %s", errname(op_ctl));
	base_caps = 0;
	base_fds = cs_next_fd();
	kmsg_mark();
	return 0;
}

static int run_detach(void)
{
	return capstore_store_detach(op_ctl, F.id, 0);
}

static int check_detach(int ret)
{
	char line[256];

	close_fd(&op_ctl);
	if (ret) {
		CHECK(cs_store_id_of(F.dev) == (int)F.id,
		      "detach failed (%s) but the store is gone", errname(ret));
		if (store_shut()) {
			/* the caller recovers; fetching would say EIO */
			F.root = cs_root(F.id);
			CHECK(F.root >= 0, "root: %s", errname(F.root));
			return 0;
		}
		TRY(fx_open());
		return fx_verify(&F.cur);
	}
	CHECK(cs_store_id_of(F.dev) < 0, "detached, but still in sysfs");
	F.attached = false;
	if (kmsg_find("detaching without a final checkpoint", line,
		      sizeof(line)))
		F.cur = F.com;
	else
		F.com = F.cur;
	TRY(fsck());
	TRY(fx_attach());
	if (fx_verify(&F.com))
		BAD("after detach and attach: not the last checkpoint");
	F.com.seq = F.cur.seq = (uint64_t)sysfs_get("seq");
	return 0;
}

static const struct op ops[] = {
	{ "attach", prep_attach, run_attach, check_attach, OP_MAY_EIO },
	{ "root", NULL, run_root, check_newfd, 0 },
	{ "create_segment", prep_scr_clean, run_create_seg, check_create, 0 },
	{ "create_node", prep_scr_clean, run_create_node, check_create, 0 },
	{ "fetch", NULL, run_fetch_s0, check_newfd, 0 },
	{ "fetch_forwarded", NULL, run_fetch_fwd, check_newfd, 0 },
	{ "fetch_cold", prep_fetch_cold, run_fetch_fwd, check_fetch_cold,
	  OP_MAY_EIO },
	{ "store", prep_scr_clean, run_store, check_store, 0 },
	{ "clear", prep_scr_s0, run_clear, check_clear, 0 },
	{ "restrict", NULL, run_restrict, check_restrict, 0 },
	{ "revoke", prep_s2, run_revoke, check_revoke, 0 },
	{ "destroy", prep_s2, run_destroy, check_destroy, 0 },
	{ "forward", prep_scr_clean, run_forward, check_forward, 0 },
	{ "section", NULL, run_section, check_section, 0 },
	{ "cap_info", NULL, run_info, check_nothing, 0 },
	{ "mmap_read", prep_read_cold, run_mmap_read, check_read,
	  OP_MAY_SIGBUS | OP_MAY_EIO },
	{ "mmap_write", prep_write, run_mmap_write, check_write,
	  OP_MAY_SIGBUS },
	{ "mmap_write_cold", prep_write_cold, run_mmap_write, check_write,
	  OP_MAY_SIGBUS | OP_MAY_EIO },
	{ "read", prep_read_cold, run_pread, check_read, OP_MAY_EIO },
	{ "write", prep_write, run_pwrite, check_pwrite, 0 },
	{ "write_cold", prep_write_cold, run_pwrite, check_pwrite,
	  OP_MAY_EIO },
	{ "checkpoint", prep_cp, run_checkpoint, check_cp,
	  OP_MAY_SHUTDOWN | OP_MAY_EIO },
	{ "fsync", prep_cp, run_fsync, check_cp, OP_MAY_SHUTDOWN | OP_MAY_EIO },
	{ "detach", prep_detach, run_detach, check_detach,
	  OP_MAY_SHUTDOWN | OP_MAY_EIO },
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 10) : dflt;
}

/* FI_FULL=1: every fault site of every operation, not a sample. */
static bool fi_full(void)
{
	return env_ul("FI_FULL", 0) == 1;
}

/* Is @name in the comma-separated @list? */
static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);
	const char *p;

	for (p = list; (p = strstr(p, name)); p += len)
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return true;
	return false;
}

/*
 * The operations to run: FI_OPS if set; else for a helper (fail_function)
 * the ones that reach it, unless FI_FULL; else all.
 */
static bool op_selected(const struct fi_mode *m, const char *name)
{
	const char *sel = getenv("FI_OPS");

	if (sel && *sel)
		return in_list(sel, name);
	if (m->ops && !fi_full())
		return in_list(m->ops, name);
	return true;
}

/* ------------------------------------------------------------------ */
/* Stepping.                                                           */

struct tally {
	unsigned long sites;	/* fault sites of a run without a fault */
	bool sampled;		/* not every site was stepped */
	unsigned long steps, injected, ok_anyway, errs[8];
	int errv[8];
	unsigned int nerr;
};

static void tally_err(struct tally *t, int err)
{
	unsigned int i;

	for (i = 0; i < t->nerr; i++)
		if (t->errv[i] == err)
			break;
	if (i == t->nerr) {
		if (t->nerr == 8)
			return;
		t->errv[t->nerr++] = err;
	}
	t->errs[i]++;
}

static bool err_allowed(const struct fi_mode *m, const struct op *op, int err)
{
	if (err == -ENOMEM)
		return true;
	if (m->kind == FI_FUNC && err == m->retval)
		return true;
	if ((op->flags & OP_MAY_SIGBUS) && err == -EFAULT)
		return true;
	if ((op->flags & OP_MAY_EIO) && err == -EIO)
		return true;
	if ((op->flags & OP_MAY_SHUTDOWN) && err == -ENOSPC)
		return true;
	return false;
}

static unsigned long max_steps(void)
{
	const char *v = getenv("FI_MAX_STEPS");

	return v && *v ? strtoul(v, NULL, 10) : 5000;
}

static unsigned long cycle_every(void)
{
	const char *v = getenv("FI_CYCLE_EVERY");

	return v && *v ? strtoul(v, NULL, 10) : 16;
}

/*
 * Which steps to take when not every one is (FI_FULL unset): the first
 * FI_DENSE (4) fault sites, FI_SAMPLE (3) more drawn at random from the
 * rest (seeded with CS_SEED, the mode and the operation, so that SEED=
 * replays a run), and the last; every site when there are no more than
 * that. Long runs of sites are mostly one loop (the bounce pool's 512
 * pages and the sysfs files at attach, readahead), each of whose steps
 * takes the same error path.
 */
static unsigned long plan_steps(const struct fi_mode *m, const struct op *op,
				unsigned long sites, unsigned long *plan,
				unsigned long max)
{
	unsigned long dense = env_ul("FI_DENSE", 4);
	unsigned long sample = env_ul("FI_SAMPLE", 3);
	uint64_t r = env_ul("CS_SEED", 1);
	unsigned long n = 0, i, j, x;
	const char *c;

	if (dense > max / 2)
		dense = max / 2;
	if (sample > max / 2 - 1)
		sample = max / 2 - 1;
	if (sites <= dense + sample + 1) {
		for (i = 1; i <= sites && n < max; i++)
			plan[n++] = i;
		return n;
	}
	for (c = m->name; *c; c++)
		r = cs_mix(r ^ (uint64_t)*c);
	for (c = op->name; *c; c++)
		r = cs_mix(r ^ (uint64_t)*c);
	for (i = 1; i <= dense; i++)
		plan[n++] = i;
	plan[n++] = sites;
	/* distinct sites between the dense ones and the last */
	while (n < dense + 1 + sample) {
		r = cs_mix(r);
		x = dense + 1 + (unsigned long)(r % (sites - dense - 1));
		for (i = 0; i < n && plan[i] != x; i++)
			;
		if (i == n)
			plan[n++] = x;
	}
	/* in order */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && plan[j - 1] > plan[j]; j--) {
			x = plan[j];
			plan[j] = plan[j - 1];
			plan[j - 1] = x;
		}
	return n;
}

/*
 * One step: prepare, run with the n-th fault site failing, check. Returns
 * 1 if the fault was reached, 0 if the operation ran to its end without.
 */
static int step_one(const struct fi_mode *m, const struct op *op,
		    struct tally *t, unsigned long n)
{
	unsigned long left;
	bool hit;
	int ret;

	if (op->prep && op->prep())
		BAD("step %lu: preparing failed", n);
	kmsg_mark();	/* (re)opens /dev/kmsg: before counting fds */
	base_fds = cs_next_fd();
	base_caps = F.attached ? sysfs_get("open_caps") : 0;
	fi_arm((unsigned int)n);
	ret = op->run();
	hit = fi_disarm(&left);
	t->steps++;
	if (!hit)
		t->sites = n - left;
	if (!hit && ret)
		BAD("step %lu: failed (%s) without reaching the fault", n,
		    errname(ret));
	if (hit) {
		t->injected++;
		tally_err(t, ret);
		if (!ret)
			t->ok_anyway++;
		else if (!err_allowed(m, op, ret))
			BAD("step %lu: the fault gave %s", n, errname(ret));
	}
	if (op->check(ret))
		BAD("step %lu (%s): wrong state after the operation", n,
		    errname(ret));
	if (store_shut()) {
		CHECK(op->flags & OP_MAY_SHUTDOWN,
		      "step %lu (%s): the store shut down", n, errname(ret));
		if (fx_recover())
			BAD("step %lu: recovering from the shutdown", n);
	} else if (hit && ret && (op->flags & OP_MAY_SHUTDOWN) &&
		   cycle_every() && !(t->injected % cycle_every())) {
		/* what the checkpoint after a failed one wrote, from disk */
		if (fx_cycle())
			BAD("step %lu: after a failed checkpoint and a good one",
			    n);
	}
	return hit;
}

static int step_op(const struct fi_mode *m, const struct op *op,
		   struct tally *t)
{
	unsigned long n, i, limit = max_steps(), plan[64], nplan;
	char what[96];
	int hit = 1;

	snprintf(what, sizeof(what), "%s: %s", m->name, op->name);
	cur_what = what;
	memset(t, 0, sizeof(*t));
	if (!F.attached)
		TRY(fx_attach());
	TRY(fi_setup(m));
	if (fi_full()) {
		/* every site in turn, until a run reaches none */
		for (n = 1; n <= limit && hit > 0; n++)
			hit = step_one(m, op, t, n);
		t->sampled = false;
	} else {
		/* a run without a fault counts the sites; then the plan */
		hit = step_one(m, op, t, limit);
		if (!hit) {
			nplan = plan_steps(m, op, t->sites, plan,
					   sizeof(plan) / sizeof(plan[0]));
			for (i = 0; i < nplan && hit >= 0; i++)
				hit = step_one(m, op, t, plan[i]);
			if (hit > 0)
				hit = 0;	/* the last step may reach it */
			t->sampled = t->sites > nplan;
		}
	}
	fi_off();
	if (hit < 0)
		return -1;
	CHECK(!hit, "still reaching faults after %lu steps", limit);
	/*
	 * Everything once more, from the disk, after an operation a fault
	 * reached (one that never met the fault site ran once, normally:
	 * a checkpoint that commits it and leaks nothing is enough).
	 */
	if (!F.attached)
		TRY(fx_attach());
	if (fx_checkpoint() || (t->injected && fx_cycle()))
		BAD("the store after the last step");
	return 0;
}

static void tally_print(const char *mode, const struct op *op,
			const struct tally *t)
{
	char line[256];
	unsigned int i;
	int len;

	len = snprintf(line, sizeof(line), "%s: %-16s %4lu steps, %4lu faults",
		       mode, op->name, t->steps, t->injected);
	if (t->sampled)
		len += snprintf(line + len, sizeof(line) - len,
				" (%lu sites, sampled)", t->sites);
	for (i = 0; i < t->nerr && len < (int)sizeof(line); i++)
		len += snprintf(line + len, sizeof(line) - len, "%s %s %lu",
				i ? "," : ":", errname(t->errv[i]),
				t->errs[i]);
	msg("%s", line);
}

struct fi_totals {
	unsigned long ops, faults;
};

static int step_all(const struct fi_mode *m, struct fi_totals *tot)
{
	struct tally t;
	unsigned int i;

	tot->ops = tot->faults = 0;
	if (fi_full())
		msg("%s: every fault site of every operation (FI_FULL)",
		    m->name);
	else
		msg("%s: the first %lu fault sites of each operation, %lu more at random and the last (seed %lu; FI_FULL=1: all)",
		    m->name, env_ul("FI_DENSE", 4), env_ul("FI_SAMPLE", 3),
		    env_ul("CS_SEED", 1));
	for (i = 0; i < NOPS; i++) {
		if (!op_selected(m, ops[i].name))
			continue;
		if (step_op(m, &ops[i], &t)) {
			tally_print(m->name, &ops[i], &t);
			return -1;
		}
		tally_print(m->name, &ops[i], &t);
		CHECK(!m->ops || !t.injected || getenv("FI_OPS") ||
		      in_list(m->ops, ops[i].name),
		      "%s reaches %s: add it to the helper's list of operations (FI_FUNC_TEST)",
		      ops[i].name, m->func);
		tot->ops++;
		tot->faults += t.injected;
	}
	msg("%s: %lu operations, %lu faults injected, %lu shutdowns, %lu detach-fsck-attach cycles",
	    m->name, tot->ops, tot->faults, F.shutdowns, F.cycles);
	/* a helper no operation reaches: its error paths are untested */
	CHECK(m->kind != FI_FUNC || tot->faults || getenv("FI_OPS"),
	      "%s: no operation reached it (inlined?)", m->func);
	/* the figures for Documentation/testing.rst */
	printf("# CAPSTORE-FI %s ops=%lu faults=%lu shutdowns=%lu\n",
	       m->name, tot->ops, tot->faults, F.shutdowns);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Tests: memory.                                                      */

/*
 * Linux 6.1's harness runs the test body even after SKIP() in the
 * fixture's setup: every body starts with this.
 */
#define SKIPPED() do { if (_metadata->skip) return; } while (0)

FIXTURE(inject) {
	int unused;
};

FIXTURE_SETUP(inject)
{
	bus_init();
	if (!fi_available())
		SKIP(return, FI_SKIP_REASON);
	fi_off();
	wb_hold();
	/* the operations detach and attach it soon enough */
	ASSERT_EQ(0, fx_init(false));
}

FIXTURE_TEARDOWN(inject)
{
	fx_fini();
	wb_restore();
}

static int fi_run(const struct fi_mode *m)
{
	struct fi_totals tot;

	return step_all(m, &tot);
}

TEST_F_TIMEOUT(inject, failslab, 3600)
{
	SKIPPED();
	static const struct fi_mode m = { .kind = FI_SLAB, .name = "failslab" };

	ASSERT_EQ(0, fi_run(&m));
}

TEST_F_TIMEOUT(inject, fail_page_alloc, 3600)
{
	SKIPPED();
	static const struct fi_mode m = { .kind = FI_PAGE, .name = "fail_page_alloc" };

	ASSERT_EQ(0, fi_run(&m));
}

/*
 * Each ALLOW_ERROR_INJECTION helper of kmod/, with the error it returns
 * and the operations that reach it: only those run, unless FI_FULL=1,
 * which runs every operation and fails if one not listed reaches it (the
 * list is then out of date).
 */
#define FI_FUNC_TEST(fn, err, oplist)					\
TEST_F_TIMEOUT(inject, fn, 3600)					\
{									\
	static const struct fi_mode m = {				\
		.kind = FI_FUNC, .name = #fn, .func = #fn, .retval = err, \
		.ops = oplist };					\
									\
	SKIPPED();							\
	ASSERT_EQ(0, fi_run(&m));					\
}

#define OPS_READ	"attach,fetch_cold,mmap_read,mmap_write_cold,read,write_cold"
#define OPS_CP		"checkpoint,fsync,detach"
#define OPS_CREATE	"create_segment,create_node,forward"
#define OPS_CAP		"root,create_segment,create_node,fetch,fetch_forwarded,fetch_cold,restrict,revoke,forward"

FI_FUNC_TEST(cs_read_block, -EIO, OPS_READ)
FI_FUNC_TEST(cs_write_header, -EIO, OPS_CP)
FI_FUNC_TEST(cs_space_alloc, -ENOSPC, OPS_CP)
FI_FUNC_TEST(cs_space_reserve, -ENOSPC,
	     "create_segment,create_node,store,clear,forward,mmap_write,mmap_write_cold,write,write_cold")
FI_FUNC_TEST(cs_space_reserve_tree, -ENOSPC,
	     "mmap_write,mmap_write_cold,write,write_cold")
FI_FUNC_TEST(cs_otable_new, -ENOSPC, OPS_CREATE)
FI_FUNC_TEST(cs_cap_file_via, -ENOMEM, OPS_CAP)
FI_FUNC_TEST(cs_iget, -ENOMEM, OPS_CAP)
FI_FUNC_TEST(cs_tree_get, -EIO, OPS_READ ",forward," OPS_CP)
FI_FUNC_TEST(cs_tree_set, -ENOMEM, OPS_CP)

/* ------------------------------------------------------------------ */
/* Tests: the disk fails under the store.                              */

#define DM_NAME "cs-fi"

static char base_dev[64];	/* the plain disk under the dm device */
static char dm_dev[64];		/* /dev/dm-N */
static int64_t dev_sectors;

static void dm_linear(struct cs_dm_target *t, uint64_t start, uint64_t len)
{
	t->start = start;
	t->len = len;
	t->type = "linear";
	snprintf(t->params, sizeof(t->params), "%s %" PRIu64, base_dev,
		 start);
}

static int dm_set_linear(void)
{
	struct cs_dm_target t;
	int ret;

	dm_linear(&t, 0, (uint64_t)dev_sectors);
	ret = cs_dm_reload(DM_NAME, &t, 1);
	CHECK(!ret, "reload %s as linear: %s", DM_NAME, strerror(-ret));
	return 0;
}

/* flakey, always down, with @feature (error_writes or drop_writes). */
static int dm_set_flakey(const char *feature)
{
	struct cs_dm_target t = {
		.start = 0, .len = (uint64_t)dev_sectors, .type = "flakey",
	};
	int ret;

	/* offset 0, up 0 s, down 1 s: always down; one feature */
	snprintf(t.params, sizeof(t.params), "%s 0 0 1 1 %s", base_dev,
		 feature);
	ret = cs_dm_reload(DM_NAME, &t, 1);
	CHECK(!ret, "reload %s as flakey %s: %s", DM_NAME, feature,
	      strerror(-ret));
	return 0;
}

/* The store on a dm device over the test disk, built and committed. */
static int disk_init(void)
{
	struct cs_dm_target t;
	int ret;

	snprintf(base_dev, sizeof(base_dev), "%s", cs_test_dev());
	cs_dm_remove(DM_NAME);
	dev_sectors = cs_dev_sectors(base_dev);
	CHECK(dev_sectors > 0, "%s: %s", base_dev, strerror((int)-dev_sectors));
	dm_linear(&t, 0, (uint64_t)dev_sectors);
	ret = cs_dm_create(DM_NAME, (uint64_t)dev_sectors, t.type, t.params,
			   dm_dev, sizeof(dm_dev));
	CHECK(!ret, "dm create: %s", strerror(-ret));
	setenv("CS_TEST_DEV", dm_dev, 1);
	ret = fx_init(true);
	setenv("CS_TEST_DEV", base_dev, 1);
	return ret;
}

/*
 * Detach the store from the dm device (it is shut down: no final
 * checkpoint), remove the device, and attach the plain disk: it must be
 * exactly the last committed checkpoint, pass fsck, and work.
 */
static int disk_recover_plain(void)
{
	char line[256];
	int ret;

	fx_close();
	kmsg_mark();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach the shut down store: %s", errname(ret));
	F.attached = false;
	CHECK(kmsg_find("detaching without a final checkpoint", line,
			sizeof(line)),
	      "no \"detaching without a final checkpoint\" in the kernel log");
	ret = cs_dm_remove(DM_NAME);
	CHECK(!ret, "dm remove: %s", strerror(-ret));
	F.dev = base_dev;
	F.cur = F.com;
	TRY(fsck());
	TRY(fx_attach());
	if (fx_verify(&F.com))
		BAD("the plain disk is not the last committed checkpoint");
	/* and it works */
	TRY(fx_dirty());
	TRY(fx_checkpoint());
	return fx_cycle();
}

/* What a shut down store answers: EIO for everything, SIGBUS in maps. */
static int shutdown_answers(void *map)
{
	volatile size_t done;
	uint8_t page[PAGE];
	uint64_t seq;
	int ret;

	CHECK(sysfs_get("shutdown") == 1, "sysfs shutdown is not 1");
	CHECK(pwrite(F.s0, page, 16, 0) < 0 && errno == EIO,
	      "write: not EIO (%s)", strerror(errno));
	CHECK(pread(F.s0, page, 16, 0) < 0 && errno == EIO,
	      "read: not EIO (%s)", strerror(errno));
	ret = capstore_cap_checkpoint(F.root, 0, &seq);
	CHECK(ret == -EIO, "checkpoint: %s", errname(ret));
	CHECK(fsync(F.s0) < 0 && errno == EIO, "fsync: not EIO");
	ret = capstore_node_create(F.root, SL_SCR, CAPSTORE_KIND_NODE, 0,
				   CAPSTORE_FD_CLOEXEC);
	CHECK(ret == -EIO, "create: %s", errname(ret));
	ret = capstore_node_fetch(F.root, SL_S0, CAPSTORE_FD_CLOEXEC);
	CHECK(ret == -EIO, "fetch: %s", errname(ret));
	ret = capstore_section_begin(F.s0, 0);
	CHECK(ret == -EIO, "section: %s", errname(ret));
	if (map) {
		/* the snapshot write-protected the pages: a write faults */
		memset(page, 0x5a, sizeof(page));
		ret = bus_copy(map, page, PAGE, &done);
		CHECK(ret == -EFAULT, "a write to a mapped page of a shut down store did not get SIGBUS");
	}
	return 0;
}

struct fsync_thread {
	pthread_t t;
	int fd;
	int ret;
};

static void *fsync_main(void *arg)
{
	struct fsync_thread *f = arg;

	f->ret = fsync(f->fd) ? -errno : 0;
	return NULL;
}

/*
 * Writes fail under a checkpoint: every waiting fsync gets EIO, the store
 * shuts down and says which checkpoint is the recovery point.
 */
static int dk_write_error(void)
{
	struct fsync_thread th[3];
	char want[96], line[256];
	long long failed;
	unsigned int i;
	void *map;
	int ret;

	TRY(disk_init());
	F.dev = dm_dev;
	ret = capstore_segment_map(F.s0, 0, S0_SIZE, PROT_READ | PROT_WRITE,
				   &map);
	CHECK(!ret, "map: %s", errname(ret));
	memset(map, 0x11, PAGE);
	memset(F.cur.s0, 0x11, PAGE);
	TRY(fx_dirty());
	TRY(dm_set_flakey("error_writes"));
	kmsg_mark();
	for (i = 0; i < 3; i++) {
		th[i].fd = i ? F.s0 : F.root;
		CHECK(!pthread_create(&th[i].t, NULL, fsync_main, &th[i]),
		      "pthread_create");
	}
	for (i = 0; i < 3; i++) {
		pthread_join(th[i].t, NULL);
		CHECK(th[i].ret == -EIO, "fsync %u: %s, expected EIO", i,
		      errname(th[i].ret));
	}
	failed = sysfs_get("failed_checkpoints");
	CHECK(failed == 1, "failed_checkpoints %lld, expected 1", failed);
	CHECK(sysfs_get("seq") == (long long)F.com.seq, "seq moved");
	snprintf(want, sizeof(want), "checkpoint failed (error -5): store shut down, checkpoint %" PRIu64 " is the recovery point",
		 F.com.seq);
	CHECK(kmsg_find("store shut down", line, sizeof(line)),
	      "no \"store shut down\" in the kernel log");
	CHECK(strstr(line, want), "kernel log: \"%s\"; expected \"%s\"", line,
	      want);
	TRY(shutdown_answers(map));
	munmap(map, S0_SIZE);
	F.shutdowns++;
	return disk_recover_plain();
}

/* The same with nobody waiting: a scheduled checkpoint fails. */
static int dk_write_error_scheduled(void)
{
	long long failed = 0;
	int i;

	TRY(disk_init());
	F.dev = dm_dev;
	TRY(fx_dirty());
	TRY(dm_set_flakey("error_writes"));
	kmsg_mark();
	/* the thread has been waiting with the interval off since attach */
	CHECK(!sysfs_set("interval_ms", "100"), "interval_ms");
	for (i = 0; i < 300 && failed < 1; i++) {
		usleep(100000);
		failed = sysfs_get("failed_checkpoints");
	}
	CHECK(failed == 1, "failed_checkpoints %lld 30 s after interval_ms was set to 100",
	      failed);
	CHECK(kmsg_find("store shut down", NULL, 0),
	      "no \"store shut down\" in the kernel log");
	/* the next durability request learns it */
	CHECK(fsync(F.s0) < 0 && errno == EIO, "fsync after the failure: %s",
	      strerror(errno));
	TRY(shutdown_answers(NULL));
	CHECK(sysfs_get("failed_checkpoints") == 1,
	      "refused checkpoints count as failed ones");
	F.shutdowns++;
	return disk_recover_plain();
}

/* Early writeback (sync(2)) hits the error: the store shuts down too. */
static int dk_writeback_error(void)
{
	TRY(disk_init());
	F.dev = dm_dev;
	TRY(seg_write(F.s0, F.cur.s0, 0, 4 * PAGE));
	TRY(dm_set_flakey("error_writes"));
	kmsg_mark();
	sync();
	CHECK(sysfs_get("shutdown") == 1, "sync(2) through failing writes: not shut down");
	CHECK(kmsg_find("store shut down", NULL, 0),
	      "no \"store shut down\" in the kernel log");
	TRY(shutdown_answers(NULL));
	F.shutdowns++;
	return disk_recover_plain();
}

/*
 * The disk drops writes and says they were done (a volatile cache lost
 * with the power): whatever the store committed meanwhile is lost, and
 * the plain disk must be exactly the checkpoint before the drops.
 */
static int dk_drop_writes(void)
{
	struct model before;
	int i, ret;

	TRY(disk_init());
	F.dev = dm_dev;
	before = F.com;
	TRY(dm_set_flakey("drop_writes"));
	for (i = 0; i < 3; i++) {
		TRY(fx_dirty());
		TRY(fx_checkpoint());
	}
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	ret = cs_dm_remove(DM_NAME);
	CHECK(!ret, "dm remove: %s", strerror(-ret));
	F.dev = base_dev;
	F.com = F.cur = before;
	TRY(fsck());
	TRY(fx_attach());
	if (fx_verify(&before))
		BAD("the plain disk is not the checkpoint before the drops");
	CHECK(sysfs_get("seq") == (long long)before.seq,
	      "seq %lld, expected %" PRIu64, sysfs_get("seq"), before.seq);
	TRY(fx_dirty());
	TRY(fx_checkpoint());
	return fx_cycle();
}

/* The blocks of S0's pages, from "capstore dump --blocks" (detached). */
static int s0_blocks(uint64_t *blk)
{
	char cmd[160], line[4096], head[64];
	bool in = false;
	unsigned int found = 0;
	FILE *p;

	snprintf(head, sizeof(head), "oid %" PRIu64 ":",
		 F.cur.root[SL_S0].oid);
	snprintf(cmd, sizeof(cmd), "capstore dump --blocks %s", F.dev);
	p = popen(cmd, "r");
	CHECK(p, "popen");
	while (fgets(line, sizeof(line), p)) {
		char *tok, *save;

		if (!strncmp(line, "oid ", 4))
			in = !strncmp(line, head, strlen(head));
		if (!in || !strstr(line, "pages:"))
			continue;
		tok = strtok_r(strstr(line, "pages:") + 6, " \n", &save);
		for (; tok; tok = strtok_r(NULL, " \n", &save)) {
			unsigned long long i0, i1, b0, b1, i;

			if (sscanf(tok, "%llu-%llu@%llu-%llu", &i0, &i1, &b0,
				   &b1) == 4) {
			} else if (sscanf(tok, "%llu@%llu", &i0, &b0) == 2) {
				i1 = i0;
			} else {
				continue;
			}
			for (i = i0; i <= i1 && i < S0_PAGES; i++, found++)
				blk[i] = b0 + (i - i0);
		}
	}
	pclose(p);
	CHECK(found == S0_PAGES, "dump listed %u of S0's %d pages", found,
	      S0_PAGES);
	return 0;
}

/* Bad pages of S0 in the read tests, and what their blocks do. */
static const unsigned int bad_pages[] = { 1, 6, 7, 12 };
#define NBAD (sizeof(bad_pages) / sizeof(bad_pages[0]))

static bool page_bad(unsigned int p)
{
	unsigned int i;

	for (i = 0; i < NBAD; i++)
		if (bad_pages[i] == p)
			return true;
	return false;
}

/*
 * The table for bad blocks: linear everywhere but at the blocks of the
 * bad pages, which give an I/O error ("error") or read another block of
 * the store ("foreign": a misdirected read, valid data of someone else).
 */
static int dm_set_bad(const uint64_t *blk, bool foreign)
{
	struct cs_dm_target t[2 * NBAD + 1];
	uint64_t bad[NBAD], at = 0;
	unsigned int i, j, n = 0;
	int ret;

	for (i = 0; i < NBAD; i++)
		bad[i] = blk[bad_pages[i]] * 8;
	for (i = 0; i < NBAD; i++)	/* sort */
		for (j = i + 1; j < NBAD; j++)
			if (bad[j] < bad[i]) {
				uint64_t x = bad[i];

				bad[i] = bad[j];
				bad[j] = x;
			}
	for (i = 0; i < NBAD; i++) {
		if (bad[i] > at)
			dm_linear(&t[n++], at, bad[i] - at);
		t[n].start = bad[i];
		t[n].len = 8;
		if (foreign) {
			/* the superblock: valid, checksummed, not this page */
			t[n].type = "linear";
			snprintf(t[n].params, sizeof(t[n].params), "%s 0",
				 base_dev);
		} else {
			t[n].type = "error";
			t[n].params[0] = '\0';
		}
		n++;
		at = bad[i] + 8;
	}
	if (at < (uint64_t)dev_sectors)
		dm_linear(&t[n++], at, (uint64_t)dev_sectors - at);
	ret = cs_dm_reload(DM_NAME, t, n);
	CHECK(!ret, "reload with bad blocks: %s", strerror(-ret));
	return 0;
}

/*
 * Nothing of S0 cached: detach and attach again (drop_caches may keep a
 * page still held by a per-CPU LRU batch). The bad blocks are data
 * blocks only: attach and the trees read good ones.
 */
static int drop_s0_pages(void)
{
	return fx_reattach();
}

/*
 * Read every page of S0 with pread and through a mapping: a bad page
 * fails (EIO, SIGBUS), every other page is exactly its data.
 */
static int read_bad_pages(unsigned int *nbad)
{
	static uint8_t page[PAGE];
	volatile size_t done;
	unsigned int p;
	void *map;
	ssize_t n;
	int ret;

	*nbad = 0;
	for (p = 0; p < S0_PAGES; p++) {
		n = pread(F.s0, page, PAGE, (off_t)p * PAGE);
		if (page_bad(p)) {
			CHECK(n < 0 && errno == EIO,
			      "pread of bad page %u: %zd (%s), expected EIO",
			      p, n, n < 0 ? strerror(errno) : "data");
			(*nbad)++;
			continue;
		}
		CHECK(n == PAGE, "pread of good page %u: %zd (%s)", p, n,
		      n < 0 ? strerror(errno) : "short");
		CHECK(!memcmp(page, F.cur.s0 + p * PAGE, PAGE),
		      "pread of page %u: wrong data", p);
	}
	TRY(drop_s0_pages());
	ret = capstore_segment_map(F.s0, 0, S0_SIZE, PROT_READ, &map);
	CHECK(!ret, "map: %s", errname(ret));
	for (p = 0; p < S0_PAGES; p++) {
		ret = bus_copy(page, (char *)map + p * PAGE, PAGE, &done);
		if (page_bad(p)) {
			CHECK(ret == -EFAULT,
			      "mapped bad page %u: read without SIGBUS", p);
			continue;
		}
		CHECK(!ret, "mapped good page %u: SIGBUS", p);
		CHECK(!memcmp(page, F.cur.s0 + p * PAGE, PAGE),
		      "mapped page %u: wrong data", p);
	}
	munmap(map, S0_SIZE);
	CHECK(sysfs_get("shutdown") == 0, "a read error shut the store down");
	return 0;
}

/* Records since the mark that contain @needle (reads them all). */
static unsigned int kmsg_count(const char *needle)
{
	char rec[1024];
	unsigned int n_match = 0;
	ssize_t n;

	if (kmsg_fd < 0)
		return 0;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle))
			n_match++;
	}
	return n_match;
}

/*
 * A holder of a read-only capability can fail reads of a bad page as
 * fast as it likes: what the module logs about it is rate-limited.
 */
#define FLOOD_READS	300
#define FLOOD_LINES	40

static int read_error_flood(void)
{
	static uint8_t page[PAGE];
	unsigned int i, lines;
	ssize_t n;

	kmsg_mark();
	for (i = 0; i < FLOOD_READS; i++) {
		n = pread(F.s0, page, PAGE, (off_t)bad_pages[0] * PAGE);
		CHECK(n < 0 && errno == EIO,
		      "pread of bad page %u: %zd (%s), expected EIO",
		      bad_pages[0], n, n < 0 ? strerror(errno) : "data");
	}
	lines = kmsg_count("capstore");
	msg("%u reads of a bad page: %u lines in the kernel log", FLOOD_READS,
	    lines);
	CHECK(lines <= FLOOD_LINES,
	      "%u kernel log lines for %u failed reads of one page: not rate-limited",
	      lines, FLOOD_READS);
	return 0;
}

static int dk_read_error(bool foreign)
{
	uint64_t blk[S0_PAGES];
	unsigned int nbad;
	int ret;

	TRY(disk_init());
	F.dev = dm_dev;
	/* where S0's pages are, from the committed checkpoint */
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	TRY(s0_blocks(blk));
	TRY(fx_attach());
	TRY(bytes_verify(F.s0, F.cur.s0, S0_SIZE, "S0"));
	TRY(drop_s0_pages());
	kmsg_mark();
	TRY(dm_set_bad(blk, foreign));
	TRY(read_bad_pages(&nbad));
	if (foreign)
		CHECK(kmsg_find("checksum mismatch", NULL, 0),
		      "no checksum mismatch in the kernel log");
	msg("%u bad pages read as errors", nbad);
	TRY(read_error_flood());
	/* the disk is good again: so is every page, and the store works */
	TRY(dm_set_linear());
	TRY(drop_s0_pages());
	TRY(fx_verify(&F.cur));
	TRY(fx_dirty());
	TRY(fx_checkpoint());
	TRY(fx_cycle());
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	cs_dm_remove(DM_NAME);
	F.dev = base_dev;
	return fsck();
}

/* dm-dust (debug kernel): bad blocks added while the store runs. */
static int dk_dust(struct __test_metadata *_metadata)
{
	struct cs_dm_target t = {
		.start = 0, .type = "dust",
	};
	uint64_t blk[S0_PAGES];
	unsigned int i, nbad;
	char cmd[64];
	int ret;

	if (!cs_dm_has_target("dust"))
		SKIP(return 0, "no dm-dust target in this kernel (Debian's does not build it; the debug kernel has it)");
	TRY(disk_init());
	F.dev = dm_dev;
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	TRY(s0_blocks(blk));
	t.len = (uint64_t)dev_sectors;
	snprintf(t.params, sizeof(t.params), "%s 0 4096", base_dev);
	ret = cs_dm_reload(DM_NAME, &t, 1);
	CHECK(!ret, "reload as dust: %s", strerror(-ret));
	TRY(fx_attach());
	TRY(bytes_verify(F.s0, F.cur.s0, S0_SIZE, "S0"));
	for (i = 0; i < NBAD; i++) {
		snprintf(cmd, sizeof(cmd), "addbadblock %" PRIu64,
			 blk[bad_pages[i]]);
		ret = cs_dm_message(DM_NAME, cmd);
		CHECK(!ret, "dust %s: %s", cmd, strerror(-ret));
	}
	ret = cs_dm_message(DM_NAME, "enable");
	CHECK(!ret, "dust enable: %s", strerror(-ret));
	TRY(drop_s0_pages());
	TRY(read_bad_pages(&nbad));
	msg("%u bad pages read as errors", nbad);
	ret = cs_dm_message(DM_NAME, "disable");
	CHECK(!ret, "dust disable: %s", strerror(-ret));
	TRY(drop_s0_pages());
	TRY(fx_verify(&F.cur));
	TRY(fx_dirty());
	TRY(fx_checkpoint());
	TRY(fx_cycle());
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	cs_dm_remove(DM_NAME);
	F.dev = base_dev;
	return fsck();
}

/* The block of the header slot with the newest checkpoint (detached). */
static int newest_header_block(uint64_t *blk, uint64_t *seq)
{
	char cmd[160], line[512];
	unsigned long long b, sq;
	unsigned int slot;
	FILE *p;

	*seq = 0;
	snprintf(cmd, sizeof(cmd), "capstore dump %s 2>/dev/null", F.dev);
	p = popen(cmd, "r");
	CHECK(p, "popen");
	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "slot %u (block %llu): seq %llu", &slot,
			   &b, &sq) == 3 && sq > *seq) {
			*seq = sq;
			*blk = b;
		}
	pclose(p);
	CHECK(*seq, "no valid header in the dump of %s", F.dev);
	return 0;
}

/*
 * The header slot holding the newest checkpoint cannot be read: attach
 * must refuse (EIO), never recover the older checkpoint of another slot
 * and lose what the newest one committed.
 */
static int dk_header_read_error(void)
{
	struct cs_dm_target t[3];
	uint64_t blk, seq;
	uint32_t id;
	int ret;

	TRY(disk_init());
	F.dev = dm_dev;
	TRY(fx_dirty());
	TRY(fx_checkpoint());
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	F.com = F.cur;
	TRY(newest_header_block(&blk, &seq));
	dm_linear(&t[0], 0, blk * 8);
	t[1].start = blk * 8;
	t[1].len = 8;
	t[1].type = "error";
	t[1].params[0] = '\0';
	dm_linear(&t[2], blk * 8 + 8, (uint64_t)dev_sectors - blk * 8 - 8);
	ret = cs_dm_reload(DM_NAME, t, 3);
	CHECK(!ret, "reload: %s", strerror(-ret));
	kmsg_mark();
	ret = cs_attach_path(F.dev, &id);
	if (!ret) {
		long long got = cs_store_get(F.dev, "seq");

		cs_detach(id);
		BAD("attached with header slot of checkpoint %" PRIu64 " unreadable: recovered checkpoint %lld",
		    seq, got);
	}
	CHECK(ret == -EIO, "attach: %s, expected EIO", errname(ret));
	CHECK(kmsg_find("reading header slot", NULL, 0),
	      "no \"reading header slot\" in the kernel log");
	/* readable again: the newest checkpoint, whole */
	TRY(dm_set_linear());
	TRY(fx_attach());
	CHECK(sysfs_get("seq") == (long long)seq, "seq %lld, expected %" PRIu64,
	      sysfs_get("seq"), seq);
	if (fx_verify(&F.com))
		BAD("not the newest checkpoint");
	fx_close();
	ret = cs_detach(F.id);
	CHECK(!ret, "detach: %s", errname(ret));
	F.attached = false;
	cs_dm_remove(DM_NAME);
	F.dev = base_dev;
	return fsck();
}

FIXTURE(disk) {
	int unused;
};

/* Whatever an earlier failed test left attached, and its dm device. */
static void detach_all(void)
{
	char path[300], buf[16];
	struct dirent *de;
	DIR *d = opendir("/sys/fs/capstore");
	int fd, n;

	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/fs/capstore/%s/id",
			 de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = '\0';
			cs_detach((uint32_t)atoi(buf));
		}
	}
	if (d)
		closedir(d);
	cs_dm_remove(DM_NAME);
}

FIXTURE_SETUP(disk)
{
	bus_init();
	if (access(CS_DM_CONTROL, F_OK))
		SKIP(return, "no device-mapper (" CS_DM_CONTROL ")");
	wb_hold();
	detach_all();
}

FIXTURE_TEARDOWN(disk)
{
	fx_close();
	if (F.attached)
		cs_detach(F.id);
	F.attached = false;
	cs_dm_remove(DM_NAME);
	wb_restore();
}

TEST_F_TIMEOUT(disk, write_error, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_write_error());
}

TEST_F_TIMEOUT(disk, write_error_scheduled, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_write_error_scheduled());
}

TEST_F_TIMEOUT(disk, writeback_error, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_writeback_error());
}

TEST_F_TIMEOUT(disk, drop_writes, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_drop_writes());
}

TEST_F_TIMEOUT(disk, read_error, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_read_error(false));
}

TEST_F_TIMEOUT(disk, read_foreign, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_read_error(true));
}

TEST_F_TIMEOUT(disk, header_read_error, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_header_read_error());
}

TEST_F_TIMEOUT(disk, dust, 300)
{
	SKIPPED();
	ASSERT_EQ(0, dk_dust(_metadata));
}

/*
 * fail_make_request (debug kernel): the n-th bio the operation submits
 * fails, n = 1, 2, ...: each write of a checkpoint in turn, the header
 * last; each read of an attach and of cold pages.
 */
TEST_F_TIMEOUT(disk, fail_make_request, 3600)
{
	static const char *const bio_ops[] = {
		"attach", "fetch_cold", "mmap_read", "read", "write_cold",
		"checkpoint", "fsync", "detach",
	};
	struct fi_mode m = {
		.kind = FI_BIO, .name = "fail_make_request",
	};
	const char *name;
	struct tally t;
	unsigned int i, j;
	unsigned long faults = 0;

	SKIPPED();
	if (!fi_available() ||
	    access(DBGFS "/fail_make_request/probability", W_OK))
		SKIP(return, FI_SKIP_REASON);
	ASSERT_EQ(0, fx_init(true));
	name = strrchr(F.dev, '/');
	m.disk = name ? name + 1 : F.dev;
	for (i = 0; i < sizeof(bio_ops) / sizeof(bio_ops[0]); i++) {
		for (j = 0; j < NOPS && strcmp(ops[j].name, bio_ops[i]); j++)
			;
		ASSERT_LT(j, NOPS);
		if (!op_selected(&m, ops[j].name))
			continue;
		ASSERT_EQ(0, step_op(&m, &ops[j], &t));
		tally_print(m.name, &ops[j], &t);
		faults += t.injected;
	}
	printf("# CAPSTORE-FI %s faults=%lu shutdowns=%lu\n", m.name, faults,
	       F.shutdowns);
	fx_fini();
}

CS_HARNESS_MAIN
