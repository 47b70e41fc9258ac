// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket of a running `kmig migrate --control PATH`: a unix
 * stream socket that takes one request line per connection ("cancel" or
 * "status") and answers with text, then closes. `kmig migrate-cancel PATH`
 * and `kmig migrate-status PATH` are its clients.
 *
 * It can cancel the migration and read its state, so, like the VMM
 * protocol socket, it is its owner's (Documentation/security.rst): created
 * owner-only, and a peer of another uid (root excepted) is refused by
 * SO_PEERCRED even if the socket's mode was widened.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "base/net.h"

#define REQ_MAX 64

static int unix_addr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/* The peer's uid as the kernel saw it at connect(): ours or root's. */
static bool peer_allowed(int fd, unsigned int *uid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len))
		return false;
	*uid = uc.uid;
	return uc.uid == geteuid() || uc.uid == 0;
}

/* One request line (bounded, with a deadline), one reply. */
static void serve_one(struct cli_ctl *c, int fd)
{
	char req[REQ_MAX + 1];
	size_t len = 0, rlen = 0;
	char *reply = NULL;
	unsigned int uid = -1;
	FILE *f;

	kmig_net_set_timeout(fd, 2000);
	while (len < REQ_MAX) {
		ssize_t n = recv(fd, req + len, REQ_MAX - len, 0);

		if (n <= 0)
			break;
		len += n;
		if (memchr(req, '\n', len))
			break;
	}
	req[len] = '\0';
	req[strcspn(req, "\r\n")] = '\0';
	/* Refused after its request was read: the client's write succeeds
	 * and it reads why. */
	if (!peer_allowed(fd, &uid)) {
		char msg[96];

		snprintf(msg, sizeof(msg), "error: uid %d may not control this migration "
			 "(its owner and root may)\n", (int)uid);
		kmig_net_write_full(fd, msg, strlen(msg));
		return;
	}
	f = open_memstream(&reply, &rlen);
	if (!f)
		return;
	c->handle(c->obj, req, f);
	if (!fclose(f))
		kmig_net_write_full(fd, reply, rlen);
	free(reply);
}

static void *ctl_main(void *arg)
{
	struct cli_ctl *c = arg;
	struct pollfd p[2] = { { .fd = c->lfd, .events = POLLIN },
			       { .fd = c->stop_fd, .events = POLLIN } };

	for (;;) {
		int fd;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (!p[0].revents)
			continue;
		fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		serve_one(c, fd);
		close(fd);
	}
	return NULL;
}

int cli_ctl_start(struct cli_ctl *c, const char *path,
		  void (*handle)(void *obj, const char *req, FILE *reply), void *obj)
{
	struct sockaddr_un sa;
	struct stat st;
	int ret = unix_addr(path, &sa);
	mode_t mask;

	if (ret)
		return ret;
	c->handle = handle;
	c->obj = obj;
	snprintf(c->path, sizeof(c->path), "%s", path);
	/* A stale socket from an earlier run is replaced, nothing else. */
	if (!lstat(path, &st) && S_ISSOCK(st.st_mode))
		unlink(path);
	c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (c->lfd < 0 || c->stop_fd < 0)
		ret = -errno;
	/* Owner-only from its creation: bind() gives the file the umask's
	 * mode (as kmig-vmm creates its VMM socket). */
	mask = umask(077);
	if (!ret && bind(c->lfd, (struct sockaddr *)&sa, sizeof(sa)))
		ret = -errno;
	umask(mask);
	if (!ret && listen(c->lfd, 4))
		ret = -errno;
	if (!ret)
		ret = -pthread_create(&c->thread, NULL, ctl_main, c);
	if (!ret) {
		c->started = true;
		return 0;
	}
	if (c->lfd >= 0)
		close(c->lfd);
	if (c->stop_fd >= 0)
		close(c->stop_fd);
	return ret;
}

void cli_ctl_stop(struct cli_ctl *c)
{
	uint64_t one = 1;

	if (!c->started)
		return;
	if (write(c->stop_fd, &one, sizeof(one)) != sizeof(one))
		return;		/* cannot happen with an eventfd; don't hang in join */
	pthread_join(c->thread, NULL);
	close(c->lfd);
	close(c->stop_fd);
	unlink(c->path);
	c->started = false;
}

/* Send @req, print the answer on stdout; 0 when it starts with "ok" or
 * "{" (status JSON). */
static int request(const char *cmd, const char *path, const char *req)
{
	struct sockaddr_un sa;
	char buf[4096];
	bool ok = false, first = true;
	int fd, ret = unix_addr(path, &sa);
	ssize_t n;

	if (ret)
		return cli_err(cmd, "control socket", path, ret, NULL);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		return cli_err(cmd, "connect to", path, ret, "is kmig migrate --control running?");
	}
	kmig_net_set_timeout(fd, 10000);
	ret = kmig_net_write_full(fd, req, strlen(req));
	while (!ret && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		if (first)
			ok = !strncmp(buf, "ok", 2) || buf[0] == '{';
		first = false;
		fwrite(buf, 1, n, stdout);
	}
	close(fd);
	if (ret)
		return cli_err(cmd, "request to", path, ret, NULL);
	return ok ? 0 : 1;
}

static const struct cli_opt no_options[] = { { 0 } };

static const struct cli_opts cancel_cmd = {
	.cmd = "migrate-cancel", .usage = "CONTROL_SOCKET", .opt = no_options,
	.about = "  cancel the kmig migrate started with --control CONTROL_SOCKET\n",
	.nr_args = 1, .args_name = "CONTROL_SOCKET",
};

static const struct cli_opts status_cmd = {
	.cmd = "migrate-status", .usage = "CONTROL_SOCKET", .opt = no_options,
	.about = "  the statistics of a running kmig migrate, as JSON\n",
	.nr_args = 1, .args_name = "CONTROL_SOCKET",
};

int cmd_migrate_cancel(int argc, char **argv)
{
	int first, ret = cli_opts_parse(&cancel_cmd, argc, argv, NULL, &first);

	return ret ? (ret < 0 ? 0 : ret) : request("migrate-cancel", argv[first], "cancel\n");
}

int cmd_migrate_status(int argc, char **argv)
{
	int first, ret = cli_opts_parse(&status_cmd, argc, argv, NULL, &first);

	return ret ? (ret < 0 ? 0 : ret) : request("migrate-status", argv[first], "status\n");
}
