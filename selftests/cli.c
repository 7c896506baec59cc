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
 * loop_autoclear (skipped unless $CS_CLI_LOOP and $CS_CLI_STORE_ID are
 * set) checks what detach of an image file relies on: the store attached
 * from an image by the tool is on loop device $CS_CLI_LOOP, which has
 * autoclear; detaching it through the library alone, without the tool's
 * help, releases the loop device.
 */
#include <errno.h>
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
#define OUT_MAX		16384

static const char *tool(void)
{
	const char *p = getenv("CAPSTORE");

	return p && *p ? p : "/usr/bin/capstore";
}

/*
 * Run the tool with @args (NULL-terminated, without argv[0]); its stdout
 * and stderr together into @out. Returns its exit status, or -1.
 */
static int run_tool(char *out, size_t len, const char *const *args)
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
