// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the helper side of the VMM protocol
 * (vmm_proto_client.c): the input is what a VMM answers. A thread plays
 * the VMM on a real SOCK_SEQPACKET socketpair: it takes each request the
 * client sends and answers with the next record of the input (closing the
 * socket when they run out), while the client makes the calls of a whole
 * migration: HELLO, GET_SLOTS (with file descriptors), mapping and
 * writing every slot, dirty-log requests, PAUSE, QUERY, THROTTLE, device
 * state both ways, COMMIT, RESUME, QUIT. Whatever the replies, the client
 * must not crash, read or write out of bounds (ASan), hang (its timeout
 * is short), or return success for what it promises to check: a slot
 * outside its memfd, an unsealed memfd, a bitmap larger than the caller's
 * buffer, a device state over the limit.
 *
 * Byte 0 is unused (kept for future modes). Each record: u8 kind, u16
 * len, len bytes. kind & 3: 0 the bytes are the whole message; 1 the
 * harness writes the header (type and seq of the request, the REPLY flag,
 * length) and the bytes follow it (status and payload); 2 header and a
 * success status, then the bytes as the payload; 3 header and an error
 * status (errno 1 + bytes[0] % 133), the rest as its text. kind & 4: the
 * reply carries file descriptors: a VM fd, the bitmap buffer, and
 * (kind >> 3) & 7 RAM memfds of 64 KiB, sealed against shrinking unless
 * kind & 0x40.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmig/vmm_proto_client.h"

#define MEMFD_SIZE	(64 << 10)

struct vmm {
	int fd;
	const uint8_t *d;
	size_t n;
};

static int vm_fd = -1, bitmap_fd = -1, sealed_fd = -1, unsealed_fd = -1;

static int make_memfd(const char *name, int seal)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, MEMFD_SIZE) ||
	    (seal && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)))
		abort();
	return fd;
}

static void make_fds(void)
{
	if (vm_fd >= 0)
		return;
	vm_fd = make_memfd("fuzz-vm", 0);
	bitmap_fd = make_memfd("fuzz-bitmap", 1);
	sealed_fd = make_memfd("fuzz-ram", 1);
	unsealed_fd = make_memfd("fuzz-ram-unsealed", 0);
}

/* The reply to request @q from the record at v->d, or 0 if none is left. */
static int next_reply(struct vmm *v, const struct kmig_vmmp_hdr *q, uint8_t *buf)
{
	struct kmig_vmmp_hdr h = {
		.magic = KMIG_VMMP_MAGIC, .type = q->type, .flags = KMIG_VMMP_HDR_F_REPLY,
		.seq = q->seq,
	};
	struct kmig_vmmp_reply st = { .duration_ns = 1000 };
	int fds[KMIG_VMMP_FIXED_FDS + 7], nr_fds = 0;
	uint32_t off = sizeof(h);
	uint16_t len;
	uint8_t kind;

	if (v->n < 3)
		return 0;
	kind = v->d[0];
	memcpy(&len, v->d + 1, 2);
	if (len > v->n - 3)
		return 0;
	if ((kind & 3) == 0) {
		off = 0;
	} else if ((kind & 3) >= 2 && len <= KMIG_VMMP_MAX_MSG - sizeof(h) - sizeof(st)) {
		if ((kind & 3) == 3) {
			st.error = 1 + (len ? v->d[3] % 133 : 0);
			st.text_len = len ? len - 1u : 0;
		}
		memcpy(buf + off, &st, sizeof(st));
		off += sizeof(st);
	}
	if (off + (uint32_t)len > KMIG_VMMP_MAX_MSG)
		return 0;
	memcpy(buf + off, v->d + 3, len);
	v->d += 3 + (size_t)len;
	v->n -= 3 + (size_t)len;
	h.len = off + len;
	if (off)
		memcpy(buf, &h, sizeof(h));
	if (kind & 4) {
		fds[nr_fds++] = vm_fd;
		fds[nr_fds++] = bitmap_fd;
		for (int i = 0; i < ((kind >> 3) & 7); i++)
			fds[nr_fds++] = kind & 0x40 ? unsealed_fd : sealed_fd;
	}
	/* A zero-length message is a hang-up: the client must take it as one. */
	return kmig_vmmp_msg_send(v->fd, buf, off + len, fds, nr_fds) ? 0 : 1;
}

static void *vmm_main(void *arg)
{
	static struct kmig_vmmp_msg rx;
	static uint8_t buf[KMIG_VMMP_MAX_MSG];
	struct vmm *v = arg;

	while (!kmig_vmmp_msg_recv(v->fd, &rx)) {
		kmig_vmmp_msg_drop_fds(&rx);
		if (rx.len < sizeof(struct kmig_vmmp_hdr) || !next_reply(v, &rx.buf.hdr, buf))
			break;
	}
	shutdown(v->fd, SHUT_RDWR);
	return NULL;
}

/* GET_SLOTS succeeded: every promise the client makes about the memmap. */
static void check_memmap(struct kmig_vmmp_memmap *m)
{
	for (uint32_t i = 0; i < m->nr_memfds; i++) {
		int seals = fcntl(m->memfds[i], F_GET_SEALS);

		if (seals < 0 || !(seals & F_SEAL_SHRINK))
			__builtin_trap();
	}
	for (uint32_t i = 0; i < m->nr_slots; i++) {
		const struct kmig_vmmp_memslot *s = &m->slots[i];
		struct stat st;

		if (s->memfd >= m->nr_memfds || fstat(m->memfds[s->memfd], &st) ||
		    s->offset + s->size < s->offset || s->offset + s->size > (uint64_t)st.st_size)
			__builtin_trap();
	}
	if (kmig_vmmp_memmap_map(m, PROT_READ | PROT_WRITE))
		return;
	/* Every byte of every slot is there: a SIGBUS here is a finding. */
	for (uint32_t i = 0; i < m->nr_slots; i++)
		memset(m->slots[i].host, 0x5a, m->slots[i].size);
}

static void session(struct kmig_vmmp_client *c)
{
	static uint64_t bitmap[1024];
	struct kmig_vmmp_memmap *m;
	struct kmig_vmmp_status st;
	uint64_t dirty, pages;
	uint32_t prev;
	void *blob;
	size_t len;

	if (!kmig_vmmp_get_slots(c, &m)) {
		check_memmap(m);
		kmig_vmmp_memmap_free(m);
	}
	kmig_vmmp_dirty_log_start(c, NULL, 0);
	if (!kmig_vmmp_get_dirty_log(c, 0, bitmap, 1024, &dirty, &pages) &&
	    (pages > 1024 * 64 || dirty > pages))
		__builtin_trap();
	kmig_vmmp_clear_dirty_log(c, 0, 0, 64, bitmap);
	kmig_vmmp_pause(c);
	kmig_vmmp_query(c, &st);
	kmig_vmmp_throttle(c, 50, &prev);
	if (!kmig_vmmp_get_device_state(c, &blob, &len)) {
		if (!blob || !len || len > KMIG_VMMP_MAX_DEVSTATE)
			__builtin_trap();
		free(blob);
	}
	kmig_vmmp_set_device_state(c, bitmap, sizeof(bitmap));
	kmig_vmmp_commit(c);
	kmig_vmmp_resume(c);
	kmig_vmmp_dirty_log_stop(c, NULL, 0);
	kmig_vmmp_quit(c, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Short: the harness answers at once or hangs up; a wait that runs
	 * into the bound is a finding of its own kind (seen as slowness). */
	struct kmig_vmmp_client_opts o = { .name = "fuzz", .timeout_ms = 2000 };
	struct kmig_vmmp_client *c;
	struct vmm v = { .d = data + 1, .n = size ? size - 1 : 0 };
	pthread_t th;
	int sv[2];

	if (!size || size > 65536)
		return 0;
	make_fds();
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	v.fd = sv[1];
	if (pthread_create(&th, NULL, vmm_main, &v))
		abort();
	if (!kmig_vmmp_client_open_opts(sv[0], &o, &c)) {	/* takes sv[0] */
		session(c);
		kmig_vmmp_client_close(c);
	}
	pthread_join(th, NULL);
	close(sv[1]);
	return 0;
}
