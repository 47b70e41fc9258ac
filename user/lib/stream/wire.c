// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <string.h>

#include "base/bits.h"
#include "codec/codec.h"
#include "base/crc.h"
#include "stream/wire.h"

/* Offsets, documented in Documentation/wire-format.rst. */
#define HELLO_CRC_OFF	60
#define REPLY_MSG_OFF	16
#define REPLY_CRC_OFF	92
#define HDR_CRC_OFF	44

static const char *const type_names[] = {
	[KMIG_PKT_BLOCK_TABLE] = "BLOCK_TABLE", [KMIG_PKT_PAGES] = "PAGES",
	[KMIG_PKT_SYNC] = "SYNC", [KMIG_PKT_DEVICE_STATE] = "DEVICE_STATE",
	[KMIG_PKT_END] = "END", [KMIG_PKT_SYNC_ACK] = "SYNC_ACK",
	[KMIG_PKT_END_ACK] = "END_ACK", [KMIG_PKT_ERROR] = "ERROR",
	[KMIG_PKT_PREPARED] = "PREPARED", [KMIG_PKT_COMMIT] = "COMMIT",
	[KMIG_PKT_RESUMED] = "RESUMED", [KMIG_PKT_ABORT] = "ABORT",
};

const char *kmig_pkt_type_name(unsigned int type)
{
	return type && type <= KMIG_PKT_TYPE_MAX ? type_names[type] : "unknown";
}

static bool all_zero(const uint8_t *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* Common prologue of fixed-size messages: magic, version, size, CRC. */
static int check_fixed(const uint8_t *buf, size_t size, size_t crc_off, uint32_t magic,
		       const char *what, struct kmig_err *e)
{
	uint32_t m = kmig_get_le32(buf), crc = kmig_get_le32(buf + crc_off);
	uint32_t want = kmig_crc32c_buf(buf, crc_off);

	if (m != magic)
		return kmig_err_set(e, -EBADMSG, "%s: magic %#010x, expected %#010x",
				    what, m, magic);
	if (crc != want)
		return kmig_err_set(e, -EBADMSG, "%s: CRC32C %#010x, expected %#010x",
				    what, crc, want);
	if (kmig_get_le16(buf + 4) != KMIG_WIRE_VERSION)
		return kmig_err_set(e, -EPROTONOSUPPORT, "%s: version %u, expected %u",
				    what, kmig_get_le16(buf + 4), KMIG_WIRE_VERSION);
	if (kmig_get_le16(buf + 6) != size)
		return kmig_err_set(e, -EBADMSG, "%s: size %u, expected %zu",
				    what, kmig_get_le16(buf + 6), size);
	return 0;
}

void kmig_hello_encode(uint8_t buf[KMIG_HELLO_SIZE], const struct kmig_hello *h)
{
	memset(buf, 0, KMIG_HELLO_SIZE);
	kmig_put_le32(buf, KMIG_HELLO_MAGIC);
	kmig_put_le16(buf + 4, h->version);
	kmig_put_le16(buf + 6, KMIG_HELLO_SIZE);
	kmig_put_le64(buf + 8, h->features);
	memcpy(buf + 16, h->session, KMIG_SESSION_ID_LEN);
	kmig_put_le16(buf + 32, h->channel);
	kmig_put_le16(buf + 34, h->nr_channels);
	buf[36] = h->codec;
	buf[37] = h->page_shift;
	kmig_put_le16(buf + 38, h->chunk_pages);
	kmig_put_le32(buf + HELLO_CRC_OFF, kmig_crc32c_buf(buf, HELLO_CRC_OFF));
}

int kmig_hello_decode(const uint8_t buf[KMIG_HELLO_SIZE], struct kmig_hello *h,
		      struct kmig_err *e)
{
	int ret = check_fixed(buf, KMIG_HELLO_SIZE, HELLO_CRC_OFF, KMIG_HELLO_MAGIC, "hello", e);

	if (ret)
		return ret;
	h->version = kmig_get_le16(buf + 4);
	h->features = kmig_get_le64(buf + 8);
	memcpy(h->session, buf + 16, KMIG_SESSION_ID_LEN);
	h->channel = kmig_get_le16(buf + 32);
	h->nr_channels = kmig_get_le16(buf + 34);
	h->codec = buf[36];
	h->page_shift = buf[37];
	h->chunk_pages = kmig_get_le16(buf + 38);
	if (!all_zero(buf + 40, HELLO_CRC_OFF - 40))
		return kmig_err_set(e, -EBADMSG, "hello: reserved bytes 40..59 not zero");
	if (h->features & ~KMIG_FEAT_ALL)
		return kmig_err_set(e, -EOPNOTSUPP, "hello: feature bits %#llx, known %#llx",
				    (unsigned long long)h->features,
				    (unsigned long long)KMIG_FEAT_ALL);
	if (!h->nr_channels || h->nr_channels > KMIG_MAX_CHANNELS)
		return kmig_err_set(e, -EINVAL, "hello: %u channels, expected 1..%u",
				    h->nr_channels, KMIG_MAX_CHANNELS);
	if (h->channel >= h->nr_channels)
		return kmig_err_set(e, -EINVAL, "hello: channel id %u, expected < %u",
				    h->channel, h->nr_channels);
	if (h->codec >= KMIG_CODEC_NR)
		return kmig_err_set(e, -EOPNOTSUPP, "hello: codec %u, expected < %u",
				    h->codec, KMIG_CODEC_NR);
	if (h->page_shift != KMIG_PAGE_SHIFT)
		return kmig_err_set(e, -EINVAL, "hello: page size 2^%u, expected 2^%u",
				    h->page_shift, KMIG_PAGE_SHIFT);
	if (h->chunk_pages != KMIG_CHUNK_PAGES)
		return kmig_err_set(e, -EINVAL, "hello: chunk of %u pages, expected %u",
				    h->chunk_pages, KMIG_CHUNK_PAGES);
	return 0;
}

void kmig_reply_encode(uint8_t buf[KMIG_REPLY_SIZE], const struct kmig_hello_reply *r)
{
	memset(buf, 0, KMIG_REPLY_SIZE);
	kmig_put_le32(buf, KMIG_REPLY_MAGIC);
	kmig_put_le16(buf + 4, KMIG_WIRE_VERSION);
	kmig_put_le16(buf + 6, KMIG_REPLY_SIZE);
	kmig_put_le32(buf + 8, r->status);
	kmig_put_le16(buf + 12, r->channel);
	memcpy(buf + REPLY_MSG_OFF, r->msg, strnlen(r->msg, KMIG_REPLY_MSG_MAX));
	kmig_put_le32(buf + REPLY_CRC_OFF, kmig_crc32c_buf(buf, REPLY_CRC_OFF));
}

int kmig_reply_decode(const uint8_t buf[KMIG_REPLY_SIZE], struct kmig_hello_reply *r,
		      struct kmig_err *e)
{
	int ret = check_fixed(buf, KMIG_REPLY_SIZE, REPLY_CRC_OFF, KMIG_REPLY_MAGIC,
			      "hello reply", e);

	if (ret)
		return ret;
	r->status = kmig_get_le32(buf + 8);
	r->channel = kmig_get_le16(buf + 12);
	if (kmig_get_le16(buf + 14) || !all_zero(buf + 80, REPLY_CRC_OFF - 80))
		return kmig_err_set(e, -EBADMSG, "hello reply: reserved bytes not zero");
	if (r->status > 4095)
		return kmig_err_set(e, -EBADMSG, "hello reply: status %u, expected an errno",
				    r->status);
	/* Text for a human: keep printable ASCII only. */
	for (int i = 0; i < KMIG_REPLY_MSG_MAX; i++) {
		char c = buf[REPLY_MSG_OFF + i];

		r->msg[i] = (c >= 0x20 && c < 0x7f) || !c ? c : '?';
	}
	r->msg[KMIG_REPLY_MSG_MAX] = '\0';
	return 0;
}

void kmig_hdr_encode(uint8_t buf[KMIG_HDR_SIZE], const struct kmig_pkt_hdr *h)
{
	kmig_put_le32(buf, KMIG_PKT_MAGIC);
	buf[4] = h->type;
	buf[5] = h->codec;
	kmig_put_le16(buf + 6, h->flags);
	kmig_put_le64(buf + 8, h->seq);
	kmig_put_le32(buf + 16, h->block);
	kmig_put_le16(buf + 20, h->nr_zero);
	kmig_put_le16(buf + 22, h->nr_frames);
	kmig_put_le64(buf + 24, h->arg);
	kmig_put_le32(buf + 32, h->nr_data);
	kmig_put_le32(buf + 36, h->payload_len);
	kmig_put_le32(buf + 40, h->body_crc);
	kmig_put_le32(buf + HDR_CRC_OFF, kmig_crc32c_buf(buf, HDR_CRC_OFF));
}

uint64_t kmig_pages_lists_len(const struct kmig_pkt_hdr *h)
{
	uint64_t per_data = h->flags & KMIG_PKT_F_NO_PSUM ? 4 : 8;

	return 4ULL * h->nr_zero + per_data * h->nr_data + 4ULL * h->nr_frames;
}

uint64_t kmig_hdr_body_len(const struct kmig_pkt_hdr *h)
{
	return (h->type == KMIG_PKT_PAGES ? kmig_pages_lists_len(h) : 0) + h->payload_len;
}

static int pages_hdr_check(const struct kmig_pkt_hdr *h, struct kmig_err *e)
{
	uint64_t pages = (uint64_t)h->nr_zero + h->nr_data;
	uint64_t raw = (uint64_t)h->nr_data * KMIG_PAGE_SIZE;
	bool compressed = h->nr_data && h->codec != KMIG_CODEC_NONE;

	if (!pages || pages > KMIG_CHUNK_PAGES)
		return kmig_err_set(e, -EBADMSG, "PAGES: %u zero + %u data pages, expected 1..%u",
				    h->nr_zero, h->nr_data, KMIG_CHUNK_PAGES);
	if (h->arg % KMIG_CHUNK_PAGES)
		return kmig_err_set(e, -EBADMSG,
				    "PAGES: first page %llu, expected a multiple of %u",
				    (unsigned long long)h->arg, KMIG_CHUNK_PAGES);
	if (h->codec >= KMIG_CODEC_NR)
		return kmig_err_set(e, -EBADMSG, "PAGES: codec %u, expected < %u",
				    h->codec, KMIG_CODEC_NR);
	if (!compressed && h->payload_len != raw)
		return kmig_err_set(e, -EBADMSG,
				    "PAGES: raw payload of %u bytes, expected %llu (%u pages)",
				    h->payload_len, (unsigned long long)raw, h->nr_data);
	if (compressed && (!h->payload_len || h->payload_len >= raw))
		return kmig_err_set(e, -EBADMSG,
				    "PAGES: compressed payload of %u bytes, expected 1..%llu",
				    h->payload_len, (unsigned long long)raw - 1);
	if (!h->nr_data && h->codec != KMIG_CODEC_NONE)
		return kmig_err_set(e, -EBADMSG, "PAGES: codec %u without data pages", h->codec);
	if (!compressed && h->nr_frames)
		return kmig_err_set(e, -EBADMSG, "PAGES: %u frames in a raw packet, expected 0",
				    h->nr_frames);
	if (compressed && (!h->nr_frames || h->nr_frames > h->nr_data))
		return kmig_err_set(e, -EBADMSG, "PAGES: %u frames for %u data pages, expected 1..%u",
				    h->nr_frames, h->nr_data, h->nr_data);
	return 0;
}

/* Per type: which fields may be non-zero, payload bounds. */
static int type_check(const struct kmig_pkt_hdr *h, struct kmig_err *e)
{
	const char *name = kmig_pkt_type_name(h->type);
	bool has_arg = h->type == KMIG_PKT_SYNC || h->type == KMIG_PKT_SYNC_ACK ||
		       h->type == KMIG_PKT_END || h->type == KMIG_PKT_END_ACK;
	uint32_t min = 0, max = 0;

	if (h->type == KMIG_PKT_PAGES)
		return pages_hdr_check(h, e);
	if (h->codec || h->block || h->nr_zero || h->nr_frames || h->nr_data ||
	    (!has_arg && h->arg))
		return kmig_err_set(e, -EBADMSG, "%s: codec %u block %u zero %u frames %u data %u "
				    "arg %llu, expected 0", name, h->codec, h->block, h->nr_zero,
				    h->nr_frames, h->nr_data,
				    has_arg ? 0ULL : (unsigned long long)h->arg);
	if (h->type == KMIG_PKT_BLOCK_TABLE) {
		min = 4;
		max = KMIG_TABLE_BODY_MAX;
	} else if (h->type == KMIG_PKT_DEVICE_STATE) {
		max = UINT32_MAX;	/* the receiver applies its own limit */
	} else if (h->type == KMIG_PKT_ERROR) {
		min = 1;
		max = KMIG_ERROR_TEXT_MAX;
	} else if (h->type == KMIG_PKT_RESUMED) {
		min = max = KMIG_RESUMED_SIZE;
	}
	if (h->payload_len < min || h->payload_len > max)
		return kmig_err_set(e, -EBADMSG, "%s: payload of %u bytes, expected %u..%u",
				    name, h->payload_len, min, max);
	return 0;
}

int kmig_hdr_decode(const uint8_t buf[KMIG_HDR_SIZE], struct kmig_pkt_hdr *h,
		    struct kmig_err *e)
{
	uint32_t magic = kmig_get_le32(buf), crc = kmig_get_le32(buf + HDR_CRC_OFF);
	uint32_t want = kmig_crc32c_buf(buf, HDR_CRC_OFF);

	if (magic != KMIG_PKT_MAGIC)
		return kmig_err_set(e, -EBADMSG, "packet magic %#010x, expected %#010x",
				    magic, KMIG_PKT_MAGIC);
	if (crc != want)
		return kmig_err_set(e, -EBADMSG, "header CRC32C %#010x, expected %#010x",
				    crc, want);
	h->type = buf[4];
	h->codec = buf[5];
	h->flags = kmig_get_le16(buf + 6);
	h->seq = kmig_get_le64(buf + 8);
	h->block = kmig_get_le32(buf + 16);
	h->nr_zero = kmig_get_le16(buf + 20);
	h->nr_frames = kmig_get_le16(buf + 22);
	h->arg = kmig_get_le64(buf + 24);
	h->nr_data = kmig_get_le32(buf + 32);
	h->payload_len = kmig_get_le32(buf + 36);
	h->body_crc = kmig_get_le32(buf + 40);
	if (!h->type || h->type > KMIG_PKT_TYPE_MAX)
		return kmig_err_set(e, -EBADMSG, "packet type %u, expected 1..%u",
				    h->type, KMIG_PKT_TYPE_MAX);
	if (h->type == KMIG_PKT_PAGES && (h->flags & ~KMIG_PKT_F_ALL))
		return kmig_err_set(e, -EBADMSG, "PAGES: flags %#x, known %#x", h->flags,
				    KMIG_PKT_F_ALL);
	if (h->type != KMIG_PKT_PAGES && h->flags)
		return kmig_err_set(e, -EBADMSG, "%s: flags %#x, expected 0",
				    kmig_pkt_type_name(h->type), h->flags);
	return type_check(h, e);
}

size_t kmig_table_encode(uint8_t *buf, const struct kmig_ram *ram)
{
	size_t off = 4;

	kmig_put_le32(buf, ram->nr);
	for (unsigned int i = 0; i < ram->nr; i++) {
		const struct kmig_ram_block *b = &ram->blocks[i];
		size_t len = strlen(b->name);

		kmig_put_le64(buf + off, b->size);
		kmig_put_le16(buf + off + 8, len);
		kmig_put_le16(buf + off + 10, 0);
		kmig_put_le32(buf + off + 12, 0);
		memcpy(buf + off + KMIG_TABLE_ENTRY_FIXED, b->name, len);
		off += KMIG_TABLE_ENTRY_FIXED + len;
	}
	return off;
}

static int table_entry_decode(const uint8_t *p, size_t left, unsigned int i,
			      struct kmig_table_entry *ent, size_t *used, struct kmig_err *e)
{
	uint16_t len;

	if (left < KMIG_TABLE_ENTRY_FIXED)
		return kmig_err_set(e, -EBADMSG, "block table: entry %u truncated (%zu bytes left)",
				    i, left);
	ent->size = kmig_get_le64(p);
	len = kmig_get_le16(p + 8);
	if (kmig_get_le16(p + 10) || kmig_get_le32(p + 12))
		return kmig_err_set(e, -EBADMSG, "block table: entry %u: flags/reserved not zero", i);
	if (len > left - KMIG_TABLE_ENTRY_FIXED)
		return kmig_err_set(e, -EBADMSG, "block table: entry %u: name of %u bytes, %zu left",
				    i, len, left - KMIG_TABLE_ENTRY_FIXED);
	if (!kmig_ram_name_valid((const char *)p + KMIG_TABLE_ENTRY_FIXED, len))
		return kmig_err_set(e, -EINVAL,
				    "block table: entry %u: bad name (%u bytes; expected 1..%u of "
				    "[A-Za-z0-9._:-], not starting with '.')", i, len,
				    KMIG_BLOCK_NAME_MAX);
	memcpy(ent->name, p + KMIG_TABLE_ENTRY_FIXED, len);
	ent->name[len] = '\0';
	if (!ent->size || ent->size % KMIG_PAGE_SIZE || ent->size > (1ULL << 46))
		return kmig_err_set(e, -EINVAL,
				    "block table: block '%s' size %llu, expected a non-zero "
				    "multiple of %u up to 2^46", ent->name,
				    (unsigned long long)ent->size, KMIG_PAGE_SIZE);
	*used = KMIG_TABLE_ENTRY_FIXED + len;
	return 0;
}

int kmig_table_decode(const uint8_t *buf, size_t len, struct kmig_table_entry *ents,
		      unsigned int *nr, struct kmig_err *e)
{
	uint32_t n;
	size_t off = 4;

	if (len < 4)
		return kmig_err_set(e, -EBADMSG, "block table: %zu bytes, expected at least 4", len);
	n = kmig_get_le32(buf);
	if (!n || n > KMIG_MAX_BLOCKS)
		return kmig_err_set(e, -EINVAL, "block table: %u blocks, expected 1..%u",
				    n, KMIG_MAX_BLOCKS);
	for (uint32_t i = 0; i < n; i++) {
		size_t used = 0;
		int ret = table_entry_decode(buf + off, len - off, i, &ents[i], &used, e);

		if (ret)
			return ret;
		for (uint32_t j = 0; j < i; j++)
			if (!strcmp(ents[j].name, ents[i].name))
				return kmig_err_set(e, -EINVAL, "block table: name '%s' twice",
						    ents[i].name);
		off += used;
	}
	if (off != len)
		return kmig_err_set(e, -EBADMSG, "block table: %zu trailing bytes", len - off);
	*nr = n;
	return 0;
}

size_t kmig_pkt_build(uint8_t *buf, struct kmig_pkt_hdr *h, const void *body, size_t body_len)
{
	size_t crc_len = h->type == KMIG_PKT_PAGES ?
			 KMIG_MIN(kmig_pages_lists_len(h), (uint64_t)body_len) : body_len;

	h->body_crc = kmig_crc32c_buf(body, crc_len);
	kmig_hdr_encode(buf, h);
	if (body_len)
		memcpy(buf + KMIG_HDR_SIZE, body, body_len);
	return KMIG_HDR_SIZE + body_len;
}

void kmig_resumed_encode(uint8_t buf[KMIG_RESUMED_SIZE], const struct kmig_resumed *r)
{
	kmig_put_le64(buf, r->devstate_ns);
	kmig_put_le64(buf + 8, r->commit_ns);
	kmig_put_le64(buf + 16, r->total_ns);
	kmig_put_le64(buf + 24, 0);
}

int kmig_resumed_decode(const uint8_t buf[KMIG_RESUMED_SIZE], struct kmig_resumed *r,
			struct kmig_err *e)
{
	if (kmig_get_le64(buf + 24))
		return kmig_err_set(e, -EBADMSG, "RESUMED: reserved bytes 24..31 not zero");
	r->devstate_ns = kmig_get_le64(buf);
	r->commit_ns = kmig_get_le64(buf + 8);
	r->total_ns = kmig_get_le64(buf + 16);
	return 0;
}
