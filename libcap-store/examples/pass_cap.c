// SPDX-License-Identifier: MIT
/*
 * pass_cap - hand a restricted capability to another process
 *
 *	pass_cap [--store-id N] [--slot S] [--scratch T]
 *
 * A capability is a file descriptor, so it travels like one: over a unix
 * socket, with SCM_RIGHTS. The parent gets the segment in slot S of the
 * root node (default 2; created with a greeting the first time), and
 * hands two capabilities to a child process it forks, which holds
 * nothing else:
 *
 * 1. a read-only view: restricted to READ and MAP. The child reads and
 *    maps it, and shows what it cannot do: write, map writable, upgrade
 *    the mapping with mprotect, win back rights by restricting, destroy.
 * 2. a revocable delegation: the same rights, made through a forwarder
 *    whose control capability goes into slot T of the root node (default
 *    3). The child reads through it; the parent then destroys the
 *    forwarder, and the child's next read fails with EKEYREVOKED while
 *    its read-only view goes on working.
 *
 * Exit status 0 if everything happened as it should. Needs CAP_SYS_ADMIN
 * for the root node.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcapstore.h>

#define SEG_SIZE	4096
#define GREETING	"hello from the capstore"

static const char usage[] =
	"usage: pass_cap [--store-id N] [--slot S] [--scratch T]\n";

static int fail(const char *who, const char *what, int err)
{
	fprintf(stderr, "pass_cap %s: %s: %s\n", who, what, strerror(-err));
	return EXIT_FAILURE;
}

/* Send @fd (and one byte, @tag) over the unix socket @sock. */
static int send_fd(int sock, int fd, char tag)
{
	char control[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -errno;
}

/* Receive one fd; its tag into *@tag. */
static int recv_fd(int sock, char *tag)
{
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { .iov_base = tag, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control),
	};
	struct cmsghdr *cmsg;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		return -EPROTO;
	cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS)
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

static void rights_str(unsigned int rights, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s%s%s%s%s%s",
		 rights & CAPSTORE_RIGHT_READ ? "read " : "",
		 rights & CAPSTORE_RIGHT_WRITE ? "write " : "",
		 rights & CAPSTORE_RIGHT_MAP ? "map " : "",
		 rights & CAPSTORE_RIGHT_GRANT ? "grant " : "",
		 rights & CAPSTORE_RIGHT_DESTROY ? "destroy " : "",
		 rights & CAPSTORE_RIGHT_WEAK ? "weak " : "");
	n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';	/* the last space */
}

/* One refusal the child expects: @got must be -@want. */
static bool refused(const char *what, int got, int want)
{
	if (got == -want) {
		printf("child: cannot %s: %s (as it should be)\n", what,
		       strerror(want));
		return true;
	}
	printf("child: %s: expected %s, got %s\n", what, strerror(want),
	       got < 0 ? strerror(-got) : "success");
	return false;
}

/*
 * The receiving side: it holds nothing but the socket, and what comes
 * through it.
 */
static int child(int sock)
{
	struct capstore_cap_info info;
	char buf[sizeof(GREETING)], rights[64], tag, go;
	bool ok = true;
	void *addr;
	int ro, fwd, ret;

	ro = recv_fd(sock, &tag);
	if (ro < 0)
		return fail("child", "receive", ro);
	ret = capstore_cap_info(ro, &info);
	if (ret < 0)
		return fail("child", "info", ret);
	rights_str(info.out_rights, rights, sizeof(rights));
	printf("child: received a segment capability, %llu bytes, rights: %s\n",
	       (unsigned long long)info.out_size, rights);

	/* What it can do. */
	ret = capstore_segment_pread(ro, buf, sizeof(buf), 0);
	if (ret != sizeof(buf) || memcmp(buf, GREETING, sizeof(buf)))
		return fail("child", "read", ret < 0 ? ret : -EIO);
	printf("child: read \"%s\"\n", buf);
	ret = capstore_segment_map(ro, 0, SEG_SIZE, PROT_READ, &addr);
	if (ret < 0)
		return fail("child", "map read-only", ret);
	printf("child: mapped it read-only: \"%s\"\n", (char *)addr);

	/* What it cannot. */
	ret = capstore_segment_pwrite(ro, "x", 1, 0);
	ok &= refused("write", ret, EBADF);
	{
		void *w;

		ret = capstore_segment_map(ro, 0, SEG_SIZE,
					   PROT_READ | PROT_WRITE, &w);
		ok &= refused("map it writable", ret, EACCES);
	}
	ret = mprotect(addr, SEG_SIZE, PROT_READ | PROT_WRITE) ? -errno : 0;
	ok &= refused("make the mapping writable", ret, EACCES);
	ret = capstore_cap_restrict(ro, CAPSTORE_RIGHTS_ALL, 0);
	ok &= refused("restrict to more rights", ret, EPERM);
	ret = capstore_cap_destroy(ro, 0);
	ok &= refused("destroy the segment", ret, EPERM);
	ret = capstore_node_fetch(ro, 0, 0);
	ok &= refused("use it as a node", ret, ENOTTY);
	capstore_segment_unmap(addr, SEG_SIZE);

	/* The revocable delegation: it works until the parent says no. */
	fwd = recv_fd(sock, &tag);
	if (fwd < 0)
		return fail("child", "receive", fwd);
	ret = capstore_segment_pread(fwd, buf, sizeof(buf), 0);
	if (ret != sizeof(buf))
		return fail("child", "read through the forwarder",
			    ret < 0 ? ret : -EIO);
	printf("child: read through the forwarded capability: \"%s\"\n", buf);
	if (write(sock, "r", 1) != 1 || read(sock, &go, 1) != 1)
		return fail("child", "socket", -EPIPE);
	ret = capstore_segment_pread(fwd, buf, sizeof(buf), 0);
	ok &= refused("read through the forwarded capability any more",
		      ret, EKEYREVOKED);
	ret = capstore_segment_pread(ro, buf, sizeof(buf), 0);
	if (ret == sizeof(buf))
		printf("child: the read-only view still works\n");
	else
		ok = false;
	return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The segment in @slot, created with the greeting if empty. */
static int get_segment(int root, unsigned int slot)
{
	int seg, ret;

	seg = capstore_node_fetch(root, slot, CAPSTORE_FD_CLOEXEC);
	if (seg != -ENOENT)
		return seg;
	seg = capstore_node_create(root, slot, CAPSTORE_KIND_SEGMENT,
				   SEG_SIZE, CAPSTORE_FD_CLOEXEC);
	if (seg < 0)
		return seg;
	ret = capstore_segment_pwrite(seg, GREETING, sizeof(GREETING), 0);
	if (ret < 0) {
		capstore_cap_close(seg);
		return ret;
	}
	return seg;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store-id", required_argument, NULL, 'i' },
		{ "slot", required_argument, NULL, 's' },
		{ "scratch", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long store_id = 0, slot = 2, scratch = 3, val;
	int opt, ctl, root, seg, ro, fwd, ctrl, sv[2], status, ret;
	char buf[sizeof(GREETING)], ready;
	pid_t pid;
	char *end;

	/* parent and child take turns: their lines in order */
	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
		case 's':
		case 't':
			val = strtoul(optarg, &end, 0);
			if (!*optarg || *end ||
			    (opt == 'i' ? val > UINT32_MAX :
					  val >= CAPSTORE_NODE_SLOTS)) {
				fprintf(stderr, "pass_cap: bad number '%s'\n",
					optarg);
				return 2;
			}
			if (opt == 'i')
				store_id = val;
			else if (opt == 's')
				slot = val;
			else
				scratch = val;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_SUCCESS;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc || slot == scratch) {
		fputs(usage, stderr);
		return 2;
	}

	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	if (ctl < 0)
		return fail("parent", CAPSTORE_CONTROL_DEVICE, ctl);
	root = capstore_root_open(ctl, store_id, CAPSTORE_FD_CLOEXEC);
	capstore_cap_close(ctl);
	if (root < 0)
		return fail("parent", "root node", root);
	seg = get_segment(root, slot);
	if (seg < 0)
		return fail("parent", "segment", seg);
	ret = capstore_segment_pread(seg, buf, sizeof(buf), 0);
	if (ret != sizeof(buf) || memcmp(buf, GREETING, sizeof(buf))) {
		fprintf(stderr, "pass_cap: slot %lu holds another segment\n",
			slot);
		return EXIT_FAILURE;
	}

	/* Only what the child should have: read and map, nothing more. */
	ro = capstore_cap_restrict(seg, CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP,
				   CAPSTORE_FD_CLOEXEC);
	if (ro < 0)
		return fail("parent", "restrict", ro);
	capstore_node_clear(root, scratch, 0);
	fwd = capstore_cap_forward(seg, root, scratch,
				   CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_MAP,
				   CAPSTORE_FD_CLOEXEC);
	if (fwd < 0)
		return fail("parent", "forward", fwd);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail("parent", "socketpair", -errno);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail("parent", "fork", -errno);
	if (pid == 0) {
		/* The child keeps nothing of the parent's but the socket. */
		capstore_cap_close(root);
		capstore_cap_close(seg);
		capstore_cap_close(ro);
		capstore_cap_close(fwd);
		close(sv[0]);
		exit(child(sv[1]));
	}
	close(sv[1]);
	printf("parent: handing over a read-only capability\n");
	fflush(stdout);
	ret = send_fd(sv[0], ro, 'r');
	if (ret == 0)
		ret = send_fd(sv[0], fwd, 'f');
	if (ret < 0)
		return fail("parent", "send", ret);
	capstore_cap_close(ro);
	capstore_cap_close(fwd);

	/* When the child has used the delegation, take it back. */
	if (read(sv[0], &ready, 1) != 1)
		return fail("parent", "socket", -EPIPE);
	ctrl = capstore_node_fetch(root, scratch, CAPSTORE_FD_CLOEXEC);
	if (ctrl < 0)
		return fail("parent", "forwarder", ctrl);
	ret = capstore_cap_destroy(ctrl, 0);
	if (ret < 0)
		return fail("parent", "destroy the forwarder", ret);
	capstore_cap_close(ctrl);
	capstore_node_clear(root, scratch, 0);
	printf("parent: revoked the delegation\n");
	fflush(stdout);
	if (write(sv[0], "g", 1) != 1)
		return fail("parent", "socket", -EPIPE);

	if (waitpid(pid, &status, 0) < 0)
		return fail("parent", "wait", -errno);
	capstore_cap_close(seg);
	capstore_cap_close(root);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		printf("parent: the child failed\n");
		return EXIT_FAILURE;
	}
	printf("parent: the child could do exactly what it was given\n");
	return EXIT_SUCCESS;
}
