# Snapshot files end to end (tests/snapshot.sh): kmig save / kmig restore
# of running kguests through kmig-vmm, the O_DIRECT fallback on ramfs and
# tmpfs, interrupted saves, refused files, a cancel, and one run of the
# ASan/UBSan kmig. The format's unit test (tests/test_snap.c) runs with
# the other unit tests, its fuzzer (fuzz/fuzz_snap.c) with the fuzzers.
#   make check-snapshot            about a minute here
.PHONY: check-snapshot
check-snapshot: all
	$(Q)$(MAKE) --no-print-directory SAN=1 all >/dev/null
	$(Q)BUILD=$(CURDIR)/$(BUILD) KMIG=$(CURDIR)/$(BUILD)/kmig KMIG_SAN=$(CURDIR)/build-san/kmig \
		timeout -k 10 600 bash tests/snapshot.sh

check:: check-snapshot
