"""The guest of the QEMU comparison (bench/peer_bench.py): one kguest
workload described once and started the same way under both VMMs.

kmig-vmm's guest sees all of its RAM. QEMU's multiboot guest sees only
the RAM below 4 GiB: on the PC machine that is all of it up to 3.5 GiB
and 3 GiB above that (the rest lies above 4 GiB, where the multiboot
memory map does not reach). A fill is therefore given as a share of the
whole RAM and turned into the share of what each guest sees, so that both
write the same amount of data; a guest that cannot (a dense 4 GiB guest
under QEMU) is refused with the reason.
"""
import re

MiB = 1 << 20
GiB = 1 << 30
WORK_START = 2 * MiB		# kguest's workload starts at 2 MiB (kguest.h)
PC_LOWMEM_MAX = 3584 * MiB	# QEMU PC (i440fx): RAM below 4 GiB up to 3.5 GiB ...
PC_LOWMEM_BIG = 3 * GiB		# ... and 3 GiB when the guest has more


def parse_size(s):
    """'512M', '0.5G', '8G', '1024' (MiB) -> bytes."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([MmGg]?)i?[Bb]?\s*", s)
    if not m:
        raise ValueError("bad size '%s' (e.g. 512M, 0.5G, 8G)" % s)
    unit = GiB if m.group(2) in ("G", "g") else MiB
    return int(round(float(m.group(1)) * unit / MiB)) * MiB


def fmt_size(b):
    return ("%gG" % (b / GiB)) if b >= GiB and b % (GiB // 4) == 0 else "%dM" % (b // MiB)


def qemu_visible(mem):
    """Bytes of RAM QEMU's multiboot guest sees on the PC machine."""
    return mem if mem < PC_LOWMEM_MAX else PC_LOWMEM_BIG


class Guest:
    """@mem bytes of RAM, @fill percent of it (besides the a-b range)
    written with text and random pages, an a-b range of @ab_mib MiB that
    the guest keeps dirtying, @spin pause loops after each write (per
    VMM: calibrated to the same rate), a progress report every @report
    pages."""

    def __init__(self, mem, fill, ab_mib, report, spin=None, seed=7):
        self.mem, self.fill, self.ab_mib, self.report = mem, fill, ab_mib, report
        self.spin = dict(spin or {"qemu": 0, "kmig": 0})
        self.seed = seed

    def copy(self, **kw):
        g = Guest(self.mem, self.fill, self.ab_mib, self.report, self.spin, self.seed)
        g.__dict__.update(kw)
        return g

    def data_bytes(self):
        """What the guest writes: its share of the RAM plus the a-b range."""
        rest = self.mem - WORK_START - self.ab_mib * MiB
        return rest * self.fill // 100 + self.ab_mib * MiB

    def fill_timeout(self):
        """Seconds the guest may take to fill: 1 MiB/s and 5 minutes more
        (the lab under load has been seen at a few MiB/s)."""
        return 300 + self.data_bytes() // MiB

    def qemu_fill(self):
        """The fill percent of what QEMU's guest sees that writes the same
        data, or raises ValueError when it cannot."""
        seen = qemu_visible(self.mem) - WORK_START - self.ab_mib * MiB
        want = (self.mem - WORK_START - self.ab_mib * MiB) * self.fill / 100
        pct = int(round(100 * want / seen))
        if pct > 100:
            raise ValueError("QEMU's multiboot guest sees %d MiB of %s: it cannot write "
                             "%d MiB of data" % (qemu_visible(self.mem) // MiB,
                                                 fmt_size(self.mem), want // MiB))
        return max(pct, 1)

    def problem(self):
        """Why this guest cannot be run by both VMMs, or None."""
        if self.ab_mib * MiB + WORK_START + 64 * MiB > self.mem:
            return "a %d MiB a-b range leaves no room in %s (--ab)" % (self.ab_mib,
                                                                      fmt_size(self.mem))
        try:
            self.qemu_fill()
        except ValueError as e:
            return str(e)
        return None

    def qemu_visible_mib(self):
        return qemu_visible(self.mem) // MiB

    def qemu_cmdline(self):
        return "seed=%d ab=%d fill=%d report=%d spin=%d" % (
            self.seed, self.ab_mib, self.qemu_fill(), self.report, self.spin["qemu"])

    def kmig_args(self):
        return ["--mem", "%dM" % (self.mem // MiB), "--vcpus", "1", "--seed", str(self.seed),
                "--report", str(self.report), "--spin", str(self.spin["kmig"]),
                "--ab", "%dM" % self.ab_mib, "--fill", str(self.fill)]

    def describe(self):
        return "%s, %d%% filled (%d MiB of data with the a-b range)" % (
            fmt_size(self.mem), self.fill, self.data_bytes() // MiB)
