// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <linux/kmig.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kmod/kmod_dev.h"
#include "base/ram.h"

int kmig_kmod_open(struct kmig_kmod *m, const char *dev_path, int vm_fd,
		   struct kmig_err *err)
{
	struct kmig_info info = { .size = sizeof(info) };
	struct kmig_attach at = { .size = sizeof(at), .vm_fd = vm_fd };
	int ret;

	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (!dev_path)
		dev_path = KMIG_DEVICE_PATH;
	m->fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return kmig_err_set(err, -errno, "open %s: %s%s", dev_path, strerror(errno),
				    errno == ENOENT ? " (kmig.ko not loaded)" : "");
	if (ioctl(m->fd, KMIG_GET_INFO, &info) < 0) {
		ret = kmig_err_set(err, -errno, "KMIG_GET_INFO on %s: %s", dev_path,
				   strerror(errno));
		goto fail;
	}
	if (info.api_version != KMIG_API_VERSION || info.page_size != KMIG_PAGE_SIZE) {
		ret = kmig_err_set(err, -EPROTO,
				   "%s: module API %u, page size %u; expected API %d, page size %u",
				   dev_path, info.api_version, info.page_size,
				   KMIG_API_VERSION, KMIG_PAGE_SIZE);
		goto fail;
	}
	if (ioctl(m->fd, KMIG_ATTACH_VM, &at) < 0) {
		ret = kmig_err_set(err, -errno, "KMIG_ATTACH_VM with VM fd %d: %s", vm_fd,
				   strerror(errno));
		goto fail;
	}
	m->api_version = info.api_version;
	m->features = info.features;
	m->page_size = info.page_size;
	m->max_batch_pages = info.max_batch_pages;
	m->vm_flags = at.vm_flags;
	return 0;
fail:
	kmig_kmod_close(m);
	return ret;
}

void kmig_kmod_close(struct kmig_kmod *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
}

bool kmig_kmod_has(const struct kmig_kmod *m, uint64_t features)
{
	return m->fd >= 0 && (m->features & features) == features;
}
