#!/bin/bash
# Live migrations of a running kguest between kmig-vmm processes, each
# checked on the destination: integrity (kmig-vmmctl check: paused, every
# page verified), the guest still making progress, the source VMM gone,
# the destination never touched the zero pages it was told about.
#
#   loopback:  every codec x 1/2/4 channels
#   tls:       with a pre-shared key, and with x509 certificates
#   netns:     the same over a veth pair between two network namespaces:
#
#     netns kmigS<pid>                         netns kmigR<pid>
#     [kmig migrate] 10.198.<n>.1/30 --veth-- 10.198.<n>.2/30 [kmig incoming]
#     (the kmig-vmm processes stay in the root namespace: unix sockets)
#
#   landing:   kmig incoming --landing splice, map and auto; with memfd THP
#              on "advise", map and auto must land the guest's RAM in huge
#              pages (/proc/meminfo's ShmemHugePages grows by at least
#              half the guest), splice must not
#   nosum:     --no-page-sums on both ends (a trusted link): completes,
#              0 bad pages, and the report says no page sums
#   repeat:    one guest hops MIGRATE_REPEAT (default 20) times, checked
#              after every hop: 0 bad pages
#   iterate:   a dirty rate and a bandwidth limit that need several
#              iterations (asserted from the report)
#   converge:  a guest dirtying faster than the link: without auto-converge
#              the iteration bound ends precopy; with it the throttle rises
#              and the migration converges
. "$(dirname "$0")/miglib.sh"

REPEAT=${MIGRATE_REPEAT:-20}

# migrate_case NAME [migrate args...]: one migration of a fresh guest
migrate_case() {
	local name=$1 st
	shift
	start_pair "$name-s" "$name-d" ${SRC_ARGS:-} || { not_ok "$name: setup"; return 1; }
	start_incoming "$name" "$name-d" ${IN_ARGS:-} || { not_ok "$name: incoming"; return 1; }
	${BEFORE_MIGRATE:-:}
	start_migrate "$name" "$name-s" "$@"
	${AFTER_START:-:}
	wait_bounded "$MIG_PID" 120
	st=$?
	if [ "$st" != 0 ]; then
		not_ok "$name: migrate exit $st: $(cat "$WORK/$name.mig.err")"
		kill_pids "$IN_PID" "$SRC_PID" "$DST_PID"
		return 1
	fi
	if ! wait_bounded "$IN_PID" 30; then
		not_ok "$name: incoming: $(cat "$WORK/$name.in.err")"
		kill_pids "$SRC_PID" "$DST_PID"
		return 1
	fi
	case_checks "$name"
	st=$?
	[ "$st" != 0 ] || ${AFTER_CHECKS:-:} "$name" || st=1
	quit_vmm "$name-d"
	wait_bounded "$DST_PID" 10
	kill_pids "$SRC_PID" "$DST_PID"
	return $st
}

# The report says completed, the source VMM exited, the guest runs
# correctly at the destination.
case_checks() {
	local name=$1 j=$WORK/$1.json
	[ "$(json_get "$j" 'j["status"]')" = completed ] || { not_ok "$name: status"; return 1; }
	[ "$(json_get "$j" 'j["source"] + " " + j["source_dirty_log"]')" = "quit off" ] ||
		{ not_ok "$name: source $(json_get "$j" 'j["source"] + " " + j["source_dirty_log"]')"; return 1; }
	wait_bounded "$SRC_PID" 10 || { not_ok "$name: source VMM still there"; return 1; }
	check_guest "$name-d" || { not_ok "$name: destination guest"; return 1; }
	report_consistent "$j" || { not_ok "$name: report: $(report_consistent "$j" 2>&1)"; return 1; }
	[ -z "${TLS_EXPECT:-}" ] || [ "$(json_get "$j" 'j["stream"]["tls"]["version"]')" = TLSv1.3 ] ||
		{ not_ok "$name: the report does not say TLS 1.3"; return 1; }
	[ -z "${TLS_EXPECT:-}" ] ||
		echo "# $name: $(json_get "$j" '"%(version)s %(cipher)s, kernel TLS to send: %(ktls_tx)s, to receive: %(ktls_rx)s" % j["stream"]["tls"]')"
	ok "$name ($(json_get "$j" '"%d syncs, downtime %.1f ms, %.0f MiB" % (j["dirty_sync_count"], j["downtime_ns"] / 1e6, j["transferred_bytes"] / 2**20)'))"
}

# The matrices use a 4 MiB a-b range: zlib (~65 MB/s per core here)
# converges too, and each case takes about a second. In the lab 1 MiB at
# its capped rate (miglib.sh): zlib runs at ~2 MB/s there.
MATRIX_SRC="--ab $(lab_or 4M 1M)"

# The per-iteration rows add up to the stream's totals; the final pass
# sent exactly the pages it harvested; every page of the guest went out in
# the first pass.
report_consistent() {
	python3 - "$1" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
rows, t = j["iterations"], j["stream"]["total"]
assert len(rows) == j["transfers"], "rows omitted"
sent = sum(r["data_pages"] + r["zero_pages"] for r in rows)
total = t["pages_raw"] + t["pages_compressed"] + t["pages_none"] + t["pages_zero"]
assert sent == total, "rows %d pages, stream %d" % (sent, total)
assert sum(r["bytes"] for r in rows) <= t["bytes_wire"], "bytes"
f = rows[-1]
assert f["final"] and f["data_pages"] + f["zero_pages"] == f["dirty_pages"], f
assert rows[0]["data_pages"] + rows[0]["zero_pages"] == j["ram_bytes"] // 4096, rows[0]
PY
}

loopback_matrix() {
	local codec ch
	for codec in none zlib zstd lz4; do
		for ch in 1 2 4; do
			SRC_ARGS=$MATRIX_SRC migrate_case "lo-$codec-$ch" -c "$ch" -z "$codec"
		done
	done
	SRC_ARGS=$MATRIX_SRC migrate_case lo-auto-2 -c 2 -z auto
}

netns_matrix() {
	local ns_s=kmigS$$ ns_r=kmigR$$ net=10.198.$(($$ % 250)) codec ch
	if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
		echo "# SKIP netns: needs root and ip netns"
		return
	fi
	CLEANUP_HOOKS+=("ip netns del $ns_s 2>/dev/null; ip netns del $ns_r 2>/dev/null")
	ip netns add "$ns_s" && ip netns add "$ns_r" &&
	ip link add "ms$$" netns "$ns_s" type veth peer name "mr$$" netns "$ns_r" &&
	ip -n "$ns_s" addr add "$net.1/30" dev "ms$$" && ip -n "$ns_r" addr add "$net.2/30" dev "mr$$" &&
	ip -n "$ns_s" link set "ms$$" up && ip -n "$ns_r" link set "mr$$" up &&
	ip -n "$ns_s" link set lo up && ip -n "$ns_r" link set lo up ||
		{ not_ok "netns setup"; return; }
	if ip -n "$ns_s" route get "$net.2" | grep -q "dev ms$$"; then
		ok "netns: the route to the destination is the veth"
	else
		not_ok "netns route: $(ip -n "$ns_s" route get "$net.2")"
	fi
	for codec in none zlib zstd lz4; do
		for ch in 1 2 4; do
			SRC_ARGS=$MATRIX_SRC MIG_PREFIX="ip netns exec $ns_s" \
			IN_PREFIX="ip netns exec $ns_r" IN_LISTEN="$net.2:0" MIG_HOST="$net.2" \
				migrate_case "ns-$codec-$ch" -c "$ch" -z "$codec"
		done
	done
	ip netns del "$ns_s"
	ip netns del "$ns_r"
	ip netns list | grep -q "kmig[SR]$$" && not_ok "netns left behind"
}

# The system's shmem in huge pages (kB): before the cases' VMMs and after
# a case's checks, when its source VMM has quit, the difference is the
# destination's memfd (nothing else allocates shmem huge pages meanwhile).
LAND_BASE=0

landing_check() {
	local name=$1 want=$2 huge ram
	huge=$(($(shmem_huge_kb) - LAND_BASE))
	ram=$(json_get "$WORK/$name.json" 'j["ram_bytes"] // 1024')
	[ -n "$THP_ADVISE" ] || { echo "# $name: $huge of $ram kB landed in huge pages (THP not on advise: not asserted)"; return 0; }
	if [ "$want" = huge ] && [ "$((huge * 2))" -lt "$ram" ]; then
		not_ok "$name: only $huge of $ram kB of the destination's RAM landed in huge pages"
		return 1
	fi
	if [ "$want" = small ] && [ "$((huge * 2))" -ge "$ram" ]; then
		not_ok "$name: $huge of $ram kB landed in huge pages by splice()"
		return 1
	fi
	echo "# $name: $huge of $ram kB of the destination's RAM landed in huge pages"
}

# How fresh pages land (kmig incoming --landing): every way gives a
# correct guest; with memfd THP on "advise" (set here for the cases when
# we may, restored at the end), map and auto land huge pages and splice
# does not.
landing_cases() {
	thp_advise
	LAND_BASE=$(shmem_huge_kb)
	IN_ARGS="--landing splice" AFTER_CHECKS=landing_check_small SRC_ARGS=$MATRIX_SRC \
		migrate_case land-splice -c 2
	IN_ARGS="--landing map" AFTER_CHECKS=landing_check_huge SRC_ARGS=$MATRIX_SRC \
		migrate_case land-map -c 2
	IN_ARGS="--landing auto" AFTER_CHECKS=landing_check_huge SRC_ARGS=$MATRIX_SRC \
		migrate_case land-auto -c 2
	IN_ARGS="--landing map" AFTER_CHECKS=landing_check_huge SRC_ARGS=$MATRIX_SRC \
		migrate_case land-map-zstd -c 2 -z zstd
	thp_restore
}
landing_check_small() { landing_check "$1" small; }
landing_check_huge() { landing_check "$1" huge; }

# TLS on every channel: a pre-shared key, and x509 with both names
# checked (keys made here, pki.sh).
tls_cases() {
	. "$(dirname "$0")/pki.sh"
	make_pki || { not_ok "tls: pki"; return; }
	TLS_EXPECT=1 SRC_ARGS=$MATRIX_SRC IN_ARGS="--tls-psk $P/psk" \
		migrate_case tls-psk-2 -c 2 --tls-psk "$P/psk"
	TLS_EXPECT=1 SRC_ARGS=$MATRIX_SRC IN_ARGS="--tls-creds $P/dst --tls-peer src.test" \
		migrate_case tls-x509-4 -c 4 -z lz4 --tls-creds "$P/src" --tls-peer dst.test
}

# Pages without page sums on a link both ends trust (--no-page-sums).
nosum_check() {
	[ "$(json_get "$WORK/$1.json" 'j["stream"]["no_page_sums"]')" = True ] ||
		{ not_ok "$1: the report does not say no page sums"; return 1; }
}
nosum_case() {
	IN_ARGS=--no-page-sums AFTER_CHECKS=nosum_check SRC_ARGS=$MATRIX_SRC \
		migrate_case nosum -c 2 --no-page-sums
}

# Stray connections to kmig incoming's port (a port scan, a client that is
# not kmig) before and during the migration: refused, logged with their
# address, and the migration completes as if they were not there.
stray_clients() {
	python3 -S -c '
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port)); s.send(b"GET / HTTP/1.0\r\n\r\n" * 4); s.close()
s = socket.create_connection(("127.0.0.1", port)); s.close()' "$IN_PORT"
	wait_line "$WORK/stray.in.err" "refused a connection from 127.0.0.1:[0-9]+: .*Connection reset" 10
}
stray_during() {
	( sleep 0.3; python3 -S -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.send(b"\0" * 4096); s.close()' \
		"$IN_PORT" 2>/dev/null ) &
}
stray_case() {
	BEFORE_MIGRATE=stray_clients AFTER_START=stray_during SRC_ARGS=$MATRIX_SRC \
		migrate_case stray -c 2 || return
	local n
	n=$(grep -c "refused a connection from 127.0.0.1" "$WORK/stray.in.err")
	if [ "$n" -ge 2 ] && grep -q "not a kmig hello" "$WORK/stray.in.err"; then
		ok "stray: $n stray connections refused and logged, the migration completed"
	else
		not_ok "stray: $n refusals logged: $(cat "$WORK/stray.in.err")"
	fi
}

# One guest, REPEAT hops: A -> B -> C ..., each a fresh --incoming VMM.
repeat_hops() {
	local cur=hop0 next i bad=0 st
	start_vmm hop0 --mem "$GUEST_MEM" --vcpus 2 && wait_ready hop0 || { not_ok "repeat: setup"; return; }
	local cur_pid=$VMM_PID
	for ((i = 1; i <= REPEAT; i++)); do
		next=hop$i
		start_vmm "$next" --mem "$GUEST_MEM" --vcpus 2 --incoming || { bad=1; break; }
		local next_pid=$VMM_PID
		start_incoming "$next" "$next" || { bad=1; break; }
		start_migrate "$next" "$cur" -c $((i % 4 + 1))
		wait_bounded "$MIG_PID" 60
		st=$?
		wait_bounded "$IN_PID" 30 && [ "$st" = 0 ] &&
			wait_bounded "$cur_pid" 10 && check_guest "$next" ||
			{ echo "# hop $i: migrate $st: $(cat "$WORK/$next.mig.err" "$WORK/$next.in.err")"; bad=1; break; }
		cur=$next
		cur_pid=$next_pid
	done
	quit_vmm "$cur"
	wait_bounded "$cur_pid" 10
	if [ "$bad" = 0 ]; then
		ok "repeat: $REPEAT back-to-back migrations of one guest, 0 bad pages after each"
	else
		not_ok "repeat: failed at hop $i of $REPEAT"
	fi
}

# Dirty rate 3000 pages/s over 32 MiB, a 30 MiB/s link, 20 ms limit; in
# the lab, which sends at 5-10 MiB/s, 150 pages/s over 8 MiB, a 2 MiB/s
# link and a 200 ms limit.
iterate_case() {
	local j=$WORK/iterate.json n
	SRC_ARGS=$(lab_or "--ab 32M --rate 3000" "--ab 8M --rate 150") migrate_case iterate -c 2 \
		$(lab_or "-r 30M --downtime-limit 20" "-r 2M --downtime-limit 200") \
		--max-iterations 50 || return
	n=$(json_get "$j" 'j["dirty_sync_count"]')
	if [ -n "$n" ] && [ "$n" -ge 3 ] &&
	   [ "$(json_get "$j" 'j["converged"]')" = "expected downtime within the limit" ]; then
		ok "iterate: $n dirty syncs, then within the downtime limit"
	else
		not_ok "iterate: $n dirty syncs, $(json_get "$j" 'j["converged"]')"
	fi
}

# An unthrottled guest over 32 MiB against a 40 MiB/s link. In the lab 8
# MiB against 2 MiB/s and a 200 ms limit, the guest capped at 20000 pages/s
# (more than it dirties with dirty logging on there, but it leaves the
# lab's CPU to the rest while it waits to migrate).
converge_cases() {
	local args j src
	args="-c 2 $(lab_or "-r 40M --downtime-limit 30" "-r 2M --downtime-limit 200")"
	src=$(lab_or "--ab 32M --report 512" "--ab 8M --rate 20000 --report 512")
	SRC_ARGS=$src migrate_case noconverge $args --max-iterations 4 || return
	j=$WORK/noconverge.json
	if [ "$(json_get "$j" 'j["converged"]')" = "iteration bound reached" ]; then
		ok "noconverge: without auto-converge the iteration bound ends precopy"
	else
		not_ok "noconverge: $(json_get "$j" 'j["converged"]')"
	fi
	SRC_ARGS=$src migrate_case autoconverge $args --max-iterations 60 \
		--auto-converge --throttle-initial 50 --throttle-increment 25 || return
	j=$WORK/autoconverge.json
	if [ "$(json_get "$j" 'j["throttle_peak_pct"]')" -ge 50 ] &&
	   [ "$(json_get "$j" 'j["converged"]')" = "expected downtime within the limit" ]; then
		ok "autoconverge: throttled to $(json_get "$j" 'j["throttle_peak_pct"]') %, then converged"
	else
		not_ok "autoconverge: throttle $(json_get "$j" 'j["throttle_peak_pct"]'), $(json_get "$j" 'j["converged"]')"
	fi
}

case "${1:-all}" in
all)
	loopback_matrix
	landing_cases
	tls_cases
	nosum_case
	stray_case
	netns_matrix
	repeat_hops
	iterate_case
	converge_cases ;;
*)	"$@" ;;		# one part, e.g. "migrate.sh repeat_hops"
esac
summary
