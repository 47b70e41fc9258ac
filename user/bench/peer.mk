# kmig against QEMU 10 (bench/peer_bench.py): the same kguest under QEMU
# (-kernel, multiboot, QMP-driven multifd, -accel kvm) and under kmig-vmm,
# both on KVM: live migrations over loopback and a 1 Gbit/s veth link
# (codecs none, zlib, zstd, kmig's lz4 beside), a large sparse guest, save
# and restore against the disk's O_DIRECT bandwidth, a cancelled migration,
# and the phases against guest size. Tables with kmig/QEMU ratios, CSV in
# $(BUILD). It needs a QEMU whose multiboot guest runs on KVM: the lab
# (Documentation/benchmarks.rst); elsewhere it stops and says so.
#   make bench-peer                               (all sections)
#   make bench-peer PEER_ARGS=--quick             (every section, small, once)
#   make bench-peer PEER_ARGS="--sections live,file --mem 1G --repeat 5"
# Not part of make bench: it takes about an hour and runs in the lab.
.PHONY: bench-peer
PEER_ARGS ?=
bench-peer: all
	$(Q)python3 bench/peer_bench.py --build $(CURDIR)/$(BUILD) $(PEER_ARGS)
