// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "codec/autocomp.h"

#define EWMA_NEW 0.25	/* weight of a new sample */

void kmig_autocomp_init(struct kmig_autocomp *ac)
{
	memset(ac, 0, sizeof(*ac));
}

bool kmig_autocomp_want(struct kmig_autocomp *ac)
{
	bool want;

	if (!ac->have[1])
		want = true;		/* learn both modes first */
	else if (!ac->have[0])
		want = false;
	else
		want = ac->cost[1] < ac->cost[0];
	/* A probe of the losing mode costs its full price: probe it less
	 * often when it loses by far (compressing on a fast link). */
	unsigned int every = KMIG_AUTO_PROBE;

	if (ac->have[0] && ac->have[1] &&
	    (ac->cost[0] > 2 * ac->cost[1] || ac->cost[1] > 2 * ac->cost[0]))
		every *= 4;
	if (++ac->since_probe >= every) {
		ac->since_probe = 0;
		want = !want;
	}
	ac->decisions[want]++;
	return want;
}

void kmig_autocomp_record(struct kmig_autocomp *ac, bool compressed, uint64_t in, uint64_t ns)
{
	double c;

	if (!in)
		return;
	c = (double)(ns ? ns : 1) / in;
	ac->cost[compressed] = ac->have[compressed] ?
		ac->cost[compressed] * (1 - EWMA_NEW) + c * EWMA_NEW : c;
	ac->have[compressed] = true;
}
