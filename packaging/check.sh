#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check-pkg: the installation and packaging tests, each under a time
# limit, with its time and a summary line:
#   tests/install.sh   make install/uninstall layout; DKMS builds kmig.ko
#                      from the installed sources for every kernel here
#   make deb           the packages, lintian without errors (deb.sh)
#   tests/debroot.sh   the packages in a fresh Debian 12 root (debootstrap,
#                      cached outside the clone)
# A test that exits 4 was skipped (no root, no /dev/kvm) and does not fail
# the run; any other non-zero status does.
set -u

here=$(cd "$(dirname "$0")" && pwd -P)
pass=0 fail=0 skipped=0
start_all=$SECONDS

run() {
	local name=$1 limit=$2 start=$SECONDS rc
	shift 2
	timeout --foreground "$limit" "$@" && rc=0 || rc=$?
	case $rc in
	0) pass=$((pass + 1)); r=ok ;;
	4) skipped=$((skipped + 1)); r=skipped ;;
	124) fail=$((fail + 1)); r="FAILED (time limit $limit s)" ;;
	*) fail=$((fail + 1)); r="FAILED (exit $rc)" ;;
	esac
	echo "# $name: $r ($((SECONDS - start)) s)"
	return "$rc"
}

run install 900 "$here/tests/install.sh"
if run deb 900 "$here/deb.sh"; then
	run debroot 2400 "$here/tests/debroot.sh"
else
	fail=$((fail + 1)); echo "# debroot: FAILED (no packages to test)"
fi
echo "check-pkg: $pass passed, $fail failed, $skipped skipped ($((SECONDS - start_all)) s)"
[ "$fail" = 0 ]
