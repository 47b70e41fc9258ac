// SPDX-License-Identifier: GPL-2.0
/*
 * Boot set-up of a source VM: load the kguest ELF, write the GDT, the
 * identity page tables and the parameter block (see ../guest/kguest.h for
 * the guest-physical layout).
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm.h"

#define MAX_IMAGE_FILE	(4U << 20)

/* DPL 3 flat segments: the guest runs at CPL3 (see TESTBED.md). */
#define GDT_CODE64_DPL3	0x00affa000000ffffULL
#define GDT_DATA_DPL3	0x00cff2000000ffffULL
#define PTE_P_RW_U	0x7ULL
#define PDE_2M		0x80ULL

static int read_file(const char *path, uint8_t **buf, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	if (st.st_size <= 0 || st.st_size > MAX_IMAGE_FILE) {
		ret = -EFBIG;
		goto out;
	}
	*buf = malloc((size_t)st.st_size);
	if (!*buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = read(fd, *buf, (size_t)st.st_size);
	*len = (size_t)st.st_size;
	if (n != st.st_size)
		ret = n < 0 ? -errno : -EIO;
out:
	close(fd);
	return ret;
}

static int check_ehdr(const Elf64_Ehdr *e, size_t len)
{
	if (len < sizeof(*e) || memcmp(e->e_ident, ELFMAG, SELFMAG) ||
	    e->e_ident[EI_CLASS] != ELFCLASS64 || e->e_machine != EM_X86_64 ||
	    e->e_type != ET_EXEC || e->e_phentsize != sizeof(Elf64_Phdr))
		return -ENOEXEC;
	if (e->e_phoff > len || e->e_phnum > (len - e->e_phoff) / sizeof(Elf64_Phdr))
		return -ENOEXEC;
	return 0;
}

/* Copy one PT_LOAD segment; it must lie inside the image window. */
static int load_segment(struct kvmm *vm, const uint8_t *file, size_t len,
			const Elf64_Phdr *p)
{
	uint8_t *dst;

	if (p->p_filesz > p->p_memsz || p->p_offset > len ||
	    p->p_filesz > len - p->p_offset || p->p_paddr < KGUEST_IMAGE_GPA ||
	    p->p_paddr > KGUEST_IMAGE_END ||
	    p->p_memsz > KGUEST_IMAGE_END - p->p_paddr) {
		kvmm_err("guest ELF: segment at 0x%llx of %llu bytes outside [0x%llx, 0x%llx)",
			 (unsigned long long)p->p_paddr,
			 (unsigned long long)p->p_memsz,
			 KGUEST_IMAGE_GPA, KGUEST_IMAGE_END);
		return -ENOEXEC;
	}
	dst = kvmm_gpa(vm, p->p_paddr, p->p_memsz);
	if (!dst)
		return -ENOEXEC;
	memcpy(dst, file + p->p_offset, p->p_filesz);
	memset(dst + p->p_filesz, 0, p->p_memsz - p->p_filesz);
	return 0;
}

static int check_image_header(struct kvmm *vm)
{
	const struct kguest_image_header *h =
		kvmm_gpa(vm, KGUEST_IMAGE_HEADER_GPA, sizeof(*h));

	if (!h || h->magic != KGUEST_IMAGE_MAGIC || h->version != KGUEST_VERSION ||
	    h->entry64 < KGUEST_IMAGE_GPA || h->entry64 >= KGUEST_IMAGE_END ||
	    h->max_vcpus < vm->nr_vcpus) {
		kvmm_err("guest ELF: no kguest v%d image header at 0x%llx (or fewer than %u vCPUs)",
			 KGUEST_VERSION, KGUEST_IMAGE_HEADER_GPA, vm->nr_vcpus);
		return -ENOEXEC;
	}
	vm->entry64 = h->entry64;
	return 0;
}

static int load_elf(struct kvmm *vm)
{
	uint8_t *file = NULL;
	size_t len = 0;
	const Elf64_Ehdr *e;
	int i, ret = read_file(vm->opts.guest, &file, &len);

	if (ret) {
		kvmm_err("guest ELF %s: %s", vm->opts.guest, strerror(-ret));
		goto out;
	}
	e = (const Elf64_Ehdr *)file;
	ret = check_ehdr(e, len);
	if (ret) {
		kvmm_err("guest ELF %s: not a 64-bit x86 executable", vm->opts.guest);
		goto out;
	}
	for (i = 0; i < e->e_phnum; i++) {
		const Elf64_Phdr *p = (const Elf64_Phdr *)(file + e->e_phoff) + i;

		if (p->p_type == PT_LOAD && (ret = load_segment(vm, file, len, p)))
			goto out;
	}
	ret = check_image_header(vm);
out:
	free(file);
	return ret;
}

static void write_tables(struct kvmm *vm)
{
	uint64_t *gdt = kvmm_gpa(vm, KGUEST_GDT_GPA, KGUEST_PAGE_SIZE);
	uint64_t *pml4 = kvmm_gpa(vm, KGUEST_PML4_GPA, KGUEST_PAGE_SIZE);
	uint64_t *pdpt = kvmm_gpa(vm, KGUEST_PDPT_GPA, KGUEST_PAGE_SIZE);
	uint64_t gib = (vm->ram_size + (1ULL << 30) - 1) >> 30, i, j;

	gdt[0] = 0;
	gdt[1] = GDT_CODE64_DPL3;
	gdt[2] = GDT_DATA_DPL3;
	/* The U bit at every level: the guest runs at CPL3. */
	pml4[0] = KGUEST_PDPT_GPA | PTE_P_RW_U;
	for (i = 0; i < gib; i++) {
		uint64_t pd_gpa = KGUEST_PD_GPA + i * KGUEST_PAGE_SIZE;
		uint64_t *pd = kvmm_gpa(vm, pd_gpa, KGUEST_PAGE_SIZE);

		pdpt[i] = pd_gpa | PTE_P_RW_U;
		for (j = 0; j < 512; j++)
			pd[j] = (i << 30 | j << 21) | PDE_2M | PTE_P_RW_U;
	}
}

static int write_params(struct kvmm *vm)
{
	struct kguest_params *p = kvmm_gpa(vm, KGUEST_PARAMS_GPA, sizeof(*p));
	uint64_t center = vm->nr_slots > 1 ? vm->slots[1].gpa : vm->ram_size / 2;

	memset(p, 0, sizeof(*p));
	p->magic = KGUEST_PARAMS_MAGIC;
	p->version = KGUEST_VERSION;
	p->nr_vcpus = vm->nr_vcpus;
	p->seed = vm->opts.seed;
	p->report_pages = vm->opts.report;
	p->spin = vm->opts.spin;
	p->ram_end = vm->ram_size;
	if (vm->opts.touch_zero)
		p->flags |= KGUEST_F_TOUCH_ZERO;
	/* The a-b range straddles slots 0 and 1: dirty pages in both. */
	kguest_layout_fill(p, KGUEST_WORK_GPA, vm->ram_size, center,
			   vm->opts.ab_bytes >> KGUEST_PAGE_SHIFT, vm->opts.fill_pct);
	if (p->nr_regions == 0 || vm->opts.ab_bytes < KGUEST_PAGE_SIZE * vm->nr_vcpus) {
		kvmm_err("--ab must give every vCPU at least one page");
		return -EINVAL;
	}
	return 0;
}

int kvmm_load_guest(struct kvmm *vm)
{
	int ret = load_elf(vm);

	if (ret)
		return ret;
	write_tables(vm);
	ret = write_params(vm);
	if (!ret)
		kvmm_log(vm, "guest %s: entry 0x%llx, %u vCPUs, seed %llu",
			 vm->opts.guest, (unsigned long long)vm->entry64,
			 vm->nr_vcpus, (unsigned long long)vm->opts.seed);
	return ret;
}
