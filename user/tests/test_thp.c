// SPDX-License-Identifier: GPL-2.0
/* Which files take huge pages on which route (base/thp.h): a memfd
 * follows the system's shmem_enabled, as read independently here; a file
 * on a tmpfs mount, a regular file and a pipe never count as memfds; the
 * advice for huge pages goes where a fault is their only route. */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "base/thp.h"

/* The selected value, as the kernel shows it: "always [advise] never". */
static const char *selected(char *buf, size_t len)
{
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");
	char *a, *b;

	if (!f)
		return "unavailable";
	if (!fgets(buf, (int)len, f))
		buf[0] = 0;
	fclose(f);
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!b)
		return "unavailable";
	*b = 0;
	return a + 1;
}

TEST(shmem_setting)
{
	char buf[128], name[20];
	const char *sel = selected(buf, sizeof(buf));
	enum kmig_thp_route r = kmig_shmem_thp(name), want;

	ASSERT_STREQ(sel, name);
	if (!strcmp(sel, "advise"))
		want = KMIG_THP_FAULT;
	else if (!strcmp(sel, "always") || !strcmp(sel, "within_size") || !strcmp(sel, "force"))
		want = KMIG_THP_ANY;
	else
		want = KMIG_THP_NONE;
	ASSERT_EQ(want, r);
	TH_LOG("shmem_enabled=%s", name);
}

TEST(memfd_follows_the_setting)
{
	int fd = memfd_create("kmig-thp-test", MFD_CLOEXEC);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(kmig_shmem_thp(NULL), kmig_memfd_thp(fd));
	close(fd);
}

TEST(other_files_are_not_memfds)
{
	char path[] = "/dev/shm/kmig-thp-XXXXXX", tmp[] = "/tmp/kmig-thp-XXXXXX";
	int fd = mkstemp(path), p[2];

	/* /dev/shm is a tmpfs mount: its own huge= option decides. */
	if (fd >= 0) {
		unlink(path);
		EXPECT_EQ(KMIG_THP_NONE, kmig_memfd_thp(fd));
		close(fd);
	}
	fd = mkstemp(tmp);
	ASSERT_GE(fd, 0);
	unlink(tmp);
	EXPECT_EQ(KMIG_THP_NONE, kmig_memfd_thp(fd));
	close(fd);
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(KMIG_THP_NONE, kmig_memfd_thp(p[0]));
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(KMIG_THP_NONE, kmig_memfd_thp(-1));
}

/* The VmFlags of the mapping at @addr in /proc/self/smaps carry "hg"
 * (MADV_HUGEPAGE). */
static bool advised(const void *addr)
{
	char line[512], start[32];
	FILE *f = fopen("/proc/self/smaps", "r");
	bool in = false, hg = false;

	if (!f)
		return false;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), f)) {
		if (strchr(line, '-') && strchr(line, '-') < strchr(line, ' '))
			in = !strncmp(line, start, strlen(start));
		else if (in && !strncmp(line, "VmFlags:", 8))
			hg = strstr(line, " hg") != NULL;
	}
	fclose(f);
	return hg;
}

/* kmig_thp_advise: a memfd is advised exactly when its huge pages come
 * only by a fault; any file when forced. */
TEST(advise_follows_the_route)
{
	const size_t len = 4 << 20;
	char tmp[] = "/tmp/kmig-thp-XXXXXX";
	int fd = memfd_create("kmig-thp-test", MFD_CLOEXEC), file = mkstemp(tmp);
	bool fault = kmig_memfd_thp(fd) == KMIG_THP_FAULT;
	void *m, *p;

	ASSERT_GE(fd, 0);
	ASSERT_GE(file, 0);
	unlink(tmp);
	ASSERT_EQ(0, ftruncate(fd, len));
	ASSERT_EQ(0, ftruncate(file, len));
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	ASSERT_NE(MAP_FAILED, m);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(fault, kmig_thp_advise(fd, m, len, false));
	EXPECT_EQ(fault, advised(m));
	EXPECT_FALSE(kmig_thp_advise(file, p, len, false));
	EXPECT_FALSE(advised(p));
	EXPECT_TRUE(kmig_thp_advise(file, p, len, true));
	EXPECT_TRUE(advised(p));
	TH_LOG("memfd %s", fault ? "advised (shmem_enabled=advise)" : "not advised");
	munmap(m, len);
	munmap(p, len);
	close(fd);
	close(file);
}

TEST_HARNESS_MAIN
