// SPDX-License-Identifier: GPL-2.0
/*
 * revoke_paths - what revocation means for bytes that left a segment
 * through paths other than a mapping.
 *
 *   splice_then_revoke    bytes spliced from a segment into a pipe are a
 *                         copy as of the splice: after a revoke, what the
 *                         owner writes through the fresh capability does
 *                         not show through the pipe (the page cache's
 *                         pages are not lent to pipes)
 *   sendfile_then_destroy the same for sendfile(2) into a socket pair and
 *                         a destroy: the reader gets the bytes as they
 *                         were when sendfile ran
 *
 * Needs a formatted store on $CS_TEST_DEV.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define PAGE	4096
#define NPAGES	4

FIXTURE(paths) {
	uint32_t id;
	int root, seg;
	bool attached;
	char old[NPAGES * PAGE], new[NPAGES * PAGE], got[NPAGES * PAGE];
};

FIXTURE_SETUP(paths)
{
	self->root = self->seg = -1;
	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->attached = true;
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, 0, 0);
	self->seg = capstore_node_create(self->root, 0, CAPSTORE_KIND_SEGMENT,
					 NPAGES * PAGE, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->seg);
	memset(self->old, 'o', sizeof(self->old));
	memset(self->new, 'n', sizeof(self->new));
	ASSERT_EQ((ssize_t)sizeof(self->old),
		  pwrite(self->seg, self->old, sizeof(self->old), 0));
}

FIXTURE_TEARDOWN(paths)
{
	if (self->seg >= 0) {
		capstore_cap_destroy(self->seg, 0);
		capstore_cap_close(self->seg);
	}
	capstore_node_clear(self->root, 0, 0);
	if (self->root >= 0)
		capstore_cap_close(self->root);
	if (self->attached)
		cs_detach(self->id);
}

/* Read exactly @len bytes from @fd into @buf. */
static ssize_t read_all(int fd, char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = read(fd, buf + done, len - done);
		if (n <= 0)
			return n < 0 ? -errno : (ssize_t)done;
		done += n;
	}
	return done;
}

TEST_F(paths, splice_then_revoke)
{
	loff_t off = 0;
	int p[2], fresh;

	ASSERT_EQ(0, pipe2(p, O_CLOEXEC));
	ASSERT_EQ((ssize_t)sizeof(self->old),
		  splice(self->seg, &off, p[1], NULL, sizeof(self->old), 0));

	fresh = capstore_cap_revoke(self->seg, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, fresh);
	EXPECT_EQ(-1, pread(self->seg, self->got, PAGE, 0));
	EXPECT_EQ(EKEYREVOKED, errno);
	capstore_cap_close(self->seg);
	self->seg = fresh;
	ASSERT_EQ((ssize_t)sizeof(self->new),
		  pwrite(self->seg, self->new, sizeof(self->new), 0));

	/* The pipe holds the bytes of the splice, not the owner's new ones. */
	ASSERT_EQ((ssize_t)sizeof(self->got),
		  read_all(p[0], self->got, sizeof(self->got)));
	EXPECT_EQ(0, memcmp(self->got, self->old, sizeof(self->got)))
		TH_LOG("the pipe shows '%c' at 0: written after the revoke",
		       self->got[0]);
	close(p[0]);
	close(p[1]);
}

TEST_F(paths, sendfile_then_destroy)
{
	int sv[2], rcv = 1 << 20;
	off_t off = 0;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	ASSERT_EQ((ssize_t)sizeof(self->old),
		  sendfile(sv[0], self->seg, &off, sizeof(self->old)));
	/* Overwrite, then destroy: the socket keeps the sendfile's bytes. */
	ASSERT_EQ((ssize_t)sizeof(self->new),
		  pwrite(self->seg, self->new, sizeof(self->new), 0));
	ASSERT_EQ(0, capstore_cap_destroy(self->seg, 0));
	ASSERT_EQ((ssize_t)sizeof(self->got),
		  read_all(sv[1], self->got, sizeof(self->got)));
	EXPECT_EQ(0, memcmp(self->got, self->old, sizeof(self->got)))
		TH_LOG("the socket shows '%c' at 0: written after sendfile",
		       self->got[0]);
	close(sv[0]);
	close(sv[1]);
}

CS_HARNESS_MAIN
