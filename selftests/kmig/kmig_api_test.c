// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_api_test - /dev/kmig basics: KMIG_GET_INFO, the struct conventions
 * shared by every ioctl (size, tail, reserved fields, faulting pointers)
 * and ioctl dispatch.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kt_harness.h"

FIXTURE(dev) {
	int fd;
};

FIXTURE_SETUP(dev)
{
	self->fd = kmig_open();
}

FIXTURE_TEARDOWN(dev)
{
	close(self->fd);
}

TEST_F(dev, info)
{
	struct kmig_info info;

	kmig_get_info(self->fd, &info);
	EXPECT_EQ(sizeof(info), info.size);
	EXPECT_EQ(KMIG_API_VERSION, info.api_version);
	EXPECT_TRUE(info.features & KMIG_FEAT_ZERO_SCAN);
	EXPECT_EQ(getpagesize(), info.page_size);
	EXPECT_LE(64, info.max_batch_pages);
	EXPECT_EQ(0, info.max_batch_pages % 64);
	for (int i = 0; i < 4; i++)
		EXPECT_EQ(0, info.reserved[i]);
}

TEST_F(dev, info_reserved)
{
	for (int i = 0; i < 4; i++) {
		struct kmig_info info = { .size = sizeof(info) };

		info.reserved[i] = 1ULL << (i * 16);
		ASSERT_ERRNO(EINVAL, ioctl(self->fd, KMIG_GET_INFO, &info));
	}
}

TEST_F(dev, info_size_too_small)
{
	uint32_t sizes[] = { 0, 4, sizeof(struct kmig_info) - 8,
			     sizeof(struct kmig_info) - 1 };

	for (int i = 0; i < 4; i++) {
		struct kmig_info info = { .size = sizes[i] };

		ASSERT_ERRNO(EINVAL, ioctl(self->fd, KMIG_GET_INFO, &info));
	}
}

/* A newer caller: a bigger struct whose unknown tail is zero is fine. */
TEST_F(dev, info_size_bigger_zero_tail)
{
	struct {
		struct kmig_info info;
		uint64_t tail[8];
	} big = { .info.size = sizeof(big) };

	ASSERT_EQ(0, ioctl(self->fd, KMIG_GET_INFO, &big));
	EXPECT_EQ(sizeof(big), big.info.size);
	EXPECT_EQ(KMIG_API_VERSION, big.info.api_version);
	for (int i = 0; i < 8; i++)
		EXPECT_EQ(0, big.tail[i]);
}

TEST_F(dev, info_size_bigger_nonzero_tail)
{
	struct {
		struct kmig_info info;
		uint64_t tail[8];
	} big = { .info.size = sizeof(big) };

	big.tail[7] = 1;
	ASSERT_ERRNO(E2BIG, ioctl(self->fd, KMIG_GET_INFO, &big));
	big.tail[7] = 0;
	big.tail[0] = 0x100;
	ASSERT_ERRNO(E2BIG, ioctl(self->fd, KMIG_GET_INFO, &big));
}

/* Absurd sizes are refused before the tail is even looked at. */
TEST_F(dev, info_size_huge)
{
	struct kmig_info info = { .size = getpagesize() + 1 };

	ASSERT_ERRNO(E2BIG, ioctl(self->fd, KMIG_GET_INFO, &info));
	info.size = UINT32_MAX;
	ASSERT_ERRNO(E2BIG, ioctl(self->fd, KMIG_GET_INFO, &info));
}

/* An older caller: a struct smaller than ours but at least v1 works. */
TEST_F(dev, info_size_exact_is_v1)
{
	struct kmig_info info;

	memset(&info, 0xff, sizeof(info));
	info.size = sizeof(info);
	memset(info.reserved, 0, sizeof(info.reserved));
	ASSERT_EQ(0, ioctl(self->fd, KMIG_GET_INFO, &info));
	EXPECT_EQ(KMIG_API_VERSION, info.api_version);
}

TEST_F(dev, info_bad_pointer)
{
	void *ro;

	ASSERT_ERRNO(EFAULT, ioctl(self->fd, KMIG_GET_INFO, NULL));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, KMIG_GET_INFO, (void *)8));
	/* Readable but not writable: the copy back faults. */
	ro = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	((struct kmig_info *)ro)->size = sizeof(struct kmig_info);
	ASSERT_EQ(0, mprotect(ro, getpagesize(), PROT_READ));
	ASSERT_ERRNO(EFAULT, ioctl(self->fd, KMIG_GET_INFO, ro));
	munmap(ro, getpagesize());
}

TEST_F(dev, unknown_ioctl)
{
	struct kmig_info info = { .size = sizeof(info) };
	unsigned int nr;

	/* Every number after the last one defined. */
	for (nr = _IOC_NR(KMIG_LOG_STOP_QUERY) + 1; nr <= 0xff; nr++)
		ASSERT_ERRNO(ENOTTY, ioctl(self->fd,
			_IOWR(KMIG_IOCTL_TYPE, nr, struct kmig_info), &info));
	/* Another ioctl type with a known number. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd,
		_IOWR(KMIG_IOCTL_TYPE + 1, 0, struct kmig_info), &info));
	/* Known number, wrong direction. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd,
		_IOR(KMIG_IOCTL_TYPE, 0, struct kmig_info), &info));
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, _IO(KMIG_IOCTL_TYPE, 0), 0));
	/* A generic one. */
	ASSERT_ERRNO(ENOTTY, ioctl(self->fd, FIONREAD, &nr));
}

/* The ioctl number's size field does not matter: the struct's does. */
TEST_F(dev, ioctl_number_size_ignored)
{
	struct {
		struct kmig_info info;
		uint64_t tail[2];
	} big = { .info.size = sizeof(big) };

	ASSERT_EQ(0, ioctl(self->fd,
		_IOWR(KMIG_IOCTL_TYPE, 0, big), &big));
	EXPECT_EQ(KMIG_API_VERSION, big.info.api_version);
}

TEST_F(dev, scan_not_attached)
{
	uint64_t word;
	struct kmig_zero_scan a = {
		.size = sizeof(a), .slot = 1, .num_pages = 1,
		.zero_bitmap = (uintptr_t)&word,
	};

	ASSERT_ERRNO(ENOTCONN, ioctl(self->fd, KMIG_ZERO_SCAN, &a));
}

TEST_F(dev, sessions_independent)
{
	struct kmig_info info;
	int fd2 = kmig_open();

	kmig_get_info(fd2, &info);
	kmig_get_info(self->fd, &info);
	close(fd2);
	kmig_get_info(self->fd, &info);
}

TEST_F(dev, not_seekable_or_readable)
{
	char c;

	ASSERT_ERRNO(ESPIPE, lseek(self->fd, 0, SEEK_SET));
	ASSERT_EQ(-1, read(self->fd, &c, 1));
}

#define KT_PARAM "/sys/module/kmig/parameters/max_batch_pages"

static int kt_param_write(const char *val)
{
	FILE *f = fopen(KT_PARAM, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(val, f) < 0 ? -1 : 0;
	if (fclose(f))
		ret = -1;
	return ret;
}

/* The module parameter bounds each call and is what GET_INFO reports. */
TEST_F(dev, max_batch_param)
{
	struct kmig_info info;
	char old[32];
	FILE *f = fopen(KT_PARAM, "r");

	if (!f)
		SKIP(return, "%s: %s", KT_PARAM, strerror(errno));
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);

	/* Rejected: not a multiple of 64, zero, above the limit. */
	ASSERT_ERRNO(EINVAL, kt_param_write("100"));
	ASSERT_ERRNO(EINVAL, kt_param_write("0"));
	ASSERT_ERRNO(EINVAL, kt_param_write("33554432"));
	ASSERT_ERRNO(EINVAL, kt_param_write("x"));
	kmig_get_info(self->fd, &info);
	EXPECT_EQ(strtoul(old, NULL, 0), info.max_batch_pages);

	ASSERT_EQ(0, kt_param_write("128"));
	kmig_get_info(self->fd, &info);
	EXPECT_EQ(128, info.max_batch_pages);
	ASSERT_EQ(0, kt_param_write(old));
	kmig_get_info(self->fd, &info);
	EXPECT_EQ(strtoul(old, NULL, 0), info.max_batch_pages);
}

KT_HARNESS_MAIN
