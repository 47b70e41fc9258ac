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
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
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

long tvmm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* build/tests/vmm/<test> -> build/@prog, unless $@env says. */
static void build_path(char *buf, size_t len, const char *env, const char *prog)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (getenv(env)) {
		snprintf(buf, len, "%s", getenv(env));
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	exe[n > 0 ? n : 0] = 0;
	snprintf(buf, len, "%s/../../%s", dirname(exe), prog);
}

static void vmm_path(char *buf, size_t len)
{
	build_path(buf, len, "KMIG_VMM", "kmig-vmm");
}

int tkmig_spawn(struct trun *r, const char *const *args)
{
	char path[PATH_MAX];
	const char *argv[48];
	int n = 0, fd;

	memset(r, 0, sizeof(*r));
	build_path(path, sizeof(path), "KMIG", "kmig");
	snprintf(r->errfile, sizeof(r->errfile), "/tmp/kmig-test-err.XXXXXX");
	fd = mkstemp(r->errfile);
	if (fd < 0)
		return -errno;
	argv[n++] = path;
	while (args && *args && n < 47)
		argv[n++] = *args++;
	argv[n] = NULL;
	r->ms = tvmm_now_ms();
	r->pid = fork();
	if (r->pid < 0)
		return -errno;
	if (r->pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(null, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		execv(path, (char *const *)argv);
		_exit(127);
	}
	close(fd);
	return 0;
}

void tkmig_wait(struct trun *r, int timeout_ms)
{
	long deadline = r->ms + timeout_ms;
	struct rusage ru;
	ssize_t n;
	int fd;

	r->status = -1;
	for (;;) {
		pid_t p = wait4(r->pid, &r->status, WNOHANG, &ru);

		if (p == r->pid)
			break;
		if (p < 0 || tvmm_now_ms() > deadline) {
			kill(r->pid, SIGKILL);
			wait4(r->pid, NULL, 0, &ru);
			r->status = -1;
			break;
		}
		tvmm_sleep_ms(5);
	}
	r->ms = tvmm_now_ms() - r->ms;
	r->maxrss_kib = ru.ru_maxrss;
	fd = open(r->errfile, O_RDONLY);
	n = fd >= 0 ? read(fd, r->err, sizeof(r->err) - 1) : 0;
	r->err[n > 0 ? n : 0] = 0;
	if (fd >= 0)
		close(fd);
	unlink(r->errfile);
}

int tkmig_run(struct trun *r, const char *const *args, int timeout_ms, int sig, int sig_ms)
{
	int ret = tkmig_spawn(r, args);

	if (ret)
		return ret;
	if (sig) {
		tvmm_sleep_ms(sig_ms);
		kill(r->pid, sig);
	}
	tkmig_wait(r, timeout_ms);
	return 0;
}

int tkmig_exited(const struct trun *r, int code)
{
	return r->status >= 0 && WIFEXITED(r->status) && WEXITSTATUS(r->status) == code;
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
