#!/bin/bash
# Integrity between two network namespaces joined by a veth pair:
#
#   netns kmigS<pid>                      netns kmigR<pid>
#   [kmig send] 10.199.<n>.1/30 --veth-- 10.199.<n>.2/30 [kmig receive]
#
# The namespaces (and with them the veth pair) are removed by the trap.
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "# SKIP: needs root and ip netns"
	echo "netns: 0 passed, 0 failed, 1 skipped"
	exit 0
fi
NS_S=kmigS$$
NS_R=kmigR$$
NET=10.199.$(($$ % 250))
CLEANUP_HOOKS+=("ip netns del $NS_S 2>/dev/null; ip netns del $NS_R 2>/dev/null")
ip netns add "$NS_S" && ip netns add "$NS_R" &&
ip link add "vs$$" netns "$NS_S" type veth peer name "vr$$" netns "$NS_R" &&
ip -n "$NS_S" addr add "$NET.1/30" dev "vs$$" && ip -n "$NS_R" addr add "$NET.2/30" dev "vr$$" &&
ip -n "$NS_S" link set "vs$$" up && ip -n "$NS_R" link set "vr$$" up &&
ip -n "$NS_S" link set lo up && ip -n "$NS_R" link set lo up || { echo "netns setup failed"; exit 1; }

make_images "$WORK/src" || { echo "genimage failed"; exit 1; }

run_case() {
	RX_PREFIX="ip netns exec $NS_R" TX_PREFIX="ip netns exec $NS_S" \
		transfer "ns-$1-$2" "$NET.2:0" "$NET.2" "$1" "$2" && ok "ns-$1-$2"
	rm -rf "$WORK/ns-$1-$2"
}

# The path from the sender to the receiver is the veth, not a loopback.
if ip -n "$NS_S" route get "$NET.2" | grep -q "dev vs$$"; then
	ok "route to the receiver over the veth"
else
	not_ok "route: $(ip -n "$NS_S" route get "$NET.2")"
fi
for codec in none zlib zstd lz4; do
	for ch in 1 2 4; do
		run_case "$codec" "$ch"
	done
done
run_case auto 4
summary
