// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the netlink parsers of the module client
 * (kmod_nl.c): any bytes as a kmig event or session message. A parsed
 * stop event never has more slot entries than it claims slots.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmod/kmod_nl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Netlink messages are 4-byte aligned in the socket buffer. */
	uint32_t *buf = malloc(size + 4);
	struct kmig_nl_session s;
	struct kmig_nl_event ev;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (!kmig_nl_parse_event_msg(buf, size, &ev)) {
		if (ev.type == KMIG_NL_EV_STOP && ev.stop.nr_slot_info > ev.stop.nr_slots)
			__builtin_trap();
		kmig_nl_event_free(&ev);
	}
	kmig_nl_parse_session_msg(buf, size, &s);
	free(buf);
	return 0;
}
