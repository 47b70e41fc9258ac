# Snapshot files end to end (tests/snapshot.sh): kmig save / kmig restore
# of running kguests through kmig-vmm, the O_DIRECT fallback on ramfs and
# tmpfs, interrupted saves, refused files, a cancel, and one run of the
# ASan/UBSan kmig. The format's unit test (tests/test_snap.c) runs with
# the other unit tests, its fuzzer (fuzz/fuzz_snap.c) with the fuzzers.
# Without a usable /dev/kvm it runs in the lab ($(LAB)).
#   make check-snapshot            about a minute here
.PHONY: check-snapshot
check-snapshot: all
	$(Q)$(MAKE) --no-print-directory SAN=1 all >/dev/null
	$(Q)BUILD=$(CURDIR)/$(BUILD) KMIG=$(CURDIR)/$(BUILD)/kmig KMIG_SAN=$(CURDIR)/build-san/kmig \
		$(LAB) --need kvm -- tests/run-migrate.sh snapshot

check:: check-snapshot
