#!/usr/bin/env bash
# Run the kmig-vmm tests (make -C user check-vmm): every kselftest program
# given, then the QEMU boot test. Prints each program's KTAP output and a
# closing "vmm: N passed, N failed" line; exits non-zero on any failure.
#
# The programs need KVM: without a usable /dev/kvm here (or with
# KMIG_LAB=1) they run in the lab, all in one boot (selftests/vmtest/lab.sh,
# which runs this script there with --programs). The QEMU boot test uses
# TCG and runs here either way.
set -u
here=$(dirname "$0")
build=${BUILD:-build}
pass=0 fail=0 skip=0

# count: KTAP on stdin -> counters; echoes the lines. A program that ends
# badly without a "not ok" line (a crash), or a lab that failed (a kernel
# warning, no boot), counts as one failure; one that exits 4 (KSFT_SKIP:
# it could check nothing here) as one skip.
count() {
	local line failed=0
	while IFS= read -r line; do
		echo "$line"
		case "$line" in
		"ok "*"# SKIP"*) skip=$((skip + 1)) ;;
		"ok "*) pass=$((pass + 1)) ;;
		"not ok "*) fail=$((fail + 1)); failed=1 ;;
		"# === "*) failed=0 ;;
		"# exit status 0"|"# programs: exit status 0") ;;
		"# exit status 4") [ $failed = 1 ] || skip=$((skip + 1)) ;;	# KSFT_SKIP
		"# exit status "*) [ $failed = 1 ] || fail=$((fail + 1)) ;;
		"# programs: exit status "*) fail=$((fail + 1)) ;;
		esac
	done
}

# programs PROG...: each program's KTAP, then its exit status as a line
programs() {
	local t start
	for t in "$@"; do
		start=$(date +%s)
		echo "# === $(basename "$t")"
		"$t" 2>&1
		echo "# exit status $?"
		echo "# === $(basename "$t"): $(($(date +%s) - start)) s"
	done
}

if [ "${1:-}" = --programs ]; then
	shift
	programs "$@"
	exit
fi

for t in "$@"; do [ -x "$t" ] || fail=$((fail + 1)); done
count < <("$here/../../../selftests/vmtest/lab.sh" --need kvm -- "$0" --programs "$@" 2>&1
	 echo "# programs: exit status $?")
start=$(date +%s)
echo "# === qemu_boot.sh"
count < <("$here/qemu_boot.sh" "$build" 2>&1)
echo "# === qemu_boot.sh: $(($(date +%s) - start)) s"
echo "vmm: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
