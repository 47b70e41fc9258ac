/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig_abcheck: integrity check of a stopped kguest's memory, in the style
 * of QEMU's migration test (tests/qtest/migration-test.c, the a-b boot
 * block):
 *
 * - the a-b region: in each vCPU's share, the first bytes of the pages are
 *   v+1 up to one boundary and v after it (mod 256), or all equal; the rest
 *   of every page is its pseudo-random pattern;
 * - text and random regions hold exactly the pattern recomputed from the
 *   seed and the page number; zero regions are zero.
 *
 * The parameter block and the status page are read from the memory itself
 * (they migrate with it), so the checker needs nothing but the guest RAM.
 * A second call, kmig_abcheck_read_progress(), snapshots the guest's own
 * progress counters so that a caller can confirm a resumed guest keeps
 * going.
 */
#ifndef KMIG_ABCHECK_H
#define KMIG_ABCHECK_H

#include <stdint.h>
#include <stdio.h>

#include "kguest.h"

/*
 * Guest RAM as the caller sees it: one entry per mapped memslot. With the
 * backing @fd (a memfd; -1 if none) the checker finds holes with
 * lseek(SEEK_DATA/SEEK_HOLE) and never reads them: reading a memfd hole
 * would allocate it (and cost ~2 s per GiB).
 */
struct kmig_abcheck_range {
	uint64_t gpa;
	uint64_t size;
	const void *host;
	int fd;			/* backing file of the mapping, or -1 */
	uint64_t fd_offset;	/* of host[0] in @fd */
};

#define KMIG_ABCHECK_MAX_BAD	8

struct kmig_abcheck_bad {
	uint64_t gpa;		/* of the first wrong byte */
	uint32_t kind;		/* KGUEST_ZERO .. KGUEST_AB */
	uint8_t expected;
	uint8_t actual;
	const char *what;	/* "pattern", "zero", "a-b counter" */
};

struct kmig_abcheck_ab {
	uint64_t first_gpa;	/* of the vCPU's share */
	uint64_t pages;
	uint64_t boundary;	/* pages holding hi before the boundary */
	uint8_t hi, lo;		/* first-byte values before / after it */
};

struct kmig_abcheck_report {
	uint64_t pages[KGUEST_NR_KINDS];	/* checked, per kind */
	uint64_t bad_pages;
	uint32_t nr_bad;			/* entries in bad[] */
	struct kmig_abcheck_bad bad[KMIG_ABCHECK_MAX_BAD];
	uint32_t nr_vcpus;
	struct kmig_abcheck_ab ab[KGUEST_MAX_VCPUS];
	char error[192];			/* why nothing could be checked */
};

/*
 * Check the memory. Returns 0 when every page is as expected, -EBADMSG
 * when rep->bad_pages > 0, -EINVAL when the memory cannot be checked at
 * all (no valid parameter block, a vCPU still filling: rep->error).
 */
int kmig_abcheck_run(const struct kmig_abcheck_range *r, uint32_t n,
		     struct kmig_abcheck_report *rep);
void kmig_abcheck_print(const struct kmig_abcheck_report *rep, FILE *f);

struct kmig_abcheck_progress {
	uint32_t nr_vcpus;
	uint64_t pages[KGUEST_MAX_VCPUS];
	uint64_t sweeps[KGUEST_MAX_VCPUS];
};

int kmig_abcheck_read_progress(const struct kmig_abcheck_range *r, uint32_t n,
			       struct kmig_abcheck_progress *p);
/* 1 when every vCPU wrote more pages in @after than in @before. */
int kmig_abcheck_progressed(const struct kmig_abcheck_progress *before,
			    const struct kmig_abcheck_progress *after);

#endif /* KMIG_ABCHECK_H */
