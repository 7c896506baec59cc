// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore attach: attach the store on a block device, or in an image file
 * through a loop device set up for it (with autoclear, so that it goes
 * away when the store is detached, or at once if attach fails).
 */
#include "capstore.h"
#include "loop.h"
#include "online.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libcapstore.h>

static void attach_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore attach [options] DEVICE|FILE\n"
		"\n"
		"Attach the store on a block device, or in an image file through a\n"
		"new loop device (released again when the store is detached).\n"
		"Prints \"attached DEVICE as store ID (NAME)\". Needs root.\n"
		"\n"
		"Options:\n"
		"  -i, --id-only      print only the store id\n"
		"  -h, --help         show this help\n");
}

/*
 * Refuse an image file that is already attached through a loop device:
 * a second loop device on it would be a second, independent store
 * writing the same blocks.
 */
static int check_file_free(const struct cs_ctx *ctx, const char *file)
{
	struct cs_store_ref *refs = NULL;
	struct cs_loop *loops = NULL;
	size_t n = 0, i;
	int nloops, j, ret = 0;

	nloops = cs_loop_find(ctx, file, &loops);
	if (nloops <= 0)
		return 0;
	if (cs_stores_list(ctx, &refs, &n) == 0) {
		for (j = 0; j < nloops && !ret; j++)
			for (i = 0; i < n; i++)
				if (refs[i].has_dev &&
				    refs[i].major == loops[j].major &&
				    refs[i].minor == loops[j].minor) {
					cs_msg(ctx, "%s: %s: already attached as store %u (%s) on /dev/%s",
					       file, strerror(EBUSY), refs[i].id,
					       refs[i].name, loops[j].name);
					ret = -EBUSY;
					break;
				}
	}
	free(refs);
	free(loops);
	return ret;
}

/* The name sysfs gives store @id, or "" if it cannot be found. */
static void store_name(const struct cs_ctx *ctx, __u32 id, char *name,
		       size_t len)
{
	struct cs_store_ref *refs = NULL;
	size_t n = 0, i;

	name[0] = '\0';
	if (cs_stores_list(ctx, &refs, &n))
		return;
	for (i = 0; i < n; i++)
		if (refs[i].id == id)
			snprintf(name, len, "%s", refs[i].name);
	free(refs);
}

static int do_attach(const struct cs_ctx *ctx, const char *arg, bool id_only)
{
	char loopdev[64] = "", name[CS_NAME_LEN];
	const char *dev = arg;
	struct stat st;
	uint32_t id;
	int ctl, fd, ret;

	ctl = cs_control_open_explained(ctx);
	if (ctl < 0)
		return CS_EXIT_FAIL;
	if (stat(arg, &st)) {
		cs_msg_err(ctx, errno, "%s", arg);
		goto fail_ctl;
	}
	if (S_ISBLK(st.st_mode)) {
		fd = open(arg, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			cs_explain(ctx, CS_OP_OTHER, -errno, arg);
			goto fail_ctl;
		}
	} else if (S_ISREG(st.st_mode)) {
		if (check_file_free(ctx, arg))
			goto fail_ctl;
		fd = cs_loop_setup(ctx, arg, loopdev, sizeof(loopdev));
		if (fd < 0)
			goto fail_ctl;
		dev = loopdev;
	} else {
		cs_msg(ctx, "%s: not a block device or image file", arg);
		goto fail_ctl;
	}

	ret = capstore_store_attach(ctl, fd, 0, &id);
	/*
	 * The module holds the device now; for a loop device this close
	 * is the last one if attach failed, and autoclear unbinds it.
	 */
	close(fd);
	capstore_cap_close(ctl);
	if (ret < 0) {
		char what[CS_PATH_LEN + 80];

		if (loopdev[0])
			snprintf(what, sizeof(what), "%s (on %s)", arg, loopdev);
		else
			snprintf(what, sizeof(what), "%s", arg);
		cs_explain(ctx, CS_OP_ATTACH, ret, what);
		return CS_EXIT_FAIL;
	}
	if (id_only) {
		fprintf(ctx->out, "%u\n", id);
		return CS_EXIT_OK;
	}
	store_name(ctx, id, name, sizeof(name));
	if (loopdev[0])
		fprintf(ctx->out, "attached %s on %s as store %u", arg, dev, id);
	else
		fprintf(ctx->out, "attached %s as store %u", dev, id);
	if (name[0])
		fprintf(ctx->out, " (%s)", name);
	fputc('\n', ctx->out);
	return CS_EXIT_OK;

fail_ctl:
	capstore_cap_close(ctl);
	return CS_EXIT_FAIL;
}

int cmd_attach(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "id-only", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool id_only = false;
	int c;

	while ((c = getopt_long(argc, argv, ":ih", longopts, NULL)) != -1) {
		switch (c) {
		case 'i':
			id_only = true;
			break;
		case 'h':
			attach_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind != argc - 1)
		return cs_usage_error(ctx, optind >= argc ?
				      "missing DEVICE or FILE" :
				      "too many arguments");
	return do_attach(ctx, argv[optind], id_only);
}
