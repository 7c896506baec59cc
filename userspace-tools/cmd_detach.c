// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore detach: take a final checkpoint and detach a store; if it lived
 * on a loop device that capstore attach set up (autoclear), make sure the
 * loop device is released too.
 */
#include "capstore.h"
#include "loop.h"
#include "online.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <libcapstore.h>

/* How long autoclear gets to unbind the loop device before we do. */
#define LOOP_RELEASE_MS		3000

static void detach_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore detach [options] STORE\n"
		"\n"
		"Take a final checkpoint of an attached store and detach it. STORE is\n"
		"a store id, a store name, the block device or the image file it is\n"
		"attached from. A loop device set up by capstore attach is released.\n"
		"Fails while capabilities of the store are open. Needs root.\n"
		"\n"
		"Options:\n"
		"  -q, --quiet        print nothing on success\n"
		"  -h, --help         show this help\n");
}

static int do_detach(const struct cs_ctx *ctx, const char *arg, bool quiet)
{
	struct cs_store_ref ref;
	struct cs_loop loop;
	char what[CS_NAME_LEN + 32], bdev[CS_NAME_LEN];
	int ctl, ret, is_loop = 0;

	ctl = cs_control_open_explained(ctx);
	if (ctl < 0)
		return CS_EXIT_FAIL;
	if (cs_store_resolve(ctx, arg, &ref)) {
		capstore_cap_close(ctl);
		return CS_EXIT_FAIL;
	}
	/* Before detaching, while sysfs still shows the store's device. */
	if (ref.has_dev &&
	    !cs_blockdev_name(ctx, ref.major, ref.minor, bdev, sizeof(bdev))) {
		is_loop = cs_loop_get(ctx, bdev, &loop);
		if (is_loop == 1 &&
		    (loop.major != ref.major || loop.minor != ref.minor))
			is_loop = 0;
	}

	ret = capstore_store_detach(ctl, ref.id, 0);
	capstore_cap_close(ctl);
	if (ret < 0) {
		snprintf(what, sizeof(what), "store %u (%s)", ref.id, ref.name);
		cs_explain(ctx, CS_OP_DETACH, ret, what);
		return CS_EXIT_FAIL;
	}
	if (!quiet)
		fprintf(ctx->out, "detached store %u (%s)\n", ref.id,
			ref.name);
	if (is_loop == 1 && loop.autoclear) {
		if (cs_loop_release(ctx, &loop, LOOP_RELEASE_MS))
			return CS_EXIT_FAIL;
		if (!quiet)
			fprintf(ctx->out, "released /dev/%s\n", loop.name);
	}
	return CS_EXIT_OK;
}

int cmd_detach(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool quiet = false;
	int c;

	while ((c = getopt_long(argc, argv, ":qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			detach_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind != argc - 1)
		return cs_usage_error(ctx, optind >= argc ? "missing STORE" :
				      "too many arguments");
	return do_detach(ctx, argv[optind], quiet);
}
