// SPDX-License-Identifier: GPL-2.0
/* kmig send: move RAM blocks (files or memfds) to a kmig receive. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/bits.h"
#include "cli.h"
#include "show.h"
#include "base/net.h"
#include "stream/send.h"
#include "tls/tls.h"

struct send_args {
	struct kmig_send_opts o;
	struct kmig_ram ram;
	const char *block[KMIG_MAX_BLOCKS];	/* the --block specs, in order */
	unsigned int nr_blocks;
	const char *devstate_path;
	bool json, quiet;
	char host[KMIG_ADDR_MAX], port[32];
	const char *addr;
	struct cli_tls tls;
};

/* --block NAME=PATH: the syntax here; the file is opened after parsing
 * (a file that cannot be a block is not a usage error). */
static int opt_block(void *args, const char *v, char *why, size_t len)
{
	struct send_args *a = args;
	const char *eq = strchr(v, '=');

	if (!eq || !eq[1] || !kmig_ram_name_valid(v, eq - v))
		return -EINVAL;
	if (a->nr_blocks == KMIG_MAX_BLOCKS) {
		snprintf(why, len, "at most %u blocks", KMIG_MAX_BLOCKS);
		return -ERANGE;
	}
	a->block[a->nr_blocks++] = v;
	return 0;
}

static int opt_compress(void *args, const char *v, char *why, size_t len)
{
	return cli_parse_compress(v, &((struct send_args *)args)->o);
}

#define A struct send_args
static const struct cli_opt options[] = {
	{ CLI_FN("block", 'b', opt_block, "NAME=PATH (names: 1 to 63 of [A-Za-z0-9._:-], not "
		 "starting with a dot)", "NAME=PATH",
		 "a RAM block from a file (repeatable; order = block ids)"), .required = true },
	{ CLI_UINT("channels", 'c', A, o.nr_channels, 1, KMIG_MAX_CHANNELS, "N",
		   "TCP channels and sender threads (default 2, max 64)") },
	{ CLI_FN("compress", 'z', opt_compress, CLI_COMPRESS_EXPECT, "CODEC",
		 "none, zlib, zstd, lz4, or auto[:CODEC] (default none;\n"
		 "auto = auto:zstd: per batch, raw or compressed,\n"
		 "whichever moves pages faster on the measured link)") },
	{ CLI_UINT("level", 'l', A, o.level, 0, 65537, "N",
		   "codec level (zlib 1-9, zstd 1-19, lz4 acceleration)") },
	{ CLI_RATE("max-bandwidth", 'r', A, o.max_bandwidth, "RATE",
		   "limit all channels together: bytes/s (K, M, G suffixes)\n"
		   "or a link speed such as 1gbit, 100mbit") },
	{ CLI_STR("device-state", 'd', A, devstate_path, "FILE",
		  "send FILE's bytes as the device-state blob") },
	{ CLI_IDLE_TIMEOUT(A, o.idle_timeout_ms) },
	CLI_NO_PAGE_SUMS_SEND(A, o.no_page_sums),
	CLI_TLS_OPTIONS(A, tls),
	{ CLI_FLAG("json", 'j', A, json, "statistics as JSON") },
	{ CLI_FLAG("quiet", 'q', A, quiet, "no statistics, no progress line") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "send", .usage = "[options] --block NAME=PATH... HOST:PORT", .opt = options,
	.nr_args = 1, .args_name = "HOST:PORT",
};

static int parse_args(struct send_args *a, int argc, char **argv)
{
	int first, ret = cli_opts_parse(&cmd, argc, argv, a, &first);

	if (ret)
		return ret;
	a->addr = argv[first];
	if (kmig_net_split(a->addr, a->host, sizeof(a->host), a->port, sizeof(a->port)) ||
	    !a->host[0])
		return cli_opts_error(&cmd, "address", "HOST:PORT", a->addr);
	for (unsigned int i = 0; i < a->nr_blocks; i++) {
		ret = cli_add_block(&a->ram, a->block[i], false);
		if (ret)
			return cli_err("send", "add block", a->block[i], ret,
				       ret == -EINVAL ? "expected NAME=PATH of a regular file whose "
				       "size is a multiple of 4096; names [A-Za-z0-9._:-]" :
				       ret == -EEXIST ? "block name used twice" : NULL);
	}
	return 0;
}

static int read_file(const char *path, void **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 0;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(*buf = malloc(st.st_size ? st.st_size : 1)))
		ret = -errno ?: -ENOMEM;
	else if (read(fd, *buf, st.st_size) != st.st_size)
		ret = -EIO;
	*len = st.st_size;
	close(fd);
	return ret;
}

static void cancel_cb(void *obj, const char *why)
{
	kmig_send_cancel(obj, -ECANCELED);
}

static void progress_cb(void *obj, char *line, size_t len)
{
	struct kmig_stats st;
	uint64_t done;

	kmig_send_stats(obj, &st);
	done = (st.sum.pages_none + st.sum.pages_zero + st.sum.pages_raw +
		st.sum.pages_compressed) * KMIG_PAGE_SIZE;
	snprintf(line, len, "send: %.0f / %.0f MiB (%.0f%%), %.0f MiB/s, %.0f MiB on the wire",
		 done / 1048576.0, st.ram_bytes / 1048576.0,
		 st.ram_bytes ? 100.0 * done / st.ram_bytes : 0,
		 st.ns_total ? done / 1048576.0 / (st.ns_total / 1e9) : 0,
		 st.sum.bytes_wire / 1048576.0);
}

static int transfer(struct send_args *a, struct kmig_send *s, const void *dev, size_t dev_len)
{
	struct cli_watch w = { .obj = s, .cancel = cancel_cb, .progress = a->quiet ? NULL : progress_cb };
	int ret;

	cli_watch_start(&w);
	ret = kmig_send_connect(s, a->host, a->port);
	if (!ret)
		ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, dev, dev_len);
	else
		kmig_send_cancel(s, ret);
	cli_watch_stop(&w);
	if (ret)
		return cli_err("send", "send to", a->addr, ret,
			       w.signalled ? "interrupted by a signal" : kmig_send_error(s));
	return 0;
}

int cmd_send(int argc, char **argv)
{
	struct send_args a = { 0 };
	struct kmig_send *s = NULL;
	struct kmig_stats st;
	struct json j;
	void *dev = NULL;
	size_t dev_len = 0;
	int ret;

	kmig_send_opts_init(&a.o);
	kmig_ram_init(&a.ram);
	cli_block_signals();
	ret = parse_args(&a, argc, argv);
	if (ret) {
		ret = ret < 0 ? 0 : ret;
		goto out;
	}
	ret = cli_tls_setup("send", &a.tls, false, a.host, &a.o.tls);
	if (ret)
		goto out;
	if (a.devstate_path) {
		ret = read_file(a.devstate_path, &dev, &dev_len);
		if (ret) {
			ret = cli_err("send", "read device state", a.devstate_path, ret, NULL);
			goto out;
		}
	}
	ret = kmig_send_create(&s, &a.o, &a.ram);
	if (ret) {
		ret = cli_err("send", "create stream", "", ret, NULL);
		goto out;
	}
	ret = transfer(&a, s, dev, dev_len);
	if (!ret && !a.quiet) {
		kmig_send_stats(s, &st);
		if (a.json) {
			json_init(&j, stdout, false);
			cli_stream_json(&j, NULL, &st);
		} else {
			cli_stream_table(stdout, "send", &st);
		}
	}
out:
	kmig_send_destroy(s);
	kmig_tls_destroy(a.o.tls);
	kmig_ram_free(&a.ram);
	free(dev);
	return ret;
}
