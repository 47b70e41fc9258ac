# kmig top-level Makefile.
#
#   make            build kmod/kmig.ko (against Debian's 6.1 headers), the
#                   userspace helper, the reference VMM and the selftests
#   make deps       install every Debian package the build and tests need
#   make check      all tests: userspace tests here, module tests on the
#                   VM test host (make vmtest); where this machine has no
#                   usable /dev/kvm, the tests that need KVM run in the lab
#   make bench      benchmarks, printed as tables with ratios
#   make bench-peer kmig against QEMU's own migration, same guest (~20 min)
#   make demo       the main job: a live migration of a real KVM guest,
#                   in the lab with kmig.ko where this machine has no
#                   usable /dev/kvm or /dev/kmig
#   make lab        a shell in the lab (selftests/vmtest/lab.sh: the VM
#                   test host with this machine's userland, /dev/kvm and
#                   /dev/kmig; KMIG_LAB=1 sends everything above there)
#
# Settings (override on the command line):
#   KVER   the 6.1 kernel to build the module for and boot in the VM test
#          host; default: the newest installed 6.1 kernel with headers
#   KDIR   its build directory
#   V=1    verbose build output
#   KMIG_LAB=1 (environment) what needs KVM runs in the lab even where
#          /dev/kvm works; KMIG_LAB=0 never in the lab

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
	iproute2 util-linux procps python3

ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

.PHONY: all kmod user selftests deps deps-check check check-user vmtest \
	bench bench-user bench-vm bench-peer demo lab clean help

all: kmod user selftests

help:
	@sed -n '2,24p' Makefile | sed 's/^# \{0,1\}//'

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
kmod: deps-check
	$(Q)test -n "$(KVER)" -a -d "$(KDIR)" || { \
		echo "kmod: no 6.1 kernel headers found (KDIR=$(KDIR)); run 'make deps'" >&2; exit 1; }
	$(Q)$(MAKE) -C $(KDIR) M=$(CURDIR)/kmod modules $(if $(filter 1,$(V)),V=1)

user: deps-check
	$(Q)$(MAKE) -C user

selftests: deps-check
	$(Q)$(MAKE) -C selftests/kmig

# Cheap check used by the build targets: install packages only if any is
# missing (so a fresh machine needs nothing but the README's command).
deps-check:
	$(Q)for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
			grep -q '^install ok installed' || { $(MAKE) deps; break; }; \
	done

check: all
	$(Q)$(MAKE) check-user
	$(Q)$(MAKE) vmtest

check-user: user
	$(Q)$(MAKE) -C user check

vmtest: kmod selftests
	$(Q)selftests/vmtest/run.sh

bench: all
	$(Q)$(MAKE) bench-user
	$(Q)$(MAKE) bench-vm

# kmod too: without /dev/kvm here they run in the lab, which loads kmig.ko.
bench-user: kmod user
	$(Q)$(MAKE) -C user bench

bench-peer: kmod user
	$(Q)$(MAKE) -C user bench-peer

bench-vm: kmod selftests
	$(Q)selftests/vmtest/run.sh --bench

demo: kmod user
	$(Q)$(MAKE) -C user demo

lab: kmod user
	$(Q)selftests/vmtest/lab.sh --shell

clean:
	$(Q)if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean; fi
	$(Q)$(MAKE) -C user clean
	$(Q)$(MAKE) -C selftests/kmig clean
	$(Q)rm -rf selftests/vmtest/out
