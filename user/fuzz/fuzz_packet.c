// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the receiver: packet header decoding, the session
 * checks, body CRC, page lists, decompression (every codec) and the write
 * into RAM, exactly as a receiver thread runs them (kmig_rx_feed()).
 *
 * Input: byte 0 = setup (bits 0-1: the session's codec; bit 3: a live
 * migration, COMMIT may follow END; bit 2: the block
 * table comes from the input instead of being applied up front), then
 * records of { channel byte (bit 0: channel 0 or 1), packet bytes }. Block
 * table applied up front: "a" 300 pages, "b" 64 pages, two channels.
 * The harness keeps nothing between inputs but the (reused) RAM blocks.
 */
#include <stdint.h>
#include <string.h>

#include "stream/rx.h"

#define PG KMIG_PAGE_SIZE

static struct kmig_ram src;	/* the sender's table, for the up-front case */

static void table_packet(uint8_t *buf, size_t *len)
{
	struct kmig_pkt_hdr h = { .type = KMIG_PKT_BLOCK_TABLE };
	uint8_t body[256];
	size_t n = kmig_table_encode(body, &src);

	h.payload_len = n;
	*len = kmig_pkt_build(buf, &h, body, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t tpkt[512];
	struct kmig_rx_session s;
	struct kmig_rx_chan ch[2];
	struct kmig_ram ram;
	enum kmig_rx_action act;
	size_t tlen, used, off = 1;

	if (!size)
		return 0;
	if (!src.nr) {
		kmig_ram_add_anon(&src, "a", 300 * PG, NULL);
		kmig_ram_add_anon(&src, "b", 64 * PG, NULL);
	}
	kmig_ram_init(&ram);
	kmig_rx_session_init(&s, &ram, 2, data[0] & 3);
	s.switchover = data[0] & 8;	/* COMMIT may follow END */
	s.max_ram = 2 << 20;
	s.max_devstate = 1 << 20;
	if (kmig_rx_chan_init(&ch[0], &s, 0) || kmig_rx_chan_init(&ch[1], &s, 1))
		goto out;
	if (!(data[0] & 4)) {
		table_packet(tpkt, &tlen);
		if (kmig_rx_feed(&ch[0], tpkt, tlen, &used, &act))
			__builtin_trap();	/* our own table must pass */
	}
	while (off + 1 < size) {
		struct kmig_rx_chan *c = &ch[data[off] & 1];

		if (c->id && !s.table_ready)
			break;		/* a receiver thread waits for the table here */
		if (kmig_rx_feed(c, data + off + 1, size - off - 1, &used, &act))
			break;
		off += 1 + used;
	}
out:
	kmig_rx_chan_fini(&ch[0]);
	kmig_rx_chan_fini(&ch[1]);
	kmig_rx_session_fini(&s);
	kmig_ram_free(&ram);
	return 0;
}
