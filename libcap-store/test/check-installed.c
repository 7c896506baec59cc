// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * A program outside the source tree, built against an installed
 * libcap-store (see check-installed.sh). It needs no capstore module:
 * it checks the version calls, the error convention, and the calls that
 * work on any file descriptor, on a memfd and a pipe. Prints TAP lines
 * without numbers; the script numbers them.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libcapstore.h>

static int failed;

static void t_ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok - ", cond ? "" : "not ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		failed = 1;
}

static void t_skip(const char *what, const char *why)
{
	printf("ok - %s # SKIP %s\n", what, why);
}

static void t_version(void)
{
	int major = capstore_version_major();
	int minor = capstore_version_minor();

	t_ok(major == CAPSTORE_VERSION_MAJOR && minor == CAPSTORE_VERSION_MINOR,
	     "library version %d.%d matches the header's %d.%d",
	     major, minor, CAPSTORE_VERSION_MAJOR, CAPSTORE_VERSION_MINOR);
	t_ok(capstore_version_check(major, minor) &&
	     capstore_version_check(major, 0) &&
	     capstore_version_check(0, 0) &&
	     !capstore_version_check(major, minor + 1) &&
	     !capstore_version_check(major + 1, 0),
	     "capstore_version_check() compares major.minor");
	t_ok(CAPSTORE_VERSION_CHECK(CAPSTORE_VERSION_MAJOR, 0) &&
	     !CAPSTORE_VERSION_CHECK(CAPSTORE_VERSION_MAJOR + 1, 0),
	     "CAPSTORE_VERSION_CHECK() compares major.minor");
}

static void t_control(void)
{
	int ret;

	if (access(CAPSTORE_CONTROL_DEVICE, F_OK) == 0) {
		t_skip("capstore_control_open() without the device",
		       CAPSTORE_CONTROL_DEVICE " exists");
	} else {
		ret = capstore_control_open(CAPSTORE_FD_CLOEXEC);
		t_ok(ret == -ENOENT, "capstore_control_open() without "
		     CAPSTORE_CONTROL_DEVICE " gives -ENOENT (got %d)", ret);
	}
	ret = capstore_control_open(~0U);
	t_ok(ret == -EINVAL,
	     "capstore_control_open() refuses unknown flags (got %d)", ret);
}

static void t_not_a_capability(void)
{
	struct capstore_cap_info info;
	uint64_t size;
	int p[2], ret;

	errno = EDOM;
	ret = capstore_cap_info(-1, &info);
	t_ok(ret == -EBADF, "capstore_cap_info(-1) gives -EBADF (got %d)", ret);
	t_ok(errno == EDOM, "a failed call leaves errno unchanged");
	ret = capstore_cap_close(-1);
	t_ok(ret == -EBADF, "capstore_cap_close(-1) gives -EBADF (got %d)", ret);
	ret = capstore_cap_sync(-1);
	t_ok(ret == -EBADF, "capstore_cap_sync(-1) gives -EBADF (got %d)", ret);

	if (pipe(p)) {
		t_ok(0, "pipe: %m");
		return;
	}
	ret = capstore_cap_info(p[0], &info);
	t_ok(ret == -ENOTTY, "capstore_cap_info() on a pipe gives -ENOTTY (got %d)", ret);
	ret = capstore_node_fetch(p[0], 0, 0);
	t_ok(ret == -ENOTTY, "capstore_node_fetch() on a pipe gives -ENOTTY (got %d)", ret);
	ret = capstore_segment_size(p[0], &size);
	t_ok(ret == -ENOTTY, "capstore_segment_size() on a pipe gives -ENOTTY (got %d)", ret);
	ret = capstore_cap_close(p[0]);
	t_ok(ret == 0, "capstore_cap_close() closes an fd (got %d)", ret);
	close(p[1]);
}

/* Without the module there is no store, and so no status to give. */
static void t_store_status(void)
{
	struct capstore_store_status st;
	int ret;

	errno = EDOM;
	ret = capstore_store_status(0, NULL);
	t_ok(ret == -EINVAL && errno == EDOM,
	     "capstore_store_status(NULL) gives -EINVAL (got %d)", ret);
	if (access("/sys/fs/capstore", F_OK) == 0) {
		t_skip("capstore_store_status() without the module",
		       "/sys/fs/capstore exists");
		return;
	}
	errno = EDOM;
	ret = capstore_store_status(0, &st);
	t_ok(ret == -ENOENT && errno == EDOM,
	     "capstore_store_status() without the module gives -ENOENT (got %d)",
	     ret);
}

/* The segment helpers work on any file that can be mapped: a memfd. */
static void t_segment_io(void)
{
	size_t len = 1 << 20;
	char *buf, *back, *map;
	ssize_t n;
	int fd, ret;
	size_t i;

	buf = malloc(len);
	back = malloc(len);
	fd = memfd_create("libcap-store-check", MFD_CLOEXEC);
	if (!buf || !back || fd < 0) {
		t_ok(0, "memfd: %m");
		return;
	}
	for (i = 0; i < len; i++)
		buf[i] = (char)(i * 7 + i / 4096);

	n = capstore_segment_pwrite(fd, buf, len, 0);
	t_ok(n == (ssize_t)len, "capstore_segment_pwrite() writes it all (%zd)", n);
	n = capstore_segment_pread(fd, back, len, 0);
	t_ok(n == (ssize_t)len && !memcmp(buf, back, len),
	     "capstore_segment_pread() reads back what was written (%zd)", n);
	n = capstore_segment_pread(fd, back, 4096, len - 100);
	t_ok(n == 100, "capstore_segment_pread() stops at the end (%zd)", n);
	n = capstore_segment_pread(fd, back, 4096, UINT64_MAX - 10);
	t_ok(n == -EOVERFLOW,
	     "capstore_segment_pread() refuses an offset past off_t (%zd)", n);

	ret = capstore_segment_map(fd, 0, len, PROT_READ | PROT_WRITE,
				   (void **)&map);
	t_ok(ret == 0, "capstore_segment_map() maps (got %d)", ret);
	if (ret == 0) {
		t_ok(!memcmp(map, buf, len), "the mapping shows the data");
		memcpy(map + 4096, "visits", 6);
		n = capstore_segment_pread(fd, back, 6, 4096);
		t_ok(n == 6 && !memcmp(back, "visits", 6),
		     "the mapping is shared: a store is seen by pread");
		ret = capstore_segment_unmap(map, len);
		t_ok(ret == 0, "capstore_segment_unmap() unmaps (got %d)", ret);
	}
	ret = capstore_segment_map(fd, 0, 0, PROT_READ, (void **)&map);
	t_ok(ret == -EINVAL,
	     "capstore_segment_map() of length 0 gives -EINVAL (got %d)", ret);

	ret = capstore_cap_sync(fd);
	t_ok(ret == 0, "capstore_cap_sync() syncs (got %d)", ret);
	close(fd);
	free(back);
	free(buf);
}

int main(void)
{
	t_version();
	t_control();
	t_not_a_capability();
	t_store_status();
	t_segment_io();
	return failed;
}
