// SPDX-License-Identifier: GPL-2.0
/* The stream's statistics (kmig send, kmig receive, and the stream part of
 * the other reports): a table, or JSON. */
#include "base/ram.h"
#include "show.h"

/* Bytes of guest RAM covered: every page kind counts one page. */
static uint64_t covered(const struct kmig_chan_stats *c)
{
	return (c->pages_none + c->pages_zero + c->pages_raw + c->pages_compressed) *
	       (uint64_t)KMIG_PAGE_SIZE;
}

static void print_chan(FILE *f, const char *name, const struct kmig_chan_stats *c)
{
	fprintf(f, "  %-7s %9llu %11.1f %9llu %9llu %9llu %9llu %10.1f %8.2f %8.2f %8.2f\n",
		name, (unsigned long long)c->packets, cli_mib(c->bytes_wire),
		(unsigned long long)c->pages_none, (unsigned long long)c->pages_zero,
		(unsigned long long)c->pages_raw, (unsigned long long)c->pages_compressed,
		cli_mib(c->bytes_compressed), cli_secs(c->ns_classify), cli_secs(c->ns_codec),
		cli_secs(c->ns_io));
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

void cli_stream_table(FILE *f, const char *cmd, const struct kmig_stats *st)
{
	const struct kmig_chan_stats *s = &st->sum;
	uint64_t moved = covered(s);

	fprintf(f, "kmig %s: %u channel%s, codec %s%s, %s\n", cmd, st->nr_channels,
		st->nr_channels == 1 ? "" : "s", st->auto_compress ? "auto:" : "", st->codec,
		cli_tls_words(st));
	fprintf(f, "  total time        %10.3f s (setup %.3f, pages %.3f, finish %.3f)\n",
		cli_secs(st->ns_total), cli_secs(st->ns_phase[KMIG_PHASE_SETUP]),
		cli_secs(st->ns_phase[KMIG_PHASE_PAGES]), cli_secs(st->ns_phase[KMIG_PHASE_FINISH]));
	fprintf(f, "  RAM               %10.1f MiB in blocks, %.1f MiB of pages transferred\n",
		cli_mib(st->ram_bytes), cli_mib(moved));
	fprintf(f, "  on the wire       %10.1f MiB (%.2fx smaller than the pages)\n",
		cli_mib(s->bytes_wire), s->bytes_wire ? (double)moved / s->bytes_wire : 0);
	fprintf(f, "  throughput        %10.1f MiB/s of pages, %.1f MiB/s on the wire\n",
		cli_mib_s(moved, st->ns_total), cli_mib_s(s->bytes_wire, st->ns_total));
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

const char *cli_tls_words(const struct kmig_stats *st)
{
	const struct kmig_tls_stats *t = &st->tls;
	static __thread char buf[128];

	if (!t->on)
		return st->no_page_sums ? "no TLS (plaintext), no page sums (--no-page-sums)" :
		       "no TLS (plaintext), page sums";
	snprintf(buf, sizeof(buf), "%s %s, %s", t->version, t->cipher,
		 t->ktls_tx && t->ktls_rx ? "kernel TLS" : t->ktls_tx ? "kernel TLS to send" :
		 t->ktls_rx ? "kernel TLS to receive" : "userspace TLS");
	return buf;
}

void cli_tls_json(struct json *j, const struct kmig_tls_stats *t)
{
	json_obj(j, "tls");
	json_bool(j, "on", t->on);
	if (t->on) {
		json_str(j, "version", t->version);
		json_str(j, "cipher", t->cipher);
		json_bool(j, "ktls_tx", t->ktls_tx);
		json_bool(j, "ktls_rx", t->ktls_rx);
	}
	json_end(j);
}

static void json_chan(struct json *j, const char *key, const struct kmig_chan_stats *c)
{
	json_obj(j, key);
#define JSON(x) json_u64(j, #x, c->x);
	KMIG_CHAN_STATS_FIELDS(JSON)
#undef JSON
	json_end(j);
}

void cli_stream_json(struct json *j, const char *key, const struct kmig_stats *st)
{
	uint64_t moved = covered(&st->sum);

	json_obj(j, key);
	json_str(j, "role", st->role);
	json_str(j, "codec", st->codec);
	json_bool(j, "auto_compress", st->auto_compress);
	json_bool(j, "no_page_sums", st->no_page_sums);
	json_u64(j, "channels", st->nr_channels);
	json_u64(j, "ram_bytes", st->ram_bytes);
	json_u64(j, "pages_queued", st->pages_queued);
	json_u64(j, "syncs", st->syncs);
	json_u64(j, "device_state_bytes", st->devstate_bytes);
	json_u64(j, "bytes_transferred", moved);
	json_u64(j, "total_ns", st->ns_total);
	json_u64(j, "setup_ns", st->ns_phase[KMIG_PHASE_SETUP]);
	json_u64(j, "pages_ns", st->ns_phase[KMIG_PHASE_PAGES]);
	json_u64(j, "finish_ns", st->ns_phase[KMIG_PHASE_FINISH]);
	json_double(j, "throughput_mib_s", cli_mib_s(moved, st->ns_total), 1);
	cli_tls_json(j, &st->tls);
	json_chan(j, "total", &st->sum);
	json_arr(j, "per_channel");
	for (unsigned int i = 0; i < st->nr_channels; i++)
		json_chan(j, NULL, &st->chan[i]);
	json_end(j);
	json_end(j);
}
