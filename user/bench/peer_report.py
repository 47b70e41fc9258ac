"""The report of the QEMU comparison (bench/peer_bench.py): one table per
section, the issue's targets against what this run measured, CSV files.
"""
import os

import peer_scale
import peer_table as pt

MiB = 1 << 20


def scenarios(rows, prefix):
    out = []
    for r in rows:
        if r["scenario"].startswith(prefix) and r["scenario"] not in out:
            out.append(r["scenario"])
    return out


def ratios(med, scens, codec, key):
    """[k/Q] of @key over @scens where both tools have it."""
    out = []
    for s in scens:
        q, k = pt.get(med, s, codec, "qemu", key), pt.get(med, s, codec, "kmig", key)
        if q and k is not None:
            out.append(k / q)
    return out


def target_row(what, goal, vals, better_low=True, fmt="%.2fx"):
    if not vals:
        return [what, goal[0], "not measured", "-"]
    met = all(v <= goal[1] for v in vals) if better_low else all(v >= goal[1] for v in vals)
    rng = fmt % min(vals) if len(vals) == 1 else (fmt + " - " + fmt) % (min(vals), max(vals))
    return [what, goal[0], rng, "met" if met else "NOT met"]


def targets(med, live, link, sparse, files, cancel_rows):
    """The issue's targets (the product's goals) against this run."""
    rows = [target_row("live total, codec none", ("<= 0.80x", 0.8),
                       ratios(med, live + link, "none", "total_s"))]
    comp = []
    for c in ("zlib", "zstd"):
        comp += ratios(med, link, c, "total_s")
    rows.append(target_row("live total, compressed, 1 Gbit/s link", ("<= 0.60x", 0.6), comp))
    dt = []
    for c in ("none", "zlib", "zstd"):
        dt += ratios(med, live + link, c, "downtime_ms")
    rows.append(target_row("live downtime, every codec", ("<= 0.50x", 0.5), dt))
    rows.append(target_row("large sparse guest, total", ("<= 0.30x", 0.3),
                           ratios(med, sparse, "none", "total_s")))
    for key, what in (("save_vs_disk", "save"), ("restore_vs_disk", "restore")):
        v = [pt.get(med, s, "none", "kmig", key) for s in files]
        rows.append(target_row("%s, share of the disk's O_DIRECT bandwidth" % what,
                               (">= 0.90", 0.9), [x for x in v if x is not None],
                               better_low=False, fmt="%.2f"))
        key_t = "save_sync_s" if what == "save" else "restore_s"
        rows.append(target_row("%s time against QEMU mapped-ram + direct-io" % what,
                               ("< 1.00x", 0.999), ratios(med, files, "none", key_t)))
    rec = [r["recovered_s"] for r in cancel_rows
           if r["tool"] == "kmig" and r.get("recovered_s") is not None]
    rows.append(target_row("after a cancel: within 10% of the rate before, s",
                           ("<= 1.0 s", 1.0), rec, fmt="%.1f s"))
    pt.table(["target (issue 16)", "goal", "this run (kmig)", ""], rows)
    print("(inf s: not within 10% in the 5 s measured)" if float("inf") in rec else "")


def report(rows, cfg, out, elapsed):
    med = pt.medians(rows, getattr(cfg, "disk", None))
    pt.write_csv(os.path.join(out, "bench-peer-runs.csv"), rows)
    pt.write_csv(os.path.join(out, "bench-peer.csv"),
                 [dict(scenario=s, codec=c, tool=t, **m) for (s, c, t), m in sorted(med.items())])
    live = scenarios(rows, "loopback ")
    link = scenarios(rows, cfg.link + " ")
    sparse = scenarios(rows, "sparse ")
    files = scenarios(rows, "file ")
    cancel = [r for r in rows if r["scenario"] == "cancel"]
    runs = [m["runs"] for (s, _, _), m in med.items() if not s.startswith("scale")]
    nruns = "%d" % min(runs) if runs and min(runs) == max(runs) else \
        "%d-%d (a case's count: bench-peer.csv)" % (min(runs), max(runs)) if runs else None
    # A run of the size series alone has no other case to count.
    medians = "medians of %s runs; " % nruns if nruns else ""
    print("\nkmig vs QEMU %s, QEMU on %s, kmig-vmm on KVM, kernel %s; %s"
          "(size series: %d); k/Q = kmig / QEMU" %
          (cfg.qemu_version, cfg.accel.upper(), os.uname().release, medians, cfg.scale_repeat))
    if cfg.accel != "kvm":
        print("NOT A FAIR COMPARISON: QEMU ran under %s, kmig-vmm under KVM "
              "(--allow-tcg); no ratio of this run counts" % cfg.accel)
    print("guests: 1 vCPU, a-b %d MiB, %s; THP: enabled=%s, shmem_enabled=%s" %
          (cfg.ab_mib, cfg.rate_text, cfg.thp[0], cfg.thp[1]))
    mod = [r["module_used"] for r in rows if r["tool"] == "kmig" and "module_used" in r]
    if mod:
        print("kmig's dirty harvest through the module (/dev/kmig) in %d of %d live "
              "migrations" % (sum(mod), len(mod)))
    codecs = [c for c in cfg.codecs if c in ("none", "zlib", "zstd")]
    extra = [c for c in cfg.codecs if c not in codecs]
    if live or link:
        print("\n(a) Live migration, %s guests, %d channels (QEMU multifd), downtime limit "
              "%d ms" % (cfg.mem_text, cfg.channels, cfg.downtime_ms))
        pt.side_by_side(med, live + link, pt.LIVE, codecs, extra)
    if sparse:
        print("\n(b) Large sparse guest, codec none, loopback")
        pt.side_by_side(med, sparse, pt.LIVE)
    if live or link or sparse:
        print("downtime: kmig PAUSE to RESUMED; QEMU the source's STOP to the destination's "
              "RESUME (QMP event times, one clock). CPU: every thread of each side's "
              "processes but the vCPU threads, during the migration")
    if files:
        d = cfg.disk
        print("\n(c) Save to a file and restore, %s: QEMU file: + mapped-ram + multifd (%d) + "
              "direct-io; kmig save --stopped / restore (%d threads, O_DIRECT). The disk: "
              "O_DIRECT write %.0f MB/s, read %.0f MB/s (dd, same run)" %
              (cfg.dir, cfg.channels, cfg.channels, d["write"] / 1e6, d["read"] / 1e6))
        pt.side_by_side(med, files, pt.FILE)
    if cancel:
        print("\n(d) A cancelled migration, %s guest writing as fast as it can; rates in "
              "page writes/s" % cfg.cancel_text)
        pt.side_by_side(med, ["cancel"], pt.CANCEL)
        for r in cancel:
            print("  %s #%d, 0.5 s windows after the cancel: %s" % (r["tool"], r["rep"],
                                                                  r["windows"]))
    fit_rows = []
    for fill in cfg.scale_fills:
        if any(r["scenario"].startswith(peer_scale.scenario_name(fill, 0).rsplit(" ", 1)[0])
               for r in rows):
            print("\n(e) How cost grows with the guest, %s, codec none, loopback; fitted as "
                  "fixed + per GiB, extrapolated (on paper)" %
                  ("dense" if fill == 100 else "%d%% filled" % fill))
            peer_scale.report(med, fill, cfg.scale_sizes, fit_rows)
    if fit_rows:
        pt.write_csv(os.path.join(out, "bench-peer-scale.csv"), fit_rows)
    print("\n(f) Where kmig stands against the issue's targets")
    targets(med, live, link, sparse, files, cancel)
    for f in cfg.skipped:
        print("SKIPPED: " + f)
    for f in cfg.failures:
        print("FAILED (not in the medians): " + f)
    print("\nCSV: %s/bench-peer.csv (medians), bench-peer-runs.csv (every run)%s; %.0f s" %
          (out, ", bench-peer-scale.csv (fits)" if fit_rows else "", elapsed))
