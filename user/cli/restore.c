// SPDX-License-Identifier: GPL-2.0
/* kmig restore: a snapshot file into a VMM waiting with --incoming. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "migrate/restore.h"
#include "show.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmig restore --vmm SOCKET --file FILE [options]\n"
		"  -s, --vmm SOCKET      a VMM started with --incoming and the saved VM's layout\n"
		"  -f, --file FILE       the snapshot file (validated completely first)\n"
		"  -c, --channels N      reader threads (default 2, max 64)\n"
		"      --buffered        no O_DIRECT\n"
		"      --vmm-timeout SEC\n"
		"                        bound of each wait on the VMM (default 30)\n"
		"      --keep-vmm        if the file is refused, leave the VMM waiting (it quits\n"
		"                        anyway once pages were written into it)\n"
		"  -j, --json            report as JSON\n"
		"  -q, --quiet           no report\n"
		"Exit status: 0 the guest runs; 1 refused, failed or cancelled (the guest never\n"
		"ran); 2 usage.\n");
}

struct restore_args {
	struct kmig_restore_opts o;
	bool json, quiet;
};

enum { OPT_BUFFERED = 256, OPT_KEEP, OPT_VMMTO };

static int parse_args(struct restore_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 's' }, { "file", required_argument, NULL, 'f' },
		{ "channels", required_argument, NULL, 'c' },
		{ "buffered", no_argument, NULL, OPT_BUFFERED },
		{ "keep-vmm", no_argument, NULL, OPT_KEEP },
		{ "vmm-timeout", required_argument, NULL, OPT_VMMTO },
		{ "json", no_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t n;
	int c;

	while ((c = getopt_long(argc, argv, "s:f:c:jqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': a->o.vmm_path = optarg; break;
		case 'f': a->o.file = optarg; break;
		case 'c':
			if (cli_parse_u64(optarg, 1, KMIG_MAX_WORKERS, &n))
				return cli_err("restore", "parse --channels", optarg, EINVAL,
					       "expected 1..64");
			a->o.nr_threads = n;
			break;
		case OPT_BUFFERED: a->o.buffered = true; break;
		case OPT_KEEP: a->o.keep_vmm = true; break;
		case OPT_VMMTO:
			if (cli_parse_vmm_timeout("restore", optarg, &a->o.vmm_timeout_ms))
				return 1;
			break;
		case 'j': a->json = true; break;
		case 'q': a->quiet = true; break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || !a->o.vmm_path || !a->o.file) {
		usage(stderr);
		return 2;
	}
	return 0;
}

static void cancel_cb(void *obj, const char *why)
{
	if (kmig_restore_cancel(obj, why) == -EBUSY)
		fprintf(stderr, "\nkmig restore: not cancelled (%s): the VMM is resuming the "
			"guest\n", why);
}

int cmd_restore(int argc, char **argv)
{
	struct restore_args a = { 0 };
	struct kmig_restore_stats st;
	struct kmig_restore *r;
	struct cli_watch w;
	struct json j;
	int ret;

	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret)
		return ret;
	ret = kmig_restore_create(&r, &a.o);
	if (ret)
		return cli_err("restore", "create", "", ret, NULL);
	w = (struct cli_watch){ .obj = r, .cancel = cancel_cb };
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
