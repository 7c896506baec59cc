/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * capstore: a persistent single-level store of capabilities.
 *
 * The one interface between userspace and the capstore module, shared by
 * the module, libcap-store, the tools and the tests.
 */
#ifndef _UAPI_LINUX_CAPSTORE_H
#define _UAPI_LINUX_CAPSTORE_H

#include <linux/types.h>
#include <linux/ioctl.h>

/** CAPSTORE_CONTROL_DEVICE - path of the control device */
#define CAPSTORE_CONTROL_DEVICE		"/dev/capstore"

#define CAPSTORE_TYPE			0xC5

/**
 * DOC: General ioctl format
 *
 * Stores are attached, detached and bootstrapped through ioctls on the
 * control device /dev/capstore. Everything else is done through ioctls on
 * capability file descriptors: each capability is an fd that designates one
 * object and carries a set of rights.
 *
 * Commands that make a capability return its new fd (also in out_fd);
 * the others return 0.
 *
 * Every ioctl takes a pointer to a structure whose first __u32 is its size,
 * so structures can grow: the kernel accepts any size from the end of the
 * last field of the first version up to a page, zero-fills what the caller
 * did not pass and refuses a larger structure whose unknown tail is not
 * zero. Fields named __reserved must be zero; fields named out_* are
 * written by the kernel. Flags unknown to the kernel are refused.
 *
 * Errors, the same for every command:
 *
 * - ENOTTY: unknown command, or a command not valid on this kind of fd
 * - EINVAL: size smaller than the first version, unknown flags, non-zero
 *   __reserved field, or a field out of range (slot index, kind, size)
 * - E2BIG: size larger than the kernel knows, with a non-zero tail
 * - EFAULT: a pointer the kernel cannot read or write
 * - EPERM: the capability lacks a right the command needs, or the caller
 *   lacks CAP_SYS_ADMIN for a control-device command that needs it
 * - EBADF: an fd argument is not open, or is not a capability
 * - EXDEV: an fd argument is a capability of another store
 * - EKEYREVOKED: the capability is dead: its object was destroyed or its
 *   generation was bumped (revoked)
 * - ENOENT: no store with that id, or an empty node slot
 * - EEXIST: the node slot is already occupied
 * - EBUSY: the device or store is in use
 * - ENOSPC: the store has no free space (a write fault that cannot be
 *   backed gets SIGBUS)
 * - ETIMEDOUT: a checkpoint cut through an application section
 * - EUCLEAN, EBADMSG: the store's metadata is corrupt (bad field, bad
 *   checksum); the kernel log says where
 * - EOPNOTSUPP: the store uses a format version or feature this module
 *   does not support
 * - ENOMEM: out of memory
 * - EIO: the device failed, or the store is shut down after a failed
 *   checkpoint (Documentation/checkpoints.rst)
 *
 * A command that fails changes nothing (a checkpoint that fails may shut
 * the store down: Documentation/checkpoints.rst, "After a failed
 * checkpoint"), but for EFAULT writing the out_* fields back: the command
 * took effect, and a capability it made is closed. CAPSTORE_REVOKE is the
 * exception: it writes its structure back (out_fd, the fd it is about to
 * install) before it revokes, so for it EFAULT means nothing was revoked
 * and the caller's capability still works; out_fd is meaningful only if
 * the call succeeds.
 */

/**
 * enum capstore_kind - kinds of object
 * @CAPSTORE_KIND_SEGMENT: pages of data, mappable and readable/writable
 * @CAPSTORE_KIND_NODE: CAPSTORE_NODE_SLOTS slots that hold capabilities
 * @CAPSTORE_KIND_FORWARDER: a revocable forwarder (CAPSTORE_FORWARD); a
 *	capability to it controls it, capabilities made through it act as
 *	the capability it forwards to
 */
enum capstore_kind {
	CAPSTORE_KIND_SEGMENT = 1,
	CAPSTORE_KIND_NODE = 2,
	CAPSTORE_KIND_FORWARDER = 3,
};

/** CAPSTORE_NODE_SLOTS - number of capability slots in a node */
#define CAPSTORE_NODE_SLOTS		32

/**
 * DOC: Rights
 *
 * A capability carries rights; a derived capability never has more.
 *
 * - CAPSTORE_RIGHT_READ: read a segment's data; fetch a node's slots
 * - CAPSTORE_RIGHT_WRITE: write a segment's data; store into and clear a
 *   node's slots, create objects into them
 * - CAPSTORE_RIGHT_MAP: mmap a segment (writable mappings also need WRITE)
 * - CAPSTORE_RIGHT_GRANT: use a node's slots to pass capabilities on
 *   (fetch, store, create)
 * - CAPSTORE_RIGHT_DESTROY: destroy the object or revoke its capabilities
 * - CAPSTORE_RIGHT_WEAK: an attribute, not a right: through a weak node
 *   capability nothing can be stored, and every capability fetched comes
 *   out weak and without WRITE and DESTROY (the EROS "weak" key).
 *
 * The WEAK bit restricts, so a derived capability may gain it but never
 * lose it.
 */
#define CAPSTORE_RIGHT_READ		(1U << 0)
#define CAPSTORE_RIGHT_WRITE		(1U << 1)
#define CAPSTORE_RIGHT_MAP		(1U << 2)
#define CAPSTORE_RIGHT_GRANT		(1U << 3)
#define CAPSTORE_RIGHT_DESTROY		(1U << 4)
#define CAPSTORE_RIGHT_WEAK		(1U << 8)

#define CAPSTORE_RIGHTS_ALL		(CAPSTORE_RIGHT_READ | \
					 CAPSTORE_RIGHT_WRITE | \
					 CAPSTORE_RIGHT_MAP | \
					 CAPSTORE_RIGHT_GRANT | \
					 CAPSTORE_RIGHT_DESTROY)
#define CAPSTORE_RIGHTS_MASK		(CAPSTORE_RIGHTS_ALL | \
					 CAPSTORE_RIGHT_WEAK)

/**
 * DOC: New file descriptors and exec
 *
 * Every file descriptor the module makes (by the commands that make one:
 * CAPSTORE_ROOT, CAPSTORE_CREATE, CAPSTORE_FETCH, CAPSTORE_RESTRICT,
 * CAPSTORE_REVOKE, CAPSTORE_FORWARD, by ioctl or io_uring) is
 * close-on-exec, as pidfd_open(), io_uring_setup() and fsopen() make
 * theirs: a capability is authority, and a program that execs a helper
 * must hand it over on purpose. The flags field of those commands takes:
 *
 * - CAPSTORE_FD_KEEP_EXEC: the new fd stays open across execve(2) (it is
 *   made without FD_CLOEXEC); fcntl(F_SETFD) can change that later, as for
 *   any fd;
 * - CAPSTORE_FD_CLOEXEC: the default, accepted for compatibility with
 *   programs written when it was not; it changes nothing.
 *
 * Both together: EINVAL.
 */

/** CAPSTORE_FD_CLOEXEC - flag: close-on-exec, the default (no effect) */
#define CAPSTORE_FD_CLOEXEC		(1U << 0)
/** CAPSTORE_FD_KEEP_EXEC - flag: the new fd stays open across execve() */
#define CAPSTORE_FD_KEEP_EXEC		(1U << 1)

enum {
	CAPSTORE_CMD_BASE = 0x80,
	/* control device */
	CAPSTORE_CMD_ATTACH = CAPSTORE_CMD_BASE,
	CAPSTORE_CMD_DETACH = 0x81,
	CAPSTORE_CMD_ROOT = 0x82,
	CAPSTORE_CMD_CHECKPOINT = 0x83,
	/* capability fds */
	CAPSTORE_CMD_CAP_INFO = 0xa0,
	CAPSTORE_CMD_RESTRICT = 0xa1,
	CAPSTORE_CMD_CREATE = 0xa2,
	CAPSTORE_CMD_FETCH = 0xa3,
	CAPSTORE_CMD_STORE = 0xa4,
	CAPSTORE_CMD_CLEAR = 0xa5,
	CAPSTORE_CMD_DESTROY = 0xa6,
	CAPSTORE_CMD_REVOKE = 0xa7,
	CAPSTORE_CMD_SECTION_BEGIN = 0xa8,
	CAPSTORE_CMD_SECTION_END = 0xa9,
	CAPSTORE_CMD_FORWARD = 0xaa,
};

/**
 * struct capstore_attach - ioctl(CAPSTORE_ATTACH)
 * @size: sizeof(struct capstore_attach)
 * @flags: must be 0
 * @bdev_fd: an fd open for reading and writing on the block device
 * @out_store_id: the id of the attached store
 *
 * Validates the store on the device, recovers its newest committed
 * checkpoint and makes it available. The device is held exclusively until
 * detach. Needs CAP_SYS_ADMIN. A device that holds no capstore store gives
 * EINVAL, a damaged one EBADMSG or EUCLEAN, a device already attached EBUSY,
 * one whose superblock or any header slot cannot be read EIO (that slot may
 * hold the newest checkpoint).
 */
struct capstore_attach {
	__u32 size;
	__u32 flags;
	__s32 bdev_fd;
	__u32 out_store_id;
};
#define CAPSTORE_ATTACH		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_ATTACH)

/**
 * struct capstore_detach - ioctl(CAPSTORE_DETACH)
 * @size: sizeof(struct capstore_detach)
 * @flags: must be 0
 * @store_id: the store
 * @__reserved: must be 0
 *
 * Takes a final checkpoint and releases the device. Fails with EBUSY while
 * any capability of the store is open or mapped. Needs CAP_SYS_ADMIN.
 */
struct capstore_detach {
	__u32 size;
	__u32 flags;
	__u32 store_id;
	__u32 __reserved;
};
#define CAPSTORE_DETACH		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_DETACH)

/**
 * struct capstore_root - ioctl(CAPSTORE_ROOT)
 * @size: sizeof(struct capstore_root)
 * @flags: CAPSTORE_FD_KEEP_EXEC, or 0: the new fd is close-on-exec
 *	(CAPSTORE_FD_CLOEXEC, accepted, is the default)
 * @store_id: the store
 * @out_fd: a capability with every right to the store's root node
 *
 * The bootstrap: the only way to a capability that was not handed over.
 * Needs CAP_SYS_ADMIN.
 */
struct capstore_root {
	__u32 size;
	__u32 flags;
	__u32 store_id;
	__s32 out_fd;
};
#define CAPSTORE_ROOT		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_ROOT)

/**
 * struct capstore_checkpoint - ioctl(CAPSTORE_CHECKPOINT)
 * @size: sizeof(struct capstore_checkpoint)
 * @flags: must be 0
 * @store_id: the store (control device only; ignored on a capability)
 * @__reserved: must be 0
 * @out_seq: sequence number of the committed checkpoint that holds every
 *	change made before the call
 *
 * Takes a checkpoint of the whole store and returns once it is committed.
 * On the control device it needs CAP_SYS_ADMIN; on a capability fd any
 * live capability of the store will do.
 */
struct capstore_checkpoint {
	__u32 size;
	__u32 flags;
	__u32 store_id;
	__u32 __reserved;
	__aligned_u64 out_seq;
};
#define CAPSTORE_CHECKPOINT	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_CHECKPOINT)

/**
 * struct capstore_cap_info - ioctl(CAPSTORE_CAP_INFO)
 * @size: sizeof(struct capstore_cap_info)
 * @flags: must be 0
 * @out_kind: enum capstore_kind
 * @out_rights: CAPSTORE_RIGHT_* bits of this capability
 * @out_oid: the object's id (for display; ids are not authority)
 * @out_size: segment size in bytes; for a node, CAPSTORE_NODE_SLOTS
 * @out_store_id: the store
 * @out_flags: CAPSTORE_CAP_FORWARDED if the capability was made through a
 *	forwarder (the other fields describe the object it acts on); must
 *	be 0 on input
 */
struct capstore_cap_info {
	__u32 size;
	__u32 flags;
	__u32 out_kind;
	__u32 out_rights;
	__aligned_u64 out_oid;
	__aligned_u64 out_size;
	__u32 out_store_id;
	__u32 out_flags;
};

/** CAPSTORE_CAP_FORWARDED - out_flags: made through a forwarder */
#define CAPSTORE_CAP_FORWARDED		(1U << 0)
#define CAPSTORE_CAP_INFO	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_CAP_INFO)

/**
 * struct capstore_restrict - ioctl(CAPSTORE_RESTRICT)
 * @size: sizeof(struct capstore_restrict)
 * @flags: CAPSTORE_FD_KEEP_EXEC, or 0: the new fd is close-on-exec
 *	(CAPSTORE_FD_CLOEXEC, accepted, is the default)
 * @rights: the rights of the new capability; EPERM unless they are a
 *	subset of this capability's (CAPSTORE_RIGHT_WEAK may be added, not
 *	removed)
 * @out_fd: the new capability
 */
struct capstore_restrict {
	__u32 size;
	__u32 flags;
	__u32 rights;
	__s32 out_fd;
};
#define CAPSTORE_RESTRICT	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_RESTRICT)

/**
 * struct capstore_create - ioctl(CAPSTORE_CREATE), on a node capability
 * @size: sizeof(struct capstore_create)
 * @flags: CAPSTORE_FD_KEEP_EXEC, or 0: the new fd is close-on-exec
 *	(CAPSTORE_FD_CLOEXEC, accepted, is the default)
 * @kind: enum capstore_kind of the new object
 * @slot: the node slot that receives a capability to the new object;
 *	EEXIST if it is occupied
 * @seg_size: segment size in bytes, a multiple of the page size, at most
 *	2^44; must be 0 for a node
 * @out_fd: a capability with every right to the new object
 * @__reserved: must be 0
 *
 * Needs WRITE and GRANT on a node capability that is not weak. New objects
 * are always reachable from the node they were created into.
 */
struct capstore_create {
	__u32 size;
	__u32 flags;
	__u32 kind;
	__u32 slot;
	__aligned_u64 seg_size;
	__s32 out_fd;
	__u32 __reserved;
};
#define CAPSTORE_CREATE		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_CREATE)

/**
 * struct capstore_fetch - ioctl(CAPSTORE_FETCH), on a node capability
 * @size: sizeof(struct capstore_fetch)
 * @flags: CAPSTORE_FD_KEEP_EXEC, or 0: the new fd is close-on-exec
 *	(CAPSTORE_FD_CLOEXEC, accepted, is the default)
 * @slot: the slot to fetch
 * @out_fd: the capability held in the slot
 * @out_kind: its enum capstore_kind
 * @out_rights: its rights (weakened if fetched through a weak node)
 *
 * Needs READ and GRANT. An empty slot gives ENOENT, a dead capability in
 * the slot EKEYREVOKED.
 */
struct capstore_fetch {
	__u32 size;
	__u32 flags;
	__u32 slot;
	__s32 out_fd;
	__u32 out_kind;
	__u32 out_rights;
};
#define CAPSTORE_FETCH		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_FETCH)

/**
 * struct capstore_store - ioctl(CAPSTORE_STORE), on a node capability
 * @size: sizeof(struct capstore_store)
 * @flags: must be 0
 * @slot: the slot to overwrite
 * @fd: a live capability of the same store
 *
 * Needs WRITE and GRANT on a node capability that is not weak. The slot
 * receives exactly the rights @fd carries.
 */
struct capstore_store {
	__u32 size;
	__u32 flags;
	__u32 slot;
	__s32 fd;
};
#define CAPSTORE_STORE		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_STORE)

/**
 * struct capstore_clear - ioctl(CAPSTORE_CLEAR), on a node capability
 * @size: sizeof(struct capstore_clear)
 * @flags: must be 0
 * @slot: the slot to empty
 * @__reserved: must be 0
 *
 * Needs WRITE and GRANT on a node capability that is not weak.
 */
struct capstore_clear {
	__u32 size;
	__u32 flags;
	__u32 slot;
	__u32 __reserved;
};
#define CAPSTORE_CLEAR		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_CLEAR)

/**
 * struct capstore_destroy - ioctl(CAPSTORE_DESTROY)
 * @size: sizeof(struct capstore_destroy)
 * @flags: must be 0
 *
 * Destroys the object the capability designates. Every capability to it,
 * open or stored in a slot, is dead from now on (EKEYREVOKED); its pages
 * are unmapped from every process (a later access gets SIGBUS); its space
 * is freed by the next checkpoint. Capabilities a destroyed node held are
 * not affected, only no longer reachable through it. Needs DESTROY; the
 * root node cannot be destroyed (EPERM).
 */
struct capstore_destroy {
	__u32 size;
	__u32 flags;
};
#define CAPSTORE_DESTROY	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_DESTROY)

/**
 * struct capstore_revoke - ioctl(CAPSTORE_REVOKE)
 * @size: sizeof(struct capstore_revoke)
 * @flags: CAPSTORE_FD_KEEP_EXEC, or 0: the new fd is close-on-exec
 *	(CAPSTORE_FD_CLOEXEC, accepted, is the default)
 * @out_fd: a fresh capability to the object, with the caller's rights
 * @__reserved: must be 0
 *
 * Revokes every outstanding capability to the object, open or stored in a
 * slot, the caller's included, by moving the object to a new generation;
 * the data stays. Pages mapped through the old capabilities are unmapped.
 * Needs DESTROY. If the structure cannot be written back the call fails
 * with EFAULT before anything is revoked.
 */
struct capstore_revoke {
	__u32 size;
	__u32 flags;
	__s32 out_fd;
	__u32 __reserved;
};
#define CAPSTORE_REVOKE		_IO(CAPSTORE_TYPE, CAPSTORE_CMD_REVOKE)

/**
 * struct capstore_section - ioctl(CAPSTORE_SECTION_BEGIN, _END)
 * @size: sizeof(struct capstore_section)
 * @flags: must be 0
 *
 * Brackets an application-consistent update: while any section of a store
 * is open, its next checkpoint waits before taking its snapshot, so that no
 * checkpoint holds half of the update. The wait is bounded by the store's
 * section_timeout_ms (sysfs); past it the checkpoint goes ahead, and the
 * SECTION_END that closes the outermost section it cut through fails, once,
 * with ETIMEDOUT (inner ends of nested sections succeed).
 * Sections belong to the capability fd they were opened on and nest;
 * closing the fd ends its open sections. END without BEGIN: EINVAL.
 * Any live capability of the store will do.
 */
struct capstore_section {
	__u32 size;
	__u32 flags;
};
#define CAPSTORE_SECTION_BEGIN	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_SECTION_BEGIN)
#define CAPSTORE_SECTION_END	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_SECTION_END)

/**
 * struct capstore_forward - ioctl(CAPSTORE_FORWARD)
 * @size: sizeof(struct capstore_forward)
 * @flags: CAPSTORE_FD_KEEP_EXEC, or 0: the new fd is close-on-exec
 *	(CAPSTORE_FD_CLOEXEC, accepted, is the default)
 * @node_fd: a node capability (WRITE and GRANT, not weak) of the same
 *	store, whose slot @slot receives the forwarder's control capability
 * @slot: an empty slot of that node (EEXIST otherwise)
 * @rights: the rights of the forwarded capability, a subset of this
 *	capability's without DESTROY (EPERM otherwise)
 * @out_fd: the forwarded capability
 *
 * Selective revocation. Issued on the capability to delegate, it creates
 * a forwarder object that holds it, and returns a capability made through
 * the forwarder: it acts on the same object with @rights, and can be
 * restricted, passed and stored like any other. Destroying or revoking
 * the forwarder through its control capability (kind
 * CAPSTORE_KIND_FORWARDER, every right) kills every capability made
 * through it, open or stored, and unmaps what they mapped; nothing else is
 * affected. A capability made through a forwarder can be forwarded again,
 * up to a depth of 4 (ELOOP beyond). Capabilities fetched from a node
 * through a forwarded node capability are independent of the forwarder.
 */
struct capstore_forward {
	__u32 size;
	__u32 flags;
	__s32 node_fd;
	__u32 slot;
	__u32 rights;
	__s32 out_fd;
};
#define CAPSTORE_FORWARD	_IO(CAPSTORE_TYPE, CAPSTORE_CMD_FORWARD)

/**
 * DOC: Capability commands through io_uring
 *
 * Every capability command can be issued as IORING_OP_URING_CMD on the
 * capability fd, so that a program batches many in one submission:
 * sqe->cmd_op is the ioctl number (CAPSTORE_FETCH, ...), and the command
 * area of the SQE holds a struct capstore_uring_cmd whose @arg points at
 * the structure the ioctl takes. It must stay valid until the completion
 * arrives. The CQE's res is what the ioctl would return: the new fd for
 * commands that make a capability, 0 or -errno otherwise.
 */

/**
 * struct capstore_uring_cmd - the command area of an IORING_OP_URING_CMD
 * @arg: address of the command's structure, as for the ioctl
 * @__reserved: must be 0
 */
struct capstore_uring_cmd {
	__aligned_u64 arg;
	__aligned_u64 __reserved;
};

#endif /* _UAPI_LINUX_CAPSTORE_H */
