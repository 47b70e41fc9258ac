# kmig top-level Makefile.
#
#   make            build kmod/kmig.ko (against Debian's 6.1 headers), the
#                   userspace helper, the reference VMM and the selftests
#                   (never installs packages; deps, check, demo, bench do)
#   make deps       install every Debian package the build and tests need
#   make check      all tests: userspace tests here, installation and
#                   packages (make check-pkg), module tests on the VM test
#                   host (make vmtest)
#   make bench      benchmarks, printed as tables with ratios
#   make bench-peer kmig against QEMU's own migration, same guest (~20 min)
#   make demo       the main job: a live migration of a real KVM guest
#   make install    kmig, kmig-vmm, kmig-vmmctl, man pages, the uapi header,
#                   the module sources for DKMS, the udev rule, the systemd
#                   units, tmpfiles.d and sysusers.d entries (DESTDIR,
#                   PREFIX: packaging/dirs.mk); make uninstall
#   make dist       the source tarball build-dist/kmig-VERSION.tar.xz
#   make deb        Debian packages kmig, kmig-dkms, libkmig-dev in build-deb/
#
# Settings (override on the command line):
#   KVER   the 6.1 kernel to build the module for and boot in the VM test
#          host; default: the newest installed 6.1 kernel with headers
#   KDIR   its build directory
#   V=1    verbose build output

KVER ?= $(shell ls -1d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | \
	sed 's,.*/linux-headers-,,' | sort -V | tail -n 1)
KDIR ?= /usr/src/linux-headers-$(KVER)
V ?= 0

export KVER KDIR V

# Debian packages needed to build, test, benchmark and demo everything.
DEB_PACKAGES := build-essential clang libclang-rt-14-dev llvm pkg-config \
	zlib1g-dev libzstd-dev liblz4-dev libmnl-dev libisal-dev \
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 \
	qemu-system-x86 busybox-static cpio kmod xz-utils \
	iproute2 util-linux procps python3 \
	debhelper dh-dkms dkms dpkg-dev fakeroot lintian debootstrap man-db \
	strace udev

ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

.PHONY: all kmod user selftests deps deps-check check check-user vmtest \
	bench bench-user bench-vm bench-peer demo clean help \
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

# Re-resolve KVER after deps may have installed the headers.
kmod:
	$(Q)test -n "$(KVER)" -a -d "$(KDIR)" || { \
		echo "kmod: no 6.1 kernel headers found (KDIR=$(KDIR)); run 'make deps'" >&2; exit 1; }
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules $(if $(filter 1,$(V)),V=1)

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
			grep -q '^install ok installed' || { $(MAKE) deps; break; }; \
	done

check: deps-check
	$(Q)$(MAKE) all
	$(Q)$(MAKE) check-user
	$(Q)$(MAKE) vmtest
	$(Q)$(MAKE) check-pkg

check-user: deps-check user
	$(Q)$(MAKE) -C user check

vmtest: deps-check kmod selftests
	$(Q)selftests/vmtest/run.sh

bench: deps-check
	$(Q)$(MAKE) all
	$(Q)$(MAKE) bench-user
	$(Q)$(MAKE) bench-vm

bench-user: deps-check user
	$(Q)$(MAKE) -C user bench

bench-peer: deps-check user
	$(Q)$(MAKE) -C user bench-peer

bench-vm: deps-check kmod selftests
	$(Q)selftests/vmtest/run.sh --bench

demo: deps-check
	$(Q)$(MAKE) user
	$(Q)$(MAKE) -C user demo

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

# install layout, packages (lintian), a fresh Debian 12 root with them
check-pkg: user
	$(Q)packaging/check.sh

clean:
	$(Q)if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean; fi
	$(Q)$(MAKE) -C user clean
	$(Q)$(MAKE) -C selftests/kmig clean
	$(Q)rm -rf selftests/vmtest/out build-deb build-dist
