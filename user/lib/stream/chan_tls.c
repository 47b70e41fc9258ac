// SPDX-License-Identifier: GPL-2.0
#include <stdio.h>

#include "stream/chan_tls.h"

void kmig_chan_tls_stats(struct kmig_tls_stats *t, const struct kmig_tls_conn *c, bool first)
{
	if (!c) {
		t->on = false;
		return;
	}
	if (first) {
		t->on = t->ktls_tx = t->ktls_rx = true;
		snprintf(t->version, sizeof(t->version), "%s", kmig_tls_version(c));
		snprintf(t->cipher, sizeof(t->cipher), "%s", kmig_tls_cipher(c));
	}
	/* The kernel did it only if it did on every channel. */
	t->ktls_tx = t->ktls_tx && kmig_tls_ktls_tx(c);
	t->ktls_rx = t->ktls_rx && kmig_tls_ktls_rx(c);
}
