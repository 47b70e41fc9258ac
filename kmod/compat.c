// SPDX-License-Identifier: GPL-2.0
/*
 * compat.c - kernel functions that kmig uses but some kernels do not
 * export; compat.h maps their names here, only on those kernels.
 *
 * Since 6.5, pte_offset_map_lock() is an inline wrapper of
 * __pte_offset_map_lock(), which is not exported. What follows is that
 * function (mm/pgtable-generic.c of 6.5..6.12), written with the inline
 * page-table accessors only: map the PTE table under RCU (page tables are
 * freed by RCU since 6.5: khugepaged retracts them without the mmap lock),
 * take its lock, and check that the PMD still points to it. Unlike the
 * kernel's version it leaves a bad PMD alone (pmd_clear_bad() is not
 * exported either): the caller sees NULL and looks at the PMD again,
 * where zscan.c classifies a bad PMD without mapping it.
 */
#include <linux/mm.h>
#include <linux/pgtable.h>

#ifdef KMIG_COMPAT_PTE_OFFSET_MAP_LOCK
static pte_t *kmig_pte_offset_map(pmd_t *pmd, unsigned long addr,
				  pmd_t *pmdvalp)
{
	pmd_t pmdval;

	rcu_read_lock();
	pmdval = pmdp_get_lockless(pmd);
	*pmdvalp = pmdval;
	/* Not present and not none: a THP migration entry. */
	if (unlikely(pmd_none(pmdval) || !pmd_present(pmdval) ||
		     pmd_trans_huge(pmdval) || pmd_devmap(pmdval) ||
		     pmd_bad(pmdval))) {
		rcu_read_unlock();
		return NULL;
	}
	return __pte_map(&pmdval, addr);
}

pte_t *kmig_pte_offset_map_lock(struct mm_struct *mm, pmd_t *pmd,
				unsigned long addr, spinlock_t **ptlp)
{
	spinlock_t *ptl;
	pmd_t pmdval;
	pte_t *pte;

	for (;;) {
		pte = kmig_pte_offset_map(pmd, addr, &pmdval);
		if (unlikely(!pte))
			return NULL;
		ptl = pte_lockptr(mm, &pmdval);
		spin_lock(ptl);
		if (likely(pmd_same(pmdval, pmdp_get_lockless(pmd)))) {
			*ptlp = ptl;
			return pte;
		}
		pte_unmap_unlock(pte, ptl);
	}
}
#endif
