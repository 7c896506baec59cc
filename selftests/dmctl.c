// SPDX-License-Identifier: GPL-2.0
/*
 * dmctl - the bit of dmsetup the test VM needs (busybox has none).
 *
 *   dmctl create NAME SECTORS|@DEV TARGET [PARAM...]
 *           table "0 SECTORS TARGET PARAM...", one target; @DEV: the size
 *           of DEV; prints the new device's node (/dev/dm-N)
 *   dmctl remove NAME
 *   dmctl message NAME WORD...     e.g. "dmctl message lw mark setup"
 *   dmctl status NAME              the target's INFO status
 *
 * Exit status 0 on success, 1 on failure (with a message on stderr).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cs_dm.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: dmctl create NAME SECTORS|@DEV TARGET [PARAM...]\n"
		"       dmctl remove NAME\n"
		"       dmctl message NAME WORD...\n"
		"       dmctl status NAME\n");
	return 2;
}

/* Join argv[from..argc) with single spaces. */
static char *join(int argc, char **argv, int from)
{
	size_t len = 1;
	char *s;
	int i;

	for (i = from; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = calloc(1, len);
	if (!s)
		exit(1);
	for (i = from; i < argc; i++) {
		if (i > from)
			strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

int main(int argc, char **argv)
{
	char path[64], status[4096];
	int64_t sectors;
	int ret;

	if (argc < 3)
		return usage();
	if (!strcmp(argv[1], "create")) {
		if (argc < 5)
			return usage();
		if (argv[3][0] == '@') {
			sectors = cs_dev_sectors(argv[3] + 1);
			if (sectors < 0) {
				fprintf(stderr, "dmctl: %s: %s\n", argv[3] + 1,
					strerror((int)-sectors));
				return 1;
			}
		} else {
			sectors = strtoll(argv[3], NULL, 0);
		}
		ret = cs_dm_create(argv[2], (uint64_t)sectors, argv[4],
				   join(argc, argv, 5), path, sizeof(path));
		if (!ret)
			printf("%s\n", path);
	} else if (!strcmp(argv[1], "remove")) {
		ret = cs_dm_remove(argv[2]);
	} else if (!strcmp(argv[1], "message")) {
		if (argc < 4)
			return usage();
		ret = cs_dm_message(argv[2], join(argc, argv, 3));
	} else if (!strcmp(argv[1], "status")) {
		ret = cs_dm_status(argv[2], status, sizeof(status));
		if (!ret)
			printf("%s\n", status);
	} else {
		return usage();
	}
	if (ret) {
		fprintf(stderr, "dmctl %s %s: %s\n", argv[1], argv[2],
			strerror(-ret));
		return 1;
	}
	return 0;
}
