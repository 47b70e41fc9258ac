// SPDX-License-Identifier: GPL-2.0
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
	[KMIG_HOOK_WAIT_CANCEL] = "wait-cancel",
};

static enum kmig_hook_action parse_action(const char *s, size_t len)
{
	for (size_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == len && !strncmp(s, names[i], len))
			return i;
	return KMIG_HOOK_NONE;
}

enum kmig_hook_action kmig_hook_lookup(const char *point)
{
	const char *spec = getenv("KMIG_TEST_HOOK"), *p = spec;
	size_t plen = strlen(point);

	while (p && *p) {
		const char *end = strchrnul(p, ','), *eq = memchr(p, '=', end - p);

		if (eq && (size_t)(eq - p) == plen && !strncmp(p, point, plen)) {
			enum kmig_hook_action a = parse_action(eq + 1, end - eq - 1);

			if (a != KMIG_HOOK_NONE)
				fprintf(stderr, "kmig: test hook: %s: %s\n", point, names[a]);
			else
				fprintf(stderr, "kmig: test hook: %s: unknown action '%.*s', expected "
					"sigint, sigterm, stop, kill or wait-cancel\n", point,
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
	switch (kmig_hook_lookup(point)) {
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
	case KMIG_HOOK_NONE:
		break;
	}
}
