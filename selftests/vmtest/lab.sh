#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The lab: the VM test host (boot.sh: Debian's 6.1 kernel under qemu's TCG)
# with kvm, kvm-amd and kmig.ko loaded, running this machine's own
# userland, so that anything here that needs /dev/kvm or /dev/kmig runs
# there unchanged: the tests, the demo, the benchmarks, a shell.
#
#   this machine
#    +-- qemu-system-x86_64 -accel tcg -cpu max,-erms,-fsrm <- the lab
#          +-- Debian 6.1 kernel: kvm.ko, kvm-amd.ko, kmig.ko
#          |     (/dev/kvm: nested KVM on the emulated SVM; /dev/kmig)
#          +-- /     overlay: this machine's / (virtio-9p, read-only)
#          |         under a tmpfs (writes stay in the lab's memory)
#          +-- /tmp  this machine's /tmp under a scratch ext4 disk (what
#          |         is written goes to the disk: O_DIRECT works), discarded
#          +-- OUT   this machine's OUT folder (virtio-9p, writable)
#          +-- COMMAND: same directory, same exported environment
#
# Usage: lab.sh [options] [--] COMMAND [ARGS...]
#        lab.sh [options] --shell
#   --mem MIB     the lab's memory (KMIG_LAB_MEM, 4096): guests, tmpfs
#                 files and the overlay's writes come out of it
#   --cpus N      vCPUs (KMIG_LAB_CPUS, 1: single-threaded TCG runs every
#                 vCPU in one host thread, so a second one adds no speed
#                 but costs its turns: the tests ran 1.6x slower with 2)
#   --timeout S   time limit of the whole run, boot included
#                 (KMIG_LAB_TIMEOUT, 3600): COMMAND is stopped 60 s
#                 before it, so that the kernel log still comes back
#   --out DIR     writable in the lab at the same path: what COMMAND
#                 writes there is on this machine afterwards; inside,
#                 $KMIG_LAB_OUT (KMIG_LAB_OUT, selftests/vmtest/out/files)
#   --disk SIZE   the scratch disk for /tmp (KMIG_LAB_DISK, 16G, sparse)
#   --kernel K    6.1 (default), 6.12 or 6.1-debug (KMIG_LAB_KERNEL; boot.sh)
#   --shell       an interactive shell (on this terminal) instead of COMMAND
#   --need kvm|kmig
#                 run COMMAND here, without the lab, when this machine
#                 has a usable /dev/kvm (kmig: and /dev/kmig); in the lab
#                 otherwise, saying why (the first line of the output)
#   --why         with --need: print why this machine lacks it (nothing
#                 when it has it), whatever KMIG_LAB says, and exit
#   -v            show the lab's kernel console while it runs (stderr)
#
# Environment:
#   KMIG_LAB=1    always the lab; KMIG_LAB=0 never (COMMAND runs here)
#   KVER, KVER_612, VMTEST_KERNEL_IMAGE, VMTEST_MODDIR, VMTEST_KO,
#                 VMTEST_APPEND, VMTEST_TCG_THREAD, VMTEST_CPU: the
#                 kernel the lab boots and how (boot.sh);
#                 the lab's CPU is max,-erms,-fsrm: without "fast rep movsb"
#                 the kernel and glibc copy with loops that TCG runs 4x
#                 faster than its one-byte-at-a-time rep movsb
# Inside the lab COMMAND also finds KMIG_IN_LAB=1 and KMIG_LAB_WHY (why it
# runs there), and lab.sh itself just runs COMMAND (no lab in the lab).
#
# Exit status: COMMAND's, or 1 when the kernel logged a warning, an oops,
# a lockdep report... (the patterns of vmtest), 124 when the time limit
# ended it, 1 when the lab did not come up. COMMAND's output (stdout and
# stderr, merged) comes on stdout as it runs; the lab's own lines
# ("  LAB ...") on stderr. Last console log: selftests/vmtest/out/console-lab.log.
set -euo pipefail

vm_name=lab
. "$(dirname "$0")/boot.sh"

mem=${KMIG_LAB_MEM:-4096}
cpus=${KMIG_LAB_CPUS:-1}
timeout_s=${KMIG_LAB_TIMEOUT:-3600}
out_dir=${KMIG_LAB_OUT:-$vm_here/out/files}
disk=${KMIG_LAB_DISK:-16G}
kname=${KMIG_LAB_KERNEL:-6.1}
shell=0
need=""
why_only=0
verbose=0
while [ $# -gt 0 ]; do
	case "$1" in
	--mem) mem=$2; shift ;;
	--cpus) cpus=$2; shift ;;
	--timeout) timeout_s=$2; shift ;;
	--out) out_dir=$2; shift ;;
	--disk) disk=$2; shift ;;
	--kernel) kname=$2; shift ;;
	--shell) shell=1 ;;
	--need) need=$2; shift ;;
	--why) why_only=1 ;;
	-v) verbose=1 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	--) shift; break ;;
	-*) vm_die "unknown option '$1' (see --help)" ;;
	*) break ;;
	esac
	shift
done
case $need in ""|kvm|kmig) ;; *) vm_die "--need kvm or --need kmig, not '$need'" ;; esac
[ $why_only = 0 ] || [ -n "$need" ] || vm_die "--why goes with --need"
[ $shell = 1 ] || [ $why_only = 1 ] || [ $# -gt 0 ] || vm_die "no command (see --help)"
[[ $mem =~ ^[0-9]+$ && $cpus =~ ^[0-9]+$ && $timeout_s =~ ^[0-9]+$ ]] ||
	vm_die "--mem, --cpus and --timeout take numbers"
[ "$timeout_s" -gt 90 ] || vm_die "--timeout $timeout_s: the boot alone takes up to a minute"

say() { echo "  LAB    $*" >&2; }

# why_not DEV: empty when this process can open DEV read-write, else why.
why_not() {
	local err
	[ -e "$1" ] || { echo "$1 does not exist on this machine"; return; }
	err=$( { exec 3<>"$1"; } 2>&1 ) && return
	echo "$1 is not usable by $(id -un): ${err##*: }"
}

# What this machine lacks for --need; empty when it has it.
lacks() {
	local why
	why=$(why_not /dev/kvm)
	if [ -z "$why" ] && [ "$need" = kmig ]; then
		why=$(why_not /dev/kmig)
		if [ -n "$why" ] && [ ! -e /proc/modules ]; then
			why="$why (this machine's kernel cannot load modules)"
		fi
	fi
	echo "$why"
}

# Why COMMAND must run in the lab; empty when it can run here.
lab_why() {
	case ${KMIG_LAB:-} in
	1) echo "KMIG_LAB=1"; return ;;
	0) return ;;
	esac
	[ -n "$need" ] || { echo "as asked"; return; }
	lacks
}

if [ $why_only = 1 ]; then
	lacks
	exit 0
fi
if [ -n "${KMIG_IN_LAB:-}" ]; then
	[ $shell = 0 ] || exec bash -i
	exec "$@"
fi
why=$(lab_why)
if [ -z "$why" ]; then
	[ $shell = 0 ] || exec bash -i
	exec "$@"
fi

VMTEST_CPU=${VMTEST_CPU:-max,-erms,-fsrm}
vm_select "$kname"
command -v mkfs.ext4 >/dev/null || PATH=$PATH:/usr/sbin:/sbin
command -v mkfs.ext4 >/dev/null || vm_die "mkfs.ext4 missing (package e2fsprogs)"
mkdir -p "$vm_here/out" "$out_dir"
out_dir=$(cd "$out_dir" && pwd)
run=$(mktemp -d "$vm_here/out/lab.XXXXXX")
qpid=""
tpid=""
cleanup() {
	[ -z "$qpid" ] || kill "$qpid" 2>/dev/null || true
	[ -z "$qpid" ] || wait "$qpid" 2>/dev/null || true
	[ -z "$tpid" ] || kill "$tpid" 2>/dev/null || true
	rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- initramfs, environment, scratch disk ----
vm_rootfs "$run/rootfs" virtio_pci virtio_blk 9pnet_virtio 9p overlay ext4 kvm-amd
q() { printf "'%s'" "${1//\'/\'\\\'\'}"; }	# quoted for /init's busybox sh
tty=0
[ ! -t 1 ] || tty=1
{
	echo "MODE=lab"
	echo "DEBUG=$vm_debug"
	echo "MODE_LAB=$( [ $shell = 1 ] && echo shell || echo command)"
	echo "LAB_OUT=$(q "$out_dir")"
	echo "LAB_MODDIR=$(q "$(cd "$vm_moddir" && pwd)")"
	echo "LAB_CWD=$(q "$PWD")"
	echo "LAB_CMD=$(q "$(printf '%q ' "$@")")"
	echo "LAB_CMD_TIMEOUT=$((timeout_s - 60))"
	echo "LAB_TTY=$tty"
	if [ $shell = 1 ] && size=$(stty size 2>/dev/null); then
		echo "ROWS=${size% *} COLS=${size#* }"
	fi
} > "$run/rootfs/vmtest.conf"
# The exported environment, as bash restores it (declare -p), minus what
# belongs to this shell or to make's jobserver (its fds do not exist there).
for v in $(compgen -e); do
	case $v in
	PWD|OLDPWD|SHLVL|_|MAKEFLAGS|MFLAGS|MAKELEVEL|MAKEOVERRIDES|MAKE_TERMOUT|MAKE_TERMERR) ;;
	*) declare -p "$v" ;;
	esac
done > "$run/rootfs/env"
{
	echo "export KMIG_IN_LAB=1"
	echo "export KMIG_LAB_OUT=$(printf '%q' "$out_dir")"
	echo "export KMIG_LAB_WHY=$(printf '%q' "$why")"
} >> "$run/rootfs/env"
vm_pack "$run/rootfs" "$run/initramfs.cpio.gz"
rm -rf "$run/rootfs"
truncate -s "$disk" "$run/scratch.img"
mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1 "$run/scratch.img" ||
	vm_die "mkfs.ext4 of the scratch disk failed"

# ---- boot ----
log=$run/console.log
vm_qemu "$mem" "$cpus" "$run/initramfs.cpio.gz"
vm_qemu+=(-display none -monitor none -serial "file:$log"
	-fsdev "local,id=hr,path=/,security_model=none,readonly=on,multidevs=remap"
	-device virtio-9p-pci,fsdev=hr,mount_tag=hostroot
	-fsdev "local,id=out,path=$out_dir,security_model=none,multidevs=remap"
	-device virtio-9p-pci,fsdev=out,mount_tag=out
	-drive "file=$run/scratch.img,format=raw,if=virtio,cache=unsafe")
if [ $shell = 1 ]; then
	vm_qemu+=(-chardev stdio,id=cmd,signal=off -serial chardev:cmd)
	what="a shell ('exit' leaves, and powers the lab off)"
else
	vm_qemu+=(-serial stdio)
	what="'$*'"
fi
say "$why: running $what in the lab"
say "(the VM test host with this machine's userland: kernel $vm_kver under TCG, kvm-amd and kmig.ko; ${mem} MiB, $cpus vCPUs, limit ${timeout_s}s; 10-50x slower than a host with KVM)"
start=$(date +%s)
if [ $verbose = 1 ]; then
	touch "$log"
	tail -n +1 -f "$log" >&2 &
	tpid=$!
fi
rc=0
if [ $shell = 1 ]; then
	timeout --foreground -k 5 "$timeout_s" "${vm_qemu[@]}" || rc=$?
else
	timeout -k 5 "$timeout_s" "${vm_qemu[@]}" < /dev/null &
	qpid=$!
	wait "$qpid" || rc=$?
	qpid=""
fi
[ -z "$tpid" ] || { kill "$tpid" 2>/dev/null; wait "$tpid" 2>/dev/null; tpid=""; } || true
tr -d '\r' < "$log" > "$vm_here/out/console-lab.log"
log=$vm_here/out/console-lab.log

# ---- verdict ----
status=$(sed -n 's/^KMIG-LAB: exit \([0-9]*\)$/\1/p' "$log" | tail -n 1)
fail=""
if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	fail="the time limit (${timeout_s}s) ended the lab"
	status=124
elif grep -q '^KMIG-VMTEST: module-load-failed\|^KMIG-VMTEST: lab-setup-failed' "$log"; then
	fail="the lab did not come up: $(grep -m 1 '^KMIG-VMTEST: module-load-failed\|^KMIG-VMTEST: lab-setup-failed' "$log")"
elif [ -z "$status" ] || ! grep -q '^KMIG-VMTEST: done' "$log"; then
	fail="the lab did not finish (qemu exit $rc; a crash?)"
fi
if [ -n "$fail" ]; then
	say "FAIL: $fail; console tail:"
	tail -n 30 "$log" | sed 's/^/    /' >&2
	status=${status:-1}
	[ "$status" != 0 ] || status=1
fi
if vm_complaints "$log" "$vm_here/out/lab-bad.txt"; then
	say "FAIL: kernel warnings/errors during the run:"
	head -n 30 "$vm_here/out/lab-bad.txt" | sed 's/^/    /' >&2
	[ "$status" != 0 ] || status=1
fi
say "done in $(( $(date +%s) - start ))s: exit $status, kernel log ${log#$vm_top/}"
exit "$status"
