// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_unload_test - module unload and reload with sessions and deferred
 * stops open, and the references they hold.
 *
 * What is counted: KVM gives each VM a debugfs directory
 * (/sys/kernel/debug/kvm/<pid>-<fd>) until it is destroyed, so those
 * directories are the live VMs; kmig.ko holds a reference on kvm (it uses
 * its symbols), and an open /dev/kmig holds one on kmig.
 *
 * pending: a session attached to a VM and a deferred stop with a long
 *	delay. While the session is open, rmmod fails (-EWOULDBLOCK) and
 *	changes nothing. With the session and the VM fd closed, the request
 *	alone keeps the VM (its debugfs directory stays); rmmod then
 *	cancels it (the event says so), frees the VM (the count comes back),
 *	drops kmig's reference on kvm, and insmod brings /dev/kmig back with
 *	every count as before.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "kt_harness.h"
#include "kmod/kmod_nl.h"

#define MS		1000000ULL
#define T_KO_PATH	"/modules/kmig.ko"

/* /sys/module/@mod/refcnt, or -1 if the module is not loaded. */
static long t_refcnt(const char *mod)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", mod);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Live VMs: KVM's per-VM debugfs directories ("<pid>-<fd>"). */
static int t_live_vms(void)
{
	DIR *d = opendir("/sys/kernel/debug/kvm");
	struct dirent *e;
	int n = 0;

	KT_ASSERT(d, "/sys/kernel/debug/kvm: %s (debugfs not mounted?)", strerror(errno));
	while ((e = readdir(d)))
		n += e->d_name[0] >= '0' && e->d_name[0] <= '9' && strchr(e->d_name, '-');
	closedir(d);
	return n;
}

/* Waits for the end event of request @id. */
static int t_wait_stop(struct kmig_nl *nl, uint64_t id, struct kmig_nl_stop *st)
{
	struct kmig_err err = { 0 };
	uint64_t end = kt_now_ns() + 5000 * MS;
	struct kmig_nl_event ev;

	while (kt_now_ns() < end) {
		int ret = kmig_nl_event_next(nl, (end - kt_now_ns()) / MS + 1, &ev, &err);

		if (ret <= 0)
			continue;
		if (ev.type == KMIG_NL_EV_STOP && ev.stop.id == id) {
			*st = ev.stop;
			return 0;
		}
		kmig_nl_event_free(&ev);
	}
	return -ETIMEDOUT;
}

static void t_insmod(struct __test_metadata *_metadata)
{
	int fd = open(T_KO_PATH, O_RDONLY | O_CLOEXEC);

	ASSERT_GE(fd, 0) TH_LOG("%s: %s", T_KO_PATH, strerror(errno));
	ASSERT_EQ(0, syscall(SYS_finit_module, fd, "", 0))
		TH_LOG("insmod %s: %s", T_KO_PATH, strerror(errno));
	close(fd);
	/* devtmpfs creates the node asynchronously. */
	for (int i = 0; i < 100 && access(KMIG_DEVICE_PATH, F_OK); i++)
		usleep(10000);
}

TEST(pending)
{
	long kvm0 = t_refcnt("kvm");
	struct kmig_err err = { 0 };
	struct kmig_nl_stop st;
	struct kmig_nl *nl;
	struct kt_dvm d;
	uint64_t id, t0;
	int kfd;

	ASSERT_GE(kvm0, 1) TH_LOG("kvm.ko not loaded");
	ASSERT_EQ(0, t_live_vms()) TH_LOG("VMs left by an earlier program");
	ASSERT_EQ(0, t_refcnt("kmig")) TH_LOG("/dev/kmig is open elsewhere");
	ASSERT_EQ(0, kmig_nl_open(&nl, true, &err)) TH_LOG("%s", err.msg);

	kt_dvm_create(&d, false);
	kfd = kmig_open();
	kmig_attach(kfd, d.vm.fd, NULL);
	{
		struct kmig_log_stop a = {
			.size = sizeof(a), .nr_slots = KT_DSLOTS,
			.slots = (uintptr_t)d.slot, .delay_ns = KMIG_LOG_STOP_MAX_NS,
		};

		ASSERT_EQ(0, __kmig_log_stop(kfd, &a)) TH_LOG("%s", strerror(errno));
		id = a.id;
	}
	EXPECT_EQ(1, t_refcnt("kmig"));
	EXPECT_EQ(1, t_live_vms());

	/* A session is open: the module stays, untouched. */
	ASSERT_ERRNO(EWOULDBLOCK, syscall(SYS_delete_module, "kmig", O_NONBLOCK));
	{
		struct kmig_log_stop_query q = { .size = sizeof(q), .id = id };

		ASSERT_EQ(0, __kmig_log_stop_query(kfd, &q));
		EXPECT_EQ(1, q.nr_requests);
	}

	/* Only the request keeps the VM now. */
	close(kfd);
	kt_dvm_destroy(&d);
	EXPECT_EQ(0, t_refcnt("kmig"));
	EXPECT_EQ(1, t_live_vms()) TH_LOG("the pending request holds the VM");

	t0 = kt_now_ns();
	ASSERT_EQ(0, syscall(SYS_delete_module, "kmig", O_NONBLOCK))
		TH_LOG("rmmod kmig: %s", strerror(errno));
	TH_LOG("rmmod with a pending request took %.3f ms", (kt_now_ns() - t0) / 1e6);
	ASSERT_EQ(0, t_wait_stop(nl, id, &st));
	EXPECT_EQ(KMIG_STOP_CANCELLED, st.state);
	EXPECT_EQ(0, st.nr_done);
	kmig_nl_stop_free(&st);
	kmig_nl_close(nl);
	/* Every reference the module held is back. */
	EXPECT_EQ(-1, t_refcnt("kmig"));
	EXPECT_EQ(0, t_live_vms()) TH_LOG("the VM was not freed");
	EXPECT_EQ(kvm0 - 1, t_refcnt("kvm")) TH_LOG("kmig's hold on kvm");

	t_insmod(_metadata);
	EXPECT_EQ(0, t_refcnt("kmig"));
	EXPECT_EQ(kvm0, t_refcnt("kvm"));
	kfd = kmig_open();
	close(kfd);
	ASSERT_EQ(0, kmig_nl_open(&nl, true, &err)) TH_LOG("netlink after reload: %s", err.msg);
	kmig_nl_close(nl);
}

KT_HARNESS_MAIN
