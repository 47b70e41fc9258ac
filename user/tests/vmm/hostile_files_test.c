// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile files against the real kmig commands (issue 15): what a file
 * claims must not cost memory or work until something real backs it, a
 * FIFO as a snapshot path must not block, and kmig receive must not
 * follow or replace anything in its output directory. Each command runs
 * as a child; its exit, its stderr, its wall time and its peak RSS (what
 * /usr/bin/time -v reports) are checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "liesnap.h"
#include "tutil.h"

/* Peak RSS a command may reach on a file, whatever the file claims. */
#define RSS_BOUND_KIB	(48 << 10)

FIXTURE(files) {
	char dir[64];
};

FIXTURE_SETUP(files)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/kmig-hostile.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
}

FIXTURE_TEARDOWN(files)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", self->dir);
	if (system(cmd))
		TH_LOG("could not remove %s", self->dir);
}

static void log_run(struct __test_metadata *_metadata, const char *what, const struct trun *r)
{
	TH_LOG("%s: status 0x%x, %ld ms, %ld KiB max RSS: %s", what, r->status, r->ms,
	       r->maxrss_kib, r->err);
}

/*
 * A sparse file of a few KiB claiming 1 TiB, then 4 TiB: snapshot-info
 * refuses the claim over this machine's memory, and with --max-ram raised
 * validates it in bounded memory (before: 1 GiB and 4 GiB of RSS).
 */
TEST_F(files, snapshot_info_lying_claim)
{
	static const struct { uint64_t bytes; const char *max; } claims[] = {
		{ 1ULL << 40, "2T" }, { 4ULL << 40, "8T" },
	};
	char file[128];
	struct trun r;

	snprintf(file, sizeof(file), "%s/lie.snap", self->dir);
	for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
		const char *def[] = { "snapshot-info", file, NULL };
		const char *raised[] = { "snapshot-info", "--max-ram", claims[i].max, file, NULL };
		struct stat st;

		ASSERT_EQ(0, kmig_test_lying_snapshot(file, "ram0", claims[i].bytes));
		ASSERT_EQ(0, stat(file, &st));
		ASSERT_LT(st.st_blocks * 512, 1 << 20);		/* a few KiB really */
		ASSERT_EQ(0, tkmig_run(&r, def, 30000, 0, 0));
		log_run(_metadata, "snapshot-info", &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_NE(NULL, strstr(r.err, "GiB of RAM, more than the limit"));
		EXPECT_LT(r.maxrss_kib, RSS_BOUND_KIB);
		ASSERT_EQ(0, tkmig_run(&r, raised, 60000, 0, 0));
		log_run(_metadata, "snapshot-info --max-ram", &r);
		EXPECT_TRUE(tkmig_exited(&r, 0));
		EXPECT_LT(r.maxrss_kib, RSS_BOUND_KIB);
	}
}

/*
 * kmig restore holds the file against the destination VM's real layout
 * before it allocates anything the file claims (before: the 1 GiB CRC
 * array of a 1 TiB claim, then the mismatch).
 */
TEST_F(files, restore_lying_claim)
{
	static const char *const vargs[] = { "--slots", "32M", "--incoming", NULL };
	const char *args[] = { "restore", "-q", "--vmm", NULL, "--file", NULL, NULL };
	char file[128];
	struct tvmm t;
	struct kmig_vmmp_client *c;
	struct trun r;

	snprintf(file, sizeof(file), "%s/lie.snap", self->dir);
	ASSERT_EQ(0, kmig_test_lying_snapshot(file, "slot0", 1ULL << 40));
	ASSERT_EQ(0, tvmm_start(&t, vargs));
	ASSERT_EQ(0, tvmm_connect(&t, &c));	/* up and listening */
	kmig_vmmp_client_close(c);
	args[3] = t.sock;
	args[5] = file;
	ASSERT_EQ(0, tkmig_run(&r, args, 30000, 0, 0));
	log_run(_metadata, "restore", &r);
	EXPECT_TRUE(tkmig_exited(&r, 1));
	EXPECT_NE(NULL, strstr(r.err, "the destination VM's is slot0 of"));
	EXPECT_LT(r.maxrss_kib, RSS_BOUND_KIB);
	tvmm_stop(&t);
}

/* A FIFO, or a symlink to one, as a snapshot path (or a block to send):
 * refused at once (before: open() waited for a writer forever). */
TEST_F(files, fifo_snapshot_path)
{
	static const char *const vargs[] = { "--mem", "32M", "--incoming", NULL };
	char fifo[128], link[128];
	const char *paths[] = { fifo, link };
	struct kmig_vmmp_client *c;
	struct tvmm t;
	struct trun r;

	snprintf(fifo, sizeof(fifo), "%s/fifo", self->dir);
	snprintf(link, sizeof(link), "%s/link", self->dir);
	ASSERT_EQ(0, mkfifo(fifo, 0600));
	ASSERT_EQ(0, symlink(fifo, link));
	ASSERT_EQ(0, tvmm_start(&t, vargs));
	ASSERT_EQ(0, tvmm_connect(&t, &c));
	kmig_vmmp_client_close(c);
	for (int i = 0; i < 2; i++) {
		char spec[160];
		const char *send[] = { "send", "-q", "-b", spec, "127.0.0.1:9", NULL };
		const char *info[] = { "snapshot-info", paths[i], NULL };
		const char *rest[] = { "restore", "-q", "--keep-vmm", "--vmm", t.sock,
				       "--file", paths[i], NULL };

		ASSERT_EQ(0, tkmig_run(&r, info, 10000, 0, 0));
		log_run(_metadata, "snapshot-info", &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_NE(NULL, strstr(r.err, "not a regular file"));
		ASSERT_EQ(0, tkmig_run(&r, rest, 10000, 0, 0));
		log_run(_metadata, "restore", &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_NE(NULL, strstr(r.err, "not a regular file"));
		/* The same for a block kmig send reads. */
		snprintf(spec, sizeof(spec), "blk=%s", paths[i]);
		ASSERT_EQ(0, tkmig_run(&r, send, 10000, 0, 0));
		log_run(_metadata, "send", &r);
		EXPECT_TRUE(tkmig_exited(&r, 1));
		EXPECT_LT(r.ms, 5000);
	}
	EXPECT_EQ(0, tvmm_stop(&t));
}

/* A source file of @size bytes with a recognisable pattern. */
static int make_block(const char *path, size_t size, char fill)
{
	char *buf = malloc(size);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), ret;

	if (!buf || fd < 0)
		return -1;
	memset(buf, fill, size);
	ret = write(fd, buf, size) == (ssize_t)size ? 0 : -1;
	close(fd);
	free(buf);
	return ret;
}

static int file_is(const char *path, const char *want)
{
	char buf[64] = "";
	int fd = open(path, O_RDONLY), n;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n == (int)strlen(want) && !memcmp(buf, want, n);
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), ret;

	ret = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	close(fd);
	return ret;
}

/* kmig receive into @out, listening: its address into @to. */
static void start_receiver(struct __test_metadata *_metadata, FIXTURE_DATA(files) *self,
			   const char *out, struct trun *rx, char *to, size_t tolen)
{
	char ready[160], port[32];
	const char *rargs[] = { "receive", "-q", "-o", out, "-R", ready, "-t", "20",
				"127.0.0.1:0", NULL };
	FILE *f;
	int i;

	snprintf(ready, sizeof(ready), "%s/ready", self->dir);
	unlink(ready);
	ASSERT_EQ(0, tkmig_spawn(rx, rargs));
	for (i = 0; i < 500 && access(ready, F_OK); i++)
		tvmm_sleep_ms(10);
	ASSERT_LT(i, 500);
	tvmm_sleep_ms(20);	/* the file is renamed into place complete */
	f = fopen(ready, "r");
	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(port, sizeof(port), f));
	fclose(f);
	port[strcspn(port, "\n")] = 0;
	snprintf(to, tolen, "127.0.0.1:%s", port);
}

/* kmig receive into @out with one block "blk" sent from @src: its result. */
static void receive_block(struct __test_metadata *_metadata, FIXTURE_DATA(files) *self,
			  const char *out, const char *src, struct trun *rx)
{
	char to[64], spec[200];
	const char *sargs[] = { "send", "-q", "-b", spec, to, NULL };
	struct trun tx;

	snprintf(spec, sizeof(spec), "blk=%s", src);
	start_receiver(_metadata, self, out, rx, to, sizeof(to));
	ASSERT_EQ(0, tkmig_run(&tx, sargs, 30000, 0, 0));
	tkmig_wait(rx, 30000);
	log_run(_metadata, "receive", rx);
}

/*
 * A planted NAME.tmp symlink (to an existing file, and dangling) in the
 * output directory is neither followed nor replaced; a block named after
 * a file (or symlink) already there does not replace it. Before: the
 * victim outside the directory was overwritten, the dangling target
 * created, the existing file replaced.
 */
TEST_F(files, receive_output_dir)
{
	char out[128], src[128], victim[128], ghost[128], p[200];
	struct trun rx;

	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(src, sizeof(src), "%s/src", self->dir);
	snprintf(victim, sizeof(victim), "%s/victim", self->dir);
	snprintf(ghost, sizeof(ghost), "%s/ghost", self->dir);
	ASSERT_EQ(0, mkdir(out, 0755));
	ASSERT_EQ(0, make_block(src, 1 << 20, 'S'));
	ASSERT_EQ(0, write_str(victim, "victim"));

	/* blk.tmp -> victim (outside the output directory) */
	snprintf(p, sizeof(p), "%s/blk.tmp", out);
	ASSERT_EQ(0, symlink(victim, p));
	receive_block(_metadata, self, out, src, &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 1));
	EXPECT_NE(NULL, strstr(rx.err, "exists"));
	EXPECT_TRUE(file_is(victim, "victim"));
	snprintf(p, sizeof(p), "%s/blk", out);
	EXPECT_NE(0, access(p, F_OK));

	/* blk.tmp -> a path that does not exist: not created */
	snprintf(p, sizeof(p), "%s/blk.tmp", out);
	ASSERT_EQ(0, unlink(p));
	ASSERT_EQ(0, symlink(ghost, p));
	receive_block(_metadata, self, out, src, &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 1));
	EXPECT_NE(0, access(ghost, F_OK));
	ASSERT_EQ(0, unlink(p));

	/* blk exists: a file the receive did not create stays as it was */
	snprintf(p, sizeof(p), "%s/blk", out);
	ASSERT_EQ(0, write_str(p, "precious"));
	receive_block(_metadata, self, out, src, &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 1));
	EXPECT_NE(NULL, strstr(rx.err, "never replaces"));
	EXPECT_TRUE(file_is(p, "precious"));
	snprintf(p, sizeof(p), "%s/blk.tmp", out);
	EXPECT_NE(0, access(p, F_OK));		/* its own temporary file removed */

	/* blk is a symlink to the victim: neither replaced nor followed */
	snprintf(p, sizeof(p), "%s/blk", out);
	ASSERT_EQ(0, unlink(p));
	ASSERT_EQ(0, symlink(victim, p));
	receive_block(_metadata, self, out, src, &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 1));
	EXPECT_TRUE(file_is(victim, "victim"));
	ASSERT_EQ(0, unlink(p));

	/* And a clean directory still works. */
	receive_block(_metadata, self, out, src, &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 0));
	EXPECT_EQ(0, access(p, F_OK));
}

/*
 * A file put under the block's name while the block is received (after
 * receive made NAME.tmp) is not replaced when the transfer ends: the
 * rename refuses (RENAME_NOREPLACE), the file stays as it was and the
 * .tmp is removed.
 */
TEST_F(files, receive_name_appears)
{
	char out[128], src[128], p[200], tmp[200], to[64], spec[200];
	const char *sargs[] = { "send", "-q", "-r", "4M", "-b", spec, to, NULL };
	struct trun rx, tx;
	int i;

	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(src, sizeof(src), "%s/src", self->dir);
	snprintf(p, sizeof(p), "%s/blk", out);
	snprintf(tmp, sizeof(tmp), "%s/blk.tmp", out);
	snprintf(spec, sizeof(spec), "blk=%s", src);
	ASSERT_EQ(0, mkdir(out, 0755));
	ASSERT_EQ(0, make_block(src, 8 << 20, 'S'));	/* 2 s at 4 MiB/s */
	start_receiver(_metadata, self, out, &rx, to, sizeof(to));
	ASSERT_EQ(0, tkmig_spawn(&tx, sargs));
	for (i = 0; i < 500 && access(tmp, F_OK); i++)
		tvmm_sleep_ms(10);
	ASSERT_LT(i, 500);
	ASSERT_EQ(0, write_str(p, "intruder"));
	tkmig_wait(&tx, 30000);
	tkmig_wait(&rx, 30000);
	log_run(_metadata, "receive", &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 1));
	EXPECT_NE(NULL, strstr(rx.err, "write block"));	/* at the rename */
	EXPECT_NE(NULL, strstr(rx.err, "never replaces"));
	EXPECT_TRUE(file_is(p, "intruder"));
	EXPECT_NE(0, access(tmp, F_OK));
}

/*
 * kmig receive's --max-ram defaults to this machine's memory: a block
 * table larger than that (a sparse source file of twice the machine's
 * memory) is refused before anything is created (before: up to 64 GiB).
 */
TEST_F(files, receive_max_ram_default)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	uint64_t phys = (uint64_t)pages * (uint64_t)psize;
	char out[128], src[128];
	struct trun rx;
	int fd;

	ASSERT_GT(pages, 0);
	snprintf(out, sizeof(out), "%s/out", self->dir);
	snprintf(src, sizeof(src), "%s/big", self->dir);
	ASSERT_EQ(0, mkdir(out, 0755));
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, ftruncate(fd, (off_t)(2 * phys)));
	close(fd);
	receive_block(_metadata, self, out, src, &rx);
	EXPECT_TRUE(tkmig_exited(&rx, 1));
	EXPECT_NE(NULL, strstr(rx.err, "limit"));
	EXPECT_LT(rx.ms, 20000);
}

TEST_HARNESS_MAIN
