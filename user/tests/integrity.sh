#!/bin/bash
# Integrity over loopback: every codec (and auto) x 1/2/4 channels moves
# four blocks of different sizes and contents (mixed, text, random, zero)
# byte-identically, with a device-state blob.
. "$(dirname "$0")/lib.sh"

make_images "$WORK/src" || { echo "genimage failed"; exit 1; }
head -c 100000 /dev/urandom >"$WORK/devstate"

run_case() {
	local name="lo-$1-$2" out="$WORK/lo-$1-$2"
	RX_EXTRA="-d $out.dev" transfer "$name" 127.0.0.1:0 127.0.0.1 "$1" "$2" \
		-d "$WORK/devstate" || return
	if cmp -s "$WORK/devstate" "$out.dev"; then ok "$name"; else not_ok "$name: device state"; fi
	rm -rf "$out" "$out.dev"
}

# QUICK=1 (the sanitizer run): each codec once.
if [ -n "${QUICK:-}" ]; then
	for codec in none zlib zstd lz4 auto; do run_case "$codec" 2; done
	summary
	exit
fi
for codec in none zlib zstd lz4; do
	for ch in 1 2 4; do
		run_case "$codec" "$ch"
	done
done
run_case auto 2
run_case auto:lz4 4

# --json on both sides parses and counts the same pages.
RX_QUIET=-j start_receiver json 127.0.0.1:0 "$WORK/json"
timeout 60 "$KMIG" send -j -c 2 -z zstd $(BLOCK_ARGS "$WORK/src") "127.0.0.1:$RX_PORT" \
	>"$WORK/tx.json"
wait "$RX_PID"
cp "$WORK/json.rx.out" "$WORK/rx.json"
if python3 - "$WORK/tx.json" "$WORK/rx.json" <<'PY'
import json, sys
tx = json.load(open(sys.argv[1])); rx = json.load(open(sys.argv[2]))
assert tx["role"] == "send" and rx["role"] == "receive"
t, r = tx["total"], rx["total"]
assert t["bytes_wire"] == r["bytes_wire"], (t, r)
assert t["pages_raw"] == r["pages_raw"] and t["pages_compressed"] == r["pages_compressed"]
assert t["pages_none"] + t["pages_zero"] == r["pages_zero"]
assert len(tx["per_channel"]) == 2
assert tx["bytes_transferred"] == (40 + 12 + 8) * 2**20 + 4100 * 1024
PY
then ok "json statistics agree"; else not_ok "json statistics"; fi

# Page sums (wire-format.rst): a byte flipped in flight (tamper.py, 1 MiB
# into channel 0, inside the pages) is caught in plaintext; --no-page-sums
# on both ends sends and lands the pages without them (no pass reads a
# landed page); on the sender alone it is refused at the hello, before a
# block file exists.
json_field() {
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1]))
print(j["no_page_sums"], j["total"]["bytes_read"])' "$1"
}
start_receiver psum-tamper 127.0.0.1:0 "$WORK/psum-tamper" -t 30
if ! start_tamper psum-tamper "$RX_PORT" 1048576; then
	not_ok "psum-tamper: proxy"
elif timeout 60 "$KMIG" send -q -c 2 $(BLOCK_ARGS "$WORK/src") \
	"127.0.0.1:$TAMPER_PORT" 2>"$WORK/psum-tamper.tx.err"; then
	not_ok "psum-tamper: send succeeded"
elif wait "$RX_PID"; then
	not_ok "psum-tamper: receive succeeded"
elif grep -Eq "page sum did not match|CRC32C" "$WORK/psum-tamper.rx.err"; then
	ok "psum-tamper: a byte flipped in flight is caught: $(grep -Eo \
		"page sum did not match|CRC32C" "$WORK/psum-tamper.rx.err" | head -1)"
else
	not_ok "psum-tamper: receiver: $(cat "$WORK/psum-tamper.rx.err")"
fi

# json_transfer NAME "RX ARGS" "TX ARGS": a transfer with JSON reports in
# $WORK/NAME.{rx.out,tx.json}, checked byte for byte.
json_transfer() {
	local name=$1
	RX_QUIET=-j start_receiver "$name" 127.0.0.1:0 "$WORK/$name" $2 || return
	timeout 60 "$KMIG" send -j -c 2 $3 $(BLOCK_ARGS "$WORK/src") "127.0.0.1:$RX_PORT" \
		>"$WORK/$name.tx.json" 2>"$WORK/$name.tx.err" ||
		{ echo "# send: $(cat "$WORK/$name.tx.err")"; wait "$RX_PID"; return 1; }
	wait "$RX_PID" || { echo "# receive: $(cat "$WORK/$name.rx.err")"; return 1; }
	same_blocks "$WORK/src" "$WORK/$name"
}
if ! json_transfer nosum --no-page-sums --no-page-sums; then
	not_ok "nosum: the transfer"
else
	read -r rx_flag rx_read < <(json_field "$WORK/nosum.rx.out")
	read -r tx_flag _ < <(json_field "$WORK/nosum.tx.json")
	if [ "$rx_flag $tx_flag $rx_read" = "True True 0" ]; then
		ok "nosum: byte-identical, both reports say no page sums, no landed page read"
	else
		not_ok "nosum: no_page_sums rx $rx_flag tx $tx_flag, receiver read $rx_read bytes"
	fi
fi
# The receiver's --no-page-sums alone changes nothing: the sender sends them.
if ! json_transfer sums --no-page-sums ""; then
	not_ok "sums: the transfer"
else
	read -r rx_flag rx_read < <(json_field "$WORK/sums.rx.out")
	if [ "$rx_flag" = False ] && [ "$rx_read" -gt 0 ]; then
		ok "sums: each landed page is read for its page sum ($rx_read bytes)"
	else
		not_ok "sums: no_page_sums $rx_flag, receiver read $rx_read bytes"
	fi
fi

start_receiver nosum-refused 127.0.0.1:0 "$WORK/nosum-refused" -t 5
if timeout 30 "$KMIG" send -q -c 2 --no-page-sums $(BLOCK_ARGS "$WORK/src") \
	"127.0.0.1:$RX_PORT" 2>"$WORK/nosum-refused.tx.err"; then
	not_ok "nosum-refused: send succeeded"
elif wait "$RX_PID"; then
	not_ok "nosum-refused: receive succeeded"
elif ! grep -q "not allowed here (--no-page-sums)" "$WORK/nosum-refused.tx.err"; then
	not_ok "nosum-refused: sender: $(cat "$WORK/nosum-refused.tx.err")"
elif [ -n "$(ls -A "$WORK/nosum-refused")" ]; then
	not_ok "nosum-refused: files received: $(ls "$WORK/nosum-refused")"
else
	ok "nosum-refused: a receiver not told to trust the link refuses the hello"
fi

summary
