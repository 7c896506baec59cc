// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore status: the attached stores, as the module shows them in
 * <sysfs>/fs/capstore/<name>/. The files this tool knows get labels, units
 * and human sizes; files it does not know (added by a later module) are
 * shown under their own names, and --json carries every file. A file that
 * is missing is left out.
 */
#include "capstore.h"
#include "loop.h"
#include "online.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capstore/format.h"

static void status_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore status [options] [STORE]\n"
		"\n"
		"Show every attached store, or STORE (a store id, a store name, or\n"
		"the block device or image file it is attached from): device, uuid,\n"
		"label, size, free space, objects, open capabilities, state; the\n"
		"checkpoint settings (interval, dirty limit, section timeout; change\n"
		"them with capstore set); and what checkpoints did since attach\n"
		"(count, failures, durations, stalls, bytes written, dirty bytes).\n"
		"\n"
		"Options:\n"
		"  -j, --json         print a JSON array with one object per store\n"
		"  -h, --help         show this help\n");
}

/* One sysfs file of a store. */
struct attr {
	char name[CS_NAME_LEN];
	char *value;
};

struct store_info {
	struct cs_store_ref ref;
	char device[CS_NAME_LEN + 8];	/* "/dev/vda", or "" */
	char backing[CS_PATH_LEN];	/* a loop device's file, or "" */
	struct attr *attrs;		/* sorted by name */
	size_t nattrs;
};

/* Files shown with a label, in this order; and how. */
enum fmt {
	F_RAW, F_STR, F_DEV, F_BLOCKS, F_FREE, F_NS, F_MS, F_INTERVAL,
	F_LIMIT, F_BYTES, F_WRITTEN, F_BOOL
};

static const struct {
	const char *file;
	const char *label;
	enum fmt fmt;
} known[] = {
	/* identity and space */
	{ "id", "id", F_RAW },
	{ "dev", "device", F_DEV },
	{ "uuid", "uuid", F_RAW },
	{ "label", "label", F_STR },
	{ "blocks", "size", F_BLOCKS },
	{ "free_blocks", "free", F_FREE },
	{ "objects", "objects", F_RAW },
	{ "open_caps", "open capabilities", F_RAW },
	{ "shutdown", "shut down", F_BOOL },
	/* the checkpoint schedule (capstore set) */
	{ "interval_ms", "checkpoint interval", F_INTERVAL },
	{ "dirty_limit_bytes", "dirty limit", F_LIMIT },
	{ "section_timeout_ms", "section timeout", F_MS },
	/* what checkpoints did since attach */
	{ "seq", "last checkpoint seq", F_RAW },
	{ "checkpoints", "checkpoints taken", F_RAW },
	{ "failed_checkpoints", "failed checkpoints", F_RAW },
	{ "last_checkpoint_ns", "last checkpoint took", F_NS },
	{ "max_checkpoint_ns", "longest checkpoint", F_NS },
	{ "last_stall_ns", "last stall", F_NS },
	{ "max_stall_ns", "max stall", F_NS },
	{ "last_checkpoint_pages", "last snapshot pages", F_RAW },
	{ "blocks_written", "written", F_WRITTEN },
	{ "dirty_bytes", "dirty", F_BYTES },
	{ "sections_open", "sections open", F_RAW },
	{ "sections_broken", "sections broken", F_RAW },
};

#define NKNOWN (sizeof(known) / sizeof(known[0]))

/* Values that are text even when they look like numbers. */
static bool is_string_attr(const char *name)
{
	return !strcmp(name, "dev") || !strcmp(name, "uuid") ||
	       !strcmp(name, "label");
}

static bool is_known(const char *name)
{
	size_t i;

	for (i = 0; i < NKNOWN; i++)
		if (!strcmp(known[i].file, name))
			return true;
	return false;
}

static void free_info(struct store_info *si)
{
	size_t i;

	for (i = 0; i < si->nattrs; i++)
		free(si->attrs[i].value);
	free(si->attrs);
	si->attrs = NULL;
	si->nattrs = 0;
}

static int attr_cmp(const void *a, const void *b)
{
	return strcmp(((const struct attr *)a)->name,
		      ((const struct attr *)b)->name);
}

static const char *get_attr(const struct store_info *si, const char *name)
{
	struct attr key, *hit;

	snprintf(key.name, sizeof(key.name), "%s", name);
	hit = bsearch(&key, si->attrs, si->nattrs, sizeof(*si->attrs),
		      attr_cmp);
	return hit ? hit->value : NULL;
}

static bool get_u64(const struct store_info *si, const char *name, __u64 *v)
{
	const char *s = get_attr(si, name);

	return s && !cs_parse_u64(s, v);
}

/* Read every readable regular file of the store's sysfs directory. */
static int load_info(const struct cs_ctx *ctx, const struct cs_store_ref *ref,
		     struct store_info *si)
{
	char path[CS_PATH_LEN], buf[CS_ATTR_LEN], bdev[CS_NAME_LEN];
	struct attr *p;
	struct dirent *de;
	struct cs_loop loop;
	size_t cap = 0;
	struct stat st;
	DIR *d;
	int err = 0, dfd;

	memset(si, 0, sizeof(*si));
	si->ref = *ref;
	snprintf(path, sizeof(path), "%s/" CS_SYSFS_STORES "/%s", ctx->sysfs,
		 ref->name);
	d = opendir(path);
	if (!d)
		return -errno;
	dfd = dirfd(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    strlen(de->d_name) >= sizeof(p->name) ||
		    fstatat(dfd, de->d_name, &st, 0) || !S_ISREG(st.st_mode))
			continue;
		/* Write-only and failing files are left out. */
		if (cs_store_attr(ctx, ref->name, de->d_name, buf,
				  sizeof(buf)) < 0)
			continue;
		if (si->nattrs == cap) {
			cap = cap ? 2 * cap : 32;
			p = realloc(si->attrs, cap * sizeof(*p));
			if (!p) {
				err = -ENOMEM;
				break;
			}
			si->attrs = p;
		}
		p = &si->attrs[si->nattrs];
		strcpy(p->name, de->d_name);
		p->value = strdup(buf);
		if (!p->value) {
			err = -ENOMEM;
			break;
		}
		si->nattrs++;
	}
	closedir(d);
	if (err) {
		free_info(si);
		return err;
	}
	if (si->nattrs)
		qsort(si->attrs, si->nattrs, sizeof(*si->attrs), attr_cmp);
	if (ref->has_dev &&
	    !cs_blockdev_name(ctx, ref->major, ref->minor, bdev, sizeof(bdev))) {
		snprintf(si->device, sizeof(si->device), "/dev/%s", bdev);
		if (cs_loop_get(ctx, bdev, &loop) == 1) {
			snprintf(path, sizeof(path), "block/%s/loop/backing_file",
				 bdev);
			if (cs_sysfs_read(ctx, path, si->backing,
					  sizeof(si->backing)) < 0)
				si->backing[0] = '\0';
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- human */

/* @s on one line, with quotes, backslashes and non-printables escaped. */
static void put_escaped(FILE *f, const char *s, bool quote)
{
	const unsigned char *p;

	if (quote)
		fputc('"', f);
	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			fprintf(f, "\\x%02x", *p);
		else
			fputc(*p, f);
	}
	if (quote)
		fputc('"', f);
}

static void format_ns(__u64 ns, char *buf, size_t len)
{
	if (ns < 1000)
		snprintf(buf, len, "%" PRIu64 " ns", (uint64_t)ns);
	else if (ns < 1000000)
		snprintf(buf, len, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, len, "%.3f ms", (double)ns / 1e6);
	else
		snprintf(buf, len, "%.3f s", (double)ns / 1e9);
}

#define LABEL_WIDTH	22

static void put_label(FILE *f, const char *label)
{
	fprintf(f, "  %-*s ", LABEL_WIDTH, label);
}

static void print_known(FILE *f, const struct store_info *si, size_t k)
{
	const char *v = get_attr(si, known[k].file);
	char b1[CS_BYTES_STR_LEN], b2[CS_BYTES_STR_LEN], t[32];
	__u64 n, total;

	if (!v)
		return;
	put_label(f, known[k].label);
	switch (known[k].fmt) {
	case F_DEV:
		if (si->device[0])
			fprintf(f, "%s (%s)", si->device, v);
		else
			put_escaped(f, v, false);
		if (si->backing[0]) {
			fputc('\n', f);
			put_label(f, "backing file");
			put_escaped(f, si->backing, false);
		}
		break;
	case F_STR:
		put_escaped(f, v, true);
		break;
	case F_BLOCKS:
		if (cs_parse_u64(v, &n) ||
		    n > ~0ULL / CAPSTORE_BLOCK_SIZE)
			goto raw;
		cs_format_bytes(n * CAPSTORE_BLOCK_SIZE, b1, sizeof(b1));
		fprintf(f, "%s (%" PRIu64 " blocks of %u bytes)", b1,
			(uint64_t)n, CAPSTORE_BLOCK_SIZE);
		break;
	case F_FREE:
		if (cs_parse_u64(v, &n) || n > ~0ULL / CAPSTORE_BLOCK_SIZE)
			goto raw;
		cs_format_bytes(n * CAPSTORE_BLOCK_SIZE, b1, sizeof(b1));
		fprintf(f, "%s (%" PRIu64 " blocks", b1, (uint64_t)n);
		if (get_u64(si, "blocks", &total) && total && n <= total)
			/* Rounded down: "100.0%" only when all is free. */
			fprintf(f, ", %.1f%%",
				(double)(__u64)(1000.0 * (double)n /
						(double)total) / 10.0);
		fputc(')', f);
		break;
	case F_NS:
		if (cs_parse_u64(v, &n))
			goto raw;
		format_ns(n, t, sizeof(t));
		fputs(t, f);
		break;
	case F_MS:
		if (cs_parse_u64(v, &n))
			goto raw;
		fprintf(f, "%" PRIu64 " ms", (uint64_t)n);
		break;
	case F_INTERVAL:
		if (cs_parse_u64(v, &n))
			goto raw;
		if (!n)
			fputs("off (no scheduled checkpoints)", f);
		else
			fprintf(f, "%" PRIu64 " ms", (uint64_t)n);
		break;
	case F_LIMIT:
		if (cs_parse_u64(v, &n))
			goto raw;
		if (!n) {
			fputs("0 (a checkpoint as soon as anything is dirty)", f);
			break;
		}
		/* fall through */
	case F_BYTES:
		if (cs_parse_u64(v, &n))
			goto raw;
		cs_format_bytes(n, b1, sizeof(b1));
		if (n < 1024)
			fputs(b1, f);
		else
			fprintf(f, "%s (%" PRIu64 " bytes)", b1, (uint64_t)n);
		break;
	case F_WRITTEN:
		if (cs_parse_u64(v, &n) || n > ~0ULL / CAPSTORE_BLOCK_SIZE)
			goto raw;
		cs_format_bytes(n * CAPSTORE_BLOCK_SIZE, b2, sizeof(b2));
		fprintf(f, "%s (%" PRIu64 " blocks)", b2, (uint64_t)n);
		break;
	case F_BOOL:
		if (!strcmp(v, "0"))
			fputs("no", f);
		else if (!strcmp(v, "1"))
			fputs("yes (detach and attach again to resume)", f);
		else
			goto raw;
		break;
	case F_RAW:
raw:
		put_escaped(f, v, false);
		break;
	}
	fputc('\n', f);
}

static void print_human(FILE *f, const struct store_info *si)
{
	size_t i;

	fputs("store ", f);
	put_escaped(f, si->ref.name, false);
	fputc('\n', f);
	for (i = 0; i < NKNOWN; i++)
		print_known(f, si, i);
	for (i = 0; i < si->nattrs; i++) {
		if (is_known(si->attrs[i].name))
			continue;
		put_label(f, si->attrs[i].name);
		put_escaped(f, si->attrs[i].value, false);
		fputc('\n', f);
	}
}

/* ----------------------------------------------------------------- JSON */

/* A JSON string; bytes that are not valid UTF-8 become U+0080..U+00FF. */
static void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned int n, i;

	fputc('"', f);
	while (*p) {
		if (*p == '"' || *p == '\\') {
			fprintf(f, "\\%c", *p++);
			continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			switch (*p) {
			case '\n': fputs("\\n", f); break;
			case '\t': fputs("\\t", f); break;
			case '\r': fputs("\\r", f); break;
			default: fprintf(f, "\\u%04x", *p); break;
			}
			p++;
			continue;
		}
		if (*p < 0x80) {
			fputc(*p++, f);
			continue;
		}
		/* A whole, shortest-form UTF-8 sequence passes through. */
		n = (*p & 0xe0) == 0xc0 ? 2 : (*p & 0xf0) == 0xe0 ? 3 :
		    (*p & 0xf8) == 0xf0 ? 4 : 0;
		for (i = 1; i < n; i++)
			if ((p[i] & 0xc0) != 0x80)
				n = 0;
		if (n == 2 && *p < 0xc2)
			n = 0;
		if (n == 3 && ((*p == 0xe0 && p[1] < 0xa0) ||
			       (*p == 0xed && p[1] >= 0xa0)))
			n = 0;
		if (n == 4 && ((*p == 0xf0 && p[1] < 0x90) || *p > 0xf4 ||
			       (*p == 0xf4 && p[1] >= 0x90)))
			n = 0;
		if (n) {
			fwrite(p, 1, n, f);
			p += n;
		} else {
			fprintf(f, "\\u%04x", *p++);
		}
	}
	fputc('"', f);
}

/* Does @s read as a JSON integer that fits 64 bits? */
static bool json_int(const char *s)
{
	const char *d = *s == '-' ? s + 1 : s;
	__u64 v;

	if (!isdigit((unsigned char)*d) || (d[0] == '0' && d[1]))
		return false;
	for (; *d; d++)
		if (!isdigit((unsigned char)*d))
			return false;
	if (cs_parse_u64(*s == '-' ? s + 1 : s, &v))
		return false;
	return *s != '-' || v <= (1ULL << 63);
}

static void json_key(FILE *f, bool *first, const char *key)
{
	fputs(*first ? "\n    " : ",\n    ", f);
	*first = false;
	json_str(f, key);
	fputs(": ", f);
}

static void json_u64(FILE *f, bool *first, const char *key, __u64 v)
{
	json_key(f, first, key);
	fprintf(f, "%" PRIu64, (uint64_t)v);
}

/* Keys print_json() makes up; they win over a file of the same name. */
static bool is_derived_key(const char *name)
{
	static const char *const keys[] = {
		"name", "device", "backing_file", "block_size", "size_bytes",
		"free_bytes", "written_bytes",
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(keys[i], name))
			return true;
	return false;
}

static void print_json(FILE *f, const struct store_info *si)
{
	const struct attr *a;
	bool first = true;
	__u64 n;
	size_t i;

	fputs("  {", f);
	json_key(f, &first, "name");
	json_str(f, si->ref.name);
	if (si->device[0]) {
		json_key(f, &first, "device");
		json_str(f, si->device);
	}
	if (si->backing[0]) {
		json_key(f, &first, "backing_file");
		json_str(f, si->backing);
	}
	json_u64(f, &first, "block_size", CAPSTORE_BLOCK_SIZE);
	if (get_u64(si, "blocks", &n) && n <= ~0ULL / CAPSTORE_BLOCK_SIZE)
		json_u64(f, &first, "size_bytes", n * CAPSTORE_BLOCK_SIZE);
	if (get_u64(si, "free_blocks", &n) && n <= ~0ULL / CAPSTORE_BLOCK_SIZE)
		json_u64(f, &first, "free_bytes", n * CAPSTORE_BLOCK_SIZE);
	if (get_u64(si, "blocks_written", &n) &&
	    n <= ~0ULL / CAPSTORE_BLOCK_SIZE)
		json_u64(f, &first, "written_bytes", n * CAPSTORE_BLOCK_SIZE);
	for (i = 0; i < si->nattrs; i++) {
		a = &si->attrs[i];
		if (is_derived_key(a->name))
			continue;
		json_key(f, &first, a->name);
		if (!strcmp(a->name, "shutdown") &&
		    (!strcmp(a->value, "0") || !strcmp(a->value, "1")))
			fputs(a->value[0] == '1' ? "true" : "false", f);
		else if (!is_string_attr(a->name) && json_int(a->value))
			fputs(a->value, f);
		else
			json_str(f, a->value);
	}
	fputs("\n  }", f);
}

/* -------------------------------------------------------------- command */

static int do_status(const struct cs_ctx *ctx, const char *arg, bool json)
{
	struct cs_store_ref *refs = NULL, one;
	struct store_info si;
	size_t n = 0, i, shown = 0;
	int ret, rc = CS_EXIT_OK;

	if (arg) {
		if (cs_store_resolve(ctx, arg, &one))
			return CS_EXIT_FAIL;
		refs = malloc(sizeof(*refs));
		if (!refs) {
			cs_msg_err(ctx, -ENOMEM, "status");
			return CS_EXIT_FAIL;
		}
		refs[0] = one;
		n = 1;
	} else {
		ret = cs_stores_list(ctx, &refs, &n);
		if (ret == -ENOENT) {
			cs_module_check(ctx);
			return CS_EXIT_FAIL;
		}
		if (ret < 0) {
			cs_msg_err(ctx, ret, "%s/" CS_SYSFS_STORES,
				   ctx->sysfs);
			return CS_EXIT_FAIL;
		}
	}
	if (json)
		fputc('[', ctx->out);
	for (i = 0; i < n; i++) {
		ret = load_info(ctx, &refs[i], &si);
		if (ret < 0) {
			/* Detached while we looked: not an error. */
			if (ret != -ENOENT) {
				cs_msg_err(ctx, ret, "store %s", refs[i].name);
				rc = CS_EXIT_FAIL;
			}
			continue;
		}
		if (json) {
			fputs(shown ? ",\n" : "\n", ctx->out);
			print_json(ctx->out, &si);
		} else {
			if (shown)
				fputc('\n', ctx->out);
			print_human(ctx->out, &si);
		}
		shown++;
		free_info(&si);
	}
	free(refs);
	if (json)
		fputs(shown ? "\n]\n" : "]\n", ctx->out);
	else if (!shown && rc == CS_EXIT_OK)
		fprintf(ctx->out, "no store is attached (attach one with capstore attach)\n");
	return rc;
}

int cmd_status(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	bool json = false;
	int c;

	while ((c = getopt_long(argc, argv, ":jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			status_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (argc - optind > 1)
		return cs_usage_error(ctx, "too many arguments");
	return do_status(ctx, optind < argc ? argv[optind] : NULL, json);
}
