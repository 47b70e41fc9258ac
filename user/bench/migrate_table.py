#!/usr/bin/env python3
"""Tables of the live-migration benchmark (bench/migrate_bench.sh).

Reads RATE-MODE-N.json (kmig migrate --json) and RATE-MODE-N.thp from the
work directory. Runs are grouped by dirty rate, by the dirty-log stop order
(after: kmig's; during: inside the downtime) and by dirty-tracking path
(fallback, or module when a report says the module was used); a path that
did not run shows why. Medians; ratios against the baselines named in each
table, measured in the same run.
"""
import glob
import json
import os
import statistics
import sys

PATHS = ("fallback", "module")


def load(work):
    runs = []
    for f in sorted(glob.glob(os.path.join(work, "*-*-*.json"))):
        rate, mode, _ = os.path.basename(f)[:-5].split("-")
        j = json.load(open(f))
        thp = open(f[:-5] + ".thp").read().strip() or "0"
        runs.append({"rate": int(rate), "mode": mode, "j": j, "thp": int(thp),
                     "path": "module" if j["module_used"] else "fallback"})
    return runs


def med(runs, fn):
    vals = [fn(r["j"]) for r in runs]
    return statistics.median(vals) if vals else None


def pick(runs, rate, mode, path):
    return [r for r in runs if r["rate"] == rate and r["mode"] == mode and r["path"] == path]


def stop_ns(j):
    return j["downtime"]["dirty_log_stop_ns"] or j["dirty_log"]["stop_after_switchover_ns"]


def rate_label(rate):
    return "%d pages/s (%.1f MiB/s)" % (rate, rate * 4096 / 2**20)


def table(title, head, rows, notes):
    print("\n" + title)
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = "  ".join("=" * w for w in widths)
    print(line)
    print("  ".join(str(h).ljust(w) for h, w in zip(head, widths)))
    print(line)
    for r in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print(line)
    for n in notes:
        print(n)


def downtime_table(runs, rates, module_why):
    head = ["dirty rate", "path", "total s", "vs low", "downtime ms", "vs low",
            "syncs", "MiB sent", "exp. downtime ms"]
    rows = []
    base = {}
    for rate in rates:
        for path in PATHS:
            rr = pick(runs, rate, "after", path)
            if not rr:
                rows.append([rate_label(rate), path, "-", "", "-", "", "", "", ""])
                continue
            total = med(rr, lambda j: j["total_ns"] / 1e9)
            down = med(rr, lambda j: j["downtime_ns"] / 1e6)
            base.setdefault(path, (total, down))
            rows.append([rate_label(rate), path, "%.2f" % total, "%.2fx" % (total / base[path][0]),
                         "%.1f" % down, "%.2fx" % (down / base[path][1]),
                         "%d" % med(rr, lambda j: j["dirty_sync_count"]),
                         "%.0f" % med(rr, lambda j: j["transferred_bytes"] / 2**20),
                         "%.1f" % med(rr, lambda j: j.get("expected_downtime_ns", 0) / 1e6)])
    table("(a) Downtime and total time (kmig's order: dirty-log stop after the switchover)",
          head, rows, ["baseline of 'vs low': the lowest dirty rate, same path, this run",
                       "module: " + module_why])


def stop_table(runs, rates):
    head = ["dirty rate", "path", "downtime ms, stop after", "downtime ms, stop inside",
            "inside / after", "stop ms (inside)", "stop ms (after)"]
    rows = []
    for rate in rates:
        for path in PATHS:
            after, during = pick(runs, rate, "after", path), pick(runs, rate, "during", path)
            if not after or not during:
                continue
            da = med(after, lambda j: j["downtime_ns"] / 1e6)
            dd = med(during, lambda j: j["downtime_ns"] / 1e6)
            rows.append([rate_label(rate), path, "%.1f" % da, "%.1f" % dd, "%.2fx" % (dd / da),
                         "%.1f" % med(during, lambda j: stop_ns(j) / 1e6),
                         "%.1f" % med(after, lambda j: stop_ns(j) / 1e6)])
    table("(b) Dirty-log stop on the downtime path: after the switchover (kmig) vs inside "
          "the downtime (a naive VMM)", head, rows,
          ["baseline: the same migration with the stop after the switchover, this run;",
           "stop ms: DIRTY_LOG_STOP as the helper waited for it (KVM_SET_USER_MEMORY_REGION"
           " without logging, per slot)"])


def parts_table(runs, rates):
    parts = [("pause", "pause_ns"), ("final harvest", "final_harvest_ns"),
             ("log stop", "dirty_log_stop_ns"), ("device state", "device_state_ns"),
             ("last pages+END", "last_pages_end_ns"), ("dst staging", "destination_staging_ns"),
             ("COMMIT->RESUMED", "commit_resumed_ns"), ("dst VMM COMMIT", "dst_vmm_commit_ns")]
    head = ["dirty rate", "stop"] + [p[0] for p in parts]
    rows = []
    for rate in rates:
        for mode in ("after", "during"):
            rr = pick(runs, rate, mode, "fallback")
            if rr:
                rows.append([rate_label(rate), mode] +
                            ["%.1f" % med(rr, lambda j, k=k: j["downtime"][k] / 1e6)
                             for _, k in parts])
    table("(c) Where the downtime goes (fallback, medians, ms)", head, rows, [])


def tls_words(j):
    t = j["stream"]["tls"]
    if not t["on"]:
        return "plaintext?"
    return "%s, %s" % (t["cipher"], "kernel sends" if t["ktls_tx"] else "userspace")


def tls_table(runs, rates):
    head = ["dirty rate", "path", "total s plain", "total s TLS", "TLS / plain",
            "downtime ms plain", "downtime ms TLS", "TLS / plain", "records"]
    rows = []
    for rate in rates:
        for path in PATHS:
            plain, tls = pick(runs, rate, "after", path), pick(runs, rate, "tls", path)
            if not plain or not tls:
                continue
            tp, tt = med(plain, lambda j: j["total_ns"] / 1e9), med(tls, lambda j: j["total_ns"] / 1e9)
            dp = med(plain, lambda j: j["downtime_ns"] / 1e6)
            dt = med(tls, lambda j: j["downtime_ns"] / 1e6)
            rows.append([rate_label(rate), path, "%.2f" % tp, "%.2f" % tt, "%.2fx" % (tt / tp),
                         "%.1f" % dp, "%.1f" % dt, "%.2fx" % (dt / dp), tls_words(tls[0]["j"])])
    table("(d) TLS 1.3 on the channels (--tls-psk) against plaintext, stop after the "
          "switchover", head, rows,
          ["baseline: the plaintext migrations of table (a), this run, interleaved"])


def main():
    work, module_why = sys.argv[1], sys.argv[2]
    rates = [int(r) for r in sys.argv[3:]]
    runs = load(work)
    thp = statistics.median([r["thp"] for r in runs]) if runs else 0
    mem = runs[0]["j"]["ram_bytes"] >> 20 if runs else 0
    print("\nTHP: %s (source guest memory in 2 MiB mappings before the migration, median: "
          "%d of %d MiB)" % ("in effect" if thp else "NOT in effect", thp, mem))
    downtime_table(runs, rates, module_why)
    stop_table(runs, rates)
    parts_table(runs, rates)
    tls_table(runs, rates)


if __name__ == "__main__":
    main()
