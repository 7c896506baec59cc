/* SPDX-License-Identifier: GPL-2.0 */
/*
 * capstore: internal definitions shared by the module's files.
 *
 * A store is a block device attached to the module. Its objects are inodes
 * of a private pseudo filesystem (one super_block per store), so their
 * pages live in the kernel's page cache. Capabilities are files opened on
 * those inodes; each carries its rights and the object generation it was
 * made for.
 *
 * Locking, outermost first:
 *
 *   cs_stores_lock           the table of attached stores (store.c)
 *   store->cp_mutex          one checkpoint at a time
 *   store->wb_sem            held shared by early writeback (->writepages);
 *                            a checkpoint holds it exclusive from before
 *                            its snapshot until it commits, so that only it
 *                            changes trees and the space map meanwhile
 *   store->wr_sys            held shared by syscall writers (write, slot
 *                            updates, create, destroy); a checkpoint holds
 *                            it exclusive while it takes its snapshot
 *   store->wr_fault          the same for write faults (page_mkwrite);
 *                            taken after wr_sys, as sb_start_write and
 *                            sb_start_pagefault are
 *   inode_lock               write(2) on a segment, destroy and revoke
 *   ci->revoke_sem           held shared by faults, exclusive by destroy
 *                            and revoke, so no fault maps a page through a
 *                            capability that is dying
 *   folio lock
 *   ci->tree_lock            a segment's or node's data tree
 *   store->otable.lock       the object table
 *   store->space.lock        (spinlock) the allocator's bitmaps
 *   store->dirty_lock        (spinlock) the list of objects to checkpoint
 *   store->section_lock      (spinlock) application sections
 */
#ifndef _CAPSTORE_INTERNAL_H
#define _CAPSTORE_INTERNAL_H

#include <linux/completion.h>
#include <linux/fs.h>
#include <linux/kobject.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/percpu-rwsem.h>
#include <linux/rwsem.h>
#include <linux/wait.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include <linux/capstore.h>
#include <capstore/format.h>
#include <capstore/verify.h>

#include "compat.h"

/*
 * An object's block is a page of its page cache, one for one: the module
 * builds only where pages are 4 KiB.
 */
static_assert(PAGE_SIZE == CAPSTORE_BLOCK_SIZE,
	      "capstore needs PAGE_SIZE == CAPSTORE_BLOCK_SIZE (4 KiB)");

#define CAPSTORE_FS_MAGIC	0x63617073	/* "caps" */

struct cs_store;
struct cs_wbatch;

/* --- tree.c: copy-on-write trees of block pointers, cached in memory --- */

/**
 * struct cs_tnode - an interior block of a tree, in memory
 * @ent: the block's 256 pointers (one page)
 * @child: in-memory children, for levels >= 2 (NULL entries: not loaded)
 * @blkno: where the block lives on disk, 0 if it was never written
 * @level: 1 for blocks that point at leaves
 * @dirty: @ent differs from the block at @blkno
 * @assigned: a new @blkno was allocated by the checkpoint in progress
 */
struct cs_tnode {
	struct capstore_bptr *ent;
	struct cs_tnode **child;
	u64 blkno;
	u8 level;
	bool dirty;
	bool assigned;
};

/**
 * struct cs_tree - a tree of leaves addressed by index
 * @root: pointer to the top block as last written (the leaf if @height is 0)
 * @height: number of interior levels
 * @max_height: the tree never grows higher
 * @top: the top interior block, once loaded or created
 * @dirty: @root must be rewritten by the next checkpoint
 */
struct cs_tree {
	struct capstore_bptr root;
	u8 height;
	u8 max_height;
	struct cs_tnode *top;
	bool dirty;
};

void cs_tree_init(struct cs_tree *t, const struct capstore_dtree *dt,
		  unsigned int max_height);
void cs_tree_to_disk(const struct cs_tree *t, struct capstore_dtree *dt);
int cs_tree_get(struct cs_store *s, struct cs_tree *t, u64 index,
		struct capstore_bptr *out);
int cs_tree_set(struct cs_store *s, struct cs_tree *t, u64 index,
		const struct capstore_bptr *val, struct capstore_bptr *old);
int cs_tree_assign(struct cs_store *s, struct cs_tree *t, bool *allocated);
int cs_tree_write(struct cs_store *s, struct cs_tree *t,
		  struct cs_wbatch *wb);
int cs_tree_flush(struct cs_store *s, struct cs_tree *t,
		  struct cs_wbatch *wb);
int cs_tree_free_all(struct cs_store *s, struct cs_tree *t);
void cs_tree_release(struct cs_tree *t);

/* --- space.c: the allocator and the space map --- */

/**
 * struct cs_space - free space of a store
 * @lock: protects everything below but @tree
 * @used: one bit per block in use by the state being built; the space map
 *	written by the next checkpoint
 * @committed: the space map of the last committed checkpoint; its blocks
 *	are never handed out
 * @leaf_dirty: one bit per space map leaf changed since the last checkpoint
 * @leaf_assigned: leaves given a new block by the checkpoint in progress
 * @nblocks: blocks in the store
 * @nleaves: leaves of the space map
 * @nr_used: bits set in @used
 * @nr_pinned: blocks set in @committed but not in @used
 * @nr_reserved: blocks promised to dirty pages and to copies of pages
 *	taken for a checkpoint, not allocated yet
 * @nr_tree: blocks promised to the data-tree blocks that the checkpoints
 *	of the current and the previous epoch write, indexed by epoch & 1
 *	(and to new object table blocks likewise)
 * @nr_meta: blocks promised for as long as the store is attached, one per
 *	block of the object table, so that a checkpoint can rewrite them all
 *	while the old ones stay pinned
 * @reserve: blocks no new reservation may promise, kept for checkpoint
 *	metadata
 * @data_floor: the part of @reserve data never uses (all but the share
 *	for trees)
 * @cursor: where the next search for a free block starts
 * @tree: the space map tree (protected by the checkpoint)
 */
struct cs_space {
	spinlock_t lock;		/* the bitmaps and counters */
	unsigned long *used;
	unsigned long *committed;
	unsigned long *leaf_dirty;
	unsigned long *leaf_assigned;
	u64 nblocks;
	u64 nleaves;
	u64 nr_used;
	u64 nr_pinned;
	u64 nr_reserved;
	u64 nr_tree[2];
	u64 nr_meta;
	u64 reserve;
	u64 data_floor;
	u64 cursor;
	struct cs_tree tree;
};

enum cs_alloc_kind {
	CS_ALLOC_DATA,		/* object data: the reserve's tree share only */
	CS_ALLOC_META,		/* checkpoint metadata: may use the reserve */
};

int cs_space_load(struct cs_store *s, const struct capstore_dhdr *h);
void cs_space_destroy(struct cs_space *sp);
int cs_space_alloc(struct cs_store *s, enum cs_alloc_kind kind, u64 *blkno);
void cs_space_free(struct cs_store *s, u64 blkno);
void cs_space_unalloc(struct cs_store *s, u64 blkno);
int cs_space_reserve(struct cs_store *s);
void cs_space_unreserve(struct cs_store *s, u64 n);
int cs_space_reserve_tree(struct cs_store *s, u64 epoch, unsigned int n);
void cs_space_tree_done(struct cs_store *s, u64 epoch, bool committed);
void cs_space_meta_init(struct cs_store *s, u64 n);
int cs_space_reserve_meta(struct cs_store *s, u64 epoch, unsigned int n);
u64 cs_space_free_blocks(struct cs_store *s);
u64 cs_space_reserved(struct cs_store *s);
int cs_space_flush(struct cs_store *s, struct cs_wbatch *wb,
		   struct capstore_dhdr *h);
void cs_space_commit(struct cs_store *s);

/* --- otable.c: the object table --- */

/**
 * struct cs_otable - object records, cached by leaf
 * @lock: protects everything here
 * @tree: the object table tree
 * @leaves: leaf index -> struct cs_oleaf
 * @next_oid: next id to hand out
 * @nobjects: live objects
 * @dirty: a leaf changed since the last checkpoint's snapshot
 * @cp_next_oid: @next_oid at the snapshot of the checkpoint in progress
 * @cp_nobjects: @nobjects likewise
 */
struct cs_otable {
	struct mutex lock;		/* everything here */
	struct cs_tree tree;
	struct xarray leaves;
	u64 next_oid;
	u64 nobjects;
	bool dirty;
	u64 cp_next_oid;
	u64 cp_nobjects;
};

int cs_otable_load(struct cs_store *s, const struct capstore_dhdr *h);
void cs_otable_init(struct cs_store *s);
void cs_otable_destroy(struct cs_store *s);
int cs_otable_get(struct cs_store *s, u64 oid, struct capstore_dobj *out);
int cs_otable_put(struct cs_store *s, u64 oid, const struct capstore_dobj *o);
int cs_otable_set_gen(struct cs_store *s, u64 oid, u64 gen);
int cs_otable_new(struct cs_store *s, u32 kind, u64 size, u64 *oid);
int cs_otable_freeze(struct cs_store *s, struct list_head *objs);
void cs_otable_set_data(struct cs_store *s, u64 oid,
			const struct capstore_dtree *data);
int cs_otable_flush(struct cs_store *s, struct cs_wbatch *wb,
		    struct capstore_dhdr *h);
void cs_otable_thaw(struct cs_store *s, bool committed);

/* --- io.c: block I/O --- */

/**
 * struct cs_wbatch - writes of one checkpoint (or one writeback pass)
 * @s: the store
 * @bio: the bio being filled, NULL if none
 * @next: block that would extend @bio
 * @pending: bios in flight plus one for the submitter
 * @err: first error
 * @done: completes when @pending drops to zero
 */
struct cs_wbatch {
	struct cs_store *s;
	struct bio *bio;
	u64 next;
	atomic_t pending;
	int err;
	struct completion done;
};

int cs_read_block(struct cs_store *s, u64 blkno, void *buf);
int cs_read_verified(struct cs_store *s, const struct capstore_bptr *b,
		     void *buf, const char *what);
void cs_wbatch_init(struct cs_wbatch *wb, struct cs_store *s);
int cs_wbatch_add(struct cs_wbatch *wb, u64 blkno, struct page *bounce,
		  struct folio *folio);
int cs_wbatch_wait(struct cs_wbatch *wb);
int cs_write_copy(struct cs_wbatch *wb, u64 blkno, const void *src,
		  u32 *crc);
struct page *cs_bounce_copy(struct cs_wbatch *wb, struct folio *folio,
			    __le32 *crc);
void cs_bounce_free(struct cs_store *s, struct page *bounce);
int cs_write_header(struct cs_store *s, u64 blkno, const void *buf);

/* --- super.c: objects as inodes of a per-store pseudo filesystem --- */

/**
 * struct cs_inode - an object in memory
 * @vfs_inode: the inode; i_ino is the object id
 * @kind: CAPSTORE_DOBJ_SEGMENT, _NODE or _FORWARDER
 * @gen: capability generation
 * @tree_lock: protects @data
 * @data: the object's data tree
 * @revoke_sem: see the locking comment at the top of this file
 * @dead: destroyed; the object table record is free
 * @dead_epoch: the epoch it was destroyed in
 * @dirty_link: on store->dirty_list while it holds an inode reference
 * @on_dirty_list: whether @dirty_link is in use (store->dirty_lock)
 * @cp_link: on the object list of the checkpoint in progress, with an
 *	inode reference
 * @zombie_link: on store->zombies or a checkpoint's zombie list, with an
 *	inode reference, once destroyed
 * @claims: pages dirty at the checkpoint's snapshot, not written yet:
 *	index -> folio, with a reference; such folios are PG_checked
 * @copies: copies of claimed pages a writer changed before the
 *	checkpoint wrote them: index -> page, what the checkpoint writes
 * @tree_charged: interior blocks of @data paid for by a reservation:
 *	cs_tree_charge_key() -> xa_mk_value(epoch it was paid in)
 */
struct cs_inode {
	struct inode vfs_inode;
	u32 kind;
	u64 gen;
	struct mutex tree_lock;		/* @data */
	struct cs_tree data;
	struct rw_semaphore revoke_sem;
	bool dead;
	u64 dead_epoch;
	struct list_head dirty_link;
	bool on_dirty_list;
	struct list_head cp_link;
	struct list_head zombie_link;
	struct xarray claims;
	struct xarray copies;
	struct xarray tree_charged;
};

static inline struct cs_inode *CS_I(struct inode *inode)
{
	return container_of(inode, struct cs_inode, vfs_inode);
}

static inline struct cs_store *CS_S(struct super_block *sb)
{
	return sb->s_fs_info;
}

static inline struct cs_store *cs_inode_store(struct cs_inode *ci)
{
	return CS_S(ci->vfs_inode.i_sb);
}

int cs_fs_mount(struct cs_store *s);
void cs_fs_unmount(struct cs_store *s);
void cs_fs_wait_dead(struct cs_store *s);
struct cs_inode *cs_iget(struct cs_store *s, u64 oid);
void cs_inode_mark_dirty(struct cs_inode *ci);
void cs_inode_kill(struct cs_inode *ci);
int cs_inode_init_cache(void);
void cs_inode_destroy_cache(void);

/* --- segment.c, node.c: object data --- */

extern const struct address_space_operations cs_aops;
extern const struct file_operations cs_segment_fops;
extern const struct file_operations cs_node_fops;

int cs_folio_prepare_write(struct cs_inode *ci, struct folio *folio,
			   bool *reserved);
struct folio *cs_node_lock(struct cs_inode *ci);
void cs_node_unlock(struct folio *folio);
int cs_slot_read(struct cs_inode *ci, struct folio *folio,
		 unsigned int slot, struct capstore_dslot *out);
int cs_slot_write(struct cs_inode *ci, struct folio *folio,
		  unsigned int slot, const struct capstore_dslot *in);
int cs_node_check(struct file *file, u32 need, bool modify);
struct folio *cs_node_begin_write(struct file *file);
void cs_node_end_write(struct file *file, struct folio *folio);
void cs_folio_unreserve(struct cs_inode *ci, bool reserved);
long cs_node_ioctl(struct file *file, unsigned int cmd, void __user *arg);
const char *cs_kind_name(u32 kind);

/* --- cap.c: capabilities as files --- */

/**
 * struct cs_via - a forwarder a capability was made through
 * @fwd: the forwarder, with an inode reference
 * @gen: its generation when the capability was made
 */
struct cs_via {
	struct cs_inode *fwd;
	u64 gen;
};

/**
 * struct cs_cap - what a capability file carries
 * @rights: CAPSTORE_RIGHT_* bits, including WEAK
 * @gen: the object generation the capability was made for
 * @sections: application sections open on this file (store->section_lock)
 * @section_epoch: store epoch when the outermost of them began
 * @section_task: the thread that began the outermost of them, only ever
 *	compared with current, never dereferenced
 * @section_link: on store->section_caps while @sections is not zero
 * @nvia: how many forwarders it was made through; 0 for a direct one
 * @via: those forwarders, the outermost (the one it is stored as) first;
 *	the capability dies with any of them
 */
struct cs_cap {
	u32 rights;
	u64 gen;
	unsigned int sections;
	u64 section_epoch;
	const struct task_struct *section_task;
	struct list_head section_link;
	unsigned int nvia;
	struct cs_via via[CAPSTORE_FORWARD_MAX_DEPTH];
};

struct file *cs_cap_file(struct cs_inode *ci, u32 rights, u64 gen);
struct file *cs_cap_file_via(struct cs_inode *ci, u32 rights, u64 gen,
			     const struct cs_via *via, unsigned int nvia);
void cs_cap_slot(struct file *file, struct capstore_dslot *slot);
int cs_cap_check(struct file *file, u32 need);
struct file *cs_cap_fget(int fd, struct cs_store *s);
bool cs_fd_flags_bad(u32 flags);
int cs_fd_reserve(u32 flags);
int cs_cap_install(struct file *file, int fd, void __user *uarg,
		   const void *cmd, size_t size);
long cs_cap_ioctl(struct file *file, unsigned int cmd, unsigned long arg);
struct io_uring_cmd;
int cs_cap_uring_cmd(struct io_uring_cmd *ioucmd, unsigned int issue_flags);
int cs_cap_fsync(struct file *file, loff_t start, loff_t end, int datasync);
int cs_cap_release(struct inode *inode, struct file *file);

static inline struct cs_cap *cs_file_cap(struct file *file)
{
	return file->private_data;
}

/* --- checkpoint.c --- */

int cs_sync(struct cs_store *s, u64 *seq);
void cs_checkpoint_kick(struct cs_store *s);
int cs_checkpoint_start(struct cs_store *s);
void cs_checkpoint_stop(struct cs_store *s);
void cs_checkpoint_discard(struct cs_store *s);
int cs_section_begin(struct file *file);
int cs_section_end(struct file *file);
void cs_section_release(struct file *file);

/* --- forward.c: revocable forwarders --- */

int cs_forward(struct file *file, void __user *uarg);
int cs_forward_resolve(struct cs_store *s, const struct capstore_dslot *slot,
		       struct cs_inode **target, struct cs_via *via,
		       unsigned int *nvia, u64 *gen);
void cs_via_put(struct cs_via *via, unsigned int nvia);
struct cs_inode *cs_forward_target(struct cs_inode *fwd);

/* --- object.c: destroying and revoking --- */

int cs_object_destroy(struct file *file);
void cs_object_drop_pages(struct cs_inode *ci);
int cs_object_revoke(struct file *file, void __user *uarg);

/* --- store.c: attach, detach, the store itself --- */

/**
 * struct cs_store - an attached store
 * @kobj: /sys/fs/capstore/<name>; its release frees the store
 * @id: the store id userspace names it by
 * @name: the block device's name
 * @bdev: the device, held exclusively
 * @mnt: the internal mount whose super_block holds the objects
 * @geom: the superblock
 * @seq: sequence number of the last committed checkpoint
 * @root_oid: the root node
 * @epoch: changes made now belong to this epoch; each snapshot ends one
 * @durable_epoch: every change of this epoch and before is committed
 * @cp_mutex: serializes checkpoints
 * @cp_thread: runs scheduled checkpoints
 * @cp_wait: where @cp_thread sleeps
 * @cp_kicked: a checkpoint was asked for (dirty limit)
 * @last_cp: jiffies when the last checkpoint ended
 * @wb_sem: see the locking comment at the top of this file
 * @wr_sys: likewise
 * @wr_fault: likewise
 * @dirty_lock: protects @dirty_list and @zombies
 * @dirty_list: objects with changes not yet in any checkpoint's snapshot
 * @zombies: destroyed objects whose blocks the next checkpoint frees
 * @section_lock: protects the section fields
 * @sections_open: application sections open
 * @section_caps: capabilities with sections open (struct cs_cap)
 * @snapshot_waiting: a checkpoint waits for sections to close
 * @section_wq: where section openers and the checkpoint wait
 * @flags: CS_STORE_* bits
 * @detached: detach has taken the final checkpoint (under @cp_mutex)
 * @nr_caps: open capability files
 * @sb_dead: completes when the internal super_block is gone
 * @bounce_pool: pages that writes are copied into
 * @read_wq: where the pages of completed readahead bios are checked
 *	(segment.c); lives as long as the internal super_block
 * @space: the allocator
 * @otable: the object table
 * @tune: settings, in sysfs
 * @stats: counters shown in sysfs
 */
struct cs_store {
	struct kobject kobj;
	u32 id;
	char name[BDEVNAME_SIZE];
	struct block_device *bdev;
	struct vfsmount *mnt;
	struct capstore_geom geom;
	u64 seq;
	u64 root_oid;
	u64 epoch;
	u64 durable_epoch;
	struct mutex cp_mutex;		/* one checkpoint at a time */
	struct task_struct *cp_thread;
	wait_queue_head_t cp_wait;
	bool cp_kicked;
	unsigned long last_cp;
	struct rw_semaphore wb_sem;
	struct percpu_rw_semaphore wr_sys;
	struct percpu_rw_semaphore wr_fault;
	spinlock_t dirty_lock;		/* @dirty_list, @zombies */
	struct list_head dirty_list;
	struct list_head zombies;
	spinlock_t section_lock;	/* the section fields */
	unsigned int sections_open;
	struct list_head section_caps;
	bool snapshot_waiting;
	wait_queue_head_t section_wq;
	unsigned long flags;
	bool detached;
	atomic_t nr_caps;
	struct completion sb_dead;
	mempool_t *bounce_pool;
	struct workqueue_struct *read_wq;
	struct cs_space space;
	struct cs_otable otable;
	struct {
		u64 interval_ms;
		u64 dirty_limit;
		u64 section_timeout_ms;
	} tune;
	struct {
		u64 checkpoints;
		u64 failed;
		u64 last_duration_ns;
		u64 max_duration_ns;
		u64 last_stall_ns;
		u64 max_stall_ns;
		u64 last_pages;
		u64 sections_broken;
		atomic64_t blocks_written;
	} stats;
};

/* Defaults of cs_store.tune. */
#define CS_INTERVAL_MS_DEFAULT		5000
#define CS_INTERVAL_MS_MIN		10
#define CS_SECTION_TIMEOUT_MS_DEFAULT	2000

/* Bits of cs_store.flags. */
enum {
	CS_STORE_SHUTDOWN,	/* a write failed: changes are refused */
	CS_STORE_DETACHING,	/* no new capabilities; detach under way */
};

int cs_store_attach(int bdev_fd, u32 *id);
int cs_store_detach(u32 id);
int cs_store_root(u32 id, struct file **filep);
struct cs_store *cs_store_get(u32 id);
void cs_store_put(struct cs_store *s);
void cs_store_free(struct cs_store *s);
void cs_store_shutdown(struct cs_store *s, int err, const char *what);
void cs_store_exit(void);

static inline bool cs_store_is_shutdown(struct cs_store *s)
{
	return test_bit(CS_STORE_SHUTDOWN, &s->flags);
}

/* --- sysfs.c --- */

int cs_sysfs_init(void);
void cs_sysfs_exit(void);
void cs_sysfs_init_store(struct cs_store *s);
int cs_sysfs_add(struct cs_store *s);
void cs_sysfs_del(struct cs_store *s);

/* --- main.c: ioctl plumbing --- */

int cs_copy_cmd_in(void *dst, size_t ksize, size_t min_size,
		   const void __user *uarg);
int cs_copy_cmd_out(void __user *uarg, const void *src, size_t size);

#define cs_err(s, fmt, ...) \
	pr_err("%s: " fmt "\n", (s)->name, ##__VA_ARGS__)
/*
 * For damage and I/O errors that any capability holder can hit again and
 * again (a fetch, a read, a fault): rate-limited per call site.
 */
#define cs_err_ratelimited(s, fmt, ...) \
	pr_err_ratelimited("%s: " fmt "\n", (s)->name, ##__VA_ARGS__)
#define cs_warn(s, fmt, ...) \
	pr_warn("%s: " fmt "\n", (s)->name, ##__VA_ARGS__)
#define cs_info(s, fmt, ...) \
	pr_info("%s: " fmt "\n", (s)->name, ##__VA_ARGS__)

#endif /* _CAPSTORE_INTERNAL_H */
