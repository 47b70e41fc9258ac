# kmig against QEMU (bench/peer_bench.py): the same kguest under QEMU 7.2
# (-kernel, multiboot, QMP-driven multifd) and under kmig-vmm, live
# migrations over loopback and a 1 Gbit/s veth link, snapshots to a file;
# one table with kmig/QEMU ratios, CSV in $(BUILD). About 20 minutes.
#   make bench-peer PEER_ARGS="--repeat 5 --mem 2G"
#   make bench-peer PEER_ARGS=--smoke          (one small run: ~2 minutes)
.PHONY: bench-peer
PEER_ARGS ?=
bench-peer: all
	$(Q)python3 bench/peer_bench.py --build $(CURDIR)/$(BUILD) $(PEER_ARGS)

bench:: bench-peer
