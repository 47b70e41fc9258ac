/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lying snapshot files for the hostile-input tests: a sparse file whose
 * header and block table claim @ram_bytes of RAM in one block, with every
 * checksum right (the bitmap, the CRC array and the data are holes: no
 * page present), so that it passes every format rule. It takes a few KiB
 * on disk whatever it claims; a loader must not spend memory or work in
 * proportion to the claim.
 */
#ifndef KMIG_LIESNAP_H
#define KMIG_LIESNAP_H

#include <stdint.h>

/* Write it at @path (created or truncated): one block @name of
 * @ram_bytes (a multiple of 4096, at most 64 TiB), per-page CRC32C on. */
int kmig_test_lying_snapshot(const char *path, const char *name, uint64_t ram_bytes);

#endif /* KMIG_LIESNAP_H */
