"""A cancelled migration (bench/peer_bench.py): how fast the guest gets
its speed back after migrate_cancel, both tools.

The guest writes pages as fast as it can (no delay loop): its page-write
rate is a probe of what the host does to it. During a migration dirty
logging makes every first write after a sync fault and splits huge pages;
a cancel has to turn dirty logging off (QEMU: at once, in the cancel;
kmig: deferred, in the background) and KVM has to map huge pages again.
The migration is kept from converging by a 1 ms downtime limit (and, for
kmig, no iteration cap) and slowed by a bandwidth cap, and cancelled once
it is past its first pass.

Per run: the rate before the migration (3 s), during it (the 2 s before
the cancel), and in 0.5 s windows for 5 s after the cancel; the time until
two windows in a row are within 10% of the rate before.
"""
import time

import peer_kmig
import peer_live
import peer_proc as pp
import peer_qemu
import peer_trace

BEFORE_S, DURING_S, AFTER_S, WINDOW_S, STEP_S = 3.0, 2.0, 5.0, 0.5, 0.05
# A downtime limit no iteration can meet: the migration never switches over
# on its own (under dirty logging the guest in the lab writes so slowly that
# a bandwidth cap alone let QEMU converge).
DOWNTIME_MS = 1
SYNCS = 3	# cancel after this many dirty syncs: past the first pass


def calibrate_report(cfg, guest, tool):
    """A report interval that gives ~50 progress reports per second for
    the free-running guest under @tool: enough steps for 0.5 s windows
    when a cancel slows it down tenfold, few enough UART exits for QEMU
    (about 40 per report)."""
    probe = guest.copy(mem=256 << 20, fill=1, report=1024, spin={"qemu": 0, "kmig": 0})
    vm = peer_live.boot(cfg, probe, tool, "%s-rate" % tool)
    try:
        vm.wait_dirtying()
        r = pp.rate(vm.pages, 3.0)
    finally:
        vm.kill()
    if r <= 0:
        raise RuntimeError("cancel: the free-running %s guest made no progress" % tool)
    report = 512
    while report * 2 <= r / 50:
        report *= 2
    print("  cancel: %s guest free-running at %.0f page writes/s: report every %d pages" %
          (tool, r, report), flush=True)
    return report


def windows(samples, t_cancel):
    n = int(AFTER_S / WINDOW_S)
    return [pp.window_rate(samples, t_cancel + k * WINDOW_S, t_cancel + (k + 1) * WINDOW_S)
            for k in range(n)]


def recovered_after(wins, before):
    """Start of the first two windows in a row (1 s) both within 10% of
    @before (seconds after the cancel), or infinity when none are in the
    5 s measured (a run that never recovered must weigh in the median, not
    drop out of it): one window alone can be a fluke of a shared machine,
    and demanding every later one is too."""
    ok = [w is not None and w >= 0.9 * before for w in wins]
    for k in range(len(wins) - 1):
        if ok[k] and ok[k + 1]:
            return k * WINDOW_S
    return float("inf")


def wait_syncs(read, timeout):
    pp.wait_for(lambda: read() >= SYNCS, timeout, "%d dirty syncs" % SYNCS, 0.1)


def run_one(cfg, guest, tool, src, net, rep, bandwidth):
    cfg.port += 1
    dst = peer_live.boot(cfg, guest, tool, "%s-c%d" % (tool, rep), True, net.dst)
    sampler = pp.Sampler(src.pages, STEP_S)
    live = None
    try:
        time.sleep(BEFORE_S)
        t_mig = time.monotonic()
        cpu0 = pp.host_cpu(src.pid)
        if tool == "qemu":
            peer_qemu.start_live(cfg, src, dst, "%s:%d" % (net.addr, cfg.port), bandwidth,
                                 DOWNTIME_MS)
            wait_syncs(lambda: peer_qemu.dirty_syncs(src), cfg.timeout)
        else:
            live = peer_kmig.Live(cfg, src, dst, net.addr, bandwidth, DOWNTIME_MS, net.src,
                                  net.dst)
            wait_syncs(live.dirty_syncs, cfg.timeout)
        time.sleep(DURING_S)
        t_cancel, wall = time.monotonic(), time.time()
        r = {"tool": tool, "scenario": "cancel", "codec": "none", "rep": rep}
        if tool == "qemu":
            r["cancel_s"] = peer_qemu.cancel(src)
            time.sleep(max(0.0, t_cancel + AFTER_S + 0.2 - time.monotonic()))
            t_off, slots_s = peer_trace.log_stop(src.trace, wall)
            r["log_stop_at_s"] = t_off - wall if t_off is not None else None
            r["log_stop_ms"] = slots_s * 1e3 if slots_s is not None else None
        else:
            r["cancel_s"], j = live.cancel()
            cpu0 -= live.mig.cpu	# kmig migrate is part of the source side
            time.sleep(max(0.0, t_cancel + AFTER_S + 0.2 - time.monotonic()))
            p = peer_trace.kmig_phases(j)
            r["log_stop_ms"] = p.get("log_stop_ms")
            r["log_stop_path"] = ((j.get("paths") or {}).get("log_stop") or "-")
        r["src_cpu_s"] = pp.host_cpu(src.pid) - cpu0
    finally:
        samples = sampler.stop()
        if live:	# stopped already unless something failed
            live.mig.stop()
            live.inc.stop()
        dst.kill()
    # Every rate from all the samples: a step of the counter seen after a
    # window closed still tells the rate inside it.
    before = pp.window_rate(samples, t_mig - BEFORE_S, t_mig)
    r["guest_rate"] = before
    r["guest_rate_during"] = pp.window_rate(samples, t_cancel - DURING_S, t_cancel)
    wins = windows(samples, t_cancel)
    r["windows"] = " ".join("%.0f" % w if w is not None else "-" for w in wins)
    r["rate_1s"] = pp.window_rate(samples, t_cancel, t_cancel + 1.0)
    r["rate_1_5s"] = pp.window_rate(samples, t_cancel + 1.0, t_cancel + AFTER_S)
    r["recovered_s"] = recovered_after(wins, before) if before else None
    return r


def section(cfg, guest, net, rows, repeat):
    """@repeat cancelled migrations per tool, one source guest per tool."""
    why = guest.problem() or peer_live.fits(cfg, guest)
    if why:
        print("  skipped cancel: %s" % why, flush=True)
        cfg.skipped.append("cancel: %s" % why)
        return
    for tool in ("qemu", "kmig"):
        g = guest.copy(report=calibrate_report(cfg, guest, tool), spin={"qemu": 0, "kmig": 0})
        bandwidth = max(32 << 20, g.data_bytes() // 4)	# first pass: ~4 s
        src = peer_live.boot(cfg, g, tool, "%s-c0" % tool, netns=net.src)
        try:
            src.wait_dirtying()
            for rep in range(1, repeat + 1):
                try:
                    r = run_one(cfg, g, tool, src, net, rep, bandwidth)
                except RuntimeError as e:
                    print("  %s cancel #%d: FAILED: %s" % (tool, rep, str(e)[:300]), flush=True)
                    cfg.failures.append("%s cancel #%d: %s" % (tool, rep, str(e)[:200]))
                    if tool == "qemu":
                        peer_qemu.cancel(src)
                    else:
                        src.resume_if_paused()
                    continue
                rows.append(r)
                print("  %-5s cancel #%d: %.0f writes/s before, %.0f during, after: %s "
                      "(0.5 s windows); within 10%% after %s s" %
                      (tool, rep, r["guest_rate"] or 0, r["guest_rate_during"] or 0,
                       r["windows"], "> %g" % AFTER_S
                       if r["recovered_s"] in (None, float("inf")) else r["recovered_s"]),
                      flush=True)
        finally:
            src.kill()
