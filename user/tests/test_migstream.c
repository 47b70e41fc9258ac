// SPDX-License-Identifier: GPL-2.0
/*
 * The stream features live migration adds, over real TCP loopback in one
 * process: the switchover exchange after END (PREPARED, COMMIT, RESUMED)
 * and each way it can fail -- the destination refuses before PREPARED, the
 * source goes away before COMMIT, the destination reports a failed commit,
 * the destination vanishes after COMMIT (outcome unknown: not -EREMOTEIO);
 * the source aborts the switchover (ABORT, with or without PREPARED read:
 * the destination's wait for COMMIT returns -EAGAIN, the device state is
 * dropped, both sides take pages again, and the next switchover commits
 * the source's latest content);
 * a migration stream and a plain receiver refuse each other; and zero
 * hints (kmig_send_queue_zero()): hinted pages go out as zero markers
 * without being read.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "base/bits.h"
#include "gen.h"
#include "stream/recv.h"
#include "stream/send.h"
#include "kselftest_harness.h"

#define PG KMIG_PAGE_SIZE
#define NP 700

/* What the destination does after kmig_recv_run(). */
enum dst_script {
	DST_RESUME,		/* PREPARED, COMMIT, RESUMED */
	DST_REFUSE,		/* abort before PREPARED (its VMM refused the state) */
	DST_EXPECT_CANCEL,	/* PREPARED, then the sender must go away */
	DST_COMMIT_FAILS,	/* COMMIT arrives, then abort (the VMM's COMMIT failed) */
	DST_VANISH,		/* COMMIT arrives, then the sockets close, no word */
	DST_ABORTED_ONCE,	/* ABORT (-EAGAIN), receive again, then DST_RESUME */
};

struct dst {
	pthread_t t;
	enum dst_script script;
	struct kmig_recv *r;
	struct kmig_ram ram;
	int run_ret, commit_ret;
	int abort_ret;		/* DST_ABORTED_ONCE: the first wait's */
	size_t devstate_after;	/* ... and the device state left after it */
	char port[16];
};

static void *dst_main(void *arg)
{
	struct dst *d = arg;
	struct kmig_resumed rep = { .devstate_ns = 11, .commit_ns = 22, .total_ns = 33 };

	d->run_ret = kmig_recv_run(d->r);
	if (d->run_ret)
		return NULL;
	if (d->script == DST_REFUSE) {
		kmig_recv_abort(d->r, -EINVAL, "destination VMM: SET_DEVICE_STATE: 2 vCPUs, expected 1");
		return NULL;
	}
	d->commit_ret = kmig_recv_await_commit(d->r, 5000);
	if (d->script == DST_ABORTED_ONCE) {
		d->abort_ret = d->commit_ret;
		kmig_recv_devstate(d->r, &d->devstate_after);
		d->run_ret = d->abort_ret == -EAGAIN ? kmig_recv_run(d->r) : d->abort_ret;
		if (d->run_ret)
			return NULL;
		d->commit_ret = kmig_recv_await_commit(d->r, 5000);
	}
	if (d->commit_ret)
		return NULL;
	if (d->script == DST_COMMIT_FAILS)
		kmig_recv_abort(d->r, -EIO, "destination VMM: COMMIT: KVM_SET_SREGS: Invalid argument");
	else if (d->script == DST_VANISH) {
		kmig_recv_destroy(d->r);	/* sockets closed, no ERROR: a crash */
		d->r = NULL;
	}
	else
		kmig_recv_resumed(d->r, &rep);
	return NULL;
}

static int dst_start(struct dst *d, enum dst_script script, int switchover)
{
	struct kmig_recv_opts o = { .accept_timeout_ms = 10000, .switchover = switchover };
	int ret;

	memset(d, 0, sizeof(*d));
	d->script = script;
	kmig_ram_init(&d->ram);
	ret = kmig_recv_create(&d->r, &o, &d->ram);
	if (!ret)
		ret = kmig_recv_listen(d->r, "127.0.0.1", "0");
	if (ret)
		return ret;
	snprintf(d->port, sizeof(d->port), "%u", kmig_recv_port(d->r));
	return -pthread_create(&d->t, NULL, dst_main, d);
}

static void dst_join(struct dst *d)
{
	pthread_join(d->t, NULL);
}

static void dst_free(struct dst *d)
{
	kmig_recv_destroy(d->r);
	kmig_ram_free(&d->ram);
}

static void dst_end(struct dst *d)
{
	dst_join(d);
	dst_free(d);
}

static int make_src(struct kmig_ram *ram)
{
	kmig_ram_init(ram);
	if (kmig_ram_add_memfd(ram, "slot0", NP * PG, NULL) ||
	    kmig_ram_add_memfd(ram, "slot1", 64 * PG, NULL))
		return -ENOMEM;
	t_fill_random(ram->blocks[0].base, 300 * PG, 5);
	t_fill_text(ram->blocks[1].base, 64 * PG, 6);
	return 0;
}

/* Source side up to a finished stream (END acknowledged). */
static int src_finish(struct kmig_send **s, struct kmig_ram *ram, const char *port, int sw)
{
	struct kmig_send_opts o;
	int ret;

	kmig_send_opts_init(&o);
	o.nr_channels = 2;
	o.switchover = sw;
	ret = kmig_send_create(s, &o, ram);
	if (!ret)
		ret = kmig_send_connect(*s, "127.0.0.1", port);
	if (!ret)
		ret = kmig_send_queue_all(*s);
	if (!ret)
		ret = kmig_send_finish(*s, "dev", 3);
	return ret;
}

/* Source and destination up to the source's COMMIT (sent). */
static int to_commit(struct kmig_ram *src, struct kmig_send **s, struct dst *d,
		     enum dst_script script)
{
	int ret = dst_start(d, script, 1);

	if (!ret)
		ret = src_finish(s, src, d->port, 1);
	if (!ret)
		ret = kmig_send_await_prepared(*s, 5000);
	if (!ret)
		ret = kmig_send_commit(*s);
	return ret;
}

/* Every test sends the source RAM make_src() fills. */
FIXTURE(stream) {
	struct kmig_ram src;
};

FIXTURE_SETUP(stream)
{
	ASSERT_EQ(0, make_src(&self->src)) TH_LOG("source");
}

FIXTURE_TEARDOWN(stream)
{
	kmig_ram_free(&self->src);
}

TEST_F(stream, commit)
{
	struct kmig_resumed rep = { 0 };
	struct kmig_send *s;
	struct dst d;

	ASSERT_EQ(0, to_commit(&self->src, &s, &d, DST_RESUME))
		TH_LOG("commit: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_await_resumed(s, &rep, 5000))
		TH_LOG("resumed: %s", kmig_send_error(s));
	EXPECT_TRUE(rep.devstate_ns == 11 && rep.commit_ns == 22 && rep.total_ns == 33)
		TH_LOG("timings %llu %llu %llu", (unsigned long long)rep.devstate_ns,
		       (unsigned long long)rep.commit_ns, (unsigned long long)rep.total_ns);
	/* Only once. */
	EXPECT_NE(0, kmig_send_await_resumed(s, &rep, 100)) TH_LOG("second RESUMED");
	kmig_send_destroy(s);
	dst_join(&d);
	EXPECT_TRUE(d.run_ret == 0 && d.commit_ret == 0)
		TH_LOG("destination %d %d", d.run_ret, d.commit_ret);
	EXPECT_EQ(0, memcmp(self->src.blocks[0].base, d.ram.blocks[0].base, NP * PG))
		TH_LOG("content");
	dst_free(&d);
}

TEST_F(stream, refused)
{
	struct kmig_send *s;
	struct dst d;
	int ret;

	ASSERT_EQ(0, dst_start(&d, DST_REFUSE, 1)) TH_LOG("destination");
	ASSERT_EQ(0, src_finish(&s, &self->src, d.port, 1))
		TH_LOG("finish: %s", kmig_send_error(s));
	ret = kmig_send_await_prepared(s, 5000);
	TH_LOG("%s", kmig_send_error(s));
	EXPECT_TRUE(ret == -EREMOTEIO && strstr(kmig_send_error(s), "2 vCPUs, expected 1"))
		TH_LOG("%d %s", ret, kmig_send_error(s));
	EXPECT_NE(0, kmig_send_commit(s)) TH_LOG("COMMIT after a failure");
	kmig_send_destroy(s);
	dst_end(&d);
}

TEST_F(stream, source_cancels)
{
	struct kmig_send *s;
	struct dst d;

	ASSERT_EQ(0, dst_start(&d, DST_EXPECT_CANCEL, 1)) TH_LOG("destination");
	ASSERT_EQ(0, src_finish(&s, &self->src, d.port, 1))
		TH_LOG("finish: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_await_prepared(s, 5000)) TH_LOG("prepared: %s", kmig_send_error(s));
	kmig_send_cancel(s, -ECANCELED);
	EXPECT_EQ(-ECANCELED, kmig_send_commit(s)) TH_LOG("COMMIT after cancel");
	dst_join(&d);
	TH_LOG("%s", kmig_recv_error(d.r));
	EXPECT_TRUE(d.commit_ret != 0 && strstr(kmig_recv_error(d.r),
		    "waiting for COMMIT: the sender closed the connection"))
		TH_LOG("%d %s", d.commit_ret, kmig_recv_error(d.r));
	dst_free(&d);
	kmig_send_destroy(s);
}

/* After COMMIT: a reported failure is definite, silence is not. */
static void after_commit(struct __test_metadata *_metadata, struct kmig_ram *src,
			 enum dst_script script)
{
	struct kmig_resumed rep;
	struct kmig_send *s;
	struct dst d;
	int ret;

	ASSERT_EQ(0, to_commit(src, &s, &d, script)) TH_LOG("commit: %s", kmig_send_error(s));
	ret = kmig_send_await_resumed(s, &rep, 5000);
	TH_LOG("%d %s", ret, kmig_send_error(s));
	if (script == DST_COMMIT_FAILS) {
		EXPECT_TRUE(ret == -EREMOTEIO && strstr(kmig_send_error(s), "KVM_SET_SREGS"))
			TH_LOG("%d %s", ret, kmig_send_error(s));
	} else {
		EXPECT_TRUE(ret && ret != -EREMOTEIO) TH_LOG("%d %s", ret, kmig_send_error(s));
	}
	kmig_send_destroy(s);
	dst_end(&d);
}

TEST_F(stream, commit_fails)
{
	after_commit(_metadata, &self->src, DST_COMMIT_FAILS);
}

TEST_F(stream, destination_vanishes)
{
	after_commit(_metadata, &self->src, DST_VANISH);
}

/* A strict limit's ABORT after END (@prepared: after the source read
 * PREPARED): the destination drops the device state and receives again,
 * the source writes more and sends those pages, and the second switchover
 * commits what the source holds now. */
static void abort_then_commit(struct __test_metadata *_metadata, struct kmig_ram *src,
			      bool prepared)
{
	struct kmig_resumed rep;
	struct kmig_send *s;
	struct dst d;

	ASSERT_EQ(0, dst_start(&d, DST_ABORTED_ONCE, 1)) TH_LOG("destination");
	ASSERT_EQ(0, src_finish(&s, src, d.port, 1)) TH_LOG("finish: %s", kmig_send_error(s));
	if (prepared)
		ASSERT_EQ(0, kmig_send_await_prepared(s, 5000))
			TH_LOG("prepared: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_abort(s, 5000)) TH_LOG("ABORT: %s", kmig_send_error(s));
	t_fill_random(src->blocks[0].base + 10 * PG, 20 * PG, 9);	/* the guest runs on */
	ASSERT_EQ(0, kmig_send_queue(s, 0, 10, 20, NULL)) TH_LOG("queue: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_finish(s, "dev2", 4)) TH_LOG("finish: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_await_prepared(s, 5000)) TH_LOG("prepared: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_commit(s)) TH_LOG("commit: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_await_resumed(s, &rep, 5000))
		TH_LOG("resumed: %s", kmig_send_error(s));
	dst_join(&d);
	EXPECT_TRUE(d.abort_ret == -EAGAIN && d.devstate_after == 0 && d.run_ret == 0 &&
		    d.commit_ret == 0 && kmig_recv_aborts(d.r) == 1)
		TH_LOG("destination: abort %d devstate %zu, then %d %d: %s", d.abort_ret,
		       d.devstate_after, d.run_ret, d.commit_ret, kmig_recv_error(d.r));
	EXPECT_EQ(0, memcmp(src->blocks[0].base, d.ram.blocks[0].base, NP * PG)) TH_LOG("content");
	EXPECT_EQ(0, memcmp(src->blocks[1].base, d.ram.blocks[1].base, 64 * PG)) TH_LOG("slot1");
	dst_free(&d);
	kmig_send_destroy(s);
}

TEST_F(stream, source_aborts_after_prepared)
{
	abort_then_commit(_metadata, &self->src, true);
}

TEST_F(stream, source_aborts_before_prepared)
{
	abort_then_commit(_metadata, &self->src, false);
}

/* A migration stream and a plain receiver refuse each other, both ways. */
FIXTURE(mismatch) {
	struct kmig_ram src;
};

FIXTURE_VARIANT(mismatch) {
	int switchover;		/* the sender's; the receiver has the other */
	const char *error;	/* what the sender reports */
};

FIXTURE_VARIANT_ADD(mismatch, send_to_incoming) {
	.switchover = 0, .error = "not a live migration",
};

FIXTURE_VARIANT_ADD(mismatch, migrate_to_receive) {
	.switchover = 1, .error = "a live migration: use kmig incoming",
};

FIXTURE_SETUP(mismatch)
{
	ASSERT_EQ(0, make_src(&self->src)) TH_LOG("source");
}

FIXTURE_TEARDOWN(mismatch)
{
	kmig_ram_free(&self->src);
}

TEST_F(mismatch, refused)
{
	struct kmig_send *s;
	struct dst d;
	int ret;

	ASSERT_EQ(0, dst_start(&d, DST_RESUME, !variant->switchover)) TH_LOG("destination");
	ret = src_finish(&s, &self->src, d.port, variant->switchover);
	TH_LOG("%s", kmig_send_error(s));
	EXPECT_TRUE(ret == -EPROTO && strstr(kmig_send_error(s), variant->error))
		TH_LOG("%d %s", ret, kmig_send_error(s));
	kmig_send_destroy(s);
	dst_join(&d);
	EXPECT_EQ(-EPROTO, d.run_ret) TH_LOG("receiver %d", d.run_ret);
	dst_free(&d);
}

/*
 * Zero hints: pages 0..99 hold data on the source but are hinted zero, so
 * they must arrive as zero markers (never read: the destination keeps its
 * hole) and count as not read; pages 100..299 are classified normally.
 */
TEST_F(stream, zero_hints)
{
	uint64_t want[KMIG_BITMAP_WORDS(NP)] = { 0 }, zero[KMIG_BITMAP_WORDS(NP)] = { 0 };
	struct kmig_ram *src = &self->src;
	struct kmig_send_opts o;
	struct kmig_stats ss;
	struct kmig_send *s;
	struct dst d;

	for (int i = 0; i < 300; i++) {
		kmig_set_bit(want, i);
		if (i < 100)
			kmig_set_bit(zero, i);
	}
	ASSERT_EQ(0, dst_start(&d, DST_RESUME, 0)) TH_LOG("destination");
	kmig_send_opts_init(&o);
	o.nr_channels = 3;
	ASSERT_EQ(0, kmig_send_create(&s, &o, src)) TH_LOG("create");
	ASSERT_EQ(0, kmig_send_connect(s, "127.0.0.1", d.port))
		TH_LOG("connect: %s", kmig_send_error(s));
	ASSERT_EQ(0, kmig_send_queue_zero(s, 0, 0, NP, want, zero)) TH_LOG("queue");
	ASSERT_EQ(0, kmig_send_finish(s, NULL, 0)) TH_LOG("finish: %s", kmig_send_error(s));
	kmig_send_stats(s, &ss);
	kmig_send_destroy(s);
	dst_join(&d);
	ASSERT_EQ(0, d.run_ret) TH_LOG("receive: %s", kmig_recv_error(d.r));
	EXPECT_TRUE(ss.sum.pages_none == 100 && ss.sum.pages_raw == 200)
		TH_LOG("none %llu raw %llu", (unsigned long long)ss.sum.pages_none,
		       (unsigned long long)ss.sum.pages_raw);
	EXPECT_EQ(100 * PG, lseek(d.ram.blocks[0].fd, 0, SEEK_DATA)) TH_LOG("hinted pages written");
	EXPECT_EQ(0, memcmp(src->blocks[0].base + 100 * PG, d.ram.blocks[0].base + 100 * PG,
			    200 * PG))
		TH_LOG("content");
	dst_free(&d);
}

TEST_HARNESS_MAIN
