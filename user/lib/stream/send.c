// SPDX-License-Identifier: GPL-2.0
/*
 * The sender stream: channel setup (hello, block table), the producer API
 * (queue, flush, finish), failure and cancellation.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bits.h"
#include "pages/chunk.h"
#include "base/net.h"
#include "stream/chan_tls.h"
#include "stream/send_int.h"

void kmig_send_opts_init(struct kmig_send_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->nr_channels = 2;
	o->codec = KMIG_CODEC_NONE;
}

static void opts_defaults(struct kmig_send_opts *o)
{
	if (!o->nr_channels)
		o->nr_channels = 2;
	if (!o->queue_depth)
		o->queue_depth = 256;
	if (!o->handshake_timeout_ms)
		o->handshake_timeout_ms = 10000;
	if (!o->idle_timeout_ms)
		o->idle_timeout_ms = KMIG_IDLE_TIMEOUT_MS;
}

/* The pool failed: wake channel threads blocked in their sockets. */
static void pool_failed(void *arg)
{
	struct kmig_send *s = arg;

	for (unsigned int i = 0; i < s->nr_init; i++)
		if (s->chans[i].fd >= 0)
			shutdown(s->chans[i].fd, SHUT_RDWR);
}

static int pool_work(void *arg, unsigned int id, const struct kmig_work *w)
{
	struct kmig_send *s = arg;

	return kmig_send_chan_work(&s->chans[id], w);
}

static const struct kmig_pool_ops pool_ops = { .work = pool_work, .failed = pool_failed };

int kmig_send_create(struct kmig_send **out, const struct kmig_send_opts *o,
		     const struct kmig_ram *ram)
{
	struct kmig_send *s;
	int ret;

	if (!ram->nr || (o->nr_channels > KMIG_MAX_CHANNELS) ||
	    !kmig_codec_ops(o->codec) || (o->auto_compress && o->codec == KMIG_CODEC_NONE))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	opts_defaults(&s->o);
	s->ram = ram;
	s->nr = s->o.nr_channels;
	s->psum = !s->o.tls && !s->o.no_page_sums;
	s->t_start = kmig_now_ns();
	kmig_ratelimit_init(&s->rl, s->o.max_bandwidth);
	ret = kmig_pool_init(&s->pool, s->nr, s->o.queue_depth, ram, &pool_ops, s);
	if (ret)
		goto fail;
	if (getrandom(s->session, sizeof(s->session), 0) != sizeof(s->session)) {
		ret = -EIO;
		goto fail;
	}
	s->chans = calloc(s->nr, sizeof(*s->chans));
	if (!s->chans) {
		ret = -ENOMEM;
		goto fail;
	}
	for (unsigned int i = 0; i < s->nr; i++) {
		s->nr_init = i + 1;
		ret = kmig_send_chan_init(&s->chans[i], s, i);
		if (ret)
			goto fail;
	}
	*out = s;
	return 0;
fail:
	kmig_send_destroy(s);
	return ret;
}

int kmig_send_fail(struct kmig_send *s, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	code = kmig_pool_vfail(&s->pool, code, fmt, ap);
	va_end(ap);
	return code;
}

void kmig_send_cancel(struct kmig_send *s, int err)
{
	kmig_send_fail(s, err, "%s", err == -ECANCELED ? "cancelled" : strerror(-err));
}

/* The hello of one channel (inside TLS when on), written with the
 * handshake's time limit. */
static int send_hello(const struct kmig_send *s, const struct kmig_send_chan *ch)
{
	struct kmig_hello h = {
		.version = KMIG_WIRE_VERSION,
		.features = KMIG_FEAT_SYNC | KMIG_FEAT_DEVSTATE |
			    (s->o.switchover ? KMIG_FEAT_SWITCHOVER : 0) |
			    (!s->o.tls && !s->psum ? KMIG_FEAT_NO_PSUM : 0),
		.channel = ch->id, .nr_channels = s->nr, .codec = s->o.codec,
		.page_shift = KMIG_PAGE_SHIFT, .chunk_pages = KMIG_CHUNK_PAGES,
	};
	uint8_t buf[KMIG_HELLO_SIZE];

	memcpy(h.session, s->session, sizeof(h.session));
	kmig_hello_encode(buf, &h);
	return kmig_tls_write_full(ch->tls, ch->fd, buf, KMIG_HELLO_SIZE);
}

/* The receiver's verdict on one channel's hello. */
static int read_reply(struct kmig_send *s, struct kmig_send_chan *ch)
{
	uint8_t buf[KMIG_REPLY_SIZE];
	struct kmig_hello_reply r;
	int ret = kmig_tls_read_full(ch->tls, ch->fd, buf, KMIG_REPLY_SIZE);

	if (ret)
		return kmig_send_fail(s, ret, "channel %u: hello reply: %s%s", ch->id,
				      ch->tls ? kmig_tls_error(ch->tls) : strerror(-ret),
				      ch->tls || ret != -ECONNRESET ? "" :
				      " (does the receiver want TLS? --tls-psk, --tls-creds)");
	ret = kmig_reply_decode(buf, &r, &ch->err);
	if (ret)
		return kmig_send_fail(s, ret, "channel %u: %s", ch->id, ch->err.msg);
	if (r.status || r.channel != ch->id)
		return kmig_send_fail(s, r.status ? -(int)r.status : -EPROTO,
				      "channel %u: receiver refused the hello: %s (%s)", ch->id,
				      r.msg, r.status ? strerror(r.status) : "wrong channel");
	return kmig_net_set_timeout(ch->fd, s->o.idle_timeout_ms);
}

static int send_table(struct kmig_send *s)
{
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_BLOCK_TABLE };
	uint8_t *buf = malloc(KMIG_TABLE_BODY_MAX);
	int ret;

	if (!buf)
		return -ENOMEM;
	size_t len = kmig_table_encode(buf, s->ram);

	ret = kmig_send_chan_write(&s->chans[0], &h, buf, len);
	free(buf);
	if (ret)
		return kmig_send_fail(s, ret, "channel 0: block table: %s", strerror(-ret));
	return 0;
}

/*
 * Channel @i on connected socket @fd (owned from now on): the TLS
 * handshake if on, then the hello. Under TLS this runs one channel after
 * the other, each hello right after its handshake: the receiver takes
 * connections in the order they arrive and holds each until its hello, so
 * a second handshake begun first would wait on it.
 */
static int open_chan(struct kmig_send *s, unsigned int i, int fd, const char *host)
{
	struct kmig_send_chan *ch = &s->chans[i];
	struct kmig_err e = { 0 };
	int ret;

	ch->fd = fd;
	kmig_net_tune(fd);
	ret = kmig_net_set_timeout(fd, s->o.handshake_timeout_ms);
	if (!ret && s->o.tls) {
		const struct kmig_tls_bound b = {
			.deadline_ns = kmig_now_ns() + s->o.handshake_timeout_ms * 1000000ULL,
			.cancel = &s->pool.failed,
		};

		ret = kmig_tls_handshake(s->o.tls, fd, host, &b, &ch->tls, &e);
		if (ret)
			return kmig_send_fail(s, ret, "channel %u: %s", i, e.msg);
	}
	if (!ret)
		ret = send_hello(s, ch);
	if (ret)
		return kmig_send_fail(s, ret, "channel %u: hello: %s", i,
				      ch->tls ? kmig_tls_error(ch->tls) : strerror(-ret));
	return 0;
}

/* Replies, the block table, the channel threads. */
static int start_stream(struct kmig_send *s)
{
	int ret = 0;

	for (unsigned int i = 0; i < s->nr && !ret; i++)
		ret = read_reply(s, &s->chans[i]);
	if (!ret)
		ret = send_table(s);
	if (!ret)
		ret = kmig_pool_start(&s->pool);
	s->t_setup = kmig_now_ns();
	return ret;
}

int kmig_send_start(struct kmig_send *s, const int *fds)
{
	int ret = 0;

	/* Every hello before any reply: the receiver accepts the connections
	 * in whatever order they reach its queue, which need not be the order
	 * of the connects, and reads a hello from each as it takes it. A
	 * receiver that refuses the first one closes the others: its reply
	 * says why, a later hello's failed write would not. */
	for (unsigned int i = 0; i < s->nr; i++) {
		if (ret)
			close(fds[i]);
		else
			ret = open_chan(s, i, fds[i], NULL);
	}
	return ret ?: start_stream(s);
}

int kmig_send_connect(struct kmig_send *s, const char *host, const char *port)
{
	int fd, ret = 0;

	/* Each channel connected and opened before the next connects: under
	 * TLS the receiver then sees them in this order (open_chan()). */
	for (unsigned int i = 0; i < s->nr && !ret; i++) {
		ret = kmig_net_connect(host, port, &fd);
		if (ret) {
			/* A receiver that refused an earlier channel closed its
			 * port: its reply says why. */
			for (unsigned int j = 0; j < i && !s->pool.failed; j++)
				read_reply(s, &s->chans[j]);
			return kmig_send_fail(s, ret, "connect to %s port %s: %s", host, port,
					      strerror(-ret));
		}
		ret = open_chan(s, i, fd, host);
	}
	return ret ?: start_stream(s);
}

int kmig_send_queue_zero(struct kmig_send *s, uint32_t block, uint64_t first, uint64_t n,
			 const uint64_t *bitmap, const uint64_t *zero)
{
	return kmig_pool_queue(&s->pool, block, first, n, bitmap, zero);
}

int kmig_send_queue(struct kmig_send *s, uint32_t block, uint64_t first, uint64_t n,
		    const uint64_t *bitmap)
{
	return kmig_send_queue_zero(s, block, first, n, bitmap, NULL);
}

int kmig_send_queue_all(struct kmig_send *s)
{
	for (unsigned int i = 0; i < s->ram->nr; i++) {
		int ret = kmig_send_queue(s, i, 0, s->ram->blocks[i].npages, NULL);

		if (ret)
			return ret;
	}
	return 0;
}

int kmig_send_flush(struct kmig_send *s)
{
	return kmig_pool_flush(&s->pool);
}

int kmig_send_finish(struct kmig_send *s, const void *devstate, size_t len)
{
	struct kmig_work w = { .kind = KMIG_WORK_DEVSTATE };
	int ret;

	if (len > UINT32_MAX)
		return -EFBIG;
	/* Device state only after every page has been applied. */
	ret = kmig_send_flush(s);
	s->t_pages = kmig_now_ns();
	if (!ret && devstate) {
		s->devstate = devstate;
		s->devstate_len = len;
		ret = kmig_pool_push(&s->pool, 0, &w);
	}
	if (!ret)
		ret = kmig_pool_end(&s->pool);
	kmig_pool_join(&s->pool);
	s->t_end = kmig_now_ns();
	ret = ret ?: kmig_pool_error_code(&s->pool);
	s->finished = !ret;
	return ret;
}

/* One switchover packet from the receiver on channel 0 (after END). A
 * PREPARED that does not come within @timeout_ms leaves the stream as it
 * is (-ETIMEDOUT): an ABORT may follow, which reads it later. */
static int switchover_read(struct kmig_send *s, uint8_t type, uint8_t *body, size_t cap,
			   int timeout_ms)
{
	struct kmig_send_chan *ch = &s->chans[0];
	struct kmig_pkt_hdr h;
	int ret;

	if (!s->o.switchover || !s->finished || timeout_ms <= 0)
		return -EINVAL;
	ret = kmig_pool_error_code(&s->pool);
	if (ret)
		return ret;
	ret = kmig_net_set_timeout(ch->fd, timeout_ms);
	if (!ret)
		ret = kmig_send_chan_read(ch, &h, body, cap);
	if (!ret && (h.type != type || h.payload_len != cap))
		ret = kmig_err_set(&ch->err, -EPROTO, "%s of %u bytes from the receiver, "
				   "expected %s", kmig_pkt_type_name(h.type), h.payload_len,
				   kmig_pkt_type_name(type));
	if (ret == -ETIMEDOUT && type == KMIG_PKT_PREPARED)
		return ret;
	if (ret == -ETIMEDOUT)
		return kmig_send_fail(s, ret, "no %s from the receiver within %d ms",
				      kmig_pkt_type_name(type), timeout_ms);
	if (ret)
		return kmig_send_fail(s, ret, "waiting for %s: %s", kmig_pkt_type_name(type),
				      ch->err.code ? ch->err.msg : ret == -ECONNRESET ?
				      "connection closed by the receiver" : strerror(-ret));
	return 0;
}

int kmig_send_await_prepared(struct kmig_send *s, int timeout_ms)
{
	int ret = s->prepared ? 0 : switchover_read(s, KMIG_PKT_PREPARED, NULL, 0, timeout_ms);

	s->prepared = !ret;
	return ret;
}

/* The sender's word after PREPARED (or after END): COMMIT or ABORT. */
static int send_word(struct kmig_send *s, uint8_t type)
{
	struct kmig_pkt_hdr h = { .type = type };
	int ret;

	if (!s->o.switchover || !s->finished)
		return -EINVAL;
	ret = kmig_pool_error_code(&s->pool);
	if (!ret)
		ret = kmig_send_chan_write(&s->chans[0], &h, NULL, 0);
	if (ret)
		return kmig_send_fail(s, ret, "sending %s: %s", kmig_pkt_type_name(type),
				      strerror(-ret));
	return 0;
}

int kmig_send_commit(struct kmig_send *s)
{
	return send_word(s, KMIG_PKT_COMMIT);
}

/*
 * ABORT, then the PREPARED the receiver sent (or sends once it staged)
 * before it reads ABORT, so that channel 0's replies stay in step; then
 * the channels start again: more pages, another finish. The receiver
 * reads them once it dropped what it staged.
 */
int kmig_send_abort(struct kmig_send *s, int timeout_ms)
{
	int ret = send_word(s, KMIG_PKT_ABORT);

	if (!ret && !s->prepared && switchover_read(s, KMIG_PKT_PREPARED, NULL, 0,
						    timeout_ms) == -ETIMEDOUT)
		ret = kmig_send_fail(s, -ETIMEDOUT, "ABORT: no PREPARED from the receiver "
				     "within %d ms", timeout_ms);
	ret = ret ?: kmig_pool_error_code(&s->pool);
	if (!ret)
		ret = kmig_net_set_timeout(s->chans[0].fd, s->o.idle_timeout_ms);
	if (ret)
		return kmig_send_fail(s, ret, "after ABORT: %s", strerror(-ret));
	s->finished = s->prepared = false;
	s->t_pages = s->t_end = 0;
	ret = kmig_pool_restart(&s->pool);
	return ret ? kmig_send_fail(s, ret, "after ABORT: %s", strerror(-ret)) : 0;
}

int kmig_send_await_resumed(struct kmig_send *s, struct kmig_resumed *rep, int timeout_ms)
{
	uint8_t body[KMIG_RESUMED_SIZE];
	struct kmig_err e = { 0 };
	int ret = switchover_read(s, KMIG_PKT_RESUMED, body, sizeof(body), timeout_ms);

	if (ret)
		return ret;
	ret = kmig_resumed_decode(body, rep, &e);
	if (ret)
		return kmig_send_fail(s, ret, "%s", e.msg);
	return 0;
}

const char *kmig_send_error(const struct kmig_send *s)
{
	return kmig_pool_error(&s->pool);
}

const char *kmig_send_classify_path(const struct kmig_send *s)
{
	return kmig_pass_path();
}

void kmig_send_stats(struct kmig_send *s, struct kmig_stats *st)
{
	uint64_t now = kmig_now_ns(), setup = s->t_setup ?: now;
	uint64_t pages = s->t_pages ?: now, end = s->t_end ?: now;

	memset(st, 0, sizeof(*st));
	st->role = "send";
	st->codec = kmig_codec_name(s->o.codec);
	st->auto_compress = s->o.auto_compress;
	st->no_page_sums = !s->o.tls && !s->psum;
	st->nr_channels = s->nr;
	st->ram_bytes = kmig_ram_total(s->ram);
	st->pages_queued = s->pool.pages_queued;
	st->syncs = s->pool.syncs;
	st->devstate_bytes = s->devstate_len;
	st->ns_phase[KMIG_PHASE_SETUP] = setup - s->t_start;
	st->ns_phase[KMIG_PHASE_PAGES] = pages > setup ? pages - setup : 0;
	st->ns_phase[KMIG_PHASE_FINISH] = s->t_pages && end > pages ? end - pages : 0;
	st->ns_total = end - s->t_start;
	for (unsigned int i = 0; i < s->nr; i++)
		kmig_chan_stats_load(&st->chan[i], &s->chans[i].stats);
	/* The channels' TLS connections are final once set up. */
	for (unsigned int i = 0; s->t_setup && i < s->nr; i++)
		kmig_chan_tls_stats(&st->tls, s->chans[i].tls, !i);
	kmig_stats_sum(st);
}

void kmig_send_destroy(struct kmig_send *s)
{
	if (!s)
		return;
	kmig_pool_fini(&s->pool);	/* cancels and joins running channels */
	for (unsigned int i = 0; s->chans && i < s->nr_init; i++) {
		if (s->chans[i].fd >= 0)
			close(s->chans[i].fd);
		kmig_send_chan_fini(&s->chans[i]);
	}
	free(s->chans);
	kmig_ratelimit_fini(&s->rl);
	free(s);
}
