#!/bin/bash
# TLS on the channels of kmig send/receive (Documentation/security.rst),
# over loopback with real TLS: a good transfer with a pre-shared key and
# with x509 certificates, and every way in that must be refused (wrong
# key, unknown CA, wrong peer name, expired certificate, plaintext against
# TLS both ways, a stalled handshake on either side, a replayed channel,
# a record tampered in flight): each refused with a clear error, and
# nothing received (no block file is ever created in the output
# directory). Keys and certificates are made here, in $WORK, never kept.
#
#   sender --TLS--> [tamper.py proxy: flips one byte] --TLS--> receiver
. "$(dirname "$0")/lib.sh"
TESTS=$(cd "$(dirname "$0")" && pwd)
. "$TESTS/pki.sh"
make_pki || exit 1
mkdir -p "$WORK/src"
"$KMIG" genimage --size 24M --seed 5 "$WORK/src/ram0" &&
"$KMIG" genimage --size 8M --mix random:1 --seed 6 "$WORK/src/random" || exit 1
BLOCKS="-b ram0=$WORK/src/ram0 -b random=$WORK/src/random"

# good NAME "RX TLS ARGS" "TX TLS ARGS": a transfer that must work.
good() {
	local name=$1 out=$WORK/$1
	start_receiver "$name" 127.0.0.1:0 "$out" $2 || { not_ok "$name"; return; }
	if ! timeout 60 "$KMIG" send -j -c 2 $3 $BLOCKS "127.0.0.1:$RX_PORT" \
		>"$WORK/$name.tx.json" 2>"$WORK/$name.tx.err"; then
		not_ok "$name: send failed: $(cat "$WORK/$name.tx.err")"; wait "$RX_PID"; return
	fi
	wait "$RX_PID" || { not_ok "$name: receive failed: $(cat "$WORK/$name.rx.err")"; return; }
	cmp -s "$WORK/src/ram0" "$out/ram0" && cmp -s "$WORK/src/random" "$out/random" ||
		{ not_ok "$name: output differs"; return; }
	python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["tls"]
assert t["on"] and t["version"] == "TLSv1.3", t' "$WORK/$name.tx.json" 2>/dev/null ||
		{ not_ok "$name: the report does not say TLS 1.3"; return; }
	ok "$name"
}

# refused NAME WHO PATTERN "RX ARGS" "TX ARGS": the transfer fails, WHO's
# (tx/rx) error matches PATTERN, and nothing was received. VIA_PROXY=N:
# through tamper.py, which flips byte N of the first connection.
refused() {
	local name=$1 who=$2 pat=$3 out=$WORK/$1 port
	# -t: the refused cases end at the deadline; through the proxy the
	# channel fails at once, but python's start may take seconds (lab).
	start_receiver "$name" 127.0.0.1:0 "$out" -t "$([ -n "${VIA_PROXY:-}" ] && echo 30 || echo 3)" \
		$4 || { not_ok "$name"; return; }
	port=$RX_PORT
	if [ -n "${VIA_PROXY:-}" ]; then
		start_tamper "$name" "$RX_PORT" "$VIA_PROXY" || { not_ok "$name: proxy"; return; }
		port=$TAMPER_PORT
	fi
	if timeout 30 "$KMIG" send -q -c 2 $5 $BLOCKS "127.0.0.1:$port" \
		2>"$WORK/$name.tx.err"; then
		not_ok "$name: send succeeded"; wait "$RX_PID"; return
	fi
	if wait "$RX_PID"; then
		not_ok "$name: receive succeeded"; return
	fi
	if ! grep -Eq "$pat" "$WORK/$name.$who.err"; then
		not_ok "$name: $who's error does not match '$pat':" \
			"tx: $(cat "$WORK/$name.tx.err") rx: $(cat "$WORK/$name.rx.err")"
		return
	fi
	[ -z "$(ls -A "$out")" ] || { not_ok "$name: files received: $(ls "$out")"; return; }
	! grep -q "Sanitizer\|runtime error" "$WORK/$name.tx.err" "$WORK/$name.rx.err" ||
		{ not_ok "$name: sanitizer report"; return; }
	ok "$name: $(grep -Eo "$pat" "$WORK/$name.$who.err" | head -1)"
}

PSK="--tls-psk $P/psk"
good psk "$PSK" "$PSK"
good x509 "--tls-creds $P/dst --tls-peer src.test" "--tls-creds $P/src"
good x509-name "--tls-creds $P/dst" "--tls-creds $P/src --tls-peer dst.test"

refused wrong-psk rx "refused a connection from 127\.0\.0\.1:[0-9]+: TLS handshake" \
	"$PSK" "--tls-psk $P/psk2"
grep -q "TLS handshake" "$WORK/wrong-psk.tx.err" && ok "wrong-psk: the sender says TLS handshake" ||
	not_ok "wrong-psk: sender: $(cat "$WORK/wrong-psk.tx.err")"
refused unknown-ca rx "certificate: unable to get local issuer" \
	"--tls-creds $P/dst" "--tls-creds $P/stranger"
refused unknown-ca-server tx "certificate: unable to get local issuer" \
	"--tls-creds $P/stranger" "--tls-creds $P/src"
refused wrong-name tx "certificate: hostname mismatch|IP address mismatch" \
	"--tls-creds $P/dst" "--tls-creds $P/src --tls-peer other.test"
refused wrong-client-name rx "certificate: hostname mismatch" \
	"--tls-creds $P/dst --tls-peer src.test" "--tls-creds $P/mallory"
refused expired rx "certificate has expired" \
	"--tls-creds $P/dst" "--tls-creds $P/expired"
refused plain-to-tls tx "does the receiver want TLS" "$PSK" ""
refused tls-to-plain tx "is the peer using TLS" "" "$PSK"
grep -q "hello magic\|expected.*KMGH\|magic" "$WORK/tls-to-plain.rx.err" &&
	ok "tls-to-plain: the plaintext receiver says the hello is not one" ||
	not_ok "tls-to-plain: receiver: $(cat "$WORK/tls-to-plain.rx.err")"

# A record tampered in flight: the proxy flips one byte 1 MiB into the
# first connection (channel 0), inside a page record.
VIA_PROXY=1048576 refused tamper rx "bad record mac|decryption failed|Bad message" "$PSK" "$PSK"
# Under TLS the pages carry no page sums (wire-format.rst): the record's
# tag is what must catch it.
grep -Eq "bad record mac|decryption failed" "$WORK/tamper.rx.err" &&
	ok "tamper: the receiver names the record that failed its authentication" ||
	not_ok "tamper: receiver: $(cat "$WORK/tamper.rx.err")"

# A receiver that fails mid-stream tells the sender why on every channel,
# under TLS too: a channel's connection is written only by its own thread,
# which writes the ERROR itself once its reads were ended.
cancelled_receiver() {
	start_receiver cancelled 127.0.0.1:0 "$WORK/cancelled" $PSK || { not_ok cancelled; return; }
	timeout 30 "$KMIG" send -q -c 2 --max-bandwidth 8M $PSK $BLOCKS "127.0.0.1:$RX_PORT" \
		2>"$WORK/cancelled.tx.err" &
	local tx=$!
	sleep 1
	kill -INT "$RX_PID"
	wait "$tx" && { not_ok "cancelled: send succeeded"; return; }
	wait "$RX_PID"
	grep -q "receiver: cancelled" "$WORK/cancelled.tx.err" &&
		ok "cancelled: the sender says 'receiver: cancelled'" ||
		not_ok "cancelled: sender: $(cat "$WORK/cancelled.tx.err")"
}
cancelled_receiver

# A stalled TLS handshake: bounded (refused at the receiver's deadline),
# and SIGTERM ends the receiver at once.
stall() {
	local out=$WORK/stall t0
	start_receiver stall 127.0.0.1:0 "$out" -t 2 $PSK || { not_ok stall; return; }
	exec 7<>"/dev/tcp/127.0.0.1/$RX_PORT"
	t0=$SECONDS
	wait "$RX_PID" && { not_ok "stall: receive succeeded"; exec 7>&-; return; }
	exec 7>&-
	grep -q "refused a connection from 127.0.0.1:[0-9]*: TLS handshake: no answer in time" \
		"$WORK/stall.rx.err" && [ $((SECONDS - t0)) -le 5 ] &&
		ok "stall: handshake refused after $((SECONDS - t0)) s" ||
		not_ok "stall: $(cat "$WORK/stall.rx.err") ($((SECONDS - t0)) s)"
	# A record header, then a byte every 0.3 s: each would restart a socket
	# timeout, not the deadline.
	start_receiver trickle 127.0.0.1:0 "$WORK/trickle" -t 2 $PSK || { not_ok trickle; return; }
	python3 -c 'import socket,sys,time
s=socket.create_connection(("127.0.0.1",int(sys.argv[1])))
s.send(b"\x16\x03\x01\x02\x00")
for i in range(40):
    s.send(b"\x01"); time.sleep(0.3)' "$RX_PORT" 2>/dev/null &
	local tr=$!
	t0=$SECONDS
	wait "$RX_PID" && { not_ok "trickle: receive succeeded"; return; }
	kill "$tr" 2>/dev/null
	wait "$tr" 2>/dev/null
	grep -q "refused a connection from 127.0.0.1:[0-9]*: TLS handshake: no answer in time" \
		"$WORK/trickle.rx.err" && [ $((SECONDS - t0)) -le 5 ] &&
		ok "trickle: a handshake fed a byte every 0.3 s refused after $((SECONDS - t0)) s" ||
		not_ok "trickle: $(cat "$WORK/trickle.rx.err") ($((SECONDS - t0)) s)"
	start_receiver stall2 127.0.0.1:0 "$WORK/stall2" -t 30 $PSK || { not_ok stall2; return; }
	exec 7<>"/dev/tcp/127.0.0.1/$RX_PORT"
	sleep 0.5
	t0=$(date +%s%N)
	kill -TERM "$RX_PID"
	wait "$RX_PID"
	local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	exec 7>&-
	[ "$rc" != 0 ] && [ "$ms" -lt 2000 ] && grep -q "interrupted by a signal" "$WORK/stall2.rx.err" &&
		ok "stall: SIGTERM during the handshake ends the receiver in $ms ms" ||
		not_ok "stall: SIGTERM: rc $rc after $ms ms: $(cat "$WORK/stall2.rx.err")"
}
stall

# The sender's side: a "receiver" that accepts and never answers.
stall_sender() {
	python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(8); print(s.getsockname()[1], flush=True)
c=[s.accept() for _ in range(1)]; time.sleep(30)' >"$WORK/mute.port" &
	PIDS+=($!)
	disown $!
	wait_file "$WORK/mute.port" 5 || { not_ok "stall-sender: server"; return; }
	timeout 30 "$KMIG" send -q $PSK $BLOCKS "127.0.0.1:$(cat "$WORK/mute.port")" \
		2>"$WORK/mute.err" &
	local pid=$! t0
	sleep 0.5
	t0=$(date +%s%N)
	kill -TERM "$pid"
	wait "$pid"
	local rc=$? ms=$((($(date +%s%N) - t0) / 1000000))
	[ "$rc" != 0 ] && [ "$ms" -lt 2000 ] &&
		ok "stall-sender: SIGTERM during the handshake ends the sender in $ms ms" ||
		not_ok "stall-sender: rc $rc after $ms ms: $(cat "$WORK/mute.err")"
}
stall_sender

# Safe defaults: a listener on all addresses without TLS warns; with
# --require-tls it refuses to start.
mkdir -p "$WORK/warn"
timeout 5 "$KMIG" receive -q -t 1 -o "$WORK/warn" 0 2>"$WORK/warn.err"
grep -q "WARNING: listening on all addresses without TLS: anyone who can reach this port" \
	"$WORK/warn.err" && ok "a listener without TLS warns" ||
	not_ok "no warning: $(cat "$WORK/warn.err")"
if timeout 5 "$KMIG" receive -q --require-tls -o "$WORK" 127.0.0.1:0 2>"$WORK/req.err"; then
	not_ok "--require-tls without credentials ran"
else
	grep -q -- "--require-tls" "$WORK/req.err" && ok "--require-tls refuses to run without TLS" ||
		not_ok "--require-tls: $(cat "$WORK/req.err")"
fi
chmod 644 "$P/psk"
timeout 5 "$KMIG" send -q $PSK $BLOCKS 127.0.0.1:1 2>"$WORK/perm.err"
grep -q "readable by others" "$WORK/perm.err" && ok "a key file readable by others is refused" ||
	not_ok "key file mode: $(cat "$WORK/perm.err")"

summary
