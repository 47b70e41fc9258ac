#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The README's first migration in the fresh Debian root of debroot.sh,
# with the installed programs: sourced by debroot.sh (here, with
# /dev/kvm) and by debroot-lab.sh (in the lab, without it). The caller
# sets $root (the root), $WORK (logs) and in_root (a command in the root),
# and sources lib.sh.

# The command line of kmig-incoming@NAME.service, expanded as systemd does
# for this unit: %i, the Environment= defaults overridden by the settings
# file, "${VAR}" as one word, "$VAR" split at white space.
unit_command() {
	local unit=$1 name=$2 conf=$3 line tok k v
	declare -A env=()
	line=$(sed -n 's/^Environment=//p' "$unit")
	for tok in ${line//%i/$name}; do env[${tok%%=*}]=${tok#*=}; done
	while IFS= read -r line; do
		case $line in ''|'#'*) continue ;; esac
		k=${line%%=*} v=${line#*=}
		env[$k]=$v
	done < "$conf"
	line=$(sed -n 's/^ExecStart=//p' "$unit")
	for tok in ${line//%i/$name}; do
		case $tok in
		'${'*'}') k=${tok#\$\{}; k=${k%\}}; printf '%s\n' "${env[$k]:-}" ;;
		'$'*) for v in ${env[${tok#\$}]:-}; do printf '%s\n' "$v"; done ;;
		*) printf '%s\n' "$tok" ;;
		esac
	done
}

# wait_for PATH SECONDS: until the file or socket exists in the root.
wait_for() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		[ -e "$root$1" ] && [ -n "$(cat "$root$1" 2>/dev/null || echo socket)" ] && return 0
		sleep 0.1
	done
	return 1
}

migrate_in_root() {
	local unit=$root/lib/systemd/system/kmig-incoming@.service conf=/etc/kmig/incoming/vm1.conf
	local cmd port rc
	# As systemd would for the unit: its RuntimeDirectory.
	mkdir -p "$root/run/kmig-incoming/vm1"
	# The example settings, on a free loopback port.
	sed 's/^KMIG_LISTEN=.*/KMIG_LISTEN=127.0.0.1:0/' "$root/usr/share/kmig/kmig-incoming.conf" \
		> "$root$conf"
	mapfile -t cmd < <(unit_command "$unit" vm1 "$root$conf")
	echo "# listener: ${cmd[*]}"

	in_root timeout 120 kmig-vmm --socket /run/kmig/vm1.sock --mem 128M --incoming --quiet \
		>"$WORK/dst-vmm.log" 2>&1 &
	in_root timeout 120 kmig-vmm --socket /run/kmig/src.sock --mem 128M --quiet \
		>"$WORK/src-vmm.log" 2>&1 &
	wait_for /run/kmig/vm1.sock 20 && wait_for /run/kmig/src.sock 20 ||
		{ echo "# the VMMs did not start:"; cat "$WORK"/*-vmm.log; return 1; }
	# The guest fills its memory first; the check needs it done.
	local i
	for ((i = 0; i < 300; i++)); do
		in_root kmig-vmmctl /run/kmig/src.sock query 2>/dev/null | grep -qx 'ready yes' && break
		sleep 0.1
	done
	[ "$i" -lt 300 ] || { echo "# the source guest did not fill its memory in 30 s"; return 1; }
	# With what the unit leaves it: no capability, no new privileges.
	in_root timeout 120 setpriv --bounding-set=-all --inh-caps=-all --no-new-privs \
		strace -f -qq -o /tmp/incoming.strace "${cmd[@]}" >"$WORK/incoming.log" 2>&1 &
	local in_pid=$!
	wait_for /run/kmig-incoming/vm1/port 20 ||
		{ echo "# the listener did not start:"; cat "$WORK/incoming.log"; return 1; }
	port=$(cat "$root/run/kmig-incoming/vm1/port")
	in_root timeout 120 kmig migrate --vmm /run/kmig/src.sock --to "127.0.0.1:$port" \
		>"$WORK/migrate.log" 2>&1 ||
		{ echo "# kmig migrate failed:"; tail -n 20 "$WORK/migrate.log"; return 1; }
	wait "$in_pid" && rc=0 || rc=$?
	[ "$rc" = 0 ] || { echo "# kmig incoming exited $rc:"; tail -n 20 "$WORK/incoming.log"; return 1; }
	in_root timeout 60 kmig-vmmctl /run/kmig/vm1.sock check >"$WORK/check.log" 2>&1 ||
		{ echo "# the migrated guest's memory:"; cat "$WORK/check.log"; return 1; }
	grep -h '^integrity' "$WORK/check.log" | sed 's/^/# /'
}

# The clients built above query the migrated guest's VMM, then it quits.
query_clients() {
	local q out rc=0
	for q in q-shared q-static; do
		out=$(in_root timeout 30 /tmp/$q /run/kmig/vm1.sock 2>&1) &&
			[ "$out" = "state running vcpus 1" ] || { echo "# $q: $out"; rc=1; }
	done
	in_root timeout 30 kmig-vmmctl /run/kmig/vm1.sock quit --exit >/dev/null
	return $rc
}

# System calls the listener made that SystemCallFilter=@system-service
# would refuse (the set expanded from systemd's own tables in the root).
filtered_syscalls() {
	allowed_syscalls @system-service in_root | sort -u > "$WORK/allowed"
	[ -s "$WORK/allowed" ] || { echo "# no @system-service list"; return 1; }
	refused_syscalls "$root/tmp/incoming.strace" "$WORK/allowed" > "$WORK/refused" &&
		[ ! -s "$WORK/refused" ] || { echo "# refused: $(tr '\n' ' ' < "$WORK/refused")"; return 1; }
}

# The three checks that need a guest: the migration, the listener's system
# calls, the clients against the migrated guest's VMM.
migration_checks() {
	check "first migration with the installed programs (listener as its unit runs it)" \
		migrate_in_root
	check "the listener's system calls pass the unit's SystemCallFilter" filtered_syscalls
	check "the libkmig clients (shared, static) query the migrated guest's VMM" query_clients
}
