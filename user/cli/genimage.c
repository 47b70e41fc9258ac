// SPDX-License-Identifier: GPL-2.0
/* kmig genimage: a reproducible synthetic RAM image (sparse file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "imagegen.h"

#define DEFAULT_MIX "zero:25,text:25,binary:25,random:25"

struct gen_args {
	uint64_t size, seed;
	struct kmig_gen_mix mix;
};

static int opt_mix(void *args, const char *v, char *why, size_t len)
{
	return kmig_gen_parse_mix(v, &((struct gen_args *)args)->mix) ? -EINVAL : 0;
}

#define A struct gen_args
static const struct cli_opt options[] = {
	{ CLI_SIZE("size", 's', A, size, KMIG_PAGE_SIZE, KMIG_PAGE_SIZE, "SIZE",
		   "image size, a multiple of 4096 (K, M, G suffixes)"), .required = true },
	{ CLI_FN("mix", 'm', opt_mix, "KIND:WEIGHT,... with kinds zero, zerodata, text, binary, "
		 "random", "SPEC", "kinds and weights per 64-page region (default\n"
		 DEFAULT_MIX ");\nkinds: zero (hole), zerodata, text, binary, random") },
	{ CLI_UINT("seed", 'S', A, seed, 0, UINT64_MAX, "N", "generator seed (default 1)") },
	{ 0 }
};
#undef A

static const struct cli_opts cmd = {
	.cmd = "genimage", .usage = "[options] --size SIZE FILE", .opt = options,
	.nr_args = 1, .args_name = "FILE",
};

static int generate(const char *path, uint64_t size, const struct kmig_gen_mix *mix,
		    uint64_t seed)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), ret = 0;
	void *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0) {
		ret = -errno;
		goto out;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	kmig_gen_fill(p, size / KMIG_PAGE_SIZE, mix, seed);
	if (msync(p, size, MS_SYNC) < 0)
		ret = -errno;
	munmap(p, size);
out:
	close(fd);
	return ret;
}

int cmd_genimage(int argc, char **argv)
{
	struct gen_args a = { .seed = 1 };
	int first, ret;

	if (kmig_gen_parse_mix(DEFAULT_MIX, &a.mix))
		return cli_err("genimage", "parse", DEFAULT_MIX, EINVAL, NULL);
	ret = cli_opts_parse(&cmd, argc, argv, &a, &first);
	if (ret)
		return ret < 0 ? 0 : ret;
	ret = generate(argv[first], a.size, &a.mix, a.seed);
	if (ret)
		return cli_err("genimage", "write", argv[first], ret, NULL);
	return 0;
}
