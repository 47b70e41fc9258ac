// SPDX-License-Identifier: GPL-2.0
/* kmig snapshot-info: validate a snapshot file and print what it holds. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "show.h"
#include "snap/snap_load.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmig snapshot-info [options] FILE\n"
		"  -v, --verify          also read every present page and check its CRC32C\n"
		"  -c, --channels N      reader threads for --verify (default 2)\n"
		"  -m, --max-ram SIZE    refuse a file that claims more RAM (default: this\n"
		"                        machine's memory)\n"
		"      --buffered        no O_DIRECT\n"
		"  -j, --json            as JSON\n"
		"Exit status: 0 the file is complete and valid; 1 it is not (the reason on\n"
		"stderr); 2 usage.\n");
}

static void print_text(const struct kmig_snap *s, const struct kmig_stats *rd)
{
	const struct kmig_snap_hdr *h = &s->h;

	printf("%s: kmig snapshot version %u, COMPLETE, %s\n", s->path, h->version, s->f.io);
	printf("  saved          %s%s\n", h->flags & KMIG_SNAP_F_LIVE ? "live (precopy)" :
	       "stopped", h->flags & KMIG_SNAP_F_DATA_CRC ? ", with per-page CRC32C" : "");
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
	static const struct option opts[] = {
		{ "verify", no_argument, NULL, 'v' }, { "channels", required_argument, NULL, 'c' },
		{ "buffered", no_argument, NULL, 'b' }, { "json", no_argument, NULL, 'j' },
		{ "max-ram", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	struct kmig_snap_opts so = { .max_ram = cli_phys_mem() };
	bool verify = false, json = false;
	struct kmig_err e = { 0 };
	struct kmig_stats rd;
	struct kmig_snap *s = NULL;
	uint64_t n = 2;
	int c, ret;

	while ((c = getopt_long(argc, argv, "vc:m:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'v': verify = true; break;
		case 'c':
			if (cli_parse_u64(optarg, 1, KMIG_MAX_WORKERS, &n))
				return cli_err("snapshot-info", "parse --channels", optarg, EINVAL,
					       "expected 1..64");
			break;
		case 'm':
			if (cli_parse_size(optarg, &so.max_ram) || !so.max_ram)
				return cli_err("snapshot-info", "parse --max-ram", optarg, EINVAL,
					       "expected a size like 64G");
			break;
		case 'b': so.buffered = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	/* Only --verify reads pages, so only it keeps the bitmaps. */
	so.keep = verify;
	ret = kmig_snap_open(&s, argv[optind], &so, &e);
	if (!ret && verify)
		ret = kmig_snap_read(s, NULL, n, NULL, &rd, &e);
	if (ret) {
		fprintf(stderr, "kmig snapshot-info: %s\n", e.msg);
		kmig_snap_close(s);
		return 1;
	}
	if (json)
		print_json(s, verify ? &rd : NULL);
	else
		print_text(s, verify ? &rd : NULL);
	kmig_snap_close(s);
	return 0;
}
