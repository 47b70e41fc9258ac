/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty-page tracking for precopy: one ops table, so that the module's
 * multi-slot harvest (fused with zero classification) and its deferred
 * log stop drop in next to the userspace fallback without touching the
 * precopy loop.
 *
 * Who may do what: KVM lets only the VM's creator change dirty logging, so
 * start, clear (re-protect) and a synchronous stop always go through the
 * VMM protocol. Harvesting only reads bitmaps: the fallback asks the VMM
 * (GET_DIRTY_LOG, one request per slot); the module path reads every slot
 * in one call with the VM fd the VMM passed, and classifies the dirty pages
 * as zero / non-zero in the same pass. Stopping: KMIG_DIRTY_STOP_NOW is the
 * VMM's synchronous DIRTY_LOG_STOP; KMIG_DIRTY_STOP_LAZY is the module's
 * deferred stop (the fallback has none and stops synchronously). The
 * precopy loop calls stop only after the switchover (or a cancel), never
 * inside the downtime window.
 *
 * Ordering, and why nothing is lost:
 *  - fallback: harvest -> clear -> the sender threads read the pages. A
 *    guest write after the clear sets the page's bit again, so the page is
 *    sent again next round; every page is read after its bit was cleared.
 *  - module classification: "zero" was decided at harvest time, before the
 *    clear. A write between that classification and the VMM's CLEAR would
 *    be lost if the clear covered the page. So kmig_dirty_clear() clears
 *    exactly the pages that go out as data (dirty & ~zero) and leaves the
 *    dirty & zero pages dirty: they go out as zero markers now and are
 *    harvested (and classified) again next round. At switchover the guest
 *    is paused, so the last classification is final.
 * The rule lives here, in the generic code, for every implementation.
 *
 * The module implementation (dirty_kmod.c) maps onto this: harvest =
 * kmig_harvest() of every slot with KMIG_HARVEST_F_CLASSIFY, then
 * slots[i].dirty = its dirty | zero bitmaps and slots[i].zero = its zero
 * bitmap (the module's dirty is dirty-and-non-zero); the generic clear then
 * clears exactly the module's dirty bitmap, which is its rule 2. Zero pages
 * the destination already holds as zero are re-read once by the sender
 * threads after a clear, which takes them out of the dirty set, and are
 * left out of the final harvest (see dirty_kmod.c). stop(LAZY) = kmig_logstop_request() of every slot:
 * it returns at once; kmig_dirty_settle() later waits for the module's end
 * of it and has the VMM match its records. Start, clear and stop(NOW)
 * stay with the VMM.
 *
 * A tracker is used by one thread (the precopy loop). Every call returns
 * 0 or -errno, with the reason in kmig_dirty_error().
 */
#ifndef KMIG_DIRTY_H
#define KMIG_DIRTY_H

#include <stdbool.h>
#include <stdint.h>

#include "kmig/vmm_proto_client.h"

enum kmig_dirty_stop {
	KMIG_DIRTY_STOP_NOW,	/* synchronous, through the VMM */
	KMIG_DIRTY_STOP_LAZY,	/* deferred if the implementation can (module) */
};

/* One memslot as the precopy loop sees it. */
struct kmig_dirty_slot {
	uint32_t slot;		/* KVM slot id, as the VMM names it */
	uint32_t block;		/* stream block id (kmig_vmm_ram_build() order) */
	uint64_t npages;
	uint64_t *dirty;	/* last harvest: pages to send (npages bits) */
	uint64_t *zero;		/* last harvest: of those, known zero; NULL when
				 * the implementation does not classify */
	uint64_t nr_dirty, nr_zero;
};

/* What the module did (dirty_kmod.c); all zero on the fallback. */
struct kmig_dirty_kmod_stats {
	uint64_t ioctls;		/* KMIG_HARVEST calls (bounded work: >= harvests) */
	uint64_t dirty;			/* dirty pages the module harvested */
	uint64_t zero;			/* of those, classified zero by the module */
	uint64_t zero_known;		/* of those, already zero at the destination:
					 * not sent again */
	uint64_t stop_id;		/* the deferred stop request; 0: none made */
	const char *stop_state;		/* its end: "done", "cancelled", "timeout
					 * (cancelled)", "ended" (outcome not known
					 * without netlink); NULL: none made */
	uint64_t stop_end_ns;		/* request to its end (the module's measure
					 * with netlink, else polled) */
	uint64_t stop_work_ns;		/* of that, KVM changing slots (netlink) */
	uint32_t stop_slots, stop_done, stop_skipped, stop_failed;	/* netlink */
	uint64_t confirm_ns;		/* the VMM's DIRTY_LOG_STOP after the end */
};

/* Helper-side wall time and calls, per operation, and which path each
 * took. */
struct kmig_dirty_stats {
	uint64_t start_ns, harvest_ns, clear_ns, stop_ns;
	uint64_t starts, harvests, clears, stops;	/* VMM requests or module calls */
	uint64_t vmm_ns;	/* of those, the time the VMM reported */
	uint64_t settle_ns;	/* kmig_dirty_settle(): waiting for a deferred stop */
	const char *harvest_path;	/* "module" or "vmm" */
	const char *zero_path;		/* dirty pages: "module" (at harvest) or
					 * "sender-threads" (after the clear) */
	const char *stop_path;		/* "module-deferred" or "vmm-sync" */
	char stop_note[160];		/* why the stop took another path than chosen */
	struct kmig_dirty_kmod_stats kmod;
};

struct kmig_dirty;

struct kmig_dirty_ops {
	const char *name;
	/* Dirty logging on for every slot (manual-protect mode). */
	int (*start)(struct kmig_dirty *d);
	/* Fill every slot's dirty bitmap (and zero bitmap if it classifies)
	 * and the counts; @iteration 0 is the first pass. Clears nothing. */
	int (*harvest)(struct kmig_dirty *d, unsigned int iteration);
	/* Re-protect pages [first, first + n) of @ds whose bits are set in
	 * @bitmap (bit 0 = page @first); @first a multiple of 64, @n too
	 * unless the range ends at the slot's end. */
	int (*clear)(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first,
		     uint64_t n, const uint64_t *bitmap);
	int (*stop)(struct kmig_dirty *d, enum kmig_dirty_stop how);
	/* Optional: the last harvest was cleared and its pages are queued now
	 * (not called for a harvest that leads to the switchover). */
	void (*cleared)(struct kmig_dirty *d);
	/* Optional: after a LAZY stop, wait up to @timeout_ms for its end and
	 * bring the VMM's records in line. */
	int (*settle)(struct kmig_dirty *d, int timeout_ms);
	void (*fini)(struct kmig_dirty *d);
};

struct kmig_dirty {
	const struct kmig_dirty_ops *ops;
	struct kmig_vmmp_client *vmm;	/* not owned */
	unsigned int nr;
	struct kmig_dirty_slot *slots;
	uint64_t *scratch;		/* the clear bitmap, largest slot */
	bool started;
	bool paused;			/* kmig_dirty_paused(): final harvests */
	struct kmig_dirty_stats st;
	char why[256];			/* which implementation and why */
	char err[320];
	void *priv;			/* the implementation's */
};

/*
 * The tracker for the VM behind @vmm (slots from @mm, in order: slot i is
 * stream block i). The module implementation when /dev/kmig (@dev_path,
 * NULL: the default) offers it (KMIG_FEAT_HARVEST, the VM in manual-protect
 * mode without a dirty ring), otherwise the VMM-protocol fallback; @why
 * says which and why. Only resource errors fail.
 */
int kmig_dirty_open(struct kmig_dirty **out, struct kmig_vmmp_client *vmm,
		    const struct kmig_vmmp_memmap *mm, const char *dev_path);
/* The fallback whatever /dev/kmig offers; @reason (e.g. "--no-module")
 * goes into @why. */
int kmig_dirty_open_fallback(struct kmig_dirty **out, struct kmig_vmmp_client *vmm,
			     const struct kmig_vmmp_memmap *mm, const char *reason);
/* The same with given ops (tests, other implementations). */
int kmig_dirty_create(struct kmig_dirty **out, const struct kmig_dirty_ops *ops,
		      struct kmig_vmmp_client *vmm, const struct kmig_vmmp_memmap *mm);
void kmig_dirty_close(struct kmig_dirty *d);

int kmig_dirty_start(struct kmig_dirty *d);
/* @nr_dirty / @nr_zero (may be NULL): totals over all slots. */
int kmig_dirty_harvest(struct kmig_dirty *d, unsigned int iteration, uint64_t *nr_dirty,
		       uint64_t *nr_zero);
/* Re-protect what the last harvest found, except pages known zero. */
int kmig_dirty_clear(struct kmig_dirty *d);
/* No-op if not started; a tracker can be started again after a stop.
 * LAZY returns at once with the module (the stop goes on in a kernel
 * worker); call kmig_dirty_settle() afterwards. */
int kmig_dirty_stop(struct kmig_dirty *d, enum kmig_dirty_stop how);
/* The guest is paused: the harvests from now on are final (never
 * cleared, their classification is the last word). */
void kmig_dirty_paused(struct kmig_dirty *d);
/* After a LAZY stop: wait up to @timeout_ms for the deferred stop to end
 * (cancelled after that), then the VMM's DIRTY_LOG_STOP, which KVM makes a
 * no-op for the slots already off, so that the VMM's records (QUERY, a
 * later DIRTY_LOG_START) match KVM again. No-op otherwise. */
int kmig_dirty_settle(struct kmig_dirty *d, int timeout_ms);
const char *kmig_dirty_error(const struct kmig_dirty *d);

/* The VMM-protocol implementation (GET/CLEAR_DIRTY_LOG, DIRTY_LOG_STOP). */
extern const struct kmig_dirty_ops kmig_dirty_vmm_ops;

/* dirty_kmod.c: switch @d (made with the VMM ops for @mm) to the module if
 * @dev offers what it needs, else say why in d->why. 0 either way, or
 * -ENOMEM. */
int kmig_dirty_kmod_use(struct kmig_dirty *d, const struct kmig_vmmp_memmap *mm,
			const char *dev);
/*
 * The module's harvest of one slot made into what the precopy loop sends
 * (exposed for tests). On entry @ds->dirty holds the module's dirty-and-
 * non-zero bitmap, @mzero its dirty-and-zero bitmap, @known the pages known
 * zero at the destination. On return @ds->zero = zero & ~known (sent as
 * markers, kept dirty) and @ds->dirty = non-zero | (zero & ~known), plus,
 * unless @final, the zero & known pages: those are cleared and re-checked
 * by the sender threads (dirty_kmod.c says why). Returns how many zero
 * pages were left out as known (only a @final harvest leaves any out).
 */
uint64_t kmig_dirty_kmod_merge(struct kmig_dirty_slot *ds, const uint64_t *mzero,
			       const uint64_t *known, bool final);
/* After the harvest was cleared (its pages are queued now): its zero pages
 * become known zero, its non-zero pages stop being so. */
void kmig_dirty_kmod_sent(const struct kmig_dirty_slot *ds, uint64_t *known);

#endif /* KMIG_DIRTY_H */
