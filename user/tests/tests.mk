# Unit tests (C) and end-to-end shell tests of the stream engine.
#   make check                  everything below, plus fuzz and sanitizers
#   make unit                   just the C unit tests
#   make e2e                    just the shell tests
#   make san                    ASan+UBSan build, unit tests and a loopback run

UNIT_SRCS := $(wildcard tests/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)
PROGS += $(UNIT_BINS)

# The library's unit tests, on kselftest_harness.h (the header as for
# tests/vmm/), linked with the test library and the library.
KSFT_UNIT_SRCS := $(filter-out tests/test_cli_%.c,$(UNIT_SRCS))
KSFT_UNIT_BINS := $(KSFT_UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)

# The harness ends each test's child with _exit(), which skips
# LeakSanitizer's check at exit: in the sanitizer build its programs are
# linked with tests/lsan_exit.c, which checks there (a leak fails the test).
ifeq ($(SAN),1)
KSFT_SAN_DEPS := $(BUILD)/tests/lsan_exit.o
KSFT_SAN_LINK := $(KSFT_SAN_DEPS) -Wl,--wrap=_exit
endif

$(KSFT_UNIT_BINS): $(BUILD)/tests/%: tests/%.c $(TESTLIB) $(LIB) $(VMM_KHDR)/kselftest_harness.h \
		$(KSFT_SAN_DEPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(CFLAGS) $(VMM_TEST_CFLAGS) -Itests -o $@ $< $(TESTLIB) $(LIB) \
		$(KSFT_SAN_LINK) $(LDFLAGS) $(LDLIBS)

.PHONY: unit e2e san
unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

e2e: all
	$(Q)tests/run-e2e.sh $(BUILD)

# ASan+UBSan build of everything; unit tests, a loopback integrity run and
# the TLS attacks.
san:
	$(Q)$(MAKE) SAN=1 all
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run-unit.sh $(UNIT_SRCS:tests/%.c=build-san/tests/%)
	$(Q)ASAN_OPTIONS=detect_leaks=1 KMIG=$(CURDIR)/build-san/kmig QUICK=1 bash tests/integrity.sh
	$(Q)ASAN_OPTIONS=detect_leaks=1 KMIG=$(CURDIR)/build-san/kmig bash tests/tls.sh

check:: unit e2e san

# The CLI's JSON writer and option parser: kselftest-harness programs (the
# header as for tests/vmm/) linked with the CLI's objects they test. The
# more specific pattern wins over test_% above; run-unit.sh counts them.
CLI_UNIT_OBJS := $(BUILD)/cli/json.o $(BUILD)/cli/opt.o
$(BUILD)/tests/test_cli_%: tests/test_cli_%.c $(CLI_UNIT_OBJS) $(VMM_KHDR)/kselftest_harness.h \
		$(KSFT_SAN_DEPS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(CFLAGS) $(VMM_TEST_CFLAGS) -Icli -o $@ $< $(CLI_UNIT_OBJS) $(KSFT_SAN_LINK) \
		$(LDFLAGS)
