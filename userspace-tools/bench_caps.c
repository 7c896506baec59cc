// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore bench caps: capability commands issued as ioctls, one system
 * call each, next to the same commands in io_uring batches made with the
 * prep helpers of <libcapstore-uring.h>; operations per second.
 *
 * Each command runs on objects made for the purpose in a scratch slot of
 * the root node: a node whose 32 slots hold segments (fetch), a segment
 * (info, restrict), a node to store into and clear, and nodes to create
 * into. What a command leaves (new fds, created objects) is cleaned up
 * after each batch, outside the timed part, in the same way for both.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcapstore.h>
#include <libcapstore-uring.h>

#define MAX_BATCH	256
#define NCREATE		(MAX_BATCH / CAPSTORE_NODE_SLOTS)

union cmd_arg {
	struct capstore_cap_info info;
	struct capstore_restrict restrict_;
	struct capstore_fetch fetch;
	struct capstore_store store;
	struct capstore_clear clear;
	struct capstore_create create;
	struct capstore_destroy destroy;
};

struct caps_bench {
	int root;
	int top;			/* the scratch node, in the root */
	int seg;			/* a segment (info, restrict) */
	int full;			/* a node of 32 segments (fetch) */
	int target;			/* a node to store into, clear */
	int cnodes[NCREATE];		/* nodes to create into */
	int made[MAX_BATCH];		/* what a create batch made */
	union cmd_arg args[MAX_BATCH];
	int res[MAX_BATCH];
};

/* One kind of command. */
struct caps_op {
	const char *name;
	/* before a batch of @n, untimed (create what destroy destroys) */
	int (*setup)(struct caps_bench *b, unsigned int n);
	/* command @i through ioctl: its result */
	int (*sync)(struct caps_bench *b, unsigned int i);
	/* command @i into @sqe, its structure b->args[i] */
	void (*prep)(struct caps_bench *b, struct io_uring_sqe *sqe,
		     unsigned int i);
	/* after a batch of @n with results b->res[], untimed; 0 or -errno */
	int (*done)(struct caps_bench *b, unsigned int n);
};

static int close_fds(struct caps_bench *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (b->res[i] < 0)
			return b->res[i];
		capstore_cap_close(b->res[i]);
	}
	return 0;
}

static int check_zero(struct caps_bench *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (b->res[i] < 0)
			return b->res[i];
	return 0;
}

static int info_sync(struct caps_bench *b, unsigned int i)
{
	return capstore_cap_info(b->seg, &b->args[i].info);
}

static void info_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
		      unsigned int i)
{
	capstore_prep_info(sqe, b->seg, &b->args[i].info);
}

static int restrict_sync(struct caps_bench *b, unsigned int i)
{
	(void)i;
	return capstore_cap_restrict(b->seg, CAPSTORE_RIGHT_READ,
				     CAPSTORE_FD_CLOEXEC);
}

static void restrict_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
			  unsigned int i)
{
	capstore_prep_restrict(sqe, b->seg, &b->args[i].restrict_,
			       CAPSTORE_RIGHT_READ, CAPSTORE_FD_CLOEXEC);
}

static int fetch_sync(struct caps_bench *b, unsigned int i)
{
	return capstore_node_fetch(b->full, i % CAPSTORE_NODE_SLOTS,
				   CAPSTORE_FD_CLOEXEC);
}

static void fetch_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
		       unsigned int i)
{
	capstore_prep_fetch(sqe, b->full, &b->args[i].fetch,
			    i % CAPSTORE_NODE_SLOTS, CAPSTORE_FD_CLOEXEC);
}

static int store_sync(struct caps_bench *b, unsigned int i)
{
	return capstore_node_store(b->target, i % CAPSTORE_NODE_SLOTS, b->seg,
				   0);
}

static void store_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
		       unsigned int i)
{
	capstore_prep_store(sqe, b->target, &b->args[i].store,
			    i % CAPSTORE_NODE_SLOTS, b->seg, 0);
}

static int clear_sync(struct caps_bench *b, unsigned int i)
{
	return capstore_node_clear(b->target, i % CAPSTORE_NODE_SLOTS, 0);
}

static void clear_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
		       unsigned int i)
{
	capstore_prep_clear(sqe, b->target, &b->args[i].clear,
			    i % CAPSTORE_NODE_SLOTS, 0);
}

/* Fill the target's slots, so that each clear has something to clear. */
static int clear_setup(struct caps_bench *b, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n && i < CAPSTORE_NODE_SLOTS; i++) {
		ret = capstore_node_store(b->target, i, b->seg, 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int create_sync(struct caps_bench *b, unsigned int i)
{
	return capstore_node_create(b->cnodes[i / CAPSTORE_NODE_SLOTS],
				    i % CAPSTORE_NODE_SLOTS,
				    CAPSTORE_KIND_SEGMENT, 4096,
				    CAPSTORE_FD_CLOEXEC);
}

static void create_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
			unsigned int i)
{
	capstore_prep_create(sqe, b->cnodes[i / CAPSTORE_NODE_SLOTS],
			     &b->args[i].create, i % CAPSTORE_NODE_SLOTS,
			     CAPSTORE_KIND_SEGMENT, 4096, CAPSTORE_FD_CLOEXEC);
}

/* Destroy what a create batch made and empty the slots. */
static int create_done(struct caps_bench *b, unsigned int n)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		if (b->res[i] < 0)
			return b->res[i];
		capstore_cap_destroy(b->res[i], 0);
		capstore_cap_close(b->res[i]);
		ret = capstore_node_clear(b->cnodes[i / CAPSTORE_NODE_SLOTS],
					  i % CAPSTORE_NODE_SLOTS, 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int destroy_setup(struct caps_bench *b, unsigned int n)
{
	unsigned int i;
	int fd;

	for (i = 0; i < n; i++) {
		fd = create_sync(b, i);
		if (fd < 0)
			return fd;
		b->made[i] = fd;
	}
	return 0;
}

static int destroy_sync(struct caps_bench *b, unsigned int i)
{
	return capstore_cap_destroy(b->made[i], 0);
}

static void destroy_prep(struct caps_bench *b, struct io_uring_sqe *sqe,
			 unsigned int i)
{
	capstore_prep_destroy(sqe, b->made[i], &b->args[i].destroy, 0);
}

static int destroy_done(struct caps_bench *b, unsigned int n)
{
	unsigned int i;
	int ret = check_zero(b, n);

	for (i = 0; i < n; i++) {
		capstore_cap_close(b->made[i]);
		capstore_node_clear(b->cnodes[i / CAPSTORE_NODE_SLOTS],
				    i % CAPSTORE_NODE_SLOTS, 0);
	}
	return ret;
}

static const struct caps_op caps_ops[] = {
	{ "info", NULL, info_sync, info_prep, check_zero },
	{ "restrict", NULL, restrict_sync, restrict_prep, close_fds },
	{ "fetch", NULL, fetch_sync, fetch_prep, close_fds },
	{ "store", NULL, store_sync, store_prep, check_zero },
	{ "clear", clear_setup, clear_sync, clear_prep, check_zero },
	{ "create", NULL, create_sync, create_prep, create_done },
	{ "destroy", destroy_setup, destroy_sync, destroy_prep, destroy_done },
};

#define NOPS (sizeof(caps_ops) / sizeof(caps_ops[0]))

/* @total commands of @op in batches of @batch; ops/s, or -errno. */
static double run_op(struct caps_bench *b, const struct caps_op *op,
		     struct io_uring *ring, unsigned int total,
		     unsigned int batch)
{
	struct io_uring_cqe *cqe;
	unsigned int done, n, i;
	double t = 0, t0;
	int ret;

	for (done = 0; done < total; done += n) {
		n = total - done < batch ? total - done : batch;
		if (op->setup) {
			ret = op->setup(b, n);
			if (ret < 0)
				return ret;
		}
		t0 = bench_now();
		if (!ring) {
			for (i = 0; i < n; i++)
				b->res[i] = op->sync(b, i);
		} else {
			for (i = 0; i < n; i++) {
				struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

				op->prep(b, sqe, i);
				io_uring_sqe_set_data64(sqe, i);
			}
			ret = io_uring_submit_and_wait(ring, n);
			if (ret < 0)
				return ret;
			for (i = 0; i < n; i++) {
				ret = io_uring_wait_cqe(ring, &cqe);
				if (ret < 0)
					return ret;
				b->res[cqe->user_data] = cqe->res;
				io_uring_cqe_seen(ring, cqe);
			}
		}
		t += bench_now() - t0;
		ret = op->done(b, n);
		if (ret < 0)
			return ret;
	}
	return total / t;
}

static int caps_setup(struct caps_bench *b, unsigned int slot)
{
	unsigned int i;
	int fd;

	bench_scratch_clear(b->root, slot);
	b->top = capstore_node_create(b->root, slot, CAPSTORE_KIND_NODE, 0,
				      CAPSTORE_FD_CLOEXEC);
	if (b->top < 0)
		return b->top;
	b->seg = capstore_node_create(b->top, 0, CAPSTORE_KIND_SEGMENT, 4096,
				      CAPSTORE_FD_CLOEXEC);
	if (b->seg < 0)
		return b->seg;
	b->full = capstore_node_create(b->top, 1, CAPSTORE_KIND_NODE, 0,
				       CAPSTORE_FD_CLOEXEC);
	if (b->full < 0)
		return b->full;
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		fd = capstore_node_create(b->full, i, CAPSTORE_KIND_SEGMENT,
					  4096, CAPSTORE_FD_CLOEXEC);
		if (fd < 0)
			return fd;
		capstore_cap_close(fd);
	}
	b->target = capstore_node_create(b->top, 2, CAPSTORE_KIND_NODE, 0,
					 CAPSTORE_FD_CLOEXEC);
	if (b->target < 0)
		return b->target;
	for (i = 0; i < NCREATE; i++) {
		b->cnodes[i] = capstore_node_create(b->top, 3 + i,
						    CAPSTORE_KIND_NODE, 0,
						    CAPSTORE_FD_CLOEXEC);
		if (b->cnodes[i] < 0)
			return b->cnodes[i];
	}
	return 0;
}

/* Destroy what caps_setup() made, then empty the slot. */
static void caps_teardown(struct caps_bench *b, unsigned int slot)
{
	unsigned int i;
	int fd;

	if (b->full >= 0) {
		for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
			fd = capstore_node_fetch(b->full, i, CAPSTORE_FD_CLOEXEC);
			if (fd >= 0) {
				capstore_cap_destroy(fd, 0);
				capstore_cap_close(fd);
			}
		}
	}
	for (i = 0; i < NCREATE; i++)
		if (b->cnodes[i] >= 0) {
			capstore_cap_destroy(b->cnodes[i], 0);
			capstore_cap_close(b->cnodes[i]);
		}
	if (b->target >= 0) {
		capstore_cap_destroy(b->target, 0);
		capstore_cap_close(b->target);
	}
	if (b->full >= 0) {
		capstore_cap_destroy(b->full, 0);
		capstore_cap_close(b->full);
	}
	if (b->seg >= 0) {
		capstore_cap_destroy(b->seg, 0);
		capstore_cap_close(b->seg);
	}
	if (b->top >= 0)
		capstore_cap_close(b->top);
	bench_scratch_clear(b->root, slot);
}

static void caps_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore bench caps [options] STORE\n"
		"\n"
		"Capability commands (info, restrict, fetch, store, clear, create,\n"
		"destroy) as ioctls, one system call each, and in io_uring batches\n"
		"made with <libcapstore-uring.h>; prints operations per second of\n"
		"each, side by side. Works in a scratch slot of the root node of\n"
		"STORE and destroys what it made. Needs root.\n"
		"\n"
		"Options:\n"
		"  -n, --ops N       commands of each kind per measurement (default 4096)\n"
		"  -b, --batch N     commands per io_uring submission, at most %d\n"
		"                    (default %d); the ioctl runs do the same batches\n"
		"      --slot N      scratch slot of the root node (default 30)\n"
		"  -h, --help        show this help\n", MAX_BATCH, MAX_BATCH);
}

int bench_caps(struct cs_ctx *ctx, int argc, char **argv)
{
	enum { OPT_SLOT = 256 };
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "batch", required_argument, NULL, 'b' },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int total = 4096, batch = MAX_BATCH, slot = 30, i;
	struct caps_bench *b;
	struct io_uring ring;
	double sync_ops, ring_ops;
	int c, ret, rc = CS_EXIT_FAIL;
	unsigned long v;
	char *end;

	while ((c = getopt_long(argc, argv, ":n:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case 'b':
		case OPT_SLOT:
			v = strtoul(optarg, &end, 0);
			if (!*optarg || *end || (c != OPT_SLOT && v == 0) ||
			    (c == 'n' && v > 10000000) ||
			    (c == 'b' && v > MAX_BATCH) ||
			    (c == OPT_SLOT && v >= CAPSTORE_NODE_SLOTS))
				return cs_usage_error(ctx, "bad number '%s'",
						      optarg);
			if (c == 'n')
				total = v;
			else if (c == 'b')
				batch = v;
			else
				slot = v;
			break;
		case 'h':
			caps_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind == argc)
		return cs_usage_error(ctx, "no store given");
	if (argc - optind > 1)
		return cs_usage_error(ctx, "too many arguments");

	b = calloc(1, sizeof(*b));
	if (!b)
		return CS_EXIT_FAIL;
	b->top = b->seg = b->full = b->target = -1;
	for (i = 0; i < NCREATE; i++)
		b->cnodes[i] = -1;
	b->root = bench_root(ctx, argv[optind], NULL, 0);
	if (b->root < 0) {
		free(b);
		return CS_EXIT_FAIL;
	}
	ret = io_uring_queue_init(MAX_BATCH, &ring, 0);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "io_uring");
		goto out_root;
	}
	ret = caps_setup(b, slot);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "making the objects");
		goto out;
	}
	fprintf(ctx->out,
		"capability commands: %u of each, in batches of %u\n\n"
		"%-9s %14s %14s %7s\n", total, batch, "command", "ioctl ops/s",
		"io_uring ops/s", "ratio");
	for (i = 0; i < NOPS; i++) {
		sync_ops = run_op(b, &caps_ops[i], NULL, total, batch);
		ring_ops = run_op(b, &caps_ops[i], &ring, total, batch);
		if (sync_ops < 0 || ring_ops < 0) {
			cs_msg_err(ctx, (int)(sync_ops < 0 ? sync_ops : ring_ops),
				   "%s", caps_ops[i].name);
			goto out;
		}
		fprintf(ctx->out, "%-9s %14.0f %14.0f %7.2f\n",
			caps_ops[i].name, sync_ops, ring_ops,
			ring_ops / sync_ops);
		fflush(ctx->out);
	}
	fprintf(ctx->out,
		"\nratio = io_uring / ioctl. Through io_uring, info and restrict\n"
		"complete inline; the others run in io_uring's worker threads.\n");
	rc = CS_EXIT_OK;
out:
	caps_teardown(b, slot);
	io_uring_queue_exit(&ring);
out_root:
	capstore_cap_close(b->root);
	free(b);
	return rc;
}
