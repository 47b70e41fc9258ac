// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/net.h"

int kmig_net_split(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (!colon) {			/* just a port */
		host[0] = '\0';
		return snprintf(port, plen, "%s", addr) < (int)plen && *addr ? 0 : -EINVAL;
	}
	n = colon - addr;
	if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
		addr++;
		n -= 2;
	}
	if (n >= hlen || !colon[1] || snprintf(port, plen, "%s", colon + 1) >= (int)plen)
		return -EINVAL;
	memcpy(host, addr, n);
	host[n] = '\0';
	return 0;
}

static int resolve(const char *host, const char *port, bool passive, struct addrinfo **res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = passive ? AI_PASSIVE : 0,
	};
	int ret = getaddrinfo(host && *host ? host : NULL, port, &hints, res);

	if (ret == EAI_SYSTEM)
		return -errno;
	return ret ? -EADDRNOTAVAIL : 0;
}

int kmig_net_listen(const char *host, const char *port, int *fd, uint16_t *bound_port)
{
	struct addrinfo *res, *ai;
	int ret, s = -1, one = 1;

	ret = resolve(host, port, true, &res);
	if (ret)
		return ret;
	ret = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (s < 0) {
			ret = -errno;
			continue;
		}
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(s, ai->ai_addr, ai->ai_addrlen) && !listen(s, KMIG_MAX_BACKLOG))
			break;
		ret = -errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return ret;
	if (bound_port) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		getsockname(s, (struct sockaddr *)&ss, &len);
		*bound_port = ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port);
	}
	*fd = s;
	return 0;
}

int kmig_net_accept(int lfd, int timeout_ms, int *fd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&p, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	if (ret < 0)
		return -errno;
	if (!ret)
		return -ETIMEDOUT;
	ret = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (ret < 0)
		return -errno;
	*fd = ret;
	return 0;
}

int kmig_net_connect(const char *host, const char *port, int *fd)
{
	struct addrinfo *res, *ai;
	int ret, s = -1;

	ret = resolve(host, port, false, &res);
	if (ret)
		return ret;
	ret = -EADDRNOTAVAIL;
	for (ai = res; ai; ai = ai->ai_next) {
		s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		if (s < 0) {
			ret = -errno;
			continue;
		}
		if (!connect(s, ai->ai_addr, ai->ai_addrlen))
			break;
		ret = -errno;
		close(s);
		s = -1;
	}
	freeaddrinfo(res);
	if (s < 0)
		return ret;
	*fd = s;
	return 0;
}

void kmig_net_peer_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN], port[8];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV)) {
		snprintf(buf, len, "?");
		return;
	}
	snprintf(buf, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s", host, port);
}

static bool addr_loopback(const struct sockaddr *sa)
{
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (sa->sa_family == AF_INET)
		return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
	return sa->sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
}

bool kmig_net_is_loopback(const char *host)
{
	struct addrinfo *res, *ai;
	bool lo = true;

	if (!host || !*host || resolve(host, "0", true, &res))
		return false;
	for (ai = res; ai; ai = ai->ai_next)
		lo = lo && addr_loopback(ai->ai_addr);
	freeaddrinfo(res);
	return lo;
}

void kmig_net_tune(int fd)
{
	int one = 1, idle = 10, intvl = 5, cnt = 3;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

int kmig_net_set_timeout(int fd, int timeout_ms)
{
	struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = timeout_ms % 1000 * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

int kmig_net_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = recv(fd, p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (!n)
			return -ECONNRESET;	/* peer closed mid-stream */
		p += n;
		len -= n;
	}
	return 0;
}

int kmig_net_write_full(int fd, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return kmig_net_writev_full(fd, &iov, 1);
}

/* Past @n bytes of @iov[*cnt]: drops the iovecs done, trims the next. */
static struct iovec *iov_advance(struct iovec *iov, int *cnt, size_t n)
{
	while (*cnt && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		(*cnt)--;
	}
	if (*cnt) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

/* All of @iov through one socket: received (@rx) or sent. */
static int xfer_full(int fd, struct iovec *iov, int cnt, bool rx)
{
	while (cnt) {
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = cnt };
		ssize_t n = rx ? recvmsg(fd, &msg, MSG_WAITALL) : sendmsg(fd, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		if (!n && rx)
			return -ECONNRESET;	/* peer closed mid-stream */
		iov = iov_advance(iov, &cnt, n);
	}
	return 0;
}

int kmig_net_writev_full(int fd, struct iovec *iov, int cnt)
{
	return xfer_full(fd, iov, cnt, false);
}

int kmig_net_readv_full(int fd, struct iovec *iov, int cnt)
{
	return xfer_full(fd, iov, cnt, true);
}
