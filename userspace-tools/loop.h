/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * Loop devices for stores kept in image files: set one up for attach,
 * find the ones backed by a file, let go of one after detach.
 *
 * A loop device made by cs_loop_setup() has LO_FLAGS_AUTOCLEAR: the
 * kernel unbinds it when its last opener closes it. While a store is
 * attached the module holds it open, so it lives exactly as long as the
 * attachment (or until the tool closes it, if attach fails). Autoclear is
 * also how detach tells the loop devices the tool made from those somebody
 * set up with losetup, which it leaves alone.
 */
#ifndef CAPSTORE_TOOLS_LOOP_H
#define CAPSTORE_TOOLS_LOOP_H

#include <stdbool.h>
#include <stddef.h>

#include "capstore.h"

#define CS_LOOP_NAME_LEN	64

/**
 * struct cs_loop - a bound loop device
 * @name: "loop0"
 * @major: its device number
 * @minor: ...
 * @autoclear: it goes away when its last opener closes it
 */
struct cs_loop {
	char name[CS_LOOP_NAME_LEN];
	unsigned int major;
	unsigned int minor;
	bool autoclear;
};

/*
 * Bind a free loop device to @file (opened read-write), with autoclear.
 * Returns an fd open read-write on the loop device, its path in @dev; or
 * -errno, with the message printed.
 */
int cs_loop_setup(const struct cs_ctx *ctx, const char *file, char *dev,
		  size_t devlen);

/*
 * The bound loop devices whose backing file is @file (same device and
 * inode), in a new array (*@loops, free() it). Returns how many, or -errno.
 */
int cs_loop_find(const struct cs_ctx *ctx, const char *file,
		 struct cs_loop **loops);

/*
 * Fill @loop for block device @name if it is a bound loop device.
 * Returns 1 if it is, 0 if it is not a loop device or not bound, -errno.
 */
int cs_loop_get(const struct cs_ctx *ctx, const char *name,
		struct cs_loop *loop);

/*
 * After detach: wait up to @timeout_ms for autoclear to unbind @loop (the
 * module closes the device when its last reference goes, which may be a
 * little after detach returns), then unbind it with LOOP_CLR_FD. Returns 0
 * once it is unbound, -errno (printed) if not.
 */
int cs_loop_release(const struct cs_ctx *ctx, const struct cs_loop *loop,
		    unsigned int timeout_ms);

#endif /* CAPSTORE_TOOLS_LOOP_H */
