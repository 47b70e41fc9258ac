// SPDX-License-Identifier: GPL-2.0
/* The kmig command's JSON writer (json.h). */
#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "json.h"

void json_init(struct json *j, FILE *f, bool compact)
{
	*j = (struct json){ .f = f, .compact = compact };
}

/* Length of the valid UTF-8 sequence at @s (1..4), or 0 if @s[0] does not
 * start one: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int utf8_len(const unsigned char *s)
{
	unsigned char lo = 0x80, hi = 0xbf;
	int n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	/* The second byte's range excludes what the lead byte makes invalid. */
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (int i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

void json_write_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)(str ? str : "");

	fputc('"', f);
	while (*s) {
		int n = utf8_len(s);

		if (*s == '"' || *s == '\\') {
			fputc('\\', f);
			fputc(*s, f);
		} else if (*s == '\n') {
			fputs("\\n", f);
		} else if (*s == '\t') {
			fputs("\\t", f);
		} else if (*s == '\r') {
			fputs("\\r", f);
		} else if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
		} else if (!n) {
			fputs("\\ufffd", f);
			n = 1;
		} else {
			fwrite(s, 1, n, f);
		}
		s += n ? n : 1;
	}
	fputc('"', f);
}

/* The separator and the key before a value; false (nothing written) on
 * misuse. */
static bool prefix(struct json *j, const char *key)
{
	bool in_obj = j->depth && !j->array[j->depth - 1];

	if (in_obj != !!key) {
		j->err = j->err ?: -EINVAL;
		return false;
	}
	if (j->depth && j->used[j->depth - 1])
		fputs(j->compact ? "," : ", ", j->f);
	if (j->depth)
		j->used[j->depth - 1] = true;
	if (key) {
		json_write_string(j->f, key);
		fputs(j->compact ? ":" : ": ", j->f);
	}
	return true;
}

/* After a value: at the top level it ends the line. */
static void suffix(struct json *j)
{
	if (!j->depth)
		fputc('\n', j->f);
}

static void open_level(struct json *j, const char *key, bool array)
{
	if (j->depth >= JSON_MAX_DEPTH) {
		j->err = j->err ?: -EINVAL;
		return;
	}
	if (!prefix(j, key))
		return;
	fputc(array ? '[' : '{', j->f);
	j->array[j->depth] = array;
	j->used[j->depth] = false;
	j->depth++;
}

void json_obj(struct json *j, const char *key)
{
	open_level(j, key, false);
}

void json_arr(struct json *j, const char *key)
{
	open_level(j, key, true);
}

void json_end(struct json *j)
{
	if (!j->depth) {
		j->err = j->err ?: -EINVAL;
		return;
	}
	j->depth--;
	fputc(j->array[j->depth] ? ']' : '}', j->f);
	suffix(j);
}

void json_str(struct json *j, const char *key, const char *v)
{
	if (!prefix(j, key))
		return;
	json_write_string(j->f, v);
	suffix(j);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
	if (!prefix(j, key))
		return;
	fprintf(j->f, "%" PRIu64, v);
	suffix(j);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
	if (!prefix(j, key))
		return;
	fprintf(j->f, "%" PRId64, v);
	suffix(j);
}

void json_double(struct json *j, const char *key, double v, int decimals)
{
	if (!prefix(j, key))
		return;
	if (isfinite(v))
		fprintf(j->f, "%.*f", decimals, v);
	else
		fputs("null", j->f);
	suffix(j);
}

void json_bool(struct json *j, const char *key, bool v)
{
	if (!prefix(j, key))
		return;
	fputs(v ? "true" : "false", j->f);
	suffix(j);
}

void json_null(struct json *j, const char *key)
{
	if (!prefix(j, key))
		return;
	fputs("null", j->f);
	suffix(j);
}
