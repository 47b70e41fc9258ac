/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The precopy engine: the source side of a job that copies a running
 * guest's RAM into a sink (sink.h) while the guest runs, then pauses it for
 * the rest and its device state. Live migration (migrate.h: the stream to a
 * destination) and live save (save.h: a snapshot file) are its two front
 * ends; the engine depends on the job (job.h), the dirty tracker (dirty.h),
 * the sink and the source VMM, never on either front end, and never names
 * the stream or the file (the layering check keeps it so).
 *
 *   SETUP -> PRECOPY -> SWITCHOVER -> COMMIT -> COMPLETED
 *      \________\___________\_________________-> CANCELLED / FAILED
 *                                      \-------> IN_DOUBT
 *
 * SETUP: connect to the source VMM (its memfds and slots), open the dirty
 * tracker, open the sink (the front end's factory, which may connect it),
 * start dirty logging.
 * PRECOPY: iteration 0 sends every page (with the tracker's zero hints of
 * the first pass where it has them); each later one harvests, decides
 * (converge.h), clears, queues the dirty pages, and flushes.
 * SWITCHOVER: PAUSE, final harvest, last pages and device state (the
 * sink's finish), and the sink's prepare (a destination staged the state).
 * COMMIT: the point of no return: the sink's commit (a destination's
 * RESUMED ends the downtime; a file gets its COMPLETE header). Then dirty
 * logging is stopped (outside the downtime) and the source VMM is told to
 * quit, or resumed, or left paused, as the options say.
 *
 * Cancel (kmig_precopy_cancel(), any thread) and every failure before
 * COMMIT end in the same recovery: the source guest is resumed if it was
 * paused, the sink cancelled (a destination never resumes a guest it has
 * no COMMIT for; a file that never committed is removed), the throttle
 * restored, dirty logging stopped. After a failure the guest resumes
 * before the sink is cancelled; a cancel has cancelled the sink first,
 * from its own thread, to end the job's waits. After COMMIT, only a
 * commit that failed for sure allows that; a commit with no answer leaves
 * the source paused (IN_DOUBT), never two guests running.
 */
#ifndef KMIG_PRECOPY_H
#define KMIG_PRECOPY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/ram.h"
#include "dirty/dirty.h"
#include "pages/sink.h"
#include "pages/stats.h"
#include "precopy/converge.h"

enum kmig_migrate_state {
	KMIG_MIGRATE_SETUP,
	KMIG_MIGRATE_PRECOPY,
	KMIG_MIGRATE_SWITCHOVER,	/* source paused, before COMMIT */
	KMIG_MIGRATE_COMMIT,		/* the sink commits: point of no return */
	KMIG_MIGRATE_COMPLETED,
	KMIG_MIGRATE_CANCELLED,		/* source guest runs, logging off */
	KMIG_MIGRATE_FAILED,		/* source guest runs (if its VMM lives) */
	KMIG_MIGRATE_IN_DOUBT,		/* no answer after COMMIT: source paused */
};

struct kmig_precopy_opts {
	const char *vmm_path;		/* the source VMM's protocol socket */
	const char *client;		/* our name for the VMM ("kmig migrate") */
	uint64_t downtime_limit_ns;	/* 0: 300 ms */
	unsigned int max_iterations;	/* 0: 30 */
	bool auto_converge;
	uint32_t throttle_initial;	/* 0: 20 % */
	uint32_t throttle_increment;	/* 0: 10 % */
	uint32_t throttle_max;		/* 0: 99 % */
	bool stop_in_downtime;		/* benchmark: stop logging while paused,
					 * as a naive VMM does */
	bool stopped;			/* no precopy: pause, one pass of every page */
	bool keep_source;		/* completed: leave the source paused */
	bool resume_source;		/* completed: resume the source guest */
	int switchover_timeout_ms;	/* the sink's prepare and commit; 0: 30 s */
	bool downtime_strict;		/* never pause past the limit (strict.c);
					 * not with stop_in_downtime (-EINVAL) */
	unsigned int strict_retries;	/* aborted switchovers before failing; 0: 3 */
	unsigned int vmm_timeout_ms;	/* each VMM request; 0: KMIG_VMMP_TIMEOUT_MS */
	const char *kmig_dev;		/* NULL: /dev/kmig */
	unsigned int module;		/* KMIG_DIRTY_USE_* the module may do
					 * (dirty.h); 0: the userspace fallback */
	const char *no_module_why;	/* why @module is 0 ("--no-module") */
	/* If set: called once at set-up when the module was asked for but
	 * is not usable, with why (the front end tells its user). */
	void (*no_module)(void *arg, const char *why);
	void *no_module_arg;
};

/* How a front end makes its sink, once the guest's RAM is mapped. The
 * front end embeds it in its own context; the engine owns it from a
 * successful kmig_precopy_create() on and releases it at destroy. */
struct kmig_sink_factory {
	/* The sink for @ram (its threads never ask the module: zero pages
	 * come from the tracker's hints, sink.h). On failure -errno, the
	 * reason in @err. */
	int (*open)(struct kmig_sink_factory *f, const struct kmig_ram *ram,
		    struct kmig_sink *out, char *err, size_t errlen);
	/* Optional: connect it; a cancel reaches it through the sink. */
	int (*start)(struct kmig_sink_factory *f, struct kmig_sink *k, char *err,
		     size_t errlen);
	/* Free the front end's context (after the sink was destroyed). */
	void (*release)(struct kmig_sink_factory *f);
};

#define KMIG_MIGRATE_MAX_ROWS	64

/* One precopy iteration (or the final pass, in the downtime). */
struct kmig_migrate_iter {
	uint32_t index;
	uint32_t throttle;		/* percent during it */
	bool final;			/* the pass with the guest paused */
	uint64_t dirty_pages;		/* harvested (iteration 0: every page queued) */
	uint64_t zero_hinted;		/* of those, known zero by the tracker */
	uint64_t data_pages;		/* sent with content */
	uint64_t zero_pages;		/* sent as zero markers */
	uint64_t bytes;			/* on the wire */
	uint64_t harvest_ns, clear_ns, transfer_ns;
	uint64_t scan_ns;		/* the tracker's zero scan (first pass) */
	uint64_t classify_ns;		/* the sink's threads classifying pages */
	uint64_t dirty_rate;		/* pages/s dirtied since the previous clear */
	uint64_t bandwidth;		/* bytes/s of this transfer */
	uint64_t expected_downtime_ns;	/* estimated at this harvest; UINT64_MAX: unknown */
};

/* Source PAUSE to the destination's RESUMED, in its parts. */
struct kmig_migrate_downtime {
	uint64_t total_ns;
	uint64_t pause_ns;		/* PAUSE request */
	uint64_t harvest_ns;		/* final harvest */
	uint64_t stop_ns;		/* stop_in_downtime only: DIRTY_LOG_STOP */
	uint64_t devstate_ns;		/* GET_DEVICE_STATE (pages already going out) */
	uint64_t transfer_ns;		/* last pages + device state + END acks */
	uint64_t prepare_ns;		/* until PREPARED: destination staged the state */
	uint64_t commit_ns;		/* COMMIT until RESUMED (a file: its commit) */
	/* as the destination measured them (RESUMED) */
	uint64_t dst_devstate_ns, dst_commit_ns, dst_total_ns;
};

/* The strict limit's margin: what the source's pause may exceed the limit
 * by: the guard's wake-up and one RESUME request until its reply, which
 * took 5-16 ms on the 2-core development host when the resumed guest's two
 * vCPUs take both cores at once (Documentation/migration.rst). */
#define KMIG_STRICT_MARGIN_NS	(20 * 1000000ULL)

/* The report of a source job (kmig migrate, kmig save). */
struct kmig_migrate_stats {
	enum kmig_migrate_state state;
	char error[384];
	char converged[64];		/* why the switchover happened */
	uint64_t ram_bytes;
	uint64_t total_ns;		/* start until RESUMED (or the end) */
	uint64_t setup_ns;
	struct kmig_migrate_downtime downtime;
	uint64_t downtime_limit_ns;
	uint64_t expected_downtime_ns;	/* last estimate */
	struct kmig_dt_parts expected;	/* its parts (converge.h) */
	bool strict;			/* downtime_strict */
	uint32_t aborts;		/* switchovers aborted by the strict limit */
	char abort_reason[160];		/* the last abort's */
	uint64_t max_pause_ns;		/* the longest pause of the source guest
					 * that ended in a resume (an abort, a
					 * failure); 0: none */
	/* progress (kmig_precopy_stats() fills them) */
	uint64_t first_pass_pages;	/* of the first pass, sent */
	uint64_t remaining_bytes;	/* dirty pages * expected bytes per page */
	uint64_t page_bytes;		/* expected wire bytes per dirty page */
	uint64_t eta_ns;		/* UINT64_MAX: unknown */
	uint64_t dirty_rate;		/* pages/s, last measured */
	uint64_t bandwidth;		/* bytes/s, last measured (>= 1 MiB moved) */
	uint32_t dirty_syncs;		/* harvests, the final one included */
	uint32_t iterations;		/* transfers, the final pass included */
	uint32_t nr_rows;		/* rows in iter[]: the first, then the latest */
	struct kmig_migrate_iter iter[KMIG_MIGRATE_MAX_ROWS];
	/* Over all rows: the first pass (harvest, clear, scan, transfer), and
	 * what finding and classifying the dirty pages cost in every later
	 * one (its harvest; the sink's threads' classification), the final
	 * pass included. */
	uint64_t first_pass_ns;
	uint32_t later_harvests;
	uint64_t later_harvest_ns, later_classify_ns;
	uint32_t throttle;		/* percent now */
	uint32_t throttle_peak;
	struct kmig_dirty_stats dirty;
	uint64_t stop_after_ns;		/* dirty-log stop after the switchover or
					 * the recovery: never in the downtime */
	const char *source_end;		/* "quit", "paused", "running", "unknown",
					 * "untouched" (never connected): after a
					 * failure as QUERY found it */
	const char *source_dirty_log;	/* "off", "on", "unknown", "untouched" */
	char dirty_path[320];		/* dirty tracking: module or fallback, why */
	char zero_path[192];		/* zero detection on the sink's threads */
	const char *sink;		/* the sink's name: "stream", "file" */
	struct kmig_stats stream;	/* the sink's statistics */
};

struct kmig_precopy;

/* Defaults for everything but the VMM path: the module for every
 * function it does faster (KMIG_DIRTY_USE_DEFAULT). */
void kmig_precopy_opts_init(struct kmig_precopy_opts *o);
/* A job with the sink @f will make (a front end's, migrate.h, save.h:
 * they call this). */
int kmig_precopy_create(struct kmig_precopy **out, const struct kmig_precopy_opts *o,
			struct kmig_sink_factory *f);
/* Runs to the end: 0 when COMPLETED; otherwise -errno (-ECANCELED for a
 * cancel) and the state and error in the statistics. */
int kmig_precopy_run(struct kmig_precopy *pc);
/* From any thread, not a signal handler. 0: cancelling; -EBUSY: past
 * COMMIT, too late; -EALREADY: already over. */
int kmig_precopy_cancel(struct kmig_precopy *pc, const char *why);
/* A consistent snapshot, from any thread. */
void kmig_precopy_stats(struct kmig_precopy *pc, struct kmig_migrate_stats *st);
void kmig_precopy_destroy(struct kmig_precopy *pc);
/* The factory given at create (for its front end's accessors). */
struct kmig_sink_factory *kmig_precopy_factory(struct kmig_precopy *pc);

const char *kmig_migrate_state_name(enum kmig_migrate_state s);

#endif /* KMIG_PRECOPY_H */
