// SPDX-License-Identifier: GPL-2.0
/*
 * caps_rights - a capability handed to an unprivileged process can do
 * exactly what its rights allow, on every path, and nothing more.
 *
 * For every row of a table of rights (segments: none, R, M, W, RM, RW, WM,
 * RWM, all, weak variants, with and without DESTROY; nodes: none, R, G,
 * RG, WG, RW, RWG, weak variants, all) the parent (root) makes a fresh
 * object, restricts a capability to the row's rights and passes it over a
 * unix socket (SCM_RIGHTS) to a child that drops to uid 65534. The child
 * tries every path and checks the exact outcome the rights imply:
 *
 *   segments: read, pread, sendfile out of it, io_uring READ; write,
 *   pwrite, io_uring WRITE (plain and fixed file), sendfile and
 *   copy_file_range into it, fallocate, ftruncate; mmap shared read,
 *   shared read-write, private, exec; mprotect to write and to exec;
 *   stores to a read-only mapping, /proc/self/mem and process_vm_writev
 *   into it; /proc/self/fd and /proc/self/map_files reopen; dup, dup3,
 *   F_DUPFD_CLOEXEC, F_SETFL O_RDWR; restrict up (every missing right),
 *   down, weak on and off; node commands; fork and SCM_RIGHTS onward to a
 *   grandchild; checkpoint, fsync; destroy and revoke.
 *
 *   nodes: fetch (weakened through a weak node, transitively through a
 *   node fetched from it), store, clear, create, out-of-range slots,
 *   read/write/pread/mmap/io_uring on the node fd, reopen, restrict,
 *   dup/fork/SCM_RIGHTS, destroy and revoke.
 *
 * Meanwhile the parent, still root, tries to reopen the child's capability
 * through /proc/CHILD/fd and /proc/CHILD/map_files (ENXIO: no path yields
 * a new file). Afterwards it checks the object byte for byte (writes landed
 * exactly where allowed) and the node's slots (changed exactly where
 * allowed), and that no capability is left open.
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <liburing.h>
#include <libcapstore-uring.h>

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

#define SEG_SIZE	8192
#define WORK_SLOT	20	/* root slot of the node holding the objects */

/* -errno of a failed call, else its (non-negative) result. */
#define SYS(call) ({ long _r = (long)(call); _r < 0 ? -errno : _r; })

struct row {
	const char *name;
	unsigned int rights;
};

static const struct row seg_rows[] = {
	{ "none", 0 },
	{ "R", R },
	{ "M", M },
	{ "W", W },
	{ "RM", R | M },
	{ "RW", R | W },
	{ "WM", W | M },
	{ "RWM", R | W | M },
	{ "all", ALL },
	{ "RM weak", R | M | K },
	{ "RWM weak", R | W | M | K },
	{ "RD", R | D },
	{ "G", G },
	{ "RWMD weak", R | W | M | D | K },
};

static const struct row node_rows[] = {
	{ "none", 0 },
	{ "R", R },
	{ "G", G },
	{ "RG", R | G },
	{ "WG", W | G },
	{ "RW", R | W },
	{ "RWG", R | W | G },
	{ "RG weak", R | G | K },
	{ "RWG weak", R | W | G | K },
	{ "RWGD weak", R | W | G | D | K },
	{ "all", ALL },
};

#define NROWS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------- helpers */

/*
 * Become nobody, in a child of the test: its own verdict starts afresh
 * (the harness's metadata is a copy of the parent's). Dumpable, so that it
 * may open its own /proc/self/mem like any ordinary process.
 */
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

static int send_fd(int sock, int fd)
{
	char data = 'c', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cmsg;

	memset(cbuf, 0, sizeof(cbuf));
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
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
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/* Rights of a capability, or -errno. */
static long rights_of(int fd)
{
	struct capstore_cap_info info;
	int ret = capstore_cap_info(fd, &info);

	return ret < 0 ? ret : (long)info.out_rights;
}

/*
 * One io_uring READ or WRITE; the CQE's result. A ring that cannot be set
 * up gives a value no test expects (1000000 + errno).
 */
static int uring_rw(int fd, int write, void *buf, unsigned int len,
		    uint64_t off, int fixed)
{
	struct io_uring ring;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0)
		return 1000000 - ret;
	if (fixed) {
		ret = io_uring_register_files(&ring, &fd, 1);
		if (ret < 0) {
			ret = 1000000 - ret;
			goto out;
		}
	}
	sqe = io_uring_get_sqe(&ring);
	if (write)
		io_uring_prep_write(sqe, fixed ? 0 : fd, buf, len, off);
	else
		io_uring_prep_read(sqe, fixed ? 0 : fd, buf, len, off);
	if (fixed)
		sqe->flags |= IOSQE_FIXED_FILE;
	ret = io_uring_submit(&ring);
	if (ret != 1) {
		ret = 1000000 + (ret < 0 ? -ret : 0);
		goto out;
	}
	ret = io_uring_wait_cqe(&ring, &cqe);
	if (ret < 0) {
		ret = 1000000 - ret;
		goto out;
	}
	ret = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
out:
	io_uring_queue_exit(&ring);
	return ret;
}

static sigjmp_buf fault_jb;
static volatile sig_atomic_t fault_sig;

static void on_fault(int sig)
{
	fault_sig = sig;
	siglongjmp(fault_jb, 1);
}

static void catch_faults(void)
{
	struct sigaction sa = { .sa_handler = on_fault, .sa_flags = SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Store @v at @p: 0 if it went through, else the signal it raised. */
static int try_store(volatile char *p, char v)
{
	fault_sig = 0;
	if (sigsetjmp(fault_jb, 1) == 0)
		*p = v;
	return fault_sig;
}

/* Load from @p: 0 if it went through, else the signal it raised. */
static int try_load(volatile char *p)
{
	fault_sig = 0;
	if (sigsetjmp(fault_jb, 1) == 0)
		(void)*p;
	return fault_sig;
}

/* A mapping, or -errno. */
static long map(int fd, size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags, fd, 0);

	return p == MAP_FAILED ? -errno : (long)p;
}

/* Try to open @path with each access mode; count the ones that worked. */
static int reopen_count(const char *path, int *last_errno)
{
	static const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };
	unsigned int i;
	int n = 0, fd;

	*last_errno = 0;
	for (i = 0; i < 3; i++) {
		fd = open(path, modes[i]);
		if (fd >= 0) {
			n++;
			close(fd);
		} else {
			*last_errno = errno;
		}
	}
	return n;
}

/* The child tells the parent where its capability and mapping are. */
struct report {
	int fd;
	int pid;
	uint64_t addr;
	uint64_t len;
};

static uint8_t pattern(unsigned int row, size_t i)
{
	return (uint8_t)(i * 7 + row * 13 + 1);
}

/* ------------------------------------------------------------- fixture */

FIXTURE(caps) {
	uint32_t id;
	int root;
	int work;		/* node in root slot WORK_SLOT */
	long open_caps0;
};

FIXTURE_SETUP(caps)
{
	self->root = self->work = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, WORK_SLOT, 0);
	self->work = capstore_node_create(self->root, WORK_SLOT,
					  CAPSTORE_KIND_NODE, 0,
					  CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->work);
	self->open_caps0 = cs_store_get(cs_test_dev(), "open_caps");
	ASSERT_LE(2, self->open_caps0);
	catch_faults();
}

FIXTURE_TEARDOWN(caps)
{
	if (self->work >= 0) {
		EXPECT_EQ(0, capstore_cap_destroy(self->work, 0));
		close(self->work);
	}
	if (self->root >= 0) {
		capstore_node_clear(self->root, WORK_SLOT, 0);
		close(self->root);
	}
	EXPECT_EQ(0, cs_store_get(cs_test_dev(), "open_caps"));
	EXPECT_EQ(0, cs_detach(self->id));
}

/* ------------------------------------------------------------ segments */

/* Open mode of a segment capability: O_RDWR, O_WRONLY or O_RDONLY. */
static int fmode_read(unsigned int r)
{
	return (r & R) || !(r & W);
}

static int fmode_write(unsigned int r)
{
	return !!(r & W);
}

static int accmode(unsigned int r)
{
	if ((r & R) && (r & W))
		return O_RDWR;
	return (r & W) ? O_WRONLY : O_RDONLY;
}

/* What read(2) and friends answer. */
static long exp_read(unsigned int r, long n)
{
	if (!fmode_read(r))
		return -EBADF;
	return (r & R) ? n : -EPERM;
}

static long exp_write(unsigned int r, long n)
{
	return fmode_write(r) ? n : -EBADF;
}

/* mmap(MAP_SHARED) with PROT_READ, optionally PROT_WRITE. */
static long exp_map(unsigned int r, int writable)
{
	if (writable && !fmode_write(r))
		return -EACCES;
	if (!fmode_read(r))
		return -EACCES;
	return (r & R) && (r & M) ? 0 : -EPERM;
}

/* Where each path writes, and what it writes. */
struct wpath {
	const char *what;
	size_t off;
	const char *data;
};

enum { WP_WRITE, WP_PWRITE, WP_URING, WP_URING_FIXED, WP_MMAP, WP_MPROTECT,
       WP_SETFL, WP_FORK, WP_SCM, WP_MEM, WP_VMW, WP_STORE, WP_WRITEV,
       WP_NR };

static const struct wpath wpaths[WP_NR] = {
	[WP_WRITE] = { "write", 0, "W0" },
	[WP_PWRITE] = { "pwrite", 100, "P1" },
	[WP_URING] = { "io_uring write", 200, "U2" },
	[WP_URING_FIXED] = { "io_uring write, fixed file", 250, "F3" },
	[WP_MMAP] = { "store through a writable mapping", 300, "M4" },
	[WP_MPROTECT] = { "store after mprotect", 4096 + 400, "X5" },
	[WP_SETFL] = { "pwrite after F_SETFL O_RDWR", 600, "S7" },
	[WP_FORK] = { "pwrite in a forked child", 700, "G8" },
	[WP_SCM] = { "pwrite of an fd passed on", 800, "H9" },
	[WP_MEM] = { "/proc/self/mem into a read-only mapping", 1000, "Y6" },
	[WP_VMW] = { "process_vm_writev into a read-only mapping", 1100, "V7" },
	[WP_STORE] = { "store to a read-only mapping", 1200, "Z8" },
	[WP_WRITEV] = { "pwritev", 1300, "V9" },
};

/* Which paths may change the segment, for rights @r. */
static int wpath_allowed(unsigned int r, int wp)
{
	switch (wp) {
	case WP_MMAP:
	case WP_MPROTECT:
		return (r & R) && (r & W) && (r & M);
	case WP_MEM:
	case WP_VMW:
	case WP_STORE:
		return 0;	/* only tried on read-only mappings */
	default:
		return fmode_write(r);
	}
}

#define CHECK(want, got, what)						\
	EXPECT_EQ((long)(want), (long)(got))				\
		TH_LOG("%s %s: %s", kind, row->name, what)

static void seg_child(struct __test_metadata *_metadata, int sock,
		      const struct row *row, unsigned int ri)
{
	const char *kind = "segment";
	unsigned int r = row->rights, b;
	struct capstore_cap_info info;
	char buf[16], path[96];
	long p = -1, q = -1, ret;
	int fd, pfd[2], sv[2], d1, d2, d3, e, memfd, st;
	struct report rep;
	pid_t pid;
	char ack;

	drop_privileges(_metadata);
	fd = recv_fd(sock);
	ASSERT_LE(0, fd);

	ASSERT_EQ(0, capstore_cap_info(fd, &info));
	CHECK(r, info.out_rights, "rights as received");
	CHECK(CAPSTORE_KIND_SEGMENT, info.out_kind, "kind");
	CHECK(SEG_SIZE, info.out_size, "size");
	CHECK(accmode(r), SYS(fcntl(fd, F_GETFL)) & O_ACCMODE, "open mode");

	/* ---- reading ---- */
	memset(buf, 0, sizeof(buf));
	ret = SYS(pread(fd, buf, 8, 16));
	CHECK(exp_read(r, 8), ret, "pread");
	if (ret == 8)
		CHECK(pattern(ri, 16), (uint8_t)buf[0], "pread data");
	CHECK(0, SYS(lseek(fd, 0, SEEK_SET)), "lseek");
	CHECK(exp_read(r, 8), SYS(read(fd, buf, 8)), "read");
	CHECK(0, SYS(pipe(pfd)), "pipe");
	{
		off_t off = 0;

		CHECK(exp_read(r, 8), SYS(sendfile(pfd[1], fd, &off, 8)),
		      "sendfile out of the segment");
	}
	close(pfd[0]);
	close(pfd[1]);
	{
		struct iovec iv = { .iov_base = buf, .iov_len = 8 };

		CHECK(exp_read(r, 8), SYS(preadv(fd, &iv, 1, 0)), "preadv");
	}
	CHECK(exp_read(r, 8), uring_rw(fd, 0, buf, 8, 0, 0), "io_uring read");
	CHECK(exp_read(r, 8), uring_rw(fd, 0, buf, 8, 0, 1),
	      "io_uring read, fixed file");

	/* ---- writing ---- */
	CHECK(0, SYS(lseek(fd, 0, SEEK_SET)), "lseek");
	CHECK(exp_write(r, 2), SYS(write(fd, wpaths[WP_WRITE].data, 2)),
	      "write");
	CHECK(exp_write(r, 2), SYS(pwrite(fd, wpaths[WP_PWRITE].data, 2,
					  wpaths[WP_PWRITE].off)), "pwrite");
	{
		struct iovec iv = { .iov_base = (void *)wpaths[WP_WRITEV].data,
				    .iov_len = 2 };

		CHECK(exp_write(r, 2), SYS(pwritev(fd, &iv, 1,
						   wpaths[WP_WRITEV].off)),
		      "pwritev");
	}
	CHECK(exp_write(r, 2), uring_rw(fd, 1, (void *)wpaths[WP_URING].data,
					2, wpaths[WP_URING].off, 0),
	      "io_uring write");
	CHECK(exp_write(r, 2),
	      uring_rw(fd, 1, (void *)wpaths[WP_URING_FIXED].data, 2,
		       wpaths[WP_URING_FIXED].off, 1),
	      "io_uring write, fixed file");
	if (!fmode_write(r)) {
		int tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
		off_t off = 0;
		loff_t lo = 1000;

		ASSERT_LE(0, tmp);
		ASSERT_EQ(4, write(tmp, "ABCD", 4));
		CHECK(-EBADF, SYS(sendfile(fd, tmp, &off, 4)),
		      "sendfile into the segment");
		off = 0;
		CHECK(-EBADF, SYS(copy_file_range(tmp, &off, fd, &lo, 4, 0)),
		      "copy_file_range into the segment");
		close(tmp);
		CHECK(-EINVAL, SYS(ftruncate(fd, SEG_SIZE * 2)), "ftruncate");
	} else {
		/* Splicing into a segment is not supported, WRITE or not. */
		int tmp = open("/tmp", O_TMPFILE | O_RDWR, 0600);
		off_t off = 0;
		loff_t lo = 1000;

		ASSERT_LE(0, tmp);
		ASSERT_EQ(4, write(tmp, "ABCD", 4));
		CHECK(-EINVAL, SYS(sendfile(fd, tmp, &off, 4)),
		      "sendfile into the segment");
		off = 0;
		ret = SYS(copy_file_range(tmp, &off, fd, &lo, 4, 0));
		EXPECT_GT(0, ret)
			TH_LOG("%s: copy_file_range into the segment gave %ld",
			       row->name, ret);
		close(tmp);
	}
	CHECK(fmode_write(r) ? -EOPNOTSUPP : -EBADF,
	      SYS(fallocate(fd, 0, 0, 4096)), "fallocate");
	CHECK(fmode_write(r) ? -EOPNOTSUPP : -EBADF,
	      SYS(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
			    4096)), "fallocate punch hole");

	/* ---- mapping ---- */
	q = map(fd, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	CHECK(exp_map(r, 1), q < 0 ? q : 0, "mmap shared read-write");
	if (q >= 0)
		memcpy((char *)q + wpaths[WP_MMAP].off, wpaths[WP_MMAP].data,
		       2);
	p = map(fd, SEG_SIZE, PROT_READ, MAP_SHARED);
	CHECK(exp_map(r, 0), p < 0 ? p : 0, "mmap shared read-only");
	ret = map(fd, SEG_SIZE, PROT_READ, MAP_PRIVATE);
	CHECK(exp_map(r, 0) ?: -EINVAL, ret < 0 ? ret : 0, "mmap private");
	if (ret >= 0)
		munmap((void *)ret, SEG_SIZE);
	ret = map(fd, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	CHECK(exp_map(r, 0) ?: -EINVAL, ret < 0 ? ret : 0,
	      "mmap private read-write");
	if (ret >= 0)
		munmap((void *)ret, SEG_SIZE);
	ret = map(fd, SEG_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED);
	CHECK(fmode_read(r) ? -EPERM : -EACCES, ret < 0 ? ret : 0,
	      "mmap shared exec");
	if (ret >= 0)
		munmap((void *)ret, SEG_SIZE);

	if (p >= 0) {
		volatile char *pp = (volatile char *)p;

		CHECK(pattern(ri, 17), (uint8_t)pp[17], "data through mmap");
		CHECK(-EACCES, SYS(mprotect((void *)p, SEG_SIZE,
					    PROT_READ | PROT_EXEC)),
		      "mprotect to exec");
		CHECK(fmode_write(r) ? -EOPNOTSUPP : -EACCES,
		      SYS(madvise((void *)p, 4096, MADV_REMOVE)),
		      "madvise(MADV_REMOVE)");
		if (!fmode_write(r)) {
			struct iovec l = {
				.iov_base = (void *)wpaths[WP_VMW].data,
				.iov_len = 2,
			};
			struct iovec rv = {
				.iov_base = (char *)p + wpaths[WP_VMW].off,
				.iov_len = 2,
			};

			CHECK(SIGSEGV, try_store(pp + wpaths[WP_STORE].off,
						 'Z'),
			      "store to a read-only mapping");
			memfd = open("/proc/self/mem", O_RDWR);
			CHECK(1, memfd >= 0, "open /proc/self/mem");
			if (memfd >= 0) {
				ret = SYS(pwrite(memfd, wpaths[WP_MEM].data, 2,
						 (off_t)(p + wpaths[WP_MEM].off)));
				EXPECT_GT(0, ret)
					TH_LOG("%s: /proc/self/mem write into a read-only mapping gave %ld",
					       row->name, ret);
				close(memfd);
			}
			ret = SYS(process_vm_writev(getpid(), &l, 1, &rv, 1,
						    0));
			EXPECT_GT(0, ret)
				TH_LOG("%s: process_vm_writev into a read-only mapping gave %ld",
				       row->name, ret);
		}
		ret = SYS(mprotect((void *)p, SEG_SIZE, PROT_READ | PROT_WRITE));
		CHECK(fmode_write(r) ? 0 : -EACCES, ret, "mprotect to write");
		if (!ret)
			memcpy((char *)p + wpaths[WP_MPROTECT].off,
			       wpaths[WP_MPROTECT].data, 2);
		else
			CHECK(SIGSEGV, try_store(pp + wpaths[WP_STORE].off,
						 'Z'),
			      "store after a refused mprotect");
	}

	/* ---- reopening through /proc ---- */
	/* Unprivileged: the VFS refuses before the object's open does. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CHECK(0, reopen_count(path, &e), "reopen /proc/self/fd");
	CHECK(EACCES, e, "reopen /proc/self/fd: errno");
	if (p >= 0) {
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx",
			 (unsigned long)p, (unsigned long)p + SEG_SIZE);
		CHECK(0, reopen_count(path, &e), "reopen /proc/self/map_files");
		CHECK(EPERM, e, "reopen /proc/self/map_files: errno");
	}

	/* ---- duplicates keep the rights as they are ---- */
	d1 = dup(fd);
	d2 = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	d3 = dup3(fd, 200, O_CLOEXEC);
	ASSERT_LE(0, d1);
	ASSERT_LE(0, d2);
	ASSERT_EQ(200, d3);
	CHECK(r, rights_of(d1), "rights after dup");
	CHECK(r, rights_of(d2), "rights after F_DUPFD_CLOEXEC");
	CHECK(r, rights_of(d3), "rights after dup3");
	CHECK(0, SYS(fcntl(d1, F_SETFL, O_RDWR)), "F_SETFL O_RDWR");
	CHECK(accmode(r), SYS(fcntl(d1, F_GETFL)) & O_ACCMODE,
	      "open mode after F_SETFL O_RDWR");
	CHECK(exp_write(r, 2), SYS(pwrite(d1, wpaths[WP_SETFL].data, 2,
					  wpaths[WP_SETFL].off)),
	      "pwrite after F_SETFL O_RDWR");
	ret = map(d1, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
	CHECK(exp_map(r, 1), ret < 0 ? ret : 0,
	      "mmap read-write after F_SETFL O_RDWR");
	if (ret >= 0)
		munmap((void *)ret, SEG_SIZE);
	CHECK(r, rights_of(fd), "rights after F_SETFL");
	close(d2);
	close(d3);

	/* ---- rights only shrink ---- */
	for (b = R; b <= D; b <<= 1) {
		if (r & b)
			continue;
		ret = capstore_cap_restrict(fd, r | b, CAPSTORE_FD_CLOEXEC);
		CHECK(-EPERM, ret, "restrict to more rights");
		if (ret >= 0)
			close(ret);
	}
	if ((r & ALL) != ALL)
		CHECK(-EPERM, capstore_cap_restrict(fd, ALL | K, 0),
		      "restrict to all rights");
	CHECK(-EINVAL, capstore_cap_restrict(fd, r | (1u << 5), 0),
	      "restrict with an unknown bit");
	ret = capstore_cap_restrict(fd, r, 0);
	CHECK(1, ret >= 0, "restrict to the same rights");
	if (ret >= 0) {
		CHECK(r, rights_of(ret), "rights after restrict to the same");
		close(ret);
	}
	ret = capstore_cap_restrict(fd, r | K, 0);
	CHECK(1, ret >= 0, "restrict adding weak");
	if (ret >= 0) {
		CHECK(r | K, rights_of(ret), "rights after adding weak");
		CHECK(-EPERM, capstore_cap_restrict(ret, r & ~K, 0),
		      "restrict removing weak again");
		close(ret);
	}
	if (r & K)
		CHECK(-EPERM, capstore_cap_restrict(fd, r & ~K, 0),
		      "restrict removing weak");
	ret = capstore_cap_restrict(fd, r & K, 0);
	CHECK(1, ret >= 0, "restrict to no rights");
	if (ret >= 0) {
		CHECK(r & K, rights_of(ret), "rights after restrict to none");
		CHECK(-EPERM, capstore_cap_restrict(ret, R, 0),
		      "restrict from none to R");
		close(ret);
	}

	/* ---- a segment is not a node ---- */
	CHECK(-ENOTTY, capstore_node_fetch(fd, 0, 0), "fetch");
	CHECK(-ENOTTY, capstore_node_store(fd, 0, fd, 0), "store");
	CHECK(-ENOTTY, capstore_node_clear(fd, 0, 0), "clear");
	CHECK(-ENOTTY, capstore_node_create(fd, 0, CAPSTORE_KIND_NODE, 0, 0),
	      "create");

	/* ---- fork and SCM_RIGHTS onward ---- */
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd2;

		_metadata->passed = 1;
		close(sv[0]);
		fd2 = recv_fd(sv[1]);
		ASSERT_LE(0, fd2);
		CHECK(r, rights_of(fd), "rights inherited by fork");
		CHECK(r, rights_of(fd2), "rights passed on by SCM_RIGHTS");
		CHECK(exp_write(r, 2), SYS(pwrite(fd, wpaths[WP_FORK].data, 2,
						  wpaths[WP_FORK].off)),
		      "pwrite in a forked child");
		CHECK(exp_write(r, 2), SYS(pwrite(fd2, wpaths[WP_SCM].data, 2,
						  wpaths[WP_SCM].off)),
		      "pwrite of an fd passed on");
		CHECK(exp_read(r, 4), SYS(pread(fd2, buf, 4, 0)),
		      "pread of an fd passed on");
		ret = map(fd2, SEG_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED);
		CHECK(exp_map(r, 1), ret < 0 ? ret : 0,
		      "mmap read-write of an fd passed on");
		_exit(_metadata->passed ? 0 : 1);
	}
	close(sv[1]);
	EXPECT_EQ(0, send_fd(sv[0], d1));
	close(sv[0]);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	CHECK(1, WIFEXITED(st) && !WEXITSTATUS(st), "grandchild");
	close(d1);

	/* ---- any live capability checkpoints ---- */
	CHECK(0, capstore_cap_checkpoint(fd, 0, NULL), "checkpoint");
	CHECK(0, SYS(fsync(fd)), "fsync");

	/* ---- the parent looks, while everything is still open ---- */
	rep.fd = fd;
	rep.pid = getpid();
	rep.addr = p >= 0 ? (uint64_t)p : 0;
	rep.len = p >= 0 ? SEG_SIZE : 0;
	ASSERT_EQ((ssize_t)sizeof(rep), write(sock, &rep, sizeof(rep)));
	ASSERT_EQ(1, read(sock, &ack, 1));

	/* ---- destroy and revoke ---- */
	if (!(r & D)) {
		CHECK(-EPERM, capstore_cap_revoke(fd, 0), "revoke");
		CHECK(-EPERM, capstore_cap_destroy(fd, 0), "destroy");
		CHECK(r, rights_of(fd), "rights after refused destroy");
	} else {
		int nfd = capstore_cap_revoke(fd, CAPSTORE_FD_CLOEXEC);

		CHECK(1, nfd >= 0, "revoke");
		CHECK(-EKEYREVOKED, rights_of(fd), "info of the revoked fd");
		CHECK(-EKEYREVOKED, capstore_cap_destroy(fd, 0),
		      "destroy through the revoked fd");
		if (p >= 0)
			CHECK(SIGBUS, try_load((volatile char *)p),
			      "load from a revoked mapping");
		if (nfd >= 0) {
			CHECK(r, rights_of(nfd), "rights of the fresh fd");
			CHECK(exp_read(r, 4), SYS(pread(nfd, buf, 4, 0)),
			      "pread of the fresh fd");
			CHECK(0, capstore_cap_destroy(nfd, 0), "destroy");
			CHECK(-EKEYREVOKED, rights_of(nfd),
			      "info after destroy");
			close(nfd);
		}
	}
	if (p >= 0)
		munmap((void *)p, SEG_SIZE);
	if (q >= 0)
		munmap((void *)q, SEG_SIZE);
	close(fd);
	_exit(_metadata->passed ? 0 : 1);
}

/* As root: nothing reopens the child's capability. */
static void parent_reopen(struct __test_metadata *_metadata,
			  const struct row *row, const char *kind,
			  const struct report *rep, int mine)
{
	char path[96];
	int e, pidfd, got;

	/* Taking the file itself (ptrace rights) gives the same rights. */
	pidfd = (int)syscall(SYS_pidfd_open, rep->pid, 0);
	CHECK(1, pidfd >= 0, "pidfd_open");
	if (pidfd >= 0) {
		got = (int)syscall(SYS_pidfd_getfd, pidfd, rep->fd, 0);
		CHECK(1, got >= 0, "pidfd_getfd");
		if (got >= 0) {
			CHECK(row->rights, rights_of(got),
			      "rights of the fd taken with pidfd_getfd");
			close(got);
		}
		close(pidfd);
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", rep->pid, rep->fd);
	CHECK(0, reopen_count(path, &e), "root reopens /proc/CHILD/fd");
	CHECK(ENXIO, e, "root reopens /proc/CHILD/fd: errno");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mine);
	CHECK(0, reopen_count(path, &e), "root reopens /proc/self/fd");
	CHECK(ENXIO, e, "root reopens /proc/self/fd: errno");
	if (rep->addr) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%lx-%lx",
			 rep->pid, (unsigned long)rep->addr,
			 (unsigned long)(rep->addr + rep->len));
		CHECK(0, reopen_count(path, &e),
		      "root reopens /proc/CHILD/map_files");
		CHECK(ENXIO, e, "root reopens /proc/CHILD/map_files: errno");
	}
}

static void seg_row(struct __test_metadata *_metadata, int work,
		    const struct row *row, unsigned int ri)
{
	const char *kind = "segment";
	static uint8_t want[SEG_SIZE], got[SEG_SIZE];
	struct report rep;
	int seg, cap, sv[2], st, wp;
	unsigned int slot = ri;
	size_t i;
	pid_t pid;

	capstore_node_clear(work, slot, 0);
	seg = capstore_node_create(work, slot, CAPSTORE_KIND_SEGMENT, SEG_SIZE,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	for (i = 0; i < SEG_SIZE; i++)
		want[i] = pattern(ri, i);
	ASSERT_EQ(SEG_SIZE, capstore_segment_pwrite(seg, want, SEG_SIZE, 0));
	cap = capstore_cap_restrict(seg, row->rights, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, cap);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close_all_but(sv[1]);
		seg_child(_metadata, sv[1], row, ri);
		_exit(1);
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fd(sv[0], cap));

	/* The child has done everything but destroy and revoke. */
	if (read(sv[0], &rep, sizeof(rep)) == sizeof(rep)) {
		parent_reopen(_metadata, row, kind, &rep, cap);
		for (wp = 0; wp < WP_NR; wp++)
			if (wpath_allowed(row->rights, wp))
				memcpy(want + wpaths[wp].off, wpaths[wp].data,
				       2);
		ASSERT_EQ(SEG_SIZE, capstore_segment_pread(seg, got, SEG_SIZE,
							   0));
		for (wp = 0; wp < WP_NR; wp++) {
			const uint8_t *at = got + wpaths[wp].off;

			EXPECT_EQ(0, memcmp(want + wpaths[wp].off, at, 2))
				TH_LOG("%s %s: %s %s (found %02x %02x)",
				       kind, row->name, wpaths[wp].what,
				       wpath_allowed(row->rights, wp) ?
				       "did not land" : "was not refused",
				       at[0], at[1]);
		}
		EXPECT_EQ(0, memcmp(want, got, SEG_SIZE))
			TH_LOG("%s %s: the segment changed elsewhere",
			       kind, row->name);
		EXPECT_EQ(1, write(sv[0], "k", 1));
	} else {
		EXPECT_TRUE(0) TH_LOG("%s %s: no report from the child",
				      kind, row->name);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
		TH_LOG("%s %s: child status %#x", kind, row->name, st);
	close(sv[0]);

	if (row->rights & D) {
		/* The child revoked, then destroyed: all of it is dead. */
		CHECK(-EKEYREVOKED, rights_of(seg), "parent's fd after destroy");
		CHECK(-EKEYREVOKED, rights_of(cap),
		      "parent's copy after destroy");
		CHECK(-EKEYREVOKED, capstore_node_fetch(work, slot, 0),
		      "slot after destroy");
	} else {
		CHECK(ALL, rights_of(seg), "parent's fd afterwards");
		CHECK(0, capstore_cap_destroy(seg, 0), "destroy");
	}
	close(cap);
	close(seg);
	EXPECT_EQ(0, capstore_node_clear(work, slot, 0));
}

TEST_F_TIMEOUT(caps, segment_matrix, 120)
{
	int i;

	for (i = 0; i < NROWS(seg_rows); i++)
		seg_row(_metadata, self->work, &seg_rows[i], i);
}

/*
 * A segment's size is fixed at creation (design.rst): a capability with
 * WRITE can write its pages, not resize it.
 */
TEST_F(caps, ftruncate_fixed_size)
{
	struct capstore_cap_info info;
	int seg, rw;

	capstore_node_clear(self->work, 0, 0);
	seg = capstore_node_create(self->work, 0, CAPSTORE_KIND_SEGMENT,
				   SEG_SIZE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	rw = capstore_cap_restrict(seg, R | W | M, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, rw);
	EXPECT_NE(0, SYS(ftruncate(rw, SEG_SIZE * 4)))
		TH_LOG("ftruncate grew a fixed-size segment");
	EXPECT_EQ(-EFBIG, capstore_segment_pwrite(rw, "x", 1, SEG_SIZE * 2))
		TH_LOG("a write past the segment's end");
	EXPECT_EQ(0, capstore_cap_checkpoint(rw, 0, NULL));
	EXPECT_NE(0, SYS(ftruncate(rw, 0)))
		TH_LOG("ftruncate shrank a fixed-size segment");
	ASSERT_EQ(0, capstore_cap_info(seg, &info));
	EXPECT_EQ((uint64_t)SEG_SIZE, info.out_size);
	EXPECT_EQ(-EFBIG, capstore_segment_pwrite(rw, "x", 1, SEG_SIZE));
	close(rw);
	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	close(seg);
	EXPECT_EQ(0, capstore_node_clear(self->work, 0, 0));
}

/* --------------------------------------------------------------- nodes */

/*
 * The node under test: slot 0 a segment S, slot 1 a node C whose slot 0
 * holds a segment S2, slot 2 a read-only capability to S. All stored
 * with every right but slot 2.
 */
enum { NS_SEG = 0, NS_NODE = 1, NS_RO = 2, NS_STORE = 5, NS_CREATE = 6,
       NS_EMPTY = 31 };

static int mod_allowed(unsigned int r)
{
	return (r & W) && (r & G) && !(r & K);
}

static unsigned int fetched_rights(unsigned int node, unsigned int slot)
{
	if (node & K)
		return (slot & ~(W | D)) | K;
	return slot;
}

static void node_child(struct __test_metadata *_metadata, int sock,
		       const struct row *row)
{
	const char *kind = "node";
	unsigned int r = row->rights, b, k, rr;
	long exp_fetch = (r & R) && (r & G) ? 0 : -EPERM;
	long exp_mod = mod_allowed(r) ? 0 : -EPERM;
	int fd, s, c, s2, pfd[2], sv[2], st, e;
	struct report rep = { 0 };
	char buf[8], path[96], ack;
	long ret;
	pid_t pid;

	drop_privileges(_metadata);
	fd = recv_fd(sock);
	ASSERT_LE(0, fd);
	CHECK(r, rights_of(fd), "rights as received");

	/* ---- fetch, and weakness all the way down ---- */
	s = capstore_node_fetch_info(fd, NS_SEG, CAPSTORE_FD_CLOEXEC, &k, &rr);
	CHECK(exp_fetch, s < 0 ? s : 0, "fetch a segment");
	if (s >= 0) {
		CHECK(CAPSTORE_KIND_SEGMENT, k, "fetched kind");
		CHECK(fetched_rights(r, ALL), rr, "fetched rights (out_rights)");
		CHECK(fetched_rights(r, ALL), rights_of(s), "fetched rights");
		CHECK(exp_write(fetched_rights(r, ALL), 1),
		      SYS(pwrite(s, "n", 1, 0)), "pwrite of the fetched segment");
		ret = map(s, 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
		CHECK(exp_map(fetched_rights(r, ALL), 1), ret < 0 ? ret : 0,
		      "mmap read-write of the fetched segment");
		if (ret >= 0)
			munmap((void *)ret, 4096);
		if (r & K)
			CHECK(-EPERM, capstore_cap_restrict(s, ALL, 0),
			      "restrict a weak fetched segment to all");
		if (r & K) {
			CHECK(-EPERM, capstore_cap_destroy(s, 0),
			      "destroy a segment fetched through a weak node");
			CHECK(-EPERM, capstore_cap_revoke(s, 0),
			      "revoke a segment fetched through a weak node");
		}
		close(s);
	}
	c = capstore_node_fetch_info(fd, NS_NODE, CAPSTORE_FD_CLOEXEC, &k, &rr);
	CHECK(exp_fetch, c < 0 ? c : 0, "fetch a node");
	if (c >= 0) {
		CHECK(CAPSTORE_KIND_NODE, k, "fetched kind");
		CHECK(fetched_rights(r, ALL), rights_of(c),
		      "rights of the fetched node");
		s2 = capstore_node_fetch(c, 0, CAPSTORE_FD_CLOEXEC);
		CHECK(1, s2 >= 0, "fetch through the fetched node");
		if (s2 >= 0) {
			CHECK(fetched_rights(r, ALL), rights_of(s2),
			      "rights two levels down");
			CHECK(exp_write(fetched_rights(r, ALL), 1),
			      SYS(pwrite(s2, "n", 1, 0)),
			      "pwrite two levels down");
			if (r & K)
				CHECK(-EPERM, capstore_node_store(c, 3, s2, 0),
				      "store into a node fetched through a weak one");
			close(s2);
		}
		if (r & K)
			CHECK(-EPERM, capstore_cap_restrict(c, ALL, 0),
			      "restrict the fetched weak node to strong");
		close(c);
	}
	CHECK((r & R) && (r & G) ? -ENOENT : -EPERM,
	      capstore_node_fetch(fd, NS_EMPTY, 0), "fetch an empty slot");
	CHECK(-EINVAL, capstore_node_fetch(fd, CAPSTORE_NODE_SLOTS, 0),
	      "fetch slot 32");
	CHECK(-EINVAL, capstore_node_fetch(fd, ~0u, 0), "fetch slot ~0");

	/* ---- store, clear, create ---- */
	CHECK(exp_mod, capstore_node_store(fd, NS_STORE, fd, 0), "store");
	CHECK(-EINVAL, capstore_node_store(fd, CAPSTORE_NODE_SLOTS, fd, 0),
	      "store into slot 32");
	CHECK(-EINVAL, capstore_node_store(fd, 1u << 31, fd, 0),
	      "store into slot 2^31");
	ASSERT_EQ(0, pipe(pfd));
	CHECK(exp_mod ?: -EBADF, capstore_node_store(fd, 7, pfd[0], 0),
	      "store a pipe");
	close(pfd[0]);
	close(pfd[1]);
	CHECK(exp_mod, capstore_node_clear(fd, NS_RO, 0), "clear");
	CHECK(-EINVAL, capstore_node_clear(fd, CAPSTORE_NODE_SLOTS, 0),
	      "clear slot 32");
	ret = capstore_node_create(fd, NS_CREATE, CAPSTORE_KIND_NODE, 0,
				   CAPSTORE_FD_CLOEXEC);
	CHECK(exp_mod, ret < 0 ? ret : 0, "create");
	if (ret >= 0) {
		CHECK(ALL, rights_of(ret), "rights of a created object");
		close(ret);
	}
	CHECK(exp_mod ?: -EEXIST, capstore_node_create(fd, NS_SEG,
						       CAPSTORE_KIND_NODE, 0,
						       0),
	      "create into an occupied slot");
	CHECK(-EINVAL, capstore_node_create(fd, 33, CAPSTORE_KIND_NODE, 0, 0),
	      "create into slot 33");

	/* ---- a node is not data ---- */
	CHECK(-EINVAL, SYS(read(fd, buf, 1)), "read a node");
	CHECK(-ESPIPE, SYS(pread(fd, buf, 1, 0)), "pread a node");
	CHECK(-EBADF, SYS(write(fd, "x", 1)), "write a node");
	CHECK(-EBADF, uring_rw(fd, 1, "x", 1, 0, 0), "io_uring write a node");
	ret = map(fd, 4096, PROT_READ, MAP_SHARED);
	CHECK(-ENODEV, ret < 0 ? ret : 0, "mmap a node");
	ret = map(fd, 4096, PROT_READ | PROT_WRITE, MAP_SHARED);
	CHECK(-EACCES, ret < 0 ? ret : 0, "mmap a node read-write");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	CHECK(0, reopen_count(path, &e), "reopen /proc/self/fd");

	/* ---- restrict, dup, fork, SCM_RIGHTS ---- */
	for (b = R; b <= D; b <<= 1) {
		if (r & b)
			continue;
		CHECK(-EPERM, capstore_cap_restrict(fd, r | b, 0),
		      "restrict to more rights");
	}
	if (r & K)
		CHECK(-EPERM, capstore_cap_restrict(fd, r & ~K, 0),
		      "restrict removing weak");
	ret = dup(fd);
	ASSERT_LE(0, ret);
	CHECK(0, SYS(fcntl(ret, F_SETFL, O_RDWR)), "F_SETFL O_RDWR");
	CHECK(r, rights_of(ret), "rights after dup");
	CHECK(exp_mod, capstore_node_store(ret, NS_STORE, fd, 0),
	      "store through a dup");
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd2;

		_metadata->passed = 1;
		fd2 = recv_fd(sv[1]);
		ASSERT_LE(0, fd2);
		CHECK(r, rights_of(fd), "rights inherited by fork");
		CHECK(r, rights_of(fd2), "rights passed on by SCM_RIGHTS");
		CHECK(exp_mod, capstore_node_clear(fd2, NS_RO, 0),
		      "clear through an fd passed on");
		_exit(_metadata->passed ? 0 : 1);
	}
	EXPECT_EQ(0, send_fd(sv[0], ret));
	close(sv[0]);
	close(sv[1]);
	close(ret);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	CHECK(1, WIFEXITED(st) && !WEXITSTATUS(st), "grandchild");
	CHECK(0, capstore_cap_checkpoint(fd, 0, NULL), "checkpoint");

	rep.fd = fd;
	rep.pid = getpid();
	ASSERT_EQ((ssize_t)sizeof(rep), write(sock, &rep, sizeof(rep)));
	ASSERT_EQ(1, read(sock, &ack, 1));

	/* ---- destroy and revoke ---- */
	if (!(r & D)) {
		CHECK(-EPERM, capstore_cap_revoke(fd, 0), "revoke");
		CHECK(-EPERM, capstore_cap_destroy(fd, 0), "destroy");
	} else {
		int nfd = capstore_cap_revoke(fd, CAPSTORE_FD_CLOEXEC);

		CHECK(1, nfd >= 0, "revoke");
		CHECK(-EKEYREVOKED, capstore_node_fetch(fd, NS_SEG, 0),
		      "fetch through the revoked fd");
		if (nfd >= 0) {
			CHECK(r, rights_of(nfd), "rights of the fresh fd");
			CHECK(exp_fetch ?: -ENOENT,
			      capstore_node_fetch(nfd, NS_EMPTY, 0),
			      "fetch through the fresh fd");
			CHECK(0, capstore_cap_destroy(nfd, 0), "destroy");
			CHECK(-EKEYREVOKED, capstore_node_fetch(nfd, NS_SEG, 0),
			      "fetch after destroy");
			close(nfd);
		}
	}
	close(fd);
	_exit(_metadata->passed ? 0 : 1);
}

/* The object id a slot holds, or -errno (-ENOENT empty, -EKEYREVOKED dead). */
static long slot_oid(int node, unsigned int slot)
{
	struct capstore_cap_info info;
	int fd = capstore_node_fetch(node, slot, CAPSTORE_FD_CLOEXEC), ret;

	if (fd < 0)
		return fd;
	ret = capstore_cap_info(fd, &info);
	close(fd);
	return ret < 0 ? ret : (long)info.out_oid;
}

static void node_row(struct __test_metadata *_metadata, int work,
		     const struct row *row, unsigned int ri)
{
	const char *kind = "node";
	struct capstore_cap_info si, ni;
	int node, seg, sub, s2, ro, cap, sv[2], st;
	long ret;
	unsigned int slot = ri;
	struct report rep;
	long mod = mod_allowed(row->rights);
	pid_t pid;

	capstore_node_clear(work, slot, 0);
	node = capstore_node_create(work, slot, CAPSTORE_KIND_NODE, 0,
				    CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, node);
	ASSERT_EQ(0, capstore_cap_info(node, &ni));
	seg = capstore_node_create(node, NS_SEG, CAPSTORE_KIND_SEGMENT, 4096,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	ASSERT_EQ(0, capstore_cap_info(seg, &si));
	sub = capstore_node_create(node, NS_NODE, CAPSTORE_KIND_NODE, 0,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, sub);
	s2 = capstore_node_create(sub, 0, CAPSTORE_KIND_SEGMENT, 4096,
				  CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, s2);
	ro = capstore_cap_restrict(seg, R, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, capstore_node_store(node, NS_RO, ro, 0));
	close(ro);
	cap = capstore_cap_restrict(node, row->rights, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, cap);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		close_all_but(sv[1]);
		node_child(_metadata, sv[1], row);
		_exit(1);
	}
	close(sv[1]);
	ASSERT_EQ(0, send_fd(sv[0], cap));
	if (read(sv[0], &rep, sizeof(rep)) == sizeof(rep)) {
		parent_reopen(_metadata, row, kind, &rep, cap);
		/* Slots changed exactly where the rights allowed. */
		CHECK((long)si.out_oid, slot_oid(node, NS_SEG),
		      "slot 0 unchanged");
		CHECK(mod ? (long)ni.out_oid : -ENOENT,
		      slot_oid(node, NS_STORE), "stored slot");
		ret = slot_oid(node, NS_CREATE);
		CHECK(mod ? 0 : -ENOENT, ret > 0 ? 0 : ret, "created slot");
		CHECK(mod ? -ENOENT : (long)si.out_oid,
		      slot_oid(node, NS_RO), "cleared slot");
		CHECK(-ENOENT, slot_oid(node, 7), "slot of the pipe");
		CHECK(-ENOENT, slot_oid(sub, 3),
		      "slot 3 of the node fetched from it");
		EXPECT_EQ(1, write(sv[0], "k", 1));
	} else {
		EXPECT_TRUE(0) TH_LOG("%s %s: no report from the child",
				      kind, row->name);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st) && !WEXITSTATUS(st))
		TH_LOG("%s %s: child status %#x", kind, row->name, st);
	close(sv[0]);

	/* What the node held is untouched, whatever became of the node. */
	CHECK(ALL, rights_of(seg), "segment held by the node");
	CHECK(ALL, rights_of(sub), "node held by the node");
	CHECK(ALL, rights_of(s2), "segment held two levels down");
	if (row->rights & D) {
		CHECK(-EKEYREVOKED, rights_of(node), "node after destroy");
		CHECK(-EKEYREVOKED, capstore_node_fetch(work, slot, 0),
		      "slot of the destroyed node");
	} else {
		int c = capstore_node_fetch(node, NS_CREATE,
					    CAPSTORE_FD_CLOEXEC);

		if (c >= 0) {
			EXPECT_EQ(0, capstore_cap_destroy(c, 0));
			close(c);
		}
		EXPECT_EQ(0, capstore_cap_destroy(node, 0));
	}
	EXPECT_EQ(0, capstore_cap_destroy(s2, 0));
	EXPECT_EQ(0, capstore_cap_destroy(sub, 0));
	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	close(s2);
	close(sub);
	close(seg);
	close(cap);
	close(node);
	EXPECT_EQ(0, capstore_node_clear(work, slot, 0));
}

TEST_F_TIMEOUT(caps, node_matrix, 120)
{
	int i;

	for (i = 0; i < NROWS(node_rows); i++)
		node_row(_metadata, self->work, &node_rows[i], i);
}

/* ------------------------------------------------------ close-on-exec */

/*
 * The exec'd probe: this program again, with CS_EXEC_PROBE="fd fd ...";
 * it writes one character per fd to stdout, '1' if the fd is open, '0'
 * if not, and exits before the harness starts.
 */
__attribute__((constructor)) static void exec_probe(void)
{
	const char *list = getenv("CS_EXEC_PROBE");
	char out[128];
	size_t n = 0;
	char *end;
	long fd;

	if (!list)
		return;
	while (n < sizeof(out) && *list) {
		fd = strtol(list, &end, 10);
		if (end == list)
			break;
		out[n++] = fcntl((int)fd, F_GETFD) >= 0 ? '1' : '0';
		list = end;
	}
	if (write(1, out, n) != (ssize_t)n)
		_exit(2);
	_exit(0);
}

struct made {
	const char *what;
	int fd;
	int keep;		/* made with CAPSTORE_FD_KEEP_EXEC */
};

/* Exec the probe with every fd of @m; @seen receives its answer. */
static int probe_exec(const struct made *m, int n, char *seen)
{
	char list[1024] = "", num[16];
	int pfd[2], status, got = 0, i;
	ssize_t r;
	pid_t pid;

	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%d ", m[i].fd);
		strcat(list, num);
	}
	if (pipe(pfd))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (!pid) {
		char *argv[] = { "caps_rights", NULL };

		dup2(pfd[1], 1);
		setenv("CS_EXEC_PROBE", list, 1);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got < n && (r = read(pfd[0], seen + got, n - got)) > 0)
		got += r;
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -ECHILD;
	return got == n ? 0 : -EIO;
}

/*
 * Every fd the module makes, by every command and by io_uring, and the
 * library's control device fd, is close-on-exec unless asked to be kept
 * (CAPSTORE_FD_KEEP_EXEC); CAPSTORE_FD_CLOEXEC is accepted and changes
 * nothing; both together are EINVAL. An exec'd program finds exactly the
 * kept ones.
 */
TEST_F(caps, close_on_exec)
{
	static const unsigned int fl[3] = { 0, CAPSTORE_FD_CLOEXEC,
					    CAPSTORE_FD_KEEP_EXEC };
	const unsigned int both = CAPSTORE_FD_CLOEXEC | CAPSTORE_FD_KEEP_EXEC;
	struct capstore_fetch fa[2];
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	struct made m[32];
	char seen[32];
	int n = 0, i, f, ctl, seg, cur, rv, fd;

	ASSERT_EQ(-EINVAL, capstore_control_open(both));
	ctl = capstore_control_open(0);
	ASSERT_LE(0, ctl);
	m[n++] = (struct made){ "control_open", ctl, 0 };
	fd = capstore_control_open(CAPSTORE_FD_KEEP_EXEC);
	ASSERT_LE(0, fd);
	m[n++] = (struct made){ "control_open", fd, 1 };

	seg = capstore_node_create(self->work, 0, CAPSTORE_KIND_SEGMENT,
				   SEG_SIZE, 0);
	ASSERT_LE(0, seg);
	m[n++] = (struct made){ "CREATE", seg, 0 };
	cur = capstore_cap_restrict(seg, ALL, 0);
	ASSERT_LE(0, cur);
	m[n++] = (struct made){ "RESTRICT", cur, 0 };

	ASSERT_EQ(-EINVAL, capstore_root_open(ctl, self->id, both));
	ASSERT_EQ(-EINVAL, capstore_node_create(self->work, 9,
						CAPSTORE_KIND_NODE, 0, both));
	ASSERT_EQ(-EINVAL, capstore_node_fetch(self->work, 0, both));
	ASSERT_EQ(-EINVAL, capstore_cap_restrict(seg, R, both));
	ASSERT_EQ(-EINVAL, capstore_cap_revoke(cur, both));
	ASSERT_EQ(-EINVAL, capstore_cap_forward(seg, self->work, 9, R, both));

	rv = capstore_node_create(self->work, 8, CAPSTORE_KIND_SEGMENT,
				  SEG_SIZE, 0);
	ASSERT_LE(0, rv);
	m[n++] = (struct made){ "CREATE", rv, 0 };
	for (f = 0; f < 3; f++) {
		int keep = fl[f] == CAPSTORE_FD_KEEP_EXEC;

#define ADD(what, call) do {						\
		fd = (call);						\
		EXPECT_LE(0, fd) TH_LOG("%s with flags %u", what, fl[f]);\
		if (fd >= 0)						\
			m[n++] = (struct made){ what, fd, keep };	\
	} while (0)
		ADD("ROOT", capstore_root_open(ctl, self->id, fl[f]));
		ADD("CREATE", capstore_node_create(self->work, 1 + f,
						   CAPSTORE_KIND_NODE, 0,
						   fl[f]));
		ADD("FETCH", capstore_node_fetch(self->work, 0, fl[f]));
		ADD("RESTRICT", capstore_cap_restrict(seg, R, fl[f]));
		ADD("FORWARD", capstore_cap_forward(seg, self->work, 4 + f, R,
						    fl[f]));
		ADD("REVOKE", capstore_cap_revoke(rv, fl[f]));
#undef ADD
		if (fd >= 0)
			rv = fd;
	}

	/* The same commands through io_uring (inline and from a worker). */
	ASSERT_EQ(0, io_uring_queue_init(4, &ring, 0));
	for (f = 0; f < 2; f++) {
		sqe = io_uring_get_sqe(&ring);
		capstore_prep_fetch(sqe, self->work, &fa[f], 0,
				    f ? CAPSTORE_FD_KEEP_EXEC : 0);
		if (f)
			sqe->flags |= IOSQE_ASYNC;
		ASSERT_EQ(1, io_uring_submit(&ring));
		ASSERT_EQ(0, io_uring_wait_cqe(&ring, &cqe));
		EXPECT_LE(0, cqe->res) TH_LOG("uring FETCH with flags %d", f);
		if (cqe->res >= 0)
			m[n++] = (struct made){ "uring FETCH", cqe->res, f };
		io_uring_cqe_seen(&ring, cqe);
	}
	io_uring_queue_exit(&ring);

	for (i = 0; i < n; i++) {
		int cloexec = fcntl(m[i].fd, F_GETFD) & FD_CLOEXEC;

		EXPECT_EQ(!m[i].keep, !!cloexec)
			TH_LOG("%s with %s: FD_CLOEXEC %s", m[i].what,
			       m[i].keep ? "KEEP_EXEC" : "0 or CLOEXEC",
			       cloexec ? "set" : "clear");
	}
	ASSERT_EQ(0, probe_exec(m, n, seen));
	for (i = 0; i < n; i++)
		EXPECT_EQ(m[i].keep ? '1' : '0', seen[i])
			TH_LOG("%s (fd %d): %s across exec", m[i].what,
			       m[i].fd, seen[i] == '1' ? "kept" : "closed");

	/* The nodes made, the forwarders and the segment go. */
	for (f = 1; f < 7; f++) {
		fd = capstore_node_fetch(self->work, f, 0);
		EXPECT_LE(0, fd);
		if (fd >= 0) {
			EXPECT_EQ(0, capstore_cap_destroy(fd, 0));
			close(fd);
		}
		capstore_node_clear(self->work, f, 0);
	}
	EXPECT_EQ(0, capstore_cap_destroy(rv, 0));
	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	capstore_node_clear(self->work, 0, 0);
	capstore_node_clear(self->work, 8, 0);
	for (i = 0; i < n; i++)
		close(m[i].fd);
}

/*
 * CAPSTORE_REVOKE whose structure cannot be written back fails with
 * EFAULT and changes nothing: the caller's capability, and the slot
 * holding it, stay live; no capability is left open. (It used to revoke,
 * then fail to copy the fresh capability's fd out and close it, leaving
 * the caller with no capability to the object at all.)
 */
TEST_F(caps, revoke_unwritable_arg)
{
	struct capstore_cap_info info;
	struct capstore_revoke *arg;
	long caps0;
	int seg, fd;

	seg = capstore_node_create(self->work, 10, CAPSTORE_KIND_SEGMENT,
				   SEG_SIZE, 0);
	ASSERT_LE(0, seg);
	caps0 = cs_store_get(cs_test_dev(), "open_caps");
	arg = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arg);
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->out_fd = -1;
	ASSERT_EQ(0, mprotect(arg, 4096, PROT_READ));

	EXPECT_EQ(-EFAULT, SYS(ioctl(seg, CAPSTORE_REVOKE, arg)));
	EXPECT_EQ(caps0, cs_store_get(cs_test_dev(), "open_caps"));
	EXPECT_EQ(0, capstore_cap_info(seg, &info))
		TH_LOG("the caller's capability died with the failed revoke");
	fd = capstore_node_fetch(self->work, 10, 0);
	EXPECT_LE(0, fd)
		TH_LOG("the slot's capability died with the failed revoke");
	if (fd >= 0)
		close(fd);

	/* A revoke that can answer still works. */
	fd = capstore_cap_revoke(seg, 0);
	EXPECT_LE(0, fd);
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->work, 10, 0));
	EXPECT_EQ(0, capstore_cap_destroy(fd >= 0 ? fd : seg, 0));
	if (fd >= 0)
		close(fd);
	close(seg);
	capstore_node_clear(self->work, 10, 0);
	munmap(arg, 4096);
}

CS_HARNESS_MAIN
