#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# nokvm.sh COMMAND [ARGS...]: run COMMAND as on a machine without /dev/kvm,
# on a machine that has it, to exercise the lab's dispatch honestly (the
# same detection as a machine whose kernel offers no KVM, not a forced
# setting): a private mount namespace whose /dev is a copy of this one on
# a tmpfs without the kvm node, with /dev/pts and /dev/shm bound back in.
# Needs root (unshare -m). E.g. selftests/vmtest/nokvm.sh make check
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: nokvm.sh COMMAND [ARGS...]" >&2; exit 2; }
exec unshare -m --propagation private bash -c '
set -e
d=$(mktemp -d /tmp/nokvm-dev.XXXXXX)
mount -t tmpfs -o mode=755 nokvm-dev "$d"
for f in /dev/* /dev/.[!.]*; do
	case ${f#/dev/} in kvm|pts|shm|"*"|".[!.]*") ;; *) cp -a "$f" "$d"/ ;; esac
done
mkdir -p "$d/pts" "$d/shm"
mount --rbind /dev/pts "$d/pts"
mount --rbind /dev/shm "$d/shm"
mount --move "$d" /dev
rmdir "$d"
exec "$@"' nokvm "$@"
