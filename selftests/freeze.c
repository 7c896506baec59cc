// SPDX-License-Identifier: GPL-2.0
/*
 * freeze - the checkpoint thread stays frozen while the system is.
 *
 * During suspend, after the freezer has stopped user space and the
 * freezable kernel threads, nothing is to write to the disks: a store's
 * checkpoint thread that is not freezable goes on writing scheduled
 * checkpoints into a system being suspended. The test uses the PM core's
 * test mode "freezer" (/sys/power/pm_test): writing "freeze" to
 * /sys/power/state freezes every task, waits pm_test_delay seconds and
 * thaws them again, with no device suspended.
 *
 * A page is dirtied right after an explicit checkpoint, with an interval
 * that falls due in the middle of the frozen window. The tracepoints
 * capstore_checkpoint_commit and power's suspend_resume, in one ring
 * buffer, say when each happened: no checkpoint may commit between the
 * end of freeze_processes and the start of thaw_processes, and the
 * interval's checkpoint must commit after the thaw.
 *
 * Needs a formatted store on $CS_TEST_DEV, a kernel with CONFIG_PM_DEBUG
 * and tracefs; skips without them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

#include "cs_harness.h"
#include "cs_test.h"

#define TRACEFS		"/sys/kernel/tracing"
#define EV_COMMIT	TRACEFS "/events/capstore_trace/capstore_checkpoint_commit/enable"
#define EV_SUSPEND	TRACEFS "/events/power/suspend_resume/enable"
#define PM_TEST		"/sys/power/pm_test"
#define PM_STATE	"/sys/power/state"
#define PM_SYNC		"/sys/power/sync_on_suspend"
#define PM_DELAY	"/sys/module/suspend/parameters/pm_test_delay"

#define INTERVAL_MS	2000	/* due this long after the explicit checkpoint */
#define FROZEN_S	"4"	/* pm_test_delay: the frozen window */

static int put_file(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, v, strlen(v)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* The first word of @path into @buf (of @len); "" if unreadable. */
static void get_word(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, len - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, " \n")] = '\0';
}

/* pm_test's current mode is the bracketed word of the file. */
static void get_pm_test(char *buf, size_t len)
{
	char all[256], *b, *e;
	int fd = open(PM_TEST, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, all, sizeof(all) - 1);

	if (fd >= 0)
		close(fd);
	all[n > 0 ? n : 0] = '\0';
	b = strchr(all, '[');
	e = b ? strchr(b, ']') : NULL;
	if (!b || !e || (size_t)(e - b) >= len) {
		snprintf(buf, len, "none");
		return;
	}
	memcpy(buf, b + 1, e - b - 1);
	buf[e - b - 1] = '\0';
}

/* The timestamp of a trace line whose event name starts at @ev. */
static double event_time(const char *line, const char *ev)
{
	const char *q = ev - 1;

	while (q > line && *q == ' ')
		q--;
	if (q > line && *q == ':')
		q--;
	while (q > line && (isdigit((unsigned char)*q) || *q == '.'))
		q--;
	return strtod(q + 1, NULL);
}

FIXTURE(freeze) {
	uint32_t id;
	int root, seg;
	bool attached, tracefs_mounted;
	char pm_test[32], sync_on[8], delay[16], interval[32];
};

FIXTURE_SETUP(freeze)
{
	char states[128];

	self->root = self->seg = -1;
	/* As checkpoint.c's trace_* tests (text patching under TCG). */
	if (getenv("CS_DEBUG_LANE"))
		SKIP(return, "debug lane: text patching for tracepoints stalled a TCG vCPU there");
	if (access(PM_TEST, W_OK))
		SKIP(return, "no %s (CONFIG_PM_DEBUG)", PM_TEST);
	{
		int fd = open(PM_STATE, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd < 0 ? -1 : read(fd, states, sizeof(states) - 1);

		if (fd >= 0)
			close(fd);
		states[n > 0 ? n : 0] = '\0';
	}
	if (!strstr(states, "freeze"))
		SKIP(return, "no suspend-to-idle in %s: '%s'", PM_STATE,
		     states);
	if (access(TRACEFS "/trace", F_OK)) {
		if (mount("nodev", TRACEFS, "tracefs", 0, NULL))
			SKIP(return, "no tracefs: %s", strerror(errno));
		self->tracefs_mounted = true;
	}
	if (access(EV_SUSPEND, W_OK))
		SKIP(return, "no power:suspend_resume event");

	cs_detach_stale();
	ASSERT_EQ(0, cs_attach(&self->id));
	self->attached = true;
	self->root = cs_root(self->id);
	ASSERT_LE(0, self->root);
	capstore_node_clear(self->root, 0, 0);
	self->seg = capstore_node_create(self->root, 0, CAPSTORE_KIND_SEGMENT,
					 1 << 20, CAPSTORE_FD_CLOEXEC);
	ASSERT_LE(0, self->seg);

	get_pm_test(self->pm_test, sizeof(self->pm_test));
	get_word(PM_SYNC, self->sync_on, sizeof(self->sync_on));
	get_word(PM_DELAY, self->delay, sizeof(self->delay));
	snprintf(self->interval, sizeof(self->interval), "%lld",
		 cs_store_get(cs_test_dev(), "interval_ms"));
}

FIXTURE_TEARDOWN(freeze)
{
	put_file(EV_COMMIT, "0");
	put_file(EV_SUSPEND, "0");
	if (self->pm_test[0])
		put_file(PM_TEST, self->pm_test);
	if (self->sync_on[0])
		put_file(PM_SYNC, self->sync_on);
	if (self->delay[0])
		put_file(PM_DELAY, self->delay);
	if (self->tracefs_mounted)
		umount(TRACEFS);
	if (self->attached && self->interval[0] != '-')
		cs_store_set(cs_test_dev(), "interval_ms", self->interval);
	if (self->seg >= 0) {
		capstore_cap_destroy(self->seg, 0);
		capstore_cap_close(self->seg);
	}
	if (self->root >= 0)
		capstore_cap_close(self->root);
	if (self->attached)
		cs_detach(self->id);
}

/*
 * The interval's checkpoint falls due while every task is frozen: it
 * commits only after the thaw.
 */
TEST_F_TIMEOUT(freeze, interval_waits_for_thaw, 120)
{
	double t_cp = -1, t_frozen = -1, t_thaw = -1, t_after = -1, t;
	char page[4096], *text, *line, *next, *ev;
	long long before;
	int i, inside = 0;

	/* Nothing but our own checkpoints; no sync of the store at suspend. */
	ASSERT_EQ(0, put_file(PM_SYNC, "0"));
	ASSERT_EQ(0, put_file(PM_TEST, "freezer"));
	ASSERT_EQ(0, put_file(PM_DELAY, FROZEN_S));
	ASSERT_EQ(0, put_file(TRACEFS "/tracing_on", "1"));
	ASSERT_EQ(0, put_file(EV_COMMIT, "1"));
	ASSERT_EQ(0, put_file(EV_SUSPEND, "1"));
	ASSERT_EQ(0, put_file(TRACEFS "/trace", ""));

	memset(page, 'a', sizeof(page));
	ASSERT_EQ((ssize_t)sizeof(page), pwrite(self->seg, page, sizeof(page), 0));
	/* The interval counts from this checkpoint's end. */
	ASSERT_EQ(0, cs_store_set(cs_test_dev(), "interval_ms", "2000"));
	ASSERT_EQ(0, capstore_cap_checkpoint(self->seg, 0, NULL));
	before = cs_store_get(cs_test_dev(), "checkpoints");
	memset(page, 'b', sizeof(page));
	ASSERT_EQ((ssize_t)sizeof(page), pwrite(self->seg, page, sizeof(page), 0));
	/* Blocks while everything is frozen, FROZEN_S seconds. */
	ASSERT_EQ(0, put_file(PM_STATE, "freeze"));

	/* The interval's checkpoint, whenever it came. */
	for (i = 0; i < 100 && cs_store_get(cs_test_dev(), "checkpoints") <=
	     before; i++)
		usleep(100000);
	ASSERT_LT(before, cs_store_get(cs_test_dev(), "checkpoints"));

	text = cs_read_text(TRACEFS "/trace");
	ASSERT_NE(NULL, text);
	for (line = text; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] == '#')
			continue;
		ev = strstr(line, "capstore_checkpoint_commit:");
		if (ev) {
			t = event_time(line, ev);
			TH_LOG("commit at %.6f", t);
			if (t_cp < 0)
				t_cp = t;
			else if (t_frozen >= 0 && t_thaw < 0)
				inside++;
			else if (t_thaw >= 0 && t_after < 0)
				t_after = t;
			continue;
		}
		ev = strstr(line, "suspend_resume:");
		if (!ev)
			continue;
		if (strstr(ev, "freeze_processes[0] end"))
			t_frozen = event_time(line, ev);
		else if (strstr(ev, "thaw_processes[0] begin"))
			t_thaw = event_time(line, ev);
	}
	free(text);
	TH_LOG("explicit checkpoint %.6f, frozen %.6f, thaw %.6f, interval's checkpoint %.6f",
	       t_cp, t_frozen, t_thaw, t_after);
	ASSERT_LE(0, t_cp);
	ASSERT_LE(0, t_frozen);
	ASSERT_LE(0, t_thaw);
	/* The interval fell due while frozen, or the test proves nothing. */
	ASSERT_LT(t_frozen, t_cp + INTERVAL_MS / 1000.0);
	ASSERT_GT(t_thaw, t_cp + INTERVAL_MS / 1000.0);
	/* No checkpoint while frozen, the interval's one after the thaw. */
	EXPECT_EQ(0, inside);
	EXPECT_LT(t_thaw, t_after);

	/* And the data is the second page's. */
	ASSERT_EQ((ssize_t)sizeof(page), pread(self->seg, page, sizeof(page), 0));
	EXPECT_EQ('b', page[0]);
}

CS_HARNESS_MAIN
