/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The units every page writer shares (the stream's channels, the snapshot
 * writer's and reader's threads): the chunk, which is the unit of work and
 * of thread affinity, and the most worker threads one transfer may have.
 * The stream's wire format and the snapshot format both build on these.
 */
#ifndef KMIG_PAGES_H
#define KMIG_PAGES_H

/* Pages per chunk: the unit of thread (channel) affinity and the most pages
 * one packet describes. A multiple of 64 so that a receiver's written-bitmap
 * word belongs to one thread. */
#define KMIG_CHUNK_PAGES	128
/* Worker threads (stream channels, snapshot writers or readers). */
#define KMIG_MAX_WORKERS	64

#endif /* KMIG_PAGES_H */
