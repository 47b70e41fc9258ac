// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the fixed-size and table parsers: the hello, the
 * hello reply, the packet header and the block table. Input byte 0 picks
 * the parser; a decoded hello or table is re-encoded and must decode to
 * the same fields (encode/decode agree).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream/wire.h"

static void hello(const uint8_t *d, size_t n)
{
	uint8_t buf[KMIG_HELLO_SIZE] = { 0 }, again[KMIG_HELLO_SIZE];
	struct kmig_hello h, h2;
	struct kmig_err e = { 0 };

	memcpy(buf, d, n < sizeof(buf) ? n : sizeof(buf));
	if (kmig_hello_decode(buf, &h, &e))
		return;
	kmig_hello_encode(again, &h);
	if (memcmp(buf, again, sizeof(buf)) || kmig_hello_decode(again, &h2, &e))
		__builtin_trap();
}

static void reply(const uint8_t *d, size_t n)
{
	uint8_t buf[KMIG_REPLY_SIZE] = { 0 };
	struct kmig_hello_reply r;
	struct kmig_err e = { 0 };

	memcpy(buf, d, n < sizeof(buf) ? n : sizeof(buf));
	if (!kmig_reply_decode(buf, &r, &e) && strlen(r.msg) > KMIG_REPLY_MSG_MAX)
		__builtin_trap();
}

static void header(const uint8_t *d, size_t n)
{
	uint8_t buf[KMIG_HDR_SIZE] = { 0 };
	struct kmig_pkt_hdr h;
	struct kmig_err e = { 0 };

	memcpy(buf, d, n < sizeof(buf) ? n : sizeof(buf));
	if (!kmig_hdr_decode(buf, &h, &e) && kmig_hdr_body_len(&h) > (1ULL << 33))
		__builtin_trap();	/* lengths are bounded once decoded */
}

static void table(const uint8_t *d, size_t n)
{
	static struct kmig_table_entry ents[KMIG_MAX_BLOCKS];
	struct kmig_err e = { 0 };
	unsigned int nr = 0;

	if (!kmig_table_decode(d, n, ents, &nr, &e))
		for (unsigned int i = 0; i < nr; i++)
			if (!ents[i].size || ents[i].size % KMIG_PAGE_SIZE || !ents[i].name[0])
				__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] & 3) {
	case 0: hello(data + 1, size - 1); break;
	case 1: reply(data + 1, size - 1); break;
	case 2: header(data + 1, size - 1); break;
	default: table(data + 1, size - 1); break;
	}
	return 0;
}
