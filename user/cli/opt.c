// SPDX-License-Identifier: GPL-2.0
/* The subcommands' table-driven option parser (opt.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "opt.h"

#define MAX_OPTS	48
#define HELP_COL	30	/* the help text's column, at most */

int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	unsigned long long v;
	char *end;

	/* Decimal, not octal: "08" is 8. strtoull would take a sign. */
	if (!(hex ? s[2] >= '0' : s[0] >= '0' && s[0] <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, hex ? 16 : 10);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno || end == s || *end || (hex && end == s + 2))
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/* A non-negative number with one of @units (case-insensitive) times its
 * multiplier. */
static int scaled(const char *s, uint64_t *out, const char *const *units,
		  const uint64_t *mult, int nunits)
{
	char *end;
	double v;

	if (!(s[0] >= '0' && s[0] <= '9') && s[0] != '.')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s)
		return -EINVAL;
	for (int i = 0; i < nunits; i++) {
		if (!strcasecmp(end, units[i])) {
			double r = v * mult[i];

			if (r >= 18e18)
				return -ERANGE;
			*out = (uint64_t)r;
			return 0;
		}
	}
	return -EINVAL;
}

int cli_parse_size(const char *s, uint64_t *out)
{
	static const char *const units[] = { "", "k", "m", "g", "t", "kib", "mib", "gib", "tib" };
	static const uint64_t mult[] = { 1, 1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40,
					 1ULL << 10, 1ULL << 20, 1ULL << 30, 1ULL << 40 };

	return scaled(s, out, units, mult, 9);
}

int cli_parse_rate(const char *s, uint64_t *out)
{
	static const char *const units[] = { "kbit", "mbit", "gbit" };
	static const uint64_t mult[] = { 125, 125000, 125000000 };

	return scaled(s, out, units, mult, 3) ? cli_parse_size(s, out) : 0;
}

int cli_parse_duration(const char *s, uint64_t unit_ns, uint64_t *ns)
{
	static const char *const units[] = { "", "ms", "s", "m", "h" };
	uint64_t mult[] = { unit_ns, CLI_NS_MS, CLI_NS_S, 60 * CLI_NS_S, 3600 * CLI_NS_S };
	const char *p = s;
	uint64_t v;
	char num[32];

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s || p - s >= (long)sizeof(num))
		return p == s ? -EINVAL : -ERANGE;
	memcpy(num, s, p - s);
	num[p - s] = '\0';
	if (cli_parse_uint(num, 0, UINT64_MAX, &v))
		return -ERANGE;
	for (int i = 0; i < 5; i++) {
		if (!strcmp(p, units[i])) {
			if (v > UINT64_MAX / mult[i])
				return -ERANGE;
			*ns = v * mult[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* @v into the field of @o (1, 2, 4 or 8 bytes); -ERANGE if it does not fit. */
static int store(void *args, const struct cli_opt *o, uint64_t v)
{
	char *p = (char *)args + o->off;

	if (o->size < 8 && v >> (o->size * 8))
		return -ERANGE;
	switch (o->size) {
	case 1: { uint8_t x = v; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = v; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = v; memcpy(p, &x, 4); break; }
	case 8: memcpy(p, &v, 8); break;
	default: return -EINVAL;
	}
	return 0;
}

/* What a valid argument of @o looks like, for the error message. */
static void expected(const struct cli_opt *o, char *buf, size_t len)
{
	const char *unit = o->unit_ns == CLI_NS_MS ? "ms" : o->unit_ns == CLI_NS_S ? "s" : "";
	size_t n;

	switch (o->kind) {
	case CLI_OPT_UINT:
		snprintf(buf, len, "%" PRIu64 "..%" PRIu64, o->min, o->max);
		break;
	case CLI_OPT_SIZE:
		n = snprintf(buf, len, "a size such as 512M or 8G (K, M, G, T: powers of 1024)");
		if (o->align > 1 && n < len)
			snprintf(buf + n, len - n, ", a multiple of %" PRIu64, o->align);
		else if (o->min && n < len)
			snprintf(buf + n, len - n, ", at least %" PRIu64, o->min);
		break;
	case CLI_OPT_RATE:
		snprintf(buf, len, "bytes/s such as 100M, or a link speed such as 1gbit");
		break;
	case CLI_OPT_DURATION:
		snprintf(buf, len, "%" PRIu64 "..%" PRIu64 " %s (or with a unit: ms, s, m, h)",
			 o->min, o->max, unit);
		break;
	case CLI_OPT_CHOICE:
		n = 0;
		buf[0] = '\0';
		for (int i = 0; o->choices[i] && n < len; i++)
			n += snprintf(buf + n, len - n, "%s%s", !i ? "" : o->choices[i + 1] ?
				      ", " : " or ", o->choices[i]);
		break;
	default:
		snprintf(buf, len, "%s", o->expect ? o->expect : "a valid argument");
	}
}

static int parse_size(const struct cli_opt *o, const char *v, uint64_t *n)
{
	int ret = cli_parse_size(v, n);

	if (!ret && (*n < o->min || (o->align && *n % o->align)))
		ret = -ERANGE;
	return ret;
}

static int parse_duration(const struct cli_opt *o, const char *v, uint64_t *n)
{
	int ret = cli_parse_duration(v, o->unit_ns, n);

	if (ret)
		return ret;
	if (*n < o->min * o->unit_ns || *n > o->max * o->unit_ns || *n % o->store_ns)
		return -ERANGE;
	*n /= o->store_ns;
	return 0;
}

static int parse_choice(const struct cli_opt *o, const char *v, uint64_t *n)
{
	for (uint64_t i = 0; o->choices[i]; i++) {
		if (!strcmp(v, o->choices[i])) {
			*n = i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Apply @o with argument @v (NULL for SET and CALL). */
static int apply(const struct cli_opt *o, const char *v, void *args, char *why, size_t len)
{
	uint64_t n = 0;
	int ret;

	switch (o->kind) {
	case CLI_OPT_SET:
		return store(args, o, o->set);
	case CLI_OPT_STR:
		memcpy((char *)args + o->off, &v, sizeof(v));
		return 0;
	case CLI_OPT_UINT:
		ret = cli_parse_uint(v, o->min, o->max, &n);
		break;
	case CLI_OPT_SIZE:
		ret = parse_size(o, v, &n);
		break;
	case CLI_OPT_RATE:
		ret = cli_parse_rate(v, &n);
		break;
	case CLI_OPT_DURATION:
		ret = parse_duration(o, v, &n);
		break;
	case CLI_OPT_CHOICE:
		ret = parse_choice(o, v, &n);
		break;
	default:
		return o->fn(args, v, why, len);
	}
	return ret ? ret : store(args, o, n);
}

static void usage_line(const struct cli_opts *c, FILE *f)
{
	fprintf(f, "Usage: kmig %s %s\n", c->cmd, c->usage);
}

static int opt_error(const struct cli_opts *c, const char *opt, const char *want, const char *v,
		     FILE *err)
{
	fprintf(err, "kmig %s: %s: expected %s, got '%s'\n", c->cmd, opt, want, v);
	usage_line(c, err);
	fprintf(err, "'kmig %s --help' lists the options.\n", c->cmd);
	return 2;
}

int cli_opts_error(const struct cli_opts *c, const char *opt, const char *want, const char *v)
{
	return opt_error(c, opt, want, v, stderr);
}

static int usage_error(const struct cli_opts *c, FILE *err, const char *fmt, const char *what)
{
	fprintf(err, "kmig %s: ", c->cmd);
	fprintf(err, fmt, what);
	fputc('\n', err);
	usage_line(c, err);
	fprintf(err, "'kmig %s --help' lists the options.\n", c->cmd);
	return 2;
}

/* The error of option @o with argument @v: a usage error (2), or an FN
 * option's operational error (1). */
static int report(const struct cli_opts *c, const struct cli_opt *o, const char *v, int ret,
		  const char *why, FILE *err)
{
	char opt[64], want[256];

	snprintf(opt, sizeof(opt), "--%s", o->name);
	if (ret != -EINVAL && ret != -ERANGE && o->kind >= CLI_OPT_FN) {
		fprintf(err, "kmig %s: %s %s: %s%s%s%s\n", c->cmd, opt, v ? v : "",
			strerror(-ret), why[0] ? " (" : "", why, why[0] ? ")" : "");
		return 1;
	}
	if (why[0])
		snprintf(want, sizeof(want), "%s", why);
	else
		expected(o, want, sizeof(want));
	return opt_error(c, opt, want, v ? v : "", err);
}

/* getopt_long's tables from ours; "-h, --help" added. */
static int build(const struct cli_opts *c, struct option *lo, char *so)
{
	int n = 0;
	char *s = so;

	*s++ = ':';	/* missing arguments reported as ':' */
	for (const struct cli_opt *o = c->opt; o->name && n < MAX_OPTS - 2; o++, n++) {
		bool has_arg = o->kind != CLI_OPT_SET && o->kind != CLI_OPT_CALL;

		lo[n] = (struct option){ o->name, has_arg ? required_argument : no_argument,
					 NULL, 256 + n };
		if (o->short_name) {
			*s++ = o->short_name;
			if (has_arg)
				*s++ = ':';
		}
	}
	lo[n] = (struct option){ "help", no_argument, NULL, 'h' };
	lo[n + 1] = (struct option){ 0 };
	*s++ = 'h';
	*s = '\0';
	return n;
}

/* The table entry of getopt_long's answer @ch, or NULL. */
static const struct cli_opt *lookup(const struct cli_opts *c, int n, int ch)
{
	if (ch >= 256 && ch < 256 + n)
		return &c->opt[ch - 256];
	for (int i = 0; i < n; i++)
		if (c->opt[i].short_name && c->opt[i].short_name == ch)
			return &c->opt[i];
	return NULL;
}

/* The option that getopt_long just complained about, as the user wrote
 * it: a short option by its letter, a long one from argv (without =V). */
static const char *offender(char **argv, char *buf, size_t len)
{
	const char *arg = argv[optind - 1];

	if (optopt > 0 && optopt < 256)
		snprintf(buf, len, "-%c", optopt);
	else
		snprintf(buf, len, "%.*s", (int)strcspn(arg, "="), arg);
	return buf;
}

int cli_opts_parse_to(const struct cli_opts *c, int argc, char **argv, void *args, int *first,
		      FILE *out, FILE *err)
{
	struct option lo[MAX_OPTS];
	char so[2 * MAX_OPTS + 3], why[256], bad[64];
	bool seen[MAX_OPTS] = { false };
	int n = build(c, lo, so), ch;

	optind = 0;	/* a full reset: every call parses from the start */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, so, lo, NULL)) != -1) {
		const struct cli_opt *o = lookup(c, n, ch);
		int ret;

		if (ch == 'h') {
			cli_opts_help(c, out);
			return -1;
		}
		if (ch == '?' && optopt >= 256)	/* --flag=V */
			return usage_error(c, err, "%s takes no argument",
					   offender(argv, bad, sizeof(bad)));
		if (ch == '?')
			return usage_error(c, err, "unknown option '%s'",
					   offender(argv, bad, sizeof(bad)));
		if (ch == ':')
			return usage_error(c, err, "%s needs an argument",
					   offender(argv, bad, sizeof(bad)));
		why[0] = '\0';
		ret = apply(o, optarg, args, why, sizeof(why));
		if (ret)
			return report(c, o, optarg, ret, why, err);
		seen[o - c->opt] = true;
	}
	for (int i = 0; i < n; i++) {
		if (c->opt[i].required && !seen[i]) {
			snprintf(bad, sizeof(bad), "--%s %s", c->opt[i].name, c->opt[i].arg);
			return usage_error(c, err, "%s is required", bad);
		}
	}
	if ((unsigned int)(argc - optind) < c->nr_args)
		return usage_error(c, err, "missing %s", c->args_name);
	if ((unsigned int)(argc - optind) > c->nr_args)
		return usage_error(c, err, "unexpected argument '%s'", argv[optind + c->nr_args]);
	*first = optind;
	return 0;
}

int cli_opts_parse(const struct cli_opts *c, int argc, char **argv, void *args, int *first)
{
	return cli_opts_parse_to(c, argc, argv, args, first, stdout, stderr);
}

/* "  -c, --channels N" */
static int left_column(const struct cli_opt *o, char *buf, size_t len)
{
	char s[8] = "    ";

	if (o->short_name)
		snprintf(s, sizeof(s), "-%c, ", o->short_name);
	return snprintf(buf, len, "  %s--%s%s%s", s, o->name, o->arg ? " " : "",
			o->arg ? o->arg : "");
}

static void help_line(FILE *f, const char *left, int col, const char *help)
{
	int w = fprintf(f, "%s", left);

	if (w + 2 > col) {
		fputc('\n', f);
		w = 0;
	}
	for (const char *p = help; *p;) {
		int len = strcspn(p, "\n");

		fprintf(f, "%*s%.*s\n", col - w, "", len, p);
		w = 0;
		p += len + (p[len] == '\n');
	}
}

void cli_opts_help(const struct cli_opts *c, FILE *f)
{
	static const struct cli_opt help = { .name = "help", .short_name = 'h',
					     .help = "this help" };
	char left[96];
	int col = 0;

	for (const struct cli_opt *o = c->opt; o->name; o++) {
		int w = left_column(o, left, sizeof(left)) + 2;

		if (w > col && w <= HELP_COL)
			col = w;
	}
	usage_line(c, f);
	if (c->about)
		fprintf(f, "%s", c->about);
	for (const struct cli_opt *o = c->opt; o->name; o++) {
		left_column(o, left, sizeof(left));
		help_line(f, left, col, o->help);
	}
	left_column(&help, left, sizeof(left));
	help_line(f, left, col, help.help);
	if (c->footer)
		fprintf(f, "%s", c->footer);
}
