"""Process helpers of the QEMU comparison (bench/peer_bench.py): CPU time
per thread from /proc, waiting, the guest's serial progress, a sampler of
the guest's page-write counter, the machine's memory and THP settings.

CPU time is what a migration costs the host besides the guest itself: all
threads of a process except its vCPU threads (QEMU names them "CPU N/TCG"
or "CPU N/KVM" with -name debug-threads=on; kmig-vmm names them "vcpu N").
"""
import os
import re
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
VCPU_COMM = re.compile(r"^(CPU \d+/(TCG|KVM)|vcpu \d+)$")
THP = "/sys/kernel/mm/transparent_hugepage/"


def thread_cpu(pid):
    """{tid: (comm, cpu seconds)} of a live process; {} if it is gone."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                stat = f.read()
        except OSError:
            continue
        # comm may hold spaces and parentheses: split after the last ')'
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(tid)] = (comm, (int(fields[11]) + int(fields[12])) / CLK_TCK)
    return out


def process_cpu(pid):
    """CPU seconds of a process, its exited threads included."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def host_cpu(pid):
    """CPU seconds of @pid except its vCPU threads. The process total counts
    threads that have exited (QEMU's migration threads do, at the end)."""
    vcpus = sum(c for comm, c in thread_cpu(pid).values() if VCPU_COMM.match(comm))
    return process_cpu(pid) - vcpus


def wait_for(pred, timeout, what, step=0.05):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise RuntimeError("timed out after %ds waiting for %s" % (timeout, what))


# Whole lines only: QEMU writes the UART to the file a byte at a time, and
# a line cut in the middle of its number reads as a smaller count.
PAGES_RE = re.compile(rb"kguest: sweep \d+ pages (\d+)\r?\n")
RAM_RE = re.compile(rb"kguest: multiboot, ram (\d+) MiB")


def serial_tail(path, size=4096):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            end = f.tell()
            f.seek(max(0, end - size))
            return f.read()
    except OSError:
        return b""


def serial_pages(path):
    """The guest's last reported page-write count on its UART, or None."""
    m = PAGES_RE.findall(serial_tail(path))
    return int(m[-1]) if m else None


def serial_ram_mib(path):
    """The RAM the multiboot guest says it sees (MiB), or None."""
    try:
        with open(path, "rb") as f:
            m = RAM_RE.search(f.read(4096))
    except OSError:
        return None
    return int(m.group(1)) if m else None


def rate(read_pages, seconds):
    """Page writes per second of a guest, from two readings of its counter."""
    p0, t0 = read_pages(), time.monotonic()
    time.sleep(seconds)
    p1, t1 = read_pages(), time.monotonic()
    if p0 is None or p1 is None:
        return 0.0
    return (p1 - p0) / (t1 - t0)


class Sampler:
    """Reads a guest's page-write counter every @step seconds in a thread
    of its own: (monotonic time, pages) pairs, for rates over windows."""

    def __init__(self, read_pages, step):
        self.read, self.step = read_pages, step
        self.samples = []
        self.stop_ev = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_ev.is_set():
            try:
                p = self.read()
            except Exception:  # noqa: BLE001 (a VMM going away ends nothing here)
                p = None
            if p is not None:
                self.samples.append((time.monotonic(), p))
            self.stop_ev.wait(self.step)

    def stop(self):
        self.stop_ev.set()
        self.thread.join()
        return self.samples


def window_rate(samples, t0, t1):
    """Page writes/s between t0 and t1 from a sampler's pairs. The guest's
    counter moves in steps (one per progress report): the count at time t
    is interpolated between the moments each step was first seen, so a
    window shorter than the steps still gets the rate the guest had. The
    window is cut to the samples' span; None when that leaves less than
    80% of it."""
    steps = []
    for t, p in samples:
        if not steps or p != steps[-1][1]:
            steps.append((t, p))
    if not samples:
        return None
    a, b = max(t0, samples[0][0]), min(t1, samples[-1][0])
    if b - a < 0.8 * (t1 - t0):
        return None
    t0, t1 = a, b

    def at(t):
        prev = steps[0]
        for s in steps:
            if s[0] > t:
                return prev[1] + (s[1] - prev[1]) * (t - prev[0]) / (s[0] - prev[0])
            prev = s
        return prev[1]	# no step since: the guest wrote less than one report
    return (at(t1) - at(t0)) / (t1 - t0)


def mem_available():
    """MemAvailable of the machine, bytes."""
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def thp_setting(name):
    """The selected value of a THP setting ('enabled', 'shmem_enabled')."""
    try:
        with open(THP + name) as f:
            m = re.search(r"\[(\w+)\]", f.read())
    except OSError:
        return "unavailable"
    return m.group(1) if m else "unknown"


def thp_allow_shmem():
    """Lets memfd memory (kmig-vmm's) have huge pages as QEMU's anonymous
    memory does under enabled=always: shmem_enabled=advise while the bench
    runs. Returns the value to restore, or None when nothing was changed."""
    old = thp_setting("shmem_enabled")
    if old not in ("never", "deny"):
        return None
    try:
        with open(THP + "shmem_enabled", "w") as f:
            f.write("advise")
    except OSError:
        return None
    return old


def thp_restore(old):
    if old:
        with open(THP + "shmem_enabled", "w") as f:
            f.write(old)
