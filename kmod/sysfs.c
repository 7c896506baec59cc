// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/fs/capstore/<device>/: one directory per attached store, with its
 * identity, space and checkpoint figures. Read-only for now.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kobject.h>
#include <linux/sysfs.h>

#include "internal.h"

static struct kset *cs_kset;

#define CS_ATTR_RO(_name, _fmt, ...)					\
static ssize_t _name##_show(struct kobject *kobj,			\
			    struct kobj_attribute *attr, char *buf)	\
{									\
	struct cs_store *s = container_of(kobj, struct cs_store, kobj);\
									\
	return sysfs_emit(buf, _fmt "\n", __VA_ARGS__);			\
}									\
static struct kobj_attribute cs_attr_##_name = __ATTR_RO(_name)

CS_ATTR_RO(id, "%u", s->id);
CS_ATTR_RO(dev, "%u:%u", MAJOR(s->bdev->bd_dev), MINOR(s->bdev->bd_dev));
CS_ATTR_RO(uuid, "%pU", s->geom.uuid);
CS_ATTR_RO(label, "%s", s->geom.label);
CS_ATTR_RO(seq, "%llu", READ_ONCE(s->seq));
CS_ATTR_RO(blocks, "%llu", s->geom.nblocks);
CS_ATTR_RO(free_blocks, "%llu", cs_space_free_blocks(s));
CS_ATTR_RO(objects, "%llu", READ_ONCE(s->otable.nobjects));
CS_ATTR_RO(open_caps, "%d", atomic_read(&s->nr_caps));
CS_ATTR_RO(checkpoints, "%llu", READ_ONCE(s->stats.checkpoints));
CS_ATTR_RO(last_checkpoint_ns, "%llu", READ_ONCE(s->stats.last_duration_ns));
CS_ATTR_RO(last_stall_ns, "%llu", READ_ONCE(s->stats.last_stall_ns));
CS_ATTR_RO(max_stall_ns, "%llu", READ_ONCE(s->stats.max_stall_ns));
CS_ATTR_RO(blocks_written, "%lld", atomic64_read(&s->stats.blocks_written));
CS_ATTR_RO(shutdown, "%d", cs_store_is_shutdown(s));

static struct attribute *cs_store_attrs[] = {
	&cs_attr_id.attr,
	&cs_attr_dev.attr,
	&cs_attr_uuid.attr,
	&cs_attr_label.attr,
	&cs_attr_seq.attr,
	&cs_attr_blocks.attr,
	&cs_attr_free_blocks.attr,
	&cs_attr_objects.attr,
	&cs_attr_open_caps.attr,
	&cs_attr_checkpoints.attr,
	&cs_attr_last_checkpoint_ns.attr,
	&cs_attr_last_stall_ns.attr,
	&cs_attr_max_stall_ns.attr,
	&cs_attr_blocks_written.attr,
	&cs_attr_shutdown.attr,
	NULL,
};
ATTRIBUTE_GROUPS(cs_store);

static void cs_store_release(struct kobject *kobj)
{
	cs_store_free(container_of(kobj, struct cs_store, kobj));
}

static struct kobj_type cs_store_ktype = {
	.sysfs_ops	= &kobj_sysfs_ops,
	.default_groups	= cs_store_groups,
	.release	= cs_store_release,
};

void cs_sysfs_init_store(struct cs_store *s)
{
	kobject_init(&s->kobj, &cs_store_ktype);
}

int cs_sysfs_add(struct cs_store *s)
{
	int err;

	s->kobj.kset = cs_kset;
	err = kobject_add(&s->kobj, NULL, "%s", s->name);
	if (err)
		return err;
	kobject_uevent(&s->kobj, KOBJ_ADD);
	return 0;
}

void cs_sysfs_del(struct cs_store *s)
{
	kobject_uevent(&s->kobj, KOBJ_REMOVE);
	kobject_del(&s->kobj);
}

int cs_sysfs_init(void)
{
	cs_kset = kset_create_and_add("capstore", NULL, fs_kobj);
	return cs_kset ? 0 : -ENOMEM;
}

void cs_sysfs_exit(void)
{
	kset_unregister(cs_kset);
}
