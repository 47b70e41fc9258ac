// SPDX-License-Identifier: GPL-2.0
/*
 * kt_mig.c - a source and a destination kmig-vmm, kmig incoming and kmig
 * migrate as child processes (kt_mig.h), and the report fields.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmig_test.h"
#include "kt_mig.h"

#define KT_MIG_MAX_ARGS	40
#define READY_MS	120000	/* the source guest fills its memory (TCG: slow) */

/* Where the helper's programs are: next to the tests, or $KMIG_BIN_DIR. */
static const char *bin(const char *name, char *buf, size_t len)
{
	const char *dir = getenv("KMIG_BIN_DIR");

	snprintf(buf, len, "%s/%s", dir ? dir : ".", name);
	return buf;
}

/* argv = @prog @fixed... @extra... NULL */
static void build_argv(const char **argv, const char *prog, const char *const *fixed,
		       const char *const *extra)
{
	int n = 0;

	argv[n++] = prog;
	for (; fixed && *fixed; fixed++)
		argv[n++] = *fixed;
	for (; extra && *extra && n < KT_MIG_MAX_ARGS - 1; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
}

static const char *json_find(const char *json, const char *path)
{
	char key[96];
	const char *dot = strchr(path, '.'), *p = json;

	if (dot) {
		snprintf(key, sizeof(key), "\"%.*s\": ", (int)(dot - path), path);
		p = strstr(json, key);
		if (!p)
			return NULL;
		path = dot + 1;
	}
	snprintf(key, sizeof(key), "\"%s\": ", path);
	p = strstr(p, key);
	return p ? p + strlen(key) : NULL;
}

uint64_t kt_json_u64(const char *json, const char *path)
{
	const char *p = json_find(json, path);

	return p && *p >= '0' && *p <= '9' ? strtoull(p, NULL, 10) : UINT64_MAX;
}

bool kt_json_str(const char *json, const char *path, char *buf, size_t len)
{
	const char *p = json_find(json, path), *end;

	buf[0] = '\0';
	if (!p || *p != '"')
		return false;
	end = strchr(p + 1, '"');
	if (!end)
		return false;
	snprintf(buf, len, "%.*s", (int)(end - p - 1), p + 1);
	return true;
}

int kt_mig_kmig(struct kt_mig *m, const char *name, const char *const *args, int timeout_ms,
		char **out)
{
	const char *argv[KT_MIG_MAX_ARGS];
	char prog[128], log[160];
	struct kt_proc p;
	int st;

	snprintf(log, sizeof(log), "%s/%s.log", m->dir, name);
	build_argv(argv, bin("kmig", prog, sizeof(prog)), NULL, args);
	kt_proc_start(&p, log, argv, NULL);
	st = kt_proc_wait(&p, timeout_ms);
	*out = kt_file_read(log);
	return st;
}

int kt_mig_ctl(const char *sock, const char *const *cmd, char **out)
{
	const char *argv[KT_MIG_MAX_ARGS], *fixed[] = { sock, NULL };
	char prog[128], log[160];
	struct kt_proc p;
	int st;

	snprintf(log, sizeof(log), "%s.ctl.log", sock);
	build_argv(argv, bin("kmig-vmmctl", prog, sizeof(prog)), fixed, cmd);
	kt_proc_start(&p, log, argv, NULL);
	st = kt_proc_wait(&p, 120000);
	*out = kt_file_read(log);
	return st;
}

void kt_mig_query(const char *sock, const char *field, char *buf, size_t len)
{
	static const char *const cmd[] = { "query", NULL };
	char *out, *line, *save = NULL;

	buf[0] = '\0';
	if (kt_mig_ctl(sock, cmd, &out) == 0) {
		for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			size_t n = strlen(field);

			if (!strncmp(line, field, n) && line[n] == ' ')
				snprintf(buf, len, "%s", line + n + 1);
		}
	}
	free(out);
}

uint64_t kt_mig_progress(const char *sock)
{
	char v[32];

	kt_mig_query(sock, "pages_written", v, sizeof(v));
	return v[0] ? strtoull(v, NULL, 10) : 0;
}

static void start_vmm(struct kt_proc *p, const char *sock, const char *log, bool incoming,
		      const char *const *args)
{
	const char *argv[KT_MIG_MAX_ARGS];
	const char *fixed[] = { "--quiet", "--socket", sock, incoming ? "--incoming" : NULL, NULL };
	char prog[128];
	uint64_t end = kt_now_ns() + 20000000000ULL;

	build_argv(argv, bin("kmig-vmm", prog, sizeof(prog)), fixed, args);
	kt_proc_start(p, log, argv, NULL);
	while (access(sock, F_OK)) {
		KT_ASSERT(kt_now_ns() < end && kill(p->pid, 0) == 0,
			  "kmig-vmm %s did not start: %s", sock, kt_file_read(log));
		usleep(20000);
	}
}

void kt_mig_setup(struct kt_mig *m, const char *const *src_args, const char *const *dst_args)
{
	uint64_t end = kt_now_ns() + READY_MS * 1000000ULL;
	char log[160], v[16];

	memset(m, 0, sizeof(*m));
	snprintf(m->dir, sizeof(m->dir), "/tmp/kmig-mig.XXXXXX");
	KT_ASSERT(mkdtemp(m->dir), "mkdtemp: %s", strerror(errno));
	snprintf(m->src, sizeof(m->src), "%s/src.sock", m->dir);
	snprintf(m->dst, sizeof(m->dst), "%s/dst.sock", m->dir);
	snprintf(log, sizeof(log), "%s/src.log", m->dir);
	start_vmm(&m->src_vmm, m->src, log, false, src_args);
	snprintf(log, sizeof(log), "%s/dst.log", m->dir);
	start_vmm(&m->dst_vmm, m->dst, log, true, dst_args);
	for (;;) {
		kt_mig_query(m->src, "ready", v, sizeof(v));
		if (!strcmp(v, "yes"))
			break;
		KT_ASSERT(kt_now_ns() < end, "the source guest is not ready after %d s", READY_MS / 1000);
		usleep(100000);
	}
}

void kt_mig_teardown(struct kt_mig *m)
{
	char cmd[128];

	kt_proc_kill(&m->in);
	kt_proc_kill(&m->src_vmm);
	kt_proc_kill(&m->dst_vmm);
	if (m->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", m->dir);
		if (system(cmd))
			fprintf(stderr, "# could not remove %s\n", m->dir);
	}
}

void kt_mig_incoming(struct kt_mig *m, const char *const *args)
{
	const char *argv[KT_MIG_MAX_ARGS];
	char prog[128], log[160], portfile[160], *port;
	const char *fixed[] = { "incoming", "-q", "--vmm", m->dst, "--listen", "127.0.0.1:0",
				"-R", portfile, NULL };
	uint64_t end = kt_now_ns() + 20000000000ULL;

	snprintf(portfile, sizeof(portfile), "%s/port", m->dir);
	snprintf(log, sizeof(log), "%s/incoming.log", m->dir);
	unlink(portfile);
	build_argv(argv, bin("kmig", prog, sizeof(prog)), fixed, args);
	kt_proc_start(&m->in, log, argv, NULL);
	for (;;) {
		port = kt_file_read(portfile);
		if (port[0])
			break;
		free(port);
		KT_ASSERT(kt_now_ns() < end && kill(m->in.pid, 0) == 0,
			  "kmig incoming did not start: %s", kt_file_read(log));
		usleep(20000);
	}
	snprintf(m->port, sizeof(m->port), "%.*s", (int)strcspn(port, "\n"), port);
	free(port);
}

int kt_mig_migrate(struct kt_mig *m, const char *const *args, const char *env,
		   int timeout_ms, char **json, char **err)
{
	uint64_t cpu;

	return kt_mig_migrate_cpu(m, args, env, timeout_ms, json, err, &cpu);
}

int kt_mig_migrate_cpu(struct kt_mig *m, const char *const *args, const char *env,
		       int timeout_ms, char **json, char **err, uint64_t *cpu_ns)
{
	const char *argv[KT_MIG_MAX_ARGS];
	char prog[128], log[160], to[64], *out, *j;
	const char *fixed[] = { "migrate", "--json", "--vmm", m->src, "--to", to, NULL };
	struct kt_proc p;
	int st;

	snprintf(to, sizeof(to), "127.0.0.1:%s", m->port);
	snprintf(log, sizeof(log), "%s/migrate.log", m->dir);
	/* Fault-injection hooks are in the test build of kmig only. */
	build_argv(argv, bin(env && strstr(env, "KMIG_TEST_HOOK") ? "kmig-test" : "kmig", prog,
			     sizeof(prog)), fixed, args);
	kt_proc_start(&p, log, argv, env);
	st = kt_proc_wait(&p, timeout_ms);
	*cpu_ns = p.cpu_ns;
	out = kt_file_read(log);
	j = strstr(out, "{\"role\": \"migrate\"");
	*json = strndup(j ? j : "", j ? strcspn(j, "\n") : 0);
	KT_ASSERT(*json, "out of memory");
	*err = out;
	return st;
}
