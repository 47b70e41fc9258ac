// SPDX-License-Identifier: GPL-2.0
/* kmig incoming: the destination of a kmig migrate, into a waiting VMM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "migrate/incoming.h"
#include "show.h"
#include "base/net.h"
#include "tls/tls.h"

struct in_args {
	struct kmig_incoming_opts o;
	const char *listen, *ready;
	char host[KMIG_ADDR_MAX], port[32];
	bool json, quiet;
	struct cli_tls tls;
};

#define A struct in_args
static const struct cli_opt options[] = {
	{ CLI_STR("vmm", 's', A, o.vmm_path, "SOCKET",
		  "the destination VMM's socket (a VMM waiting for an\n"
		  "incoming migration, e.g. kmig-vmm --incoming)"), .required = true },
	{ CLI_STR("listen", 'L', A, listen, "ADDR",
		  "where the source's channels connect (PORT 0: any free port)"), .required = true },
	{ CLI_STR("ready-file", 'R', A, ready, "FILE", "write the bound port to FILE once listening") },
	{ CLI_DURATION("timeout", 't', A, o.stream.accept_timeout_ms, 1, 3600, CLI_NS_S, CLI_NS_MS,
		       "SEC", "wait at most SEC for the source's channels and, at\n"
		       "switchover, for its COMMIT (default 30)") },
	{ CLI_IDLE_TIMEOUT(A, o.stream.idle_timeout_ms) },
	{ CLI_DURATION("vmm-timeout", 0, A, o.vmm_timeout_ms, 1, 3600, CLI_NS_S, CLI_NS_MS,
		       "SEC", "for each answer of the VMM (default 30)") },
	CLI_LANDING_OPTION(A, o.stream.landing),
	{ CLI_FLAG("keep-vmm", 'k', A, o.keep_vmm,
		   "after a failure, leave the VMM waiting instead of telling\n"
		   "it to quit (its guest never runs either way)") },
	CLI_NO_PAGE_SUMS_RECV(A, o.stream.no_page_sums),
	CLI_TLS_OPTIONS(A, tls),
	{ CLI_FLAG("json", 'j', A, json, "report as JSON") },
	{ CLI_FLAG("quiet", 'q', A, quiet, "no report, no progress line") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "incoming", .usage = "--vmm SOCKET --listen [HOST:]PORT [options]", .opt = options,
	.footer = "Exit status: 0 the guest runs here; 1 it does not; 2 usage.\n",
};

static int parse_args(struct in_args *a, int argc, char **argv)
{
	int first, ret = cli_opts_parse(&cmd, argc, argv, a, &first);

	if (ret)
		return ret;
	/* --timeout bounds the wait for COMMIT too. */
	if (a->o.stream.accept_timeout_ms)
		a->o.commit_timeout_ms = a->o.stream.accept_timeout_ms;
	if (kmig_net_split(a->listen, a->host, sizeof(a->host), a->port, sizeof(a->port)))
		return cli_opts_error(&cmd, "--listen", "[HOST:]PORT", a->listen);
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
		return ret < 0 ? 0 : ret;
	ret = cli_tls_setup("incoming", &a.tls, true, a.host, &a.o.stream.tls);
	if (ret)
		return ret;
	a.o.stream.refused = cli_tls_refused;
	a.o.stream.refused_arg = "incoming";
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
	kmig_tls_destroy(a.o.stream.tls);
	return ret;
out:
	cli_watch_stop(&w);
	kmig_incoming_destroy(in);
	kmig_tls_destroy(a.o.stream.tls);
	return ret;
}
