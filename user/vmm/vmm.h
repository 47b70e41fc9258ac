/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig-vmm: the reference VMM. A minimal KVM VMM that runs the kguest
 * workload (user/guest/) and serves the kmig VMM protocol so that the kmig
 * helper can migrate it. See Documentation/vmm.rst.
 */
#ifndef KVMM_H
#define KVMM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>

#include "kguest.h"
#include "kmig/vmm_proto_server.h"

#define KVMM_MAX_SLOTS	64
#define KVMM_MAX_MSRS	16

struct kvmm_opts {
	const char *socket;
	const char *guest;	/* kguest.elf */
	uint64_t slot_size[KVMM_MAX_SLOTS];
	uint32_t nr_slots;
	uint32_t nr_vcpus;
	int incoming;
	int thp;
	int quiet;
	uint64_t seed;
	uint64_t ab_bytes;
	uint32_t fill_pct;	/* text + random share of the rest; 0: thirds */
	int touch_zero;		/* KGUEST_F_TOUCH_ZERO */
	uint64_t rate;		/* a-b pages per second, all vCPUs; 0: no cap */
	uint64_t spin;
	uint64_t report;
	uint32_t throttle;
	uint32_t client_timeout_ms;	/* HELLO and reply bound; 0: default */
};

struct kvmm_slot {
	uint32_t id;
	uint64_t gpa;
	uint64_t size;
	int memfd;
	void *host;
	uint32_t kvm_flags;	/* as registered: KVM_MEM_LOG_DIRTY_PAGES */
};

/* What the device state holds for one vCPU (devstate.c). */
struct kvmm_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	uint32_t nr_msrs;
	struct kvm_msr_entry msrs[KVMM_MAX_MSRS];
	uint8_t *xsave;		/* vm->xsave_size bytes */
	uint64_t pages, sweeps, exits, run_ns;
};

struct kvmm_vcpu {
	struct kvmm *vm;
	uint32_t index;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	int started;
	/* under vm->lock */
	int parked;
	uint64_t due_ns;	/* rate limiter: when the next report is due */
	/* written by the vCPU thread, read under vm->lock by QUERY */
	uint64_t exits, run_ns, pages, sweeps;
};

enum kvmm_state {
	KVMM_INCOMING = KMIG_VMMP_STATE_INCOMING,
	KVMM_RUNNING = KMIG_VMMP_STATE_RUNNING,
	KVMM_PAUSED = KMIG_VMMP_STATE_PAUSED,
	KVMM_STOPPED = KMIG_VMMP_STATE_STOPPED,
};

struct kvmm {
	struct kvmm_opts opts;
	int kvm_fd, vm_fd;
	size_t run_size;
	uint32_t vm_flags;	/* KMIG_VMMP_VM_F_* */
	struct kvmm_slot slots[KVMM_MAX_SLOTS];
	int memfds[KVMM_MAX_SLOTS];
	uint32_t nr_slots;
	uint64_t ram_size;
	struct kvm_cpuid2 *cpuid;
	uint32_t msr_index[KVMM_MAX_MSRS];
	uint32_t nr_msrs;
	uint32_t xsave_size;	/* bytes of KVM_GET_XSAVE(2) */
	uint64_t entry64;
	struct kvmm_vcpu vcpus[KGUEST_MAX_VCPUS];
	uint32_t nr_vcpus;

	pthread_mutex_t lock;
	pthread_cond_t cond;	/* state changes, parking */
	enum kvmm_state state;
	int pause_req;
	int quit;		/* vCPU threads end */
	int exit_req;		/* QUIT with KMIG_VMMP_QUIT_F_EXIT */
	uint32_t nr_parked;
	uint32_t throttle;
	struct kvmm_vcpu_state *staged;	/* SET_DEVICE_STATE (loaded), for COMMIT */
	int mem_registered;	/* incoming: memslots registered (at SET_DEVICE_STATE) */
};

/* main.c */
void kvmm_log(const struct kvmm *vm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kvmm_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t kvmm_now_ns(void);

/* mem.c */
int kvmm_mem_create(struct kvmm *vm);
int kvmm_mem_register(struct kvmm *vm);
void *kvmm_gpa(const struct kvmm *vm, uint64_t gpa, uint64_t len);
int kvmm_mem_set_logging(struct kvmm *vm, struct kvmm_slot *s, int enable);
struct kvmm_slot *kvmm_slot_by_id(struct kvmm *vm, uint32_t id);
void kvmm_mem_destroy(struct kvmm *vm);

/* loader.c */
int kvmm_load_guest(struct kvmm *vm);

/* vcpu.c */
int kvmm_vcpus_create(struct kvmm *vm);
int kvmm_vcpus_set_boot_state(struct kvmm *vm);
int kvmm_vcpus_start(struct kvmm *vm);
int kvmm_pause(struct kvmm *vm);
int kvmm_resume(struct kvmm *vm);
void kvmm_vcpus_stop(struct kvmm *vm);
int kvmm_guest_ready(const struct kvmm *vm);

/* devstate.c */
int kvmm_devstate_save(struct kvmm *vm, void **blob, size_t *len,
		       struct kmig_vmmp_err *e);
int kvmm_devstate_parse(struct kvmm *vm, const void *blob, size_t len,
			struct kvmm_vcpu_state **out, struct kmig_vmmp_err *e);
int kvmm_devstate_apply(struct kvmm *vm, const struct kvmm_vcpu_state *st,
			struct kmig_vmmp_err *e);
void kvmm_devstate_free(struct kvmm *vm, struct kvmm_vcpu_state *st);

/* serve.c */
int kvmm_serve(struct kvmm *vm);

#endif /* KVMM_H */
