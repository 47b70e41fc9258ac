"""QEMU side of the comparison (bench/peer_bench.py): a QMP client (stdlib
json and socket only), a QEMU running kguest.elf as a multiboot kernel, and
one live migration, snapshot or cancelled migration driven over QMP the
way a management layer does it. QEMU's phases come from its own trace
points (log backend, -msg timestamp=on: wall-clock times, as QMP events).
"""
import json
import os
import socket
import subprocess
import time

import peer_proc as pp
import peer_trace

# Trace points read by peer_trace: dirty syncs, the downtime's checkpoints,
# dirty logging on/off and the memslot updates that do it.
TRACE = ["migration_bitmap_sync_start", "migration_bitmap_sync_end",
         "vmstate_downtime_checkpoint", "global_dirty_changed", "kvm_set_user_memory"]


MAX_DOWNTIME_MS = 2000 * 1000	# QEMU's MAX_MIGRATE_DOWNTIME


class QMPError(RuntimeError):
    pass


class QMP:
    """One QMP connection; events are kept with their timestamps."""

    def __init__(self, path, timeout=30):
        self.sock = pp.wait_for(lambda: self._connect(path), timeout, "QMP socket " + path)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.events = []
        greeting = self._read()
        if "QMP" not in greeting:
            raise QMPError("no QMP greeting on %s: %r" % (path, greeting))
        self.cmd("qmp_capabilities")

    @staticmethod
    def _connect(path):
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(path)
        except OSError:
            s.close()
            return None
        return s

    def _read(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise QMPError("QMP connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, **args):
        msg = {"execute": name}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            r = self._read()
            if "event" in r:
                self.events.append(r)
            elif "error" in r:
                raise QMPError("%s: %s" % (name, r["error"].get("desc", r["error"])))
            elif "return" in r:
                return r["return"]

    def event_time(self, name, after=0.0):
        """Wall-clock time (s) of the first event @name at or after @after."""
        for e in self.events:
            ts = e["timestamp"]
            t = ts["seconds"] + ts["microseconds"] / 1e6
            if e["event"] == name and t >= after:
                return t
        return None

    def poll_events(self):
        self.cmd("query-status")	# any command collects pending events

    def close(self):
        self.sock.close()


class Qemu:
    """qemu-system-x86_64 running kguest.elf (one vCPU: the multiboot path).
    RAM is a memory-backend-ram with reserve=off (MAP_NORESERVE, as
    kmig-vmm's memfd): a guest as large as the machine's RAM starts under
    the kernel's default overcommit; only touched memory counts."""

    def __init__(self, cfg, guest, work, name, incoming=False, netns=None):
        self.cfg, self.name, self.guest = cfg, name, guest
        self.qmp_path = os.path.join(work, name + ".qmp")
        self.serial = os.path.join(work, name + ".serial")
        self.trace = os.path.join(work, name + ".trace")
        for f in (self.qmp_path, self.serial, self.trace):
            if os.path.exists(f):
                os.unlink(f)
        mib = guest.mem >> 20
        argv = ["qemu-system-x86_64", "-accel", cfg.accel, "-smp", "1",
                "-machine", "pc,memory-backend=ram0", "-m", "%dM" % mib,
                "-object", "memory-backend-ram,id=ram0,size=%dM,reserve=off" % mib,
                "-name", name + ",debug-threads=on", "-nographic", "-no-reboot",
                # No VGA, NIC, floppy or CD: their RAM (16 MiB of VGA) would
                # migrate too and the guest uses none of them.
                "-nodefaults", "-serial", "file:" + self.serial,
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-msg", "timestamp=on", "-D", self.trace,
                "-kernel", cfg.kguest, "-append", guest.qemu_cmdline()]
        for t in TRACE:
            argv += ["-trace", t]
        if incoming:
            argv += ["-incoming", "defer"]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.log = open(os.path.join(work, name + ".log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid	# ip netns exec execs QEMU: same pid
        try:
            self.qmp = QMP(self.qmp_path)
        except (QMPError, RuntimeError, OSError):
            self.kill()
            raise RuntimeError("%s did not start: %s" % (name, self.log_text()))

    def pages(self):
        return pp.serial_pages(self.serial)

    def wait_dirtying(self, timeout=None):
        timeout = timeout or self.guest.fill_timeout()
        pp.wait_for(lambda: self.pages() is not None or self.proc.poll() is not None,
                    timeout, "%s: kguest fill" % self.name, 0.2)
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (self.name, self.log_text()))

    def state(self):
        """For error messages: the run state and the guest's last words."""
        try:
            st = self.qmp.cmd("query-status").get("status")
        except (QMPError, OSError) as e:
            st = "no answer (%s)" % e
        tail = pp.serial_tail(self.serial, 300).decode(errors="replace").strip()
        return "%s: %s; serial: %s" % (self.name, st, tail.replace("\n", " | "))

    def ram_seen(self):
        return pp.serial_ram_mib(self.serial)

    def setup_migration(self, codec="none", channels=1, multifd=True, mapped_ram=False,
                        bandwidth=None, downtime_ms=None):
        caps = [("multifd", multifd), ("events", True)]
        if mapped_ram:
            caps.append(("mapped-ram", True))
        self.qmp.cmd("migrate-set-capabilities",
                     capabilities=[{"capability": c, "state": s} for c, s in caps])
        params = {"downtime-limit": downtime_ms or self.cfg.downtime_ms,
                  "max-bandwidth": bandwidth or (1 << 40)}
        if multifd:
            params.update({"multifd-channels": channels, "multifd-compression": codec})
            if codec in ("zlib", "zstd"):
                params["multifd-%s-level" % codec] = self.cfg.level
        if mapped_ram:
            params["direct-io"] = True
        self.qmp.cmd("migrate-set-parameters", **params)

    def wait_migration(self, timeout, incoming=False, max_syncs=None):
        """Until completed (or failed). With @max_syncs, the bench does what
        kmig's --max-iterations does and a management layer would: past
        that many dirty syncs it raises downtime-limit to QEMU's maximum,
        so the next iteration switches over (QEMU has no such bound)."""
        self.forced = False

        def done():
            st = self.qmp.cmd("query-migrate")
            syncs = st.get("ram", {}).get("dirty-sync-count", 0)
            if max_syncs and not self.forced and st.get("status") == "active" and \
                    syncs > max_syncs:
                self.qmp.cmd("migrate-set-parameters", **{"downtime-limit": MAX_DOWNTIME_MS})
                self.forced = True
            # QEMU sets "completed" a moment before it computes total-time
            # and downtime: wait for them too (an incoming side has none).
            if st.get("status") == "completed" and (st.get("total-time") or incoming):
                return st
            if st.get("status") in ("failed", "cancelled"):
                return st
            return None
        st = pp.wait_for(done, timeout, "%s: migration" % self.name, 0.02)
        if st["status"] != "completed":
            raise RuntimeError("%s: migration %s: %s" % (self.name, st["status"],
                                                         st.get("error-desc", "")))
        return st

    def log_text(self):
        try:
            return open(self.log.name, errors="replace").read()[-2000:]
        except OSError:
            return ""

    def quit(self):
        try:
            self.qmp.cmd("quit")
        except (QMPError, OSError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.qmp.close()
        self.log.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def migrate(cfg, src, dst, codec, addr):
    """One live migration src -> dst (dst: -incoming defer) to tcp:@addr.
    Returns the metrics; dst runs the guest afterwards."""
    for q in (src, dst):
        q.setup_migration(codec, cfg.channels)
    dst.qmp.cmd("migrate-incoming", uri="tcp:%s" % addr)
    cpu0 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    p0, t0 = src.pages(), time.time()
    src.qmp.cmd("migrate", uri="tcp:%s" % addr)
    # kmig's iteration 0 is QEMU's second sync (QEMU syncs once at setup)
    st = src.wait_migration(cfg.timeout, max_syncs=cfg.max_iterations + 1)
    pp.wait_for(lambda: dst.qmp.poll_events() or dst.qmp.event_time("RESUME"), 30,
                "destination RESUME", 0.02)
    cpu1 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    src.qmp.poll_events()
    stop, resume = src.qmp.event_time("STOP", t0), dst.qmp.event_time("RESUME")
    ram = st["ram"]
    m = {"total_s": st["total-time"] / 1e3,
         # Source STOP to destination RESUME (QMP event timestamps, one
         # clock): what the guest sees, the same span as kmig's PAUSE to
         # RESUMED. QEMU's own "downtime" ends before the destination runs.
         "downtime_ms": (resume - stop) * 1e3,
         "tool_downtime_ms": st.get("downtime", 0),
         "setup_ms": st.get("setup-time", 0),
         "tool_bytes": ram["transferred"],
         "zero_pages": ram["duplicate"],
         "normal_pages": ram["normal"],
         "iterations": ram["dirty-sync-count"],
         "forced": int(src.forced),
         "src_cpu_s": cpu1[0] - cpu0[0],
         "dst_cpu_s": cpu1[1] - cpu0[1],
         "guest_pages_during": src.pages() - p0 if p0 is not None else None,
         "precopy_s": stop - t0}
    m.update(peer_trace.qemu_phases(src.trace, dst.trace, t0))
    return m


def start_live(cfg, src, dst, addr, bandwidth, downtime_ms):
    """A migration that goes on until cancelled: @bandwidth bytes/s, a
    downtime limit it cannot meet."""
    for q in (src, dst):
        q.setup_migration("none", cfg.channels, bandwidth=bandwidth, downtime_ms=downtime_ms)
    dst.qmp.cmd("migrate-incoming", uri="tcp:%s" % addr)
    src.qmp.cmd("migrate", uri="tcp:%s" % addr)


def dirty_syncs(src):
    st = src.qmp.cmd("query-migrate")
    if st.get("status") in ("failed", "completed", "cancelled"):
        raise RuntimeError("%s: migration %s before the cancel" % (src.name, st["status"]))
    return st.get("ram", {}).get("dirty-sync-count", 0)


def cancel(src, timeout=30):
    """migrate_cancel; returns once QEMU says cancelled (seconds taken).
    The source runs on."""
    t0 = time.monotonic()
    src.qmp.cmd("migrate_cancel")
    pp.wait_for(lambda: src.qmp.cmd("query-migrate").get("status") in
                ("cancelled", "failed", "completed"), timeout, "migrate_cancel")
    if src.qmp.cmd("query-status")["status"] != "running":
        src.qmp.cmd("cont")
    return time.monotonic() - t0


def save(cfg, src, path):
    """Pause the guest, write it to @path: file: with mapped-ram (each page
    at a fixed offset), multifd channels and direct-io (O_DIRECT), as QEMU
    documents for snapshots. Returns (seconds to completed, with fsync)."""
    src.setup_migration("none", cfg.channels, mapped_ram=True)
    t0 = time.monotonic()
    src.qmp.cmd("stop")
    src.qmp.cmd("migrate", uri="file:%s" % path)
    src.wait_migration(cfg.timeout)
    t1 = time.monotonic()
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)	# restore reads the disk
    os.close(fd)
    return t1 - t0, time.monotonic() - t0


def restore(cfg, dst, path):
    """Load @path into an -incoming defer QEMU (same capabilities) and run
    it. Returns seconds from migrate-incoming to the guest running."""
    dst.setup_migration("none", cfg.channels, mapped_ram=True)
    t0 = time.monotonic()
    dst.qmp.cmd("migrate-incoming", uri="file:%s" % path)
    dst.wait_migration(cfg.timeout, incoming=True)
    dst.qmp.cmd("cont")	# the guest was saved stopped: it stays paused
    return time.monotonic() - t0
