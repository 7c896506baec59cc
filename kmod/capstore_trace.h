/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the checkpoint phases:
 *
 *   capstore_trace:capstore_checkpoint_begin     a checkpoint starts
 *   capstore_trace:capstore_checkpoint_snapshot  writers released; stall
 *   capstore_trace:capstore_checkpoint_header    data, metadata written
 *   capstore_trace:capstore_checkpoint_commit    header durable; duration
 *   capstore_trace:capstore_checkpoint_fail      it failed, and why
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM capstore_trace

#if !defined(_CAPSTORE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _CAPSTORE_TRACE_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(capstore_checkpoint_class,
		    TP_PROTO(struct cs_store *s, u64 seq),
		    TP_ARGS(s, seq),
		    TP_STRUCT__entry(__field(u32, store)
				     __field(u64, seq)),
		    TP_fast_assign(__entry->store = s->id;
				   __entry->seq = seq;),
		    TP_printk("store=%u seq=%llu", __entry->store,
			      __entry->seq));

DEFINE_EVENT(capstore_checkpoint_class, capstore_checkpoint_begin,
	     TP_PROTO(struct cs_store *s, u64 seq),
	     TP_ARGS(s, seq));

DEFINE_EVENT(capstore_checkpoint_class, capstore_checkpoint_header,
	     TP_PROTO(struct cs_store *s, u64 seq),
	     TP_ARGS(s, seq));

TRACE_EVENT(capstore_checkpoint_snapshot,
	    TP_PROTO(struct cs_store *s, u64 seq, u64 pages, u64 stall_ns),
	    TP_ARGS(s, seq, pages, stall_ns),
	    TP_STRUCT__entry(__field(u32, store)
			     __field(u64, seq)
			     __field(u64, pages)
			     __field(u64, stall_ns)),
	    TP_fast_assign(__entry->store = s->id;
			   __entry->seq = seq;
			   __entry->pages = pages;
			   __entry->stall_ns = stall_ns;),
	    TP_printk("store=%u seq=%llu pages=%llu stall_ns=%llu",
		      __entry->store, __entry->seq, __entry->pages,
		      __entry->stall_ns));

TRACE_EVENT(capstore_checkpoint_commit,
	    TP_PROTO(struct cs_store *s, u64 seq, u64 pages, u64 duration_ns),
	    TP_ARGS(s, seq, pages, duration_ns),
	    TP_STRUCT__entry(__field(u32, store)
			     __field(u64, seq)
			     __field(u64, pages)
			     __field(u64, duration_ns)),
	    TP_fast_assign(__entry->store = s->id;
			   __entry->seq = seq;
			   __entry->pages = pages;
			   __entry->duration_ns = duration_ns;),
	    TP_printk("store=%u seq=%llu pages=%llu duration_ns=%llu",
		      __entry->store, __entry->seq, __entry->pages,
		      __entry->duration_ns));

TRACE_EVENT(capstore_checkpoint_fail,
	    TP_PROTO(struct cs_store *s, u64 seq, int err),
	    TP_ARGS(s, seq, err),
	    TP_STRUCT__entry(__field(u32, store)
			     __field(u64, seq)
			     __field(int, err)),
	    TP_fast_assign(__entry->store = s->id;
			   __entry->seq = seq;
			   __entry->err = err;),
	    TP_printk("store=%u seq=%llu err=%d", __entry->store,
		      __entry->seq, __entry->err));

#endif /* _CAPSTORE_TRACE_H */

/* define_trace.h includes this file again, as TRACE_SYSTEM ".h". */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#include <trace/define_trace.h>
