# Live-migration benchmark (bench/migrate_bench.sh): a 2 GiB kguest at two
# dirty rates, dirty-log stop after the switchover vs inside the downtime;
# tables with ratios against baselines of the same run. About 2-3 minutes.
# Without a usable /dev/kvm it runs in the lab ($(LAB)), on the module path
# and the fallback, with a 128 MiB guest.
#   make bench-migrate BENCH_REPEAT=5 BENCH_RATES="10000 100000"
.PHONY: bench-migrate
bench-migrate: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) $(LAB) --need kvm -- bench/migrate_bench.sh

bench:: bench-migrate

# Expected against actual downtime, with and without --downtime-strict
# (bench/downtime_bench.sh): dense and 10% guests, codecs none and zstd,
# over loopback. About 3 minutes here.
#   make bench-downtime BENCH_REPEAT=10 BENCH_LIMIT=30
.PHONY: bench-downtime
bench-downtime: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) $(LAB) --need kvm -- bench/downtime_bench.sh

bench:: bench-downtime
