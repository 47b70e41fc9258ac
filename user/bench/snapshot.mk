# Snapshot benchmark (bench/snapshot_bench.sh): save and restore of a
# 4 GiB kguest, dense and 10% populated, against the disk's O_DIRECT
# bandwidth and the plain stream through a file, same run. About 3 minutes.
# Without a usable /dev/kvm it runs in the lab ($(LAB)) with a 512 MiB guest.
#   make bench-snapshot BENCH_MEM=2G BENCH_CHANNELS=4 BENCH_DIR=/some/fs
.PHONY: bench-snapshot
bench-snapshot: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) $(LAB) --need kvm -- bench/snapshot_bench.sh

bench:: bench-snapshot

# kmig restore --huge-pages never against auto (bench/restore_huge.sh): a
# 2 GiB dense kguest's file, 3 alternating pairs; time, CPU, huge pages.
# Needs /dev/kvm here (no lab run). About a minute.
#   make bench-restore-huge BENCH_MEM=1G BENCH_RUNS=5
.PHONY: bench-restore-huge
bench-restore-huge: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) bench/restore_huge.sh
