// SPDX-License-Identifier: MIT
/*
 * outside - a program built the way one outside the source tree is, against
 * an installed libcap-store, with
 *
 *	cc outside.c $(pkg-config --cflags --libs libcap-store)
 *
 * (selftests/install.sh outside; run in the VM by the "install" scenario).
 *
 *	outside [--hold] STORE_ID
 *
 * Counts a visit and writes a greeting into a segment in slot 1 of the
 * store's root node (created if the slot is empty), waits for a committed
 * checkpoint, reads it back and prints "outside: ok, visit N". With
 * --hold it does not wait for a checkpoint: it prints "outside: holding,
 * visit N" and keeps its capabilities open until it is killed
 * (selftests/scenarios/boot_attach.sh: a store still in use at shutdown).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libcapstore.h>

#define SLOT	1

static int fail(const char *what, long err)
{
	fprintf(stderr, "outside: %s: %s\n", what, strerror((int)-err));
	return 1;
}

int main(int argc, char **argv)
{
	char buf[64], back[64];
	uint64_t visit = 0;
	unsigned long id;
	int ctl, root, seg;
	ssize_t n;
	int hold = 0;
	char *end;

	if (argc == 3 && !strcmp(argv[1], "--hold")) {
		hold = 1;
		argv++;
		argc--;
	}
	if (argc != 2 || !*argv[1] ||
	    (id = strtoul(argv[1], &end, 0), *end)) {
		fprintf(stderr, "usage: outside [--hold] STORE_ID\n");
		return 2;
	}
	if (!CAPSTORE_VERSION_CHECK(1, 0)) {
		fprintf(stderr, "outside: libcap-store too old\n");
		return 1;
	}
	printf("outside: libcap-store %d.%d\n", capstore_version_major(),
	       capstore_version_minor());

	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	if (ctl < 0)
		return fail(CAPSTORE_CONTROL_DEVICE, ctl);
	root = capstore_root_open(ctl, (uint32_t)id, CAPSTORE_FD_CLOEXEC);
	if (root < 0)
		return fail("root node", root);
	seg = capstore_node_fetch(root, SLOT, CAPSTORE_FD_CLOEXEC);
	if (seg == -ENOENT)
		seg = capstore_node_create(root, SLOT, CAPSTORE_KIND_SEGMENT,
					   4096, CAPSTORE_FD_CLOEXEC);
	if (seg < 0)
		return fail("segment", seg);

	n = capstore_segment_pread(seg, &visit, sizeof(visit), 0);
	if (n != sizeof(visit))
		return fail("read", n < 0 ? n : -EIO);
	visit++;
	snprintf(buf, sizeof(buf), "hello from outside, visit %" PRIu64,
		 visit);
	if (capstore_segment_pwrite(seg, &visit, sizeof(visit), 0) !=
	    sizeof(visit) ||
	    capstore_segment_pwrite(seg, buf, sizeof(buf), 8) != sizeof(buf))
		return fail("write", -EIO);
	if (hold) {
		printf("outside: holding, visit %" PRIu64 "\n", visit);
		fflush(stdout);
		for (;;)
			pause();
	}
	n = capstore_cap_sync(seg);
	if (n < 0)
		return fail("sync", n);
	n = capstore_segment_pread(seg, back, sizeof(back), 8);
	if (n != sizeof(back) || memcmp(buf, back, sizeof(buf)))
		return fail("read back", n < 0 ? n : -EIO);
	printf("outside: ok, visit %" PRIu64 "\n", visit);
	capstore_cap_close(seg);
	capstore_cap_close(root);
	capstore_cap_close(ctl);
	return 0;
}
