// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * A program outside the source tree that uses <libcapstore-uring.h>,
 * built with pkg-config libcap-store-uring (see check-installed.sh). It
 * needs no capstore module: it checks what every prep helper puts in the
 * submission queue entry and in the command's structure, and, when the
 * machine has io_uring, that a command submitted on a file that is not a
 * capability completes with -EOPNOTSUPP and a read through
 * capstore_prep_read() with the bytes. Prints TAP lines without numbers.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libcapstore-uring.h>

static int failed;

static void t_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok - ", cond ? "" : "not ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		failed = 1;
}

/* The entry is IORING_OP_URING_CMD @op on @fd, pointing at @arg. */
static int is_cmd(const struct io_uring_sqe *sqe, int fd, unsigned int op,
		  const void *arg)
{
	const struct capstore_uring_cmd *cmd = (const void *)sqe->cmd;

	return sqe->opcode == IORING_OP_URING_CMD && sqe->fd == fd &&
	       sqe->cmd_op == op && sqe->flags == 0 && sqe->len == 0 &&
	       sqe->addr == 0 && cmd->arg == (uintptr_t)arg &&
	       cmd->__reserved == 0;
}

static void t_prep(void)
{
	struct io_uring_sqe sqe;
	struct capstore_cap_info info;
	struct capstore_restrict rs;
	struct capstore_create cr;
	struct capstore_fetch fe;
	struct capstore_store st;
	struct capstore_clear cl;
	struct capstore_destroy de;
	struct capstore_revoke rv;
	struct capstore_forward fw;
	struct capstore_checkpoint cp;
	struct capstore_section se;
	char buf[16];

	memset(&sqe, 0xa5, sizeof(sqe));
	memset(&info, 0xa5, sizeof(info));
	capstore_prep_info(&sqe, 7, &info);
	t_ok(is_cmd(&sqe, 7, CAPSTORE_CAP_INFO, &info) &&
	     info.size == sizeof(info) && info.flags == 0 && info.out_oid == 0,
	     "capstore_prep_info() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_restrict(&sqe, 8, &rs, CAPSTORE_RIGHT_READ,
			       CAPSTORE_FD_CLOEXEC);
	t_ok(is_cmd(&sqe, 8, CAPSTORE_RESTRICT, &rs) && rs.size == sizeof(rs) &&
	     rs.rights == CAPSTORE_RIGHT_READ &&
	     rs.flags == CAPSTORE_FD_CLOEXEC && rs.out_fd == -1,
	     "capstore_prep_restrict() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_create(&sqe, 9, &cr, 3, CAPSTORE_KIND_SEGMENT, 8192, 0);
	t_ok(is_cmd(&sqe, 9, CAPSTORE_CREATE, &cr) && cr.size == sizeof(cr) &&
	     cr.slot == 3 && cr.kind == CAPSTORE_KIND_SEGMENT &&
	     cr.seg_size == 8192 && cr.flags == 0 && cr.__reserved == 0,
	     "capstore_prep_create() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_fetch(&sqe, 10, &fe, 31, CAPSTORE_FD_CLOEXEC);
	t_ok(is_cmd(&sqe, 10, CAPSTORE_FETCH, &fe) && fe.size == sizeof(fe) &&
	     fe.slot == 31 && fe.flags == CAPSTORE_FD_CLOEXEC &&
	     fe.out_kind == 0,
	     "capstore_prep_fetch() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_store(&sqe, 11, &st, 4, 12, 0);
	t_ok(is_cmd(&sqe, 11, CAPSTORE_STORE, &st) && st.size == sizeof(st) &&
	     st.slot == 4 && st.fd == 12,
	     "capstore_prep_store() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_clear(&sqe, 13, &cl, 5, 0);
	t_ok(is_cmd(&sqe, 13, CAPSTORE_CLEAR, &cl) && cl.size == sizeof(cl) &&
	     cl.slot == 5 && cl.__reserved == 0,
	     "capstore_prep_clear() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_destroy(&sqe, 14, &de, 0);
	t_ok(is_cmd(&sqe, 14, CAPSTORE_DESTROY, &de) && de.size == sizeof(de),
	     "capstore_prep_destroy() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_revoke(&sqe, 15, &rv, CAPSTORE_FD_CLOEXEC);
	t_ok(is_cmd(&sqe, 15, CAPSTORE_REVOKE, &rv) && rv.size == sizeof(rv) &&
	     rv.flags == CAPSTORE_FD_CLOEXEC && rv.__reserved == 0,
	     "capstore_prep_revoke() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_forward(&sqe, 16, &fw, 17, 6, CAPSTORE_RIGHT_READ, 0);
	t_ok(is_cmd(&sqe, 16, CAPSTORE_FORWARD, &fw) && fw.size == sizeof(fw) &&
	     fw.node_fd == 17 && fw.slot == 6 &&
	     fw.rights == CAPSTORE_RIGHT_READ,
	     "capstore_prep_forward() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_checkpoint(&sqe, 18, &cp, 0);
	t_ok(is_cmd(&sqe, 18, CAPSTORE_CHECKPOINT, &cp) &&
	     cp.size == sizeof(cp) && cp.out_seq == 0 && cp.store_id == 0,
	     "capstore_prep_checkpoint() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_section_begin(&sqe, 19, &se, 0);
	t_ok(is_cmd(&sqe, 19, CAPSTORE_SECTION_BEGIN, &se) &&
	     se.size == sizeof(se),
	     "capstore_prep_section_begin() fills the entry and the structure");
	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_section_end(&sqe, 20, &se, 0);
	t_ok(is_cmd(&sqe, 20, CAPSTORE_SECTION_END, &se),
	     "capstore_prep_section_end() fills the entry and the structure");

	memset(&sqe, 0xa5, sizeof(sqe));
	capstore_prep_cmd(&sqe, 21, 0x1234, &se);
	t_ok(is_cmd(&sqe, 21, 0x1234, &se),
	     "capstore_prep_cmd() fills the entry");

	capstore_prep_read(&sqe, 22, buf, sizeof(buf), 4096);
	t_ok(sqe.opcode == IORING_OP_READ && sqe.fd == 22 &&
	     sqe.addr == (uintptr_t)buf && sqe.len == sizeof(buf) &&
	     sqe.off == 4096, "capstore_prep_read() is a read");
	capstore_prep_write(&sqe, 23, buf, 8, 8192);
	t_ok(sqe.opcode == IORING_OP_WRITE && sqe.fd == 23 && sqe.len == 8 &&
	     sqe.off == 8192, "capstore_prep_write() is a write");
	capstore_prep_sync(&sqe, 24, IORING_FSYNC_DATASYNC);
	t_ok(sqe.opcode == IORING_OP_FSYNC && sqe.fd == 24 &&
	     sqe.fsync_flags == IORING_FSYNC_DATASYNC,
	     "capstore_prep_sync() is an fsync");
}

/* On a real ring, with a memfd: not a capability. */
static void t_ring(void)
{
	struct capstore_cap_info info;
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	char buf[8] = "";
	int fd, ret, res[2] = { 1, 1 };
	unsigned int i;

	ret = io_uring_queue_init(8, &ring, 0);
	if (ret < 0) {
		printf("ok - a ring # SKIP no io_uring here (%s)\n",
		       strerror(-ret));
		return;
	}
	fd = memfd_create("check-uring", MFD_CLOEXEC);
	if (fd < 0 || pwrite(fd, "capstore", 8, 0) != 8) {
		t_ok(0, "memfd: %m");
		return;
	}
	sqe = io_uring_get_sqe(&ring);
	capstore_prep_info(sqe, fd, &info);
	io_uring_sqe_set_data64(sqe, 0);
	sqe = io_uring_get_sqe(&ring);
	capstore_prep_read(sqe, fd, buf, sizeof(buf), 0);
	io_uring_sqe_set_data64(sqe, 1);
	ret = io_uring_submit_and_wait(&ring, 2);
	for (i = 0; ret >= 0 && i < 2; i++) {
		if (io_uring_wait_cqe(&ring, &cqe))
			break;
		res[cqe->user_data & 1] = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
	}
	t_ok(res[0] == -EOPNOTSUPP,
	     "a capability command on a memfd completes with -EOPNOTSUPP (got %d)",
	     res[0]);
	t_ok(res[1] == 8 && !memcmp(buf, "capstore", 8),
	     "capstore_prep_read() reads (got %d)", res[1]);
	close(fd);
	io_uring_queue_exit(&ring);
}

int main(void)
{
	t_prep();
	t_ring();
	return failed;
}
