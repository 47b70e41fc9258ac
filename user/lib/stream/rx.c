// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/bits.h"
#include "base/crc.h"
#include "base/thp.h"
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
	for (unsigned int i = 0; i < KMIG_MAX_BLOCKS; i++)
		free(s->unverified[i]);
	free(s->devstate);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

int kmig_rx_chan_init(struct kmig_rx_chan *ch, struct kmig_rx_session *s, unsigned int id)
{
	memset(ch, 0, sizeof(*ch));
	ch->s = s;
	ch->id = id;
	ch->lists = malloc(KMIG_PAGES_LISTS_MAX);
	if (s->codec != KMIG_CODEC_NONE)
		ch->cbuf = malloc(KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE);
	if (!ch->lists || (s->codec != KMIG_CODEC_NONE && !ch->cbuf)) {
		kmig_rx_chan_fini(ch);
		return -ENOMEM;
	}
	return kmig_codec_init(&ch->codec, s->codec, 0, KMIG_CODEC_DECOMPRESS);
}

void kmig_rx_chan_fini(struct kmig_rx_chan *ch)
{
	kmig_codec_fini(&ch->codec);
	free(ch->lists);
	free(ch->cbuf);
	free(ch->body);
	ch->lists = ch->cbuf = ch->body = NULL;
	ch->body_cap = 0;
}

void kmig_rx_session_reopen(struct kmig_rx_session *s)
{
	pthread_mutex_lock(&s->lock);
	free(s->devstate);
	s->devstate = NULL;
	s->devstate_len = 0;
	s->have_devstate = s->end_unverified = false;
	pthread_mutex_unlock(&s->lock);
}

void kmig_rx_chan_reopen(struct kmig_rx_chan *ch)
{
	ch->ended = ch->committed = false;
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

/* After END only COMMIT or ABORT may come: once, on channel 0 of a live
 * migration. */
static int check_after_end(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h)
{
	bool word = h->type == KMIG_PKT_COMMIT || h->type == KMIG_PKT_ABORT;
	int ret;

	if (!word || !ch->s->switchover || ch->id || ch->committed)
		return kmig_err_set(&ch->err, -EPROTO, "%s after END%s",
				    kmig_pkt_type_name(h->type),
				    word ? (ch->committed ? " and COMMIT or ABORT" :
				    ch->id ? " (COMMIT and ABORT only on channel 0)" :
				    " (not a live-migration session)") : "");
	ret = check_seq(ch, h);
	if (!ret)
		ch->seq++;
	return ret;
}

static int check_hdr(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h)
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
	case KMIG_PKT_ABORT:
		return kmig_err_set(&ch->err, -EPROTO, "%s before END",
				    kmig_pkt_type_name(h->type));
	default:
		return kmig_err_set(&ch->err, -EPROTO, "%s from the sender",
				    kmig_pkt_type_name(h->type));
	}
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
		int ret = ch->s->create ?
			  ch->s->create(ch->s->create_arg, ch->s->ram, ents[i].name, ents[i].size) :
			  kmig_ram_add_memfd(ch->s->ram, ents[i].name, ents[i].size, NULL);

		if (ret)
			return kmig_err_set(&ch->err, ret, "creating block '%s' of %llu bytes",
					    ents[i].name, (unsigned long long)ents[i].size);
	}
	return 0;
}

const char *const kmig_landing_names[] = { "auto", "splice", "map", NULL };

/*
 * How block @i's fresh pages land (enum kmig_landing), and the mapping's
 * advice. A block without a file lands through its mapping anyway.
 *
 * A block's file pages are read through this mapping once each, to check
 * them where they landed: that says nothing about how recently the
 * destination uses them, and counting it made munmap() mark every page
 * accessed (LRU moves: 0.05-0.13 s of kmig receive's exit per GiB, about
 * half of it gone with MADV_RANDOM, Linux 6.3+). Advice only: no error.
 */
static void choose_landing(struct kmig_rx_session *s, unsigned int i)
{
	const struct kmig_ram_block *b = &s->ram->blocks[i];

	if (b->fd < 0)
		return;
	/*
	 * auto: only into the caller's memfds (a VMM's), whose huge pages the
	 * guest runs on. A huge page is allocated whole, so a 2 MiB range
	 * with one data page no longer keeps its zero pages as holes, as the
	 * source's own huge pages do not; blocks made here keep them.
	 */
	if ((s->landing == KMIG_LAND_MAP || (s->landing == KMIG_LAND_AUTO && s->ram_given)) &&
	    kmig_thp_advise(b->fd, b->base, b->size, s->landing == KMIG_LAND_MAP))
		kmig_set_bit(s->land_map, i);
	madvise(b->base, b->size, MADV_RANDOM);
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
	for (unsigned int i = 0; !ret && i < n; i++) {
		s->unverified[i] = calloc(KMIG_BITMAP_WORDS(s->ram->blocks[i].npages), 8);
		if (!s->unverified[i])
			ret = -ENOMEM;
	}
	if (ret)
		goto out;
	for (unsigned int i = 0; i < n; i++)
		choose_landing(s, i);
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

/* END with pages unverified: a plain stream fails; a live migration's
 * fails at COMMIT (an ABORT, after which they come again, is fine). */
static int end_check(struct kmig_rx_chan *ch)
{
	struct kmig_rx_session *s = ch->s;
	int ret = kmig_rx_end_check(ch);

	if (!ret || !s->switchover)
		return ret;
	pthread_mutex_lock(&s->lock);
	if (!s->end_unverified)
		snprintf(s->end_why, sizeof(s->end_why), "channel %u: %s", ch->id, ch->err.msg);
	s->end_unverified = true;
	pthread_mutex_unlock(&s->lock);
	ch->err = (struct kmig_err){ 0 };
	return 0;
}

static int commit_check(struct kmig_rx_chan *ch)
{
	struct kmig_rx_session *s = ch->s;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (s->end_unverified)
		ret = kmig_err_set(&ch->err, -EBADMSG, "COMMIT refused: %s", s->end_why);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* A body read whole (not PAGES): CRC, then what it means. */
static int apply_body(struct kmig_rx_chan *ch, const struct kmig_pkt_hdr *h,
		      const uint8_t *body, enum kmig_rx_action *action)
{
	uint32_t crc = kmig_crc32c_buf(body, h->payload_len);

	if (crc != h->body_crc)
		return kmig_err_set(&ch->err, -EBADMSG, "%s body CRC32C %#010x, expected %#010x",
				    kmig_pkt_type_name(h->type), h->body_crc, crc);
	switch (h->type) {
	case KMIG_PKT_BLOCK_TABLE:
		return apply_table(ch, h, body);
	case KMIG_PKT_DEVICE_STATE:
		return apply_devstate(ch, h, body);
	case KMIG_PKT_SYNC:
		*action = KMIG_RX_SYNC_ACK;
		return 0;
	case KMIG_PKT_END:
		ch->ended = true;
		*action = KMIG_RX_END_ACK;
		return end_check(ch);
	case KMIG_PKT_COMMIT:
		ch->committed = true;
		*action = KMIG_RX_COMMIT;
		return commit_check(ch);
	case KMIG_PKT_ABORT:
		ch->committed = true;	/* the last word either way */
		*action = KMIG_RX_ABORT;
		return 0;
	default:
		return kmig_err_set(&ch->err, -EPROTO, "unexpected %s",
				    kmig_pkt_type_name(h->type));
	}
}

static int body_room(struct kmig_rx_chan *ch, size_t len)
{
	void *p;

	if (len <= ch->body_cap)
		return 0;
	p = realloc(ch->body, len);
	if (!p)
		return -ENOMEM;
	ch->body = p;
	ch->body_cap = len;
	return 0;
}

int kmig_rx_packet(struct kmig_rx_chan *ch, const struct kmig_rx_io *io,
		   struct kmig_pkt_hdr *h, enum kmig_rx_action *action)
{
	uint8_t hdr[KMIG_HDR_SIZE];
	int ret;

	*action = KMIG_RX_NONE;
	ret = io->read(io->ctx, hdr, sizeof(hdr));
	if (!ret)
		ret = kmig_hdr_decode(hdr, h, &ch->err);
	if (!ret)
		ret = check_hdr(ch, h);
	if (ret)
		return ret;
	KMIG_STAT_ADD(ch->stats.packets, 1);
	KMIG_STAT_ADD(ch->stats.bytes_wire, KMIG_HDR_SIZE + kmig_hdr_body_len(h));
	if (h->type == KMIG_PKT_PAGES)
		return kmig_rx_pages(ch, h, io);
	/* The length is bounded now: by the type (wire.c) or our limits. */
	ret = body_room(ch, h->payload_len);
	if (!ret)
		ret = io->read(io->ctx, ch->body, h->payload_len);
	if (!ret)
		ret = apply_body(ch, h, ch->body, action);
	return ret;
}

/* The transport of kmig_rx_feed(): a packet in memory. */
struct mem_src {
	const uint8_t *p;
	size_t left;
};

static int mem_read(void *ctx, void *buf, size_t len)
{
	struct mem_src *m = ctx;

	if (len > m->left)
		return -ENODATA;
	if (len)	/* a body of 0 bytes may have no buffer yet */
		memcpy(buf, m->p, len);
	m->p += len;
	m->left -= len;
	return 0;
}

static int mem_readv(void *ctx, struct iovec *iov, int cnt)
{
	int ret = 0;

	for (int i = 0; i < cnt && !ret; i++)
		ret = mem_read(ctx, iov[i].iov_base, iov[i].iov_len);
	return ret;
}

/* Into the file as the socket's splice does, with pwrite(). */
static int mem_splice(void *ctx, int fd, uint64_t off, void *map, size_t len, bool *mapped)
{
	struct mem_src *m = ctx;

	if (len > m->left)
		return -ENODATA;
	for (size_t done = 0; done < len;) {
		ssize_t n = pwrite(fd, m->p + done, len - done, off + done);

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		done += n;
	}
	m->p += len;
	m->left -= len;
	return 0;
}

int kmig_rx_feed(struct kmig_rx_chan *ch, const uint8_t *buf, size_t len, size_t *used,
		 enum kmig_rx_action *action)
{
	struct mem_src m = { buf, len };
	/* Not authenticated: packets in memory must carry their page sums. */
	const struct kmig_rx_io io = { mem_read, mem_readv, mem_splice, &m, false };
	struct kmig_pkt_hdr h;
	int ret = kmig_rx_packet(ch, &io, &h, action);

	if (ret == -ENODATA)
		return kmig_err_set(&ch->err, -ENODATA, "truncated packet: %zu bytes", len);
	*used = len - m.left;
	return ret;
}
