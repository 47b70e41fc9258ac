// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "imagegen.h"
#include "base/ram.h"

static const char *const kind_names[KMIG_GEN_NR] = {
	"zero", "zerodata", "text", "binary", "random",
};

const char *kmig_gen_kind_name(enum kmig_gen_kind k)
{
	return k < KMIG_GEN_NR ? kind_names[k] : "?";
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int kmig_gen_parse_mix(const char *spec, struct kmig_gen_mix *mix)
{
	char *copy = strdup(spec), *save = NULL, *tok;
	unsigned int total = 0;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	memset(mix, 0, sizeof(*mix));
	for (tok = strtok_r(copy, ",", &save); tok && !ret; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':'), *end;
		int k;

		ret = -EINVAL;
		if (!colon)
			break;
		*colon = '\0';
		for (k = 0; k < KMIG_GEN_NR && strcmp(kind_names[k], tok); k++)
			;
		unsigned long w = strtoul(colon + 1, &end, 10);

		if (k == KMIG_GEN_NR || *end || end == colon + 1 || w > 1000000)
			break;
		mix->weight[k] = w;
		total += w;
		ret = 0;
	}
	free(copy);
	return ret ?: total ? 0 : -EINVAL;
}

static void fill_text(uint8_t *p, size_t len, uint64_t *s)
{
	static const char *const words[] = {
		"the ", "of ", "and ", "migration ", "page ", "memory ", "guest ", "kernel ",
		"channel ", "dirty ", "zero ", "stream ", "thread ", "buffer ", "socket ",
		"device ", "state ", "virtual ", "machine ", "host ", "return ", "error ",
		"value ", "int ", "struct ", "static ", "const ", "char ", "void ", "if ",
		"for ", "while ", "= ", "== ", "; ", "{ ", "} ", "\n", "\n\t", "(", ") ",
		"0x", "1", "2", "42", "4096 ", "size ", "len ", "ret ", "goto out;\n",
	};
	size_t i = 0;

	while (i < len) {
		const char *w = words[rnd(s) % (sizeof(words) / sizeof(words[0]))];
		size_t n = strlen(w);

		memcpy(p + i, w, n < len - i ? n : len - i);
		i += n;
	}
}

/* Code-like bytes: common opcodes, ModRM, small displacements and
 * immediates, relative calls, int3 padding between "functions". */
static void fill_binary(uint8_t *p, size_t len, uint64_t *s)
{
	static const uint8_t ops[][4] = {
		{ 0x48, 0x89, 0xe5 }, { 0x48, 0x8b, 0x45 }, { 0x48, 0x83, 0xec }, { 0x89, 0x45 },
		{ 0x8b, 0x45 }, { 0x48, 0x8d, 0x3d }, { 0xe8 }, { 0x85, 0xc0 }, { 0x74 },
		{ 0x75 }, { 0x0f, 0x84 }, { 0x31, 0xc0 }, { 0x5d, 0xc3 }, { 0x55 },
		{ 0x41, 0x54 }, { 0x48, 0x89, 0xc7 },
	};
	static const uint8_t oplen[] = { 3, 3, 3, 2, 2, 3, 1, 2, 1, 1, 2, 2, 2, 1, 2, 3 };
	size_t i = 0;

	while (i + 16 < len) {
		uint64_t r = rnd(s);
		unsigned int k = r % 16;

		memcpy(p + i, ops[k], oplen[k]);
		i += oplen[k];
		if (k == 6 || k == 5 || k == 10) {	/* rel32 / disp32 */
			int32_t v = (int32_t)((r >> 8) % 65536) - 32768;

			memcpy(p + i, &v, 4);
			i += 4;
		} else if (k <= 4 || k == 8 || k == 9) {	/* disp8 / rel8 */
			p[i++] = (r >> 16) & 0x7f;
		}
		if ((r >> 40) % 64 == 0) {		/* end of a function */
			size_t pad = (16 - i % 16) % 16;

			memset(p + i, 0xcc, pad);
			i += pad;
		}
	}
}

static void fill_region(uint8_t *p, size_t len, enum kmig_gen_kind k, uint64_t *s)
{
	switch (k) {
	case KMIG_GEN_ZERO:
		break;				/* leave it a hole */
	case KMIG_GEN_ZERODATA:
		for (size_t i = 0; i < len; i += KMIG_PAGE_SIZE)
			*(volatile uint8_t *)(p + i) = 0;	/* populate */
		break;
	case KMIG_GEN_TEXT:
		fill_text(p, len, s);
		break;
	case KMIG_GEN_BINARY:
		fill_binary(p, len, s);
		break;
	default:
		for (size_t i = 0; i + 8 <= len; i += 8) {
			uint64_t v = rnd(s);

			memcpy(p + i, &v, 8);
		}
	}
}

void kmig_gen_fill(uint8_t *base, uint64_t npages, const struct kmig_gen_mix *mix, uint64_t seed)
{
	uint64_t s = seed * 0x9e3779b97f4a7c15ULL + 1, total = 0;

	for (int k = 0; k < KMIG_GEN_NR; k++)
		total += mix->weight[k];
	for (uint64_t pg = 0; pg < npages; pg += KMIG_GEN_REGION_PAGES) {
		uint64_t n = npages - pg < KMIG_GEN_REGION_PAGES ? npages - pg : KMIG_GEN_REGION_PAGES;
		uint64_t pick = rnd(&s) % total;
		int k = 0;

		while (pick >= mix->weight[k])
			pick -= mix->weight[k++];
		fill_region(base + pg * KMIG_PAGE_SIZE, n * KMIG_PAGE_SIZE, k, &s);
	}
}
