// SPDX-License-Identifier: GPL-2.0
/* What TLS the channels of a stream ran, and what it did to their page
 * bytes, for the statistics (chan_tls.h). */
#include <stdio.h>

#include "base/bits.h"
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

void kmig_chan_tls_tx_pages(struct kmig_chan_stats *st, const struct kmig_tls_conn *c,
			    uint64_t bytes)
{
	if (!c)
		return;
	if (kmig_tls_ktls_tx(c)) {
		KMIG_STAT_ADD(st->bytes_kcopied, bytes);
		return;
	}
	KMIG_STAT_ADD(st->bytes_read, bytes);
	KMIG_STAT_ADD(st->bytes_copied, 3 * bytes);
}

void kmig_chan_tls_rx_pages(struct kmig_chan_stats *st, const struct kmig_tls_conn *c,
			    uint64_t bytes, bool to_file)
{
	if (!c || kmig_tls_ktls_rx(c))
		return;
	KMIG_STAT_ADD(st->bytes_copied, 2 * bytes);
	if (to_file)
		KMIG_STAT_ADD(st->bytes_kcopied, bytes);
}
