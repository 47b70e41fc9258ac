# kmig top-level Makefile.
#
#   make            build kmod/kmig.ko (against Debian's 6.1 headers), the
#                   userspace helper, the reference VMM and the selftests
#                   (never installs packages; deps, check, demo, bench do)
#   make deps       install every Debian package the build and tests need
#   make check      all tests: userspace tests here, module tests on the
#                   VM test host under Debian's 6.12 and the debug 6.1
#                   kernel (if cached on this machine, else Debian's 6.1;
#                   CHECK_DEBUG, Documentation/testing.rst), installation
#                   and packages (make check-pkg); where this machine has
#                   no usable /dev/kvm, the tests that need KVM run in the
#                   lab
#   make bench      benchmarks, printed as tables with ratios
#   make bench-peer kmig against QEMU 10, same guest, both on KVM (the lab)
#   make demo       the main job: a live migration of a real KVM guest,
#                   in the lab with kmig.ko where this machine has no
#                   usable /dev/kvm or /dev/kmig
#   make lab        a shell in the lab (selftests/vmtest/lab.sh: the VM
#                   test host with this machine's userland, /dev/kvm and
#                   /dev/kmig; KMIG_LAB=1 sends everything above there)
#   make vmtest[-6.12|-debug]  module tests on Debian's 6.1 (the kernel of
#                   the benchmarks and the lab), 6.12, or the debug 6.1
#   make kernel-debug  build the debug 6.1 kernel (cached per machine)
#   make install    kmig, kmig-vmm, kmig-vmmctl, man pages, the uapi header,
#                   the module sources for DKMS, the udev rule, the systemd
#                   units, tmpfiles.d and sysusers.d entries (DESTDIR,
#                   PREFIX: packaging/dirs.mk); make uninstall
#   make dist       the source tarball build-dist/kmig-VERSION.tar.xz
#   make deb        Debian packages kmig, kmig-dkms, libkmig0, libkmig-dev
#                   in build-deb/
#
# Settings (override on the command line):
#   KVER   the 6.1 kernel to build the module for and boot in the VM test
#          host; default: the newest installed 6.1 kernel with headers
#   KDIR   its build directory
#   CHECK_DEBUG  auto (default), yes (build the debug kernel if needed), no
#   V=1    verbose build output
#   KMIG_LAB=1 (environment) what needs KVM runs in the lab even where
#          /dev/kvm works; KMIG_LAB=0 never in the lab

# (Empty when inherited empty: a sub-make run after `make deps` installed
# the headers must find them, though the parent exported KVER unset.)
KVER := $(or $(strip $(KVER)),$(shell $(CURDIR)/scripts/kver.sh 6.1))
KDIR := $(or $(filter-out /usr/src/linux-headers-,$(strip $(KDIR))),/usr/src/linux-headers-$(KVER))
V ?= 0

export KVER KDIR V

# Debian's 6.12 (bookworm-security), the second kernel the module is built
# and tested for; its build directory.
KVER_612 ?= $(shell $(CURDIR)/scripts/kver.sh 6.12)

# Debian packages needed to build, test, benchmark and demo everything
# (flex, bison, bc, libelf-dev: the debug kernel; libssl-dev: it and TLS on
# the channels; openssl: the TLS tests make their keys and certificates).
DEB_PACKAGES := build-essential clang libclang-rt-14-dev llvm pkg-config \
	zlib1g-dev libzstd-dev liblz4-dev libmnl-dev libisal-dev \
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 \
	linux-image-6.12-amd64 linux-headers-6.12-amd64 \
	flex bison bc libelf-dev libssl-dev openssl \
	busybox-static cpio kmod xz-utils \
	iproute2 util-linux procps python3 \
	debhelper dh-dkms dkms dpkg-dev fakeroot lintian debootstrap man-db \
	strace udev

# Packages newer than Debian 12 has, as PACKAGE,MIN_VERSION, installed from its
# backports suite (scripts/apt-backports.sh adds it, pinned): QEMU 10 for
# make bench-peer. The VM test host and the lab run with any QEMU: where
# the suite cannot be reached, make deps installs Debian 12's (7.2) and
# says so, and only make bench-peer insists on the version.
BACKPORT_PACKAGES := qemu-system-x86,1:10

# Shell: the packages of BACKPORT_PACKAGES missing (MIN=0) or older than
# their version (MIN=1), on stdout.
backports_missing = for pv in $(BACKPORT_PACKAGES); do \
		p=$${pv%%,*}; v=$$(dpkg-query -W -f='$${Status} $${Version}' $$p 2>/dev/null | \
			sed -n 's/^install ok installed //p'); \
		[ -n "$$v" ] && { [ $(1) = 0 ] || dpkg --compare-versions "$$v" ge "$${pv\#*,}"; } || \
			echo $$p; \
	done

ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

.PHONY: all kmod user selftests deps deps-check check check-user vmtest \
	bench bench-user bench-vm bench-peer demo lab clean help \
	kmod-6.12 kmod-debug kernel-debug vmtest-6.12 vmtest-debug check-debug \
	install uninstall dist deb check-pkg

all: kmod user selftests

help:
	@sed -n '2,/^$$/p' Makefile | sed '/^$$/d; s/^# \{0,1\}//'

# Install missing packages; apt-get update first, non-interactively.
deps:
	$(Q)missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS   installing:$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends $$missing; \
	else echo "  DEPS   all installed"; fi
	$(Q)missing=$$($(call backports_missing,1)); \
	[ -n "$$missing" ] || exit 0; \
	sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	if suite=$$(scripts/apt-backports.sh); then \
		echo "  DEPS   installing from $$suite:" $$missing; \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			-o DPkg::Lock::Timeout=600 --no-install-recommends \
			-t $$suite $$missing; \
	else \
		echo "  DEPS   no backports suite:" $$missing "stay at Debian 12's version;" \
			"the tests run with it, make bench-peer needs $(BACKPORT_PACKAGES)" >&2; \
		missing=$$($(call backports_missing,0)); \
		[ -z "$$missing" ] || $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install \
			-y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing; \
	fi

# Re-resolve KVER after deps may have installed the headers.
kmod:
	$(Q)test -n "$(KVER)" -a -d "$(KDIR)" || { \
		echo "kmod: no 6.1 kernel headers found (KDIR=$(KDIR)); run 'make deps'" >&2; exit 1; }
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules $(if $(filter 1,$(V)),V=1)

# kmig.ko for another kernel: $(call kmod_for,KDIR,RELEASE) builds it in
# kmod/build/RELEASE/ (external modules get no output directory of their
# own before 6.13: that directory links to the sources).
KMOD_SRCS = $(filter-out %.mod.c,$(wildcard $(CURDIR)/kmod/*.c $(CURDIR)/kmod/*.h)) \
	$(CURDIR)/kmod/Kbuild
define kmod_for
	$(Q)test -d "$(1)" || { echo "kmod: no kernel build tree $(1) (make deps)" >&2; exit 1; }
	$(Q)mkdir -p kmod/build/$(2) && ln -sf $(KMOD_SRCS) kmod/build/$(2)/
	$(Q)$(MAKE) -C $(1) M=$(CURDIR)/kmod/build/$(2) modules $(if $(filter 1,$(V)),V=1)
endef

kmod-6.12:
	$(call kmod_for,/usr/src/linux-headers-$(KVER_612),$(KVER_612))

# The debug kernel (selftests/vmtest/kernel-debug.sh): built once per
# machine, cached outside the clone.
KDEBUG = selftests/vmtest/kernel-debug.sh
kernel-debug:
	$(Q)$(KDEBUG) build >/dev/null

kmod-debug: kernel-debug
	$(call kmod_for,$(shell $(KDEBUG) dir)/src,$(shell cat $$($(KDEBUG) dir)/release))

user:
	$(Q)$(MAKE) -C user

selftests:
	$(Q)$(MAKE) -C selftests/kmig

# Cheap check used by the README's commands (check, demo) and the
# benchmarks: install packages only if any is missing, so a fresh machine
# needs nothing but those commands. A plain `make` never installs anything.
deps-check:
	$(Q)for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || { $(MAKE) deps; exit; }; \
	done; \
	[ -z "$$($(call backports_missing,0))" ] || $(MAKE) deps

# The module tests of make check: under Debian's 6.12, and under the debug
# 6.1 kernel when this machine has it cached (CHECK_DEBUG=auto), built
# first if needed (yes), or Debian's plain 6.1 instead (no). Building the
# debug kernel takes longer than CI allows next to the other tests on a
# fresh machine (Documentation/testing.rst has the figures): auto falls
# back to the plain 6.1 there and says how to get the debug kernel.
CHECK_DEBUG ?= auto

check: deps-check
	$(Q)$(MAKE) all
	$(Q)$(MAKE) check-user
	$(Q)$(MAKE) vmtest-6.12
	$(Q)$(MAKE) check-debug
	$(Q)$(MAKE) check-pkg

check-debug:
	$(Q)case "$(CHECK_DEBUG)" in \
	yes) $(MAKE) vmtest-debug ;; \
	no) $(MAKE) vmtest ;; \
	auto) if $(KDEBUG) dir >/dev/null; then $(MAKE) vmtest-debug; else \
		echo "  CHECK  the debug kernel is not built on this machine: module tests under Debian's 6.1;"; \
		echo "         'make kernel-debug' builds it once (cached), or make check CHECK_DEBUG=yes"; \
		$(MAKE) vmtest; fi ;; \
	*) echo "CHECK_DEBUG=$(CHECK_DEBUG): auto, yes or no" >&2; exit 2 ;; \
	esac

# kmod too: without /dev/kvm here the tests that need KVM run in the lab.
check-user: deps-check
	$(Q)$(MAKE) kmod user
	$(Q)$(MAKE) -C user check

vmtest: deps-check kmod selftests
	$(Q)selftests/vmtest/run.sh --kernel 6.1

vmtest-6.12: deps-check kmod-6.12 selftests
	$(Q)KVER_612=$(KVER_612) selftests/vmtest/run.sh --kernel 6.12

vmtest-debug: deps-check kmod-debug selftests
	$(Q)selftests/vmtest/run.sh --kernel 6.1-debug

bench: deps-check
	$(Q)$(MAKE) all
	$(Q)$(MAKE) bench-user
	$(Q)$(MAKE) bench-vm

# kmod too: without /dev/kvm here they run in the lab, which loads kmig.ko
# (a second make: deps-check may have just installed the headers).
bench-user: deps-check
	$(Q)$(MAKE) kmod user
	$(Q)$(MAKE) -C user bench

# QEMU 10 too (deps-check accepts any QEMU): from bookworm-backports.
bench-peer: deps-check
	$(Q)[ -z "$$($(call backports_missing,1))" ] || $(MAKE) deps
	$(Q)missing=$$($(call backports_missing,1)); [ -z "$$missing" ] || { \
		echo "bench-peer: needs $(BACKPORT_PACKAGES) (PACKAGE,VERSION), older here:" \
			"$$missing (scripts/apt-backports.sh)" >&2; exit 1; }
	$(Q)$(MAKE) kmod user
	$(Q)$(MAKE) -C user bench-peer

bench-vm: deps-check kmod selftests
	$(Q)selftests/vmtest/run.sh --bench

demo: deps-check
	$(Q)$(MAKE) kmod user
	$(Q)$(MAKE) -C user demo

lab: deps-check
	$(Q)$(MAKE) kmod user
	$(Q)selftests/vmtest/lab.sh --shell

# ---- installing (packaging/: the DKMS, udev, systemd and modules-load files)
include packaging/dirs.mk
VERSION := $(shell packaging/version.sh)
DKMS_SRC = $(dkmsdir)/kmig-$(VERSION)
# The module's sources (sub-folders too), not kbuild's generated kmig.mod.c
# nor build folders.
KMOD_FILES := $(shell cd kmod && find . \( -name 'build*' -o -name '.?*' \) -prune -o \
	-type f \( -name Kbuild -o -name Makefile -o -name '*.[chS]' -o -name '*.sh' \) \
	! -name '*.mod.c' -print | sed 's,^\./,,' | sort)
MAN8 := $(wildcard Documentation/man/*.8)
UNITS := kmig-incoming@.service kmig-monitor.service
SUBST = sed -e 's|@BINDIR@|$(bindir)|g' -e 's|@SYSCONFDIR@|$(sysconfdir)|g' \
	-e 's|@PKGDATADIR@|$(pkgdatadir)|g' -e 's|\#MODULE_VERSION\#|$(VERSION)|g'

# No deps-check here: package builds (dpkg-buildpackage) install nothing.
install:
	$(Q)$(MAKE) -C user install
	@$(if $(Q),echo "  INSTALL man pages; uapi header; DKMS sources; udev rule; systemd units")
	$(Q)$(INSTALL) -d $(DESTDIR)$(man8dir) $(DESTDIR)$(includedir)/linux \
		$(DESTDIR)$(DKMS_SRC)/kmod $(DESTDIR)$(DKMS_SRC)/uapi/linux \
		$(DESTDIR)$(udevrulesdir) $(DESTDIR)$(systemdunitdir) \
		$(DESTDIR)$(pkgdatadir)/modules-load.d
	$(Q)$(INSTALL) -m 644 $(MAN8) $(DESTDIR)$(man8dir)/
	$(Q)$(INSTALL) -m 644 uapi/linux/kmig.h $(DESTDIR)$(includedir)/linux/
	$(Q)for f in $(KMOD_FILES); do \
		$(INSTALL) -D -m 644 kmod/$$f $(DESTDIR)$(DKMS_SRC)/kmod/$$f || exit; done
	$(Q)$(INSTALL) -m 644 uapi/linux/kmig.h $(DESTDIR)$(DKMS_SRC)/uapi/linux/
	$(Q)$(SUBST) packaging/dkms/dkms.conf > $(DESTDIR)$(DKMS_SRC)/dkms.conf
	$(Q)$(INSTALL) -m 644 packaging/udev/60-kmig.rules $(DESTDIR)$(udevrulesdir)/
	$(Q)for u in $(UNITS); do \
		$(SUBST) packaging/systemd/$$u.in > $(DESTDIR)$(systemdunitdir)/$$u || exit; done
	$(Q)$(SUBST) packaging/modules-load/kmig.conf.in \
		> $(DESTDIR)$(pkgdatadir)/modules-load.d/kmig.conf
	$(Q)$(INSTALL) -m 644 packaging/systemd/kmig-incoming.conf $(DESTDIR)$(pkgdatadir)/
	$(Q)$(INSTALL) -D -m 644 packaging/tmpfiles/kmig.conf $(DESTDIR)$(tmpfilesdir)/kmig.conf
	$(Q)$(INSTALL) -D -m 644 packaging/sysusers/kmig.conf $(DESTDIR)$(sysusersdir)/kmig.conf
	$(Q)$(INSTALL) -d $(DESTDIR)$(sysconfdir)/kmig/incoming

uninstall:
	$(Q)$(MAKE) -C user uninstall
	$(Q)rm -f $(addprefix $(DESTDIR)$(man8dir)/,$(notdir $(MAN8))) \
		$(DESTDIR)$(includedir)/linux/kmig.h \
		$(DESTDIR)$(udevrulesdir)/60-kmig.rules \
		$(addprefix $(DESTDIR)$(systemdunitdir)/,$(UNITS))
	$(Q)rm -f $(DESTDIR)$(tmpfilesdir)/kmig.conf $(DESTDIR)$(sysusersdir)/kmig.conf
	$(Q)rm -rf $(DESTDIR)$(DKMS_SRC) $(DESTDIR)$(pkgdatadir)
	@# The settings an administrator wrote stay.
	$(Q)rmdir $(DESTDIR)$(sysconfdir)/kmig/incoming $(DESTDIR)$(sysconfdir)/kmig 2>/dev/null || true

dist:
	$(Q)packaging/dist.sh

deb:
	$(Q)packaging/deb.sh

# install layout, packages (lintian), a fresh Debian 12 root with them,
# kmig-dkms in the lab (which boots with the tree's kmig.ko); kmod in a
# new make, so that KVER sees headers deps-check may have installed
check-pkg: deps-check
	$(Q)$(MAKE) user kmod
	$(Q)packaging/check.sh

clean:
	$(Q)if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean; fi
	$(Q)$(MAKE) -C user clean
	$(Q)$(MAKE) -C selftests/kmig clean
	$(Q)rm -rf selftests/vmtest/out build-deb build-dist
