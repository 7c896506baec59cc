// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The online subcommands' shared parts: the control device, the stores in
 * sysfs, STORE arguments.
 */
#include "online.h"
#include "loop.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <libcapstore.h>

#define HINT_ROOT	"needs root (CAP_SYS_ADMIN)"
#define HINT_NOSTORE	"no such store is attached (see capstore status)"

const char *cs_hint(enum cs_op op, int err)
{
	if (err < 0)
		err = -err;
	if (err == EPERM || err == EACCES)
		return HINT_ROOT;
	switch (op) {
	case CS_OP_CONTROL:
		if (err == ENOENT || err == ENODEV || err == ENXIO)
			return "module not loaded (modprobe capstore)";
		break;
	case CS_OP_ATTACH:
		switch (err) {
		case EINVAL:
			return "not a capstore store (format it with capstore format)";
		case EBADMSG:
		case EUCLEAN:
			return "store damaged: run capstore fsck";
		case EOPNOTSUPP:
			return "store made by a newer capstore (this module does not support its format)";
		case EBUSY:
			return "already attached or in use";
		case EIO:
			return "the device failed";
		case ENOMEM:
			return "not enough memory to attach the store";
		}
		break;
	case CS_OP_DETACH:
		if (err == EBUSY)
			return "capabilities of the store are still open";
		if (err == ENOENT)
			return HINT_NOSTORE;
		break;
	case CS_OP_CHECKPOINT:
		if (err == ENOENT)
			return HINT_NOSTORE;
		if (err == EIO)
			return "the store is shut down or its device failed (detach it and attach it again)";
		if (err == ENOSPC)
			return "the store is full";
		break;
	case CS_OP_ROOT:
		if (err == ENOENT)
			return HINT_NOSTORE;
		break;
	case CS_OP_OTHER:
		break;
	}
	if (err == ENOTTY)
		return "the module does not know this command (is it older than this tool?)";
	return NULL;
}

void cs_explain(const struct cs_ctx *ctx, enum cs_op op, int err,
		const char *what)
{
	const char *hint = cs_hint(op, err);

	if (hint)
		cs_msg(ctx, "%s: %s: %s", what, strerror(err < 0 ? -err : err),
		       hint);
	else
		cs_msg_err(ctx, err, "%s", what);
}

int cs_control_open_explained(const struct cs_ctx *ctx)
{
	int fd = capstore_control_open(CAPSTORE_FD_CLOEXEC);

	if (fd < 0)
		cs_explain(ctx, CS_OP_CONTROL, fd, CAPSTORE_CONTROL_DEVICE);
	return fd;
}

int cs_sysfs_read(const struct cs_ctx *ctx, const char *rel, char *buf,
		  size_t len)
{
	char path[CS_PATH_LEN];
	ssize_t n;
	size_t got = 0;
	int fd, err = 0;

	if (!len)
		return -EINVAL;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", ctx->sysfs, rel) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		n = read(fd, buf + got, len - 1 - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		if (!n)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (err)
		return err;
	buf[got] = '\0';
	if (got && buf[got - 1] == '\n')
		buf[--got] = '\0';
	return (int)got;
}

int cs_store_attr(const struct cs_ctx *ctx, const char *store,
		  const char *attr, char *buf, size_t len)
{
	char rel[CS_PATH_LEN];

	if ((size_t)snprintf(rel, sizeof(rel), CS_SYSFS_STORES "/%s/%s",
			     store, attr) >= sizeof(rel))
		return -ENAMETOOLONG;
	return cs_sysfs_read(ctx, rel, buf, len);
}

int cs_store_attr_write(const struct cs_ctx *ctx, const char *store,
			const char *attr, const char *value)
{
	char path[CS_PATH_LEN];
	size_t len = strlen(value);
	ssize_t n;
	int fd, err = 0;

	if ((size_t)snprintf(path, sizeof(path), "%s/" CS_SYSFS_STORES "/%s/%s",
			     ctx->sysfs, store, attr) >= sizeof(path))
		return -ENAMETOOLONG;
	/* No O_CREAT: a missing file is a setting the module lacks. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do {
		n = write(fd, value, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		err = -errno;
	else if ((size_t)n != len)
		err = -EIO;
	if (close(fd) && !err)
		err = -errno;
	return err;
}

int cs_store_attr_u64(const struct cs_ctx *ctx, const char *store,
		      const char *attr, __u64 *val)
{
	char buf[64];
	int ret;

	ret = cs_store_attr(ctx, store, attr, buf, sizeof(buf));
	if (ret < 0)
		return ret;
	return cs_parse_u64(buf, val);
}

int cs_parse_devt(const char *s, unsigned int *major, unsigned int *minor)
{
	unsigned int ma, mi;
	char tail;

	if (!isdigit((unsigned char)*s) ||
	    sscanf(s, "%u:%u%c", &ma, &mi, &tail) != 2)
		return -EINVAL;
	*major = ma;
	*minor = mi;
	return 0;
}

int cs_module_check(const struct cs_ctx *ctx)
{
	char path[CS_PATH_LEN];
	struct stat st;

	snprintf(path, sizeof(path), "%s/" CS_SYSFS_STORES, ctx->sysfs);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	cs_msg(ctx, "%s: %s", path, cs_hint(CS_OP_CONTROL, ENOENT));
	return -ENOENT;
}

static int ref_cmp(const void *a, const void *b)
{
	const struct cs_store_ref *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return strcmp(x->name, y->name);
}

int cs_stores_list(const struct cs_ctx *ctx, struct cs_store_ref **refs,
		   size_t *n)
{
	struct cs_store_ref *v = NULL, *p;
	size_t cnt = 0, cap = 0;
	char path[CS_PATH_LEN], buf[64];
	struct dirent *de;
	__u64 id;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "%s/" CS_SYSFS_STORES, ctx->sysfs);
	d = opendir(path);
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) >= sizeof(v->name))
			continue;
		/* Not a store unless it has an id. */
		if (cs_store_attr_u64(ctx, de->d_name, "id", &id) ||
		    id > UINT32_MAX)
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 8;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
		}
		p = &v[cnt++];
		memset(p, 0, sizeof(*p));
		p->id = (__u32)id;
		strcpy(p->name, de->d_name);
		if (cs_store_attr(ctx, de->d_name, "dev", buf, sizeof(buf)) > 0 &&
		    !cs_parse_devt(buf, &p->major, &p->minor))
			p->has_dev = true;
	}
	if (!err && errno)
		err = -errno;
	closedir(d);
	if (err) {
		free(v);
		return err;
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), ref_cmp);
	*refs = v;
	*n = cnt;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

static const struct cs_store_ref *find_devt(const struct cs_store_ref *v,
					    size_t n, unsigned int major,
					    unsigned int minor)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].has_dev && v[i].major == major && v[i].minor == minor)
			return &v[i];
	return NULL;
}

/* An image file: through the loop devices that it backs. */
static int resolve_file(const struct cs_ctx *ctx, const char *arg,
			const struct cs_store_ref *v, size_t n,
			struct cs_store_ref *ref)
{
	const struct cs_store_ref *hit;
	struct cs_loop *loops = NULL;
	int nloops, i;

	nloops = cs_loop_find(ctx, arg, &loops);
	if (nloops < 0) {
		cs_msg_err(ctx, nloops, "%s: looking for its loop device", arg);
		return nloops;
	}
	for (i = 0; i < nloops; i++) {
		hit = find_devt(v, n, loops[i].major, loops[i].minor);
		if (hit) {
			*ref = *hit;
			free(loops);
			return 0;
		}
	}
	if (nloops)
		cs_msg(ctx, "%s: not attached (loop device /dev/%s is backed by it but holds no attached store)",
		       arg, loops[0].name);
	else
		cs_msg(ctx, "%s: not attached (no loop device is backed by it)",
		       arg);
	free(loops);
	return -ENOENT;
}

int cs_store_resolve(const struct cs_ctx *ctx, const char *arg,
		     struct cs_store_ref *ref)
{
	const struct cs_store_ref *hit = NULL;
	struct cs_store_ref *v = NULL;
	struct stat st;
	size_t n = 0, i;
	__u64 id;
	int ret;

	ret = cs_stores_list(ctx, &v, &n);
	if (ret == -ENOENT)
		return cs_module_check(ctx);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "%s/" CS_SYSFS_STORES, ctx->sysfs);
		return ret;
	}

	if (all_digits(arg)) {
		if (cs_parse_u64(arg, &id) || id > UINT32_MAX) {
			cs_msg(ctx, "%s: bad store id", arg);
			ret = -EINVAL;
			goto out;
		}
		for (i = 0; i < n && !hit; i++)
			if (v[i].id == id)
				hit = &v[i];
		if (!hit) {
			cs_msg(ctx, "no store with id %s is attached (see capstore status)",
			       arg);
			ret = -ENOENT;
			goto out;
		}
		goto found;
	}
	if (!strchr(arg, '/')) {
		for (i = 0; i < n && !hit; i++)
			if (!strcmp(v[i].name, arg))
				hit = &v[i];
		if (hit)
			goto found;
	}
	if (stat(arg, &st)) {
		ret = -errno;
		if (ret == -ENOENT)
			cs_msg(ctx, "%s: no such store, device or file", arg);
		else
			cs_msg_err(ctx, ret, "%s", arg);
		goto out;
	}
	if (S_ISBLK(st.st_mode)) {
		hit = find_devt(v, n, major(st.st_rdev), minor(st.st_rdev));
		if (!hit) {
			cs_msg(ctx, "%s: no store is attached on this device",
			       arg);
			ret = -ENOENT;
			goto out;
		}
		goto found;
	}
	if (S_ISREG(st.st_mode)) {
		ret = resolve_file(ctx, arg, v, n, ref);
		goto out;
	}
	cs_msg(ctx, "%s: not a store id, store name, block device or image file",
	       arg);
	ret = -EINVAL;
	goto out;
found:
	*ref = *hit;
	ret = 0;
out:
	free(v);
	return ret;
}

int cs_blockdev_name(const struct cs_ctx *ctx, unsigned int major,
		     unsigned int minor, char *name, size_t len)
{
	char rel[64], buf[CS_ATTR_LEN], link[CS_PATH_LEN], *line, *save;
	const char *base;
	ssize_t n;

	snprintf(rel, sizeof(rel), "dev/block/%u:%u/uevent", major, minor);
	if (cs_sysfs_read(ctx, rel, buf, sizeof(buf)) > 0) {
		for (line = strtok_r(buf, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (!strncmp(line, "DEVNAME=", 8) && line[8]) {
				if (strlen(line + 8) >= len)
					return -ENAMETOOLONG;
				strcpy(name, line + 8);
				return 0;
			}
		}
	}
	snprintf(link, sizeof(link), "%s/dev/block/%u:%u", ctx->sysfs, major,
		 minor);
	n = readlink(link, buf, sizeof(buf) - 1);
	if (n <= 0)
		return -ENOENT;
	buf[n] = '\0';
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(name, base);
	return 0;
}
