# libFuzzer harnesses (clang, -fsanitize=fuzzer,address,undefined), built
# from the library sources into build-fuzz/.
#   make fuzz                 run each harness FUZZ_TIME seconds (default 20)
#   make fuzz FUZZ_TIME=600   longer
#   make fuzz-corpus          regenerate the committed seed corpus
FUZZ_CC ?= clang
FUZZ_TIME ?= 20
FUZZ_BUILD := build-fuzz
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -pthread -I../uapi -Iinclude -Ilib -Itests/lib \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
# The parsers and what they need, without the stream's sockets and the
# migration state machines.
FUZZ_LIBSRC := $(filter-out lib/stream/send%.c lib/stream/recv.c lib/base/net.c \
	lib/stream/sink_send.c lib/stream/chan_tls.c, $(foreach l,base codec kmod vmmp pages stream dirty snap,$(LIB_$(l)_SRCS)))
FUZZ_NAMES := fuzz_packet fuzz_hello fuzz_nl fuzz_snap fuzz_vmmp fuzz_vmmc
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/%)

$(FUZZ_BUILD)/%: fuzz/%.c $(FUZZ_LIBSRC) $(wildcard lib/*/*.h include/kmig/*.h)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIBSRC) $(LDLIBS)

$(BUILD)/gen_corpus: fuzz/gen_corpus.c $(TESTLIB) $(LIB)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests/lib -o $@ $< $(TESTLIB) $(LIB) $(LDFLAGS) $(LDLIBS)

.PHONY: fuzz fuzz-build fuzz-corpus
fuzz-build: $(FUZZ_BINS)

fuzz-corpus: $(BUILD)/gen_corpus
	$(Q)mkdir -p fuzz/corpus/hello fuzz/corpus/packet fuzz/corpus/snap fuzz/corpus/vmmp \
		fuzz/corpus/vmmc
	$(Q)$(BUILD)/gen_corpus fuzz/corpus

# New inputs go to a scratch directory; the committed corpus is read only.
fuzz: $(FUZZ_BINS)
	$(Q)for f in $(FUZZ_NAMES); do \
		c=fuzz/corpus/$${f#fuzz_}; w=$$(mktemp -d); \
		echo "  FUZZ   $$f for $(FUZZ_TIME) s"; \
		$(FUZZ_BUILD)/$$f -max_total_time=$(FUZZ_TIME) -max_len=65536 \
			-print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/ $$w $$c \
			>$(FUZZ_BUILD)/$$f.log 2>&1; rc=$$?; rm -rf $$w; \
		grep -E "^stat::number_of_executed_units|^Done" $(FUZZ_BUILD)/$$f.log | tr '\n' ' '; echo; \
		if [ $$rc != 0 ]; then tail -40 $(FUZZ_BUILD)/$$f.log; echo "fuzz: $$f FAILED"; exit 1; fi; \
	done; echo "fuzz: $(words $(FUZZ_NAMES)) passed, 0 failed"

check:: fuzz
