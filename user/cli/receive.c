// SPDX-License-Identifier: GPL-2.0
/* kmig receive: accept one kmig send, keep the blocks in memfds, and only
 * after a complete transfer write them out (each DIR/NAME written as
 * NAME.tmp, fsync()ed, renamed), so a failure never leaves a file that
 * looks complete. The sender names the blocks: receive creates its files
 * and never follows or replaces one that is already in DIR. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/bits.h"
#include "cli.h"
#include "show.h"
#include "base/net.h"
#include "stream/recv.h"

struct recv_args {
	struct kmig_recv_opts o;
	const char *outdir, *devstate_path, *ready_path, *addr;
	char host[KMIG_ADDR_MAX], port[32];
	bool json, quiet;
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
	{ CLI_SIZE("max-ram", 'm', A, o.max_ram, 1, 0, "SIZE",
		   "refuse block tables larger than SIZE (default: this\nmachine's memory)") },
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
	/* The blocks live in memory until written: no more than there is. */
	if (!a->o.max_ram)
		a->o.max_ram = cli_phys_mem();
	a->addr = argv[first];
	if (kmig_net_split(a->addr, a->host, sizeof(a->host), a->port, sizeof(a->port)))
		return cli_opts_error(&cmd, "address", "[HOST:]PORT", a->addr);
	return 0;
}

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

/* Only after success: every block, then the device state. */
static int write_outputs(struct recv_args *a, int dirfd, struct kmig_recv *r,
			 struct kmig_ram *ram)
{
	char path[PATH_MAX];
	const void *dev;
	size_t len;
	int ret;

	for (unsigned int i = 0; i < ram->nr; i++) {
		snprintf(path, sizeof(path), "%s/%s", a->outdir, ram->blocks[i].name);
		ret = kmig_ram_write_file(&ram->blocks[i], dirfd, ram->blocks[i].name);
		if (ret)
			return cli_err("receive", "write block", path, ret, ret != -EEXIST ? NULL :
				       "it or its .tmp exists; kmig receive never replaces or "
				       "follows a file it did not create");
	}
	dev = kmig_recv_devstate(r, &len);
	if (a->devstate_path && dev) {
		ret = write_blob(a->devstate_path, dev, len);
		if (ret)
			return cli_err("receive", "write device state", a->devstate_path, ret, NULL);
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
	int ret;

	cli_watch_start(&w);
	ret = kmig_recv_run(r);
	cli_watch_stop(&w);
	if (ret)
		return cli_err("receive", "receive on", a->addr, ret,
			       w.signalled ? "interrupted by a signal" : kmig_recv_error(r));
	return 0;
}

int cmd_receive(int argc, char **argv)
{
	struct recv_args a = { 0 };
	struct kmig_recv *r = NULL;
	struct kmig_ram ram;
	struct kmig_stats st;
	struct json j;
	int dirfd = -1, ret;

	kmig_ram_init(&ram);
	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret) {
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	dirfd = open(a.outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || faccessat(dirfd, ".", W_OK, 0)) {
		ret = cli_err("receive", "open output directory", a.outdir, errno, NULL);
		goto out;
	}
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
		ret = write_outputs(&a, dirfd, r, &ram);
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
	if (dirfd >= 0)
		close(dirfd);
	kmig_recv_destroy(r);
	kmig_ram_free(&ram);
	return ret;
}
