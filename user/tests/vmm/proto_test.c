// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile VMM protocol messages, sent raw: each gets an error reply with the
 * right errno and a text that says what was wrong, the session goes on, and
 * the VMM and its guest survive.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "tutil.h"

FIXTURE(proto) {
	struct tvmm t;
	int fd;
	uint32_t seq;
	struct kmig_vmmp_msg rx;
};

static int raw_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

/* Send @len bytes as one message (a header is the caller's business). */
static int send_raw(FIXTURE_DATA(proto) *self, const void *buf, uint32_t len,
		    int fd_to_pass)
{
	if (fd_to_pass >= 0)
		return kmig_vmmp_msg_send(self->fd, buf, len, &fd_to_pass, 1);
	/* Plain send(): the library itself refuses oversized messages. */
	return send(self->fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -errno;
}

/* Build header + payload with @hdr_len as the header's length field. */
static int send_req(FIXTURE_DATA(proto) *self, uint32_t magic, uint16_t type,
		    uint16_t flags, const void *payload, uint32_t len, int lie)
{
	static uint8_t buf[KMIG_VMMP_MAX_MSG + 4096];
	struct kmig_vmmp_hdr h = {
		.magic = magic, .type = type, .flags = flags,
		.len = (uint32_t)sizeof(h) + len + (uint32_t)lie, .seq = ++self->seq,
	};

	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), payload, len);
	return send_raw(self, buf, (uint32_t)sizeof(h) + len, -1);
}

/* Receive the reply; returns its errno (0 ok) and checks type/seq echo. */
static int reply(struct __test_metadata *_metadata, FIXTURE_DATA(proto) *self,
		 uint16_t type, char *text, size_t text_len)
{
	struct kmig_vmmp_reply rep;
	const struct kmig_vmmp_hdr *h = &self->rx.buf.hdr;

	EXPECT_EQ(0, kmig_vmmp_msg_recv(self->fd, &self->rx));
	EXPECT_GE(self->rx.len, sizeof(*h) + sizeof(rep));
	EXPECT_EQ(KMIG_VMMP_MAGIC, h->magic);
	EXPECT_EQ(KMIG_VMMP_HDR_F_REPLY, h->flags);
	EXPECT_EQ(type, h->type);
	EXPECT_EQ(self->seq, h->seq);
	EXPECT_EQ(self->rx.len, h->len);
	memcpy(&rep, self->rx.buf.bytes + sizeof(*h), sizeof(rep));
	snprintf(text, text_len, "%.*s", (int)rep.text_len,
		 (const char *)self->rx.buf.bytes + sizeof(*h) + sizeof(rep));
	EXPECT_EQ(0, self->rx.nr_fds);
	return (int)rep.error;
}

/* A request must fail with @err and a text containing @needle. */
#define EXPECT_REJECT(type, payload, len, err, needle) do {			\
	char _t[KMIG_VMMP_TEXT_MAX + 1];					\
	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, type, 0, payload, len, 0));\
	ASSERT_EQ(err, reply(_metadata, self, type, _t, sizeof(_t)));		\
	TH_LOG("%s -> %s", kmig_vmmp_type_name(type), _t);			\
	ASSERT_NE(NULL, strstr(_t, needle));					\
} while (0)

static int hello(struct __test_metadata *_metadata, FIXTURE_DATA(proto) *self,
		 uint32_t min, uint32_t max, char *t, size_t tl)
{
	struct kmig_vmmp_hello h = { .min_version = min, .max_version = max };

	strcpy(h.name, "hostile");
	if (send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_HELLO, 0, &h, sizeof(h), 0))
		return -1;
	return reply(_metadata, self, KMIG_VMMP_HELLO, t, tl);
}

FIXTURE_SETUP(proto)
{
	static const char *const args[] = { "--mem", "32M", NULL };
	struct kmig_vmmp_client *c;

	ASSERT_EQ(0, tvmm_start(&self->t, args));
	ASSERT_EQ(0, tvmm_connect(&self->t, &c));	/* waits for the socket */
	kmig_vmmp_client_close(c);
	self->fd = raw_connect(self->t.sock);
	ASSERT_GE(self->fd, 0);
}

/* The VMM survived and its guest still runs. */
FIXTURE_TEARDOWN(proto)
{
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_status st;

	close(self->fd);
	EXPECT_EQ(0, tvmm_connect(&self->t, &c));
	if (c) {
		EXPECT_EQ(0, kmig_vmmp_query(c, &st));
		EXPECT_EQ(0, tvmm_wait_progress(c, st.progress, 10000));
		kmig_vmmp_client_close(c);
	}
	EXPECT_EQ(0, tvmm_stop(&self->t));
}

TEST_F(proto, framing)
{
	struct kmig_vmmp_simple q = { 0 };
	static uint8_t big[KMIG_VMMP_MAX_MSG + 100];
	char t[KMIG_VMMP_TEXT_MAX + 1];
	uint8_t junk[8] = { 1, 2, 3 };

	ASSERT_EQ(0, send_raw(self, junk, sizeof(junk), -1));	/* < header */
	self->seq = 0;
	ASSERT_EQ(EBADMSG, reply(_metadata, self, 0, t, sizeof(t)));
	ASSERT_NE(NULL, strstr(t, "shorter than the 16-byte header"));

	ASSERT_EQ(0, send_req(self, 0xdeadbeef, KMIG_VMMP_QUERY, 0, &q, sizeof(q), 0));
	ASSERT_EQ(EPROTO, reply(_metadata, self, KMIG_VMMP_QUERY, t, sizeof(t)));
	ASSERT_NE(NULL, strstr(t, "bad magic 0xdeadbeef"));

	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_QUERY, 0, &q, sizeof(q), 40));
	ASSERT_EQ(EBADMSG, reply(_metadata, self, KMIG_VMMP_QUERY, t, sizeof(t)));
	ASSERT_NE(NULL, strstr(t, "header length 64 does not match the 24 bytes"));

	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_QUERY, 0, &q, sizeof(q), -4));
	ASSERT_EQ(EBADMSG, reply(_metadata, self, KMIG_VMMP_QUERY, t, sizeof(t)));

	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_QUERY, 0, big, sizeof(big) - 16, 0));
	ASSERT_EQ(EMSGSIZE, reply(_metadata, self, KMIG_VMMP_QUERY, t, sizeof(t)));
	ASSERT_NE(NULL, strstr(t, "exceeds the maximum of 65536"));

	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_QUERY, 0x8000, &q, sizeof(q), 0));
	ASSERT_EQ(EINVAL, reply(_metadata, self, KMIG_VMMP_QUERY, t, sizeof(t)));
	ASSERT_NE(NULL, strstr(t, "header flags 0x8000"));

	/* Requests carry no fds: one sent is closed and refused. */
	{
		struct kmig_vmmp_hdr h = { KMIG_VMMP_MAGIC, KMIG_VMMP_QUERY, 0, 24, ++self->seq };
		uint8_t buf[24] = { 0 };

		memcpy(buf, &h, sizeof(h));
		ASSERT_EQ(0, send_raw(self, buf, sizeof(buf), 0));
		ASSERT_EQ(EINVAL, reply(_metadata, self, KMIG_VMMP_QUERY, t, sizeof(t)));
		ASSERT_NE(NULL, strstr(t, "file descriptors"));
	}
}

TEST_F(proto, handshake)
{
	struct kmig_vmmp_simple q = { 0 };
	struct kmig_vmmp_hello h = { .min_version = 1, .max_version = 1, .flags = 4 };
	char t[KMIG_VMMP_TEXT_MAX + 1];

	EXPECT_REJECT(KMIG_VMMP_QUERY, &q, sizeof(q), EPROTO, "send HELLO first");
	ASSERT_EQ(EPROTONOSUPPORT, hello(_metadata, self, 2, 3, t, sizeof(t)));
	ASSERT_NE(NULL, strstr(t, "client speaks versions 2..3, this VMM speaks 1..1"));
	ASSERT_EQ(EPROTONOSUPPORT, hello(_metadata, self, 1, 0, t, sizeof(t)));
	EXPECT_REJECT(KMIG_VMMP_HELLO, &h, sizeof(h), EINVAL, "flags is 0x4");
	EXPECT_REJECT(KMIG_VMMP_HELLO, &h, sizeof(h) - 4, EBADMSG, "payload is 44 bytes, expected 48");
	ASSERT_EQ(0, hello(_metadata, self, 0, 7, t, sizeof(t)));	/* 1 is in range */
	ASSERT_EQ(EISCONN, hello(_metadata, self, 1, 1, t, sizeof(t)));
	EXPECT_REJECT(99, &q, sizeof(q), EOPNOTSUPP, "unknown message type 99");
	EXPECT_REJECT(0, &q, sizeof(q), EOPNOTSUPP, "unknown message type 0");
	EXPECT_REJECT(KMIG_VMMP_QUERY, &q, 4, EBADMSG, "payload is 4 bytes, expected 8");
	q.reserved = 1;
	EXPECT_REJECT(KMIG_VMMP_QUERY, &q, sizeof(q), EINVAL, "reserved is 0x1");
}

TEST_F(proto, slots_and_ranges)
{
	char t[KMIG_VMMP_TEXT_MAX + 1];
	struct kmig_vmmp_get_dirty_log g = { .slot = 7 };
	struct kmig_vmmp_clear_dirty_log cl = { .slot = 0, .first_page = 0, .num_pages = 64 };
	uint32_t set[4] = { 0, 2, 0, 0 };	/* dirty_log_set header + slots */

	ASSERT_EQ(0, hello(_metadata, self, 1, 1, t, sizeof(t)));
	EXPECT_REJECT(KMIG_VMMP_GET_DIRTY_LOG, &g, sizeof(g), ENOENT, "slot 7 does not exist");
	g.slot = 0;
	EXPECT_REJECT(KMIG_VMMP_GET_DIRTY_LOG, &g, sizeof(g), ENOENT, "dirty logging is off on slot 0");
	/* nr_slots says 2, one slot id follows. */
	EXPECT_REJECT(KMIG_VMMP_DIRTY_LOG_START, set, 12, EBADMSG, "expected 16");
	set[1] = 1000;
	EXPECT_REJECT(KMIG_VMMP_DIRTY_LOG_START, set, 12, EINVAL, "1000 slots listed, the VM has 2");
	set[1] = 2;
	EXPECT_REJECT(KMIG_VMMP_DIRTY_LOG_START, set, 16, EINVAL, "slot 0 listed twice");
	set[3] = 0x10001;	/* address space 1 */
	EXPECT_REJECT(KMIG_VMMP_DIRTY_LOG_START, set, 16, ENOENT, "slot 65537 does not exist");
	set[1] = 0;
	set[0] = 2;
	EXPECT_REJECT(KMIG_VMMP_DIRTY_LOG_START, set, 8, EINVAL, "flags is 0x2");
	set[0] = 0;
	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_DIRTY_LOG_START, 0, set, 8, 0));
	ASSERT_EQ(0, reply(_metadata, self, KMIG_VMMP_DIRTY_LOG_START, t, sizeof(t)));

	cl.first_page = UINT64_MAX - 63;
	cl.num_pages = 128;	/* first + num wraps around */
	EXPECT_REJECT(KMIG_VMMP_CLEAR_DIRTY_LOG, &cl, sizeof(cl), ERANGE, "outside slot 0");
	cl.first_page = 64;
	cl.num_pages = UINT64_MAX;
	EXPECT_REJECT(KMIG_VMMP_CLEAR_DIRTY_LOG, &cl, sizeof(cl), ERANGE, "outside slot 0");
	cl.num_pages = 0;
	EXPECT_REJECT(KMIG_VMMP_CLEAR_DIRTY_LOG, &cl, sizeof(cl), ERANGE, "outside slot 0");
	cl.first_page = 3;
	cl.num_pages = 64;
	EXPECT_REJECT(KMIG_VMMP_CLEAR_DIRTY_LOG, &cl, sizeof(cl), EINVAL, "multiples of 64");
	cl.first_page = 0;
	cl.num_pages = 100;
	EXPECT_REJECT(KMIG_VMMP_CLEAR_DIRTY_LOG, &cl, sizeof(cl), EINVAL, "multiples of 64");
	cl.num_pages = 64;
	cl.flags = 1;
	EXPECT_REJECT(KMIG_VMMP_CLEAR_DIRTY_LOG, &cl, sizeof(cl), EINVAL, "flags is 0x1");
	cl.flags = 0;
	ASSERT_EQ(0, send_req(self, KMIG_VMMP_MAGIC, KMIG_VMMP_CLEAR_DIRTY_LOG, 0, &cl, sizeof(cl), 0));
	ASSERT_EQ(0, reply(_metadata, self, KMIG_VMMP_CLEAR_DIRTY_LOG, t, sizeof(t)));
}

TEST_F(proto, state_and_device_state)
{
	char t[KMIG_VMMP_TEXT_MAX + 1];
	struct kmig_vmmp_throttle th = { .percent = 150 };
	struct kmig_vmmp_get_device_state g = { .offset = 0, .max_len = 4096 };
	struct kmig_vmmp_simple q = { 0 };
	struct {
		struct kmig_vmmp_device_state_chunk c;
		uint8_t data[64];
	} ch = { .c = { .total_len = 100, .offset = 10, .len = 10 } };

	ASSERT_EQ(0, hello(_metadata, self, 1, 1, t, sizeof(t)));
	EXPECT_REJECT(KMIG_VMMP_THROTTLE, &th, sizeof(th), ERANGE, "percent 150 outside 0..99");
	EXPECT_REJECT(KMIG_VMMP_GET_DEVICE_STATE, &g, sizeof(g), EBUSY, "must be paused");
	g.max_len = 0;
	EXPECT_REJECT(KMIG_VMMP_GET_DEVICE_STATE, &g, sizeof(g), EINVAL, "max_len is 0");
	g.max_len = 10;
	g.offset = 100;
	EXPECT_REJECT(KMIG_VMMP_GET_DEVICE_STATE, &g, sizeof(g), EINVAL, "without a snapshot");
	EXPECT_REJECT(KMIG_VMMP_SET_DEVICE_STATE, &ch, sizeof(ch.c) + 10, EINVAL,
		      "chunk at offset 10 of 100, expected offset 0");
	ch.c.offset = 0;
	EXPECT_REJECT(KMIG_VMMP_SET_DEVICE_STATE, &ch, sizeof(ch.c) + 20, EBADMSG,
		      "payload is 44 bytes, expected 34");
	ch.c.total_len = 0;
	EXPECT_REJECT(KMIG_VMMP_SET_DEVICE_STATE, &ch, sizeof(ch.c) + 10, EFBIG, "total_len 0");
	ch.c.total_len = 1ULL << 40;
	EXPECT_REJECT(KMIG_VMMP_SET_DEVICE_STATE, &ch, sizeof(ch.c) + 10, EFBIG, "outside 1..");
	ch.c.total_len = 5;
	EXPECT_REJECT(KMIG_VMMP_SET_DEVICE_STATE, &ch, sizeof(ch.c) + 10, EINVAL, "passes total_len 5");
	ch.c.total_len = 10;	/* a whole blob, but this is not an incoming VM */
	EXPECT_REJECT(KMIG_VMMP_SET_DEVICE_STATE, &ch, sizeof(ch.c) + 10, EBUSY, "incoming VM");
	EXPECT_REJECT(KMIG_VMMP_COMMIT, &q, sizeof(q), EINVAL, "not an incoming VM");
	q.flags = 2;
	EXPECT_REJECT(KMIG_VMMP_QUIT, &q, sizeof(q), EINVAL, "flags is 0x2, allowed bits 0x1");
}

TEST_HARNESS_MAIN
