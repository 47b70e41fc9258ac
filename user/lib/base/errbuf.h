/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Error text that travels with a -errno: the errno says what kind of
 * failure, the text says what was received and what was expected.
 */
#ifndef KMIG_ERRBUF_H
#define KMIG_ERRBUF_H

#include <stddef.h>

#define KMIG_ERR_MAX 256

struct kmig_err {
	int code;		/* first error, -errno; 0 if none */
	char msg[KMIG_ERR_MAX];
};

/* Record -errno @code with a formatted message; returns @code so callers
 * can write "return kmig_err_set(e, -EPROTO, ...)". Only the first error
 * is kept: later ones are consequences of it. */
int kmig_err_set(struct kmig_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prefix the existing message, e.g. with the channel and packet number. */
void kmig_err_prefix(struct kmig_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void kmig_err_clear(struct kmig_err *e);

#endif /* KMIG_ERRBUF_H */
