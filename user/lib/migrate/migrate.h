/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Live migration, source side (`kmig migrate`, Documentation/migration.rst):
 * the precopy engine (precopy.h: its states, recovery and report) with the
 * multi-channel stream to a destination's `kmig incoming` as its sink. The
 * stream's prepare is the destination's PREPARED (the device state staged
 * at its VMM), its commit the COMMIT that lets the guest run there, until
 * the destination's RESUMED ends the downtime.
 */
#ifndef KMIG_MIGRATE_H
#define KMIG_MIGRATE_H

#include <stdio.h>

#include "precopy/precopy.h"
#include "stream/send.h"

struct kmig_migrate_opts {
	struct kmig_precopy_opts pc;	/* the source VMM, precopy, the module */
	const char *host, *port;	/* the destination's kmig incoming */
	struct kmig_send_opts stream;	/* channels, codec, bandwidth */
};

/* Defaults for everything but the VMM path and the destination. */
void kmig_migrate_opts_init(struct kmig_migrate_opts *o);
/* The engine with the stream to @o->host:@o->port as its sink; run,
 * cancel, statistics and destroy are the engine's (precopy.h). @o's
 * strings must stay valid until destroy. */
int kmig_migrate_create(struct kmig_precopy **out, const struct kmig_migrate_opts *o);

#endif /* KMIG_MIGRATE_H */
