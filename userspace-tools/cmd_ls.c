// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore ls: list the slots of a store's root node, or of the node a
 * path of slot numbers leads to ("3/0": slot 0 of the node in root slot
 * 3). Gets the root node through the control device, so it needs root;
 * everything below goes through node capabilities, which only shows what
 * the rights allow.
 */
#include "capstore.h"
#include "online.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libcapstore.h>

#define LS_MAX_DEPTH	64

static void ls_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore ls [options] STORE [PATH]\n"
		"\n"
		"List the non-empty slots of the root node of STORE (a store id, a\n"
		"store name, or the block device or image file it is attached from),\n"
		"or of the node reached by PATH: slot numbers separated by '/', so\n"
		"3/0 is slot 0 of the node held in root slot 3. Each line: slot, kind,\n"
		"rights (r read, w write, m map, g grant, d destroy, W weak), object\n"
		"id and, for segments, the size; a dead capability shows as \"dead\".\n"
		"Needs root.\n"
		"\n"
		"Options:\n"
		"  -l, --long         a header line, exact sizes, used slots of nodes\n"
		"  -h, --help         show this help\n");
}

/* "3/0" into slots[]; "", "/" and NULL are the root. -EINVAL if bad. */
static int parse_path(const char *path, unsigned int *slots,
		      unsigned int *depth)
{
	const char *p = path;
	unsigned long v;
	char *end;

	*depth = 0;
	if (!path)
		return 0;
	while (*p) {
		if (*p == '/') {
			p++;
			continue;
		}
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = strtoul(p, &end, 10);
		if (v >= CAPSTORE_NODE_SLOTS || (*end && *end != '/'))
			return -EINVAL;
		if (*depth == LS_MAX_DEPTH)
			return -E2BIG;
		slots[(*depth)++] = (unsigned int)v;
		p = end;
	}
	return 0;
}

static const char *kind_name(unsigned int kind, char *buf, size_t len)
{
	switch (kind) {
	case CAPSTORE_KIND_SEGMENT:
		return "segment";
	case CAPSTORE_KIND_NODE:
		return "node";
	case CAPSTORE_KIND_FORWARDER:
		return "forwarder";
	}
	snprintf(buf, len, "kind%u", kind);
	return buf;
}

/* Occupied slots of @node, or -errno if they cannot be fetched. */
static int count_used(int node)
{
	unsigned int i, used = 0;
	int fd;

	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		fd = capstore_node_fetch(node, i, CAPSTORE_FD_CLOEXEC);
		if (fd >= 0) {
			capstore_cap_close(fd);
			used++;
		} else if (fd == -EKEYREVOKED) {
			used++;
		} else if (fd != -ENOENT) {
			return fd;
		}
	}
	return (int)used;
}

/* "<path>" for messages: "root node" or "node 3/0". */
static void path_name(const unsigned int *slots, unsigned int depth,
		      char *buf, size_t len)
{
	size_t off;
	unsigned int i;

	if (!depth) {
		snprintf(buf, len, "the root node");
		return;
	}
	off = (size_t)snprintf(buf, len, "node ");
	for (i = 0; i < depth && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%u",
					i ? "/" : "", slots[i]);
}

/* Walk from the root along @slots; returns the node's fd or -errno. */
static int walk(const struct cs_ctx *ctx, int root, const unsigned int *slots,
		unsigned int depth)
{
	char where[LS_MAX_DEPTH * 4 + 16], kb[16];
	unsigned int i, kind;
	int node = root, fd;

	for (i = 0; i < depth; i++) {
		fd = capstore_node_fetch_info(node, slots[i],
					      CAPSTORE_FD_CLOEXEC, &kind, NULL);
		path_name(slots, i, where, sizeof(where));
		capstore_cap_close(node);
		if (fd == -ENOENT) {
			cs_msg(ctx, "slot %u of %s is empty", slots[i], where);
			return fd;
		}
		if (fd == -EKEYREVOKED) {
			cs_msg(ctx, "slot %u of %s holds a dead capability",
			       slots[i], where);
			return fd;
		}
		if (fd < 0) {
			char what[sizeof(where) + 32];

			snprintf(what, sizeof(what), "fetching slot %u of %s",
				 slots[i], where);
			cs_explain(ctx, CS_OP_OTHER, fd, what);
			return fd;
		}
		if (kind != CAPSTORE_KIND_NODE) {
			cs_msg(ctx, "slot %u of %s holds a %s, not a node",
			       slots[i], where, kind_name(kind, kb, sizeof(kb)));
			capstore_cap_close(fd);
			return -ENOTDIR;
		}
		node = fd;
	}
	return node;
}

static int list_node(const struct cs_ctx *ctx, int node, bool lng)
{
	struct capstore_cap_info info;
	char rights[CS_RIGHTS_STR_LEN], kb[16], hb[CS_BYTES_STR_LEN];
	unsigned int i, kind, r;
	int fd, ret, rc = CS_EXIT_OK, used;
	FILE *f = ctx->out;

	if (lng)
		fprintf(f, "SLOT KIND    RIGHTS  OBJECT SIZE\n");
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		fd = capstore_node_fetch_info(node, i, CAPSTORE_FD_CLOEXEC,
					      &kind, &r);
		if (fd == -ENOENT)
			continue;
		if (fd == -EKEYREVOKED) {
			if (lng)
				fprintf(f, "%4u dead    -            - -\n", i);
			else
				fprintf(f, "%2u dead\n", i);
			continue;
		}
		if (fd < 0) {
			char what[32];

			snprintf(what, sizeof(what), "slot %u", i);
			cs_explain(ctx, CS_OP_OTHER, fd, what);
			rc = CS_EXIT_FAIL;
			continue;
		}
		memset(&info, 0, sizeof(info));
		ret = capstore_cap_info(fd, &info);
		if (ret < 0) {
			char what[32];

			snprintf(what, sizeof(what), "slot %u", i);
			cs_explain(ctx, CS_OP_OTHER, ret, what);
			capstore_cap_close(fd);
			rc = CS_EXIT_FAIL;
			continue;
		}
		cs_format_rights(r, rights);
		if (lng)
			fprintf(f, "%4u %-7s %-7s %6" PRIu64 " ", i,
				kind_name(kind, kb, sizeof(kb)), rights,
				(uint64_t)info.out_oid);
		else
			fprintf(f, "%2u %-7s %-7s %6" PRIu64, i,
				kind_name(kind, kb, sizeof(kb)), rights,
				(uint64_t)info.out_oid);
		if (kind == CAPSTORE_KIND_SEGMENT) {
			cs_format_bytes(info.out_size, hb, sizeof(hb));
			if (lng)
				fprintf(f, "%" PRIu64 " (%s)",
					(uint64_t)info.out_size, hb);
			else
				fprintf(f, " %s", hb);
		} else if (lng && kind == CAPSTORE_KIND_NODE) {
			used = count_used(fd);
			if (used >= 0)
				fprintf(f, "%d of %d slots used", used,
					CAPSTORE_NODE_SLOTS);
			else
				fprintf(f, "%d slots", CAPSTORE_NODE_SLOTS);
		} else if (lng) {
			fputc('-', f);
		}
		fputc('\n', f);
		capstore_cap_close(fd);
	}
	return rc;
}

static int do_ls(const struct cs_ctx *ctx, const char *store,
		 const unsigned int *slots, unsigned int depth, bool lng)
{
	struct cs_store_ref ref;
	char what[CS_NAME_LEN + 32];
	int ctl, root, node, rc;

	ctl = cs_control_open_explained(ctx);
	if (ctl < 0)
		return CS_EXIT_FAIL;
	if (cs_store_resolve(ctx, store, &ref)) {
		capstore_cap_close(ctl);
		return CS_EXIT_FAIL;
	}
	root = capstore_root_open(ctl, ref.id, CAPSTORE_FD_CLOEXEC);
	capstore_cap_close(ctl);
	if (root < 0) {
		snprintf(what, sizeof(what), "root node of store %u (%s)",
			 ref.id, ref.name);
		cs_explain(ctx, CS_OP_ROOT, root, what);
		return CS_EXIT_FAIL;
	}
	node = walk(ctx, root, slots, depth);	/* closes root */
	if (node < 0)
		return CS_EXIT_FAIL;
	rc = list_node(ctx, node, lng);
	capstore_cap_close(node);
	return rc;
}

int cmd_ls(struct cs_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int slots[LS_MAX_DEPTH], depth;
	const char *path;
	bool lng = false;
	int c, ret;

	while ((c = getopt_long(argc, argv, ":lh", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			lng = true;
			break;
		case 'h':
			ls_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind >= argc)
		return cs_usage_error(ctx, "missing STORE");
	if (argc - optind > 2)
		return cs_usage_error(ctx, "too many arguments");
	path = optind + 1 < argc ? argv[optind + 1] : NULL;
	ret = parse_path(path, slots, &depth);
	if (ret == -E2BIG)
		return cs_usage_error(ctx, "path '%s' is deeper than %d nodes",
				      path, LS_MAX_DEPTH);
	if (ret)
		return cs_usage_error(ctx, "bad path '%s' (slot numbers 0-%d separated by '/')",
				      path, CAPSTORE_NODE_SLOTS - 1);
	return do_ls(ctx, argv[optind], slots, depth, lng);
}
