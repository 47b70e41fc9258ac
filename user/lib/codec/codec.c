// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "codec/codec.h"

extern const struct kmig_codec_ops kmig_codec_none_ops;
extern const struct kmig_codec_ops kmig_codec_zlib_ops;
extern const struct kmig_codec_ops kmig_codec_zstd_ops;
extern const struct kmig_codec_ops kmig_codec_lz4_ops;

static const struct kmig_codec_ops *const codec_table[KMIG_CODEC_NR] = {
	[KMIG_CODEC_NONE] = &kmig_codec_none_ops,
	[KMIG_CODEC_ZLIB] = &kmig_codec_zlib_ops,
	[KMIG_CODEC_ZSTD] = &kmig_codec_zstd_ops,
	[KMIG_CODEC_LZ4] = &kmig_codec_lz4_ops,
};

const struct kmig_codec_ops *kmig_codec_ops(enum kmig_codec_id id)
{
	return (unsigned int)id < KMIG_CODEC_NR ? codec_table[id] : NULL;
}

const char *kmig_codec_name(enum kmig_codec_id id)
{
	const struct kmig_codec_ops *ops = kmig_codec_ops(id);

	return ops ? ops->name : "?";
}

int kmig_codec_parse(const char *name)
{
	for (int i = 0; i < KMIG_CODEC_NR; i++)
		if (!strcmp(codec_table[i]->name, name))
			return i;
	return -EINVAL;
}

int kmig_codec_init(struct kmig_codec *c, enum kmig_codec_id id, int level,
		    unsigned int dirs)
{
	const struct kmig_codec_ops *ops = kmig_codec_ops(id);

	memset(c, 0, sizeof(*c));
	if (!ops)
		return -EINVAL;
	if (!level)
		level = ops->default_level;
	if (level < ops->min_level || level > ops->max_level) {
		snprintf(c->err, sizeof(c->err), "%s level %d out of range %d..%d",
			 ops->name, level, ops->min_level, ops->max_level);
		return -ERANGE;
	}
	c->ops = ops;
	c->id = id;
	c->level = level;
	return ops->init(c, dirs);
}

void kmig_codec_fini(struct kmig_codec *c)
{
	if (c->ops)
		c->ops->fini(c);
	c->ops = NULL;
}

int kmig_codec_compress(struct kmig_codec *c, const void *src, size_t len,
			void *dst, size_t cap, size_t *out_len)
{
	int ret = c->ops->reset(c);

	if (ret)
		return ret;
	return c->ops->compress(c, src, len, dst, cap, out_len);
}

int kmig_codec_decompress(struct kmig_codec *c, const void *src, size_t len,
			  void *dst, size_t expect)
{
	if (!len) {
		snprintf(c->err, sizeof(c->err), "%s: empty input, expected data for %zu bytes",
			 c->ops->name, expect);
		return -EBADMSG;
	}
	return c->ops->decompress(c, src, len, dst, expect);
}

/* "none": the identity, so that callers need no special case. */
static int none_init(struct kmig_codec *c, unsigned int dirs)
{
	return 0;
}

static void none_fini(struct kmig_codec *c)
{
}

static int none_reset(struct kmig_codec *c)
{
	return 0;
}

static int none_compress(struct kmig_codec *c, const void *src, size_t len,
			 void *dst, size_t cap, size_t *out_len)
{
	if (len > cap)
		return -ENOSPC;
	memcpy(dst, src, len);
	*out_len = len;
	return 0;
}

static int none_decompress(struct kmig_codec *c, const void *src, size_t len,
			   void *dst, size_t expect)
{
	if (len != expect) {
		snprintf(c->err, sizeof(c->err), "none: %zu bytes, expected %zu", len, expect);
		return len > expect ? -EOVERFLOW : -EBADMSG;
	}
	memcpy(dst, src, len);
	return 0;
}

const struct kmig_codec_ops kmig_codec_none_ops = {
	.name = "none",
	.min_level = 0, .max_level = 0, .default_level = 0,
	.init = none_init, .fini = none_fini, .reset = none_reset,
	.compress = none_compress, .decompress = none_decompress,
};
