/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test hooks: make a failure happen at a named point of a migration, so
 * that tests are deterministic instead of racing with sleeps. Read from the
 * environment at each point (no state kept):
 *
 *   KMIG_TEST_HOOK=POINT=ACTION[,POINT=ACTION...]
 *
 * POINTs are named by the code that calls kmig_hook_lookup() (kmig
 * migrate: setup, precopy-N, switchover, commit; kmig incoming: listening,
 * received, commit, resumed; see Documentation/migration.rst). ACTIONs:
 *   sigint, sigterm  the process signals itself, then waits (bounded) until
 *                    the cancel took effect: the signal path, at that point
 *   stop             SIGSTOP itself (the test acts, then sends SIGCONT)
 *   kill             SIGKILL itself (a crash at that point)
 *   wait-cancel      wait (bounded) for a cancel from elsewhere (a control
 *                    command)
 * Every hook that fires first prints "kmig: test hook: POINT: ACTION" on
 * stderr (a test waits for that line).
 */
#ifndef KMIG_HOOK_H
#define KMIG_HOOK_H

enum kmig_hook_action {
	KMIG_HOOK_NONE,
	KMIG_HOOK_SIGINT,
	KMIG_HOOK_SIGTERM,
	KMIG_HOOK_STOP,
	KMIG_HOOK_KILL,
	KMIG_HOOK_WAIT_CANCEL,
};

/* The action for @point (NONE if unset or unknown); announces it. */
enum kmig_hook_action kmig_hook_lookup(const char *point);

/*
 * Run @point's action. Signal and wait-cancel actions call @cancelled(@arg)
 * every 10 ms until it returns true or 10 s (wait-cancel: 60 s) passed.
 */
void kmig_hook_run(const char *point, int (*cancelled)(void *arg), void *arg);

#endif /* KMIG_HOOK_H */
