/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of the precopy engine, shared by source.c (the source VMM,
 * setup, recovery, the end) and precopy.c (iterations and switchover). */
#ifndef KMIG_PRECOPY_INT_H
#define KMIG_PRECOPY_INT_H

#include "base/job.h"
#include "kmig/vmm_proto_client.h"
#include "precopy/converge.h"
#include "precopy/precopy.h"

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
};

/* Record the first error (with its text) and return @ret. */
#define pc_fail(pc, ret, ...)	kmig_job_fail(&(pc)->job, ret, __VA_ARGS__)
/* Copy what the job thread measured into the shared statistics. */
void kmig_precopy_publish(struct kmig_precopy *pc);
/* Append an iteration row (keeps the first and the latest rows). */
void kmig_precopy_add_row(struct kmig_precopy *pc, const struct kmig_migrate_iter *it);

/* precopy.c */
int kmig_precopy_iterate(struct kmig_precopy *pc);
int kmig_precopy_switchover(struct kmig_precopy *pc);

#endif /* KMIG_PRECOPY_INT_H */
