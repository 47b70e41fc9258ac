// SPDX-License-Identifier: GPL-2.0
/*
 * Progress of a source job, from its statistics: how much of the first
 * pass is sent, how many bytes are still to go, and when it should end.
 *
 *   first pass   pages sent of all RAM pages; still to go: the pages not
 *                sent yet at the bytes per page seen so far (zero pages
 *                ride almost free, so this follows the guest's density)
 *   later        the last harvest's dirty pages at the expected bytes per
 *                page (converge.h), set by the engine at each decision
 *   rate         the last measured bandwidth, else the average so far
 *   ETA          still to go / (rate - what the guest dirties meanwhile),
 *                the sum of precopy's shrinking iterations, plus the
 *                expected downtime; unknown while the guest dirties as
 *                fast as we send (only the iteration bound ends that)
 */
#include "precopy/precopy_int.h"

static uint64_t sent_pages(const struct kmig_migrate_stats *st)
{
	const struct kmig_chan_stats *s = &st->stream.sum;

	return s->pages_raw + s->pages_compressed + s->pages_none + s->pages_zero;
}

void kmig_precopy_progress(struct kmig_migrate_stats *st)
{
	double bytes_per_page = st->page_bytes ? st->page_bytes : KMIG_PAGE_SIZE;
	uint64_t ram_pages = st->ram_bytes / KMIG_PAGE_SIZE, sent = sent_pages(st);
	uint64_t wire = st->stream.sum.bytes_wire;
	double rate = st->bandwidth, dirty_rate, ns;

	st->eta_ns = UINT64_MAX;
	if (!rate && st->total_ns > st->setup_ns)
		rate = wire * 1e9 / (st->total_ns - st->setup_ns);
	if (st->state >= KMIG_MIGRATE_SWITCHOVER) {
		st->first_pass_pages = ram_pages;
		st->remaining_bytes = 0;
		if (st->state >= KMIG_MIGRATE_COMPLETED)
			st->eta_ns = 0;
		return;
	}
	if (!st->iterations) {		/* in the first pass */
		st->first_pass_pages = sent < ram_pages ? sent : ram_pages;
		st->remaining_bytes = (ram_pages - st->first_pass_pages) *
				      (sent ? (double)wire / sent : KMIG_PAGE_SIZE);
	} else {
		st->first_pass_pages = ram_pages;
	}
	dirty_rate = st->dirty_rate * bytes_per_page;
	if (rate <= dirty_rate || st->state < KMIG_MIGRATE_PRECOPY)
		return;
	ns = st->remaining_bytes / (rate - dirty_rate) * 1e9;
	if (st->expected_downtime_ns != UINT64_MAX)
		ns += st->expected_downtime_ns;
	st->eta_ns = ns < 1.8e19 ? (uint64_t)ns : UINT64_MAX;
}
