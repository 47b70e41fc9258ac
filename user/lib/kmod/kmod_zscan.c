// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <linux/kmig.h>
#include <string.h>
#include <sys/ioctl.h>

#include "kmod/kmod_zscan.h"

static int fail(struct kmig_err *err, int e, const struct kmig_zero_scan *zs)
{
	return kmig_err_set(err, -e, "KMIG_ZERO_SCAN of slot %u:%u pages %llu+%llu, at %llu: %s",
			    KMIG_SLOT_AS(zs->slot), KMIG_SLOT_ID(zs->slot),
			    (unsigned long long)zs->first_page, (unsigned long long)zs->num_pages,
			    (unsigned long long)zs->cursor, strerror(e));
}

int kmig_zero_scan(struct kmig_kmod *m, uint32_t slot, uint64_t first, uint64_t n,
		   unsigned int flags, uint64_t *zero, struct kmig_zscan_stats *st,
		   struct kmig_err *err)
{
	struct kmig_zero_scan zs = {
		.size = sizeof(zs), .flags = flags, .slot = slot, .first_page = first,
		.num_pages = n, .zero_bitmap = (uintptr_t)zero,
	};

	if (!kmig_kmod_has(m, KMIG_FEAT_ZERO_SCAN))
		return kmig_err_set(err, -EPROTO, "the module has no KMIG_ZERO_SCAN");
	while (zs.cursor < n) {
		uint64_t before = zs.cursor;

		if (ioctl(m->fd, KMIG_ZERO_SCAN, &zs) < 0) {
			if (errno == EINTR)
				continue;
			return fail(err, errno, &zs);
		}
		if (zs.cursor <= before || zs.cursor > n)
			return fail(err, EPROTO, &zs);
		if (st) {
			st->calls++;
			st->none += zs.nr_none;
			st->zero_page += zs.nr_zero_page;
			st->zero_data += zs.nr_zero_data;
			st->nonzero += zs.nr_nonzero;
		}
	}
	return 0;
}
