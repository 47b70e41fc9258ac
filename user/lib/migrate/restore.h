/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig restore: a snapshot file into a VMM waiting with --incoming, then
 * the guest runs (Documentation/snapshot.rst).
 *
 *   connect (GET_SLOTS, map the memfds) -> validate the whole file and
 *   match its blocks to the VM's -> N readers fill the memfds (present
 *   pages only) -> SET_DEVICE_STATE + COMMIT (one batch: the guest runs)
 *
 * Nothing is written into the VM before the file has been validated
 * completely. A failure before the pages are read leaves the VMM waiting
 * if keep_vmm (a good file can still be restored into it); once pages were
 * read, a failure tells the VMM to quit (its memory is no longer fresh).
 */
#ifndef KMIG_RESTORE_H
#define KMIG_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "pages/stats.h"

/*
 * How the VMM's fresh memfd pages are faulted in by the reads (base/thp.h:
 * kmig_thp_advise). AUTO: where a memfd gets huge pages only by a fault
 * (THP shmem_enabled "advise"), its mapping here gets MADV_HUGEPAGE, so an
 * O_DIRECT read into a fresh 2 MiB range allocates one huge page (and a
 * range with one present page is allocated whole) and the guest runs on
 * huge pages at once. NEVER: no advice (4 KiB pages under "advise", until
 * khugepaged collapses them).
 */
enum kmig_restore_huge {
	KMIG_RESTORE_HUGE_AUTO,
	KMIG_RESTORE_HUGE_NEVER,
};

extern const char *const kmig_restore_huge_names[];	/* "auto", "never", NULL */

struct kmig_restore_opts {
	const char *vmm_path;		/* the destination VMM, started --incoming */
	const char *file;
	unsigned int nr_threads;	/* readers, 1..KMIG_MAX_WORKERS; 0: 2 */
	unsigned int vmm_timeout_ms;	/* each VMM request; 0: KMIG_VMMP_TIMEOUT_MS */
	bool buffered;			/* no O_DIRECT */
	bool keep_vmm;			/* refused file: leave the VMM waiting */
	enum kmig_restore_huge huge_pages;	/* 0: KMIG_RESTORE_HUGE_AUTO */
};

struct kmig_restore_stats {
	const char *status;		/* "running", "failed", "cancelled" */
	char error[384];
	char io[160];			/* O_DIRECT or buffered, and why */
	const char *vmm_end;		/* "running", "quit", "waiting", "gone" */
	bool data_crc, live;
	unsigned int nr_blocks;		/* the VM's memory slots */
	unsigned int huge_blocks;	/* of them read into with MADV_HUGEPAGE */
	uint64_t ram_bytes, file_size, devstate_bytes;
	uint64_t total_ns, connect_ns, validate_ns, read_ns, devstate_ns, commit_ns;
	struct kmig_stats read;		/* pages read, absent, I/O and CRC time */
	/* progress (live while reading): RAM pages covered, the bytes of
	 * present pages still to read, the read rate so far, and the time
	 * left (UINT64_MAX: unknown) */
	uint64_t pages_done, remaining_bytes, rate, eta_ns;
};

struct kmig_restore;

int kmig_restore_create(struct kmig_restore **out, const struct kmig_restore_opts *o);
/* 0: the guest runs at the VMM. */
int kmig_restore_run(struct kmig_restore *r);
/* From any thread: stops the readers. 0: cancelling; -EBUSY: the device
 * state and COMMIT go to the VMM already; -EALREADY: over. */
int kmig_restore_cancel(struct kmig_restore *r, const char *why);
void kmig_restore_stats(struct kmig_restore *r, struct kmig_restore_stats *st);
void kmig_restore_destroy(struct kmig_restore *r);

#endif /* KMIG_RESTORE_H */
