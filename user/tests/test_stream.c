// SPDX-License-Identifier: GPL-2.0
/*
 * Sender and receiver over real TCP loopback in one process: integrity with
 * a device-state blob, page versions applied in send order across several
 * iterations (with and without flush barriers, pages rewritten and zeroed
 * between them), and clean failures: cancel on either side, a hello the
 * receiver refuses, a block table that does not match the receiver's RAM.
 * The whole transfers run once per codec and channel count (the variants
 * of the transfer fixture); the sender's checks of replies once per kind
 * of bad reply; the cancel once from each side.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/net.h"
#include "stream/wire.h"
#include "gen.h"
#include "stream/recv.h"
#include "stream/send.h"
#include "kselftest_harness.h"

#define PG KMIG_PAGE_SIZE

struct rx_thread {
	pthread_t t;
	struct kmig_recv *r;
	struct kmig_ram ram;
	int ret;
	bool joined;
	char port[16];
};

static void *rx_main(void *arg)
{
	struct rx_thread *rt = arg;

	rt->ret = kmig_recv_run(rt->r);
	return NULL;
}

static void rx_join(struct rx_thread *rt)
{
	pthread_join(rt->t, NULL);
	rt->joined = true;
}

static int rx_start(struct rx_thread *rt, const struct kmig_recv_opts *o)
{
	struct kmig_recv_opts def = { .accept_timeout_ms = 10000 };
	int ret;

	memset(rt, 0, sizeof(*rt));
	kmig_ram_init(&rt->ram);
	ret = kmig_recv_create(&rt->r, o ? o : &def, &rt->ram);
	if (!ret)
		ret = kmig_recv_listen(rt->r, "127.0.0.1", "0");
	if (ret)
		return ret;
	snprintf(rt->port, sizeof(rt->port), "%u", kmig_recv_port(rt->r));
	return -pthread_create(&rt->t, NULL, rx_main, rt);
}

/* Three blocks of different sizes: random, text, zero and holes. */
static int make_src(struct kmig_ram *ram)
{
	kmig_ram_init(ram);
	if (kmig_ram_add_memfd(ram, "ram0", 1000 * PG, NULL) ||
	    kmig_ram_add_memfd(ram, "vga", 77 * PG, NULL) ||
	    kmig_ram_add_memfd(ram, "rom:1", 3000 * PG, NULL))
		return -ENOMEM;
	t_fill_random(ram->blocks[0].base, 600 * PG, 1);
	t_fill_text(ram->blocks[1].base, 77 * PG, 2);
	memset(ram->blocks[2].base + 100 * PG, 0, 200 * PG);	/* written zero */
	t_fill_text(ram->blocks[2].base + 2000 * PG, 500 * PG, 3);
	return 0;
}

static int same(const struct kmig_ram *a, const struct kmig_ram *b)
{
	if (a->nr != b->nr)
		return 0;
	for (unsigned int i = 0; i < a->nr; i++)
		if (a->blocks[i].size != b->blocks[i].size ||
		    memcmp(a->blocks[i].base, b->blocks[i].base, a->blocks[i].size))
			return 0;
	return 1;
}

/*
 * A whole transfer between a sender and a receiver thread over TCP
 * loopback, with the variant's codec and number of channels.
 */
FIXTURE(transfer) {
	struct kmig_ram src;
	struct rx_thread rt;
	struct kmig_send_opts o;
	struct kmig_send *s;
};

FIXTURE_VARIANT(transfer) {
	enum kmig_codec_id codec;
	unsigned int channels;
};

FIXTURE_VARIANT_ADD(transfer, none_1) { .codec = KMIG_CODEC_NONE, .channels = 1 };
FIXTURE_VARIANT_ADD(transfer, zlib_2) { .codec = KMIG_CODEC_ZLIB, .channels = 2 };
FIXTURE_VARIANT_ADD(transfer, zstd_3) { .codec = KMIG_CODEC_ZSTD, .channels = 3 };
FIXTURE_VARIANT_ADD(transfer, lz4_4) { .codec = KMIG_CODEC_LZ4, .channels = 4 };

FIXTURE_SETUP(transfer)
{
	kmig_ram_init(&self->src);
	ASSERT_EQ(0, rx_start(&self->rt, NULL)) TH_LOG("receiver");
	kmig_send_opts_init(&self->o);
	self->o.nr_channels = variant->channels;
	self->o.codec = variant->codec;
}

/* After a failed check too: the receiver cancelled and joined first. */
FIXTURE_TEARDOWN(transfer)
{
	if (!self->rt.joined) {
		kmig_recv_cancel(self->rt.r, -ECANCELED);
		rx_join(&self->rt);
	}
	kmig_send_destroy(self->s);
	kmig_recv_destroy(self->rt.r);
	kmig_ram_free(&self->rt.ram);
	kmig_ram_free(&self->src);
}

TEST_F(transfer, integrity)
{
	struct kmig_stats ss, rs;
	struct kmig_ram *src = &self->src;
	struct rx_thread *rt = &self->rt;
	const char blob[] = "device state: cpu regs, pic, pit";
	const void *got;
	struct kmig_send *s;
	size_t len;

	ASSERT_EQ(0, make_src(src)) TH_LOG("source");
	ASSERT_EQ(0, kmig_send_create(&self->s, &self->o, src)) TH_LOG("create");
	s = self->s;
	ASSERT_EQ(0, kmig_send_connect(s, "127.0.0.1", rt->port))
		TH_LOG("connect: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_queue_all(s)) TH_LOG("queue");
	ASSERT_EQ(0, kmig_send_finish(s, blob, sizeof(blob)))
		TH_LOG("finish: %s", kmig_send_error(s));
	rx_join(rt);
	ASSERT_EQ(0, rt->ret) TH_LOG("receiver: %s", kmig_recv_error(rt->r));
	/* Holes stay holes: block 2 pages 300..1999 were never written.
	 * (Checked before the comparison: reading a memfd hole fills it.) */
	ASSERT_EQ(2000 * PG, lseek(rt->ram.blocks[2].fd, 300 * PG, SEEK_DATA))
		TH_LOG("hole filled");
	ASSERT_TRUE(same(src, &rt->ram)) TH_LOG("content differs");
	got = kmig_recv_devstate(rt->r, &len);
	ASSERT_TRUE(got && len == sizeof(blob) && !memcmp(got, blob, len)) TH_LOG("device state");
	kmig_send_stats(s, &ss);
	kmig_recv_stats(rt->r, &rs);
	ASSERT_EQ(4077, ss.sum.pages_none + ss.sum.pages_zero + ss.sum.pages_raw +
			ss.sum.pages_compressed)
		TH_LOG("sender page count");
	ASSERT_TRUE(rs.sum.pages_zero == ss.sum.pages_none + ss.sum.pages_zero &&
		    rs.sum.pages_raw == ss.sum.pages_raw &&
		    rs.sum.pages_compressed == ss.sum.pages_compressed)
		TH_LOG("receiver counts differ");
	ASSERT_TRUE(ss.sum.pages_zero == 200 && ss.sum.pages_raw >= 600)
		TH_LOG("kinds: zero %llu raw %llu", (unsigned long long)ss.sum.pages_zero,
		       (unsigned long long)ss.sum.pages_raw);
	/* Text pages compress, unless there is no codec. */
	ASSERT_EQ(variant->codec != KMIG_CODEC_NONE, ss.sum.pages_compressed > 0)
		TH_LOG("%llu pages compressed by %s", (unsigned long long)ss.sum.pages_compressed,
		       kmig_codec_name(variant->codec));
	ASSERT_EQ(rs.sum.bytes_wire, ss.sum.bytes_wire)
		TH_LOG("wire bytes %llu vs %llu", (unsigned long long)ss.sum.bytes_wire,
		       (unsigned long long)rs.sum.bytes_wire);
}

/*
 * Precopy-like: 30 iterations; each rewrites a random set of pages with
 * the iteration number (some are zeroed after having held data) and queues
 * exactly the dirty pages by bitmap. A flush only every 7th iteration, so
 * several versions of one page are in flight at once, on every channel of
 * the variant. The destination must equal the source at the end: versions
 * were applied in send order, and zero markers cleared written pages.
 */
TEST_F(transfer, resend_order)
{
	enum { NPG = 2048, ITER = 30 };
	struct kmig_ram *src = &self->src;
	struct rx_thread *rt = &self->rt;
	uint64_t dirty[NPG / 64], seed = 42;
	struct kmig_stats rs;
	struct kmig_send *s;
	uint8_t *m;

	ASSERT_EQ(0, kmig_ram_add_memfd(src, "ram", NPG * PG, NULL)) TH_LOG("memfd");
	m = src->blocks[0].base;
	ASSERT_EQ(0, kmig_send_create(&self->s, &self->o, src)) TH_LOG("create");
	s = self->s;
	ASSERT_EQ(0, kmig_send_connect(s, "127.0.0.1", rt->port)) TH_LOG("%s", kmig_send_error(s));
	for (int it = 0; it < ITER; it++) {
		memset(dirty, 0, sizeof(dirty));
		for (int k = 0; k < 400; k++) {
			uint64_t p = t_rand(&seed) % NPG;

			kmig_set_bit(dirty, p);
			if (it > 3 && t_rand(&seed) % 4 == 0)
				memset(m + p * PG, 0, PG);		/* zeroed page */
			else
				memset(m + p * PG, it + 1, PG / 2 + it);
		}
		/* Rewrite some pages again after queueing, then queue again. */
		ASSERT_EQ(0, kmig_send_queue(s, 0, 0, NPG, dirty)) TH_LOG("%s", kmig_send_error(s));
		for (int k = 0; k < 64; k++) {
			uint64_t p = t_rand(&seed) % NPG;

			memset(m + p * PG, 0x80 + it, 100);
			ASSERT_EQ(0, kmig_send_queue(s, 0, p, 1, NULL)) TH_LOG("requeue");
		}
		if (it % 7 == 6) {
			ASSERT_EQ(0, kmig_send_flush(s)) TH_LOG("flush: %s", kmig_send_error(s));
		}
	}
	ASSERT_EQ(0, kmig_send_finish(s, NULL, 0)) TH_LOG("finish: %s", kmig_send_error(s));
	rx_join(rt);
	ASSERT_EQ(0, rt->ret) TH_LOG("receiver: %s", kmig_recv_error(rt->r));
	ASSERT_TRUE(same(src, &rt->ram))
		TH_LOG("destination differs: a page version was reordered");
	kmig_recv_stats(rt->r, &rs);
	ASSERT_TRUE(rs.sum.pages_zeroed > 0) TH_LOG("no written page was zeroed");
	TH_LOG("pages zeroed after data: %llu, syncs: 4 + final",
	       (unsigned long long)rs.sum.pages_zeroed);
}

/* An unaligned range with a bitmap: exactly the marked pages arrive. */
TEST(bitmap_queue)
{
	enum { NPG = 1000, FIRST = 37, N = 700 };
	uint64_t bm[KMIG_BITMAP_WORDS(N)] = { 0 }, want = 0;
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct kmig_stats ss;
	struct rx_thread rt;
	struct kmig_ram src;

	kmig_ram_init(&src);
	ASSERT_EQ(0, kmig_ram_add_memfd(&src, "ram", NPG * PG, NULL)) TH_LOG("memfd");
	t_fill_random(src.blocks[0].base, NPG * PG, 9);
	for (int i = 0; i < N; i += 3) {
		kmig_set_bit(bm, i);
		want++;
	}
	ASSERT_EQ(0, rx_start(&rt, NULL)) TH_LOG("receiver");
	kmig_send_opts_init(&o);
	o.nr_channels = 3;
	ASSERT_EQ(0, kmig_send_create(&s, &o, &src)) TH_LOG("create");
	ASSERT_EQ(0, kmig_send_connect(s, "127.0.0.1", rt.port)) TH_LOG("%s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_queue(s, 0, FIRST, N, bm)) TH_LOG("queue");
	ASSERT_EQ(-EINVAL, kmig_send_queue(s, 0, 990, 11, NULL)) TH_LOG("range past the block");
	ASSERT_EQ(-EINVAL, kmig_send_queue(s, 1, 0, 1, NULL)) TH_LOG("block id");
	ASSERT_EQ(0, kmig_send_finish(s, NULL, 0)) TH_LOG("finish: %s", kmig_send_error(s));
	rx_join(&rt);
	ASSERT_EQ(0, rt.ret) TH_LOG("receiver: %s", kmig_recv_error(rt.r));
	for (int p = 0; p < NPG; p++) {
		bool sent = p >= FIRST && p < FIRST + N && (p - FIRST) % 3 == 0;

		ASSERT_EQ(sent, kmig_test_bit(rt.ram.blocks[0].written, p)) TH_LOG("page %d", p);
		if (sent) {
			ASSERT_EQ(0, memcmp(rt.ram.blocks[0].base + p * PG,
					    src.blocks[0].base + p * PG, PG))
				TH_LOG("page %d data", p);
		}
	}
	kmig_send_stats(s, &ss);
	ASSERT_TRUE(ss.pages_queued == want && ss.sum.pages_raw == want)
		TH_LOG("queued %llu raw %llu", (unsigned long long)ss.pages_queued,
		       (unsigned long long)ss.sum.pages_raw);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

/*
 * Every page of @src to the receiver running in @rt, over @fds (already
 * connected) or TCP to rt->port; the destination must equal the source.
 * Frees both sides.
 */
static void send_all(struct __test_metadata *_metadata, struct kmig_ram *src, struct rx_thread *rt,
		     const struct kmig_send_opts *o, const int *fds)
{
	struct kmig_send *s = NULL;
	int ret = kmig_send_create(&s, o, src);

	if (!ret)
		ret = fds ? kmig_send_start(s, fds) : kmig_send_connect(s, "127.0.0.1", rt->port);
	if (!ret)
		ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, "x", 1);
	EXPECT_EQ(0, ret) TH_LOG("send: %s", s ? kmig_send_error(s) : strerror(-ret));
	if (ret && s)
		kmig_send_cancel(s, ret);
	rx_join(rt);
	EXPECT_EQ(0, rt->ret) TH_LOG("receiver: %s", kmig_recv_error(rt->r));
	EXPECT_TRUE(!ret && !rt->ret && same(src, &rt->ram)) TH_LOG("content differs");
	kmig_send_destroy(s);
	kmig_recv_destroy(rt->r);
	kmig_ram_free(&rt->ram);
	kmig_ram_free(src);
}

/* Already connected sockets (socketpairs) instead of TCP connect/listen. */
TEST(connected_sockets)
{
	int sv[3][2], tx[3], rx[3];
	struct kmig_recv_opts ro = { .accept_timeout_ms = 5000 };
	struct kmig_send_opts o;
	struct rx_thread rt;
	struct kmig_ram src;

	ASSERT_EQ(0, make_src(&src)) TH_LOG("source");
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]))
			TH_LOG("pair");
		tx[i] = sv[i][0];
		rx[2 - i] = sv[i][1];	/* any order: the hellos say which is which */
	}
	memset(&rt, 0, sizeof(rt));
	kmig_ram_init(&rt.ram);
	ASSERT_EQ(0, kmig_recv_create(&rt.r, &ro, &rt.ram)) TH_LOG("create");
	ASSERT_EQ(0, kmig_recv_set_fds(rt.r, rx, 3)) TH_LOG("set fds");
	pthread_create(&rt.t, NULL, rx_main, &rt);
	kmig_send_opts_init(&o);
	o.nr_channels = 3;
	o.codec = KMIG_CODEC_ZLIB;
	send_all(_metadata, &src, &rt, &o, tx);
}

/*
 * Destination blocks whose files refuse splice() (O_APPEND: splice gives
 * EINVAL): the pages that already went into the pipe land through the
 * mapping, the rest of the block is received through the mapping, and the
 * destination equals the source.
 */
TEST(splice_refused)
{
	char dir[] = "/tmp/kmig-splice.XXXXXX", path[64];
	struct kmig_recv_opts ro = { .accept_timeout_ms = 10000 };
	struct kmig_send_opts o;
	struct rx_thread rt;
	struct kmig_ram src;

	ASSERT_TRUE(make_src(&src) == 0 && mkdtemp(dir)) TH_LOG("source");
	memset(&rt, 0, sizeof(rt));
	kmig_ram_init(&rt.ram);
	for (unsigned int i = 0; i < src.nr; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%u", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		ASSERT_TRUE(fd >= 0 && !ftruncate(fd, src.blocks[i].size) &&
			    !kmig_ram_add_fd(&rt.ram, src.blocks[i].name, fd, 0, true, NULL))
			TH_LOG("%s", path);
		close(fd);
		unlink(path);
	}
	rmdir(dir);
	ASSERT_TRUE(kmig_recv_create(&rt.r, &ro, &rt.ram) == 0 &&
		    kmig_recv_listen(rt.r, "127.0.0.1", "0") == 0)
		TH_LOG("receiver");
	snprintf(rt.port, sizeof(rt.port), "%u", kmig_recv_port(rt.r));
	pthread_create(&rt.t, NULL, rx_main, &rt);
	kmig_send_opts_init(&o);
	send_all(_metadata, &src, &rt, &o, NULL);
}

/*
 * The sender validates what comes back too. The test plays the receiver
 * on a socketpair: a reply with a bad CRC, a refused hello, then a SYNC_ACK
 * for the wrong barrier.
 */
struct fake_rx {
	int fd;
	int mode;
	pthread_t t;
};

static void *fake_rx_main(void *arg)
{
	struct fake_rx *f = arg;
	struct kmig_hello_reply rep = { .channel = 0 };
	uint8_t buf[KMIG_REPLY_SIZE], hdr[KMIG_HDR_SIZE];
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_SYNC_ACK, .arg = 99 };
	struct kmig_err e = { 0 };

	if (kmig_net_read_full(f->fd, buf, KMIG_HELLO_SIZE))
		return NULL;
	if (f->mode == 1) {
		rep.status = EPROTONOSUPPORT;
		strcpy(rep.msg, "version 1, expected 7");
	}
	kmig_reply_encode(buf, &rep);
	if (f->mode == 0)
		buf[20] ^= 1;		/* CRC no longer matches */
	kmig_net_write_full(f->fd, buf, KMIG_REPLY_SIZE);
	if (f->mode != 2)
		return NULL;
	/* Read packets until the SYNC, then acknowledge the wrong id. */
	for (;;) {
		static uint8_t body[KMIG_PAGES_BODY_MAX];

		if (kmig_net_read_full(f->fd, hdr, sizeof(hdr)) || kmig_hdr_decode(hdr, &h, &e) ||
		    kmig_net_read_full(f->fd, body, kmig_hdr_body_len(&h)))
			return NULL;
		if (h.type == KMIG_PKT_SYNC)
			break;
	}
	h = (struct kmig_pkt_hdr){ .type = KMIG_PKT_SYNC_ACK, .arg = 99 };
	kmig_pkt_build(hdr, &h, NULL, 0);
	kmig_net_write_full(f->fd, hdr, sizeof(hdr));
	return NULL;
}

FIXTURE(sender_validates) {
	struct kmig_ram src;
};

FIXTURE_VARIANT(sender_validates) {
	int mode;		/* of fake_rx_main() */
	const char *want;	/* in the sender's error */
};

FIXTURE_VARIANT_ADD(sender_validates, bad_crc) {
	.mode = 0, .want = "channel 0: hello reply: CRC32C",
};
FIXTURE_VARIANT_ADD(sender_validates, refused) {
	.mode = 1, .want = "channel 0: receiver refused the hello: version 1, expected 7",
};
FIXTURE_VARIANT_ADD(sender_validates, wrong_ack) {
	.mode = 2, .want = "channel 0: SYNC_ACK(99) from the receiver, expected SYNC_ACK(1)",
};

FIXTURE_SETUP(sender_validates)
{
	ASSERT_EQ(0, make_src(&self->src)) TH_LOG("source");
}

FIXTURE_TEARDOWN(sender_validates)
{
	kmig_ram_free(&self->src);
}

TEST_F(sender_validates, reply)
{
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct fake_rx f = { .mode = variant->mode };
	int sv[2], ret;

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) TH_LOG("pair");
	f.fd = sv[1];
	pthread_create(&f.t, NULL, fake_rx_main, &f);
	kmig_send_opts_init(&o);
	o.nr_channels = 1;
	ASSERT_EQ(0, kmig_send_create(&s, &o, &self->src)) TH_LOG("create");
	ret = kmig_send_start(s, &sv[0]);
	if (!ret)
		ret = kmig_send_queue(s, 0, 0, 10, NULL);
	if (!ret)
		ret = kmig_send_flush(s);
	TH_LOG("mode %d: %d %s", variant->mode, ret, kmig_send_error(s));
	EXPECT_TRUE(ret < 0 && strstr(kmig_send_error(s), variant->want))
		TH_LOG("mode %d: '%s'", variant->mode, kmig_send_error(s));
	kmig_send_destroy(s);
	pthread_join(f.t, NULL);
	close(sv[1]);
}

struct canceller {
	void *obj;
	int is_sender;
	int delay_ms;
};

static void *cancel_main(void *arg)
{
	struct canceller *c = arg;

	usleep(c->delay_ms * 1000);
	if (c->is_sender)
		kmig_send_cancel(c->obj, -ECANCELED);
	else
		kmig_recv_cancel(c->obj, -ECANCELED);
	return NULL;
}

/* A slow (rate-limited) transfer cancelled from another thread, from the
 * sender's side or from the receiver's. */
FIXTURE(cancel) {
};

FIXTURE_VARIANT(cancel) {
	bool sender_side;
};

FIXTURE_VARIANT_ADD(cancel, sender) { .sender_side = true };
FIXTURE_VARIANT_ADD(cancel, receiver) { .sender_side = false };

FIXTURE_SETUP(cancel)
{
}

FIXTURE_TEARDOWN(cancel)
{
}

TEST_F(cancel, transfer)
{
	bool sender_side = variant->sender_side;
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct rx_thread rt;
	struct kmig_ram src;
	struct canceller c;
	pthread_t t;
	uint64_t t0 = kmig_now_ns();
	int ret;

	kmig_ram_init(&src);
	ASSERT_EQ(0, kmig_ram_add_memfd(&src, "ram", 4096 * PG, NULL)) TH_LOG("memfd");
	t_fill_random(src.blocks[0].base, 4096 * PG, 5);
	ASSERT_EQ(0, rx_start(&rt, NULL)) TH_LOG("receiver");
	kmig_send_opts_init(&o);
	o.max_bandwidth = 4 << 20;	/* 16 MiB at 4 MiB/s: 4 s */
	ASSERT_EQ(0, kmig_send_create(&s, &o, &src)) TH_LOG("create");
	ASSERT_EQ(0, kmig_send_connect(s, "127.0.0.1", rt.port)) TH_LOG("%s", kmig_send_error(s));
	c = (struct canceller){ sender_side ? (void *)s : (void *)rt.r, sender_side, 300 };
	pthread_create(&t, NULL, cancel_main, &c);
	ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, NULL, 0);
	pthread_join(t, NULL);
	rx_join(&rt);
	TH_LOG("%s cancelled: sender %d '%s'; receiver %d '%s'; %.2f s",
	       sender_side ? "sender" : "receiver", ret, kmig_send_error(s), rt.ret,
	       kmig_recv_error(rt.r), (kmig_now_ns() - t0) / 1e9);
	EXPECT_TRUE(ret < 0 && rt.ret < 0) TH_LOG("both sides must fail");
	EXPECT_TRUE((kmig_now_ns() - t0) < 3000000000ULL) TH_LOG("took too long");
	if (sender_side) {
		EXPECT_TRUE(ret == -ECANCELED &&
			    strstr(kmig_recv_error(rt.r), "closed by the sender"))
			TH_LOG("messages");
	} else {
		EXPECT_TRUE(rt.ret == -ECANCELED && *kmig_send_error(s)) TH_LOG("messages");
	}
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

TEST(hello_refused)
{
	struct kmig_recv_opts ro = { .max_channels = 2, .accept_timeout_ms = 5000 };
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct rx_thread rt;
	struct kmig_ram src;
	int ret;

	ASSERT_EQ(0, make_src(&src)) TH_LOG("source");
	ASSERT_EQ(0, rx_start(&rt, &ro)) TH_LOG("receiver");
	kmig_send_opts_init(&o);
	o.nr_channels = 4;
	ASSERT_EQ(0, kmig_send_create(&s, &o, &src)) TH_LOG("create");
	ret = kmig_send_connect(s, "127.0.0.1", rt.port);
	rx_join(&rt);
	TH_LOG("sender: %s", kmig_send_error(s));
	TH_LOG("receiver: %s", kmig_recv_error(rt.r));
	EXPECT_TRUE(ret == -EINVAL && strstr(kmig_send_error(s), "receiver refused the hello: "
						      "4 channels, accepting at most 2"))
		TH_LOG("sender");
	EXPECT_EQ(-EINVAL, rt.ret) TH_LOG("receiver %d", rt.ret);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

/* The receiver's own RAM does not match: both fail, the sender says why. */
TEST(table_mismatch)
{
	struct kmig_recv_opts ro = { .accept_timeout_ms = 5000 };
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct rx_thread rt;
	struct kmig_ram src;
	int ret;

	ASSERT_EQ(0, make_src(&src)) TH_LOG("source");
	memset(&rt, 0, sizeof(rt));
	kmig_ram_init(&rt.ram);
	kmig_ram_add_memfd(&rt.ram, "ram0", 1000 * PG, NULL);
	kmig_ram_add_memfd(&rt.ram, "vga", 78 * PG, NULL);
	kmig_ram_add_memfd(&rt.ram, "rom:1", 3000 * PG, NULL);
	ASSERT_EQ(0, kmig_recv_create(&rt.r, &ro, &rt.ram)) TH_LOG("create");
	ASSERT_EQ(0, kmig_recv_listen(rt.r, "127.0.0.1", "0")) TH_LOG("listen");
	snprintf(rt.port, sizeof(rt.port), "%u", kmig_recv_port(rt.r));
	pthread_create(&rt.t, NULL, rx_main, &rt);
	kmig_send_opts_init(&o);
	ASSERT_EQ(0, kmig_send_create(&s, &o, &src)) TH_LOG("create");
	ret = kmig_send_connect(s, "127.0.0.1", rt.port);
	if (!ret)
		ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, NULL, 0);
	rx_join(&rt);
	TH_LOG("sender: %s", kmig_send_error(s));
	TH_LOG("receiver: %s", kmig_recv_error(rt.r));
	EXPECT_TRUE(ret < 0 && strstr(kmig_send_error(s), "receiver: channel 0 packet 0: "
				      "block 1 is 'vga' of 315392 bytes, expected 'vga' of 319488"))
		TH_LOG("sender message");
	EXPECT_EQ(-EINVAL, rt.ret) TH_LOG("receiver %d", rt.ret);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

TEST_HARNESS_MAIN
