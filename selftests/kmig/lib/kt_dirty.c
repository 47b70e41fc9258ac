// SPDX-License-Identifier: GPL-2.0
/*
 * kt_dirty.c - dirty logging for the tests: KVM's own dirty-log ioctls,
 * KVM's binary statistics (pages_4k, pages_2m), a guest that keeps
 * writing on its own vCPU thread, and the raw module calls of the harvest
 * and the deferred stop.
 */
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kmig_test.h"

int __kt_get_dirty_log(struct kt_vm *vm, uint32_t slot, uint64_t *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return ioctl(vm->fd, KVM_GET_DIRTY_LOG, &log);
}

void kt_get_dirty_log(struct kt_vm *vm, uint32_t slot, uint64_t *bitmap)
{
	KT_CALL_OK(__kt_get_dirty_log(vm, slot, bitmap), "KVM_GET_DIRTY_LOG");
}

void kt_clear_dirty_log(struct kt_vm *vm, uint32_t slot, uint64_t first,
			uint64_t num, uint64_t *bitmap)
{
	struct kvm_clear_dirty_log c = {
		.slot = slot, .first_page = first, .num_pages = num,
		.dirty_bitmap = bitmap,
	};

	KT_CALL_OK(ioctl(vm->fd, KVM_CLEAR_DIRTY_LOG, &c), "KVM_CLEAR_DIRTY_LOG");
}

/* ---- KVM_GET_STATS_FD ---- */

uint64_t kt_vm_stat(struct kt_vm *vm, const char *name)
{
	struct kvm_stats_header h;
	struct kvm_stats_desc *d;
	uint64_t val = 0;
	size_t dsize;
	bool found = false;
	int fd = ioctl(vm->fd, KVM_GET_STATS_FD, NULL);
	char *descs;

	KT_ASSERT(fd >= 0, "KVM_GET_STATS_FD: %s", strerror(errno));
	KT_ASSERT(pread(fd, &h, sizeof(h), 0) == sizeof(h), "stats header");
	dsize = sizeof(*d) + h.name_size;
	descs = calloc(h.num_desc, dsize);
	KT_ASSERT(descs, "calloc");
	KT_ASSERT(pread(fd, descs, h.num_desc * dsize, h.desc_offset) ==
		  (ssize_t)(h.num_desc * dsize), "stats descriptors");
	for (uint32_t i = 0; i < h.num_desc && !found; i++) {
		d = (struct kvm_stats_desc *)(descs + i * dsize);
		if (strcmp(d->name, name))
			continue;
		KT_ASSERT(pread(fd, &val, sizeof(val), h.data_offset + d->offset) ==
			  sizeof(val), "stat %s", name);
		found = true;
	}
	free(descs);
	close(fd);
	KT_ASSERT(found, "no VM statistic named %s", name);
	return val;
}

/* ---- a guest that keeps writing ---- */

/*
 * 32-bit code at KT_LOOP_TEXT, parameters at KT_LOOP_PARAMS (u32 each):
 * [0] value to write, [1] stop request, [2] pages, [3] base GPA,
 * [4] zero threshold, [5] writes done. ebx = xorshift32 state.
 *   loop:  cmpl $0, P+4 ; jne done ; mov $64, %ecx
 *   inner: ebx ^= ebx << 13; ebx ^= ebx >> 17; ebx ^= ebx << 5
 *          edx = (ebx % [P+8]) << 12 + [P+12]        ; the page
 *          eax = [P+0]; if ((ebx >> 24) < [P+16]) eax = 0
 *          mov %eax, (%edx) ; incl P+20 ; dec %ecx ; jnz inner ; jmp loop
 *   done:  out %al, $0x10 ; jmp loop
 */
#define KT_LOOP_TEXT	0x1800
#define KT_LOOP_PARAMS	0x1f00

static const uint8_t kt_loop_text[] = {
	0x83, 0x3d, 0x04, 0x1f, 0x00, 0x00, 0x00, 0x75, 0x4e, 0xb9, 0x40, 0x00,
	0x00, 0x00, 0x89, 0xd8, 0xc1, 0xe0, 0x0d, 0x31, 0xc3, 0x89, 0xd8, 0xc1,
	0xe8, 0x11, 0x31, 0xc3, 0x89, 0xd8, 0xc1, 0xe0, 0x05, 0x31, 0xc3, 0x89,
	0xd8, 0x31, 0xd2, 0xf7, 0x35, 0x08, 0x1f, 0x00, 0x00, 0xc1, 0xe2, 0x0c,
	0x03, 0x15, 0x0c, 0x1f, 0x00, 0x00, 0xa1, 0x00, 0x1f, 0x00, 0x00, 0x89,
	0xde, 0xc1, 0xee, 0x18, 0x3b, 0x35, 0x10, 0x1f, 0x00, 0x00, 0x73, 0x02,
	0x31, 0xc0, 0x89, 0x02, 0xff, 0x05, 0x14, 0x1f, 0x00, 0x00, 0x49, 0x75,
	0xb9, 0xeb, 0xa9, 0xe6, 0x10, 0xeb, 0xa5,
};

enum { P_VALUE, P_STOP, P_NPAGES, P_BASE, P_ZERO, P_WRITES };

static volatile uint32_t *kt_loop_params(struct kt_loop *l)
{
	return (volatile uint32_t *)(l->vm->code + KT_LOOP_PARAMS);
}

static void *kt_loop_vcpu(void *arg)
{
	struct kt_loop *l = arg;
	int ret;

	for (;;) {
		ret = ioctl(l->vm->vcpu_fd, KVM_RUN, 0);
		if (ret < 0 && errno == EINTR)
			continue;
		KT_CALL_OK(ret, "KVM_RUN");
		KT_ASSERT(l->vm->run->exit_reason == KVM_EXIT_IO &&
			  l->vm->run->io.port == 0x10,
			  "guest exit reason %u, expected KVM_EXIT_IO",
			  l->vm->run->exit_reason);
		sem_post(&l->stopped);
		sem_wait(&l->cont);
		if (__atomic_load_n(&l->quit, __ATOMIC_ACQUIRE))
			return NULL;
	}
}

void kt_loop_start(struct kt_loop *l, struct kt_vm *vm, uint32_t base_gpa,
		   uint32_t npages, uint32_t seed, uint32_t zero_thresh)
{
	volatile uint32_t *p;
	struct kvm_regs regs = { 0 };

	memset(l, 0, sizeof(*l));
	l->vm = vm;
	memcpy(vm->code + KT_LOOP_TEXT, kt_loop_text, sizeof(kt_loop_text));
	p = kt_loop_params(l);
	p[P_VALUE] = 1;
	p[P_STOP] = 0;
	p[P_NPAGES] = npages;
	p[P_BASE] = base_gpa;
	p[P_ZERO] = zero_thresh;
	p[P_WRITES] = 0;
	regs.rip = KT_LOOP_TEXT;
	regs.rbx = seed | 1;
	regs.rflags = 2;
	KT_CALL_OK(ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs), "KVM_SET_REGS");
	sem_init(&l->stopped, 0, 0);
	sem_init(&l->cont, 0, 0);
	KT_ASSERT(!pthread_create(&l->thread, NULL, kt_loop_vcpu, l), "pthread_create");
	l->running = true;
}

void kt_loop_set_value(struct kt_loop *l, uint32_t value)
{
	__atomic_store_n(&kt_loop_params(l)[P_VALUE], value, __ATOMIC_RELEASE);
}

uint32_t kt_loop_writes(struct kt_loop *l)
{
	return __atomic_load_n(&kt_loop_params(l)[P_WRITES], __ATOMIC_ACQUIRE);
}

/* Returns once the vCPU has left the guest: no write is in flight. */
void kt_loop_pause(struct kt_loop *l)
{
	__atomic_store_n(&kt_loop_params(l)[P_STOP], 1, __ATOMIC_RELEASE);
	sem_wait(&l->stopped);
	l->running = false;
}

void kt_loop_resume(struct kt_loop *l)
{
	__atomic_store_n(&kt_loop_params(l)[P_STOP], 0, __ATOMIC_RELEASE);
	l->running = true;
	sem_post(&l->cont);
}

void kt_loop_finish(struct kt_loop *l)
{
	if (l->running)
		kt_loop_pause(l);
	__atomic_store_n(&l->quit, true, __ATOMIC_RELEASE);
	sem_post(&l->cont);
	pthread_join(l->thread, NULL);
	sem_destroy(&l->stopped);
	sem_destroy(&l->cont);
}

/* ---- raw module calls ---- */

int __kmig_harvest(int fd, struct kmig_harvest *h)
{
	return ioctl(fd, KMIG_HARVEST, h);
}

int __kmig_log_stop(int fd, struct kmig_log_stop *a)
{
	return ioctl(fd, KMIG_LOG_STOP, a);
}

int __kmig_log_stop_cancel(int fd, struct kmig_log_stop_cancel *a)
{
	return ioctl(fd, KMIG_LOG_STOP_CANCEL, a);
}

int __kmig_log_stop_query(int fd, struct kmig_log_stop_query *a)
{
	return ioctl(fd, KMIG_LOG_STOP_QUERY, a);
}

/* ---- a VM with three logging slots of different backings ---- */

static const struct {
	enum kt_backing backing;
	uint64_t npages;
} kt_dvm_layout[KT_DSLOTS] = {
	{ KT_ANON, 2048 },	/* 8 MiB of 4 KiB pages */
	{ KT_MEMFD, 1000 },	/* not a multiple of 64 pages */
	{ KT_ANON_THP, 1024 },	/* 4 MiB, THP-backed */
};

void kt_dvm_create(struct kt_dvm *d, bool initially_set)
{
	uint64_t gpa = KT_DVM_GPA;

	memset(d, 0, sizeof(*d));
	kt_vm_create(&d->vm);
	kt_vm_manual_protect(&d->vm, initially_set);
	kt_guest_setup(&d->vm);
	for (int i = 0; i < KT_DSLOTS; i++) {
		d->slot[i] = i + 1;
		d->gpa[i] = gpa;
		d->npages[i] = kt_dvm_layout[i].npages;
		kt_mem_alloc(&d->mem[i], kt_dvm_layout[i].backing,
			     d->npages[i] * KT_PAGE);
		kt_vm_set_slot(&d->vm, d->slot[i], KVM_MEM_LOG_DIRTY_PAGES, gpa,
			       d->npages[i] * KT_PAGE, d->mem[i].hva);
		gpa += d->npages[i] * KT_PAGE;
		d->total += d->npages[i];
	}
}

void kt_dvm_destroy(struct kt_dvm *d)
{
	kt_vm_close(&d->vm);
	for (int i = 0; i < KT_DSLOTS; i++)
		kt_mem_free(&d->mem[i]);
}

void kt_dvm_locate(const struct kt_dvm *d, uint64_t p, int *slot_idx,
		   uint64_t *page)
{
	int i = 0;

	while (i < KT_DSLOTS - 1 && p >= d->npages[i])
		p -= d->npages[i++];
	*slot_idx = i;
	*page = p;
}

uint8_t *kt_dvm_page(const struct kt_dvm *d, uint64_t p)
{
	uint64_t page;
	int i;

	kt_dvm_locate(d, p, &i, &page);
	return d->mem[i].hva + page * KT_PAGE;
}
