#!/usr/bin/env python3
# The table of bench/snapshot_bench.sh: each row's time, the guest RAM it
# covers per second, the bytes it wrote or read per second, and its ratios
# to the disk's own O_DIRECT bandwidth and to the plain stream through a
# file, all measured in the same run.
import sys

rows = {}
crc = {}
for line in open(sys.argv[1]):
    key, secs, nbytes, crc_ns = line.split()
    rows[key] = (float(secs), int(nbytes))
    crc[key] = int(crc_ns) / 1e9
mem = sys.argv[2]
units = {"G": 1 << 30, "M": 1 << 20}
ram = int(mem[:-1]) * units[mem[-1]] if mem[-1] in units else int(mem)
MB = 1e6


def mbs(key):
    s, b = rows[key]
    return b / s / MB


print()
print("disk (dd, 1 MiB O_DIRECT, 4 GiB): write %.0f MB/s, read %.0f MB/s"
      % (mbs("disk-write"), mbs("disk-read")))
print()
hdr = "%-26s %8s %10s %10s %9s %9s %11s %7s" % (
    "case", "time s", "GiB RAM/s", "data MB/s", "data MiB", "vs disk", "vs stream", "CRC s")
print(hdr)
print("-" * len(hdr))
for d in ("dense", "sparse"):
    for key, disk, stream in (
            ("save", "disk-write", "stream-write"),
            ("save-nocrc", "disk-write", "stream-write"),
            ("save-live", "disk-write", "stream-write"),
            ("stream-write", "disk-write", None),
            ("restore", "disk-read", "stream-read"),
            ("restore-nocrc", "disk-read", "stream-read"),
            ("verify", "disk-read", "stream-read"),
            ("stream-read", "disk-read", None)):
        k = d + "-" + key
        if k not in rows:
            continue
        s, b = rows[k]
        vs_stream = "%.2fx" % (rows[d + "-" + stream][0] / s) if stream else "-"
        print("%-26s %8.2f %10.2f %10.0f %9.0f %8.2fx %11s %7.2f" % (
            k, s, ram / s / (1 << 30), b / s / MB, b / (1 << 20), mbs(k) / mbs(disk),
            vs_stream, crc[k]))
    print()
print("time s: the whole command (kmig save/restore: connect, validate, I/O, fsync, commit).")
print("data MB/s: page bytes written (save) or read (restore), or stream bytes, per second;")
print("vs disk: that rate / dd's rate in the same direction; vs stream: the stream's time / this")
print("time (above 1: faster than the plain stream through a file). CRC s: thread time in")
print("per-page CRC32C (summed over threads), the direct measure of its cost.")
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
for d in ("dense", "sparse"):
    for op in ("save", "restore"):
        k = d + "-" + op
        if k not in rows or not crc[k]:
            continue
        s, b = rows[k]
        print("per-page CRC32C, %s %s: %.2f s of thread time for %.0f MiB (%.1f GB/s per "
              "thread), %.1f %% of its %d threads x %.2f s" % (
                  d, op, crc[k], b / (1 << 20), b / crc[k] / 1e9,
                  100 * crc[k] / (threads * s), threads, s))
