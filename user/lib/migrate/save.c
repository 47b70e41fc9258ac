// SPDX-License-Identifier: GPL-2.0
/* Live save: the precopy engine with a snapshot file as its sink. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/save.h"

struct kmig_save {
	struct kmig_save_opts o;
	struct kmig_sink_factory f;
	struct kmig_precopy *pc;
	char io[160];			/* kmig_snap_writer_io() once created */
};

void kmig_save_opts_init(struct kmig_save_opts *o)
{
	memset(o, 0, sizeof(*o));
	kmig_precopy_opts_init(&o->pc);
	o->pc.client = "kmig save";
	o->pc.resume_source = true;
	kmig_snap_wopts_init(&o->w);
}

static int open_file(struct kmig_sink_factory *f, const struct kmig_ram *ram,
		     struct kmig_sink *out, char *err, size_t errlen)
{
	struct kmig_save *s = (struct kmig_save *)((char *)f - offsetof(struct kmig_save, f));
	struct kmig_snap_wopts o = s->o.w;
	struct kmig_snap_writer *w;
	struct kmig_err e = { 0 };
	int ret;

	o.live = !s->o.pc.stopped;
	ret = kmig_snap_writer_create(&w, s->o.path, &o, ram, &e);
	if (ret) {
		snprintf(err, errlen, "%s", e.msg);
		return ret;
	}
	snprintf(s->io, sizeof(s->io), "%s", kmig_snap_writer_io(w));
	*out = (struct kmig_sink){ &kmig_snap_sink_ops, w };
	return 0;
}

int kmig_save_create(struct kmig_save **out, const struct kmig_save_opts *o)
{
	struct kmig_save *s;
	int ret;

	if (!o->path)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	s->f = (struct kmig_sink_factory){ .open = open_file };
	ret = kmig_precopy_create(&s->pc, &o->pc);
	if (ret) {
		free(s);
		return ret;
	}
	*out = s;
	return 0;
}

int kmig_save_run(struct kmig_save *s)
{
	return kmig_precopy_run(s->pc, &s->f);
}

int kmig_save_cancel(struct kmig_save *s, const char *why)
{
	return kmig_precopy_cancel(s->pc, why);
}

void kmig_save_stats(struct kmig_save *s, struct kmig_migrate_stats *st)
{
	kmig_precopy_stats(s->pc, st);
}

const char *kmig_save_io(const struct kmig_save *s)
{
	return s->io;
}

void kmig_save_destroy(struct kmig_save *s)
{
	if (!s)
		return;
	kmig_precopy_destroy(s->pc);
	free(s);
}
