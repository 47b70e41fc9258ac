// SPDX-License-Identifier: GPL-2.0
/*
 * kmig-vmm's side of the VMM protocol: the callbacks the protocol library
 * calls (each does exactly the KVM work only the VM's creator may do), and
 * the listening socket that serves one helper connection at a time while
 * the guest runs. SIGINT/SIGTERM end the VMM cleanly.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm.h"

#define CLEAR_CHUNK_PAGES	(1ULL << 31)	/* kvm_clear_dirty_log.num_pages is u32 */

/* The state as the vCPU threads may change it (to STOPPED) concurrently. */
static enum kvmm_state state_of(struct kvmm *vm)
{
	enum kvmm_state st;

	pthread_mutex_lock(&vm->lock);
	st = vm->state;
	pthread_mutex_unlock(&vm->lock);
	return st;
}

static struct kvmm_slot *slot_of(struct kvmm *vm, const struct kmig_vmmp_slot *s)
{
	return kvmm_slot_by_id(vm, s->slot);	/* validated by the library */
}

static int op_dirty_log_set(void *ctx, const struct kmig_vmmp_slot *s,
			    int enable, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	int ret;

	if (state_of(vm) == KVMM_INCOMING)
		return kmig_vmmp_errf(e, -EBUSY,
				      "memslots of an incoming VM are registered at COMMIT");
	ret = kvmm_mem_set_logging(vm, slot_of(vm, s), enable);
	if (ret)
		return kmig_vmmp_errf(e, ret, "KVM_SET_USER_MEMORY_REGION slot %u %s logging: %s",
				      s->slot, enable ? "with" : "without", strerror(-ret));
	return 0;
}

static int op_get_dirty_log(void *ctx, const struct kmig_vmmp_slot *s,
			    uint64_t *bitmap, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	struct kvm_dirty_log log = { .slot = s->slot, .dirty_bitmap = bitmap };

	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &log))
		return kmig_vmmp_errf(e, -errno, "KVM_GET_DIRTY_LOG slot %u: %s",
				      s->slot, strerror(errno));
	return 0;
}

static int op_clear_dirty_log(void *ctx, const struct kmig_vmmp_slot *s,
			      uint64_t first, uint64_t num,
			      const uint64_t *bitmap, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	uint64_t done = 0;

	while (done < num) {
		uint64_t n = num - done < CLEAR_CHUNK_PAGES ? num - done : CLEAR_CHUNK_PAGES;
		struct kvm_clear_dirty_log c = {
			.slot = s->slot, .first_page = first + done,
			.num_pages = (uint32_t)n,
			.dirty_bitmap = (void *)(bitmap + done / 64),
		};

		if (ioctl(vm->vm_fd, KVM_CLEAR_DIRTY_LOG, &c))
			return kmig_vmmp_errf(e, -errno,
					      "KVM_CLEAR_DIRTY_LOG slot %u pages [%llu, +%llu): %s",
					      s->slot, (unsigned long long)c.first_page,
					      (unsigned long long)n, strerror(errno));
		done += n;
	}
	return 0;
}

static int op_pause(void *ctx, struct kmig_vmmp_err *e)
{
	int ret = kvmm_pause(ctx);

	if (ret)
		return kmig_vmmp_errf(e, ret, ret == -EBUSY ?
				      "PAUSE: the incoming guest has not started (COMMIT first)" :
				      "PAUSE: the guest has stopped");
	return 0;
}

static int op_resume(void *ctx, struct kmig_vmmp_err *e)
{
	int ret = kvmm_resume(ctx);

	if (ret)
		return kmig_vmmp_errf(e, ret, ret == -EBUSY ?
				      "RESUME: the incoming guest starts with COMMIT" :
				      "RESUME: the guest has stopped");
	return 0;
}

static int op_get_device_state(void *ctx, void **blob, size_t *len,
			       struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	enum kvmm_state st = state_of(vm);

	if (st != KVMM_PAUSED)
		return kmig_vmmp_errf(e, -EBUSY,
				      "GET_DEVICE_STATE: the guest must be paused (state %d)",
				      st);
	return kvmm_devstate_save(vm, blob, len, e);
}

/*
 * Everything the guest needs before it runs, done here rather than at
 * COMMIT, so that COMMIT only starts the vCPUs (the source's pause goes on
 * until RESUMED): the memslots (once), then every vCPU's state, loaded
 * from the whole, parsed blob. The vCPUs stay parked until COMMIT. After
 * an ABORT (DROP_DEVICE_STATE) the next blob loads every vCPU again, so a
 * load that failed half-way leaves nothing that counts: the VM stays
 * incoming, with nothing staged.
 */
static int op_set_device_state(void *ctx, const void *blob, size_t len,
			       struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	struct kvmm_vcpu_state *st;
	int ret;

	if (state_of(vm) != KVMM_INCOMING)
		return kmig_vmmp_errf(e, -EBUSY,
				      "SET_DEVICE_STATE: only an incoming VM before COMMIT takes device state");
	ret = kvmm_devstate_parse(vm, blob, len, &st, e);
	if (ret)
		return ret;
	kvmm_devstate_free(vm, vm->staged);
	vm->staged = NULL;
	ret = vm->mem_registered ? 0 : kvmm_mem_register(vm);
	if (ret)
		kmig_vmmp_errf(e, ret, "SET_DEVICE_STATE: registering memslots: %s",
			       strerror(-ret));
	vm->mem_registered = !ret;
	if (!ret)
		ret = kvmm_devstate_apply(vm, st, e);
	if (ret) {
		kvmm_devstate_free(vm, st);
		return ret;
	}
	vm->staged = st;
	return 0;
}

/* The source aborted the switchover: the staged state goes, the guest
 * stays as it is (incoming, never run) until the next one. */
static int op_drop_device_state(void *ctx, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;

	if (state_of(vm) != KVMM_INCOMING)
		return kmig_vmmp_errf(e, -EBUSY, "DROP_DEVICE_STATE: only an incoming VM before "
				      "COMMIT has a device state staged");
	kvmm_devstate_free(vm, vm->staged);
	vm->staged = NULL;
	kvmm_log(vm, "staged device state dropped (the source aborted the switchover)");
	return 0;
}

/* The destination's commit: the memslots and every vCPU's state were
 * loaded at SET_DEVICE_STATE; the guest is the running one from now on,
 * its vCPUs start once the reply is out (op_run()). */
static int op_commit(void *ctx, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	int incoming = state_of(vm) == KVMM_INCOMING;

	if (!incoming || !vm->staged)
		return kmig_vmmp_errf(e, -EINVAL, !incoming ?
				      "COMMIT: not an incoming VM, or already committed" :
				      "COMMIT: no device state (SET_DEVICE_STATE first)");
	kvmm_devstate_free(vm, vm->staged);
	vm->staged = NULL;
	pthread_mutex_lock(&vm->lock);
	vm->state = KVMM_RUNNING;	/* parked vCPUs wait for op_run()'s wake-up */
	vm->vm_flags &= ~KMIG_VMMP_VM_F_INCOMING;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static void op_run(void *ctx)
{
	struct kvmm *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	kvmm_log(vm, "committed: guest resumed");
}

static int op_throttle(void *ctx, uint32_t percent, uint32_t *previous,
		       struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;

	pthread_mutex_lock(&vm->lock);
	*previous = vm->throttle;
	vm->throttle = percent;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int op_query(void *ctx, struct kmig_vmmp_status *st, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;
	uint32_t i;

	pthread_mutex_lock(&vm->lock);
	st->state = vm->state;
	st->nr_vcpus = vm->nr_vcpus;
	st->throttle = vm->throttle;
	for (i = 0; i < vm->nr_vcpus; i++) {
		st->progress += vm->vcpus[i].pages;
		st->progress2 += vm->vcpus[i].sweeps;
		st->exits += __atomic_load_n(&vm->vcpus[i].exits, __ATOMIC_RELAXED);
		st->run_ns += __atomic_load_n(&vm->vcpus[i].run_ns, __ATOMIC_RELAXED);
	}
	for (i = 0; i < vm->nr_slots; i++)
		if (vm->slots[i].kvm_flags & KVM_MEM_LOG_DIRTY_PAGES)
			st->flags |= KMIG_VMMP_STATUS_F_DIRTY_LOG;
	if (vm->state != KVMM_INCOMING && kvmm_guest_ready(vm))
		st->flags |= KMIG_VMMP_STATUS_F_READY;
	if (vm->state == KVMM_INCOMING && vm->staged)
		st->flags |= KMIG_VMMP_STATUS_F_STAGED;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

static int op_quit(void *ctx, uint32_t flags, struct kmig_vmmp_err *e)
{
	struct kvmm *vm = ctx;

	if (flags & KMIG_VMMP_QUIT_F_EXIT)
		vm->exit_req = 1;
	return 0;
}

static const struct kmig_vmmp_ops kvmm_ops = {
	.dirty_log_set = op_dirty_log_set,
	.get_dirty_log = op_get_dirty_log,
	.clear_dirty_log = op_clear_dirty_log,
	.pause = op_pause,
	.resume = op_resume,
	.get_device_state = op_get_device_state,
	.set_device_state = op_set_device_state,
	.commit = op_commit,
	.throttle = op_throttle,
	.query = op_query,
	.quit = op_quit,
	.drop_device_state = op_drop_device_state,
	.run = op_run,
};

static int listen_on(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t mask;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* A stale socket from an earlier run is replaced, nothing else. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Owner-only from the start (a connection gets the VM and its
	 * memory): bind() creates the socket file with the umask's mode. */
	mask = umask(077);
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 4) ? -errno : 0;
	umask(mask);
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

static int make_signalfd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static void describe(struct kvmm *vm, struct kmig_vmmp_vm *d,
		     struct kmig_vmmp_slot *slots)
{
	uint32_t i;

	for (i = 0; i < vm->nr_slots; i++)
		slots[i] = (struct kmig_vmmp_slot) {
			.slot = vm->slots[i].id, .memfd = i,
			.gpa = vm->slots[i].gpa, .size = vm->slots[i].size,
		};
	*d = (struct kmig_vmmp_vm) {
		.name = "kmig-vmm", .vm_fd = vm->vm_fd, .memfds = vm->memfds,
		.nr_memfds = vm->nr_slots, .slots = slots,
		.nr_slots = vm->nr_slots, .nr_vcpus = vm->nr_vcpus,
		.vm_flags = vm->vm_flags,
	};
}

/* Accept helpers one after the other until a signal or QUIT(EXIT). */
static int accept_loop(struct kvmm *vm, struct kmig_vmmp_server *srv,
		       int lfd, int sfd)
{
	struct pollfd p[2] = { { .fd = lfd, .events = POLLIN },
			       { .fd = sfd, .events = POLLIN } };
	int ret = 0;

	while (!vm->exit_req) {
		int conn;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (p[1].revents)
			break;
		conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (conn < 0)
			continue;
		kmig_vmmp_server_set_vm_flags(srv, vm->vm_flags);
		ret = kmig_vmmp_server_serve(srv, conn, sfd);
		close(conn);
		if (ret == -ECANCELED)
			break;
		if (ret == -ETIMEDOUT)
			kvmm_log(vm, "helper session closed: no HELLO, or a reply not taken, "
				 "within the client timeout");
		else if (ret)
			kvmm_log(vm, "helper session ended: %s", strerror(-ret));
	}
	return 0;
}

int kvmm_serve(struct kvmm *vm)
{
	struct kmig_vmmp_slot slots[KVMM_MAX_SLOTS];
	struct kmig_vmmp_server *srv = NULL;
	struct kmig_vmmp_vm desc;
	int lfd, sfd, ret;

	sfd = make_signalfd();
	if (sfd < 0)
		return -errno;
	lfd = listen_on(vm->opts.socket);
	if (lfd < 0) {
		kvmm_err("listen on %s: %s", vm->opts.socket, strerror(-lfd));
		close(sfd);
		return lfd;
	}
	describe(vm, &desc, slots);
	ret = kmig_vmmp_server_create(&desc, &kvmm_ops, vm, &srv);
	if (ret)
		kvmm_err("serving the VMM protocol: %s%s", strerror(-ret),
			 ret == -EPERM ? " (a memfd is not sealed with F_SEAL_SHRINK)" : "");
	if (!ret) {
		kmig_vmmp_server_set_timeout(srv, vm->opts.client_timeout_ms);
		kvmm_log(vm, "listening on %s%s", vm->opts.socket,
			 vm->state == KVMM_INCOMING ? " (incoming)" : "");
		ret = accept_loop(vm, srv, lfd, sfd);
	}
	kmig_vmmp_server_destroy(srv);
	close(lfd);
	close(sfd);
	unlink(vm->opts.socket);
	kvmm_log(vm, "exiting");
	return ret;
}
