// SPDX-License-Identifier: GPL-2.0
/* Live migration: the precopy engine with the stream as its sink. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/migrate.h"

/* The factory and what it needs, owned by the engine. */
struct stream_factory {
	struct kmig_sink_factory f;
	struct kmig_migrate_opts o;
};

static struct stream_factory *of(struct kmig_sink_factory *f)
{
	return (struct stream_factory *)((char *)f - offsetof(struct stream_factory, f));
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
	struct kmig_send_opts so = of(f)->o.stream;
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
	const struct kmig_migrate_opts *o = &of(f)->o;
	int ret = kmig_send_connect(k->p, o->host, o->port);

	if (ret)
		snprintf(err, errlen, "connecting to the destination %s:%s: %s", o->host, o->port,
			 kmig_send_error(k->p));
	return ret;
}

static void release(struct kmig_sink_factory *f)
{
	free(of(f));
}

int kmig_migrate_create(struct kmig_precopy **out, const struct kmig_migrate_opts *o)
{
	struct stream_factory *sf;
	int ret;

	if (!o->host || !o->port)
		return -EINVAL;
	sf = calloc(1, sizeof(*sf));
	if (!sf)
		return -ENOMEM;
	sf->o = *o;
	sf->f = (struct kmig_sink_factory){ .open = open_stream, .start = connect_stream,
					    .release = release };
	ret = kmig_precopy_create(out, &o->pc, &sf->f);
	if (ret)
		free(sf);
	return ret;
}
