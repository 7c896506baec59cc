// SPDX-License-Identifier: GPL-2.0
/*
 * sysfuzz - a coverage-guided syscall fuzzer for the capstore module.
 *
 * Worker threads run "programs": short sequences of calls on a store that
 * is attached on $CS_TEST_DEV. A call is every ioctl of /dev/capstore and
 * of capability fds, the same commands as IORING_OP_URING_CMD (inline and
 * forced to io_uring's workers with IOSQE_ASYNC), and the file operations
 * of capabilities (read, write, mmap and touch, fsync, ftruncate,
 * fallocate, lseek, splice, copy_file_range, dup, close). Arguments are
 * random or built to the structure of each command, then perturbed: size
 * fields (too small, too large with a zero or non-zero tail, a page and
 * more), flags, reserved fields, slots, kinds, segment sizes, rights,
 * store ids, fds (capabilities of every kind, the control device, the
 * block device, a pipe, a regular file, an io_uring, closed, -1, made
 * up), and pointers (NULL, unmapped, kernel addresses, read-only memory so
 * that the kernel's copy back fails after the command took effect, a
 * structure that runs into an unmapped page).
 *
 * A program starts from a fresh root capability and closes what it made,
 * so that between programs a thread holds no capability; meanwhile a
 * chaos thread checkpoints, revokes and destroys shared objects, and
 * detaches the store and attaches it again whenever it can, racing every
 * call.
 *
 * Guidance: when /sys/kernel/debug/kcov exists (the debug kernel; the
 * module is built with KCOV_INSTRUMENT), every thread traces its own
 * calls (KCOV_TRACE_PC), keeps the PCs inside the module (its address
 * range from /proc/modules), and a program that reaches a PC never seen
 * before joins the corpus, from which later programs are mutated (a call
 * changed, inserted, removed, duplicated, or spliced from another).
 * Without KCOV the programs are random.
 *
 * Checks: every capstore ioctl fails, if it does, with an errno of the
 * documented set (include/uapi/linux/capstore.h); at the end every
 * capability is closed and the store detaches; the host runs fsck on the
 * image and fails the boot on any splat, and the debug lane looks for
 * leaks.
 *
 *   SYSFUZZ_SECS     run time [45]; 0: until SYSFUZZ_CALLS
 *   SYSFUZZ_CALLS    stop after that many calls [no limit]
 *   SYSFUZZ_THREADS  worker threads [3]
 *   CS_SEED          seed of the run (logged)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/kcov.h>
#include <liburing.h>

#include "cs_harness.h"
#include "cs_test.h"

#define MAX_THREADS	8
#define PROG_LEN	12
#define CORPUS_MAX	1024
#define POOL		24
#define COVER_SIZE	(64 << 10)	/* PCs per call */
#define COV_BITS	(1 << 20)
#define SEG_SIZE	(16 * 4096)
#define SEG_MAX		(1ULL << 44)	/* CAPSTORE_SEGMENT_MAX_SIZE */
/* One test: the harness's timeout only catches a hang. */
#define TEST_TIMEOUT_FUZZ	TEST_F_TIMEOUT(fz, run, 7200)

FIXTURE(fz) {
	int unused;
};

FIXTURE_SETUP(fz)
{
}

FIXTURE_TEARDOWN(fz)
{
}

/* One call: what it is and the raw numbers its arguments come from. */
struct call {
	uint8_t op;
	uint8_t cmd;
	uint8_t fd_sel;
	uint8_t ptr_sel;
	uint8_t size_sel;
	uint8_t fd2_sel;
	uint16_t flags;
	uint64_t v[4];
};

struct prog {
	unsigned int n;
	struct call c[PROG_LEN];
};

enum op {
	OP_IOCTL,
	OP_URING,
	OP_RW,
	OP_MMAP,
	OP_FILE,
	OP_CLOSE,
	OP_DUP,
	OP_ROOT,
	OP_NOPS
};

/* The commands, by index; the last ones are not capstore's. */
static const unsigned int cmds[] = {
	CAPSTORE_ATTACH, CAPSTORE_DETACH, CAPSTORE_ROOT, CAPSTORE_CHECKPOINT,
	CAPSTORE_CAP_INFO, CAPSTORE_RESTRICT, CAPSTORE_CREATE, CAPSTORE_FETCH,
	CAPSTORE_STORE, CAPSTORE_CLEAR, CAPSTORE_DESTROY, CAPSTORE_REVOKE,
	CAPSTORE_SECTION_BEGIN, CAPSTORE_SECTION_END, CAPSTORE_FORWARD,
	_IO(CAPSTORE_TYPE, 0x84), _IO(CAPSTORE_TYPE, 0xab),
	_IOWR(CAPSTORE_TYPE, 0xa3, struct capstore_fetch), FIONREAD,
	FIOCLEX, 0,
};
#define NCMDS		(sizeof(cmds) / sizeof(cmds[0]))
#define NCS_CMDS	15	/* the real capstore commands come first */

/* Errors include/uapi/linux/capstore.h lets a command return. */
static bool documented(int err)
{
	switch (err) {
	case ENOTTY: case EINVAL: case E2BIG: case EFAULT: case EPERM:
	case EBADF: case EXDEV: case EKEYREVOKED: case ENOENT: case EEXIST:
	case EBUSY: case ENOSPC: case ETIMEDOUT: case EUCLEAN: case EBADMSG:
	case EOPNOTSUPP: case EIO:
	/* and the generic ones: attach of a non-device, forwarders too
	 * deep, no memory, no fd left, a signal */
	case ENOTBLK: case ELOOP: case ENOMEM: case EMFILE: case EINTR:
	case ENODEV:
		return true;
	}
	return false;
}

struct shared {
	_Atomic uint32_t store_id;
	_Atomic int stop;
	_Atomic int quiesce;		/* workers: start no program now */
	_Atomic unsigned long calls, progs, new_cov, corpus_adds;
	_Atomic unsigned long detaches, attaches, revokes, cps;
	_Atomic unsigned long undocumented, uring_lost;
	_Atomic unsigned long errs[140];
	int bdev;			/* O_RDWR on the store's disk */
	uint64_t mod_lo, mod_hi;	/* the module's addresses */
	uint64_t first_pc;
	bool kcov;
	uint8_t *cov;			/* COV_BITS bits of PCs seen */
	_Atomic unsigned long cov_pcs, raw_pcs;
	pthread_mutex_t corpus_lock;
	struct prog *corpus;
	unsigned int ncorpus;
	unsigned long max_calls;
	char bad_cmd[160];
};

static struct shared sh;

struct worker {
	unsigned int idx;
	uint64_t rng;
	int pool[POOL];		/* fds of this program, -1 if none */
	unsigned int npool;
	int ctl, pipefd[2], file, evfd, ringfd;
	int closed;		/* an fd number recently closed */
	struct io_uring ring;
	bool ring_ok;
	uint8_t *rw;		/* page RW, then PROT_NONE, then read-only */
	uint8_t *ro;		/* the read-only alias of rw[0] */
	uint64_t *cover;	/* kcov buffer, or NULL */
	int kcov_fd;
	unsigned long calls;
	bool new_cov;
	struct call cur;	/* the call in progress, for a hang report */
	_Atomic int in_call, finished;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t pick(struct worker *w, uint64_t n)
{
	return n ? rnd(&w->rng) % n : 0;
}

/* ---- coverage ---- */

/*
 * The module's address range as KCOV reports it: KCOV subtracts the KASLR
 * offset from every PC (canonicalize_ip()), so the range of /proc/modules
 * is moved by the offset of _text from its link address.
 */
#define KERNEL_LINK_TEXT	0xffffffff81000000ULL

static void find_module(void)
{
	char line[256], name[64], type;
	unsigned long long size, addr, text = 0;
	FILE *f = fopen("/proc/modules", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %llu %*s %*s %*s %llx", name, &size,
			   &addr) == 3 && !strcmp(name, "capstore") && addr) {
			sh.mod_lo = addr;
			sh.mod_hi = addr + size;
		}
	}
	fclose(f);
	f = fopen("/proc/kallsyms", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %63s", &addr, &type, name) == 3 &&
		    !strcmp(name, "_text")) {
			text = addr;
			break;
		}
	fclose(f);
	if (text >= KERNEL_LINK_TEXT) {
		sh.mod_lo -= text - KERNEL_LINK_TEXT;
		sh.mod_hi -= text - KERNEL_LINK_TEXT;
	}
}

static void kcov_open(struct worker *w)
{
	void *p;

	w->cover = NULL;
	if (!sh.kcov)
		return;
	w->kcov_fd = open("/sys/kernel/debug/kcov", O_RDWR | O_CLOEXEC);
	if (w->kcov_fd < 0) {
		printf("# kcov: open: %s\n", strerror(errno));
		return;
	}
	if (ioctl(w->kcov_fd, KCOV_INIT_TRACE, COVER_SIZE)) {
		printf("# kcov: KCOV_INIT_TRACE: %s\n", strerror(errno));
		goto fail;
	}
	p = mmap(NULL, COVER_SIZE * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		 MAP_SHARED, w->kcov_fd, 0);
	if (p == MAP_FAILED) {
		printf("# kcov: mmap: %s\n", strerror(errno));
		goto fail;
	}
	if (ioctl(w->kcov_fd, KCOV_ENABLE, KCOV_TRACE_PC)) {
		printf("# kcov: KCOV_ENABLE: %s\n", strerror(errno));
		munmap(p, COVER_SIZE * sizeof(uint64_t));
		goto fail;
	}
	w->cover = p;
	return;
fail:
	close(w->kcov_fd);
	w->kcov_fd = -1;
}

static void cov_begin(struct worker *w)
{
	if (w->cover)
		__atomic_store_n(&w->cover[0], 0, __ATOMIC_RELAXED);
}

static void cov_end(struct worker *w)
{
	uint64_t n, i;

	if (!w->cover)
		return;
	n = __atomic_load_n(&w->cover[0], __ATOMIC_RELAXED);
	if (n >= COVER_SIZE)
		n = COVER_SIZE - 1;
	sh.raw_pcs += n;
	if (n && !sh.first_pc)
		sh.first_pc = w->cover[1];
	for (i = 0; i < n; i++) {
		uint64_t pc = w->cover[i + 1], h;
		uint8_t bit, old;

		if (pc < sh.mod_lo || pc >= sh.mod_hi)
			continue;
		h = (pc - sh.mod_lo) % COV_BITS;
		bit = (uint8_t)(1U << (h % 8));
		old = __atomic_fetch_or(&sh.cov[h / 8], bit, __ATOMIC_RELAXED);
		if (!(old & bit)) {
			w->new_cov = true;
			sh.cov_pcs++;
		}
	}
}

/* ---- fds ---- */

static void pool_add(struct worker *w, int fd)
{
	unsigned int i;

	if (fd < 0)
		return;
	for (i = 0; i < POOL; i++)
		if (w->pool[i] < 0) {
			w->pool[i] = fd;
			if (i >= w->npool)
				w->npool = i + 1;
			return;
		}
	close(fd);
}

static void pool_close_all(struct worker *w)
{
	unsigned int i;

	for (i = 0; i < POOL; i++)
		if (w->pool[i] >= 0) {
			close(w->pool[i]);
			w->pool[i] = -1;
		}
	w->npool = 0;
}

/* An fd argument: mostly a capability of the program. */
static int choose_fd(struct worker *w, uint8_t sel)
{
	unsigned int k = sel % 32;

	if (k < 20 && w->npool) {
		int fd = w->pool[k % w->npool];

		if (fd >= 0)
			return fd;
		k = 20;
	}
	switch (k) {
	case 20: return w->ctl;
	case 21: return sh.bdev;
	case 22: return w->pipefd[0];
	case 23: return w->file;
	case 24: return w->ringfd;
	case 25: return w->evfd;
	case 26: return w->closed;
	case 27: return -1;
	case 28: return 1000 + sel;
	case 29: return (int)0x7fffffff;
	default: return w->npool ? w->pool[sel % w->npool] : w->ctl;
	}
}

/* ---- argument structures ---- */

static uint32_t store_id_arg(struct worker *w, uint64_t v)
{
	switch (v % 8) {
	case 0: return sh.store_id + 1;
	case 1: return (uint32_t)v;
	case 2: return ~0u;
	default: return sh.store_id;
	}
}

static uint32_t slot_arg(uint64_t v)
{
	switch (v % 10) {
	case 0: return CAPSTORE_NODE_SLOTS;
	case 1: return (uint32_t)(v >> 8);
	case 2: return ~0u;
	default: return (uint32_t)(v >> 8) % CAPSTORE_NODE_SLOTS;
	}
}

static uint32_t rights_arg(uint64_t v)
{
	switch (v % 6) {
	case 0: return (uint32_t)(v >> 8);
	case 1: return CAPSTORE_RIGHTS_MASK;
	default: return (uint32_t)(v >> 8) & CAPSTORE_RIGHTS_MASK;
	}
}

static uint64_t segsize_arg(uint64_t v)
{
	switch (v % 9) {
	case 0: return 0;
	case 1: return 1;
	case 2: return SEG_MAX;
	case 3: return SEG_MAX + 4096;
	case 4: return ~0ULL & ~4095ULL;
	case 5: return v >> 4;
	default: return ((v >> 8) % 64 + 1) * 4096;
	}
}

static uint32_t flags_arg(uint16_t f)
{
	switch (f % 8) {
	case 0: return f >> 3;
	case 1: return 1u << (f % 32);
	case 2: return CAPSTORE_FD_CLOEXEC;
	default: return 0;
	}
}

/*
 * Fill @buf (256 bytes, zeroed) with the structure of command @cmd and
 * return its size.
 */
static uint32_t build(struct worker *w, const struct call *c, unsigned int cmd,
		      uint32_t *buf)
{
	uint64_t *q = (uint64_t *)buf;
	uint32_t flags = flags_arg(c->flags);

	buf[1] = flags;
	switch (cmd) {
	case CAPSTORE_ATTACH:
		buf[2] = (uint32_t)choose_fd(w, c->fd2_sel);
		return sizeof(struct capstore_attach);
	case CAPSTORE_DETACH:
	case CAPSTORE_ROOT:
		buf[2] = store_id_arg(w, c->v[0]);
		return 16;
	case CAPSTORE_CHECKPOINT:
		buf[2] = store_id_arg(w, c->v[0]);
		buf[3] = c->v[1] % 8 ? 0 : (uint32_t)c->v[1];
		return sizeof(struct capstore_checkpoint);
	case CAPSTORE_CAP_INFO:
		buf[7] = c->v[0] % 8 ? 0 : (uint32_t)c->v[0];	/* out_flags */
		return sizeof(struct capstore_cap_info);
	case CAPSTORE_RESTRICT:
		buf[2] = rights_arg(c->v[0]);
		return sizeof(struct capstore_restrict);
	case CAPSTORE_CREATE:
		buf[2] = c->v[0] % 8 ? 1 + (uint32_t)(c->v[0] % 2) :
			 (uint32_t)(c->v[0] >> 3) % 6;
		buf[3] = slot_arg(c->v[1]);
		q[2] = buf[2] == CAPSTORE_KIND_NODE && c->v[2] % 4 ? 0 :
		       segsize_arg(c->v[2]);
		buf[7] = c->v[3] % 8 ? 0 : (uint32_t)c->v[3];
		return sizeof(struct capstore_create);
	case CAPSTORE_FETCH:
		buf[2] = slot_arg(c->v[0]);
		return sizeof(struct capstore_fetch);
	case CAPSTORE_STORE:
		buf[2] = slot_arg(c->v[0]);
		buf[3] = (uint32_t)choose_fd(w, c->fd2_sel);
		return sizeof(struct capstore_store);
	case CAPSTORE_CLEAR:
		buf[2] = slot_arg(c->v[0]);
		buf[3] = c->v[1] % 8 ? 0 : (uint32_t)c->v[1];
		return sizeof(struct capstore_clear);
	case CAPSTORE_REVOKE:
		buf[3] = c->v[1] % 8 ? 0 : (uint32_t)c->v[1];
		return sizeof(struct capstore_revoke);
	case CAPSTORE_FORWARD:
		buf[2] = (uint32_t)choose_fd(w, c->fd2_sel);
		buf[3] = slot_arg(c->v[0]);
		buf[4] = rights_arg(c->v[1]);
		return sizeof(struct capstore_forward);
	case CAPSTORE_DESTROY:
	case CAPSTORE_SECTION_BEGIN:
	case CAPSTORE_SECTION_END:
		return 8;
	default:
		q[1] = c->v[0];
		q[2] = c->v[1];
		return (uint32_t)(c->v[2] % 64);
	}
}

/* The size field: mostly right, sometimes anything. */
static uint32_t perturb_size(const struct call *c, uint32_t size,
			     uint32_t *buf)
{
	switch (c->size_sel % 16) {
	case 0: return 0;
	case 1: return size ? size - 1 : 0;
	case 2: return size + 8;			/* zero tail */
	case 3:
		buf[size / 4 + 1] = 1;			/* non-zero tail */
		return size + 8;
	case 4: return 4096;
	case 5: return 4097;
	case 6: return ~0u;
	case 7: return (uint32_t)c->v[3];
	default: return size;
	}
}

static __thread sigjmp_buf bus_jmp;
static __thread volatile sig_atomic_t bus_armed;

static void on_fault(int sig)
{
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Where the structure goes. 0-7 in the RW page (misaligned too), 8 the
 * read-only alias, 9 at the end of the RW page running into PROT_NONE,
 * 10 NULL, 11 unmapped, 12 a kernel address, 13 a random address.
 */
static void *place(struct worker *w, const struct call *c, uint32_t *buf,
		   size_t len)
{
	unsigned int sel = c->ptr_sel % 24;
	uint8_t *p;

	if (sel < 14 && sel >= 8) {
		switch (sel) {
		case 8:
			memcpy(w->rw, buf, len);
			return w->ro;
		case 9:
			p = w->rw + 4096 - (len > 12 ? 12 : len);
			memcpy(p, buf, len > 12 ? 12 : len);
			return p;
		case 10:
			return NULL;
		case 11:
			return w->rw + 4096;
		case 12:
			return (void *)0xffff888000000000ULL;
		default:
			return (void *)(uintptr_t)c->v[3];
		}
	}
	p = w->rw + (sel == 1 ? 1 : sel == 2 ? 4 : 0);
	memcpy(p, buf, len);
	return p;
}

static void count_err_how(long ret, bool capstore_cmd, unsigned int cmd,
			  const char *how)
{
	long err = ret < 0 ? -ret : 0;

	if (ret >= 0)
		return;
	if (err < 140)
		sh.errs[err]++;
	if (capstore_cmd && !documented((int)err)) {
		if (!sh.undocumented++)
			printf("# undocumented: %s command 0x%x failed with "
			       "errno %ld (%s)\n", how, cmd, err,
			       strerror((int)err));
		snprintf(sh.bad_cmd, sizeof(sh.bad_cmd),
			 "%s command 0x%x failed with errno %ld (%s)", how,
			 cmd, err, strerror((int)err));
	}
}

static void count_err(long ret, bool capstore_cmd, unsigned int cmd)
{
	count_err_how(ret, capstore_cmd, cmd, "ioctl");
}

static long do_ioctl(struct worker *w, const struct call *c, bool uring)
{
	uint32_t buf[64 + 8] = { 0 };
	unsigned int cmd = cmds[c->cmd % NCMDS];
	bool cs = c->cmd % NCMDS < NCS_CMDS;
	int fd = choose_fd(w, c->fd_sel);
	uint32_t size;
	void *arg;
	long ret;

	/* Attach and detach of the real store are the chaos thread's. */
	size = build(w, c, cmd, buf);
	buf[0] = perturb_size(c, size, buf);
	arg = place(w, c, buf, size + 16 > sizeof(buf) ? sizeof(buf) :
		    size + 16);
	if (!uring || !w->ring_ok) {
		ret = ioctl(fd, cmd, arg);
		ret = ret < 0 ? -errno : ret;
	} else {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
		struct capstore_uring_cmd *uc;
		struct io_uring_cqe *cqe;

		if (!sqe) {
			sh.uring_lost++;
			return 0;
		}
		io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
		sqe->cmd_op = cmd;
		uc = (void *)sqe->cmd;
		uc->arg = (uintptr_t)arg;
		uc->__reserved = c->v[2] % 16 ? 0 : c->v[2];
		if (c->flags & 0x100)
			sqe->flags |= IOSQE_ASYNC;
		sqe->user_data = 1;
		/* Everything else of the SQE is io_uring's business. */
		if (io_uring_submit(&w->ring) != 1) {
			sh.uring_lost++;
			return 0;
		}
		if (io_uring_wait_cqe(&w->ring, &cqe)) {
			sh.uring_lost++;
			return 0;
		}
		if (cqe->user_data != 1)
			sh.uring_lost++;
		ret = cqe->res;
		io_uring_cqe_seen(&w->ring, cqe);
		/* Not a capability file, or no uring_cmd: io_uring's errors. */
		if (ret == -EOPNOTSUPP || ret == -EBADF)
			cs = false;
	}
	count_err_how(ret, cs, cmd, !uring || !w->ring_ok ? "ioctl" :
		      c->flags & 0x100 ? "io_uring (async)" : "io_uring");
	if (ret > 2 && cmd != FIONREAD)
		pool_add(w, (int)ret);
	return ret;
}

/*
 * The store's own block device is an ioctl argument (attach), never the
 * target of a write, a mapping or fallocate: that would be sabotage, not
 * a test of the module.
 */
static int data_fd(struct worker *w, uint8_t sel)
{
	int fd = choose_fd(w, sel);

	return fd == sh.bdev ? w->file : fd;
}

static void do_rw(struct worker *w, const struct call *c)
{
	int fd = data_fd(w, c->fd_sel);
	uint64_t off = c->v[0] % 4 ? (c->v[0] >> 2) % (SEG_SIZE * 2) :
		       c->v[0] >> 2;
	size_t len = c->v[1] % 8 ? (c->v[1] >> 3) % 8192 : 65536;
	char *buf = (char *)w->rw;

	if (len > 4096)
		len = 4096;
	switch (c->v[2] % 8) {
	case 0:
		if (pread(fd, buf, len, (off_t)off) < 0)
			count_err(-errno, false, 0);
		break;
	case 1:
		if (pwrite(fd, buf, len, (off_t)off) < 0)
			count_err(-errno, false, 0);
		break;
	case 2:
		if (read(fd, buf, len) < 0)
			count_err(-errno, false, 0);
		break;
	case 3:
		if (write(fd, buf, len) < 0)
			count_err(-errno, false, 0);
		break;
	case 4:
		lseek(fd, (off_t)off, (int)(c->v[3] % 5));
		break;
	case 5: {
		off_t o = (off_t)off;

		splice(fd, &o, w->pipefd[1], NULL, len, SPLICE_F_NONBLOCK);
		/* drain */
		while (read(w->pipefd[0], buf, 4096) > 0)
			;
		break;
	}
	default: {
		off_t in = (off_t)off, out = (off_t)(c->v[3] % SEG_SIZE);

		copy_file_range(fd, &in, data_fd(w, c->fd2_sel), &out, len,
				0);
		break;
	}
	}
}

static void do_mmap(struct worker *w, const struct call *c)
{
	int fd = data_fd(w, c->fd_sel);
	size_t len = ((c->v[0] % 8) + 1) * 4096;
	off_t off = (off_t)((c->v[1] % 24) * 4096);
	int prot = (int)(c->v[2] % 8);
	volatile uint8_t *p;
	size_t i;

	p = mmap(NULL, len, prot, c->v[3] % 4 ? MAP_SHARED : MAP_PRIVATE,
		 fd, off);
	if (p == MAP_FAILED)
		return;
	if (!sigsetjmp(bus_jmp, 1)) {
		bus_armed = 1;
		for (i = 0; i < len; i += 4096) {
			if (prot & PROT_READ)
				(void)p[i];
			if (prot & PROT_WRITE)
				p[i + (c->v[3] % 4096)] = (uint8_t)c->v[3];
		}
		if (c->v[3] % 3 == 0)
			msync((void *)p, len, MS_SYNC);
		if (c->v[3] % 5 == 0)
			madvise((void *)p, len, MADV_DONTNEED);
		if (c->v[3] % 7 == 0)
			mprotect((void *)p, len, PROT_READ | PROT_WRITE);
	}
	bus_armed = 0;
	munmap((void *)p, len);
}

static void do_file(struct worker *w, const struct call *c)
{
	int fd = data_fd(w, c->fd_sel);
	struct stat st;

	switch (c->v[0] % 6) {
	case 0:
		fsync(fd);
		break;
	case 1:
		if (ftruncate(fd, (off_t)(c->v[1] % (SEG_SIZE * 2))) == 0)
			count_err(0, false, 0);
		break;
	case 2:
		fallocate(fd, (int)(c->v[1] % 4), 0, 4096);
		break;
	case 3:
		fstat(fd, &st);
		break;
	case 4:
		fdatasync(fd);
		break;
	default:
		fcntl(fd, F_SETFL, O_NONBLOCK);
		break;
	}
}

static void do_root(struct worker *w, const struct call *c)
{
	pool_add(w, capstore_root_open(w->ctl, sh.store_id,
				       CAPSTORE_FD_CLOEXEC));
	/* and something to work on */
	if (c->v[0] % 2 && w->npool)
		pool_add(w, capstore_node_fetch(w->pool[0],
						(unsigned int)(c->v[1] % 8),
						CAPSTORE_FD_CLOEXEC));
}

static void run_call(struct worker *w, const struct call *c)
{
	unsigned int i;
	int fd;

	w->cur = *c;
	w->in_call = 1;
	cov_begin(w);
	switch (c->op % OP_NOPS) {
	case OP_IOCTL:
		do_ioctl(w, c, false);
		break;
	case OP_URING:
		do_ioctl(w, c, true);
		break;
	case OP_RW:
		do_rw(w, c);
		break;
	case OP_MMAP:
		do_mmap(w, c);
		break;
	case OP_FILE:
		do_file(w, c);
		break;
	case OP_CLOSE:
		if (!w->npool)
			break;
		i = c->fd_sel % w->npool;
		if (w->pool[i] >= 0) {
			close(w->pool[i]);
			w->closed = w->pool[i];
			w->pool[i] = -1;
		}
		break;
	case OP_DUP:
		fd = choose_fd(w, c->fd_sel);
		if (fd > 2 && fd != w->ctl && fd != sh.bdev)
			pool_add(w, fcntl(fd, F_DUPFD_CLOEXEC, 3));
		break;
	default:
		do_root(w, c);
		break;
	}
	cov_end(w);
	w->in_call = 0;
	w->calls++;
	sh.calls++;
}

/* ---- programs ---- */

static void random_call(struct worker *w, struct call *c)
{
	unsigned int i;

	c->op = (uint8_t)pick(w, 100);
	/* ioctls and their io_uring twins most of the time */
	c->op = c->op < 55 ? OP_IOCTL : c->op < 70 ? OP_URING :
		(uint8_t)(2 + pick(w, OP_NOPS - 2));
	c->cmd = (uint8_t)(pick(w, 8) ? pick(w, NCS_CMDS) : pick(w, NCMDS));
	c->fd_sel = (uint8_t)pick(w, 256);
	c->fd2_sel = (uint8_t)pick(w, 256);
	c->ptr_sel = (uint8_t)pick(w, 256);
	c->size_sel = (uint8_t)pick(w, 256);
	c->flags = (uint16_t)pick(w, 65536);
	for (i = 0; i < 4; i++)
		c->v[i] = rnd(&w->rng);
}

static void random_prog(struct worker *w, struct prog *p)
{
	unsigned int i;

	p->n = 1 + (unsigned int)pick(w, PROG_LEN);
	for (i = 0; i < p->n; i++)
		random_call(w, &p->c[i]);
}

static void mutate_prog(struct worker *w, struct prog *p)
{
	unsigned int k, n = 1 + (unsigned int)pick(w, 3), j;
	struct call *c;

	while (n--) {
		k = (unsigned int)pick(w, p->n);
		c = &p->c[k];
		switch (pick(w, 8)) {
		case 0:
			random_call(w, c);
			break;
		case 1:		/* insert */
			if (p->n < PROG_LEN) {
				memmove(&p->c[k + 1], c,
					(p->n - k) * sizeof(*c));
				random_call(w, c);
				p->n++;
			}
			break;
		case 2:		/* remove */
			if (p->n > 1) {
				memmove(c, c + 1, (p->n - k - 1) * sizeof(*c));
				p->n--;
			}
			break;
		case 3:		/* duplicate */
			if (p->n < PROG_LEN) {
				memmove(&p->c[k + 1], c,
					(p->n - k) * sizeof(*c));
				p->n++;
			}
			break;
		case 4:		/* splice a call of another program */
			pthread_mutex_lock(&sh.corpus_lock);
			if (sh.ncorpus) {
				const struct prog *o =
					&sh.corpus[pick(w, sh.ncorpus)];

				*c = o->c[pick(w, o->n)];
			}
			pthread_mutex_unlock(&sh.corpus_lock);
			break;
		default:	/* one argument */
			j = (unsigned int)pick(w, 10);
			if (j < 4)
				c->v[j] = pick(w, 2) ? rnd(&w->rng) :
					  c->v[j] ^ (1ULL << pick(w, 64));
			else if (j == 4)
				c->fd_sel = (uint8_t)rnd(&w->rng);
			else if (j == 5)
				c->ptr_sel = (uint8_t)rnd(&w->rng);
			else if (j == 6)
				c->size_sel = (uint8_t)rnd(&w->rng);
			else if (j == 7)
				c->flags = (uint16_t)rnd(&w->rng);
			else if (j == 8)
				c->fd2_sel = (uint8_t)rnd(&w->rng);
			else
				c->cmd = (uint8_t)pick(w, NCMDS);
			break;
		}
	}
}

static void corpus_add(const struct prog *p)
{
	pthread_mutex_lock(&sh.corpus_lock);
	if (sh.ncorpus < CORPUS_MAX)
		sh.corpus[sh.ncorpus++] = *p;
	else
		sh.corpus[rand() % CORPUS_MAX] = *p;
	sh.corpus_adds++;
	pthread_mutex_unlock(&sh.corpus_lock);
}

static bool done(void)
{
	return sh.stop || (sh.max_calls && sh.calls >= sh.max_calls);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct prog p;
	unsigned int i;

	kcov_open(w);
	while (!done()) {
		bool mutated = false;

		while (sh.quiesce && !done())
			usleep(1000);
		pthread_mutex_lock(&sh.corpus_lock);
		if (sh.ncorpus && pick(w, 10) < 7) {
			p = sh.corpus[pick(w, sh.ncorpus)];
			mutated = true;
		}
		pthread_mutex_unlock(&sh.corpus_lock);
		if (mutated)
			mutate_prog(w, &p);
		else
			random_prog(w, &p);

		/* Each program starts from the root and owns what it makes. */
		w->new_cov = false;
		pool_add(w, capstore_root_open(w->ctl, sh.store_id,
					       CAPSTORE_FD_CLOEXEC));
		for (i = 0; i < p.n && !sh.stop; i++)
			run_call(w, &p.c[i]);
		pool_close_all(w);
		if (w->new_cov) {
			sh.new_cov++;
			corpus_add(&p);
		}
		sh.progs++;
	}
	if (w->cover) {
		ioctl(w->kcov_fd, KCOV_DISABLE, 0);
		munmap(w->cover, COVER_SIZE * sizeof(uint64_t));
		close(w->kcov_fd);
	}
	w->finished = 1;
	return NULL;
}

/* ---- chaos: checkpoints, revocation, detach and attach ---- */

/*
 * After every attach: sections time out after 20 ms, not 2 s (a program
 * that opens a section and then checkpoints would stall the run), and
 * scheduled checkpoints come every 10 ms to 1 s, racing everything too.
 */
static void tune(uint64_t v)
{
	char ms[24];

	snprintf(ms, sizeof(ms), "%llu", (unsigned long long)(10 + v % 990));
	cs_store_set(cs_test_dev(), "section_timeout_ms", "20");
	cs_store_set(cs_test_dev(), "interval_ms", ms);
}

static void *chaos_main(void *arg)
{
	uint64_t rng = *(uint64_t *)arg;
	int ctl = capstore_control_open(0);

	while (!done()) {
		uint32_t id = sh.store_id, nid;
		int root, c, r, cur, tries;
		uint64_t seq;

		usleep(1000 + rnd(&rng) % 20000);
		switch (rnd(&rng) % 5) {
		case 0:
			if (!capstore_store_checkpoint(ctl, id, 0, &seq))
				sh.cps++;
			break;
		case 1:
		case 2:
			/* Revoke or destroy something the workers may use. */
			root = capstore_root_open(ctl, id, CAPSTORE_FD_CLOEXEC);
			if (root < 0)
				break;
			c = capstore_node_fetch(root, rnd(&rng) % 8,
						CAPSTORE_FD_CLOEXEC);
			if (c >= 0) {
				if (rnd(&rng) % 4) {
					r = capstore_cap_revoke(c, 0);
					if (r >= 0) {
						capstore_node_store(root,
							rnd(&rng) % 8, r, 0);
						close(r);
						sh.revokes++;
					}
				} else {
					capstore_cap_destroy(c, 0);
				}
				close(c);
			}
			/* Something new in a free slot. */
			c = capstore_node_create(root, rnd(&rng) % 8,
						 rnd(&rng) % 2 ?
						 CAPSTORE_KIND_NODE :
						 CAPSTORE_KIND_SEGMENT,
						 0, CAPSTORE_FD_CLOEXEC);
			if (c < 0)
				c = capstore_node_create(root, rnd(&rng) % 8,
							 CAPSTORE_KIND_SEGMENT,
							 SEG_SIZE,
							 CAPSTORE_FD_CLOEXEC);
			if (c >= 0)
				close(c);
			close(root);
			break;
		case 3:
			/*
			 * Detach: ask the workers to start no new program
			 * and try every millisecond, so that the detach
			 * races the last closes and the root opens of the
			 * programs still under way; then attach back.
			 */
			if (rnd(&rng) % 4)
				break;
			sh.quiesce = 1;
			for (tries = 0; tries < 500 && !sh.stop; tries++) {
				if (!capstore_store_detach(ctl, id, 0)) {
					sh.detaches++;
					break;
				}
				usleep(1000);
			}
			/* fall through */
		default:
			/*
			 * Attached? If a worker's random detach or attach
			 * got there first, find the store or attach it.
			 */
			cur = cs_store_id_of(cs_test_dev());
			if (cur >= 0) {
				sh.store_id = (uint32_t)cur;
			} else if (!capstore_store_attach(ctl, sh.bdev, 0,
							  &nid)) {
				sh.store_id = nid;
				sh.attaches++;
				tune(rnd(&rng));
			}
			sh.quiesce = 0;
			break;
		}
	}
	close(ctl);
	return NULL;
}

static void setup_worker(struct __test_metadata *_metadata,
			 struct worker *w, unsigned int idx, uint64_t seed)
{
	int memfd;

	memset(w, 0, sizeof(*w));
	w->idx = idx;
	w->rng = seed * 0x2545f4914f6cdd1dULL + idx + 1;
	memset(w->pool, -1, sizeof(w->pool));
	w->ctl = capstore_control_open(0);
	ASSERT_LE(0, w->ctl);
	ASSERT_EQ(0, pipe2(w->pipefd, O_CLOEXEC | O_NONBLOCK));
	w->file = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	ASSERT_LE(0, w->file);
	ASSERT_EQ(0, ftruncate(w->file, SEG_SIZE));
	w->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	w->ring_ok = !io_uring_queue_init(8, &w->ring, 0);
	w->ringfd = w->ring_ok ? w->ring.ring_fd : -1;
	w->closed = 1023;
	w->kcov_fd = -1;
	/* The argument arena: RW page, guard page, and a read-only alias. */
	memfd = memfd_create("sysfuzz", MFD_CLOEXEC);
	ASSERT_LE(0, memfd);
	ASSERT_EQ(0, ftruncate(memfd, 4096));
	w->rw = mmap(NULL, 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	ASSERT_NE(MAP_FAILED, w->rw);
	ASSERT_NE(MAP_FAILED, mmap(w->rw, 4096, PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_FIXED, memfd, 0));
	w->ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, memfd, 0);
	ASSERT_NE(MAP_FAILED, w->ro);
	close(memfd);
}

static void teardown_worker(struct worker *w)
{
	pool_close_all(w);
	close(w->ctl);
	close(w->pipefd[0]);
	close(w->pipefd[1]);
	close(w->file);
	close(w->evfd);
	if (w->ring_ok)
		io_uring_queue_exit(&w->ring);
	munmap(w->rw, 2 * 4096);
	munmap(w->ro, 4096);
}

/* Objects for the programs to find under the root. */
static void populate(struct __test_metadata *_metadata, uint32_t id)
{
	int root = cs_root(id), s, n, f;

	ASSERT_LE(0, root);
	s = capstore_node_create(root, 0, CAPSTORE_KIND_SEGMENT, SEG_SIZE, 0);
	n = capstore_node_create(root, 1, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, s);
	ASSERT_LE(0, n);
	ASSERT_EQ(0, capstore_node_store(n, 0, s, 0));
	ASSERT_EQ(0, capstore_node_store(n, 1, root, 0));
	f = capstore_cap_forward(s, n, 2, CAPSTORE_RIGHT_READ |
				 CAPSTORE_RIGHT_MAP, 0);
	ASSERT_LE(0, f);
	ASSERT_EQ(0, capstore_node_store(root, 2, f, 0));
	ASSERT_EQ(0, capstore_node_store(root, 3, n, 0));
	close(f);
	close(n);
	close(s);
	close(root);
}

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

TEST_TIMEOUT_FUZZ
{
	unsigned long secs = env_ul("SYSFUZZ_SECS", 45);
	unsigned long nthreads = env_ul("SYSFUZZ_THREADS", 3);
	uint64_t seed = env_ul("CS_SEED", 1), chaos_seed;
	static struct worker workers[MAX_THREADS];
	pthread_t tids[MAX_THREADS], chaos;
	struct sigaction sa;
	time_t start;
	unsigned long i;
	uint32_t id;
	int err, tries, cur;

	sh.max_calls = env_ul("SYSFUZZ_CALLS", 0);
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > MAX_THREADS)
		nthreads = MAX_THREADS;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&id));
	sh.store_id = id;
	populate(_metadata, id);
	tune(seed);
	sh.bdev = open(cs_test_dev(), O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, sh.bdev);
	pthread_mutex_init(&sh.corpus_lock, NULL);
	sh.corpus = calloc(CORPUS_MAX, sizeof(*sh.corpus));
	sh.cov = calloc(COV_BITS / 8, 1);
	ASSERT_NE(NULL, sh.corpus);
	ASSERT_NE(NULL, sh.cov);
	find_module();
	sh.kcov = !access("/sys/kernel/debug/kcov", R_OK) && sh.mod_lo;
	printf("# seed %" PRIu64 ", %lu threads, %lu s%s, KCOV %s (module PCs "
	       "%#" PRIx64 "-%#" PRIx64 ")\n", seed, nthreads, secs,
	       sh.max_calls ? " or until the call limit" : "",
	       sh.kcov ? "on" : "off", sh.mod_lo, sh.mod_hi);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < nthreads; i++)
		setup_worker(_metadata, &workers[i], i, seed);
	chaos_seed = seed ^ 0xc4a05;
	for (i = 0; i < nthreads; i++)
		ASSERT_EQ(0, pthread_create(&tids[i], NULL, worker_main,
					    &workers[i]));
	ASSERT_EQ(0, pthread_create(&chaos, NULL, chaos_main, &chaos_seed));
	start = time(NULL);
	while (!done()) {
		sleep(1);
		if (secs && (unsigned long)(time(NULL) - start) >= secs)
			sh.stop = 1;
	}
	sh.stop = 1;
	/* A worker that does not come back is stuck in a call: say which. */
	for (tries = 0; tries < 120; tries++) {
		for (i = 0; i < nthreads && workers[i].finished; i++)
			;
		if (i == nthreads)
			break;
		sleep(1);
	}
	for (i = 0; i < nthreads; i++) {
		const struct call *c = &workers[i].cur;

		ASSERT_TRUE(workers[i].finished)
			TH_LOG("worker %lu stuck in op %u cmd %#x fd_sel %u "
			       "ptr_sel %u size_sel %u flags %#x v %#" PRIx64
			       " %#" PRIx64 " %#" PRIx64 " %#" PRIx64, i,
			       c->op % OP_NOPS, cmds[c->cmd % NCMDS],
			       c->fd_sel, c->ptr_sel, c->size_sel, c->flags,
			       c->v[0], c->v[1], c->v[2], c->v[3]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(tids[i], NULL);
	pthread_join(chaos, NULL);
	for (i = 0; i < nthreads; i++)
		teardown_worker(&workers[i]);

	printf("# %lu calls in %lu programs, %ld s; corpus %u programs (%lu "
	       "added), %lu module PCs seen\n", (unsigned long)sh.calls,
	       (unsigned long)sh.progs, (long)(time(NULL) - start),
	       sh.ncorpus, (unsigned long)sh.corpus_adds,
	       (unsigned long)sh.cov_pcs);
	if (sh.kcov)
		printf("# kcov: %lu PCs traced in all, first %#" PRIx64 "\n",
		       (unsigned long)sh.raw_pcs, sh.first_pc);
	printf("# chaos: %lu detaches, %lu attaches, %lu revokes, %lu "
	       "checkpoints\n", (unsigned long)sh.detaches,
	       (unsigned long)sh.attaches, (unsigned long)sh.revokes,
	       (unsigned long)sh.cps);
	printf("# errors:");
	for (i = 1; i < 140; i++)
		if (sh.errs[i])
			printf(" %s %lu", strerrorname_np((int)i) ?
			       strerrorname_np((int)i) : "?",
			       (unsigned long)sh.errs[i]);
	printf("\n");
	EXPECT_EQ(0ul, (unsigned long)sh.undocumented)
		TH_LOG("%lu undocumented errors, the last: %s",
		       (unsigned long)sh.undocumented, sh.bad_cmd);

	/*
	 * Capabilities still open in the process that no pool knew of (a
	 * lost io_uring completion): count them, close them.
	 */
	{
		char path[64], link[128];
		unsigned long stray = 0;
		int fd;
		ssize_t n;

		for (fd = 3; fd < 4096; fd++) {
			snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
			n = readlink(path, link, sizeof(link) - 1);
			if (n <= 0)
				continue;
			link[n] = '\0';
			if (!strncmp(link, "capstore:[", 10)) {
				close(fd);
				stray++;
			}
		}
		printf("# %lu stray capabilities closed, %lu io_uring "
		       "completions lost\n", stray,
		       (unsigned long)sh.uring_lost);
	}

	/*
	 * Everything closed: no capability and no section is counted open
	 * (unless a worker's random detach left the store detached), and
	 * the store detaches.
	 */
	cur = cs_store_id_of(cs_test_dev());
	if (cur >= 0) {
		for (tries = 0; tries < 20 &&
		     cs_store_get(cs_test_dev(), "open_caps"); tries++)
			usleep(100000);	/* io_uring's files go asynchronously */
		EXPECT_EQ(0, cs_store_get(cs_test_dev(), "open_caps"));
		EXPECT_EQ(0, cs_store_get(cs_test_dev(), "sections_open"));
	} else {
		ASSERT_EQ(0, cs_attach(&id));
		cur = (int)id;
	}
	for (tries = 0; (err = cs_detach((uint32_t)cur)) == -EBUSY &&
	     tries < 20; tries++)
		usleep(100000);
	ASSERT_EQ(0, err) TH_LOG("final detach: %s", strerror(-err));
	close(sh.bdev);
}

CS_HARNESS_MAIN
