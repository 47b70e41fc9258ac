// SPDX-License-Identifier: GPL-2.0
/* Live save: the precopy engine with a snapshot file as its sink. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate/save.h"

/* The factory and what it needs, owned by the engine. */
struct file_factory {
	struct kmig_sink_factory f;
	struct kmig_save_opts o;
	char io[160];			/* kmig_snap_writer_io() once created */
};

static struct file_factory *of(struct kmig_sink_factory *f)
{
	return (struct file_factory *)((char *)f - offsetof(struct file_factory, f));
}

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
	struct file_factory *ff = of(f);
	struct kmig_snap_wopts o = ff->o.w;
	struct kmig_snap_writer *w;
	struct kmig_err e = { 0 };
	int ret;

	o.live = !ff->o.pc.stopped;
	ret = kmig_snap_writer_create(&w, ff->o.path, &o, ram, &e);
	if (ret) {
		snprintf(err, errlen, "%s", e.msg);
		return ret;
	}
	snprintf(ff->io, sizeof(ff->io), "%s", kmig_snap_writer_io(w));
	*out = (struct kmig_sink){ &kmig_snap_sink_ops, w };
	return 0;
}

static void release(struct kmig_sink_factory *f)
{
	free(of(f));
}

int kmig_save_create(struct kmig_precopy **out, const struct kmig_save_opts *o)
{
	struct file_factory *ff;
	int ret;

	if (!o->path)
		return -EINVAL;
	ff = calloc(1, sizeof(*ff));
	if (!ff)
		return -ENOMEM;
	ff->o = *o;
	ff->f = (struct kmig_sink_factory){ .open = open_file, .release = release };
	ret = kmig_precopy_create(out, &o->pc, &ff->f);
	if (ret)
		free(ff);
	return ret;
}

const char *kmig_save_io(struct kmig_precopy *pc)
{
	return of(kmig_precopy_factory(pc))->io;
}
