#!/bin/bash
# Failures mid-transfer: the sender killed, the receiver killed, one TCP
# connection destroyed (ss -K), the sender interrupted (SIGINT). Each time
# both sides exit non-zero with a clear message, within a bounded time, and
# the receiver leaves no output file (a receiver that is itself killed can
# leave its NAME.tmp files, never a file under a block's name). The
# transfer is rate-limited so that it is still running when the fault hits.
. "$(dirname "$0")/lib.sh"

make_images "$WORK/src" || { echo "genimage failed"; exit 1; }
RATE=16M	# ~64 MiB of pages: about 4 s

# start NAME: receiver + rate-limited sender in the background
start() {
	start_receiver "$1" 127.0.0.1:0 "$WORK/$1" || return 1
	timeout 60 "$KMIG" send -q -c 4 -r "$RATE" $(BLOCK_ARGS "$WORK/src") \
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
	wait "$TX_PID"; tx=$?
	wait "$RX_PID"; rx=$?
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

summary
