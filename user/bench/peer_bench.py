#!/usr/bin/env python3
"""make bench-peer: kmig against QEMU's own migration, same machine, same
guest, same run, both VMMs on KVM.

The guest is kguest.elf on both sides: a multiboot kernel under QEMU
(-kernel, one vCPU) and kmig-vmm's guest (--vcpus 1), with the same RAM
size, seed, a-b range, data (peer_guest.py) and page-write rate: the
guest's delay loop (spin) is calibrated to the rate under each VMM first
(a busy vCPU on both sides), and the rate is measured before every
migration. QEMU is driven over QMP like a management layer would: multifd
with the same channel count and codec (level) as kmig, downtime-limit as
kmig's, max-bandwidth unlimited as kmig's default.

Sections (--sections): live (loopback), link (an emulated link, tc tbf on
a veth pair), sparse (a large guest, few pages touched), file (save and
restore against the disk's own bandwidth), cancel (the guest's speed after
a cancelled migration), scale (phases against guest size, extrapolated).

Results: bench-peer-runs.csv (every run), bench-peer.csv (medians),
bench-peer-scale.csv (fits), and the tables with kmig/QEMU ratios on stdout.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

sys.dont_write_bytecode = True	# no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peer_cancel  # noqa: E402
import peer_file  # noqa: E402
import peer_guest as pg  # noqa: E402
import peer_live  # noqa: E402
import peer_net  # noqa: E402
import peer_proc as pp  # noqa: E402
import peer_qemu  # noqa: E402
import peer_report  # noqa: E402
import peer_scale  # noqa: E402
import peer_table  # noqa: E402

SECTIONS = ("live", "link", "sparse", "file", "cancel", "scale")
# --quick: every section, smaller and once.
QUICK = {"mem": "128M", "ab": 32, "repeat": 1, "codecs": "none,zstd", "sparse_mem": "1G",
         "scale_sizes": "0.25G,0.5G", "scale_fills": "10", "cancel_mem": "256M"}
# --smoke: that the bench runs end to end here (a few minutes in the lab).
SMOKE = dict(QUICK, sections="live", codecs="none")


class Cfg:
    pass


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("BUILD", "build"))
    ap.add_argument("--out", default=None, help="directory of the CSV files (default BUILD)")
    ap.add_argument("--dir", default=None,
                    help="directory of the snapshot files, on the disk to measure "
                    "(default: a temporary directory under $TMPDIR or /tmp; in the lab "
                    "/tmp is its scratch ext4 disk, the --out folder a 9p export)")
    ap.add_argument("--sections", default=",".join(SECTIONS),
                    help="any of %s (default: all)" % ",".join(SECTIONS))
    ap.add_argument("--quick", action="store_true",
                    help="a small run of every section (sizes and repeats cut down)")
    ap.add_argument("--smoke", action="store_true",
                    help="the smallest run: live over loopback, codec none, 128 MiB, once")
    ap.add_argument("--mem", default="256M", help="guest RAM of live and file (default 256M)")
    ap.add_argument("--ab", type=int, default=128, help="a-b range, MiB (default 128)")
    ap.add_argument("--rate", type=int, default=1000,
                    help="guest page writes/s, both sides (default 1000)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    # zlib is QEMU's other multifd codec, but not in the default run: in
    # the lab (TCG) it deflates at about a MB/s and one 256 MiB migration
    # outlasts --timeout.
    ap.add_argument("--codecs", default="none,zstd,lz4",
                    help="live and link codecs: none, zlib, zstd, lz4 (kmig only), "
                    "nosum (kmig only: none with --no-page-sums on both ends, "
                    "unchecked pages as QEMU's); default none,zstd,lz4")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--downtime-limit", type=int, default=300, dest="downtime_ms")
    ap.add_argument("--max-iterations", type=int, default=30,
                    help="switch over after this many passes anyway, both tools (kmig's "
                    "default; QEMU gets its downtime limit raised then)")
    ap.add_argument("--link", default="1gbit", help="rate of the emulated link (default 1gbit)")
    ap.add_argument("--sparse-mem", default="8G", help="the large sparse guest (default 8G)")
    ap.add_argument("--sparse-fill", type=int, default=5, help="its data, %% (default 5)")
    ap.add_argument("--scale-sizes", default="0.5G,1G,2G,4G,8G")
    ap.add_argument("--scale-fills", default="10,100",
                    help="fills of the size series, %% (default 10,100)")
    ap.add_argument("--scale-repeat", type=int, default=1,
                    help="runs per size (default 1: the fit spans the sizes)")
    ap.add_argument("--cancel-mem", default="1G")
    ap.add_argument("--cancel-fill", type=int, default=10)
    ap.add_argument("--timeout", type=int, default=600,
                    help="seconds a migration may take before it counts as failed")
    ap.add_argument("--allow-tcg", action="store_true",
                    help="run even where QEMU's guest cannot use KVM (no fair ratios)")
    known = ap.parse_known_args()[0]
    if known.quick or known.smoke:	# options given explicitly still win
        ap.set_defaults(**(SMOKE if known.smoke else QUICK))
    a = ap.parse_args()
    bad = set(a.sections.split(",")) - set(SECTIONS)
    if bad:
        ap.error("unknown section(s) %s (known: %s)" % (",".join(bad), ",".join(SECTIONS)))
    return a


def probe_accel(cfg):
    """kvm when the multiboot guest really runs under QEMU's KVM here (a
    64 MiB guest finishes its fill within 20 s), else tcg. Where KVM runs
    CPL0 code by emulating every instruction (TESTBED.md: this project's
    development machines), the fill does not finish."""
    cfg.accel = "kvm"
    g = pg.Guest(64 << 20, 10, 2, 512)
    try:
        q = peer_qemu.Qemu(cfg, g, cfg.work, "probe-kvm")
    except RuntimeError as e:
        return "tcg", "QEMU with -accel kvm did not start (%s)" % str(e)[:200]
    try:
        pp.wait_for(lambda: q.pages() is not None, 20, "fill")
        return "kvm", "QEMU -accel kvm runs the guest"
    except RuntimeError:
        return "tcg", ("-accel kvm starts, but the guest (CPL0) did not finish filling "
                       "64 MiB in 20 s: this host's KVM emulates CPL0 code")
    finally:
        q.kill()


def calibrate_spin(cfg, tool):
    """The guest's delay loop (pause instructions after each page write)
    for cfg.rate page writes/s under @tool: a busy vCPU on both sides, as
    a guest doing work is, not one that sleeps between writes."""
    spin = 300 if tool == "qemu" else 10000
    tried = []
    # In the lab (TCG, 10-50x slower) a report of 256 pages can take
    # longer than 3 s: a longer window keeps several in it.
    window = 10.0 if os.environ.get("KMIG_IN_LAB") else 3.0
    for _ in range(4):
        g = pg.Guest(64 << 20, 10, 2, 256, {"qemu": spin, "kmig": spin})
        vm = peer_live.boot(cfg, g, tool, "calibrate")
        try:
            vm.wait_dirtying(120)
            r = pp.rate(vm.pages, window)
        finally:
            vm.kill()
        if r <= 0:
            raise RuntimeError("calibration: the %s guest made no progress" % tool)
        print("  calibrate %s: spin %d -> %.0f page writes/s" % (tool, spin, r), flush=True)
        tried.append((abs(r - cfg.rate), spin))
        if abs(r - cfg.rate) < 0.1 * cfg.rate:
            break
        spin = max(1, int(spin * r / cfg.rate))
    return min(tried)[1]	# the closest one measured (a loaded machine wanders)


def setup(a):
    cfg = Cfg()
    cfg.build = os.path.abspath(a.build)
    cfg.kguest = os.path.join(cfg.build, "kguest.elf")
    cfg.rate, cfg.repeat, cfg.ab_mib = a.rate, a.repeat, a.ab
    cfg.channels, cfg.downtime_ms, cfg.level = a.channels, a.downtime_ms, 1
    cfg.max_iterations = a.max_iterations
    cfg.timeout, cfg.link, cfg.port = a.timeout, a.link, 4400
    cfg.codecs = a.codecs.split(",")
    bad = [c for c in cfg.codecs if c not in ("none", "zlib", "zstd", "lz4", "nosum")]
    if bad:
        raise SystemExit("peer_bench: --codecs: unknown %s (none, zlib, zstd, lz4, nosum)" %
                         ",".join(bad))
    cfg.mem = pg.parse_size(a.mem)
    cfg.mem_text = pg.fmt_size(cfg.mem)
    cfg.scale_sizes = [pg.parse_size(s) for s in a.scale_sizes.split(",")]
    cfg.scale_fills = [int(f) for f in a.scale_fills.split(",")]
    cfg.scale_repeat = a.scale_repeat
    cfg.failures, cfg.skipped = [], []
    cfg.out = os.path.abspath(a.out or cfg.build)
    cfg.dir = os.path.abspath(a.dir) if a.dir else None	# None: cfg.work (main)
    for f in ("kmig", "kmig-vmm", "kmig-vmmctl", "kguest.elf"):
        if not os.path.exists(os.path.join(cfg.build, f)):
            sys.exit("bench-peer: %s/%s missing (make -C user first)" % (cfg.build, f))
    if not shutil.which("qemu-system-x86_64"):
        sys.exit("bench-peer: qemu-system-x86_64 not installed (make deps)")
    out = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True,
                         text=True).stdout.split()
    cfg.qemu_version = out[3] if len(out) > 3 else "?"
    return cfg


def run(a, cfg, rows):
    sections = a.sections.split(",")
    cfg.accel, why = probe_accel(cfg)
    print("QEMU %s: accel %s (%s)" % (cfg.qemu_version, cfg.accel, why), flush=True)
    if cfg.accel != "kvm" and not a.allow_tcg:
        sys.exit("bench-peer: QEMU's guest cannot run on KVM here, and a comparison with "
                 "QEMU under TCG is not fair: run it in the lab (Documentation/"
                 "benchmarks.rst), or give --allow-tcg for a smoke run")
    # kmig-vmm's memfd gets huge pages as QEMU's anonymous RAM does (only
    # where the comparison is real: the setting is machine-wide).
    cfg.thp_old = pp.thp_allow_shmem() if cfg.accel == "kvm" else None
    cfg.thp = (pp.thp_setting("enabled"), pp.thp_setting("shmem_enabled"))
    spin = {t: calibrate_spin(cfg, t) for t in ("qemu", "kmig")}
    cfg.rate_text = ("%d page writes/s (delay loop spin=%d under QEMU, %d under kmig-vmm)" %
                     (cfg.rate, spin["qemu"], spin["kmig"]))
    print("guests: 1 vCPU, a-b %d MiB, seed 7, %s; %d channels, downtime limit %d ms, "
          "%d runs each" % (cfg.ab_mib, cfg.rate_text, cfg.channels, cfg.downtime_ms,
                            cfg.repeat), flush=True)

    def guest(mem, fill):
        return pg.Guest(mem, fill, cfg.ab_mib, 512, spin)
    dense, tenth = guest(cfg.mem, 100), guest(cfg.mem, 10)
    cg = guest(pg.parse_size(a.cancel_mem), a.cancel_fill)
    cfg.cancel_text = cg.describe()

    def live(label, net_of):
        print("\n%s: %s and %s" % (label, dense.describe(), tenth.describe()), flush=True)
        with net_of() as net:
            for g, d in ((dense, "dense"), (tenth, "10%")):
                peer_live.scenario(cfg, g, "%s %s" % (label, d), cfg.codecs, net, rows,
                                   cfg.repeat)

    def sparse():
        g = guest(pg.parse_size(a.sparse_mem), a.sparse_fill)
        print("\nsparse: %s" % g.describe(), flush=True)
        with peer_net.Loopback() as net:
            peer_live.scenario(cfg, g, "sparse %s %d%%" % (pg.fmt_size(g.mem), g.fill),
                               ["none"], net, rows, cfg.repeat)

    def files():
        print("\nfile: %s and %s, to %s" % (dense.describe(), tenth.describe(), cfg.dir),
              flush=True)
        peer_file.section(cfg, [("file dense", dense), ("file 10%", tenth)], rows,
                          cfg.repeat)

    def cancel():
        print("\ncancel: %s, writing as fast as it can" % cg.describe(), flush=True)
        with peer_net.Loopback() as net:
            peer_cancel.section(cfg, cg, net, rows, cfg.repeat)

    def scale():
        for fill in cfg.scale_fills:
            for mem in cfg.scale_sizes:
                g = guest(mem, fill)
                print("\nscale: %s" % g.describe(), flush=True)
                with peer_net.Loopback() as net:
                    peer_live.scenario(cfg, g, peer_scale.scenario_name(fill, mem), ["none"],
                                       net, rows, cfg.scale_repeat)
    run_of = {"live": lambda: live("loopback", peer_net.Loopback),
              "link": lambda: live(a.link, lambda: peer_net.Link(a.link)),
              "sparse": sparse, "file": files, "cancel": cancel, "scale": scale}
    for sec in SECTIONS:
        if sec not in sections:
            continue
        # A section that breaks (even on a bug of the bench) is reported;
        # the others still run, and every run so far is on disk.
        try:
            run_of[sec]()
        except Exception as e:  # noqa: BLE001
            traceback.print_exc()
            print("  section %s FAILED: %s" % (sec, str(e)[:300]), flush=True)
            cfg.failures.append("section %s: %s" % (sec, str(e)[:200]))
        os.makedirs(cfg.out, exist_ok=True)
        peer_table.write_csv(os.path.join(cfg.out, "bench-peer-runs.csv"), rows)


def main():
    a = parse()
    cfg = setup(a)
    # SIGTERM cleans up like Ctrl-C: the finally blocks kill every VM
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cfg.work = tempfile.mkdtemp(prefix="kmig-peer.")
    cfg.dir = cfg.dir or cfg.work
    cfg.thp_old = None
    rows = []
    t0 = time.monotonic()
    try:
        run(a, cfg, rows)
    finally:
        pp.thp_restore(cfg.thp_old)
        shutil.rmtree(cfg.work, ignore_errors=True)
    os.makedirs(cfg.out, exist_ok=True)
    peer_report.report(rows, cfg, cfg.out, time.monotonic() - t0)


if __name__ == "__main__":
    main()
