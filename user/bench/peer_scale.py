"""How cost grows with the guest (bench/peer_bench.py): the same
migration at several guest sizes, both tools; each phase's cost fitted as
fixed + per-GiB (least squares over the sizes' medians) and extrapolated
to 64 and 256 GiB, beside figures published for QEMU at that size. On
paper only: this machine cannot hold such guests, and a straight line
through 0.5-8 GiB says nothing about caches or NUMA at 256 GiB.
"""
import peer_table as pt

GiB = 1 << 30
AT = (64, 256)
PHASES = pt.pick(pt.LIVE, "total_s", "setup_ms", "first_pass_s", "sync_ms", "downtime_ms",
                 "dt_final_sync_ms", "dt_last_ram_ms", "dt_destination_ms", "src_cpu_s",
                 "dst_cpu_s", labels={"downtime_ms": "downtime ms"}) + \
    pt.pick(pt.CANCEL, "log_stop_ms")
# Figures published for QEMU/KVM at fleet sizes, printed beside the
# extrapolations (sources in Documentation/benchmarks.rst).
PUBLISHED = {
    "sync_ms": "QEMU: 73 ms/sync at 256 GB, 12 ms with the 2025-12 bitmap fix",
    "log_stop_ms": "KVM: 4.8 s to stop logging 256 GiB (Linux 6.13)",
}


def scenario_name(fill, mem):
    return "scale %s %gG" % ("dense" if fill == 100 else "%d%%" % fill, mem / GiB)


def fit(points):
    """(fixed, per GiB) of y = fixed + per_gib * x by least squares, or
    None with fewer than two sizes."""
    pts = [(x, y) for x, y in points if y is not None]
    if len(pts) < 2:
        return None
    n = len(pts)
    mx = sum(x for x, _ in pts) / n
    my = sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in pts) / sxx
    return my - b * mx, b


def fits(med, fill, sizes):
    """{(tool, key): (fixed, per GiB)} for one fill."""
    out = {}
    for tool in ("qemu", "kmig"):
        for _, key, _ in PHASES:
            f = fit([(s / GiB, pt.get(med, scenario_name(fill, s), "none", tool, key))
                     for s in sizes])
            if f:
                out[(tool, key)] = f
    return out


def report(med, fill, sizes, csv_rows):
    """One table per fill: each phase per size for both tools, the fit and
    the extrapolation; the fits also go to @csv_rows."""
    have = [s for s in sizes if any(med.get((scenario_name(fill, s), "none", t))
                                    for t in ("qemu", "kmig"))]
    if not have:
        return
    f = fits(med, fill, have)
    head = ["phase", "tool"] + ["%gG" % (s / GiB) for s in have] + \
        ["fixed", "per GiB"] + ["@%dG" % a for a in AT] + ["published"]
    rows = []
    for label, key, fmt in PHASES:
        for tool in ("qemu", "kmig"):
            vals = [pt.get(med, scenario_name(fill, s), "none", tool, key) for s in have]
            if all(v is None for v in vals):
                continue
            fixed_per = f.get((tool, key))
            row = [label if tool == "qemu" or not rows or rows[-1][0] != label else "",
                   "QEMU" if tool == "qemu" else "kmig"]
            row += [pt.value(v, fmt) for v in vals]
            if fixed_per:
                a, b = fixed_per
                # A cost that falls as the guest grows is noise between
                # the sizes, not a trend: no extrapolation from it.
                row += [fmt % a, fmt % b] + [fmt % (a + b * x) if b >= 0 else "noise"
                                             for x in AT]
                csv_rows.append({"fill": fill, "tool": tool, "phase": key, "fixed": a,
                                 "per_gib": b, "at_64g": a + b * 64, "at_256g": a + b * 256})
            else:
                row += ["-"] * (2 + len(AT))
            row.append(PUBLISHED.get(key, "") if row[0] else "")
            rows.append(row)
    pt.table(head, rows)
