// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty tracking through the VMM protocol (no module): the VMM turns
 * logging on and off and returns and clears KVM's bitmaps; zero pages are
 * found later, on the sender threads, after the clear.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/bits.h"
#include "dirty/dirty.h"

/* The client's text already names the request ("GET_DIRTY_LOG: ..."). */
static int vmm_fail(struct kmig_dirty *d, int ret, const char *what)
{
	const char *text = kmig_vmmp_last_error(d->vmm);

	if (text[0])
		snprintf(d->err, sizeof(d->err), "%s", text);
	else
		snprintf(d->err, sizeof(d->err), "%s: %s", what, strerror(-ret));
	return ret;
}

static void vmm_account(struct kmig_dirty *d)
{
	d->st.vmm_ns += kmig_vmmp_last_duration_ns(d->vmm);
}

static int vmm_start(struct kmig_dirty *d)
{
	int ret = kmig_vmmp_dirty_log_start(d->vmm, NULL, 0);

	vmm_account(d);
	return ret ? vmm_fail(d, ret, "DIRTY_LOG_START") : 0;
}

static int vmm_harvest(struct kmig_dirty *d, unsigned int iteration)
{
	for (unsigned int i = 0; i < d->nr; i++) {
		struct kmig_dirty_slot *ds = &d->slots[i];
		int ret = kmig_vmmp_get_dirty_log(d->vmm, ds->slot, ds->dirty,
						  KMIG_BITMAP_WORDS(ds->npages), &ds->nr_dirty,
						  NULL);

		d->st.harvests++;
		vmm_account(d);
		if (ret)
			return vmm_fail(d, ret, "GET_DIRTY_LOG");
	}
	return 0;
}

static int vmm_clear(struct kmig_dirty *d, struct kmig_dirty_slot *ds, uint64_t first,
		     uint64_t n, const uint64_t *bitmap)
{
	int ret = kmig_vmmp_clear_dirty_log(d->vmm, ds->slot, first, n, bitmap);

	d->st.clears++;
	vmm_account(d);
	return ret ? vmm_fail(d, ret, "CLEAR_DIRTY_LOG") : 0;
}

/* No deferred stop without the module: LAZY is synchronous too. */
static int vmm_stop(struct kmig_dirty *d, enum kmig_dirty_stop how)
{
	int ret = kmig_vmmp_dirty_log_stop(d->vmm, NULL, 0);

	vmm_account(d);
	return ret ? vmm_fail(d, ret, "DIRTY_LOG_STOP") : 0;
}

const struct kmig_dirty_ops kmig_dirty_vmm_ops = {
	.name = "userspace fallback (bitmaps through the VMM)",
	.start = vmm_start,
	.harvest = vmm_harvest,
	.clear = vmm_clear,
	.stop = vmm_stop,
};
