// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile and broken peers on the VMM protocol (issue 15).
 *
 * Helper side: a VMM that never answers (a listening socket nobody
 * reads), one whose listen backlog is full, one that answers late, one
 * that passes memfds it can shrink; each against the library and the
 * real kmig commands (restore, save, migrate, incoming): every wait ends
 * within its bound or promptly after SIGTERM, an unsealed memfd is
 * refused before it is mapped.
 *
 * VMM side, against a real kmig-vmm: a silent client, one trickling
 * one-byte messages, one flooding requests without reading replies; none
 * may hold the VMM's only session past --client-timeout, and kmig-vmm
 * passes memfds nobody can shrink.
 *
 * The fake VMMs speak the protocol by hand (kmig_vmmp_msg_send/recv):
 * the server library would refuse the unsealed memfds they pass.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tutil.h"

static int listen_at(const char *path, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, backlog))
		return -1;
	return fd;
}

static int connect_to(const char *path, int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | flags, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

/* ---- a fake VMM, written by hand ------------------------------------- */

enum fake_ram {
	RAM_UNSEALED,		/* a memfd that allows seals but has none */
	RAM_FILE,		/* a regular file: takes no seals at all */
};

struct fake {
	enum fake_ram ram;
	int query_delay_ms;	/* QUERY answered this late */
	pid_t pid;
	int shrink_fd;		/* passed RAM, shrunk at the next request */
};

static int ram_fd(enum fake_ram kind)
{
	char path[] = "/tmp/kmig-fake-ram.XXXXXX";
	int fd;

	if (kind == RAM_UNSEALED) {
		fd = memfd_create("fake-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	} else {
		fd = mkstemp(path);
		unlink(path);
	}
	if (fd < 0 || ftruncate(fd, 1 << 20))
		return -1;
	return fd;
}

static int sealed_memfd(size_t size)
{
	int fd = memfd_create("fake", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, size) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK))
		return -1;
	return fd;
}

static int fake_reply(int conn, const struct kmig_vmmp_hdr *q, const void *p, uint32_t len,
		      const int *fds, int nr_fds)
{
	static uint8_t buf[KMIG_VMMP_MAX_MSG];
	struct kmig_vmmp_hdr h = {
		.magic = KMIG_VMMP_MAGIC, .type = q->type, .flags = KMIG_VMMP_HDR_F_REPLY,
		.seq = q->seq,
	};
	struct kmig_vmmp_reply st = { 0 };

	h.len = sizeof(h) + sizeof(st) + len;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &st, sizeof(st));
	if (len)
		memcpy(buf + sizeof(h) + sizeof(st), p, len);
	return kmig_vmmp_msg_send(conn, buf, h.len, fds, nr_fds);
}

/* GET_SLOTS: one 1 MiB slot, of RAM to be shrunk at the next request. */
static int fake_slots(int conn, const struct kmig_vmmp_hdr *q, struct fake *f)
{
	struct {
		struct kmig_vmmp_slots_reply h;
		struct kmig_vmmp_slot_desc d;
	} r = {
		.h = { .nr_slots = 1, .nr_memfds = 1, .bitmap_size = 4096 },
		.d = { .slot = 0, .memfd = 0, .gpa = 0, .size = 1 << 20 },
	};
	int fds[3] = { sealed_memfd(4096), sealed_memfd(4096), ram_fd(f->ram) };
	int ret = fake_reply(conn, q, &r, sizeof(r), fds, 3);

	close(fds[0]);
	close(fds[1]);
	f->shrink_fd = fds[2];
	return ret;
}

static void fake_session(int conn, struct fake *f)
{
	static struct kmig_vmmp_msg m;
	struct kmig_vmmp_hello_reply hello = {
		.version = 1, .ops = 0x7ffe, .nr_vcpus = 1, .nr_slots = 1, .page_size = 4096,
		.max_msg = KMIG_VMMP_MAX_MSG,
		.vm_flags = KMIG_VMMP_VM_F_MANUAL_PROTECT | KMIG_VMMP_VM_F_INCOMING,
		.name = "fake",
	};
	struct kmig_vmmp_status st = { .state = KMIG_VMMP_STATE_RUNNING, .nr_vcpus = 1 };

	while (!kmig_vmmp_msg_recv(conn, &m)) {
		const struct kmig_vmmp_hdr *q = &m.buf.hdr;
		int ret = 0;

		kmig_vmmp_msg_drop_fds(&m);
		if (m.len < sizeof(*q))
			break;
		/* What a hostile VMM does once the helper holds the mapping. */
		if (f->shrink_fd >= 0 && q->type != KMIG_VMMP_GET_SLOTS) {
			if (ftruncate(f->shrink_fd, 0))
				break;
			close(f->shrink_fd);
			f->shrink_fd = -1;
		}
		switch (q->type) {
		case KMIG_VMMP_HELLO: ret = fake_reply(conn, q, &hello, sizeof(hello), NULL, 0); break;
		case KMIG_VMMP_GET_SLOTS: ret = fake_slots(conn, q, f); break;
		case KMIG_VMMP_QUERY:
			tvmm_sleep_ms(f->query_delay_ms);
			ret = fake_reply(conn, q, &st, sizeof(st), NULL, 0);
			break;
		default: ret = fake_reply(conn, q, NULL, 0, NULL, 0); break;
		}
		if (ret)
			break;
	}
}

/* Serve sessions one after the other on @path until killed. */
static int fake_start(struct fake *f, const char *path)
{
	int lfd = listen_at(path, 4);

	if (lfd < 0)
		return -errno;
	f->pid = fork();
	if (f->pid < 0)
		return -errno;
	if (!f->pid) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		f->shrink_fd = -1;
		for (;;) {
			int conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

			if (conn >= 0) {
				fake_session(conn, f);
				close(conn);
			}
		}
	}
	close(lfd);
	return 0;
}

static void fake_stop(struct fake *f)
{
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
}

/* ---- fixture: a directory for sockets and files ---------------------- */

FIXTURE(vmmp) {
	char dir[64];
	char sock[128];
	char file[128];
};

FIXTURE_SETUP(vmmp)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/kmig-hostile-vmmp.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->sock, sizeof(self->sock), "%s/vmm.sock", self->dir);
	snprintf(self->file, sizeof(self->file), "%s/x.snap", self->dir);
}

FIXTURE_TEARDOWN(vmmp)
{
	unlink(self->sock);
	unlink(self->file);
	rmdir(self->dir);
}

static void log_run(struct __test_metadata *_metadata, const char *what, const struct trun *r)
{
	TH_LOG("%s: status 0x%x after %ld ms: %s", what, r->status, r->ms, r->err);
}

/* Command @i of the four that talk to a VMM, at @sock, in @argv. */
static void command(int i, const char *sock, const char *file, const char *timeout,
		    const char **argv)
{
	static const char *const name[4] = { "restore", "save", "migrate", "incoming" };
	int n = 0;

	argv[n++] = name[i];
	argv[n++] = "-q";
	argv[n++] = "--vmm";
	argv[n++] = sock;
	argv[n++] = i < 2 ? "--file" : i == 2 ? "--to" : "--listen";
	argv[n++] = i < 2 ? file : i == 2 ? "127.0.0.1:9" : "127.0.0.1:0";
	if (timeout) {
		argv[n++] = "--vmm-timeout";
		argv[n++] = timeout;
	}
	argv[n] = NULL;
}

/* Connections the silent VMM never accepted: gone, so the backlog has room. */
static void drain(int lfd)
{
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		close(fd);
}

/* A VMM that never answers HELLO: every command gives up at its bound. */
TEST_F(vmmp, never_answers_timeout)
{
	int lfd = listen_at(self->sock, 4);
	const char *argv[12];
	struct trun r;

	ASSERT_GE(lfd, 0);
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	for (int i = 0; i < 4; i++) {
		command(i, self->sock, self->file, "1", argv);
		ASSERT_EQ(0, tkmig_run(&r, argv, 15000, 0, 0));
		log_run(_metadata, argv[0], &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_NE(NULL, strstr(r.err, "HELLO: timed out after 1000 ms"));
		EXPECT_LT(r.ms, 5000);
		EXPECT_NE(0, access(self->file, F_OK));	/* save left no file */
		drain(lfd);
	}
	close(lfd);
}

/* ... and SIGTERM ends every one of them promptly, with a clean exit. */
TEST_F(vmmp, never_answers_sigterm)
{
	int lfd = listen_at(self->sock, 4);
	const char *argv[12];
	struct trun r;

	ASSERT_GE(lfd, 0);
	ASSERT_EQ(0, fcntl(lfd, F_SETFL, O_NONBLOCK));
	for (int i = 0; i < 4; i++) {
		command(i, self->sock, self->file, NULL, argv);
		ASSERT_EQ(0, tkmig_run(&r, argv, 15000, SIGTERM, 500));
		log_run(_metadata, argv[0], &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_LT(r.ms, 3500);	/* 0.5 s + the 1 s grace + slack */
		drain(lfd);
	}
	close(lfd);
}

/* A full listen backlog: connect() would wait; it is bounded too. */
TEST_F(vmmp, backlog_full)
{
	const char *argv[] = { "restore", "-q", "--vmm", self->sock, "--file", self->file,
			       "--vmm-timeout", "1", NULL };
	int lfd = listen_at(self->sock, 0), fills[8], n = 0;
	struct trun r;

	ASSERT_GE(lfd, 0);
	while (n < 8 && (fills[n] = connect_to(self->sock, SOCK_NONBLOCK)) >= 0)
		n++;
	ASSERT_LT(n, 8);	/* the backlog is full now */
	ASSERT_EQ(0, tkmig_run(&r, argv, 15000, 0, 0));
	log_run(_metadata, "restore", &r);
	EXPECT_TRUE(tkmig_exited(&r, 1));
	EXPECT_NE(NULL, strstr(r.err, "did not accept within 1000 ms"));
	EXPECT_LT(r.ms, 5000);
	while (n--)
		close(fills[n]);
	close(lfd);
}

static int cancel_after;	/* tvmm_now_ms() at which the cancel comes */

static int cancelled_at(void *arg)
{
	return tvmm_now_ms() >= cancel_after;
}

/*
 * The library's cancel: a wait in progress gives up 1 s after it; a
 * request begun after it gets the whole timeout (the clean-up of a
 * cancelled migration must still reach a slow VMM).
 */
TEST_F(vmmp, cancel_grace)
{
	struct kmig_vmmp_client_opts o = { .name = "t", .timeout_ms = 20000,
					   .cancelled = cancelled_at };
	struct fake f = { .ram = RAM_UNSEALED, .query_delay_ms = 1500 };
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_status st;
	int lfd = listen_at(self->sock, 4);
	long t0;

	ASSERT_GE(lfd, 0);
	cancel_after = tvmm_now_ms() + 300;
	t0 = tvmm_now_ms();
	EXPECT_EQ(-ECANCELED, kmig_vmmp_connect_opts(self->sock, &o, &c));
	EXPECT_LT(tvmm_now_ms() - t0, 2500);
	EXPECT_GE(tvmm_now_ms() - t0, 1200);
	close(lfd);
	unlink(self->sock);

	ASSERT_EQ(0, fake_start(&f, self->sock));
	cancel_after = tvmm_now_ms() + 100000;
	ASSERT_EQ(0, kmig_vmmp_connect_opts(self->sock, &o, &c));
	/* The cancel came before this request: its 1.5 s answer arrives. */
	cancel_after = tvmm_now_ms();
	EXPECT_EQ(0, kmig_vmmp_query(c, &st));
	kmig_vmmp_client_close(c);
	/* A cancel during a 3 s answer: given up 1 s later, session over. */
	f.query_delay_ms = 3000;
	fake_stop(&f);
	unlink(self->sock);
	ASSERT_EQ(0, fake_start(&f, self->sock));
	cancel_after = tvmm_now_ms() + 100000;
	ASSERT_EQ(0, kmig_vmmp_connect_opts(self->sock, &o, &c));
	cancel_after = tvmm_now_ms() + 200;
	t0 = tvmm_now_ms();
	EXPECT_EQ(-ECANCELED, kmig_vmmp_query(c, &st));
	EXPECT_LT(tvmm_now_ms() - t0, 2000);
	TH_LOG("%s", kmig_vmmp_last_error(c));
	EXPECT_EQ(-ECANCELED, kmig_vmmp_query(c, &st));
	EXPECT_NE(NULL, strstr(kmig_vmmp_last_error(c), "the session is over"));
	kmig_vmmp_client_close(c);
	fake_stop(&f);
}

/*
 * A VMM that passes memfds it can still shrink (and does, right after
 * GET_SLOTS): refused before anything is mapped, by the library and by
 * the commands (before: the next access to the mapping was a SIGBUS).
 */
TEST_F(vmmp, unsealed_memfd)
{
	static const enum fake_ram kinds[] = { RAM_UNSEALED, RAM_FILE };
	static const char *const texts[] = { "not sealed against shrinking",
					     "takes no seals, it is no memfd" };

	for (int k = 0; k < 2; k++) {
		const char *rest[] = { "restore", "-q", "--vmm", self->sock, "--file",
				       self->file, NULL };
		const char *in[] = { "incoming", "-q", "--vmm", self->sock, "--listen",
				     "127.0.0.1:0", NULL };
		struct fake f = { .ram = kinds[k] };
		struct kmig_vmmp_memmap *m = NULL;
		struct kmig_vmmp_client *c;
		struct trun r;
		int ret;

		ASSERT_EQ(0, fake_start(&f, self->sock));
		ASSERT_EQ(0, kmig_vmmp_connect(self->sock, "t", &c));
		ret = kmig_vmmp_get_slots(c, &m);
		TH_LOG("GET_SLOTS: %d %s", ret, kmig_vmmp_last_error(c));
		EXPECT_EQ(-EPROTO, ret);
		EXPECT_NE(NULL, strstr(kmig_vmmp_last_error(c), texts[k]));
		if (!ret) {
			/* What the helper then does: the VMM shrinks the RAM at
			 * the next request, the helper writes guest memory. */
			ASSERT_EQ(0, kmig_vmmp_memmap_map(m, PROT_READ | PROT_WRITE));
			kmig_vmmp_dirty_log_start(c, NULL, 0);
			memset(m->slots[0].host, 1, m->slots[0].size);
			kmig_vmmp_memmap_free(m);
		}
		kmig_vmmp_client_close(c);
		ASSERT_EQ(0, tkmig_run(&r, rest, 15000, 0, 0));
		log_run(_metadata, "restore", &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_NE(NULL, strstr(r.err, texts[k]));
		ASSERT_EQ(0, tkmig_run(&r, in, 15000, 0, 0));
		log_run(_metadata, "incoming", &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_NE(NULL, strstr(r.err, texts[k]));
		fake_stop(&f);
		unlink(self->sock);
	}
}

/* ---- against a real kmig-vmm ----------------------------------------- */

FIXTURE(realvmm) {
	struct tvmm t;
};

FIXTURE_SETUP(realvmm)
{
	static const char *const args[] = { "--mem", "32M", "--client-timeout", "1", NULL };
	struct kmig_vmmp_client *c;

	ASSERT_EQ(0, tvmm_start(&self->t, args));
	ASSERT_EQ(0, tvmm_connect(&self->t, &c));
	kmig_vmmp_client_close(c);
}

FIXTURE_TEARDOWN(realvmm)
{
	long t0 = tvmm_now_ms();

	/* SIGTERM ends it promptly, whatever a client left behind. */
	EXPECT_EQ(0, tvmm_stop(&self->t));
	EXPECT_LT(tvmm_now_ms() - t0, 3000);
}

/* A helper gets the session within the bound after a bad client took it. */
static void helper_gets_in(struct __test_metadata *_metadata, const struct tvmm *t, long t0)
{
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_status st;

	ASSERT_EQ(0, tvmm_connect(t, &c));
	EXPECT_EQ(0, kmig_vmmp_query(c, &st));
	TH_LOG("the helper was served %ld ms after the bad client came", tvmm_now_ms() - t0);
	EXPECT_LT(tvmm_now_ms() - t0, 4000);
	kmig_vmmp_client_close(c);
}

TEST_F(realvmm, silent_client)
{
	int fd = connect_to(self->t.sock, 0);
	long t0 = tvmm_now_ms();
	char b;

	ASSERT_GE(fd, 0);
	helper_gets_in(_metadata, &self->t, t0);
	EXPECT_EQ(0, recv(fd, &b, 1, MSG_DONTWAIT));	/* closed by the VMM */
	close(fd);
}

/* One-byte messages, each answered (EBADMSG), never a HELLO. */
TEST_F(realvmm, trickling_client)
{
	int fd = connect_to(self->t.sock, 0), sent = 0;
	long t0 = tvmm_now_ms();
	static struct kmig_vmmp_msg m;

	ASSERT_GE(fd, 0);
	while (tvmm_now_ms() - t0 < 5000) {
		char b = 'K';

		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1)
			break;
		sent++;
		if (kmig_vmmp_msg_recv(fd, &m))
			break;		/* the VMM hung up */
		tvmm_sleep_ms(100);
	}
	TH_LOG("%d one-byte messages, closed after %ld ms", sent, tvmm_now_ms() - t0);
	EXPECT_LT(tvmm_now_ms() - t0, 3000);
	close(fd);
	helper_gets_in(_metadata, &self->t, t0);
}

/* HELLO, then requests whose replies are never read. */
TEST_F(realvmm, flooding_client)
{
	struct kmig_vmmp_client *c;
	int fd = connect_to(self->t.sock, 0), sent = 0;
	long t0;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, kmig_vmmp_client_open(fd, "flood", &c));	/* HELLO read */
	fd = kmig_vmmp_client_fd(c);
	t0 = tvmm_now_ms();
	for (uint32_t seq = 100; tvmm_now_ms() - t0 < 2000; seq++) {
		struct {
			struct kmig_vmmp_hdr h;
			struct kmig_vmmp_simple q;
		} r = { { KMIG_VMMP_MAGIC, KMIG_VMMP_QUERY, 0, sizeof(r), seq }, { 0 } };

		if (send(fd, &r, sizeof(r), MSG_NOSIGNAL | MSG_DONTWAIT) == sizeof(r))
			sent++;
		else if (errno == EAGAIN)
			tvmm_sleep_ms(10);
		else
			break;		/* the VMM hung up */
	}
	TH_LOG("%d requests sent, none of their replies read", sent);
	helper_gets_in(_metadata, &self->t, t0);
	kmig_vmmp_client_close(c);
}

/* The socket is owner-only; widened, it still refuses another user
 * (SO_PEERCRED) before HELLO. */
TEST_F(realvmm, other_user_refused)
{
	struct kmig_vmmp_client *c;
	char dir[sizeof(self->t.sock)];
	struct stat st, dst;
	int status;
	pid_t pid;

	ASSERT_EQ(0, stat(self->t.sock, &st));
	EXPECT_EQ(0, st.st_mode & 077);
	if (geteuid() != 0)
		SKIP(return, "needs root to connect as another user");
	/* Let the other user reach the socket, and connect to it. */
	snprintf(dir, sizeof(dir), "%s", self->t.sock);
	*strrchr(dir, '/') = '\0';
	ASSERT_EQ(0, stat(dir, &dst));
	ASSERT_EQ(0, chmod(dir, 0711));
	ASSERT_EQ(0, chmod(self->t.sock, 0666));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = connect_to(self->t.sock, 0);
		_exit(fd < 0 ? 3 : kmig_vmmp_client_open(fd, "other", &c) ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("the other user's client: status %#x (1: served)", status);
	chmod(self->t.sock, 0600);
	chmod(dir, dst.st_mode & 07777);
	helper_gets_in(_metadata, &self->t, tvmm_now_ms());
}

/* kmig-vmm's memfds cannot shrink: the seal is there, ftruncate fails. */
TEST_F(realvmm, memfds_sealed)
{
	struct kmig_vmmp_memmap *m;
	struct kmig_vmmp_client *c;

	ASSERT_EQ(0, tvmm_connect(&self->t, &c));
	ASSERT_EQ(0, kmig_vmmp_get_slots(c, &m));
	for (uint32_t i = 0; i < m->nr_memfds; i++) {
		int seals = fcntl(m->memfds[i], F_GET_SEALS);

		EXPECT_TRUE(seals >= 0 && (seals & F_SEAL_SHRINK));
		EXPECT_EQ(-1, ftruncate(m->memfds[i], 0));
		EXPECT_EQ(EPERM, errno);
	}
	kmig_vmmp_memmap_free(m);
	kmig_vmmp_client_close(c);
}

TEST_HARNESS_MAIN
