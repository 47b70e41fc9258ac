// SPDX-License-Identifier: GPL-2.0
/*
 * Multiboot v1 entry (QEMU -kernel, GRUB): one vCPU at CPL0, parameters
 * from defaults and the command line, progress on the UART.
 *
 * Command line (all optional, decimal): seed=N ab=MIB spin=N report=PAGES
 * fill=PCT (share of the non-a-b memory filled with text and random pages,
 * 1..100; default 0: thirds zero, text, random, as kmig-vmm's --fill)
 * e.g. qemu-system-x86_64 -kernel kguest.elf -append "seed=7 ab=16"
 */
#include "guest.h"

#define MB_INFO_MEM	(1U << 0)
#define MB_INFO_CMDLINE	(1U << 2)

/* The first fields of the multiboot v1 information structure. */
struct mb_info {
	uint32_t flags;
	uint32_t mem_lower;	/* KiB below 1 MiB */
	uint32_t mem_upper;	/* KiB above 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;	/* physical address of a C string */
};

#define BOOT_RAM_LIMIT	(4ULL << 30)	/* boot.S maps the first 4 GiB */
#define DEFAULT_AB_MIB	8
#define DEFAULT_REPORT	4096

void kguest_multiboot_main(uint32_t mbi_addr) __attribute__((noreturn));

/* Value of "key=N" in @cmd, or @def when absent or not a number. */
static uint64_t cmdline_u64(const char *cmd, const char *key, uint64_t def)
{
	const char *p = cmd;

	while (p && *p) {
		const char *k = key, *q = p;
		uint64_t v = 0;
		int digits = 0;

		while (*k && *q == *k) {
			k++;
			q++;
		}
		if (!*k && *q == '=' && (p == cmd || p[-1] == ' ')) {
			for (q++; *q >= '0' && *q <= '9'; q++, digits++)
				v = v * 10 + (uint64_t)(*q - '0');
			if (digits && (*q == 0 || *q == ' '))
				return v;
		}
		p++;
	}
	return def;
}

/*
 * The pages the guest leaves zero must read as zero, as under kmig-vmm
 * (which has no firmware): clear what the firmware or the loader left in
 * them before the guest ran (SeaBIOS's POST heap below 48 MiB, say).
 * Reading a page that is zero does not allocate it (anonymous RAM maps
 * the zero page); only the pages with leftovers are written. Returns how
 * many were.
 */
static uint64_t scrub_zero_regions(const struct kguest_params *p)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < p->nr_regions; i++) {
		const struct kguest_region *r = &p->regions[i];

		if (r->kind != KGUEST_ZERO)
			continue;
		for (uint64_t pg = 0; pg < r->pages; pg++) {
			uint64_t *w = (uint64_t *)(uintptr_t)(r->gpa + (pg << KGUEST_PAGE_SHIFT));
			uint64_t j, or = 0;

			for (j = 0; j < KGUEST_PAGE_SIZE / 8; j++)
				or |= w[j];
			if (!or)
				continue;
			for (j = 0; j < KGUEST_PAGE_SIZE / 8; j++)
				w[j] = 0;
			n++;
		}
	}
	return n;
}

void kguest_multiboot_main(uint32_t mbi_addr)
{
	const struct mb_info *mbi = (const void *)(uintptr_t)mbi_addr;
	struct kguest_params *p = (void *)(uintptr_t)KGUEST_PARAMS_GPA;
	const char *cmd = 0;
	uint64_t ram_end = 64ULL << 20, ab, fill;

	if (mbi->flags & MB_INFO_MEM)
		ram_end = (1ULL << 20) + ((uint64_t)mbi->mem_upper << 10);
	if (ram_end > BOOT_RAM_LIMIT)
		ram_end = BOOT_RAM_LIMIT;
	ram_end &= ~(KGUEST_PAGE_SIZE - 1);
	if (mbi->flags & MB_INFO_CMDLINE)
		cmd = (const char *)(uintptr_t)mbi->cmdline;

	memset(p, 0, sizeof(*p));
	p->magic = KGUEST_PARAMS_MAGIC;
	p->version = KGUEST_VERSION;
	p->nr_vcpus = 1;
	p->seed = cmdline_u64(cmd, "seed", 1);
	p->report_pages = cmdline_u64(cmd, "report", DEFAULT_REPORT);
	p->spin = cmdline_u64(cmd, "spin", 0);
	p->flags = KGUEST_F_SERIAL;
	p->ram_end = ram_end;
	ab = cmdline_u64(cmd, "ab", DEFAULT_AB_MIB) << 20;
	/* Out of range: the default layout, not a guess. */
	fill = cmdline_u64(cmd, "fill", 0);
	if (fill > 100)
		fill = 0;
	/* Same centre as kmig-vmm's default split (ram / 2 + 1 MiB), so both
	 * VMMs lay out the same guest for the same RAM size. */
	kguest_layout_fill(p, KGUEST_WORK_GPA, ram_end, (KGUEST_WORK_GPA + ram_end) / 2,
			   ab >> KGUEST_PAGE_SHIFT, (uint32_t)fill);

	kguest_puts("kguest: multiboot, ram ");
	kguest_putu(ram_end >> 20);
	kguest_puts(" MiB, regions ");
	kguest_putu(p->nr_regions);
	kguest_puts(", seed ");
	kguest_putu(p->seed);
	kguest_puts(", fill ");
	kguest_putu(fill);
	kguest_puts(", firmware pages cleared ");
	kguest_putu(scrub_zero_regions(p));
	kguest_puts("\n");
	kguest_main(0, p);
}
