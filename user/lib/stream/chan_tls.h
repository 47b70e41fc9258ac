/* SPDX-License-Identifier: GPL-2.0 */
/* What TLS the channels of a stream ran, for its statistics. */
#ifndef KMIG_CHAN_TLS_H
#define KMIG_CHAN_TLS_H

#include "pages/stats.h"
#include "tls/tls.h"

/* Add channel @c (NULL: plaintext) to @t; @first: the first channel. */
void kmig_chan_tls_stats(struct kmig_tls_stats *t, const struct kmig_tls_conn *c, bool first);

/*
 * @bytes of page payload through channel @c's records (NULL: plaintext,
 * nothing to add), counted in @st by what touched them (stats.h), on top
 * of the kernel's copy through the socket that the caller counts as in
 * plaintext. Sending with userspace records: the library copies each page
 * into its record (the one read of the page), encrypts the record in
 * place and the buffer BIO copies it out: three userspace writes. With
 * kernel TLS, the kernel's encryption is a second kernel pass. Receiving
 * with userspace records: the kernel copies into the library's buffer
 * (the caller's count), the library decrypts in place and copies the
 * plaintext out: two userspace writes, and (@to_file) pwrite()'s copy
 * into the file. With kernel TLS the decryption is the kernel's copy.
 */
void kmig_chan_tls_tx_pages(struct kmig_chan_stats *st, const struct kmig_tls_conn *c,
			    uint64_t bytes);
void kmig_chan_tls_rx_pages(struct kmig_chan_stats *st, const struct kmig_tls_conn *c,
			    uint64_t bytes, bool to_file);

#endif /* KMIG_CHAN_TLS_H */
