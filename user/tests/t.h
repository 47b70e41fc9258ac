/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal TAP test harness for the library's unit tests: each test is a
 * function; T_ASSERT() records a failure with file, line and a message and
 * returns from the test; T_SKIP() marks it skipped (TAP "# SKIP": what
 * could not be checked here is not reported as passed) and returns. The
 * summary line "N passed, N skipped, N failed" ends the run.
 */
#ifndef KMIG_T_H
#define KMIG_T_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct t_state {
	int run, failed, skipped;
	int cur_failed;
	char skip_why[160];	/* set: the current test was skipped */
};

#define T_ASSERT(st, cond, ...) do {						\
	if (!(cond)) {								\
		printf("#   %s:%d: %s: ", __FILE__, __LINE__, #cond);		\
		printf(__VA_ARGS__);						\
		printf("\n");							\
		(st)->cur_failed = 1;						\
		return;								\
	}									\
} while (0)

#define T_EXPECT(st, cond, ...) do {						\
	if (!(cond)) {								\
		printf("#   %s:%d: %s: ", __FILE__, __LINE__, #cond);		\
		printf(__VA_ARGS__);						\
		printf("\n");							\
		(st)->cur_failed = 1;						\
	}									\
} while (0)

#define T_SKIP(st, ...) do {							\
	snprintf((st)->skip_why, sizeof((st)->skip_why), __VA_ARGS__);		\
	return;									\
} while (0)

typedef void (*t_fn)(struct t_state *st);

struct t_case {
	const char *name;
	t_fn fn;
};

#define T_CASE(fn) { #fn, fn }

static inline int t_main(const char *suite, const struct t_case *cases, int n)
{
	struct t_state st = { 0 };

	printf("TAP version 13\n1..%d\n", n);
	for (int i = 0; i < n; i++) {
		st.cur_failed = 0;
		st.skip_why[0] = '\0';
		cases[i].fn(&st);
		st.run++;
		st.failed += st.cur_failed;
		st.skipped += !st.cur_failed && st.skip_why[0];
		printf("%s %d - %s: %s", st.cur_failed ? "not ok" : "ok", i + 1, suite,
		       cases[i].name);
		if (!st.cur_failed && st.skip_why[0])
			printf(" # SKIP %s", st.skip_why);
		printf("\n");
		fflush(stdout);
	}
	printf("# %s: %d passed, %d skipped, %d failed\n", suite,
	       st.run - st.failed - st.skipped, st.skipped, st.failed);
	return st.failed ? 1 : 0;
}

#endif /* KMIG_T_H */
