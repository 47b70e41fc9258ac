/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page codecs behind one ops table: none, zlib, zstd, lz4.
 *
 * A struct kmig_codec is one thread's context: its compression and
 * decompression state is created once by kmig_codec_init() and reset per
 * batch, never allocated per page. A batch is one packet's data pages,
 * compressed as one unit.
 *
 * kmig_codec_compress() returns -ENOSPC when the output would not be
 * smaller than the input (@cap is the most the caller accepts): the caller
 * then sends the batch raw. kmig_codec_decompress() accepts only input that
 * decodes to exactly @expect bytes, and consumes all of it; it writes at
 * most @expect bytes at @dst, so the receiver decodes straight into the
 * destination's pages. A stream that claims or produces more is a
 * decompression bomb (-EOVERFLOW), anything else malformed is -EBADMSG.
 * The context's err text says what was wrong.
 */
#ifndef KMIG_CODEC_H
#define KMIG_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum kmig_codec_id {
	KMIG_CODEC_NONE = 0,
	KMIG_CODEC_ZLIB = 1,
	KMIG_CODEC_ZSTD = 2,
	KMIG_CODEC_LZ4 = 3,
	KMIG_CODEC_NR
};

/* Which halves of a context to create. */
#define KMIG_CODEC_COMPRESS	(1U << 0)
#define KMIG_CODEC_DECOMPRESS	(1U << 1)

struct kmig_codec;

struct kmig_codec_ops {
	const char *name;
	int min_level, max_level, default_level;
	int (*init)(struct kmig_codec *c, unsigned int dirs);
	void (*fini)(struct kmig_codec *c);
	/* Forget the previous batch; keep the allocated state. */
	int (*reset)(struct kmig_codec *c);
	int (*compress)(struct kmig_codec *c, const void *src, size_t len,
			void *dst, size_t cap, size_t *out_len);
	int (*decompress)(struct kmig_codec *c, const void *src, size_t len,
			  void *dst, size_t expect);
};

struct kmig_codec {
	const struct kmig_codec_ops *ops;
	enum kmig_codec_id id;
	int level;
	void *cctx;		/* compression state, codec-specific */
	void *dctx;		/* decompression state */
	uint8_t *probe;		/* lz4: telling a bomb from garbage, on errors only */
	char err[128];		/* last error, for messages */
};

/* NULL for an unknown id. */
const struct kmig_codec_ops *kmig_codec_ops(enum kmig_codec_id id);
const char *kmig_codec_name(enum kmig_codec_id id);

/* Name to id; -EINVAL for an unknown name. */
int kmig_codec_parse(const char *name);

/* @level 0 means the codec's default; out of range gives -ERANGE. */
int kmig_codec_init(struct kmig_codec *c, enum kmig_codec_id id, int level,
		    unsigned int dirs);
void kmig_codec_fini(struct kmig_codec *c);

/* Reset, then compress one batch. -ENOSPC: did not shrink below @cap. */
int kmig_codec_compress(struct kmig_codec *c, const void *src, size_t len,
			void *dst, size_t cap, size_t *out_len);

/* Decompress one batch into exactly @expect bytes at @dst; never writes
 * past them. */
int kmig_codec_decompress(struct kmig_codec *c, const void *src, size_t len,
			  void *dst, size_t expect);

#endif /* KMIG_CODEC_H */
