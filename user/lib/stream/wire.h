/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The stream wire format, version 3 (Documentation/wire-format.rst): per
 * channel a hello and its reply, then packets, each a fixed header with
 * its own CRC32C and a body. A PAGES body is a lists section (zero list, data
 * list, one page sum (crc.h) per data page, frame lengths), protected by the header's
 * body CRC and checked before any page lands, then the page bytes, raw or
 * as one compressed frame per run of consecutive data pages, each checked
 * by its page CRC once it has landed in the destination's memory. Other
 * bodies are covered whole by the body CRC. All integers little-endian.
 *
 * This file only encodes and decodes: every decoder checks the fields it
 * can check alone (magic, version, sizes, reserved bits, CRCs, ranges);
 * checks that need the session (sequence, block table, channel affinity)
 * are in rx.c. Decoders never trust a length before checking it.
 */
#ifndef KMIG_WIRE_H
#define KMIG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/errbuf.h"
#include "base/ram.h"
#include "pages/pages.h"

#define KMIG_WIRE_VERSION	3	/* 3: page sums (2: page CRC32Cs) */
#define KMIG_HELLO_MAGIC	0x48474d4bU	/* "KMGH" on the wire */
#define KMIG_REPLY_MAGIC	0x52474d4bU	/* "KMGR" */
#define KMIG_PKT_MAGIC		0x50474d4bU	/* "KMGP" */

#define KMIG_HELLO_SIZE		64
#define KMIG_REPLY_SIZE		96
#define KMIG_HDR_SIZE		48

#define KMIG_MAX_CHANNELS	KMIG_MAX_WORKERS
#define KMIG_REPLY_MSG_MAX	64

/* Feature bits of the hello; all unknown bits are rejected. */
#define KMIG_FEAT_SYNC		(1ULL << 0)	/* SYNC / SYNC_ACK barriers */
#define KMIG_FEAT_DEVSTATE	(1ULL << 1)	/* a DEVICE_STATE packet may come */
/* Live migration: after END, the receiver says PREPARED (device state staged
 * at its VMM), the sender answers COMMIT (the point of no return), the
 * receiver reports RESUMED (or ERROR) once its guest runs. Both sides must
 * agree: a receiver that is not a migration destination refuses it. */
#define KMIG_FEAT_SWITCHOVER	(1ULL << 2)
/* Plaintext PAGES without page sums (KMIG_PKT_F_NO_PSUM), as QEMU sends
 * them: only for a link both ends were told to trust. A receiver not told
 * so refuses the hello, so a peer cannot turn the check off on its own.
 * Under TLS the records' tags protect the pages and the bit changes
 * nothing. */
#define KMIG_FEAT_NO_PSUM	(1ULL << 3)
#define KMIG_FEAT_ALL		(KMIG_FEAT_SYNC | KMIG_FEAT_DEVSTATE | KMIG_FEAT_SWITCHOVER | \
				 KMIG_FEAT_NO_PSUM)

#define KMIG_SESSION_ID_LEN	16

struct kmig_hello {
	uint16_t version;
	uint64_t features;
	uint8_t session[KMIG_SESSION_ID_LEN];
	uint16_t channel;
	uint16_t nr_channels;
	uint8_t codec;		/* enum kmig_codec_id the sender may use */
	uint8_t page_shift;
	uint16_t chunk_pages;
};

struct kmig_hello_reply {
	uint32_t status;	/* 0: accepted; else a positive errno */
	uint16_t channel;
	char msg[KMIG_REPLY_MSG_MAX + 1];	/* why not accepted */
};

enum kmig_pkt_type {
	KMIG_PKT_BLOCK_TABLE = 1,	/* channel 0, first packet */
	KMIG_PKT_PAGES = 2,
	KMIG_PKT_SYNC = 3,		/* barrier: reply SYNC_ACK when applied */
	KMIG_PKT_DEVICE_STATE = 4,	/* channel 0, at most once */
	KMIG_PKT_END = 5,		/* last packet of a channel */
	/* receiver -> sender */
	KMIG_PKT_SYNC_ACK = 6,
	KMIG_PKT_END_ACK = 7,
	KMIG_PKT_ERROR = 8,		/* body: the receiver's error text */
	/* switchover (KMIG_FEAT_SWITCHOVER), channel 0, after END */
	KMIG_PKT_PREPARED = 9,		/* receiver: ready to resume the guest */
	KMIG_PKT_COMMIT = 10,		/* sender: resume it (point of no return) */
	KMIG_PKT_RESUMED = 11,		/* receiver: it runs; body: struct kmig_resumed */
	/* sender, instead of COMMIT: the switchover is off (a strict downtime
	 * limit would be exceeded); drop what was staged, never run the guest */
	KMIG_PKT_ABORT = 12,
	KMIG_PKT_TYPE_MAX = KMIG_PKT_ABORT,
};

/* RESUMED's body: what the destination spent on the switchover. */
#define KMIG_RESUMED_SIZE	32
struct kmig_resumed {
	uint64_t devstate_ns;	/* handing the device state to its VMM (staging) */
	uint64_t commit_ns;	/* the VMM's COMMIT: memslots + state + run */
	uint64_t total_ns;	/* COMMIT packet received -> RESUMED sent */
};

struct kmig_pkt_hdr {
	uint8_t type;
	uint8_t codec;		/* PAGES: payload encoding; else 0 */
	uint16_t flags;		/* PAGES: KMIG_PKT_F_*; else 0 */
	uint64_t seq;		/* per channel and direction, from 0 */
	uint32_t block;		/* PAGES: block id; else 0 */
	uint16_t nr_zero;	/* PAGES: entries of the zero list */
	uint16_t nr_frames;	/* PAGES, compressed: frames (runs of the data
				 * list); else 0 */
	uint64_t arg;		/* PAGES: first page; SYNC(_ACK): sync id;
				 * END(_ACK): packets sent before END; else 0 */
	uint32_t nr_data;	/* PAGES: entries of the data list */
	uint32_t payload_len;	/* bytes after the lists section */
	uint32_t body_crc;	/* CRC32C: PAGES of the lists section, others of
				 * the whole body */
};

/*
 * PAGES flag: the lists section has no page sums. Only on a channel
 * whose transport authenticates every byte (TLS: the record's AEAD tag),
 * so the encryption is the one pass over each page on either side; a
 * receiver refuses it on a plaintext channel, where the page sum is the
 * only check of the page bytes (wire-format.rst).
 */
#define KMIG_PKT_F_NO_PSUM	(1U << 0)
#define KMIG_PKT_F_ALL		KMIG_PKT_F_NO_PSUM

/* A PAGES lists section: zero list, data list, page CRCs, frame lengths. */
#define KMIG_PAGES_LISTS_MAX	(4 * 4 * KMIG_CHUNK_PAGES)
/* Largest body a PAGES packet can have: the lists and a raw payload. */
#define KMIG_PAGES_BODY_MAX	(KMIG_PAGES_LISTS_MAX + KMIG_CHUNK_PAGES * KMIG_PAGE_SIZE)
#define KMIG_ERROR_TEXT_MAX	KMIG_ERR_MAX
#define KMIG_TABLE_ENTRY_FIXED	16	/* size, name_len, flags, reserved */
#define KMIG_TABLE_BODY_MAX \
	(4 + KMIG_MAX_BLOCKS * (KMIG_TABLE_ENTRY_FIXED + KMIG_BLOCK_NAME_MAX))

struct kmig_table_entry {
	uint64_t size;
	char name[KMIG_BLOCK_NAME_MAX + 1];
};

void kmig_hello_encode(uint8_t buf[KMIG_HELLO_SIZE], const struct kmig_hello *h);
/* -EBADMSG (magic, CRC, reserved), -EPROTONOSUPPORT (version),
 * -EOPNOTSUPP (features), -EINVAL (ranges); @e says received vs expected. */
int kmig_hello_decode(const uint8_t buf[KMIG_HELLO_SIZE], struct kmig_hello *h,
		      struct kmig_err *e);

void kmig_reply_encode(uint8_t buf[KMIG_REPLY_SIZE], const struct kmig_hello_reply *r);
int kmig_reply_decode(const uint8_t buf[KMIG_REPLY_SIZE], struct kmig_hello_reply *r,
		      struct kmig_err *e);

/* Header encode with the header CRC; body_crc must already be set. */
void kmig_hdr_encode(uint8_t buf[KMIG_HDR_SIZE], const struct kmig_pkt_hdr *h);
/* Magic, header CRC, type, flags, and the per-type rules that need no
 * session (zero fields, list counts, length limits). */
int kmig_hdr_decode(const uint8_t buf[KMIG_HDR_SIZE], struct kmig_pkt_hdr *h,
		    struct kmig_err *e);

/* Body length implied by a decoded header (cannot overflow: counts and
 * lengths were bounded by kmig_hdr_decode()). */
uint64_t kmig_hdr_body_len(const struct kmig_pkt_hdr *h);
/* PAGES: length of the lists section (4 bytes per zero entry, per data
 * entry, per page sum unless KMIG_PKT_F_NO_PSUM, and per frame length). */
uint64_t kmig_pages_lists_len(const struct kmig_pkt_hdr *h);

/* Block table body: encode into @buf (KMIG_TABLE_BODY_MAX bytes), returns
 * the length; decode validates every entry (names, sizes, duplicates). */
size_t kmig_table_encode(uint8_t *buf, const struct kmig_ram *ram);
int kmig_table_decode(const uint8_t *buf, size_t len, struct kmig_table_entry *ents,
		      unsigned int *nr, struct kmig_err *e);

const char *kmig_pkt_type_name(unsigned int type);

void kmig_resumed_encode(uint8_t buf[KMIG_RESUMED_SIZE], const struct kmig_resumed *r);
/* -EBADMSG if the reserved field is not zero. */
int kmig_resumed_decode(const uint8_t buf[KMIG_RESUMED_SIZE], struct kmig_resumed *r,
			struct kmig_err *e);

/* A whole packet in @buf (header then @body): sets body_crc (PAGES: over
 * the lists section only, kmig_pages_lists_len()), encodes the header,
 * copies the body; returns the packet length. For tests, fuzz corpora and
 * anything that frames packets in memory. */
size_t kmig_pkt_build(uint8_t *buf, struct kmig_pkt_hdr *h, const void *body, size_t body_len);

#endif /* KMIG_WIRE_H */
