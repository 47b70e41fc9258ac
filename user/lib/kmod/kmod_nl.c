// SPDX-License-Identifier: GPL-2.0
/*
 * Client of the generic netlink family "kmig" with libmnl. Wire format
 * (attributes, nests) stays in this file; callers see the structs of
 * kmod_nl.h. Every attribute is checked for its type's length before use
 * (mnl_attr_validate); unknown attributes are skipped (a newer module may
 * add some).
 */
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kmod/kmod_nl.h"

/* Events carry one nest per slot: up to KMIG_LOG_STOP_MAX_SLOTS of them. */
#define KMIG_NL_EVENT_BUF	(256 * 1024)
#define KMIG_NL_REQ_BUF		(64 * 1024)

struct kmig_nl {
	struct mnl_socket *req;
	struct mnl_socket *ev;	/* NULL without events */
	uint16_t family;
	uint32_t group;		/* "events" group id */
	uint32_t seq;
	char *buf;		/* KMIG_NL_REQ_BUF */
	char *evbuf;		/* KMIG_NL_EVENT_BUF, with events */
};

static const char *const stat_names[KMIG_NL_NR_STATS] = {
	"zscan_calls", "zscan_ns", "zscan_none", "zscan_zero_page", "zscan_zero_data",
	"zscan_nonzero", "harvest_calls", "harvest_ns", "harvest_pages", "harvest_dirty",
	"harvest_zero_none", "harvest_zero_page", "harvest_zero_data", "stop_requests",
	"stop_pending", "stop_done", "stop_cancelled", "stop_slots_done",
	"stop_slots_skipped", "stop_slots_failed", "stop_work_ns", "stop_latency_ns",
};

const char *kmig_nl_stat_name(unsigned int i)
{
	return i < KMIG_NL_NR_STATS ? stat_names[i] : NULL;
}

/* ---- parsing ---- */

struct attr_table {
	const struct nlattr **tb;
	const enum mnl_attr_data_type *types;	/* MNL_TYPE_UNSPEC: unknown */
	unsigned int max;
	int bad;
};

/* Keeps known attributes of the right size; skips unknown ones. */
static int attr_cb(const struct nlattr *a, void *data)
{
	struct attr_table *t = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type > t->max || t->types[type] == MNL_TYPE_UNSPEC)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, t->types[type]) < 0) {
		t->bad = 1;
		return MNL_CB_ERROR;
	}
	t->tb[type] = a;
	return MNL_CB_OK;
}

static const enum mnl_attr_data_type top_types[KMIG_A_MAX + 1] = {
	[KMIG_A_SESSION_ID] = MNL_TYPE_U64, [KMIG_A_PID] = MNL_TYPE_U32,
	[KMIG_A_VM_PID] = MNL_TYPE_U32, [KMIG_A_STATS] = MNL_TYPE_NESTED,
	[KMIG_A_STOP] = MNL_TYPE_NESTED, [KMIG_A_EVENT] = MNL_TYPE_U32,
	[KMIG_A_NR_SESSIONS] = MNL_TYPE_U32,
};

static const enum mnl_attr_data_type stop_types[KMIG_STOP_A_MAX + 1] = {
	[KMIG_STOP_A_ID] = MNL_TYPE_U64, [KMIG_STOP_A_SESSION_ID] = MNL_TYPE_U64,
	[KMIG_STOP_A_VM_PID] = MNL_TYPE_U32, [KMIG_STOP_A_STATE] = MNL_TYPE_U32,
	[KMIG_STOP_A_NOW] = MNL_TYPE_FLAG, [KMIG_STOP_A_SLOTS] = MNL_TYPE_U32,
	[KMIG_STOP_A_DONE] = MNL_TYPE_U32, [KMIG_STOP_A_SKIPPED] = MNL_TYPE_U32,
	[KMIG_STOP_A_FAILED] = MNL_TYPE_U32, [KMIG_STOP_A_AGE_NS] = MNL_TYPE_U64,
	[KMIG_STOP_A_WORK_NS] = MNL_TYPE_U64, [KMIG_STOP_A_SLOTS_OMITTED] = MNL_TYPE_U32,
	/* KMIG_STOP_A_SLOT repeats: handled by stop_slot_count/parse */
};

static const enum mnl_attr_data_type slot_types[KMIG_STOP_SLOT_A_MAX + 1] = {
	[KMIG_STOP_SLOT_A_SLOT] = MNL_TYPE_U32, [KMIG_STOP_SLOT_A_RESULT] = MNL_TYPE_U32,
	[KMIG_STOP_SLOT_A_ERRNO] = MNL_TYPE_U32, [KMIG_STOP_SLOT_A_NS] = MNL_TYPE_U64,
};

static int parse_nest(const struct nlattr *nest, const struct nlattr **tb,
		      const enum mnl_attr_data_type *types, unsigned int max)
{
	struct attr_table t = { .tb = tb, .types = types, .max = max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse_nested(nest, attr_cb, &t) != MNL_CB_OK || t.bad)
		return -EPROTO;
	return 0;
}

static uint64_t get_u64(const struct nlattr *a)
{
	return a ? mnl_attr_get_u64(a) : 0;
}

static uint32_t get_u32(const struct nlattr *a)
{
	return a ? mnl_attr_get_u32(a) : 0;
}

struct stats_ctx {
	struct kmig_nl_stats *st;
	int bad;
};

static int stats_cb(const struct nlattr *a, void *data)
{
	struct stats_ctx *c = data;
	unsigned int type = mnl_attr_get_type(a);

	if (type < KMIG_STATS_A_ZSCAN_CALLS || type > KMIG_STATS_A_MAX)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_U64) < 0) {
		c->bad = 1;
		return MNL_CB_ERROR;
	}
	c->st->v[KMIG_NL_STAT(type)] = mnl_attr_get_u64(a);
	return MNL_CB_OK;
}

static int parse_stats(const struct nlattr *nest, struct kmig_nl_stats *st)
{
	struct stats_ctx c = { .st = st };

	memset(st, 0, sizeof(*st));
	if (mnl_attr_parse_nested(nest, stats_cb, &c) != MNL_CB_OK || c.bad)
		return -EPROTO;
	return 0;
}

static int parse_slot(const struct nlattr *nest, struct kmig_nl_stop_slot *s)
{
	const struct nlattr *tb[KMIG_STOP_SLOT_A_MAX + 1];

	if (parse_nest(nest, tb, slot_types, KMIG_STOP_SLOT_A_MAX) ||
	    !tb[KMIG_STOP_SLOT_A_SLOT] || !tb[KMIG_STOP_SLOT_A_RESULT])
		return -EPROTO;
	s->slot = get_u32(tb[KMIG_STOP_SLOT_A_SLOT]);
	s->result = get_u32(tb[KMIG_STOP_SLOT_A_RESULT]);
	s->err = get_u32(tb[KMIG_STOP_SLOT_A_ERRNO]);
	s->ns = get_u64(tb[KMIG_STOP_SLOT_A_NS]);
	return 0;
}

/* The KMIG_STOP_A_SLOT nests, at most nr_slots of them. */
static int parse_stop_slots(const struct nlattr *nest, struct kmig_nl_stop *st)
{
	const struct nlattr *a;
	uint32_t n = 0;

	mnl_attr_for_each_nested(a, nest)
		n += mnl_attr_get_type(a) == KMIG_STOP_A_SLOT;
	if (!n)
		return 0;
	if (n > st->nr_slots || n > KMIG_LOG_STOP_MAX_SLOTS)
		return -EPROTO;
	st->slot_info = calloc(n, sizeof(*st->slot_info));
	if (!st->slot_info)
		return -ENOMEM;
	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) != KMIG_STOP_A_SLOT)
			continue;
		if (mnl_attr_validate(a, MNL_TYPE_NESTED) < 0 ||
		    parse_slot(a, &st->slot_info[st->nr_slot_info]))
			return -EPROTO;
		st->nr_slot_info++;
	}
	return 0;
}

static int parse_stop(const struct nlattr *nest, struct kmig_nl_stop *st)
{
	const struct nlattr *tb[KMIG_STOP_A_MAX + 1];
	int ret;

	memset(st, 0, sizeof(*st));
	if (parse_nest(nest, tb, stop_types, KMIG_STOP_A_MAX) || !tb[KMIG_STOP_A_ID] ||
	    !tb[KMIG_STOP_A_STATE])
		return -EPROTO;
	st->id = get_u64(tb[KMIG_STOP_A_ID]);
	st->session_id = get_u64(tb[KMIG_STOP_A_SESSION_ID]);
	st->vm_pid = get_u32(tb[KMIG_STOP_A_VM_PID]);
	st->state = get_u32(tb[KMIG_STOP_A_STATE]);
	st->now = tb[KMIG_STOP_A_NOW] != NULL;
	st->nr_slots = get_u32(tb[KMIG_STOP_A_SLOTS]);
	st->nr_done = get_u32(tb[KMIG_STOP_A_DONE]);
	st->nr_skipped = get_u32(tb[KMIG_STOP_A_SKIPPED]);
	st->nr_failed = get_u32(tb[KMIG_STOP_A_FAILED]);
	st->age_ns = get_u64(tb[KMIG_STOP_A_AGE_NS]);
	st->work_ns = get_u64(tb[KMIG_STOP_A_WORK_NS]);
	st->nr_slots_omitted = get_u32(tb[KMIG_STOP_A_SLOTS_OMITTED]);
	ret = parse_stop_slots(nest, st);
	if (ret)
		kmig_nl_stop_free(st);
	return ret;
}

void kmig_nl_stop_free(struct kmig_nl_stop *st)
{
	free(st->slot_info);
	st->slot_info = NULL;
	st->nr_slot_info = 0;
}

/* The top-level attributes of a kmig message; -EPROTO if malformed. */
static int parse_top(const struct nlmsghdr *nlh, const struct nlattr **tb)
{
	struct attr_table t = { .tb = tb, .types = top_types, .max = KMIG_A_MAX };

	memset(tb, 0, (KMIG_A_MAX + 1) * sizeof(*tb));
	if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(struct genlmsghdr)))
		return -EPROTO;
	if (mnl_attr_parse(nlh, sizeof(struct genlmsghdr), attr_cb, &t) != MNL_CB_OK || t.bad)
		return -EPROTO;
	return 0;
}

static int parse_session(const struct nlattr **tb, struct kmig_nl_session *s)
{
	memset(s, 0, sizeof(*s));
	if (!tb[KMIG_A_SESSION_ID])
		return -EPROTO;
	s->id = get_u64(tb[KMIG_A_SESSION_ID]);
	s->pid = get_u32(tb[KMIG_A_PID]);
	s->vm_pid = get_u32(tb[KMIG_A_VM_PID]);
	if (tb[KMIG_A_STATS]) {
		s->has_stats = true;
		return parse_stats(tb[KMIG_A_STATS], &s->stats);
	}
	return 0;
}

/*
 * One whole message in @buf. Not mnl_nlmsg_ok(): it compares the length
 * field as an int, so a length of 2^31 or more passes (found by fuzz_nl).
 */
static const struct nlmsghdr *one_msg(const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;

	if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len)
		return NULL;
	return nlh;
}

int kmig_nl_parse_session_msg(const void *buf, size_t len, struct kmig_nl_session *out)
{
	const struct nlattr *tb[KMIG_A_MAX + 1];
	const struct nlmsghdr *nlh = one_msg(buf, len);

	if (!nlh || parse_top(nlh, tb))
		return -EPROTO;
	return parse_session(tb, out);
}

int kmig_nl_parse_event_msg(const void *buf, size_t len, struct kmig_nl_event *ev)
{
	const struct nlattr *tb[KMIG_A_MAX + 1];
	const struct nlmsghdr *nlh = one_msg(buf, len);
	const struct genlmsghdr *g;

	memset(ev, 0, sizeof(*ev));
	if (!nlh || parse_top(nlh, tb))
		return -EPROTO;
	g = mnl_nlmsg_get_payload(nlh);
	switch (g->cmd) {
	case KMIG_CMD_STOP_EVENT:
		if (!tb[KMIG_A_STOP])
			return -EPROTO;
		ev->type = KMIG_NL_EV_STOP;
		return parse_stop(tb[KMIG_A_STOP], &ev->stop);
	case KMIG_CMD_SESSION_EVENT:
		if (!tb[KMIG_A_EVENT])
			return -EPROTO;
		ev->type = KMIG_NL_EV_SESSION;
		ev->session_event = get_u32(tb[KMIG_A_EVENT]);
		return parse_session(tb, &ev->session);
	default:
		return -EPROTO;
	}
}

void kmig_nl_event_free(struct kmig_nl_event *ev)
{
	kmig_nl_stop_free(&ev->stop);
}

/* ---- sockets and requests ---- */

static struct nlmsghdr *put_request(struct kmig_nl *nl, uint16_t type, uint8_t cmd,
				    uint16_t flags, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++nl->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* Sends @nlh and runs @cb on each reply until the ack or the dump's end. */
static int transact(struct kmig_nl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	uint32_t portid = mnl_socket_get_portid(nl->req);
	int ret;

	if (mnl_socket_sendto(nl->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = mnl_socket_recvfrom(nl->req, nl->buf, KMIG_NL_REQ_BUF);
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(nl->buf, ret, nlh->nlmsg_seq, portid, cb, data);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? (errno ? -errno : -EPROTO) : 0;
}

struct family_ctx {
	uint16_t id;
	uint32_t group;
};

static int group_cb(const struct nlattr *grp, struct family_ctx *f)
{
	const struct nlattr *a, *name = NULL, *id = NULL;

	mnl_attr_for_each_nested(a, grp) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_NAME &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			name = a;
		else if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GRP_ID &&
			 mnl_attr_validate(a, MNL_TYPE_U32) == 0)
			id = a;
	}
	if (name && id && !strcmp(mnl_attr_get_str(name), KMIG_GENL_MCGRP_EVENTS))
		f->group = mnl_attr_get_u32(id);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_ctx *f = data;
	const struct nlattr *a, *g;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID &&
		    mnl_attr_validate(a, MNL_TYPE_U16) == 0)
			f->id = mnl_attr_get_u16(a);
		if (mnl_attr_get_type(a) == CTRL_ATTR_MCAST_GROUPS &&
		    mnl_attr_validate(a, MNL_TYPE_NESTED) == 0)
			mnl_attr_for_each_nested(g, a)
				group_cb(g, f);
	}
	return MNL_CB_OK;
}

static int resolve(struct kmig_nl *nl, struct kmig_err *err)
{
	struct nlmsghdr *nlh = put_request(nl, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 0, 1);
	struct family_ctx f = { 0 };
	int ret;

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, KMIG_GENL_NAME);
	ret = transact(nl, nlh, family_cb, &f);
	if (ret)
		return kmig_err_set(err, ret, "resolve generic netlink family %s: %s%s",
				    KMIG_GENL_NAME, strerror(-ret),
				    ret == -ENOENT ? " (kmig.ko not loaded)" : "");
	if (!f.id || !f.group)
		return kmig_err_set(err, -EPROTO,
				    "family %s: id %u, group %s id %u; expected both",
				    KMIG_GENL_NAME, f.id, KMIG_GENL_MCGRP_EVENTS, f.group);
	nl->family = f.id;
	nl->group = f.group;
	return 0;
}

static int open_socket(struct mnl_socket **out, struct kmig_err *err)
{
	*out = mnl_socket_open(NETLINK_GENERIC);
	if (!*out)
		return kmig_err_set(err, -errno, "netlink socket: %s", strerror(errno));
	if (mnl_socket_bind(*out, 0, MNL_SOCKET_AUTOPID) < 0)
		return kmig_err_set(err, -errno, "bind netlink socket: %s", strerror(errno));
	return 0;
}

static int join_events(struct kmig_nl *nl, struct kmig_err *err)
{
	int ret = open_socket(&nl->ev, err);

	if (ret)
		return ret;
	nl->evbuf = malloc(KMIG_NL_EVENT_BUF);
	if (!nl->evbuf)
		return kmig_err_set(err, -ENOMEM, "event buffer");
	if (mnl_socket_setsockopt(nl->ev, NETLINK_ADD_MEMBERSHIP, &nl->group,
				  sizeof(nl->group)) < 0)
		return kmig_err_set(err, -errno, "join netlink group %s: %s",
				    KMIG_GENL_MCGRP_EVENTS, strerror(errno));
	return 0;
}

int kmig_nl_open(struct kmig_nl **out, bool events, struct kmig_err *err)
{
	struct kmig_nl *nl = calloc(1, sizeof(*nl));
	int ret;

	*out = NULL;
	if (!nl)
		return kmig_err_set(err, -ENOMEM, "netlink context");
	nl->seq = time(NULL);
	nl->buf = malloc(KMIG_NL_REQ_BUF);
	ret = nl->buf ? open_socket(&nl->req, err) : kmig_err_set(err, -ENOMEM, "buffer");
	if (!ret)
		ret = resolve(nl, err);
	if (!ret && events)
		ret = join_events(nl, err);
	if (ret) {
		kmig_nl_close(nl);
		return ret;
	}
	*out = nl;
	return 0;
}

void kmig_nl_close(struct kmig_nl *nl)
{
	if (!nl)
		return;
	if (nl->req)
		mnl_socket_close(nl->req);
	if (nl->ev)
		mnl_socket_close(nl->ev);
	free(nl->buf);
	free(nl->evbuf);
	free(nl);
}

int kmig_nl_event_fd(const struct kmig_nl *nl)
{
	return nl->ev ? mnl_socket_get_fd(nl->ev) : -1;
}

uint16_t kmig_nl_family_id(const struct kmig_nl *nl)
{
	return nl->family;
}

/* ---- commands ---- */

struct array_ctx {
	void *items;
	size_t n, cap, size;
	int (*parse)(const struct nlmsghdr *nlh, void *item);
	int err;
};

static int array_cb(const struct nlmsghdr *nlh, void *data)
{
	struct array_ctx *a = data;

	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		void *p = realloc(a->items, cap * a->size);

		if (!p) {
			a->err = -ENOMEM;
			return MNL_CB_ERROR;
		}
		a->items = p;
		a->cap = cap;
	}
	a->err = a->parse(nlh, (char *)a->items + a->n * a->size);
	if (a->err)
		return MNL_CB_ERROR;
	a->n++;
	return MNL_CB_OK;
}

static int session_item(const struct nlmsghdr *nlh, void *item)
{
	const struct nlattr *tb[KMIG_A_MAX + 1];

	if (parse_top(nlh, tb))
		return -EPROTO;
	return parse_session(tb, item);
}

static int stop_item(const struct nlmsghdr *nlh, void *item)
{
	const struct nlattr *tb[KMIG_A_MAX + 1];

	if (parse_top(nlh, tb) || !tb[KMIG_A_STOP])
		return -EPROTO;
	return parse_stop(tb[KMIG_A_STOP], item);
}

static int run_array(struct kmig_nl *nl, struct nlmsghdr *nlh, struct array_ctx *a,
		     const char *what, struct kmig_err *err)
{
	int ret = transact(nl, nlh, array_cb, a);

	if (a->err)
		ret = a->err;
	if (ret) {
		free(a->items);
		a->items = NULL;
		a->n = 0;
		return kmig_err_set(err, ret, "netlink %s: %s", what, strerror(-ret));
	}
	return 0;
}

int kmig_nl_sessions(struct kmig_nl *nl, struct kmig_nl_session **out, size_t *n,
		     struct kmig_err *err)
{
	struct nlmsghdr *nlh = put_request(nl, nl->family, KMIG_CMD_GET_SESSION, NLM_F_DUMP,
					   KMIG_GENL_VERSION);
	struct array_ctx a = { .size = sizeof(**out), .parse = session_item };
	int ret = run_array(nl, nlh, &a, "dump of sessions", err);

	*out = a.items;
	*n = a.n;
	return ret;
}

int kmig_nl_session(struct kmig_nl *nl, uint64_t id, struct kmig_nl_session *out,
		    struct kmig_err *err)
{
	struct nlmsghdr *nlh = put_request(nl, nl->family, KMIG_CMD_GET_SESSION, 0,
					   KMIG_GENL_VERSION);
	struct array_ctx a = { .size = sizeof(*out), .parse = session_item };
	int ret;

	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, id);
	ret = run_array(nl, nlh, &a, "get session", err);
	if (!ret && a.n != 1)
		ret = kmig_err_set(err, -EPROTO, "get session %llu: %zu replies, expected 1",
				   (unsigned long long)id, a.n);
	if (!ret)
		*out = *(struct kmig_nl_session *)a.items;
	free(a.items);
	return ret;
}

static int totals_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct nlattr *tb[KMIG_A_MAX + 1];
	struct kmig_nl_totals *t = data;

	if (parse_top(nlh, tb) || !tb[KMIG_A_STATS] || !tb[KMIG_A_NR_SESSIONS])
		return MNL_CB_ERROR;
	t->nr_sessions = get_u32(tb[KMIG_A_NR_SESSIONS]);
	return parse_stats(tb[KMIG_A_STATS], &t->stats) ? MNL_CB_ERROR : MNL_CB_OK;
}

int kmig_nl_totals(struct kmig_nl *nl, struct kmig_nl_totals *out, struct kmig_err *err)
{
	struct nlmsghdr *nlh = put_request(nl, nl->family, KMIG_CMD_GET_TOTALS, 0,
					   KMIG_GENL_VERSION);
	int ret;

	memset(out, 0, sizeof(*out));
	errno = 0;
	ret = transact(nl, nlh, totals_cb, out);
	if (ret)
		return kmig_err_set(err, ret, "netlink get totals: %s", strerror(-ret));
	return 0;
}

int kmig_nl_stops(struct kmig_nl *nl, uint64_t session_id, struct kmig_nl_stop **out,
		  size_t *n, struct kmig_err *err)
{
	struct nlmsghdr *nlh = put_request(nl, nl->family, KMIG_CMD_GET_STOP, NLM_F_DUMP,
					   KMIG_GENL_VERSION);
	struct array_ctx a = { .size = sizeof(**out), .parse = stop_item };
	int ret;

	if (session_id)
		mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, session_id);
	ret = run_array(nl, nlh, &a, "dump of deferred stops", err);
	*out = a.items;
	*n = a.n;
	return ret;
}

/* ---- events ---- */

static int wait_readable(int fd, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret = poll(&p, 1, timeout_ms);

	if (ret < 0)
		return -errno;
	return ret;
}

int kmig_nl_event_next(struct kmig_nl *nl, int timeout_ms, struct kmig_nl_event *ev,
		       struct kmig_err *err)
{
	const struct nlmsghdr *nlh;
	ssize_t len;
	int ret;

	memset(ev, 0, sizeof(*ev));
	if (!nl->ev)
		return kmig_err_set(err, -EINVAL, "netlink context opened without events");
	for (;;) {
		ret = wait_readable(mnl_socket_get_fd(nl->ev), timeout_ms);
		if (ret <= 0)
			return ret == -EINTR ? ret :
			       ret ? kmig_err_set(err, ret, "poll: %s", strerror(-ret)) : 0;
		len = mnl_socket_recvfrom(nl->ev, nl->evbuf, KMIG_NL_EVENT_BUF);
		if (len < 0)
			return kmig_err_set(err, -errno, "receive event: %s%s", strerror(errno),
					    errno == ENOBUFS ? " (events lost)" : "");
		nlh = one_msg(nl->evbuf, len);
		if (!nlh)
			return kmig_err_set(err, -EPROTO, "event of %zd bytes: bad header", len);
		if (nlh->nlmsg_type != nl->family)
			continue;	/* not ours (cannot happen on this group) */
		ret = kmig_nl_parse_event_msg(nlh, len, ev);
		if (ret)
			return kmig_err_set(err, ret, "malformed kmig event of %u bytes",
					    nlh->nlmsg_len);
		return 1;
	}
}
