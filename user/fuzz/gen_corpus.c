// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the fuzzers' seed corpus: valid hellos, replies, headers, tables,
 * and packet sequences (raw, zero-only, each codec, sync, device state,
 * end) in the harnesses' input formats. Run by `make fuzz-corpus`; the
 * output is committed (fuzz/corpus/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "base/crc.h"
#include "codec/codec.h"
#include "stream/wire.h"
#include "snap_small.h"
#include "kmig/vmm_proto.h"

#define PG KMIG_PAGE_SIZE

static const char *dir;

static void put(const char *sub, const char *name, const void *a, size_t alen)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (!f || fwrite(a, 1, alen, f) != alen || fclose(f)) {
		perror(path);
		exit(1);
	}
}

static uint8_t out[1 << 20];
static size_t olen;

static void rec(int channel, struct kmig_pkt_hdr *h, const void *body, size_t len)
{
	out[olen++] = channel;
	olen += kmig_pkt_build(out + olen, h, body, len);
}

/*
 * A PAGES packet of wire format 3: @nz zero pages at offsets 0.., @nd data
 * pages after them, in runs of @run consecutive pages (one page apart);
 * compressed: one frame per run (a run that does not shrink stored raw).
 * @bad: the first page's CRC is off (it lands unverified).
 */
static void pages_run(int ch, uint64_t seq, uint32_t block, uint64_t first, uint32_t nz,
		      uint32_t nd, uint32_t run, enum kmig_codec_id codec, bool bad)
{
	static uint8_t body[2 * PG * 8], raw[PG * 8], frames[4 * 8];
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_PAGES, .seq = seq, .block = block,
				  .arg = first, .nr_zero = nz, .nr_data = nd };
	size_t off = 0, pay = 0;
	struct kmig_codec c;

	for (size_t i = 0; i < nd * PG; i++)
		raw[i] = "kmig page data "[i % 15] + (i / 4096);
	for (uint32_t i = 0; i < nz; i++, off += 4)
		kmig_put_le32(body + off, i);
	for (uint32_t i = 0; i < nd; i++, off += 4)
		kmig_put_le32(body + off, nz + i + i / run);
	for (uint32_t i = 0; i < nd; i++, off += 4)
		kmig_put_le32(body + off, kmig_psum(raw + i * PG, PG) ^ (bad && !i));
	if (codec != KMIG_CODEC_NONE)
		kmig_codec_init(&c, codec, 0, KMIG_CODEC_COMPRESS);
	for (uint32_t i = 0; i < nd; i += run) {
		size_t n = (size_t)KMIG_MIN(run, nd - i) * PG, flen = n;
		uint8_t *dst = body + 8 * PG + pay;

		if (codec == KMIG_CODEC_NONE ||
		    kmig_codec_compress(&c, raw + i * PG, n, dst, n - 1, &flen))
			memcpy(dst, raw + i * PG, flen = n);
		kmig_put_le32(frames + 4 * h.nr_frames++, flen);
		pay += flen;
	}
	if (codec != KMIG_CODEC_NONE) {
		kmig_codec_fini(&c);
		memcpy(body + off, frames, 4 * h.nr_frames);
		off += 4 * h.nr_frames;
		h.codec = codec;
	} else {
		h.nr_frames = 0;
	}
	memmove(body + off, body + 8 * PG, pay);
	h.payload_len = pay;
	rec(ch, &h, body, off + pay);
}

static void pages(int ch, uint64_t seq, uint32_t block, uint64_t first, uint32_t nz, uint32_t nd,
		  enum kmig_codec_id codec)
{
	pages_run(ch, seq, block, first, nz, nd, 128, codec, false);
}

static void ctrl(int ch, uint8_t type, uint64_t seq, uint64_t arg, const void *p, size_t n)
{
	struct kmig_pkt_hdr h = { .type = type, .seq = seq, .arg = arg, .payload_len = n };

	rec(ch, &h, p, n);
}

static void packet_corpus(void)
{
	static const char *const names[] = { "none", "zlib", "zstd", "lz4" };
	struct kmig_ram ram;
	uint8_t tbl[256];
	size_t tl;

	for (int codec = 0; codec < KMIG_CODEC_NR; codec++) {
		char name[64];

		olen = 0;
		out[olen++] = codec;			/* table applied up front */
		pages(0, 1, 0, 0, 2, 3, codec);		/* chunk 0 of a: channel 0 */
		pages(1, 0, 0, 128, 1, 2, KMIG_CODEC_NONE);	/* chunk 1: channel 1 */
		pages(0, 2, 0, 256, 3, 0, KMIG_CODEC_NONE);	/* zero only, last chunk */
		pages(1, 1, 1, 0, 0, 1, codec);		/* block b */
		pages_run(1, 2, 1, 0, 1, 4, 2, codec, true);	/* 2 runs, page bad */
		pages_run(1, 3, 1, 0, 0, 4, 2, codec, false);	/* ...sent again */
		ctrl(0, KMIG_PKT_SYNC, 3, 1, NULL, 0);
		ctrl(0, KMIG_PKT_DEVICE_STATE, 4, 0, "device", 6);
		ctrl(0, KMIG_PKT_END, 5, 5, NULL, 0);
		ctrl(1, KMIG_PKT_END, 4, 4, NULL, 0);
		snprintf(name, sizeof(name), "stream-%s", names[codec]);
		put("packet", name, out, olen);
	}
	/* The table from the input (bit 2). */
	kmig_ram_init(&ram);
	kmig_ram_add_anon(&ram, "a", 300 * PG, NULL);
	kmig_ram_add_anon(&ram, "b", 64 * PG, NULL);
	tl = kmig_table_encode(tbl, &ram);
	olen = 0;
	out[olen++] = 4 | KMIG_CODEC_ZSTD;
	ctrl(0, KMIG_PKT_BLOCK_TABLE, 0, 0, tbl, tl);
	pages(0, 1, 0, 0, 1, 1, KMIG_CODEC_ZSTD);
	put("packet", "table-then-pages", out, olen);
	/* Table parser seed for fuzz_hello too. */
	out[0] = 3;
	memcpy(out + 1, tbl, tl);
	put("hello", "table", out, tl + 1);
	kmig_ram_free(&ram);
}

static void hello_corpus(void)
{
	struct kmig_hello h = { .version = KMIG_WIRE_VERSION, .features = KMIG_FEAT_ALL,
				.channel = 1, .nr_channels = 2, .codec = KMIG_CODEC_ZSTD,
				.page_shift = KMIG_PAGE_SHIFT, .chunk_pages = KMIG_CHUNK_PAGES };
	struct kmig_hello_reply r = { .status = 71, .channel = 1 };
	struct kmig_pkt_hdr ph = { .type = KMIG_PKT_PAGES, .seq = 9, .arg = 128, .nr_zero = 1,
				   .nr_data = 1, .payload_len = PG };
	uint8_t buf[1 + KMIG_REPLY_SIZE];

	memset(h.session, 0x5a, sizeof(h.session));
	buf[0] = 0;
	kmig_hello_encode(buf + 1, &h);
	put("hello", "hello", buf, 1 + KMIG_HELLO_SIZE);
	buf[0] = 1;
	strcpy(r.msg, "4 channels, accepting at most 2");
	kmig_reply_encode(buf + 1, &r);
	put("hello", "reply", buf, 1 + KMIG_REPLY_SIZE);
	buf[0] = 2;
	kmig_hdr_encode(buf + 1, &ph);
	put("hello", "header", buf, 1 + KMIG_HDR_SIZE);
}

/* Snapshot files for fuzz_snap: byte 0 is its mode (0 as is, 1 fixed up). */
static void snap_corpus(void)
{
	static uint8_t f[1 + 65536];
	size_t n;

	for (int mode = 0; mode < 2; mode++) {
		char name[32];

		f[0] = mode;
		n = snap_small_build(f + 1, 2, 1);
		snprintf(name, sizeof(name), "two-blocks-crc-%d", mode);
		put("snap", name, f, n + 1);
		n = snap_small_build(f + 1, 1, 0);
		snprintf(name, sizeof(name), "one-block-%d", mode);
		put("snap", name, f, n + 1);
	}
	/* Fixed up, checked in pieces (3); fixed up, restore's layout (5). */
	for (int mode = 3; mode <= 5; mode += 2) {
		char name[32];

		f[0] = mode;
		n = snap_small_build(f + 1, 2, 1);
		snprintf(name, sizeof(name), "two-blocks-crc-%d", mode);
		put("snap", name, f, n + 1);
	}
	/* A valid file whose header says WRITING. */
	n = snap_small_build(f + 1, 1, 1);
	f[0] = 1;
	kmig_put_le32(f + 1 + 16, KMIG_SNAP_STATE_WRITING);
	put("snap", "writing-1", f, n + 1);
}

/* fuzz_vmmc: the reply to the next request, payload after a success status. */
static void crec(uint8_t kind, const void *p, uint16_t len)
{
	out[olen++] = kind;
	memcpy(out + olen, &len, 2);
	if (len)
		memcpy(out + olen + 2, p, len);
	olen += 2 + (size_t)len;
}

/* A VMM's side of a whole session, in fuzz_vmmc's call order. */
static void vmmc_corpus(void)
{
	struct kmig_vmmp_hello_reply hello = {
		.version = 1, .ops = 0x7ffe, .nr_vcpus = 1, .nr_slots = 2, .page_size = PG,
		.max_msg = KMIG_VMMP_MAX_MSG, .vm_flags = KMIG_VMMP_VM_F_MANUAL_PROTECT,
		.name = "corpus",
	};
	struct {
		struct kmig_vmmp_slots_reply h;
		struct kmig_vmmp_slot_desc d[2];
	} slots = {
		.h = { .nr_slots = 2, .nr_memfds = 1, .bitmap_size = 4096 },
		.d = { { .slot = 0, .memfd = 0, .gpa = 0, .size = 8 * PG },
		       { .slot = 1, .memfd = 0, .gpa = 1 << 20, .size = 8 * PG, .offset = 8 * PG } },
	};
	struct kmig_vmmp_dirty_log_reply log = { .num_pages = 8, .bitmap_bytes = 8, .nr_dirty = 3 };
	struct kmig_vmmp_status st = { .state = KMIG_VMMP_STATE_PAUSED, .nr_vcpus = 1 };
	struct kmig_vmmp_throttle_reply thr = { 0 };
	struct { struct kmig_vmmp_device_state_chunk c; uint8_t b[100]; } dev = {
		.c = { .total_len = 100, .len = 100 } };
	struct kmig_vmmp_set_device_state_reply set = { .received = 8192, .complete = 1 };

	olen = 0;
	out[olen++] = 0;
	crec(2, &hello, sizeof(hello));
	crec(2 | 4 | 1 << 3, &slots, sizeof(slots));	/* + VM fd, bitmap, 1 memfd */
	crec(2, NULL, 0);				/* DIRTY_LOG_START */
	crec(2, &log, sizeof(log));
	crec(2, NULL, 0);				/* CLEAR_DIRTY_LOG */
	crec(2, NULL, 0);				/* PAUSE */
	crec(2, &st, sizeof(st));
	crec(2, &thr, sizeof(thr));
	crec(2, &dev, sizeof(dev));
	crec(2, &set, sizeof(set));
	crec(3, "\x0cCOMMIT: refused", 16);		/* an error reply */
	crec(2, NULL, 0);				/* RESUME */
	crec(2, NULL, 0);				/* DIRTY_LOG_STOP */
	crec(2, NULL, 0);				/* QUIT */
	put("vmmc", "session", out, olen);
}

/* fuzz_vmmp records in mode 3 (auto HELLO, harness-built headers). */
static void vrec(uint16_t type, const void *p, uint16_t len)
{
	memcpy(out + olen, &type, 2);
	memcpy(out + olen + 2, &len, 2);
	memcpy(out + olen + 4, p, len);
	olen += 4 + (size_t)len;
}

static void vmmp_corpus(void)
{
	struct kmig_vmmp_simple simple = { 0 };
	struct { struct kmig_vmmp_dirty_log_set q; uint32_t slots[2]; } start = {
		.q = { .nr_slots = 2 }, .slots = { 0, (1U << 16) | 2 } };
	struct kmig_vmmp_dirty_log_set all = { 0 };
	struct kmig_vmmp_get_dirty_log get = { .slot = 0 };
	struct kmig_vmmp_clear_dirty_log clr = { .slot = 0, .first_page = 128,
						 .num_pages = 72 };
	struct kmig_vmmp_throttle thr = { .percent = 50 };
	struct kmig_vmmp_get_device_state gds = { .max_len = 4096 };
	struct { struct kmig_vmmp_device_state_chunk c; uint8_t b[16]; } sds = {
		.c = { .total_len = 16, .len = 16 } };

	olen = 0;
	out[olen++] = 3;
	vrec(KMIG_VMMP_GET_SLOTS, &simple, sizeof(simple));
	vrec(KMIG_VMMP_DIRTY_LOG_START, &start, sizeof(start));
	vrec(KMIG_VMMP_GET_DIRTY_LOG, &get, sizeof(get));
	vrec(KMIG_VMMP_CLEAR_DIRTY_LOG, &clr, sizeof(clr));
	vrec(KMIG_VMMP_THROTTLE, &thr, sizeof(thr));
	vrec(KMIG_VMMP_QUERY, &simple, sizeof(simple));
	vrec(KMIG_VMMP_DIRTY_LOG_STOP, &all, sizeof(all));
	put("vmmp", "session", out, olen);

	olen = 0;
	out[olen++] = 3;
	vrec(KMIG_VMMP_PAUSE, &simple, sizeof(simple));
	vrec(KMIG_VMMP_GET_DEVICE_STATE, &gds, sizeof(gds));
	gds.offset = 4096;
	vrec(KMIG_VMMP_GET_DEVICE_STATE, &gds, sizeof(gds));
	vrec(KMIG_VMMP_SET_DEVICE_STATE, &sds, sizeof(sds));
	vrec(KMIG_VMMP_COMMIT, &simple, sizeof(simple));
	vrec(KMIG_VMMP_RESUME, &simple, sizeof(simple));
	simple.flags = KMIG_VMMP_QUIT_F_EXIT;
	vrec(KMIG_VMMP_QUIT, &simple, sizeof(simple));
	put("vmmp", "switchover", out, olen);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR (with DIR/hello, DIR/packet, DIR/snap, "
			"DIR/vmmp, DIR/vmmc)\n");
		return 2;
	}
	dir = argv[1];
	hello_corpus();
	packet_corpus();
	snap_corpus();
	vmmp_corpus();
	vmmc_corpus();
	return 0;
}
