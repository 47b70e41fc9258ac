"""Process helpers of the QEMU comparison (bench/peer_bench.py): CPU time
per thread from /proc, waiting, the guest's serial progress.

CPU time is what a migration costs the host besides the guest itself: all
threads of a process except its vCPU threads (QEMU names them "CPU N/TCG"
or "CPU N/KVM" with -name debug-threads=on; kmig-vmm names them "vcpu N").
"""
import os
import re
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
VCPU_COMM = re.compile(r"^(CPU \d+/(TCG|KVM)|vcpu \d+)$")


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


PAGES_RE = re.compile(rb"kguest: sweep \d+ pages (\d+)")


def serial_pages(path):
    """The guest's last reported page-write count on its UART, or None."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 4096))
            tail = f.read()
    except OSError:
        return None
    m = PAGES_RE.findall(tail)
    return int(m[-1]) if m else None


def rate(read_pages, seconds):
    """Page writes per second of a guest, from two readings of its counter."""
    p0, t0 = read_pages(), time.monotonic()
    time.sleep(seconds)
    p1, t1 = read_pages(), time.monotonic()
    if p0 is None or p1 is None:
        return 0.0
    return (p1 - p0) / (t1 - t0)
