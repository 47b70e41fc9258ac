// SPDX-License-Identifier: GPL-2.0
/*
 * kmig VMM protocol: message transport shared by both sides. One message
 * per SOCK_SEQPACKET packet; file descriptors travel as SCM_RIGHTS.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kmig/vmm_proto.h"

#define FDS_MAX (KMIG_VMMP_MAX_MEMFDS + KMIG_VMMP_FIXED_FDS)

static const char *const type_names[KMIG_VMMP_NR_TYPES] = {
	[KMIG_VMMP_HELLO] = "HELLO",
	[KMIG_VMMP_GET_SLOTS] = "GET_SLOTS",
	[KMIG_VMMP_DIRTY_LOG_START] = "DIRTY_LOG_START",
	[KMIG_VMMP_GET_DIRTY_LOG] = "GET_DIRTY_LOG",
	[KMIG_VMMP_CLEAR_DIRTY_LOG] = "CLEAR_DIRTY_LOG",
	[KMIG_VMMP_DIRTY_LOG_STOP] = "DIRTY_LOG_STOP",
	[KMIG_VMMP_PAUSE] = "PAUSE",
	[KMIG_VMMP_RESUME] = "RESUME",
	[KMIG_VMMP_GET_DEVICE_STATE] = "GET_DEVICE_STATE",
	[KMIG_VMMP_SET_DEVICE_STATE] = "SET_DEVICE_STATE",
	[KMIG_VMMP_COMMIT] = "COMMIT",
	[KMIG_VMMP_THROTTLE] = "THROTTLE",
	[KMIG_VMMP_QUERY] = "QUERY",
	[KMIG_VMMP_QUIT] = "QUIT",
	[KMIG_VMMP_DROP_DEVICE_STATE] = "DROP_DEVICE_STATE",
};

const char *kmig_vmmp_type_name(uint32_t type)
{
	if (type < KMIG_VMMP_NR_TYPES && type_names[type])
		return type_names[type];
	return "UNKNOWN";
}

uint64_t kmig_vmmp_bitmap_bytes(uint64_t pages)
{
	return (pages / 64 + (pages % 64 != 0)) * 8;
}

uint64_t kmig_vmmp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void kmig_vmmp_msg_drop_fds(struct kmig_vmmp_msg *m)
{
	int i;

	for (i = 0; i < m->nr_fds; i++)
		close(m->fds[i]);
	m->nr_fds = 0;
}

/* Collect the SCM_RIGHTS fds of @mh into @m (extra ones are closed). */
static void take_fds(struct msghdr *mh, struct kmig_vmmp_msg *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n, i;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nr_fds < FDS_MAX)
				m->fds[m->nr_fds++] = fd;
			else
				close(fd);
		}
	}
	m->fds_cut = !!(mh->msg_flags & MSG_CTRUNC);
}

/*
 * Receive one message. Returns 0 with m->len bytes, -ENODATA on orderly
 * shutdown by the peer (or an empty packet, which looks the same), -errno
 * on socket errors. A message longer than KMIG_VMMP_MAX_MSG returns 0 with
 * m->truncated set (m->len is the real length), and a message with more
 * fds than fit returns 0 with m->fds_cut set, so that the caller can
 * answer with a clear error.
 */
int kmig_vmmp_msg_recv(int sock, struct kmig_vmmp_msg *m)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
	} ctl;
	struct iovec iov = { m->buf.bytes, sizeof(m->buf) };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	m->nr_fds = 0;
	m->truncated = 0;
	do {
		n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC | MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	take_fds(&mh, m);
	if (n == 0 && m->nr_fds == 0 && !m->fds_cut)
		return -ENODATA;
	m->len = (uint32_t)((size_t)n > UINT32_MAX ? UINT32_MAX : (size_t)n);
	m->truncated = (mh.msg_flags & MSG_TRUNC) || n > KMIG_VMMP_MAX_MSG;
	return 0;
}

int kmig_vmmp_msg_send(int sock, const void *buf, uint32_t len,
		       const int *fds, int nr_fds)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (nr_fds > FDS_MAX || len > KMIG_VMMP_MAX_MSG)
		return -EMSGSIZE;
	if (nr_fds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nr_fds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nr_fds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nr_fds);
	}
	do {
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}
