// SPDX-License-Identifier: GPL-2.0
/*
 * One authenticated session under TLS, over real TCP loopback and real
 * TLS 1.3 (keys and certificates made by openssl in a temporary
 * directory): a channel that does not belong to the session is refused
 * before anything is received, the refusal reported with the peer's
 * address, and the receiver keeps waiting for the real channels:
 *  - a second client with its own valid certificate (same CA) that sends
 *    a hello with the session id it sniffed (the attack that worked in
 *    plaintext);
 *  - the session's own peer with another session id;
 *  - a plaintext client replaying the session's hello;
 *  - with a pre-shared key, a channel 1 before channel 0.
 * Then a whole stream over TLS with both real channels, byte-identical.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/net.h"
#include "gen.h"
#include "stream/recv.h"
#include "stream/send.h"
#include "stream/wire.h"
#include "t.h"
#include "tls/tls.h"

#define PG KMIG_PAGE_SIZE

static char dir[] = "/tmp/kmig-tls-test.XXXXXX";

/* A CA, and two clients and a server it signs (openssl, as tls.sh). */
static int make_pki(void)
{
	char cmd[4096];

	if (!mkdtemp(dir))
		return -errno;
	snprintf(cmd, sizeof(cmd), "set -e; cd %s; umask 077; exec 2>/dev/null\n"
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 "
		 "-subj /CN=ca -keyout ca.key -out ca.pem\n"
		 "for n in dst src mallory; do mkdir $n; cp ca.pem $n/ca-cert.pem\n"
		 "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=$n "
		 "-addext subjectAltName=DNS:$n.test,IP:127.0.0.1 -keyout $n/key.pem -out $n/r.csr\n"
		 "openssl x509 -req -in $n/r.csr -CA ca.pem -CAkey ca.key -copy_extensions copy "
		 "-days 2 -out $n/cert.pem; done\n"
		 "openssl rand -hex 32 > psk\n", dir);
	return system(cmd) ? -EIO : 0;
}

static void rm_pki(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", dir);
}

static struct kmig_tls *tls_for(const char *who, bool server, bool psk)
{
	char path[512];
	struct kmig_tls_opts o = { .server = server };
	struct kmig_err e = { 0 };
	struct kmig_tls *t = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, psk ? "psk" : who);
	if (psk)
		o.psk_file = path;
	else
		o.creds_dir = path;
	if (kmig_tls_create(&t, &o, &e))
		printf("# tls %s: %s\n", who, e.msg);
	return t;
}

struct rx {
	pthread_t t;
	struct kmig_recv *r;
	struct kmig_ram ram;
	int ret;
	char port[16];
	pthread_mutex_t lock;
	unsigned int refused;
	char why[4][256];
};

static void on_refused(void *arg, const char *peer, const char *why)
{
	struct rx *rx = arg;

	pthread_mutex_lock(&rx->lock);
	if (rx->refused < 4)
		snprintf(rx->why[rx->refused], sizeof(rx->why[0]), "%s: %s", peer, why);
	rx->refused++;
	pthread_mutex_unlock(&rx->lock);
}

static void *rx_main(void *arg)
{
	struct rx *rx = arg;

	rx->ret = kmig_recv_run(rx->r);
	return NULL;
}

static int rx_start(struct rx *rx, struct kmig_tls *tls)
{
	struct kmig_recv_opts o = { .accept_timeout_ms = 20000, .tls = tls,
				    .refused = on_refused, .refused_arg = rx };
	int ret;

	memset(rx, 0, sizeof(*rx));
	pthread_mutex_init(&rx->lock, NULL);
	kmig_ram_init(&rx->ram);
	ret = kmig_recv_create(&rx->r, &o, &rx->ram);
	if (!ret)
		ret = kmig_recv_listen(rx->r, "127.0.0.1", "0");
	if (ret)
		return ret;
	snprintf(rx->port, sizeof(rx->port), "%u", kmig_recv_port(rx->r));
	return -pthread_create(&rx->t, NULL, rx_main, rx);
}

static void rx_stop(struct rx *rx)
{
	kmig_recv_cancel(rx->r, -ECANCELED);
	pthread_join(rx->t, NULL);
	kmig_recv_destroy(rx->r);
	kmig_ram_free(&rx->ram);
	pthread_mutex_destroy(&rx->lock);
}

/* Up to 10 s for the receiver to have refused @n connections. */
static bool wait_refused(struct rx *rx, unsigned int n)
{
	for (int i = 0; i < 1000; i++) {
		pthread_mutex_lock(&rx->lock);
		bool done = rx->refused >= n;

		pthread_mutex_unlock(&rx->lock);
		if (done)
			return true;
		usleep(10000);
	}
	return false;
}

/* A client channel: connect, TLS (if @tls), one hello; the connection
 * stays open in *@fd / *@c. */
static int client_hello(struct rx *rx, struct kmig_tls *tls, const uint8_t *session,
			unsigned int channel, int *fd, struct kmig_tls_conn **c)
{
	struct kmig_hello h = { .version = KMIG_WIRE_VERSION, .features = KMIG_FEAT_SYNC,
				.channel = channel, .nr_channels = 2, .page_shift = KMIG_PAGE_SHIFT,
				.chunk_pages = KMIG_CHUNK_PAGES };
	struct kmig_err e = { 0 };
	uint8_t buf[KMIG_HELLO_SIZE];
	int ret = kmig_net_connect("127.0.0.1", rx->port, fd);

	*c = NULL;
	if (!ret)
		ret = kmig_net_set_timeout(*fd, 5000);
	if (!ret && tls && (ret = kmig_tls_handshake(tls, *fd, "127.0.0.1", NULL, c, &e)))
		printf("# handshake: %s\n", e.msg);
	memcpy(h.session, session, KMIG_SESSION_ID_LEN);
	kmig_hello_encode(buf, &h);
	return ret ?: kmig_tls_write_full(*c, *fd, buf, sizeof(buf));
}

/* The reply to a hello: 0 accepted, else the refusal or a closed socket. */
static int client_reply(int fd, struct kmig_tls_conn *c)
{
	uint8_t buf[KMIG_REPLY_SIZE];
	struct kmig_hello_reply r;
	struct kmig_err e = { 0 };
	int ret = kmig_tls_read_full(c, fd, buf, sizeof(buf));

	if (!ret)
		ret = kmig_reply_decode(buf, &r, &e);
	return ret ?: -(int)r.status;
}

static void client_close(int fd, struct kmig_tls_conn *c)
{
	kmig_tls_conn_free(c);
	close(fd);
}

static void t_injected_channel(struct t_state *st)
{
	struct kmig_tls *srv = tls_for("dst", true, false), *src = tls_for("src", false, false),
			*mal = tls_for("mallory", false, false);
	uint8_t session[KMIG_SESSION_ID_LEN], other[KMIG_SESSION_ID_LEN];
	struct kmig_tls_conn *c0, *c;
	int fd0, fd, ret;
	struct rx rx;

	T_ASSERT(st, srv && src && mal, "credentials");
	T_ASSERT(st, getrandom(session, sizeof(session), 0) == sizeof(session) &&
		 getrandom(other, sizeof(other), 0) == sizeof(other), "random");
	T_ASSERT(st, rx_start(&rx, srv) == 0, "receiver");
	ret = client_hello(&rx, src, session, 0, &fd0, &c0);
	T_ASSERT(st, ret == 0 && client_reply(fd0, c0) == 0, "channel 0 accepted: %d", ret);

	/* Mallory: a valid certificate of the same CA, the sniffed id. */
	ret = client_hello(&rx, mal, session, 1, &fd, &c);
	T_EXPECT(st, ret == 0, "mallory's handshake %d", ret);
	T_EXPECT(st, client_reply(fd, c) != 0, "mallory's channel accepted");
	client_close(fd, c);
	T_EXPECT(st, wait_refused(&rx, 1), "mallory not refused");
	T_EXPECT(st, strstr(rx.why[0], "127.0.0.1:") &&
		 strstr(rx.why[0], "another certificate than channel 0's"), "%s", rx.why[0]);

	/* The session's own peer, but with another session's id. */
	ret = client_hello(&rx, src, other, 1, &fd, &c);
	T_EXPECT(st, ret == 0 && client_reply(fd, c) != 0, "other session's channel accepted");
	client_close(fd, c);
	T_EXPECT(st, wait_refused(&rx, 2) && strstr(rx.why[1], "not this session's id"), "%s",
		 rx.why[1]);

	/* A plaintext replay of the hello: refused by the TLS handshake. */
	ret = client_hello(&rx, NULL, session, 1, &fd, &c);
	T_EXPECT(st, ret == 0 && client_reply(fd, NULL) != 0, "plaintext channel accepted");
	client_close(fd, c);
	T_EXPECT(st, wait_refused(&rx, 3) && strstr(rx.why[2], "TLS handshake"), "%s", rx.why[2]);

	/* Nothing was received: no block table, no block. */
	T_EXPECT(st, rx.ram.nr == 0, "%u blocks created", rx.ram.nr);
	T_EXPECT(st, kmig_recv_channels(rx.r) == 2 && kmig_recv_refused(rx.r) == 3,
		 "channels %u refused %u", kmig_recv_channels(rx.r), kmig_recv_refused(rx.r));
	client_close(fd0, c0);
	rx_stop(&rx);
	kmig_tls_destroy(srv);
	kmig_tls_destroy(src);
	kmig_tls_destroy(mal);
}

static void t_channel1_first(struct t_state *st)
{
	struct kmig_tls *srv = tls_for("psk", true, true), *cli = tls_for("psk", false, true);
	uint8_t session[KMIG_SESSION_ID_LEN] = { 1, 2, 3 };
	struct kmig_tls_conn *c;
	struct rx rx;
	int fd;

	T_ASSERT(st, srv && cli, "key");
	T_ASSERT(st, rx_start(&rx, srv) == 0, "receiver");
	T_EXPECT(st, client_hello(&rx, cli, session, 1, &fd, &c) == 0 && client_reply(fd, c),
		 "channel 1 first accepted");
	client_close(fd, c);
	T_EXPECT(st, wait_refused(&rx, 1) && strstr(rx.why[0], "channel 1 before channel 0"),
		 "%s", rx.why[0]);
	T_EXPECT(st, kmig_recv_channels(rx.r) == 0, "a session started");
	rx_stop(&rx);
	kmig_tls_destroy(srv);
	kmig_tls_destroy(cli);
}

/* A whole stream over TLS, 4 channels, a device-state blob. */
static void t_stream(struct t_state *st)
{
	struct kmig_tls *srv = tls_for("dst", true, false), *cli = tls_for("src", false, false);
	struct kmig_send_opts so;
	struct kmig_send *s = NULL;
	struct kmig_stats sst;
	struct kmig_ram src;
	const void *dev;
	size_t dev_len;
	struct rx rx;
	int ret;

	T_ASSERT(st, srv && cli, "credentials");
	kmig_ram_init(&src);
	T_ASSERT(st, kmig_ram_add_memfd(&src, "ram0", 3000 * PG, NULL) == 0, "block");
	t_fill_random(src.blocks[0].base, 1000 * PG, 7);
	t_fill_text(src.blocks[0].base + 2000 * PG, 500 * PG, 8);
	T_ASSERT(st, rx_start(&rx, srv) == 0, "receiver");
	kmig_send_opts_init(&so);
	so.nr_channels = 4;
	so.tls = cli;
	ret = kmig_send_create(&s, &so, &src);
	if (!ret)
		ret = kmig_send_connect(s, "127.0.0.1", rx.port);
	if (!ret)
		ret = kmig_send_queue_all(s);
	if (!ret)
		ret = kmig_send_finish(s, "state", 5);
	T_EXPECT(st, ret == 0, "send %d: %s", ret, s ? kmig_send_error(s) : "");
	pthread_join(rx.t, NULL);
	T_EXPECT(st, rx.ret == 0, "receive %d: %s", rx.ret, kmig_recv_error(rx.r));
	T_EXPECT(st, rx.ram.nr == 1 && !memcmp(rx.ram.blocks[0].base, src.blocks[0].base,
						3000 * PG), "pages differ");
	dev = kmig_recv_devstate(rx.r, &dev_len);
	T_EXPECT(st, dev && dev_len == 5 && !memcmp(dev, "state", 5), "device state");
	kmig_send_stats(s, &sst);
	T_EXPECT(st, sst.tls.on && !strcmp(sst.tls.version, "TLSv1.3"), "stats: TLS %d %s",
		 sst.tls.on, sst.tls.version);
	printf("# %s %s, kernel TLS tx %d rx %d\n", sst.tls.version, sst.tls.cipher,
	       sst.tls.ktls_tx, sst.tls.ktls_rx);
	kmig_send_destroy(s);
	kmig_recv_destroy(rx.r);
	kmig_ram_free(&rx.ram);
	kmig_ram_free(&src);
	kmig_tls_destroy(srv);
	kmig_tls_destroy(cli);
}

int main(void)
{
	static const struct t_case cases[] = {
		T_CASE(t_injected_channel), T_CASE(t_channel1_first), T_CASE(t_stream),
	};
	int ret;

	if (make_pki()) {
		printf("# openssl could not make the test PKI in %s\n", dir);
		rm_pki();
		return 1;
	}
	ret = t_main("tls", cases, sizeof(cases) / sizeof(cases[0]));
	rm_pki();
	return ret;
}
