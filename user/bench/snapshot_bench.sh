#!/bin/bash
# make -C user bench-snapshot: snapshot save and restore of a 4 GiB kguest,
# dense (--fill 100) and 10% populated (--fill 10), against two baselines
# measured in the same run on the same filesystem:
#   disk    dd with 1 MiB O_DIRECT writes (conv=fsync) and reads of 4 GiB
#   stream  the plain migration stream written to files and read back
#           (bench/stream_file.c: kmig_send's packets appended to one file
#           per channel with buffered write() + fsync, then the files fed
#           to kmig_recv, which validates them and fills fresh memfds;
#           the page cache is dropped in between)
# kmig save --stopped of the paused guest (with and without per-page
# CRC32C), kmig save --live (dense), kmig restore (with and without CRC)
# into an --incoming kmig-vmm, and kmig snapshot-info --verify (the
# restore's reads and checksums into reused buffers: no destination memory
# to allocate).
# Only one 4 GiB guest exists at a time. Big files are deleted as soon as
# they are used, and all of them at the end.
#
# Settings: BENCH_MEM (4G; 512M in the lab, which is 10-50x slower),
# BENCH_CHANNELS (2), BENCH_DIR (a directory on the filesystem to measure;
# default: a new one under ${TMPDIR:-/tmp}: the lab's scratch disk there).
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
MEM=${BENCH_MEM:-$([ -n "${KMIG_IN_LAB:-}" ] && echo 512M || echo 4G)}
CH=${BENCH_CHANNELS:-2}
. "$(dirname "$0")/lib.sh"
bench_init "${BENCH_DIR:-${TMPDIR:-/tmp}}/kmig-snapbench.XXXXXX"

# vmm NAME ARGS...: a VMM of the bench's size on $WORK/NAME.sock
vmm() {
	local name=$1
	shift
	bench_vmm "$WORK/$name.sock" "$WORK/$name.err" --mem "$MEM" --vcpus 2 "$@"
}

wait_ready() {
	bench_ready "$WORK/$1.sock" && return 0
	echo "guest $1 not ready: $(cat "$WORK/$1.err")"
	return 1
}

quit() {
	bench_quit "$WORK/$1.sock"
	sleep 0.3
}

# result KEY SECONDS BYTES [CRC_NS]: one line of $WORK/results
result() {
	echo "$1 $2 $3 ${4:-0}" >>"$WORK/results"
}

jget() {
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

disk() {
	local t0 t1 t2
	t0=$(date +%s%N)
	dd if=/dev/zero of="$WORK/dd" bs=1M count=4096 oflag=direct conv=fsync status=none
	t1=$(date +%s%N)
	dd if="$WORK/dd" of=/dev/null bs=1M iflag=direct status=none
	t2=$(date +%s%N)
	rm -f "$WORK/dd"
	result disk-write "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')" $((4096 << 20))
	result disk-read "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print (b - a) / 1e9 }')" $((4096 << 20))
}

# save TAG FILE ARGS...: kmig save of the src guest
save() {
	local tag=$1 f=$2 j=$WORK/$1.json
	shift 2
	"$BUILD/kmig" save --json --vmm "$WORK/src.sock" --file "$f" -c "$CH" --after pause "$@" \
		>"$j" 2>"$WORK/$tag.save.err" || { echo "save $tag: $(cat "$WORK/$tag.save.err")"; return 1; }
	result "$tag" "$(jget "$j" 'j["save"]["total_ns"] / 1e9')" \
		"$(jget "$j" 'j["save"]["stream"]["total"]["bytes_wire"]')" \
		"$(jget "$j" 'j["save"]["stream"]["total"]["ns_codec"]')"
}

# restore TAG FILE: kmig restore into a fresh --incoming VMM
restore() {
	local tag=$1 f=$2 j=$WORK/$1.json
	vmm dst --incoming
	"$BUILD/kmig" restore --json --vmm "$WORK/dst.sock" --file "$f" -c "$CH" \
		>"$j" 2>"$WORK/$tag.rest.err" || { echo "restore $tag: $(cat "$WORK/$tag.rest.err")"; quit dst; return 1; }
	result "$tag" "$(jget "$j" 'j["total_ns"] / 1e9')" "$(jget "$j" 'j["bytes_read"]')" \
		"$(jget "$j" 'j["read"]["total"]["ns_codec"]')"
	quit dst
}

# verify TAG FILE: the same reads and checksums into reused buffers (no
# destination memory to allocate): what restore would do without faults
verify() {
	local t0 t1
	t0=$(date +%s%N)
	"$BUILD/kmig" snapshot-info --verify -c "$CH" "$2" >/dev/null || { echo "verify $1 failed"; return 1; }
	t1=$(date +%s%N)
	result "$1" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')" \
		"$(jget "$WORK/${1%-verify}-restore.json" 'j["bytes_read"]')"
}

stream() {
	local tag=$1 mode=$2 out
	shift 2
	out=$("$BUILD/bench/stream_file" "$mode" -d "$WORK/stream" -c "$CH" "$@") ||
		{ echo "stream $mode failed"; return 1; }
	result "$tag" "$(echo "$out" | jget /dev/stdin 'j["seconds"]')" \
		"$(echo "$out" | jget /dev/stdin 'j["bytes"]')"
}

density() {
	local d=$1 fill=$2
	vmm src --fill "$fill"
	wait_ready src || return 1
	"$BUILD/kmig-vmmctl" "$WORK/src.sock" pause >/dev/null
	save "$d-save" "$WORK/crc.snap" --stopped
	save "$d-save-nocrc" "$WORK/nocrc.snap" --stopped --no-data-crc
	mkdir -p "$WORK/stream"
	stream "$d-stream-write" record -s "$WORK/src.sock"
	if [ "$d" = dense ]; then
		"$BUILD/kmig-vmmctl" "$WORK/src.sock" resume >/dev/null
		save "$d-save-live" "$WORK/live.snap" --live
		rm -f "$WORK/live.snap"
	fi
	quit src
	stream "$d-stream-read" replay
	rm -rf "$WORK/stream"
	restore "$d-restore" "$WORK/crc.snap"
	verify "$d-verify" "$WORK/crc.snap"
	restore "$d-restore-nocrc" "$WORK/nocrc.snap"
	rm -f "$WORK/crc.snap" "$WORK/nocrc.snap"
}

echo "snapshot bench: $MEM kguest, $CH threads/channels, files in $WORK ($(df -T "$WORK" | awk 'NR == 2 { print $2 }'))"
: >"$WORK/results"
disk
density dense 100
density sparse 10
python3 "$(dirname "$0")/snapshot_table.py" "$WORK/results" "$MEM" "$CH"
