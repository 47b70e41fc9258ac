// SPDX-License-Identifier: GPL-2.0
/* Live migration: the precopy engine with the stream as its sink. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

struct kmig_migrate {
	struct kmig_migrate_opts o;
	struct kmig_sink_factory f;
	struct kmig_precopy *pc;
};

static struct kmig_migrate *of_factory(struct kmig_sink_factory *f)
{
	return (struct kmig_migrate *)((char *)f - offsetof(struct kmig_migrate, f));
}

void kmig_migrate_opts_init(struct kmig_migrate_opts *o)
{
	memset(o, 0, sizeof(*o));
	kmig_precopy_opts_init(&o->pc);
	o->pc.client = "kmig migrate";
	kmig_send_opts_init(&o->stream);
}

/* A stream with the live-migration handshake (PREPARED/COMMIT/RESUMED). */
static int open_stream(struct kmig_sink_factory *f, const struct kmig_ram *ram,
		       struct kmig_sink *out, char *err, size_t errlen)
{
	struct kmig_migrate *m = of_factory(f);
	struct kmig_send_opts so = m->o.stream;
	struct kmig_send *s;
	int ret;

	so.switchover = 1;
	ret = kmig_send_create(&s, &so, ram);
	if (ret) {
		snprintf(err, errlen, "creating the stream: %s", strerror(-ret));
		return ret;
	}
	*out = (struct kmig_sink){ &kmig_sink_send_ops, s };
	return 0;
}

static int connect_stream(struct kmig_sink_factory *f, struct kmig_sink *k, char *err,
			  size_t errlen)
{
	struct kmig_migrate *m = of_factory(f);
	int ret = kmig_send_connect(k->p, m->o.host, m->o.port);

	if (ret)
		snprintf(err, errlen, "connecting to the destination %s:%s: %s", m->o.host,
			 m->o.port, kmig_send_error(k->p));
	return ret;
}

int kmig_migrate_create(struct kmig_migrate **out, const struct kmig_migrate_opts *o)
{
	struct kmig_migrate *m;
	int ret;

	if (!o->host || !o->port)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->o = *o;
	m->f = (struct kmig_sink_factory){ .open = open_stream, .start = connect_stream };
	ret = kmig_precopy_create(&m->pc, &o->pc);
	if (ret) {
		free(m);
		return ret;
	}
	*out = m;
	return 0;
}

int kmig_migrate_run(struct kmig_migrate *m)
{
	return kmig_precopy_run(m->pc, &m->f);
}

int kmig_migrate_cancel(struct kmig_migrate *m, const char *why)
{
	return kmig_precopy_cancel(m->pc, why);
}

void kmig_migrate_stats(struct kmig_migrate *m, struct kmig_migrate_stats *st)
{
	kmig_precopy_stats(m->pc, st);
}

void kmig_migrate_destroy(struct kmig_migrate *m)
{
	if (!m)
		return;
	kmig_precopy_destroy(m->pc);
	free(m);
}
