# Unit tests (C) and end-to-end shell tests of the stream engine.
#   make check                  everything below, plus fuzz and sanitizers
#   make unit                   just the C unit tests
#   make e2e                    just the shell tests

UNIT_SRCS := $(wildcard tests/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/%.c=$(BUILD)/tests/%)
PROGS += $(UNIT_BINS)

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(CFLAGS) -Itests -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

.PHONY: unit e2e
unit: $(UNIT_BINS)
	$(Q)tests/run-unit.sh $(UNIT_BINS)

e2e: all
	$(Q)tests/run-e2e.sh $(BUILD)

check:: unit e2e
