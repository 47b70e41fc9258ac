// SPDX-License-Identifier: GPL-2.0
/* kmig: the helper's command line, a table of subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct cli_cmd commands[] = {
	{ "send", cmd_send, "send RAM blocks to a kmig receive over TCP channels" },
	{ "receive", cmd_receive, "receive RAM blocks from a kmig send and write them out" },
	{ "migrate", cmd_migrate, "live-migrate a VMM's guest to a kmig incoming" },
	{ "incoming", cmd_incoming, "receive a live migration into a waiting VMM and resume it" },
	{ "migrate-cancel", cmd_migrate_cancel, "cancel a kmig migrate through its control socket" },
	{ "migrate-status", cmd_migrate_status, "statistics of a running kmig migrate (JSON)" },
	{ "save", cmd_save, "save a VMM's guest to a snapshot file (live or stopped)" },
	{ "restore", cmd_restore, "restore a snapshot file into a waiting VMM and resume it" },
	{ "snapshot-info", cmd_snapshot_info, "validate a snapshot file and show what it holds" },
	{ "genimage", cmd_genimage, "generate a synthetic RAM image for tests and benchmarks" },
	{ "stat", cmd_stat, "show kmig.ko's counters: totals, sessions, pending stops" },
	{ "monitor", cmd_monitor, "print kmig.ko's events as they come" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: kmig <command> [options]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-15s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'kmig <command> --help' shows the options of a command;\n"
		"'kmig --version' the version and the revision it was built from.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("kmig %s (revision %s)\n", KMIG_VERSION, KMIG_REVISION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "kmig: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
