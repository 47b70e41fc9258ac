// SPDX-License-Identifier: GPL-2.0
/* Codecs: roundtrips, incompressible input, context reuse, and every
 * decompression error the receiver relies on. */
#include <errno.h>
#include <zstd.h>

#include "codec/codec.h"
#include "gen.h"
#include "t.h"

#define PAGE 4096
#define BATCH (32 * PAGE)

static uint8_t src[BATCH], out[BATCH + 65536], back[BATCH + 1];

static const enum kmig_codec_id codecs[] = { KMIG_CODEC_ZLIB, KMIG_CODEC_ZSTD, KMIG_CODEC_LZ4 };

static void for_each_codec(struct t_state *st, void (*fn)(struct t_state *, struct kmig_codec *))
{
	for (unsigned int i = 0; i < sizeof(codecs) / sizeof(codecs[0]) && !st->cur_failed; i++) {
		struct kmig_codec c;
		int ret = kmig_codec_init(&c, codecs[i], 0,
					  KMIG_CODEC_COMPRESS | KMIG_CODEC_DECOMPRESS);

		T_ASSERT(st, ret == 0, "init %s: %d", kmig_codec_name(codecs[i]), ret);
		fn(st, &c);
		kmig_codec_fini(&c);
	}
}

static void roundtrip(struct t_state *st, struct kmig_codec *c)
{
	size_t n;
	int ret;

	t_fill_text(src, BATCH / 2, 1);
	memset(src + BATCH / 2, 0, PAGE);
	t_fill_random(src + BATCH / 2 + PAGE, BATCH / 2 - PAGE, 2);
	/* Several batches through one context: reset per batch must work. */
	for (int round = 0; round < 5; round++) {
		src[round * 100] ^= 0x5a;
		ret = kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n);
		T_ASSERT(st, ret == 0 && n < BATCH, "%s compress: %d n %zu", c->ops->name, ret, n);
		memset(back, 0xee, sizeof(back));
		ret = kmig_codec_decompress(c, out, n, back, BATCH);
		T_ASSERT(st, ret == 0, "%s decompress: %d %s", c->ops->name, ret, c->err);
		T_ASSERT(st, !memcmp(src, back, BATCH), "%s roundtrip differs", c->ops->name);
	}
}

static void incompressible(struct t_state *st, struct kmig_codec *c)
{
	size_t n;

	t_fill_random(src, BATCH, 3);
	T_ASSERT(st, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n) == -ENOSPC,
		 "%s: random data did not give -ENOSPC", c->ops->name);
	/* The context is still good afterwards. */
	t_fill_text(src, BATCH, 4);
	T_ASSERT(st, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n) == 0,
		 "%s: compress after ENOSPC", c->ops->name);
	T_ASSERT(st, kmig_codec_decompress(c, out, n, back, BATCH) == 0 &&
		 !memcmp(src, back, BATCH), "%s: roundtrip after ENOSPC: %s", c->ops->name, c->err);
}

static void truncated(struct t_state *st, struct kmig_codec *c)
{
	size_t n;
	int ret;

	t_fill_text(src, BATCH, 5);
	T_ASSERT(st, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n) == 0, "compress");
	ret = kmig_codec_decompress(c, out, n / 2, back, BATCH);
	T_ASSERT(st, ret == -EBADMSG, "%s truncated: %d (%s)", c->ops->name, ret, c->err);
	ret = kmig_codec_decompress(c, out, 0, back, BATCH);
	T_ASSERT(st, ret == -EBADMSG, "%s empty: %d", c->ops->name, ret);
	/* Output shorter than expected: a correct stream for fewer bytes. */
	T_ASSERT(st, kmig_codec_compress(c, src, BATCH / 2, out, BATCH - 1, &n) == 0, "compress");
	ret = kmig_codec_decompress(c, out, n, back, BATCH);
	T_ASSERT(st, ret == -EBADMSG, "%s short output: %d (%s)", c->ops->name, ret, c->err);
	printf("# %s short output: %s\n", c->ops->name, c->err);
}

static void garbage(struct t_state *st, struct kmig_codec *c)
{
	int ret;

	t_fill_random(out, 1000, 6);
	ret = kmig_codec_decompress(c, out, 1000, back, BATCH);
	T_ASSERT(st, ret == -EBADMSG || ret == -EOVERFLOW, "%s garbage: %d", c->ops->name, ret);
	printf("# %s garbage: %s\n", c->ops->name, c->err);
}

/* A stream that decodes to more than the packet's page count allows. */
static void bomb(struct t_state *st, struct kmig_codec *c)
{
	size_t n;
	int ret;

	memset(src, 0, BATCH);
	T_ASSERT(st, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n) == 0, "compress");
	memset(back, 0, sizeof(back));
	ret = kmig_codec_decompress(c, out, n, back, PAGE);
	T_ASSERT(st, ret == -EOVERFLOW, "%s bomb: %d (%s)", c->ops->name, ret, c->err);
	printf("# %s bomb: %s\n", c->ops->name, c->err);
}

static void t_roundtrip(struct t_state *st) { for_each_codec(st, roundtrip); }
static void t_incompressible(struct t_state *st) { for_each_codec(st, incompressible); }
static void t_truncated(struct t_state *st) { for_each_codec(st, truncated); }
static void t_garbage(struct t_state *st) { for_each_codec(st, garbage); }
static void t_bomb(struct t_state *st) { for_each_codec(st, bomb); }

/* zstd frames carry their content size: a claim is rejected unread. */
static void t_zstd_claim(struct t_state *st)
{
	struct kmig_codec c;
	size_t n;
	int ret;

	memset(src, 0, BATCH);
	n = ZSTD_compress(out, sizeof(out), src, BATCH, 1);
	T_ASSERT(st, !ZSTD_isError(n), "ZSTD_compress");
	T_ASSERT(st, kmig_codec_init(&c, KMIG_CODEC_ZSTD, 0, KMIG_CODEC_DECOMPRESS) == 0, "init");
	ret = kmig_codec_decompress(&c, out, n, back, 2 * PAGE);
	T_EXPECT(st, ret == -EOVERFLOW && strstr(c.err, "claims 131072 bytes, expected 8192"),
		 "claim: %d %s", ret, c.err);
	kmig_codec_fini(&c);
}

static void t_levels(struct t_state *st)
{
	struct kmig_codec c;

	T_ASSERT(st, kmig_codec_init(&c, KMIG_CODEC_ZLIB, 10, KMIG_CODEC_COMPRESS) == -ERANGE,
		 "zlib level 10 accepted");
	T_ASSERT(st, strstr(c.err, "1..9"), "message: %s", c.err);
	T_ASSERT(st, kmig_codec_init(&c, KMIG_CODEC_ZSTD, 19, KMIG_CODEC_COMPRESS) == 0, "zstd 19");
	kmig_codec_fini(&c);
	T_ASSERT(st, kmig_codec_init(&c, KMIG_CODEC_NR, 0, KMIG_CODEC_COMPRESS) == -EINVAL, "id");
	T_ASSERT(st, kmig_codec_parse("zstd") == KMIG_CODEC_ZSTD, "parse zstd");
	T_ASSERT(st, kmig_codec_parse("gzip") == -EINVAL, "parse gzip");
}

static void t_none(struct t_state *st)
{
	struct kmig_codec c;

	T_ASSERT(st, kmig_codec_init(&c, KMIG_CODEC_NONE, 0, KMIG_CODEC_DECOMPRESS) == 0, "init");
	T_ASSERT(st, kmig_codec_decompress(&c, src, PAGE + 1, back, PAGE) == -EOVERFLOW, "long");
	T_ASSERT(st, kmig_codec_decompress(&c, src, PAGE - 1, back, PAGE) == -EBADMSG, "short");
	kmig_codec_fini(&c);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_roundtrip), T_CASE(t_incompressible), T_CASE(t_truncated),
		T_CASE(t_garbage), T_CASE(t_bomb), T_CASE(t_zstd_claim), T_CASE(t_levels),
		T_CASE(t_none),
	};

	return t_main("codec", cases, sizeof(cases) / sizeof(cases[0]));
}
