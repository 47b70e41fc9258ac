// SPDX-License-Identifier: GPL-2.0
/*
 * netlink.c - the generic netlink family "kmig": statistics and events.
 *
 * Commands (uapi/linux/kmig.h, Documentation/netlink/specs/kmig.yaml):
 * GET_SESSION (do/dump), GET_TOTALS (do), GET_STOP (dump of pending
 * deferred stops); events on the multicast group "events": STOP_EVENT
 * when a deferred-stop request ends, SESSION_EVENT when a session attaches
 * or closes.
 *
 * Validation: every command has its own policy and maxattr; requests are
 * parsed strictly (the 6.1 default for families that do not opt out):
 * unknown attribute types, NLA_UNSPEC attributes, wrong lengths and
 * trailing garbage are refused with -EINVAL and an extended ack. Commands
 * that take no attribute have a policy that rejects every attribute.
 *
 * Dumps resume by id: sessions and requests are listed in increasing id
 * order, cb->args[0] keeps the last id sent, so a dump never repeats or
 * skips an object that stays while it runs.
 *
 * Everything needs CAP_NET_ADMIN: the commands are GENL_ADMIN_PERM, and
 * joining the "events" group is GENL_MCAST_CAP_NET_ADMIN (group flags are
 * not command flags: GENL_UNS_ADMIN_PERM there would be ignored and leave
 * the group open to every local user). The family is not netnsok: the
 * module's sessions and VMs are not per network namespace, so the
 * capability is checked in the initial user namespace.
 *
 * Stop events list each slot of the request in its own nest inside
 * KMIG_A_STOP, whose length is 16 bits: past about 2,000 slots the nest
 * would wrap. The slots that do not fit are left out and counted in
 * KMIG_STOP_A_SLOTS_OMITTED; the per-result counts cover every slot.
 */
#include <net/genetlink.h>

#include "logstop.h"
#include "netlink.h"
#include "session.h"

enum { KMIG_NL_MCGRP_EVENTS };

static const struct genl_multicast_group kmig_nl_mcgrps[] = {
	[KMIG_NL_MCGRP_EVENTS] = { .name = KMIG_GENL_MCGRP_EVENTS,
				   .flags = GENL_MCAST_CAP_NET_ADMIN },
};

static const struct nla_policy kmig_nl_session_policy[KMIG_A_SESSION_ID + 1] = {
	[KMIG_A_PAD] = { .type = NLA_REJECT },
	[KMIG_A_SESSION_ID] = { .type = NLA_U64 },
};

/* For commands without attributes: everything is refused. */
static const struct nla_policy kmig_nl_none_policy[KMIG_A_PAD + 1] = {
	[KMIG_A_PAD] = { .type = NLA_REJECT },
};

static struct genl_family kmig_genl_family;

static int nl_put_stats(struct sk_buff *skb, const u64 *stats)
{
	struct nlattr *nest = nla_nest_start(skb, KMIG_A_STATS);
	int i;

	if (!nest)
		return -EMSGSIZE;
	for (i = 0; i < KMIG_ST_NR; i++)
		if (nla_put_u64_64bit(skb, KMIG_STATS_A_ZSCAN_CALLS + i,
				      stats[i], KMIG_STATS_A_PAD))
			goto cancel;
	nla_nest_end(skb, nest);
	return 0;
cancel:
	nla_nest_cancel(skb, nest);
	return -EMSGSIZE;
}

/* A session message; @event 0 for a reply, enum kmig_session_event else. */
static int nl_fill_session(struct sk_buff *skb, u32 portid, u32 seq,
			   int flags, u8 cmd,
			   const struct kmig_session_info *info, u32 event)
{
	void *hdr = genlmsg_put(skb, portid, seq, &kmig_genl_family, flags, cmd);

	if (!hdr)
		return -EMSGSIZE;
	if ((event && nla_put_u32(skb, KMIG_A_EVENT, event)) ||
	    nla_put_u64_64bit(skb, KMIG_A_SESSION_ID, info->id, KMIG_A_PAD) ||
	    nla_put_u32(skb, KMIG_A_PID, info->tgid) ||
	    nla_put_u32(skb, KMIG_A_VM_PID, info->vm_pid))
		goto cancel;
	if (event != KMIG_EVENT_ATTACHED && nl_put_stats(skb, info->stats))
		goto cancel;
	genlmsg_end(skb, hdr);
	return 0;
cancel:
	genlmsg_cancel(skb, hdr);
	return -EMSGSIZE;
}

/* Room for one KMIG_STOP_A_SLOT nest. */
static size_t nl_stop_slot_size(void)
{
	return nla_total_size(0) + 3 * nla_total_size(sizeof(u32)) +
	       nla_total_size_64bit(sizeof(u64));
}

/*
 * The per-slot nests of @req inside the nest @outer, as many as keep
 * @outer's length within 16 bits (with room for SLOTS_OMITTED).
 */
static int nl_put_stop_slots(struct sk_buff *skb,
			     const struct kmig_stop_req *req,
			     const struct nlattr *outer)
{
	size_t room = nl_stop_slot_size() + nla_total_size(sizeof(u32));
	struct nlattr *nest;
	u32 i;

	for (i = 0; i < req->nr_slots; i++) {
		const struct kmig_stop_slot *sl = &req->slots[i];

		if (skb_tail_pointer(skb) - (const unsigned char *)outer +
		    room > U16_MAX)
			break;
		nest = nla_nest_start(skb, KMIG_STOP_A_SLOT);
		if (!nest ||
		    nla_put_u32(skb, KMIG_STOP_SLOT_A_SLOT, sl->slot) ||
		    nla_put_u32(skb, KMIG_STOP_SLOT_A_RESULT, sl->result) ||
		    (sl->err && nla_put_u32(skb, KMIG_STOP_SLOT_A_ERRNO, sl->err)) ||
		    nla_put_u64_64bit(skb, KMIG_STOP_SLOT_A_NS, sl->ns,
				      KMIG_STOP_SLOT_A_PAD))
			return -EMSGSIZE;
		nla_nest_end(skb, nest);
	}
	if (i < req->nr_slots &&
	    nla_put_u32(skb, KMIG_STOP_A_SLOTS_OMITTED, req->nr_slots - i))
		return -EMSGSIZE;
	return 0;
}

/* KMIG_A_STOP of @req; per-slot nests only in events (@slots). */
static int nl_put_stop(struct sk_buff *skb, const struct kmig_stop_req *req,
		       bool slots)
{
	u64 end = req->state ? req->t_end : ktime_get_ns();
	u32 state = req->state ? req->state : KMIG_STOP_PENDING;
	struct nlattr *nest = nla_nest_start(skb, KMIG_A_STOP);

	if (!nest ||
	    nla_put_u64_64bit(skb, KMIG_STOP_A_ID, req->id, KMIG_STOP_A_PAD) ||
	    nla_put_u64_64bit(skb, KMIG_STOP_A_SESSION_ID, req->session_id,
			      KMIG_STOP_A_PAD) ||
	    nla_put_u32(skb, KMIG_STOP_A_VM_PID, req->vm_pid) ||
	    nla_put_u32(skb, KMIG_STOP_A_STATE, state) ||
	    (req->now && nla_put_flag(skb, KMIG_STOP_A_NOW)) ||
	    nla_put_u32(skb, KMIG_STOP_A_SLOTS, req->nr_slots) ||
	    nla_put_u32(skb, KMIG_STOP_A_DONE, req->nr_done) ||
	    nla_put_u32(skb, KMIG_STOP_A_SKIPPED, req->nr_skipped) ||
	    nla_put_u32(skb, KMIG_STOP_A_FAILED, req->nr_failed) ||
	    nla_put_u64_64bit(skb, KMIG_STOP_A_AGE_NS, end - req->t_queued,
			      KMIG_STOP_A_PAD) ||
	    nla_put_u64_64bit(skb, KMIG_STOP_A_WORK_NS, req->work_ns,
			      KMIG_STOP_A_PAD) ||
	    (slots && nl_put_stop_slots(skb, req, nest)))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

/* ---- requests ---- */

struct nl_dump {
	struct sk_buff *skb;
	struct netlink_callback *cb;
	u64 last;
};

static int nl_dump_session_one(const struct kmig_session_info *info,
			       void *arg)
{
	struct nl_dump *d = arg;
	int ret;

	ret = nl_fill_session(d->skb, NETLINK_CB(d->cb->skb).portid,
			      d->cb->nlh->nlmsg_seq, NLM_F_MULTI,
			      KMIG_CMD_GET_SESSION, info, 0);
	if (!ret)
		d->last = info->id;
	return ret;
}

static int nl_session_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nl_dump d = { .skb = skb, .cb = cb, .last = cb->args[0] };

	kmig_sessions_walk(d.last, nl_dump_session_one, &d);
	cb->args[0] = d.last;
	return skb->len;
}

static int nl_session_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct kmig_session_info si;
	struct sk_buff *msg;
	u64 id;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, KMIG_A_SESSION_ID))
		return -EINVAL;
	id = nla_get_u64(info->attrs[KMIG_A_SESSION_ID]);
	ret = kmig_session_find(id, &si);
	if (ret) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[KMIG_A_SESSION_ID],
				    "no open session with this id");
		return ret;
	}
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	ret = nl_fill_session(msg, info->snd_portid, info->snd_seq, 0,
			      KMIG_CMD_GET_SESSION, &si, 0);
	if (ret) {
		nlmsg_free(msg);
		return ret;
	}
	return genlmsg_reply(msg, info);
}

static int nl_totals_doit(struct sk_buff *skb, struct genl_info *info)
{
	u64 stats[KMIG_ST_NR];
	struct sk_buff *msg;
	u32 nr_open;
	void *hdr;

	kmig_sessions_totals(stats, &nr_open);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &kmig_genl_family, 0,
				KMIG_CMD_GET_TOTALS);
	if (!hdr || nla_put_u32(msg, KMIG_A_NR_SESSIONS, nr_open) ||
	    nl_put_stats(msg, stats)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

struct nl_stop_dump {
	struct nl_dump d;
	u64 session_id;		/* 0: all */
};

static int nl_dump_stop_one(const struct kmig_stop_req *req, void *arg)
{
	struct nl_stop_dump *sd = arg;
	struct sk_buff *skb = sd->d.skb;
	void *hdr;

	if (sd->session_id && req->session_id != sd->session_id) {
		sd->d.last = req->id;
		return 0;
	}
	hdr = genlmsg_put(skb, NETLINK_CB(sd->d.cb->skb).portid,
			  sd->d.cb->nlh->nlmsg_seq, &kmig_genl_family,
			  NLM_F_MULTI, KMIG_CMD_GET_STOP);
	if (!hdr)
		return -EMSGSIZE;
	if (nl_put_stop(skb, req, false)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	sd->d.last = req->id;
	return 0;
}

static int nl_stop_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct nlattr **attrs = genl_info_dump(cb)->attrs;
	struct nl_stop_dump sd = {
		.d = { .skb = skb, .cb = cb, .last = cb->args[0] },
	};

	if (attrs[KMIG_A_SESSION_ID])
		sd.session_id = nla_get_u64(attrs[KMIG_A_SESSION_ID]);
	kmig_logstop_walk(sd.d.last, nl_dump_stop_one, &sd);
	cb->args[0] = sd.d.last;
	return skb->len;
}

static const struct genl_ops kmig_nl_ops[] = {
	{
		.cmd = KMIG_CMD_GET_SESSION,
		.doit = nl_session_doit,
		.dumpit = nl_session_dumpit,
		.policy = kmig_nl_session_policy,
		.maxattr = ARRAY_SIZE(kmig_nl_session_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMIG_CMD_GET_TOTALS,
		.doit = nl_totals_doit,
		.policy = kmig_nl_none_policy,
		.maxattr = ARRAY_SIZE(kmig_nl_none_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
	{
		.cmd = KMIG_CMD_GET_STOP,
		.dumpit = nl_stop_dumpit,
		.policy = kmig_nl_session_policy,
		.maxattr = ARRAY_SIZE(kmig_nl_session_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static struct genl_family kmig_genl_family = {
	.name = KMIG_GENL_NAME,
	.version = KMIG_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = kmig_nl_ops,
	.n_ops = ARRAY_SIZE(kmig_nl_ops),
	.mcgrps = kmig_nl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(kmig_nl_mcgrps),
};

/* ---- events ---- */

static bool nl_listened(void)
{
	return genl_has_listeners(&kmig_genl_family, &init_net,
				  KMIG_NL_MCGRP_EVENTS);
}

static void nl_send_event(struct sk_buff *msg)
{
	/* -ESRCH when nobody listens: nothing to report. */
	genlmsg_multicast(&kmig_genl_family, msg, 0, KMIG_NL_MCGRP_EVENTS,
			  GFP_KERNEL);
}

void kmig_nl_session_event(u32 event, const struct kmig_session_info *info)
{
	struct sk_buff *msg;

	if (!nl_listened())
		return;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return;
	if (nl_fill_session(msg, 0, 0, 0, KMIG_CMD_SESSION_EVENT, info,
			    event)) {
		nlmsg_free(msg);
		return;
	}
	nl_send_event(msg);
}

/* Room for a stop event: fixed part plus the slot nests that fit. */
static size_t nl_stop_size(const struct kmig_stop_req *req)
{
	return NLMSG_GOODSIZE +
	       min_t(size_t, (size_t)req->nr_slots * nl_stop_slot_size(),
		     U16_MAX);
}

void kmig_nl_stop_event(const struct kmig_stop_req *req)
{
	struct sk_buff *msg;
	void *hdr;

	if (!nl_listened())
		return;
	msg = genlmsg_new(nl_stop_size(req), GFP_KERNEL);
	if (!msg)
		return;
	hdr = genlmsg_put(msg, 0, 0, &kmig_genl_family, 0,
			  KMIG_CMD_STOP_EVENT);
	if (!hdr || nl_put_stop(msg, req, true)) {
		WARN_ON_ONCE(hdr);	/* nl_stop_size() is too small */
		nlmsg_free(msg);
		return;
	}
	genlmsg_end(msg, hdr);
	nl_send_event(msg);
}

int kmig_nl_init(void)
{
	return genl_register_family(&kmig_genl_family);
}

void kmig_nl_uninit(void)
{
	genl_unregister_family(&kmig_genl_family);
}
