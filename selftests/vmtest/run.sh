#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The VM test host: boots Debian's 6.1 kernel under qemu (TCG) with an
# initramfs holding busybox, the KVM modules, kmig.ko and the selftests,
# runs the tests (or benchmarks) there and checks the results.
#
#   host (this machine, Linux without modules)
#    +-- qemu-system-x86_64 -accel tcg -cpu max -smp 2 <- the VM test host
#          +-- Debian 6.1 kernel, /init (vmtest/init)
#                +-- kvm.ko, kvm-amd.ko, kmig.ko
#                +-- selftest binaries (static) -> nested KVM VMs
#
# Usage: run.sh [--kernel 6.1|6.1-debug|6.12] [--bench] [--shell]
#               [--only SUITE:PROG[,SUITE:PROG...]]
#               [--args "HARNESS ARGS"] [--timeout SECONDS] [--mem MIB] [-v]
#   --kernel   which kernel the test host boots (default 6.1): Debian's 6.1,
#              the debug 6.1 of kernel-debug.sh (KASAN, lockdep, UBSAN,
#              kmemleak, ...; must be built), or Debian's 6.12; kmig.ko is
#              the one built for it (kmod/kmig.ko for 6.1, else
#              kmod/build/<release>/kmig.ko)
#   (default)  run every test of every suite's kselftest-list, fail on any
#              failed, skipped or missing test, on a module that does not
#              load, on a kernel warning/oops in dmesg, or on a timeout
#   --bench    run the suites' benchmarks instead (bench-list) and print
#              their output
#   --shell    boot to a shell on the console (tests in /tests)
#   --only     run only these programs, e.g. kmig:kmig_zscan_test
#   --args     arguments for each program, e.g. --bench --args "-b anon"
#   -v         show the whole console while it runs
#
# Suites: every directory selftests/<suite>/ with a Makefile (except
# vmtest) whose `make install INSTALL_PATH=DIR` puts its programs in
# DIR/<suite>/ and appends "<suite>:<prog>" lines to DIR/kselftest-list.txt
# and DIR/bench-list.txt. Adding a test program to a suite's Makefile, or a
# new suite directory, is all it takes.
#
# Settings (environment): KVER, KVER_612 (kernel release for --kernel 6.1,
# 6.12; default: the newest installed with headers), VMTEST_KERNEL_IMAGE,
# VMTEST_MODDIR (the root of lib/modules/<release>), VMTEST_KO (kmig.ko)
# override what --kernel picks; VMTEST_APPEND (more kernel command line);
# VMTEST_TIMEOUT, VMTEST_MEM, VMTEST_TEST_TIMEOUT,
# VMTEST_SMP (2), VMTEST_TCG_THREAD (single: multi-threaded TCG froze the
# emulated machine now and then; see Documentation/testing.rst).
# Output: selftests/vmtest/out/<kernel>/ (console-<mode>.log, initramfs).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

mode=tests
kname=6.1
only=""
args=""
verbose=0
timeout_s=""
mem=""
smp=${VMTEST_SMP:-2}
tcg_thread=${VMTEST_TCG_THREAD:-single}
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kname="$2"; shift ;;
	--bench) mode=bench ;;
	--shell) mode=shell ;;
	--only) only="$2"; shift ;;
	--args) args="$2"; shift ;;
	--timeout) timeout_s="$2"; shift ;;
	--mem) mem="$2"; shift ;;
	-v) verbose=1 ;;
	-h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "run.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done

newest_headers() {
	ls -1d /usr/src/linux-headers-"$1".*-amd64 2>/dev/null |
		sed 's,.*/linux-headers-,,' | sort -V | tail -n 1
}
# The kernel: image, modules (moddir/lib/modules/$KVER), kmig.ko built
# for it, and what its command line adds.
debug=0
moddir=/
ko=$top/kmod/kmig.ko
case $kname in
6.1) KVER=${KVER:-$(newest_headers 6.1)} ;;
6.12) KVER=${KVER_612:-$(newest_headers 6.12)}; ko=$top/kmod/build/$KVER/kmig.ko ;;
6.1-debug)
	kdir=$("$here/kernel-debug.sh" dir) ||
		{ echo "vmtest: the debug kernel is not built (make kernel-debug)" >&2; exit 1; }
	KVER=$(cat "$kdir/release")
	kernel=$kdir/vmlinuz
	moddir=$kdir/modules
	ko=$top/kmod/build/$KVER/kmig.ko
	debug=1 ;;
*) echo "vmtest: unknown kernel '$kname' (6.1, 6.1-debug, 6.12)" >&2; exit 2 ;;
esac
out="$here/out/$kname"
mkdir -p "$out"
kernel=${VMTEST_KERNEL_IMAGE:-${kernel:-/boot/vmlinuz-$KVER}}
moddir=${VMTEST_MODDIR:-$moddir}
ko=${VMTEST_KO:-$ko}
case $mode in
bench) def_timeout=900; def_mem=3072 ;;
shell) def_timeout=86400; def_mem=1024 ;;
*) def_timeout=420; def_mem=1024 ;;
esac
# KASAN, lockdep and kmemleak slow the emulated machine down about 6
# times (the tests took 1,640 s there, 270 s on Debian's kernels).
[ $debug = 1 ] && def_timeout=$((def_timeout * 6))
timeout_s=${timeout_s:-${VMTEST_TIMEOUT:-$def_timeout}}
mem=${mem:-${VMTEST_MEM:-$def_mem}}
test_timeout=${VMTEST_TEST_TIMEOUT:-$((timeout_s - 30))}

die() { echo "vmtest: $*" >&2; exit 1; }

[ -n "$KVER" ] || die "no $kname kernel headers installed (make deps)"
[ -r "$kernel" ] || die "$kernel not found (make deps)"
[ -f "$ko" ] || die "${ko#$top/} not built (make kmod)"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"
busybox=$(command -v busybox) || die "busybox missing (make deps)"
! ldd "$busybox" >/dev/null 2>&1 || die "$busybox is not static (package busybox-static)"

# ---- initramfs ----
root="$out/rootfs"
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,tests}
cp "$busybox" "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"

# KVM modules in load order, from modules.dep; loop for the tests that
# map a block device (built in, on some kernels: then nothing to load).
: > "$out/modules.list"
for m in kvm-amd loop; do
	modprobe --show-depends -d "$moddir" -S "$KVER" $m | awk '$1 == "insmod" {print $2}' \
		>> "$out/modules.list" || die "cannot resolve $m's dependencies for $KVER"
done
: > "$root/modules/order"
awk '!seen[$0]++' "$out/modules.list" | while read -r m; do
	# Debian's 6.12 compresses its modules: busybox insmod wants them plain.
	case $m in
	*.ko.xz) name=$(basename "$m" .xz); xz -dc "$m" > "$root/modules/$name" ;;
	*) name=$(basename "$m"); cp "$m" "$root/modules/" ;;
	esac
	echo "$name" >> "$root/modules/order"
done
cp "$ko" "$root/modules/kmig.ko"

for mk in "$top"/selftests/*/Makefile; do
	suite=$(basename "$(dirname "$mk")")
	[ "$suite" = vmtest ] && continue
	make -s -C "$(dirname "$mk")" install INSTALL_PATH="$root/tests" >/dev/null
done
touch "$root/tests/kselftest-list.txt" "$root/tests/bench-list.txt"
# Dynamically linked programs (those using libmnl, which Debian ships only
# as a shared library, and the helper's kmig binary) get their shared
# libraries and the loader, at the paths they have here.
find "$root/tests" -type f -perm -u+x | while read -r prog; do
	{ ldd "$prog" 2>/dev/null || true; } | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u | while read -r lib; do
	cp -L --parents "$lib" "$root/"
done
list=$root/tests/kselftest-list.txt
[ "$mode" = bench ] && list=$root/tests/bench-list.txt
if [ -n "$only" ]; then
	echo "$only" | tr ',' '\n' > "$out/only.list"
	list=$out/only.list
fi
mapfile -t expected < <(grep . "$list" || true)
[ "$mode" = shell ] || [ ${#expected[@]} -gt 0 ] || die "nothing to run"

cat > "$root/vmtest.conf" <<EOF
MODE='$mode'
ONLY='$only'
ARGS='$args'
TEST_TIMEOUT='$test_timeout'
DEBUG='$debug'
EOF
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out/initramfs.cpio.gz"

# ---- boot ----
log="$out/console-$mode.log"
# secretmem.enable: memfd_secret is off by default on 6.1 (a test maps it).
append="console=ttyS0 ignore_loglevel panic=-1 oops=panic softlockup_panic=1 secretmem.enable=1"
# The debug kernel: the first warning or KASAN report ends the run.
[ $debug = 1 ] && append="$append panic_on_warn=1 kasan.fault=panic"
append="$append ${VMTEST_APPEND:-}"
qemu=(qemu-system-x86_64 -accel "tcg,thread=$tcg_thread" -cpu max -m "$mem" -smp "$smp" -nographic
	-no-reboot -kernel "$kernel" -initrd "$out/initramfs.cpio.gz" -append "$append")
echo "  VMTEST  $mode: ${#expected[@]} program(s), kernel $KVER, ${mem} MiB, limit ${timeout_s}s"
if [ "$mode" = shell ]; then
	exec "${qemu[@]}"
fi
start=$(date +%s)
rc=0
if [ $verbose = 1 ]; then
	timeout -k 5 "$timeout_s" "${qemu[@]}" < /dev/null 2>&1 | tee "$log" || rc=$?
else
	timeout -k 5 "$timeout_s" "${qemu[@]}" < /dev/null > "$log" 2>&1 || rc=$?
fi
tr -d '\r' < "$log" > "$log.tmp" && mv "$log.tmp" "$log"
echo "  VMTEST  finished in $(( $(date +%s) - start ))s, console log: ${log#$top/}"

# ---- verdict ----
fail=0
problem() { echo "vmtest: FAIL: $*"; fail=1; }

if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
	problem "timeout after ${timeout_s}s (a hang); console tail:"
	tail -n 40 "$log" | sed 's/^/    /'
elif ! grep -q '^KMIG-VMTEST: done' "$log"; then
	problem "the VM test host did not finish (crash?); console tail:"
	tail -n 40 "$log" | sed 's/^/    /'
fi
if grep -q '^KMIG-VMTEST: module-load-failed' "$log"; then
	problem "$(grep '^KMIG-VMTEST: module-load-failed' "$log")"
	grep -iE 'kmig|insmod|Unknown symbol' "$log" | head -n 20 | sed 's/^/    /'
fi
# Module references after each program (init reloads kmig.ko between
# programs) and kmemleak's findings (debug kernel).
if grep -qE '^KMIG-VMTEST: (refcount|reload-failed|kmemleak:)' "$log"; then
	mapfile -t lines < <(grep -E '^KMIG-VMTEST: (refcount|reload-failed|kmemleak:)' "$log")
	for line in "${lines[@]}"; do problem "$line"; done
	awk '/^KMIG-VMTEST: kmemleak-begin/{p=1; next} /^KMIG-VMTEST: kmemleak-end/{p=0} p' \
		"$log" | head -n 40 | sed 's/^/    /'
fi

# Top-level KTAP results: the ones the runner printed, one per program.
if [ "$mode" = bench ]; then
	awk '/^KMIG-VMTEST: start /{p=1; next} /^(not )?ok [0-9]+ selftests: /{p=0} p' "$log" |
		sed 's/^# //'
fi
for entry in "${expected[@]}"; do
	suite=${entry%%:*}
	prog=${entry#*:}
	line=$(grep -E "^(not )?ok [0-9]+ selftests: $suite: $prog( |$)" "$log" || true)
	if [ -z "$line" ]; then
		problem "$entry: no result"
	elif [[ $line == "not ok"* ]]; then
		problem "$line"
		awk -v p="# selftests: $suite: $prog" '$0 == p {s=1} s && /^# (# )?(not ok|====|  .*:[0-9]+:|#.*FAIL|.*Assertion|.*expected)/ {print "    " $0} s && /^(not )?ok [0-9]+ selftests:/ {s=0}' "$log" | head -n 40
	elif [[ $line == *"# SKIP"* ]]; then
		problem "$line (everything must run on the VM test host)"
		grep -E "^# .*SKIP" "$log" | head -n 5 | sed 's/^/    /'
	else
		totals=$(awk -v p="# selftests: $suite: $prog" '$0 == p {s=1} s && /^# # Totals:/ {print; exit}' "$log")
		echo "  $line ${totals:+ (${totals#\# \# })}"
		if [[ $totals =~ skip:[1-9] ]]; then
			problem "$entry: skipped tests (everything must run on the VM test host):"
			grep -E "^# # .*SKIP" "$log" | head -n 5 | sed 's/^/    /'
		fi
	fi
done

# Kernel complaints anywhere in the console or in the dmesg dump.
bad='WARNING:|BUG:|Oops|lockdep is turned off|DEBUG_LOCKS_WARN_ON|KASAN|general protection|[Uu]nable to handle|Call Trace|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu.*(stall|detected)|Kernel panic|kernel BUG|UBSAN|refcount_t:|list_(add|del) corruption|bad page|ODEBUG|suspected memory leak|possible (circular|recursive) locking|sleeping function called from invalid context'
if grep -nE "$bad" "$log" > "$out/dmesg-bad.txt"; then
	problem "kernel warnings/errors in dmesg:"
	head -n 30 "$out/dmesg-bad.txt" | sed 's/^/    /'
fi
if [ "$mode" != bench ] && ! grep -q '^KMIG-VMTEST: dmesg-end' "$log"; then
	problem "no dmesg dump"
fi

if [ $fail = 0 ]; then
	echo "  VMTEST  PASS (${#expected[@]} program(s), dmesg clean)"
else
	echo "  VMTEST  FAILED; full console log: $log"
fi
exit $fail
