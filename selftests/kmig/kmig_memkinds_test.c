// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_memkinds_test - guest memory the zero scan must not read, or whose
 * holes are not zero pages; each case a host crash or lost guest data if
 * the module got it wrong.
 *
 * hwpoison: a memfd slot with a page written zero and then poisoned
 *	(MADV_HWPOISON through a second mapping: memory_failure() keeps a
 *	poisoned shmem page in the page cache, up to date, so the scan meets
 *	it through the page-cache path), and one mapped in the slot. A child
 *	process poisons them through its own mapping: 6.12 sends the poisoner
 *	SIGBUS (it is caught, after the call). The zero scan and a classifying
 *	harvest succeed and report it non-zero, never reading it (on real
 *	hardware a read is a machine check: a host panic).
 * secretmem: a slot of memfd_secret memory (not in the kernel's direct
 *	map; the test host boots with secretmem.enable=1): the scan and a
 *	classifying harvest report every page non-zero without touching it
 *	(reading it faults in the kernel: an oops with the VMM's mmap lock
 *	held).
 * uffd: anonymous and memfd slots with half of their range registered for
 *	userfaultfd missing faults: the untouched registered pages are
 *	unknown (non-zero), the unregistered ones never populated.
 * blockdev: a slot that maps a loop block device (its inode is on
 *	devtmpfs, whose magic is tmpfs's): its page-cache holes hold data on
 *	the device; every page is non-zero, none "never populated".
 */
#include <fcntl.h>
#include <signal.h>
#include <linux/loop.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"

#define T_SLOT		1
#define T_GPA		(256UL << 20)
#define T_SIZE		(2UL << 20)
#define T_PAGES		(T_SIZE / KT_PAGE)

#ifndef MADV_HWPOISON
#define MADV_HWPOISON	100
#endif
#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

/* A VM with manual-protect logging (all pages dirty) and a session. */
struct t_vm {
	struct kt_vm vm;
	int kfd;
};

static void t_vm_open(struct t_vm *t, void *hva, size_t size)
{
	kt_vm_create(&t->vm);
	kt_vm_manual_protect(&t->vm, true);
	kt_vm_set_slot(&t->vm, T_SLOT, KVM_MEM_LOG_DIRTY_PAGES, T_GPA, size, hva);
	t->kfd = kmig_open();
	kmig_attach(t->kfd, t->vm.fd, NULL);
}

static void t_vm_close(struct t_vm *t)
{
	close(t->kfd);
	kt_vm_close(&t->vm);
}

/* Zero scan of the whole slot; returns the sums, fills @zero. */
static struct kt_scan t_scan(struct t_vm *t, uint64_t npages, uint64_t *zero)
{
	struct kt_scan sum = { 0 };

	kmig_scan_range(t->kfd, T_SLOT, 0, npages, 0, 0, zero, &sum);
	return sum;
}

/* Classifying harvest of the whole slot into @dirty and @zero. */
static void t_harvest(struct t_vm *t, uint64_t npages, uint64_t *dirty,
		      uint64_t *zero)
{
	struct kmig_harvest_entry e = {
		.slot = T_SLOT, .num_pages = npages,
		.dirty_bitmap = (uintptr_t)dirty, .zero_bitmap = (uintptr_t)zero,
	};
	struct kmig_harvest h = {
		.size = sizeof(h), .flags = KMIG_HARVEST_F_CLASSIFY,
		.nr_entries = 1, .entry_size = sizeof(e), .entries = (uintptr_t)&e,
	};

	while (h.next_entry < h.nr_entries)
		KT_CALL_OK(__kmig_harvest(t->kfd, &h), "KMIG_HARVEST");
	KT_ASSERT(e.nr_dirty == npages, "INITIALLY_SET: %llu of %llu pages dirty",
		  (unsigned long long)e.nr_dirty, (unsigned long long)npages);
}

static bool t_bit(const uint64_t *bm, uint64_t i)
{
	return bm[i / 64] >> (i % 64) & 1;
}

static void t_sigbus(int sig)
{
}

/* In a child: poison pages @a and @b of the memfd; 0 if both worked. */
static int t_poison(int memfd, uint64_t a, uint64_t b)
{
	struct sigaction sa = { .sa_handler = t_sigbus };
	uint8_t *p = mmap(NULL, T_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);

	/* Sent on the way out of madvise(), not by a faulting access. */
	sigaction(SIGBUS, &sa, NULL);
	if (p == MAP_FAILED)
		return 2;
	if (madvise(p + a * KT_PAGE, KT_PAGE, MADV_HWPOISON) ||
	    madvise(p + b * KT_PAGE, KT_PAGE, MADV_HWPOISON)) {
		fprintf(stderr, "MADV_HWPOISON: %s (needs CONFIG_MEMORY_FAILURE and root)\n",
			strerror(errno));
		return 1;
	}
	return 0;
}

TEST(hwpoison)
{
	uint64_t zero[KT_WORDS(T_PAGES)], dirty[KT_WORDS(T_PAGES)];
	static uint8_t zeros[KT_PAGE];
	const uint64_t cached = 5, mapped = 7;
	struct kt_scan sum;
	struct kt_mem m;
	struct t_vm t;
	int status;
	pid_t pid;

	kt_mem_alloc(&m, KT_MEMFD, T_SIZE);
	t_vm_open(&t, m.hva, T_SIZE);
	/* A zero page in the page cache, not mapped in the slot... */
	ASSERT_EQ(KT_PAGE, pwrite(m.memfd, zeros, KT_PAGE, cached * KT_PAGE));
	/* ...and one mapped in the slot, written zero. */
	memset(m.hva + mapped * KT_PAGE, 0, KT_PAGE);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(t_poison(m.memfd, cached, mapped));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("poisoning child: status %#x", status);

	sum = t_scan(&t, T_PAGES, zero);
	EXPECT_FALSE(t_bit(zero, cached)) TH_LOG("poisoned page-cache page reported zero");
	EXPECT_FALSE(t_bit(zero, mapped)) TH_LOG("poisoned mapped page reported zero");
	EXPECT_EQ(2, sum.nr_nonzero);
	EXPECT_EQ(T_PAGES - 2, sum.nr_none);
	EXPECT_EQ(0, sum.nr_zero_data);

	memset(zero, 0xff, sizeof(zero));
	t_harvest(&t, T_PAGES, dirty, zero);
	EXPECT_TRUE(t_bit(dirty, cached) && !t_bit(zero, cached));
	EXPECT_TRUE(t_bit(dirty, mapped) && !t_bit(zero, mapped));

	t_vm_close(&t);
	/* The test never reads the poisoned pages: that would be SIGBUS. */
	kt_mem_free(&m);
}

TEST(secretmem)
{
	uint64_t zero[KT_WORDS(T_PAGES)], dirty[KT_WORDS(T_PAGES)];
	struct kt_scan sum;
	struct t_vm t;
	uint8_t *p;
	int fd;

	fd = syscall(SYS_memfd_secret, 0);
	ASSERT_GE(fd, 0) TH_LOG("memfd_secret: %s (boot with secretmem.enable=1)",
				strerror(errno));
	ASSERT_EQ(0, ftruncate(fd, T_SIZE));
	p = mmap(NULL, T_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap memfd_secret: %s", strerror(errno));
	/* Present pages: zero ones and data ones; the rest never touched. */
	for (uint64_t i = 0; i < T_PAGES / 2; i++)
		p[i * KT_PAGE] = i % 2;
	t_vm_open(&t, p, T_SIZE);

	sum = t_scan(&t, T_PAGES, zero);
	EXPECT_EQ(T_PAGES, sum.nr_nonzero);
	for (uint64_t i = 0; i < KT_WORDS(T_PAGES); i++)
		ASSERT_EQ(0, zero[i]);
	t_harvest(&t, T_PAGES, dirty, zero);
	for (uint64_t i = 0; i < KT_WORDS(T_PAGES); i++) {
		ASSERT_EQ(0, zero[i]);
		ASSERT_EQ(~0ULL, dirty[i]);
	}
	/* Still the owner's memory, intact. */
	EXPECT_EQ(1, p[KT_PAGE]);
	t_vm_close(&t);
	munmap(p, T_SIZE);
	close(fd);
}

/* Registers [p, p + len) for missing faults; returns the userfaultfd. */
static int t_uffd_register(void *p, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	KT_ASSERT(fd >= 0, "userfaultfd: %s", strerror(errno));
	KT_CALL_OK(ioctl(fd, UFFDIO_API, &api), "UFFDIO_API");
	KT_CALL_OK(ioctl(fd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER");
	return fd;
}

TEST(uffd)
{
	static const enum kt_backing backings[] = { KT_ANON, KT_MEMFD };
	uint64_t zero[KT_WORDS(T_PAGES)];

	for (int b = 0; b < ARRAY_SIZE(backings); b++) {
		struct kt_scan sum;
		struct kt_mem m;
		struct t_vm t;
		int ufd;

		kt_mem_alloc(&m, backings[b], T_SIZE);
		t_vm_open(&t, m.hva, T_SIZE);
		/* The first half is a postcopy destination's missing memory. */
		ufd = t_uffd_register(m.hva, T_SIZE / 2);
		sum = t_scan(&t, T_PAGES, zero);
		EXPECT_EQ(T_PAGES / 2, sum.nr_nonzero) TH_LOG("%s", kt_backing_name(backings[b]));
		EXPECT_EQ(T_PAGES / 2, sum.nr_none) TH_LOG("%s", kt_backing_name(backings[b]));
		for (uint64_t i = 0; i < T_PAGES; i++) {
			ASSERT_EQ(i >= T_PAGES / 2, t_bit(zero, i))
				TH_LOG("%s: page %llu", kt_backing_name(backings[b]),
				       (unsigned long long)i);
		}
		close(ufd);	/* unregisters: the holes are zero again */
		sum = t_scan(&t, T_PAGES, zero);
		EXPECT_EQ(T_PAGES, sum.nr_none);
		t_vm_close(&t);
		kt_mem_free(&m);
	}
}

/* A loop device over a tmpfs file full of data; returns its fd. */
static int t_loop_open(const char *file, char *dev, size_t devlen)
{
	struct loop_config cfg = { .block_size = 4096 };
	int ctl, n, fd, bfd;
	uint8_t *buf = malloc(T_SIZE);

	KT_ASSERT(buf, "malloc");
	memset(buf, 0x5a, T_SIZE);
	bfd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	KT_ASSERT(bfd >= 0 && write(bfd, buf, T_SIZE) == (ssize_t)T_SIZE,
		  "%s: %s", file, strerror(errno));
	free(buf);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	KT_ASSERT(ctl >= 0, "/dev/loop-control: %s (loop.ko not loaded?)", strerror(errno));
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	KT_ASSERT(n >= 0, "LOOP_CTL_GET_FREE: %s", strerror(errno));
	close(ctl);
	snprintf(dev, devlen, "/dev/loop%d", n);
	for (int i = 0; i < 100 && access(dev, F_OK); i++)
		usleep(10000);		/* devtmpfs adds the node */
	fd = open(dev, O_RDWR | O_CLOEXEC);
	KT_ASSERT(fd >= 0, "%s: %s", dev, strerror(errno));
	cfg.fd = bfd;
	KT_CALL_OK(ioctl(fd, LOOP_CONFIGURE, &cfg), "LOOP_CONFIGURE");
	close(bfd);
	return fd;
}

TEST(blockdev)
{
	const char *file = "/tmp/kmig_memkinds_loop";
	uint64_t zero[KT_WORDS(T_PAGES)];
	struct kt_scan sum;
	struct t_vm t;
	char dev[32];
	uint8_t *p;
	int fd;

	fd = t_loop_open(file, dev, sizeof(dev));
	p = mmap(NULL, T_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p) TH_LOG("mmap %s: %s", dev, strerror(errno));
	/* A few pages read through the mapping: present, data. */
	EXPECT_EQ(0x5a, p[0]);
	EXPECT_EQ(0x5a, p[T_SIZE - 1]);
	t_vm_open(&t, p, T_SIZE);

	sum = t_scan(&t, T_PAGES, zero);
	EXPECT_EQ(T_PAGES, sum.nr_nonzero);
	EXPECT_EQ(0, sum.nr_none) TH_LOG("device data reported as never-populated zero pages");
	t_vm_close(&t);
	munmap(p, T_SIZE);
	ioctl(fd, LOOP_CLR_FD);
	close(fd);
	unlink(file);
}

KT_HARNESS_MAIN
