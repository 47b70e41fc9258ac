// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_cli_test - the helper's `kmig stat` and `kmig monitor` against the
 * loaded module. The `kmig` binary is the one user/ builds, installed next
 * to the tests (or $KMIG_CLI).
 *
 * stat: a session does one harvest; `kmig stat --json` shows the session
 * with that count, the table shows it too.
 * monitor: `kmig monitor --json --count 2` prints a deferred stop's end
 * (the request the test made, done) and a session attach, then exits 0;
 * `--timeout` without events exits 0, with --count not reached exits 1;
 * SIGINT ends it with status 0.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"

static const char *t_cli(void)
{
	const char *p = getenv("KMIG_CLI");

	return p ? p : "./kmig";
}

struct t_proc {
	pid_t pid;
	int fd;		/* stdout and stderr */
	char out[65536];
	size_t len;
};

static void t_spawn(struct t_proc *p, const char *const *args)
{
	int pfd[2];
	char *argv[16];
	int n = 0;

	argv[n++] = (char *)t_cli();
	while (*args && n < 15)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	KT_ASSERT(!pipe(pfd), "pipe");
	p->pid = fork();
	KT_ASSERT(p->pid >= 0, "fork");
	if (!p->pid) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	p->fd = pfd[0];
	p->len = 0;
	p->out[0] = 0;
}

/* Reads until @needle shows up (true) or the output ends (false). */
static bool t_read_until(struct t_proc *p, const char *needle)
{
	while (!strstr(p->out, needle)) {
		ssize_t n = read(p->fd, p->out + p->len, sizeof(p->out) - 1 - p->len);

		if (n <= 0)
			return false;
		p->len += n;
		p->out[p->len] = 0;
	}
	return true;
}

/* Reads to the end; returns the exit status (or 128 + signal). */
static int t_wait(struct t_proc *p)
{
	int st;

	t_read_until(p, "\x01never");
	close(p->fd);
	waitpid(p->pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int t_run(const char *const *args, struct t_proc *p)
{
	t_spawn(p, args);
	return t_wait(p);
}

FIXTURE(cli) {
	struct kt_dvm d;
	int kfd;
	uint64_t bm[KT_WORDS(2048)];
};

FIXTURE_SETUP(cli)
{
	ASSERT_EQ(0, access(t_cli(), X_OK)) TH_LOG("%s: %s", t_cli(), strerror(errno));
	kt_dvm_create(&self->d, false);
	self->kfd = kmig_open();
	kmig_attach(self->kfd, self->d.vm.fd, NULL);
}

FIXTURE_TEARDOWN(cli)
{
	close(self->kfd);
	kt_dvm_destroy(&self->d);
}

/* The id of the session that just appeared, from `kmig stat --json`. */
static uint64_t t_last_session(const char *json)
{
	const char *p = json;
	uint64_t id = 0;

	while ((p = strstr(p, "{\"id\":"))) {
		uint64_t v = strtoull(p + 6, NULL, 10);

		/* Sessions come in id order; pending stops have "session_id". */
		if (strstr(p, ",\"pid\":") == strchr(p, ',') )
			id = v;
		p += 6;
	}
	return id;
}

TEST_F(cli, stat)
{
	struct kmig_harvest_entry e = {
		.slot = self->d.slot[0], .num_pages = self->d.npages[0],
		.dirty_bitmap = (uintptr_t)self->bm,
	};
	struct kmig_harvest h = {
		.size = sizeof(h), .nr_entries = 1, .entry_size = sizeof(e),
		.entries = (uintptr_t)&e,
	};
	const char *json_args[] = { "stat", "--json", NULL }, *args[] = { "stat", NULL };
	struct t_proc p;
	char want[128], *s;
	uint64_t id;

	ASSERT_EQ(0, __kmig_harvest(self->kfd, &h));
	ASSERT_EQ(0, t_run(json_args, &p)) TH_LOG("%s", p.out);
	ASSERT_NE(NULL, strstr(p.out, "\"sessions_open\":")) TH_LOG("%s", p.out);
	id = t_last_session(p.out);
	ASSERT_NE(0, id) TH_LOG("%s", p.out);
	snprintf(want, sizeof(want), "{\"id\":%llu,\"pid\":%d,\"vm_pid\":%d,",
		 (unsigned long long)id, getpid(), getpid());
	s = strstr(p.out, want);
	ASSERT_NE(NULL, s) TH_LOG("no %s in %s", want, p.out);
	ASSERT_NE(NULL, strstr(s, "\"harvest_calls\":1,")) TH_LOG("%s", s);
	ASSERT_NE(NULL, strstr(s, "\"harvest_pages\":2048,")) TH_LOG("%s", s);

	ASSERT_EQ(0, t_run(args, &p)) TH_LOG("%s", p.out);
	snprintf(want, sizeof(want), "session %llu", (unsigned long long)id);
	EXPECT_NE(NULL, strstr(p.out, want)) TH_LOG("%s", p.out);
	EXPECT_NE(NULL, strstr(p.out, "harvest_calls")) TH_LOG("%s", p.out);
	EXPECT_NE(NULL, strstr(p.out, "pending deferred stops: 0")) TH_LOG("%s", p.out);
}

TEST_F(cli, monitor)
{
	const char *args[] = { "monitor", "--json", "--count", "2", "--timeout", "30", NULL };
	struct kmig_log_stop a = {
		.size = sizeof(a), .flags = KMIG_LOG_STOP_F_NOW, .nr_slots = KT_DSLOTS,
		.slots = (uintptr_t)self->d.slot,
	};
	struct t_proc p;
	char want[128];
	int fd;

	t_spawn(&p, args);
	ASSERT_TRUE(t_read_until(&p, "listening")) TH_LOG("%s", p.out);
	ASSERT_EQ(0, __kmig_log_stop(self->kfd, &a));
	snprintf(want, sizeof(want), "{\"event\":\"stop\",\"id\":%llu,", (unsigned long long)a.id);
	ASSERT_TRUE(t_read_until(&p, want)) TH_LOG("%s", p.out);
	fd = kmig_open();
	kmig_attach(fd, self->d.vm.fd, NULL);
	ASSERT_EQ(0, t_wait(&p)) TH_LOG("%s", p.out);
	close(fd);
	EXPECT_NE(NULL, strstr(p.out, "\"state\":\"done\",\"now\":true,\"slots\":3,\"done\":3"))
		TH_LOG("%s", p.out);
	EXPECT_NE(NULL, strstr(p.out, "\"slot_results\":[{\"slot\":1,\"result\":\"done\""))
		TH_LOG("%s", p.out);
	EXPECT_NE(NULL, strstr(p.out, "{\"event\":\"session\",\"what\":\"attached\""))
		TH_LOG("%s", p.out);
}

TEST_F(cli, monitor_ends)
{
	const char *quiet[] = { "monitor", "--timeout", "1", NULL };
	const char *count[] = { "monitor", "--count", "1", "--timeout", "1", NULL };
	const char *forever[] = { "monitor", NULL };
	const char *bad[] = { "monitor", "--count", "0", NULL };
	struct t_proc p;

	EXPECT_EQ(0, t_run(quiet, &p)) TH_LOG("%s", p.out);
	EXPECT_EQ(1, t_run(count, &p)) TH_LOG("%s", p.out);
	EXPECT_NE(NULL, strstr(p.out, "timeout after 1 s: 0 of 1 events")) TH_LOG("%s", p.out);
	EXPECT_EQ(2, t_run(bad, &p)) TH_LOG("%s", p.out);
	t_spawn(&p, forever);
	ASSERT_TRUE(t_read_until(&p, "listening")) TH_LOG("%s", p.out);
	kill(p.pid, SIGINT);
	EXPECT_EQ(0, t_wait(&p)) TH_LOG("%s", p.out);
}

KT_HARNESS_MAIN
