// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef KMIG_TEST_HOOKS
#error "hook.c is compiled into test builds only (KMIG_TEST_HOOKS)"
#endif
#include "base/hook.h"

static const char *const names[] = {
	[KMIG_HOOK_SIGINT] = "sigint", [KMIG_HOOK_SIGTERM] = "sigterm",
	[KMIG_HOOK_STOP] = "stop", [KMIG_HOOK_KILL] = "kill",
	[KMIG_HOOK_WAIT_CANCEL] = "wait-cancel", [KMIG_HOOK_DELAY] = "delay",
};

#define DELAY_MAX_MS	60000

/* "delay-MS": MS in 1..DELAY_MAX_MS. */
static enum kmig_hook_action parse_delay(const char *s, size_t len, unsigned int *ms)
{
	char buf[16];
	char *end;
	unsigned long v;

	if (len <= 6 || len >= sizeof(buf) || strncmp(s, "delay-", 6))
		return KMIG_HOOK_NONE;
	memcpy(buf, s + 6, len - 6);
	buf[len - 6] = 0;
	v = strtoul(buf, &end, 10);
	if (*end || !v || v > DELAY_MAX_MS)
		return KMIG_HOOK_NONE;
	*ms = v;
	return KMIG_HOOK_DELAY;
}

static enum kmig_hook_action parse_action(const char *s, size_t len, unsigned int *ms)
{
	if (len > 6 && !strncmp(s, "delay-", 6))
		return parse_delay(s, len, ms);
	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(s, names[i], len))
			return i;
	return KMIG_HOOK_NONE;
}

enum kmig_hook_action kmig_hook_lookup(const char *point, unsigned int *ms)
{
	const char *spec = getenv("KMIG_TEST_HOOK"), *p = spec;
	size_t plen = strlen(point);

	while (p && *p) {
		const char *end = strchrnul(p, ','), *eq = memchr(p, '=', end - p);

		if (eq && (size_t)(eq - p) == plen && !strncmp(p, point, plen)) {
			enum kmig_hook_action a = parse_action(eq + 1, end - eq - 1, ms);

			if (a == KMIG_HOOK_DELAY)
				fprintf(stderr, "kmig: test hook: %s: delay %u ms\n", point, *ms);
			else if (a != KMIG_HOOK_NONE)
				fprintf(stderr, "kmig: test hook: %s: %s\n", point, names[a]);
			else
				fprintf(stderr, "kmig: test hook: %s: unknown action '%.*s', expected "
					"sigint, sigterm, stop, kill, wait-cancel or delay-MS\n", point,
					(int)(end - eq - 1), eq + 1);
			return a;
		}
		p = *end ? end + 1 : end;
	}
	return KMIG_HOOK_NONE;
}

static void wait_for(int (*cancelled)(void *arg), void *arg, int seconds)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	for (int i = 0; i < seconds * 100 && !cancelled(arg); i++)
		nanosleep(&ts, NULL);
}

void kmig_hook_run(const char *point, int (*cancelled)(void *arg), void *arg)
{
	unsigned int ms = 0;
	struct timespec ts;

	switch (kmig_hook_lookup(point, &ms)) {
	case KMIG_HOOK_SIGINT:
		kill(getpid(), SIGINT);
		wait_for(cancelled, arg, 10);
		break;
	case KMIG_HOOK_SIGTERM:
		kill(getpid(), SIGTERM);
		wait_for(cancelled, arg, 10);
		break;
	case KMIG_HOOK_STOP:
		kill(getpid(), SIGSTOP);
		break;
	case KMIG_HOOK_KILL:
		kill(getpid(), SIGKILL);
		break;
	case KMIG_HOOK_WAIT_CANCEL:
		wait_for(cancelled, arg, 60);
		break;
	case KMIG_HOOK_DELAY:
		ts = (struct timespec){ ms / 1000, ms % 1000 * 1000000L };
		while (nanosleep(&ts, &ts) && errno == EINTR)
			;
		break;
	case KMIG_HOOK_NONE:
		break;
	}
}
