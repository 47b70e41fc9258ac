#!/bin/bash
# Run the C unit tests, each under a timeout; print their TAP and a summary.
set -u
pass=0 fail=0
for t in "$@"; do
	start=$(date +%s.%N)
	if timeout 300 "$t"; then
		pass=$((pass + 1)); r=ok
	else
		fail=$((fail + 1)); r=FAILED
	fi
	printf '# %s: %s (%.1f s)\n' "$(basename "$t")" "$r" "$(echo "$(date +%s.%N) - $start" | bc)"
done
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
