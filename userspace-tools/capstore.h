/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The capstore command: subcommand table and the helpers every subcommand
 * shares (messages, usage errors, exit codes).
 *
 * Adding a subcommand: write cmd_<name>.c with
 *	int cmd_<name>(struct cs_ctx *ctx, int argc, char **argv);
 * (argv[0] is the subcommand's name; parse with getopt_long, handle
 * --help), declare it below, add one line to cs_commands[] in capstore.c
 * and a man page man/capstore-<name>.8.
 */
#ifndef CAPSTORE_TOOLS_CAPSTORE_H
#define CAPSTORE_TOOLS_CAPSTORE_H

#include <stdbool.h>
#include <stdio.h>

/* Exit codes of every subcommand. */
#define CS_EXIT_OK	0	/* success; fsck: no damage */
#define CS_EXIT_FAIL	1	/* failure; fsck: damage found */
#define CS_EXIT_USAGE	2	/* bad command line */

/**
 * struct cs_ctx - what a subcommand runs with
 * @sub: the subcommand's name, for messages ("capstore <sub>: ...")
 * @out: where results go (stdout)
 * @err: where messages go (stderr)
 * @sysfs: where sysfs is mounted ("/sys"; the environment variable
 *	CAPSTORE_SYSFS overrides it, for tests), read by the online commands
 * @progress: long offline work may show a progress line on @err (it is a
 *	terminal); see progress.h
 * @progress_delay_ms: how long the work must have taken before the line
 *	appears (500; the environment variable CAPSTORE_PROGRESS_DELAY_MS
 *	overrides it, for tests)
 */
struct cs_ctx {
	const char *sub;
	FILE *out;
	FILE *err;
	const char *sysfs;
	bool progress;
	unsigned int progress_delay_ms;
};

/* "capstore <sub>: <message>\n" on ctx->err. */
void cs_msg(const struct cs_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "capstore <sub>: <message>: <strerror(-err)>\n" on ctx->err. */
void cs_msg_err(const struct cs_ctx *ctx, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A usage error: "capstore <sub>: <message> (try 'capstore <sub> --help')"
 * on one line; returns CS_EXIT_USAGE.
 */
int cs_usage_error(const struct cs_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Report what getopt_long() (with opterr = 0) returned '?' or ':' for;
 * returns CS_EXIT_USAGE.
 */
int cs_getopt_error(const struct cs_ctx *ctx, int c, char **argv);

/* Subcommands. */
int cmd_format(struct cs_ctx *ctx, int argc, char **argv);
int cmd_fsck(struct cs_ctx *ctx, int argc, char **argv);
int cmd_dump(struct cs_ctx *ctx, int argc, char **argv);
int cmd_attach(struct cs_ctx *ctx, int argc, char **argv);
int cmd_detach(struct cs_ctx *ctx, int argc, char **argv);
int cmd_checkpoint(struct cs_ctx *ctx, int argc, char **argv);
int cmd_status(struct cs_ctx *ctx, int argc, char **argv);
int cmd_set(struct cs_ctx *ctx, int argc, char **argv);
int cmd_ls(struct cs_ctx *ctx, int argc, char **argv);
int cmd_bench(struct cs_ctx *ctx, int argc, char **argv);

#endif /* CAPSTORE_TOOLS_CAPSTORE_H */
