// SPDX-License-Identifier: GPL-2.0
/*
 * Text output for the multiboot (QEMU) path: polled writes to the first
 * 16550 UART, which QEMU's -nographic connects to stdio. No initialisation:
 * QEMU's UART accepts bytes at any divisor. Also the few libc functions gcc
 * may call on its own in freestanding code.
 */
#include "guest.h"

void kguest_puts(const char *s)
{
	while (*s)
		kguest_outb(KGUEST_SERIAL_PORT, (uint8_t)*s++);
}

void kguest_putu(uint64_t v)
{
	char buf[24];
	int i = sizeof(buf) - 1;

	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v && i > 0);
	kguest_puts(&buf[i]);
}

void *memset(void *d, int c, size_t n)
{
	uint8_t *p = d;

	while (n--)
		*p++ = (uint8_t)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	uint8_t *p = d;
	const uint8_t *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}
