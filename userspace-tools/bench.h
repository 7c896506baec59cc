/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * capstore bench: the modes (one function each, in bench_<mode>.c, listed
 * in cmd_bench.c's table) and what they share.
 *
 * A mode is called as a subcommand of its own: argv[0] is the mode's
 * name, ctx->sub is "bench <mode>", the return value is an exit code
 * (CS_EXIT_*). The benchmarks work on an attached store, in a scratch slot
 * of its root node that they empty again when done.
 */
#ifndef CAPSTORE_TOOLS_BENCH_H
#define CAPSTORE_TOOLS_BENCH_H

#include <stdint.h>

#include "capstore.h"

int bench_io(struct cs_ctx *ctx, int argc, char **argv);
int bench_caps(struct cs_ctx *ctx, int argc, char **argv);
int bench_checkpoint(struct cs_ctx *ctx, int argc, char **argv);
int bench_close(struct cs_ctx *ctx, int argc, char **argv);

/* Seconds on the monotonic clock. */
double bench_now(void);

/*
 * The root node of the attached store @arg names (an id, a name, a
 * device), with its device's name into @dev (of @len bytes) if not NULL.
 * Prints why on failure; returns the fd or -errno.
 */
int bench_root(const struct cs_ctx *ctx, const char *arg, char *dev,
	       size_t len);

/*
 * Empty slot @slot of @root, destroying the object it held (so its space
 * comes back at the next checkpoint). Returns 0 or -errno.
 */
int bench_scratch_clear(int root, unsigned int slot);

/* "12,34" into up to @max numbers; -EINVAL if bad. */
int bench_parse_list(const char *s, unsigned int *v, unsigned int max,
		     unsigned int *n);

#endif /* CAPSTORE_TOOLS_BENCH_H */
