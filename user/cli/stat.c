// SPDX-License-Identifier: GPL-2.0
/* kmig stat: the module's counters (generic netlink family "kmig"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "show.h"
#include "kmod/kmod_nl.h"

struct stat_view {
	struct kmig_nl_totals totals;
	struct kmig_nl_session *sessions;
	size_t nr_sessions;
	struct kmig_nl_stop *stops;
	size_t nr_stops;
};

struct stat_args {
	bool json;
};

static const struct cli_opt options[] = {
	{ CLI_FLAG("json", 'j', struct stat_args, json, "print JSON instead of tables") },
	{ 0 }
};

static const struct cli_opts cmd = {
	.cmd = "stat", .usage = "[--json]", .opt = options,
	.about = "  Counters of kmig.ko: module totals since load, each open session,\n"
		 "  and the pending deferred dirty-log stops. Needs CAP_NET_ADMIN.\n",
};

static void json_stats(struct json *j, const char *key, const struct kmig_nl_stats *st)
{
	json_obj(j, key);
	for (unsigned int i = 0; i < KMIG_NL_NR_STATS; i++)
		json_u64(j, kmig_nl_stat_name(i), st->v[i]);
	json_end(j);
}

/* Compact ("key":value): one line, the shape scripts match on. */
static void print_json(const struct stat_view *v)
{
	struct json j;

	json_init(&j, stdout, true);
	json_obj(&j, NULL);
	json_u64(&j, "sessions_open", v->totals.nr_sessions);
	json_stats(&j, "totals", &v->totals.stats);
	json_arr(&j, "sessions");
	for (size_t i = 0; i < v->nr_sessions; i++) {
		const struct kmig_nl_session *s = &v->sessions[i];

		json_obj(&j, NULL);
		json_u64(&j, "id", s->id);
		json_u64(&j, "pid", s->pid);
		json_u64(&j, "vm_pid", s->vm_pid);
		json_stats(&j, "stats", &s->stats);
		json_end(&j);
	}
	json_end(&j);
	json_arr(&j, "pending_stops");
	for (size_t i = 0; i < v->nr_stops; i++) {
		const struct kmig_nl_stop *s = &v->stops[i];

		json_obj(&j, NULL);
		cli_stop_json(&j, s, false);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
}

static void print_table(const struct stat_view *v)
{
	printf("kmig.ko: %u session(s) open\n\n%-20s %14s", v->totals.nr_sessions, "counter",
	       "total");
	for (size_t i = 0; i < v->nr_sessions; i++) {
		char name[40];

		snprintf(name, sizeof(name), "session %" PRIu64, v->sessions[i].id);
		printf(" %15s", name);
	}
	printf("\n%-20s %14s", "pid / vm pid", "");
	for (size_t i = 0; i < v->nr_sessions; i++) {
		char who[40];

		snprintf(who, sizeof(who), "%u/%u", v->sessions[i].pid, v->sessions[i].vm_pid);
		printf(" %15s", who);
	}
	putchar('\n');
	for (unsigned int k = 0; k < KMIG_NL_NR_STATS; k++) {
		printf("%-20s %14" PRIu64, kmig_nl_stat_name(k), v->totals.stats.v[k]);
		for (size_t i = 0; i < v->nr_sessions; i++)
			printf(" %15" PRIu64, v->sessions[i].stats.v[k]);
		putchar('\n');
	}
	printf("\npending deferred stops: %zu\n", v->nr_stops);
	if (!v->nr_stops)
		return;
	printf("%10s %10s %8s %6s %6s %8s %7s %10s\n", "request", "session", "vm pid", "slots",
	       "done", "skipped", "failed", "age ms");
	for (size_t i = 0; i < v->nr_stops; i++) {
		const struct kmig_nl_stop *s = &v->stops[i];

		printf("%10" PRIu64 " %10" PRIu64 " %8u %6u %6u %8u %7u %10.1f\n", s->id,
		       s->session_id, s->vm_pid, s->nr_slots, s->nr_done, s->nr_skipped,
		       s->nr_failed, s->age_ns / 1e6);
	}
}

static int collect(struct kmig_nl *nl, struct stat_view *v, struct kmig_err *err)
{
	int ret = kmig_nl_totals(nl, &v->totals, err);

	if (!ret)
		ret = kmig_nl_sessions(nl, &v->sessions, &v->nr_sessions, err);
	if (!ret)
		ret = kmig_nl_stops(nl, 0, &v->stops, &v->nr_stops, err);
	return ret;
}

int cmd_stat(int argc, char **argv)
{
	struct stat_view v = { 0 };
	struct kmig_err err = { 0 };
	struct stat_args a = { 0 };
	struct kmig_nl *nl;
	int first, ret = cli_opts_parse(&cmd, argc, argv, &a, &first);

	if (ret)
		return ret < 0 ? 0 : ret;
	ret = kmig_nl_open(&nl, false, &err);
	if (ret)
		return cli_err("stat", "open", "netlink", -ret, err.msg);
	ret = collect(nl, &v, &err);
	kmig_nl_close(nl);
	if (ret) {
		free(v.sessions);
		free(v.stops);
		return cli_err("stat", "query", "kmig.ko", -ret, err.msg);
	}
	if (a.json)
		print_json(&v);
	else
		print_table(&v);
	free(v.sessions);
	free(v.stops);
	return 0;
}
