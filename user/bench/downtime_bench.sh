#!/bin/bash
# make -C user bench-downtime: expected against actual downtime of live
# migrations between two kmig-vmm processes over loopback, with and without
# --downtime-strict, for a dense guest (--fill 100) and a 10% one (--fill
# 10), codecs none and zstd. One table row per scenario (downtime_table.py):
# medians of the expected and actual downtime, the worst actual, how many
# runs stayed within 1.2x the limit, the strict aborts and the longest
# pause that ended in a resume. Nothing asserts a timing: the figures are
# for Documentation/benchmarks.rst and compare only within one run.
#
# Settings: BENCH_MEM (512M), BENCH_AB (16M: the range kguest keeps
# dirtying), BENCH_RATE (50000 page writes/s), BENCH_LIMIT (50 ms),
# BENCH_REPEAT (5), BENCH_CHANNELS (2), BENCH_CODECS ("none zstd"),
# BENCH_FILLS ("100 10"), BENCH_LINK (unset: loopback; a tc rate such as
# 1gbit: kmig migrate and kmig incoming in two network namespaces joined by
# a veth pair shaped with tc tbf both ways, as bench/peer_net.py's Link;
# needs root). In the lab (TCG, 10-50x slower): 128M, 4M, 1000, 300 ms, 3.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -n "${KMIG_IN_LAB:-}" ]; then
	MEM=${BENCH_MEM:-128M} AB=${BENCH_AB:-4M} RATE=${BENCH_RATE:-1000}
	LIMIT=${BENCH_LIMIT:-300} REPEAT=${BENCH_REPEAT:-3}
else
	MEM=${BENCH_MEM:-512M} AB=${BENCH_AB:-16M} RATE=${BENCH_RATE:-50000}
	LIMIT=${BENCH_LIMIT:-50} REPEAT=${BENCH_REPEAT:-5}
fi
CHANNELS=${BENCH_CHANNELS:-2}
CODECS=${BENCH_CODECS:-none zstd}
FILLS=${BENCH_FILLS:-100 10}
LINK=${BENCH_LINK:-}
NS_S=kmigDS$$ NS_D=kmigDD$$ NET=10.197.$(($$ % 250))
ADDR=127.0.0.1 IN_PRE="" MIG_PRE=""
. "$HERE/lib.sh"
bench_init /tmp/kmig-downtime.XXXXXX
# shellcheck disable=SC2016 # expanded at exit
bench_on_exit '[ -z "$LINK" ] || { ip netns del "$NS_S"; ip netns del "$NS_D"; } 2>/dev/null'

# The emulated link: the helpers in two namespaces (the VMMs' unix sockets
# are files: they stay reachable), a veth pair shaped to $LINK each way.
link_up() {
	local ns dev
	ip netns add "$NS_S" && ip netns add "$NS_D" &&
	ip link add "ds$$" netns "$NS_S" type veth peer name "dd$$" netns "$NS_D" &&
	ip -n "$NS_S" addr add "$NET.1/30" dev "ds$$" &&
	ip -n "$NS_D" addr add "$NET.2/30" dev "dd$$" || return 1
	for ns in "$NS_S:ds$$" "$NS_D:dd$$"; do
		dev=${ns#*:} ns=${ns%%:*}
		ip -n "$ns" link set "$dev" up && ip -n "$ns" link set lo up &&
		tc -n "$ns" qdisc add dev "$dev" root tbf rate "$LINK" burst 256kb latency 50ms ||
			return 1
	done
	ADDR=$NET.2 IN_PRE="ip netns exec $NS_D" MIG_PRE="ip netns exec $NS_S"
}

# run FILL CODEC STRICT N: one migration, its report in
# $WORK/FILL-CODEC-STRICT-N.json (a failed strict run is a result too)
run() {
	local fill=$1 codec=$2 strict=$3 n=$4 tag="$1-$2-$3-$4" src dst in port st
	rm -f "$WORK/port"
	bench_vmm "$WORK/src.sock" "$WORK/src.err" --mem "$MEM" --vcpus 2 --ab "$AB" \
		--fill "$fill" --rate "$RATE" && src=$VMM_PID &&
	bench_vmm "$WORK/dst.sock" "$WORK/dst.err" --mem "$MEM" --vcpus 2 --incoming &&
	dst=$VMM_PID && bench_ready "$WORK/src.sock" ||
		{ echo "source not ready: $(cat "$WORK/src.err")"; return 1; }
	$IN_PRE "$BUILD/kmig" incoming -q --vmm "$WORK/dst.sock" --listen "$ADDR:0" -R "$WORK/port" \
		2>"$WORK/in.err" &
	in=$!
	PIDS+=("$in")
	bench_wait_file "$WORK/port"
	port=$(cat "$WORK/port")
	timeout -k 5 120 $MIG_PRE "$BUILD/kmig" migrate --json --vmm "$WORK/src.sock" --to "$ADDR:$port" \
		--channels "$CHANNELS" --compress "$codec" --downtime-limit "$LIMIT" \
		$([ "$strict" = strict ] && echo --downtime-strict) >"$WORK/$tag.json" 2>"$WORK/$tag.err"
	st=$?
	[ "$st" = 0 ] || [ "$strict" = strict ] ||
		{ echo "migrate failed: $(cat "$WORK/$tag.err")"; kill -9 "$in" "$src" "$dst"; wait; return 1; }
	wait "$in"
	bench_quit "$WORK/dst.sock"
	bench_quit "$WORK/src.sock"
	wait "$src" "$dst" 2>/dev/null
	python3 "$HERE/downtime_table.py" --run "$WORK/$tag.json" "$tag"
}

bench_need_build
if [ -n "$LINK" ]; then
	link_up || { echo "bench: could not set up the $LINK link (root, ip, tc?)" >&2; exit 1; }
fi
echo "Downtime benchmark: $MEM guest, 2 vCPUs, kguest dirtying a $AB range at $RATE page"
echo "writes/s, $CHANNELS channels over ${LINK:+a veth pair shaped to }${LINK:-loopback}, downtime limit $LIMIT ms, $REPEAT runs each."
if [ -n "${KMIG_IN_LAB:-}" ]; then
	echo "Where: in the lab ($KMIG_LAB_WHY): nested KVM under TCG; compare only within this run."
else
	echo "Where: this machine's KVM."
fi
for ((n = 1; n <= REPEAT; n++)); do
	for fill in $FILLS; do
		for codec in $CODECS; do
			for strict in target strict; do
				run "$fill" "$codec" "$strict" "$n" || exit 1
			done
		done
	done
done
python3 "$HERE/downtime_table.py" "$WORK" "$LIMIT"
