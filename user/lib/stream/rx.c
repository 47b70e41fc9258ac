// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "pages/chunk.h"
#include "stream/rx.h"

int kmig_rx_session_init(struct kmig_rx_session *s, struct kmig_ram *ram,
			 unsigned int nr_channels, uint8_t codec)
{
	memset(s, 0, sizeof(*s));
	s->ram = ram;
	s->ram_given = ram->nr > 0;
	s->max_ram = 64ULL << 30;
	s->max_devstate = 64U << 20;
	s->nr_channels = nr_channels;
	s->codec = codec;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return 0;
}

void kmig_rx_session_fini(struct kmig_rx_session *s)
{
	free(s->devstate);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

int kmig_rx_chan_init(struct kmig_rx_chan *ch, struct kmig_rx_session *s, unsigned int id)
{
	int ret;

	memset(ch, 0, sizeof(*ch));
	ch->s = s;
	ch->id = id;
	/* +1: codecs detect output past the expected size with it. */
	ch->stage = malloc(KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE + 1);
	if (!ch->stage)
		return -ENOMEM;
	ret = kmig_codec_init(&ch->codec, s->codec, 0, KMIG_CODEC_DECOMPRESS);
	if (ret) {
		free(ch->stage);
		ch->stage = NULL;
	}
	return ret;
}

void kmig_rx_chan_fini(struct kmig_rx_chan *ch)
{
	kmig_codec_fini(&ch->codec);
	free(ch->stage);
	ch->stage = NULL;
}

bool kmig_rx_table_ready(struct kmig_rx_session *s)
{
	bool ready;

	pthread_mutex_lock(&s->lock);
	ready = s->table_ready;
	pthread_mutex_unlock(&s->lock);
	return ready;
}

static int check_pages_hdr(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h)
{
	struct kmig_rx_session *s = ch->s;
	const struct kmig_ram_block *b;
	uint64_t chunk = h->arg / KMIG_CHUNK_PAGES;
	unsigned int owner;

	if (!kmig_rx_table_ready(s))
		return kmig_err_set(&ch->err, -EPROTO, "PAGES before the block table");
	if (h->block >= s->ram->nr)
		return kmig_err_set(&ch->err, -ERANGE, "block id %u, expected < %u",
				    h->block, s->ram->nr);
	b = &s->ram->blocks[h->block];
	if (h->arg >= b->npages)
		return kmig_err_set(&ch->err, -ERANGE,
				    "first page %llu past block '%s' (%llu pages)",
				    (unsigned long long)h->arg, b->name,
				    (unsigned long long)b->npages);
	if (h->codec != KMIG_CODEC_NONE && h->codec != s->codec)
		return kmig_err_set(&ch->err, -EPROTO, "codec %s, expected none or %s",
				    kmig_codec_name(h->codec), kmig_codec_name(s->codec));
	owner = kmig_chunk_channel(s->chunk_base, h->block, chunk, s->nr_channels);
	if (owner != ch->id)
		return kmig_err_set(&ch->err, -EPROTO,
				    "chunk %llu of block %u belongs to channel %u, received on %u",
				    (unsigned long long)chunk, h->block, owner, ch->id);
	return 0;
}

static int check_seq(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h)
{
	if (h->seq != ch->seq)
		return kmig_err_set(&ch->err, -EPROTO, "sequence %llu, expected %llu",
				    (unsigned long long)h->seq, (unsigned long long)ch->seq);
	return 0;
}

/* After END only COMMIT may come: once, on channel 0 of a live migration. */
static int check_after_end(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h)
{
	int ret;

	if (h->type != KMIG_PKT_COMMIT || !ch->s->switchover || ch->id || ch->committed)
		return kmig_err_set(&ch->err, -EPROTO, "%s after END%s",
				    kmig_pkt_type_name(h->type),
				    h->type == KMIG_PKT_COMMIT ? (ch->committed ? " and COMMIT" :
				    ch->id ? " (COMMIT only on channel 0)" :
				    " (not a live-migration session)") : "");
	ret = check_seq(ch, h);
	if (!ret)
		ch->seq++;
	return ret;
}

int kmig_rx_check_hdr(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h)
{
	struct kmig_rx_session *s = ch->s;
	int ret;

	if (ch->ended)
		return check_after_end(ch, h);
	ret = check_seq(ch, h);
	if (ret)
		return ret;
	if (ch->id == 0 && ch->seq == 0 && h->type != KMIG_PKT_BLOCK_TABLE)
		return kmig_err_set(&ch->err, -EPROTO, "%s first, expected BLOCK_TABLE",
				    kmig_pkt_type_name(h->type));
	ch->seq++;
	switch (h->type) {
	case KMIG_PKT_BLOCK_TABLE:
		if (ch->id != 0 || h->seq != 0)
			return kmig_err_set(&ch->err, -EPROTO,
					    "BLOCK_TABLE on channel %u seq %llu, expected "
					    "channel 0 seq 0", ch->id, (unsigned long long)h->seq);
		return 0;
	case KMIG_PKT_PAGES:
		return check_pages_hdr(ch, h);
	case KMIG_PKT_DEVICE_STATE:
		if (ch->id != 0)
			return kmig_err_set(&ch->err, -EPROTO, "DEVICE_STATE on channel %u, "
					    "expected channel 0", ch->id);
		if (h->payload_len > s->max_devstate)
			return kmig_err_set(&ch->err, -EFBIG, "device state of %u bytes, limit %u",
					    h->payload_len, s->max_devstate);
		return 0;
	case KMIG_PKT_END:
		if (h->arg != h->seq)
			return kmig_err_set(&ch->err, -EPROTO, "END counts %llu packets, received %llu",
					    (unsigned long long)h->arg, (unsigned long long)h->seq);
		return 0;
	case KMIG_PKT_SYNC:
		return 0;
	case KMIG_PKT_COMMIT:
		return kmig_err_set(&ch->err, -EPROTO, "COMMIT before END");
	default:
		return kmig_err_set(&ch->err, -EPROTO, "%s from the sender",
				    kmig_pkt_type_name(h->type));
	}
}

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

static void apply_zero(struct kmig_rx_chan *ch, struct kmig_ram_block *b, uint64_t first,
		       const uint32_t *z, uint32_t nz)
{
	for (uint32_t i = 0; i < nz; i++) {
		uint64_t pg = first + z[i];

		/* Never-written memory is already zero: don't touch it. */
		if (b->written && kmig_test_bit(b->written, pg)) {
			memset(b->base + pg * KMIG_PAGE_SIZE, 0, KMIG_PAGE_SIZE);
			KMIG_STAT_ADD(ch->stats.pages_zeroed, 1);
		}
	}
	KMIG_STAT_ADD(ch->stats.pages_zero, nz);
}

/*
 * Data pages, in runs of consecutive pages. Blocks with an fd get pwrite():
 * shmem allocates a page for a full-page write without clearing it first,
 * while a store through the mapping takes a page fault that clears the
 * page and then copies over it (the destination's first-touch cost).
 */
static int write_data(struct kmig_rx_chan *ch, struct kmig_ram_block *b, uint64_t first,
		      const uint32_t *d, uint32_t nd, const uint8_t *payload)
{
	for (uint32_t i = 0, j; i < nd; i = j) {
		size_t len;

		for (j = i + 1; j < nd && d[j] == d[j - 1] + 1; j++)
			;
		len = (size_t)(j - i) * KMIG_PAGE_SIZE;
		uint64_t off = (first + d[i]) * KMIG_PAGE_SIZE;
		const uint8_t *src = payload + (size_t)i * KMIG_PAGE_SIZE;

		if (b->fd < 0) {
			memcpy(b->base + off, src, len);
			continue;
		}
		for (size_t done = 0; done < len;) {
			ssize_t n = pwrite(b->fd, src + done, len - done,
					   b->fd_offset + off + done);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return kmig_err_set(&ch->err, n < 0 ? -errno : -EIO,
						    "writing %zu bytes at %llu of block '%s': %s",
						    len, (unsigned long long)off, b->name,
						    strerror(n < 0 ? errno : EIO));
			done += n;
		}
	}
	return 0;
}

static int apply_pages(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		       const uint8_t *body)
{
	struct kmig_ram_block *b = &ch->s->ram->blocks[h->block];
	uint32_t z[KMIG_CHUNK_PAGES], d[KMIG_CHUNK_PAGES];
	const uint8_t *payload = body + 4ULL * (h->nr_zero + h->nr_data);
	size_t raw = (size_t)h->nr_data * KMIG_PAGE_SIZE;
	int ret;

	ret = decode_list(ch, body, h->nr_zero, h->arg, b->npages, "zero", z);
	if (!ret)
		ret = decode_list(ch, body + 4ULL * h->nr_zero, h->nr_data, h->arg, b->npages,
				  "data", d);
	if (!ret)
		ret = check_disjoint(ch, z, h->nr_zero, d, h->nr_data);
	if (ret)
		return ret;
	if (h->codec != KMIG_CODEC_NONE) {
		uint64_t t0 = kmig_now_ns();

		ret = kmig_codec_decompress(&ch->codec, payload, h->payload_len, ch->stage, raw);
		if (ret)
			return kmig_err_set(&ch->err, ret, "%s", ch->codec.err);
		KMIG_STAT_ADD(ch->stats.ns_codec, kmig_now_ns() - t0);
		payload = ch->stage;
		KMIG_STAT_ADD(ch->stats.pages_compressed, h->nr_data);
		KMIG_STAT_ADD(ch->stats.bytes_compressed, h->payload_len);
		KMIG_STAT_ADD(ch->stats.batches_compressed, 1);
	} else if (h->nr_data) {
		KMIG_STAT_ADD(ch->stats.pages_raw, h->nr_data);
		KMIG_STAT_ADD(ch->stats.batches_raw, 1);
	}
	apply_zero(ch, b, h->arg, z, h->nr_zero);
	ret = write_data(ch, b, h->arg, d, h->nr_data, payload);
	for (uint32_t i = 0; !ret && i < h->nr_data; i++)
		/* Affinity gives each 64-page bitmap word one channel: no race. */
		if (b->written)
			kmig_set_bit(b->written, h->arg + d[i]);
	return ret;
}

/* The caller's blocks must be the sender's, in the same order. */
static int table_match(struct kmig_rx_chan *ch, const struct kmig_table_entry *ents,
		       unsigned int n)
{
	struct kmig_ram *ram = ch->s->ram;

	if (n != ram->nr)
		return kmig_err_set(&ch->err, -EINVAL, "block table has %u blocks, expected %u",
				    n, ram->nr);
	for (unsigned int i = 0; i < n; i++)
		if (strcmp(ents[i].name, ram->blocks[i].name) ||
		    ents[i].size != ram->blocks[i].size)
			return kmig_err_set(&ch->err, -EINVAL,
					    "block %u is '%s' of %llu bytes, expected '%s' of %llu",
					    i, ents[i].name, (unsigned long long)ents[i].size,
					    ram->blocks[i].name,
					    (unsigned long long)ram->blocks[i].size);
	return 0;
}

static int table_create(struct kmig_rx_chan *ch, const struct kmig_table_entry *ents,
			unsigned int n)
{
	uint64_t total = 0;

	for (unsigned int i = 0; i < n; i++)
		total += ents[i].size;	/* <= 256 * 2^46: no overflow */
	if (total > ch->s->max_ram)
		return kmig_err_set(&ch->err, -EFBIG, "block table totals %llu bytes, limit %llu",
				    (unsigned long long)total,
				    (unsigned long long)ch->s->max_ram);
	for (unsigned int i = 0; i < n; i++) {
		int ret = kmig_ram_add_memfd(ch->s->ram, ents[i].name, ents[i].size, NULL);

		if (ret)
			return kmig_err_set(&ch->err, ret, "creating block '%s' of %llu bytes",
					    ents[i].name, (unsigned long long)ents[i].size);
	}
	return 0;
}

static int apply_table(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		       const uint8_t *body)
{
	struct kmig_rx_session *s = ch->s;
	struct kmig_table_entry *ents = malloc(KMIG_MAX_BLOCKS * sizeof(*ents));
	unsigned int n = 0;
	int ret;

	if (!ents)
		return -ENOMEM;
	ret = kmig_table_decode(body, h->payload_len, ents, &n, &ch->err);
	if (!ret)
		ret = s->ram_given ? table_match(ch, ents, n) : table_create(ch, ents, n);
	if (!ret)
		ret = kmig_ram_track_written(s->ram);
	if (ret)
		goto out;
	for (unsigned int i = 0; i < n; i++)
		s->chunk_base[i + 1] = s->chunk_base[i] +
			KMIG_DIV_ROUND_UP(s->ram->blocks[i].npages, KMIG_CHUNK_PAGES);
	pthread_mutex_lock(&s->lock);
	s->table_ready = true;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
out:
	free(ents);
	return ret;
}

static int apply_devstate(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
			  const uint8_t *body)
{
	struct kmig_rx_session *s = ch->s;
	uint8_t *copy = malloc(h->payload_len ? h->payload_len : 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, body, h->payload_len);
	pthread_mutex_lock(&s->lock);
	if (s->have_devstate) {
		pthread_mutex_unlock(&s->lock);
		free(copy);
		return kmig_err_set(&ch->err, -EPROTO, "a second DEVICE_STATE");
	}
	s->devstate = copy;
	s->devstate_len = h->payload_len;
	s->have_devstate = true;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int kmig_rx_apply(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		  const uint8_t *body, enum kmig_rx_action *action)
{
	uint64_t len = kmig_hdr_body_len(h);
	uint32_t crc = kmig_crc32c_buf(body, len);

	*action = KMIG_RX_NONE;
	if (crc != h->body_crc)
		return kmig_err_set(&ch->err, -EBADMSG, "%s body CRC32C %#010x, expected %#010x",
				    kmig_pkt_type_name(h->type), h->body_crc, crc);
	KMIG_STAT_ADD(ch->stats.packets, 1);
	KMIG_STAT_ADD(ch->stats.bytes_wire, KMIG_HDR_SIZE + len);
	switch (h->type) {
	case KMIG_PKT_BLOCK_TABLE:
		return apply_table(ch, h, body);
	case KMIG_PKT_PAGES:
		return apply_pages(ch, h, body);
	case KMIG_PKT_DEVICE_STATE:
		return apply_devstate(ch, h, body);
	case KMIG_PKT_SYNC:
		*action = KMIG_RX_SYNC_ACK;
		return 0;
	case KMIG_PKT_END:
		ch->ended = true;
		*action = KMIG_RX_END_ACK;
		return 0;
	case KMIG_PKT_COMMIT:
		ch->committed = true;
		*action = KMIG_RX_COMMIT;
		return 0;
	default:
		return kmig_err_set(&ch->err, -EPROTO, "unexpected %s",
				    kmig_pkt_type_name(h->type));
	}
}

int kmig_rx_feed(struct kmig_rx_chan *ch, const uint8_t *buf, size_t len, size_t *used,
		 enum kmig_rx_action *action)
{
	struct kmig_pkt_hdr h;
	uint64_t body;
	int ret;

	*action = KMIG_RX_NONE;
	if (len < KMIG_HDR_SIZE)
		return kmig_err_set(&ch->err, -ENODATA, "truncated header: %zu of %u bytes",
				    len, KMIG_HDR_SIZE);
	ret = kmig_hdr_decode(buf, &h, &ch->err);
	if (!ret)
		ret = kmig_rx_check_hdr(ch, &h);
	if (ret)
		return ret;
	body = kmig_hdr_body_len(&h);
	if (body > len - KMIG_HDR_SIZE)
		return kmig_err_set(&ch->err, -ENODATA, "truncated %s: body of %llu bytes, %zu there",
				    kmig_pkt_type_name(h.type), (unsigned long long)body,
				    len - KMIG_HDR_SIZE);
	*used = KMIG_HDR_SIZE + body;
	return kmig_rx_apply(ch, &h, buf + KMIG_HDR_SIZE, action);
}
