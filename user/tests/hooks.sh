#!/bin/bash
# The fault-injection hooks (lib/base/hook.h) exist in the test build only:
# kmig has no hook code and no hook strings (nm, strings) and ignores
# KMIG_TEST_HOOK; kmig-test has them and acts on it. The behaviour is
# checked on a stopped save of a real guest with a hook that SIGKILLs the
# helper at its setup point: kmig completes the file, kmig-test dies there
# and leaves no complete file.
. "$(dirname "$0")/miglib.sh"

check_binary() {
	local bin=$1 want=$2 syms strs
	syms=$(nm "$bin" | grep -cE ' (kmig_hook_run|kmig_hook_lookup|kmig_job_hook)$')
	strs=$(strings -a "$bin" | grep -cE 'KMIG_TEST_HOOK|test hook|no-return|precopy-%u')
	if [ "$want" = none ] && [ "$syms" = 0 ] && [ "$strs" = 0 ]; then
		ok "$(basename "$bin"): no hook symbols, no hook strings"
	elif [ "$want" = some ] && [ "$syms" = 3 ] && [ "$strs" -ge 4 ]; then
		ok "$(basename "$bin"): $syms hook symbols, $strs hook strings"
	else
		not_ok "$(basename "$bin"): $syms hook symbols, $strs hook strings, expected $want"
	fi
}

# hooked_save BIN NAME: a stopped save with a kill at setup -> its status
# (in a subshell that reports the SIGKILL to /dev/null, not the log)
hooked_save() {
	( KMIG_TEST_HOOK=setup=kill timeout 60 "$1" save -q --stopped --vmm "$WORK/h.sock" \
		--file "$WORK/$2.snap" 2>"$WORK/$2.err"; exit $? ) 2>/dev/null
}

check_binary "$KMIG" none
check_binary "$KMIG_TEST" some
if start_vmm h --mem 64M --vcpus 1 && wait_ready h; then
	hooked_save "$KMIG" prod
	st=$?
	if [ "$st" = 0 ] && "$KMIG" snapshot-info "$WORK/prod.snap" >/dev/null &&
	   ! grep -q "test hook" "$WORK/prod.err"; then
		ok "kmig ignores KMIG_TEST_HOOK: the save completed"
	else
		not_ok "kmig with KMIG_TEST_HOOK: exit $st: $(cat "$WORK/prod.err")"
	fi
	hooked_save "$KMIG_TEST" test
	st=$?
	if [ "$st" = 137 ] && grep -q "kmig: test hook: setup: kill" "$WORK/test.err" &&
	   ! "$KMIG" snapshot-info "$WORK/test.snap" >/dev/null 2>&1; then
		ok "kmig-test acts on KMIG_TEST_HOOK: killed at setup, no complete file"
	else
		not_ok "kmig-test with KMIG_TEST_HOOK: exit $st: $(cat "$WORK/test.err")"
	fi
	quit_vmm h
else
	not_ok "hooks: VMM setup"
fi
summary
