// SPDX-License-Identifier: GPL-2.0
/* kmig restore's report: a table or one JSON object. */
#include <inttypes.h>

#include "migrate/restore.h"

static double secs(uint64_t ns)
{
	return ns / 1e9;
}

static double mib(uint64_t b)
{
	return b / 1048576.0;
}

static double rate(uint64_t bytes, uint64_t ns)
{
	return ns ? mib(bytes) / secs(ns) : 0;
}

void kmig_restore_stats_print(FILE *f, const struct kmig_restore_stats *st)
{
	const struct kmig_chan_stats *s = &st->read.sum;

	fprintf(f, "kmig restore: %s, %u reader%s, %s\n", st->status, st->read.nr_channels,
		st->read.nr_channels == 1 ? "" : "s", st->io[0] ? st->io : "-");
	fprintf(f, "  total time        %10.3f s (connect %.3f, validate %.3f, read %.3f, "
		"device state %.3f, commit %.3f)\n", secs(st->total_ns), secs(st->connect_ns),
		secs(st->validate_ns), secs(st->read_ns), secs(st->devstate_ns),
		secs(st->commit_ns));
	fprintf(f, "  RAM               %10.1f MiB in blocks, file %.1f MiB (%s%s)\n",
		mib(st->ram_bytes), mib(st->file_size), st->live ? "saved live" : "saved stopped",
		st->data_crc ? ", page CRC32C" : "");
	fprintf(f, "  pages             read %" PRIu64 ", absent (holes, not read) %" PRIu64 "\n",
		s->pages_raw, s->pages_none);
	fprintf(f, "  read              %10.1f MiB at %.1f MiB/s (I/O %.3f s, CRC %.3f s, "
		"summed over readers)\n", mib(s->bytes_wire), rate(s->bytes_wire, st->read_ns),
		secs(s->ns_io), secs(s->ns_codec));
	fprintf(f, "  device state      %10" PRIu64 " B; VMM: %s\n", st->devstate_bytes,
		st->vmm_end);
}

static void json_str(FILE *f, const char *k, const char *v)
{
	fprintf(f, "\"%s\": \"", k);
	for (; *v; v++)
		if (*v == '"' || *v == '\\')
			fprintf(f, "\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			fprintf(f, "\\u%04x", *v);
		else
			fputc(*v, f);
	fprintf(f, "\", ");
}

void kmig_restore_stats_json(FILE *f, const struct kmig_restore_stats *st)
{
	const struct kmig_chan_stats *s = &st->read.sum;

	fputc('{', f);
	json_str(f, "status", st->status);
	json_str(f, "error", st->error);
	json_str(f, "io", st->io);
	json_str(f, "vmm", st->vmm_end);
	fprintf(f, "\"data_crc\": %s, \"live\": %s, \"ram_bytes\": %" PRIu64 ", "
		"\"file_size\": %" PRIu64 ", \"device_state_bytes\": %" PRIu64 ", "
		"\"pages_read\": %" PRIu64 ", \"pages_absent\": %" PRIu64 ", "
		"\"bytes_read\": %" PRIu64 ", \"read_mib_s\": %.1f, \"total_ns\": %" PRIu64 ", "
		"\"connect_ns\": %" PRIu64 ", \"validate_ns\": %" PRIu64 ", \"read_ns\": %" PRIu64
		", \"devstate_ns\": %" PRIu64 ", \"commit_ns\": %" PRIu64 ", \"read\": ",
		st->data_crc ? "true" : "false", st->live ? "true" : "false", st->ram_bytes,
		st->file_size, st->devstate_bytes, s->pages_raw, s->pages_none, s->bytes_wire,
		rate(s->bytes_wire, st->read_ns), st->total_ns, st->connect_ns, st->validate_ns,
		st->read_ns, st->devstate_ns, st->commit_ns);
	kmig_stats_json(f, &st->read);
	fprintf(f, "}\n");
}
