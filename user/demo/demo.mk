# make demo (top level: after installing the Debian packages): a kguest
# live-migrated between two kmig-vmm processes over loopback with 2
# channels, verified on the destination (demo/demo.sh). Here when this
# machine has /dev/kvm and /dev/kmig (a 2 GiB guest); in the lab otherwise
# ($(LAB): kvm.ko and kmig.ko loaded, a 512 MiB guest), so that the
# migration takes the module path. KMIG_LAB=1 forces the lab, KMIG_LAB=0
# this machine. DEMO_MEM, DEMO_AB, DEMO_RATE, DEMO_CHANNELS, DEMO_DOWNTIME
# and DEMO_ARGS (e.g. --no-module) change it.
demo:: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) $(LAB) --need kmig -- demo/demo.sh
