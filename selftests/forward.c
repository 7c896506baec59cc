// SPDX-License-Identifier: GPL-2.0
/*
 * forward - selective revocation through revocable forwarders.
 *
 * A capability delegated through a forwarder acts on the same object with
 * the rights given; destroying or revoking the forwarder kills every
 * capability made through it (open, stored, passed to another process,
 * mapped) and nothing else. Chains of forwarders, the depth limit, rights
 * rules, and persistence across a power cut (phases persist_write,
 * persist_verify, persist_kill, persist_dead, picked by the scenario).
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

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
