// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>

#include "vmmp/ram_vmm.h"

int kmig_ram_from_vmm(struct kmig_ram *ram, const struct kmig_vmmp_memmap *mm, bool writable)
{
	int ret = 0;

	if (ram->nr || !mm->nr_slots || mm->nr_slots > KMIG_MAX_BLOCKS)
		return -EINVAL;
	for (uint32_t i = 0; i < mm->nr_slots && !ret; i++) {
		const struct kmig_vmmp_memslot *s = &mm->slots[i];
		char name[KMIG_BLOCK_NAME_MAX + 1];
		unsigned int id;

		snprintf(name, sizeof(name), "slot%u", s->slot);
		/* The protocol library checked memfd index and range. */
		ret = kmig_ram_add_fd_range(ram, name, mm->memfds[s->memfd], s->offset, s->size,
					    writable, &id);
		if (!ret)
			ram->blocks[id].slot = s->slot;
	}
	if (ret)
		kmig_ram_free(ram);
	return ret;
}
