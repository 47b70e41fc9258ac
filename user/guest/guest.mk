# kguest: the freestanding guest workload, built as $(BUILD)/kguest.elf.
# Included by user/Makefile (paths relative to user/).
#
# 64-bit code without SSE (the VMM leaves CR4.OSFXSR clear), no libc, no PIE,
# no red zone; linked by guest/guest.ld at 1 MiB as a multiboot ELF.

KGUEST := $(BUILD)/kguest.elf
KGUEST_SRCS := $(wildcard guest/*.c guest/*.S)
KGUEST_OBJS := $(patsubst guest/%,$(BUILD)/kguest/%.o,$(KGUEST_SRCS))
KGUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Wno-unused-parameter \
	-ffreestanding -fno-builtin -fno-pie -fno-pic -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fcf-protection=none -mno-red-zone \
	-mgeneral-regs-only -fno-tree-loop-distribute-patterns -MMD -MP
KGUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/guest.ld \
	-Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack

PROGS += $(KGUEST)

$(BUILD)/kguest/%.c.o: guest/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC     $@")
	$(Q)$(CC) $(KGUEST_CFLAGS) -c -o $@ $<

$(BUILD)/kguest/%.S.o: guest/%.S
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS     $@")
	$(Q)$(CC) $(KGUEST_CFLAGS) -c -o $@ $<

$(KGUEST): $(KGUEST_OBJS) guest/guest.ld
	@$(if $(Q),echo "  LD     $@")
	$(Q)$(CC) $(KGUEST_CFLAGS) $(KGUEST_LDFLAGS) -o $@ $(KGUEST_OBJS)
