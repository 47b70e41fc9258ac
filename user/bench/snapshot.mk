# Snapshot benchmark (bench/snapshot_bench.sh): save and restore of a
# 4 GiB kguest, dense and 10% populated, against the disk's O_DIRECT
# bandwidth and the plain stream through a file, same run. About 3 minutes.
# Without a usable /dev/kvm it runs in the lab ($(LAB)) with a 512 MiB guest.
#   make bench-snapshot BENCH_MEM=2G BENCH_CHANNELS=4 BENCH_DIR=/some/fs
.PHONY: bench-snapshot
bench-snapshot: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) $(LAB) --need kvm -- bench/snapshot_bench.sh

bench:: bench-snapshot
