// SPDX-License-Identifier: GPL-2.0
/* Snapshot file I/O: O_DIRECT or buffered, whole transfers (snap_io.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "snap/snap_fmt.h"
#include "snap/snap_io.h"

void *kmig_snap_alloc(uint64_t len)
{
	uint64_t n = kmig_snap_align_up(len ? len : 1, KMIG_SNAP_ALIGN);
	void *p;

	if (n < len || posix_memalign(&p, KMIG_SNAP_ALIGN, n))
		return NULL;
	memset(p, 0, n);
	return p;
}

int kmig_snap_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -EIO;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

int kmig_snap_pread(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (!n)
			return -ENODATA;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Does an aligned write work on this O_DIRECT fd? */
static int probe(int fd)
{
	void *buf = kmig_snap_alloc(KMIG_SNAP_ALIGN);
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = kmig_snap_pwrite(fd, buf, KMIG_SNAP_ALIGN, 0);
	free(buf);
	return ret;
}

/*
 * open() that never blocks and takes regular files only: a FIFO (or a
 * symlink to one) would block open() until a writer came, and a device
 * is no snapshot. -EINVAL for anything but a regular file.
 */
static int open_regular(const char *path, int flags)
{
	int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0600), ret = 0, fl;
	struct stat st;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK))
		ret = -errno;
	if (ret) {
		close(fd);
		return ret;
	}
	return fd;
}

int kmig_snap_file_open(struct kmig_snap_file *f, const char *path, int flags, bool buffered,
			bool probe_write)
{
	int ret = 0;

	f->direct = !buffered;
	f->fd = buffered ? -EINVAL : open_regular(path, flags | O_DIRECT);
	if (f->fd < 0 && !buffered && f->fd != -EINVAL)
		return f->fd;
	if (f->fd >= 0 && probe_write) {
		ret = probe(f->fd);
		if (ret && ret != -EINVAL)
			return ret;
		if (ret) {
			close(f->fd);
			f->fd = -1;
		}
	}
	if (f->fd >= 0) {
		snprintf(f->io, sizeof(f->io), "O_DIRECT");
		return 0;
	}
	f->direct = false;
	snprintf(f->io, sizeof(f->io), "buffered: %s", buffered ? "asked for" :
		 ret ? "the filesystem refuses O_DIRECT writes (EINVAL)" :
		 "the filesystem refuses O_DIRECT (EINVAL at open)");
	f->fd = open_regular(path, flags);
	return f->fd < 0 ? f->fd : 0;
}

void kmig_snap_file_close(struct kmig_snap_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}
