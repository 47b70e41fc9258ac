// SPDX-License-Identifier: GPL-2.0
/* kmig incoming: the destination of a kmig migrate, into a waiting VMM. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "migrate/incoming.h"
#include "show.h"
#include "base/net.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmig incoming --vmm SOCKET --listen [HOST:]PORT [options]\n"
		"  -s, --vmm SOCKET       the destination VMM's socket (a VMM waiting for an\n"
		"                         incoming migration, e.g. kmig-vmm --incoming)\n"
		"  -L, --listen ADDR      where the source's channels connect (PORT 0: any free port)\n"
		"  -R, --ready-file FILE  write the bound port to FILE once listening\n"
		"  -t, --timeout SEC      wait at most SEC for the source's channels and, at\n"
		"                         switchover, for its COMMIT (default 30)\n"
		"      --vmm-timeout SEC  for each answer of the VMM (default 30)\n"
		"  -k, --keep-vmm         after a failure, leave the VMM waiting instead of telling\n"
		"                         it to quit (its guest never runs either way)\n"
		"  -j, --json             report as JSON\n"
		"  -q, --quiet            no report, no progress line\n"
		"Exit status: 0 the guest runs here; 1 it does not; 2 usage.\n");
}

struct in_args {
	struct kmig_incoming_opts o;
	const char *listen, *ready;
	char host[KMIG_ADDR_MAX], port[32];
	bool json, quiet;
};

static int parse_args(struct in_args *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vmm", required_argument, NULL, 's' }, { "listen", required_argument, NULL, 'L' },
		{ "ready-file", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 't' },
		{ "keep-vmm", no_argument, NULL, 'k' },
		{ "vmm-timeout", required_argument, NULL, 'V' },
		{ "json", no_argument, NULL, 'j' }, { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	uint64_t n;
	int c;

	while ((c = getopt_long(argc, argv, "s:L:R:t:kjqh", opts, NULL)) != -1) {
		switch (c) {
		case 's': a->o.vmm_path = optarg; break;
		case 'L': a->listen = optarg; break;
		case 'R': a->ready = optarg; break;
		case 't':
			if (cli_parse_u64(optarg, 1, 3600, &n))
				return cli_err("incoming", "parse --timeout", optarg, EINVAL,
					       "expected seconds, 1..3600");
			a->o.stream.accept_timeout_ms = a->o.commit_timeout_ms = n * 1000;
			break;
		case 'k': a->o.keep_vmm = true; break;
		case 'V':
			if (cli_parse_vmm_timeout("incoming", optarg, &a->o.vmm_timeout_ms))
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
	if (optind != argc || !a->o.vmm_path || !a->listen) {
		usage(stderr);
		return 2;
	}
	if (kmig_net_split(a->listen, a->host, sizeof(a->host), a->port, sizeof(a->port)))
		return cli_err("incoming", "parse --listen", a->listen, EINVAL,
			       "expected [HOST:]PORT");
	a->o.host = a->host;
	a->o.port = a->port;
	return 0;
}

/* The watcher's object: NULL until kmig_incoming_create() returned. */
static struct kmig_incoming *watched(void *obj)
{
	return __atomic_load_n((struct kmig_incoming **)obj, __ATOMIC_ACQUIRE);
}

static void cancel_cb(void *obj, const char *why)
{
	struct kmig_incoming *in = watched(obj);

	/*
	 * During set-up (HELLO, GET_SLOTS, listen) nothing outside this
	 * process has changed: end at once, as the default action would,
	 * rather than wait out a VMM that does not answer.
	 */
	if (!in) {
		fprintf(stderr, "kmig incoming: set up: interrupted by %s\n", why);
		_exit(1);
	}
	if (kmig_incoming_cancel(in, why) == -EBUSY)
		fprintf(stderr, "\nkmig incoming: not cancelled: the VMM is resuming the guest\n");
}

static void progress_cb(void *obj, char *line, size_t len)
{
	struct kmig_incoming_stats *st;

	line[0] = '\0';
	if (!watched(obj) || !(st = malloc(sizeof(*st))))
		return;
	kmig_incoming_stats(watched(obj), st);
	cli_incoming_line(st, line, len);
	free(st);
}

static int report(const struct in_args *a, struct kmig_incoming *in, int ret)
{
	struct kmig_incoming_stats *st = malloc(sizeof(*st));
	struct json j;

	if (!st)
		return cli_err("incoming", "report", "", ENOMEM, NULL);
	kmig_incoming_stats(in, st);
	if (a->json) {
		json_init(&j, stdout, false);
		cli_incoming_json(&j, st);
	} else if (!a->quiet) {
		cli_incoming_table(stdout, st);
	}
	fflush(stdout);
	if (ret)
		fprintf(stderr, "kmig incoming: %s%s; the guest was not resumed here "
			"(destination VMM: %s)\n", st->state == KMIG_INCOMING_CANCELLED ? "" :
			"failed: ", st->error, st->vmm_end);
	else if (st->warning[0])
		fprintf(stderr, "kmig incoming: warning: %s\n", st->warning);
	free(st);
	return ret ? 1 : 0;
}

int cmd_incoming(int argc, char **argv)
{
	struct in_args a = { 0 };
	struct kmig_incoming *in = NULL, *live = NULL;
	struct cli_watch w;
	int ret;

	kmig_incoming_opts_init(&a.o);
	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret)
		return ret;
	/* From the start: a signal must end a set-up that waits on the VMM. */
	w = (struct cli_watch){ .obj = &live, .cancel = cancel_cb,
				.progress = a.quiet || a.json ? NULL : progress_cb };
	cli_watch_start(&w);
	ret = kmig_incoming_create(&in, &a.o);
	if (ret) {
		ret = cli_err("incoming", "set up", "", ret, in ? kmig_incoming_error(in) : NULL);
		goto out;
	}
	__atomic_store_n(&live, in, __ATOMIC_RELEASE);
	if (a.ready && (ret = cli_write_ready(a.ready, kmig_incoming_port(in)))) {
		ret = cli_err("incoming", "write ready file", a.ready, ret, NULL);
		goto out;
	}
	ret = kmig_incoming_run(in);
	cli_watch_stop(&w);
	ret = report(&a, in, ret);
	kmig_incoming_destroy(in);
	return ret;
out:
	cli_watch_stop(&w);
	kmig_incoming_destroy(in);
	return ret;
}
