// SPDX-License-Identifier: GPL-2.0
/*
 * kguest workload: fill the regions, then dirty the a-b region forever.
 *
 * Runs on every vCPU with the same parameter block; vCPU i owns share i of
 * every region (kguest_share()), so the vCPUs never write the same page and
 * need no synchronisation. Progress is published in the vCPU's slot of the
 * status page and announced with `out KGUEST_PORT` (a KVM_EXIT_IO the VMM
 * uses to count and throttle; QEMU ignores the port).
 */
#include "guest.h"

extern void kguest_start64(void);
extern char __bss_end[];

uint8_t kguest_stacks[KGUEST_MAX_VCPUS][KGUEST_STACK_SIZE]
	__attribute__((aligned(4096)));

/* Read by the VMM at KGUEST_IMAGE_HEADER_GPA, right after the multiboot header. */
__attribute__((section(".kguest_header"), used))
const struct kguest_image_header kguest_image_header = {
	.magic = KGUEST_IMAGE_MAGIC,
	.version = KGUEST_VERSION,
	.entry64 = (uint64_t)(uintptr_t)kguest_start64,
	.image_end = (uint64_t)(uintptr_t)__bss_end,
	.max_vcpus = KGUEST_MAX_VCPUS,
};

_Static_assert(KGUEST_STACK_SIZE == 1 << 14, "boot.S uses STACK_SHIFT 14");
_Static_assert(KGUEST_MAX_VCPUS == 16, "boot.S checks rdi < 16");

static __attribute__((noreturn)) void fail(struct kguest_vcpu_status *st,
					   uint64_t vcpu, uint32_t err)
{
	if (st) {
		st->error = err;
		st->phase = KGUEST_PHASE_ERROR;
	}
	for (;;)
		kguest_out(KGUEST_PORT, KGUEST_EVENT(KGUEST_EV_ERROR, vcpu, err));
}

/* Returns the a-b region, or 0 (fail) when the parameters are unusable. */
static uint32_t check_params(const struct kguest_params *p, uint64_t vcpu,
			     const struct kguest_region **ab)
{
	uint32_t i;

	if (p->magic != KGUEST_PARAMS_MAGIC || p->version != KGUEST_VERSION)
		return KGUEST_ERR_MAGIC;
	if (p->nr_vcpus == 0 || p->nr_vcpus > KGUEST_MAX_VCPUS ||
	    vcpu >= p->nr_vcpus)
		return KGUEST_ERR_VCPU;
	if (p->flags & ~KGUEST_F_ALL)
		return KGUEST_ERR_FLAGS;
	if (p->nr_regions > KGUEST_MAX_REGIONS)
		return KGUEST_ERR_REGIONS;
	*ab = 0;
	for (i = 0; i < p->nr_regions; i++) {
		const struct kguest_region *r = &p->regions[i];

		if (r->kind >= KGUEST_NR_KINDS || r->gpa < KGUEST_WORK_GPA ||
		    (r->gpa & (KGUEST_PAGE_SIZE - 1)) ||
		    r->pages > (KGUEST_RAM_MAX >> KGUEST_PAGE_SHIFT) ||
		    r->gpa + (r->pages << KGUEST_PAGE_SHIFT) > KGUEST_RAM_MAX)
			return KGUEST_ERR_REGIONS;
		if (r->kind == KGUEST_AB) {
			if (*ab)
				return KGUEST_ERR_REGIONS;
			*ab = r;
		}
	}
	if (!*ab || (*ab)->pages < p->nr_vcpus)
		return KGUEST_ERR_REGIONS;
	return 0;
}

/* KGUEST_F_TOUCH_ZERO: read each page of a zero region once. */
static void touch_zero(const struct kguest_region *r, uint64_t first, uint64_t end)
{
	uint64_t pg;

	for (pg = first; pg < end; pg++)
		(void)*(volatile uint8_t *)(uintptr_t)(r->gpa + (pg << KGUEST_PAGE_SHIFT));
}

static void fill(const struct kguest_params *p, uint32_t vcpu)
{
	uint32_t i;

	for (i = 0; i < p->nr_regions; i++) {
		const struct kguest_region *r = &p->regions[i];
		uint64_t pg, first, end;

		kguest_share(r->pages, vcpu, p->nr_vcpus, &first, &end);
		if (r->kind == KGUEST_ZERO) {	/* never written: stays zero */
			if (p->flags & KGUEST_F_TOUCH_ZERO)
				touch_zero(r, first, end);
			continue;
		}
		for (pg = first; pg < end; pg++) {
			uint64_t gpa = r->gpa + (pg << KGUEST_PAGE_SHIFT);

			kguest_pattern_page((void *)(uintptr_t)gpa, r->kind,
					    p->seed, gpa >> KGUEST_PAGE_SHIFT);
		}
	}
}

static void spin(uint64_t n)
{
	while (n--)
		__asm__ volatile("pause");
}

static void serial_report(const struct kguest_vcpu_status *st)
{
	kguest_puts("kguest: sweep ");
	kguest_putu(st->sweeps);
	kguest_puts(" pages ");
	kguest_putu(st->pages);
	kguest_puts("\n");
}

static __attribute__((noreturn)) void dirty(const struct kguest_params *p,
					    const struct kguest_region *ab,
					    struct kguest_vcpu_status *st,
					    uint32_t vcpu)
{
	uint64_t report = p->report_pages ? p->report_pages : 1;
	uint64_t first, end, pg, since = 0;
	int serial = (p->flags & KGUEST_F_SERIAL) && vcpu == 0;

	kguest_share(ab->pages, vcpu, p->nr_vcpus, &first, &end);
	for (;;) {
		for (pg = first; pg < end; pg++) {
			volatile uint8_t *b = (volatile uint8_t *)(uintptr_t)
				(ab->gpa + (pg << KGUEST_PAGE_SHIFT));

			*b = (uint8_t)(*b + 1);
			spin(p->spin);
			if (++since < report)
				continue;
			st->pages += since;
			st->pos = pg + 1 - first;
			st->reports++;
			since = 0;
			kguest_out(KGUEST_PORT,
				   KGUEST_EVENT(KGUEST_EV_PROGRESS, vcpu, 0));
			/* On the UART too: a VMM that ignores the port (QEMU)
			 * still sees the write rate, at the same granularity. */
			if (serial)
				serial_report(st);
		}
		st->sweeps++;
	}
}

void kguest_main(uint64_t vcpu, struct kguest_params *p)
{
	struct kguest_status *status = (void *)(uintptr_t)KGUEST_STATUS_GPA;
	struct kguest_vcpu_status *st = &status->vcpu[vcpu];
	const struct kguest_region *ab;
	uint32_t err;

	status->magic = KGUEST_STATUS_MAGIC;
	status->version = KGUEST_VERSION;
	st->phase = KGUEST_PHASE_FILL;
	kguest_out(KGUEST_PORT, KGUEST_EVENT(KGUEST_EV_START, vcpu, 0));
	err = check_params(p, vcpu, &ab);
	if (err)
		fail(st, vcpu, err);
	fill(p, (uint32_t)vcpu);
	st->phase = KGUEST_PHASE_DIRTY;
	kguest_out(KGUEST_PORT, KGUEST_EVENT(KGUEST_EV_FILL_DONE, vcpu, 0));
	if ((p->flags & KGUEST_F_SERIAL) && vcpu == 0)
		kguest_puts("kguest: fill done\n");
	dirty(p, ab, st, (uint32_t)vcpu);
}
