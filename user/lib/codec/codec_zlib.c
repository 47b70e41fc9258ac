// SPDX-License-Identifier: GPL-2.0
/* zlib: one deflate and one inflate stream per context, deflateReset /
 * inflateReset per batch (raw deflate, no zlib header: the packet has its
 * own length and CRC). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <zlib.h>

#include "codec/codec.h"

static void zlib_fini(struct kmig_codec *c)
{
	if (c->cctx) {
		deflateEnd(c->cctx);
		free(c->cctx);
	}
	if (c->dctx) {
		inflateEnd(c->dctx);
		free(c->dctx);
	}
	c->cctx = c->dctx = NULL;
}

static int zlib_init(struct kmig_codec *c, unsigned int dirs)
{
	z_stream *zs;

	if (dirs & KMIG_CODEC_COMPRESS) {
		zs = c->cctx = calloc(1, sizeof(*zs));
		if (!zs || deflateInit2(zs, c->level, Z_DEFLATED, -15, 8,
					Z_DEFAULT_STRATEGY) != Z_OK)
			goto fail;
	}
	if (dirs & KMIG_CODEC_DECOMPRESS) {
		zs = c->dctx = calloc(1, sizeof(*zs));
		if (!zs || inflateInit2(zs, -15) != Z_OK)
			goto fail;
	}
	return 0;
fail:
	/* A stream whose Init failed must not be End()ed: drop it first. */
	if (zs == c->cctx)
		c->cctx = NULL;
	else
		c->dctx = NULL;
	free(zs);
	zlib_fini(c);
	return -ENOMEM;
}

static int zlib_reset(struct kmig_codec *c)
{
	if (c->cctx && deflateReset(c->cctx) != Z_OK)
		return -EIO;
	return 0;
}

static int zlib_compress(struct kmig_codec *c, const void *src, size_t len,
			 void *dst, size_t cap, size_t *out_len)
{
	z_stream *zs = c->cctx;
	int ret;

	zs->next_in = (Bytef *)src;
	zs->avail_in = len;
	zs->next_out = dst;
	zs->avail_out = cap;
	ret = deflate(zs, Z_FINISH);
	if (ret == Z_OK || ret == Z_BUF_ERROR)
		return -ENOSPC;		/* output full before the end */
	if (ret != Z_STREAM_END) {
		snprintf(c->err, sizeof(c->err), "zlib deflate: error %d", ret);
		return -EIO;
	}
	*out_len = zs->total_out;
	return 0;
}

static int zlib_decompress(struct kmig_codec *c, const void *src, size_t len,
			   void *dst, size_t expect)
{
	z_stream *zs = c->dctx;
	int ret;

	if (inflateReset(zs) != Z_OK)
		return -EIO;
	zs->next_in = (Bytef *)src;
	zs->avail_in = len;
	zs->next_out = dst;
	zs->avail_out = expect;
	ret = inflate(zs, Z_FINISH);
	if (ret != Z_STREAM_END && !zs->avail_out) {
		/* Full: does the stream end here, or want more room (a bomb)? */
		uint8_t extra;

		zs->next_out = &extra;
		zs->avail_out = 1;
		ret = inflate(zs, Z_FINISH);
		if (!zs->avail_out) {
			snprintf(c->err, sizeof(c->err),
				 "zlib: output exceeds the expected %zu bytes", expect);
			return -EOVERFLOW;
		}
	}
	if (ret == Z_STREAM_END && zs->total_out == expect && !zs->avail_in)
		return 0;
	if (ret == Z_STREAM_END && zs->avail_in) {
		snprintf(c->err, sizeof(c->err), "zlib: %u bytes of trailing data after the stream",
			 zs->avail_in);
		return -EBADMSG;
	}
	snprintf(c->err, sizeof(c->err), "zlib inflate: %s after %lu of %zu bytes",
		 ret == Z_STREAM_END ? "stream ended" :
		 zs->msg ? zs->msg : "truncated input", zs->total_out, expect);
	return -EBADMSG;
}

const struct kmig_codec_ops kmig_codec_zlib_ops = {
	.name = "zlib",
	.min_level = 1, .max_level = 9, .default_level = 1,
	.init = zlib_init, .fini = zlib_fini, .reset = zlib_reset,
	.compress = zlib_compress, .decompress = zlib_decompress,
};
