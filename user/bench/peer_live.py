"""Live migrations of the QEMU comparison (bench/peer_bench.py): chains
of migrations of one guest per tool, for the codec matrix, the large
sparse guest and the guest-size series.

Each chain boots one guest and then migrates it back and forth: the
destination of one run is the source of the next, so no run pays a boot
and every run migrates a filled guest that has been dirtying for a while.
"""
import peer_kmig
import peer_proc as pp
import peer_qemu

RATE_WINDOW_S = 2.0
QEMU_CODECS = ("none", "zlib", "zstd")	# multifd-compression (QEMU has no lz4)
MiB = 1 << 20


def boot(cfg, guest, tool, name, incoming=False, netns=None):
    if tool == "qemu":
        return peer_qemu.Qemu(cfg, guest, cfg.work, name, incoming, netns)
    return peer_kmig.Vmm(cfg, guest, cfg.work, name, incoming, netns)


def fits(cfg, guest):
    """None when a source and a destination of @guest fit in memory now
    (their data twice, 256 MiB per VMM and 512 MiB to spare), else why not."""
    need = 2 * guest.data_bytes() + 1024 * MiB
    have = pp.mem_available()
    if have < need:
        return "needs ~%d MiB free for two guests, %d MiB available" % (need // MiB,
                                                                         have // MiB)
    return None


def check_guest(vm, guest):
    """QEMU's guest must see the RAM peer_guest expects (its fill is
    computed from it)."""
    if isinstance(vm, peer_qemu.Qemu):
        seen = vm.ram_seen()
        want = guest.qemu_visible_mib()
        if seen is not None and abs(seen - want) > 2:
            raise RuntimeError("%s: the guest sees %d MiB, expected %d MiB" %
                               (vm.name, seen, want))


def one(cfg, tool, src, dst, codec, net, hop, port):
    """One migration of the chain; odd hops go back (namespaces swap)."""
    s_ns, d_ns = (net.src, net.dst) if hop % 2 else (net.dst, net.src)
    d_addr = net.addr if hop % 2 else net.addr_src
    if tool == "qemu":
        return peer_qemu.migrate(cfg, src, dst, codec, "%s:%d" % (d_addr, port))
    return peer_kmig.migrate(cfg, src, dst, codec, d_addr, s_ns, d_ns)


def during_rate(m, before, report):
    """The guest's page writes/s from the start of the migration to the
    source's pause, or None when that span holds fewer than 4 of the
    guest's progress reports (the counter moves in steps of @report)."""
    pages, span = m.get("guest_pages_during"), m.get("precopy_s") or 0
    if pages is None or span <= 0 or span * before < 4 * report:
        return None
    return pages / span


def chain(cfg, guest, tool, scenario, codecs, net, rows, repeat):
    """@repeat rounds of every codec of @codecs on @guest under @tool."""
    vms = [boot(cfg, guest, tool, "%s-0" % tool, netns=net.src)]
    hop = 0
    try:
        vms[-1].wait_dirtying()
        check_guest(vms[-1], guest)
        for rep in range(1, repeat + 1):
            for codec in codecs:
                src = vms[-1]
                hop += 1
                cfg.port += 1	# namespaces of our own: ports are free
                d_ns = net.dst if hop % 2 else net.src
                dst = boot(cfg, guest, tool, "%s-%d" % (tool, hop), True, d_ns)
                vms.append(dst)
                src.wait_dirtying()	# a migrated-in guest: its first report
                before = pp.rate(src.pages, RATE_WINDOW_S)
                if before <= 0:
                    raise RuntimeError("%s: the guest makes no progress before run %d (%s)" %
                                       (tool, hop, src.state()))
                tx0 = net.tx_bytes()
                try:
                    m = one(cfg, tool, src, dst, codec, net, hop, cfg.port)
                except RuntimeError as e:
                    # Counted and reported; the chain goes on from the source
                    # (both tools leave it running after a failed migration).
                    what = "%s %s %s #%d" % (tool, scenario, codec, rep)
                    print("  %s: FAILED: %s" % (what, str(e)[:300]), flush=True)
                    cfg.failures.append("%s: %s" % (what, str(e)[:200]))
                    if tool == "qemu":
                        peer_qemu.cancel(src)
                    dst.kill()
                    vms.remove(dst)
                    hop -= 1	# the guest stays where it was
                    continue
                m["guest_rate_during"] = during_rate(m, before, guest.report)
                m.update(tool=tool, scenario=scenario, codec=codec, rep=rep,
                         mem_gib=guest.mem / (1 << 30), fill=guest.fill,
                         guest_rate=before, wire_bytes=net.tx_bytes() - tx0)
                rows.append(m)
                print("  %-5s %-16s %-4s #%d: total %6.2f s, downtime %7.1f ms, %6.0f MiB, "
                      "%d syncs, cpu %.2f/%.2f s, guest %.0f -> %.0f writes/s" %
                      (tool, scenario, codec, rep, m["total_s"], m["downtime_ms"],
                       m["wire_bytes"] / MiB, m["iterations"], m["src_cpu_s"],
                       m["dst_cpu_s"], before, m["guest_rate_during"] or 0), flush=True)
                src.quit()
                vms.remove(src)
        last = vms[-1]
        last.wait_dirtying()
        if pp.rate(last.pages, RATE_WINDOW_S) <= 0:
            raise RuntimeError("%s: the last destination's guest makes no progress (%s)" %
                               (tool, last.state()))
    finally:
        for v in vms:
            v.kill()


def tool_codecs(tool, codecs):
    return [c for c in codecs if tool == "kmig" or c in QEMU_CODECS]


def scenario(cfg, guest, name, codecs, net, rows, repeat):
    """Both tools on @guest, QEMU first; a guest that cannot run is skipped
    with the reason, a chain that breaks (a guest that does not boot or
    stops making progress) is reported; both are listed at the end and the
    bench goes on."""
    why = guest.problem() or fits(cfg, guest)
    if why:
        print("  skipped %s: %s" % (name, why), flush=True)
        cfg.skipped.append("%s: %s" % (name, why))
        return
    for tool in ("qemu", "kmig"):
        try:
            chain(cfg, guest, tool, name, tool_codecs(tool, codecs), net, rows, repeat)
        except RuntimeError as e:
            print("  %s %s: chain FAILED: %s" % (tool, name, str(e)[:300]), flush=True)
            cfg.failures.append("%s %s (chain): %s" % (tool, name, str(e)[:200]))
