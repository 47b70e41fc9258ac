// SPDX-License-Identifier: GPL-2.0
/*
 * One sender channel: its thread pops chunks from its queue, classifies the
 * pages (holes and zero pages on this thread), copies the data pages once
 * into its staging buffer (so that CRC and payload describe the same bytes
 * even if the guest writes the page meanwhile), compresses the batch if
 * that pays, and writes header, lists and payload with one sendmsg().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/bits.h"
#include "base/crc.h"
#include "base/net.h"
#include "stream/send_int.h"

#define STAGE_BYTES	(KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE)
#define LISTS_BYTES	(2 * 4 * KMIG_CHUNK_PAGES)

int kmig_send_chan_init(struct kmig_send_chan *ch, struct kmig_send *s, unsigned int id)
{
	int ret;

	ch->s = s;
	ch->id = id;
	ch->fd = -1;
	kmig_autocomp_init(&ch->ac);
	ret = kmig_codec_init(&ch->codec, s->o.codec, s->o.level, KMIG_CODEC_COMPRESS);
	if (ret)
		return ret;
	ret = kmig_pass_init(&ch->pass, KMIG_PASS_STAGE);
	if (ret)
		return ret;
	ch->cbuf = malloc(STAGE_BYTES);
	ch->lists = malloc(LISTS_BYTES);
	return ch->cbuf && ch->lists ? 0 : -ENOMEM;
}

void kmig_send_chan_fini(struct kmig_send_chan *ch)
{
	kmig_codec_fini(&ch->codec);
	kmig_pass_fini(&ch->pass);
	free(ch->cbuf);
	free(ch->lists);
	ch->cbuf = ch->lists = NULL;
}

int kmig_send_chan_write(struct kmig_send_chan *ch, struct kmig_pkt_hdr *h,
			 const void *lists, size_t lists_len,
			 const void *payload, size_t payload_len)
{
	struct kmig_send *s = ch->s;
	uint8_t hdr[KMIG_HDR_SIZE];
	struct iovec iov[3];
	uint64_t total = KMIG_HDR_SIZE + lists_len + payload_len, t0, waited;
	uint32_t crc = kmig_crc32c(KMIG_CRC_INIT, lists, lists_len);
	int cnt = 0, ret;

	h->seq = ch->seq++;
	h->payload_len = payload_len;
	h->body_crc = kmig_crc32c_final(kmig_crc32c(crc, payload, payload_len));
	kmig_hdr_encode(hdr, h);
	iov[cnt++] = (struct iovec){ hdr, KMIG_HDR_SIZE };
	if (lists_len)
		iov[cnt++] = (struct iovec){ (void *)lists, lists_len };
	if (payload_len)
		iov[cnt++] = (struct iovec){ (void *)payload, payload_len };

	waited = kmig_ratelimit_wait(&s->rl, total, &s->pool.failed);
	t0 = kmig_now_ns();
	ret = kmig_net_writev_full(ch->fd, iov, cnt);
	if (ret)
		return ret;
	uint64_t dt = kmig_now_ns() - t0;

	KMIG_STAT_ADD(ch->stats.ns_io, dt);
	KMIG_STAT_ADD(ch->stats.ns_throttle, waited);
	KMIG_STAT_ADD(ch->stats.packets, 1);
	KMIG_STAT_ADD(ch->stats.bytes_wire, total);
	return 0;
}

/* Lists as the wire wants them: zero offsets, then data offsets. */
static void build_lists(struct kmig_send_chan *ch, const struct kmig_chunk_pages *cp)
{
	for (unsigned int i = 0; i < cp->nr_zero; i++)
		kmig_put_le32(ch->lists + 4 * i, cp->zero[i]);
	for (unsigned int i = 0; i < cp->nr_data; i++)
		kmig_put_le32(ch->lists + 4 * (cp->nr_zero + i), cp->data[i]);
}

/* Compress the staged batch if that is wanted and pays; -errno only for a
 * codec failure (a batch that doesn't shrink just goes raw). */
static int maybe_compress(struct kmig_send_chan *ch, size_t raw, bool want, const void **payload,
			  size_t *len, uint8_t *codec)
{
	uint64_t t0;
	size_t out;
	int ret;

	*payload = ch->pass.stage;
	*len = raw;
	*codec = KMIG_CODEC_NONE;
	if (!raw || !want)
		return 0;
	t0 = kmig_now_ns();
	ret = kmig_codec_compress(&ch->codec, ch->pass.stage, raw, ch->cbuf, raw - 1, &out);
	KMIG_STAT_ADD(ch->stats.ns_codec, kmig_now_ns() - t0);
	if (ret == -ENOSPC)
		return 0;
	if (ret)
		return kmig_err_set(&ch->err, ret, "%s", ch->codec.err);
	*payload = ch->cbuf;
	*len = out;
	*codec = ch->s->o.codec;
	return 0;
}

/* Compress this batch? Fixed by the options, or decided by auto. */
static bool want_compress(struct kmig_send_chan *ch, size_t raw)
{
	const struct kmig_send_opts *o = &ch->s->o;

	if (!raw || o->codec == KMIG_CODEC_NONE)
		return false;
	return o->auto_compress ? kmig_autocomp_want(&ch->ac) : true;
}

static int send_pages(struct kmig_send_chan *ch, const struct kmig_work *w)
{
	const struct kmig_ram_block *b = &ch->s->ram->blocks[w->block];
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_PAGES, .block = w->block, .arg = w->arg };
	struct kmig_chunk_pages cp;
	const void *payload;
	size_t len, raw;
	uint64_t t0;
	bool want;
	int ret;

	ret = kmig_pass_chunk(&ch->pass, b, w, &cp, &ch->stats);
	if (ret)
		return ret;
	build_lists(ch, &cp);
	h.nr_zero = cp.nr_zero;
	h.nr_data = cp.nr_data;
	if (!h.nr_zero && !h.nr_data)
		return 0;
	raw = (size_t)h.nr_data * KMIG_PAGE_SIZE;
	want = want_compress(ch, raw);
	t0 = kmig_now_ns();
	ret = maybe_compress(ch, raw, want, &payload, &len, &h.codec);
	if (ret)
		return ret;
	if (h.codec != KMIG_CODEC_NONE) {
		KMIG_STAT_ADD(ch->stats.pages_compressed, h.nr_data);
		KMIG_STAT_ADD(ch->stats.bytes_compressed, len);
		KMIG_STAT_ADD(ch->stats.batches_compressed, 1);
	} else if (h.nr_data) {
		KMIG_STAT_ADD(ch->stats.pages_raw, h.nr_data);
		KMIG_STAT_ADD(ch->stats.batches_raw, 1);
	}
	ret = kmig_send_chan_write(ch, &h, ch->lists, 4 * (h.nr_zero + h.nr_data), payload, len);
	if (!ret && ch->s->o.auto_compress)
		kmig_autocomp_record(&ch->ac, want, raw, kmig_now_ns() - t0);
	return ret;
}

static int read_error_text(struct kmig_send_chan *ch, const struct kmig_pkt_hdr *h)
{
	uint8_t text[KMIG_ERROR_TEXT_MAX + 1];
	int ret = kmig_net_read_full(ch->fd, text, h->payload_len);

	if (ret)
		return ret;
	text[h->payload_len] = '\0';
	if (kmig_crc32c_buf(text, h->payload_len) != h->body_crc)
		return kmig_err_set(&ch->err, -EBADMSG, "ERROR packet with a bad CRC");
	for (uint32_t i = 0; i < h->payload_len; i++)
		if (text[i] < 0x20 || text[i] >= 0x7f)
			text[i] = '?';
	return kmig_err_set(&ch->err, -EREMOTEIO, "receiver: %s", text);
}

int kmig_send_chan_read(struct kmig_send_chan *ch, struct kmig_pkt_hdr *h, void *body,
			size_t cap)
{
	uint8_t buf[KMIG_HDR_SIZE];
	struct kmig_err e = { 0 };
	int ret = kmig_net_read_full(ch->fd, buf, sizeof(buf));

	if (ret)
		return ret;
	ret = kmig_hdr_decode(buf, h, &e);
	if (ret)
		return kmig_err_set(&ch->err, ret, "reply: %s", e.msg);
	if (h->seq != ch->rx_seq++)
		return kmig_err_set(&ch->err, -EPROTO, "reply sequence %llu, "
				    "expected %llu", (unsigned long long)h->seq,
				    (unsigned long long)ch->rx_seq - 1);
	if (h->type == KMIG_PKT_ERROR)
		return read_error_text(ch, h);
	if (h->payload_len > cap)
		return kmig_err_set(&ch->err, -EPROTO, "%s with %u bytes from the receiver, "
				    "expected at most %zu", kmig_pkt_type_name(h->type),
				    h->payload_len, cap);
	ret = kmig_net_read_full(ch->fd, body, h->payload_len);
	if (ret)
		return ret;
	if (kmig_crc32c_buf(body, h->payload_len) != h->body_crc)
		return kmig_err_set(&ch->err, -EBADMSG, "%s from the receiver with a bad body CRC",
				    kmig_pkt_type_name(h->type));
	return 0;
}

static int wait_ack(struct kmig_send_chan *ch, uint8_t type, uint64_t arg)
{
	struct kmig_pkt_hdr h;
	int ret = kmig_send_chan_read(ch, &h, NULL, 0);

	if (ret)
		return ret;
	if (h.type != type || h.arg != arg || h.payload_len)
		return kmig_err_set(&ch->err, -EPROTO, "%s(%llu) from the receiver, "
				    "expected %s(%llu)", kmig_pkt_type_name(h.type),
				    (unsigned long long)h.arg, kmig_pkt_type_name(type),
				    (unsigned long long)arg);
	return 0;
}

static int send_ctrl(struct kmig_send_chan *ch, uint8_t type, uint8_t ack, uint64_t arg)
{
	struct kmig_pkt_hdr h = { .type = type, .arg = arg };
	int ret = kmig_send_chan_write(ch, &h, NULL, 0, NULL, 0);

	return ret ? ret : wait_ack(ch, ack, arg);
}

static int do_work(struct kmig_send_chan *ch, const struct kmig_work *w)
{
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_DEVICE_STATE };
	int ret;

	switch (w->kind) {
	case KMIG_WORK_PAGES:
		return send_pages(ch, w);
	case KMIG_WORK_DEVSTATE:
		return kmig_send_chan_write(ch, &h, NULL, 0, ch->s->devstate, ch->s->devstate_len);
	case KMIG_WORK_SYNC:
		ret = send_ctrl(ch, KMIG_PKT_SYNC, KMIG_PKT_SYNC_ACK, w->arg);
		break;
	case KMIG_WORK_END:
		ret = send_ctrl(ch, KMIG_PKT_END, KMIG_PKT_END_ACK, ch->seq);
		break;
	default:
		return -EINVAL;
	}
	return ret;
}

/* After a failed write, the receiver may have said why before closing. */
static void collect_peer_error(struct kmig_send_chan *ch)
{
	struct kmig_pkt_hdr h;

	kmig_net_set_timeout(ch->fd, 500);
	while (!kmig_send_chan_read(ch, &h, NULL, 0) && h.type != KMIG_PKT_ERROR)
		;
}

int kmig_send_chan_work(struct kmig_send_chan *ch, const struct kmig_work *w)
{
	int ret = do_work(ch, w);

	if (!ret)
		return 0;
	if (ret == -EPIPE || ret == -ECONNRESET)
		collect_peer_error(ch);
	if (ch->err.code)
		return kmig_send_fail(ch->s, ret, "channel %u: %s", ch->id, ch->err.msg);
	return kmig_send_fail(ch->s, ret, "channel %u: %s", ch->id,
			      ret == -ECONNRESET || ret == -EPIPE ?
			      "connection closed by the receiver" : strerror(-ret));
}
