# Benchmarks of the stream engine (tables with ratios against baselines
# measured in the same run; nothing asserts a timing).
#   make bench                       all sections, 2 GiB image (~5 min), and
#                                    the migrate, downtime and snapshot benches
#   make bench-stream BENCH_ARGS="--size 512M --sections ab"   this one alone
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
PROGS += $(BENCH_BINS)
BENCH_ARGS ?=

$(BUILD)/bench/%: bench/%.c $(TESTLIB) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(TESTLIB) $(LIB) $(LDFLAGS) $(LDLIBS)

# stream_file prints its result through the CLI's one JSON writer.
$(BUILD)/bench/stream_file: bench/stream_file.c $(BUILD)/cli/json.o $(TESTLIB) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(CFLAGS) -Itests/lib -Icli -o $@ $< $(BUILD)/cli/json.o $(TESTLIB) $(LIB) \
		$(LDFLAGS) $(LDLIBS)

# bench runs every bench:: recipe (migrate.mk, snapshot.mk too), whatever
# BENCH_ARGS says: bench-stream is the stream engine's tables alone.
.PHONY: bench-stream
bench-stream: $(BUILD)/bench/stream_bench
	$(Q)$(BUILD)/bench/stream_bench $(BENCH_ARGS)

bench:: bench-stream
