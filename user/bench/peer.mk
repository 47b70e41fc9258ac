# kmig against QEMU (bench/peer_bench.py): the same kguest under QEMU 7.2
# (-kernel, multiboot, QMP-driven multifd) and under kmig-vmm, live
# migrations over loopback and a 1 Gbit/s veth link, snapshots to a file;
# one table with kmig/QEMU ratios, CSV in $(BUILD). About 20 minutes.
#   make bench-peer PEER_ARGS="--repeat 5 --mem 2G"
#   make bench-peer PEER_ARGS=--smoke          (one small run: ~2 minutes)
# Without a usable /dev/kvm it runs in the lab ($(LAB), 6 GiB; the CSV
# files come back to $(BUILD)), where QEMU runs the guest on KVM too.
.PHONY: bench-peer
PEER_ARGS ?=
bench-peer: all
	$(Q)$(LAB) --need kvm --mem 6144 --out $(CURDIR)/$(BUILD) -- \
		python3 bench/peer_bench.py --build $(CURDIR)/$(BUILD) $(PEER_ARGS)

bench:: bench-peer
