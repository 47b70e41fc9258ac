/* SPDX-License-Identifier: GPL-2.0 */
/* What TLS the channels of a stream ran, for its statistics. */
#ifndef KMIG_CHAN_TLS_H
#define KMIG_CHAN_TLS_H

#include "pages/stats.h"
#include "tls/tls.h"

/* Add channel @c (NULL: plaintext) to @t; @first: the first channel. */
void kmig_chan_tls_stats(struct kmig_tls_stats *t, const struct kmig_tls_conn *c, bool first);

#endif /* KMIG_CHAN_TLS_H */
