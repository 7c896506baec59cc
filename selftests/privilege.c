// SPDX-License-Identifier: GPL-2.0
/*
 * privilege - only CAP_SYS_ADMIN bootstraps: an unprivileged process
 * cannot get a store's root node or any capability it was not given, by
 * any control command and any store id. What it is given, over a unix
 * socket, it can use exactly as the rights allow.
 *
 * Needs a formatted store on $CS_TEST_DEV; runs as root and drops to
 * nobody (65534) in a child.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define NOBODY 65534

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

static void drop_privileges(struct __test_metadata *_metadata)
{
	ASSERT_EQ(0, setgroups(0, NULL));
	ASSERT_EQ(0, setresgid(NOBODY, NOBODY, NOBODY));
	ASSERT_EQ(0, setresuid(NOBODY, NOBODY, NOBODY));
	ASSERT_NE(0u, geteuid());
}

static void send_fd(struct __test_metadata *_metadata, int sock, int fd)
{
	char data = 'c', cbuf[CMSG_SPACE(sizeof(int))] = "";
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
	ASSERT_EQ(1, sendmsg(sock, &msg, 0));
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

FIXTURE(store) {
	uint32_t id;
	int root;
};

FIXTURE_SETUP(store)
{
	self->root = -EBADF;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
}

FIXTURE_TEARDOWN(store)
{
	if (self->root >= 0)
		close(self->root);
	chmod(CAPSTORE_CONTROL_DEVICE, 0600);
	EXPECT_EQ(0, cs_detach(self->id));
}

/* The control device is root's alone. */
TEST_F(store, no_control_device)
{
	pid_t pid = fork();
	int status;

	ASSERT_LE(0, pid);
	if (!pid) {
		drop_privileges(_metadata);
		ASSERT_EQ(-EACCES, capstore_control_open(0));
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
}

/* Even with the device opened up, every command needs CAP_SYS_ADMIN. */
TEST_F(store, no_bootstrap)
{
	pid_t pid;
	int status;

	ASSERT_EQ(0, chmod(CAPSTORE_CONTROL_DEVICE, 0666));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct capstore_root root = { .size = sizeof(root) };
		struct capstore_checkpoint cp = { .size = sizeof(cp) };
		struct capstore_detach det = { .size = sizeof(det) };
		struct capstore_attach att = { .size = sizeof(att) };
		int ctl, bdev;
		uint32_t id;

		drop_privileges(_metadata);
		ctl = capstore_control_open(0);
		ASSERT_LE(0, ctl);
		for (id = 0; id < 1000; id++) {
			root.store_id = id == 999 ? self->id : id;
			EXPECT_EQ(-EPERM, xioctl(ctl, CAPSTORE_ROOT, &root));
			cp.store_id = root.store_id;
			EXPECT_EQ(-EPERM, xioctl(ctl, CAPSTORE_CHECKPOINT, &cp));
			det.store_id = root.store_id;
			EXPECT_EQ(-EPERM, xioctl(ctl, CAPSTORE_DETACH, &det));
		}
		srandom(getpid());
		for (id = 0; id < 1000; id++) {
			root.store_id = random();
			root.flags = random() & 1;
			EXPECT_EQ(-EPERM, xioctl(ctl, CAPSTORE_ROOT, &root));
		}
		bdev = open(cs_test_dev(), O_RDWR);
		att.bdev_fd = bdev;
		EXPECT_EQ(-EPERM, xioctl(ctl, CAPSTORE_ATTACH, &att));
		if (bdev >= 0)
			close(bdev);
		close(ctl);
		_exit(_metadata->passed ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	/* The store is unchanged and still ours. */
	EXPECT_EQ(0, capstore_node_clear(self->root, 31, 0));
}

/*
 * A capability passed over a unix socket: the unprivileged receiver can do
 * what its rights allow and nothing more, and cannot reach the root node
 * through /proc.
 */
TEST_F(store, given_capability)
{
	int sv[2], seg, ro, status;
	pid_t pid;
	void *p;

	capstore_node_clear(self->root, 2, 0);
	seg = capstore_node_create(self->root, 2, CAPSTORE_KIND_SEGMENT, 8192,
				   0);
	ASSERT_LE(0, seg);
	ASSERT_EQ(5, capstore_segment_pwrite(seg, "hello", 5, 0));
	ro = capstore_cap_restrict(seg, CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP,
				   0);
	ASSERT_LE(0, ro);
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));

	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		struct capstore_cap_info info;
		char buf[8] = "", path[64];
		int fd, up;

		close(sv[0]);
		close(seg);
		close(ro);
		drop_privileges(_metadata);
		fd = recv_fd(sv[1]);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, capstore_cap_info(fd, &info));
		EXPECT_EQ((uint32_t)(CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP),
			  info.out_rights);
		EXPECT_EQ(5, capstore_segment_pread(fd, buf, 5, 0));
		EXPECT_EQ(0, memcmp(buf, "hello", 5));
		EXPECT_EQ(-EBADF, capstore_segment_pwrite(fd, "x", 1, 0));
		p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		EXPECT_EQ(MAP_FAILED, p);
		p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		ASSERT_NE(MAP_FAILED, p);
		EXPECT_EQ(0, memcmp(p, "hello", 5));
		EXPECT_EQ(-1, mprotect(p, 4096, PROT_READ | PROT_WRITE));
		munmap(p, 4096);
		up = capstore_cap_restrict(fd, CAPSTORE_RIGHTS_ALL, 0);
		EXPECT_EQ(-EPERM, up);
		/* It holds no node: nothing to fetch from, nothing to store. */
		EXPECT_EQ(-ENOTTY, capstore_node_fetch(fd, 0, 0));
		/* The parent's root node is not reachable through /proc. */
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", getppid(),
			 self->root);
		EXPECT_EQ(-1, open(path, O_RDONLY));
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		EXPECT_EQ(-1, open(path, O_RDWR));
		close(fd);
		_exit(_metadata->passed ? 0 : 1);
	}
	close(sv[1]);
	send_fd(_metadata, sv[0], ro);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
	close(sv[0]);
	close(ro);
	close(seg);
	EXPECT_EQ(0, capstore_node_clear(self->root, 2, 0));
}

CS_HARNESS_MAIN
