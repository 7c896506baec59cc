// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore bench io: random 4 KiB reads of a segment through io_uring,
 * of pages not in memory (cold) and of pages in memory (cached), at
 * several queue depths, next to the same reads of the store's raw block
 * device: by fio with its io_uring engine when fio is there, and by this
 * program's own reader (the same loop as for the segment) always.
 *
 * Both sides read through the page cache with readahead off
 * (POSIX_FADV_RANDOM, fio's fadvise_hint=random): cold runs drop the
 * cache first (POSIX_FADV_DONTNEED, fio's invalidate=1) and read each
 * page once; cached runs read pages read before (fio's pre_read=1).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libcapstore.h>
#include <libcapstore-uring.h>

#define PAGE		4096u
#define MAX_DEPTHS	8
#define MAX_DEPTH	256

struct io_opts {
	uint64_t size;			/* segment size, bytes */
	unsigned int cold_reads;
	unsigned int cached_reads;
	unsigned int depths[MAX_DEPTHS];
	unsigned int ndepths;
	unsigned int slot;
	const char *fio;		/* NULL: no fio */
	uint64_t seed;
};

static void io_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore bench io [options] STORE\n"
		"\n"
		"Random 4 KiB reads of a segment through io_uring, cold (pages not\n"
		"in memory) and cached, at each queue depth, next to the same reads\n"
		"of STORE's block device by fio (io_uring engine) and by this\n"
		"program's own reader; prints IOPS and ratios. The segment is made\n"
		"in a scratch slot of the root node, written, checkpointed, and\n"
		"destroyed at the end. Needs root.\n"
		"\n"
		"Options:\n"
		"  -s, --size BYTES        segment size, in MiB with M (default 64M)\n"
		"  -n, --reads N           reads per cold run (default 4096, at most\n"
		"                          one per page)\n"
		"  -c, --cached-reads N    reads per cached run (default 32768)\n"
		"  -d, --depths LIST       queue depths (default 1,32)\n"
		"      --slot N            scratch slot of the root node (default 31)\n"
		"      --fio PATH          the fio to run (default: fio on PATH)\n"
		"      --no-fio            no fio baseline\n"
		"      --seed N            of the random offsets\n"
		"  -h, --help              show this help\n");
}

/* A random permutation of 0..n-1 (xorshift, Fisher-Yates). */
static void permute(uint32_t *v, uint32_t n, uint64_t *state)
{
	uint32_t i, j, t;

	for (i = 0; i < n; i++)
		v[i] = i;
	for (i = n - 1; i > 0; i--) {
		*state ^= *state << 13;
		*state ^= *state >> 7;
		*state ^= *state << 17;
		j = *state % (i + 1);
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/*
 * @n reads of 4 KiB at pages[i] * PAGE of @fd, @qd in flight. Returns
 * the IOPS, or -errno (a read that failed or came short: -EIO).
 */
static double rand_reads(struct io_uring *ring, int fd, const uint32_t *pages,
			 unsigned int n, unsigned int qd, char *bufs)
{
	unsigned int next = 0, done = 0, inflight = 0, free_top = qd, i;
	unsigned int free_slots[MAX_DEPTH];
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	double t0;
	int ret;

	for (i = 0; i < qd; i++)
		free_slots[i] = i;
	t0 = bench_now();
	while (done < n) {
		while (inflight < qd && next < n) {
			i = free_slots[--free_top];
			sqe = io_uring_get_sqe(ring);
			capstore_prep_read(sqe, fd, bufs + (size_t)i * PAGE, PAGE,
					   (uint64_t)pages[next++] * PAGE);
			io_uring_sqe_set_data64(sqe, i);
			inflight++;
		}
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0)
			return ret;
		while (io_uring_peek_cqe(ring, &cqe) == 0) {
			if (cqe->res != (int)PAGE)
				return cqe->res < 0 ? cqe->res : -EIO;
			free_slots[free_top++] = (unsigned int)cqe->user_data;
			io_uring_cqe_seen(ring, cqe);
			inflight--;
			done++;
		}
	}
	return n / (bench_now() - t0);
}

/* Drop @fd's clean pages from memory; how many of @size bytes stay. */
static uint64_t drop_cache(int fd, uint64_t size, const void *map)
{
	unsigned char *vec;
	uint64_t i, resident = 0, pages = size / PAGE;
	int drop;

	sync();
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	drop = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
	if (drop >= 0) {
		/* as root; else the fadvise did what it could */
		if (write(drop, "1", 1) != 1)
			resident = 0;
		close(drop);
	}
	if (!map)
		return 0;
	vec = malloc(pages);
	if (!vec || mincore((void *)map, size, vec)) {
		free(vec);
		return 0;
	}
	for (i = 0; i < pages; i++)
		resident += vec[i] & 1;
	free(vec);
	return resident;
}

/* Read all of @fd once (into the page cache). */
static int warm(int fd, uint64_t size)
{
	static char buf[1 << 20];
	uint64_t off;
	ssize_t n;

	for (off = 0; off < size; off += n) {
		n = pread(fd, buf, sizeof(buf), off);
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
	}
	return 0;
}

/*
 * fio's read IOPS for one run on @dev, or a negative number if fio could
 * not run (its messages go to our stderr).
 */
static double run_fio(const char *fio, const char *dev, uint64_t size,
		      unsigned int reads, unsigned int qd, bool cold)
{
	char a_size[64], a_io[64], a_qd[32], a_file[4200], out[8192];
	char *argv[] = {
		(char *)fio, "--name=capstore-bench", a_file, "--readonly",
		"--ioengine=io_uring", "--rw=randread", "--bs=4k", a_qd,
		a_size, a_io, "--direct=0", "--fadvise_hint=random",
		cold ? "--invalidate=1" : "--invalidate=0",
		cold ? "--pre_read=0" : "--pre_read=1",
		"--randrepeat=0", "--gtod_reduce=1", "--output-format=terse",
		"--terse-version=3",
		NULL,
	};
	int p[2], status, field;
	size_t len = 0;
	ssize_t got;
	char *s;
	pid_t pid;

	snprintf(a_file, sizeof(a_file), "--filename=%s", dev);
	snprintf(a_size, sizeof(a_size), "--size=%" PRIu64, size);
	snprintf(a_io, sizeof(a_io), "--io_size=%" PRIu64,
		 (uint64_t)reads * PAGE);
	snprintf(a_qd, sizeof(a_qd), "--iodepth=%u", qd);
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
		execvp(fio, argv);
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof(out) - 1 &&
	       (got = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += got;
	out[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return -1;
	/* terse version 3: field 8 is the read IOPS */
	s = strstr(out, "3;fio-");
	for (field = 1; s && field < 8; field++) {
		s = strchr(s, ';');
		if (s)
			s++;
	}
	return s ? strtod(s, NULL) : -1;
}

struct io_row {
	const char *what;
	unsigned int qd;
	double seg, fio, raw;
	uint64_t resident;	/* cold runs: segment pages left in memory */
};

static void print_ratio(FILE *f, double a, double b)
{
	if (a > 0 && b > 0)
		fprintf(f, "  %6.2f", a / b);
	else
		fprintf(f, "  %6s", "-");
}

static void print_iops(FILE *f, double v)
{
	if (v > 0)
		fprintf(f, "  %10.0f", v);
	else
		fprintf(f, "  %10s", "n/a");
}

static int parse_size(const char *s, uint64_t *v)
{
	char *end;

	*v = strtoull(s, &end, 0);
	if (*end == 'M' || *end == 'm')
		*v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		*v <<= 30, end++;
	return *s && !*end && *v && !(*v % PAGE) ? 0 : -EINVAL;
}

static int do_bench_io(const struct cs_ctx *ctx, const char *store,
		       const struct io_opts *o)
{
	struct io_row rows[2 * MAX_DEPTHS];
	uint32_t npages = o->size / PAGE, *perm = NULL, *cperm = NULL;
	unsigned int cold_reads = o->cold_reads, nrows = 0, d, i;
	char dev[4200], *bufs = NULL, *wbuf = NULL;
	int root, seg = -1, bdev = -1, ret, rc = CS_EXIT_FAIL;
	uint64_t state = o->seed, off, seq;
	struct io_uring ring;
	bool ring_ok = false;
	void *map = NULL;
	double r;

	root = bench_root(ctx, store, dev, sizeof(dev));
	if (root < 0)
		return CS_EXIT_FAIL;
	if (cold_reads > npages)
		cold_reads = npages;
	bench_scratch_clear(root, o->slot);
	seg = capstore_node_create(root, o->slot, CAPSTORE_KIND_SEGMENT,
				   o->size, CAPSTORE_FD_CLOEXEC);
	if (seg < 0) {
		cs_msg_err(ctx, seg, "creating a segment of %" PRIu64 " bytes",
			   o->size);
		goto out;
	}
	bdev = open(dev, O_RDONLY | O_CLOEXEC);
	if (bdev < 0) {
		cs_msg_err(ctx, -errno, "%s", dev);
		goto out;
	}
	ret = io_uring_queue_init(2 * MAX_DEPTH, &ring, 0);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "io_uring");
		goto out;
	}
	ring_ok = true;
	perm = malloc(sizeof(*perm) * npages);
	cperm = malloc(sizeof(*cperm) * o->cached_reads);
	wbuf = malloc(1 << 20);
	bufs = aligned_alloc(PAGE, (size_t)MAX_DEPTH * PAGE);
	if (!perm || !cperm || !wbuf || !bufs) {
		cs_msg_err(ctx, -ENOMEM, "memory");
		goto out;
	}

	/* Every page written, then checkpointed: on disk and clean. */
	for (off = 0; off < o->size; off += 1 << 20) {
		for (i = 0; i < (1 << 20) / 8; i++)
			((uint64_t *)wbuf)[i] = off + i * 8;
		ret = capstore_segment_pwrite(seg, wbuf,
					      o->size - off < (1 << 20) ?
					      o->size - off : (1 << 20), off);
		if (ret < 0) {
			cs_msg_err(ctx, ret, "writing the segment");
			goto out;
		}
	}
	ret = capstore_cap_checkpoint(seg, 0, &seq);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "checkpoint");
		goto out;
	}
	ret = capstore_segment_map(seg, 0, o->size, PROT_READ, &map);
	if (ret < 0)
		map = NULL;
	posix_fadvise(seg, 0, 0, POSIX_FADV_RANDOM);
	posix_fadvise(bdev, 0, 0, POSIX_FADV_RANDOM);
	fprintf(ctx->out, "segment of %" PRIu64 " MiB written, checkpoint %" PRIu64
		"; device %s; fio: %s\n", o->size >> 20, seq, dev,
		o->fio ? o->fio : "not run");
	fflush(ctx->out);

	for (d = 0; d < o->ndepths; d++) {
		struct io_row *row = &rows[nrows++];

		row->what = "cold";
		row->qd = o->depths[d];
		permute(perm, npages, &state);
		row->resident = drop_cache(seg, o->size, map);
		row->seg = rand_reads(&ring, seg, perm, cold_reads, row->qd,
				      bufs);
		permute(perm, npages, &state);
		drop_cache(bdev, o->size, NULL);
		row->raw = rand_reads(&ring, bdev, perm, cold_reads, row->qd,
				      bufs);
		row->fio = o->fio ? run_fio(o->fio, dev, o->size, cold_reads,
					    row->qd, true) : -1;
		if (row->seg < 0 || row->raw < 0) {
			cs_msg_err(ctx, (int)(row->seg < 0 ? row->seg : row->raw),
				   "reading");
			goto out;
		}
	}
	ret = warm(seg, o->size);
	if (ret == 0)
		ret = warm(bdev, o->size);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "reading");
		goto out;
	}
	for (d = 0; d < o->ndepths; d++) {
		struct io_row *row = &rows[nrows++];

		row->what = "cached";
		row->qd = o->depths[d];
		row->resident = 0;
		for (i = 0; i < o->cached_reads; i++) {
			state ^= state << 13;
			state ^= state >> 7;
			state ^= state << 17;
			cperm[i] = state % npages;
		}
		row->seg = rand_reads(&ring, seg, cperm, o->cached_reads,
				      row->qd, bufs);
		row->raw = rand_reads(&ring, bdev, cperm, o->cached_reads,
				      row->qd, bufs);
		row->fio = o->fio ? run_fio(o->fio, dev, o->size,
					    o->cached_reads, row->qd, false) :
				    -1;
		if (row->seg < 0 || row->raw < 0) {
			cs_msg_err(ctx, (int)(row->seg < 0 ? row->seg : row->raw),
				   "reading");
			goto out;
		}
	}

	fprintf(ctx->out,
		"\nrandom 4 KiB reads through io_uring: %u per cold run, %u per cached run\n\n"
		"%-7s %5s  %10s  %10s  %6s  %10s  %6s\n", cold_reads,
		o->cached_reads, "pages", "depth", "capstore", "fio",
		"ratio", "raw dev", "ratio");
	for (i = 0; i < nrows; i++) {
		fprintf(ctx->out, "%-7s %5u", rows[i].what, rows[i].qd);
		print_iops(ctx->out, rows[i].seg);
		print_iops(ctx->out, rows[i].fio);
		print_ratio(ctx->out, rows[i].seg, rows[i].fio);
		print_iops(ctx->out, rows[i].raw);
		print_ratio(ctx->out, rows[i].seg, rows[i].raw);
		fputc('\n', ctx->out);
	}
	fprintf(ctx->out,
		"\nIOPS; ratio = capstore / baseline. fio: --ioengine=io_uring on the\n"
		"device, buffered, fadvise_hint=random; cold: invalidate=1, cached:\n"
		"pre_read=1. raw dev: this program's reader on the device.\n");
	for (i = 0; i < nrows; i++) {
		if (!strcmp(rows[i].what, "cold") && rows[i].resident) {
			r = 100.0 * rows[i].resident / npages;
			fprintf(ctx->out,
				"warning: depth %u: %.1f%% of the segment stayed in memory before the cold run\n",
				rows[i].qd, r);
		}
	}
	rc = CS_EXIT_OK;
out:
	if (map)
		capstore_segment_unmap(map, o->size);
	if (ring_ok)
		io_uring_queue_exit(&ring);
	if (seg >= 0)
		capstore_cap_close(seg);
	if (bdev >= 0)
		close(bdev);
	bench_scratch_clear(root, o->slot);
	capstore_cap_close(root);
	free(perm);
	free(cperm);
	free(wbuf);
	free(bufs);
	return rc;
}

int bench_io(struct cs_ctx *ctx, int argc, char **argv)
{
	enum { OPT_SLOT = 256, OPT_FIO, OPT_NO_FIO, OPT_SEED };
	static const struct option longopts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "reads", required_argument, NULL, 'n' },
		{ "cached-reads", required_argument, NULL, 'c' },
		{ "depths", required_argument, NULL, 'd' },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "fio", required_argument, NULL, OPT_FIO },
		{ "no-fio", no_argument, NULL, OPT_NO_FIO },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct io_opts o = {
		.size = 64 << 20,
		.cold_reads = 4096,
		.cached_reads = 32768,
		.depths = { 1, 32 },
		.ndepths = 2,
		.slot = CAPSTORE_NODE_SLOTS - 1,
		.fio = "fio",
		.seed = 0x9e3779b97f4a7c15ull,
	};
	unsigned long v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, ":s:n:c:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			if (parse_size(optarg, &o.size) || o.size > (1ULL << 40))
				return cs_usage_error(ctx, "bad size '%s'",
						      optarg);
			break;
		case 'n':
		case 'c':
		case OPT_SLOT:
		case OPT_SEED:
			v = strtoul(optarg, &end, 0);
			if (!*optarg || *end || (c != OPT_SEED && v == 0) ||
			    (c == OPT_SLOT && v >= CAPSTORE_NODE_SLOTS) ||
			    (c != OPT_SEED && v > (1UL << 24)))
				return cs_usage_error(ctx, "bad number '%s'",
						      optarg);
			if (c == 'n')
				o.cold_reads = v;
			else if (c == 'c')
				o.cached_reads = v;
			else if (c == OPT_SLOT)
				o.slot = v;
			else
				o.seed = v | 1;
			break;
		case 'd':
			if (bench_parse_list(optarg, o.depths, MAX_DEPTHS,
					     &o.ndepths) ||
			    o.depths[o.ndepths - 1] > MAX_DEPTH)
				return cs_usage_error(ctx, "bad depths '%s' (1 to %d)",
						      optarg, MAX_DEPTH);
			for (v = 0; v < o.ndepths; v++)
				if (o.depths[v] > MAX_DEPTH)
					return cs_usage_error(ctx, "bad depths '%s' (1 to %d)",
							      optarg, MAX_DEPTH);
			break;
		case OPT_FIO:
			o.fio = optarg;
			break;
		case OPT_NO_FIO:
			o.fio = NULL;
			break;
		case 'h':
			io_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind == argc)
		return cs_usage_error(ctx, "no store given");
	if (argc - optind > 1)
		return cs_usage_error(ctx, "too many arguments");
	return do_bench_io(ctx, argv[optind], &o);
}
