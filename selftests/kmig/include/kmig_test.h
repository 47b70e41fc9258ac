/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig_test.h - the helper library of the kmig selftests and benchmarks.
 *
 * In the style of the KVM selftests: __kt_x() / __kmig_x() return the raw
 * result (-1 with errno, like the syscall), kt_x() / kmig_x() assert success
 * and report the ioctl's name and errno, then exit the test process with a
 * failure. Tests use the raw form wherever they check an error.
 */
#ifndef KMIG_TEST_H
#define KMIG_TEST_H

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <linux/kvm.h>
#include <linux/kmig.h>

#define KT_PAGE		4096UL
#define KT_HPAGE	(2UL << 20)
#define KT_HPAGE_NR	(KT_HPAGE / KT_PAGE)
#define KT_MIB		(1UL << 20)
#define KT_GIB		(1UL << 30)
/* 64-bit words of a bitmap of n pages */
#define KT_WORDS(n)	(((n) + 63) / 64)

/* Prints a failure report ("==== Test Assertion Failure ====") and exits. */
void __attribute__((noreturn, format(printf, 3, 4)))
kt_fail(const char *file, int line, const char *fmt, ...);

#define KT_ASSERT(cond, fmt, ...) do {					\
	if (!(cond))							\
		kt_fail(__FILE__, __LINE__, "%s: " fmt, #cond,		\
			##__VA_ARGS__);					\
} while (0)

/* Asserts that a raw call returned 0, naming the call and errno. */
#define KT_CALL_OK(ret, name) \
	KT_ASSERT((ret) == 0, "%s failed: %s (errno %d)", name,	\
		  strerror(errno), errno)

/*
 * Why this environment cannot run the tests (no /dev/kvm, no /dev/kmig),
 * or NULL. Test programs print it with ksft_exit_skip().
 */
const char *kt_env_missing(void);

/* ---- KVM (kt_kvm.c) ---- */

struct kt_vm {
	int kvm_fd;		/* /dev/kvm */
	int fd;			/* the VM */
	int vcpu_fd;		/* -1 until kt_vm_add_vcpu() */
	struct kvm_run *run;
	size_t run_size;
	uint8_t *code;		/* guest code slot, NULL until kt_guest_setup() */
};

int __kt_vm_create(struct kt_vm *vm);
void kt_vm_create(struct kt_vm *vm);
void kt_vm_close(struct kt_vm *vm);	/* closes what is open; idempotent */
int __kt_vm_manual_protect(struct kt_vm *vm, bool initially_set);
void kt_vm_manual_protect(struct kt_vm *vm, bool initially_set);
int __kt_vm_set_slot(struct kt_vm *vm, uint32_t slot, uint32_t flags,
		     uint64_t gpa, uint64_t size, void *hva);
void kt_vm_set_slot(struct kt_vm *vm, uint32_t slot, uint32_t flags,
		    uint64_t gpa, uint64_t size, void *hva);
void kt_vm_add_vcpu(struct kt_vm *vm);

/*
 * A guest that writes bytes: a 32-bit flat protected-mode program in a code
 * slot (KT_CODE_SLOT at GPA 0) stores each (gpa, val) pair of a table, then
 * leaves with an OUT. GPAs must be below 4 GiB. kt_guest_setup() adds the
 * code slot and the vCPU; kt_guest_write() runs one batch.
 */
#define KT_CODE_SLOT	0
#define KT_CODE_SIZE	(1UL << 20)

struct kt_guest_write {
	uint32_t gpa;
	uint32_t val;		/* low byte is written */
};

void kt_guest_setup(struct kt_vm *vm);
size_t kt_guest_max_writes(void);
void kt_guest_write(struct kt_vm *vm, const struct kt_guest_write *w,
		    size_t n);

/* ---- guest RAM backings (kt_mem.c) ---- */

enum kt_backing {
	KT_ANON,	/* private anonymous, MADV_NOHUGEPAGE: 4 KiB pages */
	KT_ANON_THP,	/* private anonymous, 2 MiB aligned, MADV_HUGEPAGE */
	KT_MEMFD,	/* memfd, MAP_SHARED */
	KT_MEMFD_PRIVATE, /* memfd, MAP_PRIVATE: page cache plus anon COW */
	KT_SPARSE,	/* private anonymous MAP_NORESERVE, MADV_NOHUGEPAGE */
};

struct kt_mem {
	enum kt_backing backing;
	uint8_t *hva;		/* start of guest RAM */
	size_t size;
	int memfd;		/* KT_MEMFD, else -1 */
	void *map;		/* what to munmap */
	size_t map_size;
};

void kt_mem_alloc(struct kt_mem *m, enum kt_backing backing, size_t size);
void kt_mem_free(struct kt_mem *m);
const char *kt_backing_name(enum kt_backing backing);

/* ---- /dev/kmig (kt_kmig.c) ---- */

int __kmig_open(void);
int kmig_open(void);
int __kmig_get_info(int fd, struct kmig_info *info);
void kmig_get_info(int fd, struct kmig_info *info);
int __kmig_attach(int fd, int vm_fd, uint32_t *vm_flags);
void kmig_attach(int fd, int vm_fd, uint32_t *vm_flags);
int __kmig_zero_scan(int fd, struct kmig_zero_scan *a);

/* Sums of a scan over several calls. */
struct kt_scan {
	uint64_t nr_none, nr_zero_page, nr_zero_data, nr_nonzero;
	uint64_t calls;		/* ioctls made */
	uint64_t interrupted;	/* calls that returned early or -EINTR */
};

/*
 * Scans [first, first + num) of @slot to the end, @max_pages per call,
 * retrying -EINTR, into @bitmap (DIV_ROUND_UP(num, 64) words). Returns 0
 * or -1 with errno of the first other failure.
 */
int __kmig_scan_range(int fd, uint32_t slot, uint64_t first, uint64_t num,
		      uint64_t max_pages, uint32_t flags, uint64_t *bitmap,
		      struct kt_scan *sum);
void kmig_scan_range(int fd, uint32_t slot, uint64_t first, uint64_t num,
		     uint64_t max_pages, uint32_t flags, uint64_t *bitmap,
		     struct kt_scan *sum);
/* The kind (enum kt_kind) of each page, with one call per page. */
void kmig_scan_kinds(int fd, uint32_t slot, uint64_t first, uint64_t num,
		     uint32_t flags, uint8_t *kinds);

/* ---- userspace reference (kt_ref.c) ---- */

enum kt_kind { KT_NONE, KT_ZERO_PAGE, KT_ZERO_DATA, KT_NONZERO, KT_NR_KINDS };

struct kt_zero_pfns {
	uint64_t zero_pfn;
	uint64_t huge_zero_pfn;	/* head pfn; valid if have_huge */
	bool have_huge;
};

/* Learns the zero pfns by read-faulting; false if pfns are hidden. */
bool kt_zero_pfns(struct kt_zero_pfns *z);
/*
 * What the module must report for pages [first, first + n) of @m, from
 * /proc/self/pagemap, mincore() and the content (read through the mapping
 * for mapped pages, pread() on the memfd otherwise: nothing is faulted in).
 * @falloc (or NULL) marks memfd pages that were fallocate()d and never
 * written: they read as zero and count as never populated.
 */
void kt_ref_kinds(const struct kt_mem *m, size_t first, size_t n,
		  const uint8_t *falloc, const struct kt_zero_pfns *z,
		  uint8_t *kinds);
void kt_kinds_count(const uint8_t *kinds, size_t n,
		    uint64_t counts[KT_NR_KINDS]);
const char *kt_kind_name(unsigned int kind);
/* Reports up to 10 differing pages on stderr; returns how many differ. */
size_t kt_kinds_diff(const char *what, const uint8_t *want,
		     const uint8_t *got, size_t n);
/* The bitmap a scan must give for @kinds (zero = every kind but NONZERO). */
void kt_kinds_bitmap(const uint8_t *kinds, size_t n, uint64_t *bitmap);

/* ---- dirty logging (kt_dirty.c) ---- */

int __kt_get_dirty_log(struct kt_vm *vm, uint32_t slot, uint64_t *bitmap);
void kt_get_dirty_log(struct kt_vm *vm, uint32_t slot, uint64_t *bitmap);
void kt_clear_dirty_log(struct kt_vm *vm, uint32_t slot, uint64_t first,
			uint64_t num, uint64_t *bitmap);
/* A statistic of KVM_GET_STATS_FD on the VM ("pages_4k", "pages_2m"). */
uint64_t kt_vm_stat(struct kt_vm *vm, const char *name);

/*
 * A guest that keeps writing on its own vCPU thread (needs
 * kt_guest_setup()): 32-bit stores of the current value to the first
 * bytes of pseudo-random pages of [base_gpa, + npages pages), or 0 when
 * the top byte of its random number is below @zero_thresh (0: never; the
 * page then is all zero if only this guest writes it). kt_loop_pause()
 * returns when the vCPU is out of the guest.
 */
struct kt_loop {
	struct kt_vm *vm;
	pthread_t thread;
	sem_t stopped, cont;
	bool quit;
	bool running;
};

void kt_loop_start(struct kt_loop *l, struct kt_vm *vm, uint32_t base_gpa,
		   uint32_t npages, uint32_t seed, uint32_t zero_thresh);
void kt_loop_set_value(struct kt_loop *l, uint32_t value);
uint32_t kt_loop_writes(struct kt_loop *l);
void kt_loop_pause(struct kt_loop *l);
void kt_loop_resume(struct kt_loop *l);
void kt_loop_finish(struct kt_loop *l);

/*
 * A manual-protect VM (kt_guest_setup() done) with KT_DSLOTS dirty-logging
 * slots at consecutive GPAs from KT_DVM_GPA: slot 1 anonymous 4 KiB (2048
 * pages), slot 2 memfd (1000 pages), slot 3 THP (1024 pages). Pages are
 * also numbered globally, 0 to total - 1, in GPA order.
 */
#define KT_DSLOTS	3
#define KT_DVM_GPA	(16UL << 20)

struct kt_dvm {
	struct kt_vm vm;
	struct kt_mem mem[KT_DSLOTS];
	uint32_t slot[KT_DSLOTS];
	uint64_t gpa[KT_DSLOTS];
	uint64_t npages[KT_DSLOTS];
	uint64_t total;
};

void kt_dvm_create(struct kt_dvm *d, bool initially_set);
void kt_dvm_destroy(struct kt_dvm *d);
void kt_dvm_locate(const struct kt_dvm *d, uint64_t p, int *slot_idx,
		   uint64_t *page);
uint8_t *kt_dvm_page(const struct kt_dvm *d, uint64_t p);

int __kmig_harvest(int fd, struct kmig_harvest *h);
int __kmig_log_stop(int fd, struct kmig_log_stop *a);
int __kmig_log_stop_cancel(int fd, struct kmig_log_stop_cancel *a);
int __kmig_log_stop_query(int fd, struct kmig_log_stop_query *a);

/* ---- misc (kt_kvm.c) ---- */

int kt_send_fd(int sock, int fd);
int kt_recv_fd(int sock);
/* A VMM in a child process: creates a VM, runs @setup on it, sends its fd
 * (returned in *@vm_fd; *@sock stays open) and exits on kt_stop_vmm(),
 * which checks that it exited 0 and closes @sock. */
pid_t kt_spawn_vmm(void (*setup)(struct kt_vm *vm), int *sock, int *vm_fd);
void kt_stop_vmm(pid_t pid, int sock);
uint64_t kt_now_ns(void);
/* xorshift64*: reproducible patterns from a printed seed. */
uint64_t kt_rand(uint64_t *state);

#endif /* KMIG_TEST_H */
