"""kmig side of the comparison (bench/peer_bench.py): kmig-vmm running the
same kguest, migrated with kmig migrate / kmig incoming, saved with kmig
save and restored with kmig restore.
"""
import json
import os
import subprocess

import peer_proc as pp


class Child:
    """A helper process with its output in files, reaped with wait4 so that
    its own CPU time (all threads) is known exactly."""

    def __init__(self, argv, work, name):
        self.out = os.path.join(work, name + ".out")
        self.errf = os.path.join(work, name + ".err")
        with open(self.out, "wb") as o, open(self.errf, "wb") as e:
            self.proc = subprocess.Popen(argv, stdout=o, stderr=e)
        self.name = name

    def wait(self, timeout):
        pp.wait_for(lambda: os.waitid(os.P_PID, self.proc.pid,
                                      os.WEXITED | os.WNOHANG | os.WNOWAIT), timeout,
                    self.name, 0.02)
        _, status, ru = os.wait4(self.proc.pid, 0)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self.cpu = ru.ru_utime + ru.ru_stime
        if self.proc.returncode:
            raise RuntimeError("%s: exit %d: %s" % (self.name, self.proc.returncode,
                                                   open(self.errf).read()[-1500:]))
        return json.load(open(self.out))

    def stop(self):
        """SIGTERM (kmig cancels cleanly: the source runs on), then reap."""
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Vmm:
    """kmig-vmm with one vCPU (as the multiboot guest under QEMU)."""

    def __init__(self, cfg, work, name, fill, incoming=False, netns=None):
        self.cfg, self.name = cfg, name
        self.sock = os.path.join(work, name + ".sock")
        argv = [cfg.build + "/kmig-vmm", "--quiet", "--socket", self.sock, "--mem", cfg.mem,
                "--vcpus", "1", "--seed", str(cfg.seed), "--report", str(cfg.report),
                "--spin", str(cfg.spin["kmig"])]
        if incoming:
            argv.append("--incoming")
        else:
            argv += ["--ab", "%dM" % cfg.ab_mib]
            if fill:
                argv += ["--fill", str(fill)]
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
        v = self.query().get("pages_written")
        return int(v) if v is not None else None

    def wait_dirtying(self, timeout=300):
        pp.wait_for(lambda: self.query().get("ready") == "yes" or self.proc.poll() is not None,
                    timeout, "%s: kguest fill" % self.name, 0.2)
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited: %s" % (self.name, open(self.err.name).read()))

    def quit(self):
        subprocess.run([self.cfg.build + "/kmig-vmmctl", self.sock, "quit", "--exit"],
                       capture_output=True)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.err.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _ns(ns):
    return ["ip", "netns", "exec", ns] if ns else []


def migrate(cfg, src, dst, codec, addr_host, netns_src=None, netns_dst=None):
    """One live migration src -> dst, settings matched with QEMU's. Returns
    the metrics; dst runs the guest afterwards, src stays paused."""
    work = os.path.dirname(src.sock)
    ready = os.path.join(work, "port")
    if os.path.exists(ready):
        os.unlink(ready)
    cpu0 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    inc = Child(_ns(netns_dst) + [cfg.build + "/kmig", "incoming", "-q", "--json",
                                  "--vmm", dst.sock, "--listen", addr_host + ":0",
                                  "-R", ready], work, "kmig-incoming")
    port = pp.wait_for(lambda: os.path.exists(ready) and open(ready).read().strip(), 30,
                       "kmig incoming port")
    argv = _ns(netns_src) + [cfg.build + "/kmig", "migrate", "--json", "--vmm", src.sock,
                             "--to", "%s:%s" % (addr_host, port),
                             "--channels", str(cfg.channels), "--compress", codec,
                             "--downtime-limit", str(cfg.downtime_ms), "--keep-source"]
    if codec != "none":
        argv += ["--level", str(cfg.level)]
    if cfg.bandwidth:
        argv += ["--max-bandwidth", str(cfg.bandwidth)]
    mig = Child(argv, work, "kmig-migrate")
    try:
        j = mig.wait(cfg.timeout)
        inc.wait(60)
    except RuntimeError:
        mig.stop()
        inc.stop()
        # A cancel that came too late (after COMMIT) leaves the source
        # paused: resume it, the chain goes on from it.
        if src.query().get("state") != "running":
            subprocess.run([cfg.build + "/kmig-vmmctl", src.sock, "resume"],
                           capture_output=True)
        raise
    cpu1 = (pp.host_cpu(src.pid), pp.host_cpu(dst.pid))
    return {"total_s": j["total_ns"] / 1e9,
            "downtime_ms": j["downtime_ns"] / 1e6,
            "tool_bytes": j["transferred_bytes"],
            "zero_pages": j["pages_zero"],
            "normal_pages": j["pages_normal"],
            "iterations": j["dirty_sync_count"],
            "dirty_rate": j["dirty_rate_pages_s"],
            "src_cpu_s": cpu1[0] - cpu0[0] + mig.cpu,
            "dst_cpu_s": cpu1[1] - cpu0[1] + inc.cpu}


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
