/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of the source side, shared by migrate.c (lifecycle, setup,
 * cancel, recovery) and precopy.c (iterations and switchover). */
#ifndef KMIG_MIGRATE_INT_H
#define KMIG_MIGRATE_INT_H

#include <pthread.h>

#include "migrate/converge.h"
#include "migrate/migrate.h"
#include "kmig/vmm_proto_client.h"

struct kmig_migrate {
	struct kmig_migrate_opts o;
	struct kmig_conv conv;

	pthread_mutex_t lock;		/* state, cancel, st, s (published) */
	enum kmig_migrate_state state;
	bool cancel;
	char cancel_why[128];
	struct kmig_migrate_stats st;

	/* the migration thread's own */
	struct kmig_vmmp_client *vmm;
	struct kmig_vmmp_memmap *mm;
	struct kmig_ram ram;
	struct kmig_dirty *dirty;
	struct kmig_sink sink;		/* where the pages go */
	struct kmig_send *s;		/* the stream, if that is the sink */
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
int kmig_migrate_fail(struct kmig_migrate *m, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* -ECANCELED once a cancel was asked for. */
int kmig_migrate_check_cancel(struct kmig_migrate *m);
/* Enter @st; entering COMMIT fails with -ECANCELED if a cancel came
 * first (the cancel and the point of no return are decided atomically). */
int kmig_migrate_set_state(struct kmig_migrate *m, enum kmig_migrate_state st);
/* Copy what the migration thread measured into the shared statistics. */
void kmig_migrate_publish(struct kmig_migrate *m);
/* Append an iteration row (keeps the first and the latest rows). */
void kmig_migrate_add_row(struct kmig_migrate *m, const struct kmig_migrate_iter *it);
/* Run a test hook (hook.h) with this migration's cancel as the wait. */
void kmig_migrate_hook(struct kmig_migrate *m, const char *point);

/* precopy.c */
int kmig_migrate_precopy(struct kmig_migrate *m);
int kmig_migrate_switchover(struct kmig_migrate *m);

#endif /* KMIG_MIGRATE_INT_H */
