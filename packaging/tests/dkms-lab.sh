#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The packages on the VM test host, in the lab (selftests/vmtest/lab.sh:
# Debian's 6.1 under QEMU's TCG with this machine's own userland):
#   - dpkg -i kmig-dkms: its postinst has DKMS build kmig.ko for the booted
#     kernel and install it; dkms status says installed;
#   - with this machine's systemd-udevd running, modprobe kmig loads that
#     module (modinfo: updates/dkms) and /dev/kmig gets the udev rule's
#     root:kvm 0660: a member of kvm opens it, another user cannot;
#   - kmig monitor as kmig-monitor.service runs it (installed by the kmig
#     package; a user of its own with CAP_NET_ADMIN only, no new
#     privileges) gets the event of a session closing, makes only system
#     calls of @system-service and opens only netlink and unix sockets; as
#     the same user without CAP_NET_ADMIN it fails.
#
# The lab boots with the build tree's kmig.ko loaded: it is unloaded first.
# There, DKMS sees only the booted kernel's headers (the other kernels'
# build links are removed in the lab's throw-away overlay): a build under
# TCG takes minutes, and install.sh builds for every kernel, natively.
# Output: ok/not ok lines and a summary from inside the lab.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
top=$(cd "$here/../.." && pwd -P)

if [ "${KMIG_IN_LAB:-}" != 1 ]; then
	lab=$top/selftests/vmtest/lab.sh
	if [ ! -x "$lab" ]; then
		echo "ok - # SKIP no lab (selftests/vmtest/lab.sh)"
		echo "dkms-lab: 0 passed, 0 failed, 1 skipped"
		exit 4
	fi
	exec "$lab" --mem "${KMIG_PKG_LAB_MEM:-1536}" --timeout "${KMIG_PKG_LAB_TIMEOUT:-1800}" \
		-- "$here/dkms-lab.sh"
fi

. "$here/lib.sh"
V=$("$TOP/packaging/version.sh")
DEBS=${DEB_OUT:-$TOP/build-deb}
K=$(uname -r)

# bash's <(...), which dkms uses, needs /dev/fd.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
if grep -q '^kmig ' /proc/modules && ! rmmod kmig; then
	not_ok "unload the build tree's kmig.ko"
	summary
fi
for b in /lib/modules/*/build; do
	[ "$b" = "/lib/modules/$K/build" ] || rm -f "$b"
done

start=$SECONDS
if timeout 1500 dpkg -i "$DEBS"/kmig_"$V"_*.deb "$DEBS/kmig-dkms_${V}_all.deb" \
	>"$WORK/dpkg.log" 2>&1; then
	ok "dpkg -i kmig kmig-dkms: DKMS built kmig.ko for $K ($((SECONDS - start)) s under TCG)"
else
	not_ok "dpkg -i kmig kmig-dkms"
	tail -n 30 "$WORK/dpkg.log" /var/lib/dkms/kmig/"$V"/build/make.log 2>/dev/null |
		sed 's/^/#   /'
	summary
fi
check "dkms status: kmig/$V installed for $K" \
	bash -c "dkms status kmig -k '$K' | grep -q '^kmig/$V, $K, .*: installed'"

/lib/systemd/systemd-udevd --daemon >"$WORK/udevd.log" 2>&1 &&
	on_exit "udevadm control --exit 2>/dev/null"
check "modprobe kmig loads the DKMS module" bash -c "
	modprobe kmig && udevadm settle --timeout=30 &&
	test \"\$(modinfo -n kmig)\" = /lib/modules/$K/updates/dkms/kmig.ko &&
	grep -q '^kmig ' /proc/modules"
check "/dev/kmig is root:kvm 0660 (the udev rule)" \
	same /dev/kmig "root:kvm 660" "$(stat -c '%U:%G %a' /dev/kmig 2>&1)"
nobody=$(id -u nobody)
kvm=$(getent group kvm | cut -d: -f3)
check "a member of kvm opens /dev/kmig" setpriv --reuid="$nobody" --regid="$kvm" \
	--clear-groups -- bash -c 'exec 3<>/dev/kmig'
check "a user outside kvm cannot" bash -c "! setpriv --reuid=$nobody --regid=$nobody \
	--clear-groups -- bash -c 'exec 3<>/dev/kmig' 2>/dev/null"

# kmig monitor with what kmig-monitor.service gives it: another user,
# CAP_NET_ADMIN only, no new privileges; its command line from the unit.
unit=/lib/systemd/system/kmig-monitor.service
read -r -a cmd <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
as_monitor() {
	setpriv --reuid="$nobody" --regid="$nobody" --clear-groups --no-new-privs \
		--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin \
		--bounding-set=-all,+net_admin -- "$@"
}
# Its files: in a directory that user may write.
mkdir -p "$WORK/mon" && chmod 711 "$WORK" && chmod 1777 "$WORK/mon"
monitor_event() {
	as_monitor timeout 60 strace -f -qq -o "$WORK/mon/monitor.strace" \
		"${cmd[@]}" --count 1 --timeout 50 >"$WORK/monitor.out" 2>"$WORK/monitor.err" &
	local pid=$! i
	for ((i = 0; i < 300; i++)); do
		grep -q 'listening' "$WORK/monitor.err" && break
		sleep 0.1
	done
	# A session that opens and closes: the module reports it closed.
	bash -c 'exec 3<>/dev/kmig'
	wait "$pid" || { cat "$WORK/monitor.err"; return 1; }
	grep -q '^session [0-9]* closed' "$WORK/monitor.out" || { cat "$WORK/monitor.out"; return 1; }
}
check "kmig monitor (CAP_NET_ADMIN only, another user) logs a session closing" monitor_event
monitor_syscalls() {
	local r
	allowed_syscalls @system-service | sort -u > "$WORK/allowed"
	r=$(refused_syscalls "$WORK/mon/monitor.strace" "$WORK/allowed") || { echo "$r"; return 1; }
	[ -z "$r" ] || { echo "refused:" $r; return 1; }
}
monitor_families() {
	local f
	f=$(grep -oE ' socket\(AF_[A-Z0-9]+' "$WORK/mon/monitor.strace" | sed 's/.*(//' | sort -u)
	[ -n "$f" ] && ! grep -qvE '^AF_(NETLINK|UNIX)$' <<<"$f" || { echo "families:" $f; return 1; }
}
monitor_without_cap() {
	! setpriv --reuid="$nobody" --regid="$nobody" --clear-groups --no-new-privs \
		--bounding-set=-all -- timeout 30 "${cmd[@]}" --timeout 5 >/dev/null 2>&1
}
check "kmig monitor's system calls pass SystemCallFilter=@system-service" monitor_syscalls
check "kmig monitor opens only netlink and unix sockets (RestrictAddressFamilies)" monitor_families
check "without CAP_NET_ADMIN kmig monitor fails" monitor_without_cap
summary
