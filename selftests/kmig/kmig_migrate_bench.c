// SPDX-License-Identifier: GPL-2.0
/*
 * kmig_migrate_bench - live migration with and without kmig.ko, measured in
 * the same run on the VM test host (or the lab). Each migration runs
 * between a fresh pair of kmig-vmm processes (memfd slots with
 * MADV_HUGEPAGE; the bench sets /sys/kernel/mm/transparent_hugepage/
 * shmem_enabled to "advise" so that they are THP-backed, and restores it)
 * over loopback, 2 channels, downtime limit 100 ms, the paths interleaved:
 *
 *   naive     --no-module --dirty-log-stop during: the VMM's synchronous
 *             DIRTY_LOG_STOP inside the downtime, the order of a VMM that
 *             ends dirty logging before the switchover is through
 *   fallback  --no-module: harvest through the VMM, zero checks on the
 *             sender threads, the synchronous stop after the switchover
 *   module    kmig.ko as by default: KMIG_HARVEST of all slots, the first
 *             pass's KMIG_ZERO_SCAN of every slot, the deferred stop
 *             (KMIG_LOG_STOP); dirty pages classified on the sender threads
 *   classify  --module harvest,scan,classify,stop: the module's harvests
 *             also classify the dirty pages (KMIG_HARVEST_F_CLASSIFY)
 *   dense     --module harvest,scan,stop,scan-dense: the first pass's scan
 *             also reads the pieces of mostly populated memory in the
 *             kernel, which the default leaves to the sender threads
 *             (run by default with -S zeroed only)
 *
 * Scenarios (-S):
 *   rates   a 128 MiB kguest (-m) dirtying a 16 MiB a-b range (-a) at two
 *           rates (-R); tables (a) to (d): the default
 *   sparse  a large sparse guest: -m MiB (default 2048), -f PCT of it
 *           filled (default 5), a 4 MiB a-b range at 1000 pages/s:
 *           table (d)
 *   slots   many memslots: -n slots (default 64) of -m/-n MiB, 10 %
 *           filled, a 4 MiB a-b range at 1000 pages/s: table (d)
 *   zeroed  sparse, but the guest also reads every page it leaves zero
 *           (kmig-vmm --touch-zero): populated zero memory, default -m
 *           1024, -f 5. On memfd RAM every such page is allocated and
 *           cleared, so neither path can skip it as a hole: the fallback's
 *           sender threads read it, the module's scan would read it too
 *           (it is not the shared zero page: see kmig_zscan_bench -z)
 *
 * Tables (medians of the runs, -r): (a) total time, downtime, pages sent and
 * the helper's CPU, module vs fallback at each rate; (b) the dirty-log stop
 * on the downtime path: naive vs fallback vs module; (c) the downtime's
 * parts per path; (d) every path against the fallback, every metric: total
 * time, downtime, CPU, the first pass, and the harvest plus classification
 * of the dirty pages per iteration after it (the module's harvest call, or
 * the VMM's GET_DIRTY_LOG of every slot; plus the sender threads' zero
 * checks of those pages), with the zero pages sent in all and in the first
 * pass (the same number: each zero page goes out once).
 * Every migration must complete on the path it asked for, or the program
 * fails. TCG makes everything about 10x slower than on hardware: compare
 * within this run only.
 *
 * -P runs every path with --no-page-sums on both ends (a trusted link): the
 * sender threads' pass over the dirty pages then computes no page sums, so
 * a data page's zero check is all the classification it gets.
 *
 * Usage: kmig_migrate_bench [-S rates|sparse|slots|zeroed] [-r runs] [-m guest MiB]
 *                           [-a a-b MiB] [-R rate,rate] [-f fill %] [-n slots]
 *                           [-M path,path...] [-P]
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kmig_test.h"
#include "kt_mig.h"

#define B_MAX_RUNS	9
#define B_RATES		2
#define B_MAX_SLOTS	64
#define B_SHMEM_THP	"/sys/kernel/mm/transparent_hugepage/shmem_enabled"

enum b_mode { B_NAIVE, B_FALLBACK, B_MODULE, B_CLASSIFY, B_DENSE, B_MODES };
enum b_scn { S_RATES, S_SPARSE, S_SLOTS, S_ZEROED };
enum b_metric {
	M_TOTAL, M_DOWN, M_STOP_IN, M_STOP_CALL, M_STOP_END, M_STOP_WORK, M_SYNCS, M_MIB,
	M_PAGES, M_ZERO, M_ZERO_FIRST, M_CPU, M_THP, M_FIRST, M_HC, M_HARVEST,
	M_D_PAUSE, M_D_HARVEST, M_D_DEVSTATE, M_D_LAST, M_D_STAGING, M_D_COMMIT, M_METRICS
};

static const char *const b_mode_name[B_MODES] = {
	"naive", "fallback", "module", "classify", "dense"
};
static const char *const b_mode_args[B_MODES][4] = {
	{ "--no-module", "--dirty-log-stop", "during", NULL },
	{ "--no-module", NULL },
	{ NULL },
	{ "--module", "harvest,scan,classify,stop", NULL },
	{ "--module", "harvest,scan,stop,scan-dense", NULL },
};
static const char *const b_scn_name[] = { "rates", "sparse", "slots", "zeroed" };

struct b_opts {
	enum b_scn scn;
	unsigned int runs, mem_mib, ab_mib, fill, slots, nr_rates;
	unsigned int rate[B_RATES];	/* a-b page writes per second */
	bool mode[B_MODES];		/* the paths to run */
	bool no_psum;			/* -P: --no-page-sums on both ends */
};

static double b_res[B_RATES][B_MODES][M_METRICS][B_MAX_RUNS];

static int b_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double b_med(unsigned int r, enum b_mode m, enum b_metric k, unsigned int runs)
{
	double v[B_MAX_RUNS];

	memcpy(v, b_res[r][m][k], runs * sizeof(v[0]));
	qsort(v, runs, sizeof(v[0]), b_cmp);
	return runs % 2 ? v[runs / 2] : (v[runs / 2 - 1] + v[runs / 2]) / 2;
}

/* A "Name:  N kB" field of @path, in MiB (0 if absent). */
static double b_kb_field(const char *path, const char *name)
{
	char *s = kt_file_read(path), *p = strstr(s, name);
	double kb = p ? strtod(p + strlen(name), NULL) : 0;

	free(s);
	return kb / 1024;
}

/* The source VMM's memory in 2 MiB mappings (smaps: ShmemPmdMapped), MiB;
 * once, the host's shmem huge pages too (mapped by PTEs or not at all
 * when they exceed the mapped ones). */
static double b_thp_mib(pid_t pid)
{
	static bool told;
	char path[64];
	double mapped;

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", pid);
	mapped = b_kb_field(path, "ShmemPmdMapped:");
	if (!told) {
		told = true;
		printf("THP: the source VMM maps %.0f MiB in 2 MiB mappings; the host has %.0f MiB "
		       "of shmem huge pages (/proc/meminfo ShmemHugePages)\n", mapped,
		       b_kb_field("/proc/meminfo", "ShmemHugePages:"));
	}
	return mapped;
}

/* The paths a report must show for @m, or the bench is not what it says. */
static void b_check_paths(const char *json, enum b_mode m)
{
	char h[32], z[32], f[32], stop[32], state[32];

	kt_json_str(json, "paths.harvest", h, sizeof(h));
	kt_json_str(json, "paths.dirty_zero", z, sizeof(z));
	kt_json_str(json, "paths.first_pass_zero", f, sizeof(f));
	kt_json_str(json, "paths.log_stop", stop, sizeof(stop));
	kt_json_str(json, "module.stop_state", state, sizeof(state));
	if (m >= B_MODULE)
		KT_ASSERT(!strcmp(h, "module") && !strcmp(f, "module") &&
			  !strcmp(z, m == B_CLASSIFY ? "module" : "sender-threads") &&
			  !strcmp(stop, "module-deferred") && !strcmp(state, "done"),
			  "%s run took paths %s, %s, %s, %s, %s: %s", b_mode_name[m], h, f, z, stop,
			  state, json);
	else
		KT_ASSERT(!strcmp(h, "vmm") && !strcmp(f, "sender-threads") &&
			  !strcmp(stop, "vmm-sync"), "fallback run took paths %s, %s, %s: %s", h, f,
			  stop, json);
}

static double b_ms(const char *json, const char *path)
{
	return kt_json_u64(json, path) / 1e6;
}

static void b_record(double *v[M_METRICS], const char *j, double thp, uint64_t cpu_ns)
{
	uint64_t later = kt_json_u64(j, "harvest_classify.harvests");

	*v[M_TOTAL] = b_ms(j, "total_ns");
	*v[M_DOWN] = b_ms(j, "downtime_ns");
	*v[M_STOP_IN] = b_ms(j, "downtime.dirty_log_stop_ns");
	*v[M_STOP_CALL] = b_ms(j, "dirty_log.stop_after_switchover_ns");
	*v[M_STOP_END] = b_ms(j, "module.stop_end_ns");
	*v[M_STOP_WORK] = b_ms(j, "module.stop_work_ns");
	*v[M_SYNCS] = kt_json_u64(j, "dirty_sync_count");
	*v[M_MIB] = kt_json_u64(j, "transferred_bytes") / 1048576.0;
	*v[M_PAGES] = kt_json_u64(j, "pages_normal");
	*v[M_ZERO] = kt_json_u64(j, "pages_zero");
	*v[M_ZERO_FIRST] = kt_json_u64(j, "iterations.zero_pages");
	*v[M_CPU] = cpu_ns / 1e6;
	*v[M_FIRST] = b_ms(j, "first_pass_ns");
	*v[M_HARVEST] = later ? b_ms(j, "harvest_classify.harvest_ns") / later : 0;
	*v[M_HC] = later ? *v[M_HARVEST] + b_ms(j, "harvest_classify.classify_ns") / later : 0;
	*v[M_D_PAUSE] = b_ms(j, "downtime.pause_ns");
	*v[M_D_HARVEST] = b_ms(j, "downtime.final_harvest_ns");
	*v[M_D_DEVSTATE] = b_ms(j, "downtime.device_state_ns");
	*v[M_D_LAST] = b_ms(j, "downtime.last_pages_end_ns");
	*v[M_D_STAGING] = b_ms(j, "downtime.destination_staging_ns");
	*v[M_D_COMMIT] = b_ms(j, "downtime.commit_resumed_ns");
	*v[M_THP] = thp;
}

/* The source's kmig-vmm arguments for the scenario (strings in @buf). */
static void b_src_args(const struct b_opts *o, unsigned int r, const char **a, char buf[][512])
{
	unsigned int n = 0, len = 0;

	a[n++] = "--vcpus";
	a[n++] = "1";
	if (o->scn == S_SLOTS) {
		for (unsigned int i = 0; i < o->slots; i++)
			len += snprintf(buf[0] + len, 512 - len, "%s%uM", i ? "," : "",
					o->mem_mib / o->slots);
		a[n++] = "--slots";
	} else {
		snprintf(buf[0], 512, "%uM", o->mem_mib);
		a[n++] = "--mem";
	}
	a[n++] = buf[0];
	snprintf(buf[1], 512, "%uM", o->ab_mib);
	snprintf(buf[2], 512, "%u", o->rate[r]);
	snprintf(buf[3], 512, "%u", o->rate[r] / 10 ?: 1);
	snprintf(buf[4], 512, "%u", o->fill);
	a[n++] = "--ab";
	a[n++] = buf[1];
	a[n++] = "--rate";
	a[n++] = buf[2];
	a[n++] = "--report";
	a[n++] = buf[3];
	if (o->fill) {
		a[n++] = "--fill";
		a[n++] = buf[4];
	}
	if (o->scn == S_ZEROED)
		a[n++] = "--touch-zero";
	a[n] = NULL;
}

static void b_run(const struct b_opts *o, unsigned int r, enum b_mode m, unsigned int n)
{
	static const char *const quit[] = { "quit", "--exit", NULL };
	char buf[5][512], *json, *err, *out;
	const char *src[16], *dst[8];
	static const char *const no_psum[] = { "--no-page-sums", NULL };
	const char *args[10] = { "--downtime-limit", "100", "--channels", "2" };
	double *v[M_METRICS], thp;
	uint64_t cpu_ns;
	struct kt_mig mig;
	int st, na = 4;

	b_src_args(o, r, src, buf);
	memcpy(dst, src, 4 * sizeof(*dst));	/* --vcpus 1, the same memory */
	dst[4] = NULL;
	for (int i = 0; b_mode_args[m][i]; i++)
		args[na++] = b_mode_args[m][i];
	if (o->no_psum)
		args[na++] = no_psum[0];
	kt_mig_setup(&mig, src, dst);
	sleep(1);		/* a second of dirtying at the rate before migrating */
	thp = b_thp_mib(mig.src_vmm.pid);
	kt_mig_incoming(&mig, o->no_psum ? no_psum : NULL);
	st = kt_mig_migrate_cpu(&mig, args, NULL, 600000, &json, &err, &cpu_ns);
	KT_ASSERT(st == 0, "kmig migrate (%s): %s", b_mode_name[m], err);
	KT_ASSERT(kt_proc_wait(&mig.in, 30000) == 0, "kmig incoming: %s", kt_file_read(mig.in.log));
	b_check_paths(json, m);
	for (int k = 0; k < M_METRICS; k++)
		v[k] = &b_res[r][m][k][n];
	b_record(v, json, thp, cpu_ns);
	printf("rate %u, run %u, %-8s: total %6.2f s, downtime %6.1f ms, CPU %.0f ms, first "
	       "pass %.0f ms (zero scan %.1f ms), harvest+classify %.2f ms/iteration, zero pages "
	       "%.0f (first pass %.0f), sender threads: classify %.0f ms, codec %.0f ms, I/O %.0f "
	       "ms, THP %.0f MiB\n", o->rate[r], n + 1, b_mode_name[m], *v[M_TOTAL] / 1e3,
	       *v[M_DOWN], *v[M_CPU], *v[M_FIRST], b_ms(json, "module.scan_ns"), *v[M_HC],
	       *v[M_ZERO], *v[M_ZERO_FIRST], b_ms(json, "stream.ns_classify"),
	       b_ms(json, "stream.ns_codec"), b_ms(json, "stream.ns_io"), thp);
	fflush(stdout);
	kt_mig_ctl(mig.dst, quit, &out);
	kt_proc_wait(&mig.dst_vmm, 10000);
	kt_mig_teardown(&mig);
	free(out);
	free(json);
	free(err);
}

static double b_ratio(const struct b_opts *o, unsigned int r, enum b_mode m, enum b_metric k)
{
	double base = b_med(r, B_FALLBACK, k, o->runs);

	return base ? b_med(r, m, k, o->runs) / base : 0;
}

static void b_table_a(const struct b_opts *o)
{
	printf("\n(a) total time, downtime, pages sent and the helper's CPU, %u MiB guest, "
	       "medians of %u (ratio: module / fallback, this run)\n", o->mem_mib, o->runs);
	printf("| dirty rate pages/s | path     | total s | downtime ms | syncs | data pages | "
	       "zero pages | MiB sent | CPU ms | total ratio | downtime ratio | CPU ratio |\n");
	printf("|--------------------|----------|---------|-------------|-------|------------|"
	       "------------|----------|--------|-------------|----------------|-----------|\n");
	for (unsigned int r = 0; r < o->nr_rates; r++) {
		for (enum b_mode m = B_FALLBACK; m < B_MODES; m++) {
			if (!o->mode[m])
				continue;
			printf("| %18u | %-8s | %7.2f | %11.1f | %5.0f | %10.0f | %10.0f | %8.1f | "
			       "%6.0f | %10.2fx | %13.2fx | %8.2fx |\n",
			       o->rate[r], b_mode_name[m], b_med(r, m, M_TOTAL, o->runs) / 1e3,
			       b_med(r, m, M_DOWN, o->runs), b_med(r, m, M_SYNCS, o->runs),
			       b_med(r, m, M_PAGES, o->runs), b_med(r, m, M_ZERO, o->runs),
			       b_med(r, m, M_MIB, o->runs), b_med(r, m, M_CPU, o->runs),
			       b_ratio(o, r, m, M_TOTAL), b_ratio(o, r, m, M_DOWN),
			       b_ratio(o, r, m, M_CPU));
		}
	}
	printf("data pages: sent as page data; zero pages: sent as zero markers, each once;\n"
	       "CPU: kmig migrate's user + system time (its ioctls included).\n");
}

static void b_table_b(const struct b_opts *o)
{
	printf("\n(b) the dirty-log stop and the downtime, medians of %u (ratio: downtime / "
	       "naive's, this run)\n", o->runs);
	printf("| dirty rate pages/s | stop                     | downtime ms | ratio | "
	       "in the downtime ms | on the helper's path ms | ended after ms |\n");
	printf("|--------------------|--------------------------|-------------|-------|"
	       "--------------------|-------------------------|----------------|\n");
	for (unsigned int r = 0; r < o->nr_rates; r++) {
		double base = b_med(r, B_NAIVE, M_DOWN, o->runs);

		printf("| %18u | naive: sync, inside     | %11.1f | %4.2fx | %18.1f | %23s | %14.1f |\n",
		       o->rate[r], base, 1.0, b_med(r, B_NAIVE, M_STOP_IN, o->runs), "(inside)",
		       b_med(r, B_NAIVE, M_STOP_IN, o->runs));
		printf("| %18u | fallback: sync, after   | %11.1f | %4.2fx | %18.1f | %23.1f | %14.1f |\n",
		       o->rate[r], b_med(r, B_FALLBACK, M_DOWN, o->runs),
		       b_med(r, B_FALLBACK, M_DOWN, o->runs) / base, 0.0,
		       b_med(r, B_FALLBACK, M_STOP_CALL, o->runs),
		       b_med(r, B_FALLBACK, M_STOP_CALL, o->runs));
		printf("| %18u | module: deferred, after  | %11.1f | %4.2fx | %18.1f | %23.3f | %14.1f |\n",
		       o->rate[r], b_med(r, B_MODULE, M_DOWN, o->runs),
		       b_med(r, B_MODULE, M_DOWN, o->runs) / base, 0.0,
		       b_med(r, B_MODULE, M_STOP_CALL, o->runs),
		       b_med(r, B_MODULE, M_STOP_END, o->runs));
	}
	printf("naive and fallback: the VMM's DIRTY_LOG_STOP as the helper waited for it; module:\n"
	       "the KMIG_LOG_STOP call, then the request ended in a kernel worker (KVM's own work\n"
	       "in it: %.1f ms at the first rate; the slots are spaced by stop_interval_us).\n",
	       b_med(0, B_MODULE, M_STOP_WORK, o->runs));
}

/* Where the downtime went, per path: the parts of the report's downtime. */
static void b_table_c(const struct b_opts *o)
{
	printf("\n(c) the downtime's parts, medians of %u, ms (the report's downtime section)\n",
	       o->runs);
	printf("| dirty rate pages/s | path     | pause | final harvest | device state | "
	       "last pages + END | dst staging | COMMIT to RESUMED |\n");
	printf("|--------------------|----------|-------|---------------|--------------|"
	       "------------------|-------------|-------------------|\n");
	for (unsigned int r = 0; r < o->nr_rates; r++)
		for (enum b_mode m = 0; m < B_MODES; m++)
			if (o->mode[m])
				printf("| %18u | %-8s | %5.1f | %13.1f | %12.1f | %16.1f | %11.1f | "
				       "%17.1f |\n", o->rate[r], b_mode_name[m],
				       b_med(r, m, M_D_PAUSE, o->runs),
				       b_med(r, m, M_D_HARVEST, o->runs),
				       b_med(r, m, M_D_DEVSTATE, o->runs),
				       b_med(r, m, M_D_LAST, o->runs),
				       b_med(r, m, M_D_STAGING, o->runs),
				       b_med(r, m, M_D_COMMIT, o->runs));
}

/* Every path against the fallback, every metric. */
static void b_table_d(const struct b_opts *o)
{
	printf("\n(d) %s: every metric against the fallback, medians of %u (ratio: path / "
	       "fallback, this run; h+c: harvest + classification of the dirty pages per "
	       "iteration after the first pass)\n", b_scn_name[o->scn], o->runs);
	printf("| rate | path     | total s | downtime ms | CPU ms | first pass ms | h+c ms | "
	       "harvest ms | zero pages (first pass) | MiB sent | total | downtime | CPU | "
	       "first pass | h+c |\n");
	printf("|------|----------|---------|-------------|--------|---------------|--------|"
	       "------------|-------------------------|----------|-------|----------|-----|"
	       "------------|-----|\n");
	for (unsigned int r = 0; r < o->nr_rates; r++)
		for (enum b_mode m = B_FALLBACK; m < B_MODES; m++)
			if (o->mode[m])
				printf("| %4u | %-8s | %7.2f | %11.1f | %6.0f | %13.1f | %6.2f | "
				       "%10.2f | %10.0f (%10.0f) | %8.1f | %4.2fx | %7.2fx | "
				       "%2.2fx | %9.2fx | %2.2fx |\n", o->rate[r], b_mode_name[m],
				       b_med(r, m, M_TOTAL, o->runs) / 1e3,
				       b_med(r, m, M_DOWN, o->runs), b_med(r, m, M_CPU, o->runs),
				       b_med(r, m, M_FIRST, o->runs), b_med(r, m, M_HC, o->runs),
				       b_med(r, m, M_HARVEST, o->runs),
				       b_med(r, m, M_ZERO, o->runs),
				       b_med(r, m, M_ZERO_FIRST, o->runs),
				       b_med(r, m, M_MIB, o->runs), b_ratio(o, r, m, M_TOTAL),
				       b_ratio(o, r, m, M_DOWN), b_ratio(o, r, m, M_CPU),
				       b_ratio(o, r, m, M_FIRST), b_ratio(o, r, m, M_HC));
	printf("THP: source memory in 2 MiB mappings before migrating, median %.0f of %u MiB\n",
	       b_med(0, B_FALLBACK, M_THP, o->runs), o->mem_mib);
}

/* Does a memfd with MADV_HUGEPAGE written by this process get huge pages
 * here (a userspace fault, no KVM on the way)? Says so. */
static void b_thp_probe(const char *setting)
{
	size_t len = 8 * KT_HPAGE;
	int fd = memfd_create("kmig-thp-probe", MFD_CLOEXEC);
	char *p = fd >= 0 && !ftruncate(fd, len) ?
		  mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;

	if (p == MAP_FAILED) {
		printf("memfd THP probe: no memfd mapping: %s\n", strerror(errno));
	} else {
		madvise(p, len, MADV_HUGEPAGE);
		for (size_t off = 0; off < len; off += KT_PAGE)
			p[off] = 1;
		printf("memfd THP probe, shmem_enabled %s: 16 MiB written by this process: %.0f MiB "
		       "in 2 MiB mappings (mapped at %p), host shmem huge pages %.0f MiB\n", setting,
		       b_kb_field("/proc/self/smaps_rollup", "ShmemPmdMapped:"), (void *)p,
		       b_kb_field("/proc/meminfo", "ShmemHugePages:"));
		munmap(p, len);
	}
	if (fd >= 0)
		close(fd);
}

static int b_shmem_thp_set(const char *v)
{
	FILE *f = fopen(B_SHMEM_THP, "w");
	int bad = !f || fputs(v, f) < 0;

	if (f && fclose(f))
		bad = 1;
	return bad ? -1 : 0;
}

/* shmem THP to "advise" for the run (kmig-vmm's memfds ask for it); the
 * old setting in @old, "" if it could not be changed. */
static void b_thp_on(char *old, size_t len)
{
	char *s = kt_file_read(B_SHMEM_THP), *a = strchr(s, '['), *b = a ? strchr(a, ']') : NULL;

	old[0] = '\0';
	if (a && b)
		snprintf(old, len, "%.*s", (int)(b - a - 1), a + 1);
	free(s);
	if (b_shmem_thp_set("advise")) {
		printf("memfd THP: could not set %s (was '%s'): guest memory in 4 KiB pages\n",
		       B_SHMEM_THP, old);
		old[0] = '\0';
		return;
	}
	printf("memfd THP: shmem_enabled set to advise for this run (was %s)\n", old);
	b_thp_probe("advise");
	if (!b_shmem_thp_set("always"))		/* and without the advice needed */
		b_thp_probe("always");
	b_shmem_thp_set("advise");
}

static void b_thp_restore(const char *old)
{
	if (old[0])
		b_shmem_thp_set(old);
}

static int b_parse_modes(struct b_opts *o, const char *s)
{
	memset(o->mode, 0, sizeof(o->mode));
	for (const char *p = s; *p;) {
		size_t len = strcspn(p, ",");
		enum b_mode m;

		for (m = 0; m < B_MODES; m++)
			if (strlen(b_mode_name[m]) == len && !strncmp(p, b_mode_name[m], len))
				break;
		if (m == B_MODES)
			return -1;
		o->mode[m] = true;
		p += len + (p[len] == ',');
	}
	o->mode[B_FALLBACK] = true;	/* the baseline of every ratio */
	return 0;
}

/* Scenario defaults first, then the options over them. */
static void b_defaults(struct b_opts *o)
{
	o->runs = 3;
	o->mem_mib = o->scn == S_RATES ? 128 : o->scn == S_ZEROED ? 1024 : 2048;
	o->ab_mib = o->scn == S_RATES ? 16 : 4;
	o->fill = o->scn == S_SPARSE || o->scn == S_ZEROED ? 5 : o->scn == S_SLOTS ? 10 : 0;
	o->slots = o->scn == S_SLOTS ? B_MAX_SLOTS : 0;
	o->nr_rates = o->scn == S_RATES ? 2 : 1;
	/* Both rates well under what the stream moves under TCG (about 3000
	 * pages/s there): at 2500 some runs of either path did not converge
	 * before the iteration bound, and the iteration count, not the path,
	 * decided the times. */
	o->rate[0] = o->scn == S_RATES ? 500 : 1000;
	o->rate[1] = 1500;
	b_parse_modes(o, o->scn == S_RATES ? "naive,fallback,module,classify" :
		      o->scn == S_ZEROED ? "fallback,module,dense" : "fallback,module,classify");
}

static int b_parse(struct b_opts *o, int argc, char **argv)
{
	int c;

	for (int i = 1; i + 1 < argc; i++)	/* the scenario sets the defaults */
		if (!strcmp(argv[i], "-S"))
			for (enum b_scn s = S_RATES; s <= S_ZEROED; s++)
				if (!strcmp(argv[i + 1], b_scn_name[s]))
					o->scn = s;
	b_defaults(o);
	while ((c = getopt(argc, argv, "S:r:m:a:R:f:n:M:P")) != -1) {
		switch (c) {
		case 'S':
			if (strcmp(optarg, b_scn_name[o->scn]))
				return -1;
			break;
		case 'r': o->runs = atoi(optarg); break;
		case 'm': o->mem_mib = atoi(optarg); break;
		case 'a': o->ab_mib = atoi(optarg); break;
		case 'f': o->fill = atoi(optarg); break;
		case 'n': o->slots = atoi(optarg); break;
		case 'P': o->no_psum = true; break;
		case 'R':
			if (sscanf(optarg, "%u,%u", &o->rate[0], &o->rate[1]) != o->nr_rates)
				return -1;
			break;
		case 'M':
			if (b_parse_modes(o, optarg))
				return -1;
			break;
		default: return -1;
		}
	}
	if (o->scn == S_RATES && !(o->mode[B_NAIVE] && o->mode[B_MODULE])) {
		/* tables (a) to (c) compare those */
		fprintf(stderr, "-S rates: -M must include naive and module\n");
		return -1;
	}
	if (!o->runs || o->runs > B_MAX_RUNS || o->mem_mib < 16 || !o->ab_mib ||
	    o->ab_mib > o->mem_mib / 2 || !o->rate[0] || o->fill > 100 ||
	    (o->nr_rates == 2 && !o->rate[1]) ||
	    (o->scn == S_SLOTS && (o->slots < 2 || o->slots > B_MAX_SLOTS ||
				   o->mem_mib / o->slots < 8)))
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	struct b_opts o = { .scn = S_RATES };
	char old[32];

	if (b_parse(&o, argc, argv)) {
		fprintf(stderr, "usage: %s [-S rates|sparse|slots|zeroed] [-r runs 1..%d] [-m guest MiB "
			">= 16] [-a a-b MiB <= guest/2] [-R rate[,rate]] [-f fill %%] [-n slots "
			"2..%d] [-M naive,fallback,module,classify,dense] [-P: no page sums]\n", argv[0],
			B_MAX_RUNS, B_MAX_SLOTS);
		return 2;
	}
	if (kt_env_missing()) {
		printf("1..0 # SKIP %s\n", kt_env_missing());
		return 4;
	}
	printf("kmig_migrate_bench %s: %u MiB kguest%s%.0u%s, 1 vCPU, fill %u%% (0: thirds), "
	       "a-b range %u MiB at %u%s%.0u page writes/s, loopback, 2 channels, downtime limit "
	       "100 ms, %u runs each%s\n", b_scn_name[o.scn], o.mem_mib, o.slots ? " in " : "",
	       o.slots, o.slots ? " slots" : "", o.fill, o.ab_mib, o.rate[0],
	       o.nr_rates == 2 ? " and " : "", o.nr_rates == 2 ? o.rate[1] : 0, o.runs,
	       o.no_psum ? ", --no-page-sums on both ends" : "");
	b_thp_on(old, sizeof(old));
	for (unsigned int n = 0; n < o.runs; n++)
		for (unsigned int r = 0; r < o.nr_rates; r++)
			for (enum b_mode m = 0; m < B_MODES; m++)
				if (o.mode[m])
					b_run(&o, r, m, n);
	b_thp_restore(old);
	if (o.scn == S_RATES) {
		b_table_a(&o);
		b_table_b(&o);
		b_table_c(&o);
	}
	b_table_d(&o);
	return 0;
}
