/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The reports of the kmig command, rendered from the library's statistics
 * structs: a table for people, one JSON object (json.h) for scripts, and
 * the progress line. @cmd is the subcommand that reports ("migrate",
 * "save"): the library returns structs and never prints the CLI's words.
 * The JSON keys are an interface (tests, benchmarks and selftests read
 * them): add keys, never rename or drop one.
 */
#ifndef KMIG_CLI_SHOW_H
#define KMIG_CLI_SHOW_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "json.h"
#include "migrate/incoming.h"
#include "migrate/migrate.h"
#include "migrate/restore.h"
#include "pages/stats.h"

/* The units of the tables. */
static inline double cli_secs(uint64_t ns)
{
	return ns / 1e9;
}

static inline double cli_ms(uint64_t ns)
{
	return ns / 1e6;
}

static inline double cli_mib(uint64_t bytes)
{
	return bytes / 1048576.0;
}

/* MiB/s of @bytes in @ns (0 for no time). */
static inline double cli_mib_s(uint64_t bytes, uint64_t ns)
{
	return ns ? cli_mib(bytes) / cli_secs(ns) : 0;
}

/* kmig send / receive, and the "stream" / "read" part of the others. */
void cli_stream_table(FILE *f, const char *cmd, const struct kmig_stats *st);
void cli_stream_json(struct json *j, const char *key, const struct kmig_stats *st);
/* What protected the pages: "TLSv1.3 TLS_AES_128_GCM_SHA256, kernel TLS to
 * send", or "no TLS (plaintext), page sums" (or "no page sums"); and TLS
 * as the JSON object "tls". */
const char *cli_tls_words(const struct kmig_stats *st);
void cli_tls_json(struct json *j, const struct kmig_tls_stats *t);

/* kmig migrate and kmig save (and migrate-status). */
void cli_migrate_table(FILE *f, const char *cmd, const struct kmig_migrate_stats *st);
void cli_migrate_json(struct json *j, const char *key, const struct kmig_migrate_stats *st);
void cli_migrate_line(const char *cmd, const struct kmig_migrate_stats *st, char *line,
		      size_t len);

void cli_incoming_table(FILE *f, const struct kmig_incoming_stats *st);
void cli_incoming_json(struct json *j, const struct kmig_incoming_stats *st);
void cli_incoming_line(const struct kmig_incoming_stats *st, char *line, size_t len);

/* kmig stat and kmig monitor: a deferred stop's state name, and its
 * fields (without the enclosing object; "now" only for monitor). */
struct kmig_nl_stop;
const char *cli_stop_state(uint32_t state);
void cli_stop_json(struct json *j, const struct kmig_nl_stop *s, bool with_now);

void cli_restore_table(FILE *f, const struct kmig_restore_stats *st);
void cli_restore_json(struct json *j, const struct kmig_restore_stats *st);
void cli_restore_line(const struct kmig_restore_stats *st, char *line, size_t len);

#endif /* KMIG_CLI_SHOW_H */
