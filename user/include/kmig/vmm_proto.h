/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmig VMM <-> helper protocol: the wire format (version 1).
 *
 * Documentation/vmm-protocol.rst is the specification; this header is its
 * C transcription. Summary:
 *
 * - A unix SOCK_SEQPACKET socket: one message per packet, at most
 *   KMIG_VMMP_MAX_MSG bytes. The helper (client) sends requests, the VMM
 *   (server) answers each with exactly one reply, in order.
 * - Every message starts with struct kmig_vmmp_hdr; every reply continues
 *   with struct kmig_vmmp_reply. All integers are little-endian, all structs
 *   have explicit padding (reserved fields, which must be zero).
 * - Only the GET_SLOTS reply carries file descriptors (SCM_RIGHTS): the VM
 *   fd, the dirty-bitmap buffer memfd, then the guest RAM memfds.
 * - Dirty bitmaps travel through the bitmap buffer memfd (shared memory),
 *   not inline: bit i of 64-bit little-endian word i / 64 is page i.
 */
#ifndef KMIG_VMM_PROTO_H
#define KMIG_VMM_PROTO_H

#include <stdint.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "kmig VMM protocol structs are little-endian; add byte swapping"
#endif

#define KMIG_VMMP_MAGIC		0x504d564bU	/* bytes "KVMP" */
#define KMIG_VMMP_VERSION	1
#define KMIG_VMMP_MAX_MSG	65536
#define KMIG_VMMP_TEXT_MAX	256	/* error text, bytes, no NUL */
#define KMIG_VMMP_NAME_LEN	32	/* HELLO names, NUL padded */
#define KMIG_VMMP_MAX_SLOTS	512
#define KMIG_VMMP_MAX_MEMFDS	250	/* + VM fd + bitmap fd <= SCM_MAX_FD */
#define KMIG_VMMP_FIXED_FDS	2	/* VM fd, bitmap buffer memfd */
#define KMIG_VMMP_MAX_DEVSTATE	(64U << 20)
#define KMIG_VMMP_PAGE_SIZE	4096

/* Message types. A reply carries its request's type. */
enum kmig_vmmp_type {
	KMIG_VMMP_HELLO = 1,
	KMIG_VMMP_GET_SLOTS = 2,
	KMIG_VMMP_DIRTY_LOG_START = 3,
	KMIG_VMMP_GET_DIRTY_LOG = 4,
	KMIG_VMMP_CLEAR_DIRTY_LOG = 5,
	KMIG_VMMP_DIRTY_LOG_STOP = 6,
	KMIG_VMMP_PAUSE = 7,
	KMIG_VMMP_RESUME = 8,
	KMIG_VMMP_GET_DEVICE_STATE = 9,
	KMIG_VMMP_SET_DEVICE_STATE = 10,
	KMIG_VMMP_COMMIT = 11,
	KMIG_VMMP_THROTTLE = 12,
	KMIG_VMMP_QUERY = 13,
	KMIG_VMMP_QUIT = 14,
	KMIG_VMMP_DROP_DEVICE_STATE = 15,
	KMIG_VMMP_NR_TYPES
};

/* kmig_vmmp_hdr.flags */
#define KMIG_VMMP_HDR_F_REPLY	(1U << 0)

struct kmig_vmmp_hdr {
	uint32_t magic;		/* KMIG_VMMP_MAGIC */
	uint16_t type;		/* enum kmig_vmmp_type */
	uint16_t flags;		/* KMIG_VMMP_HDR_F_*: 0 in requests */
	uint32_t len;		/* whole message, header included */
	uint32_t seq;		/* chosen by the client, echoed in the reply */
};

/* Follows the header in every reply. */
struct kmig_vmmp_reply {
	uint32_t error;		/* 0, or a positive Linux errno value */
	uint32_t text_len;	/* error text bytes after this struct */
	uint64_t duration_ns;	/* time the VMM spent handling the request */
};

/* HELLO ---------------------------------------------------------------- */
struct kmig_vmmp_hello {
	uint32_t min_version;	/* oldest version the client speaks */
	uint32_t max_version;	/* newest version the client speaks */
	uint32_t flags;		/* none defined: 0 */
	uint32_t reserved;
	char name[KMIG_VMMP_NAME_LEN];	/* client name, NUL padded */
};

/* kmig_vmmp_hello_reply.vm_flags */
#define KMIG_VMMP_VM_F_MANUAL_PROTECT	(1U << 0) /* MANUAL_DIRTY_LOG_PROTECT2 */
#define KMIG_VMMP_VM_F_INITIALLY_SET	(1U << 1) /* ... with INITIALLY_SET */
#define KMIG_VMMP_VM_F_INCOMING		(1U << 2) /* waiting for COMMIT */

struct kmig_vmmp_hello_reply {
	uint32_t version;	/* chosen version */
	uint32_t ops;		/* bit (1 << type): request implemented */
	uint32_t nr_vcpus;
	uint32_t nr_slots;
	uint32_t page_size;	/* unit of all page numbers: 4096 */
	uint32_t max_msg;	/* KMIG_VMMP_MAX_MSG */
	uint32_t vm_flags;	/* KMIG_VMMP_VM_F_* */
	uint32_t reserved;
	char name[KMIG_VMMP_NAME_LEN];	/* VMM name, NUL padded */
};

/* GET_SLOTS ------------------------------------------------------------ */
struct kmig_vmmp_get_slots {
	uint32_t flags;		/* none defined: 0 */
	uint32_t reserved;
};

/* kmig_vmmp_slot.flags */
#define KMIG_VMMP_SLOT_F_DIRTY_LOG	(1U << 0) /* dirty logging is on */

struct kmig_vmmp_slot_desc {
	uint32_t slot;		/* KVM slot: (address space << 16) | id */
	uint32_t memfd;		/* index into the memfds of this reply */
	uint64_t gpa;		/* guest-physical base, page aligned */
	uint64_t size;		/* bytes, page aligned, > 0 */
	uint64_t offset;	/* of the slot's first byte in the memfd */
	uint32_t flags;		/* KMIG_VMMP_SLOT_F_* */
	uint32_t reserved;
};

/* Followed by nr_slots struct kmig_vmmp_slot_desc. */
struct kmig_vmmp_slots_reply {
	uint32_t nr_slots;
	uint32_t nr_memfds;
	uint64_t bitmap_size;	/* bytes of the bitmap buffer memfd */
};

/* DIRTY_LOG_START, DIRTY_LOG_STOP: followed by nr_slots uint32_t slots. */
struct kmig_vmmp_dirty_log_set {
	uint32_t flags;		/* none defined: 0 */
	uint32_t nr_slots;	/* 0: every slot */
};

/* GET_DIRTY_LOG: the slot's whole bitmap lands in the bitmap buffer. */
struct kmig_vmmp_get_dirty_log {
	uint32_t slot;
	uint32_t flags;		/* none defined: 0 */
};

struct kmig_vmmp_dirty_log_reply {
	uint64_t num_pages;	/* pages of the slot */
	uint64_t bitmap_bytes;	/* 8 * DIV_ROUND_UP(num_pages, 64) */
	uint64_t nr_dirty;	/* bits set */
};

/* CLEAR_DIRTY_LOG: bit i of the bitmap buffer is page first_page + i. */
struct kmig_vmmp_clear_dirty_log {
	uint32_t slot;
	uint32_t flags;		/* none defined: 0 */
	uint64_t first_page;	/* multiple of 64 */
	uint64_t num_pages;	/* multiple of 64, or reaching the slot end */
};

/* PAUSE, RESUME, COMMIT, QUERY, GET_SLOTS, QUIT, DROP_DEVICE_STATE:
 * flags + reserved. */
struct kmig_vmmp_simple {
	uint32_t flags;
	uint32_t reserved;
};

/* QUIT flags */
#define KMIG_VMMP_QUIT_F_EXIT	(1U << 0)	/* VMM stops the guest and exits */

/* GET_DEVICE_STATE: offset 0 takes a new snapshot (guest paused). */
struct kmig_vmmp_get_device_state {
	uint64_t offset;
	uint32_t max_len;	/* most bytes wanted in this reply */
	uint32_t flags;		/* none defined: 0 */
};

/* GET_DEVICE_STATE reply, followed by len bytes of the blob. */
struct kmig_vmmp_device_state_chunk {
	uint64_t total_len;	/* whole blob */
	uint64_t offset;	/* of this chunk */
	uint32_t len;		/* bytes that follow */
	uint32_t flags;		/* request: none defined: 0; reply: 0 */
};
/* SET_DEVICE_STATE request: the same struct followed by len bytes. */

struct kmig_vmmp_set_device_state_reply {
	uint64_t received;	/* bytes of the blob received so far */
	uint32_t complete;	/* 1: whole blob validated and staged */
	uint32_t reserved;
};

/* Largest chunk payload that fits a message. */
#define KMIG_VMMP_CHUNK_MAX (KMIG_VMMP_MAX_MSG - \
	(uint32_t)sizeof(struct kmig_vmmp_hdr) - \
	(uint32_t)sizeof(struct kmig_vmmp_reply) - \
	(uint32_t)sizeof(struct kmig_vmmp_device_state_chunk))

/* THROTTLE */
struct kmig_vmmp_throttle {
	uint32_t percent;	/* 0..99: share of time the vCPUs sleep */
	uint32_t flags;		/* none defined: 0 */
};

struct kmig_vmmp_throttle_reply {
	uint32_t previous;
	uint32_t reserved;
};

/* QUERY reply */
enum kmig_vmmp_state {
	KMIG_VMMP_STATE_INCOMING = 1,	/* waiting for COMMIT */
	KMIG_VMMP_STATE_RUNNING = 2,
	KMIG_VMMP_STATE_PAUSED = 3,
	KMIG_VMMP_STATE_STOPPED = 4,	/* guest failed or shut down */
};

/* kmig_vmmp_status.flags */
#define KMIG_VMMP_STATUS_F_DIRTY_LOG	(1U << 0) /* logging on, any slot */
#define KMIG_VMMP_STATUS_F_READY	(1U << 1) /* workload set up */
#define KMIG_VMMP_STATUS_F_STAGED	(1U << 2) /* incoming: a device state staged */

struct kmig_vmmp_status {
	uint32_t state;		/* enum kmig_vmmp_state */
	uint32_t nr_vcpus;
	uint32_t throttle;	/* percent */
	uint32_t flags;		/* KMIG_VMMP_STATUS_F_* */
	uint64_t progress;	/* VMM-defined work counter, monotonic */
	uint64_t progress2;	/* second VMM-defined counter */
	uint64_t exits;		/* vCPU exits handled */
	uint64_t run_ns;	/* vCPU time inside KVM_RUN, all vCPUs */
};

_Static_assert(sizeof(struct kmig_vmmp_hdr) == 16, "hdr");
_Static_assert(sizeof(struct kmig_vmmp_reply) == 16, "reply");
_Static_assert(sizeof(struct kmig_vmmp_hello) == 48, "hello");
_Static_assert(sizeof(struct kmig_vmmp_hello_reply) == 64, "hello reply");
_Static_assert(sizeof(struct kmig_vmmp_slot_desc) == 40, "slot desc");
_Static_assert(sizeof(struct kmig_vmmp_slots_reply) == 16, "slots reply");
_Static_assert(sizeof(struct kmig_vmmp_clear_dirty_log) == 24, "clear");
_Static_assert(sizeof(struct kmig_vmmp_device_state_chunk) == 24, "chunk");
_Static_assert(sizeof(struct kmig_vmmp_status) == 48, "status");

/* Shared helpers of the client and server sides (vmm_proto_msg.c). */
const char *kmig_vmmp_type_name(uint32_t type);
uint64_t kmig_vmmp_bitmap_bytes(uint64_t pages);
uint64_t kmig_vmmp_now_ns(void);

/*
 * One received message: data in @buf (aligned), @len bytes, and the file
 * descriptors that came with it (closed by kmig_vmmp_msg_drop_fds()).
 */
struct kmig_vmmp_msg {
	union {
		struct kmig_vmmp_hdr hdr;
		uint64_t align;
		uint8_t bytes[KMIG_VMMP_MAX_MSG];
	} buf;
	uint32_t len;
	int truncated;		/* longer than the buffer: len is the real size */
	int fds_cut;		/* the kernel dropped fds (MSG_CTRUNC) */
	int nr_fds;
	int fds[KMIG_VMMP_MAX_MEMFDS + KMIG_VMMP_FIXED_FDS];
};

int kmig_vmmp_msg_recv(int sock, struct kmig_vmmp_msg *m);
int kmig_vmmp_msg_send(int sock, const void *buf, uint32_t len,
		       const int *fds, int nr_fds);
void kmig_vmmp_msg_drop_fds(struct kmig_vmmp_msg *m);

#endif /* KMIG_VMM_PROTO_H */
