// SPDX-License-Identifier: GPL-2.0
/*
 * Wire format and receiver checks: encode/decode roundtrips, then the
 * hostile-input table: each malformed hello, header, body or table must be
 * rejected with its own errno and a message naming what was received and
 * what was expected, before any guest memory is touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "gen.h"
#include "stream/rx.h"
#include "kselftest_harness.h"
#include "stream/wire.h"
#include "base/zero.h"

#define PG KMIG_PAGE_SIZE

/* ---- hello ---- */

static void hello_ok(struct kmig_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->version = KMIG_WIRE_VERSION;
	h->features = KMIG_FEAT_ALL;
	memset(h->session, 0xab, sizeof(h->session));
	h->channel = 1;
	h->nr_channels = 4;
	h->codec = KMIG_CODEC_ZSTD;
	h->page_shift = KMIG_PAGE_SHIFT;
	h->chunk_pages = KMIG_CHUNK_PAGES;
}

static void recrc_hello(uint8_t *buf)
{
	kmig_put_le32(buf + 60, kmig_crc32c_buf(buf, 60));
}

struct hello_case {
	const char *name;
	void (*mut)(struct kmig_hello *h, uint8_t *buf);	/* NULL field: via struct */
	int err;
	const char *msg;
};

static void h_magic(struct kmig_hello *h, uint8_t *b) { b[0] ^= 1; recrc_hello(b); }
static void h_crc(struct kmig_hello *h, uint8_t *b) { b[60] ^= 1; }
static void h_version(struct kmig_hello *h, uint8_t *b) { h->version = 2; kmig_hello_encode(b, h); }
static void h_reserved(struct kmig_hello *h, uint8_t *b) { b[50] = 1; recrc_hello(b); }
static void h_size(struct kmig_hello *h, uint8_t *b) { b[6] = 80; recrc_hello(b); }
static void h_feat(struct kmig_hello *h, uint8_t *b) { h->features |= 1ULL << 40; kmig_hello_encode(b, h); }
static void h_nch0(struct kmig_hello *h, uint8_t *b) { h->nr_channels = 0; kmig_hello_encode(b, h); }
static void h_nch65(struct kmig_hello *h, uint8_t *b) { h->nr_channels = 65; kmig_hello_encode(b, h); }
static void h_chan(struct kmig_hello *h, uint8_t *b) { h->channel = 4; kmig_hello_encode(b, h); }
static void h_codec(struct kmig_hello *h, uint8_t *b) { h->codec = 9; kmig_hello_encode(b, h); }
static void h_page(struct kmig_hello *h, uint8_t *b) { h->page_shift = 16; kmig_hello_encode(b, h); }
static void h_chunk(struct kmig_hello *h, uint8_t *b) { h->chunk_pages = 64; kmig_hello_encode(b, h); }

/* One malformed hello per variant. */
FIXTURE(hello) {
	struct kmig_hello h;
	uint8_t buf[KMIG_HELLO_SIZE];
};

FIXTURE_VARIANT(hello) {
	struct hello_case c;
};

FIXTURE_VARIANT_ADD(hello, bad_magic) {
	.c = { "bad magic", h_magic, -EBADMSG, "magic 0x48474d4a, expected 0x48474d4b" },
};
FIXTURE_VARIANT_ADD(hello, bad_crc) { .c = { "bad CRC", h_crc, -EBADMSG, "hello: CRC32C" } };
FIXTURE_VARIANT_ADD(hello, version_2) {
	.c = { "version 2 (CRC32C pages)", h_version, -EPROTONOSUPPORT, "version 2, expected 3" },
};
FIXTURE_VARIANT_ADD(hello, reserved_byte) {
	.c = { "reserved byte", h_reserved, -EBADMSG, "reserved bytes 40..59 not zero" },
};
FIXTURE_VARIANT_ADD(hello, size_field) {
	.c = { "size field", h_size, -EBADMSG, "size 80, expected 64" },
};
FIXTURE_VARIANT_ADD(hello, unknown_feature) {
	.c = { "unknown feature", h_feat, -EOPNOTSUPP, "feature bits 0x1000000000f, known 0xf" },
};
FIXTURE_VARIANT_ADD(hello, 0_channels) {
	.c = { "0 channels", h_nch0, -EINVAL, "0 channels, expected 1..64" },
};
FIXTURE_VARIANT_ADD(hello, 65_channels) {
	.c = { "65 channels", h_nch65, -EINVAL, "65 channels, expected 1..64" },
};
FIXTURE_VARIANT_ADD(hello, channel_id_ge_count) {
	.c = { "channel id >= count", h_chan, -EINVAL, "channel id 4, expected < 4" },
};
FIXTURE_VARIANT_ADD(hello, unknown_codec) {
	.c = { "unknown codec", h_codec, -EOPNOTSUPP, "codec 9, expected < 4" },
};
FIXTURE_VARIANT_ADD(hello, page_size) {
	.c = { "page size", h_page, -EINVAL, "page size 2^16, expected 2^12" },
};
FIXTURE_VARIANT_ADD(hello, chunk_size) {
	.c = { "chunk size", h_chunk, -EINVAL, "chunk of 64 pages, expected 128" },
};

/* A valid hello, encoded then mutated by the variant. */
FIXTURE_SETUP(hello)
{
	hello_ok(&self->h);
	kmig_hello_encode(self->buf, &self->h);
}

FIXTURE_TEARDOWN(hello)
{
}

TEST(hello_valid)
{
	struct kmig_hello h, d;
	uint8_t buf[KMIG_HELLO_SIZE];
	struct kmig_err e = { 0 };

	hello_ok(&h);
	kmig_hello_encode(buf, &h);
	ASSERT_EQ(0, kmig_hello_decode(buf, &d, &e)) TH_LOG("valid hello: %s", e.msg);
	ASSERT_TRUE(!memcmp(d.session, h.session, 16) && d.channel == 1 && d.nr_channels == 4 &&
		    d.codec == KMIG_CODEC_ZSTD)
		TH_LOG("fields differ");
}

TEST_F(hello, refused)
{
	const struct hello_case *c = &variant->c;
	struct kmig_err e = { 0 };
	struct kmig_hello d;
	int ret;

	c->mut(&self->h, self->buf);
	ret = kmig_hello_decode(self->buf, &d, &e);
	EXPECT_TRUE(ret == c->err && strstr(e.msg, c->msg))
		TH_LOG("hello '%s': got %d '%s', expected %d '%s'", c->name, ret, e.msg, c->err,
		       c->msg);
	TH_LOG("hello %-20s -> %s", c->name, e.msg);
}

TEST(reply)
{
	struct kmig_hello_reply r = { .status = EPROTO, .channel = 3 }, d;
	uint8_t buf[KMIG_REPLY_SIZE];
	struct kmig_err e = { 0 };

	snprintf(r.msg, sizeof(r.msg), "version 2, expected 1");
	kmig_reply_encode(buf, &r);
	ASSERT_EQ(0, kmig_reply_decode(buf, &d, &e)) TH_LOG("%s", e.msg);
	ASSERT_TRUE(d.status == EPROTO && d.channel == 3 && !strcmp(d.msg, r.msg)) TH_LOG("fields");
	buf[9] = 0x7f;	/* status 0x7f47: not an errno */
	kmig_put_le32(buf + 92, kmig_crc32c_buf(buf, 92));
	ASSERT_EQ(-EBADMSG, kmig_reply_decode(buf, &d, &e)) TH_LOG("status range");
}

TEST(resumed)
{
	struct kmig_resumed r = { .devstate_ns = 1, .commit_ns = 2ULL << 30, .total_ns = ~0ULL }, d;
	uint8_t buf[KMIG_RESUMED_SIZE];
	struct kmig_err e = { 0 };

	kmig_resumed_encode(buf, &r);
	ASSERT_EQ(0, kmig_resumed_decode(buf, &d, &e)) TH_LOG("%s", e.msg);
	ASSERT_TRUE(!memcmp(&r, &d, sizeof(r))) TH_LOG("fields");
	buf[31] = 1;
	ASSERT_TRUE(kmig_resumed_decode(buf, &d, &e) == -EBADMSG &&
		    strstr(e.msg, "RESUMED: reserved bytes 24..31 not zero"))
		TH_LOG("%s", e.msg);
}

/* ---- packets against a receiver session ---- */

struct fx {
	struct kmig_ram ram;
	struct kmig_rx_session s;
	struct kmig_rx_chan ch[2];
	uint8_t pkt[KMIG_HDR_SIZE + KMIG_PAGES_BODY_MAX + 65536];
	uint8_t body[KMIG_PAGES_BODY_MAX + 65536];
	size_t len;
};

/*
 * Blocks: "a" 300 pages (chunks 0, 1, 2; the last has 44 pages), "b" 64
 * pages (chunk 3). Two channels: chunks 0 and 2 belong to channel 0,
 * chunks 1 and 3 to channel 1.
 */
static int fx_init(struct fx *f, uint8_t codec, bool given)
{
	struct kmig_ram src;
	enum kmig_rx_action act;
	size_t used;
	int ret;

	memset(f, 0, sizeof(*f));
	kmig_ram_init(&f->ram);
	kmig_ram_init(&src);
	if (kmig_ram_add_memfd(&src, "a", 300 * PG, NULL) ||
	    kmig_ram_add_memfd(&src, "b", 64 * PG, NULL))
		return -ENOMEM;
	if (given && (kmig_ram_add_memfd(&f->ram, "a", 300 * PG, NULL) ||
		      kmig_ram_add_memfd(&f->ram, "b", 64 * PG, NULL)))
		return -ENOMEM;
	kmig_rx_session_init(&f->s, &f->ram, 2, codec);
	f->s.max_ram = 4 << 20;
	for (int i = 0; i < 2; i++)
		if (kmig_rx_chan_init(&f->ch[i], &f->s, i))
			return -ENOMEM;
	/* The block table, as a sender encodes it. */
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_BLOCK_TABLE };
	size_t n = kmig_table_encode(f->body, &src);

	h.payload_len = n;
	f->len = kmig_pkt_build(f->pkt, &h, f->body, n);
	kmig_ram_free(&src);
	ret = kmig_rx_feed(&f->ch[0], f->pkt, f->len, &used, &act);
	f->ch[1].seq = 0;
	return ret;
}

static void fx_fini(struct fx *f)
{
	for (int i = 0; i < 2; i++)
		kmig_rx_chan_fini(&f->ch[i]);
	kmig_rx_session_fini(&f->s);
	kmig_ram_free(&f->ram);
}

/* Runs of consecutive offsets in a data list (a compressed packet has one
 * frame per run). */
static uint32_t runs(const uint32_t *d, uint32_t nd)
{
	uint32_t r = 0;

	for (uint32_t i = 0; i < nd; i++)
		r += !i || d[i] != d[i - 1] + 1;
	return r;
}

/*
 * A PAGES packet: zero list, data list, page CRCs (of the pages in @raw:
 * the payload itself when raw; NULL: zeros), frame lengths (compressed: the
 * payload is one frame per run, @frames[] long, or all of it when NULL),
 * then the payload.
 */
static void pages_f(struct fx *f, uint64_t seq, uint32_t block, uint64_t first,
		    const uint32_t *z, uint32_t nz, const uint32_t *d, uint32_t nd,
		    const void *payload, uint32_t plen, uint8_t codec, const uint8_t *raw,
		    const uint32_t *frames)
{
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_PAGES, .codec = codec, .seq = seq,
				  .block = block, .arg = first, .nr_zero = nz, .nr_data = nd,
				  .payload_len = plen };
	size_t off = 0;

	if (codec && nd)
		h.nr_frames = runs(d, nd);
	if (!codec)
		raw = plen >= nd * PG ? payload : NULL;
	for (uint32_t i = 0; i < nz; i++, off += 4)
		kmig_put_le32(f->body + off, z[i]);
	for (uint32_t i = 0; i < nd; i++, off += 4)
		kmig_put_le32(f->body + off, d[i]);
	for (uint32_t i = 0; i < nd; i++, off += 4)
		kmig_put_le32(f->body + off, raw ? kmig_psum(raw + i * PG, PG) : 0);
	for (uint32_t i = 0; i < h.nr_frames; i++, off += 4)
		kmig_put_le32(f->body + off, frames ? frames[i] : plen);
	if (plen)
		memcpy(f->body + off, payload, plen);
	f->len = kmig_pkt_build(f->pkt, &h, f->body, off + plen);
}

static void pages(struct fx *f, uint64_t seq, uint32_t block, uint64_t first,
		  const uint32_t *z, uint32_t nz, const uint32_t *d, uint32_t nd,
		  const void *payload, uint32_t plen, uint8_t codec)
{
	pages_f(f, seq, block, first, z, nz, d, nd, payload, plen, codec, NULL, NULL);
}

static void ctrl(struct fx *f, uint8_t type, uint64_t seq, uint64_t arg, const void *p,
		 uint32_t plen)
{
	struct kmig_pkt_hdr h = { .type = type, .seq = seq, .arg = arg, .payload_len = plen };

	f->len = kmig_pkt_build(f->pkt, &h, p, plen);
}

static void recrc_hdr(struct fx *f)
{
	kmig_put_le32(f->pkt + 44, kmig_crc32c_buf(f->pkt, 44));
}

/* After a PAGES header was changed: its lists CRC, then its own. */
static void recrc_lists(struct fx *f)
{
	struct kmig_pkt_hdr h;
	struct kmig_err e = { 0 };

	recrc_hdr(f);
	kmig_hdr_decode(f->pkt, &h, &e);
	kmig_put_le32(f->pkt + 40, kmig_crc32c_buf(f->pkt + KMIG_HDR_SIZE,
						   kmig_pages_lists_len(&h)));
	recrc_hdr(f);
}

static int feed(struct fx *f, int ch)
{
	enum kmig_rx_action act;
	size_t used;

	kmig_err_clear(&f->ch[ch].err);
	return kmig_rx_feed(&f->ch[ch], f->pkt, f->len, &used, &act);
}

static uint8_t page_a[PG], page_b[PG], big[64 * PG], comp[64 * PG];
static const uint32_t L0[] = { 0 }, L1[] = { 1 }, L01[] = { 0, 1 }, L10[] = { 1, 0 };
static const uint32_t L50[] = { 50 }, L128[] = { 128 }, L43[] = { 43 };

struct pkt_case {
	const char *name;
	uint8_t codec;		/* the session's */
	int ch;			/* channel that receives it */
	void (*build)(struct fx *f);
	int err;
	const char *msg;
	int run;		/* a frame that fails while it decodes: it may have
				 * written this many pages of its own run, no more */
};

static void p_magic(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->pkt[3] = 0; recrc_hdr(f); }
static void p_hcrc(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->pkt[20] ^= 1; }
static void p_type0(struct fx *f) { ctrl(f, 0, 1, 0, NULL, 0); }
static void p_type13(struct fx *f) { ctrl(f, 13, 1, 0, NULL, 0); }
static void p_flags(struct fx *f) { ctrl(f, KMIG_PKT_SYNC, 1, 0, NULL, 0); f->pkt[6] = 1; recrc_hdr(f); }
static void p_seq(struct fx *f) { ctrl(f, KMIG_PKT_SYNC, 5, 0, NULL, 0); }
/* Page sums left out (KMIG_PKT_F_NO_PSUM): only a TLS channel may, or a
 * session whose hello asked and was allowed (no_psum_trusted). */
static void p_nopsum(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->pkt[6] = 1; recrc_lists(f); }
static void p_pflags(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->pkt[6] = 2; recrc_lists(f); }
static void p_count0(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, NULL, 0, NULL, 0, 0); }
static void p_count129(struct fx *f)
{
	pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0);
	kmig_put_le32(f->pkt + 20, 128);	/* 128 zero + 1 data */
	recrc_hdr(f);
}
static void p_ovf(struct fx *f)
{
	pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0);
	kmig_put_le16(f->pkt + 20, 0xffff);	/* a u16 sum would wrap to 0 */
	recrc_hdr(f);
}
static void p_frames_ovf(struct fx *f)
{
	pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, 100, KMIG_CODEC_ZSTD);
	kmig_put_le16(f->pkt + 22, 0xffff);
	recrc_hdr(f);
}
static void p_frames_raw(struct fx *f)
{
	pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0);
	kmig_put_le16(f->pkt + 22, 1);
	recrc_hdr(f);
}
static void p_frames0(struct fx *f)
{
	pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, 100, KMIG_CODEC_ZSTD);
	kmig_put_le16(f->pkt + 22, 0);
	recrc_hdr(f);
}
static void p_ovf_payload(struct fx *f)
{
	pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, 100, KMIG_CODEC_ZSTD);
	kmig_put_le32(f->pkt + 36, 0xffffffff);
	recrc_hdr(f);
}
static void p_align(struct fx *f) { pages(f, 1, 0, 100, NULL, 0, L0, 1, page_a, PG, 0); }
static void p_block(struct fx *f) { pages(f, 1, 2, 0, NULL, 0, L0, 1, page_a, PG, 0); }
static void p_past(struct fx *f) { pages(f, 1, 0, 384, NULL, 0, L0, 1, page_a, PG, 0); }
static void p_off_block(struct fx *f) { pages(f, 1, 0, 256, L50, 1, NULL, 0, NULL, 0, 0); }
static void p_off_chunk(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L128, 1, page_a, PG, 0); }
static void p_order(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L10, 2, big, 2 * PG, 0); }
static void p_both(struct fx *f) { pages(f, 1, 0, 0, L1, 1, L01, 2, big, 2 * PG, 0); }
static void p_rawlen(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L01, 2, big, PG, 0); }
static void p_complen(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, KMIG_CODEC_ZSTD); }
static void p_lcrc(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->pkt[KMIG_HDR_SIZE + 5] ^= 1; }
static void p_trunc(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->len -= 1000; }
static void p_trunc_hdr(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, PG, 0); f->len = 40; }
static void p_affinity(struct fx *f) { pages(f, 1, 0, 128, NULL, 0, L0, 1, page_a, PG, 0); }
static void p_codec(struct fx *f) { pages(f, 1, 0, 0, NULL, 0, L0, 1, page_a, 100, KMIG_CODEC_LZ4); }
static void p_acktype(struct fx *f) { ctrl(f, KMIG_PKT_SYNC_ACK, 1, 0, NULL, 0); }
static void p_table2(struct fx *f) { uint8_t b[4] = { 1 }; ctrl(f, KMIG_PKT_BLOCK_TABLE, 1, 0, b, 4); }
static void p_dev_ch1(struct fx *f) { ctrl(f, KMIG_PKT_DEVICE_STATE, 0, 0, "x", 1); }
static void p_end(struct fx *f) { ctrl(f, KMIG_PKT_END, 1, 7, NULL, 0); }
static void p_sync_arg(struct fx *f) { ctrl(f, KMIG_PKT_DEVICE_STATE, 1, 3, "x", 1); }
static void p_dev_crc(struct fx *f) { ctrl(f, KMIG_PKT_DEVICE_STATE, 1, 0, "xyz", 3); f->pkt[KMIG_HDR_SIZE + 1] ^= 1; }

/* Frame tables that lie (one frame per run of the data list). */
static const uint32_t L02[] = { 0, 2 };
static void p_frames_runs(struct fx *f)
{
	static const uint32_t fr[] = { 30, 30 };

	pages_f(f, 1, 0, 0, NULL, 0, L02, 2, comp, 60, KMIG_CODEC_ZSTD, NULL, fr);
	kmig_put_le16(f->pkt + 22, 1);	/* two runs, one frame */
	recrc_lists(f);
}
static void p_frame0(struct fx *f)
{
	static const uint32_t fr[] = { 0, 60 };

	pages_f(f, 1, 0, 0, NULL, 0, L02, 2, comp, 60, KMIG_CODEC_ZSTD, NULL, fr);
}
static void p_frame_big(struct fx *f)
{
	static const uint32_t fr[] = { 5000, 10 };

	pages_f(f, 1, 0, 0, NULL, 0, L02, 2, comp, 5010, KMIG_CODEC_ZSTD, NULL, fr);
}
static void p_frame_sum(struct fx *f)
{
	static const uint32_t fr[] = { 10, 20 };

	pages_f(f, 1, 0, 0, NULL, 0, L02, 2, comp, 60, KMIG_CODEC_ZSTD, NULL, fr);
}

/* Compressed payloads that lie. */
static void p_ztrunc(struct fx *f)
{
	size_t n;

	t_fill_text(big, 2 * PG, 7);
	n = ZSTD_compress(comp, sizeof(comp), big, 2 * PG, 1);
	pages(f, 1, 0, 0, NULL, 0, L01, 2, comp, n / 2, KMIG_CODEC_ZSTD);
}
static void p_zbomb(struct fx *f)
{
	size_t n;

	memset(big, 0, sizeof(big));
	n = ZSTD_compress(comp, sizeof(comp), big, 64 * PG, 1);
	pages(f, 1, 0, 0, NULL, 0, L0, 1, comp, n, KMIG_CODEC_ZSTD);
}
static void p_zbomb_stream(struct fx *f)
{
	/* No content size in the frame: the bomb shows while decoding. */
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_outBuffer out = { comp, sizeof(comp), 0 };
	ZSTD_inBuffer in = { big, 64 * PG, 0 };

	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);

	memset(big, 0, sizeof(big));
	ZSTD_compressStream2(c, &out, &in, ZSTD_e_end);
	ZSTD_freeCCtx(c);
	pages(f, 1, 0, 0, NULL, 0, L0, 1, comp, out.pos, KMIG_CODEC_ZSTD);
}
static void p_lz4bomb(struct fx *f);
static void p_zlibbomb(struct fx *f);

/* One malformed packet per variant, against a fresh session (fx_init()). */
FIXTURE(packet) {
	struct fx *f;
};

FIXTURE_VARIANT(packet) {
	struct pkt_case c;
	unsigned int seed;	/* of page_a's random bytes */
};

FIXTURE_VARIANT_ADD(packet, bad_magic) {
	.c = { "bad magic", 2, 0, p_magic, -EBADMSG,
	       "packet magic 0x00474d4b, expected 0x50474d4b", 0 },
	.seed = 1,
};
FIXTURE_VARIANT_ADD(packet, bad_header_crc) {
	.c = { "bad header CRC", 2, 0, p_hcrc, -EBADMSG, "header CRC32C", 0 },
	.seed = 2,
};
FIXTURE_VARIANT_ADD(packet, type_0) {
	.c = { "type 0", 2, 0, p_type0, -EBADMSG, "packet type 0, expected 1..12", 0 },
	.seed = 3,
};
FIXTURE_VARIANT_ADD(packet, type_13) {
	.c = { "type 13", 2, 0, p_type13, -EBADMSG, "packet type 13, expected 1..12", 0 },
	.seed = 4,
};
FIXTURE_VARIANT_ADD(packet, flags) {
	.c = { "flags", 2, 0, p_flags, -EBADMSG, "SYNC: flags 0x1, expected 0", 0 },
	.seed = 5,
};
FIXTURE_VARIANT_ADD(packet, no_psum_plaintext) {
	.c = { "no page sums without TLS", 2, 0, p_nopsum, -EBADMSG,
	       "PAGES without page sums on a channel without TLS", 0 },
	.seed = 5,
};
FIXTURE_VARIANT_ADD(packet, pages_flags) {
	.c = { "PAGES flags", 2, 0, p_pflags, -EBADMSG, "PAGES: flags 0x2, known 0x1", 0 },
	.seed = 5,
};
FIXTURE_VARIANT_ADD(packet, sequence) {
	.c = { "sequence", 2, 0, p_seq, -EPROTO, "sequence 5, expected 1", 0 },
	.seed = 6,
};
FIXTURE_VARIANT_ADD(packet, no_pages) {
	.c = { "no pages", 2, 0, p_count0, -EBADMSG, "0 zero + 0 data pages, expected 1..128", 0 },
	.seed = 7,
};
FIXTURE_VARIANT_ADD(packet, 129_pages) {
	.c = { "129 pages", 2, 0, p_count129, -EBADMSG,
	       "128 zero + 1 data pages, expected 1..128", 0 },
	.seed = 8,
};
FIXTURE_VARIANT_ADD(packet, count_overflow) {
	.c = { "count overflow", 2, 0, p_ovf, -EBADMSG, "65535 zero + 1 data pages", 0 },
	.seed = 9,
};
FIXTURE_VARIANT_ADD(packet, frame_count_overflow) {
	.c = { "frame count overflow", 2, 0, p_frames_ovf, -EBADMSG,
	       "65535 frames for 1 data pages, expected 1..1", 0 },
	.seed = 10,
};
FIXTURE_VARIANT_ADD(packet, frames_in_a_raw_packet) {
	.c = { "frames in a raw packet", 2, 0, p_frames_raw, -EBADMSG,
	       "1 frames in a raw packet, expected 0", 0 },
	.seed = 11,
};
FIXTURE_VARIANT_ADD(packet, no_frames) {
	.c = { "no frames", 2, 0, p_frames0, -EBADMSG, "0 frames for 1 data pages, expected 1..1",
	       0 },
	.seed = 12,
};
FIXTURE_VARIANT_ADD(packet, payload_overflow) {
	.c = { "payload overflow", 2, 0, p_ovf_payload, -EBADMSG,
	       "compressed payload of 4294967295 bytes, expected 1..4095", 0 },
	.seed = 13,
};
FIXTURE_VARIANT_ADD(packet, unaligned_first_page) {
	.c = { "unaligned first page", 2, 0, p_align, -EBADMSG,
	       "first page 100, expected a multiple of 128", 0 },
	.seed = 14,
};
FIXTURE_VARIANT_ADD(packet, block_id) {
	.c = { "block id", 2, 0, p_block, -ERANGE, "block id 2, expected < 2", 0 },
	.seed = 15,
};
FIXTURE_VARIANT_ADD(packet, first_page_past_block) {
	.c = { "first page past block", 2, 0, p_past, -ERANGE,
	       "first page 384 past block 'a' (300 pages)", 0 },
	.seed = 16,
};
FIXTURE_VARIANT_ADD(packet, offset_past_block) {
	.c = { "offset past block", 2, 0, p_off_block, -ERANGE,
	       "zero list entry 0: page offset 50, expected < 44", 0 },
	.seed = 17,
};
FIXTURE_VARIANT_ADD(packet, offset_past_chunk) {
	.c = { "offset past chunk", 2, 0, p_off_chunk, -ERANGE,
	       "data list entry 0: page offset 128, expected < 128", 0 },
	.seed = 18,
};
FIXTURE_VARIANT_ADD(packet, offsets_not_increasing) {
	.c = { "offsets not increasing", 2, 0, p_order, -EBADMSG,
	       "data list entry 1: offset 0 after 1", 0 },
	.seed = 19,
};
FIXTURE_VARIANT_ADD(packet, page_zero_and_data) {
	.c = { "page zero and data", 2, 0, p_both, -EBADMSG,
	       "page offset 1 in both the zero and the data list", 0 },
	.seed = 20,
};
FIXTURE_VARIANT_ADD(packet, raw_payload_length) {
	.c = { "raw payload length", 2, 0, p_rawlen, -EBADMSG,
	       "raw payload of 4096 bytes, expected 8192 (2 pages)", 0 },
	.seed = 21,
};
FIXTURE_VARIANT_ADD(packet, compressed_not_smaller) {
	.c = { "compressed not smaller", 2, 0, p_complen, -EBADMSG,
	       "compressed payload of 4096 bytes, expected 1..4095", 0 },
	.seed = 22,
};
FIXTURE_VARIANT_ADD(packet, bad_lists_crc) {
	.c = { "bad lists CRC", 2, 0, p_lcrc, -EBADMSG, "PAGES lists CRC32C", 0 },
	.seed = 23,
};
FIXTURE_VARIANT_ADD(packet, bad_body_crc) {
	.c = { "bad body CRC", 2, 0, p_dev_crc, -EBADMSG, "DEVICE_STATE body CRC32C", 0 },
	.seed = 24,
};
FIXTURE_VARIANT_ADD(packet, frames_for_fewer_runs) {
	.c = { "frames for fewer runs", 2, 0, p_frames_runs, -EBADMSG,
	       "1 frames for a data list of more runs", 0 },
	.seed = 25,
};
FIXTURE_VARIANT_ADD(packet, empty_frame) {
	.c = { "empty frame", 2, 0, p_frame0, -EBADMSG,
	       "frame 0 of 0 bytes, expected 1..4096 (1 pages)", 0 },
	.seed = 26,
};
FIXTURE_VARIANT_ADD(packet, frame_past_its_run) {
	.c = { "frame past its run", 2, 0, p_frame_big, -EBADMSG,
	       "frame 0 of 5000 bytes, expected 1..4096 (1 pages)", 0 },
	.seed = 27,
};
FIXTURE_VARIANT_ADD(packet, frames_vs_payload) {
	.c = { "frames vs payload", 2, 0, p_frame_sum, -EBADMSG,
	       "frames of 30 bytes, payload of 60", 0 },
	.seed = 28,
};
FIXTURE_VARIANT_ADD(packet, truncated_payload) {
	.c = { "truncated payload", 2, 0, p_trunc, -ENODATA, "truncated packet: 3152 bytes", 0 },
	.seed = 29,
};
FIXTURE_VARIANT_ADD(packet, truncated_header) {
	.c = { "truncated header", 2, 0, p_trunc_hdr, -ENODATA, "truncated packet: 40 bytes", 0 },
	.seed = 30,
};
FIXTURE_VARIANT_ADD(packet, wrong_channel) {
	.c = { "wrong channel", 2, 0, p_affinity, -EPROTO,
	       "chunk 1 of block 0 belongs to channel 1, received on 0", 0 },
	.seed = 31,
};
FIXTURE_VARIANT_ADD(packet, codec_not_negotiated) {
	.c = { "codec not negotiated", 2, 0, p_codec, -EPROTO, "codec lz4, expected none or zstd",
	       0 },
	.seed = 32,
};
FIXTURE_VARIANT_ADD(packet, receiver_only_type) {
	.c = { "receiver-only type", 2, 0, p_acktype, -EPROTO, "SYNC_ACK from the sender", 0 },
	.seed = 33,
};
FIXTURE_VARIANT_ADD(packet, second_block_table) {
	.c = { "second block table", 2, 0, p_table2, -EPROTO, "BLOCK_TABLE on channel 0 seq 1", 0 },
	.seed = 34,
};
FIXTURE_VARIANT_ADD(packet, device_state_on_channel_1) {
	.c = { "device state on channel 1", 2, 1, p_dev_ch1, -EPROTO, "DEVICE_STATE on channel 1",
	       0 },
	.seed = 35,
};
FIXTURE_VARIANT_ADD(packet, end_count) {
	.c = { "END count", 2, 0, p_end, -EPROTO, "END counts 7 packets, received 1", 0 },
	.seed = 36,
};
FIXTURE_VARIANT_ADD(packet, arg_on_device_state) {
	.c = { "arg on DEVICE_STATE", 2, 0, p_sync_arg, -EBADMSG,
	       "DEVICE_STATE: codec 0 block 0 zero 0 frames 0 data 0 arg 3", 0 },
	.seed = 37,
};
FIXTURE_VARIANT_ADD(packet, truncated_compressed) {
	.c = { "truncated compressed", 2, 0, p_ztrunc, -EBADMSG, "frame 0: zstd", 2 },
	.seed = 38,
};
FIXTURE_VARIANT_ADD(packet, zstd_bomb_claimed) {
	.c = { "zstd bomb (claimed)", 2, 0, p_zbomb, -EOVERFLOW,
	       "zstd: frame claims 262144 bytes, expected 4096", 0 },
	.seed = 39,
};
FIXTURE_VARIANT_ADD(packet, zstd_bomb_actual) {
	.c = { "zstd bomb (actual)", 2, 0, p_zbomb_stream, -EOVERFLOW,
	       "zstd: Destination buffer is too small", 1 },
	.seed = 40,
};
FIXTURE_VARIANT_ADD(packet, lz4_bomb) {
	.c = { "lz4 bomb", 3, 0, p_lz4bomb, -EOVERFLOW,
	       "lz4: output exceeds the expected 4096 bytes", 1 },
	.seed = 41,
};
FIXTURE_VARIANT_ADD(packet, zlib_bomb) {
	.c = { "zlib bomb", 1, 0, p_zlibbomb, -EOVERFLOW,
	       "zlib: output exceeds the expected 4096 bytes", 1 },
	.seed = 42,
};

static void codec_bomb(struct fx *f, enum kmig_codec_id id)
{
	struct kmig_codec c;
	size_t n = 0;

	memset(big, 0, sizeof(big));
	kmig_codec_init(&c, id, 0, KMIG_CODEC_COMPRESS);
	kmig_codec_compress(&c, big, 64 * PG, comp, sizeof(comp), &n);
	kmig_codec_fini(&c);
	pages(f, 1, 0, 0, NULL, 0, L0, 1, comp, n, id);
}
static void p_lz4bomb(struct fx *f) { codec_bomb(f, KMIG_CODEC_LZ4); }
static void p_zlibbomb(struct fx *f) { codec_bomb(f, KMIG_CODEC_ZLIB); }

FIXTURE_SETUP(packet)
{
	static struct fx f;	/* too large for the stack */

	self->f = &f;
	ASSERT_EQ(0, fx_init(&f, variant->c.codec, true)) TH_LOG("fixture: %s", f.ch[0].err.msg);
}

FIXTURE_TEARDOWN(packet)
{
	fx_fini(self->f);
}

TEST_F(packet, refused)
{
	const struct pkt_case *c = &variant->c;
	struct fx *f = self->f;
	int ret;

	t_fill_random(page_a, PG, variant->seed);
	c->build(f);
	ret = feed(f, c->ch);
	EXPECT_TRUE(ret == c->err && strstr(f->ch[c->ch].err.msg, c->msg))
		TH_LOG("packet '%s': got %d '%s', expected %d '%s'", c->name, ret,
		       f->ch[c->ch].err.msg, c->err, c->msg);
	TH_LOG("packet %-26s -> %s", c->name, f->ch[c->ch].err.msg);
	/* Rejected before memory was touched: block a is still a hole
	 * (a frame decoded into its own run: past the run). */
	EXPECT_TRUE(lseek(f->ram.blocks[0].fd, c->run * PG, SEEK_DATA) < 0 && errno == ENXIO)
		TH_LOG("packet '%s' wrote guest memory", c->name);
}

/* State-dependent rejections: need a packet before the bad one. */
TEST(sequences)
{
	static struct fx f;
	int ret;

	/* PAGES before the table on channel 0. */
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	f.ch[0].seq = 0;
	f.s.table_ready = false;
	pages(&f, 0, 0, 0, NULL, 0, L0, 1, page_a, PG, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "PAGES first, expected BLOCK_TABLE"))
		TH_LOG("%d %s", ret, f.ch[0].err.msg);
	fx_fini(&f);

	/* Anything after END. */
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	ctrl(&f, KMIG_PKT_END, 1, 1, NULL, 0);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("END: %s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_SYNC, 2, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "SYNC after END"))
		TH_LOG("%s", f.ch[0].err.msg);
	fx_fini(&f);

	/* Switchover: COMMIT only after END, once, on channel 0 of a live
	 * migration; never a payload. */
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	ctrl(&f, KMIG_PKT_COMMIT, 1, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "COMMIT before END"))
		TH_LOG("%s", f.ch[0].err.msg);
	fx_fini(&f);
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	ctrl(&f, KMIG_PKT_END, 1, 1, NULL, 0);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("END: %s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_COMMIT, 2, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "not a live-migration session"))
		TH_LOG("%s", f.ch[0].err.msg);
	f.s.switchover = true;
	ctrl(&f, KMIG_PKT_COMMIT, 2, 0, "x", 1);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EBADMSG &&
		    strstr(f.ch[0].err.msg, "COMMIT: payload of 1 bytes, expected 0..0"))
		TH_LOG("%s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_COMMIT, 3, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "sequence 3, expected 2"))
		TH_LOG("%s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_COMMIT, 2, 0, NULL, 0);
	EXPECT_TRUE(feed(&f, 0) == 0 && f.ch[0].committed) TH_LOG("COMMIT: %s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_COMMIT, 3, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "COMMIT after END and COMMIT"))
		TH_LOG("%s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_RESUMED, 3, 0, big, KMIG_RESUMED_SIZE);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "RESUMED after END"))
		TH_LOG("%s", f.ch[0].err.msg);
	fx_fini(&f);
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	f.s.switchover = true;
	ctrl(&f, KMIG_PKT_END, 0, 0, NULL, 0);
	ASSERT_EQ(0, feed(&f, 1)) TH_LOG("END: %s", f.ch[1].err.msg);
	ctrl(&f, KMIG_PKT_COMMIT, 1, 0, NULL, 0);
	ret = feed(&f, 1);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[1].err.msg, "COMMIT and ABORT only on channel 0"))
		TH_LOG("%s", f.ch[1].err.msg);
	fx_fini(&f);
	/* ABORT (a strict downtime limit): like COMMIT, once, after END, on
	 * channel 0; it is the last word (no COMMIT after it). */
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	f.s.switchover = true;
	ctrl(&f, KMIG_PKT_ABORT, 1, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "ABORT before END"))
		TH_LOG("%s", f.ch[0].err.msg);
	fx_fini(&f);
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	f.s.switchover = true;
	ctrl(&f, KMIG_PKT_END, 1, 1, NULL, 0);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("END: %s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_ABORT, 2, 0, NULL, 0);
	EXPECT_TRUE(feed(&f, 0) == 0 && f.ch[0].committed) TH_LOG("ABORT: %s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_COMMIT, 3, 0, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO &&
		    strstr(f.ch[0].err.msg, "COMMIT after END and COMMIT or ABORT"))
		TH_LOG("%s", f.ch[0].err.msg);
	fx_fini(&f);

	/* Device state: too large, then twice. */
	ASSERT_EQ(0, fx_init(&f, 2, true)) TH_LOG("fixture");
	f.s.max_devstate = 10;
	ctrl(&f, KMIG_PKT_DEVICE_STATE, 1, 0, big, 11);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EFBIG && strstr(f.ch[0].err.msg, "device state of 11 bytes, limit 10"))
		TH_LOG("%s", f.ch[0].err.msg);
	f.ch[0].seq = 1;
	ctrl(&f, KMIG_PKT_DEVICE_STATE, 1, 0, "abc", 3);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("devstate: %s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_DEVICE_STATE, 2, 0, "abc", 3);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EPROTO && strstr(f.ch[0].err.msg, "a second DEVICE_STATE"))
		TH_LOG("%s", f.ch[0].err.msg);
	EXPECT_TRUE(f.s.devstate_len == 3 && !memcmp(f.s.devstate, "abc", 3)) TH_LOG("blob");
	fx_fini(&f);
}

/* Data lands, zero markers clear written pages and leave holes alone,
 * compressed batches decode, SYNC and END ask for acks. */
TEST(apply)
{
	static struct fx f;
	struct kmig_codec c;
	enum kmig_rx_action act;
	size_t used, n;
	uint8_t *a, *b;

	ASSERT_EQ(0, fx_init(&f, KMIG_CODEC_ZSTD, false)) TH_LOG("fixture: %s", f.ch[0].err.msg);
	ASSERT_TRUE(f.ram.nr == 2 && f.ram.blocks[0].npages == 300)
		TH_LOG("blocks created from table");
	a = f.ram.blocks[0].base;
	b = f.ram.blocks[1].base;
	t_fill_random(page_a, PG, 1);
	t_fill_text(page_b, PG, 2);
	memcpy(big, page_a, PG);
	memcpy(big + PG, page_b, PG);
	/* Chunk 2 of a (channel 0): pages 256 + 0 and 256 + 43 (the last). */
	uint32_t d2[] = { 0, 43 };
	pages(&f, 1, 0, 256, NULL, 0, d2, 2, big, 2 * PG, 0);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("raw: %s", f.ch[0].err.msg);
	ASSERT_TRUE(!memcmp(a + 256 * PG, page_a, PG) && !memcmp(a + 299 * PG, page_b, PG))
		TH_LOG("data");
	/* Zero marker for written page 299 clears it; for page 257 (never
	 * written) nothing is touched. */
	uint32_t z2[] = { 1, 43 };
	pages(&f, 2, 0, 256, z2, 2, NULL, 0, NULL, 0, 0);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("zero: %s", f.ch[0].err.msg);
	ASSERT_TRUE(kmig_zero_check(a + 299 * PG, PG)) TH_LOG("written page not cleared");
	ASSERT_TRUE(f.ch[0].stats.pages_zeroed == 1 && f.ch[0].stats.pages_zero == 2)
		TH_LOG("stats");
	/* Block b (channel 1): a zero marker on fresh memory stays a hole. */
	pages(&f, 0, 1, 0, L43, 1, NULL, 0, NULL, 0, 0);
	ASSERT_EQ(0, feed(&f, 1)) TH_LOG("zero b: %s", f.ch[1].err.msg);
	ASSERT_TRUE(lseek(f.ram.blocks[1].fd, 0, SEEK_DATA) < 0 && errno == ENXIO)
		TH_LOG("zero marker allocated a hole");
	/* Compressed batch on channel 1. */
	ASSERT_EQ(0, kmig_codec_init(&c, KMIG_CODEC_ZSTD, 0, KMIG_CODEC_COMPRESS)) TH_LOG("codec");
	ASSERT_TRUE(kmig_codec_compress(&c, big, 2 * PG, comp, 2 * PG - 1, &n) == -ENOSPC ||
		    n < 2 * PG)
		TH_LOG("compress");
	t_fill_text(big, 2 * PG, 9);
	ASSERT_EQ(0, kmig_codec_compress(&c, big, 2 * PG, comp, 2 * PG - 1, &n)) TH_LOG("compress");
	kmig_codec_fini(&c);
	pages_f(&f, 1, 1, 0, NULL, 0, L01, 2, comp, n, KMIG_CODEC_ZSTD, big, NULL);
	ASSERT_EQ(0, feed(&f, 1)) TH_LOG("compressed: %s", f.ch[1].err.msg);
	ASSERT_TRUE(!memcmp(b, big, 2 * PG)) TH_LOG("compressed data");
	ASSERT_TRUE(!f.ch[1].unverified && !f.ch[1].stats.pages_badcrc) TH_LOG("compressed CRCs");
	/* Control packets. */
	ctrl(&f, KMIG_PKT_SYNC, 3, 42, NULL, 0);
	ASSERT_TRUE(kmig_rx_feed(&f.ch[0], f.pkt, f.len, &used, &act) == 0 &&
		    act == KMIG_RX_SYNC_ACK)
		TH_LOG("sync");
	ctrl(&f, KMIG_PKT_END, 4, 4, NULL, 0);
	ASSERT_TRUE(kmig_rx_feed(&f.ch[0], f.pkt, f.len, &used, &act) == 0 &&
		    act == KMIG_RX_END_ACK && f.ch[0].ended)
		TH_LOG("end");
	fx_fini(&f);
}

/*
 * A page whose bytes do not match its CRC (a guest that rewrote it while it
 * was on its way, or corruption in transit) lands marked unverified, not
 * failed; a later copy that verifies, or a zero marker, clears the mark;
 * END fails while a mark is left.
 */
TEST(unverified)
{
	static struct fx f;
	int ret;

	t_fill_random(big, 2 * PG, 5);
	ASSERT_EQ(0, fx_init(&f, KMIG_CODEC_NONE, true)) TH_LOG("fixture: %s", f.ch[0].err.msg);
	pages(&f, 1, 0, 0, NULL, 0, L01, 2, big, 2 * PG, 0);
	f.pkt[f.len - 10] ^= 1;		/* page 1, after its CRC was taken */
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("a bad page fails the packet: %s", f.ch[0].err.msg);
	ASSERT_TRUE(f.ch[0].unverified == 1 && f.ch[0].stats.pages_badcrc == 1)
		TH_LOG("unverified %llu", (unsigned long long)f.ch[0].unverified);
	ctrl(&f, KMIG_PKT_END, 2, 2, NULL, 0);
	ret = feed(&f, 0);
	EXPECT_TRUE(ret == -EBADMSG &&
		    strstr(f.ch[0].err.msg, "END with 1 page whose page sum did not match where "
			   "it landed and that was not sent again (block 'a' page 1)"))
		TH_LOG("%d %s", ret, f.ch[0].err.msg);
	TH_LOG("%s", f.ch[0].err.msg);
	fx_fini(&f);

	/* Page 1 bad then good; page 0 bad then zero: END passes. */
	ASSERT_EQ(0, fx_init(&f, KMIG_CODEC_NONE, true)) TH_LOG("fixture");
	pages(&f, 1, 0, 0, NULL, 0, L01, 2, big, 2 * PG, 0);
	f.pkt[f.len - PG - 10] ^= 1;	/* page 0 */
	f.pkt[f.len - 10] ^= 1;		/* page 1 */
	ASSERT_TRUE(feed(&f, 0) == 0 && f.ch[0].unverified == 2) TH_LOG("two bad pages");
	pages(&f, 2, 0, 0, NULL, 0, L1, 1, big + PG, PG, 0);
	ASSERT_TRUE(feed(&f, 0) == 0 && f.ch[0].unverified == 1) TH_LOG("good copy of page 1");
	pages(&f, 3, 0, 0, L0, 1, NULL, 0, NULL, 0, 0);
	ASSERT_TRUE(feed(&f, 0) == 0 && f.ch[0].unverified == 0) TH_LOG("zero marker for page 0");
	ASSERT_TRUE(kmig_zero_check(f.ram.blocks[0].base, PG) &&
		    !memcmp(f.ram.blocks[0].base + PG, big + PG, PG))
		TH_LOG("contents");
	ctrl(&f, KMIG_PKT_END, 4, 4, NULL, 0);
	EXPECT_EQ(0, feed(&f, 0)) TH_LOG("END: %s", f.ch[0].err.msg);
	fx_fini(&f);
}

/*
 * A trusted link (KMIG_FEAT_NO_PSUM allowed at the hello: both ends said
 * --no-page-sums): plaintext pages without page sums land and count as
 * verified, and no pass reads them; a byte flipped in transit then goes
 * through unnoticed, which is the trade the option makes (as in QEMU).
 */
TEST(no_psum_trusted)
{
	static struct fx f;
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_PAGES, .flags = KMIG_PKT_F_NO_PSUM,
				  .seq = 1, .nr_data = 2, .payload_len = 2 * PG };

	t_fill_random(big, 2 * PG, 9);
	ASSERT_EQ(0, fx_init(&f, KMIG_CODEC_NONE, true)) TH_LOG("fixture: %s", f.ch[0].err.msg);
	f.s.no_psum = true;
	kmig_put_le32(f.body, 0);
	kmig_put_le32(f.body + 4, 1);
	memcpy(f.body + 8, big, 2 * PG);
	f.len = kmig_pkt_build(f.pkt, &h, f.body, 8 + 2 * PG);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("allowed: %s", f.ch[0].err.msg);
	EXPECT_TRUE(!memcmp(f.ram.blocks[0].base, big, 2 * PG)) TH_LOG("contents");
	EXPECT_TRUE(f.ch[0].stats.bytes_read == 0 && f.ch[0].unverified == 0)
		TH_LOG("read %llu bytes, %llu unverified",
		       (unsigned long long)f.ch[0].stats.bytes_read,
		       (unsigned long long)f.ch[0].unverified);
	h.seq = 2;
	big[PG + 100] ^= 1;		/* corrupted in transit */
	memcpy(f.body + 8, big, 2 * PG);
	f.len = kmig_pkt_build(f.pkt, &h, f.body, 8 + 2 * PG);
	ASSERT_EQ(0, feed(&f, 0)) TH_LOG("%s", f.ch[0].err.msg);
	ctrl(&f, KMIG_PKT_END, 3, 3, NULL, 0);
	EXPECT_EQ(0, feed(&f, 0)) TH_LOG("END: %s", f.ch[0].err.msg);
	EXPECT_EQ(0, f.ch[0].stats.pages_badcrc) TH_LOG("nothing checked the pages");
	fx_fini(&f);
}

/* ---- block tables ---- */

static size_t entry(uint8_t *p, uint64_t size, const char *name)
{
	size_t len = strlen(name);

	kmig_put_le64(p, size);
	kmig_put_le16(p + 8, len);
	kmig_put_le16(p + 10, 0);
	kmig_put_le32(p + 12, 0);
	memcpy(p + 16, name, len);
	return 16 + len;
}

struct table_case {
	const char *name;
	uint32_t count;
	const char *n1, *n2;
	uint64_t s1, s2;
	int extra;		/* trailing bytes (or, if < 0, bytes cut) */
	bool given;
	int err;
	const char *msg;
};

/* One bad block table per variant, sent to a fresh one-channel session
 * (with the blocks "a" and "b" given where the case says). */
FIXTURE(table) {
	struct kmig_rx_session s;
	struct kmig_rx_chan ch;
	struct kmig_ram ram;
};

FIXTURE_VARIANT(table) {
	struct table_case c;
};

FIXTURE_VARIANT_ADD(table, no_blocks) {
	.c = { "no blocks", 0, NULL, NULL, 0, 0, 0, false, -EINVAL, "0 blocks, expected 1..256" },
};
FIXTURE_VARIANT_ADD(table, too_many_blocks) {
	.c = { "too many blocks", 257, NULL, NULL, 0, 0, 0, false, -EINVAL,
	       "257 blocks, expected 1..256" },
};
FIXTURE_VARIANT_ADD(table, path_in_name) {
	.c = { "path in name", 1, "../x", NULL, PG, 0, 0, false, -EINVAL, "entry 0: bad name" },
};
FIXTURE_VARIANT_ADD(table, hidden_name) {
	.c = { "hidden name", 1, ".x", NULL, PG, 0, 0, false, -EINVAL, "entry 0: bad name" },
};
FIXTURE_VARIANT_ADD(table, space_in_name) {
	.c = { "space in name", 1, "a b", NULL, PG, 0, 0, false, -EINVAL, "entry 0: bad name" },
};
FIXTURE_VARIANT_ADD(table, duplicate) {
	.c = { "duplicate", 2, "m", "m", PG, PG, 0, false, -EINVAL, "name 'm' twice" },
};
FIXTURE_VARIANT_ADD(table, size_not_pages) {
	.c = { "size not pages", 1, "m", NULL, 1000, 0, 0, false, -EINVAL,
	       "block 'm' size 1000, expected a non-zero multiple of 4096" },
};
FIXTURE_VARIANT_ADD(table, zero_size) {
	.c = { "zero size", 1, "m", NULL, 0, 0, 0, false, -EINVAL, "block 'm' size 0" },
};
FIXTURE_VARIANT_ADD(table, huge_size) {
	.c = { "huge size", 1, "m", NULL, 1ULL << 50, 0, 0, false, -EINVAL, "up to 2^46" },
};
FIXTURE_VARIANT_ADD(table, over_max_ram) {
	.c = { "over max_ram", 2, "m", "n", 1 << 20, PG, 0, false, -EFBIG,
	       "block table totals 1052672 bytes, limit 1048576" },
};
FIXTURE_VARIANT_ADD(table, trailing_bytes) {
	.c = { "trailing bytes", 1, "m", NULL, PG, 0, 3, false, -EBADMSG, "3 trailing bytes" },
};
FIXTURE_VARIANT_ADD(table, name_past_end) {
	.c = { "name past end", 1, "mmmm", NULL, PG, 0, -2, false, -EBADMSG,
	       "name of 4 bytes, 2 left" },
};
FIXTURE_VARIANT_ADD(table, truncated_entry) {
	.c = { "truncated entry", 2, "m", "n", PG, PG, -10, false, -EBADMSG, "entry 1 truncated" },
};
FIXTURE_VARIANT_ADD(table, mismatch) {
	.c = { "mismatch", 2, "a", "c", 300 * PG, 64 * PG, 0, true, -EINVAL,
	       "block 1 is 'c' of 262144 bytes, expected 'b' of 262144" },
};

FIXTURE_SETUP(table)
{
	kmig_ram_init(&self->ram);
	if (variant->c.given) {
		kmig_ram_add_memfd(&self->ram, "a", 300 * PG, NULL);
		kmig_ram_add_memfd(&self->ram, "b", 64 * PG, NULL);
	}
	kmig_rx_session_init(&self->s, &self->ram, 1, 0);
	self->s.max_ram = 1 << 20;
	ASSERT_EQ(0, kmig_rx_chan_init(&self->ch, &self->s, 0)) TH_LOG("chan");
}

FIXTURE_TEARDOWN(table)
{
	kmig_rx_chan_fini(&self->ch);
	kmig_rx_session_fini(&self->s);
	kmig_ram_free(&self->ram);
}

TEST_F(table, refused)
{
	static uint8_t body[8192], pkt[8192 + 64];
	const struct table_case *c = &variant->c;
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_BLOCK_TABLE };
	enum kmig_rx_action act;
	size_t off = 4, used, len;
	int ret;

	kmig_put_le32(body, c->count);
	if (c->n1)
		off += entry(body + off, c->s1, c->n1);
	if (c->n2)
		off += entry(body + off, c->s2, c->n2);
	off += c->extra;	/* trailing bytes, or (< 0) bytes cut */
	h.payload_len = off;
	len = kmig_pkt_build(pkt, &h, body, off);
	ret = kmig_rx_feed(&self->ch, pkt, len, &used, &act);
	EXPECT_TRUE(ret == c->err && strstr(self->ch.err.msg, c->msg))
		TH_LOG("table '%s': got %d '%s', expected %d '%s'", c->name, ret,
		       self->ch.err.msg, c->err, c->msg);
	TH_LOG("table %-18s -> %s", c->name, self->ch.err.msg);
	EXPECT_TRUE(!self->s.table_ready) TH_LOG("table '%s' accepted", c->name);
}

/* The page sum against its definition (crc.h), in every variant, and what
 * it promises: a page with any one byte changed (every position, every
 * change of its low bit and of all its bits) or two words swapped never
 * sums the same. */
TEST(psum)
{
	static uint8_t page[PG];
	uint32_t ref = 0, sum;
	bool missed = false;

	t_fill_random(page, PG, 9);
	for (uint32_t i = 0; i < PG / 4; i++)
		ref += (2 * (PG / 4 - i) + 1) * kmig_get_le32(page + 4 * i);
	sum = kmig_psum(page, PG);
	ASSERT_EQ(ref, sum) TH_LOG("page sum %#010x, by its definition %#010x", sum, ref);
	/* Every variant this CPU runs, on the page and on a piece of it that
	 * ends on a 16-byte boundary (AVX2 hands such a tail to lanes4). */
	for (int v = 0; v < 2; v++) {
		const char *name = v ? "avx2" : "lanes4";
		kmig_psum_fn f = kmig_psum_by_name(name);
		uint32_t part = 0;

		if (!f) {
			TH_LOG("page sum variant %s: not on this CPU", name);
			continue;
		}
		ASSERT_EQ(ref, f(page, PG)) TH_LOG("variant %s", name);
		for (uint32_t i = 0; i < 1008 / 4; i++)
			part += (2 * (1008 / 4 - i) + 1) * kmig_get_le32(page + 4 * i);
		ASSERT_EQ(part, f(page, 1008)) TH_LOG("variant %s, 1008 bytes", name);
	}
	TH_LOG("page sum: %s", kmig_psum_best_name());
	for (uint32_t i = 0; i < PG && !missed; i++) {
		for (int x = 0; x < 2 && !missed; x++) {
			page[i] ^= x ? 0xff : 0x01;
			missed = kmig_psum(page, PG) == sum;
			page[i] ^= x ? 0xff : 0x01;
		}
	}
	ASSERT_TRUE(!missed) TH_LOG("a changed byte kept the page sum");
	memcpy(page + 8, page + 4, 4);	/* words 1 and 2: make them differ, swap */
	page[8] ^= 0x5a;
	sum = kmig_psum(page, PG);
	{
		uint8_t w[4];

		memcpy(w, page + 4, 4);
		memcpy(page + 4, page + 8, 4);
		memcpy(page + 8, w, 4);
	}
	ASSERT_NE(sum, kmig_psum(page, PG)) TH_LOG("two swapped words kept the page sum");
}

TEST(crc)
{
	ASSERT_EQ(0xe3069283, kmig_crc32c_buf("123456789", 9)) TH_LOG("CRC32C check value");
}

TEST_HARNESS_MAIN
