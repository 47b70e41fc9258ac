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
 * destroyed or the process that created it has exited.
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
 *	faulting (swapped, migrating, device memory, hugetlbfs, non-shmem file
 *	holes, addresses with nothing mapped behind the slot): a false
 *	"non-zero" only costs bandwidth, a false "zero" would lose guest data.
 * @reserved: must be zero.
 *
 * The scan walks the host page tables of the VM's address space (the mm of
 * the process that created the VM) for the slot's userspace range. It never
 * faults pages in, skips empty page-table levels whole, and reads only
 * present pages. The result is a snapshot: pages may change right after.
 *
 * Errors: -ENOTCONN if the session is not attached; -ENOENT if the slot
 * does not exist (KVM-internal slots are not visible); -EINVAL for a bad range, flags, cursor or reserved field;
 * -EFAULT if @zero_bitmap faults; -EINTR if a signal arrived before any
 * progress; -ENODEV if the process that created the VM has exited (its
 * address space is gone).
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

#define KMIG_GET_INFO	_IOWR(KMIG_IOCTL_TYPE, 0x00, struct kmig_info)
#define KMIG_ATTACH_VM	_IOWR(KMIG_IOCTL_TYPE, 0x01, struct kmig_attach)
#define KMIG_ZERO_SCAN	_IOWR(KMIG_IOCTL_TYPE, 0x02, struct kmig_zero_scan)

#endif /* _UAPI_LINUX_KMIG_H */
