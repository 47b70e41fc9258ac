// SPDX-License-Identifier: GPL-2.0
/* zstd: one ZSTD_CCtx and one ZSTD_DCtx per context; a session reset per
 * batch keeps the parameters and the allocated tables. */
#include <errno.h>
#include <stdio.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "codec/codec.h"

/* Frames the receiver accepts use at most a 1 MiB window: a batch is at
 * most a few hundred KiB, so a larger window is hostile input. */
#define ZSTD_WINDOW_LOG_MAX 20

static void zstd_fini(struct kmig_codec *c)
{
	ZSTD_freeCCtx(c->cctx);
	ZSTD_freeDCtx(c->dctx);
	c->cctx = c->dctx = NULL;
}

static int zstd_init(struct kmig_codec *c, unsigned int dirs)
{
	if (dirs & KMIG_CODEC_COMPRESS) {
		c->cctx = ZSTD_createCCtx();
		if (!c->cctx ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, c->level)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_windowLog, ZSTD_WINDOW_LOG_MAX)) ||
		    ZSTD_isError(ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_checksumFlag, 0)))
			goto fail;
	}
	if (dirs & KMIG_CODEC_DECOMPRESS) {
		c->dctx = ZSTD_createDCtx();
		if (!c->dctx ||
		    ZSTD_isError(ZSTD_DCtx_setParameter(c->dctx, ZSTD_d_windowLogMax,
							ZSTD_WINDOW_LOG_MAX)))
			goto fail;
	}
	return 0;
fail:
	zstd_fini(c);
	return -ENOMEM;
}

static int zstd_reset(struct kmig_codec *c)
{
	if (c->cctx && ZSTD_isError(ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_only)))
		return -EIO;
	return 0;
}

static int zstd_compress(struct kmig_codec *c, const void *src, size_t len,
			 void *dst, size_t cap, size_t *out_len)
{
	size_t n = ZSTD_compress2(c->cctx, dst, cap, src, len);

	if (ZSTD_isError(n)) {
		if (ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
			return -ENOSPC;
		snprintf(c->err, sizeof(c->err), "zstd compress: %s", ZSTD_getErrorName(n));
		return -EIO;
	}
	*out_len = n;
	return 0;
}

static int zstd_decompress(struct kmig_codec *c, const void *src, size_t len,
			   void *dst, size_t expect)
{
	unsigned long long claim = ZSTD_getFrameContentSize(src, len);
	size_t n;

	if (claim == ZSTD_CONTENTSIZE_ERROR) {
		snprintf(c->err, sizeof(c->err), "zstd: not a zstd frame (%zu bytes)", len);
		return -EBADMSG;
	}
	if (claim != ZSTD_CONTENTSIZE_UNKNOWN && claim != expect) {
		snprintf(c->err, sizeof(c->err), "zstd: frame claims %llu bytes, expected %zu",
			 claim, expect);
		return claim > expect ? -EOVERFLOW : -EBADMSG;
	}
	/* Output past @expect fails with dstSize_tooSmall, never written. */
	n = ZSTD_decompressDCtx(c->dctx, dst, expect, src, len);
	if (ZSTD_isError(n)) {
		snprintf(c->err, sizeof(c->err), "zstd: %s", ZSTD_getErrorName(n));
		return ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall ? -EOVERFLOW : -EBADMSG;
	}
	if (n != expect) {
		snprintf(c->err, sizeof(c->err), "zstd: decoded %zu bytes, expected %zu", n, expect);
		return n > expect ? -EOVERFLOW : -EBADMSG;
	}
	return 0;
}

const struct kmig_codec_ops kmig_codec_zstd_ops = {
	.name = "zstd",
	.min_level = 1, .max_level = 19, .default_level = 1,
	.init = zstd_init, .fini = zstd_fini, .reset = zstd_reset,
	.compress = zstd_compress, .decompress = zstd_decompress,
};
