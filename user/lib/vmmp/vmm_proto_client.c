// SPDX-License-Identifier: GPL-2.0
/*
 * kmig VMM protocol, helper side. Requests are strictly one at a time: send,
 * then wait for the reply with the same sequence number. Replies are
 * validated as carefully as the VMM validates requests: a VMM is another
 * program, possibly written in another language.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "kmig/vmm_proto_client.h"

struct kmig_vmmp_client {
	int sock;
	uint32_t seq;
	struct kmig_vmmp_client_opts o;
	int dead;		/* -errno: a wait was abandoned, the session is over */
	char dead_why[96];
	struct kmig_vmmp_info info;
	char err[KMIG_VMMP_TEXT_MAX + 64];
	uint64_t duration_ns;
	int bitmap_fd;
	uint64_t *bitmap;
	uint64_t bitmap_size;
	struct kmig_vmmp_msg rx;
	union {
		uint64_t align;
		uint8_t bytes[KMIG_VMMP_MAX_MSG];
	} tx;
};

/* A reply's payload, valid until the next request. */
struct reply {
	const uint8_t *data;
	uint32_t len;
};

static int fail(struct kmig_vmmp_client *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct kmig_vmmp_client *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

/* Bounds of one wait: the request's deadline, cut short by a cancel. */
struct wait {
	uint64_t deadline;
	bool cancel_armed;	/* no cancel yet when the request started */
	bool cancelled;		/* a cancel came during this request */
};

static void wait_begin(struct kmig_vmmp_client *c, struct wait *w)
{
	w->deadline = kmig_vmmp_now_ns() + c->o.timeout_ms * 1000000ULL;
	w->cancel_armed = c->o.cancelled && !c->o.cancelled(c->o.cancel_arg);
	w->cancelled = false;
}

/*
 * Wait until the socket is ready for @events: 0, -ETIMEDOUT past the
 * deadline, -ECANCELED after a cancel's grace, or -errno. A cancel that
 * came before the request began does not count: requests a caller makes
 * after it (its clean-up: RESUME, QUIT) get the whole timeout.
 */
static int wait_sock(struct kmig_vmmp_client *c, struct wait *w, short events)
{
	struct pollfd p = { .fd = c->sock, .events = events };

	for (;;) {
		uint64_t now = kmig_vmmp_now_ns(), left;
		int n;

		if (w->cancel_armed && !w->cancelled && c->o.cancelled(c->o.cancel_arg)) {
			uint64_t grace = now + KMIG_VMMP_CANCEL_GRACE_MS * 1000000ULL;

			w->cancelled = true;
			w->deadline = grace < w->deadline ? grace : w->deadline;
		}
		if (now >= w->deadline)
			return w->cancelled ? -ECANCELED : -ETIMEDOUT;
		left = (w->deadline - now + 999999) / 1000000;
		/* With a cancel to watch, look at it every POLL_TICK_MS. */
		if (w->cancel_armed && !w->cancelled && left > KMIG_VMMP_POLL_TICK_MS)
			left = KMIG_VMMP_POLL_TICK_MS;
		n = poll(&p, 1, (int)left);
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n > 0)
			return 0;
	}
}

/* A wait gave up: the late reply would arrive out of turn, so the session
 * is over; later requests fail at once and the VMM sees the hang-up. */
static int abandon(struct kmig_vmmp_client *c, int err, bool sending, uint16_t type)
{
	const char *name = kmig_vmmp_type_name(type);
	const char *what = sending ? "sending the request" : "waiting for the reply";

	c->dead = err;
	snprintf(c->dead_why, sizeof(c->dead_why), "%s %s", name,
		 err == -ECANCELED ? "was cancelled" : "timed out");
	shutdown(c->sock, SHUT_RDWR);
	if (err == -ECANCELED)
		return fail(c, err, "%s: cancelled while %s (no answer within %u ms of the cancel)",
			    name, what, KMIG_VMMP_CANCEL_GRACE_MS);
	return fail(c, err, "%s: timed out after %u ms %s: the VMM does not answer%s",
		    name, c->o.timeout_ms, what,
		    type == KMIG_VMMP_HELLO ? " (is it serving another session?)" : "");
}

static int send_bounded(struct kmig_vmmp_client *c, struct wait *w, uint16_t type,
			const void *buf, uint32_t len)
{
	int ret;

	while ((ret = kmig_vmmp_msg_send(c->sock, buf, len, NULL, 0)) == -EAGAIN) {
		ret = wait_sock(c, w, POLLOUT);
		if (ret == -ETIMEDOUT || ret == -ECANCELED)
			return abandon(c, ret, true, type);
		if (ret)
			break;
	}
	if (ret)
		return fail(c, ret, "%s: send: %s", kmig_vmmp_type_name(type), strerror(-ret));
	return 0;
}

static int recv_bounded(struct kmig_vmmp_client *c, struct wait *w, uint16_t type)
{
	int ret;

	while ((ret = kmig_vmmp_msg_recv(c->sock, &c->rx)) == -EAGAIN) {
		ret = wait_sock(c, w, POLLIN);
		if (ret == -ETIMEDOUT || ret == -ECANCELED)
			return abandon(c, ret, false, type);
		if (ret)
			break;
	}
	if (ret)
		return fail(c, ret == -ENODATA ? -ECONNRESET : ret,
			    "%s: no reply: %s", kmig_vmmp_type_name(type),
			    ret == -ENODATA ? "VMM closed the connection" : strerror(-ret));
	return 0;
}

static int check_reply_hdr(struct kmig_vmmp_client *c, uint16_t type,
			   const struct kmig_vmmp_msg *m)
{
	const struct kmig_vmmp_hdr *h = &m->buf.hdr;
	const char *name = kmig_vmmp_type_name(type);

	if (m->truncated || m->len < sizeof(*h) + sizeof(struct kmig_vmmp_reply))
		return fail(c, -EBADMSG, "%s reply: %u bytes, expected %zu..%u",
			    name, m->len, sizeof(*h) + sizeof(struct kmig_vmmp_reply),
			    KMIG_VMMP_MAX_MSG);
	if (h->magic != KMIG_VMMP_MAGIC || h->len != m->len ||
	    h->flags != KMIG_VMMP_HDR_F_REPLY)
		return fail(c, -EPROTO,
			    "%s reply: magic 0x%08x len %u flags 0x%x, expected 0x%08x %u 0x%x",
			    name, h->magic, h->len, h->flags, KMIG_VMMP_MAGIC,
			    m->len, KMIG_VMMP_HDR_F_REPLY);
	if (h->type != type || h->seq != c->seq)
		return fail(c, -EPROTO, "%s reply: type %u seq %u, expected %u %u",
			    name, h->type, h->seq, type, c->seq);
	return 0;
}

/* Error replies become -errno with the VMM's text in c->err. */
static int check_reply_status(struct kmig_vmmp_client *c, uint16_t type,
			      const struct kmig_vmmp_msg *m, struct reply *out)
{
	struct kmig_vmmp_reply rep;
	uint32_t room = m->len - (uint32_t)(sizeof(struct kmig_vmmp_hdr) + sizeof(rep));
	const uint8_t *p = m->buf.bytes + sizeof(struct kmig_vmmp_hdr);

	memcpy(&rep, p, sizeof(rep));
	c->duration_ns = rep.duration_ns;
	if (rep.text_len > room || rep.text_len > KMIG_VMMP_TEXT_MAX ||
	    rep.error > 4095 || (!rep.error && rep.text_len))
		return fail(c, -EPROTO, "%s reply: error %u text_len %u in %u bytes",
			    kmig_vmmp_type_name(type), rep.error, rep.text_len, room);
	if (rep.error) {
		snprintf(c->err, sizeof(c->err), "%.*s", (int)rep.text_len,
			 (const char *)(p + sizeof(rep)));
		return -(int)rep.error;
	}
	out->data = p + sizeof(rep);
	out->len = room;
	return 0;
}

/*
 * One round trip. File descriptors are only accepted when @fds_ok; they
 * stay in c->rx for the caller then.
 */
static int transact(struct kmig_vmmp_client *c, uint16_t type,
		    const void *payload, uint32_t len, struct reply *out,
		    int fds_ok)
{
	struct kmig_vmmp_hdr *h = (void *)c->tx.bytes;
	struct wait w;
	int ret;

	if (len > KMIG_VMMP_MAX_MSG - sizeof(*h))
		return fail(c, -EMSGSIZE, "%s: %u-byte payload too long",
			    kmig_vmmp_type_name(type), len);
	c->err[0] = 0;
	c->duration_ns = 0;
	if (c->dead)
		return fail(c, c->dead, "%s: not sent: %s earlier, the session is over",
			    kmig_vmmp_type_name(type), c->dead_why);
	*h = (struct kmig_vmmp_hdr) {
		.magic = KMIG_VMMP_MAGIC, .type = type,
		.len = (uint32_t)sizeof(*h) + len, .seq = ++c->seq,
	};
	if (len)
		memcpy(h + 1, payload, len);
	wait_begin(c, &w);
	ret = send_bounded(c, &w, type, h, h->len);
	if (!ret)
		ret = recv_bounded(c, &w, type);
	if (ret)
		return ret;
	ret = check_reply_hdr(c, type, &c->rx);
	if (!ret)
		ret = check_reply_status(c, type, &c->rx, out);
	if (!ret && (c->rx.fds_cut || (!fds_ok && c->rx.nr_fds)))
		ret = fail(c, -EPROTO, "%s reply: unexpected file descriptors",
			   kmig_vmmp_type_name(type));
	if (ret)
		kmig_vmmp_msg_drop_fds(&c->rx);
	return ret;
}

/* A transaction whose reply payload must be exactly @size bytes. */
static int call(struct kmig_vmmp_client *c, uint16_t type, const void *payload,
		uint32_t len, void *out, uint32_t size)
{
	struct reply r;
	int ret = transact(c, type, payload, len, &r, 0);

	if (ret)
		return ret;
	if (r.len != size)
		return fail(c, -EBADMSG, "%s reply: %u payload bytes, expected %u",
			    kmig_vmmp_type_name(type), r.len, size);
	if (size)
		memcpy(out, r.data, size);
	return 0;
}

static int call_simple(struct kmig_vmmp_client *c, uint16_t type, uint32_t flags)
{
	struct kmig_vmmp_simple q = { .flags = flags };

	return call(c, type, &q, sizeof(q), NULL, 0);
}

int kmig_vmmp_request(struct kmig_vmmp_client *c, uint16_t type,
		      const void *payload, uint32_t len, void *out,
		      uint32_t out_len, uint32_t *out_got)
{
	struct reply r;
	int ret = transact(c, type, payload, len, &r, 0);

	if (ret)
		return ret;
	if (out_got)
		*out_got = r.len;
	if (out && out_len)
		memcpy(out, r.data, r.len < out_len ? r.len : out_len);
	return 0;
}

static int hello(struct kmig_vmmp_client *c, const char *name)
{
	struct kmig_vmmp_hello q = {
		.min_version = KMIG_VMMP_VERSION, .max_version = KMIG_VMMP_VERSION,
	};
	struct kmig_vmmp_hello_reply a;
	int ret;

	strncpy(q.name, name ? name : "", sizeof(q.name) - 1);
	ret = call(c, KMIG_VMMP_HELLO, &q, sizeof(q), &a, sizeof(a));
	if (ret)
		return ret;
	if (a.version != KMIG_VMMP_VERSION || a.page_size != KMIG_VMMP_PAGE_SIZE ||
	    a.nr_slots == 0 || a.nr_slots > KMIG_VMMP_MAX_SLOTS)
		return fail(c, -EPROTO,
			    "HELLO reply: version %u page_size %u nr_slots %u, expected %u %u 1..%u",
			    a.version, a.page_size, a.nr_slots, KMIG_VMMP_VERSION,
			    KMIG_VMMP_PAGE_SIZE, KMIG_VMMP_MAX_SLOTS);
	c->info = (struct kmig_vmmp_info) {
		.version = a.version, .ops = a.ops, .nr_vcpus = a.nr_vcpus,
		.nr_slots = a.nr_slots, .page_size = a.page_size,
		.vm_flags = a.vm_flags,
	};
	memcpy(c->info.name, a.name, sizeof(a.name));
	return 0;
}

/* The reason a connect or HELLO failed, for the caller (opts->err). */
static void __attribute__((format(printf, 2, 3)))
opts_why(const struct kmig_vmmp_client_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->err || !o->err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(o->err, o->err_len, fmt, ap);
	va_end(ap);
}

int kmig_vmmp_client_open_opts(int sock, const struct kmig_vmmp_client_opts *o,
			       struct kmig_vmmp_client **out)
{
	struct kmig_vmmp_client *c = calloc(1, sizeof(*c));
	int ret;

	if (!c) {
		close(sock);
		return -ENOMEM;
	}
	c->sock = sock;
	c->bitmap_fd = -1;
	c->o = *o;
	c->o.timeout_ms = o->timeout_ms ?: KMIG_VMMP_TIMEOUT_MS;
	/* Every wait is a poll() with a deadline: the socket never blocks. */
	ret = fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK) ? -errno : 0;
	if (!ret)
		ret = hello(c, o->name);
	if (ret) {
		/* Keep the reason for a caller that only gets -errno. */
		opts_why(o, "%s", c->err[0] ? c->err : strerror(-ret));
		kmig_vmmp_client_close(c);
		return ret;
	}
	*out = c;
	return 0;
}

int kmig_vmmp_client_open(int sock, const char *name,
			  struct kmig_vmmp_client **out)
{
	struct kmig_vmmp_client_opts o = { .name = name };

	return kmig_vmmp_client_open_opts(sock, &o, out);
}

/*
 * A unix connect() waits while the VMM's listen backlog is full; without
 * blocking it fails with EAGAIN, so retry until the deadline (or cancel).
 */
static int connect_bounded(int sock, const struct sockaddr_un *sa,
			   const struct kmig_vmmp_client_opts *o)
{
	unsigned int timeout = o->timeout_ms ?: KMIG_VMMP_TIMEOUT_MS;
	uint64_t deadline = kmig_vmmp_now_ns() + timeout * 1000000ULL;

	while (connect(sock, (const struct sockaddr *)sa, sizeof(*sa))) {
		if (errno != EAGAIN && errno != EINTR) {
			opts_why(o, "%s", strerror(errno));
			return -errno;
		}
		if (o->cancelled && o->cancelled(o->cancel_arg)) {
			opts_why(o, "cancelled while connecting");
			return -ECANCELED;
		}
		if (kmig_vmmp_now_ns() >= deadline) {
			opts_why(o, "the VMM did not accept within %u ms", timeout);
			return -ETIMEDOUT;
		}
		poll(NULL, 0, 20);
	}
	return 0;
}

int kmig_vmmp_connect_opts(const char *path, const struct kmig_vmmp_client_opts *o,
			   struct kmig_vmmp_client **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int sock, ret;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		opts_why(o, "the socket's path is longer than %zu bytes", sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (sock < 0)
		return -errno;
	ret = connect_bounded(sock, &sa, o);
	if (ret) {
		close(sock);
		return ret;
	}
	return kmig_vmmp_client_open_opts(sock, o, out);
}

int kmig_vmmp_connect(const char *path, const char *name,
		      struct kmig_vmmp_client **out)
{
	struct kmig_vmmp_client_opts o = { .name = name };

	return kmig_vmmp_connect_opts(path, &o, out);
}

static void unmap_bitmap(struct kmig_vmmp_client *c)
{
	if (c->bitmap)
		munmap(c->bitmap, c->bitmap_size);
	if (c->bitmap_fd >= 0)
		close(c->bitmap_fd);
	c->bitmap = NULL;
	c->bitmap_fd = -1;
}

void kmig_vmmp_client_close(struct kmig_vmmp_client *c)
{
	if (!c)
		return;
	unmap_bitmap(c);
	close(c->sock);
	free(c);
}

const struct kmig_vmmp_info *kmig_vmmp_info(const struct kmig_vmmp_client *c)
{
	return &c->info;
}

const char *kmig_vmmp_last_error(const struct kmig_vmmp_client *c)
{
	return c->err;
}

uint64_t kmig_vmmp_last_duration_ns(const struct kmig_vmmp_client *c)
{
	return c->duration_ns;
}

int kmig_vmmp_client_fd(const struct kmig_vmmp_client *c)
{
	return c->sock;
}

static int fd_size_at_least(int fd, uint64_t size)
{
	struct stat st;

	return !fstat(fd, &st) && (uint64_t)st.st_size >= size;
}

/*
 * The helper maps what the VMM passes: if the VMM could shrink a memfd
 * later, the helper's next access to the lost range would be a SIGBUS.
 * A memfd sealed with F_SEAL_SHRINK can never shrink (the seal cannot be
 * removed), so that is what the protocol requires, checked before the
 * size (which the seal then keeps true).
 */
static int check_sealed(struct kmig_vmmp_client *c, int fd, const char *what)
{
	int seals = fcntl(fd, F_GET_SEALS);

	if (seals >= 0 && (seals & F_SEAL_SHRINK))
		return 0;
	if (seals < 0)
		return fail(c, -EPROTO,
			    "GET_SLOTS reply: the %s takes no seals, it is no memfd (F_GET_SEALS: %s); "
			    "the VMM must pass memfds sealed with F_SEAL_SHRINK",
			    what, strerror(errno));
	return fail(c, -EPROTO,
		    "GET_SLOTS reply: the %s is not sealed against shrinking (seals 0x%x, no "
		    "F_SEAL_SHRINK); the VMM must seal the memfds it passes", what, seals);
}

static int check_slot(struct kmig_vmmp_client *c, const struct kmig_vmmp_slot_desc *d,
		      const struct kmig_vmmp_slots_reply *h, const int *memfds)
{
	if (d->memfd >= h->nr_memfds || !d->size || d->reserved ||
	    (d->gpa | d->size | d->offset) % KMIG_VMMP_PAGE_SIZE ||
	    d->gpa + d->size < d->gpa || d->offset + d->size < d->offset ||
	    kmig_vmmp_bitmap_bytes(d->size / KMIG_VMMP_PAGE_SIZE) > h->bitmap_size)
		return fail(c, -EPROTO,
			    "GET_SLOTS reply: bad slot %u (memfd %u of %u, gpa 0x%llx size 0x%llx offset 0x%llx)",
			    d->slot, d->memfd, h->nr_memfds,
			    (unsigned long long)d->gpa, (unsigned long long)d->size,
			    (unsigned long long)d->offset);
	if (!fd_size_at_least(memfds[d->memfd], d->offset + d->size))
		return fail(c, -EPROTO,
			    "GET_SLOTS reply: slot %u passes the end of memfd %u",
			    d->slot, d->memfd);
	return 0;
}

static int build_memmap(struct kmig_vmmp_client *c, const struct reply *r,
			struct kmig_vmmp_memmap *m)
{
	struct kmig_vmmp_slots_reply h;
	const struct kmig_vmmp_slot_desc *d;
	uint32_t i;
	int ret;

	memcpy(&h, r->data, sizeof(h));
	d = (const void *)(r->data + sizeof(h));
	m->nr_memfds = h.nr_memfds;
	m->memfds = calloc(h.nr_memfds, sizeof(int));
	m->slots = calloc(h.nr_slots, sizeof(*m->slots));
	if (!m->memfds || !m->slots)
		return -ENOMEM;
	for (i = 0; i < h.nr_memfds; i++)
		m->memfds[i] = -1;
	m->vm_fd = c->rx.fds[0];
	for (i = 0; i < h.nr_memfds; i++)
		m->memfds[i] = c->rx.fds[KMIG_VMMP_FIXED_FDS + i];
	for (i = 0; i < h.nr_memfds; i++) {
		char what[32];

		snprintf(what, sizeof(what), "memfd %u", i);
		ret = check_sealed(c, m->memfds[i], what);
		if (ret)
			return ret;
	}
	for (i = 0; i < h.nr_slots; i++) {
		ret = check_slot(c, &d[i], &h, m->memfds);
		if (ret)
			return ret;
		m->slots[i] = (struct kmig_vmmp_memslot) {
			.slot = d[i].slot, .memfd = d[i].memfd,
			.flags = d[i].flags, .gpa = d[i].gpa,
			.size = d[i].size, .offset = d[i].offset,
		};
		m->nr_slots = i + 1;
	}
	return 0;
}

static int take_bitmap(struct kmig_vmmp_client *c, int fd, uint64_t size)
{
	int ret = check_sealed(c, fd, "bitmap buffer memfd");
	void *p;

	if (ret)
		return ret;
	if (!size || size > (1ULL << 40) || !fd_size_at_least(fd, size))
		return fail(c, -EPROTO, "GET_SLOTS reply: bad bitmap buffer of %llu bytes",
			    (unsigned long long)size);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return fail(c, -errno, "GET_SLOTS: mmap bitmap buffer: %s",
			    strerror(errno));
	unmap_bitmap(c);
	c->bitmap = p;
	c->bitmap_size = size;
	c->bitmap_fd = fd;
	return 0;
}

static int check_slots_reply(struct kmig_vmmp_client *c, const struct reply *r)
{
	struct kmig_vmmp_slots_reply h;

	if (r->len < sizeof(h))
		return fail(c, -EBADMSG, "GET_SLOTS reply: %u bytes", r->len);
	memcpy(&h, r->data, sizeof(h));
	if (!h.nr_slots || h.nr_slots > KMIG_VMMP_MAX_SLOTS || !h.nr_memfds ||
	    h.nr_memfds > KMIG_VMMP_MAX_MEMFDS ||
	    r->len != sizeof(h) + h.nr_slots * sizeof(struct kmig_vmmp_slot_desc) ||
	    c->rx.nr_fds != (int)(KMIG_VMMP_FIXED_FDS + h.nr_memfds))
		return fail(c, -EPROTO,
			    "GET_SLOTS reply: %u slots, %u memfds, %u bytes, %d fds do not agree",
			    h.nr_slots, h.nr_memfds, r->len, c->rx.nr_fds);
	return 0;
}

int kmig_vmmp_get_slots(struct kmig_vmmp_client *c, struct kmig_vmmp_memmap **out)
{
	struct kmig_vmmp_simple q = { 0 };
	struct kmig_vmmp_memmap *m = NULL;
	struct kmig_vmmp_slots_reply h;
	struct reply r;
	int ret = transact(c, KMIG_VMMP_GET_SLOTS, &q, sizeof(q), &r, 1);

	if (ret)
		return ret;
	ret = check_slots_reply(c, &r);
	if (ret)
		goto err_fds;
	memcpy(&h, r.data, sizeof(h));
	ret = take_bitmap(c, c->rx.fds[1], h.bitmap_size);
	if (ret)
		goto err_fds;
	c->rx.fds[1] = -1;	/* now c->bitmap_fd */
	m = calloc(1, sizeof(*m));
	if (!m) {
		ret = -ENOMEM;
		goto err_fds;
	}
	m->vm_fd = -1;
	c->rx.nr_fds = 0;	/* every fd below now belongs to m */
	ret = build_memmap(c, &r, m);
	if (ret)
		goto err;
	*out = m;
	return 0;
err_fds:
	for (int i = 0; i < c->rx.nr_fds; i++)
		if (c->rx.fds[i] >= 0)
			close(c->rx.fds[i]);
	c->rx.nr_fds = 0;
err:
	kmig_vmmp_memmap_free(m);
	return ret;
}

int kmig_vmmp_memmap_map(struct kmig_vmmp_memmap *m, int prot)
{
	uint32_t i;

	for (i = 0; i < m->nr_slots; i++) {
		struct kmig_vmmp_memslot *s = &m->slots[i];
		void *p;

		if (s->host)
			continue;
		p = mmap(NULL, s->size, prot, MAP_SHARED, m->memfds[s->memfd],
			 (off_t)s->offset);
		if (p == MAP_FAILED)
			return -errno;
		s->host = p;
	}
	m->mapped_prot = prot;
	return 0;
}

void *kmig_vmmp_memmap_gpa(const struct kmig_vmmp_memmap *m, uint64_t gpa,
			   uint64_t len)
{
	uint32_t i;

	for (i = 0; i < m->nr_slots; i++) {
		const struct kmig_vmmp_memslot *s = &m->slots[i];

		if (s->host && gpa >= s->gpa && gpa - s->gpa <= s->size &&
		    len <= s->size - (gpa - s->gpa))
			return (uint8_t *)s->host + (gpa - s->gpa);
	}
	return NULL;
}

void kmig_vmmp_memmap_free(struct kmig_vmmp_memmap *m)
{
	uint32_t i;

	if (!m)
		return;
	for (i = 0; m->slots && i < m->nr_slots; i++)
		if (m->slots[i].host)
			munmap(m->slots[i].host, m->slots[i].size);
	for (i = 0; m->memfds && i < m->nr_memfds; i++)
		if (m->memfds[i] >= 0)
			close(m->memfds[i]);
	if (m->vm_fd >= 0)
		close(m->vm_fd);
	free(m->memfds);
	free(m->slots);
	free(m);
}

static int dirty_log_set(struct kmig_vmmp_client *c, uint16_t type,
			 const uint32_t *slots, uint32_t n)
{
	uint8_t buf[sizeof(struct kmig_vmmp_dirty_log_set) + 4 * KMIG_VMMP_MAX_SLOTS];
	struct kmig_vmmp_dirty_log_set q = { .nr_slots = slots ? n : 0 };

	if (q.nr_slots > KMIG_VMMP_MAX_SLOTS)
		return fail(c, -EINVAL, "%s: %u slots, at most %u",
			    kmig_vmmp_type_name(type), n, KMIG_VMMP_MAX_SLOTS);
	memcpy(buf, &q, sizeof(q));
	if (q.nr_slots)
		memcpy(buf + sizeof(q), slots, 4 * (size_t)q.nr_slots);
	return call(c, type, buf, (uint32_t)sizeof(q) + 4 * q.nr_slots, NULL, 0);
}

int kmig_vmmp_dirty_log_start(struct kmig_vmmp_client *c, const uint32_t *slots,
			      uint32_t n)
{
	return dirty_log_set(c, KMIG_VMMP_DIRTY_LOG_START, slots, n);
}

int kmig_vmmp_dirty_log_stop(struct kmig_vmmp_client *c, const uint32_t *slots,
			     uint32_t n)
{
	return dirty_log_set(c, KMIG_VMMP_DIRTY_LOG_STOP, slots, n);
}

int kmig_vmmp_get_dirty_log(struct kmig_vmmp_client *c, uint32_t slot,
			    uint64_t *bitmap, uint64_t words,
			    uint64_t *nr_dirty, uint64_t *num_pages)
{
	struct kmig_vmmp_get_dirty_log q = { .slot = slot };
	struct kmig_vmmp_dirty_log_reply a;
	int ret;

	if (!c->bitmap)
		return fail(c, -ENOTCONN,
			    "GET_DIRTY_LOG: no bitmap buffer yet: call kmig_vmmp_get_slots first");
	ret = call(c, KMIG_VMMP_GET_DIRTY_LOG, &q, sizeof(q), &a, sizeof(a));
	if (ret)
		return ret;
	if (a.bitmap_bytes != kmig_vmmp_bitmap_bytes(a.num_pages) ||
	    a.bitmap_bytes > c->bitmap_size || a.nr_dirty > a.num_pages)
		return fail(c, -EPROTO,
			    "GET_DIRTY_LOG reply: %llu pages, %llu bitmap bytes, %llu dirty (buffer %llu)",
			    (unsigned long long)a.num_pages,
			    (unsigned long long)a.bitmap_bytes,
			    (unsigned long long)a.nr_dirty,
			    (unsigned long long)c->bitmap_size);
	if (words * 8 < a.bitmap_bytes)
		return fail(c, -ENOSPC, "GET_DIRTY_LOG: slot %u needs %llu words, got %llu",
			    slot, (unsigned long long)a.bitmap_bytes / 8,
			    (unsigned long long)words);
	memcpy(bitmap, c->bitmap, a.bitmap_bytes);
	if (nr_dirty)
		*nr_dirty = a.nr_dirty;
	if (num_pages)
		*num_pages = a.num_pages;
	return 0;
}

int kmig_vmmp_clear_dirty_log(struct kmig_vmmp_client *c, uint32_t slot,
			      uint64_t first, uint64_t num, const uint64_t *bitmap)
{
	struct kmig_vmmp_clear_dirty_log q = {
		.slot = slot, .first_page = first, .num_pages = num,
	};
	uint64_t bytes = kmig_vmmp_bitmap_bytes(num);

	if (!c->bitmap)
		return fail(c, -ENOTCONN,
			    "CLEAR_DIRTY_LOG: no bitmap buffer yet: call kmig_vmmp_get_slots first");
	if (bytes > c->bitmap_size)
		return fail(c, -ERANGE, "CLEAR_DIRTY_LOG: %llu pages exceed the bitmap buffer",
			    (unsigned long long)num);
	memcpy(c->bitmap, bitmap, bytes);
	return call(c, KMIG_VMMP_CLEAR_DIRTY_LOG, &q, sizeof(q), NULL, 0);
}

int kmig_vmmp_pause(struct kmig_vmmp_client *c)
{
	return call_simple(c, KMIG_VMMP_PAUSE, 0);
}

int kmig_vmmp_resume(struct kmig_vmmp_client *c)
{
	return call_simple(c, KMIG_VMMP_RESUME, 0);
}

int kmig_vmmp_commit(struct kmig_vmmp_client *c)
{
	return call_simple(c, KMIG_VMMP_COMMIT, 0);
}

int kmig_vmmp_drop_device_state(struct kmig_vmmp_client *c)
{
	return call_simple(c, KMIG_VMMP_DROP_DEVICE_STATE, 0);
}

int kmig_vmmp_quit(struct kmig_vmmp_client *c, uint32_t flags)
{
	return call_simple(c, KMIG_VMMP_QUIT, flags);
}

int kmig_vmmp_query(struct kmig_vmmp_client *c, struct kmig_vmmp_status *st)
{
	struct kmig_vmmp_simple q = { 0 };

	return call(c, KMIG_VMMP_QUERY, &q, sizeof(q), st, sizeof(*st));
}

int kmig_vmmp_throttle(struct kmig_vmmp_client *c, uint32_t percent,
		       uint32_t *previous)
{
	struct kmig_vmmp_throttle q = { .percent = percent };
	struct kmig_vmmp_throttle_reply a;
	int ret = call(c, KMIG_VMMP_THROTTLE, &q, sizeof(q), &a, sizeof(a));

	if (!ret && previous)
		*previous = a.previous;
	return ret;
}

/* One GET_DEVICE_STATE chunk at @off into *blob (allocated at offset 0). */
static int get_chunk(struct kmig_vmmp_client *c, uint64_t off, uint8_t **blob,
		     uint64_t *total)
{
	struct kmig_vmmp_get_device_state q = {
		.offset = off, .max_len = KMIG_VMMP_CHUNK_MAX,
	};
	struct kmig_vmmp_device_state_chunk h;
	struct reply r;
	int ret = transact(c, KMIG_VMMP_GET_DEVICE_STATE, &q, sizeof(q), &r, 0);

	if (ret)
		return ret;
	if (r.len < sizeof(h))
		return fail(c, -EBADMSG, "GET_DEVICE_STATE reply: %u bytes", r.len);
	memcpy(&h, r.data, sizeof(h));
	if (h.offset != off || h.len != r.len - sizeof(h) || h.flags ||
	    !h.total_len || h.total_len > KMIG_VMMP_MAX_DEVSTATE ||
	    (off && h.total_len != *total) || h.len > h.total_len - off ||
	    (!h.len && off < h.total_len))
		return fail(c, -EPROTO,
			    "GET_DEVICE_STATE reply: chunk %u bytes at %llu of %llu, asked offset %llu",
			    h.len, (unsigned long long)h.offset,
			    (unsigned long long)h.total_len, (unsigned long long)off);
	if (!off) {
		*total = h.total_len;
		*blob = malloc(h.total_len);
		if (!*blob)
			return -ENOMEM;
	}
	memcpy(*blob + off, r.data + sizeof(h), h.len);
	return (int)h.len;
}

int kmig_vmmp_get_device_state(struct kmig_vmmp_client *c, void **blob,
			       size_t *len)
{
	uint8_t *buf = NULL;
	uint64_t off = 0, total = 0;
	int n;

	do {
		n = get_chunk(c, off, &buf, &total);
		if (n < 0) {
			free(buf);
			return n;
		}
		off += (uint64_t)n;
	} while (off < total);
	*blob = buf;
	*len = total;
	return 0;
}

int kmig_vmmp_set_device_state(struct kmig_vmmp_client *c, const void *blob,
			       size_t len)
{
	static const uint32_t room = KMIG_VMMP_CHUNK_MAX;
	struct kmig_vmmp_set_device_state_reply a;
	uint8_t buf[sizeof(struct kmig_vmmp_device_state_chunk) + KMIG_VMMP_CHUNK_MAX];
	uint64_t off = 0;
	int ret;

	if (!len || len > KMIG_VMMP_MAX_DEVSTATE)
		return fail(c, -EFBIG, "SET_DEVICE_STATE: %zu bytes outside 1..%u",
			    len, KMIG_VMMP_MAX_DEVSTATE);
	do {
		struct kmig_vmmp_device_state_chunk h = {
			.total_len = len, .offset = off,
			.len = (uint32_t)(len - off < room ? len - off : room),
		};

		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), (const uint8_t *)blob + off, h.len);
		ret = call(c, KMIG_VMMP_SET_DEVICE_STATE, buf,
			   (uint32_t)sizeof(h) + h.len, &a, sizeof(a));
		if (ret)
			return ret;
		off += h.len;
		if (a.received != off || a.complete != (off == len))
			return fail(c, -EPROTO,
				    "SET_DEVICE_STATE reply: received %llu complete %u after %llu of %zu",
				    (unsigned long long)a.received, a.complete,
				    (unsigned long long)off, len);
	} while (off < len);
	return 0;
}
