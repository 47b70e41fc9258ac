/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kt_mig.h - live migrations on the VM test host, for the migration test
 * and benchmark: the helper's programs (kmig, kmig-vmm, kmig-vmmctl,
 * kguest.elf) are installed next to the test programs and run as child
 * processes, their output in files of a per-run directory under /tmp.
 *
 *   source kmig-vmm (kguest running) <-unix-> kmig migrate ==TCP lo==>
 *       kmig incoming <-unix-> destination kmig-vmm --incoming
 *
 * Failures assert (KT_ASSERT) with what the child printed.
 */
#ifndef KT_MIG_H
#define KT_MIG_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- child processes (kt_proc.c) ---- */

struct kt_proc {
	pid_t pid;		/* 0: not running (never started or reaped) */
	char log[160];		/* its stdout and stderr */
	uint64_t cpu_ns;	/* user + system CPU time, once reaped */
};

/* Starts @argv (argv[0] a path) with its output in @log; @env
 * ("NAME=VALUE") is added to the environment unless NULL. */
void kt_proc_start(struct kt_proc *p, const char *log, const char *const *argv,
		   const char *env);
/* Its exit status, 128 + signal, or -1 after @timeout_ms (then killed). */
int kt_proc_wait(struct kt_proc *p, int timeout_ms);
/* SIGKILL and reap, if still running. */
void kt_proc_kill(struct kt_proc *p);
/* A whole file (read to its end: /proc files too), NUL-terminated,
 * malloc'd; "" if it cannot be read. */
char *kt_file_read(const char *path);

/* ---- reports (kt_mig.c) ---- */

/*
 * The value of "@path" in a JSON report: "key" (the first one) or
 * "object.key" (the first key after the object's name). Numbers as
 * uint64_t (UINT64_MAX if absent); strings copied into @buf ("" and false
 * if absent).
 */
uint64_t kt_json_u64(const char *json, const char *path);
bool kt_json_str(const char *json, const char *path, char *buf, size_t len);

/* ---- a source and a destination VMM (kt_mig.c) ---- */

struct kt_mig {
	char dir[64];		/* per-run directory (sockets, logs, reports) */
	char src[96], dst[96];	/* the VMMs' protocol sockets */
	struct kt_proc src_vmm, dst_vmm, in;
	char port[16];		/* kmig incoming's port */
};

/*
 * A running source guest (kmig-vmm @src_args: --mem, --ab, --rate, ...)
 * that has filled its memory, and a destination VMM waiting for it with
 * the same memory layout (@dst_args). Loopback is brought up.
 */
void kt_mig_setup(struct kt_mig *m, const char *const *src_args, const char *const *dst_args);
/* Kills what is still running, removes the directory. */
void kt_mig_teardown(struct kt_mig *m);
/* `kmig incoming` on 127.0.0.1 for the destination VMM (@args extra). */
void kt_mig_incoming(struct kt_mig *m, const char *const *args);
/*
 * `kmig migrate --json` from the source to the incoming (@args extra,
 * @env e.g. a test hook), bounded by @timeout_ms: its exit status, the
 * report (malloc'd) in *json and what it printed on stderr in *err.
 */
int kt_mig_migrate(struct kt_mig *m, const char *const *args, const char *env,
		   int timeout_ms, char **json, char **err);
/* The same, also the CPU time kmig migrate used (all its threads, user +
 * system: the module's harvest and zero scans run in its ioctls). */
int kt_mig_migrate_cpu(struct kt_mig *m, const char *const *args, const char *env,
		       int timeout_ms, char **json, char **err, uint64_t *cpu_ns);
/* `kmig @args...` (e.g. save, restore), output in @m's directory as
 * @name.log: exit status, output (malloc'd) in *out. */
int kt_mig_kmig(struct kt_mig *m, const char *name, const char *const *args, int timeout_ms,
		char **out);
/* `kmig-vmmctl SOCKET CMD...`: exit status, output (malloc'd) in *out. */
int kt_mig_ctl(const char *sock, const char *const *cmd, char **out);
/* One field of `kmig-vmmctl SOCKET query` ("state", "dirty_log", ...). */
void kt_mig_query(const char *sock, const char *field, char *buf, size_t len);
/* The a-b pages the guest wrote (query's pages_written). */
uint64_t kt_mig_progress(const char *sock);

#endif /* KT_MIG_H */
