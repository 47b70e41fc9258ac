/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live migration, destination side (`kmig incoming`): receive straight into
 * the destination VMM's memfds, then hand over device state and memslots
 * in one batch and let the guest run (Documentation/migration.rst).
 *
 *   LISTENING -> RECEIVING -> PREPARED -> COMMITTING -> RUNNING
 *        \___________\___________\--> FAILED / CANCELLED (VMM never resumed)
 *
 * RECEIVING: the stream writes pages into the VMM's memfds (zero pages of
 * fresh memory are never touched); a watchdog cancels if the VMM's socket
 * closes. PREPARED: the whole device state was staged at the VMM
 * (SET_DEVICE_STATE: validated, not applied) and the source was told; now
 * only the source's COMMIT lets the guest run. COMMITTING: the VMM's
 * COMMIT registers every memslot and loads every vCPU in one batch, then
 * runs the guest; RESUMED goes back to the source.
 *
 * Until COMMITTING, every failure or cancel leaves the VMM's guest unrun:
 * the source is told (ERROR) and resumes its own. The VMM is then told to
 * quit, unless keep_vmm.
 */
#ifndef KMIG_INCOMING_H
#define KMIG_INCOMING_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stream/recv.h"
#include "pages/stats.h"

enum kmig_incoming_state {
	KMIG_INCOMING_LISTENING,
	KMIG_INCOMING_RECEIVING,
	KMIG_INCOMING_PREPARED,
	KMIG_INCOMING_COMMITTING,
	KMIG_INCOMING_RUNNING,
	KMIG_INCOMING_CANCELLED,
	KMIG_INCOMING_FAILED,
};

struct kmig_incoming_opts {
	const char *vmm_path;		/* the destination VMM, started --incoming */
	const char *host, *port;	/* where to listen (port "0": any) */
	struct kmig_recv_opts stream;	/* accept timeout, limits */
	int commit_timeout_ms;		/* PREPARED until COMMIT; 0: 30 s */
	unsigned int vmm_timeout_ms;	/* each VMM request; 0: KMIG_VMMP_TIMEOUT_MS */
	bool keep_vmm;			/* after a failure, leave the VMM waiting */
};

struct kmig_incoming_stats {
	enum kmig_incoming_state state;
	char error[384];
	char warning[256];		/* RUNNING, but the source may not know */
	uint64_t ram_bytes;
	uint64_t total_ns;		/* listening until RESUMED sent */
	uint64_t receive_ns;		/* first channel until every END */
	uint64_t devstate_ns;		/* SET_DEVICE_STATE (staging) */
	uint64_t wait_commit_ns;	/* PREPARED sent until COMMIT */
	uint64_t commit_ns;		/* the VMM's COMMIT, as we waited for it */
	uint64_t vmm_commit_ns;		/* ... as the VMM reported it */
	uint64_t resumed_ns;		/* COMMIT received until RESUMED sent */
	uint64_t devstate_bytes;
	uint32_t aborts;		/* the source's ABORTs (back to receiving) */
	uint32_t drops;			/* of those, staged states the VMM dropped */
	const char *vmm_end;		/* "running", "quit", "waiting", "gone" */
	struct kmig_stats stream;
};

struct kmig_incoming;

void kmig_incoming_opts_init(struct kmig_incoming_opts *o);
/* Connects to the VMM (it must be waiting: INCOMING), maps its memfds,
 * and listens. */
int kmig_incoming_create(struct kmig_incoming **out, const struct kmig_incoming_opts *o);
uint16_t kmig_incoming_port(const struct kmig_incoming *in);
/* Receive, stage, wait for COMMIT, commit. 0: the guest runs here. */
int kmig_incoming_run(struct kmig_incoming *in);
/* From any thread. 0: cancelling; -EBUSY: the VMM is committing already. */
int kmig_incoming_cancel(struct kmig_incoming *in, const char *why);
void kmig_incoming_stats(struct kmig_incoming *in, struct kmig_incoming_stats *st);
/* Why it failed ("" if it did not), valid after create failed too. */
const char *kmig_incoming_error(const struct kmig_incoming *in);
void kmig_incoming_destroy(struct kmig_incoming *in);

const char *kmig_incoming_state_name(enum kmig_incoming_state s);

#endif /* KMIG_INCOMING_H */
