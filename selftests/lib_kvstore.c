// SPDX-License-Identifier: GPL-2.0
/*
 * lib_kvstore - the kvstore example (libcap-store/examples/kvstore.c),
 * driven through its command line as a user would.
 *
 * cli: every command, values that take a chunk or a run of pages,
 * replacing with other sizes, the table growing, deleting everything, two
 * stores in two slots, and "check" after each step.
 *
 * powercut_write / powercut_verify: a power-cut test across two boots.
 * The writer applies a sequence of operations (put, put --sync, del,
 * sync) drawn from $KV_SEED, from operation $KV_START on, with the store
 * checkpointing every 50 ms on its own besides, and never stops:
 * the host powers the VM off at a random moment. It prints, on the test
 * channel, every operation before it starts and, after every durability
 * wait that completed, "kv synced N" with the keys changed since the
 * previous one. After the reboot the verifier gets the last N the host
 * saw ($KV_SYNCED) and replays the same sequence in memory: the store
 * must be consistent ("kvstore check": the table and the allocator's
 * accounting), and equal to the state after some operation K >= N: every
 * update committed before the last completed durability wait is there
 * with its value, and no update is there by half. It prints "kv prefix K",
 * where a next cycle can go on.
 *
 * Needs a formatted store on $CS_TEST_DEV, kvstore on $PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define KV_SLOT		"5"
#define NKEYS		150
#define MAX_OPS		200000
#define MARK_AFTER	10		/* operations before the marker */

/* The output of one command. */
struct out {
	char *buf;
	size_t len;
	int status;		/* exit status, or 128 + signal */
};

/*
 * Run "kvstore --slot KV_SLOT ARGS..." (NULL-terminated), stdout into
 * @o (if not NULL), stderr to ours. Returns its exit status.
 */
static int kv(struct out *o, ...)
{
	char *argv[16] = { "kvstore", "--slot", KV_SLOT };
	size_t cap = 0;
	int p[2], n = 3, status;
	va_list ap;
	ssize_t got;
	pid_t pid;

	va_start(ap, o);
	while (n < 15 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execvp("kvstore", argv);
		_exit(127);
	}
	close(p[1]);
	if (o) {
		o->len = 0;
		o->buf = NULL;
	}
	for (;;) {
		char chunk[65536];

		got = read(p[0], chunk, sizeof(chunk));
		if (got <= 0)
			break;
		if (!o)
			continue;
		if (o->len + got + 1 > cap) {
			cap = (o->len + got + 1) * 2;
			o->buf = realloc(o->buf, cap);
			if (!o->buf)
				abort();
		}
		memcpy(o->buf + o->len, chunk, got);
		o->len += got;
		o->buf[o->len] = '\0';
	}
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	status = WIFEXITED(status) ? WEXITSTATUS(status) :
				     128 + WTERMSIG(status);
	if (o) {
		o->status = status;
		if (!o->buf)
			o->buf = strdup("");
	}
	return status;
}

/* "kvstore check" passes and says so. */
static int kv_consistent(void)
{
	struct out o;
	int ok;

	kv(&o, "check", NULL);
	ok = o.status == 0 && strstr(o.buf, ": consistent\n");
	if (!ok)
		printf("# %s", o.buf);
	free(o.buf);
	return ok;
}

/* ---- the operation sequence of the power-cut test ------------------ */

enum op_kind { OP_PUT, OP_PUT_SYNC, OP_DEL, OP_SYNC };

struct op {
	enum op_kind kind;
	unsigned int key;
	char value[9200];
};

static void key_name(unsigned int key, char *buf, size_t len)
{
	snprintf(buf, len, "key%03u", key);
}

/* Operation @i of the sequence of @seed. */
static void op_make(uint64_t seed, uint64_t i, struct op *op)
{
	uint64_t r = cs_mix(seed * 0x100000001b3ull ^ i), x;
	unsigned int pct = r % 100, len, j;

	op->key = (r >> 8) % NKEYS;
	op->kind = pct < 60 ? OP_PUT : pct < 70 ? OP_PUT_SYNC :
		   pct < 92 ? OP_DEL : OP_SYNC;
	op->value[0] = '\0';
	if (op->kind != OP_PUT && op->kind != OP_PUT_SYNC)
		return;
	/* mostly small, some a few chunks long, some runs of pages */
	x = cs_mix(r);
	switch (x % 10) {
	case 0:
		len = 2100 + (x >> 8) % 7000;
		break;
	case 1: case 2:
		len = 100 + (x >> 8) % 1900;
		break;
	default:
		len = 1 + (x >> 8) % 100;
		break;
	}
	/* "v<i>." then letters and digits: every value is new */
	j = snprintf(op->value, sizeof(op->value), "v%llu.",
		     (unsigned long long)i);
	if (len < j)
		len = j;
	for (; j < len; j++)
		op->value[j] = "abcdefghijklmnopqrstuvwxyz0123456789"
			[cs_mix(x + j) % 36];
	op->value[len] = '\0';
}

/* What the store holds: one value (or none) per key. */
struct model {
	char *val[NKEYS];
};

static void model_apply(struct model *m, const struct op *op)
{
	if (op->kind == OP_PUT || op->kind == OP_PUT_SYNC) {
		free(m->val[op->key]);
		m->val[op->key] = strdup(op->value);
	} else if (op->kind == OP_DEL) {
		free(m->val[op->key]);
		m->val[op->key] = NULL;
	}
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

/* ---- the tests ------------------------------------------------------ */

FIXTURE(kv) {
	uint32_t id;
};

FIXTURE_SETUP(kv)
{
	int root;

	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	/* kvstore uses store 0: the only one attached */
	ASSERT_EQ(0u, self->id);
	if (!getenv("KV_KEEP")) {
		root = cs_root(self->id);
		ASSERT_LE(0, root);
		capstore_node_clear(root, atoi(KV_SLOT), 0);
		capstore_node_clear(root, 6, 0);
		capstore_node_clear(root, 7, 0);
		close(root);
	}
}

FIXTURE_TEARDOWN(kv)
{
	EXPECT_EQ(0, cs_detach(self->id));
}

TEST_F_TIMEOUT(kv, cli, 120)
{
	static char big[9001];
	int i, root, node;
	struct out o;

	/* nothing yet */
	EXPECT_EQ(1, kv(NULL, "get", "a", NULL));
	ASSERT_EQ(0, kv(&o, "list", NULL));
	EXPECT_EQ(0u, o.len);
	free(o.buf);

	ASSERT_EQ(0, kv(NULL, "put", "a", "apple", NULL));
	ASSERT_EQ(0, kv(NULL, "put", "b", "banana", NULL));
	ASSERT_EQ(0, kv(&o, "get", "a", NULL));
	EXPECT_STREQ("apple\n", o.buf);
	free(o.buf);
	/* replace: same size in place, other sizes moved */
	ASSERT_EQ(0, kv(NULL, "put", "a", "APPLE", NULL));
	ASSERT_EQ(0, kv(NULL, "put", "b", "a much longer banana value", NULL));
	memset(big, 'L', sizeof(big) - 1);
	ASSERT_EQ(0, kv(NULL, "put", "large", big, NULL));
	ASSERT_EQ(0, kv(&o, "get", "large", NULL));
	EXPECT_EQ(sizeof(big), o.len);
	EXPECT_EQ(0, strncmp(o.buf, big, sizeof(big) - 1));
	free(o.buf);
	ASSERT_EQ(0, kv(NULL, "--sync", "put", "c", "cherry", NULL));
	ASSERT_EQ(0, kv(&o, "list", NULL));
	EXPECT_NE(NULL, strstr(o.buf, "a\tAPPLE\n"));
	EXPECT_NE(NULL, strstr(o.buf, "b\ta much longer banana value\n"));
	EXPECT_NE(NULL, strstr(o.buf, "c\tcherry\n"));
	free(o.buf);
	EXPECT_TRUE(kv_consistent());

	ASSERT_EQ(0, kv(NULL, "del", "a", NULL));
	EXPECT_EQ(1, kv(NULL, "del", "a", NULL));
	EXPECT_EQ(1, kv(NULL, "get", "a", NULL));
	ASSERT_EQ(0, kv(NULL, "del", "large", NULL));
	ASSERT_EQ(0, kv(NULL, "sync", NULL));
	ASSERT_EQ(0, kv(&o, "stats", NULL));
	EXPECT_NE(NULL, strstr(o.buf, "keys 2\n"));
	free(o.buf);
	EXPECT_TRUE(kv_consistent());

	/* the table grows: 2000 keys in one process, each its own update */
	ASSERT_EQ(0, kv(&o, "bench", "2000", NULL));
	printf("# %s", o.buf);
	free(o.buf);
	for (i = 0; i < 1500; i += 499) {
		char key[32];

		snprintf(key, sizeof(key), "bench-%d", i);
		EXPECT_EQ(1, kv(NULL, "get", key, NULL));
	}
	ASSERT_EQ(0, kv(&o, "stats", NULL));
	printf("# %s", o.buf);
	EXPECT_NE(NULL, strstr(o.buf, "keys 2\n"));
	EXPECT_EQ(NULL, strstr(o.buf, "buckets 512\n"));	/* it grew */
	free(o.buf);
	EXPECT_TRUE(kv_consistent());

	/* another store in another slot; usage errors */
	o.buf = NULL;
	ASSERT_EQ(0, kv(NULL, "--slot", "6", "--size", "1M", "put", "x", "y",
			NULL));
	ASSERT_EQ(0, kv(&o, "--slot", "6", "list", NULL));
	EXPECT_STREQ("x\ty\n", o.buf);
	free(o.buf);
	EXPECT_EQ(1, kv(NULL, "--slot", "6", "get", "c", NULL));
	EXPECT_EQ(2, kv(NULL, "put", "onlykey", NULL));
	EXPECT_EQ(2, kv(NULL, "frobnicate", NULL));
	EXPECT_EQ(1, kv(NULL, "put", "", "empty key", NULL));
	/* a slot that holds something else is refused */
	root = cs_root(self->id);
	ASSERT_LE(0, root);
	node = capstore_node_create(root, 7, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, node);
	EXPECT_EQ(1, kv(NULL, "--slot", "7", "list", NULL));
	EXPECT_EQ(1, kv(NULL, "--slot", "7", "put", "k", "v", NULL));
	close(node);
	close(root);
	EXPECT_TRUE(kv_consistent());
}

/* Boot 1 of a cycle: operations until the power goes. */
TEST_F_TIMEOUT(kv, powercut_write, 600)
{
	uint64_t seed = env_u64("KV_SEED", 1), start = env_u64("KV_START", 0);
	char changed[NKEYS + 1], key[16], list[NKEYS * 8 + 1];
	struct op *op = malloc(sizeof(*op));
	uint64_t i;
	size_t n;
	int ret, k;

	ASSERT_NE(NULL, op);
	/* scheduled checkpoints between (and during) the updates */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "50"));
	memset(changed, 0, sizeof(changed));
	printf("# kv seed %llu, from operation %llu\n",
	       (unsigned long long)seed, (unsigned long long)start);
	for (i = start; i < MAX_OPS; i++) {
		op_make(seed, i, op);
		key_name(op->key, key, sizeof(key));
		switch (op->kind) {
		case OP_PUT:
		case OP_PUT_SYNC:
			printf("# kv op %llu: put%s %s (%zu bytes)\n",
			       (unsigned long long)i,
			       op->kind == OP_PUT_SYNC ? " --sync" : "", key,
			       strlen(op->value));
			ret = op->kind == OP_PUT ?
			      kv(NULL, "put", key, op->value, NULL) :
			      kv(NULL, "--sync", "put", key, op->value, NULL);
			ASSERT_EQ(0, ret) TH_LOG("op %llu", (unsigned long long)i);
			changed[op->key] = 1;
			break;
		case OP_DEL:
			printf("# kv op %llu: del %s\n", (unsigned long long)i,
			       key);
			ret = kv(NULL, "del", key, NULL);
			ASSERT_TRUE(ret == 0 || ret == 1);
			changed[op->key] = 1;
			break;
		case OP_SYNC:
			printf("# kv op %llu: sync\n", (unsigned long long)i);
			ASSERT_EQ(0, kv(NULL, "sync", NULL));
			break;
		}
		fflush(stdout);
		if (op->kind == OP_PUT_SYNC || op->kind == OP_SYNC) {
			/* committed: every operation up to i */
			n = 0;
			for (k = 0; k < NKEYS; k++)
				if (changed[k])
					n += snprintf(list + n, sizeof(list) - n,
						      " key%03d", k);
			list[n] = '\0';
			printf("# kv synced %llu, keys changed since the last sync:%s\n",
			       (unsigned long long)i, list);
			memset(changed, 0, sizeof(changed));
			fflush(stdout);
		}
		if (i == start + MARK_AFTER)
			cs_crash_point();
	}
	free(op);
}

/* Boot 2: the store is the state after some operation K >= KV_SYNCED. */
TEST_F_TIMEOUT(kv, powercut_verify, 300)
{
	uint64_t seed = env_u64("KV_SEED", 1);
	int64_t synced = (int64_t)env_u64("KV_SYNCED", (uint64_t)-1);
	uint64_t start = env_u64("KV_START", 0), i, k = 0;
	/* the writer may have gone a little past the last line we saw */
	uint64_t last = env_u64("KV_LAST", MAX_OPS) + 1000;
	struct model model = { { 0 } }, got = { { 0 } };
	struct op *op = malloc(sizeof(*op));
	unsigned int key, mismatches = 0, stray = 0;
	char *line, *tab, *save = NULL;
	int found = 0;
	struct out o;

	ASSERT_NE(NULL, op);
	ASSERT_TRUE(kv_consistent());
	ASSERT_EQ(0, kv(&o, "list", NULL));
	for (line = strtok_r(o.buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		tab = strchr(line, '\t');
		if (!tab || sscanf(line, "key%3u", &key) != 1 || key >= NKEYS ||
		    tab != line + 6 || got.val[key]) {
			printf("# stray entry '%.60s'\n", line);
			stray++;
			continue;
		}
		got.val[key] = strdup(tab + 1);
	}
	free(o.buf);
	EXPECT_EQ(0u, stray);

	/* the model after every operation before the first of this cycle */
	for (i = 0; i < start; i++) {
		op_make(seed, i, op);
		model_apply(&model, op);
	}
	for (key = 0; key < NKEYS; key++)
		mismatches += !same(model.val[key], got.val[key]);
	/* then operation by operation: K = i - 1 */
	if (last > MAX_OPS)
		last = MAX_OPS;
	for (i = start; i <= last; i++) {
		k = i;		/* the state after operations < i */
		if ((int64_t)k > synced && mismatches == 0) {
			found = 1;
			break;
		}
		if (i == last)
			break;
		op_make(seed, i, op);
		if (op->kind != OP_SYNC)
			mismatches -= !same(model.val[op->key],
					    got.val[op->key]);
		model_apply(&model, op);
		if (op->kind != OP_SYNC)
			mismatches += !same(model.val[op->key],
					    got.val[op->key]);
		if ((int64_t)i == synced) {
			unsigned int lost = 0;

			for (key = 0; key < NKEYS; key++) {
				if (same(model.val[key], got.val[key]))
					continue;
				lost++;
				printf("# after the sync of operation %lld, key%03u is %.20s%s, the store has %.20s%s\n",
				       (long long)synced, key,
				       model.val[key] ? model.val[key] : "(none)",
				       model.val[key] && strlen(model.val[key]) > 20 ? "..." : "",
				       got.val[key] ? got.val[key] : "(none)",
				       got.val[key] && strlen(got.val[key]) > 20 ? "..." : "");
			}
			printf("# %u keys differ from the state the last sync committed (later operations may explain them)\n",
			       lost);
		}
	}
	EXPECT_TRUE(found) TH_LOG("the store is the state after no operation from %lld on",
				  (long long)synced + 1);
	if (found) {
		printf("# kv prefix %llu: the store holds operations 0..%lld (the last sync was operation %lld)\n",
		       (unsigned long long)k, (long long)k - 1,
		       (long long)synced);
		for (key = 0, i = 0; key < NKEYS; key++)
			i += got.val[key] != NULL;
		printf("# %llu keys present\n", (unsigned long long)i);
	}
	for (key = 0; key < NKEYS; key++) {
		free(model.val[key]);
		free(got.val[key]);
	}
	free(op);
}

CS_HARNESS_MAIN
