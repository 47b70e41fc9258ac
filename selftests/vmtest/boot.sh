# SPDX-License-Identifier: GPL-2.0
#
# The VM test host's boot code, sourced by run.sh (vmtest: the selftests in
# an initramfs) and lab.sh (the lab: this machine's userland over 9p). One
# kernel, one /init (vmtest/init), one way to pick modules and to judge the
# kernel's log.
#
# The kernel under test: vm_select NAME picks it (--kernel of run.sh and
# lab.sh), and the environment can override each part:
#   6.1        Debian's 6.1: KVER (default: the newest 6.1 with headers in
#              /usr/src), /boot/vmlinuz-$KVER, /lib/modules/$KVER,
#              kmod/kmig.ko
#   6.12       Debian's 6.12: KVER_612 (default: the newest 6.12 with
#              headers), kmod/build/<release>/kmig.ko
#   6.1-debug  the debug 6.1 of kernel-debug.sh (KASAN, lockdep, UBSAN,
#              kmemleak...; must be built): the first warning or KASAN
#              report ends the run (panic_on_warn)
#   VMTEST_KERNEL_IMAGE  the kernel image
#   VMTEST_MODDIR        the root its modules are under
#                        (VMTEST_MODDIR/lib/modules/<release>/modules.dep);
#                        compressed modules (.ko.xz, .ko.zst, .ko.gz) are
#                        unpacked into the initramfs
#   VMTEST_KO            kmig.ko built for that kernel
#   VMTEST_APPEND        more kernel command line
# and how it runs: VMTEST_TCG_THREAD (single: with multi-threaded TCG the
# emulated machine froze now and then, see Documentation/testing.rst),
# VMTEST_CPU (qemu's -cpu, max).
#
# Functions (they set vm_* variables and exit through vm_die on errors):
#   vm_select NAME              the kernel (above), checked with the tools:
#                               vm_kver, vm_kernel, vm_moddir, vm_kmig_ko,
#                               vm_debug
#   vm_rootfs ROOT MOD...       busybox, /init, MOD... with their dependencies
#                               in load order (ROOT/modules/order), kmig.ko
#   vm_pack ROOT FILE           the initramfs (cpio newc, gzip)
#   vm_qemu MIB SMP INITRD      the common qemu command line -> vm_qemu[]
#   vm_complaints LOG OUT       kernel warnings/oopses of LOG into OUT;
#                               true when there are any

vm_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
vm_top=$(cd "$vm_here/../.." && pwd)

vm_die() { echo "${vm_name:-vmtest}: $*" >&2; exit 1; }

vm_newest_headers() {
	"$vm_top/scripts/kver.sh" "$1"
}

vm_select() {
	local root=/ kdir
	vm_debug=0
	vm_kernel="" vm_kmig_ko=$vm_top/kmod/kmig.ko
	case $1 in
	6.1) vm_kver=${KVER:-$(vm_newest_headers 6.1)} ;;
	6.12) vm_kver=${KVER_612:-$(vm_newest_headers 6.12)}
		vm_kmig_ko=$vm_top/kmod/build/$vm_kver/kmig.ko ;;
	6.1-debug)
		kdir=$("$vm_here/kernel-debug.sh" dir) ||
			vm_die "the debug kernel is not built (make kernel-debug)"
		vm_kver=$(cat "$kdir/release")
		vm_kernel=$kdir/vmlinuz
		root=$kdir/modules
		vm_kmig_ko=$vm_top/kmod/build/$vm_kver/kmig.ko
		vm_debug=1 ;;
	*) vm_die "unknown kernel '$1' (6.1, 6.1-debug, 6.12)" ;;
	esac
	[ -n "$vm_kver" ] || vm_die "no $1 kernel headers installed (make deps)"
	vm_kernel=${VMTEST_KERNEL_IMAGE:-${vm_kernel:-/boot/vmlinuz-$vm_kver}}
	vm_moddir=${VMTEST_MODDIR:-$root}/lib/modules/$vm_kver
	vm_kmig_ko=${VMTEST_KO:-$vm_kmig_ko}
	[ -r "$vm_kernel" ] || vm_die "$vm_kernel not found (make deps, or VMTEST_KERNEL_IMAGE)"
	[ -r "$vm_moddir/modules.dep" ] || vm_die "$vm_moddir/modules.dep not found (VMTEST_MODDIR)"
	[ -f "$vm_kmig_ko" ] || vm_die "${vm_kmig_ko#$vm_top/} not built (make kmod, or VMTEST_KO)"
	command -v qemu-system-x86_64 >/dev/null || vm_die "qemu-system-x86_64 missing (make deps)"
	vm_busybox=$(command -v busybox) || vm_die "busybox missing (make deps)"
	! ldd "$vm_busybox" >/dev/null 2>&1 || vm_die "$vm_busybox is not static (package busybox-static)"
}

# vm_modules ROOT MOD...: each module with its dependencies, in load order,
# resolved by modprobe from the module directory's modules.dep. modprobe
# wants ROOT/lib/modules/VERSION: a symlink makes any directory one.
vm_modules() {
	local root=$1 mroot ko name kos
	shift
	mroot=$(dirname "$root")/modroot
	rm -rf "$mroot"
	mkdir -p "$mroot/lib/modules"
	ln -s "$(cd "$vm_moddir" && pwd)" "$mroot/lib/modules/$vm_kver"
	: > "$root/modules/order"
	for name in "$@"; do
		kos=$(modprobe -d "$mroot" -S "$vm_kver" --show-depends "$name") ||
			vm_die "cannot resolve $name's dependencies in $vm_moddir"
		for ko in $(awk '$1 == "insmod" {print $2}' <<< "$kos"); do
			name=$(basename "$ko")
			name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
			grep -qx "$name" "$root/modules/order" && continue
			case $ko in
			*.xz) xz -dc "$ko" ;;
			*.zst) zstd -qdc "$ko" ;;
			*.gz) gzip -dc "$ko" ;;
			*) cat "$ko" ;;
			esac > "$root/modules/$name" || vm_die "cannot unpack $ko"
			echo "$name" >> "$root/modules/order"
		done
	done
	rm -rf "$mroot"
}

vm_rootfs() {
	local root=$1
	shift
	rm -rf "$root"
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,modules,tests}
	cp "$vm_busybox" "$root/bin/busybox"
	cp "$vm_here/init" "$root/init"
	chmod 755 "$root/init"
	vm_modules "$root" "$@"
	cp "$vm_kmig_ko" "$root/modules/kmig.ko"
}

vm_pack() {
	(cd "$1" && find . | cpio -o -H newc --quiet) | gzip -1 > "$2"
}

# ignore_loglevel puts every kernel message on the console, where
# vm_complaints finds it even if the ring buffer wrapped; oops=panic and
# softlockup_panic=1 end the run at once with the report on the console.
# tsc=reliable: the kernel finds TCG's TSCs "unsynchronized" and falls back
# to the HPET, which makes every clock_gettime() an emulated device read
# (the lab's programs ran 2x slower); TCG's TSC follows the host's clock.
# mitigations=off: nothing to protect in a test VM, and retpolines and RSB
# filling on every switch cost TCG time.
# secretmem.enable: memfd_secret is off by default on 6.1 (a test maps it).
# The debug kernel: the first warning or KASAN report ends the run.
vm_qemu() {
	local append="console=ttyS0 ignore_loglevel tsc=reliable mitigations=off panic=-1 oops=panic softlockup_panic=1 secretmem.enable=1"
	[ "$vm_debug" = 0 ] || append="$append panic_on_warn=1 kasan.fault=panic"
	append="$append ${VMTEST_APPEND:-}"
	vm_qemu=(qemu-system-x86_64 -accel "tcg,thread=${VMTEST_TCG_THREAD:-single}" -cpu "${VMTEST_CPU:-max}"
		-m "$1" -smp "$2" -nic none -no-reboot -kernel "$vm_kernel" -initrd "$3"
		-append "$append")
}

vm_bad='WARNING:|BUG:|Oops|lockdep is turned off|DEBUG_LOCKS_WARN_ON|KASAN|general protection|[Uu]nable to handle|Call Trace|INFO: task .* blocked|soft lockup|hard LOCKUP|rcu.*(stall|detected)|Kernel panic|kernel BUG|UBSAN|refcount_t:|list_(add|del) corruption|bad page|ODEBUG|suspected memory leak|possible (circular|recursive) locking|sleeping function called from invalid context'

vm_complaints() {
	grep -nE "$vm_bad" "$1" > "$2"
}
