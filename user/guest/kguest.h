/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kguest: the ABI between the freestanding guest workload, the VMM that runs
 * it (kmig-vmm), and the integrity checker (kmig_abcheck_*).
 *
 * This header is included by freestanding 64-bit guest code (no libc) and by
 * hosted userspace code, so it only uses <stdint.h>/<stddef.h> and integer
 * arithmetic. Everything here is in guest-physical terms; the guest runs with
 * an identity mapping, so a guest-physical address is also the guest's
 * virtual address.
 *
 * Guest-physical layout (fixed):
 *
 *   0x000000  unused (page 0)
 *   0x001000  GDT                      written by the VMM (KVM path)
 *   0x002000  PML4                     written by the VMM (KVM path)
 *   0x003000  PDPT                     written by the VMM (KVM path)
 *   0x005000  struct kguest_params     written by the VMM / multiboot stub
 *   0x006000  struct kguest_status     written by the guest
 *   0x010000  page directories         written by the VMM (KVM path)
 *   0x100000  the guest image (code, data, bss, per-vCPU stacks)
 *   0x200000  workload regions, as listed in kguest_params.regions[]
 *
 * The workload: every vCPU fills its share of each region with the region's
 * pattern (zero regions are left untouched, or with KGUEST_F_TOUCH_ZERO
 * read once per page: populated but zero), then sweeps its share of the
 * single a-b region forever, incrementing the first byte of each page, and
 * exits to the VMM with `out KGUEST_PORT` every report_pages pages.
 */
#ifndef KGUEST_H
#define KGUEST_H

#include <stddef.h>
#include <stdint.h>

#define KGUEST_PAGE_SIZE	4096ULL
#define KGUEST_PAGE_SHIFT	12

#define KGUEST_GDT_GPA		0x1000ULL
#define KGUEST_PML4_GPA		0x2000ULL
#define KGUEST_PDPT_GPA		0x3000ULL
#define KGUEST_PARAMS_GPA	0x5000ULL
#define KGUEST_STATUS_GPA	0x6000ULL
#define KGUEST_PD_GPA		0x10000ULL
#define KGUEST_PD_MAX		128	/* page directories: 128 GiB of RAM */
#define KGUEST_IMAGE_GPA	0x100000ULL
#define KGUEST_IMAGE_END	0x200000ULL
#define KGUEST_WORK_GPA		0x200000ULL
#define KGUEST_RAM_MAX		((uint64_t)KGUEST_PD_MAX << 30)

/* `out` port of the progress exits: unassigned on QEMU's PC machines. */
#define KGUEST_PORT		0x4f0
/* 16550 UART data register used for text output under QEMU. */
#define KGUEST_SERIAL_PORT	0x3f8

#define KGUEST_MAX_VCPUS	16
#define KGUEST_MAX_REGIONS	64
#define KGUEST_STACK_SIZE	16384

#define KGUEST_PARAMS_MAGIC	0x4250474bU	/* "KGPB" */
#define KGUEST_STATUS_MAGIC	0x5453474bU	/* "KGST" */
#define KGUEST_IMAGE_MAGIC	0x4d49474bU	/* "KGIM" */
#define KGUEST_VERSION		1

/* Region kinds. */
#define KGUEST_ZERO	0	/* never written by the guest: must stay zero */
#define KGUEST_TEXT	1	/* text-like bytes from a word list */
#define KGUEST_RANDOM	2	/* pseudo-random bytes: incompressible */
#define KGUEST_AB	3	/* random bytes, byte 0 is the a-b counter */
#define KGUEST_NR_KINDS	4

/* kguest_params.flags */
#define KGUEST_F_SERIAL	(1U << 0)	/* also print progress on the UART */
/* The fill reads one byte of every page of the zero regions: memory that is
 * populated but zero (on memfd RAM a read fault allocates and clears the
 * page), as in a guest that cleared or scanned all of its RAM. */
#define KGUEST_F_TOUCH_ZERO	(1U << 1)
#define KGUEST_F_ALL	(KGUEST_F_SERIAL | KGUEST_F_TOUCH_ZERO)

/* Events: the value of `out KGUEST_PORT, eax`, see KGUEST_EVENT(). */
#define KGUEST_EV_START		1	/* vCPU entered kguest_main */
#define KGUEST_EV_FILL_DONE	2	/* this vCPU's share is filled */
#define KGUEST_EV_PROGRESS	3	/* report_pages more pages written */
#define KGUEST_EV_ERROR		4	/* bad parameters; arg: KGUEST_ERR_* */
#define KGUEST_EVENT(ev, vcpu, arg) \
	((uint32_t)(ev) | ((uint32_t)(vcpu) << 8) | ((uint32_t)(arg) << 16))
#define KGUEST_EVENT_EV(v)	((v) & 0xff)
#define KGUEST_EVENT_VCPU(v)	(((v) >> 8) & 0xff)
#define KGUEST_EVENT_ARG(v)	((v) >> 16)

/* KGUEST_EV_ERROR arguments. */
#define KGUEST_ERR_MAGIC	1
#define KGUEST_ERR_VCPU		2
#define KGUEST_ERR_REGIONS	3
#define KGUEST_ERR_FLAGS	4

/* kguest_vcpu_status.phase */
#define KGUEST_PHASE_NONE	0
#define KGUEST_PHASE_FILL	1
#define KGUEST_PHASE_DIRTY	2
#define KGUEST_PHASE_ERROR	3

struct kguest_region {
	uint64_t gpa;		/* page aligned, >= KGUEST_WORK_GPA */
	uint64_t pages;
	uint32_t kind;		/* KGUEST_ZERO .. KGUEST_AB */
	uint32_t reserved;
};

/* At KGUEST_PARAMS_GPA; one page at most. */
struct kguest_params {
	uint32_t magic;		/* KGUEST_PARAMS_MAGIC */
	uint32_t version;	/* KGUEST_VERSION */
	uint32_t nr_vcpus;	/* vCPUs running the workload, 1..MAX */
	uint32_t nr_regions;
	uint64_t seed;		/* keys every pattern */
	uint64_t report_pages;	/* `out` every N pages written, per vCPU */
	uint64_t spin;		/* delay loop iterations after each write */
	uint32_t flags;		/* KGUEST_F_* */
	uint32_t reserved0;
	uint64_t ram_end;	/* end of guest RAM (informational) */
	uint64_t reserved[3];
	struct kguest_region regions[KGUEST_MAX_REGIONS];
};

/* One per vCPU, 64 bytes, written only by that vCPU. */
struct kguest_vcpu_status {
	uint32_t phase;		/* KGUEST_PHASE_* */
	uint32_t error;		/* KGUEST_ERR_* when phase is ERROR */
	uint64_t pages;		/* a-b pages written, counted at reports */
	uint64_t sweeps;	/* completed sweeps over the vCPU's share */
	uint64_t pos;		/* next page of the share at the last report */
	uint64_t reports;	/* progress exits */
	uint64_t reserved[3];
};

/* At KGUEST_STATUS_GPA. */
struct kguest_status {
	uint32_t magic;		/* KGUEST_STATUS_MAGIC once a vCPU started */
	uint32_t version;
	uint64_t reserved[7];
	struct kguest_vcpu_status vcpu[KGUEST_MAX_VCPUS];
};

/* At the start of the image, after the multiboot header (see boot.S). */
struct kguest_image_header {
	uint32_t magic;		/* KGUEST_IMAGE_MAGIC */
	uint32_t version;	/* KGUEST_VERSION */
	uint64_t entry64;	/* 64-bit entry: rdi = vCPU index, rsi = params */
	uint64_t image_end;	/* end of bss and stacks */
	uint32_t max_vcpus;
	uint32_t reserved;
};
#define KGUEST_IMAGE_HEADER_GPA	(KGUEST_IMAGE_GPA + 32)

_Static_assert(sizeof(struct kguest_region) == 24, "region layout");
_Static_assert(sizeof(struct kguest_params) <= KGUEST_PAGE_SIZE, "params");
_Static_assert(sizeof(struct kguest_vcpu_status) == 64, "vcpu status");
_Static_assert(sizeof(struct kguest_status) <= KGUEST_PAGE_SIZE, "status");

/* Share [first, end) of @pages that vCPU @vcpu of @nr fills and sweeps. */
static inline void kguest_share(uint64_t pages, uint32_t vcpu, uint32_t nr,
				uint64_t *first, uint64_t *end)
{
	*first = pages * vcpu / nr;
	*end = pages * (vcpu + 1) / nr;
}

/* splitmix64's finalizer: a good 64-bit mix in a few instructions. */
static inline uint64_t kguest_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

#define KGUEST_GOLDEN	0x9e3779b97f4a7c15ULL
#define KGUEST_SALT_TEXT 0x7465787474657874ULL
#define KGUEST_SALT_RAND 0x72616e6472616e64ULL
#define KGUEST_SALT_AB	 0x6162616261626162ULL

static inline void kguest_fill_random(uint64_t *w, uint64_t seed,
				      uint64_t pfn, uint64_t salt)
{
	uint64_t s = kguest_mix64(seed ^ salt ^ (pfn * KGUEST_GOLDEN));
	size_t i;

	for (i = 0; i < KGUEST_PAGE_SIZE / 8; i++) {
		s += KGUEST_GOLDEN;
		w[i] = kguest_mix64(s);
	}
}

/*
 * Text-like page: words from a small list, separated by spaces, with
 * sentence ends and line breaks, so that it compresses like prose (about
 * 2:1 with zlib) and is never zero. The fast loop copies a fixed 12 bytes
 * per word (the NUL padding is overwritten by what follows); the tail is
 * written byte by byte, so the result is the same as copying each word.
 */
static inline void kguest_fill_text(uint8_t *p, uint64_t seed, uint64_t pfn)
{
	static const char words[32][12] = {
		"the", "migration", "of", "guest", "memory", "pages", "is",
		"a", "dirty", "bitmap", "kernel", "module", "and", "vCPU",
		"while", "running", "copies", "zero", "stream", "channel",
		"switchover", "downtime", "precopy", "harvest", "slot", "to",
		"from", "source", "destination", "checksum", "in", "with",
	};
	uint64_t s = kguest_mix64(seed ^ KGUEST_SALT_TEXT ^ (pfn * KGUEST_GOLDEN));
	uint8_t len[32];
	size_t off = 0, i;

	for (i = 0; i < 32; i++)
		for (len[i] = 0; words[i][len[i]]; len[i]++)
			;
	while (off < KGUEST_PAGE_SIZE) {
		const char *w;
		uint64_t r;

		s += KGUEST_GOLDEN;
		r = kguest_mix64(s);
		w = words[r & 31];
		if (off + 14 <= KGUEST_PAGE_SIZE) {
			for (i = 0; i < 12; i++)
				p[off + i] = (uint8_t)w[i];
			off += len[r & 31];
		} else {
			for (; *w && off < KGUEST_PAGE_SIZE; w++)
				p[off++] = (uint8_t)*w;
		}
		if (off < KGUEST_PAGE_SIZE)
			p[off++] = ((r >> 8) & 15) == 0 ? '.' : ' ';
		if (off < KGUEST_PAGE_SIZE && ((r >> 12) & 63) == 0)
			p[off++] = '\n';
	}
}

/*
 * The content a region's page has right after the fill phase. For KGUEST_AB
 * byte 0 starts at 0 and is then incremented by each sweep.
 */
static inline void kguest_pattern_page(void *page, uint32_t kind,
				       uint64_t seed, uint64_t pfn)
{
	uint64_t *w = (uint64_t *)page;
	size_t i;

	switch (kind) {
	case KGUEST_TEXT:
		kguest_fill_text((uint8_t *)page, seed, pfn);
		break;
	case KGUEST_RANDOM:
		kguest_fill_random(w, seed, pfn, KGUEST_SALT_RAND);
		break;
	case KGUEST_AB:
		kguest_fill_random(w, seed, pfn, KGUEST_SALT_AB);
		((uint8_t *)page)[0] = 0;
		break;
	default:
		for (i = 0; i < KGUEST_PAGE_SIZE / 8; i++)
			w[i] = 0;
		break;
	}
}

/*
 * Pages of a region of @kind in a group of three chunks (zero, text,
 * random): equal thirds for @fill_pct 0, otherwise text and random share
 * @fill_pct percent of the group and zero gets the rest (0 pages: skipped).
 */
static inline uint64_t kguest_kind_pages(uint32_t kind, uint64_t chunk, uint32_t fill_pct)
{
	uint64_t data = chunk * 3 * fill_pct / 200;

	if (!fill_pct)
		return chunk;
	return kind == KGUEST_ZERO ? chunk * 3 - 2 * data : data;
}

/*
 * The standard layout used by kmig-vmm and by the multiboot entry: the a-b
 * region of @ab_pages pages centred on @ab_center (clamped into the work
 * area), the rest of [work, end) cut into chunks rotating zero, text,
 * random; @fill_pct (0: thirds) sets the share of text and random pages
 * (sparse or dense guests). Returns the number of regions in @p->regions.
 */
static inline uint32_t kguest_layout_fill(struct kguest_params *p, uint64_t work,
					  uint64_t end, uint64_t ab_center,
					  uint64_t ab_pages, uint32_t fill_pct)
{
	uint64_t pages = (end - work) >> KGUEST_PAGE_SHIFT;
	uint64_t ab_first, chunk, pfn, ab_pfn;
	uint32_t n = 0, kind = KGUEST_ZERO;

	if (ab_pages > pages)
		ab_pages = pages;
	ab_first = ab_center >> KGUEST_PAGE_SHIFT;
	ab_first = ab_first > ab_pages / 2 ? ab_first - ab_pages / 2 : 0;
	if (ab_first < (work >> KGUEST_PAGE_SHIFT))
		ab_first = work >> KGUEST_PAGE_SHIFT;
	if (ab_first + ab_pages > (end >> KGUEST_PAGE_SHIFT))
		ab_first = (end >> KGUEST_PAGE_SHIFT) - ab_pages;
	/* No a-b region: a pfn the walk never reaches. */
	ab_pfn = ab_pages ? ab_first : UINT64_MAX;
	/* KGUEST_MAX_REGIONS - 3: room for the a-b region and the split;
	 * uneven kinds (fill_pct) can cut a group of three more often. */
	chunk = (pages - ab_pages) / (KGUEST_MAX_REGIONS - (fill_pct ? 9 : 3)) + 1;
	if (chunk < 256)
		chunk = 256;

	for (pfn = work >> KGUEST_PAGE_SHIFT; pfn < (end >> KGUEST_PAGE_SHIFT);) {
		uint64_t stop = pfn + kguest_kind_pages(kind, chunk, fill_pct);
		struct kguest_region *r;

		if (stop == pfn && pfn != ab_pfn) {
			kind = kind == KGUEST_RANDOM ? KGUEST_ZERO : kind + 1;
			continue;
		}
		if (n == KGUEST_MAX_REGIONS) {	/* cannot happen with the chunk above */
			p->nr_regions = 0;
			return 0;
		}
		r = &p->regions[n++];
		if (pfn == ab_pfn) {
			stop = pfn + ab_pages;
			r->kind = KGUEST_AB;
		} else {
			if (pfn < ab_pfn && stop > ab_pfn)
				stop = ab_pfn;
			r->kind = kind;
			kind = kind == KGUEST_RANDOM ? KGUEST_ZERO : kind + 1;
		}
		if (stop > (end >> KGUEST_PAGE_SHIFT))
			stop = end >> KGUEST_PAGE_SHIFT;
		r->gpa = pfn << KGUEST_PAGE_SHIFT;
		r->pages = stop - pfn;
		r->reserved = 0;
		pfn = stop;
	}
	p->nr_regions = n;
	return n;
}

static inline uint32_t kguest_layout(struct kguest_params *p, uint64_t work,
				     uint64_t end, uint64_t ab_center,
				     uint64_t ab_pages)
{
	return kguest_layout_fill(p, work, end, ab_center, ab_pages, 0);
}

#endif /* KGUEST_H */
