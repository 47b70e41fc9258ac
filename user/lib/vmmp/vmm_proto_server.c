// SPDX-License-Identifier: GPL-2.0
/*
 * kmig VMM protocol, VMM side: session loop, validation and dispatch.
 *
 * Every request is checked completely here before a VMM callback runs:
 * the callbacks only see existing slots and in-range pages. A bad request
 * gets an error reply (errno + text) and the session goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kmig/vmm_proto_server.h"
#include "base/bits.h"

struct kmig_vmmp_server {
	struct kmig_vmmp_vm vm;
	struct kmig_vmmp_slot *slots;
	int *memfds;
	uint8_t *logging;		/* per slot: dirty logging on */
	const struct kmig_vmmp_ops *ops;	/* &ops_copy */
	struct kmig_vmmp_ops ops_copy;	/* the caller's, zero past its size */
	void *ctx;
	int bitmap_fd;
	uint64_t *bitmap;
	uint64_t bitmap_size;
	unsigned int timeout_ms;	/* for HELLO, and for a reply to be taken */
	/* per connection */
	int cancel_fd;
	uint32_t version;		/* 0 until HELLO */
	int quit;
	uint32_t quit_flags;
	int committed;		/* COMMIT succeeded: ops->run after its reply */
	void *dev_out;			/* GET_DEVICE_STATE snapshot */
	size_t dev_out_len;
	uint8_t *dev_in;		/* SET_DEVICE_STATE being received */
	uint64_t dev_in_total, dev_in_received;
	struct kmig_vmmp_msg rx;
	union {
		uint64_t align;
		uint8_t bytes[KMIG_VMMP_MAX_MSG];
	} tx;
};

/* The request being handled and its reply under construction. */
struct req {
	struct kmig_vmmp_server *s;
	int conn;
	const struct kmig_vmmp_hdr *hdr;
	const uint8_t *in;		/* payload after the header */
	uint32_t in_len;
	uint8_t *out;			/* reply payload */
	uint32_t out_len;
	int fds[KMIG_VMMP_MAX_MEMFDS + KMIG_VMMP_FIXED_FDS];
	int nr_fds;
	struct kmig_vmmp_err err;
};

#define REPLY_ROOM (KMIG_VMMP_MAX_MSG - sizeof(struct kmig_vmmp_hdr) - \
		    sizeof(struct kmig_vmmp_reply))

int kmig_vmmp_errf(struct kmig_vmmp_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

static const char *req_name(const struct req *r)
{
	return kmig_vmmp_type_name(r->hdr->type);
}

/* The payload must be exactly @size bytes (@size + variable part: caller). */
static int want_size(struct req *r, uint64_t size)
{
	if (r->in_len == size)
		return 0;
	return kmig_vmmp_errf(&r->err, -EBADMSG,
			      "%s: payload is %u bytes, expected %llu",
			      req_name(r), r->in_len, (unsigned long long)size);
}

static int want_zero(struct req *r, const char *field, uint64_t v, uint64_t allowed)
{
	if (!(v & ~allowed))
		return 0;
	return kmig_vmmp_errf(&r->err, -EINVAL,
			      "%s: %s is 0x%llx, allowed bits 0x%llx",
			      req_name(r), field, (unsigned long long)v,
			      (unsigned long long)allowed);
}

static int find_slot(struct req *r, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < r->s->vm.nr_slots; i++)
		if (r->s->slots[i].slot == id)
			return (int)i;
	return kmig_vmmp_errf(&r->err, -ENOENT,
			      "%s: slot %u does not exist (the VM has %u slots)",
			      req_name(r), id, r->s->vm.nr_slots);
}

static int find_logging_slot(struct req *r, uint32_t id)
{
	int i = find_slot(r, id);

	if (i >= 0 && !r->s->logging[i])
		return kmig_vmmp_errf(&r->err, -ENOENT,
				      "%s: dirty logging is off on slot %u",
				      req_name(r), id);
	return i;
}

static uint32_t ops_mask(const struct kmig_vmmp_ops *o)
{
	uint32_t m = 1U << KMIG_VMMP_HELLO | 1U << KMIG_VMMP_GET_SLOTS |
		     1U << KMIG_VMMP_QUIT;

	m |= o->dirty_log_set ? 1U << KMIG_VMMP_DIRTY_LOG_START |
				1U << KMIG_VMMP_DIRTY_LOG_STOP : 0;
	m |= o->get_dirty_log ? 1U << KMIG_VMMP_GET_DIRTY_LOG : 0;
	m |= o->clear_dirty_log ? 1U << KMIG_VMMP_CLEAR_DIRTY_LOG : 0;
	m |= o->pause ? 1U << KMIG_VMMP_PAUSE : 0;
	m |= o->resume ? 1U << KMIG_VMMP_RESUME : 0;
	m |= o->get_device_state ? 1U << KMIG_VMMP_GET_DEVICE_STATE : 0;
	m |= o->set_device_state ? 1U << KMIG_VMMP_SET_DEVICE_STATE : 0;
	m |= o->commit ? 1U << KMIG_VMMP_COMMIT : 0;
	m |= o->drop_device_state ? 1U << KMIG_VMMP_DROP_DEVICE_STATE : 0;
	m |= o->throttle ? 1U << KMIG_VMMP_THROTTLE : 0;
	m |= o->query ? 1U << KMIG_VMMP_QUERY : 0;
	return m;
}

static int h_hello(struct req *r)
{
	struct kmig_vmmp_hello h;
	struct kmig_vmmp_hello_reply *o = (void *)r->out;
	int ret;

	if ((ret = want_size(r, sizeof(h))))
		return ret;
	memcpy(&h, r->in, sizeof(h));
	if ((ret = want_zero(r, "flags", h.flags, 0)) ||
	    (ret = want_zero(r, "reserved", h.reserved, 0)))
		return ret;
	if (r->s->version)
		return kmig_vmmp_errf(&r->err, -EISCONN,
				      "HELLO: version %u already negotiated",
				      r->s->version);
	if (h.min_version > h.max_version ||
	    h.min_version > KMIG_VMMP_VERSION || h.max_version < KMIG_VMMP_VERSION)
		return kmig_vmmp_errf(&r->err, -EPROTONOSUPPORT,
				      "HELLO: client speaks versions %u..%u, this VMM speaks %u..%u",
				      h.min_version, h.max_version,
				      KMIG_VMMP_VERSION, KMIG_VMMP_VERSION);
	r->s->version = KMIG_VMMP_VERSION;
	memset(o, 0, sizeof(*o));
	o->version = KMIG_VMMP_VERSION;
	o->ops = ops_mask(r->s->ops);
	o->nr_vcpus = r->s->vm.nr_vcpus;
	o->nr_slots = r->s->vm.nr_slots;
	o->page_size = KMIG_VMMP_PAGE_SIZE;
	o->max_msg = KMIG_VMMP_MAX_MSG;
	o->vm_flags = r->s->vm.vm_flags;
	strncpy(o->name, r->s->vm.name ? r->s->vm.name : "", sizeof(o->name) - 1);
	r->out_len = sizeof(*o);
	return 0;
}

/* Requests whose payload is struct kmig_vmmp_simple with the given flags. */
static int simple_request(struct req *r, uint32_t allowed, uint32_t *flags)
{
	struct kmig_vmmp_simple q;
	int ret;

	if ((ret = want_size(r, sizeof(q))))
		return ret;
	memcpy(&q, r->in, sizeof(q));
	if ((ret = want_zero(r, "flags", q.flags, allowed)) ||
	    (ret = want_zero(r, "reserved", q.reserved, 0)))
		return ret;
	if (flags)
		*flags = q.flags;
	return 0;
}

static int h_get_slots(struct req *r)
{
	struct kmig_vmmp_server *s = r->s;
	struct kmig_vmmp_slots_reply *o = (void *)r->out;
	struct kmig_vmmp_slot_desc *d = (void *)(o + 1);
	uint32_t i;
	int ret;

	if ((ret = simple_request(r, 0, NULL)))
		return ret;
	o->nr_slots = s->vm.nr_slots;
	o->nr_memfds = s->vm.nr_memfds;
	o->bitmap_size = s->bitmap_size;
	for (i = 0; i < s->vm.nr_slots; i++) {
		d[i] = (struct kmig_vmmp_slot_desc) {
			.slot = s->slots[i].slot, .memfd = s->slots[i].memfd,
			.gpa = s->slots[i].gpa, .size = s->slots[i].size,
			.offset = s->slots[i].offset,
			.flags = s->logging[i] ? KMIG_VMMP_SLOT_F_DIRTY_LOG : 0,
		};
	}
	r->out_len = sizeof(*o) + s->vm.nr_slots * sizeof(*d);
	r->fds[0] = s->vm.vm_fd;
	r->fds[1] = s->bitmap_fd;
	for (i = 0; i < s->vm.nr_memfds; i++)
		r->fds[KMIG_VMMP_FIXED_FDS + i] = s->memfds[i];
	r->nr_fds = KMIG_VMMP_FIXED_FDS + (int)s->vm.nr_memfds;
	return 0;
}

/* Slot list of DIRTY_LOG_START/STOP -> indexes; 0 entries: all slots. */
static int parse_slot_list(struct req *r, int *idx, uint32_t *n)
{
	struct kmig_vmmp_dirty_log_set q;
	uint32_t i, j;
	int ret;

	if (r->in_len < sizeof(q))
		return want_size(r, sizeof(q));
	memcpy(&q, r->in, sizeof(q));
	if ((ret = want_zero(r, "flags", q.flags, 0)))
		return ret;
	if (q.nr_slots > r->s->vm.nr_slots)
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "%s: %u slots listed, the VM has %u",
				      req_name(r), q.nr_slots, r->s->vm.nr_slots);
	if ((ret = want_size(r, sizeof(q) + 4ULL * q.nr_slots)))
		return ret;
	for (i = 0; i < q.nr_slots; i++) {
		uint32_t id;

		memcpy(&id, r->in + sizeof(q) + 4 * i, 4);
		if ((idx[i] = find_slot(r, id)) < 0)
			return idx[i];
		for (j = 0; j < i; j++)
			if (idx[j] == idx[i])
				return kmig_vmmp_errf(&r->err, -EINVAL,
						      "%s: slot %u listed twice",
						      req_name(r), id);
	}
	*n = q.nr_slots;
	if (!*n)
		for (*n = r->s->vm.nr_slots, i = 0; i < *n; i++)
			idx[i] = (int)i;
	return 0;
}

static int h_dirty_log_set(struct req *r, int enable)
{
	int idx[KMIG_VMMP_MAX_SLOTS];
	uint32_t n = 0, i;
	int ret;

	if ((ret = parse_slot_list(r, idx, &n)))
		return ret;
	for (i = 0; i < n; i++) {
		const struct kmig_vmmp_slot *sl = &r->s->slots[idx[i]];

		/*
		 * STOP skips slots already off. START re-registers every slot:
		 * the record may be stale (kmig.ko's deferred stop turns logging
		 * off behind the VMM's back until the helper's DIRTY_LOG_STOP
		 * catches the records up), and KVM treats an unchanged slot as
		 * "nothing to change".
		 */
		if (!enable && !r->s->logging[idx[i]])
			continue;
		ret = r->s->ops->dirty_log_set(r->s->ctx, sl, enable, &r->err);
		if (ret)
			return ret;
		r->s->logging[idx[i]] = (uint8_t)enable;
	}
	return 0;
}

static int h_dirty_log_start(struct req *r)
{
	return h_dirty_log_set(r, 1);
}

static int h_dirty_log_stop(struct req *r)
{
	return h_dirty_log_set(r, 0);
}

static uint64_t popcount_bytes(const uint64_t *w, uint64_t bytes)
{
	uint64_t i, n = 0;

	for (i = 0; i < bytes / 8; i++)
		n += (uint64_t)__builtin_popcountll(w[i]);
	return n;
}

static int h_get_dirty_log(struct req *r)
{
	struct kmig_vmmp_get_dirty_log q;
	struct kmig_vmmp_dirty_log_reply *o = (void *)r->out;
	const struct kmig_vmmp_slot *sl;
	int ret, i;

	if ((ret = want_size(r, sizeof(q))))
		return ret;
	memcpy(&q, r->in, sizeof(q));
	if ((ret = want_zero(r, "flags", q.flags, 0)))
		return ret;
	if ((i = find_logging_slot(r, q.slot)) < 0)
		return i;
	sl = &r->s->slots[i];
	o->num_pages = sl->size / KMIG_VMMP_PAGE_SIZE;
	o->bitmap_bytes = kmig_vmmp_bitmap_bytes(o->num_pages);
	memset(r->s->bitmap, 0, o->bitmap_bytes);
	ret = r->s->ops->get_dirty_log(r->s->ctx, sl, r->s->bitmap, &r->err);
	if (ret)
		return ret;
	o->nr_dirty = popcount_bytes(r->s->bitmap, o->bitmap_bytes);
	r->out_len = sizeof(*o);
	return 0;
}

static int check_clear_range(struct req *r, const struct kmig_vmmp_clear_dirty_log *q,
			     uint64_t pages)
{
	if (q->num_pages == 0 || q->first_page >= pages ||
	    q->num_pages > pages - q->first_page)
		return kmig_vmmp_errf(&r->err, -ERANGE,
				      "CLEAR_DIRTY_LOG: pages [%llu, +%llu) outside slot %u of %llu pages",
				      (unsigned long long)q->first_page,
				      (unsigned long long)q->num_pages, q->slot,
				      (unsigned long long)pages);
	if (q->first_page % 64 ||
	    (q->num_pages % 64 && q->first_page + q->num_pages != pages))
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "CLEAR_DIRTY_LOG: first_page %llu and num_pages %llu must be multiples of 64 (num_pages may end at the slot end)",
				      (unsigned long long)q->first_page,
				      (unsigned long long)q->num_pages);
	return 0;
}

static int h_clear_dirty_log(struct req *r)
{
	struct kmig_vmmp_clear_dirty_log q;
	const struct kmig_vmmp_slot *sl;
	int ret, i;

	if ((ret = want_size(r, sizeof(q))))
		return ret;
	memcpy(&q, r->in, sizeof(q));
	if ((ret = want_zero(r, "flags", q.flags, 0)))
		return ret;
	if ((i = find_logging_slot(r, q.slot)) < 0)
		return i;
	sl = &r->s->slots[i];
	if ((ret = check_clear_range(r, &q, sl->size / KMIG_VMMP_PAGE_SIZE)))
		return ret;
	return r->s->ops->clear_dirty_log(r->s->ctx, sl, q.first_page,
					  q.num_pages, r->s->bitmap, &r->err);
}

static int h_pause(struct req *r)
{
	int ret = simple_request(r, 0, NULL);

	return ret ? ret : r->s->ops->pause(r->s->ctx, &r->err);
}

static int h_resume(struct req *r)
{
	int ret = simple_request(r, 0, NULL);

	return ret ? ret : r->s->ops->resume(r->s->ctx, &r->err);
}

static int h_commit(struct req *r)
{
	int ret = simple_request(r, 0, NULL);

	ret = ret ? ret : r->s->ops->commit(r->s->ctx, &r->err);
	r->s->committed = !ret;
	return ret;
}

static int h_drop_device_state(struct req *r)
{
	int ret = simple_request(r, 0, NULL);

	return ret ? ret : r->s->ops->drop_device_state(r->s->ctx, &r->err);
}

static int h_query(struct req *r)
{
	struct kmig_vmmp_status *o = (void *)r->out;
	int ret = simple_request(r, 0, NULL);

	if (ret)
		return ret;
	memset(o, 0, sizeof(*o));
	ret = r->s->ops->query(r->s->ctx, o, &r->err);
	if (!ret)
		r->out_len = sizeof(*o);
	return ret;
}

static int h_quit(struct req *r)
{
	int ret = simple_request(r, KMIG_VMMP_QUIT_F_EXIT, &r->s->quit_flags);

	if (!ret)
		r->s->quit = 1;
	return ret;
}

static int h_throttle(struct req *r)
{
	struct kmig_vmmp_throttle q;
	struct kmig_vmmp_throttle_reply *o = (void *)r->out;
	int ret;

	if ((ret = want_size(r, sizeof(q))))
		return ret;
	memcpy(&q, r->in, sizeof(q));
	if ((ret = want_zero(r, "flags", q.flags, 0)))
		return ret;
	if (q.percent > 99)
		return kmig_vmmp_errf(&r->err, -ERANGE,
				      "THROTTLE: percent %u outside 0..99", q.percent);
	memset(o, 0, sizeof(*o));
	ret = r->s->ops->throttle(r->s->ctx, q.percent, &o->previous, &r->err);
	if (!ret)
		r->out_len = sizeof(*o);
	return ret;
}

static int h_get_device_state(struct req *r)
{
	struct kmig_vmmp_server *s = r->s;
	struct kmig_vmmp_get_device_state q;
	struct kmig_vmmp_device_state_chunk *o = (void *)r->out;
	uint64_t len;
	int ret;

	if ((ret = want_size(r, sizeof(q))))
		return ret;
	memcpy(&q, r->in, sizeof(q));
	if ((ret = want_zero(r, "flags", q.flags, 0)))
		return ret;
	if (q.max_len == 0)
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "GET_DEVICE_STATE: max_len is 0");
	if (q.offset == 0) {
		free(s->dev_out);
		s->dev_out = NULL;
		ret = s->ops->get_device_state(s->ctx, &s->dev_out,
					       &s->dev_out_len, &r->err);
		if (ret)
			return ret;
		if (s->dev_out_len > KMIG_VMMP_MAX_DEVSTATE) {
			free(s->dev_out);
			s->dev_out = NULL;
			return kmig_vmmp_errf(&r->err, -EFBIG,
					      "GET_DEVICE_STATE: blob of %zu bytes exceeds %u",
					      s->dev_out_len, KMIG_VMMP_MAX_DEVSTATE);
		}
	} else if (!s->dev_out || q.offset > s->dev_out_len) {
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "GET_DEVICE_STATE: offset %llu without a snapshot of that size (take one at offset 0)",
				      (unsigned long long)q.offset);
	}
	len = s->dev_out_len - q.offset;
	if (len > q.max_len)
		len = q.max_len;
	if (len > KMIG_VMMP_CHUNK_MAX)
		len = KMIG_VMMP_CHUNK_MAX;
	*o = (struct kmig_vmmp_device_state_chunk) {
		.total_len = s->dev_out_len, .offset = q.offset,
		.len = (uint32_t)len,
	};
	memcpy(o + 1, (uint8_t *)s->dev_out + q.offset, len);
	r->out_len = sizeof(*o) + (uint32_t)len;
	return 0;
}

static void drop_dev_in(struct kmig_vmmp_server *s)
{
	free(s->dev_in);
	s->dev_in = NULL;
	s->dev_in_total = s->dev_in_received = 0;
}

/* Chunks arrive in order; offset 0 starts a new blob. */
static int check_chunk(struct req *r, const struct kmig_vmmp_device_state_chunk *q)
{
	struct kmig_vmmp_server *s = r->s;
	int ret;

	if ((ret = want_size(r, sizeof(*q) + (uint64_t)q->len)) ||
	    (ret = want_zero(r, "flags", q->flags, 0)))
		return ret;
	if (q->total_len == 0 || q->total_len > KMIG_VMMP_MAX_DEVSTATE)
		return kmig_vmmp_errf(&r->err, -EFBIG,
				      "SET_DEVICE_STATE: total_len %llu outside 1..%u",
				      (unsigned long long)q->total_len,
				      KMIG_VMMP_MAX_DEVSTATE);
	if (q->offset != (q->offset ? s->dev_in_received : 0) ||
	    (q->offset && q->total_len != s->dev_in_total))
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "SET_DEVICE_STATE: chunk at offset %llu of %llu, expected offset %llu of %llu (or 0 to restart)",
				      (unsigned long long)q->offset,
				      (unsigned long long)q->total_len,
				      (unsigned long long)s->dev_in_received,
				      (unsigned long long)s->dev_in_total);
	if (q->len > q->total_len - q->offset)
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "SET_DEVICE_STATE: chunk of %u bytes at %llu passes total_len %llu",
				      q->len, (unsigned long long)q->offset,
				      (unsigned long long)q->total_len);
	return 0;
}

static int h_set_device_state(struct req *r)
{
	struct kmig_vmmp_server *s = r->s;
	struct kmig_vmmp_device_state_chunk q;
	struct kmig_vmmp_set_device_state_reply *o = (void *)r->out;
	int ret;

	if (r->in_len < sizeof(q))
		return want_size(r, sizeof(q));
	memcpy(&q, r->in, sizeof(q));
	if ((ret = check_chunk(r, &q)))
		return ret;
	if (q.offset == 0) {
		drop_dev_in(s);
		s->dev_in = malloc(q.total_len);
		if (!s->dev_in)
			return kmig_vmmp_errf(&r->err, -ENOMEM,
					      "SET_DEVICE_STATE: no memory for %llu bytes",
					      (unsigned long long)q.total_len);
		s->dev_in_total = q.total_len;
	}
	memcpy(s->dev_in + q.offset, r->in + sizeof(q), q.len);
	s->dev_in_received += q.len;
	memset(o, 0, sizeof(*o));
	o->received = s->dev_in_received;
	if (s->dev_in_received == s->dev_in_total) {
		ret = s->ops->set_device_state(s->ctx, s->dev_in, s->dev_in_total,
					       &r->err);
		drop_dev_in(s);
		if (ret)
			return ret;
		o->complete = 1;
	}
	r->out_len = sizeof(*o);
	return 0;
}

typedef int (*handler_fn)(struct req *r);

static const handler_fn handlers[KMIG_VMMP_NR_TYPES] = {
	[KMIG_VMMP_HELLO] = h_hello,
	[KMIG_VMMP_GET_SLOTS] = h_get_slots,
	[KMIG_VMMP_DIRTY_LOG_START] = h_dirty_log_start,
	[KMIG_VMMP_GET_DIRTY_LOG] = h_get_dirty_log,
	[KMIG_VMMP_CLEAR_DIRTY_LOG] = h_clear_dirty_log,
	[KMIG_VMMP_DIRTY_LOG_STOP] = h_dirty_log_stop,
	[KMIG_VMMP_PAUSE] = h_pause,
	[KMIG_VMMP_RESUME] = h_resume,
	[KMIG_VMMP_GET_DEVICE_STATE] = h_get_device_state,
	[KMIG_VMMP_SET_DEVICE_STATE] = h_set_device_state,
	[KMIG_VMMP_COMMIT] = h_commit,
	[KMIG_VMMP_THROTTLE] = h_throttle,
	[KMIG_VMMP_QUERY] = h_query,
	[KMIG_VMMP_QUIT] = h_quit,
	[KMIG_VMMP_DROP_DEVICE_STATE] = h_drop_device_state,
};

/* Checks that do not depend on the message type. */
static int check_envelope(struct req *r, const struct kmig_vmmp_msg *m)
{
	const struct kmig_vmmp_hdr *h = r->hdr;

	if (m->nr_fds || m->fds_cut)
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "request carried %d%s file descriptors; requests carry none",
				      m->nr_fds, m->fds_cut ? "+" : "");
	if (m->truncated)
		return kmig_vmmp_errf(&r->err, -EMSGSIZE,
				      "message of %u bytes exceeds the maximum of %u",
				      m->len, KMIG_VMMP_MAX_MSG);
	if (h->magic != KMIG_VMMP_MAGIC)
		return kmig_vmmp_errf(&r->err, -EPROTO,
				      "bad magic 0x%08x, expected 0x%08x",
				      h->magic, KMIG_VMMP_MAGIC);
	if (h->len != m->len)
		return kmig_vmmp_errf(&r->err, -EBADMSG,
				      "header length %u does not match the %u bytes received",
				      h->len, m->len);
	if (h->flags)
		return kmig_vmmp_errf(&r->err, -EINVAL,
				      "header flags 0x%x in a request; requests have flags 0",
				      h->flags);
	if (h->type >= KMIG_VMMP_NR_TYPES || !handlers[h->type])
		return kmig_vmmp_errf(&r->err, -EOPNOTSUPP,
				      "unknown message type %u", h->type);
	if (!r->s->version && h->type != KMIG_VMMP_HELLO)
		return kmig_vmmp_errf(&r->err, -EPROTO,
				      "%s before HELLO: send HELLO first", req_name(r));
	if (!(ops_mask(r->s->ops) & (1U << h->type)))
		return kmig_vmmp_errf(&r->err, -EOPNOTSUPP,
				      "%s is not supported by this VMM", req_name(r));
	return 0;
}

/*
 * Wait until @conn is ready for @events, or @deadline (0: none) passes
 * (-ETIMEDOUT), or the cancel fd becomes readable (-ECANCELED). 1 when
 * ready, 0 on hang-up, -errno.
 */
static int wait_conn(struct kmig_vmmp_server *s, int conn, short events, uint64_t deadline)
{
	struct pollfd p[2] = {
		{ .fd = conn, .events = events },
		{ .fd = s->cancel_fd, .events = POLLIN },
	};

	for (;;) {
		uint64_t now = kmig_vmmp_now_ns();
		int timeout = -1, n;

		if (deadline) {
			if (now >= deadline)
				return -ETIMEDOUT;
			timeout = (int)((deadline - now + 999999) / 1000000);
		}
		n = poll(p, s->cancel_fd >= 0 ? 2 : 1, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (s->cancel_fd >= 0 && p[1].revents)
			return -ECANCELED;
		if (p[0].revents & events)
			return 1;
		if (p[0].revents)
			return 0;
	}
}

/*
 * A client takes each reply before it sends its next request; one that
 * does not take a reply within the timeout is not a helper (a flood of
 * requests never read back would otherwise block the VMM in sendmsg()).
 */
static int send_bounded(struct kmig_vmmp_server *s, int conn, const void *buf, uint32_t len,
			const int *fds, int nr_fds)
{
	uint64_t deadline = kmig_vmmp_now_ns() + s->timeout_ms * 1000000ULL;
	int ret;

	while ((ret = kmig_vmmp_msg_send(conn, buf, len, fds, nr_fds)) == -EAGAIN) {
		ret = wait_conn(s, conn, POLLOUT, deadline);
		if (ret == 0)
			return -EPIPE;
		if (ret < 0)
			return ret;
	}
	return ret;
}

static int send_reply(struct req *r, int ret, uint64_t ns)
{
	struct kmig_vmmp_hdr *h = (void *)r->s->tx.bytes;
	struct kmig_vmmp_reply *rep = (void *)(h + 1);
	uint32_t len = (uint32_t)(sizeof(*h) + sizeof(*rep));

	*rep = (struct kmig_vmmp_reply) { .duration_ns = ns };
	if (ret) {
		rep->error = (uint32_t)-ret;
		if (!r->err.msg[0])
			snprintf(r->err.msg, sizeof(r->err.msg), "%s: %s",
				 req_name(r), strerror(-ret));
		rep->text_len = (uint32_t)strlen(r->err.msg);
		memcpy(rep + 1, r->err.msg, rep->text_len);
		len += rep->text_len;
		r->nr_fds = 0;
	} else {
		len += r->out_len;
	}
	*h = (struct kmig_vmmp_hdr) {
		.magic = KMIG_VMMP_MAGIC, .type = r->hdr->type,
		.flags = KMIG_VMMP_HDR_F_REPLY, .len = len, .seq = r->hdr->seq,
	};
	return send_bounded(r->s, r->conn, h, len, r->fds, r->nr_fds);
}

/* Handle one received message: always exactly one reply. */
static int handle(struct kmig_vmmp_server *s, int conn)
{
	struct kmig_vmmp_msg *m = &s->rx;
	struct kmig_vmmp_hdr hdr = { 0 };
	struct req r = {
		.s = s, .conn = conn, .hdr = &hdr,
		.out = s->tx.bytes + sizeof(struct kmig_vmmp_hdr) +
		       sizeof(struct kmig_vmmp_reply),
	};
	uint64_t t0 = kmig_vmmp_now_ns();
	int ret;

	memcpy(&hdr, m->buf.bytes, m->len < sizeof(hdr) ? m->len : sizeof(hdr));
	if (m->len < sizeof(hdr)) {
		hdr.type = 0;
		ret = kmig_vmmp_errf(&r.err, -EBADMSG,
				     "message of %u bytes is shorter than the %zu-byte header",
				     m->len, sizeof(hdr));
	} else {
		ret = check_envelope(&r, m);
	}
	kmig_vmmp_msg_drop_fds(m);
	if (!ret) {
		r.in = m->buf.bytes + sizeof(hdr);
		r.in_len = m->len - (uint32_t)sizeof(hdr);
		ret = handlers[hdr.type](&r);
	}
	ret = send_reply(&r, ret, kmig_vmmp_now_ns() - t0);
	/* The guest starts after COMMIT's reply has gone: its vCPUs taking
	 * the cores must not hold the reply up (the source's pause lasts
	 * until the destination's RESUMED). Whatever happened to the reply,
	 * the VMM said it committed: the guest runs. */
	if (s->committed && s->ops->run)
		s->ops->run(s->ctx);
	s->committed = 0;
	if (!ret && s->quit && s->ops->quit)
		s->ops->quit(s->ctx, s->quit_flags, &r.err);
	return ret;
}

static void reset_session(struct kmig_vmmp_server *s)
{
	s->version = 0;
	s->quit = 0;
	s->quit_flags = 0;
	free(s->dev_out);
	s->dev_out = NULL;
	s->dev_out_len = 0;
	drop_dev_in(s);
}

/*
 * The session loop. Until HELLO succeeds the client has the server's
 * timeout to send it (a silent connection, or one trickling bytes, must
 * not hold the VMM's only session); after HELLO a helper may stay idle as
 * long as it likes (a destination helper waits for its source).
 */
static int serve(struct kmig_vmmp_server *s, int conn)
{
	uint64_t hello_deadline = kmig_vmmp_now_ns() + s->timeout_ms * 1000000ULL;
	int ret;

	while (!s->quit) {
		ret = wait_conn(s, conn, POLLIN, s->version ? 0 : hello_deadline);
		if (ret <= 0)
			return ret;
		ret = kmig_vmmp_msg_recv(conn, &s->rx);
		if (ret == -EAGAIN)
			continue;
		if (ret == -ENODATA)
			return 0;
		if (ret)
			return ret;
		ret = handle(s, conn);
		if (ret)
			return ret;
	}
	return 0;
}

/* Who may connect: the VMM's own user or root (vmm_proto_server.h), as
 * the kernel saw the peer at connect(): a helper gets the VM fd and guest
 * memory, whatever mode the socket was given. */
static int peer_allowed(int conn)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &uc, &len))
		return errno == ENOPROTOOPT || errno == EOPNOTSUPP ? 0 : -errno;
	return uc.uid == geteuid() || uc.uid == 0 ? 0 : -EACCES;
}

int kmig_vmmp_server_serve(struct kmig_vmmp_server *s, int conn, int cancel_fd)
{
	int fl = fcntl(conn, F_GETFL), ret = peer_allowed(conn);

	if (ret)
		return ret;

	/* Every wait is a poll() with a deadline or the cancel fd. */
	if (fl < 0 || fcntl(conn, F_SETFL, fl | O_NONBLOCK))
		return -errno;
	reset_session(s);
	s->cancel_fd = cancel_fd;
	ret = serve(s, conn);
	reset_session(s);
	s->cancel_fd = -1;
	fcntl(conn, F_SETFL, fl);
	return ret;
}

void kmig_vmmp_server_set_timeout(struct kmig_vmmp_server *s, unsigned int ms)
{
	s->timeout_ms = ms ?: KMIG_VMMP_SERVER_TIMEOUT_MS;
}

/* The helper maps the memfds: they must never shrink (vmm_proto_server.h). */
static bool shrink_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & F_SEAL_SHRINK);
}

/* The VM description must be self-consistent before anything is served. */
static int check_vm(const struct kmig_vmmp_vm *vm)
{
	uint32_t i, j;

	if (vm->nr_slots == 0 || vm->nr_slots > KMIG_VMMP_MAX_SLOTS ||
	    vm->nr_memfds == 0 || vm->nr_memfds > KMIG_VMMP_MAX_MEMFDS)
		return -EINVAL;
	for (i = 0; i < vm->nr_slots; i++) {
		const struct kmig_vmmp_slot *a = &vm->slots[i];
		struct stat st;

		if (a->memfd >= vm->nr_memfds || !a->size ||
		    (a->gpa | a->size | a->offset) % KMIG_VMMP_PAGE_SIZE ||
		    a->gpa + a->size < a->gpa || a->offset + a->size < a->offset)
			return -EINVAL;
		if (fstat(vm->memfds[a->memfd], &st) ||
		    (uint64_t)st.st_size < a->offset + a->size)
			return -EINVAL;
		if (!shrink_sealed(vm->memfds[a->memfd]))
			return -EPERM;
		for (j = 0; j < i; j++) {
			const struct kmig_vmmp_slot *b = &vm->slots[j];

			if (a->slot == b->slot ||
			    (a->gpa < b->gpa + b->size && b->gpa < a->gpa + a->size))
				return -EINVAL;
		}
	}
	return 0;
}

static int make_bitmap_buffer(struct kmig_vmmp_server *s)
{
	uint64_t i, max = 0;

	for (i = 0; i < s->vm.nr_slots; i++) {
		uint64_t b = kmig_vmmp_bitmap_bytes(s->slots[i].size /
						    KMIG_VMMP_PAGE_SIZE);
		max = b > max ? b : max;
	}
	s->bitmap_size = (max + 4095) & ~4095ULL;
	s->bitmap_fd = memfd_create("kmig-vmmp-bitmap", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->bitmap_fd < 0)
		return -errno;
	if (ftruncate(s->bitmap_fd, (off_t)s->bitmap_size) ||
	    fcntl(s->bitmap_fd, F_ADD_SEALS, F_SEAL_SHRINK))
		return -errno;
	s->bitmap = mmap(NULL, s->bitmap_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, s->bitmap_fd, 0);
	if (s->bitmap == MAP_FAILED) {
		s->bitmap = NULL;
		return -errno;
	}
	return 0;
}

/*
 * The ops are copied: a VMM built against KMIG_0.1's header passes a
 * struct that ends at ->quit, and the members added since must read as
 * NULL ("not offered") for it, not as whatever follows its struct.
 */
static int server_create(const struct kmig_vmmp_vm *vm, const struct kmig_vmmp_ops *ops,
			 size_t ops_size, void *ctx, struct kmig_vmmp_server **out)
{
	struct kmig_vmmp_server *s;
	int ret = check_vm(vm);

	if (ret)
		return ret;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->bitmap_fd = -1;
	s->cancel_fd = -1;
	s->timeout_ms = KMIG_VMMP_SERVER_TIMEOUT_MS;
	s->vm = *vm;
	memcpy(&s->ops_copy, ops, ops_size);
	s->ops = &s->ops_copy;
	s->ctx = ctx;
	s->slots = calloc(vm->nr_slots, sizeof(*s->slots));
	s->memfds = calloc(vm->nr_memfds, sizeof(*s->memfds));
	s->logging = calloc(vm->nr_slots, 1);
	ret = -ENOMEM;
	if (!s->slots || !s->memfds || !s->logging)
		goto err;
	memcpy(s->slots, vm->slots, vm->nr_slots * sizeof(*s->slots));
	memcpy(s->memfds, vm->memfds, vm->nr_memfds * sizeof(*s->memfds));
	s->vm.slots = s->slots;
	s->vm.memfds = s->memfds;
	ret = make_bitmap_buffer(s);
	if (ret)
		goto err;
	*out = s;
	return 0;
err:
	kmig_vmmp_server_destroy(s);
	return ret;
}

/* KMIG_0.1's struct kmig_vmmp_ops: up to and including ->quit. */
#define OPS_SIZE_0_1	offsetof(struct kmig_vmmp_ops, drop_device_state)

/* The name's default version (KMIG_0.2): what builds against this
 * header call. */
int kmig_vmmp_server_create_0_2(const struct kmig_vmmp_vm *vm,
				const struct kmig_vmmp_ops *ops, void *ctx,
				struct kmig_vmmp_server **out);
int kmig_vmmp_server_create_0_2(const struct kmig_vmmp_vm *vm,
				const struct kmig_vmmp_ops *ops, void *ctx,
				struct kmig_vmmp_server **out)
{
	return server_create(vm, ops, sizeof(*ops), ctx, out);
}
KMIG_SYMVER(kmig_vmmp_server_create_0_2, "kmig_vmmp_server_create@@KMIG_0.2");

/* What binaries linked against KMIG_0.1 call. */
int kmig_vmmp_server_create_0_1(const struct kmig_vmmp_vm *vm,
				const struct kmig_vmmp_ops *ops, void *ctx,
				struct kmig_vmmp_server **out);
int kmig_vmmp_server_create_0_1(const struct kmig_vmmp_vm *vm,
				const struct kmig_vmmp_ops *ops, void *ctx,
				struct kmig_vmmp_server **out)
{
	return server_create(vm, ops, OPS_SIZE_0_1, ctx, out);
}
KMIG_SYMVER(kmig_vmmp_server_create_0_1, "kmig_vmmp_server_create@KMIG_0.1");

void kmig_vmmp_server_destroy(struct kmig_vmmp_server *s)
{
	if (!s)
		return;
	reset_session(s);
	if (s->bitmap)
		munmap(s->bitmap, s->bitmap_size);
	if (s->bitmap_fd >= 0)
		close(s->bitmap_fd);
	free(s->slots);
	free(s->memfds);
	free(s->logging);
	free(s);
}

void kmig_vmmp_server_set_vm_flags(struct kmig_vmmp_server *s, uint32_t flags)
{
	s->vm.vm_flags = flags;
}

static int serve_once(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
		      const struct kmig_vmmp_ops *ops, size_t ops_size, void *ctx)
{
	struct kmig_vmmp_server *s;
	int ret = server_create(vm, ops, ops_size, ctx, &s);

	if (ret)
		return ret;
	ret = kmig_vmmp_server_serve(s, conn, cancel_fd);
	kmig_vmmp_server_destroy(s);
	return ret;
}

int kmig_vmmp_serve_0_2(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
			const struct kmig_vmmp_ops *ops, void *ctx);
int kmig_vmmp_serve_0_2(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
			const struct kmig_vmmp_ops *ops, void *ctx)
{
	return serve_once(conn, cancel_fd, vm, ops, sizeof(*ops), ctx);
}
KMIG_SYMVER(kmig_vmmp_serve_0_2, "kmig_vmmp_serve@@KMIG_0.2");

int kmig_vmmp_serve_0_1(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
			const struct kmig_vmmp_ops *ops, void *ctx);
int kmig_vmmp_serve_0_1(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
			const struct kmig_vmmp_ops *ops, void *ctx)
{
	return serve_once(conn, cancel_fd, vm, ops, OPS_SIZE_0_1, ctx);
}
KMIG_SYMVER(kmig_vmmp_serve_0_1, "kmig_vmmp_serve@KMIG_0.1");
