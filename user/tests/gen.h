/* SPDX-License-Identifier: GPL-2.0 */
/* Test content helpers (see tests/lib/imagegen.h for the image generator). */
#ifndef KMIG_TEST_GEN_H
#define KMIG_TEST_GEN_H

#include <stdint.h>
#include <string.h>

static inline uint64_t t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline void t_fill_random(void *buf, size_t len, uint64_t seed)
{
	uint8_t *p = buf;
	uint64_t s = seed | 1;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = t_rand(&s);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

static inline void t_fill_text(void *buf, size_t len, uint64_t seed)
{
	static const char *const words[] = { "migration ", "page ", "kernel ", "zero ",
		"channel ", "the ", "of ", "guest ", "memory ", "dirty ", "\n", "stream " };
	uint8_t *p = buf;
	uint64_t s = seed | 1;
	size_t i = 0;

	while (i < len) {
		const char *w = words[t_rand(&s) % (sizeof(words) / sizeof(words[0]))];
		size_t n = strlen(w);

		if (n > len - i)
			n = len - i;
		memcpy(p + i, w, n);
		i += n;
	}
}

#endif /* KMIG_TEST_GEN_H */
