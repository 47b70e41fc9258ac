// SPDX-License-Identifier: GPL-2.0
/*
 * vmm_bench: what the VMM side of a migration costs on this machine, with a
 * real kmig-vmm and kguest (make -C user bench).
 *
 *   vmm_bench [--mem SIZE] [--vcpus N] [--ab SIZE] [--seconds S]
 *
 * Prints: guest a-b page-write rate without and with dirty logging (ratio
 * against the first, measured in the same run), GET_DIRTY_LOG and
 * CLEAR_DIRTY_LOG time per GiB (all dirty / nothing dirty), PAUSE latency,
 * DIRTY_LOG_STOP time per GiB, device-state size and time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tutil.h"

#define GIB (1ULL << 30)

struct bench {
	struct tvmm t;
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_memmap *m;
	uint64_t ram;
	uint64_t *bm;
	uint64_t words;
	int ms;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

/* Guest page writes per second over b->ms of wall time. */
static double write_rate(struct bench *b, int harvest)
{
	struct kmig_vmmp_status s0, s1;
	uint64_t t0, t1;
	int i, steps = b->ms / 100;

	kmig_vmmp_query(b->c, &s0);
	t0 = kmig_vmmp_now_ns();
	for (i = 0; i < steps; i++) {
		uint32_t s;

		tvmm_sleep_ms(100);
		/* Like precopy: harvest and re-protect what was written. */
		for (s = 0; harvest && s < b->m->nr_slots; s++) {
			uint64_t pages = b->m->slots[s].size / KGUEST_PAGE_SIZE;

			kmig_vmmp_get_dirty_log(b->c, b->m->slots[s].slot, b->bm, b->words, NULL, NULL);
			kmig_vmmp_clear_dirty_log(b->c, b->m->slots[s].slot, 0, pages, b->bm);
		}
	}
	kmig_vmmp_query(b->c, &s1);
	t1 = kmig_vmmp_now_ns();
	return (double)(s1.progress - s0.progress) * 1e9 / (double)(t1 - t0);
}

/* GET then CLEAR of every slot; time per GiB of guest RAM. */
static void harvest_cost(struct bench *b, double *get_ms, double *clear_ms, uint64_t *dirty)
{
	uint64_t g = 0, c = 0, nr;
	uint32_t s;

	*dirty = 0;
	for (s = 0; s < b->m->nr_slots; s++) {
		uint64_t pages = b->m->slots[s].size / KGUEST_PAGE_SIZE;

		kmig_vmmp_get_dirty_log(b->c, b->m->slots[s].slot, b->bm, b->words, &nr, NULL);
		g += kmig_vmmp_last_duration_ns(b->c);
		*dirty += nr;
		memset(b->bm, 0xff, b->words * 8);
		kmig_vmmp_clear_dirty_log(b->c, b->m->slots[s].slot, 0, pages, b->bm);
		c += kmig_vmmp_last_duration_ns(b->c);
	}
	*get_ms = ms(g) * (double)GIB / (double)b->ram;
	*clear_ms = ms(c) * (double)GIB / (double)b->ram;
}

static void pause_latency(struct bench *b)
{
	uint64_t lat[21];
	int i;

	for (i = 0; i < 21; i++) {
		tvmm_sleep_ms(20);
		kmig_vmmp_pause(b->c);
		lat[i] = kmig_vmmp_last_duration_ns(b->c);
		kmig_vmmp_resume(b->c);
	}
	qsort(lat, 21, sizeof(lat[0]), cmp_u64);
	printf("| PAUSE latency (21 runs): median / min / max | %.3f / %.3f / %.3f ms |\n",
	       ms(lat[10]), ms(lat[0]), ms(lat[20]));
}

static int setup(struct bench *b, const char *mem, const char *vcpus, const char *ab)
{
	const char *args[] = { "--mem", mem, "--vcpus", vcpus, "--ab", ab, NULL };
	uint32_t s;
	int ret = tvmm_start(&b->t, args);

	if (!ret)
		ret = tvmm_connect(&b->t, &b->c);
	if (!ret)
		ret = tvmm_wait_ready(b->c, 120000);
	if (!ret)
		ret = kmig_vmmp_get_slots(b->c, &b->m);
	for (s = 0; !ret && s < b->m->nr_slots; s++) {
		uint64_t w = (b->m->slots[s].size / KGUEST_PAGE_SIZE + 63) / 64;

		b->ram += b->m->slots[s].size;
		b->words = w > b->words ? w : b->words;
	}
	if (!ret)
		b->bm = calloc(b->words, 8);
	return ret ? ret : (b->bm ? 0 : -ENOMEM);
}

static void run(struct bench *b)
{
	double r0, r1, get_ms, clear_ms;
	uint64_t dirty;
	void *blob;
	size_t len;

	printf("| measure | value |\n|---|---|\n");
	r0 = write_rate(b, 0);
	printf("| guest page writes/s, no dirty logging (baseline) | %.2f M |\n", r0 / 1e6);
	kmig_vmmp_dirty_log_start(b->c, NULL, 0);
	printf("| DIRTY_LOG_START, all slots | %.3f ms |\n", ms(kmig_vmmp_last_duration_ns(b->c)));
	harvest_cost(b, &get_ms, &clear_ms, &dirty);
	printf("| first GET_DIRTY_LOG / CLEAR per GiB (%llu pages dirty) | %.3f / %.3f ms |\n",
	       (unsigned long long)dirty, get_ms, clear_ms);
	r1 = write_rate(b, 1);
	printf("| guest page writes/s, dirty logging, GET+CLEAR every 100 ms | %.2f M (%.3fx baseline) |\n",
	       r1 / 1e6, r1 / r0);
	harvest_cost(b, &get_ms, &clear_ms, &dirty);
	printf("| GET_DIRTY_LOG / CLEAR per GiB, running guest (%llu dirty) | %.3f / %.3f ms |\n",
	       (unsigned long long)dirty, get_ms, clear_ms);
	kmig_vmmp_pause(b->c);
	harvest_cost(b, &get_ms, &clear_ms, &dirty);
	harvest_cost(b, &get_ms, &clear_ms, &dirty);
	printf("| GET_DIRTY_LOG / CLEAR per GiB, paused, nothing dirty | %.3f / %.3f ms |\n",
	       get_ms, clear_ms);
	kmig_vmmp_get_device_state(b->c, &blob, &len);
	printf("| GET_DEVICE_STATE (%zu bytes) | %.3f ms |\n", len,
	       ms(kmig_vmmp_last_duration_ns(b->c)));
	free(blob);
	kmig_vmmp_resume(b->c);
	tvmm_sleep_ms(300);
	kmig_vmmp_dirty_log_stop(b->c, NULL, 0);
	printf("| DIRTY_LOG_STOP per GiB (running guest) | %.3f ms |\n",
	       ms(kmig_vmmp_last_duration_ns(b->c)) * (double)GIB / (double)b->ram);
	pause_latency(b);
}

int main(int argc, char **argv)
{
	struct bench b = { .ms = 1000 };
	const char *mem = "1G", *vcpus = "2", *ab = "16M";
	int i, ret;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--mem"))
			mem = argv[i + 1];
		else if (!strcmp(argv[i], "--vcpus"))
			vcpus = argv[i + 1];
		else if (!strcmp(argv[i], "--ab"))
			ab = argv[i + 1];
		else if (!strcmp(argv[i], "--seconds"))
			b.ms = atoi(argv[i + 1]) * 1000;
	}
	ret = setup(&b, mem, vcpus, ab);
	if (ret) {
		fprintf(stderr, "vmm_bench: starting kmig-vmm: %s\n", strerror(-ret));
		tvmm_stop(&b.t);
		return 1;
	}
	printf("kmig-vmm bench: %s guest RAM in %u slots, %s vCPUs, %s a-b range\n\n",
	       mem, b.m->nr_slots, vcpus, ab);
	run(&b);
	free(b.bm);
	kmig_vmmp_memmap_free(b.m);
	kmig_vmmp_client_close(b.c);
	return tvmm_stop(&b.t) ? 1 : 0;
}
