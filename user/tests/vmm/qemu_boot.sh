#!/usr/bin/env bash
# QEMU boots kguest.elf as a multiboot kernel (TCG, CPL0 path) and it runs:
# the serial console shows the fill and successive sweeps; then, with QEMU
# stopped, the integrity checker verifies the guest RAM (a shared
# memory-backend-file) exactly as it verifies kmig-vmm's memfds. A second
# boot with fill=10 on the command line must lay out a sparse guest (the
# checker counts far more zero than text pages, and passes).
#
#   qemu_boot.sh BUILD_DIR      prints KTAP lines; exit 0 on success
set -u
build=${1:-build}
kguest=$build/kguest.elf
ctl=$build/kmig-vmmctl
dir=$(mktemp -d /tmp/kmig-qemu-boot.XXXXXX)
qpid=
cleanup() {
	[ -n "$qpid" ] && kill -CONT "$qpid" 2>/dev/null && kill "$qpid" 2>/dev/null
	[ -n "$qpid" ] && wait "$qpid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

echo "1..4"
if ! command -v qemu-system-x86_64 >/dev/null; then
	for i in 1 2 3 4; do echo "ok $i qemu_boot # SKIP qemu-system-x86_64 not installed"; done
	exit 0
fi

# boot APPEND SWEEP: a 64 MiB guest on a fresh RAM file, until its serial
# console shows sweep SWEEP (up to 60 s; TCG fills 64 MiB in a few seconds)
boot() {
	rm -f "$dir/ram" "$dir/serial"
	qemu-system-x86_64 -accel tcg -m 64 -nographic -no-reboot -nic none \
		-monitor none -serial "file:$dir/serial" \
		-object memory-backend-file,id=ram,size=64M,mem-path="$dir/ram",share=on \
		-machine pc,memory-backend=ram \
		-kernel "$kguest" -append "$1" >"$dir/qemu.log" 2>&1 &
	qpid=$!
	for _ in $(seq 600); do
		grep -q "kguest: sweep $2 " "$dir/serial" 2>/dev/null && break
		kill -0 "$qpid" 2>/dev/null || break
		sleep 0.1
	done
}

boot "seed=7 ab=2 report=256" 3
sed 's/^/# /' "$dir/serial" | head -8

if grep -q "kguest: multiboot, ram" "$dir/serial" && grep -q "kguest: fill done" "$dir/serial"; then
	echo "ok 1 qemu_boot.multiboot_entry_and_fill"
else
	echo "not ok 1 qemu_boot.multiboot_entry_and_fill"; cat "$dir/qemu.log"
fi
if grep -q "kguest: sweep 3 " "$dir/serial"; then
	echo "ok 2 qemu_boot.sweeps_progress"
else
	echo "not ok 2 qemu_boot.sweeps_progress"
fi
kill -STOP "$qpid" 2>/dev/null
if "$ctl" check-file "$dir/ram" | sed 's/^/# /'; [ "${PIPESTATUS[0]}" = 0 ]; then
	echo "ok 3 qemu_boot.integrity_of_guest_ram"
else
	echo "not ok 3 qemu_boot.integrity_of_guest_ram"
fi

# fill=PCT: 10% of the non-a-b pages text or random, the rest zero.
kill "$qpid" 2>/dev/null; kill -CONT "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null
boot "seed=7 ab=2 report=256 fill=10" 1
kill -STOP "$qpid" 2>/dev/null
out=$("$ctl" check-file "$dir/ram")
rc=$?
echo "$out" | sed 's/^/# /'
zero=$(echo "$out" | sed -n 's/.*checked \([0-9]*\) zero, \([0-9]*\) text.*/\1/p')
text=$(echo "$out" | sed -n 's/.*checked \([0-9]*\) zero, \([0-9]*\) text.*/\2/p')
# The checker's verdict too: the pages the guest leaves zero must be zero
# (kguest clears what the firmware left in them at boot, e.g. SeaBIOS's
# POST heap: 27 pages of a 64 MiB guest, just below 48 MiB).
if [ "$rc" = 0 ] && grep -q "fill 10" "$dir/serial" && [ -n "$zero" ] && [ -n "$text" ] &&
	[ "$zero" -gt $((text * 10)) ]; then
	echo "ok 4 qemu_boot.fill_param_sparse_layout (checker exit $rc)"
else
	echo "not ok 4 qemu_boot.fill_param_sparse_layout (zero $zero, text $text, rc $rc)"
fi
