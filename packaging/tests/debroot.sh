#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages in a fresh Debian 12 root:
#   - apt-get installs kmig, kmig-dkms, libkmig0 and libkmig-dev
#     (build-deb/, from make deb) with their dependencies from the
#     machine's Debian mirror;
#   - kmig --version, man kmig / kmig-vmm / kmig-vmmctl work; pkg-config
#     --cflags --libs kmig says -lkmig, and a VMM-protocol client
#     (vmmp_query.c) builds with it against libkmig.so and libkmig.a and
#     runs (with /dev/kvm: it queries the migrated guest's VMM); dkms knows
#     kmig; group kvm and /run/kmig exist (sysusers.d, tmpfiles.d);
#     systemd-analyze verify accepts the units;
#   - with /dev/kvm: the README's first migration, with the installed
#     programs: a guest in kmig-vmm, a destination kmig-vmm --incoming,
#     the listener's command exactly as kmig-incoming@.service runs it (with
#     the example settings, without capabilities, no new privileges), kmig
#     migrate, then every page checked; strace shows the listener only
#     makes system calls that the unit's SystemCallFilter=@system-service
#     allows;
#   - apt-get purge leaves nothing of kmig behind.
#
# The root: debootstrap (minbase, plus the test's tools: systemd, man-db,
# pkg-config, strace) made once per machine into the cache directory
# $KMIG_CACHE_DIR (default ~/.cache/kmig), keyed by suite, mirror and
# package list; each run works in an overlay on top of it, so the cached
# root is never changed. Downloaded packages are cached there too.
# Needs root (debootstrap, mounts, chroot): run through sudo when that
# needs no password, skipped otherwise.
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
	exec sudo -n KMIG_CACHE_DIR="${KMIG_CACHE_DIR:-}" DEB_OUT="${DEB_OUT:-}" \
		KMIG_DEBIAN_MIRROR="${KMIG_DEBIAN_MIRROR:-}" "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

V=$("$TOP/packaging/version.sh")
REV=$("$TOP/packaging/version.sh" --revision)
DEBS=${DEB_OUT:-$TOP/build-deb}
SUITE=bookworm
ARCH=$(dpkg --print-architecture)
INCLUDE=systemd,man-db,pkg-config,strace
CACHE=${KMIG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kmig}

[ "$(id -u)" = 0 ] || { skip "a Debian root needs root (debootstrap, chroot)"; summary; }
for t in debootstrap flock; do
	command -v $t >/dev/null || { not_ok "$t is not installed (make deps)"; summary; }
done
debs=("$DEBS"/kmig_"$V"_*.deb "$DEBS"/kmig-dkms_"$V"_all.deb "$DEBS"/libkmig0_"$V"_*.deb
	"$DEBS"/libkmig-dev_"$V"_*.deb)
for d in "${debs[@]}"; do
	[ -f "$d" ] || { not_ok "$d missing (make deb)"; summary; }
done

# The machine's Debian archives ("URI suite" lines), e.g. the main suite,
# -updates and -security: the root gets the same.
mirrors=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(LABEL)' \
	'Created-By: Packages' 2>/dev/null | awk '$3 ~ /^Debian/ {print $1, $2}' | sort -u)
mirror=${KMIG_DEBIAN_MIRROR:-$(awk -v s=$SUITE '$2 == s {print $1; exit}' <<<"$mirrors")}
[ -n "$mirror" ] || { not_ok "no apt source for Debian $SUITE on this machine"; summary; }

key=$(printf '1 %s %s %s %s\n' "$SUITE" "$ARCH" "$INCLUDE" "$mirror" | sha256sum | cut -c1-12)
base=$CACHE/debroot-$SUITE-$ARCH-$key
archives=$CACHE/apt-archives
mkdir -p "$CACHE" "$archives/partial"

# The base root, made once: under a lock (concurrent runs wait), into a
# temporary name, renamed when complete.
make_base() {
	local tmp=$base.tmp.$$ start=$SECONDS
	echo "# debootstrap $SUITE from $mirror into $base (once per machine)"
	rm -rf "$tmp"
	if ! timeout 1800 debootstrap --variant=minbase --include=$INCLUDE --arch="$ARCH" \
		--cache-dir="$archives" "$SUITE" "$tmp" "$mirror" >"$CACHE/debootstrap.log" 2>&1; then
		tail -n 20 "$CACHE/debootstrap.log" | sed 's/^/#   /'
		rm -rf "$tmp"
		return 1
	fi
	awk '{print "deb", $1, $2, "main"}' <<<"$mirrors" > "$tmp/etc/apt/sources.list"
	mv "$tmp" "$base"
	echo "# debootstrap took $((SECONDS - start)) s"
}
exec 9>"$CACHE/debroot.lock"
flock 9
if [ ! -d "$base" ] && ! make_base; then
	not_ok "debootstrap $SUITE (log: $CACHE/debootstrap.log)"
	summary
fi
flock -u 9
ok "Debian $SUITE root: $base"

# ---- an overlay on the base, with proc, /dev/kvm and the package cache ----
root=$WORK/root
mkdir -p "$root" "$WORK/upper" "$WORK/ovl"
mount -t overlay overlay -o "lowerdir=$base,upperdir=$WORK/upper,workdir=$WORK/ovl" "$root" ||
	{ not_ok "mount an overlay on the root"; summary; }
on_exit "umount -R '$root' 2>/dev/null || umount -lR '$root'"
mount -t proc proc "$root/proc"
mount --bind "$archives" "$root/var/cache/apt/archives"
cp /etc/resolv.conf "$root/etc/resolv.conf"
kvm=0
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	touch "$root/dev/kvm" && mount --bind /dev/kvm "$root/dev/kvm" && kvm=1
fi
mkdir -p "$root/tmp/debs"
cp "${debs[@]}" "$root/tmp/debs/"
# Processes still running in the root (their / is it) are killed before
# it is unmounted.
kill_in_root() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -9 "${p#/proc/}" 2>/dev/null
	done
	true
}
on_exit kill_in_root
in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

apt_run() {
	in_root env DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -y \
		-o Dpkg::Use-Pty=0 "$@" >>"$WORK/apt.log" 2>&1
}
if apt_run update && apt_run install --no-install-recommends \
	$(for d in "${debs[@]}"; do echo "/tmp/debs/$(basename "$d")"; done); then
	ok "apt-get install kmig kmig-dkms libkmig0 libkmig-dev into the fresh root"
else
	not_ok "apt-get install kmig kmig-dkms libkmig0 libkmig-dev"
	tail -n 30 "$WORK/apt.log" | sed 's/^/#   /'
	summary
fi

check "kmig --version: kmig $V (revision $REV)" \
	same "kmig --version" "kmig $V (revision $REV)" "$(in_root kmig --version 2>&1)"
for page in kmig kmig-vmm kmig-vmmctl; do
	check "man $page" bash -c "chroot '$root' env MANPAGER=cat MANWIDTH=80 man $page 2>&1 |
		grep -q '^NAME'"
done
check "pkg-config --cflags --libs kmig: -lkmig" \
	same pkg-config -lkmig "$(echo $(in_root pkg-config --cflags --libs kmig 2>&1))"
# A VMM-protocol client built as a libkmig-dev user would, with the compiler
# such a user has (gcc, libc6-dev: test tools, not dependencies).
build_client() {
	apt_run install --no-install-recommends gcc libc6-dev || { tail -n 20 "$WORK/apt.log"; return 1; }
	cp "$TOP/packaging/tests/vmmp_query.c" "$root/tmp/"
	in_root sh -ec 'cd /tmp
		gcc -Wall -Werror -o q-shared vmmp_query.c $(pkg-config --cflags --libs kmig)
		gcc -Wall -Werror -o q-static vmmp_query.c $(pkg-config --cflags kmig) -l:libkmig.a \
			$(pkg-config --static --libs kmig | sed "s/-lkmig//")
		ldd q-shared | grep -q "libkmig.so.0 => /"
		! ldd q-static | grep -q libkmig'
}
check "a client of <kmig/vmm_proto_client.h> links with libkmig.so and libkmig.a" build_client
check "dkms status: kmig/$V added" bash -c "chroot '$root' dkms status kmig | grep -q '^kmig/$V'"
check "group kvm (sysusers.d), /run/kmig root:kvm 1770 (tmpfiles.d)" \
	same /run/kmig "root:kvm 1770" "$(in_root stat -c '%U:%G %a' /run/kmig 2>&1)"
cp "$root/lib/systemd/system/kmig-incoming@.service" "$root/tmp/kmig-incoming@vm1.service"
check "systemd-analyze verify: the units" in_root systemd-analyze verify \
	/lib/systemd/system/kmig-monitor.service /tmp/kmig-incoming@vm1.service

. "$(dirname "$0")/debroot-migrate.sh"

lab=$TOP/selftests/vmtest/lab.sh
if [ "$kvm" = 1 ]; then
	migration_checks
elif [ -x "$lab" ]; then
	# No /dev/kvm here: the same checks in the lab (its /dev/kvm), on this
	# root, which the lab mounts writable at the same path.
	echo "# no usable /dev/kvm on this machine: the first migration runs in the lab"
	touch "$root/dev/kvm"
	"$lab" --mem "${KMIG_PKG_LAB_MEM:-1536}" --timeout "${KMIG_DEBROOT_LAB_TIMEOUT:-1200}" \
		--out "$root" -- "$TOP/packaging/tests/debroot-lab.sh" "$root" \
		>"$WORK/lab.log" 2>"$WORK/lab.err" && rc=0 || rc=$?
	sed -n 's/^\(ok\|not ok\) - /&(lab) /p; /^#/p' "$WORK/lab.log"
	PASS=$((PASS + $(grep -c '^ok - ' "$WORK/lab.log")))
	FAIL=$((FAIL + $(grep -c '^not ok - ' "$WORK/lab.log")))
	if [ "$rc" != 0 ] || ! grep -q '^debroot-lab: [0-9]* passed, 0 failed' "$WORK/lab.log"; then
		not_ok "the lab's run of the first migration (exit $rc)"
		tail -n 20 "$WORK/lab.err" "$WORK/lab.log" | sed 's/^/#   /'
	fi
else
	skip "the first migration: no usable /dev/kvm and no lab (selftests/vmtest/lab.sh)"
	check "the libkmig clients (shared, static) run: no VMM, a clear error" bash -c "
		for q in q-shared q-static; do
			! chroot '$root' /tmp/\$q /run/kmig/none.sock 2>&1 |
				grep -v 'connect /run/kmig/none.sock: No such file or directory' | grep -q .
		done"
fi

leftovers() {
	local p
	for p in /usr/bin/kmig /usr/bin/kmig-vmm /usr/bin/kmig-vmmctl /usr/libexec/kmig \
		/usr/share/kmig /usr/src/kmig-"$V" /var/lib/dkms/kmig /lib/udev/rules.d/60-kmig.rules \
		/lib/systemd/system/kmig-monitor.service /usr/include/linux/kmig.h \
		/etc/systemd/system/dev-kmig.device.wants/kmig-monitor.service /usr/include/kmig \
		/usr/lib/"$(dpkg-architecture -qDEB_HOST_MULTIARCH)"/libkmig.so.0; do
		[ -e "$root$p" ] || [ -L "$root$p" ] && echo "# left: $p"
	done
	true
}
if apt_run purge kmig kmig-dkms libkmig0 libkmig-dev; then
	check "apt-get purge leaves nothing of kmig" test -z "$(leftovers)"
else
	not_ok "apt-get purge kmig kmig-dkms libkmig0 libkmig-dev"
	tail -n 20 "$WORK/apt.log" | sed 's/^/#   /'
fi
summary
