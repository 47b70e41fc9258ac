// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/bits.h"
#include "cli.h"
#include "precopy/precopy.h"
#include "show.h"

int cli_err(const char *cmd, const char *op, const char *obj, int err, const char *detail)
{
	fprintf(stderr, "kmig %s: %s%s%s: %s", cmd, op, obj && *obj ? " " : "", obj ? obj : "",
		strerror(err < 0 ? -err : err));
	if (detail && *detail)
		fprintf(stderr, " (%s)", detail);
	fputc('\n', stderr);
	return 1;
}

uint64_t cli_phys_mem(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);

	return pages > 0 && size > 0 ? (uint64_t)pages * (uint64_t)size : 1ULL << 30;
}

int cli_parse_compress(const char *v, struct kmig_send_opts *o)
{
	int id;

	o->auto_compress = 0;
	if (!strncmp(v, "auto", 4) && (!v[4] || v[4] == ':')) {
		o->auto_compress = 1;
		v = v[4] ? v + 5 : "zstd";
	}
	id = kmig_codec_parse(v);
	if (id < 0 || (o->auto_compress && id == KMIG_CODEC_NONE))
		return -EINVAL;
	o->codec = id;
	return 0;
}

void cli_precopy_progress(struct kmig_precopy *pc, const char *cmd, char *line, size_t len)
{
	struct kmig_migrate_stats *st = malloc(sizeof(*st));

	line[0] = '\0';
	if (!st)
		return;
	kmig_precopy_stats(pc, st);
	cli_migrate_line(cmd, st, line, len);
	free(st);
}

void cli_note_no_module(void *arg, const char *why)
{
	fprintf(stderr, "kmig: not using kmig.ko: %s\n", why);
}

int cli_parse_module(const char *v, struct kmig_precopy_opts *o)
{
	if (kmig_dirty_use_parse(v, &o->module))
		return -EINVAL;
	o->no_module_why = "--module none";
	return 0;
}

void cli_no_module(struct kmig_precopy_opts *o)
{
	o->module = 0;
	o->no_module_why = "--no-module";
}

int cli_add_block(struct kmig_ram *ram, const char *spec, bool writable)
{
	const char *eq = strchr(spec, '=');
	char name[KMIG_BLOCK_NAME_MAX + 1];

	if (!eq || eq == spec || (size_t)(eq - spec) > KMIG_BLOCK_NAME_MAX || !eq[1])
		return -EINVAL;
	memcpy(name, spec, eq - spec);
	name[eq - spec] = '\0';
	return kmig_ram_add_file(ram, name, eq + 1, writable, NULL);
}

int cli_write_ready(const char *path, uint16_t port)
{
	char tmp[PATH_MAX];
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "%u\n", port);
	if (fclose(f) || rename(tmp, path))
		return -errno;
	return 0;
}

void cli_block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* Without a terminal (a service manager's log, a file), a plain line
 * every PLAIN_TICKS ticks of 0.5 s instead of a redrawn one. */
#define PLAIN_TICKS	10
#define TICK_NS		500000000ULL

static void draw(struct cli_watch *w, unsigned int tick)
{
	char line[240];

	if (!w->progress || (!w->tty && (!tick || tick % PLAIN_TICKS)))
		return;
	w->progress(w->obj, line, sizeof(line));
	if (w->tty)
		fprintf(stderr, "\r%-119.119s", line);
	else if (line[0])
		fprintf(stderr, "%s\n", line);
}

/* The watched signals, pending (blocked in every thread: cli_block_signals()):
 * the first one taken, or 0. */
static int take_signal(const sigset_t *set)
{
	static const struct timespec now = { 0, 0 };
	int sig = sigtimedwait(set, NULL, &now);

	return sig > 0 ? sig : 0;
}

/*
 * Sleeps until the next tick, a watched signal or cli_watch_stop(),
 * whichever comes first: the signalfd and the eventfd only wake the poll
 * (the signal itself is taken by sigtimedwait()), so if either could not
 * be created, that event is only seen at the next tick.
 */
static void wait_tick(struct cli_watch *w, uint64_t tick_at)
{
	struct pollfd p[2] = { { .fd = w->sig_fd, .events = POLLIN },
			       { .fd = w->stop_fd, .events = POLLIN } };
	uint64_t now = kmig_now_ns();

	if (now < tick_at)
		poll(p, 2, (tick_at - now + 999999) / 1000000);
}

static void *watch_main(void *arg)
{
	struct cli_watch *w = arg;
	uint64_t tick_at = kmig_now_ns();
	unsigned int tick = 0;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	while (!__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE)) {
		int sig = take_signal(&set);

		if (sig > 0) {
			char why[32];

			w->signalled = sig;
			snprintf(why, sizeof(why), "signal SIG%s", sigabbrev_np(sig) ?: "?");
			w->cancel(w->obj, why);
			continue;
		}
		if (kmig_now_ns() >= tick_at + TICK_NS) {
			tick_at = kmig_now_ns();
			draw(w, ++tick);
		}
		wait_tick(w, tick_at + TICK_NS);
	}
	if (w->tty && w->progress)
		fprintf(stderr, "\r%119s\r", "");
	return NULL;
}

void cli_watch_start(struct cli_watch *w)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	w->tty = isatty(STDERR_FILENO);
	w->stop = 0;
	w->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	w->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pthread_create(&w->thread, NULL, watch_main, w);
}

/* Immediate: the watcher wakes now, not at its next tick (a process whose
 * work is done must not linger for up to 0.5 s). */
void cli_watch_stop(struct cli_watch *w)
{
	__atomic_store_n(&w->stop, 1, __ATOMIC_RELEASE);
	if (w->stop_fd >= 0)
		(void)!eventfd_write(w->stop_fd, 1);
	pthread_join(w->thread, NULL);
	if (w->sig_fd >= 0)
		close(w->sig_fd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
}
