/* SPDX-License-Identifier: GPL-2.0 */
/* Internals of the sender, shared by send.c (the stream) and send_chan.c
 * (one channel's thread). */
#ifndef KMIG_SEND_INT_H
#define KMIG_SEND_INT_H

#include <pthread.h>
#include <stdbool.h>

#include "codec/autocomp.h"
#include "pages/pass.h"
#include "codec/codec.h"
#include "base/errbuf.h"
#include "pages/pool.h"
#include "base/ratelimit.h"
#include "stream/send.h"
#include "pages/stats.h"
#include "stream/wire.h"
#include "tls/tls.h"

struct kmig_send_chan {
	struct kmig_send *s;
	unsigned int id;
	int fd;
	struct kmig_tls_conn *tls;	/* NULL: plaintext */
	struct kmig_codec codec;
	struct kmig_pass pass;	/* zero pages, data pages staged once */
	struct kmig_autocomp ac;
	uint8_t *cbuf;		/* compressed batch */
	uint8_t *lists;		/* zero and data lists, encoded */
	uint64_t seq, rx_seq;	/* next sequence out / expected in */
	struct kmig_err err;	/* this thread's detail, copied by kmig_send_fail */
	struct kmig_chan_stats stats;
};

struct kmig_send {
	struct kmig_send_opts o;
	const struct kmig_ram *ram;
	struct kmig_pool pool;	/* the channel threads, their queues, the failure */
	uint8_t session[KMIG_SESSION_ID_LEN];
	struct kmig_send_chan *chans;
	unsigned int nr;
	unsigned int nr_init;	/* channels initialised (cleanup bound) */
	struct kmig_ratelimit rl;
	/* Each data page carries its page sum: plaintext without
	 * o.no_page_sums (TLS's record tags protect its pages instead). */
	bool psum;

	const void *devstate;
	size_t devstate_len;
	uint64_t t_start, t_setup, t_pages, t_end;
	bool finished;		/* END acknowledged on every channel */
	bool prepared;		/* PREPARED read since that END */
};

/* Fail the stream once (kmig_pool_fail()): record the error, shut the
 * sockets, wake all. */
int kmig_send_fail(struct kmig_send *s, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

int kmig_send_chan_init(struct kmig_send_chan *ch, struct kmig_send *s, unsigned int id);
void kmig_send_chan_fini(struct kmig_send_chan *ch);
/* One work item of the pool (pool.h) on this channel. */
int kmig_send_chan_work(struct kmig_send_chan *ch, const struct kmig_work *w);
/* Frame and write one packet that is not PAGES, with its payload. */
int kmig_send_chan_write(struct kmig_send_chan *ch, struct kmig_pkt_hdr *h,
			 const void *payload, size_t payload_len);
/* Read one receiver->sender packet and its body (at most @cap bytes) into
 * @body; an ERROR packet becomes the channel's error (-EREMOTEIO). */
int kmig_send_chan_read(struct kmig_send_chan *ch, struct kmig_pkt_hdr *h, void *body,
			size_t cap);

#endif /* KMIG_SEND_INT_H */
