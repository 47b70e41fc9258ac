"""QEMU side of the comparison (bench/peer_bench.py): a QMP client (stdlib
json and socket only), a QEMU running kguest.elf as a multiboot kernel, and
one live migration or snapshot driven over QMP the way a management layer
does it.
"""
import json
import os
import socket
import subprocess
import time

import peer_proc as pp


class QMPError(RuntimeError):
    pass


class QMP:
    """One QMP connection; events are kept with their host timestamps."""

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

    def event_time(self, name):
        """Host time (s) of the first event @name seen so far, or None."""
        for e in self.events:
            if e["event"] == name:
                ts = e["timestamp"]
                return ts["seconds"] + ts["microseconds"] / 1e6
        return None

    def poll_events(self):
        self.cmd("query-status")	# any command collects pending events

    def close(self):
        self.sock.close()


class Qemu:
    """qemu-system-x86_64 running kguest.elf (one vCPU: the multiboot path)."""

    def __init__(self, cfg, work, name, cmdline, incoming=False, netns=None):
        self.cfg, self.name = cfg, name
        self.qmp_path = os.path.join(work, name + ".qmp")
        self.serial = os.path.join(work, name + ".serial")
        for f in (self.qmp_path, self.serial):
            if os.path.exists(f):
                os.unlink(f)
        argv = ["qemu-system-x86_64", "-accel", cfg.accel, "-m", cfg.mem, "-smp", "1",
                "-name", name + ",debug-threads=on", "-nographic", "-no-reboot",
                # No VGA, NIC, floppy or CD: their RAM (16 MiB of VGA) would
                # migrate too and the guest uses none of them.
                "-nodefaults", "-serial", "file:" + self.serial,
                "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
                "-kernel", cfg.kguest, "-append", cmdline]
        if incoming:
            argv += ["-incoming", "defer"]
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.log = open(os.path.join(work, name + ".log"), "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid	# ip netns exec execs QEMU: same pid
        self.qmp = QMP(self.qmp_path)

    def pages(self):
        return pp.serial_pages(self.serial)

    def wait_dirtying(self, timeout=300):
        pp.wait_for(lambda: self.pages() is not None or self.proc.poll() is not None,
                    timeout, "%s: kguest fill" % self.name, 0.2)
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (self.name, self.log_text()))

    def setup_migration(self, codec, channels, level, multifd=True):
        self.qmp.cmd("migrate-set-capabilities", capabilities=[
            {"capability": "multifd", "state": multifd},
            {"capability": "events", "state": True}])
        params = {"downtime-limit": self.cfg.downtime_ms,
                  "max-bandwidth": self.cfg.bandwidth or (1 << 40)}
        if multifd:
            params.update({"multifd-channels": channels, "multifd-compression": codec})
            if codec == "zlib":
                params["multifd-zlib-level"] = level
            elif codec == "zstd":
                params["multifd-zstd-level"] = level
        self.qmp.cmd("migrate-set-parameters", **params)

    def wait_migration(self, timeout, incoming=False):
        def done():
            st = self.qmp.cmd("query-migrate")
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


def migrate(cfg, src, dst, codec, addr, listen_addr):
    """One live migration src -> dst (dst: -incoming defer). Returns the
    metrics; dst runs the guest afterwards."""
    level = cfg.level
    for q in (src, dst):
        q.setup_migration(codec, cfg.channels, level)
    dst.qmp.cmd("migrate-incoming", uri="tcp:%s" % listen_addr)
    cpu0 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    src.qmp.cmd("migrate", uri="tcp:%s" % addr)
    st = src.wait_migration(cfg.timeout)
    pp.wait_for(lambda: dst.qmp.poll_events() or dst.qmp.event_time("RESUME"), 30,
                "destination RESUME", 0.02)
    cpu1 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    src.qmp.poll_events()
    stop, resume = src.qmp.event_time("STOP"), dst.qmp.event_time("RESUME")
    ram = st["ram"]
    return {"total_s": st["total-time"] / 1e3,
            # Source STOP to destination RESUME (QMP event timestamps, one
            # host clock): what the guest sees, comparable with kmig's PAUSE
            # to RESUMED. QEMU's own "downtime" ends before the destination
            # runs; kept as qemu_downtime_ms.
            "downtime_ms": (resume - stop) * 1e3,
            "qemu_downtime_ms": st.get("downtime", 0),
            "tool_bytes": ram["transferred"],	# multifd: uncompressed in 7.2
            "zero_pages": ram["duplicate"],
            "normal_pages": ram["normal"],
            "iterations": ram["dirty-sync-count"],
            "dirty_rate": ram.get("dirty-pages-rate", 0),
            "src_cpu_s": cpu1[0] - cpu0[0],
            "dst_cpu_s": cpu1[1] - cpu0[1]}


def cancel(src):
    """Cancel a migration that failed or took too long; the source runs on."""
    try:
        src.qmp.cmd("migrate_cancel")
        pp.wait_for(lambda: src.qmp.cmd("query-migrate").get("status") in
                    ("cancelled", "failed", "completed"), 30, "migrate_cancel")
        if src.qmp.cmd("query-status")["status"] != "running":
            src.qmp.cmd("cont")
    except (QMPError, OSError, RuntimeError):
        pass


def save(cfg, src, path):
    """Pause the guest, write it to @path through exec:cat (the only file
    route of Debian's QEMU 7.2: no mapped-ram), fsync. Returns seconds."""
    src.setup_migration("none", 1, 0, multifd=False)	# exec: has no multifd
    t0 = time.monotonic()
    src.qmp.cmd("stop")
    src.qmp.cmd("migrate", uri="exec:cat > %s" % path)
    src.wait_migration(cfg.timeout)
    t1 = time.monotonic()
    fd = os.open(path, os.O_RDONLY)
    os.fsync(fd)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)	# restore reads the disk
    os.close(fd)
    return t1 - t0, time.monotonic() - t0


def restore(cfg, dst, path):
    """Load @path into an -incoming defer QEMU and run it. Returns seconds
    from migrate-incoming to the guest running."""
    dst.setup_migration("none", 1, 0, multifd=False)
    t0 = time.monotonic()
    dst.qmp.cmd("migrate-incoming", uri="exec:cat %s" % path)
    dst.wait_migration(cfg.timeout, incoming=True)
    dst.qmp.cmd("cont")	# the guest was saved stopped: it stays paused
    return time.monotonic() - t0
