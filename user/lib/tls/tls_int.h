/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of lib/tls: a connection, shared by tls.c (handshake) and
 * tls_io.c (its reads and writes). */
#ifndef KMIG_TLS_INT_H
#define KMIG_TLS_INT_H

#include <openssl/ssl.h>

#include "tls/tls.h"

/* Small pieces of a writev (headers, lists) are gathered into records of
 * this size; larger ones are encrypted from where they are. */
#define KMIG_TLS_WBUF	16384
/* Userspace records of one write call are sent together, through a
 * buffer BIO of this size, not with one write() each. */
#define KMIG_TLS_WBIO	(256 << 10)
/* kmig_tls_read_to_file()'s buffer: a few records, so that what was just
 * decrypted is still in the cache when pwrite() copies it out. */
#define KMIG_TLS_FBUF	(64 << 10)

struct kmig_tls_conn {
	SSL *ssl;
	int fd;
	bool ktls_tx, ktls_rx;
	char version[16], cipher[48];
	uint8_t peer_id[KMIG_TLS_ID_LEN];
	uint8_t *wbuf;		/* KMIG_TLS_WBUF, on the first gathered write */
	size_t wlen;
	uint8_t *fbuf;		/* KMIG_TLS_FBUF, on the first read to a file */
	char err[256];
};

/* The library's reason for this thread's last failure (clears it). */
void kmig_tls_reason(char *buf, size_t len);
/* @fn(c->ssl) with SIGPIPE blocked in this thread: OpenSSL writes with
 * write(), and a peer that went away must give EPIPE, not kill us. */
int kmig_tls_sigpipe_safe(struct kmig_tls_conn *c, int (*fn)(SSL *ssl));
void kmig_tls_fill_peer_id(struct kmig_tls_conn *c);
/* After SSL_ERROR_WANT_READ/WRITE (@write) on a non-blocking socket: wait
 * for it, at most 100 ms and within @b. 0: try again; -ETIMEDOUT past the
 * deadline; -ECANCELED on the cancel flag. */
int kmig_tls_wait(struct kmig_tls_conn *c, const struct kmig_tls_bound *b, bool write);
/* O_NONBLOCK on the socket (on), or its flags back; returns the old ones. */
int kmig_tls_nonblock(int fd, int old, bool on);
/* After the handshake, without kernel TLS to send: the buffer BIO. */
int kmig_tls_buffer_writes(struct kmig_tls_conn *c);

#endif /* KMIG_TLS_INT_H */
