// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include "base/bits.h"
#include "base/ram.h"
#include "pages/stats.h"

#define FIELDS(X) \
	X(packets) X(bytes_wire) X(pages_none) X(pages_zero) X(pages_zeroed) \
	X(pages_raw) X(pages_compressed) X(bytes_compressed) X(batches_raw) \
	X(batches_compressed) X(bytes_read) X(bytes_copied) X(bytes_kcopied) X(pages_badcrc) \
	X(ns_classify) X(ns_codec) X(ns_io) X(ns_throttle)

void kmig_chan_stats_load(struct kmig_chan_stats *dst, const struct kmig_chan_stats *src)
{
#define LOAD(f) dst->f = KMIG_STAT_GET(src->f);
	FIELDS(LOAD)
#undef LOAD
}

void kmig_chan_stats_batch(struct kmig_chan_stats *c, uint64_t data, bool compressed,
			   uint64_t bytes)
{
	if (compressed) {
		KMIG_STAT_ADD(c->pages_compressed, data);
		KMIG_STAT_ADD(c->bytes_compressed, bytes);
		KMIG_STAT_ADD(c->batches_compressed, 1);
	} else if (data) {
		KMIG_STAT_ADD(c->pages_raw, data);
		KMIG_STAT_ADD(c->batches_raw, 1);
	}
}

void kmig_stats_sum(struct kmig_stats *st)
{
	memset(&st->sum, 0, sizeof(st->sum));
	for (unsigned int i = 0; i < st->nr_channels; i++) {
#define ADD(f) st->sum.f += st->chan[i].f;
		FIELDS(ADD)
#undef ADD
	}
}

static double secs(uint64_t ns)
{
	return ns / 1e9;
}

static double mib(uint64_t b)
{
	return b / 1048576.0;
}

static double rate_mib(uint64_t bytes, uint64_t ns)
{
	return ns ? mib(bytes) / secs(ns) : 0;
}

/* Bytes of guest RAM covered: every page kind counts one page. */
static uint64_t covered(const struct kmig_chan_stats *c)
{
	return (c->pages_none + c->pages_zero + c->pages_raw + c->pages_compressed) *
	       (uint64_t)KMIG_PAGE_SIZE;
}

static void print_chan(FILE *f, const char *name, const struct kmig_chan_stats *c)
{
	fprintf(f, "  %-7s %9llu %11.1f %9llu %9llu %9llu %9llu %10.1f %8.2f %8.2f %8.2f\n",
		name, (unsigned long long)c->packets, mib(c->bytes_wire),
		(unsigned long long)c->pages_none, (unsigned long long)c->pages_zero,
		(unsigned long long)c->pages_raw, (unsigned long long)c->pages_compressed,
		mib(c->bytes_compressed), secs(c->ns_classify), secs(c->ns_codec),
		secs(c->ns_io));
}

/* Page bytes read and copied per data page: the data path's budget. */
static void print_per_page(FILE *f, const struct kmig_chan_stats *s)
{
	double data = (double)(s->pages_raw + s->pages_compressed) * KMIG_PAGE_SIZE;

	if (!data)
		return;
	fprintf(f, "  per data page     read %.2fx, copied %.2fx by userspace + %.2fx by the "
		"kernel\n", s->bytes_read / data, s->bytes_copied / data, s->bytes_kcopied / data);
	if (s->pages_badcrc)
		fprintf(f, "  CRC mismatches    %llu data pages (each verified by a later copy)\n",
			(unsigned long long)s->pages_badcrc);
}

void kmig_stats_print(FILE *f, const struct kmig_stats *st)
{
	const struct kmig_chan_stats *s = &st->sum;
	uint64_t moved = covered(s);

	fprintf(f, "kmig %s: %u channel%s, codec %s%s\n", st->role, st->nr_channels,
		st->nr_channels == 1 ? "" : "s", st->auto_compress ? "auto:" : "", st->codec);
	fprintf(f, "  total time        %10.3f s (setup %.3f, pages %.3f, finish %.3f)\n",
		secs(st->ns_total), secs(st->ns_phase[KMIG_PHASE_SETUP]),
		secs(st->ns_phase[KMIG_PHASE_PAGES]), secs(st->ns_phase[KMIG_PHASE_FINISH]));
	fprintf(f, "  RAM               %10.1f MiB in blocks, %.1f MiB of pages transferred\n",
		mib(st->ram_bytes), mib(moved));
	fprintf(f, "  on the wire       %10.1f MiB (%.2fx smaller than the pages)\n",
		mib(s->bytes_wire), s->bytes_wire ? (double)moved / s->bytes_wire : 0);
	fprintf(f, "  throughput        %10.1f MiB/s of pages, %.1f MiB/s on the wire\n",
		rate_mib(moved, st->ns_total), rate_mib(s->bytes_wire, st->ns_total));
	fprintf(f, "  pages             none %llu, zero %llu (zeroed %llu), raw %llu, "
		"compressed %llu\n", (unsigned long long)s->pages_none,
		(unsigned long long)s->pages_zero, (unsigned long long)s->pages_zeroed,
		(unsigned long long)s->pages_raw, (unsigned long long)s->pages_compressed);
	print_per_page(f, s);
	fprintf(f, "  batches           raw %llu, compressed %llu; syncs %llu; device state %llu B\n",
		(unsigned long long)s->batches_raw, (unsigned long long)s->batches_compressed,
		(unsigned long long)st->syncs, (unsigned long long)st->devstate_bytes);
	fprintf(f, "  %-7s %9s %11s %9s %9s %9s %9s %10s %8s %8s %8s\n", "channel", "packets",
		"wire MiB", "none", "zero", "raw", "compr", "compr MiB", "class s",
		"codec s", "io s");
	for (unsigned int i = 0; i < st->nr_channels; i++) {
		char name[16];

		snprintf(name, sizeof(name), "%u", i);
		print_chan(f, name, &st->chan[i]);
	}
	print_chan(f, "total", s);
}

static void json_chan(FILE *f, const struct kmig_chan_stats *c)
{
	const char *sep = "";

	fputc('{', f);
#define JSON(x) fprintf(f, "%s\"%s\": %llu", sep, #x, (unsigned long long)c->x); sep = ", ";
	FIELDS(JSON)
#undef JSON
	fputc('}', f);
}

void kmig_stats_json(FILE *f, const struct kmig_stats *st)
{
	uint64_t moved = covered(&st->sum);

	fprintf(f, "{\"role\": \"%s\", \"codec\": \"%s\", \"auto_compress\": %s, "
		"\"channels\": %u, \"ram_bytes\": %llu, \"pages_queued\": %llu, "
		"\"syncs\": %llu, \"device_state_bytes\": %llu, \"bytes_transferred\": %llu, "
		"\"total_ns\": %llu, \"setup_ns\": %llu, \"pages_ns\": %llu, \"finish_ns\": %llu, "
		"\"throughput_mib_s\": %.1f, \"total\": ", st->role, st->codec,
		st->auto_compress ? "true" : "false", st->nr_channels,
		(unsigned long long)st->ram_bytes, (unsigned long long)st->pages_queued,
		(unsigned long long)st->syncs, (unsigned long long)st->devstate_bytes,
		(unsigned long long)moved, (unsigned long long)st->ns_total,
		(unsigned long long)st->ns_phase[KMIG_PHASE_SETUP],
		(unsigned long long)st->ns_phase[KMIG_PHASE_PAGES],
		(unsigned long long)st->ns_phase[KMIG_PHASE_FINISH],
		rate_mib(moved, st->ns_total));
	json_chan(f, &st->sum);
	fprintf(f, ", \"per_channel\": [");
	for (unsigned int i = 0; i < st->nr_channels; i++) {
		if (i)
			fprintf(f, ", ");
		json_chan(f, &st->chan[i]);
	}
	fprintf(f, "]}\n");
}
