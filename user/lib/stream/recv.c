// SPDX-License-Identifier: GPL-2.0
/*
 * The receiver stream: accept phase (hellos of one session, replies), one
 * thread per channel running read -> check -> apply, acknowledgements, and
 * the failure path (an ERROR packet to the sender, then every socket shut).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "base/net.h"
#include "stream/recv.h"
#include "stream/chan_tls.h"
#include "stream/rx.h"
#include "tls/tls.h"

struct recv_chan {
	struct kmig_recv *r;
	int fd;
	struct kmig_tls_conn *tls;	/* NULL: plaintext */
	pthread_t thread;
	bool started;
	bool exited;		/* its thread is past its last read (under r->lock) */
	bool err_sent;		/* ERROR written (under wlock) */
	pthread_mutex_t wlock;	/* replies: acks from this thread, ERROR from any */
	uint64_t tx_seq;	/* our replies */
	int pipe[2];		/* splice: socket -> pipe -> block's file */
	size_t pipe_cap;
	struct kmig_rx_io io;	/* this socket under the receiver core */
	struct kmig_rx_chan rx;
};

/*
 * Landing into a file takes its inode lock for the whole write, and a
 * channel that finds it taken spins in the kernel while the holder copies
 * (up to a chunk, ~0.1 ms): with 2 channels on 2 cores that burnt a fifth
 * of the receiver's CPU (perf: rwsem_spin_on_owner) and kept the sender
 * off the core. So the channels take turns here and a waiter sleeps.
 * Keyed by the file descriptor (blocks sharing one memfd share its lock);
 * two files hashed together only take turns too.
 */
#define LAND_LOCKS	16

struct kmig_recv {
	struct kmig_recv_opts o;
	struct kmig_ram *ram;
	int lfd;
	uint16_t port;
	int pending_fds[KMIG_MAX_CHANNELS];	/* kmig_recv_set_fds() */
	unsigned int nr_pending;		/* taken ones are set to -1 */

	struct kmig_rx_session sess;
	bool sess_init;
	uint8_t session[KMIG_SESSION_ID_LEN];
	struct recv_chan chans[KMIG_MAX_CHANNELS];
	unsigned int nr;		/* from the first hello */
	unsigned int arrived;
	uint8_t peer_id[KMIG_TLS_ID_LEN];	/* TLS: channel 0's peer */
	int taking_fd;			/* a connection in its handshake */
	unsigned int refused;		/* connections refused (TLS) */
	unsigned int aborts;		/* the sender's ABORTs taken */
	char refused_why[KMIG_ERR_MAX];	/* the last one: who and why */

	pthread_mutex_t land[LAND_LOCKS];	/* a file's landing, by fd */
	pthread_mutex_t lock;		/* err, failed, fds for cancel */
	int failed;
	struct kmig_err err;
	uint64_t t_start, t_setup, t_end;
};

int kmig_recv_create(struct kmig_recv **out, const struct kmig_recv_opts *o,
		     struct kmig_ram *ram)
{
	struct kmig_recv *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->o = *o;
	if (!r->o.max_channels || r->o.max_channels > KMIG_MAX_CHANNELS)
		r->o.max_channels = KMIG_MAX_CHANNELS;
	if (!r->o.max_ram)
		r->o.max_ram = 64ULL << 30;
	if (!r->o.max_devstate)
		r->o.max_devstate = 64U << 20;
	if (!r->o.accept_timeout_ms)
		r->o.accept_timeout_ms = 30000;
	if (!r->o.idle_timeout_ms)
		r->o.idle_timeout_ms = KMIG_IDLE_TIMEOUT_MS;
	r->ram = ram;
	r->lfd = -1;
	r->taking_fd = -1;
	for (unsigned int i = 0; i < KMIG_MAX_CHANNELS; i++) {
		r->chans[i].fd = -1;
		r->chans[i].pipe[0] = r->chans[i].pipe[1] = -1;
		pthread_mutex_init(&r->chans[i].wlock, NULL);
	}
	for (unsigned int i = 0; i < LAND_LOCKS; i++)
		pthread_mutex_init(&r->land[i], NULL);
	pthread_mutex_init(&r->lock, NULL);
	r->t_start = kmig_now_ns();
	*out = r;
	return 0;
}

int kmig_recv_listen(struct kmig_recv *r, const char *host, const char *port)
{
	return kmig_net_listen(host, port, &r->lfd, &r->port);
}

uint16_t kmig_recv_port(const struct kmig_recv *r)
{
	return r->port;
}

int kmig_recv_set_fds(struct kmig_recv *r, const int *fds, unsigned int nr)
{
	if (!nr || nr > KMIG_MAX_CHANNELS)
		return -EINVAL;
	memcpy(r->pending_fds, fds, nr * sizeof(int));
	r->nr_pending = nr;
	return 0;
}

/* A TLS connection that only its running thread may write: woken by the
 * end of its reads, it writes ERROR itself and shuts the rest (chan_main()). */
static bool tls_owned(const struct recv_chan *c)
{
	return c->tls && c->started && !c->exited && !pthread_equal(pthread_self(), c->thread);
}

static void shut_all(struct kmig_recv *r)
{
	if (r->lfd >= 0)
		shutdown(r->lfd, SHUT_RDWR);	/* wakes a pending poll/accept */
	if (r->taking_fd >= 0)
		shutdown(r->taking_fd, SHUT_RDWR);	/* and a stalled handshake */
	for (unsigned int i = 0; i < KMIG_MAX_CHANNELS; i++)
		if (r->chans[i].fd >= 0)
			shutdown(r->chans[i].fd, tls_owned(&r->chans[i]) ? SHUT_RD : SHUT_RDWR);
}

static int recv_fail(struct kmig_recv *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void send_error(struct recv_chan *c, const char *msg);

/* Record the first failure, tell the sender why on every channel (best
 * effort, bounded by a send timeout), then shut every socket down. */
static int recv_fail(struct kmig_recv *r, int code, const char *fmt, ...)
{
	bool first = false;
	va_list ap;

	pthread_mutex_lock(&r->lock);
	if (!r->failed) {
		r->err.code = code;
		va_start(ap, fmt);
		vsnprintf(r->err.msg, sizeof(r->err.msg), fmt, ap);
		va_end(ap);
		r->failed = 1;
		first = true;
	}
	code = r->err.code;
	pthread_mutex_unlock(&r->lock);
	if (!first)
		return code;
	for (unsigned int i = 0; i < r->nr; i++)
		if (r->chans[i].fd >= 0)
			send_error(&r->chans[i], r->err.msg);
	pthread_mutex_lock(&r->lock);
	shut_all(r);
	pthread_mutex_unlock(&r->lock);
	if (r->sess_init) {
		pthread_mutex_lock(&r->sess.lock);
		r->sess.failed = true;
		pthread_cond_broadcast(&r->sess.cond);
		pthread_mutex_unlock(&r->sess.lock);
	}
	return code;
}

void kmig_recv_cancel(struct kmig_recv *r, int err)
{
	recv_fail(r, err, "%s", err == -ECANCELED ? "cancelled" : strerror(-err));
}

static int send_reply(struct kmig_tls_conn *t, int fd, unsigned int channel, int status,
		      const char *msg)
{
	struct kmig_hello_reply rep = { .status = -status, .channel = channel };
	uint8_t buf[KMIG_REPLY_SIZE];

	if (snprintf(rep.msg, sizeof(rep.msg), "%s", msg) >= (int)sizeof(rep.msg))
		rep.msg[sizeof(rep.msg) - 1] = '\0';	/* the reply holds 64 bytes */
	kmig_reply_encode(buf, &rep);
	return kmig_tls_write_full(t, fd, buf, sizeof(buf));
}

/* The first hello defines the session; the others must agree with it. */
/* Under TLS: the hello must come from channel 0's peer (the same
 * certificate) with channel 0's session id, which only ever travels inside
 * TLS; and channel 0 comes first (the sender opens them in order). A
 * connection that fails this is not of the session: -EACCES (refused). */
static int hello_peer_check(struct kmig_recv *r, const struct kmig_tls_conn *t,
			    const struct kmig_hello *h, struct kmig_err *e)
{
	uint8_t id[KMIG_TLS_ID_LEN];

	if (!t)
		return 0;
	kmig_tls_peer_id(t, id);
	if (!r->nr)
		return h->channel ? kmig_err_set(e, -EACCES, "channel %u before channel 0",
						 h->channel) : 0;
	if (memcmp(id, r->peer_id, sizeof(id)))
		return kmig_err_set(e, -EACCES, "channel %u: another certificate than "
				    "channel 0's", h->channel);
	if (memcmp(h->session, r->session, KMIG_SESSION_ID_LEN))
		return kmig_err_set(e, -EACCES, "channel %u: not this session's id",
				    h->channel);
	return 0;
}

static int hello_session_check(struct kmig_recv *r, const struct kmig_tls_conn *t,
			       const struct kmig_hello *h, struct kmig_err *e)
{
	bool sw = h->features & KMIG_FEAT_SWITCHOVER;
	bool no_psum = h->features & KMIG_FEAT_NO_PSUM;
	int ret = hello_peer_check(r, t, h, e);

	if (ret)
		return ret;
	/* The reply carries 64 bytes of the message: short. */
	if (no_psum && !t && !r->o.no_page_sums)
		return kmig_err_set(e, -EPROTO, "no page sums: not allowed here (--no-page-sums)");
	if (sw != !!r->o.switchover)
		return kmig_err_set(e, -EPROTO, sw ? "a live migration: use kmig incoming" :
				    "not a live migration (kmig migrate)");
	if (!r->nr) {
		if (h->nr_channels > r->o.max_channels)
			return kmig_err_set(e, -EINVAL, "%u channels, accepting at most %u",
					    h->nr_channels, r->o.max_channels);
		return 0;
	}
	if (memcmp(h->session, r->session, KMIG_SESSION_ID_LEN))
		return kmig_err_set(e, -EACCES, "hello of another session (channel %u)",
				    h->channel);
	if (h->nr_channels != r->nr || h->codec != r->sess.codec)
		return kmig_err_set(e, -EPROTO, "channel %u: %u channels codec %u, expected "
				    "%u channels codec %u", h->channel, h->nr_channels, h->codec,
				    r->nr, r->sess.codec);
	if (no_psum != r->sess.no_psum)
		return kmig_err_set(e, -EPROTO, "channel %u: page sums %s, channel 0's %s",
				    h->channel, no_psum ? "off" : "on",
				    r->sess.no_psum ? "off" : "on");
	if (r->chans[h->channel].fd >= 0)
		return kmig_err_set(e, -EACCES, "channel %u twice", h->channel);
	return 0;
}

static int session_start(struct kmig_recv *r, const struct kmig_tls_conn *t,
			 const struct kmig_hello *h)
{
	if (t)
		kmig_tls_peer_id(t, r->peer_id);
	memcpy(r->session, h->session, KMIG_SESSION_ID_LEN);
	r->nr = h->nr_channels;
	kmig_rx_session_init(&r->sess, r->ram, h->nr_channels, h->codec);
	r->sess.switchover = h->features & KMIG_FEAT_SWITCHOVER;
	r->sess.no_psum = h->features & KMIG_FEAT_NO_PSUM;
	r->sess.max_ram = r->o.max_ram;
	r->sess.create = r->o.create_block;
	r->sess.create_arg = r->o.create_arg;
	r->sess.max_devstate = r->o.max_devstate;
	r->sess.landing = r->o.landing;
	pthread_mutex_lock(&r->lock);
	r->sess_init = true;
	pthread_mutex_unlock(&r->lock);
	return 0;
}

/*
 * A plaintext hello, whole, by @deadline: a peer that sends it a byte at
 * a time must not stretch the accept deadline (a socket timeout restarts
 * with every byte), and a cancel (a signal) ends the wait within 100 ms.
 */
static int read_hello_plain(struct kmig_recv *r, int fd, uint8_t *buf, uint64_t deadline)
{
	size_t got = 0;

	while (got < KMIG_HELLO_SIZE) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = kmig_now_ns();
		ssize_t n;

		if (r->failed)
			return r->err.code ?: -ECANCELED;
		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, KMIG_MIN((deadline - now) / 1000000 + 1, 100)) < 0 &&
		    errno != EINTR)
			return -errno;
		n = recv(fd, buf + got, KMIG_HELLO_SIZE - got, MSG_DONTWAIT);
		if (!n)
			return -ECONNRESET;
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		got += n > 0 ? n : 0;
	}
	return 0;
}

/* The connection in its handshake: a cancel shuts it down (shut_all()). */
static void set_taking(struct kmig_recv *r, int fd)
{
	pthread_mutex_lock(&r->lock);
	r->taking_fd = fd;
	pthread_mutex_unlock(&r->lock);
}

/* A connection that is not of the session (under TLS: anything that fails
 * the handshake or the binding; in plaintext: one that sends no kmig
 * hello, or one of another session): reported, closed, and the receiver
 * goes on waiting for its channels (recv.h). A port scan or a stray
 * client must not end a migration. */
static int refuse(struct kmig_recv *r, int fd, struct kmig_tls_conn *t, const char *peer,
		  const char *why)
{
	set_taking(r, -1);
	r->refused++;
	snprintf(r->refused_why, sizeof(r->refused_why), "the last from %s: %s", peer, why);
	if (r->o.refused)
		r->o.refused(r->o.refused_arg, peer, why);
	kmig_tls_conn_free(t);
	close(fd);
	return 0;
}

/* The TLS handshake if on, then the hello (inside TLS), all by @deadline
 * whatever the peer trickles, and ended by a cancel within 100 ms. */
static int read_hello(struct kmig_recv *r, int fd, uint64_t deadline, struct kmig_tls_conn **t,
		      uint8_t buf[KMIG_HELLO_SIZE], struct kmig_err *e)
{
	const struct kmig_tls_bound b = { .deadline_ns = deadline, .cancel = &r->failed };
	int ret;

	kmig_net_tune(fd);
	/* The reply's write is bounded too (a peer that reads nothing). */
	ret = kmig_net_set_timeout(fd, 10000);
	if (ret)
		return kmig_err_set(e, ret, "socket timeout: %s", strerror(-ret));
	if (!r->o.tls) {
		ret = read_hello_plain(r, fd, buf, deadline);
		return ret ? kmig_err_set(e, ret, "reading a hello: %s", strerror(-ret)) : 0;
	}
	ret = kmig_tls_handshake(r->o.tls, fd, NULL, &b, t, e);
	if (!ret && (ret = kmig_tls_read_bounded(*t, buf, KMIG_HELLO_SIZE, &b)))
		kmig_err_set(e, ret, "reading its hello: %s", kmig_tls_error(*t));
	return ret;
}

/* Read (by @deadline), check and answer one hello on a new connection. */
static int take_channel(struct kmig_recv *r, int fd, uint64_t deadline)
{
	char peer[KMIG_ADDR_MAX + 16];
	struct kmig_tls_conn *t = NULL;
	struct kmig_err e = { 0 };
	struct kmig_hello h;
	uint8_t buf[KMIG_HELLO_SIZE];
	int ret;

	kmig_net_peer_name(fd, peer, sizeof(peer));
	set_taking(r, fd);
	ret = read_hello(r, fd, KMIG_MIN(deadline, kmig_now_ns() + 10000000000ULL), &t, buf, &e);
	if (ret && !r->failed)
		return refuse(r, fd, t, peer, e.msg);
	if (!ret && kmig_get_le32(buf) != KMIG_HELLO_MAGIC) {
		/* Not kmig at all: say nothing to it. */
		kmig_err_set(&e, -EACCES, "not a kmig hello (magic %#010x)", kmig_get_le32(buf));
		return refuse(r, fd, t, peer, e.msg);
	}
	if (!ret)
		ret = kmig_hello_decode(buf, &h, &e);
	if (!ret)
		ret = hello_session_check(r, t, &h, &e);
	if (ret == -EACCES && !r->failed) {
		send_reply(t, fd, 0, ret, "refused");
		return refuse(r, fd, t, peer, e.msg);
	}
	if (ret) {
		if (e.code != -ETIMEDOUT && e.code != -ECONNRESET && !r->failed)
			send_reply(t, fd, 0, ret, e.msg);
		set_taking(r, -1);
		kmig_tls_conn_free(t);
		close(fd);
		return recv_fail(r, ret, "%s (from %s)", e.code ? e.msg : strerror(-ret), peer);
	}
	if (!r->nr)
		session_start(r, t, &h);
	ret = send_reply(t, fd, h.channel, 0, "");
	if (!ret)
		ret = kmig_net_set_timeout(fd, r->o.idle_timeout_ms);
	pthread_mutex_lock(&r->lock);
	r->taking_fd = -1;
	r->chans[h.channel].fd = fd;
	r->chans[h.channel].tls = t;
	r->arrived++;
	pthread_mutex_unlock(&r->lock);
	if (ret)
		return recv_fail(r, ret, "channel %u: hello reply: %s", h.channel, strerror(-ret));
	return 0;
}

/* The next given socket with a hello to read (any order: a sender writes
 * every channel's hello before it reads a reply). */
static int take_pending(struct kmig_recv *r, int timeout_ms, int *fd)
{
	struct pollfd p[KMIG_MAX_CHANNELS];
	unsigned int n = 0;
	int ret;

	for (unsigned int i = 0; i < r->nr_pending; i++)
		if (r->pending_fds[i] >= 0)
			p[n++] = (struct pollfd){ .fd = r->pending_fds[i], .events = POLLIN };
	if (!n)
		return -ENOTCONN;
	do {
		ret = poll(p, n, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret <= 0)
		return ret ? -errno : -ETIMEDOUT;
	for (unsigned int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		for (unsigned int j = 0; j < r->nr_pending; j++)
			if (r->pending_fds[j] == p[i].fd)
				r->pending_fds[j] = -1;
		*fd = p[i].fd;
		return 0;
	}
	return -EIO;
}

static int accept_all(struct kmig_recv *r)
{
	uint64_t deadline = kmig_now_ns() + r->o.accept_timeout_ms * 1000000ULL;
	int ret = 0;

	while (!ret && (!r->nr || r->arrived < r->nr)) {
		uint64_t now = kmig_now_ns();
		int left = now >= deadline ? 0 : (deadline - now) / 1000000, fd = -1;

		if (r->nr_pending)
			ret = take_pending(r, left, &fd);
		else if (r->lfd < 0)
			ret = -ENOTCONN;
		else
			ret = left ? kmig_net_accept(r->lfd, left, &fd) : -ETIMEDOUT;
		if (ret && !r->nr)
			return recv_fail(r, ret, "no sender connected within %d ms%s%s",
					 r->o.accept_timeout_ms, r->refused ? "; refused " : "",
					 r->refused_why);
		if (ret)
			return recv_fail(r, ret, "waiting for channels (%u of %u arrived): %s",
					 r->arrived, r->nr, strerror(-ret));
		ret = r->failed ? r->err.code : take_channel(r, fd, deadline);
	}
	return ret;
}

/* Receiver -> sender packet (acks, PREPARED, RESUMED). */
static int send_ctl(struct recv_chan *c, uint8_t type, uint64_t arg, const void *body,
		    uint32_t len)
{
	struct kmig_pkt_hdr h = { .type = type, .arg = arg, .payload_len = len };
	uint8_t buf[KMIG_HDR_SIZE];
	int ret;

	pthread_mutex_lock(&c->wlock);
	h.seq = c->tx_seq++;
	h.body_crc = kmig_crc32c_buf(body, len);
	kmig_hdr_encode(buf, &h);
	ret = kmig_tls_write_full(c->tls, c->fd, buf, sizeof(buf));
	if (!ret && len)
		ret = kmig_tls_write_full(c->tls, c->fd, body, len);
	pthread_mutex_unlock(&c->wlock);
	return ret;
}

static int send_ack(struct recv_chan *c, uint8_t type, uint64_t arg)
{
	return send_ctl(c, type, arg, NULL, 0);
}

/* Best effort: tell the sender why, before the sockets go down. */
static void send_error(struct recv_chan *c, const char *msg)
{
	size_t len = KMIG_MIN(strlen(msg), (size_t)KMIG_ERROR_TEXT_MAX);
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_ERROR, .payload_len = len };
	uint8_t buf[KMIG_HDR_SIZE];

	if (!len)
		return;
	/* A TLS connection is one thread's at a time: another channel's
	 * thread may be inside its read. That one tells the sender itself,
	 * once shut_all() ended its reads (chan_main()). */
	if (c->tls && c->started && !pthread_equal(pthread_self(), c->thread))
		return;
	pthread_mutex_lock(&c->wlock);
	if (c->err_sent) {
		pthread_mutex_unlock(&c->wlock);
		return;
	}
	c->err_sent = true;
	h.seq = c->tx_seq++;
	h.body_crc = kmig_crc32c_buf(msg, len);
	kmig_hdr_encode(buf, &h);
	kmig_net_set_timeout(c->fd, 200);
	if (!kmig_tls_write_full(c->tls, c->fd, buf, sizeof(buf)))
		kmig_tls_write_full(c->tls, c->fd, msg, len);
	pthread_mutex_unlock(&c->wlock);
}

static int wait_table(struct recv_chan *c)
{
	struct kmig_rx_session *s = &c->r->sess;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	while (!s->table_ready && !s->failed)
		pthread_cond_wait(&s->cond, &s->lock);
	if (!s->table_ready)
		ret = -ECANCELED;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sock_read(void *ctx, void *buf, size_t len)
{
	struct recv_chan *c = ctx;
	uint64_t t0 = kmig_now_ns();
	int ret = kmig_tls_read_full(c->tls, c->fd, buf, len);

	KMIG_STAT_ADD(c->rx.stats.ns_io, kmig_now_ns() - t0);
	return ret;
}

/* Page bytes straight into their places in the destination's mapping. */
static int sock_readv(void *ctx, struct iovec *iov, int cnt)
{
	struct recv_chan *c = ctx;
	uint64_t t0 = kmig_now_ns(), len = 0;
	int ret;

	for (int i = 0; i < cnt; i++)
		len += iov[i].iov_len;
	ret = kmig_tls_readv_full(c->tls, c->fd, iov, cnt);
	KMIG_STAT_ADD(c->rx.stats.ns_io, kmig_now_ns() - t0);
	if (!ret)
		kmig_chan_tls_rx_pages(&c->rx.stats, c->tls, len, false);
	return ret;
}

static int pipe_open(struct recv_chan *c)
{
	int sz;

	if (c->pipe[0] >= 0)
		return 0;
	if (pipe2(c->pipe, O_CLOEXEC))
		return -errno;
	/* Room for a whole chunk, if the system allows; else what it gives. */
	sz = fcntl(c->pipe[1], F_SETPIPE_SZ, KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE);
	if (sz < 0)
		sz = fcntl(c->pipe[1], F_GETPIPE_SZ);
	c->pipe_cap = sz > 0 ? (size_t)sz : KMIG_PAGE_SIZE;
	return 0;
}

/* The pipe's @n bytes into the file at *@off; if the file refuses
 * splice(), into the mapping at @map instead (*@mapped). */
static int pipe_out(struct recv_chan *c, int fd, loff_t *off, uint8_t **map, size_t n,
		    bool *mapped)
{
	while (n) {
		ssize_t m = *mapped ? read(c->pipe[0], *map, n) :
			    splice(c->pipe[0], NULL, fd, off, n, SPLICE_F_MOVE);

		if (m < 0 && errno == EINTR)
			continue;
		if (m < 0 && !*mapped && (errno == EINVAL || errno == EOPNOTSUPP)) {
			*mapped = true;
			continue;
		}
		if (m <= 0)
			return m < 0 ? -errno : -EIO;
		n -= m;
		*map += m;
		if (*mapped)	/* splice() advanced it itself */
			*off += m;
	}
	return 0;
}

/* Socket to pipe moves page references; pipe to file is the one copy. */
static int sock_splice(void *ctx, int fd, uint64_t off, void *map, size_t len, bool *mapped)
{
	struct recv_chan *c = ctx;
	uint64_t t0 = kmig_now_ns();
	loff_t o = off;
	uint8_t *m = map;
	int ret = pipe_open(c);

	while (!ret && len) {
		ssize_t n = splice(c->fd, NULL, c->pipe[1], NULL, KMIG_MIN(len, c->pipe_cap),
				   SPLICE_F_MOVE);

		if (n <= 0) {
			ret = !n ? -ECONNRESET : errno == EINTR ? 0 :
			      errno == EAGAIN ? -ETIMEDOUT : -errno;
			continue;
		}
		pthread_mutex_lock(&c->r->land[fd % LAND_LOCKS]);
		ret = pipe_out(c, fd, &o, &m, n, mapped);
		pthread_mutex_unlock(&c->r->land[fd % LAND_LOCKS]);
		len -= n;
	}
	KMIG_STAT_ADD(c->rx.stats.ns_io, kmig_now_ns() - t0);
	return ret;
}

/* Userspace TLS: the decrypted bytes into the file with pwrite() (tls.h),
 * splice()'s one copy and no page fault, since splice() would take the
 * records' bytes off the socket. */
static int tls_to_file(void *ctx, int fd, uint64_t off, void *map, size_t len, bool *mapped)
{
	struct recv_chan *c = ctx;
	uint64_t t0 = kmig_now_ns();
	int ret = kmig_tls_read_to_file(c->tls, fd, off, map, len, mapped);

	KMIG_STAT_ADD(c->rx.stats.ns_io, kmig_now_ns() - t0);
	if (!ret)
		kmig_chan_tls_rx_pages(&c->rx.stats, c->tls, len, true);
	return ret;
}

/* One packet through the receiver core, then its acknowledgement. */
static int recv_one(struct recv_chan *c, bool *end)
{
	struct kmig_rx_chan *rx = &c->rx;
	enum kmig_rx_action act;
	struct kmig_pkt_hdr h;
	int ret = kmig_rx_packet(rx, &c->io, &h, &act);

	if (ret == -ECONNRESET && !rx->err.code)
		return kmig_err_set(&rx->err, ret, "connection closed by the sender");
	if (ret == -ETIMEDOUT && !rx->err.code)
		return kmig_err_set(&rx->err, ret, "the sender sent nothing for %d s "
				    "(--idle-timeout)", c->r->o.idle_timeout_ms / 1000);
	/* A record that failed its check: the library's reason. */
	if (ret && !rx->err.code && c->tls && *kmig_tls_error(c->tls))
		return kmig_err_set(&rx->err, ret, "TLS: %s", kmig_tls_error(c->tls));
	if (!ret && act == KMIG_RX_SYNC_ACK)
		ret = send_ack(c, KMIG_PKT_SYNC_ACK, h.arg);
	if (!ret && act == KMIG_RX_END_ACK) {
		ret = send_ack(c, KMIG_PKT_END_ACK, h.arg);
		*end = true;
	}
	return ret;
}

static void *chan_main(void *arg)
{
	struct recv_chan *c = arg;
	bool end = false;
	int ret = 0;

	/* Channels other than 0 can't check a PAGES packet without the table. */
	if (c->rx.id)
		ret = wait_table(c);
	while (!ret && !end)
		ret = recv_one(c, &end);
	if (ret && !c->r->failed) {
		char msg[KMIG_ERR_MAX + 32];

		snprintf(msg, sizeof(msg), "channel %u packet %llu: %s", c->rx.id,
			 (unsigned long long)c->rx.seq - (c->rx.seq ? 1 : 0),
			 c->rx.err.code ? c->rx.err.msg : strerror(-ret));
		recv_fail(c->r, ret, "%s", msg);
	}
	pthread_mutex_lock(&c->r->lock);
	c->exited = true;
	pthread_mutex_unlock(&c->r->lock);
	/* TLS: the session's reason on this connection too (recv_fail() could
	 * not write it while this thread read), then the socket down. */
	if (c->tls && c->r->failed) {
		send_error(c, c->r->err.msg);
		shutdown(c->fd, SHUT_RDWR);
	}
	return NULL;
}

/* The channel threads; after an ABORT again, their channels as they were. */
static int start_threads(struct kmig_recv *r)
{
	for (unsigned int i = 0; i < r->nr; i++) {
		struct recv_chan *c = &r->chans[i];
		int ret = c->rx.s ? 0 : kmig_rx_chan_init(&c->rx, &r->sess, i);

		c->r = r;
		/* splice() takes bytes off the socket: only when the kernel
		 * decrypts them. */
		c->io = (struct kmig_rx_io){ sock_read, sock_readv,
					     !c->tls || kmig_tls_ktls_rx(c->tls) ?
					     sock_splice : tls_to_file, c, c->tls };
		if (!ret)
			ret = -pthread_create(&c->thread, NULL, chan_main, c);
		if (ret)
			return recv_fail(r, ret, "starting channel %u: %s", i, strerror(-ret));
		c->started = true;
	}
	return 0;
}

int kmig_recv_run(struct kmig_recv *r)
{
	int ret = accept_all(r);	/* after an ABORT: all there already */

	if (!r->t_setup)
		r->t_setup = kmig_now_ns();
	if (!ret)
		ret = start_threads(r);
	for (unsigned int i = 0; i < r->nr; i++) {
		if (r->chans[i].started)
			pthread_join(r->chans[i].thread, NULL);
		r->chans[i].started = false;
	}
	r->t_end = kmig_now_ns();
	if (ret || r->failed)
		return r->err.code ?: ret;
	for (unsigned int i = 0; i < r->nr; i++)
		if (!r->chans[i].rx.ended)
			return recv_fail(r, -EPROTO, "channel %u ended without END", i);
	return 0;
}

/* Channel 0's COMMIT or ABORT, through the same checks as every packet. */
static int read_commit(struct recv_chan *c, enum kmig_rx_action *act)
{
	struct kmig_pkt_hdr h;
	int ret = kmig_rx_packet(&c->rx, &c->io, &h, act);

	if (ret == -ECONNRESET)
		return kmig_err_set(&c->rx.err, ret, "the sender closed the connection "
				    "(it cancelled or failed)");
	if (ret == -ETIMEDOUT)
		return kmig_err_set(&c->rx.err, ret, "no COMMIT from the sender in time");
	if (!ret && *act != KMIG_RX_COMMIT && *act != KMIG_RX_ABORT)
		ret = kmig_err_set(&c->rx.err, -EPROTO, "%s, expected COMMIT or ABORT",
				   kmig_pkt_type_name(h.type));
	return ret;
}

/* The sender's ABORT: back to receiving pages (kmig_recv_run() again). */
static int reopen(struct kmig_recv *r)
{
	int ret = 0;

	kmig_rx_session_reopen(&r->sess);
	for (unsigned int i = 0; i < r->nr; i++) {
		kmig_rx_chan_reopen(&r->chans[i].rx);
		ret = ret ?: kmig_net_set_timeout(r->chans[i].fd, r->o.idle_timeout_ms);
	}
	r->aborts++;
	return ret ? recv_fail(r, ret, "after ABORT: %s", strerror(-ret)) : -EAGAIN;
}

int kmig_recv_await_commit(struct kmig_recv *r, int timeout_ms)
{
	struct recv_chan *c = &r->chans[0];
	enum kmig_rx_action act = KMIG_RX_NONE;
	int ret;

	if (!r->sess_init || !r->sess.switchover || !c->rx.ended || timeout_ms <= 0)
		return -EINVAL;
	if (r->failed)
		return r->err.code;
	ret = send_ack(c, KMIG_PKT_PREPARED, 0);
	if (!ret)
		ret = kmig_net_set_timeout(c->fd, timeout_ms);
	if (!ret)
		ret = read_commit(c, &act);
	if (ret)
		return recv_fail(r, ret, "waiting for COMMIT: %s",
				 c->rx.err.code ? c->rx.err.msg : strerror(-ret));
	return act == KMIG_RX_ABORT ? reopen(r) : 0;
}

int kmig_recv_resumed(struct kmig_recv *r, const struct kmig_resumed *rep)
{
	uint8_t body[KMIG_RESUMED_SIZE];
	int ret;

	if (!r->sess_init || !r->chans[0].rx.committed)
		return -EINVAL;
	kmig_resumed_encode(body, rep);
	ret = send_ctl(&r->chans[0], KMIG_PKT_RESUMED, 0, body, sizeof(body));
	if (ret)
		return recv_fail(r, ret, "sending RESUMED: %s", strerror(-ret));
	return 0;
}

int kmig_recv_abort(struct kmig_recv *r, int err, const char *msg)
{
	return recv_fail(r, err, "%s", msg);
}

const char *kmig_recv_error(const struct kmig_recv *r)
{
	return r->err.msg;
}

const void *kmig_recv_devstate(struct kmig_recv *r, size_t *len)
{
	if (!r->sess_init || !r->sess.have_devstate) {
		*len = 0;
		return NULL;
	}
	*len = r->sess.devstate_len;
	return r->sess.devstate;
}

unsigned int kmig_recv_channels(const struct kmig_recv *r)
{
	return r->nr;
}

unsigned int kmig_recv_aborts(const struct kmig_recv *r)
{
	return r->aborts;
}

unsigned int kmig_recv_refused(const struct kmig_recv *r)
{
	return r->refused;
}

void kmig_recv_stats(struct kmig_recv *r, struct kmig_stats *st)
{
	uint64_t now = kmig_now_ns(), setup = r->t_setup ?: now, end = r->t_end ?: now;

	memset(st, 0, sizeof(*st));
	st->role = "receive";
	st->codec = r->sess_init ? kmig_codec_name(r->sess.codec) : "?";
	st->no_page_sums = r->sess_init && r->sess.no_psum && !r->o.tls;
	st->nr_channels = r->nr;
	st->ram_bytes = kmig_ram_total(r->ram);
	st->devstate_bytes = r->sess_init ? r->sess.devstate_len : 0;
	st->ns_phase[KMIG_PHASE_SETUP] = setup - r->t_start;
	st->ns_phase[KMIG_PHASE_PAGES] = end - setup;
	st->ns_total = end - r->t_start;
	for (unsigned int i = 0; i < r->nr; i++)
		kmig_chan_stats_load(&st->chan[i], &r->chans[i].rx.stats);
	/* The channels' TLS connections are final once all arrived. */
	for (unsigned int i = 0; r->t_setup && i < r->nr; i++)
		kmig_chan_tls_stats(&st->tls, r->chans[i].tls, !i);
	kmig_stats_sum(st);
}

void kmig_recv_destroy(struct kmig_recv *r)
{
	if (!r)
		return;
	for (unsigned int i = 0; i < KMIG_MAX_CHANNELS; i++) {
		struct recv_chan *c = &r->chans[i];

		if (c->started)
			pthread_join(c->thread, NULL);
		kmig_tls_conn_free(c->tls);
		if (c->fd >= 0)
			close(c->fd);
		kmig_rx_chan_fini(&c->rx);
		if (c->pipe[0] >= 0) {
			close(c->pipe[0]);
			close(c->pipe[1]);
		}
		pthread_mutex_destroy(&c->wlock);
	}
	for (unsigned int i = 0; i < r->nr_pending; i++)
		if (r->pending_fds[i] >= 0)
			close(r->pending_fds[i]);	/* never taken */
	if (r->lfd >= 0)
		close(r->lfd);
	if (r->sess_init)
		kmig_rx_session_fini(&r->sess);
	for (unsigned int i = 0; i < LAND_LOCKS; i++)
		pthread_mutex_destroy(&r->land[i]);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
