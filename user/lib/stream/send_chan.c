// SPDX-License-Identifier: GPL-2.0
/*
 * One sender channel: its thread pops chunks from its queue and makes one
 * pass over each (pass.h: zero pages, and each data page's page sum while
 * it is in the cache). A raw batch goes from guest memory: header, lists and
 * the pages' own addresses in one sendmsg(), so the kernel's copy into the
 * socket is the only one here; if the guest rewrites a page meanwhile, the
 * receiver finds its CRC off and keeps it unverified until the next copy
 * (the page is dirty and comes again). A batch to compress is copied once
 * into the staging buffer in the same pass (a compressor reads its input
 * more than once, and its output must decode to what the CRCs describe),
 * then each run of consecutive pages becomes one frame, which the receiver
 * decodes straight into the run's place. Under TLS no page sum is computed
 * (KMIG_PKT_F_NO_PSUM): the encryption reads each page once and its tag
 * protects the bytes end to end. Nor with no_page_sums (a link both ends
 * trust, KMIG_FEAT_NO_PSUM): then a dense page is not read here at all
 * (the zero check stops at its first non-zero word), as in QEMU.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/bits.h"
#include "base/crc.h"
#include "base/net.h"
#include "stream/chan_tls.h"
#include "stream/send_int.h"

#define STAGE_BYTES	(KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE)

int kmig_send_chan_init(struct kmig_send_chan *ch, struct kmig_send *s, unsigned int id)
{
	bool codec = s->o.codec != KMIG_CODEC_NONE;
	int ret;

	ch->s = s;
	ch->id = id;
	ch->fd = -1;
	kmig_autocomp_init(&ch->ac);
	ret = kmig_codec_init(&ch->codec, s->o.codec, s->o.level, KMIG_CODEC_COMPRESS);
	if (ret)
		return ret;
	ret = kmig_pass_init(&ch->pass, codec);
	if (ret)
		return ret;
	ch->cbuf = codec ? malloc(STAGE_BYTES) : NULL;
	ch->lists = malloc(KMIG_PAGES_LISTS_MAX);
	return (!codec || ch->cbuf) && ch->lists ? 0 : -ENOMEM;
}

void kmig_send_chan_fini(struct kmig_send_chan *ch)
{
	kmig_codec_fini(&ch->codec);
	kmig_tls_conn_free(ch->tls);
	ch->tls = NULL;
	kmig_pass_fini(&ch->pass);
	free(ch->cbuf);
	free(ch->lists);
	ch->cbuf = ch->lists = NULL;
}

/* Header, lists section and payload pieces in one sendmsg(). PAGES' body
 * CRC covers the lists section (its pages have their own CRCs), other
 * packets' the payload. */
static int write_packet(struct kmig_send_chan *ch, struct kmig_pkt_hdr *h,
			const void *lists, size_t lists_len, const struct iovec *pay, int npay)
{
	struct kmig_send *s = ch->s;
	uint8_t hdr[KMIG_HDR_SIZE];
	struct iovec iov[2 + KMIG_CHUNK_PAGES];
	uint64_t payload = 0, total, t0, waited;
	uint32_t crc = KMIG_CRC_INIT;
	int cnt = 0, ret;

	iov[cnt++] = (struct iovec){ hdr, KMIG_HDR_SIZE };
	if (lists_len)
		iov[cnt++] = (struct iovec){ (void *)lists, lists_len };
	for (int i = 0; i < npay; i++) {
		payload += pay[i].iov_len;
		if (h->type != KMIG_PKT_PAGES)
			crc = kmig_crc32c(crc, pay[i].iov_base, pay[i].iov_len);
		iov[cnt++] = pay[i];
	}
	if (h->type == KMIG_PKT_PAGES)
		crc = kmig_crc32c(crc, lists, lists_len);
	h->seq = ch->seq++;
	h->payload_len = payload;
	h->body_crc = kmig_crc32c_final(crc);
	kmig_hdr_encode(hdr, h);
	total = KMIG_HDR_SIZE + lists_len + payload;

	waited = kmig_ratelimit_wait(&s->rl, total, &s->pool.failed);
	t0 = kmig_now_ns();
	ret = kmig_tls_writev_full(ch->tls, ch->fd, iov, cnt);
	if (ret)
		return ret;
	KMIG_STAT_ADD(ch->stats.ns_io, kmig_now_ns() - t0);
	KMIG_STAT_ADD(ch->stats.ns_throttle, waited);
	KMIG_STAT_ADD(ch->stats.packets, 1);
	KMIG_STAT_ADD(ch->stats.bytes_wire, total);
	if (h->type == KMIG_PKT_PAGES) {
		KMIG_STAT_ADD(ch->stats.bytes_kcopied, payload);
		kmig_chan_tls_tx_pages(&ch->stats, ch->tls, payload);
	}
	return 0;
}

int kmig_send_chan_write(struct kmig_send_chan *ch, struct kmig_pkt_hdr *h,
			 const void *payload, size_t payload_len)
{
	struct iovec iov = { (void *)payload, payload_len };

	return write_packet(ch, h, NULL, 0, &iov, payload_len ? 1 : 0);
}

/* Lists section: zero offsets, data offsets, page sums unless @psum is
 * false (frame lengths are appended by compress_runs()). Returns its length. */
static size_t build_lists(struct kmig_send_chan *ch, const struct kmig_chunk_pages *cp,
			  bool psum)
{
	uint8_t *p = ch->lists;

	for (unsigned int i = 0; i < cp->nr_zero; i++, p += 4)
		kmig_put_le32(p, cp->zero[i]);
	for (unsigned int i = 0; i < cp->nr_data; i++, p += 4)
		kmig_put_le32(p, cp->data[i]);
	for (unsigned int i = 0; psum && i < cp->nr_data; i++, p += 4)
		kmig_put_le32(p, cp->crc[i]);
	return p - ch->lists;
}

/* End (exclusive) of the run of consecutive data pages starting at @i. */
static unsigned int run_end(const struct kmig_chunk_pages *cp, unsigned int i)
{
	unsigned int j = i + 1;

	while (j < cp->nr_data && cp->data[j] == cp->data[j - 1] + 1)
		j++;
	return j;
}

/* A raw batch: the runs of data pages from guest memory. */
static int guest_runs(const struct kmig_ram_block *b, uint64_t first,
		      const struct kmig_chunk_pages *cp, struct iovec *pay)
{
	int n = 0;

	for (unsigned int i = 0, j; i < cp->nr_data; i = j) {
		j = run_end(cp, i);
		pay[n++] = (struct iovec){ b->base + (first + cp->data[i]) * KMIG_PAGE_SIZE,
					   (size_t)(j - i) * KMIG_PAGE_SIZE };
	}
	return n;
}

/*
 * The staged batch as one frame per run, appended to the lists section
 * (frame lengths) and to @pay; a run that does not shrink is stored raw
 * (its frame length is its size). Returns the number of frames, 0 if the
 * whole batch did not shrink (it then goes raw), or -errno for a codec
 * failure.
 */
static int compress_runs(struct kmig_send_chan *ch, const struct kmig_chunk_pages *cp,
			 size_t *lists_len, struct iovec *pay)
{
	uint8_t *stage = ch->pass.stage, *out = ch->cbuf;
	size_t total = 0, raw = (size_t)cp->nr_data * KMIG_PAGE_SIZE;
	uint64_t t0 = kmig_now_ns();
	int f = 0;

	for (unsigned int i = 0, j; i < cp->nr_data; i = j, f++) {
		size_t len = (size_t)((j = run_end(cp, i)) - i) * KMIG_PAGE_SIZE, n;
		uint8_t *src = stage + (size_t)i * KMIG_PAGE_SIZE;
		int ret = kmig_codec_compress(&ch->codec, src, len, out, len - 1, &n);

		if (ret == -ENOSPC) {
			pay[f] = (struct iovec){ src, len };	/* stored raw */
		} else if (ret) {
			return kmig_err_set(&ch->err, ret, "%s", ch->codec.err);
		} else {
			pay[f] = (struct iovec){ out, n };
			out += n;
		}
		kmig_put_le32(ch->lists + *lists_len + 4 * f, pay[f].iov_len);
		total += pay[f].iov_len;
	}
	KMIG_STAT_ADD(ch->stats.ns_codec, kmig_now_ns() - t0);
	KMIG_STAT_ADD(ch->stats.bytes_read, raw);	/* the compressor's input */
	if (total >= raw)
		return 0;
	*lists_len += 4 * f;
	return f;
}

/* Compress this batch? Fixed by the options, or decided by auto. */
static bool want_compress(struct kmig_send_chan *ch)
{
	const struct kmig_send_opts *o = &ch->s->o;

	if (o->codec == KMIG_CODEC_NONE)
		return false;
	return o->auto_compress ? kmig_autocomp_want(&ch->ac) : true;
}

static int send_pages(struct kmig_send_chan *ch, const struct kmig_work *w)
{
	const struct kmig_ram_block *b = &ch->s->ram->blocks[w->block];
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_PAGES, .block = w->block, .arg = w->arg };
	struct iovec pay[KMIG_CHUNK_PAGES];
	struct kmig_chunk_pages cp;
	uint64_t t0 = kmig_now_ns();
	bool want = want_compress(ch);
	/* Under TLS each record's tag authenticates the page bytes end to
	 * end: the encryption is the one pass over a page, no page sum. */
	bool psum = ch->s->psum;
	size_t lists_len;
	int npay, ret;

	ret = kmig_pass_chunk(&ch->pass, b, w, (psum ? KMIG_PASS_PSUM : 0) |
			      (want ? KMIG_PASS_STAGE : 0), &cp, &ch->stats);
	if (ret || (!cp.nr_zero && !cp.nr_data))
		return ret;
	h.nr_zero = cp.nr_zero;
	h.nr_data = cp.nr_data;
	h.flags = psum ? 0 : KMIG_PKT_F_NO_PSUM;
	lists_len = build_lists(ch, &cp, psum);
	if (!want) {
		npay = guest_runs(b, w->arg, &cp, pay);
	} else {
		npay = compress_runs(ch, &cp, &lists_len, pay);
		if (npay < 0)
			return npay;
		h.nr_frames = npay;
		h.codec = npay ? ch->s->o.codec : KMIG_CODEC_NONE;
		if (!npay && cp.nr_data) {	/* did not shrink: the staged copy raw */
			pay[0] = (struct iovec){ ch->pass.stage, (size_t)cp.nr_data * KMIG_PAGE_SIZE };
			npay = 1;
		}
	}
	ret = write_packet(ch, &h, ch->lists, lists_len, pay, npay);
	if (ret)
		return ret;
	kmig_chan_stats_batch(&ch->stats, h.nr_data, h.nr_frames, h.payload_len);
	if (ch->s->o.auto_compress && cp.nr_data)
		kmig_autocomp_record(&ch->ac, want, (uint64_t)cp.nr_data * KMIG_PAGE_SIZE,
				     kmig_now_ns() - t0);
	return 0;
}

static int read_error_text(struct kmig_send_chan *ch, const struct kmig_pkt_hdr *h)
{
	uint8_t text[KMIG_ERROR_TEXT_MAX + 1];
	int ret = kmig_tls_read_full(ch->tls, ch->fd, text, h->payload_len);

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
	int ret = kmig_tls_read_full(ch->tls, ch->fd, buf, sizeof(buf));

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
	ret = kmig_tls_read_full(ch->tls, ch->fd, body, h->payload_len);
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
	int ret = kmig_send_chan_write(ch, &h, NULL, 0);

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
		return kmig_send_chan_write(ch, &h, ch->s->devstate, ch->s->devstate_len);
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
	int ret;

	kmig_net_set_timeout(ch->fd, 500);
	while (!(ret = kmig_send_chan_read(ch, &h, NULL, 0)) && h.type != KMIG_PKT_ERROR)
		;
	/* Under TLS a receiver whose record check failed answers with an
	 * alert, not an ERROR packet. */
	if (ret == -EACCES && ch->tls && !ch->err.code)
		kmig_err_set(&ch->err, ret, "the receiver refused our TLS records: %s",
			     kmig_tls_error(ch->tls));
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
	if (ret == -ETIMEDOUT)
		return kmig_send_fail(ch->s, ret, "channel %u: the receiver took nothing and "
				      "answered nothing for %d s (--idle-timeout)", ch->id,
				      ch->s->o.idle_timeout_ms / 1000);
	return kmig_send_fail(ch->s, ret, "channel %u: %s", ch->id,
			      ret == -ECONNRESET || ret == -EPIPE ?
			      "connection closed by the receiver" : strerror(-ret));
}
