// SPDX-License-Identifier: GPL-2.0
/*
 * /sys/fs/capstore/<device>/: one directory per attached store, with its
 * identity, space and checkpoint figures, and the checkpoint settings
 * (interval_ms, dirty_limit_bytes, section_timeout_ms), which root may
 * write. Documentation/admin-guide.rst lists them.
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
CS_ATTR_RO(dirty_bytes, "%llu", cs_space_reserved(s) << CAPSTORE_BLOCK_SHIFT);
CS_ATTR_RO(failed_checkpoints, "%llu", READ_ONCE(s->stats.failed));
CS_ATTR_RO(max_checkpoint_ns, "%llu", READ_ONCE(s->stats.max_duration_ns));
CS_ATTR_RO(last_checkpoint_pages, "%llu", READ_ONCE(s->stats.last_pages));
CS_ATTR_RO(sections_open, "%u", READ_ONCE(s->sections_open));
CS_ATTR_RO(sections_broken, "%llu", READ_ONCE(s->stats.sections_broken));

/**
 * struct cs_tune_attr - a setting in sysfs
 * @attr: the file
 * @offset: where the u64 lives in struct cs_store
 * @shift: the file shows the value shifted left by this (blocks to bytes)
 * @min: smallest value but 0
 * @max: largest value
 */
struct cs_tune_attr {
	struct kobj_attribute attr;
	size_t offset;
	unsigned int shift;
	u64 min;
	u64 max;
};

static u64 *cs_tune_field(struct kobject *kobj, struct kobj_attribute *attr)
{
	struct cs_store *s = container_of(kobj, struct cs_store, kobj);
	struct cs_tune_attr *ta = container_of(attr, struct cs_tune_attr, attr);

	return (u64 *)((char *)s + ta->offset);
}

static ssize_t cs_tune_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	struct cs_tune_attr *ta = container_of(attr, struct cs_tune_attr, attr);

	return sysfs_emit(buf, "%llu\n",
			  READ_ONCE(*cs_tune_field(kobj, attr)) << ta->shift);
}

static ssize_t cs_tune_store(struct kobject *kobj, struct kobj_attribute *attr,
			     const char *buf, size_t len)
{
	struct cs_store *s = container_of(kobj, struct cs_store, kobj);
	struct cs_tune_attr *ta = container_of(attr, struct cs_tune_attr, attr);
	u64 v;
	int err = kstrtou64(buf, 0, &v);

	if (err)
		return err;
	if ((v && v < ta->min) || v > ta->max)
		return -EINVAL;
	WRITE_ONCE(*cs_tune_field(kobj, attr), v >> ta->shift);
	wake_up(&s->cp_wait);
	return len;
}

#define CS_ATTR_TUNE(_name, _field, _min, _max, _shift)			\
static struct cs_tune_attr cs_attr_##_name = {				\
	.attr = __ATTR(_name, 0644, cs_tune_show, cs_tune_store),	\
	.offset = offsetof(struct cs_store, tune._field),		\
	.shift = _shift,						\
	.min = _min,							\
	.max = _max,							\
}

/* 0 turns scheduled checkpoints off; else at least 10 ms. */
CS_ATTR_TUNE(interval_ms, interval_ms, CS_INTERVAL_MS_MIN, 86400000, 0);
CS_ATTR_TUNE(dirty_limit_bytes, dirty_limit, CAPSTORE_BLOCK_SIZE, 1ULL << 52,
	     CAPSTORE_BLOCK_SHIFT);
CS_ATTR_TUNE(section_timeout_ms, section_timeout_ms, 1, 600000, 0);

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
	&cs_attr_dirty_bytes.attr,
	&cs_attr_failed_checkpoints.attr,
	&cs_attr_max_checkpoint_ns.attr,
	&cs_attr_last_checkpoint_pages.attr,
	&cs_attr_sections_open.attr,
	&cs_attr_sections_broken.attr,
	&cs_attr_interval_ms.attr.attr,
	&cs_attr_dirty_limit_bytes.attr.attr,
	&cs_attr_section_timeout_ms.attr.attr,
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
