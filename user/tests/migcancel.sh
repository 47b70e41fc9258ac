#!/bin/bash
# Live migrations that must not complete: cancelled in every state (by a
# signal and by kmig migrate-cancel), a channel destroyed (ss -K), the
# destination helper or the destination VMM killed during precopy and
# during the switchover, the destination cancelled, the destination dying
# after COMMIT (outcome unknown), the source VMM dying. Each failure happens at a named
# point through KMIG_TEST_HOOK (lib/base/hook.h), not after a sleep.
#
# Afterwards: kmig migrate exits 1 (3 after COMMIT) with a clear message;
# the source guest runs, passes the integrity check, makes progress, and
# its dirty logging is off; the destination VMM (kept with --keep-vmm)
# never resumed its guest; nothing is left running.
. "$(dirname "$0")/miglib.sh"
# Every case sets hooks: the test build of kmig, both sides.
KMIG=$KMIG_TEST

# Enough iterations to reach precopy-2: nothing fits a 1 ms downtime at
# 128 MiB/s (unlimited, loopback moves an iteration's few dirty pages in
# under 1 ms at times, and the migration converged after iteration 1). The
# source dirties an 8 MiB range; in the lab at 1000 pages/s, above the
# lab's cap (miglib.sh), under which an iteration could find nothing dirty
# and end precopy early.
MIG_ARGS="-c 2 --downtime-limit 1 --max-iterations 5 --max-bandwidth 128M"
SRC="--ab 8M $(lab_or "" "--rate 1000 --report 64")"

# fail_case NAME MIG_HOOK IN_HOOK ACTION EXPECT_EXIT MSG_REGEX
#   ACTION runs once both helpers started (a function name or ":").
#   MIG_MORE and IN_MORE add arguments to kmig migrate and kmig incoming;
#   IN_REGEX, when set, must match kmig incoming's message.
fail_case() {
	local name=$1 mhook=$2 ihook=$3 action=$4 want=$5 regex=$6 mst ist msg
	start_pair "$name-s" "$name-d" $SRC || { not_ok "$name: setup"; return; }
	IN_ENV="KMIG_TEST_HOOK=$ihook" start_incoming "$name" "$name-d" --keep-vmm --timeout 20 \
		${IN_MORE:-} || { not_ok "$name: incoming"; return; }
	MIG_ENV="KMIG_TEST_HOOK=$mhook" start_migrate "$name" "$name-s" $MIG_ARGS \
		--control "$WORK/$name.ctl" --timeout 10 ${MIG_MORE:-}
	CASE=$name
	$action
	wait_bounded "$MIG_PID" 60
	mst=$?
	MIG_DONE=$SECONDS
	wait_bounded "$IN_PID" 40
	ist=$?
	IN_DONE=$SECONDS
	msg=$(grep -v "test hook" "$WORK/$name.mig.err" | head -3)
	echo "# $name: migrate $mst: $msg"
	echo "# $name: incoming $ist: $(grep -v "test hook" "$WORK/$name.in.err" | head -2)"
	if [ "$mst" != "$want" ]; then
		not_ok "$name: migrate exit $mst, expected $want"
	elif ! grep -Eq "$regex" "$WORK/$name.mig.err"; then
		not_ok "$name: message does not match '$regex'"
	elif [ "$ist" = 0 ]; then
		not_ok "$name: incoming succeeded"
	elif [ -n "${IN_REGEX:-}" ] && ! grep -Eq "$IN_REGEX" "$WORK/$name.in.err"; then
		not_ok "$name: incoming's message does not match '$IN_REGEX'"
	elif [ "$want" = 3 ]; then
		in_doubt_checks "$name"
	else
		after_checks "$name"
	fi
	quit_vmm "$name-s"
	quit_vmm "$name-d"
	wait_bounded "$SRC_PID" 10
	wait_bounded "$DST_PID" 10
}

# The source runs on, intact, logging off; the destination never ran.
after_checks() {
	local name=$1 dst
	[ "$(json_get "$WORK/$name.json" 'j["source"] + " " + j["source_dirty_log"]')" = "running off" ] ||
		{ not_ok "$name: report says source '$(json_get "$WORK/$name.json" 'j["source"] + " " + j["source_dirty_log"]')'"; return; }
	check_source_intact "$name-s" || { not_ok "$name: source guest"; return; }
	dst=$(vmm_field "$name-d" state)
	if [ -n "$dst" ] && [ "$dst" != incoming ]; then
		not_ok "$name: destination VMM state '$dst', expected incoming (never resumed)"
		return
	fi
	ok "$name: source running and intact, dirty logging off, destination ${dst:-gone}"
}

# After COMMIT without an answer: the source stays paused, the destination
# never ran (its helper died before the VMM's COMMIT); the operator (here
# the test) resumes the source.
in_doubt_checks() {
	local name=$1
	[ "$(json_get "$WORK/$name.json" 'j["status"]')" = in-doubt ] || { not_ok "$name: status"; return; }
	[ "$(vmm_field "$name-s" state)" = paused ] || { not_ok "$name: source not paused"; return; }
	[ "$(vmm_field "$name-d" state)" = incoming ] || { not_ok "$name: destination ran"; return; }
	"$VMMCTL" "$WORK/$name-s.sock" resume >/dev/null || { not_ok "$name: resume"; return; }
	check_source_intact "$name-s" || { not_ok "$name: source guest"; return; }
	ok "$name: source left paused (in doubt), destination never ran; resumed by hand: intact"
}

# --- actions ------------------------------------------------------------

# The migration was cancelled before connecting: cancel the waiting
# destination too (its own cancel path), once the source has exited.
cancel_destination_after_source() {
	local i
	for ((i = 0; i < 400; i++)); do kill -0 "$MIG_PID" 2>/dev/null || break; sleep 0.05; done
	kill -INT "$IN_PID"
}

# The control socket is its owner's (security.rst): mode 700 (srwx------),
# and even widened it refuses another user by SO_PEERCRED (that part as
# root only).
ctl_owner_only() {
	local ctl=$WORK/$CASE.ctl out
	[ "$(stat -c %a "$ctl")" = 700 ] ||
		{ not_ok "$CASE: control socket mode $(stat -c %a "$ctl"), expected 700"; return; }
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		chmod 777 "$ctl"
		chmod o+x "$WORK"	# mktemp's 700 would stop the other user first
		out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$KMIG" migrate-cancel "$ctl" 2>&1)
		chmod o-x "$WORK"
		chmod 700 "$ctl"
		[ "${out#error: uid 65534 may not control}" != "$out" ] ||
			{ not_ok "$CASE: another user's migrate-cancel answered '$out'"; return; }
	fi
	ok "$CASE: control socket owner-only, another user refused"
}

cancel_by_command() {
	local out
	wait_line "$WORK/$CASE.mig.err" "test hook: .*: wait-cancel" || return
	ctl_owner_only
	out=$("$KMIG" migrate-cancel "$WORK/$CASE.ctl")
	echo "# $CASE: migrate-cancel: $out"
	[ "${out#ok}" != "$out" ] || not_ok "$CASE: migrate-cancel answered '$out'"
}

stopped_source() { wait_stopped "$MIG_PID"; }

kill_one_channel() {
	local sport
	stopped_source || return
	sport=$(ss -tnH state established "( dport = :$IN_PORT )" | awk '{ print $3 }' | head -1 | sed 's/.*://')
	# ss -K lists what it destroyed: the test fails unless that is our socket.
	ss -K state established "( sport = :$sport and dport = :$IN_PORT )" 2>/dev/null |
		grep -q ":$sport " || not_ok "$CASE: ss -K destroyed nothing (sport $sport)"
	kill -CONT "$MIG_PID"
}

kill_destination_helper() { stopped_source && kill -9 "$IN_PID"; kill -CONT "$MIG_PID"; }
kill_destination_vmm() { stopped_source && kill -9 "$DST_PID"; kill -CONT "$MIG_PID"; }
cancel_destination() { stopped_source && kill -INT "$IN_PID" && sleep 0.2; kill -CONT "$MIG_PID"; }

# A stalled destination: the helper stopped (SIGSTOP) mid-precopy; it
# continues once kmig migrate has exited, which must happen on its own.
stall_destination() {
	stopped_source && kill -STOP "$IN_PID"
	kill -CONT "$MIG_PID"
	STALL_T0=$SECONDS
	( while kill -0 "$MIG_PID" 2>/dev/null; do sleep 0.1; done; kill -CONT "$IN_PID" ) &
}
# The same, then SIGTERM to kmig migrate while it waits on the destination.
stall_destination_sigterm() {
	stall_destination
	sleep 2
	STALL_T0=$SECONDS
	kill -TERM "$MIG_PID"
}
# A stalled source: kmig migrate stays stopped at its hook until kmig
# incoming has exited (on its own, or by SIGTERM with STALL_SIGNAL).
stall_source() {
	stopped_source || return
	STALL_T0=$SECONDS
	[ -z "${STALL_SIGNAL:-}" ] || { sleep 2; STALL_T0=$SECONDS; kill -"$STALL_SIGNAL" "$IN_PID"; }
	( while kill -0 "$IN_PID" 2>/dev/null; do sleep 0.1; done; kill -CONT "$MIG_PID" ) &
}

# The destination stopped at the switchover (every END received, before it
# stages and answers PREPARED): the paused source waits --timeout, then
# resumes its guest. The destination continues once kmig migrate exited.
stall_destination_at_switchover() {
	wait_stopped "$IN_PID" || return
	STALL_T0=$SECONDS
	( while kill -0 "$MIG_PID" 2>/dev/null; do sleep 0.1; done; kill -CONT "$IN_PID" ) &
}

# CPU ticks (user + system, all threads) of process PID so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null; }

# kmig migrate stopped in its recovery (the recovering hook) after a
# failure in the switchover, the destination stopped before PREPARED (it
# closed nothing): the source guest runs already (its VMM's vCPUs use the
# CPU; the VMM cannot be asked, kmig migrate holds its one session) while
# every channel is still up. A recovery that closed the stream first (or
# resumed after the hook) fails one of the two.
resumed_before_teardown() {
	local t0 t1 up
	stall_destination_at_switchover
	wait_stopped "$MIG_PID" || { not_ok "$CASE: kmig migrate did not reach its recovery"; return; }
	t0=$(cpu_ticks "$SRC_PID")
	sleep 1
	t1=$(cpu_ticks "$SRC_PID")
	up=$(ss -tnH state established "( dport = :$IN_PORT )" | wc -l)
	echo "# $CASE: at the recovery hook: source VMM $((t1 - t0)) ticks in 1 s, $up channels up"
	if [ "$((t1 - t0))" -lt 5 ]; then
		not_ok "$CASE: the source guest is not running before the stream's close"
	elif [ "$up" != 2 ]; then
		not_ok "$CASE: $up of 2 channels up when the source resumed: the stream closed first"
	else
		ok "$CASE: the source resumed before the stream's close"
	fi
	kill -CONT "$MIG_PID"
}

kill_vmm_under_stopped_incoming() {
	wait_stopped "$IN_PID" && kill -9 "$DST_PID"
	kill -CONT "$IN_PID"
}

# --- cases --------------------------------------------------------------

cancel_cases() {
	fail_case cancel-setup setup=sigint "" cancel_destination_after_source 1 \
		"cancelled by signal SIGINT during setup; the source guest keeps running, dirty logging was not started"
	fail_case cancel-precopy-0 precopy-0=sigint "" : 1 \
		"cancelled by signal SIGINT during precopy; the source guest keeps running, dirty logging stopped"
	fail_case cancel-precopy-2 precopy-2=sigterm "" : 1 \
		"cancelled by signal SIGTERM during precopy; the source guest keeps running, dirty logging stopped"
	fail_case cancel-switchover switchover=sigint "" : 1 \
		"cancelled by signal SIGINT during switchover; the source guest keeps running"
	fail_case cancel-command-precopy precopy-1=wait-cancel "" cancel_by_command 1 \
		"cancelled by kmig migrate-cancel during precopy; the source guest keeps running"
	fail_case cancel-command-before-commit commit=wait-cancel "" cancel_by_command 1 \
		"cancelled by kmig migrate-cancel during switchover; the source guest keeps running"
}

fault_cases() {
	fail_case channel-killed precopy-1=stop "" kill_one_channel 1 \
		"failed: iteration 1: .*; the source guest keeps running, dirty logging stopped"
	fail_case destination-helper-killed precopy-1=stop "" kill_destination_helper 1 \
		"failed: iteration 1: .*(closed by the receiver|reset|Broken pipe).*keeps running"
	fail_case destination-vmm-killed precopy-1=stop "" kill_destination_vmm 1 \
		"failed: .*receiver: .*destination VMM: its socket closed.*keeps running"
	fail_case destination-cancelled precopy-1=stop "" cancel_destination 1 \
		"failed: .*receiver: .*cancelled.*keeps running"
	fail_case destination-helper-killed-switchover "" received=kill : 1 \
		"failed: switchover: waiting for PREPARED: connection closed by the receiver"
	fail_case destination-vmm-killed-switchover "" received=stop kill_vmm_under_stopped_incoming 1 \
		"failed: switchover: waiting for PREPARED: receiver: destination VMM: handing over the device state: SET_DEVICE_STATE"
	fail_case destination-lost-after-commit "" commit=kill : 3 \
		"no word from the destination after COMMIT"
}

# Stalled peers after the handshake: each side's wait is bounded by
# --idle-timeout (2 s here, 120 s by default) and ends at once on SIGTERM;
# the side that waits (SIDE: migrate or incoming) says why, and exits
# within SECS of the stall (or of the signal).
stall_case() {
	local side=$1 secs=$2 took
	shift 2
	fail_case "$@"
	if [ "$side" = migrate ]; then took=$((MIG_DONE - STALL_T0)); else took=$((IN_DONE - STALL_T0)); fi
	if [ "$took" -le "$secs" ]; then
		ok "$1: kmig $side ended ${took} s after the stall (bound $secs s)"
	else
		not_ok "$1: kmig $side ended ${took} s after the stall (bound $secs s)"
	fi
	unset MIG_MORE IN_MORE IN_REGEX STALL_SIGNAL
}

stall_cases() {
	MIG_MORE="--idle-timeout 2" stall_case migrate "$(lab_or 10 30)" destination-stalled precopy-1=stop "" \
		stall_destination 1 \
		"failed: iteration 1: .*the receiver took nothing and answered nothing for 2 s.*keeps running"
	IN_MORE="--idle-timeout 2" IN_REGEX="the sender sent nothing for 2 s" \
		stall_case incoming "$(lab_or 10 30)" source-stalled precopy-1=stop "" stall_source 1 "failed: .*keeps running"
	stall_case migrate "$(lab_or 3 15)" destination-stalled-sigterm precopy-1=stop "" stall_destination_sigterm 1 \
		"cancelled by signal SIGTERM during precopy; the source guest keeps running"
	STALL_SIGNAL=TERM IN_REGEX="cancelled|interrupted by a signal" \
		stall_case incoming "$(lab_or 3 15)" source-stalled-sigterm precopy-1=stop "" stall_source 1 \
		"failed: .*keeps running"
	MIG_MORE="--timeout 3" stall_case migrate "$(lab_or 6 20)" destination-stalled-switchover \
		"" received=stop stall_destination_at_switchover 1 \
		"failed: switchover: no PREPARED from the receiver within 3000 ms.*keeps running"
}

# A failure in the switchover (no PREPARED within --timeout): the source
# resumes before the stream closes. An uncapped guest, in the lab too, so
# that a running one is told from a paused one by its CPU time.
resume_first_case() {
	SRC="--ab 8M $(lab_or "" "--rate 0")" MIG_MORE="--timeout 3" \
		fail_case resume-before-teardown recovering=stop received=stop \
		resumed_before_teardown 1 \
		"failed: switchover: no PREPARED from the receiver within 3000 ms.*keeps running"
}

# The source VMM dies during precopy: nothing to resume; the report says
# so, and the destination never runs the half guest.
source_vmm_killed_case() {
	local name=source-vmm-killed mst
	start_pair "$name-s" "$name-d" $SRC || { not_ok "$name: setup"; return; }
	start_incoming "$name" "$name-d" --keep-vmm || return
	MIG_ENV="KMIG_TEST_HOOK=precopy-1=stop" start_migrate "$name" "$name-s" $MIG_ARGS
	wait_stopped "$MIG_PID" && kill -9 "$SRC_PID"
	kill -CONT "$MIG_PID"
	wait_bounded "$MIG_PID" 60
	mst=$?
	wait_bounded "$IN_PID" 40
	echo "# $name: migrate $mst: $(grep -v "test hook" "$WORK/$name.mig.err" | head -2)"
	if [ "$mst" = 1 ] &&
	   grep -q "the source guest is in an unknown state (its VMM did not answer" "$WORK/$name.mig.err" &&
	   [ "$(json_get "$WORK/$name.json" 'j["source"]')" = unknown ] &&
	   [ "$(vmm_field "$name-d" state)" = incoming ]; then
		ok "$name: failure reported, source state unknown, destination never ran"
	else
		not_ok "$name: migrate $mst, source '$(json_get "$WORK/$name.json" 'j["source"]')', destination '$(vmm_field "$name-d" state)'"
	fi
	quit_vmm "$name-d"
	wait_bounded "$DST_PID" 10
}

# A destination VMM kept (--keep-vmm) after a failed session that had
# written pages, then migrated into again, from another source whose
# guest leaves most pages zero: every page must be the new source's (a
# page of the failed session left in place is a bad page to the checker).
retry_kept_vmm_case() {
	local name=retry-kept a b d mst ist out
	a=$name-a b=$name-b d=$name-d
	start_vmm "$a" --mem "$GUEST_MEM" --vcpus 2 --ab 8M --seed 7 && A_PID=$VMM_PID &&
	start_vmm "$b" --mem "$GUEST_MEM" --vcpus 2 --ab 8M --seed 9 --fill 5 && B_PID=$VMM_PID &&
	start_vmm "$d" --mem "$GUEST_MEM" --vcpus 2 --incoming && DST_PID=$VMM_PID &&
	wait_ready "$a" && wait_ready "$b" || { not_ok "$name: setup"; return; }
	# The first session: source A, killed once iteration 1 is queued (the
	# first pass, every page of A, has been written into D).
	start_incoming "$name-1" "$d" --keep-vmm || { not_ok "$name: incoming 1"; return; }
	MIG_ENV="KMIG_TEST_HOOK=precopy-1=stop" start_migrate "$name-1" "$a" $MIG_ARGS
	wait_stopped "$MIG_PID" && kill -9 "$MIG_PID"
	wait_bounded "$IN_PID" 30
	ist=$?
	[ "$ist" != 0 ] && [ "$(vmm_field "$d" state)" = incoming ] ||
		{ not_ok "$name: the first session: incoming $ist, destination '$(vmm_field "$d" state)'"; return; }
	# The second, from B, into the same kept VMM.
	start_incoming "$name-2" "$d" || { not_ok "$name: incoming 2"; return; }
	start_migrate "$name-2" "$b" -c 2
	wait_bounded "$MIG_PID" 120
	mst=$?
	wait_bounded "$IN_PID" 30
	ist=$?
	out=$("$VMMCTL" "$WORK/$d.sock" check 2>&1)
	echo "# $name: migrate $mst, incoming $ist: $(echo "$out" | grep -m1 integrity)"
	if [ "$mst" = 0 ] && [ "$ist" = 0 ] && echo "$out" | grep -q "integrity: ok: 0 bad pages" &&
	   check_guest "$d"; then
		ok "$name: a kept VMM migrated into again holds only the new guest's pages"
	else
		not_ok "$name: migrate $mst, incoming $ist: $(echo "$out" | head -3)"
	fi
	quit_vmm "$a"
	quit_vmm "$d"
	kill_pids "$B_PID"
	wait_bounded "$A_PID" 10
	wait_bounded "$DST_PID" 10
}

# Destinations that do not fit the guest: a different memory layout (the
# block table is refused before any page is written) and a different vCPU
# count (the device state is refused at switchover). The source runs on.
mismatch_case() {
	local name=$1 regex=$2 mst
	shift 2
	start_vmm "$name-s" --mem "$GUEST_MEM" --vcpus 2 $SRC && SRC_PID=$VMM_PID &&
	start_vmm "$name-d" --incoming "$@" && DST_PID=$VMM_PID && wait_ready "$name-s" ||
		{ not_ok "$name: setup"; return; }
	start_incoming "$name" "$name-d" --keep-vmm || return
	start_migrate "$name" "$name-s" -c 2
	wait_bounded "$MIG_PID" 60
	mst=$?
	wait_bounded "$IN_PID" 30
	echo "# $name: migrate $mst: $(head -1 "$WORK/$name.mig.err")"
	if [ "$mst" = 1 ] && grep -Eq "$regex" "$WORK/$name.mig.err" &&
	   check_source_intact "$name-s" && [ "$(vmm_field "$name-d" state)" = incoming ]; then
		ok "$name: refused with a clear message, source intact, destination never ran"
	else
		not_ok "$name: migrate $mst"
	fi
	quit_vmm "$name-s"
	quit_vmm "$name-d"
	wait_bounded "$SRC_PID" 10
	wait_bounded "$DST_PID" 10
}

mismatch_cases() {
	mismatch_case layout-mismatch "receiver: .*block 0 is 'slot0' of [0-9]+ bytes, expected 'slot0' of [0-9]+" \
		--mem 256M --vcpus 2
	mismatch_case vcpu-mismatch "receiver: destination VMM: handing over the device state: .*2 vCPUs" \
		--mem "$GUEST_MEM" --vcpus 1
	# --no-page-sums on the source alone: refused at the hello, before a
	# page went out; the source runs on.
	MIG_MORE=--no-page-sums IN_REGEX="not allowed here \(--no-page-sums\)" \
		fail_case nosum-one-sided "" "" : 1 \
		"failed: .*not allowed here \(--no-page-sums\).*keeps running"
	unset MIG_MORE IN_REGEX
}

# A cancel after COMMIT is refused; the migration completes.
too_late_case() {
	local name=too-late out mst
	start_pair "$name-s" "$name-d" $SRC || { not_ok "$name: setup"; return; }
	IN_ENV="KMIG_TEST_HOOK=resumed=stop" start_incoming "$name" "$name-d" || return
	start_migrate "$name" "$name-s" -c 2 --control "$WORK/$name.ctl"
	wait_stopped "$IN_PID"
	out=$("$KMIG" migrate-cancel "$WORK/$name.ctl")
	kill -CONT "$IN_PID"
	wait_bounded "$MIG_PID" 60
	mst=$?
	wait_bounded "$IN_PID" 30
	echo "# $name: migrate-cancel: $out"
	if [ "$mst" = 0 ] && [ "${out#error: too late}" != "$out" ] && check_guest "$name-d"; then
		ok "$name: cancel refused after COMMIT, migration completed"
	else
		not_ok "$name: migrate $mst, cancel answered '$out'"
	fi
	quit_vmm "$name-d"
	wait_bounded "$DST_PID" 10
	kill_pids "$SRC_PID"
}

# SIGINT just past the point of no return: refused (the destination may
# run the guest already), the migration completes.
late_signal_case() {
	local name=late-signal mst
	start_pair "$name-s" "$name-d" --ab 8M || { not_ok "$name: setup"; return; }
	start_incoming "$name" "$name-d" || return
	MIG_ENV="KMIG_TEST_HOOK=no-return=sigint" start_migrate "$name" "$name-s" -c 2
	wait_bounded "$MIG_PID" 60
	mst=$?
	wait_bounded "$IN_PID" 30
	if [ "$mst" = 0 ] && grep -q "not cancelled: COMMIT was sent" "$WORK/$name.mig.err" &&
	   check_guest "$name-d"; then
		ok "$name: SIGINT after COMMIT refused, migration completed"
	else
		not_ok "$name: migrate $mst: $(grep -v "test hook" "$WORK/$name.mig.err" | head -3)"
	fi
	quit_vmm "$name-d"
	wait_bounded "$DST_PID" 10
	kill_pids "$SRC_PID"
}

case "${1:-all}" in
all)
	cancel_cases
	fault_cases
	stall_cases
	resume_first_case
	source_vmm_killed_case
	mismatch_cases
	retry_kept_vmm_case
	too_late_case
	late_signal_case ;;
*)	"$@" ;;
esac
summary
