/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libcapstore.h - the public interface of libcap-store
 *
 * libcap-store is a thin C interface to capstore, the persistent
 * single-level store: each call wraps one command of <linux/capstore.h>
 * (or one system call on a capability file descriptor) and adds nothing
 * the kernel does not already check. The overview is capstore(7); every
 * function has its own manual page.
 *
 * Conventions:
 *
 * - Names are capstore_<noun>_<verb>. The noun is what the call acts on:
 *     control   the control device, CAPSTORE_CONTROL_DEVICE
 *     store     a store, named by its id, through the control device
 *               (its status, through sysfs)
 *     root      the root node of a store
 *     cap       any capability file descriptor
 *     node      a node capability
 *     segment   a segment capability, or a mapping of one
 *     version   this library
 *   A variant adds a suffix to the name it varies: capstore_node_fetch_info().
 * - Capabilities are file descriptors. A call that makes one (open, create,
 *   fetch, restrict) returns it, a number >= 0, and takes flags that may
 *   hold CAPSTORE_FD_KEEP_EXEC. Every fd made is close-on-exec unless the
 *   call is given that flag (CAPSTORE_FD_CLOEXEC is accepted and changes
 *   nothing). Other calls return 0, or a byte count.
 * - On failure every call returns a negative errno value, -ENOENT say; the
 *   table in <linux/capstore.h> says what each one means, and this header
 *   includes <errno.h> to name them. errno itself is left as it was.
 * - A call whose command carries flags takes them as an argument, so that
 *   flags a later kernel adds need no new function; the kernel refuses
 *   flags it does not know with -EINVAL.
 * - The library keeps no state, prints nothing and is thread-safe. Each
 *   call is one system call, except the segment I/O helpers, which loop
 *   until the whole transfer is done, and capstore_store_status(), which
 *   reads the store's files in sysfs.
 */
#ifndef LIBCAPSTORE_H
#define LIBCAPSTORE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/capstore.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAPSTORE_VERSION_MAJOR	1
#define CAPSTORE_VERSION_MINOR	0

/**
 * CAPSTORE_VERSION_CHECK() - is the library compiled against at least this?
 * @major: the major version wanted
 * @minor: the minor version wanted
 *
 * True at compile time if the header is of version @major.@minor or later;
 * capstore_version_check() asks the same of the library linked at run time.
 */
#define CAPSTORE_VERSION_CHECK(major, minor)				\
	(CAPSTORE_VERSION_MAJOR > (major) ||				\
	 (CAPSTORE_VERSION_MAJOR == (major) &&				\
	  CAPSTORE_VERSION_MINOR >= (minor)))

/*
 * The control device: attach, detach and checkpoint stores, get their
 * root nodes. Everything here but capstore_control_open() needs
 * CAP_SYS_ADMIN.
 */

/**
 * capstore_control_open() - open the control device
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * Return: a file descriptor for CAPSTORE_CONTROL_DEVICE, or -errno:
 * -ENOENT if the device does not exist (the module is not loaded).
 */
int capstore_control_open(unsigned int flags);

/**
 * capstore_store_attach() - attach the store held on a block device
 * @control_fd: the control device
 * @bdev_fd: the block device, open for reading and writing
 * @flags: must be 0
 * @store_id: receives the id of the attached store
 *
 * Recovers the newest committed checkpoint of the store and makes it
 * available. The device is held until capstore_store_detach().
 *
 * Return: 0 or -errno.
 */
int capstore_store_attach(int control_fd, int bdev_fd, unsigned int flags,
			  uint32_t *store_id);

/**
 * capstore_store_detach() - take a final checkpoint and release a store
 * @control_fd: the control device
 * @store_id: the store
 * @flags: must be 0
 *
 * Return: 0 or -errno: -EBUSY while a capability of the store is open or
 * mapped.
 */
int capstore_store_detach(int control_fd, uint32_t store_id,
			  unsigned int flags);

/**
 * capstore_store_checkpoint() - checkpoint a store, through the control device
 * @control_fd: the control device
 * @store_id: the store
 * @flags: must be 0
 * @seq: if not NULL, receives the sequence number of the committed
 *	checkpoint that holds every change made before the call
 *
 * Return: 0 once the checkpoint is committed, or -errno.
 */
int capstore_store_checkpoint(int control_fd, uint32_t store_id,
			      unsigned int flags, uint64_t *seq);

/**
 * capstore_root_open() - get a capability to the root node of a store
 * @control_fd: the control device
 * @store_id: the store
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * The bootstrap: the only way to a capability that nobody handed over.
 *
 * Return: a node capability with every right, or -errno.
 */
int capstore_root_open(int control_fd, uint32_t store_id, unsigned int flags);

/**
 * CAPSTORE_STATUS_UNKNOWN - a figure of struct capstore_store_status that
 * the running module does not report
 */
#define CAPSTORE_STATUS_UNKNOWN		UINT64_MAX

/**
 * struct capstore_store_status - what capstore_store_status() reports
 * @size: set by the library: sizeof(struct capstore_store_status) of the
 *	library that filled it
 * @id: the store id
 * @dev_major: the block device the store is attached from, major number
 * @dev_minor: and minor number
 * @block_size: bytes per block, the unit of @blocks, @free_blocks and
 *	@blocks_written
 * @__reserved: 0
 * @name: the store's name, its block device's ("vda", "loop0"): the
 *	directory /sys/fs/capstore/@name/
 * @uuid: its uuid as text, "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
 * @label: its label, as given at format time
 * @blocks: size of the store
 * @free_blocks: free blocks, net of reservations and pinned blocks
 * @objects: live objects
 * @open_caps: open capability files
 * @shutdown: 1 once the store is shut down after a failed checkpoint, else 0
 * @interval_ms: setting: period of scheduled checkpoints, 0 = off
 * @dirty_limit_bytes: setting: a checkpoint is asked for once more than
 *	this is dirty; 0 = as soon as anything is
 * @section_timeout_ms: setting: how long a snapshot waits for sections
 * @seq: sequence number of the last committed checkpoint
 * @checkpoints: checkpoints committed since attach
 * @failed_checkpoints: checkpoints that failed since attach
 * @last_checkpoint_ns: duration of the last checkpoint, start to commit
 * @max_checkpoint_ns: the longest since attach
 * @last_stall_ns: how long the last snapshot held writers
 * @max_stall_ns: the longest since attach
 * @last_checkpoint_pages: pages the last snapshot claimed
 * @blocks_written: blocks written since attach, data and metadata
 * @dirty_bytes: bytes promised to dirty pages, for the next checkpoint
 * @sections_open: application sections open now
 * @sections_broken: sections a checkpoint cut through after the timeout
 *
 * The figures are those of /sys/fs/capstore/@name/ (Documentation/
 * checkpoints.rst), each read once: together they are not one atomic
 * snapshot. A figure the module does not report is CAPSTORE_STATUS_UNKNOWN,
 * a string it does not report is empty, an unknown device is 0:0.
 */
struct capstore_store_status {
	uint32_t size;
	uint32_t id;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t block_size;
	uint32_t __reserved;
	char name[32];
	char uuid[40];
	char label[40];
	uint64_t blocks;
	uint64_t free_blocks;
	uint64_t objects;
	uint64_t open_caps;
	uint64_t shutdown;
	uint64_t interval_ms;
	uint64_t dirty_limit_bytes;
	uint64_t section_timeout_ms;
	uint64_t seq;
	uint64_t checkpoints;
	uint64_t failed_checkpoints;
	uint64_t last_checkpoint_ns;
	uint64_t max_checkpoint_ns;
	uint64_t last_stall_ns;
	uint64_t max_stall_ns;
	uint64_t last_checkpoint_pages;
	uint64_t blocks_written;
	uint64_t dirty_bytes;
	uint64_t sections_open;
	uint64_t sections_broken;
};

/**
 * capstore_store_status() - the figures and settings of an attached store
 * @store_id: the store
 * @status: receives them
 *
 * Reads the store's directory in /sys/fs/capstore/, so it needs neither
 * the control device nor CAP_SYS_ADMIN. Should struct
 * capstore_store_status grow, a new symbol version will fill the new size
 * and this one will go on filling the old.
 *
 * Return: 0 or -errno: -ENOENT if no store with that id is attached (or
 * the module is not loaded), -EINVAL if @status is NULL, -EPROTO if a
 * figure in sysfs is not a number.
 */
int capstore_store_status(uint32_t store_id,
			  struct capstore_store_status *status);

/*
 * Any capability.
 */

/**
 * capstore_cap_info() - describe a capability
 * @fd: the capability
 * @info: receives kind, rights, object id, size and store id
 *
 * Should struct capstore_cap_info grow, a new symbol version will fill the
 * new size and this one will go on filling the old.
 *
 * Return: 0 or -errno.
 */
int capstore_cap_info(int fd, struct capstore_cap_info *info);

/**
 * capstore_cap_restrict() - derive a capability with fewer rights
 * @fd: the capability
 * @rights: CAPSTORE_RIGHT_* bits of the new capability, a subset of @fd's
 *	(CAPSTORE_RIGHT_WEAK may be added, never removed)
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * Return: the new capability, or -errno: -EPERM if @rights are not a
 * subset of @fd's.
 */
int capstore_cap_restrict(int fd, unsigned int rights, unsigned int flags);

/**
 * capstore_cap_close() - close a capability
 * @fd: the capability
 *
 * The same as close(2). The file descriptor is released even on failure.
 *
 * Return: 0 or -errno.
 */
int capstore_cap_close(int fd);

/**
 * capstore_cap_checkpoint() - checkpoint the store a capability belongs to
 * @fd: any live capability of the store
 * @flags: must be 0
 * @seq: if not NULL, receives the sequence number of the committed
 *	checkpoint that holds every change made before the call
 *
 * Return: 0 once the checkpoint is committed, or -errno.
 */
int capstore_cap_checkpoint(int fd, unsigned int flags, uint64_t *seq);

/**
 * capstore_cap_sync() - wait until earlier changes are durable
 * @fd: the capability
 *
 * Returns once a committed checkpoint holds every write made before the
 * call, through @fd or a mapping of it; concurrent callers share one
 * checkpoint. This is fsync(2) on @fd.
 *
 * Return: 0 or -errno.
 */
int capstore_cap_sync(int fd);

/**
 * capstore_cap_destroy() - destroy the object a capability designates
 * @fd: the capability; needs CAPSTORE_RIGHT_DESTROY
 * @flags: must be 0
 *
 * Every capability to the object, open or stored in a slot, is dead from
 * now on; pages mapped through them fault with SIGBUS; the object's space
 * is freed by the next checkpoint. The root node cannot be destroyed.
 *
 * Return: 0 or -errno: -EPERM for a missing right or the root node.
 */
int capstore_cap_destroy(int fd, unsigned int flags);

/**
 * capstore_cap_revoke() - revoke every capability to an object
 * @fd: the capability; needs CAPSTORE_RIGHT_DESTROY
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * Moves the object to a new generation: every capability to it, open or
 * stored, @fd included, is dead from now on; the data stays.
 *
 * Return: a fresh capability with the rights of @fd, or -errno.
 */
int capstore_cap_revoke(int fd, unsigned int flags);

/**
 * capstore_cap_forward() - delegate a capability so it can be taken back
 * @fd: the capability to delegate
 * @node_fd: a node (WRITE and GRANT, not weak) whose slot @slot receives
 *	the control capability of a new forwarder
 * @slot: an empty slot of that node
 * @rights: the rights of the delegated capability: a subset of those of
 *	@fd, without CAPSTORE_RIGHT_DESTROY
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * Makes a forwarder that holds @fd and returns a capability made through
 * it, to hand to someone else. Destroying or revoking the forwarder (fetch
 * its control capability from the slot) kills every capability made
 * through it, wherever it went, and nothing else.
 *
 * Return: the delegated capability, or -errno: -EPERM for rights @fd
 * lacks or DESTROY, -EEXIST if the slot is occupied, -ELOOP past four
 * forwarders in a row.
 */
int capstore_cap_forward(int fd, int node_fd, unsigned int slot,
			 unsigned int rights, unsigned int flags);

/**
 * capstore_section_begin() - open an application-consistent section
 * @fd: any live capability of the store
 * @flags: must be 0
 *
 * No checkpoint takes its snapshot while a section is open, for up to the
 * store's section_timeout_ms; sections nest and belong to @fd.
 *
 * Return: 0 or -errno.
 */
int capstore_section_begin(int fd, unsigned int flags);

/**
 * capstore_section_end() - close the innermost section opened on a capability
 * @fd: the capability the section was opened on
 * @flags: must be 0
 *
 * Return: 0; -ETIMEDOUT if a checkpoint did not wait for the outermost
 * section to close, so it may hold part of the update; -EINVAL if no
 * section is open on @fd.
 */
int capstore_section_end(int fd, unsigned int flags);

/*
 * Node capabilities: CAPSTORE_NODE_SLOTS slots that hold capabilities.
 */

/**
 * capstore_node_create() - create an object into a node slot
 * @node_fd: the node; needs WRITE and GRANT and must not be weak
 * @slot: the empty slot that receives a capability to the new object
 * @kind: CAPSTORE_KIND_SEGMENT or CAPSTORE_KIND_NODE
 * @seg_size: a segment's size in bytes, a multiple of the page size;
 *	0 for a node
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * Return: a capability with every right to the new object, or -errno:
 * -EEXIST if @slot is occupied.
 */
int capstore_node_create(int node_fd, unsigned int slot, unsigned int kind,
			 uint64_t seg_size, unsigned int flags);

/**
 * capstore_node_fetch() - get the capability held in a node slot
 * @node_fd: the node; needs READ and GRANT
 * @slot: the slot
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * Through a weak node the capability comes out weak and without WRITE
 * and DESTROY.
 *
 * Return: the capability, or -errno: -ENOENT if @slot is empty.
 */
int capstore_node_fetch(int node_fd, unsigned int slot, unsigned int flags);

/**
 * capstore_node_fetch_info() - capstore_node_fetch(), with kind and rights
 * @node_fd: the node; needs READ and GRANT
 * @slot: the slot
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 * @kind: if not NULL, receives the capability's CAPSTORE_KIND_*
 * @rights: if not NULL, receives its CAPSTORE_RIGHT_* bits
 *
 * Return: the capability, or -errno.
 */
int capstore_node_fetch_info(int node_fd, unsigned int slot,
			     unsigned int flags, unsigned int *kind,
			     unsigned int *rights);

/**
 * capstore_node_store() - store a capability into a node slot
 * @node_fd: the node; needs WRITE and GRANT and must not be weak
 * @slot: the slot, overwritten if occupied
 * @cap_fd: a live capability of the same store
 * @flags: must be 0
 *
 * The slot receives exactly the rights @cap_fd carries.
 *
 * Return: 0 or -errno.
 */
int capstore_node_store(int node_fd, unsigned int slot, int cap_fd,
			unsigned int flags);

/**
 * capstore_node_clear() - empty a node slot
 * @node_fd: the node; needs WRITE and GRANT and must not be weak
 * @slot: the slot
 * @flags: must be 0
 *
 * Return: 0 or -errno.
 */
int capstore_node_clear(int node_fd, unsigned int slot, unsigned int flags);

/*
 * Segment capabilities: pages of data, used as memory or as a file.
 */

/**
 * capstore_segment_map() - map a segment into memory
 * @fd: the segment; needs MAP, and WRITE for a writable mapping
 * @offset: where the mapping starts in the segment, page aligned
 * @length: bytes to map
 * @prot: PROT_READ, PROT_WRITE, PROT_EXEC bits, as for mmap(2)
 * @addrp: receives the address of the mapping
 *
 * The mapping is always shared (MAP_SHARED): stores to it are stores to
 * the segment, and the next checkpoint captures them.
 *
 * Return: 0 or -errno.
 */
int capstore_segment_map(int fd, uint64_t offset, size_t length, int prot,
			 void **addrp);

/**
 * capstore_segment_unmap() - remove a mapping made by capstore_segment_map()
 * @addr: the address capstore_segment_map() gave
 * @length: the length passed to it
 *
 * Return: 0 or -errno.
 */
int capstore_segment_unmap(void *addr, size_t length);

/**
 * capstore_segment_pread() - read from a segment, all of it
 * @fd: the segment; needs READ
 * @buf: where the data goes
 * @count: bytes to read
 * @offset: where to read from in the segment
 *
 * Unlike pread(2), goes on after a short read or EINTR until @count bytes
 * are read or the end of the segment is reached.
 *
 * Return: the bytes read, less than @count only at the end of the segment
 * or when an error stopped a transfer already under way; -errno if an
 * error stopped it before any byte.
 */
ssize_t capstore_segment_pread(int fd, void *buf, size_t count,
			       uint64_t offset);

/**
 * capstore_segment_pwrite() - write to a segment, all of it
 * @fd: the segment; needs WRITE
 * @buf: the data
 * @count: bytes to write
 * @offset: where to write in the segment
 *
 * Unlike pwrite(2), goes on after a short write or EINTR until @count
 * bytes are written.
 *
 * Return: the bytes written, less than @count only at the end of the
 * segment or when an error stopped a transfer already under way; -errno
 * if an error stopped it before any byte.
 */
ssize_t capstore_segment_pwrite(int fd, const void *buf, size_t count,
				uint64_t offset);

/**
 * capstore_segment_size() - the size of a segment
 * @fd: the segment
 * @size: receives its size in bytes
 *
 * Return: 0 or -errno: -ENOTTY if @fd is a capability of another kind.
 */
int capstore_segment_size(int fd, uint64_t *size);

/*
 * The library.
 */

/**
 * capstore_version_major() - major version of the library linked at run time
 *
 * Return: its major version; CAPSTORE_VERSION_MAJOR is the header's.
 */
int capstore_version_major(void);

/**
 * capstore_version_minor() - minor version of the library linked at run time
 *
 * Return: its minor version; CAPSTORE_VERSION_MINOR is the header's.
 */
int capstore_version_minor(void);

/**
 * capstore_version_check() - is the library linked at run time recent enough?
 * @major: the major version wanted
 * @minor: the minor version wanted
 *
 * Return: true if the library is of version @major.@minor or later.
 */
bool capstore_version_check(int major, int minor);

#ifdef __cplusplus
}
#endif

#endif /* LIBCAPSTORE_H */
