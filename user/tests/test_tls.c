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
#include "tls/tls.h"
#include "kselftest_harness.h"

#define PG KMIG_PAGE_SIZE

/* A CA, and two clients and a server it signs (openssl, as tls.sh), in a
 * new directory @dir (a mkdtemp() template). */
static int make_pki(char *dir)
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

static void rm_pki(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		fprintf(stderr, "# could not remove %s\n", dir);
}

static struct kmig_tls *tls_for(const char *dir, const char *who, bool server, bool psk)
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
		fprintf(stderr, "# tls %s: %s\n", who, e.msg);
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
		fprintf(stderr, "# handshake: %s\n", e.msg);
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

FIXTURE(tls) {
	char dir[64];
};

FIXTURE_SETUP(tls)
{
	snprintf(self->dir, sizeof(self->dir), "/tmp/kmig-tls-test.XXXXXX");
	ASSERT_EQ(0, make_pki(self->dir)) TH_LOG("openssl could not make the test PKI");
}

FIXTURE_TEARDOWN(tls)
{
	rm_pki(self->dir);
}

TEST_F(tls, injected_channel)
{
	struct kmig_tls *srv = tls_for(self->dir, "dst", true, false), *src = tls_for(self->dir, "src", false, false),
			*mal = tls_for(self->dir, "mallory", false, false);
	uint8_t session[KMIG_SESSION_ID_LEN], other[KMIG_SESSION_ID_LEN];
	struct kmig_tls_conn *c0, *c;
	int fd0, fd, ret;
	struct rx rx;

	ASSERT_TRUE(srv && src && mal) TH_LOG("credentials");
	ASSERT_TRUE(getrandom(session, sizeof(session), 0) == sizeof(session) &&
		 getrandom(other, sizeof(other), 0) == sizeof(other)) TH_LOG("random");
	ASSERT_TRUE(rx_start(&rx, srv) == 0) TH_LOG("receiver");
	ret = client_hello(&rx, src, session, 0, &fd0, &c0);
	ASSERT_TRUE(ret == 0 && client_reply(fd0, c0) == 0) TH_LOG("channel 0 accepted: %d", ret);

	/* Mallory: a valid certificate of the same CA, the sniffed id. */
	ret = client_hello(&rx, mal, session, 1, &fd, &c);
	EXPECT_TRUE(ret == 0) TH_LOG("mallory's handshake %d", ret);
	EXPECT_TRUE(client_reply(fd, c) != 0) TH_LOG("mallory's channel accepted");
	client_close(fd, c);
	EXPECT_TRUE(wait_refused(&rx, 1)) TH_LOG("mallory not refused");
	EXPECT_TRUE(strstr(rx.why[0], "127.0.0.1:") &&
		 strstr(rx.why[0], "another certificate than channel 0's")) TH_LOG("%s", rx.why[0]);

	/* The session's own peer, but with another session's id. */
	ret = client_hello(&rx, src, other, 1, &fd, &c);
	EXPECT_TRUE(ret == 0 && client_reply(fd, c) != 0) TH_LOG("other session's channel accepted");
	client_close(fd, c);
	EXPECT_TRUE(wait_refused(&rx, 2) && strstr(rx.why[1], "not this session's id")) TH_LOG("%s",
		 rx.why[1]);

	/* A plaintext replay of the hello: refused by the TLS handshake. */
	ret = client_hello(&rx, NULL, session, 1, &fd, &c);
	EXPECT_TRUE(ret == 0 && client_reply(fd, NULL) != 0) TH_LOG("plaintext channel accepted");
	client_close(fd, c);
	EXPECT_TRUE(wait_refused(&rx, 3) && strstr(rx.why[2], "TLS handshake")) TH_LOG("%s", rx.why[2]);

	/* Nothing was received: no block table, no block. */
	EXPECT_TRUE(rx.ram.nr == 0) TH_LOG("%u blocks created", rx.ram.nr);
	EXPECT_TRUE(kmig_recv_channels(rx.r) == 2 && kmig_recv_refused(rx.r) == 3) TH_LOG("channels %u refused %u", kmig_recv_channels(rx.r), kmig_recv_refused(rx.r));
	client_close(fd0, c0);
	rx_stop(&rx);
	kmig_tls_destroy(srv);
	kmig_tls_destroy(src);
	kmig_tls_destroy(mal);
}

TEST_F(tls, channel1_first)
{
	struct kmig_tls *srv = tls_for(self->dir, "psk", true, true), *cli = tls_for(self->dir, "psk", false, true);
	uint8_t session[KMIG_SESSION_ID_LEN] = { 1, 2, 3 };
	struct kmig_tls_conn *c;
	struct rx rx;
	int fd;

	ASSERT_TRUE(srv && cli) TH_LOG("key");
	ASSERT_TRUE(rx_start(&rx, srv) == 0) TH_LOG("receiver");
	EXPECT_TRUE(client_hello(&rx, cli, session, 1, &fd, &c) == 0 && client_reply(fd, c)) TH_LOG("channel 1 first accepted");
	client_close(fd, c);
	EXPECT_TRUE(wait_refused(&rx, 1) && strstr(rx.why[0], "channel 1 before channel 0")) TH_LOG("%s", rx.why[0]);
	EXPECT_TRUE(kmig_recv_channels(rx.r) == 0) TH_LOG("a session started");
	rx_stop(&rx);
	kmig_tls_destroy(srv);
	kmig_tls_destroy(cli);
}

/* A whole stream over TLS, 4 channels, a device-state blob. */
TEST_F(tls, stream)
{
	struct kmig_tls *srv = tls_for(self->dir, "dst", true, false), *cli = tls_for(self->dir, "src", false, false);
	struct kmig_send_opts so;
	struct kmig_send *s = NULL;
	struct kmig_stats sst;
	struct kmig_ram src;
	const void *dev;
	size_t dev_len;
	struct rx rx;
	int ret;

	ASSERT_TRUE(srv && cli) TH_LOG("credentials");
	kmig_ram_init(&src);
	ASSERT_TRUE(kmig_ram_add_memfd(&src, "ram0", 3000 * PG, NULL) == 0) TH_LOG("block");
	t_fill_random(src.blocks[0].base, 1000 * PG, 7);
	t_fill_text(src.blocks[0].base + 2000 * PG, 500 * PG, 8);
	ASSERT_TRUE(rx_start(&rx, srv) == 0) TH_LOG("receiver");
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
	EXPECT_TRUE(ret == 0) TH_LOG("send %d: %s", ret, s ? kmig_send_error(s) : "");
	pthread_join(rx.t, NULL);
	EXPECT_TRUE(rx.ret == 0) TH_LOG("receive %d: %s", rx.ret, kmig_recv_error(rx.r));
	EXPECT_TRUE(rx.ram.nr == 1 && !memcmp(rx.ram.blocks[0].base, src.blocks[0].base,
						3000 * PG)) TH_LOG("pages differ");
	dev = kmig_recv_devstate(rx.r, &dev_len);
	EXPECT_TRUE(dev && dev_len == 5 && !memcmp(dev, "state", 5)) TH_LOG("device state");
	kmig_send_stats(s, &sst);
	EXPECT_TRUE(sst.tls.on && !strcmp(sst.tls.version, "TLSv1.3")) TH_LOG("stats: TLS %d %s",
		 sst.tls.on, sst.tls.version);
	TH_LOG("%s %s, kernel TLS tx %d rx %d", sst.tls.version, sst.tls.cipher,
	       sst.tls.ktls_tx, sst.tls.ktls_rx);
	kmig_send_destroy(s);
	kmig_recv_destroy(rx.r);
	kmig_ram_free(&rx.ram);
	kmig_ram_free(&src);
	kmig_tls_destroy(srv);
	kmig_tls_destroy(cli);
}

TEST_HARNESS_MAIN
