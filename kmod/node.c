// SPDX-License-Identifier: GPL-2.0
/*
 * Nodes: objects whose one page holds CAPSTORE_NODE_SLOTS stored
 * capabilities. The page lives in the page cache like a segment's and is
 * checkpointed the same way; the folio lock serializes slot updates.
 *
 * A stored capability is (object id, generation, rights, kind). Fetching
 * it makes a capability file only if the object is still alive with that
 * generation; otherwise the slot holds a dead capability.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/pagemap.h>
#include <linux/uaccess.h>

#include "internal.h"

static const char *const cs_kind_names[] = {
	[CAPSTORE_DOBJ_SEGMENT] = "segment",
	[CAPSTORE_DOBJ_NODE] = "node",
	[CAPSTORE_DOBJ_FORWARDER] = "forwarder",
};

/* The page of a node (or forwarder), locked and uptodate. */
struct folio *cs_node_lock(struct cs_inode *ci)
{
	struct folio *folio;

	folio = read_mapping_folio(ci->vfs_inode.i_mapping, 0, NULL);
	if (IS_ERR(folio))
		return folio;
	folio_lock(folio);
	if (!folio_test_uptodate(folio) ||
	    folio->mapping != ci->vfs_inode.i_mapping) {
		/* Truncated or failed while we waited: the store went away. */
		folio_unlock(folio);
		folio_put(folio);
		return ERR_PTR(-EIO);
	}
	return folio;
}

void cs_node_unlock(struct folio *folio)
{
	folio_unlock(folio);
	folio_put(folio);
}

int cs_slot_read(struct cs_inode *ci, struct folio *folio,
		 unsigned int slot, struct capstore_dslot *out)
{
	struct capstore_dnode *n = kmap_local_folio(folio, 0);
	const char *why;
	int err;

	*out = n->slots[slot];
	kunmap_local(n);
	err = capstore_dslot_verify(out, &why);
	if (err)
		cs_err_ratelimited(cs_inode_store(ci), "corrupt node: object %lu slot %u, %s",
				   ci->vfs_inode.i_ino, slot, why);
	return err;
}

int cs_slot_write(struct cs_inode *ci, struct folio *folio,
		  unsigned int slot, const struct capstore_dslot *in)
{
	struct capstore_dnode *n;
	bool reserved;
	int err;

	err = cs_folio_prepare_write(ci, folio, &reserved);
	if (err)
		return err;
	n = kmap_local_folio(folio, 0);
	n->slots[slot] = *in;
	kunmap_local(n);
	folio_mark_dirty(folio);
	return 0;
}

/* The node capability must have @need and, to change slots, not be weak. */
int cs_node_check(struct file *file, u32 need, bool modify)
{
	int err = cs_cap_check(file, need);

	if (!err && modify && (cs_file_cap(file)->rights & CAPSTORE_RIGHT_WEAK))
		err = -EPERM;
	return err;
}

/**
 * cs_node_begin_write - lock a node's page to change its slots
 * @file: the node capability; checked again once the node is locked
 *	against destroy and revoke
 *
 * Return: the page, locked, or an ERR_PTR; cs_node_end_write() undoes.
 */
struct folio *cs_node_begin_write(struct file *file)
{
	struct cs_inode *node = CS_I(file_inode(file));
	struct cs_store *s = cs_inode_store(node);
	struct folio *folio;
	int err;

	percpu_down_read(&s->wr_sys);
	down_read(&node->revoke_sem);
	err = cs_node_check(file, CAPSTORE_RIGHT_WRITE | CAPSTORE_RIGHT_GRANT,
			    true);
	folio = err ? ERR_PTR(err) : cs_node_lock(node);
	if (IS_ERR(folio)) {
		up_read(&node->revoke_sem);
		percpu_up_read(&s->wr_sys);
	}
	return folio;
}

void cs_node_end_write(struct file *file, struct folio *folio)
{
	struct cs_inode *node = CS_I(file_inode(file));

	cs_node_unlock(folio);
	up_read(&node->revoke_sem);
	percpu_up_read(&cs_inode_store(node)->wr_sys);
}

static int cs_node_create(struct file *file, void __user *uarg)
{
	struct cs_inode *node = CS_I(file_inode(file));
	struct cs_store *s = cs_inode_store(node);
	struct capstore_dslot slot = {};
	struct capstore_create cmd;
	struct cs_inode *ci;
	struct folio *folio;
	struct file *obj;
	u64 oid;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cs_fd_flags_bad(cmd.flags) || cmd.__reserved ||
	    cmd.slot >= CAPSTORE_NODE_SLOTS)
		return -EINVAL;
	switch (cmd.kind) {
	case CAPSTORE_KIND_SEGMENT:
		if (cmd.seg_size > CAPSTORE_SEGMENT_MAX_SIZE ||
		    cmd.seg_size & (CAPSTORE_BLOCK_SIZE - 1))
			return -EINVAL;
		break;
	case CAPSTORE_KIND_NODE:
		if (cmd.seg_size)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	err = cs_node_check(file, CAPSTORE_RIGHT_WRITE | CAPSTORE_RIGHT_GRANT,
			    true);
	if (err)
		return err;
	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0)
		return fd;

	folio = cs_node_begin_write(file);
	if (IS_ERR(folio)) {
		err = PTR_ERR(folio);
		goto out_fd;
	}
	err = cs_slot_read(node, folio, cmd.slot, &slot);
	if (!err && slot.oid)
		err = -EEXIST;
	if (err)
		goto out_unlock_node;

	err = cs_otable_new(s, cmd.kind, cmd.seg_size, &oid);
	if (err)
		goto out_unlock_node;
	ci = cs_iget(s, oid);
	if (IS_ERR(ci)) {
		err = PTR_ERR(ci);
		goto out_free_oid;
	}
	/*
	 * The capability before the slot: once the object is in the slot,
	 * the call must not fail, or the caller would find it there after
	 * an error.
	 */
	obj = cs_cap_file(ci, CAPSTORE_RIGHTS_ALL, ci->gen);
	if (IS_ERR(obj)) {
		err = PTR_ERR(obj);
		goto out_kill;
	}
	slot.oid = cpu_to_le64(oid);
	slot.gen = cpu_to_le64(ci->gen);
	slot.rights = cpu_to_le32(CAPSTORE_RIGHTS_ALL);
	slot.kind = cpu_to_le32(cmd.kind);
	err = cs_slot_write(node, folio, cmd.slot, &slot);
	if (err) {
		fput(obj);
		goto out_kill;
	}
	cs_node_end_write(file, folio);
	iput(&ci->vfs_inode);
	cmd.out_fd = fd;
	return cs_cap_install(obj, fd, uarg, &cmd, sizeof(cmd));

out_kill:
	cs_inode_kill(ci);
	iput(&ci->vfs_inode);
out_free_oid:
	{
		struct capstore_dobj rec = { .oid = cpu_to_le64(oid) };

		cs_otable_put(s, oid, &rec);
	}
out_unlock_node:
	cs_node_end_write(file, folio);
out_fd:
	put_unused_fd(fd);
	return err;
}

/*
 * Read a slot for a fetch through @file. The node capability is checked
 * under the node's revoke_sem, which a revoke or destroy of the node (or
 * of a forwarder it was made through) holds exclusive while it kills the
 * capability: a fetch through a capability revoked meanwhile fails, and
 * one that passes reads the slot before the revoke, so it never sees what
 * was stored after it.
 */
static int cs_node_fetch_slot(struct file *file, unsigned int i,
			      struct capstore_dslot *slot)
{
	struct cs_inode *node = CS_I(file_inode(file));
	struct folio *folio;
	int err;

	down_read(&node->revoke_sem);
	err = cs_node_check(file, CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_GRANT,
			    false);
	if (!err) {
		folio = cs_node_lock(node);
		if (IS_ERR(folio)) {
			err = PTR_ERR(folio);
		} else {
			err = cs_slot_read(node, folio, i, slot);
			cs_node_unlock(folio);
		}
	}
	up_read(&node->revoke_sem);
	if (!err && !slot->oid)
		err = -ENOENT;
	return err;
}

static int cs_node_fetch(struct file *file, void __user *uarg)
{
	struct cs_inode *node = CS_I(file_inode(file));
	struct cs_store *s = cs_inode_store(node);
	struct cs_via via[CAPSTORE_FORWARD_MAX_DEPTH];
	struct capstore_fetch cmd;
	struct capstore_dslot slot;
	unsigned int nvia = 0;
	struct cs_inode *ci;
	struct file *obj;
	u32 rights;
	u64 gen;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cs_fd_flags_bad(cmd.flags) || cmd.slot >= CAPSTORE_NODE_SLOTS)
		return -EINVAL;
	err = cs_node_check(file, CAPSTORE_RIGHT_READ | CAPSTORE_RIGHT_GRANT,
			    false);
	if (err)
		return err;
	/*
	 * The fd first: reserving it can sleep (growing the fd table of a
	 * multi-threaded process waits for RCU), and nothing may come
	 * between reading the slot and making the capability but checks.
	 */
	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0)
		return fd;
	err = cs_node_fetch_slot(file, cmd.slot, &slot);
	if (err)
		goto out_fd;

	/*
	 * The capability is made for the generation the slot holds, never
	 * the object's current one: if the object is revoked at any point
	 * after the check, what was fetched dies with the rest.
	 */
	gen = le64_to_cpu(slot.gen);
	if (slot.flags & cpu_to_le32(CAPSTORE_DSLOT_FORWARDED)) {
		err = cs_forward_resolve(s, &slot, &ci, via, &nvia, &gen);
		if (err)
			goto out_fd;
	} else {
		ci = cs_iget(s, le64_to_cpu(slot.oid));
		if (IS_ERR(ci)) {
			err = PTR_ERR(ci) == -ENOENT ? -EKEYREVOKED :
						       PTR_ERR(ci);
			goto out_fd;
		}
		err = -EKEYREVOKED;
		if (READ_ONCE(ci->gen) != gen)
			goto out_put;
	}
	/* Ids are never reused and kinds never change: this is damage. */
	if (ci->kind != le32_to_cpu(slot.kind)) {
		cs_err_ratelimited(s, "corrupt node: object %lu slot %u, kind %u but object %lu is a %s",
				   node->vfs_inode.i_ino, cmd.slot, le32_to_cpu(slot.kind),
				   ci->vfs_inode.i_ino, cs_kind_name(ci->kind));
		err = -EUCLEAN;
		goto out_put;
	}

	rights = le32_to_cpu(slot.rights);
	if (cs_file_cap(file)->rights & CAPSTORE_RIGHT_WEAK)
		rights = (rights & ~(CAPSTORE_RIGHT_WRITE |
				     CAPSTORE_RIGHT_DESTROY)) |
			 CAPSTORE_RIGHT_WEAK;
	obj = cs_cap_file_via(ci, rights, gen, via, nvia);
	if (IS_ERR(obj)) {
		err = PTR_ERR(obj);
		goto out_put;
	}
	cs_via_put(via, nvia);
	iput(&ci->vfs_inode);
	/* Revoked since the check: it is dead already, do not hand it out. */
	err = cs_cap_check(obj, 0);
	if (err) {
		fput(obj);
		goto out_fd;
	}
	cmd.out_fd = fd;
	cmd.out_kind = le32_to_cpu(slot.kind);
	cmd.out_rights = rights;
	return cs_cap_install(obj, fd, uarg, &cmd, sizeof(cmd));

out_put:
	cs_via_put(via, nvia);
	iput(&ci->vfs_inode);
out_fd:
	put_unused_fd(fd);
	return err;
}

static int cs_node_store(struct file *file, void __user *uarg)
{
	struct cs_inode *node = CS_I(file_inode(file));
	struct cs_store *s = cs_inode_store(node);
	struct capstore_dslot slot;
	struct capstore_store cmd;
	struct folio *folio;
	struct file *src;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags || cmd.slot >= CAPSTORE_NODE_SLOTS)
		return -EINVAL;
	err = cs_node_check(file, CAPSTORE_RIGHT_WRITE | CAPSTORE_RIGHT_GRANT,
			    true);
	if (err)
		return err;
	src = cs_cap_fget(cmd.fd, s);
	if (IS_ERR(src))
		return PTR_ERR(src);
	err = cs_cap_check(src, 0);
	if (err)
		goto out_put;
	cs_cap_slot(src, &slot);

	folio = cs_node_begin_write(file);
	if (IS_ERR(folio)) {
		err = PTR_ERR(folio);
	} else {
		err = cs_slot_write(node, folio, cmd.slot, &slot);
		cs_node_end_write(file, folio);
	}
out_put:
	fput(src);
	return err;
}

static int cs_node_clear(struct file *file, void __user *uarg)
{
	struct cs_inode *node = CS_I(file_inode(file));
	static const struct capstore_dslot empty;
	struct capstore_clear cmd;
	struct folio *folio;
	int err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cmd.flags || cmd.__reserved || cmd.slot >= CAPSTORE_NODE_SLOTS)
		return -EINVAL;
	err = cs_node_check(file, CAPSTORE_RIGHT_WRITE | CAPSTORE_RIGHT_GRANT,
			    true);
	if (err)
		return err;

	folio = cs_node_begin_write(file);
	if (IS_ERR(folio)) {
		err = PTR_ERR(folio);
	} else {
		err = cs_slot_write(node, folio, cmd.slot, &empty);
		cs_node_end_write(file, folio);
	}
	return err;
}

/**
 * cs_node_ioctl - the slot commands of a node capability
 * @file: the capability
 * @cmd: the ioctl number
 * @arg: its argument
 *
 * Return: 0, a negative errno, or -ENOTTY if @cmd is not a node command
 * or @file is not a node.
 */
long cs_node_ioctl(struct file *file, unsigned int cmd, void __user *arg)
{
	if (CS_I(file_inode(file))->kind != CAPSTORE_DOBJ_NODE)
		return -ENOTTY;
	switch (cmd) {
	case CAPSTORE_CREATE:
		return cs_node_create(file, arg);
	case CAPSTORE_FETCH:
		return cs_node_fetch(file, arg);
	case CAPSTORE_STORE:
		return cs_node_store(file, arg);
	case CAPSTORE_CLEAR:
		return cs_node_clear(file, arg);
	}
	return -ENOTTY;
}

const char *cs_kind_name(u32 kind)
{
	if (kind < ARRAY_SIZE(cs_kind_names) && cs_kind_names[kind])
		return cs_kind_names[kind];
	return "object";
}

const struct file_operations cs_node_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= cs_cap_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.uring_cmd	= cs_cap_uring_cmd,
	.fsync		= cs_cap_fsync,
	.release	= cs_cap_release,
};
