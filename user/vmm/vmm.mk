# kmig-vmm (the reference VMM) and kmig-vmmctl (a protocol client tool).
# Included by user/Makefile (paths relative to user/). Tests: tests/vmm/.

KVMM := $(BUILD)/kmig-vmm
KVMM_SRCS := $(wildcard vmm/*.c)
KVMM_OBJS := $(KVMM_SRCS:%.c=$(BUILD)/%.o)
KVMMCTL := $(BUILD)/kmig-vmmctl
KVMMCTL_SRCS := $(wildcard vmm/ctl/*.c)
KVMMCTL_OBJS := $(KVMMCTL_SRCS:%.c=$(BUILD)/%.o)

PROGS += $(KVMM) $(if $(KVMMCTL_SRCS),$(KVMMCTL))

$(KVMM): $(KVMM_OBJS) $(LIB)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(KVMM_OBJS) $(LIB) $(LDLIBS)

$(KVMMCTL): $(KVMMCTL_OBJS) $(LIB)
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(KVMMCTL_OBJS) $(LIB) $(LDLIBS)
