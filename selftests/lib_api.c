// SPDX-License-Identifier: GPL-2.0
/*
 * lib_api - every public function of libcap-store, through the library:
 * what it returns on success (the fd, the count, the outputs it writes
 * back), and its error paths: -EBADF for a closed fd, -ENOTTY for an fd
 * of the wrong kind, -EINVAL for unknown flags and out-of-range fields,
 * -EPERM for missing rights, and the command-specific errors. Every
 * failure leaves errno as it was. (ioctl_errors covers the raw ioctls:
 * sizes, pointers, reserved fields.) capstore_store_status() against the
 * store's sysfs files, and as they move; and the library's thread-safety:
 * threads sharing a node and a segment, each call's result checked.
 *
 * Needs a formatted store on $CS_TEST_DEV and, for the cross-store test,
 * another on $CS_TEST_DEV2.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define SEG_SIZE	(64 * 4096)
#define SLOT		10		/* the root slot of the test's node */
#define ERRNO_MARK	EDOM		/* errno must still hold this */

static int cloexec(int fd)
{
	return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

FIXTURE(lib) {
	uint32_t id;
	int ctl;
	int root;
	int node;	/* root slot SLOT: a node with every right */
	int seg;	/* its slot 0: a segment of SEG_SIZE */
	int pipe[2];
	int first_fd;
};

FIXTURE_SETUP(lib)
{
	self->ctl = self->root = self->node = self->seg = -EBADF;
	self->pipe[0] = self->pipe[1] = -EBADF;
	self->first_fd = cs_next_fd();
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->ctl);
	self->root = capstore_root_open(self->ctl, self->id,
					CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, SLOT, 0);
	self->node = capstore_node_create(self->root, SLOT, CAPSTORE_KIND_NODE,
					  0, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->node);
	self->seg = capstore_node_create(self->node, 0, CAPSTORE_KIND_SEGMENT,
					 SEG_SIZE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->seg);
	ASSERT_EQ(0, pipe(self->pipe));
	errno = ERRNO_MARK;
}

FIXTURE_TEARDOWN(lib)
{
	int ctl = self->ctl;

	self->ctl = -EBADF;
	if (self->root >= 0)
		capstore_node_clear(self->root, SLOT, 0);
	/* everything the test opened, the control device last */
	cs_close_from(self->first_fd);
	ctl = capstore_control_open(0);
	if (ctl >= 0) {
		EXPECT_EQ(0, capstore_store_detach(ctl, self->id, 0));
		close(ctl);
	}
}

TEST_F(lib, version)
{
	EXPECT_EQ(CAPSTORE_VERSION_MAJOR, capstore_version_major());
	EXPECT_EQ(CAPSTORE_VERSION_MINOR, capstore_version_minor());
	EXPECT_TRUE(capstore_version_check(CAPSTORE_VERSION_MAJOR, 0));
	EXPECT_FALSE(capstore_version_check(CAPSTORE_VERSION_MAJOR + 1, 0));
}

TEST_F(lib, control_open)
{
	int fd;

	fd = capstore_control_open(0);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(cloexec(fd));
	close(fd);
	fd = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(cloexec(fd));
	close(fd);
	EXPECT_EQ(-EINVAL, capstore_control_open(4));
	EXPECT_EQ(-EINVAL, capstore_control_open(~0U));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, store_attach)
{
	uint32_t id = 12345;
	int bdev, ro;

	bdev = open(cs_test_dev(), O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, bdev);
	/* the store is attached already: the device is held */
	EXPECT_EQ(-EBUSY, capstore_store_attach(self->ctl, bdev, 0, &id));
	EXPECT_EQ(12345u, id);
	EXPECT_EQ(-EINVAL, capstore_store_attach(self->ctl, bdev, 1, &id));
	EXPECT_EQ(-EBADF, capstore_store_attach(self->ctl, -1, 0, &id));
	EXPECT_EQ(-ENOTBLK, capstore_store_attach(self->ctl, self->pipe[0],
						  0, &id));
	ro = open(cs_test_dev(), O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, capstore_store_attach(self->ctl, ro, 0, &id));
	close(ro);
	/* the wrong kind of fd for the control commands */
	EXPECT_EQ(-EBADF, capstore_store_attach(-1, bdev, 0, &id));
	EXPECT_EQ(-ENOTTY, capstore_store_attach(self->pipe[0], bdev, 0, &id));
	EXPECT_EQ(-ENOTTY, capstore_store_attach(self->root, bdev, 0, &id));
	close(bdev);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, store_detach_and_reattach)
{
	struct capstore_store_status st;
	uint32_t id;
	int bdev;

	EXPECT_EQ(-EBUSY, capstore_store_detach(self->ctl, self->id, 0));
	EXPECT_EQ(-ENOENT, capstore_store_detach(self->ctl, 9999, 0));
	EXPECT_EQ(-EINVAL, capstore_store_detach(self->ctl, self->id, 1));
	EXPECT_EQ(-ENOTTY, capstore_store_detach(self->seg, self->id, 0));
	EXPECT_EQ(-EBADF, capstore_store_detach(-1, self->id, 0));

	/* with every capability closed: detach, attach again */
	capstore_segment_pwrite(self->seg, "kept", 4, 0);
	capstore_cap_close(self->seg);
	capstore_cap_close(self->node);
	capstore_cap_close(self->root);
	self->seg = self->node = self->root = -EBADF;
	ASSERT_EQ(0, capstore_store_detach(self->ctl, self->id, 0));
	EXPECT_EQ(-ENOENT, capstore_root_open(self->ctl, self->id, 0));
	EXPECT_EQ(-ENOENT, capstore_store_status(self->id, &st));
	bdev = open(cs_test_dev(), O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, bdev);
	ASSERT_EQ(0, capstore_store_attach(self->ctl, bdev, 0, &id));
	close(bdev);
	/* the same device, a new store id: the status follows the id */
	ASSERT_EQ(0, capstore_store_status(id, &st));
	EXPECT_EQ(id, st.id);
	if (id != self->id)
		EXPECT_EQ(-ENOENT, capstore_store_status(self->id, &st));
	self->id = id;
	self->root = capstore_root_open(self->ctl, id, 0);
	ASSERT_LE(0, self->root);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, store_checkpoint)
{
	uint64_t a = 0, b = 0;

	ASSERT_EQ(0, capstore_store_checkpoint(self->ctl, self->id, 0, &a));
	ASSERT_EQ(0, capstore_store_checkpoint(self->ctl, self->id, 0, NULL));
	/* with nothing changed, the last checkpoint holds everything */
	ASSERT_EQ(0, capstore_store_checkpoint(self->ctl, self->id, 0, &b));
	EXPECT_LE(a, b);
	ASSERT_EQ(4, capstore_segment_pwrite(self->seg, "ckpt", 4, 0));
	ASSERT_EQ(0, capstore_store_checkpoint(self->ctl, self->id, 0, &b));
	EXPECT_LT(a, b);
	EXPECT_EQ(-ENOENT, capstore_store_checkpoint(self->ctl, 9999, 0, &a));
	EXPECT_EQ(-EINVAL, capstore_store_checkpoint(self->ctl, self->id, 1,
						     &a));
	EXPECT_EQ(-ENOTTY, capstore_store_checkpoint(self->pipe[0], self->id,
						     0, &a));
	EXPECT_EQ(-EBADF, capstore_store_checkpoint(-1, self->id, 0, &a));
	EXPECT_EQ(ERRNO_MARK, errno);
}

/* /sys/fs/capstore/<dev>/@attr as a string, without its newline. */
static int sysfs_str(const char *attr, char *buf, size_t len)
{
	const char *name = strrchr(cs_test_dev(), '/');
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/%s",
		 name ? name + 1 : cs_test_dev(), attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

/* Every number of @st is the one in its sysfs file. */
static void status_matches_sysfs(struct __test_metadata *_metadata,
				 const struct capstore_store_status *st)
{
	const char *dev = cs_test_dev();

#define SAME(f)	EXPECT_EQ((uint64_t)cs_store_get(dev, #f), st->f) \
			TH_LOG("%s", #f)
	SAME(blocks);
	SAME(free_blocks);
	SAME(objects);
	SAME(open_caps);
	SAME(shutdown);
	SAME(interval_ms);
	SAME(dirty_limit_bytes);
	SAME(section_timeout_ms);
	SAME(seq);
	SAME(checkpoints);
	SAME(failed_checkpoints);
	SAME(last_checkpoint_ns);
	SAME(max_checkpoint_ns);
	SAME(last_stall_ns);
	SAME(max_stall_ns);
	SAME(last_checkpoint_pages);
	SAME(blocks_written);
	SAME(dirty_bytes);
	SAME(sections_open);
	SAME(sections_broken);
#undef SAME
}

TEST_F(lib, store_status)
{
	static char data[4 * 4096];
	struct capstore_store_status st, before;
	const char *dev = cs_test_dev();
	char buf[128];
	struct stat sb;
	uint64_t seq;
	int fd;

	/* No scheduled checkpoint: the figures move only when we move them. */
	ASSERT_EQ(0, cs_store_set(dev, "interval_ms", "0"));
	ASSERT_EQ(0, cs_store_set(dev, "dirty_limit_bytes", "16777216"));
	ASSERT_EQ(0, cs_store_set(dev, "section_timeout_ms", "1234"));
	ASSERT_EQ(0, capstore_store_checkpoint(self->ctl, self->id, 0, &seq));

	memset(&st, 0xa5, sizeof(st));
	ASSERT_EQ(0, capstore_store_status(self->id, &st));
	EXPECT_EQ(sizeof(st), st.size);
	EXPECT_EQ(self->id, st.id);
	EXPECT_EQ(4096u, st.block_size);
	EXPECT_EQ(0u, st.__reserved);
	EXPECT_STREQ(strrchr(dev, '/') + 1, st.name);
	ASSERT_EQ(0, stat(dev, &sb));
	EXPECT_EQ(major(sb.st_rdev), st.dev_major);
	EXPECT_EQ(minor(sb.st_rdev), st.dev_minor);
	ASSERT_EQ(0, sysfs_str("uuid", buf, sizeof(buf)));
	EXPECT_STREQ(buf, st.uuid);
	EXPECT_EQ(36u, strlen(st.uuid));
	ASSERT_EQ(0, sysfs_str("label", buf, sizeof(buf)));
	EXPECT_STREQ(buf, st.label);
	status_matches_sysfs(_metadata, &st);
	/* the settings just written, and the checkpoint just taken */
	EXPECT_EQ(0ull, st.interval_ms);
	EXPECT_EQ(16777216ull, st.dirty_limit_bytes);
	EXPECT_EQ(1234ull, st.section_timeout_ms);
	EXPECT_EQ(seq, st.seq);
	EXPECT_LE(1ull, st.checkpoints);
	EXPECT_EQ(0ull, st.dirty_bytes);
	EXPECT_EQ(0ull, st.shutdown);
	EXPECT_EQ(0ull, st.failed_checkpoints);
	EXPECT_EQ(0ull, st.sections_open);
	EXPECT_LT(0ull, st.last_checkpoint_ns);
	EXPECT_LE(st.last_checkpoint_ns, st.max_checkpoint_ns);
	EXPECT_LE(st.last_stall_ns, st.max_stall_ns);
	EXPECT_LT(st.free_blocks, st.blocks);
	/* root, the test's node and its segment, at least */
	EXPECT_LE(3ull, st.objects);
	/* ctl is not a capability; root, node, seg are */
	EXPECT_EQ(3ull, st.open_caps);

	/* Writes: dirty bytes grow, free space shrinks. */
	before = st;
	memset(data, 's', sizeof(data));
	ASSERT_EQ((ssize_t)sizeof(data),
		  capstore_segment_pwrite(self->seg, data, sizeof(data), 0));
	ASSERT_EQ(0, capstore_store_status(self->id, &st));
	status_matches_sysfs(_metadata, &st);
	EXPECT_LE(4ull * 4096, st.dirty_bytes);
	EXPECT_GT(before.free_blocks, st.free_blocks);
	EXPECT_EQ(before.checkpoints, st.checkpoints);
	EXPECT_EQ(before.seq, st.seq);

	/* A checkpoint: counted, written, nothing dirty left. */
	before = st;
	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, &seq));
	ASSERT_EQ(0, capstore_store_status(self->id, &st));
	status_matches_sysfs(_metadata, &st);
	EXPECT_EQ(before.checkpoints + 1, st.checkpoints);
	EXPECT_EQ(seq, st.seq);
	EXPECT_LT(before.seq, st.seq);
	EXPECT_EQ(0ull, st.dirty_bytes);
	EXPECT_LE(before.blocks_written + 4, st.blocks_written);
	EXPECT_LE(4ull, st.last_checkpoint_pages);

	/* Objects, capabilities and sections are counted as they come. */
	before = st;
	fd = capstore_node_create(self->node, 1, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, capstore_section_begin(fd, 0));
	ASSERT_EQ(0, capstore_store_status(self->id, &st));
	EXPECT_EQ(before.objects + 1, st.objects);
	EXPECT_EQ(before.open_caps + 1, st.open_caps);
	EXPECT_EQ(1ull, st.sections_open);
	ASSERT_EQ(0, capstore_section_end(fd, 0));
	close(fd);
	ASSERT_EQ(0, capstore_store_status(self->id, &st));
	EXPECT_EQ(before.open_caps, st.open_caps);
	EXPECT_EQ(0ull, st.sections_open);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, store_status_errors)
{
	struct capstore_store_status st;
	pid_t pid;
	int status;

	memset(&st, 0xa5, sizeof(st));
	EXPECT_EQ(-ENOENT, capstore_store_status(9999, &st));
	EXPECT_EQ(-ENOENT, capstore_store_status(UINT32_MAX, &st));
	EXPECT_EQ(0xa5a5a5a5u, st.size);	/* untouched on failure */
	EXPECT_EQ(-EINVAL, capstore_store_status(self->id, NULL));
	EXPECT_EQ(ERRNO_MARK, errno);

	/* No privilege needed: nobody reads it too. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(2);
		_exit(capstore_store_status(self->id, &st) == 0 &&
		      st.id == self->id ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/*
 * Threads: NTHREADS threads use the library at once on a shared node and a
 * shared segment. Each creates an object into its own slot of the node,
 * writes it, fetches it back, restricts it and stores the restricted
 * capability in a second slot of its own; each writes and reads its own
 * page of the shared segment; all fetch the shared segment's slot and
 * sync it. Every result is checked, in the thread, and the final state by
 * the main thread.
 */
#define NTHREADS	4
#define ROUNDS		40

struct worker {
	pthread_t thread;
	int node;
	int seg;
	unsigned int n;
	unsigned int failures;
	char what[160];
};

#define W_CHECK(w, cond) do {						\
	if (!(cond) && !(w)->failures++)				\
		snprintf((w)->what, sizeof((w)->what),			\
			 "thread %u round %u line %d: %s", (w)->n, round,\
			 __LINE__, #cond);				\
} while (0)

static void worker_text(char *buf, size_t len, unsigned int n,
			unsigned int round)
{
	memset(buf, 0, len);
	snprintf(buf, len, "thread %u round %u", n, round);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int slot = 1 + w->n, rslot = 1 + NTHREADS + w->n;
	unsigned int round, kind, rights;
	uint64_t off = (uint64_t)w->n * 4096;
	struct capstore_cap_info info;
	char buf[64], back[64];
	int own, again, ro, shared;

	for (round = 0; round < ROUNDS; round++) {
		worker_text(buf, sizeof(buf), w->n, round);

		/* An object of its own, in its own slot of the shared node. */
		capstore_node_clear(w->node, slot, 0);
		own = capstore_node_create(w->node, slot, CAPSTORE_KIND_SEGMENT,
					   4096, CAPSTORE_FD_CLOEXEC);
		W_CHECK(w, own >= 0);
		if (own < 0)
			break;
		W_CHECK(w, capstore_segment_pwrite(own, buf, sizeof(buf), 0) ==
			   (ssize_t)sizeof(buf));
		again = capstore_node_fetch(w->node, slot, CAPSTORE_FD_CLOEXEC);
		W_CHECK(w, again >= 0);
		W_CHECK(w, capstore_segment_pread(again, back, sizeof(back), 0) ==
			   (ssize_t)sizeof(back));
		W_CHECK(w, !memcmp(buf, back, sizeof(buf)));
		ro = capstore_cap_restrict(again, CAPSTORE_RIGHT_READ,
					   CAPSTORE_FD_CLOEXEC);
		W_CHECK(w, ro >= 0);
		W_CHECK(w, capstore_segment_pwrite(ro, buf, 1, 0) == -EBADF);
		W_CHECK(w, capstore_node_store(w->node, rslot, ro, 0) == 0);
		capstore_cap_close(ro);
		ro = capstore_node_fetch_info(w->node, rslot, CAPSTORE_FD_CLOEXEC,
					      &kind, &rights);
		W_CHECK(w, ro >= 0);
		W_CHECK(w, kind == CAPSTORE_KIND_SEGMENT);
		W_CHECK(w, rights == CAPSTORE_RIGHT_READ);
		memset(back, 0, sizeof(back));
		W_CHECK(w, capstore_segment_pread(ro, back, sizeof(back), 0) ==
			   (ssize_t)sizeof(back));
		W_CHECK(w, !memcmp(buf, back, sizeof(buf)));
		capstore_cap_close(ro);
		capstore_cap_close(again);
		capstore_cap_close(own);

		/* Its own page of the shared segment. */
		W_CHECK(w, capstore_segment_pwrite(w->seg, buf, sizeof(buf),
						   off) == (ssize_t)sizeof(buf));
		memset(back, 0, sizeof(back));
		W_CHECK(w, capstore_segment_pread(w->seg, back, sizeof(back),
						  off) == (ssize_t)sizeof(back));
		W_CHECK(w, !memcmp(buf, back, sizeof(buf)));

		/* The slot everyone fetches: the shared segment. */
		shared = capstore_node_fetch(w->node, 0, CAPSTORE_FD_CLOEXEC);
		W_CHECK(w, shared >= 0);
		W_CHECK(w, capstore_cap_info(shared, &info) == 0);
		W_CHECK(w, info.out_kind == CAPSTORE_KIND_SEGMENT &&
			   info.out_size == SEG_SIZE);
		if (round % 8 == 0)
			W_CHECK(w, capstore_cap_sync(shared) == 0);
		capstore_cap_close(shared);
	}
	return NULL;
}

TEST_F_TIMEOUT(lib, threads, 120)
{
	struct worker w[NTHREADS];
	struct capstore_cap_info a, b;
	unsigned int i, kind, rights;
	char want[64], back[64];
	int fd, ro;

	for (i = 0; i < NTHREADS; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].node = self->node;
		w[i].seg = self->seg;
		w[i].n = i;
	}
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_create(&w[i].thread, NULL, worker_main,
					    &w[i]));
	for (i = 0; i < NTHREADS; i++)
		ASSERT_EQ(0, pthread_join(w[i].thread, NULL));
	for (i = 0; i < NTHREADS; i++) {
		const struct worker *wi = &w[i];

		EXPECT_EQ(0u, wi->failures) TH_LOG("%u failures, first: %s",
						   wi->failures, wi->what);
	}

	/* What each thread left: its last round, everywhere. */
	for (i = 0; i < NTHREADS; i++) {
		worker_text(want, sizeof(want), i, ROUNDS - 1);
		EXPECT_EQ((ssize_t)sizeof(back),
			  capstore_segment_pread(self->seg, back, sizeof(back),
						 (uint64_t)i * 4096));
		EXPECT_EQ(0, memcmp(want, back, sizeof(want)));
		fd = capstore_node_fetch(self->node, 1 + i, 0);
		ASSERT_LE(0, fd);
		ro = capstore_node_fetch_info(self->node, 1 + NTHREADS + i, 0,
					      &kind, &rights);
		ASSERT_LE(0, ro);
		EXPECT_EQ((unsigned int)CAPSTORE_RIGHT_READ, rights);
		/* the restricted copy designates the object in the slot */
		ASSERT_EQ(0, capstore_cap_info(fd, &a));
		ASSERT_EQ(0, capstore_cap_info(ro, &b));
		EXPECT_EQ(a.out_oid, b.out_oid);
		EXPECT_EQ((ssize_t)sizeof(back),
			  capstore_segment_pread(ro, back, sizeof(back), 0));
		EXPECT_EQ(0, memcmp(want, back, sizeof(want)));
		close(ro);
		close(fd);
	}
	EXPECT_EQ(0, capstore_cap_sync(self->seg));
}

TEST_F(lib, root_open)
{
	struct capstore_cap_info info;
	int fd;

	fd = capstore_root_open(self->ctl, self->id, 0);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(cloexec(fd));
	ASSERT_EQ(0, capstore_cap_info(fd, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_NODE, info.out_kind);
	EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info.out_rights);
	EXPECT_EQ(self->id, info.out_store_id);
	close(fd);
	EXPECT_TRUE(cloexec(self->root));
	EXPECT_EQ(-ENOENT, capstore_root_open(self->ctl, 9999, 0));
	EXPECT_EQ(-EINVAL, capstore_root_open(self->ctl, self->id, 4));
	EXPECT_EQ(-ENOTTY, capstore_root_open(self->node, self->id, 0));
	EXPECT_EQ(-EBADF, capstore_root_open(-1, self->id, 0));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_info)
{
	struct capstore_cap_info info;

	memset(&info, 0xff, sizeof(info));
	ASSERT_EQ(0, capstore_cap_info(self->seg, &info));
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, info.out_kind);
	EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info.out_rights);
	EXPECT_EQ((uint64_t)SEG_SIZE, info.out_size);
	EXPECT_EQ(self->id, info.out_store_id);
	EXPECT_EQ(0u, info.out_flags);
	EXPECT_NE(0ull, info.out_oid);
	ASSERT_EQ(0, capstore_cap_info(self->node, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_NODE, info.out_kind);
	EXPECT_EQ((uint64_t)CAPSTORE_NODE_SLOTS, info.out_size);
	EXPECT_EQ(-EBADF, capstore_cap_info(-1, &info));
	EXPECT_EQ(-ENOTTY, capstore_cap_info(self->pipe[0], &info));
	EXPECT_EQ(-ENOTTY, capstore_cap_info(self->ctl, &info));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_restrict)
{
	struct capstore_cap_info info;
	unsigned int ro = CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP;
	int fd, weak;

	fd = capstore_cap_restrict(self->seg, ro, 0);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(cloexec(fd));
	ASSERT_EQ(0, capstore_cap_info(fd, &info));
	EXPECT_EQ(ro, info.out_rights);
	/* rights only shrink */
	EXPECT_EQ(-EPERM, capstore_cap_restrict(fd, ro | CAPSTORE_RIGHT_WRITE,
						0));
	weak = capstore_cap_restrict(fd, ro | CAPSTORE_RIGHT_WEAK,
				     CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, weak);
	EXPECT_TRUE(cloexec(weak));
	EXPECT_EQ(-EPERM, capstore_cap_restrict(weak, ro, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_restrict(self->seg, 1U << 20, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_restrict(self->seg, ro, 4));
	EXPECT_EQ(-EBADF, capstore_cap_restrict(-1, ro, 0));
	EXPECT_EQ(-ENOTTY, capstore_cap_restrict(self->pipe[0], ro, 0));
	close(weak);
	close(fd);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_close)
{
	int fd = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);

	ASSERT_LE(0, fd);
	EXPECT_EQ(0, capstore_cap_close(fd));
	EXPECT_EQ(-EBADF, capstore_cap_close(fd));
	EXPECT_EQ(-EBADF, capstore_cap_info(fd, &(struct capstore_cap_info){0}));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_checkpoint_and_sync)
{
	uint64_t a = 0, b = 0;
	int none;

	ASSERT_EQ(4, capstore_segment_pwrite(self->seg, "sync", 4, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, &a));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->node, 0, NULL));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->node, 0, &b));
	EXPECT_LE(a, b);
	ASSERT_EQ(4, capstore_segment_pwrite(self->seg, "more", 4, 0));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->node, 0, &b));
	EXPECT_LT(a, b);
	EXPECT_EQ(-EINVAL, capstore_cap_checkpoint(self->seg, 1, &a));
	EXPECT_EQ(-EBADF, capstore_cap_checkpoint(-1, 0, &a));
	EXPECT_EQ(-ENOTTY, capstore_cap_checkpoint(self->pipe[0], 0, &a));
	/* any capability will do, even one with no right at all */
	none = capstore_cap_restrict(self->seg, 0, 0);
	ASSERT_LE(0, none);
	EXPECT_EQ(0, capstore_cap_checkpoint(none, 0, NULL));
	EXPECT_EQ(0, capstore_cap_sync(none));
	close(none);
	EXPECT_EQ(0, capstore_cap_sync(self->seg));
	EXPECT_EQ(0, capstore_cap_sync(self->node));
	EXPECT_EQ(-EBADF, capstore_cap_sync(-1));
	EXPECT_EQ(-EINVAL, capstore_cap_sync(self->pipe[0]));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_destroy)
{
	int seg, ro;
	char c;

	seg = capstore_node_create(self->node, 1, CAPSTORE_KIND_SEGMENT, 4096,
				   0);
	ASSERT_LE(0, seg);
	ro = capstore_cap_restrict(seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, capstore_cap_destroy(ro, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_destroy(seg, 1));
	EXPECT_EQ(-EPERM, capstore_cap_destroy(self->root, 0));
	EXPECT_EQ(-EBADF, capstore_cap_destroy(-1, 0));
	EXPECT_EQ(-ENOTTY, capstore_cap_destroy(self->pipe[0], 0));
	ASSERT_EQ(0, capstore_cap_destroy(seg, 0));
	/* every capability to it is dead, open or in the slot */
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(ro, &c, 1, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_cap_destroy(seg, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->node, 1, 0));
	close(ro);
	close(seg);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_revoke)
{
	int fresh, ro;
	char buf[4];

	ASSERT_EQ(4, capstore_segment_pwrite(self->seg, "data", 4, 0));
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, capstore_cap_revoke(ro, 0));
	EXPECT_EQ(-EINVAL, capstore_cap_revoke(self->seg, 4));
	EXPECT_EQ(-EBADF, capstore_cap_revoke(-1, 0));
	EXPECT_EQ(-ENOTTY, capstore_cap_revoke(self->pipe[0], 0));
	fresh = capstore_cap_revoke(self->seg, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, fresh);
	EXPECT_TRUE(cloexec(fresh));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(ro, buf, 4, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(self->seg, buf, 4, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_node_fetch(self->node, 0, 0));
	/* the data stays */
	ASSERT_EQ(4, capstore_segment_pread(fresh, buf, 4, 0));
	EXPECT_EQ(0, memcmp(buf, "data", 4));
	EXPECT_EQ(0, capstore_node_store(self->node, 0, fresh, 0));
	close(ro);
	close(self->seg);
	self->seg = fresh;
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, cap_forward)
{
	unsigned int ro = CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP;
	struct capstore_cap_info info;
	int fwd, ctrl, weak;
	unsigned int kind;
	char buf[2];

	ASSERT_EQ(2, capstore_segment_pwrite(self->seg, "fw", 2, 0));
	EXPECT_EQ(-EPERM, capstore_cap_forward(self->seg, self->node, 2,
					       ro | CAPSTORE_RIGHT_DESTROY, 0));
	EXPECT_EQ(-EEXIST, capstore_cap_forward(self->seg, self->node, 0, ro,
						0));
	EXPECT_EQ(-EINVAL, capstore_cap_forward(self->seg, self->node, 2, ro,
						4));
	EXPECT_EQ(-EINVAL, capstore_cap_forward(self->seg, self->node,
						CAPSTORE_NODE_SLOTS, ro, 0));
	EXPECT_EQ(-EBADF, capstore_cap_forward(self->seg, -1, 2, ro, 0));
	EXPECT_EQ(-EBADF, capstore_cap_forward(-1, self->node, 2, ro, 0));
	EXPECT_EQ(-ENOTTY, capstore_cap_forward(self->pipe[0], self->node, 2,
						ro, 0));
	weak = capstore_cap_restrict(self->node, CAPSTORE_RIGHTS_ALL |
				     CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	EXPECT_EQ(-EPERM, capstore_cap_forward(self->seg, weak, 2, ro, 0));
	close(weak);

	fwd = capstore_cap_forward(self->seg, self->node, 2, ro,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, fwd);
	EXPECT_TRUE(cloexec(fwd));
	ASSERT_EQ(0, capstore_cap_info(fwd, &info));
	EXPECT_EQ(ro, info.out_rights);
	EXPECT_EQ((uint32_t)CAPSTORE_CAP_FORWARDED, info.out_flags);
	EXPECT_EQ(2, capstore_segment_pread(fwd, buf, 2, 0));
	ctrl = capstore_node_fetch_info(self->node, 2, 0, &kind, NULL);
	ASSERT_LE(0, ctrl);
	EXPECT_EQ((unsigned int)CAPSTORE_KIND_FORWARDER, kind);
	ASSERT_EQ(0, capstore_cap_destroy(ctrl, 0));
	EXPECT_EQ(-EKEYREVOKED, capstore_segment_pread(fwd, buf, 2, 0));
	EXPECT_EQ(2, capstore_segment_pread(self->seg, buf, 2, 0));
	close(ctrl);
	close(fwd);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, sections)
{
	int other;

	EXPECT_EQ(-EINVAL, capstore_section_end(self->seg, 0));
	ASSERT_EQ(0, capstore_section_begin(self->seg, 0));
	ASSERT_EQ(0, capstore_section_begin(self->seg, 0));	/* nested */
	ASSERT_EQ(4, capstore_segment_pwrite(self->seg, "sect", 4, 0));
	EXPECT_EQ(0, capstore_section_end(self->seg, 0));
	EXPECT_EQ(0, capstore_section_end(self->seg, 0));
	EXPECT_EQ(-EINVAL, capstore_section_end(self->seg, 0));
	/* sections belong to the fd */
	other = capstore_cap_restrict(self->seg, 0, 0);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, capstore_section_begin(other, 0));
	EXPECT_EQ(-EINVAL, capstore_section_end(self->seg, 0));
	EXPECT_EQ(0, capstore_section_end(other, 0));
	/* closing the fd ends its sections: a checkpoint does not wait */
	ASSERT_EQ(0, capstore_section_begin(other, 0));
	close(other);
	EXPECT_EQ(0, capstore_cap_checkpoint(self->seg, 0, NULL));
	EXPECT_EQ(-EINVAL, capstore_section_begin(self->seg, 1));
	EXPECT_EQ(-EINVAL, capstore_section_end(self->seg, 1));
	EXPECT_EQ(-EBADF, capstore_section_begin(-1, 0));
	EXPECT_EQ(-ENOTTY, capstore_section_begin(self->pipe[0], 0));
	EXPECT_EQ(-ENOTTY, capstore_section_end(self->pipe[0], 0));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, node_create)
{
	struct capstore_cap_info info;
	int seg, node, ro, weak;

	seg = capstore_node_create(self->node, 3, CAPSTORE_KIND_SEGMENT, 8192,
				   0);
	ASSERT_LE(0, seg);
	EXPECT_TRUE(cloexec(seg));
	ASSERT_EQ(0, capstore_cap_info(seg, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_SEGMENT, info.out_kind);
	EXPECT_EQ((uint32_t)CAPSTORE_RIGHTS_ALL, info.out_rights);
	EXPECT_EQ(8192ull, info.out_size);
	node = capstore_node_create(self->node, 4, CAPSTORE_KIND_NODE, 0,
				    CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, node);
	EXPECT_TRUE(cloexec(node));
	ASSERT_EQ(0, capstore_cap_info(node, &info));
	EXPECT_EQ((uint32_t)CAPSTORE_KIND_NODE, info.out_kind);

	EXPECT_EQ(-EEXIST, capstore_node_create(self->node, 3,
						CAPSTORE_KIND_NODE, 0, 0));
	EXPECT_EQ(-EINVAL, capstore_node_create(self->node, 5, 99, 0, 0));
	EXPECT_EQ(-EINVAL, capstore_node_create(self->node, 5,
						CAPSTORE_KIND_SEGMENT, 100, 0));
	EXPECT_EQ(-EINVAL, capstore_node_create(self->node, 5,
						CAPSTORE_KIND_NODE, 4096, 0));
	EXPECT_EQ(-EINVAL, capstore_node_create(self->node,
						CAPSTORE_NODE_SLOTS,
						CAPSTORE_KIND_NODE, 0, 0));
	EXPECT_EQ(-EINVAL, capstore_node_create(self->node, 5,
						CAPSTORE_KIND_NODE, 0, 4));
	ro = capstore_cap_restrict(self->node, CAPSTORE_RIGHT_READ |
				   CAPSTORE_RIGHT_GRANT, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EPERM, capstore_node_create(ro, 5, CAPSTORE_KIND_NODE, 0,
					       0));
	weak = capstore_cap_restrict(self->node, CAPSTORE_RIGHTS_ALL |
				     CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	EXPECT_EQ(-EPERM, capstore_node_create(weak, 5, CAPSTORE_KIND_NODE, 0,
					       0));
	EXPECT_EQ(-ENOTTY, capstore_node_create(seg, 0, CAPSTORE_KIND_NODE, 0,
						0));
	EXPECT_EQ(-ENOTTY, capstore_node_create(self->pipe[0], 0,
						CAPSTORE_KIND_NODE, 0, 0));
	EXPECT_EQ(-EBADF, capstore_node_create(-1, 0, CAPSTORE_KIND_NODE, 0,
					       0));
	close(weak);
	close(ro);
	close(node);
	close(seg);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, node_fetch)
{
	unsigned int kind = 0, rights = 0;
	int fd, weak, wfd;

	fd = capstore_node_fetch(self->node, 0, 0);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(cloexec(fd));
	close(fd);
	fd = capstore_node_fetch_info(self->node, 0, CAPSTORE_FD_CLOEXEC,
				      &kind, &rights);
	ASSERT_LE(0, fd);
	EXPECT_TRUE(cloexec(fd));
	EXPECT_EQ((unsigned int)CAPSTORE_KIND_SEGMENT, kind);
	EXPECT_EQ((unsigned int)CAPSTORE_RIGHTS_ALL, rights);
	close(fd);
	fd = capstore_node_fetch_info(self->node, 0, 0, NULL, NULL);
	ASSERT_LE(0, fd);
	close(fd);
	/* through a weak node: weak, without WRITE and DESTROY */
	weak = capstore_cap_restrict(self->node, CAPSTORE_RIGHTS_ALL |
				     CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	wfd = capstore_node_fetch_info(weak, 0, 0, &kind, &rights);
	ASSERT_LE(0, wfd);
	EXPECT_EQ((unsigned int)(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP |
				 CAPSTORE_RIGHT_GRANT | CAPSTORE_RIGHT_WEAK),
		  rights);
	close(wfd);
	close(weak);

	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->node, 7, 0));
	EXPECT_EQ(-EINVAL, capstore_node_fetch(self->node,
					       CAPSTORE_NODE_SLOTS, 0));
	EXPECT_EQ(-EINVAL, capstore_node_fetch(self->node, 0, 4));
	fd = capstore_cap_restrict(self->node, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EPERM, capstore_node_fetch(fd, 0, 0));
	close(fd);
	EXPECT_EQ(-ENOTTY, capstore_node_fetch(self->seg, 0, 0));
	EXPECT_EQ(-ENOTTY, capstore_node_fetch_info(self->pipe[0], 0, 0,
						    &kind, &rights));
	EXPECT_EQ(-EBADF, capstore_node_fetch(-1, 0, 0));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, node_store_and_clear)
{
	unsigned int rights = 0;
	int ro, fd, weak;

	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, capstore_node_store(self->node, 5, ro, 0));
	fd = capstore_node_fetch_info(self->node, 5, 0, NULL, &rights);
	ASSERT_LE(0, fd);
	EXPECT_EQ((unsigned int)CAPSTORE_RIGHT_READ, rights);
	close(fd);
	/* overwrites */
	ASSERT_EQ(0, capstore_node_store(self->node, 5, self->node, 0));
	fd = capstore_node_fetch_info(self->node, 5, 0, &rights, NULL);
	ASSERT_LE(0, fd);
	EXPECT_EQ((unsigned int)CAPSTORE_KIND_NODE, rights);
	close(fd);
	EXPECT_EQ(-EBADF, capstore_node_store(self->node, 5, -1, 0));
	EXPECT_EQ(-EBADF, capstore_node_store(self->node, 5, self->pipe[0],
					      0));
	EXPECT_EQ(-EINVAL, capstore_node_store(self->node, 5, ro, 1));
	EXPECT_EQ(-EINVAL, capstore_node_store(self->node,
					       CAPSTORE_NODE_SLOTS, ro, 0));
	weak = capstore_cap_restrict(self->node, CAPSTORE_RIGHTS_ALL |
				     CAPSTORE_RIGHT_WEAK, 0);
	ASSERT_LE(0, weak);
	EXPECT_EQ(-EPERM, capstore_node_store(weak, 5, ro, 0));
	EXPECT_EQ(-EPERM, capstore_node_clear(weak, 5, 0));
	EXPECT_EQ(-ENOTTY, capstore_node_store(self->seg, 0, ro, 0));
	EXPECT_EQ(-EBADF, capstore_node_store(-1, 0, ro, 0));

	ASSERT_EQ(0, capstore_node_clear(self->node, 5, 0));
	EXPECT_EQ(-ENOENT, capstore_node_fetch(self->node, 5, 0));
	EXPECT_EQ(0, capstore_node_clear(self->node, 5, 0));	/* empty */
	EXPECT_EQ(-EINVAL, capstore_node_clear(self->node, 5, 1));
	EXPECT_EQ(-EINVAL, capstore_node_clear(self->node,
					       CAPSTORE_NODE_SLOTS, 0));
	EXPECT_EQ(-ENOTTY, capstore_node_clear(self->seg, 0, 0));
	EXPECT_EQ(-EBADF, capstore_node_clear(-1, 0, 0));
	close(weak);
	close(ro);
	EXPECT_EQ(ERRNO_MARK, errno);
}

/* A capability of another store cannot go into this store's nodes. */
TEST_F(lib, node_store_cross_store)
{
	const char *dev2 = getenv("CS_TEST_DEV2");
	int ctl, root2, bdev;
	uint32_t id2;

	if (!dev2 || !*dev2)
		SKIP(return, "no second store ($CS_TEST_DEV2)");
	ctl = capstore_control_open(0);
	ASSERT_LE(0, ctl);
	bdev = open(dev2, O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, bdev);
	ASSERT_EQ(0, capstore_store_attach(ctl, bdev, 0, &id2));
	close(bdev);
	EXPECT_NE(self->id, id2);
	root2 = capstore_root_open(ctl, id2, 0);
	ASSERT_LE(0, root2);
	EXPECT_EQ(-EXDEV, capstore_node_store(self->node, 6, root2, 0));
	EXPECT_EQ(-EXDEV, capstore_node_store(root2, 6, self->seg, 0));
	EXPECT_EQ(-EXDEV, capstore_cap_forward(self->seg, root2, 6,
					       CAPSTORE_RIGHT_READ, 0));
	close(root2);
	EXPECT_EQ(0, capstore_store_detach(ctl, id2, 0));
	close(ctl);
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, segment_map)
{
	char *p, *q, buf[8];
	int ro, ret;

	ASSERT_EQ(0, capstore_segment_map(self->seg, 0, SEG_SIZE,
					  PROT_READ | PROT_WRITE,
					  (void **)&p));
	memcpy(p + 4096, "mapped", 6);
	ASSERT_EQ(6, capstore_segment_pread(self->seg, buf, 6, 4096));
	EXPECT_EQ(0, memcmp(buf, "mapped", 6));
	/* at an offset */
	ASSERT_EQ(0, capstore_segment_map(self->seg, 4096, 4096, PROT_READ,
					  (void **)&q));
	EXPECT_EQ(0, memcmp(q, "mapped", 6));
	EXPECT_EQ(0, capstore_segment_unmap(q, 4096));
	EXPECT_EQ(0, capstore_segment_unmap(p, SEG_SIZE));

	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ |
				   CAPSTORE_RIGHT_MAP, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EACCES, capstore_segment_map(ro, 0, 4096,
						PROT_READ | PROT_WRITE,
						(void **)&p));
	ASSERT_EQ(0, capstore_segment_map(ro, 0, 4096, PROT_READ,
					  (void **)&p));
	EXPECT_EQ(0, capstore_segment_unmap(p, 4096));
	close(ro);
	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	ret = capstore_segment_map(ro, 0, 4096, PROT_READ, (void **)&p);
	EXPECT_EQ(-EPERM, ret);
	close(ro);
	EXPECT_EQ(-EINVAL, capstore_segment_map(self->seg, 100, 4096,
						PROT_READ, (void **)&p));
	EXPECT_EQ(-EINVAL, capstore_segment_map(self->seg, 0, 0, PROT_READ,
						(void **)&p));
	EXPECT_EQ(-EOVERFLOW, capstore_segment_map(self->seg, UINT64_MAX - 4095,
						   4096, PROT_READ,
						   (void **)&p));
	EXPECT_EQ(-ENODEV, capstore_segment_map(self->node, 0, 4096,
						PROT_READ, (void **)&p));
	EXPECT_EQ(-ENODEV, capstore_segment_map(self->pipe[0], 0, 4096,
						PROT_READ, (void **)&p));
	EXPECT_EQ(-EBADF, capstore_segment_map(-1, 0, 4096, PROT_READ,
					       (void **)&p));
	EXPECT_EQ(-EINVAL, capstore_segment_unmap((char *)p + 1, 4096));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, segment_pread_pwrite)
{
	static char big[SEG_SIZE], back[SEG_SIZE];
	int ro, wo;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)cs_mix(i);
	EXPECT_EQ((ssize_t)SEG_SIZE, capstore_segment_pwrite(self->seg, big,
							     SEG_SIZE, 0));
	EXPECT_EQ((ssize_t)SEG_SIZE, capstore_segment_pread(self->seg, back,
							    SEG_SIZE, 0));
	EXPECT_EQ(0, memcmp(big, back, SEG_SIZE));
	/* at the end: short, then nothing */
	EXPECT_EQ(100, capstore_segment_pwrite(self->seg, big, 4096,
					       SEG_SIZE - 100));
	EXPECT_EQ(100, capstore_segment_pread(self->seg, back, 4096,
					      SEG_SIZE - 100));
	EXPECT_EQ(0, capstore_segment_pread(self->seg, back, 4096, SEG_SIZE));
	EXPECT_EQ(-EFBIG, capstore_segment_pwrite(self->seg, big, 1,
						  SEG_SIZE));
	EXPECT_EQ(-EOVERFLOW, capstore_segment_pread(self->seg, back, 1,
						     UINT64_MAX));
	EXPECT_EQ(-EOVERFLOW, capstore_segment_pwrite(self->seg, big, 1,
						      UINT64_MAX));
	EXPECT_EQ(-EINVAL, capstore_segment_pread(self->seg, back,
						  (size_t)SSIZE_MAX + 1, 0));

	ro = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, ro);
	EXPECT_EQ(-EBADF, capstore_segment_pwrite(ro, big, 1, 0));
	EXPECT_EQ(1, capstore_segment_pread(ro, back, 1, 0));
	wo = capstore_cap_restrict(self->seg, CAPSTORE_RIGHT_WRITE, 0);
	ASSERT_LE(0, wo);
	EXPECT_EQ(-EBADF, capstore_segment_pread(wo, back, 1, 0));
	EXPECT_EQ(1, capstore_segment_pwrite(wo, big, 1, 0));
	close(wo);
	close(ro);
	EXPECT_EQ(-ESPIPE, capstore_segment_pread(self->node, back, 1, 0));
	EXPECT_EQ(-EBADF, capstore_segment_pread(-1, back, 1, 0));
	EXPECT_EQ(-ESPIPE, capstore_segment_pread(self->pipe[0], back, 1, 0));
	EXPECT_EQ(ERRNO_MARK, errno);
}

TEST_F(lib, segment_size)
{
	uint64_t size = 0;

	ASSERT_EQ(0, capstore_segment_size(self->seg, &size));
	EXPECT_EQ((uint64_t)SEG_SIZE, size);
	size = 7;
	EXPECT_EQ(-ENOTTY, capstore_segment_size(self->node, &size));
	EXPECT_EQ(7ull, size);
	EXPECT_EQ(-ENOTTY, capstore_segment_size(self->pipe[0], &size));
	EXPECT_EQ(-EBADF, capstore_segment_size(-1, &size));
	EXPECT_EQ(ERRNO_MARK, errno);
}

CS_HARNESS_MAIN
