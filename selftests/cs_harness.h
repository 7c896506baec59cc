/* SPDX-License-Identifier: GPL-2.0 */
/*
 * cs_harness.h - kselftest_harness.h plus test selection.
 *
 * Linux 6.1's kselftest harness always runs every test of a program. The
 * capstore tests often run one program in several phases across reboots of
 * the test VM (write in boot 1, verify in boot 2), so a program built with
 * CS_HARNESS_MAIN (instead of TEST_HARNESS_MAIN) takes options to pick its
 * tests, with the meaning later kernels gave them:
 *
 *   -l              list the tests (FIXTURE.TEST, one a line) and exit
 *   -t TEST         run the tests named TEST (any fixture)
 *   -f FIXTURE      run every test of FIXTURE
 *   -T FIXTURE.TEST run that one test
 *
 * Options add up; with none, every test runs. Selecting nothing is an
 * error, so a misspelt name cannot pass silently.
 *
 * Test timeouts (the harness kills a test after its timeout: 30 s unless
 * the test was declared with TEST_F_TIMEOUT) can be changed from the
 * environment, for slow kernels such as the debug kernel of
 * "make check-debug":
 *
 *   CS_TEST_TIMEOUT_SCALE=N   multiply every test's timeout by N
 *   CS_TEST_TIMEOUT=SECS      every test's timeout is SECS (wins over
 *                             the scale)
 *
 * Unset or empty, the declared timeouts apply. A value that is not a
 * positive integer is an error (the program fails without running).
 */
#ifndef CS_HARNESS_H
#define CS_HARNESS_H

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"

struct cs_filter {
	const char *opt[64];	/* "t", "f" or "T" */
	const char *arg[64];
	int n;
};

static inline int cs_filter_match(const struct cs_filter *flt,
				  const struct __fixture_metadata *f,
				  const struct __test_metadata *t)
{
	size_t flen = strlen(f->name);
	int i;

	if (!flt->n)
		return 1;
	for (i = 0; i < flt->n; i++) {
		const char *a = flt->arg[i];

		switch (flt->opt[i][0]) {
		case 't':
			if (!strcmp(a, t->name))
				return 1;
			break;
		case 'f':
			if (!strcmp(a, f->name))
				return 1;
			break;
		case 'T':
			if (!strncmp(a, f->name, flen) && a[flen] == '.' &&
			    !strcmp(a + flen + 1, t->name))
				return 1;
			break;
		}
	}
	return 0;
}

/* Unlink the tests not selected; returns how many are left. */
static inline int cs_filter_apply(const struct cs_filter *flt)
{
	struct __fixture_metadata *f, *fhead = NULL, *flast = NULL;
	struct __test_metadata *t, *tnext, *thead, *tlast;
	int left = 0;

	for (f = __fixture_list; f; f = f->next) {
		thead = tlast = NULL;
		for (t = f->tests; t; t = tnext) {
			tnext = t->next;
			if (!cs_filter_match(flt, f, t))
				continue;
			t->next = NULL;
			t->prev = tlast ? tlast : t;
			if (tlast)
				tlast->next = t;
			else
				thead = t;
			tlast = t;
			if (thead)
				thead->prev = t;
			left++;
		}
		f->tests = thead;
		/* keep the global fixture: the harness starts its walk there */
		if (!thead && f != &_fixture_global)
			continue;
		if (flast)
			flast->next = f;
		else
			fhead = f;
		flast = f;
	}
	if (flast)
		flast->next = NULL;
	if (fhead)
		__fixture_list = fhead;
	return left;
}

/* A positive integer from the environment, 0 if unset or empty, -1 if bad. */
static inline long cs_env_seconds(const char *name)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return 0;
	n = strtol(v, &end, 10);
	if (*end || n <= 0 || n > 24L * 3600) {
		fprintf(stderr, "%s=%s: not a positive integer\n", name, v);
		return -1;
	}
	return n;
}

/* Apply CS_TEST_TIMEOUT_SCALE and CS_TEST_TIMEOUT to every test. */
static inline int cs_timeouts_apply(void)
{
	long scale = cs_env_seconds("CS_TEST_TIMEOUT_SCALE");
	long fixed = cs_env_seconds("CS_TEST_TIMEOUT");
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	if (scale < 0 || fixed < 0)
		return -1;
	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next) {
			long tmo = t->timeout;

			if (scale)
				tmo *= scale;
			if (fixed)
				tmo = fixed;
			t->timeout = tmo > 24L * 3600 ? 24 * 3600 : (int)tmo;
		}
	return 0;
}

static inline int cs_harness_main(int argc, char **argv)
{
	struct cs_filter flt = { .n = 0 };
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	int list = 0, c;

	while ((c = getopt(argc, argv, "lt:f:T:h")) != -1) {
		switch (c) {
		case 'l':
			list = 1;
			break;
		case 't':
		case 'f':
		case 'T':
			if (flt.n == 64) {
				fprintf(stderr, "too many selections\n");
				return KSFT_FAIL;
			}
			flt.opt[flt.n] = c == 't' ? "t" : c == 'f' ? "f" : "T";
			flt.arg[flt.n++] = optarg;
			break;
		default:
			fprintf(stderr,
				"usage: %s [-l] [-t TEST] [-f FIXTURE] [-T FIXTURE.TEST]...\n",
				argv[0]);
			return c == 'h' ? KSFT_PASS : KSFT_FAIL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0],
			argv[optind]);
		return KSFT_FAIL;
	}
	if (cs_timeouts_apply())
		return KSFT_FAIL;
	if (!cs_filter_apply(&flt)) {
		/* a TAP stream that fails: a selection that matches nothing */
		ksft_print_header();
		ksft_set_plan(1);
		ksft_test_result_fail("selection matches no test\n");
		ksft_finished();
	}
	if (list) {
		for (f = __fixture_list; f; f = f->next)
			for (t = f->tests; t; t = t->next)
				printf("%s.%s\n", f->name, t->name);
		return KSFT_PASS;
	}
	return test_harness_run(argc, argv);
}

/* Use instead of TEST_HARNESS_MAIN. */
#define CS_HARNESS_MAIN \
	static void __attribute__((constructor)) \
	__constructor_order_last(void) \
	{ \
		if (!__constructor_order) \
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	} \
	int main(int argc, char **argv) \
	{ \
		return cs_harness_main(argc, argv); \
	}

#endif /* CS_HARNESS_H */
