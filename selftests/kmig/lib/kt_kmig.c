// SPDX-License-Identifier: GPL-2.0
/*
 * kt_kmig.c - /dev/kmig calls for the tests.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kmig_test.h"

int __kmig_open(void)
{
	return open(KMIG_DEVICE_PATH, O_RDWR | O_CLOEXEC);
}

int kmig_open(void)
{
	int fd = __kmig_open();

	KT_ASSERT(fd >= 0, "open %s: %s", KMIG_DEVICE_PATH, strerror(errno));
	return fd;
}

int __kmig_get_info(int fd, struct kmig_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, KMIG_GET_INFO, info);
}

void kmig_get_info(int fd, struct kmig_info *info)
{
	KT_CALL_OK(__kmig_get_info(fd, info), "KMIG_GET_INFO");
}

int __kmig_attach(int fd, int vm_fd, uint32_t *vm_flags)
{
	struct kmig_attach a = { .size = sizeof(a), .vm_fd = vm_fd };
	int ret = ioctl(fd, KMIG_ATTACH_VM, &a);

	if (!ret && vm_flags)
		*vm_flags = a.vm_flags;
	return ret;
}

void kmig_attach(int fd, int vm_fd, uint32_t *vm_flags)
{
	KT_CALL_OK(__kmig_attach(fd, vm_fd, vm_flags), "KMIG_ATTACH_VM");
}

int __kmig_zero_scan(int fd, struct kmig_zero_scan *a)
{
	return ioctl(fd, KMIG_ZERO_SCAN, a);
}

/* Checks what the uapi promises about one successful call. */
static void kt_check_call(const struct kmig_zero_scan *a, uint64_t before,
			  uint64_t batch)
{
	uint64_t done = a->cursor - before;
	uint64_t sum = a->nr_none + a->nr_zero_page + a->nr_zero_data +
		       a->nr_nonzero;

	KT_ASSERT(a->cursor > before && a->cursor <= a->num_pages,
		  "cursor %llu -> %llu of %llu", (unsigned long long)before,
		  (unsigned long long)a->cursor,
		  (unsigned long long)a->num_pages);
	KT_ASSERT(a->cursor % 64 == 0 || a->cursor == a->num_pages,
		  "cursor %llu not a multiple of 64",
		  (unsigned long long)a->cursor);
	KT_ASSERT(done <= batch, "call did %llu pages, bound %llu",
		  (unsigned long long)done, (unsigned long long)batch);
	KT_ASSERT(sum == done, "counts sum %llu, pages done %llu",
		  (unsigned long long)sum, (unsigned long long)done);
}

int __kmig_scan_range(int fd, uint32_t slot, uint64_t first, uint64_t num,
		      uint64_t max_pages, uint32_t flags, uint64_t *bitmap,
		      struct kt_scan *sum)
{
	struct kmig_zero_scan a = {
		.size = sizeof(a), .flags = flags, .slot = slot,
		.first_page = first, .num_pages = num,
		.zero_bitmap = (uintptr_t)bitmap, .max_pages = max_pages,
	};
	struct kmig_info info;
	uint64_t batch, before;

	memset(sum, 0, sizeof(*sum));
	if (__kmig_get_info(fd, &info))
		return -1;
	batch = max_pages && max_pages < info.max_batch_pages ?
		(max_pages + 63) / 64 * 64 : info.max_batch_pages;

	while (a.cursor < num) {
		before = a.cursor;
		sum->calls++;
		if (__kmig_zero_scan(fd, &a)) {
			if (errno != EINTR)
				return -1;
			KT_ASSERT(a.cursor == before, "cursor moved on EINTR");
			sum->interrupted++;
			continue;
		}
		kt_check_call(&a, before, batch);
		if (a.cursor - before < batch && a.cursor < num)
			sum->interrupted++;
		sum->nr_none += a.nr_none;
		sum->nr_zero_page += a.nr_zero_page;
		sum->nr_zero_data += a.nr_zero_data;
		sum->nr_nonzero += a.nr_nonzero;
	}
	return 0;
}

void kmig_scan_range(int fd, uint32_t slot, uint64_t first, uint64_t num,
		     uint64_t max_pages, uint32_t flags, uint64_t *bitmap,
		     struct kt_scan *sum)
{
	KT_CALL_OK(__kmig_scan_range(fd, slot, first, num, max_pages, flags,
				     bitmap, sum), "KMIG_ZERO_SCAN");
}

void kmig_scan_kinds(int fd, uint32_t slot, uint64_t first, uint64_t num,
		     uint32_t flags, uint8_t *kinds)
{
	struct kt_scan s;
	uint64_t i, word;

	for (i = 0; i < num; i++) {
		kmig_scan_range(fd, slot, first + i, 1, 0, flags, &word, &s);
		KT_ASSERT(word == (s.nr_nonzero ? 0 : 1),
			  "page %llu: bitmap word %#llx, nonzero %llu",
			  (unsigned long long)(first + i),
			  (unsigned long long)word,
			  (unsigned long long)s.nr_nonzero);
		kinds[i] = s.nr_none ? KT_NONE : s.nr_zero_page ? KT_ZERO_PAGE :
			   s.nr_zero_data ? KT_ZERO_DATA : KT_NONZERO;
	}
}
