// SPDX-License-Identifier: GPL-2.0
/* kmig snapshot-info: validate a snapshot file and print what it holds. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "show.h"
#include "snap/snap_load.h"

struct info_args {
	struct kmig_snap_opts so;
	uint64_t channels;
	bool verify, json;
};

#define A struct info_args
static const struct cli_opt options[] = {
	{ CLI_FLAG("verify", 'v', A, verify,
		   "also read every present page and check its CRC32C") },
	{ CLI_UINT("channels", 'c', A, channels, 1, KMIG_MAX_WORKERS, "N",
		   "reader threads for --verify (default 2)") },
	{ CLI_SIZE("max-ram", 'm', A, so.max_ram, 1, 0, "SIZE",
		   "refuse a file that claims more RAM (default: this\nmachine's memory)") },
	{ CLI_FLAG("buffered", 0, A, so.buffered, "no O_DIRECT") },
	{ CLI_FLAG("json", 'j', A, json, "as JSON") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "snapshot-info", .usage = "[options] FILE", .opt = options,
	.nr_args = 1, .args_name = "FILE",
	.footer = "Exit status: 0 the file is complete and valid; 1 it is not (the reason on\n"
		  "stderr); 2 usage.\n",
};

static void print_text(const struct kmig_snap *s, const struct kmig_stats *rd)
{
	const struct kmig_snap_hdr *h = &s->h;

	printf("%s: kmig snapshot version %u, COMPLETE, %s\n", s->path, h->version, s->f.io);
	printf("  saved          %s%s\n", h->flags & KMIG_SNAP_F_LIVE ? "live (precopy)" :
	       "stopped", !(h->flags & KMIG_SNAP_F_DATA_CRC) ? "" :
	       h->flags & KMIG_SNAP_F_DATA_PSUM ? ", with per-page sums" : ", with per-page CRC32C");
	printf("  RAM            %.1f MiB in %u block%s, %" PRIu64 " pages present (%.1f MiB)\n",
	       cli_mib(h->ram_bytes), h->nr_blocks, h->nr_blocks == 1 ? "" : "s", h->present_pages,
	       cli_mib(h->present_pages * KMIG_PAGE_SIZE));
	printf("  file           %.1f MiB logical, data aligned to %u KiB\n", cli_mib(h->file_size),
	       h->data_align >> 10);
	printf("  device state   %" PRIu64 " bytes at %" PRIu64 "\n", h->devstate_len,
	       h->devstate_offset);
	printf("  %-20s %12s %12s %14s\n", "block", "MiB", "present", "data offset");
	for (uint32_t i = 0; i < h->nr_blocks; i++)
		printf("  %-20s %12.1f %12" PRIu64 " %14" PRIu64 "\n", s->blocks[i].name,
		       cli_mib(s->blocks[i].size), s->blocks[i].present_pages,
		       s->blocks[i].data_offset);
	if (rd)
		printf("  verified       %" PRIu64 " pages read and checked, %.1f MiB/s\n",
		       rd->sum.pages_raw, cli_mib_s(rd->sum.bytes_wire, rd->ns_total));
}

static void print_json(const struct kmig_snap *s, const struct kmig_stats *rd)
{
	const struct kmig_snap_hdr *h = &s->h;

	struct json j;

	json_init(&j, stdout, false);
	json_obj(&j, NULL);
	json_u64(&j, "version", h->version);
	json_str(&j, "state", "COMPLETE");
	json_str(&j, "io", s->f.io);
	json_bool(&j, "live", h->flags & KMIG_SNAP_F_LIVE);
	json_bool(&j, "data_crc", h->flags & KMIG_SNAP_F_DATA_CRC);
	json_str(&j, "data_checksum", !(h->flags & KMIG_SNAP_F_DATA_CRC) ? "none" :
		 h->flags & KMIG_SNAP_F_DATA_PSUM ? "page-sum" : "crc32c");
	json_u64(&j, "ram_bytes", h->ram_bytes);
	json_u64(&j, "present_pages", h->present_pages);
	json_u64(&j, "file_size", h->file_size);
	json_u64(&j, "data_align", h->data_align);
	json_u64(&j, "devstate_bytes", h->devstate_len);
	json_u64(&j, "verified_pages", rd ? rd->sum.pages_raw : 0);
	json_arr(&j, "blocks");
	for (uint32_t i = 0; i < h->nr_blocks; i++) {
		json_obj(&j, NULL);
		json_str(&j, "name", s->blocks[i].name);
		json_u64(&j, "size", s->blocks[i].size);
		json_u64(&j, "present_pages", s->blocks[i].present_pages);
		json_u64(&j, "data_offset", s->blocks[i].data_offset);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
}

int cmd_snapshot_info(int argc, char **argv)
{
	struct info_args a = { .so.max_ram = cli_phys_mem(), .channels = 2 };
	struct kmig_err e = { 0 };
	struct kmig_stats rd;
	struct kmig_snap *s = NULL;
	int first, ret = cli_opts_parse(&cmd, argc, argv, &a, &first);

	if (ret)
		return ret < 0 ? 0 : ret;
	/* Only --verify reads pages, so only it keeps the bitmaps. */
	a.so.keep = a.verify;
	ret = kmig_snap_open(&s, argv[first], &a.so, &e);
	if (!ret && a.verify)
		ret = kmig_snap_read(s, NULL, a.channels, NULL, NULL, &rd, &e);
	if (ret) {
		fprintf(stderr, "kmig snapshot-info: %s\n", e.msg);
		kmig_snap_close(s);
		return 1;
	}
	if (a.json)
		print_json(s, a.verify ? &rd : NULL);
	else
		print_text(s, a.verify ? &rd : NULL);
	kmig_snap_close(s);
	return 0;
}
