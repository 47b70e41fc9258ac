"""Phases of a migration (bench/peer_bench.py), the same for both tools:
setup, first pass, each dirty sync, the downtime's parts, the dirty-log
stop. QEMU's come from its trace points (QEMU's log backend with -msg
timestamp=on: "PID@SEC.USEC:event args", wall-clock times like the QMP
events'), kmig's from kmig migrate --json.

The downtime's parts, source pause to destination running:
  pause       stopping the vCPUs (QEMU src-downtime-start -> src-vm-stopped;
              kmig PAUSE)
  final sync  the last dirty-bitmap sync (QEMU migration_bitmap_sync in the
              downtime; kmig final harvest, plus the log stop when it runs
              there)
  last RAM    the last dirty pages (QEMU -> src-iterable-saved; kmig to END)
  device      device state (QEMU -> src-non-iterable-saved; kmig's)
  destination the rest until the destination runs (QEMU ->
              dst-precopy-bh-vm-started on the destination; kmig staging,
              COMMIT and RESUMED)
"""
import re
import statistics

LINE = re.compile(r"^\d+@(\d+\.\d+):(\w+)\s*(.*)$")


def read(path, after=0.0):
    """[(wall time, event, args)] of a QEMU trace log from @after on."""
    out = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE.match(line)
                if m and float(m.group(1)) >= after:
                    out.append((float(m.group(1)), m.group(2), m.group(3).strip()))
    except OSError:
        pass
    return out


def syncs(events):
    """[(start, end)] of the dirty-bitmap syncs."""
    out, start = [], None
    for t, ev, _ in events:
        if ev == "migration_bitmap_sync_start":
            start = t
        elif ev == "migration_bitmap_sync_end" and start is not None:
            out.append((start, t))
            start = None
    return out


def checkpoints(events):
    return {args: t for t, ev, args in events if ev == "vmstate_downtime_checkpoint"}


def ms(a, b):
    return (b - a) * 1e3 if a is not None and b is not None else None


def qemu_phases(src_trace, dst_trace, t0):
    """Phases of the migration that started at wall time @t0."""
    ev = read(src_trace, t0)
    sy = syncs(ev)
    cp = checkpoints(ev)
    dcp = checkpoints(read(dst_trace, t0))
    stopped = cp.get("src-vm-stopped")
    final = [s for s in sy if stopped is not None and s[0] >= stopped]
    live = [s for s in sy if stopped is None or s[0] < stopped]
    fin_end = final[0][1] if final else stopped
    # The first pass ends where the next sync starts, or where the
    # downtime does when QEMU goes straight to it.
    end = live[1][0] if len(live) > 1 else cp.get("src-downtime-start")
    p = {"first_pass_s": end - live[0][1] if live and end is not None else None,
         "syncs_ms": [ms(a, b) for a, b in sy[1:]],
         "dt_pause_ms": ms(cp.get("src-downtime-start"), stopped),
         "dt_final_sync_ms": ms(*final[0]) if final else None,
         "dt_last_ram_ms": ms(fin_end, cp.get("src-iterable-saved")),
         "dt_device_ms": ms(cp.get("src-iterable-saved"), cp.get("src-non-iterable-saved")),
         "dt_destination_ms": ms(cp.get("src-non-iterable-saved"),
                                 dcp.get("dst-precopy-bh-vm-started"))}
    p["sync_ms"] = statistics.median(p["syncs_ms"]) if p["syncs_ms"] else None
    return p


def log_stop(trace, after):
    """QEMU turning dirty logging off after @after (a cancel): (wall time
    of global_dirty_changed without the migration bit (0x1), seconds until
    its last memslot update), or (None, None)."""
    ev = read(trace, after)
    t_off = next((t for t, e, a in ev if e == "global_dirty_changed" and
                  not int((re.search(r"0x([0-9a-f]+)", a) or ["", "1"])[1], 16) & 1), None)
    if t_off is None:
        return None, None
    slots = [t for t, e, _ in ev if e == "kvm_set_user_memory" and t >= t_off - 1.0]
    return t_off, (max(slots) - t_off if slots else 0.0)


def kmig_phases(j):
    """The same phases from kmig migrate --json (None where a key is
    missing: the report's keys may move as kmig's engine changes)."""
    rows = j.get("iterations") or []
    first = next((r for r in rows if r.get("index") == 0), None)
    sy = [r.get("harvest_ns", 0) / 1e6 for r in rows if r.get("index", 0) > 0]
    d = j.get("downtime") or {}

    def dms(*keys):
        v = [d.get(k) for k in keys]
        return sum(x for x in v if x) / 1e6 if any(x is not None for x in v) else None
    p = {"first_pass_s": ((first.get("clear_ns", 0) + first.get("transfer_ns", 0)) / 1e9
                          if first else None),
         "syncs_ms": sy,
         "sync_ms": statistics.median(sy) if sy else None,
         "dt_pause_ms": dms("pause_ns"),
         "dt_final_sync_ms": dms("final_harvest_ns", "dirty_log_stop_ns"),
         "dt_last_ram_ms": dms("last_pages_end_ns"),
         "dt_device_ms": dms("device_state_ns"),
         "dt_destination_ms": dms("destination_staging_ns", "commit_resumed_ns")}
    dl = j.get("dirty_log") or {}
    p["log_stop_ms"] = dl.get("stop_ns", 0) / 1e6 if "stop_ns" in dl else None
    return p
