// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore set: change the checkpoint settings of an attached store, which
 * the module shows and takes in <sysfs>/fs/capstore/<name>/ (interval_ms,
 * dirty_limit_bytes, section_timeout_ms), or print them.
 *
 *	capstore set vda interval=1000 dirty-limit=256M
 *	capstore set --section-timeout 5000 vda
 *	capstore set vda		(prints interval=5000 ...)
 *
 * Every SETTING=VALUE is checked before anything is written: a bad one is
 * a usage error and changes nothing.
 */
#include "capstore.h"
#include "online.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capstore/format.h"

/**
 * struct setting - a setting this command knows
 * @key: its name on the command line
 * @file: its file in the store's sysfs directory (also accepted as a key)
 * @duration: the value is a duration in ms (else a size in bytes)
 * @off: "off" means 0
 * @min: smallest value but 0 (the module's limit)
 * @max: largest value (the module's limit)
 * @range: the values allowed, for messages
 */
struct setting {
	const char *key;
	const char *file;
	bool duration;
	bool off;
	__u64 min;
	__u64 max;
	const char *range;
};

/* The ranges are the module's (kmod/sysfs.c, Documentation/checkpoints.rst). */
static const struct setting settings[] = {
	{ "interval", "interval_ms", true, true, 10, 86400000,
	  "0 or off (no scheduled checkpoints), or 10..86400000 ms" },
	{ "dirty-limit", "dirty_limit_bytes", false, false,
	  CAPSTORE_BLOCK_SIZE, 1ULL << 52, "0, or 4K..4P bytes" },
	{ "section-timeout", "section_timeout_ms", true, false, 0, 600000,
	  "0..600000 ms" },
};

#define NSETTINGS (sizeof(settings) / sizeof(settings[0]))

/* What a value may look like, for messages. */
#define DURATION_FORMS	"a duration: MS, or a number with ms, s, min or h"
#define SIZE_FORMS	"a size: BYTES, or a number with K, M, G, T or P"

struct change {
	const struct setting *s;
	__u64 value;
};

struct set_opts {
	struct change changes[NSETTINGS];
	size_t nchanges;
	bool verbose;
};

static void set_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore set [options] STORE [SETTING=VALUE]...\n"
		"\n"
		"Change the checkpoint settings of an attached store. They apply at\n"
		"once and last until the store is detached. With no setting to\n"
		"change, print the settings in force, in the same form.\n"
		"STORE is a store id, a store name, or the block device or image\n"
		"file it is attached from. Changing settings needs root.\n"
		"\n"
		"Settings:\n"
		"  interval=MS           a checkpoint every MS while anything changed;\n"
		"                        0 or off: no scheduled checkpoints; 10..86400000\n"
		"  dirty-limit=BYTES     a checkpoint once more than BYTES are dirty\n"
		"                        (K, M, G, T suffixes; rounded down to 4 KiB);\n"
		"                        0: as soon as anything is dirty; else 4K..4P\n"
		"  section-timeout=MS    how long a checkpoint waits for application\n"
		"                        sections to close; 0..600000\n"
		"A duration is in ms, or has a unit: ms, s, min, h (5s, 2min).\n"
		"The names of the sysfs files (interval_ms=, dirty_limit_bytes=,\n"
		"section_timeout_ms=) are accepted too.\n"
		"\n"
		"Options:\n"
		"  -i, --interval MS          the same as interval=MS\n"
		"  -d, --dirty-limit BYTES    the same as dirty-limit=BYTES\n"
		"  -t, --section-timeout MS   the same as section-timeout=MS\n"
		"  -v, --verbose              print each setting changed, with its\n"
		"                             value before\n"
		"  -h, --help                 show this help\n");
}

/* A duration: digits, then ms (the default), s, min or h. */
static int parse_duration_ms(const char *s, __u64 *out)
{
	static const struct {
		const char *unit;
		__u64 ms;
	} units[] = {
		{ "", 1 }, { "ms", 1 }, { "s", 1000 }, { "min", 60000 },
		{ "h", 3600000 },
	};
	char digits[32];
	size_t n = 0, i;
	__u64 v;
	int err;

	while (isdigit((unsigned char)s[n]))
		n++;
	if (!n || n >= sizeof(digits))
		return n ? -ERANGE : -EINVAL;
	memcpy(digits, s, n);
	digits[n] = '\0';
	err = cs_parse_u64(digits, &v);
	if (err)
		return err;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(s + n, units[i].unit))
			continue;
		if (v > ~0ULL / units[i].ms)
			return -ERANGE;
		*out = v * units[i].ms;
		return 0;
	}
	return -EINVAL;
}

static const struct setting *find_setting(const char *key, size_t len)
{
	size_t i;

	for (i = 0; i < NSETTINGS; i++)
		if ((strlen(settings[i].key) == len &&
		     !strncmp(settings[i].key, key, len)) ||
		    (strlen(settings[i].file) == len &&
		     !strncmp(settings[i].file, key, len)))
			return &settings[i];
	return NULL;
}

/* Check @val for @s and add it to @o; a usage error if it is bad. */
static int add_change(const struct cs_ctx *ctx, struct set_opts *o,
		      const struct setting *s, const char *val)
{
	__u64 v;
	size_t i;
	int err;

	for (i = 0; i < o->nchanges; i++)
		if (o->changes[i].s == s)
			return cs_usage_error(ctx, "%s given twice", s->key);
	if (s->off && !strcmp(val, "off")) {
		v = 0;
		err = 0;
	} else if (s->duration) {
		err = parse_duration_ms(val, &v);
	} else {
		err = cs_parse_size(val, &v);
	}
	if (err == -EINVAL)
		return cs_usage_error(ctx, "bad %s '%s' (%s)", s->key, val,
				      s->duration ? DURATION_FORMS : SIZE_FORMS);
	if (err || (v && v < s->min) || v > s->max)
		return cs_usage_error(ctx, "%s '%s' is out of range: %s",
				      s->key, val, s->range);
	o->changes[o->nchanges].s = s;
	o->changes[o->nchanges].value = v;
	o->nchanges++;
	return 0;
}

/* SETTING=VALUE */
static int parse_assignment(const struct cs_ctx *ctx, struct set_opts *o,
			    const char *arg)
{
	const char *eq = strchr(arg, '=');
	const struct setting *s;

	if (!eq)
		return cs_usage_error(ctx, "'%s' is not SETTING=VALUE", arg);
	s = find_setting(arg, (size_t)(eq - arg));
	if (!s)
		return cs_usage_error(ctx, "unknown setting '%.*s' (interval, "
				      "dirty-limit, section-timeout)",
				      (int)(eq - arg), arg);
	if (!eq[1])
		return cs_usage_error(ctx, "no value for %s", s->key);
	return add_change(ctx, o, s, eq + 1);
}

/* What to add to a failure to read or write a setting's file. */
static const char *set_hint(int err)
{
	switch (-err) {
	case ENOENT:
		return "the module has no such setting (is it older than this tool?)";
	case EINVAL:
	case ERANGE:
		return "the module refused the value";
	}
	return cs_hint(CS_OP_OTHER, err);
}

static int print_settings(const struct cs_ctx *ctx,
			  const struct cs_store_ref *ref)
{
	char buf[64];
	size_t i;
	int ret, rc = CS_EXIT_OK;
	const char *hint;

	for (i = 0; i < NSETTINGS; i++) {
		ret = cs_store_attr(ctx, ref->name, settings[i].file, buf,
				    sizeof(buf));
		if (ret < 0) {
			hint = set_hint(ret);
			cs_msg(ctx, "store %u (%s): reading %s: %s%s%s",
			       ref->id, ref->name, settings[i].file,
			       strerror(-ret), hint ? ": " : "",
			       hint ? hint : "");
			rc = CS_EXIT_FAIL;
			continue;
		}
		fprintf(ctx->out, "%s=%s\n", settings[i].key, buf);
	}
	return rc;
}

static int apply(const struct cs_ctx *ctx, const struct cs_store_ref *ref,
		 const struct set_opts *o)
{
	char old[64], val[32];
	const char *hint;
	size_t i;
	int ret;

	for (i = 0; i < o->nchanges; i++) {
		const struct change *c = &o->changes[i];

		if (o->verbose && cs_store_attr(ctx, ref->name, c->s->file, old,
						sizeof(old)) < 0)
			old[0] = '\0';
		snprintf(val, sizeof(val), "%" PRIu64, (uint64_t)c->value);
		ret = cs_store_attr_write(ctx, ref->name, c->s->file, val);
		if (ret < 0) {
			hint = set_hint(ret);
			cs_msg(ctx, "store %u (%s): setting %s to %s: %s%s%s%s",
			       ref->id, ref->name, c->s->file, val,
			       strerror(-ret), hint ? ": " : "",
			       hint ? hint : "",
			       i ? " (the settings before it were changed)" : "");
			return CS_EXIT_FAIL;
		}
		if (!o->verbose)
			continue;
		/* What the module made of it (dirty-limit is rounded). */
		if (cs_store_attr(ctx, ref->name, c->s->file, val,
				  sizeof(val)) < 0)
			snprintf(val, sizeof(val), "%" PRIu64,
				 (uint64_t)c->value);
		fprintf(ctx->out, "%s=%s", c->s->key, val);
		if (old[0])
			fprintf(ctx->out, " (was %s)", old);
		fputc('\n', ctx->out);
	}
	return CS_EXIT_OK;
}

int cmd_set(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "dirty-limit", required_argument, NULL, 'd' },
		{ "section-timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct set_opts o = { .nchanges = 0 };
	struct cs_store_ref ref;
	const char *store;
	int c, ret, i;

	while ((c = getopt_long(argc, argv, ":i:d:t:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'i':
			ret = add_change(ctx, &o, &settings[0], optarg);
			break;
		case 'd':
			ret = add_change(ctx, &o, &settings[1], optarg);
			break;
		case 't':
			ret = add_change(ctx, &o, &settings[2], optarg);
			break;
		case 'v':
			o.verbose = true;
			ret = 0;
			break;
		case 'h':
			set_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
		if (ret)
			return ret;
	}
	if (optind >= argc)
		return cs_usage_error(ctx, "missing STORE");
	store = argv[optind];
	if (strchr(store, '=') && !strchr(store, '/'))
		return cs_usage_error(ctx, "missing STORE before '%s'", store);
	for (i = optind + 1; i < argc; i++) {
		ret = parse_assignment(ctx, &o, argv[i]);
		if (ret)
			return ret;
	}

	if (cs_store_resolve(ctx, store, &ref))
		return CS_EXIT_FAIL;
	if (!o.nchanges)
		return print_settings(ctx, &ref);
	return apply(ctx, &ref, &o);
}
