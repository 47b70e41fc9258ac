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
	rm -rf "$WORK"
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

summary() {
	echo "$(basename "$0" .sh): $PASS passed, $FAIL failed, $SKIP skipped"
	[ "$FAIL" = 0 ] || exit 1
	[ "$PASS" != 0 ] || exit 4
	exit 0
}
