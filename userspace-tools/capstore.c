// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore: the command-line tool of the capstore persistent store.
 * Git-style subcommands dispatched from cs_commands[].
 */
#include "capstore.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef CAPSTORE_VERSION
#define CAPSTORE_VERSION "unknown"
#endif

struct cs_command {
	const char *name;
	int (*fn)(struct cs_ctx *ctx, int argc, char **argv);
	const char *summary;
};

static const struct cs_command cs_commands[] = {
	{ "format", cmd_format, "create a new store on a device or image file" },
	{ "fsck", cmd_fsck, "check a store offline" },
	{ "dump", cmd_dump, "print a store's metadata" },
	{ "attach", cmd_attach, "attach a store (device or image file)" },
	{ "detach", cmd_detach, "take a final checkpoint and detach a store" },
	{ "checkpoint", cmd_checkpoint, "checkpoint an attached store now" },
	{ "status", cmd_status, "show the attached stores" },
	{ "set", cmd_set, "change the checkpoint settings of an attached store" },
	{ "ls", cmd_ls, "list the slots of a node of an attached store" },
	{ "bench", cmd_bench, "benchmark an attached store (io, caps, checkpoint)" },
};

#define NCOMMANDS (sizeof(cs_commands) / sizeof(cs_commands[0]))

#define PROGRESS_DELAY_MS	500

static void list_commands(FILE *f)
{
	unsigned int i;

	fprintf(f,
		"Usage: capstore <command> [options] [args]\n"
		"       capstore <command> --help\n"
		"       capstore --version\n"
		"\n"
		"Commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-11s %s\n", cs_commands[i].name,
			cs_commands[i].summary);
	fprintf(f, "  %-11s %s\n", "help", "show the help of a command");
	fprintf(f, "\nSee capstore(8) and capstore-<command>(8).\n");
}

static const struct cs_command *find_command(const char *name)
{
	unsigned int i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(cs_commands[i].name, name))
			return &cs_commands[i];
	return NULL;
}

static int run_command(const struct cs_command *cmd, int argc, char **argv)
{
	struct cs_ctx ctx = {
		.sub = cmd->name,
		.out = stdout,
		.err = stderr,
		.sysfs = getenv("CAPSTORE_SYSFS"),
		.progress = isatty(STDERR_FILENO),
		.progress_delay_ms = PROGRESS_DELAY_MS,
	};
	const char *delay = getenv("CAPSTORE_PROGRESS_DELAY_MS");
	char *end;
	unsigned long ms;
	int ret;

	if (!ctx.sysfs || !*ctx.sysfs)
		ctx.sysfs = "/sys";
	if (delay && *delay) {
		errno = 0;
		ms = strtoul(delay, &end, 10);
		if (!errno && !*end && ms <= 3600000)
			ctx.progress_delay_ms = (unsigned int)ms;
	}

	opterr = 0;
	optind = 1;
	ret = cmd->fn(&ctx, argc, argv);
	if (fflush(stdout) == EOF && ret == CS_EXIT_OK) {
		cs_msg_err(&ctx, errno, "writing the output");
		ret = CS_EXIT_FAIL;
	}
	return ret;
}

int main(int argc, char **argv)
{
	struct cs_ctx ctx = { .sub = NULL, .out = stdout, .err = stderr };
	const struct cs_command *cmd;
	const char *name;

	if (argc < 2) {
		list_commands(stderr);
		return CS_EXIT_USAGE;
	}
	name = argv[1];
	if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
		list_commands(stdout);
		return CS_EXIT_OK;
	}
	if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
		printf("capstore %s\n", CAPSTORE_VERSION);
		return CS_EXIT_OK;
	}
	if (!strcmp(name, "help")) {
		char *help_argv[] = { NULL, "--help", NULL };

		if (argc < 3) {
			list_commands(stdout);
			return CS_EXIT_OK;
		}
		if (argc > 3)
			return cs_usage_error(&ctx, "help takes one command");
		cmd = find_command(argv[2]);
		if (!cmd)
			return cs_usage_error(&ctx, "unknown command '%s'",
					      argv[2]);
		help_argv[0] = argv[2];
		return run_command(cmd, 2, help_argv);
	}
	if (name[0] == '-')
		return cs_usage_error(&ctx, "unknown option '%s'", name);
	cmd = find_command(name);
	if (!cmd)
		return cs_usage_error(&ctx, "unknown command '%s'", name);
	return run_command(cmd, argc - 1, argv + 1);
}
