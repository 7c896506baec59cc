/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * What the online subcommands (attach, detach, checkpoint, status, set, ls)
 * share: the control device with its errors explained, the attached
 * stores as the module shows them in sysfs, and the resolution of a STORE
 * argument (an id, a store name, a block device or an image file) to one
 * of them.
 *
 * Functions return 0 (or a count, or an fd) or -errno. Those that take a
 * struct cs_ctx print their own message on failure, saying what failed and
 * what to do, so that the caller only has to turn the error into an exit
 * status.
 */
#ifndef CAPSTORE_TOOLS_ONLINE_H
#define CAPSTORE_TOOLS_ONLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <linux/types.h>

#include "capstore.h"

/* Where the module shows its stores, under the sysfs mount point. */
#define CS_SYSFS_STORES		"fs/capstore"

#define CS_NAME_LEN		256
#define CS_PATH_LEN		4096
#define CS_ATTR_LEN		4096	/* a sysfs file holds at most a page */

/**
 * struct cs_store_ref - an attached store, as sysfs shows it
 * @id: the store id
 * @name: its directory under <sysfs>/fs/capstore (the device's name)
 * @major: the block device it lives on
 * @minor: ...
 * @has_dev: @major and @minor are known
 */
struct cs_store_ref {
	__u32 id;
	char name[CS_NAME_LEN];
	unsigned int major;
	unsigned int minor;
	bool has_dev;
};

/* Operations whose errors cs_explain() knows about. */
enum cs_op {
	CS_OP_CONTROL,		/* opening the control device */
	CS_OP_ATTACH,
	CS_OP_DETACH,
	CS_OP_CHECKPOINT,
	CS_OP_ROOT,		/* getting the root node */
	CS_OP_OTHER,
};

/*
 * What to tell the user about @err from @op, or NULL for nothing more
 * than strerror(): "not a capstore store (format it with capstore
 * format)", ...
 */
const char *cs_hint(enum cs_op op, int err);

/* "capstore <sub>: <what>: <hint> (<strerror>)" or "<what>: <strerror>". */
void cs_explain(const struct cs_ctx *ctx, enum cs_op op, int err,
		const char *what);

/*
 * Open the control device (close-on-exec); on failure say why ("module
 * not loaded (modprobe capstore)", "needs root") and return -errno.
 */
int cs_control_open_explained(const struct cs_ctx *ctx);

/*
 * Read the sysfs file <ctx->sysfs>/<rel> into @buf (at most @len - 1
 * bytes, NUL-terminated, one trailing newline removed). Returns its
 * length or -errno.
 */
int cs_sysfs_read(const struct cs_ctx *ctx, const char *rel, char *buf,
		  size_t len);

/* cs_sysfs_read() of <sysfs>/fs/capstore/<store>/<attr>. */
int cs_store_attr(const struct cs_ctx *ctx, const char *store,
		  const char *attr, char *buf, size_t len);

/*
 * Write @value to <sysfs>/fs/capstore/<store>/<attr> in one write(2), as
 * sysfs wants it. Returns 0 or -errno (what the module's store method
 * returned: -EINVAL for a value it refuses).
 */
int cs_store_attr_write(const struct cs_ctx *ctx, const char *store,
			const char *attr, const char *value);

/* cs_store_attr(), parsed as an unsigned decimal number. */
int cs_store_attr_u64(const struct cs_ctx *ctx, const char *store,
		      const char *attr, __u64 *val);

/*
 * Is the module loaded (does <sysfs>/fs/capstore exist)? If not, says so
 * and returns -ENOENT.
 */
int cs_module_check(const struct cs_ctx *ctx);

/*
 * Every attached store, sorted by id, in a new array (*@refs, free() it).
 * -ENOENT if the module is not loaded (nothing printed).
 */
int cs_stores_list(const struct cs_ctx *ctx, struct cs_store_ref **refs,
		   size_t *n);

/*
 * The store that @arg names: a store id (decimal), a store name (as in
 * <sysfs>/fs/capstore), a block device, or an image file attached through
 * a loop device. Prints why on failure: -ENOENT when nothing attached
 * matches.
 */
int cs_store_resolve(const struct cs_ctx *ctx, const char *arg,
		     struct cs_store_ref *ref);

/*
 * The name of block device @major:@minor (from <sysfs>/dev/block/M:m/uevent
 * DEVNAME, else the sysfs link's name) into @name. -ENOENT if unknown.
 */
int cs_blockdev_name(const struct cs_ctx *ctx, unsigned int major,
		     unsigned int minor, char *name, size_t len);

/* "12:3" into @major, @minor. */
int cs_parse_devt(const char *s, unsigned int *major, unsigned int *minor);

#endif /* CAPSTORE_TOOLS_ONLINE_H */
