// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "base/bits.h"
#include "pages/stats.h"

#define FIELDS KMIG_CHAN_STATS_FIELDS

void kmig_chan_stats_load(struct kmig_chan_stats *dst, const struct kmig_chan_stats *src)
{
#define LOAD(f) dst->f = KMIG_STAT_GET(src->f);
	FIELDS(LOAD)
#undef LOAD
}

void kmig_chan_stats_batch(struct kmig_chan_stats *c, uint64_t data, bool compressed,
			   uint64_t bytes)
{
	if (compressed) {
		KMIG_STAT_ADD(c->pages_compressed, data);
		KMIG_STAT_ADD(c->bytes_compressed, bytes);
		KMIG_STAT_ADD(c->batches_compressed, 1);
	} else if (data) {
		KMIG_STAT_ADD(c->pages_raw, data);
		KMIG_STAT_ADD(c->batches_raw, 1);
	}
}

void kmig_stats_sum(struct kmig_stats *st)
{
	memset(&st->sum, 0, sizeof(st->sum));
	for (unsigned int i = 0; i < st->nr_channels; i++) {
#define ADD(f) st->sum.f += st->chan[i].f;
		FIELDS(ADD)
#undef ADD
	}
}
