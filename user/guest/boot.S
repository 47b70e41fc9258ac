/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kguest entry points.
 *
 * Two ways in, one 64-bit workload:
 *  - kmig-vmm (KVM): the VMM builds the GDT and identity page tables, puts
 *    the vCPU in 64-bit mode at CPL3 with its first KVM_SET_SREGS and starts
 *    it at kguest_start64 with rdi = vCPU index, rsi = parameter block.
 *  - Multiboot v1 (QEMU -kernel, GRUB): kguest_start32 runs in 32-bit
 *    protected mode with paging off, builds its own page tables (identity,
 *    2 MiB pages, first 4 GiB), enters long mode at CPL0 and calls
 *    kguest_multiboot_main(multiboot info).
 *
 * The multiboot header uses the address fields ("a.out kludge", flag 16)
 * because QEMU refuses to load a 64-bit ELF through the multiboot ELF path;
 * with the address fields it loads [load_addr, load_end_addr) straight from
 * the file and zeroes the bss, so the linker script keeps the file layout
 * contiguous (see guest.ld).
 */

#define MB_MAGIC	0x1badb002
#define MB_FLAGS	((1 << 16) | (1 << 1))	/* address fields, memory info */
#define STACK_SHIFT	14			/* KGUEST_STACK_SIZE = 16 KiB */

	.section .mbheader, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header			/* header_addr */
	.long __image_start		/* load_addr */
	.long __load_end		/* load_end_addr */
	.long __bss_end			/* bss_end_addr */
	.long kguest_start32		/* entry_addr */
	/* struct kguest_image_header follows (section .kguest_header). */

	.text
	.code32
	.globl kguest_start32
kguest_start32:
	cli
	mov	%ebx, %edi			/* multiboot info */
	mov	$boot_stack_top, %esp

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..PD3; PDs: 2 MiB pages. */
	mov	$boot_pdpt, %eax
	or	$0x3, %eax
	mov	%eax, boot_pml4
	xor	%ecx, %ecx
1:	mov	%ecx, %eax
	shl	$12, %eax
	add	$boot_pd, %eax
	or	$0x3, %eax
	mov	%eax, boot_pdpt(,%ecx,8)
	inc	%ecx
	cmp	$4, %ecx
	jne	1b

	xor	%ecx, %ecx			/* entry index 0..2047 */
2:	mov	%ecx, %eax
	shl	$21, %eax			/* low 32 bits of i * 2 MiB */
	or	$0x83, %eax			/* present, writable, 2 MiB */
	mov	%eax, boot_pd(,%ecx,8)
	mov	%ecx, %eax
	shr	$11, %eax			/* high bits: i * 2 MiB >> 32 */
	mov	%eax, boot_pd+4(,%ecx,8)
	inc	%ecx
	cmp	$2048, %ecx
	jne	2b

	mov	$boot_pml4, %eax
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax			/* PAE */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx		/* EFER */
	rdmsr
	or	$0x100, %eax			/* LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax		/* PG, PE */
	mov	%eax, %cr0

	lgdt	boot_gdt_ptr
	ljmp	$0x08, $kguest_start64_mb

	.code64
kguest_start64_mb:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	mov	$kguest_stacks + (1 << STACK_SHIFT), %rsp
	/* edi still holds the multiboot info address (zero-extended). */
	mov	%edi, %edi
	call	kguest_multiboot_main
3:	hlt
	jmp	3b

	/* KVM entry: rdi = vCPU index, rsi = struct kguest_params. */
	.globl kguest_start64
kguest_start64:
	cmp	$16, %rdi			/* KGUEST_MAX_VCPUS */
	jae	4f
	mov	%rdi, %rsp
	inc	%rsp
	shl	$STACK_SHIFT, %rsp
	add	$kguest_stacks, %rsp
	call	kguest_main
4:	mov	$0x4f0, %dx			/* KGUEST_PORT */
	mov	$0x00020004, %eax		/* EV_ERROR, arg KGUEST_ERR_VCPU */
	out	%eax, %dx
	jmp	4b

	.section .rodata
	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff		/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff		/* 0x10: data, DPL 0 */
boot_gdt_end:
	.balign 8
boot_gdt_ptr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss
	.balign 4096
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4 * 4096
	.skip 4096
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
