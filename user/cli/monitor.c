// SPDX-License-Identifier: GPL-2.0
/* kmig monitor: print the module's netlink events as they come. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "base/bits.h"
#include "cli.h"
#include "show.h"
#include "kmod/kmod_nl.h"

struct mon_args {
	bool json;
	long count, timeout_s;
};

#define A struct mon_args
static const struct cli_opt options[] = {
	{ CLI_FLAG("json", 'j', A, json, "one JSON object per line") },
	{ CLI_UINT("count", 'c', A, count, 1, 1000000000, "N",
		   "exit 0 after N events (exit 1 if the timeout comes first)") },
	{ CLI_DURATION("timeout", 't', A, timeout_s, 1, 31536000, CLI_NS_S, CLI_NS_S, "S",
		       "exit after S seconds") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "monitor", .usage = "[--json] [--count N] [--timeout SECONDS]", .opt = options,
	.about = "  Print kmig.ko's events (deferred dirty-log stops that ended, sessions\n"
		 "  attached and closed) as they come, until SIGINT/SIGTERM, N events or\n"
		 "  the timeout. Needs CAP_NET_ADMIN.\n",
};

static const char *result_name(uint32_t r)
{
	static const char *const names[] = {
		[KMIG_STOP_SLOT_PENDING] = "not-handled", [KMIG_STOP_SLOT_DONE] = "done",
		[KMIG_STOP_SLOT_DELETED] = "skipped-deleted",
		[KMIG_STOP_SLOT_CHANGED] = "skipped-changed",
		[KMIG_STOP_SLOT_VM_GONE] = "skipped-vm-gone", [KMIG_STOP_SLOT_FAILED] = "failed",
		[KMIG_STOP_SLOT_STALE] = "skipped-stale",
	};

	return r < KMIG_ARRAY_SIZE(names) && names[r] ? names[r] : "unknown";
}

/* One compact JSON object per line ("key":value, the shape scripts match). */
static void json_stop(const struct kmig_nl_stop *s)
{
	struct json j;

	json_init(&j, stdout, true);
	json_obj(&j, NULL);
	json_str(&j, "event", "stop");
	cli_stop_json(&j, s, true);
	json_arr(&j, "slot_results");
	for (uint32_t i = 0; i < s->nr_slot_info; i++) {
		json_obj(&j, NULL);
		json_u64(&j, "slot", s->slot_info[i].slot);
		json_str(&j, "result", result_name(s->slot_info[i].result));
		json_u64(&j, "errno", s->slot_info[i].err);
		json_u64(&j, "ns", s->slot_info[i].ns);
		json_end(&j);
	}
	json_end(&j);
	json_u64(&j, "slots_omitted", s->nr_slots_omitted);
	json_end(&j);
}

static void print_stop(const struct kmig_nl_stop *s, bool json)
{
	if (json) {
		json_stop(s);
		return;
	}
	printf("stop request %" PRIu64 " (session %" PRIu64 ", vm pid %u%s) %s: %u slot(s), "
	       "%u done, %u skipped, %u failed, %.3f ms after the request, KVM %.3f ms\n",
	       s->id, s->session_id, s->vm_pid, s->now ? ", now" : "", cli_stop_state(s->state),
	       s->nr_slots, s->nr_done, s->nr_skipped, s->nr_failed, s->age_ns / 1e6,
	       s->work_ns / 1e6);
	for (uint32_t i = 0; i < s->nr_slot_info; i++)
		printf("  slot %u:%u %s%s%s %.3f ms\n", KMIG_SLOT_AS(s->slot_info[i].slot),
		       KMIG_SLOT_ID(s->slot_info[i].slot), result_name(s->slot_info[i].result),
		       s->slot_info[i].err ? " " : "",
		       s->slot_info[i].err ? strerror(s->slot_info[i].err) : "",
		       s->slot_info[i].ns / 1e6);
	if (s->nr_slots_omitted)
		printf("  (%u more slot(s) not listed: the event's size limit)\n",
		       s->nr_slots_omitted);
}

static void print_session(const struct kmig_nl_event *ev, bool json)
{
	const char *what = ev->session_event == KMIG_EVENT_ATTACHED ? "attached" :
			   ev->session_event == KMIG_EVENT_CLOSED ? "closed" : "unknown";

	if (json) {
		struct json j;

		json_init(&j, stdout, true);
		json_obj(&j, NULL);
		json_str(&j, "event", "session");
		json_str(&j, "what", what);
		json_u64(&j, "id", ev->session.id);
		json_u64(&j, "pid", ev->session.pid);
		json_u64(&j, "vm_pid", ev->session.vm_pid);
		json_end(&j);
		return;
	}
	printf("session %" PRIu64 " %s (pid %u, vm pid %u)", ev->session.id, what,
	       ev->session.pid, ev->session.vm_pid);
	if (ev->session.has_stats)
		printf(": %" PRIu64 " harvest calls, %" PRIu64 " dirty pages, %" PRIu64
		       " zero-scan calls", ev->session.stats.v[KMIG_NL_STAT(KMIG_STATS_A_HARVEST_CALLS)],
		       ev->session.stats.v[KMIG_NL_STAT(KMIG_STATS_A_HARVEST_DIRTY)],
		       ev->session.stats.v[KMIG_NL_STAT(KMIG_STATS_A_ZSCAN_CALLS)]);
	putchar('\n');
}

/*
 * Waits for an event or a signal. SIGINT/SIGTERM are blocked and read from
 * a signalfd polled next to the netlink socket: a flag set by a handler and
 * checked before a blocking poll() would lose a signal that arrives between
 * the check and the poll.
 */
static int wait_event(struct kmig_nl *nl, int sfd, int wait_ms, bool *stop)
{
	struct pollfd p[2] = {
		{ .fd = kmig_nl_event_fd(nl), .events = POLLIN },
		{ .fd = sfd, .events = POLLIN },
	};
	int ret = poll(p, 2, wait_ms);

	if (ret < 0)
		return errno == EINTR ? 0 : -errno;
	*stop = p[1].revents & POLLIN;
	return !*stop && (p[0].revents & POLLIN);
}

static int run(struct kmig_nl *nl, int sfd, bool json, long count, long timeout_s)
{
	uint64_t end = timeout_s ? kmig_now_ns() + timeout_s * 1000000000ULL : 0;
	struct kmig_err err = { 0 };
	struct kmig_nl_event ev;
	bool stop = false;
	long seen = 0;

	while (!stop && (!count || seen < count)) {
		int wait_ms = -1, ret;

		if (end) {
			uint64_t now = kmig_now_ns();

			if (now >= end)
				break;
			wait_ms = (end - now) / 1000000 + 1;
		}
		ret = wait_event(nl, sfd, wait_ms, &stop);
		if (ret < 0)
			return cli_err("monitor", "wait for", "events", -ret, NULL);
		if (ret == 0)
			continue;
		ret = kmig_nl_event_next(nl, 0, &ev, &err);
		if (ret == 0)
			continue;
		if (ret < 0)
			return cli_err("monitor", "receive", "events", -ret, err.msg);
		if (ev.type == KMIG_NL_EV_STOP)
			print_stop(&ev.stop, json);
		else
			print_session(&ev, json);
		fflush(stdout);
		kmig_nl_event_free(&ev);
		seen++;
	}
	if (count && seen < count && !stop) {
		fprintf(stderr, "kmig monitor: timeout after %ld s: %ld of %ld events\n", timeout_s,
			seen, count);
		return 1;
	}
	return 0;
}

int cmd_monitor(int argc, char **argv)
{
	struct kmig_err err = { 0 };
	struct mon_args a = { 0 };
	struct kmig_nl *nl;
	sigset_t set;
	int first, sfd, ret = cli_opts_parse(&cmd, argc, argv, &a, &first);

	if (ret)
		return ret < 0 ? 0 : ret;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0)
		return cli_err("monitor", "create", "signalfd", errno, NULL);
	ret = kmig_nl_open(&nl, true, &err);
	if (ret) {
		close(sfd);
		return cli_err("monitor", "open", "netlink", -ret, err.msg);
	}
	fprintf(stderr, "kmig monitor: listening to %s/%s\n", KMIG_GENL_NAME,
		KMIG_GENL_MCGRP_EVENTS);
	ret = run(nl, sfd, a.json, a.count, a.timeout_s);
	kmig_nl_close(nl);
	close(sfd);
	return ret;
}
