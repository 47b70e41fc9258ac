#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make install / make uninstall, and the DKMS sources they install:
#   - make install DESTDIR=... PREFIX=/usr lays out exactly the expected
#     files (every tracked file of kmod/ and every public header among
#     them), kmig-vmm as a symlink to the VMM beside its guest image, units
#     and dkms.conf filled in;
#   - libkmig.so exports exactly the functions of the public headers, all
#     versioned, and a program bound to the KMIG_0.1 versions runs with
#     the old struct kmig_vmmp_ops (vmmp_abi_0_1.c); kmig.pc says the
#     version and -lkmig;
#   - the installed kmig --version names the version and the revision;
#   - PREFIX=/usr/local moves the programs and the units follow;
#   - make uninstall leaves no file behind;
#   - dkms autoinstall, which a kernel's installation runs, builds and
#     installs kmig.ko from the installed sources for every kernel here
#     that has headers (private DKMS and module trees: the system's are
#     not touched; as a user other than root, dkms cannot sign the module,
#     and says so).
. "$(dirname "$0")/lib.sh"

V=$("$TOP/packaging/version.sh")
REV=$("$TOP/packaging/version.sh" --revision)
stage=$WORK/stage

# The expected files of PREFIX=/usr (symlinks as "path -> target").
expected() {
	cat <<-EOT
	lib/systemd/system/kmig-incoming@.service
	lib/systemd/system/kmig-monitor.service
	lib/udev/rules.d/60-kmig.rules
	usr/bin/kmig
	usr/bin/kmig-vmm -> ../libexec/kmig/kmig-vmm
	usr/bin/kmig-vmmctl
	usr/include/linux/kmig.h
	usr/libexec/kmig/kguest.elf
	usr/libexec/kmig/kmig-vmm
	usr/share/kmig/kmig-incoming.conf
	usr/share/kmig/modules-load.d/kmig.conf
	usr/share/man/man8/kmig.8
	usr/share/man/man8/kmig-vmm.8
	usr/share/man/man8/kmig-vmmctl.8
	usr/src/kmig-$V/dkms.conf
	usr/src/kmig-$V/uapi/linux/kmig.h
	usr/lib/sysusers.d/kmig.conf
	usr/lib/tmpfiles.d/kmig.conf
	usr/lib/libkmig.a
	usr/lib/libkmig.so -> libkmig.so.0
	usr/lib/libkmig.so.0 -> libkmig.so.$V
	usr/lib/libkmig.so.$V
	usr/lib/pkgconfig/kmig.pc
	EOT
	(cd "$TOP/user" && ls include/kmig/*.h) | sed 's,^,usr/,'
	if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
		git -C "$TOP" ls-files kmod
	else
		(cd "$TOP" && find kmod -type f \( -name Kbuild -o -name Makefile -o -name '*.[chS]' \
			-o -name '*.sh' \) ! -name '*.mod.c')
	fi | sed "s,^,usr/src/kmig-$V/,"
}

# The files under a root, symlinks with their target.
listing() {
	(cd "$1" && find . ! -type d | sed 's,^\./,,' | sort | while read -r f; do
		if [ -L "$f" ]; then echo "$f -> $(readlink "$f")"; else echo "$f"; fi
	done)
}

make_install() {
	make -s -C "$TOP" "$@" >"$WORK/make.log" 2>&1 || { cat "$WORK/make.log"; return 1; }
}

if make_install install DESTDIR="$stage" PREFIX=/usr; then
	ok "make install DESTDIR=... PREFIX=/usr"
else
	not_ok "make install DESTDIR=... PREFIX=/usr"
	summary
fi

expected | sort > "$WORK/expected"
listing "$stage" > "$WORK/got"
check "the installed files are exactly the expected ones" diff -u "$WORK/expected" "$WORK/got"
check "kmig --version names version $V and revision $REV" \
	same "kmig --version" "kmig $V (revision $REV)" "$("$stage/usr/bin/kmig" --version 2>&1)"
check "kmig-vmm (the symlink) runs the VMM" \
	bash -c "'$stage/usr/bin/kmig-vmm' --help | grep -q -- '--socket PATH'"
check "dkms.conf has PACKAGE_VERSION $V" \
	grep -qx "PACKAGE_VERSION=\"$V\"" "$stage/usr/src/kmig-$V/dkms.conf"
check "the units run /usr/bin/kmig" grep -q '^ExecStart=/usr/bin/kmig ' \
	"$stage/lib/systemd/system/kmig-incoming@.service" \
	"$stage/lib/systemd/system/kmig-monitor.service"
check "no @PLACEHOLDER@ left in an installed file" \
	bash -c "! grep -rlE '@[A-Z]+@|#MODULE_VERSION#' '$stage'"
check "the settings directory etc/kmig/incoming" test -d "$stage/etc/kmig/incoming"
check "the udev rule gives /dev/kmig root:kvm 0660" grep -q \
	'KERNEL=="kmig", OWNER="root", GROUP="kvm", MODE="0660"' "$stage/lib/udev/rules.d/60-kmig.rules"

# The functions the public headers declare, and those libkmig.so exports.
declared() { grep -hoE '\bkmig_[a-z0-9_]+\s*\(' "$TOP"/user/include/kmig/*.h | sed 's/\s*($//' | sort -u; }
exported() { nm -D --defined-only "$stage/usr/lib/libkmig.so.$V" | awk '$2 == "T" {print $3}' |
	sed 's/@.*//' | sort -u; }
check "libkmig.so exports exactly the public headers' functions" \
	diff -u <(declared) <(exported)
check "libkmig.so: soname libkmig.so.0, symbols versioned" bash -c "
	readelf -d '$stage/usr/lib/libkmig.so.$V' | grep -q 'Library soname: \[libkmig.so.0\]' &&
	! nm -D --defined-only '$stage/usr/lib/libkmig.so.$V' | awk '\$2 == \"T\"' | grep -v '@@\\?KMIG_'"
# struct kmig_vmmp_ops grew in KMIG_0.2: binaries linked against KMIG_0.1
# keep a version of the functions taking it that reads the old size.
check "libkmig.so: KMIG_0.1 and KMIG_0.2 versions of the functions taking struct kmig_vmmp_ops" bash -c "
	syms=\$(nm -D --defined-only '$stage/usr/lib/libkmig.so.$V') &&
	for f in kmig_vmmp_server_create kmig_vmmp_serve; do
		grep -q \" \$f@KMIG_0.1\$\" <<<\"\$syms\" && grep -q \" \$f@@KMIG_0.2\$\" <<<\"\$syms\" || exit 1
	done"
# And at run time: a program bound to the KMIG_0.1 versions (.symver) with
# the old struct, built against the installed headers and libkmig.so, serves
# a client over a socketpair: the old members are read, the ones past them
# never (vmmp_abi_0_1.c; the default versions, the control, read both).
check "libkmig.so: a VMM built against KMIG_0.1 works, nothing past its struct is read" bash -c "
	${CC:-cc} -std=gnu11 -Wall -Wextra -Wno-unused-parameter -Werror \
		-I'$stage/usr/include' -o '$WORK/vmmp_abi_0_1' '$TOP/packaging/tests/vmmp_abi_0_1.c' \
		-L'$stage/usr/lib' -lkmig -pthread || exit 1
	syms=\$(nm -D '$WORK/vmmp_abi_0_1')
	for f in kmig_vmmp_server_create kmig_vmmp_serve; do
		grep -q \" \$f@KMIG_0.1\$\" <<<\"\$syms\" && grep -q \" \$f@KMIG_0.2\$\" <<<\"\$syms\" ||
			{ echo \"the program is not bound to \$f@KMIG_0.1 and @KMIG_0.2\"; exit 1; }
	done
	LD_LIBRARY_PATH='$stage/usr/lib' '$WORK/vmmp_abi_0_1' >'$WORK/vmmp_abi_0_1.out' 2>&1
	rc=\$?
	grep -v '^ok - ' '$WORK/vmmp_abi_0_1.out'	# the failed checks
	exit \$rc"
check "kmig.pc: version $V, -lkmig, headers in /usr/include" bash -c "
	export PKG_CONFIG_PATH='$stage/usr/lib/pkgconfig'
	test \"\$(pkg-config --modversion kmig)\" = '$V' &&
	test \"\$(echo \$(pkg-config --libs kmig))\" = -lkmig &&
	test \"\$(pkg-config --variable=includedir kmig)\" = /usr/include"

if make_install uninstall DESTDIR="$stage" PREFIX=/usr; then
	check "make uninstall leaves no file" test -z "$(listing "$stage")"
else
	not_ok "make uninstall"
fi

local_stage=$WORK/local
if make_install install DESTDIR="$local_stage" PREFIX=/usr/local; then
	check "PREFIX=/usr/local: programs in /usr/local/bin, units run them" bash -c "
		test -x '$local_stage/usr/local/bin/kmig' &&
		test -f '$local_stage/usr/local/libexec/kmig/kguest.elf' &&
		grep -q '^ExecStart=/usr/local/bin/kmig ' '$local_stage/lib/systemd/system/kmig-monitor.service'"
else
	not_ok "make install PREFIX=/usr/local"
fi

# DKMS: the installed sources build for every kernel with headers, the
# way a kernel's installation has them built: its postinst hook
# (/etc/kernel/postinst.d/dkms) runs dkms autoinstall for the new kernel,
# which builds and installs every added module whose dkms.conf says
# AUTOINSTALL. Private DKMS, source and module trees, no depmod: the
# machine's DKMS state and /lib/modules are not touched.
make_install install DESTDIR="$stage" PREFIX=/usr
kernels=$(for b in /lib/modules/*/build; do [ -d "$b/" ] && basename "$(dirname "$b")"; done)
tree=$WORK/dkms
inst=$WORK/modules
dkms_opts=(--sourcetree "$stage/usr/src" --dkmstree "$tree" --installtree "$inst")
if ! command -v dkms >/dev/null; then
	not_ok "dkms is not installed (make deps)"
elif [ -z "$kernels" ]; then
	skip "no kernel with headers in /lib/modules"
elif ! { mkdir -p "$tree" && dkms add -m kmig -v "$V" "${dkms_opts[@]}" >"$WORK/dkms-add.log" 2>&1; }; then
	not_ok "dkms add kmig/$V"
	sed 's/^/#   /' "$WORK/dkms-add.log"
else
	for k in $kernels; do
		# kmig.ko, or kmig.ko.xz where the kernel compresses its modules (6.12)
		ko() { ls "$inst/$k/updates/dkms"/kmig.ko* 2>/dev/null | head -n 1; }
		mkdir -p "$inst/$k"
		if timeout 600 dkms autoinstall -k "$k" "${dkms_opts[@]}" --no-depmod \
			>"$WORK/dkms-$k.log" 2>&1 && [ -n "$(ko)" ] &&
		   [ "$(modinfo -F vermagic "$(ko)" | cut -d' ' -f1)" = "$k" ] &&
		   dkms status -m kmig -k "$k" "${dkms_opts[@]}" 2>/dev/null | grep -q ": installed$"; then
			ok "dkms autoinstall (a kernel's installation): kmig.ko built and installed for $k"
		else
			not_ok "dkms autoinstall: kmig.ko for $k (built and installed only if dkms.conf sets AUTOINSTALL)"
			tail -n 30 "$WORK/dkms-$k.log" "$tree/kmig/$V/build/make.log" 2>/dev/null |
				sed 's/^/#   /'
		fi
	done
fi
summary
