// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * A program from outside the source tree, built against an installed
 * libcap-store with
 *
 *	cc outside.c $(pkg-config --cflags --libs libcap-store-uring)
 *
 * (statically too) and run where the capstore module is: the VM of the
 * selftests (selftests/scenarios/lib_install.sh). It attaches the store on
 * the block device it is given, uses the synchronous API and the io_uring
 * helpers on it, and detaches. Prints one line per step; exit status 0 if
 * all went well.
 *
 *	outside DEVICE
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libcapstore.h>
#include <libcapstore-uring.h>

#define SLOT	20

static int failed;

static void step(int ok, const char *what, int ret)
{
	printf("%s: %s (%d)\n", ok ? "ok" : "FAILED", what, ret);
	if (!ok)
		failed = 1;
}

int main(int argc, char **argv)
{
	struct capstore_fetch fetch[CAPSTORE_NODE_SLOTS];
	struct capstore_create create;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	char buf[64] = "";
	int ctl, bdev, root, node, seg, ret, i, n;
	uint32_t id;
	char *map;

	if (argc != 2) {
		fprintf(stderr, "usage: outside DEVICE\n");
		return 2;
	}
	printf("libcap-store %d.%d (header %d.%d)\n", capstore_version_major(),
	       capstore_version_minor(), CAPSTORE_VERSION_MAJOR,
	       CAPSTORE_VERSION_MINOR);
	step(capstore_version_check(CAPSTORE_VERSION_MAJOR,
				    CAPSTORE_VERSION_MINOR),
	     "the library is at least as recent as the header", 0);
	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	step(ctl >= 0, "capstore_control_open", ctl);
	bdev = open(argv[1], O_RDWR | O_CLOEXEC);
	ret = capstore_store_attach(ctl, bdev, 0, &id);
	step(ret == 0, "capstore_store_attach", ret);
	close(bdev);
	if (failed)
		return 1;
	root = capstore_root_open(ctl, id, CAPSTORE_FD_CLOEXEC);
	step(root >= 0, "capstore_root_open", root);
	capstore_node_clear(root, SLOT, 0);
	node = capstore_node_create(root, SLOT, CAPSTORE_KIND_NODE, 0,
				    CAPSTORE_FD_CLOEXEC);
	step(node >= 0, "capstore_node_create (node)", node);

	ret = io_uring_queue_init(64, &ring, 0);
	step(ret == 0, "io_uring_queue_init", ret);
	if (failed)
		return 1;
	/* a segment created through the ring, then mapped and written */
	sqe = io_uring_get_sqe(&ring);
	capstore_prep_create(sqe, node, &create, 0, CAPSTORE_KIND_SEGMENT,
			     65536, CAPSTORE_FD_CLOEXEC);
	io_uring_submit_and_wait(&ring, 1);
	io_uring_wait_cqe(&ring, &cqe);
	seg = cqe->res;
	io_uring_cqe_seen(&ring, cqe);
	step(seg >= 0 && seg == create.out_fd, "capstore_prep_create", seg);
	if (failed)
		return 1;
	ret = capstore_segment_map(seg, 0, 65536, PROT_READ | PROT_WRITE,
				   (void **)&map);
	step(ret == 0, "capstore_segment_map", ret);
	if (ret)
		return 1;
	strcpy(map + 4096, "written through a mapping");

	/* read it back through the ring, and wait for durability */
	sqe = io_uring_get_sqe(&ring);
	capstore_prep_read(sqe, seg, buf, sizeof(buf), 4096);
	sqe->flags |= IOSQE_IO_LINK;
	sqe = io_uring_get_sqe(&ring);
	capstore_prep_sync(sqe, seg, 0);
	io_uring_submit_and_wait(&ring, 2);
	for (i = 0; i < 2; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		ret = cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		step(ret >= 0, i ? "capstore_prep_sync" : "capstore_prep_read",
		     ret);
	}
	step(!strcmp(buf, "written through a mapping"), "read what was stored",
	     0);

	/* every slot fetched in one submission: one full, 31 empty */
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		sqe = io_uring_get_sqe(&ring);
		capstore_prep_fetch(sqe, node, &fetch[i], i, CAPSTORE_FD_CLOEXEC);
		io_uring_sqe_set_data64(sqe, i);
	}
	io_uring_submit_and_wait(&ring, CAPSTORE_NODE_SLOTS);
	for (i = n = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		io_uring_wait_cqe(&ring, &cqe);
		if (cqe->user_data == 0 ? cqe->res >= 0 &&
		    fetch[0].out_kind == CAPSTORE_KIND_SEGMENT :
		    cqe->res == -ENOENT)
			n++;
		if (cqe->res >= 0)
			close(cqe->res);
		io_uring_cqe_seen(&ring, cqe);
	}
	step(n == CAPSTORE_NODE_SLOTS, "capstore_prep_fetch of 32 slots", n);
	io_uring_queue_exit(&ring);

	capstore_segment_unmap(map, 65536);
	capstore_cap_close(seg);
	ret = capstore_cap_destroy(node, 0);
	step(ret == 0, "capstore_cap_destroy", ret);
	capstore_cap_close(node);
	capstore_node_clear(root, SLOT, 0);
	capstore_cap_close(root);
	/* the ring lets go of its files asynchronously: retry a little */
	for (i = 0; i < 40; i++) {
		ret = capstore_store_detach(ctl, id, 0);
		if (ret != -EBUSY)
			break;
		usleep(50000);
	}
	step(ret == 0, "capstore_store_detach", ret);
	capstore_cap_close(ctl);
	return failed;
}
