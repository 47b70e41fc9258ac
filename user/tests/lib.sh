#!/bin/bash
# Shared by the end-to-end tests: a work directory removed by the trap, a
# receiver started in the background with its ready file, timeouts around
# every process, and a tally printed as "N passed, N failed".
set -u

KMIG=${KMIG:-$(cd "$(dirname "$0")/.." && pwd)/build/kmig}
# The test build of kmig, with the fault-injection hooks (KMIG_TEST_HOOK,
# lib/base/hook.h): the tests that set a hook run it.
KMIG_TEST=${KMIG_TEST:-$(dirname "$KMIG")/kmig-test}
WORK=$(mktemp -d /tmp/kmig-e2e.XXXXXX)
PASS=0
FAIL=0
PIDS=()
CLEANUP_HOOKS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for h in "${CLEANUP_HOOKS[@]}"; do eval "$h"; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }

summary() {
	echo "$(basename "$0" .sh): $PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
}

# make_images DIR: blocks of different sizes and contents.
make_images() {
	local d=$1
	mkdir -p "$d"
	"$KMIG" genimage --size 40M --seed 11 "$d/ram0" &&
	"$KMIG" genimage --size 12M --mix text:1 --seed 12 "$d/text" &&
	"$KMIG" genimage --size 8M --mix random:1 --seed 13 "$d/random" &&
	"$KMIG" genimage --size 4100K --mix zero:3,zerodata:1 --seed 14 "$d/zero"
}

BLOCK_ARGS() {
	local d=$1
	echo "-b ram0=$d/ram0 -b text=$d/text -b random=$d/random -b zero=$d/zero"
}

# wait_file FILE [SECONDS [PID]]: until FILE has content; gives up at
# once when PID (the process that writes it) is gone
wait_file() {
	local i
	for ((i = 0; i < ${2:-10} * 20; i++)); do
		[ -s "$1" ] && return 0
		[ -z "${3:-}" ] || kill -0 "$3" 2>/dev/null || { [ -s "$1" ]; return; }
		sleep 0.05
	done
	return 1
}

# start_receiver NAME ADDR OUTDIR [extra args...] -> RX_PID, RX_PORT
start_receiver() {
	local name=$1 addr=$2 out=$3
	shift 3
	mkdir -p "$out"
	rm -f "$WORK/$name.ready"
	${RX_PREFIX:-} timeout 60 "$KMIG" receive ${RX_QUIET--q} -R "$WORK/$name.ready" -o "$out" "$@" "$addr" \
		>"$WORK/$name.rx.out" 2>"$WORK/$name.rx.err" &
	RX_PID=$!
	PIDS+=("$RX_PID")
	if ! wait_file "$WORK/$name.ready" 10 "$RX_PID"; then
		echo "# receiver $name did not start: $(cat "$WORK/$name.rx.err")"
		return 1
	fi
	RX_PORT=$(cat "$WORK/$name.ready")
}

# start_tamper NAME PORT OFFSET -> TAMPER_PORT: tamper.py in front of
# 127.0.0.1:PORT, flipping byte OFFSET of the first connection's
# client-to-server bytes (an attacker on the path).
start_tamper() {
	local name=$1
	python3 "$(dirname "${BASH_SOURCE[0]}")/tamper.py" "$2" "$3" >"$WORK/$name.proxy" &
	PIDS+=($!)
	disown $!
	wait_file "$WORK/$name.proxy" 5 || return 1
	TAMPER_PORT=$(cat "$WORK/$name.proxy")
}

# same_blocks SRCDIR OUTDIR: every block byte-identical
same_blocks() {
	local b
	for b in ram0 text random zero; do
		cmp -s "$1/$b" "$2/$b" || { echo "# $b differs"; return 1; }
	done
}

# transfer NAME LISTEN_ADDR CONNECT_HOST CODEC CHANNELS [send args...]:
# one transfer of the images in $WORK/src, checked byte for byte.
# RX_PREFIX/TX_PREFIX run the sides elsewhere (ip netns exec ...).
transfer() {
	local name=$1 listen=$2 host=$3 codec=$4 ch=$5 out="$WORK/$1"
	shift 5
	start_receiver "$name" "$listen" "$out" ${RX_EXTRA:-} || { not_ok "$name"; return 1; }
	if ! timeout 60 ${TX_PREFIX:-} "$KMIG" send -q -c "$ch" -z "$codec" "$@" \
		$(BLOCK_ARGS "$WORK/src") "$host:$RX_PORT" 2>"$WORK/$name.tx.err"; then
		not_ok "$name: send failed: $(cat "$WORK/$name.tx.err")"
		wait "$RX_PID"
		return 1
	fi
	if ! wait "$RX_PID"; then
		not_ok "$name: receive failed: $(cat "$WORK/$name.rx.err")"
		return 1
	fi
	if ! same_blocks "$WORK/src" "$out"; then
		not_ok "$name: output differs"
		return 1
	fi
}
