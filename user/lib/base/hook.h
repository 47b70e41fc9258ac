/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test hooks: make a failure happen at a named point of a migration, so
 * that tests are deterministic instead of racing with sleeps. Read from the
 * environment at each point (no state kept):
 *
 *   KMIG_TEST_HOOK=POINT=ACTION[,POINT=ACTION...]
 *
 * POINTs are named by the code that calls kmig_job_hook() (kmig migrate
 * and kmig save: setup, precopy-N, switchover, commit (before the point of
 * no return), no-return (just after it, before the sink's commit),
 * recovering (after a failure: the source resumed, the sink not closed); kmig
 * incoming: listening, received, commit, resumed; kmig restore:
 * restore-commit; see Documentation/migration.rst). ACTIONs:
 *   sigint, sigterm  the process signals itself, then waits (bounded) until
 *                    a cancel was asked for (taken or refused): the signal
 *                    path, at that point
 *   stop             SIGSTOP itself (the test acts, then sends SIGCONT)
 *   kill             SIGKILL itself (a crash at that point)
 *   wait-cancel      wait (bounded) for a cancel asked from elsewhere (a
 *                    control command)
 *   delay-MS         sleep MS milliseconds (1..60000): a step that runs
 *                    late (the strict downtime limit's tests)
 * Every hook that fires first prints "kmig: test hook: POINT: ACTION" on
 * stderr (a test waits for that line).
 *
 * Test builds only: the hooks exist where KMIG_TEST_HOOKS is defined (the
 * test build of the helper, `kmig-test`, user/Makefile); in every other
 * build a hook point is nothing (its arguments are not evaluated), hook.c
 * is not compiled, and no environment variable can make the helper signal
 * or kill itself. Code calls hooks through kmig_job_hook() (job.h) or
 * kmig_hook_run().
 */
#ifndef KMIG_HOOK_H
#define KMIG_HOOK_H

#ifdef KMIG_TEST_HOOKS
enum kmig_hook_action {
	KMIG_HOOK_NONE,
	KMIG_HOOK_SIGINT,
	KMIG_HOOK_SIGTERM,
	KMIG_HOOK_STOP,
	KMIG_HOOK_KILL,
	KMIG_HOOK_WAIT_CANCEL,
	KMIG_HOOK_DELAY,
};

/* The action for @point (NONE if unset or unknown); announces it.
 * DELAY: its milliseconds in @ms. */
enum kmig_hook_action kmig_hook_lookup(const char *point, unsigned int *ms);

/*
 * Run @point's action. Signal and wait-cancel actions call @cancelled(@arg)
 * every 10 ms until it returns true or 10 s (wait-cancel: 60 s) passed.
 * kmig_job_hook() passes "a cancel was asked for".
 */
void kmig_hook_run(const char *point, int (*cancelled)(void *arg), void *arg);
#else
#define kmig_hook_run(point, cancelled, arg) ((void)0)
#endif

#endif /* KMIG_HOOK_H */
