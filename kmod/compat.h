/* SPDX-License-Identifier: GPL-2.0 */
/*
 * compat.h - the one place of kmig that tests kernel versions.
 *
 * Force-included into every object by Kbuild (-include), like WireGuard's
 * compat layer: core code uses the current kernel's names and feature-named
 * guards only. Debian 12's 6.1 is the kernel that is built and tested; the
 * entries for later kernels map renamed interfaces back to what the code
 * uses.
 */
#ifndef _KMIG_COMPAT_H
#define _KMIG_COMPAT_H

#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
#error "kmig needs Linux 5.16 or later (folios, kmap_local, mmap_read_lock_killable)"
#endif

/* 6.12 made struct fd opaque and added fd_file(); earlier it is a field. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
#define fd_file(f) ((f).file)
#endif

/* 6.12 folded folio_try_get_rcu() into folio_try_get(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
#define folio_try_get_rcu(folio) folio_try_get(folio)
#endif

/*
 * 6.8 widened the memslot struct of KVM_SET_USER_MEMORY_REGION (guest_memfd
 * fields) and __kvm_set_memory_region() takes the new one. The fields kmig
 * fills (slot, flags, guest_phys_addr, memory_size, userspace_addr) are the
 * old struct's, so on older kernels the old struct stands in for it.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define kvm_userspace_memory_region2 kvm_userspace_memory_region
#endif

/*
 * 6.8 replaced KVM_ADDRESS_SPACE_NUM by KVM_MAX_NR_ADDRESS_SPACES (the
 * array bound) and kvm_arch_nr_memslot_as_ids(kvm) (what a VM uses: x86
 * VMs with private memory have no SMM address space).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 8, 0)
#define KVM_MAX_NR_ADDRESS_SPACES KVM_ADDRESS_SPACE_NUM
#define kvm_arch_nr_memslot_as_ids(kvm) KVM_ADDRESS_SPACE_NUM
#endif

/*
 * GENL_MCAST_CAP_NET_ADMIN (6.7, backported to 6.1.69 and 6.6.8) is what
 * makes genetlink check a capability when a socket joins a multicast
 * group; before it, any local user could join any group. Kbuild probes
 * the kernel's <net/genetlink.h> for it: kmig's events must not go to
 * unprivileged listeners, so such kernels are refused.
 */
#ifndef KMIG_HAVE_GENL_MCAST_CAP
#error "this kernel cannot restrict generic netlink multicast groups (GENL_MCAST_CAP_NET_ADMIN: 6.7, 6.6.8, 6.1.69)"
#endif

/*
 * genl_info_dump(cb) (6.7) gives a dump the parsed request as a struct
 * genl_info. 6.2 moved the attributes of struct genl_dumpit_info into such
 * an embedded struct; before, they were its own field of the same name.
 */
#ifndef KMIG_HAVE_GENL_INFO_DUMP
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define genl_info_dump(cb) genl_dumpit_info(cb)
#else
#define genl_info_dump(cb) (&genl_dumpit_info(cb)->info)
#endif
#endif

/*
 * Until 6.5 a page table referenced by a PMD could not be freed while the
 * mmap lock was held for reading, so pte_offset_map_lock() could not fail.
 * Since 6.5 it returns NULL when the PMD changed under us (the caller then
 * looks at the PMD again); zscan.c handles NULL on every version. Since
 * 6.5 it is also an inline wrapper of __pte_offset_map_lock(), which is not
 * exported: compat.c has an equivalent (Kbuild probes <linux/mm.h>).
 */
#ifdef KMIG_HAVE_PTE_OFFSET_MAP_LOCK_FN
#define KMIG_COMPAT_PTE_OFFSET_MAP_LOCK
#define __pte_offset_map_lock kmig_pte_offset_map_lock
#endif

#endif /* _KMIG_COMPAT_H */
