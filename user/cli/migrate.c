// SPDX-License-Identifier: GPL-2.0
/* kmig migrate: live-migrate the guest of a VMM to a kmig incoming. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/migrate.h"
#include "show.h"
#include "base/net.h"
#include "tls/tls.h"

#define EXIT_IN_DOUBT 3

struct mig_args {
	struct kmig_migrate_opts o;
	const char *control, *to;
	char host[KMIG_ADDR_MAX], port[32];
	bool json, quiet;
	struct cli_tls tls;
};

static int opt_compress(void *args, const char *v, char *why, size_t len)
{
	return cli_parse_compress(v, &((struct mig_args *)args)->o.stream);
}

static int opt_module(void *args, const char *v, char *why, size_t len)
{
	return cli_parse_module(v, &((struct mig_args *)args)->o.pc);
}

static int opt_no_module(void *args, const char *v, char *why, size_t len)
{
	cli_no_module(&((struct mig_args *)args)->o.pc);
	return 0;
}

static const char *const log_stop_when[] = { "after", "during", NULL };

#define A struct mig_args
static const struct cli_opt options[] = {
	{ CLI_STR("vmm", 's', A, o.pc.vmm_path, "SOCKET", "the source VMM's protocol socket"),
	  .required = true },
	{ CLI_STR("to", 't', A, to, "HOST:PORT", "the destination's kmig incoming"),
	  .required = true },
	{ CLI_UINT("channels", 'c', A, o.stream.nr_channels, 1, KMIG_MAX_CHANNELS, "N",
		   "TCP channels and sender threads (default 2, max 64)") },
	{ CLI_FN("compress", 'z', opt_compress, CLI_COMPRESS_EXPECT, "CODEC",
		 "none, zlib, zstd, lz4, or auto[:CODEC] (default none)") },
	{ CLI_UINT("level", 'l', A, o.stream.level, 1, 65537, "N", "codec level") },
	{ CLI_RATE("max-bandwidth", 'r', A, o.stream.max_bandwidth, "RATE",
		   "all channels together: bytes/s (K, M, G) or 1gbit") },
	{ CLI_DURATION("downtime-limit", 'D', A, o.pc.downtime_limit_ns, 1, 3600000, CLI_NS_MS, 1,
		       "MS", "switch over when the rest fits (default 300)") },
	CLI_STRICT_OPTIONS(A, o.pc),
	{ CLI_UINT("max-iterations", 'i', A, o.pc.max_iterations, 1, 100000, "N",
		   "switch over at iteration N anyway (default 30)") },
	{ CLI_FLAG("auto-converge", 'a', A, o.pc.auto_converge,
		   "throttle the guest when it dirties faster than we send") },
	{ CLI_UINT("throttle-initial", 0, A, o.pc.throttle_initial, 1, 99, "PCT",
		   "first throttle step (default 20)") },
	{ CLI_UINT("throttle-increment", 0, A, o.pc.throttle_increment, 1, 99, "PCT",
		   "further steps (default 10)") },
	{ CLI_UINT("throttle-max", 0, A, o.pc.throttle_max, 1, 99, "PCT", "at most (default 99)") },
	{ CLI_CHOICE("dirty-log-stop", 0, A, o.pc.stop_in_downtime, log_stop_when, "WHEN",
		     "after (default): after the switchover, outside the\n"
		     "downtime; during: inside it, as a naive VMM does\n(for benchmarks)") },
	{ CLI_FLAG("keep-source", 0, A, o.pc.keep_source,
		   "leave the source VMM paused instead of telling it to quit") },
	{ CLI_CALL("no-module", 0, opt_no_module,
		   "the userspace fallback even where /dev/kmig is usable\n"
		   "(harvest, zero detection, log stop: to compare)") },
	{ CLI_FN("module", 0, opt_module, CLI_MODULE_EXPECT, "FUNCS",
		 "what kmig.ko does, where usable: harvest, scan,\n"
		 "classify, stop, scan-dense (comma list), all, none\n"
		 "or default (harvest,scan,stop: what measured faster)") },
	{ CLI_STR("control", 'C', A, control, "SOCKET",
		  "accept kmig migrate-cancel / migrate-status there") },
	{ CLI_DURATION("timeout", 'T', A, o.pc.switchover_timeout_ms, 1, 3600, CLI_NS_S, CLI_NS_MS,
		       "SEC", "for the destination's answers at switchover (default 30)") },
	{ CLI_IDLE_TIMEOUT(A, o.stream.idle_timeout_ms) },
	{ CLI_DURATION("vmm-timeout", 0, A, o.pc.vmm_timeout_ms, 1, 3600, CLI_NS_S, CLI_NS_MS,
		       "SEC", "for each answer of the source VMM (default 30)") },
	CLI_NO_PAGE_SUMS_SEND(A, o.stream.no_page_sums),
	CLI_TLS_OPTIONS(A, tls),
	{ CLI_FLAG("json", 'j', A, json, "report as JSON") },
	{ CLI_FLAG("quiet", 'q', A, quiet, "no report, no progress line") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "migrate", .usage = "--vmm SOCKET --to HOST:PORT [options]", .opt = options,
	.footer = "Exit status: 0 completed; 1 failed or cancelled (the source guest runs); 3 no\n"
		  "answer after COMMIT (the source guest stays paused); 2 usage.\n",
};

static int parse_args(struct mig_args *a, int argc, char **argv)
{
	int first, ret = cli_opts_parse(&cmd, argc, argv, a, &first);

	if (ret)
		return ret;
	if (kmig_net_split(a->to, a->host, sizeof(a->host), a->port, sizeof(a->port)) ||
	    !a->host[0])
		return cli_opts_error(&cmd, "--to", "HOST:PORT", a->to);
	a->o.host = a->host;
	a->o.port = a->port;
	if (a->o.pc.downtime_strict && a->o.pc.stop_in_downtime)
		return cli_opts_error(&cmd, "--dirty-log-stop", "after (with --downtime-strict: "
				      "an aborted switchover goes back to precopy)", "during");
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
		return ret < 0 ? 0 : ret;
	a.o.pc.no_module = a.quiet ? NULL : cli_note_no_module;
	ret = cli_tls_setup("migrate", &a.tls, false, a.host, &a.o.stream.tls);
	if (ret)
		return ret;
	ret = kmig_migrate_create(&m, &a.o);
	if (ret) {
		kmig_tls_destroy(a.o.stream.tls);
		return cli_err("migrate", "create", "", ret, NULL);
	}
	if (a.control && (ret = cli_ctl_start(&ctl, a.control, control_cb, m))) {
		kmig_precopy_destroy(m);
		kmig_tls_destroy(a.o.stream.tls);
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
	kmig_tls_destroy(a.o.stream.tls);
	return ret;
}
