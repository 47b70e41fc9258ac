/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stream blocks for a VMM's memslots (what GET_SLOTS returned): block i is
 * slot i, named "slot<KVM slot id>", a range of the slot's memfd. Source
 * and destination VMMs with the same layout produce the same block table,
 * which the receiver checks (names and sizes, in order).
 */
#ifndef KMIG_RAM_VMM_H
#define KMIG_RAM_VMM_H

#include <stdbool.h>

#include "base/ram.h"
#include "kmig/vmm_proto_client.h"

/* @ram must be empty; on failure it is left empty. */
int kmig_ram_from_vmm(struct kmig_ram *ram, const struct kmig_vmmp_memmap *mm, bool writable);

#endif /* KMIG_RAM_VMM_H */
