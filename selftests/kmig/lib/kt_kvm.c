// SPDX-License-Identifier: GPL-2.0
/*
 * kt_kvm.c - KVM VMs, memslots and a byte-writing guest for the tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kmig_test.h"

void kt_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "==== Test Assertion Failure ====\n  %s:%d: ",
		file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

const char *kt_env_missing(void)
{
	if (access("/dev/kvm", R_OK | W_OK))
		return "/dev/kvm is not available";
	if (access(KMIG_DEVICE_PATH, R_OK | W_OK))
		return KMIG_DEVICE_PATH " is not available (kmig.ko not loaded)";
	return NULL;
}

int __kt_vm_create(struct kt_vm *vm)
{
	vm->fd = vm->vcpu_fd = -1;
	vm->run = NULL;
	vm->code = NULL;
	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0)
		return -1;
	vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	return vm->fd < 0 ? -1 : 0;
}

void kt_vm_create(struct kt_vm *vm)
{
	KT_CALL_OK(__kt_vm_create(vm), "KVM_CREATE_VM");
}

void kt_vm_close(struct kt_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->code)
		munmap(vm->code, KT_CODE_SIZE);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->fd >= 0)
		close(vm->fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->run = NULL;
	vm->code = NULL;
	vm->vcpu_fd = vm->fd = vm->kvm_fd = -1;
}

int __kt_vm_manual_protect(struct kt_vm *vm, bool initially_set)
{
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2,
		.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE |
			   (initially_set ? KVM_DIRTY_LOG_INITIALLY_SET : 0),
	};

	return ioctl(vm->fd, KVM_ENABLE_CAP, &cap);
}

void kt_vm_manual_protect(struct kt_vm *vm, bool initially_set)
{
	KT_CALL_OK(__kt_vm_manual_protect(vm, initially_set),
		   "KVM_ENABLE_CAP(MANUAL_DIRTY_LOG_PROTECT2)");
}

int __kt_vm_set_slot(struct kt_vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

void kt_vm_set_slot(struct kt_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva)
{
	KT_CALL_OK(__kt_vm_set_slot(vm, slot, flags, gpa, size, hva),
		   "KVM_SET_USER_MEMORY_REGION");
}

void kt_vm_add_vcpu(struct kt_vm *vm)
{
	int sz;

	vm->vcpu_fd = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	KT_ASSERT(vm->vcpu_fd >= 0, "KVM_CREATE_VCPU: %s", strerror(errno));
	sz = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	KT_ASSERT(sz > 0, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
	vm->run_size = sz;
	vm->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu_fd, 0);
	KT_ASSERT(vm->run != MAP_FAILED, "mmap(kvm_run): %s", strerror(errno));
}

/*
 * The guest program at KT_CODE_TEXT, 32-bit code; esi = table, ecx = count:
 *   0: 8b 06        mov eax, [esi]        ; gpa
 *   2: 8b 56 04     mov edx, [esi + 4]    ; value
 *   5: 88 10        mov [eax], dl
 *   7: 83 c6 08     add esi, 8
 *  10: 49           dec ecx
 *  11: 75 f3        jnz 0
 *  13: e6 10        out 0x10, al          ; KVM_EXIT_IO: done
 *  15: f4           hlt
 */
#define KT_CODE_TEXT	0x1000
#define KT_CODE_TABLE	0x2000
#define KT_DONE_PORT	0x10

static const uint8_t kt_guest_text[] = {
	0x8b, 0x06, 0x8b, 0x56, 0x04, 0x88, 0x10, 0x83, 0xc6, 0x08,
	0x49, 0x75, 0xf3, 0xe6, KT_DONE_PORT, 0xf4,
};

size_t kt_guest_max_writes(void)
{
	return (KT_CODE_SIZE - KT_CODE_TABLE) / sizeof(struct kt_guest_write);
}

static void kt_flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

void kt_guest_setup(struct kt_vm *vm)
{
	struct kvm_sregs sregs;

	vm->code = mmap(NULL, KT_CODE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KT_ASSERT(vm->code != MAP_FAILED, "mmap: %s", strerror(errno));
	memcpy(vm->code + KT_CODE_TEXT, kt_guest_text,
	       sizeof(kt_guest_text));
	kt_vm_set_slot(vm, KT_CODE_SLOT, 0, 0, KT_CODE_SIZE, vm->code);
	kt_vm_add_vcpu(vm);

	KT_CALL_OK(ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs), "KVM_GET_SREGS");
	kt_flat_segment(&sregs.cs, 0x08, 11);	/* code, execute/read */
	kt_flat_segment(&sregs.ds, 0x10, 3);	/* data, read/write */
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 |= 1;				/* protected mode, no paging */
	KT_CALL_OK(ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs), "KVM_SET_SREGS");
}

void kt_guest_write(struct kt_vm *vm, const struct kt_guest_write *w, size_t n)
{
	struct kvm_regs regs = { 0 };
	int ret;

	if (!n)
		return;
	KT_ASSERT(n <= kt_guest_max_writes(), "%zu writes", n);
	memcpy(vm->code + KT_CODE_TABLE, w, n * sizeof(*w));
	regs.rip = KT_CODE_TEXT;
	regs.rsi = KT_CODE_TABLE;
	regs.rcx = n;
	regs.rflags = 2;
	KT_CALL_OK(ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs), "KVM_SET_REGS");

	for (;;) {
		ret = ioctl(vm->vcpu_fd, KVM_RUN, 0);
		if (ret < 0 && errno == EINTR)
			continue;
		KT_CALL_OK(ret, "KVM_RUN");
		if (vm->run->exit_reason == KVM_EXIT_IO &&
		    vm->run->io.port == KT_DONE_PORT)
			return;
		KT_ASSERT(0, "guest exit reason %u, expected KVM_EXIT_IO",
			  vm->run->exit_reason);
	}
}

int kt_send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

int kt_recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *c;
	int fd;

	if (recvmsg(sock, &msg, 0) != 1)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (!c || c->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

uint64_t kt_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

uint64_t kt_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * A separate VMM process: it creates the VM, runs @setup on it (slots,
 * modes), passes the VM fd over a unix socket (SCM_RIGHTS), and exits when
 * told to (or when this process dies). The helper (this process) attaches
 * with the received fd. Returns the VMM's pid.
 */
pid_t kt_spawn_vmm(void (*setup)(struct kt_vm *vm), int *sock, int *vm_fd)
{
	int sv[2];
	pid_t pid;
	char c;

	KT_CALL_OK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), "socketpair");
	pid = fork();
	KT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct kt_vm vm;

		close(sv[0]);
		kt_vm_create(&vm);
		setup(&vm);
		KT_CALL_OK(kt_send_fd(sv[1], vm.fd), "sendmsg(SCM_RIGHTS)");
		/* Wait for "exit" (or the helper's death), then exit. */
		if (read(sv[1], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(sv[1]);
	*sock = sv[0];
	*vm_fd = kt_recv_fd(sv[0]);
	KT_ASSERT(*vm_fd >= 0, "receiving the VM fd failed");
	return pid;
}

void kt_stop_vmm(pid_t pid, int sock)
{
	int status;

	KT_ASSERT(write(sock, "x", 1) == 1, "write: %s", strerror(errno));
	KT_ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	KT_ASSERT(WIFEXITED(status) && !WEXITSTATUS(status),
		  "VMM status %#x", status);
	close(sock);
}
