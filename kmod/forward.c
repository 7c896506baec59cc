// SPDX-License-Identifier: GPL-2.0
/*
 * Revocable forwarders: selective revocation of one delegation.
 *
 * A forwarder is an object whose one page holds, in slot 0, the capability
 * it forwards to. CAPSTORE_FORWARD makes one from a capability, stores a
 * control capability to it in a node slot of the delegator's choosing and
 * returns a capability made through it: a file on the same object as the
 * original, whose struct cs_cap lists the forwarder it came through. Such
 * a capability is checked against each of its forwarders on every use, is
 * stored in slots as "the use of forwarder F" (CAPSTORE_DSLOT_FORWARDED),
 * and dies with F: destroying or revoking F through the control capability
 * (object.c) kills every capability made through it and unmaps the object
 * they act on, so their mappings fault again and find them dead.
 *
 * A forwarder is always created after what it forwards to, so object ids
 * decrease along a chain of forwarders; locks are taken in that order.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/file.h>
#include <linux/pagemap.h>

#include "internal.h"

/**
 * cs_via_put - drop the forwarder references of a chain
 * @via: the chain
 * @nvia: its length
 */
void cs_via_put(struct cs_via *via, unsigned int nvia)
{
	while (nvia--)
		iput(&via[nvia].fwd->vfs_inode);
}

/* The capability forwarder @fwd holds. */
static int cs_forward_slot(struct cs_inode *fwd, struct capstore_dslot *slot)
{
	struct folio *folio = cs_node_lock(fwd);
	int err;

	if (IS_ERR(folio))
		return PTR_ERR(folio);
	err = cs_slot_read(fwd, folio, 0, slot);
	cs_node_unlock(folio);
	if (!err && !slot->oid) {
		cs_err_ratelimited(cs_inode_store(fwd), "corrupt forwarder: object %lu holds nothing",
				   fwd->vfs_inode.i_ino);
		err = -EUCLEAN;
	}
	return err;
}

/**
 * cs_forward_resolve - what a stored forwarded capability acts on
 * @s: the store
 * @slot: a slot with CAPSTORE_DSLOT_FORWARDED
 * @target: receives the object at the end of the chain, with a reference
 * @via: receives the forwarders on the way, outermost first, with
 *	references
 * @nvia: receives their number
 * @gen: receives the generation of the target the chain names
 *
 * The generations recorded (in @via and @gen) are the ones the slots
 * hold, never a later read of the objects', so that what is made from
 * them dies with a revoke that comes after the checks.
 *
 * Return: 0, -EKEYREVOKED if a forwarder or the target is dead or of
 * another generation, -EUCLEAN for an impossible chain.
 */
int cs_forward_resolve(struct cs_store *s, const struct capstore_dslot *slot,
		       struct cs_inode **target, struct cs_via *via,
		       unsigned int *nvia, u64 *gen)
{
	struct capstore_dslot cur = *slot;
	struct cs_inode *ci;
	int err;

	*nvia = 0;
	for (;;) {
		*gen = le64_to_cpu(cur.gen);
		ci = cs_iget(s, le64_to_cpu(cur.oid));
		if (IS_ERR(ci)) {
			err = PTR_ERR(ci) == -ENOENT ? -EKEYREVOKED :
						       PTR_ERR(ci);
			goto fail;
		}
		if (READ_ONCE(ci->gen) != *gen) {
			err = -EKEYREVOKED;
			goto fail_put;
		}
		if (!(cur.flags & cpu_to_le32(CAPSTORE_DSLOT_FORWARDED)))
			break;
		if (ci->kind != CAPSTORE_DOBJ_FORWARDER ||
		    *nvia == CAPSTORE_FORWARD_MAX_DEPTH) {
			cs_err_ratelimited(s, "corrupt forwarded capability: object %lu",
					   ci->vfs_inode.i_ino);
			err = -EUCLEAN;
			goto fail_put;
		}
		via[*nvia].fwd = ci;
		via[*nvia].gen = *gen;
		(*nvia)++;
		err = cs_forward_slot(ci, &cur);
		if (err)
			goto fail;
	}
	*target = ci;
	return 0;

fail_put:
	iput(&ci->vfs_inode);
fail:
	cs_via_put(via, *nvia);
	*nvia = 0;
	return err;
}

/**
 * cs_forward_target - the object at the end of a forwarder's chain
 * @fwd: a forwarder
 *
 * Return: its inode with a reference if it is in memory (every object a
 * capability designates is), else NULL.
 */
struct cs_inode *cs_forward_target(struct cs_inode *fwd)
{
	struct super_block *sb = fwd->vfs_inode.i_sb;
	struct capstore_dslot slot;
	struct cs_inode *ci = fwd;
	struct inode *inode;
	unsigned int depth;

	ihold(&ci->vfs_inode);
	for (depth = 0; depth <= CAPSTORE_FORWARD_MAX_DEPTH; depth++) {
		int err = cs_forward_slot(ci, &slot);

		iput(&ci->vfs_inode);
		if (err)
			return NULL;
		inode = ilookup(sb, le64_to_cpu(slot.oid));
		if (!inode)
			return NULL;
		ci = CS_I(inode);
		if (!(slot.flags & cpu_to_le32(CAPSTORE_DSLOT_FORWARDED)))
			return ci;
		if (ci->kind != CAPSTORE_DOBJ_FORWARDER)
			break;
	}
	iput(&ci->vfs_inode);
	return NULL;
}

/*
 * Create the forwarder, holding @target, into slot @slot of a node, and
 * the capability made through it: @ci with @rights, for the delegated
 * capability @cap (the file @file). The capability is made before the
 * slot is written, so that nothing fails once the forwarder is in the
 * slot.
 */
static int cs_forward_create(struct cs_store *s, struct file *file,
			     struct file *nodefile, unsigned int slot,
			     const struct capstore_dslot *target,
			     struct cs_inode *ci, const struct cs_cap *cap,
			     u32 rights, struct file **objp)
{
	struct cs_inode *node = CS_I(file_inode(nodefile));
	struct cs_via via[CAPSTORE_FORWARD_MAX_DEPTH];
	struct capstore_dslot ctl = {};
	struct folio *folio, *ffolio;
	struct cs_inode *fwd;
	struct file *obj;
	u64 oid;
	int err;

	folio = cs_node_begin_write(nodefile);
	if (IS_ERR(folio))
		return PTR_ERR(folio);
	/*
	 * The delegated capability may have died while we waited: forward
	 * nothing then. (It is recorded with its own generation, so one
	 * revoked after this check is dead in the forwarder as well.)
	 */
	err = cs_cap_check(file, 0);
	if (!err)
		err = cs_slot_read(node, folio, slot, &ctl);
	if (!err && ctl.oid)
		err = -EEXIST;
	if (err)
		goto out_node;
	err = cs_otable_new(s, CAPSTORE_DOBJ_FORWARDER, 0, &oid);
	if (err)
		goto out_node;
	fwd = cs_iget(s, oid);
	if (IS_ERR(fwd)) {
		err = PTR_ERR(fwd);
		goto out_free;
	}
	/* Nobody else knows the new forwarder: its page lock cannot invert. */
	ffolio = cs_node_lock(fwd);
	if (IS_ERR(ffolio)) {
		err = PTR_ERR(ffolio);
		goto out_kill;
	}
	err = cs_slot_write(fwd, ffolio, 0, target);
	cs_node_unlock(ffolio);
	if (err)
		goto out_kill;
	via[0].fwd = fwd;
	via[0].gen = fwd->gen;
	memcpy(&via[1], cap->via, cap->nvia * sizeof(*via));
	obj = cs_cap_file_via(ci, rights, cap->gen, via, cap->nvia + 1);
	if (IS_ERR(obj)) {
		err = PTR_ERR(obj);
		goto out_kill;
	}
	ctl.oid = cpu_to_le64(oid);
	ctl.gen = cpu_to_le64(fwd->gen);
	ctl.rights = cpu_to_le32(CAPSTORE_RIGHTS_ALL);
	ctl.kind = cpu_to_le32(CAPSTORE_DOBJ_FORWARDER);
	err = cs_slot_write(node, folio, slot, &ctl);
	if (err) {
		fput(obj);
		goto out_kill;
	}
	cs_node_end_write(nodefile, folio);
	iput(&fwd->vfs_inode);
	*objp = obj;
	return 0;

out_kill:
	/* Its page may be dirty already: give back the block it reserved. */
	cs_inode_kill(fwd);
	cs_object_drop_pages(fwd);
	iput(&fwd->vfs_inode);
out_free:
	{
		struct capstore_dobj rec = { .oid = cpu_to_le64(oid) };

		cs_otable_put(s, oid, &rec);
	}
out_node:
	cs_node_end_write(nodefile, folio);
	return err;
}

/**
 * cs_forward - ioctl(CAPSTORE_FORWARD): delegate a capability revocably
 * @file: the capability to delegate
 * @uarg: struct capstore_forward
 *
 * Return: 0 with the forwarded capability in out_fd, or a negative errno.
 */
int cs_forward(struct file *file, void __user *uarg)
{
	struct cs_inode *ci = CS_I(file_inode(file));
	struct cs_store *s = cs_inode_store(ci);
	struct cs_cap *cap = cs_file_cap(file);
	struct capstore_forward cmd;
	struct capstore_dslot target;
	struct file *node, *obj;
	int fd, err;

	err = cs_copy_cmd_in(&cmd, sizeof(cmd), sizeof(cmd), uarg);
	if (err)
		return err;
	if (cs_fd_flags_bad(cmd.flags) ||
	    cmd.rights & ~CAPSTORE_RIGHTS_MASK ||
	    cmd.slot >= CAPSTORE_NODE_SLOTS)
		return -EINVAL;
	err = cs_cap_check(file, 0);
	if (err)
		return err;
	/* A delegation hands on use, never the power to destroy. */
	if (cmd.rights & (CAPSTORE_RIGHT_DESTROY | ~cap->rights) &
	    CAPSTORE_RIGHTS_ALL)
		return -EPERM;
	if ((cap->rights & CAPSTORE_RIGHT_WEAK) &&
	    !(cmd.rights & CAPSTORE_RIGHT_WEAK))
		return -EPERM;
	if (ci->kind == CAPSTORE_DOBJ_FORWARDER)
		return -EINVAL;	/* forward the capabilities made through it */
	if (cap->nvia == CAPSTORE_FORWARD_MAX_DEPTH)
		return -ELOOP;

	node = cs_cap_fget(cmd.node_fd, s);
	if (IS_ERR(node))
		return PTR_ERR(node);
	err = -ENOTTY;
	if (CS_I(file_inode(node))->kind != CAPSTORE_DOBJ_NODE)
		goto out_node;
	fd = cs_fd_reserve(cmd.flags);
	if (fd < 0) {
		err = fd;
		goto out_node;
	}

	cs_cap_slot(file, &target);
	target.rights = cpu_to_le32(cmd.rights);
	err = cs_forward_create(s, file, node, cmd.slot, &target, ci, cap,
				cmd.rights, &obj);
	if (err)
		goto out_fd;
	fput(node);
	cmd.out_fd = fd;
	return cs_cap_install(obj, fd, uarg, &cmd, sizeof(cmd));

out_fd:
	put_unused_fd(fd);
out_node:
	fput(node);
	return err;
}
