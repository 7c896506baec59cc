// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore checkpoint: take a checkpoint of an attached store now, through
 * the control device, and print its sequence number once it is committed.
 *
 * The module's CAPSTORE_CHECKPOINT returns only once the checkpoint is
 * committed, and has no asynchronous form: the command always waits, and
 * --wait only says so explicitly (scripts may spell out what they rely
 * on). A request that needs no wait would need a module that can take one.
 */
#include "capstore.h"
#include "online.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>

#include <libcapstore.h>

static void checkpoint_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore checkpoint [options] STORE\n"
		"\n"
		"Take a checkpoint of an attached store and wait until it is\n"
		"committed; print its sequence number. STORE is a store id, a store\n"
		"name, or the block device or image file it is attached from.\n"
		"Needs root.\n"
		"\n"
		"Options:\n"
		"  -w, --wait         wait until the checkpoint is committed (the\n"
		"                     default, and the only way the module takes one)\n"
		"  -s, --seq-only     print only the sequence number\n"
		"  -h, --help         show this help\n");
}

static int do_checkpoint(const struct cs_ctx *ctx, const char *arg,
			 bool seq_only)
{
	struct cs_store_ref ref;
	char what[CS_NAME_LEN + 32];
	uint64_t seq = 0;
	int ctl, ret;

	ctl = cs_control_open_explained(ctx);
	if (ctl < 0)
		return CS_EXIT_FAIL;
	if (cs_store_resolve(ctx, arg, &ref)) {
		capstore_cap_close(ctl);
		return CS_EXIT_FAIL;
	}
	ret = capstore_store_checkpoint(ctl, ref.id, 0, &seq);
	capstore_cap_close(ctl);
	if (ret < 0) {
		snprintf(what, sizeof(what), "store %u (%s)", ref.id, ref.name);
		cs_explain(ctx, CS_OP_CHECKPOINT, ret, what);
		return CS_EXIT_FAIL;
	}
	if (seq_only)
		fprintf(ctx->out, "%" PRIu64 "\n", seq);
	else
		fprintf(ctx->out, "store %u (%s): checkpoint %" PRIu64
			" committed\n", ref.id, ref.name, seq);
	return CS_EXIT_OK;
}

int cmd_checkpoint(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seq-only", no_argument, NULL, 's' },
		{ "wait", no_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool seq_only = false;
	int c;

	while ((c = getopt_long(argc, argv, ":swh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			seq_only = true;
			break;
		case 'w':
			/* The checkpoint ioctl is synchronous: always waits. */
			break;
		case 'h':
			checkpoint_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind != argc - 1)
		return cs_usage_error(ctx, optind >= argc ? "missing STORE" :
				      "too many arguments");
	return do_checkpoint(ctx, argv[optind], seq_only);
}
