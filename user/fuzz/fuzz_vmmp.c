// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness for the VMM side of the VMM protocol
 * (vmm_proto_server.c): the input is a session, a list of request
 * messages sent over a real SOCK_SEQPACKET socketpair to
 * kmig_vmmp_server_serve(), with a thread draining the replies (and the
 * fds they carry). The VM is two memfds and three slots; the callbacks
 * trap if they ever see what the server promises they never see: a slot
 * that is not one of the VM's, a page range outside the slot, a device
 * state blob over the limit, a throttle over 99%.
 *
 * Byte 0 picks the mode. Bit 0: the harness sends a valid HELLO first (so
 * mutations reach the handlers). Bit 1: records are "type u16, payload
 * length u16, payload" and the harness writes a valid header around them
 * (magic, length, flags 0); without it records are "length u16, raw
 * message", header and all, so the envelope checks are fuzzed too.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kmig/vmm_proto_server.h"

#define PAGES0 200	/* slot 0: not a multiple of 64, for the tail rule */
#define PAGES1 64
#define PAGES2 3

static const struct kmig_vmmp_slot slots[] = {
	{ .slot = 0, .memfd = 0, .gpa = 0, .size = PAGES0 * 4096ULL },
	{ .slot = 1, .memfd = 0, .gpa = 1ULL << 30, .size = PAGES1 * 4096ULL,
	  .offset = PAGES0 * 4096ULL },
	{ .slot = (1U << 16) | 2, .memfd = 1, .gpa = 2ULL << 30,
	  .size = PAGES2 * 4096ULL },
};

static const struct kmig_vmmp_slot *our_slot(const struct kmig_vmmp_slot *s)
{
	/* The server passes its own copy: match by value, not pointer. */
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if (!memcmp(s, &slots[i], sizeof(*s)))
			return &slots[i];
	__builtin_trap();
}

static int op_log_set(void *ctx, const struct kmig_vmmp_slot *s, int enable,
		      struct kmig_vmmp_err *e)
{
	(void)ctx; (void)enable; (void)e;
	our_slot(s);
	return 0;
}

static int op_get_log(void *ctx, const struct kmig_vmmp_slot *s,
		      uint64_t *bitmap, struct kmig_vmmp_err *e)
{
	uint64_t pages = our_slot(s)->size / 4096;

	(void)ctx; (void)e;
	/* The whole bitmap must be writable: ASan catches a short buffer. */
	memset(bitmap, 0x5a, kmig_vmmp_bitmap_bytes(pages));
	return 0;
}

static int op_clear_log(void *ctx, const struct kmig_vmmp_slot *s, uint64_t first,
			uint64_t num, const uint64_t *bitmap, struct kmig_vmmp_err *e)
{
	uint64_t pages = our_slot(s)->size / 4096;
	volatile uint64_t sink = 0;

	(void)ctx; (void)e;
	if (!num || first >= pages || num > pages - first || first % 64)
		__builtin_trap();
	for (uint64_t i = 0; i < (num + 63) / 64; i++)
		sink += bitmap[i];
	return 0;
}

static int op_simple(void *ctx, struct kmig_vmmp_err *e)
{
	(void)ctx; (void)e;
	return 0;
}

static int op_get_dev(void *ctx, void **blob, size_t *len, struct kmig_vmmp_err *e)
{
	/* Big enough to need several chunks. */
	(void)ctx; (void)e;
	*len = 3 * KMIG_VMMP_CHUNK_MAX / 2;
	*blob = calloc(1, *len);
	return *blob ? 0 : kmig_vmmp_errf(e, -ENOMEM, "no memory");
}

static int op_set_dev(void *ctx, const void *blob, size_t len, struct kmig_vmmp_err *e)
{
	(void)ctx; (void)e;
	if (len > KMIG_VMMP_MAX_DEVSTATE || (len && !blob))
		__builtin_trap();
	return len % 2 ? kmig_vmmp_errf(e, -EINVAL, "odd blob") : 0;
}

static int op_throttle(void *ctx, uint32_t percent, uint32_t *prev,
		       struct kmig_vmmp_err *e)
{
	(void)ctx; (void)e;
	if (percent > 99)
		__builtin_trap();
	*prev = 0;
	return 0;
}

static int op_query(void *ctx, struct kmig_vmmp_status *st, struct kmig_vmmp_err *e)
{
	(void)ctx; (void)st; (void)e;
	return 0;
}

static int op_quit(void *ctx, uint32_t flags, struct kmig_vmmp_err *e)
{
	(void)ctx; (void)e;
	if (flags & ~KMIG_VMMP_QUIT_F_EXIT)
		__builtin_trap();
	return 0;
}

static const struct kmig_vmmp_ops ops = {
	.dirty_log_set = op_log_set, .get_dirty_log = op_get_log,
	.clear_dirty_log = op_clear_log, .pause = op_simple,
	.resume = op_simple, .commit = op_simple,
	.get_device_state = op_get_dev, .set_device_state = op_set_dev,
	.throttle = op_throttle, .query = op_query, .quit = op_quit,
};

/* Reads replies until the server closes its end; closes passed fds. */
static void *drain(void *arg)
{
	static __thread struct kmig_vmmp_msg m;
	int fd = *(int *)arg;

	while (!kmig_vmmp_msg_recv(fd, &m))
		kmig_vmmp_msg_drop_fds(&m);
	return NULL;
}

static int send_msg(int fd, const uint8_t *msg, uint32_t len)
{
	return send(fd, msg, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len ? 0 : -1;
}

static void send_hello(int fd)
{
	struct {
		struct kmig_vmmp_hdr h;
		struct kmig_vmmp_hello q;
	} m = {
		.h = { .magic = KMIG_VMMP_MAGIC, .type = KMIG_VMMP_HELLO,
		       .len = sizeof(m), .seq = 1 },
		.q = { .min_version = 1, .max_version = 1, .name = "fuzz" },
	};

	send_msg(fd, (const uint8_t *)&m, sizeof(m));
}

/* Sends the records of @d; stops at the first short record. */
static void send_records(int fd, const uint8_t *d, size_t n, int wrap)
{
	static uint8_t buf[KMIG_VMMP_MAX_MSG];
	uint32_t seq = 2;

	while (n >= 4) {
		uint16_t a, b;

		memcpy(&a, d, 2);
		memcpy(&b, d + 2, 2);
		if (wrap) {
			struct kmig_vmmp_hdr h = {
				.magic = KMIG_VMMP_MAGIC, .type = a,
				.len = (uint32_t)(sizeof(h) + b), .seq = seq++,
			};

			if (b > n - 4 || sizeof(h) + b > sizeof(buf))
				return;
			memcpy(buf, &h, sizeof(h));
			memcpy(buf + sizeof(h), d + 4, b);
			if (send_msg(fd, buf, h.len))
				return;
			d += 4 + b;
			n -= 4 + (size_t)b;
		} else {
			if (a > n - 2 || !a)
				return;
			if (send_msg(fd, d + 2, a))
				return;
			d += 2 + a;
			n -= 2 + (size_t)a;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int memfds[2] = { -1, -1 };
	static struct kmig_vmmp_server *srv;
	struct kmig_vmmp_vm vm = {
		.name = "fuzz-vmm", .vm_fd = -1, .memfds = memfds, .nr_memfds = 2,
		.slots = slots, .nr_slots = 3, .nr_vcpus = 1,
		.vm_flags = KMIG_VMMP_VM_F_MANUAL_PROTECT,
	};
	pthread_t th;
	int sv[2];

	if (!size || size > 65536)
		return 0;
	if (!srv) {
		/* One VM for the whole run; each input is a new connection. */
		memfds[0] = memfd_create("fuzz-ram0", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		memfds[1] = memfd_create("fuzz-ram1", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		vm.vm_fd = memfd_create("fuzz-vm", MFD_CLOEXEC);
		if (memfds[0] < 0 || memfds[1] < 0 || vm.vm_fd < 0 ||
		    ftruncate(memfds[0], (PAGES0 + PAGES1) * 4096ULL) ||
		    ftruncate(memfds[1], PAGES2 * 4096ULL) ||
		    fcntl(memfds[0], F_ADD_SEALS, F_SEAL_SHRINK) ||
		    fcntl(memfds[1], F_ADD_SEALS, F_SEAL_SHRINK) ||
		    kmig_vmmp_server_create(&vm, &ops, NULL, &srv))
			abort();
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		abort();
	if (pthread_create(&th, NULL, drain, &sv[0]))
		abort();
	/*
	 * The requests are queued before the server runs, so the socket
	 * buffer bounds how many fit; the server then sees EOF and returns.
	 */
	if (data[0] & 1)
		send_hello(sv[0]);
	send_records(sv[0], data + 1, size - 1, data[0] & 2);
	shutdown(sv[0], SHUT_WR);
	kmig_vmmp_server_serve(srv, sv[1], -1);
	close(sv[1]);
	pthread_join(th, NULL);
	close(sv[0]);
	return 0;
}
