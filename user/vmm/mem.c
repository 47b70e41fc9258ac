// SPDX-License-Identifier: GPL-2.0
/*
 * Guest RAM: one memfd per memslot, mapped shared, registered with KVM.
 *
 * A destination (--incoming) creates and maps the memfds at once, so the
 * helper can fill them, but registers the memslots only at COMMIT,
 * together with the device state (one batch, as in QEMU's single memory
 * transaction for the non-iterable state).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/thp.h"
#include "vmm.h"

/* memfd THP needs shmem_enabled other than "never"/"deny". */
static int enable_manual_protect(struct kvmm *vm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
	int caps = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION,
			 KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);

	if (caps <= 0 || !(caps & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)) {
		kvmm_err("KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 is not supported");
		return -ENOTSUP;
	}
	cap.args[0] = (uint64_t)caps & (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
					KVM_DIRTY_LOG_INITIALLY_SET);
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap)) {
		kvmm_err("KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2): %s",
			 strerror(errno));
		return -errno;
	}
	vm->vm_flags |= KMIG_VMMP_VM_F_MANUAL_PROTECT;
	if (cap.args[0] & KVM_DIRTY_LOG_INITIALLY_SET)
		vm->vm_flags |= KMIG_VMMP_VM_F_INITIALLY_SET;
	return 0;
}

static int create_vm(struct kvmm *vm)
{
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		kvmm_err("open /dev/kvm: %s", strerror(errno));
		return -errno;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		kvmm_err("KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	/* Not inherited by anything we might exec; the helper gets a dup. */
	fcntl(vm->vm_fd, F_SETFD, FD_CLOEXEC);
	return enable_manual_protect(vm);
}

static int create_slot(struct kvmm *vm, uint32_t i, uint64_t gpa, int thp)
{
	struct kvmm_slot *s = &vm->slots[i];
	char name[32];

	snprintf(name, sizeof(name), "kmig-vmm-ram%u", i);
	s->id = i;
	s->gpa = gpa;
	s->size = vm->opts.slot_size[i];
	s->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->memfd < 0)
		return -errno;
	vm->memfds[i] = s->memfd;
	/*
	 * Sealed against shrinking before anyone else sees it: the helper maps
	 * the memfd, and a shrink would turn its next access into a SIGBUS
	 * (the protocol requires the seal; helpers refuse unsealed memfds).
	 */
	if (ftruncate(s->memfd, (off_t)s->size) ||
	    fcntl(s->memfd, F_ADD_SEALS, F_SEAL_SHRINK))
		return -errno;
	s->host = mmap(NULL, s->size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_NORESERVE, s->memfd, 0);
	if (s->host == MAP_FAILED) {
		s->host = NULL;
		return -errno;
	}
	if (thp)
		madvise(s->host, s->size, MADV_HUGEPAGE);
	return 0;
}

int kvmm_mem_create(struct kvmm *vm)
{
	uint64_t gpa = 0;
	uint32_t i;
	int ret, thp = vm->opts.thp && kmig_shmem_thp(NULL) != KMIG_THP_NONE;

	ret = create_vm(vm);
	if (ret)
		return ret;
	for (i = 0; i < vm->opts.nr_slots; i++) {
		ret = create_slot(vm, i, gpa, thp);
		vm->nr_slots = i + 1;
		if (ret) {
			kvmm_err("slot %u: memfd of %llu bytes: %s", i,
				 (unsigned long long)vm->opts.slot_size[i],
				 strerror(-ret));
			return ret;
		}
		kvmm_log(vm, "slot %u: gpa 0x%llx size %llu KiB, memfd%s", i,
			 (unsigned long long)gpa,
			 (unsigned long long)(vm->slots[i].size >> 10),
			 thp ? " (THP advised)" : "");
		gpa += vm->slots[i].size;
	}
	vm->ram_size = gpa;
	if (vm->opts.thp && !thp)
		kvmm_log(vm, "memfd THP unavailable (shmem_enabled is never/deny)");
	return 0;
}

static int set_region(struct kvmm *vm, const struct kvmm_slot *s, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = s->id, .flags = flags, .guest_phys_addr = s->gpa,
		.memory_size = s->size, .userspace_addr = (uintptr_t)s->host,
	};

	return ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) ? -errno : 0;
}

int kvmm_mem_register(struct kvmm *vm)
{
	uint32_t i;
	int ret;

	for (i = 0; i < vm->nr_slots; i++) {
		ret = set_region(vm, &vm->slots[i], 0);
		if (ret) {
			kvmm_err("KVM_SET_USER_MEMORY_REGION slot %u: %s", i,
				 strerror(-ret));
			return ret;
		}
		vm->slots[i].kvm_flags = 0;
	}
	return 0;
}

int kvmm_mem_set_logging(struct kvmm *vm, struct kvmm_slot *s, int enable)
{
	uint32_t flags = enable ? KVM_MEM_LOG_DIRTY_PAGES : 0;
	int ret = set_region(vm, s, flags);

	if (!ret)
		s->kvm_flags = flags;
	return ret;
}

struct kvmm_slot *kvmm_slot_by_id(struct kvmm *vm, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].id == id)
			return &vm->slots[i];
	return NULL;
}

/* Host address of [gpa, gpa + len) if it lies inside one slot. */
void *kvmm_gpa(const struct kvmm *vm, uint64_t gpa, uint64_t len)
{
	uint32_t i;

	for (i = 0; i < vm->nr_slots; i++) {
		const struct kvmm_slot *s = &vm->slots[i];

		if (gpa >= s->gpa && gpa - s->gpa < s->size &&
		    len <= s->size - (gpa - s->gpa))
			return (uint8_t *)s->host + (gpa - s->gpa);
	}
	return NULL;
}

void kvmm_mem_destroy(struct kvmm *vm)
{
	uint32_t i;

	for (i = 0; i < vm->nr_slots; i++) {
		if (vm->slots[i].host)
			munmap(vm->slots[i].host, vm->slots[i].size);
		if (vm->slots[i].memfd >= 0)
			close(vm->slots[i].memfd);
	}
	vm->nr_slots = 0;
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->vm_fd = vm->kvm_fd = -1;
	free(vm->cpuid);
	vm->cpuid = NULL;
}
