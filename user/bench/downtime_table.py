#!/usr/bin/env python3
"""Table of the downtime benchmark (bench/downtime_bench.sh).

Reads FILL-CODEC-MODE-N.json (kmig migrate --json; MODE target or strict)
from the work directory. One row per guest density, codec and mode:
completed runs, medians of the expected and the actual downtime of the
completed runs, the worst actual and the worst of its part before COMMIT
(what --downtime-strict bounds), the median and largest COMMIT to
RESUMED (what nothing can bound), the runs within 1.2x the limit, the
strict aborts (all runs), and the longest source pause that ended in a
resume (an abort), against the limit plus the margin.
"""
import glob
import json
import os
import statistics
import sys


def load(work):
    rows = {}
    for f in sorted(glob.glob(os.path.join(work, "*-*-*-*.json"))):
        fill, codec, mode, _ = os.path.basename(f)[:-5].split("-")
        try:
            j = json.load(open(f))
        except ValueError:
            continue
        rows.setdefault((int(fill), codec, mode), []).append(j)
    return rows


def ms(ns):
    return ns / 1e6


def row(key, runs, limit_ms):
    fill, codec, mode = key
    done = [j for j in runs if j["status"] == "completed"]
    exp = [ms(j["expected_downtime"]["total_ns"]) for j in done]
    act = [ms(j["downtime_ns"]) for j in done]
    # what strict bounds: from PAUSE until COMMIT went out
    pre = [ms(j["downtime_ns"] - j["downtime"]["commit_resumed_ns"]) for j in done]
    c2r = [ms(j["downtime"]["commit_resumed_ns"]) for j in done]
    within = sum(1 for a in act if a <= 1.2 * limit_ms)
    aborts = sum(j["strict"]["aborts"] for j in runs)
    pause = max((ms(j["strict"]["max_resumed_pause_ns"]) for j in runs
                 if j["status"] != "completed"), default=0)
    pause_done = max((ms(j["strict"]["max_resumed_pause_ns"]) for j in done), default=0)
    pause = max(pause, pause_done)
    return ("%-5s %-5s %-7s %4d/%-4d %9s %9s %9s %9s %11s %8s %6d %9s" % (
        "%d%%" % fill, codec, mode, len(done), len(runs),
        "%.1f" % statistics.median(exp) if exp else "-",
        "%.1f" % statistics.median(act) if act else "-",
        "%.1f" % max(act) if act else "-",
        "%.1f" % max(pre) if pre else "-",
        "%.2f/%.2f" % (statistics.median(c2r), max(c2r)) if c2r else "-",
        "%d/%d" % (within, len(done)), aborts,
        "%.1f" % pause if pause else "-"))


PARTS = ("pause", "final_harvest", "device_state", "last_pages_end",
         "destination_staging", "commit_resumed")


def one_run(path, tag):
    """One line per run: expected and actual, and the part that overran most."""
    j = json.load(open(path))
    e, d = j["expected_downtime"], j["downtime"]
    worst = max(PARTS, key=lambda p: d[p + "_ns"] - e[p + "_ns"])
    print("  %-22s %-9s expected %7.1f ms, actual %7.1f ms, %u aborts; most over: %s "
          "%.1f -> %.1f ms" % (tag, j["status"], ms(e["total_ns"]), ms(j["downtime_ns"]),
                               j["strict"]["aborts"], worst, ms(e[worst + "_ns"]),
                               ms(d[worst + "_ns"])))


def main():
    if sys.argv[1] == "--run":
        one_run(sys.argv[2], sys.argv[3])
        return
    work, limit = sys.argv[1], float(sys.argv[2])
    rows = load(work)
    margin = max((ms(j["strict"]["margin_ns"]) for runs in rows.values() for j in runs),
                 default=0)
    print()
    print("Expected against actual downtime, limit %.0f ms (strict: pause at most limit + %.0f ms)"
          % (limit, margin))
    print("%-5s %-5s %-7s %9s %9s %9s %9s %9s %11s %8s %6s %9s" % (
        "fill", "codec", "mode", "completed", "exp ms", "act ms", "worst ms",
        "<COMMIT", "C->R ms", "<=1.2x", "aborts", "pause ms"))
    for key in sorted(rows, key=lambda k: (-k[0], k[1], k[2] != "target")):
        print(row(key, rows[key], limit))
    print("exp/act: medians of the completed runs; worst: their largest actual downtime;")
    print("<COMMIT: the largest part of it before COMMIT went out (what strict bounds);")
    print("C->R: COMMIT to RESUMED, median/largest (after COMMIT: bounded by nothing);")
    print("pause: the longest source pause that ended in a resume (a strict abort, or a")
    print("save's resume), '-' if none.")


if __name__ == "__main__":
    main()
