// SPDX-License-Identifier: GPL-2.0
/*
 * Stream engine benchmarks (Documentation/benchmarks.rst, "stream engine").
 * Sender and receiver run in this process, on separate threads, over real
 * TCP loopback; the receiver gets fresh memfds each run (first-touch page
 * faults included, as on a real destination).
 *
 *  a  throughput vs channels and codec, against a raw TCP blaster
 *  b  codec context reused vs created per page
 *  c  an emulated 1 Gbit/s link: none, zlib, zstd, lz4, auto
 *  d  zero detection: variants, one thread vs sender threads; classification
 *     fallback (SEEK_DATA, pagemap) vs plain read-and-compare, 10% populated
 *  e  destination write path into fresh memfd memory: store through the
 *     mapping vs pwrite()
 *  l  the engine and the CLI (kmig send -> kmig receive) against the
 *     machine's limit in the same run: the smaller of an N-stream TCP
 *     blaster and N threads pwrite()ing into fresh memfd memory; page bytes
 *     read and copied per data page from the stream's own counters
 *  t  TLS 1.3 (a pre-shared key, AES-128-GCM) against plaintext, 1/2/4
 *     channels, runs interleaved; kernel TLS where the kernel has it
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <spawn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/bits.h"
#include "pages/classify.h"
#include "codec/codec.h"
#include "imagegen.h"
#include "base/net.h"
#include "stream/recv.h"
#include "stream/send.h"
#include "tls/tls.h"
#include "base/thp.h"
#include "base/zero.h"

#define PG KMIG_PAGE_SIZE
#define GIB (1024.0 * 1024 * 1024)
#define MIB (1024.0 * 1024)
#define MIX "zero:25,text:25,binary:25,random:25"

static uint64_t image_size = 2ULL << 30;
/*
 * A run queues the image in 16 MiB ranges and stops queueing once it has
 * run this long, so a slow codec (zlib on a loaded 2-core machine moves
 * 20-40 MB/s) measures its rate on a prefix instead of stretching the
 * bench; the regions' kinds are drawn uniformly, so a prefix has the mix.
 */
static double run_budget_s = 25;
#define RANGE_PAGES (16ULL << 20 >> 12)
#define QUEUE_DEPTH 64	/* chunks per channel: 32 MiB, bounds the overshoot */

/* ---- one transfer ---- */

struct result {
	double secs;
	uint64_t wire, pages_bytes, compressed_pages, raw_pages;
	struct kmig_chan_stats tx, rx;	/* totals of both sides */
	struct kmig_tls_stats tls_tx, tls_rx;
	int ret;
};

/* TLS for a transfer: the receiver's and the sender's (NULL: plaintext). */
struct tls_pair {
	struct kmig_tls *rx, *tx;
};

/* How the engine's receiver lands fresh pages (stream/rx.h); section (l)
 * runs the default (splice(): blocks of its own) and map beside it. */
static enum kmig_landing landing = KMIG_LAND_AUTO;

struct rx_arg {
	struct kmig_recv *r;
	int ret;
};

static void *rx_main(void *p)
{
	struct rx_arg *a = p;

	a->ret = kmig_recv_run(a->r);
	return NULL;
}

static struct result transfer(const struct kmig_ram *src, unsigned int channels,
			      enum kmig_codec_id codec, int autoc, uint64_t rate,
			      const struct tls_pair *tls)
{
	struct kmig_recv_opts ro = { .accept_timeout_ms = 20000, .tls = tls ? tls->rx : NULL,
				     .landing = landing };
	struct result res = { 0 };
	struct kmig_send_opts o;
	struct kmig_send *s = NULL;
	struct kmig_stats st;
	struct kmig_ram dst;
	struct rx_arg ra = { 0 };
	pthread_t t;
	char port[16];
	uint64_t t0;

	kmig_ram_init(&dst);
	kmig_send_opts_init(&o);
	o.nr_channels = channels;
	o.codec = codec;
	o.auto_compress = autoc;
	o.max_bandwidth = rate;
	o.queue_depth = QUEUE_DEPTH;
	o.tls = tls ? tls->tx : NULL;
	if ((res.ret = kmig_recv_create(&ra.r, &ro, &dst)) ||
	    (res.ret = kmig_recv_listen(ra.r, "127.0.0.1", "0")))
		return res;
	snprintf(port, sizeof(port), "%u", kmig_recv_port(ra.r));
	pthread_create(&t, NULL, rx_main, &ra);
	t0 = kmig_now_ns();
	res.ret = kmig_send_create(&s, &o, src);
	if (!res.ret)
		res.ret = kmig_send_connect(s, "127.0.0.1", port);
	for (uint64_t p = 0; !res.ret && p < src->blocks[0].npages; p += RANGE_PAGES) {
		res.ret = kmig_send_queue(s, 0, p, KMIG_MIN(RANGE_PAGES, src->blocks[0].npages - p),
					  NULL);
		if ((kmig_now_ns() - t0) / 1e9 > run_budget_s)
			break;
	}
	if (!res.ret)
		res.ret = kmig_send_finish(s, NULL, 0);
	if (res.ret && s)
		kmig_send_cancel(s, res.ret);
	pthread_join(t, NULL);
	res.secs = (kmig_now_ns() - t0) / 1e9;
	if (!res.ret && ra.ret)
		res.ret = ra.ret;
	if (res.ret)
		fprintf(stderr, "transfer failed: %s / %s\n", s ? kmig_send_error(s) : "",
			kmig_recv_error(ra.r));
	kmig_recv_stats(ra.r, &st);
	res.rx = st.sum;
	res.tls_rx = st.tls;
	if (s) {
		kmig_send_stats(s, &st);
		res.tx = st.sum;
		res.tls_tx = st.tls;
		res.wire = st.sum.bytes_wire;
		res.compressed_pages = st.sum.pages_compressed;
		res.raw_pages = st.sum.pages_raw;
		res.pages_bytes = (st.sum.pages_none + st.sum.pages_zero + st.sum.pages_raw +
				   st.sum.pages_compressed) * PG;
	}
	kmig_send_destroy(s);
	kmig_recv_destroy(ra.r);
	kmig_ram_free(&dst);
	return res;
}

/* ---- raw TCP blaster: N streams of 1 MiB writes ---- */

struct blast {
	int fd;
	uint64_t bytes;
	int reader;
};

static void *blast_main(void *p)
{
	struct blast *b = p;
	static __thread char buf[1 << 20];
	uint64_t left = b->bytes;

	while (left) {
		ssize_t n = b->reader ? recv(b->fd, buf, sizeof(buf), 0) :
			    send(b->fd, buf, KMIG_MIN(left, sizeof(buf)), MSG_NOSIGNAL);

		if (n <= 0)
			break;
		left -= n;
	}
	return NULL;
}

static double blaster(unsigned int streams, uint64_t total)
{
	struct blast b[2 * KMIG_MAX_CHANNELS];
	pthread_t t[2 * KMIG_MAX_CHANNELS];
	uint16_t port;
	char ps[16];
	int lfd;
	uint64_t t0;

	kmig_net_listen("127.0.0.1", "0", &lfd, &port);
	snprintf(ps, sizeof(ps), "%u", port);
	for (unsigned int i = 0; i < streams; i++) {
		b[2 * i] = (struct blast){ .bytes = total / streams };
		kmig_net_connect("127.0.0.1", ps, &b[2 * i].fd);
		b[2 * i + 1] = (struct blast){ .bytes = total / streams, .reader = 1 };
		kmig_net_accept(lfd, 5000, &b[2 * i + 1].fd);
	}
	t0 = kmig_now_ns();
	for (unsigned int i = 0; i < 2 * streams; i++)
		pthread_create(&t[i], NULL, blast_main, &b[i]);
	for (unsigned int i = 0; i < 2 * streams; i++)
		pthread_join(t[i], NULL);
	double secs = (kmig_now_ns() - t0) / 1e9;

	for (unsigned int i = 0; i < 2 * streams; i++)
		close(b[i].fd);
	close(lfd);
	return total / GIB / secs;
}

/* ---- images ---- */

static void mixed_image_fill(struct kmig_ram *ram, const char *mixspec)
{
	struct kmig_gen_mix mix;

	kmig_gen_parse_mix(mixspec, &mix);
	kmig_gen_fill(ram->blocks[0].base, ram->blocks[0].npages, &mix, 7);
}

static int mixed_image(struct kmig_ram *ram, uint64_t size, const char *mixspec)
{
	int ret;

	kmig_ram_init(ram);
	ret = kmig_ram_add_memfd(ram, "ram", size, NULL);
	if (!ret)
		mixed_image_fill(ram, mixspec);
	return ret;
}

static const char *const codec_names[] = { "none", "zlib", "zstd", "lz4", "auto" };

static void section_a(const struct kmig_ram *img)
{
	static const unsigned int chans[] = { 1, 2, 4 };
	double tcp[3];

	printf("\n== (a) throughput vs channels and codec: %.1f GiB image, mix %s ==\n",
	       img->blocks[0].size / GIB, MIX);
	printf("baseline: raw TCP loopback blaster, 1 MiB writes, median of 3 runs of 1 GiB\n");
	for (int i = 0; i < 3; i++) {
		double r[3];

		for (int k = 0; k < 3; k++)
			r[k] = blaster(chans[i], 1ULL << 30);
		tcp[i] = KMIG_MAX(KMIG_MIN(r[0], r[1]), KMIG_MIN(KMIG_MAX(r[0], r[1]), r[2]));
		printf("  %u stream%s  %6.2f GiB/s\n", chans[i], chans[i] > 1 ? "s" : " ", tcp[i]);
	}
	printf("%-6s %3s %8s %8s %11s %10s %9s %8s\n", "codec", "ch", "GiB", "time s",
	       "pages GiB/s", "wire MiB", "compr %", "vs TCP");
	for (int c = 0; c < 5; c++) {
		for (int i = 0; i < 3; i++) {
			struct result r = transfer(img, chans[i], c == 4 ? KMIG_CODEC_ZSTD : c,
						   c == 4, 0, NULL);
			double gibs = r.pages_bytes / GIB / r.secs;
			uint64_t data = r.raw_pages + r.compressed_pages;

			printf("%-6s %3u %8.2f %8.2f %11.2f %10.0f %8.0f%% %7.2fx%s\n", codec_names[c],
			       chans[i], r.pages_bytes / GIB, r.secs, gibs, r.wire / MIB,
			       data ? 100.0 * r.compressed_pages / data : 0, gibs / tcp[i],
			       r.ret ? "  FAILED" : "");
			fflush(stdout);
		}
	}
}

static void section_b(const struct kmig_ram *img)
{
	enum { NPAGES = 8192 };
	static uint8_t out[2 * PG];
	const uint8_t *base = img->blocks[0].base;
	uint8_t *pages = malloc((size_t)NPAGES * PG);
	uint64_t n = 0;

	/* Non-zero pages of the mixed image (text, binary, random). */
	for (uint64_t p = 0; p < img->blocks[0].npages && n < NPAGES; p++)
		if (!kmig_zero_check(base + p * PG, PG))
			memcpy(pages + n++ * PG, base + p * PG, PG);
	printf("\n== (b) codec context reused vs created per page: %llu non-zero pages, 1 thread ==\n",
	       (unsigned long long)n);
	printf("%-6s %16s %16s %8s\n", "codec", "reused pages/s", "per-page pages/s", "ratio");
	for (int c = KMIG_CODEC_ZLIB; c < KMIG_CODEC_NR; c++) {
		struct kmig_codec ctx;
		size_t len;
		uint64_t t0 = kmig_now_ns();

		kmig_codec_init(&ctx, c, 0, KMIG_CODEC_COMPRESS);
		for (uint64_t i = 0; i < n; i++)
			kmig_codec_compress(&ctx, pages + i * PG, PG, out, PG - 1, &len);
		kmig_codec_fini(&ctx);
		double reused = n / ((kmig_now_ns() - t0) / 1e9);

		t0 = kmig_now_ns();
		for (uint64_t i = 0; i < n; i++) {
			kmig_codec_init(&ctx, c, 0, KMIG_CODEC_COMPRESS);
			kmig_codec_compress(&ctx, pages + i * PG, PG, out, PG - 1, &len);
			kmig_codec_fini(&ctx);
		}
		double fresh = n / ((kmig_now_ns() - t0) / 1e9);

		printf("%-6s %16.0f %16.0f %7.2fx\n", codec_names[c], reused, fresh, reused / fresh);
	}
	free(pages);
}

static void section_c(const struct kmig_ram *img)
{
	uint64_t rate = 125000000;	/* 1 Gbit/s */
	double base = 0;

	printf("\n== (c) emulated 1 Gbit/s link (--max-bandwidth 1gbit), 2 channels, %.1f GiB mixed image ==\n",
	       img->blocks[0].size / GIB);
	printf("%-6s %8s %8s %11s %10s %9s %9s\n", "codec", "GiB", "time s", "pages GiB/s",
	       "wire MiB", "compr %", "vs none");
	for (int c = 0; c < 5; c++) {
		struct result r = transfer(img, 2, c == 4 ? KMIG_CODEC_ZSTD : c, c == 4, rate,
					   NULL);
		uint64_t data = r.raw_pages + r.compressed_pages;

		double gibs = r.pages_bytes / GIB / r.secs;

		if (!c)
			base = gibs;
		printf("%-6s %8.2f %8.2f %11.3f %10.0f %8.0f%% %8.2fx%s\n", codec_names[c],
		       r.pages_bytes / GIB, r.secs, gibs, r.wire / MIB,
		       data ? 100.0 * r.compressed_pages / data : 0, gibs / base,
		       r.ret ? "  FAILED" : "");
		fflush(stdout);
	}
}

/* Best of two passes: the first pass of a variant can pay for TLB misses
 * the second does not, which would favour whichever variant runs later. */
static double zero_rate(kmig_zero_fn fn, const uint8_t *p, uint64_t npages)
{
	double best = 0;

	for (int pass = 0; pass < 2; pass++) {
		uint64_t t0 = kmig_now_ns(), z = 0;

		for (uint64_t i = 0; i < npages; i++)
			z += fn(p + i * PG, PG);
		double r = npages * (double)PG / GIB / ((kmig_now_ns() - t0) / 1e9);

		if (z != npages)
			return -1;
		best = KMIG_MAX(best, r);
	}
	return best;
}

static bool memcmp_zero(const void *p, size_t len)
{
	static const uint8_t zeros[PG];

	return !memcmp(p, zeros, len);
}

struct cls_arg {
	const struct kmig_ram_block *b;
	uint64_t first, n;
};

static void *cls_main(void *p)
{
	struct cls_arg *a = p;
	struct kmig_classifier c;
	uint64_t *bm = malloc(KMIG_BITMAP_WORDS(a->n) * 8);

	kmig_classify_init(&c);
	kmig_classify(&c, a->b, a->first, a->n, 0, NULL, bm, NULL);
	kmig_classify_fini(&c);
	free(bm);
	return NULL;
}

/* @n threads classify equal shares of @b in parallel: GiB/s. */
static double classify_threads(const struct kmig_ram_block *b, unsigned int n)
{
	struct cls_arg a[8];
	pthread_t t[8];
	uint64_t t0 = kmig_now_ns(), share = b->npages / n / 64 * 64;

	for (unsigned int i = 0; i < n; i++) {
		a[i] = (struct cls_arg){ b, i * share, i == n - 1 ? b->npages - i * share : share };
		pthread_create(&t[i], NULL, cls_main, &a[i]);
	}
	for (unsigned int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	return b->size / GIB / ((kmig_now_ns() - t0) / 1e9);
}

static void section_d1(uint64_t size)
{
	struct kmig_ram img;
	uint64_t *bm = NULL;
	double one = 1;

	mixed_image(&img, size, "zerodata:1");
	const uint8_t *p = img.blocks[0].base;

	printf("\n== (d1) zero detection: %.1f GiB of written zero pages ==\n", size / GIB);
	printf("single thread, per variant (baseline memcmp against a zero page):\n");
	double ref = zero_rate(memcmp_zero, p, img.blocks[0].npages);

	printf("  %-8s %7.1f GiB/s\n", "memcmp", ref);
	for (int i = 0; kmig_zero_names[i]; i++) {
		kmig_zero_fn fn = kmig_zero_by_name(kmig_zero_names[i]);

		double r = fn ? zero_rate(fn, p, img.blocks[0].npages) : 0;

		if (fn)
			printf("  %-8s %7.1f GiB/s  %5.2fx memcmp%s\n", kmig_zero_names[i], r, r / ref,
			       strcmp(kmig_zero_names[i], kmig_zero_best_name()) ? "" : "  (chosen)");
	}
	printf("classification threads (each kmig_classify() on its share, no transfer):\n");
	for (unsigned int n = 1; n <= 4; n *= 2) {
		double r = classify_threads(&img.blocks[0], n);

		if (n == 1)
			one = r;
		printf("  %u thread%s %7.1f GiB/s  %5.2fx one thread\n", n, n > 1 ? "s" : " ", r,
		       r / one);
	}
	printf("whole transfer of the image (zero lists only), detection on the sender threads:\n");
	for (unsigned int ch = 1; ch <= 4; ch *= 2) {
		struct result r = transfer(&img, ch, KMIG_CODEC_NONE, 0, 0, NULL);

		printf("  %u channel%s %7.1f GiB/s  (%.2f s)\n", ch, ch > 1 ? "s" : " ",
		       size / GIB / r.secs, r.secs);
	}
	kmig_ram_free(&img);
	free(bm);
}

/* 10% populated: every tenth 64-page region on average gets random data. */
static int sparse_block(struct kmig_ram *ram, uint64_t size, int anon)
{
	struct kmig_gen_mix mix;
	int ret;

	kmig_ram_init(ram);
	kmig_gen_parse_mix("zero:9,random:1", &mix);
	ret = anon ? kmig_ram_add_anon(ram, "ram", size, NULL) :
		     kmig_ram_add_memfd(ram, "ram", size, NULL);
	if (!ret)
		kmig_gen_fill(ram->blocks[0].base, size / PG, &mix, 3);
	return ret;
}

static uint64_t allocated(const struct kmig_ram_block *b)
{
	struct stat st;

	if (b->fd >= 0 && !fstat(b->fd, &st))
		return st.st_blocks * 512ULL;
	return 0;
}

static void section_d2(void)
{
	uint64_t size = 4ULL << 30;
	uint64_t *bm = malloc(KMIG_BITMAP_WORDS(size / PG) * 8);
	struct kmig_classifier cls;
	double base[2] = { 0, 0 };

	printf("\n== (d2) classification fallback vs read-and-compare: 4 GiB, 10%% populated, "
	       "fresh memory per method ==\n");
	printf("%-8s %-22s %8s %10s %12s %14s\n", "memory", "method", "time s", "ms/GiB",
	       "vs read-all", "allocated MiB");
	kmig_classify_init(&cls);
	for (int read_all = 1; read_all >= 0; read_all--) {
		for (int anon = 0; anon <= 1; anon++) {
			struct kmig_ram ram;
			struct kmig_class_counts cnt = { 0 };
			kmig_zero_fn zero = kmig_zero_best();

			sparse_block(&ram, size, anon);
			const struct kmig_ram_block *b = &ram.blocks[0];
			uint64_t a0 = allocated(b), t0 = kmig_now_ns(), nz = 0;

			if (read_all) {
				for (uint64_t p = 0; p < b->npages; p++)
					nz += !zero(b->base + p * PG, PG);
			} else {
				kmig_classify(&cls, b, 0, b->npages, 0, NULL, bm, &cnt);
				nz = cnt.data;
			}
			double s = (kmig_now_ns() - t0) / 1e9;

			if (read_all)
				base[anon] = s;
			printf("%-8s %-22s %8.3f %10.1f %11.1fx %14.0f   (%llu data pages)\n",
			       anon ? "anon" : "memfd",
			       read_all ? "read and compare" : anon ? "pagemap + zero check" :
			       "SEEK_DATA + zero check", s, s * 1000 / (size / GIB), base[anon] / s,
			       anon ? 0.0 : (allocated(b) - a0) / MIB, (unsigned long long)nz);
			fflush(stdout);
			kmig_ram_free(&ram);
		}
	}
	kmig_classify_fini(&cls);
	free(bm);
}

static double fill_fresh(uint64_t size, int use_pwrite)
{
	size_t batch = KMIG_CHUNK_PAGES * PG;
	uint8_t *src = malloc(batch);
	struct kmig_ram ram;
	uint64_t t0;

	memset(src, 0x5a, batch);
	kmig_ram_init(&ram);
	kmig_ram_add_memfd(&ram, "ram", size, NULL);
	t0 = kmig_now_ns();
	for (uint64_t off = 0; off < size; off += batch) {
		if (use_pwrite)
			(void)!pwrite(ram.blocks[0].fd, src, batch, off);
		else
			memcpy(ram.blocks[0].base + off, src, batch);
	}
	double r = size / GIB / ((kmig_now_ns() - t0) / 1e9);

	kmig_ram_free(&ram);
	free(src);
	return r;
}

static void section_e(void)
{
	uint64_t size = 1ULL << 30;
	double store = fill_fresh(size, 0), pw = fill_fresh(size, 1);

	printf("\n== (e) receiver write path: 1 GiB into a fresh memfd, 512 KiB batches, 1 thread ==\n");
	printf("  %-56s %6.2f GiB/s\n", "store through the mapping (page fault + clear + copy)",
	       store);
	printf("  %-56s %6.2f GiB/s  %.2fx\n", "pwrite() (one copy, no fault: as the receiver's splice)",
	       pw, pw / store);
}

/* ---- (t) TLS against plaintext ---- */

static double median3(const double *v);
static double cpu_secs(int who);

/* Both sides' TLS with one fresh pre-shared key (a 0600 temporary file). */
static int tls_psk_pair(struct tls_pair *tp)
{
	char path[] = "/tmp/kmig-bench-psk.XXXXXX", hex[65];
	uint8_t key[32];
	struct kmig_tls_opts o = { .psk_file = path };
	struct kmig_err e = { 0 };
	int fd = mkstemp(path), ret;

	if (fd < 0)
		return -errno;
	if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
		close(fd);
		unlink(path);
		return -EIO;
	}
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	ret = write(fd, hex, 64) == 64 ? 0 : -EIO;
	close(fd);
	o.server = true;
	if (!ret)
		ret = kmig_tls_create(&tp->rx, &o, &e);
	o.server = false;
	if (!ret)
		ret = kmig_tls_create(&tp->tx, &o, &e);
	unlink(path);
	if (ret)
		fprintf(stderr, "TLS: %s\n", e.msg);
	return ret;
}

static const char *ktls_words(const struct result *r)
{
	return r->tls_tx.ktls_tx && r->tls_rx.ktls_rx ? "kernel both ways" :
	       r->tls_tx.ktls_tx ? "kernel sends, userspace receives" :
	       r->tls_rx.ktls_rx ? "userspace sends, kernel receives" : "userspace both ways";
}

/* One run of section t: pages GiB/s, and CPU seconds (both sides: this
 * process) per GiB of pages, which the other users of a shared machine
 * disturb less than the rate. */
static struct result run_t(const struct kmig_ram *img, unsigned int ch,
			   const struct tls_pair *tp, double *rate, double *cpu)
{
	double c0 = cpu_secs(RUSAGE_SELF);
	struct result r = transfer(img, ch, KMIG_CODEC_NONE, 0, 0, tp);

	*rate = r.ret ? 0 : r.pages_bytes / GIB / r.secs;
	*cpu = r.ret ? 0 : (cpu_secs(RUSAGE_SELF) - c0) / (r.pages_bytes / GIB);
	return r;
}

static void section_t(const struct kmig_ram *img)
{
	static const unsigned int chans[] = { 1, 2, 4 };
	struct tls_pair tp = { 0 };

	printf("\n== (t) TLS 1.3 against plaintext: %.1f GiB image, mix %s, codec none; "
	       "median of 3 interleaved runs each ==\n", img->blocks[0].size / GIB, MIX);
	if (tls_psk_pair(&tp))
		return;
	printf("%3s %12s %12s %9s %12s %12s %9s  %s\n", "ch", "plain GiB/s", "TLS GiB/s",
	       "TLS/plain", "plain CPU s", "TLS CPU s", "CPU ratio", "records (CPU s: both "
	       "sides, per GiB)");
	for (int i = 0; i < 3; i++) {
		double rate[2][3], cpu[2][3];
		struct result r = { 0 };

		for (int k = 0; k < 3; k++) {
			run_t(img, chans[i], NULL, &rate[0][k], &cpu[0][k]);
			r = run_t(img, chans[i], &tp, &rate[1][k], &cpu[1][k]);
		}
		double p = median3(rate[0]), t = median3(rate[1]);
		double pc = median3(cpu[0]), tc = median3(cpu[1]);

		printf("%3u %12.2f %12.2f %8.2fx %12.2f %12.2f %8.2fx  %s %s%s\n", chans[i], p, t,
		       p ? t / p : 0, pc, tc, pc ? tc / pc : 0, r.tls_tx.cipher, ktls_words(&r),
		       r.ret ? "  FAILED" : "");
		fflush(stdout);
	}
	kmig_tls_destroy(tp.rx);
	kmig_tls_destroy(tp.tx);
}

/* ---- (l) against the machine's limit ---- */

/* CPU seconds of this process (@who RUSAGE_SELF) or of its waited-for
 * children (RUSAGE_CHILDREN), user + system. */
static double cpu_secs(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

struct fill_arg {
	int fd;
	uint64_t off, len;
};

static void *fill_main(void *p)
{
	struct fill_arg *a = p;
	size_t batch = KMIG_CHUNK_PAGES * PG;
	uint8_t *src = malloc(batch);

	memset(src, 0x5a, batch);
	for (uint64_t o = a->off; o < a->off + a->len; o += batch)
		(void)!pwrite(a->fd, src, KMIG_MIN(batch, a->off + a->len - o), o);
	free(src);
	return NULL;
}

/* @n threads pwrite() equal shares of a fresh memfd of @size: GiB/s. */
static double pwrite_fresh(uint64_t size, unsigned int n)
{
	struct fill_arg a[KMIG_MAX_CHANNELS];
	pthread_t t[KMIG_MAX_CHANNELS];
	int fd = memfd_create("fresh", MFD_CLOEXEC);
	uint64_t t0, share = size / n / PG * PG;

	if (fd < 0 || ftruncate(fd, size))
		return 0;
	t0 = kmig_now_ns();
	for (unsigned int i = 0; i < n; i++) {
		a[i] = (struct fill_arg){ fd, i * share, i == n - 1 ? size - i * share : share };
		pthread_create(&t[i], NULL, fill_main, &a[i]);
	}
	for (unsigned int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	double r = size / GIB / ((kmig_now_ns() - t0) / 1e9);

	close(fd);
	return r;
}

/*
 * One thread copying into a fresh memfd through a mapping with
 * MADV_HUGEPAGE: GiB/s. What landing by map costs the destination under
 * shmem_enabled=advise (a huge page allocated and cleared per 2 MiB, then
 * the copy), so the limit that row is held against; pwrite() into the
 * same memfd gets 4 KiB pages.
 */
static double copy_fresh_huge(uint64_t size)
{
	size_t batch = KMIG_CHUNK_PAGES * PG;
	int fd = memfd_create("fresh-huge", MFD_CLOEXEC);
	uint8_t *src = malloc(batch), *dst = MAP_FAILED;
	double r = 0;

	if (fd >= 0 && src && !ftruncate(fd, size))
		dst = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (dst != MAP_FAILED) {
		uint64_t t0;

		memset(src, 0x5a, batch);
		madvise(dst, size, MADV_HUGEPAGE);
		t0 = kmig_now_ns();
		for (uint64_t o = 0; o < size; o += batch)
			memcpy(dst + o, src, KMIG_MIN(batch, size - o));
		r = size / GIB / ((kmig_now_ns() - t0) / 1e9);
		munmap(dst, size);
	}
	free(src);
	if (fd >= 0)
		close(fd);
	return r;
}

static pid_t spawn(char *const argv[])
{
	pid_t pid;

	return posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) ? -1 : pid;
}

/* Exit status of @pid (-1: none or killed); its CPU seconds into *@cpu. */
static int reap(pid_t pid, double *cpu)
{
	struct rusage ru = { 0 };
	int st;

	if (pid <= 0 || wait4(pid, &st, 0, &ru) != pid)
		return -1;
	if (cpu)
		*cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		       ru.ru_stime.tv_usec / 1e6;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The port a receiver wrote into @path, waiting up to 10 s. */
static int ready_port(const char *path, char *port, size_t len)
{
	for (int i = 0; i < 1000; i++) {
		FILE *f = fopen(path, "r");

		if (f) {
			bool got = fgets(port, len, f) && atoi(port) > 0;

			fclose(f);
			if (got) {
				port[strcspn(port, "\n")] = '\0';
				return 0;
			}
		}
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* kmig send -c N (block @src) -> kmig receive -o @dir: GiB/s of pages,
 * from the sender's start to both processes' exits; 0 on a failure.
 * @cpu: each process's CPU seconds, [0] the sender's, [1] the receiver's. */
static double cli_transfer(const char *kmig, const char *src, const char *dir, unsigned int n,
			   uint64_t size, double cpu[2])
{
	char ready[PATH_MAX], out[PATH_MAX], port[32], addr[64], blk[PATH_MAX + 8], ch[16];
	char *rx_argv[] = { (char *)kmig, "receive", "-q", "-R", ready, "-o", out, "127.0.0.1:0",
			    NULL };
	char *tx_argv[] = { (char *)kmig, "send", "-q", "-c", ch, "-b", blk, addr, NULL };
	pid_t rx, tx;
	uint64_t t0;
	int rc_tx, rc_rx;

	snprintf(ready, sizeof(ready), "%s/port", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(blk, sizeof(blk), "ram=%s", src);
	snprintf(ch, sizeof(ch), "%u", n);
	unlink(ready);
	mkdir(out, 0700);
	rx = spawn(rx_argv);
	if (rx < 0 || ready_port(ready, port, sizeof(port))) {
		reap(rx, NULL);
		return 0;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%s", port);
	t0 = kmig_now_ns();
	tx = spawn(tx_argv);
	rc_tx = reap(tx, &cpu[0]);
	rc_rx = reap(rx, &cpu[1]);
	double secs = (kmig_now_ns() - t0) / 1e9;

	snprintf(out, sizeof(out), "%s/out/ram", dir);
	unlink(out);
	snprintf(out, sizeof(out), "%s/out", dir);
	rmdir(out);
	unlink(ready);	/* else section_l() cannot remove @dir */
	return rc_tx || rc_rx ? 0 : size / GIB / secs;
}

static double median3(const double *v)
{
	return KMIG_MAX(KMIG_MIN(v[0], v[1]), KMIG_MIN(KMIG_MAX(v[0], v[1]), v[2]));
}

static void per_page(const char *who, const struct kmig_chan_stats *c)
{
	double data = (double)(c->pages_raw + c->pages_compressed) * PG;

	printf("  %-9s read %.2fx, copied %.2fx by userspace + %.2fx by the kernel\n", who,
	       c->bytes_read / data, c->bytes_copied / data, c->bytes_kcopied / data);
}

static void section_l(const char *self, unsigned int n)
{
	uint64_t size = KMIG_MIN(image_size, 1ULL << 30);
	char dir[] = "/dev/shm/kmig-bench.XXXXXX", src[PATH_MAX], kmig[PATH_MAX];
	/* [blaster, pwrite 1, pwrite N, engine, CLI, engine by map, huge copy]
	 * [rate, cpu][run] */
	double v[7][2][3];
	double side[2][3] = { { 0 } };	/* the CLI's [sender, receiver] CPU s / GiB [run] */
	struct kmig_ram img;
	struct result r = { 0 };
	char thp[20];
	int fd;

	kmig_shmem_thp(thp);
	/* build/bench/stream_bench -> build/kmig */
	snprintf(src, sizeof(src), "%s", self);
	snprintf(kmig, sizeof(kmig), "%s/../kmig", dirname(src));
	if (!mkdtemp(dir))
		return;
	snprintf(src, sizeof(src), "%s/ram", dir);
	fd = open(src, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	kmig_ram_init(&img);
	if (fd < 0 || ftruncate(fd, size) || kmig_ram_add_fd(&img, "ram", fd, size, true, NULL)) {
		perror(src);
		return;
	}
	close(fd);
	mixed_image_fill(&img, "random:1");
	printf("\n== (l) against the machine's limit: %.1f GiB of incompressible pages, %u "
	       "channels, codec none, loopback, medians of 3 (interleaved) ==\n", size / GIB, n);
	printf("CPU s / GiB: CPU time of both ends together (all threads; the CLI's: both "
	       "processes) per GiB moved\n");
	printf("landing: the engine's receiver makes its own memfds, so its default "
	       "(--landing auto) splices; the last row lands them as into a VMM's "
	       "(memfd THP shmem_enabled=%s%s), and is held against copying into fresh huge "
	       "pages\n", thp,
	       kmig_shmem_thp(NULL) == KMIG_THP_FAULT ? ": huge pages" : ": no huge pages by a fault");
	for (int i = 0; i < 3; i++) {
		for (int k = 0; k < 7; k++) {
			int who = k == 4 ? RUSAGE_CHILDREN : RUSAGE_SELF;
			double c0 = cpu_secs(who), rate;

			if (k == 0) {
				rate = blaster(n, size);
			} else if (k == 6) {
				rate = copy_fresh_huge(size);
			} else if (k <= 2) {
				rate = pwrite_fresh(size, k == 1 ? 1 : n);
			} else if (k == 3 || k == 5) {
				landing = k == 5 ? KMIG_LAND_MAP : KMIG_LAND_AUTO;
				r = transfer(&img, n, KMIG_CODEC_NONE, 0, 0, NULL);
				rate = r.ret ? 0 : r.pages_bytes / GIB / r.secs;
				landing = KMIG_LAND_AUTO;
			} else {
				double cpu[2] = { 0, 0 };

				rate = cli_transfer(kmig, src, dir, n, size, cpu);
				side[0][i] = cpu[0] / (size / GIB);
				side[1][i] = cpu[1] / (size / GIB);
			}
			v[k][0][i] = rate;
			v[k][1][i] = (cpu_secs(who) - c0) / (size / GIB);
		}
	}
	/* Landing in fresh memory: the better of one thread and N (N threads
	 * share one file's lock, as the receiver's channels do). The map row
	 * lands in huge pages: it is held against copying into those. */
	double lim = KMIG_MIN(median3(v[0][0]), KMIG_MAX(median3(v[1][0]), median3(v[2][0])));
	double lim_huge = KMIG_MIN(median3(v[0][0]), median3(v[6][0]));
	static const char *const what[] = {
		"TCP blaster, N streams of 1 MiB writes", "pwrite() into a fresh memfd, 1 thread",
		"pwrite() into a fresh memfd, N threads", "engine: kmig_send -> kmig_recv, memfds",
		"CLI: kmig send -> kmig receive, tmpfs", "engine, --landing map, memfds",
		"copy into a fresh memfd, huge pages",
	};
	static const int order[] = { 0, 1, 2, 6, 3, 4, 5 };

	printf("%-40s %8s %9s %12s %16s\n", "N = channels = streams = threads", "GiB/s",
	       "vs limit", "CPU s / GiB", "3 runs, GiB/s");
	for (int i = 0; i < 7; i++) {
		int k = order[i];
		double lo = KMIG_MIN(KMIG_MIN(v[k][0][0], v[k][0][1]), v[k][0][2]);
		double hi = KMIG_MAX(KMIG_MAX(v[k][0][0], v[k][0][1]), v[k][0][2]);

		printf("%-40s %8.2f %8.2fx %12.2f %9.2f-%.2f%s\n", what[k], median3(v[k][0]),
		       median3(v[k][0]) / (k >= 5 ? lim_huge : lim), median3(v[k][1]), lo, hi,
		       median3(v[k][0]) ? "" : "  FAILED");
		if (k == 6) {
			printf("%-40s %8.2f\n", "machine limit: min(blaster, best pwrite)", lim);
			printf("%-40s %8.2f   (the map row's)\n", "limit, huge pages: min(blaster, copy)",
			       lim_huge);
		}
	}
	/* The destination's own cost, comparable with one pwrite() thread's. */
	printf("CLI CPU s / GiB by process: kmig send %.2f, kmig receive %.2f\n",
	       median3(side[0]), median3(side[1]));
	printf("page bytes per data page (the engine's counters, last run):\n");
	per_page("sender", &r.tx);
	per_page("receiver", &r.rx);
	kmig_ram_free(&img);
	unlink(src);
	rmdir(dir);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "sections", required_argument, NULL, 'S' },
		{ "budget", required_argument, NULL, 'B' },
		{ "channels", required_argument, NULL, 'c' },
		{ 0 }
	};
	const char *sections = "labctde";
	unsigned int lchans = 2;
	struct kmig_ram img;
	int c;

	while ((c = getopt_long(argc, argv, "s:S:B:c:", opts, NULL)) != -1) {
		if (c == 'B') {
			run_budget_s = atof(optarg);
			continue;
		}
		if (c == 'c') {
			lchans = atoi(optarg);
			if (!lchans || lchans > KMIG_MAX_CHANNELS)
				return 2;
			continue;
		}
		if (c == 's')
			image_size = strtoull(optarg, NULL, 0) << (strchr(optarg, 'G') ? 30 :
								    strchr(optarg, 'M') ? 20 : 0);
		else if (c == 'S')
			sections = optarg;
		else
			return 2;
	}
	printf("kmig stream engine benchmark: %ld CPUs, zero check %s; sender and receiver "
	       "share the machine; runs stop queueing after %.0f s (--budget)\n",
	       sysconf(_SC_NPROCESSORS_ONLN), kmig_zero_best_name(), run_budget_s);
	if (strchr(sections, 'l'))
		section_l(argv[0], lchans);
	if (strpbrk(sections, "abct")) {
		uint64_t t0 = kmig_now_ns();

		if (mixed_image(&img, image_size, MIX))
			return 1;
		printf("image: %.1f GiB memfd, mix %s, generated in %.1f s\n", image_size / GIB, MIX,
		       (kmig_now_ns() - t0) / 1e9);
		if (strchr(sections, 'a'))
			section_a(&img);
		if (strchr(sections, 'b'))
			section_b(&img);
		if (strchr(sections, 'c'))
			section_c(&img);
		if (strchr(sections, 't'))
			section_t(&img);
		kmig_ram_free(&img);
	}
	if (strchr(sections, 'd')) {
		section_d1(image_size);
		section_d2();
	}
	if (strchr(sections, 'e'))
		section_e();
	return 0;
}
