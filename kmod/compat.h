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
 * Until 6.5 a page table referenced by a PMD could not be freed while the
 * mmap lock was held for reading, so pte_offset_map_lock() could not fail.
 * Since 6.5 it returns NULL when the PMD changed under us (the caller then
 * looks at the PMD again); zscan.c handles NULL on every version.
 */

#endif /* _KMIG_COMPAT_H */
