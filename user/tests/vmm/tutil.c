// SPDX-License-Identifier: GPL-2.0
/* Shared helpers of the kmig-vmm tests. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tutil.h"

void tvmm_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* build/tests/vmm/<test> -> build/kmig-vmm, unless $KMIG_VMM says. */
static void vmm_path(char *buf, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv("KMIG_VMM")) {
		snprintf(buf, len, "%s", getenv("KMIG_VMM"));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	snprintf(buf, len, "%s/../../kmig-vmm", dirname(exe));
}

int tvmm_start(struct tvmm *t, const char *const *args)
{
	char path[PATH_MAX];
	const char *argv[32];
	int n = 0;

	snprintf(t->dir, sizeof(t->dir), "/tmp/kmig-vmm-test.XXXXXX");
	if (!mkdtemp(t->dir))
		return -errno;
	snprintf(t->sock, sizeof(t->sock), "%s/vmm.sock", t->dir);
	vmm_path(path, sizeof(path));
	argv[n++] = path;
	argv[n++] = "--socket";
	argv[n++] = t->sock;
	argv[n++] = "--quiet";
	while (args && *args && n < 30)
		argv[n++] = *args++;
	argv[n] = NULL;
	t->pid = fork();
	if (t->pid < 0)
		return -errno;
	if (t->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	return 0;
}

const char *tvmm_mem(void)
{
	return getenv("KMIG_IN_LAB") ? "32M" : "128M";
}

int tvmm_connect(const struct tvmm *t, struct kmig_vmmp_client **c)
{
	int i, ret = -ENOENT;

	for (i = 0; i < 500; i++) {
		ret = kmig_vmmp_connect(t->sock, "kmig-test", c);
		if (ret != -ENOENT && ret != -ECONNREFUSED)
			return ret;
		if (waitpid(t->pid, NULL, WNOHANG) == t->pid)
			return -ESRCH;	/* the VMM died during start-up */
		tvmm_sleep_ms(10);
	}
	return ret;
}

static void cleanup_dir(struct tvmm *t)
{
	unlink(t->sock);
	rmdir(t->dir);
}

int tvmm_wait_exit(struct tvmm *t, int timeout_ms)
{
	int status, i;

	for (i = 0; i < timeout_ms / 10; i++) {
		if (waitpid(t->pid, &status, WNOHANG) == t->pid) {
			t->pid = 0;
			cleanup_dir(t);
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		}
		tvmm_sleep_ms(10);
	}
	return -1;
}

int tvmm_stop(struct tvmm *t)
{
	int ret;

	if (t->pid <= 0) {	/* already reaped by tvmm_wait_exit() */
		cleanup_dir(t);
		return 0;
	}
	kill(t->pid, SIGTERM);
	ret = tvmm_wait_exit(t, 10000);
	if (ret < 0) {
		kill(t->pid, SIGKILL);
		waitpid(t->pid, NULL, 0);
		t->pid = 0;
		cleanup_dir(t);
	}
	return ret;
}

int tvmm_guest_writes(uint64_t gpa, const struct kguest_region *ab)
{
	if (gpa >= ab->gpa && gpa < ab->gpa + ab->pages * KGUEST_PAGE_SIZE)
		return 1;
	return gpa == KGUEST_STATUS_GPA || gpa == KGUEST_PML4_GPA || gpa == KGUEST_PDPT_GPA ||
	       (gpa >= KGUEST_PD_GPA && gpa < KGUEST_PD_GPA + KGUEST_PD_MAX * KGUEST_PAGE_SIZE) ||
	       (gpa >= KGUEST_IMAGE_GPA && gpa < KGUEST_IMAGE_END);
}

int tvmm_wait_ready(struct kmig_vmmp_client *c, int timeout_ms)
{
	struct kmig_vmmp_status st;
	int i, ret;

	for (i = 0; i < timeout_ms / 10; i++) {
		ret = kmig_vmmp_query(c, &st);
		if (ret)
			return ret;
		if (st.flags & KMIG_VMMP_STATUS_F_READY)
			return 0;
		tvmm_sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int tvmm_wait_progress(struct kmig_vmmp_client *c, uint64_t than, int timeout_ms)
{
	struct kmig_vmmp_status st;
	int i, ret;

	for (i = 0; i < timeout_ms / 10; i++) {
		ret = kmig_vmmp_query(c, &st);
		if (ret)
			return ret;
		if (st.progress > than)
			return 0;
		tvmm_sleep_ms(10);
	}
	return -ETIMEDOUT;
}

int tvmm_map(struct kmig_vmmp_client *c, int prot, struct kmig_vmmp_memmap **m,
	     struct kmig_abcheck_range *r)
{
	int ret = kmig_vmmp_get_slots(c, m);

	if (ret)
		return ret;
	ret = kmig_vmmp_memmap_map(*m, prot);
	if (ret) {
		kmig_vmmp_memmap_free(*m);
		*m = NULL;
		return ret;
	}
	if (r)
		tvmm_ranges(*m, r);
	return 0;
}

void tvmm_ranges(const struct kmig_vmmp_memmap *m, struct kmig_abcheck_range *r)
{
	uint32_t i;

	for (i = 0; i < m->nr_slots; i++)
		r[i] = (struct kmig_abcheck_range) {
			.gpa = m->slots[i].gpa, .size = m->slots[i].size,
			.host = m->slots[i].host, .fd = m->memfds[m->slots[i].memfd],
			.fd_offset = m->slots[i].offset,
		};
}

int tvmm_check(const struct kmig_vmmp_memmap *m, struct kmig_abcheck_report *rep)
{
	struct kmig_abcheck_range r[KMIG_VMMP_MAX_SLOTS];

	tvmm_ranges(m, r);
	return kmig_abcheck_run(r, m->nr_slots, rep);
}

int tvmm_count_fds(pid_t pid)
{
	char path[64];
	struct dirent *d;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((d = readdir(dir)))
		n += d->d_name[0] != '.';
	closedir(dir);
	return n;
}
