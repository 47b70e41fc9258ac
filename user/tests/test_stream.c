// SPDX-License-Identifier: GPL-2.0
/*
 * Sender and receiver over real TCP loopback in one process: integrity with
 * a device-state blob, page versions applied in send order across several
 * iterations (with and without flush barriers, pages rewritten and zeroed
 * between them), and clean failures: cancel on either side, a hello the
 * receiver refuses, a block table that does not match the receiver's RAM.
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
#include "t.h"

#define PG KMIG_PAGE_SIZE

struct rx_thread {
	pthread_t t;
	struct kmig_recv *r;
	struct kmig_ram ram;
	int ret;
	char port[16];
};

static void *rx_main(void *arg)
{
	struct rx_thread *rt = arg;

	rt->ret = kmig_recv_run(rt->r);
	return NULL;
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

static void t_integrity(struct t_state *st)
{
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct kmig_stats ss, rs;
	struct rx_thread rt;
	struct kmig_ram src;
	const char blob[] = "device state: cpu regs, pic, pit";
	const void *got;
	size_t len;

	T_ASSERT(st, make_src(&src) == 0, "source");
	T_ASSERT(st, rx_start(&rt, NULL) == 0, "receiver");
	kmig_send_opts_init(&o);
	o.nr_channels = 3;
	o.codec = KMIG_CODEC_ZSTD;
	T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
	T_ASSERT(st, kmig_send_connect(s, "127.0.0.1", rt.port) == 0, "connect: %s",
		 kmig_send_error(s));
	T_ASSERT(st, kmig_send_queue_all(s) == 0, "queue");
	T_ASSERT(st, kmig_send_finish(s, blob, sizeof(blob)) == 0, "finish: %s", kmig_send_error(s));
	pthread_join(rt.t, NULL);
	rt.t = pthread_self();
	T_ASSERT(st, rt.ret == 0, "receiver: %s", kmig_recv_error(rt.r));
	/* Holes stay holes: block 2 pages 300..1999 were never written.
	 * (Checked before the comparison: reading a memfd hole fills it.) */
	T_ASSERT(st, lseek(rt.ram.blocks[2].fd, 300 * PG, SEEK_DATA) == 2000 * PG, "hole filled");
	T_ASSERT(st, same(&src, &rt.ram), "content differs");
	got = kmig_recv_devstate(rt.r, &len);
	T_ASSERT(st, got && len == sizeof(blob) && !memcmp(got, blob, len), "device state");
	kmig_send_stats(s, &ss);
	kmig_recv_stats(rt.r, &rs);
	T_ASSERT(st, ss.sum.pages_none + ss.sum.pages_zero + ss.sum.pages_raw +
		 ss.sum.pages_compressed == 4077, "sender page count");
	T_ASSERT(st, rs.sum.pages_zero == ss.sum.pages_none + ss.sum.pages_zero &&
		 rs.sum.pages_raw == ss.sum.pages_raw &&
		 rs.sum.pages_compressed == ss.sum.pages_compressed, "receiver counts differ");
	T_ASSERT(st, ss.sum.pages_zero == 200 && ss.sum.pages_compressed > 0 &&
		 ss.sum.pages_raw >= 600, "kinds: zero %llu raw %llu", 
		 (unsigned long long)ss.sum.pages_zero, (unsigned long long)ss.sum.pages_raw);
	T_ASSERT(st, ss.sum.bytes_wire == rs.sum.bytes_wire, "wire bytes %llu vs %llu",
		 (unsigned long long)ss.sum.bytes_wire, (unsigned long long)rs.sum.bytes_wire);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

/*
 * Precopy-like: 30 iterations; each rewrites a random set of pages with
 * the iteration number (some are zeroed after having held data) and queues
 * exactly the dirty pages by bitmap. A flush only every 7th iteration, so
 * several versions of one page are in flight at once, on 4 channels. The
 * destination must equal the source at the end: versions were applied in
 * send order, and zero markers cleared written pages.
 */
static void t_resend_order(struct t_state *st)
{
	enum { NPG = 2048, ITER = 30 };
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct kmig_stats rs;
	struct rx_thread rt;
	struct kmig_ram src;
	uint64_t dirty[NPG / 64], seed = 42;
	uint8_t *m;

	kmig_ram_init(&src);
	T_ASSERT(st, kmig_ram_add_memfd(&src, "ram", NPG * PG, NULL) == 0, "memfd");
	m = src.blocks[0].base;
	T_ASSERT(st, rx_start(&rt, NULL) == 0, "receiver");
	kmig_send_opts_init(&o);
	o.nr_channels = 4;
	o.codec = KMIG_CODEC_LZ4;
	T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
	T_ASSERT(st, kmig_send_connect(s, "127.0.0.1", rt.port) == 0, "%s", kmig_send_error(s));
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
		T_ASSERT(st, kmig_send_queue(s, 0, 0, NPG, dirty) == 0, "%s", kmig_send_error(s));
		for (int k = 0; k < 64; k++) {
			uint64_t p = t_rand(&seed) % NPG;

			memset(m + p * PG, 0x80 + it, 100);
			T_ASSERT(st, kmig_send_queue(s, 0, p, 1, NULL) == 0, "requeue");
		}
		if (it % 7 == 6)
			T_ASSERT(st, kmig_send_flush(s) == 0, "flush: %s", kmig_send_error(s));
	}
	T_ASSERT(st, kmig_send_finish(s, NULL, 0) == 0, "finish: %s", kmig_send_error(s));
	pthread_join(rt.t, NULL);
	rt.t = pthread_self();
	T_ASSERT(st, rt.ret == 0, "receiver: %s", kmig_recv_error(rt.r));
	T_ASSERT(st, same(&src, &rt.ram), "destination differs: a page version was reordered");
	kmig_recv_stats(rt.r, &rs);
	T_ASSERT(st, rs.sum.pages_zeroed > 0, "no written page was zeroed");
	printf("# pages zeroed after data: %llu, syncs: 4 + final\n",
		 (unsigned long long)rs.sum.pages_zeroed);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

/* An unaligned range with a bitmap: exactly the marked pages arrive. */
static void t_bitmap_queue(struct t_state *st)
{
	enum { NPG = 1000, FIRST = 37, N = 700 };
	uint64_t bm[KMIG_BITMAP_WORDS(N)] = { 0 }, want = 0;
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct kmig_stats ss;
	struct rx_thread rt;
	struct kmig_ram src;

	kmig_ram_init(&src);
	T_ASSERT(st, kmig_ram_add_memfd(&src, "ram", NPG * PG, NULL) == 0, "memfd");
	t_fill_random(src.blocks[0].base, NPG * PG, 9);
	for (int i = 0; i < N; i += 3) {
		kmig_set_bit(bm, i);
		want++;
	}
	T_ASSERT(st, rx_start(&rt, NULL) == 0, "receiver");
	kmig_send_opts_init(&o);
	o.nr_channels = 3;
	T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
	T_ASSERT(st, kmig_send_connect(s, "127.0.0.1", rt.port) == 0, "%s", kmig_send_error(s));
	T_ASSERT(st, kmig_send_queue(s, 0, FIRST, N, bm) == 0, "queue");
	T_ASSERT(st, kmig_send_queue(s, 0, 990, 11, NULL) == -EINVAL, "range past the block");
	T_ASSERT(st, kmig_send_queue(s, 1, 0, 1, NULL) == -EINVAL, "block id");
	T_ASSERT(st, kmig_send_finish(s, NULL, 0) == 0, "finish: %s", kmig_send_error(s));
	pthread_join(rt.t, NULL);
	T_ASSERT(st, rt.ret == 0, "receiver: %s", kmig_recv_error(rt.r));
	for (int p = 0; p < NPG; p++) {
		bool sent = p >= FIRST && p < FIRST + N && (p - FIRST) % 3 == 0;

		T_ASSERT(st, kmig_test_bit(rt.ram.blocks[0].written, p) == sent, "page %d", p);
		if (sent)
			T_ASSERT(st, !memcmp(rt.ram.blocks[0].base + p * PG,
					     src.blocks[0].base + p * PG, PG), "page %d data", p);
	}
	kmig_send_stats(s, &ss);
	T_ASSERT(st, ss.pages_queued == want && ss.sum.pages_raw == want, "queued %llu raw %llu",
		 (unsigned long long)ss.pages_queued, (unsigned long long)ss.sum.pages_raw);
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
static void send_all(struct t_state *st, struct kmig_ram *src, struct rx_thread *rt,
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
	T_EXPECT(st, !ret, "send: %s", s ? kmig_send_error(s) : strerror(-ret));
	if (ret && s)
		kmig_send_cancel(s, ret);
	pthread_join(rt->t, NULL);
	T_EXPECT(st, rt->ret == 0, "receiver: %s", kmig_recv_error(rt->r));
	T_EXPECT(st, !ret && !rt->ret && same(src, &rt->ram), "content differs");
	kmig_send_destroy(s);
	kmig_recv_destroy(rt->r);
	kmig_ram_free(&rt->ram);
	kmig_ram_free(src);
}

/* Already connected sockets (socketpairs) instead of TCP connect/listen. */
static void t_socketpair(struct t_state *st)
{
	int sv[3][2], tx[3], rx[3];
	struct kmig_recv_opts ro = { .accept_timeout_ms = 5000 };
	struct kmig_send_opts o;
	struct rx_thread rt;
	struct kmig_ram src;

	T_ASSERT(st, make_src(&src) == 0, "source");
	for (int i = 0; i < 3; i++) {
		T_ASSERT(st, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]) == 0, "pair");
		tx[i] = sv[i][0];
		rx[2 - i] = sv[i][1];	/* any order: the hellos say which is which */
	}
	memset(&rt, 0, sizeof(rt));
	kmig_ram_init(&rt.ram);
	T_ASSERT(st, kmig_recv_create(&rt.r, &ro, &rt.ram) == 0, "create");
	T_ASSERT(st, kmig_recv_set_fds(rt.r, rx, 3) == 0, "set fds");
	pthread_create(&rt.t, NULL, rx_main, &rt);
	kmig_send_opts_init(&o);
	o.nr_channels = 3;
	o.codec = KMIG_CODEC_ZLIB;
	send_all(st, &src, &rt, &o, tx);
}

/*
 * Destination blocks whose files refuse splice() (O_APPEND: splice gives
 * EINVAL): the pages that already went into the pipe land through the
 * mapping, the rest of the block is received through the mapping, and the
 * destination equals the source.
 */
static void t_splice_refused(struct t_state *st)
{
	char dir[] = "/tmp/kmig-splice.XXXXXX", path[64];
	struct kmig_recv_opts ro = { .accept_timeout_ms = 10000 };
	struct kmig_send_opts o;
	struct rx_thread rt;
	struct kmig_ram src;

	T_ASSERT(st, make_src(&src) == 0 && mkdtemp(dir), "source");
	memset(&rt, 0, sizeof(rt));
	kmig_ram_init(&rt.ram);
	for (unsigned int i = 0; i < src.nr; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%u", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		T_ASSERT(st, fd >= 0 && !ftruncate(fd, src.blocks[i].size) &&
			 !kmig_ram_add_fd(&rt.ram, src.blocks[i].name, fd, 0, true, NULL), "%s", path);
		close(fd);
		unlink(path);
	}
	rmdir(dir);
	T_ASSERT(st, kmig_recv_create(&rt.r, &ro, &rt.ram) == 0 &&
		 kmig_recv_listen(rt.r, "127.0.0.1", "0") == 0, "receiver");
	snprintf(rt.port, sizeof(rt.port), "%u", kmig_recv_port(rt.r));
	pthread_create(&rt.t, NULL, rx_main, &rt);
	kmig_send_opts_init(&o);
	send_all(st, &src, &rt, &o, NULL);
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

static void t_sender_validates(struct t_state *st)
{
	static const char *const want[] = {
		"channel 0: hello reply: CRC32C",
		"channel 0: receiver refused the hello: version 1, expected 7",
		"channel 0: SYNC_ACK(99) from the receiver, expected SYNC_ACK(1)",
	};
	struct kmig_ram src;

	T_ASSERT(st, make_src(&src) == 0, "source");
	for (int mode = 0; mode < 3; mode++) {
		struct kmig_send_opts o;
		struct kmig_send *s;
		struct fake_rx f = { .mode = mode };
		int sv[2], ret;

		T_ASSERT(st, socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "pair");
		f.fd = sv[1];
		pthread_create(&f.t, NULL, fake_rx_main, &f);
		kmig_send_opts_init(&o);
		o.nr_channels = 1;
		T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
		ret = kmig_send_start(s, &sv[0]);
		if (!ret)
			ret = kmig_send_queue(s, 0, 0, 10, NULL);
		if (!ret)
			ret = kmig_send_flush(s);
		printf("# mode %d: %d %s\n", mode, ret, kmig_send_error(s));
		T_EXPECT(st, ret < 0 && strstr(kmig_send_error(s), want[mode]), "mode %d: '%s'",
			 mode, kmig_send_error(s));
		kmig_send_destroy(s);
		pthread_join(f.t, NULL);
		close(sv[1]);
	}
	kmig_ram_free(&src);
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

/* A slow (rate-limited) transfer cancelled from another thread. */
static void cancel_case(struct t_state *st, int sender_side)
{
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct rx_thread rt;
	struct kmig_ram src;
	struct canceller c;
	pthread_t t;
	uint64_t t0 = kmig_now_ns();
	int ret;

	kmig_ram_init(&src);
	T_ASSERT(st, kmig_ram_add_memfd(&src, "ram", 4096 * PG, NULL) == 0, "memfd");
	t_fill_random(src.blocks[0].base, 4096 * PG, 5);
	T_ASSERT(st, rx_start(&rt, NULL) == 0, "receiver");
	kmig_send_opts_init(&o);
	o.max_bandwidth = 4 << 20;	/* 16 MiB at 4 MiB/s: 4 s */
	T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
	T_ASSERT(st, kmig_send_connect(s, "127.0.0.1", rt.port) == 0, "%s", kmig_send_error(s));
	c = (struct canceller){ sender_side ? (void *)s : (void *)rt.r, sender_side, 300 };
	pthread_create(&t, NULL, cancel_main, &c);
	ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, NULL, 0);
	pthread_join(t, NULL);
	pthread_join(rt.t, NULL);
	rt.t = pthread_self();
	printf("# %s cancelled: sender %d '%s'; receiver %d '%s'; %.2f s\n",
	       sender_side ? "sender" : "receiver", ret, kmig_send_error(s), rt.ret,
	       kmig_recv_error(rt.r), (kmig_now_ns() - t0) / 1e9);
	T_EXPECT(st, ret < 0 && rt.ret < 0, "both sides must fail");
	T_EXPECT(st, (kmig_now_ns() - t0) < 3000000000ULL, "took too long");
	if (sender_side)
		T_EXPECT(st, ret == -ECANCELED && strstr(kmig_recv_error(rt.r), "closed by the sender"),
			 "messages");
	else
		T_EXPECT(st, rt.ret == -ECANCELED && *kmig_send_error(s), "messages");
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

static void t_cancel_sender(struct t_state *st) { cancel_case(st, 1); }
static void t_cancel_receiver(struct t_state *st) { cancel_case(st, 0); }

static void t_hello_refused(struct t_state *st)
{
	struct kmig_recv_opts ro = { .max_channels = 2, .accept_timeout_ms = 5000 };
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct rx_thread rt;
	struct kmig_ram src;
	int ret;

	T_ASSERT(st, make_src(&src) == 0, "source");
	T_ASSERT(st, rx_start(&rt, &ro) == 0, "receiver");
	kmig_send_opts_init(&o);
	o.nr_channels = 4;
	T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
	ret = kmig_send_connect(s, "127.0.0.1", rt.port);
	pthread_join(rt.t, NULL);
	rt.t = pthread_self();
	printf("# sender: %s\n# receiver: %s\n", kmig_send_error(s), kmig_recv_error(rt.r));
	T_EXPECT(st, ret == -EINVAL && strstr(kmig_send_error(s),
		 "receiver refused the hello: 4 channels, accepting at most 2"), "sender");
	T_EXPECT(st, rt.ret == -EINVAL, "receiver %d", rt.ret);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

/* The receiver's own RAM does not match: both fail, the sender says why. */
static void t_table_mismatch(struct t_state *st)
{
	struct kmig_recv_opts ro = { .accept_timeout_ms = 5000 };
	struct kmig_send_opts o;
	struct kmig_send *s;
	struct rx_thread rt;
	struct kmig_ram src;
	int ret;

	T_ASSERT(st, make_src(&src) == 0, "source");
	memset(&rt, 0, sizeof(rt));
	kmig_ram_init(&rt.ram);
	kmig_ram_add_memfd(&rt.ram, "ram0", 1000 * PG, NULL);
	kmig_ram_add_memfd(&rt.ram, "vga", 78 * PG, NULL);
	kmig_ram_add_memfd(&rt.ram, "rom:1", 3000 * PG, NULL);
	T_ASSERT(st, kmig_recv_create(&rt.r, &ro, &rt.ram) == 0, "create");
	T_ASSERT(st, kmig_recv_listen(rt.r, "127.0.0.1", "0") == 0, "listen");
	snprintf(rt.port, sizeof(rt.port), "%u", kmig_recv_port(rt.r));
	pthread_create(&rt.t, NULL, rx_main, &rt);
	kmig_send_opts_init(&o);
	T_ASSERT(st, kmig_send_create(&s, &o, &src) == 0, "create");
	ret = kmig_send_connect(s, "127.0.0.1", rt.port);
	if (!ret)
		ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, NULL, 0);
	pthread_join(rt.t, NULL);
	printf("# sender: %s\n# receiver: %s\n", kmig_send_error(s), kmig_recv_error(rt.r));
	T_EXPECT(st, ret < 0 && strstr(kmig_send_error(s), "receiver: channel 0 packet 0: "
		 "block 1 is 'vga' of 315392 bytes, expected 'vga' of 319488"), "sender message");
	T_EXPECT(st, rt.ret == -EINVAL, "receiver %d", rt.ret);
	kmig_send_destroy(s);
	kmig_recv_destroy(rt.r);
	kmig_ram_free(&rt.ram);
	kmig_ram_free(&src);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_integrity), T_CASE(t_resend_order), T_CASE(t_bitmap_queue),
		T_CASE(t_socketpair), T_CASE(t_splice_refused), T_CASE(t_sender_validates),
		T_CASE(t_cancel_sender), T_CASE(t_cancel_receiver), T_CASE(t_hello_refused),
		T_CASE(t_table_mismatch),
	};

	return t_main("stream", cases, sizeof(cases) / sizeof(cases[0]));
}
