// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore bench MODE: benchmarks of an attached store. Each mode is a
 * function of its own bench_<mode>.c, listed in bench_modes[]; this file
 * dispatches and holds what the modes share.
 */
#include "bench.h"
#include "online.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libcapstore.h>

struct bench_mode {
	const char *name;
	int (*fn)(struct cs_ctx *ctx, int argc, char **argv);
	const char *summary;
};

static const struct bench_mode bench_modes[] = {
	{ "io", bench_io,
	  "random 4 KiB reads through io_uring, cold and cached, against fio" },
	{ "caps", bench_caps,
	  "capability commands in io_uring batches against ioctls" },
	{ "checkpoint", bench_checkpoint,
	  "checkpoint stall, duration and write throughput, against fio" },
	{ "close", bench_close,
	  "threads closing capabilities, against eventfds" },
};

#define NMODES (sizeof(bench_modes) / sizeof(bench_modes[0]))

static void bench_usage(FILE *f)
{
	unsigned int i;

	fprintf(f,
		"Usage: capstore bench MODE [options] STORE\n"
		"       capstore bench MODE --help\n"
		"\n"
		"Benchmarks of an attached store (STORE: a store id, a store name, or\n"
		"the block device or image file it is attached from). They work in a\n"
		"scratch slot of the root node, so they need root. Figures are only\n"
		"comparable within one run on one machine.\n"
		"\n"
		"Modes:\n");
	for (i = 0; i < NMODES; i++)
		fprintf(f, "  %-10s %s\n", bench_modes[i].name,
			bench_modes[i].summary);
}

int cmd_bench(struct cs_ctx *ctx, int argc, char **argv)
{
	char sub[64];
	struct cs_ctx mctx = *ctx;
	unsigned int i;

	if (argc < 2) {
		bench_usage(ctx->err);
		return CS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		bench_usage(ctx->out);
		return CS_EXIT_OK;
	}
	if (argv[1][0] == '-')
		return cs_usage_error(ctx, "unknown option '%s'", argv[1]);
	for (i = 0; i < NMODES; i++) {
		if (strcmp(argv[1], bench_modes[i].name))
			continue;
		snprintf(sub, sizeof(sub), "bench %s", bench_modes[i].name);
		mctx.sub = sub;
		return bench_modes[i].fn(&mctx, argc - 1, argv + 1);
	}
	return cs_usage_error(ctx, "unknown mode '%s'", argv[1]);
}

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int bench_root(const struct cs_ctx *ctx, const char *arg, char *dev,
	       size_t len)
{
	struct cs_store_ref ref;
	int ctl, root;

	ctl = cs_control_open_explained(ctx);
	if (ctl < 0)
		return ctl;
	if (cs_store_resolve(ctx, arg, &ref)) {
		capstore_cap_close(ctl);
		return -ENOENT;
	}
	root = capstore_root_open(ctl, ref.id, CAPSTORE_FD_CLOEXEC);
	capstore_cap_close(ctl);
	if (root < 0) {
		cs_explain(ctx, CS_OP_ROOT, root, ref.name);
		return root;
	}
	if (dev)
		snprintf(dev, len, "/dev/%s", ref.name);
	return root;
}

int bench_scratch_clear(int root, unsigned int slot)
{
	int fd = capstore_node_fetch(root, slot, CAPSTORE_FD_CLOEXEC);

	if (fd >= 0) {
		capstore_cap_destroy(fd, 0);
		capstore_cap_close(fd);
	}
	return capstore_node_clear(root, slot, 0);
}

int bench_parse_list(const char *s, unsigned int *v, unsigned int max,
		     unsigned int *n)
{
	unsigned long x;
	char *end;

	*n = 0;
	while (*s) {
		if (*n == max || *s < '0' || *s > '9')
			return -EINVAL;
		x = strtoul(s, &end, 10);
		if (x == 0 || x > 4096 || (*end && *end != ','))
			return -EINVAL;
		v[(*n)++] = (unsigned int)x;
		s = *end ? end + 1 : end;
	}
	return *n ? 0 : -EINVAL;
}
