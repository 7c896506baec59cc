// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Messages and usage errors of the capstore command's subcommands (see
 * capstore.h). Apart from main() in capstore.c so that other programs
 * (the fuzzers in fuzz/) can run a subcommand in-process.
 */
#include "capstore.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void vmsg(const struct cs_ctx *ctx, int err, const char *fmt,
		 va_list ap)
{
	fprintf(ctx->err, "capstore%s%s: ", ctx->sub ? " " : "",
		ctx->sub ? ctx->sub : "");
	vfprintf(ctx->err, fmt, ap);
	if (err)
		fprintf(ctx->err, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', ctx->err);
}

void cs_msg(const struct cs_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(ctx, 0, fmt, ap);
	va_end(ap);
}

void cs_msg_err(const struct cs_ctx *ctx, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(ctx, err, fmt, ap);
	va_end(ap);
}

int cs_usage_error(const struct cs_ctx *ctx, const char *fmt, ...)
{
	const char *sub = ctx->sub ? ctx->sub : "";
	const char *sp = ctx->sub ? " " : "";
	va_list ap;

	fprintf(ctx->err, "capstore%s%s: ", sp, sub);
	va_start(ap, fmt);
	vfprintf(ctx->err, fmt, ap);
	va_end(ap);
	fprintf(ctx->err, " (try 'capstore%s%s --help')\n", sp, sub);
	return CS_EXIT_USAGE;
}

int cs_getopt_error(const struct cs_ctx *ctx, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		return cs_usage_error(ctx, "option '%s' needs an argument",
				      arg);
	if (optopt && (!arg || strncmp(arg, "--", 2)))
		return cs_usage_error(ctx, "unknown option '-%c'", optopt);
	return cs_usage_error(ctx, "unknown option '%s'", arg);
}
