// SPDX-License-Identifier: GPL-2.0
/*
 * A channel's reads and writes under TLS (tls.h): plain socket calls
 * where the kernel does the records, the library's records otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/bits.h"
#include "base/net.h"
#include "tls/tls_int.h"

struct sigpipe_guard {
	sigset_t set, old;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigemptyset(&g->set);
	sigaddset(&g->set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &g->set, &g->old);
}

/* Drop a SIGPIPE our write raised (pending on this thread), then restore. */
static void sigpipe_restore(struct sigpipe_guard *g)
{
	const struct timespec zero = { 0, 0 };
	int saved = errno;

	if (!sigismember(&g->old, SIGPIPE)) {
		while (sigtimedwait(&g->set, NULL, &zero) == SIGPIPE)
			;
		pthread_sigmask(SIG_SETMASK, &g->old, NULL);
	}
	errno = saved;
}

int kmig_tls_sigpipe_safe(struct kmig_tls_conn *c, int (*fn)(SSL *ssl))
{
	struct sigpipe_guard g;
	int rc;

	sigpipe_block(&g);
	rc = fn(c->ssl);
	sigpipe_restore(&g);
	return rc;
}

void kmig_tls_fill_peer_id(struct kmig_tls_conn *c)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	unsigned int len = 0;

	memset(c->peer_id, 0, sizeof(c->peer_id));
	if (cert)
		X509_digest(cert, EVP_sha256(), c->peer_id, &len);
	X509_free(cert);
}

/* A failed SSL_read_ex/SSL_write_ex as -errno, its reason in c->err;
 * 0 if the call is to be retried (a signal interrupted it). */
static int io_error(struct kmig_tls_conn *c, int rc, int saved)
{
	int err = SSL_get_error(c->ssl, rc);

	switch (err) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		ERR_clear_error();
		if (saved == EINTR)
			return 0;
		snprintf(c->err, sizeof(c->err), "no data in time");
		return -ETIMEDOUT;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(c->err, sizeof(c->err), "the peer closed the TLS session");
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		snprintf(c->err, sizeof(c->err), "%s", saved ? strerror(saved) :
			 "connection closed mid-record");
		return saved && saved != EPIPE ? -saved : -ECONNRESET;
	default:
		kmig_tls_reason(c->err, sizeof(c->err));
		/* An alert is the peer refusing; anything else is a record
		 * that failed its check (tampered, or not TLS). */
		return strstr(c->err, "alert") ? -EACCES : -EBADMSG;
	}
}

int kmig_tls_buffer_writes(struct kmig_tls_conn *c)
{
	BIO *sock = SSL_get_wbio(c->ssl), *buf = BIO_new(BIO_f_buffer());

	if (!buf || !BIO_set_write_buffer_size(buf, KMIG_TLS_WBIO) || !BIO_up_ref(sock)) {
		BIO_free(buf);
		return -ENOMEM;
	}
	/* The chain buf -> sock replaces sock, whose reference it took. */
	SSL_set0_wbio(c->ssl, BIO_push(buf, sock));
	return 0;
}

/* The buffered records out to the socket. */
static int flush_bio(struct kmig_tls_conn *c)
{
	BIO *b = SSL_get_wbio(c->ssl);

	for (;;) {
		errno = 0;
		if (BIO_flush(b) > 0)
			return 0;
		if (errno == EINTR)
			continue;
		snprintf(c->err, sizeof(c->err), "%s", errno ? strerror(errno) : "write failed");
		return errno == EAGAIN ? -ETIMEDOUT : errno && errno != EPIPE ? -errno : -ECONNRESET;
	}
}

/* All of @len through the library, read (@wr false) or written. */
static int xfer_full(struct kmig_tls_conn *c, void *buf, size_t len, bool wr)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = 0;
		int rc, ret;

		errno = 0;
		rc = wr ? SSL_write_ex(c->ssl, p, len, &n) : SSL_read_ex(c->ssl, p, len, &n);
		if (rc <= 0) {
			ret = io_error(c, rc, errno);
			if (ret)
				return ret;
			continue;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* A read may write too (an alert when a record fails its check): it
 * also runs with SIGPIPE blocked. */
static int read_full(struct kmig_tls_conn *c, void *buf, size_t len)
{
	return xfer_full(c, buf, len, false);
}

int kmig_tls_nonblock(int fd, int old, bool on)
{
	int fl = on ? fcntl(fd, F_GETFL) : old;

	if (fl >= 0)
		fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl);
	return fl;
}

int kmig_tls_wait(struct kmig_tls_conn *c, const struct kmig_tls_bound *b, bool write)
{
	struct pollfd p = { .fd = c->fd, .events = write ? POLLOUT : POLLIN };
	uint64_t now = kmig_now_ns();

	if (b->cancel && *(volatile const int *)b->cancel) {
		snprintf(c->err, sizeof(c->err), "cancelled");
		return -ECANCELED;
	}
	if (now >= b->deadline_ns) {
		snprintf(c->err, sizeof(c->err), "no answer in time");
		return -ETIMEDOUT;
	}
	if (poll(&p, 1, KMIG_MIN((b->deadline_ns - now) / 1000000 + 1, 100)) < 0 &&
	    errno != EINTR)
		return -errno;
	return 0;
}

int kmig_tls_read_bounded(struct kmig_tls_conn *c, void *buf, size_t len,
			  const struct kmig_tls_bound *b)
{
	int fl = kmig_tls_nonblock(c->fd, 0, true), ret = 0;
	struct sigpipe_guard g;
	uint8_t *p = buf;

	sigpipe_block(&g);
	while (len && !ret) {
		size_t n = 0;
		int rc, err;

		errno = 0;
		rc = SSL_read_ex(c->ssl, p, len, &n);
		p += n;
		len -= n;
		if (rc > 0)
			continue;
		err = SSL_get_error(c->ssl, rc);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			ERR_clear_error();
			ret = kmig_tls_wait(c, b, err == SSL_ERROR_WANT_WRITE);
		} else {
			ret = io_error(c, rc, errno) ?: -EIO;
		}
	}
	sigpipe_restore(&g);
	kmig_tls_nonblock(c->fd, fl, false);
	return ret;
}

int kmig_tls_read_full(struct kmig_tls_conn *c, int fd, void *buf, size_t len)
{
	struct sigpipe_guard g;
	int ret;

	if (!c || c->ktls_rx)
		return kmig_net_read_full(fd, buf, len);
	sigpipe_block(&g);
	ret = read_full(c, buf, len);
	sigpipe_restore(&g);
	return ret;
}

int kmig_tls_readv_full(struct kmig_tls_conn *c, int fd, struct iovec *iov, int cnt)
{
	struct sigpipe_guard g;
	int ret = 0;

	if (!c || c->ktls_rx)
		return kmig_net_readv_full(fd, iov, cnt);
	sigpipe_block(&g);
	for (int i = 0; i < cnt && !ret; i++)
		ret = read_full(c, iov[i].iov_base, iov[i].iov_len);
	sigpipe_restore(&g);
	return ret;
}

/* @len bytes of @buf into @fd at @off, or into @map once the file refuses. */
static int put_file(int fd, uint64_t off, uint8_t *map, const uint8_t *buf, size_t len,
		    bool *mapped)
{
	while (len && !*mapped) {
		ssize_t n = pwrite(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EINVAL || errno == EOPNOTSUPP || errno == EBADF)) {
			*mapped = true;
			break;
		}
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		map += n;
		off += n;
		len -= n;
	}
	if (len)
		memcpy(map, buf, len);
	return 0;
}

int kmig_tls_read_to_file(struct kmig_tls_conn *c, int fd, uint64_t off, void *map,
			  size_t len, bool *mapped)
{
	struct sigpipe_guard g;
	uint8_t *m = map;
	int ret = 0;

	if (!c->fbuf && !(c->fbuf = malloc(KMIG_TLS_FBUF)))
		return -ENOMEM;
	sigpipe_block(&g);
	while (len && !ret) {
		size_t n = KMIG_MIN(len, (size_t)KMIG_TLS_FBUF);

		ret = read_full(c, c->fbuf, n);
		if (!ret)
			ret = put_file(fd, off, m, c->fbuf, n, mapped);
		off += n;
		m += n;
		len -= n;
	}
	sigpipe_restore(&g);
	return ret;
}

static int write_raw(struct kmig_tls_conn *c, const void *buf, size_t len)
{
	return xfer_full(c, (void *)buf, len, true);
}

static int flush_wbuf(struct kmig_tls_conn *c)
{
	int ret = c->wlen ? write_raw(c, c->wbuf, c->wlen) : 0;

	c->wlen = 0;
	return ret;
}

/* Small pieces gathered into one record, large ones encrypted in place:
 * a packet header does not cost a record of its own. */
static int write_gather(struct kmig_tls_conn *c, struct iovec *iov, int cnt)
{
	int ret = 0;

	if (!c->wbuf && !(c->wbuf = malloc(KMIG_TLS_WBUF)))
		return -ENOMEM;
	for (int i = 0; i < cnt && !ret; i++) {
		const uint8_t *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;

		if (len >= KMIG_TLS_WBUF / 4) {
			ret = flush_wbuf(c);
			if (!ret)
				ret = write_raw(c, p, len);
			continue;
		}
		if (c->wlen + len > KMIG_TLS_WBUF && (ret = flush_wbuf(c)))
			break;
		memcpy(c->wbuf + c->wlen, p, len);
		c->wlen += len;
	}
	if (!ret)
		ret = flush_wbuf(c);
	return ret ?: flush_bio(c);
}

int kmig_tls_writev_full(struct kmig_tls_conn *c, int fd, struct iovec *iov, int cnt)
{
	struct sigpipe_guard g;
	int ret;

	if (!c || c->ktls_tx)
		return kmig_net_writev_full(fd, iov, cnt);
	sigpipe_block(&g);
	ret = write_gather(c, iov, cnt);
	sigpipe_restore(&g);
	return ret;
}

int kmig_tls_write_full(struct kmig_tls_conn *c, int fd, const void *buf, size_t len)
{
	struct iovec iov = { (void *)buf, len };

	return kmig_tls_writev_full(c, fd, &iov, 1);
}
