#!/bin/bash
# make -C user bench-migrate: live migration of a 2 GiB kguest between two
# kmig-vmm processes over loopback (2 channels), at two dirty rates, with
# the dirty-log stop after the switchover (kmig's order) and inside the
# downtime (what a naive VMM does), and with TLS on the channels (a
# pre-shared key) against plaintext. Medians of BENCH_REPEAT runs; the
# tables' ratios are against baselines measured in this run. memfd THP is
# switched to "advise" for the run when possible (and restored): huge pages
# are what makes stopping dirty logging expensive.
#
# Where /dev/kmig is usable (in the lab: bench/migrate.mk) every run is
# made twice, on the module path and with --no-module on the fallback.
#
# Settings: BENCH_MEM (2G), BENCH_AB (512M), BENCH_RATES ("5000 50000" page
# writes/s), BENCH_REPEAT (5), BENCH_CHANNELS (2), BENCH_LIMIT (30: the
# downtime limit in ms; low enough that both rates iterate down to a small
# final pass, so a stop inside the downtime shows), BENCH_THP (advise; or
# the value to set for the run, e.g. never, to compare). In the lab (TCG,
# 10-50x slower, sending at 5-10 MiB/s) the defaults are 128M, 32M,
# "250 1000", 3 and 100 ms.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
HERE=$(cd "$(dirname "$0")" && pwd)
if [ -n "${KMIG_IN_LAB:-}" ]; then
	MEM=${BENCH_MEM:-128M} AB=${BENCH_AB:-32M} RATES=${BENCH_RATES:-250 1000}
	REPEAT=${BENCH_REPEAT:-3} LIMIT=${BENCH_LIMIT:-100}
else
	MEM=${BENCH_MEM:-2G} AB=${BENCH_AB:-512M} RATES=${BENCH_RATES:-5000 50000}
	REPEAT=${BENCH_REPEAT:-5} LIMIT=${BENCH_LIMIT:-30}
fi
CHANNELS=${BENCH_CHANNELS:-2}
. "$HERE/lib.sh"
bench_init /tmp/kmig-bench.XXXXXX

thp_on() {
	local want=${BENCH_THP:-advise}

	[ -w "$BENCH_THP_FILE" ] || { echo "memfd THP: $BENCH_THP_FILE not writable: left as it is"; return; }
	if bench_shmem_thp "$want"; then
		echo "memfd THP: shmem_enabled set to $want for this run (was $BENCH_THP_OLD; restored at the end)"
	else
		echo "memfd THP: could not set shmem_enabled (was $BENCH_THP_OLD)"
	fi
}

# The source VMM's memory in 2 MiB mappings (smaps: ShmemPmdMapped), MiB.
thp_mib() {
	awk '/^(ShmemPmdMapped|FilePmdMapped):/ { kb += $2 } END { print int(kb / 1024) }' \
		"/proc/$1/smaps_rollup" 2>/dev/null
}

# run RATE MODE N [ARGS]: one migration, its report in $WORK/RATE-MODE-N.json;
# MODE after or during (the dirty-log stop), or tls: after, with TLS (PSK)
run() {
	local rate=$1 mode=$2 n=$3 tag="$1-$2-$3" src dst in port stop=$2 tls=()
	if [ "$mode" = tls ]; then
		stop=after
		tls=(--tls-psk "$WORK/psk")
	fi
	rm -f "$WORK/port"
	bench_vmm "$WORK/src.sock" "$WORK/src.err" --mem "$MEM" --vcpus 2 --ab "$AB" \
		--rate "$rate" --report 256 && src=$VMM_PID &&
	bench_vmm "$WORK/dst.sock" "$WORK/dst.err" --mem "$MEM" --vcpus 2 --incoming \
		--rate "$rate" --report 256 && dst=$VMM_PID &&
	bench_ready "$WORK/src.sock" || { echo "source not ready: $(cat "$WORK/src.err")"; return 1; }
	sleep 1		# a second of dirtying at the stated rate before migrating
	thp_mib "$src" >"$WORK/$tag.thp"
	"$BUILD/kmig" incoming -q --vmm "$WORK/dst.sock" --listen 127.0.0.1:0 -R "$WORK/port" \
		"${tls[@]}" &
	in=$!
	PIDS+=("$in")
	bench_wait_file "$WORK/port"
	port=$(cat "$WORK/port")
	timeout -k 5 120 "$BUILD/kmig" migrate --json --vmm "$WORK/src.sock" --to "127.0.0.1:$port" \
		--channels "$CHANNELS" --downtime-limit "$LIMIT" --max-iterations 30 \
		--dirty-log-stop "$stop" "${tls[@]}" ${4:-} >"$WORK/$tag.json" 2>"$WORK/$tag.err" ||
		{ echo "migrate failed: $(cat "$WORK/$tag.err")"; kill -9 "$in" "$src" "$dst"; wait; return 1; }
	wait "$in"
	bench_quit "$WORK/dst.sock"
	wait "$src" "$dst" 2>/dev/null
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print("  %-22s total %6.2f s, downtime %7.1f ms, dirty-log stop %6.1f ms %s" % (sys.argv[2], j["total_ns"] / 1e9, j["downtime_ns"] / 1e6, (j["downtime"]["dirty_log_stop_ns"] or j["dirty_log"]["stop_after_switchover_ns"]) / 1e6, "inside the downtime" if j["downtime"]["dirty_log_stop_ns"] else "after it"))' \
		"$WORK/$tag.json" "$tag${4:+ $4}"
}

bench_need_build
echo "Live migration benchmark: $MEM guest, 2 vCPUs, kguest dirtying a $AB range at"
echo "$(echo "$RATES" | sed 's/ / and /') page writes/s, $CHANNELS channels over loopback, downtime limit"
echo "$LIMIT ms, $REPEAT runs each."
if [ -n "${KMIG_IN_LAB:-}" ]; then
	echo "Where: in the lab ($KMIG_LAB_WHY): kmig-vmm on nested KVM under TCG, 10-50x"
	echo "slower than on a host with KVM; compare only within this run."
else
	echo "Where: this machine's KVM."
fi
thp_on
(umask 077; openssl rand -hex 32 >"$WORK/psk") || exit 1
MODULE_WHY=$("$HERE/../../selftests/vmtest/lab.sh" --need kmig --why)
if [ -n "$MODULE_WHY" ]; then
	MODULE_WHY="not run: $MODULE_WHY"
	PATH_ARGS=("")
else
	MODULE_WHY="run: /dev/kmig is usable here; each run is also made with --no-module"
	PATH_ARGS=("" "--no-module")
fi
# File names tell runs apart by rate, order and number: the fallback runs
# of a module machine are numbered after the module's.
for rate in $RATES; do
	for ((n = 1; n <= REPEAT; n++)); do
		for mode in after during tls; do
			for p in "${!PATH_ARGS[@]}"; do
				run "$rate" "$mode" $((n + p * REPEAT)) "${PATH_ARGS[$p]}" || exit 1
			done
		done
	done
done
python3 "$HERE/migrate_table.py" "$WORK" "$MODULE_WHY" $RATES
