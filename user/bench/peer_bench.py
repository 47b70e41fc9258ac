#!/usr/bin/env python3
"""make bench-peer: kmig against QEMU's own migration, same machine, same
guest, same run.

The guest is kguest.elf on both sides: a multiboot kernel under QEMU
(-kernel, one vCPU) and kmig-vmm's guest (--vcpus 1), with the same RAM
size, seed, a-b range and fill (dense: every non-a-b page text or random;
sparse: 10 % of them) and the same page-write rate: the guest's delay loop
(spin) is calibrated to it under each VMM first (a busy vCPU on both
sides), and the rate is measured on both sides before every migration. QEMU 7.2 is
driven over QMP like a management layer would: multifd with the same
channel count and codec (level) as kmig, downtime-limit as kmig's,
max-bandwidth unlimited as kmig's default.

Each chain boots one guest and then migrates it back and forth: the
destination of one run is the source of the next, so no run pays a boot
and every run migrates a filled guest that has been dirtying for a while.

Results: bench-peer-runs.csv (every run), bench-peer.csv (medians),
and one table with kmig/QEMU ratios on stdout.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_kmig  # noqa: E402
import peer_net  # noqa: E402
import peer_proc as pp  # noqa: E402
import peer_qemu  # noqa: E402
import peer_table  # noqa: E402

RATE_WINDOW_S = 2.0


class Cfg:
    pass


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--mem", default="1G", help="guest RAM (default 1G)")
    ap.add_argument("--ab", type=int, default=128, help="a-b range, MiB (default 128)")
    ap.add_argument("--rate", type=int, default=2000,
                    help="guest page writes/s, both sides (default 2000)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--codecs", default="none,zlib,zstd")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--downtime-limit", type=int, default=300, dest="downtime_ms")
    ap.add_argument("--link", default="1gbit",
                    help="rate of the emulated link (tc tbf on a veth pair); 'none': skip")
    ap.add_argument("--sections", default="live,link,snapshot")
    ap.add_argument("--out", default=None, help="directory of the CSV files (default BUILD)")
    ap.add_argument("--timeout", type=int, default=180,
                    help="seconds a migration may take before it counts as failed")
    ap.add_argument("--smoke", action="store_true",
                    help="one small run per section: a quick check that everything works")
    a = ap.parse_args()
    if a.smoke:
        a.mem, a.ab, a.repeat, a.codecs = "256M", 32, 1, "none,zstd"
    return a


def probe_accel(cfg, work):
    """kvm when the multiboot guest really runs under QEMU's KVM here (a
    64 MiB guest finishes its fill within 10 s), else tcg. On this
    project's machines KVM runs CPL0 guests by emulating every instruction
    (TESTBED.md): the fill does not finish, and QEMU uses TCG."""
    cfg.accel = "kvm"
    try:
        q = peer_qemu.Qemu(mini(cfg, "64M"), work, "probe-kvm", "ab=2 report=512")
    except Exception as e:  # noqa: BLE001 (any failure: no usable KVM)
        return "tcg", "QEMU with -accel kvm did not start (%s)" % e
    try:
        pp.wait_for(lambda: q.pages() is not None, 10, "fill")
        return "kvm", "QEMU -accel kvm runs the guest"
    except RuntimeError:
        return "tcg", ("-accel kvm starts, but the guest (CPL0) did not finish filling "
                       "64 MiB in 10 s: this host's KVM emulates CPL0 code")
    finally:
        q.kill()


def mini(cfg, mem):
    c = Cfg()
    c.__dict__.update(cfg.__dict__)
    c.mem = mem
    return c


def calibrate_spin(cfg, work, tool):
    """The guest's delay loop (pause instructions after each page write)
    for cfg.rate page writes/s under @tool: a busy vCPU on both sides, as
    a guest doing work is, not one that sleeps between writes."""
    spin = 300 if tool == "qemu" else 10000
    small = mini(cfg, "64M")
    small.ab_mib, small.report = 2, 256
    # In the lab (TCG, 10-50x slower) a report of 256 pages can take
    # longer than 3 s.
    window = 30.0 if os.environ.get("KMIG_IN_LAB") else 3.0
    for _ in range(4):
        small.spin = {tool: spin}
        vm = boot(small, work, tool, "calibrate", 100)
        try:
            vm.wait_dirtying(60)
            r = pp.rate(vm.pages, window)
        finally:
            vm.kill()
        if r <= 0:
            raise RuntimeError("calibration: the %s guest made no progress" % tool)
        print("  calibrate %s: spin %d -> %.0f page writes/s" % (tool, spin, r), flush=True)
        if abs(r - cfg.rate) < 0.1 * cfg.rate:
            break
        spin = max(1, int(spin * r / cfg.rate))
    return spin


def cmdline(cfg, fill):
    return "seed=%d ab=%d fill=%d report=%d spin=%d" % (cfg.seed, cfg.ab_mib, fill,
                                                      cfg.report, cfg.spin["qemu"])


def boot(cfg, work, tool, name, fill, incoming=False, netns=None):
    if tool == "qemu":
        return peer_qemu.Qemu(cfg, work, name, cmdline(cfg, fill), incoming, netns)
    return peer_kmig.Vmm(cfg, work, name, fill, incoming, netns)


def live_chain(cfg, work, tool, scenario, fill, codecs, net, rows):
    """cfg.repeat rounds of every codec, each run from the last one's
    destination."""
    ns_s, ns_d = net.src, net.dst
    vms = [boot(cfg, work, tool, "%s-0" % tool, fill, netns=ns_s)]
    n = attempts = 0
    try:
        vms[-1].wait_dirtying()
        for rep in range(1, cfg.repeat + 1):
            for codec in codecs:
                n += 1
                attempts += 1
                src = vms[-1]
                # Odd hops go back: source and destination swap namespaces.
                s_ns, d_ns = (ns_s, ns_d) if n % 2 else (ns_d, ns_s)
                d_addr = net.addr if n % 2 else net.addr_src
                dst = boot(cfg, work, tool, "%s-%d" % (tool, n), fill, True, d_ns)
                vms.append(dst)
                src.wait_dirtying()	# a migrated-in guest: its first report
                guest_rate = pp.rate(src.pages, RATE_WINDOW_S)
                if guest_rate <= 0:
                    raise RuntimeError("%s: the guest makes no progress before run %d" %
                                       (tool, n))
                tx0 = net.tx_bytes()
                try:
                    if tool == "qemu":
                        port = 4400 + attempts	# a namespace of our own: free
                        m = peer_qemu.migrate(cfg, src, dst, codec, "%s:%d" % (d_addr, port),
                                              "%s:%d" % (d_addr, port))
                    else:
                        m = peer_kmig.migrate(cfg, src, dst, codec, d_addr, s_ns, d_ns)
                except RuntimeError as e:
                    # Counted and reported; the chain goes on from the source
                    # (both tools leave it running after a failed migration).
                    print("  %-5s %-14s %-4s #%d: FAILED: %s" % (tool, scenario, codec, rep,
                                                              str(e)[:300]), flush=True)
                    cfg.failures.append("%s %s %s #%d: %s" % (tool, scenario, codec, rep,
                                                              str(e)[:200]))
                    if tool == "qemu":
                        peer_qemu.cancel(src)
                    dst.kill()
                    vms.remove(dst)
                    n -= 1	# the guest stays where it was
                    continue
                m.update(tool=tool, scenario=scenario, codec=codec, rep=rep,
                         guest_rate=guest_rate, wire_bytes=net.tx_bytes() - tx0)
                rows.append(m)
                print("  %-5s %-14s %-4s #%d: total %6.2f s, downtime %7.1f ms, %6.0f MiB, "
                      "%d iters, cpu %.2f/%.2f s, guest %.0f writes/s, dirty %.0f pages/s" %
                      (tool, scenario, codec, rep, m["total_s"], m["downtime_ms"],
                       m["wire_bytes"] / 2**20, m["iterations"], m["src_cpu_s"],
                       m["dst_cpu_s"], guest_rate, m["dirty_rate"]), flush=True)
                src.quit()
                vms.remove(src)
        last = vms[-1]
        last.wait_dirtying()
        if pp.rate(last.pages, RATE_WINDOW_S) <= 0:
            raise RuntimeError("%s: the last destination's guest makes no progress" % tool)
    finally:
        for v in vms:
            v.kill()


def snapshot_chain(cfg, work, tool, scenario, fill, rows):
    vms = [boot(cfg, work, tool, "%s-s0" % tool, fill)]
    path = os.path.join(work, "snap-%s" % tool)
    try:
        vms[-1].wait_dirtying()
        for rep in range(1, cfg.repeat + 1):
            src = vms[-1]
            dst = boot(cfg, work, tool, "%s-s%d" % (tool, rep), fill, True)
            vms.append(dst)
            if tool == "qemu":
                save_s, save_sync_s = peer_qemu.save(cfg, src, path)
                size = os.stat(path).st_blocks * 512	# allocated: kmig's file is sparse
                src.quit()
                restore_s = peer_qemu.restore(cfg, dst, path)
            else:
                save_s = save_sync_s = peer_kmig.save(cfg, src, path)
                size = os.stat(path).st_blocks * 512	# allocated: kmig's file is sparse
                restore_s = peer_kmig.restore(cfg, dst, path)
            os.unlink(path)
            vms.remove(src)
            src.kill()
            dst.wait_dirtying()
            guest_rate = pp.rate(dst.pages, 1.0)
            if guest_rate <= 0:
                raise RuntimeError("%s: restored guest makes no progress" % tool)
            rows.append({"tool": tool, "scenario": scenario, "codec": "none", "rep": rep,
                         "save_s": save_s, "save_sync_s": save_sync_s,
                         "restore_s": restore_s, "file_bytes": size})
            print("  %-5s %-14s #%d: save %.2f s (%.2f s with fsync), restore %.2f s, "
                  "file %.0f MiB" % (tool, scenario, rep, save_s, save_sync_s, restore_s,
                                     size / 2**20), flush=True)
    finally:
        for v in vms:
            v.kill()
        if os.path.exists(path):
            os.unlink(path)


def main():
    a = parse()
    cfg = Cfg()
    cfg.build = os.path.abspath(a.build)
    cfg.kguest = os.path.join(cfg.build, "kguest.elf")
    cfg.mem, cfg.ab_mib, cfg.rate, cfg.repeat = a.mem, a.ab, a.rate, a.repeat
    cfg.channels, cfg.downtime_ms, cfg.level = a.channels, a.downtime_ms, 1
    # timeout: a migration that has not converged by then counts as failed
    cfg.seed, cfg.report, cfg.bandwidth, cfg.timeout = 7, 512, None, a.timeout
    cfg.failures = []
    codecs = a.codecs.split(",")
    sections = a.sections.split(",")
    out = os.path.abspath(a.out or cfg.build)
    for f in ("kmig", "kmig-vmm", "kmig-vmmctl", "kguest.elf"):
        if not os.path.exists(os.path.join(cfg.build, f)):
            sys.exit("bench-peer: %s/%s missing (make -C user first)" % (cfg.build, f))
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("bench-peer: qemu-system-x86_64 not installed (package qemu-system-x86)")
    # SIGTERM cleans up like Ctrl-C: the finally blocks kill every VM
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = tempfile.mkdtemp(prefix="kmig-peer.")
    net = None
    rows = []
    t0 = time.monotonic()
    try:
        cfg.accel, why = probe_accel(cfg, work)
        cfg.qemu_version = subprocess.run(["qemu-system-x86_64", "--version"],
                                          capture_output=True, text=True).stdout.split()[3]
        print("QEMU %s: accel %s (%s)" % (cfg.qemu_version, cfg.accel, why), flush=True)
        cfg.spin = {t: calibrate_spin(cfg, work, t) for t in ("qemu", "kmig")}
        print("guest: %s RAM, 1 vCPU, a-b %d MiB, seed %d, %d page writes/s (delay loop "
              "spin=%d under QEMU, %d under kmig-vmm); %d channels, downtime limit %d ms, "
              "%d runs each" % (cfg.mem, cfg.ab_mib, cfg.seed, cfg.rate, cfg.spin["qemu"],
                                cfg.spin["kmig"], cfg.channels, cfg.downtime_ms, cfg.repeat),
              flush=True)
        if "live" in sections:
            net = peer_net.Loopback()
            for fill, dens in ((100, "dense"), (10, "10%")):
                if a.smoke and fill != 100:
                    continue
                for tool in ("qemu", "kmig"):
                    live_chain(cfg, work, tool, "loopback " + dens, fill, codecs, net, rows)
            net.close()
            net = None
        if "link" in sections and a.link != "none":
            net = peer_net.Link(a.link)
            for fill, dens in ((100, "dense"), (10, "10%")):
                if a.smoke and fill != 100:
                    continue
                for tool in ("qemu", "kmig"):
                    live_chain(cfg, work, tool, "%s %s" % (a.link, dens), fill, codecs, net,
                               rows)
            net.close()
            net = None
        if "snapshot" in sections:
            for fill, dens in ((100, "dense"), (10, "10%")):
                if a.smoke and fill != 100:
                    continue
                for tool in ("qemu", "kmig"):
                    snapshot_chain(cfg, work, tool, "file " + dens, fill, rows)
    finally:
        if net:
            net.close()
        shutil.rmtree(work, ignore_errors=True)
    os.makedirs(out, exist_ok=True)
    peer_table.report(rows, cfg, out, time.monotonic() - t0)


if __name__ == "__main__":
    main()
