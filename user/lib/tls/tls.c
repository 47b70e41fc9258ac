// SPDX-License-Identifier: GPL-2.0
/*
 * Credentials and handshakes (tls.h). OpenSSL 3 rather than GnuTLS: both
 * are in Debian 12 with kernel TLS compiled in, but GnuTLS 3.7 turns it on
 * only from the system-wide configuration file, while OpenSSL's
 * SSL_OP_ENABLE_KTLS is a per-context option (Documentation/security.rst).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "tls/tls_int.h"

#define PSK_IDENTITY	"kmig"

struct kmig_tls {
	SSL_CTX *ctx;
	bool server, psk;
	uint8_t key[KMIG_TLS_PSK_MAX];
	size_t key_len;
	char peer_name[256];
};

/* The library's reason for the last failure of this thread, then clear. */
void kmig_tls_reason(char *buf, size_t len)
{
	unsigned long e = ERR_peek_last_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "%s", errno ? strerror(errno) : "connection closed");
	ERR_clear_error();
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
	       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The key file: hex digits (a trailing newline allowed), owner-only. */
static int load_psk(struct kmig_tls *t, const char *path, struct kmig_err *e)
{
	char text[2 * KMIG_TLS_PSK_MAX + 2];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return kmig_err_set(e, -errno, "key file %s: %s", path, strerror(errno));
	if (fstat(fd, &st) || (st.st_mode & 077)) {
		close(fd);
		return kmig_err_set(e, -EPERM, "key file %s: readable by others "
				    "(chmod 600 it)", path);
	}
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		n--;
	if (n < 2 * KMIG_TLS_PSK_MIN || n > 2 * KMIG_TLS_PSK_MAX || n % 2)
		goto bad;
	for (ssize_t i = 0; i < n; i += 2) {
		int hi = hexval(text[i]), lo = hexval(text[i + 1]);

		if (hi < 0 || lo < 0)
			goto bad;
		t->key[i / 2] = hi << 4 | lo;
	}
	t->key_len = n / 2;
	return 0;
bad:
	return kmig_err_set(e, -EINVAL, "key file %s: expected %d to %d hex digits "
			    "(e.g. from 'openssl rand -hex 32')", path,
			    2 * KMIG_TLS_PSK_MIN, 2 * KMIG_TLS_PSK_MAX);
}

static struct kmig_tls *of_ssl(SSL *ssl)
{
	return SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
}

/* TLS 1.3 uses these callbacks' key as an external PSK with SHA-256
 * (TLS_AES_128_GCM_SHA256), with an (EC)DHE exchange on top. */
static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *id, unsigned int id_len,
				  unsigned char *psk, unsigned int psk_len)
{
	struct kmig_tls *t = of_ssl(ssl);

	if (t->key_len > psk_len || snprintf(id, id_len, PSK_IDENTITY) >= (int)id_len)
		return 0;
	memcpy(psk, t->key, t->key_len);
	return t->key_len;
}

static unsigned int psk_server_cb(SSL *ssl, const char *id, unsigned char *psk,
				  unsigned int psk_len)
{
	struct kmig_tls *t = of_ssl(ssl);

	if (strcmp(id, PSK_IDENTITY) || t->key_len > psk_len)
		return 0;
	memcpy(psk, t->key, t->key_len);
	return t->key_len;
}

static int load_x509(struct kmig_tls *t, const char *dir, struct kmig_err *e)
{
	static const char *const files[] = { KMIG_TLS_CA_FILE, KMIG_TLS_CERT_FILE,
					     KMIG_TLS_KEY_FILE };
	char path[3][4096], why[256];
	int ok;

	for (int i = 0; i < 3; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/%s", dir, files[i]);
		if (access(path[i], R_OK))
			return kmig_err_set(e, -errno, "credentials %s: %s", path[i],
					    strerror(errno));
	}
	ok = !SSL_CTX_load_verify_locations(t->ctx, path[0], NULL) ? 0 :
	     !SSL_CTX_use_certificate_chain_file(t->ctx, path[1]) ? 1 :
	     !SSL_CTX_use_PrivateKey_file(t->ctx, path[2], SSL_FILETYPE_PEM) ? 2 :
	     !SSL_CTX_check_private_key(t->ctx) ? 3 : -1;
	if (ok >= 0) {
		kmig_tls_reason(why, sizeof(why));
		return kmig_err_set(e, -EINVAL, "credentials %s: %s", ok == 3 ?
				    "key does not match the certificate" : path[ok], why);
	}
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 0;
}

static int ctx_setup(struct kmig_tls *t)
{
	t->ctx = SSL_CTX_new(t->server ? TLS_server_method() : TLS_client_method());
	if (!t->ctx)
		return -ENOMEM;
	SSL_CTX_set_app_data(t->ctx, t);
	if (!SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION))
		return -EPROTONOSUPPORT;
	/* No session tickets: nothing arrives after the handshake but our
	 * own records, and no session outlives its channel. */
	/* AES-128-GCM first: the fastest with AES-NI, and what a PSK uses. */
	if (!SSL_CTX_set_ciphersuites(t->ctx, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
				      "TLS_CHACHA20_POLY1305_SHA256"))
		return -EINVAL;
	SSL_CTX_set_num_tickets(t->ctx, 0);
	/* A TCP close without close_notify reads as a close, not as a fatal
	 * error: the stream's END and acks detect a truncation anyway, and a
	 * receiver ends a healthy channel's reads with shutdown(SHUT_RD) and
	 * must still be able to write ERROR on it (recv.c). */
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_TICKET | SSL_OP_ENABLE_KTLS |
			    SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Read whole socket buffers, not a record header then its body. */
	SSL_CTX_set_read_ahead(t->ctx, 1);
	SSL_CTX_set_default_read_buffer_len(t->ctx, 64 << 10);
	SSL_CTX_set_mode(t->ctx, SSL_MODE_AUTO_RETRY);
	return 0;
}

int kmig_tls_create(struct kmig_tls **out, const struct kmig_tls_opts *o, struct kmig_err *e)
{
	struct kmig_tls *t;
	int ret;

	if (!o->psk_file == !o->creds_dir)
		return kmig_err_set(e, -EINVAL, "TLS needs a key file or a credentials "
				    "directory (one of them)");
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->server = o->server;
	t->psk = o->psk_file;
	if (o->peer_name)
		snprintf(t->peer_name, sizeof(t->peer_name), "%s", o->peer_name);
	ret = ctx_setup(t);
	if (ret) {
		kmig_err_set(e, ret, "TLS context: %s", strerror(-ret));
	} else if (t->psk) {
		ret = load_psk(t, o->psk_file, e);
		if (t->server)
			SSL_CTX_set_psk_server_callback(t->ctx, psk_server_cb);
		else
			SSL_CTX_set_psk_client_callback(t->ctx, psk_client_cb);
	} else {
		ret = load_x509(t, o->creds_dir, e);
	}
	if (ret) {
		kmig_tls_destroy(t);
		return ret;
	}
	*out = t;
	return 0;
}

void kmig_tls_destroy(struct kmig_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	OPENSSL_cleanse(t->key, sizeof(t->key));
	free(t);
}

const char *kmig_tls_mode(const struct kmig_tls *t)
{
	return t->psk ? "psk" : "x509";
}

/* x509: the name the peer's certificate must carry, if any. */
static int set_peer_name(struct kmig_tls *t, SSL *ssl, const char *host)
{
	const char *name = t->peer_name[0] ? t->peer_name : t->server ? NULL : host;
	X509_VERIFY_PARAM *p = SSL_get0_param(ssl);
	unsigned char addr[16];

	if (t->psk || !name || !*name)
		return 0;
	if (inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(p, name) ? 0 : -EINVAL;
	X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	return SSL_set1_host(ssl, name) ? 0 : -EINVAL;
}

/* Why a handshake failed, in the words a user can act on. */
static int handshake_error(struct kmig_tls_conn *c, int rc, struct kmig_err *e)
{
	int err = SSL_get_error(c->ssl, rc), saved = errno;
	long v = SSL_get_verify_result(c->ssl);
	char why[200];

	kmig_tls_reason(why, sizeof(why));
	if (v != X509_V_OK)
		return kmig_err_set(e, -EACCES, "TLS handshake: the peer's certificate: %s",
				    X509_verify_cert_error_string(v));
	if ((err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) && saved == EAGAIN)
		return kmig_err_set(e, -ETIMEDOUT, "TLS handshake: no answer in time");
	if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		return kmig_err_set(e, saved && saved != EPIPE ? -saved : -ECONNRESET,
				    "TLS handshake: the peer closed the connection (%s; is the "
				    "peer using TLS? a plaintext receiver closes a connection "
				    "that sends no kmig hello)",
				    saved ? strerror(saved) : "no TLS there, or it refused us");
	return kmig_err_set(e, strstr(why, "alert") ? -EACCES : -EPROTO,
			    "TLS handshake: %s%s", why, strstr(why, "wrong version number") ||
			    strstr(why, "packet length") || strstr(why, "record layer failure") ?
			    " (is the peer using TLS?)" : "");
}

/* SSL_accept or SSL_connect until done: blocking (@b NULL), or on the
 * non-blocking socket, waiting within @b. 1 when done. */
static int shake(struct kmig_tls_conn *c, bool server, const struct kmig_tls_bound *b,
		 struct kmig_err *e)
{
	for (;;) {
		int rc, err, ret;

		errno = 0;
		rc = kmig_tls_sigpipe_safe(c, server ? SSL_accept : SSL_connect);
		if (rc == 1)
			return 1;
		err = SSL_get_error(c->ssl, rc);
		if (b && (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)) {
			ERR_clear_error();
			ret = kmig_tls_wait(c, b, err == SSL_ERROR_WANT_WRITE);
			if (ret)
				return kmig_err_set(e, ret, "TLS handshake: %s", c->err);
			continue;
		}
		if (!b && errno == EINTR && err == SSL_ERROR_WANT_READ)
			continue;
		return handshake_error(c, rc, e);
	}
}

int kmig_tls_handshake(struct kmig_tls *t, int fd, const char *host,
		       const struct kmig_tls_bound *b, struct kmig_tls_conn **out,
		       struct kmig_err *e)
{
	struct kmig_tls_conn *c = calloc(1, sizeof(*c));
	int rc, fl;

	if (!c)
		return -ENOMEM;
	c->ssl = SSL_new(t->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, fd) || set_peer_name(t, c->ssl, host)) {
		kmig_tls_conn_free(c);
		return kmig_err_set(e, -ENOMEM, "TLS: setting up a connection");
	}
	c->fd = fd;
	ERR_clear_error();
	fl = b ? kmig_tls_nonblock(fd, 0, true) : 0;
	rc = shake(c, t->server, b, e);
	if (b)
		kmig_tls_nonblock(fd, fl, false);
	if (rc != 1) {
		kmig_tls_conn_free(c);
		return rc;
	}
	c->ktls_tx = BIO_get_ktls_send(SSL_get_wbio(c->ssl));
	c->ktls_rx = BIO_get_ktls_recv(SSL_get_rbio(c->ssl));
	if (!c->ktls_tx && kmig_tls_buffer_writes(c)) {
		kmig_tls_conn_free(c);
		return kmig_err_set(e, -ENOMEM, "TLS: a write buffer");
	}
	snprintf(c->version, sizeof(c->version), "%s", SSL_get_version(c->ssl));
	snprintf(c->cipher, sizeof(c->cipher), "%s", SSL_get_cipher_name(c->ssl));
	kmig_tls_fill_peer_id(c);
	*out = c;
	return 0;
}

void kmig_tls_conn_free(struct kmig_tls_conn *c)
{
	if (!c)
		return;
	SSL_free(c->ssl);
	free(c->wbuf);
	free(c->fbuf);
	free(c);
}

bool kmig_tls_ktls_tx(const struct kmig_tls_conn *c)
{
	return c->ktls_tx;
}

bool kmig_tls_ktls_rx(const struct kmig_tls_conn *c)
{
	return c->ktls_rx;
}

const char *kmig_tls_version(const struct kmig_tls_conn *c)
{
	return c->version;
}

const char *kmig_tls_cipher(const struct kmig_tls_conn *c)
{
	return c->cipher;
}

void kmig_tls_peer_id(const struct kmig_tls_conn *c, uint8_t id[KMIG_TLS_ID_LEN])
{
	memcpy(id, c->peer_id, KMIG_TLS_ID_LEN);
}

const char *kmig_tls_error(const struct kmig_tls_conn *c)
{
	return c ? c->err : "";
}
