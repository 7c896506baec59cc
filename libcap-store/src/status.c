// SPDX-License-Identifier: LGPL-2.1 OR MIT
/*
 * The status of an attached store, from its directory in sysfs,
 * /sys/fs/capstore/<name>/ (kmod/sysfs.c writes it; the store is found by
 * the "id" file of each directory).
 *
 * Every file is opened relative to one descriptor of the store's
 * directory: should the store be detached meanwhile, and another attached
 * on the same device, the files of the first are gone rather than those of
 * the second read instead.
 */
#include <dirent.h>
#include <string.h>

#include "libcapstore.h"
#include "syscall.h"
#include "capstore/format.h"

#define CS_SYSFS_DIR	"/sys/fs/capstore"

/* A value is one line; the largest, the label, is 32 bytes. */
#define CS_VALUE_MAX	128

/*
 * Read file @name of directory @dfd into @buf, without its newline.
 * Return its length, or -errno.
 */
static int read_value(int dfd, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = read(fd, buf, len - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		n = -errno;
	close(fd);
	/* A file of a directory removed since it was opened: detached. */
	if (n == -ENODEV)
		n = -ENOENT;
	if (n < 0)
		return (int)n;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return (int)n;
}

/* A decimal number that fits 64 bits: 0, or -EPROTO. */
static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t n = 0;

	if (!*s)
		return -EPROTO;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > (UINT64_MAX - 9) / 10)
			return -EPROTO;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	return 0;
}

/* "MAJOR:MINOR": 0, or -EPROTO. */
static int parse_dev(char *s, uint32_t *major, uint32_t *minor)
{
	char *colon = strchr(s, ':');
	uint64_t ma, mi;

	if (!colon)
		return -EPROTO;
	*colon = '\0';
	if (parse_u64(s, &ma) || parse_u64(colon + 1, &mi) ||
	    ma > UINT32_MAX || mi > UINT32_MAX)
		return -EPROTO;
	*major = (uint32_t)ma;
	*minor = (uint32_t)mi;
	return 0;
}

/*
 * File @name as a number into @v: CAPSTORE_STATUS_UNKNOWN if the module
 * has no such file. Return 0 or -errno.
 */
static int read_u64(int dfd, const char *name, uint64_t *v)
{
	char buf[CS_VALUE_MAX];
	int ret = read_value(dfd, name, buf, sizeof(buf));

	if (ret == -ENOENT) {
		*v = CAPSTORE_STATUS_UNKNOWN;
		return 0;
	}
	if (ret < 0)
		return ret;
	return parse_u64(buf, v);
}

/* File @name as a string into @out (@len bytes): "" if there is none. */
static int read_str(int dfd, const char *name, char *out, size_t len)
{
	char buf[CS_VALUE_MAX];
	int ret = read_value(dfd, name, buf, sizeof(buf));
	size_t n;

	if (ret == -ENOENT) {
		out[0] = '\0';
		return 0;
	}
	if (ret < 0)
		return ret;
	n = (size_t)ret < len - 1 ? (size_t)ret : len - 1;
	memcpy(out, buf, n);
	out[n] = '\0';
	return 0;
}

/* The id in directory @dfd: 0, or -errno. */
static int read_id(int dfd, uint32_t *id)
{
	char buf[CS_VALUE_MAX];
	uint64_t v;
	int ret = read_value(dfd, "id", buf, sizeof(buf));

	if (ret < 0)
		return ret;
	if (parse_u64(buf, &v) || v > UINT32_MAX)
		return -EPROTO;
	*id = (uint32_t)v;
	return 0;
}

/*
 * Open the directory of store @store_id and copy its name to @name (@len
 * bytes). Return the directory's descriptor, or -errno: -ENOENT if no
 * directory has that id.
 */
static int open_store_dir(uint32_t store_id, char *name, size_t len)
{
	struct dirent *de;
	int top, dfd, ret = -ENOENT;
	uint32_t id;
	DIR *d;

	top = open(CS_SYSFS_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (top < 0)
		return -errno;
	d = fdopendir(top);
	if (!d) {
		ret = -errno;
		close(top);
		return ret;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno)
				ret = -errno;
			break;
		}
		if (de->d_name[0] == '.' || strlen(de->d_name) >= len)
			continue;
		dfd = openat(top, de->d_name,
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			continue;
		/* Not a store's directory, or one being detached: not it. */
		if (read_id(dfd, &id) || id != store_id) {
			close(dfd);
			continue;
		}
		strcpy(name, de->d_name);
		ret = dfd;
		break;
	}
	closedir(d);
	return ret;
}

static const struct {
	const char *file;
	size_t offset;
} u64_files[] = {
#define F(field) { #field, offsetof(struct capstore_store_status, field) }
	F(blocks), F(free_blocks), F(objects), F(open_caps), F(shutdown),
	F(interval_ms), F(dirty_limit_bytes), F(section_timeout_ms), F(seq),
	F(checkpoints), F(failed_checkpoints), F(last_checkpoint_ns),
	F(max_checkpoint_ns), F(last_stall_ns), F(max_stall_ns),
	F(last_checkpoint_pages), F(blocks_written), F(dirty_bytes),
	F(sections_open), F(sections_broken),
#undef F
};

static int fill_status(int dfd, struct capstore_store_status *st)
{
	char buf[CS_VALUE_MAX];
	uint32_t id;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(u64_files) / sizeof(u64_files[0]); i++) {
		ret = read_u64(dfd, u64_files[i].file,
			       (uint64_t *)((char *)st + u64_files[i].offset));
		if (ret)
			return ret;
	}
	ret = read_value(dfd, "dev", buf, sizeof(buf));
	if (ret >= 0)
		ret = parse_dev(buf, &st->dev_major, &st->dev_minor);
	if (ret && ret != -ENOENT)
		return ret;
	ret = read_str(dfd, "uuid", st->uuid, sizeof(st->uuid));
	if (!ret)
		ret = read_str(dfd, "label", st->label, sizeof(st->label));
	if (ret)
		return ret;
	/*
	 * Still there with the same id: every file above was this store's.
	 * Gone: it was detached while we read.
	 */
	ret = read_id(dfd, &id);
	if (!ret && id != st->id)
		ret = -ENOENT;
	return ret;
}

int capstore_store_status(uint32_t store_id,
			  struct capstore_store_status *status)
{
	struct capstore_store_status st;
	int saved = errno, dfd, ret;

	if (!status)
		return -EINVAL;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	st.id = store_id;
	st.block_size = CAPSTORE_BLOCK_SIZE;
	dfd = open_store_dir(store_id, st.name, sizeof(st.name));
	if (dfd < 0) {
		errno = saved;
		return dfd;
	}
	ret = fill_status(dfd, &st);
	close(dfd);
	errno = saved;
	if (ret)
		return ret;
	memcpy(status, &st, sizeof(st));
	return 0;
}
