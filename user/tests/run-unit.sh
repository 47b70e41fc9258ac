#!/bin/bash
# Run the C unit tests, each under a timeout; print their TAP and a summary.
set -u
pass=0 fail=0
for t in "$@"; do
	start=$(date +%s%N)
	if timeout 300 "$t"; then
		pass=$((pass + 1)); r=ok
	else
		fail=$((fail + 1)); r=FAILED
	fi
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	printf '# %s: %s (%d.%03d s)\n' "$(basename "$t")" "$r" $((ms / 1000)) $((ms % 1000))
done
echo "unit: $pass passed, $fail failed"
[ "$fail" = 0 ]
