/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Vectorised zero check of a buffer (usually one page).
 *
 * Variants: scalar (8-byte words), sse2, avx2, avx512 (AVX-512F); the best
 * one the CPU supports is chosen at run time with __builtin_cpu_supports().
 * Nothing is cached in globals: callers that check many pages keep the
 * returned function pointer (a sender thread does, once, at start).
 */
#ifndef KMIG_ZERO_H
#define KMIG_ZERO_H

#include <stdbool.h>
#include <stddef.h>

/* True if all @len bytes at @buf are zero. Any alignment, any length. */
typedef bool (*kmig_zero_fn)(const void *buf, size_t len);

/* The fastest variant this CPU runs. */
kmig_zero_fn kmig_zero_best(void);
const char *kmig_zero_best_name(void);

/* A variant by name ("scalar", "sse2", "avx2", "avx512"); NULL if the name
 * is unknown or the CPU lacks the instructions. For tests and benchmarks. */
kmig_zero_fn kmig_zero_by_name(const char *name);

/* The variant names, best last, NULL-terminated. */
extern const char *const kmig_zero_names[];

/* One-off check with the best variant. */
bool kmig_zero_check(const void *buf, size_t len);

#endif /* KMIG_ZERO_H */
