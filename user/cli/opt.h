/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The subcommands' option parser: each subcommand describes its options in
 * one table (long name, short name, kind of argument, help text, and the
 * field of the subcommand's argument struct it fills); one loop parses
 * them (getopt_long underneath: --name=VALUE, -cVALUE, option clusters,
 * options after positional arguments) with the same errors everywhere:
 *
 *   kmig migrate: --channels: expected 1..64, got 'x'
 *
 * and --help is generated from the table. Bad usage exits 2.
 */
#ifndef KMIG_CLI_OPT_H
#define KMIG_CLI_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum cli_opt_kind {
	CLI_OPT_SET,		/* no argument: store @set (a flag: 1) */
	CLI_OPT_STR,		/* the argument as given (const char *) */
	CLI_OPT_UINT,		/* decimal (or 0x hex) in [@min, @max] */
	CLI_OPT_SIZE,		/* bytes: K, M, G, T (powers of 1024), KiB...;
				 * at least @min, a multiple of @align */
	CLI_OPT_RATE,		/* bytes/s: a size, or a link speed such as
				 * 100mbit, 1gbit (powers of 1000 bits) */
	CLI_OPT_DURATION,	/* a number of @unit_ns, or with a suffix (ms,
				 * s, m, h); [@min, @max] in @unit_ns; stored in
				 * @store_ns units */
	CLI_OPT_CHOICE,		/* one of @choices: its index is stored */
	CLI_OPT_FN,		/* @fn parses and stores the argument */
	CLI_OPT_CALL,		/* no argument: @fn(args, NULL) */
};

/*
 * @fn: 0, or -EINVAL/-ERANGE (reported as "expected @expect"), or another
 * -errno (reported with strerror, exit 1: not a usage error). It may put
 * its own reason into @why (then reported instead of @expect).
 */
typedef int (*cli_opt_fn)(void *args, const char *v, char *why, size_t len);

struct cli_opt {
	const char *name;		/* without "--"; NULL ends the table */
	char short_name;		/* 0: none */
	enum cli_opt_kind kind;
	const char *arg;		/* the argument's name in --help ("N") */
	const char *help;		/* lines separated by '\n' */
	size_t off, size;		/* the field of the args struct */
	uint64_t min, max;
	uint64_t align;			/* SIZE: 0 or a multiple of this */
	uint64_t unit_ns, store_ns;	/* DURATION */
	uint64_t set;			/* SET */
	const char *const *choices;	/* CHOICE: NULL-terminated */
	cli_opt_fn fn;			/* FN, CALL */
	const char *expect;		/* FN: what a valid argument looks like */
	bool required;			/* usage error if not given */
};

/* A subcommand: its usage line, the table, its positional arguments. */
struct cli_opts {
	const char *cmd;		/* "migrate" */
	const char *usage;		/* after "Usage: kmig CMD " */
	const char *about;		/* optional, printed before the options */
	const char *footer;		/* optional, printed after them */
	unsigned int nr_args;		/* exactly this many positional arguments */
	const char *args_name;		/* their name in errors ("HOST:PORT") */
	const struct cli_opt *opt;
};

#define CLI_NS_MS	1000000ULL
#define CLI_NS_S	1000000000ULL

/* The field @f of the args struct @T. */
#define CLI_FIELD(T, f) .off = offsetof(T, f), .size = sizeof(((T *)0)->f)

/* Table entries: { CLI_UINT(...) } or { CLI_STR(...), .required = true }. */
#define CLI_FLAG(l, s, T, f, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_SET, .set = 1, CLI_FIELD(T, f), .help = h
#define CLI_SETVAL(l, s, T, f, v, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_SET, .set = v, CLI_FIELD(T, f), .help = h
#define CLI_STR(l, s, T, f, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_STR, CLI_FIELD(T, f), .arg = a, .help = h
#define CLI_UINT(l, s, T, f, lo, hi, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_UINT, CLI_FIELD(T, f), .min = lo, \
	.max = hi, .arg = a, .help = h
#define CLI_SIZE(l, s, T, f, lo, al, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_SIZE, CLI_FIELD(T, f), .min = lo, \
	.max = UINT64_MAX, .align = al, .arg = a, .help = h
#define CLI_RATE(l, s, T, f, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_RATE, CLI_FIELD(T, f), .arg = a, .help = h
#define CLI_DURATION(l, s, T, f, lo, hi, unit, store, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_DURATION, CLI_FIELD(T, f), .min = lo, \
	.max = hi, .unit_ns = unit, .store_ns = store, .arg = a, .help = h
/* --idle-timeout, the same for every command with network channels. */
#define CLI_IDLE_TIMEOUT(T, f) \
	CLI_DURATION("idle-timeout", 0, T, f, 1, 86400, CLI_NS_S, CLI_NS_MS, "SEC", \
		     "fail when the peer sends nothing, or takes nothing,\n" \
		     "for SEC once the transfer runs (default 120)")
#define CLI_CHOICE(l, s, T, f, c, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_CHOICE, CLI_FIELD(T, f), .choices = c, \
	.arg = a, .help = h
#define CLI_FN(l, s, f, e, a, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_FN, .fn = f, .expect = e, .arg = a, .help = h
#define CLI_CALL(l, s, f, h) \
	.name = l, .short_name = s, .kind = CLI_OPT_CALL, .fn = f, .help = h

/*
 * Parse @argv (argv[0] is the subcommand) into @args. Returns 0 with the
 * first positional argument's index in *@first; -1 after printing --help
 * (exit 0); otherwise the exit status (2: usage, 1: an FN option's
 * operational error) after printing the error.
 */
int cli_opts_parse(const struct cli_opts *c, int argc, char **argv, void *args, int *first);
/* The same, printing help on @out and errors on @err (unit tests). */
int cli_opts_parse_to(const struct cli_opts *c, int argc, char **argv, void *args, int *first,
		      FILE *out, FILE *err);
/* The generated help. */
void cli_opts_help(const struct cli_opts *c, FILE *f);
/* A usage error found after parsing ("kmig CMD: OPT: expected WANT, got
 * 'V'" and the usage line on stderr); returns 2. */
int cli_opts_error(const struct cli_opts *c, const char *opt, const char *want, const char *v);

/* The parsers behind the kinds, for the tests and for FN options:
 * 0, -EINVAL (malformed) or -ERANGE. */
int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cli_parse_size(const char *s, uint64_t *out);
int cli_parse_rate(const char *s, uint64_t *out);
int cli_parse_duration(const char *s, uint64_t unit_ns, uint64_t *ns);

#endif /* KMIG_CLI_OPT_H */
