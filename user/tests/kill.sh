#!/bin/bash
# Failures mid-transfer: the sender killed, the receiver killed, one TCP
# connection destroyed (ss -K), the sender interrupted (SIGINT), the
# sender or the receiver stalled (SIGSTOP: the other side's wait ends after
# --idle-timeout, or at once on SIGTERM). Each time
# both sides exit non-zero with a clear message, within a bounded time, and
# the receiver leaves no output file (a receiver that is itself killed can
# leave its NAME.tmp files, never a file under a block's name). The
# transfer is rate-limited so that it is still running when the fault hits.
. "$(dirname "$0")/lib.sh"

make_images "$WORK/src" || { echo "genimage failed"; exit 1; }
RATE=16M	# ~64 MiB of pages: about 4 s

# start NAME: receiver + rate-limited sender in the background
# (TX_MORE, RX_MORE: more arguments for the sender, the receiver)
start() {
	start_receiver "$1" 127.0.0.1:0 "$WORK/$1" ${RX_MORE:-} || return 1
	timeout 60 "$KMIG" send -q -c 4 -r "$RATE" ${TX_MORE:-} $(BLOCK_ARGS "$WORK/src") \
		"127.0.0.1:$RX_PORT" 2>"$WORK/$1.tx.err" &
	TX_PID=$!
	PIDS+=("$TX_PID")
	sleep 1
}

# left_output NAME RX_REGEX: files the receiver should not have left (a
# killed receiver, RX_REGEX empty, may leave NAME.tmp files)
left_output() {
	if [ -n "$2" ]; then
		ls -A "$WORK/$1"
	else
		ls -A "$WORK/$1" | grep -v '\.tmp$'
	fi
}

# check NAME TX_REGEX RX_REGEX (empty: the killed side, no message): wait for both (bounded), check exit codes, messages, outputs
check() {
	local name=$1 tx_pat=$2 rx_pat=$3 t0=$SECONDS tx rx
	{ wait "$TX_PID"; } 2>/dev/null; tx=$?
	{ wait "$RX_PID"; } 2>/dev/null; rx=$?
	local msg="tx=$tx '$(cat "$WORK/$name.tx.err")' rx=$rx '$(cat "$WORK/$name.rx.err")'"
	echo "# $name: $msg"
	if [ "$tx" = 0 ] || [ "$rx" = 0 ] || [ "$tx" = 124 ] || [ "$rx" = 124 ]; then
		not_ok "$name: exit codes ($msg)"
	elif { [ -n "$tx_pat" ] && ! grep -Eq "$tx_pat" "$WORK/$name.tx.err"; } ||
	     { [ -n "$rx_pat" ] && ! grep -Eq "$rx_pat" "$WORK/$name.rx.err"; }; then
		not_ok "$name: messages ($msg)"
	elif [ -n "$(left_output "$name" "$rx_pat")" ]; then
		not_ok "$name: receiver left output: $(ls "$WORK/$name")"
	elif [ $((SECONDS - t0)) -gt 20 ]; then
		not_ok "$name: took $((SECONDS - t0)) s"
	else
		ok "$name"
	fi
}

# The processes under timeout(1): kill kmig itself, by its pid.
kmig_pid() { pgrep -P "$1" | head -1; }

start kill-sender && kill -9 "$(kmig_pid "$TX_PID")"
check kill-sender "" "kmig receive: receive on 127.0.0.1:0: .*closed by the sender"

start kill-receiver && kill -9 "$(kmig_pid "$RX_PID")"
check kill-receiver "kmig send: send to 127.0.0.1:[0-9]+: .*(closed by the receiver|reset|Broken pipe)" ""

# Destroy one of the four connections (the sender's end of it).
start ss-kill
SPORT=$(ss -tnH state established "( dport = :$RX_PORT )" | awk '{print $3}' | head -1 | sed 's/.*://')
if [ -n "$SPORT" ] && ss -K state established "( sport = :$SPORT and dport = :$RX_PORT )" >/dev/null 2>&1; then
	# The killed side sees ECONNABORTED; a sender still writing on another
	# channel may see EPIPE or ECONNRESET first, depending on timing.
	check ss-kill "kmig send: send to .*: (Software caused connection abort|Broken pipe|Connection reset by peer)" \
		"kmig receive: receive on .*channel [0-3] packet [0-9]+: connection closed by the sender"
else
	kill -9 "$TX_PID" "$RX_PID"
	echo "# SKIP ss-kill: ss -K not supported here"
fi

start sigint && kill -INT "$TX_PID"
check sigint "kmig send: send to .*: Operation canceled \(interrupted by a signal\)" \
	"closed by the sender"

# Stalls: one side stopped; the other's wait ends after its --idle-timeout
# (its socket buffers first fill or drain) or at once on SIGTERM; then the
# stopped side is killed (the killed side's message is not checked).
stall() {
	local name=$1 stop=$2 other=$3 how=$4 t0
	kill -STOP "$(kmig_pid "$stop")"
	t0=$SECONDS
	[ "$how" = idle ] || { sleep 2; t0=$SECONDS; kill -TERM "$(kmig_pid "$other")"; }
	while kill -0 "$(kmig_pid "$other")" 2>/dev/null && [ $((SECONDS - t0)) -lt 30 ]; do
		sleep 0.1
	done
	STALL_TOOK=$((SECONDS - t0))
	kill -9 "$(kmig_pid "$stop")"
}
stall_bound() {
	if [ "$STALL_TOOK" -le "$2" ]; then
		ok "$1: the wait ended ${STALL_TOOK} s after the stall (bound $2 s)"
	else
		not_ok "$1: the wait ended ${STALL_TOOK} s after the stall (bound $2 s)"
	fi
}

RX_MORE="--idle-timeout 2" start sender-stalled && stall sender-stalled "$TX_PID" "$RX_PID" idle
check sender-stalled "" "kmig receive: .*the sender sent nothing for 2 s \(--idle-timeout\)"
stall_bound sender-stalled 10
TX_MORE="--idle-timeout 2" start receiver-stalled &&
	stall receiver-stalled "$RX_PID" "$TX_PID" idle
check receiver-stalled "kmig send: .*the receiver took nothing and answered nothing for 2 s" ""
stall_bound receiver-stalled 15
start sender-stalled-sigterm && stall sender-stalled-sigterm "$TX_PID" "$RX_PID" sigterm
check sender-stalled-sigterm "" "kmig receive: .*(interrupted by a signal|cancelled)"
stall_bound sender-stalled-sigterm 3
start receiver-stalled-sigterm && stall receiver-stalled-sigterm "$RX_PID" "$TX_PID" sigterm
check receiver-stalled-sigterm "kmig send: .*(interrupted by a signal|cancelled)" ""
stall_bound receiver-stalled-sigterm 3

# A hello sent a byte every 0.5 s (a slow or hostile client): the accept
# deadline (--timeout) still holds, and SIGTERM still ends the wait.
drip() {
	python3 -S -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
try:
	for i in range(64):
		s.send(b"K")
		time.sleep(0.5)
except OSError:
	pass' "$RX_PORT" &
	DRIP_PID=$!
	PIDS+=("$DRIP_PID")
}
hello_drip() {
	local name=$1 how=$2 bound=$3 t0 rx
	start_receiver "$name" 127.0.0.1:0 "$WORK/$name" -t 3 || { not_ok "$name: receiver"; return; }
	drip
	t0=$SECONDS
	[ "$how" = deadline ] || { sleep 1; t0=$SECONDS; kill -TERM "$(kmig_pid "$RX_PID")"; }
	wait_pid_bounded "$RX_PID" 20; rx=$?
	kill "$DRIP_PID" 2>/dev/null
	echo "# $name: rx=$rx after $((SECONDS - t0)) s: $(cat "$WORK/$name.rx.err")"
	if [ "$rx" = 0 ] || [ "$rx" = 124 ] || [ $((SECONDS - t0)) -gt "$bound" ]; then
		not_ok "$name: exit $rx after $((SECONDS - t0)) s (bound $bound s)"
	else
		ok "$name: exit $rx after $((SECONDS - t0)) s (bound $bound s)"
	fi
}
# wait_pid_bounded PID SECONDS: its status, or 124 after killing it
wait_pid_bounded() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || { { wait "$1"; } 2>/dev/null; return; }
		sleep 0.1
	done
	kill -9 "$1" 2>/dev/null
	return 124
}
hello_drip hello-drip-deadline deadline 6
hello_drip hello-drip-sigterm sigterm 2

summary
