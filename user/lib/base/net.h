/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP plumbing for the channels: listen, accept with a deadline, connect,
 * full reads and writes that survive EINTR and short transfers. Every call
 * returns 0 or -errno; a peer that closes mid-message gives -ECONNRESET.
 */
#ifndef KMIG_NET_H
#define KMIG_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define KMIG_ADDR_MAX 256
/*
 * The default bound on a peer's silence once a session runs: a channel
 * that receives nothing, or cannot send anything, for this long fails the
 * session (a stalled or hung peer; TCP keepalive only finds dead hosts).
 * Generous: a live peer writing to a slow disk still moves bytes.
 */
#define KMIG_IDLE_TIMEOUT_MS	120000

#define KMIG_MAX_BACKLOG 128

/* "host:port", "[v6]:port" or ":port"/"port" (any address). */
int kmig_net_split(const char *addr, char *host, size_t hlen, char *port, size_t plen);

/* @host NULL or "" means any address. @bound_port (may be NULL) gets the
 * port, useful with port 0. */
int kmig_net_listen(const char *host, const char *port, int *fd, uint16_t *bound_port);
/* -ETIMEDOUT when no connection arrives within @timeout_ms (< 0: forever). */
int kmig_net_accept(int lfd, int timeout_ms, int *fd);
int kmig_net_connect(const char *host, const char *port, int *fd);

/* "address:port" of the connected peer of @fd ("?" if unknown). */
void kmig_net_peer_name(int fd, char *buf, size_t len);
/* Whether @host (as kmig_net_listen() takes it) only binds loopback
 * addresses: NULL/"" (any address) is not. */
bool kmig_net_is_loopback(const char *host);

/* Socket options of a data channel: TCP_NODELAY (SYNC round trips),
 * keepalive so that a dead host ends a blocked read. */
void kmig_net_tune(int fd);

int kmig_net_read_full(int fd, void *buf, size_t len);
int kmig_net_write_full(int fd, const void *buf, size_t len);
/* Writes all of @iov (modified in place). */
int kmig_net_writev_full(int fd, struct iovec *iov, int cnt);
/* Fills all of @iov (modified in place), e.g. straight into pages. */
int kmig_net_readv_full(int fd, struct iovec *iov, int cnt);
/* Bounded wait for a reply during the handshake. */
int kmig_net_set_timeout(int fd, int timeout_ms);

#endif /* KMIG_NET_H */
