// SPDX-License-Identifier: GPL-2.0
/*
 * A PAGES packet on the receiver (rx.h): the lists section and its CRC
 * checked before anything is written, then the page bytes straight into
 * the destination's memory (received into the pages' places, or decoded
 * into them), then each data page checked against its page sum where it
 * landed; unverified pages are marked until a later copy verifies. Under
 * TLS the pages come without page sums (KMIG_PKT_F_NO_PSUM): the records'
 * tags verified their bytes, and no pass over them is left to do here.
 * So do a plaintext sender's on a link both ends trust (KMIG_FEAT_NO_PSUM,
 * allowed at the hello): nothing checks those bytes, as in QEMU.
 */
#include <errno.h>
#include <string.h>

#include "base/bits.h"
#include "base/crc.h"
#include "pages/chunk.h"
#include "stream/rx.h"

/* One packet's lists, decoded and checked. */
struct pkt {
	const struct kmig_pkt_hdr *h;
	struct kmig_ram_block *b;
	uint32_t z[KMIG_CHUNK_PAGES], d[KMIG_CHUNK_PAGES], crc[KMIG_CHUNK_PAGES];
	uint32_t frame[KMIG_CHUNK_PAGES];	/* compressed: bytes per run */
};

/* A list of page offsets: strictly increasing, inside the chunk and the
 * block. Decoded into @out. */
static int decode_list(struct kmig_rx_chan *ch, const uint8_t *p, uint32_t n,
		       uint64_t first, uint64_t npages, const char *what, uint32_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		uint32_t off = kmig_get_le32(p + 4 * i);

		if (off >= KMIG_CHUNK_PAGES || first + off >= npages)
			return kmig_err_set(&ch->err, -ERANGE,
					    "%s list entry %u: page offset %u, expected < %llu",
					    what, i, off, (unsigned long long)KMIG_MIN(
						    (uint64_t)KMIG_CHUNK_PAGES, npages - first));
		if (i && off <= out[i - 1])
			return kmig_err_set(&ch->err, -EBADMSG,
					    "%s list entry %u: offset %u after %u, expected increasing",
					    what, i, off, out[i - 1]);
		out[i] = off;
	}
	return 0;
}

/* A page may not be both zero and data in one packet. */
static int check_disjoint(struct kmig_rx_chan *ch, const uint32_t *z, uint32_t nz,
			  const uint32_t *d, uint32_t nd)
{
	for (uint32_t i = 0, j = 0; i < nz && j < nd;) {
		if (z[i] == d[j])
			return kmig_err_set(&ch->err, -EBADMSG,
					    "page offset %u in both the zero and the data list", z[i]);
		if (z[i] < d[j])
			i++;
		else
			j++;
	}
	return 0;
}

/* End (exclusive) of the run of consecutive data pages starting at @i. */
static uint32_t run_end(const struct pkt *p, uint32_t i)
{
	uint32_t j = i + 1;

	while (j < p->h->nr_data && p->d[j] == p->d[j - 1] + 1)
		j++;
	return j;
}

/* Compressed: one frame per run, each 1 byte up to the run's raw size
 * (raw size: stored raw), together exactly the payload. */
static int check_frames(struct kmig_rx_chan *ch, struct pkt *p, const uint8_t *list)
{
	uint64_t sum = 0;
	uint32_t f = 0;

	for (uint32_t i = 0, j; i < p->h->nr_data; i = j, f++) {
		uint64_t raw;

		j = run_end(p, i);
		raw = (uint64_t)(j - i) * KMIG_PAGE_SIZE;
		if (f == p->h->nr_frames)
			return kmig_err_set(&ch->err, -EBADMSG, "%u frames for a data list of more "
					    "runs", p->h->nr_frames);
		p->frame[f] = kmig_get_le32(list + 4 * f);
		if (!p->frame[f] || p->frame[f] > raw)
			return kmig_err_set(&ch->err, -EBADMSG, "frame %u of %u bytes, expected 1..%llu "
					    "(%u pages)", f, p->frame[f], (unsigned long long)raw,
					    j - i);
		sum += p->frame[f];
	}
	if (f != p->h->nr_frames)
		return kmig_err_set(&ch->err, -EBADMSG, "%u frames for a data list of %u runs",
				    p->h->nr_frames, f);
	if (sum != p->h->payload_len)
		return kmig_err_set(&ch->err, -EBADMSG, "frames of %llu bytes, payload of %u",
				    (unsigned long long)sum, p->h->payload_len);
	return 0;
}

/* The lists section: read, CRC, every entry. Nothing written yet. */
static int read_lists(struct kmig_rx_chan *ch, struct pkt *p, const struct kmig_rx_io *io)
{
	const struct kmig_pkt_hdr *h = p->h;
	const uint8_t *l = ch->lists;
	uint64_t len = kmig_pages_lists_len(h);
	uint32_t crc;
	int ret = io->read(io->ctx, ch->lists, len);

	if (ret)
		return ret;
	crc = kmig_crc32c_buf(l, len);
	if (crc != h->body_crc)
		return kmig_err_set(&ch->err, -EBADMSG, "PAGES lists CRC32C %#010x, expected %#010x",
				    h->body_crc, crc);
	ret = decode_list(ch, l, h->nr_zero, h->arg, p->b->npages, "zero", p->z);
	l += 4 * h->nr_zero;
	if (!ret)
		ret = decode_list(ch, l, h->nr_data, h->arg, p->b->npages, "data", p->d);
	l += 4 * h->nr_data;
	if (!ret)
		ret = check_disjoint(ch, p->z, h->nr_zero, p->d, h->nr_data);
	if (!(h->flags & KMIG_PKT_F_NO_PSUM)) {
		for (uint32_t i = 0; i < h->nr_data; i++)
			p->crc[i] = kmig_get_le32(l + 4 * i);
		l += 4 * h->nr_data;
	}
	if (!ret && h->nr_frames)
		ret = check_frames(ch, p, l);
	return ret;
}

static uint8_t *page_at(const struct pkt *p, uint32_t off)
{
	return p->b->base + (p->h->arg + off) * KMIG_PAGE_SIZE;
}

/* Never written by this stream (fresh memory): its file can take it. */
static bool fresh_run(const struct pkt *p, uint32_t i, uint32_t j)
{
	for (; i < j; i++)
		if (p->b->written && kmig_test_bit(p->b->written, p->h->arg + p->d[i]))
			return false;
	return true;
}

/*
 * A raw payload into the pages' places. Runs of fresh pages of a block
 * with a file go by splice() (socket to pipe by reference, pipe to file in
 * one copy, no page fault: a store through the mapping would fault each
 * fresh 4 KiB page in and clear it first), unless the block lands through
 * its mapping (rx.h: enum kmig_landing, for huge pages); the others are
 * received through the mapping, all of them in one call.
 */
static int land_raw(struct kmig_rx_chan *ch, struct pkt *p, const struct kmig_rx_io *io)
{
	uint32_t bi = p->h->block;
	bool can_splice = io->splice && p->b->fd >= 0 && !kmig_test_bit(ch->no_splice, bi) &&
			  !kmig_test_bit(ch->s->land_map, bi);
	struct iovec iov[KMIG_CHUNK_PAGES];
	int cnt = 0, ret = 0;

	for (uint32_t i = 0, j; i < p->h->nr_data && !ret; i = j) {
		size_t len;
		bool mapped = false;

		j = run_end(p, i);
		len = (size_t)(j - i) * KMIG_PAGE_SIZE;
		if (!can_splice || !fresh_run(p, i, j)) {
			iov[cnt++] = (struct iovec){ page_at(p, p->d[i]), len };
			continue;
		}
		if (cnt)
			ret = io->readv(io->ctx, iov, cnt);
		cnt = 0;
		if (!ret)
			ret = io->splice(io->ctx, p->b->fd,
					 p->b->fd_offset + (p->h->arg + p->d[i]) * KMIG_PAGE_SIZE,
					 page_at(p, p->d[i]), len, &mapped);
		if (mapped) {
			kmig_set_bit(ch->no_splice, bi);
			can_splice = false;
		}
	}
	if (!ret && cnt)
		ret = io->readv(io->ctx, iov, cnt);
	if (!ret)
		KMIG_STAT_ADD(ch->stats.bytes_kcopied, p->h->payload_len);
	return ret;
}

/* A compressed payload: each frame decoded straight into its run. */
static int land_frames(struct kmig_rx_chan *ch, struct pkt *p, const struct kmig_rx_io *io)
{
	const uint8_t *src = ch->cbuf;
	uint64_t t0;
	int ret = io->read(io->ctx, ch->cbuf, p->h->payload_len);

	if (ret)
		return ret;
	t0 = kmig_now_ns();
	for (uint32_t i = 0, j, f = 0; i < p->h->nr_data; i = j, src += p->frame[f++]) {
		size_t raw;

		j = run_end(p, i);
		raw = (size_t)(j - i) * KMIG_PAGE_SIZE;
		if (p->frame[f] == raw)
			memcpy(page_at(p, p->d[i]), src, raw);	/* stored raw */
		else
			ret = kmig_codec_decompress(&ch->codec, src, p->frame[f],
						    page_at(p, p->d[i]), raw);
		if (ret)
			return kmig_err_set(&ch->err, ret, "frame %u: %s", f, ch->codec.err);
	}
	KMIG_STAT_ADD(ch->stats.ns_codec, kmig_now_ns() - t0);
	KMIG_STAT_ADD(ch->stats.bytes_copied, (uint64_t)p->h->nr_data * KMIG_PAGE_SIZE);
	return 0;
}

static void mark(struct kmig_rx_chan *ch, const struct pkt *p, uint64_t pg)
{
	uint64_t *bm = ch->s->unverified[p->h->block];

	KMIG_STAT_ADD(ch->stats.pages_badcrc, 1);
	if (!kmig_test_bit(bm, pg)) {
		kmig_set_bit(bm, pg);
		ch->unverified++;
	}
}

static void unmark(struct kmig_rx_chan *ch, const struct pkt *p, uint64_t pg)
{
	uint64_t *bm = ch->s->unverified[p->h->block];

	if (kmig_test_bit(bm, pg)) {
		kmig_clear_bit(bm, pg);
		ch->unverified--;
	}
}

/* Each data page where it landed against its CRC; written bits. Without
 * page sums (TLS), the record's tag verified the page's bytes: no pass. */
static void verify(struct kmig_rx_chan *ch, const struct pkt *p)
{
	bool psum = !(p->h->flags & KMIG_PKT_F_NO_PSUM);

	for (uint32_t i = 0; i < p->h->nr_data; i++) {
		uint64_t pg = p->h->arg + p->d[i];

		if (!psum || kmig_psum(page_at(p, p->d[i]), KMIG_PAGE_SIZE) == p->crc[i])
			unmark(ch, p, pg);
		else
			mark(ch, p, pg);
		/* Affinity gives each 64-page bitmap word one channel: no race. */
		if (p->b->written)
			kmig_set_bit(p->b->written, pg);
	}
	if (psum)
		KMIG_STAT_ADD(ch->stats.bytes_read, (uint64_t)p->h->nr_data * KMIG_PAGE_SIZE);
}

static void apply_zero(struct kmig_rx_chan *ch, const struct pkt *p)
{
	for (uint32_t i = 0; i < p->h->nr_zero; i++) {
		uint64_t pg = p->h->arg + p->z[i];

		/* Never-written memory is already zero: don't touch it. */
		if (p->b->written && kmig_test_bit(p->b->written, pg)) {
			memset(page_at(p, p->z[i]), 0, KMIG_PAGE_SIZE);
			KMIG_STAT_ADD(ch->stats.pages_zeroed, 1);
		}
		unmark(ch, p, pg);
	}
	KMIG_STAT_ADD(ch->stats.pages_zero, p->h->nr_zero);
}

int kmig_rx_pages(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		  const struct kmig_rx_io *io)
{
	struct pkt p = { .h = h, .b = &ch->s->ram->blocks[h->block] };
	bool compressed = h->nr_frames;
	int ret;

	if ((h->flags & KMIG_PKT_F_NO_PSUM) && !io->authenticated && !ch->s->no_psum)
		return kmig_err_set(&ch->err, -EBADMSG, "PAGES without page sums on a channel "
				    "without TLS, expected page sums (flags %#x)", h->flags);
	ret = read_lists(ch, &p, io);

	if (!ret)
		ret = compressed ? land_frames(ch, &p, io) : land_raw(ch, &p, io);
	if (ret)
		return ret;
	verify(ch, &p);
	apply_zero(ch, &p);
	kmig_chan_stats_batch(&ch->stats, h->nr_data, compressed, h->payload_len);
	return 0;
}

/* A page of this channel still unverified, for the message. */
static void find_unverified(struct kmig_rx_chan *ch, uint32_t *block, uint64_t *page)
{
	const struct kmig_rx_session *s = ch->s;

	for (uint32_t b = 0; b < s->ram->nr; b++) {
		for (uint64_t w = 0; w < KMIG_BITMAP_WORDS(s->ram->blocks[b].npages); w++) {
			uint64_t chunk = w * 64 / KMIG_CHUNK_PAGES;

			if (!s->unverified[b][w] ||
			    kmig_chunk_channel(s->chunk_base, b, chunk, s->nr_channels) != ch->id)
				continue;
			*block = b;
			*page = w * 64 + __builtin_ctzll(s->unverified[b][w]);
			return;
		}
	}
}

int kmig_rx_end_check(struct kmig_rx_chan *ch)
{
	uint32_t b = 0;
	uint64_t pg = 0;

	if (!ch->unverified)
		return 0;
	find_unverified(ch, &b, &pg);
	return kmig_err_set(&ch->err, -EBADMSG, "END with %llu page%s whose page sum did not match "
			    "where %s landed and that %s not sent again (block '%s' page %llu%s): "
			    "corrupted in transit", (unsigned long long)ch->unverified,
			    ch->unverified > 1 ? "s" : "", ch->unverified > 1 ? "they" : "it",
			    ch->unverified > 1 ? "were" : "was", ch->s->ram->blocks[b].name,
			    (unsigned long long)pg, ch->unverified > 1 ? " and others" : "");
}
