// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_migrate_test - live migration with kmig.ko loaded, end to end: a
 * source kmig-vmm running kguest (64 MiB, 10 % filled, a 4 MiB a-b range
 * dirtied at 500 pages/s, in steps of 50), an --incoming destination
 * kmig-vmm, `kmig incoming` and `kmig
 * migrate` over loopback (lib/kt_mig.c), all real processes on the VM test
 * host.
 *
 * module: the report says completed, and that the module did what it does
 *   by default: the harvest (KMIG_HARVEST of all slots), the first pass's
 *   zero scan (KMIG_ZERO_SCAN of every slot after the first clear: every
 *   zero page of the guest goes out once, as a marker, in the first pass,
 *   and never again) and the deferred dirty-log stop, which ended done for
 *   every slot; the
 *   destination guest passes the integrity check (paused, every page) and
 *   keeps running; the module's counters (netlink totals) grew by the
 *   harvest calls, zero scans and one done deferred stop; the source, kept
 *   paused, has dirty logging off in its VMM's records (QUERY) and in KVM
 *   (a module harvest of each slot says ENODATA), nothing pending.
 * cancelled: SIGINT after the first pass (test hook precopy-0): exit 1,
 *   status cancelled, the source guest runs on, intact (integrity check)
 *   and progressing, logging off in the records and in KVM after the
 *   module's deferred stop; the destination VMM never ran the guest.
 * classify: --module all: the harvests also classify the dirty pages;
 *   zero pages are still sent once; the guest arrives intact.
 * no_module: --no-module on the same host: every path is the fallback,
 *   the module's counters do not move, zero pages are sent once, the
 *   guest arrives intact.
 * save_module: kmig save (live, into a file) shares the precopy loop and
 *   the tracker: it completes on the module path with the deferred stop
 *   done, the source guest runs on intact with logging off (records and
 *   KVM), and kmig restore brings the file up intact in the destination.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "kmod/kmod_dev.h"
#include "kmod/kmod_harvest.h"
#include "kmod/kmod_logstop.h"
#include "kmod/kmod_nl.h"
#include "kt_harness.h"
#include "kt_mig.h"
#include "kmig/vmm_proto_client.h"

#define MIG_MS		150000
#define STAT(s, a)	((s).v[KMIG_NL_STAT(KMIG_STATS_A_##a)])

/* A sparse guest (10 % filled): the first pass's scan has holes to skip
 * (a mostly populated piece is left to the sender threads). */
static const char *const src_args[] = {
	"--mem", "64M", "--vcpus", "1", "--ab", "4M", "--rate", "500", "--report", "50",
	"--fill", "10", NULL
};
static const char *const dst_args[] = { "--mem", "64M", "--vcpus", "1", NULL };

static void nl_totals(struct __test_metadata *_metadata, struct kmig_nl_stats *out)
{
	struct kmig_err e = { 0 };
	struct kmig_nl_totals t;
	struct kmig_nl *nl;

	ASSERT_EQ(0, kmig_nl_open(&nl, false, &e)) TH_LOG("%s", e.msg);
	ASSERT_EQ(0, kmig_nl_totals(nl, &t, &e)) TH_LOG("%s", e.msg);
	kmig_nl_close(nl);
	*out = t.stats;
}

/* KVM itself (not the VMM's records): a module harvest of each slot of the
 * VM behind @sock fails with ENODATA when its dirty logging is off. */
static void assert_kvm_logging_off(struct __test_metadata *_metadata, const char *sock)
{
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_memmap *mm;
	struct kmig_logstop_status qs;
	struct kmig_err e = { 0 };
	struct kmig_kmod km;

	ASSERT_EQ(0, kmig_vmmp_connect(sock, "kmig_migrate_test", &c));
	ASSERT_EQ(0, kmig_vmmp_get_slots(c, &mm)) TH_LOG("%s", kmig_vmmp_last_error(c));
	ASSERT_EQ(0, kmig_kmod_open(&km, NULL, mm->vm_fd, &e)) TH_LOG("%s", e.msg);
	for (uint32_t i = 0; i < mm->nr_slots; i++) {
		uint64_t pages = mm->slots[i].size / KT_PAGE;
		uint64_t *bm = calloc(KT_WORDS(pages), 8);
		struct kmig_harvest_range r = {
			.slot = mm->slots[i].slot, .num_pages = pages, .dirty = bm,
		};

		ASSERT_NE(NULL, bm);
		kmig_err_clear(&e);
		EXPECT_EQ(-ENODATA, kmig_harvest(&km, &r, 1, 0, 0, NULL, &e))
			TH_LOG("slot %u: %s", mm->slots[i].slot, e.msg);
		free(bm);
	}
	ASSERT_EQ(0, kmig_logstop_query(&km, 0, &qs, &e)) TH_LOG("%s", e.msg);
	EXPECT_EQ(0, qs.nr_requests) TH_LOG("deferred stops still pending");
	kmig_kmod_close(&km);
	kmig_vmmp_memmap_free(mm);
	kmig_vmmp_client_close(c);
}

/* kmig-vmmctl check: paused, every page verified, resumed; then progress. */
static void assert_guest_ok(struct __test_metadata *_metadata, const char *sock)
{
	static const char *const check[] = { "check", NULL };
	char *out, state[32];
	uint64_t before;

	kt_mig_query(sock, "state", state, sizeof(state));
	ASSERT_STREQ("running", state);
	ASSERT_EQ(0, kt_mig_ctl(sock, check, &out)) TH_LOG("%s", out);
	EXPECT_NE(NULL, strstr(out, "integrity: ok: 0 bad pages")) TH_LOG("%s", out);
	free(out);
	before = kt_mig_progress(sock);
	usleep(500000);
	EXPECT_LT(before, kt_mig_progress(sock)) TH_LOG("the guest makes no progress");
}

static void expect_str(struct __test_metadata *_metadata, const char *json, const char *path,
		       const char *want)
{
	char v[256];

	kt_json_str(json, path, v, sizeof(v));
	EXPECT_STREQ(want, v) TH_LOG("%s in %s", path, json);
}

/*
 * Zero pages are sent once: the guest's zero pages go out as markers in
 * the first pass (iteration 0) and never again, since the guest only ever
 * writes non-zero pages after its fill (the a-b range): the zero pages of
 * the whole migration are those of the first pass (a few pages of the
 * guest's own status and stack may turn zero: at most 64 allowed).
 */
static void expect_zero_once(struct __test_metadata *_metadata, const char *j)
{
	uint64_t first = kt_json_u64(j, "iterations.zero_pages"), all = kt_json_u64(j, "pages_zero");

	EXPECT_LT(1000, first) TH_LOG("first pass: %llu zero pages", (unsigned long long)first);
	EXPECT_LE(first, all);
	EXPECT_GE(first + 64, all) TH_LOG("zero pages sent again: %llu in all, %llu in the first "
					  "pass", (unsigned long long)all, (unsigned long long)first);
}

/* kmig incoming, then kmig migrate @args: both exit 0, completed. */
static void migrate_ok(struct __test_metadata *_metadata, struct kt_mig *m,
		       const char *const *args, char **json, char **err)
{
	int st;

	kt_mig_incoming(m, NULL);
	st = kt_mig_migrate(m, args, NULL, MIG_MS, json, err);
	TH_LOG("%s", *json);
	ASSERT_EQ(0, st) TH_LOG("kmig migrate: %s\nkmig incoming: %s", *err,
				kt_file_read(m->in.log));
	ASSERT_EQ(0, kt_proc_wait(&m->in, 30000)) TH_LOG("%s", kt_file_read(m->in.log));
	expect_str(_metadata, *json, "status", "completed");
}

FIXTURE(mig) {
	struct kt_mig m;
	struct kmig_nl_stats before, after;
	char *json, *err;
};

FIXTURE_SETUP(mig)
{
	self->json = self->err = NULL;
	kt_mig_setup(&self->m, src_args, dst_args);
	nl_totals(_metadata, &self->before);
}

FIXTURE_TEARDOWN(mig)
{
	kt_mig_teardown(&self->m);
	free(self->json);
	free(self->err);
}

TEST_F_TIMEOUT(mig, module, 240)
{
	static const char *const args[] = { "--downtime-limit", "100", "--keep-source", NULL };
	const char *j;
	char state[32];
	uint64_t slots;

	migrate_ok(_metadata, &self->m, args, &self->json, &self->err);
	j = self->json;
	EXPECT_NE(NULL, strstr(j, "\"module_used\": true"));
	expect_str(_metadata, j, "paths.harvest", "module");
	expect_str(_metadata, j, "paths.first_pass_zero", "module");
	expect_str(_metadata, j, "paths.dirty_zero", "sender-threads");
	expect_str(_metadata, j, "paths.log_stop", "module-deferred");
	expect_str(_metadata, j, "module.stop_state", "done");
	expect_str(_metadata, j, "source", "paused");
	expect_str(_metadata, j, "source_dirty_log", "off");
	/* The guest dirtied pages that went out after the first pass. */
	EXPECT_LE(3, kt_json_u64(j, "dirty_sync_count"));
	EXPECT_LT(kt_json_u64(j, "iterations.data_pages"), kt_json_u64(j, "pages_normal"));
	EXPECT_LE(kt_json_u64(j, "dirty_sync_count"), kt_json_u64(j, "module.harvest_ioctls"));
	EXPECT_LT(0, kt_json_u64(j, "module.scan_calls"));
	EXPECT_EQ(0, kt_json_u64(j, "module.scan_pieces_dense"));
	/* The scan's zero pages are the first pass's hints, all of them. */
	EXPECT_EQ(kt_json_u64(j, "module.scan_zero_pages"), kt_json_u64(j, "iterations.zero_hinted"));
	expect_zero_once(_metadata, j);
	EXPECT_EQ(0, kt_json_u64(j, "downtime.dirty_log_stop_ns"));
	slots = kt_json_u64(j, "module.stop_slots");
	EXPECT_EQ(2, slots);
	EXPECT_EQ(slots, kt_json_u64(j, "module.stop_slots_done"));

	assert_guest_ok(_metadata, self->m.dst);
	nl_totals(_metadata, &self->after);
	EXPECT_LE(kt_json_u64(j, "module.harvest_ioctls"),
		  STAT(self->after, HARVEST_CALLS) - STAT(self->before, HARVEST_CALLS));
	EXPECT_LT(STAT(self->before, ZSCAN_CALLS), STAT(self->after, ZSCAN_CALLS));
	EXPECT_EQ(1, STAT(self->after, STOP_DONE) - STAT(self->before, STOP_DONE));
	EXPECT_EQ(slots, STAT(self->after, STOP_SLOTS_DONE) - STAT(self->before, STOP_SLOTS_DONE));

	kt_mig_query(self->m.src, "state", state, sizeof(state));
	EXPECT_STREQ("paused", state);
	kt_mig_query(self->m.src, "dirty_log", state, sizeof(state));
	EXPECT_STREQ("off", state);
	assert_kvm_logging_off(_metadata, self->m.src);
}

TEST_F_TIMEOUT(mig, cancelled, 240)
{
	static const char *const in_args[] = { "--keep-vmm", NULL };
	const char *j;
	char state[32];
	int st;

	kt_mig_incoming(&self->m, in_args);
	st = kt_mig_migrate(&self->m, NULL, "KMIG_TEST_HOOK=precopy-0=sigint", MIG_MS,
			    &self->json, &self->err);
	j = self->json;
	TH_LOG("%s", j);
	ASSERT_EQ(1, st) TH_LOG("kmig migrate: %s", self->err);
	EXPECT_NE(NULL, strstr(self->err, "cancelled by signal SIGINT")) TH_LOG("%s", self->err);
	EXPECT_EQ(1, kt_proc_wait(&self->m.in, 30000)) TH_LOG("%s", kt_file_read(self->m.in.log));
	expect_str(_metadata, j, "status", "cancelled");
	expect_str(_metadata, j, "paths.harvest", "module");
	expect_str(_metadata, j, "paths.log_stop", "module-deferred");
	expect_str(_metadata, j, "module.stop_state", "done");
	expect_str(_metadata, j, "source", "running");
	expect_str(_metadata, j, "source_dirty_log", "off");

	assert_guest_ok(_metadata, self->m.src);
	kt_mig_query(self->m.src, "dirty_log", state, sizeof(state));
	EXPECT_STREQ("off", state);
	assert_kvm_logging_off(_metadata, self->m.src);
	nl_totals(_metadata, &self->after);
	EXPECT_EQ(1, STAT(self->after, STOP_DONE) - STAT(self->before, STOP_DONE));
	kt_mig_query(self->m.dst, "state", state, sizeof(state));
	EXPECT_STREQ("incoming", state) TH_LOG("the destination VMM ran the guest");
}

TEST_F_TIMEOUT(mig, classify, 240)
{
	static const char *const args[] = { "--downtime-limit", "100", "--module", "all", NULL };
	const char *j;

	migrate_ok(_metadata, &self->m, args, &self->json, &self->err);
	j = self->json;
	expect_str(_metadata, j, "paths.harvest", "module");
	expect_str(_metadata, j, "paths.first_pass_zero", "module");
	expect_str(_metadata, j, "paths.dirty_zero", "module");
	expect_str(_metadata, j, "paths.module_use", "harvest,scan,classify,stop,scan-dense");
	expect_zero_once(_metadata, j);
	assert_guest_ok(_metadata, self->m.dst);
}

TEST_F_TIMEOUT(mig, no_module, 240)
{
	static const char *const args[] = { "--downtime-limit", "100", "--no-module", NULL };
	const char *j;

	migrate_ok(_metadata, &self->m, args, &self->json, &self->err);
	j = self->json;
	EXPECT_NE(NULL, strstr(j, "\"module_used\": false"));
	expect_str(_metadata, j, "paths.harvest", "vmm");
	expect_str(_metadata, j, "paths.dirty_zero", "sender-threads");
	expect_str(_metadata, j, "paths.first_pass_zero", "sender-threads");
	expect_str(_metadata, j, "paths.log_stop", "vmm-sync");
	expect_str(_metadata, j, "zero_detection", "userspace fallback: --no-module");
	expect_zero_once(_metadata, j);
	expect_str(_metadata, j, "source_dirty_log", "off");
	assert_guest_ok(_metadata, self->m.dst);
	nl_totals(_metadata, &self->after);
	EXPECT_EQ(STAT(self->before, HARVEST_CALLS), STAT(self->after, HARVEST_CALLS));
	EXPECT_EQ(STAT(self->before, ZSCAN_CALLS), STAT(self->after, ZSCAN_CALLS));
	EXPECT_EQ(STAT(self->before, STOP_REQUESTS), STAT(self->after, STOP_REQUESTS));
}

TEST_F_TIMEOUT(mig, save_module, 240)
{
	char file[128], *out;
	const char *save[] = { "save", "--json", "--vmm", self->m.src, "--file", file, NULL };
	const char *restore[] = { "restore", "-q", "--vmm", self->m.dst, "--file", file, NULL };
	int st;

	snprintf(file, sizeof(file), "%s/snap", self->m.dir);
	st = kt_mig_kmig(&self->m, "save", save, MIG_MS, &self->json);
	TH_LOG("%s", self->json);
	ASSERT_EQ(0, st);
	expect_str(_metadata, self->json, "status", "completed");
	expect_str(_metadata, self->json, "paths.harvest", "module");
	expect_str(_metadata, self->json, "paths.log_stop", "module-deferred");
	expect_str(_metadata, self->json, "module.stop_state", "done");
	expect_str(_metadata, self->json, "source", "running");
	expect_str(_metadata, self->json, "source_dirty_log", "off");
	assert_guest_ok(_metadata, self->m.src);
	assert_kvm_logging_off(_metadata, self->m.src);

	st = kt_mig_kmig(&self->m, "restore", restore, MIG_MS, &out);
	EXPECT_EQ(0, st) TH_LOG("kmig restore: %s", out);
	free(out);
	assert_guest_ok(_metadata, self->m.dst);
}

KT_HARNESS_MAIN
