#!/bin/bash
# The live-migration tests (make -C user check-migrate: hooks.sh, strict.sh,
# migrate.sh and migcancel.sh; check-snapshot: snapshot.sh), or the scripts named, each
# under a time limit; a summary line at the end. MIGRATE_REPEAT=N for more
# hops. In the lab (KMIG_IN_LAB: nested KVM under TCG, 10-50x slower) the
# limit is 2400 s instead of 600.
set -u
dir=$(dirname "$0")
limit=600
[ -z "${KMIG_IN_LAB:-}" ] || limit=2400
pass=0 fail=0
[ $# -gt 0 ] || set -- hooks migrate migcancel strict
for t in "$@"; do
	start=$SECONDS
	if timeout -k 10 "$limit" bash "$dir/$t.sh"; then
		pass=$((pass + 1)); r=ok
	else
		fail=$((fail + 1)); r=FAILED
	fi
	echo "# $t.sh: $r ($((SECONDS - start)) s)"
done
echo "migration: $pass passed, $fail failed"
[ "$fail" = 0 ]
