/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cs_test.h - helpers shared by the capstore test programs.
 *
 * The store under test is on $CS_TEST_DEV (default /dev/vda); a scenario
 * formats it on the host first. Helpers return -errno like libcap-store.
 */
#ifndef CS_TEST_H
#define CS_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libcapstore.h>

#define CS_CRASH_MARKER "CAPSTORE-CRASH-POINT"

static inline const char *cs_test_dev(void)
{
	const char *p = getenv("CS_TEST_DEV");

	return p && *p ? p : "/dev/vda";
}

/* Attach the store on @dev; -errno on failure. */
static inline int cs_attach_path(const char *dev, uint32_t *id)
{
	int ctl, bdev, ret;

	ctl = capstore_control_open(0);
	if (ctl < 0)
		return ctl;
	bdev = open(dev, O_RDWR | O_CLOEXEC);
	if (bdev < 0) {
		ret = -errno;
		close(ctl);
		return ret;
	}
	ret = capstore_store_attach(ctl, bdev, 0, id);
	close(bdev);
	close(ctl);
	return ret;
}

static inline int cs_attach(uint32_t *id)
{
	return cs_attach_path(cs_test_dev(), id);
}

/*
 * Detach; a capability still held by something being torn down
 * asynchronously (an io_uring instance's files) gets two seconds to go.
 */
static inline int cs_detach(uint32_t id)
{
	int ctl = capstore_control_open(0), ret, tries = 0;

	if (ctl < 0)
		return ctl;
	while ((ret = capstore_store_detach(ctl, id, 0)) == -EBUSY &&
	       tries++ < 40)
		usleep(50000);
	close(ctl);
	return ret;
}

/* The id of the store attached on @dev, from sysfs; -ENOENT if none. */
static inline int cs_store_id_of(const char *dev)
{
	const char *name = strrchr(dev, '/');
	char path[128], buf[16] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/id",
		 name ? name + 1 : dev);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -ENOENT;
}

/* Write @value to /sys/fs/capstore/<dev>/@attr; -errno on failure. */
static inline int cs_store_set(const char *dev, const char *attr,
			       const char *value)
{
	const char *name = strrchr(dev, '/');
	char path[128];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/%s",
		 name ? name + 1 : dev, attr);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, value, strlen(value)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Read /sys/fs/capstore/<dev>/@attr as a number; -errno on failure. */
static inline long long cs_store_get(const char *dev, const char *attr)
{
	const char *name = strrchr(dev, '/');
	char path[128], buf[32] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/%s",
		 name ? name + 1 : dev, attr);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? strtoll(buf, NULL, 0) : -EIO;
}

/* Detach whatever an earlier failed test left attached on the device. */
static inline void cs_detach_stale(void)
{
	int id = cs_store_id_of(cs_test_dev());

	if (id >= 0)
		cs_detach(id);
}

/* Close every fd from @first on (the ones a test made). */
static inline void cs_close_from(int first)
{
	int fd;

	for (fd = first; fd < first + 256; fd++)
		close(fd);
}

/* The lowest free fd: everything a test opens from now is at or above. */
static inline int cs_next_fd(void)
{
	int fd = dup(0);

	if (fd >= 0)
		close(fd);
	return fd;
}

static inline int cs_root(uint32_t id)
{
	int ctl = capstore_control_open(0), ret;

	if (ctl < 0)
		return ctl;
	ret = capstore_root_open(ctl, id, CAPSTORE_FD_CLOEXEC);
	close(ctl);
	return ret;
}

/*
 * Detach store @id, attach it again (its new id into @id) and reopen its
 * root node into @root, closing the old one (if >= 0) first. 0 or -errno;
 * on failure *root is -EBADF.
 */
static inline int cs_reattach(uint32_t *id, int *root)
{
	int ret;

	if (*root >= 0)
		close(*root);
	*root = -EBADF;
	ret = cs_detach(*id);
	if (!ret)
		ret = cs_attach(id);
	if (!ret) {
		*root = cs_root(*id);
		if (*root < 0) {
			ret = *root;
			*root = -EBADF;
		}
	}
	return ret;
}

/*
 * The whole of @path (a file of unknown size: tracefs, procfs) as a
 * malloc'd NUL-terminated string, or NULL with errno set.
 */
static inline char *cs_read_text(const char *path)
{
	size_t len = 0, cap = 1 << 16;
	char *buf, *more;
	ssize_t r;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		if (cap - len < 4096) {
			more = realloc(buf, cap * 2);
			if (!more)
				break;
			buf = more;
			cap *= 2;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r <= 0)
			break;
		len += r;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

/* splitmix64: the test patterns. */
static inline uint64_t cs_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Tell the host to power the VM off now (it waits for this line). */
static inline void cs_crash_point(void)
{
	printf("%s\n", CS_CRASH_MARKER);
	fflush(stdout);
}

/* The kernel log since boot contains @needle (dmesg via /dev/kmsg). */
static inline int cs_kmsg_contains(const char *needle)
{
	char line[1024];
	int fd, found = 0;
	ssize_t n;

	fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return 0;
	for (;;) {
		n = read(fd, line, sizeof(line) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten records: skip them */
		if (n <= 0)
			break;
		line[n] = '\0';
		if (strstr(line, needle))
			found = 1;
	}
	close(fd);
	return found;
}

#endif /* CS_TEST_H */
