#!/usr/bin/env bash
# QEMU boots kguest.elf as a multiboot kernel (TCG, CPL0 path) and it runs:
# the serial console shows the fill and successive sweeps; then, with QEMU
# stopped, the integrity checker verifies the guest RAM (a shared
# memory-backend-file) exactly as it verifies kmig-vmm's memfds.
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

echo "1..3"
if ! command -v qemu-system-x86_64 >/dev/null; then
	for i in 1 2 3; do echo "ok $i qemu_boot # SKIP qemu-system-x86_64 not installed"; done
	exit 0
fi

qemu-system-x86_64 -accel tcg -m 64 -nographic -no-reboot -nic none \
	-monitor none -serial "file:$dir/serial" \
	-object memory-backend-file,id=ram,size=64M,mem-path="$dir/ram",share=on \
	-machine pc,memory-backend=ram \
	-kernel "$kguest" -append "seed=7 ab=2 report=256" \
	>"$dir/qemu.log" 2>&1 &
qpid=$!

# Up to 60 s for three sweeps (TCG fills 64 MiB in a few seconds).
for _ in $(seq 600); do
	grep -q "kguest: sweep 3 " "$dir/serial" 2>/dev/null && break
	kill -0 "$qpid" 2>/dev/null || break
	sleep 0.1
done
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
