#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# debroot-lab.sh ROOT: in the lab (selftests/vmtest/lab.sh --out ROOT),
# the checks of debroot.sh that need a guest, on the fresh Debian root
# that debroot.sh made and installed the packages into, for machines
# without /dev/kvm: the lab's /dev/kvm is bound into the root.
# /run becomes a tmpfs in the root (unix sockets do not work on the 9p
# mount the root is seen through here), with /run/kmig recreated as the
# package's tmpfiles.d makes it.
# Output: ok/not ok lines and a summary from inside the lab.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
. "$here/lib.sh"
root=${1:?usage: debroot-lab.sh ROOT}

[ "${KMIG_IN_LAB:-}" = 1 ] || { not_ok "debroot-lab.sh runs in the lab (lab.sh)"; summary; }
[ -c /dev/kvm ] || { not_ok "no /dev/kvm in the lab"; summary; }
# bash's <(...) needs /dev/fd, which the lab's /dev lacks.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
mount -t proc proc "$root/proc" &&
	mount -t tmpfs -o mode=755 run "$root/run" &&
	mount --bind /dev/kvm "$root/dev/kvm" ||
	{ not_ok "mount proc, /run and /dev/kvm in the root"; summary; }
on_exit "umount '$root/dev/kvm' '$root/run' '$root/proc' 2>/dev/null"
on_exit "pkill -9 -f '^kmig' 2>/dev/null"
in_root sh -ec 'mkdir -m 1770 /run/kmig && chown root:kvm /run/kmig' ||
	{ not_ok "/run/kmig in the root's /run"; summary; }

. "$here/debroot-migrate.sh"
migration_checks
summary
