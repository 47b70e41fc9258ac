// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's option parser (cli/opt.h): every kind of option fills its
 * field, the value parsers take what the man page promises and refuse the
 * rest, every error has its message and exit status, and --help comes
 * from the table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "opt.h"

struct targs {
	bool flag;
	uint8_t mode;
	const char *str;
	unsigned int num;
	uint8_t small;
	uint64_t size, page, rate;
	uint64_t dur_ns;
	int dur_ms;
	long dur_s;
	bool choice;
	int fn_calls, call_calls;
	const char *fn_last;
};

/* FN: "ok" is taken; "gone" is an operational error; "why" explains. */
static int t_fn(void *args, const char *v, char *why, size_t len)
{
	struct targs *a = args;

	if (!strcmp(v, "gone"))
		return -ENOENT;
	if (!strcmp(v, "why")) {
		snprintf(why, len, "its own reason");
		return -EINVAL;
	}
	if (strcmp(v, "ok"))
		return -EINVAL;
	a->fn_calls++;
	a->fn_last = v;
	return 0;
}

static int t_call(void *args, const char *v, char *why, size_t len)
{
	((struct targs *)args)->call_calls++;
	return v ? -EINVAL : 0;
}

static const char *const choices[] = { "after", "during", NULL };

#define A struct targs
static const struct cli_opt topts[] = {
	{ CLI_FLAG("flag", 'f', A, flag, "a flag") },
	{ CLI_SETVAL("stopped", 0, A, mode, 2, "set 2") },
	{ CLI_STR("str", 's', A, str, "S", "a string"), .required = true },
	{ CLI_UINT("num", 'n', A, num, 1, 64, "N", "1 to 64") },
	{ CLI_UINT("small", 0, A, small, 0, 1000, "N", "too wide for its field") },
	{ CLI_SIZE("size", 'm', A, size, 1, 0, "SIZE", "a size") },
	{ CLI_SIZE("page", 0, A, page, 4096, 4096, "SIZE", "pages") },
	{ CLI_RATE("rate", 'r', A, rate, "RATE", "a rate") },
	{ CLI_DURATION("limit", 'D', A, dur_ns, 1, 3600000, CLI_NS_MS, 1, "MS", "ms into ns") },
	{ CLI_DURATION("timeout", 'T', A, dur_ms, 1, 3600, CLI_NS_S, CLI_NS_MS, "SEC",
		       "s into ms\nsecond line\nthird line") },
	{ CLI_DURATION("wait", 0, A, dur_s, 1, 60, CLI_NS_S, CLI_NS_S, "S", "whole seconds") },
	{ CLI_CHOICE("when", 0, A, choice, choices, "WHEN", "after or during") },
	{ CLI_FN("fn", 'F', t_fn, "ok", "V", "a callback") },
	{ CLI_CALL("call", 0, t_call, "a callback without argument") },
	{ CLI_FLAG("a-rather-long-option-name", 0, A, flag, "on the next line") },
	{ 0 }
};
#undef A

static const struct cli_opts tcmd = {
	.cmd = "t", .usage = "[options] --str S ARG", .opt = topts,
	.nr_args = 1, .args_name = "ARG", .footer = "Exit status: 0.\n",
};

/* One parse of the NULL-terminated words after "t": its status, args,
 * and what it printed. */
struct run {
	int ret, first;
	struct targs a;
	char *out, *err;
	size_t outlen, errlen;
};

static struct run *parse(const char *const *words)
{
	static struct run r;
	char *argv[32] = { "t" };
	int argc = 1;
	FILE *out, *err;

	free(r.out);
	free(r.err);
	memset(&r, 0, sizeof(r));
	for (; *words; words++)
		argv[argc++] = (char *)*words;
	out = open_memstream(&r.out, &r.outlen);
	err = open_memstream(&r.err, &r.errlen);
	r.ret = cli_opts_parse_to(&tcmd, argc, argv, &r.a, &r.first, out, err);
	fclose(out);
	fclose(err);
	return &r;
}

#define PARSE(...) parse((const char *const[]){ __VA_ARGS__, NULL })

TEST(every_kind)
{
	struct run *r = PARSE("-f", "--stopped", "--str=abc", "-n7", "--size", "1.5G",
			      "--page", "8k", "-r", "1gbit", "-D", "2s", "--timeout", "90",
			      "--wait", "1m", "--when", "during", "-F", "ok", "--call", "pos");

	ASSERT_EQ(0, r->ret) TH_LOG("%s", r->err);
	EXPECT_TRUE(r->a.flag);
	EXPECT_EQ(2, r->a.mode);
	EXPECT_STREQ("abc", r->a.str);
	EXPECT_EQ(7, r->a.num);
	EXPECT_EQ(3ULL << 29, r->a.size);
	EXPECT_EQ(8192, r->a.page);
	EXPECT_EQ(125000000, r->a.rate);
	EXPECT_EQ(2000000000ULL, r->a.dur_ns);
	EXPECT_EQ(90000, r->a.dur_ms);
	EXPECT_EQ(60, r->a.dur_s);
	EXPECT_TRUE(r->a.choice);
	EXPECT_EQ(1, r->a.fn_calls);
	EXPECT_STREQ("ok", r->a.fn_last);
	EXPECT_EQ(1, r->a.call_calls);
	EXPECT_EQ(22, r->first);
	EXPECT_STREQ("", r->err);
}

/* GNU conventions: options after the positional argument, clusters, "--". */
TEST(permutation_and_clusters)
{
	struct run *r = PARSE("pos", "-fs", "x", "--when=after");

	ASSERT_EQ(0, r->ret) TH_LOG("%s", r->err);
	EXPECT_TRUE(r->a.flag);
	EXPECT_STREQ("x", r->a.str);
	EXPECT_FALSE(r->a.choice);
	r = PARSE("-s", "x", "--", "-pos");
	ASSERT_EQ(0, r->ret) TH_LOG("%s", r->err);
	EXPECT_EQ(4, r->first);		/* "-pos" after "--" is the argument */
}

TEST(uint_values)
{
	uint64_t v;

	EXPECT_EQ(0, cli_parse_uint("08", 0, 100, &v));
	EXPECT_EQ(8, v);			/* decimal, not octal */
	EXPECT_EQ(0, cli_parse_uint("0x10", 0, 100, &v));
	EXPECT_EQ(16, v);
	EXPECT_EQ(0, cli_parse_uint("18446744073709551615", 0, UINT64_MAX, &v));
	EXPECT_EQ(UINT64_MAX, v);
	EXPECT_EQ(-ERANGE, cli_parse_uint("18446744073709551616", 0, UINT64_MAX, &v));
	EXPECT_EQ(-ERANGE, cli_parse_uint("65", 1, 64, &v));
	EXPECT_EQ(-ERANGE, cli_parse_uint("0", 1, 64, &v));
	EXPECT_EQ(-EINVAL, cli_parse_uint("", 0, 64, &v));
	EXPECT_EQ(-EINVAL, cli_parse_uint("-1", 0, 64, &v));
	EXPECT_EQ(-EINVAL, cli_parse_uint("+1", 0, 64, &v));
	EXPECT_EQ(-EINVAL, cli_parse_uint(" 1", 0, 64, &v));
	EXPECT_EQ(-EINVAL, cli_parse_uint("1x", 0, 64, &v));
	EXPECT_EQ(-EINVAL, cli_parse_uint("0x", 0, 64, &v));
}

TEST(size_and_rate_values)
{
	uint64_t v;

	EXPECT_EQ(0, cli_parse_size("4096", &v));
	EXPECT_EQ(4096, v);
	EXPECT_EQ(0, cli_parse_size("64k", &v));
	EXPECT_EQ(65536, v);
	EXPECT_EQ(0, cli_parse_size("2MiB", &v));
	EXPECT_EQ(2 << 20, v);
	EXPECT_EQ(0, cli_parse_size("8T", &v));
	EXPECT_EQ(8ULL << 40, v);
	EXPECT_EQ(-ERANGE, cli_parse_size("20000000T", &v));
	EXPECT_EQ(-EINVAL, cli_parse_size("", &v));
	EXPECT_EQ(-EINVAL, cli_parse_size("-1", &v));
	EXPECT_EQ(-EINVAL, cli_parse_size("1q", &v));
	EXPECT_EQ(-EINVAL, cli_parse_size("G", &v));
	EXPECT_EQ(0, cli_parse_rate("100mbit", &v));
	EXPECT_EQ(12500000, v);
	EXPECT_EQ(0, cli_parse_rate("100M", &v));
	EXPECT_EQ(100 << 20, v);
	EXPECT_EQ(-EINVAL, cli_parse_rate("1gbps", &v));
}

TEST(duration_values)
{
	uint64_t ns;

	EXPECT_EQ(0, cli_parse_duration("300", CLI_NS_MS, &ns));
	EXPECT_EQ(300 * CLI_NS_MS, ns);
	EXPECT_EQ(0, cli_parse_duration("300", CLI_NS_S, &ns));
	EXPECT_EQ(300 * CLI_NS_S, ns);
	EXPECT_EQ(0, cli_parse_duration("250ms", CLI_NS_S, &ns));
	EXPECT_EQ(250 * CLI_NS_MS, ns);
	EXPECT_EQ(0, cli_parse_duration("2h", CLI_NS_MS, &ns));
	EXPECT_EQ(7200 * CLI_NS_S, ns);
	EXPECT_EQ(-EINVAL, cli_parse_duration("", CLI_NS_S, &ns));
	EXPECT_EQ(-EINVAL, cli_parse_duration("s", CLI_NS_S, &ns));
	EXPECT_EQ(-EINVAL, cli_parse_duration("1.5s", CLI_NS_S, &ns));
	EXPECT_EQ(-EINVAL, cli_parse_duration("5d", CLI_NS_S, &ns));
	EXPECT_EQ(-ERANGE, cli_parse_duration("99999999999999999999", CLI_NS_S, &ns));
	EXPECT_EQ(-ERANGE, cli_parse_duration("9999999999999h", CLI_NS_S, &ns));
}

/* The first line of each error, and the status: 2 usage, 1 operational. */
TEST(errors)
{
	static const struct { const char *w[4]; int ret; const char *line; } cases[] = {
		{ { "-n", "x" }, 2, "kmig t: --num: expected 1..64, got 'x'" },
		{ { "--num=65" }, 2, "kmig t: --num: expected 1..64, got '65'" },
		{ { "--small", "300" }, 2, "kmig t: --small: expected 0..1000, got '300'" },
		{ { "--size", "0" }, 2, "kmig t: --size: expected a size such as 512M or 8G (K, M, "
		  "G, T: powers of 1024), at least 1, got '0'" },
		{ { "--page", "5000" }, 2, "kmig t: --page: expected a size such as 512M or 8G (K, "
		  "M, G, T: powers of 1024), a multiple of 4096, got '5000'" },
		{ { "-r", "fast" }, 2, "kmig t: --rate: expected bytes/s such as 100M, or a link "
		  "speed such as 1gbit, got 'fast'" },
		{ { "-T", "3601" }, 2, "kmig t: --timeout: expected 1..3600 s (or with a unit: ms, "
		  "s, m, h), got '3601'" },
		{ { "--wait", "1500ms" }, 2, "kmig t: --wait: expected 1..60 s (or with a unit: ms, "
		  "s, m, h), got '1500ms'" },
		{ { "--when", "never" }, 2, "kmig t: --when: expected after or during, got 'never'" },
		{ { "-F", "bad" }, 2, "kmig t: --fn: expected ok, got 'bad'" },
		{ { "-F", "why" }, 2, "kmig t: --fn: expected its own reason, got 'why'" },
		{ { "-F", "gone" }, 1, "kmig t: --fn gone: No such file or directory" },
		{ { "--bogus" }, 2, "kmig t: unknown option '--bogus'" },
		{ { "--bogus=1" }, 2, "kmig t: unknown option '--bogus'" },
		{ { "-x" }, 2, "kmig t: unknown option '-x'" },
		{ { "-fx" }, 2, "kmig t: unknown option '-x'" },
		{ { "--flag=1" }, 2, "kmig t: --flag takes no argument" },
		{ { "-s" }, 2, "kmig t: -s needs an argument" },
		{ { "pos", "--str" }, 2, "kmig t: --str needs an argument" },
		{ { "pos" }, 2, "kmig t: --str S is required" },
		{ { "-s", "x" }, 2, "kmig t: missing ARG" },
		{ { "-s", "x", "a", "b" }, 2, "kmig t: unexpected argument 'b'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *w[6] = { NULL };
		struct run *r;
		size_t n = 0, len;

		for (; n < 4 && cases[i].w[n]; n++)
			w[n] = cases[i].w[n];
		/* The required option and the argument, unless the case is about them. */
		if (i < 12) {
			w[n++] = "-sx";
			w[n++] = "pos";
		}
		r = parse(w);
		len = strlen(cases[i].line);
		EXPECT_EQ(cases[i].ret, r->ret) TH_LOG("case %zu: %s", i, r->err);
		/* The whole first line: the text, then the newline. */
		EXPECT_TRUE(strlen(r->err) > len && !strncmp(r->err, cases[i].line, len) &&
			    r->err[len] == '\n') TH_LOG("case %zu: got %s", i, r->err);
		if (cases[i].ret == 2)
			EXPECT_NE(NULL, strstr(r->err, "\nUsage: kmig t [options] --str S ARG\n"));
		EXPECT_STREQ("", r->out);
	}
}

TEST(help)
{
	struct run *r = PARSE("pos", "--help", "--num", "x");
	const char *want =
		"Usage: kmig t [options] --str S ARG\n"
		"  -f, --flag         a flag\n"
		"      --stopped      set 2\n"
		"  -s, --str S        a string\n"
		"  -n, --num N        1 to 64\n";
	/* The column: the widest left part that fits ("  -T, --timeout SEC") + 2;
	 * continuation lines under it; a longer left part on a line of its own. */
	const char *timeout =
		"  -T, --timeout SEC  s into ms\n"
		"                     second line\n"
		"                     third line\n";
	const char *longer =
		"      --a-rather-long-option-name\n"
		"                     on the next line\n"
		"  -h, --help         this help\n"
		"Exit status: 0.\n";

	EXPECT_EQ(-1, r->ret);
	EXPECT_EQ(0, strncmp(r->out, want, strlen(want))) TH_LOG("%s", r->out);
	EXPECT_NE(NULL, strstr(r->out, timeout)) TH_LOG("%s", r->out);
	EXPECT_NE(NULL, strstr(r->out, longer)) TH_LOG("%s", r->out);
	EXPECT_STREQ("", r->err);
	r = PARSE("-h");
	EXPECT_EQ(-1, r->ret);
}

/* Each parse starts afresh (getopt's state is reset). */
TEST(repeatable)
{
	for (int i = 0; i < 3; i++) {
		struct run *r = PARSE("-s", "x", "-n", "3", "pos");

		ASSERT_EQ(0, r->ret) TH_LOG("%s", r->err);
		EXPECT_EQ(3, r->a.num);
		EXPECT_EQ(5, r->first);
	}
}

TEST_HARNESS_MAIN
