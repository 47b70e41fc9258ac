// SPDX-License-Identifier: GPL-2.0
/* The TLS options of migrate, incoming, send and receive (cli.h). */
#include <errno.h>
#include <stdio.h>

#include "base/net.h"
#include "cli.h"
#include "tls/tls.h"

int cli_tls_setup(const char *cmd, const struct cli_tls *o, bool server, const char *host,
		  struct kmig_tls **out)
{
	struct kmig_tls_opts to = { .psk_file = o->psk, .creds_dir = o->creds,
				    .peer_name = o->peer, .server = server };
	struct kmig_err e = { 0 };
	int ret;

	*out = NULL;
	if (o->psk && o->creds) {
		fprintf(stderr, "kmig %s: --tls-psk and --tls-creds: choose one\n", cmd);
		return 2;
	}
	if (o->peer && !o->creds) {
		fprintf(stderr, "kmig %s: --tls-peer needs --tls-creds\n", cmd);
		return 2;
	}
	if (!o->psk && !o->creds) {
		if (o->require) {
			fprintf(stderr, "kmig %s: --require-tls: give --tls-psk FILE or "
				"--tls-creds DIR\n", cmd);
			return 2;
		}
		if (server && !kmig_net_is_loopback(host))
			fprintf(stderr, "kmig %s: WARNING: listening on %s without TLS: anyone "
				"who can reach this port can write this guest's memory and "
				"device state (use --tls-psk or --tls-creds, see kmig(8))\n",
				cmd, host && *host ? host : "all addresses");
		return 0;
	}
	ret = kmig_tls_create(out, &to, &e);
	if (ret)
		return cli_err(cmd, "set up TLS", "", ret, e.msg);
	return 0;
}

void cli_tls_refused(void *arg, const char *peer, const char *why)
{
	fprintf(stderr, "kmig %s: refused a connection from %s: %s\n", (const char *)arg, peer,
		why);
}
