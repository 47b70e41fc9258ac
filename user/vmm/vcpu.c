// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs: creation, the boot state of a CPL3 64-bit guest, one thread per
 * vCPU running KVM_RUN, and pause/resume.
 *
 * Pausing: the pauser sets pause_req and, for each vCPU, run->immediate_exit
 * under vm->lock, then sends SIGUSR1 to the vCPU thread. A thread inside
 * KVM_RUN returns -EINTR on the signal; a thread about to enter KVM_RUN
 * returns -EINTR at once because of immediate_exit. Either way it parks
 * (nr_parked++) before it looks at pause_req again, and the pauser waits
 * until every vCPU is parked: when PAUSE returns, no vCPU is in KVM_RUN.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define KICK_SIGNAL	SIGUSR1
#define RFLAGS_BOOT	0x3202ULL	/* IF, IOPL 3: `out` allowed at CPL3 */
#define CR0_BOOT	0x80050033ULL	/* PG AM WP NE ET MP PE */
#define CR4_BOOT	0x20ULL		/* PAE */
#define EFER_BOOT	0x500ULL	/* LMA LME */
#define NS		1000000000ULL

/* MSRs a migrated vCPU needs, kept if KVM lists them. */
static const uint32_t wanted_msrs[] = {
	0x10,		/* IA32_TSC */
	0x174, 0x175, 0x176,	/* SYSENTER_CS/ESP/EIP */
	0x1a0,		/* IA32_MISC_ENABLE */
	0x277,		/* IA32_PAT */
	0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, /* STAR LSTAR CSTAR FMASK */
	0xc0000102,	/* KERNEL_GS_BASE */
	0xc0000103,	/* TSC_AUX */
};

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make KVM_RUN return -EINTR */
}

static int get_cpuid(struct kvmm *vm)
{
	int nent;

	for (nent = 64; nent <= 4096; nent *= 2) {
		vm->cpuid = calloc(1, sizeof(*vm->cpuid) +
				   (size_t)nent * sizeof(struct kvm_cpuid_entry2));
		if (!vm->cpuid)
			return -ENOMEM;
		vm->cpuid->nent = (uint32_t)nent;
		if (!ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid))
			return 0;
		free(vm->cpuid);
		vm->cpuid = NULL;
		if (errno != E2BIG) {
			kvmm_err("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
			return -errno;
		}
	}
	return -E2BIG;
}

static int get_msr_list(struct kvmm *vm)
{
	struct { struct kvm_msr_list l; uint32_t idx[1024]; } list = {
		.l.nmsrs = 1024,
	};
	uint32_t i, j;

	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &list)) {
		kvmm_err("KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
		return -errno;
	}
	for (i = 0; i < sizeof(wanted_msrs) / sizeof(wanted_msrs[0]); i++)
		for (j = 0; j < list.l.nmsrs && j < 1024; j++)
			if (list.l.indices[j] == wanted_msrs[i]) {
				vm->msr_index[vm->nr_msrs++] = wanted_msrs[i];
				break;
			}
	return 0;
}

static int create_vcpu(struct kvmm *vm, struct kvmm_vcpu *v, uint32_t i)
{
	v->vm = vm;
	v->index = i;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, i);
	if (v->fd < 0) {
		kvmm_err("KVM_CREATE_VCPU %u: %s", i, strerror(errno));
		return -errno;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return -errno;
	}
	/* KVM_SET_CPUID2 must come before the sregs (TESTBED.md). */
	if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid)) {
		kvmm_err("KVM_SET_CPUID2 vCPU %u: %s", i, strerror(errno));
		return -errno;
	}
	return 0;
}

int kvmm_vcpus_create(struct kvmm *vm)
{
	int size, ret;
	uint32_t i;

	size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0)
		return -errno;
	vm->run_size = (size_t)size;
	size = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	vm->xsave_size = size > (int)sizeof(struct kvm_xsave) ?
			 (uint32_t)size : (uint32_t)sizeof(struct kvm_xsave);
	ret = get_cpuid(vm);
	if (!ret)
		ret = get_msr_list(vm);
	if (ret)
		return ret;
	vm->nr_vcpus = vm->opts.nr_vcpus;
	for (i = 0; i < vm->nr_vcpus; i++) {
		vm->vcpus[i].fd = -1;
		ret = create_vcpu(vm, &vm->vcpus[i], i);
		if (ret)
			return ret;
	}
	return 0;
}

static void boot_sregs(struct kvm_sregs *s)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08 | 3,
		.type = 0xb, .present = 1, .dpl = 3, .db = 0, .s = 1, .l = 1,
		.g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10 | 3,
		.type = 0x3, .present = 1, .dpl = 3, .db = 1, .s = 1, .g = 1,
	};

	s->cs = code;
	s->ds = s->es = s->fs = s->gs = s->ss = data;
	/*
	 * TR keeps KVM's reset value: on this machine's KVM backend a 64-bit
	 * busy TSS at base 0 here makes the guest's first `out` triple-fault.
	 * IOPL 3 (RFLAGS_BOOT) means `out` never consults the TSS anyway.
	 */
	s->gdt.base = KGUEST_GDT_GPA;
	s->gdt.limit = 3 * 8 - 1;
	s->idt.base = 0;
	s->idt.limit = 0;
	s->cr0 = CR0_BOOT;
	s->cr3 = KGUEST_PML4_GPA;
	s->cr4 = CR4_BOOT;
	s->efer = EFER_BOOT;
}

/*
 * Source only. The CPL3 state must be in the vCPU's first KVM_SET_SREGS,
 * before its first KVM_RUN (changing privilege later triple-faults here).
 */
int kvmm_vcpus_set_boot_state(struct kvmm *vm)
{
	uint32_t i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvmm_vcpu *v = &vm->vcpus[i];
		struct kvm_sregs sregs;
		struct kvm_regs regs = {
			.rip = vm->entry64, .rdi = i, .rsi = KGUEST_PARAMS_GPA,
			.rflags = RFLAGS_BOOT,
		};

		if (ioctl(v->fd, KVM_GET_SREGS, &sregs))
			return -errno;
		boot_sregs(&sregs);
		if (ioctl(v->fd, KVM_SET_SREGS, &sregs) ||
		    ioctl(v->fd, KVM_SET_REGS, &regs)) {
			kvmm_err("vCPU %u boot state: %s", i, strerror(errno));
			return -errno;
		}
	}
	return 0;
}

/* Called with vm->lock held. */
static void kick_all(struct kvmm *vm)
{
	uint32_t i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvmm_vcpu *v = &vm->vcpus[i];

		if (v->run)
			v->run->immediate_exit = 1;
		if (v->started)
			pthread_kill(v->thread, KICK_SIGNAL);
	}
	pthread_cond_broadcast(&vm->cond);
}

static void stop_guest(struct kvmm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->state = KVMM_STOPPED;
	kick_all(vm);
	pthread_mutex_unlock(&vm->lock);
}

/* Wait while the VM must not run. Returns 1 when the thread must end. */
static int park(struct kvmm_vcpu *v)
{
	struct kvmm *vm = v->vm;
	int quit;

	pthread_mutex_lock(&vm->lock);
	while (!vm->quit && (vm->pause_req || vm->state != KVMM_RUNNING)) {
		if (!v->parked) {
			v->parked = 1;
			vm->nr_parked++;
			pthread_cond_broadcast(&vm->cond);
		}
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	if (v->parked) {
		v->parked = 0;
		vm->nr_parked--;
	}
	if (!vm->pause_req)
		v->run->immediate_exit = 0;
	quit = vm->quit;
	pthread_mutex_unlock(&vm->lock);
	return quit;
}

/* Sleep @ns unless a pause or quit comes first. Called with vm->lock. */
static void sleep_locked(struct kvmm *vm, uint64_t ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ns += (uint64_t)ts.tv_nsec;
	ts.tv_sec += (time_t)(ns / NS);
	ts.tv_nsec = (long)(ns % NS);
	while (!vm->pause_req && !vm->quit &&
	       pthread_cond_timedwait(&vm->cond, &vm->lock, &ts) != ETIMEDOUT)
		;
}

/*
 * A progress exit: take the counters the guest keeps in its status page and
 * slow the vCPU down for the throttle percentage and the rate cap.
 */
static void progress(struct kvmm_vcpu *v, uint64_t run_ns)
{
	struct kvmm *vm = v->vm;
	const struct kguest_status *st =
		kvmm_gpa(vm, KGUEST_STATUS_GPA, sizeof(*st));
	uint64_t pages = st->vcpu[v->index].pages, now, sleep = 0, delta;

	pthread_mutex_lock(&vm->lock);
	delta = pages > v->pages ? pages - v->pages : 0;
	v->pages = pages;
	v->sweeps = st->vcpu[v->index].sweeps;
	if (vm->throttle)
		sleep = run_ns * vm->throttle / (100 - vm->throttle);
	if (vm->opts.rate) {
		uint64_t per_vcpu = vm->opts.rate / vm->nr_vcpus + 1;

		now = kvmm_now_ns();
		/* No credit for time spent paused or throttled. */
		if (v->due_ns + NS / 100 < now)
			v->due_ns = now - NS / 100;
		v->due_ns += delta * NS / per_vcpu;
		if (v->due_ns > now && v->due_ns - now > sleep)
			sleep = v->due_ns - now;
	}
	if (sleep)
		sleep_locked(vm, sleep);
	pthread_mutex_unlock(&vm->lock);
}

static int handle_io(struct kvmm_vcpu *v, uint64_t run_ns)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	uint32_t val;

	if (run->io.port != KGUEST_PORT || run->io.size != 4 ||
	    run->io.direction != KVM_EXIT_IO_OUT) {
		/* Like an unassigned port on a PC: reads all-ones. */
		if (run->io.direction == KVM_EXIT_IO_IN)
			memset(data, 0xff, (size_t)run->io.size * run->io.count);
		return 0;
	}
	memcpy(&val, data, sizeof(val));
	switch (KGUEST_EVENT_EV(val)) {
	case KGUEST_EV_PROGRESS:
		progress(v, run_ns);
		break;
	case KGUEST_EV_FILL_DONE:
		kvmm_log(v->vm, "vCPU %u: guest memory filled", v->index);
		break;
	case KGUEST_EV_ERROR:
		kvmm_err("vCPU %u: guest reports error %u (bad parameters)",
			 v->index, KGUEST_EVENT_ARG(val));
		return -EINVAL;
	}
	return 0;
}

static void report_exit(struct kvmm_vcpu *v)
{
	struct kvm_regs regs = { 0 };

	ioctl(v->fd, KVM_GET_REGS, &regs);
	kvmm_err("vCPU %u: unexpected exit reason %u at rip 0x%llx (rsp 0x%llx); guest stopped",
		 v->index, v->run->exit_reason, (unsigned long long)regs.rip,
		 (unsigned long long)regs.rsp);
	if (v->run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		kvmm_err("internal error suberror %u", v->run->internal.suberror);
}

static void *vcpu_thread(void *arg)
{
	struct kvmm_vcpu *v = arg;

	while (!park(v)) {
		uint64_t t0 = kvmm_now_ns(), dt;
		int ret = ioctl(v->fd, KVM_RUN, 0);

		dt = kvmm_now_ns() - t0;
		__atomic_add_fetch(&v->run_ns, dt, __ATOMIC_RELAXED);
		if (ret < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		__atomic_add_fetch(&v->exits, 1, __ATOMIC_RELAXED);
		if (ret < 0) {
			kvmm_err("vCPU %u: KVM_RUN: %s; guest stopped", v->index,
				 strerror(errno));
			stop_guest(v->vm);
		} else if (v->run->exit_reason == KVM_EXIT_IO) {
			if (handle_io(v, dt))
				stop_guest(v->vm);
		} else {
			report_exit(v);
			stop_guest(v->vm);
		}
	}
	return NULL;
}

int kvmm_vcpus_start(struct kvmm *vm)
{
	struct sigaction sa = { .sa_handler = kick_handler };
	pthread_condattr_t ca;
	uint32_t i;
	int ret;

	sigemptyset(&sa.sa_mask);
	sigaction(KICK_SIGNAL, &sa, NULL);	/* no SA_RESTART: KVM_RUN -> EINTR */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->cond, &ca);
	pthread_condattr_destroy(&ca);
	for (i = 0; i < vm->nr_vcpus; i++) {
		char name[16];

		ret = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread,
				     &vm->vcpus[i]);
		if (ret)
			return -ret;
		vm->vcpus[i].started = 1;
		/* "vcpu N" in ps/top and /proc/PID/task/TID/comm: lets tools
		 * (and the benchmarks) tell guest time from the VMM's own work,
		 * as QEMU's "CPU N/KVM" names do. Cosmetic: failure is ignored. */
		snprintf(name, sizeof(name), "vcpu %u", i);
		pthread_setname_np(vm->vcpus[i].thread, name);
	}
	return 0;
}

int kvmm_pause(struct kvmm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == KVMM_INCOMING || vm->state == KVMM_STOPPED) {
		ret = vm->state == KVMM_INCOMING ? -EBUSY : -EIO;
		goto out;
	}
	vm->pause_req = 1;
	kick_all(vm);
	while (vm->nr_parked < vm->nr_vcpus)
		pthread_cond_wait(&vm->cond, &vm->lock);
	vm->state = KVMM_PAUSED;
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

int kvmm_resume(struct kvmm *vm)
{
	uint64_t now = kvmm_now_ns();
	uint32_t i;
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	if (vm->state == KVMM_INCOMING || vm->state == KVMM_STOPPED) {
		ret = vm->state == KVMM_INCOMING ? -EBUSY : -EIO;
		goto out;
	}
	for (i = 0; i < vm->nr_vcpus; i++)
		vm->vcpus[i].due_ns = now;
	vm->pause_req = 0;
	vm->state = KVMM_RUNNING;
	pthread_cond_broadcast(&vm->cond);
out:
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

/* Every vCPU has finished filling: the checker's patterns are complete. */
int kvmm_guest_ready(const struct kvmm *vm)
{
	const struct kguest_status *st =
		kvmm_gpa(vm, KGUEST_STATUS_GPA, sizeof(*st));
	uint32_t i;

	if (!st || st->magic != KGUEST_STATUS_MAGIC)
		return 0;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (st->vcpu[i].phase != KGUEST_PHASE_DIRTY)
			return 0;
	return 1;
}

void kvmm_vcpus_stop(struct kvmm *vm)
{
	uint32_t i;

	pthread_mutex_lock(&vm->lock);
	vm->quit = 1;
	kick_all(vm);
	pthread_mutex_unlock(&vm->lock);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct kvmm_vcpu *v = &vm->vcpus[i];

		if (v->started)
			pthread_join(v->thread, NULL);
		v->started = 0;
		if (v->run)
			munmap(v->run, vm->run_size);
		if (v->fd >= 0)
			close(v->fd);
		v->run = NULL;
		v->fd = -1;
	}
}
