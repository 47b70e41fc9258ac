#!/bin/bash
# Shared by the live-migration tests: real kmig-vmm processes (a source
# running kguest, an --incoming destination), kmig incoming and kmig
# migrate, every process started by this script with its own pid (no
# timeout(1) wrapper: the pid is the process), bounded waits, and checks
# through kmig-vmmctl. Everything started is killed by the trap.
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
VMM=$BUILD/kmig-vmm
VMMCTL=$BUILD/kmig-vmmctl
# In the lab (selftests/vmtest/lab.sh: nested KVM under TCG, 10-50x
# slower than a host with KVM) a guest that dirties without a cap keeps the
# lab's CPU busy and starves the programs under test: there every VMM gets
# a dirty-rate cap (a test's own --rate comes later and wins) below what
# the slowest codec sends there (zlib: ~0.5 MB/s on a loaded machine), with
# progress reports often enough to see it advance, and guests are smaller.
# LAB_VMM_ARGS adds arguments to every VMM anywhere. PROGRESS_WAIT bounds
# the wait for a guest's progress (seconds): a migrated guest keeps the
# source's report interval, and its first report under the destination's
# cap can take a while there.
PROGRESS_WAIT=5
if [ -n "${KMIG_IN_LAB:-}" ]; then
	GUEST_MEM=${GUEST_MEM:-32M}
	LAB_VMM_ARGS=${LAB_VMM_ARGS---rate 50 --report 8}
	PROGRESS_WAIT=60
fi
GUEST_MEM=${GUEST_MEM:-128M}

# lab_or HOST LAB: a test's setting here, or its value scaled for the lab
lab_or() {
	if [ -n "${KMIG_IN_LAB:-}" ]; then echo "$2"; else echo "$1"; fi
}

# Kill what we started (the trap in lib.sh also does, by pid).
kill_pids() {
	local p
	for p in "$@"; do kill -9 "$p" 2>/dev/null; done
}

# wait_bounded PID SECONDS: the exit status, or 124 after killing it.
wait_bounded() {
	local pid=$1 i
	for ((i = 0; i < $2 * 20; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			{ wait "$pid"; } 2>/dev/null	# no "Killed" job notices
			return
		fi
		sleep 0.05
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 124
}

# start_vmm NAME ARGS...: kmig-vmm on $WORK/NAME.sock -> VMM_PID. A VMM
# that exits (no /dev/kvm, bad arguments) fails the start at once.
declare -A VMM_PIDS
start_vmm() {
	local name=$1 i
	shift
	"$VMM" --quiet --socket "$WORK/$name.sock" ${LAB_VMM_ARGS:-} "$@" 2>"$WORK/$name.vmm.err" &
	VMM_PID=$!
	VMM_PIDS[$name]=$VMM_PID
	PIDS+=("$VMM_PID")
	for ((i = 0; i < 200; i++)); do
		[ -S "$WORK/$name.sock" ] && return 0
		vmm_alive "$name" || return 1
		sleep 0.05
	done
	echo "# vmm $name did not start in 10 s: $(cat "$WORK/$name.vmm.err")"
	return 1
}

# vmm_alive NAME: the VMM is still there, or say how it ended
vmm_alive() {
	kill -0 "${VMM_PIDS[$1]}" 2>/dev/null && return 0
	echo "# vmm $1 exited: $(cat "$WORK/$1.vmm.err")"
	return 1
}

# vmm_field NAME FIELD: one value of kmig-vmmctl query
vmm_field() {
	"$VMMCTL" "$WORK/$1.sock" query 2>/dev/null | awk -v f="$2" '$1 == f { print $2 }'
}

# wait_ready NAME: the guest has filled its memory (bounded)
wait_ready() {
	local i
	for ((i = 0; i < 600; i++)); do
		[ "$(vmm_field "$1" ready)" = yes ] && return 0
		vmm_alive "$1" || return 1
		sleep 0.05
	done
	echo "# vmm $1 not ready"
	return 1
}

# start_pair SRC DST [src vmm args...]: a running source, a waiting destination
start_pair() {
	local src=$1 dst=$2
	shift 2
	start_vmm "$src" --mem "$GUEST_MEM" --vcpus 2 "$@" && SRC_PID=$VMM_PID &&
	start_vmm "$dst" --mem "$GUEST_MEM" --vcpus 2 --incoming && DST_PID=$VMM_PID &&
	wait_ready "$src"
}

# start_incoming NAME DSTVMM [args...]: kmig incoming -> IN_PID, IN_PORT
# IN_PREFIX runs it elsewhere (ip netns exec ...); IN_ENV adds environment.
start_incoming() {
	local name=$1 dst=$2
	shift 2
	rm -f "$WORK/$name.ready"
	env ${IN_ENV:-} ${IN_PREFIX:-} "$KMIG" incoming -q --vmm "$WORK/$dst.sock" \
		--listen "${IN_LISTEN:-127.0.0.1:0}" -R "$WORK/$name.ready" "$@" \
		>"$WORK/$name.in.out" 2>"$WORK/$name.in.err" &
	IN_PID=$!
	PIDS+=("$IN_PID")
	if ! wait_file "$WORK/$name.ready" 10 "$IN_PID"; then
		echo "# incoming $name did not start: $(cat "$WORK/$name.in.err")"
		return 1
	fi
	IN_PORT=$(cat "$WORK/$name.ready")
}

# start_migrate NAME SRCVMM [args...]: kmig migrate --json in the background
# -> MIG_PID; MIG_ENV adds environment (a test hook), MIG_PREFIX a netns.
start_migrate() {
	local name=$1 src=$2
	shift 2
	env ${MIG_ENV:-} ${MIG_PREFIX:-} "$KMIG" migrate --json --vmm "$WORK/$src.sock" \
		--to "${MIG_HOST:-127.0.0.1}:$IN_PORT" "$@" \
		>"$WORK/$name.json" 2>"$WORK/$name.mig.err" &
	MIG_PID=$!
	PIDS+=("$MIG_PID")
}

# json_get FILE EXPR: a field of a JSON report (python3 expression on j)
json_get() {
	python3 -S -c 'import json, sys; j = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2" 2>/dev/null
}

# check_running NAME: state running, the checker passes (pause, verify,
# resume) and the guest makes progress afterwards.
check_guest() {
	local name=$1 out before after i
	[ "$(vmm_field "$name" state)" = running ] || { echo "# $name: state $(vmm_field "$name" state)"; return 1; }
	out=$("$VMMCTL" "$WORK/$name.sock" check 2>&1) || { echo "# $name: check: $out"; return 1; }
	echo "$out" | grep -q "integrity: ok: 0 bad pages" || { echo "# $name: $out"; return 1; }
	before=$(vmm_field "$name" pages_written)
	for ((i = 0; i < PROGRESS_WAIT * 5; i++)); do
		sleep 0.2
		after=$(vmm_field "$name" pages_written)
		[ -n "$after" ] && [ "$after" -gt "$before" ] && return 0
	done
	echo "# $name: no progress in $PROGRESS_WAIT s ($before -> $after)"
	return 1
}

# The source after a failed or cancelled migration: running, intact,
# dirty logging off.
check_source_intact() {
	local name=$1
	[ "$(vmm_field "$name" dirty_log)" = off ] || { echo "# $name: dirty logging still on"; return 1; }
	check_guest "$name"
}

# stopped PID: the process is stopped (SIGSTOP from its test hook)
wait_stopped() {
	local i
	for ((i = 0; i < 400; i++)); do
		[ "$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null)" = T ] && return 0
		sleep 0.05
	done
	echo "# pid $1 did not stop at its hook"
	return 1
}

# wait_line FILE REGEX [SECONDS]
wait_line() {
	local i
	for ((i = 0; i < ${3:-20} * 20; i++)); do
		grep -Eq "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# no '$2' in $1: $(cat "$1")"
	return 1
}

# quit_vmm NAME: ask a VMM to exit (ignores a VMM already gone)
quit_vmm() {
	"$VMMCTL" "$WORK/$1.sock" quit --exit >/dev/null 2>&1
}

# Huge pages of shared memory: /proc/meminfo's ShmemHugePages (kB)
shmem_huge_kb() { awk '/^ShmemHugePages:/ { print $2 }' /proc/meminfo; }

# thp_advise: memfd THP on "advise" (fresh memfd pages huge only by a
# fault through a mapping with MADV_HUGEPAGE) for the cases after it, when
# we may -> THP_ADVISE=1 if so; thp_restore (and the trap) sets it back.
THP_ENABLED=/sys/kernel/mm/transparent_hugepage/shmem_enabled
thp_advise() {
	THP_OLD=$(sed -n 's/.*\[\(.*\)\].*/\1/p' "$THP_ENABLED" 2>/dev/null)
	THP_ADVISE=
	if [ "$THP_OLD" = advise ]; then
		THP_ADVISE=1
	elif [ -n "$THP_OLD" ] && echo advise 2>/dev/null >"$THP_ENABLED"; then
		CLEANUP_HOOKS+=("echo $THP_OLD >$THP_ENABLED")
		THP_ADVISE=1
	fi
}
thp_restore() {
	if [ -n "$THP_ADVISE" ] && [ "$THP_OLD" != advise ]; then
		echo "$THP_OLD" >"$THP_ENABLED"
	fi
}
