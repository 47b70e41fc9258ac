// SPDX-License-Identifier: GPL-2.0
/*
 * The CLI's JSON writer (cli/json.h): nesting and separators in both
 * styles, string escaping (quotes, backslashes, control characters, valid
 * UTF-8 kept, each invalid byte U+FFFD), numbers, and misuse refused
 * without writing broken JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "json.h"

/* A writer into memory; out() closes the stream and returns the text. */
struct buf {
	char *text;
	size_t len;
	FILE *f;
	struct json j;
};

static void buf_open(struct buf *b, bool compact)
{
	b->text = NULL;
	b->f = open_memstream(&b->text, &b->len);
	json_init(&b->j, b->f, compact);
}

static const char *out(struct buf *b)
{
	fclose(b->f);
	b->f = NULL;
	return b->text;
}

/* @s as a JSON string. */
static char *escaped(const char *s)
{
	struct buf b;

	buf_open(&b, false);
	json_write_string(b.f, s);
	out(&b);
	return b.text;
}

TEST(nesting_spaced)
{
	struct buf b;

	buf_open(&b, false);
	json_obj(&b.j, NULL);
	json_str(&b.j, "role", "migrate");
	json_u64(&b.j, "n", 3);
	json_obj(&b.j, "empty");
	json_end(&b.j);
	json_arr(&b.j, "rows");
	json_obj(&b.j, NULL);
	json_u64(&b.j, "index", 0);
	json_bool(&b.j, "final", false);
	json_end(&b.j);
	json_obj(&b.j, NULL);
	json_u64(&b.j, "index", 1);
	json_bool(&b.j, "final", true);
	json_end(&b.j);
	json_end(&b.j);
	json_arr(&b.j, "none");
	json_end(&b.j);
	json_null(&b.j, "nothing");
	json_end(&b.j);
	EXPECT_EQ(0, b.j.err);
	EXPECT_EQ(0, b.j.depth);
	EXPECT_STREQ("{\"role\": \"migrate\", \"n\": 3, \"empty\": {}, \"rows\": "
		     "[{\"index\": 0, \"final\": false}, {\"index\": 1, \"final\": true}], "
		     "\"none\": [], \"nothing\": null}\n", out(&b));
	free(b.text);
}

/* Compact: kmig stat and monitor; several top-level values are JSON lines. */
TEST(compact_lines)
{
	struct buf b;

	buf_open(&b, true);
	for (int i = 0; i < 2; i++) {
		json_obj(&b.j, NULL);
		json_str(&b.j, "event", "stop");
		json_arr(&b.j, "slot_results");
		json_u64(&b.j, NULL, i);
		json_u64(&b.j, NULL, 7);
		json_end(&b.j);
		json_end(&b.j);
	}
	json_u64(&b.j, NULL, 5);
	EXPECT_EQ(0, b.j.err);
	EXPECT_STREQ("{\"event\":\"stop\",\"slot_results\":[0,7]}\n"
		     "{\"event\":\"stop\",\"slot_results\":[1,7]}\n5\n", out(&b));
	free(b.text);
}

TEST(escaping)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "", "\"\"" },
		{ "plain /path:1", "\"plain /path:1\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "line\nTAB\tcr\r", "\"line\\nTAB\\tcr\\r\"" },
		{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
		/* valid UTF-8: é, €, U+1F600, U+10FFFF */
		{ "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf",
		  "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"" },
		/* a Latin-1 byte, a stray continuation byte, 0xff */
		{ "caf\xe9!", "\"caf\\ufffd!\"" },
		{ "\x80", "\"\\ufffd\"" },
		{ "\xff", "\"\\ufffd\"" },
		/* overlong "/" and NUL, a surrogate, above U+10FFFF: one per byte */
		{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
		{ "\xe0\x80\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
		{ "\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\"" },
		/* a sequence cut short, by another character or by the end */
		{ "\xe2\x82x", "\"\\ufffd\\ufffdx\"" },
		{ "end\xe2\x82", "\"end\\ufffd\\ufffd\"" },
		{ "\xf0\x9f\x98", "\"\\ufffd\\ufffd\\ufffd\"" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = escaped(cases[i].in);

		EXPECT_STREQ(cases[i].want, got) TH_LOG("case %zu", i);
		free(got);
	}
}

TEST(null_string_and_keys)
{
	struct buf b;

	buf_open(&b, false);
	json_obj(&b.j, NULL);
	json_str(&b.j, "unset", NULL);
	json_str(&b.j, "k\"ey\n", "v");
	json_end(&b.j);
	EXPECT_STREQ("{\"unset\": \"\", \"k\\\"ey\\n\": \"v\"}\n", out(&b));
	free(b.text);
}

TEST(numbers)
{
	struct buf b;

	buf_open(&b, true);
	json_arr(&b.j, NULL);
	json_u64(&b.j, NULL, 0);
	json_u64(&b.j, NULL, UINT64_MAX);
	json_i64(&b.j, NULL, INT64_MIN);
	json_i64(&b.j, NULL, -1);
	json_double(&b.j, NULL, 1071.64, 1);
	json_double(&b.j, NULL, 3.14159, 3);
	json_double(&b.j, NULL, 0, 1);
	json_double(&b.j, NULL, 7.6, 0);
	json_double(&b.j, NULL, NAN, 1);
	json_double(&b.j, NULL, INFINITY, 1);
	json_double(&b.j, NULL, -INFINITY, 1);
	json_bool(&b.j, NULL, true);
	json_null(&b.j, NULL);
	json_end(&b.j);
	EXPECT_EQ(0, b.j.err);
	EXPECT_STREQ("[0,18446744073709551615,-9223372036854775808,-1,1071.6,3.142,0.0,8,"
		     "null,null,null,true,null]\n", out(&b));
	free(b.text);
}

/* Misuse is refused (-EINVAL), writes nothing, and the rest stays valid. */
TEST(misuse)
{
	struct buf b;

	buf_open(&b, true);
	json_end(&b.j);				/* nothing open */
	EXPECT_EQ(-EINVAL, b.j.err);
	b.j.err = 0;
	json_u64(&b.j, "top", 1);		/* a key outside an object */
	EXPECT_EQ(-EINVAL, b.j.err);
	b.j.err = 0;
	json_obj(&b.j, NULL);
	json_u64(&b.j, NULL, 1);		/* no key inside an object */
	EXPECT_EQ(-EINVAL, b.j.err);
	b.j.err = 0;
	json_arr(&b.j, "a");
	json_str(&b.j, "k", "v");		/* a key inside an array */
	EXPECT_EQ(-EINVAL, b.j.err);
	json_end(&b.j);
	json_end(&b.j);
	EXPECT_STREQ("{\"a\":[]}\n", out(&b));
	free(b.text);
}

TEST(depth_limit)
{
	struct buf b;

	buf_open(&b, true);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_arr(&b.j, NULL);
	EXPECT_EQ(0, b.j.err);
	json_arr(&b.j, NULL);			/* one too deep: refused */
	EXPECT_EQ(-EINVAL, b.j.err);
	EXPECT_EQ(JSON_MAX_DEPTH, b.j.depth);
	for (int i = 0; i < JSON_MAX_DEPTH; i++)
		json_end(&b.j);
	EXPECT_EQ(0, b.j.depth);
	out(&b);
	EXPECT_EQ(2 * JSON_MAX_DEPTH + 1, strlen(b.text));
	EXPECT_EQ('\n', b.text[2 * JSON_MAX_DEPTH]);
	free(b.text);
}

TEST_HARNESS_MAIN
