// SPDX-License-Identifier: GPL-2.0
/* Transparent huge pages of shared memory (thp.h). */
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/thp.h"

#define SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

enum kmig_thp_route kmig_shmem_thp(char *name)
{
	static const struct {
		const char *name;
		enum kmig_thp_route route;
	} set[] = {
		{ "always", KMIG_THP_ANY }, { "within_size", KMIG_THP_ANY },
		{ "force", KMIG_THP_ANY }, { "advise", KMIG_THP_FAULT },
		{ "never", KMIG_THP_NONE }, { "deny", KMIG_THP_NONE },
	};
	char buf[128] = "", sel[20];
	FILE *f = fopen(SHMEM_ENABLED, "r");

	if (name)
		strcpy(name, "unavailable");
	if (!f)		/* a kernel without THP */
		return KMIG_THP_NONE;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	/* The selected value is the bracketed one: "always [advise] never". */
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		snprintf(sel, sizeof(sel), "[%s]", set[i].name);
		if (strstr(buf, sel)) {
			if (name)
				strcpy(name, set[i].name);
			return set[i].route;
		}
	}
	return KMIG_THP_NONE;
}

enum kmig_thp_route kmig_memfd_thp(int fd)
{
	char link[40], target[16];
	struct statfs sf;
	ssize_t n;

	/* Shared memory, and not a file of a tmpfs mount, whose own huge=
	 * option decides: a memfd's name reads "/memfd:NAME (deleted)". */
	if (fstatfs(fd, &sf) || sf.f_type != TMPFS_MAGIC)
		return KMIG_THP_NONE;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target));
	if (n < 7 || memcmp(target, "/memfd:", 7))
		return KMIG_THP_NONE;
	return kmig_shmem_thp(NULL);
}

bool kmig_thp_advise(int fd, void *base, size_t len, bool force)
{
	if (!force && kmig_memfd_thp(fd) != KMIG_THP_FAULT)
		return false;
	madvise(base, len, MADV_HUGEPAGE);
	return true;
}
