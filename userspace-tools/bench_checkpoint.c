// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * capstore bench checkpoint: what a checkpoint costs as its dirty set
 * grows. For each size, that many pages of a segment are dirtied (stores
 * through a mapping, or pwrite), then one checkpoint is taken while a
 * writer thread keeps changing a few of those pages and records the
 * longest gap between two of its writes: the stall a program sees, next
 * to the one the module reports (sysfs last_stall_ns). The checkpoint's
 * duration (the ioctl, and sysfs last_checkpoint_ns) and what it wrote
 * (sysfs blocks_written) give its write throughput, next to sequential
 * O_DIRECT writes of as many bytes to the same device: by fio (io_uring
 * engine, else libaio) when it runs, else by this program's own writer.
 *
 * The baseline writes past the end of the store on its own device, so the
 * store must be smaller than the device (capstore format --size), or
 * --baseline-dev names a device the bench may overwrite. For the run,
 * scheduled checkpoints are off and the dirty limit is out of reach, so
 * that the only checkpoints are the bench's; both are restored at the end.
 */
#include "bench.h"
#include "online.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libcapstore.h>
#include <libcapstore-uring.h>

#define PAGE		4096u
#define MIB		((uint64_t)1 << 20)
#define MAX_SIZES	16
#define MAX_DEPTH	64
#define WRITER_PAGES	16u	/* the writer's: the first ones */
/*
 * Stores through the mapping between two readings of the clock: a store
 * takes nanoseconds, a clock reading may take far longer (in an emulated
 * VM whose clocksource is the HPET, a system call and an MMIO exit that
 * takes QEMU's global lock, slowing the whole VM if done after each store).
 */
#define WRITER_STORES	64u
/* The dirty limit for the run: sysfs's maximum, never reached. */
#define NO_DIRTY_LIMIT	(1ull << 52)
/* Room kept free in the store beyond twice the largest dirty set. */
#define SPACE_SLACK	(32 * MIB)

enum writer_kind { WRITER_NONE, WRITER_MAP, WRITER_WRITE };

struct cp_opts {
	unsigned int sizes[MAX_SIZES];	/* MiB; nsizes 0: from the RAM */
	unsigned int nsizes;
	bool pwrite;			/* dirty with pwrite, not stores */
	enum writer_kind writer;
	unsigned int idle_ms;		/* the writer alone, before each */
	unsigned int depth;		/* of the baseline's writes */
	unsigned int slot;
	const char *fio;		/* NULL: no fio */
	const char *baseline_dev;	/* NULL: past the store */
};

static void cp_usage(FILE *f)
{
	fprintf(f,
		"Usage: capstore bench checkpoint [options] STORE\n"
		"\n"
		"For each dirty set size: dirty that many pages of a segment, then take\n"
		"a checkpoint while a writer thread keeps writing to a few of them.\n"
		"Prints the stall (the writer's longest gap, and sysfs last_stall_ns),\n"
		"the checkpoint's duration, and its write throughput (sysfs\n"
		"blocks_written) next to fio's sequential O_DIRECT writes of as many\n"
		"bytes to the same device (io_uring engine, else libaio; without fio,\n"
		"this program's own O_DIRECT writer), with ratios. The baseline\n"
		"writes past the end of the store, which must be smaller than its\n"
		"device (capstore format --size), or to --baseline-dev. Scheduled\n"
		"checkpoints are off and the dirty limit raised during the run, then\n"
		"restored. The segment is made in a scratch slot of the root node\n"
		"and destroyed at the end. Needs root.\n"
		"\n"
		"Options:\n"
		"  -s, --sizes LIST        dirty sets in MiB (default: 1,4,16,64,... up\n"
		"                          to half the RAM, within the store's space)\n"
		"  -p, --pwrite            dirty the pages with pwrite(2), not with\n"
		"                          stores through a mapping\n"
		"  -w, --writer KIND       the writer during the checkpoint: map (stores\n"
		"                          through the mapping, default), write (pwrite(2)\n"
		"                          of 8 bytes) or none\n"
		"      --idle-ms N         the writer runs alone this long before each\n"
		"                          checkpoint (default 200)\n"
		"  -d, --depth N           writes in flight for the baseline, at most %d\n"
		"                          (default 16)\n"
		"      --baseline-dev DEV  write the baseline from the start of DEV;\n"
		"                          ITS CONTENTS ARE LOST\n"
		"      --slot N            scratch slot of the root node (default 29)\n"
		"      --fio PATH          the fio to run (default: fio on PATH)\n"
		"      --no-fio            no fio: this program's own writer\n"
		"  -h, --help              show this help\n", MAX_DEPTH);
}

/* --- the writer -------------------------------------------------------- */

enum { PHASE_IDLE, PHASE_CP, PHASE_STOP };

/*
 * A thread that writes to the first pages of the segment as fast as it
 * can and keeps the longest gap between two of its writes: separately for
 * gaps that end before the checkpoint starts (idle) and after (cp). A
 * "write" is WRITER_STORES stores through the mapping, or one pwrite.
 */
struct writer {
	pthread_t thread;
	enum writer_kind kind;
	volatile uint64_t *map;
	int seg;
	unsigned int pages;
	atomic_int phase;
	atomic_ulong writes;
	double idle_gap, cp_gap;	/* seconds; read after the join */
	unsigned long cp_writes;
	atomic_int err;
};

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	double prev = 0, now, gap;
	unsigned long i, j;
	ssize_t ret;
	uint64_t v;
	int phase;

	for (i = 0;; i++) {
		v = i;
		if (w->kind == WRITER_MAP) {
			for (j = 0; j < WRITER_STORES; j++)
				w->map[((i + j) % w->pages) * (PAGE / 8) + 1] =
					v;
		} else {
			ret = capstore_segment_pwrite(w->seg, &v, sizeof(v),
						      (uint64_t)(i % w->pages) *
						      PAGE + 8);
			if (ret != sizeof(v)) {
				atomic_store(&w->err,
					     ret < 0 ? (int)ret : -EIO);
				break;
			}
		}
		now = bench_now();
		gap = now - prev;
		prev = now;
		phase = atomic_load(&w->phase);
		atomic_store_explicit(&w->writes, i + 1, memory_order_relaxed);
		if (phase == PHASE_STOP)
			break;
		if (i == 0)
			continue;
		if (phase == PHASE_IDLE) {
			if (gap > w->idle_gap)
				w->idle_gap = gap;
		} else {
			if (gap > w->cp_gap)
				w->cp_gap = gap;
			w->cp_writes++;
		}
	}
	return NULL;
}

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- the store's settings and figures ---------------------------------- */

static int store_attr_write(const struct cs_ctx *ctx, const char *store,
			    const char *attr, uint64_t v)
{
	char path[CS_PATH_LEN], buf[32];
	int fd, len, ret = 0;
	ssize_t n;

	if ((size_t)snprintf(path, sizeof(path), "%s/" CS_SYSFS_STORES "/%s/%s",
			     ctx->sysfs, store, attr) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);
	n = write(fd, buf, len);
	if (n != len)
		ret = n < 0 ? -errno : -EIO;
	close(fd);
	return ret;
}

/* The figures of the last checkpoint and the write counter. */
struct cp_stats {
	__u64 stall_ns, duration_ns, pages, blocks_written, max_stall_ns;
};

static int read_stats(const struct cs_ctx *ctx, const char *store,
		      struct cp_stats *st)
{
	int ret;

	ret = cs_store_attr_u64(ctx, store, "last_stall_ns", &st->stall_ns);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "last_checkpoint_ns",
					&st->duration_ns);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "last_checkpoint_pages",
					&st->pages);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "blocks_written",
					&st->blocks_written);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "max_stall_ns",
					&st->max_stall_ns);
	return ret;
}

/* A field of /proc/meminfo in bytes, 0 if missing. */
static uint64_t meminfo(const char *key)
{
	char line[256];
	size_t len = strlen(key);
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len) && line[len] == ':') {
			kib = strtoull(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return (uint64_t)kib << 10;
}

/* A number from /proc/sys/vm/NAME, -1 if unreadable. */
static long vm_sysctl(const char *name)
{
	char path[128], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/vm/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

/* --- the baseline: sequential O_DIRECT writes -------------------------- */

/*
 * fio's write bandwidth in MiB/s for @bytes from @off of @dev, or a
 * negative number if fio did not run: -2 if it could not be started, -1
 * if it failed (its messages go to our stderr).
 */
static double run_fio(const char *fio, const char *engine, const char *dev,
		      uint64_t off, uint64_t bytes, unsigned int depth)
{
	char a_file[4200], a_engine[64], a_off[64], a_size[64], a_qd[32];
	char out[8192];
	char *argv[] = {
		(char *)fio, "--name=capstore-bench", a_file, a_engine,
		"--rw=write", "--bs=1M", "--direct=1", a_qd, a_off, a_size,
		"--end_fsync=1", "--allow_mounted_write=1", "--gtod_reduce=1",
		"--output-format=terse", "--terse-version=3",
		NULL,
	};
	int p[2], status, field;
	size_t len = 0;
	ssize_t got;
	char *s;
	pid_t pid;

	snprintf(a_file, sizeof(a_file), "--filename=%s", dev);
	snprintf(a_engine, sizeof(a_engine), "--ioengine=%s", engine);
	snprintf(a_off, sizeof(a_off), "--offset=%" PRIu64, off);
	snprintf(a_size, sizeof(a_size), "--size=%" PRIu64, bytes);
	snprintf(a_qd, sizeof(a_qd), "--iodepth=%u", depth);
	if (pipe2(p, O_CLOEXEC))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(p[1], 1);
		execvp(fio, argv);
		dprintf(2, "capstore bench checkpoint: %s: %s\n", fio,
			strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while (len < sizeof(out) - 1 &&
	       (got = read(p[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += got;
	out[len] = '\0';
	close(p[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status) == 127 ? -2 : -1;
	/* terse version 3: field 48 is the write bandwidth in KiB/s */
	s = strstr(out, "3;fio-");
	for (field = 1; s && field < 48; field++) {
		s = strchr(s, ';');
		if (s)
			s++;
	}
	return s && strtod(s, NULL) > 0 ? strtod(s, NULL) / 1024 : -1;
}

/*
 * This program's baseline: @bytes from @off of @dev in 1 MiB O_DIRECT
 * writes, @depth in flight through io_uring, then fsync. MiB/s or -errno.
 */
static double own_write(const char *dev, uint64_t off, uint64_t bytes,
			unsigned int depth)
{
	unsigned int inflight = 0, i, free_top = depth;
	unsigned int free_slots[MAX_DEPTH];
	uint64_t next = 0, done = 0;
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	struct io_uring ring;
	char *bufs;
	double t0, ret;
	int fd, r;

	fd = open(dev, O_WRONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	bufs = aligned_alloc(PAGE, (size_t)depth * MIB);
	if (!bufs) {
		close(fd);
		return -ENOMEM;
	}
	for (i = 0; i < depth * MIB / 8; i++)
		((uint64_t *)bufs)[i] = 0x5a5a5a5a00000000ull + i;
	r = io_uring_queue_init(depth, &ring, 0);
	if (r < 0) {
		free(bufs);
		close(fd);
		return r;
	}
	for (i = 0; i < depth; i++)
		free_slots[i] = i;
	t0 = bench_now();
	ret = 0;
	while (done < bytes && !ret) {
		while (inflight < depth && next < bytes) {
			i = free_slots[--free_top];
			sqe = io_uring_get_sqe(&ring);
			io_uring_prep_write(sqe, fd, bufs + (size_t)i * MIB,
					    MIB, off + next);
			io_uring_sqe_set_data64(sqe, i);
			next += MIB;
			inflight++;
		}
		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0) {
			ret = r;
			break;
		}
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			if (cqe->res != (int)MIB)
				ret = cqe->res < 0 ? cqe->res : -EIO;
			free_slots[free_top++] = (unsigned int)cqe->user_data;
			io_uring_cqe_seen(&ring, cqe);
			inflight--;
			done += MIB;
		}
	}
	/* after an error, let what is in flight end before the ring goes */
	while (inflight && io_uring_wait_cqe(&ring, &cqe) == 0) {
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
	}
	if (!ret && fsync(fd))
		ret = -errno;
	if (!ret)
		ret = bytes / (bench_now() - t0) / MIB;
	io_uring_queue_exit(&ring);
	free(bufs);
	close(fd);
	return ret;
}

struct baseline {
	const char *dev;
	uint64_t off, len;	/* where it may write; len 0: nowhere */
	const char *engine;	/* fio's, or NULL: our own writer */
	char why[160];		/* why there is no baseline, or no fio */
};

/* MiB/s of the baseline writing @bytes, or a negative number. */
static double baseline_run(const struct cp_opts *o, const struct baseline *b,
			   uint64_t bytes)
{
	bytes = (bytes + MIB - 1) / MIB * MIB;
	if (bytes < MIB)
		bytes = MIB;
	if (bytes > b->len)
		bytes = b->len;
	if (!b->len)
		return -1;
	if (b->engine)
		return run_fio(o->fio, b->engine, b->dev, b->off, bytes,
			       o->depth);
	return own_write(b->dev, b->off, bytes, o->depth);
}

/*
 * Where the baseline writes: from the start of --baseline-dev, else past
 * the store (its size rounded up to 1 MiB) on the store's device. Then
 * which writer: fio's io_uring engine, its libaio one, or our own, by a
 * trial of 1 MiB. Returns 0 (with b->len 0 if there is no room) or
 * -errno.
 */
static int baseline_setup(const struct cs_ctx *ctx, const struct cp_opts *o,
			  const char *store_dev, uint64_t store_bytes,
			  struct baseline *b)
{
	static const char * const engines[] = { "io_uring", "libaio" };
	struct stat st_store, st_dev;
	unsigned int i;
	double mibs;
	off_t size;
	int fd, err;

	b->engine = NULL;
	b->why[0] = '\0';
	b->dev = o->baseline_dev ? o->baseline_dev : store_dev;
	b->off = 0;
	if (!o->baseline_dev || (!stat(o->baseline_dev, &st_dev) &&
				 !stat(store_dev, &st_store) &&
				 S_ISBLK(st_dev.st_mode) &&
				 st_dev.st_rdev == st_store.st_rdev))
		b->off = (store_bytes + MIB - 1) / MIB * MIB;
	fd = open(b->dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		cs_msg_err(ctx, err, "%s", b->dev);
		return err;
	}
	size = lseek(fd, 0, SEEK_END);
	err = size < 0 ? -errno : 0;
	close(fd);
	if (err) {
		cs_msg_err(ctx, err, "%s: size", b->dev);
		return err;
	}
	b->len = (uint64_t)size > b->off ? ((uint64_t)size - b->off) / MIB * MIB
					 : 0;
	if (!b->len) {
		snprintf(b->why, sizeof(b->why),
			 "no room past the store on %s (format it smaller than the device, or give --baseline-dev)",
			 b->dev);
		return 0;
	}
	if (o->fio) {
		for (i = 0; i < 2; i++) {
			mibs = run_fio(o->fio, engines[i], b->dev, b->off, MIB,
				       o->depth);
			if (mibs > 0) {
				b->engine = engines[i];
				return 0;
			}
			if (mibs == -2)
				break;
		}
		snprintf(b->why, sizeof(b->why),
			 "%s did not run: not installed, or it failed, see above",
			 o->fio);
	} else {
		snprintf(b->why, sizeof(b->why), "--no-fio");
	}
	return 0;
}

/* --- the runs ---------------------------------------------------------- */

struct cp_row {
	unsigned int mib;
	double dirty_s;			/* dirtying the pages */
	double ioctl_s;			/* the checkpoint ioctl */
	struct cp_stats st;		/* after the checkpoint */
	uint64_t written;		/* bytes the checkpoint wrote */
	double idle_gap, cp_gap;	/* the writer's longest gaps, s */
	unsigned long cp_writes;
	double cp_mibs, base_mibs;	/* throughputs */
};

/* The default sizes: 1, 4, 16, ... MiB below @max, then @max. */
static void default_sizes(struct cp_opts *o, unsigned int max)
{
	unsigned int s;

	o->nsizes = 0;
	for (s = 1; s < max && o->nsizes < MAX_SIZES - 1; s *= 4)
		o->sizes[o->nsizes++] = s;
	o->sizes[o->nsizes++] = max;
}

/*
 * Dirty the first @pages pages of the segment, each with a word of @gen
 * and its index; the seconds it took into @secs. Returns 0 or -errno.
 */
static int dirty_pages(const struct cp_opts *o, int seg,
		       volatile uint64_t *map, uint64_t pages, uint64_t gen,
		       char *buf, double *secs)
{
	uint64_t p, chunk = MIB / PAGE, n, j;
	double t0 = bench_now();
	ssize_t ret;

	if (!o->pwrite) {
		for (p = 0; p < pages; p++)
			map[p * (PAGE / 8)] = gen << 32 | p;
	}
	for (p = 0; o->pwrite && p < pages; p += n) {
		n = pages - p < chunk ? pages - p : chunk;
		for (j = 0; j < n; j++)
			((uint64_t *)buf)[j * (PAGE / 8)] = gen << 32 | (p + j);
		ret = capstore_segment_pwrite(seg, buf, n * PAGE, p * PAGE);
		if (ret != (ssize_t)(n * PAGE))
			return ret < 0 ? (int)ret : -EIO;
	}
	*secs = bench_now() - t0;
	return 0;
}

/* One dirty set: dirty it, checkpoint it with the writer running. */
static int run_one(const struct cs_ctx *ctx, const char *store,
		   const struct cp_opts *o, int seg, volatile uint64_t *map,
		   char *buf, struct cp_row *row)
{
	struct writer w = { .kind = o->writer, .map = map, .seg = seg };
	uint64_t pages = (uint64_t)row->mib * MIB / PAGE;
	struct cp_stats before;
	double t0;
	int ret, cp_ret;

	/* Start clean: the previous row's writer left pages dirty. */
	ret = capstore_cap_checkpoint(seg, 0, NULL);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "checkpoint before %u MiB", row->mib);
		return ret;
	}
	ret = dirty_pages(o, seg, map, pages, row->mib, buf, &row->dirty_s);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "dirtying %u MiB", row->mib);
		return ret;
	}
	ret = read_stats(ctx, store, &before);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "reading sysfs of %s", store);
		return ret;
	}

	if (o->writer != WRITER_NONE) {
		w.pages = pages < WRITER_PAGES ? (unsigned int)pages
					       : WRITER_PAGES;
		atomic_init(&w.phase, PHASE_IDLE);
		atomic_init(&w.writes, 0);
		atomic_init(&w.err, 0);
		ret = -pthread_create(&w.thread, NULL, writer_main, &w);
		if (ret) {
			cs_msg_err(ctx, ret, "starting the writer");
			return ret;
		}
		while (!atomic_load(&w.writes) && !atomic_load(&w.err))
			sleep_ms(1);
		sleep_ms(o->idle_ms);
		atomic_store(&w.phase, PHASE_CP);
	}
	t0 = bench_now();
	cp_ret = capstore_cap_checkpoint(seg, 0, NULL);
	row->ioctl_s = bench_now() - t0;
	if (o->writer != WRITER_NONE) {
		atomic_store(&w.phase, PHASE_STOP);
		pthread_join(w.thread, NULL);
		row->idle_gap = w.idle_gap;
		row->cp_gap = w.cp_gap;
		row->cp_writes = w.cp_writes;
	}
	if (cp_ret < 0) {
		cs_msg_err(ctx, cp_ret, "checkpoint of %u MiB", row->mib);
		return cp_ret;
	}
	if (o->writer != WRITER_NONE && atomic_load(&w.err)) {
		cs_msg_err(ctx, atomic_load(&w.err), "the writer");
		return atomic_load(&w.err);
	}
	ret = read_stats(ctx, store, &row->st);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "reading sysfs of %s", store);
		return ret;
	}
	row->written = (row->st.blocks_written - before.blocks_written) * PAGE;
	row->cp_mibs = -1;
	if (row->st.duration_ns)
		row->cp_mibs = (double)row->written / MIB /
			       (row->st.duration_ns / 1e9);
	return 0;
}

static void print_num(FILE *f, int width, int prec, double v)
{
	if (v >= 0)
		fprintf(f, " %*.*f", width, prec, v);
	else
		fprintf(f, " %*s", width, "-");
}

static void print_tables(FILE *f, const struct cp_opts *o,
			 const struct baseline *b, const struct cp_row *rows,
			 unsigned int nrows)
{
	const char *bname = b->engine ? "fio" : b->len ? "own" : "none";
	bool writer = o->writer != WRITER_NONE;
	const struct cp_row *r;
	unsigned int i;

	fprintf(f,
		"\nstall: writers held by the snapshot\n\n"
		"%9s %9s %9s %10s %9s %9s %9s\n"
		"%9s %9s %9s %10s %9s %9s %9s\n",
		"dirty", "claimed", "stall", "writer", "idle", "gap/", "stall/",
		"MiB", "MiB", "ms", "gap ms", "gap ms", "stall", "cp %");
	for (i = 0; i < nrows; i++) {
		r = &rows[i];
		fprintf(f, "%9u", r->mib);
		print_num(f, 9, 1, (double)r->st.pages * PAGE / MIB);
		print_num(f, 9, 2, r->st.stall_ns / 1e6);
		print_num(f, 10, 2, writer ? r->cp_gap * 1e3 : -1);
		print_num(f, 9, 2, writer ? r->idle_gap * 1e3 : -1);
		print_num(f, 9, 2, writer && r->st.stall_ns ?
			  r->cp_gap * 1e9 / r->st.stall_ns : -1);
		print_num(f, 9, 1, r->st.duration_ns ?
			  100.0 * r->st.stall_ns / r->st.duration_ns : -1);
		fputc('\n', f);
	}

	fprintf(f,
		"\ncheckpoint: duration and write throughput\n\n"
		"%9s %9s %9s %9s %9s %9s %9s\n"
		"%9s %9s %9s %9s %9s %9s %9s\n",
		"dirty", "ioctl", "kernel", "written", "capstore", bname,
		"ratio", "MiB", "ms", "ms", "MiB", "MiB/s", "MiB/s", "");
	for (i = 0; i < nrows; i++) {
		r = &rows[i];
		fprintf(f, "%9u", r->mib);
		print_num(f, 9, 1, r->ioctl_s * 1e3);
		print_num(f, 9, 1, r->st.duration_ns / 1e6);
		print_num(f, 9, 1, (double)r->written / MIB);
		print_num(f, 9, 1, r->cp_mibs);
		print_num(f, 9, 1, r->base_mibs);
		print_num(f, 9, 2, r->cp_mibs > 0 && r->base_mibs > 0 ?
			  r->cp_mibs / r->base_mibs : -1);
		fputc('\n', f);
	}

	fprintf(f,
		"\nclaimed: pages the snapshot claimed (last_checkpoint_pages); stall:\n"
		"last_stall_ns; writer gap: the writer's longest gap between two writes\n"
		"during the checkpoint, idle gap: before it (the noise floor); gap/stall:\n"
		"what the writer saw over what the module reports; stall/cp: the stall's\n"
		"share of the checkpoint. ioctl: the checkpoint call; kernel:\n"
		"last_checkpoint_ns; written: blocks_written delta (data and metadata);\n"
		"capstore MiB/s = written / kernel; ratio = capstore / %s.\n",
		b->len ? bname : "baseline");
	if (b->engine)
		fprintf(f,
			"fio: --ioengine=%s --rw=write --bs=1M --direct=1 --iodepth=%u\n"
			"and --end_fsync=1, as many bytes as the checkpoint wrote (at least\n"
			"1 MiB), on %s from %" PRIu64 " MiB.\n", b->engine, o->depth,
			b->dev, b->off / MIB);
	else if (b->len)
		fprintf(f,
			"own: this program's sequential writer, not fio (%s):\n"
			"1 MiB O_DIRECT writes through io_uring, %u in flight, then fsync,\n"
			"as many bytes as the checkpoint wrote, on %s from %" PRIu64
			" MiB.\n", b->why, o->depth, b->dev, b->off / MIB);
	else
		fprintf(f, "no baseline: %s.\n", b->why);
	for (i = 0; i < nrows; i++) {
		r = &rows[i];
		if (r->st.pages * PAGE < (uint64_t)r->mib * MIB * 9 / 10)
			fprintf(f,
				"warning: %u MiB: the snapshot claimed only %.1f MiB; early writeback\n"
				"wrote the rest (vm.dirty_ratio, vm.dirty_background_ratio)\n",
				r->mib, (double)r->st.pages * PAGE / MIB);
		if (writer && !r->cp_writes)
			fprintf(f,
				"warning: %u MiB: the writer made no write during the checkpoint\n",
				r->mib);
	}
}

static int do_bench_checkpoint(const struct cs_ctx *ctx, const char *arg,
			       struct cp_opts *o)
{
	__u64 blocks, free_blocks, interval, dirty_limit;
	struct cp_row rows[MAX_SIZES];
	unsigned int i, max = 0, nrows = 0;
	uint64_t ram, avail, space_mib, mem_mib, free_bytes, seg_bytes = 0;
	int root, seg = -1, ret, rc = CS_EXIT_FAIL;
	bool tuned = false, slot_used = false;
	struct baseline b;
	char dev[4200], *store, *buf = NULL;
	void *map = NULL;

	root = bench_root(ctx, arg, dev, sizeof(dev));
	if (root < 0)
		return CS_EXIT_FAIL;
	store = dev + strlen("/dev/");
	ret = cs_store_attr_u64(ctx, store, "blocks", &blocks);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "free_blocks", &free_blocks);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "interval_ms", &interval);
	if (!ret)
		ret = cs_store_attr_u64(ctx, store, "dirty_limit_bytes",
					&dirty_limit);
	if (ret < 0) {
		cs_msg_err(ctx, ret, "reading sysfs of %s", store);
		goto out;
	}

	free_bytes = (uint64_t)free_blocks * PAGE;
	/*
	 * Rewriting N MiB takes N MiB of new blocks while the old ones stay
	 * pinned until the commit: twice the largest set must fit.
	 */
	space_mib = free_bytes > SPACE_SLACK ?
		    (free_bytes - SPACE_SLACK) / MIB / 2 : 0;
	ram = meminfo("MemTotal");
	avail = meminfo("MemAvailable");
	if (!ram)
		ram = (uint64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
	if (!avail)
		avail = (uint64_t)sysconf(_SC_AVPHYS_PAGES) *
			sysconf(_SC_PAGESIZE);
	mem_mib = ram / 2 < avail * 2 / 3 ? ram / 2 / MIB : avail * 2 / 3 / MIB;
	if (!o->nsizes) {
		max = space_mib < mem_mib ? space_mib : mem_mib;
		if (max > 4096)
			max = 4096;
		if (max > 64)
			max &= ~15u;
		if (!max) {
			cs_msg(ctx, "no room for a dirty set: %" PRIu64
			       " MiB free in the store, %" PRIu64
			       " MiB of RAM available", free_bytes / MIB,
			       avail / MIB);
			ret = -ENOSPC;
			goto out;
		}
		default_sizes(o, max);
	}
	for (i = 0; i < o->nsizes; i++)
		if (o->sizes[i] > max)
			max = o->sizes[i];
	if (max > space_mib) {
		cs_msg(ctx, "a dirty set of %u MiB needs %u MiB free in the store (twice, and %llu MiB more); %s has %" PRIu64 " MiB free",
		       max, 2 * max,
		       (unsigned long long)(SPACE_SLACK / MIB), store,
		       free_bytes / MIB);
		ret = -ENOSPC;
		goto out;
	}
	if (max > avail / MIB)
		cs_msg(ctx, "warning: a dirty set of %u MiB is more than the %" PRIu64 " MiB of RAM available",
		       max, avail / MIB);

	ret = baseline_setup(ctx, o, dev, blocks * PAGE, &b);
	if (ret < 0)
		goto out;
	seg_bytes = (uint64_t)max * MIB;
	slot_used = true;
	bench_scratch_clear(root, o->slot);
	seg = capstore_node_create(root, o->slot, CAPSTORE_KIND_SEGMENT,
				   seg_bytes, CAPSTORE_FD_CLOEXEC);
	if (seg < 0) {
		ret = seg;
		cs_msg_err(ctx, ret, "creating a segment of %u MiB", max);
		goto out;
	}
	ret = capstore_segment_map(seg, 0, seg_bytes, PROT_READ | PROT_WRITE,
				   &map);
	if (ret < 0) {
		map = NULL;
		cs_msg_err(ctx, ret, "mapping the segment");
		goto out;
	}
	buf = malloc(MIB);
	if (!buf) {
		ret = -ENOMEM;
		cs_msg_err(ctx, ret, "memory");
		goto out;
	}
	memset(buf, 0xa5, MIB);

	/* Only the bench's checkpoints, for the run. */
	ret = store_attr_write(ctx, store, "interval_ms", 0);
	if (!ret)
		ret = store_attr_write(ctx, store, "dirty_limit_bytes",
				       NO_DIRTY_LIMIT);
	tuned = true;
	if (ret < 0) {
		cs_msg_err(ctx, ret, "setting interval_ms and dirty_limit_bytes of %s",
			   store);
		goto out;
	}

	fprintf(ctx->out,
		"store %s: %" PRIu64 " MiB, %" PRIu64 " MiB free; RAM %" PRIu64
		" MiB, %" PRIu64 " MiB available\n"
		"vm.dirty_ratio %ld, vm.dirty_background_ratio %ld, "
		"vm.dirty_expire_centisecs %ld\n"
		"segment of %u MiB in slot %u, dirtied by %s; writer: %s%s\n"
		"interval_ms %llu and dirty_limit_bytes %llu set to 0 and %llu for the run\n",
		store, (uint64_t)blocks * PAGE / MIB,
		free_bytes / MIB, ram / MIB, avail / MIB,
		vm_sysctl("dirty_ratio"), vm_sysctl("dirty_background_ratio"),
		vm_sysctl("dirty_expire_centisecs"),
		max, o->slot,
		o->pwrite ? "pwrite(2)" : "stores through a mapping",
		o->writer == WRITER_MAP ? "stores through the mapping" :
		o->writer == WRITER_WRITE ? "pwrite(2) of 8 bytes" : "none",
		o->writer == WRITER_NONE ? "" : ", to the first pages",
		(unsigned long long)interval, (unsigned long long)dirty_limit,
		NO_DIRTY_LIMIT);
	if (b.engine)
		fprintf(ctx->out, "baseline: fio --ioengine=%s on %s from %" PRIu64
			" MiB (%" PRIu64 " MiB there)\n", b.engine, b.dev,
			b.off / MIB, b.len / MIB);
	else if (b.len)
		fprintf(ctx->out, "baseline: this program's O_DIRECT writer, not fio (%s), on %s from %" PRIu64
			" MiB (%" PRIu64 " MiB there)\n", b.why, b.dev,
			b.off / MIB, b.len / MIB);
	else
		fprintf(ctx->out, "baseline: none: %s\n", b.why);
	fflush(ctx->out);

	for (i = 0; i < o->nsizes; i++) {
		struct cp_row *row = &rows[nrows];

		memset(row, 0, sizeof(*row));
		row->mib = o->sizes[i];
		ret = run_one(ctx, store, o, seg, map, buf, row);
		if (ret < 0)
			goto out;
		row->base_mibs = baseline_run(o, &b, row->written);
		nrows++;
		fprintf(ctx->out,
			"%u MiB: dirtied in %.1f ms, stall %.2f ms, checkpoint %.1f ms\n",
			row->mib, row->dirty_s * 1e3, row->st.stall_ns / 1e6,
			row->st.duration_ns / 1e6);
		fflush(ctx->out);
	}
	print_tables(ctx->out, o, &b, rows, nrows);
	fprintf(ctx->out, "max_stall_ns since attach: %llu\n", nrows ?
		(unsigned long long)rows[nrows - 1].st.max_stall_ns : 0ULL);
	rc = CS_EXIT_OK;
out:
	if (map)
		capstore_segment_unmap(map, seg_bytes);
	if (seg >= 0)
		capstore_cap_close(seg);
	if (slot_used)
		bench_scratch_clear(root, o->slot);
	if (tuned) {
		/* dirty_limit_bytes first: 0 would mean "checkpoint now" */
		ret = store_attr_write(ctx, store, "dirty_limit_bytes",
				       dirty_limit);
		if (!ret)
			ret = store_attr_write(ctx, store, "interval_ms",
					       interval);
		if (ret < 0) {
			cs_msg_err(ctx, ret, "restoring interval_ms %llu and dirty_limit_bytes %llu of %s",
				   (unsigned long long)interval,
				   (unsigned long long)dirty_limit, store);
			rc = CS_EXIT_FAIL;
		}
	}
	capstore_cap_close(root);
	free(buf);
	return rc;
}

int bench_checkpoint(struct cs_ctx *ctx, int argc, char **argv)
{
	enum { OPT_SLOT = 256, OPT_FIO, OPT_NO_FIO, OPT_IDLE, OPT_BDEV };
	static const struct option longopts[] = {
		{ "sizes", required_argument, NULL, 's' },
		{ "pwrite", no_argument, NULL, 'p' },
		{ "writer", required_argument, NULL, 'w' },
		{ "idle-ms", required_argument, NULL, OPT_IDLE },
		{ "depth", required_argument, NULL, 'd' },
		{ "baseline-dev", required_argument, NULL, OPT_BDEV },
		{ "slot", required_argument, NULL, OPT_SLOT },
		{ "fio", required_argument, NULL, OPT_FIO },
		{ "no-fio", no_argument, NULL, OPT_NO_FIO },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct cp_opts o = {
		.writer = WRITER_MAP,
		.idle_ms = 200,
		.depth = 16,
		.slot = 29,
		.fio = "fio",
	};
	unsigned long v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, ":s:pw:d:h", longopts,
				NULL)) != -1) {
		switch (c) {
		case 's':
			if (bench_parse_list(optarg, o.sizes, MAX_SIZES,
					     &o.nsizes))
				return cs_usage_error(ctx, "bad sizes '%s' (up to %d sizes, 1 to 4096 MiB)",
						      optarg, MAX_SIZES);
			break;
		case 'p':
			o.pwrite = true;
			break;
		case 'w':
			if (!strcmp(optarg, "map"))
				o.writer = WRITER_MAP;
			else if (!strcmp(optarg, "write"))
				o.writer = WRITER_WRITE;
			else if (!strcmp(optarg, "none"))
				o.writer = WRITER_NONE;
			else
				return cs_usage_error(ctx, "bad writer '%s' (map, write or none)",
						      optarg);
			break;
		case 'd':
		case OPT_IDLE:
		case OPT_SLOT:
			v = strtoul(optarg, &end, 10);
			if (!*optarg || *end || (c == 'd' && !v) ||
			    (c == 'd' && v > MAX_DEPTH) ||
			    (c == OPT_IDLE && v > 60000) ||
			    (c == OPT_SLOT && v >= CAPSTORE_NODE_SLOTS))
				return cs_usage_error(ctx, "bad number '%s'",
						      optarg);
			if (c == 'd')
				o.depth = v;
			else if (c == OPT_IDLE)
				o.idle_ms = v;
			else
				o.slot = v;
			break;
		case OPT_BDEV:
			o.baseline_dev = optarg;
			break;
		case OPT_FIO:
			o.fio = optarg;
			break;
		case OPT_NO_FIO:
			o.fio = NULL;
			break;
		case 'h':
			cp_usage(ctx->out);
			return CS_EXIT_OK;
		default:
			return cs_getopt_error(ctx, c, argv);
		}
	}
	if (optind == argc)
		return cs_usage_error(ctx, "no store given");
	if (argc - optind > 1)
		return cs_usage_error(ctx, "too many arguments");
	return do_bench_checkpoint(ctx, argv[optind], &o);
}
