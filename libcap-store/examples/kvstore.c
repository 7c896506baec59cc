// SPDX-License-Identifier: MIT
/*
 * kvstore - a persistent key-value store in one capstore segment
 *
 *	kvstore [--store-id N] [--slot S] [--size BYTES] [--sync] COMMAND
 *
 *	put KEY VALUE	set KEY to VALUE
 *	get KEY		print the value of KEY (exit status 1 if absent)
 *	del KEY		remove KEY (exit status 1 if absent)
 *	list		print every "KEY<TAB>VALUE", one a line
 *	sync		wait until a committed checkpoint holds every update
 *	stats		print the table's and the allocator's figures
 *	check		walk the table and the allocator, check that every
 *			pointer and count adds up (exit status 1 if not)
 *	bench N		N puts, N gets and N deletes of fresh keys, timed
 *
 * The whole store is one segment, held in slot S (default 1) of the
 * store's root node and created there by the first put. The program maps
 * it and works on it as ordinary memory: a hash table of chained entries,
 * allocated by a small persistent allocator that lives in the segment too
 * (a page manager and, on top of it, a heap manager, as in a classic
 * persistent object store). Pointers are stored as offsets from the start
 * of the segment, so the segment may be mapped anywhere.
 *
 * Every update is bracketed in an application section: no checkpoint
 * holds half of one, so after a power cut the store is exactly as it was
 * after some update, and --sync (or "sync") waits until a committed
 * checkpoint holds it. There is no log and no recovery code: the store's
 * checkpoints are the only mechanism. A process killed in the middle of an
 * update (not a power cut: the kernel then goes on and checkpoints what it
 * left) would leave the update half done; kvstore blocks the usual
 * termination signals during an update, marks updates in progress in the
 * segment, and refuses a segment so marked ("check" still runs on it).
 * Updates from several processes are serialized with flock(2) on the
 * segment's capability.
 *
 * Getting the root node needs CAP_SYS_ADMIN.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>

#include <libcapstore.h>

#define KV_MAGIC	UINT64_C(0x3165726f7473766b)	/* "kvstore1" */
#define KV_VERSION	1
#define KV_PAGE		4096u
#define KV_MIN_SHIFT	5			/* smallest chunk: 32 bytes */
#define KV_NCLASSES	7			/* 32 ... 2048 bytes */
#define KV_MAX_CHUNK	(1u << (KV_MIN_SHIFT + KV_NCLASSES - 1))
#define KV_MAX_KEY	255u
#define KV_MAX_VALUE	(1u << 20)
#define KV_MIN_BUCKETS	(KV_PAGE / 8)

/* Page manager: one byte per page in the page map says what it holds. */
enum kv_page_use {
	KV_PG_FREE = 0,
	KV_PG_META = 1,		/* the superblock and the page map */
	KV_PG_TABLE = 2,	/* first page of the bucket array */
	KV_PG_TABLE_CONT = 3,	/* its other pages */
	KV_PG_LARGE = 4,	/* first page of a large entry */
	KV_PG_LARGE_CONT = 5,	/* its other pages */
	KV_PG_SLAB = 0x10,	/* + class: a page of chunks of one size */
};

/*
 * The superblock, at offset 0 of the segment. Every offset is from the
 * start of the segment; 0 is the null pointer (the superblock is there).
 */
struct kv_super {
	uint64_t magic;
	uint32_t version;
	uint32_t page_size;
	uint64_t npages;		/* pages in the segment */
	uint64_t pagemap;		/* offset of the page map */
	uint64_t meta_pages;		/* superblock + page map */
	uint64_t free_pages;		/* KV_PG_FREE pages */
	uint64_t large_pages;		/* KV_PG_LARGE and _CONT pages */
	uint64_t page_hint;		/* where the next page search starts */
	uint64_t table;			/* offset of the bucket array */
	uint64_t nbuckets;		/* a power of two */
	uint64_t count;			/* keys in the table */
	uint64_t updates;		/* updates ever made */
	uint64_t updating;		/* non-zero during an update */
	uint64_t class_free[KV_NCLASSES];	/* free chunk lists */
	uint64_t class_chunks[KV_NCLASSES];	/* chunks carved */
	uint64_t class_nfree[KV_NCLASSES];	/* chunks on the free list */
};

/* An entry: key then value, in a chunk or a run of pages. */
struct kv_entry {
	uint64_t next;			/* next entry of the bucket */
	uint64_t hash;
	uint32_t klen;
	uint32_t vlen;
	char data[];
};

struct kv {
	int seg;			/* the segment's capability */
	char *base;			/* where it is mapped */
	uint64_t size;
	struct kv_super *sb;
	uint8_t *pagemap;
};

static const char usage[] =
	"usage: kvstore [--store-id N] [--slot S] [--size BYTES] [--sync] COMMAND\n"
	"commands: put KEY VALUE | get KEY | del KEY | list | sync | stats |\n"
	"          check | bench N\n";

static int fail(const char *what, int err)
{
	fprintf(stderr, "kvstore: %s: %s\n", what, strerror(-err));
	return EXIT_FAILURE;
}

static void *kv_ptr(const struct kv *kv, uint64_t off)
{
	return kv->base + off;
}

static uint64_t kv_hash(const char *key, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);	/* FNV-1a */
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)key[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* ---- the page manager --------------------------------------------- */

/*
 * Find @n free pages in a row (first fit from the hint, wrapping) and
 * mark them @use (the first) and @cont (the others). Returns the offset
 * of the first, or 0 if there is no such run.
 */
static uint64_t page_alloc(struct kv *kv, uint64_t n, uint8_t use,
			   uint8_t cont)
{
	struct kv_super *sb = kv->sb;
	uint64_t start, i, run = 0, tried;

	if (n == 0 || n > sb->free_pages)
		return 0;
	start = sb->page_hint < sb->npages ? sb->page_hint : sb->meta_pages;
	i = start;
	for (tried = 0; tried < sb->npages + n; tried++, i++) {
		if (i >= sb->npages) {
			i = sb->meta_pages;	/* a run does not wrap */
			run = 0;
		}
		if (kv->pagemap[i] != KV_PG_FREE) {
			run = 0;
			continue;
		}
		if (++run < n)
			continue;
		start = i + 1 - n;
		kv->pagemap[start] = use;
		for (i = start + 1; i < start + n; i++)
			kv->pagemap[i] = cont;
		sb->free_pages -= n;
		sb->page_hint = start + n;
		return start * KV_PAGE;
	}
	return 0;
}

static void page_free(struct kv *kv, uint64_t off, uint64_t n)
{
	uint64_t first = off / KV_PAGE, i;

	for (i = first; i < first + n; i++)
		kv->pagemap[i] = KV_PG_FREE;
	kv->sb->free_pages += n;
}

/* ---- the heap manager: size classes of chunks carved from pages ----- */

static int size_class(uint64_t size)
{
	int c;

	for (c = 0; c < KV_NCLASSES; c++)
		if (size <= (1u << (KV_MIN_SHIFT + c)))
			return c;
	return -1;		/* a run of pages */
}

static uint32_t class_size(int c)
{
	return 1u << (KV_MIN_SHIFT + c);
}

/* A new slab page for class @c, its chunks pushed on the free list. */
static int slab_grow(struct kv *kv, int c)
{
	struct kv_super *sb = kv->sb;
	uint32_t csize = class_size(c), n = KV_PAGE / csize, i;
	uint64_t page;

	page = page_alloc(kv, 1, KV_PG_SLAB + c, KV_PG_SLAB + c);
	if (!page)
		return -ENOSPC;
	for (i = n; i-- > 0;) {
		uint64_t chunk = page + (uint64_t)i * csize;

		*(uint64_t *)kv_ptr(kv, chunk) = sb->class_free[c];
		sb->class_free[c] = chunk;
	}
	sb->class_chunks[c] += n;
	sb->class_nfree[c] += n;
	return 0;
}

/* @size bytes for an entry; 0 if the segment is full. */
static uint64_t kv_alloc(struct kv *kv, uint64_t size)
{
	struct kv_super *sb = kv->sb;
	int c = size_class(size);
	uint64_t chunk, n;

	if (c < 0) {
		n = div_up(size, KV_PAGE);
		chunk = page_alloc(kv, n, KV_PG_LARGE, KV_PG_LARGE_CONT);
		if (chunk)
			sb->large_pages += n;
		return chunk;
	}
	if (!sb->class_free[c] && slab_grow(kv, c))
		return 0;
	chunk = sb->class_free[c];
	sb->class_free[c] = *(uint64_t *)kv_ptr(kv, chunk);
	sb->class_nfree[c]--;
	return chunk;
}

static void kv_free(struct kv *kv, uint64_t off, uint64_t size)
{
	struct kv_super *sb = kv->sb;
	int c = size_class(size);
	uint64_t n;

	if (c < 0) {
		n = div_up(size, KV_PAGE);
		page_free(kv, off, n);
		sb->large_pages -= n;
		return;
	}
	*(uint64_t *)kv_ptr(kv, off) = sb->class_free[c];
	sb->class_free[c] = off;
	sb->class_nfree[c]++;
}

static uint64_t entry_size(uint32_t klen, uint32_t vlen)
{
	return sizeof(struct kv_entry) + (uint64_t)klen + vlen;
}

/* ---- the hash table ------------------------------------------------- */

static uint64_t *bucket(struct kv *kv, uint64_t hash)
{
	uint64_t *table = kv_ptr(kv, kv->sb->table);

	return &table[hash & (kv->sb->nbuckets - 1)];
}

/* Where the pointer to KEY's entry is (*result 0: absent). */
static uint64_t *kv_find(struct kv *kv, const char *key, size_t klen)
{
	uint64_t hash = kv_hash(key, klen), *link = bucket(kv, hash);
	struct kv_entry *e;

	while (*link) {
		e = kv_ptr(kv, *link);
		if (e->hash == hash && e->klen == klen &&
		    !memcmp(e->data, key, klen))
			break;
		link = &e->next;
	}
	return link;
}

static uint64_t table_pages(uint64_t nbuckets)
{
	return div_up(nbuckets * sizeof(uint64_t), KV_PAGE);
}

/* Double the bucket array, if there is room; the table works without. */
static void kv_grow(struct kv *kv)
{
	struct kv_super *sb = kv->sb;
	uint64_t nb = sb->nbuckets * 2, old = sb->table, onb = sb->nbuckets;
	uint64_t table, i, *buckets, *obuckets, off, next;
	struct kv_entry *e;

	table = page_alloc(kv, table_pages(nb), KV_PG_TABLE, KV_PG_TABLE_CONT);
	if (!table)
		return;
	buckets = kv_ptr(kv, table);
	memset(buckets, 0, table_pages(nb) * KV_PAGE);
	obuckets = kv_ptr(kv, old);
	for (i = 0; i < onb; i++) {
		for (off = obuckets[i]; off; off = next) {
			e = kv_ptr(kv, off);
			next = e->next;
			e->next = buckets[e->hash & (nb - 1)];
			buckets[e->hash & (nb - 1)] = off;
		}
	}
	sb->table = table;
	sb->nbuckets = nb;
	page_free(kv, old, table_pages(onb));
}

static int kv_put(struct kv *kv, const char *key, const char *value)
{
	size_t klen = strlen(key), vlen = strlen(value);
	uint64_t *link, off, old = 0, old_size = 0;
	struct kv_entry *e;

	if (klen == 0 || klen > KV_MAX_KEY || vlen > KV_MAX_VALUE)
		return -EINVAL;
	link = kv_find(kv, key, klen);
	if (*link) {
		e = kv_ptr(kv, *link);
		if (e->vlen == vlen) {		/* same size: in place */
			memcpy(e->data + klen, value, vlen);
			return 0;
		}
		old = *link;
		old_size = entry_size(e->klen, e->vlen);
	}
	off = kv_alloc(kv, entry_size(klen, vlen));
	if (!off)
		return -ENOSPC;
	e = kv_ptr(kv, off);
	e->hash = kv_hash(key, klen);
	e->klen = klen;
	e->vlen = vlen;
	memcpy(e->data, key, klen);
	memcpy(e->data + klen, value, vlen);
	if (old) {
		/* replace the old entry where it stands in its chain */
		e->next = ((struct kv_entry *)kv_ptr(kv, old))->next;
		*link = off;
		kv_free(kv, old, old_size);
		return 0;
	}
	e->next = *bucket(kv, e->hash);
	*bucket(kv, e->hash) = off;
	kv->sb->count++;
	if (kv->sb->count > kv->sb->nbuckets)
		kv_grow(kv);
	return 0;
}

static int kv_del(struct kv *kv, const char *key)
{
	size_t klen = strlen(key);
	uint64_t *link = kv_find(kv, key, klen), off = *link;
	struct kv_entry *e;

	if (!off)
		return -ENOENT;
	e = kv_ptr(kv, off);
	*link = e->next;
	kv_free(kv, off, entry_size(e->klen, e->vlen));
	kv->sb->count--;
	return 0;
}

/* ---- the store: its segment, its superblock, its updates ------------ */

static void kv_format(struct kv *kv)
{
	struct kv_super *sb = kv->sb;
	uint64_t npages = kv->size / KV_PAGE, i;

	memset(sb, 0, sizeof(*sb));
	sb->version = KV_VERSION;
	sb->page_size = KV_PAGE;
	sb->npages = npages;
	sb->pagemap = KV_PAGE;
	sb->meta_pages = 1 + div_up(npages, KV_PAGE);
	for (i = 0; i < sb->meta_pages; i++)
		kv->pagemap[i] = KV_PG_META;
	sb->free_pages = npages - sb->meta_pages;
	sb->page_hint = sb->meta_pages;
	sb->nbuckets = KV_MIN_BUCKETS;
	sb->table = page_alloc(kv, table_pages(sb->nbuckets), KV_PG_TABLE,
			       KV_PG_TABLE_CONT);
	sb->magic = KV_MAGIC;
}

/*
 * The segment in @slot of the root node of store @store_id, created if
 * @create. Returns its capability, -ENOENT if the slot is empty, or
 * another -errno with a message printed.
 */
static int kv_segment(unsigned long store_id, unsigned int slot,
		      uint64_t size, bool create)
{
	int ctl, root, seg;

	ctl = capstore_control_open(CAPSTORE_FD_CLOEXEC);
	if (ctl < 0) {
		fail(CAPSTORE_CONTROL_DEVICE, ctl);
		return ctl == -ENOENT ? -ENODEV : ctl;
	}
	root = capstore_root_open(ctl, store_id, CAPSTORE_FD_CLOEXEC);
	capstore_cap_close(ctl);
	if (root < 0) {
		fprintf(stderr, "kvstore: root node of store %lu: %s\n",
			store_id, strerror(-root));
		return root == -ENOENT ? -ENODEV : root;
	}
	for (;;) {
		seg = capstore_node_fetch(root, slot, CAPSTORE_FD_CLOEXEC);
		if (seg != -ENOENT || !create)
			break;
		seg = capstore_node_create(root, slot, CAPSTORE_KIND_SEGMENT,
					   size, CAPSTORE_FD_CLOEXEC);
		if (seg != -EEXIST)
			break;
		/* another kvstore created it first: fetch theirs */
	}
	capstore_cap_close(root);
	if (seg < 0 && seg != -ENOENT)
		fprintf(stderr, "kvstore: slot %u of the root node: %s\n", slot,
			strerror(-seg));
	return seg;
}

/*
 * Open the store and lock it: exclusively for an update (@update, which
 * also creates and formats the segment the first time), shared
 * otherwise. Then check the superblock; @check_only accepts a store left
 * in the middle of an update, for "check" to report.
 *
 * Returns 0; 1 if there is no store yet (and !@update); -1 after printing
 * why it failed.
 */
static int kv_open(struct kv *kv, unsigned long store_id, unsigned int slot,
		   uint64_t size, bool update, bool check_only)
{
	struct capstore_cap_info info;
	void *addr;
	int ret;

	kv->seg = kv_segment(store_id, slot, size, update);
	if (kv->seg == -ENOENT && !update)
		return 1;
	if (kv->seg < 0)
		return -1;
	ret = capstore_cap_info(kv->seg, &info);
	if (ret < 0)
		return fail("store", ret), -1;
	if (info.out_kind != CAPSTORE_KIND_SEGMENT ||
	    info.out_size < 16 * KV_PAGE ||
	    !(info.out_rights & CAPSTORE_RIGHT_MAP)) {
		fprintf(stderr, "kvstore: slot %u of the root node holds no key-value store\n",
			slot);
		return -1;
	}
	kv->size = info.out_size;
	if (flock(kv->seg, update ? LOCK_EX : LOCK_SH) < 0)
		return fail("lock", -errno), -1;
	ret = capstore_segment_map(kv->seg, 0, kv->size,
				   PROT_READ | PROT_WRITE, &addr);
	if (ret < 0)
		return fail("map", ret), -1;
	kv->base = addr;
	kv->sb = addr;
	kv->pagemap = kv_ptr(kv, KV_PAGE);

	if (kv->sb->magic == 0 && kv->sb->npages == 0) {
		/* created and never formatted (or a crash in between) */
		if (!update)
			return 1;
		ret = capstore_section_begin(kv->seg, 0);
		if (ret < 0)
			return fail("section", ret), -1;
		kv_format(kv);
		ret = capstore_section_end(kv->seg, 0);
		if (ret < 0 && ret != -ETIMEDOUT)
			return fail("section", ret), -1;
	}
	if (kv->sb->magic != KV_MAGIC || kv->sb->version != KV_VERSION ||
	    kv->sb->page_size != KV_PAGE ||
	    kv->sb->npages * KV_PAGE != kv->size) {
		fprintf(stderr, "kvstore: slot %u of the root node holds no key-value store of version %d\n",
			slot, KV_VERSION);
		return -1;
	}
	if (kv->sb->updating && !check_only) {
		fprintf(stderr, "kvstore: a process died in the middle of update %" PRIu64 "; the store may be inconsistent (kvstore check)\n",
			kv->sb->updates + 1);
		return -1;
	}
	return 0;
}

static void kv_close(struct kv *kv)
{
	if (kv->base)
		capstore_segment_unmap(kv->base, kv->size);
	if (kv->seg >= 0)
		capstore_cap_close(kv->seg);
}

/*
 * Bracket an update: a section, so that no checkpoint holds half of it,
 * and the termination signals held off, so that only SIGKILL can cut it.
 */
static int update_begin(struct kv *kv, sigset_t *saved)
{
	sigset_t block;
	int ret;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGPIPE);
	sigprocmask(SIG_BLOCK, &block, saved);
	ret = capstore_section_begin(kv->seg, 0);
	if (ret < 0) {
		sigprocmask(SIG_SETMASK, saved, NULL);
		return ret;
	}
	kv->sb->updating = 1;
	return 0;
}

static int update_end(struct kv *kv, sigset_t *saved)
{
	int ret;

	kv->sb->updates++;
	kv->sb->updating = 0;
	ret = capstore_section_end(kv->seg, 0);
	sigprocmask(SIG_SETMASK, saved, NULL);
	if (ret == -ETIMEDOUT)
		fprintf(stderr, "kvstore: warning: a checkpoint did not wait for the update (section timeout); the next one holds it whole\n");
	return ret;
}

/* ---- check: walk everything, count everything ----------------------- */

struct kv_walk {
	uint64_t pages[KV_PG_SLAB + KV_NCLASSES];
	uint64_t used[KV_NCLASSES];	/* chunks the table uses */
	uint64_t large_runs;
	uint8_t *seen;			/* one bit per 32-byte unit */
	int errors;
};

#define CHECK(walk, cond, ...)						\
	do {								\
		if (!(cond)) {						\
			printf("kvstore check: " __VA_ARGS__);		\
			putchar('\n');					\
			(walk)->errors++;				\
		}							\
	} while (0)

static bool mark_seen(struct kv_walk *w, uint64_t off)
{
	uint64_t unit = off >> KV_MIN_SHIFT;
	uint8_t bit = 1u << (unit & 7);
	bool was = w->seen[unit >> 3] & bit;

	w->seen[unit >> 3] |= bit;
	return was;
}

/* Is @off the start of a chunk of class @c? */
static bool chunk_ok(const struct kv *kv, uint64_t off, int c)
{
	if (off < kv->sb->meta_pages * KV_PAGE || off >= kv->size)
		return false;
	return kv->pagemap[off / KV_PAGE] == KV_PG_SLAB + c &&
	       off % class_size(c) == 0;
}

/* Is @off the start of a run of exactly @n large pages? */
static bool run_ok(const struct kv *kv, uint64_t off, uint64_t n)
{
	uint64_t first = off / KV_PAGE, i;

	if (off % KV_PAGE || first < kv->sb->meta_pages ||
	    first + n > kv->sb->npages || kv->pagemap[first] != KV_PG_LARGE)
		return false;
	for (i = first + 1; i < first + n; i++)
		if (kv->pagemap[i] != KV_PG_LARGE_CONT)
			return false;
	return first + n == kv->sb->npages ||
	       kv->pagemap[first + n] != KV_PG_LARGE_CONT;
}

static void check_pages(struct kv *kv, struct kv_walk *w)
{
	struct kv_super *sb = kv->sb;
	uint64_t i, tfirst = sb->table / KV_PAGE;
	uint8_t use, prev = KV_PG_META;

	for (i = 0; i < sb->npages; i++) {
		use = kv->pagemap[i];
		CHECK(w, use < KV_PG_SLAB + KV_NCLASSES,
		      "page %" PRIu64 ": unknown use %u", i, use);
		if (use >= KV_PG_SLAB + KV_NCLASSES)
			continue;
		w->pages[use]++;
		CHECK(w, (i < sb->meta_pages) == (use == KV_PG_META),
		      "page %" PRIu64 ": use %u, meta pages end at %" PRIu64,
		      i, use, sb->meta_pages);
		if (use == KV_PG_TABLE_CONT)
			CHECK(w, prev == KV_PG_TABLE || prev == KV_PG_TABLE_CONT,
			      "page %" PRIu64 ": table page out of a run", i);
		if (use == KV_PG_LARGE_CONT)
			CHECK(w, prev == KV_PG_LARGE || prev == KV_PG_LARGE_CONT,
			      "page %" PRIu64 ": large page out of a run", i);
		if (use == KV_PG_LARGE)
			w->large_runs++;
		prev = use;
	}
	CHECK(w, w->pages[KV_PG_FREE] == sb->free_pages,
	      "%" PRIu64 " free pages, the superblock says %" PRIu64,
	      w->pages[KV_PG_FREE], sb->free_pages);
	CHECK(w, w->pages[KV_PG_LARGE] + w->pages[KV_PG_LARGE_CONT] ==
		 sb->large_pages,
	      "%" PRIu64 " large pages, the superblock says %" PRIu64,
	      w->pages[KV_PG_LARGE] + w->pages[KV_PG_LARGE_CONT],
	      sb->large_pages);
	CHECK(w, w->pages[KV_PG_TABLE] == 1 && sb->table % KV_PAGE == 0 &&
		 tfirst < sb->npages && kv->pagemap[tfirst] == KV_PG_TABLE &&
		 w->pages[KV_PG_TABLE] + w->pages[KV_PG_TABLE_CONT] ==
		 table_pages(sb->nbuckets),
	      "the bucket array (%" PRIu64 " buckets at %" PRIu64
	      ") is not its run of pages", sb->nbuckets, sb->table);
}

static void check_free_lists(struct kv *kv, struct kv_walk *w)
{
	struct kv_super *sb = kv->sb;
	uint64_t off, n, per_page;
	int c;

	for (c = 0; c < KV_NCLASSES; c++) {
		per_page = KV_PAGE / class_size(c);
		CHECK(w, sb->class_chunks[c] == w->pages[KV_PG_SLAB + c] * per_page,
		      "class %u: %" PRIu64 " chunks, %" PRIu64 " slab pages hold %" PRIu64,
		      class_size(c), sb->class_chunks[c],
		      w->pages[KV_PG_SLAB + c],
		      w->pages[KV_PG_SLAB + c] * per_page);
		n = 0;
		for (off = sb->class_free[c]; off; n++) {
			if (!chunk_ok(kv, off, c) || n > sb->class_chunks[c]) {
				CHECK(w, false, "class %u: bad free chunk %" PRIu64,
				      class_size(c), off);
				break;
			}
			CHECK(w, !mark_seen(w, off),
			      "class %u: chunk %" PRIu64 " twice on the free list",
			      class_size(c), off);
			off = *(uint64_t *)kv_ptr(kv, off);
		}
		CHECK(w, n == sb->class_nfree[c],
		      "class %u: %" PRIu64 " free chunks, the superblock says %" PRIu64,
		      class_size(c), n, sb->class_nfree[c]);
	}
}

static void check_table(struct kv *kv, struct kv_walk *w)
{
	struct kv_super *sb = kv->sb;
	uint64_t *buckets = kv_ptr(kv, sb->table), i, off, count = 0, size;
	uint64_t large = 0;
	struct kv_entry *e;
	int c;

	CHECK(w, sb->nbuckets >= KV_MIN_BUCKETS &&
		 !(sb->nbuckets & (sb->nbuckets - 1)),
	      "%" PRIu64 " buckets", sb->nbuckets);
	for (i = 0; i < sb->nbuckets; i++) {
		for (off = buckets[i]; off; off = e->next) {
			e = NULL;
			if (off % 8 || off < sb->meta_pages * KV_PAGE ||
			    off + sizeof(*e) > kv->size) {
				CHECK(w, false, "bucket %" PRIu64 ": bad entry %" PRIu64,
				      i, off);
				break;
			}
			e = kv_ptr(kv, off);
			size = entry_size(e->klen, e->vlen);
			c = size_class(size);
			if (e->klen == 0 || e->klen > KV_MAX_KEY ||
			    e->vlen > KV_MAX_VALUE || off + size > kv->size ||
			    (c >= 0 ? !chunk_ok(kv, off, c) :
				      !run_ok(kv, off, div_up(size, KV_PAGE)))) {
				CHECK(w, false, "bucket %" PRIu64 ": entry %" PRIu64
				      " (key %u, value %u bytes) is not an allocation of its size",
				      i, off, e->klen, e->vlen);
				break;
			}
			if (mark_seen(w, off)) {
				CHECK(w, false, "entry %" PRIu64 " is free or linked twice",
				      off);
				break;
			}
			CHECK(w, e->hash == kv_hash(e->data, e->klen) &&
				 (e->hash & (sb->nbuckets - 1)) == i,
			      "entry %" PRIu64 " (%.*s): wrong hash or bucket",
			      off, (int)e->klen, e->data);
			if (c >= 0)
				w->used[c]++;
			else
				large += div_up(size, KV_PAGE);
			if (++count > sb->count + 1)
				break;
		}
	}
	CHECK(w, count == sb->count, "%" PRIu64 " keys, the superblock says %" PRIu64,
	      count, sb->count);
	for (c = 0; c < KV_NCLASSES; c++)
		CHECK(w, w->used[c] + sb->class_nfree[c] == sb->class_chunks[c],
		      "class %u: %" PRIu64 " used + %" PRIu64 " free != %" PRIu64 " chunks",
		      class_size(c), w->used[c], sb->class_nfree[c],
		      sb->class_chunks[c]);
	CHECK(w, large == sb->large_pages,
	      "large entries take %" PRIu64 " pages, the superblock says %" PRIu64,
	      large, sb->large_pages);
}

static int kv_check(struct kv *kv)
{
	struct kv_walk w;
	uint64_t total = 0;
	int i;

	memset(&w, 0, sizeof(w));
	w.seen = calloc(kv->size >> (KV_MIN_SHIFT + 3), 1);
	if (!w.seen)
		return fail("check", -ENOMEM);
	CHECK(&w, !kv->sb->updating, "update %" PRIu64 " was cut short",
	      kv->sb->updates + 1);
	check_pages(kv, &w);
	check_free_lists(kv, &w);
	check_table(kv, &w);
	for (i = 0; i < KV_PG_SLAB + KV_NCLASSES; i++)
		total += w.pages[i];
	CHECK(&w, total == kv->sb->npages, "%" PRIu64 " pages accounted of %" PRIu64,
	      total, kv->sb->npages);
	free(w.seen);
	printf("kvstore check: %" PRIu64 " keys, %" PRIu64 " pages (%" PRIu64
	       " free), %" PRIu64 " updates: %s\n", kv->sb->count,
	       kv->sb->npages, kv->sb->free_pages, kv->sb->updates,
	       w.errors ? "INCONSISTENT" : "consistent");
	return w.errors ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---- the commands ---------------------------------------------------- */

static void kv_stats(struct kv *kv)
{
	struct kv_super *sb = kv->sb;
	uint64_t slab = 0, i;
	int c;

	for (i = 0; i < sb->npages; i++)
		if (kv->pagemap[i] >= KV_PG_SLAB)
			slab++;
	printf("keys %" PRIu64 "\nbuckets %" PRIu64 "\nupdates %" PRIu64 "\n",
	       sb->count, sb->nbuckets, sb->updates);
	printf("pages %" PRIu64 " (%u bytes): meta %" PRIu64 ", table %" PRIu64
	       ", slab %" PRIu64 ", large %" PRIu64 ", free %" PRIu64 "\n",
	       sb->npages, KV_PAGE, sb->meta_pages, table_pages(sb->nbuckets),
	       slab, sb->large_pages, sb->free_pages);
	for (c = 0; c < KV_NCLASSES; c++)
		if (sb->class_chunks[c])
			printf("class %u: %" PRIu64 " chunks, %" PRIu64 " free\n",
			       class_size(c), sb->class_chunks[c],
			       sb->class_nfree[c]);
}

static void kv_list(struct kv *kv)
{
	uint64_t *buckets = kv_ptr(kv, kv->sb->table), i, off;
	struct kv_entry *e;

	for (i = 0; i < kv->sb->nbuckets; i++)
		for (off = buckets[i]; off; off = e->next) {
			e = kv_ptr(kv, off);
			printf("%.*s\t%.*s\n", (int)e->klen, e->data,
			       (int)e->vlen, e->data + e->klen);
		}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int kv_bench(struct kv *kv, unsigned long n)
{
	static const char *const what[] = { "put", "get", "del" };
	char key[32], value[64];
	sigset_t saved;
	unsigned long i;
	double t0, dt;
	uint64_t *link;
	int op, ret;

	for (op = 0; op < 3; op++) {
		t0 = now();
		for (i = 0; i < n; i++) {
			snprintf(key, sizeof(key), "bench-%lu", i);
			snprintf(value, sizeof(value), "value-%lu", i * 7);
			if (op == 1) {
				link = kv_find(kv, key, strlen(key));
				if (!*link)
					return fail(key, -ENOENT);
				continue;
			}
			ret = update_begin(kv, &saved);
			if (ret < 0)
				return fail("section", ret);
			ret = op == 0 ? kv_put(kv, key, value) : kv_del(kv, key);
			update_end(kv, &saved);
			if (ret < 0)
				return fail(key, ret);
		}
		dt = now() - t0;
		printf("%s: %lu in %.3f s, %.0f per second\n", what[op], n, dt,
		       dt > 0 ? n / dt : 0.0);
	}
	return EXIT_SUCCESS;
}

enum kv_cmd { PUT, GET, DEL, LIST, SYNC, STATS, CHECK, BENCH };

static const struct {
	const char *name;
	int nargs;
	bool update;
} commands[] = {
	[PUT] = { "put", 2, true },
	[GET] = { "get", 1, false },
	[DEL] = { "del", 1, true },
	[LIST] = { "list", 0, false },
	[SYNC] = { "sync", 0, false },
	[STATS] = { "stats", 0, false },
	[CHECK] = { "check", 0, false },
	[BENCH] = { "bench", 1, true },
};

static int run(struct kv *kv, enum kv_cmd cmd, char **args, bool sync)
{
	struct kv_entry *e;
	unsigned long n;
	sigset_t saved;
	uint64_t *link;
	char *end;
	int ret = 0;

	switch (cmd) {
	case GET:
		link = kv_find(kv, args[0], strlen(args[0]));
		if (!*link) {
			fprintf(stderr, "kvstore: %s: not found\n", args[0]);
			return EXIT_FAILURE;
		}
		e = kv_ptr(kv, *link);
		printf("%.*s\n", (int)e->vlen, e->data + e->klen);
		return EXIT_SUCCESS;
	case LIST:
		kv_list(kv);
		return EXIT_SUCCESS;
	case STATS:
		kv_stats(kv);
		return EXIT_SUCCESS;
	case CHECK:
		return kv_check(kv);
	case BENCH:
		n = strtoul(args[0], &end, 0);
		if (!*args[0] || *end || n == 0 || n > 10000000) {
			fprintf(stderr, "kvstore: bad count '%s'\n", args[0]);
			return 2;
		}
		return kv_bench(kv, n);
	case SYNC:
		break;
	case PUT:
	case DEL:
		ret = update_begin(kv, &saved);
		if (ret < 0)
			return fail("section", ret);
		ret = cmd == PUT ? kv_put(kv, args[0], args[1]) :
				   kv_del(kv, args[0]);
		if (update_end(kv, &saved) < 0 && ret == 0)
			ret = -ETIMEDOUT;
		if (ret == -ENOENT) {
			fprintf(stderr, "kvstore: %s: not found\n", args[0]);
			return EXIT_FAILURE;
		}
		if (ret == -ETIMEDOUT)
			return EXIT_FAILURE;
		if (ret < 0)
			return fail(args[0], ret);
		if (!sync)
			return EXIT_SUCCESS;
		break;
	}
	/* Returns once a committed checkpoint holds every update so far. */
	ret = capstore_cap_sync(kv->seg);
	if (ret < 0)
		return fail("sync", ret);
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "store-id", required_argument, NULL, 'i' },
		{ "slot", required_argument, NULL, 's' },
		{ "size", required_argument, NULL, 'S' },
		{ "sync", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long store_id = 0, slot = 1, val;
	unsigned long long size = 16 << 20;
	struct kv kv = { .seg = -1 };
	bool sync = false;
	unsigned int c;
	int opt, ret;
	char *end;

	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'i':
		case 's':
			val = strtoul(optarg, &end, 0);
			if (!*optarg || *end ||
			    (opt == 'i' && val > UINT32_MAX) ||
			    (opt == 's' && val >= CAPSTORE_NODE_SLOTS)) {
				fprintf(stderr, "kvstore: bad %s '%s'\n",
					opt == 'i' ? "store id" : "slot", optarg);
				return 2;
			}
			if (opt == 'i')
				store_id = val;
			else
				slot = val;
			break;
		case 'S':
			size = strtoull(optarg, &end, 0);
			if (*end == 'k' || *end == 'K')
				size <<= 10, end++;
			else if (*end == 'M')
				size <<= 20, end++;
			else if (*end == 'G')
				size <<= 30, end++;
			if (!*optarg || *end || size % KV_PAGE ||
			    size < 16 * KV_PAGE || size > (1ULL << 36)) {
				fprintf(stderr, "kvstore: bad size '%s' (pages, 64K to 64G)\n",
					optarg);
				return 2;
			}
			break;
		case 'y':
			sync = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return EXIT_SUCCESS;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (optind == argc) {
		fputs(usage, stderr);
		return 2;
	}
	for (c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[optind], commands[c].name))
			break;
	if (c == sizeof(commands) / sizeof(commands[0]) ||
	    argc - optind - 1 != commands[c].nargs) {
		fputs(usage, stderr);
		return 2;
	}

	ret = kv_open(&kv, store_id, slot, size, commands[c].update,
		      c == CHECK);
	if (ret) {
		kv_close(&kv);
		if (ret < 0)
			return EXIT_FAILURE;
		/* no store yet: nothing to show, nothing to wait for */
		if (c == GET) {
			fprintf(stderr, "kvstore: %s: not found\n",
				argv[optind + 1]);
			return EXIT_FAILURE;
		}
		if (c == CHECK || c == STATS)
			printf("kvstore: no store in slot %lu yet\n", slot);
		return EXIT_SUCCESS;
	}
	ret = run(&kv, c, argv + optind + 1, sync);
	kv_close(&kv);
	return ret;
}
