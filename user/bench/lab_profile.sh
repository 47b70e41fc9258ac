#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where a live migration's CPU goes: one kmig migrate of a kguest between
# two kmig-vmm processes over loopback (2 channels, the bench-peer guest:
# 1 vCPU, a-b 32 MiB, --spin 4351), under perf, RUNS times. Made for the
# lab, where bench-peer compares kmig with QEMU (TCG: what costs CPU there
# is not what costs it natively, so profile there):
#
#   selftests/vmtest/lab.sh --mem 2048 --out $PWD/user/build/prof -- \
#       user/bench/lab_profile.sh --out $PWD/user/build/prof
#
# Options: --build DIR (user/build), --out DIR (required: perf.data and
# the JSON of each run), --codec none|zstd|lz4 (none), --mem SIZE (128M),
# --fill PCT (100), --runs N (1), --landing auto|splice|map[,...] (auto:
# kmig incoming's --landing; a list alternates them within each run
# number, for an A/B in one boot), --channels N[,...] (2, as bench-peer;
# a list alternates the same way), --perf record|incoming|stat|none
# (record: perf record -a -e cpu-clock, a report by process and symbol;
# incoming: the same of the kmig incoming process alone; stat:
# task clock and context switches of the whole system). As bench-peer
# does, memfd THP is set to shmem_enabled=advise for the runs (restored
# at the end). Per run it prints the migration's total time, its data
# pages, the CPU (user+sys s) of kmig incoming and the system's shmem huge
# pages once it ended (both VMMs' memfds: whether the destination's pages
# landed huge), and the destination VMM's CPU over the migration (its
# threads but the vCPUs, as bench-peer counts it); exit status non-zero if
# a migration failed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=$(cd "$HERE/.." && pwd)/build
OUT= CODEC=none MEM=128M FILL=100 RUNS=1 PERF=record LANDINGS=auto CHANNELS=2
while [ $# -gt 0 ]; do
	case "$1" in
	--build) BUILD=$2; shift ;;
	--out) OUT=$2; shift ;;
	--codec) CODEC=$2; shift ;;
	--mem) MEM=$2; shift ;;
	--fill) FILL=$2; shift ;;
	--runs) RUNS=$2; shift ;;
	--landing) LANDINGS=$2; shift ;;
	--channels) CHANNELS=$2; shift ;;
	--perf) PERF=$2; shift ;;
	*) echo "lab_profile.sh: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$OUT" ] || { echo "lab_profile.sh: --out DIR is required" >&2; exit 2; }
case "$PERF" in record|incoming|stat|none) ;; *) echo "lab_profile.sh: --perf $PERF" >&2; exit 2 ;; esac
mkdir -p "$OUT"
. "$HERE/lib.sh"
bench_init /tmp/kmig-prof.XXXXXX
bench_shmem_thp advise ||
	echo "lab_profile.sh: could not set $BENCH_THP_FILE to advise (is ${BENCH_THP_OLD:-unreadable})" >&2

# CPU seconds (user + system) of process $1's threads but its vCPUs
# ("vcpu N"), as bench-peer counts a VMM's.
vmm_cpu() {
	local t ticks=0 f
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in vcpu\ *) continue ;; esac
		f=$(sed 's/.*) //' "$t/stat" 2>/dev/null) || continue
		set -- $f
		ticks=$((ticks + ${12} + ${13}))
	done
	awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f\n", t / hz }'
}

one_run() {
	local r=$1 land=$2 chans=$3 w=$WORK/$1-$2-$3 o=$OUT/run$1-$2-c$3 rc=0 port
	local what="$r, --landing $land --channels $chans"
	mkdir -p "$w" "$o"
	bench_vmm "$w/src.sock" "$o/src-vmm.err" --mem "$MEM" --vcpus 1 --seed 7 \
		--report 256 --spin 4351 --ab 32M --fill "$FILL" &&
	bench_vmm "$w/dst.sock" "$o/dst-vmm.err" --incoming --mem "$MEM" --vcpus 1 \
		--report 256 --spin 4351 &&
	local dst_vmm=$VMM_PID &&
	bench_ready "$w/src.sock" 300 || { echo "run $what: the guest did not fill" >&2; return 1; }
	vmm_cpu "$dst_vmm" >"$o/dst-vmm.cpu0"
	local inperf=()
	[ "$PERF" = incoming ] && inperf=(perf record -q -e cpu-clock -F 2000 -o "$o/perf.data" --)
	/usr/bin/time -f "%U %S" -o "$o/incoming.cpu" "${inperf[@]}" "$BUILD/kmig" incoming -q --json \
		--landing "$land" --vmm "$w/dst.sock" --listen 127.0.0.1:0 -R "$w/port" >"$o/incoming.json" \
		2>"$o/incoming.err" &
	PIDS+=($!)
	bench_wait_file "$w/port" 30 || { echo "run $what: kmig incoming did not listen" >&2; return 1; }
	port=$(cat "$w/port")
	local perf=()
	case "$PERF" in
	record) perf=(perf record -q -a -e cpu-clock -F 2000 -o "$o/perf.data" --) ;;
	stat) perf=(perf stat -a -e task-clock,context-switches -o "$o/perf-stat.txt" --) ;;
	esac
	timeout 600 "${perf[@]}" "$BUILD/kmig" migrate --json --vmm "$w/src.sock" \
		--to "127.0.0.1:$port" --channels "$chans" --compress "$CODEC" --downtime-limit 300 \
		--keep-source --max-iterations 30 >"$o/migrate.json" 2>"$o/migrate.err" || rc=1
	wait "${PIDS[-1]}" || rc=1
	vmm_cpu "$dst_vmm" >"$o/dst-vmm.cpu1"
	echo "run $what: $(($(bench_shmem_huge_kb) / 1024)) MiB of shmem in huge pages (both VMMs)"
	bench_quit "$w/src.sock"
	bench_quit "$w/dst.sock"
	wait
	PIDS=()
	python3 - "$o" "$what" "$rc" "$PERF" <<'EOF'
import json, sys
o, r, rc, perf = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
try:
    j = json.load(open(o + "/migrate.json"))
    cpu = sum(float(x) for x in open(o + "/incoming.cpu").read().split()[-2:])
    vmm = float(open(o + "/dst-vmm.cpu1").read()) - float(open(o + "/dst-vmm.cpu0").read())
    print("run %s: total %.2f s, downtime %.1f ms, data pages %d, kmig incoming CPU %.2f s%s, "
          "destination VMM CPU %.2f s%s" % (
        r, j["total_ns"] / 1e9, j["downtime_ns"] / 1e6, j["pages_normal"], cpu,
        " (perf's own included)" if perf == "incoming" else "", vmm,
        "" if rc == "0" else " (FAILED)"))
except (OSError, ValueError, KeyError) as e:
    print("run %s: FAILED (%s; see %s)" % (r, e, o))
EOF
	if [ "$PERF" = record ] || [ "$PERF" = incoming ]; then
		perf report -i "$o/perf.data" --no-children --sort comm,dso,sym -g none --stdio \
			2>/dev/null | grep "%" | head -40 >"$o/report.txt"
		head -15 "$o/report.txt"
	fi
	[ "$PERF" = stat ] && grep -E "task-clock|context" "$o/perf-stat.txt"
	return $rc
}

status=0
for r in $(seq "$RUNS"); do
	for land in ${LANDINGS//,/ }; do
		for chans in ${CHANNELS//,/ }; do
			one_run "$r" "$land" "$chans" || status=1
		done
	done
done
exit $status
