// SPDX-License-Identifier: GPL-2.0
/*
 * cli - the online subcommands of the capstore tool against what a
 * program does with capabilities at the same time: detach refused while a
 * capability is open, ls of a tree of nodes built here (nested paths,
 * restricted and weak rights, used-slot counts), checkpoint numbers.
 *
 * The store on $CS_TEST_DEV must be attached already (the scenario,
 * selftests/scenarios/cli.sh, attaches it with the tool) and its root
 * slot 3 empty. The tool is $CAPSTORE, default /usr/bin/capstore.
 *
 * status_json parses status --json with a JSON parser of its own (the
 * guest has no python or jq; the scenario also hands the output to the
 * host's) and compares it with sysfs. set_settings and set_needs_root
 * check that capstore set lands in sysfs, that bad values are refused and
 * change nothing, and that it needs root; checkpoint_wait that
 * checkpoint --wait returns with the checkpoint committed.
 *
 * loop_autoclear (skipped unless $CS_CLI_LOOP and $CS_CLI_STORE_ID are
 * set) checks what detach of an image file relies on: the store attached
 * from an image by the tool is on loop device $CS_CLI_LOOP, which has
 * autoclear; detaching it through the library alone, without the tool's
 * help, releases the loop device.
 */
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define TREE_SLOT	3
#define WAIT_SLOT	6	/* checkpoint_wait's segment, removed again */
#define OUT_MAX		16384

static const char *tool(void)
{
	const char *p = getenv("CAPSTORE");

	return p && *p ? p : "/usr/bin/capstore";
}

/*
 * Run the tool with @args (NULL-terminated, without argv[0]) as user @uid
 * (-1: as we are); its stdout and stderr together into @out. Returns its
 * exit status, or -1.
 */
static int run_tool_as(int uid, char *out, size_t len,
		       const char *const *args)
{
	const char *argv[16];
	size_t n = 0, got = 0;
	int pfd[2], status;
	ssize_t r;
	pid_t pid;

	argv[n++] = tool();
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	if (pipe(pfd))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		if (uid >= 0 && (setgroups(0, NULL) || setgid((gid_t)uid) ||
				 setuid((uid_t)uid)))
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (got < len - 1 &&
	       (r = read(pfd[0], out + got, len - 1 - got)) > 0)
		got += (size_t)r;
	out[got] = '\0';
	close(pfd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	/* Shown as TAP comments, for the log. */
	printf("# $ capstore");
	for (n = 1; argv[n]; n++)
		printf(" %s", argv[n]);
	printf(" -> %d\n", WEXITSTATUS(status));
	{
		char *line, *save, copy[OUT_MAX];

		snprintf(copy, sizeof(copy), "%s", out);
		for (line = strtok_r(copy, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			printf("#   %s\n", line);
	}
	return WEXITSTATUS(status);
}

static int run_tool(char *out, size_t len, const char *const *args)
{
	return run_tool_as(-1, out, len, args);
}

/* run_tool() with up to four arguments (NULL for none). */
static int cmd(char *out, const char *a, const char *b, const char *c,
	       const char *d)
{
	const char *args[] = { a, b, c, d, NULL };

	return run_tool(out, OUT_MAX, args);
}

/* Does @out hold a line that starts with @prefix? */
static int has_line(const char *out, const char *prefix)
{
	const char *p = out;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (!strncmp(p, prefix, n))
			return 1;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return 0;
}

static int open_root(uint32_t *id)
{
	int ctl, root, ret;

	ret = cs_store_id_of(cs_test_dev());
	if (ret < 0)
		return ret;
	*id = (uint32_t)ret;
	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	if (ctl < 0)
		return ctl;
	root = capstore_root_open(ctl, *id, CAPSTORE_FD_CLOEXEC);
	close(ctl);
	return root;
}

TEST(detach_busy)
{
	char out[OUT_MAX];
	const char *dev = cs_test_dev();
	uint32_t id;
	int root;

	root = open_root(&id);
	ASSERT_LE(0, root);
	EXPECT_EQ(1, cmd(out, "detach", dev, NULL, NULL));
	EXPECT_NE(NULL, strstr(out, "capabilities of the store are still open"));
	EXPECT_EQ(0, cmd(out, "status", dev, NULL, NULL));
	EXPECT_NE(NULL, strstr(out, "open capabilities      1"));
	close(root);
	EXPECT_EQ(0, cmd(out, "status", "--json", dev, NULL));
	EXPECT_NE(NULL, strstr(out, "\"open_caps\": 0,"));
}

/*
 * root slot 3: node A
 *   A slot 0: segment, 8 KiB, every right
 *   A slot 1: node B, empty
 *   A slot 2: the segment again, restricted to read+map, weak
 */
TEST(ls_tree)
{
	char out[OUT_MAX], idbuf[16], path[32];
	const char *dev = cs_test_dev();
	int root, a, b, seg, weak;
	uint32_t id;

	root = open_root(&id);
	ASSERT_LE(0, root);
	snprintf(idbuf, sizeof(idbuf), "%u", id);
	a = capstore_node_create(root, TREE_SLOT, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, a);
	seg = capstore_node_create(a, 0, CAPSTORE_KIND_SEGMENT, 8192,
				   CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	b = capstore_node_create(a, 1, CAPSTORE_KIND_NODE, 0,
				 CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, b);
	weak = capstore_cap_restrict(seg, CAPSTORE_RIGHT_READ |
				     CAPSTORE_RIGHT_MAP | CAPSTORE_RIGHT_WEAK,
				     CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, weak);
	ASSERT_EQ(0, capstore_node_store(a, 2, weak, 0));
	close(weak);
	close(seg);
	close(b);
	close(a);
	close(root);

	ASSERT_EQ(0, cmd(out, "ls", idbuf, NULL, NULL));
	EXPECT_TRUE(has_line(out, " 3 node    rwmgd "));
	snprintf(path, sizeof(path), "%d", TREE_SLOT);
	ASSERT_EQ(0, cmd(out, "ls", dev, path, NULL));
	EXPECT_TRUE(has_line(out, " 0 segment rwmgd "));
	EXPECT_NE(NULL, strstr(out, " 8.00 KiB\n"));
	EXPECT_TRUE(has_line(out, " 1 node    rwmgd "));
	EXPECT_TRUE(has_line(out, " 2 segment r-m--W "));
	ASSERT_EQ(0, cmd(out, "ls", "-l", dev, path));
	EXPECT_TRUE(has_line(out, "SLOT KIND"));
	EXPECT_NE(NULL, strstr(out, " 8192 (8.00 KiB)\n"));
	EXPECT_NE(NULL, strstr(out, " 0 of 32 slots used\n"));
	snprintf(path, sizeof(path), "%d/1", TREE_SLOT);
	ASSERT_EQ(0, cmd(out, "ls", dev, path, NULL));
	EXPECT_STREQ("", out);
	snprintf(path, sizeof(path), "/%d/0/", TREE_SLOT);
	EXPECT_EQ(1, cmd(out, "ls", dev, path, NULL));
	EXPECT_NE(NULL, strstr(out, "slot 0 of node 3 holds a segment, not a node"));
	snprintf(path, sizeof(path), "%d/9", TREE_SLOT);
	EXPECT_EQ(1, cmd(out, "ls", dev, path, NULL));
	EXPECT_NE(NULL, strstr(out, "slot 9 of node 3 is empty"));
}

TEST(checkpoint_seq)
{
	char out[OUT_MAX], seqfile[128], buf[32] = "";
	const char *dev = cs_test_dev();
	const char *name = strrchr(dev, '/') + 1;
	uint64_t first, second, sys;
	FILE *f;

	ASSERT_EQ(0, cmd(out, "checkpoint", "--seq-only", dev, NULL));
	first = strtoull(out, NULL, 10);
	ASSERT_LT(0ULL, (unsigned long long)first);
	ASSERT_EQ(0, cmd(out, "checkpoint", name, NULL, NULL));
	ASSERT_EQ(1, sscanf(strstr(out, "checkpoint ") ?
			    strstr(out, "checkpoint ") : "",
			    "checkpoint %" SCNu64, &second));
	EXPECT_LE(first, second);
	snprintf(seqfile, sizeof(seqfile), "/sys/fs/capstore/%s/seq", name);
	f = fopen(seqfile, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(buf, sizeof(buf), f));
	fclose(f);
	sys = strtoull(buf, NULL, 10);
	EXPECT_EQ(second, sys);
}

/* ------------------------------------------------------------ JSON */

/*
 * A JSON checker (RFC 8259 grammar; strings are not checked for UTF-8),
 * enough to tell whether status --json prints JSON.
 */
struct json {
	const char *p;
	unsigned int depth;
};

static int json_value(struct json *j);

static void json_ws(struct json *j)
{
	while (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')
		j->p++;
}

static int json_string(struct json *j)
{
	int i;

	if (*j->p++ != '"')
		return -1;
	while (*j->p != '"') {
		if ((unsigned char)*j->p < 0x20)
			return -1;	/* also the end of the text */
		if (*j->p++ != '\\')
			continue;
		if (*j->p && strchr("\"\\/bfnrt", *j->p)) {
			j->p++;
			continue;
		}
		if (*j->p++ != 'u')
			return -1;
		for (i = 0; i < 4; i++)
			if (!isxdigit((unsigned char)*j->p++))
				return -1;
	}
	j->p++;
	return 0;
}

static int json_digits(struct json *j)
{
	if (!isdigit((unsigned char)*j->p))
		return -1;
	while (isdigit((unsigned char)*j->p))
		j->p++;
	return 0;
}

static int json_number(struct json *j)
{
	if (*j->p == '-')
		j->p++;
	if (*j->p == '0')
		j->p++;
	else if (json_digits(j))
		return -1;
	if (*j->p == '.') {
		j->p++;
		if (json_digits(j))
			return -1;
	}
	if (*j->p == 'e' || *j->p == 'E') {
		j->p++;
		if (*j->p == '+' || *j->p == '-')
			j->p++;
		if (json_digits(j))
			return -1;
	}
	return 0;
}

static int json_word(struct json *j, const char *w)
{
	size_t n = strlen(w);

	if (strncmp(j->p, w, n))
		return -1;
	j->p += n;
	return 0;
}

/* '{' members '}' or '[' values ']' */
static int json_container(struct json *j, char close_char)
{
	j->p++;
	json_ws(j);
	if (*j->p == close_char) {
		j->p++;
		return 0;
	}
	for (;;) {
		if (close_char == '}') {
			json_ws(j);
			if (json_string(j))
				return -1;
			json_ws(j);
			if (*j->p++ != ':')
				return -1;
		}
		if (json_value(j))
			return -1;
		if (*j->p == close_char) {
			j->p++;
			return 0;
		}
		if (*j->p++ != ',')
			return -1;
	}
}

static int json_value(struct json *j)
{
	int ret;

	if (++j->depth > 64)
		return -1;
	json_ws(j);
	switch (*j->p) {
	case '{':
		ret = json_container(j, '}');
		break;
	case '[':
		ret = json_container(j, ']');
		break;
	case '"':
		ret = json_string(j);
		break;
	case 't':
		ret = json_word(j, "true");
		break;
	case 'f':
		ret = json_word(j, "false");
		break;
	case 'n':
		ret = json_word(j, "null");
		break;
	default:
		ret = json_number(j);
		break;
	}
	json_ws(j);
	j->depth--;
	return ret;
}

/* Is @s one JSON text? On failure, where it stops making sense. */
static int json_valid(const char *s, size_t *where)
{
	struct json j = { .p = s, .depth = 0 };
	int ret = json_value(&j);

	if (!ret && *j.p)
		ret = -1;
	*where = (size_t)(j.p - s);
	return ret;
}

/*
 * The integer member @key of the (only) object in status --json's output:
 * "key": N on a line of its own. -1 if there is none.
 */
static int json_u64(const char *s, const char *key, uint64_t *v)
{
	char pat[64], *end;
	const char *p;

	snprintf(pat, sizeof(pat), "\n    \"%s\": ", key);
	p = strstr(s, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	if (!isdigit((unsigned char)*p))
		return -1;
	*v = strtoull(p, &end, 10);
	return *end == ',' || *end == '\n' ? 0 : -1;
}

/* ----------------------------------------------------------- sysfs */

static int store_attr(const char *name, const char *attr, uint64_t *v)
{
	char path[128], buf[32] = "";
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/%s", name, attr);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	if (!ok || !isdigit((unsigned char)buf[0]))
		return -EINVAL;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

static int store_attr_set(const char *name, const char *attr, uint64_t v)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/fs/capstore/%s/%s", name, attr);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "%" PRIu64 "\n", v);
	ret = fclose(f) ? -errno : 0;
	return ret;
}

static const char *dev_name(void)
{
	const char *dev = cs_test_dev();

	return strrchr(dev, '/') ? strrchr(dev, '/') + 1 : dev;
}

/* The checkpoint settings, to put back after a test changed them. */
struct settings {
	uint64_t interval, dirty_limit, section_timeout;
};

static int settings_get(struct settings *s)
{
	return store_attr(dev_name(), "interval_ms", &s->interval) ?:
	       store_attr(dev_name(), "dirty_limit_bytes", &s->dirty_limit) ?:
	       store_attr(dev_name(), "section_timeout_ms",
			  &s->section_timeout);
}

static int settings_put(const struct settings *s)
{
	return store_attr_set(dev_name(), "interval_ms", s->interval) ?:
	       store_attr_set(dev_name(), "dirty_limit_bytes",
			      s->dirty_limit) ?:
	       store_attr_set(dev_name(), "section_timeout_ms",
			      s->section_timeout);
}

TEST(status_json)
{
	static const char *const figures[] = {
		"interval_ms", "dirty_limit_bytes", "section_timeout_ms",
		"seq", "checkpoints", "failed_checkpoints",
		"last_checkpoint_ns", "max_checkpoint_ns", "last_stall_ns",
		"max_stall_ns", "blocks_written", "written_bytes",
		"dirty_bytes", "size_bytes", "free_bytes", "objects",
		"open_caps",
	};
	static const char *const stable[] = {
		"id", "blocks", "interval_ms", "dirty_limit_bytes",
		"section_timeout_ms",
	};
	char out[OUT_MAX], bad[48];
	const char *dev = cs_test_dev();
	uint64_t v, sys;
	size_t where, i;

	ASSERT_EQ(0, cmd(out, "status", "--json", NULL, NULL));
	EXPECT_EQ(0, json_valid(out, &where)) {
		snprintf(bad, sizeof(bad), "%s", out + where);
		TH_LOG("not JSON at byte %zu: '%s'", where, bad);
	}
	ASSERT_EQ(0, cmd(out, "status", "--json", dev, NULL));
	ASSERT_EQ(0, json_valid(out, &where)) {
		snprintf(bad, sizeof(bad), "%s", out + where);
		TH_LOG("not JSON at byte %zu: '%s'", where, bad);
	}
	EXPECT_EQ(0, strncmp(out, "[\n  {", 5));
	EXPECT_EQ(NULL, strstr(out, "},"));	/* one store */
	for (i = 0; i < sizeof(figures) / sizeof(figures[0]); i++) {
		EXPECT_EQ(0, json_u64(out, figures[i], &v)) {
			TH_LOG("no integer \"%s\"", figures[i]);
		}
	}
	for (i = 0; i < sizeof(stable) / sizeof(stable[0]); i++) {
		ASSERT_EQ(0, json_u64(out, stable[i], &v));
		ASSERT_EQ(0, store_attr(dev_name(), stable[i], &sys));
		EXPECT_EQ(sys, v) {
			TH_LOG("\"%s\" is %" PRIu64 ", sysfs says %" PRIu64,
			       stable[i], v, sys);
		}
	}
	ASSERT_EQ(0, json_u64(out, "blocks_written", &v));
	ASSERT_EQ(0, json_u64(out, "written_bytes", &sys));
	EXPECT_EQ(v * 4096, sys);
	EXPECT_NE(NULL, strstr(out, "\n    \"shutdown\": false"));
	/* The checker itself. */
	EXPECT_NE(0, json_valid("[{\"a\": 1,}]", &where));
	EXPECT_NE(0, json_valid("[{\"a\": 01}]", &where));
	EXPECT_NE(0, json_valid("[\"\x01\"]", &where));
	EXPECT_NE(0, json_valid("[] []", &where));
	EXPECT_EQ(0, json_valid(" [{\"a\\u00e9\\n\": [-1.5e+3, true, null]}] ",
				&where));
}

TEST(set_settings)
{
	const char *set3[] = { "set", NULL, "interval=1234", "dirty-limit=8M",
			       "section-timeout=3s", NULL };
	const char *bad[] = { "set", NULL, "interval=60000", "dirty-limit=1",
			      NULL };
	char out[OUT_MAX], idbuf[16];
	const char *dev = cs_test_dev();
	struct settings before, now;

	ASSERT_EQ(0, settings_get(&before));
	snprintf(idbuf, sizeof(idbuf), "%d", cs_store_id_of(dev));

	set3[1] = dev;
	ASSERT_EQ(0, run_tool(out, OUT_MAX, set3));
	EXPECT_STREQ("", out);
	ASSERT_EQ(0, settings_get(&now));
	EXPECT_EQ(1234ULL, (unsigned long long)now.interval);
	EXPECT_EQ(8ULL << 20, (unsigned long long)now.dirty_limit);
	EXPECT_EQ(3000ULL, (unsigned long long)now.section_timeout);
	ASSERT_EQ(0, cmd(out, "set", dev_name(), NULL, NULL));
	EXPECT_TRUE(has_line(out, "interval=1234\n"));
	EXPECT_TRUE(has_line(out, "dirty-limit=8388608\n"));
	EXPECT_TRUE(has_line(out, "section-timeout=3000\n"));
	ASSERT_EQ(0, cmd(out, "status", dev, NULL, NULL));
	EXPECT_TRUE(has_line(out, "  checkpoint interval    1234 ms\n"));
	EXPECT_TRUE(has_line(out, "  dirty limit            8.00 MiB (8388608 bytes)\n"));
	EXPECT_TRUE(has_line(out, "  section timeout        3000 ms\n"));

	/* The module keeps whole blocks: 12345 bytes become 12288. */
	ASSERT_EQ(0, cmd(out, "set", "-v", idbuf, "dirty-limit=12345"));
	EXPECT_TRUE(has_line(out, "dirty-limit=12288 (was 8388608)\n"));
	ASSERT_EQ(0, store_attr(dev_name(), "dirty_limit_bytes",
				&now.dirty_limit));
	EXPECT_EQ(12288ULL, (unsigned long long)now.dirty_limit);
	ASSERT_EQ(0, cmd(out, "set", "--interval", "off", dev));
	ASSERT_EQ(0, store_attr(dev_name(), "interval_ms", &now.interval));
	EXPECT_EQ(0ULL, (unsigned long long)now.interval);

	/* Bad values: usage errors, and nothing changes. */
	bad[1] = dev;
	EXPECT_EQ(2, run_tool(out, OUT_MAX, bad));
	EXPECT_NE(NULL, strstr(out, "dirty-limit '1' is out of range"));
	EXPECT_EQ(2, cmd(out, "set", dev, "interval=9", NULL));
	EXPECT_NE(NULL, strstr(out, "interval '9' is out of range"));
	EXPECT_EQ(2, cmd(out, "set", dev, "section-timeout=601s", NULL));
	EXPECT_EQ(2, cmd(out, "set", dev, "interval=fast", NULL));
	EXPECT_EQ(2, cmd(out, "set", dev, "bogus=1", NULL));
	ASSERT_EQ(0, settings_get(&now));
	EXPECT_EQ(0ULL, (unsigned long long)now.interval);
	EXPECT_EQ(12288ULL, (unsigned long long)now.dirty_limit);
	EXPECT_EQ(3000ULL, (unsigned long long)now.section_timeout);
	EXPECT_EQ(1, cmd(out, "set", "42", "interval=1000", NULL));
	EXPECT_NE(NULL, strstr(out, "no store with id 42 is attached"));

	/* The module's own limits agree with the tool's. */
	EXPECT_EQ(-EINVAL, store_attr_set(dev_name(), "interval_ms", 9));
	EXPECT_EQ(0, store_attr_set(dev_name(), "interval_ms", 10));
	EXPECT_EQ(0, store_attr_set(dev_name(), "interval_ms", 86400000));
	EXPECT_EQ(-EINVAL, store_attr_set(dev_name(), "interval_ms",
					  86400001));
	EXPECT_EQ(-EINVAL, store_attr_set(dev_name(), "dirty_limit_bytes",
					  4095));
	EXPECT_EQ(-EINVAL, store_attr_set(dev_name(), "dirty_limit_bytes",
					  (1ULL << 52) + 1));
	EXPECT_EQ(-EINVAL, store_attr_set(dev_name(), "section_timeout_ms",
					  600001));
	ASSERT_EQ(0, cmd(out, "set", dev, "interval=24h", "dirty-limit=4P"));
	ASSERT_EQ(0, cmd(out, "set", dev, "section-timeout=10min", NULL));

	ASSERT_EQ(0, settings_put(&before));
}

TEST(set_needs_root)
{
	const char *args[] = { "set", NULL, "interval=1000", NULL };
	const char *show[] = { "set", NULL, NULL };
	char out[OUT_MAX];
	struct settings before, now;

	ASSERT_EQ(0, settings_get(&before));
	args[1] = cs_test_dev();
	EXPECT_EQ(1, run_tool_as(65534, out, OUT_MAX, args));
	EXPECT_NE(NULL, strstr(out, "needs root"));
	ASSERT_EQ(0, settings_get(&now));
	EXPECT_EQ(before.interval, now.interval);
	/* Reading them needs nothing. */
	show[1] = dev_name();
	EXPECT_EQ(0, run_tool_as(65534, out, OUT_MAX, show));
	EXPECT_TRUE(has_line(out, "interval="));
}

TEST(checkpoint_wait)
{
	char out[OUT_MAX], *end;
	const char *dev = cs_test_dev();
	uint64_t seq, seq2, before, after, count0, count1, failed;
	struct settings saved;
	int root, seg;
	uint32_t id;

	/* No scheduled checkpoint in between: seq moves only for ours. */
	ASSERT_EQ(0, settings_get(&saved));
	ASSERT_EQ(0, store_attr_set(dev_name(), "interval_ms", 0));
	/* Something to commit: a new segment with a byte in it. */
	root = open_root(&id);
	ASSERT_LE(0, root);
	seg = capstore_node_create(root, WAIT_SLOT, CAPSTORE_KIND_SEGMENT,
				   4096, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, seg);
	ASSERT_EQ(1, capstore_segment_pwrite(seg, "x", 1, 0));
	ASSERT_EQ(0, store_attr(dev_name(), "seq", &before));
	ASSERT_EQ(0, store_attr(dev_name(), "checkpoints", &count0));

	ASSERT_EQ(0, cmd(out, "checkpoint", "--wait", "--seq-only", dev));
	seq = strtoull(out, &end, 10);
	EXPECT_EQ('\n', *end);
	/* Committed when the command returned: sysfs shows it already. */
	ASSERT_EQ(0, store_attr(dev_name(), "seq", &after));
	ASSERT_EQ(0, store_attr(dev_name(), "checkpoints", &count1));
	EXPECT_LT(before, seq);
	EXPECT_EQ(seq, after);
	EXPECT_LT(count0, count1);

	/*
	 * Nothing changed since: the checkpoint that holds every change is
	 * the one just committed, or a later one.
	 */
	ASSERT_EQ(0, cmd(out, "checkpoint", "-w", dev_name(), NULL));
	EXPECT_NE(NULL, strstr(out, " committed\n"));
	EXPECT_EQ(1, sscanf(strstr(out, "checkpoint ") ?: "",
			    "checkpoint %" SCNu64, &seq2));
	EXPECT_LE(seq, seq2);
	ASSERT_EQ(0, store_attr(dev_name(), "seq", &after));
	EXPECT_EQ(seq2, after);
	ASSERT_EQ(0, store_attr(dev_name(), "failed_checkpoints", &failed));
	EXPECT_EQ(0ULL, (unsigned long long)failed);
	EXPECT_EQ(2, cmd(out, "checkpoint", "--no-wait", dev, NULL));

	EXPECT_EQ(0, capstore_cap_destroy(seg, 0));
	EXPECT_EQ(0, capstore_node_clear(root, WAIT_SLOT, 0));
	close(seg);
	close(root);
	ASSERT_EQ(0, settings_put(&saved));
}

TEST(loop_autoclear)
{
	const char *loop = getenv("CS_CLI_LOOP");
	const char *sid = getenv("CS_CLI_STORE_ID");
	struct timespec tick = { .tv_nsec = 10 * 1000 * 1000 };
	char path[128];
	struct stat st;
	int ctl, waited;

	if (!loop || !*loop || !sid || !*sid)
		SKIP(return, "CS_CLI_LOOP and CS_CLI_STORE_ID not set");
	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", loop);
	ASSERT_EQ(0, stat(path, &st));
	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, ctl);
	ASSERT_EQ(0, capstore_store_detach(ctl, (uint32_t)atoi(sid), 0));
	close(ctl);
	for (waited = 0; waited < 3000 && !stat(path, &st); waited += 10)
		nanosleep(&tick, NULL);
	printf("# %s unbound after %d ms\n", loop, waited);
	EXPECT_NE(0, stat(path, &st));
}

CS_HARNESS_MAIN
