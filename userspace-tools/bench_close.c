// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore bench close: how fast threads close capabilities, against the
 * same number of eventfds closed the same way.
 *
 * Every close of a file drops a reference on the mount its file lives on.
 * eventfds live on the kernel's internal anon_inode mount, whose
 * references are per-CPU counts; a capability lives on its store's
 * internal mount. The ratio capstore/eventfd near 1 at every thread count
 * says that closing a capability costs what closing any kernel-made fd
 * costs and does not serialize on a global lock.
 *
 * The fds are made before the timed part (capabilities with
 * CAPSTORE_IOC_RESTRICT of one segment, eventfds with eventfd(2)); the
 * timed part is only the threads' close(2) calls, from a barrier to the
 * last thread's end. Best of three rounds.
 */
#include "bench.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

#include <libcapstore.h>

#define MAX_THREADS	16
#define ROUNDS		3

struct close_thread {
	pthread_t tid;
	pthread_barrier_t *start;
	int *fds;
	unsigned int n;
	double end;
};

enum close_kind { KIND_EVENTFD, KIND_CAP };

static void *close_thread_fn(void *arg)
{
	struct close_thread *t = arg;
	unsigned int i;

	pthread_barrier_wait(t->start);
	for (i = 0; i < t->n; i++)
		close(t->fds[i]);
	t->end = bench_now();
	return NULL;
}

/* Make @n fds of @kind into @fds; 0 or -errno (none left open). */
static int make_fds(enum close_kind kind, int seg, int *fds, unsigned int n)
{
	unsigned int i;
	int fd;

	for (i = 0; i < n; i++) {
		if (kind == KIND_EVENTFD) {
			fd = eventfd(0, EFD_CLOEXEC);
			if (fd < 0)
				fd = -errno;
		} else {
			fd = capstore_cap_restrict(seg, CAPSTORE_RIGHT_READ,
						   CAPSTORE_FD_CLOEXEC);
		}
		if (fd < 0) {
			while (i--)
				close(fds[i]);
			return fd;
		}
		fds[i] = fd;
	}
	return 0;
}

/*
 * One round: @nthreads threads each close @per fds of @kind. Returns
 * closes per second, or -errno.
 */
static double close_round(enum close_kind kind, int seg, int *fds,
			  unsigned int nthreads, unsigned int per)
{
	struct close_thread t[MAX_THREADS];
	pthread_barrier_t start;
	double t0, end = 0;
	unsigned int i, made;
	int ret;

	ret = make_fds(kind, seg, fds, nthreads * per);
	if (ret < 0)
		return ret;
	ret = -pthread_barrier_init(&start, NULL, nthreads + 1);
	if (ret < 0)
		goto out_close;
	for (made = 0; made < nthreads; made++) {
		t[made].start = &start;
		t[made].fds = fds + made * per;
		t[made].n = per;
		ret = -pthread_create(&t[made].tid, NULL, close_thread_fn,
				      &t[made]);
		if (ret < 0)
			break;
	}
	if (ret < 0) {
		/* The threads made wait at the barrier: never released. */
		fprintf(stderr, "pthread_create: %s\n", strerror(-ret));
		abort();
	}
	t0 = bench_now();
	pthread_barrier_wait(&start);
	for (i = 0; i < nthreads; i++) {
		pthread_join(t[i].tid, NULL);
		if (t[i].end > end)
			end = t[i].end;
	}
	pthread_barrier_destroy(&start);
	return end > t0 ? nthreads * per / (end - t0) : -ERANGE;

out_close:
	for (i = 0; i < nthreads * per; i++)
		close(fds[i]);
	return ret;
}

static double close_best(enum close_kind kind, int seg, int *fds,
			 unsigned int nthreads, unsigned int per)
{
	double best = 0, r;
	unsigned int i;

	for (i = 0; i < ROUNDS; i++) {
		r = close_round(kind, seg, fds, nthreads, per);
		if (r < 0)
			return r;
		if (r > best)
			best = r;
	}
	return best;
}

static void close_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore bench close [options] STORE\n"
		"\n"
		"Threads close capabilities (made beforehand by restricting one\n"
		"segment) and, as the baseline, as many eventfds; prints closes per\n"
		"second of each and their ratio, for each thread count. Works in a\n"
		"scratch slot of the root node of STORE and destroys what it made.\n"
		"Needs root.\n"
		"\n"
		"Options:\n"
		"  -n, --ops N       fds each thread closes per round (default 4096)\n"
		"  -t, --threads L   thread counts, comma-separated, each at most %d\n"
		"                    (default 1,2,4)\n"
		"      --slot N      scratch slot of the root node (default 30)\n"
		"  -h, --help        show this help\n", MAX_THREADS);
}

int bench_close(struct cs_ctx *ctx, int argc, char **argv)
{
	enum { OPT_SLOT = 256 };
	static const struct option longopts[] = {
		{ "ops", required_argument, NULL, 'n' },
		{ "threads", required_argument, NULL, 't' },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	unsigned int per = 4096, slot = 30, threads[MAX_THREADS] = { 1, 2, 4 };
	unsigned int nthr = 3, max_thr = 0, i;
	int c, root, seg, *fds = NULL, rc = CS_EXIT_FAIL;
	double efd, cap;
	struct rlimit rl;
	unsigned long v;
	char *end;

	while ((c = getopt_long(argc, argv, ":n:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
		case OPT_SLOT:
			v = strtoul(optarg, &end, 0);
			if (!*optarg || *end ||
			    (c == 'n' && (v == 0 || v > 1000000)) ||
			    (c == OPT_SLOT && v >= CAPSTORE_NODE_SLOTS))
				return cs_usage_error(ctx, "bad number '%s'",
						      optarg);
			if (c == 'n')
				per = v;
			else
				slot = v;
			break;
		case 't':
			if (bench_parse_list(optarg, threads, MAX_THREADS,
					     &nthr) < 0)
				return cs_usage_error(ctx, "bad list '%s'",
						      optarg);
			break;
		case 'h':
			close_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind == argc)
		return cs_usage_error(ctx, "no store given");
	if (argc - optind > 1)
		return cs_usage_error(ctx, "too many arguments");
	for (i = 0; i < nthr; i++) {
		if (threads[i] == 0 || threads[i] > MAX_THREADS)
			return cs_usage_error(ctx, "thread counts are 1 to %d",
					      MAX_THREADS);
		if (threads[i] > max_thr)
			max_thr = threads[i];
	}

	/* Room for every fd of the largest round, and a few more. */
	rl.rlim_cur = rl.rlim_max = (rlim_t)max_thr * per + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		cs_msg_err(ctx, -errno, "raising RLIMIT_NOFILE to %llu",
			   (unsigned long long)rl.rlim_cur);
		return CS_EXIT_FAIL;
	}
	fds = calloc((size_t)max_thr * per, sizeof(*fds));
	if (!fds)
		return CS_EXIT_FAIL;
	root = bench_root(ctx, argv[optind], NULL, 0);
	if (root < 0)
		goto out_free;
	bench_scratch_clear(root, slot);
	seg = capstore_node_create(root, slot, CAPSTORE_KIND_SEGMENT, 4096,
				   CAPSTORE_FD_CLOEXEC);
	if (seg < 0) {
		cs_msg_err(ctx, seg, "making a segment");
		goto out_root;
	}

	fprintf(ctx->out,
		"close(2) of %u fds per thread, best of %d rounds\n\n"
		"%-8s %15s %15s %7s\n", per, ROUNDS, "threads",
		"eventfd close/s", "capstore close/s", "ratio");
	for (i = 0; i < nthr; i++) {
		efd = close_best(KIND_EVENTFD, seg, fds, threads[i], per);
		cap = close_best(KIND_CAP, seg, fds, threads[i], per);
		if (efd < 0 || cap < 0) {
			cs_msg_err(ctx, (int)(efd < 0 ? efd : cap),
				   "%u threads", threads[i]);
			goto out_seg;
		}
		fprintf(ctx->out, "%-8u %15.0f %15.0f %7.2f\n", threads[i], efd,
			cap, cap / efd);
		fflush(ctx->out);
	}
	fprintf(ctx->out, "\nratio = capstore / eventfd.\n");
	rc = CS_EXIT_OK;
out_seg:
	capstore_cap_close(seg);
	bench_scratch_clear(root, slot);
out_root:
	capstore_cap_close(root);
out_free:
	free(fds);
	return rc;
}
