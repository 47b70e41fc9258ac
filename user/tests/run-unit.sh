#!/bin/bash
# Run the C unit tests, each under a timeout; print their TAP and a summary.
# A program's exit status is its verdict, as kselftest reads it: 0 passed,
# 4 (KSFT_SKIP) skipped, anything else (a failed test, a crash, a sanitizer
# report, the timeout's 124) failed. The kselftest_harness.h programs
# exit 0 or 1 (the 6.1 harness exits 0 when tests were skipped):
# the tests a passing program skipped ("ok ... # SKIP" in its TAP) are
# counted and named in the summary, so a skip never reads as a pass.
set -u
pass=0 skip=0 fail=0 tskip=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for t in "$@"; do
	start=$(date +%s%N)
	timeout 300 "$t" | tee "$out"
	rc=${PIPESTATUS[0]}
	n=$(grep -c '^ok .*# SKIP' "$out")
	tskip=$((tskip + n))
	case $rc in
	0) pass=$((pass + 1)); r=ok ;;
	4) skip=$((skip + 1)); r=skipped ;;
	*) fail=$((fail + 1)); r="FAILED (exit status $rc)" ;;
	esac
	[ "$n" = 0 ] || r="$r; tests skipped: $n"
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	printf '# %s: %s (%d.%03d s)\n' "$(basename "$t")" "$r" $((ms / 1000)) $((ms % 1000))
done
echo "unit: $pass passed, $skip skipped, $fail failed; tests skipped in them: $tskip"
[ "$fail" = 0 ]
