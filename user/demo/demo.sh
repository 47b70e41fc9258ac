#!/bin/bash
# make demo: a live migration of a running KVM guest between two processes,
# over loopback TCP, and the proof that it arrived intact.
#
#   kmig-vmm (source) --memfds--> kmig migrate ==2 TCP channels==> kmig incoming --memfds--> kmig-vmm --incoming
#
# Where (demo.mk): on this machine when /dev/kvm and /dev/kmig work here;
# otherwise in the lab (selftests/vmtest/lab.sh: Debian's 6.1 kernel under
# TCG with kvm.ko and kmig.ko loaded, running this machine's userland), so
# that the migration takes the module path. KMIG_LAB=1 forces the lab,
# KMIG_LAB=0 this machine (then without the module, if /dev/kmig is absent).
#
# Settings (environment): DEMO_MEM (2G; 512M in the lab), DEMO_AB (512M, the
# range the guest keeps dirtying; 64M in the lab), DEMO_RATE (25000 page
# writes/s; 1000 in the lab), DEMO_CHANNELS (2), DEMO_DOWNTIME (50 ms: the
# downtime limit; 300 in the lab, kmig's default), DEMO_ARGS (more kmig
# migrate options: --no-module runs the same migration on the userspace
# fallback, to compare). The lab is 10-50x slower than KVM on a host: its
# guest is smaller and dirties less, and its timings compare only with each
# other.
set -u
BUILD=${BUILD:-$(cd "$(dirname "$0")/.." && pwd)/build}
if [ -n "${KMIG_IN_LAB:-}" ]; then
	MEM=${DEMO_MEM:-512M} AB=${DEMO_AB:-64M} RATE=${DEMO_RATE:-1000} DOWNTIME=${DEMO_DOWNTIME:-300}
else
	MEM=${DEMO_MEM:-2G} AB=${DEMO_AB:-512M} RATE=${DEMO_RATE:-25000} DOWNTIME=${DEMO_DOWNTIME:-50}
fi
CHANNELS=${DEMO_CHANNELS:-2}
ARGS=${DEMO_ARGS:-}
WORK=$(mktemp -d /tmp/kmig-demo.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -t 1 ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi
die() { echo "demo: $*" >&2; exit 1; }
field() { "$BUILD/kmig-vmmctl" "$WORK/$1.sock" query 2>/dev/null | awk -v f="$2" '$1 == f { print $2 }'; }

wait_for() {	# SECONDS PID COMMAND...: poll until the command succeeds, while PID lives
	local i n=$1 pid=$2
	shift 2
	for ((i = 0; i < n * 10; i++)); do
		"$@" && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# What this machine lacks: KVM, or KVM and kmig.ko (nothing: it has it).
LAB=$(dirname "$0")/../../selftests/vmtest/lab.sh
why=$("$LAB" --need kvm --why)
[ -z "$why" ] || die "$why (KMIG_LAB=0 keeps the demo here; without it, make demo runs in the lab)"
for b in kmig kmig-vmm kmig-vmmctl kguest.elf; do
	[ -e "$BUILD/$b" ] || die "$BUILD/$b missing: run make -C user first"
done
no_kmig=$("$LAB" --need kmig --why)
module=0
case " $ARGS " in *" --no-module "*) ;; *) [ -n "$no_kmig" ] || module=1 ;; esac

if [ -n "${KMIG_IN_LAB:-}" ]; then
	step "0. Where: in the lab, because $KMIG_LAB_WHY"
	echo "The lab is Debian's 6.1 kernel under QEMU's TCG, with kvm.ko, kvm-amd.ko and kmig.ko"
	echo "loaded, running this machine's programs: the migration can use the module there."
	echo "Everything there is 10-50x slower than on a host with KVM: a $MEM guest instead of"
	echo "2G, and its figures compare only with other runs in the lab."
fi

step "1. The source: kmig-vmm with a $MEM guest (2 vCPUs) running kguest"
echo "kguest fills its memory with a known mix (zero, text-like, random pages), then"
echo "keeps dirtying a $AB range, a-b style, at $RATE page writes per second"
echo "($((RATE * 4096 / 1048576)) MiB/s of writes), like QEMU's migration test guest."
"$BUILD/kmig-vmm" --quiet --socket "$WORK/src.sock" --mem "$MEM" --vcpus 2 --ab "$AB" \
	--rate "$RATE" --report 256 2>"$WORK/src.err" &
PIDS+=($!)
SRC_PID=$!
t0=$SECONDS
src_ready() { [ "$(field src ready)" = yes ]; }
wait_for 300 "$SRC_PID" src_ready || die "the source guest did not get ready: $(cat "$WORK/src.err")"
echo "guest ready after $((SECONDS - t0)) s: state $(field src state), $(field src pages_written) a-b page writes so far"

step "2. The destination: kmig-vmm --incoming (memory and vCPUs, nothing runs) and kmig incoming"
echo "(with the same --rate cap: the cap is the VMM's, it does not travel with the guest)"
"$BUILD/kmig-vmm" --quiet --socket "$WORK/dst.sock" --mem "$MEM" --vcpus 2 --incoming \
	--rate "$RATE" --report 256 2>"$WORK/dst.err" &
PIDS+=($!)
DST_PID=$!
wait_for 20 "$DST_PID" test -S "$WORK/dst.sock" ||
	die "the destination VMM did not start: $(cat "$WORK/dst.err")"
"$BUILD/kmig" incoming --vmm "$WORK/dst.sock" --listen 127.0.0.1:0 -R "$WORK/port" \
	>"$WORK/incoming.out" 2>"$WORK/incoming.err" &
PIDS+=($!)
IN_PID=$!
wait_for 20 "$IN_PID" test -s "$WORK/port" || die "kmig incoming did not start: $(cat "$WORK/incoming.err")"
PORT=$(cat "$WORK/port")
# (kmig incoming holds the VMM's one protocol session now: no queries.)
echo "kmig incoming listens on 127.0.0.1:$PORT, writes into the destination VMM's memfds"

step "3. kmig migrate --channels $CHANNELS --downtime-limit $DOWNTIME${ARGS:+ $ARGS} (the guest keeps running and dirtying during precopy)"
if [ $module = 1 ]; then
	echo "kmig.ko: /dev/kmig is here, so kmig migrate uses the module: it finds the zero pages"
	echo "of the first pass by walking page tables, harvests the dirty bitmaps of all slots"
	echo "in one call and classifies the dirty pages, and stops dirty logging in the"
	echo "background after the switchover (the report's 'dirty tracking' line names it)."
	"$BUILD/kmig" stat --json >"$WORK/stat0.json" 2>"$WORK/stat.err" ||
		die "kmig stat: $(cat "$WORK/stat.err")"
elif [ -n "$ARGS" ]; then
	echo "kmig.ko: not used ($ARGS): dirty bitmaps come through the VMM (GET/CLEAR_DIRTY_LOG),"
	echo "zero pages are found on the sender threads."
else
	echo "kmig.ko: NOT used: $no_kmig."
	echo "Dirty bitmaps come through the VMM (GET/CLEAR_DIRTY_LOG), zero pages are found"
	echo "on the sender threads. Without KMIG_LAB=0, make demo runs in the lab, where the"
	echo "module is loaded."
fi
"$BUILD/kmig" migrate --vmm "$WORK/src.sock" --to "127.0.0.1:$PORT" --channels "$CHANNELS" \
	--downtime-limit "$DOWNTIME" $ARGS
mst=$?
wait "$IN_PID"
ist=$?
[ "$mst" = 0 ] || die "kmig migrate failed (exit $mst)"
[ "$ist" = 0 ] || die "kmig incoming failed (exit $ist): $(cat "$WORK/incoming.err")"

if [ $module = 1 ]; then
	"$BUILD/kmig" stat --json >"$WORK/stat1.json" 2>"$WORK/stat.err" ||
		die "kmig stat: $(cat "$WORK/stat.err")"
	step "What kmig.ko did in this migration (its own counters, kmig stat, before and after)"
	python3 - "$WORK/stat0.json" "$WORK/stat1.json" <<'PY' | fold -s -w 78
import json, sys
a, b = (json.load(open(f))["totals"] for f in sys.argv[1:3])
d = {k: b[k] - a[k] for k in b}
print("The zero scan looked at %d pages in %d calls and found %d of them zero without "
      "reading them (%d never touched, %d on the shared zero page); it read %d to find "
      "%d more zero. %d KMIG_HARVEST calls (%.1f ms in all) harvested %d dirty pages of "
      "every slot at once and classified %d of them zero. After the switchover the "
      "deferred stop ended dirty logging on %d slots in the background (%d request "
      "done, %.1f ms from the request to its end, outside the downtime). To compare: "
      "DEMO_ARGS=--no-module make demo runs the same migration on the userspace "
      "fallback." % (
          sum(d["zscan_" + k] for k in ("none", "zero_page", "zero_data", "nonzero")),
          d["zscan_calls"], d["zscan_none"] + d["zscan_zero_page"], d["zscan_none"],
          d["zscan_zero_page"], d["zscan_zero_data"] + d["zscan_nonzero"],
          d["zscan_zero_data"], d["harvest_calls"], d["harvest_ns"] / 1e6,
          d["harvest_dirty"],
          d["harvest_zero_none"] + d["harvest_zero_page"] + d["harvest_zero_data"],
          d["stop_slots_done"], d["stop_done"], d["stop_latency_ns"] / 1e6))
PY
fi

step "4. The destination's side"
cat "$WORK/incoming.out"

step "5. Verification"
src_gone() { ! kill -0 "$SRC_PID" 2>/dev/null; }
wait_for 10 "$DST_PID" src_gone && echo "source VMM: exited (told to quit after the switchover)" ||
	die "the source VMM is still running"
echo "destination VMM: state $(field dst state), dirty logging $(field dst dirty_log)"
echo "integrity check on the destination, guest paused (kmig-vmmctl check: every page of"
echo "every region recomputed, the a-b counters consistent with one boundary per vCPU):"
"$BUILD/kmig-vmmctl" "$WORK/dst.sock" check || die "INTEGRITY CHECK FAILED"
before=$(field dst pages_written)
sleep 1
after=$(field dst pages_written)
[ "$after" -gt "$before" ] || die "the guest makes no progress on the destination"
echo "the guest keeps running on the destination: $((after - before)) a-b page writes in the last second"
"$BUILD/kmig-vmmctl" "$WORK/dst.sock" quit --exit >/dev/null
wait "$DST_PID"

step "Done: a $MEM guest migrated live over loopback with $CHANNELS channels$(
	[ $module = 1 ] && echo " through kmig.ko"), integrity verified$(
	[ -n "${KMIG_IN_LAB:-}" ] && echo ", in the lab")"
