/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Snapshot file I/O: open with O_DIRECT or, where the filesystem refuses
 * it, buffered (with the reason); whole-buffer pread/pwrite that retry
 * short transfers and EINTR; 4 KiB-aligned buffers for metadata.
 */
#ifndef KMIG_SNAP_IO_H
#define KMIG_SNAP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kmig_snap_file {
	int fd;
	bool direct;		/* opened with O_DIRECT */
	char io[160];		/* "O_DIRECT" or "buffered: <why>" */
};

/*
 * Open @path with @flags (O_RDONLY, or O_RDWR | O_CREAT | O_TRUNC), adding
 * O_DIRECT unless @buffered. If the open with O_DIRECT fails with EINVAL,
 * or @probe_write is set and an aligned 4 KiB write at offset 0 fails with
 * EINVAL, the file is used buffered. -EINVAL if @path is not a regular
 * file (a FIFO or device is refused without blocking in open()), -errno
 * on any other failure.
 */
int kmig_snap_file_open(struct kmig_snap_file *f, const char *path, int flags, bool buffered,
			bool probe_write);
void kmig_snap_file_close(struct kmig_snap_file *f);

/* The whole of [buf, buf + len) at @off: 0, or -errno (-EIO for a write
 * that makes no progress, -ENODATA for a read past the end). */
int kmig_snap_pwrite(int fd, const void *buf, size_t len, uint64_t off);
int kmig_snap_pread(int fd, void *buf, size_t len, uint64_t off);

/* @len rounded up to 4 KiB, zero-filled, 4 KiB aligned; NULL if no memory. */
void *kmig_snap_alloc(uint64_t len);

#endif /* KMIG_SNAP_IO_H */
