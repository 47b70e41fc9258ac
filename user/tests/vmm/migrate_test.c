// SPDX-License-Identifier: GPL-2.0
/*
 * A local migration without a network, done by this test as the helper
 * would do it: precopy with dirty logging while the source runs, pause,
 * last dirty pages, device state into an --incoming kmig-vmm, COMMIT. The
 * destination must hold the source's memory byte for byte, pass the
 * integrity check and keep making progress. Also: bad device state is
 * refused and the destination stays usable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "tutil.h"

#define PAGE KGUEST_PAGE_SIZE

FIXTURE(mig) {
	struct tvmm src, dst;
	struct kmig_vmmp_client *s, *d;
	struct kmig_vmmp_memmap *sm, *dm;
};

FIXTURE_SETUP(mig)
{
	const char *const src_args[] = { "--mem", tvmm_mem(), "--vcpus", "2", NULL };
	const char *const dst_args[] = { "--mem", tvmm_mem(), "--vcpus", "2", "--incoming", NULL };

	ASSERT_EQ(0, tvmm_start(&self->src, src_args));
	ASSERT_EQ(0, tvmm_start(&self->dst, dst_args));
	ASSERT_EQ(0, tvmm_connect(&self->src, &self->s));
	ASSERT_EQ(0, tvmm_connect(&self->dst, &self->d));
	ASSERT_EQ(0, tvmm_wait_ready(self->s, 20000));
	ASSERT_EQ(0, tvmm_map(self->s, PROT_READ, &self->sm, NULL));
	ASSERT_EQ(0, tvmm_map(self->d, PROT_READ | PROT_WRITE, &self->dm, NULL));
}

FIXTURE_TEARDOWN(mig)
{
	kmig_vmmp_memmap_free(self->sm);
	kmig_vmmp_memmap_free(self->dm);
	if (self->s)
		kmig_vmmp_client_close(self->s);
	if (self->d)
		kmig_vmmp_client_close(self->d);
	EXPECT_EQ(0, tvmm_stop(&self->src));
	EXPECT_EQ(0, tvmm_stop(&self->dst));
}

static int is_zero(const uint8_t *p)
{
	static const uint8_t zero[PAGE];

	return !memcmp(p, zero, PAGE);
}

/*
 * One precopy pass over every slot: harvest, re-protect, copy. Zero pages
 * are skipped: the destination's fresh memfd pages are zero already.
 */
static int copy_dirty(FIXTURE_DATA(mig) *self, uint64_t *copied)
{
	uint32_t s;
	int ret;

	for (s = 0; s < self->sm->nr_slots; s++) {
		const struct kmig_vmmp_memslot *a = &self->sm->slots[s], *b = &self->dm->slots[s];
		uint64_t pages = a->size / PAGE, words = (pages + 63) / 64, i;
		uint64_t *bm = calloc(words, 8);

		ret = bm ? kmig_vmmp_get_dirty_log(self->s, a->slot, bm, words, NULL, NULL) : -ENOMEM;
		if (!ret)
			ret = kmig_vmmp_clear_dirty_log(self->s, a->slot, 0, pages, bm);
		for (i = 0; !ret && i < pages; i++) {
			const uint8_t *from = (const uint8_t *)a->host + i * PAGE;

			if (!((bm[i / 64] >> (i % 64)) & 1))
				continue;
			if (is_zero(from) && is_zero((uint8_t *)b->host + i * PAGE))
				continue;
			memcpy((uint8_t *)b->host + i * PAGE, from, PAGE);
			(*copied)++;
		}
		free(bm);
		if (ret)
			return ret;
	}
	return 0;
}

TEST_F_TIMEOUT(mig, precopy_pause_devstate_commit, 60)
{
	struct kmig_abcheck_progress at_pause, later;
	struct kmig_abcheck_range r[2];
	struct kmig_abcheck_report rep;
	struct kmig_vmmp_status st;
	uint64_t copied = 0, src_pages;
	void *blob;
	size_t len;
	uint32_t s;
	int it;

	/* The destination does not run before COMMIT. */
	ASSERT_TRUE(kmig_vmmp_info(self->d)->vm_flags & KMIG_VMMP_VM_F_INCOMING);
	ASSERT_EQ(0, kmig_vmmp_query(self->d, &st));
	ASSERT_EQ(KMIG_VMMP_STATE_INCOMING, st.state);
	ASSERT_EQ(-EBUSY, kmig_vmmp_pause(self->d));
	ASSERT_EQ(-EBUSY, kmig_vmmp_dirty_log_start(self->d, NULL, 0));

	ASSERT_EQ(0, kmig_vmmp_dirty_log_start(self->s, NULL, 0));
	for (it = 0; it < 3; it++) {
		uint64_t before = copied;

		ASSERT_EQ(0, copy_dirty(self, &copied));
		TH_LOG("precopy pass %d: %llu pages", it, (unsigned long long)(copied - before));
	}
	ASSERT_EQ(0, kmig_vmmp_pause(self->s));
	TH_LOG("source paused in %.3f ms", kmig_vmmp_last_duration_ns(self->s) / 1e6);
	ASSERT_EQ(0, copy_dirty(self, &copied));
	ASSERT_EQ(0, kmig_vmmp_get_device_state(self->s, &blob, &len));
	ASSERT_EQ(0, kmig_vmmp_query(self->s, &st));
	src_pages = st.progress;
	/* Dirty logging caught everything: the copies are identical. */
	for (s = 0; s < self->sm->nr_slots; s++)
		ASSERT_EQ(0, memcmp(self->sm->slots[s].host, self->dm->slots[s].host,
				    self->sm->slots[s].size));

	ASSERT_EQ(0, kmig_vmmp_set_device_state(self->d, blob, len));
	free(blob);
	ASSERT_EQ(0, kmig_vmmp_commit(self->d));
	TH_LOG("commit %.3f ms, device state %zu bytes", kmig_vmmp_last_duration_ns(self->d) / 1e6, len);
	ASSERT_EQ(0, kmig_vmmp_dirty_log_stop(self->s, NULL, 0));
	TH_LOG("source DIRTY_LOG_STOP %.3f ms", kmig_vmmp_last_duration_ns(self->s) / 1e6);

	/* The destination continues from where the source stopped. */
	tvmm_ranges(self->dm, r);
	ASSERT_EQ(0, kmig_abcheck_read_progress(r, 2, &at_pause));
	ASSERT_EQ(0, tvmm_wait_progress(self->d, src_pages, 10000));
	/* A bounded poll: under the lab's TCG 100 ms were sometimes too few. */
	for (it = 0; it < 100; it++) {
		tvmm_sleep_ms(100);
		ASSERT_EQ(0, kmig_abcheck_read_progress(r, 2, &later));
		if (kmig_abcheck_progressed(&at_pause, &later))
			break;
	}
	ASSERT_TRUE(kmig_abcheck_progressed(&at_pause, &later));
	ASSERT_EQ(0, kmig_vmmp_query(self->d, &st));
	ASSERT_EQ(KMIG_VMMP_STATE_RUNNING, st.state);
	ASSERT_GT(st.progress, src_pages);
	ASSERT_EQ(0, kmig_vmmp_pause(self->d));
	ASSERT_EQ(0, kmig_abcheck_run(r, 2, &rep));
	ASSERT_EQ(0, rep.bad_pages);
	ASSERT_EQ(0, kmig_vmmp_resume(self->d));
	TH_LOG("%llu pages copied, destination checked: %llu bad pages",
	       (unsigned long long)copied, (unsigned long long)rep.bad_pages);

	/* The source is done: it exits cleanly when told to. */
	ASSERT_EQ(0, kmig_vmmp_quit(self->s, KMIG_VMMP_QUIT_F_EXIT));
	kmig_vmmp_client_close(self->s);
	self->s = NULL;
	ASSERT_EQ(0, tvmm_wait_exit(&self->src, 10000));
}

TEST_F(mig, bad_device_state_is_refused)
{
	struct kmig_vmmp_status st;
	uint8_t *bad;
	void *blob;
	size_t len;

	ASSERT_EQ(-EINVAL, kmig_vmmp_commit(self->d));
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(self->d), "SET_DEVICE_STATE first"));
	ASSERT_EQ(-EBUSY, kmig_vmmp_get_device_state(self->s, &blob, &len));
	ASSERT_EQ(0, kmig_vmmp_pause(self->s));
	ASSERT_EQ(0, kmig_vmmp_get_device_state(self->s, &blob, &len));
	ASSERT_EQ(-EBUSY, kmig_vmmp_set_device_state(self->s, blob, len));
	bad = malloc(len);
	memcpy(bad, blob, len);
	bad[len / 2] ^= 1;
	ASSERT_EQ(-EBADMSG, kmig_vmmp_set_device_state(self->d, bad, len));
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(self->d), "CRC32C"));
	ASSERT_EQ(-EINVAL, kmig_vmmp_set_device_state(self->d, blob, len - 8));
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(self->d), "length"));
	ASSERT_EQ(-EINVAL, kmig_vmmp_commit(self->d));	/* nothing staged */
	ASSERT_EQ(0, kmig_vmmp_query(self->d, &st));
	ASSERT_EQ(KMIG_VMMP_STATE_INCOMING, st.state);
	/* The right blob still goes in; memory copied last, as in a migration. */
	ASSERT_EQ(0, kmig_vmmp_set_device_state(self->d, blob, len));
	for (uint32_t s = 0; s < self->sm->nr_slots; s++)
		memcpy(self->dm->slots[s].host, self->sm->slots[s].host, self->sm->slots[s].size);
	ASSERT_EQ(0, kmig_vmmp_commit(self->d));
	ASSERT_EQ(-EINVAL, kmig_vmmp_commit(self->d));	/* only once */
	ASSERT_EQ(0, tvmm_wait_progress(self->d, 0, 10000));
	free(bad);
	free(blob);
}

/* The source aborted a switchover: the staged state goes (QUERY shows
 * it), the guest never runs, COMMIT needs a new SET_DEVICE_STATE; a
 * running VM has nothing to drop; flags are checked. */
TEST_F(mig, staged_device_state_is_dropped)
{
	struct kmig_vmmp_simple q = { .flags = 1 };
	struct kmig_vmmp_status st;
	void *blob;
	size_t len;

	ASSERT_TRUE(kmig_vmmp_info(self->d)->ops & (1U << KMIG_VMMP_DROP_DEVICE_STATE));
	ASSERT_EQ(0, kmig_vmmp_drop_device_state(self->d));	/* nothing staged: fine */
	ASSERT_EQ(0, kmig_vmmp_pause(self->s));
	ASSERT_EQ(0, kmig_vmmp_get_device_state(self->s, &blob, &len));
	ASSERT_EQ(0, kmig_vmmp_set_device_state(self->d, blob, len));
	ASSERT_EQ(0, kmig_vmmp_query(self->d, &st));
	ASSERT_TRUE(st.flags & KMIG_VMMP_STATUS_F_STAGED);
	ASSERT_EQ(0, kmig_vmmp_drop_device_state(self->d));
	ASSERT_EQ(0, kmig_vmmp_query(self->d, &st));
	ASSERT_EQ(KMIG_VMMP_STATE_INCOMING, st.state);
	ASSERT_FALSE(st.flags & KMIG_VMMP_STATUS_F_STAGED);
	ASSERT_EQ(-EINVAL, kmig_vmmp_commit(self->d));	/* dropped: nothing to run */
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(self->d), "SET_DEVICE_STATE first"));
	ASSERT_EQ(-EBUSY, kmig_vmmp_drop_device_state(self->s));	/* not incoming */
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(self->s), "only an incoming VM"));
	ASSERT_EQ(-EINVAL, kmig_vmmp_request(self->d, KMIG_VMMP_DROP_DEVICE_STATE, &q, sizeof(q),
					     NULL, 0, NULL));
	/* The state staged again commits as usual. */
	ASSERT_EQ(0, kmig_vmmp_set_device_state(self->d, blob, len));
	for (uint32_t s = 0; s < self->sm->nr_slots; s++)
		memcpy(self->dm->slots[s].host, self->sm->slots[s].host, self->sm->slots[s].size);
	ASSERT_EQ(0, kmig_vmmp_commit(self->d));
	ASSERT_EQ(0, tvmm_wait_progress(self->d, 0, 10000));
	free(blob);
}

TEST_F(mig, layout_mismatch_is_refused)
{
	const char *const one_vcpu[] = { "--mem", tvmm_mem(), "--incoming", NULL };
	struct kmig_vmmp_client *c;
	struct tvmm t;
	void *blob;
	size_t len;

	ASSERT_EQ(0, kmig_vmmp_pause(self->s));
	ASSERT_EQ(0, kmig_vmmp_get_device_state(self->s, &blob, &len));
	ASSERT_EQ(0, tvmm_start(&t, one_vcpu));
	ASSERT_EQ(0, tvmm_connect(&t, &c));
	ASSERT_EQ(-EINVAL, kmig_vmmp_set_device_state(c, blob, len));
	TH_LOG("refused: %s", kmig_vmmp_last_error(c));
	ASSERT_NE(NULL, strstr(kmig_vmmp_last_error(c), "2 vCPUs"));
	kmig_vmmp_client_close(c);
	ASSERT_EQ(0, tvmm_stop(&t));
	free(blob);
	ASSERT_EQ(0, kmig_vmmp_resume(self->s));
}

TEST_HARNESS_MAIN
