// SPDX-License-Identifier: GPL-2.0
/*
 * kmig-vmmctl: talk to a VMM over the kmig VMM protocol from a shell.
 *
 *   kmig-vmmctl SOCKET query | slots | pause | resume | throttle PCT |
 *                      check [--stay-paused] | quit [--exit]
 *
 * `check` pauses a running guest, maps its memory from the memfds the VMM
 * passes, runs the integrity checker (kmig_abcheck) and resumes the guest.
 *   kmig-vmmctl check-file FILE
 *
 * `check-file` checks a raw image of guest RAM that starts at guest-physical
 * 0, e.g. QEMU's memory-backend-file of a stopped QEMU running kguest.
 * Exit status: 0 ok, 1 failure (a failed check included), 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "abcheck.h"
#include "kmig/vmm_proto_client.h"

struct ctl_cmd {
	const char *name;
	int (*fn)(struct kmig_vmmp_client *c, int argc, char **argv);
};

static const char *const state_names[] = {
	[KMIG_VMMP_STATE_INCOMING] = "incoming", [KMIG_VMMP_STATE_RUNNING] = "running",
	[KMIG_VMMP_STATE_PAUSED] = "paused", [KMIG_VMMP_STATE_STOPPED] = "stopped",
};

static int report(struct kmig_vmmp_client *c, const char *what, int ret)
{
	if (ret)
		fprintf(stderr, "kmig-vmmctl: %s: %s (%s)\n", what,
			kmig_vmmp_last_error(c)[0] ? kmig_vmmp_last_error(c) : "-",
			strerror(-ret));
	return ret ? 1 : 0;
}

static int cmd_query(struct kmig_vmmp_client *c, int argc, char **argv)
{
	struct kmig_vmmp_status st;
	int ret = kmig_vmmp_query(c, &st);

	if (ret)
		return report(c, "QUERY", ret);
	printf("state %s\nvcpus %u\nthrottle %u\ndirty_log %s\nready %s\nstaged %s\n"
	       "pages_written %llu\nsweeps %llu\nexits %llu\nrun_ms %llu\n",
	       st.state < 5 && state_names[st.state] ? state_names[st.state] : "?",
	       st.nr_vcpus, st.throttle,
	       st.flags & KMIG_VMMP_STATUS_F_DIRTY_LOG ? "on" : "off",
	       st.flags & KMIG_VMMP_STATUS_F_READY ? "yes" : "no",
	       st.flags & KMIG_VMMP_STATUS_F_STAGED ? "yes" : "no",
	       (unsigned long long)st.progress, (unsigned long long)st.progress2,
	       (unsigned long long)st.exits, (unsigned long long)(st.run_ns / 1000000));
	return 0;
}

static int cmd_slots(struct kmig_vmmp_client *c, int argc, char **argv)
{
	struct kmig_vmmp_memmap *m;
	uint32_t i;
	int ret = kmig_vmmp_get_slots(c, &m);

	if (ret)
		return report(c, "GET_SLOTS", ret);
	printf("slot memfd gpa size offset flags\n");
	for (i = 0; i < m->nr_slots; i++)
		printf("%u %u 0x%llx %llu 0x%llx 0x%x\n", m->slots[i].slot,
		       m->slots[i].memfd, (unsigned long long)m->slots[i].gpa,
		       (unsigned long long)m->slots[i].size,
		       (unsigned long long)m->slots[i].offset, m->slots[i].flags);
	kmig_vmmp_memmap_free(m);
	return 0;
}

static int cmd_pause(struct kmig_vmmp_client *c, int argc, char **argv)
{
	int ret = kmig_vmmp_pause(c);

	if (!ret)
		printf("paused in %.3f ms\n", kmig_vmmp_last_duration_ns(c) / 1e6);
	return report(c, "PAUSE", ret);
}

static int cmd_resume(struct kmig_vmmp_client *c, int argc, char **argv)
{
	return report(c, "RESUME", kmig_vmmp_resume(c));
}

static int cmd_throttle(struct kmig_vmmp_client *c, int argc, char **argv)
{
	uint32_t prev;
	char *end;
	unsigned long pct;
	int ret;

	if (argc != 1)
		return 2;
	pct = strtoul(argv[0], &end, 10);
	if (*end || end == argv[0] || pct > UINT32_MAX)
		return 2;
	ret = kmig_vmmp_throttle(c, (uint32_t)pct, &prev);
	if (!ret)
		printf("throttle %lu%% (was %u%%)\n", pct, prev);
	return report(c, "THROTTLE", ret);
}

static int cmd_quit(struct kmig_vmmp_client *c, int argc, char **argv)
{
	uint32_t flags = argc == 1 && !strcmp(argv[0], "--exit") ?
			 KMIG_VMMP_QUIT_F_EXIT : 0;

	if (argc > 1 || (argc == 1 && !flags))
		return 2;
	return report(c, "QUIT", kmig_vmmp_quit(c, flags));
}

static int run_check(struct kmig_vmmp_memmap *m)
{
	struct kmig_abcheck_range r[KMIG_VMMP_MAX_SLOTS];
	struct kmig_abcheck_report *rep = calloc(1, sizeof(*rep));
	uint32_t i;
	int ret;

	if (!rep)
		return -ENOMEM;
	for (i = 0; i < m->nr_slots; i++)
		r[i] = (struct kmig_abcheck_range) {
			.gpa = m->slots[i].gpa, .size = m->slots[i].size,
			.host = m->slots[i].host, .fd = m->memfds[m->slots[i].memfd],
			.fd_offset = m->slots[i].offset,
		};
	ret = kmig_abcheck_run(r, m->nr_slots, rep);
	kmig_abcheck_print(rep, stdout);
	free(rep);
	return ret;
}

static int cmd_check(struct kmig_vmmp_client *c, int argc, char **argv)
{
	int stay = argc == 1 && !strcmp(argv[0], "--stay-paused");
	struct kmig_vmmp_memmap *m = NULL;
	struct kmig_vmmp_status st;
	int ret, was_running;

	if (argc > 1 || (argc == 1 && !stay))
		return 2;
	ret = kmig_vmmp_query(c, &st);
	if (ret)
		return report(c, "QUERY", ret);
	was_running = st.state == KMIG_VMMP_STATE_RUNNING;
	if (was_running && (ret = kmig_vmmp_pause(c)))
		return report(c, "PAUSE", ret);
	ret = kmig_vmmp_get_slots(c, &m);
	if (ret)
		report(c, "GET_SLOTS", ret);
	else if ((ret = kmig_vmmp_memmap_map(m, PROT_READ)))
		fprintf(stderr, "kmig-vmmctl: mmap guest memory: %s\n", strerror(-ret));
	else
		ret = run_check(m);
	kmig_vmmp_memmap_free(m);
	if (was_running && !stay && kmig_vmmp_resume(c))
		ret = ret ? ret : report(c, "RESUME", -EIO) * -EIO;
	return ret ? 1 : 0;
}

static const struct ctl_cmd cmds[] = {
	{ "query", cmd_query }, { "slots", cmd_slots }, { "pause", cmd_pause },
	{ "resume", cmd_resume }, { "throttle", cmd_throttle },
	{ "check", cmd_check }, { "quit", cmd_quit },
};

static int usage(void)
{
	fprintf(stderr, "usage: kmig-vmmctl SOCKET query | slots | pause | resume |\n"
		"                   throttle PCT | check [--stay-paused] | quit [--exit]\n"
		"       kmig-vmmctl check-file FILE\n");
	return 2;
}

static int check_file(const char *path)
{
	struct kmig_abcheck_report *rep = calloc(1, sizeof(*rep));
	struct kmig_abcheck_range r;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC), ret = 1;
	void *p = MAP_FAILED;

	if (fd < 0 || fstat(fd, &st) || !rep) {
		fprintf(stderr, "kmig-vmmctl: %s: %s\n", path, strerror(errno));
		goto out;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "kmig-vmmctl: mmap %s: %s\n", path, strerror(errno));
		goto out;
	}
	r = (struct kmig_abcheck_range) {
		.gpa = 0, .size = (uint64_t)st.st_size, .host = p, .fd = fd,
	};
	ret = kmig_abcheck_run(&r, 1, rep) ? 1 : 0;
	kmig_abcheck_print(rep, stdout);
out:
	if (p != MAP_FAILED)
		munmap(p, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
	free(rep);
	return ret;
}

int main(int argc, char **argv)
{
	char why[256] = "";
	struct kmig_vmmp_client_opts o = { .name = "kmig-vmmctl", .err = why, .err_len = sizeof(why) };
	struct kmig_vmmp_client *c;
	size_t i;
	int ret;

	if (argc == 3 && !strcmp(argv[1], "check-file"))
		return check_file(argv[2]);
	if (argc < 3)
		return usage();
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[2], cmds[i].name))
			break;
	if (i == sizeof(cmds) / sizeof(cmds[0]))
		return usage();
	ret = kmig_vmmp_connect_opts(argv[1], &o, &c);
	if (ret) {
		fprintf(stderr, "kmig-vmmctl: connect %s: %s\n", argv[1], why[0] ? why : strerror(-ret));
		return 1;
	}
	ret = cmds[i].fn(c, argc - 3, argv + 3);
	kmig_vmmp_client_close(c);
	return ret == 2 ? usage() : ret;
}
