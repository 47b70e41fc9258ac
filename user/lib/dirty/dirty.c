// SPDX-License-Identifier: GPL-2.0
/*
 * The generic half of dirty tracking: choosing the implementation, timing
 * every call, and the clear rule (only pages that go out as data are
 * re-protected; see dirty.h for why).
 */
#include <errno.h>
#include <linux/kmig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/bits.h"
#include "dirty/dirty.h"
#include "base/ram.h"

int kmig_dirty_create(struct kmig_dirty **out, const struct kmig_dirty_ops *ops,
		      struct kmig_vmmp_client *vmm, const struct kmig_vmmp_memmap *mm)
{
	struct kmig_dirty *d = calloc(1, sizeof(*d));
	uint64_t most = 0;

	if (!d)
		return -ENOMEM;
	d->ops = ops;
	d->vmm = vmm;
	d->nr = mm->nr_slots;
	d->slots = calloc(d->nr, sizeof(*d->slots));
	if (!d->slots)
		goto nomem;
	for (unsigned int i = 0; i < d->nr; i++) {
		struct kmig_dirty_slot *ds = &d->slots[i];

		ds->slot = mm->slots[i].slot;
		ds->block = i;
		ds->npages = mm->slots[i].size / KMIG_PAGE_SIZE;
		ds->fd = mm->slots[i].memfd < mm->nr_memfds ? mm->memfds[mm->slots[i].memfd] : -1;
		ds->fd_offset = mm->slots[i].offset;
		ds->dirty = calloc(KMIG_BITMAP_WORDS(ds->npages), sizeof(uint64_t));
		if (!ds->dirty)
			goto nomem;
		most = KMIG_MAX(most, ds->npages);
	}
	d->scratch = calloc(KMIG_BITMAP_WORDS(most) ?: 1, sizeof(uint64_t));
	if (!d->scratch)
		goto nomem;
	snprintf(d->why, sizeof(d->why), "%s", ops->name);
	d->st.harvest_path = "vmm";
	d->st.zero_path = "sender-threads";
	d->st.first_pass_path = "sender-threads";
	d->st.stop_path = "vmm-sync";
	*out = d;
	return 0;
nomem:
	kmig_dirty_close(d);
	return -ENOMEM;
}

int kmig_dirty_open(struct kmig_dirty **out, struct kmig_vmmp_client *vmm,
		    const struct kmig_vmmp_memmap *mm, const char *dev_path, unsigned int use,
		    const char *reason)
{
	int ret = kmig_dirty_create(out, &kmig_dirty_vmm_ops, vmm, mm);

	if (ret)
		return ret;
	(*out)->use = use & KMIG_DIRTY_USE_ALL;
	kmig_dirty_use_str((*out)->use, (*out)->st.module_use, sizeof((*out)->st.module_use));
	if (!(*out)->use) {
		snprintf((*out)->why, sizeof((*out)->why), "%s: %s", kmig_dirty_vmm_ops.name,
			 reason ? reason : "the module is not to be used");
		return 0;
	}
	ret = kmig_dirty_kmod_use(*out, mm, dev_path ? dev_path : KMIG_DEVICE_PATH);
	if (ret) {
		kmig_dirty_close(*out);
		*out = NULL;
	}
	return ret;
}

static const char *const use_names[] = { "harvest", "scan", "classify", "stop", "scan-dense" };

int kmig_dirty_use_parse(const char *s, unsigned int *out)
{
	const char *p = s;

	*out = 0;
	if (!strcmp(s, "all") || !strcmp(s, "default") || !strcmp(s, "none")) {
		*out = s[0] == 'a' ? KMIG_DIRTY_USE_ALL : s[0] == 'd' ? KMIG_DIRTY_USE_DEFAULT : 0;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		unsigned int i;

		for (i = 0; i < KMIG_ARRAY_SIZE(use_names); i++)
			if (strlen(use_names[i]) == len && !strncmp(p, use_names[i], len))
				break;
		if (i == KMIG_ARRAY_SIZE(use_names))
			return -EINVAL;
		*out |= 1U << i;
		p += len + (p[len] == ',');
	}
	/* Classifying at harvest is a flag of the module's harvest. */
	if ((*out & KMIG_DIRTY_USE_CLASSIFY) && !(*out & KMIG_DIRTY_USE_HARVEST))
		return -EINVAL;
	/* ... and reading dense pieces one of the scan. */
	if ((*out & KMIG_DIRTY_USE_SCAN_DENSE) && !(*out & KMIG_DIRTY_USE_SCAN))
		return -EINVAL;
	return *out ? 0 : -EINVAL;
}

void kmig_dirty_use_str(unsigned int use, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < KMIG_ARRAY_SIZE(use_names); i++)
		if (use & (1U << i))
			n += snprintf(buf + n, n < len ? len - n : 0, "%s%s", n ? "," : "",
				      use_names[i]);
	if (!n)
		snprintf(buf, len, "none");
}

void kmig_dirty_close(struct kmig_dirty *d)
{
	if (!d)
		return;
	if (d->ops && d->ops->fini)
		d->ops->fini(d);
	for (unsigned int i = 0; d->slots && i < d->nr; i++) {
		free(d->slots[i].dirty);
		free(d->slots[i].zero);
	}
	free(d->slots);
	free(d->scratch);
	free(d);
}

const char *kmig_dirty_error(const struct kmig_dirty *d)
{
	return d->err;
}

int kmig_dirty_start(struct kmig_dirty *d)
{
	uint64_t t0 = kmig_now_ns();
	int ret = d->ops->start(d);

	d->st.start_ns += kmig_now_ns() - t0;
	d->st.starts++;
	if (!ret)
		d->started = true;
	return ret;
}

int kmig_dirty_harvest(struct kmig_dirty *d, unsigned int iteration, uint64_t *nr_dirty,
		       uint64_t *nr_zero)
{
	uint64_t t0 = kmig_now_ns(), dirty = 0, zero = 0;
	int ret;

	if (!d->started)
		return -EINVAL;
	d->hinted = d->keep_zero = false;
	ret = d->ops->harvest(d, iteration);
	d->st.harvest_ns += kmig_now_ns() - t0;
	for (unsigned int i = 0; !ret && i < d->nr; i++) {
		dirty += d->slots[i].nr_dirty;
		zero += d->hinted ? d->slots[i].nr_zero : 0;
	}
	if (nr_dirty)
		*nr_dirty = dirty;
	if (nr_zero)
		*nr_zero = zero;
	return ret;
}

/* Pages to re-protect: dirty, minus those known zero (dirty.h). Returns
 * the first and last non-empty word, or false if there is none. */
static bool clear_set(const struct kmig_dirty *d, const struct kmig_dirty_slot *ds,
		      uint64_t *out, uint64_t *lo, uint64_t *hi)
{
	uint64_t words = KMIG_BITMAP_WORDS(ds->npages);
	bool keep = d->keep_zero && d->hinted;
	bool any = false;

	for (uint64_t w = 0; w < words; w++) {
		out[w] = ds->dirty[w] & ~(keep ? ds->zero[w] : 0);
		if (!out[w])
			continue;
		if (!any)
			*lo = w;
		*hi = w;
		any = true;
	}
	return any;
}

int kmig_dirty_clear(struct kmig_dirty *d)
{
	uint64_t t0 = kmig_now_ns(), lo = 0, hi = 0;
	int ret = 0;

	if (!d->started)
		return -EINVAL;
	/* Only the words that hold bits: KVM walks the range it is given. */
	for (unsigned int i = 0; !ret && i < d->nr; i++) {
		struct kmig_dirty_slot *ds = &d->slots[i];

		if (!clear_set(d, ds, d->scratch, &lo, &hi))
			continue;
		ret = d->ops->clear(d, ds, lo * 64, KMIG_MIN((hi + 1) * 64, ds->npages) - lo * 64,
				    d->scratch + lo);
	}
	if (!ret && d->ops->cleared)
		d->ops->cleared(d);
	d->st.clear_ns += kmig_now_ns() - t0;
	return ret;
}

int kmig_dirty_first_pass(struct kmig_dirty *d, unsigned int i, uint64_t first, uint64_t n,
			  uint64_t *nr_zero)
{
	struct kmig_dirty_slot *ds = &d->slots[i];
	uint64_t zero = 0, end;
	int ret = 0;

	if (i >= d->nr || first % 64 || !kmig_add_ok(first, n, &end) || end > ds->npages)
		return -EINVAL;
	d->hinted = d->keep_zero = false;
	if (d->ops->first_pass)
		ret = d->ops->first_pass(d, ds, first, n, &zero);
	if (nr_zero)
		*nr_zero = d->hinted ? zero : 0;
	return ret;
}

void kmig_dirty_paused(struct kmig_dirty *d)
{
	d->paused = true;
}

int kmig_dirty_stop(struct kmig_dirty *d, enum kmig_dirty_stop how)
{
	uint64_t t0 = kmig_now_ns();
	int ret;

	if (!d->started)
		return 0;
	ret = d->ops->stop(d, how);
	d->st.stop_ns += kmig_now_ns() - t0;
	d->st.stops++;
	if (!ret)
		d->started = false;
	return ret;
}

int kmig_dirty_settle(struct kmig_dirty *d, int timeout_ms)
{
	uint64_t t0 = kmig_now_ns();
	int ret;

	if (!d->ops->settle)
		return 0;
	ret = d->ops->settle(d, timeout_ms);
	d->st.settle_ns += kmig_now_ns() - t0;
	return ret;
}
