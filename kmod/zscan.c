// SPDX-License-Identifier: GPL-2.0
/*
 * zscan.c - find the zero pages of a memslot range (KMIG_ZERO_SCAN).
 *
 * Method. The guest RAM of a memslot is the VMM's virtual range
 * [userspace_addr, +npages pages) in kvm->mm. We walk that mm's page tables
 * by hand (walk_page_range() is not exported on 6.1) with the inline
 * pgd/p4d/pud/pmd/pte accessors, under mmap_read_lock. Nothing is ever
 * faulted in:
 *   - an empty page-table level is a hole for its whole range (a 64 GiB
 *     untouched slot costs a few descents per step, no per-page work);
 *   - what a hole means depends on the VMA (see "Holes that are not zero"):
 *     in a shmem/memfd VMA the page may still be in the page cache (written
 *     through another mapping or with pwrite), so holes are looked up in
 *     mapping->i_pages, skipping hole runs with xa_find();
 *   - the shared zero pfn and the huge zero page count as zero, unread;
 *   - present pages (4K or THP) are read after the page-table lock is
 *     dropped, holding a page reference (see "Reading a page" below);
 *   - anything else (swap and migration entries, device memory, PFN maps,
 *     hugetlbfs, unmapped addresses) counts as non-zero: a false "non-zero"
 *     costs bandwidth, a false "zero" would lose guest data.
 *
 * VMAs that are not walked (all their pages count as non-zero, unread):
 * VM_IO/PFNMAP/MIXEDMAP and hugetlbfs (no struct pages to read, or pages
 * we cannot classify), and memfd_secret memory, whose pages are removed
 * from the kernel's direct map: kmap_local_page() of such a page would
 * fault in the kernel while we hold the VMM's mmap lock.
 *
 * Holes that are not zero. What an empty entry means is decided per VMA:
 *   - private anonymous memory: never populated, zero;
 *   - shmem (memfd, tmpfs files, MAP_SHARED anonymous memory), recognised
 *     by its address-space operations (shmem_file()), not by the
 *     filesystem magic, which tmpfs shares with device nodes and other
 *     special files whose mappings are not shmem (an mmapped block device
 *     on devtmpfs: its page-cache holes are data on the device);
 *   - any VMA registered for userfaultfd missing faults (a postcopy
 *     destination, a lazily restored snapshot): a page that is not there
 *     yet is whatever the userfaultfd handler will put there, not zero;
 *   - any other file: data in the file, not classified.
 *
 * Reading a page. A page the kernel knows to be hardware-poisoned
 * (PageHWPoison: memory_failure() keeps poisoned shmem pages in the page
 * cache, and an anonymous THP it could not split stays mapped) is never
 * read: it counts as non-zero. A page can also be poisoned while we read
 * it; the read goes through copy_mc_to_kernel(), which turns the machine
 * check into a short copy (non-zero) instead of a host panic. It copies a
 * chunk at a time into a small buffer and stops at the first non-zero
 * chunk, so a data page usually costs one chunk.
 *
 * The huge zero page. 6.1 exports neither huge_zero_pfn nor huge_zero_page,
 * so is_huge_zero_pmd() cannot be used. A huge PMD is a candidate when it
 * can only be the huge zero page: read-only, in a private anonymous VMA,
 * mapping a PMD-order compound page that is neither anonymous nor in a
 * mapping (anonymous THPs are PageAnon even when write-protected after
 * fork; file THPs have a mapping). A candidate is then confirmed by reading
 * it; its pfn is remembered per session so that later candidates with that
 * pfn are not read again. If the huge zero page is ever freed (shrinker)
 * and its pfn reused, the reused page cannot pass the structural test
 * unless it is again a huge zero page.
 *
 * Races. All are resolved by snapshot semantics; none can make us touch
 * freed memory:
 *   - The memslot is copied under kvm->srcu (kmig_vm_get_slot()) and only
 *     the copy is used. If the VMM deletes or moves the slot during a scan,
 *     we scan whatever is mapped at the old address (unmapped ranges count
 *     as non-zero); the VMM's own dirty tracking covers the rest.
 *   - The VM: the session holds a kvm reference; kvm holds an mmgrab() on
 *     kvm->mm. The address space itself is pinned with mmget_not_zero() for
 *     the call; if the VMM exited, the call fails with -ENODEV.
 *   - Page tables: under mmap_read_lock a PTE table referenced by a PMD is
 *     not freed on 6.1 (khugepaged retracts tables under the write lock).
 *     A PMD is read once; a huge PMD is re-checked under its lock and the
 *     PMD is looked at again (-EAGAIN) if it changed (split, zap, collapse).
 *     Since 6.5, pte_offset_map_lock() may fail: same retry.
 *   - Pages: taken with folio_try_get() while their PTE/PMD lock proves they
 *     are mapped; the reference keeps them (and prevents splits) while we
 *     read them unlocked. Content may change while we read: the result is a
 *     snapshot, which is the contract (the caller tracks dirtying).
 *   - Page cache: looked up under RCU with the speculative reference
 *     protocol (as filemap_get_entry()); a folio truncated after the lookup
 *     is still safe to read through our reference.
 *
 * Dirty pages only. The harvest (harvest.c) classifies only the dirty pages
 * of a range: it passes a @want bitmap. Pages not wanted are never read
 * nor counted, PMDs without a wanted page are skipped whole, and the zero
 * bitmap is returned masked with @want.
 *
 * Bounded work: one call handles at most max_batch_pages pages, in steps of
 * KMIG_ZSCAN_STEP pages. Between steps the mmap lock is dropped, pending
 * signals end the call (with the progress made, or -EINTR if none) and
 * cond_resched() runs. Steps are multiples of 64 pages from the cursor, so
 * the cursor stays a multiple of 64 as the uapi requires.
 */
#include <linux/bitmap.h>
#include <linux/highmem.h>
#include <linux/huge_mm.h>
#include <linux/hugetlb.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/shmem_fs.h>
#include <linux/userfaultfd_k.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "session.h"
#include "vm.h"
#include "zscan.h"

/* Pages per step (16 MiB with 4 KiB pages): see "Bounded work". */
#define KMIG_ZSCAN_STEP		4096UL
/* Upper limit of max_batch_pages: 64 GiB, a 2 MiB kernel bitmap. */
#define KMIG_ZSCAN_BATCH_MAX	(1U << 24)

/*
 * The uapi bitmap is an array of __u64 in host order; on the 64-bit hosts
 * KVM migration runs on, that is exactly the kernel's bitmap layout, so the
 * kernel bitmap is copied out as is.
 */
static_assert(BITS_PER_LONG == 64);

static unsigned int max_batch_pages = 262144;	/* 1 GiB of 4 KiB pages */

static int kmig_zscan_param_set(const char *val, const struct kernel_param *kp)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(val, 0, &v);
	if (ret)
		return ret;
	if (!v || v % 64 || v > KMIG_ZSCAN_BATCH_MAX) {
		pr_err("max_batch_pages=%u: need a multiple of 64 in 64..%u\n",
		       v, KMIG_ZSCAN_BATCH_MAX);
		return -EINVAL;
	}
	WRITE_ONCE(max_batch_pages, v);
	return 0;
}

static const struct kernel_param_ops kmig_zscan_param_ops = {
	.set = kmig_zscan_param_set,
	.get = param_get_uint,
};
module_param_cb(max_batch_pages, &kmig_zscan_param_ops, &max_batch_pages, 0644);
MODULE_PARM_DESC(max_batch_pages,
		 "most pages one KMIG_ZERO_SCAN call handles (multiple of 64, 64..16777216)");

u32 kmig_zscan_max_batch(void)
{
	return READ_ONCE(max_batch_pages);
}

/* What an empty page-table entry means in the VMA being walked. */
enum zs_hole {
	ZS_HOLE_NONE,		/* anonymous: never populated */
	ZS_HOLE_CACHE,		/* shmem: look in the page cache */
	ZS_HOLE_UNKNOWN,	/* other file: data in the file, not classified */
};

/* Per-PTE classes beyond enum kmig_zkind, resolved after the PTE lock. */
enum {
	ZS_PTE_HOLE = KMIG_ZK_NR,
	ZS_PTE_READ,
};

/**
 * struct zscan - state of one KMIG_ZERO_SCAN call
 * @sess: the calling session (huge zero pfn cache).
 * @mm: the VM's address space, pinned with mmget for the call.
 * @vma: the VMA being walked; valid under the mmap lock.
 * @hole: what an empty entry means in @vma.
 * @anon: @vma is private anonymous (the huge zero page can be mapped).
 * @no_read: KMIG_SCAN_F_NO_READ.
 * @base: user address of bit 0 of @bitmap.
 * @bitmap: zero pages of this call, copied out once at the end.
 * @want: NULL, or the pages to classify (bit 0 is @base); see "Dirty pages
 *	only" above.
 * @count: pages of this call per enum kmig_zkind (wanted pages only).
 * @pte_kind: classes of the entries of one PTE table.
 * @pte_page: for ZS_PTE_READ entries, the page, with a reference.
 */
struct zscan {
	struct kmig_session *sess;
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	enum zs_hole hole;
	bool anon;
	bool no_read;
	unsigned long base;
	unsigned long *bitmap;
	const unsigned long *want;
	u64 count[KMIG_ZK_NR];
	u8 pte_kind[PTRS_PER_PTE];
	struct page *pte_page[PTRS_PER_PTE];
};

/* Bits set in [first, first + n) of @map. */
static unsigned long zs_weight(const unsigned long *map, unsigned long first,
			       unsigned long n)
{
	unsigned long i, w = 0;

	for (i = first; i < first + n && i % BITS_PER_LONG; i++)
		w += test_bit(i, map);
	for (; i + BITS_PER_LONG <= first + n; i += BITS_PER_LONG)
		w += hweight_long(map[i / BITS_PER_LONG]);
	for (; i < first + n; i++)
		w += test_bit(i, map);
	return w;
}

/* Is the page at @addr to be classified? */
static bool zs_wanted(const struct zscan *zs, unsigned long addr)
{
	return !zs->want || test_bit((addr - zs->base) >> PAGE_SHIFT, zs->want);
}

/* Does [addr, end) hold a page to be classified? */
static bool zs_any_wanted(const struct zscan *zs, unsigned long addr,
			  unsigned long end)
{
	unsigned long first = (addr - zs->base) >> PAGE_SHIFT;
	unsigned long last = (end - zs->base) >> PAGE_SHIFT;

	return !zs->want || find_next_bit(zs->want, last, first) < last;
}

/*
 * Classifies the pages [addr, end) as @kind. With a @want mask only wanted
 * pages are counted; bits of unwanted pages are masked off at the end.
 */
static void zs_record(struct zscan *zs, unsigned long addr, unsigned long end,
		      enum kmig_zkind kind)
{
	unsigned long first = (addr - zs->base) >> PAGE_SHIFT;
	unsigned long n = (end - addr) >> PAGE_SHIFT;

	zs->count[kind] += zs->want ? zs_weight(zs->want, first, n) : n;
	if (kind == KMIG_ZK_NONZERO)
		return;
	if (n == 1)
		__set_bit(first, zs->bitmap);
	else
		bitmap_set(zs->bitmap, first, n);
}

/* Bytes read and checked at a time by zs_read_page(). */
#define ZS_READ_CHUNK	256

/* See "Reading a page" above. */
static enum kmig_zkind zs_read_page(struct page *page)
{
	u8 buf[ZS_READ_CHUNK] __aligned(sizeof(long));
	enum kmig_zkind kind = KMIG_ZK_ZERO_DATA;
	unsigned int off;
	void *p;

	if (PageHWPoison(page))
		return KMIG_ZK_NONZERO;
	p = kmap_local_page(page);
	for (off = 0; off < PAGE_SIZE; off += sizeof(buf)) {
		/* Non-zero return: bytes not copied (a machine check). */
		if (copy_mc_to_kernel(buf, p + off, sizeof(buf)) ||
		    !kmig_is_zeroed(buf, sizeof(buf))) {
			kind = KMIG_ZK_NONZERO;
			break;
		}
	}
	kunmap_local(p);
	return kind;
}

/*
 * The folio at @index of @mapping with a reference, an xarray value entry
 * (a swapped-out shmem page), or NULL for a hole. Never allocates. This is
 * filemap_get_entry()'s lookup, which 6.1 does not export.
 */
static struct folio *zs_cache_lookup(struct address_space *mapping,
				     pgoff_t index)
{
	XA_STATE(xas, &mapping->i_pages, index);
	struct folio *folio;

	rcu_read_lock();
repeat:
	xas_reset(&xas);
	folio = xas_load(&xas);
	if (xas_retry(&xas, folio))
		goto repeat;
	if (!folio || xa_is_value(folio))
		goto out;
	if (!folio_try_get_rcu(folio))
		goto repeat;
	if (unlikely(folio != xas_reload(&xas))) {
		folio_put(folio);
		goto repeat;
	}
out:
	rcu_read_unlock();
	return folio;
}

/*
 * Classifies pages from @index (at user address @addr) to at most @last
 * with the page-cache entry at @index. Returns the number of pages done.
 */
static unsigned long zs_cache_entry(struct zscan *zs,
				    struct address_space *mapping,
				    pgoff_t index, pgoff_t last,
				    unsigned long addr)
{
	struct folio *folio = zs_cache_lookup(mapping, index);
	unsigned long i, n;

	if (!folio) {		/* truncated since xa_find() */
		zs_record(zs, addr, addr + PAGE_SIZE, KMIG_ZK_NONE);
		return 1;
	}
	if (xa_is_value(folio) || index < folio->index ||
	    index >= folio_next_index(folio)) {
		if (!xa_is_value(folio))
			folio_put(folio);
		zs_record(zs, addr, addr + PAGE_SIZE, KMIG_ZK_NONZERO);
		return 1;
	}

	n = min(folio_next_index(folio), last + 1) - index;
	if (!folio_test_uptodate(folio)) {
		/*
		 * fallocate()d and never written: shmem reads it as zero and
		 * clears it on first fault; its memory is not cleared yet.
		 */
		zs_record(zs, addr, addr + (n << PAGE_SHIFT), KMIG_ZK_NONE);
	} else if (zs->no_read) {
		zs_record(zs, addr, addr + (n << PAGE_SHIFT), KMIG_ZK_NONZERO);
	} else {
		for (i = 0; i < n; i++, addr += PAGE_SIZE)
			zs_record(zs, addr, addr + PAGE_SIZE,
				  !zs_wanted(zs, addr) ? KMIG_ZK_NONZERO :
				  zs_read_page(folio_page(folio,
						index + i - folio->index)));
	}
	folio_put(folio);
	return n;
}

/* A hole of a shmem VMA: holes of the page cache are never populated. */
static void zs_cache_range(struct zscan *zs, unsigned long addr,
			   unsigned long end)
{
	struct address_space *mapping = zs->vma->vm_file->f_mapping;
	pgoff_t index = linear_page_index(zs->vma, addr);
	pgoff_t last = index + ((end - addr) >> PAGE_SHIFT) - 1;
	unsigned long next;

	while (addr < end) {
		pgoff_t found = index;

		/* xa_find() skips a run of holes in one call. */
		if (!xa_find(&mapping->i_pages, &found, last, XA_PRESENT))
			found = last + 1;
		found = max(found, index);
		if (found > index) {
			next = addr + ((found - index) << PAGE_SHIFT);
			zs_record(zs, addr, next, KMIG_ZK_NONE);
		} else {
			next = addr + (zs_cache_entry(zs, mapping, index, last,
						      addr) << PAGE_SHIFT);
		}
		index += (next - addr) >> PAGE_SHIFT;
		addr = next;
	}
}

/* Pages [addr, end) of the current VMA have no page-table entry. */
static void zs_hole(struct zscan *zs, unsigned long addr, unsigned long end)
{
	switch (zs->hole) {
	case ZS_HOLE_NONE:
		zs_record(zs, addr, end, KMIG_ZK_NONE);
		break;
	case ZS_HOLE_CACHE:
		zs_cache_range(zs, addr, end);
		break;
	case ZS_HOLE_UNKNOWN:
		zs_record(zs, addr, end, KMIG_ZK_NONZERO);
		break;
	}
}

/*
 * Called under the PTE lock: classify without reading, or take the page.
 * A page that is not wanted is not taken (its class is not counted).
 */
static u8 zs_pte_classify(struct zscan *zs, pte_t pte, bool wanted,
			  struct page **pagep)
{
	unsigned long pfn;
	struct page *page;

	if (!wanted)
		return KMIG_ZK_NONZERO;
	if (pte_none(pte))
		return ZS_PTE_HOLE;
	if (!pte_present(pte))	/* swap, migration, device-private, marker */
		return KMIG_ZK_NONZERO;
	pfn = pte_pfn(pte);
	if (is_zero_pfn(pfn))
		return KMIG_ZK_ZERO_PAGE;
	if (zs->no_read || pte_special(pte) || pte_devmap(pte) ||
	    !pfn_valid(pfn))
		return KMIG_ZK_NONZERO;
	page = pfn_to_page(pfn);
	/* Mapped, so it has references: fails only if being frozen. */
	if (!folio_try_get(page_folio(page)))
		return KMIG_ZK_NONZERO;
	*pagep = page;
	return ZS_PTE_READ;
}

/* Resolves the classes of one PTE table after its lock was dropped. */
static void zs_pte_finish(struct zscan *zs, unsigned long addr,
			  unsigned int n)
{
	unsigned int i, j;

	for (i = 0; i < n; i = j) {
		u8 kind = zs->pte_kind[i];
		unsigned long start = addr + ((unsigned long)i << PAGE_SHIFT);

		if (kind == ZS_PTE_READ) {
			j = i + 1;
			zs_record(zs, start, start + PAGE_SIZE,
				  zs_read_page(zs->pte_page[i]));
			put_page(zs->pte_page[i]);
			continue;
		}
		for (j = i + 1; j < n && zs->pte_kind[j] == kind; j++)
			;
		if (kind == ZS_PTE_HOLE)
			zs_hole(zs, start,
				addr + ((unsigned long)j << PAGE_SHIFT));
		else
			zs_record(zs, start,
				  addr + ((unsigned long)j << PAGE_SHIFT), kind);
	}
}

static int zs_pte_table(struct zscan *zs, pmd_t *pmd, unsigned long addr,
			unsigned long end)
{
	unsigned int i, n = (end - addr) >> PAGE_SHIFT;
	pte_t *start, *pte;
	spinlock_t *ptl;

	start = pte_offset_map_lock(zs->mm, pmd, addr, &ptl);
	if (!start)
		return -EAGAIN;
	for (i = 0, pte = start; i < n; i++, pte++)
		zs->pte_kind[i] = zs_pte_classify(zs, ptep_get(pte),
				zs_wanted(zs, addr + ((unsigned long)i << PAGE_SHIFT)),
				&zs->pte_page[i]);
	pte_unmap_unlock(start, ptl);

	zs_pte_finish(zs, addr, n);
	return 0;
}

/* See "The huge zero page" above. Called under the PMD lock. */
static bool zs_huge_zero_candidate(struct zscan *zs, pmd_t pmd,
				   struct page *head)
{
	return zs->anon && !pmd_write(pmd) && PageHead(head) &&
	       compound_order(head) == HPAGE_PMD_ORDER && !PageAnon(head) &&
	       !READ_ONCE(head->mapping);
}

static bool zs_huge_all_zero(struct page *head)
{
	unsigned int i;

	for (i = 0; i < HPAGE_PMD_NR; i++)
		if (zs_read_page(nth_page(head, i)) != KMIG_ZK_ZERO_DATA)
			return false;
	return true;
}

static void zs_huge_read(struct zscan *zs, struct page *head,
			 unsigned long addr, unsigned long end)
{
	unsigned long i = (addr & ~HPAGE_PMD_MASK) >> PAGE_SHIFT;

	for (; addr < end; addr += PAGE_SIZE, i++)
		zs_record(zs, addr, addr + PAGE_SIZE,
			  !zs_wanted(zs, addr) ? KMIG_ZK_NONZERO :
			  zs_read_page(nth_page(head, i)));
}

static int zs_huge_pmd(struct zscan *zs, pmd_t *pmd, unsigned long addr,
		       unsigned long end)
{
	struct page *head;
	spinlock_t *ptl;
	bool candidate;
	pmd_t val;

	ptl = pmd_lock(zs->mm, pmd);
	val = READ_ONCE(*pmd);
	if (!pmd_trans_huge(val) && !pmd_devmap(val)) {
		spin_unlock(ptl);	/* split or zapped meanwhile */
		return -EAGAIN;
	}
	if (pmd_devmap(val) || !pfn_valid(pmd_pfn(val)))
		goto nonzero_unlock;
	head = pmd_page(val);
	candidate = zs_huge_zero_candidate(zs, val, head);
	if (candidate &&
	    page_to_pfn(head) == READ_ONCE(zs->sess->huge_zero_pfn)) {
		spin_unlock(ptl);
		zs_record(zs, addr, end, KMIG_ZK_ZERO_PAGE);
		return 0;
	}
	/* With NO_READ a candidate is still read once, to confirm it. */
	if ((zs->no_read && !candidate) || !folio_try_get(page_folio(head)))
		goto nonzero_unlock;
	spin_unlock(ptl);

	if (candidate && zs_huge_all_zero(head)) {
		WRITE_ONCE(zs->sess->huge_zero_pfn, page_to_pfn(head));
		zs_record(zs, addr, end, KMIG_ZK_ZERO_PAGE);
	} else if (zs->no_read) {
		zs_record(zs, addr, end, KMIG_ZK_NONZERO);
	} else {
		zs_huge_read(zs, head, addr, end);
	}
	put_page(head);
	return 0;

nonzero_unlock:
	spin_unlock(ptl);
	zs_record(zs, addr, end, KMIG_ZK_NONZERO);
	return 0;
}

static int zs_pmd(struct zscan *zs, pmd_t *pmd, unsigned long addr,
		  unsigned long end)
{
	pmd_t val = READ_ONCE(*pmd);

	if (pmd_none(val)) {
		zs_hole(zs, addr, end);
		return 0;
	}
	if (pmd_trans_huge(val) || pmd_devmap(val))
		return zs_huge_pmd(zs, pmd, addr, end);
	if (!pmd_present(val) || pmd_bad(val)) {	/* THP migration entry */
		zs_record(zs, addr, end, KMIG_ZK_NONZERO);
		return 0;
	}
	return zs_pte_table(zs, pmd, addr, end);
}

static void zs_pmd_range(struct zscan *zs, pud_t *pud, unsigned long addr,
			 unsigned long end)
{
	pmd_t *pmd = pmd_offset(pud, addr);
	unsigned long next;

	do {
		next = pmd_addr_end(addr, end);
		if (!zs_any_wanted(zs, addr, next))
			continue;
		/* The PMD changed between our read and its lock: again. */
		while (zs_pmd(zs, pmd, addr, next) == -EAGAIN)
			cond_resched();
	} while (pmd++, addr = next, addr != end);
}

static void zs_pud_range(struct zscan *zs, p4d_t *p4d, unsigned long addr,
			 unsigned long end)
{
	pud_t *pud = pud_offset(p4d, addr);
	unsigned long next;

	do {
		pud_t val = READ_ONCE(*pud);

		next = pud_addr_end(addr, end);
		if (pud_none(val))
			zs_hole(zs, addr, next);
		else if (!pud_present(val) || pud_bad(val))	/* huge: DAX */
			zs_record(zs, addr, next, KMIG_ZK_NONZERO);
		else
			zs_pmd_range(zs, pud, addr, next);
	} while (pud++, addr = next, addr != end);
}

static void zs_p4d_range(struct zscan *zs, pgd_t *pgd, unsigned long addr,
			 unsigned long end)
{
	p4d_t *p4d = p4d_offset(pgd, addr);
	unsigned long next;

	do {
		p4d_t val = READ_ONCE(*p4d);

		next = p4d_addr_end(addr, end);
		if (p4d_none(val))
			zs_hole(zs, addr, next);
		else if (p4d_bad(val))
			zs_record(zs, addr, next, KMIG_ZK_NONZERO);
		else
			zs_pud_range(zs, p4d, addr, next);
	} while (p4d++, addr = next, addr != end);
}

static void zs_pgd_range(struct zscan *zs, unsigned long addr,
			 unsigned long end)
{
	pgd_t *pgd = pgd_offset(zs->mm, addr);
	unsigned long next;

	do {
		pgd_t val = READ_ONCE(*pgd);

		next = pgd_addr_end(addr, end);
		if (pgd_none(val))
			zs_hole(zs, addr, next);
		else if (pgd_bad(val))
			zs_record(zs, addr, next, KMIG_ZK_NONZERO);
		else
			zs_p4d_range(zs, pgd, addr, next);
	} while (pgd++, addr = next, addr != end);
}

/*
 * memfd_secret memory: its inodes live on the secretmem pseudo filesystem
 * (vma_is_secretmem() needs secretmem_vm_ops, which is not exported).
 */
static bool zs_vma_is_secretmem(struct vm_area_struct *vma)
{
	return vma->vm_file &&
	       file_inode(vma->vm_file)->i_sb->s_magic == SECRETMEM_MAGIC;
}

/*
 * Prepares the walk of @vma; false if its pages cannot be classified. See
 * "VMAs that are not walked" and "Holes that are not zero" above.
 */
static bool zs_vma_setup(struct zscan *zs, struct vm_area_struct *vma)
{
	if ((vma->vm_flags & (VM_IO | VM_PFNMAP | VM_MIXEDMAP)) ||
	    is_vm_hugetlb_page(vma) || zs_vma_is_secretmem(vma))
		return false;
	zs->vma = vma;
	zs->anon = vma_is_anonymous(vma);
	if (userfaultfd_missing(vma))
		zs->hole = ZS_HOLE_UNKNOWN;
	else if (zs->anon)
		zs->hole = ZS_HOLE_NONE;
	else if (shmem_file(vma->vm_file))
		zs->hole = ZS_HOLE_CACHE;
	else
		zs->hole = ZS_HOLE_UNKNOWN;
	return true;
}

/*
 * Classifies [addr, end) under the mmap read lock. Addresses with no VMA
 * count as non-zero: the memory behind the slot is gone (the VMM unmapped
 * it), and the caller learns so when it tries to read it.
 */
static void zs_walk(struct zscan *zs, unsigned long addr, unsigned long end)
{
	while (addr < end) {
		struct vm_area_struct *vma = find_vma(zs->mm, addr);
		unsigned long vend;

		if (!vma || vma->vm_start >= end) {
			zs_record(zs, addr, end, KMIG_ZK_NONZERO);
			return;
		}
		if (vma->vm_start > addr) {
			zs_record(zs, addr, vma->vm_start, KMIG_ZK_NONZERO);
			addr = vma->vm_start;
		}
		vend = min(end, vma->vm_end);
		if (zs_vma_setup(zs, vma))
			zs_pgd_range(zs, addr, vend);
		else
			zs_record(zs, addr, vend, KMIG_ZK_NONZERO);
		addr = vend;
	}
}

/* Runs the steps of one call; returns the pages done. */
static u64 zs_run(struct zscan *zs, u64 npages)
{
	u64 done = 0;

	while (done < npages) {
		u64 step = min_t(u64, npages - done, KMIG_ZSCAN_STEP);
		unsigned long start = zs->base + (done << PAGE_SHIFT);

		if (mmap_read_lock_killable(zs->mm))
			break;
		zs_walk(zs, start, start + (step << PAGE_SHIFT));
		mmap_read_unlock(zs->mm);
		done += step;
		if (signal_pending(current))
			break;
		cond_resched();
	}
	return done;
}

static void zs_account(struct kmig_session *s, const struct zscan *zs,
		       u64 ns)
{
	int k;

	kmig_stat_add(s, KMIG_ST_ZSCAN_CALLS, 1);
	kmig_stat_add(s, KMIG_ST_ZSCAN_NS, ns);
	for (k = 0; k < KMIG_ZK_NR; k++)
		kmig_stat_add(s, KMIG_ST_ZSCAN_NONE + k, zs->count[k]);
}

static int zs_copy_out(struct kmig_zero_scan *a, const struct zscan *zs,
		       u64 done)
{
	u64 __user *ubitmap = u64_to_user_ptr(a->zero_bitmap);

	if (copy_to_user(ubitmap + a->cursor / 64, zs->bitmap,
			 DIV_ROUND_UP(done, 64) * sizeof(u64)))
		return -EFAULT;
	a->cursor += done;
	a->nr_none = zs->count[KMIG_ZK_NONE];
	a->nr_zero_page = zs->count[KMIG_ZK_ZERO_PAGE];
	a->nr_zero_data = zs->count[KMIG_ZK_ZERO_DATA];
	a->nr_nonzero = zs->count[KMIG_ZK_NONZERO];
	return 0;
}

/* Scans @npages pages from the cursor of @a in @slot. */
static int zs_scan(struct kmig_session *s, struct kvm *kvm,
		   struct kmig_zero_scan *a, const struct kmig_slot *slot,
		   u64 npages)
{
	u64 t0 = ktime_get_ns(), done, sum;
	struct zscan *zs;
	int ret = -ENOMEM, k;

	if (signal_pending(current))
		return -EINTR;
	zs = kzalloc(sizeof(*zs), GFP_KERNEL);
	if (!zs)
		return -ENOMEM;
	zs->bitmap = kvcalloc(BITS_TO_LONGS(npages), sizeof(long), GFP_KERNEL);
	if (!zs->bitmap)
		goto out;
	zs->mm = kmig_vm_get_mm(kvm);
	ret = -ENODEV;
	if (!zs->mm)
		goto out;
	zs->sess = s;
	zs->no_read = a->flags & KMIG_SCAN_F_NO_READ;
	zs->base = slot->hva + ((a->first_page + a->cursor) << PAGE_SHIFT);

	done = zs_run(zs, npages);
	mmput(zs->mm);

	for (sum = 0, k = 0; k < KMIG_ZK_NR; k++)
		sum += zs->count[k];
	WARN_ON_ONCE(sum != done);	/* every page classified exactly once */
	zs_account(s, zs, ktime_get_ns() - t0);
	ret = done ? zs_copy_out(a, zs, done) : -EINTR;
out:
	kvfree(zs->bitmap);
	kfree(zs);
	return ret;
}

static int zs_check_args(const struct kmig_zero_scan *a)
{
	if (a->flags & ~KMIG_SCAN_F_ALL)
		return -EINVAL;
	if (a->reserved0 || !kmig_is_zeroed(a->reserved, sizeof(a->reserved)))
		return -EINVAL;
	return 0;
}

/* Checks the range against the slot, then the cursor against the range. */
static int zs_check_range(const struct kmig_zero_scan *a,
			  const struct kmig_slot *slot)
{
	u64 end;

	if (check_add_overflow(a->first_page, a->num_pages, &end) ||
	    end > slot->npages)
		return -EINVAL;
	if (a->cursor > a->num_pages ||
	    (a->cursor % 64 && a->cursor != a->num_pages))
		return -EINVAL;
	return 0;
}

/* max_pages rounded up to 64 and capped by the module's bound; 0: bound. */
static u64 zs_batch(u64 max_pages)
{
	u64 bound = kmig_zscan_max_batch();

	if (!max_pages || max_pages >= bound)
		return bound;
	return round_up(max_pages, 64);
}

int kmig_zscan_ioctl(struct kmig_session *s, void *arg)
{
	struct kmig_zero_scan *a = arg;
	struct kmig_slot slot;
	struct kvm *kvm;
	u64 npages;
	int ret;

	ret = zs_check_args(a);
	if (ret)
		return ret;
	kvm = kmig_session_kvm(s);
	if (!kvm)
		return -ENOTCONN;
	ret = kmig_vm_check(kvm);
	if (ret)
		return ret;
	ret = kmig_vm_get_slot(kvm, a->slot, &slot);
	if (ret)
		return ret;
	ret = zs_check_range(a, &slot);
	if (ret)
		return ret;

	a->nr_none = a->nr_zero_page = a->nr_zero_data = a->nr_nonzero = 0;
	npages = min(a->num_pages - a->cursor, zs_batch(a->max_pages));
	if (!npages)
		return 0;
	return zs_scan(s, kvm, a, &slot, npages);
}

/*
 * The harvest's entry points: one context per KMIG_HARVEST call, then one
 * kmig_zscan_range() per chunk of dirty pages.
 */
struct zscan *kmig_zscan_begin(struct kmig_session *s, struct mm_struct *mm,
			       bool no_read)
{
	struct zscan *zs = kzalloc(sizeof(*zs), GFP_KERNEL);

	if (!zs)
		return NULL;
	zs->sess = s;
	zs->mm = mm;
	zs->no_read = no_read;
	return zs;
}

void kmig_zscan_end(struct zscan *zs)
{
	kfree(zs);
}

/*
 * Classifies the pages of [hva, hva + npages pages) whose bit is set in
 * @want (npages bits): sets their bit in @zero (npages bits, cleared by
 * the caller) if they are zero, and adds their kinds to @count. The bits
 * of pages not wanted are left clear. Returns the pages done from the
 * start: less than @npages if a signal arrived or the mmap lock could not
 * be taken (a fatal signal), in multiples of KMIG_ZSCAN_STEP.
 */
u64 kmig_zscan_range(struct zscan *zs, unsigned long hva, u64 npages,
		     const unsigned long *want, unsigned long *zero,
		     u64 count[KMIG_ZK_NR])
{
	u64 done;
	int k;

	zs->base = hva;
	zs->want = want;
	zs->bitmap = zero;
	memset(zs->count, 0, sizeof(zs->count));
	done = zs_run(zs, npages);
	/* Holes and zero-page runs were recorded whole: keep wanted bits. */
	bitmap_and(zero, zero, want, npages);
	for (k = 0; k < KMIG_ZK_NR; k++)
		count[k] += zs->count[k];
	return done;
}
