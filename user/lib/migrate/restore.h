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

struct kmig_restore_opts {
	const char *vmm_path;		/* the destination VMM, started --incoming */
	const char *file;
	unsigned int nr_threads;	/* readers, 1..KMIG_MAX_WORKERS; 0: 2 */
	unsigned int vmm_timeout_ms;	/* each VMM request; 0: KMIG_VMMP_TIMEOUT_MS */
	bool buffered;			/* no O_DIRECT */
	bool keep_vmm;			/* refused file: leave the VMM waiting */
};

struct kmig_restore_stats {
	const char *status;		/* "running", "failed", "cancelled" */
	char error[384];
	char io[160];			/* O_DIRECT or buffered, and why */
	const char *vmm_end;		/* "running", "quit", "waiting", "gone" */
	bool data_crc, live;
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
