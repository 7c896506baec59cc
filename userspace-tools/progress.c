// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The progress line of long offline work: see progress.h.
 */
#include "progress.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define REDRAW_NS	100000000ULL	/* 100 ms */

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

void cs_progress_start(struct cs_progress *p, const struct cs_ctx *ctx,
		       bool enable, unsigned int flags, __u64 total,
		       const char *what)
{
	memset(p, 0, sizeof(*p));
	if (!enable || !ctx->progress)
		return;
	p->f = ctx->err;
	p->sub = ctx->sub ? ctx->sub : "";
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->flags = flags;
	p->total = total;
	p->start_ns = mono_ns();
	p->delay_ns = (__u64)ctx->progress_delay_ms * 1000000ULL;
	p->next_ns = p->start_ns + p->delay_ns;
}

static void amount(const struct cs_progress *p, __u64 n, char *buf,
		   size_t len)
{
	if (p->flags & CS_PROGRESS_BYTES)
		cs_format_bytes(n, buf, len);
	else
		snprintf(buf, len, "%" PRIu64, (uint64_t)n);
}

static void draw(struct cs_progress *p)
{
	char done[CS_BYTES_STR_LEN], total[CS_BYTES_STR_LEN];
	const char *unit = (p->flags & CS_PROGRESS_BYTES) ? "" : " blocks";
	unsigned int pct;

	amount(p, p->done, done, sizeof(done));
	fprintf(p->f, "\rcapstore %s: %s: ", p->sub, p->what);
	if (p->total) {
		amount(p, p->total, total, sizeof(total));
		pct = p->done >= p->total ? 100 :
		      (unsigned int)((double)p->done * 100.0 /
				     (double)p->total);
		fprintf(p->f, "%u%% (%s of %s%s)", pct, done, total, unit);
	} else {
		fprintf(p->f, "%s%s", done, unit);
	}
	fputs("\033[K", p->f);
	fflush(p->f);
	p->shown = true;
}

void cs_progress_update(struct cs_progress *p, __u64 done)
{
	__u64 now;

	if (!p->f)
		return;
	p->done = done;
	now = mono_ns();
	if (now < p->next_ns)
		return;
	p->next_ns = now + REDRAW_NS;
	draw(p);
}

void cs_progress_clear(struct cs_progress *p)
{
	if (!p->f || !p->shown)
		return;
	fputs("\r\033[K", p->f);
	fflush(p->f);
	p->shown = false;
}

void cs_progress_end(struct cs_progress *p)
{
	cs_progress_clear(p);
	p->f = NULL;
}
