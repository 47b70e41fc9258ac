// SPDX-License-Identifier: GPL-2.0
/* kmig restore: a snapshot file into a VMM waiting with --incoming. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/restore.h"
#include "show.h"

struct restore_args {
	struct kmig_restore_opts o;
	bool json, quiet;
};

#define A struct restore_args
static const struct cli_opt options[] = {
	{ CLI_STR("vmm", 's', A, o.vmm_path, "SOCKET",
		  "a VMM started with --incoming and the saved VM's layout"), .required = true },
	{ CLI_STR("file", 'f', A, o.file, "FILE", "the snapshot file (validated completely first)"),
	  .required = true },
	{ CLI_UINT("channels", 'c', A, o.nr_threads, 1, KMIG_MAX_WORKERS, "N",
		   "reader threads (default 2, max 64)") },
	{ CLI_FLAG("buffered", 0, A, o.buffered, "no O_DIRECT") },
	{ CLI_DURATION("vmm-timeout", 0, A, o.vmm_timeout_ms, 1, 3600, CLI_NS_S, CLI_NS_MS,
		       "SEC", "bound of each wait on the VMM (default 30)") },
	{ CLI_CHOICE("huge-pages", 0, A, o.huge_pages, kmig_restore_huge_names, "WHEN",
		     "fresh memory faulted in by the reads: auto (default):\n"
		     "huge pages where a VMM's memfd gets them only so (THP\n"
		     "shmem_enabled=advise; a 2 MiB range with any present\n"
		     "page is then allocated whole); never: no advice\n"
		     "(4 KiB pages then under advise)") },
	{ CLI_FLAG("keep-vmm", 0, A, o.keep_vmm,
		   "if the file is refused, leave the VMM waiting (it quits\n"
		   "anyway once pages were written into it)") },
	{ CLI_FLAG("json", 'j', A, json, "report as JSON") },
	{ CLI_FLAG("quiet", 'q', A, quiet, "no report, no progress line") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "restore", .usage = "--vmm SOCKET --file FILE [options]", .opt = options,
	.footer = "Exit status: 0 the guest runs; 1 refused, failed or cancelled (the guest never\n"
		  "ran); 2 usage.\n",
};

static void cancel_cb(void *obj, const char *why)
{
	if (kmig_restore_cancel(obj, why) == -EBUSY)
		fprintf(stderr, "\nkmig restore: not cancelled (%s): the VMM is resuming the "
			"guest\n", why);
}

static void progress_cb(void *obj, char *line, size_t len)
{
	struct kmig_restore_stats st;

	kmig_restore_stats(obj, &st);
	cli_restore_line(&st, line, len);
}

int cmd_restore(int argc, char **argv)
{
	struct restore_args a = { 0 };
	struct kmig_restore_stats st;
	struct kmig_restore *r;
	struct cli_watch w;
	struct json j;
	int first, ret;

	cli_block_signals();
	ret = cli_opts_parse(&cmd, argc, argv, &a, &first);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = kmig_restore_create(&r, &a.o);
	if (ret)
		return cli_err("restore", "create", "", ret, NULL);
	w = (struct cli_watch){ .obj = r, .cancel = cancel_cb,
				.progress = a.quiet || a.json ? NULL : progress_cb };
	cli_watch_start(&w);
	ret = kmig_restore_run(r);
	cli_watch_stop(&w);
	kmig_restore_stats(r, &st);
	if (!a.quiet && st.io[0] && strcmp(st.io, "O_DIRECT"))
		fprintf(stderr, "kmig restore: %s: %s\n", a.o.file, st.io);
	if (a.json) {
		json_init(&j, stdout, false);
		cli_restore_json(&j, &st);
	} else if (!a.quiet) {
		cli_restore_table(stdout, &st);
	}
	fflush(stdout);
	if (ret)
		fprintf(stderr, "kmig restore: %s: %s; the guest did not run; the VMM: %s\n",
			st.status, st.error, st.vmm_end);
	kmig_restore_destroy(r);
	return ret ? 1 : 0;
}
