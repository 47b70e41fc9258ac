// SPDX-License-Identifier: GPL-2.0
/*
 * kmig-vmm: command line, set-up and tear-down.
 *
 *   kmig-vmm --socket PATH [--mem SIZE | --slots SIZE,SIZE,...] [--vcpus N]
 *            [--guest kguest.elf] [--incoming] [--seed N] [--ab SIZE]
 *            [--rate PAGES_PER_S] [--spin N] [--report PAGES]
 *            [--throttle PCT] [--client-timeout SEC] [--no-thp] [--quiet]
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmm.h"

#define MIB (1ULL << 20)

void kvmm_log(const struct kvmm *vm, const char *fmt, ...)
{
	va_list ap;

	if (vm->opts.quiet)
		return;
	va_start(ap, fmt);
	fprintf(stderr, "kmig-vmm: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void kvmm_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "kmig-vmm: error: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

uint64_t kvmm_now_ns(void)
{
	return kmig_vmmp_now_ns();
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: kmig-vmm --socket PATH [options]\n"
		"  --mem SIZE          guest RAM, split in two slots (default 128M)\n"
		"  --slots S1,S2,...   explicit slot sizes (contiguous from 0)\n"
		"  --vcpus N           vCPU threads (default 1, max %d)\n"
		"  --guest FILE        guest ELF (default: kguest.elf next to kmig-vmm)\n"
		"  --incoming          destination: wait for device state and COMMIT\n"
		"  --seed N            pattern seed (default 1)\n"
		"  --ab SIZE           a-b (dirtying) range (default 16M)\n"
		"  --fill PCT          share of the rest the guest fills, 1..100 (default:\n"
		"                      a third stays zero)\n"
		"  --touch-zero        the guest reads every page it leaves zero once\n"
		"                      (populated zero memory)\n"
		"  --rate N            cap on a-b page writes per second (default none)\n"
		"  --spin N            guest delay loop per page (default 0)\n"
		"  --report N          pages between progress exits (default 4096)\n"
		"  --throttle PCT      initial throttle, 0..99 (default 0)\n"
		"  --client-timeout SEC  a helper connection must send HELLO, and take\n"
		"                      each reply, within SEC (default %u)\n"
		"  --no-thp            do not ask for transparent huge pages\n"
		"  --quiet             no log lines on stderr\n", KGUEST_MAX_VCPUS,
		KMIG_VMMP_SERVER_TIMEOUT_MS / 1000);
}

/* "64M", "1G", "4096", "1536K": bytes, overflow-checked. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': mul = 1ULL << 10; end++; break;
	case 'M': case 'm': mul = 1ULL << 20; end++; break;
	case 'G': case 'g': mul = 1ULL << 30; end++; break;
	}
	if (*end || v > UINT64_MAX / mul)
		return -EINVAL;
	*out = v * mul;
	return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_slots(struct kvmm_opts *o, const char *arg)
{
	char *copy = strdup(arg), *tok, *save = NULL;
	int ret = 0;

	if (!copy)
		return -ENOMEM;
	o->nr_slots = 0;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->nr_slots == KVMM_MAX_SLOTS ||
		    parse_size(tok, &o->slot_size[o->nr_slots])) {
			ret = -EINVAL;
			break;
		}
		o->nr_slots++;
	}
	free(copy);
	return ret;
}

/*
 * --mem M: two slots, M/2 + 1 MiB and M/2 - 1 MiB, so that neither is a
 * multiple of 2 MiB and the second starts off a huge-page boundary, as the
 * memory of real VMMs often does.
 */
static int split_mem(struct kvmm_opts *o, uint64_t mem)
{
	if (mem < 8 * MIB || mem % (2 * MIB))
		return -EINVAL;
	o->slot_size[0] = mem / 2 + MIB;
	o->slot_size[1] = mem / 2 - MIB;
	o->nr_slots = 2;
	return 0;
}

static int check_slots(const struct kvmm_opts *o)
{
	uint64_t total = 0;
	uint32_t i;

	for (i = 0; i < o->nr_slots; i++) {
		if (!o->slot_size[i] || o->slot_size[i] % KGUEST_PAGE_SIZE ||
		    o->slot_size[i] > KGUEST_RAM_MAX) {
			kvmm_err("slot %u size %llu: must be a non-zero multiple of 4096, at most %llu",
				 i, (unsigned long long)o->slot_size[i],
				 (unsigned long long)KGUEST_RAM_MAX);
			return -EINVAL;
		}
		total += o->slot_size[i];
	}
	if (o->slot_size[0] < 4 * MIB || total > KGUEST_RAM_MAX) {
		kvmm_err("slot 0 must be at least 4 MiB (guest image and tables), RAM at most %llu GiB",
			 (unsigned long long)(KGUEST_RAM_MAX >> 30));
		return -EINVAL;
	}
	return 0;
}

static const char *default_guest(void)
{
	static char path[PATH_MAX];
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return "kguest.elf";
	exe[n] = 0;
	snprintf(path, sizeof(path), "%s/kguest.elf", dirname(exe));
	return path;
}

enum { O_MEM = 256, O_SLOTS, O_VCPUS, O_GUEST, O_INCOMING, O_SEED, O_AB,
       O_RATE, O_SPIN, O_REPORT, O_THROTTLE, O_NO_THP, O_QUIET, O_SOCKET,
       O_HELP, O_FILL, O_CLIENT_TIMEOUT, O_TOUCH_ZERO };

static const struct option long_opts[] = {
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "mem", required_argument, NULL, O_MEM },
	{ "slots", required_argument, NULL, O_SLOTS },
	{ "vcpus", required_argument, NULL, O_VCPUS },
	{ "guest", required_argument, NULL, O_GUEST },
	{ "incoming", no_argument, NULL, O_INCOMING },
	{ "seed", required_argument, NULL, O_SEED },
	{ "ab", required_argument, NULL, O_AB },
	{ "fill", required_argument, NULL, O_FILL },
	{ "touch-zero", no_argument, NULL, O_TOUCH_ZERO },
	{ "rate", required_argument, NULL, O_RATE },
	{ "spin", required_argument, NULL, O_SPIN },
	{ "report", required_argument, NULL, O_REPORT },
	{ "throttle", required_argument, NULL, O_THROTTLE },
	{ "client-timeout", required_argument, NULL, O_CLIENT_TIMEOUT },
	{ "no-thp", no_argument, NULL, O_NO_THP },
	{ "quiet", no_argument, NULL, O_QUIET },
	{ "help", no_argument, NULL, O_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char *opt_name(int c)
{
	const struct option *o;

	for (o = long_opts; o->name; o++)
		if (o->val == c)
			return o->name;
	return "?";
}

static int parse_opt(struct kvmm_opts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case O_SOCKET: o->socket = arg; return 0;
	case O_MEM: return parse_size(arg, &v) ? -EINVAL : split_mem(o, v);
	case O_SLOTS: return parse_slots(o, arg);
	case O_VCPUS:
		if (parse_u64(arg, KGUEST_MAX_VCPUS, &v) || !v)
			return -EINVAL;
		o->nr_vcpus = (uint32_t)v;
		return 0;
	case O_GUEST: o->guest = arg; return 0;
	case O_INCOMING: o->incoming = 1; return 0;
	case O_SEED: return parse_u64(arg, UINT64_MAX, &o->seed);
	case O_AB: return parse_size(arg, &o->ab_bytes);
	case O_FILL:
		if (parse_u64(arg, 100, &v) || !v)
			return -EINVAL;
		o->fill_pct = (uint32_t)v;
		return 0;
	case O_RATE: return parse_u64(arg, UINT64_MAX / 1000000000ULL, &o->rate);
	case O_SPIN: return parse_u64(arg, UINT32_MAX, &o->spin);
	case O_REPORT:
		return parse_u64(arg, UINT32_MAX, &o->report) || !o->report ?
		       -EINVAL : 0;
	case O_THROTTLE:
		if (parse_u64(arg, 99, &v))
			return -EINVAL;
		o->throttle = (uint32_t)v;
		return 0;
	case O_CLIENT_TIMEOUT:
		if (parse_u64(arg, 86400, &v) || !v)
			return -EINVAL;
		o->client_timeout_ms = (uint32_t)v * 1000;
		return 0;
	case O_TOUCH_ZERO: o->touch_zero = 1; return 0;
	case O_NO_THP: o->thp = 0; return 0;
	case O_QUIET: o->quiet = 1; return 0;
	}
	return -EINVAL;
}

static int parse_args(struct kvmm_opts *o, int argc, char **argv)
{
	int c;

	*o = (struct kvmm_opts) {
		.nr_vcpus = 1, .thp = 1, .seed = 1, .ab_bytes = 16 * MIB,
		.report = 4096,
	};
	split_mem(o, 128 * MIB);
	while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (c == O_HELP) {
			usage(stdout);
			exit(0);
		}
		if (c == '?' || parse_opt(o, c, optarg)) {
			if (c != '?')
				kvmm_err("bad value for --%s: '%s'",
					 opt_name(c), optarg);
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind != argc || !o->socket) {
		kvmm_err(optind != argc ? "unexpected argument '%s'" :
			 "--socket is required%s", optind != argc ? argv[optind] : "");
		usage(stderr);
		return -EINVAL;
	}
	if (!o->guest)
		o->guest = default_guest();
	return check_slots(o);
}

static int setup(struct kvmm *vm)
{
	int ret;

	ret = kvmm_mem_create(vm);
	if (ret)
		return ret;
	ret = kvmm_vcpus_create(vm);
	if (ret)
		return ret;
	if (vm->opts.incoming) {
		vm->state = KVMM_INCOMING;
		vm->vm_flags |= KMIG_VMMP_VM_F_INCOMING;
		return kvmm_vcpus_start(vm);
	}
	ret = kvmm_mem_register(vm);
	if (ret)
		return ret;
	ret = kvmm_load_guest(vm);
	if (ret)
		return ret;
	ret = kvmm_vcpus_set_boot_state(vm);
	if (ret)
		return ret;
	vm->state = KVMM_RUNNING;
	return kvmm_vcpus_start(vm);
}

int main(int argc, char **argv)
{
	static struct kvmm vm = { .kvm_fd = -1, .vm_fd = -1 };
	int ret;

	sigset_t block;

	if (parse_args(&vm.opts, argc, argv))
		return 2;
	/* Blocked in every thread; the serve loop reads them from a signalfd. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	pthread_mutex_init(&vm.lock, NULL);
	vm.throttle = vm.opts.throttle;
	ret = setup(&vm);
	if (!ret)
		ret = kvmm_serve(&vm);
	kvmm_vcpus_stop(&vm);
	kvmm_devstate_free(&vm, vm.staged);
	kvmm_mem_destroy(&vm);
	if (ret)
		kvmm_err("%s", strerror(-ret));
	return ret ? 1 : 0;
}
