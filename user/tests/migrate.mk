# Live-migration tests: kmig migrate / kmig incoming between real kmig-vmm
# processes (loopback and network namespaces), cancels and faults in every
# state (tests/migrate.sh, tests/migcancel.sh). The unit tests of the
# pieces (test_migstream, test_converge, test_dirty) run with the others,
# tests/vmm/dirty_seam_test with the VMM tests.
# Without a usable /dev/kvm they run in the lab ($(LAB)).
#   make check-migrate                   about 3 minutes here
#   make check-migrate MIGRATE_REPEAT=200
MIGRATE_REPEAT ?= 20

.PHONY: check-migrate
check-migrate: all
	$(Q)BUILD=$(CURDIR)/$(BUILD) KMIG=$(CURDIR)/$(BUILD)/kmig MIGRATE_REPEAT=$(MIGRATE_REPEAT) \
		$(LAB) --need kvm -- tests/run-migrate.sh

check:: check-migrate
