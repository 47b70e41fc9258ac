/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live migration, source side: the state machine under `kmig migrate`
 * (Documentation/migration.rst).
 *
 *   SETUP -> PRECOPY -> SWITCHOVER -> COMMIT -> COMPLETED
 *      \________\___________\_________________-> CANCELLED / FAILED
 *                                      \-------> IN_DOUBT
 *
 * SETUP: connect to the source VMM (its memfds and slots), open the dirty
 * tracker (dirty.h), connect the channels, start dirty logging.
 * PRECOPY: iteration 0 sends every page; each later one harvests, decides
 * (converge.h), clears, queues the dirty pages, and flushes.
 * SWITCHOVER: PAUSE, last harvest, last pages and device state, END, and
 * the destination's PREPARED. COMMIT: the point of no return; RESUMED
 * from the destination ends the downtime. Then dirty logging is stopped
 * (outside the downtime) and the source VMM is told to quit.
 *
 * Cancel (kmig_migrate_cancel(), any thread) and every failure before
 * COMMIT end in the same recovery: the channels close (the destination
 * never resumes a guest it has no COMMIT for), the source guest is resumed
 * if it was paused, the throttle restored, dirty logging stopped. After
 * COMMIT, only the destination's own failure report allows that; silence
 * leaves the source paused (IN_DOUBT), never two guests running.
 */
#ifndef KMIG_MIGRATE_H
#define KMIG_MIGRATE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dirty/dirty.h"
#include "stream/send.h"
#include "pages/sink.h"
#include "pages/stats.h"

enum kmig_migrate_state {
	KMIG_MIGRATE_SETUP,
	KMIG_MIGRATE_PRECOPY,
	KMIG_MIGRATE_SWITCHOVER,	/* source paused, before COMMIT */
	KMIG_MIGRATE_COMMIT,		/* COMMIT sent, waiting for RESUMED */
	KMIG_MIGRATE_COMPLETED,
	KMIG_MIGRATE_CANCELLED,		/* source guest runs, logging off */
	KMIG_MIGRATE_FAILED,		/* source guest runs (if its VMM lives) */
	KMIG_MIGRATE_IN_DOUBT,		/* no answer after COMMIT: source paused */
};

struct kmig_migrate_opts {
	const char *vmm_path;		/* the source VMM's protocol socket */
	const char *host, *port;	/* the destination's kmig incoming */
	struct kmig_send_opts stream;	/* channels, codec, bandwidth */
	uint64_t downtime_limit_ns;	/* 0: 300 ms */
	unsigned int max_iterations;	/* 0: 30 */
	bool auto_converge;
	uint32_t throttle_initial;	/* 0: 20 % */
	uint32_t throttle_increment;	/* 0: 10 % */
	uint32_t throttle_max;		/* 0: 99 % */
	bool stop_in_downtime;		/* benchmark: stop logging while paused,
					 * as a naive VMM does */
	bool keep_source;		/* leave the source paused instead of QUIT */
	int switchover_timeout_ms;	/* PREPARED and RESUMED; 0: 30 s */
	unsigned int vmm_timeout_ms;	/* each VMM request; 0: KMIG_VMMP_TIMEOUT_MS */
	const char *kmig_dev;		/* NULL: /dev/kmig */
	bool no_module;			/* the userspace fallback even with
					 * /dev/kmig (to compare the paths) */
	FILE *note;			/* if set: a one-line note there when the
					 * module is not used though not refused
					 * by no_module, saying why */
	/*
	 * kmig save (save.h): the pages go to the sink @open_sink makes once
	 * the guest's RAM is mapped (a snapshot file) instead of the stream to
	 * host:port; finish commits it; there is no destination to COMMIT to.
	 * On failure it returns -errno with its reason in @err.
	 */
	int (*open_sink)(void *arg, const struct kmig_ram *ram, int vm_fd,
			 struct kmig_sink *out, char *err, size_t errlen);
	void *sink_arg;
	bool stopped;			/* no precopy: pause, one pass of every page */
	bool resume_source;		/* completed: resume the source guest */
};

#define KMIG_MIGRATE_MAX_ROWS	64

/* One precopy iteration (or the final pass, in the downtime). */
struct kmig_migrate_iter {
	uint32_t index;
	uint32_t throttle;		/* percent during it */
	bool final;			/* the pass with the guest paused */
	uint64_t dirty_pages;		/* harvested (iteration 0: every page queued) */
	uint64_t zero_hinted;		/* of those, known zero at harvest */
	uint64_t data_pages;		/* sent with content */
	uint64_t zero_pages;		/* sent as zero markers */
	uint64_t bytes;			/* on the wire */
	uint64_t harvest_ns, clear_ns, transfer_ns;
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
	uint64_t commit_ns;		/* COMMIT until RESUMED */
	/* as the destination measured them (RESUMED) */
	uint64_t dst_devstate_ns, dst_commit_ns, dst_total_ns;
};

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
	uint64_t dirty_rate;		/* pages/s, last measured */
	uint64_t bandwidth;		/* bytes/s, last measured (>= 1 MiB moved) */
	uint32_t dirty_syncs;		/* harvests, the final one included */
	uint32_t iterations;		/* transfers, the final pass included */
	uint32_t nr_rows;		/* rows in iter[]: the first, then the latest */
	struct kmig_migrate_iter iter[KMIG_MIGRATE_MAX_ROWS];
	uint32_t throttle;		/* percent now */
	uint32_t throttle_peak;
	struct kmig_dirty_stats dirty;
	uint64_t stop_after_ns;		/* dirty-log stop after the switchover or
					 * the recovery: never in the downtime */
	const char *source_end;		/* "quit", "paused", "running", "unknown",
					 * "untouched" (never connected): after a
					 * failure as QUERY found it */
	const char *source_dirty_log;	/* "off", "on", "unknown", "untouched" */
	char dirty_path[256];		/* dirty tracking: module or fallback, why */
	char zero_path[192];		/* zero detection on the channels */
	struct kmig_stats stream;
};

struct kmig_migrate;

/* Defaults for everything but the VMM path and the destination. */
void kmig_migrate_opts_init(struct kmig_migrate_opts *o);
int kmig_migrate_create(struct kmig_migrate **out, const struct kmig_migrate_opts *o);
/* Runs to the end: 0 when COMPLETED; otherwise -errno (-ECANCELED for a
 * cancel) and the state and error in the statistics. */
int kmig_migrate_run(struct kmig_migrate *m);
/* From any thread, not a signal handler. 0: cancelling; -EBUSY: past
 * COMMIT, too late; -EALREADY: already over. */
int kmig_migrate_cancel(struct kmig_migrate *m, const char *why);
/* A consistent snapshot, from any thread. */
void kmig_migrate_stats(struct kmig_migrate *m, struct kmig_migrate_stats *st);
void kmig_migrate_destroy(struct kmig_migrate *m);

const char *kmig_migrate_state_name(enum kmig_migrate_state s);
/* The report: human table, or one JSON object (with a newline). */
void kmig_migrate_stats_print(FILE *f, const struct kmig_migrate_stats *st);
void kmig_migrate_stats_json(FILE *f, const struct kmig_migrate_stats *st);
/* One line for a progress display. */
void kmig_migrate_progress(const struct kmig_migrate_stats *st, char *line, size_t len);

#endif /* KMIG_MIGRATE_H */
