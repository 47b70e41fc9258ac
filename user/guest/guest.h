/* SPDX-License-Identifier: GPL-2.0 */
/* Internal declarations of the freestanding guest (not used by the host). */
#ifndef KGUEST_GUEST_H
#define KGUEST_GUEST_H

#include "kguest.h"

static inline void kguest_out(uint16_t port, uint32_t val)
{
	__asm__ volatile("outl %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

static inline void kguest_outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port) : "memory");
}

/* main.c */
void kguest_main(uint64_t vcpu, struct kguest_params *p)
	__attribute__((noreturn));

/* console.c: the UART, only under QEMU (KGUEST_F_SERIAL). */
void kguest_puts(const char *s);
void kguest_putu(uint64_t v);

/* Freestanding replacements gcc may emit calls to. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#endif
