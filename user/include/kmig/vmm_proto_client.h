/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig VMM protocol, helper side: connect to a VMM and send typed requests.
 *
 *	struct kmig_vmmp_client *c;
 *	struct kmig_vmmp_memmap *mm;
 *
 *	ret = kmig_vmmp_connect("/run/vmm.sock", "kmig", &c);
 *	ret = kmig_vmmp_get_slots(c, &mm);       // memslot table + fds
 *	ret = kmig_vmmp_memmap_map(mm, PROT_READ); // slot i at mm->slots[i].host
 *	ret = kmig_vmmp_dirty_log_start(c, NULL, 0);
 *	ret = kmig_vmmp_get_dirty_log(c, slot, bitmap, words, &nr_dirty);
 *	...
 *	kmig_vmmp_memmap_free(mm);
 *	kmig_vmmp_client_close(c);
 *
 * Every function returns 0 or a negative errno: the VMM's error (its text
 * in kmig_vmmp_last_error()) or a local one (socket, malformed reply).
 *
 * Every wait on the VMM is bounded: connecting, sending a request and
 * receiving its reply each end after the client's timeout (default
 * KMIG_VMMP_TIMEOUT_MS) with -ETIMEDOUT, and a caller's cancel (opts
 * below) cuts short a wait in progress. A request whose wait gave up
 * ends the session: its late reply would come out of turn, so every later
 * request fails at once (with the same errno) and the VMM sees a hang-up.
 *
 * The memfds and the bitmap buffer of GET_SLOTS must be sealed with
 * F_SEAL_SHRINK (else -EPROTO): the helper maps them, and a memfd that
 * could shrink under the mapping would kill it with SIGBUS.
 * kmig_vmmp_last_duration_ns() is the VMM-side time of the last request
 * (e.g. PAUSE latency, DIRTY_LOG_STOP duration). A client is used by one
 * thread at a time; there is no global state.
 */
#ifndef KMIG_VMM_PROTO_CLIENT_H
#define KMIG_VMM_PROTO_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "kmig/vmm_proto.h"

struct kmig_vmmp_client;

/* Bound of every wait on the VMM, unless kmig_vmmp_client_opts says. */
#define KMIG_VMMP_TIMEOUT_MS		30000
/* After a cancel, how long a request already sent may still take. */
#define KMIG_VMMP_CANCEL_GRACE_MS	1000
/* How often a wait looks at the cancel callback. */
#define KMIG_VMMP_POLL_TICK_MS		100

struct kmig_vmmp_client_opts {
	const char *name;		/* client name sent in HELLO */
	unsigned int timeout_ms;	/* 0: KMIG_VMMP_TIMEOUT_MS */
	/*
	 * Polled during every wait (NULL: never). Once it returns non-zero,
	 * a wait that began before gives up KMIG_VMMP_CANCEL_GRACE_MS later
	 * with -ECANCELED (a VMM that answers at once is not cut off);
	 * requests begun after it (a caller's clean-up: RESUME, QUIT) get
	 * the whole timeout. Called from the thread making the request.
	 */
	int (*cancelled)(void *arg);
	void *cancel_arg;
	/*
	 * Where a failed connect or HELLO writes why, NUL-terminated (NULL:
	 * nowhere). The library never prints: the caller decides where the
	 * reason goes (its own error message, a log, nothing).
	 */
	char *err;
	size_t err_len;
};

struct kmig_vmmp_info {
	uint32_t version;
	uint32_t ops;		/* bit (1 << type): request implemented */
	uint32_t nr_vcpus;
	uint32_t nr_slots;
	uint32_t page_size;
	uint32_t vm_flags;	/* KMIG_VMMP_VM_F_* */
	char name[KMIG_VMMP_NAME_LEN + 1];
};

struct kmig_vmmp_memslot {
	uint32_t slot;		/* KVM slot id */
	uint32_t memfd;		/* index into memmap.memfds */
	uint32_t flags;		/* KMIG_VMMP_SLOT_F_* at GET_SLOTS time */
	uint64_t gpa;
	uint64_t size;
	uint64_t offset;	/* in the memfd */
	void *host;		/* after kmig_vmmp_memmap_map(), else NULL */
};

/* What GET_SLOTS returned; the fds belong to the memmap. */
struct kmig_vmmp_memmap {
	int vm_fd;		/* the KVM VM fd (for /dev/kmig) */
	uint32_t nr_memfds;
	int *memfds;
	uint32_t nr_slots;
	struct kmig_vmmp_memslot *slots;
	int mapped_prot;
};

/* Connect to a VMM's unix socket and do the HELLO handshake. */
int kmig_vmmp_connect_opts(const char *path, const struct kmig_vmmp_client_opts *o,
			   struct kmig_vmmp_client **out);
/* The same with the default timeout and no cancel. */
int kmig_vmmp_connect(const char *path, const char *name,
		      struct kmig_vmmp_client **out);
/* The same over an already connected SOCK_SEQPACKET socket (taken over,
 * made non-blocking). */
int kmig_vmmp_client_open_opts(int sock, const struct kmig_vmmp_client_opts *o,
			       struct kmig_vmmp_client **out);
int kmig_vmmp_client_open(int sock, const char *name,
			  struct kmig_vmmp_client **out);
void kmig_vmmp_client_close(struct kmig_vmmp_client *c);

const struct kmig_vmmp_info *kmig_vmmp_info(const struct kmig_vmmp_client *c);
const char *kmig_vmmp_last_error(const struct kmig_vmmp_client *c);
uint64_t kmig_vmmp_last_duration_ns(const struct kmig_vmmp_client *c);
int kmig_vmmp_client_fd(const struct kmig_vmmp_client *c);

int kmig_vmmp_get_slots(struct kmig_vmmp_client *c,
			struct kmig_vmmp_memmap **out);
/* mmap every slot's range of its memfd (MAP_SHARED) at slots[i].host. */
int kmig_vmmp_memmap_map(struct kmig_vmmp_memmap *m, int prot);
/* Host address of guest-physical @gpa, or NULL if not in a mapped slot. */
void *kmig_vmmp_memmap_gpa(const struct kmig_vmmp_memmap *m, uint64_t gpa,
			   uint64_t len);
void kmig_vmmp_memmap_free(struct kmig_vmmp_memmap *m);

/* @slots NULL / @n 0: every slot. */
int kmig_vmmp_dirty_log_start(struct kmig_vmmp_client *c,
			      const uint32_t *slots, uint32_t n);
int kmig_vmmp_dirty_log_stop(struct kmig_vmmp_client *c,
			     const uint32_t *slots, uint32_t n);
/*
 * The slot's dirty bitmap (KVM_GET_DIRTY_LOG) copied into @bitmap of
 * @words 64-bit words (at least DIV_ROUND_UP(pages, 64)). @nr_dirty and
 * @num_pages may be NULL.
 */
int kmig_vmmp_get_dirty_log(struct kmig_vmmp_client *c, uint32_t slot,
			    uint64_t *bitmap, uint64_t words,
			    uint64_t *nr_dirty, uint64_t *num_pages);
/* KVM_CLEAR_DIRTY_LOG: bit i of @bitmap is page @first + i. */
int kmig_vmmp_clear_dirty_log(struct kmig_vmmp_client *c, uint32_t slot,
			      uint64_t first, uint64_t num,
			      const uint64_t *bitmap);
int kmig_vmmp_pause(struct kmig_vmmp_client *c);
int kmig_vmmp_resume(struct kmig_vmmp_client *c);
/* The whole blob in *blob (malloc'd, caller frees). Guest paused. */
int kmig_vmmp_get_device_state(struct kmig_vmmp_client *c, void **blob,
			       size_t *len);
int kmig_vmmp_set_device_state(struct kmig_vmmp_client *c, const void *blob,
			       size_t len);
int kmig_vmmp_commit(struct kmig_vmmp_client *c);
/* Forget the staged device state (incoming, before COMMIT). */
int kmig_vmmp_drop_device_state(struct kmig_vmmp_client *c);
int kmig_vmmp_throttle(struct kmig_vmmp_client *c, uint32_t percent,
		       uint32_t *previous);
int kmig_vmmp_query(struct kmig_vmmp_client *c, struct kmig_vmmp_status *st);
/* KMIG_VMMP_QUIT_F_EXIT: the VMM stops its guest and exits. */
int kmig_vmmp_quit(struct kmig_vmmp_client *c, uint32_t flags);

/*
 * Send a raw request and wait for its reply (for tests and tools). @payload
 * follows a header built from @type; the reply payload (after struct
 * kmig_vmmp_reply) is copied to @out (up to @out_len, *out_got bytes).
 */
int kmig_vmmp_request(struct kmig_vmmp_client *c, uint16_t type,
		      const void *payload, uint32_t len, void *out,
		      uint32_t out_len, uint32_t *out_got);

#endif /* KMIG_VMM_PROTO_CLIENT_H */
