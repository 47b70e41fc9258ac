// SPDX-License-Identifier: GPL-2.0
/* kmig migrate: live-migrate the guest of a VMM to a kmig incoming. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/migrate.h"
#include "show.h"
#include "base/net.h"

#define EXIT_IN_DOUBT 3

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmig migrate --vmm SOCKET --to HOST:PORT [options]\n"
		"  -s, --vmm SOCKET            the source VMM's protocol socket\n"
		"  -t, --to HOST:PORT          the destination's kmig incoming\n"
		"  -c, --channels N            TCP channels and sender threads (default 2, max 64)\n"
		"  -z, --compress CODEC        none, zlib, zstd, lz4, or auto[:CODEC] (default none)\n"
		"  -l, --level N               codec level\n"
		"  -r, --max-bandwidth RATE    all channels together: bytes/s (K, M, G) or 1gbit\n"
		"  -D, --downtime-limit MS     switch over when the rest fits (default 300)\n"
		"  -i, --max-iterations N      switch over at iteration N anyway (default 30)\n"
		"  -a, --auto-converge         throttle the guest when it dirties faster than we send\n"
		"      --throttle-initial PCT  first throttle step (default 20)\n"
		"      --throttle-increment PCT  further steps (default 10)\n"
		"      --throttle-max PCT      at most (default 99)\n"
		"      --dirty-log-stop WHEN   after (default): after the switchover, outside the\n"
		"                              downtime; during: inside it, as a naive VMM does\n"
		"                              (for benchmarks)\n"
		"      --keep-source           leave the source VMM paused instead of telling it to quit\n"
		"      --no-module             the userspace fallback even where /dev/kmig is usable\n"
		"                              (harvest, zero detection, log stop: to compare)\n"
		"      --module FUNCS          what kmig.ko does, where usable: harvest, scan,\n"
		"                              classify, stop (comma list), all, none or default\n"
		"                              (harvest,scan,stop: what measured faster)\n"
		"  -C, --control SOCKET        accept kmig migrate-cancel / migrate-status there\n"
		"  -T, --timeout SEC           for the destination's answers at switchover (default 30)\n"
		"      --vmm-timeout SEC       for each answer of the source VMM (default 30)\n"
		"  -j, --json                  report as JSON\n"
		"  -q, --quiet                 no report, no progress line\n"
		"Exit status: 0 completed; 1 failed or cancelled (the source guest runs); 3 no\n"
		"answer after COMMIT (the source guest stays paused); 2 usage.\n");
}

struct mig_args {
	struct kmig_migrate_opts o;
	const char *control, *to;
	char host[KMIG_ADDR_MAX], port[32];
	bool json, quiet;
};

enum { OPT_TINIT = 256, OPT_TINC, OPT_TMAX, OPT_STOP, OPT_KEEP, OPT_NOMOD, OPT_MODULE,
       OPT_VMMTO };

static int parse_num(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	return cli_parse_num("migrate", opt, v, min, max, out);
}

static int parse_opt(struct mig_args *a, int c, const char *v)
{
	uint64_t n = 0;
	int ret = 0;

	switch (c) {
	case 's': a->o.pc.vmm_path = v; break;
	case 't': a->to = v; break;
	case 'c':
		ret = parse_num("parse --channels", v, 1, KMIG_MAX_CHANNELS, &n);
		a->o.stream.nr_channels = n;
		break;
	case 'z':
		if (cli_parse_compress(v, &a->o.stream))
			return cli_err("migrate", "parse --compress", v, EINVAL,
				       "expected none, zlib, zstd, lz4, auto, auto:CODEC");
		break;
	case 'l':
		ret = parse_num("parse --level", v, 1, 65537, &n);
		a->o.stream.level = n;
		break;
	case 'r':
		if (cli_parse_rate(v, &a->o.stream.max_bandwidth))
			return cli_err("migrate", "parse --max-bandwidth", v, EINVAL,
				       "expected bytes/s like 100M, or 1gbit");
		break;
	case 'D':
		ret = parse_num("parse --downtime-limit", v, 1, 3600000, &n);
		a->o.pc.downtime_limit_ns = n * 1000000;
		break;
	case 'i':
		ret = parse_num("parse --max-iterations", v, 1, 100000, &n);
		a->o.pc.max_iterations = n;
		break;
	case 'a': a->o.pc.auto_converge = true; break;
	case OPT_TINIT:
		ret = parse_num("parse --throttle-initial", v, 1, 99, &n);
		a->o.pc.throttle_initial = n;
		break;
	case OPT_TINC:
		ret = parse_num("parse --throttle-increment", v, 1, 99, &n);
		a->o.pc.throttle_increment = n;
		break;
	case OPT_TMAX:
		ret = parse_num("parse --throttle-max", v, 1, 99, &n);
		a->o.pc.throttle_max = n;
		break;
	case OPT_STOP:
		if (strcmp(v, "after") && strcmp(v, "during"))
			return cli_err("migrate", "parse --dirty-log-stop", v, EINVAL,
				       "expected after or during");
		a->o.pc.stop_in_downtime = !strcmp(v, "during");
		break;
	case OPT_KEEP: a->o.pc.keep_source = true; break;
	case OPT_NOMOD:
		a->o.pc.module = 0;
		a->o.pc.no_module_why = "--no-module";
		break;
	case OPT_MODULE:
		return cli_parse_module("migrate", v, &a->o.pc);
	case 'C': a->control = v; break;
	case 'T':
		ret = parse_num("parse --timeout", v, 1, 3600, &n);
		a->o.pc.switchover_timeout_ms = n * 1000;
		break;
	case OPT_VMMTO: return cli_parse_vmm_timeout("migrate", v, &a->o.pc.vmm_timeout_ms);
	case 'j': a->json = true; break;
	case 'q': a->quiet = true; break;
	case 'h':
		usage(stdout);
		exit(0);
	default:
		usage(stderr);
		return 2;
	}
	return ret;
}

static int parse_args(struct mig_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 's' }, { "to", required_argument, NULL, 't' },
		{ "channels", required_argument, NULL, 'c' },
		{ "compress", required_argument, NULL, 'z' },
		{ "level", required_argument, NULL, 'l' },
		{ "max-bandwidth", required_argument, NULL, 'r' },
		{ "downtime-limit", required_argument, NULL, 'D' },
		{ "max-iterations", required_argument, NULL, 'i' },
		{ "auto-converge", no_argument, NULL, 'a' },
		{ "throttle-initial", required_argument, NULL, OPT_TINIT },
		{ "throttle-increment", required_argument, NULL, OPT_TINC },
		{ "throttle-max", required_argument, NULL, OPT_TMAX },
		{ "dirty-log-stop", required_argument, NULL, OPT_STOP },
		{ "keep-source", no_argument, NULL, OPT_KEEP },
		{ "no-module", no_argument, NULL, OPT_NOMOD },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "control", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "vmm-timeout", required_argument, NULL, OPT_VMMTO },
		{ "json", no_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:t:c:z:l:r:D:i:aC:T:jqh", opts, NULL)) != -1) {
		ret = parse_opt(a, c, optarg);
		if (ret)
			return ret;
	}
	if (optind != argc || !a->o.pc.vmm_path || !a->to) {
		usage(stderr);
		return 2;
	}
	if (kmig_net_split(a->to, a->host, sizeof(a->host), a->port, sizeof(a->port)) ||
	    !a->host[0])
		return cli_err("migrate", "parse --to", a->to, EINVAL, "expected HOST:PORT");
	a->o.host = a->host;
	a->o.port = a->port;
	return 0;
}

static void cancel_cb(void *obj, const char *why)
{
	if (kmig_precopy_cancel(obj, why) == -EBUSY)
		fprintf(stderr, "\nkmig migrate: not cancelled: COMMIT was sent, the destination "
			"is resuming the guest\n");
}

static void progress_cb(void *obj, char *line, size_t len)
{
	cli_precopy_progress(obj, "migrate", line, len);
}

/* The control socket's requests. */
static void control_cb(void *obj, const char *req, FILE *reply)
{
	struct kmig_precopy *m = obj;
	struct kmig_migrate_stats *st;
	struct json j;
	int ret;

	if (!strcmp(req, "cancel")) {
		ret = kmig_precopy_cancel(m, "kmig migrate-cancel");
		fprintf(reply, "%s\n", !ret ? "ok: cancelling" : ret == -EBUSY ?
			"error: too late: COMMIT was sent, the destination is resuming the guest" :
			"error: the migration is over");
		return;
	}
	if (strcmp(req, "status")) {
		fprintf(reply, "error: unknown request '%.32s', expected cancel or status\n", req);
		return;
	}
	st = malloc(sizeof(*st));
	if (!st) {
		fprintf(reply, "error: out of memory\n");
		return;
	}
	kmig_precopy_stats(m, st);
	json_init(&j, reply, false);
	cli_migrate_json(&j, NULL, st);
	free(st);
}

/* The source after a failure, as the final QUERY found it. */
static const char *source_words(const struct kmig_migrate_stats *st)
{
	if (!strcmp(st->source_end, "untouched"))
		return "nothing was done to the source VMM";
	if (strcmp(st->source_end, "running"))
		return "the source guest is in an unknown state (its VMM did not answer as "
		       "expected)";
	if (!strcmp(st->source_dirty_log, "on"))
		return "the source guest keeps running, but its dirty logging is still ON";
	return st->dirty.starts ? "the source guest keeps running, dirty logging stopped" :
	       "the source guest keeps running, dirty logging was not started";
}

static int report(const struct mig_args *a, struct kmig_precopy *m, int ret)
{
	struct kmig_migrate_stats *st = malloc(sizeof(*st));
	int status = ret ? 1 : 0;
	struct json j;

	if (!st)
		return cli_err("migrate", "report", "", ENOMEM, NULL);
	kmig_precopy_stats(m, st);
	if (a->json) {
		json_init(&j, stdout, false);
		cli_migrate_json(&j, NULL, st);
	} else if (!a->quiet) {
		cli_migrate_table(stdout, "migrate", st);
	}
	fflush(stdout);
	if (st->state == KMIG_MIGRATE_IN_DOUBT) {
		fprintf(stderr, "kmig migrate: %s\nkmig migrate: the source guest is PAUSED: check "
			"the destination; resume the source only if the guest does not run there\n",
			st->error);
		status = EXIT_IN_DOUBT;
	} else if (ret) {
		fprintf(stderr, "kmig migrate: %s%s; %s\n",
			st->state == KMIG_MIGRATE_CANCELLED ? "" : "failed: ", st->error,
			source_words(st));
	}
	free(st);
	return status;
}

int cmd_migrate(int argc, char **argv)
{
	struct mig_args a = { 0 };
	struct kmig_precopy *m;
	struct cli_ctl ctl = { 0 };
	struct cli_watch w;
	int ret;

	kmig_migrate_opts_init(&a.o);
	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret)
		return ret;
	a.o.pc.no_module = a.quiet ? NULL : cli_note_no_module;
	ret = kmig_migrate_create(&m, &a.o);
	if (ret)
		return cli_err("migrate", "create", "", ret, NULL);
	if (a.control && (ret = cli_ctl_start(&ctl, a.control, control_cb, m))) {
		kmig_precopy_destroy(m);
		return cli_err("migrate", "control socket", a.control, ret, NULL);
	}
	w = (struct cli_watch){ .obj = m, .cancel = cancel_cb,
				.progress = a.quiet || a.json ? NULL : progress_cb };
	cli_watch_start(&w);
	ret = kmig_precopy_run(m);
	cli_watch_stop(&w);
	cli_ctl_stop(&ctl);
	ret = report(&a, m, ret);
	kmig_precopy_destroy(m);
	return ret;
}
