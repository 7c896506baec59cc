/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * The system calls libcap-store makes, each wrapped to return its result
 * or -errno and to leave errno as it found it. Every public function goes
 * through these and nothing else reaches libc's error reporting.
 */
#ifndef LIBCAPSTORE_SYSCALL_H
#define LIBCAPSTORE_SYSCALL_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

/* @ret if it is not negative, else -errno; errno gets back @saved. */
static inline long sys_ret(long ret, int saved)
{
	if (ret < 0)
		ret = -errno;
	errno = saved;
	return ret;
}

/* An offset as off_t, or -EOVERFLOW if it does not fit. */
static inline int sys_off(uint64_t offset, off_t *off)
{
	*off = (off_t)offset;
	if (*off < 0 || (uint64_t)*off != offset)
		return -EOVERFLOW;
	return 0;
}

/*
 * capstore_ioctl() - issue one capstore command
 *
 * @arg is the command's structure, its size field already set.
 */
static inline int capstore_ioctl(int fd, unsigned long cmd, void *arg)
{
	int saved = errno;

	return sys_ret(ioctl(fd, cmd, arg), saved);
}

static inline int sys_open(const char *path, int flags)
{
	int saved = errno;

	return sys_ret(open(path, flags), saved);
}

static inline int sys_close(int fd)
{
	int saved = errno;

	return sys_ret(close(fd), saved);
}

static inline int sys_fsync(int fd)
{
	int saved = errno;

	return sys_ret(fsync(fd), saved);
}

static inline ssize_t sys_pread(int fd, void *buf, size_t count,
				uint64_t offset)
{
	int saved = errno;
	off_t off;

	if (sys_off(offset, &off))
		return -EOVERFLOW;
	return sys_ret(pread(fd, buf, count, off), saved);
}

static inline ssize_t sys_pwrite(int fd, const void *buf, size_t count,
				 uint64_t offset)
{
	int saved = errno;
	off_t off;

	if (sys_off(offset, &off))
		return -EOVERFLOW;
	return sys_ret(pwrite(fd, buf, count, off), saved);
}

static inline int sys_mmap(size_t length, int prot, int flags, int fd,
			   uint64_t offset, void **addrp)
{
	int saved = errno;
	off_t off;
	void *addr;

	if (sys_off(offset, &off))
		return -EOVERFLOW;
	addr = mmap(NULL, length, prot, flags, fd, off);
	if (addr == MAP_FAILED)
		return sys_ret(-1, saved);
	*addrp = addr;
	return 0;
}

static inline int sys_munmap(void *addr, size_t length)
{
	int saved = errno;

	return sys_ret(munmap(addr, length), saved);
}

#endif /* LIBCAPSTORE_SYSCALL_H */
