/* SPDX-License-Identifier: GPL-2.0 */
/* Shared helpers of the kmig-vmm tests: run a real kmig-vmm, talk to it. */
#ifndef KMIG_TESTS_VMM_TUTIL_H
#define KMIG_TESTS_VMM_TUTIL_H

#include <stdint.h>
#include <sys/types.h>

#include "abcheck.h"
#include "kmig/vmm_proto_client.h"

struct tvmm {
	pid_t pid;
	char dir[64];
	char sock[128];
};

/*
 * Start build/kmig-vmm with a socket in a fresh temp dir and @args
 * (NULL-terminated). It gets SIGTERM if the test process dies.
 */
int tvmm_start(struct tvmm *t, const char *const *args);
/* Connect (retrying while the VMM starts up) and do HELLO. */
int tvmm_connect(const struct tvmm *t, struct kmig_vmmp_client **c);
/* SIGTERM, reap, remove the temp dir; the exit status (0 if reaped before). */
int tvmm_stop(struct tvmm *t);
/* Wait for the VMM to exit by itself (after QUIT --exit); status or -1. */
int tvmm_wait_exit(struct tvmm *t, int timeout_ms);

/* QUERY until the workload is set up (READY) or @timeout_ms passes. */
int tvmm_wait_ready(struct kmig_vmmp_client *c, int timeout_ms);
/* QUERY until progress passes @than or @timeout_ms passes. */
int tvmm_wait_progress(struct kmig_vmmp_client *c, uint64_t than, int timeout_ms);

/* GET_SLOTS + mmap: ranges for the checker, in slot order. */
int tvmm_map(struct kmig_vmmp_client *c, int prot, struct kmig_vmmp_memmap **m,
	     struct kmig_abcheck_range *r);
/* Checker ranges (with the memfds) of a mapped memmap. */
void tvmm_ranges(const struct kmig_vmmp_memmap *m, struct kmig_abcheck_range *r);
int tvmm_check(const struct kmig_vmmp_memmap *m, struct kmig_abcheck_report *rep);

void tvmm_sleep_ms(int ms);
/* Milliseconds on CLOCK_MONOTONIC. */
long tvmm_now_ms(void);

/* A kmig command run by the hostile-peer tests: how it ended and what it
 * cost (the fields /usr/bin/time -v reports). */
struct trun {
	pid_t pid;
	int status;		/* wait status; -1 if it had to be killed */
	long maxrss_kib;	/* peak resident memory */
	long ms;		/* wall time */
	char errfile[64];
	char err[4096];		/* its stderr */
};

/* Start build/kmig (or $KMIG) with @args (NULL-terminated), stdout to
 * /dev/null, stderr kept; it gets SIGKILL if the test dies. */
int tkmig_spawn(struct trun *r, const char *const *args);
/* Wait at most @timeout_ms (then SIGKILL, status -1); fills the rest. */
void tkmig_wait(struct trun *r, int timeout_ms);
/* Both, with @sig sent @sig_ms after the start when @sig != 0. */
int tkmig_run(struct trun *r, const char *const *args, int timeout_ms, int sig, int sig_ms);
/* It exited by itself with @code (not by a signal, not killed). */
int tkmig_exited(const struct trun *r, int code);
/* Open file descriptors of process @pid, or -1. */
int tvmm_count_fds(pid_t pid);

#endif
