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

summary
