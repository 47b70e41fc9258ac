// SPDX-License-Identifier: GPL-2.0
/* Codecs: roundtrips, incompressible input, context reuse, and every
 * decompression error the receiver relies on. The tests that every codec
 * must pass run once per codec (a fixture variant each), on a context the
 * fixture creates for compression and decompression. */
#include <errno.h>
#include <zstd.h>

#include "codec/codec.h"
#include "gen.h"
#include "kselftest_harness.h"

#define PAGE 4096
#define BATCH (32 * PAGE)

static uint8_t src[BATCH], out[BATCH + 65536], back[BATCH + 1];

FIXTURE(codec) {
	struct kmig_codec c;
};

FIXTURE_VARIANT(codec) {
	enum kmig_codec_id id;
};

FIXTURE_VARIANT_ADD(codec, zlib) { .id = KMIG_CODEC_ZLIB };
FIXTURE_VARIANT_ADD(codec, zstd) { .id = KMIG_CODEC_ZSTD };
FIXTURE_VARIANT_ADD(codec, lz4) { .id = KMIG_CODEC_LZ4 };

FIXTURE_SETUP(codec)
{
	int ret = kmig_codec_init(&self->c, variant->id, 0,
				  KMIG_CODEC_COMPRESS | KMIG_CODEC_DECOMPRESS);

	ASSERT_EQ(0, ret) TH_LOG("init %s: %d", kmig_codec_name(variant->id), ret);
}

FIXTURE_TEARDOWN(codec)
{
	kmig_codec_fini(&self->c);
}

TEST_F(codec, roundtrip)
{
	struct kmig_codec *c = &self->c;
	size_t n;
	int ret;

	t_fill_text(src, BATCH / 2, 1);
	memset(src + BATCH / 2, 0, PAGE);
	t_fill_random(src + BATCH / 2 + PAGE, BATCH / 2 - PAGE, 2);
	/* Several batches through one context: reset per batch must work. */
	for (int round = 0; round < 5; round++) {
		src[round * 100] ^= 0x5a;
		ret = kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n);
		ASSERT_TRUE(ret == 0 && n < BATCH)
			TH_LOG("%s compress: %d n %zu", c->ops->name, ret, n);
		memset(back, 0xee, sizeof(back));
		ret = kmig_codec_decompress(c, out, n, back, BATCH);
		ASSERT_EQ(0, ret) TH_LOG("%s decompress: %d %s", c->ops->name, ret, c->err);
		ASSERT_EQ(0, memcmp(src, back, BATCH)) TH_LOG("%s roundtrip differs", c->ops->name);
	}
}

TEST_F(codec, incompressible)
{
	struct kmig_codec *c = &self->c;
	size_t n;

	t_fill_random(src, BATCH, 3);
	ASSERT_EQ(-ENOSPC, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n))
		TH_LOG("%s: random data did not give -ENOSPC", c->ops->name);
	/* The context is still good afterwards. */
	t_fill_text(src, BATCH, 4);
	ASSERT_EQ(0, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n))
		TH_LOG("%s: compress after ENOSPC", c->ops->name);
	ASSERT_TRUE(kmig_codec_decompress(c, out, n, back, BATCH) == 0 &&
		    !memcmp(src, back, BATCH))
		TH_LOG("%s: roundtrip after ENOSPC: %s", c->ops->name, c->err);
}

TEST_F(codec, truncated)
{
	struct kmig_codec *c = &self->c;
	size_t n;
	int ret;

	t_fill_text(src, BATCH, 5);
	ASSERT_EQ(0, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n)) TH_LOG("compress");
	ret = kmig_codec_decompress(c, out, n / 2, back, BATCH);
	ASSERT_EQ(-EBADMSG, ret) TH_LOG("%s truncated: %d (%s)", c->ops->name, ret, c->err);
	ret = kmig_codec_decompress(c, out, 0, back, BATCH);
	ASSERT_EQ(-EBADMSG, ret) TH_LOG("%s empty: %d", c->ops->name, ret);
	/* Output shorter than expected: a correct stream for fewer bytes. */
	ASSERT_EQ(0, kmig_codec_compress(c, src, BATCH / 2, out, BATCH - 1, &n))
		TH_LOG("compress");
	ret = kmig_codec_decompress(c, out, n, back, BATCH);
	ASSERT_EQ(-EBADMSG, ret) TH_LOG("%s short output: %d (%s)", c->ops->name, ret, c->err);
	TH_LOG("%s short output: %s", c->ops->name, c->err);
}

TEST_F(codec, garbage)
{
	struct kmig_codec *c = &self->c;
	int ret;

	t_fill_random(out, 1000, 6);
	ret = kmig_codec_decompress(c, out, 1000, back, BATCH);
	ASSERT_TRUE(ret == -EBADMSG || ret == -EOVERFLOW)
		TH_LOG("%s garbage: %d", c->ops->name, ret);
	TH_LOG("%s garbage: %s", c->ops->name, c->err);
}

/* A stream that decodes to more than the packet's page count allows. */
TEST_F(codec, bomb)
{
	struct kmig_codec *c = &self->c;
	size_t n;
	int ret;

	memset(src, 0, BATCH);
	ASSERT_EQ(0, kmig_codec_compress(c, src, BATCH, out, BATCH - 1, &n)) TH_LOG("compress");
	memset(back, 0, sizeof(back));
	ret = kmig_codec_decompress(c, out, n, back, PAGE);
	ASSERT_EQ(-EOVERFLOW, ret) TH_LOG("%s bomb: %d (%s)", c->ops->name, ret, c->err);
	TH_LOG("%s bomb: %s", c->ops->name, c->err);
}

/* zstd frames carry their content size: a claim is rejected unread. */
TEST(zstd_claim)
{
	struct kmig_codec c;
	size_t n;
	int ret;

	memset(src, 0, BATCH);
	n = ZSTD_compress(out, sizeof(out), src, BATCH, 1);
	ASSERT_FALSE(ZSTD_isError(n)) TH_LOG("ZSTD_compress");
	ASSERT_EQ(0, kmig_codec_init(&c, KMIG_CODEC_ZSTD, 0, KMIG_CODEC_DECOMPRESS)) TH_LOG("init");
	ret = kmig_codec_decompress(&c, out, n, back, 2 * PAGE);
	EXPECT_TRUE(ret == -EOVERFLOW && strstr(c.err, "claims 131072 bytes, expected 8192"))
		TH_LOG("claim: %d %s", ret, c.err);
	kmig_codec_fini(&c);
}

TEST(levels)
{
	struct kmig_codec c;

	ASSERT_EQ(-ERANGE, kmig_codec_init(&c, KMIG_CODEC_ZLIB, 10, KMIG_CODEC_COMPRESS))
		TH_LOG("zlib level 10 accepted");
	ASSERT_NE(NULL, strstr(c.err, "1..9")) TH_LOG("message: %s", c.err);
	ASSERT_EQ(0, kmig_codec_init(&c, KMIG_CODEC_ZSTD, 19, KMIG_CODEC_COMPRESS))
		TH_LOG("zstd 19");
	kmig_codec_fini(&c);
	ASSERT_EQ(-EINVAL, kmig_codec_init(&c, KMIG_CODEC_NR, 0, KMIG_CODEC_COMPRESS)) TH_LOG("id");
	ASSERT_EQ(KMIG_CODEC_ZSTD, kmig_codec_parse("zstd")) TH_LOG("parse zstd");
	ASSERT_EQ(-EINVAL, kmig_codec_parse("gzip")) TH_LOG("parse gzip");
}

TEST(none)
{
	struct kmig_codec c;

	ASSERT_EQ(0, kmig_codec_init(&c, KMIG_CODEC_NONE, 0, KMIG_CODEC_DECOMPRESS)) TH_LOG("init");
	ASSERT_EQ(-EOVERFLOW, kmig_codec_decompress(&c, src, PAGE + 1, back, PAGE)) TH_LOG("long");
	ASSERT_EQ(-EBADMSG, kmig_codec_decompress(&c, src, PAGE - 1, back, PAGE)) TH_LOG("short");
	kmig_codec_fini(&c);
}

TEST_HARNESS_MAIN
