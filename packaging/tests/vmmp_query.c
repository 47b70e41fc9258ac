// SPDX-License-Identifier: GPL-2.0
/*
 * A VMM-protocol client built the way a user of the libkmig-dev package
 * builds one: <kmig/...> headers and `pkg-config --cflags --libs kmig`.
 * debroot.sh compiles it in the Debian root, linked with the shared and
 * with the static library, and runs it against a kmig-vmm there.
 *
 *   vmmp_query SOCKET   prints "state running vcpus N"; exit 0, 1 on error
 */
#include <stdio.h>
#include <string.h>

#include <kmig/vmm_proto_client.h>

int main(int argc, char **argv)
{
	struct kmig_vmmp_client *c;
	struct kmig_vmmp_status st;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: vmmp_query SOCKET\n");
		return 2;
	}
	ret = kmig_vmmp_connect(argv[1], "vmmp_query", &c);
	if (ret) {
		fprintf(stderr, "vmmp_query: connect %s: %s\n", argv[1], strerror(-ret));
		return 1;
	}
	ret = kmig_vmmp_query(c, &st);
	if (ret)
		fprintf(stderr, "vmmp_query: QUERY: %s (%s)\n", strerror(-ret),
			kmig_vmmp_last_error(c));
	else
		printf("state %s vcpus %u\n",
		       st.state == KMIG_VMMP_STATE_RUNNING ? "running" : "not-running", st.nr_vcpus);
	kmig_vmmp_client_close(c);
	return ret ? 1 : 0;
}
