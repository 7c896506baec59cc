/* SPDX-License-Identifier: LGPL-2.1 OR MIT */
/*
 * libcapstore-uring.h - capstore commands and segment I/O through io_uring
 *
 * Prepare helpers in the style of liburing's io_uring_prep_*(): each fills
 * one submission queue entry of the program's own ring, which the program
 * then submits and reaps with liburing as it likes, in batches as large as
 * its ring. Nothing here keeps state, allocates or makes a system call;
 * every helper is a static inline function, so the library itself does not
 * depend on liburing and programs that do not use io_uring need neither
 * this header nor liburing. Build with
 *
 *	pkg-config --cflags --libs libcap-store-uring
 *
 * (libcap-store and liburing).
 *
 * A capability command (CAPSTORE_FETCH, ...) travels as IORING_OP_URING_CMD
 * on a capability fd: sqe->cmd_op is the ioctl number and the command area
 * of the entry holds a struct capstore_uring_cmd that points at the same
 * structure the ioctl takes (<linux/capstore.h>, "Capability commands
 * through io_uring"). The helper fills that structure too (its size and
 * the arguments, the outputs zeroed); it is read by the kernel when the
 * command runs and written back on completion, so it must stay valid, and
 * unchanged, until the completion arrives. The completion's res is what
 * the ioctl would return: the new fd for the commands that make a
 * capability (create, fetch, restrict, revoke, forward), else 0, or
 * -errno. Any ring will do; the 64-byte entries of a ring set up without
 * IORING_SETUP_SQE128 have room for the command.
 *
 * Registered files: to issue on a registered file, pass its index as the
 * fd and set IOSQE_FIXED_FILE in sqe->flags after the helper (which, like
 * every liburing prep helper, clears the entry's flags). Other fds inside
 * a command's structure (the capability to store, a forwarder's node) are
 * always ordinary file descriptors. sqe->user_data is left to the caller,
 * as in liburing (io_uring_sqe_set_data()).
 */
#ifndef LIBCAPSTORE_URING_H
#define LIBCAPSTORE_URING_H

#include <stdint.h>
#include <string.h>
#include <liburing.h>
#include <libcapstore.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * capstore_prep_cmd() - prepare a capability command
 * @sqe: the submission queue entry
 * @fd: the capability (or, with IOSQE_FIXED_FILE, its registered index)
 * @cmd_op: the ioctl number, CAPSTORE_FETCH say
 * @arg: the command's structure, filled and with its size set; valid until
 *	the completion arrives
 *
 * Every other capstore_prep_*() command helper fills its structure and
 * comes here.
 */
static inline void capstore_prep_cmd(struct io_uring_sqe *sqe, int fd,
				     unsigned int cmd_op, void *arg)
{
	struct capstore_uring_cmd *cmd;

	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = cmd_op;
	/* the 16 bytes of a 64-byte entry's command area */
	cmd = (struct capstore_uring_cmd *)(void *)sqe->cmd;
	cmd->arg = (uint64_t)(uintptr_t)arg;
	cmd->__reserved = 0;
}

/**
 * capstore_prep_info() - prepare capstore_cap_info() through the ring
 * @sqe: the submission queue entry
 * @fd: the capability
 * @arg: receives the description; valid until the completion arrives
 */
static inline void capstore_prep_info(struct io_uring_sqe *sqe, int fd,
				      struct capstore_cap_info *arg)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	capstore_prep_cmd(sqe, fd, CAPSTORE_CAP_INFO, arg);
}

/**
 * capstore_prep_restrict() - prepare capstore_cap_restrict() through the ring
 * @sqe: the submission queue entry
 * @fd: the capability
 * @arg: the command's structure; valid until the completion arrives
 * @rights: CAPSTORE_RIGHT_* bits of the new capability
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * The completion's res is the new capability, also in @arg->out_fd.
 */
static inline void capstore_prep_restrict(struct io_uring_sqe *sqe, int fd,
					  struct capstore_restrict *arg,
					  unsigned int rights,
					  unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->rights = rights;
	arg->out_fd = -1;
	capstore_prep_cmd(sqe, fd, CAPSTORE_RESTRICT, arg);
}

/**
 * capstore_prep_create() - prepare capstore_node_create() through the ring
 * @sqe: the submission queue entry
 * @node_fd: the node
 * @arg: the command's structure; valid until the completion arrives
 * @slot: the empty slot that receives the new object's capability
 * @kind: CAPSTORE_KIND_SEGMENT or CAPSTORE_KIND_NODE
 * @seg_size: a segment's size in bytes; 0 for a node
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * The completion's res is the new capability, also in @arg->out_fd.
 */
static inline void capstore_prep_create(struct io_uring_sqe *sqe,
					int node_fd,
					struct capstore_create *arg,
					unsigned int slot, unsigned int kind,
					uint64_t seg_size, unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->kind = kind;
	arg->slot = slot;
	arg->seg_size = seg_size;
	arg->out_fd = -1;
	capstore_prep_cmd(sqe, node_fd, CAPSTORE_CREATE, arg);
}

/**
 * capstore_prep_fetch() - prepare capstore_node_fetch() through the ring
 * @sqe: the submission queue entry
 * @node_fd: the node
 * @arg: the command's structure; valid until the completion arrives
 * @slot: the slot
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * The completion's res is the capability, also in @arg->out_fd; its kind
 * and rights arrive in @arg->out_kind and @arg->out_rights.
 */
static inline void capstore_prep_fetch(struct io_uring_sqe *sqe, int node_fd,
				       struct capstore_fetch *arg,
				       unsigned int slot, unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->slot = slot;
	arg->out_fd = -1;
	capstore_prep_cmd(sqe, node_fd, CAPSTORE_FETCH, arg);
}

/**
 * capstore_prep_store() - prepare capstore_node_store() through the ring
 * @sqe: the submission queue entry
 * @node_fd: the node
 * @arg: the command's structure; valid until the completion arrives
 * @slot: the slot, overwritten if occupied
 * @cap_fd: the capability to store: an ordinary fd, never a registered
 *	index
 * @flags: must be 0
 */
static inline void capstore_prep_store(struct io_uring_sqe *sqe, int node_fd,
				       struct capstore_store *arg,
				       unsigned int slot, int cap_fd,
				       unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->slot = slot;
	arg->fd = cap_fd;
	capstore_prep_cmd(sqe, node_fd, CAPSTORE_STORE, arg);
}

/**
 * capstore_prep_clear() - prepare capstore_node_clear() through the ring
 * @sqe: the submission queue entry
 * @node_fd: the node
 * @arg: the command's structure; valid until the completion arrives
 * @slot: the slot
 * @flags: must be 0
 */
static inline void capstore_prep_clear(struct io_uring_sqe *sqe, int node_fd,
				       struct capstore_clear *arg,
				       unsigned int slot, unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->slot = slot;
	capstore_prep_cmd(sqe, node_fd, CAPSTORE_CLEAR, arg);
}

/**
 * capstore_prep_destroy() - prepare capstore_cap_destroy() through the ring
 * @sqe: the submission queue entry
 * @fd: the capability
 * @arg: the command's structure; valid until the completion arrives
 * @flags: must be 0
 */
static inline void capstore_prep_destroy(struct io_uring_sqe *sqe, int fd,
					 struct capstore_destroy *arg,
					 unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	capstore_prep_cmd(sqe, fd, CAPSTORE_DESTROY, arg);
}

/**
 * capstore_prep_revoke() - prepare capstore_cap_revoke() through the ring
 * @sqe: the submission queue entry
 * @fd: the capability
 * @arg: the command's structure; valid until the completion arrives
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * The completion's res is the fresh capability, also in @arg->out_fd.
 */
static inline void capstore_prep_revoke(struct io_uring_sqe *sqe, int fd,
					struct capstore_revoke *arg,
					unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->out_fd = -1;
	capstore_prep_cmd(sqe, fd, CAPSTORE_REVOKE, arg);
}

/**
 * capstore_prep_forward() - prepare capstore_cap_forward() through the ring
 * @sqe: the submission queue entry
 * @fd: the capability to delegate
 * @arg: the command's structure; valid until the completion arrives
 * @node_fd: the node whose slot receives the forwarder's control
 *	capability: an ordinary fd, never a registered index
 * @slot: an empty slot of that node
 * @rights: the rights of the delegated capability
 * @flags: 0 (close-on-exec) or CAPSTORE_FD_KEEP_EXEC
 *
 * The completion's res is the delegated capability, also in @arg->out_fd.
 */
static inline void capstore_prep_forward(struct io_uring_sqe *sqe, int fd,
					 struct capstore_forward *arg,
					 int node_fd, unsigned int slot,
					 unsigned int rights,
					 unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	arg->node_fd = node_fd;
	arg->slot = slot;
	arg->rights = rights;
	arg->out_fd = -1;
	capstore_prep_cmd(sqe, fd, CAPSTORE_FORWARD, arg);
}

/**
 * capstore_prep_checkpoint() - prepare capstore_cap_checkpoint() through
 *	the ring
 * @sqe: the submission queue entry
 * @fd: any live capability of the store
 * @arg: the command's structure; valid until the completion arrives
 * @flags: must be 0
 *
 * Completes once the checkpoint is committed; its sequence number arrives
 * in @arg->out_seq.
 */
static inline void capstore_prep_checkpoint(struct io_uring_sqe *sqe, int fd,
					    struct capstore_checkpoint *arg,
					    unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	capstore_prep_cmd(sqe, fd, CAPSTORE_CHECKPOINT, arg);
}

/**
 * capstore_prep_section_begin() - prepare capstore_section_begin() through
 *	the ring
 * @sqe: the submission queue entry
 * @fd: any live capability of the store; the section belongs to it
 * @arg: the command's structure; valid until the completion arrives
 * @flags: must be 0
 */
static inline void capstore_prep_section_begin(struct io_uring_sqe *sqe,
					       int fd,
					       struct capstore_section *arg,
					       unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	capstore_prep_cmd(sqe, fd, CAPSTORE_SECTION_BEGIN, arg);
}

/**
 * capstore_prep_section_end() - prepare capstore_section_end() through the
 *	ring
 * @sqe: the submission queue entry
 * @fd: the capability the section was opened on
 * @arg: the command's structure; valid until the completion arrives
 * @flags: must be 0
 */
static inline void capstore_prep_section_end(struct io_uring_sqe *sqe,
					     int fd,
					     struct capstore_section *arg,
					     unsigned int flags)
{
	memset(arg, 0, sizeof(*arg));
	arg->size = sizeof(*arg);
	arg->flags = flags;
	capstore_prep_cmd(sqe, fd, CAPSTORE_SECTION_END, arg);
}

/**
 * capstore_prep_read() - prepare a read from a segment
 * @sqe: the submission queue entry
 * @fd: the segment (needs READ)
 * @buf: where the data goes
 * @nbytes: bytes to read
 * @offset: where to read from in the segment
 *
 * io_uring_prep_read(): cached pages are read without blocking, others
 * asynchronously. The completion's res is the byte count (short at the
 * end of the segment) or -errno.
 */
static inline void capstore_prep_read(struct io_uring_sqe *sqe, int fd,
				      void *buf, unsigned int nbytes,
				      uint64_t offset)
{
	io_uring_prep_read(sqe, fd, buf, nbytes, offset);
}

/**
 * capstore_prep_write() - prepare a write to a segment
 * @sqe: the submission queue entry
 * @fd: the segment (needs WRITE)
 * @buf: the data
 * @nbytes: bytes to write
 * @offset: where to write in the segment
 *
 * io_uring_prep_write(). The completion's res is the byte count or
 * -errno (-EFBIG past the end of the segment). The write is durable once
 * a later capstore_prep_sync() completes.
 */
static inline void capstore_prep_write(struct io_uring_sqe *sqe, int fd,
				       const void *buf, unsigned int nbytes,
				       uint64_t offset)
{
	io_uring_prep_write(sqe, fd, buf, nbytes, offset);
}

/**
 * capstore_prep_sync() - prepare a durability wait
 * @sqe: the submission queue entry
 * @fd: any live capability of the store
 * @fsync_flags: 0 or IORING_FSYNC_DATASYNC (the same: a checkpoint holds
 *	everything)
 *
 * io_uring_prep_fsync(): completes once a committed checkpoint holds every
 * write completed before it was issued, through any capability or mapping
 * of the store; concurrent waits share one checkpoint. It is not ordered
 * after other entries of the same submission: link them (IOSQE_IO_LINK)
 * or wait for their completions first.
 */
static inline void capstore_prep_sync(struct io_uring_sqe *sqe, int fd,
				      unsigned int fsync_flags)
{
	io_uring_prep_fsync(sqe, fd, fsync_flags);
}

#ifdef __cplusplus
}
#endif

#endif /* LIBCAPSTORE_URING_H */
