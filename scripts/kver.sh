#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# kver.sh SERIES: the newest Debian kernel of SERIES (6.1, 6.12) whose
# headers are installed (/usr/src/linux-headers-SERIES.N-amd64), e.g.
# 6.1.0-57-amd64; nothing when there is none. The one place the kernel
# versions are found: the Makefiles (KVER, KVER_612) and the VM test host
# (selftests/vmtest/boot.sh) call it.
[ $# = 1 ] || { echo "usage: kver.sh SERIES" >&2; exit 2; }
ls -1d /usr/src/linux-headers-"$1".*-amd64 2>/dev/null |
	sed 's,.*/linux-headers-,,' | sort -V | tail -n 1
