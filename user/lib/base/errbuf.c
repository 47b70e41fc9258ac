// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/errbuf.h"

int kmig_err_set(struct kmig_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->code)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void kmig_err_prefix(struct kmig_err *e, const char *fmt, ...)
{
	char prefix[96], old[KMIG_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof(prefix), fmt, ap);
	va_end(ap);
	memcpy(old, e->msg, sizeof(old));
	/* Truncation is fine: the start of the message matters most. */
	if (snprintf(e->msg, sizeof(e->msg), "%s: %s", prefix, old) >= (int)sizeof(e->msg))
		e->msg[sizeof(e->msg) - 1] = '\0';
}

void kmig_err_clear(struct kmig_err *e)
{
	e->code = 0;
	e->msg[0] = '\0';
}
