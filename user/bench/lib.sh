# SPDX-License-Identifier: GPL-2.0
# Shared by the bench scripts (bench/*.sh source it): a work directory and
# the processes started for the run, both gone at exit, and kmig-vmm
# processes started and waited for through kmig-vmmctl.
#
#   bench_init TEMPLATE        WORK=$(mktemp -d TEMPLATE), PIDS=(), the
#                              exit and signal traps
#   bench_on_exit CMD          CMD runs at exit, after the processes are
#                              killed, before WORK goes (in reverse order)
#   bench_need_build           every program a run needs is in $BUILD
#   bench_vmm SOCKET ERR ARGS  kmig-vmm --quiet on SOCKET (stderr in ERR);
#                              VMM_PID, added to PIDS; waits for the socket
#   bench_field SOCKET FIELD   a field of kmig-vmmctl's query
#   bench_ready SOCKET [S]     waits until the guest filled its memory
#                              (S seconds at most, 120 by default)
#   bench_quit SOCKET          tells the VMM to exit
#   bench_wait_file FILE [S]   waits until FILE is not empty (a port
#                              file; S seconds at most, 5 by default)
#   bench_shmem_thp VALUE      memfd THP ($BENCH_THP_FILE) set to VALUE for
#                              the run, the old one (BENCH_THP_OLD, ""
#                              if unreadable) back at exit; 1 if it could
#                              not be set
#   bench_shmem_thp_now        memfd THP's selected value ("" if unreadable)
#   bench_shmem_huge_kb        /proc/meminfo's ShmemHugePages, kB
# Every wait is bounded: 1 if the bound passed.

bench_cleanup() {
	local p i
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	for ((i = ${#BENCH_ON_EXIT[@]} - 1; i >= 0; i--)); do eval "${BENCH_ON_EXIT[i]}"; done
	rm -rf "$WORK"
}

bench_init() {
	WORK=$(mktemp -d "$1") || exit 1
	PIDS=()
	BENCH_ON_EXIT=()
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_on_exit() { BENCH_ON_EXIT+=("$1"); }

bench_need_build() {
	local b
	for b in kmig kmig-vmm kmig-vmmctl kguest.elf; do
		[ -e "$BUILD/$b" ] || { echo "bench: $BUILD/$b missing" >&2; exit 1; }
	done
}

# Up to 120 s for the socket: a large guest's memory is allocated first.
bench_vmm() {
	local sock=$1 err=$2 i
	shift 2
	rm -f "$sock"
	"$BUILD/kmig-vmm" --quiet --socket "$sock" "$@" 2>"$err" &
	VMM_PID=$!
	PIDS+=("$VMM_PID")
	for ((i = 0; i < 1200; i++)); do
		[ -S "$sock" ] && return 0
		kill -0 "$VMM_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

bench_field() {
	"$BUILD/kmig-vmmctl" "$1" query 2>/dev/null | awk -v f="$2" '$1 == f { print $2 }'
}

# kguest fills its memory before it reports ready.
bench_ready() {
	local i
	for ((i = 0; i < ${2:-120} * 10; i++)); do
		[ "$(bench_field "$1" ready)" = yes ] && return 0
		sleep 0.1
	done
	return 1
}

bench_quit() {
	"$BUILD/kmig-vmmctl" "$1" quit --exit >/dev/null 2>&1
}

# kmig incoming writes its port once it listens.
bench_wait_file() {
	local i
	for ((i = 0; i < ${2:-5} * 20; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

BENCH_THP_FILE=/sys/kernel/mm/transparent_hugepage/shmem_enabled
bench_shmem_thp_now() { sed -n 's/.*\[\(.*\)\].*/\1/p' "$BENCH_THP_FILE" 2>/dev/null; }
bench_shmem_huge_kb() { awk '/^ShmemHugePages:/ { print $2 }' /proc/meminfo; }
bench_shmem_thp() {
	BENCH_THP_OLD=$(bench_shmem_thp_now)
	[ -n "$BENCH_THP_OLD" ] || return 1
	[ "$BENCH_THP_OLD" = "$1" ] && return 0
	echo "$1" 2>/dev/null >"$BENCH_THP_FILE" || return 1
	bench_on_exit "echo $BENCH_THP_OLD > $BENCH_THP_FILE 2>/dev/null"
}
