// SPDX-License-Identifier: GPL-2.0
/*
 * image_fuzz - the kernel attaches thousands of damaged images and never
 * crashes, leaks or corrupts a sound store.
 *
 * Base images: a freshly formatted store, stores the module itself
 * populated (segments with data trees of height 0 to 2, nodes, restricted
 * and weak capabilities in slots, a forwarder, a destroyed and a revoked
 * object, several checkpoints so that header slots rotate, a second
 * attach), and every image file named in $IMAGE_FUZZ_BASES (the seeds of
 * fuzz/corpus/). Then, $IMAGE_FUZZ_COUNT times (default 1000, at most
 * $IMAGE_FUZZ_SECS seconds), from a seed derived from $CS_SEED and the
 * iteration number:
 *
 *   1. take a base, apply one to three mutations of fuzz/imgmut.c (bit
 *      flips, random bytes, zeroed, garbage or copied blocks, and fields of
 *      the superblock, headers, object records, node slots, block pointers
 *      and space map bits set to 0, all ones, off by one, past the device,
 *      at the headers or at another structure), resealed two times in
 *      three so that the field checks behind the checksums are reached;
 *   2. write it to the disk $CS_TEST_DEV (only the blocks that changed,
 *      O_DIRECT) and run "capstore fsck" on it;
 *   3. attach it. Refusal must be a clean error (EINVAL, EBADMSG, EUCLEAN,
 *      EOPNOTSUPP), and a store fsck found clean must not be refused;
 *   4. if attached: open the root node, fetch every slot, look at what
 *      comes out (info, size, read the first and last page, map and read
 *      the first under a SIGBUS guard, rewrite a page of a writable
 *      segment, list a node's slots), create a segment and a node, write,
 *      checkpoint, destroy, close everything and detach (which must
 *      succeed); then fsck again: a store that was clean before must be
 *      clean after.
 *
 * Each iteration is announced in the kernel log ("image_fuzz: #N ..."),
 * so that a splat, which the host fails the boot on, names its input;
 * IMAGE_FUZZ_ONLY=N runs iteration N alone to reproduce it.
 *
 * IMAGE_FUZZ_SAVE=DEV writes the base images the module made to DEV, one
 * per MiB, for the seeds of fuzz/corpus/ (selftests/scenarios/image_fuzz.sh
 * with IMAGE_FUZZ_SAVE=1 on the host).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include "cs_harness.h"
#include "cs_test.h"

/*
 * The verifiers, the CRC and the mutator, as the tools build them, and
 * the tool's fsck itself, run in-process (spawning the static tool twice
 * an image took a third of the run time under emulation).
 */
#include "../common/crc32c.c"
#include "../common/verify.c"
#include "../fuzz/imgmut.c"
#include "../userspace-tools/msg.c"
#include "../userspace-tools/util.c"
#include "../userspace-tools/bitmap.c"
#include "../userspace-tools/image.c"
#include "../userspace-tools/progress.c"
#include "../userspace-tools/cmd_fsck.c"

#define MAX_BASES	24u
#define FSCK_OUT	4096

struct base {
	char name[64];
	uint8_t *img;
};

struct stats {
	unsigned long iters, refused[5], attached, attached_clean;
	unsigned long pre_clean, post_damaged, op_errors, sigbus;
	unsigned long caps_opened, pages_read, checkpoints;
	double t_fsck, t_attach, t_use, t_detach;	/* seconds */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(fz) {
	int dfd;			/* the disk, O_DIRECT */
	uint64_t nblocks;		/* blocks of the disk */
	size_t bytes;
	uint8_t *cur;			/* what the disk holds */
	uint8_t *img;			/* the mutated image */
	struct base bases[MAX_BASES];
	unsigned int nbases;
	struct stats st;
	char fsck_out[FSCK_OUT];
};

static unsigned long env_ul(const char *name, unsigned long def)
{
	const char *v = getenv(name);

	return v && *v ? strtoul(v, NULL, 0) : def;
}

static void kmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void kmsg(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int fd, n;

	n = snprintf(line, sizeof(line), "<4>");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, line, strlen(line)) < 0)
			(void)0;
		close(fd);
	}
}

static void *xalloc(size_t bytes)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, bytes))
		return NULL;
	memset(p, 0, bytes);
	return p;
}

static int disk_read(FIXTURE_DATA(fz) *self, uint8_t *buf)
{
	size_t done = 0;
	ssize_t n;

	while (done < self->bytes) {
		n = pread(self->dfd, buf + done, self->bytes - done, done);
		if (n <= 0)
			return -1;
		done += n;
	}
	return 0;
}

/* Write the blocks of @img that differ from what the disk holds. */
static int disk_write(FIXTURE_DATA(fz) *self, const uint8_t *img)
{
	uint64_t b, e;

	for (b = 0; b < self->nblocks; b = e) {
		if (!memcmp(img + b * BS, self->cur + b * BS, BS)) {
			e = b + 1;
			continue;
		}
		for (e = b + 1; e < self->nblocks &&
		     memcmp(img + e * BS, self->cur + e * BS, BS); e++)
			;
		if (pwrite(self->dfd, img + b * BS, (e - b) * BS, b * BS) !=
		    (ssize_t)((e - b) * BS))
			return -1;
		memcpy(self->cur + b * BS, img + b * BS, (e - b) * BS);
	}
	return 0;
}

/* capstore fsck on the disk: its exit status, its output in fsck_out. */
static int fsck(FIXTURE_DATA(fz) *self)
{
	char sub[] = "fsck", n[] = "-n", e[] = "-e", twenty[] = "20";
	char dev[64];
	char *argv[] = { sub, n, e, twenty, dev, NULL };
	struct cs_ctx ctx = { .sub = "fsck", .sysfs = "/sys" };
	FILE *out;
	int rc;

	snprintf(dev, sizeof(dev), "%s", cs_test_dev());
	/* The module writes with bios: drop what the page cache holds. */
	ioctl(self->dfd, BLKFLSBUF, 0);
	memset(self->fsck_out, 0, FSCK_OUT);
	out = fmemopen(self->fsck_out, FSCK_OUT - 1, "w");
	if (!out)
		return -1;
	setvbuf(out, NULL, _IONBF, 0);
	ctx.out = out;
	ctx.err = out;
	opterr = 0;
	optind = 0;	/* glibc: start getopt over */
	rc = cmd_fsck(&ctx, 5, argv);
	fclose(out);
	return rc;
}

static void format_disk(struct __test_metadata *_metadata,
			FIXTURE_DATA(fz) *self)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "capstore format --force -U "
		 "6361702d-7374-6f72-652d-766d66757a7a %s >/dev/null",
		 cs_test_dev());
	ASSERT_EQ(0, system(cmd));
	ioctl(self->dfd, BLKFLSBUF, 0);
	ASSERT_EQ(0, disk_read(self, self->cur));
}

static void add_base(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fz) *self, const char *name,
		     const uint8_t *img)
{
	struct base *b;

	ASSERT_LT(self->nbases, MAX_BASES);
	b = &self->bases[self->nbases++];
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->img = malloc(self->bytes);
	ASSERT_NE(NULL, b->img);
	memcpy(b->img, img, self->bytes);
}

/* Snapshot the disk as a base (the store must be detached). */
static void add_disk_base(struct __test_metadata *_metadata,
			  FIXTURE_DATA(fz) *self, const char *name)
{
	ioctl(self->dfd, BLKFLSBUF, 0);
	ASSERT_EQ(0, disk_read(self, self->cur));
	ASSERT_EQ(0, fsck(self)) TH_LOG("base %s: %s", name, self->fsck_out);
	add_base(_metadata, self, name, self->cur);
}

static void fill(int fd, uint64_t off, size_t len, uint64_t tag)
{
	uint64_t buf[512];
	size_t i;

	for (i = 0; i < 512; i++)
		buf[i] = cs_mix(tag + i);
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);

		if (capstore_segment_pwrite(fd, buf, n, off) != (ssize_t)n)
			return;
		off += n;
		len -= n;
	}
}

static void checkpoint(struct __test_metadata *_metadata, int cap)
{
	uint64_t seq;

	ASSERT_EQ(0, capstore_cap_checkpoint(cap, 0, &seq));
}

/* The module builds a store worth damaging. */
static void populate(struct __test_metadata *_metadata,
		     FIXTURE_DATA(fz) *self, const char *name1,
		     const char *name2)
{
	int root, s1, s2, s3, n1, n2, r, w, fwd, victim, rv, first;
	uint32_t id;

	format_disk(_metadata, self);
	first = cs_next_fd();
	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	/* Segments of data tree height 0, 1 and 2. */
	s1 = capstore_node_create(root, 0, CAPSTORE_KIND_SEGMENT, 4096, 0);
	ASSERT_LE(0, s1);
	fill(s1, 0, 4096, 1);
	s2 = capstore_node_create(root, 1, CAPSTORE_KIND_SEGMENT, 1 << 20, 0);
	ASSERT_LE(0, s2);
	fill(s2, 0, 8192, 2);
	fill(s2, 255 * 4096, 4096, 3);
	s3 = capstore_node_create(root, 2, CAPSTORE_KIND_SEGMENT,
				  1ULL << 30, 0);
	ASSERT_LE(0, s3);
	fill(s3, 0, 4096, 4);
	fill(s3, 70000ULL * 4096, 4096, 5);
	checkpoint(_metadata, root);
	/* Nodes holding restricted, weak and node capabilities. */
	n1 = capstore_node_create(root, 3, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, n1);
	r = capstore_cap_restrict(s1, CAPSTORE_RIGHT_READ |
				  CAPSTORE_RIGHT_MAP, 0);
	ASSERT_LE(0, r);
	ASSERT_EQ(0, capstore_node_store(n1, 0, r, 0));
	w = capstore_cap_restrict(n1, CAPSTORE_RIGHT_READ |
				  CAPSTORE_RIGHT_GRANT | CAPSTORE_RIGHT_WEAK,
				  0);
	ASSERT_LE(0, w);
	ASSERT_EQ(0, capstore_node_store(root, 4, w, 0));
	ASSERT_EQ(0, capstore_node_store(n1, 1, s2, 0));
	n2 = capstore_node_create(n1, 2, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, n2);
	ASSERT_EQ(0, capstore_node_store(n2, 31, n1, 0));	/* a cycle */
	/* A forwarder of s2, and its forwarded capability in a slot. */
	fwd = capstore_cap_forward(s2, n1, 3, CAPSTORE_RIGHT_READ, 0);
	ASSERT_LE(0, fwd);
	ASSERT_EQ(0, capstore_node_store(root, 5, fwd, 0));
	checkpoint(_metadata, root);
	/* A destroyed object (its slot now dead) and a revoked one. */
	victim = capstore_node_create(root, 6, CAPSTORE_KIND_SEGMENT, 8192, 0);
	ASSERT_LE(0, victim);
	fill(victim, 0, 8192, 6);
	ASSERT_EQ(0, capstore_node_store(n2, 0, victim, 0));
	ASSERT_EQ(0, capstore_cap_destroy(victim, 0));
	ASSERT_EQ(0, capstore_node_store(n2, 1, s3, 0));
	rv = capstore_cap_revoke(s3, 0);
	ASSERT_LE(0, rv);
	ASSERT_EQ(0, capstore_node_store(root, 2, rv, 0));
	checkpoint(_metadata, root);
	fill(s1, 0, 4096, 7);
	cs_close_from(first);
	ASSERT_EQ(0, cs_detach(id));
	add_disk_base(_metadata, self, name1);

	/* Attached again: changes, two checkpoints, the slots rotate. */
	ASSERT_EQ(0, cs_attach(&id));
	root = cs_root(id);
	ASSERT_LE(0, root);
	s1 = capstore_node_fetch(root, 0, 0);
	ASSERT_LE(0, s1);
	fill(s1, 0, 4096, 8);
	n1 = capstore_node_create(root, 7, CAPSTORE_KIND_NODE, 0, 0);
	ASSERT_LE(0, n1);
	ASSERT_EQ(0, capstore_node_store(n1, 9, s1, 0));
	checkpoint(_metadata, root);
	ASSERT_EQ(0, capstore_node_clear(root, 4, 0));
	checkpoint(_metadata, root);
	cs_close_from(first);
	ASSERT_EQ(0, cs_detach(id));
	add_disk_base(_metadata, self, name2);
}

static void load_file_bases(struct __test_metadata *_metadata,
			    FIXTURE_DATA(fz) *self)
{
	const char *list = getenv("IMAGE_FUZZ_BASES");
	char *copy, *tok, *save = NULL;
	uint8_t *buf;

	if (!list || !*list)
		return;
	copy = strdup(list);
	buf = xalloc(self->bytes);
	ASSERT_NE(NULL, copy);
	ASSERT_NE(NULL, buf);
	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		int fd = open(tok, O_RDONLY);
		ssize_t n;

		if (fd < 0)
			continue;
		memset(buf, 0, self->bytes);
		n = read(fd, buf, self->bytes);
		close(fd);
		if (n < BS)
			continue;
		add_base(_metadata, self, strrchr(tok, '/') ?
			 strrchr(tok, '/') + 1 : tok, buf);
	}
	free(buf);
	free(copy);
}

/* IMAGE_FUZZ_SAVE: the bases the module made, one per MiB of that disk. */
static void save_bases(struct __test_metadata *_metadata,
		       FIXTURE_DATA(fz) *self)
{
	const char *dev = getenv("IMAGE_FUZZ_SAVE");
	unsigned int i;
	int fd;

	if (!dev || !*dev)
		return;
	fd = open(dev, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < self->nbases; i++) {
		if (strncmp(self->bases[i].name, "vm-", 3))
			continue;
		ASSERT_EQ((ssize_t)self->bytes,
			  pwrite(fd, self->bases[i].img, self->bytes,
				 (off_t)i << 20));
		printf("# saved base %s at %u MiB\n", self->bases[i].name, i);
	}
	ASSERT_EQ(0, fsync(fd));
	close(fd);
}

FIXTURE_SETUP(fz)
{
	struct stat sb;

	cs_detach_stale();
	self->dfd = open(cs_test_dev(), O_RDWR | O_DIRECT | O_CLOEXEC);
	ASSERT_LE(0, self->dfd);
	ASSERT_EQ(0, fstat(self->dfd, &sb));
	ASSERT_EQ(0, ioctl(self->dfd, BLKGETSIZE64, &self->bytes));
	ASSERT_LE(1u << 20, self->bytes);
	/* The images are small: their first MiB. */
	self->bytes = 1u << 20;
	self->nblocks = self->bytes / BS;
	self->cur = xalloc(self->bytes);
	self->img = xalloc(self->bytes);
	ASSERT_NE(NULL, self->cur);
	ASSERT_NE(NULL, self->img);

	format_disk(_metadata, self);
	add_disk_base(_metadata, self, "fresh");
	populate(_metadata, self, "vm-populated", "vm-reattached");
	load_file_bases(_metadata, self);
	save_bases(_metadata, self);
	printf("# %u base images\n", self->nbases);
}

FIXTURE_TEARDOWN(fz)
{
	unsigned int i;

	cs_detach_stale();
	for (i = 0; i < self->nbases; i++)
		free(self->bases[i].img);
	free(self->cur);
	free(self->img);
	close(self->dfd);
}

/* ---- exercising an attached, damaged store ---- */

static sigjmp_buf bus_jmp;
static volatile sig_atomic_t bus_armed;

static void on_sigbus(int sig)
{
	if (bus_armed)
		siglongjmp(bus_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read a byte of every page of [0, len) of a mapping; -1 on SIGBUS. */
static int touch(const volatile uint8_t *p, size_t len)
{
	size_t i;
	unsigned int sum = 0;

	if (sigsetjmp(bus_jmp, 1)) {
		bus_armed = 0;
		return -1;
	}
	bus_armed = 1;
	for (i = 0; i < len; i += 4096)
		sum += p[i];
	bus_armed = 0;
	return (int)(sum & 0);
}

static void note_err(struct stats *st, long ret)
{
	if (ret < 0)
		st->op_errors++;
}

static void look_at_segment(struct stats *st, int fd, unsigned int rights)
{
	uint8_t page[4096];
	uint64_t size = 0;
	void *map;
	long ret;

	ret = capstore_segment_size(fd, &size);
	note_err(st, ret);
	if (ret || !size)
		return;
	if (rights & CAPSTORE_RIGHT_READ) {
		ret = capstore_segment_pread(fd, page, sizeof(page), 0);
		note_err(st, ret);
		ret = capstore_segment_pread(fd, page, sizeof(page),
					     (size - 1) & ~4095ULL);
		note_err(st, ret);
		st->pages_read += 2;
	}
	if ((rights & CAPSTORE_RIGHT_MAP) &&
	    !capstore_segment_map(fd, 0, 4096, PROT_READ, &map)) {
		if (touch(map, 4096))
			st->sigbus++;
		capstore_segment_unmap(map, 4096);
	}
	if ((rights & CAPSTORE_RIGHT_WRITE) && !(rights & CAPSTORE_RIGHT_WEAK)) {
		memset(page, 0x5a, sizeof(page));
		ret = capstore_segment_pwrite(fd, page, sizeof(page), 0);
		note_err(st, ret);
	}
}

static void look_at_node(struct stats *st, int fd)
{
	unsigned int i, kind, rights;
	int c;

	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		c = capstore_node_fetch_info(fd, i, CAPSTORE_FD_CLOEXEC, &kind,
					     &rights);
		if (c < 0) {
			if (c != -ENOENT)
				st->op_errors++;
			continue;
		}
		st->caps_opened++;
		if (kind == CAPSTORE_KIND_SEGMENT)
			look_at_segment(st, c, rights);
		close(c);
	}
}

static void exercise(struct stats *st, uint32_t id)
{
	struct capstore_cap_info info;
	unsigned int i, kind, rights;
	int root, c, fds[CAPSTORE_NODE_SLOTS], nfds = 0;
	uint64_t seq;
	long ret;

	root = cs_root(id);
	if (root < 0) {
		st->op_errors++;
		return;
	}
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		c = capstore_node_fetch_info(root, i, CAPSTORE_FD_CLOEXEC,
					     &kind, &rights);
		if (c < 0) {
			if (c != -ENOENT)
				st->op_errors++;
			continue;
		}
		st->caps_opened++;
		fds[nfds++] = c;
		note_err(st, capstore_cap_info(c, &info));
		if (kind == CAPSTORE_KIND_SEGMENT)
			look_at_segment(st, c, rights);
		else if (kind == CAPSTORE_KIND_NODE)
			look_at_node(st, c);
	}
	/* New objects in free slots of the root, and a checkpoint. */
	c = -1;
	for (i = 0; i < CAPSTORE_NODE_SLOTS; i++) {
		ret = capstore_node_create(root, i, c < 0 ?
					   CAPSTORE_KIND_SEGMENT :
					   CAPSTORE_KIND_NODE,
					   c < 0 ? 2 * 4096 : 0,
					   CAPSTORE_FD_CLOEXEC);
		if (ret == -EEXIST)
			continue;
		if (ret < 0) {
			st->op_errors++;
			break;
		}
		if (c >= 0) {
			close((int)ret);
			break;
		}
		c = (int)ret;
		fill(c, 4096, 4096, i);
	}
	ret = capstore_cap_checkpoint(root, 0, &seq);
	note_err(st, ret);
	if (!ret)
		st->checkpoints++;
	/* Freed by the final checkpoint of detach. */
	if (c >= 0) {
		note_err(st, capstore_cap_destroy(c, 0));
		close(c);
	}
	while (nfds)
		close(fds[--nfds]);
	close(root);
}

static int attach_error_index(int err)
{
	switch (err) {
	case -EINVAL:
		return 0;
	case -EBADMSG:
		return 1;
	case -EUCLEAN:
		return 2;
	case -EOPNOTSUPP:
		return 3;
	default:
		return 4;
	}
}

TEST_F_TIMEOUT(fz, mutations, 7200)
{
	unsigned long count = env_ul("IMAGE_FUZZ_COUNT", 1000);
	unsigned long secs = env_ul("IMAGE_FUZZ_SECS", 0);
	unsigned long seed = env_ul("CS_SEED", 1);
	long only = getenv("IMAGE_FUZZ_ONLY") ?
		    (long)env_ul("IMAGE_FUZZ_ONLY", 0) : -1;
	struct stats *st = &self->st;
	time_t start = time(NULL);
	struct sigaction sa;
	unsigned long i;
	char desc[512];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigaction(SIGBUS, &sa, NULL);
	printf("# seed %lu, %lu mutations%s\n", seed, count,
	       secs ? " (or the time limit)" : "");

	for (i = 0; i < count; i++) {
		uint64_t rng = seed * 0x2545f4914f6cdd1dULL ^ (i + 1);
		const struct base *b;
		int pre, post, err, tries;
		uint32_t id;
		double t;

		if (only >= 0 && (long)i != only)
			continue;
		if (secs && (unsigned long)(time(NULL) - start) >= secs)
			break;
		b = &self->bases[imgmut_rand(&rng) % self->nbases];
		memcpy(self->img, b->img, self->bytes);
		imgmut_mutate(self->img, self->nblocks, &rng, 3, desc,
			      sizeof(desc));
		kmsg("image_fuzz: #%lu seed %lu base %s:%s\n", i, seed,
		     b->name, desc);
		ASSERT_EQ(0, disk_write(self, self->img));
		st->iters++;

		t = now();
		pre = fsck(self);
		st->t_fsck += now() - t;
		ASSERT_TRUE(pre == 0 || pre == 1)
			TH_LOG("#%lu: fsck exited %d: %s", i, pre,
			       self->fsck_out);
		if (!pre)
			st->pre_clean++;

		t = now();
		err = cs_attach(&id);
		st->t_attach += now() - t;
		if (err) {
			int k = attach_error_index(err);

			st->refused[k]++;
			ASSERT_NE(4, k) TH_LOG("#%lu (base %s:%s): attach "
					       "failed with %s", i, b->name,
					       desc, strerror(-err));
			ASSERT_NE(0, pre) TH_LOG("#%lu (base %s:%s): fsck "
						 "finds the store clean but "
						 "attach says %s", i, b->name,
						 desc, strerror(-err));
			continue;
		}
		st->attached++;
		if (!pre)
			st->attached_clean++;
		t = now();
		exercise(st, id);
		st->t_use += now() - t;
		t = now();
		for (tries = 0; (err = cs_detach(id)) && tries < 5; tries++)
			usleep(100000);
		st->t_detach += now() - t;
		ASSERT_EQ(0, err) TH_LOG("#%lu (base %s:%s): detach: %s", i,
					 b->name, desc, strerror(-err));
		ASSERT_EQ(0, disk_read(self, self->cur));

		t = now();
		post = fsck(self);
		st->t_fsck += now() - t;
		ASSERT_TRUE(post == 0 || post == 1)
			TH_LOG("#%lu: fsck exited %d: %s", i, post,
			       self->fsck_out);
		if (post)
			st->post_damaged++;
		ASSERT_FALSE(!pre && post)
			TH_LOG("#%lu (base %s:%s): the store was clean and "
			       "is damaged after attach, use and detach: %s",
			       i, b->name, desc, self->fsck_out);
	}
	printf("# %lu images in %ld s: refused %lu (EINVAL %lu, EBADMSG %lu, "
	       "EUCLEAN %lu, EOPNOTSUPP %lu), attached %lu (%lu clean, %lu "
	       "damaged per fsck before)\n", st->iters,
	       (long)(time(NULL) - start),
	       st->refused[0] + st->refused[1] + st->refused[2] +
	       st->refused[3], st->refused[0], st->refused[1],
	       st->refused[2], st->refused[3], st->attached,
	       st->attached_clean, st->attached - st->attached_clean);
	printf("# fsck clean before: %lu; damaged after detach: %lu; while "
	       "attached: %lu capabilities opened, %lu pages read, %lu "
	       "checkpoints, %lu operations failed, %lu SIGBUS\n",
	       st->pre_clean, st->post_damaged, st->caps_opened,
	       st->pages_read, st->checkpoints, st->op_errors, st->sigbus);
	printf("# time: fsck %.1f s, attach %.1f s, use %.1f s, detach %.1f s\n",
	       st->t_fsck, st->t_attach, st->t_use, st->t_detach);
	kmsg("image_fuzz: done, %lu images\n", st->iters);
}

CS_HARNESS_MAIN
