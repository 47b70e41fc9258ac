/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS 1.3 on the channels (Documentation/security.rst), with OpenSSL 3:
 * mutual authentication by a pre-shared key (a key file) or by x509
 * certificates (a credentials directory), and kernel TLS where the kernel
 * offers it.
 *
 * One struct kmig_tls per stream holds the credentials and settings (an
 * SSL_CTX); one struct kmig_tls_conn per channel is a finished handshake
 * over a connected socket. With kernel TLS on transmit (Debian's OpenSSL
 * 3.0 hands the kernel the sending side of TLS 1.3), writes go to the
 * socket as they do in plaintext, with sendmsg() from guest memory, and
 * the kernel encrypts; reads, and writes without kernel TLS, go through
 * the library's records.
 *
 * Threads: a connection is used by one thread at a time (OpenSSL's rule);
 * shutdown() of its socket from another thread is fine and wakes it.
 * Every call returns 0 or -errno; a blocked call ends at the socket's
 * SO_RCVTIMEO/SO_SNDTIMEO with -ETIMEDOUT.
 */
#ifndef KMIG_TLS_H
#define KMIG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/errbuf.h"

/* Files of a credentials directory (the names QEMU's tls-creds-x509 uses
 * for the CA; one certificate and key per side). */
#define KMIG_TLS_CA_FILE	"ca-cert.pem"
#define KMIG_TLS_CERT_FILE	"cert.pem"
#define KMIG_TLS_KEY_FILE	"key.pem"

#define KMIG_TLS_PSK_MIN	16	/* bytes of key, at least */
#define KMIG_TLS_PSK_MAX	64
#define KMIG_TLS_ID_LEN		32	/* SHA-256 of the peer's certificate */

struct kmig_tls_opts {
	const char *psk_file;	/* hex key: PSK mode; or */
	const char *creds_dir;	/* x509 mode */
	/* x509: the name (DNS name or IP address) the peer's certificate must
	 * carry. A client with none checks the host it connects to; a server
	 * with none accepts any certificate of its CA. */
	const char *peer_name;
	bool server;		/* the listening side */
};

struct kmig_tls;
struct kmig_tls_conn;

/* A bound on a wait for the peer that no socket timeout gives (a peer
 * that trickles a byte at a time restarts it): a deadline, and a flag
 * that ends the wait within 100 ms (a cancel). */
struct kmig_tls_bound {
	uint64_t deadline_ns;	/* kmig_now_ns() clock */
	const int *cancel;	/* non-zero: give up with -ECANCELED; may be NULL */
};

/* Loads the key or the credentials; @e says which file and why. */
int kmig_tls_create(struct kmig_tls **out, const struct kmig_tls_opts *o, struct kmig_err *e);
void kmig_tls_destroy(struct kmig_tls *t);
/* "psk" or "x509". */
const char *kmig_tls_mode(const struct kmig_tls *t);

/* The handshake on connected socket @fd, by @b (NULL: bounded by the
 * socket's timeouts, which the caller sets). @host: the address a client
 * connected to (its default peer name). On failure @e says why (the
 * library's reason, e.g. "the peer's certificate: certificate has
 * expired"). The connection does not own @fd. */
int kmig_tls_handshake(struct kmig_tls *t, int fd, const char *host,
		       const struct kmig_tls_bound *b, struct kmig_tls_conn **out,
		       struct kmig_err *e);
void kmig_tls_conn_free(struct kmig_tls_conn *c);

/* Whether the kernel encrypts this connection's writes / decrypts its reads. */
bool kmig_tls_ktls_tx(const struct kmig_tls_conn *c);
bool kmig_tls_ktls_rx(const struct kmig_tls_conn *c);
/* "TLSv1.3" and "TLS_AES_128_GCM_SHA256", for the reports. */
const char *kmig_tls_version(const struct kmig_tls_conn *c);
const char *kmig_tls_cipher(const struct kmig_tls_conn *c);
/* Who the peer is: SHA-256 of its certificate (x509), or all zero (PSK:
 * whoever holds the key). Every channel of a session must show the same. */
void kmig_tls_peer_id(const struct kmig_tls_conn *c, uint8_t id[KMIG_TLS_ID_LEN]);

/*
 * A channel's I/O: through @c, or plain on @fd when @c is NULL (no TLS) or
 * the kernel does that direction. Full transfers as base/net.h's (EINTR
 * retried, -ECONNRESET when the peer closes, -ETIMEDOUT at the socket's
 * timeout); a record that fails authentication gives -EBADMSG.
 */
int kmig_tls_read_full(struct kmig_tls_conn *c, int fd, void *buf, size_t len);
int kmig_tls_readv_full(struct kmig_tls_conn *c, int fd, struct iovec *iov, int cnt);
int kmig_tls_write_full(struct kmig_tls_conn *c, int fd, const void *buf, size_t len);
int kmig_tls_writev_full(struct kmig_tls_conn *c, int fd, struct iovec *iov, int cnt);
/*
 * @len bytes from the connection into file @fd at @off with pwrite(),
 * through a small buffer that stays in the cache: on fresh memfd memory
 * one copy and no page fault, as splice() gives a plaintext receiver (a
 * store through the mapping faults each fresh page in and clears it
 * first). If the file refuses pwrite(), the bytes go to @map, its mapping
 * of the same range, and *@mapped is set. Only with userspace records.
 */
int kmig_tls_read_to_file(struct kmig_tls_conn *c, int fd, uint64_t off, void *map,
			  size_t len, bool *mapped);
/* @len bytes by @b (the hello: the receiver's accept deadline). */
int kmig_tls_read_bounded(struct kmig_tls_conn *c, void *buf, size_t len,
			  const struct kmig_tls_bound *b);
/* The reason of the connection's last failed call ("" if none). */
const char *kmig_tls_error(const struct kmig_tls_conn *c);

#endif /* KMIG_TLS_H */
