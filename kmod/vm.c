// SPDX-License-Identifier: GPL-2.0
/*
 * vm.c - binding a session to a KVM VM.
 *
 * Authority: possession of a KVM VM file descriptor (file_is_kvm), which the
 * VMM may have passed to another process over a unix socket, plus the
 * device node's file mode. A VM that KVM marked dead is refused (-EIO), as
 * KVM refuses its own VM ioctls then.
 *
 * Lifetime: the session holds a reference on struct kvm from attach until
 * the session is freed, so the VMM may close its VM fd at any time: the VM
 * (memslots included) stays alive. struct kvm itself holds mmgrab() on the
 * VMM's mm for the VM's whole life, so kvm->mm always points to a valid
 * mm_struct; its address space, however, is torn down when the VMM process
 * exits. Every user of guest memory therefore takes mmget_not_zero() and
 * gets -ENODEV once the address space is gone.
 */
#include <linux/file.h>
#include <linux/kvm_host.h>
#include <linux/sched/mm.h>

#include "netlink.h"
#include "session.h"
#include "vm.h"

static u32 kmig_vm_flags(struct kvm *kvm)
{
	u64 protect = READ_ONCE(kvm->manual_dirty_log_protect);
	u32 flags = 0;

	if (protect & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE)
		flags |= KMIG_VM_F_MANUAL_PROTECT;
	if (protect & KVM_DIRTY_LOG_INITIALLY_SET)
		flags |= KMIG_VM_F_INITIALLY_SET;
	if (READ_ONCE(kvm->dirty_ring_size))
		flags |= KMIG_VM_F_DIRTY_RING;
	return flags;
}

/* Takes a reference on the VM behind @fd, or returns an ERR_PTR. */
static struct kvm *kmig_vm_get_from_fd(int fd)
{
	struct kvm *kvm = ERR_PTR(-EINVAL);
	struct fd f = fdget(fd);

	if (!fd_file(f))
		return ERR_PTR(-EBADF);
	if (!file_is_kvm(fd_file(f)))
		goto out;
	kvm = fd_file(f)->private_data;
	/* Fails once the last reference is gone and the VM is being freed. */
	if (!kvm_get_kvm_safe(kvm)) {
		kvm = ERR_PTR(-ENODEV);
		goto out;
	}
	/* The VMM exited: the VM can never run or be read again. */
	if (!atomic_read(&kvm->mm->mm_users)) {
		kvm_put_kvm(kvm);
		kvm = ERR_PTR(-ENODEV);
	} else if (kmig_vm_check(kvm)) {
		kvm_put_kvm(kvm);
		kvm = ERR_PTR(-EIO);
	}
out:
	fdput(f);
	return kvm;
}

int kmig_vm_ioctl_attach(struct kmig_session *s, void *arg)
{
	struct kmig_attach *a = arg;
	struct kmig_session_info info;
	struct kvm *kvm;
	int ret = 0;

	if (a->flags & ~KMIG_ATTACH_F_ALL)
		return -EINVAL;
	if (!kmig_is_zeroed(a->reserved, sizeof(a->reserved)))
		return -EINVAL;

	kvm = kmig_vm_get_from_fd(a->vm_fd);
	if (IS_ERR(kvm))
		return PTR_ERR(kvm);

	mutex_lock(&s->attach_lock);
	if (s->kvm)
		ret = -EBUSY;
	else
		smp_store_release(&s->kvm, kvm);
	mutex_unlock(&s->attach_lock);

	if (ret) {
		kvm_put_kvm(kvm);
		return ret;
	}
	a->vm_flags = kmig_vm_flags(kvm);
	WRITE_ONCE(s->vm_pid, kvm->userspace_pid);
	kmig_session_info(s, &info);
	kmig_nl_session_event(KMIG_EVENT_ATTACHED, &info);
	pr_debug("session %llu attached to VM of pid %d\n", s->id,
		 kvm->userspace_pid);
	return 0;
}

/* Only called when the session is freed: no call can be running on it. */
void kmig_vm_detach(struct kmig_session *s)
{
	if (s->kvm)
		kvm_put_kvm(s->kvm);
	s->kvm = NULL;
}

/*
 * Copies the fields of memslot @slot. Internal (KVM-private) slots are not
 * visible, as for KVM_GET_DIRTY_LOG. Returns -ENOENT if there is no such
 * slot.
 */
int kmig_vm_get_slot(struct kvm *kvm, u32 slot, struct kmig_slot *out)
{
	u32 as_id = KMIG_SLOT_AS(slot), id = KMIG_SLOT_ID(slot);
	struct kvm_memory_slot *ms;
	int idx, ret = -ENOENT;

	if (as_id >= kvm_arch_nr_memslot_as_ids(kvm) || id >= KVM_USER_MEM_SLOTS)
		return -ENOENT;

	idx = srcu_read_lock(&kvm->srcu);
	ms = id_to_memslot(__kvm_memslots(kvm, as_id), id);
	/* An invalid slot is being deleted or moved: gone for us. */
	if (ms && ms->npages && !(ms->flags & KVM_MEMSLOT_INVALID)) {
		out->slot = slot;
		out->flags = ms->flags;
		out->base_gfn = ms->base_gfn;
		out->npages = ms->npages;
		out->hva = ms->userspace_addr;
		ret = 0;
	}
	srcu_read_unlock(&kvm->srcu, idx);
	return ret;
}

/*
 * KVM's own gate for VM ioctls, minus the one kmig replaces: KVM refuses
 * every VM ioctl of a VM it marked dead (KVM_BUG_ON(), a failed teardown)
 * with -EIO; so does every kmig call that acts on the VM. KVM's other gate,
 * kvm->mm == current->mm, is replaced by possession of the VM fd (see
 * Documentation/kmod.rst, "Who may do what").
 */
int kmig_vm_check(struct kvm *kvm)
{
	return READ_ONCE(kvm->vm_dead) ? -EIO : 0;
}

/*
 * The VM's address space with a user reference (mmput() when done), or NULL
 * when the VMM process has exited and its address space is gone.
 */
struct mm_struct *kmig_vm_get_mm(struct kvm *kvm)
{
	return mmget_not_zero(kvm->mm) ? kvm->mm : NULL;
}
