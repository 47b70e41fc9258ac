#!/bin/bash
# The strict downtime limit (kmig migrate --downtime-strict, lib/precopy/
# strict.c) between real kmig-vmm processes: each step of the switchover is
# delayed or killed on either side through KMIG_TEST_HOOK (lib/base/hook.h,
# delay-MS, kill), and afterwards:
#   - the pause of the source guest that ended in a resume stayed within
#     the limit plus the documented margin (KMIG_STRICT_MARGIN_NS, 20 ms),
#     or, for a stall inside the source's own step (checked when it
#     returns, not cut short), within that stall plus half the limit (the
#     switchover's own steps before it) plus the margin;
#   - a completed migration's downtime until COMMIT went out stayed within
#     limit + margin (after COMMIT nothing can be undone: the destination's
#     commit and RESUMED's way back are reported, not bounded);
#   - every abort was counted (JSON strict.aborts), and every ABORT after
#     END on both sides (kmig incoming's JSON aborts, staged_dropped);
#   - who runs the guest: after a completed migration the destination (its
#     guest intact and making progress), the source VMM quit; after an
#     abort or a failure the source (intact, dirty logging off), the
#     destination VMM never resumed (kept with --keep-vmm: state incoming,
#     no device state staged: an ABORT made it drop the staged one);
#     after a lost answer to COMMIT the source stays paused.
. "$(dirname "$0")/miglib.sh"
KMIG=$KMIG_TEST

LIMIT=$(lab_or 60 600)		# ms
MARGIN=20			# ms, KMIG_STRICT_MARGIN_NS
SRC="--ab 4M $(lab_or "" "--rate 1000 --report 64")"
MIG_ARGS="-c 2 --downtime-limit $LIMIT --downtime-strict --timeout 10"

# jget NAME EXPR: a field of NAME's kmig migrate report; iget: kmig incoming's
jget() { json_get "$WORK/$1.json" "$2"; }
iget() { json_get "$WORK/$1.in.out" "$2"; }

# strict_case NAME MIG_HOOK IN_HOOK WANT_EXIT MIN_ABORTS MAX_PAUSE_MS [args...]
# (DST_ABORTS=N: the destination must have taken at least N ABORTs and
# had its VMM drop as many staged states; IN_ARGS: kmig incoming's own)
strict_case() {
	local name=$1 mhook=$2 ihook=$3 want=$4 aborts=$5 maxpause=$6 mst ist
	shift 6
	start_pair "$name-s" "$name-d" $SRC || { not_ok "$name: setup"; return; }
	IN_ENV="KMIG_TEST_HOOK=$ihook" start_incoming "$name" "$name-d" --keep-vmm --timeout 20 --json \
		${IN_ARGS:-} ||
		{ not_ok "$name: incoming"; return; }
	MIG_ENV="KMIG_TEST_HOOK=$mhook" start_migrate "$name" "$name-s" $MIG_ARGS "$@"
	wait_bounded "$MIG_PID" 90
	mst=$?
	wait_bounded "$IN_PID" 40
	ist=$?
	echo "# $name: migrate $mst: $(grep -v "test hook" "$WORK/$name.mig.err" | head -2)"
	echo "# $name: incoming $ist: $(grep -v "test hook" "$WORK/$name.in.err" | head -1)"
	echo "# $name: strict $(jget "$name" 'j["strict"]'), downtime $(jget "$name" 'j["downtime_ns"]') ns"
	echo "# $name: destination: $(iget "$name" '"%d aborts, %d staged states dropped" % (j["aborts"], j["staged_dropped"])')"
	if [ "$mst" != "$want" ]; then
		not_ok "$name: migrate exit $mst, expected $want"
	elif ! strict_figures "$name" "$aborts" "$maxpause"; then
		:
	elif ! dst_aborts "$name" "${DST_ABORTS:-0}"; then
		:
	elif [ "$want" = 0 ]; then
		completed_checks "$name"
	elif [ "$want" = 3 ]; then
		in_doubt_checks "$name"
	else
		aborted_checks "$name"
	fi
	quit_vmm "$name-s"
	quit_vmm "$name-d"
	wait_bounded "$SRC_PID" 10
	wait_bounded "$DST_PID" 10
}

# Aborts counted, the resumed pause and a completed downtime in bounds.
strict_figures() {
	local name=$1 aborts=$2 maxpause=$3 n pause dt
	n=$(jget "$name" 'j["strict"]["aborts"]')
	pause=$(jget "$name" 'j["strict"]["max_resumed_pause_ns"] // 1000000')
	dt=$(jget "$name" '(j["downtime_ns"] - j["downtime"]["commit_resumed_ns"]) // 1000000')
	if [ -z "$n" ] || [ "$n" -lt "$aborts" ]; then
		not_ok "$name: ${n:-no} aborts counted, expected at least $aborts"
	elif [ "$pause" -gt "$maxpause" ]; then
		not_ok "$name: the source was paused $pause ms before it resumed, bound $maxpause ms"
	elif [ "$(jget "$name" 'j["status"]')" = completed ] && [ "$dt" -gt $((LIMIT + MARGIN)) ]; then
		not_ok "$name: downtime until COMMIT $dt ms, limit $LIMIT + margin $MARGIN ms"
	else
		return 0
	fi
	return 1
}

# The destination took the ABORTs after END: counted, staged states dropped.
dst_aborts() {
	local name=$1 want=$2 n d
	[ "$want" = 0 ] && return 0
	n=$(iget "$name" 'j["aborts"]')
	d=$(iget "$name" 'j["staged_dropped"]')
	if [ -z "$n" ] || [ "$n" -lt "$want" ] || [ "$d" != "$n" ]; then
		not_ok "$name: the destination took ${n:-no} ABORTs (dropped ${d:-?}), expected at least $want, each dropped"
		return 1
	fi
}

# The guest runs at the destination only.
completed_checks() {
	local name=$1
	[ "$(jget "$name" 'j["source"]')" = quit ] || { not_ok "$name: source '$(jget "$name" 'j["source"]')'"; return; }
	check_guest "$name-d" || { not_ok "$name: destination guest"; return; }
	ok "$name: completed, $(jget "$name" 'j["strict"]["aborts"]') aborts, downtime $(jget "$name" 'j["downtime_ns"] // 1000') us; the destination runs the guest, intact"
}

# The guest runs at the source only.
aborted_checks() {
	local name=$1 dst
	[ "$(jget "$name" 'j["source"] + " " + j["source_dirty_log"]')" = "running off" ] ||
		{ not_ok "$name: report says source '$(jget "$name" 'j["source"]')'"; return; }
	check_source_intact "$name-s" || { not_ok "$name: source guest"; return; }
	dst=$(vmm_field "$name-d" state)
	[ -z "$dst" ] || [ "$dst" = incoming ] ||
		{ not_ok "$name: destination VMM state '$dst', expected incoming"; return; }
	[ -z "$dst" ] || [ "$(vmm_field "$name-d" staged)" = no ] ||
		{ not_ok "$name: the destination VMM still holds a staged device state"; return; }
	ok "$name: $(jget "$name" 'j["strict"]["aborts"]') aborts, source paused at most $(jget "$name" 'j["strict"]["max_resumed_pause_ns"] // 1000') us, runs on intact; destination ${dst:-gone}, never ran"
}

# No answer to COMMIT: the source stays paused, never runs again on its own.
in_doubt_checks() {
	local name=$1
	[ "$(jget "$name" 'j["status"]')" = in-doubt ] || { not_ok "$name: status"; return; }
	[ "$(vmm_field "$name-s" state)" = paused ] || { not_ok "$name: source not paused"; return; }
	[ "$(vmm_field "$name-d" state)" = incoming ] || { not_ok "$name: destination ran"; return; }
	"$VMMCTL" "$WORK/$name-s.sock" resume >/dev/null || { not_ok "$name: resume"; return; }
	check_source_intact "$name-s" || { not_ok "$name: source guest"; return; }
	ok "$name: after COMMIT the source stayed paused, the destination never ran"
}

L=$LIMIT M=$MARGIN
# Nothing late: completes within the limit, no abort.
# (A switchover may still be called off when the final harvest finds more
# than the decision did: the pause stays within the limit then.)
strict_case on-time "" "" 0 0 $((L + M))
# The final pass runs late (a stall in the source's own step): called off
# before a word to the destination, precopy goes on, the retry completes.
strict_case final-pass-late-retry "switchover-0=delay-$((L + 40))" "" 0 1 $((L + 40 + L / 2 + M))
# GET_DEVICE_STATE late every time: 1 + 2 retries aborted, then a clean failure.
strict_case devstate-late-exhausted "devstate=delay-$((L + 20))" "" 1 3 $((L + 20 + L / 2 + M)) \
	--strict-retries 2
# The source stalls after PREPARED, before COMMIT, every time: the guard
# fires at the limit and resumes the source while it still stalls, then
# ABORT (after END): the destination drops its staged state and receives
# again; after 1 + 1 retry a clean failure, the source running.
DST_ABORTS=2 strict_case commit-stalled-guard "commit=delay-$((3 * L))" "" 1 2 $((L + M)) \
	--strict-retries 1
# The destination stages late the first time only: no PREPARED within the
# limit, the source resumes, ABORT after END, back to precopy on both
# sides; the retry commits, the guest intact at the destination.
DST_ABORTS=1 strict_case destination-late-once "" "received-0=delay-$((3 * L))" 0 1 $((L + M))
# The same inside TLS (each channel's connection is used by one thread at
# a time: the ABORT and PREPARED between the channel threads' rounds).
(umask 077 && openssl rand -hex 32 >"$WORK/psk")
DST_ABORTS=1 IN_ARGS="--tls-psk $WORK/psk" strict_case destination-late-once-tls "" \
	"received-0=delay-$((3 * L))" 0 1 $((L + M)) --tls-psk "$WORK/psk"
# The destination stages late every time: retries exhausted, a clean
# failure with the source running; the destination never ran the guest.
DST_ABORTS=2 strict_case destination-late-exhausted "" "received=delay-$((3 * L))" 1 2 $((L + M)) \
	--strict-retries 1
# The destination helper dies at staging: the source resumes at once.
strict_case destination-killed "" "received=kill" 1 0 $((L + M))
# The destination helper dies after COMMIT: in doubt, the source stays paused.
strict_case destination-killed-after-commit "" "commit=kill" 3 0 $((L + M))
summary
