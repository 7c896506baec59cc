// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * Loop devices for stores kept in image files.
 */
#include "loop.h"
#include "online.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/loop.h>

#define LOOP_CONTROL		"/dev/loop-control"
#define LOOP_SETUP_TRIES	16	/* another program may take a free one */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = {
		.tv_sec = ms / 1000,
		.tv_nsec = (long)(ms % 1000) * 1000000L,
	};

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Open a loop device node, giving devtmpfs a moment to create it. */
static int open_loop_node(const char *dev)
{
	unsigned int waited = 0;
	int fd;

	for (;;) {
		fd = open(dev, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT || waited >= 1000)
			return -errno;
		sleep_ms(10);
		waited += 10;
	}
}

/* LOOP_SET_FD then LOOP_SET_STATUS64, for kernels before LOOP_CONFIGURE. */
static int loop_set_fd_status(int lfd, int file_fd,
			      const struct loop_info64 *info)
{
	struct loop_info64 copy = *info;
	int err;

	if (ioctl(lfd, LOOP_SET_FD, file_fd))
		return -errno;
	if (ioctl(lfd, LOOP_SET_STATUS64, &copy)) {
		err = -errno;
		ioctl(lfd, LOOP_CLR_FD, 0);
		return err;
	}
	return 0;
}

int cs_loop_setup(const struct cs_ctx *ctx, const char *file, char *dev,
		  size_t devlen)
{
	struct loop_config cfg;
	char *real;
	int file_fd, ctl = -1, lfd = -1, nr, err = 0, tries;

	file_fd = open(file, O_RDWR | O_CLOEXEC);
	if (file_fd < 0) {
		err = -errno;
		cs_msg_err(ctx, err, "%s", file);
		return err;
	}
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (__u32)file_fd;
	cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
	real = realpath(file, NULL);
	snprintf((char *)cfg.info.lo_file_name, sizeof(cfg.info.lo_file_name),
		 "%s", real ? real : file);
	free(real);

	ctl = open(LOOP_CONTROL, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		err = -errno;
		if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
			cs_msg(ctx, "%s: %s: %s: loop devices not available (modprobe loop)",
			       file, LOOP_CONTROL, strerror(-err));
		else
			cs_explain(ctx, CS_OP_OTHER, err, LOOP_CONTROL);
		goto out;
	}
	for (tries = 0; tries < LOOP_SETUP_TRIES; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			err = -errno;
			cs_msg_err(ctx, err, "%s: no free loop device", file);
			goto out;
		}
		snprintf(dev, devlen, "/dev/loop%d", nr);
		lfd = open_loop_node(dev);
		if (lfd < 0) {
			err = lfd;
			cs_msg_err(ctx, err, "%s", dev);
			goto out;
		}
		if (!ioctl(lfd, LOOP_CONFIGURE, &cfg))
			goto out;
		err = -errno;
		if (err == -EINVAL || err == -ENOTTY)
			err = loop_set_fd_status(lfd, file_fd, &cfg.info);
		if (!err)
			goto out;
		close(lfd);
		lfd = -1;
		if (err != -EBUSY) {
			cs_msg_err(ctx, err, "%s: setting up %s", file, dev);
			goto out;
		}
		/* Somebody took it between GET_FREE and now: next one. */
	}
	cs_msg_err(ctx, err, "%s: no free loop device after %d tries", file,
		   LOOP_SETUP_TRIES);
out:
	if (ctl >= 0)
		close(ctl);
	close(file_fd);	/* the loop device holds its own reference */
	return lfd >= 0 ? lfd : (err ? err : -EIO);
}

static int loop_attr(const struct cs_ctx *ctx, const char *name,
		     const char *attr, char *buf, size_t len)
{
	char rel[CS_PATH_LEN];

	snprintf(rel, sizeof(rel), "block/%s/%s", name, attr);
	return cs_sysfs_read(ctx, rel, buf, len);
}

int cs_loop_get(const struct cs_ctx *ctx, const char *name,
		struct cs_loop *loop)
{
	char buf[CS_PATH_LEN];
	int ret;

	if (strlen(name) >= sizeof(loop->name))
		return 0;
	/* loop/ exists only while the device is bound. */
	ret = loop_attr(ctx, name, "loop/backing_file", buf, sizeof(buf));
	if (ret <= 0)
		return 0;
	memset(loop, 0, sizeof(*loop));
	strcpy(loop->name, name);
	ret = loop_attr(ctx, name, "dev", buf, sizeof(buf));
	if (ret < 0)
		return ret;
	if (cs_parse_devt(buf, &loop->major, &loop->minor))
		return -EINVAL;
	ret = loop_attr(ctx, name, "loop/autoclear", buf, sizeof(buf));
	loop->autoclear = ret > 0 && buf[0] == '1';
	return 1;
}

/* Is @backing (as sysfs prints it) the file @st / @real? */
static bool same_file(const char *backing, const struct stat *st,
		      const char *real)
{
	struct stat bst;

	if (!stat(backing, &bst))
		return bst.st_dev == st->st_dev && bst.st_ino == st->st_ino;
	return real && !strcmp(backing, real);
}

int cs_loop_find(const struct cs_ctx *ctx, const char *file,
		 struct cs_loop **loops)
{
	char path[CS_PATH_LEN], backing[CS_PATH_LEN], *real;
	struct cs_loop *v = NULL, *p, one;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;
	int err = 0;

	if (stat(file, &st))
		return -errno;
	snprintf(path, sizeof(path), "%s/block", ctx->sysfs);
	d = opendir(path);
	if (!d) {
		/* No block devices at all: no loop device either. */
		*loops = NULL;
		return errno == ENOENT ? 0 : -errno;
	}
	real = realpath(file, NULL);
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "loop", 4) ||
		    cs_loop_get(ctx, de->d_name, &one) != 1)
			continue;
		if (loop_attr(ctx, de->d_name, "loop/backing_file", backing,
			      sizeof(backing)) <= 0 ||
		    !same_file(backing, &st, real))
			continue;
		if (cnt == cap) {
			cap = cap ? 2 * cap : 4;
			p = realloc(v, cap * sizeof(*v));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			v = p;
		}
		v[cnt++] = one;
	}
	closedir(d);
	free(real);
	if (err) {
		free(v);
		return err;
	}
	*loops = v;
	return (int)cnt;
}

/* Still bound? */
static bool loop_bound(const struct cs_ctx *ctx, const char *name)
{
	char buf[CS_PATH_LEN];

	return loop_attr(ctx, name, "loop/backing_file", buf, sizeof(buf)) > 0;
}

static bool wait_unbound(const struct cs_ctx *ctx, const char *name,
			 unsigned int timeout_ms)
{
	unsigned int waited = 0;

	while (loop_bound(ctx, name)) {
		if (waited >= timeout_ms)
			return false;
		sleep_ms(20);
		waited += 20;
	}
	return true;
}

int cs_loop_release(const struct cs_ctx *ctx, const struct cs_loop *loop,
		    unsigned int timeout_ms)
{
	char dev[CS_LOOP_NAME_LEN + 8];
	int fd;

	if (wait_unbound(ctx, loop->name, timeout_ms))
		return 0;
	snprintf(dev, sizeof(dev), "/dev/%s", loop->name);
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		/* With other openers this only sets autoclear again. */
		if (ioctl(fd, LOOP_CLR_FD, 0) && errno != ENXIO)
			cs_msg_err(ctx, errno, "%s: LOOP_CLR_FD", dev);
		close(fd);
	}
	if (wait_unbound(ctx, loop->name, timeout_ms))
		return 0;
	cs_msg(ctx, "%s: the loop device is still bound (still in use?); release it with losetup -d %s",
	       dev, dev);
	return -EBUSY;
}
