// SPDX-License-Identifier: GPL-2.0
/*
 * kt_proc.c - child processes of the migration test and benchmark: each
 * one's output goes to a file (a pipe nobody reads would block a VMM that
 * logs), waits are bounded, and whatever is left running is killed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kmig_test.h"
#include "kt_mig.h"

void kt_proc_start(struct kt_proc *p, const char *log, const char *const *argv,
		   const char *env)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	KT_ASSERT(fd >= 0, "open %s: %s", log, strerror(errno));
	snprintf(p->log, sizeof(p->log), "%s", log);
	p->cpu_ns = 0;
	p->pid = fork();
	KT_ASSERT(p->pid >= 0, "fork: %s", strerror(errno));
	if (!p->pid) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (env)
			putenv((char *)env);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fd);
}

int kt_proc_wait(struct kt_proc *p, int timeout_ms)
{
	uint64_t end = kt_now_ns() + (uint64_t)timeout_ms * 1000000;
	struct rusage ru;
	int st;

	if (!p->pid)
		return -1;
	while (wait4(p->pid, &st, WNOHANG, &ru) == 0) {
		if (kt_now_ns() > end) {
			kt_proc_kill(p);
			return -1;
		}
		usleep(10000);
	}
	p->pid = 0;
	p->cpu_ns = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void kt_proc_kill(struct kt_proc *p)
{
	if (!p->pid)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

/*
 * To its end, not to st_size: files of /proc report a size of 0 (reading
 * /proc/meminfo by its size gave "" and every THP figure of the migration
 * bench 0). getdelim() grows the buffer; the files read here hold no NUL.
 */
char *kt_file_read(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;

	if (f) {
		if (getdelim(&buf, &cap, '\0', f) < 0) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	if (!buf)
		buf = calloc(1, 1);
	KT_ASSERT(buf, "out of memory");
	return buf;
}
