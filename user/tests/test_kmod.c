// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the module client without the module (this machine has
 * none): clear errors when kmig.ko is absent, and the netlink parsers
 * against messages built here with libmnl (valid, truncated, wrong
 * attribute lengths, unknown attributes, too many slot nests). The
 * netlink family's absence can only be checked where kmig.ko is not
 * loaded: elsewhere that test is a SKIP.
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <string.h>

#include "kmod/kmod_dev.h"
#include "kmod/kmod_harvest.h"
#include "kmod/kmod_logstop.h"
#include "kmod/kmod_nl.h"
#include "kselftest_harness.h"

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

TEST(no_device)
{
	struct kmig_err err = { 0 };
	struct kmig_kmod m;
	int ret = kmig_kmod_open(&m, "/nonexistent/kmig", -1, &err);

	ASSERT_EQ(-ENOENT, ret) TH_LOG("kmig_kmod_open: %d", ret);
	EXPECT_NE(NULL, strstr(err.msg, "kmig.ko not loaded")) TH_LOG("message: %s", err.msg);
	EXPECT_TRUE(m.fd == -1 && !kmig_kmod_has(&m, KMIG_FEAT_HARVEST)) TH_LOG("closed session");
}

TEST(no_family)
{
	struct kmig_err err = { 0 };
	struct kmig_nl *nl;
	int ret = kmig_nl_open(&nl, false, &err);

	if (ret == 0) {
		kmig_nl_close(nl);
		SKIP(return, "kmig.ko is loaded here: its netlink family exists");
	}
	EXPECT_TRUE(ret == -ENOENT && nl == NULL) TH_LOG("kmig_nl_open: %d", ret);
	EXPECT_NE(NULL, strstr(err.msg, "family kmig")) TH_LOG("message: %s", err.msg);
}

TEST(no_feature)
{
	struct kmig_kmod m = { .fd = -1 };
	struct kmig_err err = { 0 };
	struct kmig_harvest_range r = { 0 };
	struct kmig_logstop_result res;

	EXPECT_EQ(-EPROTO, kmig_harvest(&m, &r, 1, 0, 0, NULL, &err)) TH_LOG("%s", err.msg);
	kmig_err_clear(&err);
	EXPECT_EQ(-EPROTO, kmig_logstop_request(&m, NULL, 0, NULL, &res, &err))
		TH_LOG("%s", err.msg);
}

TEST(parse_stop)
{
	struct nlmsghdr *nlh = stop_event(3, 3);
	struct kmig_nl_event ev;
	int ret = kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev);

	ASSERT_EQ(0, ret) TH_LOG("parse: %d", ret);
	EXPECT_TRUE(ev.type == KMIG_NL_EV_STOP && ev.stop.id == 7 && ev.stop.session_id == 3)
		TH_LOG("type %d id %llu", ev.type, (unsigned long long)ev.stop.id);
	EXPECT_TRUE(ev.stop.now && ev.stop.state == KMIG_STOP_DONE && ev.stop.work_ns == 1234)
		TH_LOG("fields");
	EXPECT_TRUE(ev.stop.nr_slot_info == 3 && ev.stop.slot_info[2].slot == 3 &&
		    ev.stop.slot_info[2].ns == 102)
		TH_LOG("slots %u", ev.stop.nr_slot_info);
	kmig_nl_event_free(&ev);
	/* Truncated by one byte: the header's length no longer fits. */
	nlh = stop_event(3, 3);
	EXPECT_EQ(-EPROTO, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len - 1, &ev))
		TH_LOG("truncated");
	/* A length field of 2^31 or more (mnl_nlmsg_ok() takes it as negative). */
	nlh = stop_event(3, 3);
	nlh->nlmsg_len |= 0x80000000u;
	EXPECT_EQ(-EPROTO, kmig_nl_parse_event_msg(nlh, 4096, &ev)) TH_LOG("huge length");
	/* More slot nests than the request's slot count. */
	nlh = stop_event(4, 3);
	EXPECT_EQ(-EPROTO, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev)) TH_LOG("4 of 3");
}

TEST(parse_session)
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
	ASSERT_EQ(0, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev)) TH_LOG("parse");
	EXPECT_TRUE(ev.type == KMIG_NL_EV_SESSION && ev.session_event == KMIG_EVENT_CLOSED &&
		    ev.session.id == 9 && ev.session.pid == 100 && ev.session.has_stats)
		TH_LOG("fields");
	EXPECT_EQ(42, ev.session.stats.v[KMIG_NL_STAT(KMIG_STATS_A_HARVEST_DIRTY)]) TH_LOG("stat");
	/* A u64 counter sent as 4 bytes is refused. */
	nlh = msg(KMIG_CMD_SESSION_EVENT);
	mnl_attr_put_u32(nlh, KMIG_A_EVENT, KMIG_EVENT_CLOSED);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 9);
	stats = mnl_attr_nest_start(nlh, KMIG_A_STATS);
	mnl_attr_put(nlh, KMIG_STATS_A_HARVEST_DIRTY, sizeof(bad), &bad);
	mnl_attr_nest_end(nlh, stats);
	EXPECT_EQ(-EPROTO, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev)) TH_LOG("short u64");
	/* No session id. */
	nlh = msg(KMIG_CMD_SESSION_EVENT);
	mnl_attr_put_u32(nlh, KMIG_A_EVENT, KMIG_EVENT_ATTACHED);
	EXPECT_EQ(-EPROTO, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev)) TH_LOG("no id");
	/* Not an event command. */
	nlh = msg(KMIG_CMD_GET_TOTALS);
	EXPECT_EQ(-EPROTO, kmig_nl_parse_event_msg(nlh, nlh->nlmsg_len, &ev)) TH_LOG("command");
	EXPECT_TRUE(kmig_nl_stat_name(0) && !strcmp(kmig_nl_stat_name(0), "zscan_calls") &&
		    !kmig_nl_stat_name(KMIG_NL_NR_STATS))
		TH_LOG("names");
}

TEST_HARNESS_MAIN
