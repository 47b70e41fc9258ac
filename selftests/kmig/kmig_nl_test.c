// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_nl_test - the generic netlink family "kmig", through the helper
 * library's libmnl client (user/lib/kmod/kmod_nl.c) and raw libmnl messages.
 *
 * counters: a session does a known amount of work (one zero scan, two
 * harvests, one synchronous and one cancelled deferred stop); the session
 * dump, the single-session request and the module totals show exactly
 * that; the totals keep it after the session closed.
 * pending: a pending deferred stop is in the GET_STOP dump (with a session
 * filter), and gone after cancel.
 * events: attach and close of a session, with the final counters.
 * unprivileged: a process without CAP_NET_ADMIN can neither join the
 * "events" group (session and stop events name VM processes) nor use the
 * commands: -EPERM for both.
 * policy: malformed requests are refused: wrong attribute length, unknown
 * attribute type, NLA_UNSPEC and NLA_REJECT attributes, trailing garbage,
 * a missing required attribute, an attribute where none is taken, an
 * unknown session, an unknown command.
 */
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kmod/kmod_harvest.h"
#include "kmod/kmod_nl.h"

#define ST(attr)	KMIG_NL_STAT(KMIG_STATS_A_##attr)

static struct kmig_nl *t_nl(bool events)
{
	struct kmig_nl *nl;
	struct kmig_err err = { 0 };

	KT_ASSERT(!kmig_nl_open(&nl, events, &err), "%s", err.msg);
	return nl;
}

/* Opens and attaches a session; returns its id (the one new in the dump). */
static uint64_t t_new_session(struct kmig_nl *nl, int vm_fd, int *kfd)
{
	struct kmig_nl_session *before, *after;
	struct kmig_err err = { 0 };
	size_t nb, na;
	uint64_t id = 0;

	KT_ASSERT(!kmig_nl_sessions(nl, &before, &nb, &err), "%s", err.msg);
	*kfd = kmig_open();
	kmig_attach(*kfd, vm_fd, NULL);
	KT_ASSERT(!kmig_nl_sessions(nl, &after, &na, &err), "%s", err.msg);
	KT_ASSERT(na == nb + 1, "%zu sessions after open, %zu before", na, nb);
	for (size_t i = 0; i < na; i++) {
		bool old = false;

		for (size_t j = 0; j < nb; j++)
			old |= before[j].id == after[i].id;
		if (!old)
			id = after[i].id;
	}
	free(before);
	free(after);
	KT_ASSERT(id, "new session not in the dump");
	return id;
}

FIXTURE(nl) {
	struct kt_dvm d;
	struct kmig_nl *nl;
	int kfd;
	uint64_t id;
};

FIXTURE_SETUP(nl)
{
	kt_dvm_create(&self->d, false);
	self->nl = t_nl(false);
	self->id = t_new_session(self->nl, self->d.vm.fd, &self->kfd);
}

FIXTURE_TEARDOWN(nl)
{
	if (self->kfd >= 0)
		close(self->kfd);
	kmig_nl_close(self->nl);
	kt_dvm_destroy(&self->d);
}

struct t_work {
	uint64_t scan_pages, scan_zero[3], scan_nonzero;
	uint64_t hv_calls, hv_pages, hv_dirty, hv_zero;
};

/* A known amount of work on the session. */
static void t_do_work(FIXTURE_DATA(nl) *self, struct t_work *w)
{
	struct kt_guest_write gw[64];
	struct kmig_kmod km = { .fd = self->kfd, .features = KMIG_FEAT_HARVEST };
	struct kmig_harvest_range r[KT_DSLOTS];
	struct kmig_harvest_stats hs;
	struct kmig_err err = { 0 };
	uint64_t *bm[KT_DSLOTS], *zb[KT_DSLOTS];
	struct kt_scan sum = { 0 };
	struct kmig_log_stop a = {
		.size = sizeof(a), .flags = KMIG_LOG_STOP_F_NOW, .nr_slots = 1,
		.slots = (uintptr_t)&self->d.slot[0],
	};

	for (int i = 0; i < 64; i++)
		gw[i] = (struct kt_guest_write){ KT_DVM_GPA + i * 5 * KT_PAGE, i % 4 ? 9 : 0 };
	kt_guest_write(&self->d.vm, gw, 64);
	for (int i = 0; i < KT_DSLOTS; i++) {
		bm[i] = calloc(KT_WORDS(self->d.npages[i]), 8);
		zb[i] = calloc(KT_WORDS(self->d.npages[i]), 8);
		r[i] = (struct kmig_harvest_range){ .slot = self->d.slot[i],
			.num_pages = self->d.npages[i], .dirty = bm[i], .zero = zb[i] };
	}
	/* One zero scan of slot 2 (memfd), two harvests of everything. */
	kmig_scan_range(self->kfd, self->d.slot[1], 0, self->d.npages[1], 0, 0, bm[1], &sum);
	w->scan_pages = self->d.npages[1];
	w->scan_zero[0] = sum.nr_none;
	w->scan_zero[1] = sum.nr_zero_page;
	w->scan_zero[2] = sum.nr_zero_data;
	w->scan_nonzero = sum.nr_nonzero;
	KT_ASSERT(sum.calls == 1, "%llu scan calls", (unsigned long long)sum.calls);
	for (int k = 0; k < 2; k++) {
		KT_ASSERT(!kmig_harvest(&km, r, KT_DSLOTS, KMIG_HARVEST_F_CLASSIFY, 0, &hs, &err),
			  "%s", err.msg);
		w->hv_calls += hs.calls;
		w->hv_pages += self->d.total;
		w->hv_dirty += hs.nr_dirty;
		w->hv_zero += hs.nr_zero;
	}
	KT_ASSERT(w->hv_dirty == 128 && w->hv_zero == 32, "harvested %llu dirty, %llu zero",
		  (unsigned long long)w->hv_dirty, (unsigned long long)w->hv_zero);
	KT_CALL_OK(__kmig_log_stop(self->kfd, &a), "KMIG_LOG_STOP(NOW)");
	for (int i = 0; i < KT_DSLOTS; i++) {
		free(bm[i]);
		free(zb[i]);
	}
}

static void t_check_stats(struct __test_metadata *_metadata,
			  const struct kmig_nl_stats *s, const struct t_work *w,
			  uint64_t cancelled)
{
	EXPECT_EQ(1, s->v[ST(ZSCAN_CALLS)]);
	EXPECT_EQ(w->scan_zero[0], s->v[ST(ZSCAN_NONE)]);
	EXPECT_EQ(w->scan_zero[1], s->v[ST(ZSCAN_ZERO_PAGE)]);
	EXPECT_EQ(w->scan_zero[2], s->v[ST(ZSCAN_ZERO_DATA)]);
	EXPECT_EQ(w->scan_nonzero, s->v[ST(ZSCAN_NONZERO)]);
	EXPECT_EQ(w->hv_calls, s->v[ST(HARVEST_CALLS)]);
	EXPECT_EQ(w->hv_pages, s->v[ST(HARVEST_PAGES)]);
	EXPECT_EQ(w->hv_dirty, s->v[ST(HARVEST_DIRTY)]);
	EXPECT_EQ(w->hv_zero, s->v[ST(HARVEST_ZERO_NONE)] + s->v[ST(HARVEST_ZERO_PAGE)] +
			      s->v[ST(HARVEST_ZERO_DATA)]);
	EXPECT_EQ(w->hv_zero, s->v[ST(HARVEST_ZERO_DATA)]);	/* guest-written zeros */
	EXPECT_GT(s->v[ST(HARVEST_NS)], 0);
	EXPECT_GT(s->v[ST(ZSCAN_NS)], 0);
	EXPECT_EQ(1 + cancelled, s->v[ST(STOP_REQUESTS)]);
	EXPECT_EQ(0, s->v[ST(STOP_PENDING)]);
	EXPECT_EQ(1, s->v[ST(STOP_DONE)]);
	EXPECT_EQ(cancelled, s->v[ST(STOP_CANCELLED)]);
	EXPECT_EQ(1, s->v[ST(STOP_SLOTS_DONE)]);
	EXPECT_EQ(0, s->v[ST(STOP_SLOTS_SKIPPED)] + s->v[ST(STOP_SLOTS_FAILED)]);
	EXPECT_GT(s->v[ST(STOP_WORK_NS)], 0);
	EXPECT_GE(s->v[ST(STOP_LATENCY_NS)], s->v[ST(STOP_WORK_NS)]);
}

TEST_F(nl, counters)
{
	struct kmig_nl_totals t0, t1, t2;
	struct kmig_nl_session s, *all;
	struct kmig_err err = { 0 };
	struct t_work w = { 0 };
	bool found = false;
	size_t n;

	ASSERT_EQ(0, kmig_nl_totals(self->nl, &t0, &err)) TH_LOG("%s", err.msg);
	t_do_work(self, &w);
	ASSERT_EQ(0, kmig_nl_session(self->nl, self->id, &s, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(self->id, s.id);
	EXPECT_EQ(getpid(), s.pid);
	EXPECT_EQ(getpid(), s.vm_pid);
	ASSERT_TRUE(s.has_stats);
	t_check_stats(_metadata, &s.stats, &w, 0);

	ASSERT_EQ(0, kmig_nl_sessions(self->nl, &all, &n, &err)) TH_LOG("%s", err.msg);
	for (size_t i = 0; i < n; i++) {
		if (all[i].id != self->id)
			continue;
		found = true;
		EXPECT_EQ(0, memcmp(&all[i].stats, &s.stats, sizeof(s.stats)));
	}
	free(all);
	EXPECT_TRUE(found);

	ASSERT_EQ(0, kmig_nl_totals(self->nl, &t1, &err)) TH_LOG("%s", err.msg);
	EXPECT_GE(t1.nr_sessions, 1);
	for (int i = 0; i < KMIG_NL_NR_STATS; i++) {
		const char *name = kmig_nl_stat_name(i);

		if (i == ST(STOP_PENDING))
			continue;
		EXPECT_EQ(t0.stats.v[i] + s.stats.v[i], t1.stats.v[i]) TH_LOG("total %s", name);
	}
	/* Closed: gone from the dump, kept in the totals. */
	close(self->kfd);
	self->kfd = -1;
	EXPECT_EQ(-ENOENT, kmig_nl_session(self->nl, self->id, &s, &err));
	ASSERT_EQ(0, kmig_nl_totals(self->nl, &t2, &err)) TH_LOG("%s", err.msg);
	EXPECT_EQ(t1.nr_sessions - 1, t2.nr_sessions);
	EXPECT_EQ(t1.stats.v[ST(HARVEST_DIRTY)], t2.stats.v[ST(HARVEST_DIRTY)]);
	EXPECT_EQ(t1.stats.v[ST(STOP_SLOTS_DONE)], t2.stats.v[ST(STOP_SLOTS_DONE)]);
}

TEST_F(nl, pending)
{
	struct kmig_log_stop a = {
		.size = sizeof(a), .nr_slots = KT_DSLOTS, .slots = (uintptr_t)self->d.slot,
		.delay_ns = 60ULL * 1000000000,
	};
	struct kmig_log_stop_cancel c = { .size = sizeof(c) };
	struct kmig_nl_session s;
	struct kmig_nl_stop *st;
	struct kmig_err err = { 0 };
	size_t n;

	KT_CALL_OK(__kmig_log_stop(self->kfd, &a), "KMIG_LOG_STOP");
	ASSERT_EQ(0, kmig_nl_stops(self->nl, self->id, &st, &n, &err)) TH_LOG("%s", err.msg);
	ASSERT_EQ(1, n);
	EXPECT_EQ(a.id, st[0].id);
	EXPECT_EQ(self->id, st[0].session_id);
	EXPECT_EQ(KMIG_STOP_PENDING, st[0].state);
	EXPECT_EQ(KT_DSLOTS, st[0].nr_slots);
	EXPECT_EQ(0, st[0].nr_done);
	EXPECT_EQ(getpid(), st[0].vm_pid);
	free(st);
	ASSERT_EQ(0, kmig_nl_session(self->nl, self->id, &s, &err));
	EXPECT_EQ(1, s.stats.v[ST(STOP_PENDING)]);
	/* Another session's filter does not show it. */
	ASSERT_EQ(0, kmig_nl_stops(self->nl, self->id + 1000, &st, &n, &err));
	EXPECT_EQ(0, n);
	free(st);
	c.id = a.id;
	ASSERT_EQ(0, __kmig_log_stop_cancel(self->kfd, &c));
	ASSERT_EQ(0, kmig_nl_stops(self->nl, 0, &st, &n, &err));
	for (size_t i = 0; i < n; i++)
		EXPECT_NE(a.id, st[i].id);
	free(st);
	ASSERT_EQ(0, kmig_nl_session(self->nl, self->id, &s, &err));
	EXPECT_EQ(0, s.stats.v[ST(STOP_PENDING)]);
	EXPECT_EQ(1, s.stats.v[ST(STOP_CANCELLED)]);
}

/* Waits for a session event of session @id. */
static int t_session_event(struct kmig_nl *nl, uint64_t id, uint32_t what,
			   struct kmig_nl_event *ev)
{
	struct kmig_err err = { 0 };

	for (int i = 0; i < 50; i++) {
		int ret = kmig_nl_event_next(nl, 5000, ev, &err);

		if (ret <= 0)
			return -1;
		if (ev->type == KMIG_NL_EV_SESSION && ev->session.id == id &&
		    ev->session_event == what)
			return 0;
		kmig_nl_event_free(ev);
	}
	return -1;
}

TEST(events)
{
	struct kmig_nl *ev = t_nl(true), *nl = t_nl(false);
	struct kmig_nl_event e;
	struct kt_dvm d;
	uint64_t id;
	int kfd;

	kt_dvm_create(&d, false);
	id = t_new_session(nl, d.vm.fd, &kfd);
	ASSERT_EQ(0, t_session_event(ev, id, KMIG_EVENT_ATTACHED, &e));
	EXPECT_EQ(getpid(), e.session.pid);
	EXPECT_EQ(getpid(), e.session.vm_pid);
	EXPECT_FALSE(e.session.has_stats);
	close(kfd);
	ASSERT_EQ(0, t_session_event(ev, id, KMIG_EVENT_CLOSED, &e));
	EXPECT_TRUE(e.session.has_stats);
	kmig_nl_close(ev);
	kmig_nl_close(nl);
	kt_dvm_destroy(&d);
}

/* In a child that dropped root: 0 if both are refused with -EPERM. */
static int t_unprivileged(void)
{
	struct kmig_err err = { 0 };
	struct kmig_nl_session *s;
	struct kmig_nl *nl;
	size_t n;
	int ret;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 10;
	ret = kmig_nl_open(&nl, true, &err);
	if (ret != -EPERM) {
		fprintf(stderr, "join events as uid 65534: %d (%s), want -EPERM\n", ret,
			err.msg);
		if (!ret)
			kmig_nl_close(nl);
		return 1;
	}
	if (kmig_nl_open(&nl, false, &err))
		return 11;
	ret = kmig_nl_sessions(nl, &s, &n, &err);
	kmig_nl_close(nl);
	if (ret != -EPERM) {
		fprintf(stderr, "session dump as uid 65534: %d, want -EPERM\n", ret);
		return 2;
	}
	return 0;
}

TEST(unprivileged)
{
	int status;
	pid_t pid = fork();

	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(t_unprivileged());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
}

/* ---- policy: raw messages ---- */

struct t_raw {
	struct mnl_socket *sock;
	uint16_t family;
	char buf[8192];
	uint32_t seq;
};

static struct nlmsghdr *t_msg(struct t_raw *r, uint8_t cmd, uint16_t flags)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(r->buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = r->family;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	nlh->nlmsg_seq = ++r->seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = KMIG_GENL_VERSION;
	return nlh;
}

/* Sends @nlh; returns 0 for an ack, -errno for an error ack. */
static int t_send(struct t_raw *r, struct nlmsghdr *nlh)
{
	uint32_t portid = mnl_socket_get_portid(r->sock);
	int ret;

	KT_ASSERT(mnl_socket_sendto(r->sock, nlh, nlh->nlmsg_len) >= 0, "send");
	do {
		ret = mnl_socket_recvfrom(r->sock, r->buf, sizeof(r->buf));
		KT_ASSERT(ret > 0, "recv: %s", strerror(errno));
		ret = mnl_cb_run(r->buf, ret, r->seq, portid, NULL, NULL);
	} while (ret > MNL_CB_STOP);
	return ret < 0 ? -errno : 0;
}

static void t_put_raw(struct nlmsghdr *nlh, uint16_t type, const void *data, uint16_t len)
{
	mnl_attr_put(nlh, type, len, data);
}

FIXTURE(policy) {
	struct t_raw r;
	struct kmig_nl *nl;
};

FIXTURE_SETUP(policy)
{
	self->nl = t_nl(false);
	self->r.family = kmig_nl_family_id(self->nl);
	self->r.sock = mnl_socket_open(NETLINK_GENERIC);
	ASSERT_NE(NULL, self->r.sock);
	ASSERT_EQ(0, mnl_socket_bind(self->r.sock, 0, MNL_SOCKET_AUTOPID));
}

FIXTURE_TEARDOWN(policy)
{
	mnl_socket_close(self->r.sock);
	kmig_nl_close(self->nl);
}

TEST_F(policy, malformed)
{
	struct t_raw *r = &self->r;
	struct nlmsghdr *nlh;
	uint32_t u32 = 1;
	uint64_t u64 = 1;

	/* Well-formed but unknown session: -ENOENT. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1ULL << 60);
	EXPECT_EQ(-ENOENT, t_send(r, nlh));
	/* The id as a u32. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	t_put_raw(nlh, KMIG_A_SESSION_ID, &u32, sizeof(u32));
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* Missing the id. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* An unknown attribute type next to a good id. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1);
	t_put_raw(nlh, 77, &u64, sizeof(u64));
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* A known attribute this command does not take. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1);
	mnl_attr_put_u32(nlh, KMIG_A_PID, 1);
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* NLA_UNSPEC (type 0) and the padding attribute. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1);
	t_put_raw(nlh, KMIG_A_UNSPEC, &u64, sizeof(u64));
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1);
	t_put_raw(nlh, KMIG_A_PAD, NULL, 0);
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* Trailing garbage shorter than an attribute header. */
	nlh = t_msg(r, KMIG_CMD_GET_SESSION, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1);
	memset((char *)nlh + nlh->nlmsg_len, 0x5a, 4);
	nlh->nlmsg_len += 2;
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* Totals take no attribute at all. */
	nlh = t_msg(r, KMIG_CMD_GET_TOTALS, 0);
	mnl_attr_put_u64(nlh, KMIG_A_SESSION_ID, 1);
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* A dump with a malformed filter. */
	nlh = t_msg(r, KMIG_CMD_GET_STOP, NLM_F_DUMP);
	t_put_raw(nlh, KMIG_A_SESSION_ID, &u32, sizeof(u32));
	EXPECT_EQ(-EINVAL, t_send(r, nlh));
	/* Commands that are not requests, and unknown ones. */
	nlh = t_msg(r, KMIG_CMD_STOP_EVENT, 0);
	EXPECT_EQ(-EOPNOTSUPP, t_send(r, nlh));
	nlh = t_msg(r, 99, 0);
	EXPECT_EQ(-EOPNOTSUPP, t_send(r, nlh));
	/* And a good one still works on the same socket. */
	nlh = t_msg(r, KMIG_CMD_GET_TOTALS, 0);
	EXPECT_EQ(0, t_send(r, nlh));
}

KT_HARNESS_MAIN
