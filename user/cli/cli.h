/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the kmig subcommands: option helpers (the parser: opt.h), error reports
 * ("kmig <cmd>: <operation> <object>: <strerror>"), and the watcher thread
 * that turns SIGINT/SIGTERM into a cancel and draws the progress line. */
#ifndef KMIG_CLI_H
#define KMIG_CLI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/ram.h"
#include "opt.h"
#include "stream/send.h"

struct cli_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

int cmd_send(int argc, char **argv);
int cmd_receive(int argc, char **argv);
int cmd_genimage(int argc, char **argv);
int cmd_migrate(int argc, char **argv);
int cmd_incoming(int argc, char **argv);
int cmd_migrate_cancel(int argc, char **argv);
int cmd_migrate_status(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_monitor(int argc, char **argv);
int cmd_save(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_snapshot_info(int argc, char **argv);

/* Report and return 1 (the exit status). @detail may be NULL or "". */
int cli_err(const char *cmd, const char *op, const char *obj, int err, const char *detail);

struct kmig_precopy;
/* The progress line of a precopy engine (kmig migrate and kmig save). */
void cli_precopy_progress(struct kmig_precopy *pc, const char *cmd, char *line, size_t len);
/* kmig_precopy_opts.no_module: the note on stderr. */
void cli_note_no_module(void *arg, const char *why);
/* This machine's physical memory in bytes: the default of --max-ram (a
 * claim of more cannot be held here anyway). */
uint64_t cli_phys_mem(void);
/* --compress: none, zlib, zstd, lz4, auto, auto:CODEC -> @o's codec;
 * -EINVAL otherwise. */
#define CLI_COMPRESS_EXPECT "none, zlib, zstd, lz4, auto, auto:CODEC"
int cli_parse_compress(const char *v, struct kmig_send_opts *o);
struct kmig_precopy_opts;
/* --module FUNCS -> @o's module functions (0 also sets why: "--module
 * none"); -EINVAL otherwise. */
#define CLI_MODULE_EXPECT "a comma list of harvest, scan, classify (needs harvest), stop, " \
	"scan-dense (needs scan); or all, none, default"
int cli_parse_module(const char *v, struct kmig_precopy_opts *o);
/* --no-module: the userspace fallback, and why. */
void cli_no_module(struct kmig_precopy_opts *o);
/* "name=path" -> block in @ram (read-only file). */
int cli_add_block(struct kmig_ram *ram, const char *spec, bool writable);

/* Write @port and a newline to @path atomically (via @path.tmp): a test
 * waits for the file, then connects. */
int cli_write_ready(const char *path, uint16_t port);

/* --landing, the same for incoming and receive (@f: the struct
 * kmig_recv_opts's landing; kmig_landing_names, stream/rx.h). */
#define CLI_LANDING_OPTION(T, f) \
	{ CLI_CHOICE("landing", 0, T, f, kmig_landing_names, "HOW", \
		     "how fresh pages land in the destination's files:\n" \
		     "auto (default): through the mapping with huge\n" \
		     "pages into a VMM's memfds that get them only so\n" \
		     "(THP shmem_enabled=advise), else splice(); splice;\n" \
		     "map (a 2 MiB range with any data page is then\n" \
		     "allocated whole)") }

/* --no-page-sums: the sender's (migrate, send) and the receiver's
 * (incoming, receive); both ends must say it (KMIG_FEAT_NO_PSUM). */
#define CLI_NO_PAGE_SUMS_SEND(T, f) \
	{ CLI_FLAG("no-page-sums", 0, T, f, \
		   "send pages without their page sums, as QEMU does, for\n" \
		   "a link you trust (plaintext; the receiver must say\n" \
		   "--no-page-sums too): a byte corrupted in transit is\n" \
		   "then not detected; TLS checks every byte anyway") }
#define CLI_NO_PAGE_SUMS_RECV(T, f) \
	{ CLI_FLAG("no-page-sums", 0, T, f, \
		   "accept pages without page sums from a plaintext\n" \
		   "sender that asks (--no-page-sums there): trust the\n" \
		   "link; pages that come with them are still checked") }

/* TLS options (cli/tls.c): the same four in migrate, incoming, send and
 * receive; CLI_TLS_OPTIONS(args type, field of type struct cli_tls). */
struct kmig_tls;
struct cli_tls {
	const char *psk, *creds, *peer;
	bool require;
};
/* --downtime-strict and --strict-retries, the same for migrate and save
 * (@f: their struct kmig_precopy_opts). */
#define CLI_STRICT_OPTIONS(T, f) \
	{ CLI_FLAG("downtime-strict", 0, T, f.downtime_strict, \
		   "never pause the guest past the limit (+20 ms):\n" \
		   "abort the switchover, resume it, precopy again") }, \
	{ CLI_UINT("strict-retries", 0, T, f.strict_retries, 1, 1000, "N", \
		   "aborted switchovers before failing (default 3)") }
#define CLI_TLS_OPTIONS(T, f) \
	{ CLI_STR("tls-psk", 0, T, f.psk, "FILE", "TLS 1.3 on every channel, with the pre-shared key\n" \
		  "in FILE (hex, owner-only; openssl rand -hex 32)") }, \
	{ CLI_STR("tls-creds", 0, T, f.creds, "DIR", "TLS 1.3 with x509: DIR has ca-cert.pem, cert.pem,\n" \
		  "key.pem (both sides prove their certificate)") }, \
	{ CLI_STR("tls-peer", 0, T, f.peer, "NAME", "x509: the name the peer's certificate must carry\n" \
		  "(default: a sender checks the host it connects to)") }, \
	{ CLI_FLAG("require-tls", 0, T, f.require, "refuse to run without --tls-psk or --tls-creds") }
/* The TLS context from the options (*@out NULL without TLS); a listener
 * (@server) on a non-loopback @host without TLS gets a warning. Prints
 * the error and returns the exit status (1; 2 for bad usage). */
int cli_tls_setup(const char *cmd, const struct cli_tls *o, bool server, const char *host,
		  struct kmig_tls **out);
/* kmig_recv_opts.refused: one line on stderr per refused connection
 * (@arg: the command's name). */
void cli_tls_refused(void *arg, const char *peer, const char *why);

/* Block SIGINT/SIGTERM in this thread (call before any thread starts),
 * so the watcher receives them. */
void cli_block_signals(void);

/* Watcher: waits for SIGINT/SIGTERM (then calls cancel(obj)) and every
 * 0.5 s calls progress(obj, line, len) and redraws the line on a TTY;
 * when stderr is not a terminal, prints it as a plain line every 5 s. */
struct cli_watch {
	pthread_t thread;
	void *obj;
	void (*cancel)(void *obj, const char *why);	/* why: "signal SIGINT" */
	void (*progress)(void *obj, char *line, size_t len);
	bool tty;
	int stop;
	int signalled;
	int sig_fd, stop_fd;	/* wake the watcher: a signal, the stop; -1: none */
};

void cli_watch_start(struct cli_watch *w);
void cli_watch_stop(struct cli_watch *w);

/* A control socket (ctl.c): one request line per connection, answered by
 * @handle into @reply, served on a thread of its own. */
struct cli_ctl {
	pthread_t thread;
	int lfd, stop_fd;
	char path[108];
	void *obj;
	void (*handle)(void *obj, const char *req, FILE *reply);
	bool started;
};

int cli_ctl_start(struct cli_ctl *c, const char *path,
		  void (*handle)(void *obj, const char *req, FILE *reply), void *obj);
/* Stops the thread and removes the socket file. */
void cli_ctl_stop(struct cli_ctl *c);

#endif /* KMIG_CLI_H */
