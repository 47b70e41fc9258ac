// SPDX-License-Identifier: GPL-2.0
/* The migration reports (like QEMU's query-migrate), source (kmig migrate,
 * kmig save) and destination (kmig incoming): a table, JSON, and the
 * progress line. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "show.h"

/* Pages of guest RAM covered on the wire: zero (sent as markers, read or
 * not) and normal (sent with content). */
static uint64_t zero_pages(const struct kmig_migrate_stats *st)
{
	return st->stream.sum.pages_none + st->stream.sum.pages_zero;
}

static uint64_t normal_pages(const struct kmig_migrate_stats *st)
{
	return st->stream.sum.pages_raw + st->stream.sum.pages_compressed;
}

static double throughput_mib(const struct kmig_migrate_stats *st)
{
	return st->total_ns ? cli_mib(st->stream.sum.bytes_wire) / (st->total_ns / 1e9) : 0;
}

static void print_expected(FILE *f, uint64_t ns)
{
	if (ns == UINT64_MAX)
		fprintf(f, "%10s", "-");
	else
		fprintf(f, "%10.1f", cli_ms(ns));
}

static void print_rows(FILE *f, const struct kmig_migrate_stats *st)
{
	fprintf(f, "  %4s %4s %10s %10s %10s %9s %8s %8s %9s %8s %9s %10s\n", "iter", "thr%",
		"dirty", "data pg", "zero pg", "wire MiB", "harv ms", "clear ms", "xfer ms",
		"MiB/s", "dirty/s", "exp dt ms");
	for (uint32_t i = 0; i < st->nr_rows; i++) {
		const struct kmig_migrate_iter *it = &st->iter[i];

		if (i == 1 && st->iterations > st->nr_rows)
			fprintf(f, "  ... %u iterations not shown\n", st->iterations - st->nr_rows);
		fprintf(f, "  %4u%s %3u %10llu %10llu %10llu %9.1f %8.2f %8.2f %9.1f %8.0f %9llu ",
			it->index, it->final ? "*" : " ", it->throttle,
			(unsigned long long)it->dirty_pages, (unsigned long long)it->data_pages,
			(unsigned long long)it->zero_pages, cli_mib(it->bytes), cli_ms(it->harvest_ns),
			cli_ms(it->clear_ns), cli_ms(it->transfer_ns), cli_mib(it->bandwidth),
			(unsigned long long)it->dirty_rate);
		print_expected(f, it->expected_downtime_ns);
		fputc('\n', f);
	}
	fprintf(f, "  (* the final pass, with the guest paused: part of the downtime)\n");
}

/* The parts of a downtime, in order, with their name in the table and
 * their key in the JSON: one list for the estimate and the actual, in
 * both reports. */
static const struct {
	const char *name, *key;
	size_t off;			/* in struct kmig_dt_parts */
} parts[] = {
	{ "pause", "pause_ns", offsetof(struct kmig_dt_parts, pause) },
	{ "final harvest", "final_harvest_ns", offsetof(struct kmig_dt_parts, harvest) },
	{ "device state", "device_state_ns", offsetof(struct kmig_dt_parts, devstate) },
	{ "last pages + END", "last_pages_end_ns", offsetof(struct kmig_dt_parts, transfer) },
	{ "destination staging", "destination_staging_ns",
	  offsetof(struct kmig_dt_parts, prepare) },
	{ "COMMIT to RESUMED", "commit_resumed_ns", offsetof(struct kmig_dt_parts, commit) },
};

#define NR_PARTS	(sizeof(parts) / sizeof(parts[0]))

static uint64_t part(const struct kmig_dt_parts *p, size_t i)
{
	return *(const uint64_t *)((const char *)p + parts[i].off);
}

/* The actual downtime as the estimate's parts. */
static struct kmig_dt_parts actual_parts(const struct kmig_migrate_downtime *d)
{
	return (struct kmig_dt_parts){
		.pause = d->pause_ns, .harvest = d->harvest_ns, .devstate = d->devstate_ns,
		.transfer = d->transfer_ns, .prepare = d->prepare_ns, .commit = d->commit_ns,
	};
}

/* Expected (the estimate that led to the switchover) against actual. */
static void print_parts(FILE *f, const struct kmig_migrate_stats *st)
{
	const struct kmig_dt_parts *e = &st->expected, a = actual_parts(&st->downtime);

	fprintf(f, "    %-22s %10s %10s\n", "part (ms)", "expected", "actual");
	for (size_t i = 0; i < NR_PARTS; i++)
		fprintf(f, "    %-22s %10.3f %10.3f\n", parts[i].name, cli_ms(part(e, i)),
			cli_ms(part(&a, i)));
	fprintf(f, "    %-22s %10.3f %10.3f\n", "total", cli_ms(kmig_dt_parts_sum(e)),
		cli_ms(st->downtime.total_ns));
}

static void print_strict(FILE *f, const struct kmig_migrate_stats *st)
{
	if (!st->strict && !st->aborts)
		return;
	fprintf(f, "  strict limit      %s: %u switchover%s aborted%s%s%s; longest pause that "
		"ended in a resume %.3f ms (limit + margin %.0f ms)\n",
		st->strict ? "on" : "off", st->aborts, st->aborts == 1 ? "" : "s",
		st->abort_reason[0] ? " (last: " : "", st->abort_reason,
		st->abort_reason[0] ? ")" : "", cli_ms(st->max_pause_ns),
		cli_ms(st->downtime_limit_ns + KMIG_STRICT_MARGIN_NS));
}

static void print_downtime(FILE *f, const struct kmig_migrate_stats *st)
{
	const struct kmig_migrate_downtime *d = &st->downtime;

	fprintf(f, "  downtime          %10.3f ms (source PAUSE to destination RESUMED; limit %.0f ms)\n",
		cli_ms(d->total_ns), cli_ms(st->downtime_limit_ns));
	print_parts(f, st);
	if (d->stop_ns)
		fprintf(f, "    DIRTY_LOG_STOP inside the downtime (--dirty-log-stop during): %.3f ms\n",
			cli_ms(d->stop_ns));
	fprintf(f, "    destination: device state to its VMM %.3f, VMM COMMIT (memslots + "
		"state + run) %.3f, COMMIT received to RESUMED sent %.3f ms;\n"
		"    the rest of COMMIT to RESUMED, %.3f ms, is transit and scheduling\n",
		cli_ms(d->dst_devstate_ns), cli_ms(d->dst_commit_ns), cli_ms(d->dst_total_ns),
		d->commit_ns > d->dst_total_ns ? cli_ms(d->commit_ns - d->dst_total_ns) : 0);
}

static void print_harvest(FILE *f, const struct kmig_migrate_stats *st)
{
	const struct kmig_dirty_stats *d = &st->dirty;

	if (strcmp(d->harvest_path, "module")) {
		fprintf(f, "    harvest         the VMM's GET_DIRTY_LOG, one request per slot\n");
		fprintf(f, "    dirty pages     zero-checked on the sender threads, after the clear\n");
		return;
	}
	fprintf(f, "    harvest         module: %llu harvests in %llu KMIG_HARVEST calls, %llu dirty "
		"pages\n", (unsigned long long)d->harvests, (unsigned long long)d->kmod.ioctls,
		(unsigned long long)d->kmod.dirty);
	if (!strcmp(d->zero_path, "module"))
		fprintf(f, "    dirty pages     classified by the module at harvest: %llu zero (%llu "
			"of them already zero at the destination, not sent again)\n",
			(unsigned long long)d->kmod.zero, (unsigned long long)d->kmod.zero_known);
	else
		fprintf(f, "    dirty pages     zero-checked on the sender threads, after the clear\n");
}

static void print_first_pass(FILE *f, const struct kmig_dirty_stats *d)
{
	const struct kmig_dirty_kmod_stats *k = &d->kmod;

	if (!k->scans) {
		fprintf(f, "    first pass      zero pages found on the sender threads\n");
		return;
	}
	fprintf(f, "    first pass      module KMIG_ZERO_SCAN after the first clear: %llu pieces "
		"(%llu mostly populated left to the sender threads), %.3f ms, %llu calls;\n"
		"                    zero %llu (never populated %llu, zero page %llu, read %llu), "
		"data %llu\n", (unsigned long long)k->scan_pieces,
		(unsigned long long)k->scan_dense, cli_ms(k->scan_ns), (unsigned long long)k->scan_calls,
		(unsigned long long)(k->scan_none + k->scan_zero_page + k->scan_zero_data),
		(unsigned long long)k->scan_none, (unsigned long long)k->scan_zero_page,
		(unsigned long long)k->scan_zero_data, (unsigned long long)k->scan_nonzero);
}

static void print_stop(FILE *f, const struct kmig_migrate_stats *st)
{
	const struct kmig_dirty_stats *d = &st->dirty;
	const struct kmig_dirty_kmod_stats *k = &d->kmod;

	fprintf(f, "  dirty-log stop    %.3f ms %s\n",
		cli_ms(st->downtime.stop_ns ? st->downtime.stop_ns : st->stop_after_ns),
		st->downtime.stop_ns ? "INSIDE the downtime (naive order, for comparison)" :
		"after the switchover, outside the downtime");
	if (st->downtime.stop_ns || !k->stop_id)
		fprintf(f, "    path            the VMM's DIRTY_LOG_STOP, synchronous%s%s\n",
			d->stop_note[0] ? ": " : "", d->stop_note);
	else
		fprintf(f, "    path            module deferred stop, request %llu: the call returned "
			"at once;\n                    it ended %s after %.3f ms (KVM work %.3f ms; %u "
			"slots: %u done, %u skipped, %u failed),\n                    then the VMM's "
			"DIRTY_LOG_STOP (its records; KVM: nothing to change) %.3f ms\n",
			(unsigned long long)k->stop_id, k->stop_state ? k->stop_state : "-",
			cli_ms(k->stop_end_ns), cli_ms(k->stop_work_ns), k->stop_slots, k->stop_done,
			k->stop_skipped, k->stop_failed, cli_ms(k->confirm_ns));
}

static void print_dirty_log(FILE *f, const struct kmig_migrate_stats *st)
{
	const struct kmig_dirty_stats *d = &st->dirty;

	fprintf(f, "  dirty-log calls   start %.3f ms; harvest %llu calls %.3f ms; clear %llu "
		"calls %.3f ms; stop %.3f ms\n", cli_ms(d->start_ns), (unsigned long long)d->harvests,
		cli_ms(d->harvest_ns), (unsigned long long)d->clears, cli_ms(d->clear_ns), cli_ms(d->stop_ns));
	if (d->harvest_path) {
		print_harvest(f, st);
		print_first_pass(f, d);
	}
	print_stop(f, st);
}

void cli_migrate_table(FILE *f, const char *cmd, const struct kmig_migrate_stats *st)
{
	const struct kmig_chan_stats *s = &st->stream.sum;

	fprintf(f, "kmig %s: %s after %.3f s (setup %.3f s)\n", cmd,
		kmig_migrate_state_name(st->state), st->total_ns / 1e9, st->setup_ns / 1e9);
	if (st->error[0])
		fprintf(f, "  error             %s\n", st->error);
	fprintf(f, "  dirty tracking    %s\n", st->dirty_path[0] ? st->dirty_path : "-");
	fprintf(f, "  zero detection    pages without the tracker's hints, on the sender threads: "
		"%s\n", st->zero_path[0] ? st->zero_path : "-");
	fprintf(f, "  RAM               %.1f MiB, %u channel%s, codec %s%s\n", cli_mib(st->ram_bytes),
		st->stream.nr_channels, st->stream.nr_channels == 1 ? "" : "s",
		st->stream.auto_compress ? "auto:" : "", st->stream.codec ? st->stream.codec : "-");
	fprintf(f, "  channels          %s\n", cli_tls_words(&st->stream));
	fprintf(f, "  transferred       %.1f MiB on the wire, %.1f MiB/s over the migration\n",
		cli_mib(s->bytes_wire), throughput_mib(st));
	fprintf(f, "  pages             zero %llu (%llu never read), normal %llu (compressed %llu)\n",
		(unsigned long long)zero_pages(st), (unsigned long long)s->pages_none,
		(unsigned long long)normal_pages(st), (unsigned long long)s->pages_compressed);
	fprintf(f, "  dirty syncs       %u (%u transfers)%s%s\n", st->dirty_syncs, st->iterations,
		st->converged[0] ? "; switchover: " : "", st->converged);
	if (st->first_pass_ns)
		fprintf(f, "  first pass        %.3f ms; after it, %u harvests %.3f ms and the sender "
			"threads' classification %.3f ms\n", cli_ms(st->first_pass_ns),
			st->later_harvests, cli_ms(st->later_harvest_ns), cli_ms(st->later_classify_ns));
	fprintf(f, "  dirty rate        %llu pages/s; bandwidth %.1f MiB/s (last measured)\n",
		(unsigned long long)st->dirty_rate, cli_mib(st->bandwidth));
	fprintf(f, "  expected downtime ");
	if (st->expected_downtime_ns == UINT64_MAX)
		fprintf(f, "unknown\n");
	else
		fprintf(f, "%.3f ms\n", cli_ms(st->expected_downtime_ns));
	if (st->downtime.total_ns)
		print_downtime(f, st);
	print_strict(f, st);
	fprintf(f, "  throttle          %u %% now, %u %% at most\n", st->throttle, st->throttle_peak);
	print_dirty_log(f, st);
	fprintf(f, "  source VMM        %s (dirty logging %s)\n", st->source_end ? st->source_end : "-",
		st->source_dirty_log ? st->source_dirty_log : "-");
	if (st->nr_rows)
		print_rows(f, st);
}

static void json_rows(struct json *j, const struct kmig_migrate_stats *st)
{
	json_arr(j, "iterations");
	for (uint32_t i = 0; i < st->nr_rows; i++) {
		const struct kmig_migrate_iter *it = &st->iter[i];

		json_obj(j, NULL);
		json_u64(j, "index", it->index);
		json_bool(j, "final", it->final);
		json_u64(j, "throttle_pct", it->throttle);
		json_u64(j, "dirty_pages", it->dirty_pages);
		json_u64(j, "zero_hinted", it->zero_hinted);
		json_u64(j, "data_pages", it->data_pages);
		json_u64(j, "zero_pages", it->zero_pages);
		json_u64(j, "bytes", it->bytes);
		json_u64(j, "harvest_ns", it->harvest_ns);
		json_u64(j, "clear_ns", it->clear_ns);
		json_u64(j, "transfer_ns", it->transfer_ns);
		json_u64(j, "scan_ns", it->scan_ns);
		json_u64(j, "classify_ns", it->classify_ns);
		json_u64(j, "dirty_rate_pages_s", it->dirty_rate);
		json_u64(j, "bandwidth_bytes_s", it->bandwidth);
		if (it->expected_downtime_ns != UINT64_MAX)
			json_u64(j, "expected_downtime_ns", it->expected_downtime_ns);
		json_end(j);
	}
	json_end(j);
}

/* The parts of a downtime, the same keys for the estimate and the actual. */
static void json_parts(struct json *j, uint64_t total, const struct kmig_dt_parts *p)
{
	json_u64(j, "total_ns", total);
	for (size_t i = 0; i < NR_PARTS; i++)
		json_u64(j, parts[i].key, part(p, i));
}

static void json_downtime(struct json *j, const struct kmig_migrate_downtime *d)
{
	const struct kmig_dt_parts p = actual_parts(d);

	json_obj(j, "downtime");
	json_parts(j, d->total_ns, &p);
	json_u64(j, "dirty_log_stop_ns", d->stop_ns);
	json_u64(j, "dst_device_state_ns", d->dst_devstate_ns);
	json_u64(j, "dst_vmm_commit_ns", d->dst_commit_ns);
	json_u64(j, "dst_commit_to_resumed_ns", d->dst_total_ns);
	json_end(j);
}

/* The parts of the estimate, with the same keys as the actual ones. */
static void json_expected(struct json *j, const struct kmig_dt_parts *e)
{
	json_obj(j, "expected_downtime");
	json_parts(j, kmig_dt_parts_sum(e), e);
	json_end(j);
}

static void json_strict(struct json *j, const struct kmig_migrate_stats *st)
{
	json_obj(j, "strict");
	json_bool(j, "enabled", st->strict);
	json_u64(j, "aborts", st->aborts);
	json_str(j, "last_abort", st->abort_reason);
	json_u64(j, "max_resumed_pause_ns", st->max_pause_ns);
	json_u64(j, "margin_ns", KMIG_STRICT_MARGIN_NS);
	json_end(j);
}

static void json_dirty(struct json *j, const struct kmig_migrate_stats *st)
{
	const struct kmig_dirty_stats *d = &st->dirty;

	json_obj(j, "dirty_log");
	json_u64(j, "start_ns", d->start_ns);
	json_u64(j, "harvest_calls", d->harvests);
	json_u64(j, "harvest_ns", d->harvest_ns);
	json_u64(j, "clear_calls", d->clears);
	json_u64(j, "clear_ns", d->clear_ns);
	json_u64(j, "stop_ns", d->stop_ns);
	json_u64(j, "vmm_reported_ns", d->vmm_ns);
	json_u64(j, "stop_after_switchover_ns", st->stop_after_ns);
	json_u64(j, "settle_ns", d->settle_ns);
	json_end(j);
}

/* Which path did what (module or fallback), and the module's own figures. */
static void json_paths(struct json *j, const struct kmig_dirty_stats *d)
{
	const struct kmig_dirty_kmod_stats *k = &d->kmod;

	json_obj(j, "paths");
	json_str(j, "harvest", d->harvest_path);
	json_str(j, "dirty_zero", d->zero_path);
	json_str(j, "first_pass_zero", d->first_pass_path);
	json_str(j, "module_use", d->module_use);
	json_str(j, "log_stop", d->stop_path);
	json_str(j, "log_stop_note", d->stop_note);
	json_end(j);
	json_obj(j, "module");
	json_u64(j, "harvest_ioctls", k->ioctls);
	json_u64(j, "harvest_dirty_pages", k->dirty);
	json_u64(j, "harvest_zero_pages", k->zero);
	json_u64(j, "harvest_zero_known", k->zero_known);
	json_u64(j, "scan_pieces", k->scan_pieces);
	json_u64(j, "scan_pieces_dense", k->scan_dense);
	json_u64(j, "scan_calls", k->scan_calls);
	json_u64(j, "scan_ns", k->scan_ns);
	json_u64(j, "scan_zero_pages", k->scan_none + k->scan_zero_page + k->scan_zero_data);
	json_u64(j, "scan_never_populated", k->scan_none);
	json_u64(j, "scan_zero_page", k->scan_zero_page);
	json_u64(j, "scan_zero_read", k->scan_zero_data);
	json_u64(j, "scan_data_pages", k->scan_nonzero);
	json_u64(j, "stop_id", k->stop_id);
	json_str(j, "stop_state", k->stop_state);
	json_u64(j, "stop_end_ns", k->stop_end_ns);
	json_u64(j, "stop_work_ns", k->stop_work_ns);
	json_u64(j, "stop_slots", k->stop_slots);
	json_u64(j, "stop_slots_done", k->stop_done);
	json_u64(j, "stop_slots_skipped", k->stop_skipped);
	json_u64(j, "stop_slots_failed", k->stop_failed);
	json_u64(j, "stop_confirm_ns", k->confirm_ns);
	json_end(j);
}

static double first_pass_pct(const struct kmig_migrate_stats *st)
{
	uint64_t pages = st->ram_bytes / KMIG_PAGE_SIZE;

	return pages ? 100.0 * st->first_pass_pages / pages : 0;
}

/* "ETA 1.2 s", or why there is none. */
static void eta_words(const struct kmig_migrate_stats *st, char *buf, size_t len)
{
	if (st->eta_ns != UINT64_MAX)
		snprintf(buf, len, "ETA %.1f s", cli_secs(st->eta_ns));
	else if (st->state == KMIG_MIGRATE_PRECOPY && st->dirty_rate)
		snprintf(buf, len, "ETA unknown (dirtied as fast as sent)");
	else
		snprintf(buf, len, "ETA unknown");
}

static void json_progress(struct json *j, const struct kmig_migrate_stats *st)
{
	json_obj(j, "progress");
	json_double(j, "first_pass_pct", first_pass_pct(st), 1);
	json_u64(j, "remaining_bytes", st->remaining_bytes);
	json_u64(j, "sent_bytes", st->stream.sum.bytes_wire);
	json_double(j, "rate_mib_s", st->bandwidth ? cli_mib(st->bandwidth) : throughput_mib(st), 1);
	json_u64(j, "dirty_rate_pages_s", st->dirty_rate);
	if (st->eta_ns != UINT64_MAX)
		json_u64(j, "eta_ns", st->eta_ns);
	json_end(j);
}

void cli_migrate_json(struct json *j, const char *key, const struct kmig_migrate_stats *st)
{
	json_obj(j, key);
	json_str(j, "role", "migrate");
	json_str(j, "status", kmig_migrate_state_name(st->state));
	json_str(j, "error", st->error);
	json_str(j, "source", st->source_end);
	json_str(j, "source_dirty_log", st->source_dirty_log);
	json_str(j, "dirty_tracking", st->dirty_path);
	json_str(j, "zero_detection", st->zero_path);
	json_bool(j, "module_used", st->dirty.harvest_path &&
		  !strcmp(st->dirty.harvest_path, "module"));
	json_str(j, "converged", st->converged);
	json_u64(j, "ram_bytes", st->ram_bytes);
	json_u64(j, "total_ns", st->total_ns);
	json_u64(j, "setup_ns", st->setup_ns);
	json_u64(j, "downtime_ns", st->downtime.total_ns);
	json_u64(j, "downtime_limit_ns", st->downtime_limit_ns);
	if (st->expected_downtime_ns != UINT64_MAX)
		json_u64(j, "expected_downtime_ns", st->expected_downtime_ns);
	json_u64(j, "transferred_bytes", st->stream.sum.bytes_wire);
	json_u64(j, "pages_zero", zero_pages(st));
	json_u64(j, "pages_never_read", st->stream.sum.pages_none);
	json_u64(j, "pages_normal", normal_pages(st));
	json_u64(j, "pages_compressed", st->stream.sum.pages_compressed);
	json_u64(j, "dirty_rate_pages_s", st->dirty_rate);
	json_u64(j, "bandwidth_bytes_s", st->bandwidth);
	json_double(j, "throughput_mib_s", throughput_mib(st), 1);
	json_u64(j, "dirty_sync_count", st->dirty_syncs);
	json_u64(j, "first_pass_ns", st->first_pass_ns);
	json_obj(j, "harvest_classify");
	json_u64(j, "harvests", st->later_harvests);
	json_u64(j, "harvest_ns", st->later_harvest_ns);
	json_u64(j, "classify_ns", st->later_classify_ns);
	json_end(j);
	json_u64(j, "transfers", st->iterations);
	json_u64(j, "throttle_pct", st->throttle);
	json_u64(j, "throttle_peak_pct", st->throttle_peak);
	json_downtime(j, &st->downtime);
	json_expected(j, &st->expected);
	json_strict(j, st);
	json_progress(j, st);
	json_dirty(j, st);
	json_paths(j, &st->dirty);
	json_rows(j, st);
	cli_stream_json(j, "stream", &st->stream);
	json_end(j);
}

void cli_migrate_line(const char *cmd, const struct kmig_migrate_stats *st, char *line,
		      size_t len)
{
	char eta[48], aborts[32] = "";

	eta_words(st, eta, sizeof(eta));
	if (st->aborts)
		snprintf(aborts, sizeof(aborts), ", %u strict aborts", st->aborts);
	snprintf(line, len, "%s: %s, first pass %.0f%%, sync %u, %.0f MiB sent, %.1f MiB left, "
		 "%.0f MiB/s, %llu dirty pages/s, %s, throttle %u%%%s", cmd,
		 kmig_migrate_state_name(st->state), first_pass_pct(st), st->dirty_syncs,
		 cli_mib(st->stream.sum.bytes_wire), cli_mib(st->remaining_bytes),
		 st->bandwidth ? cli_mib(st->bandwidth) : throughput_mib(st),
		 (unsigned long long)st->dirty_rate, eta, st->throttle, aborts);
}

void cli_incoming_table(FILE *f, const struct kmig_incoming_stats *st)
{
	const struct kmig_chan_stats *s = &st->stream.sum;

	fprintf(f, "kmig incoming: %s after %.3f s\n", kmig_incoming_state_name(st->state),
		st->total_ns / 1e9);
	if (st->error[0])
		fprintf(f, "  error             %s\n", st->error);
	if (st->warning[0])
		fprintf(f, "  warning           %s\n", st->warning);
	fprintf(f, "  RAM               %.1f MiB in the VMM's memfds, %u channel%s, codec %s\n",
		cli_mib(st->ram_bytes), st->stream.nr_channels, st->stream.nr_channels == 1 ? "" : "s",
		st->stream.codec ? st->stream.codec : "-");
	fprintf(f, "  channels          %s\n", cli_tls_words(&st->stream));
	fprintf(f, "  received          %.1f MiB on the wire in %.3f s\n", cli_mib(s->bytes_wire),
		st->receive_ns / 1e9);
	fprintf(f, "  pages             zero markers %llu (%llu cleared a written page, the rest "
		"never touched), normal %llu (compressed %llu)\n",
		(unsigned long long)s->pages_zero, (unsigned long long)s->pages_zeroed,
		(unsigned long long)(s->pages_raw + s->pages_compressed),
		(unsigned long long)s->pages_compressed);
	fprintf(f, "  switchover        device state %llu bytes staged in %.3f ms; COMMIT from the "
		"source after %.3f ms;\n                    VMM COMMIT (memslots + state, one batch, "
		"then run) %.3f ms (VMM: %.3f); RESUMED sent %.3f ms after COMMIT\n",
		(unsigned long long)st->devstate_bytes, cli_ms(st->devstate_ns), cli_ms(st->wait_commit_ns),
		cli_ms(st->commit_ns), cli_ms(st->vmm_commit_ns), cli_ms(st->resumed_ns));
	if (st->aborts)
		fprintf(f, "  aborted           %u switchover%s by the source (strict limit): staged "
			"state dropped by the VMM %u time%s, pages received again\n", st->aborts,
			st->aborts == 1 ? "" : "s", st->drops, st->drops == 1 ? "" : "s");
	fprintf(f, "  destination VMM   %s\n", st->vmm_end ? st->vmm_end : "-");
}

void cli_incoming_json(struct json *j, const struct kmig_incoming_stats *st)
{
	json_obj(j, NULL);
	json_str(j, "role", "incoming");
	json_str(j, "status", kmig_incoming_state_name(st->state));
	json_str(j, "error", st->error);
	json_str(j, "warning", st->warning);
	json_str(j, "vmm", st->vmm_end);
	json_u64(j, "ram_bytes", st->ram_bytes);
	json_u64(j, "total_ns", st->total_ns);
	json_u64(j, "receive_ns", st->receive_ns);
	json_u64(j, "device_state_ns", st->devstate_ns);
	json_u64(j, "device_state_bytes", st->devstate_bytes);
	json_u64(j, "wait_commit_ns", st->wait_commit_ns);
	json_u64(j, "commit_ns", st->commit_ns);
	json_u64(j, "vmm_commit_ns", st->vmm_commit_ns);
	json_u64(j, "commit_to_resumed_ns", st->resumed_ns);
	json_u64(j, "aborts", st->aborts);
	json_u64(j, "staged_dropped", st->drops);
	cli_stream_json(j, "stream", &st->stream);
	json_end(j);
}

void cli_incoming_line(const struct kmig_incoming_stats *st, char *line, size_t len)
{
	const struct kmig_chan_stats *s = &st->stream.sum;

	snprintf(line, len, "incoming: %s, %.0f MiB received, %llu pages written",
		 kmig_incoming_state_name(st->state), cli_mib(s->bytes_wire),
		 (unsigned long long)(s->pages_raw + s->pages_compressed));
}
