/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one JSON writer of the kmig command: every --json report, the
 * migrate-status answer and kmig monitor's event lines go through it, so
 * escaping and separators are written once (iproute2's json_print has the
 * same role).
 *
 * The writer tracks nesting itself: a value inside an object takes a key,
 * a value inside an array or at the top level takes NULL. Closing the
 * outermost object or array ends the line. Misuse (a key where none
 * belongs, a missing key, nesting deeper than JSON_MAX_DEPTH, an end
 * without a begin) writes nothing and sets @err to -EINVAL, so a unit test
 * catches it. Several top-level values make JSON lines (kmig monitor).
 *
 * Strings: quotes, backslashes and control characters (U+0000..U+001F,
 * DEL) are escaped; valid UTF-8 passes through; each byte that is not part
 * of a valid UTF-8 sequence becomes U+FFFD, so the output is always valid
 * UTF-8 (a path with a Latin-1 byte does not break a JSON parser).
 */
#ifndef KMIG_CLI_JSON_H
#define KMIG_CLI_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	bool compact;			/* "a":1,"b":2 instead of "a": 1, "b": 2 */
	unsigned int depth;		/* open objects and arrays */
	bool array[JSON_MAX_DEPTH];	/* level i+1 is an array (else an object) */
	bool used[JSON_MAX_DEPTH];	/* level i+1 has a value already */
	int err;			/* first misuse: -EINVAL */
};

void json_init(struct json *j, FILE *f, bool compact);

/* Open an object or an array (@key: see above); json_end() closes the
 * innermost one. */
void json_obj(struct json *j, const char *key);
void json_arr(struct json *j, const char *key);
void json_end(struct json *j);

/* Values. A NULL @v of json_str() is written as "" (the reports' fields
 * that were never set). */
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
/* With @decimals digits after the point; NaN and infinities (not JSON
 * numbers) as null. */
void json_double(struct json *j, const char *key, double v, int decimals);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);

/* @s as a JSON string literal (with the quotes) on @f. */
void json_write_string(FILE *f, const char *s);

#endif /* KMIG_CLI_JSON_H */
