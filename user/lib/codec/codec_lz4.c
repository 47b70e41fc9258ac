// SPDX-License-Identifier: GPL-2.0
/* lz4 block format: the compression state (LZ4_sizeofState() bytes) is
 * allocated once; LZ4_compress_fast_extState() re-initialises it per batch.
 * The level is lz4's acceleration factor (higher: faster, less ratio).
 * Decompression needs no state. */
#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include <stdio.h>
#include <stdlib.h>

#include "codec/codec.h"

static void lz4_fini(struct kmig_codec *c)
{
	free(c->cctx);
	free(c->probe);
	c->cctx = NULL;
	c->probe = NULL;
}

static int lz4_init(struct kmig_codec *c, unsigned int dirs)
{
	if (dirs & KMIG_CODEC_COMPRESS) {
		c->cctx = malloc(LZ4_sizeofState());
		if (!c->cctx)
			return -ENOMEM;
	}
	return 0;
}

static int lz4_reset(struct kmig_codec *c)
{
	return 0;	/* the extState call below starts from a clean state */
}

static int lz4_compress(struct kmig_codec *c, const void *src, size_t len,
			void *dst, size_t cap, size_t *out_len)
{
	int n;

	if (len > INT_MAX || cap > INT_MAX)
		return -EINVAL;
	n = LZ4_compress_fast_extState(c->cctx, src, dst, len, cap, c->level);
	if (n <= 0)
		return -ENOSPC;
	*out_len = n;
	return 0;
}

static int lz4_decompress(struct kmig_codec *c, const void *src, size_t len,
			  void *dst, size_t expect)
{
	int n;

	if (len > INT_MAX || expect >= INT_MAX)
		return -EINVAL;
	n = LZ4_decompress_safe(src, dst, len, expect);
	if (n < 0) {
		/* Tell a bomb from garbage: does it decode past @expect? Into a
		 * buffer of our own, never past the caller's @expect bytes. */
		free(c->probe);
		c->probe = malloc(expect + 1);
		if (!c->probe)
			return -ENOMEM;
		if (LZ4_decompress_safe_partial(src, (char *)c->probe, len, expect + 1, expect + 1) ==
		    (int)expect + 1) {
			snprintf(c->err, sizeof(c->err), "lz4: output exceeds the expected %zu bytes",
				 expect);
			return -EOVERFLOW;
		}
		snprintf(c->err, sizeof(c->err), "lz4: malformed block (error %d), expected %zu bytes",
			 n, expect);
		return -EBADMSG;
	}
	if ((size_t)n != expect) {
		snprintf(c->err, sizeof(c->err), "lz4: decoded %d bytes, expected %zu", n, expect);
		return (size_t)n > expect ? -EOVERFLOW : -EBADMSG;
	}
	return 0;
}

const struct kmig_codec_ops kmig_codec_lz4_ops = {
	.name = "lz4",
	.min_level = 1, .max_level = 65537, .default_level = 1,
	.init = lz4_init, .fini = lz4_fini, .reset = lz4_reset,
	.compress = lz4_compress, .decompress = lz4_decompress,
};
