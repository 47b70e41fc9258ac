# kmig-vmm (the reference VMM) and kmig-vmmctl (a protocol client tool).
# Included by user/Makefile (paths relative to user/). Tests: tests/vmm/.

KVMM := $(BUILD)/kmig-vmm
KVMM_SRCS := $(wildcard vmm/*.c)
KVMM_OBJS := $(KVMM_SRCS:%.c=$(BUILD)/%.o)
KVMMCTL := $(BUILD)/kmig-vmmctl
KVMMCTL_SRCS := $(wildcard vmm/ctl/*.c)
KVMMCTL_OBJS := $(KVMMCTL_SRCS:%.c=$(BUILD)/%.o)

PROGS += $(KVMM) $(if $(KVMMCTL_SRCS),$(KVMMCTL))
$(KVMMCTL_OBJS): override CFLAGS += -Itests/lib

# The VMM links the VMM-protocol server and the base helpers only (and
# ISA-L for its device state's CRC); the control tool adds the test
# library's a-b checker.
KVMM_LIBS := $(LIB_vmmp) $(LIB_base)

$(KVMM): $(KVMM_OBJS) $(KVMM_LIBS)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(KVMM_OBJS) $(KVMM_LIBS) $(LDLIBS_base)

$(KVMMCTL): $(KVMMCTL_OBJS) $(TESTLIB) $(KVMM_LIBS)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(KVMMCTL_OBJS) $(TESTLIB) $(KVMM_LIBS) $(LDLIBS_base)

# Tests (tests/vmm/): kselftest-harness programs against a real kmig-vmm,
# plus a QEMU boot of the multiboot guest. The harness headers come from
# Debian's linux-source-6.1 at build time (never stored in the repo).
KSRC_TAR ?= $(firstword $(wildcard /usr/src/linux-source-6.1.tar.xz))
VMM_KHDR := $(BUILD)/khdr
VMM_TEST_SRCS := $(wildcard tests/vmm/*_test.c)
VMM_TESTS := $(VMM_TEST_SRCS:tests/vmm/%.c=$(BUILD)/tests/vmm/%)
VMM_TUTIL_OBJS := $(BUILD)/tests/vmm/tutil.o
VMM_TEST_CFLAGS := -I$(VMM_KHDR) -Itests/vmm -Itests/lib -Wno-missing-prototypes \
	-Wno-shadow -Wno-sign-compare -Wno-misleading-indentation

$(VMM_KHDR)/kselftest_harness.h:
	@mkdir -p $(VMM_KHDR)
	@$(if $(Q),echo "  KHDR   $@")
	$(Q)test -n "$(KSRC_TAR)" || { echo "need linux-source-6.1 (make deps)" >&2; exit 1; }
	$(Q)tar -xJf $(KSRC_TAR) -C $(VMM_KHDR) --strip-components=4 \
		--wildcards '*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h'
	$(Q)touch $@

$(BUILD)/tests/vmm/%.o: tests/vmm/%.c $(VMM_KHDR)/kselftest_harness.h
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(CFLAGS) $(VMM_TEST_CFLAGS) -c -o $@ $<

$(BUILD)/tests/vmm/%: $(BUILD)/tests/vmm/%.o $(VMM_TUTIL_OBJS) $(TESTLIB) $(LIB)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(VMM_TUTIL_OBJS) $(TESTLIB) $(LIB) $(LDLIBS)

# Keep the objects: they are intermediate files of the pattern rules.
.SECONDARY: $(VMM_TESTS:%=%.o) $(BUILD)/tests/vmm/vmm_bench.o

.PHONY: vmm-tests check-vmm
vmm-tests: $(VMM_TESTS) $(KVMM) $(KVMMCTL) $(KGUEST)

check-vmm: vmm-tests
	$(Q)BUILD=$(BUILD) tests/vmm/run.sh $(VMM_TESTS)

check:: check-vmm

VMM_BENCH := $(BUILD)/tests/vmm/vmm_bench

.PHONY: bench-vmm
bench-vmm: $(VMM_BENCH) $(KVMM) $(KGUEST)
	$(Q)$(VMM_BENCH) --mem 1G --vcpus 2 --ab 16M
	$(Q)echo
	$(Q)$(VMM_BENCH) --mem 1G --vcpus 2 --ab 512M

bench:: bench-vmm
