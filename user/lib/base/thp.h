/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Transparent huge pages of shared memory: whether a memfd's pages will
 * be huge, and on which route. The kernel decides by the file system:
 * memfds follow /sys/kernel/mm/transparent_hugepage/shmem_enabled, tmpfs
 * files their mount's huge= option (not read here), hugetlbfs is huge
 * anyway. What a writer of fresh pages should do about it: with "advise",
 * only a fault through a mapping with MADV_HUGEPAGE allocates a huge page,
 * while write() and splice() into the file allocate 4 KiB pages, which a
 * guest then runs on until khugepaged collapses them.
 */
#ifndef KMIG_THP_H
#define KMIG_THP_H

#include <stdbool.h>
#include <stddef.h>

enum kmig_thp_route {
	KMIG_THP_NONE,		/* 4 KiB pages on every route (never, deny; not
				 * a memfd; no THP in this kernel) */
	KMIG_THP_FAULT,		/* huge only when faulted through a mapping
				 * with MADV_HUGEPAGE (advise) */
	KMIG_THP_ANY,		/* huge on every route, write() and splice()
				 * too (always, within_size, force) */
};

/* The system-wide setting for memfds (and the shmem_enabled name of it
 * into @name, at least 16 bytes, if not NULL). */
enum kmig_thp_route kmig_shmem_thp(char *name);
/* For @fd: a memfd's route, KMIG_THP_NONE for any other file. */
enum kmig_thp_route kmig_memfd_thp(int fd);

/*
 * Before fresh pages are written into @len bytes of @fd mapped at @base:
 * if @force, or if @fd is a memfd whose huge pages come only by a fault
 * (KMIG_THP_FAULT), advise the mapping MADV_HUGEPAGE and return true. The
 * pages should then be written through the mapping (a fault, or a read
 * into it): each fault of a fresh 2 MiB range allocates and clears one
 * huge page where write() and splice() would insert 512 4 KiB pages, and a
 * guest runs on huge pages at once. A huge page is allocated whole, so a
 * 2 MiB range with one written page no longer keeps its other pages as
 * holes: for memory a guest runs on (a VMM's memfds). The receiver's
 * --landing (stream/rx.c) and kmig restore's --huge-pages decide with it.
 * Advice only: no error.
 */
bool kmig_thp_advise(int fd, void *base, size_t len, bool force);

#endif /* KMIG_THP_H */
