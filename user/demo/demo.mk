# make demo (top level: after installing the Debian packages): a 2 GiB
# kguest live-migrated between two kmig-vmm processes over loopback with 2
# channels, verified on the destination. DEMO_MEM, DEMO_AB, DEMO_RATE,
# DEMO_CHANNELS and DEMO_DOWNTIME change it (see demo/demo.sh).
demo:: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) demo/demo.sh
