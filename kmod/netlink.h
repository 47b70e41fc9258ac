/* SPDX-License-Identifier: GPL-2.0 */
/*
 * netlink.h - the generic netlink family "kmig": statistics and events.
 */
#ifndef _KMIG_NETLINK_H
#define _KMIG_NETLINK_H

#include <linux/types.h>

struct kmig_session_info;
struct kmig_stop_req;

int kmig_nl_init(void);
void kmig_nl_uninit(void);

/* Multicast on "events" if anyone listens; may sleep. */
void kmig_nl_session_event(u32 event, const struct kmig_session_info *info);
void kmig_nl_stop_event(const struct kmig_stop_req *req);

#endif /* _KMIG_NETLINK_H */
