#!/bin/bash
# Snapshot files end to end: kmig save of a running kguest (live and
# stopped) into a file, kmig restore into an --incoming kmig-vmm, each
# checked with the a-b checker on the destination (every page verified,
# the guest makes progress) and on the source (resumed intact).
#
#   matrix:     live/stopped x 1/2/4 writer and reader threads x sparse
#               (--fill 10), default and dense (--fill 100) guests, on the
#               work filesystem with O_DIRECT (asserted)
#   after:      --after pause leaves the source paused, quit ends its VMM
#   fallback:   a ramfs mount (refuses O_DIRECT: the buffered fallback and
#               its message) and a tmpfs mount (whatever it does, said)
#   interrupted: the saver killed mid-precopy over a complete file, and
#               killed just before its commit (kmig-test's hooks): both
#               files are refused, the
#               --keep-vmm destination then takes a good file
#   huge pages: --huge-pages auto and never of a dense guest's file; with
#               memfd THP on "advise" (set here when we may, restored
#               after), auto must land at least half the destination's RAM
#               in huge pages (/proc/meminfo's ShmemHugePages, the source
#               VMM gone), never must not
#   refused:    a destination of another layout, a file of garbage
#   cancel:     SIGINT at a hook point in every state (kmig-test, the test
#               build): no file left, the source runs; past the point of
#               no return refused, the file completes; and SIGINT at 8
#               moments to the production kmig: no crash, a complete file
#               or none
#   sanitizers: one live save and restore with the ASan/UBSan kmig
#               (KMIG_SAN), no report
. "$(dirname "$0")/miglib.sh"

# kill_pids, then reap them quietly (no job notices in the output)
kill_pids() {
	local p
	for p in "$@"; do kill -9 "$p" 2>/dev/null; done
	for p in "$@"; do wait "$p" 2>/dev/null; done
}

# save NAME SRC FILE [save args...]: kmig save --json -> SAVE_ST, $WORK/NAME.save.json
save() {
	local name=$1 src=$2 file=$3 pid
	shift 3
	env ${SAVE_ENV:-} "${SAVE_KMIG:-$KMIG}" save --json --vmm "$WORK/$src.sock" --file "$file" \
		"$@" >"$WORK/$name.save.json" 2>"$WORK/$name.save.err" &
	pid=$!
	PIDS+=("$pid")
	wait_bounded "$pid" 120
	SAVE_ST=$?
}

# restore NAME DST FILE [restore args...] -> REST_ST, $WORK/NAME.rest.json
restore() {
	local name=$1 dst=$2 file=$3 pid
	shift 3
	"${SAVE_KMIG:-$KMIG}" restore --json --vmm "$WORK/$dst.sock" --file "$file" "$@" \
		>"$WORK/$name.rest.json" 2>"$WORK/$name.rest.err" &
	pid=$!
	PIDS+=("$pid")
	wait_bounded "$pid" 120
	REST_ST=$?
}

# roundtrip NAME FILE "VMM ARGS" "SAVE ARGS" "RESTORE ARGS": save a fresh
# guest, restore it elsewhere, check both; WANT_IO: the expected io.
roundtrip() {
	local name=$1 file=$2 j io
	start_pair "$name-s" "$name-d" $3 || { not_ok "$name: setup"; return 1; }
	save "$name" "$name-s" "$file" $4
	j=$WORK/$name.save.json
	if [ "$SAVE_ST" != 0 ] || [ "$(json_get "$j" 'j["save"]["status"]')" != completed ]; then
		not_ok "$name: save exit $SAVE_ST: $(cat "$WORK/$name.save.err")"
		kill_pids "$SRC_PID" "$DST_PID"
		return 1
	fi
	io=$(json_get "$j" 'j["io"]')
	if [ -n "${WANT_IO:-}" ] && [ "${io%%:*}" != "$WANT_IO" ]; then
		not_ok "$name: io '$io', expected $WANT_IO"
	fi
	check_guest "$name-s" || { not_ok "$name: source after the save"; kill_pids "$SRC_PID" "$DST_PID"; return 1; }
	restore "$name" "$name-d" "$file" $5
	if [ "$REST_ST" != 0 ]; then
		not_ok "$name: restore exit $REST_ST: $(cat "$WORK/$name.rest.err")"
		kill_pids "$SRC_PID" "$DST_PID"
		return 1
	fi
	check_guest "$name-d" || { not_ok "$name: restored guest"; kill_pids "$SRC_PID" "$DST_PID"; return 1; }
	restore_consistent "$j" "$WORK/$name.rest.json" ||
		{ not_ok "$name: reports: $(restore_consistent "$j" "$WORK/$name.rest.json" 2>&1)"; kill_pids "$SRC_PID" "$DST_PID"; return 1; }
	ok "$name ($(json_get "$WORK/$name.rest.json" '"%d pages read, %d absent, %s" % (j["pages_read"], j["pages_absent"], j["io"])'))"
	quit_vmm "$name-s"
	quit_vmm "$name-d"
	wait_bounded "$SRC_PID" 10
	wait_bounded "$DST_PID" 10
}

# The restore read exactly the pages the file holds; every page of the
# guest is either read or absent; the save went through every page.
restore_consistent() {
	python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["save"]
r = json.load(open(sys.argv[2]))
assert r["status"] == "running", r["status"]
assert r["pages_read"] + r["pages_absent"] == r["ram_bytes"] // 4096, r
assert r["bytes_read"] == r["pages_read"] * 4096, r
rows = s["iterations"]
assert rows[0]["data_pages"] + rows[0]["zero_pages"] == s["ram_bytes"] // 4096, rows[0]
assert s["stream"]["role"] == "save", s["stream"]["role"]
PY
}

matrix() {
	WANT_IO=O_DIRECT roundtrip live-2-default "$WORK/a.snap" "" "-c 2" "-c 2"
	WANT_IO=O_DIRECT roundtrip live-4-dense "$WORK/b.snap" "--fill 100 --ab $(lab_or 32M 8M)" "-c 4" "-c 1"
	WANT_IO=O_DIRECT roundtrip live-1-sparse "$WORK/c.snap" "--fill 10" "-c 1 --no-data-crc" "-c 4"
	WANT_IO=O_DIRECT roundtrip stopped-1-dense "$WORK/d.snap" "--fill 100" "--stopped -c 1" "-c 2"
	WANT_IO=O_DIRECT roundtrip stopped-4-sparse "$WORK/e.snap" "--fill 10" "--stopped -c 4" "-c 4"
	WANT_IO=O_DIRECT roundtrip stopped-2-default "$WORK/f.snap" "" "--stopped -c 2" "-c 2"
}

after_modes() {
	start_vmm after-p --mem "$GUEST_MEM" --vcpus 2 && wait_ready after-p || { not_ok "after: setup"; return; }
	local p=$VMM_PID
	save after-p after-p "$WORK/p.snap" --after pause
	if [ "$SAVE_ST" = 0 ] && [ "$(vmm_field after-p state)" = paused ]; then
		ok "--after pause: the source stays paused"
	else
		not_ok "--after pause: exit $SAVE_ST, state $(vmm_field after-p state)"
	fi
	save after-q after-p "$WORK/q.snap" --stopped --after quit
	if [ "$SAVE_ST" != 0 ]; then
		# paused guests are not saved: resume first
		"$VMMCTL" "$WORK/after-p.sock" resume >/dev/null 2>&1
		save after-q after-p "$WORK/q.snap" --stopped --after quit
	fi
	if [ "$SAVE_ST" = 0 ] && wait_bounded "$p" 10; then
		ok "--after quit: the source VMM exited after the save"
	else
		not_ok "--after quit: exit $SAVE_ST: $(cat "$WORK/after-q.save.err")"
		kill_pids "$p"
	fi
}

# MOUNT TYPE: a small filesystem of TYPE in $WORK/TYPE (removed by the trap)
fs_mount() {
	mkdir -p "$WORK/$1"
	if [ "$(id -u)" != 0 ] || ! mount -t "$1" -o size=400M "$1" "$WORK/$1" 2>/dev/null; then
		return 1
	fi
	CLEANUP_HOOKS+=("umount $WORK/$1 2>/dev/null")
}

fallback() {
	local t
	for t in ramfs tmpfs; do
		if ! fs_mount "$t"; then
			echo "# SKIP $t: cannot mount one (needs root)"
			continue
		fi
		if [ "$t" = ramfs ]; then
			WANT_IO=buffered roundtrip "fs-$t" "$WORK/$t/x.snap" "--fill 50" "-c 2" "-c 2" || continue
			grep -q "buffered: the filesystem refuses O_DIRECT (EINVAL at open)" "$WORK/fs-$t.save.err" &&
			grep -q "buffered: the filesystem refuses O_DIRECT" "$WORK/fs-$t.rest.err" &&
				ok "$t: the fallback said so: $(head -1 "$WORK/fs-$t.save.err")" ||
				not_ok "$t: no fallback message: $(cat "$WORK/fs-$t.save.err")"
		else
			roundtrip "fs-$t" "$WORK/$t/x.snap" "--fill 50" "-c 2" "-c 2" || continue
			local io
			io=$(json_get "$WORK/fs-$t.save.json" 'j["io"]')
			if [ "$io" = O_DIRECT ] || grep -q "$io" "$WORK/fs-$t.save.err"; then
				ok "$t: $io"
			else
				not_ok "$t: io '$io' not reported on stderr"
			fi
		fi
		rm -f "$WORK/$t/x.snap"
		umount "$WORK/$t"
	done
}

# huge_restore NAME FILE MODE WANT(huge|small): kmig restore --huge-pages
# MODE into a fresh destination; the huge pages it added are counted at
# once, before khugepaged may collapse any, then the guest is checked.
huge_restore() {
	local name=$1 file=$2 mode=$3 want=$4 base huge ram blocks
	start_vmm "$name" --mem "$GUEST_MEM" --vcpus 2 --incoming || { not_ok "$name: setup"; return 1; }
	local d=$VMM_PID
	base=$(shmem_huge_kb)
	restore "$name" "$name" "$file" -c 2 --huge-pages "$mode"
	huge=$(($(shmem_huge_kb) - base))
	if [ "$REST_ST" != 0 ]; then
		not_ok "$name: restore exit $REST_ST: $(cat "$WORK/$name.rest.err")"
		kill_pids "$d"
		return 1
	fi
	ram=$(json_get "$WORK/$name.rest.json" 'j["ram_bytes"] // 1024')
	blocks=$(json_get "$WORK/$name.rest.json" '"%d of %d" % (j["huge_page_blocks"], j["blocks"])')
	if ! check_guest "$name"; then
		not_ok "$name: restored guest"
	elif [ -z "$THP_ADVISE" ]; then
		ok "$name: $huge of $ram kB in huge pages, $blocks blocks advised (THP not on advise: not asserted)"
	elif [ "$want" = huge ] && { [ "$((huge * 2))" -lt "$ram" ] || [ "${blocks%% *}" = 0 ]; }; then
		not_ok "$name: only $huge of $ram kB of the destination's RAM in huge pages ($blocks blocks advised)"
	elif [ "$want" = small ] && { [ "$((huge * 2))" -ge "$ram" ] || [ "${blocks%% *}" != 0 ]; }; then
		not_ok "$name: $huge of $ram kB in huge pages with --huge-pages never ($blocks blocks advised)"
	else
		ok "$name: $huge of $ram kB of the destination's RAM in huge pages ($blocks blocks advised)"
	fi
	quit_vmm "$name"
	wait_bounded "$d" 10
}

huge_pages() {
	local f=$WORK/huge.snap
	thp_advise
	# The source's own memory may be huge too: it is gone before counting.
	start_vmm huge-s --mem "$GUEST_MEM" --vcpus 2 --fill 100 && wait_ready huge-s ||
		{ not_ok "huge pages: setup"; return; }
	local s=$VMM_PID
	save huge-s huge-s "$f" --stopped -c 2
	quit_vmm huge-s
	wait_bounded "$s" 10 || kill_pids "$s"
	if [ "$SAVE_ST" != 0 ]; then
		not_ok "huge pages: save exit $SAVE_ST: $(cat "$WORK/huge-s.save.err")"
	else
		huge_restore huge-auto "$f" auto huge
		huge_restore huge-never "$f" never small
	fi
	rm -f "$f"
	thp_restore
}

# A file that must be refused by restore (into a --keep-vmm destination
# that stays waiting) and, unless NO_INFO, by snapshot-info, with MSG in
# both errors.
refused() {
	local name=$1 dst=$2 file=$3 msg=$4
	restore "$name" "$dst" "$file" --keep-vmm
	if [ -z "${NO_INFO:-}" ] && "$KMIG" snapshot-info "$file" >/dev/null 2>"$WORK/$name.info.err"; then
		not_ok "$name: snapshot-info accepted it"
		return
	fi
	if [ "$REST_ST" = 1 ] && grep -q "$msg" "$WORK/$name.rest.err" &&
	   { [ -n "${NO_INFO:-}" ] || grep -q "$msg" "$WORK/$name.info.err"; } &&
	   [ "$(vmm_field "$dst" state)" = incoming ]; then
		ok "$name: refused: $(sed -n 's/^kmig restore: failed: //p' "$WORK/$name.rest.err")"
	else
		not_ok "$name: exit $REST_ST: $(cat "$WORK/$name.rest.err") / state $(vmm_field "$dst" state)"
	fi
}

interrupted() {
	local f=$WORK/k.snap
	start_pair int-s int-d --fill 50 || { not_ok "interrupted: setup"; return; }
	save int-good int-s "$WORK/good.snap" -c 2
	cp --sparse=always "$WORK/good.snap" "$f"
	# 1: killed in the middle of the first pass, over a complete file
	SAVE_KMIG=$KMIG_TEST SAVE_ENV="KMIG_TEST_HOOK=precopy-0=kill" save int-kill1 int-s "$f" -c 2
	[ "$SAVE_ST" = 137 ] || not_ok "kill at precopy-0: exit $SAVE_ST: $(cat "$WORK/int-kill1.save.err")"
	refused int-kill1 int-d "$f" "state WRITING, expected COMPLETE"
	# 2: killed with every page and the metadata written, before the commit
	SAVE_KMIG=$KMIG_TEST SAVE_ENV="KMIG_TEST_HOOK=no-return=kill" \
		save int-kill2 int-s "$f" --stopped -c 2
	[ "$SAVE_ST" = 137 ] || not_ok "kill at no-return: exit $SAVE_ST: $(cat "$WORK/int-kill2.save.err")"
	refused int-kill2 int-d "$f" "state WRITING, expected COMPLETE"
	# refused files never touched the destination: a good file restores into it
	restore int-good int-d "$WORK/good.snap" -c 2
	if [ "$REST_ST" = 0 ] && check_guest int-d; then
		ok "interrupted: the waiting destination then took the good file"
	else
		not_ok "interrupted: good file after refusals: $(cat "$WORK/int-good.rest.err")"
	fi
	kill_pids "$SRC_PID" "$DST_PID"
}

refused_files() {
	local f=$WORK/good.snap
	start_vmm ref-d --mem 64M --vcpus 2 --incoming || { not_ok "refused: setup"; return; }
	local d=$VMM_PID
	NO_INFO=1 refused layout ref-d "$f" "the destination VM's is slot0 of"
	head -c 65536 /dev/urandom >"$WORK/junk.snap"
	refused junk ref-d "$WORK/junk.snap" "not a kmig snapshot file"
	truncate -s 1G "$WORK/junk.snap"
	cp --sparse=always "$f" "$WORK/short.snap"
	truncate -s 8M "$WORK/short.snap"
	refused truncated ref-d "$WORK/short.snap" "truncated: the header's file_size is"
	restore ref-nokeep ref-d "$f"
	if [ "$REST_ST" = 1 ] && wait_bounded "$d" 10; then
		ok "refused without --keep-vmm: the destination VMM quit"
	else
		not_ok "refused without --keep-vmm: exit $REST_ST"
		kill_pids "$d"
	fi
}

# cancelled_save NAME HOOK STATE [save args]: kmig-test save with HOOK
# (sigint at a point): exit 1, "cancelled by signal SIGINT during STATE",
# no file left, the source runs intact. A hook at a later precopy
# iteration (precopy-N, N > 0) exists only if precopy has not converged
# by then, which a guest starved of CPU (a loaded machine: seen with two
# CI runs side by side) cannot promise: a save that completed without
# reaching it is tried again, up to 3 times, and said so.
cancelled_save() {
	local name=$1 hook=$2 state=$3 try
	shift 3
	for try in 1 2 3; do
		[ "$try" = 1 ] || rm -f "$WORK/$name.snap"
		SAVE_KMIG=$KMIG_TEST SAVE_ENV="KMIG_TEST_HOOK=$hook" save "$name" can-s \
			"$WORK/$name.snap" "$@"
		case $SAVE_ST:$hook in
		0:precopy-[1-9]*) echo "# $name: the save completed before $hook (try $try)" ;;
		*) break ;;
		esac
	done
	if [ "$SAVE_ST" = 1 ] && [ ! -e "$WORK/$name.snap" ] &&
	   grep -q "cancelled by signal SIGINT during $state" "$WORK/$name.save.err" &&
	   check_source_intact can-s; then
		ok "cancel $name: no file left, the source runs: $(tail -1 "$WORK/$name.save.err")"
	else
		not_ok "cancel $name: exit $SAVE_ST, file $(ls "$WORK/$name.snap" 2>&1): $(cat "$WORK/$name.save.err")"
	fi
}

# A cancel in every state of kmig save; past the point of no return it is
# refused and the file completes.
cancel() {
	local more="--downtime-limit 1 --max-iterations 4"
	# In the lab at 1000 page writes/s, above the lab's cap (miglib.sh),
	# under which an iteration can find nothing dirty and end precopy
	# before precopy-2 (seen: c-precopy-2 completed its save).
	start_vmm can-s --mem "$GUEST_MEM" --vcpus 2 $(lab_or "" "--rate 1000 --report 64") &&
		wait_ready can-s || { not_ok "cancel: setup"; return; }
	local p=$VMM_PID
	cancelled_save c-setup setup=sigint setup
	cancelled_save c-setup-stopped setup=sigint setup --stopped
	cancelled_save c-precopy-0 precopy-0=sigint precopy
	cancelled_save c-precopy-2 precopy-2=sigint precopy $more
	cancelled_save c-switchover switchover=sigint switchover
	cancelled_save c-switchover-stopped switchover=sigint switchover --stopped
	cancelled_save c-commit commit=sigint switchover $more
	SAVE_KMIG=$KMIG_TEST SAVE_ENV="KMIG_TEST_HOOK=no-return=sigint" save c-late can-s "$WORK/c-late.snap"
	if [ "$SAVE_ST" = 0 ] && grep -q "not cancelled (signal SIGINT): the file is being committed" \
	   "$WORK/c-late.save.err" && "$KMIG" snapshot-info "$WORK/c-late.snap" >/dev/null &&
	   check_source_intact can-s; then
		ok "cancel past the point of no return: refused, the file is complete"
	else
		not_ok "cancel c-late: exit $SAVE_ST: $(cat "$WORK/c-late.save.err")"
	fi
	rm -f "$WORK/c-late.snap"
	kill_pids "$p"
}

# SIGINT at any moment (the production kmig, no hooks): never a crash;
# either a complete file (exit 0) or none (exit 1); the source runs.
cancel_any_time() {
	local d pid st why bad=0 done=0 gone=0
	start_vmm sig-s --mem "$GUEST_MEM" --vcpus 2 && wait_ready sig-s || { not_ok "SIGINT: setup"; return; }
	local p=$VMM_PID
	for d in 0 0.005 0.02 0.05 0.1 0.2 0.4 0.8; do
		rm -f "$WORK/sig.snap"
		"$KMIG" save -q --vmm "$WORK/sig-s.sock" --file "$WORK/sig.snap" 2>"$WORK/sig.err" &
		pid=$!
		PIDS+=("$pid")
		sleep "$d"
		kill -INT "$pid" 2>/dev/null
		wait_bounded "$pid" 60
		st=$?
		if [ "$st" = 0 ] && "$KMIG" snapshot-info "$WORK/sig.snap" >/dev/null; then
			done=$((done + 1))
		elif [ "$st" = 1 ] && [ ! -e "$WORK/sig.snap" ]; then
			gone=$((gone + 1))
		elif [ "$st" = 130 ] && [ ! -e "$WORK/sig.snap" ]; then
			# SIGINT before kmig blocked it (still loading): the
			# default action ended it before it did anything.
			gone=$((gone + 1))
		else
			bad=1
			not_ok "SIGINT after $d s: exit $st, file $(ls "$WORK/sig.snap" 2>&1): $(cat "$WORK/sig.err")"
		fi
		why=$(check_source_intact sig-s) || { bad=1; not_ok "SIGINT after $d s: source: $why"; }
	done
	[ "$bad" = 0 ] && ok "SIGINT at 8 moments: no crash, $gone cancelled without a file, $done complete; the source runs intact"
	kill_pids "$p"
}

sanitizers() {
	if [ -z "${KMIG_SAN:-}" ] || [ ! -x "$KMIG_SAN" ]; then
		echo "# SKIP sanitizers: KMIG_SAN not set"
		return
	fi
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		SAVE_KMIG=$KMIG_SAN roundtrip san-live "$WORK/san.snap" "--fill 50" "-c 2" "-c 2" &&
	! grep -q "ERROR: \|runtime error" "$WORK"/san-live.*.err &&
		ok "sanitizers: live save and restore under ASan/UBSan" ||
		not_ok "sanitizers: $(cat "$WORK"/san-live.*.err)"
}

matrix
after_modes
fallback
huge_pages
interrupted
refused_files
cancel
cancel_any_time
sanitizers
summary
