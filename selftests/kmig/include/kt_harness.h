/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kt_harness.h - kselftest_harness.h plus what every kmig test program
 * shares: errno assertions and a main() that skips the whole program when
 * /dev/kvm or /dev/kmig is missing, so the binaries run anywhere.
 */
#ifndef KT_HARNESS_H
#define KT_HARNESS_H

#include "kselftest_harness.h"
#include "kmig_test.h"

/* Asserts that @expr fails with errno @err, printing both on mismatch. */
#define ASSERT_ERRNO(err, expr) do {					\
	int __e = (err);						\
	errno = 0;							\
	ASSERT_EQ(-1, (expr)) TH_LOG("%s succeeded, expected %s",	\
				     #expr, strerror(__e));		\
	ASSERT_EQ(__e, errno) TH_LOG("%s: errno %d (%s), expected %d (%s)", \
				     #expr, errno, strerror(errno),	\
				     __e, strerror(__e));		\
} while (0)

#define KT_HARNESS_MAIN							\
int main(int argc, char **argv)						\
{									\
	const char *missing = kt_env_missing();				\
									\
	if (missing) {							\
		ksft_print_header();					\
		ksft_exit_skip("%s\n", missing);			\
	}								\
	return test_harness_run(argc, argv);				\
}

#endif /* KT_HARNESS_H */
