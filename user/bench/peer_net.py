"""Network namespaces of the QEMU comparison (bench/peer_bench.py).

Every migration runs inside namespaces created for the benchmark, so the
interface counters count its traffic only (the machine is shared, and other
sessions migrate over the host's loopback too). Bytes on the wire are the
IP bytes the interfaces transmitted during a migration, both directions
(TCP/IP headers and ACKs included): one measure for both tools, whatever
their own counters count. (QEMU 7.2 counts multifd pages uncompressed in
its ram.transferred, so its own figure cannot be compared.)
"""
import json
import os
import subprocess


def _run(cmd):
    r = subprocess.run(cmd.split(), capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("netns: %s: %s" % (cmd, r.stderr.strip()))
    return r.stdout


class Loopback:
    """One namespace: source and destination talk over its own lo."""

    def __init__(self):
        self.src = self.dst = "kmigPL%d" % os.getpid()
        self.addr = self.addr_src = "127.0.0.1"
        self.devs = [(self.src, "lo")]
        _run("ip netns add " + self.src)
        self.setup(["ip -n %s link set lo up" % self.src])

    def setup(self, cmds):
        try:
            for c in cmds:
                _run(c)
        except RuntimeError:
            self.close()
            raise

    def tx_bytes(self):
        total = 0
        for ns, dev in self.devs:
            link = json.loads(_run("ip -n %s -j -s link show dev %s" % (ns, dev)))
            total += link[0]["stats64"]["tx"]["bytes"]
        return total

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for ns in {self.src, self.dst}:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


class Link(Loopback):
    """Two namespaces joined by a veth pair shaped to @rate each way (tc
    tbf on both ends)."""

    def __init__(self, rate):
        pid = os.getpid()
        self.src, self.dst = "kmigPS%d" % pid, "kmigPD%d" % pid
        net = "10.198.%d" % (pid % 250)
        self.addr, self.addr_src = net + ".2", net + ".1"
        self.devs = [(self.src, "ps%d" % pid), (self.dst, "pd%d" % pid)]
        _run("ip netns add " + self.src)
        cmds = ["ip netns add " + self.dst,
                "ip link add ps%d netns %s type veth peer name pd%d netns %s" %
                (pid, self.src, pid, self.dst),
                "ip -n %s addr add %s.1/30 dev ps%d" % (self.src, net, pid),
                "ip -n %s addr add %s.2/30 dev pd%d" % (self.dst, net, pid)]
        for ns, dev in self.devs:
            cmds += ["ip -n %s link set %s up" % (ns, dev), "ip -n %s link set lo up" % ns,
                     "tc -n %s qdisc add dev %s root tbf rate %s burst 256kb latency 50ms" %
                     (ns, dev, rate)]
        self.setup(cmds)
