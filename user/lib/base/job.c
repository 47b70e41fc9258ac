// SPDX-License-Identifier: GPL-2.0
/* The state, cancel and first error of a job (job.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/job.h"

void kmig_job_init(struct kmig_job *j, const struct kmig_job_desc *d)
{
	memset(j, 0, sizeof(*j));
	j->d = d;
	pthread_mutex_init(&j->lock, NULL);
}

void kmig_job_fini(struct kmig_job *j)
{
	pthread_mutex_destroy(&j->lock);
}

void kmig_job_lock(struct kmig_job *j)
{
	pthread_mutex_lock(&j->lock);
}

void kmig_job_unlock(struct kmig_job *j)
{
	pthread_mutex_unlock(&j->lock);
}

const char *kmig_job_state_name(const struct kmig_job_desc *d, unsigned int st)
{
	return st < d->nr && d->names[st] ? d->names[st] : "?";
}

unsigned int kmig_job_state(struct kmig_job *j)
{
	unsigned int st;

	pthread_mutex_lock(&j->lock);
	st = j->state;
	pthread_mutex_unlock(&j->lock);
	return st;
}

int kmig_job_set_state(struct kmig_job *j, unsigned int st)
{
	int ret = 0;

	pthread_mutex_lock(&j->lock);
	if (st == j->d->no_return && j->cancel)
		ret = -ECANCELED;
	else
		j->state = st;
	pthread_mutex_unlock(&j->lock);
	return ret;
}

int kmig_job_cancel(struct kmig_job *j, const char *why)
{
	int ret = 0;

	pthread_mutex_lock(&j->lock);
	j->asked = true;
	if (j->state >= j->d->done) {
		ret = -EALREADY;
	} else if (j->state >= j->d->no_return) {
		ret = -EBUSY;
	} else if (!j->cancel) {
		j->cancel = true;
		snprintf(j->cancel_why, sizeof(j->cancel_why), "%s %s %s", why, j->d->during,
			 kmig_job_state_name(j->d, j->state));
		if (j->wake)
			j->wake(j->wake_arg, -ECANCELED);
	}
	pthread_mutex_unlock(&j->lock);
	return ret;
}

int kmig_job_cancelled(struct kmig_job *j)
{
	bool c;

	pthread_mutex_lock(&j->lock);
	c = j->cancel;
	pthread_mutex_unlock(&j->lock);
	return c ? -ECANCELED : 0;
}

int kmig_job_poll_cancel(void *job)
{
	return kmig_job_cancelled(job) != 0;
}

void kmig_job_set_wake(struct kmig_job *j, void (*wake)(void *arg, int err), void *arg)
{
	pthread_mutex_lock(&j->lock);
	j->wake = wake;
	j->wake_arg = arg;
	if (wake && j->cancel)
		wake(arg, -ECANCELED);
	pthread_mutex_unlock(&j->lock);
}

int kmig_job_fail(struct kmig_job *j, int ret, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&j->lock);
	if (!j->error[0]) {
		va_start(ap, fmt);
		vsnprintf(j->error, sizeof(j->error), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&j->lock);
	return ret;
}

void kmig_job_also(struct kmig_job *j, const char *what, const char *why)
{
	size_t len;

	pthread_mutex_lock(&j->lock);
	len = strlen(j->error);
	snprintf(j->error + len, sizeof(j->error) - len, "; then %s failed: %s", what, why);
	pthread_mutex_unlock(&j->lock);
}

bool kmig_job_ended(struct kmig_job *j, int ret)
{
	bool by_cancel;

	pthread_mutex_lock(&j->lock);
	by_cancel = ret == -ECANCELED && j->cancel;
	if (by_cancel)
		snprintf(j->error, sizeof(j->error), "cancelled by %s", j->cancel_why);
	pthread_mutex_unlock(&j->lock);
	return by_cancel;
}

void kmig_job_error(struct kmig_job *j, char *buf, size_t len)
{
	pthread_mutex_lock(&j->lock);
	snprintf(buf, len, "%s", j->error);
	pthread_mutex_unlock(&j->lock);
}

#ifdef KMIG_TEST_HOOKS
static int hook_asked(void *arg)
{
	struct kmig_job *j = arg;
	bool asked;

	pthread_mutex_lock(&j->lock);
	asked = j->asked;
	pthread_mutex_unlock(&j->lock);
	return asked;
}

void kmig_job_hook(struct kmig_job *j, const char *fmt, ...)
{
	char point[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(point, sizeof(point), fmt, ap);
	va_end(ap);
	kmig_hook_run(point, hook_asked, j);
}
#endif
