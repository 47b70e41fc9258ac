#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared by the packaging tests: a work directory and cleanup hooks run by
# the EXIT trap (in reverse order), ok/not ok/skip lines, and a tally.
# Exit status of a test: 0 all passed, 1 a failure, 4 all skipped.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
WORK=$(mktemp -d /tmp/kmig-pkg.XXXXXX)
PASS=0
FAIL=0
SKIP=0
CLEANUP_HOOKS=()

cleanup() {
	local i
	for ((i = ${#CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do eval "${CLEANUP_HOOKS[i]}"; done
	# Never remove through a mount that did not go away (a bind mount of a
	# cache, say): leave the directory and say so.
	if grep -q " $WORK/" /proc/mounts; then
		echo "# $WORK left in place: mounts remain under it" >&2
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# on_exit CMD: run CMD at exit, after the hooks added later.
on_exit() { CLEANUP_HOOKS+=("$1"); }

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $*"; }
skip() { SKIP=$((SKIP + 1)); echo "ok - # SKIP $*"; }
# check DESCRIPTION CMD...: ok if CMD succeeds, else not ok with its output.
check() {
	local what=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what"
		printf '%s\n' "$out" | tail -n 20 | sed 's/^/#   /'
	fi
}

# allowed_syscalls SET [PREFIX...]: the system calls of systemd's syscall
# set SET (e.g. @system-service), its nested sets expanded, one a line;
# PREFIX runs systemd-analyze (e.g. in a chroot).
allowed_syscalls() {
	local set=$1 s
	shift
	"$@" systemd-analyze syscall-filter "$set" | sed 1d | awk '!/^ *#/ && NF {print $1}' |
		while read -r s; do
			case $s in @*) allowed_syscalls "$s" "$@" ;; *) echo "$s" ;; esac
		done
}

# refused_syscalls STRACE_LOG ALLOWED: the system calls in an strace -f log
# that are not in the file ALLOWED (sorted); fails if the log is empty.
refused_syscalls() {
	[ -s "$1" ] || { echo "(no strace log $1)"; return 1; }
	sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$1" | sort -u | comm -23 - "$2"
}

# same WHAT EXPECTED ACTUAL: succeeds when equal, else says both.
same() {
	[ "$2" = "$3" ] || { echo "$1: expected '$2', got '$3'"; return 1; }
}

summary() {
	echo "$(basename "$0" .sh): $PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" = 0 ] || exit 1
	[ "$PASS" != 0 ] || exit 4
	exit 0
}
