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
 *  - every classification that lets a page out of the dirty set happens
 *    after the clear that re-protected it: harvest -> clear -> classify.
 *    A guest write after the clear sets the page's bit again, so the page
 *    is sent again next round. The sink's threads classify that way
 *    (fallback), and so does the module's first-pass zero scan
 *    (kmig_dirty_first_pass(): after the first clear, KMIG_ZERO_SCAN of
 *    every slot gives the zero bitmap of the whole first pass).
 *  - a harvest that classifies (the module's KMIG_HARVEST_F_CLASSIFY,
 *    KMIG_DIRTY_USE_CLASSIFY) decides "zero" before the clear. A write
 *    between that classification and the VMM's CLEAR would be lost if
 *    the clear covered the page. So kmig_dirty_clear() clears exactly the
 *    pages that go out as data (dirty & ~zero) and leaves the dirty & zero
 *    pages dirty: they go out as zero markers once and are harvested (and
 *    classified) again next round; a page still zero then is left out (the
 *    destination holds it as zero already), a written one goes out as
 *    data. At switchover the guest is paused, so the last classification
 *    is final.
 * The rule lives here, in the generic code, for every implementation: the
 * zero bitmaps of a harvest are only used when d->hinted says they
 * classify every dirty page, and kept out of the clear when d->keep_zero.
 *
 * Zero pages are sent once: the first pass sends every page; a zero page
 * classified after its clear (scan, or the sink's threads) leaves the
 * dirty set with its marker; one classified at harvest stays dirty but is
 * never sent again while it stays zero (dirty_kmod.c keeps the set of
 * pages whose last transfer was such a marker).
 *
 * The module implementation (dirty_kmod.c) maps onto this: harvest =
 * kmig_harvest() of every slot (with KMIG_HARVEST_F_CLASSIFY when asked:
 * slots[i].dirty = its dirty | zero bitmaps and slots[i].zero = its zero
 * bitmap, the module's dirty being dirty-and-non-zero; the generic clear
 * then clears exactly the module's dirty bitmap, which is its rule 2);
 * first pass = kmig_zero_scan() of every slot; stop(LAZY) =
 * kmig_logstop_request() of every slot: it returns at once;
 * kmig_dirty_settle() later waits for the module's end of it and has the
 * VMM match its records. Start, clear and stop(NOW) stay with the VMM.
 * Each of these is used only where the caller allows it (KMIG_DIRTY_USE_*),
 * so a benchmark can compare the module and the fallback function by
 * function, and the default is what measured faster.
 *
 * A tracker is used by one thread (the precopy loop). Every call returns
 * 0 or -errno, with the reason in kmig_dirty_error().
 */
#ifndef KMIG_DIRTY_H
#define KMIG_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kmig/vmm_proto_client.h"

/* What the module may do for a tracker (kmig_dirty_open()). */
#define KMIG_DIRTY_USE_HARVEST	(1U << 0)	/* one KMIG_HARVEST for all slots */
#define KMIG_DIRTY_USE_SCAN	(1U << 1)	/* first pass: KMIG_ZERO_SCAN of every slot */
#define KMIG_DIRTY_USE_CLASSIFY	(1U << 2)	/* harvests classify (needs HARVEST) */
#define KMIG_DIRTY_USE_STOP	(1U << 3)	/* deferred dirty-log stop */
/* The scan also takes the pieces of mostly populated memfd memory
 * (kmig_dirty_dense()), reading their pages in the kernel; without it the
 * sender threads check those in the pass that reads them anyway (needs
 * SCAN). */
#define KMIG_DIRTY_USE_SCAN_DENSE (1U << 4)
#define KMIG_DIRTY_USE_ALL	(KMIG_DIRTY_USE_HARVEST | KMIG_DIRTY_USE_SCAN | \
				 KMIG_DIRTY_USE_CLASSIFY | KMIG_DIRTY_USE_STOP | \
				 KMIG_DIRTY_USE_SCAN_DENSE)
/*
 * What measured faster than the fallback, function by function
 * (Documentation/benchmarks.rst, "Live migration, module vs fallback"):
 * the harvest, the scan where it need not read (holes, the zero page) or
 * reads little (sparse pieces), the stop. Not classify and not scan-dense:
 * where the module must read every page, its machine-check-safe kernel read
 * is slower than the sender threads' zero check (kmig_zscan_bench -z).
 */
#define KMIG_DIRTY_USE_DEFAULT	(KMIG_DIRTY_USE_HARVEST | KMIG_DIRTY_USE_SCAN | \
				 KMIG_DIRTY_USE_STOP)

/* "harvest,scan,stop" into @out: a comma list of harvest, scan, classify,
 * stop, scan-dense, or "all", "default", "none". -EINVAL for anything else
 * (classify without harvest, scan-dense without scan). */
int kmig_dirty_use_parse(const char *s, unsigned int *out);
/* The names of @use, comma separated ("none" for 0), into @buf. */
void kmig_dirty_use_str(unsigned int use, char *buf, size_t len);

enum kmig_dirty_stop {
	KMIG_DIRTY_STOP_NOW,	/* synchronous, through the VMM */
	KMIG_DIRTY_STOP_LAZY,	/* deferred if the implementation can (module) */
};

/* One memslot as the precopy loop sees it. */
struct kmig_dirty_slot {
	uint32_t slot;		/* KVM slot id, as the VMM names it */
	uint32_t block;		/* stream block id (kmig_vmm_ram_build() order) */
	uint64_t npages;
	int fd;			/* its memfd (not owned), or -1 */
	uint64_t fd_offset;	/* where the slot starts in it */
	uint64_t *dirty;	/* last harvest: pages to send (npages bits) */
	uint64_t *zero;		/* last harvest: of those, zero (valid when
				 * d->hinted); NULL when the implementation
				 * never classifies */
	uint64_t nr_dirty, nr_zero;
};

/* What the module did (dirty_kmod.c); all zero on the fallback. */
struct kmig_dirty_kmod_stats {
	uint64_t ioctls;		/* KMIG_HARVEST calls (bounded work: >= harvests) */
	uint64_t dirty;			/* dirty pages the module harvested */
	uint64_t zero;			/* of those, classified zero by the module */
	uint64_t zero_known;		/* of those, already zero at the destination:
					 * not sent again */
	uint64_t scans;			/* first passes by KMIG_ZERO_SCAN */
	uint64_t scan_pieces;		/* pieces scanned */
	uint64_t scan_dense;		/* pieces left to the sink's threads: mostly
					 * populated, the scan would only add reads */
	uint64_t scan_calls;		/* its ioctls */
	uint64_t scan_ns;		/* its time */
	uint64_t scan_none, scan_zero_page, scan_zero_data, scan_nonzero;
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
	const char *first_pass_path;	/* zero pages of the first pass: "module"
					 * (KMIG_ZERO_SCAN up front) or
					 * "sender-threads" */
	char module_use[64];		/* what the module was allowed to do */
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
	/* Optional: after the first clear, the zero pages of pages [first,
	 * first + n) of @ds (@first a multiple of 64) into ds->zero, their
	 * count into *nr_zero, and d->hinted set; leave d->hinted false (the
	 * sink's threads classify) if this tracker cannot. */
	int (*first_pass)(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first,
			  uint64_t n, uint64_t *nr_zero);
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
	bool hinted;			/* the slots' zero bitmaps classify every
					 * page of their dirty bitmaps */
	bool keep_zero;			/* ... and were found before the clear:
					 * kmig_dirty_clear() leaves them dirty */
	unsigned int use;		/* KMIG_DIRTY_USE_* allowed */
	struct kmig_dirty_stats st;
	char why[320];			/* which implementation and why */
	char err[320];
	void *priv;			/* the implementation's */
};

/*
 * The tracker for the VM behind @vmm (slots from @mm, in order: slot i is
 * stream block i). The module implementation when @use is not 0 and
 * /dev/kmig (@dev_path, NULL: the default) offers it (KMIG_FEAT_HARVEST,
 * the VM in manual-protect mode without a dirty ring), doing only the
 * functions @use allows; otherwise the VMM-protocol fallback. @why says
 * which and why; @reason (may be NULL) says why @use is 0. Only resource
 * errors fail.
 */
int kmig_dirty_open(struct kmig_dirty **out, struct kmig_vmmp_client *vmm,
		    const struct kmig_vmmp_memmap *mm, const char *dev_path, unsigned int use,
		    const char *reason);
/* The same with given ops (tests, other implementations). */
int kmig_dirty_create(struct kmig_dirty **out, const struct kmig_dirty_ops *ops,
		      struct kmig_vmmp_client *vmm, const struct kmig_vmmp_memmap *mm);
void kmig_dirty_close(struct kmig_dirty *d);

int kmig_dirty_start(struct kmig_dirty *d);
/* @nr_dirty / @nr_zero (may be NULL): totals over all slots (zero: 0
 * unless d->hinted). */
int kmig_dirty_harvest(struct kmig_dirty *d, unsigned int iteration, uint64_t *nr_dirty,
		       uint64_t *nr_zero);
/* Re-protect what the last harvest found, except pages it found zero. */
int kmig_dirty_clear(struct kmig_dirty *d);
/*
 * The pass of every page, piece by piece so that the caller sends a piece
 * while the next is classified: after the first clear (or with the guest
 * paused, and then without start), the zero pages of pages [first, first +
 * n) of slot @i (@first a multiple of 64) into slots[i].zero if the
 * tracker can find them (d->hinted), else none (the sink's threads
 * classify). @nr_zero (may be NULL): zero pages found.
 */
int kmig_dirty_first_pass(struct kmig_dirty *d, unsigned int i, uint64_t first, uint64_t n,
			  uint64_t *nr_zero);
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
 * dirty_kmod.c: the module's classifying harvest of one slot made into
 * what the precopy loop sends (exposed for tests). On entry @ds->dirty
 * holds the module's dirty-and-non-zero bitmap, @mzero its dirty-and-zero
 * bitmap, @known the pages whose last transfer was a zero marker (zero at
 * the destination, never cleared). On return @ds->zero = zero & ~known
 * (sent as markers, kept dirty) and @ds->dirty = non-zero | @ds->zero: the
 * zero & known pages are left out (not sent again, still dirty). Returns
 * how many were left out.
 */
uint64_t kmig_dirty_kmod_merge(struct kmig_dirty_slot *ds, const uint64_t *mzero,
			       const uint64_t *known);
/* After the harvest was cleared (its pages are queued now): its zero pages
 * become known zero, its non-zero pages stop being so. */
void kmig_dirty_kmod_sent(const struct kmig_dirty_slot *ds, uint64_t *known);
/* dirty_kmod.c, exposed for tests: is pages [first, first + n) of @ds
 * mostly (half or more) populated memory of its memfd, in at most 64
 * extents? The first pass's scan leaves such a piece to the sink's
 * threads: it has no holes to skip, a scan would only add reads. */
bool kmig_dirty_dense(const struct kmig_dirty_slot *ds, uint64_t first, uint64_t n);

#endif /* KMIG_DIRTY_H */
