"""kmig side of the comparison (bench/peer_bench.py): kmig-vmm running the
same kguest, migrated with kmig migrate / kmig incoming (or cancelled with
kmig migrate-cancel), saved with kmig save and restored with kmig restore.
"""
import json
import os
import struct
import subprocess
import time

import peer_proc as pp
import peer_trace


class Child:
    """A helper process with its output in files, reaped with wait4 so that
    its own CPU time (all threads) is known exactly."""

    def __init__(self, argv, work, name):
        self.out = os.path.join(work, name + ".out")
        self.errf = os.path.join(work, name + ".err")
        with open(self.out, "wb") as o, open(self.errf, "wb") as e:
            self.proc = subprocess.Popen(argv, stdout=o, stderr=e)
        self.name = name
        self.cpu = 0.0

    def wait(self, timeout, ok=(0,)):
        pp.wait_for(lambda: os.waitid(os.P_PID, self.proc.pid,
                                      os.WEXITED | os.WNOHANG | os.WNOWAIT), timeout,
                    self.name, 0.02)
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu = ru.ru_utime + ru.ru_stime
        if self.proc.returncode not in ok:
            raise RuntimeError("%s: exit %d: %s" % (self.name, self.proc.returncode,
                                                   open(self.errf).read()[-1500:]))
        try:
            return json.load(open(self.out))
        except ValueError:
            return {}

    def stop(self):
        """SIGTERM (kmig cancels cleanly: the source runs on), then reap."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# kguest.h: struct kguest_status at this guest address, its vcpu[0] 64
# bytes in: phase, error (u32 each), then pages (u64).
STATUS_GPA, STATUS_MAGIC = 0x6000, 0x5453474b


class Vmm:
    """kmig-vmm with one vCPU (as the multiboot guest under QEMU)."""

    def __init__(self, cfg, guest, work, name, incoming=False, netns=None):
        self.cfg, self.name, self.guest = cfg, name, guest
        self.sock = os.path.join(work, name + ".sock")
        self.status_fd = None
        argv = [cfg.build + "/kmig-vmm", "--quiet", "--socket", self.sock]
        if incoming:
            argv += ["--incoming", "--mem", "%dM" % (guest.mem >> 20), "--vcpus", "1",
                     "--report", str(guest.report), "--spin", str(guest.spin["kmig"])]
        else:
            argv += guest.kmig_args()
        if netns:
            argv = ["ip", "netns", "exec", netns] + argv
        self.err = open(os.path.join(work, name + ".err"), "wb")
        self.proc = subprocess.Popen(argv, stderr=self.err)
        self.pid = self.proc.pid
        pp.wait_for(lambda: os.path.exists(self.sock) or self.proc.poll() is not None, 60,
                    "%s socket" % name)

    def query(self):
        r = subprocess.run([self.cfg.build + "/kmig-vmmctl", self.sock, "query"],
                           capture_output=True, text=True)
        return dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)

    def pages(self):
        """The guest's page-write count, read from its status page in RAM
        slot 0's memfd: QUERY waits while a helper holds the VMM's socket
        (a migration), the guest's memory does not. The guest updates it at
        each progress report, as the count QUERY returns."""
        if self.status_fd is None:
            self.status_fd = self._open_slot0()
        if self.status_fd is None:
            v = self.query().get("pages_written")
            return int(v) if v is not None else None
        raw = os.pread(self.status_fd, 16, STATUS_GPA + 64)
        magic = struct.unpack_from("<I", os.pread(self.status_fd, 4, STATUS_GPA))[0]
        if magic != STATUS_MAGIC:
            return None
        return struct.unpack_from("<QQ", raw)[1]

    def _open_slot0(self):
        d = "/proc/%d/fd" % self.pid
        try:
            for fd in os.listdir(d):
                if os.readlink(os.path.join(d, fd)).startswith("/memfd:kmig-vmm-ram0 "):
                    return os.open(os.path.join(d, fd), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            pass
        return None

    def wait_dirtying(self, timeout=None):
        timeout = timeout or self.guest.fill_timeout()
        pp.wait_for(lambda: self.query().get("ready") == "yes" or self.proc.poll() is not None,
                    timeout, "%s: kguest fill" % self.name, 0.2)
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (self.name, open(self.err.name).read()))

    def state(self):
        """For error messages: what the VMM says and its last words."""
        q = self.query()
        return "%s: state %s, pages %s, exits %s, run_ms %s; stderr: %s" % (
            self.name, q.get("state"), q.get("pages_written"), q.get("exits"),
            q.get("run_ms"), open(self.err.name, errors="replace").read()[-300:].strip())

    def resume_if_paused(self):
        if self.query().get("state") != "running":
            subprocess.run([self.cfg.build + "/kmig-vmmctl", self.sock, "resume"],
                           capture_output=True)

    def quit(self):
        subprocess.run([self.cfg.build + "/kmig-vmmctl", self.sock, "quit", "--exit"],
                       capture_output=True)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()
        self.close_status()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.close_status()

    def close_status(self):
        if self.status_fd is not None:
            os.close(self.status_fd)
            self.status_fd = None


def _ns(ns):
    return ["ip", "netns", "exec", ns] if ns else []


# A kmig-only "codec" of the bench: codec none with both ends told to
# trust the link (--no-page-sums), so kmig's pages travel unchecked, as
# QEMU's do: the comparison with equal guarantees, beside the default.
NOSUM = "nosum"


def _incoming(cfg, dst, addr_host, netns_dst, codec="none"):
    work = os.path.dirname(dst.sock)
    ready = os.path.join(work, "port")
    if os.path.exists(ready):
        os.unlink(ready)
    inc = Child(_ns(netns_dst) + [cfg.build + "/kmig", "incoming", "-q", "--json",
                                  "--vmm", dst.sock, "--listen", addr_host + ":0",
                                  "-R", ready] + (["--no-page-sums"] if codec == NOSUM else []),
                work, "kmig-incoming")
    port = pp.wait_for(lambda: os.path.exists(ready) and open(ready).read().strip(), 30,
                       "kmig incoming port")
    return inc, port


def _migrate_argv(cfg, src, codec, addr_host, port, netns_src):
    argv = _ns(netns_src) + [cfg.build + "/kmig", "migrate", "--json", "--vmm", src.sock,
                             "--to", "%s:%s" % (addr_host, port),
                             "--channels", str(cfg.channels),
                             "--compress", "none" if codec == NOSUM else codec,
                             "--downtime-limit", str(cfg.downtime_ms), "--keep-source",
                             "--max-iterations", str(cfg.max_iterations)]
    if codec == NOSUM:
        argv += ["--no-page-sums"]
    elif codec != "none":
        argv += ["--level", str(cfg.level)]
    return argv


def migrate(cfg, src, dst, codec, addr_host, netns_src=None, netns_dst=None):
    """One live migration src -> dst, settings matched with QEMU's. Returns
    the metrics; dst runs the guest afterwards, src stays paused."""
    work = os.path.dirname(src.sock)
    cpu0 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    inc, port = _incoming(cfg, dst, addr_host, netns_dst, codec)
    p0 = src.pages()
    mig = Child(_migrate_argv(cfg, src, codec, addr_host, port, netns_src), work,
                "kmig-migrate")
    try:
        j = mig.wait(cfg.timeout)
        inc.wait(60)
    except RuntimeError:
        mig.stop()
        inc.stop()
        # A cancel that came too late (after COMMIT) leaves the source
        # paused: resume it, the chain goes on from it.
        src.resume_if_paused()
        raise
    cpu1 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    precopy_s = (j["total_ns"] - j["downtime_ns"]) / 1e9
    m = {"total_s": j["total_ns"] / 1e9,
         "downtime_ms": j["downtime_ns"] / 1e6,	# PAUSE to RESUMED from the destination
         "tool_downtime_ms": j["downtime_ns"] / 1e6,
         "setup_ms": j.get("setup_ns", 0) / 1e6,
         "tool_bytes": j["transferred_bytes"],
         "zero_pages": j["pages_zero"],
         "normal_pages": j["pages_normal"],
         "iterations": j["dirty_sync_count"],
         "forced": int("bound" in (j.get("converged") or "")),
         "module_used": int(bool(j.get("module_used"))),	# harvest through /dev/kmig
         "src_cpu_s": cpu1[0] - cpu0[0] + mig.cpu,
         "dst_cpu_s": cpu1[1] - cpu0[1] + inc.cpu,
         "guest_pages_during": src.pages() - p0 if p0 is not None else None,
         "precopy_s": precopy_s}
    m.update(peer_trace.kmig_phases(j))
    return m


class Live:
    """A migration that goes on until cancelled (@bandwidth bytes/s, a
    downtime limit it cannot meet, no iteration cap): for the cancel
    scenario."""

    def __init__(self, cfg, src, dst, addr_host, bandwidth, downtime_ms, netns_src=None,
                 netns_dst=None):
        work = os.path.dirname(src.sock)
        self.src, self.cfg = src, cfg
        self.ctl = os.path.join(work, "migrate.ctl")
        self.inc, port = _incoming(cfg, dst, addr_host, netns_dst)
        argv = _migrate_argv(cfg, src, "none", addr_host, port, netns_src)
        argv += ["--max-bandwidth", str(bandwidth), "--max-iterations", "100000",
                 "--downtime-limit", str(downtime_ms), "--control", self.ctl]
        self.mig = Child(argv, work, "kmig-migrate")
        pp.wait_for(lambda: os.path.exists(self.ctl) or self.mig.proc.poll() is not None, 30,
                    "kmig migrate control socket")

    def dirty_syncs(self):
        r = subprocess.run([self.cfg.build + "/kmig", "migrate-status", self.ctl],
                           capture_output=True, text=True)
        if self.mig.proc.poll() is not None:
            raise RuntimeError("kmig migrate ended before the cancel: %s" %
                               open(self.mig.errf).read()[-500:])
        try:
            return json.loads(r.stdout).get("dirty_sync_count", 0)
        except ValueError:
            return 0

    def cancel(self, timeout=30):
        """kmig migrate-cancel; returns once kmig migrate has exited (the
        seconds taken) and the JSON report of the cancelled migration."""
        t0 = time.monotonic()
        subprocess.run([self.cfg.build + "/kmig", "migrate-cancel", self.ctl],
                       capture_output=True)
        j = self.mig.wait(timeout, ok=(1,))	# 1: cancelled, the source runs
        took = time.monotonic() - t0
        try:
            self.inc.wait(30, ok=(0, 1))
        except RuntimeError:
            self.inc.stop()
        return took, j


def save(cfg, src, path):
    """kmig save of the running guest, paused first (--stopped), the VMM
    quits after it. Returns seconds (kmig's own total, O_DIRECT: on disk)."""
    work = os.path.dirname(src.sock)
    j = Child([cfg.build + "/kmig", "save", "--json", "--vmm", src.sock, "--file", path,
               "-c", str(cfg.channels), "--stopped", "--after", "quit"],
              work, "kmig-save").wait(cfg.timeout)
    src.proc.wait(timeout=30)
    return j["save"]["total_ns"] / 1e9


def restore(cfg, dst, path):
    """kmig restore into an --incoming kmig-vmm; the guest runs after."""
    work = os.path.dirname(dst.sock)
    j = Child([cfg.build + "/kmig", "restore", "--json", "--vmm", dst.sock, "--file", path,
               "-c", str(cfg.channels)], work, "kmig-restore").wait(cfg.timeout)
    return j["total_ns"] / 1e9
