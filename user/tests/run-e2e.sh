#!/bin/bash
# The end-to-end shell tests, each under a timeout; summary line at the end.
set -u
dir=$(dirname "$0")
pass=0 fail=0
for t in integrity netns kill tls; do
	start=$SECONDS
	if timeout 300 bash "$dir/$t.sh"; then
		pass=$((pass + 1)); r=ok
	else
		fail=$((fail + 1)); r=FAILED
	fi
	echo "# $t.sh: $r ($((SECONDS - start)) s)"
done
echo "e2e: $pass passed, $fail failed"
[ "$fail" = 0 ]
