// SPDX-License-Identifier: GPL-2.0
/*
 * kmig save: a VMM's guest into a snapshot file, live (precopy into the
 * file: the migration state machine with the file as its sink) or stopped
 * (paused for one pass of every page).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/migrate.h"
#include "migrate/save.h"
#include "show.h"

struct save_args {
	struct kmig_save_opts o;
	bool json, quiet;
};

static int opt_after(void *args, const char *v, char *why, size_t len)
{
	struct save_args *a = args;

	a->o.pc.resume_source = !strcmp(v, "resume");
	a->o.pc.keep_source = !strcmp(v, "pause");
	return a->o.pc.resume_source || a->o.pc.keep_source || !strcmp(v, "quit") ? 0 : -EINVAL;
}

static int opt_module(void *args, const char *v, char *why, size_t len)
{
	return cli_parse_module(v, &((struct save_args *)args)->o.pc);
}

static int opt_no_module(void *args, const char *v, char *why, size_t len)
{
	cli_no_module(&((struct save_args *)args)->o.pc);
	return 0;
}

#define A struct save_args
static const struct cli_opt options[] = {
	{ CLI_STR("vmm", 's', A, o.pc.vmm_path, "SOCKET", "the VMM whose guest to save"),
	  .required = true },
	{ CLI_STR("file", 'f', A, o.path, "FILE", "the snapshot file (created, or truncated first)"),
	  .required = true },
	{ CLI_UINT("channels", 'c', A, o.w.nr_threads, 1, KMIG_MAX_WORKERS, "N",
		   "writer threads (default 2, max 64)") },
	{ CLI_SETVAL("live", 0, A, o.pc.stopped, 0,
		     "precopy into the file while the guest runs (default)") },
	{ CLI_SETVAL("stopped", 0, A, o.pc.stopped, 1,
		     "pause the guest and write every page once") },
	{ CLI_FN("after", 0, opt_after, "resume, pause or quit", "WHAT",
		 "resume (default): the guest runs on; pause: it stays\n"
		 "paused; quit: the VMM exits (suspend to a file)") },
	{ CLI_DURATION("downtime-limit", 'D', A, o.pc.downtime_limit_ns, 1, 3600000, CLI_NS_MS, 1,
		       "MS", "live: switch over when the rest fits (default 300)") },
	CLI_STRICT_OPTIONS(A, o.pc),
	{ CLI_UINT("max-iterations", 'i', A, o.pc.max_iterations, 1, 100000, "N",
		   "live: switch over at iteration N anyway (default 30)") },
	{ CLI_FLAG("no-data-crc", 0, A, o.w.no_data_crc, "no per-page checksums (page sums) in the file") },
	{ CLI_FLAG("buffered", 0, A, o.w.buffered, "no O_DIRECT") },
	{ CLI_CALL("no-module", 0, opt_no_module,
		   "the userspace fallback even where /dev/kmig is usable") },
	{ CLI_FN("module", 0, opt_module, CLI_MODULE_EXPECT, "FUNCS",
		 "what kmig.ko does: harvest, scan, classify, stop,\n"
		 "scan-dense, all, none or default (see kmig migrate --help)") },
	{ CLI_DURATION("vmm-timeout", 0, A, o.pc.vmm_timeout_ms, 1, 3600, CLI_NS_S, CLI_NS_MS,
		       "SEC", "bound of each wait on the VMM (default 30)") },
	{ CLI_FLAG("json", 'j', A, json, "report as JSON") },
	{ CLI_FLAG("quiet", 'q', A, quiet, "no report, no progress line") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "save", .usage = "--vmm SOCKET --file FILE [options]", .opt = options,
	.footer = "Exit status: 0 saved (the file is complete); 1 failed or cancelled (no file is\n"
		  "left, the guest runs); 2 usage.\n",
};

static void cancel_cb(void *obj, const char *why)
{
	if (kmig_precopy_cancel(obj, why) == -EBUSY)
		fprintf(stderr, "\nkmig save: not cancelled (%s): the file is being committed\n",
			why);
}

static void progress_cb(void *obj, char *line, size_t len)
{
	cli_precopy_progress(obj, "save", line, len);
}

static void json_report(const struct save_args *a, const char *io,
			const struct kmig_migrate_stats *st)
{
	struct json j;

	json_init(&j, stdout, false);
	json_obj(&j, NULL);
	json_str(&j, "file", a->o.path);
	json_str(&j, "io", io);
	json_str(&j, "mode", a->o.pc.stopped ? "stopped" : "live");
	json_bool(&j, "data_crc", !a->o.w.no_data_crc);
	cli_migrate_json(&j, "save", st);
	json_end(&j);
}

static int report(const struct save_args *a, struct kmig_precopy *s, int ret)
{
	struct kmig_migrate_stats *st = malloc(sizeof(*st));
	const char *io = kmig_save_io(s);

	if (!st)
		return cli_err("save", "report", "", ENOMEM, NULL);
	kmig_precopy_stats(s, st);
	if (a->json) {
		json_report(a, io, st);
	} else if (!a->quiet) {
		printf("kmig save: %s %s, %s, %s\n", a->o.pc.stopped ? "stopped" : "live",
		       a->o.path, io[0] ? io : "-", ret ? "NOT saved" : "complete");
		cli_migrate_table(stdout, "save", st);
	}
	fflush(stdout);
	if (ret)
		fprintf(stderr, "kmig save: %s%s; %s %s; the guest is %s\n",
			st->state == KMIG_MIGRATE_CANCELLED ? "" : "failed: ", st->error, a->o.path,
			io[0] ? "was removed (it never became complete)" : "was not touched",
			st->source_end);
	free(st);
	return ret ? 1 : 0;
}

int cmd_save(int argc, char **argv)
{
	struct save_args a = { 0 };
	struct kmig_precopy *s;
	struct cli_watch w;
	const char *io;
	int first, ret;

	kmig_save_opts_init(&a.o);
	cli_block_signals();
	ret = cli_opts_parse(&cmd, argc, argv, &a, &first);
	if (ret)
		return ret < 0 ? 0 : ret;
	a.o.pc.no_module = a.quiet ? NULL : cli_note_no_module;
	ret = kmig_save_create(&s, &a.o);
	if (ret)
		return cli_err("save", "create", "", ret, NULL);
	w = (struct cli_watch){ .obj = s, .cancel = cancel_cb,
				.progress = a.quiet || a.json ? NULL : progress_cb };
	cli_watch_start(&w);
	ret = kmig_precopy_run(s);
	cli_watch_stop(&w);
	io = kmig_save_io(s);
	if (!a.quiet && io[0] && strcmp(io, "O_DIRECT"))
		fprintf(stderr, "kmig save: %s: %s\n", a.o.path, io);
	ret = report(&a, s, ret);
	kmig_precopy_destroy(s);
	return ret;
}
