/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cs_dm.h - the device-mapper ioctls the tests need, for a guest without
 * dmsetup: create a device with a one-target table, replace its table,
 * remove it, send a target message ("mark LABEL" to dm-log-writes), read
 * its status.
 *
 * Tables of several targets can be loaded into a live device and swapped
 * in (suspend, resume), as dmsetup reload does.
 *
 * Functions return 0 or -errno, like libcap-store. See
 * Documentation/admin-guide/device-mapper/ and <linux/dm-ioctl.h>.
 */
#ifndef CS_DM_H
#define CS_DM_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <linux/dm-ioctl.h>

#define CS_DM_CONTROL	"/dev/mapper/control"
#define CS_DM_BUFSZ	16384

struct cs_dm_buf {
	union {
		struct dm_ioctl io;
		char raw[CS_DM_BUFSZ];
	};
};

static inline void cs_dm_init(struct cs_dm_buf *b, const char *name)
{
	memset(b, 0, sizeof(*b));
	b->io.version[0] = DM_VERSION_MAJOR;
	b->io.version[1] = 0;
	b->io.version[2] = 0;
	b->io.data_size = sizeof(*b);
	b->io.data_start = sizeof(struct dm_ioctl);
	if (name)
		snprintf(b->io.name, sizeof(b->io.name), "%s", name);
}

static inline int cs_dm_ioctl(unsigned long cmd, struct cs_dm_buf *b)
{
	int fd = open(CS_DM_CONTROL, O_RDWR | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, cmd, b) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Size of a block device (or file) in 512-byte sectors; -errno. */
static inline int64_t cs_dev_sectors(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t bytes;
	off_t end;

	if (fd < 0)
		return -errno;
	end = lseek(fd, 0, SEEK_END);
	close(fd);
	if (end < 0)
		return -errno;
	bytes = (uint64_t)end;
	return (int64_t)(bytes / 512);
}

/*
 * cs_dm_create - create and activate device NAME with the one-target table
 * "0 SECTORS TARGET PARAMS"; its node (/dev/dm-N) goes to @path.
 */
static inline int cs_dm_create(const char *name, uint64_t sectors,
			       const char *target, const char *params,
			       char *path, size_t pathlen)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	struct dm_target_spec *spec;
	unsigned int minor, major, tries;
	size_t plen = strlen(params) + 1;
	struct stat st;
	int ret;

	if (!b)
		return -ENOMEM;
	if (sizeof(struct dm_ioctl) + sizeof(*spec) + plen + 8 > sizeof(*b)) {
		free(b);
		return -E2BIG;
	}
	cs_dm_init(b, name);
	ret = cs_dm_ioctl(DM_DEV_CREATE, b);
	if (ret)
		goto out;
	major = major(b->io.dev);
	minor = minor(b->io.dev);

	cs_dm_init(b, name);
	b->io.target_count = 1;
	spec = (struct dm_target_spec *)(b->raw + sizeof(struct dm_ioctl));
	spec->sector_start = 0;
	spec->length = sectors;
	spec->status = 0;
	spec->next = 0;
	snprintf(spec->target_type, sizeof(spec->target_type), "%s", target);
	memcpy((char *)(spec + 1), params, plen);
	ret = cs_dm_ioctl(DM_TABLE_LOAD, b);
	if (ret)
		goto undo;

	/* DM_DEV_SUSPEND without DM_SUSPEND_FLAG resumes: the table goes live */
	cs_dm_init(b, name);
	ret = cs_dm_ioctl(DM_DEV_SUSPEND, b);
	if (ret)
		goto undo;

	snprintf(path, pathlen, "/dev/dm-%u", minor);
	/* devtmpfs makes the node; make it ourselves if it is late */
	for (tries = 0; tries < 100 && stat(path, &st); tries++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	if (stat(path, &st) &&
	    mknod(path, S_IFBLK | 0600, makedev(major, minor)) < 0) {
		ret = -errno;
		goto undo;
	}
	free(b);
	return 0;
undo:
	cs_dm_init(b, name);
	cs_dm_ioctl(DM_DEV_REMOVE, b);
out:
	free(b);
	return ret;
}

static inline int cs_dm_remove(const char *name)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	int ret, tries;

	if (!b)
		return -ENOMEM;
	for (tries = 0;; tries++) {
		cs_dm_init(b, name);
		ret = cs_dm_ioctl(DM_DEV_REMOVE, b);
		if (ret != -EBUSY || tries >= 50)
			break;
		usleep(100 * 1000);
	}
	free(b);
	return ret;
}

/* cs_dm_message - send MSG to the target at sector 0 of device NAME. */
static inline int cs_dm_message(const char *name, const char *msg)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	struct dm_target_msg *m;
	size_t len = strlen(msg) + 1;
	int ret;

	if (!b)
		return -ENOMEM;
	if (sizeof(struct dm_ioctl) + sizeof(*m) + len > sizeof(*b)) {
		free(b);
		return -E2BIG;
	}
	cs_dm_init(b, name);
	m = (struct dm_target_msg *)(b->raw + sizeof(struct dm_ioctl));
	m->sector = 0;
	memcpy(m->message, msg, len);
	ret = cs_dm_ioctl(DM_TARGET_MSG, b);
	free(b);
	return ret;
}

/* cs_dm_status - the INFO status line of the (first) target of NAME. */
static inline int cs_dm_status(const char *name, char *out, size_t outlen)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	struct dm_target_spec *spec;
	int ret;

	if (!b)
		return -ENOMEM;
	cs_dm_init(b, name);
	ret = cs_dm_ioctl(DM_TABLE_STATUS, b);
	if (!ret) {
		if (b->io.target_count < 1) {
			ret = -ENODEV;
		} else {
			spec = (struct dm_target_spec *)(b->raw + b->io.data_start);
			snprintf(out, outlen, "%s %s", spec->target_type,
				 (char *)(spec + 1));
		}
	}
	free(b);
	return ret;
}

/* One target of a table: "START LEN TYPE PARAMS", in 512-byte sectors. */
struct cs_dm_target {
	uint64_t start;
	uint64_t len;
	const char *type;
	char params[160];
};

/* cs_dm_load - load @n targets as device NAME's inactive table. */
static inline int cs_dm_load(const char *name, const struct cs_dm_target *t,
			     unsigned int n)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	struct dm_target_spec *spec;
	size_t off = sizeof(struct dm_ioctl), plen;
	unsigned int i;
	int ret;

	if (!b)
		return -ENOMEM;
	cs_dm_init(b, name);
	b->io.target_count = n;
	for (i = 0; i < n; i++) {
		plen = strlen(t[i].params) + 1;
		if (off + sizeof(*spec) + plen + 8 > sizeof(*b)) {
			free(b);
			return -E2BIG;
		}
		spec = (struct dm_target_spec *)(b->raw + off);
		spec->sector_start = t[i].start;
		spec->length = t[i].len;
		spec->status = 0;
		snprintf(spec->target_type, sizeof(spec->target_type), "%s",
			 t[i].type);
		memcpy((char *)(spec + 1), t[i].params, plen);
		/* the next spec, 8-byte aligned, from the start of this one */
		spec->next = (sizeof(*spec) + plen + 7) & ~7u;
		off += spec->next;
	}
	ret = cs_dm_ioctl(DM_TABLE_LOAD, b);
	free(b);
	return ret;
}

/* cs_dm_suspend - suspend device NAME (waiting for its I/O), or resume
 * it, which makes a loaded table live. */
static inline int cs_dm_suspend(const char *name, int suspend)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	cs_dm_init(b, name);
	if (suspend)
		b->io.flags = DM_SUSPEND_FLAG | DM_SKIP_LOCKFS_FLAG;
	ret = cs_dm_ioctl(DM_DEV_SUSPEND, b);
	free(b);
	return ret;
}

/* cs_dm_reload - replace device NAME's table while it is in use. */
static inline int cs_dm_reload(const char *name, const struct cs_dm_target *t,
			       unsigned int n)
{
	int ret = cs_dm_load(name, t, n);

	if (ret)
		return ret;
	ret = cs_dm_suspend(name, 1);
	if (ret)
		return ret;
	return cs_dm_suspend(name, 0);
}

/* cs_dm_has_target - whether the kernel has target TYPE (loaded or built in). */
static inline int cs_dm_has_target(const char *type)
{
	struct cs_dm_buf *b = malloc(sizeof(*b));
	struct dm_target_versions *v;
	size_t off;
	int ret, found = 0;

	if (!b)
		return 0;
	cs_dm_init(b, NULL);
	ret = cs_dm_ioctl(DM_LIST_VERSIONS, b);
	off = b->io.data_start;
	while (!ret && off + sizeof(*v) < sizeof(*b)) {
		v = (struct dm_target_versions *)(b->raw + off);
		if (!strcmp(v->name, type)) {
			found = 1;
			break;
		}
		if (!v->next)
			break;
		off += v->next;
	}
	free(b);
	return found;
}

#endif /* CS_DM_H */
