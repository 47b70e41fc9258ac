/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Synthetic guest RAM for tests and benchmarks: regions of 64 pages, each
 * of one kind drawn from a weighted mix with a seeded generator, so an
 * image is reproducible from (size, mix, seed).
 *
 *   zero      never written (a hole in a memfd or sparse file)
 *   zerodata  written with zeros (populated; found by the zero check)
 *   text      words and newlines (compresses ~2.5-3x)
 *   binary    x86-64-like code and data tables, like an ELF's text (~1.5-2x)
 *   random    incompressible
 */
#ifndef KMIG_IMAGEGEN_H
#define KMIG_IMAGEGEN_H

#include <stdint.h>

enum kmig_gen_kind {
	KMIG_GEN_ZERO, KMIG_GEN_ZERODATA, KMIG_GEN_TEXT, KMIG_GEN_BINARY, KMIG_GEN_RANDOM,
	KMIG_GEN_NR
};

#define KMIG_GEN_REGION_PAGES 64

struct kmig_gen_mix {
	unsigned int weight[KMIG_GEN_NR];
};

/* "zero:25,text:25,binary:25,random:25" (weights, any scale). */
int kmig_gen_parse_mix(const char *spec, struct kmig_gen_mix *mix);
/* Fill @npages pages at @base (fresh, zero memory) per @mix. */
void kmig_gen_fill(uint8_t *base, uint64_t npages, const struct kmig_gen_mix *mix, uint64_t seed);
const char *kmig_gen_kind_name(enum kmig_gen_kind k);

#endif /* KMIG_IMAGEGEN_H */
