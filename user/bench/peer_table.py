"""Tables and CSV of the QEMU comparison (bench/peer_bench.py): medians per
(scenario, codec, tool), ratios kmig/QEMU from the same run.
"""
import csv
import os
import statistics

LIVE = [("total s", "total_s", "%.2f"),
        ("downtime ms", "downtime_ms", "%.1f"),
        ("MiB on the wire (IP, both ways)", "wire_MiB", "%.0f"),
        ("MiB, the tool's own count", "tool_MiB", "%.0f"),
        ("zero pages (k)", "zero_kpages", "%.1f"),
        ("iterations (dirty syncs)", "iterations", "%.0f"),
        ("CPU s, source", "src_cpu_s", "%.2f"),
        ("CPU s, destination", "dst_cpu_s", "%.2f"),
        ("guest writes/s before", "guest_rate", "%.0f")]
SNAP = [("save s", "save_s", "%.2f"),
        ("save s, incl. fsync", "save_sync_s", "%.2f"),
        ("restore s", "restore_s", "%.2f"),
        ("file MiB (allocated)", "file_MiB", "%.0f")]


def derive(r):
    if "wire_bytes" in r:
        r["wire_MiB"] = r["wire_bytes"] / 2**20
        r["tool_MiB"] = r["tool_bytes"] / 2**20
        r["zero_kpages"] = r["zero_pages"] / 1e3
    if "file_bytes" in r:
        r["file_MiB"] = r["file_bytes"] / 2**20
    return r


def medians(rows):
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["codec"], r["tool"]), []).append(derive(r))
    out = {}
    for key, rr in groups.items():
        keys = [k for k in rr[0] if isinstance(rr[0][k], (int, float)) and k != "rep"]
        out[key] = {k: statistics.median(x[k] for x in rr) for k in keys}
        out[key]["runs"] = len(rr)
    return out


def write_csv(path, rows):
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        w.writerows(rows)


def table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join("=" * w for w in widths)
    print(line)
    print("  ".join(str(h).ljust(w) for h, w in zip(head, widths)).rstrip())
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print(line)


def ratio(k, q):
    if q is None or k is None:
        return "-"
    if q == 0:
        return "-" if k == 0 else "inf"
    return "%.2fx" % (k / q)


def cell(m, key, fmt):
    return fmt % m[key] if m and key in m else "-"


def live_table(med, scenarios, codecs):
    head = ["scenario", "metric"]
    for c in codecs:
        head += ["%s QEMU" % c, "kmig", "k/Q"]
    rows = []
    for scen in scenarios:
        s = scen
        for label, key, fmt in LIVE:
            row = [s, label]
            for c in codecs:
                q, k = med.get((scen, c, "qemu")), med.get((scen, c, "kmig"))
                row += [cell(q, key, fmt), cell(k, key, fmt),
                        ratio(k and k.get(key), q and q.get(key))]
            rows.append(row)
            s = ""
        rows.append(["", "(QEMU's own downtime ms)"] +
                    sum([[cell(med.get((scen, c, "qemu")), "qemu_downtime_ms", "%.1f"),
                          "", ""] for c in codecs], []))
    table(head, rows)


def snap_table(med, scenarios):
    head = ["scenario", "metric", "QEMU exec:cat", "kmig save/restore", "k/Q"]
    rows = []
    for scen in scenarios:
        s = scen
        q, k = med.get((scen, "none", "qemu")), med.get((scen, "none", "kmig"))
        for label, key, fmt in SNAP:
            rows.append([s, label, cell(q, key, fmt), cell(k, key, fmt),
                         ratio(k and k.get(key), q and q.get(key))])
            s = ""
    table(head, rows)


def report(rows, cfg, out, elapsed):
    write_csv(os.path.join(out, "bench-peer-runs.csv"), rows)
    med = medians(rows)
    mrows = [dict(scenario=s, codec=c, tool=t, **m) for (s, c, t), m in sorted(med.items())]
    write_csv(os.path.join(out, "bench-peer.csv"), mrows)
    order = []
    for r in rows:
        if r["scenario"] not in order:
            order.append(r["scenario"])
    codecs = []
    for r in rows:
        if "wire_bytes" in r and r["codec"] not in codecs:
            codecs.append(r["codec"])
    live = [s for s in order if not s.startswith("file")]
    snap = [s for s in order if s.startswith("file")]
    nruns = min(m["runs"] for m in med.values()) if med else 0
    print("\nkmig vs QEMU %s (accel %s), %s guest, medians of %d runs; k/Q = kmig / QEMU"
          % (cfg.qemu_version, cfg.accel, cfg.mem, nruns))
    if live:
        print("\n(a) Live migration, %d channels (QEMU multifd), downtime limit %d ms" %
              (cfg.channels, cfg.downtime_ms))
        live_table(med, live, codecs)
        print("downtime: PAUSE to RESUMED for kmig; for QEMU the source's STOP to the "
              "destination's RESUME (QMP event times, one clock)")
        print("CPU: all threads of the helpers and VMMs except vCPU threads, during the "
              "migration")
    if snap:
        print("\n(b) Snapshot to a file and back (QEMU: one stream through exec:cat, "
              "buffered; kmig: %d threads, O_DIRECT)" % cfg.channels)
        snap_table(med, snap)
    for f in cfg.failures:
        print("FAILED (not in the medians): " + f)
    print("\nCSV: %s/bench-peer.csv (medians), bench-peer-runs.csv (every run); %.0f s" %
          (out, elapsed))
