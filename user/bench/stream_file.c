// SPDX-License-Identifier: GPL-2.0
/*
 * The baseline of the snapshot benchmark (bench/snapshot_bench.sh): the
 * plain migration stream written to files and read back, with the real
 * stream engine on both sides.
 *
 *   stream_file record --vmm SOCKET --dir DIR [-c N]
 *     the VMM's guest RAM (GET_SLOTS, the guest paused by the caller) sent
 *     by kmig_send over N socketpairs; a recorder thread per channel
 *     appends everything the sender writes (hello, block table, pages,
 *     SYNC, END) to DIR/chanI with write() (buffered, as `cat > file`
 *     would), answers the hello, SYNC and END as a receiver would, then
 *     fsync()s and drops the file from the page cache (so that the replay
 *     reads the disk).
 *   stream_file replay --dir DIR [-c N]
 *     the recorded files fed back into kmig_recv over N socketpairs,
 *     which validates every packet and writes the pages into fresh memfds.
 * Each prints one JSON line: bytes of stream, pages, seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/bits.h"
#include "json.h"
#include "base/net.h"
#include "vmmp/ram_vmm.h"
#include "stream/recv.h"
#include "stream/send.h"
#include "kmig/vmm_proto_client.h"
#include "stream/wire.h"

#define BUF (1U << 20)
/* No device state in this stream: pages and the table are the largest. */
#define PKT_MAX (KMIG_HDR_SIZE + KMIG_MAX(KMIG_PAGES_BODY_MAX, KMIG_TABLE_BODY_MAX))

struct chan {
	unsigned int id;
	int sock, file;
	pthread_t thread;
	uint64_t bytes;
	int err;
};

static int append(struct chan *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n) {
		ssize_t w = write(c->file, b, n);

		if (w <= 0)
			return w < 0 && errno == EINTR ? 0 : -EIO;
		b += w;
		n -= w;
		c->bytes += w;
	}
	return 0;
}

static int reply(struct chan *c, uint8_t type, uint64_t arg, uint64_t *seq)
{
	struct kmig_pkt_hdr h = { .type = type, .arg = arg, .seq = (*seq)++ };
	uint8_t buf[KMIG_HDR_SIZE];

	return kmig_net_write_full(c->sock, buf, kmig_pkt_build(buf, &h, NULL, 0));
}

/* One channel as a receiver that only writes the stream to its file. */
static void *record_main(void *arg)
{
	struct chan *c = arg;
	struct kmig_hello_reply r = { .channel = c->id };
	uint8_t *buf = malloc(PKT_MAX), rb[KMIG_REPLY_SIZE];
	struct kmig_pkt_hdr h;
	struct kmig_err e = { 0 };
	uint64_t seq = 0;

	c->err = !buf ? -ENOMEM : kmig_net_read_full(c->sock, buf, KMIG_HELLO_SIZE);
	if (!c->err) {
		kmig_reply_encode(rb, &r);
		c->err = append(c, buf, KMIG_HELLO_SIZE) ?:
			 kmig_net_write_full(c->sock, rb, sizeof(rb));
	}
	while (!c->err) {
		c->err = kmig_net_read_full(c->sock, buf, KMIG_HDR_SIZE) ?:
			 kmig_hdr_decode(buf, &h, &e);
		if (!c->err && kmig_hdr_body_len(&h) > PKT_MAX - KMIG_HDR_SIZE)
			c->err = -EMSGSIZE;
		if (!c->err)
			c->err = kmig_net_read_full(c->sock, buf + KMIG_HDR_SIZE,
						    kmig_hdr_body_len(&h)) ?:
				 append(c, buf, KMIG_HDR_SIZE + kmig_hdr_body_len(&h));
		if (!c->err && h.type == KMIG_PKT_SYNC)
			c->err = reply(c, KMIG_PKT_SYNC_ACK, h.arg, &seq);
		if (!c->err && h.type == KMIG_PKT_END) {
			c->err = reply(c, KMIG_PKT_END_ACK, h.arg, &seq);
			break;
		}
	}
	if (e.code)
		fprintf(stderr, "channel %u: %s\n", c->id, e.msg);
	free(buf);
	return NULL;
}

/* One channel's file back into the receiver. */
static void *replay_main(void *arg)
{
	struct chan *c = arg;
	uint8_t *buf = malloc(BUF);
	ssize_t n;

	c->err = buf ? 0 : -ENOMEM;
	while (!c->err && (n = read(c->file, buf, BUF)) > 0) {
		c->err = kmig_net_write_full(c->sock, buf, n);
		c->bytes += n;
	}
	free(buf);
	return NULL;
}

static int open_chans(struct chan *ch, unsigned int n, const char *dir, int flags, int *peer)
{
	char path[512];
	int sv[2];

	for (unsigned int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/chan%u", dir, i);
		ch[i].id = i;
		ch[i].file = open(path, flags | O_CLOEXEC, 0600);
		if (ch[i].file < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
			perror(path);
			return -errno;
		}
		ch[i].sock = sv[0];
		peer[i] = sv[1];
	}
	return 0;
}

static int run_threads(struct chan *ch, unsigned int n, void *(*fn)(void *))
{
	for (unsigned int i = 0; i < n; i++)
		if (pthread_create(&ch[i].thread, NULL, fn, &ch[i]))
			return -EAGAIN;
	return 0;
}

static int join(struct chan *ch, unsigned int n, uint64_t *bytes)
{
	int err = 0;

	for (unsigned int i = 0; i < n; i++) {
		pthread_join(ch[i].thread, NULL);
		err = err ?: ch[i].err;
		*bytes += ch[i].bytes;
	}
	return err;
}


/* One line of JSON for the driver script, through the CLI's writer. */
static void print_result(uint64_t bytes, uint64_t pages, double seconds)
{
	struct json j;

	json_init(&j, stdout, true);
	json_obj(&j, NULL);
	json_u64(&j, "bytes", bytes);
	json_u64(&j, "pages", pages);
	json_double(&j, "seconds", seconds, 4);
	json_end(&j);	/* the top level's end writes the newline */
}

static int record(const char *vmm, const char *dir, unsigned int n)
{
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_memmap *mm;
	struct kmig_send_opts so;
	struct chan ch[KMIG_MAX_CHANNELS] = { 0 };
	struct kmig_stats st;
	struct kmig_ram ram;
	struct kmig_send *s;
	int peer[KMIG_MAX_CHANNELS];
	uint64_t bytes = 0, t0;
	int ret;

	kmig_ram_init(&ram);
	ret = kmig_vmmp_connect(vmm, "stream_file", &c) ?: kmig_vmmp_get_slots(c, &mm) ?:
	      kmig_ram_from_vmm(&ram, mm, false);
	if (ret)
		return fprintf(stderr, "VMM %s: %s\n", vmm, strerror(-ret)), ret;
	kmig_send_opts_init(&so);
	so.nr_channels = n;
	ret = open_chans(ch, n, dir, O_WRONLY | O_CREAT | O_TRUNC, peer) ?:
	      kmig_send_create(&s, &so, &ram);
	if (ret)
		return ret;
	t0 = kmig_now_ns();
	ret = run_threads(ch, n, record_main) ?: kmig_send_start(s, peer) ?:
	      kmig_send_queue_all(s) ?: kmig_send_finish(s, NULL, 0);
	if (ret)
		fprintf(stderr, "stream: %s\n", kmig_send_error(s));
	ret = join(ch, n, &bytes) ?: ret;
	for (unsigned int i = 0; i < n && !ret; i++)
		if (fsync(ch[i].file))
			ret = -errno;
	kmig_send_stats(s, &st);
	print_result(bytes, st.sum.pages_raw, (kmig_now_ns() - t0) / 1e9);
	for (unsigned int i = 0; i < n; i++) {
		posix_fadvise(ch[i].file, 0, 0, POSIX_FADV_DONTNEED);
		close(ch[i].file);
		close(ch[i].sock);
	}
	kmig_send_destroy(s);
	kmig_ram_free(&ram);
	kmig_vmmp_memmap_free(mm);
	kmig_vmmp_client_close(c);
	return ret;
}

static int replay(const char *dir, unsigned int n)
{
	struct chan ch[KMIG_MAX_CHANNELS] = { 0 };
	struct kmig_recv_opts ro = { 0 };
	int peer[KMIG_MAX_CHANNELS], ret;
	struct kmig_stats st;
	struct kmig_ram ram;
	struct kmig_recv *r;
	uint64_t bytes = 0, t0;

	kmig_ram_init(&ram);
	ret = open_chans(ch, n, dir, O_RDONLY, peer) ?: kmig_recv_create(&r, &ro, &ram);
	if (ret)
		return ret;
	t0 = kmig_now_ns();
	ret = kmig_recv_set_fds(r, peer, n) ?: run_threads(ch, n, replay_main) ?:
	      kmig_recv_run(r);
	if (ret)
		fprintf(stderr, "receive: %s\n", kmig_recv_error(r));
	ret = join(ch, n, &bytes) ?: ret;
	kmig_recv_stats(r, &st);
	print_result(bytes, st.sum.pages_raw, (kmig_now_ns() - t0) / 1e9);
	for (unsigned int i = 0; i < n; i++) {
		close(ch[i].file);
		close(ch[i].sock);
	}
	kmig_recv_destroy(r);
	kmig_ram_free(&ram);
	return ret;
}

int main(int argc, char **argv)
{
	const char *vmm = NULL, *dir = NULL;
	unsigned int n = 2;
	int c;

	while ((c = getopt(argc - 1, argv + 1, "s:d:c:")) != -1) {
		if (c == 's')
			vmm = optarg;
		else if (c == 'd')
			dir = optarg;
		else if (c == 'c' && atoi(optarg) > 0 && atoi(optarg) <= KMIG_MAX_CHANNELS)
			n = atoi(optarg);
		else
			goto usage;
	}
	if (argc > 1 && !strcmp(argv[1], "record") && vmm && dir)
		return record(vmm, dir, n) ? 1 : 0;
	if (argc > 1 && !strcmp(argv[1], "replay") && dir)
		return replay(dir, n) ? 1 : 0;
usage:
	fprintf(stderr, "usage: stream_file record -s VMM_SOCKET -d DIR [-c N]\n"
		"       stream_file replay -d DIR [-c N]\n");
	return 2;
}
