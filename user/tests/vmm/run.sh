#!/usr/bin/env bash
# Run the kmig-vmm tests (make -C user check-vmm): every kselftest program
# given, then the QEMU boot test. Prints each program's KTAP output and a
# closing "vmm: N passed, N failed" line; exits non-zero on any failure.
set -u
here=$(dirname "$0")
build=${BUILD:-build}
pass=0 fail=0 skip=0

count() {	# KTAP on stdin -> counters; echoes the lines
	local line
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok "*"# SKIP"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*) fail=$((fail + 1)) ;;
		esac
	done
}

for t in "$@" "$here/qemu_boot.sh"; do
	start=$(date +%s)
	echo "# === $(basename "$t")"
	if [ "$t" = "$here/qemu_boot.sh" ]; then
		count < <("$t" "$build" 2>&1)
	else
		count < <("$t" 2>&1; echo "# exit status $?")
	fi
	echo "# === $(basename "$t"): $(($(date +%s) - start)) s"
done
# A program that crashed before printing its results counts as a failure.
for t in "$@"; do [ -x "$t" ] || fail=$((fail + 1)); done
echo "vmm: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
