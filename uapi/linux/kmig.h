/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kmig: kernel-assisted live migration of KVM guest RAM - userspace API.
 *
 * This header is the only contract between kmig.ko and userspace.
 *
 * Model
 * -----
 * A process opens /dev/kmig; each open file is one *session*. A session is
 * bound to exactly one KVM VM with KMIG_ATTACH_VM, which takes a KVM VM file
 * descriptor. The VM fd may belong to another process (a VMM passes it to the
 * kmig helper over a unix socket with SCM_RIGHTS): possession of the VM fd is
 * the authority, together with the device node's file mode. The session keeps
 * a reference on the VM until the session is closed, so the VMM may close its
 * own VM fd at any time; calls on a session whose VM is being destroyed fail
 * with -ENODEV.
 *
 * Calls: KMIG_GET_INFO, KMIG_ATTACH_VM, KMIG_ZERO_SCAN (zero pages of a
 * slot by page-table walk), KMIG_HARVEST (dirty bitmaps of many slots in
 * one call, optionally split into zero and non-zero pages; read the rule
 * for callers below), KMIG_LOG_STOP / _CANCEL / _QUERY (stop dirty logging
 * later, in a kernel worker). Statistics and events: the generic netlink
 * family "kmig" at the end of this header.
 *
 * Memslots are named as KVM names them: ``(address_space << 16) | slot_id``.
 * Pages are counted in units of PAGE_SIZE (reported by KMIG_GET_INFO) from
 * the start of the memslot.
 *
 * Struct conventions (every ioctl)
 * --------------------------------
 * - The first field, @size, is the size of the struct as the caller knows
 *   it. Structs only ever grow at the end. A caller with an older (smaller,
 *   but at least the v1 size) struct gets the old behaviour; a newer caller
 *   whose extra tail is all zero is accepted; a non-zero unknown tail gives
 *   -E2BIG (copy_struct_from_user() semantics), as does a size above the
 *   page size. A size below the v1 size gives -EINVAL.
 * - Fields named reserved* must be zero on input (-EINVAL otherwise); the
 *   module writes them as zero.
 * - Every flags field has a *_ALL mask; unknown bits give -EINVAL.
 * - User pointers are carried in __u64 fields. A pointer that faults gives
 *   -EFAULT.
 * - Unknown ioctl numbers give -ENOTTY. The module matches an ioctl by its
 *   type, number and direction; the size encoded in the ioctl number is
 *   ignored, @size governs (so a caller built against a grown header
 *   reaches the same handler).
 * - A failing call writes nothing back to the struct.
 *
 * Bitmaps
 * -------
 * Bitmaps passed to the module are arrays of __u64 in host byte order; bit
 * (i % 64) of word (i / 64) describes page first_page + i. Their length is
 * DIV_ROUND_UP(num_pages, 64) words. The module writes whole words, so bits
 * past num_pages in the last word are written as zero.
 *
 * Bounded work and resume cursors
 * -------------------------------
 * Scanning calls do a bounded amount of work (KMIG_GET_INFO reports the
 * bound) and return 0 with @cursor advanced; the caller repeats the call
 * unchanged until cursor == num_pages. Between calls the cursor is always a
 * multiple of 64 (or equal to num_pages), so each call writes whole bitmap
 * words. A call also stops early, returning 0 with the progress made, when a
 * signal is pending; if no progress was made it returns -EINTR. Counts
 * (nr_*) describe the pages of this call only; the caller sums them.
 */
#ifndef _UAPI_LINUX_KMIG_H
#define _UAPI_LINUX_KMIG_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define KMIG_DEVICE_NAME	"kmig"
#define KMIG_DEVICE_PATH	"/dev/kmig"

/* Incremented only for incompatible changes; growth uses @size and flags. */
#define KMIG_API_VERSION	1

/* Unassigned in Documentation/userspace-api/ioctl/ioctl-number.rst. */
#define KMIG_IOCTL_TYPE		0xBA

/* Feature bits reported by KMIG_GET_INFO. */
#define KMIG_FEAT_ZERO_SCAN	(1ULL << 0)	/* KMIG_ZERO_SCAN */
#define KMIG_FEAT_HARVEST	(1ULL << 1)	/* KMIG_HARVEST */
#define KMIG_FEAT_LOG_STOP	(1ULL << 2)	/* KMIG_LOG_STOP, _CANCEL, _QUERY */
#define KMIG_FEAT_NETLINK	(1ULL << 3)	/* generic netlink family "kmig" */

/* Slot naming, as in KVM's struct kvm_userspace_memory_region::slot. */
#define KMIG_SLOT(as_id, id)	((((__u32)(as_id)) << 16) | (__u16)(id))
#define KMIG_SLOT_AS(slot)	((slot) >> 16)
#define KMIG_SLOT_ID(slot)	((__u16)(slot))

/**
 * struct kmig_info - module and API description (KMIG_GET_INFO)
 * @size: in: sizeof(struct kmig_info) as the caller knows it.
 * @api_version: out: KMIG_API_VERSION of the module.
 * @features: out: KMIG_FEAT_* bits the module implements.
 * @page_size: out: the page size of all page counts and bitmaps.
 * @max_batch_pages: out: the most pages one scanning call handles before it
 *	returns with its cursor advanced (a multiple of 64).
 * @reserved: must be zero.
 */
struct kmig_info {
	__u32 size;
	__u32 api_version;
	__u64 features;
	__u32 page_size;
	__u32 max_batch_pages;
	__u64 reserved[4];
};

/* struct kmig_attach::flags: none defined yet. */
#define KMIG_ATTACH_F_ALL	0U

/* struct kmig_attach::vm_flags (out) */
#define KMIG_VM_F_MANUAL_PROTECT (1U << 0) /* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 on */
#define KMIG_VM_F_INITIALLY_SET	(1U << 1) /* ... with KVM_DIRTY_LOG_INITIALLY_SET */
#define KMIG_VM_F_DIRTY_RING	(1U << 2) /* dirty ring in use: no dirty bitmaps */

/**
 * struct kmig_attach - bind the session to a KVM VM (KMIG_ATTACH_VM)
 * @size: in: sizeof(struct kmig_attach) as the caller knows it.
 * @flags: in: KMIG_ATTACH_F_*; none defined, must be zero.
 * @vm_fd: in: a file descriptor of a KVM VM (from KVM_CREATE_VM).
 * @vm_flags: out: KMIG_VM_F_* describing the VM's dirty-tracking mode.
 * @reserved: must be zero.
 *
 * @vm_flags is a snapshot taken at attach time; it is ignored on input.
 *
 * Errors: -EBADF if @vm_fd is not an open file; -EINVAL if it is not a KVM
 * VM; -EBUSY if the session is already attached; -ENODEV if the VM is being
 * destroyed or the process that created it has exited; -EIO if KVM marked
 * the VM dead (as KVM's own VM ioctls then); -EFAULT if the struct is not
 * writable (the session is then not attached).
 */
struct kmig_attach {
	__u32 size;
	__u32 flags;
	__s32 vm_fd;
	__u32 vm_flags;
	__u64 reserved[3];
};

/*
 * struct kmig_zero_scan::flags
 * KMIG_SCAN_F_NO_READ: classify from the page tables only; present pages are
 *	not read and count as non-zero (nr_nonzero). Tells a caller which
 *	pages it must read at all, at page-table-walk cost. (The huge zero
 *	page is still recognised: the module confirms it by reading it once
 *	per session, see Documentation/kmod.rst.)
 */
#define KMIG_SCAN_F_NO_READ	(1U << 0)
#define KMIG_SCAN_F_ALL		(KMIG_SCAN_F_NO_READ)

/**
 * struct kmig_zero_scan - find zero pages of a memslot range (KMIG_ZERO_SCAN)
 * @size: in: sizeof(struct kmig_zero_scan) as the caller knows it.
 * @flags: in: KMIG_SCAN_F_*.
 * @slot: in: memslot, KMIG_SLOT(address space, slot id).
 * @reserved0: must be zero.
 * @first_page: in: first page of the range, from the start of the slot.
 * @num_pages: in: pages in the range; first_page + num_pages must not pass
 *	the end of the slot (-EINVAL; overflow is checked). 0 is a no-op.
 * @zero_bitmap: in: user address of the output bitmap (see "Bitmaps"):
 *	a bit is set when the page is zero (any of the three zero kinds).
 * @cursor: in/out: pages of the range already done; 0 on the first call.
 * @max_pages: in: bound on the pages this call handles, rounded up to 64;
 *	0 means the module's bound (also the upper limit).
 * @nr_none: out: pages never populated: no page table entry and, for
 *	shmem/memfd-backed slots, a hole in the page cache (or a page that
 *	was fallocate()d and never written, which reads as zero). Not read.
 * @nr_zero_page: out: pages mapped to the shared zero page or the huge
 *	zero page. Not read.
 * @nr_zero_data: out: present pages whose content was read and is zero.
 * @nr_nonzero: out: present pages with data, pages not read because of
 *	KMIG_SCAN_F_NO_READ, and pages the module cannot classify without
 *	faulting or must not read (swapped, migrating, device memory,
 *	hugetlbfs, non-shmem file holes, holes in ranges registered for
 *	userfaultfd missing faults, memfd_secret memory, hardware-poisoned
 *	pages, addresses with nothing mapped behind the slot): a false
 *	"non-zero" only costs bandwidth, a false "zero" would lose guest data.
 * @reserved: must be zero.
 *
 * The scan walks the host page tables of the VM's address space (the mm of
 * the process that created the VM) for the slot's userspace range. It never
 * faults pages in, skips empty page-table levels whole, and reads only
 * present pages. The result is a snapshot: pages may change right after.
 *
 * Errors: -ENOTCONN if the session is not attached; -ENOENT if the slot
 * does not exist (KVM-internal slots are not visible); -EINVAL for a bad
 * range, flags, cursor or reserved field; -EFAULT if @zero_bitmap faults;
 * -EINTR if a signal arrived before any progress; -ENODEV if the process
 * that created the VM has exited (its address space is gone); -EIO if KVM
 * marked the VM dead.
 */
struct kmig_zero_scan {
	__u32 size;
	__u32 flags;
	__u32 slot;
	__u32 reserved0;
	__u64 first_page;
	__u64 num_pages;
	__u64 zero_bitmap;
	__u64 cursor;
	__u64 max_pages;
	__u64 nr_none;
	__u64 nr_zero_page;
	__u64 nr_zero_data;
	__u64 nr_nonzero;
	__u64 reserved[4];
};

/*
 * Dirty harvest (KMIG_HARVEST)
 * ----------------------------
 * Reads the dirty bitmaps KVM keeps for memslots with KVM_MEM_LOG_DIRTY_PAGES,
 * several slots (or ranges of slots) in one call, optionally classifying each
 * dirty page as zero or not in the same pass. The semantics are exactly those
 * of KVM_GET_DIRTY_LOG in manual-protect mode (KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2):
 * the bits are read, never cleared, and nothing is write-protected. The VMM
 * re-protects pages with KVM_CLEAR_DIRTY_LOG (only the process that created
 * the VM can; the module cannot). A page written at any time after the
 * KVM_CLEAR_DIRTY_LOG that cleared its bit is reported by a later harvest;
 * a bit that is set is reported by every harvest until it is cleared.
 *
 * The rule for callers of the fused classification (KMIG_HARVEST_F_CLASSIFY)
 * --------------------------------------------------------------------------
 * A page is classified zero or not by looking at it *during the harvest*,
 * before the caller's KVM_CLEAR_DIRTY_LOG. A page classified zero may be
 * written by the guest right after the harvest, and that write may happen
 * before the clear: if the caller cleared the page's bit, the write would
 * never be reported and the destination would keep a zero page: guest data
 * lost. Therefore:
 *
 *   - clear (KVM_CLEAR_DIRTY_LOG) only the bits of @dirty_bitmap (dirty and
 *     non-zero): the pages sent as data, and read their content *after* the
 *     clear returned (a write after the clear sets the bit again);
 *   - never clear the bits of @zero_bitmap (dirty and zero): send those pages
 *     as zero pages and leave them dirty; the next harvest reports them
 *     again (zero again, or with their new data). When the VM is paused
 *     for the switchover, the last harvest is final for every page.
 *
 * Without KMIG_HARVEST_F_CLASSIFY the harvest is a plain KVM_GET_DIRTY_LOG
 * of several ranges and the usual rule applies: clear, then read.
 *
 * Requirements: the VM must be in manual-protect mode (-EOPNOTSUPP
 * otherwise: a plain KVM_GET_DIRTY_LOG clears the bitmap, so reading it
 * behind KVM's back would lose pages), must not use the dirty ring
 * (-ENXIO, as KVM_GET_DIRTY_LOG: there are no bitmaps), and each slot must
 * have dirty logging on (-ENODATA).
 */

/*
 * struct kmig_harvest::flags
 * KMIG_HARVEST_F_CLASSIFY: also classify each dirty page: dirty pages that
 *	are zero (never populated, the shared or huge zero page, or read and
 *	found zero, as KMIG_ZERO_SCAN) go to @zero_bitmap, the others to
 *	@dirty_bitmap. Pages that are not dirty are never read.
 * KMIG_HARVEST_F_NO_READ: with CLASSIFY, classify from the page tables only
 *	(as KMIG_SCAN_F_NO_READ): present dirty pages count as non-zero.
 */
#define KMIG_HARVEST_F_CLASSIFY	(1U << 0)
#define KMIG_HARVEST_F_NO_READ	(1U << 1)
#define KMIG_HARVEST_F_ALL	(KMIG_HARVEST_F_CLASSIFY | KMIG_HARVEST_F_NO_READ)

/* struct kmig_harvest_entry::flags: none defined yet. */
#define KMIG_HARVEST_ENTRY_F_ALL	0U

/* Bounds of struct kmig_harvest. */
#define KMIG_HARVEST_MAX_ENTRIES	65536
#define KMIG_HARVEST_ENTRY_SIZE_V1	80

/**
 * struct kmig_harvest_entry - one range of one memslot to harvest
 * @slot: in: memslot, KMIG_SLOT(address space, slot id).
 * @flags: in: KMIG_HARVEST_ENTRY_F_*; none defined, must be zero.
 * @first_page: in: first page of the range, from the start of the slot; a
 *	multiple of 64 (as KVM_CLEAR_DIRTY_LOG requires), -EINVAL otherwise.
 * @num_pages: in: pages in the range; first_page + num_pages must not pass
 *	the end of the slot (-EINVAL; overflow is checked). 0 is a no-op.
 * @dirty_bitmap: in: user address of an output bitmap (see "Bitmaps"):
 *	dirty pages that are not zero (with KMIG_HARVEST_F_CLASSIFY), or all
 *	dirty pages (without).
 * @zero_bitmap: in: user address of an output bitmap of the dirty pages
 *	that are zero, with KMIG_HARVEST_F_CLASSIFY; must be 0 without it.
 *	The two bitmaps are disjoint; their union is KVM's dirty bitmap.
 * @cursor: in/out: pages of the range already harvested; 0 to start.
 * @nr_dirty: out: dirty pages in [0, @cursor) of the range (both bitmaps).
 * @nr_zero: out: of those, pages in @zero_bitmap.
 * @reserved: must be zero.
 *
 * The counts always describe the harvested part [0, @cursor) of the range:
 * the module sets them when it starts the entry at cursor 0 and adds to
 * them when it resumes it.
 */
struct kmig_harvest_entry {
	__u32 slot;
	__u32 flags;
	__u64 first_page;
	__u64 num_pages;
	__u64 dirty_bitmap;
	__u64 zero_bitmap;
	__u64 cursor;
	__u64 nr_dirty;
	__u64 nr_zero;
	__u64 reserved[2];
};

/**
 * struct kmig_harvest - harvest dirty bitmaps of several slots (KMIG_HARVEST)
 * @size: in: sizeof(struct kmig_harvest) as the caller knows it.
 * @flags: in: KMIG_HARVEST_F_*.
 * @nr_entries: in: entries in @entries, at most KMIG_HARVEST_MAX_ENTRIES.
 * @entry_size: in: sizeof(struct kmig_harvest_entry) as the caller knows
 *	it: at least KMIG_HARVEST_ENTRY_SIZE_V1, at most the page size; each
 *	entry follows the struct conventions (a non-zero tail the module does
 *	not know gives -E2BIG). Lets the entry grow.
 * @entries: in: user address of the array of entries.
 * @max_pages: in: bound on the pages this call harvests, over all entries,
 *	rounded up to 64; 0 means the module's bound (KMIG_GET_INFO
 *	max_batch_pages, also the upper limit).
 * @next_entry: in/out: the first entry not finished; 0 to start. The
 *	module skips finished entries (cursor == num_pages) and returns with
 *	@next_entry at the first unfinished one; done when it equals
 *	@nr_entries.
 * @reserved0: must be zero.
 * @nr_dirty: out: dirty pages harvested by this call (all entries).
 * @nr_zero: out: of those, dirty and zero (KMIG_HARVEST_F_CLASSIFY).
 * @reserved: must be zero.
 *
 * Bounded work: a call returns 0 when @max_pages pages were harvested or
 * all entries are finished, with each entry's @cursor (a multiple of 64,
 * or num_pages) and counts written back as it goes; the caller repeats the
 * call unchanged until @next_entry == @nr_entries. A pending signal ends a
 * call early with the progress made (-EINTR if none).
 *
 * Errors (the first failing entry stops the call; entries before it keep
 * their advanced cursors, which a repeated call resumes from): -ENOTCONN
 * not attached; -ENXIO the VM uses the dirty ring; -EOPNOTSUPP the VM is
 * not in manual-protect mode; -ENOENT no such slot; -ENODATA the slot has
 * no dirty logging (KVM_MEM_LOG_DIRTY_PAGES off); -EINVAL bad flags,
 * reserved fields, entry size, entry count, range, alignment, cursor, or a
 * @zero_bitmap without CLASSIFY; -E2BIG unknown non-zero entry tail;
 * -EFAULT a bitmap or the entries fault; -EINTR signal before progress;
 * -ENODEV the VM's process has exited (with CLASSIFY: its memory is gone);
 * -EIO KVM marked the VM dead.
 *
 * An entry with num_pages == 0 is finished by the first call that reaches
 * it, with its counts set to 0.
 */
struct kmig_harvest {
	__u32 size;
	__u32 flags;
	__u32 nr_entries;
	__u32 entry_size;
	__u64 entries;
	__u64 max_pages;
	__u32 next_entry;
	__u32 reserved0;
	__u64 nr_dirty;
	__u64 nr_zero;
	__u64 reserved[4];
};

/*
 * Deferred dirty-log stop (KMIG_LOG_STOP, KMIG_LOG_STOP_CANCEL,
 * KMIG_LOG_STOP_QUERY)
 * -------------------------------------------------------------------------
 * Turning dirty logging off in KVM_SET_USER_MEMORY_REGION makes KVM
 * recover huge pages synchronously (tens of ms per GiB), which a VMM pays
 * on its migration path. KMIG_LOG_STOP queues a *request*: "clear
 * KVM_MEM_LOG_DIRTY_PAGES on these slots, later, in the background" and
 * returns at once with a request id. A kernel worker then handles the
 * slots one at a time, each under the VM's slots_lock, as the VMM's own
 * KVM_SET_USER_MEMORY_REGION would (same base, size, address; the flags
 * minus KVM_MEM_LOG_DIRTY_PAGES). Before each slot it looks at the slot
 * again: a slot that was deleted, moved, resized, remapped or had its flags
 * changed since the request is *skipped*, never recreated or changed. Slots
 * are spaced by at least an interval (rate limit). The request holds a
 * reference on the VM until it ends, so the VM fd and the session may be
 * closed meanwhile; unloading the module cancels pending requests. Each
 * request that ends (done or cancelled) is reported on the generic netlink
 * multicast group "events" (KMIG_CMD_STOP_EVENT) and counted in the
 * statistics. Huge pages come back as the guest touches its memory again.
 */

/*
 * struct kmig_log_stop::flags
 * KMIG_LOG_STOP_F_NOW: do it synchronously in the ioctl (for comparison,
 *	and for callers that want it done now); the out counts are filled.
 * KMIG_LOG_STOP_F_ALL_SLOTS: every slot of the VM that has dirty logging
 *	on, in every address space, however many (not limited to
 *	KMIG_LOG_STOP_MAX_SLOTS); @nr_slots and @slots must be 0.
 * KMIG_LOG_STOP_F_INTERVAL: use @interval_ns instead of the module
 *	parameter stop_interval_us as the least time between two slots.
 */
#define KMIG_LOG_STOP_F_NOW		(1U << 0)
#define KMIG_LOG_STOP_F_ALL_SLOTS	(1U << 1)
#define KMIG_LOG_STOP_F_INTERVAL	(1U << 2)
#define KMIG_LOG_STOP_F_ALL		(KMIG_LOG_STOP_F_NOW | \
					 KMIG_LOG_STOP_F_ALL_SLOTS | \
					 KMIG_LOG_STOP_F_INTERVAL)

/*
 * Limits of struct kmig_log_stop: slots named in one request (ALL_SLOTS
 * takes every logging slot, however many), the delay, the interval. The
 * delay and interval are bounded because a request holds the VM until it
 * ends, and because the longer it waits, the likelier the VMM changed its
 * memslots meanwhile (which makes the request skip them: see
 * KMIG_STOP_SLOT_STALE).
 */
#define KMIG_LOG_STOP_MAX_SLOTS		4096
#define KMIG_LOG_STOP_MAX_NS		(60ULL * 1000000000ULL)
#define KMIG_LOG_STOP_MAX_INTERVAL_NS	1000000000ULL

/**
 * struct kmig_log_stop - stop dirty logging on slots, lazily (KMIG_LOG_STOP)
 * @size: in: sizeof(struct kmig_log_stop) as the caller knows it.
 * @flags: in: KMIG_LOG_STOP_F_*.
 * @nr_slots: in: slots in @slots, 1 to KMIG_LOG_STOP_MAX_SLOTS (0 with
 *	KMIG_LOG_STOP_F_ALL_SLOTS).
 * @reserved0: must be zero.
 * @slots: in: user address of an array of @nr_slots __u32 memslot names
 *	(KMIG_SLOT()), each a user slot with dirty logging on, no duplicates.
 * @delay_ns: in: time before the first slot (0: at once); at most
 *	KMIG_LOG_STOP_MAX_NS. Ignored with KMIG_LOG_STOP_F_NOW.
 * @interval_ns: in: with KMIG_LOG_STOP_F_INTERVAL, the least time between
 *	the start of two slots (0: none); at most
 *	KMIG_LOG_STOP_MAX_INTERVAL_NS. Must be 0 without the flag.
 * @id: out: the request id, unique while the module is loaded (also for
 *	KMIG_LOG_STOP_F_NOW, whose end is reported like any other).
 * @nr_queued: out: slots in the request.
 * @nr_done: out (KMIG_LOG_STOP_F_NOW): slots whose dirty logging was
 *	turned off.
 * @nr_skipped: out (NOW): slots skipped because they changed (only
 *	possible if the VMM changes slots concurrently) or the VM's process
 *	exited.
 * @nr_failed: out (NOW): slots where KVM refused the change, or that
 *	were not tried because KVM marked the VM dead (EIO).
 * @reserved1: must be zero.
 * @work_ns: out (NOW): time spent changing the slots.
 * @reserved: must be zero.
 *
 * The request is bound to the state of the VM's memslots when it is made
 * (the logging epoch): a slot is stopped only if no other change was made
 * to the memslots of its address space since (by the VMM, or by KVM
 * itself) except the request's own. A slot whose logging was turned off
 * and on again, e.g. for a new migration, is therefore never stopped by an
 * older request: it is skipped as KMIG_STOP_SLOT_STALE. Callers that start
 * a new migration should cancel pending requests first.
 *
 * Errors: -ENOTCONN not attached; -ENOENT a slot does not exist;
 * -ENODATA a slot has dirty logging off (nothing to stop), or, with
 * ALL_SLOTS, no slot has it on; -EBUSY a slot is already in a pending
 * request of this VM; -EAGAIN too many pending requests in the module
 * (module parameter stop_max_pending); -EINVAL bad flags, reserved fields,
 * counts, duplicates, delays; -EFAULT @slots or the struct itself faults
 * (nothing was queued); -ENODEV the VM's process has exited; -EIO KVM
 * marked the VM dead.
 */
struct kmig_log_stop {
	__u32 size;
	__u32 flags;
	__u32 nr_slots;
	__u32 reserved0;
	__u64 slots;
	__u64 delay_ns;
	__u64 interval_ns;
	__u64 id;
	__u32 nr_queued;
	__u32 nr_done;
	__u32 nr_skipped;
	__u32 nr_failed;
	__u32 reserved1;
	__u32 reserved2;
	__u64 work_ns;
	__u64 reserved[4];
};

/*
 * struct kmig_log_stop_cancel::flags
 * KMIG_LOG_STOP_CANCEL_F_ALL: cancel every pending request of the session's
 *	VM (@id must be 0); succeeds with nothing to cancel.
 */
#define KMIG_LOG_STOP_CANCEL_F_ALL	(1U << 0)
#define KMIG_LOG_STOP_CANCEL_F_ALL_MASK	(KMIG_LOG_STOP_CANCEL_F_ALL)

/**
 * struct kmig_log_stop_cancel - cancel pending requests (KMIG_LOG_STOP_CANCEL)
 * @size: in: sizeof(struct kmig_log_stop_cancel) as the caller knows it.
 * @flags: in: KMIG_LOG_STOP_CANCEL_F_*.
 * @id: in: the request to cancel (0 with KMIG_LOG_STOP_CANCEL_F_ALL).
 * @nr_requests: out: requests cancelled.
 * @nr_slots: out: slots of them that were not handled (left logging).
 * @reserved: must be zero.
 *
 * Any session attached to the VM of a request may cancel it (requests
 * outlive their session). When the call returns the worker is no longer
 * running for the cancelled requests: a slot being handled is finished
 * first; no slot is touched afterwards.
 *
 * Errors: -ENOTCONN not attached; -ENOENT no pending request @id of this
 * VM (unknown, finished, cancelled, or another VM's); -EINVAL bad flags,
 * id, reserved fields.
 */
struct kmig_log_stop_cancel {
	__u32 size;
	__u32 flags;
	__u64 id;
	__u32 nr_requests;
	__u32 nr_slots;
	__u64 reserved[4];
};

/**
 * struct kmig_log_stop_query - pending work (KMIG_LOG_STOP_QUERY)
 * @size: in: sizeof(struct kmig_log_stop_query) as the caller knows it.
 * @flags: in: none defined, must be zero.
 * @id: in: a pending request of the session's VM, or 0 for all of them.
 * @nr_requests: out: pending requests (1 for an @id).
 * @nr_slots: out: slots of them still to handle.
 * @nr_done: out: slots of them already done.
 * @nr_skipped: out: slots of them skipped.
 * @nr_failed: out: slots of them KVM refused.
 * @reserved0: must be zero.
 * @reserved: must be zero.
 *
 * Errors: -ENOTCONN not attached; -ENOENT @id is not a pending request of
 * this VM (it may have ended: see the netlink event or the statistics);
 * -EINVAL bad flags or reserved fields.
 */
struct kmig_log_stop_query {
	__u32 size;
	__u32 flags;
	__u64 id;
	__u32 nr_requests;
	__u32 nr_slots;
	__u32 nr_done;
	__u32 nr_skipped;
	__u32 nr_failed;
	__u32 reserved0;
	__u64 reserved[4];
};
/* struct kmig_log_stop_query::flags: none defined yet. */
#define KMIG_LOG_STOP_QUERY_F_ALL	0U


#define KMIG_GET_INFO	_IOWR(KMIG_IOCTL_TYPE, 0x00, struct kmig_info)
#define KMIG_ATTACH_VM	_IOWR(KMIG_IOCTL_TYPE, 0x01, struct kmig_attach)
#define KMIG_ZERO_SCAN	_IOWR(KMIG_IOCTL_TYPE, 0x02, struct kmig_zero_scan)
#define KMIG_HARVEST	_IOWR(KMIG_IOCTL_TYPE, 0x03, struct kmig_harvest)
#define KMIG_LOG_STOP	_IOWR(KMIG_IOCTL_TYPE, 0x04, struct kmig_log_stop)
#define KMIG_LOG_STOP_CANCEL _IOWR(KMIG_IOCTL_TYPE, 0x05, struct kmig_log_stop_cancel)
#define KMIG_LOG_STOP_QUERY _IOWR(KMIG_IOCTL_TYPE, 0x06, struct kmig_log_stop_query)

/*
 * Generic netlink family "kmig" (KMIG_GENL_NAME), version 1
 * ----------------------------------------------------------
 * Statistics and events, for tools like `kmig stat` and `kmig monitor`.
 * Documentation/netlink/specs/kmig.yaml describes it in YNL form. All
 * commands, and joining the "events" group, need CAP_NET_ADMIN (-EPERM
 * otherwise); the family lives in the initial network namespace. Requests are validated strictly: unknown attributes, wrong
 * types or lengths give -EINVAL with an extended ack message.
 *
 * KMIG_CMD_GET_SESSION
 *	do: the session KMIG_A_SESSION_ID (required; -ENOENT if none);
 *	dump: every open session. Reply: KMIG_A_SESSION_ID, KMIG_A_PID,
 *	KMIG_A_VM_PID (0 if not attached), KMIG_A_STATS.
 * KMIG_CMD_GET_TOTALS
 *	do, no attributes. Reply: KMIG_A_NR_SESSIONS (open now),
 *	KMIG_A_STATS: module-wide sums since load, closed sessions included.
 * KMIG_CMD_GET_STOP
 *	dump: every pending deferred-stop request (optionally only those of
 *	session KMIG_A_SESSION_ID). Reply: KMIG_A_STOP.
 * KMIG_CMD_STOP_EVENT
 *	multicast on "events": a deferred-stop request ended. KMIG_A_STOP
 *	with KMIG_STOP_A_STATE done or cancelled and one KMIG_STOP_A_SLOT per
 *	slot with its result, in request order, as many as fit the nest's
 *	16-bit length (about 2,000); KMIG_STOP_A_SLOTS_OMITTED counts the
 *	slots left out. KMIG_STOP_A_DONE, _SKIPPED and _FAILED count all.
 * KMIG_CMD_SESSION_EVENT
 *	multicast on "events": KMIG_A_EVENT (attached, closed),
 *	KMIG_A_SESSION_ID, KMIG_A_PID, KMIG_A_VM_PID; on close also
 *	KMIG_A_STATS, the session's final counters.
 */
#define KMIG_GENL_NAME		"kmig"
#define KMIG_GENL_VERSION	1
#define KMIG_GENL_MCGRP_EVENTS	"events"

enum kmig_nl_cmd {
	KMIG_CMD_UNSPEC,
	KMIG_CMD_GET_SESSION,
	KMIG_CMD_GET_TOTALS,
	KMIG_CMD_GET_STOP,
	KMIG_CMD_STOP_EVENT,
	KMIG_CMD_SESSION_EVENT,
	__KMIG_CMD_MAX
};
#define KMIG_CMD_MAX	(__KMIG_CMD_MAX - 1)

/* Top-level attributes. */
enum kmig_nl_attr {
	KMIG_A_UNSPEC,
	KMIG_A_PAD,
	KMIG_A_SESSION_ID,	/* u64 */
	KMIG_A_PID,		/* u32: process that opened the session */
	KMIG_A_VM_PID,		/* u32: process that created the VM, or 0 */
	KMIG_A_STATS,		/* nest: enum kmig_nl_stats_attr */
	KMIG_A_STOP,		/* nest: enum kmig_nl_stop_attr */
	KMIG_A_EVENT,		/* u32: enum kmig_session_event */
	KMIG_A_NR_SESSIONS,	/* u32 */
	__KMIG_A_MAX
};
#define KMIG_A_MAX	(__KMIG_A_MAX - 1)

/* KMIG_A_EVENT of KMIG_CMD_SESSION_EVENT */
enum kmig_session_event {
	KMIG_EVENT_ATTACHED = 1,
	KMIG_EVENT_CLOSED,
};

/*
 * Counters (all u64). Pages and calls of KMIG_ZERO_SCAN by kind; of
 * KMIG_HARVEST the calls, the pages of the ranges looked at, the dirty
 * pages and the dirty zero pages by kind; time in nanoseconds; deferred
 * stops: requests made, still pending, ended done or cancelled, slots by
 * result, time spent in KVM changing slots, and the sum of the requests'
 * latencies (queued to ended).
 */
enum kmig_nl_stats_attr {
	KMIG_STATS_A_UNSPEC,
	KMIG_STATS_A_PAD,
	KMIG_STATS_A_ZSCAN_CALLS,
	KMIG_STATS_A_ZSCAN_NS,
	KMIG_STATS_A_ZSCAN_NONE,
	KMIG_STATS_A_ZSCAN_ZERO_PAGE,
	KMIG_STATS_A_ZSCAN_ZERO_DATA,
	KMIG_STATS_A_ZSCAN_NONZERO,
	KMIG_STATS_A_HARVEST_CALLS,
	KMIG_STATS_A_HARVEST_NS,
	KMIG_STATS_A_HARVEST_PAGES,
	KMIG_STATS_A_HARVEST_DIRTY,
	KMIG_STATS_A_HARVEST_ZERO_NONE,
	KMIG_STATS_A_HARVEST_ZERO_PAGE,
	KMIG_STATS_A_HARVEST_ZERO_DATA,
	KMIG_STATS_A_STOP_REQUESTS,
	KMIG_STATS_A_STOP_PENDING,
	KMIG_STATS_A_STOP_DONE,
	KMIG_STATS_A_STOP_CANCELLED,
	KMIG_STATS_A_STOP_SLOTS_DONE,
	KMIG_STATS_A_STOP_SLOTS_SKIPPED,
	KMIG_STATS_A_STOP_SLOTS_FAILED,
	KMIG_STATS_A_STOP_WORK_NS,
	KMIG_STATS_A_STOP_LATENCY_NS,
	__KMIG_STATS_A_MAX
};
#define KMIG_STATS_A_MAX	(__KMIG_STATS_A_MAX - 1)

/* A deferred-stop request (KMIG_A_STOP). */
enum kmig_nl_stop_attr {
	KMIG_STOP_A_UNSPEC,
	KMIG_STOP_A_PAD,
	KMIG_STOP_A_ID,		/* u64: request id (struct kmig_log_stop::id) */
	KMIG_STOP_A_SESSION_ID,	/* u64: session that made it (may be closed) */
	KMIG_STOP_A_VM_PID,	/* u32: process that created the VM */
	KMIG_STOP_A_STATE,	/* u32: enum kmig_stop_state */
	KMIG_STOP_A_NOW,	/* flag: made with KMIG_LOG_STOP_F_NOW */
	KMIG_STOP_A_SLOTS,	/* u32: slots in the request */
	KMIG_STOP_A_DONE,	/* u32: slots done */
	KMIG_STOP_A_SKIPPED,	/* u32: slots skipped */
	KMIG_STOP_A_FAILED,	/* u32: slots KVM refused */
	KMIG_STOP_A_AGE_NS,	/* u64: queued to ended (or to now if pending) */
	KMIG_STOP_A_WORK_NS,	/* u64: time spent changing slots */
	KMIG_STOP_A_SLOT,	/* nest, one per slot: enum kmig_nl_stop_slot_attr */
	KMIG_STOP_A_SLOTS_OMITTED, /* u32: slots with no KMIG_STOP_A_SLOT (see below) */
	__KMIG_STOP_A_MAX
};
#define KMIG_STOP_A_MAX	(__KMIG_STOP_A_MAX - 1)

enum kmig_stop_state {
	KMIG_STOP_PENDING = 1,
	KMIG_STOP_DONE,
	KMIG_STOP_CANCELLED,
};

enum kmig_nl_stop_slot_attr {
	KMIG_STOP_SLOT_A_UNSPEC,
	KMIG_STOP_SLOT_A_PAD,
	KMIG_STOP_SLOT_A_SLOT,	/* u32: KMIG_SLOT() */
	KMIG_STOP_SLOT_A_RESULT, /* u32: enum kmig_stop_result */
	KMIG_STOP_SLOT_A_ERRNO,	/* u32: positive errno, with KMIG_STOP_FAILED */
	KMIG_STOP_SLOT_A_NS,	/* u64: time KVM took for the slot */
	__KMIG_STOP_SLOT_A_MAX
};
#define KMIG_STOP_SLOT_A_MAX	(__KMIG_STOP_SLOT_A_MAX - 1)

/* What happened to one slot of a request. */
enum kmig_stop_result {
	KMIG_STOP_SLOT_PENDING = 1,	/* not handled (yet, or cancelled) */
	KMIG_STOP_SLOT_DONE,		/* dirty logging turned off */
	KMIG_STOP_SLOT_DELETED,		/* skipped: the slot was deleted */
	KMIG_STOP_SLOT_CHANGED,		/* skipped: moved, resized, remapped, flags */
	KMIG_STOP_SLOT_VM_GONE,		/* skipped: the VM's process exited */
	KMIG_STOP_SLOT_FAILED,		/* KVM refused: KMIG_STOP_SLOT_A_ERRNO */
	KMIG_STOP_SLOT_STALE,		/* skipped: the memslots changed since the
					 * request (logging may be on again for a
					 * new migration) */
};

#endif /* _UAPI_LINUX_KMIG_H */
