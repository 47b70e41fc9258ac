/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Module client: one /dev/kmig session attached to one KVM VM, for the
 * dirty harvest (kmod_harvest.h), the zero scan (kmod_zscan.h) and the
 * deferred dirty-log stop (kmod_logstop.h).
 *
 * The VM fd may be one the VMM passed over a unix socket: possession of it
 * is the authority. A session is owned by one thread at a time; open one
 * per thread that harvests. No global state.
 */
#ifndef KMIG_KMOD_DEV_H
#define KMIG_KMOD_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "base/errbuf.h"

struct kmig_kmod {
	int fd;			/* the /dev/kmig session, -1 when closed */
	uint32_t api_version;	/* from KMIG_GET_INFO */
	uint64_t features;	/* KMIG_FEAT_* */
	uint32_t page_size;
	uint32_t max_batch_pages;
	uint32_t vm_flags;	/* KMIG_VM_F_* at attach time */
};

/*
 * Opens @dev_path (NULL: /dev/kmig), checks the API version and attaches
 * @vm_fd. Returns 0 or -errno with @err explaining: -ENOENT when the
 * module is not loaded (callers then use the userspace fallback:
 * KVM_GET_DIRTY_LOG / KVM_SET_USER_MEMORY_REGION), -EPROTO for an API
 * version or page size this library does not speak.
 */
int kmig_kmod_open(struct kmig_kmod *m, const char *dev_path, int vm_fd,
		   struct kmig_err *err);
void kmig_kmod_close(struct kmig_kmod *m);

/* Does the module implement all of @features (KMIG_FEAT_*)? */
bool kmig_kmod_has(const struct kmig_kmod *m, uint64_t features);

#endif /* KMIG_KMOD_DEV_H */
