/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vm.h - binding a session to a KVM VM, and what the other subsystems may
 * ask about the bound VM (memslots, its address space).
 */
#ifndef _KMIG_VM_H
#define _KMIG_VM_H

#include <linux/types.h>

struct kmig_session;
struct kvm;
struct mm_struct;

/*
 * A copy of the memslot fields a scan needs, taken under kvm->srcu. The
 * slot may be deleted or moved right after; users only ever use the copy
 * (through the mm and its locks), never the memslot itself.
 */
struct kmig_slot {
	u32 slot;		/* KMIG_SLOT(as_id, id) */
	u32 flags;		/* KVM_MEM_* */
	u64 base_gfn;
	u64 npages;
	unsigned long hva;	/* userspace_addr */
};

int kmig_vm_ioctl_attach(struct kmig_session *s, void *arg);
void kmig_vm_detach(struct kmig_session *s);
int kmig_vm_get_slot(struct kvm *kvm, u32 slot, struct kmig_slot *out);
int kmig_vm_check(struct kvm *kvm);
struct mm_struct *kmig_vm_get_mm(struct kvm *kvm);

#endif /* _KMIG_VM_H */
