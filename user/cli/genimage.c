// SPDX-License-Identifier: GPL-2.0
/* kmig genimage: a reproducible synthetic RAM image (sparse file). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cli.h"
#include "imagegen.h"

#define DEFAULT_MIX "zero:25,text:25,binary:25,random:25"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: kmig genimage [options] --size SIZE FILE\n"
		"  -s, --size SIZE   image size, a multiple of 4096 (K, M, G suffixes)\n"
		"  -m, --mix SPEC    kinds and weights per 64-page region (default\n"
		"                    " DEFAULT_MIX ");\n"
		"                    kinds: zero (hole), zerodata, text, binary, random\n"
		"  -S, --seed N      generator seed (default 1)\n");
}

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
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "mix", required_argument, NULL, 'm' },
		{ "seed", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *mixspec = DEFAULT_MIX;
	struct kmig_gen_mix mix;
	uint64_t size = 0, seed = 1;
	int c, ret;

	while ((c = getopt_long(argc, argv, "s:m:S:h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (cli_parse_size(optarg, &size) || !size || size % KMIG_PAGE_SIZE)
				return cli_err("genimage", "parse --size", optarg, EINVAL,
					       "expected a multiple of 4096");
			break;
		case 'm': mixspec = optarg; break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !size) {
		usage(stderr);
		return 2;
	}
	if (kmig_gen_parse_mix(mixspec, &mix))
		return cli_err("genimage", "parse --mix", mixspec, EINVAL,
			       "expected KIND:WEIGHT,... with kinds zero, zerodata, text, binary, random");
	ret = generate(argv[optind], size, &mix, seed);
	if (ret)
		return cli_err("genimage", "write", argv[optind], ret, NULL);
	return 0;
}
