/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of the precopy engine, shared by source.c (the source VMM,
 * setup, recovery, the end) and precopy.c (iterations and switchover). */
#ifndef KMIG_PRECOPY_INT_H
#define KMIG_PRECOPY_INT_H

#include <pthread.h>

#include "base/job.h"
#include "kmig/vmm_proto_client.h"
#include "precopy/converge.h"
#include "precopy/precopy.h"

/* The strict limit's guard (strict.c). */
struct kmig_strict {
	bool init, running;
	pthread_t thread;
	pthread_mutex_t lock;		/* stop, committing, fired */
	pthread_cond_t cond;
	uint64_t deadline;		/* kmig_now_ns() of PAUSE + the limit */
	bool stop, committing, fired;
};

struct kmig_precopy {
	struct kmig_precopy_opts o;
	struct kmig_conv conv;
	struct kmig_job job;		/* its lock guards st and sink (published) */
	struct kmig_migrate_stats st;

	/* the job thread's own */
	struct kmig_vmmp_client *vmm;
	struct kmig_vmmp_memmap *mm;
	struct kmig_ram ram;
	struct kmig_dirty *dirty;
	struct kmig_sink_factory *f;	/* the front end's (owned) */
	struct kmig_sink sink;		/* where the pages go */
	bool paused;			/* we paused the source guest */
	bool found_paused;		/* a stopped save of a paused guest */
	uint32_t throttle0;		/* the source's throttle before us */
	uint64_t t_start, t_clear;
	struct kmig_migrate_downtime dt;	/* published into st */
	uint64_t stop_after_ns;
	const char *source_end, *source_dirty_log;
	void *devstate;
	size_t devstate_len;
	struct kmig_strict strict;
	uint64_t t_paused;		/* when the source was paused (0: not) */
	uint32_t next_iter;		/* precopy's next iteration (after an abort) */
	uint32_t retry_from;		/* after an abort: iterate once from here */
	struct kmig_migrate_iter prev;	/* the last precopy iteration */
};

/* Record the first error (with its text) and return @ret. */
#define pc_fail(pc, ret, ...)	kmig_job_fail(&(pc)->job, ret, __VA_ARGS__)
/* Copy what the job thread measured into the shared statistics. */
void kmig_precopy_publish(struct kmig_precopy *pc);
/* Append an iteration row (keeps the first and the latest rows). */
void kmig_precopy_add_row(struct kmig_precopy *pc, const struct kmig_migrate_iter *it);

/* strict.c: the guard (arm before the sink's finish, with strict.deadline
 * set at PAUSE; disarm at the switchover's end or before an ABORT),
 * claim COMMIT (-ETIME: the guard fired first), and the check of a step:
 * true (and the abort counted, its reason kept) if @rest_ns from now
 * would pass the deadline. */
int kmig_strict_init(struct kmig_strict *g);
void kmig_strict_fini(struct kmig_strict *g);
int kmig_strict_arm(struct kmig_precopy *pc);
void kmig_strict_disarm(struct kmig_precopy *pc);
int kmig_strict_claim_commit(struct kmig_precopy *pc);
bool kmig_strict_late(struct kmig_precopy *pc, uint64_t rest_ns, const char *step);
/* Did the guard fire (and resume the source) in this switchover? */
bool kmig_strict_fired(struct kmig_precopy *pc);
/* Count an abort that no check decided (the guard, a late PREPARED). */
void kmig_strict_count(struct kmig_precopy *pc, const char *why);

/* source.c: resume the source guest we paused (records the pause). */
void kmig_precopy_resume_source(struct kmig_precopy *pc);

/* progress.c: fill @st's progress fields from its other figures. */
void kmig_precopy_progress(struct kmig_migrate_stats *st);

/* precopy.c */
int kmig_precopy_iterate(struct kmig_precopy *pc);
int kmig_precopy_switchover(struct kmig_precopy *pc);

#endif /* KMIG_PRECOPY_INT_H */
