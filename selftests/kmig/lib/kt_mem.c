// SPDX-License-Identifier: GPL-2.0
/*
 * kt_mem.c - guest RAM backings: anonymous 4 KiB, THP, memfd, sparse.
 */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmig_test.h"

const char *kt_backing_name(enum kt_backing backing)
{
	static const char *const names[] = {
		[KT_ANON] = "anon", [KT_ANON_THP] = "thp",
		[KT_MEMFD] = "memfd", [KT_MEMFD_PRIVATE] = "memfd-private",
		[KT_SPARSE] = "sparse",
	};

	return names[backing];
}

static void kt_mem_anon(struct kt_mem *m, int extra_flags, int advice)
{
	/* One extra huge page to align the start to 2 MiB. */
	m->map_size = m->size + KT_HPAGE;
	m->map = mmap(NULL, m->map_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | extra_flags, -1, 0);
	KT_ASSERT(m->map != MAP_FAILED, "mmap %zu bytes: %s", m->map_size,
		  strerror(errno));
	m->hva = (uint8_t *)(((uintptr_t)m->map + KT_HPAGE - 1) & ~(KT_HPAGE - 1));
	KT_CALL_OK(madvise(m->hva, m->size, advice), "madvise");
}

static void kt_mem_memfd(struct kt_mem *m, int map_flags)
{
	m->memfd = memfd_create("kmig-test", MFD_CLOEXEC);
	KT_ASSERT(m->memfd >= 0, "memfd_create: %s", strerror(errno));
	KT_CALL_OK(ftruncate(m->memfd, m->size), "ftruncate");
	m->map_size = m->size;
	m->map = mmap(NULL, m->size, PROT_READ | PROT_WRITE, map_flags,
		      m->memfd, 0);
	KT_ASSERT(m->map != MAP_FAILED, "mmap memfd: %s", strerror(errno));
	m->hva = m->map;
}

void kt_mem_alloc(struct kt_mem *m, enum kt_backing backing, size_t size)
{
	m->backing = backing;
	m->size = size;
	m->memfd = -1;
	switch (backing) {
	case KT_ANON:
		kt_mem_anon(m, 0, MADV_NOHUGEPAGE);
		break;
	case KT_ANON_THP:
		kt_mem_anon(m, 0, MADV_HUGEPAGE);
		break;
	case KT_SPARSE:
		kt_mem_anon(m, MAP_NORESERVE, MADV_NOHUGEPAGE);
		break;
	case KT_MEMFD:
		kt_mem_memfd(m, MAP_SHARED);
		break;
	case KT_MEMFD_PRIVATE:
		kt_mem_memfd(m, MAP_PRIVATE);
		break;
	}
}

void kt_mem_free(struct kt_mem *m)
{
	if (m->map && m->map != MAP_FAILED)
		munmap(m->map, m->map_size);
	if (m->memfd >= 0)
		close(m->memfd);
	m->map = NULL;
	m->memfd = -1;
}
