/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cs_dm.h - the device-mapper ioctls the tests need, for a guest without
 * dmsetup: create a device with a one-target table, remove it, send a
 * target message ("mark LABEL" to dm-log-writes), read its status.
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

#endif /* CS_DM_H */
