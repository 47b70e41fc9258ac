#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-pkg: the installation and packaging tests, each under a time
# limit, with its time and a summary line:
#   make deb           the packages, lintian without errors (deb.sh)
#   tests/install.sh   make install/uninstall layout; DKMS builds kmig.ko
#                      from the installed sources for every kernel here
#   tests/debroot.sh   the packages in a fresh Debian 12 root (debootstrap,
#                      cached outside the clone)
#   tests/dkms-lab.sh  kmig-dkms on the VM test host (the lab): DKMS builds
#                      the module for the booted kernel, modprobe, udev
# The packages come first; then the lab test (minutes: DKMS compiles the
# module under TCG) runs in the background while install.sh and
# debroot.sh run: the lab's emulated CPU is one host thread, they use the
# other core.
# A test that exits 4 was skipped (no root, no /dev/kvm, no lab) and does
# not fail the run; any other non-zero status does.
set -u

here=$(cd "$(dirname "$0")" && pwd -P)
pass=0 fail=0 skipped=0
start_all=$SECONDS
lab_pid=""
lab_log=$(mktemp /tmp/kmig-pkg-lab.XXXXXX)
trap '[ -z "$lab_pid" ] || kill "$lab_pid" 2>/dev/null; rm -f "$lab_log"' EXIT
trap 'exit 130' INT TERM

# account NAME STATUS SECONDS LIMIT
account() {
	local r
	case $2 in
	0) pass=$((pass + 1)); r=ok ;;
	4) skipped=$((skipped + 1)); r=skipped ;;
	124) fail=$((fail + 1)); r="FAILED (time limit $4 s)" ;;
	*) fail=$((fail + 1)); r="FAILED (exit $2)" ;;
	esac
	echo "# $1: $r ($3 s)"
	return "$2"
}

# run NAME LIMIT CMD...
run() {
	local name=$1 limit=$2 start=$SECONDS rc
	shift 2
	timeout --foreground "$limit" "$@" && rc=0 || rc=$?
	account "$name" "$rc" $((SECONDS - start)) "$limit"
}

if run deb 900 "$here/deb.sh"; then
	lab_start=$SECONDS
	timeout 2400 "$here/tests/dkms-lab.sh" >"$lab_log" 2>&1 &
	lab_pid=$!
fi
run install 900 "$here/tests/install.sh"
if [ -n "$lab_pid" ]; then
	run debroot 2400 "$here/tests/debroot.sh"
	wait "$lab_pid" && rc=0 || rc=$?
	lab_pid=""
	cat "$lab_log"
	account dkms-lab "$rc" $((SECONDS - lab_start)) 2400
else
	fail=$((fail + 2)); echo "# debroot, dkms-lab: FAILED (no packages to test)"
fi
echo "check-pkg: $pass passed, $fail failed, $skipped skipped ($((SECONDS - start_all)) s)"
[ "$fail" = 0 ]
