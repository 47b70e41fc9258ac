# kmig top-level Makefile.
#
#   make            build kmod/kmig.ko (against Debian's 6.1 headers), the
#                   userspace helper, the reference VMM and the selftests
#                   (never installs packages; deps, check, demo, bench do)
#   make deps       install every Debian package the build and tests need
#   make check      all tests: userspace tests here, module tests on the
#                   VM test host under Debian's 6.12 and the debug 6.1
#                   kernel (if cached on this machine, else Debian's 6.1;
#                   CHECK_DEBUG, Documentation/testing.rst)
#   make bench      benchmarks, printed as tables with ratios
#   make bench-peer kmig against QEMU's own migration, same guest (~20 min)
#   make demo       the main job: a live migration of a real KVM guest
#   make vmtest[-6.12|-debug]  module tests on Debian's 6.1 (the kernel of
#                   the benchmarks), 6.12, or the debug 6.1
#   make kernel-debug  build the debug 6.1 kernel (cached per machine)
#
# Settings (override on the command line):
#   KVER   the 6.1 kernel to build the module for and boot in the VM test
#          host; default: the newest installed 6.1 kernel with headers
#   KDIR   its build directory
#   CHECK_DEBUG  auto (default), yes (build the debug kernel if needed), no
#   V=1    verbose build output

KVER ?= $(shell ls -1d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | \
	sed 's,.*/linux-headers-,,' | sort -V | tail -n 1)
KDIR ?= /usr/src/linux-headers-$(KVER)
V ?= 0

export KVER KDIR V

# Debian's 6.12 (bookworm-security), the second kernel the module is built
# and tested for; its build directory.
KVER_612 ?= $(shell ls -1d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | \
	sed 's,.*/linux-headers-,,' | sort -V | tail -n 1)

# Debian packages needed to build, test, benchmark and demo everything
# (flex, bison, bc, libelf-dev, libssl-dev: the debug kernel).
DEB_PACKAGES := build-essential clang libclang-rt-14-dev llvm pkg-config \
	zlib1g-dev libzstd-dev liblz4-dev libmnl-dev libisal-dev \
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 \
	linux-image-6.12-amd64 linux-headers-6.12-amd64 \
	flex bison bc libelf-dev libssl-dev \
	qemu-system-x86 busybox-static cpio kmod xz-utils \
	iproute2 util-linux procps python3

ifeq ($(V),1)
Q :=
else
Q := @
MAKEFLAGS += --no-print-directory
endif

.PHONY: all kmod user selftests deps deps-check check check-user vmtest \
	bench bench-user bench-vm bench-peer demo clean help \
	kmod-6.12 kmod-debug kernel-debug vmtest-6.12 vmtest-debug check-debug

all: kmod user selftests

help:
	@sed -n '2,/^$$/p' Makefile | sed 's/^# \{0,1\}//'

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
			grep -q '^install ok installed' || { $(MAKE) deps; break; }; \
	done

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

check-user: deps-check user
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

bench-user: deps-check user
	$(Q)$(MAKE) -C user bench

bench-peer: deps-check user
	$(Q)$(MAKE) -C user bench-peer

bench-vm: deps-check kmod selftests
	$(Q)selftests/vmtest/run.sh --bench

demo: deps-check
	$(Q)$(MAKE) user
	$(Q)$(MAKE) -C user demo

clean:
	$(Q)if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR)/kmod clean; fi
	$(Q)$(MAKE) -C user clean
	$(Q)$(MAKE) -C selftests/kmig clean
	$(Q)rm -rf selftests/vmtest/out
