/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig VMM protocol, VMM side: serve a helper's requests with one call.
 *
 * The library does the framing, the handshake, every validation (lengths,
 * counts, flags, reserved fields, slot ids, page ranges with overflow-safe
 * arithmetic, device-state chunk order), the bitmap buffer memfd, the fd
 * passing, and the timing of each request. The VMM supplies the KVM work as
 * callbacks that only ever see validated arguments:
 *
 *	static const struct kmig_vmmp_ops ops = { .pause = my_pause, ... };
 *	struct kmig_vmmp_vm vm = { .vm_fd = ..., .slots = ..., ... };
 *	kmig_vmmp_server_create(&vm, &ops, my_ctx, &srv);
 *	for (;;) {
 *		int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
 *		ret = kmig_vmmp_server_serve(srv, conn, cancel_fd);
 *		close(conn);
 *	}
 *	kmig_vmmp_server_destroy(srv);
 *
 * Guest RAM memfds must be sealed with F_SEAL_SHRINK before
 * kmig_vmmp_server_create() (memfd_create(MFD_ALLOW_SEALING), ftruncate,
 * fcntl(F_ADD_SEALS, F_SEAL_SHRINK)): the helper maps them, and a memfd
 * that shrank under its mapping would kill it with SIGBUS. Helpers refuse
 * unsealed memfds.
 *
 * Every wait on a client is bounded: a new connection must complete
 * HELLO, and a client must take each reply, within the server's timeout
 * (KMIG_VMMP_SERVER_TIMEOUT_MS unless set), or the session ends with
 * -ETIMEDOUT. After HELLO a session may stay idle without limit (a
 * destination helper waits for its source).
 *
 * Who may connect: a helper receives the VM fd and guest memory, so only
 * the VMM's own user (its effective uid) and root. Create the listening
 * socket owner-only (bind() under umask 077, as kmig-vmm does);
 * kmig_vmmp_server_serve() also checks the peer's uid with SO_PEERCRED
 * and refuses anyone else with -EACCES before reading a byte.
 *
 * Callbacks return 0 or -errno; on error they may explain with
 * kmig_vmmp_errf(err, ...), which the helper receives as the error text.
 * A NULL callback makes its request fail with EOPNOTSUPP. Callbacks run on
 * the thread that called kmig_vmmp_server_serve().
 */
#ifndef KMIG_VMM_PROTO_SERVER_H
#define KMIG_VMM_PROTO_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "kmig/vmm_proto.h"

struct kmig_vmmp_err {
	char msg[KMIG_VMMP_TEXT_MAX];
};

/* Sets the error text; returns @err (a negative errno) for `return` use. */
int kmig_vmmp_errf(struct kmig_vmmp_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One memslot as the VMM registers it with KVM. */
struct kmig_vmmp_slot {
	uint32_t slot;		/* KVM slot: (address space << 16) | id */
	uint32_t memfd;		/* index into kmig_vmmp_vm.memfds */
	uint64_t gpa;
	uint64_t size;		/* bytes, multiple of 4096 */
	uint64_t offset;	/* in the memfd, multiple of 4096 */
};

struct kmig_vmmp_vm {
	const char *name;	/* sent in HELLO, e.g. "kmig-vmm" */
	int vm_fd;
	const int *memfds;
	uint32_t nr_memfds;
	const struct kmig_vmmp_slot *slots;
	uint32_t nr_slots;
	uint32_t nr_vcpus;
	uint32_t vm_flags;	/* KMIG_VMMP_VM_F_* */
};

struct kmig_vmmp_ops {
	/* Turn KVM_MEM_LOG_DIRTY_PAGES on or off for one slot. */
	int (*dirty_log_set)(void *ctx, const struct kmig_vmmp_slot *s,
			     int enable, struct kmig_vmmp_err *e);
	/* KVM_GET_DIRTY_LOG into @bitmap (bitmap_bytes of the slot). */
	int (*get_dirty_log)(void *ctx, const struct kmig_vmmp_slot *s,
			     uint64_t *bitmap, struct kmig_vmmp_err *e);
	/* KVM_CLEAR_DIRTY_LOG; @bitmap bit i is page @first + i. */
	int (*clear_dirty_log)(void *ctx, const struct kmig_vmmp_slot *s,
			       uint64_t first, uint64_t num,
			       const uint64_t *bitmap, struct kmig_vmmp_err *e);
	/* Return only when every vCPU is out of KVM_RUN. */
	int (*pause)(void *ctx, struct kmig_vmmp_err *e);
	int (*resume)(void *ctx, struct kmig_vmmp_err *e);
	/* A new blob in *blob (malloc'd; the library frees it). */
	int (*get_device_state)(void *ctx, void **blob, size_t *len,
				struct kmig_vmmp_err *e);
	/* Validate and stage a whole blob (applied by commit). */
	int (*set_device_state)(void *ctx, const void *blob, size_t len,
				struct kmig_vmmp_err *e);
	/* Destination: apply staged state and memslots at once, resume. */
	int (*commit)(void *ctx, struct kmig_vmmp_err *e);
	int (*throttle)(void *ctx, uint32_t percent, uint32_t *previous,
			struct kmig_vmmp_err *e);
	int (*query)(void *ctx, struct kmig_vmmp_status *st,
		     struct kmig_vmmp_err *e);
	/* After the reply is sent; KMIG_VMMP_QUIT_F_* flags. */
	int (*quit)(void *ctx, uint32_t flags, struct kmig_vmmp_err *e);
	/* Destination, before commit: forget a staged state (the source
	 * aborted the switchover; another SET_DEVICE_STATE may follow).
	 * Nothing staged is not an error. NULL: not offered. (Added in
	 * KMIG_0.2, last: the struct only ever grows at its end.) */
	int (*drop_device_state)(void *ctx, struct kmig_vmmp_err *e);
	/* Destination: called once COMMIT succeeded and its reply was sent:
	 * start the vCPUs here (commit having loaded everything), so that
	 * the guest taking the cores does not hold the reply up. NULL: commit
	 * starts them itself. (KMIG_0.2.) */
	void (*run)(void *ctx);
};

struct kmig_vmmp_server;

/* A client's time to send HELLO, and to take each reply. */
#define KMIG_VMMP_SERVER_TIMEOUT_MS	10000

/* Validates @vm (slots inside their memfds, no overlaps, ...): -EINVAL;
 * -EPERM if a memfd is not sealed with F_SEAL_SHRINK. */
int kmig_vmmp_server_create(const struct kmig_vmmp_vm *vm,
			    const struct kmig_vmmp_ops *ops, void *ctx,
			    struct kmig_vmmp_server **out);
/*
 * Serve one connection until the client hangs up or sends QUIT (0), the
 * @cancel_fd (or -1) becomes readable (-ECANCELED), the client misses a
 * bound (-ETIMEDOUT: no HELLO in time, a reply not taken), or the socket
 * fails (-errno). Bad requests are answered with an error reply and do not end
 * the session. @conn is not closed.
 */
int kmig_vmmp_server_serve(struct kmig_vmmp_server *s, int conn,
			   int cancel_fd);
void kmig_vmmp_server_destroy(struct kmig_vmmp_server *s);
/* The HELLO and reply bound of later sessions; 0: the default. */
void kmig_vmmp_server_set_timeout(struct kmig_vmmp_server *s, unsigned int ms);
/* Update the HELLO vm_flags (e.g. KMIG_VMMP_VM_F_INCOMING after COMMIT). */
void kmig_vmmp_server_set_vm_flags(struct kmig_vmmp_server *s, uint32_t flags);

/* create + serve + destroy, for a VMM that serves one connection. */
int kmig_vmmp_serve(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
		    const struct kmig_vmmp_ops *ops, void *ctx);

#endif /* KMIG_VMM_PROTO_SERVER_H */
