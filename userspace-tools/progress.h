/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * A progress line for long offline work (fsck, dump, format --zero):
 *
 *	capstore fsck: checking checkpoint 7: 42% (113246 of 270000 blocks)
 *
 * redrawn in place on standard error at most every 100 ms, and erased when
 * the work ends, so that it leaves nothing behind in the terminal. It is
 * drawn only when ctx->progress says so (standard error is a terminal),
 * and only once the work has taken ctx->progress_delay_ms: short work
 * shows nothing. Messages printed while a line may be shown must call
 * cs_progress_clear() first; the next update draws the line again.
 *
 * No global state: everything is in struct cs_progress, which the caller
 * owns. Nothing here fails.
 */
#ifndef CAPSTORE_TOOLS_PROGRESS_H
#define CAPSTORE_TOOLS_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

#include "capstore.h"

#define CS_PROGRESS_WHAT_LEN	160

/* cs_progress_start() flags */
#define CS_PROGRESS_BYTES	(1U << 0)	/* counts are bytes, not blocks */

/**
 * struct cs_progress - one progress line
 * @f: where it is drawn (ctx->err), or NULL when disabled
 * @sub: the subcommand's name, for the prefix
 * @what: what is being done ("checking checkpoint 7")
 * @flags: CS_PROGRESS_* flags
 * @total: the amount of work, 0 if unknown
 * @done: how much is done
 * @start_ns: CLOCK_MONOTONIC when the work started
 * @next_ns: not redrawn before this
 * @delay_ns: not drawn at all before @start_ns + @delay_ns
 * @shown: a line is on the terminal now
 */
struct cs_progress {
	FILE *f;
	const char *sub;
	char what[CS_PROGRESS_WHAT_LEN];
	unsigned int flags;
	__u64 total;
	__u64 done;
	__u64 start_ns;
	__u64 next_ns;
	__u64 delay_ns;
	bool shown;
};

/*
 * Start a progress line for @total units of work (blocks, or bytes with
 * CS_PROGRESS_BYTES), described by @what. Disabled (every other call does
 * nothing) unless ctx->progress and @enable are both true.
 */
void cs_progress_start(struct cs_progress *p, const struct cs_ctx *ctx,
		       bool enable, unsigned int flags, __u64 total,
		       const char *what);

/* @done units are done: redraw if it is time to. */
void cs_progress_update(struct cs_progress *p, __u64 done);

/* Erase the line, if shown, before printing something else. */
void cs_progress_clear(struct cs_progress *p);

/* The work is over: erase the line and disable @p. */
void cs_progress_end(struct cs_progress *p);

#endif /* CAPSTORE_TOOLS_PROGRESS_H */
