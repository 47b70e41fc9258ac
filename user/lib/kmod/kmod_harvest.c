// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/kmig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kmod/kmod_harvest.h"

static void fill_entries(struct kmig_harvest_entry *e, const struct kmig_harvest_range *r,
			 unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		e[i] = (struct kmig_harvest_entry){
			.slot = r[i].slot,
			.first_page = r[i].first_page,
			.num_pages = r[i].num_pages,
			.dirty_bitmap = (uintptr_t)r[i].dirty,
			.zero_bitmap = (uintptr_t)r[i].zero,
		};
	}
}

/* The ioctl handles entries in order and leaves one only when it is done,
 * so the first unfinished entry is the one a failing call stopped at. */
static int fail(struct kmig_err *err, int e, const struct kmig_harvest *h,
		const struct kmig_harvest_entry *ent)
{
	unsigned int i = h->next_entry;

	while (i < h->nr_entries && ent[i].cursor == ent[i].num_pages)
		i++;
	if (i == h->nr_entries)
		return kmig_err_set(err, -e, "KMIG_HARVEST of %u ranges: %s", h->nr_entries,
				    strerror(e));
	return kmig_err_set(err, -e,
			    "KMIG_HARVEST range %u (slot %u:%u, pages %llu+%llu, at %llu): %s%s",
			    i, KMIG_SLOT_AS(ent[i].slot), KMIG_SLOT_ID(ent[i].slot),
			    (unsigned long long)ent[i].first_page,
			    (unsigned long long)ent[i].num_pages,
			    (unsigned long long)ent[i].cursor, strerror(e),
			    e == EOPNOTSUPP ? " (VM not in manual-protect mode)" :
			    e == ENXIO ? " (VM uses the dirty ring)" :
			    e == ENODATA ? " (slot has no dirty logging)" : "");
}

int kmig_harvest(struct kmig_kmod *m, struct kmig_harvest_range *r, unsigned int n,
		 unsigned int flags, uint64_t max_pages, struct kmig_harvest_stats *st,
		 struct kmig_err *err)
{
	struct kmig_harvest h = {
		.size = sizeof(h), .flags = flags, .nr_entries = n,
		.entry_size = sizeof(struct kmig_harvest_entry), .max_pages = max_pages,
	};
	struct kmig_harvest_stats s = { 0 };
	struct kmig_harvest_entry *e;
	int ret = 0;

	if (n > KMIG_HARVEST_MAX_ENTRIES)
		return kmig_err_set(err, -EINVAL, "%u ranges, at most %d", n,
				    KMIG_HARVEST_MAX_ENTRIES);
	if (!kmig_kmod_has(m, KMIG_FEAT_HARVEST))
		return kmig_err_set(err, -EPROTO, "the module has no KMIG_HARVEST");
	e = calloc(n ? n : 1, sizeof(*e));
	if (!e)
		return kmig_err_set(err, -ENOMEM, "%u harvest entries", n);
	fill_entries(e, r, n);
	h.entries = (uintptr_t)e;

	while (h.next_entry < n) {
		if (ioctl(m->fd, KMIG_HARVEST, &h) < 0) {
			if (errno == EINTR)
				continue;
			ret = fail(err, errno, &h, e);
			goto out;
		}
		s.calls++;
		s.nr_dirty += h.nr_dirty;
		s.nr_zero += h.nr_zero;
	}
	for (unsigned int i = 0; i < n; i++) {
		r[i].nr_dirty = e[i].nr_dirty;
		r[i].nr_zero = e[i].nr_zero;
	}
	if (st)
		*st = s;
out:
	free(e);
	return ret;
}
