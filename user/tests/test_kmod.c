// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the module client without the module (this machine has
 * none): clear errors when kmig.ko is absent, and the netlink parsers
 * against messages built here with libmnl (valid, truncated, wrong
 * attribute lengths, unknown attributes, too many slot nests).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <string.h>

#include "kmod/kmod_dev.h"
#include "kmod/kmod_harvest.h"
#include "kmod/kmod_logstop.h"
#include "kmod/kmod_nl.h"
#include "t.h"

static char buf[65536];

static struct nlmsghdr *msg(uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	nlh->nlmsg_type = 0x20;
	g->cmd = cmd;
	g->version = KMIG_GENL_VERSION;
	return nlh;
}

/* A stop event with @nslots slot nests (and @claimed in KMIG_STOP_A_SLOTS). */
static struct nlmsghdr *stop_event(uint32_t nslots, uint32_t claimed)
{
	struct nlmsghdr *nlh = msg(KMIG_CMD_STOP_EVENT);
	struct nlattr *st = mnl_attr_nest_start(nlh, KMIG_A_STOP), *sl;

	mnl_attr_put_u64(nlh, KMIG_STOP_A_ID, 7);
	mnl_attr_put_u64(nlh, KMIG_STOP_A_SESSION_ID, 3);
	mnl_attr_put_u32(nlh, KMIG_STOP_A_STATE, KMIG_STOP_DONE);
	mnl_attr_put(nlh, KMIG_STOP_A_NOW, 0, NULL);
	mnl_attr_put_u32(nlh, KMIG_STOP_A_SLOTS, claimed);
	mnl_attr_put_u32(nlh, KMIG_STOP_A_DONE, nslots);
	mnl_attr_put_u64(nlh, KMIG_STOP_A_WORK_NS, 1234);
	mnl_attr_put_u32(nlh, 200, 5);		/* unknown: skipped */
	for (uint32_t i = 0; i < nslots; i++) {
		sl = mnl_attr_nest_start(nlh, KMIG_STOP_A_SLOT);
		mnl_attr_put_u32(nlh, KMIG_STOP_SLOT_A_SLOT, i + 1);
		mnl_attr_put_u32(nlh, KMIG_STOP_SLOT_A_RESULT, KMIG_STOP_SLOT_DONE);
		mnl_attr_put_u64(nlh, KMIG_STOP_SLOT_A_NS, 100 + i);
		mnl_attr_nest_end(nlh, sl);
	}
	mnl_attr_nest_end(nlh, st);
	return nlh;
}

static void t_no_module(struct t_state *st)
{
	struct kmig_err err = { 0 };
	struct kmig_kmod m;
	struct kmig_nl *nl;
	int ret = kmig_kmod_open(&m, "/nonexistent/kmig", -1, &err);

	T_ASSERT(st, ret == -ENOENT, "kmig_kmod_open: %d", ret);
	T_EXPECT(st, strstr(err.msg, "kmig.ko not loaded"), "message: %s", err.msg);
	T_EXPECT(st, m.fd == -1 && !kmig_kmod_has(&m, KMIG_FEAT_HARVEST), "closed session");
	kmig_err_clear(&err);
	ret = kmig_nl_open(&nl, false, &err);
	if (ret == 0) {		/* a host with kmig.ko loaded: nothing to check */
		kmig_nl_close(nl);
		return;
	}
	T_EXPECT(st, ret == -ENOENT && nl == NULL, "kmig_nl_open: %d", ret);
	T_EXPECT(st, strstr(err.msg, "family kmig"), "message: %s", err.msg);
}

static void t_no_feature(struct t_state *st)
{
	struct kmig_kmod m = { .fd = -1 };
	struct kmig_err err = { 0 };
	struct kmig_harvest_range r = { 0 };
	struct kmig_logstop_result res;

	T_EXPECT(st, kmig_harvest(&m, &r, 1, 0, 0, NULL, &err) == -EPROTO, "%s", err.msg);
	kmig_err_clear(&err);
	T_EXPECT(st, kmig_logstop_request(&m, NULL, 0, NULL, &res, &err) == -EPROTO, "%s",
		 err.msg);
}

static void t_parse_stop(struct t_state *st)
{
	struct nlmsghdr *nlh = stop_event(3, 3);
	struct kmig_nl_event ev;
	int ret = kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev);

	T_ASSERT(st, ret == 0, "parse: %d", ret);
	T_EXPECT(st, ev.type == KMIG_NL_EV_STOP && ev.stop.id == 7 && ev.stop.session_id == 3,
		 "type %d id %llu", ev.type, (unsigned long long)ev.stop.id);
	T_EXPECT(st, ev.stop.now && ev.stop.state == KMIG_STOP_DONE && ev.stop.work_ns == 1234,
		 "fields");
	T_EXPECT(st, ev.stop.nr_slot_info == 3 && ev.stop.slot_info[2].slot == 3 &&
		     ev.stop.slot_info[2].ns == 102, "slots %u", ev.stop.nr_slot_info);
	kmig_nl_event_free(&ev);
	/* Truncated by one byte: the header's length no longer fits. */
	nlh = stop_event(3, 3);
	T_EXPECT(st, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len - 1, &ev) == -EPROTO,
		 "truncated");
	/* A length field of 2^31 or more (mnl_nlmsg_ok() takes it as negative). */
	nlh = stop_event(3, 3);
	nlh->nlmsg_len |= 0x80000000u;
	T_EXPECT(st, kmig_nl_parse_event_msg(nlh, 4096, &ev) == -EPROTO, "huge length");
	/* More slot nests than the request's slot count. */
	nlh = stop_event(4, 3);
	T_EXPECT(st, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev) == -EPROTO, "4 of 3");
}

static void t_parse_session(struct t_state *st)
{
	struct nlmsghdr *nlh = msg(KMIG_CMD_SESSION_EVENT);
	struct nlattr *stats;
	struct kmig_nl_event ev;
	uint32_t bad = 1;

	mnl_attr_put_u32(nlh, KMIG_A_EVENT, KMIG_EVENT_CLOSED);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 9);
	mnl_attr_put_u32(nlh, KMIG_A_PID, 100);
	stats = mnl_attr_nest_start(nlh, KMIG_A_STATS);
	mnl_attr_put_u64(nlh, KMIG_STATS_A_HARVEST_DIRTY, 42);
	mnl_attr_put_u64(nlh, KMIG_STATS_A_MAX + 1, 1);	/* newer module: skipped */
	mnl_attr_nest_end(nlh, stats);
	T_ASSERT(st, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev) == 0, "parse");
	T_EXPECT(st, ev.type == KMIG_NL_EV_SESSION && ev.session_event == KMIG_EVENT_CLOSED &&
		     ev.session.id == 9 && ev.session.pid == 100 && ev.session.has_stats,
		 "fields");
	T_EXPECT(st, ev.session.stats.v[KMIG_NL_STAT(KMIG_STATS_A_HARVEST_DIRTY)] == 42, "stat");
	/* A u64 counter sent as 4 bytes is refused. */
	nlh = msg(KMIG_CMD_SESSION_EVENT);
	mnl_attr_put_u32(nlh, KMIG_A_EVENT, KMIG_EVENT_CLOSED);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 9);
	stats = mnl_attr_nest_start(nlh, KMIG_A_STATS);
	mnl_attr_put(nlh, KMIG_STATS_A_HARVEST_DIRTY, sizeof(bad), &bad);
	mnl_attr_nest_end(nlh, stats);
	T_EXPECT(st, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev) == -EPROTO, "short u64");
	/* No session id. */
	nlh = msg(KMIG_CMD_SESSION_EVENT);
	mnl_attr_put_u32(nlh, KMIG_A_EVENT, KMIG_EVENT_ATTACHED);
	T_EXPECT(st, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev) == -EPROTO, "no id");
	/* Not an event command. */
	nlh = msg(KMIG_CMD_GET_TOTALS);
	T_EXPECT(st, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev) == -EPROTO, "command");
	T_EXPECT(st, kmig_nl_stat_name(0) && !strcmp(kmig_nl_stat_name(0), "zscan_calls") &&
		     !kmig_nl_stat_name(KMIG_NL_NR_STATS), "names");
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_no_module), T_CASE(t_no_feature), T_CASE(t_parse_stop),
		T_CASE(t_parse_session),
	};

	return t_main("kmod", cases, sizeof(cases) / sizeof(cases[0]));
}
