/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A job: the state machine that every long operation of the helper shares
 * (the source side of kmig migrate and kmig save, kmig incoming, kmig
 * restore). It holds the state and its name, a cancel that any thread may
 * ask for, the first error (what went wrong first; later failures are its
 * consequences), and the point of no return.
 *
 * States are the owner's enum, ordered in three ranges:
 *
 *   [0, no_return)         running: a cancel is taken (0)
 *   [no_return, done)      past the point of no return: refused (-EBUSY)
 *   [done, nr)             over: refused (-EALREADY)
 *
 * Entering no_return and taking a cancel are decided under one lock: once
 * kmig_job_set_state(no_return) succeeded no cancel is taken, and a cancel
 * taken before makes it fail with -ECANCELED. So "cancelled" and
 * "committed" can never both be true.
 *
 * A cancel also calls the job's wake function (kmig_job_set_wake()): the
 * owner's blocked I/O (a stream, a file writer, a reader) fails at once
 * instead of at its next bounded wait. A wake set after the cancel is
 * called when it is set.
 *
 * The lock is also the owner's lock for what it publishes to other
 * threads (its statistics): kmig_job_lock()/unlock().
 */
#ifndef KMIG_JOB_H
#define KMIG_JOB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/hook.h"

#define KMIG_JOB_ERR_MAX	384

/* What the owner's states are; static, shared by all jobs of a kind. */
struct kmig_job_desc {
	const char *const *names;	/* state names, @nr of them */
	unsigned int nr;
	unsigned int no_return;		/* first state past the point of no return */
	unsigned int done;		/* first final state */
	const char *during;		/* "cancelled by WHY <during> STATE": "during", "while" */
};

struct kmig_job {
	const struct kmig_job_desc *d;
	pthread_mutex_t lock;
	unsigned int state;
	bool cancel;			/* a cancel was taken */
	bool asked;			/* a cancel was asked for, taken or not */
	char cancel_why[160];		/* "signal SIGINT during precopy" */
	char error[KMIG_JOB_ERR_MAX];	/* the first error; "" while none */
	void (*wake)(void *arg, int err);
	void *wake_arg;
};

/* State 0, no error, no cancel. */
void kmig_job_init(struct kmig_job *j, const struct kmig_job_desc *d);
void kmig_job_fini(struct kmig_job *j);

void kmig_job_lock(struct kmig_job *j);
void kmig_job_unlock(struct kmig_job *j);

/* "?" for a state the description does not name. */
const char *kmig_job_state_name(const struct kmig_job_desc *d, unsigned int st);
unsigned int kmig_job_state(struct kmig_job *j);
/* Enter @st; entering the point of no return fails with -ECANCELED (and
 * changes nothing) if a cancel came first. */
int kmig_job_set_state(struct kmig_job *j, unsigned int st);

/* From any thread, not a signal handler. 0: cancelling (or already);
 * -EBUSY: past the point of no return; -EALREADY: over. */
int kmig_job_cancel(struct kmig_job *j, const char *why);
/* -ECANCELED once a cancel was taken, else 0. */
int kmig_job_cancelled(struct kmig_job *j);
/* The same as a wait's cancel callback (@job: a struct kmig_job): non-zero
 * once a cancel was taken (e.g. the VMM client's bounded waits). */
int kmig_job_poll_cancel(void *job);
/* What to call on a cancel (NULL: nothing); called at once, with
 * -ECANCELED, if the cancel came already. @wake must not take the job's
 * lock: it runs under it. */
void kmig_job_set_wake(struct kmig_job *j, void (*wake)(void *arg, int err), void *arg);

/* Record the error if it is the first, return @ret. */
int kmig_job_fail(struct kmig_job *j, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Add "; then WHAT failed: WHY" to the error: a recovery step that failed
 * after the first error. */
void kmig_job_also(struct kmig_job *j, const char *what, const char *why);
/* The end of a job that returned @ret: a cancel's -ECANCELED becomes the
 * error "cancelled by WHY" (the consequences it had are dropped). Returns
 * whether it was the cancel. */
bool kmig_job_ended(struct kmig_job *j, int ret);
/* The error, copied under the lock. */
void kmig_job_error(struct kmig_job *j, char *buf, size_t len);

/*
 * A test hook at @fmt (a point name, printf-style: "precopy-%u") whose
 * wait (hook.h) ends when a cancel was asked for, taken or refused.
 * Compiled in test builds only: elsewhere it is nothing, its arguments
 * are not even evaluated.
 */
#ifdef KMIG_TEST_HOOKS
void kmig_job_hook(struct kmig_job *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#else
#define kmig_job_hook(j, ...) ((void)0)
#endif

#endif /* KMIG_JOB_H */
