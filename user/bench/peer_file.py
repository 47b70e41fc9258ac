"""Save to a file and restore (bench/peer_bench.py): QEMU 10's file:
migration with mapped-ram, multifd and direct-io against kmig save
--stopped and kmig restore, and the disk's own O_DIRECT bandwidth in the
same run (dd, as many streams as the tools have threads, and one).
"""
import os
import subprocess
import time

import peer_kmig
import peer_live
import peer_proc as pp
import peer_qemu

MiB = 1 << 20


def _dd_parallel(argvs):
    t0 = time.monotonic()
    procs = [subprocess.Popen(a, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
             for a in argvs]
    for p in procs:
        _, err = p.communicate()
        if p.returncode:
            raise RuntimeError("dd: %s" % err.decode(errors="replace").strip()[-300:])
    return time.monotonic() - t0


def disk_bandwidth(d, total, streams):
    """{'write': B/s, 'read': B/s} of O_DIRECT 1 MiB requests on @d: the
    better of one stream and @streams streams, @total bytes each time."""
    best = {"write": 0.0, "read": 0.0}
    for n in sorted({1, streams}):
        count = max(1, total // MiB // n)
        files = [os.path.join(d, "kmig-peer-dd.%d" % i) for i in range(n)]
        try:
            w = _dd_parallel([["dd", "if=/dev/zero", "of=" + f, "bs=1M", "count=%d" % count,
                               "oflag=direct", "conv=fsync", "status=none"] for f in files])
            r = _dd_parallel([["dd", "if=" + f, "of=/dev/null", "bs=1M", "iflag=direct",
                               "status=none"] for f in files])
        finally:
            for f in files:
                if os.path.exists(f):
                    os.unlink(f)
        best["write"] = max(best["write"], n * count * MiB / w)
        best["read"] = max(best["read"], n * count * MiB / r)
    return best


def direct_io_ok(d):
    """None when @d takes O_DIRECT writes, else why not."""
    path = os.path.join(d, "kmig-peer-odirect")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_DIRECT, 0o600)
        os.close(fd)
        return None
    except OSError as e:
        return "%s refuses O_DIRECT (%s): give --dir on a disk" % (d, e.strerror)
    finally:
        if os.path.exists(path):
            os.unlink(path)


def chain(cfg, guest, tool, scenario, rows, repeat):
    vms = [peer_live.boot(cfg, guest, tool, "%s-s0" % tool)]
    path = os.path.join(cfg.dir, "kmig-peer-snap-%s" % tool)
    try:
        vms[-1].wait_dirtying()
        for rep in range(1, repeat + 1):
            src = vms[-1]
            dst = peer_live.boot(cfg, guest, tool, "%s-s%d" % (tool, rep), True)
            vms.append(dst)
            if tool == "qemu":
                save_s, save_sync_s = peer_qemu.save(cfg, src, path)
                size = os.stat(path).st_blocks * 512	# allocated: both files are sparse
                src.quit()
                restore_s = peer_qemu.restore(cfg, dst, path)
            else:
                save_s = save_sync_s = peer_kmig.save(cfg, src, path)
                size = os.stat(path).st_blocks * 512
                restore_s = peer_kmig.restore(cfg, dst, path)
            os.unlink(path)
            vms.remove(src)
            src.kill()
            dst.wait_dirtying()
            if pp.rate(dst.pages, 1.0) <= 0:
                raise RuntimeError("%s: restored guest makes no progress" % tool)
            r = {"tool": tool, "scenario": scenario, "codec": "none", "rep": rep,
                 "save_s": save_s, "save_sync_s": save_sync_s, "restore_s": restore_s,
                 "file_bytes": size, "save_Bps": size / save_sync_s,
                 "restore_Bps": size / restore_s}
            rows.append(r)
            print("  %-5s %-10s #%d: save %.2f s (%.2f s with fsync), restore %.2f s, "
                  "file %.0f MiB: %.0f / %.0f MB/s" %
                  (tool, scenario, rep, save_s, save_sync_s, restore_s, size / MiB,
                   r["save_Bps"] / 1e6, r["restore_Bps"] / 1e6), flush=True)
    finally:
        for v in vms:
            v.kill()
        if os.path.exists(path):
            os.unlink(path)


def section(cfg, guests, rows, repeat):
    """Dense and 10% guests, both tools; the disk measured first and after,
    the better of the two kept (the machine is shared)."""
    why = direct_io_ok(cfg.dir)
    if why:
        print("  skipped file: %s" % why, flush=True)
        cfg.skipped.append("file: " + why)
        return
    size = max(256 * MiB, max(g.data_bytes() for _, g in guests))
    disk = [disk_bandwidth(cfg.dir, size, cfg.channels)]
    cfg.disk = dict(disk[0])	# the report's, should a chain below break the section
    print("  disk %s: O_DIRECT write %.0f MB/s, read %.0f MB/s" %
          (cfg.dir, disk[0]["write"] / 1e6, disk[0]["read"] / 1e6), flush=True)
    for name, g in guests:
        why = g.problem() or peer_live.fits(cfg, g)
        if why:
            print("  skipped %s: %s" % (name, why), flush=True)
            cfg.skipped.append("%s: %s" % (name, why))
            continue
        for tool in ("qemu", "kmig"):
            chain(cfg, g, tool, name, rows, repeat)
    disk.append(disk_bandwidth(cfg.dir, size, cfg.channels))
    print("  disk again: O_DIRECT write %.0f MB/s, read %.0f MB/s" %
          (disk[1]["write"] / 1e6, disk[1]["read"] / 1e6), flush=True)
    cfg.disk = {k: max(d[k] for d in disk) for k in ("write", "read")}
