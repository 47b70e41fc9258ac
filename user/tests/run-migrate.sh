#!/bin/bash
# The live-migration tests (make -C user check-migrate), each script under
# a timeout; a summary line at the end. MIGRATE_REPEAT=N for more hops.
set -u
dir=$(dirname "$0")
pass=0 fail=0
for t in hooks migrate migcancel; do
	start=$SECONDS
	if timeout -k 10 600 bash "$dir/$t.sh"; then
		pass=$((pass + 1)); r=ok
	else
		fail=$((fail + 1)); r=FAILED
	fi
	echo "# $t.sh: $r ($((SECONDS - start)) s)"
done
echo "migration: $pass passed, $fail failed"
[ "$fail" = 0 ]
