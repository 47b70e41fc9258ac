// SPDX-License-Identifier: GPL-2.0
/*
 * libkmig's KMIG_0.1 ABI at run time: a VMM built against KMIG_0.1 passes
 * a struct kmig_vmmp_ops that ends at ->quit. Its two functions that take
 * the struct, kmig_vmmp_server_create and kmig_vmmp_serve, are called here
 * by their @KMIG_0.1 versions (bound with .symver, as such a binary is
 * bound), with the old struct declared locally and followed in memory by
 * set function pointers where KMIG_0.2's drop_device_state and run sit.
 * Over a socketpair a client then does HELLO, QUERY, DROP_DEVICE_STATE,
 * COMMIT and QUIT. Asserted:
 *
 *   - the old members are read where 0.1 put them: QUERY answers with the
 *     callback's figures, COMMIT calls its callback;
 *   - the new ones are not read: HELLO does not offer DROP_DEVICE_STATE,
 *     which fails with EOPNOTSUPP, and neither trailing callback runs.
 *
 * The same memory passed to the default (KMIG_0.2) versions is the
 * control: there both trailing callbacks are offered and run, so the
 * trailing pointers are where 0.2 reads them and the check can fail.
 *
 * packaging/tests/install.sh builds it against the installed headers and
 * libkmig.so and runs it. Exit 0: every check passed, 1: one failed.
 */
#define _GNU_SOURCE	/* memfd_create, F_ADD_SEALS */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <kmig/vmm_proto_client.h>
#include <kmig/vmm_proto_server.h>

#define VCPUS		3
#define PROGRESS	0x5eed0001ULL

/* struct kmig_vmmp_ops as KMIG_0.1's header declared it. */
struct ops_0_1 {
	int (*dirty_log_set)(void *ctx, const struct kmig_vmmp_slot *s, int enable,
			     struct kmig_vmmp_err *e);
	int (*get_dirty_log)(void *ctx, const struct kmig_vmmp_slot *s, uint64_t *bitmap,
			     struct kmig_vmmp_err *e);
	int (*clear_dirty_log)(void *ctx, const struct kmig_vmmp_slot *s, uint64_t first,
			       uint64_t num, const uint64_t *bitmap, struct kmig_vmmp_err *e);
	int (*pause)(void *ctx, struct kmig_vmmp_err *e);
	int (*resume)(void *ctx, struct kmig_vmmp_err *e);
	int (*get_device_state)(void *ctx, void **blob, size_t *len, struct kmig_vmmp_err *e);
	int (*set_device_state)(void *ctx, const void *blob, size_t len,
				struct kmig_vmmp_err *e);
	int (*commit)(void *ctx, struct kmig_vmmp_err *e);
	int (*throttle)(void *ctx, uint32_t percent, uint32_t *previous,
			struct kmig_vmmp_err *e);
	int (*query)(void *ctx, struct kmig_vmmp_status *st, struct kmig_vmmp_err *e);
	int (*quit)(void *ctx, uint32_t flags, struct kmig_vmmp_err *e);
};

/* The old struct and, right after it, what a reader of KMIG_0.2's size
 * would take for the members added since. */
struct ops_and_after {
	struct ops_0_1 old;
	int (*drop_device_state)(void *ctx, struct kmig_vmmp_err *e);
	void (*run)(void *ctx);
};

_Static_assert(sizeof(struct ops_0_1) == offsetof(struct kmig_vmmp_ops, drop_device_state),
	       "KMIG_0.1's struct ends where drop_device_state begins");
_Static_assert(offsetof(struct ops_and_after, run) == offsetof(struct kmig_vmmp_ops, run),
	       "the trailing pointers sit where KMIG_0.2 reads them");

/* The functions of KMIG_0.1, bound to that version. */
int create_0_1(const struct kmig_vmmp_vm *vm, const struct ops_0_1 *ops, void *ctx,
	       struct kmig_vmmp_server **out);
int serve_0_1(int conn, int cancel_fd, const struct kmig_vmmp_vm *vm,
	      const struct ops_0_1 *ops, void *ctx);
__asm__(".symver create_0_1, kmig_vmmp_server_create@KMIG_0.1");
__asm__(".symver serve_0_1, kmig_vmmp_serve@KMIG_0.1");

/* What the callbacks saw. */
struct calls {
	int query, commit, quit, drop, run;
};

static int query(void *ctx, struct kmig_vmmp_status *st, struct kmig_vmmp_err *e)
{
	((struct calls *)ctx)->query++;
	st->state = KMIG_VMMP_STATE_RUNNING;
	st->nr_vcpus = VCPUS;
	st->progress = PROGRESS;
	return 0;
}

static int commit(void *ctx, struct kmig_vmmp_err *e)
{
	((struct calls *)ctx)->commit++;
	return 0;
}

static int quit(void *ctx, uint32_t flags, struct kmig_vmmp_err *e)
{
	((struct calls *)ctx)->quit++;
	return 0;
}

static int drop(void *ctx, struct kmig_vmmp_err *e)
{
	((struct calls *)ctx)->drop++;
	return 0;
}

static void run(void *ctx)
{
	((struct calls *)ctx)->run++;
}

static const struct ops_and_after ops = {
	.old = { .commit = commit, .query = query, .quit = quit },
	.drop_device_state = drop, .run = run,
};

enum how { CREATE_0_1, SERVE_0_1, CREATE_DEFAULT, SERVE_DEFAULT };

static const char *const names[] = {
	[CREATE_0_1] = "kmig_vmmp_server_create@KMIG_0.1",
	[SERVE_0_1] = "kmig_vmmp_serve@KMIG_0.1",
	[CREATE_DEFAULT] = "kmig_vmmp_server_create (default, KMIG_0.2)",
	[SERVE_DEFAULT] = "kmig_vmmp_serve (default, KMIG_0.2)",
};

struct server {
	enum how how;
	int conn;
	const struct kmig_vmmp_vm *vm;
	struct calls calls;
	int ret;
};

static int serve_created(struct server *s, bool old)
{
	struct kmig_vmmp_server *srv;
	int ret = old ? create_0_1(s->vm, &ops.old, &s->calls, &srv) :
		  kmig_vmmp_server_create(s->vm, (const struct kmig_vmmp_ops *)&ops, &s->calls,
					  &srv);

	if (ret)
		return ret;
	ret = kmig_vmmp_server_serve(srv, s->conn, -1);
	kmig_vmmp_server_destroy(srv);
	return ret;
}

static void *server_main(void *arg)
{
	struct server *s = arg;

	switch (s->how) {
	case CREATE_0_1:
		s->ret = serve_created(s, true);
		break;
	case SERVE_0_1:
		s->ret = serve_0_1(s->conn, -1, s->vm, &ops.old, &s->calls);
		break;
	case CREATE_DEFAULT:
		s->ret = serve_created(s, false);
		break;
	case SERVE_DEFAULT:
		s->ret = kmig_vmmp_serve(s->conn, -1, s->vm, (const struct kmig_vmmp_ops *)&ops,
					 &s->calls);
		break;
	}
	return NULL;
}

static int failures;

static void expect(bool ok, enum how how, const char *what)
{
	printf("%s - %s: %s\n", ok ? "ok" : "not ok", names[how], what);
	failures += !ok;
}

/* The client's side of one session; what the server's callbacks saw is
 * checked once it has ended. */
static void client(enum how how, int sock)
{
	bool old = how == CREATE_0_1 || how == SERVE_0_1;
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_status st;
	uint32_t mask;
	int ret = kmig_vmmp_client_open(sock, "vmmp_abi_0_1", &c);

	if (ret) {
		expect(false, how, "HELLO");
		fprintf(stderr, "HELLO: %s\n", strerror(-ret));
		return;
	}
	mask = kmig_vmmp_info(c)->ops;
	expect(mask & 1U << KMIG_VMMP_QUERY && mask & 1U << KMIG_VMMP_COMMIT,
	       how, "HELLO offers QUERY and COMMIT (old members)");
	expect(!(mask & 1U << KMIG_VMMP_DROP_DEVICE_STATE) == old, how,
	       old ? "HELLO does not offer DROP_DEVICE_STATE" : "HELLO offers DROP_DEVICE_STATE");
	ret = kmig_vmmp_query(c, &st);
	expect(!ret && st.nr_vcpus == VCPUS && st.progress == PROGRESS, how,
	       "QUERY answers with the query callback's figures");
	ret = kmig_vmmp_drop_device_state(c);
	expect(old ? ret == -EOPNOTSUPP : !ret, how,
	       old ? "DROP_DEVICE_STATE fails with EOPNOTSUPP" : "DROP_DEVICE_STATE succeeds");
	expect(!kmig_vmmp_commit(c), how, "COMMIT succeeds");
	expect(!kmig_vmmp_quit(c, 0), how, "QUIT succeeds");
	kmig_vmmp_client_close(c);
}

static void session(enum how how, const struct kmig_vmmp_vm *vm)
{
	bool old = how == CREATE_0_1 || how == SERVE_0_1;
	struct server s = { .how = how, .vm = vm };
	pthread_t t;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) ||
	    pthread_create(&t, NULL, server_main, (s.conn = sv[1], &s))) {
		expect(false, how, "socketpair and server thread");
		return;
	}
	client(how, sv[0]);	/* closes sv[0] */
	pthread_join(t, NULL);
	close(sv[1]);
	expect(!s.ret, how, "the session ends cleanly");
	expect(s.calls.query == 1 && s.calls.commit == 1 && s.calls.quit == 1, how,
	       "the query, commit and quit callbacks ran once each");
	expect(old ? !s.calls.drop && !s.calls.run : s.calls.drop == 1 && s.calls.run == 1, how,
	       old ? "the members after KMIG_0.1's struct were never called" :
	       "drop_device_state and run (KMIG_0.2) ran once each");
}

int main(void)
{
	int fd = memfd_create("vmmp_abi_0_1", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct kmig_vmmp_slot slot = { .slot = 0, .memfd = 0, .gpa = 0, .size = 1 << 16 };
	struct kmig_vmmp_vm vm = {
		.name = "vmmp_abi_0_1", .vm_fd = -1, .memfds = &fd, .nr_memfds = 1,
		.slots = &slot, .nr_slots = 1, .nr_vcpus = VCPUS,
	};

	if (fd < 0 || ftruncate(fd, slot.size) || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK)) {
		perror("vmmp_abi_0_1: the guest memfd");
		return 1;
	}
	for (enum how h = CREATE_0_1; h <= SERVE_DEFAULT; h++)
		session(h, &vm);
	close(fd);
	return failures ? 1 : 0;
}
