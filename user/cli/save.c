// SPDX-License-Identifier: GPL-2.0
/*
 * kmig save: a VMM's guest into a snapshot file, live (precopy into the
 * file: the migration state machine with the file as its sink) or stopped
 * (paused for one pass of every page).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/migrate.h"
#include "migrate/save.h"
#include "show.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmig save --vmm SOCKET --file FILE [options]\n"
		"  -s, --vmm SOCKET          the VMM whose guest to save\n"
		"  -f, --file FILE           the snapshot file (created, or truncated first)\n"
		"  -c, --channels N          writer threads (default 2, max 64)\n"
		"      --live                precopy into the file while the guest runs (default)\n"
		"      --stopped             pause the guest and write every page once\n"
		"      --after WHAT          resume (default): the guest runs on; pause: it stays\n"
		"                            paused; quit: the VMM exits (suspend to a file)\n"
		"  -D, --downtime-limit MS   live: switch over when the rest fits (default 300)\n"
		"  -i, --max-iterations N    live: switch over at iteration N anyway (default 30)\n"
		"      --no-data-crc         no per-page CRC32C in the file\n"
		"      --buffered            no O_DIRECT\n"
		"      --no-module           the userspace fallback even where /dev/kmig is usable\n"
		"      --module FUNCS        what kmig.ko does: harvest, scan, classify, stop, all,\n"
		"                            none or default (see kmig migrate --help)\n"
		"      --vmm-timeout SEC     bound of each wait on the VMM (default 30)\n"
		"  -j, --json                report as JSON\n"
		"  -q, --quiet               no report, no progress line\n"
		"Exit status: 0 saved (the file is complete); 1 failed or cancelled (no file is\n"
		"left, the guest runs); 2 usage.\n");
}

struct save_args {
	struct kmig_save_opts o;
	bool json, quiet;
};

enum { OPT_LIVE = 256, OPT_STOPPED, OPT_AFTER, OPT_NO_CRC, OPT_BUFFERED, OPT_NOMOD,
       OPT_MODULE, OPT_VMMTO };

static int parse_num(const char *opt, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
	return cli_parse_num("save", opt, v, min, max, out);
}

static int parse_after(struct save_args *a, const char *v)
{
	a->o.pc.resume_source = !strcmp(v, "resume");
	a->o.pc.keep_source = !strcmp(v, "pause");
	if (!a->o.pc.resume_source && !a->o.pc.keep_source && strcmp(v, "quit"))
		return cli_err("save", "parse --after", v, EINVAL, "expected resume, pause or quit");
	return 0;
}

static int parse_opt(struct save_args *a, int c, const char *v)
{
	uint64_t n = 0;
	int ret = 0;

	switch (c) {
	case 's': a->o.pc.vmm_path = v; break;
	case 'f': a->o.path = v; break;
	case 'c':
		ret = parse_num("parse --channels", v, 1, KMIG_MAX_WORKERS, &n);
		a->o.w.nr_threads = n;
		break;
	case OPT_LIVE: a->o.pc.stopped = false; break;
	case OPT_STOPPED: a->o.pc.stopped = true; break;
	case OPT_AFTER: return parse_after(a, v);
	case 'D':
		ret = parse_num("parse --downtime-limit", v, 1, 3600000, &n);
		a->o.pc.downtime_limit_ns = n * 1000000;
		break;
	case 'i':
		ret = parse_num("parse --max-iterations", v, 1, 100000, &n);
		a->o.pc.max_iterations = n;
		break;
	case OPT_NO_CRC: a->o.w.no_data_crc = true; break;
	case OPT_BUFFERED: a->o.w.buffered = true; break;
	case OPT_NOMOD:
		a->o.pc.module = 0;
		a->o.pc.no_module_why = "--no-module";
		break;
	case OPT_MODULE: return cli_parse_module("save", v, &a->o.pc);
	case OPT_VMMTO: return cli_parse_vmm_timeout("save", v, &a->o.pc.vmm_timeout_ms);
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

static int parse_args(struct save_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 's' }, { "file", required_argument, NULL, 'f' },
		{ "channels", required_argument, NULL, 'c' },
		{ "live", no_argument, NULL, OPT_LIVE },
		{ "stopped", no_argument, NULL, OPT_STOPPED },
		{ "after", required_argument, NULL, OPT_AFTER },
		{ "downtime-limit", required_argument, NULL, 'D' },
		{ "max-iterations", required_argument, NULL, 'i' },
		{ "no-data-crc", no_argument, NULL, OPT_NO_CRC },
		{ "buffered", no_argument, NULL, OPT_BUFFERED },
		{ "no-module", no_argument, NULL, OPT_NOMOD },
		{ "module", required_argument, NULL, OPT_MODULE },
		{ "vmm-timeout", required_argument, NULL, OPT_VMMTO },
		{ "json", no_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:f:c:D:i:jqh", opts, NULL)) != -1) {
		ret = parse_opt(a, c, optarg);
		if (ret)
			return ret;
	}
	if (optind != argc || !a->o.pc.vmm_path || !a->o.path) {
		usage(stderr);
		return 2;
	}
	return 0;
}

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
	int ret;

	kmig_save_opts_init(&a.o);
	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret)
		return ret;
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
