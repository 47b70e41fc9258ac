// SPDX-License-Identifier: GPL-2.0
/*
 * Leak checks for the kselftest_harness.h programs of the sanitizer build
 * (make SAN=1). The harness runs each test in a forked child that ends
 * with _exit(), and _exit() skips LeakSanitizer's check at exit, so the
 * library code a test runs would never be checked for leaks. Linked with
 * -Wl,--wrap=_exit (tests/tests.mk), a child that passed checks first and
 * fails (status 1, the leak report on stderr) if it leaked.
 */
#include <sanitizer/lsan_interface.h>

void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

void __wrap__exit(int status)
{
	if (status == 0 && __lsan_do_recoverable_leak_check())
		status = 1;
	__real__exit(status);
}
