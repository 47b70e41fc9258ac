// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_attach_test - KMIG_ATTACH_VM: validation of every field, and the
 * orders in which a VMM, its VM fd and kmig sessions can go away.
 *
 * Each test has its own VM with one 4 MiB anonymous slot (KT_SLOT) whose
 * first KT_WRITTEN pages hold data, so a scan's counts are known.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"

#define KT_SLOT		1
#define KT_SLOT_GPA	(1UL << 30)
#define KT_SLOT_SIZE	(4UL << 20)
#define KT_SLOT_PAGES	(KT_SLOT_SIZE / KT_PAGE)
#define KT_WRITTEN	5

/* Slot memory with KT_WRITTEN data pages at the start, the rest untouched. */
static void kt_setup_slot(struct kt_vm *vm, struct kt_mem *mem)
{
	kt_mem_alloc(mem, KT_ANON, KT_SLOT_SIZE);
	for (int i = 0; i < KT_WRITTEN; i++)
		mem->hva[i * KT_PAGE + 7] = 0x5a;
	kt_vm_set_slot(vm, KT_SLOT, 0, KT_SLOT_GPA, KT_SLOT_SIZE, mem->hva);
}

/* Scans the slot with session @fd: 0 or -1 with errno. */
static int kt_scan_slot(int fd, struct kt_scan *s)
{
	uint64_t bitmap[KT_SLOT_PAGES / 64];

	return __kmig_scan_range(fd, KT_SLOT, 0, KT_SLOT_PAGES, 0, 0, bitmap, s);
}

/* Asserts a scan gives the known counts. */
#define ASSERT_SCAN_OK(fd) do {						\
	struct kt_scan __s;						\
	ASSERT_EQ(0, kt_scan_slot(fd, &__s)) TH_LOG("scan: %s", strerror(errno)); \
	ASSERT_EQ(KT_WRITTEN, __s.nr_nonzero);				\
	ASSERT_EQ(KT_SLOT_PAGES - KT_WRITTEN, __s.nr_none);		\
} while (0)

FIXTURE(attach) {
	struct kt_vm vm;
	struct kt_mem mem;
	int kfd;
};

FIXTURE_SETUP(attach)
{
	kt_vm_create(&self->vm);
	kt_setup_slot(&self->vm, &self->mem);
	self->kfd = kmig_open();
}

FIXTURE_TEARDOWN(attach)
{
	if (self->kfd >= 0)
		close(self->kfd);
	kt_vm_close(&self->vm);
	kt_mem_free(&self->mem);
}

static int kt_attach_raw(int kfd, struct kmig_attach *a)
{
	return ioctl(kfd, KMIG_ATTACH_VM, a);
}

TEST_F(attach, ok)
{
	struct kmig_attach a = { .size = sizeof(a), .vm_fd = self->vm.fd };

	ASSERT_EQ(0, kt_attach_raw(self->kfd, &a));
	EXPECT_EQ(0, a.vm_flags);
	EXPECT_EQ(self->vm.fd, a.vm_fd);
	EXPECT_EQ(sizeof(a), a.size);
	ASSERT_SCAN_OK(self->kfd);
}

TEST_F(attach, vm_flags_manual_protect)
{
	uint32_t flags;

	kt_vm_manual_protect(&self->vm, false);
	kmig_attach(self->kfd, self->vm.fd, &flags);
	EXPECT_EQ(KMIG_VM_F_MANUAL_PROTECT, flags);
}

TEST_F(attach, vm_flags_initially_set)
{
	uint32_t flags;

	kt_vm_manual_protect(&self->vm, true);
	kmig_attach(self->kfd, self->vm.fd, &flags);
	EXPECT_EQ(KMIG_VM_F_MANUAL_PROTECT | KMIG_VM_F_INITIALLY_SET, flags);
}

TEST_F(attach, bad_fd_negative)
{
	ASSERT_ERRNO(EBADF, __kmig_attach(self->kfd, -1, NULL));
	ASSERT_ERRNO(EBADF, __kmig_attach(self->kfd, INT32_MIN, NULL));
}

TEST_F(attach, bad_fd_closed)
{
	int fd = dup(self->vm.fd);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, close(fd));
	ASSERT_ERRNO(EBADF, __kmig_attach(self->kfd, fd, NULL));
	ASSERT_ERRNO(EBADF, __kmig_attach(self->kfd, 100000, NULL));
}

TEST_F(attach, not_a_vm)
{
	int null = open("/dev/null", O_RDWR);
	int memfd = memfd_create("x", 0);

	ASSERT_LE(0, null);
	ASSERT_LE(0, memfd);
	ASSERT_ERRNO(EINVAL, __kmig_attach(self->kfd, null, NULL));
	ASSERT_ERRNO(EINVAL, __kmig_attach(self->kfd, memfd, NULL));
	/* KVM fds that are not VMs: the system fd and a vCPU. */
	ASSERT_ERRNO(EINVAL, __kmig_attach(self->kfd, self->vm.kvm_fd, NULL));
	kt_vm_add_vcpu(&self->vm);
	ASSERT_ERRNO(EINVAL, __kmig_attach(self->kfd, self->vm.vcpu_fd, NULL));
	/* Nor is a kmig session. */
	ASSERT_ERRNO(EINVAL, __kmig_attach(self->kfd, self->kfd, NULL));
	close(null);
	close(memfd);
	/* None of this attached the session. */
	ASSERT_ERRNO(ENOTCONN, kt_scan_slot(self->kfd, &(struct kt_scan){0}));
	kmig_attach(self->kfd, self->vm.fd, NULL);
}

TEST_F(attach, unknown_flags)
{
	uint32_t bad[] = { 1, 2, 0x80000000, 0xffffffff };

	for (int i = 0; i < 4; i++) {
		struct kmig_attach a = {
			.size = sizeof(a), .vm_fd = self->vm.fd, .flags = bad[i],
		};

		ASSERT_ERRNO(EINVAL, kt_attach_raw(self->kfd, &a));
	}
	kmig_attach(self->kfd, self->vm.fd, NULL);
}

TEST_F(attach, reserved)
{
	for (int i = 0; i < 3; i++) {
		struct kmig_attach a = { .size = sizeof(a), .vm_fd = self->vm.fd };

		a.reserved[i] = 1ULL << 63;
		ASSERT_ERRNO(EINVAL, kt_attach_raw(self->kfd, &a));
	}
	kmig_attach(self->kfd, self->vm.fd, NULL);
}

TEST_F(attach, size)
{
	struct {
		struct kmig_attach a;
		uint64_t tail[4];
	} big = { .a = { .size = sizeof(big), .vm_fd = self->vm.fd } };
	struct kmig_attach small = { .size = sizeof(small) - 8,
				     .vm_fd = self->vm.fd };

	ASSERT_ERRNO(EINVAL, kt_attach_raw(self->kfd, &small));
	small.size = 0;
	ASSERT_ERRNO(EINVAL, kt_attach_raw(self->kfd, &small));
	big.tail[3] = 1;
	ASSERT_ERRNO(E2BIG, kt_attach_raw(self->kfd, &big.a));
	big.tail[3] = 0;
	ASSERT_EQ(0, kt_attach_raw(self->kfd, &big.a));
	EXPECT_EQ(0, big.tail[0]);
}

TEST_F(attach, bad_pointer)
{
	ASSERT_ERRNO(EFAULT, ioctl(self->kfd, KMIG_ATTACH_VM, NULL));
	ASSERT_ERRNO(ENOTCONN, kt_scan_slot(self->kfd, &(struct kt_scan){0}));
}

/*
 * A struct the module can read but not write back: -EFAULT, and the
 * session is not attached (an attach that took effect and then failed
 * would leave the caller believing it is not attached, and -EBUSY next).
 */
TEST_F(attach, read_only_struct)
{
	struct kmig_attach *a = mmap(NULL, KT_PAGE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	ASSERT_NE(MAP_FAILED, a);
	*a = (struct kmig_attach){ .size = sizeof(*a), .vm_fd = self->vm.fd };
	ASSERT_EQ(0, mprotect(a, KT_PAGE, PROT_READ));
	ASSERT_ERRNO(EFAULT, ioctl(self->kfd, KMIG_ATTACH_VM, a));
	ASSERT_ERRNO(ENOTCONN, kt_scan_slot(self->kfd, &(struct kt_scan){0}));
	kmig_attach(self->kfd, self->vm.fd, NULL);
	ASSERT_SCAN_OK(self->kfd);
	munmap(a, KT_PAGE);
}

TEST_F(attach, double_attach)
{
	struct kt_vm other;

	kmig_attach(self->kfd, self->vm.fd, NULL);
	ASSERT_ERRNO(EBUSY, __kmig_attach(self->kfd, self->vm.fd, NULL));
	kt_vm_create(&other);
	ASSERT_ERRNO(EBUSY, __kmig_attach(self->kfd, other.fd, NULL));
	kt_vm_close(&other);
	/* The first binding is untouched. */
	ASSERT_SCAN_OK(self->kfd);
}

/* Two threads race to attach one session: exactly one wins. */
static void *kt_attach_thread(void *arg)
{
	int *fds = arg;

	return (void *)(intptr_t)(__kmig_attach(fds[0], fds[1], NULL) ? errno : 0);
}

TEST_F(attach, concurrent_attach)
{
	pthread_t t[4];
	int fds[2] = { self->kfd, self->vm.fd }, ok = 0, busy = 0;

	for (int i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, kt_attach_thread, fds));
	for (int i = 0; i < 4; i++) {
		void *ret;

		pthread_join(t[i], &ret);
		ok += (intptr_t)ret == 0;
		busy += (intptr_t)ret == EBUSY;
	}
	EXPECT_EQ(1, ok);
	EXPECT_EQ(3, busy);
	ASSERT_SCAN_OK(self->kfd);
}

/* The VMM closes its VM fd: the session keeps the VM, scans still work. */
TEST_F(attach, vm_fd_closed_first)
{
	kmig_attach(self->kfd, self->vm.fd, NULL);
	close(self->vm.fd);
	self->vm.fd = -1;
	ASSERT_SCAN_OK(self->kfd);
	/* Closing the session now destroys the VM, in our release(). */
	close(self->kfd);
	self->kfd = -1;
}

/* The session goes first: the VM is unaffected. */
TEST_F(attach, session_closed_first)
{
	int kfd2;

	kmig_attach(self->kfd, self->vm.fd, NULL);
	close(self->kfd);
	self->kfd = -1;
	/* The VM still works: a slot can be added, a new session attached. */
	kt_vm_set_slot(&self->vm, 2, 0, 2 * KT_SLOT_GPA, KT_SLOT_SIZE,
		       self->mem.hva);
	kfd2 = kmig_open();
	kmig_attach(kfd2, self->vm.fd, NULL);
	ASSERT_SCAN_OK(kfd2);
	close(kfd2);
}

TEST_F(attach, two_sessions)
{
	int kfd2 = kmig_open();

	kmig_attach(self->kfd, self->vm.fd, NULL);
	kmig_attach(kfd2, self->vm.fd, NULL);
	ASSERT_SCAN_OK(self->kfd);
	ASSERT_SCAN_OK(kfd2);
	close(self->kfd);
	self->kfd = -1;
	ASSERT_SCAN_OK(kfd2);
	close(self->vm.fd);
	self->vm.fd = -1;
	ASSERT_SCAN_OK(kfd2);
	close(kfd2);
}

/* The VMM child's slot (kt_spawn_vmm()): the scan fixture's layout. */
static void vmm_setup(struct kt_vm *vm)
{
	static struct kt_mem mem;	/* the child's, for its lifetime */

	kt_setup_slot(vm, &mem);
}

/* The helper reads the memory of a VM that belongs to another process. */
TEST_F(attach, vmm_process_exits)
{
	int sock, vm_fd;
	pid_t pid = kt_spawn_vmm(vmm_setup, &sock, &vm_fd);
	struct kt_scan s;
	int kfd2;

	kmig_attach(self->kfd, vm_fd, NULL);
	ASSERT_SCAN_OK(self->kfd);

	/* The VMM exits: its address space is gone, the VM is not. */
	kt_stop_vmm(pid, sock);
	ASSERT_ERRNO(ENODEV, kt_scan_slot(self->kfd, &s));
	ASSERT_ERRNO(ENODEV, kt_scan_slot(self->kfd, &s));
	/* A new session cannot attach to such a VM. */
	kfd2 = kmig_open();
	ASSERT_ERRNO(ENODEV, __kmig_attach(kfd2, vm_fd, NULL));
	close(kfd2);
	/* GET_INFO still works on the session. */
	struct kmig_info info;
	kmig_get_info(self->kfd, &info);
	/* The last VM reference goes with the session, after the fd. */
	close(vm_fd);
	close(self->kfd);
	self->kfd = -1;
}

/* Same, but the helper's VM fd is closed first and the session drops it. */
TEST_F(attach, vmm_exits_helper_fd_closed)
{
	int sock, vm_fd;
	pid_t pid = kt_spawn_vmm(vmm_setup, &sock, &vm_fd);
	struct kt_scan s;

	kmig_attach(self->kfd, vm_fd, NULL);
	close(vm_fd);
	ASSERT_SCAN_OK(self->kfd);
	kt_stop_vmm(pid, sock);
	ASSERT_ERRNO(ENODEV, kt_scan_slot(self->kfd, &s));
}

KT_HARNESS_MAIN
