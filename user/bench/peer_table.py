"""Tables and CSV of the QEMU comparison (bench/peer_bench.py): medians
per (scenario, codec, tool), ratios kmig/QEMU from the same run.
"""
import csv
import statistics

MiB = 1 << 20

# (label, key, format) of a live migration; dt_* are the downtime's parts
# (peer_trace.py says what each one spans for each tool).
LIVE = [("total s", "total_s", "%.2f"),
        ("downtime ms (pause to running)", "downtime_ms", "%.1f"),
        ("MiB on the wire (IP, both ways)", "wire_MiB", "%.0f"),
        ("CPU s, source", "src_cpu_s", "%.2f"),
        ("CPU s, destination", "dst_cpu_s", "%.2f"),
        ("guest writes/s during", "guest_rate_during", "%.0f"),
        ("guest writes/s before", "guest_rate", "%.0f"),
        ("dirty syncs", "iterations", "%.0f"),
        ("runs switched over by --max-iterations", "forced", "%.0f"),
        ("setup ms", "setup_ms", "%.1f"),
        ("first pass s", "first_pass_s", "%.2f"),
        ("dirty sync ms (median)", "sync_ms", "%.2f"),
        ("downtime: pause ms", "dt_pause_ms", "%.1f"),
        ("downtime: final sync ms", "dt_final_sync_ms", "%.1f"),
        ("downtime: last RAM ms", "dt_last_ram_ms", "%.1f"),
        ("downtime: device state ms", "dt_device_ms", "%.1f"),
        ("downtime: destination ms", "dt_destination_ms", "%.1f"),
        ("zero pages (k)", "zero_kpages", "%.1f"),
        ("(the tool's own downtime ms)", "tool_downtime_ms", "%.1f")]
FILE = [("save s (with fsync)", "save_sync_s", "%.2f"),
        ("restore s", "restore_s", "%.2f"),
        ("file MiB (allocated)", "file_MiB", "%.0f"),
        ("save MB/s", "save_MBps", "%.0f"),
        ("restore MB/s", "restore_MBps", "%.0f"),
        ("save / disk O_DIRECT write", "save_vs_disk", "%.2f"),
        ("restore / disk O_DIRECT read", "restore_vs_disk", "%.2f")]
CANCEL = [("guest writes/s before", "guest_rate", "%.0f"),
          ("guest writes/s during", "guest_rate_during", "%.0f"),
          ("writes/s, 0-1 s after cancel", "rate_1s", "%.0f"),
          ("writes/s, 1-5 s after", "rate_1_5s", "%.0f"),
          ("0-1 s after / before", "rate_1s_rel", "%.2f"),
          ("within 10% of before after s (inf: not in 5 s)", "recovered_s", "%.1f"),
          ("dirty-log stop ms", "log_stop_ms", "%.1f"),
          ("cancel command s", "cancel_s", "%.2f"),
          ("CPU s, source, to 5 s after", "src_cpu_s", "%.2f")]


# Summed over the runs, not their median.
COUNTED = {"forced"}


def pick(metrics, *keys, labels=None):
    """The (label, key, format) of @keys from @metrics, in @keys' order: a
    metric's label and format are written once, in the lists above;
    @labels renames where a table wants a shorter one."""
    known = {key: (label, key, fmt) for label, key, fmt in metrics}
    labels = labels or {}
    return [(labels.get(k, known[k][0]), k, known[k][2]) for k in keys]


def derive(r, disk=None):
    if "wire_bytes" in r:
        r["wire_MiB"] = r["wire_bytes"] / MiB
        r["zero_kpages"] = r["zero_pages"] / 1e3
    if "file_bytes" in r:
        r["file_MiB"] = r["file_bytes"] / MiB
        r["save_MBps"] = r["save_Bps"] / 1e6
        r["restore_MBps"] = r["restore_Bps"] / 1e6
        if disk:
            r["save_vs_disk"] = r["save_Bps"] / disk["write"]
            r["restore_vs_disk"] = r["restore_Bps"] / disk["read"]
    if r.get("scenario") == "cancel" and r.get("rate_1s") is not None and r.get("guest_rate"):
        r["rate_1s_rel"] = r["rate_1s"] / r["guest_rate"]
    return r


def medians(rows, disk=None):
    """{(scenario, codec, tool): {key: median}}; keys a run lacks (None)
    are left out of that median."""
    groups = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["codec"], r["tool"]), []).append(derive(r, disk))
    out = {}
    for key, rr in groups.items():
        keys = {k for x in rr for k, v in x.items()
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "rep"}
        out[key] = {}
        for k in keys:
            v = [x[k] for x in rr if isinstance(x.get(k), (int, float))]
            if v:
                out[key][k] = sum(v) if k in COUNTED else statistics.median(v)
        out[key]["runs"] = len(rr)
    return out


def write_csv(path, rows):
    keys = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (" ".join("%.3f" % x for x in v) if isinstance(v, list) else v)
                        for k, v in r.items()})


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
    if q is None or k is None or float("inf") in (k, q):
        return "-"
    if q == 0:
        return "-" if k == 0 else "inf"
    return "%.2fx" % (k / q)


def value(v, fmt):
    """@v in @fmt, or "-" where there is none."""
    return fmt % v if v is not None else "-"


def cell(m, key, fmt):
    return value(m.get(key) if m else None, fmt)


def get(med, scen, codec, tool, key):
    m = med.get((scen, codec, tool))
    return m.get(key) if m else None


def side_by_side(med, scenarios, metrics, codecs=("none",), kmig_only=()):
    """Rows: scenario x metric; columns: QEMU, kmig, k/Q per codec, then a
    kmig column per codec only kmig has, each with its ratio to QEMU's
    codec none when that ran."""
    head = ["scenario", "metric"]
    for c in codecs:
        head += ["%s QEMU" % c, "kmig", "k/Q"]
    vs_none = "none" in codecs
    for c in kmig_only:
        head += ["%s kmig" % c] + (["k/Q none"] if vs_none else [])
    rows = []
    for scen in scenarios:
        s = scen
        for label, key, fmt in metrics:
            row = [s, label]
            for c in codecs:
                q, k = med.get((scen, c, "qemu")), med.get((scen, c, "kmig"))
                row += [cell(q, key, fmt), cell(k, key, fmt),
                        ratio(k and k.get(key), q and q.get(key))]
            for c in kmig_only:
                k, q = med.get((scen, c, "kmig")), med.get((scen, "none", "qemu"))
                row.append(cell(k, key, fmt))
                if vs_none:
                    row.append(ratio(k and k.get(key), q and q.get(key)))
            rows.append(row)
            s = ""
    table(head, rows)
