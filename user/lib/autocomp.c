// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "autocomp.h"

#define EWMA_NEW 0.25	/* weight of a new sample */

static double ewma(double old, double sample, bool have)
{
	return have ? old * (1 - EWMA_NEW) + sample * EWMA_NEW : sample;
}

void kmig_autocomp_init(struct kmig_autocomp *ac)
{
	memset(ac, 0, sizeof(*ac));
}

bool kmig_autocomp_want(struct kmig_autocomp *ac)
{
	bool want;

	if (!ac->have_codec)
		want = true;		/* learn the codec first */
	else if (!ac->have_link)
		want = false;		/* then the link */
	else
		want = ac->link < ac->codec * (1 - ac->ratio);
	if (!want && ++ac->since_probe >= KMIG_AUTO_PROBE) {
		ac->since_probe = 0;
		want = true;
	}
	if (want)
		ac->decisions_compress++;
	else
		ac->decisions_raw++;
	return want;
}

void kmig_autocomp_sent(struct kmig_autocomp *ac, uint64_t bytes, uint64_t ns)
{
	if (!ns)
		ns = 1;
	ac->link = ewma(ac->link, (double)bytes / ns, ac->have_link);
	ac->have_link = true;
}

void kmig_autocomp_coded(struct kmig_autocomp *ac, uint64_t in, uint64_t out, uint64_t ns)
{
	if (!in)
		return;
	if (!ns)
		ns = 1;
	ac->codec = ewma(ac->codec, (double)in / ns, ac->have_codec);
	ac->ratio = ewma(ac->ratio, out >= in ? 1.0 : (double)out / in, ac->have_codec);
	ac->have_codec = true;
}
