// SPDX-License-Identifier: GPL-2.0
/* kmig receive: accept one kmig send and receive each block straight into
 * its output file, DIR/NAME.tmp (sparse: pages that only ever were zero
 * are never written); only after a complete transfer are the files
 * fsync()ed and renamed to DIR/NAME, so a failure never leaves a file that
 * looks complete (the .tmp files are removed). The sender names the
 * blocks: receive creates its files and never follows or replaces one
 * that is already in DIR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bits.h"
#include "cli.h"
#include "show.h"
#include "base/net.h"
#include "stream/recv.h"
#include "tls/tls.h"

struct recv_args {
	struct kmig_recv_opts o;
	const char *outdir, *devstate_path, *ready_path, *addr;
	char host[KMIG_ADDR_MAX], port[32];
	int dirfd;			/* the output directory */
	bool json, quiet;
	struct cli_tls tls;
};

#define A struct recv_args
static const struct cli_opt options[] = {
	{ CLI_STR("output-dir", 'o', A, outdir, "DIR",
		  "write each received block to DIR/NAME (sparse)"), .required = true },
	{ CLI_STR("device-state-out", 'd', A, devstate_path, "FILE",
		  "write the device-state blob to FILE") },
	{ CLI_STR("ready-file", 'R', A, ready_path, "FILE",
		  "write the bound port to FILE once listening\n(PORT 0 picks a free port)") },
	{ CLI_DURATION("timeout", 't', A, o.accept_timeout_ms, 1, 86400, CLI_NS_S, CLI_NS_MS, "SEC",
		       "wait at most SEC for all channels (default 30)") },
	{ CLI_IDLE_TIMEOUT(A, o.idle_timeout_ms) },
	{ CLI_SIZE("max-ram", 'm', A, o.max_ram, 1, 0, "SIZE",
		   "refuse block tables larger than SIZE (default: this\nmachine's memory)") },
	CLI_LANDING_OPTION(A, o.landing),
	CLI_NO_PAGE_SUMS_RECV(A, o.no_page_sums),
	CLI_TLS_OPTIONS(A, tls),
	{ CLI_FLAG("json", 'j', A, json, "statistics as JSON") },
	{ CLI_FLAG("quiet", 'q', A, quiet, "no statistics, no progress line") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "receive", .usage = "[options] --output-dir DIR [HOST:]PORT", .opt = options,
	.nr_args = 1, .args_name = "[HOST:]PORT",
};

static int parse_args(struct recv_args *a, int argc, char **argv)
{
	int first, ret = cli_opts_parse(&cmd, argc, argv, a, &first);

	if (ret)
		return ret;
	/* The blocks land in files on this machine (tmpfs, often): no more
	 * than its memory unless told. */
	if (!a->o.max_ram)
		a->o.max_ram = cli_phys_mem();
	a->addr = argv[first];
	if (kmig_net_split(a->addr, a->host, sizeof(a->host), a->port, sizeof(a->port)))
		return cli_opts_error(&cmd, "address", "[HOST:]PORT", a->addr);
	return 0;
}

static void tmp_name(char *name, size_t len, const char *block)
{
	snprintf(name, len, "%s.tmp", block);
}

/* kmig_recv_opts.create_block: the sender's block NAME as DIR/NAME.tmp,
 * made here or refused: never a file or symlink planted there, and never
 * a NAME that is already in DIR (-EEXIST). */
static int create_block(void *arg, struct kmig_ram *ram, const char *name, uint64_t size)
{
	const struct recv_args *a = arg;
	char tmp[KMIG_BLOCK_NAME_MAX + 8];
	struct stat sb;
	int fd, ret;

	/* One path component of safe characters: nothing outside DIR. */
	if (!kmig_ram_name_valid(name, strlen(name)))
		return -EINVAL;
	if (!fstatat(a->dirfd, name, &sb, AT_SYMLINK_NOFOLLOW))
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	tmp_name(tmp, sizeof(tmp), name);
	fd = openat(a->dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	ret = ftruncate(fd, size) < 0 ? -errno : 0;
	if (!ret)
		ret = kmig_ram_add_fd(ram, name, fd, size, true, NULL);
	close(fd);
	if (ret)
		unlinkat(a->dirfd, tmp, 0);
	return ret;
}

/* After a failure: no output file of this transfer is left (every block
 * of @ram had its .tmp made by create_block()). */
static void remove_tmp(const struct recv_args *a, const struct kmig_ram *ram)
{
	char tmp[KMIG_BLOCK_NAME_MAX + 8];

	for (unsigned int i = 0; i < ram->nr; i++) {
		tmp_name(tmp, sizeof(tmp), ram->blocks[i].name);
		unlinkat(a->dirfd, tmp, 0);
	}
}

/* NAME.tmp becomes NAME, which must still not exist: a file put there
 * during the transfer is never replaced. */
static int publish(int dirfd, const char *tmp, const char *name)
{
	if (!renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE))
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* A filesystem without RENAME_NOREPLACE: link() never replaces either. */
	if (linkat(dirfd, tmp, dirfd, name, 0))
		return -errno;
	unlinkat(dirfd, tmp, 0);
	return 0;
}

#define EXISTS_HINT "it or its .tmp exists; kmig receive never replaces or follows a " \
		    "file it did not create"

static int write_blob(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len)
		ret = -EIO;
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

/* A failure after blocks [0, @n) were published: back to NAME.tmp, for
 * remove_tmp(), so that nothing is left under the blocks' names. */
static void unpublish(const struct recv_args *a, const struct kmig_ram *ram, unsigned int n)
{
	char tmp[KMIG_BLOCK_NAME_MAX + 8];

	for (unsigned int i = 0; i < n; i++) {
		tmp_name(tmp, sizeof(tmp), ram->blocks[i].name);
		renameat2(a->dirfd, ram->blocks[i].name, a->dirfd, tmp, RENAME_NOREPLACE);
	}
}

/* Only after success: every block durable, then under its name, then the
 * device state; all or nothing. */
static int write_outputs(struct recv_args *a, struct kmig_recv *r, struct kmig_ram *ram)
{
	char tmp[KMIG_BLOCK_NAME_MAX + 8], path[PATH_MAX];
	unsigned int i;
	const void *dev;
	size_t len;
	int ret;

	for (i = 0; i < ram->nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", a->outdir, ram->blocks[i].name);
		if (fsync(ram->blocks[i].fd) < 0)
			return cli_err("receive", "write block", path, -errno, NULL);
	}
	for (i = 0; i < ram->nr; i++) {
		tmp_name(tmp, sizeof(tmp), ram->blocks[i].name);
		ret = publish(a->dirfd, tmp, ram->blocks[i].name);
		if (ret) {
			unpublish(a, ram, i);
			snprintf(path, sizeof(path), "%s/%s", a->outdir, ram->blocks[i].name);
			return cli_err("receive", "write block", path, ret,
				       ret == -EEXIST ? EXISTS_HINT : NULL);
		}
	}
	dev = kmig_recv_devstate(r, &len);
	if (a->devstate_path && dev) {
		ret = write_blob(a->devstate_path, dev, len);
		if (ret) {
			unpublish(a, ram, ram->nr);
			return cli_err("receive", "write device state", a->devstate_path, ret,
				       NULL);
		}
	}
	return 0;
}

static void cancel_cb(void *obj, const char *why)
{
	kmig_recv_cancel(obj, -ECANCELED);
}

static void progress_cb(void *obj, char *line, size_t len)
{
	struct kmig_stats st;
	uint64_t done;

	kmig_recv_stats(obj, &st);
	done = (st.sum.pages_zero + st.sum.pages_raw + st.sum.pages_compressed) * KMIG_PAGE_SIZE;
	snprintf(line, len, "receive: %.0f / %.0f MiB, %.0f MiB/s, %.0f MiB on the wire",
		 done / 1048576.0, st.ram_bytes / 1048576.0,
		 st.ns_total ? done / 1048576.0 / (st.ns_total / 1e9) : 0,
		 st.sum.bytes_wire / 1048576.0);
}

static int run(struct recv_args *a, struct kmig_recv *r)
{
	struct cli_watch w = { .obj = r, .cancel = cancel_cb, .progress = a->quiet ? NULL : progress_cb };
	char why[512];
	int ret;

	cli_watch_start(&w);
	ret = kmig_recv_run(r);
	cli_watch_stop(&w);
	if (!ret)
		return 0;
	if (w.signalled)
		snprintf(why, sizeof(why), "interrupted by a signal");
	else if (ret == -EEXIST)	/* create_block() refused a name */
		snprintf(why, sizeof(why), "%s; %s", kmig_recv_error(r), EXISTS_HINT);
	else
		snprintf(why, sizeof(why), "%s", kmig_recv_error(r));
	return cli_err("receive", "receive on", a->addr, ret, why);
}

int cmd_receive(int argc, char **argv)
{
	struct recv_args a = { .dirfd = -1 };
	struct kmig_recv *r = NULL;
	struct kmig_ram ram;
	struct kmig_stats st;
	struct json j;
	int ret;

	kmig_ram_init(&ram);
	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret) {
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	a.dirfd = open(a.outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a.dirfd < 0 || faccessat(a.dirfd, ".", W_OK, 0)) {
		ret = cli_err("receive", "open output directory", a.outdir, errno, NULL);
		goto out;
	}
	ret = cli_tls_setup("receive", &a.tls, true, a.host, &a.o.tls);
	if (ret)
		goto out;
	a.o.refused = cli_tls_refused;
	a.o.refused_arg = "receive";
	a.o.create_block = create_block;
	a.o.create_arg = &a;
	ret = kmig_recv_create(&r, &a.o, &ram);
	if (!ret)
		ret = kmig_recv_listen(r, a.host, a.port);
	if (ret) {
		ret = cli_err("receive", "listen on", a.addr, ret, NULL);
		goto out;
	}
	if (a.ready_path && (ret = cli_write_ready(a.ready_path, kmig_recv_port(r)))) {
		ret = cli_err("receive", "write ready file", a.ready_path, ret, NULL);
		goto out;
	}
	ret = run(&a, r);
	if (!ret)
		ret = write_outputs(&a, r, &ram);
	if (ret)
		remove_tmp(&a, &ram);
	if (!ret && !a.quiet) {
		kmig_recv_stats(r, &st);
		if (a.json) {
			json_init(&j, stdout, false);
			cli_stream_json(&j, NULL, &st);
		} else {
			cli_stream_table(stdout, "receive", &st);
		}
	}
out:
	kmig_recv_destroy(r);
	kmig_tls_destroy(a.o.tls);
	kmig_ram_free(&ram);
	if (a.dirfd >= 0)
		close(a.dirfd);
	return ret;
}
