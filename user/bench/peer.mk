# kmig against QEMU 10 (bench/peer_bench.py): the same kguest under QEMU
# (-kernel, multiboot, QMP-driven multifd, -accel kvm) and under kmig-vmm,
# both on KVM: live migrations over loopback and a 1 Gbit/s veth link
# (codecs none, zlib, zstd, kmig's lz4 beside), a large sparse guest, save
# and restore against the disk's O_DIRECT bandwidth, a cancelled migration,
# and the phases against guest size. Tables with kmig/QEMU ratios, CSV in
# $(BUILD). It needs a QEMU whose multiboot guest runs on KVM and kmig.ko,
# so it runs in the lab ($(LAB), PEER_LAB_MEM MiB, the CSV files come back
# to $(BUILD)); KMIG_LAB=0 runs it on this machine (where KVM runs CPL0
# guest code natively and /dev/kmig exists; the bench checks the first).
#   make bench-peer                               (all sections)
#   make bench-peer PEER_ARGS=--smoke             (one small live run)
#   make bench-peer PEER_ARGS=--quick             (every section, small, once)
#   make bench-peer PEER_ARGS="--sections live,file --mem 1G --repeat 5"
# Not part of make bench: it takes hours in the lab.
.PHONY: bench-peer
PEER_ARGS ?=
PEER_LAB_MEM ?= 8192
PEER_LAB_TIMEOUT ?= 36000
bench-peer: all
	$(Q)$(LAB) --mem $(PEER_LAB_MEM) --timeout $(PEER_LAB_TIMEOUT) --out $(CURDIR)/$(BUILD) -- \
		python3 bench/peer_bench.py --build $(CURDIR)/$(BUILD) $(PEER_ARGS)
