// SPDX-License-Identifier: GPL-2.0
/* kmig restore's report: a table or one JSON object. */
#include <inttypes.h>

#include "show.h"

void cli_restore_table(FILE *f, const struct kmig_restore_stats *st)
{
	const struct kmig_chan_stats *s = &st->read.sum;

	fprintf(f, "kmig restore: %s, %u reader%s, %s\n", st->status, st->read.nr_channels,
		st->read.nr_channels == 1 ? "" : "s", st->io[0] ? st->io : "-");
	fprintf(f, "  total time        %10.3f s (connect %.3f, validate %.3f, read %.3f, "
		"device state %.3f, commit %.3f)\n", cli_secs(st->total_ns), cli_secs(st->connect_ns),
		cli_secs(st->validate_ns), cli_secs(st->read_ns), cli_secs(st->devstate_ns),
		cli_secs(st->commit_ns));
	fprintf(f, "  RAM               %10.1f MiB in blocks, file %.1f MiB (%s%s)\n",
		cli_mib(st->ram_bytes), cli_mib(st->file_size), st->live ? "saved live" : "saved stopped",
		st->data_crc ? ", page CRC32C" : "");
	fprintf(f, "  huge pages        %10u of %u block%s faulted in with MADV_HUGEPAGE\n",
		st->huge_blocks, st->nr_blocks, st->nr_blocks == 1 ? "" : "s");
	fprintf(f, "  pages             read %" PRIu64 ", absent (holes, not read) %" PRIu64 "\n",
		s->pages_raw, s->pages_none);
	fprintf(f, "  read              %10.1f MiB at %.1f MiB/s (I/O %.3f s, CRC %.3f s, "
		"summed over readers)\n", cli_mib(s->bytes_wire), cli_mib_s(s->bytes_wire, st->read_ns),
		cli_secs(s->ns_io), cli_secs(s->ns_codec));
	fprintf(f, "  device state      %10" PRIu64 " B; VMM: %s\n", st->devstate_bytes,
		st->vmm_end);
}

/* Share of the RAM's pages covered (present ones read, absent skipped). */
static double pct(const struct kmig_restore_stats *st)
{
	uint64_t pages = st->ram_bytes / KMIG_PAGE_SIZE;

	return pages ? 100.0 * st->pages_done / pages : 0;
}

void cli_restore_line(const struct kmig_restore_stats *st, char *line, size_t len)
{
	char eta[32] = "ETA unknown";

	if (st->eta_ns != UINT64_MAX)
		snprintf(eta, sizeof(eta), "ETA %.1f s", cli_secs(st->eta_ns));
	snprintf(line, len, "restore: %s, %.0f%% of RAM, %.1f MiB left, %.0f MiB/s, %s",
		 st->status, pct(st), cli_mib(st->remaining_bytes), cli_mib(st->rate), eta);
}

void cli_restore_json(struct json *j, const struct kmig_restore_stats *st)
{
	const struct kmig_chan_stats *s = &st->read.sum;

	json_obj(j, NULL);
	json_str(j, "status", st->status);
	json_str(j, "error", st->error);
	json_str(j, "io", st->io);
	json_str(j, "vmm", st->vmm_end);
	json_bool(j, "data_crc", st->data_crc);
	json_bool(j, "live", st->live);
	json_u64(j, "ram_bytes", st->ram_bytes);
	json_u64(j, "file_size", st->file_size);
	json_u64(j, "device_state_bytes", st->devstate_bytes);
	json_u64(j, "blocks", st->nr_blocks);
	json_u64(j, "huge_page_blocks", st->huge_blocks);
	json_u64(j, "pages_read", s->pages_raw);
	json_u64(j, "pages_absent", s->pages_none);
	json_u64(j, "bytes_read", s->bytes_wire);
	json_double(j, "read_mib_s", cli_mib_s(s->bytes_wire, st->read_ns), 1);
	json_u64(j, "total_ns", st->total_ns);
	json_u64(j, "connect_ns", st->connect_ns);
	json_u64(j, "validate_ns", st->validate_ns);
	json_u64(j, "read_ns", st->read_ns);
	json_u64(j, "devstate_ns", st->devstate_ns);
	json_u64(j, "commit_ns", st->commit_ns);
	json_obj(j, "progress");
	json_double(j, "ram_pct", pct(st), 1);
	json_u64(j, "remaining_bytes", st->remaining_bytes);
	json_double(j, "rate_mib_s", cli_mib(st->rate), 1);
	if (st->eta_ns != UINT64_MAX)
		json_u64(j, "eta_ns", st->eta_ns);
	json_end(j);
	cli_stream_json(j, "read", &st->read);
	json_end(j);
}
