// SPDX-License-Identifier: MIT
/*
 * counter - a persistent visitor counter, the smallest capstore program
 *
 *	counter [--store-id N] [--no-sync]
 *
 * The count lives in the first 8 bytes of a segment held in slot 0 of the
 * store's root node; the first run creates the segment. Each run adds one
 * visit through an ordinary memory mapping and prints the count. Then it
 * waits until a committed checkpoint holds the new count, unless told
 * --no-sync: the count still survives a clean shutdown, or a crash after
 * the next scheduled checkpoint, but a crash before then loses it.
 *
 * Getting the root node needs CAP_SYS_ADMIN.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <libcapstore.h>

#define COUNTER_SLOT	0
#define COUNTER_SIZE	4096

static const char usage[] = "usage: counter [--store-id N] [--no-sync]\n";

static int fail(const char *what, int err)
{
	fprintf(stderr, "counter: %s: %s\n", what, strerror(-err));
	return EXIT_FAILURE;
}

/* The counter segment in slot COUNTER_SLOT of @root, created if empty. */
static int counter_segment(int root)
{
	int seg;

	for (;;) {
		seg = capstore_node_fetch(root, COUNTER_SLOT,
					  CAPSTORE_FD_CLOEXEC);
		if (seg != -ENOENT)
			return seg;
		seg = capstore_node_create(root, COUNTER_SLOT,
					   CAPSTORE_KIND_SEGMENT, COUNTER_SIZE,
					   CAPSTORE_FD_CLOEXEC);
		if (seg != -EEXIST)
			return seg;
		/* Another counter created it first: fetch theirs. */
	}
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store-id", required_argument, NULL, 's' },
		{ "no-sync", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long store_id = 0;
	bool no_sync = false;
	int opt, ctl, root, seg, ret;
	uint64_t size, visits;
	void *addr;
	char *end;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			store_id = strtoul(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0' ||
			    store_id > UINT32_MAX) {
				fprintf(stderr, "counter: bad store id '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'n':
			no_sync = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_SUCCESS;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fputs(usage, stderr);
		return 2;
	}

	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	if (ctl < 0)
		return fail(CAPSTORE_CONTROL_DEVICE, ctl);
	root = capstore_root_open(ctl, store_id, CAPSTORE_FD_CLOEXEC);
	capstore_cap_close(ctl);
	if (root < 0)
		return fail("root node", root);

	seg = counter_segment(root);
	capstore_cap_close(root);
	if (seg < 0)
		return fail("counter segment", seg);

	/* Whatever sits in the slot must be a segment big enough to map. */
	ret = capstore_segment_size(seg, &size);
	if (ret == -ENOTTY || (ret == 0 && size < COUNTER_SIZE)) {
		fprintf(stderr, "counter: slot %d of the root node holds no counter segment\n",
			COUNTER_SLOT);
		return EXIT_FAILURE;
	}
	if (ret < 0)
		return fail("counter segment", ret);

	ret = capstore_segment_map(seg, 0, COUNTER_SIZE,
				   PROT_READ | PROT_WRITE, &addr);
	if (ret < 0)
		return fail("map", ret);

	/* The segment is memory: other counters may be adding at once. */
	visits = atomic_fetch_add((_Atomic uint64_t *)addr, 1) + 1;
	printf("visits: %" PRIu64 "\n", visits);
	fflush(stdout);

	if (no_sync) {
		puts("not checkpointed");
	} else {
		/* Returns once a committed checkpoint holds the new count. */
		ret = capstore_cap_sync(seg);
		if (ret < 0)
			return fail("sync", ret);
		puts("checkpointed");
	}

	capstore_segment_unmap(addr, COUNTER_SIZE);
	capstore_cap_close(seg);
	return EXIT_SUCCESS;
}
